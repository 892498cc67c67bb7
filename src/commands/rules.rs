//! `pipedesk rules test|explain` and `pipedesk tick` (SPEC §8): what the
//! desk's rules would do before they do it, what they did after, and the
//! clock that fires the SLA and idle events.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::{RulesArgs, RulesCommand, RulesExplainArgs, RulesTestArgs, TickArgs};
use crate::config::Config;
use crate::desk::rules::Fired;
use crate::exit::Fail;
use crate::intake;
use crate::model::Time;

pub fn run(config: &Arc<Config>, args: RulesArgs) -> Result<()> {
    match args.what {
        RulesCommand::Test(a) => test(config, a),
        RulesCommand::Explain(a) => explain(config, a),
    }
}

/// `--at`, else now.
fn at(given: Option<&str>) -> Result<Time> {
    match given {
        Some(t) => crate::zone::parse_instant(t).map_err(|e| Fail::Usage(e).into()),
        None => Ok(crate::commands::now()),
    }
}

fn test(config: &Arc<Config>, args: RulesTestArgs) -> Result<()> {
    use super::deliver::{envelope, fail, read_message};
    let now = at(args.at.as_deref())?;
    let max = config.policy.max_message_bytes;
    let data = read_message(Some(&args.file), max)?;
    let message = intake::take(&data, max).map_err(fail)?;
    let envelope = envelope(args.recipient, None);
    let recipient = message.recipient(&envelope, config).map_err(fail)?;
    let msg = message.incoming(recipient, message.envelope_sender(&envelope));
    // On this desk's tickets where it has a database; else on an empty one.
    let mut desk = crate::commands::rehearsal_desk(config.clone())?;
    let outcome = desk.rehearse(&msg, now)?;
    if args.json {
        return crate::term::json(&crate::view::FiredView::of(&outcome.fired, false));
    }
    let ticket = outcome.ticket.map(|t| format!(" #{t}")).unwrap_or_default();
    let mut text = format!(
        "delivering it would: {}{ticket}, {}\n",
        outcome.action.as_str(),
        crate::term::count(
            outcome.outbox.len() as u64,
            "mail or hook",
            "mails and hooks"
        )
    );
    text.push_str(&fired_lines(
        config,
        &outcome.fired,
        "no rule would fire",
        false,
    ));
    crate::term::out(&text)
}

fn explain(config: &Arc<Config>, args: RulesExplainArgs) -> Result<()> {
    let fired = super::desk(config)?.rules_fired(args.id)?;
    if args.json {
        return crate::term::json(&crate::view::FiredView::of(&fired, true));
    }
    let none = format!("no rule fired on ticket #{}", args.id);
    crate::term::out(&fired_lines(config, &fired, &none, true))
}

pub fn tick(config: &Arc<Config>, args: TickArgs) -> Result<()> {
    let now = at(args.at.as_deref())?;
    let mut desk = super::desk(config)?;
    let fired = desk.tick(now, args.dry_run)?;
    crate::commands::warn_unsent(&fired.unsent);
    if args.json {
        return crate::term::json(&crate::view::FiredView::of(&fired.fired, false));
    }
    if fired.fired.is_empty() && !args.dry_run {
        // cron mails what a job prints: nothing to say, say nothing.
        return Ok(());
    }
    let none = "nothing would fire";
    let head = if args.dry_run { "dry run: " } else { "" };
    let lines = fired_lines(config, &fired.fired, none, false);
    crate::term::out(&format!("{head}{lines}"))
}

/// One line per rule that fired.
fn fired_lines(config: &Config, fired: &[Fired], none: &str, with_time: bool) -> String {
    if fired.is_empty() {
        return format!("{none}\n");
    }
    let mut s = String::new();
    for f in fired {
        let when = if with_time {
            format!("{}  ", crate::term::human_date(f.at, &config.site.timezone))
        } else {
            String::new()
        };
        s.push_str(&format!(
            "{when}{} on {} of #{}: {}\n",
            f.rule, f.event, f.ticket, f.why
        ));
    }
    s
}
