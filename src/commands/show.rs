//! `pipedesk show N`: a ticket and its whole history, read like a mail thread
//! (who wrote, when, what; status changes in between), or as JSON (SPEC §5).

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::ShowArgs;
use crate::config::Config;
use crate::inbound::{attachments_of, Attachment};
use crate::sanitize::{for_terminal, one_line};
use crate::store::{self, HistoryRow, Ticket};

#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    ticket: &'a Ticket,
    history: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    kind: String,
    author: String,
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<Attachment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn entry(row: HistoryRow) -> Entry {
    let (message_id, subject, body, attachments) = match row.message {
        Some(m) => (
            m.message_id.map(|id| format!("<{id}>")),
            Some(m.subject),
            Some(m.body),
            Some(attachments_of(&m.raw)),
        ),
        None => (None, None, None, None),
    };
    Entry {
        kind: row.kind,
        author: row.author,
        date: row.date,
        message_id,
        subject,
        body,
        attachments,
        old: row.old,
        new: row.new,
        note: row.note,
    }
}

pub fn run(config: &Config, args: ShowArgs) -> Result<()> {
    let conn = crate::commands::open_existing(config)?;
    let ticket = store::ticket(&conn, args.id)?.ok_or_else(|| anyhow!("no ticket #{}", args.id))?;
    let history: Vec<Entry> = store::history(&conn, ticket.id, true)?
        .into_iter()
        .map(entry)
        .collect();
    if args.json {
        return crate::commands::print_json(&Shown {
            ticket: &ticket,
            history,
        });
    }
    let paint = Paint::stdout();
    let mut text = render(&ticket, &history, &paint, args.quoted, chrono::Utc::now());
    text += &render_mail(&store::ticket_mail(&conn, ticket.id)?, &paint);
    page(&text)
}

/// Colour for a terminal: only when stdout is one, and never when
/// `NO_COLOR` is set to anything (no-color.org).
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    pub fn stdout() -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            on: std::io::stdout().is_terminal() && !no_color,
        }
    }

    fn sgr(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.sgr("1", s)
    }

    pub fn dim(&self, s: &str) -> String {
        self.sgr("2", s)
    }

    /// A matched word in a search snippet.
    pub fn highlight(&self, s: &str) -> String {
        self.sgr("1;33", s)
    }

    /// A status word padded to `width`, coloured by what it asks of staff.
    pub fn status(&self, s: &str, width: usize) -> String {
        let padded = format!("{s:<width$}");
        match s {
            "new" => self.sgr("1;31", &padded),
            "open" => self.sgr("33", &padded),
            "resolved" => self.sgr("32", &padded),
            _ => padded,
        }
    }
}

/// Writes `text` to stdout, through `$PAGER` (default `less`) when stdout is
/// a terminal and the text is longer than it. An empty `PAGER` means none.
pub fn page(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout();
    let fits = || {
        let (rows, _) = console::Term::stdout().size();
        text.lines().count() < usize::from(rows).saturating_sub(1).max(1)
    };
    if !stdout.is_terminal() || fits() {
        return write_all(&mut stdout, text);
    }
    let pager = std::env::var("PAGER").unwrap_or_else(|_| "less".into());
    let mut words = pager.split_whitespace();
    let Some(program) = words.next() else {
        return write_all(&mut stdout, text);
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(words).stdin(std::process::Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        // Quit if it fits after all, pass the colours through, keep the
        // text on the screen afterwards.
        cmd.env("LESS", "FRX");
    }
    let Ok(mut child) = cmd.spawn() else {
        return write_all(&mut stdout, text);
    };
    if let Some(mut stdin) = child.stdin.take() {
        // The reader quitting early (q in less) is not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait()?;
    Ok(())
}

fn write_all(out: &mut impl Write, text: &str) -> Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// A stored stamp for people: `Tue 17 Nov 2026 15:00 UTC`.
pub fn human_date(stamp: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .map(|d| d.format("%a %d %b %Y %H:%M UTC").to_string())
        .unwrap_or_else(|_| one_line(stamp))
}

fn render(
    t: &Ticket,
    history: &[Entry],
    paint: &Paint,
    quoted: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut out = String::new();
    out += &paint.bold(&format!("Ticket #{}: {}", t.id, one_line(&t.subject)));
    out += "\n";
    let field =
        |name: &str, value: &str| format!("  {}{value}\n", paint.dim(&format!("{name:<11}")));
    out += &field("Queue:", &one_line(&t.queue));
    out += &field("Status:", &paint.status(t.status.as_str(), 0));
    out += &field("Requestor:", &one_line(&t.requestor));
    out += &field(
        "Owner:",
        &t.owner
            .as_deref()
            .map(one_line)
            .unwrap_or_else(|| "nobody".into()),
    );
    if t.watchers.len() > 1 {
        out += &field("Watchers:", &one_line(&t.watchers.join(", ")));
    }
    out += &field(
        "Opened:",
        &format!(
            "{} ({} ago)",
            human_date(&t.created),
            crate::commands::list::age(&t.created, now)
        ),
    );
    if t.priority != 0 {
        out += &field("Priority:", &t.priority.to_string());
    }
    for e in history {
        let who = one_line(&e.author);
        let when = human_date(&e.date);
        // Changes read as one line each between the messages, as in RT.
        let change = |what: String| paint.dim(&format!("   * {when}  {who} {what}\n"));
        match e.kind.as_str() {
            "status" => {
                out += &change(format!(
                    "changed the status from {} to {}",
                    one_line(e.old.as_deref().unwrap_or("?")),
                    one_line(e.new.as_deref().unwrap_or("?"))
                ))
            }
            "owner" => {
                out += &change(match e.new.as_deref() {
                    Some(o) if o.eq_ignore_ascii_case(&e.author) => "took the ticket".into(),
                    Some(o) => format!("gave the ticket to {}", one_line(o)),
                    None => "gave the ticket up".into(),
                })
            }
            "note" => {
                out += &change(format!(
                    "noted: {}",
                    one_line(e.note.as_deref().unwrap_or(""))
                ))
            }
            kind => {
                let verb = match kind {
                    "create" => "opened the ticket",
                    "comment" => "commented (staff only)",
                    _ => "wrote",
                };
                out += "\n";
                let head = format!("── {when}  {who} {verb} ");
                let rule = "─".repeat(72usize.saturating_sub(head.chars().count()));
                out += &paint.bold(format!("{head}{rule}").trim_end());
                out += "\n";
                if let Some(s) = &e.subject {
                    out += &format!("{} {}\n", paint.dim("Subject:"), one_line(s));
                }
                out += "\n";
                let body = for_terminal(e.body.as_deref().unwrap_or(""));
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
                for a in e.attachments.iter().flatten() {
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
            }
        }
    }
    out
}

/// The mail the ticket caused, so that "did they get my answer?" has its
/// answer on the same screen: one line each, with where it stands.
fn render_mail(mails: &[store::TicketMail], paint: &Paint) -> String {
    if mails.is_empty() {
        return String::new();
    }
    let mut out = format!("\n{}\n", paint.bold("Mail sent for this ticket:"));
    for m in mails {
        let what = match m.kind.as_str() {
            "autoreply" => "autoreply",
            "new_ticket" => "new-ticket notice",
            "correspondence" => "correspondence notice",
            "comment" => "comment notice",
            "resolved" => "resolved notice",
            "staff_reply" => "reply",
            other => other,
        };
        let state = match (m.state.as_str(), &m.last_error) {
            ("sent", _) => "sent".to_string(),
            ("dropped", _) => "not sent (mail.transport is none)".to_string(),
            (_, Some(e)) => format!("queued, last try failed: {}", one_line(e)),
            (_, None) => "queued".to_string(),
        };
        out += &paint.dim(&format!(
            "   * {}  {what} to {}: {state}\n",
            human_date(&m.created),
            one_line(&m.recipients.join(", "))
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

/// `1234 bytes`, `12.1 KB`, `3.4 MB`.
pub fn size(n: usize) -> String {
    match n {
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
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

    #[test]
    fn colour_is_only_added_when_on() {
        assert_eq!(Paint { on: false }.bold("x"), "x");
        assert_eq!(Paint { on: true }.bold("x"), "\x1b[1mx\x1b[0m");
    }
}
