//! Changes staff make to a ticket's own fields (SPEC §5 `queue`, `edit`,
//! `priority`, `due`): one operation each for the command, the thread page
//! and the API, each in one transaction with its history entry (kinds
//! `queue`, `subject`, `requestor`, `priority`, `due`; `old`/`new` the
//! values, a priority as its number, a due date as a UTC stamp or `""`).
//! None of them sends mail (SPEC §4 names none). Setting a field to the
//! value it has changes nothing and writes no history.

use anyhow::Result;

use super::change::person_address;
use super::mailer::in_spam;
use super::{Act, Changed, Desk, Error};
use crate::address::Address;
use crate::config::{Config, SPAM_QUEUE};
use crate::model::*;
use crate::store::{Fields, Tx};

/// The longest subject kept: a header line's limit (RFC 5322 §2.1.1).
const SUBJECT_MAX: usize = 998;

impl Desk {
    /// Moves ticket `id` to `queue`, one of the configured queues (not
    /// `spam`: marking spam is `spam`, which also remembers the sender).
    pub fn set_queue(&mut self, id: i64, queue: &str, act: &Act) -> Result<Changed> {
        let queue = destination(&self.config, queue)?;
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            if in_spam(t) {
                return Err(Error::NotAllowed(format!(
                    "ticket #{} is in the queue {SPAM_QUEUE}: take it out with `pipedesk spam {} --undo`",
                    t.id, t.id
                ))
                .into());
            }
            change_queue(tx, t, &queue, who, now)
        })
    }

    /// Corrects the subject and/or the requestor; a new requestor becomes a
    /// watcher too (the old one stays one, and may now be removed).
    pub fn edit(
        &mut self,
        id: i64,
        subject: Option<&str>,
        requestor: Option<&Address>,
        act: &Act,
    ) -> Result<Changed> {
        let subject = subject.map(clean_subject).transpose()?;
        let requestor = match requestor {
            Some(a) => Some(person_address(a, &self.config, "be a ticket's requestor")?),
            None => None,
        };
        if subject.is_none() && requestor.is_none() {
            return Err(
                Error::BadInput("nothing to change: give a subject or a requestor".into()).into(),
            );
        }
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            let mut fields = Fields::of(t);
            let mut entries = Vec::new();
            if let Some(s) = subject.as_deref().filter(|s| *s != t.subject) {
                entries.push(
                    NewEntry::new(HistoryKind::Subject, who).change(Some(&t.subject), Some(s)),
                );
                fields.subject = s.to_string();
            }
            if let Some(r) = requestor.as_ref().filter(|r| **r != *t.requestor) {
                entries.push(
                    NewEntry::new(HistoryKind::Requestor, who).change(Some(&t.requestor), Some(r)),
                );
                fields.requestor = r.to_string();
            }
            if entries.is_empty() {
                return Ok(());
            }
            tx.set_fields(t.id, &fields)?;
            for e in &entries {
                tx.add_history(t.id, e, now)?;
            }
            if let Some(r) = requestor.as_ref() {
                if !t.watchers.iter().any(|w| *r == **w) && tx.add_watcher(t.id, r)? {
                    tx.add_history(
                        t.id,
                        &NewEntry::new(HistoryKind::Watcher, who).change(None, Some(r)),
                        now,
                    )?;
                }
            }
            Ok(())
        })
    }

    /// Sets the priority: a word (`low`, `normal`, `high`, `urgent`) or its
    /// number (-1 … 2), SPEC §1.
    pub fn set_priority(&mut self, id: i64, priority: &str, act: &Act) -> Result<Changed> {
        let priority: Priority = priority.parse().map_err(Error::BadInput)?;
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, _, t| {
            change_priority(tx, t, priority, who, now)
        })
    }

    /// Sets the due date as a person typed it (`zone::parse_due`: a date
    /// or time in `site.timezone`, `+3d`, `+4h`, …), or clears it (`none`).
    pub fn set_due(&mut self, id: i64, due: &str, act: &Act) -> Result<Changed> {
        let due = crate::zone::parse_due(due, act.now, &self.config.site.timezone)
            .map_err(Error::BadInput)?;
        let who = act.who.as_str();
        let now = act.now;
        self.change(id, act, |tx, _, _, t| change_due(tx, t, due, who, now))
    }
}

/// Moves `t` to `queue` (checked), written in its history.
pub(super) fn change_queue(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    queue: &str,
    who: &str,
    now: Time,
) -> Result<()> {
    if t.queue == queue {
        return Ok(());
    }
    tx.set_queue(t.id, queue)?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Queue, who).change(Some(&t.queue), Some(queue)),
        now,
    )?;
    t.queue = queue.to_string();
    Ok(())
}

/// Gives `t` `priority`, written in its history.
pub(super) fn change_priority(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    priority: Priority,
    who: &str,
    now: Time,
) -> Result<()> {
    if t.priority == priority.number() {
        return Ok(());
    }
    let fields = Fields {
        priority: priority.number(),
        ..Fields::of(t)
    };
    tx.set_fields(t.id, &fields)?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Priority, who).change(
            Some(&t.priority.to_string()),
            Some(&priority.number().to_string()),
        ),
        now,
    )?;
    t.priority = fields.priority;
    Ok(())
}

/// Gives `t` the due date `due` (None: none), written in its history.
pub(super) fn change_due(
    tx: &mut dyn Tx,
    t: &mut Ticket,
    due: Option<Time>,
    who: &str,
    now: Time,
) -> Result<()> {
    if t.due == due {
        return Ok(());
    }
    let word = |d: Option<Time>| d.map(stamp).unwrap_or_default();
    tx.set_fields(
        t.id,
        &Fields {
            due,
            ..Fields::of(t)
        },
    )?;
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Due, who).change(Some(&word(t.due)), Some(&word(due))),
        now,
    )?;
    t.due = due;
    Ok(())
}

/// The configured queue `name` names (compared without regard to case),
/// or the error that lists them: the one check of `queue`, the thread
/// page's form and `import --queue`.
pub fn destination(config: &Config, name: &str) -> Result<String> {
    let name = name.trim();
    if name.eq_ignore_ascii_case(SPAM_QUEUE) {
        return Err(Error::BadInput(format!(
            "{SPAM_QUEUE} is not a queue to move a ticket to: mark it with `pipedesk spam N`"
        ))
        .into());
    }
    match config.queue_named(name) {
        Some(q) => Ok(q.to_string()),
        None => Err(Error::unknown_queue(name, &config.ticket_queues()).into()),
    }
}

/// A subject as a person typed it: one line, not empty, no longer than a
/// header line may be.
fn clean_subject(s: &str) -> Result<String> {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let s = one_line.trim();
    if s.is_empty() {
        return Err(Error::BadInput("the subject cannot be empty".into()).into());
    }
    if s.len() > SUBJECT_MAX {
        return Err(
            Error::BadInput(format!("the subject is longer than {SUBJECT_MAX} bytes")).into(),
        );
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_a_configured_one_and_never_spam() {
        let config =
            Config::parse("[[queues]]\nname = \"Billing\"\naddress = \"billing\"\n").unwrap();
        assert_eq!(destination(&config, " billing ").unwrap(), "Billing");
        assert_eq!(destination(&config, "general").unwrap(), "general");
        let e = destination(&config, "bilin").unwrap_err().to_string();
        assert_eq!(e, "unknown queue \"bilin\" (general or Billing)");
        let e = destination(&config, "SPAM").unwrap_err().to_string();
        assert!(e.contains("pipedesk spam"), "{e}");
    }

    #[test]
    fn a_subject_is_one_line_and_not_empty() {
        assert_eq!(
            clean_subject("  Printer\r\nbroken ").unwrap(),
            "Printer  broken"
        );
        assert!(clean_subject(" \t").is_err());
        assert!(clean_subject(&"x".repeat(999)).is_err());
    }
}
