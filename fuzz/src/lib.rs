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
//! characters. Each input runs in a transaction that is rolled back, on a
//! database prepared once (ticket #1 exists, from john@example.com).

use std::cell::RefCell;

use pipedesk::config::Config;
use pipedesk::desk::{ingest, Incoming, Mailer};
use pipedesk::exit::Fail;
use pipedesk::{inbound, sanitize, store};
use rusqlite::Connection;

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
    config: Config,
    conn: Connection,
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
    let config = Config::parse(CONFIG).expect("fuzz config parses");
    let conn = store::open_in_memory().expect("in-memory database");
    let first = b"From: John <john@example.com>\nMessage-ID: <first@example.com>\nSubject: printer\n\nbroken\n";
    let facts = inbound::parse(first);
    let msg = Incoming {
        raw: first,
        facts: &facts,
        recipient: "submit@help.example.org",
        envelope_sender: Some("john@example.com"),
        local: false,
    };
    ingest(&conn, &config, &msg, &mut Mailer::new(&config, false)).expect("ticket #1");
    Fixture { config, conn }
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
        f.conn.execute_batch("SAVEPOINT fuzz").expect("savepoint");
        check_one(&f.conn, &f.config, message, recipient, sender);
        f.conn
            .execute_batch("ROLLBACK TO fuzz; RELEASE fuzz")
            .expect("rollback");
    });
}

fn check_one(
    conn: &Connection,
    config: &Config,
    data: &[u8],
    recipient: &str,
    sender: Option<&str>,
) {
    let raw = inbound::strip_from_line(data);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return; // deliver refuses it: 65, empty.
    }
    let facts = inbound::parse(raw);
    // What `show` and `attachments` do with a stored message.
    for text in [&facts.subject, &facts.body] {
        let shown = sanitize::for_terminal(text);
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
    let outbox_before: i64 = count(conn, "SELECT count(*) FROM outbox");
    let mut mailer = Mailer::new(config, false);
    let outcome = match ingest(conn, config, &msg, &mut mailer) {
        Ok(o) => o,
        Err(e) => match e.chain().find_map(|c| c.downcast_ref::<Fail>()) {
            // 67: an unknown address at our domains, or a ticket that does
            // not exist; nothing may have been written.
            Some(Fail::NoSuch(_)) => return,
            _ => panic!("deliver would exit 75 on this message forever: {e:#}"),
        },
    };
    let (sql, key): (&str, &dyn rusqlite::ToSql) = if outcome.action == "duplicate" {
        // Already stored under its Message-ID: once, not twice.
        ("SELECT count(*) FROM messages WHERE key = ?1", &facts.key)
    } else {
        ("SELECT count(*) FROM messages WHERE raw = ?1", &raw)
    };
    let stored: i64 = conn
        .query_row(sql, [key], |r| r.get(0))
        .expect("count stored");
    assert_eq!(stored, 1, "stored byte-exact, once ({})", outcome.action);
    // SQLite's own integrity check is slow next to one delivery: the
    // project's invariants every time, the whole check now and then.
    thread_local!(static RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let n = RUNS.with(|r| {
        r.set(r.get().wrapping_add(1));
        r.get()
    });
    if n % 64 == 1 {
        let problems = store::check(conn).expect("check runs");
        assert!(problems.is_empty(), "check: {problems:?}");
    }

    // Forged senders: without a verdict from our MTA, nobody is staff, so
    // nothing is relayed to the requestor as a staff reply.
    let our_verdict = facts
        .auth_results
        .iter()
        .any(|h| h.to_ascii_lowercase().contains("mx.help.example.org"));
    if !our_verdict {
        let relayed: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE id > ?1 AND kind = 'staff_reply'",
                [outbox_before],
                |r| r.get(0),
            )
            .expect("count staff replies");
        assert_eq!(relayed, 0, "relayed as staff without our MTA's verdict");
    }

    // Outgoing mail: only our headers, only known recipients.
    let mut stmt = conn
        .prepare("SELECT recipients, raw FROM outbox WHERE id > ?1")
        .expect("outbox");
    let rows = stmt
        .query_map([outbox_before], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .expect("outbox rows");
    for row in rows {
        let (recipients, mail) = row.expect("outbox row");
        for r in recipients.lines() {
            assert!(
                r.parse::<lettre_free::Addr>().is_ok(),
                "an outgoing recipient that is not an address: {r:?}"
            );
        }
        check_headers(&mail);
    }
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
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
