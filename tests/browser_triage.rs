//! Triage in a real headless Chromium (SPEC §6 `/tickets`, issue 17): the
//! Playwright script `tests/e2e/triage.py` against a desk's real server,
//! as `tests/browser.rs` runs its scripts. Without Python's Playwright or
//! Chromium it prints `SKIP: …` and passes, except under `CI=true` (see
//! tests/common/browser.rs).

mod common;

use std::time::Duration;

use common::browser::browser;
use common::*;

#[test]
fn a_ticket_number_in_the_search_box_opens_it_and_the_filters_find_nobodys_tickets() {
    let Some(browser) = browser() else {
        return;
    };
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&mail("Maria Rossi <maria@example.net>", "Scanner jammed"));
    desk.open_ticket(&john("Toner empty"));
    desk.run(&["assign", "2", MEMBER], b"").ok();
    let server = desk.serve();
    // Far more than the scenario takes: only a hung browser gets near it.
    let limit = Duration::from_secs(90);
    browser.run(
        &desk,
        &server,
        "triage.py",
        &["jump"],
        &desk.path().join("e2e"),
        limit,
    );
    // Looking changes nothing.
    assert_eq!(desk.show(2)["owner"], MEMBER);
    assert_eq!(desk.ticket_count(), 3);
}
