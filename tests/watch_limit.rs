//! `policy.max_watchers` on watchers added by hand (SPEC §2, §5; issue
//! 18): `watch`, the thread page's watchers form and `POST
//! /api/tickets/N/watchers` refuse a ticket that has the most watchers
//! the policy allows, the requestor counted, as Cc in mail stop there;
//! a merge adds the merged ticket's watchers up to it, and says who not.
//! `tests/pg_watch_limit.rs` runs this suite on PostgreSQL.

mod common;

use common::*;
use serde_json::json;

/// Three watchers at most: John, the requestor, and two more.
const POLICY: &str = "[policy]\nmax_watchers = 3\n";

/// A desk whose ticket 1 (John's) has the most watchers it may.
fn full() -> Desk {
    let desk = Desk::with_config(POLICY);
    desk.open_ticket(&john("Printer on fire"));
    desk.run(&["watch", "1", "pat@example.org"], b"").ok();
    desk.run(&["watch", "1", "kim@example.org"], b"").ok();
    assert_eq!(desk.show(1)["watchers"].as_array().map(Vec::len), Some(3));
    desk
}

#[test]
fn watch_refuses_a_ticket_with_max_watchers_and_says_why() {
    let desk = full();
    let history = desk.show(1)["history"].clone();
    let r = desk.run(&["watch", "1", "lee@example.org"], b"").code(1);
    assert!(r.stderr.contains("policy.max_watchers"), "{}", r.stderr);
    assert_eq!(desk.show(1)["history"], history, "nothing written");
    // One already watching is told that, not the limit.
    let r = desk.run(&["watch", "1", "Pat@Example.org"], b"").code(1);
    assert!(r.stderr.contains("already"), "{}", r.stderr);
    // Room again once one goes.
    desk.run(&["unwatch", "1", "kim@example.org"], b"").ok();
    desk.run(&["watch", "1", "lee@example.org"], b"").ok();
    assert_eq!(
        desk.show(1)["watchers"],
        json!([JOHN, "pat@example.org", "lee@example.org"])
    );
}

#[test]
fn the_api_answers_409_and_the_page_a_notice() {
    let desk = full();
    let server = desk.serve();
    let bearer = format!("Bearer {}", desk.token(ADMIN));
    let r = server.post(
        "/api/tickets/1/watchers",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
        ],
        &json!({"add": "lee@example.org"}).to_string(),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let said = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(said.contains("policy.max_watchers"), "{said}");

    let cookie = server.sign_in(ADMIN);
    let v = desk.show(1)["version"].to_string();
    let r = server
        .form(
            &cookie,
            "/tickets/1/watchers",
            &format!("add=lee%40example.org&version={v}"),
        )
        .status(303);
    let to = r.header("location").unwrap_or_default().to_string();
    assert!(to.starts_with("/tickets/1?notice="), "{to}");
    let page = server.get(&to, &[("Cookie", &cookie)]).body;
    assert!(page.contains("policy.max_watchers"), "{page}");
    assert_eq!(
        desk.show(1)["watchers"],
        json!([JOHN, "pat@example.org", "kim@example.org"])
    );
}

#[test]
fn a_merge_adds_watchers_up_to_the_limit_and_says_who_was_left_out() {
    let desk = full();
    // Ticket 2, Maria's, watched by her and Sam: neither fits on ticket 1.
    desk.open_ticket(&mail("Maria <maria@example.net>", "Also the printer"));
    desk.run(&["watch", "2", "sam@example.org"], b"").ok();
    desk.run(&["merge", "2", "1"], b"").ok();
    let shown = desk.show(1);
    assert_eq!(
        shown["watchers"],
        json!([JOHN, "pat@example.org", "kim@example.org"])
    );
    let notes: Vec<&str> = shown["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["note"].as_str())
        .collect();
    assert!(
        notes.contains(&"2 watchers of #2 were not added (policy.max_watchers = 3)"),
        "{notes:?}"
    );
    // With room, a merge adds them as it always did.
    desk.run(&["unwatch", "1", "kim@example.org"], b"").ok();
    desk.open_ticket(&mail("Lee <lee@example.org>", "Printer again"));
    desk.run(&["merge", "3", "1"], b"").ok();
    assert_eq!(
        desk.show(1)["watchers"],
        json!([JOHN, "pat@example.org", "lee@example.org"])
    );
}
