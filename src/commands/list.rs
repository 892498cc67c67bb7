//! `pipedesk list`: tickets as aligned columns or JSON. New, open and
//! stalled tickets come first (what needs doing), then resolved ones;
//! newest first within each.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::ListArgs;
use crate::config::Config;
use crate::desk::Error;
use crate::model::Filter;
use crate::term::{age, human_date, one_line, Paint};
use crate::view::TicketView;

pub fn run(config: &Arc<Config>, args: ListArgs) -> Result<()> {
    let mut desk = crate::commands::desk(config)?;
    if args.bounces {
        let bounces = desk.bounces()?;
        if args.json {
            return crate::term::json(&bounces);
        }
        let mut out = String::new();
        for b in bounces {
            out += &format!(
                "{:>6}  {}  {:<30}  {}\n",
                b.id,
                human_date(b.received, &config.site.timezone),
                one_line(&b.author),
                one_line(&b.subject)
            );
        }
        return crate::term::out(&out);
    }
    let filter = Filter {
        statuses: crate::commands::statuses(&args.status)?,
        queue: args.queue,
        owner: args.owner,
        requestor: args.requestor,
        limit: args.limit,
        sort: args
            .sort
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(Error::BadInput)?,
        ..Filter::default()
    };
    // The JSON shape (SPEC §5) carries the watchers; the table does not.
    let tickets = desk.list(&filter, args.json)?;
    if args.json {
        let views: Vec<TicketView<'_>> = tickets.iter().map(TicketView::listed).collect();
        return crate::term::json(&views);
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
                age(t.created, now),
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
        // Row 0 is the header; row i is ticket i - 1.
        let status = match i.checked_sub(1).and_then(|k| tickets.get(k)) {
            Some(l) => paint.status(l.ticket.status, widths[1]),
            None => paint.bold(&format!("{:<w$}", r[1], w = widths[1])),
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
    crate::term::page(&out)
}

/// Long requestor addresses are cut here, so that subjects stay readable.
const REQUESTOR_WIDTH: usize = 32;
