//! The desk's rules, in process, through the library: every operation's
//! outcome, history and mail, on each store: an in-memory SQLite here, a
//! fresh database of the binary's throwaway cluster in `tests/pg_desk.rs`
//! (the store is the harness's, `tests/common/store.rs`). The behaviour
//! suites run the same rules through the binary.

mod common;

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use anyhow::Result;
use pipedesk::address::Address;
use pipedesk::config::Config;
use pipedesk::desk::*;
use pipedesk::inbound;
use pipedesk::model::*;

use common::store::TestStore;

fn config() -> Arc<Config> {
    Arc::new(
        Config::parse(
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n\
             [staff]\nadmins = [\"stef@example.org\"]\nmembers = [\"ann@example.org\"]\n\
             [mail]\ntransport = \"none\"\n",
        )
        .unwrap(),
    )
}

/// A desk on this binary's store, which it keeps for as long as it lives
/// (a PostgreSQL database is emptied when the store is dropped, after the
/// desk's connection).
struct TestDesk {
    desk: Desk,
    _store: TestStore,
}

impl Deref for TestDesk {
    type Target = Desk;
    fn deref(&self) -> &Desk {
        &self.desk
    }
}

impl DerefMut for TestDesk {
    fn deref_mut(&mut self) -> &mut Desk {
        &mut self.desk
    }
}

fn desk() -> TestDesk {
    let store = TestStore::in_process();
    TestDesk {
        desk: Desk::with_store(config(), store.open_in_process()),
        _store: store,
    }
}

fn at(secs: i64) -> Time {
    chrono::DateTime::from_timestamp(1_795_000_000 + secs, 0).unwrap()
}

fn deliver(desk: &mut Desk, raw: &str, rcpt: &str, sender: &str, now: Time) -> Result<Outcome> {
    let facts = inbound::parse(raw.as_bytes());
    let msg = Incoming {
        raw: raw.as_bytes(),
        facts: &facts,
        recipient: rcpt,
        envelope_sender: Some(sender),
        local: false,
    };
    desk.deliver(&msg, false, now)
}

/// Ticket 1 from john, at time 0.
fn with_ticket() -> TestDesk {
    let mut d = desk();
    let o = deliver(
        &mut d,
        "From: John <john@example.com>\nMessage-ID: <1@x>\nSubject: Printer\n\nbroken\n",
        "submit@help.example.org",
        "john@example.com",
        at(0),
    )
    .unwrap();
    assert_eq!(
        (o.action, o.ticket, o.outbox.len()),
        (Action::Create, Some(1), 2)
    );
    d
}

fn act(who: &str, secs: i64) -> Act {
    Act::new(Address::new(who), at(secs))
}

fn kinds(d: &mut Desk, id: i64) -> Vec<HistoryKind> {
    d.thread(id, false)
        .unwrap()
        .history
        .iter()
        .map(|e| e.kind)
        .collect()
}

fn refusal(e: anyhow::Error) -> Error {
    match e.downcast::<Error>() {
        Ok(r) => r,
        Err(e) => panic!("not a refusal: {e:#}"),
    }
}

#[test]
fn new_then_reply_then_close_then_reopen_by_mail() {
    let mut d = with_ticket();
    let o = deliver(
        &mut d,
        "From: john@example.com\nMessage-ID: <2@x>\nSubject: done\n\nthanks\n",
        "ticket-1-done@help.example.org",
        "john@example.com",
        at(10),
    )
    .unwrap();
    assert_eq!(o.action, Action::Close);
    let o = deliver(
        &mut d,
        "From: john@example.com\nMessage-ID: <3@x>\nSubject: Re: [myisp #1] Printer\n\nagain\n",
        "submit@help.example.org",
        "john@example.com",
        at(20),
    )
    .unwrap();
    assert_eq!(
        (o.action, o.ticket, o.reopened),
        (Action::Correspond, Some(1), true)
    );
    let again = deliver(
        &mut d,
        "From: john@example.com\nMessage-ID: <3@x>\nSubject: Re: [myisp #1] Printer\n\nagain\n",
        "ticket-1@help.example.org",
        "john@example.com",
        at(30),
    )
    .unwrap();
    assert_eq!((again.action, again.ticket), (Action::Duplicate, Some(1)));
    let t = d.ticket(1).unwrap();
    assert_eq!(t.status, Status::Open);
    assert_eq!(t.updated, at(20), "a duplicate changes nothing");
}

#[test]
fn the_clock_dates_what_a_change_writes() {
    let mut d = with_ticket();
    d.take(1, &act("ann@example.org", 60)).unwrap();
    let t = d.thread(1, false).unwrap();
    assert_eq!(t.ticket.created, at(0));
    assert_eq!(t.ticket.updated, at(60));
    assert_eq!(t.history.last().unwrap().date, at(60));
}

#[test]
fn unknown_ticket_and_address_are_the_contracts_refusals() {
    let mut d = desk();
    let err = deliver(
        &mut d,
        "From: a@b.c\n\nx",
        "ticket-9@help.example.org",
        "a@b.c",
        at(0),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "no ticket #9");
    let err = deliver(
        &mut d,
        "From: a@b.c\n\nx",
        "sales@help.example.org",
        "a@b.c",
        at(0),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown address sales@help.example.org"),
        "{err}"
    );
}

#[test]
fn bounces_never_open_tickets_and_are_kept() {
    let mut d = desk();
    let o = deliver(
        &mut d,
        "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered\n\nx",
        "submit@help.example.org",
        "",
        at(0),
    )
    .unwrap();
    assert_eq!(
        (o.action, o.ticket, o.outbox.len()),
        (Action::Bounce, None, 0)
    );
    assert_eq!(d.bounces().unwrap().len(), 1);
    assert!(matches!(
        refusal(d.ticket(1).unwrap_err()),
        Error::NoTicket(1)
    ));
}

#[test]
fn only_staff_change_tickets() {
    let mut d = with_ticket();
    let e = d.close(1, false, &act("eve@example.net", 1)).unwrap_err();
    assert!(matches!(refusal(e), Error::NotAllowed(_)));
    let e = d
        .assign(
            1,
            Some(&Address::new("eve@example.net")),
            &act("stef@example.org", 1),
        )
        .unwrap_err();
    assert!(matches!(refusal(e), Error::NotAllowed(_)));
    assert_eq!(kinds(&mut d, 1), [HistoryKind::Create]);
}

#[test]
fn status_changes_follow_the_rules_and_resolving_mails_the_requestor() {
    let mut d = with_ticket();
    let stef = act("stef@example.org", 5);
    assert!(matches!(
        refusal(d.reopen(1, &stef).unwrap_err()),
        Error::NotAllowed(_)
    ));
    assert!(matches!(
        refusal(d.set_status(1, Status::New, &stef).unwrap_err()),
        Error::NotAllowed(_)
    ));
    let stalled = d.stall(1, &stef).unwrap();
    assert_eq!(stalled.ticket.status, Status::Stalled);
    assert!(matches!(
        refusal(d.stall(1, &stef).unwrap_err()),
        Error::NotAllowed(_)
    ));
    let resolved = d.close(1, false, &stef).unwrap();
    assert_eq!(resolved.ticket.status, Status::Resolved);
    assert_eq!(resolved.outbox.len(), 1, "the resolved notice");
    let mail = d.thread(1, false).unwrap().mail;
    assert_eq!(mail.last().unwrap().kind, MailKind::Resolved);
    assert_eq!(mail.last().unwrap().recipients, ["john@example.com"]);
    assert!(matches!(
        refusal(d.close(1, false, &stef).unwrap_err()),
        Error::NotAllowed(_)
    ));
    assert_eq!(d.reopen(1, &stef).unwrap().ticket.status, Status::Open);
}

#[test]
fn a_stale_version_changes_nothing() {
    let mut d = with_ticket();
    let v = d.ticket(1).unwrap().version;
    let stale = Act {
        if_version: Some(v - 1),
        ..act("stef@example.org", 5)
    };
    match refusal(d.close(1, false, &stale).unwrap_err()) {
        Error::Stale(t) => assert_eq!((t.id, t.version, t.status), (1, v, Status::New)),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.ticket(1).unwrap().status, Status::New);
    let fresh = Act {
        if_version: Some(v),
        ..act("stef@example.org", 5)
    };
    let changed = d.close(1, false, &fresh).unwrap();
    assert!(changed.ticket.version > v);
}

#[test]
fn a_move_is_one_change_of_owner_and_status() {
    let mut d = with_ticket();
    let before = d.ticket(1).unwrap().version;
    let moved = d
        .move_to(
            1,
            Status::Stalled,
            Some(&Address::new("ann@example.org")),
            &act("stef@example.org", 5),
        )
        .unwrap();
    assert_eq!(
        (moved.ticket.status, moved.ticket.owner.as_deref()),
        (Status::Stalled, Some("ann@example.org"))
    );
    assert_eq!(moved.ticket.version, before + 2, "two history entries");
    // Staying in the column and changing lanes leaves the status alone.
    let moved = d
        .move_to(1, Status::Stalled, None, &act("stef@example.org", 6))
        .unwrap();
    assert_eq!(
        (moved.ticket.status, moved.ticket.owner),
        (Status::Stalled, None)
    );
}

#[test]
fn a_merge_joins_and_redirects() {
    let mut d = with_ticket();
    deliver(
        &mut d,
        "From: Maria <maria@example.net>\nCc: kim@example.org\nMessage-ID: <m@x>\nSubject: Printer too\n\nsame\n",
        "submit@help.example.org",
        "maria@example.net",
        at(5),
    )
    .unwrap();
    let merged = d.merge(2, 1, &act("stef@example.org", 10)).unwrap();
    assert_eq!(merged.ticket.id, 1);
    let one = d.ticket(2).unwrap();
    assert_eq!((one.id, one.merged.clone()), (1, vec![2]));
    assert_eq!(
        one.watchers,
        ["john@example.com", "maria@example.net", "kim@example.org"]
    );
    let o = deliver(
        &mut d,
        "From: maria@example.net\nMessage-ID: <m2@x>\nSubject: more\n\nmore\n",
        "ticket-2@help.example.org",
        "maria@example.net",
        at(20),
    )
    .unwrap();
    assert_eq!(o.ticket, Some(1));
    assert_eq!(
        kinds(&mut d, 1),
        [
            HistoryKind::Create,
            HistoryKind::Create,
            HistoryKind::Merge,
            HistoryKind::Correspond
        ]
    );
    assert!(d
        .list(&Filter::default(), false)
        .unwrap()
        .iter()
        .all(|l| l.ticket.id != 2));
    assert!(d.check().unwrap().is_empty());
}

#[test]
fn watchers_come_and_go_but_the_requestor_stays() {
    let mut d = with_ticket();
    let stef = act("stef@example.org", 5);
    let t = d
        .watch(1, &Address::new(" Boss@Example.com "), &stef)
        .unwrap()
        .ticket;
    assert_eq!(t.watchers, ["john@example.com", "boss@example.com"]);
    assert!(matches!(
        refusal(
            d.watch(1, &Address::new("boss@example.com"), &stef)
                .unwrap_err()
        ),
        Error::NotAllowed(_)
    ));
    assert!(matches!(
        refusal(d.watch(1, &Address::new("nonsense"), &stef).unwrap_err()),
        Error::BadInput(_)
    ));
    assert!(matches!(
        refusal(
            d.unwatch(1, &Address::new("john@example.com"), &stef)
                .unwrap_err()
        ),
        Error::NotAllowed(_)
    ));
    let t = d
        .unwatch(1, &Address::new("boss@example.com"), &stef)
        .unwrap()
        .ticket;
    assert_eq!(t.watchers, ["john@example.com"]);
}

#[test]
fn the_feed_gives_each_changed_ticket_once_at_its_latest_seq() {
    let mut d = with_ticket();
    let (start, _) = d.change_window().unwrap();
    deliver(
        &mut d,
        "From: maria@example.net\nMessage-ID: <b@x>\nSubject: Other\n\nx\n",
        "submit@help.example.org",
        "maria@example.net",
        at(1),
    )
    .unwrap();
    d.take(1, &act("ann@example.org", 2)).unwrap();
    d.stall(1, &act("ann@example.org", 3)).unwrap();
    let (read, changes) = d.changes(start, 100).unwrap();
    let ids: Vec<i64> = changes.iter().map(|(_, l)| l.ticket.id).collect();
    assert_eq!(ids, [2, 1]);
    let (last, _) = d.change_window().unwrap();
    assert_eq!(read, last);
    assert_eq!(changes[1].0, last);
    assert_eq!(changes[1].1.ticket.status, Status::Stalled);
    assert!(changes[0].0 < changes[1].0);
    let (same, none) = d.changes(last, 100).unwrap();
    assert_eq!((same, none.len()), (last, 0));
}

#[test]
fn a_board_replays_what_it_missed_and_resets_only_when_out_of_the_feed() {
    let mut d = with_ticket();
    let (start, _) = d.change_window().unwrap();
    d.take(1, &act("ann@example.org", 2)).unwrap();
    d.stall(1, &act("ann@example.org", 3)).unwrap();
    let (last, _) = d.change_window().unwrap();
    let replayed = |r: Replay| match r {
        Replay::Changes(c) => Some(c.iter().map(|(seq, _)| *seq).collect::<Vec<_>>()),
        Replay::Reset => None,
    };
    // Behind the server's published seq: what it missed, once a ticket.
    assert_eq!(replayed(d.replay(start, last).unwrap()), Some(vec![last]));
    assert_eq!(replayed(d.replay(last, last).unwrap()), Some(vec![]));
    // Ahead of the server's reader but not of the store (its board was read
    // since): nothing to replay, and no reset under a person's hands.
    assert_eq!(replayed(d.replay(last, start).unwrap()), Some(vec![]));
    // Ahead of the store, or nonsense: start over.
    assert_eq!(replayed(d.replay(last + 1, last).unwrap()), None);
    assert_eq!(replayed(d.replay(-1, last).unwrap()), None);
}

#[test]
fn the_board_holds_the_open_work_and_the_fifty_most_recently_resolved() {
    let mut d = desk();
    for i in 0..60 {
        deliver(
            &mut d,
            &format!("From: c{i}@example.com\nMessage-ID: <t{i}@x>\nSubject: T{i}\n\nx\n"),
            "submit@help.example.org",
            &format!("c{i}@example.com"),
            at(i),
        )
        .unwrap();
    }
    // Resolve 55 of them, the oldest last, so "most recent" is not id order.
    for (k, id) in (1..=55).rev().enumerate() {
        d.close(id, false, &act("stef@example.org", 100 + k as i64))
            .unwrap();
    }
    let (seq, cards) = d.board(None).unwrap();
    assert_eq!(seq, d.change_window().unwrap().0);
    let resolved: Vec<i64> = cards
        .iter()
        .filter(|l| l.ticket.status == Status::Resolved)
        .map(|l| l.ticket.id)
        .collect();
    assert_eq!(resolved.len(), RESOLVED_ON_THE_BOARD);
    assert_eq!(resolved[0], 1, "the most recently resolved first");
    assert!(!resolved.contains(&55) && !resolved.contains(&51));
    assert_eq!(cards.len() - resolved.len(), 5);
}

#[test]
fn the_subject_outranks_the_body_and_tickets_are_not_repeated() {
    let mut d = desk();
    for (i, (subject, body)) in [
        ("Mail", "the printer is near the mail room"),
        ("Printer on fire", "help"),
    ]
    .iter()
    .enumerate()
    {
        deliver(
            &mut d,
            &format!("From: a@example.com\nMessage-ID: <s{i}@x>\nSubject: {subject}\n\n{body}\n"),
            "submit@help.example.org",
            "a@example.com",
            at(i as i64),
        )
        .unwrap();
    }
    deliver(
        &mut d,
        "From: a@example.com\nMessage-ID: <s9@x>\nSubject: Re: [myisp #1] Mail\n\nand the printer again\n",
        "submit@help.example.org",
        "a@example.com",
        at(9),
    )
    .unwrap();
    let hits = d.search(&["printer".into()], &[], 10).unwrap();
    let ids: Vec<i64> = hits.iter().map(|h| h.ticket).collect();
    assert_eq!(ids, [2, 1]);
    assert!(
        hits[0].snippet.contains(MARK_START),
        "{:?}",
        hits[0].snippet
    );
    assert!(d
        .search(&["printer".into()], &[Status::Resolved], 10)
        .unwrap()
        .is_empty());
    assert!(d.search(&["--".into()], &[], 10).is_err());
}

#[test]
fn passwords_sessions_and_tokens() {
    let mut d = desk();
    let now = at(0);
    assert!(matches!(
        refusal(
            d.set_password(&Address::new("stef@example.org"), "short", now)
                .unwrap_err()
        ),
        Error::BadInput(_)
    ));
    assert!(matches!(
        refusal(
            d.set_password(
                &Address::new("eve@example.net"),
                "long enough password",
                now
            )
            .unwrap_err()
        ),
        Error::NotAllowed(_)
    ));
    d.set_password(
        &Address::new("Stef@Example.org"),
        "long enough password",
        now,
    )
    .unwrap();
    assert_eq!(
        d.sign_in(&Address::new("stef@example.org"), "wrong password!", now)
            .unwrap(),
        None
    );
    assert_eq!(
        d.sign_in(
            &Address::new("ann@example.org"),
            "long enough password",
            now
        )
        .unwrap(),
        None
    );
    let session = d
        .sign_in(
            &Address::new(" STEF@example.org"),
            "long enough password",
            now,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        d.signed_in(CredentialKind::Session, &session, now)
            .unwrap()
            .as_deref(),
        Some("stef@example.org")
    );
    assert_eq!(
        d.signed_in(CredentialKind::Token, &session, now).unwrap(),
        None,
        "a session is no token"
    );
    let later = now + chrono::Duration::days(signin::SESSION_DAYS + 1);
    assert_eq!(
        d.signed_in(CredentialKind::Session, &session, later)
            .unwrap(),
        None,
        "expired"
    );
    d.sign_out(&session).unwrap();
    assert_eq!(
        d.signed_in(CredentialKind::Session, &session, now).unwrap(),
        None
    );
    let token = d.new_token(&Address::new("ann@example.org"), now).unwrap();
    assert_eq!(
        d.signed_in(CredentialKind::Token, &token, later)
            .unwrap()
            .as_deref(),
        Some("ann@example.org"),
        "tokens do not expire"
    );
}

#[test]
fn the_median_wait_for_staff_is_the_lower_middle() {
    let mut d = desk();
    for (i, wait) in [30i64, 10, 20, 40].iter().enumerate() {
        let n = i as i64 + 1;
        deliver(
            &mut d,
            &format!("From: c{n}@example.com\nMessage-ID: <w{n}@x>\nSubject: W{n}\n\nx\n"),
            "submit@help.example.org",
            &format!("c{n}@example.com"),
            at(0),
        )
        .unwrap();
        d.write(n, "on it", false, &act("stef@example.org", *wait))
            .unwrap();
    }
    let s = d.stats(at(100)).unwrap();
    assert_eq!((s.answered, s.median_first_reply_secs), (4, Some(20)));
}

#[test]
fn a_reply_written_against_an_old_version_is_refused_and_stores_nothing() {
    let mut d = with_ticket();
    let v = d.ticket(1).unwrap().version;
    d.take(1, &act("ann@example.org", 5)).unwrap();
    let stale = Act {
        if_version: Some(v),
        ..act("stef@example.org", 6)
    };
    assert!(matches!(
        refusal(d.write(1, "Try again.", false, &stale).unwrap_err()),
        Error::Stale(_)
    ));
    assert!(!kinds(&mut d, 1).contains(&HistoryKind::Correspond));
    let fresh = Act {
        if_version: Some(d.ticket(1).unwrap().version),
        ..act("stef@example.org", 7)
    };
    assert_eq!(
        d.write(1, "Try again.", false, &fresh).unwrap().action,
        Action::Correspond
    );
}

#[test]
fn no_mail_is_queued_about_a_ticket_in_spam_by_any_path() {
    let mut d = with_ticket();
    let stef = act("stef@example.org", 5);
    let marked = d.spam(1, false, &stef).unwrap();
    assert_eq!(
        (marked.ticket.queue.as_str(), marked.ticket.status),
        ("spam", Status::Resolved)
    );
    assert!(marked.outbox.is_empty(), "marking as spam queued mail");
    let spam = d.thread(1, false).unwrap().history;
    let entry = spam.iter().find(|e| e.kind == HistoryKind::Spam).unwrap();
    assert_eq!(
        (entry.old.as_deref(), entry.new.as_deref()),
        (Some("general"), Some("spam"))
    );
    // The requestor writes again (a reopen), staff close and reopen: each
    // path queues through the mailer, which queues nothing here.
    let again = deliver(
        &mut d,
        "From: john@example.com\nMessage-ID: <2@x>\nSubject: Re: [myisp #1] Printer\n\nbuy\n",
        "ticket-1@help.example.org",
        "john@example.com",
        at(6),
    )
    .unwrap();
    assert!(again.outbox.is_empty(), "the requestor's mail queued mail");
    assert!(d
        .close(1, false, &act("stef@example.org", 7))
        .unwrap()
        .outbox
        .is_empty());
    assert!(d
        .reopen(1, &act("stef@example.org", 8))
        .unwrap()
        .outbox
        .is_empty());
    // The spammer's next ticket opens in spam, without an autoreply or a
    // notice.
    let next = deliver(
        &mut d,
        "From: JOHN@example.com\nMessage-ID: <3@x>\nSubject: More pills\n\nbuy\n",
        "submit@help.example.org",
        "john@example.com",
        at(9),
    )
    .unwrap();
    assert!(
        next.outbox.is_empty(),
        "the spammer's next ticket queued mail"
    );
    assert_eq!(d.ticket(next.ticket.unwrap()).unwrap().queue, "spam");
    // The undo: back in general, open, and the sender forgotten.
    let undone = d.spam(1, true, &act("stef@example.org", 10)).unwrap();
    assert_eq!(
        (undone.ticket.queue.as_str(), undone.ticket.status),
        ("general", Status::Open)
    );
    let fresh = deliver(
        &mut d,
        "From: john@example.com\nMessage-ID: <4@x>\nSubject: A real question\n\nhelp\n",
        "submit@help.example.org",
        "john@example.com",
        at(11),
    )
    .unwrap();
    assert_eq!(
        fresh.outbox.len(),
        2,
        "the autoreply and the admin's notice"
    );
    assert_eq!(d.ticket(fresh.ticket.unwrap()).unwrap().queue, "general");
}

#[test]
fn close_quiet_queues_no_resolved_notice() {
    let mut d = with_ticket();
    let closed = d.close(1, true, &act("stef@example.org", 5)).unwrap();
    assert_eq!(closed.ticket.status, Status::Resolved);
    assert!(closed.outbox.is_empty(), "a quiet close queued mail");
}
