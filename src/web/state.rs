//! What every request shares: the configuration (swapped whole when SIGHUP
//! reloads it), a pool of desks (each with its own database connection),
//! the hub that fans the change feed out to every open board, the sign-in
//! throttle, and the page templates.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Result};
use minijinja::Environment;
use tokio::sync::broadcast;

use super::throttle::SignIns;
use crate::address::Address;
use crate::config::Config;
use crate::desk::{Desk, Error, FEED_WINDOW};
use crate::store::{ChangeWaiter, Open};
use crate::view::CardView;

pub type Shared = Arc<AppState>;

/// One change, as every event stream sends it.
#[derive(Debug)]
pub struct Pushed {
    pub seq: i64,
    /// The card as JSON, serialized once for every stream.
    pub card: String,
}

/// The configuration `serve` runs with now. A reload puts a new one in
/// whole; a request reads it once (`get`) and keeps that copy, so no
/// request ever sees half of one config and half of another. A lock, not
/// a lock-free swap: it is held for the length of an `Arc` clone.
#[derive(Clone)]
pub struct Live(Arc<RwLock<Arc<Config>>>);

impl Live {
    pub fn new(config: Arc<Config>) -> Live {
        Live(Arc::new(RwLock::new(config)))
    }

    pub fn get(&self) -> Arc<Config> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, config: Arc<Config>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = config;
    }
}

pub struct AppState {
    config: Live,
    /// `web.base_url`'s origin: the only one allowed to change things.
    pub origin: String,
    /// Whether cookies are `Secure` (an https base URL).
    pub secure: bool,
    /// For the startup line.
    pub store: String,
    desks: Mutex<Vec<Desk>>,
    pub hub: broadcast::Sender<Arc<Pushed>>,
    /// The last seq the hub has sent: where a new stream's replay ends.
    pub published: AtomicI64,
    pub throttle: SignIns,
    /// The refusals the thread page says after a form, by number.
    pub notices: Notices,
    pub pages: Environment<'static>,
    /// `true` once the server stops (SIGTERM, SIGINT): each connection
    /// and each event stream holds a receiver and ends when it sees it.
    pub stopping: tokio::sync::watch::Sender<bool>,
    /// `/healthz`'s one question to the database at a time.
    pub health: super::ops::Health,
}

impl AppState {
    /// Opens the store (it must exist), ends the sessions and tokens of
    /// whoever is off staff, starts the feed's watcher, and loads the
    /// templates.
    pub fn start(config: Arc<Config>) -> Result<Shared> {
        let mut desk = Desk::open(config.clone(), Open::Existing)?;
        let store = desk.describe_store();
        let (seq, _) = desk.change_window()?;
        super::reload::revoke_off_staff(&mut desk)?;
        let origin = config.web.base_url.trim_end_matches('/').to_string();
        let (hub, _) = broadcast::channel(4096);
        let live = Live::new(config);
        let state = Arc::new(AppState {
            secure: origin.starts_with("https://"),
            origin,
            store,
            desks: Mutex::new(vec![desk]),
            hub,
            published: AtomicI64::new(seq),
            throttle: SignIns::default(),
            notices: Notices::default(),
            pages: pages(live.clone())?,
            health: super::ops::Health::default(),
            config: live,
            stopping: tokio::sync::watch::Sender::new(false),
        });
        let watcher = state.clone();
        std::thread::Builder::new()
            .name("feed".into())
            .spawn(move || watch(&watcher, seq))?;
        Ok(state)
    }

    /// The configuration as it is now.
    pub fn config(&self) -> Arc<Config> {
        self.config.get()
    }

    /// Runs with `config` from now on: every request that starts after
    /// this sees it, on a desk of its own (desks made with the old one are
    /// dropped as they come back to the pool). It closes their
    /// connections: call it where blocking is allowed.
    pub fn reconfigure(&self, config: Arc<Config>) {
        self.config.set(config);
        self.desks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Runs `f` with a desk, on a thread where blocking is allowed.
    pub async fn desk<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Desk) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            // A pool poisoned by a panicking request still holds whole
            // desks: refusing it would answer 500 until a restart.
            let taken = state
                .desks
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            // A desk in use while the config was reloaded comes back with
            // the old one: it is not used again.
            let config = state.config();
            let mut desk = match taken {
                Some(d) if std::ptr::eq(d.config(), &*config) => d,
                _ => Desk::open(config, Open::Existing)?,
            };
            let result = f(&mut desk);
            // A desk whose store failed may hold a broken connection; one
            // that only refused something is fine to use again.
            let healthy = match &result {
                Ok(_) => true,
                Err(e) => e.chain().any(|c| c.downcast_ref::<Error>().is_some()),
            };
            if healthy {
                let mut pool = state.desks.lock().unwrap_or_else(PoisonError::into_inner);
                if pool.len() < 16 {
                    pool.push(desk);
                }
            }
            result
        })
        .await
        .map_err(|e| anyhow!("a request's thread failed: {e}"))?
    }
}

/// What the thread page says after a form went wrong: the desk's own
/// sentence, kept here for the member of staff who sent the form and named
/// in the link by a number (`?notice=N`), so a link cannot carry words of
/// its own into the notice box (SPEC §6). The last `KEPT` are kept.
#[derive(Debug, Default)]
pub struct Notices(Mutex<Kept>);

#[derive(Debug, Default)]
struct Kept {
    next: u64,
    said: VecDeque<(u64, Address, String)>,
}

impl Notices {
    const KEPT: usize = 1000;

    /// Keeps `text` for `who`; its number.
    pub fn keep(&self, who: &Address, text: String) -> u64 {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.next += 1;
        let n = kept.next;
        kept.said.push_back((n, who.clone(), text));
        if kept.said.len() > Self::KEPT {
            kept.said.pop_front();
        }
        n
    }

    /// Notice `code` if it is one kept for `who`.
    pub fn get(&self, who: &Address, code: &str) -> Option<String> {
        let n: u64 = code.parse().ok()?;
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.said
            .iter()
            .find(|(k, w, _)| *k == n && w == who)
            .map(|(_, _, text)| text.clone())
    }
}

/// The feed's watcher: every change committed anywhere — `deliver` run by
/// the MTA, a command at the terminal, another `serve` on another host — is
/// read from the store and sent to every open stream, each ticket once per
/// look (a burst of changes to one ticket arrives as its latest state). It
/// looks when the store says the feed may have grown (`ChangeWaiter`).
fn watch(state: &AppState, mut seen: i64) {
    let mut desk: Option<Desk> = None;
    let mut waiter: Option<ChangeWaiter> = None;
    let mut unheard = false;
    loop {
        match waiter.as_mut().map(ChangeWaiter::wait) {
            Some(Ok(())) => {}
            // No listener yet, or it broke: look now, and listen again.
            broke => {
                if let Some(Err(e)) = broke {
                    eprintln!("pipedesk: the live board's listener: {e:#}");
                }
                match ChangeWaiter::new(&state.config()) {
                    Ok(w) => {
                        waiter = Some(w);
                        unheard = false;
                    }
                    Err(e) => {
                        // Said once per outage, not once a second.
                        if !unheard {
                            eprintln!("pipedesk: the live board cannot listen for changes (it looks every second): {e:#}");
                        }
                        unheard = true;
                        waiter = None;
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        }
        if desk.is_none() {
            desk = Desk::open(state.config(), Open::Existing).ok();
        }
        let Some(d) = desk.as_mut() else { continue };
        let result = (|| -> Result<()> {
            loop {
                let (last, _) = d.change_window()?;
                if last <= seen {
                    return Ok(());
                }
                let (read, batch) = d.changes(seen, FEED_WINDOW)?;
                if read <= seen {
                    // Nothing to read below `last` (a feed that lost rows):
                    // skip to it rather than ask again and again.
                    seen = last;
                    state.published.store(seen, Ordering::SeqCst);
                    return Ok(());
                }
                // Published before it is sent: a stream that got seq N
                // and comes back with Last-Event-ID N must find N published,
                // or it is told to reset (a stream opened in between
                // replays these from the store and skips them live).
                seen = read.max(seen);
                state.published.store(seen, Ordering::SeqCst);
                for (seq, listed) in &batch {
                    let card = serde_json::to_string(&CardView::of(listed))?;
                    // No stream open is no error.
                    let _ = state.hub.send(Arc::new(Pushed { seq: *seq, card }));
                }
                if read >= last {
                    return Ok(());
                }
            }
        })();
        if let Err(e) = result {
            eprintln!("pipedesk: the live board's feed: {e:#}");
            desk = None;
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// The page templates, compiled into the binary; `.html` names turn on
/// minijinja's HTML escaping for everything they print.
/// The page templates, with the filter `shown`: a person as the config
/// names them, `{{ t.owner | shown }}` (`Config::shown`; "" for none); and
/// `size`, a number of bytes for people.
fn pages(config: Live) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.add_filter("shown", move |addr: Option<String>| -> String {
        addr.map(|a| config.get().shown(&a).to_string())
            .unwrap_or_default()
    });
    // An attachment's size as `show` gives it: "73.1 KB".
    env.add_filter("size", |n: usize| crate::term::size(n));
    for (name, text) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("login.html", include_str!("templates/login.html")),
        ("board.html", include_str!("templates/board.html")),
        ("list.html", include_str!("templates/list.html")),
        ("thread.html", include_str!("templates/thread.html")),
        ("merge.html", include_str!("templates/merge.html")),
        (
            "thread/answer.html",
            include_str!("templates/thread/answer.html"),
        ),
        ("new.html", include_str!("templates/new.html")),
        (
            "thread/fields.html",
            include_str!("templates/thread/fields.html"),
        ),
        ("thread/sla.html", include_str!("templates/thread/sla.html")),
    ] {
        env.add_template(name, text)?;
    }
    Ok(env)
}
