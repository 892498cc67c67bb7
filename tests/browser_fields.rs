//! A ticket's own fields in a real headless Chromium (issue 17): the board's
//! cards with priority and due date, overdue ones standing out, live; the
//! thread page's forms. What each scenario proves is written at the top of
//! `tests/e2e/fields.py`. Without Python's Playwright or Chromium these
//! print `SKIP: …` and pass, except under `CI=true`.

mod common;

use std::time::Duration;

use common::browser::browser;
use common::*;

/// Plays `tests/e2e/fields.py SCENARIO` against a desk in Europe/Paris
/// whose ticket 1 is urgent and overdue, ticket 2 plain.
fn play(scenario: &str) {
    let Some(browser) = browser() else {
        return;
    };
    let desk = Desk::with_config("[site]\ntimezone = \"Europe/Paris\"\n");
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&john("Scanner jammed"));
    desk.run(&["priority", "1", "urgent"], b"").ok();
    desk.run(&["due", "1", "2026-01-02T09:00"], b"").ok();
    let server = desk.serve();
    let out = desk.path().join("e2e");
    browser.run(
        &desk,
        &server,
        "fields.py",
        &[scenario],
        &out,
        Duration::from_secs(90),
    );
}

#[test]
fn cards_show_priority_and_due_and_overdue_ones_stand_out_live() {
    play("board");
}

#[test]
fn the_thread_page_sets_priority_due_queue_and_watchers() {
    play("thread");
}
