//! `pipedesk serve` under a flood of slow connections from one client
//! (SPEC §6 "Holding up under abuse"; issue 18: 1,100 connections that
//! each sent half a request head took all 1,024 file handles, and every
//! other request timed out). The real server on loopback, with the file
//! handles of that attack; another client is 127.0.0.2 (loopback is all of
//! 127.0.0.0/8). And two slow floods of another kind: a sign-in's body
//! dripped a byte at a time, and health checks while the database hangs.
//! `tests/pg_web_flood.rs` runs this suite on PostgreSQL.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use common::web::*;
use common::*;

/// The file handles `serve` may open in these tests: the attack's.
const FILES: u64 = 1024;
/// The flood's connections: the attack's 1,100, and more again.
const FLOOD: usize = 3000;
/// Each half-sent head: a request line and headers that never end.
const PAD: usize = 12 * 1024;

/// `server`'s listening address.
fn address(server: &Server) -> SocketAddrV4 {
    server
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("an IPv4 address and port")
}

/// A connection to `to` from the loopback address `from`.
fn connect_from(from: Ipv4Addr, to: SocketAddrV4) -> std::io::Result<TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let sockaddr = |a: SocketAddrV4| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: a.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.ip().octets()),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a new socket, owned by the TcpStream from here on; bind and
    // connect read a sockaddr_in of the length given.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        // Linux holds connect to the send timeout: a server that stopped
        // accepting fails the test in a second rather than in SYN retries.
        let wait = libc::timeval {
            tv_sec: 2,
            tv_usec: 0,
        };
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&raw const wait).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
        let local = sockaddr(SocketAddrV4::new(from, 0));
        if libc::bind(stream.as_raw_fd(), (&raw const local).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let remote = sockaddr(to);
        if libc::connect(stream.as_raw_fd(), (&raw const remote).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// What `stream` answers to `GET /healthz` within `within`, if anything.
fn health_from(from: Ipv4Addr, server: &Server, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let Ok(mut s) = connect_from(from, address(server)) else {
        return String::new();
    };
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return String::new();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        s.set_read_timeout(Some(left)).ok();
        match s.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A line of `/proc/PID/status`, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// How many sockets `pid` holds open.
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// The attack, larger: 3,000 half-sent heads of 12 KiB from one client,
/// against a server with 1,024 file handles and a head limit of ten
/// minutes (so no time limit is what saves it). Another client is
/// answered at once, and so is the flooding client itself (behind a
/// reverse proxy every client is that one); the server holds a bounded
/// number of the flood's connections, and its memory grows by less than
/// the flood sent.
#[test]
fn a_flood_of_half_sent_heads_from_one_client_leaves_others_served() {
    let desk = Desk::new();
    let server = desk.serve_after(
        &format!("ulimit -n {FILES}"),
        &[("PIPEDESK_TEST_HEADER_TIMEOUT_MS", "600000")],
    );
    let pid = server.pid();
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let flooder = Ipv4Addr::LOCALHOST;
    let ok = health_from(other, &server, Duration::from_secs(10));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok:?}");
    let before = status_kb(pid, "VmRSS:");

    let head = format!(
        "GET /tickets HTTP/1.1\r\nHost: x\r\nX-Pad: {}",
        "a".repeat(PAD)
    );
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        match connect_from(flooder, address(&server)) {
            Ok(mut s) => {
                // An error: closed by the server already, to make room.
                let _ = s.write_all(head.as_bytes());
                flood.push(s);
            }
            Err(e) => panic!("the server took {} connections, then: {e}", flood.len()),
        }
    }

    let said = health_from(other, &server, Duration::from_secs(5));
    assert!(said.starts_with("HTTP/1.1 200"), "another client: {said:?}");
    let said = health_from(flooder, &server, Duration::from_secs(5));
    assert!(said.starts_with("HTTP/1.1 200"), "the flooder: {said:?}");

    // Of 1,100, one client holds a quarter of what the handles allow.
    let bound = (FILES / 4) as usize;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut held = sockets(pid);
    while held > bound && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        held = sockets(pid);
    }
    assert!(held <= bound, "{held} sockets held");
    let after = status_kb(pid, "VmRSS:");
    let sent_kb = (FLOOD * head.len() / 1024) as u64;
    assert!(
        after.saturating_sub(before) < sent_kb / 2,
        "VmRSS {before} kB → {after} kB, the flood sent {sent_kb} kB"
    );
    // The log says so, once for the whole flood.
    let log = || server.log.lock().map(|l| l.clone()).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !log().contains("the most for one client") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        log().matches("the most for one client").count(),
        1,
        "{}",
        log()
    );
    drop(flood);
    let said = health_from(other, &server, Duration::from_secs(5));
    assert!(said.starts_with("HTTP/1.1 200"), "after: {said:?}");
}

/// A sign-in whose body comes a byte at a time is cut off when a head's
/// time is up (408, closed), not held for as long as the client drips.
#[test]
fn a_sign_in_dripped_slowly_is_cut_off() {
    let desk = Desk::new();
    let server = desk.serve_with(&[("PIPEDESK_TEST_HEADER_TIMEOUT_MS", "500")]);
    let mut s = connect_from(Ipv4Addr::LOCALHOST, address(&server)).expect("connecting");
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nOrigin: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000\r\n\r\naddress=",
        server.url
    );
    s.write_all(head.as_bytes()).expect("writing");
    // A byte now and then, for up to 20 s: the server must end it first.
    let deadline = Instant::now() + Duration::from_secs(20);
    s.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => {}
        }
        if Instant::now() > deadline {
            break false;
        }
        if s.write_all(b"a").is_err() {
            break true;
        }
    };
    let said = String::from_utf8_lossy(&got);
    assert!(closed, "still open after 20 s: {said}");
    // A byte that came after the answer may reset the connection before
    // the answer is read: then there is nothing to see.
    assert!(
        said.is_empty() || said.starts_with("HTTP/1.1 408"),
        "{said}"
    );
}

/// While the database hangs, a flood of `/healthz` from anyone answers 503
/// and keeps one thread waiting on the database, not one a check: the
/// threads every request needs stay free. PostgreSQL only: SQLite's
/// readers never wait for a writer (WAL), so nothing outside can make its
/// database hang for a read.
#[test]
fn health_checks_on_a_hung_database_wait_on_one_thread() {
    let desk = Desk::new();
    if !desk.on_postgres() {
        return;
    }
    let server = desk.serve();
    let pid = server.pid();
    let ok = health_from(Ipv4Addr::LOCALHOST, &server, Duration::from_secs(10));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok:?}");
    let before = status_kb(pid, "Threads:");
    let lock = desk.db();
    lock.batch("BEGIN; LOCK TABLE feed IN ACCESS EXCLUSIVE MODE");
    let server = std::sync::Arc::new(server);
    let checks: Vec<_> = (0..40)
        .map(|_| {
            let server = server.clone();
            std::thread::spawn(move || {
                health_from(Ipv4Addr::LOCALHOST, &server, Duration::from_secs(20))
            })
        })
        .collect();
    for c in checks {
        let said = c.join().expect("a check");
        assert!(said.starts_with("HTTP/1.1 503"), "{said:?}");
    }
    let during = status_kb(pid, "Threads:");
    assert!(during <= before + 2, "{before} threads, then {during}");
    lock.batch("COMMIT");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let said = health_from(Ipv4Addr::LOCALHOST, &server, Duration::from_secs(10));
        if said.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "still {said:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
