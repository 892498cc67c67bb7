//! `pipedesk show N`: a ticket and its whole history, read like a mail thread
//! (who wrote, when, what; status changes in between), or as JSON (SPEC §5).

use std::sync::Arc;

use anyhow::Result;

use crate::cli::ShowArgs;
use crate::config::Config;
use crate::desk::Thread;
use crate::inbound::attachments_of;
use crate::model::{HistoryEntry, HistoryKind, MailKind, MailRecord, MailState, Priority, Time};
use crate::term::{age, for_terminal, human_date, one_line, page, size, Paint};
use crate::view::{describe, mail_what, TicketView};

pub fn run(config: &Arc<Config>, args: ShowArgs) -> Result<()> {
    let mut desk = crate::commands::desk(config)?;
    let thread = desk.thread(args.id, true)?;
    if args.json {
        return crate::term::json(&TicketView::thread(&thread, crate::commands::now()));
    }
    let paint = Paint::stdout();
    let mut text = render(
        &thread,
        args.id,
        config,
        &paint,
        args.quoted,
        crate::commands::now(),
    );
    text += &render_mail(&thread.mail, &paint, config);
    page(&text)
}

fn render(
    thread: &Thread,
    asked: i64,
    config: &Config,
    paint: &Paint,
    quoted: bool,
    now: Time,
) -> String {
    let zone = &config.site.timezone;
    let t = &thread.ticket;
    let mut out = String::new();
    out += &paint.bold(&format!("Ticket #{}: {}", t.id, one_line(&t.subject)));
    out += "\n";
    let field =
        |name: &str, value: &str| format!("  {}{value}\n", paint.dim(&format!("{name:<11}")));
    if asked != t.id {
        out += &field("Merged:", &format!("#{asked} was merged into #{}", t.id));
    }
    out += &field("Queue:", &one_line(&t.queue));
    out += &field("Status:", &paint.status(t.status, 0));
    out += &field("Requestor:", &one_line(&t.requestor));
    out += &field(
        "Owner:",
        &t.owner
            .as_deref()
            .map(|o| one_line(&config.person(o).to_string()))
            .unwrap_or_else(|| "nobody".into()),
    );
    if t.watchers.len() > 1 {
        // Staff as the owner is written, "Carol Jones <carol@example.org>".
        let watchers: Vec<String> = t
            .watchers
            .iter()
            .map(|w| config.person(w).to_string())
            .collect();
        out += &field("Watchers:", &one_line(&watchers.join(", ")));
    }
    if !t.merged.is_empty() {
        let merged: Vec<String> = t.merged.iter().map(|m| format!("#{m}")).collect();
        out += &field("Merged in:", &merged.join(", "));
    }
    out += &field(
        "Opened:",
        &format!(
            "{} ({} ago)",
            human_date(t.created, zone),
            age(t.created, now)
        ),
    );
    if t.priority != 0 {
        out += &field("Priority:", Priority::of(t.priority).as_str());
    }
    if let Some(due) = t.due {
        let overdue = if crate::view::is_overdue(t, now) {
            " (overdue)"
        } else {
            ""
        };
        out += &field("Due:", &format!("{}{overdue}", human_date(due, zone)));
    }
    if let Some(s) = &t.sla {
        let shown = crate::view::SlaShown::of(s, config, now);
        let paused = if shown.paused { " (paused)" } else { "" };
        out += &field("SLA:", &format!("{}{paused}", one_line(shown.name)));
        for (c, line) in shown.clocks.iter().zip(shown.lines()) {
            let line = if c.breached { paint.bold(&line) } else { line };
            out += &field("", &line);
        }
    }
    for e in &thread.history {
        out += &entry(e, config, paint, quoted);
    }
    out
}

/// One history entry: a change as one dim line between the messages, as in
/// RT; a message as a heading, its text and its attachments. People are
/// shown by their names (`Config::shown`).
fn entry(e: &HistoryEntry, config: &Config, paint: &Paint, quoted: bool) -> String {
    let who = one_line(config.shown(&e.author));
    let when = human_date(e.date, &config.site.timezone);
    let auto = if e.auto { " (automatic)" } else { "" };
    // Where a merge brought the entry from (SPEC §5 `merged_from`).
    let from = e
        .merged_from
        .map(|a| format!(" (from #{a})"))
        .unwrap_or_default();
    let change = |what: String| paint.dim(&format!("   * {when}  {who} {what}{from}\n"));
    match e.kind {
        HistoryKind::Status
        | HistoryKind::Owner
        | HistoryKind::Note
        | HistoryKind::Merge
        | HistoryKind::Watcher
        | HistoryKind::Spam
        | HistoryKind::Queue
        | HistoryKind::Subject
        | HistoryKind::Requestor
        | HistoryKind::Priority
        | HistoryKind::Due => change(one_line(&describe(e, config))),
        HistoryKind::Create | HistoryKind::Correspond | HistoryKind::Comment => {
            let verb = describe(e, config);
            let mut out = String::from("\n");
            let head = format!("── {when}  {who} {verb}{auto}{from} ");
            let rule = "─".repeat(72usize.saturating_sub(head.chars().count()));
            out += &paint.bold(format!("{head}{rule}").trim_end());
            out += "\n";
            if let Some(m) = &e.message {
                out += &format!("{} {}\n", paint.dim("Subject:"), one_line(&m.subject));
            }
            out += "\n";
            let text = e
                .message
                .as_ref()
                .map(|m| m.body.as_str())
                .or(e.note.as_deref())
                .unwrap_or("");
            let body = for_terminal(text);
            let body = if quoted {
                body
            } else {
                fold_quotes(&body, paint)
            };
            let body = squeeze_blank_lines(&body);
            let body = body.trim_end();
            if !body.is_empty() {
                out += body;
                out += "\n";
            }
            for a in e.message.iter().flat_map(|m| attachments_of(&m.raw)) {
                out += &format!(
                    "  {} {} ({}, {})\n",
                    paint.dim("Attachment:"),
                    one_line(if a.filename.is_empty() {
                        "(no name)"
                    } else {
                        &a.filename
                    }),
                    one_line(&a.content_type),
                    size(a.size)
                );
            }
            out
        }
    }
}

/// The mail the ticket caused, so that "did they get my answer?" has its
/// answer on the same screen: one line each, with where it stands; staff
/// by name, as the thread above names them.
fn render_mail(mails: &[MailRecord], paint: &Paint, config: &Config) -> String {
    let zone = &config.site.timezone;
    if mails.is_empty() {
        return String::new();
    }
    let heading = if mails.iter().any(|m| m.kind == MailKind::Hook) {
        "Mail and hooks for this ticket:"
    } else {
        "Mail sent for this ticket:"
    };
    let mut out = format!("\n{}\n", paint.bold(heading));
    for m in mails {
        let hook = m.kind == MailKind::Hook;
        let state = match (m.state, &m.last_error) {
            (MailState::Sent, _) => "sent".to_string(),
            (MailState::Dropped, _) => "not sent (mail.transport is none)".to_string(),
            // A hook is retried with back-off for as long as it fails: when
            // it runs next, and why it did not run.
            (MailState::Queued, Some(e)) if hook => format!(
                "failed {}×, next try {}: {}",
                m.attempts,
                human_date(m.next_attempt, zone),
                one_line(e)
            ),
            (MailState::Queued, Some(e)) => format!("queued, last try failed: {}", one_line(e)),
            (MailState::Queued, None) => "queued".to_string(),
        };
        out += &paint.dim(&format!(
            "   * {}  {}: {state}\n",
            human_date(m.created, zone),
            one_line(&mail_what(m, config)),
        ));
    }
    out
}

/// A run of at least this many quoted lines is folded into one.
const FOLD_AT: usize = 3;

/// Folds runs of quoted lines (`>`), the text the reader has seen in the
/// entry before, into one line saying how many there were (`--quoted`
/// shows them).
fn fold_quotes(body: &str, paint: &Paint) -> String {
    let mut out = String::with_capacity(body.len());
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut String| {
        if run.len() >= FOLD_AT {
            *out += &paint.dim(&format!("[… {} quoted lines folded]", run.len()));
            out.push('\n');
        } else {
            for l in run.iter() {
                *out += &paint.dim(l);
                out.push('\n');
            }
        }
        run.clear();
    };
    for line in body.lines() {
        if line.trim_start().starts_with('>') {
            run.push(line);
        } else {
            flush(&mut run, &mut out);
            out += line;
            out.push('\n');
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Runs of blank lines (what is left of an inline image, or of HTML turned
/// into text) shown as one, as `cat -s` does.
fn squeeze_blank_lines(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut blank = false;
    for line in body.trim_start_matches(['\n', '\r']).lines() {
        let is_blank = line.trim().is_empty();
        if !(is_blank && blank) {
            out += if is_blank { "" } else { line };
            out.push('\n');
        }
        blank = is_blank;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quotes_fold_and_short_ones_stay() {
        let off = Paint { on: false };
        let body = "Thanks!\nOn Monday John wrote:\n> a\n> b\n>> c\nbye\n> one\n";
        assert_eq!(
            fold_quotes(body, &off),
            "Thanks!\nOn Monday John wrote:\n[… 3 quoted lines folded]\nbye\n> one\n"
        );
    }

    #[test]
    fn blank_lines_are_squeezed() {
        assert_eq!(squeeze_blank_lines("\n\na\n\n \n\t\nb\n"), "a\n\nb\n");
    }
}
