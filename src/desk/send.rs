//! Mail out: the lease a process holds on the mail it queued, the back-off
//! after a failure, sending right after a change commits, and `flush`.

use anyhow::Result;

use super::Desk;
use crate::config::{Config, Transport};
use crate::model::*;
use crate::outbound::templates::Texts;
use crate::outbound::transport;
use crate::store::{Due, Lease, Store};

/// The time during a run of sends: the caller's `now`, moved on by the
/// time the run has taken (an SMTP send may take half a minute, and leases
/// and back-offs count from when each mail went). Only the monotonic clock
/// is read here; the wall clock is the caller's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    start: Time,
    since: std::time::Instant,
}

impl From<Time> for Clock {
    fn from(start: Time) -> Clock {
        Clock {
            start,
            since: std::time::Instant::now(),
        }
    }
}

impl Clock {
    fn now(self) -> Time {
        self.start + chrono::Duration::from_std(self.since.elapsed()).unwrap_or_default()
    }
}

/// How long a sending process holds a mail before another may send it: far
/// longer than a send takes (SMTP gives up after 30 s a step), so no mail
/// is taken from a process that is still sending it.
pub const LEASE_SECS: i64 = 300;

/// Why a mail was not sent (it stays queued for `flush`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The transport failed or refused it.
    #[error("{0}")]
    Transport(String),
    /// A rule's program or webhook did not run to success (SPEC §8).
    #[error("{0}")]
    Hook(String),
    /// The leased mail could not be read back from the store.
    #[error("{0}")]
    Store(String),
    /// It went out, but the store did not take the mark: `flush` may send
    /// it again.
    #[error("sent, but not recorded as sent: {0}")]
    NotRecorded(String),
}

/// What `flush` did, and what still waits.
#[derive(Debug, Clone, Default)]
pub struct Flushed {
    pub sent: Vec<i64>,
    pub failed: Vec<(i64, SendError)>,
    /// Still queued after the run: failed, backing off, or held by another
    /// process.
    pub waiting: Vec<MailRecord>,
    /// Which of `sent` and `failed` are a rule's hooks, not mail.
    pub hooks: Vec<i64>,
}

/// A new token naming this process's leases: `host/pid/nanos`, so that a
/// flush on the same host can tell a lease whose holder died (killed by an
/// MTA's timeout) from one whose holder is still sending.
pub(super) fn lease_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}/{}/{nanos:x}", hostname(), std::process::id())
}

/// Is the lease `token` held by a process of this host that has died?
/// Leases of other hosts are only ever waited out.
fn holder_died(token: &str) -> bool {
    let mut parts = token.split('/');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if host != hostname() || pid <= 0 || pid as u32 == std::process::id() {
        return false;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// How long a mail waits after its `attempts`-th failure: a minute,
/// doubling, at most six hours.
pub fn backoff(attempts: i64) -> chrono::Duration {
    chrono::Duration::seconds(
        60i64
            .saturating_mul(1 << attempts.clamp(0, 9))
            .min(6 * 3600),
    )
}

impl Desk {
    pub(super) fn lease(&self, now: Time) -> Lease {
        Lease {
            token: self.token.clone(),
            until: now + chrono::Duration::seconds(LEASE_SECS),
        }
    }

    /// What one operation's transaction holds at once: a lease on the
    /// mail it queues, and the store, the configuration and the mail's
    /// texts, borrowed apart so that the transaction's closure can hold
    /// the last two while the store runs it.
    pub(super) fn for_a_change(
        &mut self,
        now: Time,
    ) -> (Lease, &mut dyn Store, &Config, &mut Option<Texts>) {
        let lease = self.lease(now);
        let Desk {
            store,
            config,
            texts,
            ..
        } = self;
        (lease, &mut **store, config, texts)
    }

    /// Sends the mail of a committed change, which `lease` holds. The change
    /// is stored whatever happens here: a failure leaves the mail queued for
    /// `flush`, and is returned.
    pub(super) fn send(&mut self, ids: &[i64], lease: &Lease, now: Time) -> Vec<(i64, SendError)> {
        // With transport "none" mail is recorded as dropped, never leased:
        // what is queued is a rule's hooks, which run whatever the transport.
        if ids.is_empty() {
            return Vec::new();
        }
        let mails = match self.store.read(|tx| tx.leased(ids, lease)) {
            Ok(m) => m,
            Err(e) => {
                let why = SendError::Store(format!("{e:#}"));
                return ids.iter().map(|&id| (id, why.clone())).collect();
            }
        };
        let clock = Clock::from(now);
        let mut unsent = Vec::new();
        for q in &mails {
            if let Err(e) = self.send_one(q, lease, clock) {
                unsent.push((q.id, e));
            }
        }
        unsent
    }

    /// Sends one leased mail and records how it went, at once: recorded
    /// together at the end, a crash while a later mail was being sent left
    /// the ones already sent queued, and they went twice.
    fn send_one(
        &mut self,
        q: &QueuedMail,
        lease: &Lease,
        clock: Clock,
    ) -> std::result::Result<(), SendError> {
        let result = match q.kind {
            MailKind::Hook => super::rules::run_hook(&self.config, q),
            _ => transport::send(&self.config, q).map_err(|e| format!("{e:#}")),
        };
        let now = clock.now();
        let recorded = match &result {
            Ok(()) => self
                .store
                .write(|tx| tx.mark_sent(q.id, lease, now))
                .map(drop),
            Err(e) => self
                .store
                .write(|tx| tx.mark_failed(q.id, lease, e, now + backoff(q.attempts))),
        };
        match (result, recorded) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(e), _) if q.kind == MailKind::Hook => Err(SendError::Hook(e)),
            (Err(e), _) => Err(SendError::Transport(e)),
            (Ok(()), Err(e)) => Err(SendError::NotRecorded(format!("{e:#}"))),
        }
    }

    /// Sends what is queued (SPEC §5 `flush`): everything nobody else holds,
    /// or with `Due::Due` only what is past its back-off. Each mail is taken
    /// with a lease in one statement, so flushes and deliveries running at
    /// once never send one mail twice.
    pub fn flush(&mut self, due: Due, now: Time) -> Result<Flushed> {
        let clock = Clock::from(now);
        let hooks = self
            .config
            .rules()
            .iter()
            .any(|r| r.then.iter().any(|a| a.is_hook()));
        if self.config.mail.transport == Transport::None && !hooks {
            anyhow::bail!("mail.transport is \"none\": nothing can be sent");
        }
        // Mail held by a process of this host that died (a delivery killed
        // by its MTA before it sent what it queued) is free again now, not
        // after its lease: a person running flush wants it sent.
        for m in self.store.read(|tx| tx.queued_mail())? {
            let now = clock.now();
            if let (Some(token), Some(until)) = (&m.leased_by, m.leased_until) {
                if until > now && holder_died(token) {
                    self.store.write(|tx| tx.release(m.id, token))?;
                }
            }
        }
        let mut report = Flushed::default();
        let mut after = 0;
        loop {
            let now = clock.now();
            let lease = self.lease(now);
            let Some(q) = self
                .store
                .write(|tx| tx.lease_next(after, due, now, &lease))?
            else {
                break;
            };
            after = q.id;
            if q.kind == MailKind::Hook {
                report.hooks.push(q.id);
            }
            match self.send_one(&q, &lease, clock) {
                Ok(()) => report.sent.push(q.id),
                Err(e) => report.failed.push((q.id, e)),
            }
        }
        report.waiting = self.store.read(|tx| tx.queued_mail())?;
        Ok(report)
    }
}
