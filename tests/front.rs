//! The front ends say the desk's words (issue 16, audited after issues
//! 17–19): a refusal a command or a page gives for a status or a queue is
//! the one message every front end gives for it, and what the thread page
//! offers is what the desk decides. `tests/pg_front.rs` runs it on
//! PostgreSQL.

mod common;

use common::*;

/// An mbox of one message, written into the desk's folder.
fn mbox(desk: &Desk) -> String {
    let path = desk.path().join("old.mbox");
    std::fs::write(
        &path,
        "From old@customer.example Mon Nov 16 10:00:00 2026\n\
         From: Old Customer <old@customer.example>\nTo: help@old.example\n\
         Subject: Printer on fire\nMessage-ID: <a@customer.example>\n\
         Date: Mon, 16 Nov 2026 10:00:00 +0000\n\nIt burns.\n",
    )
    .expect("mbox");
    path.display().to_string()
}

#[test]
fn import_refuses_a_status_or_a_queue_in_the_words_of_every_command() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let path = mbox(&desk);
    // The status: the one message of `model::UnknownStatus`, as `list` says it.
    let listed = desk.run(&["list", "--status", "closed"], b"");
    let imported = desk.run(&["import", "--status", "closed", &path], b"");
    assert_eq!(imported.code, listed.code, "{imported}");
    assert_eq!(imported.stderr, listed.stderr, "{imported}");
    assert!(
        imported
            .stderr
            .contains("unknown status \"closed\" (new, open, stalled or resolved)"),
        "{imported}"
    );
    // The queue: the desk's one check of a queue a ticket may be put in,
    // as `queue` says it.
    let moved = desk.run(&["queue", "1", "wbe"], b"");
    let imported = desk.run(&["import", "--queue", "wbe", &path], b"");
    assert_eq!(imported.code, moved.code, "{imported}");
    assert_eq!(imported.stderr, moved.stderr, "{imported}");
    assert!(
        imported
            .stderr
            .contains("unknown queue \"wbe\" (general or web)"),
        "{imported}"
    );
    // Nothing was imported by the refusals; a queue named in any case is
    // the queue, as for `queue`.
    assert_eq!(desk.list(&[]).as_array().map(Vec::len), Some(1));
    desk.run(&["import", "--queue", "Web", &path], b"").ok();
    let list = desk.list(&["--queue", "web"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

#[test]
fn the_thread_page_refuses_an_unknown_status_in_the_words_of_every_front_end() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let page = server
        .form(&cookie, "/tickets/1/status", "status=closed")
        .status(400)
        .body;
    assert_eq!(
        page,
        "unknown status \"closed\" (new, open, stalled or resolved)\n"
    );
    let api = server
        .post(
            "/api/tickets/1/status",
            &[("Cookie", &cookie), ("Origin", &server.url)],
            "{\"status\": \"closed\"}",
        )
        .status(400)
        .json();
    assert_eq!(api["error"], page.trim_end());
    assert_eq!(desk.list(&[])[0]["status"], "new");
}

#[test]
fn a_search_for_nothing_is_refused_in_the_desks_words_by_api_and_command() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let said = "nothing to search for: give at least one word";
    let command = desk.run(&["search", "!!"], b"");
    assert_ne!(command.code, 0, "{command}");
    assert!(command.stderr.contains(said), "{command}");
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    for q in ["", "%21%21"] {
        let api = server
            .get(&format!("/api/search?q={q}"), &[("Cookie", &cookie)])
            .status(400)
            .json();
        assert_eq!(api["error"], said, "q={q}");
    }
}

/// A queue whose first answer is due 4 business hours after the ticket
/// opens (Berlin, 10:00–17:00 on weekdays), in December 2037: far ahead
/// of the machine's clock, so only `PIPEDESK_TEST_NOW` can breach it.
const SLA: &str = r#"
[site]
timezone = "Europe/Berlin"

[calendars.support]
hours = { mon-fri = "10:00-17:00" }

[sla.standard]
calendar = "support"
first_response = "4h"

[[queues]]
name = "billing"
address = "billing"
sla = "standard"
"#;

#[test]
fn show_and_list_json_say_a_breach_at_the_commands_time_not_the_machines() {
    let desk = Desk::with_config(SLA);
    let msg = john("Invoice wrong");
    fn at(when: &str) -> [(&'static str, &str); 1] {
        [("PIPEDESK_TEST_NOW", when)]
    }
    desk.run_env(
        &[
            "deliver",
            "--recipient",
            "billing@help.example.org",
            "--sender",
            &envelope_of(&msg),
        ],
        &at("2037-12-21T10:00:00+01:00"),
        &desk.bytes(&msg),
    )
    .ok();
    let breached = |when: &str, args: &[&str]| -> serde_json::Value {
        let run = desk.run_env(args, &at(when), b"").ok();
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        let t = if v.is_array() { v[0].clone() } else { v };
        t["sla"]["breached"].clone()
    };
    for args in [&["show", "1", "--json"][..], &["list", "--json"][..]] {
        assert_eq!(
            breached("2037-12-21T11:00:00+01:00", args),
            serde_json::json!([]),
            "{args:?}"
        );
        assert_eq!(
            breached("2037-12-21T15:00:00+01:00", args),
            serde_json::json!(["first_response"]),
            "{args:?}"
        );
    }
}
