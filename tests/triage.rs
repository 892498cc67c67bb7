//! Triage (issue 17, SPEC §5 `list` and `search`, §6 `/tickets` and `GET
//! /api/tickets`), through the real binary and the HTTP API: the owner
//! filter with `nobody`, the requestor filter, an unknown queue or status
//! refused with the known ones, the list's columns, the spam queue only
//! when asked for, a search by a person's address, and `#N` in the search
//! box opening ticket N. `tests/pg_triage.rs` runs it on PostgreSQL.

mod common;

use common::*;
use serde_json::Value;

fn maria(subject: &str) -> Mail {
    mail("Maria <maria@example.net>", subject)
}

fn kim(subject: &str) -> Mail {
    mail("Kim <kim@example.org>", subject)
}

/// The ticket numbers of a `list --json` or `search --json` answer, in
/// its order.
fn numbers(list: &Value, field: &str) -> Vec<i64> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|t| t[field].as_i64().expect("a number"))
        .collect()
}

/// Tickets 1 (john), 2 (maria, owned by ann), 3 (john).
fn three_tickets() -> Desk {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&maria("Scanner jammed"));
    desk.open_ticket(&john("Toner empty"));
    desk.run(&["assign", "2", MEMBER], b"").ok();
    desk
}

// ------------------------------------------------------------------ list

#[test]
fn list_by_owner_nobody_or_an_address_and_by_requestor() {
    let desk = three_tickets();
    let ids = |args: &[&str]| numbers(&desk.list(args), "id");
    assert_eq!(ids(&[]), [3, 2, 1]);
    assert_eq!(ids(&["--owner", "nobody"]), [3, 1]);
    assert_eq!(ids(&["--owner", "Nobody"]), [3, 1]);
    assert_eq!(ids(&["--owner", MEMBER]), [2]);
    assert_eq!(ids(&["--owner", "<ANN@example.org>"]), [2]);
    assert_eq!(ids(&["--owner", ADMIN]), Vec::<i64>::new());
    assert_eq!(ids(&["--requestor", JOHN]), [3, 1]);
    assert_eq!(ids(&["--requestor", "Maria@Example.NET"]), [2]);
    assert_eq!(
        ids(&["--owner", "nobody", "--requestor", "maria@example.net"]),
        Vec::<i64>::new()
    );
    assert_eq!(ids(&["--owner", "nobody", "--requestor", JOHN]), [3, 1]);
    // Unassigned again, the ticket is nobody's.
    desk.run(&["take", "1", "--as", ADMIN], b"").ok();
    assert_eq!(ids(&["--owner", "nobody"]), [3]);
    assert_eq!(ids(&["--owner", ADMIN]), [1]);
}

#[test]
fn an_unknown_queue_or_status_is_an_error_naming_the_known_ones() {
    let desk = three_tickets();
    let typo = desk.run(&["list", "--queue", "genral"], b"").code(1);
    assert!(
        typo.stderr
            .contains("unknown queue \"genral\" (general, web or spam)"),
        "{}",
        typo.stderr
    );
    assert!(typo.stdout.is_empty(), "{}", typo.stdout);
    let json = desk
        .run(&["list", "--json", "--queue", "typo"], b"")
        .code(1);
    assert!(json.stderr.contains("unknown queue"), "{}", json.stderr);
    let status = desk.run(&["list", "--status", "closed"], b"").code(1);
    assert!(
        status
            .stderr
            .contains("unknown status \"closed\" (new, open, stalled or resolved)"),
        "{}",
        status.stderr
    );
    // A known queue in another case is that queue; an empty one lists.
    assert_eq!(
        numbers(&desk.list(&["--queue", "GENERAL"]), "id"),
        [3, 2, 1]
    );
    assert_eq!(desk.list(&["--queue", "web"]), Value::Array(vec![]));
}

#[test]
fn the_spam_queue_is_listed_only_when_asked_for() {
    let desk = three_tickets();
    desk.run(&["spam", "3"], b"").ok();
    assert_eq!(numbers(&desk.list(&[]), "id"), [2, 1]);
    assert_eq!(numbers(&desk.list(&["--owner", "nobody"]), "id"), [1]);
    assert_eq!(numbers(&desk.list(&["--queue", "spam"]), "id"), [3]);
    assert_eq!(numbers(&desk.list(&["--queue", "Spam"]), "id"), [3]);
}

#[test]
fn list_shows_number_status_queue_owner_requestor_subject_and_age() {
    let desk = three_tickets();
    let out = desk.run(&["list"], b"").ok().stdout;
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        lines[0],
        [
            "ID",
            "STATUS",
            "QUEUE",
            "OWNER",
            "REQUESTOR",
            "SUBJECT",
            "AGE"
        ],
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[1][..6],
        ["3", "new", "general", "nobody", JOHN, "Toner empty"],
        "{out}"
    );
    assert_eq!(
        lines[2][..6],
        [
            "2",
            "new",
            "general",
            MEMBER,
            "maria@example.net",
            "Scanner jammed"
        ],
        "{out}"
    );
    // The age is the last column, a short span such as "0m" or "now".
    for line in &lines[1..] {
        assert_eq!(line.len(), 7, "{out}");
        assert!(line[6].len() <= 4, "{out}");
    }
}

// ------------------------------------------------------------------ search

#[test]
fn search_finds_the_tickets_of_a_requestor_or_author_by_address() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&maria("Scanner jammed"));
    // John writes on Maria's ticket: he is one of its authors.
    desk.send(
        &ticket_addr(2, ""),
        &john("Re: [myisp #2] Scanner jammed").body("Mine too, on the 3rd floor."),
    )
    .ok();
    // Kim only names John in the text.
    desk.open_ticket(&kim("Question").body("Please ask john@example.com about it."));
    desk.open_ticket(&maria("Monitor flickers"));
    // A comment by staff makes Ann an author of ticket 4.
    desk.run(&["comment", "4", "--as", MEMBER], b"Looking into it.")
        .ok();

    let search = |words: &[&str]| {
        let mut args = vec!["search", "--json"];
        args.extend_from_slice(words);
        desk.run(&args, b"").ok().json()
    };
    // His own tickets first (most recently changed first), then the one
    // that mentions him.
    let hits = search(&[JOHN]);
    assert_eq!(numbers(&hits, "ticket"), [2, 1, 3], "{hits}");
    assert!(
        hits[0]["snippet"]
            .as_str()
            .unwrap()
            .contains("Mine too, on the 3rd floor."),
        "{hits}"
    );
    assert_eq!(numbers(&search(&["JOHN@EXAMPLE.COM"]), "ticket"), [2, 1, 3]);
    // With other words: his tickets that hold them.
    let printer = search(&[JOHN, "printer"]);
    assert_eq!(numbers(&printer, "ticket"), [1], "{printer}");
    assert_eq!(numbers(&search(&[JOHN, "scanner"]), "ticket"), [2]);
    // Two people: the tickets of both.
    assert_eq!(
        numbers(&search(&[JOHN, "maria@example.net"]), "ticket"),
        [2]
    );
    assert_eq!(numbers(&search(&["maria@example.net"]), "ticket"), [4, 2]);
    assert_eq!(numbers(&search(&[MEMBER]), "ticket"), [4]);
    // The status filter holds for people too.
    desk.run(&["close", "1", "--quiet"], b"").ok();
    let open = desk
        .run(
            &[
                "search", "--json", "--status", "new", "--status", "open", JOHN,
            ],
            b"",
        )
        .ok()
        .json();
    assert_eq!(numbers(&open, "ticket"), [2, 3], "{open}");
    // Nobody's address finds nothing, and says so.
    let none = desk.run(&["search", "nobody@example.com"], b"").ok();
    assert!(none.stderr.contains("no matches"), "{}", none.stderr);
    // The human output names the tickets too.
    let out = desk.run(&["search", JOHN], b"").ok().stdout;
    assert!(
        out.contains("#2") && out.contains("Scanner jammed"),
        "{out}"
    );
}

#[test]
fn search_by_address_follows_a_merged_ticket() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&maria("Printer on the 2nd floor"));
    desk.run(&["merge", "1", "2"], b"").ok();
    let hits = desk.run(&["search", "--json", JOHN], b"").ok().json();
    assert_eq!(numbers(&hits, "ticket"), [2], "{hits}");
}

// ------------------------------------------------------------------ the API

#[test]
fn the_api_lists_by_owner_nobody_and_requestor_and_refuses_an_unknown_queue() {
    let desk = three_tickets();
    let server = desk.serve();
    let token = desk.token(ADMIN);
    let auth = format!("Bearer {token}");
    let get = |path: &str| server.get(path, &[("Authorization", &auth)]);
    let ids = |path: &str| numbers(&get(path).status(200).json(), "id");
    assert_eq!(ids("/api/tickets?owner=nobody"), [3, 1]);
    assert_eq!(ids("/api/tickets?owner=ann%40example.org"), [2]);
    assert_eq!(ids("/api/tickets?requestor=john%40example.com"), [3, 1]);
    assert_eq!(
        ids("/api/tickets?owner=nobody&requestor=maria%40example.net"),
        Vec::<i64>::new()
    );
    // The same as the command's --json.
    assert_eq!(
        get("/api/tickets?owner=nobody&requestor=john%40example.com")
            .status(200)
            .json(),
        desk.list(&["--owner", "nobody", "--requestor", JOHN])
    );
    let typo = get("/api/tickets?queue=typo").status(400).json();
    assert_eq!(
        typo["error"], "unknown queue \"typo\" (general, web or spam)",
        "{typo}"
    );
    let status = get("/api/tickets?status=closed").status(400).json();
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("new, open, stalled or resolved"),
        "{status}"
    );
    desk.run(&["spam", "3"], b"").ok();
    assert_eq!(ids("/api/tickets"), [2, 1]);
    assert_eq!(ids("/api/tickets?queue=spam"), [3]);
    // Ticket 3 changed last (into spam).
    let hits = get("/api/search?q=john%40example.com").status(200).json();
    assert_eq!(numbers(&hits, "ticket"), [3, 1], "{hits}");
}

// ------------------------------------------------------------------ the page

#[test]
fn the_list_page_filters_by_owner_nobody_and_requestor() {
    let desk = three_tickets();
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let page = |path: &str| server.get(path, &[("Cookie", &cookie)]);
    let rows = |body: &str| -> Vec<i64> {
        body.split("<td class=\"c-id\"><a href=\"/tickets/")
            .skip(1)
            .filter_map(|r| r.split('"').next()?.parse().ok())
            .collect()
    };
    let all = page("/tickets").status(200).body;
    assert_eq!(rows(&all), [3, 2, 1]);
    // The form offers nobody and a requestor field.
    assert!(
        all.contains("<option value=\"nobody\">nobody</option>"),
        "{all}"
    );
    assert!(all.contains("name=\"requestor\""), "{all}");
    let nobody = page("/tickets?status=&queue=&owner=nobody&requestor=&q=")
        .status(200)
        .body;
    assert_eq!(rows(&nobody), [3, 1]);
    assert!(
        nobody.contains("<option value=\"nobody\" selected>nobody</option>"),
        "{nobody}"
    );
    let maria = page("/tickets?requestor=maria%40example.net")
        .status(200)
        .body;
    assert_eq!(rows(&maria), [2]);
    assert!(maria.contains("value=\"maria@example.net\""), "{maria}");
    let ann = page("/tickets?owner=ann%40example.org").status(200).body;
    assert_eq!(rows(&ann), [2]);
}

#[test]
fn the_list_page_says_a_queue_or_status_is_unknown() {
    let desk = three_tickets();
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let queue = server
        .get("/tickets?queue=typo", &[("Cookie", &cookie)])
        .status(400)
        .body;
    assert!(
        queue.contains("role=\"alert\">unknown queue &quot;typo&quot; (general, web or spam)"),
        "{queue}"
    );
    let status = server
        .get("/tickets?status=closed", &[("Cookie", &cookie)])
        .status(400)
        .body;
    assert!(status.contains("role=\"alert\">unknown status"), "{status}");
}

#[test]
fn a_ticket_number_in_the_search_box_opens_that_ticket() {
    let desk = three_tickets();
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    for q in ["%232", "2", "+%232+", "%23+2"] {
        let r = server
            .get(&format!("/tickets?q={q}"), &[("Cookie", &cookie)])
            .status(303);
        assert_eq!(r.header("location"), Some("/tickets/2"), "{q}");
    }
    // A number that is no ticket says so, beside the search box.
    let missing = server
        .get("/tickets?q=%2399", &[("Cookie", &cookie)])
        .status(404)
        .body;
    assert!(
        missing.contains("role=\"alert\">no ticket #99"),
        "{missing}"
    );
    assert!(missing.contains("name=\"q\""), "{missing}");
    // A number among words is a search.
    let words = server
        .get("/tickets?q=printer+2", &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(words.contains("found for"), "{words}");
    // A merged ticket's number opens it, as its page shows the other.
    desk.run(&["merge", "3", "1"], b"").ok();
    let merged = server
        .get("/tickets?q=%233", &[("Cookie", &cookie)])
        .status(303);
    assert_eq!(merged.header("location"), Some("/tickets/3"));
}

#[test]
fn the_search_page_finds_a_person_by_address() {
    let desk = three_tickets();
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let page = server
        .get("/tickets?q=john%40example.com", &[("Cookie", &cookie)])
        .status(200)
        .body;
    assert!(page.contains("2 found for"), "{page}");
    assert!(
        page.contains("#3 Toner empty") && page.contains("#1 Printer on fire"),
        "{page}"
    );
}
