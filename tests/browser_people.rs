//! Staff shown by their names on the board and told of a drop in their
//! lane, in a real headless Chromium (`tests/e2e/people.py`; SPEC §4, §6).
//! Without Python's Playwright or Chromium it prints `SKIP: …` and passes,
//! except under `CI=true` (see tests/common/browser.rs).

mod common;

use std::time::Duration;

use common::browser::browser;
use common::*;

/// Far more than the scenario takes: only a hung browser gets near it.
const LIMIT: Duration = Duration::from_secs(90);

/// The desk of tests/people.rs: names for stef, carol and dave; ann bare.
const TEAM: &str = r#"
[[queues]]
name = "billing"
address = "billing"
from_name = "Billing"
members = ["Dave Hill <dave@example.org>"]

[staff]
admins = ["Stef Admin <stef@example.org>"]
members = ["\"Jones, Carol\" <carol@example.org>", "ann@example.org"]
"#;

#[test]
fn lanes_carry_names_and_a_drop_in_a_lane_tells_its_owner() {
    let Some(browser) = browser() else {
        return;
    };
    let desk = Desk::with_config(TEAM);
    desk.open_ticket(&john("Printer on fire"));
    desk.clear_mail();
    let server = desk.serve();
    let out = desk.path().join("e2e");
    browser.run(&desk, &server, "people.py", &["lanes"], &out, LIMIT);
    let mails = desk.take_mail();
    let told = Desk::one_to(&mails, "carol@example.org");
    assert!(
        told.subject().contains("Assigned to you"),
        "{}",
        told.text()
    );
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
}
