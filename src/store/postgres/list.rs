//! The queries behind lists of tickets: `list` and the board, the
//! board's cards by number, and the counts behind `stats` (search, whose
//! machinery is PostgreSQL's full-text search, is `search.rs`).

use anyhow::Result;

use super::tickets::{ticket_columns, ticket_from_row, ticket_table, watchers, TICKET_WIDTH};
use super::{get, pg_columns, text, word, PgTx};
use crate::address::Address;
use crate::model::*;
use crate::store::Lists;

impl Lists for PgTx<'_> {
    fn list(&mut self, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
        let tx = self;
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        // The values come normalised (`Filter::normalised`).
        let norm = |v: &Option<String>| v.as_deref().map(|v| text(v).into_owned());
        let (queue, owner, requestor, except_queue) = (
            norm(&filter.queue),
            norm(&filter.owner),
            norm(&filter.requestor),
            norm(&filter.except_queue),
        );
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        let params: [&(dyn postgres::types::ToSql + Sync); 7] = [
            &statuses,
            &queue,
            &owner,
            &requestor,
            &limit,
            &except_queue,
            &filter.unowned,
        ];
        // One statement for each order: a planner can use an index for an
        // ORDER BY it sees, not for one chosen by a parameter.
        macro_rules! listing {
            ($order:literal) => {
                concat!(
                    "SELECT ",
                    ticket_columns!(),
                    ",
                        (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
                 FROM tickets t
                 WHERE t.merged_into IS NULL
                   AND (cardinality($1::text[]) = 0 OR t.status = ANY($1))
                   AND ($2::text IS NULL OR lower(t.queue) = $2)
                   AND ($3::text IS NULL OR lower(t.owner) = $3)
                   AND ($4::text IS NULL OR lower(t.requestor) = $4)
                   AND ($6::text IS NULL OR lower(t.queue) <> $6)
                   AND (NOT $7::bool OR t.owner IS NULL)
                 ORDER BY ",
                    $order,
                    " LIMIT $5"
                )
            };
        }
        let sql = match filter.sort {
            None => listing!("(t.status = 'resolved'), t.id DESC"),
            Some(Sort::Updated) => listing!("t.updated DESC, t.id DESC"),
            Some(Sort::Created) => listing!("t.created DESC, t.id DESC"),
            Some(Sort::Priority) => listing!("t.priority DESC, t.id DESC"),
            // The nearest of the due date and the SLA's next deadline
            // (SPEC §8): LEAST leaves NULLs out.
            Some(Sort::Due) => listing!("LEAST(t.due, t.sla_due) ASC NULLS LAST, t.id DESC"),
        };
        let rows = tx.rows(sql, &params)?;
        let mut listed = rows
            .iter()
            .map(|r| {
                Ok(Listed {
                    ticket: ticket_from_row(r)?,
                    messages: get(r, TICKET_WIDTH)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if with_watchers {
            for l in &mut listed {
                l.ticket.watchers = watchers(tx, l.ticket.id)?;
            }
        }
        Ok(listed)
    }

    fn listed(&mut self, ids: &[i64]) -> Result<Vec<Listed>> {
        let tx = self;
        let rows = tx.rows(
            concat!(
                "SELECT ",
                ticket_columns!(),
                ",
                    (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
             FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord) JOIN tickets t ON t.id = u.id
             ORDER BY u.ord"
            ),
            &[&ids],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Listed {
                    ticket: ticket_from_row(r)?,
                    messages: get(r, TICKET_WIDTH)?,
                })
            })
            .collect()
    }

    fn search(&mut self, words: &[String], statuses: &[Status], limit: usize) -> Result<Vec<Hit>> {
        super::search::search(self, words, statuses, limit)
    }

    fn search_people(
        &mut self,
        people: &[Address],
        words: &[String],
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Hit>> {
        super::search::search_people(self, people, words, statuses, limit)
    }

    fn counts(&mut self, since: Time) -> Result<Counts> {
        let tx = self;
        let mut counts = Counts::default();
        for r in tx.rows(
            "SELECT queue, status, count(*) FROM tickets WHERE merged_into IS NULL GROUP BY queue, status ORDER BY queue, status",
            &[],
        )? {
            counts.by_queue_status.push((
                get(&r, 0)?,
                word(&r, 1)?,
                get(&r, 2)?,
            ));
        }
        counts.new_since = get(
            &tx.one(
                "SELECT count(*) FROM tickets WHERE created >= $1 AND merged_into IS NULL",
                &[&to_second(since)],
            )?,
            0,
        )?;
        Ok(counts)
    }

    fn first_staff_replies(&mut self, staff: &[Address]) -> Result<Vec<(Time, Time)>> {
        let tx = self;
        if staff.is_empty() {
            return Ok(Vec::new());
        }
        let staff: Vec<&str> = staff.iter().map(Address::as_str).collect();
        tx.rows(
            "SELECT t.created, min(h.date) FROM tickets t JOIN history h ON h.ticket_id = t.id
             WHERE h.kind = 'correspond' AND lower(h.author) = ANY($1)
             GROUP BY t.id ORDER BY t.id",
            &[&staff],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect()
    }
}
