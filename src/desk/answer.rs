//! The staff's own words (SPEC §5 `reply`, `comment`, `create`, `canned`):
//! a reply or a comment with the files attached to it, and the status it
//! leaves the ticket in (reply and resolve as one change); a ticket opened
//! by staff for someone, its first message theirs; canned answers filled in
//! for a ticket. Each answer is stored as the message that was sent, so
//! that `export`, `attachments`, the thread page and the relayed mail read
//! the same bytes.

use anyhow::Result;

use super::change::{change_status, Changed};
use super::deliver::Asked;
use super::mailer::Mailer;
use super::{Act, Desk, Error, Incoming, Outcome};
use crate::address::{self, Address};
use crate::canned::{self, Canned, Fill, Person, StaffFill, TicketFill};
use crate::config::{Config, GENERAL_QUEUE};
use crate::model::*;
use crate::outbound::render::{self, header_safe, Cause};
use crate::outbound::Event;

/// A reply (to the requestor and watchers) or a comment (staff only).
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub body: &'a str,
    pub comment: bool,
    pub files: &'a [Upload],
    /// The status the reply leaves the ticket in, in the same change:
    /// `resolved` (reply and resolve) or `stalled`; `open` is what a reply
    /// does anyway.
    pub status: Option<Status>,
}

impl<'a> Answer<'a> {
    /// Text alone.
    pub fn text(body: &'a str, comment: bool) -> Answer<'a> {
        Answer {
            body,
            comment,
            files: &[],
            status: None,
        }
    }
}

/// A ticket a member of staff opens for someone (a phone call, a walk-in).
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub requestor: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// None: `general`.
    pub queue: Option<&'a str>,
    pub files: &'a [Upload],
    /// Mail the opening message to the requestor (`--no-mail`: not).
    pub mail: bool,
}

impl Desk {
    /// A staff answer, text alone: `answer` without files or status.
    pub fn write(&mut self, id: i64, body: &str, comment: bool, act: &Act) -> Result<Outcome> {
        self.answer(id, &Answer::text(body, comment), act)
    }

    /// A staff answer to the requestor (`comment`: staff only) with its
    /// files, stored as a real message on the ticket, so it is searched,
    /// exported and relayed exactly like one sent by mail; with `status`,
    /// the ticket is left resolved or stalled by the same change.
    pub fn answer(&mut self, id: i64, answer: &Answer<'_>, act: &Act) -> Result<Outcome> {
        self.require_staff(&act.who)?;
        words_or_files(answer.body, answer.files)?;
        let status = match answer.status {
            None | Some(Status::Open) => None,
            Some(_) if answer.comment => {
                return Err(Error::BadInput(
                    "a comment leaves the status as it is: reply to resolve or stall".into(),
                )
                .into())
            }
            Some(Status::New) => {
                return Err(Error::BadInput(
                    "a reply cannot make a ticket new again: resolve or stall it".into(),
                )
                .into())
            }
            Some(s) => Some(s),
        };
        let ticket = self.ticket(id)?;
        let config = &self.config;
        let suffix = if answer.comment {
            config.addresses.comment_suffix.as_str()
        } else {
            ""
        };
        let to = config.ticket_address(ticket.id, suffix);
        let raw = render::staff_message(
            config,
            &ticket,
            &to,
            &act.who,
            &format!("Re: {}", ticket.subject),
            answer.body,
            answer.files,
            act.now,
        )?;
        fits(config, &raw)?;
        let facts = crate::inbound::parse(&raw);
        let msg = Incoming {
            raw: &raw,
            facts: &facts,
            recipient: &to,
            envelope_sender: Some(&act.who),
            local: true,
        };
        let asked = Asked {
            if_version: act.if_version,
            status,
            via: act.via,
        };
        self.deliver_as_asked(&msg, false, act.now, asked)
    }

    /// A ticket opened by `act.who` for `opening.requestor` (SPEC §5
    /// `create`): its first message is theirs, correspondence from staff,
    /// mailed to the requestor as any staff reply is (SPEC §4) unless
    /// `opening.mail` is false; no autoreply, no new-ticket notice. Staff
    /// has acted on it, so it is open.
    pub fn create(&mut self, opening: &Opening<'_>, act: &Act) -> Result<Changed> {
        self.require_staff(&act.who)?;
        // "Maria Keller <maria@example.net>" as people paste it, or the
        // address alone.
        let given = opening.requestor.trim();
        let requestor = match given.parse::<lettre::message::Mailbox>() {
            Ok(m) if given.contains('<') => Address::parse(m.email.as_ref())?,
            _ => Address::parse(given)?,
        };
        if address::is_ours(&requestor, &self.config) {
            return Err(Error::BadInput(format!(
                "{requestor} is one of our own addresses: a ticket is opened for a person"
            ))
            .into());
        }
        let subject = header_safe(opening.subject.trim());
        if subject.is_empty() {
            return Err(Error::BadInput("give the ticket a subject".into()).into());
        }
        words_or_files(opening.body, opening.files)?;
        let queue = queue_named(&self.config, opening.queue)?;
        let who = act.who.as_str();
        let now = act.now;
        let (lease, store, config, texts) = self.for_a_change(now);
        let (ticket, outbox) = store.write(|tx| {
            let watchers = [requestor.to_string()];
            let id = tx.create_ticket(&queue, &subject, &requestor, &watchers, now)?;
            let mut t = tx
                .ticket(id)?
                .ok_or_else(|| anyhow::anyhow!("ticket #{id} vanished"))?;
            let to = config.ticket_address(id, "");
            let raw = render::staff_message(
                config,
                &t,
                &to,
                who,
                &subject,
                opening.body,
                opening.files,
                now,
            )?;
            fits(config, &raw)?;
            let facts = crate::inbound::parse(&raw);
            let mid = tx.insert_message(&NewMessage {
                key: &facts.key,
                message_id: facts.message_id.as_deref(),
                ticket_id: Some(id),
                envelope_sender: Some(who),
                recipient: Some(&to),
                author: who,
                subject: &facts.subject,
                body: &facts.body,
                raw: &raw,
                received: now,
            })?;
            tx.add_history(
                id,
                &NewEntry::new(HistoryKind::Create, who).message(mid),
                now,
            )?;
            change_status(tx, &mut t, Status::Open, who, now)?;
            let mut mail = Mailer::new(config, texts, &lease, !opening.mail);
            let cause = Cause {
                author: who,
                author_name: None,
                message_id: facts.message_id.as_deref(),
                references: &facts.references,
                subject: &facts.subject,
                body: &facts.body,
                raw: Some(&raw),
                forwarded_by: None,
            };
            mail.queue(
                tx,
                Event::Correspond { from_staff: true },
                &t,
                &cause,
                false,
                now,
            )?;
            let mut queued = mail.queued;
            // The rules' own mail and hooks go whether or not the opening
            // is mailed to the requestor.
            let mut rules_mail = Mailer::new(config, texts, &lease, false);
            super::rules::follow(tx, config, &mut rules_mail, act.via, now, &mut Vec::new())?;
            queued.append(&mut rules_mail.queued);
            let t = tx
                .ticket(id)?
                .ok_or_else(|| anyhow::anyhow!("ticket #{id} vanished"))?;
            Ok((t, queued))
        })?;
        let unsent = self.send(&outbox, &lease, now);
        Ok(Changed {
            ticket,
            outbox,
            unsent,
        })
    }

    /// The canned answers there are, by name.
    pub fn canned(&self) -> Result<Vec<Canned>> {
        canned::list(&self.config.canned.dir)
    }

    /// Canned answer `name` filled in for ticket `id`, written by `who`.
    pub fn canned_for(&mut self, id: i64, name: &str, who: &Address) -> Result<String> {
        let (ticket, messages) = self.messages(id)?;
        // The requestor as they name themselves: the From of their first
        // message on the ticket, else their address.
        let named = messages
            .iter()
            .find(|m| m.author == ticket.requestor)
            .and_then(|m| crate::inbound::parse(&m.raw).author().cloned())
            .and_then(|a| a.name)
            .filter(|n| !n.trim().is_empty());
        let fill = Fill {
            requestor: Person {
                name: named.as_deref().unwrap_or(&ticket.requestor),
                address: &ticket.requestor,
            },
            ticket: TicketFill {
                id: ticket.id,
                subject: &ticket.subject,
            },
            staff: StaffFill {
                name: staff_name(&self.config, who),
            },
        };
        canned::render(&self.config.canned.dir, name, &fill)
    }
}

/// How a member of staff is named in a canned answer: their name in the
/// config, else their address.
fn staff_name<'a>(config: &'a Config, who: &'a Address) -> &'a str {
    config.shown(who)
}

/// An answer says something: words, or at least a file.
fn words_or_files(body: &str, files: &[Upload]) -> Result<()> {
    if body.trim().is_empty() && files.is_empty() {
        return Err(Error::BadInput("empty text: nothing was sent".into()).into());
    }
    Ok(())
}

/// A message written at the desk is held to the limit of one that comes
/// by mail (`policy.max_message_bytes`, SPEC §3): what the desk would
/// refuse from the MTA it does not make itself.
fn fits(config: &Config, raw: &[u8]) -> Result<()> {
    let most = config.policy.max_message_bytes;
    if raw.len() as u64 > most {
        return Err(Error::BadInput(format!(
            "the message with its attachments would be {} bytes, over policy.max_message_bytes ({most})",
            raw.len()
        ))
        .into());
    }
    Ok(())
}

/// The queue called `name` (without regard to case), `general` for none;
/// one that does not exist is an error naming those that do.
fn queue_named(config: &Config, name: Option<&str>) -> Result<String> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(GENERAL_QUEUE.into());
    };
    match config.queue_named(name) {
        Some(q) => Ok(q.to_string()),
        None => Err(Error::unknown_queue(name, &config.queue_names()).into()),
    }
}
