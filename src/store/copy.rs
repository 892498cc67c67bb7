//! Copying a desk, whole, from one store into another (`pipedesk
//! migrate`, SPEC §7): the rows of each table in key order, in batches
//! that each commit on their own, so an interrupted copy resumes where it
//! stopped; a run again adds only what the target lacks, and brings up to
//! date the tickets that changed since (the source's change feed names
//! them). Stores only dump and load rows (`Copying::dump`, `Copying::load`); the
//! order and the bookkeeping are here, once for every pair of stores.

use anyhow::{bail, Result};

use super::{Lease, Store};
use crate::model::*;

/// The tables, in an order where every row's references come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// With their watchers, without `merged_into` (see `Merges`).
    Tickets,
    Messages,
    History,
    Outbox,
    Changes,
    /// Staff passwords and web credentials (small: dumped whole).
    Accounts,
    /// `merged_into` of merged tickets, once every ticket is there.
    Merges,
    /// The senders staff marked as spam (small: dumped whole, and the
    /// target's set made equal to it, an undo included).
    SpamSenders,
    /// Which ticket each message and history entry of some tickets is on
    /// (a merge moves them).
    Placement,
}

/// Which rows a dump takes.
#[derive(Debug, Clone, Copy)]
pub enum Pick<'a> {
    /// Keys above this one, in key order.
    After(i64),
    /// These keys (ticket numbers; outbox ids for `Outbox`).
    Ids(&'a [i64]),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    pub key: String,
    pub message_id: Option<String>,
    pub ticket_id: Option<i64>,
    pub received: Time,
    pub envelope_sender: Option<String>,
    pub recipient: Option<String>,
    pub author: String,
    pub subject: String,
    pub body: String,
    pub raw: Vec<u8>,
}

impl MessageRow {
    /// The row as the stores write a message, so that a copied one goes
    /// in by the same INSERT as a delivered one.
    pub fn as_new(&self) -> NewMessage<'_> {
        NewMessage {
            key: &self.key,
            message_id: self.message_id.as_deref(),
            ticket_id: self.ticket_id,
            envelope_sender: self.envelope_sender.as_deref(),
            recipient: self.recipient.as_deref(),
            author: &self.author,
            subject: &self.subject,
            body: &self.body,
            raw: &self.raw,
            received: self.received,
        }
    }
}

/// A history row: the entry as the desk writes it, with what the store
/// gave it (its id, its ticket, its date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub id: i64,
    pub ticket_id: i64,
    pub date: Time,
    pub entry: NewEntry,
    /// Set by a merge (`Tickets::merge`): the ticket the entry was first
    /// written on.
    pub merged_from: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub message_id: String,
    pub envelope_from: String,
    /// One address a line, as stored.
    pub recipients: String,
    pub raw: Vec<u8>,
    pub created: Time,
    pub state: MailState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt: Time,
    pub sent: Option<Time>,
    pub lease_token: Option<String>,
    pub lease_until: Option<Time>,
}

impl OutboxRow {
    /// A mail as it is queued (in `state`), held by `lease` when the
    /// queuing process sends it itself; what each store writes.
    pub fn queued(
        mail: &Outgoing,
        now: Time,
        state: MailState,
        lease: Option<&Lease>,
    ) -> OutboxRow {
        OutboxRow {
            id: 0,
            ticket_id: Some(mail.ticket_id),
            kind: mail.kind.name().to_string(),
            message_id: mail.message_id.clone(),
            envelope_from: mail.envelope_from.clone(),
            recipients: mail.recipients.join("\n"),
            raw: mail.raw.clone(),
            created: now,
            state,
            attempts: 0,
            last_error: None,
            next_attempt: now,
            sent: None,
            lease_token: lease.map(|l| l.token.clone()),
            lease_until: lease.map(|l| l.until),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRow {
    pub address: String,
    pub hash: String,
    pub updated: Time,
}

impl PasswordRow {
    /// `address`'s password hash as set at `now`: what each store writes.
    pub fn set(address: &crate::address::Address, hash: &str, now: Time) -> PasswordRow {
        PasswordRow {
            address: address.to_string(),
            hash: hash.to_string(),
            updated: now,
        }
    }
}

/// A sender staff marked as spam (`pipedesk spam`), and by which ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamSenderRow {
    pub address: String,
    pub ticket: i64,
    pub marked: Time,
}

/// A batch of rows of one table.
#[derive(Debug, Clone)]
pub enum Rows {
    Tickets(Vec<Ticket>),
    Messages(Vec<MessageRow>),
    History(Vec<HistoryRow>),
    Outbox(Vec<OutboxRow>),
    Changes(Vec<(Change, Time)>),
    Accounts(Vec<PasswordRow>, Vec<Credential>),
    /// (ticket, the ticket it is merged into).
    Merges(Vec<(i64, i64)>),
    SpamSenders(Vec<SpamSenderRow>),
    /// (message id, ticket), (history id, ticket, merged from): a merge
    /// moves them, and marks each history row with where it came from.
    Placement(Vec<(i64, Option<i64>)>, Vec<(i64, i64, Option<i64>)>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::Tickets(r) => r.len(),
            Rows::Messages(r) => r.len(),
            Rows::History(r) => r.len(),
            Rows::Outbox(r) => r.len(),
            Rows::Changes(r) => r.len(),
            Rows::Accounts(p, c) => p.len() + c.len(),
            Rows::Merges(r) => r.len(),
            Rows::SpamSenders(r) => r.len(),
            Rows::Placement(m, h) => m.len() + h.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest key in the batch, to continue after.
    pub fn last_key(&self) -> Option<i64> {
        match self {
            Rows::Tickets(r) => r.last().map(|t| t.id),
            Rows::Messages(r) => r.last().map(|m| m.id),
            Rows::History(r) => r.last().map(|h| h.id),
            Rows::Outbox(r) => r.last().map(|o| o.id),
            Rows::Changes(r) => r.last().map(|(c, _)| c.seq),
            _ => None,
        }
    }
}

/// How many rows a table holds, and its largest key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    pub rows: i64,
    pub max: i64,
}

/// The extent of every table of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    pub tickets: Extent,
    pub messages: Extent,
    pub history: Extent,
    pub outbox: Extent,
    pub changes: Extent,
    /// Passwords and credentials.
    pub accounts: i64,
    /// For a copy: the source's feed seq when it was last copied here
    /// (`finish_copy`), so that a run again knows which tickets changed.
    pub copied_feed: Option<i64>,
}

impl Marks {
    /// Holds no desk's data (a new database has only its identity).
    pub fn is_empty(&self) -> bool {
        self.tickets.rows == 0
            && self.messages.rows == 0
            && self.history.rows == 0
            && self.outbox.rows == 0
            && self.changes.rows == 0
            && self.accounts == 0
    }

    fn of(&self, table: Table) -> Extent {
        match table {
            Table::Tickets => self.tickets,
            Table::Messages => self.messages,
            Table::History => self.history,
            Table::Outbox => self.outbox,
            Table::Changes => self.changes,
            _ => Extent::default(),
        }
    }

    /// The rows of the tables copied in key order.
    pub fn total(&self) -> u64 {
        [
            self.tickets,
            self.messages,
            self.history,
            self.outbox,
            self.changes,
        ]
        .iter()
        .map(|e| e.rows.max(0) as u64)
        .sum()
    }
}

/// A batch: at most this many rows, or about this many bytes of messages
/// and mail (a desk may hold 50 MB messages).
pub const BATCH_ROWS: usize = 2_000;
pub const BATCH_BYTES: usize = 32 << 20;

/// Why a copy was refused: the target holds another desk.
#[derive(Debug, thiserror::Error)]
#[error(
    "{target} holds another desk's data (desk {theirs}, this is desk {ours}): nothing was copied"
)]
pub struct OtherDesk {
    pub target: String,
    pub ours: String,
    pub theirs: String,
}

/// What a copy did.
#[derive(Debug, Clone, Default)]
pub struct Copied {
    /// Rows written (new, or brought up to date).
    pub written: u64,
    /// Tickets brought up to date because they changed since a last run.
    pub refreshed: u64,
    /// The target held part of this desk already (a run again).
    pub resumed: bool,
    /// The source changed while it was copied: run again once deliveries
    /// to it have stopped.
    pub source_moved: bool,
}

/// Copies everything `from` holds that `to` lacks. `progress(done, total)`
/// is called after each batch.
pub fn copy(
    from: &mut dyn Store,
    to: &mut dyn Store,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Copied> {
    let (source, ours, window) =
        from.read(|tx| Ok((tx.copy_marks()?, tx.desk_id()?, tx.change_window()?)))?;
    let (target, theirs) = to.read(|tx| Ok((tx.copy_marks()?, tx.desk_id()?)))?;
    let mut copied = Copied::default();
    if theirs != ours {
        if !target.is_empty() {
            return Err(OtherDesk {
                target: to.describe(),
                ours,
                theirs,
            }
            .into());
        }
        // First, so that an interrupted copy is known as this desk's.
        to.write(|tx| tx.adopt_desk_id(&ours))?;
    } else {
        copied.resumed = !target.is_empty();
    }

    // Tickets that changed since the target's copy of them: named by the
    // source's feed after the seq it had at the last copy (the target keeps
    // it; its own seqs may count otherwise). Where that is unknown (a copy
    // interrupted before its end) or the source's feed no longer reaches
    // back that far: every ticket the target has.
    let target_feed = target.copied_feed.unwrap_or(i64::MIN);
    let changed: Vec<i64> = if !copied.resumed || target_feed >= window.0 {
        Vec::new()
    } else if target_feed >= 0 && window.1 <= target_feed + 1 {
        let mut ids = Vec::new();
        let mut after = target_feed;
        loop {
            let batch = from.read(|tx| tx.changes_since(after, super::FEED_WINDOW))?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            ids.extend(batch.iter().map(|c| c.ticket));
        }
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|&t| t <= target.tickets.max);
        ids
    } else {
        (1..=target.tickets.max).collect()
    };
    // A copy in progress is no copy to take a feed position from: a kill
    // before `finish_copy` leaves none, and the next run refreshes all.
    if copied.resumed {
        to.write(|tx| tx.finish_copy(None))?;
    }

    let total = source.total();
    let mut done = target.total().min(total);
    progress(done, total);
    for table in [
        Table::Tickets,
        Table::Messages,
        Table::History,
        Table::Outbox,
        Table::Changes,
    ] {
        let mut after = target.of(table).max;
        loop {
            let rows =
                from.read(|tx| tx.dump(table, Pick::After(after), BATCH_ROWS, BATCH_BYTES))?;
            let Some(last) = rows.last_key() else { break };
            copied.written += to.write(|tx| tx.load(&rows))?;
            after = last;
            done = (done + rows.len() as u64).min(total);
            progress(done, total);
        }
    }
    for table in [Table::Accounts, Table::Merges, Table::SpamSenders] {
        let rows = from.read(|tx| tx.dump(table, Pick::After(0), usize::MAX, usize::MAX))?;
        copied.written += to.write(|tx| tx.load(&rows))?;
    }
    // A run again: what changed on tickets the target had already.
    for ids in changed.chunks(BATCH_ROWS) {
        for table in [Table::Tickets, Table::Placement] {
            let rows = from.read(|tx| tx.dump(table, Pick::Ids(ids), usize::MAX, usize::MAX))?;
            let n = to.write(|tx| tx.load(&rows))?;
            copied.written += n;
            if table == Table::Tickets {
                copied.refreshed += n;
            }
        }
    }
    // Mail the target holds as queued may have been sent since.
    let queued: Vec<i64> = to
        .read(|tx| tx.queued_mail())?
        .iter()
        .map(|m| m.id)
        .filter(|&id| id <= target.outbox.max)
        .collect();
    for ids in queued.chunks(BATCH_ROWS) {
        let rows =
            from.read(|tx| tx.dump(Table::Outbox, Pick::Ids(ids), usize::MAX, usize::MAX))?;
        copied.written += to.write(|tx| tx.load(&rows))?;
    }
    // The source's position from before the copy began: what changed while
    // it ran is named by the feed after it, for the next run.
    to.write(|tx| tx.finish_copy(Some(window.0)))?;
    let (last_seq, _) = from.read(|tx| tx.change_window())?;
    copied.source_moved = last_seq != window.0;
    let check = to.read(|tx| tx.check())?;
    if !check.is_empty() {
        bail!("the copy fails its check: {}", check.join("; "));
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_with_only_its_identity_is_empty() {
        let mut m = Marks::default();
        assert!(m.is_empty());
        m.copied_feed = Some(7);
        assert!(m.is_empty(), "a feed position is no data");
        m.accounts = 1;
        assert!(!m.is_empty(), "a password is a desk's data");
        m.accounts = 0;
        m.tickets = Extent { rows: 2, max: 9 };
        m.changes = Extent { rows: 3, max: 40 };
        assert!(!m.is_empty());
        assert_eq!(m.total(), 5);
        assert_eq!(m.of(Table::Tickets).max, 9);
        assert_eq!(m.of(Table::Accounts), Extent::default());
    }

    #[test]
    fn batches_continue_after_their_last_key() {
        let rows = Rows::Changes(vec![
            (Change { seq: 4, ticket: 1 }, chrono::Utc::now()),
            (Change { seq: 9, ticket: 2 }, chrono::Utc::now()),
        ]);
        assert_eq!(rows.last_key(), Some(9));
        assert_eq!(rows.len(), 2);
        assert_eq!(Rows::Merges(vec![(1, 2)]).last_key(), None);
        assert!(Rows::History(Vec::new()).is_empty());
    }
}
