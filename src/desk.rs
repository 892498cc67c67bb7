//! The help desk's operations, shared by every way in: a delivered message,
//! a staff command, an import. Each runs inside the caller's transaction,
//! applies one change to a ticket and queues the mail the change causes, so
//! that the change and its mail commit together or not at all.

use anyhow::Result;
use rusqlite::Connection;
use serde::Serialize;

use crate::config::{Config, Transport, UnknownTicket};
use crate::exit::Fail;
use crate::inbound::Facts;
use crate::outbound::render::{render, Cause};
use crate::outbound::templates::Texts;
use crate::outbound::{autoreply_refusal, plan, Event};
use crate::route::{self, Kind, Recipient, Target};
use crate::store::{self, Entry, NewMessage, Status, Ticket};

/// A message on its way in.
pub struct Incoming<'a> {
    /// The bytes as received (without an mbox `From ` line).
    pub raw: &'a [u8],
    pub facts: &'a Facts,
    /// The envelope recipient, or the address found in the headers.
    pub recipient: &'a str,
    /// The envelope sender: `Some("")` for the null sender of a bounce.
    pub envelope_sender: Option<&'a str>,
    /// Written by a person at this machine (`pipedesk reply`): staff
    /// membership needs no Authentication-Results.
    pub local: bool,
}

/// What `deliver --json` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub action: &'static str,
    pub ticket: Option<i64>,
    pub reopened: bool,
    pub mail_queued: usize,
    /// The outbox rows this change wrote, to send after the commit.
    #[serde(skip)]
    pub outbox: Vec<i64>,
}

/// Queues the mail of a change: renders it (loading the templates only when
/// there is mail) and writes it to the outbox in the caller's transaction.
pub struct Mailer<'c> {
    config: &'c Config,
    texts: Option<Texts>,
    /// `--no-mail`: store, but queue nothing.
    pub off: bool,
    pub queued: Vec<i64>,
}

impl<'c> Mailer<'c> {
    pub fn new(config: &'c Config, off: bool) -> Mailer<'c> {
        Mailer {
            config,
            texts: None,
            off,
            queued: Vec::new(),
        }
    }

    /// Queues what `event` on `ticket`, caused by `cause`, sends.
    pub fn queue(
        &mut self,
        conn: &Connection,
        event: Event,
        ticket: &Ticket,
        cause: &Cause<'_>,
        autoreply: bool,
        now: &str,
    ) -> Result<()> {
        if self.off {
            return Ok(());
        }
        let planned = plan(event, ticket, cause.author, autoreply, self.config);
        if planned.is_empty() {
            return Ok(());
        }
        if self.texts.is_none() {
            self.texts = Some(Texts::load(self.config)?);
        }
        let Some(texts) = &self.texts else {
            return Ok(());
        };
        let dropped = self.config.mail.transport == Transport::None;
        for p in &planned {
            let mail = render(p, ticket, cause, self.config, texts)?;
            self.queued.push(store::enqueue(conn, &mail, now, dropped)?);
        }
        Ok(())
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

/// Stores `msg` where it routes and queues the mail it causes. The caller
/// owns the transaction; on error nothing it wrote may be committed.
pub fn ingest(
    conn: &Connection,
    config: &Config,
    msg: &Incoming<'_>,
    mailer: &mut Mailer<'_>,
) -> Result<Outcome> {
    let facts = msg.facts;
    if let Some(ticket) = store::stored(conn, &facts.key)? {
        return Ok(Outcome {
            action: "duplicate",
            ticket,
            reopened: false,
            mail_queued: 0,
            outbox: vec![],
        });
    }
    let now = store::now();
    let bounce = route::is_bounce(msg.envelope_sender, facts);
    let recipient = route::classify(msg.recipient, config);
    let tag = route::find_tag(&facts.subject, config.tag_pattern());
    let landing = match route::target(&recipient, tag) {
        Target::Unknown if bounce => Landing::Nowhere,
        Target::Unknown => {
            let why = if recipient == Recipient::NotOurs {
                "not at our domains"
            } else {
                "no such address here"
            };
            return Err(Fail::NoSuch(format!(
                "unknown address {} ({why})",
                crate::outbound::render::header_safe(msg.recipient)
            ))
            .into());
        }
        Target::New { queue, .. } => match store::ticket_for_message_ids(conn, &facts.parents())? {
            Some(id) => match store::ticket(conn, id)? {
                Some(t) => Landing::Existing(t, Kind::Correspond),
                None => Landing::New { queue },
            },
            None if bounce => Landing::Nowhere,
            None => Landing::New { queue },
        },
        Target::Ticket(id, kind) => match store::ticket(conn, id)? {
            Some(t) => Landing::Existing(t, kind),
            None if bounce => Landing::Nowhere,
            None if config.policy.unknown_ticket == UnknownTicket::Create => Landing::New {
                queue: "general".into(),
            },
            None => return Err(Fail::NoSuch(format!("no ticket #{id}")).into()),
        },
    };

    let author_box = facts.author();
    let author = author_box
        .map(|m| m.address.clone())
        .or_else(|| {
            msg.envelope_sender
                .filter(|s| s.contains('@'))
                .map(|s| s.trim_matches(['<', '>']).to_ascii_lowercase())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let author_name = author_box.and_then(|m| m.name.as_deref());
    let is_staff = config.is_staff_address(&author)
        && (msg.local || route::authenticated(&author, facts, config));
    let stored = |ticket_id: Option<i64>| {
        store::insert_message(
            conn,
            &NewMessage {
                key: &facts.key,
                message_id: facts.message_id.as_deref(),
                ticket_id,
                envelope_sender: msg.envelope_sender,
                recipient: Some(msg.recipient),
                author: &author,
                subject: &facts.subject,
                body: &facts.body,
                raw: msg.raw,
                now: &now,
            },
        )
    };
    let cause = Cause {
        author: &author,
        author_name,
        message_id: facts.message_id.as_deref(),
        references: &facts.references,
        subject: &facts.subject,
        body: &facts.body,
        raw: Some(msg.raw),
    };
    let mut outcome = Outcome {
        action: "bounce",
        ticket: None,
        reopened: false,
        mail_queued: 0,
        outbox: vec![],
    };

    match landing {
        Landing::Nowhere => {
            stored(None)?;
        }
        Landing::New { queue } => {
            let queue = if facts.is_spam {
                "spam".to_string()
            } else {
                queue
            };
            let mut watchers = vec![author.clone()];
            watchers.extend(
                facts
                    .cc
                    .iter()
                    .map(|m| m.address.clone())
                    .filter(|a| !route::is_ours(a, config)),
            );
            watchers.dedup();
            let subject = crate::outbound::render::header_safe(&facts.subject);
            let id = store::create_ticket(conn, &queue, &subject, &author, &watchers, &now)?;
            let mid = stored(Some(id))?;
            store::add_history(
                conn,
                id,
                &now,
                &Entry {
                    kind: "create",
                    author: &author,
                    message: Some(mid),
                    ..Entry::default()
                },
            )?;
            let ticket =
                store::ticket(conn, id)?.ok_or_else(|| anyhow::anyhow!("ticket #{id} vanished"))?;
            if !facts.is_spam {
                let autoreply = autoreply_refusal(facts, false, config).is_none()
                    && within_rate_limit(conn, config, &ticket.requestor)?;
                mailer.queue(conn, Event::Created, &ticket, &cause, autoreply, &now)?;
            }
            outcome.action = "create";
            outcome.ticket = Some(id);
        }
        Landing::Existing(mut ticket, kind) => {
            let mid = stored(Some(ticket.id))?;
            outcome.ticket = Some(ticket.id);
            if bounce {
                // Bounces are kept as comments and change nothing else: no
                // reopening, no mail (no backscatter, no loops).
                store::add_history(
                    conn,
                    ticket.id,
                    &now,
                    &Entry {
                        kind: "comment",
                        author: &author,
                        message: Some(mid),
                        ..Entry::default()
                    },
                )?;
            } else {
                let comment = kind == Kind::Comment && is_staff;
                let entry_kind = if comment { "comment" } else { "correspond" };
                store::add_history(
                    conn,
                    ticket.id,
                    &now,
                    &Entry {
                        kind: entry_kind,
                        author: &author,
                        message: Some(mid),
                        ..Entry::default()
                    },
                )?;
                let closing = kind == Kind::Close;
                let may_close = closing
                    && route::may_close(
                        config.policy.close_from,
                        &author,
                        &ticket.requestor,
                        is_staff,
                    );
                if closing && !may_close {
                    let note = format!(
                        "close refused: {author} may not close this ticket (policy.close_from)"
                    );
                    store::add_history(
                        conn,
                        ticket.id,
                        &now,
                        &Entry {
                            kind: "note",
                            author: &author,
                            note: Some(&note),
                            ..Entry::default()
                        },
                    )?;
                }
                if may_close {
                    store::set_status(conn, &mut ticket, Status::Resolved, &author, &now)?;
                    let cause = Cause {
                        body: if is_staff { cause.body } else { "" },
                        ..cause
                    };
                    mailer.queue(conn, Event::Resolved, &ticket, &cause, false, &now)?;
                    outcome.action = "close";
                } else {
                    if ticket.status == Status::Resolved {
                        store::set_status(conn, &mut ticket, Status::Open, &author, &now)?;
                        outcome.reopened = true;
                    } else if ticket.status == Status::New && is_staff {
                        store::set_status(conn, &mut ticket, Status::Open, &author, &now)?;
                    }
                    let event = if comment {
                        Event::Comment
                    } else {
                        Event::Correspond {
                            from_staff: is_staff,
                        }
                    };
                    mailer.queue(conn, event, &ticket, &cause, false, &now)?;
                    outcome.action = if comment { "comment" } else { "correspond" };
                }
            }
        }
    }
    outcome.outbox = std::mem::take(&mut mailer.queued);
    outcome.mail_queued = outcome.outbox.len();
    Ok(outcome)
}

/// `autoreply.per_sender_per_day`, counted from the outbox.
fn within_rate_limit(conn: &Connection, config: &Config, addr: &str) -> Result<bool> {
    let since = store::timestamp(chrono::Utc::now() - chrono::Duration::hours(24));
    Ok(store::autoreplies_since(conn, addr, &since)? < config.autoreply.per_sender_per_day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound;

    fn config() -> Config {
        Config::parse(
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n\
             [staff]\nadmins = [\"stef@example.org\"]\n[mail]\ntransport = \"none\"\n",
        )
        .unwrap()
    }

    fn deliver(conn: &Connection, raw: &str, rcpt: &str, sender: &str) -> Result<Outcome> {
        let facts = inbound::parse(raw.as_bytes());
        let msg = Incoming {
            raw: raw.as_bytes(),
            facts: &facts,
            recipient: rcpt,
            envelope_sender: Some(sender),
            local: false,
        };
        let c = config();
        ingest(conn, &c, &msg, &mut Mailer::new(&c, false))
    }

    #[test]
    fn new_then_reply_then_close_then_reopen() {
        let conn = store::open_in_memory().unwrap();
        let o = deliver(
            &conn,
            "From: john@example.com\nMessage-ID: <1@x>\nSubject: Printer\n\nbroken\n",
            "submit@help.example.org",
            "john@example.com",
        )
        .unwrap();
        assert_eq!((o.action, o.ticket, o.mail_queued), ("create", Some(1), 2));
        let o = deliver(
            &conn,
            "From: john@example.com\nMessage-ID: <2@x>\nSubject: done\n\nthanks\n",
            "ticket-1-done@help.example.org",
            "john@example.com",
        )
        .unwrap();
        assert_eq!(o.action, "close");
        let o = deliver(
            &conn,
            "From: john@example.com\nMessage-ID: <3@x>\nSubject: Re: [myisp #1] Printer\n\nagain\n",
            "submit@help.example.org",
            "john@example.com",
        )
        .unwrap();
        assert_eq!(
            (o.action, o.ticket, o.reopened),
            ("correspond", Some(1), true)
        );
        let o = deliver(
            &conn,
            "From: john@example.com\nMessage-ID: <3@x>\nSubject: Re: [myisp #1] Printer\n\nagain\n",
            "ticket-1@help.example.org",
            "john@example.com",
        )
        .unwrap();
        assert_eq!((o.action, o.ticket), ("duplicate", Some(1)));
    }

    #[test]
    fn unknown_ticket_and_address_are_nosuch() {
        let conn = store::open_in_memory().unwrap();
        let err = deliver(
            &conn,
            "From: a@b.c\n\nx",
            "ticket-9@help.example.org",
            "a@b.c",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "no ticket #9");
        let err =
            deliver(&conn, "From: a@b.c\n\nx", "sales@help.example.org", "a@b.c").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown address sales@help.example.org"),
            "{err}"
        );
    }

    #[test]
    fn bounces_never_open_tickets() {
        let conn = store::open_in_memory().unwrap();
        let o = deliver(
            &conn,
            "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered\n\nx",
            "submit@help.example.org",
            "",
        )
        .unwrap();
        assert_eq!((o.action, o.ticket, o.mail_queued), ("bounce", None, 0));
        assert_eq!(store::bounces(&conn).unwrap().len(), 1);
        assert!(store::ticket(&conn, 1).unwrap().is_none());
    }
}
