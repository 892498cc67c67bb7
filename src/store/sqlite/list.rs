//! The queries behind lists of tickets: `list` and the board, the
//! board's cards by number, and the counts behind `stats` (search, whose
//! machinery is FTS5's, is `search.rs`).

use anyhow::Result;
use rusqlite::{params_from_iter, OptionalExtension};

use super::tickets::{ticket_from_row, watchers, TICKET_COLUMNS, TICKET_WIDTH};
use super::{marks, time_at, word, SqliteTx};
use crate::address::Address;
use crate::model::*;
use crate::store::Lists;

/// The query of `list` and its arguments.
fn list_sql(filter: &Filter) -> (String, Vec<String>) {
    let mut sql = format!(
        "SELECT {TICKET_COLUMNS}, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
         FROM tickets t WHERE t.merged_into IS NULL"
    );
    let mut args: Vec<String> = Vec::new();
    if !filter.statuses.is_empty() {
        let statuses = marks(&mut args, filter.statuses.iter().map(|s| s.as_str().into()));
        sql += &format!(" AND t.status IN ({statuses})");
        // Said again as the list order's index says it, so that SQLite
        // searches that index for the tickets not resolved instead of
        // reading every ticket through it: the board's 10 000 open tickets
        // among 70 000 took 64 ms, now 40 (bench/web.py).
        if !filter.statuses.contains(&Status::Resolved) {
            sql += " AND (t.status = 'resolved') = 0";
        }
    }
    // The values come normalised (`Filter::normalised`): lower-case, as
    // the columns are compared.
    for (column, value) in [
        ("t.queue", &filter.queue),
        ("t.owner", &filter.owner),
        ("t.requestor", &filter.requestor),
    ] {
        if let Some(v) = value {
            args.push(v.clone());
            sql += &format!(" AND lower({column}) = ?{}", args.len());
        }
    }
    if filter.unowned {
        sql += " AND t.owner IS NULL";
    }
    if let Some(v) = &filter.except_queue {
        args.push(v.clone());
        sql += &format!(" AND lower(t.queue) != ?{}", args.len());
    }
    // Stamps are UTC text of one width: text order is time order.
    sql += match filter.sort {
        None => " ORDER BY t.status = 'resolved', t.id DESC",
        Some(Sort::Updated) => " ORDER BY t.updated DESC, t.id DESC",
        Some(Sort::Created) => " ORDER BY t.created DESC, t.id DESC",
        Some(Sort::Priority) => " ORDER BY t.priority DESC, t.id DESC",
        // The nearest of the due date and the SLA's next deadline (SPEC
        // §8); SQLite's min() of a NULL is NULL, hence the coalesce.
        Some(Sort::Due) => {
            " ORDER BY coalesce(min(t.due, t.sla_due), t.due, t.sla_due) IS NULL,
                       coalesce(min(t.due, t.sla_due), t.due, t.sla_due), t.id DESC"
        }
    };
    if let Some(limit) = filter.limit {
        sql += &format!(" LIMIT {limit}");
    }
    (sql, args)
}

impl Lists for SqliteTx<'_> {
    fn list(&mut self, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
        let (sql, args) = list_sql(filter);
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |row| {
            Ok(Listed {
                ticket: ticket_from_row(row)?,
                messages: row.get(TICKET_WIDTH)?,
            })
        })?;
        let mut listed: Vec<Listed> = rows.collect::<rusqlite::Result<_>>()?;
        if with_watchers {
            for l in &mut listed {
                l.ticket.watchers = watchers(self.conn, l.ticket.id)?;
            }
        }
        Ok(listed)
    }

    fn listed(&mut self, ids: &[i64]) -> Result<Vec<Listed>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TICKET_COLUMNS}, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
             FROM tickets t WHERE t.id = ?1"
        ))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(l) = stmt
                .query_row([id], |row| {
                    Ok(Listed {
                        ticket: ticket_from_row(row)?,
                        messages: row.get(TICKET_WIDTH)?,
                    })
                })
                .optional()?
            {
                out.push(l);
            }
        }
        Ok(out)
    }

    fn counts(&mut self, since: Time) -> Result<Counts> {
        let mut stmt = self.conn.prepare(
            "SELECT queue, status, count(*) FROM tickets WHERE merged_into IS NULL GROUP BY queue, status",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                word::<Status>(r, 1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut counts = Counts::default();
        for row in rows {
            let (queue, status, n) = row?;
            counts.by_queue_status.push((queue, status, n));
        }
        counts.new_since = self.conn.query_row(
            "SELECT count(*) FROM tickets WHERE created >= ?1 AND merged_into IS NULL",
            [stamp(since)],
            |r| r.get(0),
        )?;
        Ok(counts)
    }

    fn search(&mut self, words: &[String], statuses: &[Status], limit: usize) -> Result<Vec<Hit>> {
        super::search::search(self.conn, words, statuses, limit)
    }

    fn search_people(
        &mut self,
        people: &[Address],
        words: &[String],
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Hit>> {
        super::search::search_people(self.conn, people, words, statuses, limit)
    }

    fn first_staff_replies(&mut self, staff: &[Address]) -> Result<Vec<(Time, Time)>> {
        if staff.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = Vec::new();
        let staff = marks(&mut args, staff.iter().map(Address::to_string));
        let sql = format!(
            "SELECT t.created, min(h.date) FROM tickets t JOIN history h ON h.ticket_id = t.id
             WHERE h.kind = 'correspond' AND lower(h.author) IN ({staff})
             GROUP BY t.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok((time_at(r, 0)?, time_at(r, 1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_tickets_are_searched_in_the_list_order_not_read_through_it() {
        let store = super::super::SqliteStore::in_memory().unwrap();
        let board = Filter {
            statuses: vec![Status::New, Status::Open, Status::Stalled],
            ..Filter::default()
        };
        let (sql, args) = list_sql(&board);
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH t USING INDEX tickets_list_order")),
            "{plan:?}"
        );
    }
}
