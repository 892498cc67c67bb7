//! Reliability, as an admin who puts pipedesk behind an MTA needs it: many
//! `deliver` processes at once lose and duplicate nothing; a `deliver`
//! killed at any point (SIGKILL, as an MTA's timeout does) leaves a database
//! that `pipedesk check` passes, and redelivery stores the message once; a
//! database that is locked, read-only or on a full disk gives 75 (the MTA
//! keeps the message), never 0 with nothing stored (SPEC §3, §4).
//!
//! The desk is the harness's (`tests/common`): a temp folder with a config,
//! the real binary, and the database opened directly to count what was stored
//! (SQLite here; PostgreSQL in `tests/pg_reliability.rs`, where the tests of
//! a SQLite file's own failures are replaced by PostgreSQL's: a lock held by
//! another host, a read-only database, a database that refuses or is not
//! there).

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::bounded::{self, Ended};
use common::store::{TestStore, P};
use common::Desk;

/// An upper bound for a process that hangs; never a claim about speed.
const HANG: Duration = Duration::from_secs(120);

/// One message with the recipient the MTA gives it.
#[derive(Clone)]
struct Msg {
    id: String,
    rcpt: String,
    raw: Vec<u8>,
}

/// A desk of the harness as this suite had it: site `pipedesk`, admin
/// admin@ and no other staff, the database in `db/` (so a test can put a
/// small or read-only file system there), mail in `outbox/`. `policy` and
/// `mail` are lines for those sections; `{dir}` in them stands for the
/// desk's folder.
fn desk(policy: &str, mail: &str) -> Desk {
    let desk = Desk::on(TestStore::new(PathBuf::from("db/desk.db")), "");
    std::fs::create_dir(desk.path().join("db")).expect("db dir");
    let mail = mail.replace("{dir}", &desk.path().display().to_string());
    configure(&desk, policy, &mail, None);
    desk
}

/// The desk's config: the harness's with this suite's site, staff and
/// sections; on `database` when given, else on its store.
fn configure(desk: &Desk, policy: &str, mail: &str, database: Option<&str>) {
    let database = database
        .map(|d| format!("database = \"{d}\"\n"))
        .unwrap_or_default();
    desk.set_config(&format!(
        "[site]\nname = \"pipedesk\"\n{database}\
         [staff]\nadmins = [\"admin@example.org\"]\nmembers = []\n\
         [policy]\n{policy}\n[mail]\n{mail}\n"
    ));
}

/// What this suite asks of the harness's desk: runs bounded by `HANG`, and
/// what they stored.
trait Reliability {
    fn run_bounded(&self, args: &[&str], stdin: &[u8]) -> Ended;
    fn run_bounded_after(&self, script: &str, args: &[&str], stdin: &[u8]) -> Ended;
    fn deliver_msg(&self, m: &Msg) -> Ended;
    fn deliver_ok(&self, m: &Msg);
    fn check_ok(&self);
    fn count(&self, sql: &str) -> i64;
    fn copies(&self, id: &str) -> i64;
    fn stored_raw(&self, id: &str) -> Option<Vec<u8>>;
}

impl Reliability for Desk {
    fn run_bounded(&self, args: &[&str], stdin: &[u8]) -> Ended {
        let mut cmd = self.command();
        cmd.args(args);
        bounded::run(cmd, stdin, HANG)
    }

    /// `run_bounded` started by `sh` after `script` (`ulimit …`).
    fn run_bounded_after(&self, script: &str, args: &[&str], stdin: &[u8]) -> Ended {
        let mut cmd = self.command_after(script);
        cmd.args(args);
        bounded::run(cmd, stdin, HANG)
    }

    fn deliver_msg(&self, m: &Msg) -> Ended {
        self.run_bounded(&["deliver", "--recipient", &m.rcpt], &m.raw)
    }

    fn deliver_ok(&self, m: &Msg) {
        self.deliver_msg(m)
            .assert_code(0, &format!("deliver {}", m.id));
    }

    fn check_ok(&self) {
        self.run_bounded(&["check"], b"")
            .assert_code(0, "pipedesk check");
    }

    fn count(&self, sql: &str) -> i64 {
        self.db().count(sql, &[])
    }

    /// How many times the message with Message-ID `<id>` is stored.
    fn copies(&self, id: &str) -> i64 {
        self.db().count(
            "SELECT count(*) FROM messages WHERE message_id = ?1",
            &[P::T(id)],
        )
    }

    fn stored_raw(&self, id: &str) -> Option<Vec<u8>> {
        self.db()
            .rows(
                "SELECT raw FROM messages WHERE message_id = ?1",
                &[P::T(id)],
            )
            .first()
            .map(|r| r[0].bytes())
    }
}

/// A small deterministic RNG (xorshift64*): a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A message opening a new ticket, from a sender of its own (so the
/// per-sender autoreply limit never kicks in). `pad` bytes of body make
/// the transaction longer.
fn new_ticket(tag: &str, pad: usize) -> Msg {
    let id = format!("{tag}@example.com");
    let raw = format!(
        "From: User {tag} <{tag}@example.com>\r\nTo: submit@help.example.org\r\n\
         Subject: Problem {tag}\r\nMessage-ID: <{id}>\r\nDate: Sun, 22 Nov 2026 05:00:00 +0000\r\n\r\n\
         Something is broken ({tag}).\r\n{}",
        "padding line of text ...\r\n".repeat(pad / 26)
    );
    Msg {
        id,
        rcpt: "submit@help.example.org".into(),
        raw: raw.into_bytes(),
    }
}

/// A reply by ticket `t`'s requestor (`seed{t}`), reaching it in one of the
/// three ways SPEC §3 routes correspondence.
fn reply(n: usize, t: usize, how: usize) -> Msg {
    let id = format!("reply{n}@example.com");
    let (rcpt, subject, threading) = match how % 3 {
        0 => (
            "submit@help.example.org".to_string(),
            format!("Re: [pipedesk #{t}] Problem seed{t}"),
            String::new(),
        ),
        1 => (
            format!("ticket-{t}@help.example.org"),
            "Re: Problem".to_string(),
            String::new(),
        ),
        _ => (
            "submit@help.example.org".to_string(),
            "Re: Problem (tag stripped)".to_string(),
            format!("In-Reply-To: <seed{t}@example.com>\r\n"),
        ),
    };
    let raw = format!(
        "From: seed{t}@example.com\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\n{threading}\r\nMore details ({n}).\r\n"
    );
    Msg {
        id,
        rcpt,
        raw: raw.into_bytes(),
    }
}

/// Delivers `batch` with `workers` processes at a time, each retrying on
/// 75 as an MTA does. Returns the number of retries; panics on any exit
/// other than 0 and 75.
fn deliver_concurrently(desk: &Desk, batch: &[Msg], workers: usize) -> usize {
    let next = AtomicUsize::new(0);
    let retries = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(m) = batch.get(i) else { break };
                let mut attempts = 0;
                loop {
                    let out = desk.deliver_msg(m);
                    match out.code {
                        Some(0) => break,
                        Some(75) if attempts < 20 => {
                            attempts += 1;
                            retries.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => {
                            failures.lock().unwrap().push(format!(
                                "{}: exit {:?} after {attempts} retries: {}",
                                m.id, out.code, out.stderr
                            ));
                            break;
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "failed deliveries:\n{failures:#?}");
    retries.into_inner()
}

/// Everything a redelivery must leave alone.
fn snapshot(desk: &Desk) -> Vec<i64> {
    [
        "SELECT count(*) FROM tickets",
        "SELECT count(*) FROM messages",
        "SELECT count(*) FROM history",
        "SELECT count(*) FROM outbox",
        "SELECT count(*) FROM watchers",
        "SELECT CAST(sum(length(raw)) AS bigint) FROM messages",
    ]
    .iter()
    .map(|sql| desk.count(sql))
    .chain(std::iter::once(
        eml_files(&desk.path().join("outbox")).len() as i64,
    ))
    .collect()
}

fn eml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect()
}

#[test]
fn four_concurrent_workers_lose_and_duplicate_nothing() {
    let desk = desk("", "transport = \"file\"\ndir = \"outbox\"");
    const SEEDS: usize = 20;
    // Seed tickets one by one, so that their numbers are known: 1..=20.
    for t in 1..=SEEDS {
        desk.deliver_ok(&new_ticket(&format!("seed{t}"), 0));
    }
    let mut batch = Vec::new();
    let mut replies_to = [0i64; SEEDS + 1];
    let (mut new, mut replies) = (0, 0);
    for n in 0..300 {
        if n % 2 == 0 {
            batch.push(new_ticket(
                &format!("new{n}"),
                if n % 10 == 0 { 20_000 } else { 0 },
            ));
            new += 1;
        } else {
            let t = 1 + (n * 7) % SEEDS;
            replies_to[t] += 1;
            batch.push(reply(n, t, n / 2));
            replies += 1;
        }
    }
    let retries = deliver_concurrently(&desk, &batch, 4);
    eprintln!(
        "load: {} deliveries by 4 workers, {retries} retried after 75",
        batch.len()
    );

    let tickets = (SEEDS + new) as i64;
    assert_eq!(desk.count("SELECT count(*) FROM tickets"), tickets);
    assert_eq!(
        desk.count("SELECT count(*) FROM messages"),
        (SEEDS + new + replies) as i64
    );
    for m in &batch {
        assert_eq!(desk.copies(&m.id), 1, "{} stored once", m.id);
        assert_eq!(
            desk.stored_raw(&m.id).as_deref(),
            Some(&m.raw[..]),
            "{} stored byte-exact",
            m.id
        );
    }
    for (t, &n) in replies_to.iter().enumerate().skip(1) {
        let on_ticket: i64 = desk.db().count(
            "SELECT count(*) FROM messages WHERE ticket_id = ?1",
            &[P::I(t as i64)],
        );
        assert_eq!(on_ticket, 1 + n, "messages on seed ticket #{t}");
    }
    // Every new ticket holds exactly its one message: no reply opened one.
    assert_eq!(
        desk.count(
            "SELECT count(*) FROM tickets t WHERE id > 20 AND \
             (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id) != 1"
        ),
        0
    );
    // Mail: autoreply + admin notice per new ticket, a notice per reply;
    // each sent exactly once.
    let mails = 2 * tickets + replies as i64;
    assert_eq!(desk.count("SELECT count(*) FROM outbox"), mails);
    assert_eq!(
        desk.count("SELECT count(*) FROM outbox WHERE state = 'sent'"),
        mails
    );
    assert_eq!(eml_files(&desk.path().join("outbox")).len() as i64, mails);
    desk.check_ok();

    // The MTA redelivers everything, each message twice and at once (a
    // reply sent to both submit@ and ticket-N@ arrives twice).
    let before = snapshot(&desk);
    let twice: Vec<Msg> = batch.iter().flat_map(|m| [m.clone(), m.clone()]).collect();
    deliver_concurrently(&desk, &twice, 4);
    assert_eq!(snapshot(&desk), before, "redelivery changed something");
    desk.check_ok();
}

/// A sendmail(1) stand-in: reads the mail, takes a moment (so that a kill
/// lands mid-send), then files it under `sent/` atomically.
fn fake_sendmail(desk: &Desk) {
    let sent = desk.path().join("sent");
    std::fs::create_dir(&sent).unwrap();
    let script = desk.path().join("fake-sendmail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nt=$(mktemp '{}/part.XXXXXX') || exit 75\ncat > \"$t\"\nsleep 0.02\nmv \"$t\" \"$t.eml\"\n",
            sent.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// How many times each Message-ID was handed to the fake sendmail.
fn sent_counts(desk: &Desk) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for path in eml_files(&desk.path().join("sent")) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for line in text.lines() {
            if line.is_empty() {
                break;
            }
            if let Some(id) = line.strip_prefix("Message-ID: ") {
                let id = id.trim().trim_matches(['<', '>']).to_string();
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Kills the process group of `child` (deliver and its sendmail), as an MTA
/// does when a pipe command times out.
fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) on a process group we created.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.wait();
}

#[test]
fn sigkill_at_random_points_leaves_a_checked_database_and_redelivery_stores_once() {
    let desk = desk(
        "",
        "transport = \"sendmail\"\nsendmail = \"{dir}/fake-sendmail\"",
    );
    fake_sendmail(&desk);

    // Ticket #1 exists before the chaos, so replies have somewhere to go.
    let first = new_ticket("seed1", 0);
    desk.deliver_ok(&first);
    // How long a whole delivery (with its sends) takes on this machine, so
    // that the kills spread over its lifetime on a fast or a slow machine.
    // A measurement to aim with, not an assertion about speed.
    let span = (0..3)
        .map(|n| {
            let out = desk.deliver_msg(&new_ticket(&format!("aim{n}"), 300_000));
            out.assert_code(0, "an uninterrupted delivery");
            out.took
        })
        .max()
        .unwrap_or_default();
    let span_ms = (span.as_millis() as u64 * 5 / 4).max(10);

    let mut rng = Rng(0x05ee_d0fc_4a05);
    let mut msgs = Vec::new();
    let mut outcomes: HashMap<&'static str, usize> = HashMap::new();
    for n in 0..40 {
        let m = if n % 4 == 3 {
            reply(n, 1, n)
        } else {
            new_ticket(&format!("k{n}"), if n % 3 == 0 { 300_000 } else { 0 })
        };
        let mut cmd = desk.command();
        cmd.args(["deliver", "--recipient", &m.rcpt])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd.spawn().expect("spawn deliver");
        let mut stdin = child.stdin.take().unwrap();
        let mid_read = rng.below(4) == 0;
        let delay = Duration::from_millis(rng.below(if mid_read { 10 } else { span_ms }));
        if mid_read {
            // Half the message, then the kill while deliver waits for more.
            let _ = stdin.write_all(&m.raw[..m.raw.len() / 2]);
            std::thread::sleep(delay);
            kill_group(&mut child);
            drop(stdin);
            *outcomes.entry("killed mid-read").or_default() += 1;
        } else {
            let raw = m.raw.clone();
            let writer = std::thread::spawn(move || {
                let _ = stdin.write_all(&raw);
            });
            std::thread::sleep(delay);
            let finished = child.try_wait().ok().flatten();
            kill_group(&mut child);
            let _ = writer.join();
            if let Some(status) = finished {
                // It ended before the kill: a 0 means stored, now.
                assert_eq!(status.code(), Some(0), "{}: deliver failed", m.id);
                assert_eq!(desk.copies(&m.id), 1, "{}: exit 0, not stored", m.id);
            }
            let finished = finished.is_some();
            *outcomes
                .entry(if finished { "finished first" } else { "killed" })
                .or_default() += 1;
        }
        msgs.push(m);
    }
    eprintln!("kills over a {span:?} delivery: {outcomes:?}");

    desk.check_ok();
    // The MTA retries every one of them.
    for m in &msgs {
        desk.deliver_ok(m);
    }
    desk.check_ok();
    for m in std::iter::once(&first).chain(&msgs) {
        assert_eq!(desk.copies(&m.id), 1, "{} stored exactly once", m.id);
        assert_eq!(desk.stored_raw(&m.id).as_deref(), Some(&m.raw[..]));
    }
    let new_tickets = msgs.iter().filter(|m| m.id.starts_with('k')).count() as i64;
    assert_eq!(desk.count("SELECT count(*) FROM tickets"), 4 + new_tickets);

    // Mail recorded as sent really went out; what a kill interrupted is
    // still queued, and `flush --force` (ignoring the 60 s lease) sends it.
    let rows = |state: &str| -> Vec<String> {
        desk.db().texts(
            "SELECT message_id FROM outbox WHERE state = ?1",
            &[P::T(state)],
        )
    };
    let before = sent_counts(&desk);
    let sent_before = rows("sent");
    for id in &sent_before {
        assert!(
            before.contains_key(id),
            "mail {id} recorded as sent, never sent"
        );
    }
    let queued = rows("queued");
    eprintln!(
        "outbox after the kills: {} sent, {} still queued",
        sent_before.len(),
        queued.len()
    );
    desk.run_bounded(&["flush", "--force"], b"")
        .assert_code(0, "flush --force");
    assert!(rows("queued").is_empty(), "flush left mail queued");
    let after = sent_counts(&desk);
    for id in &sent_before {
        assert_eq!(after.get(id), before.get(id), "mail {id} was sent again");
    }
    for id in &queued {
        assert!(after.contains_key(id), "queued mail {id} not sent by flush");
    }
    // The one window SMTP leaves open: sendmail took the mail, and the kill
    // came before it was recorded as sent. Such a mail goes out twice
    // (at-least-once); count them, for the record.
    let twice = queued.iter().filter(|id| before.contains_key(*id)).count();
    eprintln!("mail sent before the kill and again by flush: {twice}");
    // A second flush finds nothing to send.
    desk.run_bounded(&["flush", "--force"], b"")
        .assert_code(0, "second flush");
    assert_eq!(sent_counts(&desk), after, "a second flush sent mail again");
    desk.check_ok();
}

#[test]
fn a_kill_while_sending_the_second_mail_does_not_send_the_first_again() {
    // A new ticket causes two mails (autoreply, admin notice). The fake
    // sendmail takes the first, then hangs on the second until killed.
    let desk = desk(
        "",
        "transport = \"sendmail\"\nsendmail = \"{dir}/fake-sendmail\"",
    );
    let sent = desk.path().join("sent");
    std::fs::create_dir(&sent).unwrap();
    let script = desk.path().join("fake-sendmail");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nt=$(mktemp '{sent}/part.XXXXXX') || exit 75\ncat > \"$t\"\n\
             if [ -e '{dir}/hang' ] && ls '{sent}'/*.eml >/dev/null 2>&1; then\n\
             touch '{dir}/hanging'; sleep 60\nfi\nmv \"$t\" \"$t.eml\"\n",
            sent = sent.display(),
            dir = desk.path().display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(desk.path().join("hang"), "").unwrap();

    let m = new_ticket("two-mails", 0);
    let mut cmd = desk.command();
    cmd.args(["deliver", "--recipient", &m.rcpt])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn().expect("spawn deliver");
    child.stdin.take().unwrap().write_all(&m.raw).unwrap();
    let start = Instant::now();
    while !desk.path().join("hanging").exists() {
        assert!(start.elapsed() < HANG, "the second send never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    kill_group(&mut child);
    std::fs::remove_file(desk.path().join("hang")).unwrap();

    assert_eq!(desk.copies(&m.id), 1, "stored before sending");
    let first = sent_counts(&desk);
    assert_eq!(first.len(), 1, "one mail went out before the kill");
    let states: Vec<(String, String)> = desk
        .db()
        .rows("SELECT message_id, state FROM outbox ORDER BY id", &[])
        .iter()
        .map(|r| (r[0].text(), r[1].text()))
        .collect();
    assert_eq!(states.len(), 2);
    let (first_id, first_state) = &states[0];
    assert!(
        first.contains_key(first_id),
        "the first mail went out first"
    );
    assert_eq!(
        first_state, "sent",
        "a mail that went out is recorded as sent at once"
    );
    assert_eq!(states[1].1, "queued");

    desk.run_bounded(&["flush", "--force"], b"")
        .assert_code(0, "flush --force");
    let after = sent_counts(&desk);
    assert_eq!(after.len(), 2, "flush sent the interrupted mail");
    assert!(
        after.values().all(|&n| n == 1),
        "a mail went out twice: {after:?}"
    );
}

/// The message a blocked delivery tries to store.
fn blocked_message() -> Msg {
    new_ticket("blocked", 200_000)
}

/// `out` is a 75 with one `pipedesk: …` line, within the busy wait plus a
/// little.
fn assert_tempfail(out: &Ended, busy: u64, what: &str) {
    eprintln!(
        "{what}: exit {:?} after {:?}: {}",
        out.code,
        out.took,
        out.stderr.trim()
    );
    out.assert_code(75, what);
    assert!(
        out.stderr.starts_with("pipedesk: ") && out.stderr.trim_end().lines().count() == 1,
        "{what}: one `pipedesk:` line, got {:?}",
        out.stderr
    );
    assert!(
        out.took < Duration::from_secs(busy + 10),
        "{what}: took {:?}, busy_wait_secs is {busy}",
        out.took
    );
}

/// A lock is waited for `busy_wait_secs`, no less (give up too early and
/// a busy moment bounces through retries) and not much more (the MTA's own
/// timeout may be close): "plus a little" is 3 s here, for a slow machine.
fn assert_waited_busy_wait(out: &Ended, busy: u64) {
    let busy = Duration::from_secs(busy);
    assert!(
        out.took >= busy.mul_f32(0.9) && out.took < busy + Duration::from_secs(3),
        "waited {:?} for a lock, busy_wait_secs is {busy:?}",
        out.took
    );
}

#[test]
fn a_locked_database_gives_75_after_the_busy_wait_and_stores_nothing() {
    // One second, well below SQLite's (and rusqlite's) own default of five:
    // the wait must be the configured one.
    let desk = desk("busy_wait_secs = 1", "transport = \"none\"");
    desk.deliver_ok(&new_ticket("first", 0));
    let m = blocked_message();

    // Another writer holds the write lock for longer than busy_wait_secs:
    // SQLite's one write lock; on PostgreSQL, another host's lock on the
    // table a new ticket goes into.
    let holder = desk.db();
    holder.batch(if desk.on_postgres() {
        "BEGIN; LOCK TABLE tickets IN EXCLUSIVE MODE"
    } else {
        "BEGIN IMMEDIATE"
    });
    let out = desk.deliver_msg(&m);
    assert_tempfail(&out, 1, "deliver against a held write lock");
    assert_waited_busy_wait(&out, 1);
    holder.batch("ROLLBACK");
    assert_eq!(desk.copies(&m.id), 0, "a 75 stored the message");

    // A lock that keeps even readers out.
    holder.batch(if desk.on_postgres() {
        "BEGIN; LOCK TABLE messages IN ACCESS EXCLUSIVE MODE"
    } else {
        "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE tickets SET priority = priority;"
    });
    let out = desk.deliver_msg(&m);
    assert_tempfail(&out, 1, "deliver against an exclusive lock");
    assert_waited_busy_wait(&out, 1);
    holder.batch("COMMIT");
    drop(holder);
    assert_eq!(desk.copies(&m.id), 0, "a 75 stored the message");

    // Lock gone: the MTA's retry stores it, once.
    desk.deliver_ok(&m);
    desk.deliver_ok(&m);
    assert_eq!(desk.copies(&m.id), 1);
    desk.check_ok();
}

/// After a storage failure is mended, the MTA's retry stores `m` exactly
/// once, in the same database as the ticket delivered before the failure.
fn retry_stores_once_in_the_same_database(desk: &Desk, m: &Msg) {
    desk.deliver_ok(m);
    assert_eq!(desk.copies(&m.id), 1);
    assert_eq!(
        desk.count("SELECT count(*) FROM tickets"),
        2,
        "the same database"
    );
    desk.check_ok();
}

/// A tmpfs mounted on the desk's `db/` folder, unmounted on drop. Needs
/// root (CAP_SYS_ADMIN); None where mounting is not allowed.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_path_buf()))
    }

    fn remount(&self, mode: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {mode} {}", self.0.display());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_read_only_database_gives_75_and_stores_nothing() {
    let desk = desk("busy_wait_secs = 2", "transport = \"none\"");
    let db_dir = desk.path().join("db");
    let m = blocked_message();
    if desk.on_postgres() {
        // PostgreSQL's read-only: a database (a standby, or one an admin
        // closed for writes) where every transaction is read-only.
        desk.deliver_ok(&new_ticket("first", 0));
        let db = desk.db();
        let name = db.texts("SELECT current_database()", &[])[0].clone();
        db.batch(&format!(
            "ALTER DATABASE {name} SET default_transaction_read_only = on"
        ));
        let out = desk.deliver_msg(&m);
        db.batch(&format!(
            "ALTER DATABASE {name} RESET default_transaction_read_only"
        ));
        assert_tempfail(&out, 2, "deliver to a read-only database");
        assert_eq!(desk.copies(&m.id), 0);
        retry_stores_once_in_the_same_database(&desk, &m);
        return;
    }
    // Kept mounted to the end: the retry must go to the same database.
    let mut _mount = None;
    if is_root() {
        // chmod does not stop root: a read-only file system does.
        let Some(mount) = Mount::tmpfs(&db_dir, "16m") else {
            eprintln!("SKIP read-only: running as root without permission to mount");
            return;
        };
        desk.deliver_ok(&new_ticket("first", 0));
        mount.remount("ro");
        let out = desk.deliver_msg(&m);
        mount.remount("rw");
        _mount = Some(mount);
        assert_tempfail(&out, 2, "deliver to a read-only file system");
        assert_eq!(desk.copies(&m.id), 0);
    } else {
        use std::os::unix::fs::PermissionsExt;
        desk.deliver_ok(&new_ticket("first", 0));
        let set = |p: &Path, mode| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        for entry in std::fs::read_dir(&db_dir).unwrap() {
            set(&entry.unwrap().path(), 0o444);
        }
        set(&db_dir, 0o555);
        let out = desk.deliver_msg(&m);
        set(&db_dir, 0o755);
        for entry in std::fs::read_dir(&db_dir).unwrap() {
            set(&entry.unwrap().path(), 0o644);
        }
        assert_tempfail(&out, 2, "deliver to a read-only database");
        assert_eq!(desk.copies(&m.id), 0);
    }
    retry_stores_once_in_the_same_database(&desk, &m);
}

#[test]
fn a_full_disk_gives_75_and_stores_nothing() {
    let desk = desk("busy_wait_secs = 2", "transport = \"none\"");
    if desk.on_postgres() {
        eprintln!(
            "SQLite only: a full disk under the database file (PostgreSQL's disk is the server's)"
        );
        return;
    }
    let db_dir = desk.path().join("db");
    let Some(_mount) = is_root().then(|| Mount::tmpfs(&db_dir, "2m")).flatten() else {
        eprintln!(
            "SKIP full disk on a small tmpfs: needs root with permission to mount \
             (the file-size-limit test below still runs)"
        );
        return;
    };
    desk.deliver_ok(&new_ticket("first", 0));
    // Fill what is left of the 2 MB.
    let filler = db_dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    while f.write_all(&chunk[..512]).is_ok() {}
    drop(f);

    let m = blocked_message();
    let out = desk.deliver_msg(&m);
    std::fs::remove_file(&filler).unwrap();
    assert_tempfail(&out, 2, "deliver to a full disk");
    assert_eq!(desk.copies(&m.id), 0);
    desk.check_ok();
    retry_stores_once_in_the_same_database(&desk, &m);
}

#[test]
fn a_file_size_limit_gives_75_not_a_signal_and_stores_nothing() {
    // RLIMIT_FSIZE raises SIGXFSZ, which would kill deliver mid-commit;
    // deliver ignores it, so the write fails like a full disk: 75.
    let desk = desk("busy_wait_secs = 2", "transport = \"none\"");
    if desk.on_postgres() {
        eprintln!("SQLite only: deliver writes no file of its own on PostgreSQL");
        return;
    }
    desk.deliver_ok(&new_ticket("first", 0));
    let m = blocked_message();
    let out = desk.run_bounded_after(
        "ulimit -f 100",
        &["deliver", "--recipient", &m.rcpt],
        &m.raw,
    );
    assert_tempfail(&out, 2, "deliver under ulimit -f 100 (50 KB)");
    assert_eq!(desk.copies(&m.id), 0);
    desk.check_ok();
    retry_stores_once_in_the_same_database(&desk, &m);
}

#[test]
fn an_unopenable_database_path_gives_75() {
    // The database folder is missing (a typo, an unmounted volume).
    let desk = desk("busy_wait_secs = 2", "transport = \"none\"");
    if desk.on_postgres() {
        // PostgreSQL's: a server nobody listens for (a wrong port, a host
        // that is down), tried again for busy_wait_secs, then 75.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let url = format!("postgres://postgres@127.0.0.1:{port}/nowhere");
        configure(
            &desk,
            "busy_wait_secs = 2",
            "transport = \"none\"",
            Some(&url),
        );
        let out = desk.deliver_msg(&blocked_message());
        assert_tempfail(&out, 2, "deliver with no server listening");
        assert_waited_busy_wait(&out, 2);
        return;
    }
    std::fs::remove_dir(desk.path().join("db")).unwrap();
    let m = blocked_message();
    let out = desk.deliver_msg(&m);
    assert_tempfail(&out, 2, "deliver with no database folder");
}
