//! Answers with what they need in a real headless Chromium (SPEC §6, issue
//! 17): a ticket opened on `/tickets/new`, a reply with a canned answer and
//! a file, and "Send and resolve" — `tests/e2e/answers.py` against a desk's
//! real server, the desk checked through the commands and the outbox
//! afterwards. Without Python's Playwright or Chromium these print `SKIP:
//! …` and pass, except under `CI=true` (see tests/common/browser.rs). The
//! store behind them is covered on both stores by `tests/answers.rs`.

mod common;

use std::time::Duration;

use common::browser::{browser, Browser};
use common::web::Server;
use common::*;

const LIMIT: Duration = Duration::from_secs(90);

struct Stage {
    browser: Browser,
    desk: Desk,
    server: Server,
}

impl Stage {
    /// A desk with `tickets` opened by mail and a canned answer, served;
    /// None where the browser cannot run.
    fn new(tickets: &[Mail]) -> Option<Stage> {
        let browser = browser()?;
        let desk = Desk::new();
        for t in tickets {
            desk.open_ticket(t);
        }
        let canned = desk.path().join("canned");
        std::fs::create_dir_all(&canned).unwrap();
        std::fs::write(
            canned.join("thanks.txt"),
            "Title: Thanks, we are on it\nHello {{ requestor.name }},\n\nticket #{{ ticket.id }} ({{ ticket.subject }}) is in hand.\n",
        )
        .unwrap();
        let server = desk.serve();
        desk.clear_mail();
        Some(Stage {
            browser,
            desk,
            server,
        })
    }

    #[track_caller]
    fn play(&self, scenario: &str) {
        let out = self.desk.path().join("e2e");
        self.browser.run(
            &self.desk,
            &self.server,
            "answers.py",
            &[scenario],
            &out,
            LIMIT,
        );
    }
}

#[test]
fn a_ticket_opened_on_the_new_ticket_page_is_staffs_and_mailed_with_its_file() {
    let Some(s) = Stage::new(&[]) else {
        return;
    };
    s.play("create");
    let t = s.desk.show(1);
    assert_eq!(t["requestor"], "kim@example.org");
    assert_eq!(t["queue"], "web");
    assert_eq!(t["history"][0]["author"], ADMIN);
    let mails = s.desk.take_mail();
    let to_kim = Desk::one_to(&mails, "kim@example.org");
    assert!(to_kim.headers("Auto-Submitted").is_empty());
    assert_eq!(
        to_kim.attachments(),
        [(
            "vpn-profile.conf".to_string(),
            "text/plain".to_string(),
            b"remote vpn.example.org\n".to_vec()
        )]
    );
}

#[test]
fn a_reply_with_a_canned_answer_and_a_file_is_mailed_with_both() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.play("reply");
    let mails = s.desk.take_mail();
    let to_john = Desk::one_to(&mails, JOHN);
    assert!(
        to_john.body().contains("Hello John Smith,"),
        "{}",
        to_john.text()
    );
    let files: Vec<(String, Vec<u8>)> = to_john
        .attachments()
        .into_iter()
        .map(|(name, _, bytes)| (name, bytes))
        .collect();
    assert_eq!(
        files,
        [("fuser.log".to_string(), b"fuser at 240 C\n".to_vec())]
    );
}

#[test]
fn send_and_resolve_is_one_change_and_one_mail() {
    let Some(s) = Stage::new(&[john("Printer on fire")]) else {
        return;
    };
    s.play("resolve");
    let t = s.desk.show(1);
    assert_eq!(t["status"], "resolved");
    let changes: Vec<&str> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "status")
        .map(|e| e["new"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["resolved"]);
    let mails = s.desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
}
