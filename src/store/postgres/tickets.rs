//! Tickets, the messages on them, watchers, merges and history rows. In a
//! writing transaction every read of a ticket locks its row, so that the
//! desk's decision (reopen? already resolved? which version?) is made on
//! what no other host can change until this transaction ends.

use anyhow::Result;
use postgres::Row;

use super::{get, opt_text, text, ticket_columns, word, PgTx};
use crate::model::*;
use crate::store::Tickets;

/// A ticket from a row whose first columns are `ticket_columns!()`.
pub(super) fn ticket_from_row(row: &Row) -> Result<Ticket> {
    Ok(Ticket {
        id: get(row, 0)?,
        queue: get(row, 1)?,
        subject: get(row, 2)?,
        status: word(row, 3)?,
        requestor: get(row, 4)?,
        owner: get(row, 5)?,
        priority: get(row, 6)?,
        watchers: Vec::new(),
        created: get(row, 7)?,
        updated: get(row, 8)?,
        version: get(row, 9)?,
        merged_into: get(row, 10)?,
        merged: Vec::new(),
    })
}

/// What a store keeps of a time: the second (model::to_second).
fn sec(t: Time) -> Time {
    to_second(t)
}

pub(super) fn watchers(tx: &mut PgTx<'_>, id: i64) -> Result<Vec<String>> {
    tx.rows(
        "SELECT address FROM watchers WHERE ticket_id = $1 ORDER BY seq",
        &[&id],
    )?
    .iter()
    .map(|r| get(r, 0))
    .collect()
}

fn raw_from_row(r: &Row) -> Result<RawMessage> {
    Ok(RawMessage {
        id: get(r, 0)?,
        author: get(r, 1)?,
        received: get(r, 2)?,
        envelope_sender: get(r, 3)?,
        raw: get(r, 4)?,
    })
}

impl Tickets for PgTx<'_> {
    fn ticket(&mut self, id: i64) -> Result<Option<Ticket>> {
        let tx = self;
        // One statement with its watchers: a delivery reads its ticket two or
        // three times, each a round trip. FOR NO KEY UPDATE
        // is the weakest lock that still makes a second writer wait (§13.3.2);
        // it does not block the foreign keys that point here.
        let row = if tx.writes() {
            tx.opt(
                concat!("SELECT ", ticket_columns!(), ",
                        ARRAY(SELECT w.address FROM watchers w WHERE w.ticket_id = t.id ORDER BY w.seq)
                 FROM tickets t WHERE t.id = $1 FOR NO KEY UPDATE OF t"),
                &[&id],
            )?
        } else {
            tx.opt(
                concat!("SELECT ", ticket_columns!(), ",
                        ARRAY(SELECT w.address FROM watchers w WHERE w.ticket_id = t.id ORDER BY w.seq)
                 FROM tickets t WHERE t.id = $1"),
                &[&id],
            )?
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let mut t = ticket_from_row(&row)?;
        t.watchers = get(&row, 11)?;
        Ok(Some(t))
    }

    fn merged(&mut self, id: i64) -> Result<Vec<i64>> {
        let tx = self;
        tx.rows(
            "SELECT id FROM tickets WHERE merged_into = $1 ORDER BY id",
            &[&id],
        )?
        .iter()
        .map(|r| get(r, 0))
        .collect()
    }

    fn create_ticket(
        &mut self,
        queue: &str,
        subject: &str,
        requestor: &str,
        watchers: &[String],
        now: Time,
    ) -> Result<i64> {
        let tx = self;
        // The ticket and its watchers in one statement, in the order given.
        let watchers: Vec<String> = watchers.iter().map(|w| text(w).into_owned()).collect();
        let row = tx.one(
            "WITH t AS (INSERT INTO tickets (queue, subject, status, requestor, created, updated)
                        VALUES ($1, $2, 'new', $3, $4, $4) RETURNING id),
                  w AS (INSERT INTO watchers (ticket_id, address)
                        SELECT t.id, u.a FROM t, unnest($5::text[]) WITH ORDINALITY AS u(a, ord)
                        ORDER BY u.ord
                        ON CONFLICT DO NOTHING)
             SELECT id FROM t",
            &[
                &text(queue),
                &text(subject),
                &text(requestor),
                &sec(now),
                &watchers,
            ],
        )?;
        get(&row, 0)
    }

    fn add_watcher(&mut self, id: i64, address: &str) -> Result<bool> {
        let tx = self;
        Ok(tx.exec(
            "INSERT INTO watchers (ticket_id, address) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&id, &text(address)],
        )? == 1)
    }

    fn remove_watcher(&mut self, id: i64, address: &str) -> Result<bool> {
        let tx = self;
        Ok(tx.exec(
            "DELETE FROM watchers WHERE ticket_id = $1 AND address = $2",
            &[&id, &text(address)],
        )? == 1)
    }

    fn set_status(&mut self, id: i64, status: Status) -> Result<()> {
        let tx = self;
        tx.exec(
            "UPDATE tickets SET status = $2 WHERE id = $1",
            &[&id, &status.as_str()],
        )?;
        Ok(())
    }

    fn set_owner(&mut self, id: i64, owner: Option<&str>) -> Result<()> {
        let tx = self;
        tx.exec(
            "UPDATE tickets SET owner = $2 WHERE id = $1",
            &[&id, &opt_text(owner)],
        )?;
        Ok(())
    }

    fn merge(&mut self, from: i64, into: i64) -> Result<()> {
        let tx = self;
        for sql in [
            "UPDATE messages SET ticket_id = $2 WHERE ticket_id = $1",
            "UPDATE history SET ticket_id = $2 WHERE ticket_id = $1",
            "UPDATE tickets SET merged_into = $2 WHERE merged_into = $1",
            "UPDATE tickets SET merged_into = $2 WHERE id = $1",
        ] {
            tx.exec(sql, &[&from, &into])?;
        }
        Ok(())
    }

    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<i64> {
        let tx = self;
        // The search column is computed by PostgreSQL from subject and body.
        let row = tx.one(
            "INSERT INTO messages (key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &text(m.key),
                &opt_text(m.message_id),
                &m.ticket_id,
                &sec(m.received),
                &opt_text(m.envelope_sender),
                &opt_text(m.recipient),
                &text(m.author),
                &text(m.subject),
                &text(m.body),
                &(m.raw.len() as i64),
                &m.raw,
            ],
        )?;
        get(&row, 0)
    }

    fn stored(&mut self, key: &str) -> Result<Option<Option<i64>>> {
        let tx = self;
        let key = text(key);
        if tx.writes() {
            // Two hosts delivering the same message take turns from here: the
            // second waits for the first to commit, then finds the message
            // (each READ COMMITTED statement sees what committed before it
            // began). The unique key is the backstop, see errors.rs.
            tx.exec(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&key],
            )?;
        }
        match tx.opt("SELECT ticket_id FROM messages WHERE key = $1", &[&key])? {
            Some(row) => Ok(Some(get(&row, 0)?)),
            None => Ok(None),
        }
    }

    fn ticket_for_message_ids(&mut self, ids: &[String]) -> Result<Option<i64>> {
        let tx = self;
        if ids.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = ids.iter().map(|i| text(i).into_owned()).collect();
        // One round trip for every parent: the nearest one that names a ticket
        // wins, a stored message before a mail we sent for the same id.
        let row = tx.opt(
            "SELECT ticket FROM (
                 SELECT u.ord, 0 AS src, (SELECT m.ticket_id FROM messages m
                                          WHERE m.message_id = u.id AND m.ticket_id IS NOT NULL LIMIT 1) AS ticket
                 FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)
                 UNION ALL
                 SELECT u.ord, 1, (SELECT o.ticket_id FROM outbox o
                                   WHERE o.message_id = u.id AND o.ticket_id IS NOT NULL LIMIT 1)
                 FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)
             ) found WHERE ticket IS NOT NULL ORDER BY ord, src LIMIT 1",
            &[&ids],
        )?;
        match row {
            Some(r) => Ok(Some(get(&r, 0)?)),
            None => Ok(None),
        }
    }

    fn add_history(&mut self, ticket: i64, e: &NewEntry, now: Time) -> Result<()> {
        let tx = self;
        let now = sec(now);
        // The entry, and the ticket's version and time, in one statement.
        tx.exec(
            "WITH h AS (INSERT INTO history (ticket_id, kind, author, date, message, old, new, note, auto)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))
             UPDATE tickets SET updated = greatest(updated, $4), version = version + 1 WHERE id = $1",
            &[
                &ticket,
                &e.kind.as_str(),
                &text(&e.author),
                &now,
                &e.message,
                &opt_text(e.old.as_deref()),
                &opt_text(e.new.as_deref()),
                &opt_text(e.note.as_deref()),
                &e.auto,
            ],
        )?;
        super::feed::touch(tx, ticket, now)
    }

    fn history(&mut self, id: i64, with_raw: bool) -> Result<Vec<HistoryEntry>> {
        let tx = self;
        let rows = if with_raw {
            tx.rows(
                "SELECT h.kind, h.author, h.date, h.old, h.new, h.note, h.auto, m.id, m.message_id, m.subject, m.body, m.raw
                 FROM history h LEFT JOIN messages m ON m.id = h.message WHERE h.ticket_id = $1 ORDER BY h.date, h.id",
                &[&id],
            )?
        } else {
            tx.rows(
                "SELECT h.kind, h.author, h.date, h.old, h.new, h.note, h.auto, m.id, m.message_id, m.subject, m.body, ''::bytea
                 FROM history h LEFT JOIN messages m ON m.id = h.message WHERE h.ticket_id = $1 ORDER BY h.date, h.id",
                &[&id],
            )?
        };
        rows.iter()
            .map(|r| {
                let message = match get::<Option<i64>>(r, 7)? {
                    Some(mid) => Some(StoredMessage {
                        id: mid,
                        message_id: get(r, 8)?,
                        subject: get(r, 9)?,
                        body: get(r, 10)?,
                        raw: get(r, 11)?,
                    }),
                    None => None,
                };
                Ok(HistoryEntry {
                    kind: word(r, 0)?,
                    author: get(r, 1)?,
                    date: get(r, 2)?,
                    old: get(r, 3)?,
                    new: get(r, 4)?,
                    note: get(r, 5)?,
                    auto: get(r, 6)?,
                    message,
                })
            })
            .collect()
    }

    fn raw_messages(&mut self, id: i64) -> Result<Vec<RawMessage>> {
        let tx = self;
        tx.rows(
            "SELECT id, author, received, envelope_sender, raw FROM messages WHERE ticket_id = $1 ORDER BY received, id",
            &[&id],
        )?
        .iter()
        .map(raw_from_row)
        .collect()
    }

    fn message_by_key(&mut self, key: &str) -> Result<Option<RawMessage>> {
        let tx = self;
        tx.opt(
            "SELECT id, author, received, envelope_sender, raw FROM messages WHERE key = $1",
            &[&text(key)],
        )?
        .as_ref()
        .map(raw_from_row)
        .transpose()
    }

    fn bounces(&mut self) -> Result<Vec<Bounce>> {
        let tx = self;
        tx.rows(
            "SELECT id, received, recipient, author, subject, message_id FROM messages WHERE ticket_id IS NULL ORDER BY id DESC",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Bounce {
                id: get(r, 0)?,
                received: get(r, 1)?,
                recipient: get(r, 2)?,
                author: get(r, 3)?,
                subject: get(r, 4)?,
                message_id: get(r, 5)?,
            })
        })
        .collect()
    }
}
