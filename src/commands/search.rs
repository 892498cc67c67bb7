//! `pipedesk search WORDS`: full-text search over subjects and bodies
//! (the store's own: SQLite FTS5, PostgreSQL text search; kept up to date
//! by `deliver` in the same transaction), best match first, one line per
//! ticket and a snippet under it.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::SearchArgs;
use crate::config::Config;
use crate::desk::{search_limit, Surface};
use crate::model::{Hit, MARK_END, MARK_START};
use crate::term::{one_line, Paint};
use crate::view::HitView;

pub fn run(config: &Arc<Config>, args: SearchArgs) -> Result<()> {
    let statuses = crate::commands::statuses(&args.status)?;
    let limit = search_limit(Some(args.limit), Surface::Command);
    let hits = crate::commands::desk(config)?.search(&args.words, &statuses, limit)?;
    if args.json {
        let views: Vec<HitView<'_>> = hits.iter().map(HitView::of).collect();
        return crate::term::json(&views);
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
            paint.status(h.status, 8),
            one_line(&h.subject),
            "",
            snippet(h, &paint),
        );
    }
    crate::term::out(&out)
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
