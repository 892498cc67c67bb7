//! `serve` stops gracefully (issue 18): at SIGTERM (`systemctl stop`) or
//! SIGINT it takes no new connection, answers the requests in flight, and
//! exits 0. Only SQLite: the stop is the server's, no store's.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::web::Server;
use common::*;

/// Sends `signal` (`TERM`, `INT`) to the server.
fn signal(server: &Server, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &server.pid().to_string()])
        .status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -{signal}");
}

/// Waits for the server's line that says it is stopping.
#[track_caller]
fn wait_for_stopping(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server
        .log
        .lock()
        .map(|l| l.contains("pipedesk: stopping"))
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "no stopping line within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_lets_a_reply_in_flight_finish_then_exits_0() {
    let desk = Desk::new();
    let n = desk.open_ticket(&john("Printer on fire"));
    let mut server = desk.serve();
    let token = desk.token(ADMIN);
    let body = r#"{"body": "Unplug it, we are on our way."}"#;
    let addr = server.url.trim_start_matches("http://").to_string();

    // A reply whose body the server is waiting for: with `Expect:
    // 100-continue` hyper says "100 Continue" when the handler first reads
    // the body, so the request is in flight, past its head, when the
    // signal comes.
    let mut conn = TcpStream::connect(&addr).expect("connecting");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    write!(
        conn,
        "POST /api/tickets/{n}/reply HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .expect("sending the head");
    let mut reader = BufReader::new(conn.try_clone().expect("a second handle"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("reading 100 Continue");
    assert!(first.starts_with("HTTP/1.1 100"), "{first:?}");
    let mut blank = String::new();
    reader
        .read_line(&mut blank)
        .expect("the end of 100 Continue");

    signal(&server, "TERM");
    wait_for_stopping(&server);
    assert!(
        TcpStream::connect(&addr).is_err(),
        "a stopping server takes no new connection"
    );
    assert!(
        server.exited_within(Duration::from_millis(200)).is_none(),
        "it waits for the request in flight"
    );

    conn.write_all(body.as_bytes()).expect("sending the body");
    let mut answer = String::new();
    reader
        .read_to_string(&mut answer)
        .expect("the answer, then the connection closes");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "the connection is not kept open: {answer}"
    );

    let status = server
        .exited_within(Duration::from_secs(15))
        .expect("serve exits within its 10 s grace");
    assert_eq!(status.code(), Some(0), "{status}");
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(log.contains("pipedesk: stopped\n"), "{log}");
    let thread = desk.show(n);
    let bodies = thread["history"].to_string();
    assert!(
        bodies.contains("Unplug it"),
        "the reply is stored: {thread}"
    );
}

#[test]
fn sigint_stops_an_idle_server_at_once_with_exit_0() {
    let desk = Desk::new();
    let mut server = desk.serve();
    // An idle kept-alive connection does not hold the stop up.
    let healthz = server.get("/healthz", &[]);
    assert_eq!(healthz.status, 200, "{}", healthz.body);
    signal(&server, "INT");
    let status = server
        .exited_within(Duration::from_secs(15))
        .expect("serve exits");
    assert_eq!(status.code(), Some(0), "{status}");
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(log.contains("pipedesk: stopped\n"), "{log}");
}

#[test]
fn an_open_event_stream_ends_at_sigterm_and_does_not_hold_the_stop() {
    let desk = Desk::new();
    let mut server = desk.serve();
    let token = desk.token(ADMIN);
    let addr = server.url.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).expect("connecting");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read timeout");
    write!(
        conn,
        "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Accept: text/event-stream\r\n\r\n"
    )
    .expect("asking for the stream");
    let mut reader = BufReader::new(conn);
    let mut first = String::new();
    reader.read_line(&mut first).expect("the stream's head");
    assert!(first.starts_with("HTTP/1.1 200"), "{first:?}");

    signal(&server, "TERM");
    // The stream ends (the connection closes) rather than running on.
    let mut rest = String::new();
    reader
        .read_to_string(&mut rest)
        .expect("the stream ends within the read timeout");
    let status = server
        .exited_within(Duration::from_secs(15))
        .expect("serve exits");
    assert_eq!(status.code(), Some(0), "{status}");
    let log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(
        log.contains("pipedesk: stopped\n") && !log.contains("unfinished"),
        "the stop did not wait out its grace for the stream: {log}"
    );
}
