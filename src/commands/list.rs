//! `pipedesk list`: tickets as aligned columns or JSON. New and open
//! tickets come first (what needs doing), then resolved ones; newest first
//! within each.

use std::io::IsTerminal;

use anyhow::{bail, Result};

use crate::cli::ListArgs;
use crate::commands::show::Paint;
use crate::config::Config;
use crate::sanitize::one_line;
use crate::store::{self, Filter, Status};

pub fn run(config: &Config, args: ListArgs) -> Result<()> {
    let conn = crate::commands::open_existing(config)?;
    if args.bounces {
        let bounces = store::bounces(&conn)?;
        if args.json {
            return crate::commands::print_json(&bounces);
        }
        for b in bounces {
            println!(
                "{:>6}  {}  {:<30}  {}",
                b.id,
                b.received,
                one_line(&b.author),
                one_line(&b.subject)
            );
        }
        return Ok(());
    }
    let mut statuses = Vec::new();
    for s in &args.status {
        match Status::parse(&s.to_ascii_lowercase()) {
            Some(st) => statuses.push(st),
            None => bail!("unknown status {s:?} (new, open or resolved)"),
        }
    }
    let filter = Filter {
        statuses,
        queue: args.queue,
        owner: args.owner,
        requestor: args.requestor,
        limit: args.limit,
    };
    let mut tickets = store::list_sorted(&conn, &filter)?;
    if args.json {
        // The JSON shape (SPEC §5) carries the watchers.
        for l in &mut tickets {
            l.ticket.watchers = store::watchers(&conn, l.ticket.id)?;
        }
        return crate::commands::print_json(&tickets);
    }
    if tickets.is_empty() {
        eprintln!("no tickets");
        return Ok(());
    }
    let now = chrono::Utc::now();
    let rows: Vec<[String; 5]> = tickets
        .iter()
        .map(|l| {
            let t = &l.ticket;
            [
                t.id.to_string(),
                t.status.as_str().into(),
                age(&t.created, now),
                console::truncate_str(&one_line(&t.requestor), REQUESTOR_WIDTH, "…").into_owned(),
                one_line(&t.subject),
            ]
        })
        .collect();
    let header = ["ID", "STATUS", "AGE", "REQUESTOR", "SUBJECT"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let paint = Paint::stdout();
    // On a terminal, a subject is cut at the right edge rather than wrapped.
    let subject_width = std::io::stdout().is_terminal().then(|| {
        let (_, cols) = console::Term::stdout().size();
        let used: usize = widths.iter().sum::<usize>() + 8;
        usize::from(cols).saturating_sub(used).max(20)
    });
    let mut out = String::new();
    for (i, r) in std::iter::once(&header).chain(&rows).enumerate() {
        let subject = match subject_width {
            Some(w) => console::truncate_str(&r[4], w, "…"),
            None => std::borrow::Cow::Borrowed(r[4].as_str()),
        };
        let status = if i == 0 {
            paint.bold(&format!("{:<w$}", r[1], w = widths[1]))
        } else {
            paint.status(&r[1], widths[1])
        };
        let line = format!(
            "{:>w0$}  {status}  {:>w2$}  {:<w3$}  {}",
            r[0],
            r[2],
            r[3],
            subject,
            w0 = widths[0],
            w2 = widths[2],
            w3 = widths[3]
        );
        out += &if i == 0 { paint.bold(&line) } else { line };
        out.push('\n');
    }
    crate::commands::show::page(&out)?;
    Ok(())
}

/// Long requestor addresses are cut here, so that subjects stay readable.
const REQUESTOR_WIDTH: usize = 32;

/// "5m", "3h", "2d": how long since `stamp`.
pub fn age(stamp: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(stamp) else {
        return "?".into();
    };
    let secs = (now - t.with_timezone(&chrono::Utc)).num_seconds().max(0);
    match secs {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_short() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(age("2026-11-22T11:55:00Z", now), "5m");
        assert_eq!(age("2026-11-22T09:00:00Z", now), "3h");
        assert_eq!(age("2026-11-20T12:00:00Z", now), "2d");
        assert_eq!(age("garbage", now), "?");
    }
}
