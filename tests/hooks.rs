//! A rule's hooks against their other ends (SPEC §8): webhooks to a real
//! HTTP receiver on 127.0.0.1, signed, with their delivery id, answered as
//! scripted; `exec` programs that record their stdin, fail or hang. The
//! runners alone: how the outbox runs and retries them is the rules'
//! suite's.

mod common;

use std::time::{Duration, Instant};

use common::hooks::{self, Receiver, HANG};
use pipedesk::outbound::hook::{post_webhook, run_exec, signature, HookError, LIMIT};

const EVENT: &[u8] = br#"{"event":"create","rule":"chat","delivery":"d-42","ticket":{"id":7}}"#;

fn argv(path: &std::path::Path) -> Vec<String> {
    vec![path.display().to_string(), "+491701234567".into()]
}

#[test]
fn a_webhook_is_a_signed_post_of_the_event_with_its_delivery_id() {
    let receiver = Receiver::start();
    post_webhook(&receiver.url(), "s3cret", "d-42", EVENT, LIMIT).unwrap();
    let got = receiver.wait_for(1);
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
    assert_eq!(r.body, EVENT);
    assert_eq!(r.json()["delivery"], "d-42");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-pipedesk-delivery"), Some("d-42"));
    assert_eq!(r.header_count("user-agent"), 1);
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("pipedesk/", env!("CARGO_PKG_VERSION")))
    );
    // What a receiver computes from its copy of the secret.
    let sig = r.header("x-pipedesk-signature").unwrap();
    assert_eq!(sig, signature("s3cret", &r.body));
    assert_ne!(sig, signature("other", &r.body));
    assert!(r.signed_with("s3cret") && !r.signed_with("other"));
    assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64, "{sig}");
}

#[test]
fn a_500_is_an_error_and_the_retry_carries_the_same_delivery_id() {
    let receiver = Receiver::answering(&[500]);
    let e = post_webhook(&receiver.url(), "s", "d-7", EVENT, LIMIT).unwrap_err();
    assert_eq!(
        e.to_string(),
        "webhook to 127.0.0.1 answered 500: scripted 500"
    );
    post_webhook(&receiver.url(), "s", "d-7", EVENT, LIMIT).unwrap();
    let got = receiver.wait_for(2);
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.header("x-pipedesk-delivery"), Some("d-7"));
        assert_eq!(r.body, EVENT);
    }
}

#[test]
fn a_redirect_is_not_followed() {
    let receiver = Receiver::answering(&[302]);
    let e = post_webhook(&receiver.url(), "s", "d-1", EVENT, LIMIT).unwrap_err();
    assert!(matches!(e, HookError::Status { status: 302, .. }), "{e}");
    assert_eq!(receiver.requests().len(), 1, "the Location was not visited");
}

#[test]
fn a_receiver_that_never_answers_is_a_timeout() {
    let receiver = Receiver::answering(&[HANG]);
    let limit = Duration::from_millis(500);
    let start = Instant::now();
    let e = post_webhook(&receiver.url(), "s", "d-1", EVENT, limit).unwrap_err();
    assert_eq!(
        e.to_string(),
        "webhook to 127.0.0.1 had no answer within 0.5 s"
    );
    // A bound against a hang, not a speed claim.
    assert!(start.elapsed() < limit + Duration::from_secs(20));
    assert_eq!(receiver.wait_for(1).len(), 1);
}

#[test]
fn the_recording_script_keeps_each_run_s_stdin_as_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::recording_script(dir.path(), &log);
    assert!(hooks::recorded(&log).is_empty());
    run_exec(&argv(&program), EVENT, LIMIT).unwrap();
    run_exec(&argv(&program), br#"{"event":"comment"}"#, LIMIT).unwrap();
    let events = hooks::recorded(&log);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["delivery"], "d-42");
    assert_eq!(events[1]["event"], "comment");
}

#[test]
fn a_failing_program_is_an_error_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.log");
    let program = hooks::fails_then_records(dir.path(), &log, 2);
    for _ in 0..2 {
        let e = run_exec(&argv(&program), EVENT, LIMIT).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{} exited with 1: not yet", program.display())
        );
    }
    run_exec(&argv(&program), EVENT, LIMIT).unwrap();
    assert_eq!(hooks::recorded(&log).len(), 1);

    let failing = hooks::failing_script(dir.path(), 75, "no credit left");
    let e = run_exec(&argv(&failing), EVENT, LIMIT).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{} exited with 75: no credit left", failing.display())
    );
}

#[test]
fn a_hanging_program_is_killed_at_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let program = hooks::hanging_script(dir.path());
    let limit = Duration::from_millis(500);
    let start = Instant::now();
    let e = run_exec(&argv(&program), EVENT, limit).unwrap_err();
    assert!(matches!(e, HookError::TimedOut { .. }), "{e}");
    // Its sleep holds the pipes: only the group's kill ends the run. A
    // bound against a hang, not a speed claim.
    assert!(start.elapsed() < limit + Duration::from_secs(20));
}

/// An MTA kills `deliver`'s process group at its own time limit (Postfix's
/// pipe(8) does). The programs `deliver` runs are in groups of their own,
/// so that their limit can kill all of theirs; they still die with it.
/// Shown with `sendmail`, which runs as hooks do.
#[test]
fn a_program_dies_with_the_deliver_that_ran_it() {
    use std::io::Write;
    use std::process::Stdio;
    let desk = common::Desk::new();
    let pid_file = desk.path().join("sendmail.pid");
    let sendmail = hooks::script(
        desk.path(),
        "stuck-sendmail",
        &format!(
            "echo $$ > '{}'\ncat >/dev/null\nexec sleep 600",
            pid_file.display()
        ),
    );
    desk.add_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail = {:?}\n",
        sendmail.display().to_string()
    ));
    let raw = common::mail("Pat <pat@example.net>", "hello").bytes();
    let mut deliver = desk
        .command()
        .args(["deliver", "--recipient", common::SUBMIT])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn deliver");
    deliver.stdin.take().unwrap().write_all(&raw).unwrap();
    let bound = Duration::from_secs(30);
    let start = Instant::now();
    let pid = loop {
        if let Ok(pid) = std::fs::read_to_string(&pid_file) {
            if !pid.trim().is_empty() {
                break pid.trim().to_string();
            }
        }
        assert!(start.elapsed() < bound, "sendmail never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    deliver.kill().unwrap();
    deliver.wait().unwrap();
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.contains(") Z "))
    };
    while !gone() && start.elapsed() < bound {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(gone(), "sendmail {pid} outlived the deliver that ran it");
}
