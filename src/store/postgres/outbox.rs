//! The outbox: mail written in the same transaction as the change that
//! caused it, sent after the commit, never marked sent before it was. A
//! sending process on any host holds a mail by a lease (`lease_token`,
//! `lease_until`), taken with `FOR UPDATE SKIP LOCKED` so that flushes on
//! several hosts take different mails and never one twice; `next_attempt`
//! is only the back-off after a failure.

use anyhow::Result;
use postgres::Row;

use super::{get, opt_text, pg_columns, pg_columns_but_id, pg_unnest, text, word, PgTx};
use crate::model::*;
use crate::store::copy::OutboxRow;
use crate::store::{Due, Lease, Outbox};

/// The columns of `outbox`, in the order `outbox_from_row` reads them.
macro_rules! outbox_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; id bigint, ticket_id bigint, kind text, message_id text, envelope_from text,
               recipients text, raw bytea, created timestamptz, state text, attempts bigint,
               last_error text, next_attempt timestamptz, sent timestamptz, lease_token text,
               lease_until timestamptz)
    };
}
pub(super) use outbox_table;

/// A whole outbox row, as a copy takes it.
pub(super) fn outbox_from_row(r: &Row) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: get(r, 0)?,
        ticket_id: get(r, 1)?,
        kind: get(r, 2)?,
        message_id: get(r, 3)?,
        envelope_from: get(r, 4)?,
        recipients: get(r, 5)?,
        raw: get(r, 6)?,
        created: get(r, 7)?,
        state: word(r, 8)?,
        attempts: get(r, 9)?,
        last_error: get(r, 10)?,
        next_attempt: get(r, 11)?,
        sent: get(r, 12)?,
        lease_token: get(r, 13)?,
        lease_until: get(r, 14)?,
    })
}

/// A new mail, numbered by the identity.
const NEW_MAIL: &str = concat!(
    "INSERT INTO outbox (",
    outbox_table!(pg_columns_but_id, ""),
    ") SELECT ",
    outbox_table!(pg_columns_but_id, ""),
    " FROM ",
    outbox_table!(pg_unnest, ""),
    " RETURNING id"
);

/// The copy's write of mail, as numbered, bringing the state of a stored
/// one up to date: what sending changes (the rest of a mail never does).
/// Its rows are the mails written.
pub(super) const PUT_MAIL: &str = concat!(
    "INSERT INTO outbox (",
    outbox_table!(pg_columns, ""),
    ") SELECT ",
    outbox_table!(pg_columns, ""),
    " FROM ",
    outbox_table!(pg_unnest, ""),
    " ON CONFLICT (id) DO UPDATE SET
         state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error,
         next_attempt = excluded.next_attempt, sent = excluded.sent,
         lease_token = excluded.lease_token, lease_until = excluded.lease_until
     WHERE (outbox.state, outbox.attempts, outbox.last_error, outbox.next_attempt, outbox.sent,
            outbox.lease_token, outbox.lease_until)
           IS DISTINCT FROM (excluded.state, excluded.attempts, excluded.last_error,
            excluded.next_attempt, excluded.sent, excluded.lease_token, excluded.lease_until)
     RETURNING id"
);

/// Writes mail (`id` is ignored by `NEW_MAIL`) by `sql`, one of the two
/// above; its rows are what `sql` returns.
pub(super) fn put_mail<'o>(
    tx: &mut PgTx<'_>,
    sql: &'static str,
    mail: impl IntoIterator<Item = &'o OutboxRow>,
) -> Result<Vec<Row>> {
    let mut id = Vec::new();
    let mut ticket_id = Vec::new();
    let mut kind = Vec::new();
    let mut message_id = Vec::new();
    let mut envelope_from = Vec::new();
    let mut recipients = Vec::new();
    let mut raw: Vec<&[u8]> = Vec::new();
    let mut created = Vec::new();
    let mut state = Vec::new();
    let mut attempts = Vec::new();
    let mut last_error = Vec::new();
    let mut next_attempt = Vec::new();
    let mut sent = Vec::new();
    let mut lease_token = Vec::new();
    let mut lease_until = Vec::new();
    for o in mail {
        id.push(o.id);
        ticket_id.push(o.ticket_id);
        kind.push(text(&o.kind));
        message_id.push(text(&o.message_id));
        envelope_from.push(text(&o.envelope_from));
        recipients.push(text(&o.recipients));
        raw.push(&o.raw);
        created.push(to_second(o.created));
        state.push(o.state.as_str());
        attempts.push(o.attempts);
        last_error.push(opt_text(o.last_error.as_deref()));
        next_attempt.push(to_second(o.next_attempt));
        sent.push(o.sent.map(to_second));
        lease_token.push(opt_text(o.lease_token.as_deref()));
        lease_until.push(o.lease_until.map(to_second));
    }
    tx.rows(
        sql,
        &[
            &id,
            &ticket_id,
            &kind,
            &message_id,
            &envelope_from,
            &recipients,
            &raw,
            &created,
            &state,
            &attempts,
            &last_error,
            &next_attempt,
            &sent,
            &lease_token,
            &lease_until,
        ],
    )
}

fn queued_from_row(r: &Row) -> Result<QueuedMail> {
    let recipients: String = get(r, 2)?;
    Ok(QueuedMail {
        id: get(r, 0)?,
        envelope_from: get(r, 1)?,
        recipients: recipients.lines().map(String::from).collect(),
        raw: get(r, 3)?,
        attempts: get(r, 4)?,
        kind: word(r, 5)?,
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
        sent: get(r, 11)?,
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
        let row = OutboxRow::queued(mail, now, state, lease);
        match put_mail(self, NEW_MAIL, [&row])?.first() {
            Some(r) => get(r, 0),
            None => anyhow::bail!("no id for mail {:?}", mail.message_id),
        }
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

    fn mails_since(&mut self, kind: MailKind, addr: &str, since: Time) -> Result<u32> {
        let tx = self;
        let n: i64 = get(
            &tx.one(
                "SELECT count(*) FROM outbox WHERE kind = $1 AND recipients = $2 AND created > $3",
                &[&kind.name(), &text(addr), &to_second(since)],
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
             RETURNING id, envelope_from, recipients, raw, attempts, kind",
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
            "SELECT id, envelope_from, recipients, raw, attempts, kind FROM outbox
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
            "SELECT id, ticket_id, created, kind, recipients, state, attempts, last_error, next_attempt, lease_until, lease_token, sent
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
            "SELECT id, ticket_id, created, kind, recipients, state, attempts, last_error, next_attempt, lease_until, lease_token, sent
             FROM outbox WHERE state = 'queued' ORDER BY id",
            &[],
        )?
        .iter()
        .map(record_from_row)
        .collect()
    }
}
