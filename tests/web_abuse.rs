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
