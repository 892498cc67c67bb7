//! One message into the desk (SPEC §3): already stored? where does it land
//! (a new ticket, an existing one, nowhere for an unroutable bounce)? what
//! does it change there (reopen, close, watchers) and which mail does that
//! cause? Runs inside the caller's transaction; on error nothing it wrote
//! may be committed, and every refusal comes before the first write.

use anyhow::Result;

use super::change::change_status;
use super::mailer::Mailer;
use super::{resolve, Desk, Error, SendError};
use crate::address::{self, Address, Kind, Recipient};
use crate::config::{CcWatchers, Config, UnknownTicket, GENERAL_QUEUE, SPAM_QUEUE};
use crate::forward::Forward;
use crate::inbound::Facts;
use crate::model::*;
use crate::outbound::render::{header_safe, Cause};
use crate::outbound::templates::Texts;
use crate::outbound::Event;
use crate::route::{self, Target};
use crate::store::{Lease, Tx};

/// A message on its way in.
pub struct Incoming<'a> {
    /// The bytes as received (without an mbox `From ` line).
    pub raw: &'a [u8],
    pub facts: &'a Facts,
    /// The envelope recipient, or the address found in the headers.
    pub recipient: &'a str,
    /// The envelope sender: `Some("")` for the null sender of a bounce.
    pub envelope_sender: Option<&'a str>,
    /// Written by a person at this machine or signed in on the web
    /// (`pipedesk reply`): staff membership needs no Authentication-Results.
    pub local: bool,
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
    pub unsent: Vec<(i64, SendError)>,
    /// The rules that fired (SPEC §8).
    pub fired: Vec<super::rules::Fired>,
}

impl Outcome {
    fn new(action: Action, ticket: Option<i64>) -> Outcome {
        Outcome {
            action,
            ticket,
            reopened: false,
            outbox: Vec::new(),
            unsent: Vec::new(),
            fired: Vec::new(),
        }
    }
}

impl Desk {
    /// Stores `msg` where it routes (SPEC §3), queues the mail it causes,
    /// commits, then sends. With `no_mail` nothing is queued.
    pub fn deliver(&mut self, msg: &Incoming<'_>, no_mail: bool, now: Time) -> Result<Outcome> {
        self.deliver_as_asked(msg, no_mail, now, Asked::default())
    }

    /// `deliver` of a message a person wrote at the desk, with what they
    /// asked of it besides (`Asked`).
    pub(super) fn deliver_as_asked(
        &mut self,
        msg: &Incoming<'_>,
        no_mail: bool,
        now: Time,
        asked: Asked,
    ) -> Result<Outcome> {
        let (mut outcome, lease) =
            self.ingesting(msg, now, Keep::Commit, no_mail, asked, |_, o, _| Ok(o))?;
        outcome.unsent = self.send(&outcome.outbox, &lease, now);
        Ok(outcome)
    }

    /// What `deliver` would do, in a transaction that is rolled back.
    pub fn rehearse(&mut self, msg: &Incoming<'_>, now: Time) -> Result<Outcome> {
        self.rehearsal(msg, now, None).map(|r| r.outcome)
    }

    /// `rehearse`, reading back what the delivery wrote before it is rolled
    /// back (the message under its key, the mail it queued, and with
    /// `check` the store's invariants): what property tests and the fuzzer
    /// check a delivery did, without keeping it.
    pub fn rehearse_and_read(
        &mut self,
        msg: &Incoming<'_>,
        now: Time,
        check: bool,
    ) -> Result<Rehearsal> {
        self.rehearsal(msg, now, Some(check))
    }

    fn rehearsal(
        &mut self,
        msg: &Incoming<'_>,
        now: Time,
        read_back: Option<bool>,
    ) -> Result<Rehearsal> {
        let read = |tx: &mut dyn Tx, outcome: Outcome, lease: &Lease| {
            let mut r = Rehearsal {
                stored: None,
                kinds: Vec::new(),
                queued: Vec::new(),
                problems: None,
                outcome,
            };
            if let Some(check) = read_back {
                r.stored = tx.message_by_key(&msg.facts.key)?;
                r.queued = tx.leased(&r.outcome.outbox, lease)?;
                if let Some(t) = r.outcome.ticket {
                    r.kinds = tx
                        .ticket_mail(t)?
                        .into_iter()
                        .filter(|m| r.outcome.outbox.contains(&m.id))
                        .map(|m| m.kind)
                        .collect();
                }
                if check {
                    r.problems = Some(tx.check()?);
                }
            }
            Ok(r)
        };
        self.ingesting(msg, now, Keep::RollBack, false, Asked::default(), read)
            .map(|(r, _)| r)
    }

    /// `msg` into the desk in one transaction, committed or rolled back,
    /// with `then` run in it on what the delivery did; also the lease
    /// that holds the mail it queued.
    fn ingesting<T>(
        &mut self,
        msg: &Incoming<'_>,
        now: Time,
        keep: Keep,
        no_mail: bool,
        asked: Asked,
        mut then: impl FnMut(&mut dyn Tx, Outcome, &Lease) -> Result<T>,
    ) -> Result<(T, Lease)> {
        let (lease, store, config, texts) = self.for_a_change(now);
        // Before the write lock: a message may name a million addresses.
        let cc = CcList::of(msg.facts, config);
        let mut run = |tx: &mut dyn Tx| {
            let mut mail = Mailer::new(config, texts, &lease, no_mail);
            let mut outcome = ingest(tx, config, msg, &cc, now, &mut mail, asked)?;
            super::rules::follow(tx, config, &mut mail, asked.via, now, &mut outcome.fired)?;
            outcome.outbox = mail.queued;
            then(tx, outcome, &lease)
        };
        let made = match keep {
            Keep::Commit => store.write(&mut run)?,
            Keep::RollBack => store.rehearse(&mut run)?,
        };
        Ok((made, lease))
    }

    /// The message stored under `key` (its Message-ID, or its hash), if
    /// any: how tests and tools check what was stored, byte for byte.
    pub fn message_by_key(&mut self, key: &str) -> Result<Option<RawMessage>> {
        self.store.read(|tx| tx.message_by_key(key))
    }

    /// Many messages in one transaction, for `import`: `f` gets a handle
    /// that stores one message at a time, dated by its own clock, queuing no
    /// mail. `f` may run again from the start (see `Store::write_dyn`).
    /// `now` is the import's own time (it dates nothing it stores).
    pub fn batch<T>(
        &mut self,
        now: Time,
        mut f: impl FnMut(&mut Batch<'_>) -> Result<T>,
    ) -> Result<T> {
        let (lease, store, config, texts) = self.for_a_change(now);
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
    /// Puts ticket `id`, opened by this import, in `status`, written in its
    /// history by `who`; no mail, as for everything an import does.
    pub fn settle(&mut self, id: i64, status: Status, who: &str, now: Time) -> Result<()> {
        if let Some(mut t) = self.tx.ticket(id)? {
            change_status(self.tx, &mut t, status, who, now)?;
        }
        Ok(())
    }

    /// `Desk::deliver` for one message of the batch, without mail.
    pub fn ingest(&mut self, msg: &Incoming<'_>, now: Time) -> Result<Outcome> {
        let mut mail = Mailer::new(self.config, self.texts, self.lease, true);
        let cc = CcList::of(msg.facts, self.config);
        let outcome = ingest(
            self.tx,
            self.config,
            msg,
            &cc,
            now,
            &mut mail,
            Asked::default(),
        );
        // An import runs no rules (SPEC §8: they are for what happens now);
        // what it wrote is not kept for them.
        self.tx.written();
        outcome
    }
}

/// What a member of staff who wrote a message at the desk (`Desk::answer`)
/// asks of it besides its delivery.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Asked {
    /// The ticket version they answered: refused as stale, before anything
    /// is written, if the ticket moved on (the web's `If-Match`).
    pub if_version: Option<i64>,
    /// The status the ticket is left in by the same change (reply and
    /// resolve, or stall).
    pub status: Option<Status>,
    /// How it came in, for the rules (`if.via`): mail, unless a person at
    /// the desk wrote it.
    pub via: crate::rules::Via,
}

/// Whether a delivery's transaction is kept (`deliver`) or rolled back
/// (`rehearse`).
#[derive(Debug, Clone, Copy)]
enum Keep {
    Commit,
    RollBack,
}

/// What a rehearsed delivery did and wrote, read back before the rollback.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    pub outcome: Outcome,
    /// The message as stored under its key.
    pub stored: Option<RawMessage>,
    /// The mail it queued, as it would be sent.
    pub queued: Vec<QueuedMail>,
    /// The kinds of that mail, in outbox order.
    pub kinds: Vec<MailKind>,
    /// The store's problems (`pipedesk check`), when asked for.
    pub problems: Option<Vec<String>>,
}

/// Who sent a message, and what kind of message it is.
struct Sender {
    address: Address,
    name: Option<String>,
    staff: bool,
    /// A staff address whose mail does not count as staff (SPEC §3,
    /// `policy.staff_mail`): its author hears why.
    unproven_staff: bool,
    bounce: bool,
    auto: bool,
}

impl Sender {
    fn of(msg: &Incoming<'_>, config: &Config) -> Sender {
        let facts = msg.facts;
        let mailbox = facts.author();
        let address = mailbox
            .map(|m| Address::new(&m.address))
            .or_else(|| {
                msg.envelope_sender
                    .filter(|s| s.contains('@'))
                    .map(Address::new)
            })
            .unwrap_or_else(|| Address::new("unknown"));
        // Two From: mailboxes are two authors: a DMARC pass speaks for one
        // of them, and the other may be anyone's (SPEC §3).
        let one_author = facts.from_all.len() <= 1;
        let staff_address = config.is_staff_address(&address);
        let staff = staff_address
            && one_author
            && (msg.local || route::authenticated(&address, facts, config));
        Sender {
            name: mailbox.and_then(|m| m.name.clone()),
            staff,
            unproven_staff: staff_address && !staff,
            bounce: route::is_bounce(msg.envelope_sender, facts),
            auto: route::is_automatic(facts),
            address,
        }
    }
}

/// Whether a ticket watched by `watchers` (its requestor among them) may
/// have one more under `policy.max_watchers` (SPEC §2): the one limit, on
/// Cc made watchers here and on `watch` by hand.
pub(super) fn room_for_a_watcher(watchers: &[String], config: &Config) -> bool {
    watchers.len() < config.policy.max_watchers
}

/// The Cc addresses that may become watchers (SPEC §1, §3): not ours,
/// each once, in the order written. Read before the transaction, in one
/// pass: a message may name a million, and under the write lock only the
/// first `policy.max_watchers` or so are looked at.
pub(super) struct CcList<'a> {
    distinct: Vec<&'a str>,
    set: std::collections::HashSet<&'a str>,
}

impl<'a> CcList<'a> {
    pub(super) fn of(facts: &'a Facts, config: &Config) -> CcList<'a> {
        let mut set = std::collections::HashSet::new();
        let mut distinct = Vec::new();
        // inbound lower-cases every address it reads: equal is the same.
        for cc in &facts.cc {
            let a = cc.address.as_str();
            if !set.contains(a) && !address::is_ours(a, config) {
                set.insert(a);
                distinct.push(a);
            }
        }
        CcList { distinct, set }
    }

    /// Adds to `watchers` the Cc addresses that are not yet among them,
    /// while there is room; returns those added and how many were left
    /// out. Looks at no more than `max_watchers` + `watchers.len()`
    /// addresses.
    fn fill(&self, watchers: &mut Vec<String>, config: &Config) -> (Vec<String>, usize) {
        let known = |w: &[String], a: &str| w.iter().any(|x| x == a);
        let already = watchers
            .iter()
            .filter(|w| self.set.contains(w.as_str()))
            .count();
        let mut added = Vec::new();
        for a in &self.distinct {
            if !room_for_a_watcher(watchers, config) {
                break;
            }
            if !known(watchers, a) {
                watchers.push(a.to_string());
                added.push(a.to_string());
            }
        }
        let left_out = self.distinct.len() - already - added.len();
        (added, left_out)
    }
}

/// The history's word on Cc addresses not made watchers.
fn left_out_note(left_out: usize, max: usize) -> String {
    format!("{left_out} Cc addresses were not added as watchers (policy.max_watchers = {max})")
}

/// Mail from a staff address that did not count as staff (SPEC §3): its
/// author — the staff member, or whoever wrote in their name — gets one
/// notice a day at most saying why. Never for automatic mail or a bounce.
fn tell_unproven_staff(
    tx: &mut dyn Tx,
    sender: &Sender,
    ticket: &Ticket,
    cause: &Cause<'_>,
    now: Time,
    mail: &mut Mailer<'_>,
) -> Result<()> {
    if !sender.unproven_staff || sender.bounce || sender.auto {
        return Ok(());
    }
    let since = now - chrono::Duration::hours(24);
    if tx.mails_since(MailKind::NotStaff, &sender.address, since)? > 0 {
        return Ok(());
    }
    mail.queue(tx, Event::NotStaff, ticket, cause, false, now)
}

/// Where a message lands once the database has been asked. One lives for
/// a moment per delivery, on the stack: boxing the ticket would only add
/// an allocation to `deliver`'s path.
#[allow(clippy::large_enum_variant)]
enum Landing {
    New {
        queue: String,
    },
    Existing(Ticket, Kind),
    /// A bounce that routed nowhere: kept without a ticket.
    Nowhere,
}

/// Stores `msg` and queues its mail, with what its writer `asked` of it.
pub(super) fn ingest(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
    cc: &CcList<'_>,
    now: Time,
    mail: &mut Mailer<'_>,
    asked: Asked,
) -> Result<Outcome> {
    let facts = msg.facts;
    if let Some(ticket) = tx.stored(&facts.key)? {
        let ticket = match ticket {
            Some(id) => Some(resolve(tx, id)?.map_or(id, |t| t.id)),
            None => None,
        };
        return Ok(Outcome::new(Action::Duplicate, ticket));
    }
    let sender = Sender::of(msg, config);
    match landing(tx, config, msg, &sender)? {
        Landing::Nowhere => {
            store(tx, msg, &sender.address, None, now)?;
            Ok(Outcome::new(Action::Bounce, None))
        }
        Landing::New { queue } => open(tx, config, msg, cc, &sender, queue, now, mail),
        Landing::Existing(ticket, _) if asked.if_version.is_some_and(|v| v != ticket.version) => {
            Err(Error::Stale(Box::new(ticket)).into())
        }
        Landing::Existing(ticket, kind) => add(
            tx,
            config,
            msg,
            cc,
            &sender,
            ticket,
            kind,
            now,
            mail,
            asked.status,
        ),
    }
}

fn landing(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
    sender: &Sender,
) -> Result<Landing> {
    let recipient = address::classify(msg.recipient, config);
    let tag = config.tag().find(&msg.facts.subject);
    Ok(match route::target(&recipient, tag) {
        Target::Unknown if sender.bounce => Landing::Nowhere,
        Target::Unknown => {
            let why = if recipient == Recipient::NotOurs {
                "not at our domains"
            } else {
                "no such address here"
            };
            return Err(Error::NoAddress(format!(
                "unknown address {} ({why})",
                header_safe(msg.recipient)
            ))
            .into());
        }
        Target::New { queue } => match tx.ticket_for_message_ids(&msg.facts.parents())? {
            Some(id) => match resolve(tx, id)? {
                Some(t) => Landing::Existing(t, Kind::Correspond),
                None => Landing::New { queue },
            },
            None if sender.bounce => Landing::Nowhere,
            None => Landing::New { queue },
        },
        Target::Ticket(id, kind) => match resolve(tx, id)? {
            Some(t) => Landing::Existing(t, kind),
            None if sender.bounce => Landing::Nowhere,
            None if config.policy.unknown_ticket == UnknownTicket::Create => Landing::New {
                queue: GENERAL_QUEUE.into(),
            },
            None => return Err(Error::NoTicket(id).into()),
        },
    })
}

/// Stores the message itself, as received; returns its id.
fn store(
    tx: &mut dyn Tx,
    msg: &Incoming<'_>,
    author: &str,
    ticket: Option<i64>,
    now: Time,
) -> Result<i64> {
    store_as(
        tx,
        msg,
        author,
        &msg.facts.subject,
        &msg.facts.body,
        ticket,
        now,
    )
}

fn store_as(
    tx: &mut dyn Tx,
    msg: &Incoming<'_>,
    author: &str,
    subject: &str,
    body: &str,
    ticket: Option<i64>,
    now: Time,
) -> Result<i64> {
    let facts = msg.facts;
    tx.insert_message(&NewMessage {
        key: &facts.key,
        message_id: facts.message_id.as_deref(),
        ticket_id: ticket,
        envelope_sender: msg.envelope_sender,
        recipient: Some(msg.recipient),
        author,
        subject,
        body,
        raw: msg.raw,
        received: now,
    })
}

/// A new ticket. From staff, a customer's forwarded mail opens it for the
/// customer (SPEC §3 "Forwarded by staff").
#[allow(clippy::too_many_arguments)]
fn open(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
    cc: &CcList<'_>,
    sender: &Sender,
    queue: String,
    now: Time,
    mail: &mut Mailer<'_>,
) -> Result<Outcome> {
    let facts = msg.facts;
    let forward = if sender.staff {
        crate::forward::find(msg.raw, facts)
            .filter(|f| !address::is_ours(&f.author.address, config))
    } else {
        None
    };
    let (requestor, name, subject, body) = match &forward {
        Some(Forward {
            author,
            subject,
            body,
            ..
        }) => {
            let subject = if subject.is_empty() {
                crate::tag::without_forward_prefix(&facts.subject)
            } else {
                subject.clone()
            };
            (
                author.address.clone(),
                author.name.clone(),
                subject,
                body.as_str(),
            )
        }
        None => (
            sender.address.to_string(),
            sender.name.clone(),
            facts.subject.clone(),
            facts.body.as_str(),
        ),
    };
    // Flagged by the MTA's filter, or from a sender staff marked as spam:
    // the queue `spam`, where no mail is sent (SPEC §3 "Spam").
    let queue = if facts.is_spam || tx.is_spam_sender(&Address::new(&requestor))? {
        SPAM_QUEUE.into()
    } else {
        queue
    };
    let mut watchers = vec![requestor.clone()];
    let max = config.policy.max_watchers;
    // The Cc of a forward are the staff member's, not the customer's.
    let (_, left_out) = match forward {
        None => cc.fill(&mut watchers, config),
        Some(_) => (Vec::new(), 0),
    };
    let mut ticket = Ticket::opened(&queue, &header_safe(&subject), &requestor, to_second(now));
    ticket.id = tx.create_ticket(&ticket.queue, &ticket.subject, &requestor, &watchers, now)?;
    ticket.watchers = watchers;
    let id = ticket.id;
    let mid = store_as(tx, msg, &requestor, &subject, body, Some(id), now)?;
    let note = left_out_note(left_out, max);
    let mut entries = vec![NewEntry::new(HistoryKind::Create, &requestor)
        .message(mid)
        .auto(sender.auto)];
    if left_out > 0 {
        entries.push(NewEntry::new(HistoryKind::Note, &requestor).note(&note));
    }
    if let Some(f) = forward.as_ref().filter(|f| !f.note.is_empty()) {
        entries.push(NewEntry::new(HistoryKind::Comment, &sender.address).note(&f.note));
    }
    for entry in &entries {
        tx.add_history(id, entry, now)?;
        // Each entry is a version (`Tickets::add_history`).
        ticket.version += 1;
    }
    // The ticket as it was just written, not read back: a new process
    // prepares every statement it runs, and the read of a ticket and its
    // watchers cost each new request 130,000 instructions (BENCHMARKS.md).
    // Debug builds (the tests, on both stores) check it against the store.
    #[cfg(debug_assertions)]
    {
        let stored = tx.ticket(id)?;
        debug_assert_eq!(stored.as_ref(), Some(&ticket), "a new ticket as written");
    }
    // A ticket in `spam` causes no mail at all, no backscatter: the mailer
    // queues none (SPEC §4).
    let autoreply = mail.autoreply_allowed(tx, facts, &ticket.requestor, now)?;
    let cause = Cause {
        author: &requestor,
        author_name: name.as_deref(),
        message_id: facts.message_id.as_deref(),
        references: &facts.references,
        subject: &subject,
        body,
        raw: Some(msg.raw),
        forwarded_by: forward.as_ref().map(|_| sender.address.as_str()),
    };
    mail.queue(tx, Event::Created, &ticket, &cause, autoreply, now)?;
    if forward.is_none() {
        tell_unproven_staff(tx, sender, &ticket, &cause, now, mail)?;
    }
    Ok(Outcome::new(Action::Create, Some(id)))
}

/// A message on an existing ticket: correspondence, a comment, a close.
#[allow(clippy::too_many_arguments)]
fn add(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
    cc: &CcList<'_>,
    sender: &Sender,
    mut ticket: Ticket,
    kind: Kind,
    now: Time,
    mail: &mut Mailer<'_>,
    status: Option<Status>,
) -> Result<Outcome> {
    let facts = msg.facts;
    let author = sender.address.as_str();
    let mid = store(tx, msg, author, Some(ticket.id), now)?;
    let mut outcome = Outcome::new(Action::Correspond, Some(ticket.id));
    if sender.bounce {
        // Bounces are kept as comments and change nothing else: no
        // reopening, no mail (no backscatter, no loops).
        tx.add_history(
            ticket.id,
            &NewEntry::new(HistoryKind::Comment, author).message(mid),
            now,
        )?;
        outcome.action = Action::Bounce;
        return Ok(outcome);
    }
    let comment = kind == Kind::Comment && sender.staff;
    let entry_kind = if comment {
        HistoryKind::Comment
    } else {
        HistoryKind::Correspond
    };
    if comment {
        outcome.action = Action::Comment;
    }
    tx.add_history(
        ticket.id,
        &NewEntry::new(entry_kind, author)
            .message(mid)
            .auto(sender.auto),
        now,
    )?;
    if sender.auto {
        // RFC 3834: automatic mail is kept, and that is all. An
        // out-of-office answer to our resolved notice must not reopen the
        // ticket and notify staff, who would notify the requestor, whose
        // autoresponder answers again.
        return Ok(outcome);
    }
    if config.policy.cc_watchers == CcWatchers::Always
        && (sender.staff || author == ticket.requestor)
    {
        let max = config.policy.max_watchers;
        let (added, left_out) = cc.fill(&mut ticket.watchers, config);
        for a in &added {
            if tx.add_watcher(ticket.id, a)? {
                tx.add_history(
                    ticket.id,
                    &NewEntry::new(HistoryKind::Watcher, author).change(None, Some(a)),
                    now,
                )?;
            }
        }
        if left_out > 0 {
            tx.add_history(
                ticket.id,
                &NewEntry::new(HistoryKind::Note, author).note(&left_out_note(left_out, max)),
                now,
            )?;
        }
    }
    let cause = Cause {
        author,
        author_name: sender.name.as_deref(),
        message_id: facts.message_id.as_deref(),
        references: &facts.references,
        subject: &facts.subject,
        body: &facts.body,
        raw: Some(msg.raw),
        forwarded_by: None,
    };
    tell_unproven_staff(tx, sender, &ticket, &cause, now, mail)?;
    if kind == Kind::Close {
        if route::may_close(
            config.policy.close_from,
            author,
            &ticket.requestor,
            sender.staff,
        ) {
            change_status(tx, &mut ticket, Status::Resolved, author, now)?;
            if !sender.staff {
                // Staff hear that the customer closed it, with their words
                // (SPEC §4: the owner, or the admins).
                mail.queue(tx, Event::RequestorClosed, &ticket, &cause, false, now)?;
            }
            // Only staff words go to the requestor with the notice.
            let cause = Cause {
                body: if sender.staff { cause.body } else { "" },
                ..cause
            };
            mail.queue(tx, Event::Resolved, &ticket, &cause, false, now)?;
            outcome.action = Action::Close;
            return Ok(outcome);
        }
        let note = format!("close refused: {author} may not close this ticket (policy.close_from)");
        tx.add_history(
            ticket.id,
            &NewEntry::new(HistoryKind::Note, author).note(&note),
            now,
        )?;
    }
    if let Some(status) = status.filter(|_| sender.staff) {
        // Reply and resolve (or stall), as one change: the ticket goes
        // straight where staff said, without reopening on the way, and the
        // requestor gets the reply alone. A separate resolved notice would
        // repeat it, as no help desk's "send and close" does.
        change_status(tx, &mut ticket, status, author, now)?;
    } else if ticket.status.reopens_on_mail() {
        change_status(tx, &mut ticket, Status::Open, author, now)?;
        outcome.reopened = true;
    } else if ticket.status == Status::New && sender.staff {
        change_status(tx, &mut ticket, Status::Open, author, now)?;
    }
    let event = if comment {
        Event::Comment
    } else {
        Event::Correspond {
            from_staff: sender.staff,
        }
    };
    mail.queue(tx, event, &ticket, &cause, false, now)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::Mailbox;

    fn facts(cc: &[&str]) -> Facts {
        Facts {
            cc: cc
                .iter()
                .map(|a| Mailbox {
                    name: None,
                    address: a.to_string(),
                })
                .collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn cc_watchers_stop_at_the_limit_and_count_the_rest_once() {
        let config =
            Config::parse("[site]\ndomains = [\"help.example.org\"]\n[policy]\nmax_watchers = 3\n")
                .unwrap();
        let f = facts(&[
            "a@x.example",
            "submit@help.example.org",
            "req@x.example",
            "a@x.example",
            "b@x.example",
            "c@x.example",
            "d@x.example",
        ]);
        let cc = CcList::of(&f, &config);
        let mut watchers = vec!["req@x.example".to_string()];
        let (added, left_out) = cc.fill(&mut watchers, &config);
        assert_eq!(added, ["a@x.example", "b@x.example"]);
        assert_eq!(watchers, ["req@x.example", "a@x.example", "b@x.example"]);
        // c and d: not ours, not the requestor, not already in, each once.
        assert_eq!(left_out, 2);
        // Full already: nothing more, all of them left out but those in.
        let (added, left_out) = cc.fill(&mut watchers, &config);
        assert!(added.is_empty());
        assert_eq!(left_out, 2);
    }
}
