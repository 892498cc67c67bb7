//! Issue 18, the mail and command side: no mail can stop the desk, keep a
//! message waiting at the MTA for its own fault, or make it send to many;
//! sending never hangs; `flush`, `check`, `init` and `import` as an admin
//! running it for years needs them (SPEC §2–§5).
//!
//! The desk is the harness's (`tests/common`); SQLite here, PostgreSQL in
//! `tests/pg_harden.rs`.

mod common;

use std::time::Duration;

use common::bounded;
use common::{mail, Desk, Sent, ADMIN, SUBMIT};

/// Upper bound for a delivery the SPEC says takes "no longer than reading
/// its bytes": generous for a debug build on a busy two-core machine, far
/// below the ten minutes the quadratic Cc reading took. Not a benchmark.
const BOUND: Duration = Duration::from_secs(60);

/// A message from an outsider with `n` distinct Cc addresses (plus a few
/// repeats), folded as a mail program would write them.
fn many_cc(n: usize) -> Vec<u8> {
    let mut out = String::with_capacity(n * 20 + 1000);
    out.push_str(
        "From: Mallory <mallory@evil.example>\r\nTo: submit@help.example.org\r\n\
         Subject: look at all my friends\r\nMessage-ID: <many-cc@evil.example>\r\n\
         Date: Tue, 17 Nov 2026 15:00:00 +0000\r\nCc: ",
    );
    for i in 0..n {
        if i > 0 {
            out.push_str(if i % 4 == 0 { ",\r\n " } else { ", " });
        }
        out.push_str(&format!("v{i}@x.example"));
    }
    // Repeats, in another case: still one watcher each.
    out.push_str(",\r\n V0@X.example, v1@x.example\r\n\r\nhi\r\n");
    out.into_bytes()
}

/// Every header line of a sent mail is at most 998 characters (RFC 5322
/// §2.1.1), however many recipients it names.
#[track_caller]
fn assert_folded(mail: &Sent) {
    for line in mail.head().split("\r\n").flat_map(|l| l.split('\n')) {
        assert!(
            line.len() <= 998,
            "a header line of {} characters",
            line.len()
        );
    }
}

#[test]
fn a_million_cc_are_read_in_seconds_and_add_at_most_max_watchers() {
    let desk = Desk::with_config("[policy]\nbusy_wait_secs = 3\n");
    let raw = many_cc(1_000_000);
    assert!(raw.len() > 15_000_000 && raw.len() < 52_428_800);
    let mut cmd = desk.command();
    cmd.args(["deliver", "--json", "--recipient", SUBMIT]);
    let big = std::thread::spawn(move || bounded::run(cmd, &raw, BOUND * 3));
    // Meanwhile others deliver: none may wait past busy_wait_secs (exit 75).
    let mut others = 0;
    while !big.is_finished() || others == 0 {
        let m = mail("Pat <pat@example.net>", &format!("meanwhile {others}"));
        desk.send(SUBMIT, &m).ok();
        others += 1;
    }
    let out = big.join().expect("the big delivery");
    out.assert_code(0, "a million Cc");
    assert!(out.took < BOUND, "a million Cc took {:?}", out.took);
    let ticket: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let n = ticket["ticket"].as_i64().expect("a ticket");
    let shown = desk.show(n);
    let watchers = shown["watchers"].as_array().expect("watchers");
    assert_eq!(
        watchers.len(),
        20,
        "policy.max_watchers, the requestor counts"
    );
    assert_eq!(watchers[0], "mallory@evil.example");
    let said = shown["history"].to_string();
    assert!(
        said.contains("999981"),
        "the history says how many were left out: {said}"
    );
    for m in desk.outbox() {
        assert_folded(&m);
    }
}

#[test]
fn a_reply_to_many_watchers_is_folded_to_998_characters() {
    let desk = Desk::with_config("[policy]\nmax_watchers = 300\nstaff_mail = \"from\"\n");
    let cc: Vec<String> = (0..400).map(|i| format!("watcher-{i}@x.example")).collect();
    let n = desk.open_ticket(&mail("Pat <pat@example.net>", "many").header("Cc", &cc.join(", ")));
    let shown = desk.show(n);
    assert_eq!(shown["watchers"].as_array().map(Vec::len), Some(300));
    assert!(shown["history"]
        .to_string()
        .contains("101 Cc addresses were not added"));
    desk.take_mail();
    desk.run(&["reply", &n.to_string(), "--as", ADMIN], b"Hello all\n")
        .ok();
    let sent = desk.take_mail();
    let reply = Desk::one_to(&sent, "pat@example.net");
    assert_eq!(reply.rcpts().len(), 300);
    assert_folded(reply);
}

/// Senders no mail can go to (SPEC §3): stored as written, exit 0, no mail
/// to them; staff hear of the ticket as of any other.
#[test]
fn unmailable_senders_are_stored_with_exit_0_and_get_no_mail() {
    for (file, requestor) in [
        ("from-ip-literal.eml", "evil@[127.0.0.1]"),
        ("from-ipv6-literal.eml", "evil@[ipv6:2001:db8::1]"),
        (
            "from-long-quoted-local-part.eml",
            "yyyyyyyyyy\"@evil.example",
        ),
        ("from-no-domain.eml", "nodomain@"),
    ] {
        let desk = Desk::new();
        let raw = common::fixture(&format!("hostile/{file}"));
        let out = desk.deliver(SUBMIT, "evil@evil.example", &raw);
        assert_eq!(out.code, 0, "{file}: {out}");
        let n = out.json()["ticket"].as_i64().expect("a ticket");
        let stored = desk.show(n)["requestor"].as_str().unwrap_or("").to_string();
        assert!(stored.ends_with(requestor), "{file}: requestor {stored:?}");
        let sent = desk.take_mail();
        assert!(
            sent.iter().all(|m| m.rcpts() == [ADMIN.to_string()].into()),
            "{file}: mail only to the admin, got {:?}",
            common::summary(&sent)
        );
    }
}

/// A `sendmail` that never finishes (SPEC §4 "Sending never hangs"): killed
/// at the limit, the mail stays queued with that error, the delivery exits
/// 0. The limit is 60 s; `PIPEDESK_TEST_SENDMAIL_LIMIT_MS` lowers it for
/// this test only.
#[test]
fn a_sendmail_that_hangs_is_killed_and_the_mail_stays_queued() {
    let desk = Desk::new();
    let slow = script(&desk, "slow-sendmail", "cat >/dev/null\nexec sleep 600");
    desk.add_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail = {slow:?}\n"
    ));
    let m = mail("Pat <pat@example.net>", "hello");
    let mut cmd = desk.command();
    cmd.args([
        "deliver",
        "--json",
        "--recipient",
        SUBMIT,
        "--sender",
        "pat@example.net",
    ])
    .env("PIPEDESK_TEST_SENDMAIL_LIMIT_MS", "500");
    // Today's build waited for the script's ten minutes: held to a bound.
    let out = bounded::run(cmd, &m.bytes(), BOUND);
    out.assert_code(0, "deliver with a hanging sendmail");
    // Two mails (autoreply, the admin's notice), half a second each.
    assert!(out.took < Duration::from_secs(30), "took {:?}", out.took);
    let errors = desk.db().texts(
        "SELECT last_error FROM outbox WHERE state = 'queued' ORDER BY id",
        &[],
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    for e in &errors {
        assert!(
            e.contains("did not finish within 0.5 s and was killed"),
            "{e}"
        );
    }
}

/// An executable shell script `name` in the desk's folder; its path.
fn script(desk: &Desk, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = desk.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

/// `flush` (SPEC §5): silent when there was nothing to send, 75 while any
/// mail failed, saying what still waits and why; 0 and what was sent once
/// it goes through.
#[test]
fn flush_is_quiet_with_nothing_to_send_and_exits_75_while_mail_fails() {
    let desk = Desk::new();
    let ok = script(&desk, "ok-sendmail", "cat >/dev/null");
    let failing = script(
        &desk,
        "failing-sendmail",
        "cat >/dev/null; echo 'no route to host' >&2; exit 75",
    );
    let sendmail = |path: &str| format!("[mail]\ntransport = \"sendmail\"\nsendmail = {path:?}\n");
    desk.add_config(&sendmail(&ok));
    desk.send(SUBMIT, &mail("Pat <pat@example.net>", "sent at once"))
        .ok();
    let quiet = desk.run(&["flush"], b"");
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", "")
    );
    let quiet = desk.run(&["flush", "--due"], b"");
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", "")
    );

    // A sendmail that fails: the mail is stored, queued with its error.
    desk.add_config(&sendmail(&failing));
    desk.send(SUBMIT, &mail("Pat <pat@example.net>", "hello"))
        .ok();
    let failed = desk.run(&["flush"], b"");
    assert_eq!(failed.code, 75, "{failed}");
    assert!(failed.stderr.contains("0 mails, 2 failed"), "{failed}");
    assert!(failed.stderr.contains("still queued"), "{failed}");
    assert!(
        failed.stderr.contains("no route to host"),
        "says why: {failed}"
    );
    // Backing off: nothing due, nothing failed now; it says what waits.
    let due = desk.run(&["flush", "--due"], b"");
    assert_eq!(due.code, 0, "{due}");
    assert!(due.stderr.contains("2 mails still queued"), "{due}");

    desk.add_config(&sendmail(&ok));
    let sent = desk.run(&["flush"], b"");
    assert_eq!(sent.code, 0, "{sent}");
    assert!(sent.stderr.contains("sent 2 mails, 0 failed"), "{sent}");
    let again = desk.run(&["flush"], b"");
    assert_eq!((again.code, again.stderr.as_str()), (0, ""), "{again}");
}

/// The default config, nothing from the fixture's: mail from a staff
/// address counts only when the MTA proves it (SPEC §2 `staff_mail`).
fn default_desk() -> Desk {
    let desk = Desk::new();
    desk.write_config(&format!(
        "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\ndatabase = {:?}\n\
         [staff]\nadmins = [\"stef@example.org\"]\nmembers = [\"ann@example.org\"]\n\
         [mail]\ntransport = \"file\"\ndir = \"outbox\"\n",
        desk.store.setting()
    ));
    desk
}

/// Issue 18's open relay, in two steps: an outsider opens a ticket with
/// 300 Cc, then writes to it as the admin. With the default config the
/// forged staff mail is relayed to nobody; the real admin hears of it.
#[test]
fn forged_staff_mail_with_the_default_config_is_relayed_to_nobody() {
    let desk = default_desk();
    let cc: Vec<String> = (0..300).map(|i| format!("victim-{i}@x.example")).collect();
    let opener = mail("Mallory <mallory@evil.example>", "Invoice").header("Cc", &cc.join(", "));
    let n = desk.open_ticket(&opener);
    assert_eq!(desk.show(n)["watchers"].as_array().map(Vec::len), Some(20));
    desk.take_mail();

    let forged = mail("Stef <stef@example.org>", &format!("[myisp #{n}] Invoice"))
        .header("To", &common::ticket_addr(n, ""))
        .body("Please pay to this account: ...\n");
    let out = desk.deliver(
        &common::ticket_addr(n, ""),
        "mallory@evil.example",
        &forged.bytes(),
    );
    assert_eq!(out.code, 0, "{out}");
    let sent = desk.take_mail();
    let to: Vec<_> = sent.iter().map(|m| m.rcpts()).collect();
    assert_eq!(
        to,
        [[ADMIN.to_string()].into()],
        "{:?}",
        common::summary(&sent)
    );
    assert!(
        sent[0].subject().contains("Not counted as staff"),
        "{}",
        sent[0].subject()
    );
    let shown = desk.show(n);
    assert_eq!(shown["status"], "new", "forged staff mail changed nothing");
    let last = shown["history"].as_array().and_then(|h| h.last()).cloned();
    assert_eq!(
        last.as_ref().map(|e| &e["kind"]),
        Some(&"correspond".into())
    );

    // Once a day at most.
    let again = mail(
        "Stef <stef@example.org>",
        &format!("[myisp #{n}] Invoice again"),
    );
    desk.deliver(
        &common::ticket_addr(n, ""),
        "mallory@evil.example",
        &again.bytes(),
    )
    .ok();
    assert!(desk.take_mail().is_empty());
}

/// `check` (SPEC §5) warns, and still exits 0, about what will hurt.
#[test]
fn check_warns_about_trust_admins_and_stuck_mail() {
    let desk = default_desk();
    let out = desk.run(&["check"], b"");
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("without policy.trusted_authserv_id"),
        "{out}"
    );

    desk.set_config("[staff]\nadmins = []\n[policy]\nstaff_mail = \"from\"\n");
    let failing = script(
        &desk,
        "failing-sendmail",
        "cat >/dev/null; echo 'relay down' >&2; exit 75",
    );
    desk.add_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail = {failing:?}\n"
    ));
    desk.send(SUBMIT, &mail("Pat <pat@example.net>", "hello"))
        .ok();
    let out = desk.run(&["check"], b"");
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("staff_mail = \"from\""), "{out}");
    assert!(out.stderr.contains("staff.admins is empty"), "{out}");
    assert!(!out.stderr.contains("queued for over an hour"), "{out}");

    // An hour and more later, the mail is still there.
    desk.db()
        .batch("UPDATE outbox SET created = '2026-01-02T03:04:05Z' WHERE state = 'queued'");
    let out = desk.run(&["check"], b"");
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("1 mail queued for over an hour"),
        "how many: {out}"
    );
    assert!(out.stderr.contains("02 Jan 2026"), "the oldest: {out}");
    assert!(out.stderr.contains("relay down"), "why: {out}");
}

/// The database holds every mail and the password hashes: readable by its
/// owner alone, however it was created (SPEC §5 `init`). SQLite only: a
/// PostgreSQL database has no file of ours.
#[test]
fn the_database_and_its_wal_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let desk = Desk::new();
    if desk.on_postgres() {
        return;
    }
    let mode = |name: &str| {
        let path = desk.path().join(name);
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    // The first delivery creates it (umask 022, as an MTA's pipe has).
    let mut cmd = desk.command_after("umask 022");
    cmd.args(["deliver", "--recipient", SUBMIT]);
    bounded::run(cmd, &mail("Pat <pat@example.net>", "hi").bytes(), BOUND)
        .assert_code(0, "deliver");
    assert_eq!(mode("pipedesk.db"), 0o600);
    assert_eq!(
        mode("pipedesk.db-wal"),
        0o600,
        "the WAL persists, as private"
    );

    // `init` in a fresh folder.
    let fresh = Desk::new();
    let config = fresh.path().join("new").join("pipedesk.toml");
    let mut cmd = fresh.command_after("umask 022");
    cmd.arg("init").arg(&config);
    bounded::run(cmd, b"", BOUND).assert_code(0, "init");
    let db = fresh.path().join("new").join("pipedesk.db");
    let m = std::fs::metadata(&db)
        .expect("init made the database")
        .permissions()
        .mode();
    assert_eq!(m & 0o777, 0o600);
}

/// `import --queue Q --status S` (SPEC §5): the tickets it opens are in Q
/// and end in S — after every message of their thread, so a later one does
/// not reopen them — and nobody is mailed, then or when staff look at them.
#[test]
fn import_puts_old_tickets_in_a_queue_and_status_and_mails_nobody() {
    let desk = Desk::new();
    let mbox = "From old@customer.example Mon Nov 16 10:00:00 2026\n\
        From: Old Customer <old@customer.example>\nTo: help@old.example\n\
        Subject: Printer on fire\nMessage-ID: <a@customer.example>\n\
        Date: Mon, 16 Nov 2026 10:00:00 +0000\n\nIt burns.\n\n\
        From old@customer.example Mon Nov 16 11:00:00 2026\n\
        From: Old Customer <old@customer.example>\nTo: help@old.example\n\
        Subject: Re: Printer on fire\nMessage-ID: <b@customer.example>\n\
        In-Reply-To: <a@customer.example>\n\
        Date: Mon, 16 Nov 2026 11:00:00 +0000\n\nStill burning.\n\n\
        From other@customer.example Tue Nov 17 09:00:00 2026\n\
        From: other@customer.example\nTo: help@old.example\n\
        Subject: Another one\nMessage-ID: <c@customer.example>\n\
        Date: Tue, 17 Nov 2026 09:00:00 +0000\n\nHello.\n";
    let path = desk.path().join("old.mbox");
    std::fs::write(&path, mbox).expect("mbox");
    let path = path.display().to_string();
    let bad = desk.run(&["import", "--queue", "nosuch", &path], b"");
    assert_ne!(bad.code, 0, "{bad}");
    assert!(bad.stderr.contains("unknown queue"), "{bad}");
    desk.run(
        &["import", "--queue", "web", "--status", "resolved", &path],
        b"",
    )
    .ok();
    let list = desk.list(&["--status", "resolved"]);
    let tickets = list.as_array().expect("a list");
    assert_eq!(tickets.len(), 2, "{list}");
    for t in tickets {
        assert_eq!(t["queue"], "web", "{t}");
        assert_eq!(t["status"], "resolved", "{t}");
    }
    assert!(desk.take_mail().is_empty(), "import mails nobody");
    assert_eq!(desk.db().count("SELECT count(*) FROM outbox", &[]), 0);
    // Run again: nothing changes, nothing is mailed.
    desk.run(
        &["import", "--queue", "web", "--status", "resolved", &path],
        b"",
    )
    .ok();
    assert_eq!(
        desk.list(&["--status", "resolved"])
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(desk.db().count("SELECT count(*) FROM outbox", &[]), 0);
}
