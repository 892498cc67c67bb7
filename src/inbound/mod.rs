//! Raw bytes → the facts routing, storage and outgoing mail need: addresses,
//! subject, ids, loop and bulk markers, the text body and attachments. Parsed
//! once with mail-parser, which never panics and never refuses input: a
//! message too broken to parse still yields facts (mostly empty ones), so it
//! is stored rather than lost. What is shown of a message reads as Python's
//! `email` package reads it, or better (SPEC §3 "Reading a message"):
//! `headers` owns header text, `mime` which parts are body and attachments.

mod headers;
mod mime;

use std::borrow::Cow;

use mail_parser::{Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use headers::Legacy;
use mime::Parsed;

/// One mailbox from a header, the address lowercased for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// An attachment as `show --json` describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub size: usize,
}

/// What pipedesk needs to know about one incoming message.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The Message-ID without angle brackets, when there is one.
    pub message_id: Option<String>,
    /// What "already stored" is decided by: `<Message-ID>`, or the SHA-256
    /// of the bytes for a message without one.
    pub key: String,
    /// Decoded subject, "" when there is none.
    pub subject: String,
    /// When the message says it was written: its first Date header, as
    /// seconds since 1970 (RFC 5322 §3.6.1; where two appear, the first
    /// counts).
    pub date: Option<i64>,
    /// The first mailbox of the first From: header (RFC 5322 §3.6.2).
    pub from: Option<Mailbox>,
    /// Every mailbox of every From: header, in order: more than one means
    /// the author is ambiguous, and such a message never counts as staff.
    pub from_all: Vec<Mailbox>,
    pub sender: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Delivered-To and X-Original-To, in header order, lowercased.
    pub delivered_to: Vec<String>,
    pub x_original_to: Vec<String>,
    pub return_path: Option<String>,
    /// Message-IDs from In-Reply-To and References, without brackets, in
    /// header order.
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// RFC 3834 and friends: markers of mail that must get no autoreply.
    pub auto_submitted: Option<String>,
    pub precedence: Option<String>,
    pub is_list: bool,
    pub x_loop: Vec<String>,
    pub x_auto_response_suppress: bool,
    /// An `X-Autoreply` or `X-Autorespond` header is present (any value):
    /// vacation programs that predate RFC 3834 mark their replies so.
    pub x_autoreply: bool,
    /// A reply sent by an Exchange or Microsoft 365 mailbox rule
    /// (`X-MS-Exchange-Inbox-Rules-Loop`, or
    /// `X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent`):
    /// automatic mail that carries no RFC 3834 marker (SPEC §3).
    pub mailbox_rule: bool,
    /// Flagged by the MTA's spam filter.
    pub is_spam: bool,
    /// A `multipart/report; report-type=delivery-status` message (RFC 3464).
    pub is_dsn: bool,
    /// The `report-type` of a root `multipart/report` (RFC 6522), lowercased:
    /// `delivery-status`, `disposition-notification`, `feedback-report`, ….
    pub report_type: Option<String>,
    /// Authentication-Results header values, topmost first.
    pub auth_results: Vec<String>,
    /// The body decoded to UTF-8: the first text/plain part with text in it,
    /// else the first HTML part with text, as text (SPEC §3).
    pub body: String,
    pub attachments: Vec<Attachment>,
}

impl Facts {
    /// The Message-IDs this message answers, nearest parent first: where a
    /// reply whose tag was stripped is looked for.
    pub fn parents(&self) -> Vec<String> {
        self.in_reply_to
            .iter()
            .chain(self.references.iter().rev())
            .cloned()
            .collect()
    }

    /// The author: the From mailbox, else Sender, else Reply-To.
    pub fn author(&self) -> Option<&Mailbox> {
        self.from
            .as_ref()
            .or(self.sender.as_ref())
            .or(self.reply_to.as_ref())
    }
}

/// Drops a leading mbox `From ` line (Exim's `message_prefix`, Postfix's F
/// flag and local(8) add one): it is the envelope, not the message.
/// The line ends where a line does: at LF, or at a CR that no LF follows
/// (a message with CR-only line ends; Python reads those as line ends too).
pub fn strip_from_line(raw: &[u8]) -> &[u8] {
    if !raw.starts_with(b"From ") {
        return raw;
    }
    match raw.iter().position(|&b| b == b'\n' || b == b'\r') {
        Some(i) if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') => &raw[i + 2..],
        Some(i) => &raw[i + 1..],
        None => &[],
    }
}

thread_local! {
    /// Set while mail-parser runs under `guarded`: a panic there is caught
    /// and handled, so the panic hook keeps quiet (deliver prints nothing on
    /// success).
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Is a parser panic on this thread about to be caught by `guarded`?
pub fn in_guarded_parse() -> bool {
    GUARDED.with(std::cell::Cell::get)
}

/// Runs `f` (mail-parser at work on a message) and turns a panic into None.
/// mail-parser promises never to panic, yet 0.11.9 has a
/// `debug_assert!(false, "Invalid part ID, could not find multipart.")`
/// that a 212-byte message reaches (found by `fuzz/`, kept in
/// `fuzz/seeds/deliver_path/`): in a debug build deliver exited 75 on it
/// forever. A message the parser cannot handle yields no facts and is
/// stored as received, like any other broken MIME.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    result.ok()
}

/// An HTML body as the text a ticket keeps of it (SPEC §3, `mime/html.rs`):
/// what the HTML fuzz target and the property tests read. Never panics.
pub fn html_to_text(html: &str) -> String {
    mime::html_to_text(html)
}

/// Parses `raw` (without its mbox `From ` line). Never fails.
pub fn parse(raw: &[u8]) -> Facts {
    let mut facts = with_parsed(raw, |p| facts_of(&p)).unwrap_or_default();
    facts.key = match &facts.message_id {
        Some(id) => format!("<{id}>"),
        None => format!("sha256:{}", hex(&Sha256::digest(raw))),
    };
    facts
}

/// The attachments of a stored message, for `show` and `attachments`.
pub fn attachments_of(raw: &[u8]) -> Vec<Attachment> {
    with_parsed(raw, |p| attachments(&p)).unwrap_or_default()
}

/// The References of a message (its header block is enough), without
/// brackets, in header order: what a mail answering it continues.
pub fn references_of(raw: &[u8]) -> Vec<String> {
    with_parsed(raw, |p| ids(p.msg.references())).unwrap_or_default()
}

/// The 22-byte header of the Outlook conversation index (Thread-Index,
/// [MS-OXOMSG] §2.2.1.3) `raw` carries, where it carries a well-formed one
/// (base64, a reserved 0x01 first).
pub fn thread_index_of(raw: &[u8]) -> Option<[u8; 22]> {
    use base64::Engine as _;
    // The header alone is read: the body may be megabytes of attachment.
    let end = [&b"\n\n"[..], b"\r\n\r\n"]
        .iter()
        .filter_map(|sep| {
            raw.windows(sep.len())
                .position(|w| w == *sep)
                .map(|at| at + sep.len())
        })
        .min()
        .unwrap_or(raw.len());
    let head = &raw[..end];
    let value = with_parsed(head, |p| {
        p.msg.header_raw("Thread-Index").map(str::to_string)
    })??;
    let compact: String = value.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    let head: [u8; 22] = bytes.get(..22)?.try_into().ok()?;
    (head[0] == 1).then_some(head)
}

/// What mail-parser is given: `raw` less what is not the message's own
/// (SPEC §3): a leading UTF-8 BOM, and whitespace-only lines before the
/// first header (mail-parser takes the first for the blank line that ends
/// the headers; Python reads on). CR-only line ends become CRLF, since
/// mail-parser knows only LF and CRLF. Borrowed, as almost every message
/// is, unless one of these is there.
fn prepare(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut start = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    while matches!(start.first(), Some(b' ' | b'\t')) {
        let end = start
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(start.len());
        if !start[..end].iter().all(|&b| b == b' ' || b == b'\t') {
            break;
        }
        let mut rest = &start[end..];
        rest = rest.strip_prefix(b"\r").unwrap_or(rest);
        start = rest.strip_prefix(b"\n").unwrap_or(rest);
    }
    if start.contains(&b'\n') || !start.contains(&b'\r') {
        return Cow::Borrowed(start);
    }
    let mut crlf = Vec::with_capacity(start.len() + start.len() / 32);
    for &b in start {
        crlf.push(b);
        if b == b'\r' {
            crlf.push(b'\n');
        }
    }
    Cow::Owned(crlf)
}

/// Parses `raw` and runs `f` on it, under `guarded`. Where a part has two
/// Content-Type headers, mail-parser's MIME structure follows the last;
/// the first counts (RFC 2045 §5 allows one; Python and RT read the first,
/// and a body read as preamble under the second was lost), so the later
/// ones are renamed in a copy (`Xontent-Type`, same length, every offset
/// kept) and the copy parsed. The check runs over the headers already
/// parsed: no second parse for the messages without a duplicate.
fn with_parsed<T>(raw: &[u8], f: impl FnOnce(Parsed<'_, '_>) -> T) -> Option<T> {
    guarded(|| {
        let bytes = prepare(raw);
        let msg = MessageParser::default().parse(&bytes[..])?;
        let later: Vec<usize> = msg
            .parts
            .iter()
            .flat_map(|part| {
                part.headers
                    .iter()
                    .filter(|h| h.name == HeaderName::ContentType)
                    .skip(1)
                    .map(|h| h.offset_field as usize)
            })
            .filter(|&at| {
                bytes
                    .get(at..at + 12)
                    .is_some_and(|n| n.eq_ignore_ascii_case(b"content-type"))
            })
            .collect();
        if later.is_empty() {
            return Some(f(parsed(&msg, &bytes)));
        }
        let mut fixed = bytes.to_vec();
        for at in later {
            fixed[at] = b'X';
        }
        let msg = MessageParser::default().parse(&fixed[..])?;
        Some(f(parsed(&msg, &fixed)))
    })
    .flatten()
}

fn parsed<'m, 'x>(msg: &'m Message<'x>, raw: &'m [u8]) -> Parsed<'m, 'x> {
    let root = msg.root_part();
    // The charset the message declares for its text: the root's, else the
    // first text part's. Undeclared 8-bit header bytes are read in it.
    let declared = root
        .content_type()
        .and_then(|c| c.attribute("charset"))
        .or_else(|| {
            msg.parts
                .iter()
                .filter(|p| {
                    p.content_type()
                        .is_some_and(|c| c.ctype().eq_ignore_ascii_case("text"))
                })
                .find_map(|p| p.content_type().and_then(|c| c.attribute("charset")))
        });
    let head = raw.get(..root.offset_body as usize).unwrap_or(raw);
    Parsed {
        msg,
        raw,
        legacy: Legacy::new(declared, head),
    }
}

/// The From mailboxes read by mailparse, where mail-parser found none
/// though the header block has a From: line. mail-parser 0.11.9 loses the
/// header after a Date with the obsolete zone `UT` (RFC 5322 §4.3), which
/// Python, mailparse and every mail client read.
fn lost_from(head: &[u8]) -> Vec<Mailbox> {
    let has_from = head
        .split(|&b| b == b'\n')
        .any(|line| line.len() > 5 && line[..5].eq_ignore_ascii_case(b"from:"));
    if !has_from {
        return Vec::new();
    }
    use mailparse::MailHeaderMap;
    let Ok((headers, _)) = mailparse::parse_headers(head) else {
        return Vec::new();
    };
    headers
        .get_all_headers("From")
        .into_iter()
        .filter_map(|h| mailparse::addrparse_header(h).ok())
        .flat_map(|list| {
            list.iter()
                .flat_map(|a| match a {
                    mailparse::MailAddr::Single(s) => vec![s.clone()],
                    mailparse::MailAddr::Group(g) => g.addrs.clone(),
                })
                .collect::<Vec<_>>()
        })
        .filter(|s| s.addr.contains('@'))
        .map(|s| Mailbox {
            name: s
                .display_name
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
            address: read_address(&s.addr),
        })
        .collect()
}

/// The values of every `name` header of the root, in order.
fn all<'m>(
    msg: &'m Message<'_>,
    name: HeaderName<'static>,
) -> impl Iterator<Item = &'m HeaderValue<'m>> {
    msg.headers()
        .iter()
        .filter(move |h| h.name == name)
        .map(|h| &h.value)
}

/// The first `name` header's mailboxes (RFC 5322 §3.6: From, Sender and
/// Reply-To occur once; where one appears twice, the first counts).
fn first_mailbox_of(msg: &Message<'_>, name: HeaderName<'static>) -> Option<Mailbox> {
    all(msg, name)
        .find_map(|v| match v {
            HeaderValue::Address(a) => Some(mailboxes(a)),
            _ => None,
        })
        .and_then(|m| m.into_iter().next())
}

fn facts_of(p: &Parsed<'_, '_>) -> Facts {
    let msg = p.msg;
    let root = msg.root_part();
    let mut from_all: Vec<Mailbox> = all(msg, HeaderName::From)
        .filter_map(|v| match v {
            HeaderValue::Address(a) => Some(mailboxes(a)),
            _ => None,
        })
        .flatten()
        .collect();
    if from_all.is_empty() {
        from_all = lost_from(p.legacy.head());
    }
    let mut f = Facts {
        message_id: all(msg, HeaderName::MessageId)
            .find_map(|v| match v {
                HeaderValue::Text(t) => Some(t.trim()),
                HeaderValue::TextList(l) => l.first().map(|t| t.trim()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .map(String::from),
        subject: headers::first_raw(root, &HeaderName::Subject, p.raw)
            .map(|s| headers::unstructured(s, &p.legacy))
            .unwrap_or_default(),
        date: all(msg, HeaderName::Date).find_map(|v| match v {
            HeaderValue::DateTime(d) => Some(d.to_timestamp()),
            _ => None,
        }),
        from: from_all.first().cloned(),
        from_all,
        sender: first_mailbox_of(msg, HeaderName::Sender),
        reply_to: first_mailbox_of(msg, HeaderName::ReplyTo),
        to: msg.all_to().flat_map(mailboxes).collect(),
        cc: msg.all_cc().flat_map(mailboxes).collect(),
        // Read raw: mail-parser has no address for `Return-Path: <>`, and
        // that null sender is exactly what marks a bounce (RFC 5321 §4.4).
        return_path: msg.header_raw("Return-Path").map(bare_address),
        body: p.body(),
        attachments: attachments(p),
        ..Facts::default()
    };
    f.in_reply_to = ids(msg.in_reply_to());
    f.references = ids(msg.references());
    for header in msg.headers() {
        let name = header.name().to_ascii_lowercase();
        // Presence is what marks these, whatever the value.
        if matches!(name.as_str(), "x-autoreply" | "x-autorespond") {
            f.x_autoreply = true;
        }
        if name == "x-ms-exchange-inbox-rules-loop" {
            f.mailbox_rule = true;
        }
        let Some(value) = header_text(header.value()) else {
            continue;
        };
        let value = value.trim();
        match name.as_str() {
            "delivered-to" => f.delivered_to.push(bare_address(value)),
            "x-original-to" => f.x_original_to.push(bare_address(value)),
            "auto-submitted" => f.auto_submitted = Some(value.to_ascii_lowercase()),
            "precedence" => f.precedence = Some(value.to_ascii_lowercase()),
            "x-loop" => f.x_loop.push(value.to_ascii_lowercase()),
            "x-auto-response-suppress" => {
                let v = value.to_ascii_lowercase();
                f.x_auto_response_suppress =
                    v.contains("all") || v.contains("autoreply") || v.contains("oof");
            }
            "x-spam-flag" | "x-spam" => f.is_spam |= value.eq_ignore_ascii_case("yes"),
            "x-spam-status" => {
                f.is_spam |= value
                    .get(..3)
                    .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
            }
            "authentication-results" => f.auth_results.push(value.to_string()),
            "x-ms-exchange-generated-message-source" => {
                f.mailbox_rule |= value.eq_ignore_ascii_case("mailbox rules agent")
            }
            "list-id" | "list-unsubscribe" => f.is_list = true,
            _ => {}
        }
    }
    // mail-parser parses List-* as addresses; presence is what matters.
    f.is_list |= !msg.list_id().is_empty() || !msg.list_unsubscribe().is_empty();
    if let Some(ct) = root.content_type() {
        let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"));
        if is_report {
            f.report_type = ct
                .attribute("report-type")
                .map(|t| t.trim().to_ascii_lowercase());
        }
        f.is_dsn = f.report_type.as_deref() == Some("delivery-status");
    }
    f
}

fn header_text<'a>(value: &'a HeaderValue<'_>) -> Option<&'a str> {
    match value {
        HeaderValue::Text(t) => Some(t.as_ref()),
        HeaderValue::TextList(l) => l.first().map(|t| t.as_ref()),
        _ => None,
    }
}

/// `<a@b>` or `"Name" <a@b>` or `a@b` → `a@b`, lowercased.
pub fn bare_address(value: &str) -> String {
    let v = value.trim();
    let v = match (v.rfind('<'), v.rfind('>')) {
        (Some(l), Some(r)) if l < r => &v[l + 1..r],
        _ => v,
    };
    v.trim().to_ascii_lowercase()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.trim().to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.trim().to_string()).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

fn mailboxes(addr: &Address<'_>) -> Vec<Mailbox> {
    addr.iter()
        .filter_map(|a| {
            let address = read_address(a.address()?);
            let name = a.name().map(str::trim).filter(|n| !n.is_empty());
            // mail-parser reads a bare quoted local part (`From:
            // "a.b"@example.org`) as a name and `@example.org`: put it back
            // where it was written (issue 18: such a sender was stored as
            // `@example.org`).
            if let (Some(local), true) = (name, address.starts_with('@')) {
                return Some(Mailbox {
                    name: None,
                    address: format!("{}{address}", quoted_local_part(local)),
                });
            }
            address.contains('@').then(|| Mailbox {
                name: name.map(str::to_string),
                address,
            })
        })
        .collect()
}

/// A local part as an address writes it: bare where it is a dot-atom
/// (RFC 5322 §3.4.1: `"a.b"@x` is `a.b@x`), else quoted.
fn quoted_local_part(local: &str) -> String {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = local
        .split('.')
        .all(|w| !w.is_empty() && w.chars().all(atext));
    let local = local.to_ascii_lowercase();
    if dot_atom {
        local
    } else {
        format!("\"{}\"", local.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn attachments(p: &Parsed<'_, '_>) -> Vec<Attachment> {
    p.attachment_parts()
        .into_iter()
        .map(|part| p.describe(part))
        .collect()
}

/// Every attachment of a stored message with its decoded bytes, for
/// `attachments --save` and for relaying staff replies.
pub fn attachment_contents(raw: &[u8]) -> Vec<(Attachment, Vec<u8>)> {
    with_parsed(raw, |p| {
        p.attachment_parts()
            .into_iter()
            .map(|part| (p.describe(part), mime::contents(part, p.raw).to_vec()))
            .collect()
    })
    .unwrap_or_default()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// An address as a header writes it, normalised as an `Address` is, with
/// the character zero as U+FFFD: PostgreSQL's text cannot hold it, and a
/// new ticket is kept as the desk holds it, not read back
/// (`desk::deliver`).
fn read_address(s: &str) -> String {
    let address = String::from(crate::address::Address::new(s));
    if address.contains('\0') {
        address.replace('\0', "\u{fffd}")
    } else {
        address
    }
}

/// The organisational-ish domain of an address: what follows the last `@`.
pub fn domain_of(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_line_is_dropped_and_nothing_else() {
        assert_eq!(
            strip_from_line(b"From a@b Mon Nov 16\nSubject: x\n\nb"),
            b"Subject: x\n\nb"
        );
        assert_eq!(strip_from_line(b"Subject: From x\n"), b"Subject: From x\n");
        assert_eq!(strip_from_line(b"From nothing"), b"");
    }

    #[test]
    fn key_is_message_id_or_hash() {
        let f = parse(b"Message-ID: <a@b>\nSubject: hi\n\nbody\n");
        assert_eq!(f.key, "<a@b>");
        let f = parse(b"Subject: hi\n\nbody\n");
        assert!(
            f.key.starts_with("sha256:") && f.key.len() == 7 + 64,
            "{}",
            f.key
        );
        assert_ne!(f.key, parse(b"Subject: hi\n\nbody!\n").key);
    }

    #[test]
    fn garbage_yields_empty_facts_not_a_panic() {
        for raw in [
            &b""[..],
            b"\0\0\0",
            b"\xff\xfe:\n\n",
            b"no colon here at all",
        ] {
            let f = parse(raw);
            assert!(f.from.is_none());
            assert!(f.key.starts_with("sha256:"));
        }
    }

    #[test]
    fn markers_are_read() {
        let f = parse(
            b"From: Bob <BOB@Example.COM>\nAuto-Submitted: auto-replied\nPrecedence: Bulk\n\
              X-Loop: myisp\nX-Spam-Status: Yes, score=9\nList-Id: <l.example.com>\n\
              In-Reply-To: <p@x>\nReferences: <r1@x> <p@x>\nDelivered-To: Submit@Help.example.org\n\nhi\n",
        );
        assert_eq!(f.from.as_ref().unwrap().address, "bob@example.com");
        assert_eq!(f.auto_submitted.as_deref(), Some("auto-replied"));
        assert_eq!(f.precedence.as_deref(), Some("bulk"));
        assert_eq!(f.x_loop, ["myisp"]);
        assert!(f.is_spam && f.is_list);
        assert_eq!(f.parents(), ["p@x", "p@x", "r1@x"]);
        assert_eq!(f.delivered_to, ["submit@help.example.org"]);
    }

    #[test]
    fn encoded_words_split_inside_a_character_are_joined() {
        let f = parse(
            b"Subject: =?utf-8?B?UmU6IFtteWlzcCAj?=\n =?utf-8?B?MV0gU2Noww==?=\n =?utf-8?B?tm5lIEdyww==?=\n \
              =?utf-8?B?vMOfZSwgaW1tZXIgbm9jaCBrYXB1dHQ=?=\n\nx\n",
        );
        assert_eq!(f.subject, "Re: [myisp #1] Schöne Grüße, immer noch kaputt");
        let f = parse(
            b"Subject: =?utf-8?q?caf=C3?= =?utf-8?q?=A9_ok?= and =?iso-8859-1?q?=E9?=\n\nx\n",
        );
        assert_eq!(f.subject, "café ok and é");
        let f = parse(b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\nx\n");
        assert_eq!(f.subject, "Grüße");
    }

    #[test]
    fn null_return_path_is_the_empty_sender() {
        let f = parse(b"Return-Path: <>\nSubject: x\n\nb\n");
        assert_eq!(f.return_path.as_deref(), Some(""));
        let f = parse(b"Return-Path: <John@Example.com>\r\nSubject: x\r\n\r\nb\r\n");
        assert_eq!(f.return_path.as_deref(), Some("john@example.com"));
    }

    #[test]
    fn dsn_is_recognised() {
        let f = parse(
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\n\n\
              text\n--b--\n",
        );
        assert!(f.is_dsn);
    }

    fn names(raw: &[u8]) -> Vec<String> {
        attachments_of(raw)
            .into_iter()
            .map(|a| a.filename)
            .collect()
    }

    #[test]
    fn encoded_word_followed_by_punctuation_gets_no_space() {
        let f = parse(b"Subject: =?UTF-8?Q?abc?=. def\n\nx\n");
        assert_eq!(f.subject, "abc. def");
        let f = parse(b"Subject: Re: =?utf-8?q?Caf=C3=A9?=, =?utf-8?q?ok?=!\n\nx\n");
        assert_eq!(f.subject, "Re: Café, ok!");
    }

    #[test]
    fn whitespace_between_adjacent_encoded_words_disappears_also_in_a_filename() {
        let f = parse(b"Subject: =?utf-8?q?Gr=C3=BC?=\n =?utf-8?q?=C3=9Fe?= =?iso-8859-1?q?_=E0_tous?=\n\nx\n");
        assert_eq!(f.subject, "Grüße à tous");
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n\
            --b\nContent-Type: application/pdf\nContent-Disposition: attachment;\n filename=\"=?utf-8?q?Rechnung_M=C3=A4rz?= =?utf-8?q?.pdf?=\"\n\n%PDF\n--b--\n";
        assert_eq!(names(raw), ["Rechnung März.pdf"]);
    }

    #[test]
    fn rfc2231_continuations_are_joined_before_they_are_decoded() {
        // 日本語.txt in ISO-2022-JP, cut into pieces inside an escape run.
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n\
            --b\nContent-Type: text/plain\nContent-Disposition: attachment;\n filename*0*=iso-2022-jp''%1B%24%42%46%7C;\n filename*1*=%4B%5C%38%6C%1B%28%42.txt\n\nx\n\
            --b\nContent-Type: application/octet-stream\nContent-Disposition: attachment;\n filename*0*=utf-8''caf%C3;\n filename*1*=%A9.bin\n\nx\n--b--\n";
        assert_eq!(names(raw), ["日本語.txt", "café.bin"]);
    }

    #[test]
    fn filename_folded_right_after_the_equals_sign_keeps_its_value() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
            --b\r\nContent-Type: application/pdf; name=\r\n \"report.pdf\"\r\nContent-Disposition: attachment; filename=\r\n\t\"report.pdf\"\r\n\r\n%PDF\r\n--b--\r\n";
        assert_eq!(names(raw), ["report.pdf"]);
    }

    #[test]
    fn undeclared_8bit_header_bytes_are_utf8_else_declared_else_detected() {
        // UTF-8, valid: as it is.
        assert_eq!(parse("Subject: Grüße\n\nx\n".as_bytes()).subject, "Grüße");
        // Not UTF-8, the text declares KOI8-R: read in it.
        let f = parse(
            b"Subject: \xf0\xd2\xc9\xd7\xc5\xd4\nContent-Type: text/plain; charset=koi8-r\n\nx\n",
        );
        assert_eq!(f.subject, "Привет");
        // Nothing declared: the legacy charset detected (windows-1251 here).
        let f = parse(b"Subject: \xd3\xe7\xed\xe0\xe9 \xea\xe0\xea \xe7\xe0\xf0\xe0\xe1\xe0\xf2\xfb\xe2\xe0\xf2\xfc \xee\xf2 1000$ \xe2 \xed\xe5\xe4\xe5\xeb\xfe!\n\nx\n");
        assert_eq!(f.subject, "Узнай как зарабатывать от 1000$ в неделю!");
        let f = parse(b"Subject: Die Hasen und die Fr\xf6sche\n\nx\n");
        assert_eq!(f.subject, "Die Hasen und die Frösche");
        assert!(!f.subject.contains('\u{fffd}'));
    }

    #[test]
    fn text_without_a_charset_in_a_legacy_charset_is_detected_not_replaced() {
        let f = parse(b"Subject: x\nContent-Type: text/plain\n\nDie Hasen klagten einst \xfcber ihre mi\xdfliche Lage.\n");
        assert_eq!(
            f.body.trim(),
            "Die Hasen klagten einst über ihre mißliche Lage."
        );
    }

    #[test]
    fn the_first_of_duplicated_subject_message_id_and_content_type_counts() {
        let f = parse(
            b"Subject: first\nMessage-ID: <one@x>\nSubject: second\nMessage-ID: <two@x>\n\
              Content-Type: text/plain; charset=utf-8\nContent-Type: multipart/mixed; boundary=zz\n\n\
              the body, not a preamble\n",
        );
        assert_eq!(f.subject, "first");
        assert_eq!(f.key, "<one@x>");
        assert_eq!(f.body.trim(), "the body, not a preamble");
        assert!(f.attachments.is_empty(), "{:?}", f.attachments);
    }

    #[test]
    fn a_bare_quoted_local_part_is_read_as_written() {
        let author = |raw: &[u8]| parse(raw).author().map(|m| m.address.clone());
        assert_eq!(
            author(b"From: \"A.B\"@Example.org\n\nb\n").as_deref(),
            Some("a.b@example.org")
        );
        assert_eq!(
            author(b"From: \"an old  user\"@example.org\n\nb\n").as_deref(),
            Some("\"an old  user\"@example.org")
        );
        assert_eq!(
            author(b"From: Ann <\"a b\"@example.org>\n\nb\n").as_deref(),
            Some("\"a b\"@example.org")
        );
    }

    #[test]
    fn two_from_mailboxes_the_first_is_the_author_and_from_all_has_every_one() {
        let f = parse(b"From: Ann <ann@example.org>\nFrom: eve@example.net\nSubject: x\n\nb\n");
        assert_eq!(
            f.from.as_ref().map(|m| m.address.as_str()),
            Some("ann@example.org")
        );
        let all: Vec<&str> = f.from_all.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(all, ["ann@example.org", "eve@example.net"]);
        let f = parse(b"From: ann@example.org, eve@example.net\nSubject: x\n\nb\n");
        assert_eq!(
            f.from.as_ref().map(|m| m.address.as_str()),
            Some("ann@example.org")
        );
        assert_eq!(f.from_all.len(), 2);
        assert_eq!(parse(b"From: ann@example.org\n\nb\n").from_all.len(), 1);
    }

    #[test]
    fn from_after_a_date_in_ut_is_not_lost() {
        let f = parse(b"Date: Sat, 22 Apr 2006 17:14:50 UT\nFrom: Campus <MAILER-DAEMON@example.it>\nSubject: x\n\nb\n");
        assert_eq!(
            f.from.map(|m| m.address),
            Some("mailer-daemon@example.it".into())
        );
    }

    #[test]
    fn body_is_the_first_text_plain_with_text_else_the_html() {
        let alternative = b"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\n \n\n\
            --b\nContent-Type: text/html\n\n<p>Only the <b>HTML</b> has text</p>\n--b--\n";
        assert_eq!(parse(alternative).body.trim(), "Only the HTML has text");
        let mixed = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nfirst\n\
            --b\nContent-Type: text/plain\n\nlist footer\n--b--\n";
        assert_eq!(parse(mixed).body.trim(), "first");
    }

    #[test]
    fn related_html_root_is_found_by_its_start_parameter() {
        // RFC 2387: the root is the part start= names, here not the first.
        let raw = b"Content-Type: multipart/related; boundary=b; start=\"<root@x>\"; type=\"text/html\"\n\n\
            --b\nContent-Type: image/png\nContent-ID: <logo@x>\n\nPNG\n\
            --b\nContent-Type: text/html\nContent-ID: <root@x>\n\n<p>Newsletter text</p>\n--b--\n";
        let f = parse(raw);
        assert_eq!(f.body.trim(), "Newsletter text");
        assert_eq!(f.attachments.len(), 1);
    }

    #[test]
    fn inline_text_part_with_a_filename_is_an_attachment() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nSee the log.\n\
            --b\nContent-Type: text/plain\nContent-Disposition: inline; filename=\"log.txt\"\n\nerror 42\n--b--\n";
        let f = parse(raw);
        assert_eq!(f.body.trim(), "See the log.");
        assert_eq!(names(raw), ["log.txt"]);
    }

    #[test]
    fn whitespace_only_first_line_is_not_the_end_of_the_headers() {
        let f = parse(b" \nFrom: ann@example.org\nSubject: hello\n\nbody\n");
        assert_eq!(f.subject, "hello");
        assert_eq!(f.body.trim(), "body");
    }

    #[test]
    fn cr_only_line_ends_are_line_ends() {
        let f = parse(
            b"From: ann@example.org\rSubject: old Mac\rMessage-ID: <m@x>\r\rbody\rline two\r",
        );
        assert_eq!(f.subject, "old Mac");
        assert_eq!(f.key, "<m@x>");
        assert_eq!(f.from.map(|m| m.address), Some("ann@example.org".into()));
        assert_eq!(f.body.lines().next(), Some("body"));
    }

    #[test]
    fn whitespace_only_continuation_lines_read_as_if_not_there() {
        // SPEC §3, as a Japanese mailer folded it: a line of one space, then
        // two encoded-words on lines of their own.
        let raw = b"From: ann@example.org\nSubject: Re: TEST\n \n\t=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\n  =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\nMessage-ID: <ws@x>\n\nbody\n";
        let f = parse(raw);
        assert_eq!(f.subject, "Re: TEST テストテスト");
        assert_eq!(f.key, "<ws@x>", "the headers after it are read");
        assert_eq!(f.body.trim(), "body");
        let crlf = String::from_utf8_lossy(raw).replace('\n', "\r\n");
        assert_eq!(parse(crlf.as_bytes()).subject, "Re: TEST テストテスト");
    }

    #[test]
    fn mailbox_rule_replies_are_marked() {
        assert!(
            parse(b"X-MS-Exchange-Inbox-Rules-Loop: john@example.com\nSubject: x\n\nb\n")
                .mailbox_rule
        );
        assert!(
            parse(
                b"X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\nSubject: x\n\nb\n"
            )
            .mailbox_rule
        );
        assert!(
            !parse(b"X-MS-Exchange-Generated-Message-Source: Transport\nSubject: x\n\nb\n")
                .mailbox_rule
        );
    }

    #[test]
    fn a_leading_utf8_bom_is_not_part_of_the_first_header() {
        let f = parse(b"\xef\xbb\xbfSubject: with BOM\nFrom: ann@example.org\n\nbody\n");
        assert_eq!(f.subject, "with BOM");
    }

    #[test]
    fn mbox_from_line_with_cr_only_line_ends_is_dropped() {
        assert_eq!(
            strip_from_line(b"From a@b Mon Nov 16\rSubject: x\r\rb"),
            b"Subject: x\r\rb"
        );
        assert_eq!(
            strip_from_line(b"From a@b Mon Nov 16\r\nSubject: x\r\n"),
            b"Subject: x\r\n"
        );
    }

    #[test]
    fn autoreply_markers_and_report_type_are_read() {
        assert!(parse(b"X-Autoreply: yes\nSubject: x\n\nb\n").x_autoreply);
        assert!(parse(b"X-Autorespond: \nSubject: x\n\nb\n").x_autoreply);
        assert!(!parse(b"Subject: x\n\nb\n").x_autoreply);
        let f = parse(
            b"Content-Type: multipart/report; report-type=Disposition-Notification; boundary=b\n\n--b\n\nread\n--b--\n",
        );
        assert_eq!(f.report_type.as_deref(), Some("disposition-notification"));
        assert!(!f.is_dsn);
    }

    #[test]
    fn a_forwarded_message_attachment_is_its_own_bytes() {
        let inner = "From: bob@example.com\nSubject: the original\n\nhello\n";
        let raw = format!(
            "Subject: fwd\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee below\n\
             --b\nContent-Type: message/rfc822\n\n{inner}--b--\n"
        );
        let listed = attachment_contents(raw.as_bytes());
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0.filename, "the original.eml");
        assert_eq!(
            String::from_utf8_lossy(&listed[0].1).trim_end(),
            inner.trim_end()
        );
        assert_eq!(listed[0].0.size, listed[0].1.len());
    }

    #[test]
    fn a_thread_index_is_read_from_the_header_alone_and_only_when_well_formed() {
        let msg = |value: &str| {
            format!("From: a@example.com\r\nThread-Index: {value}\r\nSubject: x\r\n\r\nThread-Index: AQ==\r\n")
        };
        let head = thread_index_of(msg("AdtGdl3xq9Hk2mUvQkS0ZpEw8bRjYw==").as_bytes())
            .expect("a well-formed index");
        assert_eq!(head[..3], [0x01, 0xdb, 0x46]);
        // Folded over two lines, as long indexes are.
        let folded = msg("AdtGdl3xq9Hk2mUv\r\n QkS0ZpEw8bRjYw==");
        assert_eq!(thread_index_of(folded.as_bytes()), Some(head));
        for bad in ["not base64!", "AQID", "AttGdl3xq9Hk2mUvQkS0ZpEw8bRjYw=="] {
            assert_eq!(thread_index_of(msg(bad).as_bytes()), None, "{bad}");
        }
        // In the body, it is not the message's.
        let body_only = "From: a@example.com\n\nThread-Index: AdtGdl3xq9Hk2mUvQkS0ZpEw8bRjYw==\n";
        assert_eq!(thread_index_of(body_only.as_bytes()), None);
    }
}
