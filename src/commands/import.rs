//! `pipedesk import PATH…`: mbox files or Maildirs of old support mail
//! become tickets. Every message takes the same path as delivered mail
//! (`desk::ingest`: dedup by Message-ID or hash, bounces, spam, watchers),
//! with no outgoing mail and a thousand messages per transaction (one
//! commit per batch, not per message). A message that routing refuses is
//! skipped with a warning; it has written nothing. What was imported is
//! dated by its Date header, so ages and stats read as they happened.
//!
//! Tags in old mail (`[name #N]`) name tickets of the *old* system: the
//! first message seen with old number N lands somewhere (a new ticket, or
//! the ticket its References name), and later messages with N correspond on
//! that ticket. Messages without a tag are threaded by References and
//! In-Reply-To, as `deliver` does.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use regex::Regex;
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::cli::ImportArgs;
use crate::config::Config;
use crate::desk::{ingest, Incoming, Mailer};
use crate::exit::Fail;
use crate::inbound::{self, Facts};
use crate::route::{self, Recipient};
use crate::store;

/// Messages per transaction: large enough that commits do not dominate,
/// small enough (about half a second of work) that a concurrent `deliver`
/// waits well under its `busy_wait_secs`.
const BATCH: usize = 1000;

/// What an import did, for the summary line and `--json`.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    /// Messages read from the mailbox.
    pub messages: u64,
    /// Tickets opened.
    pub created: u64,
    /// Messages added to an existing ticket (correspondence, comments).
    pub added: u64,
    /// Bounces (stored as comments, or kept without a ticket).
    pub bounces: u64,
    /// Already stored: by an earlier import or by delivery.
    pub duplicates: u64,
    /// Empty, too large, or refused by routing; each is named on stderr.
    pub skipped: u64,
    pub seconds: f64,
}

pub fn run(config: &Config, args: ImportArgs) -> Result<()> {
    let started = Instant::now();
    // Every path is checked before the database is touched.
    let sources = args
        .paths
        .iter()
        .map(|p| Source::open(p))
        .collect::<Result<Vec<_>>>()?;
    let mut conn = crate::commands::open(config, &config.site.database)?;
    // For this connection only: statement journals in memory rather than in
    // temporary files (every insert into the FTS index takes one), a larger
    // page cache for the index, and no fsync per commit (in WAL mode a
    // crash can lose the last batches but never corrupts; an import is
    // simply run again). Deliveries keep synchronous = FULL.
    conn.execute_batch(
        "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA synchronous = NORMAL;",
    )?;
    let old_name = args.old_name.as_deref().unwrap_or(&config.site.name);
    let mut importer = Importer {
        config,
        old_tag: route::tag_pattern(old_name),
        old_numbers: HashMap::new(),
        summary: Summary::default(),
        progress: ProgressBar::hidden(),
    };
    // One run over all the paths, so that an old number seen in the first
    // mailbox still names its ticket in the last.
    for (mut source, path) in sources.into_iter().zip(&args.paths) {
        let before = importer.summary.messages;
        importer.progress = source.progress.clone();
        loop {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("waiting for the database")?;
            let mut n = 0;
            while n < BATCH {
                let Some(item) = source.next() else { break };
                let (raw, from_line, where_) = item?;
                importer.one(&tx, &raw, from_line.as_deref(), &where_)?;
                n += 1;
            }
            tx.commit().context("committing")?;
            source.progress.set_message(importer.summary.progress());
            if n < BATCH {
                break;
            }
        }
        source.progress.finish_and_clear();
        if importer.summary.messages == before {
            eprintln!(
                "pipedesk: warning: no messages in {} (an mbox starts with a `From ` line)",
                path.display()
            );
        }
    }
    let mut summary = importer.summary;
    summary.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    if args.json {
        return crate::commands::print_json(&summary);
    }
    let from = match args.paths.as_slice() {
        [one] => one.display().to_string(),
        many => format!("{} mailboxes", many.len()),
    };
    println!(
        "imported {} messages from {} in {:.1} s: {} new tickets, {} added to tickets, {} bounces, {} already stored, {} skipped",
        summary.messages,
        crate::sanitize::one_line(&from),
        summary.seconds,
        summary.created,
        summary.added,
        summary.bounces,
        summary.duplicates,
        summary.skipped
    );
    Ok(())
}

impl Summary {
    fn progress(&self) -> String {
        format!(
            "{} tickets, {} added, {} duplicates",
            self.created, self.added, self.duplicates
        )
    }
}

struct Importer<'c> {
    config: &'c Config,
    /// The old system's tag, `[name #N]`.
    old_tag: Regex,
    /// Old ticket number → the ticket it became here.
    old_numbers: HashMap<i64, i64>,
    summary: Summary,
    /// Warnings are printed around it, not through it.
    progress: ProgressBar,
}

impl Importer<'_> {
    /// Imports one message inside the batch's transaction. `Err` only for
    /// what is not the message's fault (the database); a message refused by
    /// routing is skipped with a warning.
    fn one(
        &mut self,
        conn: &Connection,
        raw: &[u8],
        from_line: Option<&str>,
        where_: &str,
    ) -> Result<()> {
        self.summary.messages += 1;
        let raw = inbound::strip_from_line(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            return self.skip(where_, "empty message");
        }
        if raw.len() as u64 > self.config.policy.max_message_bytes {
            return self.skip(where_, "larger than policy.max_message_bytes");
        }
        let mut facts = inbound::parse(raw);
        let old = self.old_number(&facts);
        // Old numbers must never be read as ours: the tag goes from the
        // subject we store (the bytes keep it), and the address chosen below
        // says where the message goes.
        if old.is_some() {
            facts.subject = strip_tags(&facts.subject, &self.old_tag);
        }
        let recipient = match old.and_then(|n| self.old_numbers.get(&n)) {
            Some(&ticket) => self.config.ticket_address(ticket, ""),
            None => self.queue_address(&facts),
        };
        // The envelope sender as the final MTA saw it: Return-Path, else the
        // mbox `From ` line (`MAILER-DAEMON` there marks a bounce).
        let sender = facts
            .return_path
            .clone()
            .or_else(|| from_line.map(str::to_string));
        let msg = Incoming {
            raw,
            facts: &facts,
            recipient: &recipient,
            envelope_sender: sender.as_deref(),
            local: false,
        };
        let mark = store::high_water(conn)?;
        let mut mailer = Mailer::new(self.config, true);
        let outcome = match ingest(conn, self.config, &msg, &mut mailer) {
            Ok(o) => o,
            Err(e) if e.chain().any(|c| c.downcast_ref::<Fail>().is_some()) => {
                // ingest refuses a message (unknown ticket or address)
                // before it writes anything, so the batch stays whole. No
                // savepoint per message: FTS5 flushes its pending index to
                // disk at every savepoint, which made a 100 000-message
                // import several times slower.
                if store::high_water(conn)? != mark {
                    return Err(e.context(format!(
                        "importing {where_}: refused after writing (nothing of this batch was kept)"
                    )));
                }
                return self.skip(where_, &format!("{e:#}"));
            }
            Err(e) => return Err(e.context(format!("importing {where_}"))),
        };
        if outcome.action != "duplicate" {
            if let Some(date) = written(raw) {
                store::backdate(
                    conn,
                    mark,
                    outcome.ticket,
                    outcome.action == "create",
                    &date,
                )?;
            }
        }
        if let (Some(n), Some(t)) = (old, outcome.ticket) {
            self.old_numbers.entry(n).or_insert(t);
        }
        let s = &mut self.summary;
        match outcome.action {
            "create" => s.created += 1,
            "duplicate" => s.duplicates += 1,
            "bounce" => s.bounces += 1,
            _ => s.added += 1,
        }
        Ok(())
    }

    fn skip(&mut self, where_: &str, why: &str) -> Result<()> {
        self.summary.skipped += 1;
        let line = format!(
            "pipedesk: skipped {}: {}",
            crate::sanitize::one_line(where_),
            crate::sanitize::one_line(why)
        );
        self.progress.suspend(|| eprintln!("{line}"));
        Ok(())
    }

    /// The old ticket a message names: its subject tag, else an old
    /// `ticket-N@` address it was sent to.
    fn old_number(&self, facts: &Facts) -> Option<i64> {
        route::find_tag(&facts.subject, &self.old_tag).or_else(|| {
            headers_addresses(facts).find_map(|a| match route::classify(&a, self.config) {
                Recipient::Ticket(n, _) => Some(n),
                _ => None,
            })
        })
    }

    /// The queue the message was sent to (one of our queue addresses in its
    /// headers), else `submit@`.
    fn queue_address(&self, facts: &Facts) -> String {
        headers_addresses(facts)
            .find(|a| matches!(route::classify(a, self.config), Recipient::Queue(_)))
            .unwrap_or_else(|| format!("{}@{}", self.config.addresses.submit, self.config.domain()))
    }
}

/// Delivered-To, X-Original-To, To, Cc: where deliver looks for the
/// recipient of a saved message.
fn headers_addresses(facts: &Facts) -> impl Iterator<Item = String> + '_ {
    facts
        .delivered_to
        .iter()
        .chain(&facts.x_original_to)
        .cloned()
        .chain(facts.to.iter().chain(&facts.cc).map(|m| m.address.clone()))
}

/// `subject` without any `tag`, spaces tidied.
fn strip_tags(subject: &str, tag: &Regex) -> String {
    let s = tag.replace_all(subject, " ");
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// When the message was written: its Date header, where that is a
/// plausible date (not before 1980, not in the future), as stored.
fn written(raw: &[u8]) -> Option<String> {
    let headers = mail_parser::MessageParser::new().parse_headers(raw)?;
    let t = headers.date()?.to_timestamp();
    let now = chrono::Utc::now().timestamp();
    if !(315_532_800..=now + 86_400).contains(&t) {
        return None;
    }
    chrono::DateTime::from_timestamp(t, 0).map(store::timestamp)
}

/// A message from an mbox without the empty line that separates it from
/// the next `From ` line: the writer added it (as `pipedesk export` does),
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

/// The messages of an mbox file or a Maildir, with a progress bar on a
/// terminal (by bytes for an mbox, by files for a Maildir).
struct Source {
    kind: SourceKind,
    progress: ProgressBar,
}

enum SourceKind {
    Mbox(
        mail_parser::mailbox::mbox::MessageIterator<Box<dyn BufRead>>,
        PathBuf,
    ),
    Maildir(std::vec::IntoIter<PathBuf>),
}

/// One message: its bytes, the sender of its mbox `From ` line, and where it
/// came from (for warnings).
type Item = (Vec<u8>, Option<String>, String);

impl Source {
    fn open(path: &Path) -> Result<Source> {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        let on_terminal = std::io::stderr().is_terminal();
        let bar = |len: u64, unit: &str| {
            if !on_terminal {
                return ProgressBar::hidden();
            }
            let template =
                format!("{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {unit} ({{eta}}) {{msg}}");
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            ProgressBar::new(len).with_style(style)
        };
        if meta.is_dir() {
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
            // Maildir names start with the delivery time in seconds, so
            // this is (nearly) arrival order: parents come before replies.
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
            let progress = bar(files.len() as u64, "{pos}/{len} messages");
            Ok(Source {
                kind: SourceKind::Maildir(files.into_iter()),
                progress,
            })
        } else {
            let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            let progress = bar(meta.len(), "{bytes}/{total_bytes}");
            let reader: Box<dyn BufRead> =
                Box::new(progress.wrap_read(BufReader::with_capacity(1 << 16, file)));
            Ok(Source {
                kind: SourceKind::Mbox(
                    mail_parser::mailbox::mbox::MessageIterator::new(reader),
                    path.to_path_buf(),
                ),
                progress,
            })
        }
    }

    fn next(&mut self) -> Option<Result<Item>> {
        match &mut self.kind {
            SourceKind::Mbox(it, path) => {
                let n = self.progress.position();
                it.next().map(|m| {
                    let m = m.with_context(|| format!("reading {}", path.display()))?;
                    let from = Some(m.from().to_string()).filter(|f| !f.is_empty());
                    let at = format!("a message in {} (near byte {n})", path.display());
                    Ok((without_separator(m.unwrap_contents()), from, at))
                })
            }
            SourceKind::Maildir(files) => files.next().map(|p| {
                self.progress.inc(1);
                let raw = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                Ok((raw, None, p.display().to_string()))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_tags_leave_the_subject() {
        let tag = route::tag_pattern("myisp");
        assert_eq!(
            strip_tags("Re: [myisp #12]  Printer  broken", &tag),
            "Re: Printer broken"
        );
        assert_eq!(strip_tags("[other #3] x", &tag), "[other #3] x");
    }

    #[test]
    fn dates_come_from_the_header_when_plausible() {
        assert_eq!(
            written(b"Date: Tue, 17 Nov 2026 15:00:00 +0100\n\nx").as_deref(),
            Some("2026-11-17T14:00:00Z")
        );
        assert_eq!(written(b"Date: Thu, 1 Jan 1970 00:00:00 +0000\n\nx"), None);
        assert_eq!(written(b"Subject: no date\n\nx"), None);
    }
}
