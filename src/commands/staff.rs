//! The staff commands: `reply`, `comment`, `close`, `reopen`, `take`,
//! `assign`. A reply or comment becomes a real message on the ticket and goes
//! through the same path as mail (`desk::ingest`), so it is stored, searched,
//! exported and relayed exactly like one sent by mail.

use std::io::{IsTerminal, Read};

use anyhow::{anyhow, bail, Context, Result};
use lettre::message::{Mailbox, SinglePart};
use rusqlite::{Connection, TransactionBehavior};

use crate::cli::{AssignArgs, StatusArgs, TakeArgs, WriteArgs};
use crate::config::Config;
use crate::desk::{ingest, Incoming, Mailer};
use crate::inbound;
use crate::outbound::render::{new_message_id, tagged, Cause};
use crate::outbound::Event;
use crate::store::{self, Status, Ticket};

/// The staff member acting: `--as`, else the first admin.
fn author(config: &Config, given: Option<&str>) -> Result<String> {
    let who = match given {
        Some(a) => a.trim().to_ascii_lowercase(),
        None => config
            .staff
            .admins
            .first()
            .cloned()
            .ok_or_else(|| anyhow!("give --as ADDR (staff.admins is empty)"))?,
    };
    if !config.is_staff_address(&who) {
        bail!("{who} is not on staff (staff.admins, staff.members)");
    }
    Ok(who)
}

fn existing(conn: &Connection, id: i64) -> Result<Ticket> {
    store::ticket(conn, id)?.ok_or_else(|| anyhow!("no ticket #{id}"))
}

/// `reply` (to the requestor) and `comment` (staff only).
pub fn write(config: &Config, args: WriteArgs, comment: bool) -> Result<()> {
    let author = author(config, args.author.as_deref())?;
    let mut conn = crate::commands::open_existing(config)?;
    let ticket = existing(&conn, args.id)?;
    let body = read_body(comment)?;
    if body.trim().is_empty() {
        bail!("empty text: nothing was sent");
    }
    let suffix = if comment {
        config.addresses.comment_suffix.as_str()
    } else {
        ""
    };
    let to = config.ticket_address(ticket.id, suffix);
    let subject = tagged(&format!("Re: {}", ticket.subject), ticket.id, config);
    let raw = lettre::Message::builder()
        .from(Mailbox::new(
            None,
            author.parse().with_context(|| format!("--as {author}"))?,
        ))
        .to(Mailbox::new(
            None,
            to.parse().context("our ticket address")?,
        ))
        .subject(subject)
        .message_id(Some(format!(
            "<{}>",
            new_message_id(ticket.id, config.domain())
        )))
        .date_now()
        .singlepart(SinglePart::plain(body))?
        .formatted();
    let facts = inbound::parse(&raw);
    let msg = Incoming {
        raw: &raw,
        facts: &facts,
        recipient: &to,
        envelope_sender: Some(&author),
        local: true,
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = ingest(&tx, config, &msg, &mut Mailer::new(config, false))?;
    tx.commit()?;
    crate::commands::send_after_commit(&conn, config, &outcome.outbox);
    if args.json {
        return crate::commands::print_json(&outcome);
    }
    eprintln!(
        "{} on #{}: {} mail queued",
        outcome.action, ticket.id, outcome.mail_queued
    );
    Ok(())
}

/// The text of a reply: stdin, or $VISUAL/$EDITOR when stdin is a terminal.
fn read_body(comment: bool) -> Result<String> {
    let mut stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut body = String::new();
        stdin
            .read_to_string(&mut body)
            .context("reading the text from stdin")?;
        return Ok(body);
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let path = std::env::temp_dir().join(format!(
        "pipedesk-{}-{}.txt",
        if comment { "comment" } else { "reply" },
        std::process::id()
    ));
    std::fs::write(&path, "")?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .with_context(|| format!("running {editor}"))?;
    let body = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    if !status.success() {
        bail!("{editor} exited with {status}: nothing was sent");
    }
    Ok(body?)
}

/// Runs `change` on ticket `id` in one transaction, then sends its mail.
fn change(
    config: &Config,
    id: i64,
    change: impl FnOnce(&Connection, &mut Ticket, &mut Mailer<'_>, &str) -> Result<()>,
) -> Result<()> {
    let mut conn = crate::commands::open_existing(config)?;
    let mut mailer = Mailer::new(config, false);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ticket = existing(&tx, id)?;
    change(&tx, &mut ticket, &mut mailer, &store::now())?;
    tx.commit()?;
    crate::commands::send_after_commit(&conn, config, &mailer.queued);
    Ok(())
}

pub fn close(config: &Config, args: StatusArgs) -> Result<()> {
    let author = author(config, args.author.as_deref())?;
    change(config, args.id, |conn, t, mailer, now| {
        if !store::set_status(conn, t, Status::Resolved, &author, now)? {
            bail!("ticket #{} is already resolved", t.id);
        }
        let cause = Cause {
            author: &author,
            author_name: None,
            message_id: None,
            references: &[],
            subject: "",
            body: "",
            raw: None,
        };
        mailer.queue(conn, Event::Resolved, t, &cause, false, now)
    })
}

pub fn reopen(config: &Config, args: StatusArgs) -> Result<()> {
    let author = author(config, args.author.as_deref())?;
    change(config, args.id, |conn, t, _, now| {
        if t.status != Status::Resolved {
            bail!("ticket #{} is not resolved", t.id);
        }
        store::set_status(conn, t, Status::Open, &author, now).map(drop)
    })
}

pub fn take(config: &Config, args: TakeArgs) -> Result<()> {
    let author = author(config, Some(&args.author))?;
    change(config, args.id, |conn, t, _, now| {
        store::set_owner(conn, t, Some(&author), &author, now)?;
        if t.status == Status::New {
            store::set_status(conn, t, Status::Open, &author, now)?;
        }
        Ok(())
    })
}

pub fn assign(config: &Config, args: AssignArgs) -> Result<()> {
    let author = author(config, args.author.as_deref())?;
    let owner = args.owner.trim().to_ascii_lowercase();
    if !config.is_staff_address(&owner) {
        bail!("{owner} is not on staff (staff.admins, staff.members)");
    }
    change(config, args.id, |conn, t, _, now| {
        store::set_owner(conn, t, Some(&owner), &author, now).map(drop)
    })
}
