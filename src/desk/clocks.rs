//! A ticket's SLA clocks kept in step with what happens to it (SPEC §8):
//! after each change, before its commit, every history entry the change
//! wrote moves the clocks of the ticket's SLA (the queue's) — it opens,
//! staff correspond, the requestor writes, the status or the queue
//! changes — and the state is written with the change. The clock's own
//! events (warnings and breaches) are `tick`'s, in `rules`.

use anyhow::Result;

use crate::config::Config;
use crate::model::*;
use crate::rules::{actor_of, Actor};
use crate::store::Tx;

/// Moves the clocks of each ticket that `written` touched.
pub(super) fn track(
    tx: &mut dyn Tx,
    config: &Config,
    written: &[(i64, NewEntry)],
    now: Time,
) -> Result<()> {
    // No SLA configured: no clock can move (a ticket's state from an SLA
    // since removed stays as it was), and nothing need be read.
    if !config.has_slas() {
        return Ok(());
    }
    // Every entry is written by now: a ticket read once shows what they
    // all did, and its clocks step through them and are written once.
    let mut i = 0;
    while i < written.len() {
        let id = written[i].0;
        let run = written[i..].iter().take_while(|(t, _)| *t == id).count();
        let entries = &written[i..i + run];
        i += run;
        let Some(mut t) = tx.ticket(id)? else {
            continue;
        };
        if t.merged_into.is_some() {
            continue;
        }
        let before = t.sla.clone();
        for (_, entry) in entries.iter().filter(|(_, e)| !e.auto) {
            step(config, &mut t, entry, now);
        }
        if t.sla != before {
            tx.set_sla(&t)?;
        }
    }
    Ok(())
}

/// What `entry` does to `t`'s clocks.
fn step(config: &Config, t: &mut Ticket, entry: &NewEntry, now: Time) {
    match entry.kind {
        HistoryKind::Create => {
            t.sla = config.sla_of(&t.queue).map(|sla| sla.start(t.status, now));
            if t.sla.is_some() && is_staff(config, t, &entry.author) {
                // Staff opened it for someone: their first words are the
                // first response.
                with_sla(config, t, |sla, s| s.on_staff_correspond(sla, now));
            }
        }
        HistoryKind::Correspond => match actor_of(&entry.author, t, |a| config.is_staff_address(a))
        {
            Actor::Staff => with_sla(config, t, |sla, s| s.on_staff_correspond(sla, now)),
            Actor::Requestor => with_sla(config, t, |sla, s| s.on_requestor_message(sla, now)),
            Actor::Outsider | Actor::System => {}
        },
        HistoryKind::Status => {
            let (Some(old), Some(new)) = (
                entry.old.as_deref().and_then(Status::parse),
                entry.new.as_deref().and_then(Status::parse),
            ) else {
                return;
            };
            with_sla(config, t, |sla, s| s.on_status(sla, old, new, now));
        }
        HistoryKind::Queue => {
            // A ticket moved to another queue runs on that queue's SLA,
            // from now; on the same one, its clocks go on.
            let name = config.sla_of(&t.queue).map(|s| s.name.clone());
            if t.sla.as_ref().map(|s| &s.name) != name.as_ref() {
                t.sla = config.sla_of(&t.queue).map(|sla| sla.start(t.status, now));
            }
        }
        _ => {}
    }
}

fn is_staff(config: &Config, t: &Ticket, author: &str) -> bool {
    actor_of(author, t, |a| config.is_staff_address(a)) == Actor::Staff
}

/// Runs `f` on the ticket's clocks and their SLA, where it has both (an
/// SLA removed from the config leaves its tickets' clocks as they were).
fn with_sla(
    config: &Config,
    t: &mut Ticket,
    f: impl FnOnce(&crate::sla::Sla, &mut crate::sla::SlaState),
) {
    if let Some(state) = t.sla.as_mut() {
        if let Some(sla) = config.sla(&state.name) {
            f(sla, state);
        }
    }
}
