//! The change feed of the live board: SQLite's is the history itself,
//! whose ids SQLite hands out under its one write lock, so in commit order.

use anyhow::Result;
use rusqlite::params;

use super::SqliteTx;
use crate::model::*;
use crate::store::Feed;

/// Two subqueries, each one look at an end of the primary key. As one
/// `SELECT max(id), min(id)`, SQLite scans the whole history (its min/max
/// shortcut takes a lone aggregate only): 24 ms at 70 000 tickets, and
/// `serve`'s feed asks ten times a second — a sixth of a core, idle.
pub(super) const CHANGE_WINDOW: &str = "SELECT coalesce((SELECT max(id) FROM history), 0),
        coalesce((SELECT min(id) FROM history), 1)";

impl Feed for SqliteTx<'_> {
    fn changes_since(&mut self, after: i64, limit: usize) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, ticket_id FROM history WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok(Change {
                seq: r.get(0)?,
                ticket: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// History is never deleted, so the whole feed can be replayed.
    fn change_window(&mut self) -> Result<(i64, i64)> {
        Ok(self
            .conn
            .prepare_cached(CHANGE_WINDOW)?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn the_change_window_looks_at_the_ends_of_the_history_not_all_of_it() {
        let mut store = super::super::SqliteStore::in_memory().unwrap();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CHANGE_WINDOW}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN history")),
            "{plan:?}"
        );
        let window = (&mut store as &mut dyn Store)
            .read(|tx| tx.change_window())
            .unwrap();
        assert_eq!(window, (0, 1));
    }
}
