//! The test harness: a help desk in a temp folder, driven through the real
//! binary the way an MTA and an admin drive it, in the spirit of fd's
//! `tests/testenv` and ripgrep's `tests/util.rs`. Each `Desk` owns a folder
//! with a copy of `fixtures/pipedesk.toml` (site `myisp`, domain
//! `help.example.org`, admin stef@, member ann@, file transport into
//! `outbox/`), so relative paths in it land in that folder. Its database
//! is `pipedesk.db` in that folder, or, in a `pg_*` test binary, a fresh
//! PostgreSQL database (`store.rs`; a `pg_*` binary whose PostgreSQL cannot
//! start runs none of its tests). It is the one harness of every suite: a
//! suite that wants another site name or other staff says so with
//! `Desk::with_config`, runs held to a bound go through `bounded.rs`, and
//! the desk's own tests open the same store in process
//! (`TestStore::open_in_process`).

#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod bounded;
pub mod browser;
pub mod hooks;
pub mod pg;
pub mod store;
pub mod web;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_pipedesk");
pub const SUBMIT: &str = "submit@help.example.org";
pub const ADMIN: &str = "stef@example.org";
pub const MEMBER: &str = "ann@example.org";
pub const JOHN: &str = "john@example.com";

/// Is this a CI run (`CI=true`)? There a test whose real component (a
/// browser, PostgreSQL, an MTA, a tool) cannot run fails instead of
/// printing `SKIP: …` and passing: a green CI means the real tests ran.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The crate's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fixture's bytes, e.g. `fixture("new/plain.eml")`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `ticket-N@help.example.org`, with a suffix (`""`, `"-comment"`, `"-done"`).
pub fn ticket_addr(n: i64, suffix: &str) -> String {
    format!("ticket-{n}{suffix}@help.example.org")
}

/// The two line endings every fixture-driven test runs with: as written
/// (LF) and as an MTA on the wire hands it over (CRLF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    Crlf,
}

impl Eol {
    pub const BOTH: [Eol; 2] = [Eol::Lf, Eol::Crlf];

    pub fn apply(self, raw: &[u8]) -> Vec<u8> {
        match self {
            Eol::Lf => raw.to_vec(),
            Eol::Crlf => to_crlf(raw),
        }
    }
}

/// Every bare LF becomes CRLF; existing CRLF pairs stay as they are.
pub fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// A small message builder for the named behaviour tests: readable in the
/// test, LF line endings, a Message-ID unless told otherwise.
#[derive(Debug, Clone)]
pub struct Mail {
    headers: Vec<(String, String)>,
    body: String,
}

pub fn mail(from: &str, subject: &str) -> Mail {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    Mail {
        headers: vec![
            ("From".into(), from.into()),
            ("To".into(), SUBMIT.into()),
            ("Subject".into(), subject.into()),
            ("Date".into(), "Tue, 17 Nov 2026 15:00:00 +0000".into()),
            (
                "Message-ID".into(),
                format!("<test-{}-{n}@mail.example.com>", std::process::id()),
            ),
        ],
        body: "Hello,\n\nit does not work.\n".into(),
    }
}

/// A message from a member of staff as our MX hands it over: with the
/// Authentication-Results header that `policy.trusted_authserv_id` in
/// `fixtures/pipedesk.toml` asks for.
pub fn staff_mail(from: &str, subject: &str) -> Mail {
    mail(from, subject).header(
        "Authentication-Results",
        "mx.help.example.org; spf=pass smtp.mailfrom=example.org; \
         dkim=pass header.d=example.org; dmarc=pass header.from=example.org",
    )
}

/// Mail from the people of `fixtures/pipedesk.toml`'s desk: john, who asks
/// for help.
pub fn john(subject: &str) -> Mail {
    mail("John Smith <john@example.com>", subject)
}

/// From stef, the admin, as our MX hands it over (`staff_mail`).
pub fn stef(subject: &str) -> Mail {
    staff_mail("Stef <stef@example.org>", subject)
}

/// From ann, a member of staff, as our MX hands it over (`staff_mail`).
pub fn ann(subject: &str) -> Mail {
    staff_mail("Ann <ann@example.org>", subject)
}

/// From eve, a stranger to the desk.
pub fn eve(subject: &str) -> Mail {
    mail("Eve <eve@example.net>", subject)
}

impl Mail {
    /// Sets (replacing) a header; an empty value removes it.
    pub fn header(mut self, name: &str, value: &str) -> Mail {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            self.headers.push((name.into(), value.into()));
        }
        self
    }

    /// Adds a header, keeping any others of the same name.
    pub fn add_header(mut self, name: &str, value: &str) -> Mail {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: &str) -> Mail {
        self.body = body.into();
        self
    }

    pub fn message_id(&self) -> String {
        self.get("Message-ID").unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for (n, v) in &self.headers {
            out += &format!("{n}: {v}\n");
        }
        out += "\n";
        out += &self.body;
        out.into_bytes()
    }
}

/// A finished run of the binary.
#[derive(Debug, Clone)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0, showing the run when it was not.
    #[track_caller]
    pub fn ok(self) -> Run {
        self.code(0)
    }

    /// Asserts the exit code, showing the run when it differs.
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert!(
            self.code == code,
            "expected exit {code}, got {}\n{self}",
            self.code
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "command: pipedesk {}\nexit: {}\n--- stdout\n{}--- stderr\n{}---",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

/// One mail the file transport wrote: `<uuid>.eml` and the envelope from
/// `<uuid>.json`.
#[derive(Debug, Clone)]
pub struct Sent {
    pub file: String,
    pub forward_path: Vec<String>,
    /// None for the null sender.
    pub reverse_path: Option<String>,
    pub raw: Vec<u8>,
}

impl Sent {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The header section as written, up to the blank line.
    pub fn head(&self) -> String {
        let text = self.text();
        let end = text.find("\r\n\r\n").unwrap_or(text.len());
        text[..end].to_string()
    }

    /// Every value of header `name`, unfolded, as written (not decoded).
    pub fn headers(&self, name: &str) -> Vec<String> {
        let head = self.head().replace("\r\n ", " ").replace("\r\n\t", " ");
        head.split("\r\n")
            .filter_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .collect()
    }

    /// The one value of header `name`; panics when there is none or several.
    #[track_caller]
    pub fn header(&self, name: &str) -> String {
        let all = self.headers(name);
        assert!(all.len() == 1, "{name}: {all:?} in\n{}", self.head());
        all[0].clone()
    }

    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("our own mail parses")
    }

    /// The decoded Subject.
    pub fn subject(&self) -> String {
        self.parsed().subject().unwrap_or_default().to_string()
    }

    /// The decoded From display name.
    pub fn display_name(&self) -> Option<String> {
        self.parsed()
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.name())
            .map(String::from)
    }

    /// The addresses in To and Cc.
    pub fn to_and_cc(&self) -> BTreeSet<String> {
        let m = self.parsed();
        m.to()
            .into_iter()
            .chain(m.cc())
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address())
            .map(str::to_ascii_lowercase)
            .collect()
    }

    /// The first text part, decoded.
    pub fn body(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }

    /// (filename, content type, decoded bytes) of each attachment.
    pub fn attachments(&self) -> Vec<(String, String, Vec<u8>)> {
        use mail_parser::MimeHeaders;
        let m = self.parsed();
        m.attachments()
            .map(|p| {
                let ct = p
                    .content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                    .unwrap_or_default();
                (
                    p.attachment_name().unwrap_or_default().to_string(),
                    ct,
                    p.contents().to_vec(),
                )
            })
            .collect()
    }

    /// The envelope recipients, sorted.
    pub fn rcpts(&self) -> BTreeSet<String> {
        self.forward_path.iter().cloned().collect()
    }
}

/// A help desk in a temp folder.
pub struct Desk {
    dir: TempDir,
    config: PathBuf,
    /// Outbox files already handed to the test by `take_mail`.
    seen: std::sync::Mutex<BTreeSet<String>>,
    /// The line endings `deliver` hands messages over with.
    pub eol: Eol,
    /// Where its tickets are kept.
    pub store: store::TestStore,
}

impl Default for Desk {
    fn default() -> Self {
        Desk::new()
    }
}

impl Desk {
    /// A desk with `fixtures/pipedesk.toml` as it is.
    pub fn new() -> Desk {
        Desk::with_config("")
    }

    /// A desk whose config is `fixtures/pipedesk.toml` with `overrides`
    /// (TOML) merged in, table by table.
    pub fn with_config(overrides: &str) -> Desk {
        Desk::on(
            store::TestStore::new(PathBuf::from("pipedesk.db")),
            overrides,
        )
    }

    /// Runs `pipedesk ARGS` (words split on spaces) with a terminal for
    /// stdin (script(1)), so that it opens `$EDITOR`: a shell script whose
    /// body is `editor`, with the draft's path in `$1`.
    pub fn run_with_editor(&self, args: &str, editor: &str) -> std::process::Output {
        let script = self.path().join("editor.sh");
        std::fs::write(&script, format!("#!/bin/sh\n{editor}\n")).expect("the editor script");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("an executable editor");
        let line = format!("{BIN} --config {} {args}", self.config_path().display());
        Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .current_dir(self.path())
            .env("EDITOR", &script)
            .env_remove("VISUAL")
            .stdin(Stdio::null())
            .output()
            .expect("script(1) runs")
    }

    /// `with_config`, on the store given.
    pub fn on(store: store::TestStore, overrides: &str) -> Desk {
        let dir = tempfile::Builder::new()
            .prefix("pipedesk-test-")
            .tempdir()
            .expect("a temp folder");
        let config = dir.path().join("pipedesk.toml");
        let desk = Desk {
            dir,
            config,
            seen: Default::default(),
            eol: Eol::Lf,
            store,
        };
        desk.set_config(overrides);
        desk
    }

    /// Two desks with the same config: one fed LF messages, one CRLF.
    pub fn both(overrides: &str) -> [Desk; 2] {
        Eol::BOTH.map(|eol| Desk {
            eol,
            ..Desk::with_config(overrides)
        })
    }

    /// `msg` with this desk's line endings.
    pub fn bytes(&self, msg: &Mail) -> Vec<u8> {
        self.eol.apply(&msg.bytes())
    }

    /// Rewrites the config: the fixture with `overrides` merged in.
    pub fn set_config(&self, overrides: &str) {
        let base = std::fs::read_to_string(fixtures().join("pipedesk.toml"))
            .expect("fixtures/pipedesk.toml");
        let mut table: toml::Table = base.parse().expect("fixtures/pipedesk.toml parses");
        if let Some(toml::Value::Table(site)) = table.get_mut("site") {
            site.insert("database".into(), self.store.setting().into());
        }
        let extra: toml::Table = overrides.parse().expect("overrides parse");
        merge(&mut table, extra);
        self.write_config(&toml::to_string(&table).expect("config serializes"));
    }

    /// Merges `extra` (TOML) into the config as it is now.
    pub fn add_config(&self, extra: &str) {
        let now = std::fs::read_to_string(&self.config).expect("the config");
        let mut table: toml::Table = now.parse().expect("the config parses");
        let extra: toml::Table = extra.parse().expect("extra config parses");
        merge(&mut table, extra);
        self.write_config(&toml::to_string(&table).expect("config serializes"));
    }

    /// Writes `text` as the config file, as it is.
    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).expect("writing the config");
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The SQLite file (in a PostgreSQL run: where it would be).
    pub fn db_path(&self) -> PathBuf {
        self.path().join("pipedesk.db")
    }

    /// Does the desk's database exist yet (the file; the schema)?
    pub fn has_database(&self) -> bool {
        self.store.exists(self.path())
    }

    /// A connection for assertions on what was stored.
    pub fn db(&self) -> store::Db {
        self.store.db(self.path())
    }

    pub fn on_postgres(&self) -> bool {
        self.store.is_postgres()
    }

    /// The binary with `--config` and a clean environment: none of the
    /// variables pipedesk reads leak in from the test runner.
    pub fn command(&self) -> Command {
        self.clean(Command::new(BIN))
    }

    /// `command`, started by `sh` after `script` (`ulimit -v …`): the
    /// limits a test puts on the process are its own, not the runner's.
    pub fn command_after(&self, script: &str) -> Command {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("{script}; exec \"$0\" \"$@\""))
            .arg(BIN);
        self.clean(sh)
    }

    /// `cmd` in the desk's folder, with `--config` and none of the
    /// variables pipedesk reads.
    fn clean(&self, mut cmd: Command) -> Command {
        cmd.current_dir(self.path())
            .arg("--config")
            .arg(&self.config);
        for var in [
            "PIPEDESK_CONFIG",
            "ORIGINAL_RECIPIENT",
            "RECIPIENT",
            "SENDER",
            "EDITOR",
            "VISUAL",
            "PIPEDESK_TEST_NOW",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs `pipedesk ARGS` with `stdin` and the extra environment `env`.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
        let mut cmd = self.command();
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running pipedesk");
        let mut input = child.stdin.take().expect("stdin");
        let bytes = stdin.to_vec();
        // A writer thread: pipedesk may stop reading early (too large), and
        // a full pipe must not block the test.
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&bytes);
        });
        let out = child.wait_with_output().expect("waiting for pipedesk");
        let _ = writer.join();
        Run {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Run {
        self.run_env(args, &[], stdin)
    }

    /// `deliver --json --recipient R --sender S` with `msg`, in this desk's
    /// line endings, on stdin.
    pub fn deliver(&self, recipient: &str, sender: &str, msg: &[u8]) -> Run {
        let msg = self.eol.apply(msg);
        self.run(
            &[
                "deliver",
                "--json",
                "--recipient",
                recipient,
                "--sender",
                sender,
            ],
            &msg,
        )
    }

    /// `deliver --json --no-mail --recipient R --sender S` with `msg` as it
    /// is (no line-ending change): replaying stored mail, where only what is
    /// stored matters.
    pub fn deliver_no_mail(&self, recipient: &str, sender: &str, msg: &[u8]) -> Run {
        self.run(
            &[
                "deliver",
                "--json",
                "--no-mail",
                "--recipient",
                recipient,
                "--sender",
                sender,
            ],
            msg,
        )
    }

    /// Delivers `msg` to `recipient`, the envelope sender its From address.
    pub fn send(&self, recipient: &str, msg: &Mail) -> Run {
        self.deliver(recipient, &envelope_of(msg), &msg.bytes())
    }

    /// Delivers `msg` to submit@ from john and returns the new ticket.
    #[track_caller]
    pub fn open_ticket(&self, msg: &Mail) -> i64 {
        let sender = envelope_of(msg);
        let out = self.deliver(SUBMIT, &sender, &msg.bytes()).ok().json();
        assert_eq!(out["action"], "create", "{out}");
        out["ticket"].as_i64().expect("a ticket number")
    }

    /// `show N --json`.
    #[track_caller]
    pub fn show(&self, n: i64) -> Value {
        self.run(&["show", &n.to_string(), "--json"], b"")
            .ok()
            .json()
    }

    /// `list --json` (with more arguments).
    #[track_caller]
    pub fn list(&self, more: &[&str]) -> Value {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(more);
        self.run(&args, b"").ok().json()
    }

    /// The number of tickets.
    #[track_caller]
    pub fn ticket_count(&self) -> usize {
        if !self.has_database() {
            return 0;
        }
        self.list(&[]).as_array().expect("an array").len()
    }

    /// The history kinds of ticket N, in order.
    #[track_caller]
    pub fn kinds(&self, n: i64) -> Vec<String> {
        self.show(n)["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or("?").to_string())
            .collect()
    }

    /// Every mail in the outbox folder, oldest file first.
    pub fn outbox(&self) -> Vec<Sent> {
        let dir = self.path().join("outbox");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| {
                let t = std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (t, p)
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, eml)| {
                let raw = std::fs::read(&eml).expect("reading an .eml");
                let envelope: Value = serde_json::from_slice(
                    &std::fs::read(eml.with_extension("json")).expect("the envelope .json"),
                )
                .expect("the envelope is JSON");
                Sent {
                    file: eml.file_name().unwrap().to_string_lossy().into_owned(),
                    forward_path: envelope["forward_path"]
                        .as_array()
                        .expect("forward_path")
                        .iter()
                        .map(|v| v.as_str().unwrap_or_default().to_ascii_lowercase())
                        .collect(),
                    reverse_path: envelope["reverse_path"].as_str().map(String::from),
                    raw,
                }
            })
            .collect()
    }

    /// The mails written since the last call.
    pub fn take_mail(&self) -> Vec<Sent> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        self.outbox()
            .into_iter()
            .filter(|m| seen.insert(m.file.clone()))
            .collect()
    }

    /// Forgets the mail written so far (the next `take_mail` starts here).
    pub fn clear_mail(&self) {
        self.take_mail();
    }

    /// Exactly one new mail whose envelope names `rcpt`, among `mails`.
    #[track_caller]
    pub fn one_to<'a>(mails: &'a [Sent], rcpt: &str) -> &'a Sent {
        let found: Vec<&Sent> = mails
            .iter()
            .filter(|m| m.forward_path.iter().any(|r| r == rcpt))
            .collect();
        assert!(
            found.len() == 1,
            "expected one mail to {rcpt}, found {}; all mails: {:?}",
            found.len(),
            summary(mails)
        );
        found[0]
    }
}

/// The envelope sender a test message goes with: its From address.
pub fn envelope_of(msg: &Mail) -> String {
    let from = msg.get("From").unwrap_or_default();
    match (from.rfind('<'), from.rfind('>')) {
        (Some(l), Some(r)) if l < r => from[l + 1..r].to_string(),
        _ => from,
    }
}

/// (recipients, subject) of each mail, for failure messages.
pub fn summary(mails: &[Sent]) -> Vec<(Vec<String>, String)> {
    mails
        .iter()
        .map(|m| (m.forward_path.clone(), m.subject()))
        .collect()
}

fn merge(base: &mut toml::Table, extra: toml::Table) {
    for (key, value) in extra {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(e)) => merge(b, e),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Asserts two texts are equal; on failure prints a line diff (`-` expected,
/// `+` actual) rather than two walls of text.
#[track_caller]
pub fn assert_same(expected: &str, actual: &str) {
    if expected != actual {
        panic!(
            "texts differ (- expected, + actual):\n{}",
            diff(expected, actual)
        );
    }
}

/// Asserts two JSON values are equal, with a diff of their pretty forms.
#[track_caller]
pub fn assert_json(expected: &Value, actual: &Value) {
    if expected != actual {
        let e = serde_json::to_string_pretty(expected).unwrap();
        let a = serde_json::to_string_pretty(actual).unwrap();
        panic!("JSON differs (- expected, + actual):\n{}", diff(&e, &a));
    }
}

/// A line diff by longest common subsequence; small inputs only.
pub fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        } else {
            out += &format!("- {}\n", a[i]);
            i += 1;
        }
    }
    out
}

/// Undoes mboxrd quoting and splits an mbox into its messages' bytes.
pub fn mboxrd_messages(mbox: &[u8]) -> Vec<Vec<u8>> {
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut at_start = true;
    for line in mbox.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") && at_start {
            messages.push(Vec::new());
            continue;
        }
        at_start = false;
        let Some(current) = messages.last_mut() else {
            continue;
        };
        let quoted = line
            .iter()
            .position(|&b| b != b'>')
            .is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
        current.extend_from_slice(if quoted { &line[1..] } else { line });
        // A message ends with the blank line the writer adds; the next
        // `From ` line can only follow a blank line.
        at_start = line == b"\n";
    }
    for m in &mut messages {
        // The separator blank line is the mbox's, not the message's.
        if m.ends_with(b"\n\n") || m.ends_with(b"\r\n\n") {
            m.pop();
        }
    }
    messages
}
