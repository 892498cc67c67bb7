//! `pipedesk queue`, `edit`, `priority`, `due`: one change each to a
//! ticket's own fields, by the desk's rules, written in its history. They
//! send no mail; each says on stderr what the ticket holds now.

use std::sync::Arc;

use anyhow::Result;

use crate::address::Address;
use crate::cli::{DueArgs, EditArgs, PriorityArgs, QueueArgs};
use crate::commands::{act, desk};
use crate::config::Config;
use crate::desk::Changed;
use crate::model::Priority;
use crate::term::{human_date, one_line};

pub fn queue(config: &Arc<Config>, args: QueueArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let changed = desk(config)?.set_queue(args.id, &args.queue, &act)?;
    report(
        &changed,
        format!("queue {}", one_line(&changed.ticket.queue)),
    )
}

pub fn edit(config: &Arc<Config>, args: EditArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let requestor = args.requestor.as_deref().map(Address::new);
    let changed = desk(config)?.edit(args.id, args.subject.as_deref(), requestor.as_ref(), &act)?;
    let t = &changed.ticket;
    report(
        &changed,
        format!(
            "subject \"{}\", requestor {}",
            one_line(&t.subject),
            one_line(&t.requestor)
        ),
    )
}

pub fn priority(config: &Arc<Config>, args: PriorityArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let changed = desk(config)?.set_priority(args.id, &args.priority, &act)?;
    report(
        &changed,
        format!("priority {}", Priority::of(changed.ticket.priority)),
    )
}

pub fn due(config: &Arc<Config>, args: DueArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let changed = desk(config)?.set_due(args.id, &args.due, &act)?;
    let due = match changed.ticket.due {
        Some(d) => format!("due {}", human_date(d, &config.site.timezone)),
        None => "no due date".into(),
    };
    report(&changed, due)
}

/// What the ticket holds now, on stderr (stdout stays for scripts).
fn report(changed: &Changed, now: String) -> Result<()> {
    eprintln!("ticket #{}: {now}", changed.ticket.id);
    Ok(())
}
