//! The outbox: mail written in the same transaction as the change that
//! caused it, sent after the commit, never marked sent before it was. A
//! sending process holds a mail by a lease (`lease_token`, `lease_until`);
//! `next_attempt` is only the back-off after a failure.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::tickets::time_at;
use crate::model::*;
use crate::store::{Due, Lease};

pub(super) fn enqueue(
    conn: &Connection,
    mail: &Outgoing,
    now: Time,
    state: MailState,
    lease: Option<&Lease>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, next_attempt, lease_token, lease_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?9, ?10)",
    )?
    .execute(params![
        mail.ticket_id,
        mail.kind.name(),
        mail.message_id,
        mail.envelope_from,
        mail.recipients.join("\n"),
        mail.raw,
        stamp(now),
        state.as_str(),
        lease.map(|l| l.token.as_str()),
        lease.map(|l| stamp(l.until)),
    ])?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn autoreplies_since(conn: &Connection, addr: &str, since: Time) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM outbox WHERE kind = 'autoreply' AND recipients = ?1 AND created > ?2")?
        .query_row(params![addr, stamp(since)], |r| r.get(0))?)
}

const QUEUED_COLUMNS: &str = "id, envelope_from, recipients, raw, attempts";

fn queued_from_row(r: &Row<'_>) -> rusqlite::Result<QueuedMail> {
    let recipients: String = r.get(2)?;
    Ok(QueuedMail {
        id: r.get(0)?,
        envelope_from: r.get(1)?,
        recipients: recipients.lines().map(String::from).collect(),
        raw: r.get(3)?,
        attempts: r.get(4)?,
    })
}

pub(super) fn lease_next(
    conn: &Connection,
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
    Ok(conn
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

pub(super) fn leased(conn: &Connection, ids: &[i64], lease: &Lease) -> Result<Vec<QueuedMail>> {
    let mut stmt = conn.prepare_cached(&format!(
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

pub(super) fn mark_sent(conn: &Connection, id: i64, lease: &Lease, now: Time) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET state = 'sent', sent = ?3, attempts = attempts + 1, last_error = NULL,
                               lease_token = NULL, lease_until = NULL
             WHERE id = ?1 AND lease_token = ?2",
        )?
        .execute(params![id, lease.token, stamp(now)])?
        == 1)
}

pub(super) fn mark_failed(
    conn: &Connection,
    id: i64,
    lease: &Lease,
    error: &str,
    retry: Time,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, next_attempt = ?4,
                           lease_token = NULL, lease_until = NULL
         WHERE id = ?1 AND lease_token = ?2",
    )?
    .execute(params![id, lease.token, error, stamp(retry)])?;
    Ok(())
}

pub(super) fn release(conn: &Connection, id: i64, token: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE outbox SET lease_token = NULL, lease_until = NULL WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
        )?
        .execute(params![id, token])?
        == 1)
}

const RECORD_COLUMNS: &str =
    "id, ticket_id, created, kind, recipients, state, attempts, last_error, next_attempt, lease_until, lease_token";

fn record_from_row(r: &Row<'_>) -> rusqlite::Result<MailRecord> {
    let conversion = |i: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
    };
    let kind: String = r.get(3)?;
    let recipients: String = r.get(4)?;
    let state: String = r.get(5)?;
    let leased: Option<String> = r.get(9)?;
    Ok(MailRecord {
        id: r.get(0)?,
        ticket: r.get(1)?,
        created: time_at(r, 2)?,
        kind: MailKind::parse(&kind).ok_or_else(|| conversion(3, format!("mail kind {kind:?}")))?,
        recipients: recipients.lines().map(String::from).collect(),
        state: MailState::parse(&state)
            .ok_or_else(|| conversion(5, format!("mail state {state:?}")))?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        next_attempt: time_at(r, 8)?,
        leased_until: leased.as_deref().and_then(parse_stamp),
        leased_by: r.get(10)?,
    })
}

pub(super) fn ticket_mail(conn: &Connection, id: i64) -> Result<Vec<MailRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RECORD_COLUMNS} FROM outbox WHERE ticket_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([id], record_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn queued_mail(conn: &Connection) -> Result<Vec<MailRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RECORD_COLUMNS} FROM outbox WHERE state = 'queued' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], record_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
