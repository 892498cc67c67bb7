//! A rule's hooks run from the outbox, through the real binary (SPEC §8
//! "side effects exactly once"): queued in the change's transaction, run
//! right after the commit by `deliver`, retried by `flush` with the same
//! delivery id, run once however many `flush`es there are at once (on
//! PostgreSQL: from two hosts); a slow or failing hook never changes
//! `deliver`'s exit; and people see each run beside the mail, with its
//! state and error (`show`, `flush`, `check`), never the webhook's URL path
//! or secret. `tests/pg_hook_runs.rs` runs the suite on PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use common::hooks::{self, Receiver};
use common::store::TestStore;
use common::*;
use serde_json::Value;

const SECRET: &str = "s3cret-of-the-chat";

/// A token in the webhook URL's path, as a chat service puts its secret
/// there: it must never be shown.
const URL_TOKEN: &str = "T0KEN-IN-THE-PATH";

/// The receiver's URL with a secret-looking path.
fn chat_url(receiver: &Receiver) -> String {
    receiver
        .url()
        .replace("/hook", &format!("/services/{URL_TOKEN}"))
}

/// A rule `chat` POSTing every new ticket to `url`.
fn webhook_rule(url: &str) -> String {
    format!(
        "[[rules]]\nname = \"chat\"\non = [\"create\"]\n\
         do.webhook = {{ url = \"{url}\", secret = \"{SECRET}\" }}\n"
    )
}

/// A rule `sms` running `program` with one argument on every new ticket.
fn exec_rule(program: &Path) -> String {
    format!(
        "[[rules]]\nname = \"sms\"\non = [\"create\"]\n\
         do.exec = [\"{}\", \"+491701234567\"]\n",
        program.display()
    )
}

/// The outbox's hooks: (state, attempts, last error), oldest first.
fn hook_rows(desk: &Desk) -> Vec<(String, i64, Option<String>)> {
    desk.db()
        .rows(
            "SELECT state, attempts, last_error FROM outbox WHERE kind = 'hook' ORDER BY id",
            &[],
        )
        .iter()
        .map(|r| {
            let error = match &r[2] {
                common::store::V::Null => None,
                v => Some(v.text()),
            };
            (r[0].text(), r[1].int(), error)
        })
        .collect()
}

/// The back-off of every queued hook has passed (as if its retry time had
/// come).
fn make_hooks_due(desk: &Desk) {
    desk.db().batch(
        "UPDATE outbox SET next_attempt = '2000-01-01T00:00:00Z' \
         WHERE kind = 'hook' AND state = 'queued'",
    );
}

/// `show N` as text.
fn show_text(desk: &Desk, n: i64) -> String {
    desk.run(&["show", &n.to_string()], b"").ok().stdout
}

/// The requests of `receiver` that were answered 200, when the first
/// `failures` of them were scripted to fail: by their delivery id.
fn effects(requests: &[hooks::Request], failures: usize) -> BTreeMap<String, usize> {
    let mut by_id = BTreeMap::new();
    for r in requests.iter().skip(failures) {
        let id = r.header("x-pipedesk-delivery").unwrap_or("").to_string();
        *by_id.entry(id).or_default() += 1;
    }
    by_id
}

// --------------------------------------------------------------- webhooks

#[test]
fn a_webhook_answered_500_then_200_is_posted_twice_with_one_delivery_id_and_takes_effect_once() {
    let receiver = Receiver::answering(&[500]);
    let desk = Desk::with_config(&webhook_rule(&chat_url(&receiver)));
    let n = desk.open_ticket(&john("Printer on fire"));
    // `deliver` ran it after the commit, and its failure changed nothing
    // of the delivery (exit 0, checked by open_ticket).
    let first = receiver.wait_for(1);
    assert_eq!(first.len(), 1);
    let rows = hook_rows(&desk);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "queued");
    assert_eq!(rows[0].1, 1);
    assert_eq!(
        rows[0].2.as_deref(),
        Some("webhook to 127.0.0.1 answered 500: scripted 500")
    );

    let flush = desk.run(&["flush"], b"").ok();
    let got = receiver.wait_for(2);
    assert_eq!(got.len(), 2, "{flush}");
    let delivery = got[0]
        .header("x-pipedesk-delivery")
        .expect("an X-Pipedesk-Delivery")
        .to_string();
    for r in &got {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, format!("/services/{URL_TOKEN}"));
        assert_eq!(r.header("x-pipedesk-delivery"), Some(delivery.as_str()));
        assert_eq!(r.json()["delivery"], delivery.as_str());
        assert!(r.signed_with(SECRET), "{:?}", r.headers);
        assert!(!r.signed_with("another secret"));
        // The retry is the same event, byte for byte.
        assert_eq!(r.body, got[0].body);
    }
    assert_eq!(got[0].json()["ticket"]["id"], n);
    // One effect: one request answered 200.
    assert_eq!(effects(&got, 1), BTreeMap::from([(delivery, 1)]));
    assert_eq!(hook_rows(&desk)[0].0, "sent");

    // A second flush has nothing to send.
    desk.run(&["flush"], b"").ok();
    desk.run(&["flush", "--due"], b"").ok();
    assert_eq!(receiver.requests().len(), 2);
    assert_eq!(hook_rows(&desk)[0].1, 2, "two tries");
}

#[test]
fn a_receiver_that_never_answers_holds_deliver_up_only_to_the_limit_and_flush_retries_it() {
    let receiver = Receiver::answering(&[hooks::HANG]);
    let desk = Desk::with_config(&webhook_rule(&receiver.url()));
    let msg = john("Printer on fire");
    let start = Instant::now();
    let run = desk.run_env(
        &["deliver", "--json", "--recipient", SUBMIT, "--sender", JOHN],
        &[("PIPEDESK_TEST_HOOK_LIMIT_MS", "500")],
        &msg.bytes(),
    );
    // A bound against a hang (the receiver never answers), not a speed
    // claim.
    assert!(start.elapsed() < Duration::from_secs(30), "{run}");
    run.ok();
    let rows = hook_rows(&desk);
    assert_eq!(rows[0].0, "queued");
    assert_eq!(
        rows[0].2.as_deref(),
        Some("webhook to 127.0.0.1 had no answer within 0.5 s")
    );
    desk.run(&["flush"], b"").ok();
    let got = receiver.wait_for(2);
    assert_eq!(
        got[0].header("x-pipedesk-delivery"),
        got[1].header("x-pipedesk-delivery")
    );
    assert_eq!(hook_rows(&desk)[0].0, "sent");
}

#[test]
fn a_webhook_is_shown_by_its_rule_and_host_with_its_state_and_error_never_its_path() {
    // Nobody listens: every try fails.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/services/{URL_TOKEN}", l.local_addr().unwrap())
    };
    let desk = Desk::with_config(&webhook_rule(&gone));
    let n = desk.open_ticket(&john("Printer on fire"));
    let flush = desk.run(&["flush"], b"").code(75);
    for out in [&flush.stdout, &flush.stderr] {
        assert!(!out.contains(URL_TOKEN) && !out.contains(SECRET), "{flush}");
    }
    assert!(
        flush.stderr.contains(
            " (webhook of rule chat (127.0.0.1), ticket #1) not run: webhook to 127.0.0.1: "
        ),
        "{flush}"
    );
    assert!(flush.stderr.contains("ran 0 hooks, 1 failed"), "{flush}");
    assert!(flush.stderr.contains("1 hook still queued"), "{flush}");
    assert!(
        flush.stderr.contains("not run; queued for the next flush"),
        "{flush}"
    );

    let shown = show_text(&desk, n);
    assert!(
        !shown.contains(URL_TOKEN) && !shown.contains(SECRET),
        "{shown}"
    );
    let line = shown
        .lines()
        .find(|l| l.contains("webhook of rule chat (127.0.0.1): failed 2×, next try "))
        .unwrap_or_else(|| panic!("no line for the webhook:\n{shown}"));
    assert!(line.contains(": webhook to 127.0.0.1: "), "{line}");
    // The new-ticket notices are mail, and read as mail.
    assert!(shown.contains("new-ticket notice to "), "{shown}");

    let json = desk.run(&["flush", "--json"], b"").code(75).json();
    let waiting = &json["waiting"][0];
    assert_eq!(waiting["kind"], "hook");
    assert_eq!(
        waiting["recipients"],
        serde_json::json!(["chat", "webhook"])
    );
    assert!(!json.to_string().contains(URL_TOKEN));
}

#[test]
fn check_warns_of_a_hook_stuck_in_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let failing = hooks::failing_script(dir.path(), 3, "no credit left");
    let desk = Desk::with_config(&exec_rule(&failing));
    desk.open_ticket(&john("Printer on fire"));
    desk.run(&["check"], b"").ok();
    desk.db()
        .batch("UPDATE outbox SET created = '2026-01-02T03:04:05Z' WHERE kind = 'hook'");
    let check = desk.run(&["check"], b"").ok();
    let warning = check
        .stderr
        .lines()
        .find(|l| l.contains("queued for over an hour"))
        .unwrap_or_else(|| panic!("no warning: {check}"));
    assert!(
        warning.contains("pipedesk: warning: 1 hook queued for over an hour; the oldest, hook "),
        "{warning}"
    );
    assert!(
        warning.contains("(program of rule sms, ticket #1)"),
        "{warning}"
    );
    assert!(
        warning.ends_with("exited with 3: no credit left"),
        "{warning}"
    );
}

// ------------------------------------------------------------------ exec

#[test]
fn a_program_reads_the_event_as_json_on_its_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::recording_script(dir.path(), &log);
    let desk = Desk::with_config(&exec_rule(&program));
    let n = desk.open_ticket(&john("Printer on fire"));
    let events = hooks::recorded(&log);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    let keys: BTreeSet<&str> = e
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["event", "rule", "delivery", "at", "ticket", "entry", "clock"])
    );
    assert_eq!(e["event"], "create");
    assert_eq!(e["rule"], "sms");
    assert_eq!(e["clock"], Value::Null);
    let delivery = e["delivery"].as_str().expect("a delivery id");
    assert!(delivery.len() >= 16, "{delivery}");
    assert!(
        chrono::DateTime::parse_from_rfc3339(e["at"].as_str().expect("at")).is_ok(),
        "{e}"
    );
    // The ticket object of `show --json`, without its history.
    let mut shown = desk.show(n);
    let shown = shown.as_object_mut().expect("an object");
    shown.remove("history");
    let ticket = e["ticket"].as_object().expect("a ticket object");
    assert!(!ticket.contains_key("history"));
    for key in [
        "id",
        "queue",
        "subject",
        "status",
        "requestor",
        "owner",
        "priority",
    ] {
        assert_eq!(ticket.get(key), shown.get(key), "{key}");
    }
    // The history entry that fired it, as `show --json` has it: the
    // message's subject and body with it.
    assert_eq!(e["entry"], desk.show(n)["history"][0]);
    assert_eq!(e["entry"]["kind"], "create");
    assert_eq!(e["entry"]["author"], JOHN);
    assert_eq!(e["entry"]["subject"], "Printer on fire");
    assert!(e["entry"]["body"]
        .as_str()
        .is_some_and(|b| b.contains("it does not work")));
    assert_eq!(hook_rows(&desk), [("sent".to_string(), 1, None)]);
    let out = show_text(&desk, n);
    assert!(out.contains("Mail and hooks for this ticket:"), "{out}");
    assert!(out.contains("program of rule sms: sent"), "{out}");
    assert!(
        !out.contains("+491701234567"),
        "its arguments are not shown: {out}"
    );
}

#[test]
fn a_hanging_program_is_killed_at_its_limit_and_deliver_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let program = hooks::hanging_script(dir.path());
    let desk = Desk::with_config(&exec_rule(&program));
    let msg = john("Printer on fire");
    let start = Instant::now();
    let run = desk.run_env(
        &["deliver", "--json", "--recipient", SUBMIT, "--sender", JOHN],
        &[("PIPEDESK_TEST_HOOK_LIMIT_MS", "500")],
        &msg.bytes(),
    );
    // A bound against a hang (its sleep is 600 s), not a speed claim.
    assert!(start.elapsed() < Duration::from_secs(30), "{run}");
    let run = run.ok();
    assert_eq!(run.json()["action"], "create");
    assert!(
        run.stderr.contains(" not run, kept for `pipedesk flush`: ")
            && run.stderr.contains("pipedesk: warning: hook "),
        "{run}"
    );
    let rows = hook_rows(&desk);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "queued");
    assert_eq!(
        rows[0].2,
        Some(format!(
            "{} did not finish within 0.5 s and was killed",
            program.display()
        ))
    );
    // Its ticket is stored whole, and says so.
    let out = show_text(&desk, 1);
    assert!(
        out.contains("program of rule sms: failed 1×, next try "),
        "{out}"
    );
    assert!(
        out.contains("did not finish within 0.5 s and was killed"),
        "{out}"
    );
}

#[test]
fn a_failing_program_is_retried_by_flush_until_it_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::fails_then_records(dir.path(), &log, 2);
    let desk = Desk::with_config(&exec_rule(&program));
    desk.open_ticket(&john("Printer on fire"));
    assert!(hooks::recorded(&log).is_empty());
    let rows = hook_rows(&desk);
    assert_eq!(rows[0].0, "queued");
    assert_eq!(
        rows[0].2,
        Some(format!("{} exited with 1: not yet", program.display()))
    );

    // Backing off: `flush --due` (cron's) leaves it.
    let due = desk.run(&["flush", "--due"], b"").ok();
    assert_eq!(hook_rows(&desk)[0].1, 1, "{due}");
    assert!(due.stderr.contains("1 hook still queued"), "{due}");
    // Once its time has come, `flush --due` tries it: the second failure.
    make_hooks_due(&desk);
    desk.run(&["flush", "--due"], b"").code(75);
    assert_eq!(hook_rows(&desk)[0].1, 2);
    assert!(hooks::recorded(&log).is_empty());
    // `flush` tries it now, whatever its back-off: it runs.
    let flush = desk.run(&["flush"], b"").ok();
    assert!(flush.stderr.contains("ran 1 hook, 0 failed"), "{flush}");
    assert_eq!(hook_rows(&desk)[0].0, "sent");
    let events = hooks::recorded(&log);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["rule"], "sms");
    // And never again.
    desk.run(&["flush"], b"").ok();
    make_hooks_due(&desk);
    desk.run(&["flush", "--due"], b"").ok();
    assert_eq!(hooks::recorded(&log).len(), 1);
}

#[test]
fn hooks_run_with_mail_transport_none() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::recording_script(dir.path(), &log);
    let receiver = Receiver::start();
    let desk = Desk::with_config(&format!(
        "[mail]\ntransport = \"none\"\n{}{}",
        exec_rule(&program),
        webhook_rule(&receiver.url())
    ));
    let n = desk.open_ticket(&john("Printer on fire"));
    assert_eq!(hooks::recorded(&log).len(), 1);
    assert_eq!(receiver.wait_for(1).len(), 1);
    // The mail is dropped; the hooks ran.
    let states: BTreeSet<String> = desk
        .db()
        .texts("SELECT state FROM outbox WHERE kind <> 'hook'", &[])
        .into_iter()
        .collect();
    assert_eq!(states, BTreeSet::from(["dropped".to_string()]));
    assert_eq!(
        hook_rows(&desk)
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        ["sent", "sent"]
    );
    let out = show_text(&desk, n);
    assert!(out.contains("program of rule sms: sent"), "{out}");
    assert!(
        out.contains("webhook of rule chat (127.0.0.1): sent"),
        "{out}"
    );
    // `flush` still works, and has nothing to do.
    desk.run(&["flush"], b"").ok();
    assert_eq!(hooks::recorded(&log).len(), 1);
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn a_clock_event_s_program_gets_its_clock_and_no_entry_once_however_often_tick_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::recording_script(dir.path(), &log);
    let desk = Desk::with_config(&format!(
        "[sla.fast]\nfirst_response = \"1h\"\n\
         [[queues]]\nname = \"web\"\naddress = \"webmaster\"\nsla = \"fast\"\n\
         [[rules]]\nname = \"late\"\non = [\"sla-breach\"]\ndo.exec = [\"{}\"]\n",
        program.display()
    ));
    let out = desk
        .deliver(
            "webmaster@help.example.org",
            JOHN,
            &john("Site down").bytes(),
        )
        .ok();
    let n = out.json()["ticket"].as_i64().expect("a ticket");
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    for _ in 0..2 {
        desk.run(&["tick", "--at", &later], b"").ok();
    }
    let events = hooks::recorded(&log);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["event"], "sla-breach");
    assert_eq!(e["rule"], "late");
    assert_eq!(e["clock"], "first_response");
    assert_eq!(e["entry"], Value::Null);
    assert_eq!(e["ticket"]["id"], n);
    assert!(e["ticket"].get("history").is_none());
    assert_eq!(hook_rows(&desk), [("sent".to_string(), 1, None)]);
}

/// An MTA may kill `deliver` at any moment, its hook's program with it:
/// the hook, held by a process that died, stays queued, and the next
/// `flush` on that host runs it (a kill between a hook's success and its
/// record would run it again: at least once, as mail).
#[test]
fn a_hook_whose_deliver_was_killed_while_it_ran_is_run_by_the_next_flush() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let started = dir.path().join("started");
    // The first run says it started and hangs (as the program itself, so
    // that it dies with deliver: a grandchild would outlive it); later
    // runs record.
    let program = hooks::script(
        dir.path(),
        "hangs-once",
        &format!(
            "event=$(cat)\n\
             if [ ! -e '{started}' ]; then touch '{started}'; exec sleep 600; fi\n\
             printf '%s\\n' \"$event\" >> '{log}'",
            started = started.display(),
            log = log.display()
        ),
    );
    let desk = Desk::with_config(&exec_rule(&program));
    let mut deliver = desk
        .command()
        .args(["deliver", "--recipient", SUBMIT, "--sender", JOHN])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("deliver");
    {
        use std::io::Write;
        let mut stdin = deliver.stdin.take().expect("stdin");
        stdin.write_all(&john("Printer on fire").bytes()).unwrap();
    }
    // Waits (a bound, not a speed claim) until the program runs: the
    // ticket is committed by then.
    let start = Instant::now();
    while !started.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the program never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    deliver.kill().expect("kill deliver");
    deliver.wait().expect("deliver ended");
    assert_eq!(desk.ticket_count(), 1);
    assert_eq!(hook_rows(&desk)[0].0, "queued");
    assert!(hooks::recorded(&log).is_empty());
    desk.run(&["flush"], b"").ok();
    assert_eq!(hooks::recorded(&log).len(), 1);
    assert_eq!(hook_rows(&desk)[0].0, "sent");
    desk.run(&["flush"], b"").ok();
    assert_eq!(hooks::recorded(&log).len(), 1);
}

#[test]
fn deliver_no_mail_queues_no_hook() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::recording_script(dir.path(), &log);
    let desk = Desk::with_config(&exec_rule(&program));
    // Replaying old mail (SPEC §3 `--no-mail`) texts nobody.
    let out = desk
        .deliver_no_mail(SUBMIT, JOHN, &john("Printer on fire").bytes())
        .ok();
    assert_eq!(out.json()["action"], "create");
    assert!(hook_rows(&desk).is_empty());
    desk.run(&["flush"], b"").ok();
    assert!(hooks::recorded(&log).is_empty());
}

// ------------------------------------------------------- flushes at once

/// Four `flush`es started at once run each queued hook once: on
/// PostgreSQL from two hosts (each its own config and folder, one
/// database), two flushes each; on SQLite, one host, four.
#[test]
fn four_flushes_at_once_run_each_queued_hook_exactly_once() {
    const TICKETS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    // Every run while the tickets arrive fails, then every one succeeds.
    let closed = dir.path().join("closed");
    std::fs::write(&closed, "").unwrap();
    let program = hooks::fails_while(dir.path(), &log, &closed);
    let receiver = Receiver::answering(&[500; TICKETS]);
    let rules = format!("{}{}", exec_rule(&program), webhook_rule(&receiver.url()));
    let a = Desk::with_config(&rules);
    let b = a
        .on_postgres()
        .then(|| Desk::on(TestStore::same_as(&a.store), &rules));
    for i in 0..TICKETS {
        a.open_ticket(&mail(
            &format!("User {i} <u{i}@example.com>"),
            &format!("Problem {i}"),
        ));
    }
    assert_eq!(receiver.wait_for(TICKETS).len(), TICKETS);
    assert!(hooks::recorded(&log).is_empty());
    assert_eq!(hook_rows(&a).len(), 2 * TICKETS);

    std::fs::remove_file(&closed).unwrap();
    let hosts: Vec<&Desk> = match &b {
        Some(b) => vec![&a, &a, b, b],
        None => vec![&a; 4],
    };
    let runs: Vec<Run> = std::thread::scope(|s| {
        let started: Vec<_> = hosts
            .iter()
            .map(|desk| s.spawn(move || desk.run(&["flush"], b"")))
            .collect();
        started.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        assert_eq!(run.code, 0, "{run}");
    }

    // Every hook ran once: the webhook answered 200 once per delivery id,
    // the program recorded each event once.
    let got = receiver.wait_for(2 * TICKETS);
    let done = effects(&got, TICKETS);
    assert_eq!(done.len(), TICKETS, "{done:?}");
    assert!(done.values().all(|&n| n == 1), "a webhook twice: {done:?}");
    let failed: BTreeSet<String> = got[..TICKETS]
        .iter()
        .map(|r| r.header("x-pipedesk-delivery").unwrap_or("").to_string())
        .collect();
    assert_eq!(failed, done.keys().cloned().collect(), "same delivery ids");
    let events = hooks::recorded(&log);
    let ran: BTreeSet<&str> = events
        .iter()
        .map(|e| e["delivery"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(events.len(), TICKETS, "{events:?}");
    assert_eq!(ran.len(), TICKETS, "a program ran twice for one event");
    assert!(hook_rows(&a).iter().all(|r| r.0 == "sent"));
    // A last flush from each host has nothing left.
    for desk in hosts {
        desk.run(&["flush"], b"").ok();
    }
    assert_eq!(receiver.requests().len(), 2 * TICKETS);
    assert_eq!(hooks::recorded(&log).len(), TICKETS);
}

/// Deliveries and flushes at the same time (on PostgreSQL from two hosts):
/// a hook queued by a delivery is held by it until it has run, so a flush
/// running meanwhile never runs it a second time.
#[test]
fn hooks_of_deliveries_run_once_while_flushes_run_at_the_same_time() {
    const TICKETS: usize = 12;
    let receiver = Receiver::start();
    let rules = webhook_rule(&receiver.url());
    let a = Desk::with_config(&rules);
    let b = a
        .on_postgres()
        .then(|| Desk::on(TestStore::same_as(&a.store), &rules));
    let b = b.as_ref().unwrap_or(&a);
    // The database exists before the hosts start at once.
    a.open_ticket(&mail("User 0 <u0@example.com>", "Problem 0"));
    let delivering = std::sync::atomic::AtomicUsize::new(1);
    std::thread::scope(|s| {
        for desk in [&a, b] {
            let (delivering, desk) = (&delivering, desk);
            s.spawn(move || loop {
                let i = delivering.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= TICKETS {
                    break;
                }
                let from = format!("User {i} <u{i}@example.com>");
                desk.open_ticket(&mail(&from, &format!("Problem {i}")));
            });
        }
        for desk in [&a, b] {
            let (delivering, desk) = (&delivering, desk);
            s.spawn(move || {
                while delivering.load(std::sync::atomic::Ordering::SeqCst) < TICKETS {
                    desk.run(&["flush"], b"").ok();
                }
            });
        }
    });
    a.run(&["flush"], b"").ok();
    let got = receiver.wait_for(TICKETS);
    let done = effects(&got, 0);
    assert_eq!(got.len(), TICKETS, "{done:?}");
    assert_eq!(done.len(), TICKETS, "{done:?}");
    assert!(hook_rows(&a).iter().all(|r| r.0 == "sent" && r.1 == 1));
}
