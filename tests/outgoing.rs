//! Outgoing mail (SPEC §4) and the staff commands (SPEC §5) through the
//! real binary, asserted mail by mail: recipients from the envelope lettre's
//! file transport writes beside each mail, headers and body from the mail.

mod common;

use common::*;
use serde_json::{json, Value};

const MARIA: &str = "maria@example.net";

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The headers every mail from us carries (SPEC §4), for ticket `n`, caused
/// by the message with Message-ID `cause` (with brackets).
#[track_caller]
fn assert_our_headers(m: &Sent, n: i64, cause: Option<&str>, reply_to: &str) {
    let subject = m.subject();
    assert!(
        subject.contains(&format!("[myisp #{n}]")),
        "subject {subject:?}"
    );
    assert_eq!(m.header("Reply-To"), reply_to, "{}", m.head());
    assert_eq!(m.header("X-Loop"), "myisp", "{}", m.head());
    let id = m.header("Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with("@help.example.org>"),
        "Message-ID {id}"
    );
    if let Some(cause) = cause {
        assert_eq!(m.header("In-Reply-To"), cause, "{}", m.head());
        assert!(m.header("References").contains(cause), "{}", m.head());
    }
    assert_eq!(m.to_and_cc(), m.rcpts(), "To/Cc name every recipient");
}

/// A new ticket from john, with its mail already looked at.
fn desk_with_ticket(config: &str) -> (Desk, Mail) {
    let desk = Desk::with_config(config);
    let first = john("Email doesn't work");
    desk.open_ticket(&first);
    desk.clear_mail();
    (desk, first)
}

// ------------------------------------------------------------- the §4 table

#[test]
fn new_ticket_autoreplies_to_the_requestor_with_the_null_sender() {
    for desk in Desk::both("") {
        let m = john("Email doesn't work");
        desk.open_ticket(&m);
        let mails = desk.take_mail();
        let auto = Desk::one_to(&mails, JOHN);
        assert_eq!(auto.rcpts(), set(&[JOHN]));
        assert_eq!(auto.reverse_path, None, "RFC 3834 §3.3: the null sender");
        assert_eq!(auto.header("Auto-Submitted"), "auto-replied");
        assert_our_headers(auto, 1, Some(&m.message_id()), "ticket-1@help.example.org");
        assert_eq!(auto.subject(), "[myisp #1] AutoReply: Email doesn't work");
        assert!(auto.header("From").contains("ticket-1@help.example.org"));
        assert!(!auto.body().trim().is_empty());
    }
}

#[test]
fn new_ticket_sends_a_notice_to_every_admin() {
    let desk =
        Desk::with_config("[staff]\nadmins = [\"stef@example.org\", \"boss@example.org\"]\n");
    let m = john("Email doesn't work");
    desk.open_ticket(&m);
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 2, "{:?}", summary(&mails));
    let notice = Desk::one_to(&mails, ADMIN);
    assert_eq!(notice.rcpts(), set(&["boss@example.org", ADMIN]));
    assert_eq!(
        notice.reverse_path.as_deref(),
        Some("ticket-1@help.example.org")
    );
    assert_eq!(notice.header("Auto-Submitted"), "auto-generated");
    assert_our_headers(
        notice,
        1,
        Some(&m.message_id()),
        "ticket-1@help.example.org",
    );
    assert!(
        notice.body().contains("it does not work"),
        "{}",
        notice.body()
    );
    assert!(
        mails
            .iter()
            .all(|m| !m.forward_path.contains(&MEMBER.into())),
        "members are not admins"
    );
}

#[test]
fn outside_correspondence_goes_to_the_admins_when_nobody_owns_the_ticket() {
    let (desk, _) = desk_with_ticket("");
    let reply = john("Re: [myisp #1] Email doesn't work").body("Still broken.\n");
    desk.send(SUBMIT, &reply).ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let m = &mails[0];
    assert_eq!(m.rcpts(), set(&[ADMIN]));
    assert_eq!(m.reverse_path.as_deref(), Some("ticket-1@help.example.org"));
    assert_eq!(m.header("Auto-Submitted"), "auto-generated");
    assert_our_headers(m, 1, Some(&reply.message_id()), "ticket-1@help.example.org");
    assert!(m.body().contains("Still broken."), "{}", m.body());
}

#[test]
fn outside_correspondence_goes_to_the_owner() {
    let (desk, _) = desk_with_ticket("");
    desk.run(&["take", "1", "--as", MEMBER], b"").ok();
    desk.send(&ticket_addr(1, ""), &john("more")).ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[MEMBER]));
}

#[test]
fn staff_correspondence_by_mail_goes_to_requestor_and_watchers() {
    for desk in Desk::both("") {
        let first = john("Email doesn't work").header("Cc", "Maria <maria@example.net>");
        desk.open_ticket(&first);
        desk.clear_mail();
        let reply = stef("Re: [myisp #1] Email doesn't work")
            .header("MIME-Version", "1.0")
            .header("Content-Type", "multipart/mixed; boundary=\"b\"")
            .body(
                "--b\nContent-Type: text/plain; charset=utf-8\n\nTry again now.\n\
                 --b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"howto.pdf\"\n\
                 Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n",
            );
        let run = desk.send(&ticket_addr(1, ""), &reply).ok();
        assert_eq!(run.json()["action"], "correspond");
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
        let m = &mails[0];
        assert_eq!(m.rcpts(), set(&[JOHN, MARIA]));
        assert_eq!(
            m.header("From"),
            "\"Stef via Support\" <ticket-1@help.example.org>"
        );
        assert_eq!(m.reverse_path.as_deref(), Some("ticket-1@help.example.org"));
        // It answers john's own message, not stef's, which john never saw.
        assert_our_headers(m, 1, Some(&first.message_id()), "ticket-1@help.example.org");
        assert_eq!(
            m.headers("Auto-Submitted"),
            Vec::<String>::new(),
            "a person wrote it"
        );
        assert!(m.body().contains("Try again now."), "{}", m.body());
        assert_eq!(
            m.attachments(),
            [(
                "howto.pdf".to_string(),
                "application/pdf".to_string(),
                b"%PDF-1.4\n".to_vec()
            )]
        );
        assert_eq!(desk.show(1)["status"], "open", "staff acted: new → open");
    }
}

#[test]
fn comment_goes_to_owner_and_admins_except_its_author() {
    let (desk, _) =
        desk_with_ticket("[staff]\nadmins = [\"stef@example.org\", \"boss@example.org\"]\n");
    desk.run(&["take", "1", "--as", MEMBER], b"").ok();
    let c = stef("internal").body("his mailbox is full\n");
    desk.send(&ticket_addr(1, "-comment"), &c).ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let m = &mails[0];
    assert_eq!(m.rcpts(), set(&["boss@example.org", MEMBER]));
    assert_eq!(m.reverse_path.as_deref(), Some("ticket-1@help.example.org"));
    assert_eq!(
        m.headers("Auto-Submitted"),
        Vec::<String>::new(),
        "RFC 3834 §5: a comment is a message a person wrote"
    );
    assert_our_headers(
        m,
        1,
        Some(&c.message_id()),
        "ticket-1-comment@help.example.org",
    );
    assert!(m.body().contains("his mailbox is full"), "{}", m.body());
    desk.send(&ticket_addr(1, "-comment"), &ann("checked")).ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&["boss@example.org", ADMIN]));
}

#[test]
fn resolve_tells_the_requestor() {
    let (desk, first) = desk_with_ticket("");
    let done = stef("fixed");
    desk.send(&ticket_addr(1, "-done"), &done).ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let m = &mails[0];
    assert_eq!(m.rcpts(), set(&[JOHN]));
    assert_eq!(m.reverse_path.as_deref(), Some("ticket-1@help.example.org"));
    assert_eq!(m.header("Auto-Submitted"), "auto-generated");
    assert_our_headers(m, 1, Some(&first.message_id()), "ticket-1@help.example.org");
    assert!(m.subject().contains("Resolved"), "{}", m.subject());
}

#[test]
fn requestor_closing_their_own_ticket_is_not_told() {
    let (desk, _) = desk_with_ticket("");
    desk.send(&ticket_addr(1, "-done"), &john("fixed it myself"))
        .ok();
    let mails = desk.take_mail();
    assert!(
        mails.iter().all(|m| !m.forward_path.contains(&JOHN.into())),
        "{:?}",
        summary(&mails)
    );
    // Staff are: the admins, where nobody owns it (SPEC §4; tests/people.rs).
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[ADMIN]));
}

// ---------------------------------------------------------------- threading

/// The ids of a References or In-Reply-To value, without brackets.
fn ids(value: &str) -> Vec<String> {
    value
        .split_whitespace()
        .map(|id| id.trim_matches(|c| c == '<' || c == '>').to_string())
        .collect()
}

#[test]
fn mail_to_the_requestor_answers_their_last_message_with_its_references() {
    for desk in Desk::both("") {
        // john answers from a thread of his own: twelve References.
        let first = john("Email doesn't work");
        desk.open_ticket(&first);
        let theirs: Vec<String> = (1..=12)
            .map(|i| format!("<r{i}@mail.example.com>"))
            .collect();
        let second = john("Re: [myisp #1] Email doesn't work")
            .header("References", &theirs.join(" "))
            .body("Still broken.\n");
        desk.send(&ticket_addr(1, ""), &second).ok();
        desk.clear_mail();
        // A staff reply, by mail and on the command line, and the resolved
        // notice all answer john's second message.
        let reply = stef("Re: [myisp #1] Email doesn't work").body("Try again now.\n");
        desk.send(&ticket_addr(1, ""), &reply).ok();
        desk.run(&["reply", "1"], b"And now?\n").ok();
        desk.run(&["close", "1"], b"").ok();
        let mails = desk.take_mail();
        assert_eq!(mails.len(), 3, "{:?}", summary(&mails));
        let mut want: Vec<String> = ids(&theirs[0]);
        want.extend(theirs[3..].iter().flat_map(|r| ids(r)));
        want.push(ids(&second.message_id()).remove(0));
        for m in &mails {
            assert_eq!(m.rcpts(), set(&[JOHN]));
            assert_eq!(m.header("In-Reply-To"), second.message_id(), "{}", m.head());
            assert_eq!(ids(&m.header("References")), want, "{}", m.head());
        }
        assert_eq!(mails[0].headers("Auto-Submitted"), Vec::<String>::new());
        assert_eq!(mails[1].headers("Auto-Submitted"), Vec::<String>::new());
        assert_eq!(mails[2].header("Auto-Submitted"), "auto-generated");
    }
}

#[test]
fn mail_to_a_requestor_who_never_wrote_answers_our_last_mail_to_them() {
    let desk = Desk::new();
    // john's only message has no Message-ID: there is nothing of his to
    // answer, so mail to him answers the last mail we sent him.
    let first = john("Printer").header("Message-ID", "");
    desk.open_ticket(&first);
    let auto = desk.take_mail();
    let auto = Desk::one_to(&auto, JOHN);
    assert_eq!(
        auto.headers("In-Reply-To"),
        Vec::<String>::new(),
        "nothing to answer"
    );
    let ours = auto.header("Message-ID");
    desk.run(&["reply", "1"], b"Which printer?\n").ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].header("In-Reply-To"), ours, "{}", mails[0].head());
    assert_eq!(mails[0].header("References"), ours, "{}", mails[0].head());
}

#[test]
fn mail_to_staff_answers_the_message_that_caused_it() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    let reply = john("Re: [myisp #1] Printer")
        .header(
            "References",
            "<root@mail.example.com> <mid@mail.example.com>",
        )
        .body("Any news?\n");
    desk.send(&ticket_addr(1, ""), &reply).ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let m = Desk::one_to(&mails, ADMIN);
    assert_eq!(m.header("In-Reply-To"), reply.message_id());
    assert_eq!(
        ids(&m.header("References")),
        ["root@mail.example.com", "mid@mail.example.com"]
            .into_iter()
            .map(String::from)
            .chain(ids(&reply.message_id()))
            .collect::<Vec<_>>()
    );
    assert_eq!(m.header("Auto-Submitted"), "auto-generated", "a notice");
}

// -------------------------------------------------------------- suppression

/// Opens a ticket with `m` and returns whether the requestor got an
/// autoreply, checking the admin notice still went out (unless `quiet`).
fn autoreplied(m: &Mail, quiet: bool) -> bool {
    let desk = Desk::new();
    let run = desk.send(SUBMIT, m).ok();
    assert_eq!(run.json()["action"], "create", "{run}");
    let mails = desk.take_mail();
    let requestor = envelope_of(m).to_ascii_lowercase();
    let notices = mails
        .iter()
        .filter(|x| x.forward_path.contains(&ADMIN.into()))
        .count();
    assert_eq!(
        notices,
        usize::from(!quiet),
        "admin notice: {:?}",
        summary(&mails)
    );
    mails.iter().any(|x| x.forward_path.contains(&requestor))
}

#[test]
fn disabled_autoreplies_are_not_sent() {
    let desk = Desk::with_config("[autoreply]\nenabled = false\n");
    desk.open_ticket(&john("Printer"));
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[ADMIN]));
}

#[test]
fn auto_submitted_mail_gets_no_autoreply() {
    for v in [
        "auto-replied",
        "auto-generated",
        "auto-notified; owner-email=x@example.com",
    ] {
        assert!(
            !autoreplied(&john("Out of office").header("Auto-Submitted", v), false),
            "{v}"
        );
    }
    assert!(autoreplied(
        &john("Hi").header("Auto-Submitted", "no"),
        false
    ));
}

#[test]
fn bulk_junk_and_list_precedence_get_no_autoreply() {
    for v in ["bulk", "junk", "list", "Bulk"] {
        assert!(
            !autoreplied(&john("News").header("Precedence", v), false),
            "{v}"
        );
    }
    assert!(autoreplied(
        &john("Hi").header("Precedence", "first-class"),
        false
    ));
}

#[test]
fn mailing_list_mail_gets_no_autoreply() {
    let m = john("[users] question").header("List-Id", "Users <users.lists.example.com>");
    assert!(!autoreplied(&m, false));
    let m = john("newsletter").header("List-Unsubscribe", "<mailto:leave@lists.example.com>");
    assert!(!autoreplied(&m, false));
}

#[test]
fn our_own_x_loop_gets_no_autoreply() {
    assert!(!autoreplied(&john("loop").header("X-Loop", "myisp"), false));
    assert!(autoreplied(
        &john("other loop").header("X-Loop", "otherdesk"),
        false
    ));
}

#[test]
fn robots_get_no_autoreply() {
    for from in [
        "noreply@example.com",
        "no-reply@shop.example.com",
        "postmaster@example.com",
        "bounces+123@lists.example.com",
        // Issue 10: the shapes real robots write from, which got autoreplies.
        "gmail-noreply@google.com",
        "dmarc-noreply@linkedin.com",
        "noreply-dmarc-support@google.com",
        "opendmarc-postmaster@mx.example.net",
        "DoNotReply@bank.example.com",
        "list-owner@lists.example.com",
    ] {
        assert!(!autoreplied(&mail(from, "automatic"), false), "{from}");
    }
}

#[test]
fn automatic_mail_that_opens_a_ticket_gets_no_autoreply_but_staff_hear_of_it() {
    for m in [
        john("Away").header("X-Autoreply", "yes"),
        john("Away").header("Precedence", "auto_reply"),
        john("Read: x").header(
            "Content-Type",
            "multipart/report; report-type=disposition-notification; boundary=b",
        ),
    ] {
        let desk = Desk::new();
        desk.open_ticket(&m);
        let mails = desk.take_mail();
        assert!(
            mails.iter().all(|x| !x.rcpts().contains(JOHN)),
            "autoreplied: {:?}",
            summary(&mails)
        );
        Desk::one_to(&mails, ADMIN);
    }
}

/// Outlook threads by Thread-Index: one 22-byte header for a ticket's
/// every mail, another for another ticket's (SPEC §4).
#[test]
fn every_mail_of_a_ticket_carries_its_thread_index_and_topic() {
    use base64::Engine as _;
    let (desk, _) = desk_with_ticket("");
    desk.open_ticket(&mail("Maria <maria@example.net>", "Scanner"));
    desk.send(&ticket_addr(1, ""), &stef("Re: [myisp #1] Printer"))
        .ok();
    desk.run(&["close", "1"], b"").ok();
    let mails = desk.outbox();
    assert!(mails.len() >= 5, "{:?}", summary(&mails));
    let header_of = |m: &Sent| {
        let index = base64::engine::general_purpose::STANDARD
            .decode(m.header("Thread-Index"))
            .expect("Thread-Index is base64");
        assert!(
            index.len() >= 22 && (index.len() - 22).is_multiple_of(5),
            "{index:?}"
        );
        index[..22].to_vec()
    };
    let of_ticket = |n: i64| -> Vec<&Sent> {
        mails
            .iter()
            .filter(|m| m.subject().contains(&format!("[myisp #{n}]")))
            .collect()
    };
    let one: Vec<Vec<u8>> = of_ticket(1).into_iter().map(header_of).collect();
    assert!(
        one.len() >= 4 && one.windows(2).all(|w| w[0] == w[1]),
        "{one:?}"
    );
    let two: Vec<Vec<u8>> = of_ticket(2).into_iter().map(header_of).collect();
    assert!(!two.is_empty() && two.iter().all(|h| *h != one[0]));
    for m in of_ticket(1) {
        assert_eq!(m.header("Thread-Topic"), "Email doesn't work");
    }
}

#[test]
fn spam_and_bounces_cause_no_mail_at_all() {
    let desk = Desk::new();
    desk.send(SUBMIT, &john("pills").header("X-Spam-Flag", "YES"))
        .ok();
    desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    desk.deliver(&ticket_addr(2, ""), "", &john("Undeliverable").bytes())
        .ok();
    desk.deliver(SUBMIT, "<>", &john("Re: [myisp #2] Undeliverable").bytes())
        .ok();
    assert!(desk.take_mail().is_empty());
}

#[test]
fn our_own_addresses_never_get_mail() {
    let desk = Desk::new();
    let m = mail("Help <ticket-5@help.example.org>", "a loop")
        .header("Cc", "submit@help.example.org, Maria <maria@example.net>");
    let run = desk
        .deliver(SUBMIT, "ticket-5@help.example.org", &m.bytes())
        .ok();
    assert_eq!(run.json()["action"], "create");
    // Staff answers: to the watchers that are people, never to us.
    desk.send(&ticket_addr(1, ""), &stef("answer")).ok();
    let mails = desk.take_mail();
    for m in &mails {
        for r in &m.forward_path {
            assert!(
                !r.ends_with("@help.example.org"),
                "mail to {r}: {:?}",
                summary(&mails)
            );
        }
    }
    assert!(mails.iter().any(|m| m.forward_path.contains(&MARIA.into())));
}

#[test]
fn the_author_is_not_told_of_their_own_message() {
    let desk = Desk::new();
    let m = stef("I open this myself");
    desk.open_ticket(&m);
    let mails = desk.take_mail();
    // The requestor's own autoreply is the one exception.
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].header("Auto-Submitted"), "auto-replied");
    // Staff answering: the author is not among the recipients.
    desk.send(&ticket_addr(1, "-comment"), &stef("note to self"))
        .ok();
    assert!(desk.take_mail().is_empty());
}

#[test]
fn autoreplies_are_limited_per_sender_per_day() {
    let desk = Desk::with_config("[autoreply]\nper_sender_per_day = 2\n");
    for subject in ["one", "two", "three"] {
        desk.open_ticket(&john(subject));
    }
    let mails = desk.take_mail();
    let autoreplies = mails.iter().filter(|m| m.forward_path == [JOHN]).count();
    assert_eq!(autoreplies, 2, "{:?}", summary(&mails));
    assert_eq!(mails.len(), 5, "every admin notice still goes");
    // Somebody else still gets theirs.
    desk.open_ticket(&mail("maria@example.net", "four"));
    assert!(desk.take_mail().iter().any(|m| m.forward_path == [MARIA]));
}

#[test]
fn encoded_crlf_in_incoming_headers_never_adds_a_header_or_recipient() {
    const EVIL: &str = "=?utf-8?q?hi=0D=0ABcc:_victim@example.net?=";
    let desk = Desk::new();
    let m = mail(&format!("{EVIL} <john@example.com>"), EVIL).header("Cc", MARIA);
    desk.open_ticket(&m);
    let reply = john(&format!("Re: [myisp #1] {EVIL}"));
    desk.send(SUBMIT, &reply).ok();
    let staff = staff_mail(&format!("{EVIL} <stef@example.org>"), EVIL)
        .header("MIME-Version", "1.0")
        .header("Content-Type", "multipart/mixed; boundary=\"b\"")
        .body(&format!(
            "--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: text/plain\n\
             Content-Disposition: attachment; filename=\"{EVIL}\"\n\nlog\n--b--\n"
        ));
    desk.send(&ticket_addr(1, ""), &staff).ok();
    desk.send(
        &ticket_addr(1, "-done"),
        &staff.clone().header("Message-ID", "<done@x>"),
    )
    .ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 5, "{:?}", summary(&mails));
    for m in &mails {
        for line in m.head().split("\r\n") {
            assert!(
                !line.to_ascii_lowercase().starts_with("bcc"),
                "{}",
                m.head()
            );
        }
        assert!(
            !m.rcpts().iter().any(|r| r.contains("victim")),
            "{:?}",
            m.rcpts()
        );
        assert!(!m.to_and_cc().iter().any(|r| r.contains("victim")));
    }
    let relayed = mails
        .iter()
        .find(|m| m.display_name().is_some_and(|n| n.contains("via Support")))
        .expect("the staff reply was relayed");
    let attached = relayed.attachments();
    assert_eq!(attached.len(), 1, "{}", relayed.text());
    assert!(
        !attached[0].0.contains(['\r', '\n']),
        "filename {:?}",
        attached[0].0
    );
    // Every part header is checked too, not only the top ones.
    for line in relayed.text().split("\r\n") {
        assert!(!line.to_ascii_lowercase().starts_with("bcc"), "{line}");
    }
}

// ---------------------------------------------------------- outbox survival

#[test]
fn failed_send_stays_queued_and_flush_sends_it_once() {
    let desk = Desk::with_config("[mail]\ntransport = \"sendmail\"\nsendmail = \"/bin/false\"\n");
    let run = desk
        .run(
            &["deliver", "--recipient", SUBMIT, "--sender", JOHN],
            &john("Printer").bytes(),
        )
        .ok();
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("pipedesk: warning"), "{run}");
    assert_eq!(desk.ticket_count(), 1, "the message is safe");
    assert!(desk.take_mail().is_empty());
    desk.set_config("");
    desk.run(&["flush", "--force"], b"").ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 2, "{:?}", summary(&mails));
    assert_eq!(
        mails
            .iter()
            .map(|m| m.rcpts())
            .collect::<std::collections::BTreeSet<_>>(),
        [set(&[ADMIN]), set(&[JOHN])].into_iter().collect()
    );
    desk.run(&["flush", "--force"], b"").ok();
    assert!(desk.take_mail().is_empty(), "a second flush sends nothing");
}

// ---------------------------------------------------------- staff commands

fn history(desk: &Desk, n: i64) -> Vec<Value> {
    desk.show(n)["history"].as_array().unwrap().clone()
}

#[test]
fn reply_command_writes_correspondence_and_mails_the_requestor() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer").header("Cc", MARIA));
    desk.clear_mail();
    desk.run(&["reply", "1", "--as", MEMBER], b"Please restart it.\n")
        .ok();
    let h = history(&desk, 1);
    assert_eq!(
        h.iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["author"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [("create", JOHN), ("correspond", MEMBER), ("status", MEMBER)]
    );
    assert_eq!(
        h[1]["body"].as_str().unwrap().trim_end(),
        "Please restart it."
    );
    assert_eq!(desk.show(1)["status"], "open");
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    let m = &mails[0];
    assert_eq!(m.rcpts(), set(&[JOHN, MARIA]));
    assert!(
        m.display_name().unwrap().ends_with("via Support"),
        "{}",
        m.head()
    );
    assert_our_headers(m, 1, None, "ticket-1@help.example.org");
    assert!(m.body().contains("Please restart it."));
}

#[test]
fn comment_command_writes_a_comment_for_staff_only() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    desk.run(&["comment", "1", "--as", MEMBER], b"Toner is empty.\n")
        .ok();
    let h = history(&desk, 1);
    assert_eq!(
        (&h[1]["kind"], &h[1]["author"]),
        (&json!("comment"), &json!(MEMBER))
    );
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[ADMIN]));
    assert_our_headers(&mails[0], 1, None, "ticket-1-comment@help.example.org");
    // The first admin by default, who is the only admin: nobody to tell.
    desk.run(&["comment", "1"], b"ok\n").ok();
    assert_eq!(history(&desk, 1).last().unwrap()["author"], ADMIN);
    assert!(desk.take_mail().is_empty());
}

#[test]
fn close_and_reopen_commands_are_written_in_history() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    desk.run(&["close", "1"], b"").ok();
    let last = history(&desk, 1).pop().unwrap();
    assert_json(
        &json!({"kind": "status", "author": ADMIN, "date": last["date"], "old": "new", "new": "resolved"}),
        &last,
    );
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[JOHN]));
    assert_our_headers(&mails[0], 1, None, "ticket-1@help.example.org");
    desk.run(&["close", "1"], b"").code(1);
    desk.run(&["reopen", "1", "--as", MEMBER], b"").ok();
    let last = history(&desk, 1).pop().unwrap();
    assert_eq!(
        (&last["author"], &last["old"], &last["new"]),
        (&json!(MEMBER), &json!("resolved"), &json!("open"))
    );
    assert!(desk.take_mail().is_empty());
}

#[test]
fn take_and_assign_commands_change_the_owner_in_history() {
    let desk = Desk::new();
    desk.open_ticket(&john("Printer"));
    desk.clear_mail();
    desk.run(&["take", "1", "--as", MEMBER], b"").ok();
    let t = desk.show(1);
    assert_eq!(
        (&t["owner"], &t["status"]),
        (&json!(MEMBER), &json!("open"))
    );
    desk.run(&["assign", "1", ADMIN, "--as", MEMBER], b"").ok();
    let h = history(&desk, 1);
    let changes: Vec<(&str, &str, Option<&str>)> = h[1..]
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["author"].as_str().unwrap(),
                e["new"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("owner", MEMBER, Some(MEMBER)),
            ("status", MEMBER, Some("open")),
            ("owner", MEMBER, Some(ADMIN)),
        ]
    );
    assert_eq!(desk.show(1)["owner"], ADMIN);
    // Taking tells nobody; a ticket given to someone tells them (SPEC §4).
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[ADMIN]));
    desk.run(&["assign", "1", "eve@example.net"], b"").code(1);
    desk.run(&["take", "1", "--as", "eve@example.net"], b"")
        .code(1);
    desk.run(&["reply", "1", "--as", "eve@example.net"], b"hi")
        .code(1);
    assert_eq!(desk.show(1)["owner"], ADMIN);
}

// ------------------------------------------------- the RT article, end to end

/// Dates vary run to run; everything else in `show` is fixed.
fn undated(text: &str) -> String {
    let date =
        regex::Regex::new(r"[A-Z][a-z]{2} +\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d UTC").unwrap();
    let age = regex::Regex::new(r"\(\d+[smhd] ago\)").unwrap();
    age.replace_all(&date.replace_all(text, "DATE"), "(AGE)")
        .into_owned()
}

#[test]
fn request_tracker_exchange_end_to_end() {
    for desk in Desk::both("") {
        // John opens the ticket and gets an autoreply.
        let open = john("Email doesn't work")
            .body("Hi,\n\nI can't send mail since this morning.\n\nJohn\n");
        desk.open_ticket(&open);
        let mails = desk.take_mail();
        let auto = Desk::one_to(&mails, JOHN);
        assert_eq!(auto.header("Auto-Submitted"), "auto-replied");

        // Stef takes it.
        desk.run(&["take", "1", "--as", ADMIN], b"").ok();

        // Stef answers by mail, to ticket-1@.
        let answer = stef("Re: [myisp #1] AutoReply: Email doesn't work")
            .header("To", &ticket_addr(1, ""))
            .header("In-Reply-To", &auto.header("Message-ID"))
            .body("Hi John,\n\nwhich program do you send with?\n\nStef\n");
        let run = desk.send(&ticket_addr(1, ""), &answer).ok();
        assert_eq!(run.json()["action"], "correspond");
        let mails = desk.take_mail();
        let relayed = Desk::one_to(&mails, JOHN);
        assert_eq!(
            relayed.header("From"),
            "\"Stef via Support\" <ticket-1@help.example.org>"
        );

        // John answers the relayed mail; his client keeps the tag.
        let again = john(&relayed.subject())
            .header("In-Reply-To", &relayed.header("Message-ID"))
            .body("Thunderbird.\n");
        let run = desk.send(SUBMIT, &again).ok();
        assert_eq!(run.json()["action"], "correspond");
        assert_eq!(
            Desk::one_to(&desk.take_mail(), ADMIN).rcpts(),
            set(&[ADMIN])
        );

        // An internal comment, then Stef closes by mail.
        let note = stef("Re: [myisp #1] Email doesn't work").body("SMTP auth was off for him.\n");
        desk.send(&ticket_addr(1, "-comment"), &note).ok();
        let close =
            stef("Re: [myisp #1] Email doesn't work").body("Fixed: SMTP auth is on again.\n");
        let run = desk.send(&ticket_addr(1, "-done"), &close).ok();
        assert_eq!(run.json()["action"], "close");
        let mails = desk.take_mail();
        let resolved = Desk::one_to(&mails, JOHN);
        assert!(resolved.subject().contains("Resolved"));

        let shown = desk.run(&["show", "1"], b"").ok();
        assert_same(
            "\
Ticket #1: Email doesn't work
  Queue:     general
  Status:    resolved
  Requestor: john@example.com
  Owner:     stef@example.org
  Opened:    DATE (AGE)

── DATE  john@example.com opened the ticket ───────
Subject: Email doesn't work

Hi,

I can't send mail since this morning.

John
   * DATE  stef@example.org took the ticket
   * DATE  stef@example.org changed the status from new to open

── DATE  stef@example.org wrote ───────────────────
Subject: Re: [myisp #1] AutoReply: Email doesn't work

Hi John,

which program do you send with?

Stef

── DATE  john@example.com wrote ───────────────────
Subject: Re: [myisp #1] AutoReply: Email doesn't work

Thunderbird.

── DATE  stef@example.org commented (staff only) ──
Subject: Re: [myisp #1] Email doesn't work

SMTP auth was off for him.

── DATE  stef@example.org wrote ───────────────────
Subject: Re: [myisp #1] Email doesn't work

Fixed: SMTP auth is on again.
   * DATE  stef@example.org changed the status from open to resolved

Mail sent for this ticket:
   * DATE  autoreply to john@example.com: sent
   * DATE  new-ticket notice to stef@example.org: sent
   * DATE  reply to john@example.com: sent
   * DATE  correspondence notice to stef@example.org: sent
   * DATE  resolved notice to john@example.com: sent
",
            &undated(&shown.stdout),
        );

        let t = desk.show(1);
        let h = t["history"].as_array().unwrap();
        let kinds: Vec<(&str, &str)> = h
            .iter()
            .map(|e| (e["kind"].as_str().unwrap(), e["author"].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("create", JOHN),
                ("owner", ADMIN),
                ("status", ADMIN),
                ("correspond", ADMIN),
                ("correspond", JOHN),
                ("comment", ADMIN),
                ("correspond", ADMIN),
                ("status", ADMIN),
            ]
        );
        assert_eq!(
            (&t["status"], &t["owner"], &t["requestor"], &t["queue"]),
            (
                &json!("resolved"),
                &json!(ADMIN),
                &json!(JOHN),
                &json!("general")
            )
        );
        assert_eq!(h[0]["message_id"], json!(open.message_id()));
        assert_eq!(h[4]["body"].as_str().unwrap().trim_end(), "Thunderbird.");
        assert_eq!(
            (&h[7]["old"], &h[7]["new"]),
            (&json!("open"), &json!("resolved"))
        );
    }
}

// -------------------------------------------------------------------- spam

/// The mail a run of `args` wrote, which must be none (SPEC §4: no mail
/// at all about a ticket in the queue `spam`, whoever acts on it).
#[track_caller]
fn no_mail_from(desk: &Desk, args: &[&str], stdin: &[u8]) {
    desk.run(args, stdin).ok();
    let mails = desk.take_mail();
    assert!(mails.is_empty(), "{args:?} mailed {:?}", summary(&mails));
}

#[test]
fn a_ticket_marked_as_spam_is_resolved_and_causes_no_mail_whoever_acts_on_it() {
    let (desk, _) =
        desk_with_ticket("[staff]\nadmins = [\"stef@example.org\", \"boss@example.org\"]\n");
    no_mail_from(&desk, &["spam", "1"], b"");
    let t = desk.show(1);
    assert_eq!(
        (&t["queue"], &t["status"]),
        (&json!("spam"), &json!("resolved"))
    );
    // The requestor writes again, staff answer, comment, reopen, close:
    // each would mail someone about an ordinary ticket.
    desk.send(&ticket_addr(1, ""), &john("Re: buy now")).ok();
    assert!(
        desk.take_mail().is_empty(),
        "the requestor's mail caused mail"
    );
    no_mail_from(&desk, &["reply", "1", "--as", MEMBER], b"No, thanks.\n");
    no_mail_from(&desk, &["comment", "1", "--as", MEMBER], b"spam indeed\n");
    // The requestor's mail opened it again (SPEC §3), quietly.
    assert_eq!(desk.show(1)["status"], "open");
    no_mail_from(&desk, &["close", "1"], b"");
    no_mail_from(&desk, &["reopen", "1"], b"");
    // What was done is still written down.
    let kinds = desk.kinds(1);
    assert_eq!(
        kinds.iter().filter(|k| *k == "correspond").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"comment".to_string()), "{kinds:?}");
}

#[test]
fn the_spammers_next_ticket_opens_in_spam_without_an_autoreply_until_undone() {
    let (desk, _) = desk_with_ticket("");
    desk.run(&["spam", "1"], b"").ok();
    let next = desk.open_ticket(&john("Cheap pills again"));
    let t = desk.show(next);
    assert_eq!((&t["queue"], &t["status"]), (&json!("spam"), &json!("new")));
    assert!(
        desk.take_mail().is_empty(),
        "an autoreply or notice went out"
    );
    // Another sender is not touched by john's mark.
    let maria = desk.open_ticket(&mail("Maria <maria@example.net>", "Printer"));
    assert_eq!(desk.show(maria)["queue"], "general");
    assert!(
        !desk.take_mail().is_empty(),
        "maria's ticket is an ordinary one"
    );
    // The undo forgets the sender: john is an ordinary requestor again.
    desk.run(&["spam", "1", "--undo"], b"").ok();
    assert!(desk.take_mail().is_empty(), "the undo mailed someone");
    let after = desk.open_ticket(&john("A real question"));
    assert_eq!(desk.show(after)["queue"], "general");
    let mails = desk.take_mail();
    Desk::one_to(&mails, JOHN);
}

#[test]
fn close_quiet_resolves_without_the_resolved_notice() {
    let (desk, _) = desk_with_ticket("");
    desk.open_ticket(&john("Second question"));
    desk.clear_mail();
    no_mail_from(&desk, &["close", "1", "--quiet"], b"");
    assert_eq!(desk.show(1)["status"], "resolved");
    // The same close without --quiet tells the requestor: the flag is what
    // kept the notice back.
    desk.run(&["close", "2"], b"").ok();
    let mails = desk.take_mail();
    assert_eq!(mails.len(), 1, "{:?}", summary(&mails));
    assert_eq!(mails[0].rcpts(), set(&[JOHN]));
}
