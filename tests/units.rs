//! The systemd units in `examples/` (issue 18): read as text for what must
//! hold for Postfix's and Exim's `sendmail` to work under them, and checked
//! by `systemd-analyze verify` where this machine has it. That they work
//! is proven by running them: `tests/mta/units.sh` (from `tests/mta.rs`)
//! runs each service's ExecStart under its restrictions against a real
//! Postfix.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const UNITS: [&str; 5] = [
    "pipedesk-serve.service",
    "pipedesk-flush.service",
    "pipedesk-flush.timer",
    "pipedesk-tick.service",
    "pipedesk-tick.timer",
];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The `Key=value` lines of a unit's `[section]`, comments left out.
fn directives(unit: &str, section: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(examples().join(unit)).expect("the unit");
    let mut current = String::new();
    let mut found = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            current = line.trim_matches(['[', ']']).to_string();
        } else if current == section {
            let (key, value) = line.split_once('=').expect("Key=value");
            found.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    found
}

fn values<'a>(found: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    found
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// systemd.exec(5) (systemd 252): each of these makes a service with
/// `User=` run with no_new_privs, whatever NoNewPrivileges says, and then
/// postdrop (setgid postdrop) and exim4 (setuid root) lose what they need.
const IMPLY_NO_NEW_PRIVILEGES: [&str; 17] = [
    "DynamicUser",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "PrivateDevices",
    "ProtectClock",
    "ProtectHostname",
    "ProtectKernelLogs",
    "ProtectKernelModules",
    "ProtectKernelTunables",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallLog",
    "NoNewPrivileges",
];

#[test]
fn the_services_let_postfix_and_exim_sendmail_gain_their_group_and_spool() {
    for unit in [
        "pipedesk-serve.service",
        "pipedesk-flush.service",
        "pipedesk-tick.service",
    ] {
        let service = directives(unit, "Service");
        for key in IMPLY_NO_NEW_PRIVILEGES {
            let set = values(&service, key);
            assert!(
                set.iter().all(|v| *v == "false" || *v == "no"),
                "{unit}: {key}= stops postdrop's setgid and exim4's setuid"
            );
        }
        assert_eq!(values(&service, "User"), ["pipedesk"], "{unit}");
        // Hardened all the same: read-only but for the database and the
        // MTAs' spools.
        assert_eq!(values(&service, "ProtectSystem"), ["strict"], "{unit}");
        let writable = values(&service, "ReadWritePaths").join(" ");
        for path in [
            "/var/lib/pipedesk",
            "-/var/spool/postfix/maildrop",
            "-/var/spool/exim4",
        ] {
            assert!(
                writable.split_whitespace().any(|p| p == path),
                "{unit}: {path} not writable"
            );
        }
        assert_eq!(values(&service, "ProtectHome"), ["true"], "{unit}");
        assert_eq!(values(&service, "PrivateTmp"), ["true"], "{unit}");
        assert_eq!(values(&service, "UMask"), ["0077"], "{unit}");
    }
    let serve = directives("pipedesk-serve.service", "Service");
    assert_eq!(
        values(&serve, "ExecStart"),
        ["/usr/local/bin/pipedesk serve"]
    );
    assert_eq!(values(&serve, "ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    let flush = directives("pipedesk-flush.service", "Service");
    assert_eq!(
        values(&flush, "ExecStart"),
        ["/usr/local/bin/pipedesk flush --due"]
    );
    assert_eq!(values(&flush, "Type"), ["oneshot"]);
    let tick = directives("pipedesk-tick.service", "Service");
    assert_eq!(values(&tick, "ExecStart"), ["/usr/local/bin/pipedesk tick"]);
    assert_eq!(values(&tick, "Type"), ["oneshot"]);
    let timer = directives("pipedesk-tick.timer", "Timer");
    assert_eq!(values(&timer, "OnCalendar"), ["minutely"]);
    let timer = directives("pipedesk-flush.timer", "Timer");
    assert_eq!(values(&timer, "OnUnitActiveSec"), ["5min"]);
    assert_eq!(
        values(&directives("pipedesk-flush.timer", "Install"), "WantedBy"),
        ["timers.target"]
    );
}

#[test]
fn systemd_analyze_verifies_the_units() {
    let ci = common::in_ci();
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        // Debian's `systemd` package has it; CI installs it.
        assert!(
            !ci,
            "systemd-analyze is missing (CI=true): apt-get install systemd"
        );
        eprintln!("SKIP: systemd_analyze_verifies_the_units: no systemd-analyze on this machine");
        return;
    }
    // verify checks that ExecStart's program exists: the units are checked
    // as shipped but for that path, which is this build's binary.
    let dir = tempfile::tempdir().expect("a temp folder");
    for unit in UNITS {
        let text = std::fs::read_to_string(examples().join(unit)).expect("the unit");
        let text = text.replace("/usr/local/bin/pipedesk", env!("CARGO_BIN_EXE_pipedesk"));
        std::fs::write(dir.path().join(unit), text).expect("writing the unit");
    }
    let out = Command::new("systemd-analyze")
        .current_dir(dir.path())
        .args(["verify", "--man=no"])
        .args(UNITS.map(|u| format!("./{u}")))
        .output()
        .expect("running systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // An unknown or misspelt directive is only a warning (exit 0): none.
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {}\n{stderr}",
        out.status
    );
}
