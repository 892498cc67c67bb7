//! Pure routing (SPEC §3): recipient address, subject tag and the message's
//! markers → where the message goes and what it is (a bounce, automatic
//! mail, from staff). No I/O, so every rule is unit-tested here; the desk
//! adds what needs the database (does the ticket exist, which ticket do
//! In-Reply-To/References name).

use crate::address::{Kind, Recipient};
use crate::config::{CloseFrom, Config, StaffMail};
use crate::inbound::{domain_of, Facts};

/// Where a message goes before the database has been asked anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A new ticket in `queue`, unless In-Reply-To/References name a ticket.
    New { queue: String },
    /// Ticket N; it may not exist, or be merged into another.
    Ticket(i64, Kind),
    /// Exit 67.
    Unknown,
}

/// Where a message goes: the address wins over the tag where the address
/// names a ticket.
pub fn target(recipient: &Recipient, tag: Option<i64>) -> Target {
    match (recipient, tag) {
        (Recipient::Ticket(id, kind), _) => Target::Ticket(*id, *kind),
        (Recipient::Queue(_), Some(id)) => Target::Ticket(id, Kind::Correspond),
        (Recipient::Queue(queue), None) => Target::New {
            queue: queue.clone(),
        },
        (Recipient::Unknown | Recipient::NotOurs, _) => Target::Unknown,
    }
}

/// A bounce (RFC 3464 / RFC 5321 §4.5.5): the null envelope sender, one
/// Postfix spells `MAILER-DAEMON`, a `From: MAILER-DAEMON@…` (some MTAs
/// send their bounces with an ordinary envelope sender), or a
/// delivery-status report.
pub fn is_bounce(envelope_sender: Option<&str>, facts: &Facts) -> bool {
    let daemon = |addr: &str| {
        let s = crate::address::Address::new(addr);
        s.is_empty() || s.split('@').next() == Some("mailer-daemon")
    };
    let null_sender = envelope_sender.is_some_and(daemon);
    let daemon_from = facts
        .from
        .as_ref()
        .is_some_and(|m| !m.address.is_empty() && daemon(&m.address));
    null_sender || daemon_from || facts.is_dsn
}

/// Automatic mail (RFC 3834 §2, §5): out-of-office and vacation replies,
/// read receipts and other reports, anything whose `Auto-Submitted` is
/// not `no`, and the replies of Exchange mailbox rules (SPEC §3). It is stored, but never changes a ticket's status and never
/// causes mail: the vacation ping-pong (our notice, their auto-reply, our
/// notice…) cannot start.
pub fn is_automatic(facts: &Facts) -> bool {
    let auto_submitted = facts.auto_submitted.as_deref().is_some_and(|v| {
        !v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("no")
    });
    let precedence = facts
        .precedence
        .as_deref()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("auto_reply"));
    // RFC 6522: a report that is not a delivery-status one (a bounce) is a
    // read receipt (RFC 8098), an abuse report (RFC 5965) or the like.
    let report = facts
        .report_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("delivery-status"));
    auto_submitted || precedence || facts.x_autoreply || facts.mailbox_rule || report
}

/// Does this message really come from `author`, a staff address? With
/// `policy.staff_mail = "from"` the From: header is believed. Otherwise
/// (the default, SPEC §2) there must be a `trusted_authserv_id` — without
/// one, staff mail never counts (issue 18: a forged From: made an open
/// relay) — and only the topmost Authentication-Results header from that authserv-id counts (the
/// MTA prepends its own; one further down may have been added by the
/// sender), and it must show dmarc=pass or a dkim=pass aligned with the From
/// domain (RFC 7489 §3.1.1, relaxed alignment).
pub fn authenticated(author: &str, facts: &Facts, config: &Config) -> bool {
    if config.policy.staff_mail == StaffMail::From {
        return true;
    }
    let id = config.policy.trusted_authserv_id.trim();
    if id.is_empty() {
        return false;
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
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n\
             [staff]\nadmins = [\"stef@example.org\"]\n",
        )
        .unwrap()
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
                queue: "web".into()
            }
        );
        assert_eq!(target(&Recipient::Unknown, Some(1)), Target::Unknown);
    }

    #[test]
    fn bounces_by_sender_from_or_report() {
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
        // Issue 10: a From: of MAILER-DAEMON@… with an ordinary envelope.
        let daemon = Facts {
            from: Some(crate::inbound::Mailbox {
                name: Some("Mail Delivery System".into()),
                address: "mailer-daemon@mx.example.net".into(),
            }),
            ..Facts::default()
        };
        assert!(is_bounce(Some("relay@mx.example.net"), &daemon));
    }

    #[test]
    fn automatic_mail_is_recognised_by_every_marker() {
        let cases = [
            Facts {
                auto_submitted: Some("auto-replied".into()),
                ..Facts::default()
            },
            Facts {
                auto_submitted: Some("auto-generated; owner-email=x@y".into()),
                ..Facts::default()
            },
            Facts {
                x_autoreply: true,
                ..Facts::default()
            },
            Facts {
                precedence: Some("auto_reply".into()),
                ..Facts::default()
            },
            Facts {
                report_type: Some("disposition-notification".into()),
                ..Facts::default()
            },
            Facts {
                report_type: Some("feedback-report".into()),
                ..Facts::default()
            },
        ];
        for f in cases {
            assert!(is_automatic(&f), "{f:?}");
        }
        for f in [
            Facts::default(),
            Facts {
                auto_submitted: Some("No".into()),
                ..Facts::default()
            },
            Facts {
                precedence: Some("bulk".into()),
                ..Facts::default()
            },
            Facts {
                report_type: Some("delivery-status".into()),
                ..Facts::default()
            },
        ] {
            assert!(!is_automatic(&f), "{f:?}");
        }
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
            !authenticated("stef@example.org", &Facts::default(), &c),
            "no id set: staff mail never counts by default"
        );
        c.policy.staff_mail = StaffMail::From;
        assert!(
            authenticated("stef@example.org", &Facts::default(), &c),
            "staff_mail = \"from\": From is believed"
        );
        c.policy.staff_mail = StaffMail::Authenticated;
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
