//! Hostile mail: whatever the internet sends, `deliver` stores it (exit 0,
//! byte-exact) or refuses it with 65 and one clear line; never a panic or a
//! signal, within seconds and bounded memory. Text from mail never reaches
//! a terminal unescaped, no header from incoming mail adds a header or a
//! recipient to outgoing mail, and a forged staff From: gains nothing when
//! `policy.trusted_authserv_id` is set (SPEC §3, §4).
//!
//! The desk is the harness's (`tests/common`): a temp folder with a config,
//! the real binary, and the database opened directly to see what was stored
//! and queued (SQLite here, PostgreSQL in `tests/pg_hostile.rs`).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::bounded::{self, Ended};
use common::store::P;
use common::{Desk, ADMIN};

/// Upper bound for one hostile message: "within seconds", with room for a
/// slow debug build on a busy CI machine. Not a speed assertion.
const BOUND: Duration = Duration::from_secs(60);
/// Address-space limit (KiB) for a delivery: far above what a 50 MB
/// message needs, far below what a parser blow-up would take.
const MEMORY_KIB: u64 = 1536 * 1024;

/// A desk of the harness as this suite had it: site `pipedesk`, admin
/// stef@ and no other staff, `policy` lines for the [policy] section.
fn desk(policy: &str) -> Desk {
    Desk::with_config(&format!(
        "[site]\nname = \"pipedesk\"\n[staff]\nmembers = []\n[policy]\n{policy}\n"
    ))
}

/// What this suite asks of the harness's desk: runs bounded in time and
/// memory, and what they stored and queued.
trait Hostile {
    fn run_bounded(&self, args: &[&str], stdin: &[u8]) -> Ended;
    fn deliver_to(&self, rcpt: &str, raw: &[u8]) -> Ended;
    fn copies(&self, raw: &[u8]) -> i64;
    fn outbox_files(&self) -> Vec<PathBuf>;
}

impl Hostile for Desk {
    fn run_bounded(&self, args: &[&str], stdin: &[u8]) -> Ended {
        // The address-space limit makes "bounded memory" an assertion: a
        // blow-up fails the allocation, and the test sees a signal or 75.
        let mut cmd = self.command_after(&format!("ulimit -v {MEMORY_KIB}"));
        cmd.args(args);
        bounded::run(cmd, stdin, BOUND * 2)
    }

    fn deliver_to(&self, rcpt: &str, raw: &[u8]) -> Ended {
        self.run_bounded(&["deliver", "--json", "--recipient", rcpt], raw)
    }

    fn copies(&self, raw: &[u8]) -> i64 {
        self.db()
            .count("SELECT count(*) FROM messages WHERE raw = ?1", &[P::B(raw)])
    }

    fn outbox_files(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.path().join("outbox")) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// What a hostile message must lead to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Stored,
    Refused,
}

/// The ticket `deliver --json` reports.
fn ticket_of(out: &Ended) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["ticket"].as_i64()
}

/// Delivers `raw` to submit@ and holds the outcome to the contract: the
/// expected exit, one clear line on a refusal, no panic, no signal, within
/// the bound; a stored message is stored byte-exact (without an mbox `From `
/// line) exactly once. Returns the ticket.
fn hostile(desk: &Desk, name: &str, raw: &[u8], expect: Expect) -> Option<i64> {
    let out = desk.deliver_to("submit@help.example.org", raw);
    eprintln!(
        "{name}: {} bytes, exit {:?} in {:?}{}",
        raw.len(),
        out.code,
        out.took,
        if out.stderr.is_empty() {
            String::new()
        } else {
            format!(": {}", out.stderr.trim())
        }
    );
    assert!(
        !out.stderr.contains("internal error"),
        "{name}: panicked: {}",
        out.stderr
    );
    assert!(out.code.is_some(), "{name}: killed by a signal");
    assert!(out.took < BOUND, "{name}: took {:?}", out.took);
    match expect {
        Expect::Stored => {
            out.assert_code(0, name);
            let body = raw
                .strip_prefix(b"From ")
                .map(|rest| match rest.iter().position(|&b| b == b'\n') {
                    Some(nl) => &rest[nl + 1..],
                    None => &[][..],
                })
                .unwrap_or(raw);
            assert_eq!(desk.copies(body), 1, "{name}: stored byte-exact, once");
            ticket_of(&out)
        }
        Expect::Refused => {
            out.assert_code(65, name);
            assert!(
                out.stderr.starts_with("pipedesk: ") && out.stderr.trim_end().lines().count() == 1,
                "{name}: one clear line, got {:?}",
                out.stderr
            );
            assert_eq!(desk.copies(raw), 0, "{name}: refused but stored");
            None
        }
    }
}

fn msg(id: &str, headers: &str, body: &str) -> Vec<u8> {
    format!("From: Someone <someone-{id}@example.com>\r\nMessage-ID: <{id}@example.com>\r\n{headers}\r\n{body}")
        .into_bytes()
}

/// A byte that would act on a terminal: C0 controls (but newline and tab),
/// DEL, C1 controls, bidi overrides.
fn terminal_control(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// `show` of every ticket, as a person reads it: exit 0 and nothing that
/// would act on the terminal.
fn show_is_clean(desk: &Desk, ticket: i64, name: &str) {
    let out = desk.run_bounded(&["show", &ticket.to_string()], b"");
    out.assert_code(0, &format!("show {ticket} ({name})"));
    assert!(
        out.took < BOUND,
        "show {ticket} ({name}) took {:?}",
        out.took
    );
    let text = out.text();
    if let Some(c) = terminal_control(&text) {
        panic!("show {ticket} ({name}) prints raw {c:?}:\n{text}");
    }
}

#[test]
fn garbage_is_stored_or_refused_never_a_panic() {
    let desk = desk("max_message_bytes = 100000000");
    let mut cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "NUL bytes",
            b"From: nul\0user@example.com\r\nSubject: a\0b\r\nMessage-ID: <nul\0@x>\r\n\r\nbody\0\0with NULs\0"
                .to_vec(),
            Expect::Stored,
        ),
        (
            "no header at all",
            b"just some words, no colon, no header\nand a second line\n".to_vec(),
            Expect::Stored,
        ),
        (
            "blank line first, then a body",
            b"\r\nbody without any header\r\n".to_vec(),
            Expect::Stored,
        ),
        (
            "headers only, no body, no final newline",
            b"From: headers@example.com\r\nSubject: headers only\r\nMessage-ID: <headers-only@x>".to_vec(),
            Expect::Stored,
        ),
        (
            "8-bit garbage in headers",
            b"From: \xff\xfe\xc3\x28 <\xe9t\xe9@example.com>\r\nSubject: \x80\x81\xc0\xaf\xed\xa0\x80\xf8\x88\x80\x80\x80\r\n\
              X-\xff\xfe: \xc3\x28\r\n\xc3\xa9t\xc3\xa9: ok\r\nMessage-ID: <\xff8bit@x>\r\n\r\nbody \xff\r\n"
                .to_vec(),
            Expect::Stored,
        ),
        (
            "50 000 header lines",
            msg(
                "many-headers",
                &(0..50_000).map(|i| format!("X-Header-{i}: value {i}\r\n")).collect::<String>(),
                "body\r\n",
            ),
            Expect::Stored,
        ),
        (
            "5 000 nested multiparts",
            msg(
                "nested",
                "MIME-Version: 1.0\r\n",
                &(0..5_000)
                    .map(|i| format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"))
                    .collect::<String>(),
            )
            .into_iter()
            .chain(b"\r\ninnermost\r\n".iter().copied())
            .collect(),
            Expect::Stored,
        ),
        (
            "10 000 sibling parts",
            msg(
                "siblings",
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"s\"\r\n",
                &(0..10_000)
                    .map(|i| format!("--s\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f{i}.bin\"\r\n\r\nx\r\n"))
                    .collect::<String>(),
            ),
            Expect::Stored,
        ),
        (
            "invalid base64 and quoted-printable",
            msg(
                "badcte",
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n",
                "--q\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                 bad =ZZ =\r\n=4 =C3= =\r\n=\r\n\
                 --q\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                 !!!!not base64 at all====@@@@\r\nw6k\r\n====\r\n\
                 --q\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
                 JVBERi0xLjQK%%%%*****\r\n\
                 --q\r\nContent-Type: text/plain; charset=x-no-such-charset\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n\
                 begin 644 x\r\n--q--\r\n",
            ),
            Expect::Stored,
        ),
        (
            "encoded-words split mid-character",
            msg(
                "split-ew",
                "Subject: =?UTF-8?B?w?= =?UTF-8?B?qQ==?= caf=?utf-8?q?=C3?= =?utf-8?q?=A9?= \
                 =?shift_jis?B?gg==?= =?UTF-8?B?8J+Y?= =?UTF-8?Q?=80?= =?UTF-8?X?bogus?= =?\r\n\
                 X-Name: =?utf-8?b?AAAA?=\r\n",
                "body\r\n",
            ),
            Expect::Stored,
        ),
        (
            "a leading mbox From line",
            b"From sender@example.com Sun Nov 22 05:00:00 2026\nFrom: mbox@example.com\nSubject: mbox\n\
              Message-ID: <mbox@x>\n\n>From the body, quoted\nFrom the body, not quoted\n"
                .to_vec(),
            Expect::Stored,
        ),
        (
            // Reaches a debug assertion in mail-parser 0.11.9 ("Invalid part
            // ID"); found by fuzz/. Was exit 75 forever in a debug build.
            "a report whose parts mail-parser loses track of",
            b".\xff\xff\xff\xffg>\nContent-Type:multipart; boundary=1795517461-eximdsn-1714636915\nVers2\n\n\xff.\n\
              --1795517461-eximdsn-1714636915--\nContent-type:message/rfc822\n\nContent-type: message/rfc822\n\nR.\n\n\
              --1795517461-eximdsn-1714636915--\n"
                .to_vec(),
            Expect::Stored,
        ),
        ("empty input", Vec::new(), Expect::Refused),
        ("only white space", b"\r\n\r\n \t\r\n".to_vec(), Expect::Refused),
        (
            "only an mbox From line",
            b"From sender@example.com Sun Nov 22 05:00:00 2026\n".to_vec(),
            Expect::Refused,
        ),
        (
            "a 1 MB Subject line",
            msg("long-subject", &format!("Subject: {}\r\n", "spam ".repeat(200_000)), "x\r\n"),
            Expect::Stored,
        ),
        (
            "a single 10 MB line",
            msg("ten-mb-line", "Subject: one line\r\n", &"x".repeat(10 * 1024 * 1024)),
            Expect::Stored,
        ),
    ];
    // A 50 MB attachment (67 MB as base64), under this desk's 100 MB limit.
    let mut big = msg(
        "fifty-mb",
        "Subject: big attachment\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n",
        "--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n\
         Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    let line = b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n";
    for _ in 0..(50_000_000 / 57 + 1) {
        big.extend_from_slice(line);
    }
    big.extend_from_slice(b"--B--\r\n");
    cases.push(("a 50 MB attachment", big, Expect::Stored));
    // Random bytes, as from a broken client.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    cases.push(("1 MB of random bytes", noise, Expect::Stored));

    let mut tickets = Vec::new();
    for (name, raw, expect) in &cases {
        if let Some(t) = hostile(&desk, name, raw, *expect) {
            tickets.push((t, *name));
        }
    }
    // What was stored can be read back, escaped, without a panic.
    for (t, name) in &tickets {
        show_is_clean(&desk, *t, name);
    }
    let out = desk.run_bounded(&["list"], b"");
    out.assert_code(0, "list");
    assert_eq!(
        terminal_control(&out.text()),
        None,
        "list prints raw controls"
    );
    desk.run_bounded(&["check"], b"").assert_code(0, "check");
}

#[test]
fn max_message_bytes_is_exact() {
    // The default limit, 50 MiB: one byte more is refused with a line that
    // says why; the limit itself is stored.
    let desk = desk("");
    let limit = 52_428_800usize;
    // A binary body (base64 lines), so that the size is what is tested,
    // not full-text indexing of 50 MB of text.
    let sized = |id: &str, n: usize| {
        let mut m = msg(
            id,
            "Subject: at the limit\r\nContent-Type: application/octet-stream\r\n\
             Content-Transfer-Encoding: base64\r\n",
            "",
        );
        let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
        while m.len() < n {
            m.extend_from_slice(line);
        }
        m.truncate(n);
        m
    };
    let over = sized("over", limit + 1);
    let out = desk.deliver_to("submit@help.example.org", &over);
    out.assert_code(65, "one byte over max_message_bytes");
    assert!(
        out.stderr.starts_with("pipedesk: ") && out.stderr.contains("max_message_bytes"),
        "{}",
        out.stderr
    );
    assert!(
        !desk.has_database() || desk.copies(&over) == 0,
        "refused but stored"
    );
    hostile(
        &desk,
        "exactly max_message_bytes",
        &sized("at", limit),
        Expect::Stored,
    );
}

/// Every control character a terminal acts on, in every place mail text
/// reaches `show`: subject, author name, body, attachment name.
#[test]
fn show_escapes_terminal_controls_from_mail() {
    let desk = desk("");
    let raw = b"From: =?utf-8?q?Evil=1B]0;pwned=07_Name?= <evil@example.com>\r\n\
        Subject: =?utf-8?q?hi=1B[2J=1B[31mred=07=E2=80=AEtxt.exe=0Dover?=\r\n\
        Message-ID: <escape@x>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"E\"\r\n\r\n\
        --E\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        body =1B[1;31mbold red=1B[0m, a bell =07, a C1 =C2=9B6n, backspace=08=08, \
        DEL =7F, NUL =00, CR=0Doverwrite, RLO =E2=80=AE=\r\n\
        \r\n--E\r\nContent-Type: text/plain; name=\"=?utf-8?q?a=1B[8mhidden.txt?=\"\r\n\
        Content-Disposition: attachment; filename=\"=?utf-8?q?a=1B[8mhidden.txt?=\"\r\n\r\nx\r\n--E--\r\n";
    let t = hostile(&desk, "terminal controls", raw, Expect::Stored).expect("a ticket");
    show_is_clean(&desk, t, "terminal controls");
    // The text is shown (escaped), not dropped.
    let text = desk.run_bounded(&["show", &t.to_string()], b"").text();
    assert!(text.contains("bold red"), "{text}");
    // Every other command that prints mail text for a person.
    let id = t.to_string();
    for args in [&["list"][..], &["search", "bell"], &["attachments", &id]] {
        let out = desk.run_bounded(args, b"");
        out.assert_code(0, &args.join(" "));
        assert!(
            out.text().contains("#1") || out.text().contains(" 1 "),
            "{args:?} found the ticket:\n{}",
            out.text()
        );
        if let Some(c) = terminal_control(&out.text()) {
            panic!("{} prints raw {c:?}:\n{}", args.join(" "), out.text());
        }
    }
    // JSON carries the text as data; serde escapes controls.
    let out = desk.run_bounded(&["show", &t.to_string(), "--json"], b"");
    out.assert_code(0, "show --json");
    assert!(!out.stdout.contains(&0x1b), "show --json prints a raw ESC");
}

/// Every header of an outgoing mail, the top-level ones and those of its
/// MIME parts, unfolded, as (name, value). Bodies are skipped: text there
/// is text, whatever it looks like.
fn headers_of(raw: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_headers = true;
    for line in raw.split("\r\n") {
        if !in_headers {
            // A boundary line starts a part, and the part's headers.
            in_headers = line.starts_with("--") && !line.trim_end().ends_with("--");
            continue;
        }
        if line.is_empty() {
            in_headers = false;
        } else if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
        } else {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            out.push((name.to_ascii_lowercase(), value.to_string()));
        }
    }
    out
}

#[test]
fn no_header_from_incoming_mail_adds_a_header_or_recipient_to_outgoing_mail() {
    let desk = desk("");
    // CR/LF hidden in encoded-words, in folded headers and in bare CRs,
    // aimed at each value that outgoing mail repeats.
    let open = b"From: =?utf-8?q?John=0D=0ABcc:_evil1@attacker.example=0D=0AX-Injected:_1?= <john@example.com>\r\n\
        Subject: =?utf-8?q?help=0D=0ABcc:_evil2@attacker.example=0A=0AX-Injected:_2?=\r\n\
        Message-ID: <open\r\n Bcc: evil3@attacker.example@x>\r\n\
        References: <r1@x>\r\n\tX-Injected: 3\r\n <r2@x\rBcc:evil4@attacker.example>\r\n\
        Bcc: evil5@attacker.example\r\nReply-To: evil6@attacker.example\r\n\
        Return-Path: <evil7@attacker.example>\r\n\r\nplease help\r\n";
    let t = hostile(&desk, "injection: opening message", open, Expect::Stored).expect("ticket");
    // A staff reply is relayed to the requestor: its subject, author name and
    // attachments end up in our headers.
    let reply = format!(
        "From: =?utf-8?q?Stef=0D=0ABcc:_evil8@attacker.example?= <{ADMIN}>\r\n\
         To: ticket-{t}@help.example.org\r\nCc: evil9@attacker.example\r\n\
         Bcc: evil10@attacker.example\r\n\
         Subject: =?utf-8?q?Re:_fixed=0D=0AX-Injected:_4?=\r\nMessage-ID: <staff-reply@x>\r\n\
         In-Reply-To: <x@y>\r\n\tX-Injected: 5\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"R\"\r\n\r\n\
         --R\r\nContent-Type: text/plain\r\n\r\ndone\r\n\
         --R\r\nContent-Type: text/plain; name=\"=?utf-8?q?log=0D=0AX-Injected:_6.txt?=\"\r\n\
         Content-Disposition: attachment; filename=\"=?utf-8?q?log=0D=0ABcc:_evil11@attacker.example?=\"\r\n\r\n\
         log\r\n--R--\r\n"
    );
    let out = desk.deliver_to(&format!("ticket-{t}@help.example.org"), reply.as_bytes());
    out.assert_code(0, "staff reply");

    let allowed = [
        "from",
        "reply-to",
        "subject",
        "message-id",
        "date",
        "to",
        "cc",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-loop",
        "x-auto-response-suppress",
        "thread-topic",
        "thread-index",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
    ];
    let mut mails = 0;
    for path in desk.outbox_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let name = path.display();
        if path.extension().is_some_and(|e| e == "json") {
            // The envelope: only the requestor and staff.
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            for to in v["forward_path"].as_array().unwrap() {
                let to = to.as_str().unwrap();
                assert!(
                    to == "john@example.com" || to == ADMIN,
                    "{name}: envelope recipient {to}"
                );
            }
            continue;
        }
        mails += 1;
        for (header, value) in headers_of(&text) {
            assert!(
                allowed.contains(&header.as_str()),
                "{name}: unexpected header {header}:{value}\n{text}"
            );
            if matches!(header.as_str(), "to" | "cc") {
                assert!(!value.contains("attacker"), "{name}: {header}:{value}");
            }
        }
    }
    assert!(
        mails >= 3,
        "autoreply, admin notice and staff reply: {mails}"
    );
    let relayed: i64 = desk.db().count(
        "SELECT count(*) FROM outbox WHERE kind = 'staff_reply' AND state = 'sent'",
        &[],
    );
    assert_eq!(relayed, 1, "the staff reply was relayed");
}

const AUTHSERV: &str = "mx.help.example.org";

/// What one message from the admin's address achieved on a fresh ticket.
#[derive(Debug, PartialEq)]
struct Staffness {
    relayed_as_staff: bool,
    comment_kept_from_requestor: bool,
    closed: bool,
}

/// Opens a ticket from john@example.com, then sends from stef@example.org
/// (staff) with `auth` as the Authentication-Results headers, topmost
/// first: a reply, a comment and a close.
fn staff_attempt(auth: &[&str]) -> Staffness {
    staff_attempt_from(auth, &format!("From: Stef <{ADMIN}>\r\n"))
}

/// `staff_attempt` with the given From: header lines.
fn staff_attempt_from(auth: &[&str], from: &str) -> Staffness {
    let desk = desk(&format!(
        "trusted_authserv_id = \"{AUTHSERV}\"\nclose_from = \"staff\"\nstaff_mail = \"authenticated\""
    ));
    let open =
        b"From: john@example.com\r\nSubject: printer\r\nMessage-ID: <open@x>\r\n\r\nbroken\r\n";
    desk.deliver_to("submit@help.example.org", open)
        .assert_code(0, "open");
    let ar: String = auth
        .iter()
        .map(|a| format!("Authentication-Results: {a}\r\n"))
        .collect();
    let send = |rcpt: &str, id: &str| {
        // The MTA's own Received and Authentication-Results come first, as
        // an MTA prepends them; anything the sender wrote follows.
        let raw = format!(
            "Received: from mail.example.org by {AUTHSERV}; Sun, 22 Nov 2026 05:00:00 +0000\r\n\
             {ar}{from}To: {rcpt}\r\nSubject: Re: [pipedesk #1] printer\r\n\
             Message-ID: <{id}@example.org>\r\nDKIM-Signature: v=1; d=example.org; s=s1; b=forged\r\n\r\n\
             text from {id}\r\n"
        );
        desk.deliver_to(rcpt, raw.as_bytes())
            .assert_code(0, &format!("deliver {id}"));
    };
    let db = || desk.db();
    let staff_replies = || -> i64 {
        db().count(
            "SELECT count(*) FROM outbox WHERE kind = 'staff_reply'",
            &[],
        )
    };
    send("ticket-1@help.example.org", "reply");
    let relayed_as_staff = staff_replies() > 0;
    send("ticket-1-comment@help.example.org", "comment");
    let comment_kind: String = db().texts(
        "SELECT h.kind FROM history h JOIN messages m ON h.message = m.id \
         WHERE m.message_id = 'comment@example.org'",
        &[],
    )[0]
    .clone();
    // A comment from staff goes to staff only; from outside staff it is
    // plain correspondence, never passed on to the requestor.
    assert_eq!(
        staff_replies(),
        i64::from(relayed_as_staff),
        "a comment was relayed to the requestor"
    );
    send("ticket-1-done@help.example.org", "close");
    let status: String = db().texts("SELECT status FROM tickets WHERE id = 1", &[])[0].clone();
    let refusals: i64 = db().count(
        "SELECT count(*) FROM history WHERE kind = 'note' AND note LIKE 'close refused%'",
        &[],
    );
    assert_eq!(refusals, i64::from(status != "resolved"), "refusal noted");
    desk.run_bounded(&["check"], b"").assert_code(0, "check");
    Staffness {
        relayed_as_staff,
        comment_kept_from_requestor: comment_kind == "comment",
        closed: status == "resolved",
    }
}

const STAFF: Staffness = Staffness {
    relayed_as_staff: true,
    comment_kept_from_requestor: true,
    closed: true,
};
const OUTSIDER: Staffness = Staffness {
    relayed_as_staff: false,
    comment_kept_from_requestor: false,
    closed: false,
};

#[test]
fn staff_from_with_dmarc_pass_acts_as_staff() {
    let pass = format!("{AUTHSERV}; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org");
    assert_eq!(staff_attempt(&[&pass]), STAFF);
}

#[test]
fn staff_from_with_aligned_dkim_pass_acts_as_staff() {
    let dkim = format!("{AUTHSERV}; dkim=pass header.d=example.org header.s=s1");
    assert_eq!(staff_attempt(&[&dkim]), STAFF);
}

#[test]
fn forged_staff_from_with_dmarc_fail_is_an_outsider() {
    let fail = format!("{AUTHSERV}; spf=fail smtp.mailfrom=example.org; dkim=fail header.d=example.org; dmarc=fail header.from=example.org");
    assert_eq!(staff_attempt(&[&fail]), OUTSIDER);
}

#[test]
fn forged_staff_from_without_authentication_results_is_an_outsider() {
    assert_eq!(staff_attempt(&[]), OUTSIDER);
}

#[test]
fn forged_staff_from_with_unaligned_dkim_pass_is_an_outsider() {
    let unaligned = format!("{AUTHSERV}; dkim=pass header.d=attacker.example; dmarc=none");
    assert_eq!(staff_attempt(&[&unaligned]), OUTSIDER);
}

#[test]
fn a_pass_from_another_host_is_ignored() {
    // Only our MTA's authserv-id counts; the sender can write any other.
    assert_eq!(
        staff_attempt(&["mx.attacker.example; dmarc=pass header.from=example.org"]),
        OUTSIDER
    );
    let ours_fail = format!("{AUTHSERV}; dmarc=fail header.from=example.org");
    assert_eq!(
        staff_attempt(&[
            &ours_fail,
            "mx.attacker.example; dkim=pass header.d=example.org; dmarc=pass",
        ]),
        OUTSIDER
    );
}

#[test]
fn a_forged_pass_below_our_mtas_own_header_is_ignored() {
    // Our MTA prepends its verdict; the sender's forged one, with our
    // authserv-id, sits below it.
    let ours = format!("{AUTHSERV}; dmarc=fail header.from=example.org");
    let forged =
        format!("{AUTHSERV}; dkim=pass header.d=example.org; dmarc=pass header.from=example.org");
    assert_eq!(staff_attempt(&[&ours, &forged]), OUTSIDER);
}

#[test]
fn a_pass_for_another_from_domain_does_not_make_a_second_from_staff() {
    // Eve passes DMARC for her own domain, then adds a second From: with
    // the admin's address; the verifier and pipedesk may read different
    // ones. The pass names header.from=evil.example: not the author's.
    let hers =
        format!("{AUTHSERV}; dkim=pass header.d=evil.example; dmarc=pass header.from=evil.example");
    assert_eq!(
        staff_attempt_from(
            &[&hers],
            &format!("From: eve@evil.example\r\nFrom: Stef <{ADMIN}>\r\n")
        ),
        OUTSIDER
    );
    assert_eq!(
        staff_attempt_from(
            &[&hers],
            &format!("From: Stef <{ADMIN}>\r\nFrom: eve@evil.example\r\n")
        ),
        OUTSIDER
    );
    assert_eq!(
        staff_attempt_from(
            &[&hers],
            &format!("From: eve@evil.example, Stef <{ADMIN}>\r\n")
        ),
        OUTSIDER
    );
}
