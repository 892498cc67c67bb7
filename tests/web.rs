//! `pipedesk serve` at the HTTP level (SPEC §6), the real server on
//! loopback: who may enter, the same-origin rule, the JSON API equal to the
//! commands' `--json`, versions and their 412, the event stream with
//! replay and reset, escaping of hostile mail, downloads that never render.

mod common;

use std::time::Duration;

use common::web::*;
use common::*;
use serde_json::{json, Value};

/// A desk with ticket 1, served, and the admin's session cookie.
fn served() -> (Desk, Server, String) {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    (desk, server, cookie)
}

// ------------------------------------------------------------- who may enter

#[test]
fn pages_redirect_to_login_and_the_api_answers_401_without_a_session() {
    let (_desk, server, _) = served();
    for page in ["/", "/tickets", "/tickets/1"] {
        let r = server.get(page, &[]).status(303);
        assert_eq!(r.header("location"), Some("/login"), "{page}");
    }
    for api in [
        "/api/tickets",
        "/api/tickets/1",
        "/api/board",
        "/api/events",
        "/api/search?q=x",
    ] {
        let r = server.get(api, &[]).status(401);
        assert!(r.json()["error"].is_string(), "{api}: {}", r.body);
    }
    server.get("/login", &[]).status(200);
}

#[test]
fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it() {
    let (_desk, server, _) = served();
    let r = server.post(
        "/login",
        &[
            ("Origin", &server.url),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("address={ADMIN}&password={}", PASSWORD.replace(' ', "+")),
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/")));
    let set = r.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{set}");
    }
    assert!(!set.contains("Secure"), "http:// base URL: {set}");
    let cookie = set.split(';').next().unwrap().to_string();
    server.get("/", &[("Cookie", &cookie)]).status(200);
    server.get("/api/board", &[("Cookie", &cookie)]).status(200);
    server
        .post(
            "/logout",
            &[("Cookie", &cookie), ("Origin", &server.url)],
            "",
        )
        .status(303);
    server.get("/api/board", &[("Cookie", &cookie)]).status(401);
}

#[test]
fn a_wrong_password_or_a_stranger_does_not_get_in() {
    let (_desk, server, _) = served();
    let form = |who: &str, pw: &str| {
        server.post(
            "/login",
            &[
                ("Origin", &server.url),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("address={who}&password={pw}"),
        )
    };
    let wrong = form(ADMIN, "nope");
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());
    assert_eq!(form("eve@example.net", "correct+horse+battery").status, 401);
    // A member of staff without a password cannot sign in with an empty one.
    assert_eq!(form(MEMBER, "").status, 401);
}

#[test]
fn ten_failed_sign_ins_from_one_client_answer_429() {
    let (_desk, server, _) = served();
    let form = |pw: &str| {
        server.post(
            "/login",
            &[
                ("Origin", &server.url),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("address={ADMIN}&password={pw}"),
        )
    };
    for _ in 0..10 {
        assert_eq!(form("wrong").status, 401);
    }
    // Locked out, even with the right password.
    assert_eq!(form(&PASSWORD.replace(' ', "+")).status, 429);
}

#[test]
fn a_bearer_token_works_for_the_api_and_needs_no_origin() {
    let (desk, server, _) = served();
    let token = desk.token(ADMIN);
    assert!(
        token.starts_with("pdt_") && !token.contains(char::is_whitespace),
        "{token}"
    );
    let auth = format!("Bearer {token}");
    server
        .get("/api/tickets", &[("Authorization", &auth)])
        .status(200);
    let r = server.post(
        "/api/tickets/1/status",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        r#"{"status": "stalled"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(desk.show(1)["status"], "stalled");
    let bad = server.get("/api/tickets", &[("Authorization", "Bearer pdt_forged")]);
    assert_eq!(bad.status, 401);
}

// -------------------------------------------------------- the same-origin rule

/// A refusal comes before the body, which is never read (SPEC §6: nobody
/// not signed in makes `serve` hold a body), and closes the connection:
/// a client learns that the request was not taken, and sends again anew.
#[test]
fn a_refused_change_is_answered_before_its_body_and_closes_the_connection() {
    use std::io::{Read, Write};
    let (desk, server, cookie) = served();
    let host = server.url.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(host).expect("connecting");
    let body = r#"{"status": "resolved"}"#;
    // The headers alone: no Origin, so a 403, without waiting for the body.
    write!(
        conn,
        "POST /api/tickets/1/status HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // A bound that catches a hang, not a claim about speed.
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the connection stayed open: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert_eq!(desk.show(1)["status"], "new");
}

#[test]
fn a_cookie_change_without_our_origin_is_403_and_changes_nothing() {
    let (desk, server, cookie) = served();
    let before = desk.show(1);
    let body = r#"{"status": "resolved"}"#;
    let json = ("Content-Type", "application/json");
    let none = server.post("/api/tickets/1/status", &[("Cookie", &cookie), json], body);
    assert_eq!(none.status, 403, "{}", none.body);
    let other = server.post(
        "/api/tickets/1/status",
        &[("Cookie", &cookie), json, ("Origin", "http://evil.example")],
        body,
    );
    assert_eq!(other.status, 403);
    let cross = server.post(
        "/api/tickets/1/status",
        &[("Cookie", &cookie), json, ("Sec-Fetch-Site", "cross-site")],
        body,
    );
    assert_eq!(cross.status, 403);
    let form = server.post(
        "/tickets/1/status",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "status=resolved",
    );
    assert_eq!(form.status, 403);
    let login = server.post(
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "http://evil.example"),
        ],
        &format!("address={ADMIN}&password={}", PASSWORD.replace(' ', "+")),
    );
    assert_eq!(login.status, 403, "POST /login needs our origin too");
    assert_json(&before, &desk.show(1));
    // The same change from our origin goes through, by either header.
    let ok = server.post(
        "/api/tickets/1/status",
        &[("Cookie", &cookie), json, ("Sec-Fetch-Site", "same-origin")],
        r#"{"status": "stalled"}"#,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let ok = server.post(
        "/api/tickets/1/status",
        &[("Cookie", &cookie), json, ("Origin", &server.url)],
        body,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(desk.show(1)["status"], "resolved");
}

// ---------------------------------------------------------- the API's shapes

/// A `Cookie` and our `Origin`, for changes.
fn as_staff<'a>(server: &'a Server, cookie: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("Cookie", cookie),
        ("Origin", server.url.as_str()),
        ("Content-Type", "application/json"),
    ]
}

#[test]
fn the_api_answers_the_commands_json() {
    let (desk, server, cookie) = served();
    desk.open_ticket(&mail("Maria <maria@example.net>", "Scanner jammed"));
    let c = [("Cookie", cookie.as_str())];
    assert_json(
        &desk.list(&[]),
        &server.get("/api/tickets", &c).status(200).json(),
    );
    assert_json(
        &desk.list(&["--status", "new"]),
        &server.get("/api/tickets?status=new", &c).status(200).json(),
    );
    let shown = server.get("/api/tickets/1", &c).status(200);
    assert_json(&desk.show(1), &shown.json());
    assert_eq!(
        shown.header("etag"),
        Some(format!("\"{}\"", desk.show(1)["version"]).as_str())
    );
    let search = desk.run(&["search", "--json", "scanner"], b"").ok().json();
    assert_json(
        &search,
        &server.get("/api/search?q=scanner", &c).status(200).json(),
    );
    let board = server.get("/api/board", &c).status(200).json();
    assert!(board["seq"].as_i64().unwrap() > 0);
    let card = &board["cards"][0];
    for key in [
        "id",
        "status",
        "owner",
        "queue",
        "subject",
        "requestor",
        "messages",
        "updated",
        "version",
    ] {
        assert!(card.get(key).is_some(), "card without {key}: {card}");
    }
    server.get("/api/tickets/99", &c).status(404);
}

#[test]
fn every_change_is_the_commands_operation_with_its_history_and_mail() {
    let (desk, server, cookie) = served();
    let h = as_staff(&server, &cookie);
    desk.clear_mail();
    let r = server.post(
        "/api/tickets/1/owner",
        &h,
        &format!(r#"{{"owner": "{MEMBER}"}}"#),
    );
    assert_eq!(r.json()["owner"], MEMBER);
    let r = server.post(
        "/api/tickets/1/reply",
        &h,
        r#"{"body": "Unplug it, then plug it in."}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mails = desk.take_mail();
    let to_john = Desk::one_to(&mails, JOHN);
    assert!(to_john.body().contains("Unplug it"), "{}", to_john.text());
    let r = server.post("/api/tickets/1/comment", &h, r#"{"body": "Toner low."}"#);
    assert_eq!(r.status, 200);
    let r = server.post("/api/tickets/1/status", &h, r#"{"status": "resolved"}"#);
    assert_eq!(r.json()["status"], "resolved");
    let mails = desk.take_mail();
    assert!(
        Desk::one_to(&mails, JOHN).subject().contains("Resolved"),
        "the resolved notice: {:?}",
        summary(&mails)
    );
    let kinds = desk.kinds(1);
    for k in ["owner", "correspond", "comment", "status"] {
        assert!(kinds.contains(&k.to_string()), "{kinds:?}");
    }
    let last = desk.show(1)["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["author"], ADMIN, "the signed-in member acts");
}

#[test]
fn a_move_changes_status_and_owner_in_one_change() {
    let (desk, server, cookie) = served();
    let h = as_staff(&server, &cookie);
    let before = desk.show(1)["version"].as_i64().unwrap();
    let r = server.post(
        "/api/tickets/1/move",
        &h,
        &format!(r#"{{"status": "stalled", "owner": "{MEMBER}"}}"#),
    );
    let t = r.status(200).json();
    assert_eq!(
        (&t["status"], &t["owner"]),
        (&json!("stalled"), &json!(MEMBER))
    );
    assert!(t["version"].as_i64().unwrap() > before);
    // Back to nobody, status staying.
    let t = server
        .post(
            "/api/tickets/1/move",
            &h,
            r#"{"status": "stalled", "owner": null}"#,
        )
        .status(200)
        .json();
    assert_eq!(
        (&t["status"], &t["owner"]),
        (&json!("stalled"), &Value::Null)
    );
}

#[test]
fn if_match_guards_a_change_and_412_answers_the_ticket_as_it_is() {
    let (desk, server, cookie) = served();
    let h = as_staff(&server, &cookie);
    let v = desk.show(1)["version"].as_i64().unwrap();
    let mut stale = h.to_vec();
    let old = format!("\"{}\"", v - 1);
    stale.push(("If-Match", &old));
    let r = server.post("/api/tickets/1/status", &stale, r#"{"status": "resolved"}"#);
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(r.json()["status"], "new");
    assert_eq!(r.json()["version"], v);
    assert_eq!(
        desk.show(1)["status"],
        "new",
        "a stale change changed something"
    );
    let mut fresh = h.to_vec();
    let bare = v.to_string();
    fresh.push(("If-Match", &bare));
    let r = server.post("/api/tickets/1/status", &fresh, r#"{"status": "resolved"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", r.json()["version"]).as_str())
    );
}

#[test]
fn errors_have_their_codes() {
    let (desk, server, cookie) = served();
    let h = as_staff(&server, &cookie);
    let bad = server.post("/api/tickets/1/status", &h, r#"{"status": "closed"}"#);
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("closed"));
    assert_eq!(
        server.post("/api/tickets/1/status", &h, "not json").status,
        400
    );
    assert_eq!(
        server
            .post("/api/tickets/9/status", &h, r#"{"status": "open"}"#)
            .status,
        404
    );
    server
        .post("/api/tickets/1/status", &h, r#"{"status": "stalled"}"#)
        .status(200);
    let again = server.post("/api/tickets/1/status", &h, r#"{"status": "stalled"}"#);
    assert_eq!(again.status, 409, "{}", again.body);
    let new_again = server.post("/api/tickets/1/status", &h, r#"{"status": "new"}"#);
    assert_eq!(new_again.status, 409);
    let stranger = server.post(
        "/api/tickets/1/owner",
        &h,
        r#"{"owner": "eve@example.net"}"#,
    );
    assert_eq!(stranger.status, 409, "{}", stranger.body);
    assert_eq!(
        server
            .post("/api/tickets/1/reply", &h, r#"{"body": "  "}"#)
            .status,
        400
    );
    desk.open_ticket(&john("Second"));
    let merged = server
        .post("/api/tickets/2/merge", &h, r#"{"into": 1}"#)
        .status(200)
        .json();
    assert_eq!((&merged["id"], &merged["merged"]), (&json!(1), &json!([2])));
    assert_eq!(
        server
            .post("/api/tickets/1/merge", &h, r#"{"into": 1}"#)
            .status,
        409
    );
}

// --------------------------------------------------------------- the events

#[test]
fn a_delivered_message_reaches_an_open_stream_as_its_card() {
    let (desk, server, cookie) = served();
    let board = server.get("/api/board", &[("Cookie", &cookie)]).json();
    let since = board["seq"].as_i64().unwrap();
    let path = format!("/api/events?since={since}");
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            server.events(
                &path,
                &[("Cookie", &cookie)],
                Duration::from_secs(20),
                |e| e.iter().any(|e| e.json()["id"] == 2),
            )
        });
        // The delivery may come before or after the stream opens: it reads
        // from `since`, so the card comes either way.
        desk.open_ticket(&john("Scanner"));
        let events = reader.join().unwrap();
        let card = events
            .iter()
            .find(|e| e.json()["id"] == 2)
            .expect("the new card");
        assert_eq!(card.event, "ticket");
        assert!(card.id.as_deref().unwrap().parse::<i64>().unwrap() > since);
        assert_eq!(card.json()["subject"], "Scanner");
        assert_eq!(card.json()["status"], "new");
    });
}

#[test]
fn a_stream_that_comes_back_gets_every_change_after_its_last_event_id() {
    let (desk, server, cookie) = served();
    let since = server.get("/api/board", &[("Cookie", &cookie)]).json()["seq"]
        .as_i64()
        .unwrap();
    desk.open_ticket(&john("Two"));
    desk.open_ticket(&john("Three"));
    desk.run(&["stall", "1"], b"").ok();
    // Wait until the server has seen them (its feed looks every 100 ms).
    let want = |e: &[SseEvent]| e.len() >= 3;
    let id = since.to_string();
    let events = server.events(
        "/api/events",
        &[("Cookie", &cookie), ("Last-Event-ID", &id)],
        Duration::from_secs(20),
        want,
    );
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e.json()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3, 1], "{events:?}");
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(events[2].json()["status"], "stalled");
    // From the last seq on, nothing is sent twice.
    let last = seqs[2].to_string();
    let again = server.events(
        "/api/events",
        &[("Cookie", &cookie), ("Last-Event-ID", &last)],
        Duration::from_millis(600),
        |_| false,
    );
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_stream_ahead_of_the_server_gets_a_reset() {
    let (_desk, server, cookie) = served();
    let events = server.events(
        "/api/events",
        &[("Cookie", &cookie), ("Last-Event-ID", "999999")],
        Duration::from_secs(10),
        |e| !e.is_empty(),
    );
    assert_eq!(events[0].event, "reset", "{events:?}");
    assert!(events[0].json()["seq"].as_i64().is_some());
}

#[test]
fn a_merged_ticket_comes_with_merged_into() {
    let (desk, server, cookie) = served();
    desk.open_ticket(&john("Two"));
    let since = server.get("/api/board", &[("Cookie", &cookie)]).json()["seq"]
        .as_i64()
        .unwrap()
        .to_string();
    desk.run(&["merge", "2", "1"], b"").ok();
    let events = server.events(
        "/api/events",
        &[("Cookie", &cookie), ("Last-Event-ID", &since)],
        Duration::from_secs(20),
        |e| e.iter().any(|e| e.json()["id"] == 2),
    );
    let two = events
        .iter()
        .find(|e| e.json()["id"] == 2)
        .expect("ticket 2's event");
    assert_eq!(two.json()["merged_into"], 1);
}

// ------------------------------------------------------------------ escaping

#[test]
fn hostile_subjects_and_bodies_are_escaped_and_html_mail_is_text() {
    let desk = Desk::new();
    desk.open_ticket(
        &john("<script>alert(1)</script> \"quotes\" & <b>bold</b>")
            .body("<img src=x onerror=alert(2)> <a href=\"javascript:alert(3)\">click</a>\n"),
    );
    let html = "<html><body><p>Hello <script>alert(4)</script><a href=\"javascript:alert(5)\">here</a></p></body></html>";
    desk.open_ticket(
        &john("HTML only")
            .header("MIME-Version", "1.0")
            .header("Content-Type", "text/html; charset=utf-8")
            .body(html),
    );
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let c = [("Cookie", cookie.as_str())];
    for page in ["/tickets/1", "/tickets", "/tickets?q=alert", "/tickets/2"] {
        let body = server.get(page, &c).status(200).body;
        assert!(
            !body.contains("<script>alert"),
            "{page}: a script from mail"
        );
        assert!(!body.contains("<img src=x"), "{page}: an element from mail");
        assert!(
            !body.contains("href=\"javascript:"),
            "{page}: a javascript: link"
        );
    }
    let one = server.get("/tickets/1", &c).body;
    assert!(
        one.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{one}"
    );
    let two = server.get("/tickets/2", &c).body;
    assert!(two.contains("Hello"), "the HTML mail's text");
    let csp = server
        .get("/", &c)
        .header("content-security-policy")
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // The board's cards get text through textContent only.
    let js = server.get("/assets/board.js", &[]).status(200).body;
    assert!(!js.contains("innerHTML"), "board.js writes HTML");
}

#[test]
fn attachments_download_and_never_render() {
    let desk = Desk::new();
    desk.open_ticket(
        &john("Report")
            .header("MIME-Version", "1.0")
            .header("Content-Type", "multipart/mixed; boundary=\"b\"")
            .body(
                "--b\nContent-Type: text/plain\n\nSee attached.\n\
                 --b\nContent-Type: text/html; name=\"evil.html\"\n\
                 Content-Disposition: attachment; filename=\"../../evil \\\"x\\\".html\"\n\n\
                 <script>alert(1)</script>\n--b--\n",
            ),
    );
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let c = [("Cookie", cookie.as_str())];
    let page = server.get("/tickets/1", &c).body;
    assert!(
        page.contains("data-attachment href=\"&#x2f;tickets&#x2f;1&#x2f;attachments&#x2f;1\"")
            || page.contains("data-attachment href=\"/tickets/1/attachments/1\""),
        "{page}"
    );
    let r = server.get("/tickets/1/attachments/1", &c).status(200);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let disposition = r.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(!disposition.contains(".."), "{disposition}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(
        r.body.contains("<script>alert(1)</script>"),
        "the bytes as sent"
    );
    server.get("/tickets/1/attachments/2", &c).status(404);
    server.get("/tickets/1/attachments/0", &c).status(404);
    assert_eq!(server.get("/tickets/1/attachments/1", &[]).status, 303);
}

// ------------------------------------------------------------------- forms

#[test]
fn the_thread_pages_forms_are_the_commands() {
    let (desk, server, cookie) = served();
    let form = |path: &str, body: &str| server.form(&cookie, path, body);
    let page = server.get("/tickets/1", &[("Cookie", &cookie)]).body;
    assert!(page.contains("data-action=\"reply\"") && page.contains("data-action=\"comment\""));
    desk.clear_mail();
    let r = form("/tickets/1/reply", "body=Have+you+tried+water%3F");
    assert_eq!((r.status, r.header("location")), (303, Some("/tickets/1")));
    assert!(Desk::one_to(&desk.take_mail(), JOHN)
        .body()
        .contains("Have you tried water?"));
    form("/tickets/1/take", "").status(303);
    assert_eq!(desk.show(1)["owner"], ADMIN);
    form("/tickets/1/status", "status=stalled").status(303);
    assert_eq!(desk.show(1)["status"], "stalled");
    let v = desk.show(1)["version"].as_i64().unwrap();
    let stale = form(
        "/tickets/1/status",
        &format!("status=resolved&version={}", v - 1),
    );
    let to = stale.header("location").unwrap_or("");
    assert!(to.starts_with("/tickets/1?notice="), "{to}");
    assert_eq!(desk.show(1)["status"], "stalled");
    let shown = server.get(to, &[("Cookie", &cookie)]).body;
    assert!(shown.contains("changed while you were looking"), "{shown}");
}

// -------------------------------------------------------------------- spam

#[test]
fn the_api_marks_spam_and_undoes_it_and_a_quiet_close_mails_nobody() {
    let (desk, server, cookie) = served();
    desk.open_ticket(&mail("Maria <maria@example.net>", "Scanner jammed"));
    let h = as_staff(&server, &cookie);
    let c = [("Cookie", cookie.as_str())];
    desk.clear_mail();
    let r = server.post("/api/tickets/1/spam", &h, "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(
        (&t["queue"], &t["status"]),
        (&json!("spam"), &json!("resolved"))
    );
    assert!(
        desk.take_mail().is_empty(),
        "marking as spam mailed someone"
    );
    // The API's list and board leave spam out, as the command does.
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&server.get("/api/tickets", &c).status(200).json()), [2]);
    assert_eq!(
        ids(&server.get("/api/board", &c).status(200).json()["cards"]),
        [2]
    );
    assert_eq!(
        ids(&server.get("/api/tickets?queue=spam", &c).status(200).json()),
        [1]
    );
    server.post("/api/tickets/1/spam", &h, "{}").status(409);
    let r = server.post("/api/tickets/1/spam", &h, r#"{"undo": true}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(
        (&t["queue"], &t["status"]),
        (&json!("general"), &json!("open"))
    );
    let r = server.post(
        "/api/tickets/2/status",
        &h,
        r#"{"status": "resolved", "quiet": true}"#,
    );
    assert_eq!(r.json()["status"], "resolved");
    assert!(desk.take_mail().is_empty(), "a quiet close sent a notice");
}

#[test]
fn the_thread_pages_spam_button_is_the_command() {
    let (desk, server, cookie) = served();
    let form = |path: &str, body: &str| server.form(&cookie, path, body);
    let page = server.get("/tickets/1", &[("Cookie", &cookie)]).body;
    assert!(page.contains("data-action=\"spam\""), "{page}");
    desk.clear_mail();
    form("/tickets/1/spam", "").status(303);
    assert_eq!(desk.show(1)["queue"], "spam");
    assert!(desk.take_mail().is_empty());
    let page = server.get("/tickets/1", &[("Cookie", &cookie)]).body;
    assert!(page.contains("data-action=\"not-spam\""), "{page}");
    form("/tickets/1/spam", "undo=true").status(303);
    let t = desk.show(1);
    assert_eq!(
        (&t["queue"], &t["status"]),
        (&json!("general"), &json!("open"))
    );
    assert_eq!(
        desk.kinds(1).iter().filter(|k| *k == "spam").count(),
        2,
        "the mark and its undo are written in the history"
    );
}
