//! A desk whose database does not exist yet (issue 18): `pipedesk create`
//! does not make one, as no command for people does (a typo in a config's
//! path must not leave an empty desk behind); it says what will, and after
//! `pipedesk init` on the same config it opens the ticket.
//! `tests/pg_fresh_desk.rs` runs this suite on PostgreSQL.

mod common;

use common::*;

#[test]
fn create_on_a_desk_with_no_database_names_init_and_creates_nothing() {
    let desk = Desk::new();
    let config_before = std::fs::read_to_string(desk.config_path()).expect("the config");
    let args = [
        "create",
        "--requestor",
        "caller@example.com",
        "--subject",
        "Phoned in",
    ];
    let refused = desk.run(&args, b"The printer is on fire.\n").code(1);
    assert!(
        refused.stderr.contains("database")
            && refused
                .stderr
                .contains("`pipedesk init` with this same config creates it"),
        "the error says what to do: {}",
        refused.stderr
    );
    assert!(!desk.has_database(), "no database appears");

    desk.run(&["init"], b"").ok();
    assert_eq!(
        std::fs::read_to_string(desk.config_path()).expect("the config"),
        config_before,
        "init keeps the existing config as it is"
    );
    let created = desk.run(&args, b"The printer is on fire.\n").ok();
    assert_eq!(created.stdout.trim(), "1");
    let ticket = desk.show(1);
    assert_eq!(ticket["requestor"], "caller@example.com");
    assert_eq!(ticket["subject"], "Phoned in");
}
