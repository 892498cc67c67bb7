//! A ticket's own fields changed by staff at the terminal (SPEC §5 `queue`,
//! `edit`, `priority`, `due`; issue 17), through the real binary: each
//! written in the history, none mailing anyone, refusals that say what is
//! allowed; `list --sort`; the due date in every ticket object, copied by
//! `migrate`; times for people in `site.timezone`, JSON in UTC.
//! `tests/pg_fields.rs` runs this suite on PostgreSQL.

mod common;

use common::*;
use serde_json::{json, Value};

/// The last history entry of ticket `n`.
fn last_entry(desk: &Desk, n: i64) -> Value {
    desk.show(n)["history"]
        .as_array()
        .and_then(|h| h.last().cloned())
        .expect("a history")
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|t| t["id"].as_i64().expect("an id"))
        .collect()
}

// ------------------------------------------------------------------- queue

#[test]
fn queue_moves_a_ticket_and_writes_it_in_the_history_without_mail() {
    let desk = Desk::new();
    desk.open_ticket(&john("Website down"));
    desk.clear_mail();
    let run = desk.run(&["queue", "1", "WEB"], b"").ok();
    assert!(run.stderr.contains("queue web"), "{}", run.stderr);
    assert_eq!(desk.show(1)["queue"], "web");
    let e = last_entry(&desk, 1);
    assert_eq!(
        (&e["kind"], &e["author"], &e["old"], &e["new"]),
        (
            &json!("queue"),
            &json!(ADMIN),
            &json!("general"),
            &json!("web")
        )
    );
    assert_eq!(ids(&desk.list(&["--queue", "web"])), [1]);
    assert!(desk.take_mail().is_empty(), "a queue change mails no one");
    // The same queue again changes nothing.
    let version = desk.show(1)["version"].clone();
    desk.run(&["queue", "1", "web"], b"").ok();
    assert_eq!(desk.show(1)["version"], version);
}

#[test]
fn an_unknown_queue_lists_the_known_ones_and_spam_is_not_a_destination() {
    let desk = Desk::new();
    desk.open_ticket(&john("Website down"));
    let typo = desk.run(&["queue", "1", "wbe"], b"").code(1);
    assert!(
        typo.stderr
            .contains("unknown queue \"wbe\" (general or web)"),
        "{}",
        typo.stderr
    );
    let spam = desk.run(&["queue", "1", "spam"], b"").code(1);
    assert!(spam.stderr.contains("pipedesk spam"), "{}", spam.stderr);
    assert_eq!(desk.show(1)["queue"], "general");
    // A ticket in spam leaves it by `spam --undo`, which forgets the sender.
    desk.run(&["spam", "1"], b"").ok();
    let out = desk.run(&["queue", "1", "general"], b"").code(1);
    assert!(out.stderr.contains("--undo"), "{}", out.stderr);
    assert_eq!(desk.show(1)["queue"], "spam");
    desk.run(&["queue", "9", "web"], b"").code(1);
}

// -------------------------------------------------------------------- edit

#[test]
fn edit_corrects_the_subject_and_the_requestor_who_then_watches_and_gets_replies() {
    let desk = Desk::new();
    desk.open_ticket(&john("Call from Maria: printer"));
    desk.clear_mail();
    desk.run(
        &[
            "edit",
            "1",
            "--subject",
            "Printer jams on the 2nd floor",
            "--requestor",
            "Maria@Example.NET",
        ],
        b"",
    )
    .ok();
    let t = desk.show(1);
    assert_eq!(t["subject"], "Printer jams on the 2nd floor");
    assert_eq!(t["requestor"], "maria@example.net");
    assert_eq!(t["watchers"], json!([JOHN, "maria@example.net"]));
    let kinds = desk.kinds(1);
    assert_eq!(
        kinds[kinds.len() - 3..],
        ["subject", "requestor", "watcher"]
    );
    let h = t["history"].as_array().unwrap();
    let subject = &h[h.len() - 3];
    assert_eq!(
        (&subject["old"], &subject["new"]),
        (
            &json!("Call from Maria: printer"),
            &json!("Printer jams on the 2nd floor")
        )
    );
    let requestor = &h[h.len() - 2];
    assert_eq!(
        (&requestor["old"], &requestor["new"]),
        (&json!(JOHN), &json!("maria@example.net"))
    );
    assert!(desk.take_mail().is_empty(), "an edit mails no one");
    // The new requestor cannot be removed; the old one now can.
    let stays = desk
        .run(&["unwatch", "1", "maria@example.net"], b"")
        .code(1);
    assert!(stays.stderr.contains("requestor"), "{}", stays.stderr);
    desk.run(&["unwatch", "1", JOHN], b"").ok();
    // Staff replies go to the requestor as it is now.
    desk.run(&["reply", "1"], b"We sent a technician.\n").ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert!(mails[0].rcpts().contains("maria@example.net"));
    assert!(mails[0].subject().contains("Printer jams on the 2nd floor"));
}

#[test]
fn edit_refuses_what_is_not_an_address_our_own_addresses_and_nothing_at_all() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    for (args, says) in [
        (
            &["edit", "1", "--requestor", "not an address"][..],
            "is not a mail address",
        ),
        (
            &["edit", "1", "--requestor", "ticket-1@help.example.org"][..],
            "one of our own addresses",
        ),
        (
            &["edit", "1", "--requestor", SUBMIT][..],
            "one of our own addresses",
        ),
        (&["edit", "1", "--subject", "  "][..], "cannot be empty"),
        (&["edit", "1"][..], "nothing to change"),
    ] {
        let run = desk.run(args, b"").code(1);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
    let t = desk.show(1);
    assert_eq!(
        (&t["requestor"], &t["subject"]),
        (&json!(JOHN), &json!("Printer"))
    );
    assert_eq!(desk.kinds(1), ["create"]);
}

// ---------------------------------------------------------------- priority

#[test]
fn priority_takes_the_word_or_the_number_and_json_carries_the_number() {
    let desk = Desk::new();
    desk.open_ticket(&john("Server room is flooding"));
    assert_eq!(desk.show(1)["priority"], 0);
    let run = desk.run(&["priority", "1", "urgent"], b"").ok();
    assert!(run.stderr.contains("priority urgent"), "{}", run.stderr);
    assert_eq!(desk.show(1)["priority"], 2);
    let e = last_entry(&desk, 1);
    assert_eq!(
        (&e["kind"], &e["old"], &e["new"]),
        (&json!("priority"), &json!("0"), &json!("2"))
    );
    desk.run(&["priority", "1", "-1"], b"").ok();
    assert_eq!(desk.show(1)["priority"], -1);
    desk.run(&["priority", "1", "High"], b"").ok();
    assert_eq!(desk.list(&[])[0]["priority"], 1);
    let shown = desk.run(&["show", "1"], b"").ok().stdout;
    assert!(
        shown.contains(&format!("{:<11}high", "Priority:")),
        "{shown}"
    );
    assert!(
        shown.contains("changed the priority from urgent to low"),
        "{shown}"
    );
    let bad = desk.run(&["priority", "1", "asap"], b"").code(1);
    assert!(
        bad.stderr.contains("low, normal, high, urgent, or -1 to 2"),
        "{}",
        bad.stderr
    );
    desk.run(&["priority", "1", "3"], b"").code(1);
    assert_eq!(desk.show(1)["priority"], 1);
}

// --------------------------------------------------------------------- due

#[test]
fn due_dates_are_read_in_the_site_timezone_and_kept_in_utc() {
    let desk = Desk::with_config("[site]\ntimezone = \"Europe/Paris\"\n");
    desk.open_ticket(&john("Renew the certificate"));
    assert_eq!(desk.show(1)["due"], Value::Null);
    let run = desk.run(&["due", "1", "2026-12-24T17:00"], b"").ok();
    assert!(
        run.stderr.contains("due Thu 24 Dec 2026 17:00 CET"),
        "{}",
        run.stderr
    );
    assert_eq!(desk.show(1)["due"], "2026-12-24T16:00:00Z");
    let e = last_entry(&desk, 1);
    assert_eq!(
        (&e["kind"], &e["old"], &e["new"]),
        (&json!("due"), &json!(""), &json!("2026-12-24T16:00:00Z"))
    );
    // A date alone is the start of that day, there.
    desk.run(&["due", "1", "2026-07-14"], b"").ok();
    assert_eq!(desk.show(1)["due"], "2026-07-13T22:00:00Z");
    let shown = desk.run(&["show", "1"], b"").ok().stdout;
    assert!(
        shown.contains(&format!("{:<11}Tue 14 Jul 2026 00:00 CEST", "Due:")),
        "{shown}"
    );
    assert!(
        shown.contains("set the due date to Thu 24 Dec 2026 17:00 CET"),
        "{shown}"
    );
    // JSON stays UTC; times for people are in the zone.
    let created = desk.show(1)["created"].as_str().unwrap().to_string();
    assert!(created.ends_with('Z'), "{created}");
    assert!(shown.contains(" CET") || shown.contains(" CEST"), "{shown}");
    assert!(!shown.contains(" UTC"), "{shown}");
    desk.run(&["due", "1", "none"], b"").ok();
    assert_eq!(desk.show(1)["due"], Value::Null);
    let e = last_entry(&desk, 1);
    assert_eq!(
        (&e["old"], &e["new"]),
        (&json!("2026-07-13T22:00:00Z"), &json!(""))
    );
}

#[test]
fn due_in_hours_or_days_counts_from_now_and_nonsense_is_refused() {
    let desk = Desk::new();
    desk.open_ticket(&john("Call back"));
    let before = chrono::Utc::now().timestamp();
    desk.run(&["due", "1", "+3d"], b"").ok();
    let after = chrono::Utc::now().timestamp();
    let due = chrono::DateTime::parse_from_rfc3339(desk.show(1)["due"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        (before - 1 + 3 * 86_400..=after + 3 * 86_400).contains(&due),
        "{due}"
    );
    desk.run(&["due", "1", "+4h"], b"").ok();
    let due4 = chrono::DateTime::parse_from_rfc3339(desk.show(1)["due"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!((before - 1 + 4 * 3_600..=chrono::Utc::now().timestamp() + 4 * 3_600).contains(&due4));
    for wrong in ["tomorrow", "24.12.2026", "+3y", "2026-02-30"] {
        let run = desk.run(&["due", "1", wrong], b"").code(1);
        assert!(
            run.stderr.contains("cannot read the due date"),
            "{wrong}: {}",
            run.stderr
        );
    }
}

#[test]
fn every_ticket_object_carries_due_and_priority() {
    let desk = Desk::new();
    desk.open_ticket(&john("One"));
    desk.open_ticket(&john("Two"));
    desk.run(&["due", "2", "2026-12-24T17:00"], b"").ok();
    let list = desk.list(&[]);
    for t in list.as_array().unwrap() {
        assert!(t.get("due").is_some() && t.get("priority").is_some(), "{t}");
    }
    assert_eq!(list[0]["due"], "2026-12-24T17:00:00Z");
    assert_eq!(list[1]["due"], Value::Null);
}

#[test]
fn a_bad_time_zone_is_a_config_error_naming_the_key() {
    let desk = Desk::with_config("[site]\ntimezone = \"Mars/Olympus\"\n");
    let run = desk.run(&["list"], b"").code(78);
    assert!(
        run.stderr.contains("site.timezone") && run.stderr.contains("Mars/Olympus"),
        "{}",
        run.stderr
    );
}

// ------------------------------------------------------------------- sorts

#[test]
fn list_sorts_by_priority_urgent_first_and_by_due_soonest_first_none_last() {
    let desk = Desk::new();
    for s in ["One", "Two", "Three", "Four"] {
        desk.open_ticket(&john(s));
    }
    desk.run(&["priority", "1", "high"], b"").ok();
    desk.run(&["priority", "2", "urgent"], b"").ok();
    desk.run(&["priority", "3", "low"], b"").ok();
    assert_eq!(ids(&desk.list(&["--sort", "priority"])), [2, 1, 4, 3]);
    desk.run(&["due", "3", "+1d"], b"").ok();
    desk.run(&["due", "1", "+2h"], b"").ok();
    assert_eq!(ids(&desk.list(&["--sort", "due"])), [1, 3, 4, 2]);
    // The table sorts the same way.
    let table = desk.run(&["list", "--sort", "due"], b"").ok().stdout;
    let first: Vec<&str> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(first, ["1", "3", "4", "2"], "{table}");
    let bad = desk.run(&["list", "--sort", "age"], b"").code(1);
    assert!(
        bad.stderr.contains("updated, created, priority or due"),
        "{}",
        bad.stderr
    );
}

#[test]
fn list_sorts_by_updated_and_created_most_recent_first() {
    let desk = Desk::new();
    for s in ["One", "Two", "Three"] {
        desk.open_ticket(&john(s));
    }
    desk.run(&["priority", "1", "high"], b"").ok();
    for (sort, field) in [("updated", "updated"), ("created", "created")] {
        let list = desk.list(&["--sort", sort]);
        let keys: Vec<(String, i64)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t[field].as_str().unwrap().to_string(),
                    t["id"].as_i64().unwrap(),
                )
            })
            .collect();
        // Newest first; a tie (the same second) newest ticket first.
        assert!(
            keys.windows(2).all(|w| w[0] > w[1]),
            "--sort {sort}: {keys:?}"
        );
    }
    // Ticket 1 changed last: no other was updated after it.
    let updated = desk.list(&["--sort", "updated"]);
    let one = updated
        .as_array()
        .unwrap()
        .iter()
        .position(|t| t["id"] == 1)
        .unwrap();
    assert!(
        updated[0]["updated"] == updated[one]["updated"],
        "{updated}"
    );
}

// ----------------------------------------------------------------- migrate

#[test]
fn migrate_copies_due_dates_and_priorities() {
    let desk = Desk::new();
    desk.open_ticket(&john("One"));
    desk.open_ticket(&john("Two"));
    desk.run(&["due", "1", "2026-12-24T17:00"], b"").ok();
    desk.run(&["priority", "1", "urgent"], b"").ok();
    let copy = desk.path().join("copy.db");
    desk.run(&["migrate", "--to", &copy.display().to_string()], b"")
        .ok();
    let database = pipedesk::config::Database::parse(&copy.display().to_string());
    let mut store = pipedesk::store::open_database(
        &database,
        std::time::Duration::from_secs(10),
        pipedesk::store::Open::Existing,
    )
    .expect("the copy opens");
    let (one, two) = store
        .read(|tx| Ok((tx.ticket(1)?.unwrap(), tx.ticket(2)?.unwrap())))
        .unwrap();
    assert_eq!(
        one.due.map(pipedesk::model::stamp).as_deref(),
        Some("2026-12-24T17:00:00Z")
    );
    assert_eq!((one.priority, two.due), (2, None));
}
