//! Marking a ticket as spam and undoing it (SPEC §5 `pipedesk spam`): one
//! operation for the command, the thread page and the API, with its
//! history entry (kind `spam`). The mark moves the ticket to the queue
//! `spam`, resolves it without any mail (the mailer sends none about a
//! ticket there, SPEC §4) and remembers its requestor, whose later new
//! tickets open in `spam` (SPEC §3); the undo puts it back, reopens it and
//! forgets the sender.

use anyhow::Result;

use super::change::change_status;
use super::mailer::in_spam;
use super::{Act, Changed, Desk, Error};
use crate::address::Address;
use crate::config::{Config, GENERAL_QUEUE, SPAM_QUEUE};
use crate::model::*;
use crate::store::Tx;

/// The `new` of a `spam` history entry (SPEC §5).
const MARKED: &str = "spam";
const UNMARKED: &str = "not spam";

impl Desk {
    /// Marks ticket `id` as spam, or with `undo` takes the mark back.
    pub fn spam(&mut self, id: i64, undo: bool, act: &Act) -> Result<Changed> {
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, config, _, t| {
            if undo {
                unmark(tx, config, t, who, now)
            } else {
                mark(tx, t, who, now)
            }
        })
    }
}

fn mark(tx: &mut dyn Tx, t: &mut Ticket, who: &str, now: Time) -> Result<()> {
    let sender = Address::new(&t.requestor);
    if in_spam(t) && tx.is_spam_sender(&sender)? {
        return Err(
            Error::NotAllowed(format!("ticket #{} is marked as spam already", t.id)).into(),
        );
    }
    // The entry keeps the queue it came from, for the undo.
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Spam, who).change(Some(&t.queue), Some(MARKED)),
        now,
    )?;
    if !in_spam(t) {
        tx.set_queue(t.id, SPAM_QUEUE)?;
        t.queue = SPAM_QUEUE.into();
    }
    tx.mark_spam_sender(&sender, t.id, now)?;
    // Resolved without the resolved notice: the ticket is in `spam` now,
    // and no path queues mail about it.
    change_status(tx, t, Status::Resolved, who, now)?;
    Ok(())
}

fn unmark(tx: &mut dyn Tx, config: &Config, t: &mut Ticket, who: &str, now: Time) -> Result<()> {
    if !in_spam(t) {
        return Err(Error::NotAllowed(format!(
            "ticket #{} is not in the queue {SPAM_QUEUE}",
            t.id
        ))
        .into());
    }
    let back = queue_before_spam(tx, config, t.id)?;
    tx.set_queue(t.id, &back)?;
    t.queue = back;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Spam, who).change(None, Some(UNMARKED)),
        now,
    )?;
    tx.forget_spam_sender(&Address::new(&t.requestor))?;
    if t.status.reopens_on_mail() {
        change_status(tx, t, Status::Open, who, now)?;
    }
    Ok(())
}

/// The queue ticket `id` was in before its last mark as spam, where that
/// queue still exists; `general` for a ticket the MTA's filter put in
/// `spam` (it was never anywhere else).
fn queue_before_spam(tx: &mut dyn Tx, config: &Config, id: i64) -> Result<String> {
    let history = tx.history(id, false)?;
    let before = history
        .iter()
        .rev()
        .find(|e| e.kind == HistoryKind::Spam && e.new.as_deref() == Some(MARKED))
        .and_then(|e| e.old.as_deref())
        .filter(|q| !q.eq_ignore_ascii_case(SPAM_QUEUE))
        .filter(|q| config.queue_names().contains(q));
    Ok(before.unwrap_or(GENERAL_QUEUE).to_string())
}
