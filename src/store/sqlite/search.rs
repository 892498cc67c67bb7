//! Full-text search (FTS5): tickets whose messages hold the words, best
//! first, with a snippet of each.

use anyhow::Result;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{marks, word};
use crate::address::Address;
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
    snippets(conn, &query, &mut hits)?;
    Ok(hits.into_iter().map(|r| r.hit).collect())
}

/// Each hit's snippet, from its best message. Made for the hits shown
/// only: they are the costly part.
fn snippets(conn: &Connection, query: &str, hits: &mut [Ranked]) -> Result<()> {
    let mut snip = conn.prepare(&format!(
        "SELECT snippet(messages_fts, -1, '{MARK_START}', '{MARK_END}', '…', 16)
         FROM messages_fts WHERE messages_fts MATCH ?1 AND rowid = ?2"
    ))?;
    for h in hits {
        h.hit.snippet = snip
            .query_row(params![query, h.message], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
    }
    Ok(())
}

/// The tickets of `people`, holding `words` where there are any (see
/// `Lists::search_people`).
///
/// No index holds the authors (a migration of its own, one day): the
/// people are looked for in the history's message entries, whose rows are
/// small, rather than in the messages, whose rows hold the mail; each
/// person's tickets once (an uncorrelated `IN`, which SQLite reads into a
/// set), not once for every ticket.
pub(super) fn search_people(
    conn: &Connection,
    people: &[Address],
    words: &[String],
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Hit>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let query = if words.is_empty() {
        None
    } else {
        Some(fts_query(words)?)
    };
    // ?1 the FTS query (or unused), then the people, then the statuses.
    let mut args: Vec<String> = vec![query.clone().unwrap_or_default()];
    let mut wanted = String::new();
    for p in people {
        args.push(p.to_string());
        let n = args.len();
        wanted += &format!(
            " AND (lower(t.requestor) = ?{n} OR t.id IN (
                 SELECT h.ticket_id FROM history h
                 WHERE h.kind IN ('create', 'correspond', 'comment') AND lower(h.author) = ?{n}))"
        );
    }
    if !statuses.is_empty() {
        let statuses = marks(&mut args, statuses.iter().map(|s| s.as_str().into()));
        wanted += &format!(" AND t.status IN ({statuses})");
    }
    let Some(query) = query else {
        // ?2 is the first person: the snippet is from their message.
        let sql = format!(
            "SELECT t.id, t.subject, t.status,
                    (SELECT substr(m.body, 1, 2000) FROM messages m WHERE m.ticket_id = t.id
                     ORDER BY lower(m.author) = ?2 DESC, m.id DESC LIMIT 1)
             FROM tickets t WHERE t.merged_into IS NULL{wanted}
             ORDER BY t.updated DESC, t.id DESC LIMIT {limit}"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok(Hit {
                ticket: r.get(0)?,
                subject: r.get(1)?,
                status: word(r, 2)?,
                snippet: crate::store::opening(&r.get::<_, Option<String>>(3)?.unwrap_or_default()),
            })
        })?;
        return Ok(rows.collect::<rusqlite::Result<_>>()?);
    };
    // As `best_tickets_in`: every match ranked in one pass, then the
    // people's tickets among them.
    let mut hits = ranked(
        conn,
        &format!("t.merged_into IS NULL{wanted}"),
        &args,
        limit,
    )?;
    snippets(conn, &query, &mut hits)?;
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
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, word(r, 2)?))
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
                        status,
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

/// Every message matching ?1 ranked in one pass, each ticket by its best
/// (a MATERIALIZED CTE keeps SQLite from flattening the FTS query into the
/// aggregate, where bm25() may not run), up to the WHERE of the caller's
/// filter; rows: id, subject, status, the best message.
const RANKED: &str = "WITH f AS MATERIALIZED (
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
         WHERE";

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
    let statuses = marks(&mut args, statuses.iter().map(|s| s.as_str().into()));
    ranked(conn, &format!("t.status IN ({statuses})"), &args, limit)
}

/// The best `limit` tickets of the `RANKED` rows that `wanted` (what
/// follows its WHERE, over `args`: ?1 the FTS query) keeps, without their
/// snippets yet.
fn ranked(conn: &Connection, wanted: &str, args: &[String], limit: usize) -> Result<Vec<Ranked>> {
    let sql = format!(
        "{RANKED} {wanted}
         ORDER BY best.score, best.mid DESC
         LIMIT {limit}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
        Ok(Ranked {
            hit: Hit {
                ticket: r.get(0)?,
                subject: r.get(1)?,
                status: word(r, 2)?,
                snippet: String::new(),
            },
            message: r.get(3)?,
        })
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
}
