//! `pipedesk export N`: the ticket's messages as an mboxrd on stdout, each
//! message's bytes as received, for mutt (`mutt -f`).

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::ExportArgs;
use crate::config::Config;
use crate::model::Time;

pub fn run(config: &Arc<Config>, args: ExportArgs) -> Result<()> {
    let (_, messages) = crate::commands::desk(config)?.messages(args.id)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = messages
        .iter()
        .try_for_each(|m| write_mboxrd(&mut out, m.envelope_sender.as_deref(), m.received, &m.raw))
        .and_then(|()| out.flush());
    crate::term::closed_pipe(written)
}

pub fn write_mboxrd(
    out: &mut impl Write,
    sender: Option<&str>,
    received: Time,
    raw: &[u8],
) -> std::io::Result<()> {
    let sender = sender
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or("MAILER-DAEMON");
    let date = received.format("%a %b %e %H:%M:%S %Y").to_string();
    writeln!(out, "From {sender} {date}")?;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if line
            .iter()
            .position(|&b| b != b'>')
            .is_some_and(|i| line[i..].starts_with(b"From "))
        {
            out.write_all(b">")?;
        }
        out.write_all(line)?;
    }
    if !raw.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_are_quoted_the_mboxrd_way() {
        let mut out = Vec::new();
        write_mboxrd(
            &mut out,
            Some("john@example.com"),
            crate::model::parse_stamp("2026-11-17T15:00:00Z").unwrap(),
            b"Subject: x\n\nFrom here\n>From there\nok",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From john@example.com Tue Nov 17 15:00:00 2026\nSubject: x\n\n>From here\n>>From there\nok\n\n"
        );
    }
}
