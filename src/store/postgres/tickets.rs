//! Tickets, the messages on them, watchers, merges and history rows. In a
//! writing transaction every read of a ticket locks its row, so that the
//! desk's decision (reopen? already resolved? which version?) is made on
//! what no other host can change until this transaction ends. Each of
//! these tables' columns and row reader are here once, and its INSERT is
//! the one the copy (`copy.rs`) uses too.

use anyhow::Result;
use postgres::types::ToSql;
use postgres::Row;

use super::{
    get, opt_text, pg_columns, pg_columns_but_id, pg_next_param, pg_unnest, text, word, PgTx,
};
use crate::address::Address;
use crate::model::*;
use crate::store::copy::{HistoryRow, MessageRow};
use crate::store::Tickets;

/// The columns of `tickets` that a ticket is written with, in the order
/// `ticket_from_row` reads them (see `pg_columns!`). `merged_into` is
/// read after them, and written only by a merge: it is its own change.
macro_rules! ticket_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; id bigint, queue text, subject text, status text, requestor text,
               owner text, priority bigint, created timestamptz, updated timestamptz,
               version bigint, due timestamptz, sla text, sla_due timestamptz)
    };
}
pub(super) use ticket_table;

/// The columns `ticket_from_row` reads, for every statement that reads
/// tickets (`tickets t`).
macro_rules! ticket_columns {
    () => {
        concat!(ticket_table!(pg_columns, "t."), ", t.merged_into")
    };
}
pub(super) use ticket_columns;

/// How many columns `ticket_columns!()` names: a statement's own columns
/// after them start here.
pub(super) const TICKET_WIDTH: usize = 14;

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
        due: get(row, 10)?,
        sla: crate::store::sla_of(get::<Option<String>>(row, 11)?.as_deref())?,
        merged_into: get(row, 13)?,
        merged: Vec::new(),
    })
}

/// Tickets as the parameters of `ticket_table!(pg_unnest)`, one array a
/// column: what a new ticket and a batch of the copy are written from.
pub(super) struct TicketArrays {
    id: Vec<i64>,
    queue: Vec<String>,
    subject: Vec<String>,
    status: Vec<&'static str>,
    requestor: Vec<String>,
    owner: Vec<Option<String>>,
    priority: Vec<i64>,
    created: Vec<Time>,
    updated: Vec<Time>,
    version: Vec<i64>,
    due: Vec<Option<Time>>,
    sla: Vec<Option<String>>,
    sla_due: Vec<Option<Time>>,
}

impl TicketArrays {
    pub(super) fn of<'t>(tickets: impl IntoIterator<Item = &'t Ticket>) -> TicketArrays {
        let mut a = TicketArrays {
            id: Vec::new(),
            queue: Vec::new(),
            subject: Vec::new(),
            status: Vec::new(),
            requestor: Vec::new(),
            owner: Vec::new(),
            priority: Vec::new(),
            created: Vec::new(),
            updated: Vec::new(),
            version: Vec::new(),
            due: Vec::new(),
            sla: Vec::new(),
            sla_due: Vec::new(),
        };
        for t in tickets {
            a.id.push(t.id);
            a.queue.push(owned(&t.queue));
            a.subject.push(owned(&t.subject));
            a.status.push(t.status.as_str());
            a.requestor.push(owned(&t.requestor));
            a.owner.push(owned_opt(&t.owner));
            a.priority.push(t.priority);
            a.created.push(sec(t.created));
            a.updated.push(sec(t.updated));
            a.version.push(t.version);
            a.due.push(t.due.map(sec));
            // A ticket's clocks were written from this very struct: they
            // serialise.
            let (sla, sla_due) = crate::store::sla_columns(t).unwrap_or_default();
            a.sla.push(sla);
            a.sla_due.push(sla_due.map(sec));
        }
        a
    }

    pub(super) fn ids(&self) -> &[i64] {
        &self.id
    }

    /// In `ticket_table!`'s order.
    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 13] {
        [
            &self.id,
            &self.queue,
            &self.subject,
            &self.status,
            &self.requestor,
            &self.owner,
            &self.priority,
            &self.created,
            &self.updated,
            &self.version,
            &self.due,
            &self.sla,
            &self.sla_due,
        ]
    }
}

/// The copy's write of tickets: as numbered, bringing a stored one up to
/// date where it differs.
pub(super) const PUT_TICKETS: &str = concat!(
    "INSERT INTO tickets (",
    ticket_table!(pg_columns, ""),
    ") SELECT ",
    ticket_table!(pg_columns, ""),
    " FROM ",
    ticket_table!(pg_unnest, ""),
    " ON CONFLICT (id) DO UPDATE SET (",
    ticket_table!(pg_columns_but_id, ""),
    ") = (",
    ticket_table!(pg_columns_but_id, "excluded."),
    ") WHERE (",
    ticket_table!(pg_columns_but_id, "tickets."),
    ") IS DISTINCT FROM (",
    ticket_table!(pg_columns_but_id, "excluded."),
    ")"
);

/// The columns a watcher is written with; `seq` (their order) is the
/// identity's.
macro_rules! watcher_columns {
    () => {
        "ticket_id, address"
    };
}

/// Watchers ($1 their tickets, $2 their addresses), in the order given,
/// but for those watching already: `watch`, and the copy (a new ticket's
/// are written with it, `NEW_TICKET`).
pub(super) const PUT_WATCHERS: &str = concat!(
    "INSERT INTO watchers (",
    watcher_columns!(),
    ") SELECT t, a FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(t, a, ord)
     ORDER BY ord ON CONFLICT DO NOTHING"
);

/// A new ticket numbered by the identity, and its watchers (the parameter
/// after the ticket's arrays) in the order given, in one statement.
const NEW_TICKET: &str = concat!(
    "WITH t AS (INSERT INTO tickets (",
    ticket_table!(pg_columns_but_id, ""),
    ") SELECT ",
    ticket_table!(pg_columns_but_id, ""),
    " FROM ",
    ticket_table!(pg_unnest, ""),
    " RETURNING id),
          w AS (INSERT INTO watchers (",
    watcher_columns!(),
    ") SELECT t.id, w.a FROM t, unnest(",
    ticket_table!(pg_next_param, ""),
    "::text[]) WITH ORDINALITY AS w(a, ord)
                ORDER BY w.ord
                ON CONFLICT DO NOTHING)
     SELECT id FROM t"
);

/// Marks senders of spam ($1 their addresses, $2 the tickets, $3 when), or
/// brings a mark up to date (staff marked a later ticket of theirs, or a
/// copy brings the source's): the one write of `spam_senders`, which the
/// copy uses too.
pub(super) const PUT_SPAM_SENDERS: &str =
    "INSERT INTO spam_senders (address, ticket_id, marked)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::timestamptz[])
     ON CONFLICT (address) DO UPDATE SET ticket_id = excluded.ticket_id, marked = excluded.marked
     WHERE (spam_senders.ticket_id, spam_senders.marked) IS DISTINCT FROM (excluded.ticket_id, excluded.marked)";

/// The columns of `messages`, in the order `message_from_row` reads them
/// (`search` is computed by PostgreSQL from subject and body).
macro_rules! message_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; id bigint, key text, message_id text, ticket_id bigint,
               received timestamptz, envelope_sender text, recipient text, author text,
               subject text, body text, size bigint, raw bytea)
    };
}
pub(super) use message_table;

/// A whole message row, as a copy takes it.
pub(super) fn message_from_row(r: &Row) -> Result<MessageRow> {
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
        // 10 is the size, which the raw message gives.
        raw: get(r, 11)?,
    })
}

/// A delivered message, numbered by the identity. No ON CONFLICT: the
/// unique key's violation is the race with another host (errors.rs).
const NEW_MESSAGE: &str = concat!(
    "INSERT INTO messages (",
    message_table!(pg_columns_but_id, ""),
    ") SELECT ",
    message_table!(pg_columns_but_id, ""),
    " FROM ",
    message_table!(pg_unnest, ""),
    " RETURNING id"
);

/// The copy's write of messages, as numbered; a stored one stays. Its
/// rows are the messages written.
pub(super) const PUT_MESSAGES: &str = concat!(
    "INSERT INTO messages (",
    message_table!(pg_columns, ""),
    ") SELECT ",
    message_table!(pg_columns, ""),
    " FROM ",
    message_table!(pg_unnest, ""),
    " ON CONFLICT DO NOTHING RETURNING id"
);

/// Writes messages (`id` is ignored by `NEW_MESSAGE`) by `sql`, one of
/// the two above; its rows are what `sql` returns.
pub(super) fn put_messages<'m>(
    tx: &mut PgTx<'_>,
    sql: &'static str,
    messages: impl IntoIterator<Item = (i64, NewMessage<'m>)>,
) -> Result<Vec<Row>> {
    let mut id = Vec::new();
    let mut key = Vec::new();
    let mut message_id = Vec::new();
    let mut ticket_id = Vec::new();
    let mut received = Vec::new();
    let mut envelope_sender = Vec::new();
    let mut recipient = Vec::new();
    let mut author = Vec::new();
    let mut subject = Vec::new();
    let mut body = Vec::new();
    let mut size = Vec::new();
    let mut raw: Vec<&[u8]> = Vec::new();
    for (i, m) in messages {
        id.push(i);
        key.push(text(m.key));
        message_id.push(opt_text(m.message_id));
        ticket_id.push(m.ticket_id);
        received.push(sec(m.received));
        envelope_sender.push(opt_text(m.envelope_sender));
        recipient.push(opt_text(m.recipient));
        author.push(text(m.author));
        subject.push(text(m.subject));
        body.push(text(m.body));
        size.push(m.raw.len() as i64);
        raw.push(m.raw);
    }
    tx.rows(
        sql,
        &[
            &id,
            &key,
            &message_id,
            &ticket_id,
            &received,
            &envelope_sender,
            &recipient,
            &author,
            &subject,
            &body,
            &size,
            &raw,
        ],
    )
}

/// The columns of `history`, in the order `history_from_row` reads them.
macro_rules! history_table {
    ($then:ident, $pre:literal) => {
        $then!($pre; id bigint, ticket_id bigint, kind text, author text, date timestamptz,
               message bigint, old text, new text, note text, auto bool, merged_from bigint)
    };
}
pub(super) use history_table;

/// A whole history row, from a row whose first columns are
/// `history_table!(pg_columns)`.
pub(super) fn history_from_row(r: &Row) -> Result<HistoryRow> {
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
        merged_from: get(r, 10)?,
    })
}

/// A new entry numbered by the identity, and its ticket's version and
/// time, in one statement.
const NEW_HISTORY: &str = concat!(
    "WITH h AS (INSERT INTO history (",
    history_table!(pg_columns_but_id, ""),
    ") SELECT ",
    history_table!(pg_columns_but_id, ""),
    " FROM ",
    history_table!(pg_unnest, ""),
    " RETURNING ticket_id, date)
     UPDATE tickets t SET updated = greatest(t.updated, h.date), version = t.version + 1
     FROM h WHERE t.id = h.ticket_id"
);

/// The copy's write of history, as numbered; a stored entry stays.
pub(super) const PUT_HISTORY: &str = concat!(
    "INSERT INTO history (",
    history_table!(pg_columns, ""),
    ") SELECT ",
    history_table!(pg_columns, ""),
    " FROM ",
    history_table!(pg_unnest, ""),
    " ON CONFLICT DO NOTHING"
);

/// Writes history rows (id, ticket, date, entry, merged from; the `id` is
/// ignored by `NEW_HISTORY`) by `sql`, one of the two above.
pub(super) fn put_history<'h>(
    tx: &mut PgTx<'_>,
    sql: &'static str,
    rows: impl IntoIterator<Item = (i64, i64, Time, &'h NewEntry, Option<i64>)>,
) -> Result<u64> {
    let mut id = Vec::new();
    let mut ticket_id = Vec::new();
    let mut kind = Vec::new();
    let mut author = Vec::new();
    let mut date = Vec::new();
    let mut message = Vec::new();
    let mut old = Vec::new();
    let mut new = Vec::new();
    let mut note = Vec::new();
    let mut auto = Vec::new();
    let mut merged_from = Vec::new();
    for (i, t, d, e, from) in rows {
        id.push(i);
        ticket_id.push(t);
        kind.push(e.kind.as_str());
        author.push(text(&e.author));
        date.push(sec(d));
        message.push(e.message);
        old.push(opt_text(e.old.as_deref()));
        new.push(opt_text(e.new.as_deref()));
        note.push(opt_text(e.note.as_deref()));
        auto.push(e.auto);
        merged_from.push(from);
    }
    tx.exec(
        sql,
        &[
            &id,
            &ticket_id,
            &kind,
            &author,
            &date,
            &message,
            &old,
            &new,
            &note,
            &auto,
            &merged_from,
        ],
    )
}

/// What a store keeps of a time: the second (model::to_second).
fn sec(t: Time) -> Time {
    to_second(t)
}

fn owned(s: &str) -> String {
    text(s).into_owned()
}

fn owned_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(owned)
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
        t.watchers = get(&row, TICKET_WIDTH)?;
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
        let now = sec(now);
        let ticket = Ticket::opened(queue, subject, requestor, now);
        let arrays = TicketArrays::of([&ticket]);
        let watchers: Vec<String> = watchers.iter().map(|w| owned(w)).collect();
        let mut params = arrays.params().to_vec();
        params.push(&watchers);
        get(&tx.one(NEW_TICKET, &params)?, 0)
    }

    fn add_watcher(&mut self, id: i64, address: &str) -> Result<bool> {
        let tx = self;
        Ok(tx.exec(
            PUT_WATCHERS,
            &[&[id].as_slice(), &[owned(address)].as_slice()],
        )? == 1)
    }

    fn remove_watcher(&mut self, id: i64, address: &Address) -> Result<bool> {
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

    fn set_queue(&mut self, id: i64, queue: &str) -> Result<()> {
        let tx = self;
        tx.exec(
            "UPDATE tickets SET queue = $2 WHERE id = $1",
            &[&id, &text(queue)],
        )?;
        Ok(())
    }

    fn set_sla(&mut self, t: &Ticket) -> Result<()> {
        let tx = self;
        let (sla, sla_due) = crate::store::sla_columns(t)?;
        tx.exec(
            "UPDATE tickets SET sla = $2, sla_due = $3 WHERE id = $1",
            &[&t.id, &sla, &sla_due.map(sec)],
        )?;
        Ok(())
    }

    fn set_fields(&mut self, id: i64, f: &crate::store::Fields) -> Result<()> {
        let tx = self;
        tx.exec(
            "UPDATE tickets SET subject = $2, requestor = $3, priority = $4, due = $5 WHERE id = $1",
            &[&id, &text(&f.subject), &text(&f.requestor), &f.priority, &f.due.map(sec)],
        )?;
        Ok(())
    }

    fn mark_spam_sender(
        &mut self,
        address: &crate::address::Address,
        ticket: i64,
        now: Time,
    ) -> Result<()> {
        let tx = self;
        tx.exec(
            PUT_SPAM_SENDERS,
            &[
                &[owned(address)].as_slice(),
                &[ticket].as_slice(),
                &[sec(now)].as_slice(),
            ],
        )?;
        Ok(())
    }

    fn forget_spam_sender(&mut self, address: &crate::address::Address) -> Result<bool> {
        let tx = self;
        Ok(tx.exec(
            "DELETE FROM spam_senders WHERE address = $1",
            &[&text(address)],
        )? == 1)
    }

    fn is_spam_sender(&mut self, address: &crate::address::Address) -> Result<bool> {
        let tx = self;
        Ok(tx
            .opt(
                "SELECT 1 FROM spam_senders WHERE address = $1",
                &[&text(address)],
            )?
            .is_some())
    }

    fn set_owner(&mut self, id: i64, owner: Option<&Address>) -> Result<()> {
        let tx = self;
        tx.exec(
            "UPDATE tickets SET owner = $2 WHERE id = $1",
            &[&id, &opt_text(owner.map(Address::as_str))],
        )?;
        Ok(())
    }

    fn merge(&mut self, from: i64, into: i64) -> Result<()> {
        let tx = self;
        for sql in [
            "UPDATE messages SET ticket_id = $2 WHERE ticket_id = $1",
            // The first ticket an entry was written on stays its origin
            // through a chain of merges (SPEC §5 `merged_from`).
            "UPDATE history SET ticket_id = $2, merged_from = coalesce(merged_from, $1) WHERE ticket_id = $1",
            "UPDATE tickets SET merged_into = $2 WHERE merged_into = $1",
            "UPDATE tickets SET merged_into = $2 WHERE id = $1",
        ] {
            tx.exec(sql, &[&from, &into])?;
        }
        Ok(())
    }

    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<i64> {
        let rows = put_messages(self, NEW_MESSAGE, [(0, m.clone())])?;
        match rows.first() {
            Some(row) => get(row, 0),
            None => anyhow::bail!("no id for message {:?}", m.key),
        }
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
        put_history(tx, NEW_HISTORY, [(0, ticket, now, e, None)])?;
        tx.written.push((ticket, e.clone()));
        super::feed::touch(tx, ticket, now)
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
        let tx = self;
        let n: i64 = get(
            &tx.one(
                "SELECT count(*) FROM history WHERE ticket_id = $1 AND kind = $2 AND author = $3
                   AND ($4::text IS NULL OR new = $4) AND ($5::text IS NULL OR old = $5) AND date >= $6",
                &[&ticket, &kind.as_str(), &text(author), &new, &old, &sec(since)],
            )?,
            0,
        )?;
        Ok(n.max(0) as u64)
    }

    fn history(&mut self, id: i64, with_raw: bool) -> Result<Vec<HistoryEntry>> {
        let tx = self;
        // One history row reader for every path (`history_from_row`), the
        // message's columns after it.
        let rows = if with_raw {
            tx.rows(
                concat!(
                    "SELECT ",
                    history_table!(pg_columns, "h."),
                    ", m.id, m.message_id, m.subject, m.body, m.raw
                     FROM history h LEFT JOIN messages m ON m.id = h.message
                     WHERE h.ticket_id = $1 ORDER BY h.date, h.id"
                ),
                &[&id],
            )?
        } else {
            tx.rows(
                concat!(
                    "SELECT ",
                    history_table!(pg_columns, "h."),
                    ", m.id, m.message_id, m.subject, m.body, ''::bytea
                     FROM history h LEFT JOIN messages m ON m.id = h.message
                     WHERE h.ticket_id = $1 ORDER BY h.date, h.id"
                ),
                &[&id],
            )?
        };
        rows.iter()
            .map(|r| {
                // The message's five columns are the last.
                let m = r.len() - 5;
                let message = match get::<Option<i64>>(r, m)? {
                    Some(mid) => Some(StoredMessage {
                        id: mid,
                        message_id: get(r, m + 1)?,
                        subject: get(r, m + 2)?,
                        body: get(r, m + 3)?,
                        raw: get(r, m + 4)?,
                    }),
                    None => None,
                };
                let h = history_from_row(r)?;
                Ok(HistoryEntry {
                    kind: h.entry.kind,
                    author: h.entry.author,
                    date: h.date,
                    old: h.entry.old,
                    new: h.entry.new,
                    note: h.entry.note,
                    auto: h.entry.auto,
                    message,
                    merged_from: h.merged_from,
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

    fn stored_message(&mut self, id: i64, bytes: usize) -> Result<Option<StoredMessage>> {
        let tx = self;
        let head = i32::try_from(bytes).unwrap_or(i32::MAX);
        let row = tx.opt(
            "SELECT id, message_id, subject, body, substring(raw from 1 for $2) FROM messages WHERE id = $1",
            &[&id, &head],
        )?;
        row.map(|r| {
            Ok(StoredMessage {
                id: get(&r, 0)?,
                message_id: get(&r, 1)?,
                subject: get(&r, 2)?,
                body: get(&r, 3)?,
                raw: get(&r, 4)?,
            })
        })
        .transpose()
    }

    fn opening_head(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        let tx = self;
        let head = crate::store::THREAD_HEAD as i32;
        let row = tx.opt(
            "SELECT substring(raw from 1 for $2) FROM messages WHERE ticket_id = $1 ORDER BY id LIMIT 1",
            &[&id, &head],
        )?;
        match row {
            Some(r) => Ok(Some(get(&r, 0)?)),
            None => Ok(None),
        }
    }

    fn last_exchanged_with(&mut self, id: i64, address: &str) -> Result<Option<(String, Vec<u8>)>> {
        let tx = self;
        let head = crate::store::THREAD_HEAD as i32;
        // Their last message, else our last mail to them (recipients are
        // one lowercased address a line): one round trip.
        let row = tx.opt(
            "SELECT message_id, head FROM (
                 (SELECT 0 AS src, message_id, substring(raw from 1 for $3) AS head FROM messages
                  WHERE ticket_id = $1 AND message_id IS NOT NULL AND lower(author) = lower($2)
                  ORDER BY id DESC LIMIT 1)
                 UNION ALL
                 (SELECT 1, message_id, substring(raw from 1 for $3) FROM outbox
                  WHERE ticket_id = $1
                    AND position(E'\\n' || lower($2) || E'\\n' in E'\\n' || recipients || E'\\n') > 0
                  ORDER BY id DESC LIMIT 1)
             ) found ORDER BY src LIMIT 1",
            &[&id, &text(address), &head],
        )?;
        match row {
            Some(r) => Ok(Some((get(&r, 0)?, get(&r, 1)?))),
            None => Ok(None),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_and_the_copy_write_one_column_list_with_or_without_the_id() {
        assert_eq!(
            NEW_MESSAGE,
            "INSERT INTO messages (key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw) \
             SELECT key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw \
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bytea[]) \
             AS u(id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw) \
             RETURNING id"
        );
        assert!(PUT_MESSAGES.starts_with(
            "INSERT INTO messages (id, key, message_id, ticket_id, received, envelope_sender, recipient, author, subject, body, size, raw) \
             SELECT id, key,"
        ));
        // The watchers' array is the parameter after the ticket's thirteen.
        assert!(NEW_TICKET.contains("unnest($14::text[])"), "{NEW_TICKET}");
        assert!(PUT_TICKETS.contains(
            "ON CONFLICT (id) DO UPDATE SET (queue, subject, status, requestor, owner, priority, created, updated, version, due, sla, sla_due) \
             = (excluded.queue, excluded.subject,"
        ), "{PUT_TICKETS}");
        assert_eq!(
            ticket_columns!(),
            "t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated, t.version, t.due, t.sla, t.sla_due, t.merged_into"
        );
    }
}
