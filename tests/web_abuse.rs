//! `pipedesk serve` under abuse (SPEC §6 "Who may enter", "Holding up
//! under abuse"), the real server on loopback: the sign-in throttle under
//! sign-ins sent at once, notices chosen by a code, `/healthz`, the access
//! log, and slow or idle clients.

mod common;

use std::sync::{Arc, Barrier};

use common::web::*;
use common::*;

/// One sign-in of `ADMIN` with `password`, from our own origin: its status.
fn sign_in_with(server: &Server, password: &str) -> u16 {
    server
        .post(
            "/login",
            &[
                ("Origin", &server.url),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("address={ADMIN}&password={}", password.replace(' ', "+")),
        )
        .status
}

/// 200 sign-ins sent at once from one address, the real password among
/// them: at most 10 passwords are checked (401 wrong, 303 right); the rest
/// answer 429 unchecked. Then the real one is refused too: ten were
/// checked within the ten minutes.
#[test]
fn sign_ins_sent_at_once_check_at_most_ten_passwords() {
    let desk = Desk::new();
    let server = Arc::new(desk.serve());
    let start = Arc::new(Barrier::new(200));
    let threads: Vec<_> = (0..200)
        .map(|i| {
            let server = server.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let password = if i == 100 { PASSWORD } else { "wrong guess" };
                sign_in_with(&server, password)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads
        .into_iter()
        .map(|t| t.join().expect("a sign-in thread"))
        .collect();
    let checked = statuses.iter().filter(|&&s| s == 401 || s == 303).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert!(checked <= 10, "{checked} passwords checked: {statuses:?}");
    assert_eq!(checked + refused, 200, "{statuses:?}");
    let wrong = statuses.iter().filter(|&&s| s == 401).count();
    if wrong == 10 {
        assert_eq!(sign_in_with(&server, PASSWORD), 429);
    }
    // However it fell, ten wrong ones end it.
    for _ in 0..10 {
        sign_in_with(&server, "wrong guess");
    }
    assert_eq!(sign_in_with(&server, PASSWORD), 429);
}

// ------------------------------------------------------------------ notices

/// The desk's notice box says only the desk's own sentences: a link with
/// words of its own shows none of them, and a refusal comes back by a
/// number that shows its sentence to the one who sent the form alone.
#[test]
fn a_notice_is_chosen_by_a_number_never_written_into_the_link() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let c = [("Cookie", cookie.as_str())];
    let forged = server
        .get(
            "/tickets/1?notice=Your+password+expired%3A+call+555-0100",
            &c,
        )
        .status(200)
        .body;
    assert!(!forged.contains("555-0100"), "{forged}");
    assert!(!forged.contains("class=\"notice\""), "{forged}");

    let v = desk.show(1)["version"].as_i64().unwrap_or(0);
    let stale = server.form(
        &cookie,
        "/tickets/1/status",
        &format!("status=resolved&version={}", v - 1),
    );
    let to = stale.header("location").unwrap_or("").to_string();
    let code = to.strip_prefix("/tickets/1?notice=").unwrap_or("");
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()),
        "{to}"
    );
    let shown = server.get(&to, &c).body;
    assert!(shown.contains("changed while you were looking"), "{shown}");
    // Someone else's link to it says nothing.
    desk.set_password(MEMBER);
    let other = server.sign_in(MEMBER);
    let theirs = server.get(&to, &[("Cookie", other.as_str())]).body;
    assert!(
        !theirs.contains("changed while you were looking"),
        "{theirs}"
    );
}

// ------------------------------------------------------------------ healthz

/// Makes the desk's database stop answering `serve`; `restore` undoes it.
fn break_database(desk: &Desk, broken: bool) {
    match desk.store.url() {
        Some(url) => {
            // From the cluster's own database: away under another name
            // (a connection to it fails at once), then back.
            let (base, name) = url.rsplit_once('/').expect("a database URL");
            let mut c = postgres::Client::connect(&format!("{base}/postgres"), postgres::NoTls)
                .expect("connecting");
            let (from, to) = if broken {
                (name.to_string(), format!("{name}_away"))
            } else {
                (format!("{name}_away"), name.to_string())
            };
            let mut tries = 0;
            loop {
                let ended = c.batch_execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{from}'; \
                     ALTER DATABASE {from} RENAME TO {to}"
                ));
                match ended {
                    Ok(()) => break,
                    // Its connections are still ending.
                    Err(e) if tries < 50 => {
                        tries += 1;
                        let _ = e;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    Err(e) => panic!("renaming {from}: {e}"),
                }
            }
        }
        None => {
            // A file that is no database: every read of it fails.
            let path = desk.db_path();
            let saved = path.with_extension("saved");
            if broken {
                std::fs::copy(&path, &saved).expect("saving the database");
                std::fs::write(&path, vec![0x5a; 8192]).expect("breaking the database");
            } else {
                std::fs::copy(&saved, &path).expect("restoring the database");
            }
        }
    }
}

/// `/healthz` answers 200 `ok` without signing in while the database
/// answers, 503 without details when it does not, and 200 again after.
#[test]
fn healthz_says_whether_the_database_answers() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    let r = server.get("/healthz", &[]).status(200);
    assert_eq!(r.body.trim(), "ok");
    break_database(&desk, true);
    let r = server.get("/healthz", &[]).status(503);
    assert!(!r.body.contains("ok") && r.body.len() < 40, "{}", r.body);
    break_database(&desk, false);
    server.get("/healthz", &[]).status(200);
}

// --------------------------------------------------------------- access log

/// The lines of the server's log so far that start `pipedesk: METHOD `.
fn logged(server: &Server, method: &str) -> Vec<String> {
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    log.lines()
        .filter(|l| l.starts_with(&format!("pipedesk: {method} ")))
        .map(String::from)
        .collect()
}

/// Waits (at most 10 s) until the log holds `n` lines of `method`.
fn wait_logged(server: &Server, method: &str, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let lines = logged(server, method);
        if lines.len() >= n || std::time::Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every request is one line on stderr: method, path without its query,
/// status, time, who — and never the password, cookie or token it carried.
#[test]
fn every_request_is_one_line_of_the_access_log_without_secrets() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    let token = desk.token(ADMIN);
    server
        .get("/tickets/1?q=hunter2-in-the-query", &[("Cookie", &cookie)])
        .status(200);
    server
        .get(
            "/api/tickets/1",
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .status(200);
    server.get("/healthz", &[]).status(200);
    server.get("/tickets", &[]).status(303);
    let gets = wait_logged(&server, "GET", 4);
    let posts = wait_logged(&server, "POST", 1);
    let line = |lines: &[String], start: &str| -> Vec<String> {
        let found: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with(start))
            .cloned()
            .collect();
        assert_eq!(found.len(), 1, "{start}: {lines:?}");
        found[0].split(' ').map(String::from).collect()
    };
    let words = line(&gets, "pipedesk: GET /tickets/1 ");
    assert_eq!(
        (words[3].as_str(), words[5].as_str()),
        ("200", ADMIN),
        "{words:?}"
    );
    assert!(words[4].ends_with("ms"), "{words:?}");
    let words = line(&gets, "pipedesk: GET /api/tickets/1 ");
    assert_eq!(
        (words[3].as_str(), words[5].as_str()),
        ("200", ADMIN),
        "{words:?}"
    );
    let words = line(&gets, "pipedesk: GET /healthz ");
    assert_eq!(
        (words[3].as_str(), words[5].as_str()),
        ("200", "-"),
        "{words:?}"
    );
    let words = line(&gets, "pipedesk: GET /tickets ");
    assert_eq!(
        (words[3].as_str(), words[5].as_str()),
        ("303", "-"),
        "{words:?}"
    );
    let words = line(&posts, "pipedesk: POST /login ");
    assert_eq!(words[3], "303", "{words:?}");

    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    let secret = cookie.split_once('=').map_or("", |(_, s)| s);
    for never in [secret, token.as_str(), "hunter2", "correct", "horse"] {
        assert!(
            !never.is_empty() && !log.contains(never),
            "{never} in {log}"
        );
    }
}

// -------------------------------------------------------------- slow clients

/// A raw connection to `server` that has written `sent`.
fn connect(server: &Server, sent: &str) -> std::net::TcpStream {
    use std::io::Write;
    let addr = server.url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connecting");
    s.write_all(sent.as_bytes()).expect("writing");
    s
}

/// What `stream` says within `within`: its bytes until it closes, or until
/// the time is up (then `None` for "still open").
fn heard_within(stream: &mut std::net::TcpStream, within: std::time::Duration) -> Option<String> {
    use std::io::Read;
    let deadline = std::time::Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return None;
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // Reset by the server: closed as well.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(String::from_utf8_lossy(&got).into_owned())
            }
            Err(_) => return None,
        }
    }
}

/// A desk served with the head's time limit at `ms` milliseconds.
fn served_with_header_limit(desk: &Desk, ms: u64) -> Server {
    desk.serve_with(&[("PIPEDESK_TEST_HEADER_TIMEOUT_MS", &ms.to_string())])
}

/// A client that has not sent a whole request head in time is
/// disconnected, and so is one that sent nothing at all.
#[test]
fn a_client_too_slow_with_its_head_is_disconnected() {
    let desk = Desk::new();
    let server = served_with_header_limit(&desk, 500);
    let mut half = connect(&server, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    let mut silent = connect(&server, "");
    for s in [&mut half, &mut silent] {
        let said = heard_within(s, std::time::Duration::from_secs(10));
        assert!(said.is_some(), "still open after 10 s");
        assert!(!said.unwrap_or_default().contains("200"), "answered");
    }
}

/// 200 connections that sent half a head leave others served.
#[test]
fn a_flood_of_half_sent_heads_leaves_others_served() {
    let desk = Desk::new();
    let server = desk.serve();
    let flood: Vec<_> = (0..200)
        .map(|_| connect(&server, "GET /tickets HTTP/1.1\r\nHost: x\r\n"))
        .collect();
    let mut asked = connect(
        &server,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let said = heard_within(&mut asked, std::time::Duration::from_secs(5));
    assert!(
        said.as_deref()
            .is_some_and(|s| s.starts_with("HTTP/1.1 200")),
        "{said:?}"
    );
    drop(flood);
}

/// Someone not signed in cannot make `serve` wait for a body: a change
/// from another origin (or none) is refused before its body, and so is one
/// that claims our origin without a session; the connection closes.
#[test]
fn a_body_from_someone_not_signed_in_is_never_waited_for() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    let server = desk.serve();
    let head = |origin: &str| {
        format!(
            "POST /tickets/1/status HTTP/1.1\r\nHost: x\r\n{origin}\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 100000000\r\n\r\nstatus=open&{}",
            "x".repeat(1000)
        )
    };
    let ours = format!("Origin: {}\r\n", server.url);
    for origin in ["", "Origin: http://evil.example\r\n", ours.as_str()] {
        let mut s = connect(&server, &head(origin));
        let said = heard_within(&mut s, std::time::Duration::from_secs(10));
        let said = said.unwrap_or_else(|| panic!("{origin:?}: no answer, still waiting"));
        assert!(
            said.starts_with("HTTP/1.1 403") || said.starts_with("HTTP/1.1 303"),
            "{origin:?}: {said}"
        );
    }
    // And the API's 401 alike.
    let mut s = connect(
        &server,
        &format!(
            "POST /api/tickets/1/comment HTTP/1.1\r\nHost: x\r\n{ours}\
             Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{{\"body\": \""
        ),
    );
    let said = heard_within(&mut s, std::time::Duration::from_secs(10));
    assert!(
        said.as_deref()
            .is_some_and(|s| s.starts_with("HTTP/1.1 401")),
        "{said:?}"
    );
    // A sign-in holds a few kilobytes, no more.
    let mut s = connect(
        &server,
        &format!(
            "POST /login HTTP/1.1\r\nHost: x\r\n{ours}\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\naddress="
        ),
    );
    let said = heard_within(&mut s, std::time::Duration::from_secs(10));
    assert!(
        said.as_deref()
            .is_some_and(|s| s.starts_with("HTTP/1.1 413")),
        "{said:?}"
    );
}
