//! What an admin needs in production (issue 18): `pipedesk backup` taken
//! while deliveries go on, and the man page's sections for admins.
//! `tests/pg_ops.rs` runs this suite on PostgreSQL, where `backup` refuses
//! and names `pg_dump`.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;

/// The ticket numbers `list --json` reads.
fn ids(desk: &Desk) -> BTreeSet<i64> {
    desk.list(&[])
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t["id"].as_i64().expect("an id"))
        .collect()
}

#[test]
fn backup_taken_while_deliveries_go_on_holds_every_ticket_committed_before_it() {
    let desk = Desk::new();
    desk.open_ticket(&john("Before the backup"));
    if desk.on_postgres() {
        let path = desk.path().join("copy.db");
        let run = desk
            .run(&["backup", path.to_str().expect("UTF-8")], b"")
            .code(1);
        assert!(
            run.stderr.starts_with("pipedesk: ") && run.stderr.contains("pg_dump"),
            "{run}"
        );
        assert!(!path.exists(), "nothing is written for PostgreSQL");
        return;
    }
    let copy = Desk::new();
    let target = copy.db_path();
    let target = target.to_str().expect("UTF-8");
    let stop = AtomicBool::new(false);
    let delivered = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let load = s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                desk.open_ticket(&john(&format!("During the backup {n}")));
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        });
        // The load is running before "before" is read, and goes on after.
        while delivered.load(Ordering::Relaxed) < 3 && !load.is_finished() {
            std::thread::yield_now();
        }
        let before = ids(&desk);
        desk.run(&["backup", target], b"").ok();
        // Deliveries go on after the backup: the one running as it ended
        // may have begun before it, the next one surely did not.
        let after = delivered.load(Ordering::Relaxed);
        while delivered.load(Ordering::Relaxed) < after + 2 && !load.is_finished() {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        load.join().expect("the delivery loop");

        copy.run(&["check"], b"").ok();
        let restored = ids(&copy);
        assert!(
            before.is_subset(&restored),
            "missing from the backup: {:?}",
            before.difference(&restored).collect::<Vec<_>>()
        );
        // The copy is one commit's database: numbers without gaps.
        let max = restored.iter().max().copied().unwrap_or(0);
        assert_eq!(restored, (1..=max).collect::<BTreeSet<i64>>());
    });
    assert!(
        ids(&desk).len() > ids(&copy).len(),
        "deliveries after the backup are not in it"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(copy.db_path())
        .expect("the backup")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the backup is its owner's alone");
}

#[test]
fn backup_never_overwrites_a_file() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    if desk.on_postgres() {
        return; // refused whatever the path: the test above.
    }
    let path = desk.path().join("precious");
    std::fs::write(&path, "not a database").expect("writing a file");
    let run = desk
        .run(&["backup", path.to_str().expect("UTF-8")], b"")
        .code(1);
    assert!(run.stderr.contains("exists"), "{run}");
    assert_eq!(std::fs::read(&path).expect("the file"), b"not a database");
}

#[test]
fn the_man_page_has_the_sections_an_admin_looks_for() {
    let desk = Desk::new();
    let page = desk.run(&["man"], b"").ok().stdout;
    for section in [
        "NAME",
        "SYNOPSIS",
        "SUBCOMMANDS",
        "CONFIGURATION",
        "EXIT STATUS",
        "FILES",
        "EXAMPLES",
        "VERSION",
    ] {
        assert!(
            page.lines()
                .any(|l| l == format!(".SH {section}") || l == format!(".SH \"{section}\"")),
            "no {section} section in pipedesk(1)"
        );
    }
    for code in ["0", "1", "64", "65", "67", "70", "75", "78"] {
        assert!(
            page.contains(&format!(".B {code}\n")),
            "exit {code} missing"
        );
    }
    assert!(page.contains("/var/lib/pipedesk/pipedesk.db"));
    // --dir writes the main page with the same sections, and one per
    // command (it leaves out clap's `help` command, so it is not byte-equal).
    let dir = desk.path().join("man");
    desk.run(&["man", "--dir", dir.to_str().expect("UTF-8")], b"")
        .ok();
    let written = std::fs::read_to_string(dir.join("pipedesk.1")).expect("pipedesk.1");
    assert!(written.contains(".SH EXIT STATUS") && written.contains(".SH EXAMPLES"));
    assert!(dir.join("pipedesk-backup.1").exists());
}
