//! Changes by people: status, owner, merge and watchers, each in one
//! transaction with its history entry and its mail, and the status rule
//! every front end obeys. (The staff's own answers are in `answer`.)

use anyhow::Result;

use super::deliver::room_for_a_watcher;
use super::mailer::Mailer;
use super::{resolve, Desk, Error, SendError};
use crate::address::Address;
use crate::config::Config;
use crate::model::*;
use crate::outbound::render::Cause;
use crate::outbound::Event;
use crate::rules::Via;
use crate::store::Tx;

/// What a change by a person did.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The ticket as it is now.
    pub ticket: Ticket,
    pub outbox: Vec<i64>,
    pub unsent: Vec<(i64, SendError)>,
}

/// Who changes something, when, and (from the web) which version of the
/// ticket they saw.
#[derive(Debug, Clone)]
pub struct Act {
    pub who: Address,
    pub now: Time,
    /// `If-Match`: refuse with `Error::Stale` if the ticket moved on.
    pub if_version: Option<i64>,
    /// Where it was done, for the rules (`if.via`).
    pub via: Via,
}

impl Act {
    /// A change at the terminal.
    pub fn new(who: Address, now: Time) -> Act {
        Act {
            who,
            now,
            if_version: None,
            via: Via::Command,
        }
    }

    /// A change on the web.
    pub fn web(who: Address, now: Time, if_version: Option<i64>) -> Act {
        Act {
            if_version,
            via: Via::Web,
            ..Act::new(who, now)
        }
    }
}

/// Moves `t` to `status`, written in its history; false when it was there.
pub(crate) fn change_status(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    status: Status,
    who: &str,
    now: Time,
) -> Result<bool> {
    if t.status == status {
        return Ok(false);
    }
    tx.set_status(t.id, status)?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Status, who)
            .change(Some(t.status.as_str()), Some(status.as_str())),
        now,
    )?;
    t.status = status;
    Ok(true)
}

/// Gives `t` to `owner` (None: nobody), written in its history.
pub(super) fn change_owner(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    owner: Option<&Address>,
    who: &str,
    now: Time,
) -> Result<bool> {
    let named = owner.map(Address::as_str);
    if t.owner.as_deref() == named {
        return Ok(false);
    }
    tx.set_owner(t.id, owner)?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Owner, who).change(t.owner.as_deref(), named),
        now,
    )?;
    t.owner = named.map(String::from);
    Ok(true)
}

/// Tells the owner of `t` that `who` gave it to them — after the rest of
/// the change, so the notice says how the ticket stands — unless they did
/// it themselves (SPEC §4; the planner leaves out the author).
pub(super) fn tell_owner(
    tx: &mut dyn Tx,
    mail: &mut Mailer<'_>,
    t: &Ticket,
    who: &str,
    now: Time,
) -> Result<()> {
    if t.owner.is_none() {
        return Ok(());
    }
    mail.queue(tx, Event::Assigned, t, &Cause::by(who), false, now)
}

impl Desk {
    /// Runs `f` on ticket `id` in one transaction, for a member of staff,
    /// then sends the mail it queued.
    pub(super) fn change(
        &mut self,
        id: i64,
        act: &Act,
        mut f: impl FnMut(&mut dyn Tx, &Config, &mut Mailer<'_>, &mut Ticket) -> Result<()>,
    ) -> Result<Changed> {
        self.require_staff(&act.who)?;
        let (lease, store, config, texts) = self.for_a_change(act.now);
        let (ticket, outbox) = store.write(|tx| {
            let mut t = resolve(tx, id)?.ok_or(Error::NoTicket(id))?;
            if act.if_version.is_some_and(|v| v != t.version) {
                return Err(Error::Stale(Box::new(t)).into());
            }
            let mut mail = Mailer::new(config, texts, &lease, false);
            f(tx, config, &mut mail, &mut t)?;
            super::rules::follow(tx, config, &mut mail, act.via, act.now, &mut Vec::new())?;
            let mut now = tx.ticket(t.id)?.ok_or(Error::NoTicket(t.id))?;
            now.merged = tx.merged(t.id)?;
            Ok((now, mail.queued))
        })?;
        let unsent = self.send(&outbox, &lease, act.now);
        Ok(Changed {
            ticket,
            outbox,
            unsent,
        })
    }

    pub(super) fn require_staff(&self, who: &Address) -> Result<()> {
        if !self.config.is_staff_address(who) {
            return Err(Error::NotAllowed(format!(
                "{who} is not on staff (staff.admins, staff.members)"
            ))
            .into());
        }
        Ok(())
    }

    /// Resolves the ticket and tells the requestor; `quiet`: without the
    /// resolved notice (SPEC §4, `close --quiet`).
    pub fn close(&mut self, id: i64, quiet: bool, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            let notice = if quiet { Notice::Quiet } else { Notice::Sent };
            status_rule(tx, mail, t, Status::Resolved, notice, who, now)
        })
    }

    /// Opens a resolved or stalled ticket again.
    pub fn reopen(&mut self, id: i64, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            if !t.status.reopens_on_mail() {
                return Err(Error::NotAllowed(format!(
                    "ticket #{} is {}, not resolved or stalled",
                    t.id, t.status
                ))
                .into());
            }
            status_rule(tx, mail, t, Status::Open, Notice::Sent, who, now)
        })
    }

    /// Puts the ticket aside until the requestor answers.
    pub fn stall(&mut self, id: i64, act: &Act) -> Result<Changed> {
        self.set_status(id, Status::Stalled, act)
    }

    /// Moves the ticket to `status`, by the rules of `close`, `reopen` and
    /// `stall` (the web's status change and the board's drop).
    pub fn set_status(&mut self, id: i64, status: Status, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            status_rule(tx, mail, t, status, Notice::Sent, who, now)
        })
    }

    /// The staff member `act.who` becomes the owner; a new ticket opens.
    pub fn take(&mut self, id: i64, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            change_owner(tx, t, Some(&act.who), who, now)?;
            if t.status == Status::New {
                change_status(tx, t, Status::Open, who, now)?;
            }
            Ok(())
        })
    }

    /// Gives the ticket to a member of staff, or to nobody; the status
    /// stays.
    pub fn assign(&mut self, id: i64, owner: Option<&Address>, act: &Act) -> Result<Changed> {
        if let Some(o) = owner {
            self.require_staff(o)?;
        }
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            if change_owner(tx, t, owner, who, now)? {
                tell_owner(tx, mail, t, who, now)?;
            }
            Ok(())
        })
    }

    /// The board's drop: owner and status in one change.
    pub fn move_to(
        &mut self,
        id: i64,
        status: Status,
        owner: Option<&Address>,
        act: &Act,
    ) -> Result<Changed> {
        if let Some(o) = owner {
            self.require_staff(o)?;
        }
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, mail, t| {
            let given = change_owner(tx, t, owner, who, now)?;
            if t.status != status {
                status_rule(tx, mail, t, status, Notice::Sent, who, now)?;
            }
            if given {
                tell_owner(tx, mail, t, who, now)?;
            }
            Ok(())
        })
    }

    /// Merges ticket `from` into `into` (SPEC §5): its messages and history
    /// join `into`'s, its requestor and watchers become `into`'s watchers,
    /// mail to it lands on `into`.
    pub fn merge(&mut self, from: i64, into: i64, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        // The change is to the ticket that goes (`act.if_version` is its
        // version); it answers with the ticket that stays.
        self.change(from, act, |tx, config, _, t| {
            let source = t.clone();
            let target = resolve(tx, into)?.ok_or(Error::NoTicket(into))?;
            if source.id == target.id {
                return Err(Error::NotAllowed(if source.id == from && into == from {
                    format!("cannot merge ticket #{from} into itself")
                } else {
                    format!("ticket #{from} is merged into #{} already", target.id)
                })
                .into());
            }
            tx.merge(source.id, target.id)?;
            // Its requestor and watchers watch the ticket that stays, up
            // to `policy.max_watchers` as any other watcher (issue 18).
            let mut watching = target.watchers.clone();
            let mut left_out: Vec<&String> = Vec::new();
            for w in std::iter::once(&source.requestor).chain(&source.watchers) {
                let known = |x: &String| x == w;
                if watching.iter().any(known) || left_out.iter().any(|x| known(x)) {
                    continue;
                }
                if !room_for_a_watcher(&watching, config) {
                    left_out.push(w);
                    continue;
                }
                if tx.add_watcher(target.id, w)? {
                    watching.push(w.clone());
                }
            }
            let entry = NewEntry::new(HistoryKind::Merge, who)
                .change(Some(&source.id.to_string()), Some(&target.id.to_string()));
            tx.add_history(target.id, &entry, now)?;
            if !left_out.is_empty() {
                let note = format!(
                    "{} watchers of #{} were not added (policy.max_watchers = {})",
                    left_out.len(),
                    source.id,
                    config.policy.max_watchers
                );
                tx.add_history(
                    target.id,
                    &NewEntry::new(HistoryKind::Note, who).note(&note),
                    now,
                )?;
            }
            // The merged ticket keeps this one entry: its change reaches
            // the boards, whose card of it goes.
            tx.add_history(source.id, &entry, now)?;
            *t = target;
            Ok(())
        })
    }

    /// Adds a watcher: they get staff replies from now on. Not past
    /// `policy.max_watchers` (SPEC §2), the limit Cc stop at too: every
    /// watcher is a recipient of each reply.
    pub fn watch(&mut self, id: i64, address: &Address, act: &Act) -> Result<Changed> {
        let address = person_address(address, &self.config, "watch a ticket")?;
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, config, _, t| {
            let known = t.watchers.iter().any(|w| *address == **w);
            if !known && !room_for_a_watcher(&t.watchers, config) {
                return Err(Error::NotAllowed(format!(
                    "ticket #{} has {} watchers, the most policy.max_watchers allows: \
                     remove one first",
                    t.id,
                    t.watchers.len()
                ))
                .into());
            }
            if !tx.add_watcher(t.id, &address)? {
                return Err(Error::NotAllowed(format!(
                    "{address} watches ticket #{} already",
                    t.id
                ))
                .into());
            }
            tx.add_history(
                t.id,
                &NewEntry::new(HistoryKind::Watcher, who).change(None, Some(&address)),
                now,
            )
        })
    }

    /// Removes a watcher; the requestor stays.
    pub fn unwatch(&mut self, id: i64, address: &Address, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            if *address == *t.requestor {
                return Err(Error::NotAllowed(format!(
                    "{address} is the requestor of ticket #{}: the requestor always watches",
                    t.id
                ))
                .into());
            }
            if !tx.remove_watcher(t.id, address)? {
                return Err(Error::NotAllowed(format!(
                    "{address} does not watch ticket #{}",
                    t.id
                ))
                .into());
            }
            tx.add_history(
                t.id,
                &NewEntry::new(HistoryKind::Watcher, who).change(Some(address), None),
                now,
            )
        })
    }
}

/// Whether a close tells the requestor (`close --quiet` does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    Sent,
    Quiet,
}

/// A status change by a person, by the rules of `close`, `reopen`, `stall`.
fn status_rule(
    tx: &mut dyn Tx,
    mail: &mut Mailer<'_>,
    t: &mut Ticket,
    status: Status,
    notice: Notice,
    who: &str,
    now: Time,
) -> Result<()> {
    if !t.status.moves_from().contains(&status) {
        let why = if t.status == status {
            format!("ticket #{} is {status} already", t.id)
        } else {
            format!(
                "ticket #{} cannot become {status} again: staff has seen it",
                t.id
            )
        };
        return Err(Error::NotAllowed(why).into());
    }
    change_status(tx, t, status, who, now)?;
    if status == Status::Resolved && notice == Notice::Sent {
        mail.queue(tx, Event::Resolved, t, &Cause::by(who), false, now)?;
    }
    Ok(())
}

/// An address a person typed for a person (a watcher, a requestor): a
/// mail address, never one of ours, which `cannot` do what is asked.
pub(super) fn person_address(address: &Address, config: &Config, cannot: &str) -> Result<Address> {
    let address = Address::parse(address)?;
    if crate::address::is_ours(&address, config) {
        return Err(Error::BadInput(format!(
            "{address} is one of our own addresses: it cannot {cannot}"
        ))
        .into());
    }
    Ok(address)
}
