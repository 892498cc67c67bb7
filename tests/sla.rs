//! SLA clocks through the real binary (SPEC §8, issue 19): a ticket of a
//! queue with an SLA gets its deadlines in business time — across a
//! weekend, over a holiday, standing still while stalled — staff
//! correspondence meets them, the requestor's mail starts the next
//! response, and `tick --at` fires each warning and breach once however
//! often it runs; `show --json`, the API and `list --sort due` carry them.
//! `tests/pg_sla.rs` runs this suite on PostgreSQL.
//!
//! Every change happens at a fixed time: the commands and `deliver` act at
//! `PIPEDESK_TEST_NOW` when it is set (`commands::now`), and `tick --at`
//! runs the clock. The times are in December 2037, in Berlin (CET, UTC+1),
//! far ahead of the machine's clock, so that nothing the real time does
//! (`serve`'s own tick, `show`'s "breached at now") can move them.

mod common;

use common::*;
use serde_json::{json, Value};

const BILLING: &str = "billing@help.example.org";
const BOSS: &str = "boss@example.org";

/// The SPEC §8 example: business hours in Berlin, Christmas every year and
/// one Monday once; the billing queue on the standard SLA; a rule that
/// tells the boss of every warning, and one for a late first answer.
const CONFIG: &str = r#"
[site]
timezone = "Europe/Berlin"

[calendars.support]
hours = { mon-fri = "10:00-17:00", sat = "10:00-13:00" }
holidays = ["12-25", "2037-12-28"]

[sla.standard]
calendar = "support"
first_response = "4h"
next_response = "8h"
resolve = "3d"
warn_before = "30m"
pause_on = ["stalled"]

[[queues]]
name = "web"
address = "webmaster"

[[queues]]
name = "billing"
address = "billing"
sla = "standard"

[[rules]]
name = "warn-boss"
on = ["sla-warning"]
do.notify = { to = ["boss@example.org"] }

[[rules]]
name = "first-answer-late"
on = ["sla-breach"]
if.clock = "first_response"
do.notify = { to = ["boss@example.org"] }
"#;

fn desks() -> [Desk; 2] {
    Desk::both(CONFIG)
}

/// Berlin's winter time, written as a person reads it: `"12-19 12:00"` is
/// 2037-12-19T12:00:00+01:00.
fn cet(when: &str) -> String {
    let (day, time) = when.split_once(' ').expect("MM-DD HH:MM[:SS]");
    let time = if time.len() == 5 {
        format!("{time}:00")
    } else {
        time.to_string()
    };
    format!("2037-{day}T{time}+01:00")
}

/// Runs `pipedesk ARGS` as if it were `when` (Berlin).
#[track_caller]
fn run_at(desk: &Desk, when: &str, args: &[&str], stdin: &[u8]) -> Run {
    desk.run_env(args, &[("PIPEDESK_TEST_NOW", &cet(when))], stdin)
        .ok()
}

/// `msg` delivered to `rcpt` at `when`; the ticket it went to.
#[track_caller]
fn deliver_at(desk: &Desk, when: &str, rcpt: &str, msg: &Mail) -> i64 {
    let out = run_at(
        desk,
        when,
        &[
            "deliver",
            "--json",
            "--recipient",
            rcpt,
            "--sender",
            &envelope_of(msg),
        ],
        &desk.bytes(msg),
    )
    .json();
    out["ticket"].as_i64().expect("a ticket")
}

/// `tick --at WHEN --json`: the rules that fired, as (rule, event,
/// ticket).
#[track_caller]
fn tick(desk: &Desk, when: &str, more: &[&str]) -> Vec<(String, String, i64)> {
    let at = cet(when);
    let mut args = vec!["tick", "--at", &at, "--json"];
    args.extend_from_slice(more);
    let out = desk.run(&args, b"").ok().json();
    let fired = out["fired"].as_array().expect("fired");
    fired
        .iter()
        .map(|f| {
            assert_eq!(
                f.as_object().map(|o| o.len()),
                Some(3),
                "rule, event, ticket: {f}"
            );
            (
                f["rule"].as_str().expect("a rule").to_string(),
                f["event"].as_str().expect("an event").to_string(),
                f["ticket"].as_i64().expect("a ticket"),
            )
        })
        .collect()
}

fn fired(rule: &str, event: &str, ticket: i64) -> (String, String, i64) {
    (rule.to_string(), event.to_string(), ticket)
}

/// The `sla` object of `show N --json`.
fn sla(desk: &Desk, n: i64) -> Value {
    desk.show(n)["sla"].clone()
}

/// The clock's own history entries of ticket `n`: (clock, event).
fn clock_entries(desk: &Desk, n: i64) -> Vec<(String, String)> {
    desk.show(n)["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["author"] == "clock")
        .map(|e| {
            (
                e["old"].as_str().unwrap_or_default().to_string(),
                e["new"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The mails written since the last look that go to the boss.
fn to_boss(desk: &Desk) -> usize {
    desk.take_mail()
        .iter()
        .filter(|m| m.forward_path.iter().any(|r| r == BOSS))
        .count()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|t| t["id"].as_i64().expect("an id"))
        .collect()
}

// ---------------------------------------------------------------- weekend

#[test]
fn the_first_response_clock_runs_over_a_weekend_and_fires_once() {
    for desk in desks() {
        // Saturday noon: an hour of Saturday's hours is left, Sunday has
        // none, three more on Monday: Monday 13:00. Resolve, 3d: the same
        // time on the third business day after (Mon, Tue, Wed).
        let n = deliver_at(&desk, "12-19 12:00", BILLING, &john("Invoice wrong"));
        assert_eq!(
            sla(&desk, n),
            json!({
                "name": "standard",
                "first_response_due": "2037-12-21T12:00:00Z",
                "next_response_due": null,
                "resolve_due": "2037-12-23T11:00:00Z",
                "breached": [],
            })
        );
        desk.clear_mail();

        // A comment is staff talking among themselves: no answer.
        run_at(
            &desk,
            "12-21 10:30",
            &["comment", &n.to_string()],
            b"Billing?\n",
        );
        assert_eq!(sla(&desk, n)["first_response_due"], "2037-12-21T12:00:00Z");

        // The warning is due 30 business minutes before: Monday 12:30.
        assert_eq!(tick(&desk, "12-19 12:59", &[]), []);
        assert_eq!(tick(&desk, "12-21 12:29", &[]), []);
        // --dry-run says what would fire, and changes nothing.
        for _ in 0..2 {
            assert_eq!(
                tick(&desk, "12-21 12:30", &["--dry-run"]),
                [fired("warn-boss", "sla-warning", n)]
            );
        }
        assert_eq!(clock_entries(&desk, n), []);
        assert_eq!(to_boss(&desk), 0);
        // Once, however often tick runs, at the same time or later.
        assert_eq!(
            tick(&desk, "12-21 12:30", &[]),
            [fired("warn-boss", "sla-warning", n)]
        );
        assert_eq!(tick(&desk, "12-21 12:30", &[]), []);
        assert_eq!(tick(&desk, "12-21 12:45", &[]), []);
        // At the deadline it has not passed yet; a second after, it has.
        assert_eq!(tick(&desk, "12-21 13:00", &[]), []);
        assert_eq!(sla(&desk, n)["breached"], json!([]));
        assert_eq!(
            tick(&desk, "12-21 13:00:01", &[]),
            [fired("first-answer-late", "sla-breach", n)]
        );
        for when in ["12-21 13:00:01", "12-21 13:01", "12-21 16:00"] {
            assert_eq!(tick(&desk, when, &[]), [], "{when}");
        }
        assert_eq!(
            clock_entries(&desk, n),
            [
                ("first_response".into(), "sla-warning".into()),
                ("first_response".into(), "sla-breach".into()),
            ]
        );
        assert_eq!(to_boss(&desk), 2, "one warning, one breach");
        // Breached, and still running: nobody has answered.
        let s = sla(&desk, n);
        assert_eq!(s["breached"], json!(["first_response"]), "{s}");
        assert_eq!(s["first_response_due"], "2037-12-21T12:00:00Z");

        // Staff answer late: the clock stops, and stays breached.
        run_at(
            &desk,
            "12-21 16:30",
            &["reply", &n.to_string()],
            b"Sorry.\n",
        );
        let s = sla(&desk, n);
        assert_eq!(s["first_response_due"], Value::Null, "{s}");
        assert_eq!(s["breached"], json!(["first_response"]));
        assert_eq!(s["resolve_due"], "2037-12-23T11:00:00Z");
        desk.clear_mail();

        // The resolve clock warns and breaches on its own; the breach rule
        // is for the first response only, so it is a history entry alone.
        assert_eq!(
            tick(&desk, "12-23 11:45", &[]),
            [fired("warn-boss", "sla-warning", n)]
        );
        assert_eq!(tick(&desk, "12-23 12:01", &[]), []);
        assert_eq!(tick(&desk, "12-23 12:01", &[]), []);
        assert_eq!(
            sla(&desk, n)["breached"],
            json!(["first_response", "resolve"])
        );
        assert_eq!(clock_entries(&desk, n).len(), 4);
        assert_eq!(to_boss(&desk), 1);
    }
}

// ---------------------------------------------------------------- holidays

#[test]
fn holidays_are_no_business_time() {
    for desk in desks() {
        // Christmas Eve at 16:00: one hour that day, none on the 25th (every
        // year), three on Saturday: Saturday 13:00, its closing time.
        let eve = deliver_at(&desk, "12-24 16:00", BILLING, &john("Before Christmas"));
        let s = sla(&desk, eve);
        assert_eq!(s["first_response_due"], "2037-12-26T12:00:00Z", "{s}");
        // 3d: Saturday, (Monday the 28th is a holiday) Tuesday, Wednesday.
        assert_eq!(s["resolve_due"], "2037-12-30T15:00:00Z", "{s}");

        // Saturday noon: one hour left, Sunday, the 28th off (given as a
        // date): Tuesday 13:00.
        let sat = deliver_at(&desk, "12-26 12:00", BILLING, &john("On Saturday"));
        let s = sla(&desk, sat);
        assert_eq!(s["first_response_due"], "2037-12-29T12:00:00Z", "{s}");

        // Nothing fires on the holiday for the Saturday ticket; its warning
        // comes on Tuesday at 12:30.
        desk.clear_mail();
        assert_eq!(
            tick(&desk, "12-26 12:30", &[]),
            [fired("warn-boss", "sla-warning", eve)]
        );
        assert_eq!(
            tick(&desk, "12-28 15:00", &[]),
            [fired("first-answer-late", "sla-breach", eve)]
        );
        assert_eq!(tick(&desk, "12-29 12:29", &[]), []);
        assert_eq!(
            tick(&desk, "12-29 12:30", &[]),
            [fired("warn-boss", "sla-warning", sat)]
        );
        assert_eq!(tick(&desk, "12-29 12:30", &[]), []);
        assert_eq!(to_boss(&desk), 3);
    }
}

// ---------------------------------------------------------------- pauses

#[test]
fn a_stalled_ticket_s_clocks_stand_still_and_move_later_by_the_pause() {
    for desk in desks() {
        let n = deliver_at(&desk, "12-14 10:00", BILLING, &john("Refund"));
        let s = sla(&desk, n);
        assert_eq!(s["first_response_due"], "2037-12-14T13:00:00Z", "{s}");
        assert_eq!(s["resolve_due"], "2037-12-17T09:00:00Z", "{s}");

        // Staff answer within the hour: met, not breached.
        run_at(
            &desk,
            "12-14 11:00",
            &["reply", &n.to_string()],
            b"Looking.\n",
        );
        let s = sla(&desk, n);
        assert_eq!(s["first_response_due"], Value::Null, "{s}");
        assert_eq!(s["next_response_due"], Value::Null, "{s}");
        assert_eq!(s["breached"], json!([]));

        // The requestor writes again at noon: 8h of business time for the
        // next answer, five on Monday, three on Tuesday.
        let again = john(&format!("Re: [myisp #{n}] Refund"));
        assert_eq!(deliver_at(&desk, "12-14 12:00", BILLING, &again), n);
        let s = sla(&desk, n);
        assert_eq!(s["next_response_due"], "2037-12-15T12:00:00Z", "{s}");

        // Stalled at 15:00: nothing fires while it stands still, though the
        // deadline as stored has passed.
        run_at(&desk, "12-14 15:00", &["stall", &n.to_string()], b"");
        desk.clear_mail();
        assert_eq!(tick(&desk, "12-15 13:30", &[]), []);
        assert_eq!(tick(&desk, "12-16 10:30", &[]), []);
        assert_eq!(sla(&desk, n)["breached"], json!([]));
        assert_eq!(clock_entries(&desk, n), []);

        // Reopened on Wednesday at 11:00: ten business hours stood still
        // (2 on Monday, 7 on Tuesday, 1 on Wednesday); each deadline moves
        // that much later.
        run_at(&desk, "12-16 11:00", &["reopen", &n.to_string()], b"");
        let s = sla(&desk, n);
        // Tuesday 13:00 + 10h: 4 on Tuesday, 6 on Wednesday.
        assert_eq!(s["next_response_due"], "2037-12-16T15:00:00Z", "{s}");
        // Thursday 10:00 + 10h: 7 on Thursday, 3 on Friday.
        assert_eq!(s["resolve_due"], "2037-12-18T12:00:00Z", "{s}");
        assert_eq!(s["breached"], json!([]));

        // The warning follows the moved deadline.
        assert_eq!(tick(&desk, "12-16 15:29", &[]), []);
        assert_eq!(
            tick(&desk, "12-16 15:30", &[]),
            [fired("warn-boss", "sla-warning", n)]
        );
        // Staff answer in time; resolved, every clock stops, none breached.
        run_at(&desk, "12-16 15:45", &["reply", &n.to_string()], b"Done.\n");
        run_at(&desk, "12-17 09:00", &["close", &n.to_string()], b"");
        assert_eq!(
            sla(&desk, n),
            json!({
                "name": "standard",
                "first_response_due": null,
                "next_response_due": null,
                "resolve_due": null,
                "breached": [],
            })
        );
        assert_eq!(tick(&desk, "12-31 12:00", &[]), []);
        assert_eq!(
            clock_entries(&desk, n),
            [("next_response".into(), "sla-warning".into())]
        );

        // Reopened on Monday: the resolve clock starts again, whole; the
        // next response waits for the requestor.
        run_at(&desk, "12-21 10:00", &["reopen", &n.to_string()], b"");
        let s = sla(&desk, n);
        assert_eq!(s["resolve_due"], "2037-12-24T09:00:00Z", "{s}");
        assert_eq!(s["next_response_due"], Value::Null, "{s}");
        assert_eq!(s["first_response_due"], Value::Null, "{s}");
    }
}

#[test]
fn the_requestor_s_mail_ends_the_pause_and_starts_the_next_response() {
    for desk in desks() {
        let n = deliver_at(&desk, "12-14 10:00", BILLING, &john("Refund"));
        run_at(
            &desk,
            "12-14 11:00",
            &["reply", &n.to_string()],
            b"Your IBAN?\n",
        );
        run_at(&desk, "12-14 12:00", &["stall", &n.to_string()], b"");
        // A day later (seven business hours) John answers: open again,
        // the clocks run, the next answer is due in 8h from now.
        let answer = john(&format!("Re: [myisp #{n}] Refund"));
        assert_eq!(deliver_at(&desk, "12-15 12:00", BILLING, &answer), n);
        let shown = desk.show(n);
        assert_eq!(shown["status"], "open");
        let s = &shown["sla"];
        assert_eq!(s["next_response_due"], "2037-12-16T12:00:00Z", "{s}");
        // Thursday 10:00 + 7h: Thursday's closing time.
        assert_eq!(s["resolve_due"], "2037-12-17T16:00:00Z", "{s}");
        assert_eq!(s["breached"], json!([]));
        // A second message before the answer keeps the first deadline.
        let more = john(&format!("Re: [myisp #{n}] Refund"));
        assert_eq!(deliver_at(&desk, "12-15 16:00", BILLING, &more), n);
        assert_eq!(sla(&desk, n)["next_response_due"], "2037-12-16T12:00:00Z");
    }
}

// ---------------------------------------------------------------- sorting

#[test]
fn list_sorts_by_the_nearest_of_due_and_the_sla_deadline() {
    for desk in desks() {
        // 1: an SLA deadline Monday 13:00 UTC.
        let a = deliver_at(&desk, "12-14 10:00", BILLING, &john("A"));
        // 2: no SLA, due Monday 12:00 UTC.
        let b = deliver_at(&desk, "12-14 10:00", SUBMIT, &john("B"));
        run_at(
            &desk,
            "12-14 10:00",
            &["due", &b.to_string(), "2037-12-14T13:00"],
            b"",
        );
        // 3: an SLA deadline Tuesday 12:00 UTC, and a due date later still.
        let c = deliver_at(&desk, "12-14 16:00", BILLING, &john("C"));
        run_at(
            &desk,
            "12-14 16:00",
            &["due", &c.to_string(), "2037-12-31"],
            b"",
        );
        // 4: neither.
        let d = deliver_at(&desk, "12-14 10:00", SUBMIT, &john("D"));
        assert_eq!(sla(&desk, b), Value::Null);
        assert_eq!(sla(&desk, c)["first_response_due"], "2037-12-15T12:00:00Z");

        assert_eq!(ids(&desk.list(&["--sort", "due"])), [b, a, c, d]);

        // Answered, ticket 1's nearest deadline is its resolve clock
        // (Thursday): after 3's first response.
        run_at(&desk, "12-14 11:00", &["reply", &a.to_string()], b"Yes.\n");
        assert_eq!(ids(&desk.list(&["--sort", "due"])), [b, c, a, d]);

        // Moved to a queue without an SLA, a ticket has none.
        run_at(&desk, "12-14 11:00", &["queue", &a.to_string(), "web"], b"");
        assert_eq!(sla(&desk, a), Value::Null);
        // Neither due nor a deadline: last, the newest first.
        assert_eq!(ids(&desk.list(&["--sort", "due"])), [b, c, d, a]);
    }
}

// ---------------------------------------------------------------- the API

#[test]
fn show_and_the_api_carry_the_same_sla() {
    let [desk, _] = desks();
    let n = deliver_at(&desk, "12-19 12:00", BILLING, &john("Invoice"));
    tick(&desk, "12-21 13:01", &[]);
    let shown = desk.show(n);
    assert_eq!(shown["sla"]["breached"], json!(["first_response"]));
    // `show` says it in Berlin's time, nearest first, breached marked.
    let text = desk.run(&["show", &n.to_string()], b"").ok().stdout;
    let want = "  SLA:       standard\n\
                \x20            first response by Mon 21 Dec 2037 13:00 CET (breached)\n\
                \x20            resolve by Wed 23 Dec 2037 12:00 CET\n";
    assert!(text.contains(want), "{text}");
    // Stalled, the clocks stand still, and say so.
    let other = deliver_at(&desk, "12-21 10:00", BILLING, &john("Other"));
    run_at(&desk, "12-21 11:00", &["stall", &other.to_string()], b"");
    let text = desk.run(&["show", &other.to_string()], b"").ok().stdout;
    assert!(text.contains("  SLA:       standard (paused)\n"), "{text}");

    let server = desk.serve();
    let token = desk.token(ADMIN);
    let bearer = format!("Bearer {token}");
    let get = |path: &str| {
        server
            .get(path, &[("Authorization", bearer.as_str())])
            .status(200)
            .json()
    };
    let api = get(&format!("/api/tickets/{n}"));
    assert_eq!(api["sla"], shown["sla"], "{api}");
    let board = get("/api/board");
    let card = board["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["id"] == n)
        .cloned()
        .expect("the card");
    assert_eq!(card["sla_due"], "2037-12-21T12:00:00Z", "{card}");
    assert_eq!(card["sla_clock"], "first_response", "{card}");
    assert_eq!(card["sla_breached"], true, "{card}");
    assert_eq!(card["sla_paused"], false, "{card}");
    // The card's documented fields are all still there.
    for field in [
        "id",
        "status",
        "owner",
        "queue",
        "subject",
        "requestor",
        "messages",
        "updated",
        "version",
        "priority",
        "due",
    ] {
        assert!(card.get(field).is_some(), "{field}: {card}");
    }

    // The thread page: the SLA's name, each deadline in Berlin's time,
    // the breached one marked; the stalled ticket's paused.
    let cookie = server.sign_in(ADMIN);
    let page = server
        .get(&format!("/tickets/{n}"), &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(
        page.contains("<dt>SLA</dt><dd class=\"sla\">standard"),
        "{page}"
    );
    assert!(
        page.contains(
            "<li class=\"clock breached\" data-clock=\"first_response\">\
             <span class=\"what\">first response by</span> <span class=\"flag\">breached</span> \
             <time datetime=\"2037-12-21T12:00:00Z\">Mon 21 Dec 2037 13:00 CET</time></li>"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "<li class=\"clock\" data-clock=\"resolve\"><span class=\"what\">resolve by</span> \
             <time datetime=\"2037-12-23T11:00:00Z\">Wed 23 Dec 2037 12:00 CET</time></li>"
        ),
        "{page}"
    );
    let page = server
        .get(&format!("/tickets/{other}"), &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(
        page.contains("standard <span class=\"tag paused\""),
        "{page}"
    );
    // The list: each ticket's nearest deadline, the breached one marked.
    let page = server
        .get("/tickets?sort=due", &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(
        page.contains(
            "<span class=\"sla-due breached\">first response by Mon 21 Dec 2037 13:00 CET \
             · SLA breached</span>"
        ),
        "{page}"
    );
    let card = get("/api/board")["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .find(|c| c["id"] == other)
        .cloned()
        .expect("the card");
    assert_eq!(card["sla_paused"], true, "{card}");
    assert_eq!(card["sla_breached"], false, "{card}");
}
