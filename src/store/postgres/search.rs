//! Full-text search, PostgreSQL's own: a `tsvector` column with a GIN
//! index, the subject weighted above the body, snippets by `ts_headline`.

use anyhow::Result;

use super::{get, text, word, PgTx};
use crate::address::Address;
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

/// Every one of $1 is the ticket's requestor or wrote one of its messages.
macro_rules! theirs {
    () => {
        "NOT EXISTS (
             SELECT 1 FROM unnest($1::text[]) AS p(address)
             WHERE lower(t.requestor) <> p.address AND NOT EXISTS (
                 SELECT 1 FROM history h WHERE h.ticket_id = t.id
                   AND h.kind IN ('create', 'correspond', 'comment')
                   AND lower(h.author) = p.address))"
    };
}

/// Tickets whose messages match `words`, best first, one hit per ticket
/// (its best message gives the snippet).
pub(super) fn search(
    tx: &mut PgTx<'_>,
    words: &[String],
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Hit>> {
    // Everyone's tickets: no people asks nothing of whose they are.
    matching(tx, &[], words, statuses, limit)
}

/// The tickets of every one of `people` (`theirs!`) whose messages match
/// `words`, best first, one hit per ticket (its best message gives the
/// snippet).
fn matching(
    tx: &mut PgTx<'_>,
    people: &[String],
    words: &[String],
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Hit>> {
    let query = tsquery(words)?;
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let options = headline_options();
    let rows = tx.rows(
        concat!(
            "WITH q AS (SELECT to_tsquery('simple', $2) AS q),
                  matched AS (
                      SELECT m.id, m.ticket_id, ts_rank($3::float4[], m.search, q.q) AS score
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
                        AND (cardinality($4::text[]) = 0 OR t.status = ANY($4))
                        AND (cardinality($1::text[]) = 0 OR ",
            theirs!(),
            ") ORDER BY best.score DESC, best.id DESC
                      LIMIT $5
                  )
             SELECT top.ticket, top.subject, top.status,
                    ts_headline('simple', left(m.body, 200000), q.q, $6),
                    ts_headline('simple', m.subject, q.q, $6)
             FROM top JOIN messages m ON m.id = top.mid, q
             ORDER BY top.score DESC, top.mid DESC"
        ),
        &[
            &people,
            &query,
            &WEIGHTS.to_vec(),
            &statuses,
            &limit,
            &options,
        ],
    )?;
    rows.iter().map(headline_hit).collect()
}

/// `ts_headline`'s options: the snippet's marks and length.
fn headline_options() -> String {
    format!(
        "StartSel=\"{MARK_START}\", StopSel=\"{MARK_END}\", MaxWords=16, MinWords=6, ShortWord=0, MaxFragments=1"
    )
}

/// A hit from a row of (ticket, subject, status, body headline, subject
/// headline).
fn headline_hit(r: &postgres::Row) -> Result<Hit> {
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
        status: word(r, 2)?,
        snippet: snippet.split_whitespace().collect::<Vec<_>>().join(" "),
    })
}

/// The tickets of `people`, holding `words` where there are any (see
/// `Lists::search_people`). The people are looked for in the history's
/// message entries, as in SQLite.
pub(super) fn search_people(
    tx: &mut PgTx<'_>,
    people: &[Address],
    words: &[String],
    statuses: &[Status],
    limit: usize,
) -> Result<Vec<Hit>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let people: Vec<String> = people.iter().map(|p| text(p).into_owned()).collect();
    if !words.is_empty() {
        return matching(tx, &people, words, statuses, limit);
    }
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.rows(
        concat!(
            "SELECT t.id, t.subject, t.status,
                    (SELECT left(m.body, 2000) FROM messages m WHERE m.ticket_id = t.id
                     ORDER BY (lower(m.author) = ($1::text[])[1]) DESC, m.id DESC LIMIT 1)
             FROM tickets t
             WHERE t.merged_into IS NULL
               AND (cardinality($2::text[]) = 0 OR t.status = ANY($2))
               AND ",
            theirs!(),
            " ORDER BY t.updated DESC, t.id DESC
             LIMIT $3"
        ),
        &[&people, &statuses, &limit],
    )?;
    rows.iter()
        .map(|r| {
            let opening: Option<String> = get(r, 3)?;
            Ok(Hit {
                ticket: get(r, 0)?,
                subject: get(r, 1)?,
                status: word(r, 2)?,
                snippet: crate::store::opening(&opening.unwrap_or_default()),
            })
        })
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
