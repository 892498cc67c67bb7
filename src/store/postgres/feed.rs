//! The change feed of the live board, and its notifications to every
//! `serve` (LISTEN/NOTIFY).
//!
//! Commit order: a sequence hands out numbers when transactions ask, and
//! they may commit in another order, so a board that saw seq K could miss
//! K-1 committed a moment later. Here a transaction only notes which
//! tickets it changed (`touch`); just before its COMMIT it takes the next
//! seqs from the one-row `feed` counter (`UPDATE … RETURNING`). The row
//! lock is held until COMMIT, so the next writer gets its seqs only after
//! this one committed, and is visible only after it: whoever sees seq K has
//! seen every seq below K. Taken last, the lock is held for the commit
//! alone, and it can be in no deadlock (its holder waits for nothing else).
//! Each such commit also sends `NOTIFY pipedesk_changes, '<last seq>'`,
//! which PostgreSQL delivers to listeners when, and only if, the
//! transaction commits, in commit order (the NOTIFY reference page).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use postgres::Row;

use super::{get, pg_columns, pg_unnest, PgTx, Target};
use crate::model::*;
use crate::store::{Feed, Waiter, FEED_KEEP};

/// The columns of `changes`, in the order `change_from_row` reads them.
macro_rules! change_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; seq bigint, ticket_id bigint, at timestamptz)
    };
}

/// A change of the feed, and when it was made.
pub(super) fn change_from_row(r: &Row) -> Result<(Change, Time)> {
    Ok((
        Change {
            seq: get(r, 0)?,
            ticket: get(r, 1)?,
        },
        get(r, 2)?,
    ))
}

/// The copy's write of changes, as numbered by the source.
pub(super) const PUT_CHANGES: &str = concat!(
    "INSERT INTO changes (",
    change_table!(pg_columns, ""),
    ") SELECT ",
    change_table!(pg_columns, ""),
    " FROM ",
    change_table!(pg_unnest, ""),
    " ON CONFLICT DO NOTHING"
);

pub(super) use change_table;

/// The feed keeps `FEED_KEEP` changes; older ones go in a sweep every
/// `SWEEP` changes.
const SWEEP: i64 = 1_000;

/// The channel every change is announced on; the payload is the last seq
/// of the committing transaction, as decimal text.
pub const CHANNEL: &str = "pipedesk_changes";

pub(super) fn touch(tx: &mut PgTx<'_>, id: i64, now: Time) -> Result<()> {
    let now = to_second(now);
    // One change per ticket per transaction: a board needs "ticket N
    // changed", not how many times.
    match tx.pending.iter_mut().find(|(t, _)| *t == id) {
        Some(p) => p.1 = p.1.max(now),
        None => tx.pending.push((id, now)),
    }
    Ok(())
}

/// Writes the changes this transaction noted, with seqs in commit order,
/// and announces them. Called right before COMMIT (and before a read of
/// the feed in the same transaction, which must see its own writes).
pub(super) fn write_pending(tx: &mut PgTx<'_>) -> Result<()> {
    if tx.pending.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = tx.pending.iter().map(|(t, _)| *t).collect();
    let ats: Vec<Time> = tx.pending.iter().map(|(_, a)| *a).collect();
    let n = ids.len() as i64;
    let row = tx.one(
        concat!(
            "WITH c AS (UPDATE feed SET last = last + $1 RETURNING last),
              ins AS (INSERT INTO changes (",
        change_table!(pg_columns, ""),
        ")
                      SELECT c.last - $1 + u.ord, u.t, u.a
                      FROM c, unnest($2::bigint[], $3::timestamptz[]) WITH ORDINALITY AS u(t, a, ord))
         SELECT c.last, pg_notify('pipedesk_changes', c.last::text) FROM c"
        ),
        &[&n, &ids, &ats],
    )?;
    let last: i64 = get(&row, 0)?;
    if last / SWEEP != (last - n) / SWEEP {
        tx.exec(
            "DELETE FROM changes WHERE seq <= $1",
            &[&(last - FEED_KEEP)],
        )?;
    }
    tx.pending.clear();
    Ok(())
}

impl Feed for PgTx<'_> {
    fn changes_since(&mut self, after: i64, limit: usize) -> Result<Vec<Change>> {
        let tx = self;
        write_pending(tx)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        tx.rows(
            concat!(
                "SELECT ",
                change_table!(pg_columns, ""),
                " FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2"
            ),
            &[&after, &limit],
        )?
        .iter()
        .map(|r| Ok(change_from_row(r)?.0))
        .collect()
    }

    fn change_window(&mut self) -> Result<(i64, i64)> {
        let tx = self;
        write_pending(tx)?;
        let row = tx.one(
            "SELECT (SELECT last FROM feed), (SELECT min(seq) FROM changes)",
            &[],
        )?;
        let last: Option<i64> = get(&row, 0)?;
        let last = last.unwrap_or(0);
        let oldest: Option<i64> = get(&row, 1)?;
        Ok((last, oldest.unwrap_or(last + 1)))
    }
}

/// A connection that listens for changes: what `serve` on each host needs
/// to push every change to its boards within a second. Notifications only
/// say "the feed grew to seq S"; the listener then reads the feed itself
/// (`Tx::changes_since`) from the last seq it sent, so a notification
/// that was missed (a reconnect) loses nothing.
pub struct Listener {
    client: postgres::Client,
}

/// Connects to `url` (trying for at most `busy`) and listens on `CHANNEL`.
pub fn listen(url: &str, busy: Duration) -> Result<Listener> {
    let target = Target::parse(url)?;
    let mut client = target.connect(Instant::now() + busy)?;
    client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .with_context(|| format!("listening on {}", target.shown))?;
    Ok(Listener { client })
}

impl Listener {
    /// Waits at most `timeout` for changes. `Some(seq)`: the feed grew to
    /// at least `seq` (the highest of the notifications that came, all of
    /// them taken); `None`: nothing changed meanwhile. An error means the
    /// connection broke: listen again, and read the feed from the last seq
    /// seen, since notifications sent meanwhile are lost.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<i64>> {
        use fallible_iterator::FallibleIterator;
        let mut notes = self.client.notifications();
        let first = notes
            .timeout_iter(timeout)
            .next()
            .context("waiting for changes")?;
        let Some(first) = first else {
            return Ok(None);
        };
        let mut best = seq_of(&first);
        // Whatever else arrived meanwhile, without waiting.
        let mut rest = notes.iter();
        while let Some(n) = rest.next().context("waiting for changes")? {
            best = best.max(seq_of(&n));
        }
        Ok(Some(best))
    }
}

impl Listener {
    /// How long a wait lasts at most before the feed is looked at anyway
    /// (a notification lost with a broken connection).
    pub const LISTEN: Duration = Duration::from_secs(1);
}

impl Waiter for Listener {
    fn wait(&mut self) -> Result<()> {
        Listener::wait(self, Listener::LISTEN).map(drop)
    }
}

fn seq_of(n: &postgres::Notification) -> i64 {
    n.payload().trim().parse().unwrap_or(0)
}
