//! Ours versus theirs (SPEC §1, §4): which addresses pipedesk answers to
//! (`submit@`, the queues, `ticket-N@` and its suffixes, at our domains),
//! and which addresses never get mail from us (ours, and robots).

use std::fmt;

use crate::config::Config;
use crate::inbound::bare_address;

/// A mail address as pipedesk compares and keeps it: trimmed of white
/// space and of an envelope's angle brackets (`<a@b>`), lower-cased. It is
/// made once, where an address comes in (the envelope, a person's typing,
/// a stored row), so every comparison after it is plain equality and no
/// operation lower-cases again. Local parts are folded too: RFC 5321 §2.4
/// lets a server tell `Ann@` from `ann@`, but no mail system a desk talks
/// to does, and staff must not be told apart from themselves by case.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Address(String);

impl Address {
    /// `text` normalised; no check that it is an address.
    pub fn new(text: &str) -> Address {
        Address(
            text.trim()
                .trim_matches(['<', '>'])
                .trim()
                .to_ascii_lowercase(),
        )
    }

    /// `text` normalised, refused unless it is one mail address
    /// (`local@domain`, RFC 5321's grammar as lettre reads it).
    pub fn parse(text: &str) -> Result<Address, crate::desk::Error> {
        let address = Address::new(text);
        match address.0.parse::<lettre::Address>() {
            Ok(_) => Ok(address),
            Err(_) => Err(crate::desk::Error::BadInput(format!(
                "{:?} is not a mail address",
                address.0
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Address {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Address {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Address> for String {
    fn from(a: Address) -> String {
        a.0
    }
}

impl PartialEq<str> for Address {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// What a ticket address asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Correspond,
    Comment,
    Close,
}

/// An envelope recipient, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// `submit@` or a queue's address: opens a ticket in this queue.
    Queue(String),
    /// `ticket-N@`, `ticket-N-comment@`, `ticket-N-done@`.
    Ticket(i64, Kind),
    /// At our domains, but none of our addresses.
    Unknown,
    /// Not at our domains at all.
    NotOurs,
}

/// Classifies `addr` against our domains and local parts; case-insensitive.
pub fn classify(addr: &str, config: &Config) -> Recipient {
    let addr = bare_address(addr);
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Recipient::NotOurs;
    };
    if !config.site.domains.iter().any(|d| d == domain) {
        return Recipient::NotOurs;
    }
    if let Some(queue) = config.queue_for_local(local) {
        return Recipient::Queue(queue.to_string());
    }
    let a = &config.addresses;
    let Some(rest) = local.strip_prefix(a.ticket_prefix.as_str()) else {
        return Recipient::Unknown;
    };
    let (digits, kind) = if let Some(d) = rest.strip_suffix(a.comment_suffix.as_str()) {
        (d, Kind::Comment)
    } else if let Some(d) = rest.strip_suffix(a.done_suffix.as_str()) {
        (d, Kind::Close)
    } else {
        (rest, Kind::Correspond)
    };
    match crate::tag::number(digits) {
        Some(id) => Recipient::Ticket(id, kind),
        None => Recipient::Unknown,
    }
}

/// Is `addr` one of the addresses pipedesk answers to? Staff may have
/// addresses at our domains too; those are people, not ours.
pub fn is_ours(addr: &str, config: &Config) -> bool {
    !matches!(
        classify(addr, config),
        Recipient::NotOurs | Recipient::Unknown
    )
}

/// Robot-ish local parts that never get mail from us (RFC 3834 §2's spirit:
/// no answers to addresses that cannot or should not answer back), in the
/// shapes real senders use: `gmail-noreply@`, `noreply-dmarc-support@`,
/// `dmarc-noreply@`, `opendmarc-postmaster@`, `bounces+123@`, list
/// software's `-request`, `-owner`, `owner-` addresses.
pub fn is_robot(addr: &str) -> bool {
    let addr = Address::new(addr);
    let local = addr
        .rsplit_once('@')
        .map_or(addr.as_str(), |(local, _)| local);
    const EXACT: &[&str] = &[
        "mailer-daemon",
        "postmaster",
        "nobody",
        "root",
        "listserv",
        "majordomo",
    ];
    const ANYWHERE: &[&str] = &[
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "mailer-daemon",
    ];
    EXACT.contains(&local)
        || ANYWHERE.iter().any(|w| local.contains(w))
        || local.starts_with("bounce")
        || local.starts_with("owner-")
        || local.ends_with("-postmaster")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
        || local.ends_with("-owner")
}

/// May we send mail to `addr` at all? Never to our own addresses or robots
/// (no loops, no backscatter), and never to an address no transport takes.
pub fn deliverable(addr: &str, config: &Config) -> bool {
    // An address from mail that no transport accepts (a NUL, a space, 8-bit
    // bytes) is left out here: rendering would otherwise fail and turn the
    // whole delivery into a 75 that the MTA retries forever.
    mailable(addr) && !is_ours(addr, config) && !is_robot(addr)
}

/// Can mail go to `addr` at all? Not to an IP literal (`evil@[127.0.0.1]`:
/// a way round the MTA's idea of where mail goes), a local part over RFC
/// 5321 §4.5.3.1.1's 64 octets, an address over 254, no domain, or what
/// lettre cannot parse. Such a requestor is stored as written and simply
/// gets no mail (SPEC §3): the message is never kept waiting at the MTA
/// for its own fault (issue 18: an IP literal made `deliver` exit 75).
pub fn mailable(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && !domain.starts_with('[')
        && addr.len() <= 254
        && addr.parse::<lettre::Address>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmailable_addresses_are_told_apart() {
        for a in [
            "john@example.com",
            "a.b+c@sub.example.org",
            "evil@localhost",
        ] {
            assert!(mailable(a), "{a}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        let quoted = format!("\"{} {}\"@example.com", "a".repeat(40), "b".repeat(40));
        for a in [
            "evil@[127.0.0.1]",
            "evil@[ipv6:::1]",
            long.as_str(),
            quoted.as_str(),
            "nodomain@",
            "@example.com",
            "no-at-sign",
            "two words@example.com",
        ] {
            assert!(!mailable(a), "{a}");
        }
    }

    fn config() -> Config {
        Config::parse(
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\", \"support.example.org\"]\n\
             [[queues]]\nname = \"web\"\naddress = \"webmaster\"\n\
             [staff]\nadmins = [\"stef@example.org\"]\n",
        )
        .unwrap()
    }

    #[test]
    fn submit_and_queue_addresses_open_tickets() {
        let c = config();
        assert_eq!(
            classify("submit@help.example.org", &c),
            Recipient::Queue("general".into())
        );
        assert_eq!(
            classify("SUBMIT@Support.Example.ORG", &c),
            Recipient::Queue("general".into())
        );
        assert_eq!(
            classify("<webmaster@help.example.org>", &c),
            Recipient::Queue("web".into())
        );
    }

    #[test]
    fn ticket_addresses_name_ticket_and_kind() {
        let c = config();
        assert_eq!(
            classify("ticket-42@help.example.org", &c),
            Recipient::Ticket(42, Kind::Correspond)
        );
        assert_eq!(
            classify("Ticket-42-Comment@help.example.org", &c),
            Recipient::Ticket(42, Kind::Comment)
        );
        assert_eq!(
            classify("ticket-42-done@help.example.org", &c),
            Recipient::Ticket(42, Kind::Close)
        );
    }

    #[test]
    fn malformed_ticket_addresses_are_unknown() {
        let c = config();
        for a in [
            "ticket-@help.example.org",
            "ticket-x1@help.example.org",
            "ticket-0@help.example.org",
            "ticket-+4@help.example.org",
            "ticket-4-closed@help.example.org",
            "ticket-99999999999999999999@help.example.org",
            "stef@help.example.org",
        ] {
            assert_eq!(classify(a, &c), Recipient::Unknown, "{a}");
        }
        assert_eq!(classify("submit@example.com", &c), Recipient::NotOurs);
        assert_eq!(classify("nonsense", &c), Recipient::NotOurs);
    }

    #[test]
    fn our_addresses_are_not_staff_addresses() {
        let c = config();
        assert!(is_ours("ticket-3-done@help.example.org", &c));
        assert!(is_ours("submit@support.example.org", &c));
        assert!(!is_ours("stef@help.example.org", &c));
        assert!(!is_ours("john@example.com", &c));
    }

    #[test]
    fn robots_are_recognised_in_their_real_shapes() {
        for a in [
            "MAILER-DAEMON@x.org",
            "postmaster@x",
            "no-reply@x",
            "noreply-alerts@x",
            "bounces+123@x",
            "list-request@x",
            "owner-list@x",
            "list-owner@x",
            // Issue 10: autoreplies went to these.
            "gmail-noreply@google.com",
            "dmarc-noreply@linkedin.com",
            "noreply-dmarc-support@google.com",
            "opendmarc-postmaster@mx.example.net",
            "DoNotReply@bank.example",
            "alerts_do_not_reply@x",
            "mailman-bounces@lists.example.org",
            "<listserv@lists.example.org>",
        ] {
            assert!(is_robot(a), "{a}");
        }
        for person in [
            "john@example.com",
            "replyguy@example.com",
            "noreen@example.com",
            "bob.owner@example.com",
            "post@example.com",
        ] {
            assert!(!is_robot(person), "{person}");
        }
    }

    #[test]
    fn only_people_outside_get_mail() {
        let c = config();
        assert!(deliverable("john@example.com", &c));
        assert!(!deliverable("ticket-4@help.example.org", &c));
        assert!(!deliverable("gmail-noreply@google.com", &c));
        assert!(!deliverable("john @example.com", &c));
        assert!(!deliverable("nobody", &c));
    }

    #[test]
    fn an_address_is_normalised_once_and_checked_on_parse() {
        assert_eq!(
            Address::new(" <Ann@Example.ORG> ").as_str(),
            "ann@example.org"
        );
        assert_eq!(Address::new("ann@example.org"), *"ann@example.org");
        assert!(Address::parse("Ann@Example.org").is_ok());
        let e = Address::parse("not an address").unwrap_err();
        assert_eq!(e.to_string(), "\"not an address\" is not a mail address");
    }
}
