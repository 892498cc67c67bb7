//! Which ticket an entry came from after a merge (SPEC §5 `merged_from`),
//! through the real binary: `show --json`, `show`, the thread page and the
//! API say it for the entries a merge brought, and only for those; a chain
//! of merges keeps the ticket each entry was first written on; `migrate
//! --to` carries it, a merge made after a first copy too.

mod common;

use std::path::PathBuf;

use common::pg;
use common::store::TestStore;
use common::*;
use serde_json::{json, Value};

fn maria(subject: &str) -> Mail {
    mail("Maria <maria@example.net>", subject)
}

/// Each history entry of ticket `n` as (kind, merged_from).
fn origins(desk: &Desk, n: i64) -> Vec<(String, Value)> {
    desk.show(n)["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("a kind").to_string(),
                e.get("merged_from").cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, Value)]) -> Vec<(String, Value)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Tickets 1 (John's, with a reply) and 2 (Maria's), 1 merged into 2.
fn merged_desk() -> Desk {
    let desk = Desk::new();
    let a = desk.open_ticket(&john("Printer"));
    let b = desk.open_ticket(&maria("Printer on the 2nd floor"));
    desk.send(
        &ticket_addr(a, ""),
        &john("Re: Printer").body("Still broken.\n"),
    )
    .ok();
    desk.run(&["merge", &a.to_string(), &b.to_string()], b"")
        .ok();
    desk
}

#[test]
fn entries_from_a_merged_ticket_say_which_ticket_they_came_from() {
    let desk = merged_desk();
    assert_eq!(
        origins(&desk, 2),
        pairs(&[
            ("create", json!(1)),
            ("create", Value::Null),
            ("correspond", json!(1)),
            ("merge", Value::Null),
        ])
    );
    // The key is absent, not null, on the ticket's own entries.
    let own = &desk.show(2)["history"][1];
    assert!(own.get("merged_from").is_none(), "{own}");
    // The merged ticket is shown as the one it went into.
    assert_eq!(desk.show(1)["history"], desk.show(2)["history"]);
    desk.run(&["check"], b"").ok();
}

#[test]
fn show_says_from_which_ticket_a_merged_entry_came() {
    let desk = merged_desk();
    let out = desk.run(&["show", "2"], b"").ok().stdout;
    let from_one: Vec<&str> = out.lines().filter(|l| l.contains("(from #1)")).collect();
    assert_eq!(from_one.len(), 2, "the create and the reply of #1:\n{out}");
    assert!(
        from_one[0].contains("john@example.com") && from_one[1].contains("john@example.com"),
        "{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.contains("maria@example.net") && l.contains("(from #")),
        "Maria's own entry is not marked:\n{out}"
    );
}

#[test]
fn a_chain_of_merges_keeps_the_ticket_each_entry_was_written_on() {
    let desk = merged_desk();
    let c = desk.open_ticket(&mail("lee@example.com", "Printer, 3rd floor"));
    assert_eq!(c, 3);
    desk.run(&["merge", "2", "3"], b"").ok();
    assert_eq!(
        origins(&desk, 3),
        pairs(&[
            ("create", json!(1)),
            ("create", json!(2)),
            ("correspond", json!(1)),
            // Written on #2 when #1 was merged into it.
            ("merge", json!(2)),
            ("create", Value::Null),
            ("merge", Value::Null),
        ])
    );
    desk.run(&["check"], b"").ok();
}

#[test]
fn the_thread_page_and_the_api_say_where_a_merged_entry_came_from() {
    let desk = merged_desk();
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let page = server.get("/tickets/2", &[("Cookie", &cookie)]).body;
    assert_eq!(page.matches("from #1<").count(), 2, "{page}");
    assert!(!page.contains("from #2<"), "{page}");
    let api = server.get("/api/tickets/2", &[("Cookie", &cookie)]).json();
    assert_eq!(api["history"], desk.show(2)["history"]);
}

/// A desk of the other store than this binary's: PostgreSQL for the
/// SQLite binary, SQLite for `pg_merged`. None (after a `SKIP:` line) where
/// PostgreSQL cannot start.
fn other_store(desk: &Desk) -> Option<(Desk, String)> {
    if desk.on_postgres() {
        let other = Desk::on(TestStore::sqlite(PathBuf::from("copy.db")), "");
        let target = other.path().join("copy.db").display().to_string();
        return Some((other, target));
    }
    let cluster = pg::shared_or_skip("merged_from through migrate")?;
    let other = Desk::on(TestStore::postgres(cluster.database().ok()?), "");
    let target = other.store.url()?.to_string();
    Some((other, target))
}

#[test]
fn migrate_carries_merged_from_and_a_merge_made_after_a_first_copy() {
    let desk = merged_desk();
    desk.open_ticket(&mail("lee@example.com", "Printer, 3rd floor"));
    let Some((copy, target)) = other_store(&desk) else {
        return;
    };
    desk.run(&["migrate", "--to", &target], b"").ok();
    copy.run(&["check"], b"").ok();
    for n in 1..=3 {
        assert_eq!(copy.show(n), desk.show(n), "ticket {n}");
    }
    assert_eq!(copy.show(2)["history"][0]["merged_from"], 1);

    // Merged on the source after the copy: a run again moves the entries
    // and their origin.
    desk.run(&["merge", "2", "3"], b"").ok();
    let run = desk.run(&["migrate", "--to", &target], b"").ok();
    assert!(run.stdout.contains("brought up to date"), "{run}");
    copy.run(&["check"], b"").ok();
    for n in 1..=3 {
        assert_eq!(copy.show(n), desk.show(n), "ticket {n}");
    }
    assert_eq!(
        origins(&copy, 3),
        pairs(&[
            ("create", json!(1)),
            ("create", json!(2)),
            ("correspond", json!(1)),
            ("merge", json!(2)),
            ("create", Value::Null),
            ("merge", Value::Null),
        ])
    );
}
