//! `pipedesk flush`: send the outgoing mail still queued (a failed send, or
//! a delivery that died before sending), now, as `postqueue -f` does;
//! `--due` sends only what is past its back-off, for cron. Then it says
//! what still waits, and why. Each mail is leased first, so flushes and
//! deliveries running at once never send one mail twice.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::FlushArgs;
use crate::config::Config;
use crate::exit::Fail;
use crate::model::MailRecord;
use crate::store::Due;
use crate::term::{count, human_date, one_line};
use crate::view::FlushedView;

pub fn run(config: &Arc<Config>, args: FlushArgs) -> Result<()> {
    let due = if args.due { Due::Due } else { Due::All };
    let flushed = crate::commands::desk(config)?.flush(due, chrono::Utc::now())?;
    if args.json {
        crate::term::json(&FlushedView::of(&flushed))?;
    } else if !(flushed.sent.is_empty() && flushed.failed.is_empty() && flushed.waiting.is_empty())
    {
        // Nothing to send, nothing to say: cron mails only when something
        // happened or still waits (SPEC §5).
        report(&flushed, &config.site.timezone);
    }
    if !flushed.failed.is_empty() {
        return Err(Fail::TryAgain(format!(
            "{} not sent; queued for the next flush",
            count(flushed.failed.len() as u64, "mail", "mails")
        ))
        .into());
    }
    Ok(())
}

/// What was sent, what failed, what still waits and why, on stderr.
fn report(flushed: &crate::desk::Flushed, zone: &crate::zone::Zone) {
    for (id, why) in &flushed.failed {
        eprintln!(
            "pipedesk: mail {id} not sent: {}",
            one_line(&why.to_string())
        );
    }
    let mut out = format!(
        "sent {}, {} failed\n",
        count(flushed.sent.len() as u64, "mail", "mails"),
        flushed.failed.len()
    );
    if !flushed.waiting.is_empty() {
        out += &format!(
            "{} still queued:\n",
            count(flushed.waiting.len() as u64, "mail", "mails")
        );
        let now = chrono::Utc::now();
        for m in &flushed.waiting {
            out += &format!("  {}\n", waiting(m, now, zone));
        }
    }
    eprint!("{out}");
}

/// One waiting mail and why it waits.
fn waiting(m: &MailRecord, now: crate::model::Time, zone: &crate::zone::Zone) -> String {
    let what = format!(
        "mail {} ({} to {}{})",
        m.id,
        m.kind.describe(),
        one_line(&m.recipients.join(", ")),
        m.ticket
            .map(|t| format!(", ticket #{t}"))
            .unwrap_or_default()
    );
    let why = match (m.leased_until, &m.last_error) {
        (Some(until), _) if until > now => format!(
            "being sent by another process (held until {})",
            human_date(until, zone)
        ),
        (_, Some(e)) => format!(
            "{} failed, last: {}; next try after {} (back-off)",
            count(m.attempts as u64, "try", "tries"),
            one_line(e),
            human_date(m.next_attempt, zone)
        ),
        _ if m.next_attempt > now => format!("not due until {}", human_date(m.next_attempt, zone)),
        _ => "queued after this flush began".to_string(),
    };
    format!("{what}: {why}")
}
