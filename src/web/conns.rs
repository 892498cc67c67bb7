//! Who may hold a connection to `serve` (SPEC §6 "Holding up under abuse":
//! a flood of slow or idle connections from one client leaves others
//! served). The accept loop asks the [`Gate`] before it serves a
//! connection; the gate keeps two limits and one rule.
//!
//! - **Total**: the connections held at once stay below the file handles
//!   the process may open, so `accept` never runs out of them (an attack
//!   of 1,100 half-sent heads once took all 1,024). At start `serve`
//!   raises its soft `RLIMIT_NOFILE` towards the hard limit (systemd
//!   gives 1,024 soft, 524,288 hard), up to 8,192; [`Limits::for_files`]
//!   keeps a quarter of the handles (at most 256) for the database, its
//!   pool of desks and the `sendmail` children, and holds at most
//!   [`MAX_TOTAL`] connections.
//! - **Per client**: one client address (an IPv4 address, an IPv6 /64,
//!   which one subscriber usually holds whole) holds at most a quarter of
//!   the total, at most [`MAX_PER_CLIENT`]: however many it opens, others
//!   find room. A reverse proxy is one client (127.0.0.1) for everyone it
//!   serves; it sends whole heads at once, so its connections are busy or
//!   briefly idle, and 256 requests in flight serve a desk's staff.
//! - **The rule at a limit**: the connection that has waited longest for a
//!   request head — one that never sent a whole one, or one idle between
//!   requests — is closed to make room (within the client's own
//!   connections at the client's limit, within all at the total); only
//!   when every one is busy with a request is the new connection closed
//!   instead. A request in flight (an answer being written, a board's
//!   event stream) is never cut. So a flood from one client costs that
//!   client its own oldest connections, and a proxy keeps serving.
//!
//! Each head is also held to [`MAX_HEAD`] bytes (hyper's default buffer
//! lets a head grow to ~400 KB), so the memory all connections hold is
//! bounded too: about `MAX_TOTAL` × `MAX_HEAD`.
//!
//! Not covered here: a client that asks for an answer and never reads it
//! keeps its request busy (hyper has no time limit on writing); the limit
//! per client is what bounds that.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::Notify;

/// The most connections held at once, whatever the file handles allow.
pub const MAX_TOTAL: usize = 4096;
/// The most connections one client holds at once.
pub const MAX_PER_CLIENT: usize = 256;
/// The longest request head (start line and headers): a browser's is
/// under 2 KiB; 16 KiB leaves room for the cookies of a shared domain.
pub const MAX_HEAD: usize = 16 * 1024;

/// How many connections the gate lets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub total: usize,
    pub per_client: usize,
}

impl Limits {
    /// The limits for a process that may open `files` file handles.
    pub fn for_files(files: u64) -> Limits {
        let files = usize::try_from(files).unwrap_or(usize::MAX);
        let reserve = (files / 4).min(256);
        let total = files.saturating_sub(reserve).clamp(4, MAX_TOTAL);
        Limits {
            total,
            per_client: (total / 4).clamp(1, MAX_PER_CLIENT),
        }
    }
}

/// The most file handles `serve` asks for: room for `MAX_TOTAL` and the
/// reserve. Not the whole hard limit: children (`sendmail`) inherit the
/// soft one, and some close every handle up to it before they start.
const FILES_WANTED: u64 = 8192;

/// Raises the soft limit on open files towards the hard one, up to
/// `FILES_WANTED`; the soft limit in force after.
pub fn raise_file_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `lim`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        let wanted = lim.rlim_max.min(FILES_WANTED);
        if lim.rlim_cur < wanted {
            let raised = libc::rlimit {
                rlim_cur: wanted,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur
}

/// Whose a connection is: an IPv4 address, or an IPv6 address's /64
/// (an IPv4 address an IPv6 socket shows as `::ffff:a.b.c.d` is itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(IpAddr);

impl Client {
    pub fn of(ip: IpAddr) -> Client {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                Client(IpAddr::V6(prefix.into()))
            }
            v4 => Client(v4),
        }
    }

    /// The address that stands for the client (a /64 with its host part
    /// zero), for what else counts by client (the sign-in throttle).
    pub fn ip(self) -> IpAddr {
        self.0
    }
}

/// The connections held, by the accept loop's gate.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    conns: HashMap<u64, Conn>,
    per_client: HashMap<Client, usize>,
    /// When a limit was last said in the log.
    said: Option<Instant>,
}

#[derive(Debug)]
struct Conn {
    client: Client,
    /// Requests in flight (hyper serves one at a time; a count is simpler
    /// to keep right than a flag).
    busy: usize,
    /// Since when it has waited for a request head.
    waiting_since: Instant,
    close: Arc<Notify>,
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            table: Mutex::new(Table::default()),
        })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Lets a new connection from `ip` in, closing the longest idle one
    /// if a limit is reached (see the module's rule); `None`: close this
    /// one, every one in its way is busy.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Held> {
        let client = Client::of(ip);
        let mut t = self.lock();
        let theirs = t.per_client.get(&client).copied().unwrap_or(0);
        if theirs >= self.limits.per_client {
            t.say(|| {
                format!(
                    "{} holds {theirs} connections, the most for one client",
                    client.0
                )
            });
            if !t.close_longest_idle(Some(client)) {
                return None;
            }
        }
        if t.conns.len() >= self.limits.total {
            let all = t.conns.len();
            t.say(|| format!("{all} connections are held, the most at once"));
            if !t.close_longest_idle(None) {
                return None;
            }
        }
        t.next += 1;
        let id = t.next;
        let close = Arc::new(Notify::new());
        t.conns.insert(
            id,
            Conn {
                client,
                busy: 0,
                waiting_since: Instant::now(),
                close: close.clone(),
            },
        );
        *t.per_client.entry(client).or_insert(0) += 1;
        Some(Held {
            gate: self.clone(),
            id,
            close,
        })
    }

    /// How many connections are held (for the tests of this module).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Counts are whole at every step: a panic elsewhere leaves them so.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Table {
    /// Says on stderr that a limit is reached, once a minute at most: a
    /// flood reaches it at every connection.
    fn say(&mut self, what: impl FnOnce() -> String) {
        if self.said.is_none_or(|t| t.elapsed().as_secs() >= 60) {
            self.said = Some(Instant::now());
            eprintln!(
                "pipedesk: serve: {}: closing the connections idle longest",
                what()
            );
        }
    }

    /// Closes the connection (of `client`, or of anyone) that has waited
    /// longest for a request head; false if all are busy.
    fn close_longest_idle(&mut self, client: Option<Client>) -> bool {
        let longest = self
            .conns
            .iter()
            .filter(|(_, c)| c.busy == 0 && client.is_none_or(|k| k == c.client))
            .min_by_key(|(&id, c)| (c.waiting_since, id))
            .map(|(&id, _)| id);
        match longest {
            Some(id) => {
                if let Some(c) = self.forget(id) {
                    // A permit if its task has not yet started to wait.
                    c.close.notify_one();
                }
                true
            }
            None => false,
        }
    }

    fn forget(&mut self, id: u64) -> Option<Conn> {
        let c = self.conns.remove(&id)?;
        if let Some(n) = self.per_client.get_mut(&c.client) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&c.client);
            }
        }
        Some(c)
    }
}

/// A connection the gate let in; it leaves the count when dropped.
#[derive(Debug)]
pub struct Held {
    gate: Arc<Gate>,
    id: u64,
    close: Arc<Notify>,
}

impl Held {
    /// Resolves when the gate closes this connection to make room.
    pub async fn closed(&self) {
        self.close.notified().await;
    }

    /// A request has come (its head is whole): busy until the returned
    /// guard is dropped with the answer's body.
    pub fn request(&self) -> Busy {
        if let Some(c) = self.gate.lock().conns.get_mut(&self.id) {
            c.busy += 1;
        }
        Busy {
            gate: self.gate.clone(),
            id: self.id,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.gate.lock().forget(self.id);
    }
}

/// A request in flight on a held connection.
#[derive(Debug)]
pub struct Busy {
    gate: Arc<Gate>,
    id: u64,
}

impl Busy {
    /// `body`, holding this request busy until hyper drops it (when it
    /// is written whole, or the client is gone).
    pub fn hold(self, body: Body) -> Body {
        Body::new(Answer { body, _busy: self })
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(c) = self.gate.lock().conns.get_mut(&self.id) {
            c.busy = c.busy.saturating_sub(1);
            if c.busy == 0 {
                c.waiting_since = Instant::now();
            }
        }
    }
}

/// An answer's body with the request's `Busy` riding along.
struct Answer {
    body: Body,
    _busy: Busy,
}

impl HttpBody for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limits_leave_handles_for_the_desk_and_room_for_others() {
        assert_eq!(
            Limits::for_files(1024),
            Limits {
                total: 768,
                per_client: 192
            }
        );
        assert_eq!(
            Limits::for_files(524_288),
            Limits {
                total: MAX_TOTAL,
                per_client: MAX_PER_CLIENT
            }
        );
        let small = Limits::for_files(64);
        assert!(small.total < 64 && small.per_client < small.total);
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_slash_64() {
        assert_ne!(Client::of(ip("127.0.0.1")), Client::of(ip("127.0.0.2")));
        assert_eq!(
            Client::of(ip("2001:db8:1:2:aaaa::1")),
            Client::of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            Client::of(ip("2001:db8:1:2::1")),
            Client::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            Client::of(ip("::ffff:10.0.0.1")),
            Client::of(ip("10.0.0.1"))
        );
    }

    #[test]
    fn a_client_at_its_limit_loses_its_longest_idle_connection() {
        let gate = Gate::new(Limits {
            total: 10,
            per_client: 3,
        });
        let a = ip("10.0.0.1");
        let first = gate.admit(a).unwrap();
        let busy = first.request();
        let second = gate.admit(a).unwrap();
        let _third = gate.admit(a).unwrap();
        // The first is busy: the second, idle longest, makes room.
        let _fourth = gate.admit(a).unwrap();
        assert_eq!(gate.held(), 3);
        assert!(told_to_close(&second), "the second was not told to close");
        assert!(!told_to_close(&first));
        drop(busy);
        // Another client still gets in.
        assert!(gate.admit(ip("10.0.0.2")).is_some());
    }

    #[test]
    fn when_every_connection_is_busy_the_new_one_is_refused() {
        let gate = Gate::new(Limits {
            total: 2,
            per_client: 2,
        });
        let a = gate.admit(ip("10.0.0.1")).unwrap();
        let b = gate.admit(ip("10.0.0.2")).unwrap();
        let (x, y) = (a.request(), b.request());
        assert!(gate.admit(ip("10.0.0.3")).is_none());
        drop(x);
        drop(y);
        // Idle again: the total makes room by closing the longest idle.
        let c = gate.admit(ip("10.0.0.3"));
        assert!(c.is_some());
        assert!(told_to_close(&a) && !told_to_close(&b));
        assert_eq!(gate.held(), 2);
        drop((a, b));
        assert_eq!(gate.held(), 1);
    }

    /// Whether `held` was told to close (its permit is there).
    fn told_to_close(held: &Held) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(1), held.closed())
                .await
                .is_ok()
        })
    }
}
