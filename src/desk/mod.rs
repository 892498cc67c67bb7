//! The help desk's operations, one method each, shared by every front end
//! (`deliver` run by the MTA, the commands for people, the web) and every
//! store. Each change owns its transaction and the mail it causes: the
//! change and its outbox rows commit together or not at all, then the mail
//! is sent. Every rule lives here; a front end parses its input, calls one
//! of these methods and renders what it returns.

mod deliver;
mod mailer;
pub mod signin;

use std::sync::Arc;

use anyhow::{Context as _, Result};

pub use deliver::Incoming;
use mailer::Mailer;

use crate::config::{Config, Transport};
use crate::model::*;
use crate::outbound::render::{new_message_id, tagged, Cause};
use crate::outbound::templates::Texts;
use crate::outbound::{transport, Event};
use crate::store::{self, Due, Lease, Open, Store, Tx};

/// How many resolved tickets the board shows (SPEC §6).
pub const RESOLVED_ON_THE_BOARD: usize = 50;

/// How long a sending process holds a mail before another may send it: far
/// longer than a send takes (SMTP gives up after 30 s a step), so no mail
/// is taken from a process that is still sending it.
pub const LEASE_SECS: i64 = 300;

/// Why the desk refused to do something. A front end maps the kind: the
/// web to 404/409/412/400, the commands to one `pipedesk:` line.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no ticket #{0}")]
    NoTicket(i64),
    /// Not allowed now, or not by this person.
    #[error("{0}")]
    NotAllowed(String),
    /// The ticket changed since the version the caller saw.
    #[error("ticket #{} has changed since (it is at version {} now)", .0.id, .0.version)]
    Stale(Box<Ticket>),
    #[error("{0}")]
    BadInput(String),
}

/// What `deliver` did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub action: Action,
    /// The ticket it landed on (for a merged ticket, the one it was merged
    /// into).
    pub ticket: Option<i64>,
    /// A resolved or stalled ticket became open.
    pub reopened: bool,
    /// The outbox rows this change wrote.
    pub outbox: Vec<i64>,
    /// Mail that could not be sent right away: (outbox id, why); it stays
    /// queued for `pipedesk flush`.
    pub unsent: Vec<(i64, String)>,
}

impl Outcome {
    fn new(action: Action, ticket: Option<i64>) -> Outcome {
        Outcome {
            action,
            ticket,
            reopened: false,
            outbox: Vec::new(),
            unsent: Vec::new(),
        }
    }
}

/// What a change by a person did.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The ticket as it is now.
    pub ticket: Ticket,
    pub outbox: Vec<i64>,
    pub unsent: Vec<(i64, String)>,
}

/// Who changes something, when, and (from the web) which version of the
/// ticket they saw.
#[derive(Debug, Clone, Copy)]
pub struct Act<'a> {
    pub who: &'a str,
    pub now: Time,
    /// `If-Match`: refuse with `Refusal::Stale` if the ticket moved on.
    pub if_version: Option<i64>,
}

impl<'a> Act<'a> {
    pub fn new(who: &'a str, now: Time) -> Act<'a> {
        Act {
            who,
            now,
            if_version: None,
        }
    }
}

/// A ticket with all it holds, for `show`.
#[derive(Debug, Clone)]
pub struct Thread {
    pub ticket: Ticket,
    pub history: Vec<HistoryEntry>,
    pub mail: Vec<MailRecord>,
}

/// What `flush` did, and what still waits.
#[derive(Debug, Clone, Default)]
pub struct Flushed {
    pub sent: Vec<i64>,
    pub failed: Vec<(i64, String)>,
    /// Still queued after the run: failed, backing off, or held by another
    /// process.
    pub waiting: Vec<MailRecord>,
}

/// `pipedesk stats`.
#[derive(Debug, Clone)]
pub struct Stats {
    pub by_queue_status: Vec<(String, Status, i64)>,
    pub new_this_week: i64,
    /// Tickets answered by staff, and the median wait for the first answer.
    pub answered: usize,
    pub median_first_reply_secs: Option<i64>,
}

pub struct Desk {
    config: Arc<Config>,
    store: Box<dyn Store>,
    texts: Option<Texts>,
    /// This process's hold on the mail it queues.
    token: String,
}

/// Ticket `id`, or the ticket it was merged into.
pub(crate) fn resolve(tx: &mut dyn Tx, id: i64) -> Result<Option<Ticket>> {
    let mut seen = Vec::new();
    let mut next = id;
    loop {
        let Some(t) = tx.ticket(next)? else {
            return Ok(None);
        };
        match t.merged_into {
            // A merge re-points older aliases, so one hop is the rule; the
            // bound only guards a hand-edited database.
            Some(into) if !seen.contains(&into) && seen.len() < 16 => {
                seen.push(next);
                next = into;
            }
            _ => return Ok(Some(t)),
        }
    }
}

/// Moves `t` to `status`, written in its history; false when it was there.
pub(crate) fn change_status(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    status: Status,
    who: &str,
    now: Time,
) -> Result<bool> {
    if t.status == status {
        return Ok(false);
    }
    tx.set_status(t.id, status)?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Status, who)
            .change(Some(t.status.as_str()), Some(status.as_str())),
        now,
    )?;
    t.status = status;
    Ok(true)
}

/// Gives `t` to `owner` (None: nobody), written in its history.
fn change_owner(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    owner: Option<&str>,
    who: &str,
    now: Time,
) -> Result<bool> {
    if t.owner.as_deref() == owner {
        return Ok(false);
    }
    tx.set_owner(t.id, owner)?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Owner, who).change(t.owner.as_deref(), owner),
        now,
    )?;
    t.owner = owner.map(String::from);
    Ok(true)
}

/// A new token naming this process's leases: `host/pid/nanos`, so that a
/// flush on the same host can tell a lease whose holder died (killed by an
/// MTA's timeout) from one whose holder is still sending.
fn lease_token() -> String {
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
    /// The desk of `config`, on the store it names.
    pub fn open(config: Arc<Config>, how: Open) -> Result<Desk> {
        let store = store::open(&config, how)?;
        Ok(Desk::with_store(config, store))
    }

    pub fn with_store(config: Arc<Config>, store: Box<dyn Store>) -> Desk {
        Desk {
            config,
            store,
            texts: None,
            token: lease_token(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn describe_store(&self) -> String {
        self.store.describe()
    }

    fn lease(&self, now: Time) -> Lease {
        Lease {
            token: self.token.clone(),
            until: now + chrono::Duration::seconds(LEASE_SECS),
        }
    }

    // --- mail in ---------------------------------------------------------

    /// Stores `msg` where it routes (SPEC §3), queues the mail it causes,
    /// commits, then sends. With `no_mail` nothing is queued.
    pub fn deliver(&mut self, msg: &Incoming<'_>, no_mail: bool, now: Time) -> Result<Outcome> {
        self.deliver_at_version(msg, no_mail, now, None)
    }

    /// `deliver`, refused as stale when the ticket it lands on is no longer
    /// at `if_version`.
    fn deliver_at_version(
        &mut self,
        msg: &Incoming<'_>,
        no_mail: bool,
        now: Time,
        if_version: Option<i64>,
    ) -> Result<Outcome> {
        let lease = self.lease(now);
        let Desk {
            store,
            config,
            texts,
            ..
        } = self;
        let mut outcome = store.write(|tx| {
            let mut mail = Mailer::new(config, texts, &lease, no_mail);
            let mut o = deliver::ingest(tx, config, msg, now, &mut mail, if_version)?;
            o.outbox = mail.queued;
            Ok(o)
        })?;
        outcome.unsent = self.send(&outcome.outbox, &lease);
        Ok(outcome)
    }

    /// What `deliver` would do, in a transaction that is rolled back.
    pub fn rehearse(&mut self, msg: &Incoming<'_>, now: Time) -> Result<Outcome> {
        self.rehearse_with(msg, now, |_, _, _| Ok(()))
            .map(|(o, ())| o)
    }

    /// `rehearse`, with `inspect` run on the transaction after the message
    /// went in and before it is rolled back: what property tests and the
    /// fuzzer check a delivery wrote, without keeping it.
    pub fn rehearse_with<T>(
        &mut self,
        msg: &Incoming<'_>,
        now: Time,
        mut inspect: impl FnMut(&mut dyn Tx, &Outcome, &Lease) -> Result<T>,
    ) -> Result<(Outcome, T)> {
        let lease = self.lease(now);
        let Desk {
            store,
            config,
            texts,
            ..
        } = self;
        store.rehearse(|tx| {
            let mut mail = Mailer::new(config, texts, &lease, false);
            let mut o = deliver::ingest(tx, config, msg, now, &mut mail, None)?;
            o.outbox = mail.queued;
            let seen = inspect(tx, &o, &lease)?;
            Ok((o, seen))
        })
    }

    /// Read-only access to the store, for tests and tools that check what
    /// the desk wrote.
    pub fn inspect<T>(&mut self, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.store.read(f)
    }

    /// Many messages in one transaction, for `import`: `f` gets a handle
    /// that stores one message at a time, dated by its own clock, queuing no
    /// mail. `f` may run again from the start (see `Store::write_dyn`).
    pub fn batch<T>(&mut self, mut f: impl FnMut(&mut Batch<'_>) -> Result<T>) -> Result<T> {
        let lease = self.lease(chrono::Utc::now());
        let Desk {
            store,
            config,
            texts,
            ..
        } = self;
        store.write(|tx| {
            let mut batch = Batch {
                tx,
                config,
                texts,
                lease: &lease,
            };
            f(&mut batch)
        })
    }

    /// Trades the durability of the last commits for speed (import).
    pub fn bulk_mode(&mut self) -> Result<()> {
        self.store.bulk_mode()
    }

    // --- changes by people -----------------------------------------------

    /// Runs `f` on ticket `id` in one transaction, for a member of staff,
    /// then sends the mail it queued.
    fn change(
        &mut self,
        id: i64,
        act: &Act<'_>,
        mut f: impl FnMut(&mut dyn Tx, &Config, &mut Mailer<'_>, &mut Ticket) -> Result<()>,
    ) -> Result<Changed> {
        self.require_staff(act.who)?;
        let lease = self.lease(act.now);
        let Desk {
            store,
            config,
            texts,
            ..
        } = self;
        let (ticket, outbox) = store.write(|tx| {
            let mut t = resolve(tx, id)?.ok_or(Refusal::NoTicket(id))?;
            if act.if_version.is_some_and(|v| v != t.version) {
                return Err(Refusal::Stale(Box::new(t)).into());
            }
            let mut mail = Mailer::new(config, texts, &lease, false);
            f(tx, config, &mut mail, &mut t)?;
            let mut now = tx.ticket(t.id)?.ok_or(Refusal::NoTicket(t.id))?;
            now.merged = tx.merged(t.id)?;
            Ok((now, mail.queued))
        })?;
        let unsent = self.send(&outbox, &lease);
        Ok(Changed {
            ticket,
            outbox,
            unsent,
        })
    }

    fn require_staff(&self, who: &str) -> Result<()> {
        if !self.config.is_staff_address(who) {
            return Err(Refusal::NotAllowed(format!(
                "{who} is not on staff (staff.admins, staff.members)"
            ))
            .into());
        }
        Ok(())
    }

    /// Resolves the ticket and tells the requestor.
    pub fn close(&mut self, id: i64, act: &Act<'_>) -> Result<Changed> {
        self.set_status(id, Status::Resolved, act)
    }

    /// Opens a resolved or stalled ticket again.
    pub fn reopen(&mut self, id: i64, act: &Act<'_>) -> Result<Changed> {
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            if !t.status.reopens_on_mail() {
                return Err(Refusal::NotAllowed(format!(
                    "ticket #{} is {}, not resolved or stalled",
                    t.id, t.status
                ))
                .into());
            }
            status_rule(tx, mail, t, Status::Open, who, now)
        })
    }

    /// Puts the ticket aside until the requestor answers.
    pub fn stall(&mut self, id: i64, act: &Act<'_>) -> Result<Changed> {
        self.set_status(id, Status::Stalled, act)
    }

    /// Moves the ticket to `status`, by the rules of `close`, `reopen` and
    /// `stall` (the web's status change and the board's drop).
    pub fn set_status(&mut self, id: i64, status: Status, act: &Act<'_>) -> Result<Changed> {
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            status_rule(tx, mail, t, status, who, now)
        })
    }

    /// The staff member `act.who` becomes the owner; a new ticket opens.
    pub fn take(&mut self, id: i64, act: &Act<'_>) -> Result<Changed> {
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            change_owner(tx, t, Some(who), who, now)?;
            if t.status == Status::New {
                change_status(tx, t, Status::Open, who, now)?;
            }
            Ok(())
        })
    }

    /// Gives the ticket to a member of staff, or to nobody; the status
    /// stays.
    pub fn assign(&mut self, id: i64, owner: Option<&str>, act: &Act<'_>) -> Result<Changed> {
        let owner = owner.map(|o| o.trim().to_ascii_lowercase());
        if let Some(o) = &owner {
            self.require_staff(o)?;
        }
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            change_owner(tx, t, owner.as_deref(), who, now).map(drop)
        })
    }

    /// The board's drop: owner and status in one change.
    pub fn move_to(
        &mut self,
        id: i64,
        status: Status,
        owner: Option<&str>,
        act: &Act<'_>,
    ) -> Result<Changed> {
        let owner = owner.map(|o| o.trim().to_ascii_lowercase());
        if let Some(o) = &owner {
            self.require_staff(o)?;
        }
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            change_owner(tx, t, owner.as_deref(), who, now)?;
            if t.status != status {
                status_rule(tx, mail, t, status, who, now)?;
            }
            Ok(())
        })
    }

    /// Merges ticket `from` into `into` (SPEC §5): its messages and history
    /// join `into`'s, its requestor and watchers become `into`'s watchers,
    /// mail to it lands on `into`.
    pub fn merge(&mut self, from: i64, into: i64, act: &Act<'_>) -> Result<Changed> {
        let who = act.who;
        let now = act.now;
        // The change is to the ticket that goes (`act.if_version` is its
        // version); it answers with the ticket that stays.
        self.change(from, act, |tx, _, _, t| {
            let source = t.clone();
            let target = resolve(tx, into)?.ok_or(Refusal::NoTicket(into))?;
            if source.id == target.id {
                return Err(Refusal::NotAllowed(if source.id == from && into == from {
                    format!("cannot merge ticket #{from} into itself")
                } else {
                    format!("ticket #{from} is merged into #{} already", target.id)
                })
                .into());
            }
            tx.merge(source.id, target.id)?;
            for w in std::iter::once(&source.requestor).chain(&source.watchers) {
                tx.add_watcher(target.id, w)?;
            }
            let entry = NewEntry::new(HistoryKind::Merge, who)
                .change(Some(&source.id.to_string()), Some(&target.id.to_string()));
            tx.add_history(target.id, &entry, now)?;
            // The merged ticket keeps this one entry: its change reaches
            // the boards, whose card of it goes.
            tx.add_history(source.id, &entry, now)?;
            *t = target;
            Ok(())
        })
    }

    /// Adds a watcher: they get staff replies from now on.
    pub fn watch(&mut self, id: i64, address: &str, act: &Act<'_>) -> Result<Changed> {
        let address = watcher_address(address, &self.config)?;
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            if !tx.add_watcher(t.id, &address)? {
                return Err(Refusal::NotAllowed(format!(
                    "{address} watches ticket #{} already",
                    t.id
                ))
                .into());
            }
            tx.add_history(
                t.id,
                &NewEntry::new(HistoryKind::Watcher, who).change(None, Some(&address)),
                now,
            )
        })
    }

    /// Removes a watcher; the requestor stays.
    pub fn unwatch(&mut self, id: i64, address: &str, act: &Act<'_>) -> Result<Changed> {
        let address = address.trim().to_ascii_lowercase();
        let who = act.who;
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            if address.eq_ignore_ascii_case(&t.requestor) {
                return Err(Refusal::NotAllowed(format!(
                    "{address} is the requestor of ticket #{}: the requestor always watches",
                    t.id
                ))
                .into());
            }
            if !tx.remove_watcher(t.id, &address)? {
                return Err(Refusal::NotAllowed(format!(
                    "{address} does not watch ticket #{}",
                    t.id
                ))
                .into());
            }
            tx.add_history(
                t.id,
                &NewEntry::new(HistoryKind::Watcher, who).change(Some(&address), None),
                now,
            )
        })
    }

    /// A staff answer to the requestor (`comment`: staff only), stored as a
    /// real message on the ticket, so it is searched, exported and relayed
    /// exactly like one sent by mail.
    pub fn write(&mut self, id: i64, body: &str, comment: bool, act: &Act<'_>) -> Result<Outcome> {
        self.require_staff(act.who)?;
        if body.trim().is_empty() {
            return Err(Refusal::BadInput("empty text: nothing was sent".into()).into());
        }
        let ticket = self.ticket(id)?;
        let config = &self.config;
        let suffix = if comment {
            config.addresses.comment_suffix.as_str()
        } else {
            ""
        };
        let to = config.ticket_address(ticket.id, suffix);
        let author: lettre::Address = act
            .who
            .parse()
            .with_context(|| format!("staff address {}", act.who))?;
        let raw = lettre::Message::builder()
            .from(lettre::message::Mailbox::new(None, author))
            .to(lettre::message::Mailbox::new(
                None,
                to.parse().context("our ticket address")?,
            ))
            .subject(tagged(
                &format!("Re: {}", ticket.subject),
                ticket.id,
                config,
            ))
            .message_id(Some(format!(
                "<{}>",
                new_message_id(ticket.id, config.domain())
            )))
            .date(act.now.into())
            .singlepart(lettre::message::SinglePart::plain(body.to_string()))?
            .formatted();
        let facts = crate::inbound::parse(&raw);
        let msg = Incoming {
            raw: &raw,
            facts: &facts,
            recipient: &to,
            envelope_sender: Some(act.who),
            local: true,
        };
        self.deliver_at_version(&msg, false, act.now, act.if_version)
    }

    // --- mail out --------------------------------------------------------

    /// Sends the mail of a committed change, which `lease` holds. The change
    /// is stored whatever happens here: a failure leaves the mail queued for
    /// `flush`, and is returned.
    fn send(&mut self, ids: &[i64], lease: &Lease) -> Vec<(i64, String)> {
        if self.config.mail.transport == Transport::None || ids.is_empty() {
            return Vec::new();
        }
        let mails = match self.store.read(|tx| tx.leased(ids, lease)) {
            Ok(m) => m,
            Err(e) => return ids.iter().map(|&id| (id, format!("{e:#}"))).collect(),
        };
        let mut unsent = Vec::new();
        for q in &mails {
            if let Err(e) = self.send_one(q, lease) {
                unsent.push((q.id, e));
            }
        }
        unsent
    }

    /// Sends one leased mail and records how it went, at once: recorded
    /// together at the end, a crash while a later mail was being sent left
    /// the ones already sent queued, and they went twice.
    fn send_one(&mut self, q: &QueuedMail, lease: &Lease) -> std::result::Result<(), String> {
        let result = transport::send(&self.config, q).map_err(|e| format!("{e:#}"));
        let now = chrono::Utc::now();
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
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(format!("sent, but not recorded as sent: {e:#}")),
        }
    }

    /// Sends what is queued (SPEC §5 `flush`): everything nobody else holds,
    /// or with `Due::Due` only what is past its back-off. Each mail is taken
    /// with a lease in one statement, so flushes and deliveries running at
    /// once never send one mail twice.
    pub fn flush(&mut self, due: Due) -> Result<Flushed> {
        if self.config.mail.transport == Transport::None {
            anyhow::bail!("mail.transport is \"none\": nothing can be sent");
        }
        // Mail held by a process of this host that died (a delivery killed
        // by its MTA before it sent what it queued) is free again now, not
        // after its lease: a person running flush wants it sent.
        for m in self.store.read(|tx| tx.queued_mail())? {
            let now = chrono::Utc::now();
            if let (Some(token), Some(until)) = (&m.leased_by, m.leased_until) {
                if until > now && holder_died(token) {
                    self.store.write(|tx| tx.release(m.id, token))?;
                }
            }
        }
        let mut report = Flushed::default();
        let mut after = 0;
        loop {
            let now = chrono::Utc::now();
            let lease = self.lease(now);
            let Some(q) = self
                .store
                .write(|tx| tx.lease_next(after, due, now, &lease))?
            else {
                break;
            };
            after = q.id;
            match self.send_one(&q, &lease) {
                Ok(()) => report.sent.push(q.id),
                Err(e) => report.failed.push((q.id, e)),
            }
        }
        report.waiting = self.store.read(|tx| tx.queued_mail())?;
        Ok(report)
    }

    // --- reading ---------------------------------------------------------

    /// Ticket `id`, or the one it was merged into.
    pub fn ticket(&mut self, id: i64) -> Result<Ticket> {
        self.store.read(|tx| {
            let mut t = resolve(tx, id)?.ok_or(Refusal::NoTicket(id))?;
            t.merged = tx.merged(t.id)?;
            Ok(t)
        })
    }

    /// Ticket `id` (or the one it was merged into) with its history and the
    /// mail it caused; message bytes with `with_raw`.
    pub fn thread(&mut self, id: i64, with_raw: bool) -> Result<Thread> {
        self.store.read(|tx| {
            let mut ticket = resolve(tx, id)?.ok_or(Refusal::NoTicket(id))?;
            ticket.merged = tx.merged(ticket.id)?;
            Ok(Thread {
                history: tx.history(ticket.id, with_raw)?,
                mail: tx.ticket_mail(ticket.id)?,
                ticket,
            })
        })
    }

    pub fn list(&mut self, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
        self.store.read(|tx| tx.list(filter, with_watchers))
    }

    pub fn search(
        &mut self,
        words: &[String],
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Hit>> {
        self.store.read(|tx| tx.search(words, statuses, limit))
    }

    pub fn bounces(&mut self) -> Result<Vec<Bounce>> {
        self.store.read(|tx| tx.bounces())
    }

    /// The messages of ticket `id` (or the one it was merged into), bytes
    /// as received, in date order.
    pub fn messages(&mut self, id: i64) -> Result<(Ticket, Vec<RawMessage>)> {
        self.store
            .read(|tx| {
                let ticket = resolve(tx, id)?.ok_or(Refusal::NoTicket(id))?;
                Ok((tx.raw_messages(ticket.id)?, ticket))
            })
            .map(|(m, t)| (t, m))
    }

    pub fn stats(&mut self, now: Time) -> Result<Stats> {
        let staff: Vec<String> = self
            .config
            .staff
            .admins
            .iter()
            .chain(&self.config.staff.members)
            .cloned()
            .collect();
        let since = now - chrono::Duration::days(7);
        let (counts, replies) = self
            .store
            .read(|tx| Ok((tx.counts(since)?, tx.first_staff_replies(&staff)?)))?;
        let mut waits: Vec<i64> = replies
            .iter()
            .map(|(opened, replied)| (*replied - *opened).num_seconds().max(0))
            .collect();
        waits.sort_unstable();
        Ok(Stats {
            by_queue_status: counts.by_queue_status,
            new_this_week: counts.new_since,
            answered: waits.len(),
            median_first_reply_secs: (!waits.is_empty()).then(|| waits[(waits.len() - 1) / 2]),
        })
    }

    /// The board (SPEC §6): every ticket that is not resolved, and the 50
    /// most recently resolved, in `queue` or all queues; with the seq of the
    /// last change they include, read in the same snapshot.
    pub fn board(&mut self, queue: Option<&str>) -> Result<(i64, Vec<Listed>)> {
        self.store.read(|tx| {
            let (seq, _) = tx.change_window()?;
            let mut cards = tx.list(
                &Filter {
                    statuses: vec![Status::New, Status::Open, Status::Stalled],
                    queue: queue.map(String::from),
                    ..Filter::default()
                },
                false,
            )?;
            cards.extend(tx.list(
                &Filter {
                    statuses: vec![Status::Resolved],
                    queue: queue.map(String::from),
                    limit: Some(RESOLVED_ON_THE_BOARD),
                    recently_updated: true,
                    ..Filter::default()
                },
                false,
            )?);
            Ok((seq, cards))
        })
    }

    /// The change feed: (the latest seq, the oldest it still holds).
    pub fn change_window(&mut self) -> Result<(i64, i64)> {
        self.store.read(|tx| tx.change_window())
    }

    /// The changes after seq `after`, at most `limit` of them, as the cards
    /// of the tickets they touched: each ticket once, at its latest seq, in
    /// seq order (several changes to one ticket arrive as one). Also the
    /// last seq read (`after` when there was none): where the next call
    /// starts.
    pub fn changes(&mut self, after: i64, limit: usize) -> Result<(i64, Vec<(i64, Listed)>)> {
        self.store.read(|tx| {
            let changes = tx.changes_since(after, limit)?;
            let last = changes.last().map_or(after, |c| c.seq);
            let mut latest: Vec<(i64, i64)> = Vec::new();
            for c in changes.iter().rev() {
                if !latest.iter().any(|(_, t)| *t == c.ticket) {
                    latest.push((c.seq, c.ticket));
                }
            }
            latest.reverse();
            let ids: Vec<i64> = latest.iter().map(|(_, t)| *t).collect();
            let cards = tx.listed(&ids)?;
            let coalesced = latest
                .into_iter()
                .filter_map(|(seq, id)| {
                    cards
                        .iter()
                        .find(|l| l.ticket.id == id)
                        .map(|l| (seq, l.clone()))
                })
                .collect();
            Ok((last, coalesced))
        })
    }

    // --- signing in (SPEC §6) ---------------------------------------------

    /// Sets a member of staff's web password.
    pub fn set_password(&mut self, address: &str, password: &str, now: Time) -> Result<()> {
        let address = address.trim().to_ascii_lowercase();
        self.require_staff(&address)?;
        if password.chars().count() < signin::MIN_PASSWORD {
            return Err(Refusal::BadInput(format!(
                "a password has at least {} characters",
                signin::MIN_PASSWORD
            ))
            .into());
        }
        let hash = signin::hash_password(password)?;
        self.store.write(|tx| tx.set_password(&address, &hash, now))
    }

    /// Signs a member of staff in: the new session's secret, for the
    /// browser's cookie, or None for a wrong address or password.
    pub fn sign_in(&mut self, address: &str, password: &str, now: Time) -> Result<Option<String>> {
        let address = address.trim().to_ascii_lowercase();
        let hash = if self.config.is_staff_address(&address) {
            self.store.read(|tx| tx.password(&address))?
        } else {
            None
        };
        // The same work for an unknown address as for a wrong password.
        let ok = signin::verify_password(password, hash.as_deref().unwrap_or(signin::decoy_hash()))
            && hash.is_some();
        if !ok {
            return Ok(None);
        }
        let secret = signin::new_secret("pds_");
        let credential = Credential {
            kind: CredentialKind::Session,
            secret_hash: signin::secret_hash(&secret),
            address,
            created: now,
            expires: Some(now + chrono::Duration::days(signin::SESSION_DAYS)),
        };
        self.store.write(|tx| tx.add_credential(&credential))?;
        Ok(Some(secret))
    }

    /// A new API token for a member of staff (shown once).
    pub fn new_token(&mut self, address: &str, now: Time) -> Result<String> {
        let address = address.trim().to_ascii_lowercase();
        self.require_staff(&address)?;
        let secret = signin::new_secret("pdt_");
        let credential = Credential {
            kind: CredentialKind::Token,
            secret_hash: signin::secret_hash(&secret),
            address,
            created: now,
            expires: None,
        };
        self.store.write(|tx| tx.add_credential(&credential))?;
        Ok(secret)
    }

    /// The member of staff a session or token secret belongs to, if it is
    /// valid and they are on staff still.
    pub fn signed_in(
        &mut self,
        kind: CredentialKind,
        secret: &str,
        now: Time,
    ) -> Result<Option<String>> {
        let hash = signin::secret_hash(secret);
        let who = self.store.read(|tx| tx.credential(kind, &hash, now))?;
        Ok(who.filter(|w| self.config.is_staff_address(w)))
    }

    /// Ends a session.
    pub fn sign_out(&mut self, secret: &str) -> Result<()> {
        let hash = signin::secret_hash(secret);
        self.store.write(|tx| tx.remove_credential(&hash))
    }

    /// The store's problems, for `pipedesk check`.
    pub fn check(&mut self) -> Result<Vec<String>> {
        self.store.read(|tx| tx.check())
    }
}

/// A status change by a person, by the rules of `close`, `reopen`, `stall`.
fn status_rule(
    tx: &mut dyn Tx,
    mail: &mut Mailer<'_>,
    t: &mut Ticket,
    status: Status,
    who: &str,
    now: Time,
) -> Result<()> {
    let refuse = |why: String| -> Result<()> { Err(Refusal::NotAllowed(why).into()) };
    match (t.status, status) {
        (from, to) if from == to => refuse(format!("ticket #{} is {to} already", t.id)),
        (_, Status::New) => refuse(format!(
            "ticket #{} cannot become new again: staff has seen it",
            t.id
        )),
        (_, Status::Open | Status::Stalled) => change_status(tx, t, status, who, now).map(drop),
        (_, Status::Resolved) => {
            change_status(tx, t, Status::Resolved, who, now)?;
            mail.queue(tx, Event::Resolved, t, &Cause::by(who), false, now)
        }
    }
}

/// An address a person typed, made fit to be a watcher.
fn watcher_address(address: &str, config: &Config) -> Result<String> {
    let address = address.trim().to_ascii_lowercase();
    if address.parse::<lettre::Address>().is_err() {
        return Err(Refusal::BadInput(format!("{address:?} is not a mail address")).into());
    }
    if crate::address::is_ours(&address, config) {
        return Err(Refusal::BadInput(format!(
            "{address} is one of our own addresses: it cannot watch a ticket"
        ))
        .into());
    }
    Ok(address)
}

/// The import's handle on its transaction: one message at a time, each
/// dated by its own `now`, no mail.
pub struct Batch<'a> {
    tx: &'a mut dyn Tx,
    config: &'a Config,
    texts: &'a mut Option<Texts>,
    lease: &'a Lease,
}

impl Batch<'_> {
    /// `Desk::deliver` for one message of the batch, without mail.
    pub fn ingest(&mut self, msg: &Incoming<'_>, now: Time) -> Result<Outcome> {
        let mut mail = Mailer::new(self.config, self.texts, self.lease, true);
        deliver::ingest(self.tx, self.config, msg, now, &mut mail, None)
    }
}
