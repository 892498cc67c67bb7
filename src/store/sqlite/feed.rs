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
    Ok(conn.query_row(
        "SELECT coalesce(max(id), 0), coalesce(min(id), 1) FROM history",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
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
