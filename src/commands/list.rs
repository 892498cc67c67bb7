//! `pipedesk list`: tickets as aligned columns (number, status, queue,
//! owner, requestor, subject, age: SPEC §5) or JSON. New, open and
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
        limit: args.limit.or(crate::desk::Surface::Command.list_limit()),
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
    let now = crate::commands::now();
    if args.json {
        let views: Vec<TicketView<'_>> =
            tickets.iter().map(|l| TicketView::listed(l, now)).collect();
        return crate::term::json(&views);
    }
    if tickets.is_empty() {
        eprintln!("no tickets");
        return Ok(());
    }
    let cut = |s: &str, w: usize| console::truncate_str(&one_line(s), w, "…").into_owned();
    let rows: Vec<[String; 7]> = tickets
        .iter()
        .map(|l| {
            let t = &l.ticket;
            [
                t.id.to_string(),
                t.status.as_str().into(),
                cut(&t.queue, QUEUE_WIDTH),
                cut(&owner_shown(config, t.owner.as_deref()), OWNER_WIDTH),
                cut(&t.requestor, REQUESTOR_WIDTH),
                one_line(&t.subject),
                age(t.created, now),
            ]
        })
        .collect();
    let header = [
        "ID",
        "STATUS",
        "QUEUE",
        "OWNER",
        "REQUESTOR",
        "SUBJECT",
        "AGE",
    ]
    .map(String::from);
    let mut widths: [usize; 7] = std::array::from_fn(|i| {
        rows.iter()
            .chain([&header])
            .map(|r| console::measure_text_width(&r[i]))
            .max()
            .unwrap_or(0)
    });
    // On a terminal, cells are cut to fit the line rather than wrapped.
    if std::io::stdout().is_terminal() {
        let (_, cols) = console::Term::stdout().size();
        fit(&mut widths, usize::from(cols));
    }
    let paint = Paint::stdout();
    let pad = |s: &str, i: usize| {
        console::pad_str(s, widths[i], console::Alignment::Left, Some("…")).into_owned()
    };
    let mut out = String::new();
    for (i, r) in std::iter::once(&header).chain(&rows).enumerate() {
        // Row 0 is the header; row i is ticket i - 1.
        let status = match i.checked_sub(1).and_then(|k| tickets.get(k)) {
            Some(l) => paint.status(l.ticket.status, widths[1]),
            None => pad(&r[1], 1),
        };
        let line = format!(
            "{:>w0$}  {status}  {}  {}  {}  {}  {:>w6$}",
            r[0],
            pad(&r[2], 2),
            pad(&r[3], 3),
            pad(&r[4], 4),
            pad(&r[5], 5),
            r[6],
            w0 = widths[0],
            w6 = widths[6]
        );
        out += &if i == 0 { paint.bold(&line) } else { line };
        out.push('\n');
    }
    crate::term::page(&out)
}

/// The owner as the list shows them: their name from the config, else their
/// address, or `nobody`. The one place that says how a member of staff is
/// named in the list.
pub fn owner_shown(config: &Config, owner: Option<&str>) -> String {
    owner
        .map_or(crate::model::NOBODY, |o| config.shown(o))
        .to_string()
}

/// Narrows the columns that can give (the subject, then the requestor,
/// then the owner, then the subject again), each no further than its
/// least width, until a line of `widths` fits `cols`. Past that, the line
/// wraps: a number, a status, a queue and an age are never cut.
fn fit(widths: &mut [usize; 7], cols: usize) {
    const SEPARATORS: usize = 2 * 6;
    for (column, least) in [(5, 20), (4, 16), (3, 12), (5, 10)] {
        let line = widths.iter().sum::<usize>() + SEPARATORS;
        let over = line.saturating_sub(cols);
        if over == 0 {
            return;
        }
        widths[column] = widths[column]
            .saturating_sub(over)
            .max(least.min(widths[column]));
    }
}

/// Queue names longer than this are cut.
const QUEUE_WIDTH: usize = 16;

/// Owners' names longer than this are cut.
const OWNER_WIDTH: usize = 24;

/// Long requestor addresses are cut here, so that subjects stay readable.
const REQUESTOR_WIDTH: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_give_way_subject_first_to_fit_the_terminal() {
        // id, status, queue, owner, requestor, subject, age
        let wide = [2, 6, 7, 15, 32, 60, 3];
        let mut w = wide;
        fit(&mut w, 200);
        assert_eq!(w, wide);
        let mut w = wide;
        fit(&mut w, 120);
        assert_eq!(w, [2, 6, 7, 15, 32, 43, 3]);
        assert_eq!(w.iter().sum::<usize>() + 12, 120);
        let mut w = wide;
        fit(&mut w, 80);
        assert_eq!(w, [2, 6, 7, 14, 16, 20, 3]);
        assert_eq!(w.iter().sum::<usize>() + 12, 80);
        // Too narrow for all: everything at its least, the rest wraps.
        let mut w = wide;
        fit(&mut w, 40);
        assert_eq!(w, [2, 6, 7, 12, 16, 10, 3]);
        // A column narrower than its least stays as it is.
        let mut w = [1, 6, 7, 6, 10, 8, 3];
        fit(&mut w, 30);
        assert_eq!(w, [1, 6, 7, 6, 10, 8, 3]);
    }
}
