//! The outbox: mail written in the same transaction as the change that
//! caused it, sent after the commit, never marked sent before it was.

use anyhow::Result;
use rusqlite::{params, Connection};
use serde::Serialize;

/// A rendered mail ready to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub ticket_id: i64,
    pub kind: &'static str,
    /// Without angle brackets.
    pub message_id: String,
    /// "" for the null sender of an autoreply.
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
}

/// A queued mail, as `flush` reads it.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: i64,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    pub attempts: i64,
    pub next_attempt: String,
}

/// How long a delivering process may take to send its own fresh mail before
/// `flush` may send it instead.
pub const LEASE_SECS: i64 = 60;

fn in_secs(secs: i64) -> String {
    super::timestamp(chrono::Utc::now() + chrono::Duration::seconds(secs))
}

/// Queues `mail`; with `sent_already` (transport "none") it is recorded as
/// dropped, which still counts for the autoreply rate limit. Returns its id.
pub fn enqueue(conn: &Connection, mail: &Outgoing, now: &str, dropped: bool) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO outbox (ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, next_attempt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        mail.ticket_id,
        mail.kind,
        mail.message_id,
        mail.envelope_from,
        mail.recipients.join("\n"),
        mail.raw,
        now,
        if dropped { "dropped" } else { "queued" },
        in_secs(LEASE_SECS),
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Autoreplies sent (or queued) to `addr` since `since`.
pub fn autoreplies_since(conn: &Connection, addr: &str, since: &str) -> Result<u32> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM outbox WHERE kind = 'autoreply' AND recipients = ?1 AND created > ?2")?
        .query_row(params![addr, since], |r| r.get(0))?)
}

fn queued_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Queued> {
    let recipients: String = r.get(2)?;
    Ok(Queued {
        id: r.get(0)?,
        envelope_from: r.get(1)?,
        recipients: recipients.lines().map(String::from).collect(),
        raw: r.get(3)?,
        attempts: r.get(4)?,
        next_attempt: r.get(5)?,
    })
}

const QUEUED_COLUMNS: &str = "id, envelope_from, recipients, raw, attempts, next_attempt";

/// Queued mail by id (what this process just wrote).
pub fn queued_by_id(conn: &Connection, ids: &[i64]) -> Result<Vec<Queued>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {QUEUED_COLUMNS} FROM outbox WHERE id = ?1 AND state = 'queued'"
    ))?;
    let mut out = Vec::new();
    for id in ids {
        let mut rows = stmt.query_map([id], queued_from_row)?;
        if let Some(row) = rows.next() {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Queued mail that is due (all of it with `force`), oldest first.
pub fn due(conn: &Connection, force: bool) -> Result<Vec<Queued>> {
    let sql = format!(
        "SELECT {QUEUED_COLUMNS} FROM outbox WHERE state = 'queued' AND (?1 OR next_attempt <= ?2) ORDER BY id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![force, super::now()], queued_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Takes `q` for sending: true when this process won the race for it (it
/// was still queued and nobody else leased it meanwhile).
pub fn lease(conn: &Connection, q: &Queued) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET next_attempt = ?3 WHERE id = ?1 AND state = 'queued' AND next_attempt = ?2",
        )?
        .execute(params![q.id, q.next_attempt, in_secs(LEASE_SECS)])?;
    Ok(n == 1)
}

pub fn mark_sent(conn: &Connection, id: i64, now: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'sent', sent = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Records a failed send; the next try backs off exponentially from a
/// minute to six hours.
pub fn mark_failed(conn: &Connection, id: i64, attempts_before: i64, error: &str) -> Result<()> {
    let backoff = 60i64
        .saturating_mul(1 << attempts_before.clamp(0, 9))
        .min(6 * 3600);
    conn.prepare_cached("UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt = ?3 WHERE id = ?1")?
        .execute(params![id, error, in_secs(backoff)])?;
    Ok(())
}

/// One outbox row for `flush --json` and tests.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket: Option<i64>,
    pub kind: String,
    pub state: String,
    pub recipients: Vec<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

pub fn outbox_rows(conn: &Connection, ids: &[i64]) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, ticket_id, kind, state, recipients, attempts, last_error FROM outbox WHERE id = ?1",
    )?;
    let mut out = Vec::new();
    for id in ids {
        let row = stmt.query_row([id], |r| {
            let recipients: String = r.get(4)?;
            Ok(OutboxRow {
                id: r.get(0)?,
                ticket: r.get(1)?,
                kind: r.get(2)?,
                state: r.get(3)?,
                recipients: recipients.lines().map(String::from).collect(),
                attempts: r.get(5)?,
                last_error: r.get(6)?,
            })
        })?;
        out.push(row);
    }
    Ok(out)
}

/// A mail a ticket caused, as `show` lists it.
#[derive(Debug, Clone)]
pub struct TicketMail {
    pub created: String,
    pub kind: String,
    pub recipients: Vec<String>,
    pub state: String,
    pub last_error: Option<String>,
}

/// Every mail ticket `id` caused, oldest first.
pub fn ticket_mail(conn: &Connection, id: i64) -> Result<Vec<TicketMail>> {
    let mut stmt = conn.prepare(
        "SELECT created, kind, recipients, state, last_error FROM outbox WHERE ticket_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        let recipients: String = r.get(2)?;
        Ok(TicketMail {
            created: r.get(0)?,
            kind: r.get(1)?,
            recipients: recipients.lines().map(String::from).collect(),
            state: r.get(3)?,
            last_error: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
