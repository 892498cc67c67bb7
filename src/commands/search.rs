//! `pipedesk search WORDS`: full-text search over subjects and bodies
//! (SQLite FTS5, kept up to date by `deliver` in the same transaction),
//! best match first, one line per ticket and a snippet under it.

use anyhow::{bail, Result};

use crate::cli::SearchArgs;
use crate::commands::show::Paint;
use crate::config::Config;
use crate::sanitize::one_line;
use crate::store::{self, Hit, Status, MARK_END, MARK_START};

pub fn run(config: &Config, args: SearchArgs) -> Result<()> {
    let conn = crate::commands::open_existing(config)?;
    let mut statuses = Vec::new();
    for s in &args.status {
        match Status::parse(&s.to_ascii_lowercase()) {
            Some(st) => statuses.push(st),
            None => bail!("unknown status {s:?} (new, open or resolved)"),
        }
    }
    let mut hits = store::search(&conn, &args.words, &statuses, args.limit)?;
    if args.json {
        for h in &mut hits {
            h.snippet = h.snippet.replace([MARK_START, MARK_END], "");
        }
        return crate::commands::print_json(&hits);
    }
    if hits.is_empty() {
        eprintln!("no matches");
        return Ok(());
    }
    let paint = Paint::stdout();
    let width = hits
        .iter()
        .map(|h| h.ticket.to_string().len() + 1)
        .max()
        .unwrap_or(2);
    let mut out = String::new();
    for h in &hits {
        out += &format!(
            "{}  {}  {}\n{:width$}  {}\n",
            paint.bold(&format!("{:>width$}", format!("#{}", h.ticket))),
            paint.status(&h.status, 8),
            one_line(&h.subject),
            "",
            snippet(h, &paint),
        );
    }
    print!("{out}");
    Ok(())
}

/// The snippet on one line, control characters escaped, matches in bold
/// (or bare, without colour).
fn snippet(h: &Hit, paint: &Paint) -> String {
    let mut out = String::new();
    for (i, piece) in h.snippet.split([MARK_START, MARK_END]).enumerate() {
        let piece = one_line(piece);
        // Pieces alternate: outside, inside a match, outside, …
        if i % 2 == 1 {
            out += &paint.highlight(&piece);
        } else {
            out += &piece;
        }
    }
    out
}
