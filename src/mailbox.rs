//! Mailboxes on disk: reading an mbox (mboxrd) or a Maildir, as `import`
//! takes them, and writing the mboxrd that `export` gives mutt. Both sides
//! of the `From ` line quoting live here, so that what `export` writes
//! `import` reads back as it was.

use std::io::{BufRead, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mail_parser::mailbox::mbox::MessageIterator;

use crate::model::Time;

/// The messages of an mbox, each without its `From ` line, unquoted the
/// mboxrd way (`>From ` → `From `, `>>From ` → `>From `), and without the
/// empty line that separates it from the next.
pub struct Mbox<R: BufRead> {
    messages: MessageIterator<std::io::Chain<Cursor<Vec<u8>>, R>>,
    preamble: usize,
}

impl<R: BufRead> Mbox<R> {
    /// Reads up to the first `From ` line, which an mbox starts with. A
    /// UTF-8 byte order mark (an editor's) is no text: with it in front, the
    /// first `From ` line was not seen and the first message went missing
    /// without a word (issue 10).
    pub fn new(mut reader: R) -> std::io::Result<Mbox<R>> {
        if reader.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
            reader.consume(3);
        }
        let mut preamble = 0;
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 || line.starts_with(b"From ") {
                break;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                preamble += line.len();
            }
        }
        Ok(Mbox {
            messages: MessageIterator::new(Cursor::new(line).chain(reader)),
            preamble,
        })
    }

    /// How many bytes of text came before the first `From ` line: not a
    /// message, and lost unless someone is told.
    pub fn preamble(&self) -> usize {
        self.preamble
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let message = self.messages.next()?;
        Some(message.map(|m| without_separator(m.unwrap_contents())))
    }
}

/// A message from an mbox without the empty line that separates it from
/// the next `From ` line: the writer added it (as [`write_mboxrd`] does),
/// it is not part of the message, and keeping it would change the hash that
/// identifies a message without a Message-ID.
fn without_separator(mut raw: Vec<u8>) -> Vec<u8> {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.pop();
    }
    raw
}

/// A Maildir's message files (cur/ and new/), in (nearly) arrival order:
/// Maildir names start with the delivery time in seconds, so parents come
/// before replies. Each file is one message, read as it is.
pub fn maildir(path: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let (cur, new) = (path.join("cur"), path.join("new"));
    if !cur.is_dir() && !new.is_dir() {
        bail!(
            "{} is a folder but not a Maildir (no cur/ or new/)",
            path.display()
        );
    }
    for sub in [cur, new] {
        let Ok(entries) = std::fs::read_dir(&sub) else {
            continue;
        };
        for e in entries {
            let e = e.with_context(|| format!("reading {}", sub.display()))?;
            let name = e.file_name();
            if !name.to_string_lossy().starts_with('.') && e.file_type()?.is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort_by_cached_key(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let secs: u64 = name
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u64::MAX);
        (secs, name)
    });
    Ok(files)
}

/// Writes one message as an mboxrd entry: a `From ` line (the envelope
/// sender, or `MAILER-DAEMON` where there is none a reader could parse),
/// the bytes with every `From ` line quoted by one more `>`, a line end
/// where the message lacks its last, and the separating empty line.
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

    fn at() -> Time {
        crate::model::parse_stamp("2026-11-17T15:00:00Z").unwrap()
    }

    fn read(mbox: &[u8]) -> (usize, Vec<Vec<u8>>) {
        let mbox = Mbox::new(mbox).unwrap();
        let preamble = mbox.preamble();
        (preamble, mbox.collect::<std::io::Result<_>>().unwrap())
    }

    fn round_trip(messages: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for m in messages {
            write_mboxrd(&mut out, Some("john@example.com"), at(), m).unwrap();
        }
        let (preamble, read) = read(&out);
        assert_eq!(preamble, 0);
        read
    }

    #[test]
    fn from_lines_are_quoted_the_mboxrd_way() {
        let mut out = Vec::new();
        write_mboxrd(
            &mut out,
            Some("john@example.com"),
            at(),
            b"Subject: x\n\nFrom here\n>From there\nok",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "From john@example.com Tue Nov 17 15:00:00 2026\nSubject: x\n\n>From here\n>>From there\nok\n\n"
        );
    }

    #[test]
    fn a_sender_no_reader_could_parse_is_mailer_daemon() {
        for sender in [None, Some(""), Some("a b@c")] {
            let mut out = Vec::new();
            write_mboxrd(&mut out, sender, at(), b"x\n").unwrap();
            assert!(out.starts_with(b"From MAILER-DAEMON Tue Nov 17 15:00:00 2026\n"));
        }
    }

    #[test]
    fn quoted_from_lines_come_back_as_written() {
        let tricky: &[&[u8]] = &[
            b"Subject: a\n\nFrom the start\n>From once\n>>From twice\n>>>From thrice\n",
            b"Subject: b\n\n> From is no From line\nFromage\n",
            b"Subject: c\r\n\r\nFrom crlf\r\n>From crlf\r\n",
            b"Subject: d\n\nends with an empty line\n\n",
            b"Subject: e\r\n\r\nends with an empty CRLF line\r\n\r\n",
        ];
        assert_eq!(round_trip(tricky), tricky);
    }

    #[test]
    fn a_message_without_its_last_line_end_comes_back_with_one() {
        // mboxrd has no way to say a message lacked its last line end:
        // the one byte that export cannot give back.
        assert_eq!(
            round_trip(&[b"Subject: x\n\nFrom the end", b"Subject: y\n\nno end"]),
            [
                &b"Subject: x\n\nFrom the end\n"[..],
                b"Subject: y\n\nno end\n"
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_and_text_before_the_first_from_line_are_found() {
        let (preamble, messages) = read(b"\xef\xbb\xbfFrom a@b Mon Nov 16 10:00:00 2026\nx\n");
        assert_eq!((preamble, messages), (0, vec![b"x\n".to_vec()]));
        let (preamble, messages) = read(b"\nSubject: stray\n\nFrom a@b x\ny\n\n");
        assert_eq!((preamble, messages), (15, vec![b"y\n".to_vec()]));
    }

    #[test]
    fn a_file_without_a_from_line_has_no_messages() {
        assert_eq!(read(b"Subject: x\n\nbody\n"), (16, vec![]));
        assert_eq!(read(b""), (0, vec![]));
    }

    #[test]
    fn a_maildir_is_read_in_arrival_order() {
        let dir = std::env::temp_dir().join(format!("pipedesk-maildir-{}", std::process::id()));
        for (sub, name) in [
            ("new", "1700000002.b.host"),
            ("cur", "1700000001.a.host:2,S"),
            ("cur", ".hidden"),
            ("new", "unnumbered"),
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            std::fs::write(dir.join(sub).join(name), b"x\n").unwrap();
        }
        let names: Vec<_> = maildir(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            names,
            ["1700000001.a.host:2,S", "1700000002.b.host", "unnumbered"]
        );
        assert!(maildir(Path::new("/")).is_err(), "a folder, not a Maildir");
    }
}
