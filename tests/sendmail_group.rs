//! The `sendmail` limit ends what sendmail started too (issue 18): Postfix's
//! sendmail hands the mail to `postdrop`, which, refused its queue (no
//! setgid under no_new_privs), retries for ever; killing sendmail alone
//! left one postdrop behind per try. Only SQLite: the transport is no
//! store's.

mod common;

use std::time::Duration;

use common::*;

/// Is process `pid` still running (neither gone nor a zombie)?
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // pid (comm) STATE …: the state follows the last ')'.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_hung_sendmail_is_killed_with_the_postdrop_it_started() {
    use std::os::unix::fs::PermissionsExt;
    let desk = Desk::new();
    let pids = desk.path().join("postdrop.pids");
    let fake = desk.path().join("sendmail");
    // Like Postfix's sendmail: a child that does the queueing, waited for.
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncat >/dev/null\nsleep 600 &\necho $! >> {:?}\nwait\n",
            pids.display().to_string()
        ),
    )
    .expect("the script");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    desk.add_config(&format!(
        "[mail]\ntransport = \"sendmail\"\nsendmail = {:?}\n",
        fake.display().to_string()
    ));
    let m = mail("Pat <pat@example.net>", "hello");
    let mut cmd = desk.command();
    cmd.args([
        "deliver",
        "--recipient",
        SUBMIT,
        "--sender",
        "pat@example.net",
    ])
    .env("PIPEDESK_TEST_SENDMAIL_LIMIT_MS", "500");
    let out = common::bounded::run(cmd, &m.bytes(), Duration::from_secs(60));
    out.assert_code(0, "deliver with a hanging sendmail");
    let started = std::fs::read_to_string(&pids).expect("the children's pids");
    let started: Vec<&str> = started.split_whitespace().collect();
    assert!(!started.is_empty(), "sendmail ran");
    for pid in &started {
        assert!(!running(pid), "sendmail's child {pid} is left running");
    }
}
