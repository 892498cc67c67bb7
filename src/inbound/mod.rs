//! Raw bytes → the facts routing, storage and outgoing mail need: addresses,
//! subject, ids, loop and bulk markers, the text body and attachments. Parsed
//! once with mail-parser, which never panics and never refuses input: a
//! message too broken to parse still yields facts (mostly empty ones), so it
//! is stored rather than lost.

use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

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
    pub from: Option<Mailbox>,
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
    /// Flagged by the MTA's spam filter.
    pub is_spam: bool,
    /// A `multipart/report; report-type=delivery-status` message (RFC 3464).
    pub is_dsn: bool,
    /// Authentication-Results header values, topmost first.
    pub auth_results: Vec<String>,
    /// The text body decoded to UTF-8 (from HTML when there is no text part).
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
pub fn strip_from_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ") {
        match raw.iter().position(|&b| b == b'\n') {
            Some(nl) => &raw[nl + 1..],
            None => &[],
        }
    } else {
        raw
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
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    result.ok()
}

/// Parses `raw` (without its mbox `From ` line). Never fails.
pub fn parse(raw: &[u8]) -> Facts {
    let mut facts = guarded(|| MessageParser::default().parse(raw).map(|m| facts_of(&m)))
        .flatten()
        .unwrap_or_default();
    facts.key = match &facts.message_id {
        Some(id) => format!("<{id}>"),
        None => format!("sha256:{}", hex(&Sha256::digest(raw))),
    };
    facts
}

/// The attachments of a stored message, for `show` and `attachments`.
pub fn attachments_of(raw: &[u8]) -> Vec<Attachment> {
    guarded(|| MessageParser::default().parse(raw).map(|m| attachments(&m)))
        .flatten()
        .unwrap_or_default()
}

fn facts_of(msg: &Message<'_>) -> Facts {
    let mut f = Facts {
        message_id: msg
            .message_id()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
        subject: subject(msg),
        from: first_mailbox(msg.from()),
        sender: first_mailbox(msg.sender()),
        reply_to: first_mailbox(msg.reply_to()),
        to: msg.all_to().flat_map(mailboxes).collect(),
        cc: msg.all_cc().flat_map(mailboxes).collect(),
        // Read raw: mail-parser has no address for `Return-Path: <>`, and
        // that null sender is exactly what marks a bounce (RFC 5321 §4.4).
        return_path: msg.header_raw("Return-Path").map(bare_address),
        body: body_text(msg),
        attachments: attachments(msg),
        ..Facts::default()
    };
    f.in_reply_to = ids(msg.in_reply_to());
    f.references = ids(msg.references());
    for header in msg.headers() {
        let Some(value) = header_text(header.value()) else {
            continue;
        };
        let value = value.trim();
        match header.name().to_ascii_lowercase().as_str() {
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
            "list-id" | "list-unsubscribe" => f.is_list = true,
            _ => {}
        }
    }
    // mail-parser parses List-* as addresses; presence is what matters.
    f.is_list |= !msg.list_id().is_empty() || !msg.list_unsubscribe().is_empty();
    if let Some(ct) = msg.root_part().content_type() {
        f.is_dsn = ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    }
    f
}

/// The decoded Subject. mail-parser decodes each encoded-word on its own;
/// mailers that cut a long subject by bytes split a character across two
/// words, which then decode to U+FFFD. Where that happened, the words are
/// decoded again, adjacent ones of one charset joined first.
fn subject(msg: &Message<'_>) -> String {
    let decoded = msg.subject().unwrap_or_default();
    if !decoded.contains('\u{fffd}') {
        return decoded.to_string();
    }
    msg.header_raw("Subject")
        .and_then(join_encoded_words)
        .filter(|joined| !joined.contains('\u{fffd}'))
        .unwrap_or_else(|| decoded.to_string())
}

/// RFC 2047 decoding of a raw header value, with the bytes of adjacent
/// encoded-words in the same charset joined before the charset is applied.
/// None where a word does not decode.
fn join_encoded_words(raw: &str) -> Option<String> {
    use mail_parser::decoders::quoted_printable::quoted_printable_decode;
    use mail_parser::decoders::{base64::base64_decode, charsets::map::charset_decoder};
    static WORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let word = WORD.get_or_init(|| {
        regex::Regex::new(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=").expect("a valid pattern")
    });
    let unfolded = raw.replace(['\r', '\n'], "");
    let apply = |charset: &str, bytes: &[u8]| -> String {
        match charset_decoder(charset.as_bytes()) {
            Some(decode) => decode(bytes),
            None => String::from_utf8_lossy(bytes).into_owned(),
        }
    };
    let mut out = String::new();
    // The run of words being joined: charset and bytes so far.
    let mut run: Option<(String, Vec<u8>)> = None;
    let mut last = 0;
    for m in word.captures_iter(&unfolded) {
        let whole = m.get(0)?;
        let gap = &unfolded[last..whole.start()];
        last = whole.end();
        // RFC 2047 §6.2: white space between encoded-words is not text.
        let charset = m[1].split('*').next()?.to_ascii_lowercase();
        let text = m[3].as_bytes();
        let bytes = if m[2].eq_ignore_ascii_case("b") {
            base64_decode(text)?
        } else {
            let spaced: Vec<u8> = text
                .iter()
                .map(|&b| if b == b'_' { b' ' } else { b })
                .collect();
            quoted_printable_decode(&spaced)?
        };
        match &mut run {
            Some((cs, buf)) if *cs == charset && gap.trim().is_empty() => {
                buf.extend_from_slice(&bytes)
            }
            _ => {
                if let Some((cs, buf)) = run.take() {
                    out += &apply(&cs, &buf);
                    if !gap.trim().is_empty() {
                        out += gap;
                    }
                } else {
                    out += gap;
                }
                run = Some((charset, bytes));
            }
        }
    }
    if let Some((cs, buf)) = run {
        out += &apply(&cs, &buf);
    }
    out += &unfolded[last..];
    Some(out.trim().to_string())
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
            let address = a.address()?.trim().to_ascii_lowercase();
            address.contains('@').then(|| Mailbox {
                name: a
                    .name()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty()),
                address,
            })
        })
        .collect()
}

fn first_mailbox(addr: Option<&Address<'_>>) -> Option<Mailbox> {
    addr.and_then(|a| mailboxes(a).into_iter().next())
}

/// All text parts of the body, decoded; HTML converted where the message has
/// no text alternative (mail-parser does the conversion).
fn body_text(msg: &Message<'_>) -> String {
    let mut out = String::new();
    for i in 0..msg.text_body_count() {
        if let Some(text) = msg.body_text(i) {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&text);
        }
    }
    out
}

fn attachments(msg: &Message<'_>) -> Vec<Attachment> {
    msg.attachments()
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            let size = match &part.body {
                PartType::Text(t) | PartType::Html(t) => t.len(),
                PartType::Binary(b) | PartType::InlineBinary(b) => b.len(),
                PartType::Message(m) => m.raw_message.len(),
                PartType::Multipart(_) => 0,
            };
            let filename = part
                .attachment_name()
                .map(String::from)
                .or_else(|| match &part.body {
                    PartType::Message(m) => m.subject().map(|s| format!("{s}.eml")),
                    _ => None,
                })
                .unwrap_or_default();
            Attachment {
                filename,
                content_type,
                size,
            }
        })
        .collect()
}

/// Every attachment of a stored message with its decoded bytes, for
/// `attachments --save` and for relaying staff replies.
pub fn attachment_contents(raw: &[u8]) -> Vec<(Attachment, Vec<u8>)> {
    guarded(|| {
        let Some(msg) = MessageParser::default().parse(raw) else {
            return Vec::new();
        };
        let listed = attachments(&msg);
        listed
            .into_iter()
            .zip(msg.attachments())
            .map(|(a, part)| {
                let bytes = match &part.body {
                    PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
                    PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
                    PartType::Message(m) => m.raw_message.to_vec(),
                    PartType::Multipart(_) => Vec::new(),
                };
                (a, bytes)
            })
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
}
