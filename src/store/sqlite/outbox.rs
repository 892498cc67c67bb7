//! The outbox: mail written in the same transaction as the change that
//! caused it, sent after the commit, never marked sent before it was. A
//! sending process holds a mail by a lease (`lease_token`, `lease_until`);
//! `next_attempt` is only the back-off after a failure.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{opt_time, time_at, word, SqliteTx};
use crate::model::*;
use crate::store::copy::OutboxRow;
use crate::store::{Due, Lease, Outbox};

/// The columns `outbox_from_row` reads and `put_outbox` writes, in order.
macro_rules! outbox_columns {
    () => {
        "id, ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, attempts, last_error, next_attempt, sent, lease_token, lease_until"
    };
}
pub(super) const OUTBOX_COLUMNS: &str = outbox_columns!();

/// A whole outbox row, as a copy takes it.
pub(super) fn outbox_from_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        ticket_id: r.get(1)?,
        kind: r.get(2)?,
        message_id: r.get(3)?,
        envelope_from: r.get(4)?,
        recipients: r.get(5)?,
        raw: r.get(6)?,
        created: time_at(r, 7)?,
        state: word(r, 8)?,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        next_attempt: time_at(r, 11)?,
        sent: opt_time(r, 12)?,
        lease_token: r.get(13)?,
        lease_until: opt_time(r, 14)?,
    })
}

/// Writes mail `o` (numbered by SQLite when `id` is None), or brings the
/// state of a stored one up to date; returns its id and whether a row
/// changed.
pub(super) fn put_outbox(conn: &Connection, id: Option<i64>, o: &OutboxRow) -> Result<(i64, bool)> {
    // A queued mail is a plain INSERT, parsed once per `deliver` process;
    // only the copy, which gives ids, brings a stored row up to date.
    macro_rules! insert {
        () => {
            concat!(
                "INSERT INTO outbox (",
                outbox_columns!(),
                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            )
        };
    }
    let sql = match id {
        None => insert!(),
        Some(_) => concat!(
            insert!(),
            " ON CONFLICT (id) DO UPDATE SET
                 state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error,
                 next_attempt = excluded.next_attempt, sent = excluded.sent,
                 lease_token = excluded.lease_token, lease_until = excluded.lease_until
             WHERE (state, attempts, last_error, next_attempt, sent, lease_token, lease_until)
                   IS NOT (excluded.state, excluded.attempts, excluded.last_error, excluded.next_attempt,
                           excluded.sent, excluded.lease_token, excluded.lease_until)"
        ),
    };
    let n = conn.prepare_cached(sql)?.execute(params![
        id,
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
    ])?;
    Ok((id.unwrap_or_else(|| conn.last_insert_rowid()), n == 1))
}

const QUEUED_COLUMNS: &str = "id, envelope_from, recipients, raw, attempts, kind";

fn queued_from_row(r: &Row<'_>) -> rusqlite::Result<QueuedMail> {
    let recipients: String = r.get(2)?;
    Ok(QueuedMail {
        id: r.get(0)?,
        envelope_from: r.get(1)?,
        recipients: recipients.lines().map(String::from).collect(),
        raw: r.get(3)?,
        attempts: r.get(4)?,
        kind: word(r, 5)?,
    })
}

const RECORD_COLUMNS: &str =
    "id, ticket_id, created, kind, recipients, state, attempts, last_error, next_attempt, lease_until, lease_token, sent";

fn record_from_row(r: &Row<'_>) -> rusqlite::Result<MailRecord> {
    let recipients: String = r.get(4)?;
    Ok(MailRecord {
        id: r.get(0)?,
        ticket: r.get(1)?,
        created: time_at(r, 2)?,
        kind: word(r, 3)?,
        recipients: recipients.lines().map(String::from).collect(),
        state: word(r, 5)?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        next_attempt: time_at(r, 8)?,
        leased_until: opt_time(r, 9)?,
        leased_by: r.get(10)?,
        sent: opt_time(r, 11)?,
    })
}

impl Outbox for SqliteTx<'_> {
    fn enqueue(
        &mut self,
        mail: &Outgoing,
        now: Time,
        state: MailState,
        lease: Option<&Lease>,
    ) -> Result<i64> {
        let row = OutboxRow::queued(mail, now, state, lease);
        Ok(put_outbox(self.conn, None, &row)?.0)
    }

    fn autoreplies_since(&mut self, addr: &str, since: Time) -> Result<u32> {
        Ok(self.conn
            .prepare_cached("SELECT count(*) FROM outbox WHERE kind = 'autoreply' AND recipients = ?1 AND created > ?2")?
            .query_row(params![addr, stamp(since)], |r| r.get(0))?)
    }

    fn mails_since(&mut self, kind: MailKind, addr: &str, since: Time) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM outbox WHERE kind = ?1 AND recipients = ?2 AND created > ?3",
            )?
            .query_row(params![kind.name(), addr, stamp(since)], |r| r.get(0))?)
    }

    fn lease_next(
        &mut self,
        after: i64,
        due: Due,
        now: Time,
        lease: &Lease,
    ) -> Result<Option<QueuedMail>> {
        // One statement under the write lock: whoever runs it first takes the
        // row, and the second sees it held.
        let sql = format!(
            "UPDATE outbox SET lease_token = ?3, lease_until = ?4
             WHERE id = (SELECT id FROM outbox
                         WHERE state = 'queued' AND id > ?1
                           AND (lease_until IS NULL OR lease_until <= ?2)
                           AND (?5 OR next_attempt <= ?2)
                         ORDER BY id LIMIT 1)
             RETURNING {QUEUED_COLUMNS}"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(
                params![
                    after,
                    stamp(now),
                    lease.token,
                    stamp(lease.until),
                    due == Due::All
                ],
                queued_from_row,
            )
            .optional()?)
    }

    fn leased(&mut self, ids: &[i64], lease: &Lease) -> Result<Vec<QueuedMail>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {QUEUED_COLUMNS} FROM outbox WHERE id = ?1 AND state = 'queued' AND lease_token = ?2"
        ))?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(q) = stmt
                .query_row(params![id, lease.token], queued_from_row)
                .optional()?
            {
                out.push(q);
            }
        }
        Ok(out)
    }

    fn mark_sent(&mut self, id: i64, lease: &Lease, now: Time) -> Result<bool> {
        Ok(self.conn
            .prepare_cached(
                "UPDATE outbox SET state = 'sent', sent = ?3, attempts = attempts + 1, last_error = NULL,
                                   lease_token = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_token = ?2",
            )?
            .execute(params![id, lease.token, stamp(now)])?
            == 1)
    }

    fn mark_failed(&mut self, id: i64, lease: &Lease, error: &str, retry: Time) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, next_attempt = ?4,
                               lease_token = NULL, lease_until = NULL
             WHERE id = ?1 AND lease_token = ?2",
            )?
            .execute(params![id, lease.token, error, stamp(retry)])?;
        Ok(())
    }

    fn release(&mut self, id: i64, token: &str) -> Result<bool> {
        Ok(self.conn
            .prepare_cached(
                "UPDATE outbox SET lease_token = NULL, lease_until = NULL WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token])?
            == 1)
    }

    fn ticket_mail(&mut self, id: i64) -> Result<Vec<MailRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM outbox WHERE ticket_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([id], record_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn queued_mail(&mut self) -> Result<Vec<MailRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECORD_COLUMNS} FROM outbox WHERE state = 'queued' ORDER BY id"
        ))?;
        let rows = stmt.query_map([], record_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
