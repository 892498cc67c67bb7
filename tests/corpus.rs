//! The real-world corpus (`fixtures/corpus/`, 300+ messages from other mail
//! projects' test data): every message delivered through the real binary,
//! then what `show --json` says of it (subject, author, attachment names,
//! body) held to Python's reading in `EXPECTED.json` (SPEC §3 "Reading a
//! message"), and nothing shown with U+FFFD where a charset decodes the
//! bytes. Fails with every mismatch listed, not the first.
//!
//! Each thread has one desk: a ticket opened first, then every message of
//! its share delivered to `ticket-1@` with `--no-mail`. Addressed to a
//! ticket, bounces, autoreplies and spam are stored on it too (a bounce as a
//! comment), so every message is read back from the same place, in the order
//! delivered.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde::Deserialize;
use serde_json::Value;

const TICKET_1: &str = "ticket-1@help.example.org";
/// The envelope sender: the author where no header names one.
const ENVELOPE: &str = "corpus@example.net";

#[derive(Debug, Deserialize)]
struct Origins {
    message: Vec<Origin>,
}

#[derive(Debug, Deserialize)]
struct Origin {
    path: String,
    project: String,
    version: String,
    source: String,
    licence: String,
}

#[derive(Debug, Deserialize)]
struct Expected {
    subject: Option<String>,
    /// Absent: not checked; null: none in the headers (the envelope counts).
    #[serde(default, deserialize_with = "some")]
    author: Option<Option<String>>,
    attachments: Option<Vec<String>>,
    body_contains: Option<String>,
    /// Fields where U+FFFD is right: bytes no charset decodes (see `why`).
    #[serde(default)]
    replacement_ok: Vec<String>,
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn corpus() -> std::path::PathBuf {
    fixtures().join("corpus")
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_corpus_message_reads_as_python_reads_it() {
    let origins: Origins = toml::from_str(
        &std::fs::read_to_string(corpus().join("ORIGINS.toml")).expect("ORIGINS.toml"),
    )
    .expect("ORIGINS.toml parses");
    let expected: BTreeMap<String, Expected> = serde_json::from_slice(
        &std::fs::read(corpus().join("EXPECTED.json")).expect("EXPECTED.json"),
    )
    .expect("EXPECTED.json parses");
    assert!(
        origins.message.len() >= 300,
        "the corpus shrank to {}",
        origins.message.len()
    );
    let mut wrong = Vec::new();
    for o in &origins.message {
        let path = corpus().join(&o.path);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if size == 0 || size > 200 * 1024 {
            wrong.push(format!(
                "{}: missing or {size} bytes (at most 200 KB)",
                o.path
            ));
        }
        if [&o.project, &o.version, &o.source, &o.licence]
            .iter()
            .any(|s| s.trim().is_empty())
        {
            wrong.push(format!("{}: origin incomplete in ORIGINS.toml", o.path));
        }
        if !expected.contains_key(&o.path) {
            wrong.push(format!(
                "{}: not in EXPECTED.json (run fixtures/corpus/expect.py)",
                o.path
            ));
        }
    }
    let jobs: Vec<(&str, &Expected, Vec<u8>)> = origins
        .message
        .iter()
        .filter_map(|o| {
            let e = expected.get(&o.path)?;
            let raw = std::fs::read(corpus().join(&o.path)).ok()?;
            Some((o.path.as_str(), e, raw))
        })
        .collect();
    // The runs mostly wait for fsync, so more threads than cores pay off.
    let threads = 4;
    let found: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(threads))
            .map(|chunk| s.spawn(move || deliver_and_check(chunk)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a corpus thread"))
            .collect()
    });
    wrong.extend(found);
    assert!(
        wrong.is_empty(),
        "{} mismatches over {} corpus messages (file, field, expected, got):\n\n{}",
        wrong.len(),
        jobs.len(),
        wrong.join("\n")
    );
}

/// A desk with ticket 1 open, ready for correspondence.
fn desk_with_ticket() -> Desk {
    let desk = Desk::new();
    desk.open_ticket(&mail(JOHN, "The corpus ticket"));
    desk
}

/// Delivers `chunk` into one desk and returns what reads wrong.
fn deliver_and_check(chunk: &[(&str, &Expected, Vec<u8>)]) -> Vec<String> {
    let mut wrong = Vec::new();
    let desk = desk_with_ticket();
    // (path, expectation) in the order their entries land on ticket 1.
    let mut stored: Vec<(&str, &Expected)> = Vec::new();
    for (path, want, raw) in chunk {
        let run = desk.deliver_no_mail(TICKET_1, ENVELOPE, raw);
        match run.code {
            0 if run.json()["action"] == "duplicate" => {
                // Another corpus message has the same Message-ID: read this
                // one on a desk of its own.
                let alone = desk_with_ticket();
                let run = alone.deliver_no_mail(TICKET_1, ENVELOPE, raw);
                if run.code != 0 {
                    wrong.push(format!("{path}: exit {}: {}", run.code, run.stderr.trim()));
                    continue;
                }
                wrong.extend(check_entries(&alone, &[(path, want)]));
            }
            0 => stored.push((path, want)),
            65 if strip_mbox_from(raw).iter().all(u8::is_ascii_whitespace) => {}
            code => wrong.push(format!("{path}: exit {code}: {}", run.stderr.trim())),
        }
    }
    wrong.extend(check_entries(&desk, &stored));
    wrong
}

fn strip_mbox_from(raw: &[u8]) -> &[u8] {
    if !raw.starts_with(b"From ") {
        return raw;
    }
    match raw.iter().position(|&b| b == b'\n' || b == b'\r') {
        Some(i) => &raw[i + 1..],
        None => &[],
    }
}

/// Ticket 1's message entries after the opener, one per `stored`, in order.
fn check_entries(desk: &Desk, stored: &[(&str, &Expected)]) -> Vec<String> {
    let shown = desk.show(1);
    let entries: Vec<&Value> = shown["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|e| e.get("body").is_some())
                .skip(1)
                .collect()
        })
        .unwrap_or_default();
    if entries.len() != stored.len() {
        return vec![format!(
            "ticket 1 holds {} corpus messages, {} were delivered",
            entries.len(),
            stored.len()
        )];
    }
    let mut wrong = Vec::new();
    for ((path, want), entry) in stored.iter().zip(entries) {
        let mut differs =
            |field: &str, expected: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
                let got: String = format!("{got:?}").chars().take(200).collect();
                wrong.push(format!(
                    "{path}\t{field}\n    expected {expected:?}\n    got      {got}"
                ))
            };
        let subject = entry["subject"].as_str().unwrap_or_default();
        if let Some(s) = &want.subject {
            if collapse(s) != collapse(subject) {
                differs("subject", s, &subject);
            }
        }
        let author = entry["author"].as_str().unwrap_or_default();
        if let Some(a) = &want.author {
            let a = a.as_deref().unwrap_or(ENVELOPE);
            if a != author {
                differs("author", &a, &author);
            }
        }
        let names: Vec<String> = entry["attachments"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|a| collapse(a["filename"].as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(list) = &want.attachments {
            let list: Vec<String> = list.iter().map(|n| collapse(n)).collect();
            if list != names {
                differs("attachments", &list, &names);
            }
        }
        let body = collapse(entry["body"].as_str().unwrap_or_default());
        if let Some(phrase) = &want.body_contains {
            let ok = if phrase.is_empty() {
                body.is_empty()
            } else {
                body.contains(phrase.as_str())
            };
            if !ok {
                let start: String = body.chars().take(100).collect();
                differs("body contains", phrase, &start);
            }
        }
        for (field, text) in [
            ("subject", subject.to_string()),
            ("author", author.to_string()),
            ("attachments", names.join(" ")),
            ("body", body),
        ] {
            if text.contains('\u{fffd}') && !want.replacement_ok.iter().any(|f| f == field) {
                differs(&format!("{field} has U+FFFD"), &"none", &text);
            }
        }
    }
    wrong
}
