//! `pipedesk deliver`: the hot path an MTA runs once per message (SPEC §3).
//! Read, parse, route, one transaction, then send. Opens nothing it does not
//! need, and never exits 0 unless the message is stored.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::cli::DeliverArgs;
use crate::config::Config;
use crate::desk::{Desk, Incoming, Outcome};
use crate::exit::Fail;
use crate::intake::{self, Envelope, Refusal};
use crate::store::Open;
use crate::view::DeliveredView;

pub fn run(config_path: Option<&Path>, args: DeliverArgs) -> Result<()> {
    let config = Config::find(config_path)?;
    let max = config.policy.max_message_bytes;
    let data = read_message(args.file.as_deref(), max)?;
    let message = intake::take(&data, max).map_err(fail)?;
    let envelope = envelope(args.recipient, args.sender);
    let recipient = message.recipient(&envelope, &config).map_err(fail)?;
    let msg = message.incoming(recipient, message.envelope_sender(&envelope));

    let now = crate::commands::now();
    let config = Arc::new(config);
    if args.dry_run {
        return dry_run(config, &msg, now, args.json);
    }
    let mut desk = Desk::open(config, Open::Create)?;
    let outcome = desk.deliver(&msg, args.no_mail, now)?;
    // Stored: from here on nothing may turn into a non-zero exit, or the MTA
    // would deliver again (harmless, but a bounce for the sender).
    crate::commands::warn_unsent(&outcome.unsent);
    if args.json {
        crate::term::json(&DeliveredView::of(&outcome))?;
    }
    Ok(())
}

/// What a refusal means to the MTA (SPEC §3): the message's own fault is
/// 65 and bounces; no recipient is a bad command line, 64.
pub(crate) fn fail(refusal: Refusal) -> anyhow::Error {
    let line = refusal.to_string();
    match refusal {
        Refusal::TooLarge { .. } | Refusal::Empty => crate::desk::Error::Refused(line).into(),
        Refusal::NoRecipient => Fail::Usage(line).into(),
    }
}

/// The envelope as the MTA passes it (SPEC §3): the flags, else Postfix's
/// and Exim's variables.
pub(crate) fn envelope(recipient: Option<String>, sender: Option<String>) -> Envelope {
    let from_env = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    Envelope {
        recipient: recipient
            .or_else(|| from_env("ORIGINAL_RECIPIENT"))
            .or_else(|| from_env("RECIPIENT")),
        // Not filtered: an empty $SENDER is the null sender of a bounce.
        sender: sender.or_else(|| std::env::var("SENDER").ok()),
    }
}

/// Reads at most `max + 1` bytes: enough to tell a message is too large
/// (refused here, before anything else is said of it) without holding a
/// gigabyte in memory.
pub(crate) fn read_message(file: Option<&Path>, max: u64) -> Result<Vec<u8>> {
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
    intake::too_large(data.len(), max).map_err(fail)?;
    Ok(data)
}

/// Routes inside a transaction that is rolled back: nothing changes, not
/// even a database file appears.
fn dry_run(
    config: Arc<Config>,
    msg: &Incoming<'_>,
    now: crate::model::Time,
    json: bool,
) -> Result<()> {
    let mut desk = crate::commands::rehearsal_desk(config)?;
    let outcome: Outcome = desk.rehearse(msg, now)?;
    if json {
        return crate::term::json(&DeliveredView::of(&outcome));
    }
    let ticket = outcome.ticket.map(|t| format!(" #{t}")).unwrap_or_default();
    crate::term::out(&format!(
        "dry run: {}{ticket}, {}\n",
        outcome.action.as_str(),
        crate::term::count(outcome.outbox.len() as u64, "mail", "mails")
    ))
}
