//! `pipedesk deliver`: the hot path an MTA runs once per message (SPEC §3).
//! Read, parse, route, one transaction, then send. Opens nothing it does not
//! need, and never exits 0 unless the message is stored.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::TransactionBehavior;

use crate::cli::DeliverArgs;
use crate::config::Config;
use crate::desk::{ingest, Incoming, Mailer};
use crate::exit::Fail;
use crate::inbound::{self, Facts};
use crate::route::{self, Recipient};
use crate::store;

pub fn run(config_path: Option<&Path>, args: DeliverArgs) -> Result<()> {
    let config = Config::find(config_path)?;
    let max = config.policy.max_message_bytes;
    let data = read_message(args.file.as_deref(), max)?;
    if data.len() as u64 > max {
        return Err(Fail::Refused(format!(
            "message larger than policy.max_message_bytes ({max} bytes)"
        ))
        .into());
    }
    let raw = inbound::strip_from_line(&data);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Fail::Refused("empty message".into()).into());
    }
    let facts = inbound::parse(raw);
    let recipient = recipient(args.recipient, &facts, &config)?;
    let sender = args
        .sender
        .or_else(|| std::env::var("SENDER").ok())
        .or_else(|| facts.return_path.clone());
    let msg = Incoming {
        raw,
        facts: &facts,
        recipient: &recipient,
        envelope_sender: sender.as_deref(),
        local: false,
    };

    if args.dry_run {
        return dry_run(&config, &msg, args.json);
    }
    let mut conn = crate::commands::open(&config, &config.site.database)?;
    let mut mailer = Mailer::new(&config, args.no_mail);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .context("waiting for the database")?;
    let outcome = ingest(&tx, &config, &msg, &mut mailer)?;
    tx.commit().context("committing")?;

    // Stored: from here on nothing may turn into a non-zero exit, or the MTA
    // would deliver again (harmless, but a bounce for the sender).
    crate::commands::send_after_commit(&conn, &config, &outcome.outbox);
    if args.json {
        crate::commands::print_json(&outcome)?;
    }
    Ok(())
}

/// Reads at most `max + 1` bytes: enough to tell a message is too large
/// without holding a gigabyte in memory.
fn read_message(file: Option<&Path>, max: u64) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let limit = max.saturating_add(1);
    match file {
        Some(path) => std::fs::File::open(path)
            .with_context(|| format!("reading {}", path.display()))?
            .take(limit)
            .read_to_end(&mut data),
        None => {
            let mut stdin = std::io::stdin().lock();
            let read = (&mut stdin).take(limit).read_to_end(&mut data);
            if data.len() as u64 > max {
                // Read the rest before refusing it: an MTA still writing
                // into a closed pipe sees EPIPE instead of our exit 65 and
                // our line. The MTA's own size limit bounds this.
                let _ = std::io::copy(&mut stdin, &mut std::io::sink());
            }
            read
        }
    }
    .context("reading the message")?;
    Ok(data)
}

/// `--recipient`, else `$ORIGINAL_RECIPIENT`, else `$RECIPIENT`, else the
/// first of our addresses in Delivered-To, X-Original-To, To, Cc.
fn recipient(given: Option<String>, facts: &Facts, config: &Config) -> Result<String> {
    let from_env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(r) = given
        .or_else(|| from_env("ORIGINAL_RECIPIENT"))
        .or_else(|| from_env("RECIPIENT"))
    {
        return Ok(r);
    }
    let headers = facts
        .delivered_to
        .iter()
        .chain(&facts.x_original_to)
        .cloned()
        .chain(facts.to.iter().chain(&facts.cc).map(|m| m.address.clone()));
    for addr in headers {
        if !matches!(
            route::classify(&addr, config),
            Recipient::NotOurs | Recipient::Unknown
        ) {
            return Ok(addr);
        }
    }
    Err(Fail::Usage(
        "no recipient: give --recipient (none of our addresses is in the headers)".into(),
    )
    .into())
}

/// Routes inside a transaction that is rolled back: nothing changes, not
/// even a database file appears.
fn dry_run(config: &Config, msg: &Incoming<'_>, json: bool) -> Result<()> {
    let mut conn = if config.site.database.exists() {
        crate::commands::open(config, &config.site.database)?
    } else {
        store::open_in_memory()?
    };
    let tx = conn.transaction()?;
    let mut mailer = Mailer::new(config, false);
    let outcome = ingest(&tx, config, msg, &mut mailer)?;
    tx.rollback()?;
    if json {
        crate::commands::print_json(&outcome)?;
    } else {
        let ticket = outcome.ticket.map(|t| format!(" #{t}")).unwrap_or_default();
        println!(
            "dry run: {}{ticket}, {} mail",
            outcome.action, outcome.mail_queued
        );
    }
    Ok(())
}
