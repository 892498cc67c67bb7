//! A ticket's own fields on the web (SPEC §6, issue 17), the real server
//! on loopback: `POST /api/tickets/N/queue`, `/edit`, `/priority`, `/due`,
//! `/watchers` answering the ticket with its ETag and honouring
//! `If-Match`; `sort=` on `GET /api/tickets` and the list page; the
//! board's cards with priority and due; the thread page's forms, each the
//! same operation as its command. `tests/pg_web_fields.rs` runs this suite
//! on PostgreSQL.

mod common;

use std::time::Duration;

use common::web::*;
use common::*;
use serde_json::{json, Value};

/// A desk with tickets 1 (John) and 2 (Maria), served, and the admin's
/// API token as a header.
fn served(overrides: &str) -> (Desk, Server, String) {
    let desk = Desk::with_config(overrides);
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&mail("Maria <maria@example.net>", "Wi-Fi"));
    let server = desk.serve();
    let bearer = format!("Bearer {}", desk.token(ADMIN));
    (desk, server, bearer)
}

fn post_json(server: &Server, bearer: &str, path: &str, body: Value) -> Reply {
    server.post(
        path,
        &[
            ("Authorization", bearer),
            ("Content-Type", "application/json"),
        ],
        &body.to_string(),
    )
}

fn last_entry(t: &Value) -> Value {
    t["history"]
        .as_array()
        .and_then(|h| h.last().cloned())
        .expect("a history")
}

#[test]
fn each_field_change_answers_the_ticket_with_its_etag_as_show_would() {
    let (desk, server, bearer) = served("");
    let r = post_json(
        &server,
        &bearer,
        "/api/tickets/1/queue",
        json!({"queue": "web"}),
    )
    .status(200);
    let t = r.json();
    assert_eq!(t["queue"], "web");
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", t["version"]).as_str())
    );
    assert_eq!(last_entry(&t)["kind"], "queue");

    let t = post_json(
        &server,
        &bearer,
        "/api/tickets/1/priority",
        json!({"priority": "urgent"}),
    )
    .status(200)
    .json();
    assert_eq!(t["priority"], 2);
    let t = post_json(
        &server,
        &bearer,
        "/api/tickets/1/priority",
        json!({"priority": -1}),
    )
    .status(200)
    .json();
    assert_eq!(t["priority"], -1);

    let t = post_json(
        &server,
        &bearer,
        "/api/tickets/1/due",
        json!({"due": "2026-12-24T17:00"}),
    )
    .status(200)
    .json();
    assert_eq!(t["due"], "2026-12-24T17:00:00Z");
    let t = post_json(&server, &bearer, "/api/tickets/1/due", json!({"due": null}))
        .status(200)
        .json();
    assert_eq!(t["due"], Value::Null);
    assert_eq!(
        (&last_entry(&t)["old"], &last_entry(&t)["new"]),
        (&json!("2026-12-24T17:00:00Z"), &json!(""))
    );

    let t = post_json(
        &server,
        &bearer,
        "/api/tickets/1/edit",
        json!({"subject": "Printer smokes", "requestor": "kim@example.org"}),
    )
    .status(200)
    .json();
    assert_eq!(
        (&t["subject"], &t["requestor"]),
        (&json!("Printer smokes"), &json!("kim@example.org"))
    );
    assert_eq!(t["watchers"], json!([JOHN, "kim@example.org"]));
    // The API's ticket is the command's.
    assert_json(
        &desk.show(1),
        &server
            .get("/api/tickets/1", &[("Authorization", &bearer)])
            .json(),
    );
}

#[test]
fn watchers_are_added_and_removed_and_the_requestor_stays() {
    let (desk, server, bearer) = served("");
    let t = post_json(
        &server,
        &bearer,
        "/api/tickets/1/watchers",
        json!({"add": "Pat@Example.org"}),
    )
    .status(200)
    .json();
    assert_eq!(t["watchers"], json!([JOHN, "pat@example.org"]));
    let again = post_json(
        &server,
        &bearer,
        "/api/tickets/1/watchers",
        json!({"add": "pat@example.org"}),
    );
    assert_eq!(again.status, 409, "{}", again.body);
    let ours = post_json(
        &server,
        &bearer,
        "/api/tickets/1/watchers",
        json!({"add": "submit@help.example.org"}),
    );
    assert_eq!(ours.status, 400, "{}", ours.body);
    let t = post_json(
        &server,
        &bearer,
        "/api/tickets/1/watchers",
        json!({"remove": "pat@example.org"}),
    )
    .status(200)
    .json();
    assert_eq!(t["watchers"], json!([JOHN]));
    let requestor = post_json(
        &server,
        &bearer,
        "/api/tickets/1/watchers",
        json!({"remove": JOHN}),
    );
    assert_eq!(requestor.status, 409, "{}", requestor.body);
    let both = post_json(
        &server,
        &bearer,
        "/api/tickets/1/watchers",
        json!({"add": "a@example.org", "remove": "b@example.org"}),
    );
    assert_eq!(both.status, 400, "{}", both.body);
    assert_eq!(desk.show(1)["watchers"], json!([JOHN]));
}

#[test]
fn bad_input_is_400_naming_what_is_allowed_and_changes_nothing() {
    let (desk, server, bearer) = served("");
    let before = desk.show(1);
    for (path, body, says) in [
        (
            "/api/tickets/1/queue",
            json!({"queue": "wbe"}),
            "(general or web)",
        ),
        (
            "/api/tickets/1/queue",
            json!({"queue": "spam"}),
            "pipedesk spam",
        ),
        (
            "/api/tickets/1/priority",
            json!({"priority": "asap"}),
            "low, normal, high, urgent",
        ),
        (
            "/api/tickets/1/priority",
            json!({"priority": true}),
            "neither a word",
        ),
        (
            "/api/tickets/1/due",
            json!({"due": "tomorrow"}),
            "cannot read the due date",
        ),
        ("/api/tickets/1/due", json!({}), "null for none"),
        (
            "/api/tickets/1/edit",
            json!({"requestor": "nobody"}),
            "not a mail address",
        ),
        ("/api/tickets/1/edit", json!({}), "nothing to change"),
    ] {
        let r = post_json(&server, &bearer, path, body.clone());
        assert_eq!(r.status, 400, "{path} {body}: {}", r.body);
        let error = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(says), "{path} {body}: {error}");
    }
    let missing = post_json(
        &server,
        &bearer,
        "/api/tickets/9/priority",
        json!({"priority": 1}),
    );
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_json(&before, &desk.show(1));
}

#[test]
fn if_match_on_a_field_change_answers_412_with_the_ticket_as_it_is() {
    let (desk, server, bearer) = served("");
    let version = desk.show(1)["version"].as_i64().unwrap();
    desk.run(&["priority", "1", "high"], b"").ok();
    let r = server.post(
        "/api/tickets/1/due",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
            ("If-Match", &format!("\"{version}\"")),
        ],
        &json!({"due": "+3d"}).to_string(),
    );
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(r.json()["priority"], 1);
    assert_eq!(desk.show(1)["due"], Value::Null);
    let now = desk.show(1)["version"].as_i64().unwrap();
    let ok = server.post(
        "/api/tickets/1/due",
        &[
            ("Authorization", &bearer),
            ("Content-Type", "application/json"),
            ("If-Match", &now.to_string()),
        ],
        &json!({"due": "2027-01-05"}).to_string(),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["due"], "2027-01-05T00:00:00Z");
    // "none" as the command takes it, as well as null.
    let none = post_json(
        &server,
        &bearer,
        "/api/tickets/1/due",
        json!({"due": "none"}),
    );
    assert_eq!(none.status(200).json()["due"], Value::Null);
}

#[test]
fn the_list_sorts_on_the_api_and_on_the_page() {
    let (desk, server, bearer) = served("");
    desk.open_ticket(&john("Third"));
    desk.run(&["priority", "1", "urgent"], b"").ok();
    desk.run(&["priority", "3", "high"], b"").ok();
    desk.run(&["due", "2", "+1d"], b"").ok();
    let ids = |path: &str| -> Vec<i64> {
        server
            .get(path, &[("Authorization", &bearer)])
            .status(200)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids("/api/tickets?sort=priority"), [1, 3, 2]);
    assert_eq!(ids("/api/tickets?sort=due"), [2, 3, 1]);
    let bad = server.get("/api/tickets?sort=age", &[("Authorization", &bearer)]);
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.json()["error"]
        .as_str()
        .unwrap()
        .contains("updated, created, priority or due"));
    // The page: its filter form offers the sorts, and the rows follow.
    let cookie = server.sign_in(ADMIN);
    let page = server
        .get("/tickets?sort=priority", &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(page.contains("<select name=\"sort\">"), "{page}");
    assert!(
        page.contains("<option value=\"due\">due</option>"),
        "{page}"
    );
    let at = |n: i64| page.find(&format!("href=\"/tickets/{n}\"")).unwrap();
    assert!(at(1) < at(3) && at(3) < at(2), "rows out of priority order");
    server
        .get("/tickets?sort=age", &[("Cookie", &cookie)])
        .status(400);
}

#[test]
fn board_cards_carry_priority_and_due_in_the_board_and_the_event_stream() {
    let (desk, server, bearer) = served("");
    let seq = server
        .get("/api/board", &[("Authorization", &bearer)])
        .json()["seq"]
        .as_i64()
        .unwrap();
    desk.run(&["priority", "2", "urgent"], b"").ok();
    desk.run(&["due", "2", "2026-01-02T03:04"], b"").ok();
    let board = server
        .get("/api/board", &[("Authorization", &bearer)])
        .status(200)
        .json();
    let card = board["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == 2)
        .cloned()
        .unwrap();
    assert_eq!(
        (&card["priority"], &card["due"]),
        (&json!(2), &json!("2026-01-02T03:04:00Z"))
    );
    let one = board["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == 1)
        .cloned()
        .unwrap();
    assert_eq!((&one["priority"], &one["due"]), (&json!(0), &Value::Null));
    let events = server.events(
        "/api/events",
        &[
            ("Authorization", &bearer),
            ("Last-Event-ID", &seq.to_string()),
        ],
        Duration::from_secs(20),
        |e| e.iter().any(|e| e.json()["due"].is_string()),
    );
    let last = events
        .iter()
        .rev()
        .find(|e| e.json()["id"] == 2)
        .expect("an event for #2");
    assert_eq!(last.json()["priority"], 2);
    assert_eq!(last.json()["due"], "2026-01-02T03:04:00Z");
    // The board page hands its script the priority words and the zone.
    let cookie = server.sign_in(ADMIN);
    let page = server.get("/", &[("Cookie", &cookie)]).status(200).body;
    assert!(page.contains("data-timezone=\"UTC\""), "{page}");
    assert!(page.contains("&quot;2&quot;:&quot;urgent&quot;"), "{page}");
    let script = server.get("/assets/board.js", &[]).status(200).body;
    assert!(script.contains("overdue"), "the board marks overdue cards");
}

#[test]
fn the_thread_page_has_a_form_for_each_field_and_they_go_through_the_desk() {
    let (desk, server, _) = served("[site]\ntimezone = \"Europe/Paris\"\n");
    let cookie = server.sign_in(ADMIN);
    let page = server
        .get("/tickets/1", &[("Cookie", &cookie)])
        .status(200)
        .body;
    for action in ["queue", "priority", "due", "edit", "watch"] {
        assert!(
            page.contains(&format!("data-action=\"{action}\"")),
            "no {action} form: {page}"
        );
    }
    // minijinja escapes the slash too.
    assert!(page.contains("Due (Europe&#x2f;Paris)"), "{page}");
    let back = |r: Reply| {
        let r = r.status(303);
        r.header("location").unwrap_or_default().to_string()
    };
    let v = || desk.show(1)["version"].to_string();
    assert_eq!(
        back(server.form(
            &cookie,
            "/tickets/1/queue",
            &format!("queue=web&version={}", v())
        )),
        "/tickets/1"
    );
    assert_eq!(
        back(server.form(
            &cookie,
            "/tickets/1/priority",
            &format!("priority=high&version={}", v())
        )),
        "/tickets/1"
    );
    // A datetime-local field's value, in site.timezone.
    back(server.form(
        &cookie,
        "/tickets/1/due",
        &format!("due=2026-12-24T17%3A00&version={}", v()),
    ));
    back(server.form(
        &cookie,
        "/tickets/1/edit",
        &format!(
            "subject=Printer+smokes&requestor=john%40example.com&version={}",
            v()
        ),
    ));
    back(server.form(
        &cookie,
        "/tickets/1/watchers",
        &format!("add=pat%40example.org&version={}", v()),
    ));
    let t = desk.show(1);
    assert_eq!(
        (&t["queue"], &t["priority"], &t["due"], &t["subject"]),
        (
            &json!("web"),
            &json!(1),
            &json!("2026-12-24T16:00:00Z"),
            &json!("Printer smokes")
        )
    );
    assert_eq!(t["watchers"], json!([JOHN, "pat@example.org"]));
    // The page shows them back, the due date in the zone.
    let page = server
        .get("/tickets/1", &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(page.contains("Thu 24 Dec 2026 17:00 CET"), "{page}");
    assert!(page.contains("value=\"2026-12-24T17:00\""), "{page}");
    assert!(
        page.contains("changed the priority from normal to high"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"pat@example.org\">"),
        "a watcher to remove: {page}"
    );
    // Remove, clear, and a refusal that comes back as a notice.
    back(server.form(
        &cookie,
        "/tickets/1/watchers",
        &format!("remove=pat%40example.org&version={}", v()),
    ));
    back(server.form(
        &cookie,
        "/tickets/1/due",
        &format!("due=2026-12-24T17%3A00&clear=1&version={}", v()),
    ));
    let t = desk.show(1);
    assert_eq!((&t["watchers"], &t["due"]), (&json!([JOHN]), &Value::Null));
    let refused = back(server.form(
        &cookie,
        "/tickets/1/queue",
        &format!("queue=nowhere&version={}", v()),
    ));
    assert!(refused.starts_with("/tickets/1?notice="), "{refused}");
    let said = server.get(&refused, &[("Cookie", &cookie)]).body;
    assert!(said.contains("unknown queue"), "{said}");
    // A stale version changes nothing.
    let before = desk.show(1);
    let stale = back(server.form(&cookie, "/tickets/1/priority", "priority=urgent&version=1"));
    assert!(stale.contains("notice="), "{stale}");
    assert_json(&before, &desk.show(1));
}
