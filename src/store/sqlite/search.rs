//! The queries behind the commands people read with: full-text search
//! (FTS5), the sorted ticket list and the counts behind `stats`.

use anyhow::Result;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::tickets::{ticket_from_row, time_at, watchers, TICKET_COLUMNS};
use crate::model::*;

/// A hit while ranking: its best message, for the snippet.
struct Ranked {
    hit: Hit,
    message: i64,
}

/// `words` as an FTS5 query: every word a quoted string (so `AND`, `-`,
/// `:` or a stray quote are words, never syntax), all of them required.
fn fts_query(words: &[String]) -> Result<String> {
    let terms = crate::store::search_terms(words)?;
    Ok(terms
        .iter()
        .map(|(word, prefix)| {
            let quoted = format!("\"{}\"", word.replace('"', "\"\""));
            if *prefix {
                quoted + "*"
            } else {
                quoted
            }
        })
        .collect::<Vec<_>>()
        .join(" "))
}

/// Tickets whose messages match `words`, best first, one hit per ticket.
/// The subject weighs ten times a body word (bm25 column weights).
///
/// Every matching message is scored (FTS5 has no way around that), but only
/// inside the FTS index: the best `window` messages are then looked up to
/// find their tickets, and the window doubles only when they name fewer than
/// `limit` tickets. Snippets, the costly part, are made for the hits shown.
/// On a million messages a word in every one of them takes about a second;
/// a word in a few thousand, milliseconds.
pub(super) fn search(
    conn: &Connection,
    words: &[String],
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Hit>> {
    let query = fts_query(words)?;
    let mut hits = if statuses.is_empty() {
        best_tickets(conn, &query, limit)?
    } else {
        best_tickets_in(conn, &query, statuses, limit)?
    };
    let mut snip = conn.prepare(&format!(
        "SELECT snippet(messages_fts, -1, '{MARK_START}', '{MARK_END}', '…', 16)
         FROM messages_fts WHERE messages_fts MATCH ?1 AND rowid = ?2"
    ))?;
    for h in &mut hits {
        h.hit.snippet = snip
            .query_row(params![query, h.message], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
    }
    Ok(hits.into_iter().map(|r| r.hit).collect())
}

/// The best `limit` tickets for an FTS5 `query`, looking at the best
/// messages first (see `search`).
fn best_tickets(conn: &Connection, query: &str, limit: usize) -> Result<Vec<Ranked>> {
    let mut best = conn.prepare(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1
         ORDER BY bm25(messages_fts, 10.0, 1.0), rowid DESC LIMIT ?2",
    )?;
    let mut ticket_of = conn.prepare_cached(
        "SELECT t.id, t.subject, t.status FROM messages m JOIN tickets t ON t.id = m.ticket_id
         WHERE m.id = ?1",
    )?;
    let mut window = limit.saturating_mul(10).max(100);
    let mut hits: Vec<Ranked> = Vec::new();
    loop {
        hits.clear();
        let mut seen = std::collections::HashSet::new();
        let rows: Vec<i64> = best
            .query_map(params![query, window as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for &mid in &rows {
            if hits.len() >= limit {
                break;
            }
            let Some((ticket, subject, status)) = ticket_of
                .query_row([mid], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()?
            else {
                // A bounce kept without a ticket.
                continue;
            };
            if seen.insert(ticket) {
                hits.push(Ranked {
                    hit: Hit {
                        ticket,
                        subject,
                        status: parse_status(&status)?,
                        snippet: String::new(),
                    },
                    message: mid,
                });
            }
        }
        if hits.len() >= limit || rows.len() < window {
            break;
        }
        window = window.saturating_mul(4);
    }
    Ok(hits)
}

/// As `best_tickets`, for tickets in `statuses` only. A filter may reject
/// most of the best messages, so this ranks every match in one pass (a
/// MATERIALIZED CTE keeps SQLite from flattening the FTS query into the
/// aggregate, where bm25() may not run).
fn best_tickets_in(
    conn: &Connection,
    query: &str,
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Ranked>> {
    let mut args: Vec<String> = vec![query.to_string()];
    let marks: Vec<String> = statuses
        .iter()
        .map(|s| {
            args.push(s.as_str().to_string());
            format!("?{}", args.len())
        })
        .collect();
    let sql = format!(
        "WITH f AS MATERIALIZED (
             SELECT rowid AS mid, bm25(messages_fts, 10.0, 1.0) AS score
             FROM messages_fts WHERE messages_fts MATCH ?1
         ),
         best AS (
             SELECT m.ticket_id AS tid, f.mid AS mid, min(f.score) AS score
             FROM f JOIN messages m ON m.id = f.mid
             WHERE m.ticket_id IS NOT NULL
             GROUP BY m.ticket_id
         )
         SELECT t.id, t.subject, t.status, best.mid
         FROM best JOIN tickets t ON t.id = best.tid
         WHERE t.status IN ({})
         ORDER BY best.score, best.mid DESC
         LIMIT {limit}",
        marks.join(",")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut hits = Vec::new();
    for row in rows {
        let (ticket, subject, status, message) = row?;
        hits.push(Ranked {
            hit: Hit {
                ticket,
                subject,
                status: parse_status(&status)?,
                snippet: String::new(),
            },
            message,
        });
    }
    Ok(hits)
}

fn parse_status(s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| anyhow::anyhow!("{s:?} is not a status"))
}

/// The query of `list` and its arguments.
fn list_sql(filter: &Filter) -> (String, Vec<String>) {
    let mut sql = format!(
        "SELECT {TICKET_COLUMNS}, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
         FROM tickets t WHERE t.merged_into IS NULL"
    );
    let mut args: Vec<String> = Vec::new();
    if !filter.statuses.is_empty() {
        let marks: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| {
                args.push(s.as_str().to_string());
                format!("?{}", args.len())
            })
            .collect();
        sql += &format!(" AND t.status IN ({})", marks.join(","));
        // Said again as the list order's index says it, so that SQLite
        // searches that index for the tickets not resolved instead of
        // reading every ticket through it: the board's 10 000 open tickets
        // among 70 000 took 64 ms, now 40 (bench/web.py).
        if !filter.statuses.contains(&Status::Resolved) {
            sql += " AND (t.status = 'resolved') = 0";
        }
    }
    for (column, value) in [
        ("t.queue", &filter.queue),
        ("t.owner", &filter.owner),
        ("t.requestor", &filter.requestor),
    ] {
        if let Some(v) = value {
            args.push(v.trim().to_ascii_lowercase());
            sql += &format!(" AND lower({column}) = ?{}", args.len());
        }
    }
    sql += if filter.recently_updated {
        " ORDER BY t.updated DESC, t.id DESC"
    } else {
        " ORDER BY t.status = 'resolved', t.id DESC"
    };
    if let Some(limit) = filter.limit {
        sql += &format!(" LIMIT {limit}");
    }
    (sql, args)
}

pub(super) fn list(conn: &Connection, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
    let (sql, args) = list_sql(filter);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |row| {
        Ok(Listed {
            ticket: ticket_from_row(row)?,
            messages: row.get(11)?,
        })
    })?;
    let mut listed: Vec<Listed> = rows.collect::<rusqlite::Result<_>>()?;
    if with_watchers {
        for l in &mut listed {
            l.ticket.watchers = watchers(conn, l.ticket.id)?;
        }
    }
    Ok(listed)
}

pub(super) fn listed(conn: &Connection, ids: &[i64]) -> Result<Vec<Listed>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TICKET_COLUMNS}, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
         FROM tickets t WHERE t.id = ?1"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(l) = stmt
            .query_row([id], |row| {
                Ok(Listed {
                    ticket: ticket_from_row(row)?,
                    messages: row.get(11)?,
                })
            })
            .optional()?
        {
            out.push(l);
        }
    }
    Ok(out)
}

pub(super) fn counts(conn: &Connection, since: Time) -> Result<Counts> {
    let mut stmt = conn.prepare(
        "SELECT queue, status, count(*) FROM tickets WHERE merged_into IS NULL GROUP BY queue, status",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut counts = Counts::default();
    for row in rows {
        let (queue, status, n) = row?;
        counts
            .by_queue_status
            .push((queue, parse_status(&status)?, n));
    }
    counts.new_since = conn.query_row(
        "SELECT count(*) FROM tickets WHERE created >= ?1 AND merged_into IS NULL",
        [stamp(since)],
        |r| r.get(0),
    )?;
    Ok(counts)
}

pub(super) fn first_staff_replies(
    conn: &Connection,
    staff: &[String],
) -> Result<Vec<(Time, Time)>> {
    if staff.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=staff.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "SELECT t.created, min(h.date) FROM tickets t JOIN history h ON h.ticket_id = t.id
         WHERE h.kind = 'correspond' AND lower(h.author) IN ({})
         GROUP BY t.id",
        marks.join(",")
    );
    let mut stmt = conn.prepare(&sql)?;
    let lower: Vec<String> = staff.iter().map(|s| s.to_ascii_lowercase()).collect();
    let rows = stmt.query_map(params_from_iter(lower.iter()), |r| {
        Ok((time_at(r, 0)?, time_at(r, 1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_never_syntax() {
        let q = |w: &[&str]| fts_query(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(q(&["printer", "broken"]).unwrap(), "\"printer\" \"broken\"");
        assert_eq!(q(&["AND", "pri*"]).unwrap(), "\"AND\" \"pri\"*");
        assert_eq!(q(&["a\"b"]).unwrap(), "\"a\"\"b\"");
        assert!(q(&["--", "*"]).is_err());
    }

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
