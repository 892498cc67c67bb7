//! `pipedesk migrate --to URL` (SPEC §7) through the real binary: a desk
//! copied SQLite → PostgreSQL → SQLite reads the same everywhere (`show
//! --json`, `export`, `list --json`, versions and times included) and
//! passes `check`; a second run adds nothing; a target holding another
//! desk is refused with nothing changed; a copy killed halfway completes
//! when run again; numbering goes on after the copied numbers.

mod common;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::pg;
use common::store::{TestStore, P};
use common::*;
use pipedesk::address::Address;
use pipedesk::model::{Credential, CredentialKind};
use pipedesk::store::{Open, Store};

/// A desk with a bit of everything: tickets new, open, stalled, resolved
/// and merged, replies, comments, watchers, a bounce kept without a
/// ticket, queued and sent mail, a staff password and a token, a sender
/// marked as spam.
fn busy_desk(desk: &Desk) {
    let t1 = desk.open_ticket(&john("Printer"));
    let t2 = desk
        .open_ticket(&mail("Maria <maria@example.net>", "Wi-Fi").header("Cc", "kim@example.org"));
    let t3 = desk.open_ticket(&john("Scanner"));
    let t4 = desk.open_ticket(&mail("lee@example.com", "VPN"));
    desk.send(
        &ticket_addr(t1, ""),
        &john("Re: Printer").body("Still broken.\n"),
    )
    .ok();
    let staff = staff_mail(ADMIN, "Re: [myisp #2] Wi-Fi").body("Try this.\n");
    desk.send(&ticket_addr(t2, ""), &staff).ok();
    desk.run(&["comment", &t1.to_string()], b"Looks like the toner.\n")
        .ok();
    desk.run(&["close", &t3.to_string()], b"").ok();
    desk.run(&["stall", &t2.to_string()], b"").ok();
    desk.run(&["take", &t4.to_string(), "--as", MEMBER], b"")
        .ok();
    desk.run(&["watch", &t1.to_string(), "pat@example.org"], b"")
        .ok();
    desk.run(&["merge", &t4.to_string(), &t1.to_string()], b"")
        .ok();
    // A ticket's own fields (issue 17): a due date and a priority.
    desk.run(&["due", &t1.to_string(), "2026-12-24T17:00"], b"")
        .ok();
    desk.run(&["priority", &t2.to_string(), "urgent"], b"").ok();
    let bounce = mail("MAILER-DAEMON@mx.example.net", "Undelivered Mail");
    desk.deliver("nobody@help.example.org", "", &bounce.bytes());
    // Accounts, as `pipedesk passwd` and `token` will keep them.
    let mut store = open(desk);
    let now = chrono::Utc::now();
    store
        .write(|tx| {
            tx.set_password(
                &Address::new(ADMIN),
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                now,
            )?;
            // A sender marked as spam, as `pipedesk spam` keeps one.
            tx.mark_spam_sender(
                &pipedesk::address::Address::new("spammer@example.net"),
                t3,
                now,
            )?;
            tx.add_credential(&Credential {
                kind: CredentialKind::Token,
                secret_hash: "0123abcd".into(),
                address: ADMIN.into(),
                created: now,
                expires: None,
            })
        })
        .unwrap();
}

/// The desk's store, opened in this process.
fn open(desk: &Desk) -> Box<dyn Store> {
    let database = pipedesk::config::Database::parse(&match desk.store.url() {
        Some(url) => url.to_string(),
        None => desk.path().join(desk.store.setting()).display().to_string(),
    });
    pipedesk::store::open_database(&database, Duration::from_secs(10), Open::Existing)
        .expect("open the store")
}

/// Everything a person reads of a desk: every ticket's `show --json` and
/// `export`, `list --json`, the bounces, the accounts.
fn readout(desk: &Desk) -> Vec<String> {
    let list = desk.list(&[]);
    let mut out = vec![list.to_string()];
    let max = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_i64())
        .max()
        .unwrap_or(0);
    for n in 1..=max {
        let n = n.to_string();
        out.push(desk.run(&["show", &n, "--json"], b"").ok().stdout);
        out.push(desk.run(&["export", &n], b"").ok().stdout);
    }
    out.push(desk.run(&["list", "--bounces", "--json"], b"").ok().stdout);
    let mut store = open(desk);
    let accounts = store
        .read(|tx| {
            Ok(format!(
                "{:?} {:?} {:?} spam sender: {:?}",
                tx.password(&Address::new(ADMIN))?,
                tx.credential(CredentialKind::Token, "0123abcd", chrono::Utc::now())?,
                tx.desk_id()?,
                tx.is_spam_sender(&pipedesk::address::Address::new("spammer@example.net"))?,
            ))
        })
        .unwrap();
    out.push(accounts);
    out
}

fn migrate(desk: &Desk, to: &str) -> Run {
    desk.run(&["migrate", "--to", to], b"")
}

/// Asserts two readouts are the same, with a diff of the first difference.
#[track_caller]
fn assert_same_desk(a: &[String], b: &[String]) {
    assert_eq!(a.len(), b.len(), "ticket counts differ");
    for (x, y) in a.iter().zip(b) {
        assert_same(x, y);
    }
}

#[test]
fn a_round_trip_sqlite_postgres_sqlite_reads_the_same_and_a_second_run_adds_nothing() {
    let Some(cluster) = pg::shared_or_skip("migrate round trip") else {
        return;
    };
    let sqlite = Desk::on(TestStore::sqlite(PathBuf::from("pipedesk.db")), "");
    busy_desk(&sqlite);
    let before = readout(&sqlite);

    let pg = Desk::on(TestStore::postgres(cluster.database().unwrap()), "");
    let url = pg.store.url().unwrap().to_string();
    let run = migrate(&sqlite, &url).ok();
    assert!(run.stdout.contains("written"), "{run}");
    pg.run(&["check"], b"").ok();
    assert_same_desk(&before, &readout(&pg));

    // Run again: nothing to add.
    let again = migrate(&sqlite, &url).ok();
    assert!(again.stdout.contains("nothing to add"), "{again}");
    assert_same_desk(&before, &readout(&pg));

    // And back into a new SQLite file.
    let back = Desk::on(TestStore::sqlite(PathBuf::from("back.db")), "");
    let run = migrate(&pg, &back.path().join("back.db").display().to_string()).ok();
    assert!(run.stdout.contains("written"), "{run}");
    back.run(&["check"], b"").ok();
    assert_same_desk(&before, &readout(&back));

    // Numbering goes on after the copied numbers, on both copies; the
    // feed too.
    for desk in [&pg, &back] {
        let n = desk.open_ticket(&john("After the move"));
        assert_eq!(n, 5, "the next ticket number");
        let mut store = open(desk);
        let (last, _) = store.read(|tx| tx.change_window()).unwrap();
        let (src_last, _) = open(&sqlite).read(|tx| tx.change_window()).unwrap();
        assert!(last > src_last, "the feed goes on: {last} after {src_last}");
        desk.run(&["check"], b"").ok();
    }
}

#[test]
fn a_second_run_brings_changed_tickets_up_to_date() {
    let Some(cluster) = pg::shared_or_skip("migrate refresh") else {
        return;
    };
    let sqlite = Desk::on(TestStore::sqlite(PathBuf::from("pipedesk.db")), "");
    busy_desk(&sqlite);
    let pg = Desk::on(TestStore::postgres(cluster.database().unwrap()), "");
    let url = pg.store.url().unwrap().to_string();
    migrate(&sqlite, &url).ok();
    // Meanwhile, on the old store: a status change, a new reply, a new
    // watcher removed again, a merge.
    sqlite.run(&["reopen", "3"], b"").ok();
    sqlite
        .send(
            &ticket_addr(2, ""),
            &mail("Maria <maria@example.net>", "Re: Wi-Fi"),
        )
        .ok();
    sqlite.run(&["unwatch", "2", "kim@example.org"], b"").ok();
    sqlite.run(&["merge", "3", "2"], b"").ok();
    // And a sender no longer marked as spam (`spam --undo`).
    open(&sqlite)
        .write(|tx| tx.forget_spam_sender(&pipedesk::address::Address::new("spammer@example.net")))
        .unwrap();
    assert!(open(&pg)
        .read(|tx| tx.is_spam_sender(&pipedesk::address::Address::new("spammer@example.net")))
        .unwrap());
    let run = migrate(&sqlite, &url).ok();
    assert!(run.stdout.contains("brought up to date"), "{run}");
    assert_same_desk(&readout(&sqlite), &readout(&pg));
    assert!(!open(&pg)
        .read(|tx| tx.is_spam_sender(&pipedesk::address::Address::new("spammer@example.net")))
        .unwrap());
    pg.run(&["check"], b"").ok();
}

#[test]
fn a_target_holding_another_desk_is_refused_and_left_as_it_was() {
    let Some(cluster) = pg::shared_or_skip("migrate refusal") else {
        return;
    };
    let sqlite = Desk::on(TestStore::sqlite(PathBuf::from("pipedesk.db")), "");
    busy_desk(&sqlite);
    let other = Desk::on(TestStore::postgres(cluster.database().unwrap()), "");
    other.open_ticket(&mail("someone@example.org", "Another desk's ticket"));
    let before = readout(&other);
    let run = migrate(&sqlite, other.store.url().unwrap()).code(1);
    assert!(run.stderr.contains("another desk"), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert_same_desk(&before, &readout(&other));
    // The other way round too: a SQLite file of another desk.
    let file = Desk::on(TestStore::sqlite(PathBuf::from("pipedesk.db")), "");
    file.open_ticket(&john("Mine"));
    let before = readout(&file);
    migrate(&other, &file.db_path().display().to_string()).code(1);
    assert_same_desk(&before, &readout(&file));
    // And the desk's own database is no target.
    migrate(&sqlite, &sqlite.db_path().display().to_string()).code(1);
}

/// An mbox of `n` messages, each with a `size`-byte attachment.
fn big_mbox(path: &Path, n: usize, size: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    let blob = "QUJD".repeat(size / 4);
    let lines: Vec<&str> = blob
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let blob = lines.join("\n");
    for i in 0..n {
        write!(
            f,
            "From sender{i}@example.com Mon Nov 16 10:00:00 2026\n\
             From: sender{i}@example.com\nTo: {SUBMIT}\nSubject: Big {i}\n\
             Message-ID: <big{i}@example.com>\nDate: Mon, 16 Nov 2026 10:00:00 +0000\n\
             MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n\
             --b\nContent-Type: text/plain\n\nSee the attachment ({i}).\n\
             --b\nContent-Type: application/octet-stream; name=x.bin\n\
             Content-Transfer-Encoding: base64\n\n{blob}\n--b--\n\n"
        )
        .unwrap();
    }
}

#[test]
fn a_copy_killed_halfway_completes_when_run_again() {
    let Some(cluster) = pg::shared_or_skip("migrate interrupted") else {
        return;
    };
    let sqlite = Desk::on(TestStore::sqlite(PathBuf::from("pipedesk.db")), "");
    // 120 messages of 1 MB: four batches, so that a kill lands between
    // two commits.
    let mbox = sqlite.path().join("big.mbox");
    big_mbox(&mbox, 120, 1 << 20);
    sqlite
        .run(&["import", &mbox.display().to_string()], b"")
        .ok();
    let pg = Desk::on(TestStore::postgres(cluster.database().unwrap()), "");
    let url = pg.store.url().unwrap().to_string();

    let mut child = sqlite.command();
    child
        .args(["migrate", "--to", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = child.spawn().unwrap();
    let db = pg.db();
    let start = Instant::now();
    let copied = loop {
        let n = if pg.has_database() {
            db.count("SELECT count(*) FROM messages", &[])
        } else {
            0
        };
        if n > 0 || child.try_wait().unwrap().is_some() {
            break n;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    };
    // SAFETY: kill(2) on the process group we created.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
    }
    let _ = child.wait();
    let after_kill = db.count("SELECT count(*) FROM messages", &[]);
    eprintln!("killed after {copied} messages ({after_kill} committed) of 120");
    assert!(after_kill < 120, "the kill came after the copy was done");

    let run = migrate(&sqlite, &url).ok();
    assert!(run.stdout.contains("written"), "{run}");
    pg.run(&["check"], b"").ok();
    assert_eq!(db.count("SELECT count(*) FROM messages", &[]), 120);
    for i in [0usize, 59, 119] {
        let id = format!("big{i}@example.com");
        let a = sqlite.db().rows(
            "SELECT raw FROM messages WHERE message_id = ?1",
            &[P::T(&id)],
        );
        let b = db.rows(
            "SELECT raw FROM messages WHERE message_id = ?1",
            &[P::T(&id)],
        );
        assert_eq!(a, b, "{id} byte-exact");
    }
    assert_same_desk(&readout(&sqlite), &readout(&pg));
    let again = migrate(&sqlite, &url).ok();
    assert!(again.stdout.contains("nothing to add"), "{again}");
}
