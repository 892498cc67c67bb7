//! The queries behind the commands people read with: full-text search
//! (PostgreSQL's own: a `tsvector` column with a GIN index, the subject
//! weighted above the body, snippets by `ts_headline`), the sorted ticket
//! list and the counts behind `stats`.

use anyhow::Result;

use super::tickets::{ticket_from_row, watchers};
use super::{get, text, PgTx};
use crate::model::*;

/// `words` as a tsquery: every word a quoted lexeme (so `&`, `|`, `!`,
/// `:` or a stray quote are part of a word, never syntax), a trailing `*`
/// a prefix (`:*`), all of them required (`&`). A quoted word that the
/// parser splits ("e-mail") becomes a phrase of its parts, as in SQLite.
pub(crate) fn tsquery(words: &[String]) -> Result<String> {
    let terms = crate::store::search_terms(words)?;
    Ok(terms
        .iter()
        .map(|(word, prefix)| {
            // Inside quotes a quote is doubled and a backslash escapes
            // (§8.11.2, tsquery).
            let quoted = format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"));
            if *prefix {
                quoted + ":*"
            } else {
                quoted
            }
        })
        .collect::<Vec<_>>()
        .join(" & "))
}

/// ts_rank's weights for D, C, B (the body) and A (the subject): the
/// subject weighs ten times a body word, as SQLite's bm25 weights do.
const WEIGHTS: [f32; 4] = [0.0, 0.0, 0.1, 1.0];

/// Tickets whose messages match `words`, best first, one hit per ticket
/// (its best message gives the snippet).
pub(super) fn search(
    tx: &mut PgTx<'_>,
    words: &[String],
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Hit>> {
    let query = tsquery(words)?;
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let options = format!(
        "StartSel=\"{MARK_START}\", StopSel=\"{MARK_END}\", MaxWords=16, MinWords=6, ShortWord=0, MaxFragments=1"
    );
    let rows = tx.rows(
        "WITH q AS (SELECT to_tsquery('simple', $1) AS q),
              matched AS (
                  SELECT m.id, m.ticket_id, ts_rank($2::float4[], m.search, q.q) AS score
                  FROM messages m, q
                  WHERE m.search @@ q.q AND m.ticket_id IS NOT NULL
              ),
              best AS (
                  SELECT DISTINCT ON (ticket_id) ticket_id, id, score
                  FROM matched ORDER BY ticket_id, score DESC, id DESC
              ),
              top AS (
                  SELECT t.id AS ticket, t.subject, t.status, best.id AS mid, best.score
                  FROM best JOIN tickets t ON t.id = best.ticket_id
                  WHERE t.merged_into IS NULL
                    AND (cardinality($3::text[]) = 0 OR t.status = ANY($3))
                  ORDER BY best.score DESC, best.id DESC
                  LIMIT $4
              )
         SELECT top.ticket, top.subject, top.status,
                ts_headline('simple', left(m.body, 200000), q.q, $5),
                ts_headline('simple', m.subject, q.q, $5)
         FROM top JOIN messages m ON m.id = top.mid, q
         ORDER BY top.score DESC, top.mid DESC",
        &[&query, &WEIGHTS.to_vec(), &statuses, &limit, &options],
    )?;
    rows.iter()
        .map(|r| {
            let status: String = get(r, 2)?;
            let body: String = get(r, 3)?;
            let subject: String = get(r, 4)?;
            // The snippet from where the words are: the body, else the
            // subject (as SQLite's snippet picks the best column).
            let snippet = if body.contains(MARK_START) || !subject.contains(MARK_START) {
                body
            } else {
                subject
            };
            Ok(Hit {
                ticket: get(r, 0)?,
                subject: get(r, 1)?,
                status: Status::parse(&status)
                    .ok_or_else(|| anyhow::anyhow!("{status:?} is not a status"))?,
                snippet: snippet.split_whitespace().collect::<Vec<_>>().join(" "),
            })
        })
        .collect()
}

pub(super) fn list(tx: &mut PgTx<'_>, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
    let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    let norm = |v: &Option<String>| v.as_ref().map(|v| text(v.trim()).to_ascii_lowercase());
    let (queue, owner, requestor) = (
        norm(&filter.queue),
        norm(&filter.owner),
        norm(&filter.requestor),
    );
    let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    let params: [&(dyn postgres::types::ToSql + Sync); 5] =
        [&statuses, &queue, &owner, &requestor, &limit];
    // Two orders, two statements: a planner can use an index for an ORDER
    // BY it sees, not for one chosen by a parameter.
    let rows = if filter.recently_updated {
        tx.rows(
            "SELECT t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated, t.version, t.merged_into,
                    (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
             FROM tickets t
             WHERE t.merged_into IS NULL
               AND (cardinality($1::text[]) = 0 OR t.status = ANY($1))
               AND ($2::text IS NULL OR lower(t.queue) = $2)
               AND ($3::text IS NULL OR lower(t.owner) = $3)
               AND ($4::text IS NULL OR lower(t.requestor) = $4)
             ORDER BY t.updated DESC, t.id DESC
             LIMIT $5",
            &params,
        )?
    } else {
        tx.rows(
            "SELECT t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated, t.version, t.merged_into,
                    (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
             FROM tickets t
             WHERE t.merged_into IS NULL
               AND (cardinality($1::text[]) = 0 OR t.status = ANY($1))
               AND ($2::text IS NULL OR lower(t.queue) = $2)
               AND ($3::text IS NULL OR lower(t.owner) = $3)
               AND ($4::text IS NULL OR lower(t.requestor) = $4)
             ORDER BY (t.status = 'resolved'), t.id DESC
             LIMIT $5",
            &params,
        )?
    };
    let mut listed = rows
        .iter()
        .map(|r| {
            Ok(Listed {
                ticket: ticket_from_row(r)?,
                messages: get(r, 11)?,
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

pub(super) fn listed(tx: &mut PgTx<'_>, ids: &[i64]) -> Result<Vec<Listed>> {
    let rows = tx.rows(
        "SELECT t.id, t.queue, t.subject, t.status, t.requestor, t.owner, t.priority, t.created, t.updated, t.version, t.merged_into,
                (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id)
         FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord) JOIN tickets t ON t.id = u.id
         ORDER BY u.ord",
        &[&ids],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                ticket: ticket_from_row(r)?,
                messages: get(r, 11)?,
            })
        })
        .collect()
}

pub(super) fn counts(tx: &mut PgTx<'_>, since: Time) -> Result<Counts> {
    let mut counts = Counts::default();
    for r in tx.rows(
        "SELECT queue, status, count(*) FROM tickets WHERE merged_into IS NULL GROUP BY queue, status ORDER BY queue, status",
        &[],
    )? {
        let status: String = get(&r, 1)?;
        counts.by_queue_status.push((
            get(&r, 0)?,
            Status::parse(&status).ok_or_else(|| anyhow::anyhow!("{status:?} is not a status"))?,
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

pub(super) fn first_staff_replies(
    tx: &mut PgTx<'_>,
    staff: &[String],
) -> Result<Vec<(Time, Time)>> {
    if staff.is_empty() {
        return Ok(Vec::new());
    }
    let lower: Vec<String> = staff.iter().map(|s| s.to_ascii_lowercase()).collect();
    tx.rows(
        "SELECT t.created, min(h.date) FROM tickets t JOIN history h ON h.ticket_id = t.id
         WHERE h.kind = 'correspond' AND lower(h.author) = ANY($1)
         GROUP BY t.id ORDER BY t.id",
        &[&lower],
    )?
    .iter()
    .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_lexemes_never_syntax() {
        let q = |w: &[&str]| tsquery(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(q(&["printer", "broken"]).unwrap(), "'printer' & 'broken'");
        assert_eq!(q(&["AND", "pri*"]).unwrap(), "'AND' & 'pri':*");
        assert_eq!(q(&["a'b", "!x|y&z"]).unwrap(), "'a''b' & '!x|y&z'");
        assert_eq!(q(&["back\\slash"]).unwrap(), "'back\\\\slash'");
        assert!(q(&["--", "*"]).is_err());
    }
}
