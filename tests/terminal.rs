//! The commands people run at a terminal — show, list, search, attachments,
//! import, stats, completions, man — driven through the real binary in a
//! temp folder, against fixtures and small messages written here. The
//! desk and its database are the harness's (`tests/common`): SQLite here,
//! PostgreSQL in `tests/pg_terminal.rs`.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::{fixture, Desk, BIN, SUBMIT};

const STAFF: &str = common::ADMIN;

/// What this suite asks of the harness's desk (`fixtures/pipedesk.toml`:
/// site `myisp`, queue `web`, admin stef@, member ann@): runs as a person
/// at a terminal sees them, with the bytes of their output.
trait Terminal {
    fn output(&self, args: &[&str], stdin: &[u8]) -> Output;
    fn ok(&self, args: &[&str]) -> String;
    fn json(&self, args: &[&str]) -> Value;
    fn deliver_raw(&self, raw: &str, recipient: &str) -> Value;
    fn count(&self, sql: &str) -> i64;
}

impl Terminal for Desk {
    /// Runs pipedesk with `args`, `stdin` on its standard input, no
    /// terminal, and none of the environment that changes its output.
    fn output(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command()
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("PAGER")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and asserts exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args, b"");
        assert!(
            out.status.success(),
            "pipedesk {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn deliver_raw(&self, raw: &str, recipient: &str) -> Value {
        let sender = raw
            .lines()
            .find_map(|l| l.strip_prefix("From: "))
            .unwrap_or("")
            .to_string();
        let out = self.output(
            &[
                "deliver",
                "--json",
                "--recipient",
                recipient,
                "--sender",
                &sender,
            ],
            raw.as_bytes(),
        );
        assert!(
            out.status.success(),
            "deliver failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// One number from the database.
    fn count(&self, sql: &str) -> i64 {
        self.db().count(sql, &[])
    }
}

/// Asserts `haystack` contains each of `needles` in this order.
fn assert_in_order(haystack: &str, needles: &[&str]) {
    let mut at = 0;
    for n in needles {
        match haystack[at..].find(n) {
            Some(i) => at += i + n.len(),
            None => panic!("{n:?} missing (in order) from:\n{haystack}"),
        }
    }
}

fn mail(from: &str, id: &str, subject: &str, extra: &str, body: &str) -> String {
    format!(
        "From: {from}\nTo: {SUBMIT}\nSubject: {subject}\nMessage-ID: <{id}>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n{extra}\n{body}"
    )
}

// ---------------------------------------------------------------- show

#[test]
fn show_reads_like_a_thread_with_changes_in_between() {
    let desk = Desk::new();
    desk.deliver_raw(
        &mail(
            "john@example.com",
            "t1@example.com",
            "Printer \u{1b}[31mbroken",
            "",
            "The printer is on fire.\n\u{1b}]0;pwned\u{7}\n",
        ),
        SUBMIT,
    );
    desk.deliver_raw(
        &mail(
            STAFF,
            "t2@example.org",
            "Re: [myisp #1] Printer",
            "In-Reply-To: <t1@example.com>\n",
            "Try water.\n\nOn Monday John wrote:\n> The printer is on fire.\n> Really.\n> Help.\n",
        ),
        "ticket-1@help.example.org",
    );
    desk.ok(&["take", "1", "--as", "ann@example.org"]);
    desk.ok(&["close", "1", "--as", STAFF]);
    let out = desk.ok(&["show", "1"]);
    assert_in_order(
        &out,
        &[
            "Ticket #1: Printer",
            "Queue:",
            "general",
            "Status:",
            "resolved",
            "Requestor:",
            "john@example.com",
            "Owner:",
            "ann@example.org",
            "Opened:",
            "john@example.com opened the ticket",
            "Subject: Printer \\u{1b}[31mbroken",
            "The printer is on fire.",
            "\\u{1b}]0;pwned\\u{7}",
            "stef@example.org wrote",
            "Try water.",
            "On Monday John wrote:",
            "[… 3 quoted lines folded]",
            "stef@example.org changed the status from new to open",
            "ann@example.org took the ticket",
            "stef@example.org changed the status from open to resolved",
        ],
    );
    assert!(!out.contains('\u{1b}'), "raw escape reached the terminal");
    assert!(!out.contains("> Really."), "quoted text not folded");
    assert!(desk.ok(&["show", "1", "--quoted"]).contains("> Really."));
}

#[test]
fn show_json_keeps_the_spec_shape() {
    let desk = Desk::new();
    desk.deliver_raw(
        &mail("john@example.com", "j1@x", "Hello", "", "body\n"),
        SUBMIT,
    );
    let v = desk.json(&["show", "1", "--json"]);
    for key in [
        "id",
        "queue",
        "subject",
        "status",
        "requestor",
        "owner",
        "priority",
        "watchers",
        "created",
        "updated",
        "history",
    ] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    let h = &v["history"][0];
    assert_eq!(h["kind"], "create");
    assert_eq!(h["message_id"], "<j1@x>");
    assert_eq!(h["body"], "body\n");
    assert_eq!(h["attachments"], serde_json::json!([]));
}

#[test]
fn show_of_a_missing_ticket_fails_with_one_line() {
    let desk = Desk::new();
    desk.deliver_raw(
        &mail("john@example.com", "j1@x", "Hello", "", "b\n"),
        SUBMIT,
    );
    let out = desk.output(&["show", "9"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pipedesk: no ticket #9\n"
    );
}

// ---------------------------------------------------------------- list

fn three_tickets() -> Desk {
    let desk = Desk::new();
    desk.deliver_raw(&mail("john@example.com", "a@x", "First", "", "a\n"), SUBMIT);
    desk.deliver_raw(
        &mail("maria@example.net", "b@x", "Second", "", "b\n"),
        "webmaster@help.example.org",
    );
    desk.deliver_raw(&mail("john@example.com", "c@x", "Third", "", "c\n"), SUBMIT);
    desk.ok(&["close", "3", "--as", STAFF]);
    desk.ok(&["assign", "1", "ann@example.org", "--as", STAFF]);
    desk
}

#[test]
fn list_shows_new_and_open_first_in_aligned_columns() {
    let desk = three_tickets();
    let out = desk.ok(&["list"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let header = lines[0];
    assert!(header.starts_with("ID  STATUS"), "{out}");
    // Unresolved tickets first, newest first; then the resolved one.
    let ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["2", "1", "3"]);
    // Aligned: every subject starts in the same column as SUBJECT.
    let col = header.find("SUBJECT").unwrap();
    for (l, subject) in lines[1..].iter().zip(["Second", "First", "Third"]) {
        assert_eq!(l.find(subject), Some(col), "{out}");
    }
}

#[test]
fn list_filters_by_status_queue_owner_and_requestor() {
    let desk = three_tickets();
    let ids = |args: &[&str]| -> Vec<i64> {
        let mut a = vec!["list", "--json"];
        a.extend_from_slice(args);
        desk.json(&a)
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&[]), [2, 1, 3]);
    assert_eq!(ids(&["--status", "resolved"]), [3]);
    assert_eq!(ids(&["--status", "new", "--status", "open"]), [2, 1]);
    assert_eq!(ids(&["--queue", "web"]), [2]);
    assert_eq!(ids(&["--owner", "ANN@example.org"]), [1]);
    assert_eq!(ids(&["--requestor", "john@example.com"]), [1, 3]);
    assert_eq!(ids(&["--limit", "1"]), [2]);
    let all = desk.json(&["list", "--json"]);
    assert_eq!(all[0]["messages"], 1);
    assert_eq!(all[0]["watchers"], serde_json::json!(["maria@example.net"]));
    assert!(all[0].get("history").is_none());
    let out = desk.output(&["list", "--status", "pending"], b"");
    assert_eq!(out.status.code(), Some(1));
}

// ---------------------------------------------------------------- search

#[test]
fn search_ranks_tickets_and_gives_a_snippet() {
    let desk = Desk::new();
    desk.deliver_raw(
        &mail(
            "john@example.com",
            "s1@x",
            "Mail",
            "",
            "My mail stopped. The printer in the hall works though.\n",
        ),
        SUBMIT,
    );
    desk.deliver_raw(
        &mail(
            "maria@example.net",
            "s2@x",
            "Printer jammed",
            "",
            "The printer says PC LOAD LETTER.\n",
        ),
        SUBMIT,
    );
    desk.deliver_raw(
        &mail("ann@example.net", "s3@x", "Unrelated", "", "nothing here\n"),
        SUBMIT,
    );
    let hits = desk.json(&["search", "--json", "printer"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0]["ticket"], 2, "the subject match ranks first");
    assert_eq!(hits[0]["subject"], "Printer jammed");
    assert_eq!(hits[0]["status"], "new");
    assert_eq!(hits[1]["ticket"], 1);
    assert!(
        hits[1]["snippet"].as_str().unwrap().contains("printer"),
        "{hits:?}"
    );
    let keys: BTreeSet<&str> = hits[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["ticket", "subject", "status", "snippet"])
    );
    // All words must match; a prefix with *.
    assert_eq!(
        desk.json(&["search", "--json", "printer", "hall"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        desk.json(&["search", "--json", "jam*"]).as_array().unwrap()[0]["ticket"],
        2
    );
    // FTS syntax typed by a person is just words.
    assert_eq!(
        desk.json(&["search", "--json", "--", "\"AND", "OR", "-x", "NEAR(", "col:"]),
        serde_json::json!([])
    );
    let text = desk.ok(&["search", "printer"]);
    assert_in_order(&text, &["#2", "Printer jammed", "#1", "Mail", "printer"]);
}

// ---------------------------------------------------------------- attachments

fn with_attachments(names: &[&str]) -> String {
    let mut raw = String::from(
        "From: john@example.com\nTo: submit@help.example.org\nSubject: files\nMessage-ID: <att@x>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nsee attached\n",
    );
    for (i, name) in names.iter().enumerate() {
        raw += &format!(
            "--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; {name}\nContent-Transfer-Encoding: base64\n\n{}\n",
            ["YQ==", "Yg==", "Yw==", "ZA==", "ZQ==", "Zg==", "Zw==", "aA==", "aQ==", "ag=="][i % 10]
        );
    }
    raw + "--B--\n"
}

#[test]
fn attachments_are_listed_and_saved_inside_dir_under_safe_unique_names() {
    let desk = Desk::new();
    let long = "x".repeat(300);
    let names = [
        "filename=\"../../escape.sh\"".to_string(),
        "filename=\"/etc/passwd\"".to_string(),
        "filename*=UTF-8''..%2F..%2Fencoded.txt".to_string(),
        "filename*=UTF-8''nul%00byte.txt".to_string(),
        "filename=\"CON\"".to_string(),
        "filename=\"..\"".to_string(),
        format!("filename=\"{long}.txt\""),
        "filename=\"same.txt\"".to_string(),
        "filename=\"same.txt\"".to_string(),
        "filename=\"C:\\\\Windows\\\\evil.dll\"".to_string(),
    ];
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    desk.deliver_raw(&with_attachments(&refs), SUBMIT);

    let listed = desk.json(&["attachments", "1", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), names.len(), "{listed}");
    assert_eq!(listed[7]["filename"], "same.txt");
    assert_eq!(listed[7]["size"], 1);
    let text = desk.ok(&["attachments", "1"]);
    assert!(text.contains("same.txt"), "{text}");

    let save = desk.path().join("saved");
    std::fs::create_dir(&save).unwrap();
    // A symlink planted at a name the save will want: never written through.
    let outside = desk.path().join("outside.txt");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, save.join("same.txt")).unwrap();
    let before: BTreeSet<String> = entries(desk.path());
    desk.ok(&["attachments", "1", "--save", save.to_str().unwrap()]);
    assert_eq!(
        entries(desk.path()),
        before,
        "something written outside DIR"
    );
    assert!(!outside.exists(), "wrote through a symlink");
    assert!(!Path::new("/etc/escape.sh").exists());

    let saved = entries(&save);
    let expected_some = [
        "escape.sh",
        "passwd",
        "encoded.txt",
        "nul_byte.txt",
        "_CON",
        "evil.dll",
        "same-1.txt",
        "same-2.txt",
    ];
    for name in expected_some {
        assert!(saved.contains(name), "{name} not in {saved:?}");
    }
    assert!(
        saved.iter().any(|n| n.starts_with("attachment-")),
        "{saved:?}"
    );
    assert!(saved.iter().all(|n| n.len() <= 255 && !n.contains('\0')));
    assert!(saved
        .iter()
        .any(|n| n.starts_with("xxxx") && n.ends_with(".txt") && n.len() < 255));
    assert_eq!(std::fs::read(save.join("escape.sh")).unwrap(), b"a");
    // Saving again never overwrites: every file gets a fresh name.
    desk.ok(&["attachments", "1", "--save", save.to_str().unwrap()]);
    assert_eq!(entries(&save).len(), saved.len() + names.len());
}

fn entries(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn attachments_of_fixtures_are_listed_with_their_decoded_names() {
    let desk = Desk::new();
    let out = desk.output(
        &[
            "deliver",
            "--recipient",
            SUBMIT,
            "--sender",
            "x@example.com",
        ],
        &fixture("attachments/mutt-text-attachments.eml"),
    );
    assert!(out.status.success());
    let listed = desk.json(&["attachments", "1", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let save = desk.path().join("out");
    desk.ok(&["attachments", "1", "--save", save.to_str().unwrap()]);
    assert_eq!(entries(&save).len(), 2);
}

// ---------------------------------------------------------------- import

/// The old support mail every import test reads: a thread tagged with the
/// old system's number 501, a reply threaded only by In-Reply-To, a second
/// ticket, a bounce, a broken message and a fixture message.
fn old_mail() -> Vec<(String, Vec<u8>)> {
    let m = |from: &str, id: &str, subject: &str, date: &str, extra: &str, body: &str| {
        format!(
            "From: {from}\nTo: support@help.example.org\nSubject: {subject}\nMessage-ID: <{id}>\nDate: {date}\n{extra}\n{body}"
        )
        .into_bytes()
    };
    vec![
        (
            "john@example.com".into(),
            m(
                "john@example.com",
                "old1@example.com",
                "[myisp #501] Printer broken",
                "Mon, 02 Nov 2026 10:00:00 +0000",
                "",
                "From the office: it is on fire.\n",
            ),
        ),
        (
            STAFF.into(),
            m(
                STAFF,
                "old2@example.org",
                "Re: [myisp #501] Printer broken",
                "Mon, 02 Nov 2026 11:30:00 +0000",
                "",
                "Try water.\n",
            ),
        ),
        (
            "maria@example.net".into(),
            m(
                "maria@example.net",
                "old3@example.net",
                "Mail down",
                "Tue, 03 Nov 2026 09:00:00 +0000",
                "",
                "No mail since Monday.\n",
            ),
        ),
        (
            "maria@example.net".into(),
            m(
                "maria@example.net",
                "old4@example.net",
                "Re: Mail down",
                "Tue, 03 Nov 2026 10:00:00 +0000",
                "In-Reply-To: <old3@example.net>\n",
                "Still down.\n",
            ),
        ),
        (
            "john@example.com".into(),
            // No tag, no References, but the old number in a later subject
            // of a different thread: [myisp #501] again, months later.
            m(
                "john@example.com",
                "old5@example.com",
                "AW: [MyISP  #501] Printer broken",
                "Wed, 04 Nov 2026 09:00:00 +0000",
                "",
                "It burns again.\n",
            ),
        ),
        (
            "MAILER-DAEMON".into(),
            m(
                "Mail Delivery System <MAILER-DAEMON@mx.example.org>",
                "old6@mx.example.org",
                "Undelivered Mail Returned to Sender",
                "Wed, 04 Nov 2026 10:00:00 +0000",
                "",
                "gone\n",
            ),
        ),
        (
            "x@example.com".into(),
            // Broken: header garbage, an unterminated multipart, a NUL.
            b"\xff\xfe: \x00\nContent-Type: multipart/mixed; boundary=\"Q\"\n\n--Q\nContent-Type: text/plain\n\nbroken \x00 body\n"
                .to_vec(),
        ),
        ("x@example.com".into(), fixture("new/mutt-plain.eml")),
    ]
}

fn write_mbox(path: &Path, messages: &[(String, Vec<u8>)]) {
    let mut out = Vec::new();
    for (sender, raw) in messages {
        out.extend_from_slice(format!("From {sender} Mon Nov  2 10:00:00 2026\n").as_bytes());
        for line in raw.split_inclusive(|&b| b == b'\n') {
            // mboxrd quoting, which mail-parser's reader undoes.
            let i = line.iter().position(|&b| b != b'>').unwrap_or(line.len());
            if line[i..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !raw.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

fn write_maildir(path: &Path, messages: &[(String, Vec<u8>)]) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(path.join(sub)).unwrap();
    }
    for (i, (sender, raw)) in messages.iter().enumerate() {
        // Delivery-time names put them in order; some already read.
        let (sub, name) = if i % 2 == 0 {
            ("cur", format!("{}.M{i}P1.host:2,S", 1_762_000_000 + i))
        } else {
            ("new", format!("{}.M{i}P1.host", 1_762_000_000 + i))
        };
        let mut bytes = Vec::new();
        if sender == "MAILER-DAEMON" {
            bytes.extend_from_slice(b"Return-Path: <>\n");
        }
        bytes.extend_from_slice(raw);
        std::fs::write(path.join(sub).join(name), bytes).unwrap();
    }
}

/// What import should have made of `old_mail()`.
fn assert_imported(desk: &Desk) {
    let tickets = desk.json(&["list", "--json"]);
    let subjects: BTreeSet<String> = tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    // Old tag 501 → one ticket; the In-Reply-To reply → the second; the
    // broken message and the fixture → one each. The old number is gone
    // from the subject.
    assert_eq!(tickets.as_array().unwrap().len(), 4, "{tickets}");
    assert!(subjects.contains("Printer broken"), "{subjects:?}");
    assert!(subjects.contains("Mail down"), "{subjects:?}");
    let printer = desk.json(&["show", "1", "--json"]);
    assert_eq!(printer["subject"], "Printer broken");
    assert_eq!(printer["requestor"], "john@example.com");
    assert_eq!(
        printer["created"], "2026-11-02T10:00:00Z",
        "dated as written"
    );
    let kinds: Vec<&str> = printer["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create", "correspond", "status", "correspond"]);
    assert_eq!(printer["history"][3]["body"], "It burns again.\n");
    assert_eq!(printer["status"], "open", "a staff reply opened it");
    let mail = desk.json(&["show", "2", "--json"]);
    assert_eq!(mail["subject"], "Mail down");
    assert_eq!(mail["history"].as_array().unwrap().len(), 2);
    assert_eq!(desk.count("SELECT count(*) FROM messages"), 8);
    assert_eq!(
        desk.count("SELECT count(*) FROM messages WHERE ticket_id IS NULL"),
        1,
        "the bounce is kept without a ticket"
    );
    assert_eq!(desk.count("SELECT count(*) FROM outbox"), 0, "no mail");
    assert!(!desk.path().join("outbox").exists());
}

fn import(desk: &Desk, path: &Path) -> Value {
    desk.json(&["import", "--json", path.to_str().unwrap()])
}

#[test]
fn import_of_an_mbox_threads_by_old_tag_then_references_and_runs_twice_safely() {
    let desk = Desk::new();
    let mbox = desk.path().join("old.mbox");
    write_mbox(&mbox, &old_mail());
    let first = import(&desk, &mbox);
    assert_eq!(first["messages"], 8, "{first}");
    assert_eq!(first["created"], 4, "{first}");
    assert_eq!(first["added"], 3, "{first}");
    assert_eq!(first["bounces"], 1, "{first}");
    assert_eq!(first["skipped"], 0, "{first}");
    assert_imported(&desk);

    let shown = desk.ok(&["show", "1"]);
    let listed = desk.ok(&["list", "--json"]);
    let second = import(&desk, &mbox);
    assert_eq!(second["duplicates"], 8, "{second}");
    assert_eq!(second["created"], 0, "{second}");
    assert_eq!(desk.ok(&["show", "1"]), shown);
    assert_eq!(desk.ok(&["list", "--json"]), listed);
    assert_eq!(desk.count("SELECT count(*) FROM messages"), 8);
    assert_eq!(desk.count("SELECT count(*) FROM history"), 8);
}

#[test]
fn import_of_a_maildir_gives_the_same_tickets() {
    let desk = Desk::new();
    let maildir = desk.path().join("Maildir");
    write_maildir(&maildir, &old_mail());
    let first = import(&desk, &maildir);
    assert_eq!(first["messages"], 8, "{first}");
    assert_imported(&desk);
    let second = import(&desk, &maildir);
    assert_eq!(second["duplicates"], 8, "{second}");
    assert_eq!(desk.count("SELECT count(*) FROM messages"), 8);
}

#[test]
fn import_says_in_one_line_what_it_did_and_maps_new_mail_to_imported_tickets() {
    let desk = Desk::new();
    let mbox = desk.path().join("old.mbox");
    write_mbox(&mbox, &old_mail()[..2]);
    let out = desk.output(&["import", mbox.to_str().unwrap()], b"");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("imported 2 messages from ") && stdout.contains(": 1 new ticket, "),
        "{stdout}"
    );
    assert!(out.stderr.is_empty(), "no progress bar without a terminal");
    // Mail arriving afterwards threads onto the imported ticket.
    let o = desk.deliver_raw(
        &mail(
            "john@example.com",
            "new1@example.com",
            "Re: Printer broken",
            "References: <old1@example.com>\n",
            "still?\n",
        ),
        SUBMIT,
    );
    assert_eq!(o["action"], "correspond");
    assert_eq!(o["ticket"], 1);
}

#[test]
fn import_refuses_a_folder_that_is_not_a_maildir() {
    let desk = Desk::new();
    std::fs::create_dir(desk.path().join("empty")).unwrap();
    let out = desk.output(
        &["import", desk.path().join("empty").to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Maildir"));
}

// ---------------------------------------------------------------- stats

#[test]
fn stats_count_by_status_and_queue_with_the_median_first_reply() {
    let desk = Desk::new();
    let mbox = desk.path().join("old.mbox");
    write_mbox(&mbox, &old_mail()[..4]);
    import(&desk, &mbox);
    desk.deliver_raw(
        &mail("peter@example.de", "w1@x", "Site down", "", "500\n"),
        "webmaster@help.example.org",
    );
    let s = desk.json(&["stats", "--json"]);
    assert_eq!(s["tickets"], 3, "{s}");
    assert_eq!(s["by_status"]["new"], 2, "{s}");
    assert_eq!(s["by_status"]["open"], 1, "{s}");
    assert_eq!(s["by_queue"]["web"]["new"], 1, "{s}");
    assert_eq!(s["by_queue"]["general"]["open"], 1, "{s}");
    assert_eq!(s["answered"], 1, "{s}");
    assert_eq!(s["median_first_reply_secs"], 5400, "1 h 30 min: {s}");
    assert!(s["new_this_week"].as_i64().unwrap() >= 1, "{s}");
    let text = desk.ok(&["stats"]);
    assert_in_order(
        &text,
        &[
            "3 tickets",
            "median time to first staff reply: 1h 30m",
            "web",
        ],
    );
}

// ---------------------------------------------------------------- completions, man

#[test]
fn completions_and_man_page_come_from_the_command_line_definitions() {
    let desk = Desk::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = desk.ok(&["completions", shell]);
        assert!(out.contains("pipedesk"), "{shell}");
        assert!(out.contains("import"), "{shell}");
    }
    let out = desk.output(&["completions", "tcsh"], b"");
    assert_eq!(out.status.code(), Some(64));
    let man = desk.ok(&["man"]);
    assert!(man.contains(".TH pipedesk 1"), "{man}");
    assert!(man.contains("attachments"), "{man}");
    let dir = desk.path().join("man");
    desk.ok(&["man", "--dir", dir.to_str().unwrap()]);
    let pages = entries(&dir);
    for page in ["pipedesk.1", "pipedesk-import.1", "pipedesk-show.1"] {
        assert!(pages.contains(page), "{pages:?}");
    }
    // Neither needs a configuration or a database.
    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .env("PIPEDESK_CONFIG", "/nonexistent/pipedesk.toml")
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn import_skips_an_empty_message_with_a_warning_and_goes_on() {
    let desk = Desk::new();
    let mbox = desk.path().join("old.mbox");
    let mut messages = vec![("nobody@example.com".to_string(), b"\n".to_vec())];
    messages.extend(old_mail().into_iter().take(1));
    write_mbox(&mbox, &messages);
    let out = desk.output(&["import", "--json", mbox.to_str().unwrap()], b"");
    assert!(out.status.success());
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["skipped"], 1, "{summary}");
    assert_eq!(summary["created"], 1, "{summary}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("pipedesk: skipped a message in ") && stderr.contains("empty message"),
        "{stderr}"
    );
}

#[test]
fn import_of_several_mailboxes_in_one_run_keeps_old_numbers_across_them() {
    let desk = Desk::new();
    let mail = old_mail();
    let (mbox, maildir) = (desk.path().join("2025.mbox"), desk.path().join("Maildir"));
    write_mbox(&mbox, &mail[..2]);
    write_maildir(&maildir, &mail[2..]);
    let out = desk.ok(&["import", mbox.to_str().unwrap(), maildir.to_str().unwrap()]);
    assert!(
        out.starts_with("imported 8 messages from 2 mailboxes"),
        "{out}"
    );
    assert_imported(&desk);
}
