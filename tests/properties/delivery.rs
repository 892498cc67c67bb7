//! Properties of the delivery path over generated input (proptest), on the
//! binary's store (SQLite from `tests/properties.rs`, PostgreSQL from
//! `tests/pg_properties.rs`): any bytes, and mail-shaped bytes built from
//! hostile pieces, are stored byte-exact or refused as empty; routing never
//! fails but for the contract's reasons; a second delivery is a duplicate.
//! In-process through the library for many cases, and through the real
//! binary for fewer. Cases are bounded so the suite stays fast; `fuzz/`
//! goes further.

use std::sync::Arc;

use pipedesk::config::Config;
use pipedesk::desk::Error;
use pipedesk::desk::{Desk, Incoming, Outcome};
use pipedesk::inbound;
use pipedesk::model::Action;
use pipedesk::store;
use proptest::prelude::*;

use crate::common;
use crate::common::store::{TestStore, WANTS_POSTGRES};

/// `n` cases on SQLite; on PostgreSQL an eighth of them, each case a fresh
/// database (its schema made again), so that the run stays within a
/// minute: the generated input is the same kind, and SQLite sees the many.
const fn cases(n: u32) -> u32 {
    if WANTS_POSTGRES {
        n / 8
    } else {
        n
    }
}

const CONFIG: &str = "[site]\nname = \"pipedesk\"\ndomains = [\"help.example.org\"]\n\
    [staff]\nadmins = [\"stef@example.org\"]\n\
    [policy]\ntrusted_authserv_id = \"mx.help.example.org\"\n\
    [mail]\ntransport = \"none\"\n";

/// What `deliver` does with `data` between reading and committing, in
/// process: the mbox line dropped, empty input refused, parse, then the
/// desk's delivery. Err(desk::Error) are the contract's refusals.
fn deliver_in_process(desk: &mut Desk, data: &[u8], rcpt: &str) -> Result<Outcome, String> {
    let raw = inbound::strip_from_line(data);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err("empty".into());
    }
    let facts = inbound::parse(raw);
    let msg = Incoming {
        raw,
        facts: &facts,
        recipient: rcpt,
        envelope_sender: facts.return_path.as_deref(),
        local: false,
    };
    match desk.deliver(&msg, false, chrono::Utc::now()) {
        Ok(outcome) => Ok(outcome),
        Err(e) => match Error::find(&e) {
            Some(why @ (Error::NoTicket(_) | Error::NoAddress(_))) => Err(format!("nosuch: {why}")),
            // Anything else would be a 75 on mail that can never succeed.
            _ => panic!("delivery failed on the message's own content: {e:#}"),
        },
    }
}

/// How many times `raw` is stored: under its key, with exactly its bytes.
fn stored_copies(desk: &mut Desk, raw: &[u8]) -> i64 {
    let key = inbound::parse(raw).key;
    desk.message_by_key(&key)
        .unwrap()
        .map_or(0, |m| i64::from(m.raw == raw))
}

/// Mail-shaped input: header lines from a hostile menu, a body that may be
/// MIME, optional mbox line, LF or CRLF.
fn mailish() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "From",
            "To",
            "Cc",
            "Subject",
            "Message-ID",
            "In-Reply-To",
            "References",
            "Content-Type",
            "Content-Transfer-Encoding",
            "Content-Disposition",
            "Authentication-Results",
            "Auto-Submitted",
            "Precedence",
            "X-Spam-Flag",
            "Return-Path",
            "Delivered-To",
            "Reply-To",
            "Sender",
            "List-Id",
            "X-Loop",
        ])
        .prop_map(String::from),
        "[ -~]{0,12}",
    ];
    let value = prop_oneof![
        Just("=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=".to_string()),
        Just("=?UTF-8?B?w?= =?UTF-8?B?qQ==?=".to_string()),
        Just("Re: [pipedesk #1] printer".to_string()),
        Just("Re: [pipedesk #99999999999999999999] x".to_string()),
        Just("\"Stef\" <stef@example.org>".to_string()),
        Just("john@example.com".to_string()),
        Just("<>".to_string()),
        Just("multipart/mixed; boundary=\"b\"".to_string()),
        Just("multipart/report; report-type=delivery-status; boundary=b".to_string()),
        Just("base64".to_string()),
        Just("quoted-printable".to_string()),
        Just("mx.help.example.org; dmarc=pass (a;comment) header.from=example.org".to_string()),
        Just("=?utf-8?q?a=0D=0ABcc:_x@y?=".to_string()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
        prop::collection::vec(any::<u8>(), 0..30)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    let header = (name, value, any::<bool>()).prop_map(|(n, v, folded)| {
        if folded {
            format!("{n}: {v}\n\t{v}")
        } else {
            format!("{n}: {v}")
        }
    });
    let body_piece = prop_oneof![
        Just("--b\nContent-Type: text/plain; charset=utf-8\n\n".to_string()),
        Just(
            "--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
                .to_string()
        ),
        Just("--b--\n".to_string()),
        Just("=C3=A9 =ZZ =\n".to_string()),
        Just("!!!!====\n".to_string()),
        Just("From the body\n".to_string()),
        "[ -~\n]{0,60}",
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    (
        any::<bool>(),
        prop::collection::vec(header, 0..12),
        prop::collection::vec(body_piece, 0..8),
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(mbox, headers, body, crlf, tail)| {
            let mut text = String::new();
            if mbox {
                text.push_str("From sender@example.com Sun Nov 22 05:00:00 2026\n");
            }
            for h in headers {
                text.push_str(&h);
                text.push('\n');
            }
            text.push('\n');
            text.push_str(&body.concat());
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let mut bytes = text.into_bytes();
            bytes.extend(tail);
            bytes
        })
}

fn check_delivery(data: &[u8], rcpt: &str) {
    let config = Arc::new(Config::parse(CONFIG).unwrap());
    let store = TestStore::in_process();
    let mut desk = Desk::with_store(config, store.open_in_process());
    // Ticket #1 exists, so tagged replies have somewhere to go.
    deliver_in_process(
        &mut desk,
        b"From: john@example.com\nMessage-ID: <first@x>\nSubject: printer\n\nbroken\n",
        "submit@help.example.org",
    )
    .unwrap();
    let raw = inbound::strip_from_line(data);
    match deliver_in_process(&mut desk, data, rcpt) {
        Ok(outcome) => {
            assert_eq!(stored_copies(&mut desk, raw), 1, "stored byte-exact, once");
            let again = deliver_in_process(&mut desk, data, rcpt).unwrap();
            if outcome.action != Action::Duplicate {
                assert_eq!(again.action, Action::Duplicate);
            }
            assert_eq!(
                stored_copies(&mut desk, raw),
                1,
                "a redelivery stored again"
            );
        }
        Err(why) if why == "empty" => {
            assert!(raw.iter().all(u8::is_ascii_whitespace));
        }
        Err(why) => {
            // 67 only for a ticket that does not exist: the tag must name one.
            assert!(why.starts_with("nosuch: no ticket #"), "{why}");
            assert_eq!(stored_copies(&mut desk, raw), 0);
        }
    }
    assert!(desk.check().unwrap().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn any_bytes_are_stored_byte_exact_or_refused_as_empty(
        data in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        check_delivery(&data, "submit@help.example.org");
    }

    #[test]
    fn mail_shaped_bytes_are_stored_byte_exact_or_refused_by_contract(
        data in mailish(),
        rcpt in prop_oneof![
            Just("submit@help.example.org"),
            Just("ticket-1@help.example.org"),
            Just("ticket-1-comment@help.example.org"),
            Just("ticket-1-done@help.example.org"),
        ],
    ) {
        check_delivery(&data, rcpt);
    }
}

proptest! {
    // The real binary: fewer cases, each a process.
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn deliver_exits_0_or_65_and_stores_the_input(
        data in prop_oneof![prop::collection::vec(any::<u8>(), 0..1024), mailish()],
    ) {
        let desk = common::Desk::new();
        let database = format!("[site]\ndatabase = \"{}\"\n", desk.store.setting());
        desk.write_config(&CONFIG.replacen("[site]\n", &database, 1));
        let out = desk.run(&["deliver", "--recipient", "submit@help.example.org"], &data);
        let stderr = &out.stderr;
        prop_assert!(!stderr.contains("internal error"), "panicked: {}", stderr);
        let raw = inbound::strip_from_line(&data);
        // -1: ended by a signal (`Run::code`).
        match out.code {
            0 => {
                prop_assert!(out.stdout.is_empty(), "deliver printed on success");
                let config = Arc::new(Config::load(desk.config_path()).unwrap());
                let mut desk = Desk::open(config, store::Open::Existing).unwrap();
                prop_assert_eq!(stored_copies(&mut desk, raw), 1);
            }
            65 => prop_assert!(raw.iter().all(u8::is_ascii_whitespace), "{}", stderr),
            // A tag naming a ticket that does not exist.
            67 => prop_assert!(stderr.starts_with("pipedesk: no ticket #"), "{}", stderr),
            other => prop_assert!(false, "exit {}: {}", other, stderr),
        }
    }
}
