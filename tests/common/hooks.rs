//! The other ends of a rule's hooks (SPEC §8): an HTTP receiver on
//! 127.0.0.1 that records every webhook and answers as scripted, and
//! `exec` programs that record their stdin, fail or hang.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A scripted answer that never comes: the request is read and recorded,
/// and the connection held open, unanswered, until the receiver is dropped.
pub const HANG: u16 = 0;

/// How long `wait_for` waits: a bound against a hang, not a speed claim.
const WAIT: Duration = Duration::from_secs(30);

/// One request as the receiver read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    /// Names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The value of the header `name` (any case), where there is one.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times the header `name` was sent.
    pub fn header_count(&self, name: &str) -> usize {
        let name = name.to_ascii_lowercase();
        self.headers.iter().filter(|(n, _)| *n == name).count()
    }

    /// Whether its `X-Pipedesk-Signature` is the body's, keyed with `secret`.
    pub fn signed_with(&self, secret: &str) -> bool {
        self.header("x-pipedesk-signature")
            == Some(pipedesk::outbound::hook::signature(secret, &self.body).as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "webhook body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    answers: VecDeque<u16>,
}

/// An HTTP/1.1 receiver on 127.0.0.1 (a port of its own), on threads of
/// its own; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub fn start() -> Receiver {
        Receiver::answering(&[])
    }

    /// A receiver answering the requests, in the order they come, with
    /// `statuses` (a 3xx with a `Location`; `HANG`: no answer), and 200
    /// to every request after those.
    pub fn answering(statuses: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new((
            Mutex::new(State {
                requests: Vec::new(),
                answers: statuses.iter().copied().collect(),
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (s, st) = (Arc::clone(&s), Arc::clone(&st));
                std::thread::spawn(move || serve(stream, addr, &s, &st));
            }
        });
        Receiver { addr, state, stop }
    }

    /// Where to send webhooks: `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Every request so far, in the order they came.
    pub fn requests(&self) -> Vec<Request> {
        self.state
            .0
            .lock()
            .expect("receiver state")
            .requests
            .clone()
    }

    /// Waits (30 s at most, else the test fails) until at least `n`
    /// requests came; all of them.
    #[track_caller]
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let (lock, changed) = &*self.state;
        let start = Instant::now();
        let mut state = lock.lock().expect("receiver state");
        while state.requests.len() < n {
            let left = WAIT.saturating_sub(start.elapsed());
            assert!(
                !left.is_zero(),
                "waited {WAIT:?} for {n} webhook requests, got {}: {:#?}",
                state.requests.len(),
                state.requests
            );
            state = changed.wait_timeout(state, left).expect("receiver state").0;
        }
        state.requests.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.state.1.notify_all();
        // Wakes the accept loop, which then sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads requests from one connection and answers each; the connection
/// is closed after each answer.
fn serve(stream: TcpStream, addr: SocketAddr, state: &(Mutex<State>, Condvar), stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(WAIT));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut input = BufReader::new(stream);
    let Some(request) = read_request(&mut input) else {
        return;
    };
    let status = {
        let (lock, changed) = state;
        let Ok(mut s) = lock.lock() else { return };
        s.requests.push(request);
        changed.notify_all();
        s.answers.pop_front().unwrap_or(200)
    };
    if status == HANG {
        let (lock, changed) = state;
        let Ok(mut s) = lock.lock() else { return };
        while !stop.load(Ordering::SeqCst) {
            match changed.wait(s) {
                Ok(next) => s = next,
                Err(_) => return,
            }
        }
        return;
    }
    let body = format!("scripted {status}\n");
    let location = if (300..400).contains(&status) {
        format!("Location: http://{addr}/elsewhere\r\n")
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "HTTP/1.1 {status} Scripted\r\n{location}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = out.flush();
}

/// One HTTP/1.1 request with a `Content-Length` body (what ureq sends);
/// None where the connection closed or spoke something else.
fn read_request(input: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    input.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    input.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// An executable `/bin/sh` script `name` in `dir` with `body`; its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A program that appends its stdin to `log` as one line per run (the
/// event JSON has no line breaks of its own), and exits 0.
pub fn recording_script(dir: &Path, log: &Path) -> PathBuf {
    script(
        dir,
        "record-hook",
        &format!("event=$(cat)\nprintf '%s\\n' \"$event\" >> {}", quoted(log)),
    )
}

/// A program that fails its first `failures` runs (exit 1, "not yet" on
/// stderr), and from then on records its stdin to `log` as
/// `recording_script` does: for the retries of `flush`.
pub fn fails_then_records(dir: &Path, log: &Path, failures: u32) -> PathBuf {
    let count = dir.join("fails-then-records.count");
    script(
        dir,
        "fails-then-records",
        &format!(
            "event=$(cat)\n\
             n=$(cat {count} 2>/dev/null || echo 0)\n\
             echo $((n + 1)) > {count}\n\
             if [ \"$n\" -lt {failures} ]; then echo 'not yet' >&2; exit 1; fi\n\
             printf '%s\\n' \"$event\" >> {log}",
            count = quoted(&count),
            log = quoted(log),
        ),
    )
}

/// A program that fails while the file `closed` exists, and records its
/// stdin as `recording_script` does once it is gone: a test says when
/// hooks start to succeed, however many runs came before.
pub fn fails_while(dir: &Path, log: &Path, closed: &Path) -> PathBuf {
    script(
        dir,
        "fails-while",
        &format!(
            "event=$(cat)
             if [ -e {closed} ]; then echo 'closed' >&2; exit 1; fi
             printf '%s\\n' \"$event\" >> {log}",
            closed = quoted(closed),
            log = quoted(log),
        ),
    )
}

/// A program that writes `stderr` to its stderr and exits with `code`.
pub fn failing_script(dir: &Path, code: u8, stderr: &str) -> PathBuf {
    script(
        dir,
        "failing-hook",
        &format!(
            "cat >/dev/null\nprintf '%s\\n' {} >&2\nexit {code}",
            quoted(Path::new(stderr))
        ),
    )
}

/// A program that never finishes: its shell waits for a `sleep`, a
/// grandchild holding its output, as a careless script would.
pub fn hanging_script(dir: &Path) -> PathBuf {
    script(dir, "hanging-hook", "cat >/dev/null\nsleep 600\ntrue")
}

/// The events a recording script wrote to `log`, one JSON value a run;
/// none where it never ran.
pub fn recorded(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", log.display()))
        })
        .collect()
}

/// `text` in single quotes for sh.
fn quoted(text: &Path) -> String {
    format!("'{}'", text.display().to_string().replace('\'', r"'\''"))
}
