//! The outbox: mail written in the same transaction as the change that
//! caused it, sent after the commit, never marked sent before it was. A
//! sending process on any host holds a mail by a lease (`lease_token`,
//! `lease_until`), taken with `FOR UPDATE SKIP LOCKED` so that flushes on
//! several hosts take different mails and never one twice; `next_attempt`
//! is only the back-off after a failure.

use anyhow::Result;
use postgres::Row;

use super::{get, text, word, PgTx};
use crate::model::*;
use crate::store::{Due, Lease, Outbox};

fn queued_from_row(r: &Row) -> Result<QueuedMail> {
    let recipients: String = get(r, 2)?;
    Ok(QueuedMail {
        id: get(r, 0)?,
        envelope_from: get(r, 1)?,
        recipients: recipients.lines().map(String::from).collect(),
        raw: get(r, 3)?,
        attempts: get(r, 4)?,
    })
}

fn record_from_row(r: &Row) -> Result<MailRecord> {
    let recipients: String = get(r, 4)?;
    Ok(MailRecord {
        id: get(r, 0)?,
        ticket: get(r, 1)?,
        created: get(r, 2)?,
        kind: word(r, 3)?,
        recipients: recipients.lines().map(String::from).collect(),
        state: word(r, 5)?,
        attempts: get(r, 6)?,
        last_error: get(r, 7)?,
        next_attempt: get(r, 8)?,
        leased_until: get(r, 9)?,
        leased_by: get(r, 10)?,
    })
}

impl Outbox for PgTx<'_> {
    fn enqueue(
        &mut self,
        mail: &Outgoing,
        now: Time,
        state: MailState,
        lease: Option<&Lease>,
    ) -> Result<i64> {
        let tx = self;
        let now = to_second(now);
        let recipients = mail.recipients.join("\n");
        let row = tx.one(
            "INSERT INTO outbox (ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, next_attempt, lease_token, lease_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $9, $10) RETURNING id",
            &[
                &mail.ticket_id,
                &mail.kind.name(),
                &text(&mail.message_id),
                &text(&mail.envelope_from),
                &text(&recipients),
                &mail.raw,
                &now,
                &state.as_str(),
                &lease.map(|l| l.token.as_str()),
                &lease.map(|l| to_second(l.until)),
            ],
        )?;
        get(&row, 0)
    }

    fn autoreplies_since(&mut self, addr: &str, since: Time) -> Result<u32> {
        let tx = self;
        let addr = text(addr);
        if tx.writes() {
            // The per-sender limit is a count followed by an insert: two hosts
            // opening tickets for one sender at once take turns here, or both
            // would see 4 of 5 and send a sixth.
            tx.exec(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 1))",
                &[&addr],
            )?;
        }
        let n: i64 = get(
            &tx.one(
                "SELECT count(*) FROM outbox WHERE kind = 'autoreply' AND recipients = $1 AND created > $2",
                &[&addr, &to_second(since)],
            )?,
            0,
        )?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn lease_next(
        &mut self,
        after: i64,
        due: Due,
        now: Time,
        lease: &Lease,
    ) -> Result<Option<QueuedMail>> {
        let tx = self;
        // SKIP LOCKED passes over a row another flush is taking this moment;
        // one it took and committed since our snapshot is read again by FOR
        // UPDATE and no longer matches (READ COMMITTED, §13.2.1), and the outer
        // WHERE repeats the conditions for the same reason.
        let all = due == Due::All;
        let row = tx.opt(
            "UPDATE outbox SET lease_token = $3, lease_until = $4
             WHERE id = (SELECT id FROM outbox
                         WHERE state = 'queued' AND id > $1
                           AND (lease_until IS NULL OR lease_until <= $2)
                           AND ($5 OR next_attempt <= $2)
                         ORDER BY id LIMIT 1
                         FOR UPDATE SKIP LOCKED)
               AND state = 'queued' AND (lease_until IS NULL OR lease_until <= $2)
             RETURNING id, envelope_from, recipients, raw, attempts",
            &[
                &after,
                &to_second(now),
                &lease.token,
                &to_second(lease.until),
                &all,
            ],
        )?;
        row.as_ref().map(queued_from_row).transpose()
    }

    fn leased(&mut self, ids: &[i64], lease: &Lease) -> Result<Vec<QueuedMail>> {
        let tx = self;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        tx.rows(
            "SELECT id, envelope_from, recipients, raw, attempts FROM outbox
             WHERE id = ANY($1) AND state = 'queued' AND lease_token = $2 ORDER BY id",
            &[&ids, &lease.token],
        )?
        .iter()
        .map(queued_from_row)
        .collect()
    }

    fn mark_sent(&mut self, id: i64, lease: &Lease, now: Time) -> Result<bool> {
        let tx = self;
        Ok(tx.exec(
            "UPDATE outbox SET state = 'sent', sent = $3, attempts = attempts + 1, last_error = NULL,
                               lease_token = NULL, lease_until = NULL
             WHERE id = $1 AND lease_token = $2",
            &[&id, &lease.token, &to_second(now)],
        )? == 1)
    }

    fn mark_failed(&mut self, id: i64, lease: &Lease, error: &str, retry: Time) -> Result<()> {
        let tx = self;
        tx.exec(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $3, next_attempt = $4,
                               lease_token = NULL, lease_until = NULL
             WHERE id = $1 AND lease_token = $2",
            &[&id, &lease.token, &text(error), &to_second(retry)],
        )?;
        Ok(())
    }

    fn release(&mut self, id: i64, token: &str) -> Result<bool> {
        let tx = self;
        Ok(tx.exec(
            "UPDATE outbox SET lease_token = NULL, lease_until = NULL
             WHERE id = $1 AND lease_token = $2 AND state = 'queued'",
            &[&id, &token],
        )? == 1)
    }

    fn ticket_mail(&mut self, id: i64) -> Result<Vec<MailRecord>> {
        let tx = self;
        tx.rows(
            "SELECT id, ticket_id, created, kind, recipients, state, attempts, last_error, next_attempt, lease_until, lease_token
             FROM outbox WHERE ticket_id = $1 ORDER BY id",
            &[&id],
        )?
        .iter()
        .map(record_from_row)
        .collect()
    }

    fn queued_mail(&mut self) -> Result<Vec<MailRecord>> {
        let tx = self;
        tx.rows(
            "SELECT id, ticket_id, created, kind, recipients, state, attempts, last_error, next_attempt, lease_until, lease_token
             FROM outbox WHERE state = 'queued' ORDER BY id",
            &[],
        )?
        .iter()
        .map(record_from_row)
        .collect()
    }
}
