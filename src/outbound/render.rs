//! One planned mail → the bytes we queue, with the headers every mail from us
//! carries (SPEC §4): our tag in the subject, Reply-To the ticket, threading
//! to the cause, a Message-ID of our domain, Auto-Submitted, X-Loop, and
//! Outlook's Thread-Index and Thread-Topic. Values
//! that came from incoming mail pass through `header_safe` and lettre's
//! RFC 2047 encoder, so they can never start a header of their own.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, Result};
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Address;

use super::templates::{Context, Texts};
use super::{MailKind, Planned};
use crate::config::Config;
use crate::model::{Outgoing, Ticket, Time, Upload};

/// The message that caused the mail.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    pub author: &'a str,
    pub author_name: Option<&'a str>,
    /// Its Message-ID, without brackets.
    pub message_id: Option<&'a str>,
    /// Its References, in header order.
    pub references: &'a [String],
    pub subject: &'a str,
    pub body: &'a str,
    /// Its bytes, where its attachments are to be passed on.
    pub raw: Option<&'a [u8]>,
    /// The member of staff who forwarded it to us, when `author` is the
    /// customer whose mail they forwarded.
    pub forwarded_by: Option<&'a str>,
}

impl<'a> Cause<'a> {
    /// A change made by a person at a terminal or in a browser: no message.
    pub fn by(author: &'a str) -> Cause<'a> {
        Cause {
            author,
            author_name: None,
            message_id: None,
            references: &[],
            subject: "",
            body: "",
            raw: None,
            forwarded_by: None,
        }
    }
}

/// The message a mail answers (RFC 5322 §3.6.4): its Message-ID, without
/// brackets, and its References, in header order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub message_id: String,
    pub references: Vec<String>,
}

impl Parent {
    /// The message that caused a mail, where it has a Message-ID.
    pub fn of(cause: &Cause<'_>) -> Option<Parent> {
        Some(Parent {
            message_id: cause.message_id?.to_string(),
            references: cause.references.to_vec(),
        })
    }
}

/// The References of a mail answering `parent` (SPEC §4): the parent's
/// References, the first and the last nine kept where there are more
/// (RFC 5322 §3.6.4 lets a long list be shortened; the first names the
/// thread's root, the last its nearest messages), then its Message-ID.
/// Ids no header may carry are left out.
pub fn references(parent: &Parent) -> Vec<&str> {
    let refs: Vec<&str> = parent
        .references
        .iter()
        .map(String::as_str)
        .filter(|r| safe_id(r))
        .collect();
    let mut out: Vec<&str> = if refs.len() > 10 {
        std::iter::once(refs[0])
            .chain(refs[refs.len() - 9..].iter().copied())
            .collect()
    } else {
        refs
    };
    if safe_id(&parent.message_id) {
        out.push(&parent.message_id);
    }
    out
}

/// Renders `planned` for `ticket`, ready for the outbox; it answers
/// `answers` (In-Reply-To and References), where there is one.
#[allow(clippy::too_many_arguments)]
pub fn render(
    planned: &Planned,
    ticket: &Ticket,
    cause: &Cause<'_>,
    answers: Option<&Parent>,
    opener: Option<&[u8; 22]>,
    config: &Config,
    texts: &Texts,
    now: Time,
) -> Result<Outgoing> {
    let domain = config.domain();
    let reply_address = config.ticket_address(ticket.id, "");
    let comment_address = config.ticket_address(ticket.id, &config.addresses.comment_suffix);
    let requestor_name = (cause.author == ticket.requestor)
        .then_some(cause.author_name)
        .flatten();
    // A member of staff by the name the config gives them, else by the
    // name their mail carried (SPEC §1, §4).
    let author_name = config.name_of(cause.author).or(cause.author_name);
    let from_name = config.from_name_for(&ticket.queue);
    let ctx = Context {
        site: &config.site.name,
        from_name,
        ticket: ticket.into(),
        author: cause.author,
        author_name,
        requestor_name,
        body: cause.body,
        reply_address: reply_address.clone(),
        comment_address: comment_address.clone(),
    };
    let text = texts.render(planned.kind.name(), &ctx)?;

    let subject = match planned.kind {
        MailKind::Autoreply => format!("AutoReply: {}", ticket.subject),
        MailKind::NewTicket => ticket.subject.clone(),
        MailKind::Resolved => format!("Resolved: {}", ticket.subject),
        MailKind::Comment => format!("Comment: {}", or(cause.subject, &ticket.subject)),
        MailKind::Correspondence | MailKind::StaffReply => {
            or(cause.subject, &ticket.subject).to_string()
        }
        MailKind::Assigned => format!("Assigned to you: {}", ticket.subject),
        MailKind::RequestorClosed => format!("Resolved by the requestor: {}", ticket.subject),
        MailKind::NotStaff => format!("Not counted as staff: {}", ticket.subject),
        MailKind::RuleReply => format!("Re: {}", ticket.subject),
        // The rule's name and the event, in `cause.subject`.
        MailKind::RuleNotice | MailKind::Hook => format!("{}: {}", cause.subject, ticket.subject),
    };
    let subject = tagged(&header_safe(&subject), ticket.id, config);

    // `"Carol Jones via Billing" <ticket-N@domain>` (SPEC §4).
    let from_display = match planned.kind {
        MailKind::StaffReply => {
            let who = author_name
                .map(header_safe)
                .unwrap_or_else(|| cause.author.to_string());
            format!("{who} via {from_name}")
        }
        _ => from_name.to_string(),
    };
    let ticket_addr: Address = reply_address.parse().context("our ticket address")?;
    let reply_to: Address = match planned.kind {
        MailKind::Comment => comment_address.parse(),
        _ => reply_address.parse(),
    }
    .context("our reply address")?;

    let message_id = new_message_id(ticket.id, domain);
    let mut builder = lettre::Message::builder()
        .from(Mailbox::new(Some(from_display), ticket_addr.clone()))
        .reply_to(Mailbox::new(None, reply_to))
        .subject(subject)
        .message_id(Some(format!("<{message_id}>")))
        .date(now.into());
    let mut rcpts = Vec::new();
    let mut envelope = Vec::new();
    let (mut to, mut cc) = (Vec::new(), Vec::new());
    for (i, addr) in planned.to.iter().chain(&planned.cc).enumerate() {
        let Ok(parsed) = addr.parse::<Address>() else {
            continue;
        };
        rcpts.push(addr.clone());
        // Staff by the name the config gives them (SPEC §1).
        let mbox = Mailbox::new(config.name_of(addr).map(String::from), parsed.clone());
        if i < planned.to.len() {
            &mut to
        } else {
            &mut cc
        }
        .push(mbox.to_string());
        envelope.push(parsed);
    }
    if rcpts.is_empty() {
        anyhow::bail!("no valid recipient for the {} mail", planned.kind.name());
    }
    // lettre writes an address list on one line, however long (8,293
    // characters for 301 watchers, issue 18); as a raw value it is folded
    // between addresses, to RFC 5322 §2.1.1's 998 and well below. The
    // envelope is then ours to give: lettre would look for it in To/Cc.
    builder = builder.envelope(Envelope::new(Some(ticket_addr.clone()), envelope)?);
    for (name, list) in [("To", to), ("Cc", cc)] {
        if !list.is_empty() {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                list.join(", "),
            ));
        }
    }
    if let Some(parent) = answers.filter(|p| safe_id(&p.message_id)) {
        builder = builder.in_reply_to(format!("<{}>", parent.message_id));
        let refs: Vec<String> = references(parent)
            .iter()
            .map(|r| format!("<{r}>"))
            .collect();
        builder = builder.references(refs.join(" "));
    }
    if let Some(auto) = auto_submitted(planned.kind) {
        builder = builder.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            auto.into(),
        ));
    }
    builder = builder
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Loop"),
            config.site.name.clone(),
        ))
        // Exchange and Outlook: no out-of-office answers to us.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".into(),
        ))
        // Outlook threads by these, not by References.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Thread-Topic"),
            header_safe(&ticket.subject),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Thread-Index"),
            thread_index(ticket, opener, config, now),
        ));

    let attachments = match (planned.kind, cause.raw) {
        // What a person wrote goes on whole: a staff reply to the requestor,
        // a comment to staff, with the files attached to it.
        (MailKind::StaffReply | MailKind::Comment, Some(raw)) => {
            crate::inbound::attachment_contents(raw)
        }
        _ => Vec::new(),
    };
    let message = if attachments.is_empty() {
        builder.singlepart(SinglePart::plain(text))?
    } else {
        let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(text));
        for (a, bytes) in attachments {
            let ct = ContentType::parse(&a.content_type)
                .unwrap_or(ContentType::parse("application/octet-stream")?);
            let name = if a.filename.is_empty() {
                "attachment".into()
            } else {
                header_safe(&a.filename)
            };
            parts = parts.singlepart(Attachment::new(name).body(bytes, ct));
        }
        builder.multipart(parts)?
    };

    let envelope_from = match planned.kind {
        // RFC 3834 §3.3: autoreplies go with the null sender.
        MailKind::Autoreply => String::new(),
        _ => reply_address,
    };
    Ok(Outgoing {
        ticket_id: ticket.id,
        kind: planned.kind,
        message_id,
        envelope_from,
        recipients: rcpts,
        raw: message.formatted(),
    })
}

/// The `Auto-Submitted` value of a mail of `kind` (SPEC §4, RFC 3834 §5):
/// `auto-replied` for the autoreply, `auto-generated` for notices, and none
/// for a message a person wrote — a staff reply or comment passed on — which
/// a mail program marking it automatic may file away unread (issue 17).
fn auto_submitted(kind: MailKind) -> Option<&'static str> {
    match kind {
        MailKind::Autoreply | MailKind::RuleReply => Some("auto-replied"),
        MailKind::NewTicket
        | MailKind::Correspondence
        | MailKind::Resolved
        | MailKind::Assigned
        | MailKind::RequestorClosed
        | MailKind::NotStaff
        | MailKind::RuleNotice
        | MailKind::Hook => Some("auto-generated"),
        MailKind::StaffReply | MailKind::Comment => None,
    }
}

fn or<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.trim().is_empty() {
        fallback
    } else {
        s
    }
}

/// A staff answer written at the terminal or on the web, as the message
/// it would be had they mailed it to `to` (the ticket's address), with the
/// files they attached: it then takes the same path into the ticket as mail
/// does, and is stored as the message that was sent (`export`,
/// `attachments` and the relayed mail all read it).
#[allow(clippy::too_many_arguments)]
pub fn staff_message(
    config: &Config,
    ticket: &Ticket,
    to: &str,
    author: &str,
    subject: &str,
    body: &str,
    files: &[Upload],
    now: Time,
) -> Result<Vec<u8>> {
    let from: Address = author
        .parse()
        .with_context(|| format!("staff address {author}"))?;
    let builder = lettre::Message::builder()
        .from(Mailbox::new(None, from))
        .to(Mailbox::new(
            None,
            to.parse().context("our ticket address")?,
        ))
        .subject(tagged(&header_safe(subject), ticket.id, config))
        .message_id(Some(format!(
            "<{}>",
            new_message_id(ticket.id, config.domain())
        )))
        .date(now.into());
    let text = SinglePart::plain(body.to_string());
    let message = if files.is_empty() {
        builder.singlepart(text)?
    } else {
        let mut parts = MultiPart::mixed().singlepart(text);
        for f in files {
            let ct = ContentType::parse(&f.content_type)
                .or_else(|_| ContentType::parse("application/octet-stream"))?;
            parts = parts
                .singlepart(Attachment::new(header_safe(&f.filename)).body(f.bytes.clone(), ct));
        }
        builder.multipart(parts)?
    };
    Ok(message.formatted())
}

/// `[name #N] subject`, unless the subject already carries that tag.
pub fn tagged(subject: &str, id: i64, config: &Config) -> String {
    config.tag().tagged(subject, id, &config.site.name)
}

/// Outlook's conversation index ([MS-OXOMSG] §2.2.1.3): a 22-byte header
/// (a reserved 0x01, five bytes of a FILETIME, a 16-byte GUID), then one
/// 5-byte block per reply. Outlook threads mails whose headers are equal,
/// so the header is that of the mail that opened the ticket (`opener`),
/// where it carried one, so that Outlook threads our mail with the
/// requestor's own (SPEC §4); else the ticket's own: its creation time and
/// a GUID derived from the site and the ticket number. Each mail adds one
/// block for the time since the ticket was opened.
pub fn thread_index(
    ticket: &Ticket,
    opener: Option<&[u8; 22]>,
    config: &Config,
    now: Time,
) -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    // 100-ns intervals since 1601-01-01, as Windows counts.
    let filetime = |t: Time| -> u64 {
        let secs = (t.timestamp() + 11_644_473_600).max(0) as u64;
        secs.saturating_mul(10_000_000)
            .saturating_add(u64::from(t.timestamp_subsec_nanos() / 100))
    };
    let mut index = Vec::with_capacity(27);
    let created = match opener {
        // Its first six bytes are the top of the FILETIME it was made at.
        Some(head) => {
            index.extend_from_slice(head);
            let mut ft = [0u8; 8];
            ft[..6].copy_from_slice(&head[..6]);
            u64::from_be_bytes(ft)
        }
        None => {
            let created = filetime(ticket.created);
            index.push(1u8);
            index.extend_from_slice(&created.to_be_bytes()[1..6]);
            let guid = Sha256::digest(format!(
                "pipedesk thread-index\0{}\0{}\0{}",
                config.domain(),
                config.site.name,
                ticket.id
            ));
            index.extend_from_slice(&guid[..16]);
            created
        }
    };
    // The child block: a code bit choosing the scale, 31 bits of the time
    // difference, four random bits and a four-bit sequence count.
    let delta = filetime(now).saturating_sub(created);
    let block = if delta < (1u64 << 49) {
        ((delta >> 18) & 0x7fff_ffff) as u32
    } else {
        (1u32 << 31) | ((delta >> 23) & 0x7fff_ffff) as u32
    };
    index.extend_from_slice(&block.to_be_bytes());
    index.push((now.timestamp_subsec_nanos() & 0xff) as u8);
    base64::engine::general_purpose::STANDARD.encode(index)
}

/// Text from incoming mail made fit for a header: control characters
/// (CR and LF above all) become spaces, runs of white space one space.
pub fn header_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 200 {
        out = out.chars().take(200).collect();
    }
    out
}

/// A Message-ID we may repeat in a header: printable ASCII, no brackets or
/// spaces.
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 250
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
}

/// A fresh Message-ID of our domain (without brackets): unique per process
/// by pid and counter, across processes by time.
pub fn new_message_id(ticket: i64, domain: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "pipedesk.{ticket}.{nanos:x}.{:x}.{n}@{domain}",
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::outbound::Planned;

    fn config() -> Config {
        Config::parse("[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n").unwrap()
    }

    fn ticket() -> Ticket {
        Ticket {
            status: Status::Open,
            watchers: vec![],
            ..Ticket::example(3)
        }
    }

    fn now() -> Time {
        chrono::Utc::now()
    }

    fn rendered(kind: MailKind, cause: &Cause<'_>) -> (Outgoing, String) {
        let c = config();
        let planned = Planned {
            kind,
            to: vec!["john@example.com".into()],
            cc: vec![],
        };
        let out = render(
            &planned,
            &ticket(),
            cause,
            Parent::of(cause).as_ref(),
            None,
            &c,
            &Texts::load(&c).unwrap(),
            now(),
        )
        .unwrap();
        let text = String::from_utf8(out.raw.clone()).unwrap();
        (out, text)
    }

    const CAUSE: Cause<'static> = Cause {
        author: "stef@example.org",
        author_name: Some("Stef"),
        message_id: Some("orig@example.com"),
        references: &[],
        subject: "Re: [myisp #3] Email doesn't work",
        body: "Try again now.",
        raw: None,
        forwarded_by: None,
    };

    #[test]
    fn every_mail_carries_our_headers() {
        let (out, text) = rendered(MailKind::StaffReply, &CAUSE);
        assert!(
            text.contains("Subject: Re: [myisp #3] Email doesn't work\r\n"),
            "{text}"
        );
        assert!(
            text.contains("From: \"Stef via Support\" <ticket-3@help.example.org>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Reply-To: ticket-3@help.example.org\r\n"),
            "{text}"
        );
        assert!(
            text.contains("In-Reply-To: <orig@example.com>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("References: <orig@example.com>\r\n"),
            "{text}"
        );
        assert!(
            !text.contains("Auto-Submitted"),
            "a person wrote it (RFC 3834 §5): {text}"
        );
        assert!(text.contains("X-Loop: myisp\r\n"), "{text}");
        assert!(
            text.contains(&format!("Message-ID: <{}>\r\n", out.message_id)),
            "{text}"
        );
        assert!(out.message_id.ends_with("@help.example.org"));
        assert_eq!(out.envelope_from, "ticket-3@help.example.org");
    }

    #[test]
    fn staff_and_queues_are_named_as_the_config_names_them() {
        let c = Config::parse(
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n\
             [[queues]]\nname = \"billing\"\naddress = \"billing\"\nfrom_name = \"Billing\"\n\
             [staff]\nadmins = [\"Carol Jones <carol@example.org>\"]\n",
        )
        .unwrap();
        let texts = Texts::load(&c).unwrap();
        // (the From display name, decoded; the text)
        let from = |kind, queue: &str, cause: &Cause<'_>| {
            let t = Ticket {
                queue: queue.into(),
                ..ticket()
            };
            let planned = Planned {
                kind,
                to: vec!["john@example.com".into()],
                cc: vec![],
            };
            let out = render(&planned, &t, cause, None, None, &c, &texts, now()).unwrap();
            let parsed = mail_parser::MessageParser::default()
                .parse(&out.raw)
                .unwrap();
            let name = parsed
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.name())
                .unwrap_or_default()
                .to_string();
            (
                name,
                parsed
                    .body_text(0)
                    .unwrap_or_default()
                    .replace("\r\n", "\n"),
            )
        };
        let carol = Cause {
            author: "carol@example.org",
            author_name: None,
            ..CAUSE
        };
        let (name, _) = from(MailKind::StaffReply, "billing", &carol);
        assert_eq!(name, "Carol Jones via Billing");
        let (name, _) = from(MailKind::StaffReply, "general", &carol);
        assert_eq!(name, "Carol Jones via Support");
        let stranger = Cause {
            author: "dave@example.org",
            author_name: None,
            ..CAUSE
        };
        let (name, _) = from(MailKind::StaffReply, "general", &stranger);
        assert_eq!(name, "dave@example.org via Support");
        let (name, text) = from(
            MailKind::Resolved,
            "billing",
            &Cause::by("carol@example.org"),
        );
        assert_eq!(name, "Billing");
        assert!(text.contains("resolved\nby Carol Jones."), "{text}");
        let (name, text) = from(MailKind::Autoreply, "billing", &CAUSE);
        assert_eq!(name, "Billing");
        assert!(
            text.trim_end().ends_with("\nBilling"),
            "signed by the queue: {text}"
        );
    }

    #[test]
    fn autoreplies_have_the_null_sender() {
        let (out, text) = rendered(MailKind::Autoreply, &CAUSE);
        assert_eq!(out.envelope_from, "");
        assert!(text.contains("Auto-Submitted: auto-replied\r\n"), "{text}");
        assert!(
            text.contains("Subject: [myisp #3] AutoReply: Email doesn't work"),
            "{text}"
        );
    }

    #[test]
    fn crlf_in_incoming_values_cannot_add_headers() {
        let evil = Cause {
            subject: "hi\r\nBcc: victim@example.net",
            author_name: Some("Eve\r\nX-Evil: 1"),
            message_id: Some("x@y>\r\nBcc: v@example.net"),
            ..CAUSE
        };
        let (out, text) = rendered(MailKind::StaffReply, &evil);
        assert!(!text.contains("\nBcc:"), "{text}");
        assert!(!text.contains("\nX-Evil:"), "{text}");
        assert_eq!(out.recipients, ["john@example.com"]);
    }

    #[test]
    fn outlook_threads_every_mail_of_a_ticket_and_no_other() {
        use base64::Engine as _;
        let c = config();
        let decode = |s: String| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        let t3 = ticket();
        let later = t3.created + chrono::Duration::hours(5);
        let a = decode(thread_index(&t3, None, &c, t3.created));
        let b = decode(thread_index(&t3, None, &c, later));
        assert_eq!(a.len(), 27);
        assert_eq!(a[..22], b[..22], "one header for one ticket");
        assert_ne!(a[22..], b[22..], "each mail its own block");
        let t4 = Ticket { id: 4, ..ticket() };
        assert_ne!(decode(thread_index(&t4, None, &c, later))[..22], b[..22]);
        let (_, text) = rendered(MailKind::Autoreply, &CAUSE);
        assert!(
            text.contains("Thread-Topic: Email doesn't work\r\n"),
            "{text}"
        );
        assert!(text.contains("Thread-Index: "), "{text}");
    }

    #[test]
    fn references_keep_the_first_and_the_last_nine_then_the_parent() {
        let parent = |n: usize| Parent {
            message_id: "p@x".into(),
            references: (1..=n).map(|i| format!("r{i}@x")).collect(),
        };
        assert_eq!(references(&parent(0)), ["p@x"]);
        assert_eq!(
            references(&parent(10)),
            [
                "r1@x", "r2@x", "r3@x", "r4@x", "r5@x", "r6@x", "r7@x", "r8@x", "r9@x", "r10@x",
                "p@x"
            ]
        );
        assert_eq!(
            references(&parent(25)),
            [
                "r1@x", "r17@x", "r18@x", "r19@x", "r20@x", "r21@x", "r22@x", "r23@x", "r24@x",
                "r25@x", "p@x"
            ]
        );
        let bad = Parent {
            message_id: "p@x".into(),
            references: vec!["a b@x".into(), "ok@x".into(), "<x@y>".into()],
        };
        assert_eq!(references(&bad), ["ok@x", "p@x"]);
    }

    #[test]
    fn long_references_are_folded_to_998_characters() {
        let refs: Vec<String> = (0..12)
            .map(|i| format!("{i}{}@x", "a".repeat(240)))
            .collect();
        let cause = Cause {
            references: &refs,
            ..CAUSE
        };
        let (_, text) = rendered(MailKind::Correspondence, &cause);
        assert!(text.contains(&refs[11]), "{text}");
        assert!(text.lines().all(|l| l.len() <= 998), "{text}");
    }

    #[test]
    fn message_ids_are_unique() {
        assert_ne!(new_message_id(1, "x"), new_message_id(1, "x"));
    }
}
