//! The change feed of the live board, and what signing in to the web keeps:
//! password hashes and the hashes of session and API-token secrets.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::*;

/// How many changes the feed keeps: SPEC §6 asks for at least 10,000 to
/// replay; older ones go in a sweep every `SWEEP` changes.
const KEEP: i64 = 20_000;
const SWEEP: i64 = 1_000;

pub(super) fn touch(conn: &Connection, id: i64, now: Time) -> Result<()> {
    touch_at(conn, id, &stamp(now))
}

/// `touch` with the time already written out. SQLite hands out seqs under
/// its one write lock, so they are in commit order.
pub(super) fn touch_at(conn: &Connection, id: i64, now: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO changes (ticket_id, at) VALUES (?1, ?2)")?
        .execute(params![id, now])?;
    let seq = conn.last_insert_rowid();
    if seq % SWEEP == 0 {
        conn.prepare_cached("DELETE FROM changes WHERE seq <= ?1")?
            .execute([seq - KEEP])?;
    }
    Ok(())
}

pub(super) fn changes_since(conn: &Connection, after: i64, limit: usize) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, ticket_id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok(Change {
            seq: r.get(0)?,
            ticket: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn change_window(conn: &Connection) -> Result<(i64, i64)> {
    // AUTOINCREMENT keeps the last seq in sqlite_sequence even when the
    // rows are swept.
    let last: i64 = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let oldest: Option<i64> = conn.query_row("SELECT min(seq) FROM changes", [], |r| r.get(0))?;
    Ok((last, oldest.unwrap_or(last + 1)))
}

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
