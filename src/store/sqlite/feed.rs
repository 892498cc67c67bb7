//! The change feed of the live board (the history itself), and what
//! signing in to the web keeps: password hashes and the hashes of session
//! and API-token secrets.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::*;

/// The changes after `after`: the history rows, whose ids SQLite hands
/// out under its one write lock, so in commit order.
pub(super) fn changes_since(conn: &Connection, after: i64, limit: usize) -> Result<Vec<Change>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, ticket_id FROM history WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok(Change {
            seq: r.get(0)?,
            ticket: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// History is never deleted, so the whole feed can be replayed.
pub(super) fn change_window(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn
        .prepare_cached(CHANGE_WINDOW)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Two subqueries, each one look at an end of the primary key. As one
/// `SELECT max(id), min(id)`, SQLite scans the whole history (its min/max
/// shortcut takes a lone aggregate only): 24 ms at 70 000 tickets, and
/// `serve`'s feed asks ten times a second — a sixth of a core, idle.
const CHANGE_WINDOW: &str = "SELECT coalesce((SELECT max(id) FROM history), 0),
        coalesce((SELECT min(id) FROM history), 1)";

pub(super) fn set_password(conn: &Connection, address: &str, hash: &str, now: Time) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO staff_passwords (address, hash, updated) VALUES (?1, ?2, ?3)
         ON CONFLICT (address) DO UPDATE SET hash = excluded.hash, updated = excluded.updated",
    )?
    .execute(params![address, hash, stamp(now)])?;
    Ok(())
}

pub(super) fn password(conn: &Connection, address: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT hash FROM staff_passwords WHERE address = ?1")?
        .query_row([address], |r| r.get(0))
        .optional()?)
}

pub(super) fn add_credential(conn: &Connection, c: &Credential) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO credentials (secret_hash, kind, address, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        c.secret_hash,
        c.kind.as_str(),
        c.address,
        stamp(c.created),
        c.expires.map(stamp)
    ])?;
    Ok(())
}

pub(super) fn credential(
    conn: &Connection,
    kind: CredentialKind,
    secret_hash: &str,
    now: Time,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT address FROM credentials WHERE secret_hash = ?1 AND kind = ?2
               AND (expires IS NULL OR expires > ?3)",
        )?
        .query_row(params![secret_hash, kind.as_str(), stamp(now)], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(super) fn remove_credential(conn: &Connection, secret_hash: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM credentials WHERE secret_hash = ?1")?
        .execute([secret_hash])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_window_looks_at_the_ends_of_the_history_not_all_of_it() {
        let store = super::super::SqliteStore::in_memory().unwrap();
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
        assert_eq!(change_window(&store.conn).unwrap(), (0, 1));
    }
}
