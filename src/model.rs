//! SPEC §1's words as types: tickets, statuses, history entries, the mail a
//! change causes. Enums where the database and the JSON hold words; times
//! as times. Shared by the desk, both stores and every front end.

use std::fmt;

use serde::Serialize;

/// A point in time, UTC. Stored and shown to the second (SPEC §5's
/// `2026-11-17T15:00:00Z`), so that both stores give identical answers.
pub type Time = chrono::DateTime<chrono::Utc>;

/// `t` cut to the second: what a store keeps.
pub fn to_second(t: Time) -> Time {
    chrono::DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// RFC 3339 in UTC to the second: `2026-11-17T15:00:00Z`. Text order is
/// time order. Written field by field: chrono's `format` reads its pattern
/// anew at every call, and the board's 10 000 cards call this 20 000
/// times (11 % of `GET /api/board` in `perf`).
pub fn stamp(t: Time) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Reads a stamp written by `stamp` (or any RFC 3339 time).
pub fn parse_stamp(s: &str) -> Option<Time> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Serializes a `Time` as `stamp` does.
pub fn serialize_time<S: serde::Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&stamp(*t))
}

/// `new` (nobody on staff has acted yet) → `open` → `stalled` (waiting for
/// the requestor) → `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Open,
    Stalled,
    Resolved,
}

impl Status {
    /// Every status, in the order of the board's columns.
    pub const ALL: [Status; 4] = [Status::New, Status::Open, Status::Stalled, Status::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Stalled => "stalled",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Does new mail from a person open the ticket again (SPEC §1)?
    pub fn reopens_on_mail(self) -> bool {
        matches!(self, Status::Stalled | Status::Resolved)
    }

    /// The statuses a person may move a ticket in this status to (the
    /// desk's status rule, and what the thread page and the board offer):
    /// any other, but never back to new — staff has seen it.
    pub fn moves_from(self) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|&to| to != self && to != Status::New)
            .collect()
    }

    /// A list of status words, `new,open` or repeated (`--status new
    /// --status open`), empty ones skipped: the one parser of every front
    /// end's status filter.
    pub fn parse_list<'a>(
        words: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Status>, UnknownStatus> {
        words
            .into_iter()
            .flat_map(|w| w.split(','))
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl std::str::FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Status, UnknownStatus> {
        Status::parse(s).ok_or_else(|| UnknownStatus(s.trim().to_string()))
    }
}

/// A word that is none of the four statuses; its message lists them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?} (new, open, stalled or resolved)")]
pub struct UnknownStatus(pub String);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: i64,
    pub queue: String,
    pub subject: String,
    pub status: Status,
    pub requestor: String,
    pub owner: Option<String>,
    pub priority: i64,
    /// The requestor first, then the others in the order they were added.
    pub watchers: Vec<String>,
    pub created: Time,
    pub updated: Time,
    /// Grows with every change to the ticket (SPEC §6's `If-Match`).
    pub version: i64,
    /// Set on a ticket merged into another: it lives on as an alias.
    pub merged_into: Option<i64>,
    /// The tickets merged into this one.
    pub merged: Vec<i64>,
}

impl Ticket {
    /// A ticket as it opens: new, in `queue`, nobody's, at version 1
    /// (what each store writes, numbered by the store).
    pub fn opened(queue: &str, subject: &str, requestor: &str, now: Time) -> Ticket {
        Ticket {
            id: 0,
            queue: queue.to_string(),
            subject: subject.to_string(),
            status: Status::New,
            requestor: requestor.to_string(),
            owner: None,
            priority: 0,
            watchers: Vec::new(),
            created: now,
            updated: now,
            version: 1,
            merged_into: None,
            merged: Vec::new(),
        }
    }

    /// A ticket with made-up values: what `pipedesk check` renders the
    /// templates with, and what unit tests start from.
    pub fn example(id: i64) -> Ticket {
        let t = chrono::DateTime::from_timestamp(1_795_446_000, 0).unwrap_or_default();
        Ticket {
            id,
            queue: crate::config::GENERAL_QUEUE.into(),
            subject: "Email doesn't work".into(),
            status: Status::New,
            requestor: "john@example.com".into(),
            owner: None,
            priority: 0,
            watchers: vec!["john@example.com".into()],
            created: t,
            updated: t,
            version: 1,
            merged_into: None,
            merged: Vec::new(),
        }
    }
}

/// The kinds of history entry (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryKind {
    Create,
    Correspond,
    Comment,
    Status,
    Owner,
    Note,
    Merge,
    Watcher,
    /// Marked as spam (`new`: "spam", `old`: the queue it came from) or
    /// undone (`new`: "not spam"), SPEC §5.
    Spam,
}

impl HistoryKind {
    pub const ALL: [HistoryKind; 9] = [
        HistoryKind::Create,
        HistoryKind::Correspond,
        HistoryKind::Comment,
        HistoryKind::Status,
        HistoryKind::Owner,
        HistoryKind::Note,
        HistoryKind::Merge,
        HistoryKind::Watcher,
        HistoryKind::Spam,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Create => "create",
            HistoryKind::Correspond => "correspond",
            HistoryKind::Comment => "comment",
            HistoryKind::Status => "status",
            HistoryKind::Owner => "owner",
            HistoryKind::Note => "note",
            HistoryKind::Merge => "merge",
            HistoryKind::Watcher => "watcher",
            HistoryKind::Spam => "spam",
        }
    }

    pub fn parse(s: &str) -> Option<HistoryKind> {
        HistoryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One history entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: HistoryKind,
    pub author: String,
    pub message: Option<i64>,
    pub old: Option<String>,
    pub new: Option<String>,
    pub note: Option<String>,
    /// Written for automatic mail (SPEC §3): it changed nothing else.
    pub auto: bool,
}

impl NewEntry {
    pub fn new(kind: HistoryKind, author: &str) -> NewEntry {
        NewEntry {
            kind,
            author: author.to_string(),
            message: None,
            old: None,
            new: None,
            note: None,
            auto: false,
        }
    }

    pub fn message(mut self, id: i64) -> NewEntry {
        self.message = Some(id);
        self
    }

    pub fn change(mut self, old: Option<&str>, new: Option<&str>) -> NewEntry {
        self.old = old.map(String::from);
        self.new = new.map(String::from);
        self
    }

    pub fn note(mut self, note: &str) -> NewEntry {
        self.note = Some(note.to_string());
        self
    }

    pub fn auto(mut self, auto: bool) -> NewEntry {
        self.auto = auto;
        self
    }
}

/// A stored message as history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub id: i64,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub subject: String,
    pub body: String,
    /// The bytes as received (empty where the caller did not ask for them).
    pub raw: Vec<u8>,
}

/// One entry of a ticket's history, with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub kind: HistoryKind,
    pub author: String,
    pub date: Time,
    pub message: Option<StoredMessage>,
    pub old: Option<String>,
    pub new: Option<String>,
    pub note: Option<String>,
    pub auto: bool,
}

/// A message to store: `raw` exactly as received.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub key: &'a str,
    pub message_id: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub envelope_sender: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub author: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub raw: &'a [u8],
    pub received: Time,
}

/// A stored message with its bytes, for `export` and `attachments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub id: i64,
    pub author: String,
    pub received: Time,
    pub envelope_sender: Option<String>,
    pub raw: Vec<u8>,
}

/// A bounce that routed nowhere, as `list --bounces` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bounce {
    pub id: i64,
    #[serde(serialize_with = "serialize_time")]
    pub received: Time,
    pub recipient: Option<String>,
    pub author: String,
    pub subject: String,
    pub message_id: Option<String>,
}

/// What a delivered message did (`deliver --json`'s `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Correspond,
    Comment,
    Close,
    Duplicate,
    Bounce,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Correspond => "correspond",
            Action::Comment => "comment",
            Action::Close => "close",
            Action::Duplicate => "duplicate",
            Action::Bounce => "bounce",
        }
    }
}

/// The kinds of mail we send; each has a template of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// To the requestor of a new ticket (RFC 3834 auto-replied).
    Autoreply,
    /// To the admins, about a new ticket.
    NewTicket,
    /// To the owner (or admins), about correspondence from outside staff.
    Correspondence,
    /// To the owner and admins: a staff-only comment.
    Comment,
    /// To the requestor: the ticket is resolved.
    Resolved,
    /// Staff correspondence passed on to the requestor and watchers.
    StaffReply,
    /// To a staff address whose mail did not count as staff (SPEC §3): why,
    /// and how to answer instead; once a day at most.
    NotStaff,
}

impl MailKind {
    pub const ALL: [MailKind; 7] = [
        MailKind::Autoreply,
        MailKind::NewTicket,
        MailKind::Correspondence,
        MailKind::Comment,
        MailKind::Resolved,
        MailKind::StaffReply,
        MailKind::NotStaff,
    ];

    /// Its name: the template's, and the outbox's `kind`.
    pub fn name(self) -> &'static str {
        match self {
            MailKind::Autoreply => "autoreply",
            MailKind::NewTicket => "new_ticket",
            MailKind::Correspondence => "correspondence",
            MailKind::Comment => "comment",
            MailKind::Resolved => "resolved",
            MailKind::StaffReply => "staff_reply",
            MailKind::NotStaff => "not_staff",
        }
    }

    pub fn parse(s: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// How `show` names it.
    pub fn describe(self) -> &'static str {
        match self {
            MailKind::Autoreply => "autoreply",
            MailKind::NewTicket => "new-ticket notice",
            MailKind::Correspondence => "correspondence notice",
            MailKind::Comment => "comment notice",
            MailKind::Resolved => "resolved notice",
            MailKind::StaffReply => "reply",
            MailKind::NotStaff => "notice that mail did not count as staff",
        }
    }
}

/// A rendered mail ready to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub ticket_id: i64,
    pub kind: MailKind,
    /// Without angle brackets.
    pub message_id: String,
    /// "" for the null sender of an autoreply.
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
}

/// Where a queued mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailState {
    Queued,
    Sent,
    /// Never to be sent: `mail.transport = "none"`.
    Dropped,
}

impl MailState {
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Sent => "sent",
            MailState::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<MailState> {
        [MailState::Queued, MailState::Sent, MailState::Dropped]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A queued mail taken for sending.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    pub attempts: i64,
}

/// A mail a ticket caused, as `show` lists it and `flush` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    pub id: i64,
    pub ticket: Option<i64>,
    pub created: Time,
    pub kind: MailKind,
    pub recipients: Vec<String>,
    pub state: MailState,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Not sent again before this (back-off after a failure).
    pub next_attempt: Time,
    /// Taken by a sending process until this.
    pub leased_until: Option<Time>,
    /// The lease's token: which process on which host holds it.
    pub leased_by: Option<String>,
}

/// One entry of the change feed (SPEC §6): ticket `ticket` changed, and
/// this change is number `seq` of all changes to any ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub ticket: i64,
}

/// How a member of staff is known to the web.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A browser's session cookie.
    Session,
    /// A script's `Authorization: Bearer` token.
    Token,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::Token => "token",
        }
    }
}

/// A credential to keep: only the hash of its secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub kind: CredentialKind,
    pub secret_hash: String,
    pub address: String,
    pub created: Time,
    pub expires: Option<Time>,
}

/// What `list` selects.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub statuses: Vec<Status>,
    pub queue: Option<String>,
    pub owner: Option<String>,
    pub requestor: Option<String>,
    /// Leaves this queue out (the desk's default list and the board leave
    /// out `spam`, SPEC §5, §6).
    pub except_queue: Option<String>,
    pub limit: Option<usize>,
    /// The most recently changed first, instead of `list`'s order.
    pub recently_updated: bool,
}

impl Filter {
    /// The filter as the stores compare it: queue, owner and requestor
    /// trimmed and lower-cased (they match without regard to case), once
    /// here rather than in each store.
    pub fn normalised(mut self) -> Filter {
        for v in [
            &mut self.queue,
            &mut self.owner,
            &mut self.requestor,
            &mut self.except_queue,
        ]
        .into_iter()
        .flatten()
        {
            *v = v.trim().to_ascii_lowercase();
        }
        self
    }
}

/// A ticket as `list` shows it: with its message count.
#[derive(Debug, Clone)]
pub struct Listed {
    pub ticket: Ticket,
    pub messages: i64,
}

/// One ticket found by `search`, with the best-matching message's snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub ticket: i64,
    pub subject: String,
    pub status: Status,
    /// Matched words between `MARK_START` and `MARK_END`.
    pub snippet: String,
}

/// Where a snippet's matched words start and end. Private-use characters,
/// so that no control character from mail can pass for one; the front end
/// turns them into bold or drops them.
pub const MARK_START: char = '\u{e000}';
pub const MARK_END: char = '\u{e001}';

/// Counts for `stats`.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// (queue, status, count).
    pub by_queue_status: Vec<(String, Status, i64)>,
    pub new_since: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_rfc_3339_to_the_second_and_read_back() {
        let t = parse_stamp("2026-01-02T03:04:05.678+01:00").unwrap();
        assert_eq!(stamp(t), "2026-01-02T02:04:05Z");
        assert_eq!(stamp(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        assert_eq!(parse_stamp(&stamp(t)), Some(to_second(t)));
        let early = parse_stamp("0987-06-05T04:03:02Z").unwrap();
        assert_eq!(stamp(early), "0987-06-05T04:03:02Z");
    }

    #[test]
    fn words_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse(" Stalled "), Some(Status::Stalled));
        assert_eq!(Status::parse("closed"), None);
        for k in HistoryKind::ALL {
            assert_eq!(HistoryKind::parse(k.as_str()), Some(k));
        }
        for k in MailKind::ALL {
            assert_eq!(MailKind::parse(k.name()), Some(k));
        }
    }

    #[test]
    fn stamps_sort_as_text_and_read_back() {
        let a = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let b = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(stamp(a), "2023-11-14T22:13:20Z");
        assert!(stamp(a) < stamp(b));
        assert_eq!(parse_stamp(&stamp(a)), Some(a));
        let fine = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(to_second(fine), a);
    }

    #[test]
    fn only_stalled_and_resolved_reopen_on_mail() {
        assert!(Status::Resolved.reopens_on_mail());
        assert!(Status::Stalled.reopens_on_mail());
        assert!(!Status::Open.reopens_on_mail());
        assert!(!Status::New.reopens_on_mail());
    }

    #[test]
    fn a_person_moves_a_ticket_to_any_other_status_but_new() {
        assert_eq!(
            Status::Resolved.moves_from(),
            [Status::Open, Status::Stalled]
        );
        assert_eq!(
            Status::New.moves_from(),
            [Status::Open, Status::Stalled, Status::Resolved]
        );
        assert!(Status::ALL.iter().all(|s| !s.moves_from().contains(s)));
    }

    #[test]
    fn status_lists_parse_once_with_one_message() {
        assert_eq!(
            Status::parse_list(["new, open", "Stalled"]),
            Ok(vec![Status::New, Status::Open, Status::Stalled])
        );
        assert_eq!(Status::parse_list([""]), Ok(vec![]));
        let e = Status::parse_list(["open,closed"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown status \"closed\" (new, open, stalled or resolved)"
        );
    }
}
