//! How the web interface looks and asks, in a real headless Chromium (SPEC
//! §6, issue 17): no sideways scrolling at a phone's width, the merge
//! question, Spam without mail, the question before a keyboard move
//! resolves a ticket, quoted text folded, the mail list and the `.eml`
//! download. The Playwright side is `tests/e2e/look.py`; what each
//! scenario proves is written at its top. About the pages alone, so run on
//! SQLite only. Without Python's Playwright or Chromium these print
//! `SKIP: …` and pass, except under `CI=true` (tests/common/browser.rs).

mod common;

use std::time::Duration;

use common::browser::{browser, Browser};
use common::web::Server;
use common::*;

/// A desk served to a browser.
struct Stage {
    browser: Browser,
    desk: Desk,
    server: Server,
}

impl Stage {
    /// Runs `tests/e2e/look.py SCENARIO`; panics with its output if it fails.
    #[track_caller]
    fn play(&self, scenario: &str) {
        let out = self.desk.path().join("e2e");
        self.browser.run(
            &self.desk,
            &self.server,
            "look.py",
            &[scenario],
            &out,
            Duration::from_secs(90),
        );
    }
}

/// The `new` of each status change in ticket `t`'s history, in order.
fn statuses(t: &serde_json::Value) -> Vec<String> {
    t["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| e["new"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// John's printer (#1), answered by John with a quote of Stef's question,
/// and Maria's scanner (#2), served; None where the browser cannot run.
fn stage() -> Option<Stage> {
    let browser = browser()?;
    let desk = Desk::new();
    desk.open_ticket(&john("Printer on fire"));
    desk.open_ticket(&mail("Maria Rossi <maria@example.net>", "Scanner jammed"));
    let answer = john("Re: Printer on fire").body(
        "It is out now, thanks.\n\nJohn\n\n\
         On Tue, 17 Nov 2026 at 15:00, Stef <stef@example.org> wrote:\n\
         > Have you tried the fire extinguisher?\n>\n> Stef\n",
    );
    desk.send(&ticket_addr(1, ""), &answer).ok();
    let server = desk.serve();
    Some(Stage {
        browser,
        desk,
        server,
    })
}

#[test]
fn no_page_scrolls_sideways_at_a_phone_s_width() {
    let Some(s) = stage() else {
        return;
    };
    s.play("phone");
}

#[test]
fn merge_shows_both_tickets_and_asks_first() {
    let Some(s) = stage() else {
        return;
    };
    s.play("merge");
    let one = s.desk.show(1);
    assert_eq!(one["merged"], serde_json::json!([2]), "{one}");
    assert_eq!(s.desk.show(2)["id"], 1);
    // Cancelled once, confirmed once: one merge.
    let merges = s.desk.kinds(1).iter().filter(|k| *k == "merge").count();
    assert_eq!(merges, 1);
}

#[test]
fn spam_from_the_thread_page_mails_nobody() {
    let Some(s) = stage() else {
        return;
    };
    s.desk.clear_mail();
    s.play("spam");
    assert_eq!(s.desk.show(2)["queue"], "spam");
    let mails = s.desk.take_mail();
    assert!(
        mails.is_empty(),
        "mail about a spam ticket: {:?}",
        mails.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
}

#[test]
fn a_keyboard_move_to_resolved_asks_first() {
    let Some(s) = stage() else {
        return;
    };
    s.desk.clear_mail();
    s.play("keyboard");
    let one = s.desk.show(1);
    // The dismissed question made no change: open, stalled, resolved.
    assert_eq!(statuses(&one), ["open", "stalled", "resolved"], "{one}");
    let mails = s.desk.take_mail();
    let notice = Desk::one_to(&mails, JOHN);
    assert!(notice.subject().contains("Resolved:"), "{}", notice.text());
}

#[test]
fn quoted_text_folds_and_each_message_downloads_as_it_arrived() {
    let Some(s) = stage() else {
        return;
    };
    s.play("quoted");
}
