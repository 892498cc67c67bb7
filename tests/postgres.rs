//! What PostgreSQL adds to the contract (SPEC §7), proven on a throwaway
//! cluster (`tests/common/pg.rs`): two mail hosts on one database store
//! each message once, number each ticket once and send each mail once; a
//! server that stops mid-run gives 75 while it is down and loses nothing;
//! the change feed is in commit order, and every commit is announced to
//! listeners. (The behaviour suites run on PostgreSQL too: `pg_*.rs`.)

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::pg::{self, Cluster};
use common::store::{TestStore, P};
use common::*;
use pipedesk::store::postgres::{listen, PgStore};
use pipedesk::store::{Open, Store};

/// A new database of the shared cluster, or None (SKIP) without one.
fn database(test: &str) -> Option<TestStore> {
    let cluster = pg::shared_or_skip(test)?;
    Some(TestStore::postgres(
        cluster.database().expect("a test database"),
    ))
}

/// One message: a new ticket from a sender of its own, or a reply to one
/// of the `seeds` tickets by its requestor.
fn message(n: usize, seeds: usize) -> (String, Vec<u8>) {
    if n % 3 == 2 {
        let t = 1 + n % seeds;
        let raw = format!(
            "From: seed{t}@example.com\nTo: ticket-{t}@help.example.org\nSubject: Re: Problem\n\
             Message-ID: <m{n}@example.com>\n\nMore ({n}).\n"
        );
        (ticket_addr(t as i64, ""), raw.into_bytes())
    } else {
        let raw = format!(
            "From: User {n} <u{n}@example.com>\nTo: {SUBMIT}\nSubject: Problem {n}\n\
             Message-ID: <m{n}@example.com>\n\nSomething is broken ({n}).\n"
        );
        (SUBMIT.to_string(), raw.into_bytes())
    }
}

/// `deliver` as an MTA runs it, retrying on 75 (at most `tries` times);
/// the exit codes seen.
fn deliver_as_mta(desk: &Desk, rcpt: &str, raw: &[u8], tries: usize) -> Vec<i32> {
    let mut codes = Vec::new();
    for _ in 0..tries {
        let run = desk.run(&["deliver", "--recipient", rcpt], raw);
        codes.push(run.code);
        if run.code != 75 {
            assert_eq!(run.code, 0, "{run}");
            break;
        }
    }
    codes
}

/// The Message-IDs of the mail in an outbox folder, each with its count.
fn sent_ids(dirs: &[&Path]) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "eml") {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            let id = text
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or_else(|| panic!("{} has no Message-ID", path.display()))
                .trim()
                .to_string();
            *ids.entry(id).or_default() += 1;
        }
    }
    ids
}

#[test]
fn two_hosts_deliver_the_same_300_messages_at_once_and_store_send_and_number_each_once() {
    let Some(store) = database("two hosts") else {
        return;
    };
    // Two mail hosts: their own configs and outbox folders, one database.
    let a = Desk::on(store, "");
    let b = Desk::on(TestStore::same_as(&a.store), "");
    two_hosts_at_once(&a, &b, "two hosts");
}

/// Many short-lived deliverers are what a connection pooler is for (the
/// README's "Many deliveries a second"): a host that reaches the database
/// through PgBouncer, as an admin would set it up, keeps every guarantee
/// beside a host that connects directly.
#[test]
fn a_host_behind_pgbouncer_and_a_direct_one_store_send_and_number_each_once() {
    let Some(store) = database("pgbouncer") else {
        return;
    };
    let bouncer = match pg::shared().and_then(|c| c.bouncer()) {
        Ok(b) => b,
        Err(why) if common::in_ci() => panic!("pgbouncer: could not start (CI=true): {why}"),
        Err(why) => {
            eprintln!("SKIP: pgbouncer: {why}");
            return;
        }
    };
    let name = store
        .url()
        .and_then(|u| u.rsplit('/').next())
        .map(String::from);
    let pooled_url = bouncer.url(&name.expect("a database name"));
    let a = Desk::on(store, "");
    let b = Desk::on(TestStore::same_at(&a.store, pooled_url.clone()), "");
    // `serve` on the pooled host listens through the pooler: its LISTEN
    // keeps one server session, and hears every host's commits.
    let mut listener =
        listen(&pooled_url, Duration::from_secs(10)).expect("LISTEN through PgBouncer");
    two_hosts_at_once(&a, &b, "direct and pooled");
    let heard = listener.wait(Duration::from_secs(10)).unwrap();
    assert!(heard.is_some_and(|seq| seq >= 310), "{heard:?}");
    // The pooled host's commands for people work too.
    let list = b.run(&["list", "--json"], b"").ok();
    assert!(
        list.json().as_array().is_some_and(|t| t.len() > 10),
        "{list}"
    );
}

/// Every message to both hosts, four deliverers each, at the same time:
/// each stored once and byte-exact, each ticket numbered once, each mail
/// sent once by one of them, `check` clean on both.
fn two_hosts_at_once(a: &Desk, b: &Desk, what: &str) {
    const SEEDS: usize = 10;
    for t in 1..=SEEDS {
        let raw = format!(
            "From: seed{t}@example.com\nTo: {SUBMIT}\nSubject: Problem seed{t}\n\
             Message-ID: <seed{t}@example.com>\n\nBroken.\n"
        );
        let sender = format!("seed{t}@example.com");
        let run = a.deliver(SUBMIT, &sender, raw.as_bytes()).ok();
        assert_eq!(run.json()["ticket"], t as i64);
    }
    let batch: Vec<(String, Vec<u8>)> = (0..300).map(|n| message(n, SEEDS)).collect();
    // Every message to both hosts, four deliverers each, at the same time.
    let next = [AtomicUsize::new(0), AtomicUsize::new(0)];
    let retried = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (h, desk) in [a, b].into_iter().enumerate() {
            for _ in 0..4 {
                let (next, batch, retried) = (&next[h], &batch, &retried);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((rcpt, raw)) = batch.get(i) else {
                        break;
                    };
                    let codes = deliver_as_mta(desk, rcpt, raw, 20);
                    assert_eq!(codes.last(), Some(&0), "message {i}: {codes:?}");
                    retried.fetch_add(codes.len() - 1, Ordering::SeqCst);
                });
            }
        }
    });
    eprintln!(
        "{what}: 600 deliveries, {} retried after 75",
        retried.load(Ordering::SeqCst)
    );

    let db = a.db();
    let new = batch.iter().filter(|(r, _)| r == SUBMIT).count() as i64;
    // Every message stored once.
    assert_eq!(db.count("SELECT count(*) FROM messages", &[]), 310);
    for (n, (_, raw)) in batch.iter().enumerate() {
        let id = format!("m{n}@example.com");
        let stored = db.rows(
            "SELECT raw FROM messages WHERE message_id = ?1",
            &[P::T(&id)],
        );
        assert_eq!(stored.len(), 1, "{id} stored once");
        assert_eq!(&stored[0][0].bytes(), raw, "{id} byte-exact");
    }
    // Every ticket number once: one ticket per new-ticket message, each
    // holding exactly its own message (no gap-filling, no second ticket).
    assert_eq!(
        db.count("SELECT count(*) FROM tickets", &[]),
        SEEDS as i64 + new
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM tickets t WHERE t.id > 10 AND \
             (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id) != 1",
            &[]
        ),
        0
    );
    let numbers: BTreeSet<i64> = db
        .rows("SELECT id FROM tickets", &[])
        .iter()
        .map(|r| r[0].int())
        .collect();
    assert_eq!(numbers.len() as i64, SEEDS as i64 + new);
    // Every mail sent once, by whichever host: count the files of both.
    let mails = db.count("SELECT count(*) FROM outbox", &[]);
    assert_eq!(mails, 2 * (SEEDS as i64 + new) + (300 - new));
    assert_eq!(
        db.count("SELECT count(*) FROM outbox WHERE state = 'sent'", &[]),
        mails
    );
    let sent = sent_ids(&[&a.path().join("outbox"), &b.path().join("outbox")]);
    assert_eq!(
        sent.values().sum::<usize>() as i64,
        mails,
        "files in both outboxes"
    );
    assert!(sent.values().all(|&n| n == 1), "a mail went out twice");
    a.run(&["check"], b"").ok();
    b.run(&["check"], b"").ok();
}

#[test]
fn a_server_stopped_mid_run_gives_75_while_down_and_every_message_is_stored_once_after() {
    // A cluster of its own: stopping the shared one would fail other tests.
    let cluster = match Cluster::start() {
        Ok(c) => c,
        Err(why) if common::in_ci() => panic!("PostgreSQL could not start (CI=true): {why}"),
        Err(why) => {
            eprintln!("SKIP: server stopped mid-run: {why}");
            return;
        }
    };
    let desk = Desk::on(
        TestStore::postgres(cluster.database().expect("a database")),
        "[policy]\nbusy_wait_secs = 2\n",
    );
    desk.open_ticket(&mail("seed1@example.com", "Problem seed1"));
    let batch: Vec<(String, Vec<u8>)> = (0..120).map(|n| message(n, 1)).collect();
    let stopped = AtomicBool::new(false);
    let codes = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((rcpt, raw)) = batch.get(i) else {
                    break;
                };
                let start = Instant::now();
                let run = desk.run(&["deliver", "--recipient", rcpt], raw);
                let took = start.elapsed();
                assert!(
                    run.code == 0 || run.code == 75,
                    "only stored or try-again: {run}"
                );
                if run.code == 75 {
                    assert!(run.stderr.starts_with("pipedesk: "), "{run}");
                    // busy_wait_secs is 2: tried for that long, not forever.
                    assert!(took < Duration::from_secs(8), "75 after {took:?}");
                }
                codes.lock().unwrap().push((i, run.code));
            });
        }
        // Mid-run: stop the server while the deliverers go on, then bring
        // it back.
        let start = Instant::now();
        while next.load(Ordering::SeqCst) < 30 {
            assert!(start.elapsed() < Duration::from_secs(120), "no progress");
            std::thread::sleep(Duration::from_millis(10));
        }
        cluster.stop();
        stopped.store(true, Ordering::SeqCst);
        while next.load(Ordering::SeqCst) < 60 {
            assert!(start.elapsed() < Duration::from_secs(120), "no progress");
            std::thread::sleep(Duration::from_millis(10));
        }
        cluster.restart().expect("PostgreSQL starts again");
    });
    assert!(stopped.load(Ordering::SeqCst));
    let codes = codes.into_inner().unwrap();
    let failed: Vec<usize> = codes
        .iter()
        .filter(|(_, c)| *c == 75)
        .map(|(i, _)| *i)
        .collect();
    eprintln!("server stopped mid-run: {} deliveries got 75", failed.len());
    assert!(!failed.is_empty(), "no delivery saw the server down");
    // The MTA's retry: everything again, after the server is back.
    for (rcpt, raw) in &batch {
        let codes = deliver_as_mta(&desk, rcpt, raw, 5);
        assert_eq!(codes.last(), Some(&0));
    }
    let db = desk.db();
    for n in 0..batch.len() {
        assert_eq!(
            db.count(
                "SELECT count(*) FROM messages WHERE message_id = ?1",
                &[P::T(&format!("m{n}@example.com"))]
            ),
            1,
            "m{n} stored once"
        );
    }
    desk.run(&["check"], b"").ok();
    drop(db);
    drop(desk);
}

#[test]
fn the_change_feed_is_in_commit_order_under_concurrent_writers() {
    let Some(store) = database("feed order") else {
        return;
    };
    let desk = Desk::on(store, "[mail]\ntransport = \"none\"\n");
    desk.open_ticket(&mail("seed1@example.com", "Problem seed1"));
    let url = desk.store.url().expect("a URL").to_string();
    let batch: Vec<(String, Vec<u8>)> = (0..120).map(|n| message(n, 1)).collect();
    let done = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let seen = std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((rcpt, raw)) = batch.get(i) else {
                    break;
                };
                assert_eq!(deliver_as_mta(&desk, rcpt, raw, 20).last(), Some(&0));
            });
        }
        // A board: reads the feed after the last seq it saw, again and
        // again. Commit order means it never finds a seq below one it saw
        // arrive later: each read continues exactly where the last ended.
        let reader = s.spawn(|| {
            let mut store = PgStore::open(&url, Duration::from_secs(30), Open::Existing)
                .expect("open the store");
            let store: &mut dyn Store = &mut store;
            let mut last = 0i64;
            let mut reads = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let changes = store
                    .read(|tx| tx.changes_since(last, pipedesk::store::FEED_WINDOW))
                    .unwrap();
                for c in &changes {
                    assert_eq!(c.seq, last + 1, "a gap in the feed after seq {last}");
                    last = c.seq;
                }
                reads += 1;
                if finished {
                    return (last, reads);
                }
            }
        });
        while next.load(Ordering::SeqCst) < batch.len() + 6 {
            std::thread::sleep(Duration::from_millis(5));
        }
        done.store(true, Ordering::SeqCst);
        reader.join().unwrap()
    });
    // Every delivery changed one ticket once (a new ticket, or the reply's).
    let (last, reads) = seen;
    eprintln!("feed: {last} changes, read {reads} times while written");
    assert_eq!(last, 1 + batch.len() as i64);
}

#[test]
fn every_commit_is_announced_to_listeners_with_its_seq() {
    let Some(store) = database("listen") else {
        return;
    };
    let desk = Desk::on(store, "[mail]\ntransport = \"none\"\n");
    desk.open_ticket(&mail("first@example.com", "First"));
    let url = desk.store.url().expect("a URL").to_string();
    let mut listener = listen(&url, Duration::from_secs(10)).expect("listen");
    // Nothing changed yet: the wait ends empty.
    assert_eq!(listener.wait(Duration::from_millis(50)).unwrap(), None);
    let t = desk.open_ticket(&mail("second@example.com", "Second"));
    let seq = listener
        .wait(Duration::from_secs(10))
        .unwrap()
        .expect("a notification");
    let mut store = PgStore::open(&url, Duration::from_secs(10), Open::Existing).unwrap();
    let store: &mut dyn Store = &mut store;
    let (latest, _) = store.read(|tx| tx.change_window()).unwrap();
    assert_eq!(seq, latest, "the payload is the committed seq");
    let changes = store.read(|tx| tx.changes_since(seq - 1, 10)).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].ticket, t);
    // A change by a person (another process) is announced the same way.
    desk.run(&["close", &t.to_string()], b"").ok();
    let after = listener.wait(Duration::from_secs(10)).unwrap();
    assert!(after.is_some_and(|s| s > seq), "{after:?} after {seq}");
    // A read-only command announces nothing.
    desk.run(&["list"], b"").ok();
    assert_eq!(listener.wait(Duration::from_millis(200)).unwrap(), None);
}
