//! SQLite's side of copying a desk (`store::copy`): rows dumped in key
//! order, loaded with their ids and numbers as they were, the full-text
//! index filled for each message that is new here. SQLite's change feed is
//! its history (ids handed out under the one write lock are in commit
//! order): its `changes` are the last history rows, and changes loaded
//! here are already here as history.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::accounts::{
    credential_from_row, password_from_row, put_credential, put_password, CREDENTIAL_COLUMNS,
    PASSWORD_COLUMNS,
};
use super::outbox::{outbox_from_row, put_outbox, OUTBOX_COLUMNS};
use super::tickets::{
    add_watcher, history_from_row, message_from_row, put_history, put_message, put_spam_sender,
    ticket_from_row, watchers, write_ticket, HISTORY_COLUMNS, MESSAGE_COLUMNS, TICKET_COLUMNS,
};
use super::{time_at, SqliteTx};
use crate::model::*;
use crate::store::copy::{Extent, Marks, Pick, Rows, SpamSenderRow, Table};
use crate::store::{Copying, FEED_KEEP};

fn extent(conn: &Connection, table: &str, key: &str) -> Result<Extent> {
    let (rows, max): (i64, Option<i64>) = conn.query_row(
        &format!("SELECT count(*), max({key}) FROM {table}"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Extent {
        rows,
        max: max.unwrap_or(0),
    })
}

fn marks(conn: &Connection) -> Result<Marks> {
    let accounts: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM staff_passwords) + (SELECT count(*) FROM credentials)",
        [],
        |r| r.get(0),
    )?;
    Ok(Marks {
        tickets: extent(conn, "tickets", "id")?,
        messages: extent(conn, "messages", "id")?,
        history: extent(conn, "history", "id")?,
        outbox: extent(conn, "outbox", "id")?,
        // The feed a copy takes: the last FEED_KEEP history rows.
        changes: {
            let h = extent(conn, "history", "id")?;
            Extent {
                rows: h.rows.min(FEED_KEEP),
                max: h.max,
            }
        },
        accounts,
        copied_feed: conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'copied_feed'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok()),
    })
}

/// Rows of `sql` (whose first parameter is the key to continue after),
/// stopping at `max_rows`, or once `size` of the rows read passes
/// `max_bytes`.
fn take<T>(
    conn: &Connection,
    sql: &str,
    after: i64,
    max_rows: usize,
    max_bytes: usize,
    read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
    size: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([after])?;
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    while let Some(r) = rows.next()? {
        let item = read(r)?;
        bytes = bytes.saturating_add(size(&item));
        out.push(item);
        if out.len() >= max_rows || bytes >= max_bytes {
            break;
        }
    }
    Ok(out)
}

fn dump(
    conn: &Connection,
    table: Table,
    pick: Pick<'_>,
    max_rows: usize,
    max_bytes: usize,
) -> Result<Rows> {
    Ok(match (table, pick) {
        (Table::Tickets, Pick::After(after)) => {
            let mut tickets = take(
                conn,
                &format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id > ?1 ORDER BY t.id"),
                after,
                max_rows,
                usize::MAX,
                ticket_from_row,
                |_| 0,
            )?;
            for t in &mut tickets {
                t.watchers = watchers(conn, t.id)?;
            }
            Rows::Tickets(tickets)
        }
        (Table::Tickets, Pick::Ids(ids)) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = ?1"
            ))?;
            let mut tickets = Vec::new();
            for id in ids {
                if let Some(mut t) = stmt.query_row([id], ticket_from_row).optional()? {
                    t.watchers = watchers(conn, t.id)?;
                    tickets.push(t);
                }
            }
            Rows::Tickets(tickets)
        }
        (Table::Messages, Pick::After(after)) => Rows::Messages(take(
            conn,
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id > ?1 ORDER BY id"),
            after,
            max_rows,
            max_bytes,
            message_from_row,
            |m| m.raw.len(),
        )?),
        (Table::History, Pick::After(after)) => Rows::History(take(
            conn,
            &format!("SELECT {HISTORY_COLUMNS} FROM history WHERE id > ?1 ORDER BY id"),
            after,
            max_rows,
            usize::MAX,
            history_from_row,
            |_| 0,
        )?),
        (Table::Outbox, Pick::After(after)) => Rows::Outbox(take(
            conn,
            &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id > ?1 ORDER BY id"),
            after,
            max_rows,
            max_bytes,
            outbox_from_row,
            |o| o.raw.len(),
        )?),
        (Table::Outbox, Pick::Ids(ids)) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"
            ))?;
            let mut rows = Vec::new();
            for id in ids {
                if let Some(o) = stmt.query_row([id], outbox_from_row).optional()? {
                    rows.push(o);
                }
            }
            Rows::Outbox(rows)
        }
        (Table::Changes, Pick::After(after)) => Rows::Changes(take(
            conn,
            "SELECT id, ticket_id, date FROM history WHERE id > ?1 ORDER BY id",
            after.max(
                conn.query_row("SELECT coalesce(max(id), 0) FROM history", [], |r| {
                    r.get::<_, i64>(0)
                })? - FEED_KEEP,
            ),
            max_rows,
            usize::MAX,
            |r| {
                Ok((
                    Change {
                        seq: r.get(0)?,
                        ticket: r.get(1)?,
                    },
                    time_at(r, 2)?,
                ))
            },
            |_| 0,
        )?),
        (Table::Accounts, _) => {
            let mut stmt = conn.prepare(&format!(
                "SELECT {PASSWORD_COLUMNS} FROM staff_passwords ORDER BY address"
            ))?;
            let passwords = stmt
                .query_map([], password_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY secret_hash"
            ))?;
            let credentials = stmt
                .query_map([], credential_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            Rows::Accounts(passwords, credentials)
        }
        (Table::SpamSenders, _) => {
            let mut stmt = conn
                .prepare("SELECT address, ticket_id, marked FROM spam_senders ORDER BY address")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(SpamSenderRow {
                        address: r.get(0)?,
                        ticket: r.get(1)?,
                        marked: time_at(r, 2)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Rows::SpamSenders(rows)
        }
        (Table::Merges, _) => {
            let mut stmt = conn.prepare(
                "SELECT id, merged_into FROM tickets WHERE merged_into IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Rows::Merges(rows)
        }
        (Table::Placement, Pick::Ids(ids)) => {
            let mut m =
                conn.prepare_cached("SELECT id, ticket_id FROM messages WHERE ticket_id = ?1")?;
            let mut h = conn.prepare_cached(
                "SELECT id, ticket_id, merged_from FROM history WHERE ticket_id = ?1",
            )?;
            let (mut messages, mut history) = (Vec::new(), Vec::new());
            for id in ids {
                for row in m.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))? {
                    messages.push(row?);
                }
                for row in h.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
                    history.push(row?);
                }
            }
            Rows::Placement(messages, history)
        }
        (table, pick) => anyhow::bail!("no dump of {table:?} by {pick:?}"),
    })
}

fn load(conn: &Connection, rows: &Rows) -> Result<u64> {
    let mut written = 0u64;
    match rows {
        Rows::Tickets(tickets) => {
            for t in tickets {
                let (_, mut changed) = write_ticket(conn, Some(t.id), t)?;
                if watchers(conn, t.id)? != t.watchers {
                    conn.prepare_cached("DELETE FROM watchers WHERE ticket_id = ?1")?
                        .execute([t.id])?;
                    for w in &t.watchers {
                        add_watcher(conn, t.id, w)?;
                    }
                    changed = true;
                }
                written += u64::from(changed);
            }
        }
        Rows::Messages(messages) => {
            for m in messages {
                written += u64::from(put_message(conn, Some(m.id), &m.as_new())?.is_some());
            }
        }
        Rows::History(history) => {
            for h in history {
                written += u64::from(put_history(
                    conn,
                    Some(h.id),
                    h.ticket_id,
                    &h.entry,
                    h.date,
                    h.merged_from,
                )?);
            }
        }
        Rows::Outbox(mail) => {
            for o in mail {
                written += u64::from(put_outbox(conn, Some(o.id), o)?.1);
            }
        }
        // The feed here is the history, copied already.
        Rows::Changes(_) => {}
        Rows::Accounts(passwords, credentials) => {
            for p in passwords {
                written += u64::from(put_password(conn, p)?);
            }
            for c in credentials {
                written += u64::from(put_credential(conn, c)?);
            }
        }
        Rows::SpamSenders(senders) => {
            // The set is made equal to the source's: an undo there is
            // one here too.
            let mut stmt = conn.prepare("SELECT address FROM spam_senders")?;
            let here: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for gone in here
                .iter()
                .filter(|a| !senders.iter().any(|s| &s.address == *a))
            {
                written += conn
                    .execute("DELETE FROM spam_senders WHERE address = ?1", params![gone])?
                    as u64;
            }
            for s in senders {
                written += u64::from(put_spam_sender(conn, &s.address, s.ticket, s.marked)?);
            }
        }
        Rows::Merges(merges) => {
            let mut set = conn.prepare_cached(
                "UPDATE tickets SET merged_into = ?2 WHERE id = ?1 AND merged_into IS NOT ?2",
            )?;
            for (id, into) in merges {
                written += set.execute(params![id, into])? as u64;
            }
        }
        Rows::Placement(messages, history) => {
            let mut m = conn.prepare_cached(
                "UPDATE messages SET ticket_id = ?2 WHERE id = ?1 AND ticket_id IS NOT ?2",
            )?;
            for (id, ticket) in messages {
                written += m.execute(params![id, ticket])? as u64;
            }
            let mut h = conn.prepare_cached(
                "UPDATE history SET ticket_id = ?2, merged_from = ?3
                 WHERE id = ?1 AND (ticket_id IS NOT ?2 OR merged_from IS NOT ?3)",
            )?;
            for (id, ticket, merged_from) in history {
                written += h.execute(params![id, ticket, merged_from])? as u64;
            }
        }
    }
    Ok(written)
}

impl Copying for SqliteTx<'_> {
    fn copy_marks(&mut self) -> Result<Marks> {
        marks(self.conn)
    }

    fn dump(
        &mut self,
        table: Table,
        pick: Pick<'_>,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<Rows> {
        dump(self.conn, table, pick, max_rows, max_bytes)
    }

    fn load(&mut self, rows: &Rows) -> Result<u64> {
        load(self.conn, rows)
    }

    fn adopt_desk_id(&mut self, id: &str) -> Result<()> {
        self.conn
            .execute("UPDATE meta SET value = ?1 WHERE key = 'desk_id'", [id])?;
        Ok(())
    }

    fn finish_copy(&mut self, source_seq: Option<i64>) -> Result<()> {
        // Tickets, messages, history and mail take max(id) + 1 by themselves
        // (INTEGER PRIMARY KEY), and the feed is the history: only the
        // source's position is kept, for the next copy.
        match source_seq {
            Some(seq) => self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('copied_feed', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [seq.to_string()],
            )?,
            None => self
                .conn
                .execute("DELETE FROM meta WHERE key = 'copied_feed'", [])?,
        };
        Ok(())
    }
}
