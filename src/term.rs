//! Output for people at a terminal: text from mail made safe (as fd's
//! `sanitize.rs` does for file names: control characters, ESC above all,
//! are shown escaped, never sent raw), colour only on a terminal, a pager
//! for long text, ages and dates, and stdout that ends quietly when the
//! reader goes away (`pipedesk list | head`).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use anyhow::Result;

use crate::exit::Fail;
use crate::model::{Status, Time};

/// `s` with every control character but newline and tab shown as `\u{..}`,
/// and the bidi controls that could reorder what a terminal shows.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// One line of `s` for a header-like field or a table cell.
pub fn one_line(s: &str) -> String {
    for_terminal(&s.replace(['\r', '\n', '\t'], " "))
}

/// Writes `text` to stdout. A reader that went away (a closed pipe) is the
/// end of the command, not an error (SPEC §5): `Fail::ClosedPipe` exits 0.
pub fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    closed_pipe(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// Prints `value` as one line of JSON.
pub fn json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut line = serde_json::to_string(value)?;
    line.push('\n');
    out(&line)
}

/// An I/O result on stdout, with a closed pipe turned into the quiet end.
pub fn closed_pipe(result: std::io::Result<()>) -> Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Fail::ClosedPipe.into()),
        r => Ok(r?),
    }
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
    pub fn status(&self, s: Status, width: usize) -> String {
        let padded = format!("{:<width$}", s.as_str());
        match s {
            Status::New => self.sgr("1;31", &padded),
            Status::Open => self.sgr("33", &padded),
            Status::Stalled => self.sgr("36", &padded),
            Status::Resolved => self.sgr("32", &padded),
        }
    }
}

/// Writes `text` to stdout, through `$PAGER` (default `less`) when stdout is
/// a terminal and the text is longer than it. An empty `PAGER` means none.
pub fn page(text: &str) -> Result<()> {
    let stdout = std::io::stdout();
    let fits = || {
        let (rows, _) = console::Term::stdout().size();
        text.lines().count() < usize::from(rows).saturating_sub(1).max(1)
    };
    if !stdout.is_terminal() || fits() {
        return out(text);
    }
    let pager = std::env::var("PAGER").unwrap_or_else(|_| "less".into());
    let mut words = pager.split_whitespace();
    let Some(program) = words.next() else {
        return out(text);
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(words).stdin(std::process::Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        // Quit if it fits after all, pass the colours through, keep the
        // text on the screen afterwards.
        cmd.env("LESS", "FRX");
    }
    let Ok(mut child) = cmd.spawn() else {
        return out(text);
    };
    if let Some(mut stdin) = child.stdin.take() {
        // The reader quitting early (q in less) is not an error.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait()?;
    Ok(())
}

/// A time for people, in `site.timezone` (SPEC §5): `Tue 17 Nov 2026
/// 16:00 CET`.
pub fn human_date(t: Time, zone: &crate::zone::Zone) -> String {
    let (local, abbreviation) = zone.local(t);
    format!("{} {abbreviation}", local.format("%a %d %b %Y %H:%M"))
}

/// "5m", "3h", "2d": how long since `t`.
pub fn age(t: Time, now: Time) -> String {
    match (now - t).num_seconds().max(0) {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// `1234 bytes`, `12.1 KB`, `3.4 MB`.
pub fn size(n: usize) -> String {
    match n {
        1 => "1 byte".into(),
        n if n < 1024 => format!("{n} bytes"),
        n if n < 1024 * 1024 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
    }
}

/// `1 ticket`, `2 tickets`, `0 tickets`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_run() {
        assert_eq!(for_terminal("a\x1b[31mred"), "a\\u{1b}[31mred");
        assert_eq!(for_terminal("line\r\nnext\ttab"), "line\nnext\ttab");
        assert_eq!(for_terminal("bidi\u{202e}txt"), "bidi\\u{202e}txt");
        assert_eq!(one_line("a\nb\x07"), "a b\\u{7}");
    }

    #[test]
    fn ages_read_short() {
        let now = crate::model::parse_stamp("2026-11-22T12:00:00Z").unwrap();
        let at = |s| crate::model::parse_stamp(s).unwrap();
        assert_eq!(age(at("2026-11-22T11:55:00Z"), now), "5m");
        assert_eq!(age(at("2026-11-22T09:00:00Z"), now), "3h");
        assert_eq!(age(at("2026-11-20T12:00:00Z"), now), "2d");
    }

    #[test]
    fn colour_is_only_added_when_on() {
        assert_eq!(Paint { on: false }.bold("x"), "x");
        assert_eq!(Paint { on: true }.bold("x"), "\x1b[1mx\x1b[0m");
    }

    #[test]
    fn plurals_agree_with_their_numbers() {
        assert_eq!(count(1u64, "ticket", "tickets"), "1 ticket");
        assert_eq!(count(0u64, "ticket", "tickets"), "0 tickets");
        assert_eq!(count(2u64, "mail", "mails"), "2 mails");
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(2), "2 bytes");
    }
}
