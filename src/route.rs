//! Pure routing (SPEC §3): recipient address, subject tag and the message's
//! markers → where the message goes. No I/O, so every rule is unit-tested
//! here; `commands/deliver.rs` adds what needs the database (does the ticket
//! exist, which ticket do In-Reply-To/References name).

use regex::Regex;

use crate::config::{CloseFrom, Config};
use crate::inbound::{domain_of, Facts};

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

/// Where a message goes before the database has been asked anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new ticket in `queue`, unless In-Reply-To/References name a ticket
    /// (only asked when there was no tag).
    New { queue: String, tagged: bool },
    /// Ticket N; it may not exist.
    Ticket(i64, Kind),
    /// Exit 67.
    Unknown,
}

/// Classifies `addr` against our domains and local parts; case-insensitive.
pub fn classify(addr: &str, config: &Config) -> Recipient {
    let addr = crate::inbound::bare_address(addr);
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
    match ticket_number(digits) {
        Some(id) => Recipient::Ticket(id, kind),
        None => Recipient::Unknown,
    }
}

/// A ticket number: ASCII digits only, 1 or more, fits an i64.
fn ticket_number(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|&n| n > 0)
}

/// Is `addr` one of the addresses pipedesk answers to? Staff may have
/// addresses at our domains too; those are people, not ours.
pub fn is_ours(addr: &str, config: &Config) -> bool {
    !matches!(
        classify(addr, config),
        Recipient::NotOurs | Recipient::Unknown
    )
}

/// The compiled tag pattern for site `name`: `[NAME #N]`, NAME compared
/// case-insensitively, spaces tolerated.
pub fn tag_pattern(name: &str) -> Regex {
    let name = regex::escape(name.trim())
        .replace("\\ ", r"\s+")
        .replace(' ', r"\s+");
    // The pattern is built from an escaped name, so it always compiles.
    Regex::new(&format!(r"(?i)\[\s*{name}\s*#\s*([0-9]{{1,18}})\s*\]"))
        .unwrap_or_else(|_| Regex::new(r"\A\b\B").expect("a pattern that never matches compiles"))
}

/// The ticket our tag names in a decoded subject, if any.
pub fn find_tag(subject: &str, pattern: &Regex) -> Option<i64> {
    pattern
        .captures_iter(subject)
        .find_map(|c| ticket_number(c.get(1)?.as_str()))
}

/// Where a message goes: the address wins over the tag where the address
/// names a ticket.
pub fn target(recipient: &Recipient, tag: Option<i64>) -> Target {
    match (recipient, tag) {
        (Recipient::Ticket(id, kind), _) => Target::Ticket(*id, *kind),
        (Recipient::Queue(_), Some(id)) => Target::Ticket(id, Kind::Correspond),
        (Recipient::Queue(queue), None) => Target::New {
            queue: queue.clone(),
            tagged: false,
        },
        (Recipient::Unknown | Recipient::NotOurs, _) => Target::Unknown,
    }
}

/// A bounce (RFC 3464 / RFC 5321 §4.5.5): the null envelope sender, one
/// Postfix spells `MAILER-DAEMON`, or a delivery-status report.
pub fn is_bounce(envelope_sender: Option<&str>, facts: &Facts) -> bool {
    let null_sender = match envelope_sender.map(str::trim) {
        Some(s) => {
            let s = s.trim_start_matches('<').trim_end_matches('>');
            let local = s.split('@').next().unwrap_or("");
            s.is_empty() || local.eq_ignore_ascii_case("mailer-daemon")
        }
        None => false,
    };
    null_sender || facts.is_dsn
}

/// Robot-ish local parts that never get mail from us (RFC 3834 §2 spirit:
/// no answers to addresses that cannot or should not answer back).
pub fn is_robot(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("").to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "do_not_reply",
        "nobody",
        "root",
        "listserv",
        "majordomo",
        "abuse",
    ];
    EXACT.contains(&local.as_str())
        || local.starts_with("bounce")
        || local.starts_with("owner-")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
        || local.ends_with("-owner")
        || local.starts_with("noreply")
        || local.starts_with("no-reply")
}

/// Does this message really come from `author`, a staff address? Without a
/// `trusted_authserv_id` the From: header is believed. With one, only the
/// topmost Authentication-Results header from that authserv-id counts (the
/// MTA prepends its own; one further down may have been added by the
/// sender), and it must show dmarc=pass or a dkim=pass aligned with the From
/// domain (RFC 7489 §3.1.1, relaxed alignment).
pub fn authenticated(author: &str, facts: &Facts, config: &Config) -> bool {
    let id = config.policy.trusted_authserv_id.trim();
    if id.is_empty() {
        return true;
    }
    // RFC 8601 §2.2: comments may hold anything, `;` included (OpenDKIM
    // writes "dkim=pass (2048-bit key; unprotected)"), so they go first.
    let headers: Vec<String> = facts
        .auth_results
        .iter()
        .map(|h| without_comments(h))
        .collect();
    let Some(ours) = headers.iter().find(|h| {
        let authserv = h
            .split(';')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("");
        authserv.eq_ignore_ascii_case(id)
    }) else {
        return false;
    };
    let from_domain = domain_of(author).to_ascii_lowercase();
    let lower = ours.to_ascii_lowercase();
    lower.split(';').skip(1).any(|result| {
        let result = result.trim();
        let words: Vec<&str> = result.split_whitespace().collect();
        let method_pass = |m: &str| words.first().is_some_and(|w| *w == format!("{m}=pass"));
        if method_pass("dmarc") {
            // The pass is for the From domain the verifier saw. With two
            // From: headers (or two mailboxes) that may not be the one taken
            // as the author here: eve@evil.example passes her own DMARC and
            // adds `From: stef@example.org`. So the header.from it names, if
            // any (OpenDMARC, Rspamd and Exim all name it), must be ours.
            return words
                .iter()
                .filter_map(|w| w.strip_prefix("header.from="))
                .all(|d| d.trim_matches('"') == from_domain);
        }
        if method_pass("dkim") {
            return words.iter().any(|w| {
                w.strip_prefix("header.d=")
                    .or_else(|| w.strip_prefix("header.i=@"))
                    .is_some_and(|d| {
                        let d = d.trim_matches(|c| c == '"' || c == ')' || c == '(');
                        from_domain == d || from_domain.ends_with(&format!(".{d}"))
                    })
            });
        }
        false
    })
}

/// An Authentication-Results value without its RFC 5322 comments
/// (nested parentheses, backslash escapes; quoted strings left alone).
fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// May `author` close a ticket whose requestor is `requestor`?
pub fn may_close(policy: CloseFrom, author: &str, requestor: &str, is_staff: bool) -> bool {
    match policy {
        CloseFrom::Anyone => true,
        CloseFrom::Staff => is_staff,
        CloseFrom::RequestorOrStaff => is_staff || author.eq_ignore_ascii_case(requestor),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn tag_is_found_behind_any_prefix() {
        let p = tag_pattern("myisp");
        assert_eq!(find_tag("Re: AW: [EXT] [MyISP  #7] printer", &p), Some(7));
        assert_eq!(find_tag("[ myisp # 12 ]", &p), Some(12));
        assert_eq!(find_tag("SV: Fwd: [myisp #3]", &p), Some(3));
        assert_eq!(find_tag("no tag", &p), None);
        assert_eq!(find_tag("[otherdesk #1] [myisp #2]", &p), Some(2));
    }

    #[test]
    fn foreign_and_broken_tags_are_not_ours() {
        let p = tag_pattern("myisp");
        assert_eq!(find_tag("Re: [otherdesk #1]", &p), None);
        assert_eq!(find_tag("[myisp2 #1]", &p), None);
        assert_eq!(find_tag("[myisp #]", &p), None);
        assert_eq!(find_tag("[myisp #0]", &p), None);
        assert_eq!(find_tag("[my.isp #1]", &tag_pattern("myisp")), None);
        assert_eq!(find_tag("[my.isp #1]", &tag_pattern("my.isp")), Some(1));
    }

    #[test]
    fn names_with_spaces_tolerate_more_spaces() {
        let p = tag_pattern("My ISP");
        assert_eq!(find_tag("Re: [my   isp #5]", &p), Some(5));
    }

    #[test]
    fn address_wins_over_tag() {
        assert_eq!(
            target(&Recipient::Ticket(4, Kind::Comment), Some(9)),
            Target::Ticket(4, Kind::Comment)
        );
        assert_eq!(
            target(&Recipient::Queue("web".into()), Some(9)),
            Target::Ticket(9, Kind::Correspond)
        );
        assert_eq!(
            target(&Recipient::Queue("web".into()), None),
            Target::New {
                queue: "web".into(),
                tagged: false
            }
        );
        assert_eq!(target(&Recipient::Unknown, Some(1)), Target::Unknown);
    }

    #[test]
    fn bounces_by_sender_or_report() {
        let plain = Facts::default();
        assert!(is_bounce(Some(""), &plain));
        assert!(is_bounce(Some("<>"), &plain));
        assert!(is_bounce(Some("MAILER-DAEMON"), &plain));
        assert!(is_bounce(Some("mailer-daemon@mx.example.com"), &plain));
        assert!(!is_bounce(Some("john@example.com"), &plain));
        assert!(!is_bounce(None, &plain));
        let dsn = Facts {
            is_dsn: true,
            ..Facts::default()
        };
        assert!(is_bounce(Some("john@example.com"), &dsn));
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
    fn robots_are_recognised() {
        for a in [
            "MAILER-DAEMON@x.org",
            "postmaster@x",
            "no-reply@x",
            "noreply-alerts@x",
            "bounces+123@x",
            "list-request@x",
            "owner-list@x",
        ] {
            assert!(is_robot(a), "{a}");
        }
        assert!(!is_robot("john@example.com"));
        assert!(!is_robot("replyguy@example.com"));
    }

    #[test]
    fn close_policy() {
        use CloseFrom::*;
        assert!(may_close(RequestorOrStaff, "john@x", "JOHN@x", false));
        assert!(may_close(RequestorOrStaff, "stef@x", "john@x", true));
        assert!(!may_close(RequestorOrStaff, "eve@x", "john@x", false));
        assert!(!may_close(Staff, "john@x", "john@x", false));
        assert!(may_close(Anyone, "eve@x", "john@x", false));
    }

    fn with_auth(headers: &[&str]) -> Facts {
        Facts {
            auth_results: headers.iter().map(|s| s.to_string()).collect(),
            ..Facts::default()
        }
    }

    #[test]
    fn staff_needs_a_pass_from_the_trusted_authserv() {
        let mut c = config();
        assert!(
            authenticated("stef@example.org", &Facts::default(), &c),
            "no id set: From is believed"
        );
        c.policy.trusted_authserv_id = "mx.help.example.org".into();
        let pass = with_auth(&["mx.help.example.org; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org"]);
        assert!(authenticated("stef@example.org", &pass, &c));
        let fail = with_auth(&["mx.help.example.org; dmarc=fail header.from=example.org"]);
        assert!(!authenticated("stef@example.org", &fail, &c));
        assert!(!authenticated("stef@example.org", &Facts::default(), &c));
        let dkim = with_auth(&["mx.help.example.org; dkim=pass header.d=example.org header.s=s1"]);
        assert!(authenticated("stef@example.org", &dkim, &c));
        let commented = with_auth(&["mx.help.example.org (Postfix);\n\tdkim=pass (2048-bit key; unprotected) header.d=example.org header.b=\"Pq8s\";\n\tspf=softfail (no; really) smtp.mailfrom=stef@example.org"]);
        assert!(authenticated("stef@example.org", &commented, &c));
        let hidden =
            with_auth(&["mx.help.example.org; dkim=fail (dkim=pass header.d=example.org)"]);
        assert!(!authenticated("stef@example.org", &hidden, &c));
        let unaligned = with_auth(&["mx.help.example.org; dkim=pass header.d=evil.example"]);
        assert!(!authenticated("stef@example.org", &unaligned, &c));
        let other_host = with_auth(&["mx.evil.example; dmarc=pass"]);
        assert!(!authenticated("stef@example.org", &other_host, &c));
        let forged_below = with_auth(&[
            "mx.help.example.org; dmarc=fail header.from=example.org",
            "mx.help.example.org; dmarc=pass header.from=example.org",
        ]);
        assert!(!authenticated("stef@example.org", &forged_below, &c));
    }
}
