//! End to end through real MTAs: the shipped `postfix/` and `exim/` files,
//! a real Postfix and a real Exim on 127.0.0.1, real SMTP, and this build of
//! pipedesk behind them, and the shipped systemd units run under their
//! restrictions against that Postfix. The scenarios live in
//! `tests/mta/*.sh`; each prints `SKIP: …` and passes where its server is
//! not installed (as root, `bash tests/mta/install.sh` installs both;
//! `.ci/run` does so first), and fails instead under `CI=true`.

mod common;

use std::process::Command;
use std::sync::Mutex;

use common::in_ci;

/// The two servers share the machine's spool directories: one at a time.
static ONE_MTA_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run(script: &str) {
    let _guard = ONE_MTA_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = format!("{}/tests/mta/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("timeout")
        .args([
            "-k",
            "10",
            "600",
            "bash",
            &path,
            env!("CARGO_BIN_EXE_pipedesk"),
        ])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown with --nocapture, and on failure.
    println!("{stdout}");
    eprintln!("{stderr}");
    if let Some(skip) = stdout.lines().find(|l| l.starts_with("SKIP:")) {
        assert!(
            !in_ci(),
            "{script} could not run its real server under CI=true: {skip}"
        );
        eprintln!("{script}: {skip}");
    }
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("SKIP:") || l.contains(" passed, 0 failed")),
        "{script} reported no result:\n{stdout}"
    );
}

#[test]
fn postfix_delivers_to_pipedesk_end_to_end() {
    run("postfix.sh");
}

#[test]
fn exim_delivers_to_pipedesk_end_to_end() {
    run("exim.sh");
}

/// `examples/pipedesk-serve.service` and `pipedesk-flush.service`: their
/// ExecStart under their User=, UMask=, ProtectSystem=strict and
/// ReadWritePaths= (a mount namespace and setpriv: systemd is not PID 1
/// here) sends through Postfix's sendmail and postdrop; with no_new_privs
/// added, postdrop loses its group and nothing is sent (issue 18).
#[test]
fn the_systemd_units_send_through_postfix_under_their_restrictions() {
    run("units.sh");
}
