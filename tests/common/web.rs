//! `pipedesk serve` for the tests: a desk's real server on a free loopback
//! port, an HTTP client (ureq, no redirects followed, every status an
//! answer), a signed-in session, and a reader of the event stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Desk, ADMIN};

/// The password the harness gives every member of staff it signs in.
pub const PASSWORD: &str = "correct horse battery";

/// A running `pipedesk serve`; killed when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`, also the desk's `web.base_url`.
    pub url: String,
    child: Child,
    /// What it wrote to stderr so far.
    pub log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    #[track_caller]
    pub fn status(self, want: u16) -> Reply {
        assert_eq!(self.status, want, "{}: {}", self.status, self.body);
        self
    }
}

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

/// A free port on 127.0.0.1 (free when asked; the server binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Desk {
    /// Starts `pipedesk serve` for this desk: `web.listen` and
    /// `web.base_url` on a free port (merged into its config), the
    /// database created if need be, and a password for the admin.
    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    /// `serve` with these environment variables set for the server alone.
    pub fn serve_with(&self, env: &[(&str, &str)]) -> Server {
        self.serve_by(self.command(), env)
    }

    /// `serve` started by `sh` after `script` (`ulimit -n 1024`): limits
    /// of its own; with `env` as `serve_with`.
    pub fn serve_after(&self, script: &str, env: &[(&str, &str)]) -> Server {
        self.serve_by(self.command_after(script), env)
    }

    /// `serve` run by `command` (the binary, or `sh` that execs it).
    fn serve_by(&self, mut command: std::process::Command, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        self.add_config(&format!(
            "[web]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"{url}\"\n"
        ));
        self.run(&["init", &self.config_path().display().to_string()], b"")
            .ok();
        self.set_password(ADMIN);
        let mut child = command
            .arg("serve")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting pipedesk serve");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Kept before it says ready: a test that reads the log at
                // once finds the line that made it ready.
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
                if line.contains("serving") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let server = Server {
            url,
            child,
            log,
            agent,
        };
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!(
                "pipedesk serve did not start: {}",
                server.log.lock().map(|l| l.clone()).unwrap_or_default()
            );
        }
        server
    }

    /// Sets `address`'s web password to `PASSWORD`.
    pub fn set_password(&self, address: &str) {
        self.run(&["passwd", address], format!("{PASSWORD}\n").as_bytes())
            .ok();
    }

    /// A new API token for `address`.
    pub fn token(&self, address: &str) -> String {
        self.run(&["token", address], b"")
            .ok()
            .stdout
            .trim()
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's process id, for the signals a test sends it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the server ended, if it did within `within`.
    pub fn exited_within(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut r = result.expect("the server answers");
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let status = r.status().as_u16();
        let body = r.body_mut().read_to_string().unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut req = self.agent.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Server::answer(req.call())
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut req = self.agent.post(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Server::answer(req.send(body))
    }

    /// A page's form posted by a signed-in browser (`cookie`), from our own
    /// origin, as the thread page's buttons send it.
    pub fn form(&self, cookie: &str, path: &str, body: &str) -> Reply {
        self.post(
            path,
            &[
                ("Cookie", cookie),
                ("Origin", &self.url),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
    }

    /// Sends SIGHUP to the server (what `systemctl reload` sends) and waits
    /// for the line that ends a reload, done or refused; what it logged
    /// meanwhile.
    #[track_caller]
    pub fn reload(&self) -> String {
        let log = || self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let before = log().len();
        let hup = std::process::Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status();
        assert!(
            hup.as_ref().is_ok_and(|s| s.success()),
            "kill -HUP: {hup:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = log();
            let since = &now[before..];
            if since
                .lines()
                .any(|l| l.contains("reloaded the config") || l.contains("reloading the config"))
            {
                return since.to_string();
            }
            assert!(Instant::now() < deadline, "no reload within 30 s:\n{now}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Signs `address` in with `PASSWORD`, from our own origin; the
    /// `Cookie` header value of the session.
    #[track_caller]
    pub fn sign_in(&self, address: &str) -> String {
        let r = self.post(
            "/login",
            &[
                ("Origin", &self.url),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &format!("address={address}&password={}", PASSWORD.replace(' ', "+")),
        );
        assert_eq!(r.status, 303, "sign-in: {}", r.body);
        let cookie = r.header("set-cookie").expect("a session cookie");
        cookie.split(';').next().expect("name=value").to_string()
    }

    /// Reads the event stream at `path` with `headers` until `enough` holds
    /// of what came, or `within` passed; returns the events.
    pub fn events(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        within: Duration,
        enough: impl Fn(&[SseEvent]) -> bool,
    ) -> Vec<SseEvent> {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connecting");
        // HTTP/1.0: the answer is the raw stream, not chunked.
        let mut request =
            format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (k, v) in headers {
            request += &format!("{k}: {v}\r\n");
        }
        request += "\r\n";
        stream.write_all(request.as_bytes()).expect("writing");
        let deadline = Instant::now() + within;
        let mut text = String::new();
        let mut events = Vec::new();
        let mut buf = [0u8; 8192];
        while Instant::now() < deadline && !enough(&events) {
            let left = deadline.saturating_duration_since(Instant::now());
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .ok();
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => break,
            }
            events = parse_events(&text);
        }
        events
    }
}

/// The events in what a stream sent so far (after its HTTP head).
pub fn parse_events(text: &str) -> Vec<SseEvent> {
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let mut events = Vec::new();
    // Only complete events: each ends with a blank line.
    let complete = match body.rfind("\n\n") {
        Some(end) => &body[..end],
        None => return events,
    };
    for block in complete.split("\n\n") {
        let mut e = SseEvent::default();
        let mut has = false;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id:") {
                e.id = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("event:") {
                e.event = v.trim().to_string();
                has = true;
            } else if let Some(v) = line.strip_prefix("data:") {
                if !e.data.is_empty() {
                    e.data.push('\n');
                }
                e.data.push_str(v.trim_start());
                has = true;
            }
        }
        if has {
            events.push(e);
        }
    }
    events
}
