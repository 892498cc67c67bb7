//! A customer's mail forwarded by staff to `submit@` (SPEC §3 "Forwarded by
//! staff"): who wrote it, what it was about, what it said, and the staff
//! member's own words around it. Two shapes exist in the wild: the
//! forwarded message attached whole (`message/rfc822`, "forward as
//! attachment"), and the inline block every client writes under its own
//! separator line, followed by the original's From:/Subject: lines.

use mail_parser::{MessageParser, PartType};
use regex::Regex;

use crate::inbound::{Facts, Mailbox};

/// The forwarded message found inside a staff member's mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Its author: the requestor of the ticket it opens.
    pub author: Mailbox,
    /// Its subject, without `Fwd:`-style prefixes ("" when it had none).
    pub subject: String,
    /// Its text.
    pub body: String,
    /// What the staff member wrote above it ("" when nothing).
    pub note: String,
}

/// The forward `raw` carries, if any: an attached `message/rfc822` first,
/// else an inline block in the text body. Only an author found makes it a
/// forward; without one the message is an ordinary one from staff.
pub fn find(raw: &[u8], facts: &Facts) -> Option<Forward> {
    attached(raw, facts).or_else(|| inline(&facts.body))
}

/// `message/rfc822`, alone or after the staff member's note.
fn attached(raw: &[u8], facts: &Facts) -> Option<Forward> {
    crate::inbound::guarded(|| {
        let msg = MessageParser::default().parse(raw)?;
        let inner = msg.parts.iter().find_map(|p| match &p.body {
            PartType::Message(m) => Some(m),
            _ => None,
        })?;
        let from = inner.from()?.first()?;
        let address = String::from(crate::address::Address::new(from.address()?));
        if !address.contains('@') {
            return None;
        }
        let inner_facts = crate::inbound::parse(inner.raw_message());
        Some(Forward {
            author: Mailbox {
                name: from
                    .name()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty()),
                address,
            },
            subject: crate::tag::without_forward_prefix(&inner_facts.subject),
            body: inner_facts.body,
            note: facts.body.trim().to_string(),
        })
    })
    .flatten()
}

/// The separator lines mail clients write above an inline forward: Gmail,
/// Thunderbird (old and new), Outlook (`-----Original Message-----`, and
/// Outlook 365's line of underscores), Apple Mail.
fn separator() -> &'static Regex {
    static SEP: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    SEP.get_or_init(|| {
        Regex::new(
            r"(?im)^[ \t>]*(?:-{2,}[ \t]*(?:forwarded message|original message)[ \t]*-{2,}|begin forwarded message:|_{10,})[ \t]*\r?$",
        )
        .expect("a valid pattern")
    })
}

/// One header line of the forwarded block: `From: …`, also as Outlook's
/// HTML-made text writes it (`*From:* …`) and quoted (`> From: …`).
fn header_line() -> &'static Regex {
    static LINE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    LINE.get_or_init(|| {
        Regex::new(
            r"(?i)^[ \t>]*\**(from|subject|date|sent|to|cc|reply-to)\**[ \t]*:\**[ \t]*(.*?)[ \t]*$",
        )
        .expect("a valid pattern")
    })
}

/// An inline forward in `body`: the first separator line, then the
/// original's header lines up to a blank line, then its text.
fn inline(body: &str) -> Option<Forward> {
    let sep = separator().find(body)?;
    let note = body[..sep.start()].trim().to_string();
    let rest = &body[sep.end()..];
    let mut lines = rest.split_inclusive('\n').peekable();
    let mut consumed = 0;
    // Apple Mail leaves a blank line between its separator and the headers.
    while let Some(l) = lines.peek() {
        if !l.trim_start_matches(['>', ' ', '\t']).trim().is_empty() {
            break;
        }
        consumed += l.len();
        lines.next();
    }
    let (mut from, mut subject) = (None, None);
    let mut seen_header = false;
    for l in lines {
        let bare = l.trim_end_matches(['\r', '\n']);
        if bare.trim_start_matches(['>', ' ', '\t']).is_empty() {
            consumed += l.len();
            if seen_header {
                break;
            }
            continue;
        }
        match header_line().captures(bare) {
            Some(c) => {
                seen_header = true;
                let value = c.get(2).map_or("", |v| v.as_str()).to_string();
                match c[1].to_ascii_lowercase().as_str() {
                    "from" if from.is_none() => from = Some(value),
                    "subject" if subject.is_none() => subject = Some(value),
                    _ => {}
                }
            }
            // A header value wrapped onto the next line (a long To:).
            None if seen_header => {}
            None => break,
        }
        consumed += l.len();
    }
    let author = mailbox(&from?)?;
    let body = rest[consumed.min(rest.len())..]
        .lines()
        .map(|l| l.strip_prefix("> ").or(l.strip_prefix('>')).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    Some(Forward {
        author,
        subject: crate::tag::without_forward_prefix(subject.as_deref().unwrap_or("")),
        body: body.trim().to_string(),
        note,
    })
}

/// `Name <addr>`, `"Name" <addr>`, Outlook's `Name [mailto:addr]`, Gmail's
/// `Name <addr>` or a bare `addr`.
fn mailbox(value: &str) -> Option<Mailbox> {
    static ADDR: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let addr = ADDR.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:mailto:)?([^\s<>\[\]()"',;:]+@[^\s<>\[\]()"',;:]+\.[^\s<>\[\]()"',;:]+)"#,
        )
        .expect("a valid pattern")
    });
    let m = addr.captures(value)?;
    let whole = m.get(0)?;
    let address = String::from(crate::address::Address::new(m[1].trim_end_matches('.')));
    let name = value[..whole.start()]
        .trim()
        .trim_end_matches(['<', '['])
        .trim()
        .trim_matches('"')
        .trim()
        .to_string();
    Some(Mailbox {
        name: (!name.is_empty() && !name.contains('@')).then_some(name),
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn john() -> Mailbox {
        Mailbox {
            name: Some("John Doe".into()),
            address: "john@example.com".into(),
        }
    }

    #[test]
    fn gmail_inline_forward() {
        let body = "Can someone look at this?\n\n---------- Forwarded message ---------\n\
                    From: John Doe <john@example.com>\nDate: Mon, 16 Nov 2026 at 10:00\n\
                    Subject: Printer on fire\nTo: <stef@example.org>\n\n\nIt is on fire.\n";
        let f = inline(body).unwrap();
        assert_eq!(f.author, john());
        assert_eq!(f.subject, "Printer on fire");
        assert_eq!(f.body, "It is on fire.");
        assert_eq!(f.note, "Can someone look at this?");
    }

    #[test]
    fn outlook_inline_forward_with_mailto_and_bold() {
        let body = "Please handle.\r\n\r\n-----Original Message-----\r\n\
                    *From:* John Doe [mailto:JOHN@example.com]\r\n*Sent:* Monday, 16 November 2026 10:00\r\n\
                    *To:* Stef <stef@example.org>; Ann\r\n <ann@example.org>\r\n*Subject:* FW: Printer\r\n\r\nBroken.\r\n";
        let f = inline(body).unwrap();
        assert_eq!(f.author, john());
        assert_eq!(f.subject, "Printer");
        assert_eq!(f.body, "Broken.");
    }

    #[test]
    fn apple_and_thunderbird_inline_forwards() {
        let apple = "\n\nBegin forwarded message:\n\n> From: \"John Doe\" <john@example.com>\n\
                     > Subject: Printer\n> Date: 16 November 2026 at 10:00:00 CET\n>\n> Broken.\n";
        let f = inline(apple).unwrap();
        assert_eq!(
            (f.author, f.subject.as_str(), f.body.as_str()),
            (john(), "Printer", "Broken.")
        );
        assert_eq!(f.note, "");
        let thunderbird = "FYI\n\n-------- Forwarded Message --------\nSubject: \tPrinter\n\
                           Date: \tMon, 16 Nov 2026 10:00:00 +0100\nFrom: \tJohn Doe <john@example.com>\n\
                           To: \tstef@example.org\n\nBroken.\n";
        let f = inline(thunderbird).unwrap();
        assert_eq!((f.author, f.subject.as_str()), (john(), "Printer"));
    }

    #[test]
    fn no_author_no_forward() {
        assert_eq!(
            inline("---------- Forwarded message ---------\nSubject: x\n\nhi\n"),
            None
        );
        assert_eq!(inline("Just a message that mentions From: nobody\n"), None);
    }

    #[test]
    fn an_attached_message_is_a_forward() {
        let raw = b"From: Stef <stef@example.org>\nTo: submit@help.example.org\nSubject: Fwd: Printer\n\
            MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n\
            See below.\n--b\nContent-Type: message/rfc822\n\nFrom: John Doe <john@example.com>\n\
            Subject: Printer\nMessage-ID: <orig@example.com>\n\nBroken.\n--b--\n";
        let facts = crate::inbound::parse(raw);
        let f = find(raw, &facts).unwrap();
        assert_eq!(f.author, john());
        assert_eq!(f.subject, "Printer");
        assert!(f.body.contains("Broken."), "{f:?}");
        assert!(f.note.contains("See below."), "{f:?}");
    }

    #[test]
    fn addresses_in_their_shapes() {
        assert_eq!(mailbox("John Doe <john@example.com>"), Some(john()));
        assert_eq!(mailbox("\"John Doe\" <john@example.com>"), Some(john()));
        assert_eq!(mailbox("John Doe [mailto:john@example.com]"), Some(john()));
        assert_eq!(
            mailbox("john@example.com").map(|m| m.address),
            Some("john@example.com".into())
        );
        assert_eq!(mailbox("John Doe"), None);
    }
}
