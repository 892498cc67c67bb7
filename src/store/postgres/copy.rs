//! PostgreSQL's side of copying a desk (`store::copy`): each batch is one
//! multi-row statement per table (`INSERT … SELECT FROM unnest($1, $2, …)`
//! with arrays as parameters, in the binary protocol), so a batch of 2,000
//! rows costs one round trip, not 2,000; rows keep their ids and numbers,
//! and the identities are moved past them after every batch, so that the
//! next ticket never takes a number a copied one has.

use std::collections::HashMap;

use anyhow::Result;
use postgres::Row;

use super::tickets::ticket_from_row;
use super::{get, text, ticket_columns, word, PgTx};
use crate::model::*;
use crate::store::copy::{
    Extent, HistoryRow, Marks, MessageRow, OutboxRow, PasswordRow, Pick, Rows, Table,
};
use crate::store::Copying;

fn marks(tx: &mut PgTx<'_>) -> Result<Marks> {
    let r = tx.one(
        "SELECT (SELECT count(*) FROM tickets), (SELECT coalesce(max(id), 0) FROM tickets),
                (SELECT count(*) FROM messages), (SELECT coalesce(max(id), 0) FROM messages),
                (SELECT count(*) FROM history), (SELECT coalesce(max(id), 0) FROM history),
                (SELECT count(*) FROM outbox), (SELECT coalesce(max(id), 0) FROM outbox),
                (SELECT count(*) FROM changes), (SELECT coalesce(max(seq), 0) FROM changes),
                (SELECT count(*) FROM staff_passwords) + (SELECT count(*) FROM credentials),
                (SELECT value FROM meta WHERE key = 'copied_feed')",
        &[],
    )?;
    let e = |i: usize| -> Result<Extent> {
        Ok(Extent {
            rows: get(&r, i)?,
            max: get(&r, i + 1)?,
        })
    };
    Ok(Marks {
        tickets: e(0)?,
        messages: e(2)?,
        history: e(4)?,
        outbox: e(6)?,
        changes: e(8)?,
        accounts: get(&r, 10)?,
        copied_feed: get::<Option<String>>(&r, 11)?.and_then(|v| v.parse().ok()),
    })
}

/// The largest id of the first rows after `after` that stay within
/// `max_rows` and (but for the first) `max_bytes` of `size`: read first,
/// so that a batch of large messages never comes over the wire whole.
fn cutoff(
    tx: &mut PgTx<'_>,
    sql: &'static str,
    after: i64,
    max_rows: usize,
    max_bytes: usize,
) -> Result<Option<i64>> {
    let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
    let mut last = None;
    let mut bytes = 0usize;
    for r in tx.rows(sql, &[&after, &limit])? {
        let id: i64 = get(&r, 0)?;
        let size: i64 = get(&r, 1)?;
        if last.is_some() && bytes.saturating_add(size.max(0) as usize) > max_bytes {
            break;
        }
        bytes = bytes.saturating_add(size.max(0) as usize);
        last = Some(id);
    }
    Ok(last)
}

fn message_from_row(r: &Row) -> Result<MessageRow> {
    Ok(MessageRow {
        id: get(r, 0)?,
        key: get(r, 1)?,
        message_id: get(r, 2)?,
        ticket_id: get(r, 3)?,
        received: get(r, 4)?,
        envelope_sender: get(r, 5)?,
        recipient: get(r, 6)?,
        author: get(r, 7)?,
        subject: get(r, 8)?,
        body: get(r, 9)?,
        raw: get(r, 10)?,
    })
}

fn outbox_from_row(r: &Row) -> Result<OutboxRow> {
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

/// Tickets with their watchers, in the order of `rows`.
fn tickets_with_watchers(tx: &mut PgTx<'_>, rows: Vec<Row>) -> Result<Vec<Ticket>> {
    let mut tickets = rows
        .iter()
        .map(ticket_from_row)
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
    let mut by_ticket = watchers_of(tx, &ids)?;
    for t in &mut tickets {
        t.watchers = by_ticket.remove(&t.id).unwrap_or_default();
    }
    Ok(tickets)
}

fn watchers_of(tx: &mut PgTx<'_>, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    let mut by_ticket: HashMap<i64, Vec<String>> = HashMap::new();
    for r in tx.rows(
        "SELECT ticket_id, address FROM watchers WHERE ticket_id = ANY($1) ORDER BY ticket_id, seq",
        &[&ids],
    )? {
        by_ticket.entry(get(&r, 0)?).or_default().push(get(&r, 1)?);
    }
    Ok(by_ticket)
}

fn dump(
    tx: &mut PgTx<'_>,
    table: Table,
    pick: Pick<'_>,
    max_rows: usize,
    max_bytes: usize,
) -> Result<Rows> {
    let limit = i64::try_from(max_rows).unwrap_or(i64::MAX);
    Ok(match (table, pick) {
        (Table::Tickets, Pick::After(after)) => {
            let rows = tx.rows(
                concat!("SELECT ", ticket_columns!(), "
                 FROM tickets t WHERE t.id > $1 ORDER BY t.id LIMIT $2"),
                &[&after, &limit],
            )?;
            Rows::Tickets(tickets_with_watchers(tx, rows)?)
        }
        (Table::Tickets, Pick::Ids(ids)) => {
            let rows = tx.rows(
                concat!("SELECT ", ticket_columns!(), "
                 FROM tickets t WHERE t.id = ANY($1) ORDER BY t.id"),
                &[&ids],
            )?;
            Rows::Tickets(tickets_with_watchers(tx, rows)?)
        }
        (Table::Messages, Pick::After(after)) => {
            let Some(last) = cutoff(
                tx,
                "SELECT id, size FROM messages WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                max_rows,
                max_bytes,
            )?
            else {
                return Ok(Rows::Messages(Vec::new()));
            };
            Rows::Messages(
                tx.rows(
                    "SELECT id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, raw
                     FROM messages WHERE id > $1 AND id <= $2 ORDER BY id",
                    &[&after, &last],
                )?
                .iter()
                .map(message_from_row)
                .collect::<Result<_>>()?,
            )
        }
        (Table::History, Pick::After(after)) => Rows::History(
            tx.rows(
                "SELECT id, ticket_id, kind, author, date, message, old, new, note, auto
                 FROM history WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )?
            .iter()
            .map(|r| {
                Ok(HistoryRow {
                    id: get(r, 0)?,
                    ticket_id: get(r, 1)?,
                    date: get(r, 4)?,
                    entry: NewEntry {
                        kind: word(r, 2)?,
                        author: get(r, 3)?,
                        message: get(r, 5)?,
                        old: get(r, 6)?,
                        new: get(r, 7)?,
                        note: get(r, 8)?,
                        auto: get(r, 9)?,
                    },
                })
            })
            .collect::<Result<_>>()?,
        ),
        (Table::Outbox, Pick::After(after)) => {
            let Some(last) = cutoff(
                tx,
                "SELECT id, length(raw)::bigint FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
                after,
                max_rows,
                max_bytes,
            )?
            else {
                return Ok(Rows::Outbox(Vec::new()));
            };
            Rows::Outbox(
                tx.rows(
                    "SELECT id, ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, attempts, last_error, next_attempt, sent, lease_token, lease_until
                     FROM outbox WHERE id > $1 AND id <= $2 ORDER BY id",
                    &[&after, &last],
                )?
                .iter()
                .map(outbox_from_row)
                .collect::<Result<_>>()?,
            )
        }
        (Table::Outbox, Pick::Ids(ids)) => Rows::Outbox(
            tx.rows(
                "SELECT id, ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, attempts, last_error, next_attempt, sent, lease_token, lease_until
                 FROM outbox WHERE id = ANY($1) ORDER BY id",
                &[&ids],
            )?
            .iter()
            .map(outbox_from_row)
            .collect::<Result<_>>()?,
        ),
        (Table::Changes, Pick::After(after)) => Rows::Changes(
            tx.rows(
                "SELECT seq, ticket_id, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )?
            .iter()
            .map(|r| {
                Ok((
                    Change {
                        seq: get(r, 0)?,
                        ticket: get(r, 1)?,
                    },
                    get(r, 2)?,
                ))
            })
            .collect::<Result<_>>()?,
        ),
        (Table::Accounts, _) => {
            let passwords = tx
                .rows(
                    "SELECT address, hash, updated FROM staff_passwords ORDER BY address",
                    &[],
                )?
                .iter()
                .map(|r| {
                    Ok(PasswordRow {
                        address: get(r, 0)?,
                        hash: get(r, 1)?,
                        updated: get(r, 2)?,
                    })
                })
                .collect::<Result<_>>()?;
            let credentials = tx
                .rows(
                    "SELECT kind, secret_hash, address, created, expires FROM credentials ORDER BY secret_hash",
                    &[],
                )?
                .iter()
                .map(|r| {
                    Ok(Credential {
                        kind: word(r, 0)?,
                        secret_hash: get(r, 1)?,
                        address: get(r, 2)?,
                        created: get(r, 3)?,
                        expires: get(r, 4)?,
                    })
                })
                .collect::<Result<_>>()?;
            Rows::Accounts(passwords, credentials)
        }
        (Table::Merges, _) => Rows::Merges(
            tx.rows(
                "SELECT id, merged_into FROM tickets WHERE merged_into IS NOT NULL ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect::<Result<_>>()?,
        ),
        (Table::Placement, Pick::Ids(ids)) => {
            let messages = tx
                .rows(
                    "SELECT id, ticket_id FROM messages WHERE ticket_id = ANY($1) ORDER BY id",
                    &[&ids],
                )?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
                .collect::<Result<_>>()?;
            let history = tx
                .rows(
                    "SELECT id, ticket_id FROM history WHERE ticket_id = ANY($1) ORDER BY id",
                    &[&ids],
                )?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
                .collect::<Result<_>>()?;
            Rows::Placement(messages, history)
        }
        (table, pick) => anyhow::bail!("no dump of {table:?} by {pick:?}"),
    })
}

fn owned(s: &str) -> String {
    text(s).into_owned()
}

fn owned_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(owned)
}

fn load(tx: &mut PgTx<'_>, rows: &Rows) -> Result<u64> {
    let written = match rows {
        Rows::Tickets(tickets) => {
            let ids: Vec<i64> = tickets.iter().map(|t| t.id).collect();
            let queue: Vec<String> = tickets.iter().map(|t| owned(&t.queue)).collect();
            let subject: Vec<String> = tickets.iter().map(|t| owned(&t.subject)).collect();
            let status: Vec<&str> = tickets.iter().map(|t| t.status.as_str()).collect();
            let requestor: Vec<String> = tickets.iter().map(|t| owned(&t.requestor)).collect();
            let owner: Vec<Option<String>> = tickets.iter().map(|t| owned_opt(&t.owner)).collect();
            let priority: Vec<i64> = tickets.iter().map(|t| t.priority).collect();
            let created: Vec<Time> = tickets.iter().map(|t| to_second(t.created)).collect();
            let updated: Vec<Time> = tickets.iter().map(|t| to_second(t.updated)).collect();
            let version: Vec<i64> = tickets.iter().map(|t| t.version).collect();
            let mut n = tx.exec(
                "INSERT INTO tickets (id, queue, subject, status, requestor, owner, priority, created, updated, version)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::bigint[], $8::timestamptz[], $9::timestamptz[], $10::bigint[])
                 ON CONFLICT (id) DO UPDATE SET
                     queue = excluded.queue, subject = excluded.subject, status = excluded.status,
                     requestor = excluded.requestor, owner = excluded.owner, priority = excluded.priority,
                     created = excluded.created, updated = excluded.updated, version = excluded.version
                 WHERE (tickets.queue, tickets.subject, tickets.status, tickets.requestor, tickets.owner,
                        tickets.priority, tickets.created, tickets.updated, tickets.version)
                       IS DISTINCT FROM (excluded.queue, excluded.subject, excluded.status, excluded.requestor,
                        excluded.owner, excluded.priority, excluded.created, excluded.updated, excluded.version)",
                &[
                    &ids, &queue, &subject, &status, &requestor, &owner, &priority, &created,
                    &updated, &version,
                ],
            )?;
            // Watchers: where the target's list differs from the source's,
            // the source's, in its order.
            let have = watchers_of(tx, &ids)?;
            let stale: Vec<&Ticket> = tickets
                .iter()
                .filter(|t| {
                    let want: Vec<String> = t.watchers.iter().map(|w| owned(w)).collect();
                    have.get(&t.id).map_or(!want.is_empty(), |h| *h != want)
                })
                .collect();
            if !stale.is_empty() {
                let stale_ids: Vec<i64> = stale.iter().map(|t| t.id).collect();
                tx.exec(
                    "DELETE FROM watchers WHERE ticket_id = ANY($1)",
                    &[&stale_ids],
                )?;
                let (mut wt, mut wa) = (Vec::new(), Vec::new());
                for t in &stale {
                    for w in &t.watchers {
                        wt.push(t.id);
                        wa.push(owned(w));
                    }
                }
                tx.exec(
                    "INSERT INTO watchers (ticket_id, address)
                     SELECT t, a FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(t, a, ord)
                     ORDER BY ord ON CONFLICT DO NOTHING",
                    &[&wt, &wa],
                )?;
                // Counted once per ticket, with or without a ticket change.
                n = n.max(stale.len() as u64);
            }
            n
        }
        Rows::Messages(m) => {
            let ids: Vec<i64> = m.iter().map(|m| m.id).collect();
            let key: Vec<String> = m.iter().map(|m| owned(&m.key)).collect();
            let mid: Vec<Option<String>> = m.iter().map(|m| owned_opt(&m.message_id)).collect();
            let ticket: Vec<Option<i64>> = m.iter().map(|m| m.ticket_id).collect();
            let received: Vec<Time> = m.iter().map(|m| to_second(m.received)).collect();
            let sender: Vec<Option<String>> =
                m.iter().map(|m| owned_opt(&m.envelope_sender)).collect();
            let recipient: Vec<Option<String>> =
                m.iter().map(|m| owned_opt(&m.recipient)).collect();
            let author: Vec<String> = m.iter().map(|m| owned(&m.author)).collect();
            let subject: Vec<String> = m.iter().map(|m| owned(&m.subject)).collect();
            let body: Vec<String> = m.iter().map(|m| owned(&m.body)).collect();
            let size: Vec<i64> = m.iter().map(|m| m.raw.len() as i64).collect();
            let raw: Vec<&[u8]> = m.iter().map(|m| m.raw.as_slice()).collect();
            tx.exec(
                "INSERT INTO messages (id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[],
                                      $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                      $11::bigint[], $12::bytea[])
                 ON CONFLICT DO NOTHING",
                &[
                    &ids, &key, &mid, &ticket, &received, &sender, &recipient, &author, &subject,
                    &body, &size, &raw,
                ],
            )?
        }
        Rows::History(h) => {
            let ids: Vec<i64> = h.iter().map(|h| h.id).collect();
            let ticket: Vec<i64> = h.iter().map(|h| h.ticket_id).collect();
            let kind: Vec<&str> = h.iter().map(|h| h.entry.kind.as_str()).collect();
            let author: Vec<String> = h.iter().map(|h| owned(&h.entry.author)).collect();
            let date: Vec<Time> = h.iter().map(|h| to_second(h.date)).collect();
            let message: Vec<Option<i64>> = h.iter().map(|h| h.entry.message).collect();
            let old: Vec<Option<String>> = h.iter().map(|h| owned_opt(&h.entry.old)).collect();
            let new: Vec<Option<String>> = h.iter().map(|h| owned_opt(&h.entry.new)).collect();
            let note: Vec<Option<String>> = h.iter().map(|h| owned_opt(&h.entry.note)).collect();
            let auto: Vec<bool> = h.iter().map(|h| h.entry.auto).collect();
            tx.exec(
                "INSERT INTO history (id, ticket_id, kind, author, date, message, old, new, note, auto)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[],
                                      $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bool[])
                 ON CONFLICT DO NOTHING",
                &[&ids, &ticket, &kind, &author, &date, &message, &old, &new, &note, &auto],
            )?
        }
        Rows::Outbox(o) => {
            let ids: Vec<i64> = o.iter().map(|o| o.id).collect();
            let ticket: Vec<Option<i64>> = o.iter().map(|o| o.ticket_id).collect();
            let kind: Vec<String> = o.iter().map(|o| owned(&o.kind)).collect();
            let mid: Vec<String> = o.iter().map(|o| owned(&o.message_id)).collect();
            let from: Vec<String> = o.iter().map(|o| owned(&o.envelope_from)).collect();
            let rcpt: Vec<String> = o.iter().map(|o| owned(&o.recipients)).collect();
            let raw: Vec<&[u8]> = o.iter().map(|o| o.raw.as_slice()).collect();
            let created: Vec<Time> = o.iter().map(|o| to_second(o.created)).collect();
            let state: Vec<&str> = o.iter().map(|o| o.state.as_str()).collect();
            let attempts: Vec<i64> = o.iter().map(|o| o.attempts).collect();
            let error: Vec<Option<String>> = o.iter().map(|o| owned_opt(&o.last_error)).collect();
            let next: Vec<Time> = o.iter().map(|o| to_second(o.next_attempt)).collect();
            let sent: Vec<Option<Time>> = o.iter().map(|o| o.sent.map(to_second)).collect();
            let token: Vec<Option<String>> = o.iter().map(|o| owned_opt(&o.lease_token)).collect();
            let until: Vec<Option<Time>> = o.iter().map(|o| o.lease_until.map(to_second)).collect();
            tx.exec(
                "INSERT INTO outbox (id, ticket_id, kind, message_id, envelope_from, recipients, raw, created, state, attempts, last_error, next_attempt, sent, lease_token, lease_until)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::bytea[], $8::timestamptz[], $9::text[], $10::bigint[], $11::text[],
                                      $12::timestamptz[], $13::timestamptz[], $14::text[], $15::timestamptz[])
                 ON CONFLICT (id) DO UPDATE SET
                     state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error,
                     next_attempt = excluded.next_attempt, sent = excluded.sent,
                     lease_token = excluded.lease_token, lease_until = excluded.lease_until
                 WHERE (outbox.state, outbox.attempts, outbox.last_error, outbox.next_attempt, outbox.sent,
                        outbox.lease_token, outbox.lease_until)
                       IS DISTINCT FROM (excluded.state, excluded.attempts, excluded.last_error,
                        excluded.next_attempt, excluded.sent, excluded.lease_token, excluded.lease_until)",
                &[
                    &ids, &ticket, &kind, &mid, &from, &rcpt, &raw, &created, &state, &attempts,
                    &error, &next, &sent, &token, &until,
                ],
            )?
        }
        Rows::Changes(c) => {
            let seq: Vec<i64> = c.iter().map(|(c, _)| c.seq).collect();
            let ticket: Vec<i64> = c.iter().map(|(c, _)| c.ticket).collect();
            let at: Vec<Time> = c.iter().map(|(_, at)| to_second(*at)).collect();
            tx.exec(
                "INSERT INTO changes (seq, ticket_id, at)
                 SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[])
                 ON CONFLICT DO NOTHING",
                &[&seq, &ticket, &at],
            )?
        }
        Rows::Accounts(passwords, credentials) => {
            let mut n = 0;
            for p in passwords {
                n += tx.exec(
                    "INSERT INTO staff_passwords (address, hash, updated) VALUES ($1, $2, $3)
                     ON CONFLICT (address) DO UPDATE SET hash = excluded.hash, updated = excluded.updated
                     WHERE (staff_passwords.hash, staff_passwords.updated)
                           IS DISTINCT FROM (excluded.hash, excluded.updated)",
                    &[&text(&p.address), &text(&p.hash), &to_second(p.updated)],
                )?;
            }
            for c in credentials {
                n += tx.exec(
                    "INSERT INTO credentials (secret_hash, kind, address, created, expires)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[
                        &text(&c.secret_hash),
                        &c.kind.as_str(),
                        &text(&c.address),
                        &to_second(c.created),
                        &c.expires.map(to_second),
                    ],
                )?;
            }
            n
        }
        Rows::Merges(m) => {
            let ids: Vec<i64> = m.iter().map(|(id, _)| *id).collect();
            let into: Vec<i64> = m.iter().map(|(_, into)| *into).collect();
            tx.exec(
                "UPDATE tickets t SET merged_into = u.into_id
                 FROM unnest($1::bigint[], $2::bigint[]) AS u(id, into_id)
                 WHERE t.id = u.id AND t.merged_into IS DISTINCT FROM u.into_id",
                &[&ids, &into],
            )?
        }
        Rows::Placement(messages, history) => {
            let mids: Vec<i64> = messages.iter().map(|(id, _)| *id).collect();
            let mt: Vec<Option<i64>> = messages.iter().map(|(_, t)| *t).collect();
            let hids: Vec<i64> = history.iter().map(|(id, _)| *id).collect();
            let ht: Vec<i64> = history.iter().map(|(_, t)| *t).collect();
            tx.exec(
                "UPDATE messages m SET ticket_id = u.t FROM unnest($1::bigint[], $2::bigint[]) AS u(id, t)
                 WHERE m.id = u.id AND m.ticket_id IS DISTINCT FROM u.t",
                &[&mids, &mt],
            )? + tx.exec(
                "UPDATE history h SET ticket_id = u.t FROM unnest($1::bigint[], $2::bigint[]) AS u(id, t)
                 WHERE h.id = u.id AND h.ticket_id IS DISTINCT FROM u.t",
                &[&hids, &ht],
            )?
        }
    };
    move_identities(tx)?;
    Ok(written)
}

/// Moves each identity past the largest id its table holds (setval; an
/// unused sequence's last_value is NULL in pg_sequences), so that what the
/// store numbers next never collides with a copied row.
fn move_identities(tx: &mut PgTx<'_>) -> Result<()> {
    tx.exec(
        "SELECT setval(pg_get_serial_sequence(t.name, 'id'), t.max)
         FROM (SELECT 'tickets' AS name, (SELECT max(id) FROM tickets) AS max
               UNION ALL SELECT 'messages', (SELECT max(id) FROM messages)
               UNION ALL SELECT 'history', (SELECT max(id) FROM history)
               UNION ALL SELECT 'outbox', (SELECT max(id) FROM outbox)) t
         WHERE t.max IS NOT NULL
           AND t.max > coalesce((SELECT last_value FROM pg_sequences
                                 WHERE schemaname = current_schema() AND sequencename = t.name || '_id_seq'), 0)",
        &[],
    )?;
    Ok(())
}

/// An empty database becoming a copy: the full-text index goes until the
/// messages are in. Built once at the end (`finish_copy`) it costs seconds;
/// kept up row by row, GIN's pending list is merged into it again and
/// again, and the messages took three times as long (measured at 100,000
/// tickets).
impl Copying for PgTx<'_> {
    fn copy_marks(&mut self) -> Result<Marks> {
        marks(self)
    }

    fn dump(
        &mut self,
        table: Table,
        pick: Pick<'_>,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<Rows> {
        dump(self, table, pick, max_rows, max_bytes)
    }

    fn load(&mut self, rows: &Rows) -> Result<u64> {
        load(self, rows)
    }

    fn adopt_desk_id(&mut self, id: &str) -> Result<()> {
        self.exec("UPDATE meta SET value = $1 WHERE key = 'desk_id'", &[&id])?;
        // Only an empty database adopts a desk: it is becoming a copy.
        begin_copy(self)
    }

    fn finish_copy(&mut self, source_seq: Option<i64>) -> Result<()> {
        finish_copy(self, source_seq)
    }
}

fn begin_copy(tx: &mut PgTx<'_>) -> Result<()> {
    tx.exec("DROP INDEX IF EXISTS messages_search", &[])?;
    Ok(())
}

fn finish_copy(tx: &mut PgTx<'_>, source_seq: Option<i64>) -> Result<()> {
    if source_seq.is_some() {
        // The same definition as migration 001's.
        tx.exec("SET LOCAL maintenance_work_mem = '256MB'", &[])?;
        tx.exec(
            "CREATE INDEX IF NOT EXISTS messages_search ON messages USING gin (search)",
            &[],
        )?;
    }
    move_identities(tx)?;
    match source_seq {
        Some(seq) => {
            tx.exec(
                "UPDATE feed SET last = greatest(last, $1, (SELECT coalesce(max(seq), 0) FROM changes))",
                &[&seq],
            )?;
            tx.exec(
                "INSERT INTO meta (key, value) VALUES ('copied_feed', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&seq.to_string()],
            )?;
        }
        None => {
            tx.exec("DELETE FROM meta WHERE key = 'copied_feed'", &[])?;
        }
    }
    Ok(())
}
