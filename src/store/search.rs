//! The queries behind the commands people read with: full-text search,
//! the sorted ticket list, attachments, stats, and what an import needs
//! (backdating the rows a replayed message wrote).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use super::{Filter, Listed, Status};

/// Where a snippet's matched words start and end. Private-use characters,
/// so that no control character from mail can pass for one; the caller
/// turns them into bold or drops them.
pub const MARK_START: char = '\u{e000}';
pub const MARK_END: char = '\u{e001}';

/// One ticket found by `search`, with the best-matching message's snippet.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub ticket: i64,
    pub subject: String,
    pub status: String,
    /// Matched words between `MARK_START` and `MARK_END`.
    pub snippet: String,
    #[serde(skip)]
    pub message: i64,
}

/// Turns what a person typed into an FTS5 query: every word a quoted
/// string (so `AND`, `-`, `:` or a stray quote are words, never syntax), all
/// of them required; a trailing `*` asks for a prefix.
pub fn fts_query(words: &[String]) -> Result<String> {
    let mut terms = Vec::new();
    for word in words.iter().flat_map(|w| w.split_whitespace()) {
        let (bare, prefix) = match word.strip_suffix('*') {
            Some(b) => (b.trim_end_matches('*'), true),
            None => (word, false),
        };
        // FTS5's tokenizer drops punctuation anyway; a word of nothing but
        // punctuation would make the query match nothing.
        if !bare.chars().any(char::is_alphanumeric) {
            continue;
        }
        let quoted = format!("\"{}\"", bare.replace('"', "\"\""));
        terms.push(if prefix { quoted + "*" } else { quoted });
    }
    if terms.is_empty() {
        bail!("nothing to search for: give at least one word");
    }
    Ok(terms.join(" "))
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
pub fn search(
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
        h.snippet = snip
            .query_row(params![query, h.message], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
    }
    Ok(hits)
}

/// The best `limit` tickets for an FTS5 `query`, looking at the best
/// messages first (see `search`).
fn best_tickets(conn: &Connection, query: &str, limit: usize) -> Result<Vec<Hit>> {
    let mut best = conn.prepare(
        "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1
         ORDER BY bm25(messages_fts, 10.0, 1.0), rowid DESC LIMIT ?2",
    )?;
    let mut ticket_of = conn.prepare_cached(
        "SELECT t.id, t.subject, t.status FROM messages m JOIN tickets t ON t.id = m.ticket_id
         WHERE m.id = ?1",
    )?;
    let mut window = limit.saturating_mul(10).max(100);
    let mut hits: Vec<Hit> = Vec::new();
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
                hits.push(Hit {
                    ticket,
                    subject,
                    status,
                    snippet: String::new(),
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
) -> Result<Vec<Hit>> {
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
        Ok(Hit {
            ticket: r.get(0)?,
            subject: r.get(1)?,
            status: r.get(2)?,
            snippet: String::new(),
            message: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Tickets matching `filter` for `list`: new and open ones first, then
/// resolved ones, each newest first; watchers are not read (a list of a
/// million tickets should not cost a million queries).
pub fn list_sorted(conn: &Connection, filter: &Filter) -> Result<Vec<Listed>> {
    let mut sql = format!(
        "SELECT {}, (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id) FROM tickets t WHERE 1",
        super::tickets::TICKET_COLUMNS
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
        sql += &format!(" AND status IN ({})", marks.join(","));
    }
    for (column, value) in [
        ("queue", &filter.queue),
        ("owner", &filter.owner),
        ("requestor", &filter.requestor),
    ] {
        if let Some(v) = value {
            args.push(v.trim().to_ascii_lowercase());
            sql += &format!(" AND lower({column}) = ?{}", args.len());
        }
    }
    sql += " ORDER BY status = 'resolved', id DESC";
    if let Some(limit) = filter.limit {
        sql += &format!(" LIMIT {limit}");
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |row| {
        Ok(Listed {
            ticket: super::tickets::ticket_from_row(row)?,
            messages: row.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Counts for `stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub tickets: i64,
    pub by_status: BTreeMap<String, i64>,
    /// queue → status → count.
    pub by_queue: BTreeMap<String, BTreeMap<String, i64>>,
    pub new_this_week: i64,
}

/// Tickets by status and queue, and how many were created at or after
/// `since` (an RFC 3339 stamp as stored).
pub fn counts(conn: &Connection, since: &str) -> Result<Counts> {
    let mut c = Counts {
        tickets: 0,
        by_status: ["new", "open", "resolved"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect(),
        by_queue: BTreeMap::new(),
        new_this_week: 0,
    };
    let mut stmt =
        conn.prepare("SELECT queue, status, count(*) FROM tickets GROUP BY queue, status")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (queue, status, n) = row?;
        c.tickets += n;
        *c.by_status.entry(status.clone()).or_default() += n;
        *c.by_queue
            .entry(queue)
            .or_default()
            .entry(status)
            .or_default() += n;
    }
    c.new_this_week = conn.query_row(
        "SELECT count(*) FROM tickets WHERE created >= ?1",
        [since],
        |r| r.get(0),
    )?;
    Ok(c)
}

/// For each ticket that staff answered: when it was opened and when the
/// first correspondence from one of `staff` came.
pub fn first_staff_replies(conn: &Connection, staff: &[String]) -> Result<Vec<(String, String)>> {
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
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The highest row ids of messages and history: what an import notes
/// before replaying a message, to find the rows the replay wrote.
pub fn high_water(conn: &Connection) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT (SELECT coalesce(max(id), 0) FROM messages), (SELECT coalesce(max(id), 0) FROM history)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Gives the rows written since `mark` (see `high_water`) the date the
/// message was written instead of the time of the import, so that an
/// imported ticket's history, age and stats read as they happened. A ticket
/// the message opened is created then; a ticket's `updated` becomes its
/// latest history date.
pub fn backdate(
    conn: &Connection,
    mark: (i64, i64),
    ticket: Option<i64>,
    created: bool,
    date: &str,
) -> Result<()> {
    conn.prepare_cached("UPDATE messages SET received = ?2 WHERE id > ?1")?
        .execute(params![mark.0, date])?;
    conn.prepare_cached("UPDATE history SET date = ?2 WHERE id > ?1")?
        .execute(params![mark.1, date])?;
    if let Some(t) = ticket {
        if created {
            conn.prepare_cached("UPDATE tickets SET created = ?2 WHERE id = ?1")?
                .execute(params![t, date])?;
        }
        conn.prepare_cached(
            "UPDATE tickets SET updated = coalesce((SELECT max(date) FROM history WHERE ticket_id = ?1), updated) WHERE id = ?1",
        )?
        .execute([t])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{create_ticket, insert_message, open_in_memory, NewMessage};

    fn message(conn: &Connection, ticket: i64, key: &str, subject: &str, body: &str) {
        insert_message(
            conn,
            &NewMessage {
                key,
                message_id: None,
                ticket_id: Some(ticket),
                envelope_sender: None,
                recipient: None,
                author: "a@b",
                subject,
                body,
                raw: b"x",
                now: "t0",
            },
        )
        .unwrap();
    }

    #[test]
    fn words_are_quoted_never_syntax() {
        let q = |w: &[&str]| fts_query(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(q(&["printer", "broken"]).unwrap(), "\"printer\" \"broken\"");
        assert_eq!(q(&["AND", "pri*"]).unwrap(), "\"AND\" \"pri\"*");
        assert_eq!(q(&["a\"b"]).unwrap(), "\"a\"\"b\"");
        assert!(q(&["--", "*"]).is_err());
    }

    #[test]
    fn the_subject_outranks_the_body_and_tickets_are_not_repeated() {
        let conn = open_in_memory().unwrap();
        let one = create_ticket(&conn, "general", "Mail", "a@b", &[], "t0").unwrap();
        let two = create_ticket(&conn, "general", "Printer", "a@b", &[], "t0").unwrap();
        message(&conn, one, "1", "Mail", "the printer is near the mail room");
        message(&conn, one, "2", "Re: Mail", "and the printer again");
        message(&conn, two, "3", "Printer on fire", "help");
        let hits = search(&conn, &["printer".into()], &[], 10).unwrap();
        let ids: Vec<i64> = hits.iter().map(|h| h.ticket).collect();
        assert_eq!(ids, [two, one]);
        assert!(
            hits[0].snippet.contains(MARK_START),
            "{:?}",
            hits[0].snippet
        );
        let open = search(&conn, &["printer".into()], &[Status::Resolved], 10).unwrap();
        assert!(open.is_empty());
    }

    #[test]
    fn a_ticket_with_many_better_messages_does_not_hide_the_others() {
        let conn = open_in_memory().unwrap();
        let busy = create_ticket(&conn, "general", "Busy", "a@b", &[], "t0").unwrap();
        let quiet = create_ticket(&conn, "general", "Quiet", "a@b", &[], "t0").unwrap();
        for i in 0..150 {
            message(&conn, busy, &format!("b{i}"), "printer", "printer");
        }
        message(
            &conn,
            quiet,
            "q",
            "other",
            "a long body that mentions the printer once",
        );
        let hits = search(&conn, &["printer".into()], &[], 2).unwrap();
        let ids: Vec<i64> = hits.iter().map(|h| h.ticket).collect();
        assert_eq!(ids, [busy, quiet]);
        let new = search(&conn, &["printer".into()], &[Status::New], 2).unwrap();
        assert_eq!(new.len(), 2);
    }
}
