//! The browser scenarios in which the store answers: drags and lanes seen
//! on a second board, a delivery appearing on an open board, a stale drop,
//! a late answer, a reply mailed. `tests/browser.rs` runs them on SQLite,
//! `tests/pg_browser.rs` on PostgreSQL (where the board hears other
//! processes' changes by LISTEN/NOTIFY); the scenarios about the pages
//! alone stay in `tests/browser.rs`, run once.

use std::time::Duration;

use crate::common::browser::{browser, Browser};
use crate::common::web::Server;
use crate::common::*;

/// Far more than a scenario takes (a few seconds): only a hung browser
/// gets near it.
pub const LIMIT: Duration = Duration::from_secs(90);

/// A desk served to a browser.
pub struct Stage {
    pub browser: Browser,
    pub desk: Desk,
    pub server: Server,
}

impl Stage {
    /// A desk with `tickets` opened by mail, served; None where the
    /// browser cannot run.
    pub fn new(tickets: &[Mail]) -> Option<Stage> {
        let browser = browser()?;
        let desk = Desk::new();
        for t in tickets {
            desk.open_ticket(t);
        }
        let server = desk.serve();
        Some(Stage {
            browser,
            desk,
            server,
        })
    }

    /// Runs `tests/e2e/SCRIPT SCENARIO`; panics with its output if it fails.
    #[track_caller]
    pub fn play(&self, script: &str, scenario: &str) {
        let out = self.desk.path().join("e2e");
        self.browser
            .run(&self.desk, &self.server, script, &[scenario], &out, LIMIT);
    }
}

/// The `new` of each status change in ticket `t`'s history, in order.
pub fn statuses(t: &serde_json::Value) -> Vec<String> {
    t["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| e["new"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_drag_to_resolved_and_a_drop_in_another_lane_are_made_and_shown_on_a_second_board() {
    let Some(s) = Stage::new(&[
        john("Printer on fire"),
        mail("Maria Rossi <maria@example.net>", "Scanner jammed"),
        mail("Jun Tanaka <jun@example.jp>", "VPN drops"),
    ]) else {
        return;
    };
    s.desk.clear_mail();
    s.play("board.py", "moves");
    let one = s.desk.show(1);
    assert_eq!(statuses(&one), ["resolved"], "{one}");
    let mails = s.desk.take_mail();
    let notice = Desk::one_to(&mails, JOHN);
    assert!(notice.subject().contains("Resolved:"), "{}", notice.text());
    let two = s.desk.show(2);
    assert_eq!(
        (&two["owner"], &two["status"]),
        (&MEMBER.into(), &"new".into())
    );
    let three = s.desk.show(3);
    assert_eq!(
        (&three["owner"], &three["status"]),
        (&ADMIN.into(), &"stalled".into())
    );
    // Both in one change: the owner and the status entries side by side,
    // written at once.
    let kinds = s.desk.kinds(3);
    assert_eq!(kinds, ["create", "owner", "status"]);
}

#[test]
fn a_delivered_message_shows_on_an_open_board_within_a_second() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.desk.run(&["close", "1"], b"").ok();
    s.play("board.py", "delivery");
    let one = s.desk.show(1);
    assert_eq!(one["status"], "open");
    assert_eq!(one["merged"], serde_json::json!([2]), "{one}");
    assert_eq!(s.desk.show(3)["queue"], "web");
}

#[test]
fn a_stale_drop_snaps_back_and_says_who_changed_the_ticket() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.play("board.py", "stale");
    let one = s.desk.show(1);
    assert_eq!(
        (&one["status"], &one["owner"]),
        (&"open".into(), &MEMBER.into())
    );
    assert_eq!(
        statuses(&one),
        ["open"],
        "the stale drop changed the status"
    );
}

#[test]
fn a_late_answer_never_puts_a_card_back_to_an_older_version() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.play("board.py", "late");
    let one = s.desk.show(1);
    assert_eq!(
        (&one["status"], &one["owner"]),
        (&"stalled".into(), &MEMBER.into())
    );
}

/// John's request with a log and an HTML report attached.
pub fn with_attachments() -> Mail {
    john("Printer on fire")
        .header("MIME-Version", "1.0")
        .header("Content-Type", "multipart/mixed; boundary=\"b\"")
        .body(
            "--b\nContent-Type: text/plain; charset=utf-8\n\n\
             The printer on floor 2 is smoking. Its log is attached.\n\
             --b\nContent-Type: text/plain; name=\"printer.log\"\n\
             Content-Disposition: attachment; filename=\"printer.log\"\n\n\
             09:14 paper jam\n09:15 fuser at 240 C\n09:16 smoke\n\
             --b\nContent-Type: text/html; name=\"report.html\"\n\
             Content-Disposition: attachment; filename=\"report.html\"\n\n\
             <html><body><script>window.e2eRendered = true;</script>Report</body></html>\n\
             --b--\n",
        )
}

#[test]
fn a_reply_from_the_thread_page_is_mailed_to_the_requestor() {
    let Some(s) = Stage::new(&[with_attachments()]) else {
        return;
    };
    s.desk.clear_mail();
    s.play("thread.py", "reply");
    let mails = s.desk.take_mail();
    let reply = Desk::one_to(&mails, JOHN);
    assert!(
        reply.body().contains("switch the printer off"),
        "{}",
        reply.text()
    );
    assert!(
        !mails.iter().any(
            |m| m.body().contains("smoke detector") && m.forward_path.iter().any(|r| r == JOHN)
        ),
        "the comment was mailed to the requestor: {:?}",
        summary(&mails)
    );
    // The reply by staff opens the new ticket, as `pipedesk reply` does.
    assert_eq!(
        s.desk.kinds(1),
        ["create", "correspond", "status", "comment"]
    );
    let one = s.desk.show(1);
    let last = one["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["author"], ADMIN, "the signed-in member wrote it");
}
