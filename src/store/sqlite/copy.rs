//! SQLite's side of copying a desk (`store::copy`): rows dumped in key
//! order, loaded with their ids and numbers as they were, the full-text
//! index filled for each message that is new here. SQLite's change feed is
//! its history (ids handed out under the one write lock are in commit
//! order): its `changes` are the last history rows, and changes loaded
//! here are already here as history.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::tickets::{ticket_from_row, time_at, watchers, TICKET_COLUMNS};
use crate::model::*;
use crate::store::copy::{
    history_kind, mail_state, Extent, HistoryRow, Marks, MessageRow, OutboxRow, PasswordRow, Pick,
    Rows, Table,
};

fn extent(conn: &Connection, table: &str, key: &str) -> Result<Extent> {
    let (rows, max): (i64, Option<i64>) = conn.query_row(
        &format!("SELECT count(*), max({key}) FROM {table}"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Extent {
        rows,
        max: max.unwrap_or(0),
    })
}

pub(super) fn marks(conn: &Connection) -> Result<Marks> {
    let accounts: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM staff_passwords) + (SELECT count(*) FROM credentials)",
        [],
        |r| r.get(0),
    )?;
    Ok(Marks {
        tickets: extent(conn, "tickets", "id")?,
        messages: extent(conn, "messages", "id")?,
        history: extent(conn, "history", "id")?,
        outbox: extent(conn, "outbox", "id")?,
        // The feed a copy takes: the last FEED_KEEP history rows.
        changes: {
            let h = extent(conn, "history", "id")?;
            Extent {
                rows: h.rows.min(FEED_KEEP),
                max: h.max,
            }
        },
        accounts,
        copied_feed: conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'copied_feed'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok()),
    })
}

/// How much of the feed a copy takes (SPEC §6 asks a server to replay the
/// last 10,000 changes).
const FEED_KEEP: i64 = 20_000;

/// Rows of `sql` (whose first parameter is the key to continue after),
/// stopping at `max_rows`, or once `size` of the rows read passes
/// `max_bytes`.
fn take<T>(
    conn: &Connection,
    sql: &str,
    after: i64,
    max_rows: usize,
    max_bytes: usize,
    read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    size: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([after])?;
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    while let Some(r) = rows.next()? {
        let item = read(r)?;
        bytes = bytes.saturating_add(size(&item));
        out.push(item);
        if out.len() >= max_rows || bytes >= max_bytes {
            break;
        }
    }
    Ok(out)
}

fn message_from_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        key: r.get(1)?,
        message_id: r.get(2)?,
        ticket_id: r.get(3)?,
        received: time_at(r, 4)?,
        envelope_sender: r.get(5)?,
        recipient: r.get(6)?,
        author: r.get(7)?,
        subject: r.get(8)?,
        body: r.get(9)?,
        raw: r.get(10)?,
    })
}

fn conversion(i: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
}

fn history_from_row(r: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    let kind: String = r.get(2)?;
    Ok(HistoryRow {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        kind: history_kind(&kind).map_err(|e| conversion(2, e.to_string()))?,
        author: r.get(3)?,
        date: time_at(r, 4)?,
        message: r.get(5)?,
        old: r.get(6)?,
        new: r.get(7)?,
        note: r.get(8)?,
        auto: r.get(9)?,
    })
}

fn opt_time(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Time>> {
    match r.get::<_, Option<String>>(i)? {
        Some(s) => parse_stamp(&s)
            .map(Some)
            .ok_or_else(|| conversion(i, format!("{s:?} is not a time"))),
        None => Ok(None),
    }
}

const OUTBOX_COLUMNS: &str = "id, ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, attempts, last_error, next_attempt, sent, lease_token, lease_until";

fn outbox_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    let state: String = r.get(8)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        kind: r.get(2)?,
        message_id: r.get(3)?,
        envelope_from: r.get(4)?,
        recipients: r.get(5)?,
        raw: r.get(6)?,
        created: time_at(r, 7)?,
        state: mail_state(&state).map_err(|e| conversion(8, e.to_string()))?,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        next_attempt: time_at(r, 11)?,
        sent: opt_time(r, 12)?,
        lease_token: r.get(13)?,
        lease_until: opt_time(r, 14)?,
    })
}

pub(super) fn dump(
    conn: &Connection,
    table: Table,
    pick: Pick<'_>,
    max_rows: usize,
    max_bytes: usize,
) -> Result<Rows> {
    Ok(match (table, pick) {
        (Table::Tickets, Pick::After(after)) => {
            let mut tickets = take(
                conn,
                &format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id > ?1 ORDER BY t.id"),
                after,
                max_rows,
                usize::MAX,
                ticket_from_row,
                |_| 0,
            )?;
            for t in &mut tickets {
                t.watchers = watchers(conn, t.id)?;
            }
            Rows::Tickets(tickets)
        }
        (Table::Tickets, Pick::Ids(ids)) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"
            ))?;
            let mut tickets = Vec::new();
            for id in ids {
                if let Some(mut t) = stmt.query_row([id], ticket_from_row).optional()? {
                    t.watchers = watchers(conn, t.id)?;
                    tickets.push(t);
                }
            }
            Rows::Tickets(tickets)
        }
        (Table::Messages, Pick::After(after)) => Rows::Messages(take(
            conn,
            "SELECT id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, raw
             FROM messages WHERE id > ?1 ORDER BY id",
            after,
            max_rows,
            max_bytes,
            message_from_row,
            |m| m.raw.len(),
        )?),
        (Table::History, Pick::After(after)) => Rows::History(take(
            conn,
            "SELECT id, ticket_id, kind, author, date, message, old, new, note, auto
             FROM history WHERE id > ?1 ORDER BY id",
            after,
            max_rows,
            usize::MAX,
            history_from_row,
            |_| 0,
        )?),
        (Table::Outbox, Pick::After(after)) => Rows::Outbox(take(
            conn,
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id > ?1 ORDER BY id"),
            after,
            max_rows,
            max_bytes,
            outbox_from_row,
            |o| o.raw.len(),
        )?),
        (Table::Outbox, Pick::Ids(ids)) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"
            ))?;
            let mut rows = Vec::new();
            for id in ids {
                if let Some(o) = stmt.query_row([id], outbox_from_row).optional()? {
                    rows.push(o);
                }
            }
            Rows::Outbox(rows)
        }
        (Table::Changes, Pick::After(after)) => Rows::Changes(take(
            conn,
            "SELECT id, ticket_id, date FROM history WHERE id > ?1 ORDER BY id",
            after.max(
                conn.query_row("SELECT coalesce(max(id), 0) FROM history", [], |r| {
                    r.get::<_, i64>(0)
                })? - FEED_KEEP,
            ),
            max_rows,
            usize::MAX,
            |r| {
                Ok((
                    Change {
                        seq: r.get(0)?,
                        ticket: r.get(1)?,
                    },
                    time_at(r, 2)?,
                ))
            },
            |_| 0,
        )?),
        (Table::Accounts, _) => {
            let mut stmt =
                conn.prepare("SELECT address, hash, updated FROM staff_passwords ORDER BY address")?;
            let passwords = stmt
                .query_map([], |r| {
                    Ok(PasswordRow {
                        address: r.get(0)?,
                        hash: r.get(1)?,
                        updated: time_at(r, 2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = conn.prepare(
                "SELECT kind, secret_hash, address, created, expires FROM credentials ORDER BY secret_hash",
            )?;
            let credentials = stmt
                .query_map([], |r| {
                    let kind: String = r.get(0)?;
                    Ok(Credential {
                        kind: match kind.as_str() {
                            "session" => CredentialKind::Session,
                            "token" => CredentialKind::Token,
                            _ => return Err(conversion(0, format!("credential kind {kind:?}"))),
                        },
                        secret_hash: r.get(1)?,
                        address: r.get(2)?,
                        created: time_at(r, 3)?,
                        expires: opt_time(r, 4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Rows::Accounts(passwords, credentials)
        }
        (Table::Merges, _) => {
            let mut stmt = conn.prepare(
                "SELECT id, merged_into FROM tickets WHERE merged_into IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Rows::Merges(rows)
        }
        (Table::Placement, Pick::Ids(ids)) => {
            let mut m = conn.prepare_cached("SELECT id, ticket_id FROM messages WHERE ticket_id = ?1")?;
            let mut h = conn.prepare_cached("SELECT id, ticket_id FROM history WHERE ticket_id = ?1")?;
            let (mut messages, mut history) = (Vec::new(), Vec::new());
            for id in ids {
                for row in m.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))? {
                    messages.push(row?);
                }
                for row in h.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))? {
                    history.push(row?);
                }
            }
            Rows::Placement(messages, history)
        }
        (table, pick) => anyhow::bail!("no dump of {table:?} by {pick:?}"),
    })
}

pub(super) fn load(conn: &Connection, rows: &Rows) -> Result<u64> {
    let mut written = 0u64;
    match rows {
        Rows::Tickets(tickets) => {
            let mut upsert = conn.prepare_cached(
                "INSERT INTO tickets (id, queue, subject, status, requestor, owner, priority, created, updated, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (id) DO UPDATE SET
                     queue = excluded.queue, subject = excluded.subject, status = excluded.status,
                     requestor = excluded.requestor, owner = excluded.owner, priority = excluded.priority,
                     created = excluded.created, updated = excluded.updated, version = excluded.version
                 WHERE (queue, subject, status, requestor, owner, priority, created, updated, version)
                       IS NOT (excluded.queue, excluded.subject, excluded.status, excluded.requestor,
                               excluded.owner, excluded.priority, excluded.created, excluded.updated,
                               excluded.version)",
            )?;
            for t in tickets {
                let mut changed = upsert.execute(params![
                    t.id,
                    t.queue,
                    t.subject,
                    t.status.as_str(),
                    t.requestor,
                    t.owner,
                    t.priority,
                    stamp(t.created),
                    stamp(t.updated),
                    t.version
                ])? as u64;
                if watchers(conn, t.id)? != t.watchers {
                    conn.prepare_cached("DELETE FROM watchers WHERE ticket_id = ?1")?
                        .execute([t.id])?;
                    let mut add = conn.prepare_cached(
                        "INSERT OR IGNORE INTO watchers (ticket_id, address) VALUES (?1, ?2)",
                    )?;
                    for w in &t.watchers {
                        add.execute(params![t.id, w])?;
                    }
                    changed = 1;
                }
                written += changed;
            }
        }
        Rows::Messages(messages) => {
            let mut insert = conn.prepare_cached(
                "INSERT OR IGNORE INTO messages (id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut index = conn.prepare_cached(
                "INSERT INTO messages_fts (rowid, subject, body) VALUES (?1, ?2, ?3)",
            )?;
            for m in messages {
                let n = insert.execute(params![
                    m.id,
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
                if n == 1 {
                    index.execute(params![m.id, m.subject, m.body])?;
                }
                written += n as u64;
            }
        }
        Rows::History(history) => {
            let mut insert = conn.prepare_cached(
                "INSERT OR IGNORE INTO history (id, ticket_id, kind, author, date, message, old, new, note, auto)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for h in history {
                written += insert.execute(params![
                    h.id,
                    h.ticket_id,
                    h.kind.as_str(),
                    h.author,
                    stamp(h.date),
                    h.message,
                    h.old,
                    h.new,
                    h.note,
                    h.auto
                ])? as u64;
            }
        }
        Rows::Outbox(mail) => {
            let mut upsert = conn.prepare_cached(&format!(
                "INSERT INTO outbox ({OUTBOX_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (id) DO UPDATE SET
                     state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error,
                     next_attempt = excluded.next_attempt, sent = excluded.sent,
                     lease_token = excluded.lease_token, lease_until = excluded.lease_until
                 WHERE (state, attempts, last_error, next_attempt, sent, lease_token, lease_until)
                       IS NOT (excluded.state, excluded.attempts, excluded.last_error, excluded.next_attempt,
                               excluded.sent, excluded.lease_token, excluded.lease_until)"
            ))?;
            for o in mail {
                written += upsert.execute(params![
                    o.id,
                    o.ticket_id,
                    o.kind,
                    o.message_id,
                    o.envelope_from,
                    o.recipients,
                    o.raw,
                    stamp(o.created),
                    o.state.as_str(),
                    o.attempts,
                    o.last_error,
                    stamp(o.next_attempt),
                    o.sent.map(stamp),
                    o.lease_token,
                    o.lease_until.map(stamp)
                ])? as u64;
            }
        }
        // The feed here is the history, copied already.
        Rows::Changes(_) => {}
        Rows::Accounts(passwords, credentials) => {
            let mut pw = conn.prepare_cached(
                "INSERT INTO staff_passwords (address, hash, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (address) DO UPDATE SET hash = excluded.hash, updated = excluded.updated
                 WHERE (hash, updated) IS NOT (excluded.hash, excluded.updated)",
            )?;
            for p in passwords {
                written += pw.execute(params![p.address, p.hash, stamp(p.updated)])? as u64;
            }
            let mut cr = conn.prepare_cached(
                "INSERT OR IGNORE INTO credentials (secret_hash, kind, address, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for c in credentials {
                written += cr.execute(params![
                    c.secret_hash,
                    c.kind.as_str(),
                    c.address,
                    stamp(c.created),
                    c.expires.map(stamp)
                ])? as u64;
            }
        }
        Rows::Merges(merges) => {
            let mut set = conn.prepare_cached(
                "UPDATE tickets SET merged_into = ?2 WHERE id = ?1 AND merged_into IS NOT ?2",
            )?;
            for (id, into) in merges {
                written += set.execute(params![id, into])? as u64;
            }
        }
        Rows::Placement(messages, history) => {
            let mut m = conn.prepare_cached(
                "UPDATE messages SET ticket_id = ?2 WHERE id = ?1 AND ticket_id IS NOT ?2",
            )?;
            for (id, ticket) in messages {
                written += m.execute(params![id, ticket])? as u64;
            }
            let mut h = conn.prepare_cached(
                "UPDATE history SET ticket_id = ?2 WHERE id = ?1 AND ticket_id IS NOT ?2",
            )?;
            for (id, ticket) in history {
                written += h.execute(params![id, ticket])? as u64;
            }
        }
    }
    Ok(written)
}

pub(super) fn adopt_desk_id(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'desk_id'", [id])?;
    Ok(())
}

pub(super) fn finish_copy(conn: &Connection, source_seq: Option<i64>) -> Result<()> {
    // Tickets, messages, history and mail take max(id) + 1 by themselves
    // (INTEGER PRIMARY KEY), and the feed is the history: only the source's
    // position is kept, for the next copy.
    match source_seq {
        Some(seq) => conn.execute(
            "INSERT INTO meta (key, value) VALUES ('copied_feed', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [seq.to_string()],
        )?,
        None => conn.execute("DELETE FROM meta WHERE key = 'copied_feed'", [])?,
    };
    Ok(())
}
