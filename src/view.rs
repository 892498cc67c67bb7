//! The JSON shapes of SPEC §3 and §5, once: what `--json` prints and what
//! the HTTP API answers (SPEC §6 says they are the same). Field names are
//! a contract with scripts; change them only with the spec. Then the
//! pages' views: the same shapes with what a person reads added (dates in
//! words, what an entry did, attachment numbers, the moves offered).

use serde::Serialize;

use crate::config::Config;
use crate::desk::{Flushed, Outcome, Stats, Thread};
use crate::inbound::{attachments_of, Attachment};
use crate::model::*;
use crate::term::human_date;
use crate::zone::Zone;

/// A ticket's SLA (SPEC §8): its deadlines, in UTC, and the clocks
/// whose deadline passed unmet.
#[derive(Debug, Serialize)]
pub struct SlaView<'a> {
    pub name: &'a str,
    #[serde(serialize_with = "serialize_opt_time")]
    pub first_response_due: Option<Time>,
    #[serde(serialize_with = "serialize_opt_time")]
    pub next_response_due: Option<Time>,
    #[serde(serialize_with = "serialize_opt_time")]
    pub resolve_due: Option<Time>,
    pub breached: Vec<&'static str>,
}

impl<'a> SlaView<'a> {
    /// As it stands at `now`: a running clock whose deadline is past is
    /// breached already, before `tick` says so (not while paused: its
    /// deadline moves when the pause ends).
    pub fn of(s: &'a crate::sla::SlaState, now: Time) -> SlaView<'a> {
        let breached = crate::sla::ClockName::ALL
            .into_iter()
            .filter(|&c| {
                s.breached.contains(&c) || (!s.is_paused() && s.due(c).is_some_and(|d| now > d))
            })
            .map(|c| c.as_str())
            .collect();
        SlaView {
            name: &s.name,
            first_response_due: s.first_response_due,
            next_response_due: s.next_response_due,
            resolve_due: s.resolve_due,
            breached,
        }
    }
}

/// A ticket's SLA as people read it (SPEC §8: the thread and `show` show
/// the deadlines, breached ones stand out): each clock that runs, its
/// deadline in `site.timezone` as it stands at `now` (while paused, moved
/// later by the pause so far), nearest first; then each that stopped
/// breached (met late).
#[derive(Debug, Serialize)]
pub struct SlaShown<'a> {
    pub name: &'a str,
    /// The clocks stand still (a `pause_on` status).
    pub paused: bool,
    pub clocks: Vec<ClockShown>,
}

/// One clock of [`SlaShown`].
#[derive(Debug, Serialize)]
pub struct ClockShown {
    /// `first_response`, `next_response`, `resolve`.
    pub clock: &'static str,
    /// The same in words: "first response".
    pub label: &'static str,
    /// The deadline in words; None: the clock stopped (breached).
    pub due: Option<String>,
    #[serde(serialize_with = "serialize_opt_time")]
    pub at: Option<Time>,
    pub breached: bool,
}

impl<'a> SlaShown<'a> {
    pub fn of(s: &'a crate::sla::SlaState, config: &Config, now: Time) -> SlaShown<'a> {
        use crate::sla::ClockName;
        let sla = config.sla(&s.name);
        let zone = &config.site.timezone;
        let mut clocks: Vec<ClockShown> = ClockName::ALL
            .into_iter()
            .filter_map(|c| {
                let at = match sla {
                    Some(sla) => s.due_at(sla, c, now),
                    None => s.due(c),
                };
                let breached =
                    s.breached.contains(&c) || (!s.is_paused() && at.is_some_and(|d| now > d));
                (at.is_some() || breached).then(|| ClockShown {
                    clock: c.as_str(),
                    label: match c {
                        ClockName::FirstResponse => "first response",
                        ClockName::NextResponse => "next response",
                        ClockName::Resolve => "resolve",
                    },
                    due: at.map(|d| human_date(d, zone)),
                    at,
                    breached,
                })
            })
            .collect();
        clocks.sort_by_key(|c| (c.at.is_none(), c.at));
        SlaShown {
            name: &s.name,
            paused: s.is_paused(),
            clocks,
        }
    }

    /// One line per clock, for `show`: "first response by Mon 21 Dec
    /// 2037 13:00 CET (breached)", "resolve missed".
    pub fn lines(&self) -> Vec<String> {
        self.clocks
            .iter()
            .map(|c| match &c.due {
                Some(due) if c.breached => format!("{} by {due} (breached)", c.label),
                Some(due) => format!("{} by {due}", c.label),
                None => format!("{} missed (breached)", c.label),
            })
            .collect()
    }
}

/// A ticket object: `list --json` adds `messages`, `show --json` adds
/// `history`.
#[derive(Debug, Serialize)]
pub struct TicketView<'a> {
    pub id: i64,
    pub queue: &'a str,
    pub subject: &'a str,
    pub status: Status,
    pub requestor: &'a str,
    pub owner: Option<&'a str>,
    pub priority: i64,
    pub watchers: &'a [String],
    /// ISO 8601 in UTC, or null (SPEC §5: on every ticket object).
    #[serde(serialize_with = "serialize_opt_time")]
    pub due: Option<Time>,
    #[serde(serialize_with = "serialize_time")]
    pub created: Time,
    #[serde(serialize_with = "serialize_time")]
    pub updated: Time,
    pub version: i64,
    /// Its SLA's deadlines (SPEC §8), or null.
    pub sla: Option<SlaView<'a>>,
    /// The tickets merged into this one.
    #[serde(skip_serializing_if = "<[i64]>::is_empty")]
    pub merged: &'a [i64],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EntryView<'a>>>,
}

impl<'a> TicketView<'a> {
    /// As it stands at `now` (the SLA's `breached`, `SlaView`).
    pub fn at(t: &'a Ticket, now: Time) -> TicketView<'a> {
        TicketView {
            id: t.id,
            queue: &t.queue,
            subject: &t.subject,
            status: t.status,
            requestor: &t.requestor,
            owner: t.owner.as_deref(),
            priority: t.priority,
            watchers: &t.watchers,
            due: t.due,
            created: t.created,
            updated: t.updated,
            version: t.version,
            sla: t.sla.as_ref().map(|s| SlaView::of(s, now)),
            merged: &t.merged,
            messages: None,
            history: None,
        }
    }

    /// `list --json`'s element, at `now`.
    pub fn listed(l: &'a Listed, now: Time) -> TicketView<'a> {
        TicketView {
            messages: Some(l.messages),
            ..TicketView::at(&l.ticket, now)
        }
    }

    /// `show --json`: the ticket with its whole history, at `now`.
    pub fn thread(t: &'a Thread, now: Time) -> TicketView<'a> {
        TicketView {
            history: Some(t.history.iter().map(EntryView::of).collect()),
            ..TicketView::at(&t.ticket, now)
        }
    }
}

/// One history entry.
#[derive(Debug, Serialize)]
pub struct EntryView<'a> {
    pub kind: HistoryKind,
    pub author: &'a str,
    #[serde(serialize_with = "serialize_time")]
    pub date: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Attachment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    /// Only present (true) for an entry from automatic mail.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auto: bool,
    /// Only present for an entry a merge brought here: the ticket it was
    /// written on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<i64>,
}

impl<'a> EntryView<'a> {
    pub fn of(e: &'a HistoryEntry) -> EntryView<'a> {
        // A comment without a message (a staff member's words above a mail
        // they forwarded) reads as a comment: its text is its body.
        let words_only =
            e.message.is_none() && matches!(e.kind, HistoryKind::Comment | HistoryKind::Correspond);
        let (body, note) = match (&e.message, words_only) {
            (Some(m), _) => (Some(m.body.as_str()), e.note.as_deref()),
            (None, true) => (e.note.as_deref(), None),
            (None, false) => (None, e.note.as_deref()),
        };
        EntryView {
            kind: e.kind,
            author: &e.author,
            date: e.date,
            message_id: e
                .message
                .as_ref()
                .and_then(|m| m.message_id.as_ref())
                .map(|id| format!("<{id}>")),
            subject: e.message.as_ref().map(|m| m.subject.as_str()),
            body,
            attachments: e.message.as_ref().map(|m| attachments_of(&m.raw)),
            old: e.old.as_deref(),
            new: e.new.as_deref(),
            note,
            auto: e.auto,
            merged_from: e.merged_from,
        }
    }
}

/// What a history entry says, in words, for people (`show` and the thread
/// page): "changed the status from new to open", "took the ticket", …, or
/// for an entry with a message, the verb of its heading. People in it are
/// shown by the names the config gives them (`Config::shown`); times in `site.timezone`.
pub fn describe(e: &HistoryEntry, config: &Config) -> String {
    let zone = &config.site.timezone;
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    let priority = |v: &Option<String>| match v.as_deref().and_then(|p| p.parse::<Priority>().ok())
    {
        Some(p) => p.as_str().to_string(),
        None => value(v),
    };
    let due = |v: &Option<String>| match v.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => parse_stamp(d).map_or_else(|| d.to_string(), |t| human_date(t, zone)),
        None => "none".to_string(),
    };
    match e.kind {
        HistoryKind::Queue => format!(
            "moved the ticket from the queue {} to {}",
            value(&e.old),
            value(&e.new)
        ),
        HistoryKind::Subject => format!(
            "changed the subject from \"{}\" to \"{}\"",
            value(&e.old),
            value(&e.new)
        ),
        HistoryKind::Requestor => format!(
            "changed the requestor from {} to {}",
            value(&e.old),
            value(&e.new)
        ),
        HistoryKind::Priority => format!(
            "changed the priority from {} to {}",
            priority(&e.old),
            priority(&e.new)
        ),
        HistoryKind::Due => match e.new.as_deref().filter(|d| !d.is_empty()) {
            Some(_) => format!("set the due date to {}", due(&e.new)),
            None => "cleared the due date".into(),
        },
        HistoryKind::Status => format!(
            "changed the status from {} to {}",
            value(&e.old),
            value(&e.new)
        ),
        HistoryKind::Owner => match e.new.as_deref() {
            Some(o) if o.eq_ignore_ascii_case(&e.author) => "took the ticket".into(),
            Some(o) => format!("gave the ticket to {}", config.shown(o)),
            None => "gave the ticket up".into(),
        },
        HistoryKind::Note => format!("noted: {}", e.note.as_deref().unwrap_or("")),
        HistoryKind::Merge => format!(
            "merged ticket #{} into ticket #{}",
            value(&e.old),
            value(&e.new)
        ),
        HistoryKind::Watcher => match (&e.old, &e.new) {
            (None, Some(added)) => format!("added {} as a watcher", config.shown(added)),
            (Some(gone), _) => format!("removed the watcher {}", config.shown(gone)),
            (None, None) => "changed the watchers".into(),
        },
        HistoryKind::Spam => match e.new.as_deref() {
            Some("not spam") => "marked the ticket as not spam".into(),
            _ => "marked the ticket as spam".into(),
        },
        HistoryKind::Create => "opened the ticket".into(),
        HistoryKind::Comment => "commented (staff only)".into(),
        HistoryKind::Correspond => "wrote".into(),
    }
}

/// `deliver --json` (SPEC §3).
#[derive(Debug, Serialize)]
pub struct DeliveredView {
    pub action: Action,
    pub ticket: Option<i64>,
    pub reopened: bool,
    pub mail_queued: usize,
}

impl DeliveredView {
    pub fn of(o: &Outcome) -> DeliveredView {
        DeliveredView {
            action: o.action,
            ticket: o.ticket,
            reopened: o.reopened,
            mail_queued: o.outbox.len(),
        }
    }
}

/// `search --json`'s element: the snippet as plain text.
#[derive(Debug, Serialize)]
pub struct HitView<'a> {
    pub ticket: i64,
    pub subject: &'a str,
    pub status: Status,
    pub snippet: String,
}

impl<'a> HitView<'a> {
    pub fn of(h: &'a Hit) -> HitView<'a> {
        HitView {
            ticket: h.ticket,
            subject: &h.subject,
            status: h.status,
            snippet: h.snippet.replace([MARK_START, MARK_END], ""),
        }
    }
}

/// `attachments --json`'s element: an attachment of a ticket, and where
/// `--save` put it.
#[derive(Debug, Serialize)]
pub struct AttachmentView {
    /// 1, 2, … across the ticket, in message order (the desk numbers).
    pub index: usize,
    /// The stored message it came in.
    pub message: i64,
    pub author: String,
    #[serde(serialize_with = "serialize_time")]
    pub date: Time,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<std::path::PathBuf>,
}

/// What an import did: `import --json`, and its summary line.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportSummary {
    /// Messages read from the mailbox.
    pub messages: u64,
    /// Tickets opened.
    pub created: u64,
    /// Messages added to an existing ticket (correspondence, comments).
    pub added: u64,
    /// Bounces (stored as comments, or kept without a ticket).
    pub bounces: u64,
    /// Already stored: by an earlier import or by delivery.
    pub duplicates: u64,
    /// Empty, too large, refused by routing, or not a message at all (text
    /// before an mbox's first `From ` line); each is named on stderr.
    pub skipped: u64,
    pub seconds: f64,
}

/// `GET /api/tickets/N/canned/NAME`: a canned answer filled in.
#[derive(Debug, Serialize)]
pub struct CannedTextView {
    pub text: String,
}

/// A card of the board and of the event stream (SPEC §6).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardView {
    pub id: i64,
    pub status: Status,
    pub owner: Option<String>,
    pub queue: String,
    pub subject: String,
    pub requestor: String,
    pub messages: i64,
    #[serde(serialize_with = "serialize_time")]
    pub updated: Time,
    #[serde(serialize_with = "serialize_time")]
    pub created: Time,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
    pub priority: i64,
    #[serde(serialize_with = "serialize_opt_time")]
    pub due: Option<Time>,
    /// The SLA's nearest running deadline (SPEC §8: the board shows it),
    /// as stored; null without one.
    #[serde(serialize_with = "serialize_opt_time")]
    pub sla_due: Option<Time>,
    /// Its clock: `first_response`, `next_response`, `resolve`, or null.
    pub sla_clock: Option<&'static str>,
    /// A clock of the SLA has breached (a running one whose deadline
    /// passed since, the board sees by the time).
    pub sla_breached: bool,
    /// The SLA's clocks stand still (a `pause_on` status).
    pub sla_paused: bool,
}

impl CardView {
    pub fn of(l: &Listed) -> CardView {
        let t = &l.ticket;
        CardView {
            id: t.id,
            status: t.status,
            owner: t.owner.clone(),
            queue: t.queue.clone(),
            subject: t.subject.clone(),
            requestor: t.requestor.clone(),
            messages: l.messages,
            updated: t.updated,
            created: t.created,
            version: t.version,
            merged_into: t.merged_into,
            priority: t.priority,
            due: t.due,
            sla_due: t.sla.as_ref().and_then(|s| s.next_deadline()).map(|d| d.1),
            sla_clock: t
                .sla
                .as_ref()
                .and_then(|s| s.next_deadline())
                .map(|d| d.0.as_str()),
            sla_breached: t.sla.as_ref().is_some_and(|s| !s.breached.is_empty()),
            sla_paused: t.sla.as_ref().is_some_and(|s| s.is_paused()),
        }
    }
}

/// `GET /api/board` (SPEC §6): the cards, and the seq of the last change
/// they include.
#[derive(Debug, Serialize)]
pub struct BoardView {
    pub seq: i64,
    pub cards: Vec<CardView>,
}

/// One mail of `flush --json`.
#[derive(Debug, Serialize)]
pub struct MailView<'a> {
    pub id: i64,
    pub ticket: Option<i64>,
    pub kind: MailKind,
    pub state: MailState,
    pub recipients: &'a [String],
    pub attempts: i64,
    pub last_error: Option<&'a str>,
    #[serde(serialize_with = "serialize_time")]
    pub next_attempt: Time,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_time"
    )]
    pub leased_until: Option<Time>,
}

impl<'a> MailView<'a> {
    pub fn of(m: &'a MailRecord) -> MailView<'a> {
        MailView {
            id: m.id,
            ticket: m.ticket,
            kind: m.kind,
            state: m.state,
            recipients: &m.recipients,
            attempts: m.attempts,
            last_error: m.last_error.as_deref(),
            next_attempt: m.next_attempt,
            leased_until: m.leased_until,
        }
    }
}

fn serialize_opt_time<S: serde::Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_time(t, s),
        None => s.serialize_none(),
    }
}

/// `flush --json`.
#[derive(Debug, Serialize)]
pub struct FlushedView<'a> {
    pub sent: &'a [i64],
    pub failed: Vec<FailedView>,
    pub waiting: Vec<MailView<'a>>,
}

#[derive(Debug, Serialize)]
pub struct FailedView {
    pub id: i64,
    pub error: String,
}

impl<'a> FlushedView<'a> {
    pub fn of(f: &'a Flushed) -> FlushedView<'a> {
        FlushedView {
            sent: &f.sent,
            failed: f
                .failed
                .iter()
                .map(|(id, error)| FailedView {
                    id: *id,
                    error: error.to_string(),
                })
                .collect(),
            waiting: f.waiting.iter().map(MailView::of).collect(),
        }
    }
}

/// `stats --json`.
#[derive(Debug, Serialize)]
pub struct StatsView {
    pub tickets: i64,
    pub by_status: std::collections::BTreeMap<&'static str, i64>,
    pub by_queue: std::collections::BTreeMap<String, std::collections::BTreeMap<&'static str, i64>>,
    pub new_this_week: i64,
    pub answered: usize,
    pub median_first_reply_secs: Option<i64>,
}

impl StatsView {
    pub fn of(s: &Stats) -> StatsView {
        let zero = || Status::ALL.iter().map(|st| (st.as_str(), 0)).collect();
        let mut by_status: std::collections::BTreeMap<&'static str, i64> = zero();
        let mut by_queue = std::collections::BTreeMap::new();
        let mut tickets = 0;
        for (queue, status, n) in &s.by_queue_status {
            tickets += n;
            *by_status.entry(status.as_str()).or_default() += n;
            *by_queue
                .entry(queue.clone())
                .or_insert_with(zero)
                .entry(status.as_str())
                .or_default() += n;
        }
        StatsView {
            tickets,
            by_status,
            by_queue,
            new_this_week: s.new_this_week,
            answered: s.answered,
            median_first_reply_secs: s.median_first_reply_secs,
        }
    }
}

// --- the pages' views (SPEC §6): the shapes above, with what a person reads

/// The thread page's ticket: its object, when it was opened in words, and
/// its history with each entry described and its attachments numbered.
#[derive(Debug, Serialize)]
pub struct ThreadPage<'a> {
    #[serde(flatten)]
    pub ticket: TicketView<'a>,
    pub opened: String,
    pub history: Vec<PageEntry<'a>>,
    /// Its SLA's clocks in words, or None.
    pub clocks: Option<SlaShown<'a>>,
    /// It is in the queue `spam` (the desk's `in_spam`): the page offers
    /// "Not spam" rather than "Spam".
    pub spam: bool,
}

/// One history entry on the thread page.
#[derive(Debug, Serialize)]
pub struct PageEntry<'a> {
    #[serde(flatten)]
    pub entry: EntryView<'a>,
    /// Its author as people see them: their name, else their address.
    pub who: &'a str,
    pub what: String,
    pub when: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<PageAttachment>>,
    /// The body in pieces, quoted text marked to be folded.
    pub pieces: Vec<TextPiece<'a>>,
    /// The stored message's number, for its download as it arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<i64>,
    /// Its subject says something the ticket's does not (not only
    /// "Re: [site #N]" before it): worth a line of its own.
    pub new_subject: bool,
}

/// An attachment on the thread page, with the number its download has.
#[derive(Debug, Serialize)]
pub struct PageAttachment {
    #[serde(flatten)]
    pub attachment: Attachment,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl<'a> ThreadPage<'a> {
    /// `first` numbers each message's first attachment
    /// (`desk::first_attachments`); `config` names the people; the clocks
    /// as they stand at `now`.
    pub fn of(
        t: &'a Thread,
        first: &std::collections::HashMap<i64, usize>,
        config: &'a Config,
        now: Time,
    ) -> ThreadPage<'a> {
        let history = t
            .history
            .iter()
            .map(|e| {
                let start = e.message.as_ref().and_then(|m| first.get(&m.id)).copied();
                let mut entry = EntryView::of(e);
                let attachments = entry.attachments.take().map(|list| {
                    list.into_iter()
                        .enumerate()
                        .map(|(i, attachment)| PageAttachment {
                            attachment,
                            index: start.map(|s| s + i),
                        })
                        .collect()
                });
                PageEntry {
                    new_subject: entry
                        .subject
                        .is_some_and(|s| !same_subject(s, &t.ticket.subject)),
                    pieces: entry.body.map(fold_quotes).unwrap_or_default(),
                    stored: e.message.as_ref().map(|m| m.id),
                    entry,
                    who: config.shown(&e.author),
                    what: describe(e, config),
                    when: human_date(e.date, &config.site.timezone),
                    attachments,
                }
            })
            .collect();
        ThreadPage {
            ticket: TicketView::at(&t.ticket, now),
            opened: human_date(t.ticket.created, &config.site.timezone),
            history,
            clocks: t.ticket.sla.as_ref().map(|s| SlaShown::of(s, config, now)),
            spam: crate::desk::in_spam(&t.ticket),
        }
    }
}

/// Whether `subject` is `ticket`'s subject but for what replies and
/// forwards put before it: `Re:`, `AW:`, `Fwd:`… and a `[site #N]` tag.
fn same_subject(subject: &str, ticket: &str) -> bool {
    let mut rest = subject.trim();
    loop {
        let before = rest;
        if let Some((head, tail)) = rest.split_once(':') {
            let word = head.trim().to_ascii_lowercase();
            if ["re", "aw", "sv", "fw", "fwd", "wg", "tr", "antw"].contains(&word.as_str()) {
                rest = tail.trim_start();
            }
        }
        if rest.starts_with('[') {
            if let Some(end) = rest.find(']').filter(|&e| rest[..e].contains('#')) {
                rest = rest[end + 1..].trim_start();
            }
        }
        if rest == before {
            break;
        }
    }
    rest.trim().eq_ignore_ascii_case(ticket.trim())
}

/// The thread page's forms for the ticket's own fields (queue, subject,
/// requestor, priority, due, watchers): their current values as a person
/// reads and types them, and the choices offered.
#[derive(Debug, Serialize)]
pub struct FieldsView<'a> {
    pub queue: &'a str,
    /// Every queue a ticket may be moved to (`spam` is `pipedesk spam`'s).
    pub queues: Vec<&'a str>,
    pub priority: &'static str,
    pub priorities: [&'static str; 4],
    /// The due date in words, in `site.timezone`; None: none.
    pub due: Option<String>,
    /// The due date as a `datetime-local` field holds it, or "".
    pub due_value: String,
    pub overdue: bool,
    pub timezone: &'a str,
    /// The watchers a person may remove: all but the requestor.
    pub removable: Vec<&'a str>,
}

impl<'a> FieldsView<'a> {
    /// The queues offered are those a ticket may be put in
    /// (`Config::ticket_queues`); times in `site.timezone`; overdue at `now`.
    pub fn of(t: &'a Ticket, config: &'a Config, now: Time) -> FieldsView<'a> {
        let zone = &config.site.timezone;
        FieldsView {
            queue: &t.queue,
            queues: config.ticket_queues(),
            priority: Priority::of(t.priority).as_str(),
            priorities: Priority::ALL.map(Priority::as_str),
            due: t.due.map(|d| human_date(d, zone)),
            due_value: t
                .due
                .map(|d| crate::zone::form_value(d, zone))
                .unwrap_or_default(),
            overdue: is_overdue(t, now),
            timezone: zone.name(),
            removable: t
                .watchers
                .iter()
                .filter(|w| !w.eq_ignore_ascii_case(&t.requestor))
                .map(String::as_str)
                .collect(),
        }
    }
}

/// Past its due date and not resolved: what the board and the thread page
/// make stand out.
pub fn is_overdue(t: &Ticket, now: Time) -> bool {
    t.status != Status::Resolved && t.due.is_some_and(|d| d < now)
}

/// A button of the thread page: a status move the desk allows from the
/// ticket's status (`Status::moves_from`), named as its command is.
#[derive(Debug, Serialize)]
pub struct MoveView {
    pub status: Status,
    pub label: &'static str,
    pub action: &'static str,
}

impl MoveView {
    /// The moves from `from`: resolve first, then reopen, then stall.
    pub fn from(from: Status) -> Vec<MoveView> {
        let allowed = from.moves_from();
        [Status::Resolved, Status::Open, Status::Stalled]
            .into_iter()
            .filter(|to| allowed.contains(to))
            .map(|to| {
                let (label, action) = match to {
                    Status::Resolved => ("Resolve", "close"),
                    Status::Open if from.reopens_on_mail() => ("Reopen", "reopen"),
                    Status::Open | Status::New => ("Open", "open"),
                    Status::Stalled => ("Stall", "stall"),
                };
                MoveView {
                    status: to,
                    label,
                    action,
                }
            })
            .collect()
    }
}

/// A mail a ticket caused, on its thread page: what it is, to whom, and
/// how its sending went — when it was queued or sent, how many tries, and
/// the last error while it is still being retried.
#[derive(Debug, Serialize)]
pub struct MailLine<'a> {
    pub kind: &'static str,
    pub to: String,
    /// `sent`, `queued`, `failed` (queued again after an error) or
    /// `not sent` (`mail.transport = "none"`).
    pub state: &'static str,
    /// "sent Tue 17 Nov 2026 15:02 UTC", "queued …".
    pub when: String,
    #[serde(serialize_with = "serialize_time")]
    pub date: Time,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// When the next try is, for a mail that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<String>,
    /// A rule's hook in words (`hook_what`), shown in place of kind and
    /// recipients; None for a mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
}

impl<'a> MailLine<'a> {
    pub fn of(m: &'a MailRecord, zone: &Zone) -> MailLine<'a> {
        let failed = m.state == MailState::Queued && m.last_error.is_some();
        let (state, date) = match m.state {
            MailState::Sent => ("sent", m.sent.unwrap_or(m.created)),
            MailState::Queued if failed => ("failed", m.created),
            MailState::Queued => ("queued", m.created),
            MailState::Dropped => ("not sent", m.created),
        };
        let verb = if m.state == MailState::Sent {
            "sent"
        } else {
            "queued"
        };
        MailLine {
            kind: m.kind.describe(),
            to: m.recipients.join(", "),
            state,
            when: format!("{verb} {}", human_date(date, zone)),
            date,
            attempts: m.attempts,
            error: m
                .last_error
                .as_deref()
                .filter(|_| m.state != MailState::Sent),
            retry: failed.then(|| human_date(m.next_attempt, zone)),
            hook: None,
        }
    }

    /// As the thread page shows it: staff by name (`Config::shown`), a
    /// rule's hook in words (`hook_what`), times in `site.timezone`.
    pub fn shown(m: &'a MailRecord, config: &Config) -> MailLine<'a> {
        MailLine {
            to: m
                .recipients
                .iter()
                .map(|r| config.shown(r))
                .collect::<Vec<_>>()
                .join(", "),
            hook: hook_what(m, config),
            ..MailLine::of(m, &config.site.timezone)
        }
    }
}

/// A rule's program or webhook in the outbox, in words for people (SPEC
/// §8): "program of rule sms", "webhook of rule chat (hooks.example.com)";
/// None for a mail. A webhook is named by its host alone and a program by
/// its rule alone: a URL's path, like a program's arguments, often carries
/// a secret (a chat's webhook URL is its token), and these words are shown
/// to every member of staff.
pub fn hook_what(m: &MailRecord, config: &Config) -> Option<String> {
    if m.kind != MailKind::Hook {
        return None;
    }
    let rule = m.recipients.first().map_or("?", String::as_str);
    if m.recipients.get(1).is_some_and(|w| w == "exec") {
        return Some(format!("program of rule {rule}"));
    }
    let host = config
        .rules()
        .iter()
        .filter(|r| r.name == rule)
        .flat_map(|r| &r.then)
        .find_map(|a| match a {
            crate::rules::Action::Webhook { url, .. } => crate::outbound::hook::host(url),
            _ => None,
        });
    Some(match host {
        Some(host) => format!("webhook of rule {rule} ({host})"),
        None => format!("webhook of rule {rule}"),
    })
}

/// What a mail or hook of the outbox is, in words for people: "reply to
/// John Doe <john@example.com>", "program of rule sms" (staff by name, as
/// `Config::shown` gives them).
pub fn mail_what(m: &MailRecord, config: &Config) -> String {
    hook_what(m, config).unwrap_or_else(|| {
        let to: Vec<&str> = m.recipients.iter().map(|r| config.shown(r)).collect();
        format!("{} to {}", m.kind.describe(), to.join(", "))
    })
}

/// A piece of a message's text on the thread page: words of its own, or
/// text it quotes, which the page folds under "show quoted text".
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TextPiece<'a> {
    pub text: &'a str,
    pub quoted: bool,
    /// How many lines it holds (the fold says so).
    pub lines: usize,
}

/// `body` in pieces, the quoted ones marked: lines that start with `>`
/// (RFC 3676 §4.5's quote marks, as every mail program writes them), with
/// the attribution line before them ("On Tue, … John wrote:") and blank
/// lines between two quoted ones; and from Outlook's
/// "-----Original Message-----" (or its line of underscores followed by
/// `From:`) to the end, the earlier mail it carries below a reply. A body
/// that is all quote is shown as it is: folding it would leave nothing.
pub fn fold_quotes(body: &str) -> Vec<TextPiece<'_>> {
    // Each line as (start, end) in `body`, without its line break.
    let mut spans = Vec::new();
    let mut start = 0;
    for line in body.split_inclusive('\n') {
        let text = line.trim_end_matches(['\n', '\r']);
        spans.push((start, start + text.len()));
        start += line.len();
    }
    let line = |i: usize| &body[spans[i].0..spans[i].1];
    let blank = |i: usize| line(i).trim().is_empty();
    let n = spans.len();
    let mut quoted: Vec<bool> = (0..n)
        .map(|i| line(i).trim_start().starts_with('>'))
        .collect();
    // Outlook's earlier mail below a reply: quoted from its separator on.
    let separator = (0..n).find(|&i| {
        let l = line(i).trim();
        let outlook = l
            .trim_matches(['-', ' '])
            .eq_ignore_ascii_case("original message")
            && l.starts_with("---");
        let rule = l.len() >= 20
            && l.chars().all(|c| c == '_')
            && (i + 1..n)
                .find(|&j| !blank(j))
                .is_some_and(|j| line(j).starts_with("From:"));
        outlook || rule
    });
    if let Some(s) = separator {
        quoted[s..].iter_mut().for_each(|q| *q = true);
    }
    // Attribution lines, and blank lines inside a quote, go with it.
    for i in 0..n {
        if quoted[i] || !blank(i) && !attribution(line(i)) {
            continue;
        }
        let next = (i + 1..n).find(|&j| !blank(j));
        let prev = (0..i).rev().find(|&j| !blank(j));
        let next_quoted = next.is_some_and(|j| quoted[j]);
        if blank(i) {
            quoted[i] = next_quoted && prev.is_some_and(|j| quoted[j]);
        } else if next_quoted {
            quoted[i] = true;
            // Gmail breaks a long attribution over two lines, the first
            // starting with "On ".
            if let Some(j) = i.checked_sub(1).filter(|&j| !blank(j) && !quoted[j]) {
                if line(j).starts_with("On ") && !line(i).starts_with("On ") {
                    quoted[j] = true;
                }
            }
        }
    }
    if (0..n).all(|i| quoted[i] || blank(i)) {
        quoted.iter_mut().for_each(|q| *q = false);
    }
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < n {
        let q = quoted[i];
        let mut j = i;
        while j < n && quoted[j] == q {
            j += 1;
        }
        // Blank lines at either end belong to neither piece.
        let (mut a, mut b) = (i, j);
        while a < b && blank(a) {
            a += 1;
        }
        while b > a && blank(b - 1) {
            b -= 1;
        }
        if a < b {
            pieces.push(TextPiece {
                text: &body[spans[a].0..spans[b - 1].1],
                quoted: q,
                lines: b - a,
            });
        }
        i = j;
    }
    pieces
}

/// "On Tue, 17 Nov 2026, John <john@example.com> wrote:" and its
/// translations: the line a mail program puts above what it quotes.
fn attribution(line: &str) -> bool {
    let l = line.trim_end();
    [
        "wrote:",
        "schrieb:",
        "a écrit :",
        "a écrit:",
        "escribió:",
        "scritto:",
        "schreef:",
    ]
    .iter()
    .any(|w| l.ends_with(w))
}

/// A row of the ticket list page.
#[derive(Debug, Serialize)]
pub struct ListRow<'a> {
    #[serde(flatten)]
    pub ticket: TicketView<'a>,
    /// When it last changed, in words.
    pub changed: String,
    /// Its SLA's nearest running deadline in words ("first response by
    /// …"), or None.
    pub deadline: Option<String>,
    /// A clock of its SLA has breached, or the deadline shown has passed.
    pub breached: bool,
}

impl<'a> ListRow<'a> {
    /// As it stands at `now` (`breached`, as `SlaView` says it).
    pub fn of(l: &'a Listed, zone: &Zone, now: Time) -> ListRow<'a> {
        ListRow {
            ticket: TicketView::listed(l, now),
            changed: human_date(l.ticket.updated, zone),
            deadline: l.ticket.sla.as_ref().and_then(|s| {
                let (c, at) = s.next_deadline()?;
                let paused = if s.is_paused() { " (paused)" } else { "" };
                Some(format!(
                    "{} by {}{paused}",
                    c.as_str().replace('_', " "),
                    human_date(at, zone)
                ))
            }),
            breached: l
                .ticket
                .sla
                .as_ref()
                .is_some_and(|s| !SlaView::of(s, now).breached.is_empty()),
        }
    }
}

/// A hit on the ticket list page: its snippet in pieces, a match every
/// second piece.
#[derive(Debug, Serialize)]
pub struct HitRow<'a> {
    pub ticket: i64,
    pub subject: &'a str,
    pub status: Status,
    pub pieces: Vec<&'a str>,
}

impl<'a> HitRow<'a> {
    pub fn of(h: &'a Hit) -> HitRow<'a> {
        HitRow {
            ticket: h.ticket,
            subject: &h.subject,
            status: h.status,
            pieces: h.snippet.split([MARK_START, MARK_END]).collect(),
        }
    }
}

/// One ticket of the merge question (SPEC §6: merge shows both tickets
/// and asks before it acts): what tells it apart from the other.
#[derive(Debug, Serialize)]
pub struct MergeSide<'a> {
    #[serde(flatten)]
    pub ticket: TicketView<'a>,
    pub opened: String,
}

impl<'a> MergeSide<'a> {
    /// Ticket `t`, which holds `messages` messages, at `now`.
    pub fn of(t: &'a Ticket, messages: usize, zone: &Zone, now: Time) -> MergeSide<'a> {
        MergeSide {
            ticket: TicketView {
                messages: Some(messages as i64),
                ..TicketView::at(t, now)
            },
            opened: human_date(t.created, zone),
        }
    }
}

/// A lane of the board: an owner (`""` for nobody) and its heading.
#[derive(Debug, Serialize)]
pub struct LaneView<'a> {
    // In this order: the page's attribute reads as it always has.
    pub label: &'a str,
    pub owner: &'a str,
}

impl<'a> LaneView<'a> {
    /// Nobody's lane first, then one per member of staff, headed by their
    /// name.
    pub fn all(config: &'a Config) -> Vec<LaneView<'a>> {
        std::iter::once(LaneView {
            owner: "",
            label: "nobody",
        })
        .chain(config.staff_addresses().into_iter().map(|a| LaneView {
            owner: a,
            label: config.shown(a),
        }))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_object_has_the_documented_fields() {
        let t = Ticket::example(3);
        let v = serde_json::to_value(TicketView::at(&t, t.created)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "created",
                "due",
                "id",
                "owner",
                "priority",
                "queue",
                "requestor",
                "sla",
                "status",
                "subject",
                "updated",
                "version",
                "watchers"
            ]
        );
        assert_eq!(v["sla"], serde_json::Value::Null);
        assert_eq!(v["status"], "new");
        assert_eq!(v["created"], "2026-11-23T15:00:00Z");
        assert_eq!(v["due"], serde_json::Value::Null);
        let due = Ticket {
            due: parse_stamp("2026-12-24T16:00:00Z"),
            ..Ticket::example(3)
        };
        let v = serde_json::to_value(TicketView::at(&due, due.created)).unwrap();
        assert_eq!(v["due"], "2026-12-24T16:00:00Z");
        let merged = Ticket {
            merged: vec![5],
            ..Ticket::example(3)
        };
        let v = serde_json::to_value(TicketView::at(&merged, merged.created)).unwrap();
        assert_eq!(v["merged"], serde_json::json!([5]));
    }

    #[test]
    fn auto_shows_only_when_true_and_words_only_comments_have_a_body() {
        let e = HistoryEntry {
            kind: HistoryKind::Comment,
            author: "stef@example.org".into(),
            date: Ticket::example(1).created,
            message: None,
            old: None,
            new: None,
            note: Some("Customer called too.".into()),
            auto: false,
            merged_from: None,
        };
        let v = serde_json::to_value(EntryView::of(&e)).unwrap();
        assert_eq!(v["body"], "Customer called too.");
        assert!(v.get("auto").is_none() && v.get("note").is_none(), "{v}");
        let auto = HistoryEntry {
            auto: true,
            kind: HistoryKind::Note,
            ..e
        };
        let v = serde_json::to_value(EntryView::of(&auto)).unwrap();
        assert_eq!(
            (v["auto"].clone(), v["note"].clone()),
            (true.into(), "Customer called too.".into())
        );
        assert!(v.get("merged_from").is_none(), "{v}");
        let moved = HistoryEntry {
            merged_from: Some(4),
            ..auto
        };
        let v = serde_json::to_value(EntryView::of(&moved)).unwrap();
        assert_eq!(v["merged_from"], 4);
    }

    #[test]
    fn field_changes_read_as_words_with_times_in_the_zone() {
        let entry = |kind, old: &str, new: &str| HistoryEntry {
            kind,
            author: "stef@example.org".into(),
            date: Ticket::example(1).created,
            message: None,
            old: Some(old.into()),
            new: Some(new.into()),
            note: None,
            auto: false,
            merged_from: None,
        };
        let utc = Config::default();
        assert_eq!(
            describe(&entry(HistoryKind::Priority, "0", "2"), &utc),
            "changed the priority from normal to urgent"
        );
        assert_eq!(
            describe(&entry(HistoryKind::Due, "", "2026-12-24T16:00:00Z"), &utc),
            "set the due date to Thu 24 Dec 2026 16:00 UTC"
        );
        assert_eq!(
            describe(&entry(HistoryKind::Due, "2026-12-24T16:00:00Z", ""), &utc),
            "cleared the due date"
        );
        assert_eq!(
            describe(&entry(HistoryKind::Queue, "general", "web"), &utc),
            "moved the ticket from the queue general to web"
        );
        if let Ok(paris) = Config::parse("[site]\ntimezone = \"Europe/Paris\"\n") {
            assert_eq!(
                describe(&entry(HistoryKind::Due, "", "2026-12-24T16:00:00Z"), &paris),
                "set the due date to Thu 24 Dec 2026 17:00 CET"
            );
        }
        let late = Ticket {
            due: parse_stamp("2026-01-01T00:00:00Z"),
            ..Ticket::example(1)
        };
        let now = parse_stamp("2026-01-02T00:00:00Z").unwrap();
        assert!(is_overdue(&late, now));
        let done = Ticket {
            status: Status::Resolved,
            ..late.clone()
        };
        assert!(!is_overdue(&done, now) && !is_overdue(&Ticket::example(1), now));
    }

    #[test]
    fn the_thread_page_offers_every_move_the_desk_allows() {
        let offered =
            |from: Status| -> Vec<&str> { MoveView::from(from).iter().map(|m| m.action).collect() };
        assert_eq!(offered(Status::New), ["close", "open", "stall"]);
        assert_eq!(offered(Status::Open), ["close", "stall"]);
        assert_eq!(offered(Status::Stalled), ["close", "reopen"]);
        assert_eq!(offered(Status::Resolved), ["reopen", "stall"]);
        for from in Status::ALL {
            assert_eq!(
                MoveView::from(from).len(),
                from.moves_from().len(),
                "{from}"
            );
        }
    }

    fn folded(body: &str) -> Vec<(bool, &str)> {
        fold_quotes(body)
            .into_iter()
            .map(|p| (p.quoted, p.text))
            .collect()
    }

    #[test]
    fn a_reply_s_trailing_quote_and_its_attribution_fold() {
        let body = "Thanks, that worked.\n\nJohn\n\nOn Tue, 17 Nov 2026 at 15:00, Ann <ann@example.org> wrote:\n> Please restart it.\n>\n\n> Ann\n";
        assert_eq!(
            folded(body),
            [
                (false, "Thanks, that worked.\n\nJohn"),
                (
                    true,
                    "On Tue, 17 Nov 2026 at 15:00, Ann <ann@example.org> wrote:\n> Please restart it.\n>\n\n> Ann"
                ),
            ]
        );
        assert_eq!(fold_quotes(body)[1].lines, 5);
    }

    #[test]
    fn a_quote_in_the_middle_folds_and_the_answer_around_it_stays() {
        let body = "Hi Ann,\r\n\r\n> Could you check the strip?\r\n> It is orange.\r\n\r\nIt was still in.\r\n";
        assert_eq!(
            folded(body),
            [
                (false, "Hi Ann,"),
                (true, "> Could you check the strip?\r\n> It is orange."),
                (false, "It was still in."),
            ]
        );
    }

    #[test]
    fn gmail_s_two_line_attribution_folds_whole() {
        let body = "Yes.\n\nOn Tue, Nov 17, 2026 at 3:00 PM Ann Lindqvist <\nann@example.org> wrote:\n\n> Is it on?\n";
        assert_eq!(
            folded(body),
            [
                (false, "Yes."),
                (
                    true,
                    "On Tue, Nov 17, 2026 at 3:00 PM Ann Lindqvist <\nann@example.org> wrote:\n\n> Is it on?"
                ),
            ]
        );
    }

    #[test]
    fn outlook_s_original_message_folds_to_the_end() {
        let body =
            "Done.\n\n-----Original Message-----\nFrom: Ann\nSent: Tuesday\n\nPlease restart it.\n";
        assert_eq!(
            folded(body),
            [
                (false, "Done."),
                (
                    true,
                    "-----Original Message-----\nFrom: Ann\nSent: Tuesday\n\nPlease restart it."
                ),
            ]
        );
        let rule = format!("Done.\n{}\nFrom: Ann\nOld text\n", "_".repeat(32));
        assert!(folded(&rule)[1].0);
        assert_eq!(folded(&rule)[1].1.lines().count(), 3);
    }

    #[test]
    fn text_without_quotes_and_text_all_quote_are_shown_as_they_are() {
        let plain = "Hello,\n\n  indented\nit does not work; 3 > 2.\n";
        assert_eq!(
            folded(plain),
            [(false, "Hello,\n\n  indented\nit does not work; 3 > 2.")]
        );
        assert_eq!(
            folded("> only\n> a quote\n"),
            [(false, "> only\n> a quote")]
        );
        assert!(folded("").is_empty() && folded("\n \n").is_empty());
        // A line that says "wrote:" with no quote after it is the writer's.
        assert!(!folded("Here is what I wrote:\nnothing\n")[0].0);
    }

    #[test]
    fn a_reply_s_subject_is_the_ticket_s_but_for_its_prefixes_and_tag() {
        let ticket = "Printer on fire";
        for same in [
            "Printer on fire",
            "Re: Printer on fire",
            "RE: AW: [myisp #4] Printer on fire",
            "[My ISP #4] Re: printer on fire ",
        ] {
            assert!(same_subject(same, ticket), "{same}");
        }
        for other in [
            "Re: Printer on fire again",
            "Scanner",
            "Re: [note] Printer on fire",
        ] {
            assert!(!same_subject(other, ticket), "{other}");
        }
    }

    #[test]
    fn a_mail_line_says_its_state_time_tries_and_error() {
        let created = Ticket::example(1).created;
        let queued = MailRecord {
            id: 1,
            ticket: Some(1),
            created,
            kind: MailKind::StaffReply,
            recipients: vec!["john@example.com".into()],
            state: MailState::Queued,
            attempts: 0,
            last_error: None,
            sent: None,
            next_attempt: created,
            leased_until: None,
            leased_by: None,
        };
        let line = MailLine::of(&queued, &Zone::utc());
        assert_eq!((line.state, line.attempts), ("queued", 0));
        assert_eq!(
            line.when,
            format!("queued {}", human_date(created, &Zone::utc()))
        );
        assert!(line.error.is_none() && line.retry.is_none());

        let retry = created + chrono::Duration::minutes(4);
        let failing = MailRecord {
            attempts: 2,
            last_error: Some("550 mailbox unavailable".into()),
            next_attempt: retry,
            ..queued.clone()
        };
        let line = MailLine::of(&failing, &Zone::utc());
        assert_eq!(line.state, "failed");
        assert_eq!(line.error, Some("550 mailbox unavailable"));
        assert_eq!(line.retry, Some(human_date(retry, &Zone::utc())));

        let at = created + chrono::Duration::minutes(9);
        let sent = MailRecord {
            state: MailState::Sent,
            attempts: 3,
            sent: Some(at),
            ..failing.clone()
        };
        let line = MailLine::of(&sent, &Zone::utc());
        assert_eq!((line.state, line.attempts), ("sent", 3));
        assert_eq!(line.when, format!("sent {}", human_date(at, &Zone::utc())));
        assert!(line.error.is_none() && line.retry.is_none());
        let dropped = MailRecord {
            state: MailState::Dropped,
            ..queued
        };
        assert_eq!(MailLine::of(&dropped, &Zone::utc()).state, "not sent");
    }

    #[test]
    fn an_sla_reads_nearest_first_paused_moved_and_breached_marked() {
        let config = Config::parse(
            "[site]\ntimezone = \"Europe/Berlin\"\n\
             [calendars.support]\nhours = { mon-fri = \"10:00-17:00\" }\n\
             [sla.standard]\ncalendar = \"support\"\nfirst_response = \"4h\"\n\
             resolve = \"3d\"\npause_on = [\"stalled\"]\n",
        )
        .expect("the config");
        let sla = config.sla("standard").expect("the SLA");
        // Monday 2037-12-14 10:00 CET; stalled at 11:00; read at 12:00.
        let mut s = sla.start(Status::New, parse_stamp("2037-12-14T09:00:00Z").unwrap());
        s.on_status(
            sla,
            Status::New,
            Status::Stalled,
            parse_stamp("2037-12-14T10:00:00Z").unwrap(),
        );
        let shown = SlaShown::of(&s, &config, parse_stamp("2037-12-14T11:00:00Z").unwrap());
        assert!(shown.paused);
        // An hour stood still so far: each deadline an hour later.
        assert_eq!(
            shown.lines(),
            [
                "first response by Mon 14 Dec 2037 15:00 CET",
                "resolve by Thu 17 Dec 2037 11:00 CET",
            ]
        );
        // Met late: stopped, and still breached; a running one past due is
        // breached before tick says so.
        s.on_status(
            sla,
            Status::Stalled,
            Status::Open,
            parse_stamp("2037-12-14T10:00:00Z").unwrap(),
        );
        s.on_staff_correspond(sla, parse_stamp("2037-12-15T09:00:00Z").unwrap());
        let shown = SlaShown::of(&s, &config, parse_stamp("2037-12-18T09:00:00Z").unwrap());
        assert!(!shown.paused);
        assert_eq!(
            shown.lines(),
            [
                "resolve by Thu 17 Dec 2037 10:00 CET (breached)",
                "first response missed (breached)",
            ]
        );
    }

    #[test]
    fn a_hook_is_named_by_its_rule_and_a_webhook_by_its_host_alone() {
        let config = Config::parse(
            "[site]\nname = \"x\"\ndomains = [\"help.example.org\"]\n\
             [[rules]]\nname = \"chat\"\non = [\"create\"]\n\
             do.webhook = { url = \"https://hooks.example.com/services/T0/SECRET\", secret = \"s\" }\n\
             [[rules]]\nname = \"sms\"\non = [\"create\"]\n\
             do.exec = [\"/usr/local/bin/send-sms\", \"+491701234567\"]\n",
        )
        .unwrap();
        let created = Ticket::example(1).created;
        let hook = |rule: &str, what: &str| MailRecord {
            id: 1,
            ticket: Some(1),
            created,
            kind: MailKind::Hook,
            recipients: vec![rule.into(), what.into()],
            state: MailState::Queued,
            attempts: 0,
            last_error: None,
            sent: None,
            next_attempt: created,
            leased_until: None,
            leased_by: None,
        };
        assert_eq!(
            mail_what(&hook("chat", "webhook"), &config),
            "webhook of rule chat (hooks.example.com)"
        );
        assert_eq!(
            mail_what(&hook("sms", "exec"), &config),
            "program of rule sms"
        );
        // A rule since taken out of the config is still named.
        assert_eq!(
            mail_what(&hook("gone", "webhook"), &config),
            "webhook of rule gone"
        );
        let mail = MailRecord {
            kind: MailKind::StaffReply,
            recipients: vec!["john@example.com".into()],
            ..hook("", "")
        };
        assert_eq!(hook_what(&mail, &config), None);
        assert_eq!(mail_what(&mail, &config), "reply to john@example.com");
    }
}

/// What `rules test`, `rules explain` and `tick` print with `--json`
/// (SPEC §8): `{"fired": [{"rule", "event", "ticket"}, …]}`, with `"at"`
/// for `explain`.
#[derive(Debug, Serialize)]
pub struct FiredView<'a> {
    pub fired: Vec<FiredOne<'a>>,
}

#[derive(Debug, Serialize)]
pub struct FiredOne<'a> {
    pub rule: &'a str,
    pub event: &'a str,
    pub ticket: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<&'a str>,
}

impl<'a> FiredView<'a> {
    pub fn of(fired: &'a [crate::desk::rules::Fired], with_time: bool) -> FiredView<'a> {
        FiredView {
            fired: fired
                .iter()
                .map(|f| FiredOne {
                    rule: &f.rule,
                    event: &f.event,
                    ticket: f.ticket,
                    at: with_time.then(|| stamp(f.at)),
                    why: with_time.then_some(f.why.as_str()),
                })
                .collect(),
        }
    }
}
