//! Staff who hear of their work, and people shown by their names (SPEC §1,
//! §2 `[staff]` and `[[queues]] members`/`from_name`, §4's table): through
//! the real binary and the HTTP API, mail by mail. `tests/pg_people.rs`
//! runs the same suite on PostgreSQL.

mod common;

use common::web::Server;
use common::*;
use serde_json::{json, Value};

const CAROL: &str = "carol@example.org";
const DAVE: &str = "dave@example.org";
const BILLING: &str = "billing@help.example.org";

/// A desk of five: stef the admin, carol and ann members, dave billing's
/// own; billing signs its mail "Billing", the rest "Support".
const TEAM: &str = r#"
[[queues]]
name = "web"
address = "webmaster"

[[queues]]
name = "billing"
address = "billing"
from_name = "Billing"
members = ["Dave Hill <dave@example.org>"]

[staff]
admins = ["Stef Admin <stef@example.org>"]
members = ["\"Jones, Carol\" <carol@example.org>", "ann@example.org"]
"#;

/// Carol's name as the config gives it.
const CAROL_NAME: &str = "Jones, Carol";

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Every address that got any of `mails`.
fn reached(mails: &[Sent]) -> std::collections::BTreeSet<String> {
    mails.iter().flat_map(|m| m.rcpts()).collect()
}

/// A ticket from john in billing, its first mail already looked at.
fn billing_ticket(desk: &Desk) -> i64 {
    let out = desk
        .send(BILLING, &john("Invoice twice").header("To", BILLING))
        .ok()
        .json();
    desk.clear_mail();
    out["ticket"].as_i64().expect("a ticket")
}

fn as_john_on(n: i64, words: &str) -> Mail {
    john(&format!("Re: [myisp #{n}] Invoice twice")).body(words)
}

// ------------------------------------------------------------ new tickets

#[test]
fn a_new_ticket_in_a_queue_tells_every_admin_and_the_queues_members() {
    for desk in Desk::both(TEAM) {
        let m = john("Invoice twice").header("To", BILLING);
        desk.send(BILLING, &m).ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 2, "{:?}", summary(&mails));
        let auto = Desk::one_to(&mails, JOHN);
        assert_eq!(auto.display_name().as_deref(), Some("Billing"));
        assert!(
            auto.body().trim_end().ends_with("Billing"),
            "signed by the queue: {}",
            auto.body()
        );
        let notice = Desk::one_to(&mails, DAVE);
        assert_eq!(notice.rcpts(), set(&[ADMIN, DAVE]));
        assert_eq!(notice.display_name().as_deref(), Some("Billing"));
        assert_eq!(notice.header("Auto-Submitted"), "auto-generated");
        assert_eq!(notice.header("In-Reply-To"), m.message_id());
        assert!(
            notice.body().contains("it does not work"),
            "{}",
            notice.body()
        );
    }
}

#[test]
fn a_new_ticket_elsewhere_tells_the_admins_only_and_signs_with_mail_from_name() {
    let desk = Desk::with_config(TEAM);
    desk.open_ticket(&john("Printer"));
    let mails = desk.take_mail();
    assert_eq!(reached(&mails), set(&[JOHN, ADMIN]));
    for m in &mails {
        assert_eq!(m.display_name().as_deref(), Some("Support"), "{}", m.head());
    }
}

#[test]
fn a_member_opening_a_ticket_in_their_queue_is_not_told_of_it() {
    let desk = Desk::with_config(TEAM);
    desk.send(BILLING, &mail("Dave <dave@example.org>", "Call from ACME"))
        .ok();
    let mails = desk.take_mail();
    // He is its requestor: his autoreply, and no notice of his own doing.
    let notice = Desk::one_to(&mails, ADMIN);
    assert_eq!(notice.rcpts(), set(&[ADMIN]), "{:?}", summary(&mails));
    assert!(Desk::one_to(&mails, DAVE).subject().contains("AutoReply"));
}

// ------------------------------------------------------ correspondence

#[test]
fn outside_correspondence_goes_to_the_owner_else_the_members_else_the_admins() {
    for desk in Desk::both(TEAM) {
        let n = billing_ticket(&desk);
        desk.send(&ticket_addr(n, ""), &as_john_on(n, "Still twice.\n"))
            .ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        assert_eq!(
            mails[0].rcpts(),
            set(&[DAVE]),
            "nobody owns it: the queue's members"
        );
        assert!(mails[0].body().contains("Still twice."));

        desk.run(&["assign", &n.to_string(), CAROL], b"").ok();
        desk.clear_mail();
        desk.send(&ticket_addr(n, ""), &as_john_on(n, "Hello?\n"))
            .ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        assert_eq!(mails[0].rcpts(), set(&[CAROL]), "the owner");

        let general = desk.open_ticket(&john("Printer"));
        desk.clear_mail();
        desk.send(
            &ticket_addr(general, ""),
            &john(&format!("Re: [myisp #{general}] Printer")),
        )
        .ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        assert_eq!(
            mails[0].rcpts(),
            set(&[ADMIN]),
            "a queue without members: the admins"
        );
    }
}

#[test]
fn staff_mail_is_relayed_from_their_name_via_the_queues_name() {
    for desk in Desk::both(TEAM) {
        let n = billing_ticket(&desk);
        desk.run(&["reply", &n.to_string(), "--as", CAROL], b"Refunded.\n")
            .ok();
        let mails = desk.take_mail();
        let reply = Desk::one_to(&mails, JOHN);
        let from = format!("{CAROL_NAME} via Billing");
        assert_eq!(reply.display_name().as_deref(), Some(from.as_str()));
        assert!(
            reply
                .header("From")
                .ends_with("<ticket-1@help.example.org>"),
            "{}",
            reply.head()
        );
        assert!(
            reply.headers("Auto-Submitted").is_empty(),
            "a person wrote it"
        );
        // By mail, the config's name wins over the one the mail carries.
        let by_mail = mail(
            "Carol <carol@example.org>",
            &format!("Re: [myisp #{n}] Invoice"),
        )
        .body("And the second one too.\n");
        desk.send(&ticket_addr(n, ""), &by_mail).ok();
        let mails = desk.take_mail();
        let reply = Desk::one_to(&mails, JOHN);
        assert_eq!(reply.display_name().as_deref(), Some(from.as_str()));
    }
}

#[test]
fn staff_without_a_name_are_shown_by_their_address_and_other_queues_by_mail_from_name() {
    let desk = Desk::with_config(TEAM);
    let n = desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    desk.run(&["reply", &n.to_string(), "--as", MEMBER], b"Try now.\n")
        .ok();
    let mails = desk.take_mail();
    assert_eq!(
        Desk::one_to(&mails, JOHN).display_name().as_deref(),
        Some("ann@example.org via Support")
    );
}

// ------------------------------------------------------- owners

#[test]
fn a_ticket_given_to_someone_tells_them_unless_they_did_it_themselves() {
    for desk in Desk::both(TEAM) {
        let n = billing_ticket(&desk).to_string();
        desk.run(&["take", &n, "--as", CAROL], b"").ok();
        assert!(desk.take_mail().is_empty(), "taking a ticket tells nobody");
        desk.run(&["assign", &n, CAROL, "--as", CAROL], b"").ok();
        assert!(desk.take_mail().is_empty(), "nothing changed: no notice");

        desk.run(&["assign", &n, DAVE, "--as", CAROL], b"").ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        let notice = &mails[0];
        assert_eq!(notice.rcpts(), set(&[DAVE]));
        assert_eq!(
            notice.subject(),
            "[myisp #1] Assigned to you: Invoice twice"
        );
        assert_eq!(notice.header("Auto-Submitted"), "auto-generated");
        assert_eq!(notice.header("Reply-To"), "ticket-1@help.example.org");
        assert_eq!(notice.header("X-Loop"), "myisp");
        assert_eq!(notice.display_name().as_deref(), Some("Billing"));
        assert_eq!(
            notice.reverse_path.as_deref(),
            Some("ticket-1@help.example.org")
        );
        assert!(
            notice
                .body()
                .contains(&format!("{CAROL_NAME} gave you ticket #1")),
            "{}",
            notice.body()
        );
        assert!(notice.body().contains(JOHN), "{}", notice.body());

        desk.run(&["assign", &n, ADMIN, "--as", ADMIN], b"").ok();
        assert_eq!(desk.show(1)["owner"], ADMIN);
        assert!(desk.take_mail().is_empty(), "given to oneself: no notice");
    }
}

fn served() -> (Desk, Server, String) {
    let desk = Desk::with_config(TEAM);
    let server = desk.serve();
    let cookie = server.sign_in(ADMIN);
    (desk, server, cookie)
}

fn as_staff<'a>(server: &'a Server, cookie: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("Cookie", cookie),
        ("Origin", server.url.as_str()),
        ("Content-Type", "application/json"),
    ]
}

#[test]
fn the_boards_drop_and_the_apis_owner_tell_the_new_owner() {
    let (desk, server, cookie) = served();
    let n = billing_ticket(&desk);
    let h = as_staff(&server, &cookie);
    let t = server
        .post(
            &format!("/api/tickets/{n}/move"),
            &h,
            &format!(r#"{{"status": "open", "owner": "{CAROL}"}}"#),
        )
        .status(200)
        .json();
    assert_eq!((&t["status"], &t["owner"]), (&json!("open"), &json!(CAROL)));
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[CAROL]));
    assert!(
        mails[0].body().contains("Status:    open"),
        "the notice tells the ticket as it stands after the drop: {}",
        mails[0].body()
    );
    // Back to nobody: nobody to tell; to stef, who does it: no notice.
    server
        .post(&format!("/api/tickets/{n}/owner"), &h, r#"{"owner": null}"#)
        .status(200);
    server
        .post(
            &format!("/api/tickets/{n}/owner"),
            &h,
            &format!(r#"{{"owner": "{ADMIN}"}}"#),
        )
        .status(200);
    assert!(desk.take_mail().is_empty());
    // The thread page's owner form is the same operation.
    server
        .form(
            &cookie,
            &format!("/tickets/{n}/owner"),
            &format!("owner={DAVE}"),
        )
        .status(303);
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[DAVE]));
}

// ------------------------------------------------------- closes by mail

#[test]
fn the_requestor_closing_by_mail_tells_the_owner_else_the_admins() {
    for desk in Desk::both(TEAM) {
        let n = billing_ticket(&desk);
        desk.run(&["assign", &n.to_string(), CAROL], b"").ok();
        desk.clear_mail();
        let done = as_john_on(n, "Sorted, thanks.\n");
        desk.send(&ticket_addr(n, "-done"), &done).ok();
        assert_eq!(desk.show(n)["status"], "resolved");
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        let notice = &mails[0];
        assert_eq!(
            notice.rcpts(),
            set(&[CAROL]),
            "the owner; never the requestor"
        );
        assert_eq!(
            notice.subject(),
            "[myisp #1] Resolved by the requestor: Invoice twice"
        );
        assert_eq!(notice.header("Auto-Submitted"), "auto-generated");
        assert_eq!(notice.header("In-Reply-To"), done.message_id());
        assert!(
            notice.body().contains("Sorted, thanks."),
            "{}",
            notice.body()
        );
        assert!(notice.body().contains(JOHN), "{}", notice.body());

        let other = desk.open_ticket(&john("Printer"));
        desk.clear_mail();
        desk.send(
            &ticket_addr(other, "-done"),
            &john(&format!("Re: [myisp #{other}] Printer")),
        )
        .ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        assert_eq!(
            mails[0].rcpts(),
            set(&[ADMIN]),
            "nobody owns it: the admins"
        );
    }
}

#[test]
fn staff_closing_by_mail_tell_the_requestor_and_no_staff() {
    let desk = Desk::with_config(TEAM);
    let n = billing_ticket(&desk);
    desk.send(
        &ticket_addr(n, "-done"),
        &mail("Carol <carol@example.org>", "done"),
    )
    .ok();
    let mails = desk.take_mail();
    assert_eq!(reached(&mails), set(&[JOHN]), "{:?}", summary(&mails));
    assert!(
        mails[0].body().contains(&format!("by {CAROL_NAME}.")),
        "{}",
        mails[0].body()
    );
}

// -------------------------------------------------------------- spam

#[test]
fn members_hear_nothing_of_a_ticket_in_spam() {
    for desk in Desk::both(TEAM) {
        let spam = john("Cheap pills")
            .header("To", BILLING)
            .header("X-Spam-Flag", "YES");
        let n = desk.send(BILLING, &spam).ok().json()["ticket"]
            .as_i64()
            .unwrap();
        assert_eq!(desk.show(n)["queue"], "spam");
        desk.send(&ticket_addr(n, ""), &as_john_on(n, "buy now"))
            .ok();
        desk.run(&["assign", &n.to_string(), CAROL], b"").ok();
        desk.send(&ticket_addr(n, "-done"), &as_john_on(n, "x"))
            .ok();
        assert!(desk.take_mail().is_empty(), "mail about a ticket in spam");
    }
}

// -------------------------------------------------------- names shown

#[test]
fn show_names_staff_and_json_keeps_their_addresses() {
    for desk in Desk::both(TEAM) {
        let n = billing_ticket(&desk).to_string();
        desk.run(&["assign", &n, CAROL], b"").ok();
        desk.run(&["reply", &n, "--as", CAROL], b"Refunded.\n").ok();
        desk.run(&["comment", &n, "--as", DAVE], b"Checked the ledger.\n")
            .ok();
        desk.run(&["close", &n, "--as", CAROL], b"").ok();
        let text = desk.run(&["show", &n], b"").ok().stdout;
        for want in [
            &format!("Owner:     {CAROL_NAME} <{CAROL}>") as &str,
            &format!("Stef Admin gave the ticket to {CAROL_NAME}"),
            &format!("{CAROL_NAME} wrote"),
            "Dave Hill commented (staff only)",
            &format!("{CAROL_NAME} changed the status from open to resolved"),
            "john@example.com opened the ticket",
        ] {
            assert!(text.contains(want), "{want:?} not in\n{text}");
        }
        let t = desk.show(n.parse().unwrap());
        assert_eq!(t["owner"], CAROL);
        let authors: Vec<&str> = t["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["author"].as_str().unwrap())
            .collect();
        assert!(
            authors.contains(&CAROL) && authors.contains(&DAVE),
            "{authors:?}"
        );
        assert!(
            t.get("owner_name").is_none(),
            "JSON keeps the addresses: {t}"
        );
        // The resolved notice names who resolved it.
        let mails = desk.take_mail();
        let resolved = mails
            .iter()
            .find(|m| m.subject().contains("Resolved"))
            .expect("the resolved notice");
        assert!(
            resolved
                .body()
                .replace("\r\n", "\n")
                .contains(&format!("resolved\nby {CAROL_NAME}.")),
            "{}",
            resolved.body()
        );
    }
}

#[test]
fn pages_show_staff_by_their_names() {
    let (desk, server, cookie) = served();
    let n = billing_ticket(&desk);
    desk.run(&["assign", &n.to_string(), CAROL], b"").ok();
    desk.run(&["reply", &n.to_string(), "--as", CAROL], b"Refunded.\n")
        .ok();
    let c = [("Cookie", cookie.as_str())];
    let page = server.get(&format!("/tickets/{n}"), &c).status(200).body;
    let carol = "Jones, Carol"; // the HTML of CAROL_NAME: no escaping needed
    for want in [
        format!("<dd><span title=\"{CAROL}\">{carol}</span></dd>"),
        format!("<strong title=\"{CAROL}\">{carol}</strong> wrote"),
        format!("<span title=\"{ADMIN}\">Stef Admin</span> gave the ticket to {carol}"),
        format!("<option value=\"{CAROL}\" selected>{carol}</option>"),
        format!("<option value=\"{DAVE}\">Dave Hill</option>"),
        format!("<option value=\"{MEMBER}\">{MEMBER}</option>"),
        format!("<span class=\"who\" title=\"{ADMIN}\">Stef Admin</span>"),
    ] {
        assert!(page.contains(&want), "{want} not in\n{page}");
    }
    let list = server.get("/tickets", &c).status(200).body;
    assert!(
        list.contains(&format!("<td class=\"c-owner\">{carol}</td>")),
        "{list}"
    );
    assert!(
        list.contains(&format!("<option value=\"{DAVE}\">Dave Hill</option>")),
        "{list}"
    );
    let board = server.get("/", &c).status(200).body;
    let lanes = board
        .split("data-lanes=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the board's lanes")
        .replace("&quot;", "\"")
        .replace("&#x22;", "\"")
        .replace("&#34;", "\"");
    let lanes: Value = serde_json::from_str(&lanes).unwrap_or_else(|e| panic!("{e}: {lanes}"));
    assert_eq!(
        lanes,
        json!([
            {"label": "nobody", "owner": ""},
            {"label": "Stef Admin", "owner": ADMIN},
            {"label": CAROL_NAME, "owner": CAROL},
            {"label": MEMBER, "owner": MEMBER},
            {"label": "Dave Hill", "owner": DAVE},
        ])
    );
    // The API keeps bare addresses.
    let t = server
        .get(&format!("/api/tickets/{n}"), &c)
        .status(200)
        .json();
    assert_eq!(t["owner"], CAROL);
}

// -------------------------------------------------------------- config

#[test]
fn a_bad_staff_entry_is_a_config_error_naming_the_key() {
    let desk = Desk::new();
    desk.add_config("[staff]\nmembers = [\"Carol Jones\"]\n");
    let run = desk.run(&["list"], b"").code(78);
    assert!(run.stderr.contains("staff.members"), "{run}");
    assert!(run.stderr.contains("Carol Jones"), "{run}");
    let run = desk
        .deliver(SUBMIT, JOHN, &john("Printer").bytes())
        .code(75);
    assert!(run.stderr.contains("staff.members"), "{run}");
}

#[test]
fn queue_members_are_staff_who_may_act() {
    let desk = Desk::with_config(TEAM);
    let n = billing_ticket(&desk).to_string();
    desk.run(&["take", &n, "--as", DAVE], b"").ok();
    assert_eq!(desk.show(n.parse().unwrap())["owner"], DAVE);
    // Their mail counts as staff's: relayed to the requestor.
    desk.send(
        &ticket_addr(1, ""),
        &mail("Dave <dave@example.org>", "Re: [myisp #1] Invoice twice").body("Done.\n"),
    )
    .ok();
    let mails = desk.take_mail();
    assert_eq!(
        Desk::one_to(&mails, JOHN).display_name().as_deref(),
        Some("Dave Hill via Billing")
    );
}
