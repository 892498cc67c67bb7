//! The board's rules come from the server (issue 16), in a real headless
//! Chromium: the Playwright script `tests/e2e/front.py` against a desk's
//! real server, as `tests/browser.rs` runs its scripts. Without Python's
//! Playwright or Chromium it prints `SKIP: …` and passes, except under
//! `CI=true` (see tests/common/browser.rs).

mod common;

use std::time::Duration;

use common::browser::browser;
use common::*;

#[test]
fn a_ticket_marked_as_spam_leaves_the_board_of_all_queues_live_and_comes_back() {
    let Some(browser) = browser() else {
        return;
    };
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&john("Toner empty"));
    let server = desk.serve();
    // Far more than the scenario takes: only a hung browser gets near it.
    let limit = Duration::from_secs(90);
    browser.run(
        &desk,
        &server,
        "front.py",
        &["spam"],
        &desk.path().join("e2e"),
        limit,
    );
    assert_eq!(desk.show(1)["queue"], "general");
}
