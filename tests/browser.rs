//! The web interface in a real headless Chromium (SPEC §6, issue 12): the
//! Playwright scripts of `tests/e2e/`, each against a desk's real server,
//! the desk checked through the commands and the outbox afterwards. What
//! each scenario proves is written at the top of its script. Without
//! Python's Playwright or Chromium these print `SKIP: …` and pass, except
//! under `CI=true` (see tests/common/browser.rs). The scenarios in which the
//! store answers are in `browser/live.rs`, which `tests/pg_browser.rs` runs
//! on PostgreSQL too; those here, about the pages alone, run once.

mod common;
#[path = "browser/live.rs"]
mod live;

use common::browser::browser;
use common::*;
use live::{statuses, with_attachments, Stage, LIMIT};

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

// ------------------------------------------------------------- screenshots

/// One request of the screenshots' desk (tests/e2e/week.toml).
#[derive(Debug, serde::Deserialize)]
struct Request {
    hours: i64,
    status: String,
    owner: String,
    from: String,
    subject: String,
}

#[derive(Debug, serde::Deserialize)]
struct Week {
    requests: Vec<Request>,
}

/// The ticket the thread screenshot shows.
const THREAD: &str = "Printer on floor 2 prints blank pages";

/// A mail dated `hours_ago`, with the request's usual body.
fn dated(from: &str, subject: &str, hours_ago: i64) -> Mail {
    let date = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
    mail(from, subject)
        .header("Date", &date.to_rfc2822())
        .header(
            "Return-Path",
            &format!("<{}>", envelope_of(&mail(from, ""))),
        )
}

/// `parts` (content type, file name or "", text) as a multipart/mixed body.
fn multipart(m: Mail, parts: &[(&str, &str, &str)]) -> Mail {
    let mut body = String::new();
    for (ctype, name, text) in parts {
        body += &format!("--part\nContent-Type: {ctype}\n");
        if !name.is_empty() {
            body += &format!("Content-Disposition: attachment; filename=\"{name}\"\n");
        }
        if ctype.starts_with("image/") {
            body += "Content-Transfer-Encoding: base64\n";
        }
        body += &format!("\n{text}\n");
    }
    body += "--part--\n";
    m.header("MIME-Version", "1.0")
        .header("Content-Type", "multipart/mixed; boundary=\"part\"")
        .body(&body)
}

/// Maria's printer, as the thread screenshot shows it: her request with the
/// printer's log, Ann's answer, Maria's reply with a photo, Ann's advice.
fn printer_thread(first: &Mail) -> Vec<Mail> {
    let maria = "Maria Rossi <maria.rossi@example.net>";
    let ann = "Ann Lindqvist <ann@example.org>";
    let re = format!("Re: {THREAD}");
    let id1 = first.message_id();
    let reply = |from: &str, hours: i64, refs: &str| {
        dated(from, &re, hours)
            .header("In-Reply-To", refs.rsplit(' ').next().unwrap_or(refs))
            .header("References", refs)
    };
    let two = reply(ann, 46, &id1).body(
        "Hi Maria,\n\nthanks for the log: it says the toner cartridge is empty, although it\n\
         was changed on Monday. Could you open the front cover and check that the\n\
         orange seal strip was pulled out of the new cartridge?\n\nAnn\nIT support\n",
    );
    let refs = format!("{id1} {}", two.message_id());
    let three = multipart(
        reply(maria, 30, &refs),
        &[
            (
                "text/plain; charset=utf-8",
                "",
                "Hi Ann,\n\nthe strip was still in! I pulled it out and the test page prints\n\
                 now, but everything is very faint. A photo of the page is attached.\n\n\
                 > Could you open the front cover and check that the orange seal strip\n\
                 > was pulled out of the new cartridge?\n\nMaria",
            ),
            (
                "image/png",
                "test-page.png",
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
            ),
        ],
    );
    let refs = format!("{refs} {}", three.message_id());
    let four = reply(ann, 28, &refs).body(
        "Hi Maria,\n\nfaint is the new toner settling. Please print the cleaning page twice\n\
         (Menu > Maintenance > Cleaning page). If it is still faint tomorrow I will\n\
         come by with a new drum unit.\n\nAnn\n",
    );
    vec![two, three, four]
}

/// The desk of the screenshots: tests/e2e/week.toml imported from an
/// mbox, dated as it happened, then moved to its columns and lanes with the
/// commands; the number of the printer thread.
fn busy_desk(desk: &Desk) -> i64 {
    let text = std::fs::read_to_string(common::browser::e2e_dir().join("week.toml"))
        .expect("tests/e2e/week.toml");
    let week: Week = toml::from_str(&text).expect("week.toml parses");
    let mut mails = Vec::new();
    for r in &week.requests {
        let m = dated(&r.from, &r.subject, r.hours);
        if r.subject == THREAD {
            let first = multipart(
                m,
                &[
                    (
                        "text/plain; charset=utf-8",
                        "",
                        "Hello,\n\nsince this morning the printer on floor 2 (the big one by the\n\
                         kitchen) prints every page blank. I copied the log from its panel\n\
                         into the attached file.\n\nThanks,\nMaria",
                    ),
                    (
                        "text/plain; charset=utf-8",
                        "printer-panel.log",
                        "08:02 warm-up complete\n08:15 job 4411 printed, 3 pages\n\
                         08:15 toner level: 0%\n08:16 SC-552 fuser temperature low",
                    ),
                ],
            );
            mails.extend(printer_thread(&first).into_iter().map(|m| (r.hours, m)));
            mails.push((r.hours, first));
        } else {
            mails.push((
                r.hours,
                m.body(&format!(
                    "Hello,\n\n{}: could someone have a look today?\n\nThanks\n",
                    r.subject
                )),
            ));
        }
    }
    // Oldest first, as a mailbox holds them; replies after their request.
    mails.sort_by_key(|(hours, m)| (-hours, m.get("References").is_some()));
    let mut mbox = String::new();
    for (_, m) in &mails {
        mbox += &format!("From {} Tue Nov 17 15:00:00 2026\n", envelope_of(m));
        mbox += &String::from_utf8(m.bytes()).expect("UTF-8");
        mbox += "\n";
    }
    let path = desk.path().join("week.mbox");
    std::fs::write(&path, mbox).expect("writing the mbox");
    desk.run(&["import", &path.display().to_string()], b"").ok();

    let listed = desk.list(&[]);
    let number = |subject: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == subject)
            .and_then(|t| t["id"].as_i64())
            .unwrap_or_else(|| panic!("no ticket {subject:?}: {listed}"))
    };
    for r in &week.requests {
        let n = number(&r.subject).to_string();
        let owner = Some(r.owner.as_str()).filter(|o| !o.is_empty());
        // Open without an owner: a stalled ticket reopened.
        let steps: Vec<Vec<&str>> = match (r.status.as_str(), owner) {
            ("new", None) => vec![],
            ("new", Some(o)) => vec![vec!["assign", &n, o]],
            ("open", None) => vec![vec!["stall", &n], vec!["reopen", &n]],
            (s, None) => vec![vec![if s == "resolved" { "close" } else { "stall" }, &n]],
            ("open", Some(o)) => vec![vec!["take", &n, "--as", o]],
            (s, Some(o)) => vec![
                vec!["take", &n, "--as", o],
                vec![
                    if s == "resolved" { "close" } else { "stall" },
                    &n,
                    "--as",
                    o,
                ],
            ],
        };
        for step in steps {
            desk.run(&step, b"").ok();
        }
    }
    // Priorities and due dates, as a team sets them: one overdue.
    let overdue = (chrono::Utc::now() - chrono::Duration::hours(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    for (subject, priority, due) in [
        ("Wi-Fi drops every hour in meeting room B", "urgent", "+4h"),
        ("Backup job failed twice this week", "high", overdue.as_str()),
        ("Licence renewal for the CAD software", "normal", "+3d"),
        (THREAD, "high", "+1d"),
        ("Old files missing from the shared drive", "low", "none"),
    ] {
        let n = number(subject).to_string();
        desk.run(&["priority", &n, priority], b"").ok();
        desk.run(&["due", &n, due], b"").ok();
    }
    let thread = number(THREAD);
    desk.run(
        &["comment", &thread.to_string(), "--as", ADMIN],
        b"Drum unit ordered from the supplier just in case; it arrives Thursday.\n",
    )
    .ok();
    thread
}

#[test]
fn screenshots_of_a_busy_board_and_a_thread() {
    let Some(browser) = browser() else {
        return;
    };
    // Staff by their names, as a team configures them (SPEC §1).
    let desk = Desk::with_config(
        "[staff]\nadmins = [\"Stef Admin <stef@example.org>\"]\n\
         members = [\"Ann Lee <ann@example.org>\"]\n",
    );
    desk.run(&["init", &desk.config_path().display().to_string()], b"")
        .ok();
    let thread = busy_desk(&desk);
    let server = desk.serve();
    // PIPEDESK_SCREENSHOTS=docs/screenshots refreshes the README's images;
    // otherwise they are made (and checked) in the desk's folder.
    let out = match std::env::var_os("PIPEDESK_SCREENSHOTS") {
        Some(dir) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
        None => desk.path().join("e2e"),
    };
    let number = thread.to_string();
    browser.run(
        &desk,
        &server,
        "screenshots.py",
        &["shoot", &number],
        &out,
        LIMIT,
    );
    for name in [
        "board.png",
        "thread.png",
        "merge.png",
        "phone-list.png",
        "phone-thread.png",
        "every-page/phone-board.png",
    ] {
        let png = std::fs::read(out.join(name)).expect(name);
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
            "{name}: {} bytes",
            png.len()
        );
    }
}

#[test]
fn a_card_dropped_on_a_full_resolved_column_stays_in_sight() {
    // 51 tickets in one mbox (an import is one process, not 51), 50 of
    // them resolved through the API: the column is full; #1 is stalled.
    let desk = Desk::new();
    let mut mbox = String::new();
    for i in 1..=51 {
        let m = mail(
            &format!("Customer {i} <c{i}@example.com>"),
            &format!("Request {i}"),
        );
        mbox += &format!("From c{i}@example.com Tue Nov 17 15:00:00 2026\n");
        mbox += &String::from_utf8(m.bytes()).expect("UTF-8");
        mbox += "\n";
    }
    std::fs::write(desk.path().join("requests.mbox"), mbox).expect("writing the mbox");
    desk.run(&["import", "requests.mbox"], b"").ok();
    let Some(browser) = browser() else {
        return;
    };
    let server = desk.serve();
    let auth = format!("Bearer {}", desk.token(ADMIN));
    // Stalled before the 50 are resolved: the card about to be dropped
    // was updated longer ago than any card in the full column (or in the
    // same second, with a lower number: older by the board's order).
    server
        .post(
            "/api/tickets/1/status",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            r#"{"status": "stalled"}"#,
        )
        .status(200);
    for n in 2..=51 {
        server
            .post(
                &format!("/api/tickets/{n}/status"),
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                r#"{"status": "resolved"}"#,
            )
            .status(200);
    }
    let s = Stage {
        browser,
        desk,
        server,
    };
    let out = s.desk.path().join("e2e");
    s.browser
        .run(&s.desk, &s.server, "board.py", &["full", "1"], &out, LIMIT);
    assert_eq!(s.desk.show(1)["status"], "resolved");
}
