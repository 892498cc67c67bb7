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
use crate::model::{MailKind, MailRecord};
use crate::store::Due;
use crate::term::{count, human_date, one_line};
use crate::view::{mail_what, FlushedView};

pub fn run(config: &Arc<Config>, args: FlushArgs) -> Result<()> {
    let due = if args.due { Due::Due } else { Due::All };
    let flushed = crate::commands::desk(config)?.flush(due, crate::commands::now())?;
    if args.json {
        crate::term::json(&FlushedView::of(&flushed))?;
    } else if !(flushed.sent.is_empty() && flushed.failed.is_empty() && flushed.waiting.is_empty())
    {
        // Nothing to send, nothing to say: cron mails only when something
        // happened or still waits (SPEC §5).
        report(&flushed, config);
    }
    if !flushed.failed.is_empty() {
        let hooks = flushed
            .failed
            .iter()
            .filter(|(id, _)| flushed.hooks.contains(id))
            .count();
        let mails = flushed.failed.len() - hooks;
        let what = match (mails, hooks) {
            (_, 0) => format!("{} not sent", count(mails as u64, "mail", "mails")),
            (0, _) => format!("{} not run", count(hooks as u64, "hook", "hooks")),
            _ => format!(
                "{} not sent and {} not run",
                count(mails as u64, "mail", "mails"),
                count(hooks as u64, "hook", "hooks")
            ),
        };
        return Err(Fail::TryAgain(format!("{what}; queued for the next flush")).into());
    }
    Ok(())
}

/// "2 mails", "1 hook", "2 mails and 1 hook": how many of the outbox's
/// records are mail and how many a rule's hooks (a count of mail alone
/// where there are no hooks).
pub fn mails_and_hooks(mails: usize, hooks: usize) -> String {
    let m = count(mails as u64, "mail", "mails");
    match (mails, hooks) {
        (_, 0) => m,
        (0, _) => count(hooks as u64, "hook", "hooks"),
        _ => format!("{m} and {}", count(hooks as u64, "hook", "hooks")),
    }
}

/// What was sent, what failed, what still waits and why, on stderr.
fn report(flushed: &crate::desk::Flushed, config: &Config) {
    let is_hook = |id: &i64| flushed.hooks.contains(id);
    for (id, why) in &flushed.failed {
        let why = one_line(&why.to_string());
        match flushed.waiting.iter().find(|m| m.id == *id) {
            Some(m) if is_hook(id) => eprintln!("pipedesk: {} not run: {why}", named(m, config)),
            _ => eprintln!("pipedesk: mail {id} not sent: {why}"),
        }
    }
    let hooks_ran = flushed.sent.iter().filter(|id| is_hook(id)).count();
    let waiting_hooks = flushed
        .waiting
        .iter()
        .filter(|m| m.kind == MailKind::Hook)
        .count();
    let mut out = format!(
        "sent {}, ",
        count((flushed.sent.len() - hooks_ran) as u64, "mail", "mails")
    );
    // Hooks are named only where there are some, so that a desk without
    // rules reads as it always did.
    if !flushed.hooks.is_empty() || waiting_hooks > 0 {
        out += &format!("ran {}, ", count(hooks_ran as u64, "hook", "hooks"));
    }
    out += &format!("{} failed\n", flushed.failed.len());
    if !flushed.waiting.is_empty() {
        out += &format!(
            "{} still queued:\n",
            mails_and_hooks(flushed.waiting.len() - waiting_hooks, waiting_hooks)
        );
        let now = crate::commands::now();
        for m in &flushed.waiting {
            out += &format!("  {}\n", waiting(m, now, config));
        }
    }
    eprint!("{out}");
}

/// A mail or hook by its number and what it is: "mail 3 (reply to john@…,
/// ticket #1)", "hook 4 (webhook of rule chat (hooks.example.com), ticket
/// #1)".
pub fn named(m: &MailRecord, config: &Config) -> String {
    let word = if m.kind == MailKind::Hook {
        "hook"
    } else {
        "mail"
    };
    format!(
        "{word} {} ({}{})",
        m.id,
        one_line(&mail_what(m, config)),
        m.ticket
            .map(|t| format!(", ticket #{t}"))
            .unwrap_or_default()
    )
}

/// One waiting mail or hook and why it waits.
fn waiting(m: &MailRecord, now: crate::model::Time, config: &Config) -> String {
    let zone = &config.site.timezone;
    let what = named(m, config);
    let sent = if m.kind == MailKind::Hook {
        "run"
    } else {
        "sent"
    };
    let why = match (m.leased_until, &m.last_error) {
        (Some(until), _) if until > now => format!(
            "being {sent} by another process (held until {})",
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
