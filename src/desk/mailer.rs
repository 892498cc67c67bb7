//! The mail of a change, queued in the change's own transaction (SPEC §4):
//! which mails the event causes (`outbound::plan`), rendered, written to the
//! outbox held by this process's lease so that it sends them right after
//! the commit and nobody else does meanwhile. It is also where the rule
//! of the spam queue is kept, once for every path (SPEC §4: no mail at all
//! about a ticket in `spam`, whoever acts on it).

use anyhow::Result;

use crate::config::{Config, Transport, SPAM_QUEUE};
use crate::inbound::Facts;
use crate::model::{MailState, Outgoing, Ticket, Time};
use crate::outbound::render::{render, Cause, Parent};
use crate::outbound::templates::Texts;
use crate::outbound::{autoreply_refusal, plan, to_requestor, Event};
use crate::store::{Lease, Tx};

pub(crate) struct Mailer<'a> {
    config: &'a Config,
    /// Loaded on the first mail, once per process.
    texts: &'a mut Option<Texts>,
    lease: &'a Lease,
    /// `--no-mail`: store, but queue nothing.
    off: bool,
    /// The outbox rows written, to send after the commit.
    pub queued: Vec<i64>,
}

impl<'a> Mailer<'a> {
    pub fn new(
        config: &'a Config,
        texts: &'a mut Option<Texts>,
        lease: &'a Lease,
        off: bool,
    ) -> Mailer<'a> {
        Mailer {
            config,
            texts,
            lease,
            off,
            queued: Vec::new(),
        }
    }

    /// Queues what `event` on `ticket`, caused by `cause`, sends. Its
    /// author (and whoever forwarded it) get no notice of their own doing;
    /// a ticket in the queue `spam` sends nothing (SPEC §4).
    pub fn queue(
        &mut self,
        tx: &mut dyn Tx,
        event: Event,
        ticket: &Ticket,
        cause: &Cause<'_>,
        autoreply: bool,
        now: Time,
    ) -> Result<()> {
        if self.off || in_spam(ticket) {
            return Ok(());
        }
        let opened_now = matches!(event, Event::Created);
        let authors: Vec<&str> = std::iter::once(cause.author)
            .chain(cause.forwarded_by)
            .collect();
        let planned = plan(event, ticket, &authors, autoreply, self.config);
        self.queue_planned(tx, &planned, ticket, cause, opened_now, now)
    }

    /// Renders and queues mails already planned (a rule's, SPEC §8, plans
    /// its own); `opened_now`: `cause` is the mail that opened the ticket.
    pub fn queue_planned(
        &mut self,
        tx: &mut dyn Tx,
        planned: &[crate::outbound::Planned],
        ticket: &Ticket,
        cause: &Cause<'_>,
        opened_now: bool,
        now: Time,
    ) -> Result<()> {
        if self.off || in_spam(ticket) || planned.is_empty() {
            return Ok(());
        }
        if self.texts.is_none() {
            *self.texts = Some(Texts::load(self.config)?);
        }
        let Some(texts) = self.texts.as_ref() else {
            return Ok(());
        };
        // With transport "none" nothing is ever sent, but the rows still
        // count for the autoreply rate limit and show what would have gone.
        let (state, lease) = match self.config.mail.transport {
            Transport::None => (MailState::Dropped, None),
            _ => (MailState::Queued, Some(self.lease)),
        };
        let caused_by = Parent::of(cause);
        let mut theirs: Option<Option<Parent>> = None;
        // Outlook threads by the Thread-Index of the mail that opened the
        // ticket: ours carry its header (SPEC §4).
        let opener = match cause.raw {
            // A new ticket's cause is the mail that opened it.
            Some(raw) if opened_now => crate::inbound::thread_index_of(raw),
            _ => tx
                .opening_head(ticket.id)?
                .and_then(|head| crate::inbound::thread_index_of(&head)),
        };
        for p in planned {
            let answers = if to_requestor(p.kind) {
                if theirs.is_none() {
                    theirs = Some(requestors_side(tx, ticket, cause)?);
                }
                theirs.as_ref().and_then(Option::as_ref)
            } else {
                caused_by.as_ref()
            };
            let mail = render(
                p,
                ticket,
                cause,
                answers,
                opener.as_ref(),
                self.config,
                texts,
                now,
            )?;
            self.queued.push(tx.enqueue(&mail, now, state, lease)?);
        }
        Ok(())
    }

    /// Queues a rule's program or webhook (SPEC §8): run after the commit
    /// as mail is sent, whatever the mail transport; nothing about a ticket
    /// in `spam`.
    pub fn queue_hook(&mut self, tx: &mut dyn Tx, hook: &Outgoing, now: Time) -> Result<()> {
        if self.off {
            return Ok(());
        }
        self.queued
            .push(tx.enqueue(hook, now, MailState::Queued, Some(self.lease))?);
        Ok(())
    }

    /// May the requestor of a new ticket opened by this message get an
    /// autoreply? RFC 3834's markers, then `autoreply.per_sender_per_day`.
    pub fn autoreply_allowed(
        &self,
        tx: &mut dyn Tx,
        facts: &Facts,
        requestor: &str,
        now: Time,
    ) -> Result<bool> {
        // With `--no-mail` nothing is queued: no need to count.
        if self.off || autoreply_refusal(facts, false, self.config).is_some() {
            return Ok(false);
        }
        let since = now - chrono::Duration::hours(24);
        Ok(tx.autoreplies_since(requestor, since)? < self.config.autoreply.per_sender_per_day)
    }
}

/// What mail to the requestor and watchers answers (SPEC §4, threading):
/// the requestor's last message on the ticket — the cause itself when they
/// wrote it, with no read — else the last mail we sent them on it. Never a
/// staff member's message, which the requestor has not seen.
fn requestors_side(tx: &mut dyn Tx, ticket: &Ticket, cause: &Cause<'_>) -> Result<Option<Parent>> {
    if cause.forwarded_by.is_none() && cause.author == ticket.requestor {
        if let Some(parent) = Parent::of(cause) {
            return Ok(Some(parent));
        }
    }
    Ok(tx
        .last_exchanged_with(ticket.id, &ticket.requestor)?
        .map(|(message_id, head)| Parent {
            message_id,
            references: crate::inbound::references_of(&head),
        }))
}

/// Is `ticket` in the queue `spam`, about which no mail is ever sent
/// (SPEC §1, §4)?
pub(crate) fn in_spam(ticket: &Ticket) -> bool {
    ticket.queue.eq_ignore_ascii_case(SPAM_QUEUE)
}
