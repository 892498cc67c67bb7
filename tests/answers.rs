//! Answers with what they need (issue 17; SPEC §4, §5 `create`, `reply`,
//! `comment`, `canned`, §6): files attached to replies and comments, stored
//! as the message that was sent and relayed with it; reply and resolve as
//! one change; tickets staff open for someone; canned answers; the
//! editor's draft — through the real binary and the HTTP API.

mod common;

use common::web::*;
use common::*;
use serde_json::{json, Value};

const MARIA: &str = "maria@example.net";

fn maria(subject: &str) -> Mail {
    mail("Maria Keller <maria@example.net>", subject)
}

/// A file in the desk's folder.
fn file(desk: &Desk, name: &str, bytes: &[u8]) -> String {
    let path = desk.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// A desk with a database and no ticket yet.
fn empty_desk() -> Desk {
    let desk = Desk::new();
    desk.run(&["init", &desk.config_path().display().to_string()], b"")
        .ok();
    desk
}

/// Bytes no text decoding leaves alone.
const PDF: &[u8] = b"%PDF-1.4\n\x00\x01\x02\xff\xfe binary \r\n\x80 end\n";

fn history(desk: &Desk, n: i64) -> Vec<Value> {
    desk.show(n)["history"].as_array().unwrap().clone()
}

fn statuses(history: &[Value]) -> Vec<(String, String)> {
    history
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| {
            (
                e["old"].as_str().unwrap().to_string(),
                e["new"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ------------------------------------------------------------- attachments

#[test]
fn a_reply_carries_its_files_to_the_requestor_and_keeps_them_on_the_ticket() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    let log = file(&desk, "printer.log", b"E42 toner\nE43 fuser\n");
    let pdf = file(&desk, "Schäden Bericht.pdf", PDF);
    desk.clear_mail();
    desk.run(
        &["reply", "1", "--attach", &log, "--attach", &pdf],
        b"The log and the report are attached.\n",
    )
    .ok();

    let mails = desk.take_mail();
    let to_maria = Desk::one_to(&mails, MARIA);
    assert!(
        to_maria.body().contains("The log and the report"),
        "{}",
        to_maria.text()
    );
    assert!(
        to_maria.headers("Auto-Submitted").is_empty(),
        "{}",
        to_maria.head()
    );
    assert_eq!(
        to_maria.attachments(),
        [
            (
                "printer.log".to_string(),
                "text/plain".to_string(),
                b"E42 toner\nE43 fuser\n".to_vec()
            ),
            (
                "Schäden Bericht.pdf".to_string(),
                "application/pdf".to_string(),
                PDF.to_vec()
            ),
        ]
    );

    // Stored as the message that was sent: the thread, `attachments` and
    // `export` read the same files.
    let last = history(&desk, 1)
        .into_iter()
        .rfind(|e| e["kind"] == "correspond")
        .unwrap();
    assert_eq!(last["author"], ADMIN);
    assert_eq!(
        last["attachments"],
        json!([
            {"filename": "printer.log", "content_type": "text/plain", "size": 20},
            {"filename": "Schäden Bericht.pdf", "content_type": "application/pdf", "size": PDF.len()},
        ])
    );
    let listed = desk.run(&["attachments", "1", "--json"], b"").ok().json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["printer.log", "Schäden Bericht.pdf"]);
    let saved = desk.path().join("saved");
    desk.run(
        &["attachments", "1", "--save", &saved.display().to_string()],
        b"",
    )
    .ok();
    assert_eq!(
        std::fs::read(saved.join("Schäden Bericht.pdf")).unwrap(),
        PDF,
        "saved: {:?}",
        std::fs::read_dir(&saved).unwrap().collect::<Vec<_>>()
    );
    let export = desk.run(&["export", "1"], b"").ok();
    let messages = mboxrd_messages(export.stdout.as_bytes());
    assert_eq!(messages.len(), 2);
    let sent = String::from_utf8_lossy(&messages[1]);
    assert!(sent.contains("multipart/mixed"), "{sent}");
    assert!(sent.contains("printer.log"), "{sent}");
}

#[test]
fn a_comment_carries_its_files_to_staff_and_never_to_the_requestor() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    let shot = file(&desk, "screen.png", b"\x89PNG\r\n\x1a\nnot really");
    desk.clear_mail();
    desk.run(
        &["comment", "1", "--as", MEMBER, "--attach", &shot],
        b"Looks like the fuser.\n",
    )
    .ok();
    let mails = desk.take_mail();
    assert!(
        mails
            .iter()
            .all(|m| !m.forward_path.iter().any(|r| r == MARIA)),
        "{:?}",
        summary(&mails)
    );
    let to_stef = Desk::one_to(&mails, ADMIN);
    assert_eq!(
        to_stef.attachments(),
        [(
            "screen.png".to_string(),
            "image/png".to_string(),
            b"\x89PNG\r\n\x1a\nnot really".to_vec()
        )]
    );
    let comment = history(&desk, 1)
        .into_iter()
        .rfind(|e| e["kind"] == "comment")
        .unwrap();
    assert_eq!(comment["attachments"][0]["filename"], "screen.png");
}

#[test]
fn a_file_that_cannot_be_read_sends_nothing() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    desk.clear_mail();
    let r = desk
        .run(
            &["reply", "1", "--attach", "no-such-file.pdf"],
            b"Attached.\n",
        )
        .code(1);
    assert!(r.stderr.contains("no-such-file.pdf"), "{}", r.stderr);
    assert!(desk.take_mail().is_empty());
    assert_eq!(desk.kinds(1), ["create"]);
}

#[test]
fn files_over_the_message_limit_are_refused_whole() {
    let desk = Desk::with_config("[policy]\nmax_message_bytes = 2000\n");
    desk.open_ticket(&maria("Printer on fire"));
    let big = file(&desk, "big.bin", &[7u8; 4000]);
    desk.clear_mail();
    let r = desk
        .run(&["reply", "1", "--attach", &big], b"Big.\n")
        .code(1);
    assert!(r.stderr.contains("max_message_bytes"), "{}", r.stderr);
    assert!(desk.take_mail().is_empty());
    assert_eq!(desk.kinds(1), ["create"]);
}

// ------------------------------------------------------- reply and resolve

#[test]
fn reply_and_resolve_is_one_change_and_the_reply_is_the_only_mail() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    desk.clear_mail();
    let before = desk.show(1)["version"].as_i64().unwrap();
    let r = desk
        .run(&["reply", "1", "--resolve"], b"Fixed: new fuser.\n")
        .ok();
    assert!(r.stderr.contains("resolved"), "{}", r.stderr);
    let t = desk.show(1);
    assert_eq!(t["status"], "resolved");
    assert!(t["version"].as_i64().unwrap() > before);
    let h = history(&desk, 1);
    // Straight from new to resolved, after the reply: no open in between.
    assert_eq!(statuses(&h), [("new".to_string(), "resolved".to_string())]);
    let kinds: Vec<&str> = h.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["create", "correspond", "status"]);
    // The requestor gets the reply, and no resolved notice repeating it.
    let mails = desk.take_mail();
    let to_maria = Desk::one_to(&mails, MARIA);
    assert!(to_maria.body().contains("new fuser"), "{}", to_maria.text());
    assert!(
        !to_maria.subject().contains("Resolved"),
        "{}",
        to_maria.subject()
    );
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
}

#[test]
fn reply_and_stall_leaves_the_ticket_waiting_and_a_resolved_one_stays_resolved() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    desk.run(&["reply", "1", "--stall"], b"Which model is it?\n")
        .ok();
    assert_eq!(desk.show(1)["status"], "stalled");
    // Her answer reopens it, as any mail from her does.
    desk.send(
        &ticket_addr(1, ""),
        &maria("Re: Printer on fire").body("An LX-300.\n"),
    )
    .ok();
    assert_eq!(desk.show(1)["status"], "open");
    desk.run(&["close", "1"], b"").ok();
    // A last word on a resolved ticket, resolving it: it never reopens.
    desk.run(&["reply", "1", "--resolve"], b"Glad it works.\n")
        .ok();
    let h = history(&desk, 1);
    assert_eq!(desk.show(1)["status"], "resolved");
    assert_eq!(
        statuses(&h).last().unwrap(),
        &("open".to_string(), "resolved".to_string())
    );
    assert_eq!(h.last().unwrap()["kind"], "correspond");
    let r = desk.run(&["reply", "1", "--resolve", "--stall"], b"Both?\n");
    assert_ne!(r.code, 0, "{r}");
}

// ------------------------------------------------------- tickets staff open

#[test]
fn create_opens_a_ticket_for_the_requestor_with_staff_words_mailed_as_a_reply() {
    let desk = empty_desk();
    let notes = file(&desk, "notes.txt", b"called at 9:40\n");
    let r = desk
        .run(
            &[
                "create",
                "--requestor",
                "Maria Keller <maria@example.net>",
                "--subject",
                "Printer on the 2nd floor",
                "--queue",
                "WEB",
                "--attach",
                &notes,
                "--as",
                MEMBER,
            ],
            b"As we said on the phone: a technician comes on Monday.\n",
        )
        .ok();
    assert_eq!(r.stdout.trim(), "1");
    let t = desk.show(1);
    assert_eq!(t["requestor"], MARIA);
    assert_eq!(t["queue"], "web");
    assert_eq!(t["status"], "open");
    assert_eq!(t["subject"], "Printer on the 2nd floor");
    assert_eq!(t["watchers"], json!([MARIA]));
    let first = &t["history"][0];
    assert_eq!(first["kind"], "create");
    assert_eq!(first["author"], MEMBER);
    assert!(first["body"].as_str().unwrap().contains("technician"));
    assert_eq!(first["attachments"][0]["filename"], "notes.txt");

    // One mail: the opening message to her, as a person's words (no
    // Auto-Submitted), no autoreply and no new-ticket notice.
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let to_maria = Desk::one_to(&mails, MARIA);
    assert!(
        to_maria.headers("Auto-Submitted").is_empty(),
        "{}",
        to_maria.head()
    );
    assert!(
        to_maria.subject().starts_with("[myisp #1]"),
        "{}",
        to_maria.subject()
    );
    assert!(to_maria.subject().contains("Printer on the 2nd floor"));
    assert!(
        !to_maria.subject().contains("Re:"),
        "{}",
        to_maria.subject()
    );
    assert!(to_maria.body().contains("technician comes on Monday"));
    assert_eq!(to_maria.header("Reply-To"), ticket_addr(1, ""));
    assert!(!to_maria.header("Thread-Index").is_empty());
    assert!(
        to_maria.display_name().unwrap_or_default().contains(MEMBER),
        "{}",
        to_maria.head()
    );
    assert_eq!(to_maria.attachments()[0].0, "notes.txt");
    assert_eq!(
        desk.db().texts("SELECT kind FROM outbox", &[]),
        ["staff_reply"]
    );

    // Her answer threads onto the ticket by its tag.
    desk.send(
        SUBMIT,
        &maria("Re: [myisp #1] Printer on the 2nd floor").body("Monday is fine.\n"),
    )
    .ok();
    assert_eq!(desk.ticket_count(), 1);
    assert_eq!(desk.kinds(1).last().unwrap(), "correspond");
}

#[test]
fn create_without_mail_tells_nobody_and_prints_the_ticket_as_json() {
    let desk = empty_desk();
    let t = desk
        .run(
            &[
                "create",
                "--requestor",
                MARIA,
                "--subject",
                "Walk-in: password reset",
                "--no-mail",
                "--json",
            ],
            b"Reset at the desk, id checked.\n",
        )
        .ok()
        .json();
    assert_eq!(t["id"], 1);
    assert_eq!(t["requestor"], MARIA);
    assert_eq!(t["queue"], "general");
    assert_eq!(t["history"][0]["author"], ADMIN);
    assert_json(&desk.show(1), &t);
    assert!(desk.outbox().is_empty());
}

#[test]
fn create_refuses_what_it_cannot_use_and_opens_nothing() {
    let desk = empty_desk();
    let cases: [(&[&str], &[u8], &str); 5] = [
        (
            &["--queue", "sales"],
            b"Hi.\n",
            "unknown queue \"sales\" (general, web or spam)",
        ),
        (&[], b"  \n", "empty text"),
        (
            &["--requestor", "submit@help.example.org"],
            b"Hi.\n",
            "our own addresses",
        ),
        (
            &["--requestor", "not an address"],
            b"Hi.\n",
            "not a mail address",
        ),
        (&["--as", MARIA], b"Hi.\n", "not on staff"),
    ];
    for (more, body, says) in cases {
        let mut args = vec!["create", "--subject", "Phone call"];
        if !more.contains(&"--requestor") {
            args.extend(["--requestor", MARIA]);
        }
        args.extend_from_slice(more);
        let r = desk.run(&args, body).code(1);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
    assert_eq!(desk.ticket_count(), 0);
    assert!(desk.outbox().is_empty());
}

// ------------------------------------------------------------ canned answers

/// A desk with ticket 1 from Maria and two canned answers.
fn canned_desk() -> Desk {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    let dir = desk.path().join("canned");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("thanks.txt"),
        "Title: Thanks, we are on it\nHello {{ requestor.name }},\n\nticket #{{ ticket.id }} ({{ ticket.subject }}) is in hand.\n\n{{ staff.name }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("typo.txt"),
        "Title: A broken one\nDear {{ requestor.nmae }},\n",
    )
    .unwrap();
    desk.clear_mail();
    desk
}

#[test]
fn canned_lists_the_answers_and_reply_sends_one_filled_in() {
    let desk = canned_desk();
    let listed = desk.run(&["canned"], b"").ok();
    assert!(
        listed.stdout.contains("thanks  Thanks, we are on it"),
        "{}",
        listed.stdout
    );
    assert_eq!(
        desk.run(&["canned", "--json"], b"").ok().json(),
        json!([
            {"name": "thanks", "title": "Thanks, we are on it"},
            {"name": "typo", "title": "A broken one"},
        ])
    );
    // From stdin, the text read comes below the canned answer.
    desk.run(
        &["reply", "1", "--canned", "thanks"],
        b"PS: keep it unplugged.\n",
    )
    .ok();
    let mails = desk.take_mail();
    let body = Desk::one_to(&mails, MARIA).body();
    assert!(body.contains("Hello Maria Keller,"), "{body}");
    assert!(
        body.contains("ticket #1 (Printer on fire) is in hand."),
        "{body}"
    );
    assert!(body.contains(ADMIN), "{body}");
    assert!(body.contains("PS: keep it unplugged."), "{body}");
    assert!(body.find("Hello").unwrap() < body.find("PS:").unwrap());
}

#[test]
fn an_unknown_canned_answer_or_name_in_one_is_an_error_and_sends_nothing() {
    let desk = canned_desk();
    let r = desk.run(&["reply", "1", "--canned", "thx"], b"").code(1);
    assert!(
        r.stderr
            .contains("no canned answer \"thx\" (known: thanks, typo)"),
        "{}",
        r.stderr
    );
    let r = desk.run(&["reply", "1", "--canned", "typo"], b"").code(1);
    assert!(r.stderr.contains("requestor.nmae"), "{}", r.stderr);
    let r = desk
        .run(&["reply", "1", "--canned", "../pipedesk"], b"")
        .code(1);
    assert!(r.stderr.contains("no canned answer"), "{}", r.stderr);
    assert!(desk.take_mail().is_empty());
    assert_eq!(desk.kinds(1), ["create"]);
}

#[test]
fn check_warns_of_a_canned_answer_that_names_what_it_may_not() {
    let desk = canned_desk();
    let r = desk.run(&["check"], b"").ok();
    assert!(
        r.stderr
            .contains("warning: canned answer \"typo\": unknown name requestor.nmae"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("\"thanks\""), "{}", r.stderr);
}

// ------------------------------------------------------------ the editor

/// Runs `pipedesk ARGS` with a terminal for stdin (script(1)), `$EDITOR`
/// being a script that keeps a copy of the draft in `draft.seen` and then
/// runs `edit` on it (`$1`).
fn with_editor(desk: &Desk, args: &str, edit: &str) -> (bool, String, String) {
    let seen = desk.path().join("draft.seen");
    let out = desk.run_with_editor(args, &format!("cp \"$1\" {}\n{edit}", seen.display()));
    (
        out.status.success(),
        std::fs::read_to_string(&seen).unwrap_or_default(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_editor_draft_quotes_the_last_message_under_the_ticket_and_drops_comment_lines() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire").body("It smokes.\n\nWhat now?\n"));
    desk.clear_mail();
    let (ok, draft, out) = with_editor(
        &desk,
        "reply 1",
        "printf 'Unplug it.\\n# a note to myself\\n' | cat - \"$1\" > \"$1.new\" && mv \"$1.new\" \"$1\"",
    );
    assert!(ok, "{out}");
    assert!(
        draft.starts_with("# Reply to ticket #1: Printer on fire\n"),
        "{draft}"
    );
    assert!(
        draft.contains(&format!("{MARIA} wrote:\n> It smokes.\n>\n> What now?\n")),
        "{draft}"
    );
    let mails = desk.take_mail();
    let body = Desk::one_to(&mails, MARIA).body().replace("\r\n", "\n");
    assert!(body.trim_start().starts_with("Unplug it.\n"), "{body:?}");
    assert!(body.contains("> It smokes."), "{body}");
    assert!(!body.contains('#'), "{body}");

    // The next draft answers Maria again, not our own reply; saved as it
    // came, a quote alone is nobody's answer: nothing is sent.
    let (ok, draft, out) = with_editor(&desk, "reply 1", "true");
    assert!(draft.contains("> It smokes."), "{draft}");
    assert!(!draft.contains("> Unplug it."), "{draft}");
    assert!(!ok, "{out}");
    assert!(out.contains("not changed"), "{out}");
    assert!(desk.take_mail().is_empty());
}

#[test]
fn the_editor_draft_holds_the_canned_answer() {
    let desk = canned_desk();
    let (ok, draft, out) = with_editor(&desk, "reply 1 --canned thanks --resolve", "true");
    assert!(ok, "{out}");
    assert!(draft.contains("Hello Maria Keller,"), "{draft}");
    assert!(!draft.contains("> "), "{draft}");
    let mails = desk.take_mail();
    let body = Desk::one_to(&mails, MARIA).body();
    assert!(
        body.trim_start().starts_with("Hello Maria Keller,"),
        "{body:?}"
    );
    assert_eq!(desk.show(1)["status"], "resolved");
}

// ------------------------------------------------------------ the HTTP API

fn served(desk: &Desk) -> (Server, String) {
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    (server, cookie)
}

/// A multipart/form-data body of `fields` and `files` (name, filename,
/// bytes as text), and its Content-Type.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str)]) -> (String, String) {
    let boundary = "----pipedesk-test-7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    for (name, filename, content) in files {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (body, format!("multipart/form-data; boundary={boundary}"))
}

#[test]
fn the_api_takes_a_reply_with_files_as_multipart_and_resolves_in_the_same_change() {
    let desk = Desk::new();
    desk.open_ticket(&maria("Printer on fire"));
    let (server, cookie) = served(&desk);
    desk.clear_mail();
    let (body, kind) = multipart(
        &[("body", "Both logs attached."), ("status", "resolved")],
        &[
            ("attachment", "first.log", "one\n"),
            ("attachment", "second.csv", "a,b\n1,2\n"),
            // An input left empty: no file.
            ("attachment", "", ""),
        ],
    );
    let h = [
        ("Cookie", cookie.as_str()),
        ("Origin", server.url.as_str()),
        ("Content-Type", kind.as_str()),
    ];
    let r = server.post("/api/tickets/1/reply", &h, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(t["status"], "resolved");
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", t["version"]).as_str())
    );
    let h = t["history"].as_array().unwrap();
    assert_eq!(statuses(h), [("new".to_string(), "resolved".to_string())]);
    let sent = h.iter().rfind(|e| e["kind"] == "correspond").unwrap();
    assert_eq!(
        sent["attachments"],
        json!([
            {"filename": "first.log", "content_type": "text/plain", "size": 4},
            {"filename": "second.csv", "content_type": "text/csv", "size": 8},
        ])
    );
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let names: Vec<String> = Desk::one_to(&mails, MARIA)
        .attachments()
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(names, ["first.log", "second.csv"]);

    // JSON with a status too; a comment with a status is refused.
    let json_h = [
        ("Cookie", cookie.as_str()),
        ("Origin", server.url.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = server.post(
        "/api/tickets/1/reply",
        &json_h,
        r#"{"body": "Any news?", "status": "stalled"}"#,
    );
    assert_eq!(r.json()["status"], "stalled", "{}", r.body);
    let r = server.post(
        "/api/tickets/1/comment",
        &json_h,
        r#"{"body": "x", "status": "resolved"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = server.post(
        "/api/tickets/1/reply",
        &json_h,
        r#"{"body": "x", "status": "closed"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);

    // Files from another site are refused before they are read.
    let (body, kind) = multipart(&[("body", "evil")], &[("attachment", "x.txt", "x")]);
    let r = server.post(
        "/api/tickets/1/comment",
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", "http://evil.example"),
            ("Content-Type", kind.as_str()),
        ],
        &body,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // And without a session, whatever the origin.
    let r = server.post(
        "/api/tickets/1/comment",
        &[
            ("Origin", server.url.as_str()),
            ("Content-Type", kind.as_str()),
        ],
        &body,
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(desk.kinds(1).iter().filter(|k| *k == "comment").count(), 0);
}

#[test]
fn the_api_opens_a_ticket_for_someone() {
    let desk = Desk::new();
    let (server, cookie) = served(&desk);
    let token = desk.token(MEMBER);
    let bearer = format!("Bearer {token}");
    let h = [("Authorization", bearer.as_str())];
    let r = server.post(
        "/api/tickets",
        &h,
        &json!({"requestor": MARIA, "subject": "Phone: scanner", "body": "Called about the scanner.", "queue": "web"})
            .to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let t = r.json();
    assert_eq!((t["id"].as_i64(), &t["queue"]), (Some(1), &json!("web")));
    assert_eq!(t["history"][0]["author"], MEMBER);
    assert_json(&desk.show(1), &t);
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert!(Desk::one_to(&mails, MARIA)
        .headers("Auto-Submitted")
        .is_empty());

    let r = server.post(
        "/api/tickets",
        &h,
        &json!({"requestor": MARIA, "subject": "Walk-in", "body": "Done at the desk.", "mail": false})
            .to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(desk.take_mail().is_empty());

    let r = server.post(
        "/api/tickets",
        &h,
        &json!({"requestor": MARIA, "subject": "x", "body": "y", "queue": "sales"}).to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("(general, web or spam)"),
        "{}",
        r.body
    );
    assert_eq!(desk.ticket_count(), 2);
    let _ = cookie;
}

#[test]
fn the_api_lists_canned_answers_and_fills_one_in_for_a_ticket() {
    let desk = canned_desk();
    let (server, cookie) = served(&desk);
    let c = [("Cookie", cookie.as_str())];
    assert_eq!(
        server.get("/api/canned", &c).status(200).json(),
        desk.run(&["canned", "--json"], b"").ok().json()
    );
    let text = server
        .get("/api/tickets/1/canned/thanks", &c)
        .status(200)
        .json();
    assert_eq!(
        text,
        json!({"text": format!("Hello Maria Keller,\n\nticket #1 (Printer on fire) is in hand.\n\n{ADMIN}\n")})
    );
    let r = server.get("/api/tickets/1/canned/typo", &c).status(400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("requestor.nmae"));
    let r = server.get("/api/tickets/1/canned/nope", &c).status(400);
    assert!(r.json()["error"].as_str().unwrap().contains("\"nope\""));
    server.get("/api/tickets/9/canned/thanks", &c).status(404);
    server.get("/api/canned", &[]).status(401);
}

// ------------------------------------------------------------ the pages

#[test]
fn the_pages_have_the_answer_forms_and_open_tickets() {
    let desk = canned_desk();
    let (server, cookie) = served(&desk);
    let c = [("Cookie", cookie.as_str())];
    let page = server.get("/tickets/1", &c).status(200).body;
    for needle in [
        r#"data-action="reply""#,
        r#"data-action="comment""#,
        r#"enctype="multipart/form-data""#,
        r#"<input type="file" name="attachment" multiple>"#,
        r#"<button name="status" value="resolved">Send and resolve</button>"#,
        r#"<select data-canned data-ticket="1">"#,
        r#"<option value="thanks">Thanks, we are on it</option>"#,
        r#"<script src="/assets/answer.js" defer></script>"#,
    ] {
        assert!(page.contains(needle), "no {needle} in the thread page");
    }
    assert!(server
        .get("/assets/answer.js", &[])
        .status(200)
        .body
        .contains("/canned/"));
    let board = server.get("/", &c).status(200).body;
    assert!(board.contains(r#"href="/tickets/new""#));
    let new = server.get("/tickets/new", &c).status(200).body;
    for field in ["requestor", "subject", "queue", "body", "attachment"] {
        assert!(new.contains(&format!("name=\"{field}\"")), "no {field}");
    }
    assert!(new.contains(r#"data-action="create""#));

    // A form without files, as a browser without them may send it.
    let r = server.form(
        &cookie,
        "/tickets/new",
        "requestor=kim%40example.org&subject=Phone&queue=general&body=Called.&mail=true",
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/tickets/2"));
    assert_eq!(desk.show(2)["requestor"], "kim@example.org");
    let r = server.form(
        &cookie,
        "/tickets/new",
        "requestor=kim%40example.org&subject=Phone&queue=sales&body=Called.",
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unknown queue"), "{}", r.body);
    assert!(
        r.body.contains("value=\"kim@example.org\""),
        "the form keeps what was typed"
    );

    // The reply form's Send and resolve, as a form post.
    desk.clear_mail();
    let r = server.form(&cookie, "/tickets/1/reply", "body=Done.&status=resolved");
    assert_eq!(r.status, 303);
    assert_eq!(desk.show(1)["status"], "resolved");
    assert_eq!(desk.take_mail().len(), 1);
}

#[test]
fn the_api_refuses_files_over_the_message_limit_and_sends_nothing() {
    let desk = Desk::with_config("[policy]\nmax_message_bytes = 3000\n");
    desk.open_ticket(&maria("Printer on fire"));
    let (server, cookie) = served(&desk);
    desk.clear_mail();
    // Larger than the limit themselves, or once encoded in the message.
    for size in [4000, 2500] {
        let (body, kind) = multipart(
            &[("body", "Big.")],
            &[("attachment", "big.txt", &"x".repeat(size))],
        );
        let r = server.post(
            "/api/tickets/1/reply",
            &[
                ("Cookie", cookie.as_str()),
                ("Origin", server.url.as_str()),
                ("Content-Type", kind.as_str()),
            ],
            &body,
        );
        assert_eq!(r.status, 400, "{size}: {}", r.body);
        assert!(r.body.contains("max_message_bytes"), "{size}: {}", r.body);
    }
    assert!(desk.take_mail().is_empty());
    assert_eq!(desk.kinds(1), ["create"]);
}
