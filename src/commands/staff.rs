//! `pipedesk close`, `reopen`, `stall`, `take`, `assign`, `spam`: one change
//! each to a ticket's status, owner or queue, by the desk's rules, written
//! in its history, with the mail it causes (a resolved ticket tells its
//! requestor, unless `--quiet` or in the queue `spam`).

use std::sync::Arc;

use anyhow::Result;

use crate::address::Address;
use crate::cli::{AssignArgs, CloseArgs, SpamArgs, StatusArgs, TakeArgs};
use crate::commands::{act, desk, warn_unsent};
use crate::config::Config;
use crate::desk::Changed;

/// Says what the change left, on stderr (stdout stays for `--json`-minded
/// scripts of other commands); the owner by name, as `list` shows them.
fn report(config: &Config, done: &str, changed: &Changed) -> Result<()> {
    warn_unsent(&changed.unsent);
    let t = &changed.ticket;
    let owner = crate::commands::list::owner_shown(config, t.owner.as_deref());
    eprintln!(
        "ticket #{} {done}: {}, owner {owner}{}",
        t.id,
        t.status,
        match changed.outbox.len() {
            0 => String::new(),
            n => format!(", {}", crate::term::count(n as u64, "mail", "mails")),
        }
    );
    Ok(())
}

pub fn close(config: &Arc<Config>, args: CloseArgs) -> Result<()> {
    let act = act(config, args.ticket.author.as_deref())?;
    let changed = desk(config)?.close(args.ticket.id, args.quiet, &act)?;
    report(config, "resolved", &changed)
}

pub fn spam(config: &Arc<Config>, args: SpamArgs) -> Result<()> {
    let act = act(config, args.ticket.author.as_deref())?;
    let changed = desk(config)?.spam(args.ticket.id, args.undo, &act)?;
    let done = if args.undo {
        "marked as not spam"
    } else {
        "marked as spam"
    };
    report(config, done, &changed)
}

pub fn reopen(config: &Arc<Config>, args: StatusArgs) -> Result<()> {
    let changed = desk(config)?.reopen(args.id, &act(config, args.author.as_deref())?)?;
    report(config, "reopened", &changed)
}

pub fn stall(config: &Arc<Config>, args: StatusArgs) -> Result<()> {
    let changed = desk(config)?.stall(args.id, &act(config, args.author.as_deref())?)?;
    report(config, "stalled", &changed)
}

pub fn take(config: &Arc<Config>, args: TakeArgs) -> Result<()> {
    let changed = desk(config)?.take(args.id, &act(config, Some(&args.author))?)?;
    report(config, "taken", &changed)
}

pub fn assign(config: &Arc<Config>, args: AssignArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let changed = desk(config)?.assign(args.id, Some(&Address::new(&args.owner)), &act)?;
    report(config, "assigned", &changed)
}
