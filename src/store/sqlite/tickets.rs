//! Tickets, the messages on them, watchers, merges and history rows.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::model::*;

pub(super) const TICKET_COLUMNS: &str =
    "t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated, t.version, t.merged_into";

/// A stored stamp as a time; a column that is not one is a broken database.
pub(super) fn time_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Time> {
    let text: String = row.get(i)?;
    parse_stamp(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("{text:?} is not a time").into(),
        )
    })
}

/// A ticket from a row whose first columns are `TICKET_COLUMNS` (watchers
/// and merged tickets are read separately).
pub(super) fn ticket_from_row(row: &Row<'_>) -> rusqlite::Result<Ticket> {
    let status: String = row.get(3)?;
    Ok(Ticket {
        id: row.get(0)?,
        queue: row.get(1)?,
        subject: row.get(2)?,
        status: Status::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("{status:?} is not a status").into(),
            )
        })?,
        requestor: row.get(4)?,
        owner: row.get(5)?,
        priority: row.get(6)?,
        watchers: Vec::new(),
        created: time_at(row, 7)?,
        updated: time_at(row, 8)?,
        version: row.get(9)?,
        merged_into: row.get(10)?,
        merged: Vec::new(),
    })
}

pub(super) fn ticket(conn: &Connection, id: i64) -> Result<Option<Ticket>> {
    let Some(mut t) = conn
        .prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"
        ))?
        .query_row([id], ticket_from_row)
        .optional()?
    else {
        return Ok(None);
    };
    t.watchers = watchers(conn, id)?;
    Ok(Some(t))
}

pub(super) fn merged(conn: &Connection, id: i64) -> Result<Vec<i64>> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM tickets WHERE merged_into = ?1 ORDER BY id")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn watchers(conn: &Connection, id: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT address FROM watchers WHERE ticket_id = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn create_ticket(
    conn: &Connection,
    queue: &str,
    subject: &str,
    requestor: &str,
    watchers: &[String],
    now: Time,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO tickets (queue, subject, status, requestor, created, updated) VALUES (?1, ?2, 'new', ?3, ?4, ?4)",
    )?
    .execute(params![queue, subject, requestor, stamp(now)])?;
    let id = conn.last_insert_rowid();
    for w in watchers {
        add_watcher(conn, id, w)?;
    }
    Ok(id)
}

pub(super) fn add_watcher(conn: &Connection, id: i64, address: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("INSERT OR IGNORE INTO watchers (ticket_id, address) VALUES (?1, ?2)")?
        .execute(params![id, address])?
        == 1)
}

pub(super) fn remove_watcher(conn: &Connection, id: i64, address: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM watchers WHERE ticket_id = ?1 AND address = ?2")?
        .execute(params![id, address])?
        == 1)
}

pub(super) fn set_status(conn: &Connection, id: i64, status: Status) -> Result<()> {
    conn.prepare_cached("UPDATE tickets SET status = ?2 WHERE id = ?1")?
        .execute(params![id, status.as_str()])?;
    Ok(())
}

pub(super) fn set_owner(conn: &Connection, id: i64, owner: Option<&str>) -> Result<()> {
    conn.prepare_cached("UPDATE tickets SET owner = ?2 WHERE id = ?1")?
        .execute(params![id, owner])?;
    Ok(())
}

pub(super) fn merge(conn: &Connection, from: i64, into: i64) -> Result<()> {
    for sql in [
        "UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1",
        "UPDATE history SET ticket_id = ?2 WHERE ticket_id = ?1",
        "UPDATE tickets SET merged_into = ?2 WHERE merged_into = ?1",
        "UPDATE tickets SET merged_into = ?2 WHERE id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute(params![from, into])?;
    }
    Ok(())
}

pub(super) fn insert_message(conn: &Connection, m: &NewMessage<'_>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO messages (key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        m.key,
        m.message_id,
        m.ticket_id,
        stamp(m.received),
        m.envelope_sender,
        m.recipient,
        m.author,
        m.subject,
        m.body,
        m.raw.len() as i64,
        m.raw
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO messages_fts (rowid, subject, body) VALUES (?1, ?2, ?3)")?
        .execute(params![id, m.subject, m.body])?;
    Ok(id)
}

pub(super) fn stored(conn: &Connection, key: &str) -> Result<Option<Option<i64>>> {
    Ok(conn
        .prepare_cached("SELECT ticket_id FROM messages WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(super) fn ticket_for_message_ids(conn: &Connection, ids: &[String]) -> Result<Option<i64>> {
    let mut inbound = conn.prepare_cached(
        "SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL LIMIT 1",
    )?;
    let mut outbound = conn.prepare_cached(
        "SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL LIMIT 1",
    )?;
    for id in ids {
        if let Some(t) = inbound.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(t));
        }
        if let Some(t) = outbound.query_row([id], |r| r.get(0)).optional()? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

pub(super) fn add_history(conn: &Connection, ticket: i64, e: &NewEntry, now: Time) -> Result<()> {
    let now = stamp(now);
    conn.prepare_cached(
        "INSERT INTO history (ticket_id, kind, author, date, message, old, new, note, auto) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        ticket,
        e.kind.as_str(),
        e.author,
        now,
        e.message,
        e.old,
        e.new,
        e.note,
        e.auto
    ])?;
    conn.prepare_cached(
        "UPDATE tickets SET updated = max(updated, ?2), version = version + 1 WHERE id = ?1",
    )?
    .execute(params![ticket, now])?;
    Ok(())
}

pub(super) fn history(conn: &Connection, id: i64, with_raw: bool) -> Result<Vec<HistoryEntry>> {
    let raw = if with_raw { "m.raw" } else { "x''" };
    let mut stmt = conn.prepare(&format!(
        "SELECT h.kind, h.author, h.date, h.old, h.new, h.note, h.auto, m.id, m.message_id, m.subject, m.body, {raw}
         FROM history h LEFT JOIN messages m ON m.id = h.message WHERE h.ticket_id = ?1 ORDER BY h.date, h.id"
    ))?;
    let rows = stmt.query_map([id], |r| {
        let message = match r.get::<_, Option<i64>>(7)? {
            Some(mid) => Some(StoredMessage {
                id: mid,
                message_id: r.get(8)?,
                subject: r.get(9)?,
                body: r.get(10)?,
                raw: r.get(11)?,
            }),
            None => None,
        };
        let kind: String = r.get(0)?;
        Ok(HistoryEntry {
            kind: HistoryKind::parse(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("{kind:?} is not a history kind").into(),
                )
            })?,
            author: r.get(1)?,
            date: time_at(r, 2)?,
            old: r.get(3)?,
            new: r.get(4)?,
            note: r.get(5)?,
            auto: r.get(6)?,
            message,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const RAW_COLUMNS: &str = "id, author, received, envelope_sender, raw";

fn raw_from_row(r: &Row<'_>) -> rusqlite::Result<RawMessage> {
    Ok(RawMessage {
        id: r.get(0)?,
        author: r.get(1)?,
        received: time_at(r, 2)?,
        envelope_sender: r.get(3)?,
        raw: r.get(4)?,
    })
}

pub(super) fn raw_messages(conn: &Connection, id: i64) -> Result<Vec<RawMessage>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RAW_COLUMNS} FROM messages WHERE ticket_id = ?1 ORDER BY received, id"
    ))?;
    let rows = stmt.query_map([id], raw_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn message_by_key(conn: &Connection, key: &str) -> Result<Option<RawMessage>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {RAW_COLUMNS} FROM messages WHERE key = ?1"
        ))?
        .query_row([key], raw_from_row)
        .optional()?)
}

pub(super) fn bounces(conn: &Connection) -> Result<Vec<Bounce>> {
    let mut stmt = conn.prepare(
        "SELECT id, received, recipient, author, subject, message_id FROM messages WHERE ticket_id IS NULL ORDER BY id DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Bounce {
            id: r.get(0)?,
            received: time_at(r, 1)?,
            recipient: r.get(2)?,
            author: r.get(3)?,
            subject: r.get(4)?,
            message_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
