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

impl Desk {
    /// Stores `msg` where it routes (SPEC §3), queues the mail it causes,
    /// commits, then sends. With `no_mail` nothing is queued.
    pub fn deliver(&mut self, msg: &Incoming<'_>, no_mail: bool, now: Time) -> Result<Outcome> {
        self.deliver_at_version(msg, no_mail, now, None)
    }

    /// `deliver`, refused as stale when the ticket it lands on is no longer
    /// at `if_version`.
    pub(super) fn deliver_at_version(
        &mut self,
        msg: &Incoming<'_>,
        no_mail: bool,
        now: Time,
        if_version: Option<i64>,
    ) -> Result<Outcome> {
        let (mut outcome, lease) =
            self.ingesting(msg, now, Keep::Commit, no_mail, if_version, |_, o, _| Ok(o))?;
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
        self.ingesting(msg, now, Keep::RollBack, false, None, read)
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
        if_version: Option<i64>,
        mut then: impl FnMut(&mut dyn Tx, Outcome, &Lease) -> Result<T>,
    ) -> Result<(T, Lease)> {
        let lease = self.lease(now);
        let Desk {
            store,
            config,
            texts,
            ..
        } = self;
        let mut run = |tx: &mut dyn Tx| {
            let mut mail = Mailer::new(config, texts, &lease, no_mail);
            let mut outcome = ingest(tx, config, msg, now, &mut mail, if_version)?;
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
        let lease = self.lease(now);
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
        ingest(self.tx, self.config, msg, now, &mut mail, None)
    }
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
        let staff = config.is_staff_address(&address)
            && one_author
            && (msg.local || route::authenticated(&address, facts, config));
        Sender {
            name: mailbox.and_then(|m| m.name.clone()),
            staff,
            bounce: route::is_bounce(msg.envelope_sender, facts),
            auto: route::is_automatic(facts),
            address,
        }
    }
}

/// Where a message lands once the database has been asked.
enum Landing {
    New {
        queue: String,
    },
    Existing(Ticket, Kind),
    /// A bounce that routed nowhere: kept without a ticket.
    Nowhere,
}

/// Stores `msg` and queues its mail. `if_version`: the message is a
/// person's answer to ticket version V (the web's reply form), refused as
/// stale, before anything is written, if the ticket moved on.
pub(super) fn ingest(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
    now: Time,
    mail: &mut Mailer<'_>,
    if_version: Option<i64>,
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
        Landing::New { queue } => open(tx, config, msg, &sender, queue, now, mail),
        Landing::Existing(ticket, _) if if_version.is_some_and(|v| v != ticket.version) => {
            Err(Error::Stale(Box::new(ticket)).into())
        }
        Landing::Existing(ticket, kind) => add(tx, config, msg, &sender, ticket, kind, now, mail),
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
fn open(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
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
    if forward.is_none() {
        // The Cc of a forward are the staff member's, not the customer's.
        for cc in &facts.cc {
            if !address::is_ours(&cc.address, config) && !watchers.contains(&cc.address) {
                watchers.push(cc.address.clone());
            }
        }
    }
    let mut ticket = Ticket::opened(&queue, &header_safe(&subject), &requestor, to_second(now));
    ticket.id = tx.create_ticket(&ticket.queue, &ticket.subject, &requestor, &watchers, now)?;
    ticket.watchers = watchers;
    let id = ticket.id;
    let mid = store_as(tx, msg, &requestor, &subject, body, Some(id), now)?;
    let mut entries = vec![NewEntry::new(HistoryKind::Create, &requestor)
        .message(mid)
        .auto(sender.auto)];
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
    Ok(Outcome::new(Action::Create, Some(id)))
}

/// A message on an existing ticket: correspondence, a comment, a close.
#[allow(clippy::too_many_arguments)]
fn add(
    tx: &mut dyn Tx,
    config: &Config,
    msg: &Incoming<'_>,
    sender: &Sender,
    mut ticket: Ticket,
    kind: Kind,
    now: Time,
    mail: &mut Mailer<'_>,
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
        && (sender.staff || author.eq_ignore_ascii_case(&ticket.requestor))
    {
        for cc in &facts.cc {
            if !address::is_ours(&cc.address, config) && tx.add_watcher(ticket.id, &cc.address)? {
                tx.add_history(
                    ticket.id,
                    &NewEntry::new(HistoryKind::Watcher, author).change(None, Some(&cc.address)),
                    now,
                )?;
                ticket.watchers.push(cc.address.clone());
            }
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
    if kind == Kind::Close {
        if route::may_close(
            config.policy.close_from,
            author,
            &ticket.requestor,
            sender.staff,
        ) {
            change_status(tx, &mut ticket, Status::Resolved, author, now)?;
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
    if ticket.status.reopens_on_mail() {
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
