//! `pipedesk deliver` (SPEC §3) through the real binary: the fixture corpus
//! driven by `fixtures/MANIFEST.toml`, then one test per routing rule, exit
//! code and promise, each run with LF and CRLF line endings where the
//! message is what matters.

mod common;

use common::*;
use serde_json::{json, Value};

/// `deliver --json`'s report, minus the mail count.
fn action(run: &Run) -> (String, Value, bool) {
    let v = run.json();
    (
        v["action"].as_str().unwrap_or("?").to_string(),
        v["ticket"].clone(),
        v["reopened"].as_bool().expect("reopened is a bool"),
    )
}

fn status(desk: &Desk, n: i64) -> String {
    desk.show(n)["status"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------- the corpus

mod corpus {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// `fixtures/MANIFEST.toml` (described in its header): every fixture is
    /// delivered on its own into a fresh desk, after `ticket_1_opener` when
    /// it needs ticket 1.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Manifest {
        ticket_1_opener: String,
        ticket_1_opener_message_id: String,
        config: String,
        fixture: Vec<Fixture>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Fixture {
        path: String,
        what: String,
        recipient: String,
        sender: String,
        needs_ticket: bool,
        #[serde(default)]
        exit: i32,
        stderr_contains: Option<String>,
        action: Option<String>,
        ticket: Option<i64>,
        queue: Option<String>,
        requestor: Option<String>,
        watchers: Option<Vec<String>>,
        subject: Option<String>,
        from: Option<String>,
        is_staff: Option<bool>,
        autoreply: bool,
        body_contains: Option<String>,
        attachments: Option<Vec<String>>,
        attachment_sizes: Option<BTreeMap<String, usize>>,
    }

    fn manifest() -> Manifest {
        let text = std::fs::read_to_string(fixtures().join("MANIFEST.toml"))
            .expect("fixtures/MANIFEST.toml");
        toml::from_str(&text).expect("MANIFEST.toml parses")
    }

    #[test]
    fn every_fixture_routes_as_the_manifest_says() {
        let manifest = manifest();
        assert_eq!(manifest.config, "pipedesk.toml");
        assert!(manifest.fixture.len() > 50, "the corpus went missing");
        let jobs: Vec<(Eol, &Fixture)> = Eol::BOTH
            .iter()
            .flat_map(|&eol| manifest.fixture.iter().map(move |f| (eol, f)))
            .collect();
        // Each fixture gets its own desk, so they run side by side; the
        // runs mostly wait for fsync, so more threads than cores pay off.
        let threads = 2 * std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(4);
        let failures: Vec<String> = std::thread::scope(|s| {
            let chunks: Vec<_> = jobs
                .chunks(jobs.len().div_ceil(threads))
                .map(|chunk| {
                    let m = &manifest;
                    s.spawn(move || {
                        chunk
                            .iter()
                            .flat_map(|(eol, f)| check(m, *eol, f))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            chunks.into_iter().flat_map(|c| c.join().unwrap()).collect()
        });
        assert!(
            failures.is_empty(),
            "{} of {} fixture runs differ from MANIFEST.toml:\n\n{}",
            failures.len(),
            jobs.len(),
            failures.join("\n\n")
        );
    }

    /// Delivers one fixture and returns what differs from the manifest.
    fn check(m: &Manifest, eol: Eol, f: &Fixture) -> Vec<String> {
        let mut desk = Desk::new();
        desk.eol = eol;
        let mut wrong = Vec::new();
        let mut expect = |what: &str, want: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
            let (w, g) = (format!("{want:?}"), format!("{got:?}"));
            if w != g {
                wrong.push(format!("  {what}: manifest {w}, got {g}"));
            }
        };
        if f.needs_ticket {
            let run = desk.deliver(SUBMIT, JOHN, &fixture(&m.ticket_1_opener));
            let opened = (run.code == 0).then(|| run.json());
            expect(
                "the opener",
                &Some(json!(1)),
                &opened.map(|o| o["ticket"].clone()),
            );
            let shown = desk.show(1);
            expect(
                "the opener's Message-ID",
                &m.ticket_1_opener_message_id,
                &shown["history"][0]["message_id"].as_str().unwrap_or(""),
            );
            desk.clear_mail();
        }
        let run = desk.deliver(&f.recipient, &f.sender, &fixture(&f.path));
        expect("exit", &f.exit, &run.code);
        if let Some(s) = &f.stderr_contains {
            expect(
                &format!("stderr contains {s:?}"),
                &true,
                &run.stderr.contains(s.as_str()),
            );
        }
        let mails = desk.take_mail();
        let autoreplies = mails
            .iter()
            .filter(|x| x.headers("Auto-Submitted") == ["auto-replied"])
            .count();
        expect("autoreply", &f.autoreply, &(autoreplies > 0));
        let quiet = f.action.as_deref() == Some("bounce") || f.queue.as_deref() == Some("spam");
        if quiet {
            expect("mail for a bounce or spam", &0, &mails.len());
        } else if f.action.as_deref() == Some("create") {
            let notices = mails
                .iter()
                .filter(|x| x.forward_path == [ADMIN])
                .filter(|x| x.headers("Auto-Submitted") == ["auto-generated"])
                .count();
            expect("admin notices of the new ticket", &1, &notices);
        }
        if run.code == 0 {
            let out = run.json();
            expect("action", &f.action.as_deref(), &out["action"].as_str());
            expect("ticket", &f.ticket, &out["ticket"].as_i64());
            match out["ticket"].as_i64() {
                Some(n) => {
                    stored_on_ticket(&desk, n, f, &mut expect);
                    if out["action"] != "duplicate" {
                        // Lossless: export gives back the bytes as received,
                        // less a leading mbox `From ` line.
                        let raw = desk.eol.apply(&fixture(&f.path));
                        let received = strip_from_line(&raw);
                        let exported = export(&desk, n);
                        expect(
                            "export's last message is the bytes as received",
                            &true,
                            &(exported.last().map(Vec::as_slice) == Some(received)),
                        );
                    }
                }
                None => stored_as_bounce(&desk, f, &mut expect),
            }
            if f.is_staff == Some(true) && matches!(f.action.as_deref(), Some("correspond")) {
                expect(
                    "staff correspondence is relayed from \"… via Support\"",
                    &true,
                    &mails
                        .iter()
                        .any(|x| x.display_name().is_some_and(|n| n.ends_with("via Support"))),
                );
            }
        }
        if wrong.is_empty() {
            return wrong;
        }
        vec![format!(
            "{} ({eol:?}): {}\n{}\n  run: exit {}, stdout {:?}, stderr {:?}",
            f.path,
            f.what,
            wrong.join("\n"),
            run.code,
            run.stdout.trim(),
            run.stderr.trim()
        )]
    }

    type Expect<'a> = dyn FnMut(&str, &dyn std::fmt::Debug, &dyn std::fmt::Debug) + 'a;

    fn stored_on_ticket(desk: &Desk, n: i64, f: &Fixture, expect: &mut Expect<'_>) {
        let t = desk.show(n);
        if f.action.as_deref() == Some("create") {
            expect("queue", &f.queue.as_deref(), &t["queue"].as_str());
            expect(
                "requestor",
                &f.requestor.as_deref(),
                &t["requestor"].as_str(),
            );
            let watchers: Option<Vec<&str>> = t["watchers"]
                .as_array()
                .map(|w| w.iter().filter_map(Value::as_str).collect());
            expect("watchers", &f.watchers, &watchers);
        }
        let history = t["history"].as_array().cloned().unwrap_or_default();
        // This message's entry: the last one that holds a message.
        let Some(entry) = history.iter().rev().find(|e| e.get("body").is_some()) else {
            expect("a message in the history", &true, &false);
            return;
        };
        if let Some(s) = &f.subject {
            expect("subject", &Some(s.as_str()), &entry["subject"].as_str());
        }
        if let Some(from) = &f.from {
            expect("author", &Some(from.as_str()), &entry["author"].as_str());
        }
        if let Some(b) = &f.body_contains {
            let body = entry["body"].as_str().unwrap_or_default();
            expect(
                &format!("body contains {b:?}"),
                &true,
                &body.contains(b.as_str()),
            );
        }
        let attachments = entry["attachments"].as_array().cloned().unwrap_or_default();
        if let Some(names) = &f.attachments {
            let got: Vec<&str> = attachments
                .iter()
                .map(|a| a["filename"].as_str().unwrap_or_default())
                .collect();
            expect("attachments", names, &got);
        }
        if let Some(sizes) = &f.attachment_sizes {
            let got: BTreeMap<String, usize> = attachments
                .iter()
                .filter(|a| sizes.contains_key(a["filename"].as_str().unwrap_or_default()))
                .map(|a| {
                    (
                        a["filename"].as_str().unwrap_or_default().to_string(),
                        a["size"].as_u64().unwrap_or_default() as usize,
                    )
                })
                .collect();
            expect("attachment sizes", sizes, &got);
        }
        // Staff correspondence or comments move a `new` ticket to `open`; an
        // outsider's leave it `new` (the opener is always new).
        if let (Some(staff), Some("correspond" | "comment"), true) =
            (f.is_staff, f.action.as_deref(), f.needs_ticket)
        {
            let status = if staff { "open" } else { "new" };
            expect("status (is_staff)", &Some(status), &t["status"].as_str());
        }
    }

    fn strip_from_line(raw: &[u8]) -> &[u8] {
        match raw.iter().position(|&b| b == b'\n') {
            Some(nl) if raw.starts_with(b"From ") => &raw[nl + 1..],
            _ => raw,
        }
    }

    /// `auth/` under `trusted_authserv_id = "mx.help.example.org"`, as the
    /// table in fixtures/README.md says: only our MX's topmost result
    /// counts, and only dmarc=pass or an aligned dkim=pass.
    #[test]
    fn auth_fixtures_decide_staff_under_a_trusted_authserv_id() {
        let table = [
            ("auth/staff-dmarc-pass.eml", "close"),
            ("auth/member-dmarc-pass.eml", "close"),
            ("auth/staff-dkim-aligned.eml", "close"),
            ("auth/staff-dmarc-fail.eml", "correspond"),
            ("auth/staff-no-authresults.eml", "correspond"),
            ("auth/staff-dmarc-none.eml", "correspond"),
            ("auth/staff-dkim-unaligned.eml", "correspond"),
            ("auth/staff-forged-below.eml", "correspond"),
            ("auth/staff-foreign-authserv.eml", "correspond"),
            ("auth/staff-lookalike-authserv.eml", "correspond"),
        ];
        let m = manifest();
        for (path, want) in table {
            for desk in Desk::both("[policy]\ntrusted_authserv_id = \"mx.help.example.org\"\nstaff_mail = \"authenticated\"\n") {
                desk.deliver(SUBMIT, JOHN, &fixture(&m.ticket_1_opener))
                    .ok();
                let f = m.fixture.iter().find(|f| f.path == path).expect(path);
                let run = desk.deliver(&f.recipient, &f.sender, &fixture(path)).ok();
                assert_eq!(run.json()["action"], want, "{path} ({:?})", desk.eol);
                let kinds = desk.kinds(1);
                if want == "close" {
                    assert_eq!(kinds, ["create", "correspond", "status"], "{path}");
                } else {
                    assert_eq!(kinds, ["create", "correspond", "note"], "{path}");
                }
            }
        }
    }

    fn stored_as_bounce(desk: &Desk, f: &Fixture, expect: &mut Expect<'_>) {
        let bounces = desk.list(&["--bounces"]);
        let Some(b) = bounces.as_array().and_then(|b| b.first()) else {
            expect("kept in list --bounces", &true, &false);
            return;
        };
        if let Some(s) = &f.subject {
            expect("bounce subject", &Some(s.as_str()), &b["subject"].as_str());
        }
    }
}

// ------------------------------------------------------------ routing table

#[test]
fn submit_address_opens_a_ticket_in_general() {
    for desk in Desk::both("") {
        let run = desk.send(SUBMIT, &john("Email doesn't work")).ok();
        assert_json(
            &json!({"action": "create", "ticket": 1, "reopened": false, "mail_queued": 2}),
            &run.json(),
        );
        let t = desk.show(1);
        assert_eq!(
            (&t["queue"], &t["status"], &t["requestor"], &t["subject"]),
            (
                &json!("general"),
                &json!("new"),
                &json!(JOHN),
                &json!("Email doesn't work")
            )
        );
        assert_eq!(desk.kinds(1), ["create"]);
    }
}

#[test]
fn queue_address_opens_a_ticket_in_its_queue() {
    for desk in Desk::both("[[queues]]\nname = \"web\"\naddress = \"webmaster\"\n") {
        let run = desk.send("WebMaster@Help.Example.ORG", &john("Site down"));
        assert_eq!(action(&run.ok()), ("create".into(), json!(1), false));
        assert_eq!(desk.show(1)["queue"], "web");
        desk.send("SUBMIT@help.example.org", &john("Other")).ok();
        assert_eq!(desk.show(2)["queue"], "general");
    }
}

#[test]
fn tag_behind_reply_prefixes_names_the_ticket() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        desk.open_ticket(&john("Scanner"));
        let reply = john("Re: AW: [EXT] [MyISP  #1] Printer");
        assert_eq!(
            action(&desk.send(SUBMIT, &reply).ok()),
            ("correspond".into(), json!(1), false)
        );
        assert_eq!(desk.kinds(1), ["create", "correspond"]);
        assert_eq!(desk.ticket_count(), 2);
    }
}

#[test]
fn tag_inside_encoded_words_names_the_ticket() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Drucker"));
        desk.open_ticket(&john("Scanner"));
        let q = john("=?utf-8?q?AW:_[myisp_#2]_Drucker_f=C3=A4llt_aus?=");
        assert_eq!(
            action(&desk.send(SUBMIT, &q).ok()),
            ("correspond".into(), json!(2), false)
        );
        // "Re: [myisp #1] Scanner" in base64.
        let b = john("=?UTF-8?B?UmU6IFtteWlzcCAjMV0gU2Nhbm5lcg==?=");
        assert_eq!(
            action(&desk.send(SUBMIT, &b).ok()),
            ("correspond".into(), json!(1), false)
        );
        assert_eq!(desk.ticket_count(), 2);
    }
}

#[test]
fn in_reply_to_rescues_a_reply_without_tag() {
    for desk in Desk::both("") {
        let first = john("Printer");
        desk.open_ticket(&first);
        desk.open_ticket(&john("Unrelated"));
        let reply = john("Re: Printer").header("In-Reply-To", &first.message_id());
        assert_eq!(
            action(&desk.send(SUBMIT, &reply).ok()),
            ("correspond".into(), json!(1), false)
        );
        assert_eq!(desk.ticket_count(), 2);
    }
}

#[test]
fn references_rescue_a_reply_without_tag() {
    for desk in Desk::both("") {
        let first = john("Printer");
        desk.open_ticket(&first);
        let reply = john("Re: Printer").header(
            "References",
            &format!("<elsewhere@example.com> {}", first.message_id()),
        );
        assert_eq!(
            action(&desk.send(SUBMIT, &reply).ok()),
            ("correspond".into(), json!(1), false)
        );
        assert_eq!(desk.ticket_count(), 1);
    }
}

#[test]
fn reply_to_our_autoreply_without_tag_finds_the_ticket() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let autoreply = Desk::one_to(&desk.take_mail(), JOHN).header("Message-ID");
    let reply = john("Re: Printer").header("In-Reply-To", &autoreply);
    assert_eq!(
        action(&desk.send(SUBMIT, &reply).ok()),
        ("correspond".into(), json!(1), false)
    );
}

#[test]
fn foreign_tag_is_not_ours() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let foreign = john("Re: [otherdesk #1] Printer");
        assert_eq!(
            action(&desk.send(SUBMIT, &foreign).ok()),
            ("create".into(), json!(2), false)
        );
    }
}

#[test]
fn ticket_address_is_correspondence() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let run = desk.send(&ticket_addr(1, ""), &john("no tag at all")).ok();
        assert_eq!(action(&run), ("correspond".into(), json!(1), false));
        assert_eq!(desk.kinds(1), ["create", "correspond"]);
    }
}

#[test]
fn comment_address_from_staff_is_a_comment() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let run = desk
            .send(&ticket_addr(1, "-comment"), &stef("internal"))
            .ok();
        assert_eq!(action(&run), ("comment".into(), json!(1), false));
        // Staff acted: the ticket is no longer `new`.
        assert_eq!(desk.kinds(1), ["create", "comment", "status"]);
        assert_eq!(status(&desk, 1), "open");
    }
}

#[test]
fn comment_address_from_outsider_is_stored_as_correspondence_and_not_relayed() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        desk.clear_mail();
        let run = desk
            .send(&ticket_addr(1, "-comment"), &eve("let me in"))
            .ok();
        assert_eq!(action(&run), ("correspond".into(), json!(1), false));
        assert_eq!(desk.kinds(1), ["create", "correspond"]);
        let mails = desk.take_mail();
        assert!(
            mails.iter().all(|m| !m.forward_path.contains(&JOHN.into())),
            "relayed to the requestor: {:?}",
            summary(&mails)
        );
    }
}

#[test]
fn done_address_from_requestor_resolves() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let run = desk.send(&ticket_addr(1, "-done"), &john("fixed, thanks"));
        assert_eq!(action(&run.ok()), ("close".into(), json!(1), false));
        assert_eq!(status(&desk, 1), "resolved");
        assert_eq!(desk.kinds(1), ["create", "correspond", "status"]);
    }
}

#[test]
fn done_address_from_staff_resolves() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let run = desk.send(&ticket_addr(1, "-done"), &stef("done"));
        assert_eq!(action(&run.ok()), ("close".into(), json!(1), false));
        assert_eq!(status(&desk, 1), "resolved");
    }
}

#[test]
fn done_address_from_stranger_is_refused_and_noted() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let run = desk.send(&ticket_addr(1, "-done"), &eve("close it"));
        assert_eq!(action(&run.ok()), ("correspond".into(), json!(1), false));
        assert_eq!(status(&desk, 1), "new");
        assert_eq!(desk.kinds(1), ["create", "correspond", "note"]);
        let note = &desk.show(1)["history"][2];
        assert_eq!(note["author"], "eve@example.net");
        assert!(note["note"].as_str().unwrap().contains("close"), "{note}");
    }
}

#[test]
fn close_from_staff_refuses_the_requestor() {
    let desk = Desk::with_config("[policy]\nclose_from = \"staff\"\n");
    desk.open_ticket(&john("Printer"));
    let run = desk.send(&ticket_addr(1, "-done"), &john("close it"));
    assert_eq!(action(&run.ok()), ("correspond".into(), json!(1), false));
    assert_eq!(status(&desk, 1), "new");
    assert_eq!(desk.kinds(1), ["create", "correspond", "note"]);
    let run = desk.send(&ticket_addr(1, "-done"), &stef("closing"));
    assert_eq!(action(&run.ok()).0, "close");
}

#[test]
fn close_from_anyone_lets_a_stranger_close() {
    let desk = Desk::with_config("[policy]\nclose_from = \"anyone\"\n");
    desk.open_ticket(&john("Printer"));
    let run = desk.send(&ticket_addr(1, "-done"), &eve("close it"));
    assert_eq!(action(&run.ok()).0, "close");
    assert_eq!(status(&desk, 1), "resolved");
}

#[test]
fn forged_staff_from_is_not_staff_when_authentication_is_required() {
    let desk = Desk::with_config(
        "[policy]\ntrusted_authserv_id = \"mx.help.example.org\"\nstaff_mail = \"authenticated\"\n",
    );
    desk.open_ticket(&john("Printer"));
    let forged = stef("closing").header(
        "Authentication-Results",
        "mx.help.example.org; dmarc=fail header.from=example.org",
    );
    let run = desk.send(&ticket_addr(1, "-done"), &forged).ok();
    assert_eq!(action(&run).0, "correspond");
    let real = stef("closing").header(
        "Authentication-Results",
        "mx.help.example.org; dmarc=pass header.from=example.org",
    );
    let run = desk.send(&ticket_addr(1, "-done"), &real).ok();
    assert_eq!(action(&run).0, "close");
}

#[test]
fn reply_to_resolved_ticket_reopens_it() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        desk.send(&ticket_addr(1, "-done"), &john("fixed")).ok();
        let run = desk.send(SUBMIT, &john("Re: [myisp #1] Printer")).ok();
        assert_eq!(action(&run), ("correspond".into(), json!(1), true));
        assert_eq!(status(&desk, 1), "open");
        let h = desk.show(1)["history"].clone();
        let last = h.as_array().unwrap().last().unwrap();
        assert_eq!(
            (&last["kind"], &last["old"], &last["new"]),
            (&json!("status"), &json!("resolved"), &json!("open"))
        );
    }
}

#[test]
fn comment_on_resolved_ticket_reopens_it() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.send(&ticket_addr(1, "-done"), &stef("done")).ok();
    let run = desk
        .send(&ticket_addr(1, "-comment"), &stef("not quite"))
        .ok();
    assert_eq!(action(&run), ("comment".into(), json!(1), true));
    assert_eq!(status(&desk, 1), "open");
}

#[test]
fn address_wins_over_tag() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        desk.open_ticket(&john("Scanner"));
        let run = desk
            .send(&ticket_addr(1, ""), &john("Re: [myisp #2] Scanner"))
            .ok();
        assert_eq!(action(&run), ("correspond".into(), json!(1), false));
        assert_eq!(desk.kinds(2), ["create"]);
    }
}

#[test]
fn unknown_ticket_exits_67_and_stores_nothing() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let run = desk.send(&ticket_addr(9, ""), &john("hello")).code(67);
        assert_eq!(run.stderr.trim_end(), "pipedesk: no ticket #9", "{run}");
        assert!(run.stdout.is_empty());
        let run = desk.send(SUBMIT, &john("Re: [myisp #8] hello")).code(67);
        assert!(run.stderr.contains("pipedesk: no ticket #8"), "{run}");
        assert_eq!(desk.ticket_count(), 1);
        assert_eq!(desk.kinds(1), ["create"]);
    }
}

#[test]
fn unknown_ticket_is_opened_when_policy_says_create() {
    let desk = Desk::with_config("[policy]\nunknown_ticket = \"create\"\n");
    let run = desk.send(&ticket_addr(9, ""), &john("hello")).ok();
    assert_eq!(action(&run).0, "create");
    assert_eq!(desk.ticket_count(), 1);
}

#[test]
fn unknown_address_at_our_domains_exits_67() {
    for desk in Desk::both("") {
        for rcpt in [
            "sales@help.example.org",
            "ticket-1-closed@help.example.org",
            "ticket-x@HELP.example.org",
        ] {
            let run = desk.send(rcpt, &john("hello")).code(67);
            assert!(
                run.stderr
                    .starts_with(&format!("pipedesk: unknown address {}", rcpt)),
                "{run}"
            );
            assert_eq!(run.stderr.lines().count(), 1, "{run}");
        }
        assert_eq!(desk.ticket_count(), 0);
    }
}

// ------------------------------------------------------------------ bounces

fn dsn(subject: &str) -> Mail {
    mail(
        "Mail Delivery System <MAILER-DAEMON@mx.example.com>",
        subject,
    )
    .header(
        "Content-Type",
        "multipart/report; report-type=delivery-status; boundary=\"b1\"",
    )
    .header("MIME-Version", "1.0")
    .body(
        "--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n\
             --b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n\
             Final-Recipient: rfc822; john@example.com\nAction: failed\nStatus: 5.1.1\n\n--b1--\n",
    )
}

#[test]
fn bounces_are_comments_that_never_reopen_nor_mail() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        desk.send(&ticket_addr(1, "-done"), &stef("done")).ok();
        desk.clear_mail();
        let cases: [(&str, Mail); 4] = [
            ("", john("Undeliverable: [myisp #1] Printer")),
            ("<>", john("Undeliverable: [myisp #1] Printer")),
            ("MAILER-DAEMON", john("Undeliverable: [myisp #1] Printer")),
            (
                "postmaster@mx.example.com",
                dsn("Returned: [myisp #1] Printer"),
            ),
        ];
        for (sender, m) in &cases {
            let run = desk.deliver(&ticket_addr(1, ""), sender, &m.bytes()).ok();
            assert_json(
                &json!({"action": "bounce", "ticket": 1, "reopened": false, "mail_queued": 0}),
                &run.json(),
            );
        }
        assert_eq!(status(&desk, 1), "resolved");
        assert_eq!(
            desk.kinds(1),
            [
                "create",
                "correspond",
                "status",
                "comment",
                "comment",
                "comment",
                "comment"
            ]
        );
        assert!(desk.take_mail().is_empty());
    }
}

#[test]
fn bounce_to_the_done_address_does_not_close() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        let m = dsn("Undelivered Mail Returned to Sender");
        let run = desk.deliver(&ticket_addr(1, "-done"), "", &m.bytes()).ok();
        assert_eq!(action(&run), ("bounce".into(), json!(1), false));
        assert_eq!(status(&desk, 1), "new");
        assert_eq!(desk.kinds(1), ["create", "comment"]);
    }
}

#[test]
fn bounce_never_opens_a_ticket_and_is_listed() {
    for desk in Desk::both("") {
        let run = desk
            .deliver(SUBMIT, "", &dsn("Undelivered Mail").bytes())
            .ok();
        assert_json(
            &json!({"action": "bounce", "ticket": null, "reopened": false, "mail_queued": 0}),
            &run.json(),
        );
        let run = desk
            .deliver(&ticket_addr(7, ""), "<>", &john("failure notice").bytes())
            .ok();
        assert_eq!(action(&run), ("bounce".into(), Value::Null, false));
        let run = desk
            .deliver(
                "sales@help.example.org",
                "MAILER-DAEMON",
                &john("x").bytes(),
            )
            .ok();
        assert_eq!(action(&run).0, "bounce");
        assert_eq!(desk.ticket_count(), 0);
        let bounces = desk.list(&["--bounces"]);
        let subjects: Vec<&str> = bounces
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["subject"].as_str().unwrap())
            .collect();
        assert_eq!(subjects, ["x", "failure notice", "Undelivered Mail"]);
        assert!(desk.take_mail().is_empty());
    }
}

#[test]
fn bounce_of_our_mail_finds_its_ticket_by_references() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let ours = Desk::one_to(&desk.take_mail(), JOHN).header("Message-ID");
    let bounce = dsn("Undelivered Mail Returned to Sender").header("References", &ours);
    let run = desk.deliver(SUBMIT, "", &bounce.bytes()).ok();
    assert_eq!(action(&run), ("bounce".into(), json!(1), false));
    assert_eq!(desk.kinds(1), ["create", "comment"]);
}

#[test]
fn return_path_null_sender_is_a_bounce() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let m = john("Undeliverable: [myisp #1] Printer").header("Return-Path", "<>");
    let run = desk
        .run(&["deliver", "--json", "--recipient", SUBMIT], &m.bytes())
        .ok();
    assert_eq!(action(&run).0, "bounce");
}

// --------------------------------------------------------------------- spam

#[test]
fn spam_opens_in_the_spam_queue_without_mail() {
    for desk in Desk::both("") {
        for (i, (name, value)) in [
            ("X-Spam-Flag", "YES"),
            ("X-Spam", "Yes"),
            ("X-Spam-Status", "Yes, score=12.1 required=5.0"),
        ]
        .into_iter()
        .enumerate()
        {
            let run = desk
                .send(SUBMIT, &john("Cheap pills").header(name, value))
                .ok();
            assert_json(
                &json!({"action": "create", "ticket": i + 1, "reopened": false, "mail_queued": 0}),
                &run.json(),
            );
            assert_eq!(desk.show(i as i64 + 1)["queue"], "spam");
        }
        let ham = john("Not spam").header("X-Spam-Status", "No, score=0.1");
        desk.send(SUBMIT, &ham).ok();
        assert_eq!(desk.show(4)["queue"], "general");
        assert_eq!(desk.list(&["--queue", "spam"]).as_array().unwrap().len(), 3);
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 2, "{:?}", summary(&mails));
    }
}

// ---------------------------------------------------------------- once only

#[test]
fn same_message_id_twice_is_a_duplicate() {
    for desk in Desk::both("") {
        let m = john("Printer");
        desk.open_ticket(&m);
        desk.clear_mail();
        let again = desk.send(SUBMIT, &m).ok();
        assert_json(
            &json!({"action": "duplicate", "ticket": 1, "reopened": false, "mail_queued": 0}),
            &again.json(),
        );
        // A reply sent to both submit@ and ticket-1@ arrives twice.
        let reply = john("Re: [myisp #1] Printer");
        assert_eq!(action(&desk.send(SUBMIT, &reply).ok()).0, "correspond");
        assert_eq!(
            action(&desk.send(&ticket_addr(1, ""), &reply).ok()).0,
            "duplicate"
        );
        assert_eq!(desk.ticket_count(), 1);
        assert_eq!(desk.kinds(1), ["create", "correspond"]);
        assert_eq!(desk.take_mail().len(), 1, "one notice for the one reply");
    }
}

#[test]
fn message_without_message_id_twice_is_a_duplicate() {
    for desk in Desk::both("") {
        let m = john("No id").header("Message-ID", "");
        assert_eq!(action(&desk.send(SUBMIT, &m).ok()).0, "create");
        assert_eq!(action(&desk.send(SUBMIT, &m).ok()).0, "duplicate");
        let other = m.clone().body("a different text\n");
        assert_eq!(action(&desk.send(SUBMIT, &other).ok()).0, "create");
        assert_eq!(desk.ticket_count(), 2);
    }
}

// ------------------------------------------------------------ byte-exactness

fn export(desk: &Desk, n: i64) -> Vec<Vec<u8>> {
    let out = desk
        .command()
        .args(["export", &n.to_string()])
        .output()
        .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    mboxrd_messages(&out.stdout)
}

#[test]
fn messages_are_stored_byte_exact() {
    let odd: &[&[u8]] = &[
        b"From: john@example.com\nSubject: Printer\nMessage-ID: <a@x>\n\nFrom the start\n>From quoted\n  trailing  \n",
        b"From: john@example.com\r\nSubject: Re: [myisp #1]\r\nMessage-ID: <b@x>\r\n\r\nmixed\nendings\r\n\r\nFrom here\r\n",
        b"From: john@example.com\nSubject: =?iso-8859-1?q?Re:_[myisp_#1]_caf=E9?=\nMessage-ID: <c@x>\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\ncaf\xe9 \xff\x00 raw 8-bit\n",
        b"From: john@example.com\nSubject: [myisp #1] broken mime\nMessage-ID: <d@x>\nContent-Type: multipart/mixed; boundary=\"nope\"\n\n--wrong\nno end\n",
    ];
    let desk = Desk::new();
    for raw in odd {
        desk.run(&["deliver", "--recipient", SUBMIT, "--sender", JOHN], raw)
            .ok();
    }
    let stored = export(&desk, 1);
    assert_eq!(stored.len(), odd.len());
    for (got, want) in stored.iter().zip(odd) {
        assert_same(
            &String::from_utf8_lossy(want),
            &String::from_utf8_lossy(got),
        );
        assert_eq!(got, want, "bytes differ (NUL, 8-bit or CR)");
    }
}

#[test]
fn leading_mbox_from_line_is_dropped() {
    for desk in Desk::both("") {
        let m = desk.bytes(&john("Printer"));
        let mut with_line = desk
            .eol
            .apply(b"From john@example.com  Tue Nov 17 15:00:00 2026\n");
        with_line.extend_from_slice(&m);
        desk.run(
            &["deliver", "--recipient", SUBMIT, "--sender", JOHN],
            &with_line,
        )
        .ok();
        assert_eq!(export(&desk, 1), [m]);
        assert_eq!(desk.show(1)["subject"], "Printer");
    }
}

#[test]
fn cr_only_message_after_an_mbox_from_line_is_stored_not_refused_as_empty() {
    // A real message bounced: old Mac mailers end lines with CR alone, and
    // the whole message was taken for the `From ` line, leaving nothing.
    let desk = Desk::new();
    let msg = b"From: Ann <ann@example.net>\rTo: submit@help.example.org\rSubject: Old Mac mail\r\
        Message-ID: <cr-only@example.net>\r\rIt does not work.\r";
    let mut with_line = b"From ann@example.net  Tue Nov 17 15:00:00 2026\r".to_vec();
    with_line.extend_from_slice(msg);
    let out = desk
        .run(
            &[
                "deliver",
                "--json",
                "--recipient",
                SUBMIT,
                "--sender",
                "ann@example.net",
            ],
            &with_line,
        )
        .ok()
        .json();
    assert_eq!(out["action"], "create", "{out}");
    let shown = desk.show(1);
    assert_eq!(shown["history"][0]["subject"], "Old Mac mail");
    assert_eq!(shown["history"][0]["author"], "ann@example.net");
    // Stored as received: export ends the mbox entry with the LF the
    // message lacks, and nothing else differs.
    let mut exported = export(&desk, 1);
    if let Some(last) = exported.last_mut() {
        last.pop_if(|b| *b == b'\n');
    }
    assert_eq!(exported, [msg.to_vec()]);
}

// ------------------------------------------------------ recipient and sender

#[test]
fn recipient_comes_from_original_recipient_then_recipient() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let deliver = |env: &[(&str, &str)], m: &Mail| {
        desk.run_env(&["deliver", "--json", "--sender", JOHN], env, &m.bytes())
            .ok()
    };
    let run = deliver(
        &[
            ("ORIGINAL_RECIPIENT", &ticket_addr(1, "")),
            ("RECIPIENT", "sales@help.example.org"),
        ],
        &john("via original"),
    );
    assert_eq!(action(&run), ("correspond".into(), json!(1), false));
    let run = deliver(
        &[("RECIPIENT", &ticket_addr(1, "-done"))],
        &john("via recipient"),
    );
    assert_eq!(action(&run).0, "close");
    // --recipient beats both.
    let run = desk
        .run_env(
            &["deliver", "--json", "--sender", JOHN, "--recipient", SUBMIT],
            &[("RECIPIENT", &ticket_addr(1, ""))],
            &john("via flag").bytes(),
        )
        .ok();
    assert_eq!(action(&run).0, "create");
}

#[test]
fn recipient_comes_from_headers_when_run_by_hand() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let by_hand = |m: &Mail| {
        desk.run(&["deliver", "--json", "--sender", JOHN], &m.bytes())
            .ok()
    };
    // Delivered-To comes before To.
    let m = john("hello")
        .header("To", SUBMIT)
        .header("Delivered-To", &ticket_addr(1, ""));
    assert_eq!(action(&by_hand(&m)), ("correspond".into(), json!(1), false));
    // Not ours (a staff address at our domain) is skipped; Cc counts.
    let m = john("hello again")
        .header("To", "Someone <someone@help.example.org>")
        .header("Cc", &ticket_addr(1, "-done"));
    assert_eq!(action(&by_hand(&m)).0, "close");
}

#[test]
fn sender_comes_from_the_sender_variable() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let m = john("Undeliverable: [myisp #1] Printer");
    let run = desk
        .run_env(
            &["deliver", "--json", "--recipient", SUBMIT],
            &[("SENDER", "")],
            &m.bytes(),
        )
        .ok();
    assert_eq!(action(&run).0, "bounce");
    let m = john("Re: [myisp #1] Printer");
    let run = desk
        .run_env(
            &["deliver", "--json", "--recipient", SUBMIT],
            &[("SENDER", JOHN)],
            &m.bytes(),
        )
        .ok();
    assert_eq!(action(&run).0, "correspond");
}

#[test]
fn requestor_is_from_else_sender_else_reply_to_else_envelope() {
    let desk = Desk::new();
    let m = john("a").header("Sender", "Sec <sec@example.com>");
    desk.send(SUBMIT, &m).ok();
    let m = john("b")
        .header("From", "")
        .header("Sender", "Sec <Sec@Example.com>")
        .header("Reply-To", "r@example.com");
    desk.deliver(SUBMIT, "env@example.com", &m.bytes()).ok();
    let m = john("c")
        .header("From", "")
        .header("Reply-To", "r@example.com");
    desk.deliver(SUBMIT, "env@example.com", &m.bytes()).ok();
    let m = john("d").header("From", "");
    desk.deliver(SUBMIT, "env@example.com", &m.bytes()).ok();
    let requestors: Vec<Value> = (1..=4).map(|n| desk.show(n)["requestor"].clone()).collect();
    assert_eq!(
        requestors,
        [
            json!(JOHN),
            json!("sec@example.com"),
            json!("r@example.com"),
            json!("env@example.com")
        ]
    );
}

#[test]
fn watchers_are_the_requestor_and_cc_minus_our_addresses() {
    let desk = Desk::new();
    let m = john("Printer").header(
        "Cc",
        "Maria <maria@example.net>, submit@help.example.org, ticket-3@help.example.org, John <JOHN@example.com>",
    );
    desk.open_ticket(&m);
    assert_eq!(desk.show(1)["watchers"], json!([JOHN, "maria@example.net"]));
}

// --------------------------------------------------------------- exit codes

#[test]
fn bad_command_line_exits_64() {
    let desk = Desk::new();
    let run = desk.run(&["deliver", "--recipient"], &john("x").bytes());
    assert_eq!(run.code, 64, "{run}");
    let run = desk.run(&["deliver", "--no-such-flag"], &john("x").bytes());
    assert_eq!(run.code, 64, "{run}");
    assert_eq!(desk.ticket_count(), 0);
}

#[test]
fn file_flag_reads_the_message_from_a_path() {
    let desk = Desk::new();
    let path = desk.path().join("saved.eml");
    std::fs::write(&path, john("Saved").bytes()).unwrap();
    let run = desk
        .run(
            &[
                "deliver",
                "--json",
                "--file",
                path.to_str().unwrap(),
                "--recipient",
                SUBMIT,
                "--sender",
                JOHN,
            ],
            b"",
        )
        .ok();
    assert_eq!(action(&run), ("create".into(), json!(1), false));
    assert_eq!(desk.show(1)["subject"], "Saved");
}

#[test]
fn empty_input_exits_65() {
    let desk = Desk::new();
    for input in [
        &b""[..],
        b"\n\n  \r\n",
        b"From john@example.com Tue Nov 17 15:00:00 2026\n",
    ] {
        let run = desk.deliver(SUBMIT, JOHN, input).code(65);
        assert!(run.stderr.starts_with("pipedesk: "), "{run}");
        assert!(run.stdout.is_empty(), "{run}");
    }
    assert_eq!(desk.ticket_count(), 0);
}

#[test]
fn too_large_message_exits_65() {
    let desk = Desk::with_config("[policy]\nmax_message_bytes = 300\n");
    let big = john("big").body(&"x".repeat(400));
    let run = desk.send(SUBMIT, &big).code(65);
    assert!(run.stderr.contains("max_message_bytes"), "{run}");
    assert_eq!(desk.ticket_count(), 0);
    let small = john("small").body("ok\n");
    desk.send(SUBMIT, &small).ok();
    assert_eq!(desk.ticket_count(), 1);
}

#[test]
fn message_of_exactly_the_limit_is_accepted() {
    let m = john("edge").body("0123456789\n");
    let size = m.bytes().len();
    let desk = Desk::with_config(&format!("[policy]\nmax_message_bytes = {size}\n"));
    desk.send(SUBMIT, &m).ok();
    desk.set_config(&format!("[policy]\nmax_message_bytes = {}\n", size - 1));
    desk.send(SUBMIT, &john("edge").body("0123456789\n"))
        .code(65);
    assert_eq!(desk.ticket_count(), 1);
}

#[test]
fn bad_config_exits_75_for_deliver_and_78_for_people() {
    let desk = Desk::new();
    desk.write_config("[site]\nname = \"myisp\"\ncolour = \"blue\"\n");
    let run = desk.send(SUBMIT, &john("Printer")).code(75);
    assert!(run.stderr.starts_with("pipedesk: "), "{run}");
    assert!(
        run.stderr.contains("pipedesk.toml"),
        "names the file: {run}"
    );
    assert!(run.stderr.contains("colour"), "names the key: {run}");
    assert!(run.stderr.contains('3'), "names the line: {run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    let run = desk.run(&["list"], b"").code(78);
    assert!(run.stderr.contains("colour"), "{run}");
    // A bad value, and a file that is not there.
    desk.write_config("[policy]\nclose_from = \"everybody\"\n");
    desk.send(SUBMIT, &john("Printer")).code(75);
    desk.run(&["list"], b"").code(78);
    std::fs::remove_file(desk.config_path()).unwrap();
    desk.send(SUBMIT, &john("Printer")).code(75);
    desk.run(&["list"], b"").code(78);
    assert!(!desk.has_database(), "nothing was stored");
}

#[test]
fn locked_database_exits_75_and_stores_nothing_until_released() {
    let desk = Desk::with_config("[policy]\nbusy_wait_secs = 1\n");
    desk.open_ticket(&john("Printer"));
    // SQLite: another process holds the file's write lock. PostgreSQL:
    // another host holds a lock on the tickets table.
    let lock = desk.db();
    lock.batch(if desk.on_postgres() {
        "BEGIN; LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"
    } else {
        "BEGIN EXCLUSIVE"
    });
    let m = john("Scanner");
    let run = desk.send(SUBMIT, &m).code(75);
    assert!(run.stderr.starts_with("pipedesk: "), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    lock.batch("COMMIT");
    drop(lock);
    assert_eq!(desk.ticket_count(), 1, "nothing was stored");
    // The MTA retries, and now it goes in.
    assert_eq!(action(&desk.send(SUBMIT, &m).ok()).0, "create");
    assert_eq!(desk.ticket_count(), 2);
}

// ----------------------------------------------------------- flags, output

#[test]
fn dry_run_changes_nothing() {
    let desk = Desk::new();
    let run = desk
        .run(
            &[
                "deliver",
                "--dry-run",
                "--recipient",
                SUBMIT,
                "--sender",
                JOHN,
            ],
            &john("Printer").bytes(),
        )
        .ok();
    assert!(run.stdout.contains("create"), "prints the action: {run}");
    assert!(!desk.has_database(), "no database appears");
    desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    let before = desk.show(1);
    let run = desk
        .run(
            &[
                "deliver",
                "--dry-run",
                "--json",
                "--recipient",
                &ticket_addr(1, "-done"),
                "--sender",
                JOHN,
            ],
            &john("done").bytes(),
        )
        .ok();
    assert_eq!(action(&run).0, "close");
    assert_json(&before, &desk.show(1));
    assert!(desk.take_mail().is_empty());
}

#[test]
fn no_mail_stores_but_queues_nothing() {
    let desk = Desk::new();
    let run = desk
        .run(
            &[
                "deliver",
                "--json",
                "--no-mail",
                "--recipient",
                SUBMIT,
                "--sender",
                JOHN,
            ],
            &john("Printer").bytes(),
        )
        .ok();
    assert_json(
        &json!({"action": "create", "ticket": 1, "reopened": false, "mail_queued": 0}),
        &run.json(),
    );
    assert!(desk.take_mail().is_empty());
    // Nothing is waiting for a flush either.
    desk.run(&["flush", "--force"], b"").ok();
    assert!(desk.take_mail().is_empty());
}

#[test]
fn deliver_prints_nothing_on_success_without_json() {
    let desk = Desk::new();
    let run = desk
        .run(
            &["deliver", "--recipient", SUBMIT, "--sender", JOHN],
            &john("Printer").bytes(),
        )
        .ok();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = desk
        .run(
            &[
                "deliver",
                "--recipient",
                &ticket_addr(1, ""),
                "--sender",
                "",
            ],
            &john("bounce").bytes(),
        )
        .ok();
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
}

// ------------------------------------------------------------- show --json

#[test]
fn show_json_has_the_documented_shape() {
    let desk = Desk::new();
    let m = john("Printer")
        .header("Cc", "maria@example.net")
        .header("MIME-Version", "1.0")
        .header("Content-Type", "multipart/mixed; boundary=\"xx\"")
        .body(
            "--xx\nContent-Type: text/plain; charset=utf-8\n\nIt prints nothing.\n\
             --xx\nContent-Type: text/plain; name=\"log.txt\"\nContent-Disposition: attachment; filename=\"log.txt\"\n\n\
             line one\nline two\n\
             --xx\nContent-Type: image/png\nContent-Disposition: attachment; filename=\"shot.png\"\n\
             Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--xx--\n",
        );
    desk.open_ticket(&m);
    desk.run(&["take", "1", "--as", MEMBER], b"").ok();
    let t = desk.show(1);
    let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "created",
        "due",
        "history",
        "id",
        "owner",
        "priority",
        "queue",
        "requestor",
        "sla",
        "status",
        "subject",
        "updated",
        "version",
        "watchers",
    ];
    want.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, want);
    assert_eq!(
        (
            &t["id"],
            &t["owner"],
            &t["priority"],
            &t["status"],
            &t["watchers"]
        ),
        (
            &json!(1),
            &json!(MEMBER),
            &json!(0),
            &json!("open"),
            &json!([JOHN, "maria@example.net"])
        )
    );
    let created = t["created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    let h = t["history"].as_array().unwrap();
    let kinds: Vec<&str> = h.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["create", "owner", "status"]);
    let first = &h[0];
    assert_eq!(first["author"], JOHN);
    assert_eq!(first["message_id"], json!(m.message_id()));
    assert_eq!(first["subject"], "Printer");
    assert!(
        first["body"]
            .as_str()
            .unwrap()
            .contains("It prints nothing."),
        "{first}"
    );
    assert_json(
        &json!([
            {"filename": "log.txt", "content_type": "text/plain", "size": 17},
            {"filename": "shot.png", "content_type": "image/png", "size": 8},
        ]),
        &first["attachments"],
    );
    assert_eq!(
        (&h[1]["author"], &h[1]["new"]),
        (&json!(MEMBER), &json!(MEMBER))
    );
    assert_eq!(
        (&h[2]["author"], &h[2]["old"], &h[2]["new"]),
        (&json!(MEMBER), &json!("new"), &json!("open"))
    );
    let listed = desk.list(&[]);
    let row = &listed[0];
    assert_eq!(row["messages"], 1);
    assert!(row.get("history").is_none());
}

#[test]
fn bodies_are_decoded_to_utf8() {
    let cases: [(&str, &str, &str, &[u8]); 4] = [
        (
            "iso-8859-1",
            "quoted-printable",
            "Grüße, café",
            b"Gr=FC=DFe, caf=E9\n",
        ),
        (
            "utf-8",
            "base64",
            "Ça marche pas",
            b"w4dhIG1hcmNoZSBwYXM=\n",
        ),
        (
            "windows-1252",
            "8bit",
            "\u{20ac}100 \u{201c}quoted\u{201d}",
            b"\x80100 \x93quoted\x94\n",
        ),
        ("koi8-r", "8bit", "Привет", b"\xf0\xd2\xc9\xd7\xc5\xd4\n"),
    ];
    for desk in Desk::both("") {
        for (i, (charset, cte, want, body)) in cases.iter().enumerate() {
            let mut raw = john("Charset")
                .header("MIME-Version", "1.0")
                .header("Content-Type", &format!("text/plain; charset={charset}"))
                .header("Content-Transfer-Encoding", cte)
                .body("")
                .bytes();
            raw.extend_from_slice(body);
            desk.deliver(SUBMIT, JOHN, &raw).ok();
            let body = desk.show(i as i64 + 1)["history"][0]["body"].clone();
            assert!(
                body.as_str().unwrap().contains(want),
                "{charset}: {body} lacks {want:?}"
            );
        }
    }
}

#[test]
fn a_too_large_message_is_read_to_the_end_before_it_is_refused() {
    // An MTA writes the whole message into the pipe; if deliver stopped
    // reading at the limit, the MTA would see a broken pipe instead of our
    // exit 65 and its line.
    use std::io::Write;
    use std::process::Stdio;
    let desk = Desk::with_config("[policy]\nmax_message_bytes = 1000\n");
    let mut child = desk
        .command()
        .args([
            "deliver",
            "--recipient",
            SUBMIT,
            "--sender",
            "john@example.com",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deliver starts");
    let mut msg = b"From: john@example.com\nSubject: big\n\n".to_vec();
    msg.resize(4 * 1024 * 1024, b'x');
    let mut stdin = child.stdin.take().expect("a pipe");
    let written = stdin.write_all(&msg);
    drop(stdin);
    let out = child.wait_with_output().expect("deliver ends");
    assert!(written.is_ok(), "the writer saw {written:?}");
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_message_bytes"));
}

// ------------------------------------------------- issue 10: automatic mail

/// The last history entry of ticket N.
fn last_entry(desk: &Desk, n: i64) -> Value {
    desk.show(n)["history"]
        .as_array()
        .and_then(|h| h.last().cloned())
        .expect("a history entry")
}

/// The vacation ping-pong: our resolved notice, their out-of-office, which
/// must not reopen the ticket and notify staff (who would notify them…).
#[test]
fn an_out_of_office_answer_to_the_resolved_notice_neither_reopens_nor_mails() {
    for desk in Desk::both("") {
        desk.deliver(SUBMIT, JOHN, &fixture("new/gmail-alternative.eml"))
            .ok();
        desk.run(&["close", "1"], b"").ok();
        desk.clear_mail();
        let run = desk
            .deliver(
                &ticket_addr(1, ""),
                JOHN,
                &fixture("autoreply/exchange-ooo-to-resolved-notice.eml"),
            )
            .ok();
        assert_eq!(action(&run), ("correspond".into(), json!(1), false));
        assert_eq!(run.json()["mail_queued"], 0);
        assert_eq!(status(&desk, 1), "resolved");
        assert!(desk.take_mail().is_empty(), "automatic mail caused mail");
        let last = last_entry(&desk, 1);
        assert_eq!(
            (&last["kind"], &last["auto"]),
            (&json!("correspond"), &json!(true))
        );
    }
}

#[test]
fn every_kind_of_automatic_mail_is_kept_and_changes_nothing() {
    let desk = Desk::new();
    desk.deliver(SUBMIT, JOHN, &fixture("new/gmail-alternative.eml"))
        .ok();
    desk.run(&["stall", "1"], b"").ok();
    for (file, sender) in [
        ("autoreply/read-receipt.eml", JOHN),
        ("autoreply/feedback-report.eml", "fbl@feedback.example.net"),
        ("autoreply/x-autoreply-header.eml", JOHN),
        ("autoreply/vacation-to-ticket.eml", JOHN),
        ("autoreply/exchange-ooo-to-resolved-notice.eml", JOHN),
        // A mailbox rule's reply carries no RFC 3834 marker (SPEC §3).
        ("autoreply/exchange-mailbox-rule-to-ticket.eml", JOHN),
    ] {
        desk.clear_mail();
        let run = desk
            .deliver(&ticket_addr(1, ""), sender, &fixture(file))
            .ok();
        assert_eq!(
            action(&run),
            ("correspond".into(), json!(1), false),
            "{file}"
        );
        assert_eq!(status(&desk, 1), "stalled", "{file} changed the status");
        assert!(desk.take_mail().is_empty(), "{file} caused mail");
        assert_eq!(last_entry(&desk, 1)["auto"], json!(true), "{file}");
    }
    // A person's mail still opens it.
    let run = desk.send(&ticket_addr(1, ""), &john("still broken")).ok();
    assert_eq!(action(&run), ("correspond".into(), json!(1), true));
    assert!(last_entry(&desk, 1).get("auto").is_none());
}

#[test]
fn automatic_mail_to_the_done_address_does_not_close() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let ooo = john("Automatic reply: Printer").header("Auto-Submitted", "auto-replied");
    let run = desk.send(&ticket_addr(1, "-done"), &ooo).ok();
    assert_eq!(action(&run).0, "correspond");
    assert_eq!(status(&desk, 1), "new");
}

// ------------------------------------------------ issue 10: staff forwards

/// (fixture, the customer, the forwarded subject, a phrase of their text,
/// the staff member's note).
const FORWARDS: [(&str, &str, &str, &str, &str); 6] = [
    (
        "forward/gmail.eml",
        "peter.mueller@example.de",
        "VPN drops every ten minutes",
        "the VPN connection drops every ten minutes",
        "Peter called about this one too",
    ),
    (
        "forward/outlook.eml",
        "sofia.rossi@example.it",
        "Invoice 2026-1147 shows the wrong VAT number",
        "shows our old VAT number",
        "For billing, please.",
    ),
    (
        "forward/outlook365.eml",
        "sofia.rossi@example.it",
        "Invoice 2026-1147 shows the wrong VAT number",
        "shows our old VAT number",
        "For billing, please.",
    ),
    (
        "forward/apple-mail.eml",
        "lena.schmidt@example.net",
        "Cannot print from the 3rd floor",
        "says \"offline\" for everyone",
        "",
    ),
    (
        "forward/thunderbird.eml",
        "oliver.grant@example.co.uk",
        "Password reset mail never arrives",
        "I asked for a password reset three times",
        "Third one this week.",
    ),
    (
        "forward/attached.eml",
        "noor.haddad@example.com",
        "Webshop checkout fails with card payments",
        "every card payment in the webshop",
        "Forwarded as attachment",
    ),
];

#[test]
fn a_customers_mail_forwarded_by_staff_opens_the_customers_ticket() {
    for (file, customer, subject, text, note) in FORWARDS {
        for desk in Desk::both("") {
            let run = desk.deliver(SUBMIT, MEMBER, &fixture(file)).ok();
            assert_eq!(action(&run).0, "create", "{file}");
            let t = desk.show(1);
            assert_eq!(t["requestor"], customer, "{file}");
            assert_eq!(t["subject"], subject, "{file}");
            assert_eq!(t["watchers"], json!([customer]), "{file}");
            let h = t["history"].as_array().unwrap();
            assert_eq!(
                (&h[0]["kind"], &h[0]["author"]),
                (&json!("create"), &json!(customer))
            );
            assert!(
                h[0]["body"].as_str().unwrap().contains(text),
                "{file}: the customer's text: {}",
                h[0]["body"]
            );
            let comments: Vec<&Value> = h.iter().filter(|e| e["kind"] == "comment").collect();
            if note.is_empty() {
                assert!(comments.is_empty(), "{file}: {comments:?}");
            } else {
                assert_eq!(comments.len(), 1, "{file}");
                assert_eq!(comments[0]["author"], MEMBER);
                assert!(
                    comments[0]["body"].as_str().unwrap().contains(note),
                    "{file}: the staff member's words: {}",
                    comments[0]["body"]
                );
            }
            let mails = desk.take_mail();
            let auto = Desk::one_to(&mails, customer);
            assert_eq!(auto.header("Auto-Submitted"), "auto-replied", "{file}");
            assert!(
                mails.iter().all(|m| !m.rcpts().contains(MEMBER)),
                "{file}: the forwarding member is told of their own forward"
            );
        }
    }
}

#[test]
fn a_forward_from_outside_staff_is_an_ordinary_ticket() {
    let desk = Desk::new();
    let raw = String::from_utf8(fixture("forward/gmail.eml"))
        .unwrap()
        .replace("Ann Example <ann@example.org>", "Eve <eve@example.net>");
    let run = desk.deliver(SUBMIT, "eve@example.net", raw.as_bytes()).ok();
    assert_eq!(action(&run).0, "create");
    let t = desk.show(1);
    assert_eq!(t["requestor"], "eve@example.net");
    assert_eq!(t["subject"], "Fwd: VPN drops every ten minutes");
}

#[test]
fn a_staff_mail_without_a_forwarded_author_is_an_ordinary_ticket_from_staff() {
    let desk = Desk::new();
    let m = staff_mail("Ann <ann@example.org>", "Fwd: note to self")
        .body("---------- Forwarded message ---------\nSubject: lunch\n\nno author here\n");
    desk.open_ticket(&m);
    assert_eq!(desk.show(1)["requestor"], MEMBER);
}

// ------------------------------------------ issue 10: merged tickets, stalled

#[test]
fn mail_to_a_merged_ticket_lands_on_the_ticket_it_was_merged_into() {
    for desk in Desk::both("") {
        desk.open_ticket(&john("Printer"));
        desk.open_ticket(&mail("Maria <maria@example.net>", "Printer too"));
        desk.run(&["merge", "2", "1"], b"").ok();
        let by_address = desk.send(&ticket_addr(2, ""), &john("more")).ok();
        assert_eq!(action(&by_address).1, json!(1));
        let by_tag = desk
            .send(
                SUBMIT,
                &mail("Maria <maria@example.net>", "Re: [myisp #2] Printer too"),
            )
            .ok();
        assert_eq!(action(&by_tag).1, json!(1));
        let t = desk.show(2);
        assert_eq!((&t["id"], &t["merged"]), (&json!(1), &json!([2])));
        assert_eq!(
            desk.list(&[]).as_array().unwrap().len(),
            1,
            "list shows the merged ticket"
        );
        assert_eq!(
            t["watchers"],
            json!(["john@example.com", "maria@example.net"])
        );
        // The merged ticket's messages joined, in date order.
        let kinds = desk.kinds(1);
        assert_eq!(
            kinds.iter().filter(|k| *k == "create").count(),
            2,
            "{kinds:?}"
        );
        assert!(kinds.contains(&"merge".to_string()), "{kinds:?}");
    }
}

#[test]
fn mail_from_a_person_opens_a_stalled_ticket_again() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.run(&["stall", "1"], b"").ok();
    assert_eq!(status(&desk, 1), "stalled");
    let run = desk.send(&ticket_addr(1, ""), &john("any news?")).ok();
    assert_eq!(action(&run), ("correspond".into(), json!(1), true));
    assert_eq!(status(&desk, 1), "open");
}

#[test]
fn cc_of_later_mail_adds_watchers_only_when_the_policy_says_always() {
    let later = || {
        john("Re: [myisp #1] Printer")
            .header("Cc", "Boss <boss@example.com>, ticket-1@help.example.org")
    };
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.send(SUBMIT, &later()).ok();
    assert_eq!(desk.show(1)["watchers"], json!(["john@example.com"]));

    let desk = Desk::with_config("[policy]\ncc_watchers = \"always\"\n");
    desk.open_ticket(&john("Printer"));
    desk.send(
        SUBMIT,
        &eve("Re: [myisp #1] Printer").header("Cc", "eve2@example.net"),
    )
    .ok();
    assert_eq!(
        desk.show(1)["watchers"],
        json!(["john@example.com"]),
        "a stranger's Cc"
    );
    desk.send(SUBMIT, &later()).ok();
    assert_eq!(
        desk.show(1)["watchers"],
        json!(["john@example.com", "boss@example.com"])
    );
    let last = last_entry(&desk, 1);
    assert_eq!(
        (&last["kind"], &last["new"]),
        (&json!("watcher"), &json!("boss@example.com"))
    );
}

#[test]
fn two_from_headers_never_make_a_sender_staff() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let forged = stef("Re: [myisp #1] Printer").add_header("From", "Eve <eve@example.net>");
    desk.clear_mail();
    desk.send(&ticket_addr(1, "-comment"), &forged).ok();
    assert_eq!(
        desk.kinds(1),
        ["create", "correspond"],
        "stored as correspondence"
    );
    assert!(
        desk.take_mail().iter().all(|m| !m.rcpts().contains(JOHN)),
        "relayed to the requestor as staff"
    );
}
