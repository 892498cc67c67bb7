//! The browser tests' part of the harness: a Playwright script of
//! `tests/e2e/` run in a real headless Chromium against a desk's real
//! server. The script gets the server's URL, the password and its paths in
//! its environment, and runs under a bounded timeout. While it runs it asks
//! the harness to act — deliver a message, run a command, show a ticket —
//! with a line `@pipedesk {json}` on its stdout, and reads the answer, one
//! JSON line, on its stdin: every message and command of a browser test
//! goes through the same `Desk` as in every other test.
//!
//! Python with Playwright comes from `.venv-e2e/` at the crate's root
//! (`.ci/run` makes it from `tests/e2e/requirements.txt`) or
//! `$PIPEDESK_E2E_PYTHON`; Chromium is Debian's `/usr/bin/chromium` or
//! `$PIPEDESK_CHROMIUM` (Playwright's own download cannot work offline).
//! Where either is missing a test prints `SKIP: …` and passes — but under
//! `CI=true` it fails, so a green CI means the browser really ran.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::web::{Server, PASSWORD};
use super::{in_ci, mail, Desk, ADMIN};

/// What a line of the script's stdout starts with when it asks for
/// something.
const ASK: &str = "@pipedesk ";

/// The Python and the Chromium the scripts run with.
#[derive(Debug, Clone)]
pub struct Browser {
    pub python: PathBuf,
    pub chromium: PathBuf,
}

/// The crate's `tests/e2e/` folder.
pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

/// The browser, or None after printing `SKIP: <reason>` (a panic under
/// CI). Looked for once per test binary.
pub fn browser() -> Option<Browser> {
    static FOUND: OnceLock<Result<Browser, String>> = OnceLock::new();
    match FOUND.get_or_init(find) {
        Ok(b) => Some(b.clone()),
        Err(why) => {
            assert!(
                !in_ci(),
                "the browser tests cannot run under CI=true: {why}"
            );
            println!("SKIP: {why}");
            None
        }
    }
}

fn find() -> Result<Browser, String> {
    let python = std::env::var_os("PIPEDESK_E2E_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-e2e/bin/python"));
    if !python.exists() {
        return Err(format!(
            "no Python for the browser tests at {} (make it: python3 -m venv .venv-e2e && \
             .venv-e2e/bin/pip install -r tests/e2e/requirements.txt; or set PIPEDESK_E2E_PYTHON)",
            python.display()
        ));
    }
    let probe = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .output()
        .map_err(|e| format!("running {}: {e}", python.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "{} has no Playwright: {}",
            python.display(),
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    let chromium = std::env::var_os("PIPEDESK_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        return Err(format!(
            "no Chromium at {} (as root: apt-get install chromium; or set PIPEDESK_CHROMIUM)",
            chromium.display()
        ));
    }
    Ok(Browser { python, chromium })
}

/// A finished script.
#[derive(Debug)]
pub struct Scripted {
    /// What it printed (its requests left out) and wrote to stderr.
    pub output: String,
    pub took: Duration,
}

impl Browser {
    /// Runs `tests/e2e/SCRIPT ARGS…` against `server`, answering its
    /// requests with `desk`; at most `limit`, then it is killed. Panics
    /// with everything the script and the server wrote when the script
    /// fails. `out` is the folder for what it saves (screenshots,
    /// downloads).
    #[track_caller]
    pub fn run(
        &self,
        desk: &Desk,
        server: &Server,
        script: &str,
        args: &[&str],
        out: &Path,
        limit: Duration,
    ) -> Scripted {
        std::fs::create_dir_all(out).expect("the script's output folder");
        let started = Instant::now();
        // coreutils' timeout puts the script in a process group of its own
        // and signals the whole group: Playwright's driver and Chromium go
        // with it.
        let mut child = Command::new("timeout")
            .arg("-k")
            .arg("5")
            .arg(limit.as_secs().to_string())
            .arg(&self.python)
            .arg(e2e_dir().join(script))
            .args(args)
            .env("PIPEDESK_URL", &server.url)
            .env("PIPEDESK_ADDRESS", ADMIN)
            .env("PIPEDESK_PASSWORD", PASSWORD)
            .env("PIPEDESK_CHROMIUM", &self.chromium)
            .env("PIPEDESK_OUT", out)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running timeout(1) and Python");
        let mut stderr = child.stderr.take().expect("stderr");
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut answers = child.stdin.take().expect("stdin");
        let mut output = String::new();
        for line in BufReader::new(child.stdout.take().expect("stdout"))
            .lines()
            .map_while(Result::ok)
        {
            let Some(request) = line.strip_prefix(ASK) else {
                output.push_str(&line);
                output.push('\n');
                continue;
            };
            let answer = match serde_json::from_str::<Value>(request) {
                Ok(r) => desk.answer(&r),
                Err(e) => json!({"error": format!("not JSON ({e}): {request}")}),
            };
            if writeln!(answers, "{answer}").is_err() {
                break;
            }
        }
        drop(answers);
        let status = child.wait().expect("waiting for the script");
        output.push_str(&errors.join().unwrap_or_default());
        let took = started.elapsed();
        let server_log = server.log.lock().map(|l| l.clone()).unwrap_or_default();
        // Shown with --nocapture, and on failure.
        println!(
            "{script} {}: {:.1} s\n{output}",
            args.join(" "),
            took.as_secs_f64()
        );
        assert!(
            status.success(),
            "{script} {} failed ({}{}):\n{output}\n--- pipedesk serve\n{server_log}",
            args.join(" "),
            status,
            if status.code() == Some(124) {
                format!(", killed after {} s", limit.as_secs())
            } else {
                String::new()
            }
        );
        Scripted { output, took }
    }
}

impl Desk {
    /// The answer to one request of a browser script: what the script may
    /// ask the desk to do while the browser looks on.
    fn answer(&self, request: &Value) -> Value {
        let text = |k: &str| request[k].as_str().unwrap_or_default().to_string();
        match request["do"].as_str().unwrap_or_default() {
            // A new request by mail: {"from", "subject", "body"}.
            "open_ticket" => {
                let m = mail(&text("from"), &text("subject")).body(&text("body"));
                let sender = super::envelope_of(&m);
                let run = self.deliver(super::SUBMIT, &sender, &m.bytes());
                if run.code != 0 {
                    return json!({"error": run.to_string()});
                }
                json!({"ticket": run.json()["ticket"]})
            }
            // A message to any of our addresses: {"to", "from", "subject", "body"}.
            "deliver" => {
                let m = mail(&text("from"), &text("subject"))
                    .header("To", &text("to"))
                    .body(&text("body"));
                let run = self.send(&text("to"), &m);
                json!({"code": run.code, "stdout": run.stdout, "stderr": run.stderr})
            }
            // A command: {"args": [...], "stdin": "..."}.
            "run" => {
                let args: Vec<String> = request["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let run = self.run(&args, text("stdin").as_bytes());
                json!({"code": run.code, "stdout": run.stdout, "stderr": run.stderr})
            }
            // `show N --json`: {"ticket": N}.
            "show" => {
                let n = request["ticket"].as_i64().unwrap_or_default().to_string();
                let run = self.run(&["show", &n, "--json"], b"");
                if run.code != 0 {
                    return json!({"error": run.to_string()});
                }
                run.json()
            }
            // Every mail the outbox holds, oldest first.
            "outbox" => Value::Array(
                self.outbox()
                    .iter()
                    .map(
                        |m| json!({"to": m.forward_path, "subject": m.subject(), "body": m.body()}),
                    )
                    .collect(),
            ),
            other => json!({"error": format!("the harness cannot {other:?}")}),
        }
    }
}
