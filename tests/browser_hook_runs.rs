//! A rule's hook runs on the thread page in a real headless Chromium
//! (SPEC §8 "the thread page lists hook runs beside mail, with their state
//! and error"): a webhook that failed, named by its rule and host only, its
//! tries, next try and error; a program that ran. Screenshots at a
//! laptop's and a phone's width (`tests/e2e/hook_runs.py`;
//! `PIPEDESK_SCREENSHOTS=DIR` keeps them there). Without Python's
//! Playwright or Chromium this prints `SKIP: …` and passes, except under
//! `CI=true`. The same lines on both stores: `tests/hook_runs.rs`.

mod common;

use std::time::Duration;

use common::browser::browser;
use common::hooks;
use common::*;

/// A token in the webhook URL's path, which the page must never show.
const URL_TOKEN: &str = "T0KEN-IN-THE-PATH";

#[test]
fn the_thread_page_lists_a_failed_webhook_and_a_program_that_ran_beside_the_mail() {
    let Some(browser) = browser() else {
        return;
    };
    // Nobody listens at the webhook's port: every try fails.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/services/{URL_TOKEN}", l.local_addr().unwrap())
    };
    let scripts = tempfile::tempdir().unwrap();
    let program = hooks::recording_script(scripts.path(), &scripts.path().join("events.log"));
    let desk = Desk::with_config(&format!(
        "[[rules]]\nname = \"chat\"\non = [\"create\"]\n\
         do.webhook = {{ url = \"{gone}\", secret = \"s3cret\" }}\n\
         [[rules]]\nname = \"sms\"\non = [\"create\"]\n\
         do.exec = [\"{}\", \"+491701234567\"]\n",
        program.display()
    ));
    let n = desk.open_ticket(&john("Printer on fire"));
    // A second try, by flush: it fails again (75: something is unsent).
    desk.run(&["flush"], b"").code(75);
    let server = desk.serve();
    let out = match std::env::var_os("PIPEDESK_SCREENSHOTS") {
        Some(dir) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
        None => desk.path().join("e2e"),
    };
    browser.run(
        &desk,
        &server,
        "hook_runs.py",
        &["thread", &n.to_string(), URL_TOKEN],
        &out,
        Duration::from_secs(90),
    );
    for name in ["hook-runs-wide.png", "hook-runs-phone.png"] {
        let png = std::fs::read(out.join(name)).expect(name);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}");
    }
}
