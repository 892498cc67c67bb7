//! The web interface in a real headless Chromium (SPEC §6, issue 12): the
//! Playwright scripts of `tests/e2e/`, each against a desk's real server,
//! the desk checked through the commands and the outbox afterwards. What
//! each scenario proves is written at the top of its script. Without
//! Python's Playwright or Chromium these print `SKIP: …` and pass, except
//! under `CI=true` (see tests/common/browser.rs).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::browser::{browser, Browser};
use common::web::Server;
use common::*;

/// Far more than a scenario takes (a few seconds): only a hung browser
/// gets near it.
const LIMIT: Duration = Duration::from_secs(90);

fn john(subject: &str) -> Mail {
    mail("John Smith <john@example.com>", subject)
}

/// A desk with `tickets` opened by mail, served; None where the browser
/// cannot run.
fn served(tickets: &[Mail]) -> Option<(Browser, Desk, Server)> {
    let browser = browser()?;
    let desk = Desk::new();
    for t in tickets {
        desk.open_ticket(t);
    }
    let server = desk.serve();
    Some((browser, desk, server))
}

fn out(desk: &Desk) -> PathBuf {
    desk.path().join("e2e")
}

#[test]
fn a_drag_to_resolved_and_a_drop_in_another_lane_are_made_and_shown_on_a_second_board() {
    let Some((browser, desk, server)) = served(&[
        john("Printer on fire"),
        mail("Maria Rossi <maria@example.net>", "Scanner jammed"),
    ]) else {
        return;
    };
    desk.clear_mail();
    browser.run(&desk, &server, "board.py", &["moves"], &out(&desk), LIMIT);
    let one = desk.show(1);
    assert_eq!(one["status"], "resolved");
    let kinds = desk.kinds(1);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("status"),
        "{kinds:?}"
    );
    let mails = desk.take_mail();
    let notice = Desk::one_to(&mails, JOHN);
    assert!(notice.subject().contains("Resolved:"), "{}", notice.text());
    let two = desk.show(2);
    assert_eq!(
        (&two["owner"], &two["status"]),
        (&MEMBER.into(), &"new".into())
    );
}

#[test]
fn a_delivered_message_shows_on_an_open_board_within_a_second() {
    let Some((browser, desk, server)) = served(&[john("Printer on fire")]) else {
        return;
    };
    desk.run(&["close", "1"], b"").ok();
    browser.run(
        &desk,
        &server,
        "board.py",
        &["delivery"],
        &out(&desk),
        LIMIT,
    );
    assert_eq!(desk.show(1)["status"], "open");
    assert_eq!(desk.show(2)["requestor"], "maria@example.net");
}

#[test]
fn a_stale_drop_snaps_back_and_says_who_changed_the_ticket() {
    let Some((browser, desk, server)) = served(&[john("Printer on fire")]) else {
        return;
    };
    browser.run(&desk, &server, "board.py", &["stale"], &out(&desk), LIMIT);
    let one = desk.show(1);
    assert_eq!(
        (&one["status"], &one["owner"]),
        (&"open".into(), &MEMBER.into())
    );
}

#[test]
fn keyboard_moves_change_status_and_owner() {
    let Some((browser, desk, server)) = served(&[john("Printer on fire")]) else {
        return;
    };
    browser.run(
        &desk,
        &server,
        "board.py",
        &["keyboard"],
        &out(&desk),
        LIMIT,
    );
    let one = desk.show(1);
    assert_eq!(
        (&one["status"], &one["owner"]),
        (&"open".into(), &ADMIN.into())
    );
}
