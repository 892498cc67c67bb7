//! The commands for people that issue 10 added or mended, through the real
//! binary: merge, stall, watch and unwatch; import of mailboxes as other
//! tools write them; flush, now and `--due`, alone and many at once; a
//! closed pipe; the editor's draft file; words that agree with numbers.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::Stdio;

use common::*;
use serde_json::{json, Value};

fn maria(subject: &str) -> Mail {
    mail("Maria <maria@example.net>", subject)
}

// ------------------------------------------------------------------- merge

#[test]
fn merge_joins_histories_watchers_and_addresses_and_show_follows() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.open_ticket(&maria("Printer on the 2nd floor").header("Cc", "kim@example.org"));
    desk.send(&ticket_addr(2, ""), &maria("still nothing")).ok();
    let run = desk.run(&["merge", "2", "1"], b"").ok();
    assert!(run.stderr.contains("merged into #1"), "{}", run.stderr);
    let one = desk.show(1);
    assert_eq!(one["merged"], json!([2]));
    assert_eq!(
        one["watchers"],
        json!(["john@example.com", "maria@example.net", "kim@example.org"])
    );
    let kinds: Vec<&str> = one["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["create", "create", "correspond", "merge"]);
    let merge = one["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((&merge["old"], &merge["new"]), (&json!("2"), &json!("1")));
    // show 2 is ticket 1; export 2 is ticket 1's messages.
    assert_eq!(desk.show(2)["id"], 1);
    let exported = desk.run(&["export", "2"], b"").ok();
    assert_eq!(mboxrd_messages(exported.stdout.as_bytes()).len(), 3);
    assert!(desk.run(&["check"], b"").ok().stdout.contains("ok"));
}

#[test]
fn merge_refuses_what_cannot_be_merged() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.open_ticket(&maria("Printer"));
    let same = desk.run(&["merge", "1", "1"], b"").code(1);
    assert!(same.stderr.contains("into itself"), "{}", same.stderr);
    desk.run(&["merge", "2", "1"], b"").ok();
    let again = desk.run(&["merge", "2", "1"], b"").code(1);
    assert!(
        again.stderr.contains("merged into #1 already"),
        "{}",
        again.stderr
    );
    let missing = desk.run(&["merge", "9", "1"], b"").code(1);
    assert!(
        missing.stderr.contains("no ticket #9"),
        "{}",
        missing.stderr
    );
}

// ------------------------------------------------------------------- stall

#[test]
fn stall_and_reopen_are_written_in_history() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.run(&["stall", "1"], b"").ok();
    assert_eq!(desk.show(1)["status"], "stalled");
    assert_eq!(
        desk.list(&["--status", "stalled"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    desk.run(&["stall", "1"], b"").code(1);
    desk.run(&["reopen", "1"], b"").ok();
    assert_eq!(desk.show(1)["status"], "open");
    let reopen_open = desk.run(&["reopen", "1"], b"").code(1);
    assert!(
        reopen_open
            .stderr
            .contains("is open, not resolved or stalled"),
        "{}",
        reopen_open.stderr
    );
    let statuses: Vec<(Value, Value)> = desk.show(1)["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| (e["old"].clone(), e["new"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("new"), json!("stalled")),
            (json!("stalled"), json!("open"))
        ]
    );
    let stats = desk.run(&["stats"], b"").ok();
    assert!(
        stats
            .stdout
            .contains("1 ticket: 0 new, 1 open, 0 stalled, 0 resolved"),
        "{}",
        stats.stdout
    );
}

// ------------------------------------------------------------------- watch

#[test]
fn watchers_are_added_and_removed_but_the_requestor_stays() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.run(&["watch", "1", "Boss@Example.com"], b"").ok();
    assert_eq!(
        desk.show(1)["watchers"],
        json!(["john@example.com", "boss@example.com"])
    );
    desk.run(&["watch", "1", "boss@example.com"], b"").code(1);
    desk.run(&["watch", "1", "not an address"], b"").code(1);
    desk.run(&["watch", "1", "ticket-1@help.example.org"], b"")
        .code(1);
    // Staff replies now reach the new watcher.
    desk.clear_mail();
    desk.run(&["reply", "1"], b"Fixed.\n").ok();
    let mails = desk.take_mail();
    assert!(Desk::one_to(&mails, "john@example.com")
        .rcpts()
        .contains("boss@example.com"));
    let requestor = desk.run(&["unwatch", "1", JOHN], b"").code(1);
    assert!(
        requestor.stderr.contains("requestor"),
        "{}",
        requestor.stderr
    );
    desk.run(&["unwatch", "1", "boss@example.com"], b"").ok();
    assert_eq!(desk.show(1)["watchers"], json!(["john@example.com"]));
    let changes: Vec<(Value, Value)> = desk.show(1)["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "watcher")
        .map(|e| (e["old"].clone(), e["new"].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (Value::Null, json!("boss@example.com")),
            (json!("boss@example.com"), Value::Null)
        ]
    );
}

// ------------------------------------------------------------------ import

/// An mbox as Python's `mailbox.mbox` writes it: `From MAILER-DAEMON …`
/// above every message.
fn python_mbox(messages: &[Mail]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From MAILER-DAEMON Mon Nov 16 10:00:00 2026\n");
        out.extend_from_slice(&m.bytes());
        out.extend_from_slice(b"\n");
    }
    out
}

#[test]
fn import_takes_the_bounce_decision_from_the_message_not_the_from_line() {
    let desk = Desk::new();
    let path = desk.path().join("python.mbox");
    let bounce = mail(
        "Mail Delivery System <MAILER-DAEMON@mx.example.net>",
        "Undelivered Mail",
    );
    std::fs::write(
        &path,
        python_mbox(&[john("Printer"), maria("Scanner"), bounce]),
    )
    .unwrap();
    let summary = desk
        .run(&["import", "--json", path.to_str().unwrap()], b"")
        .ok()
        .json();
    assert_eq!(
        (
            &summary["messages"],
            &summary["created"],
            &summary["bounces"],
            &summary["skipped"]
        ),
        (&json!(3), &json!(2), &json!(1), &json!(0)),
        "{summary}"
    );
}

#[test]
fn import_reads_past_a_byte_order_mark_and_names_what_it_skips() {
    let desk = Desk::new();
    let path = desk.path().join("bom.mbox");
    let mut mbox = b"\xef\xbb\xbf".to_vec();
    mbox.extend(python_mbox(&[john("Printer"), maria("Scanner")]));
    std::fs::write(&path, &mbox).unwrap();
    let summary = desk
        .run(&["import", "--json", path.to_str().unwrap()], b"")
        .ok()
        .json();
    assert_eq!(
        (&summary["messages"], &summary["created"]),
        (&json!(2), &json!(2)),
        "{summary}"
    );

    let stray = desk.path().join("stray.mbox");
    let mut mbox = b"Subject: a note someone pasted on top\n\nhello\n\n".to_vec();
    mbox.extend(python_mbox(&[john("Another")]));
    std::fs::write(&stray, &mbox).unwrap();
    let run = desk.run(&["import", stray.to_str().unwrap()], b"").ok();
    assert!(
        run.stdout.contains("1 skipped") && run.stdout.contains("imported 2 messages"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("skipped the start of")
            && run.stderr.contains("before the first `From ` line"),
        "{}",
        run.stderr
    );
}

// ------------------------------------------------------------ closed pipes

/// Runs `args` with a stdout whose reader is gone before pipedesk writes.
fn with_closed_stdout(desk: &Desk, args: &[&str]) -> (Option<i32>, String) {
    let mut child = desk
        .command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running pipedesk");
    drop(child.stdout.take());
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    (child.wait().expect("waiting").code(), stderr)
}

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let desk = Desk::new();
    // Enough output that no pipe buffer holds it.
    let long = "the printer is broken again\n".repeat(10_000);
    for i in 0..3 {
        desk.open_ticket(&john(&format!("Printer {i}")).body(&long));
    }
    for args in [
        &["list", "--json"][..],
        &["list"],
        &["show", "1", "--json"],
        &["show", "1"],
        &["export", "1"],
        &["search", "printer", "--json"],
        &["search", "printer"],
        &["stats", "--json"],
        &["attachments", "1", "--json"],
        &["completions", "bash"],
        &["man"],
        &["check"],
    ] {
        let (code, stderr) = with_closed_stdout(&desk, args);
        assert_eq!(code, Some(0), "pipedesk {args:?}: {stderr}");
        assert!(stderr.is_empty(), "pipedesk {args:?} said: {stderr}");
    }
}

// ------------------------------------------------------------------ editor

#[test]
fn the_editor_gets_a_private_draft_with_an_unguessable_name() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let seen = desk.path().join("seen");
    // A terminal for stdin, so that pipedesk opens the editor.
    let out = desk.run_with_editor(
        "reply 1",
        &format!(
            "printf '%s %s\\n' \"$1\" \"$(stat -c %a \"$1\")\" > {}\necho 'Try again now.' > \"$1\"",
            seen.display()
        ),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let seen = std::fs::read_to_string(&seen).expect("the editor ran");
    let (path, mode) = seen.trim().rsplit_once(' ').unwrap();
    assert_eq!(mode, "600", "the draft is readable by others");
    let name = std::path::Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("pipedesk-reply-") && name.ends_with(".txt"),
        "{name}"
    );
    let pid_name = format!("pipedesk-reply-{}.txt", out.status.code().unwrap_or(0));
    assert_ne!(name, pid_name);
    assert!(
        name.len() > "pipedesk-reply-.txt".len() + 5,
        "a guessable name: {name}"
    );
    assert!(
        !std::path::Path::new(path).exists(),
        "the draft was left behind"
    );
    let history = desk.show(1)["history"].clone();
    let reply = history
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "correspond")
        .expect("the reply is on the ticket")
        .clone();
    assert_eq!(
        reply["body"].as_str().map(str::trim),
        Some("Try again now.")
    );
}

// ------------------------------------------------------------------- flush

/// A sendmail that fails, for mail that must stay queued.
fn failing_sendmail(desk: &Desk) -> String {
    let script = desk.path().join("broken-sendmail");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'cannot reach the relay' >&2\nexit 75\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail = \"{}\"\n",
        script.display()
    )
}

/// Message-ID → how many times it was written to the outbox folder.
fn sent_ids(desk: &Desk) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in desk.outbox() {
        *counts.entry(m.header("Message-ID")).or_insert(0) += 1;
    }
    counts
}

#[test]
fn flush_sends_now_and_flush_due_waits_for_the_back_off() {
    let desk = Desk::new();
    desk.set_config(&failing_sendmail(&desk));
    desk.open_ticket(&john("Printer"));
    desk.set_config("");
    let due = desk.run(&["flush", "--due"], b"").ok();
    assert!(due.stderr.contains("sent 0 mails"), "{}", due.stderr);
    assert!(
        due.stderr.contains("2 mails still queued"),
        "{}",
        due.stderr
    );
    assert!(
        due.stderr.contains("cannot reach the relay"),
        "why it waits: {}",
        due.stderr
    );
    assert!(due.stderr.contains("back-off"), "{}", due.stderr);
    assert!(desk.outbox().is_empty());
    let now = desk.run(&["flush"], b"").ok();
    assert!(
        now.stderr.contains("sent 2 mails, 0 failed"),
        "{}",
        now.stderr
    );
    assert!(!now.stderr.contains("still queued"), "{}", now.stderr);
    assert_eq!(desk.outbox().len(), 2);
    let again = desk.run(&["flush", "--json"], b"").ok().json();
    assert_eq!(again, json!({"sent": [], "failed": [], "waiting": []}));
}

#[test]
fn flushes_and_deliveries_at_once_send_every_mail_exactly_once() {
    let desk = Desk::new();
    desk.set_config(&failing_sendmail(&desk));
    // 50 new tickets: an autoreply and an admin notice each, all queued.
    std::thread::scope(|s| {
        for w in 0..2 {
            let desk = &desk;
            s.spawn(move || {
                for i in 0..25 {
                    desk.open_ticket(&mail(
                        &format!("Customer {w}-{i} <c{w}-{i}@example.com>"),
                        &format!("Request {w}-{i}"),
                    ));
                }
            });
        }
    });
    desk.set_config("");
    assert!(desk.outbox().is_empty());
    let runs: Vec<Run> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for i in 0..6 {
            let desk = &desk;
            handles.push(s.spawn(move || {
                let args: &[&str] = if i % 3 == 2 {
                    &["flush", "--due"]
                } else {
                    &["flush"]
                };
                desk.run(args, b"")
            }));
        }
        for i in 0..10 {
            let desk = &desk;
            handles.push(s.spawn(move || {
                desk.send(
                    SUBMIT,
                    &mail(&format!("Late {i} <late{i}@example.com>"), "Late"),
                )
            }));
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &runs {
        assert_eq!(r.code, 0, "{r}");
    }
    let counts = sent_ids(&desk);
    let twice: Vec<(&String, &usize)> = counts.iter().filter(|(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(counts.len(), 100 + 20, "every mail sent");
    let after = desk.run(&["flush", "--json"], b"").ok().json();
    assert_eq!(after["sent"], json!([]));
    assert_eq!(after["waiting"], json!([]));
}

// ----------------------------------------------------------------- plurals

#[test]
fn counts_read_as_english() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    let stats = desk.run(&["stats"], b"").ok().stdout;
    assert!(stats.starts_with("1 ticket:"), "{stats}");
    let path = desk.path().join("one.mbox");
    std::fs::write(&path, python_mbox(&[maria("Scanner")])).unwrap();
    let import = desk
        .run(&["import", path.to_str().unwrap()], b"")
        .ok()
        .stdout;
    assert!(
        import.contains("imported 1 message from") && import.contains(": 1 new ticket,"),
        "{import}"
    );
    assert!(
        !import.contains("1 messages") && !import.contains("1 tickets"),
        "{import}"
    );
    desk.clear_mail();
    let reply = desk.run(&["reply", "1"], b"ok\n").ok();
    assert!(reply.stderr.contains("1 mail queued"), "{}", reply.stderr);
}

// -------------------------------------------------------------------- spam

#[test]
fn spam_moves_a_ticket_out_of_its_queue_and_the_undo_puts_it_back_open() {
    let desk = Desk::new();
    let web = desk.send("webmaster@help.example.org", &maria("Buy now"));
    let id = web.ok().json()["ticket"].as_i64().expect("a ticket");
    assert_eq!(desk.show(id)["queue"], "web");
    let run = desk.run(&["spam", &id.to_string()], b"").ok();
    assert!(run.stderr.contains("marked as spam"), "{}", run.stderr);
    let t = desk.show(id);
    assert_eq!(
        (&t["queue"], &t["status"]),
        (&json!("spam"), &json!("resolved"))
    );
    let spam: Vec<Value> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "spam")
        .cloned()
        .collect();
    assert_eq!(spam.len(), 1, "{t}");
    assert_eq!(spam[0]["new"], "spam");
    let again = desk.run(&["spam", &id.to_string()], b"").code(1);
    assert!(again.stderr.contains("already"), "{}", again.stderr);
    desk.run(&["spam", &id.to_string(), "--undo"], b"").ok();
    let t = desk.show(id);
    assert_eq!((&t["queue"], &t["status"]), (&json!("web"), &json!("open")));
    let last = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "spam")
        .cloned()
        .unwrap();
    assert_eq!(last["new"], "not spam");
    let undo = desk.run(&["spam", &id.to_string(), "--undo"], b"").code(1);
    assert!(
        undo.stderr.contains("not in the queue spam"),
        "{}",
        undo.stderr
    );
    assert!(desk.run(&["check"], b"").ok().stdout.contains("ok"));
}

#[test]
fn list_leaves_the_spam_queue_out_unless_asked_for_it() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.send(SUBMIT, &maria("pills").header("X-Spam-Flag", "YES"))
        .ok();
    desk.open_ticket(&mail("kim@example.org", "Scanner"));
    desk.run(&["spam", "3"], b"").ok();
    let ids = |v: Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(desk.list(&[])), [1]);
    assert_eq!(ids(desk.list(&["--status", "resolved"])), Vec::<i64>::new());
    assert_eq!(ids(desk.list(&["--queue", "spam"])), [2, 3]);
    let table = desk.run(&["list"], b"").ok();
    assert!(!table.stdout.contains("pills"), "{}", table.stdout);
}
