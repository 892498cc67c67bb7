//! The checks the fuzz targets run on each input, written against
//! pipedesk's public API only, so that `tests/properties.rs` can include
//! this file (`#[path]`) and replay the seed corpus with stable Rust.
//!
//! One delivery, in process: the first byte picks the envelope (recipient
//! and sender), the rest is the message. It must be stored byte-exact (or
//! be a duplicate, a bounce kept without a ticket), or refused for the
//! contract's reasons only (empty; no such ticket); `pipedesk check`'s
//! invariants must hold; no outgoing mail may carry a header or recipient
//! that came from the message; text for a terminal holds no control
//! characters. Each input runs in a transaction that is rolled back
//! (`Desk::rehearse_and_read`), on a database prepared once (ticket #1 exists,
//! from john@example.com).

use std::cell::RefCell;
use std::sync::Arc;

use pipedesk::config::Config;
use pipedesk::desk::Error;
use pipedesk::desk::{Desk, Incoming};
use pipedesk::model::{Action, MailKind};
use pipedesk::{inbound, store, term};

const CONFIG: &str = "[site]\nname = \"pipedesk\"\ndomains = [\"help.example.org\"]\n\
    [[queues]]\nname = \"web\"\naddress = \"webmaster\"\n\
    [staff]\nadmins = [\"stef@example.org\"]\nmembers = [\"kim@example.org\"]\n\
    [policy]\ntrusted_authserv_id = \"mx.help.example.org\"\n\
    [mail]\ntransport = \"file\"\n";

const RECIPIENTS: &[&str] = &[
    "submit@help.example.org",
    "webmaster@help.example.org",
    "ticket-1@help.example.org",
    "ticket-1-comment@help.example.org",
    "ticket-1-done@help.example.org",
    "ticket-2@help.example.org",
    "nobody@help.example.org",
    "someone@elsewhere.example",
];
const SENDERS: &[Option<&str>] = &[
    None,
    Some(""),
    Some("<>"),
    Some("MAILER-DAEMON"),
    Some("john@example.com"),
    Some("stef@example.org"),
];

struct Fixture {
    desk: Desk,
}

fn fixture() -> Fixture {
    // libFuzzer's hook aborts on any panic, even one that pipedesk catches
    // and handles (a mail-parser panic, see `inbound::guarded`).
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !inbound::in_guarded_parse() {
            abort(info);
        }
    }));
    let config = Arc::new(Config::parse(CONFIG).expect("fuzz config parses"));
    let mut desk = Desk::with_store(config, store::in_memory().expect("in-memory database"));
    let first = b"From: John <john@example.com>\nMessage-ID: <first@example.com>\nSubject: printer\n\nbroken\n";
    let facts = inbound::parse(first);
    let msg = Incoming {
        raw: first,
        facts: &facts,
        recipient: "submit@help.example.org",
        envelope_sender: Some("john@example.com"),
        local: false,
    };
    // Queued, not sent: the mail stays in the outbox of the fixture.
    desk.deliver(&msg, true, chrono::Utc::now())
        .expect("ticket #1");
    Fixture { desk }
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

/// One delivery of `data` (first byte: envelope; rest: the message).
pub fn deliver_path(data: &[u8]) {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let recipient = RECIPIENTS[usize::from(selector & 0x7) % RECIPIENTS.len()];
    let sender = SENDERS[usize::from(selector >> 3) % SENDERS.len()];
    FIXTURE.with(|f| {
        let mut f = f.borrow_mut();
        let f = f.get_or_insert_with(fixture);
        check_one(&mut f.desk, message, recipient, sender);
    });
}

fn check_one(desk: &mut Desk, data: &[u8], recipient: &str, sender: Option<&str>) {
    let raw = inbound::strip_from_line(data);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return; // deliver refuses it: 65, empty.
    }
    let facts = inbound::parse(raw);
    // What `show` and `attachments` do with a stored message.
    for text in [&facts.subject, &facts.body] {
        let shown = term::for_terminal(text);
        assert!(
            !shown
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "a control character reaches the terminal"
        );
    }
    let listed = inbound::attachments_of(raw);
    assert_eq!(inbound::attachment_contents(raw).len(), listed.len());

    let envelope_sender = sender.or(facts.return_path.as_deref());
    let msg = Incoming {
        raw,
        facts: &facts,
        recipient,
        envelope_sender,
        local: false,
    };
    // SQLite's own integrity check is slow next to one delivery: the
    // project's invariants every time, the whole check now and then.
    thread_local!(static RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let n = RUNS.with(|r| {
        r.set(r.get().wrapping_add(1));
        r.get()
    });
    let result = desk
        .rehearse_and_read(&msg, chrono::Utc::now(), n % 64 == 1)
        .map(|r| {
            let outcome = &r.outcome;
            let stored = r.stored.as_ref().expect("stored under its key");
            if outcome.action != Action::Duplicate {
                assert_eq!(stored.raw, raw, "stored byte-exact ({:?})", outcome.action);
            }
            if let Some(problems) = &r.problems {
                assert!(problems.is_empty(), "check: {problems:?}");
            }
            let kinds = &r.kinds;
            assert_eq!(
                kinds.len(),
                outcome.outbox.len(),
                "every queued mail is the ticket's"
            );
            // Forged senders: without a verdict from our MTA, nobody is
            // staff, so nothing is relayed to the requestor as a staff reply.
            let our_verdict = facts
                .auth_results
                .iter()
                .any(|h| h.to_ascii_lowercase().contains("mx.help.example.org"));
            if !our_verdict {
                assert!(
                    !kinds.contains(&MailKind::StaffReply),
                    "relayed as staff without our MTA's verdict"
                );
            }
            // Outgoing mail: only our headers, only known recipients.
            for mail in &r.queued {
                for r in &mail.recipients {
                    assert!(
                        r.parse::<lettre_free::Addr>().is_ok(),
                        "an outgoing recipient that is not an address: {r:?}"
                    );
                }
                check_headers(&mail.raw);
            }
        });
    if let Err(e) = result {
        match Error::find(&e) {
            // 67: an unknown address at our domains, or a ticket that does
            // not exist; nothing may have been written.
            Some(Error::NoTicket(_) | Error::NoAddress(_)) => {}
            _ => panic!("deliver would exit 75 on this message forever: {e:#}"),
        }
    }
}

/// The headers an outgoing mail (or one of its parts) may carry.
const OUR_HEADERS: &[&str] = &[
    "from",
    "reply-to",
    "subject",
    "message-id",
    "date",
    "to",
    "cc",
    "in-reply-to",
    "references",
    "auto-submitted",
    "x-loop",
    "x-auto-response-suppress",
    "thread-topic",
    "thread-index",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
];

fn check_headers(mail: &[u8]) {
    let parsed = mail_parser::MessageParser::default()
        .parse(mail)
        .expect("our own mail parses");
    for part in &parsed.parts {
        for header in part.headers() {
            let name = header.name().to_ascii_lowercase();
            assert!(
                OUR_HEADERS.contains(&name.as_str()),
                "outgoing mail has a header {name:?}"
            );
        }
    }
}

/// A plain check that a recipient is one address: no spaces, no controls,
/// one `@` with something on each side.
mod lettre_free {
    pub struct Addr;

    impl std::str::FromStr for Addr {
        type Err = ();
        fn from_str(s: &str) -> Result<Addr, ()> {
            let ok = s
                .rsplit_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
                && !s.chars().any(|c| c.is_whitespace() || c.is_control());
            ok.then_some(Addr).ok_or(())
        }
    }
}

/// Any text → the config parser: a `Config` or an error, never a panic.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Config::parse(text);
    }
}

/// How much text an HTML body of `n` bytes may become: linear in `n`. The
/// width html2text lays text out in is chosen so that a table's padded
/// lines stay within 64 bytes a byte of markup (`inbound/mime/html.rs`);
/// quoting adds `> ` for each level on each line (200 levels at most, a
/// `<br>` a line: 100 bytes a byte).
pub fn html_text_bound(n: usize) -> usize {
    256 * n + 4096
}

/// Any bytes (read as UTF-8, lossily) → an HTML body's text: never a
/// panic, and no more text than `html_text_bound`.
pub fn html(data: &[u8]) {
    let markup = String::from_utf8_lossy(data);
    let text = inbound::html_to_text(&markup);
    assert!(
        text.len() <= html_text_bound(markup.len()),
        "{} bytes of HTML made {} bytes of text",
        markup.len(),
        text.len()
    );
}
