//! The mail a help desk sends (SPEC §4). `plan` decides, as a pure function,
//! which mails an event causes and to whom; `render` turns one into bytes
//! with our headers; `transport` sends what the outbox holds; `hook` runs
//! a rule's program or webhook (SPEC §8); `child` runs a program within a
//! time limit, for both.

pub mod child;
pub mod hook;
pub mod render;
pub mod templates;
pub mod transport;

use crate::address::deliverable;
use crate::config::Config;
use crate::inbound::Facts;
pub use crate::model::MailKind;
use crate::model::Ticket;

/// What happened to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Created,
    Correspond {
        from_staff: bool,
    },
    Comment,
    Resolved,
    /// The ticket was given to its (new) owner.
    Assigned,
    /// Resolved by mail to `-done@` from outside staff: the requestor.
    RequestorClosed,
    /// Mail from a staff address that did not count as staff (SPEC §3).
    NotStaff,
}

/// One mail to render and queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: MailKind,
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

/// Does a mail of `kind` go to the requestor and watchers? It then answers
/// their side's last message on the ticket; mail to staff answers the
/// message that caused it (SPEC §4, threading).
pub fn to_requestor(kind: MailKind) -> bool {
    match kind {
        MailKind::Autoreply | MailKind::StaffReply | MailKind::Resolved | MailKind::RuleReply => {
            true
        }
        MailKind::NewTicket
        | MailKind::Correspondence
        | MailKind::Comment
        | MailKind::Assigned
        | MailKind::RequestorClosed
        | MailKind::NotStaff
        | MailKind::RuleNotice
        | MailKind::Hook => false,
    }
}

/// Why a message gets no autoreply (RFC 3834 §2 and the usual bulk
/// markers), or None when it may get one. The per-sender rate limit needs
/// the database and is checked by the caller.
pub fn autoreply_refusal(facts: &Facts, is_bounce: bool, config: &Config) -> Option<&'static str> {
    let site = config.site.name.to_ascii_lowercase();
    if !config.autoreply.enabled {
        Some("autoreplies are disabled")
    } else if is_bounce {
        Some("a bounce")
    } else if facts.is_spam {
        Some("flagged as spam")
    } else if crate::route::is_automatic(facts) {
        Some("automatic mail (Auto-Submitted, an out-of-office reply or a report)")
    } else if facts
        .precedence
        .as_deref()
        .is_some_and(|p| matches!(p.trim(), "bulk" | "junk" | "list"))
    {
        Some("Precedence bulk, junk or list")
    } else if facts.is_list {
        Some("mailing-list mail")
    } else if facts.x_loop.iter().any(|l| l.trim() == site) {
        Some("our own X-Loop")
    } else if facts.x_auto_response_suppress {
        Some("X-Auto-Response-Suppress")
    } else {
        None
    }
}

/// Which mails `event` on `ticket` causes. `authors` wrote the message that
/// caused it (a staff member forwarding a customer's mail, and the
/// customer): none of them gets a notice of their own doing. `autoreply`
/// says whether the requestor may get one. Every address here was
/// normalised where it came in (an `Address` made it: the ticket's, the
/// config's, the authors'), so each is compared as it is.
pub fn plan(
    event: Event,
    ticket: &Ticket,
    authors: &[&str],
    autoreply: bool,
    config: &Config,
) -> Vec<Planned> {
    let addresses = |people: &[crate::people::Person]| -> Vec<String> {
        people.iter().map(|p| p.address.to_string()).collect()
    };
    let admins = addresses(&config.staff.admins);
    let members = addresses(config.queue_members(&ticket.queue));
    let owner_or_admins: Vec<String> = match &ticket.owner {
        Some(owner) => vec![owner.clone()],
        None => admins.clone(),
    };
    let mut mails = Vec::new();
    let mut add = |kind, to: Vec<String>, cc: Vec<String>, allow_author: bool| {
        let keep =
            |a: &String| deliverable(a, config) && (allow_author || !authors.contains(&a.as_str()));
        let mut to: Vec<String> = dedup(to.into_iter().filter(keep));
        let mut cc: Vec<String> = dedup(cc.into_iter().filter(keep));
        let in_to: std::collections::HashSet<&String> = to.iter().collect();
        cc.retain(|c| !in_to.contains(c));
        if to.is_empty() && !cc.is_empty() {
            to.push(cc.remove(0));
        }
        if !to.is_empty() {
            mails.push(Planned { kind, to, cc });
        }
    };
    match event {
        Event::Created => {
            if autoreply {
                add(
                    MailKind::Autoreply,
                    vec![ticket.requestor.clone()],
                    vec![],
                    true,
                );
            }
            let mut to = admins;
            to.extend(members);
            add(MailKind::NewTicket, to, vec![], false);
        }
        Event::Correspond { from_staff: true } => {
            let watchers = ticket
                .watchers
                .iter()
                .filter(|w| **w != ticket.requestor)
                .cloned()
                .collect();
            add(
                MailKind::StaffReply,
                vec![ticket.requestor.clone()],
                watchers,
                false,
            );
        }
        Event::Correspond { from_staff: false } => {
            // The owner; where there is none, the queue's own staff; where
            // it has none, the admins (SPEC §4).
            let to = match &ticket.owner {
                Some(owner) => vec![owner.clone()],
                None if !members.is_empty() => members,
                None => admins,
            };
            add(MailKind::Correspondence, to, vec![], false)
        }
        Event::Comment => {
            let mut to: Vec<String> = ticket.owner.iter().cloned().collect();
            to.extend(admins);
            add(MailKind::Comment, to, vec![], false);
        }
        Event::Resolved => add(
            MailKind::Resolved,
            vec![ticket.requestor.clone()],
            vec![],
            false,
        ),
        // Not to whoever gave it: taking a ticket tells nobody.
        Event::Assigned => add(
            MailKind::Assigned,
            ticket.owner.iter().cloned().collect(),
            vec![],
            false,
        ),
        Event::RequestorClosed => add(MailKind::RequestorClosed, owner_or_admins, vec![], false),
        // To the staff address the message named as its author, whoever
        // wrote it: the one notice an author of their own mail gets.
        Event::NotStaff => add(
            MailKind::NotStaff,
            authors.iter().take(1).map(|a| a.to_string()).collect(),
            vec![],
            true,
        ),
    }
    mails
}

/// Each address once, in order: linear, however many (issue 18: a list
/// search per address made a long list quadratic).
fn dedup(addrs: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    addrs.filter(|a| seen.insert(a.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn config() -> Config {
        Config::parse(
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n\
             [staff]\nadmins = [\"stef@example.org\", \"boss@example.org\"]\nmembers = [\"ann@example.org\"]\n",
        )
        .unwrap()
    }

    fn ticket(owner: Option<&str>) -> Ticket {
        Ticket {
            subject: "Printer".into(),
            status: Status::Open,
            owner: owner.map(String::from),
            watchers: vec![
                "john@example.com".into(),
                "maria@example.net".into(),
                "ticket-7@help.example.org".into(),
            ],
            ..Ticket::example(7)
        }
    }

    #[test]
    fn new_ticket_autoreplies_and_tells_admins() {
        let p = plan(
            Event::Created,
            &ticket(None),
            &["john@example.com"],
            true,
            &config(),
        );
        assert_eq!(
            p[0],
            Planned {
                kind: MailKind::Autoreply,
                to: vec!["john@example.com".into()],
                cc: vec![]
            }
        );
        assert_eq!(p[1].kind, MailKind::NewTicket);
        assert_eq!(p[1].to, ["stef@example.org", "boss@example.org"]);
        let p = plan(
            Event::Created,
            &ticket(None),
            &["john@example.com"],
            false,
            &config(),
        );
        assert_eq!(p.len(), 1, "no autoreply when refused");
    }

    #[test]
    fn admin_opening_a_ticket_gets_no_notice_of_it() {
        let p = plan(
            Event::Created,
            &ticket(None),
            &["stef@example.org"],
            false,
            &config(),
        );
        assert_eq!(p[0].to, ["boss@example.org"]);
    }

    #[test]
    fn staff_reply_goes_to_requestor_and_watchers_never_to_us() {
        let p = plan(
            Event::Correspond { from_staff: true },
            &ticket(None),
            &["stef@example.org"],
            false,
            &config(),
        );
        assert_eq!(
            p,
            [Planned {
                kind: MailKind::StaffReply,
                to: vec!["john@example.com".into()],
                cc: vec!["maria@example.net".into()],
            }]
        );
    }

    #[test]
    fn outside_correspondence_goes_to_owner_else_admins() {
        let e = Event::Correspond { from_staff: false };
        assert_eq!(
            plan(
                e,
                &ticket(Some("ann@example.org")),
                &["john@example.com"],
                false,
                &config()
            )[0]
            .to,
            ["ann@example.org"]
        );
        assert_eq!(
            plan(e, &ticket(None), &["john@example.com"], false, &config())[0]
                .to
                .len(),
            2
        );
    }

    #[test]
    fn comments_go_to_owner_and_admins_except_the_author() {
        let p = plan(
            Event::Comment,
            &ticket(Some("ann@example.org")),
            &["stef@example.org"],
            false,
            &config(),
        );
        assert_eq!(p[0].to, ["ann@example.org", "boss@example.org"]);
    }

    #[test]
    fn resolve_tells_the_requestor_unless_they_closed_it() {
        assert_eq!(
            plan(
                Event::Resolved,
                &ticket(None),
                &["stef@example.org"],
                false,
                &config()
            )[0]
            .to,
            ["john@example.com"]
        );
        assert!(plan(
            Event::Resolved,
            &ticket(None),
            &["john@example.com"],
            false,
            &config()
        )
        .is_empty());
    }

    #[test]
    fn robots_and_our_addresses_get_nothing() {
        let mut t = ticket(None);
        t.requestor = "MAILER-DAEMON@example.com".into();
        assert!(
            plan(Event::Created, &t, &[&t.requestor.clone()], true, &config())
                .iter()
                .all(|p| p.kind != MailKind::Autoreply)
        );
        t.requestor = "ticket-3@help.example.org".into();
        assert!(plan(Event::Resolved, &t, &["stef@example.org"], false, &config()).is_empty());
    }

    #[test]
    fn a_forwarding_admin_gets_no_notice_of_the_ticket_they_opened() {
        let mut t = ticket(None);
        t.requestor = "peter@example.net".into();
        let p = plan(
            Event::Created,
            &t,
            &["stef@example.org", "peter@example.net"],
            true,
            &config(),
        );
        assert_eq!(p[0].kind, MailKind::Autoreply);
        assert_eq!(p[0].to, ["peter@example.net"]);
        assert_eq!(p[1].to, ["boss@example.org"]);
    }

    fn config_with_queue() -> Config {
        Config::parse(
            "[site]\nname = \"myisp\"\ndomains = [\"help.example.org\"]\n\
             [[queues]]\nname = \"billing\"\naddress = \"billing\"\n\
             members = [\"Dave Hill <dave@example.org>\", \"stef@example.org\"]\n\
             [staff]\nadmins = [\"stef@example.org\", \"boss@example.org\"]\nmembers = [\"ann@example.org\"]\n",
        )
        .unwrap()
    }

    fn in_billing(owner: Option<&str>) -> Ticket {
        Ticket {
            queue: "billing".into(),
            ..ticket(owner)
        }
    }

    #[test]
    fn a_new_ticket_in_a_queue_tells_its_members_too_each_once() {
        let p = plan(
            Event::Created,
            &in_billing(None),
            &["john@example.com"],
            false,
            &config_with_queue(),
        );
        assert_eq!(
            p[0].to,
            ["stef@example.org", "boss@example.org", "dave@example.org"]
        );
    }

    #[test]
    fn outside_correspondence_goes_to_the_owner_else_the_members_else_the_admins() {
        let c = config_with_queue();
        let e = Event::Correspond { from_staff: false };
        let to = |t: &Ticket| plan(e, t, &["john@example.com"], false, &c)[0].to.clone();
        assert_eq!(
            to(&in_billing(Some("ann@example.org"))),
            ["ann@example.org"]
        );
        assert_eq!(
            to(&in_billing(None)),
            ["dave@example.org", "stef@example.org"]
        );
        assert_eq!(to(&ticket(None)), ["stef@example.org", "boss@example.org"]);
    }

    #[test]
    fn the_new_owner_hears_of_it_unless_they_took_it() {
        let c = config_with_queue();
        let t = in_billing(Some("dave@example.org"));
        let p = plan(Event::Assigned, &t, &["stef@example.org"], false, &c);
        assert_eq!(
            p,
            [Planned {
                kind: MailKind::Assigned,
                to: vec!["dave@example.org".into()],
                cc: vec![]
            }]
        );
        assert!(plan(Event::Assigned, &t, &["dave@example.org"], false, &c).is_empty());
        assert!(plan(
            Event::Assigned,
            &ticket(None),
            &["stef@example.org"],
            false,
            &c
        )
        .is_empty());
    }

    #[test]
    fn a_close_by_the_requestor_tells_the_owner_else_the_admins() {
        let c = config_with_queue();
        let by = ["john@example.com"];
        let p = plan(
            Event::RequestorClosed,
            &in_billing(Some("dave@example.org")),
            &by,
            false,
            &c,
        );
        assert_eq!(
            (p[0].kind, p[0].to.clone()),
            (
                MailKind::RequestorClosed,
                vec!["dave@example.org".to_string()]
            )
        );
        let p = plan(Event::RequestorClosed, &in_billing(None), &by, false, &c);
        assert_eq!(p[0].to, ["stef@example.org", "boss@example.org"]);
    }

    #[test]
    fn autoreply_refusals_follow_rfc_3834() {
        let c = config();
        let ok = Facts::default();
        assert_eq!(autoreply_refusal(&ok, false, &c), None);
        assert!(autoreply_refusal(&ok, true, &c).is_some());
        let cases = [
            Facts {
                auto_submitted: Some("auto-replied".into()),
                ..Facts::default()
            },
            Facts {
                auto_submitted: Some("auto-generated; owner-email=x".into()),
                ..Facts::default()
            },
            Facts {
                precedence: Some("junk".into()),
                ..Facts::default()
            },
            Facts {
                precedence: Some("list".into()),
                ..Facts::default()
            },
            Facts {
                is_list: true,
                ..Facts::default()
            },
            Facts {
                x_loop: vec!["myisp".into()],
                ..Facts::default()
            },
            Facts {
                is_spam: true,
                ..Facts::default()
            },
            Facts {
                x_autoreply: true,
                ..Facts::default()
            },
            Facts {
                report_type: Some("disposition-notification".into()),
                ..Facts::default()
            },
        ];
        for f in cases {
            assert!(autoreply_refusal(&f, false, &c).is_some(), "{f:?}");
        }
        let no = Facts {
            auto_submitted: Some("no".into()),
            x_loop: vec!["other".into()],
            ..Facts::default()
        };
        assert_eq!(autoreply_refusal(&no, false, &c), None);
    }
}
