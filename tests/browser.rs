//! The web interface in a real headless Chromium (SPEC §6, issue 12): the
//! Playwright scripts of `tests/e2e/`, each against a desk's real server,
//! the desk checked through the commands and the outbox afterwards. What
//! each scenario proves is written at the top of its script. Without
//! Python's Playwright or Chromium these print `SKIP: …` and pass, except
//! under `CI=true` (see tests/common/browser.rs).

mod common;

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

/// A desk served to a browser.
struct Stage {
    browser: Browser,
    desk: Desk,
    server: Server,
}

impl Stage {
    /// A desk with `tickets` opened by mail, served; None where the
    /// browser cannot run.
    fn new(tickets: &[Mail]) -> Option<Stage> {
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
    fn play(&self, script: &str, scenario: &str) {
        let out = self.desk.path().join("e2e");
        self.browser
            .run(&self.desk, &self.server, script, &[scenario], &out, LIMIT);
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

#[test]
fn a_drag_to_resolved_and_a_drop_in_another_lane_are_made_and_shown_on_a_second_board() {
    let Some(s) = Stage::new(&[
        john("Printer on fire"),
        mail("Maria Rossi <maria@example.net>", "Scanner jammed"),
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
}

#[test]
fn a_delivered_message_shows_on_an_open_board_within_a_second() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.desk.run(&["close", "1"], b"").ok();
    s.play("board.py", "delivery");
    assert_eq!(s.desk.show(1)["status"], "open");
    assert_eq!(s.desk.show(2)["requestor"], "maria@example.net");
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
fn keyboard_moves_change_status_and_owner() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.play("board.py", "keyboard");
    let one = s.desk.show(1);
    assert_eq!(
        (&one["status"], &one["owner"]),
        (&"resolved".into(), &ADMIN.into())
    );
    // Each key one change, none refused as stale: open, stalled, (the
    // lanes), open, then the two quick ones.
    assert_eq!(
        statuses(&one),
        ["open", "stalled", "open", "stalled", "resolved"],
        "{one}"
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
fn with_attachments() -> Mail {
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

#[test]
fn attachment_links_download_and_never_render() {
    let Some(s) = Stage::new(&[with_attachments()]) else {
        return;
    };
    s.play("thread.py", "attachments");
    let saved = std::fs::read(s.desk.path().join("e2e/printer.log")).expect("the download");
    assert!(String::from_utf8_lossy(&saved).contains("fuser at 240 C"));
}

#[test]
fn no_page_breaks_the_content_security_policy_and_mail_stays_text() {
    let Some(s) = Stage::new(&[
        with_attachments(),
        john(
            "<script>window.e2ePwned = 1</script><img src=x onerror=\"window.e2ePwned = 2\"> \
             & \"quotes\"",
        )
        .body("<b>bold</b> and <a href=\"javascript:window.e2ePwned = 3\">a link</a>\n"),
        john("HTML only")
            .header("MIME-Version", "1.0")
            .header("Content-Type", "text/html; charset=utf-8")
            .body(
                "<html><body><p>Hello <script>window.e2ePwned = 4</script>\
                 <b onmouseover=\"window.e2ePwned = 5\">there</b></p></body></html>\n",
            ),
    ]) else {
        return;
    };
    s.play("pages.py", "csp");
}
