//! Taking access away (SPEC §6, issue 18), through the binary and the real
//! server: a new password ends the person's sessions, `revoke` ends their
//! sessions and tokens, and `serve` re-reads its config on SIGHUP, after
//! which someone no longer on staff is refused whatever they hold, and
//! stays refused when put back until they sign in again. And `serve` warns
//! at start, as `check` does, when staff mail is trusted on From: alone.

mod common;

use common::web::*;
use common::*;

/// Ann's second password.
const NEW_PASSWORD: &str = "a new and longer password";

/// A desk with ticket 1, served, with a password for ann (a member).
fn served() -> (Desk, Server) {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.set_password(MEMBER);
    let server = desk.serve();
    (desk, server)
}

/// `POST /login` with `password`, from our own origin.
fn sign_in_with(server: &Server, address: &str, password: &str) -> Reply {
    server.post(
        "/login",
        &[
            ("Origin", &server.url),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("address={address}&password={}", password.replace(' ', "+")),
    )
}

/// The status a session cookie gets from the API, and where a page sends
/// it (None: the page is shown).
fn with_cookie(server: &Server, cookie: &str) -> (u16, Option<String>) {
    let api = server.get("/api/tickets", &[("Cookie", cookie)]).status;
    let page = server.get("/tickets/1", &[("Cookie", cookie)]);
    let sent = match page.status {
        200 => None,
        303 => page.header("location").map(str::to_string),
        other => panic!("the page answered {other}: {}", page.body),
    };
    (api, sent)
}

const SIGNED_IN: (u16, Option<String>) = (200, None);

fn refused() -> (u16, Option<String>) {
    (401, Some("/login".to_string()))
}

/// The status a bearer token gets from the API.
fn with_token(server: &Server, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    server
        .get("/api/tickets", &[("Authorization", &auth)])
        .status
}

/// Comments on ticket 1 with `token`; the answer's status.
fn comment_with_token(server: &Server, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    server
        .post(
            "/api/tickets/1/comment",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            r#"{"body": "a comment from someone who should not"}"#,
        )
        .status
}

fn entries(desk: &Desk) -> usize {
    desk.show(1)["history"].as_array().map_or(0, Vec::len)
}

// ------------------------------------------------------------------ passwd

#[test]
fn a_new_password_ends_every_session_of_that_person_and_signs_in() {
    let (desk, server) = served();
    let first = server.sign_in(MEMBER);
    let second = server.sign_in(MEMBER);
    let admin = server.sign_in(ADMIN);
    let token = desk.token(MEMBER);
    assert_eq!(with_cookie(&server, &first), SIGNED_IN);

    let run = desk
        .run(&["passwd", MEMBER], format!("{NEW_PASSWORD}\n").as_bytes())
        .ok();
    assert!(
        run.stderr.contains("2 sessions ended"),
        "passwd says what it ended: {run}"
    );

    assert_eq!(with_cookie(&server, &first), refused(), "signed in before");
    assert_eq!(with_cookie(&server, &second), refused(), "every session");
    assert_eq!(with_cookie(&server, &admin), SIGNED_IN, "only theirs");
    assert_eq!(with_token(&server, &token), 200, "tokens are revoke's");
    sign_in_with(&server, MEMBER, PASSWORD).status(401);
    let r = sign_in_with(&server, MEMBER, NEW_PASSWORD).status(303);
    let cookie = r.header("set-cookie").expect("a session cookie");
    let cookie = cookie.split(';').next().unwrap_or_default().to_string();
    assert_eq!(with_cookie(&server, &cookie), SIGNED_IN);
}

// ------------------------------------------------------------------ revoke

#[test]
fn revoke_ends_every_session_and_token_of_that_person_and_nothing_else() {
    let (desk, server) = served();
    let sessions = [server.sign_in(MEMBER), server.sign_in(MEMBER)];
    let tokens = [desk.token(MEMBER), desk.token(MEMBER)];
    let admin = server.sign_in(ADMIN);
    let admin_token = desk.token(ADMIN);
    for s in &sessions {
        assert_eq!(with_cookie(&server, s), SIGNED_IN);
    }
    let before = entries(&desk);

    let run = desk.run(&["revoke", MEMBER], b"").ok();
    assert!(
        run.stderr
            .contains("ended 2 sessions and 2 API tokens of ann@example.org"),
        "{run}"
    );

    for s in &sessions {
        assert_eq!(with_cookie(&server, s), refused());
    }
    for t in &tokens {
        assert_eq!(with_token(&server, t), 401);
        assert_eq!(comment_with_token(&server, t), 401);
    }
    assert_eq!(entries(&desk), before, "no comment was written");
    assert_eq!(with_cookie(&server, &admin), SIGNED_IN, "only theirs");
    assert_eq!(with_token(&server, &admin_token), 200);
    // The password stays: they sign in again (`passwd` changes it).
    let again = server.sign_in(MEMBER);
    assert_eq!(with_cookie(&server, &again), SIGNED_IN);

    let run = desk.run(&["revoke", "nobody@example.net"], b"").ok();
    assert!(
        run.stderr.contains("ended 0 sessions and 0 API tokens"),
        "{run}"
    );
}

// ------------------------------------------------------- reloading the config

#[test]
fn someone_taken_off_staff_is_refused_at_once_and_stays_refused_when_put_back() {
    let (desk, server) = served();
    let cookie = server.sign_in(MEMBER);
    let token = desk.token(MEMBER);
    let admin = server.sign_in(ADMIN);
    assert_eq!(with_cookie(&server, &cookie), SIGNED_IN);
    assert_eq!(with_token(&server, &token), 200);
    let before = entries(&desk);

    desk.add_config("[staff]\nmembers = []\n");
    let log = server.reload();
    assert!(log.contains("reloaded the config"), "{log}");
    assert!(
        log.contains("ended every session and token of ann@example.org"),
        "{log}"
    );

    assert_eq!(with_cookie(&server, &cookie), refused());
    assert_eq!(with_token(&server, &token), 401);
    assert_eq!(comment_with_token(&server, &token), 401);
    assert_eq!(entries(&desk), before, "no comment was written");
    sign_in_with(&server, MEMBER, PASSWORD).status(401);
    assert_eq!(with_cookie(&server, &admin), SIGNED_IN, "staff stay in");

    desk.add_config("[staff]\nmembers = [\"ann@example.org\"]\n");
    server.reload();
    assert_eq!(with_cookie(&server, &cookie), refused(), "not revived");
    assert_eq!(with_token(&server, &token), 401, "not revived");
    let again = server.sign_in(MEMBER);
    assert_eq!(with_cookie(&server, &again), SIGNED_IN);
    assert_eq!(with_token(&server, &desk.token(MEMBER)), 200);
    assert_eq!(with_cookie(&server, &admin), SIGNED_IN);
}

#[test]
fn a_reload_shows_the_new_staff_on_the_pages() {
    let (desk, server) = served();
    let admin = server.sign_in(ADMIN);
    desk.add_config("[staff]\nmembers = [\"Zed Newcomer <zed@example.org>\"]\n");
    server.reload();
    let board = server.get("/", &[("Cookie", &admin)]).status(200);
    assert!(board.body.contains("zed@example.org"), "{}", board.body);
    assert!(!board.body.contains("ann@example.org"), "{}", board.body);
}

#[test]
fn a_config_that_fails_to_load_is_logged_and_the_running_one_kept() {
    let (desk, server) = served();
    let cookie = server.sign_in(MEMBER);
    let good = std::fs::read_to_string(desk.config_path()).expect("the config");
    desk.write_config(&format!("{good}\n[staff\nmembers = []\n"));
    let log = server.reload();
    assert!(
        log.contains("reloading the config")
            && log.contains(&desk.config_path().display().to_string())
            && log.contains("still running with the one loaded before"),
        "{log}"
    );
    assert_eq!(with_cookie(&server, &cookie), SIGNED_IN);

    // Fixed, it loads.
    desk.write_config(&good);
    desk.add_config("[staff]\nmembers = []\n");
    assert!(server.reload().contains("reloaded the config"));
    assert_eq!(with_cookie(&server, &cookie), refused());
}

#[test]
fn someone_taken_off_staff_while_serve_was_stopped_stays_refused_when_put_back() {
    let (desk, server) = served();
    let cookie = server.sign_in(MEMBER);
    let token = desk.token(MEMBER);
    drop(server);

    desk.add_config("[staff]\nmembers = []\n");
    let server = desk.serve();
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        log.contains("ended every session and token of ann@example.org"),
        "{log}"
    );
    desk.add_config("[staff]\nmembers = [\"ann@example.org\"]\n");
    server.reload();
    assert_eq!(with_cookie(&server, &cookie), refused());
    assert_eq!(with_token(&server, &token), 401);
}

#[test]
fn a_token_of_someone_off_staff_is_ended_when_it_is_shown() {
    let desk = Desk::with_config("[staff]\nmembers = []\n");
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    // A token made by a command that read a config with ann on staff,
    // which the running server never loaded.
    desk.add_config("[staff]\nmembers = [\"ann@example.org\"]\n");
    let token = desk.token(MEMBER);
    desk.add_config("[staff]\nmembers = []\n");

    assert_eq!(with_token(&server, &token), 401);
    let run = desk.run(&["revoke", MEMBER], b"").ok();
    assert!(
        run.stderr.contains("ended 0 sessions and 0 API tokens"),
        "the refusal ended it: {run}"
    );
}

// ------------------------------------------------------------ the warning

#[test]
fn serve_warns_at_start_when_staff_mail_is_trusted_on_from_alone() {
    const WARNING: &str = "warning: policy.staff_mail = \"from\"";
    // The fixture's config trusts From: (most suites act as staff by it).
    let desk = Desk::new();
    let server = desk.serve();
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(log.contains(WARNING), "{log}");

    let desk = Desk::with_config(
        "[policy]\nstaff_mail = \"authenticated\"\ntrusted_authserv_id = \"mx.help.example.org\"\n",
    );
    let server = desk.serve();
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(!log.contains("staff_mail"), "{log}");
    assert!(log.contains("serving"), "{log}");
}
