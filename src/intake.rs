//! Mail from outside, taken in once: bytes → a parsed message the desk can
//! take (`Incoming`), or a typed refusal. `deliver` and `import` both take
//! mail through here, so the size and empty-message rules (SPEC §3, exit
//! 65), the order in which a recipient is looked for and where the envelope
//! sender comes from are each written once; each command only says what a
//! refusal means to its user (an exit code, or a skip warning).

use crate::address;
use crate::config::Config;
use crate::desk::Incoming;
use crate::inbound::{self, Facts};

/// Why a message is not taken in. `Display` is `deliver`'s line (SPEC §3),
/// which an MTA pastes into a bounce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// More than `policy.max_message_bytes`.
    #[error("message larger than policy.max_message_bytes ({max} bytes)")]
    TooLarge { max: u64 },
    /// Nothing but white space once an mbox `From ` line is dropped.
    #[error("empty message")]
    Empty,
    /// No envelope recipient, and none of our addresses in the headers.
    #[error("no recipient: give --recipient (none of our addresses is in the headers)")]
    NoRecipient,
}

/// What the MTA says about a message outside it (SPEC §3): the recipient
/// (`--recipient`, `$ORIGINAL_RECIPIENT`, `$RECIPIENT`) and the sender
/// (`--sender`, `$SENDER`), as given. Import has none: an mbox's `From `
/// line is no envelope (issue 10), so its default is the right one there.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub recipient: Option<String>,
    pub sender: Option<String>,
}

/// A message taken in: its bytes as received, without an mbox `From `
/// line, and what was read from them. `facts` is the caller's to adjust
/// before the desk sees it (import strips an old system's tag).
#[derive(Debug)]
pub struct Message<'a> {
    pub raw: &'a [u8],
    pub facts: Facts,
}

/// The one intake step: drops an mbox `From ` line (SPEC §3: the envelope,
/// not the message), refuses an empty message, then one larger than `max`
/// bytes, and parses the rest. `deliver` meets the size limit first, while
/// reading ([`too_large`]), so that it never holds more than `max + 1`
/// bytes; the check here is for what arrives whole (a mailbox's message).
pub fn take(data: &[u8], max: u64) -> Result<Message<'_>, Refusal> {
    let raw = inbound::strip_from_line(data);
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Refusal::Empty);
    }
    too_large(raw.len(), max)?;
    Ok(Message {
        raw,
        facts: inbound::parse(raw),
    })
}

/// `policy.max_message_bytes`: `len` bytes are refused above `max`.
pub fn too_large(len: usize, max: u64) -> Result<(), Refusal> {
    if len as u64 > max {
        return Err(Refusal::TooLarge { max });
    }
    Ok(())
}

impl Message<'_> {
    /// The message as the desk takes it, from outside (never `local`).
    pub fn incoming<'a>(
        &'a self,
        recipient: &'a str,
        envelope_sender: Option<&'a str>,
    ) -> Incoming<'a> {
        Incoming {
            raw: self.raw,
            facts: &self.facts,
            recipient,
            envelope_sender,
            local: false,
        }
    }

    /// The recipient: the envelope's, else (an admin running `deliver` by
    /// hand on a saved message) the first of our addresses in the headers.
    pub fn recipient<'a>(
        &'a self,
        envelope: &'a Envelope,
        config: &Config,
    ) -> Result<&'a str, Refusal> {
        if let Some(r) = &envelope.recipient {
            return Ok(r);
        }
        header_recipients(&self.facts)
            .find(|a| address::is_ours(a, config))
            .ok_or(Refusal::NoRecipient)
    }

    /// The envelope sender as given by the MTA, else Return-Path: the
    /// sender as the final MTA saw it (RFC 5321 §4.4). Kept as given, not
    /// trimmed: it is stored so, and `export` writes it in the `From ` line.
    pub fn envelope_sender<'a>(&'a self, envelope: &'a Envelope) -> Option<&'a str> {
        envelope
            .sender
            .as_deref()
            .or(self.facts.return_path.as_deref())
    }
}

/// Where a saved message says it was sent, in the order SPEC §3 gives:
/// Delivered-To, X-Original-To, To, Cc (the first two are the MTA's record
/// of the envelope, the last two only what the author wrote).
pub fn header_recipients(facts: &Facts) -> impl Iterator<Item = &str> {
    let envelope = facts.delivered_to.iter().chain(&facts.x_original_to);
    let written = facts.to.iter().chain(&facts.cc).map(|m| &m.address);
    envelope.chain(written).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_message_is_refused_before_its_size() {
        assert_eq!(take(b"From a@b x\n \r\n\n", 3).err(), Some(Refusal::Empty));
        assert_eq!(take(b"", 0).err(), Some(Refusal::Empty));
    }

    #[test]
    fn the_limit_counts_the_message_without_its_from_line() {
        let data = b"From a@b Mon Nov 16 10:00:00 2026\nSubject: x\n\nbody\n";
        let message_len = data.len() - 34;
        assert!(take(data, message_len as u64).is_ok());
        assert_eq!(
            take(data, message_len as u64 - 1).err(),
            Some(Refusal::TooLarge {
                max: message_len as u64 - 1
            })
        );
    }

    #[test]
    fn a_taken_message_starts_after_the_from_line() {
        let m = take(b"From a@b x\r\nSubject: hi\r\n\r\nb\r\n", 100).unwrap();
        assert_eq!(m.raw, b"Subject: hi\r\n\r\nb\r\n");
        assert_eq!(m.facts.subject, "hi");
    }

    #[test]
    fn refusals_read_as_deliver_has_always_printed_them() {
        assert_eq!(
            Refusal::TooLarge { max: 10 }.to_string(),
            "message larger than policy.max_message_bytes (10 bytes)"
        );
        assert_eq!(Refusal::Empty.to_string(), "empty message");
    }

    #[test]
    fn header_recipients_come_in_the_documented_order() {
        let m = take(
            b"To: t@x\nCc: c@x\nX-Original-To: o@x\nDelivered-To: d@x\n\nb\n",
            1000,
        )
        .unwrap();
        assert_eq!(
            header_recipients(&m.facts).collect::<Vec<_>>(),
            ["d@x", "o@x", "t@x", "c@x"]
        );
    }

    #[test]
    fn the_recipient_is_the_envelopes_else_the_first_of_ours_in_the_headers() {
        let config =
            Config::parse("[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n").unwrap();
        let m = take(
            b"To: someone@else.example, Submit@Help.Example.Org\nCc: ticket-7@help.example.org\n\nb\n",
            1000,
        )
        .unwrap();
        let none = Envelope::default();
        assert_eq!(m.recipient(&none, &config), Ok("submit@help.example.org"));
        let given = Envelope {
            recipient: Some("ticket-9@help.example.org".into()),
            ..Envelope::default()
        };
        assert_eq!(
            m.recipient(&given, &config),
            Ok("ticket-9@help.example.org")
        );
        let theirs = take(
            b"To: a@else.example\nCc: nobody@help.example.org\n\nb\n",
            1000,
        )
        .unwrap();
        assert_eq!(
            theirs.recipient(&none, &config),
            Err(Refusal::NoRecipient),
            "an unknown address at our domain is not ours"
        );
    }

    #[test]
    fn the_envelope_sender_wins_over_return_path() {
        let m = take(b"Return-Path: <r@x>\n\nb\n", 1000).unwrap();
        assert_eq!(m.envelope_sender(&Envelope::default()), Some("r@x"));
        let given = Envelope {
            sender: Some("<>".into()),
            ..Envelope::default()
        };
        assert_eq!(m.envelope_sender(&given), Some("<>"), "kept as given");
    }
}
