//! PostgreSQL's side of copying a desk (`store::copy`): each batch is one
//! multi-row statement per table (`INSERT … SELECT FROM unnest($1, $2, …)`
//! with arrays as parameters, in the binary protocol), so a batch of 2,000
//! rows costs one round trip, not 2,000; rows keep their ids and numbers,
//! and the identities are moved past them after every batch, so that the
//! next ticket never takes a number a copied one has. The statements and
//! row readers are each table's own (`tickets.rs`, `outbox.rs`, …), the
//! same a delivery uses.

use std::collections::HashMap;

use anyhow::Result;
use postgres::Row;

use super::accounts::{
    credential_from_row, credential_table, password_from_row, password_table, put_credentials,
    put_passwords, PUT_CREDENTIALS,
};
use super::feed::{change_from_row, change_table, PUT_CHANGES};
use super::outbox::{outbox_from_row, outbox_table, put_mail, PUT_MAIL};
use super::tickets::{
    history_from_row, history_table, message_from_row, message_table, put_history, put_messages,
    ticket_columns, ticket_from_row, ticket_table, TicketArrays, PUT_HISTORY, PUT_MESSAGES,
    PUT_SPAM_SENDERS, PUT_TICKETS, PUT_WATCHERS,
};
use super::{get, pg_columns, text, PgTx};
use crate::model::*;
use crate::store::copy::{Extent, Marks, Pick, Rows, SpamSenderRow, Table};
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
                concat!(
                    "SELECT ",
                    ticket_columns!(),
                    "
                 FROM tickets t WHERE t.id > $1 ORDER BY t.id LIMIT $2"
                ),
                &[&after, &limit],
            )?;
            Rows::Tickets(tickets_with_watchers(tx, rows)?)
        }
        (Table::Tickets, Pick::Ids(ids)) => {
            let rows = tx.rows(
                concat!(
                    "SELECT ",
                    ticket_columns!(),
                    "
                 FROM tickets t WHERE t.id = ANY($1) ORDER BY t.id"
                ),
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
                    concat!(
                        "SELECT ",
                        message_table!(pg_columns, ""),
                        " FROM messages WHERE id > $1 AND id <= $2 ORDER BY id"
                    ),
                    &[&after, &last],
                )?
                .iter()
                .map(message_from_row)
                .collect::<Result<_>>()?,
            )
        }
        (Table::History, Pick::After(after)) => Rows::History(
            tx.rows(
                concat!(
                    "SELECT ",
                    history_table!(pg_columns, ""),
                    " FROM history WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &limit],
            )?
            .iter()
            .map(history_from_row)
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
                    concat!(
                        "SELECT ",
                        outbox_table!(pg_columns, ""),
                        " FROM outbox WHERE id > $1 AND id <= $2 ORDER BY id"
                    ),
                    &[&after, &last],
                )?
                .iter()
                .map(outbox_from_row)
                .collect::<Result<_>>()?,
            )
        }
        (Table::Outbox, Pick::Ids(ids)) => Rows::Outbox(
            tx.rows(
                concat!(
                    "SELECT ",
                    outbox_table!(pg_columns, ""),
                    " FROM outbox WHERE id = ANY($1) ORDER BY id"
                ),
                &[&ids],
            )?
            .iter()
            .map(outbox_from_row)
            .collect::<Result<_>>()?,
        ),
        (Table::Changes, Pick::After(after)) => Rows::Changes(
            tx.rows(
                concat!(
                    "SELECT ",
                    change_table!(pg_columns, ""),
                    " FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2"
                ),
                &[&after, &limit],
            )?
            .iter()
            .map(change_from_row)
            .collect::<Result<_>>()?,
        ),
        (Table::Accounts, _) => {
            let passwords = tx
                .rows(
                    concat!(
                        "SELECT ",
                        password_table!(pg_columns, ""),
                        " FROM staff_passwords ORDER BY address"
                    ),
                    &[],
                )?
                .iter()
                .map(password_from_row)
                .collect::<Result<_>>()?;
            let credentials = tx
                .rows(
                    concat!(
                        "SELECT ",
                        credential_table!(pg_columns, ""),
                        " FROM credentials ORDER BY secret_hash"
                    ),
                    &[],
                )?
                .iter()
                .map(credential_from_row)
                .collect::<Result<_>>()?;
            Rows::Accounts(passwords, credentials)
        }
        (Table::SpamSenders, _) => Rows::SpamSenders(
            tx.rows(
                "SELECT address, ticket_id, marked FROM spam_senders ORDER BY address",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(SpamSenderRow {
                    address: get(r, 0)?,
                    ticket: get(r, 1)?,
                    marked: get(r, 2)?,
                })
            })
            .collect::<Result<_>>()?,
        ),
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
                    "SELECT id, ticket_id, merged_from FROM history WHERE ticket_id = ANY($1) ORDER BY id",
                    &[&ids],
                )?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
                .collect::<Result<_>>()?;
            Rows::Placement(messages, history)
        }
        (table, pick) => anyhow::bail!("no dump of {table:?} by {pick:?}"),
    })
}

fn load(tx: &mut PgTx<'_>, rows: &Rows) -> Result<u64> {
    let written = match rows {
        Rows::Tickets(tickets) => {
            let arrays = TicketArrays::of(tickets);
            let mut n = tx.exec(PUT_TICKETS, &arrays.params())?;
            // Watchers: where the target's list differs from the source's,
            // the source's, in its order.
            let have = watchers_of(tx, arrays.ids())?;
            let stale: Vec<&Ticket> = tickets
                .iter()
                .filter(|t| {
                    let want: Vec<String> =
                        t.watchers.iter().map(|w| text(w).into_owned()).collect();
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
                        wa.push(text(w));
                    }
                }
                tx.exec(PUT_WATCHERS, &[&wt, &wa])?;
                // Counted once per ticket, with or without a ticket change.
                n = n.max(stale.len() as u64);
            }
            n
        }
        Rows::Messages(m) => {
            put_messages(tx, PUT_MESSAGES, m.iter().map(|m| (m.id, m.as_new())))?.len() as u64
        }
        Rows::History(h) => put_history(
            tx,
            PUT_HISTORY,
            h.iter()
                .map(|h| (h.id, h.ticket_id, h.date, &h.entry, h.merged_from)),
        )?,
        Rows::Outbox(o) => put_mail(tx, PUT_MAIL, o)?.len() as u64,
        Rows::Changes(c) => {
            let seq: Vec<i64> = c.iter().map(|(c, _)| c.seq).collect();
            let ticket: Vec<i64> = c.iter().map(|(c, _)| c.ticket).collect();
            let at: Vec<Time> = c.iter().map(|(_, at)| to_second(*at)).collect();
            tx.exec(PUT_CHANGES, &[&seq, &ticket, &at])?
        }
        Rows::Accounts(passwords, credentials) => {
            put_passwords(tx, passwords)? + put_credentials(tx, PUT_CREDENTIALS, credentials)?
        }
        Rows::SpamSenders(senders) => {
            // The set is made equal to the source's: an undo there is
            // one here too.
            let address: Vec<String> = senders
                .iter()
                .map(|s| text(&s.address).into_owned())
                .collect();
            let ticket: Vec<i64> = senders.iter().map(|s| s.ticket).collect();
            let marked: Vec<Time> = senders.iter().map(|s| to_second(s.marked)).collect();
            tx.exec(
                "DELETE FROM spam_senders WHERE NOT (address = ANY($1))",
                &[&address],
            )? + tx.exec(PUT_SPAM_SENDERS, &[&address, &ticket, &marked])?
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
            let hids: Vec<i64> = history.iter().map(|(id, _, _)| *id).collect();
            let ht: Vec<i64> = history.iter().map(|(_, t, _)| *t).collect();
            let hf: Vec<Option<i64>> = history.iter().map(|(_, _, f)| *f).collect();
            tx.exec(
                "UPDATE messages m SET ticket_id = u.t FROM unnest($1::bigint[], $2::bigint[]) AS u(id, t)
                 WHERE m.id = u.id AND m.ticket_id IS DISTINCT FROM u.t",
                &[&mids, &mt],
            )? + tx.exec(
                "UPDATE history h SET ticket_id = u.t, merged_from = u.f
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(id, t, f)
                 WHERE h.id = u.id
                   AND (h.ticket_id IS DISTINCT FROM u.t OR h.merged_from IS DISTINCT FROM u.f)",
                &[&hids, &ht, &hf],
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
