//! `pipedesk import PATH…`: mbox files or Maildirs of old support mail
//! become tickets. Every message takes the same path as delivered mail
//! (the desk's: dedup by Message-ID or hash, bounces, spam, watchers),
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
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressBarIter, ProgressStyle};

use crate::address::{self, Recipient};
use crate::cli::ImportArgs;
use crate::config::Config;
use crate::desk::{Batch, Desk};
use crate::inbound::Facts;
use crate::intake::{self, Envelope, Refusal};
use crate::mailbox::{self, Mbox};
use crate::model::{Action, Time};
use crate::store::Open;
use crate::term::{count, one_line};
use crate::view::ImportSummary as Summary;

/// Messages per transaction: large enough that commits do not dominate,
/// small enough (about half a second of work) that a concurrent `deliver`
/// waits well under its `busy_wait_secs`. A batch also ends at `BATCH_BYTES`,
/// so that a mailbox of large messages is not held in memory whole.
const BATCH: usize = 1000;
const BATCH_BYTES: usize = 64 << 20;

pub fn run(config: &Arc<Config>, args: ImportArgs) -> Result<()> {
    let started = Instant::now();
    let now = crate::commands::now();
    // Every path is checked before the database is touched.
    let sources = args
        .paths
        .iter()
        .map(|p| Source::open(p))
        .collect::<Result<Vec<_>>>()?;
    // The queue is chosen by the address it opens tickets at, as mail to
    // that queue's address would be; which queues a ticket may be put in
    // (not `spam`) is the desk's check, as for `pipedesk queue`.
    let queue_address = match &args.queue {
        None => None,
        Some(q) => config.queue_address(&crate::desk::destination(config, q)?),
    };
    let status = args
        .status
        .as_deref()
        .map(crate::commands::status)
        .transpose()?;
    let mut desk = Desk::open(config.clone(), Open::Create)?;
    desk.bulk_mode()?;
    let old_name = args.old_name.as_deref().unwrap_or(&config.site.name);
    let mut state = State::default();
    let old_tag = crate::tag::Tag::new(old_name);
    // One run over all the paths, so that an old number seen in the first
    // mailbox still names its ticket in the last.
    for (mut source, path) in sources.into_iter().zip(&args.paths) {
        let before = state.summary.messages;
        loop {
            let (items, more) = source.batch()?;
            let before_batch = state.clone();
            let importer = Importer {
                config,
                old_tag: &old_tag,
                now,
                queue_address: queue_address.as_deref(),
            };
            // The batch may run again from the start (a store that retries
            // a transaction after a conflict): it starts from the state
            // before it each time, and warnings wait for the commit.
            let (after, skips) = desk.batch(crate::commands::now(), |b| {
                let mut st = before_batch.clone();
                let mut skips = Vec::new();
                for item in &items {
                    importer.one(b, &mut st, item, &mut skips)?;
                }
                Ok((st, skips))
            })?;
            state = after;
            for line in skips {
                source.progress.suspend(|| eprintln!("{line}"));
            }
            source.progress.set_message(state.summary.progress());
            if !more {
                break;
            }
        }
        source.progress.finish_and_clear();
        if state.summary.messages == before {
            eprintln!(
                "pipedesk: warning: no messages in {} (an mbox starts with a `From ` line)",
                path.display()
            );
        }
    }
    // The status last, once every message is in: a later message of an old
    // thread would otherwise reopen a ticket imported resolved.
    if let Some(status) = status {
        desk.batch(crate::commands::now(), |b| {
            for (&id, &at) in &state.opened {
                b.settle(id, status, "import", at)?;
            }
            Ok(())
        })?;
    }
    let mut summary = state.summary;
    summary.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    if args.json {
        return crate::term::json(&summary);
    }
    let from = match args.paths.as_slice() {
        [one] => one.display().to_string(),
        many => format!("{} mailboxes", many.len()),
    };
    crate::term::out(&format!(
        "imported {} from {} in {:.1} s: {}, {} added to tickets, {}, {} already stored, {} skipped\n",
        count(summary.messages, "message", "messages"),
        one_line(&from),
        summary.seconds,
        count(summary.created, "new ticket", "new tickets"),
        summary.added,
        count(summary.bounces, "bounce", "bounces"),
        summary.duplicates,
        summary.skipped
    ))
}

impl Summary {
    fn progress(&self) -> String {
        format!(
            "{}, {} added, {}",
            count(self.created, "ticket", "tickets"),
            self.added,
            count(self.duplicates, "duplicate", "duplicates")
        )
    }
}

/// What an import carries from one message to the next.
#[derive(Debug, Clone, Default)]
struct State {
    /// Old ticket number → the ticket it became here.
    old_numbers: HashMap<i64, i64>,
    /// The tickets this import opened, and the time of their latest
    /// message (when `--status` puts them in their status).
    opened: std::collections::BTreeMap<i64, Time>,
    summary: Summary,
}

struct Importer<'a> {
    config: &'a Config,
    /// The old system's tag, `[name #N]`.
    old_tag: &'a crate::tag::Tag,
    /// When the import runs: the date of a message whose Date header is
    /// missing or implausible, and the latest one that is plausible.
    now: Time,
    /// `--queue`: the address of the queue new tickets open in.
    queue_address: Option<&'a str>,
}

impl<'a> Importer<'a> {
    /// Imports one message inside the batch's transaction. `Err` only for
    /// what is not the message's fault (the database); a message refused is
    /// skipped with a warning, and has written nothing: the desk refuses
    /// before its first write.
    fn one(
        &self,
        batch: &mut Batch<'_>,
        st: &mut State,
        item: &Item,
        skips: &mut Vec<String>,
    ) -> Result<()> {
        st.summary.messages += 1;
        let mut skip = |st: &mut State, why: &str| {
            st.summary.skipped += 1;
            skips.push(format!(
                "pipedesk: skipped {}: {}",
                one_line(&item.at),
                one_line(why)
            ));
        };
        let data = match &item.content {
            Content::Message(data) => data,
            Content::NotAMessage(why) => {
                skip(st, why);
                return Ok(());
            }
        };
        let mut message = match intake::take(data, self.config.policy.max_message_bytes) {
            Ok(m) => m,
            Err(refusal) => {
                skip(st, &skipped_because(refusal));
                return Ok(());
            }
        };
        let old = self.old_number(&message.facts);
        // Old numbers must never be read as ours: the tag goes from the
        // subject we store (the bytes keep it), and the address chosen below
        // says where the message goes.
        if old.is_some() {
            message.facts.subject = self.old_tag.strip(&message.facts.subject);
        }
        let recipient = match old.and_then(|n| st.old_numbers.get(&n)) {
            Some(&ticket) => self.config.ticket_address(ticket, ""),
            None => self.queue_address(&message.facts),
        };
        // No envelope, so the sender is Return-Path, as the final MTA saw
        // it. Never the mbox `From ` line: Python's mailbox and others write
        // `From MAILER-DAEMON` above every message, and every message became
        // a bounce (issue 10). Whether a message is a bounce is the
        // message's own to say.
        let no_envelope = Envelope::default();
        let msg = message.incoming(&recipient, message.envelope_sender(&no_envelope));
        let now = written(&message.facts, self.now).unwrap_or(self.now);
        let outcome = match batch.ingest(&msg, now) {
            Ok(o) => o,
            // Refused by the desk (no such ticket, an unknown address): the
            // message's own fault, as `deliver` would have bounced it.
            Err(e) if crate::desk::Error::find(&e).is_some() => {
                skip(st, &format!("{e:#}"));
                return Ok(());
            }
            Err(e) => return Err(e.context(format!("importing {}", item.at))),
        };
        if let (Some(n), Some(t)) = (old, outcome.ticket) {
            st.old_numbers.entry(n).or_insert(t);
        }
        if let Some(t) = outcome.ticket {
            if outcome.action == Action::Create {
                st.opened.insert(t, now);
            } else if let Some(at) = st.opened.get_mut(&t) {
                *at = (*at).max(now);
            }
        }
        let s = &mut st.summary;
        match outcome.action {
            Action::Create => s.created += 1,
            Action::Duplicate => s.duplicates += 1,
            Action::Bounce => s.bounces += 1,
            Action::Correspond | Action::Comment | Action::Close => s.added += 1,
        }
        Ok(())
    }

    /// The old ticket a message names: its subject tag, else an old
    /// `ticket-N@` address it was sent to.
    fn old_number(&self, facts: &Facts) -> Option<i64> {
        self.old_tag.find(&facts.subject).or_else(|| {
            intake::header_recipients(facts).find_map(|a| match address::classify(a, self.config) {
                Recipient::Ticket(n, _) => Some(n),
                _ => None,
            })
        })
    }

    /// The queue the message was sent to (the first of our queue addresses
    /// in its headers), else `submit@`. Not `deliver`'s choice of any of
    /// our addresses: an old `ticket-N@` names the old system's ticket.
    fn queue_address(&self, facts: &Facts) -> String {
        if let Some(q) = self.queue_address {
            return q.to_string();
        }
        intake::header_recipients(facts)
            .find(|a| matches!(address::classify(a, self.config), Recipient::Queue(_)))
            .map_or_else(
                || format!("{}@{}", self.config.addresses.submit, self.config.domain()),
                str::to_string,
            )
    }
}

/// Why a message was skipped: `deliver`'s words, without the size.
fn skipped_because(refusal: Refusal) -> String {
    match refusal {
        Refusal::TooLarge { .. } => "larger than policy.max_message_bytes".into(),
        other => other.to_string(),
    }
}

/// When the message was written: its (first) Date header, where that is a
/// plausible date (not before 1980, not a day after `now`).
fn written(facts: &Facts, now: Time) -> Option<Time> {
    let t = facts.date?;
    if !(315_532_800..=now.timestamp() + 86_400).contains(&t) {
        return None;
    }
    chrono::DateTime::from_timestamp(t, 0)
}

/// One item of a mailbox: a message, or something that is counted and
/// named but cannot be one.
enum Content {
    Message(Vec<u8>),
    NotAMessage(String),
}

struct Item {
    content: Content,
    /// Where it came from, for warnings.
    at: String,
}

/// The messages of an mbox file or a Maildir, with a progress bar on a
/// terminal (by bytes for an mbox, by files for a Maildir).
struct Source {
    kind: SourceKind,
    progress: ProgressBar,
}

enum SourceKind {
    Mbox {
        messages: Mbox<BufReader<ProgressBarIter<File>>>,
        path: PathBuf,
        /// What came before the first `From ` line, to report once.
        preamble: Option<usize>,
    },
    Maildir(std::vec::IntoIter<PathBuf>),
}

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
            let files = mailbox::maildir(path)?;
            let progress = bar(files.len() as u64, "{pos}/{len} messages");
            return Ok(Source {
                kind: SourceKind::Maildir(files.into_iter()),
                progress,
            });
        }
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let progress = bar(meta.len(), "{bytes}/{total_bytes}");
        let reader = BufReader::with_capacity(1 << 16, progress.wrap_read(file));
        let messages = Mbox::new(reader).with_context(|| format!("reading {}", path.display()))?;
        let preamble = messages.preamble();
        Ok(Source {
            kind: SourceKind::Mbox {
                messages,
                path: path.to_path_buf(),
                preamble: (preamble > 0).then_some(preamble),
            },
            progress,
        })
    }

    /// The next batch of items, and whether more may follow.
    fn batch(&mut self) -> Result<(Vec<Item>, bool)> {
        let mut items = Vec::new();
        let mut bytes = 0;
        while items.len() < BATCH && bytes < BATCH_BYTES {
            let Some(item) = self.next() else {
                return Ok((items, false));
            };
            let item = item?;
            if let Content::Message(raw) = &item.content {
                bytes += raw.len();
            }
            items.push(item);
        }
        Ok((items, true))
    }

    fn next(&mut self) -> Option<Result<Item>> {
        match &mut self.kind {
            SourceKind::Mbox {
                messages,
                path,
                preamble,
            } => {
                if let Some(n) = preamble.take() {
                    return Some(Ok(Item {
                        content: Content::NotAMessage(format!(
                            "{n} bytes before the first `From ` line, which an mbox starts with"
                        )),
                        at: format!("the start of {}", path.display()),
                    }));
                }
                let n = self.progress.position();
                messages.next().map(|m| {
                    let raw = m.with_context(|| format!("reading {}", path.display()))?;
                    Ok(Item {
                        content: Content::Message(raw),
                        at: format!("a message in {} (near byte {n})", path.display()),
                    })
                })
            }
            SourceKind::Maildir(files) => files.next().map(|p| {
                self.progress.inc(1);
                let raw = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                Ok(Item {
                    content: Content::Message(raw),
                    at: p.display().to_string(),
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_come_from_the_header_when_plausible() {
        let now = crate::model::parse_stamp("2026-11-20T00:00:00Z").unwrap();
        let at = |raw: &[u8]| written(&crate::inbound::parse(raw), now);
        assert_eq!(
            at(b"Date: Tue, 17 Nov 2026 15:00:00 +0100\n\nx").map(crate::model::stamp),
            Some("2026-11-17T14:00:00Z".into())
        );
        assert_eq!(
            at(b"Date: Tue, 17 Nov 2026 15:00:00 +0100\nDate: Wed, 18 Nov 2026 15:00:00 +0100\n\nx")
                .map(crate::model::stamp),
            Some("2026-11-17T14:00:00Z".into()),
            "the first Date counts"
        );
        assert_eq!(at(b"Date: Thu, 1 Jan 1970 00:00:00 +0000\n\nx"), None);
        assert_eq!(
            at(b"Date: Sun, 22 Nov 2026 00:00:01 +0000\n\nx"),
            None,
            "more than a day after the import runs"
        );
        assert_eq!(at(b"Subject: no date\n\nx"), None);
    }
}
