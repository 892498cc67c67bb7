//! Tickets, the messages on them, watchers, merges and history rows: the
//! `Tickets` concept, and the one INSERT and row reader of each of these
//! tables, which the copy (`copy.rs`) uses too.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{opt_time, time_at, word, SqliteTx};
use crate::address::Address;
use crate::model::*;
use crate::store::copy::{HistoryRow, MessageRow};
use crate::store::Tickets;

/// The columns `ticket_from_row` reads, in its order.
pub(super) const TICKET_COLUMNS: &str =
    "t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated, t.version, t.merged_into, t.due, t.sla";

/// How many columns `TICKET_COLUMNS` names: a statement's own columns
/// after them start here.
pub(super) const TICKET_WIDTH: usize = 13;

/// A ticket from a row whose first columns are `TICKET_COLUMNS` (watchers
/// and merged tickets are read separately).
pub(super) fn ticket_from_row(row: &Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: row.get(0)?,
        queue: row.get(1)?,
        subject: row.get(2)?,
        status: word(row, 3)?,
        requestor: row.get(4)?,
        owner: row.get(5)?,
        priority: row.get(6)?,
        watchers: Vec::new(),
        created: time_at(row, 7)?,
        updated: time_at(row, 8)?,
        version: row.get(9)?,
        merged_into: row.get(10)?,
        merged: Vec::new(),
        due: opt_time(row, 11)?,
        sla: crate::store::sla_of(row.get::<_, Option<String>>(12)?.as_deref()).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Text, e.into())
        })?,
    })
}

/// Writes ticket `t` (not its watchers, nor `merged_into`: a merge is its
/// own change): a new one numbered by SQLite when `id` is None, else as
/// numbered, bringing a stored one up to date. Returns its number and
/// whether a row changed.
pub(super) fn write_ticket(conn: &Connection, id: Option<i64>, t: &Ticket) -> Result<(i64, bool)> {
    // The new ticket of a delivery is a plain INSERT: SQLite parses each
    // statement once per process, and `deliver` is a process per message
    // (the upsert's clauses cost 200,000 instructions to parse, measured
    // by bench/ab.py). Only the copy, which gives ids, needs the upsert.
    macro_rules! insert {
        () => {
            "INSERT INTO tickets (id, queue, subject, status, requestor, owner, priority, created, updated, version, due, sla, sla_due)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        };
    }
    let sql = match id {
        None => insert!(),
        Some(_) => concat!(
            insert!(),
            " ON CONFLICT (id) DO UPDATE SET
                 queue = excluded.queue, subject = excluded.subject, status = excluded.status,
                 requestor = excluded.requestor, owner = excluded.owner, priority = excluded.priority,
                 created = excluded.created, updated = excluded.updated, version = excluded.version,
                 due = excluded.due, sla = excluded.sla, sla_due = excluded.sla_due
             WHERE (queue, subject, status, requestor, owner, priority, created, updated, version, due, sla)
                   IS NOT (excluded.queue, excluded.subject, excluded.status, excluded.requestor,
                           excluded.owner, excluded.priority, excluded.created, excluded.updated,
                           excluded.version, excluded.due, excluded.sla)"
        ),
    };
    let (sla, sla_due) = crate::store::sla_columns(t)?;
    let n = conn.prepare_cached(sql)?.execute(params![
        id,
        t.queue,
        t.subject,
        t.status.as_str(),
        t.requestor,
        t.owner,
        t.priority,
        stamp(t.created),
        stamp(t.updated),
        t.version,
        t.due.map(stamp),
        sla,
        sla_due.map(stamp)
    ])?;
    Ok((id.unwrap_or_else(|| conn.last_insert_rowid()), n == 1))
}

pub(super) fn watchers(conn: &Connection, id: i64) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare_cached("SELECT address FROM watchers WHERE ticket_id = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Adds a watcher; false when it was one already.
pub(super) fn add_watcher(conn: &Connection, id: i64, address: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("INSERT OR IGNORE INTO watchers (ticket_id, address) VALUES (?1, ?2)")?
        .execute(params![id, address])?
        == 1)
}

/// The columns `message_from_row` reads, in its order.
pub(super) const MESSAGE_COLUMNS: &str =
    "id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, raw";

/// A whole message row, as a copy takes it.
pub(super) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
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

/// Stores message `m` (numbered by SQLite when `id` is None) and indexes
/// it for search; None when a message with its key or id is stored.
pub(super) fn put_message(
    conn: &Connection,
    id: Option<i64>,
    m: &NewMessage<'_>,
) -> Result<Option<i64>> {
    let n = conn
        .prepare_cached(
            "INSERT INTO messages (id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            id,
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
    if n == 0 {
        return Ok(None);
    }
    let id = id.unwrap_or_else(|| conn.last_insert_rowid());
    conn.prepare_cached("INSERT INTO messages_fts (rowid, subject, body) VALUES (?1, ?2, ?3)")?
        .execute(params![id, m.subject, m.body])?;
    Ok(Some(id))
}

/// Marks `address` as a sender of spam by `ticket` at `marked`, or brings
/// its mark up to date (staff marked a later ticket of theirs, or a copy
/// brings the source's); false when it was so already. The one write of
/// `spam_senders`, which the copy uses too.
pub(super) fn put_spam_sender(
    conn: &Connection,
    address: &str,
    ticket: i64,
    marked: Time,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO spam_senders (address, ticket_id, marked) VALUES (?1, ?2, ?3)
             ON CONFLICT (address) DO UPDATE SET ticket_id = excluded.ticket_id, marked = excluded.marked
             WHERE spam_senders.ticket_id != excluded.ticket_id OR spam_senders.marked != excluded.marked",
        )?
        .execute(params![address, ticket, stamp(marked)])?
        == 1)
}

/// The columns `history_from_row` reads, in its order.
pub(super) const HISTORY_COLUMNS: &str =
    "id, ticket_id, date, kind, author, message, old, new, note, auto, merged_from";

/// A whole history row, as a copy takes it.
pub(super) fn history_from_row(r: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        date: time_at(r, 2)?,
        entry: NewEntry {
            kind: word(r, 3)?,
            author: r.get(4)?,
            message: r.get(5)?,
            old: r.get(6)?,
            new: r.get(7)?,
            note: r.get(8)?,
            auto: r.get(9)?,
        },
        merged_from: r.get(10)?,
    })
}

/// Writes history entry `e` of `ticket` at `date` (numbered by SQLite when
/// `id` is None; `merged_from` as a merge set it, for a copied row); false
/// when one with its id is stored.
pub(super) fn put_history(
    conn: &Connection,
    id: Option<i64>,
    ticket: i64,
    e: &NewEntry,
    date: Time,
    merged_from: Option<i64>,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO history (id, ticket_id, kind, author, date, message, old, new, note, auto, merged_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            id,
            ticket,
            e.kind.as_str(),
            e.author,
            stamp(date),
            e.message,
            e.old,
            e.new,
            e.note,
            e.auto,
            merged_from
        ])?
        == 1)
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

impl Tickets for SqliteTx<'_> {
    fn ticket(&mut self, id: i64) -> Result<Option<Ticket>> {
        let Some(mut t) = self
            .conn
            .prepare_cached(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"
            ))?
            .query_row([id], ticket_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        t.watchers = watchers(self.conn, id)?;
        Ok(Some(t))
    }

    fn merged(&mut self, id: i64) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM tickets WHERE merged_into = ?1 ORDER BY id")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn create_ticket(
        &mut self,
        queue: &str,
        subject: &str,
        requestor: &str,
        watchers: &[String],
        now: Time,
    ) -> Result<i64> {
        let ticket = Ticket::opened(queue, subject, requestor, now);
        let (id, _) = write_ticket(self.conn, None, &ticket)?;
        for w in watchers {
            add_watcher(self.conn, id, w)?;
        }
        Ok(id)
    }

    fn add_watcher(&mut self, id: i64, address: &str) -> Result<bool> {
        add_watcher(self.conn, id, address)
    }

    fn remove_watcher(&mut self, id: i64, address: &Address) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM watchers WHERE ticket_id = ?1 AND address = ?2")?
            .execute(params![id, address.as_str()])?
            == 1)
    }

    fn set_sla(&mut self, t: &Ticket) -> Result<()> {
        let (sla, sla_due) = crate::store::sla_columns(t)?;
        self.conn
            .prepare_cached("UPDATE tickets SET sla = ?2, sla_due = ?3 WHERE id = ?1")?
            .execute(params![t.id, sla, sla_due.map(stamp)])?;
        Ok(())
    }

    fn set_status(&mut self, id: i64, status: Status) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE tickets SET status = ?2 WHERE id = ?1")?
            .execute(params![id, status.as_str()])?;
        Ok(())
    }

    fn set_queue(&mut self, id: i64, queue: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE tickets SET queue = ?2 WHERE id = ?1")?
            .execute(params![id, queue])?;
        Ok(())
    }

    fn set_fields(&mut self, id: i64, f: &crate::store::Fields) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE tickets SET subject = ?2, requestor = ?3, priority = ?4, due = ?5 WHERE id = ?1",
            )?
            .execute(params![id, f.subject, f.requestor, f.priority, f.due.map(stamp)])?;
        Ok(())
    }

    fn mark_spam_sender(
        &mut self,
        address: &crate::address::Address,
        ticket: i64,
        now: Time,
    ) -> Result<()> {
        put_spam_sender(self.conn, address, ticket, now)?;
        Ok(())
    }

    fn forget_spam_sender(&mut self, address: &crate::address::Address) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("DELETE FROM spam_senders WHERE address = ?1")?
            .execute(params![address.as_str()])?
            == 1)
    }

    fn is_spam_sender(&mut self, address: &crate::address::Address) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM spam_senders WHERE address = ?1")?
            .query_row(params![address.as_str()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn set_owner(&mut self, id: i64, owner: Option<&Address>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE tickets SET owner = ?2 WHERE id = ?1")?
            .execute(params![id, owner.map(Address::as_str)])?;
        Ok(())
    }

    fn merge(&mut self, from: i64, into: i64) -> Result<()> {
        for sql in [
            "UPDATE messages SET ticket_id = ?2 WHERE ticket_id = ?1",
            // The first ticket an entry was written on stays its origin
            // through a chain of merges (SPEC §5 `merged_from`).
            "UPDATE history SET ticket_id = ?2, merged_from = coalesce(merged_from, ?1) WHERE ticket_id = ?1",
            "UPDATE tickets SET merged_into = ?2 WHERE merged_into = ?1",
            "UPDATE tickets SET merged_into = ?2 WHERE id = ?1",
        ] {
            self.conn
                .prepare_cached(sql)?
                .execute(params![from, into])?;
        }
        Ok(())
    }

    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<i64> {
        put_message(self.conn, None, m)?
            .ok_or_else(|| anyhow::anyhow!("a message with key {:?} is stored already", m.key))
    }

    fn stored(&mut self, key: &str) -> Result<Option<Option<i64>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT ticket_id FROM messages WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn ticket_for_message_ids(&mut self, ids: &[String]) -> Result<Option<i64>> {
        // A new request names no parent: nothing to prepare. Otherwise one
        // statement, not one for each table (each prepare costs a
        // `deliver` process 40,000 instructions): for each parent in
        // order, a stored message before a mail we sent.
        if ids.is_empty() {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT coalesce(
                 (SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL LIMIT 1),
                 (SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL LIMIT 1))",
        )?;
        for id in ids {
            if let Some(t) = stmt.query_row([id], |r| r.get::<_, Option<i64>>(0))? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    fn add_history(&mut self, ticket: i64, e: &NewEntry, now: Time) -> Result<()> {
        put_history(self.conn, None, ticket, e, now, None)?;
        self.written.push((ticket, e.clone()));
        self.conn
            .prepare_cached(
                "UPDATE tickets SET updated = max(updated, ?2), version = version + 1 WHERE id = ?1",
            )?
            .execute(params![ticket, stamp(now)])?;
        Ok(())
    }

    fn count_entries(
        &mut self,
        ticket: i64,
        kind: HistoryKind,
        author: &str,
        new: Option<&str>,
        old: Option<&str>,
        since: Time,
    ) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM history WHERE ticket_id = ?1 AND kind = ?2 AND author = ?3
                   AND (?4 IS NULL OR new = ?4) AND (?5 IS NULL OR old = ?5) AND date >= ?6",
            )?
            .query_row(
                params![ticket, kind.as_str(), author, new, old, stamp(since)],
                |r| r.get(0),
            )?;
        Ok(n.max(0) as u64)
    }

    fn history(&mut self, id: i64, with_raw: bool) -> Result<Vec<HistoryEntry>> {
        let raw = if with_raw { "m.raw" } else { "x''" };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT h.kind, h.author, h.date, h.old, h.new, h.note, h.auto, m.id, m.message_id, m.subject, m.body, {raw}, h.merged_from
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
            Ok(HistoryEntry {
                kind: word(r, 0)?,
                author: r.get(1)?,
                date: time_at(r, 2)?,
                old: r.get(3)?,
                new: r.get(4)?,
                note: r.get(5)?,
                auto: r.get(6)?,
                message,
                merged_from: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn raw_messages(&mut self, id: i64) -> Result<Vec<RawMessage>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RAW_COLUMNS} FROM messages WHERE ticket_id = ?1 ORDER BY received, id"
        ))?;
        let rows = stmt.query_map([id], raw_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn message_by_key(&mut self, key: &str) -> Result<Option<RawMessage>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {RAW_COLUMNS} FROM messages WHERE key = ?1"
            ))?
            .query_row([key], raw_from_row)
            .optional()?)
    }

    fn stored_message(&mut self, id: i64, bytes: usize) -> Result<Option<StoredMessage>> {
        let head = i64::try_from(bytes).unwrap_or(i64::MAX);
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, message_id, subject, body, substr(raw, 1, ?2) FROM messages WHERE id = ?1",
            )?
            .query_row(params![id, head], |r| {
                Ok(StoredMessage {
                    id: r.get(0)?,
                    message_id: r.get(1)?,
                    subject: r.get(2)?,
                    body: r.get(3)?,
                    raw: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn opening_head(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        let head = crate::store::THREAD_HEAD as i64;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT substr(raw, 1, ?2) FROM messages WHERE ticket_id = ?1 ORDER BY id LIMIT 1",
            )?
            .query_row(params![id, head], |r| r.get(0))
            .optional()?)
    }

    fn last_exchanged_with(&mut self, id: i64, address: &str) -> Result<Option<(String, Vec<u8>)>> {
        let head = crate::store::THREAD_HEAD as i64;
        let from_them = self
            .conn
            .prepare_cached(
                "SELECT message_id, substr(raw, 1, ?3) FROM messages
                 WHERE ticket_id = ?1 AND message_id IS NOT NULL AND lower(author) = lower(?2)
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![id, address, head], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if from_them.is_some() {
            return Ok(from_them);
        }
        // Recipients are one lowercased address a line.
        Ok(self
            .conn
            .prepare_cached(
                "SELECT message_id, substr(raw, 1, ?3) FROM outbox
                 WHERE ticket_id = ?1
                   AND instr(char(10) || recipients || char(10), char(10) || lower(?2) || char(10)) > 0
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![id, address, head], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn bounces(&mut self) -> Result<Vec<Bounce>> {
        let mut stmt = self.conn.prepare(
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
}
