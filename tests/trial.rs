//! What a five-person team's first day with the merged issue 17 found at
//! the terminal and in mail (the "trial" pass): staff named where they are
//! shown or written to. `tests/pg_trial.rs` runs the same suite on
//! PostgreSQL.

mod common;

use common::*;

const CAROL: &str = "carol@example.org";

/// Carol, a member by name; the admin by name too.
const TEAM: &str = r#"
[staff]
admins = ["Stef Admin <stef@example.org>"]
members = ["Carol Jones <carol@example.org>"]
"#;

#[test]
fn assign_says_whom_the_ticket_went_to_by_name() {
    for desk in Desk::both(TEAM) {
        let n = desk.open_ticket(&john("Printer")).to_string();
        let run = desk.run(&["assign", &n, CAROL], b"").ok();
        assert!(
            run.stderr.contains("owner Carol Jones"),
            "the owner as list shows them: {run}"
        );
    }
}

#[test]
fn mail_to_staff_names_them_in_its_to_header() {
    for desk in Desk::both(TEAM) {
        desk.open_ticket(&john("Printer"));
        let mails = desk.take_mail();
        let notice = Desk::one_to(&mails, ADMIN);
        let to = notice.header("To");
        assert!(to.contains("Stef Admin"), "To: {to}\n{}", notice.head());
        assert_eq!(notice.to_and_cc(), [ADMIN.to_string()].into());
        // The requestor is no member of staff: their address alone.
        let auto = Desk::one_to(&mails, JOHN);
        assert_eq!(auto.header("To"), JOHN, "{}", auto.head());
        // show's mail list names them too.
        let show = desk.run(&["show", "1"], b"").ok().stdout;
        assert!(
            show.contains("new-ticket notice to Stef Admin: sent"),
            "{show}"
        );
        assert!(
            show.contains(&format!("autoreply to {JOHN}: sent")),
            "{show}"
        );
    }
}

#[test]
fn notices_to_staff_name_the_customer_as_their_mail_did() {
    for desk in Desk::both(TEAM) {
        let n = desk.open_ticket(&john("Printer"));
        let mails = desk.take_mail();
        let notice = Desk::one_to(&mails, ADMIN);
        assert!(
            notice
                .body()
                .contains("from John Smith <john@example.com>:"),
            "{}",
            notice.body()
        );
        desk.run(&["assign", &n.to_string(), CAROL], b"").ok();
        desk.clear_mail();
        let later = john(&format!("Re: [myisp #{n}] Printer")).body("Still broken.");
        desk.send(&ticket_addr(n, ""), &later).ok();
        let mails = desk.take_mail();
        let notice = Desk::one_to(&mails, CAROL);
        assert!(
            notice
                .body()
                .starts_with("John Smith <john@example.com> wrote on ticket"),
            "{}",
            notice.body()
        );
        let done = john(&format!("Re: [myisp #{n}] Printer")).body("Works now.");
        desk.send(&ticket_addr(n, "-done"), &done).ok();
        let mails = desk.take_mail();
        let notice = Desk::one_to(&mails, CAROL);
        assert!(
            notice
                .body()
                .starts_with("John Smith <john@example.com> resolved ticket"),
            "{}",
            notice.body()
        );
    }
}

#[test]
fn the_thread_page_names_staff_watchers_and_the_staff_its_mail_went_to() {
    for desk in Desk::both(TEAM) {
        let n = desk.open_ticket(&john("Printer")).to_string();
        desk.run(&["watch", &n, CAROL], b"").ok();
        let show = desk.run(&["show", &n], b"").ok().stdout;
        assert!(
            show.contains(&format!("Watchers:  {JOHN}, Carol Jones <{CAROL}>\n")),
            "{show}"
        );
        let server = desk.serve();
        let cookie = server.sign_in(ADMIN);
        let page = server
            .get(&format!("/tickets/{n}"), &[("Cookie", cookie.as_str())])
            .status(200)
            .body;
        for want in [
            format!("<span title=\"{JOHN}\">{JOHN}</span>, <span title=\"{CAROL}\">Carol Jones</span></dd>"),
            format!("<option value=\"{CAROL}\">Carol Jones</option>"),
            // The mail list: staff by name, customers by address.
            "new-ticket notice to Stef Admin</span>".to_string(),
            format!("autoreply to {JOHN}</span>"),
        ] {
            assert!(page.contains(&want), "{want} not in\n{page}");
        }
    }
}

#[test]
fn the_editor_draft_quotes_staff_by_name() {
    // A ticket Carol opened for John (a phone call): hers is the only
    // message, so the draft quotes it, by her name. (Where the customer
    // wrote, the draft quotes the customer: tests/answers.rs.)
    let desk = Desk::with_config(TEAM);
    desk.open_ticket(&john("Another matter"));
    let out = desk
        .run(
            &[
                "create",
                "--requestor",
                JOHN,
                "--subject",
                "Printer",
                "--as",
                CAROL,
            ],
            b"Is it plugged in?\n",
        )
        .ok();
    let n = out.stdout.trim().to_string();
    // $EDITOR keeps a copy of the draft and writes an answer above it.
    let seen = desk.path().join("draft.seen");
    let out = desk.run_with_editor(
        &format!("reply {n}"),
        &format!("cp \"$1\" {}\nsed -i '1i Any news?' \"$1\"", seen.display()),
    );
    let draft = std::fs::read_to_string(&seen).unwrap_or_default();
    assert!(out.status.success(), "{out:?}\n{draft}");
    assert!(
        draft.contains("Carol Jones wrote:\n> Is it plugged in?\n"),
        "{draft}"
    );
}

#[test]
fn the_thread_page_gives_an_attachments_size_as_show_does() {
    for desk in Desk::both(TEAM) {
        let raw = fixture("attachments/pdf-base64.eml");
        desk.deliver(SUBMIT, "accounts@example.co.uk", &raw).ok();
        let show = desk.run(&["show", "1"], b"").ok().stdout;
        assert!(show.contains("application/pdf, 73.1 KB"), "{show}");
        let server = desk.serve();
        let cookie = server.sign_in(ADMIN);
        let page = server
            .get("/tickets/1", &[("Cookie", cookie.as_str())])
            .status(200)
            .body;
        assert!(page.contains(", 73.1 KB</span>"), "{page}");
    }
}

#[test]
fn attachments_name_the_staff_member_who_sent_a_file() {
    for desk in Desk::both(TEAM) {
        let n = desk.open_ticket(&john("Printer")).to_string();
        let file = desk.path().join("steps.txt");
        std::fs::write(&file, "1. unplug it\n").expect("a file to attach");
        let file = file.to_str().expect("a UTF-8 path");
        desk.run(
            &["reply", &n, "--as", CAROL, "--attach", file],
            b"Steps attached.\n",
        )
        .ok();
        let listed = desk.run(&["attachments", &n], b"").ok().stdout;
        assert!(
            listed.contains("steps.txt  (text/plain, 13 bytes)  from Carol Jones, "),
            "{listed}"
        );
    }
}

/// The first 22 bytes of a Thread-Index header, decoded.
fn index_head(value: &str) -> Vec<u8> {
    use base64::Engine as _;
    let compact: String = value.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .unwrap_or_else(|e| panic!("{value}: {e}"));
    bytes[..22].to_vec()
}

#[test]
fn our_mail_carries_the_thread_index_of_the_mail_that_opened_the_ticket() {
    // An Outlook mail's conversation index: 0x01, a FILETIME's top bytes,
    // a GUID.
    let theirs = "AdtGdl3xq9Hk2mUvQkS0ZpEw8bRjYw==";
    for desk in Desk::both(TEAM) {
        let n = desk.open_ticket(&john("VPN").header("Thread-Index", theirs));
        desk.run(&["reply", &n.to_string(), "--as", CAROL], b"Try again.\n")
            .ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 3, "{:?}", summary(&mails));
        for m in &mails {
            assert_eq!(
                index_head(&m.header("Thread-Index")),
                index_head(theirs),
                "{}",
                m.head()
            );
        }
        // A ticket opened without one keeps an index of its own.
        let other = desk.open_ticket(&john("Printer"));
        let mails = desk.take_mail();
        let auto = Desk::one_to(&mails, JOHN);
        assert_ne!(index_head(&auto.header("Thread-Index")), index_head(theirs));
        assert_eq!(
            auto.subject(),
            format!("[myisp #{other}] AutoReply: Printer")
        );
    }
}
