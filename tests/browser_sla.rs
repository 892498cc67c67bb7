//! SLA deadlines in a real headless Chromium (SPEC §8, issue 19): the
//! board's cards show the next deadline, breached ones stand out; the
//! thread page names the SLA and marks the breached clock; screenshots at
//! a laptop's and a phone's width. What it proves is written at the top of
//! `tests/e2e/sla.py`. Without Python's Playwright or Chromium it prints
//! `SKIP: …` and passes, except under `CI=true`.

mod common;

use std::time::Duration;

use common::browser::browser;
use common::*;

/// The SLA of SPEC §8 on the billing queue, staff by their names, in
/// Berlin.
const CONFIG: &str = r#"
[site]
timezone = "Europe/Berlin"

[staff]
admins = ["Stef Admin <stef@example.org>"]
members = ["Ann Lee <ann@example.org>"]

[calendars.support]
hours = { mon-fri = "10:00-17:00", sat = "10:00-13:00" }
holidays = ["12-25"]

[sla.standard]
calendar = "support"
first_response = "4h"
next_response = "8h"
resolve = "3d"
warn_before = "30m"
pause_on = ["stalled"]

[[queues]]
name = "billing"
address = "billing"
sla = "standard"
"#;

/// `msg` to billing@, delivered as if `hours_ago` hours ago
/// (`PIPEDESK_TEST_NOW`).
fn deliver_ago(desk: &Desk, hours_ago: i64, msg: &Mail) {
    let at = (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    desk.run_env(
        &[
            "deliver",
            "--recipient",
            "billing@help.example.org",
            "--sender",
            &envelope_of(msg),
        ],
        &[("PIPEDESK_TEST_NOW", &at)],
        &msg.bytes(),
    )
    .ok();
}

#[test]
fn the_board_and_the_thread_show_sla_deadlines_breached_ones_stand_out() {
    let Some(browser) = browser() else {
        return;
    };
    let desk = Desk::with_config(CONFIG);
    desk.run(&["init", &desk.config_path().display().to_string()], b"")
        .ok();
    // 1: three days without an answer; 2: just in; 3: waiting for the
    // requestor, its clocks standing still.
    deliver_ago(
        &desk,
        72,
        &mail(
            "Maria Rossi <maria@example.com>",
            "Invoice 4711 charged twice",
        ),
    );
    deliver_ago(
        &desk,
        0,
        &mail("Tom Berg <tom@example.com>", "Change the billing address"),
    );
    deliver_ago(
        &desk,
        1,
        &mail(
            "Lena Vogt <lena@example.com>",
            "Refund for a cancelled order",
        ),
    );
    desk.run(&["take", "2", "--as", "ann@example.org"], b"")
        .ok();
    desk.run(&["stall", "3"], b"").ok();
    // The clock notices the breach (serve would within a minute).
    desk.run(&["tick"], b"").ok();
    assert_eq!(
        desk.show(1)["sla"]["breached"],
        serde_json::json!(["first_response"])
    );
    let server = desk.serve();
    let out = match std::env::var_os("PIPEDESK_SCREENSHOTS") {
        Some(dir) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
        None => desk.path().join("e2e"),
    };
    browser.run(
        &desk,
        &server,
        "sla.py",
        &["shoot"],
        &out,
        Duration::from_secs(120),
    );
}
