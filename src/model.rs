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
    /// When it should be resolved by (SPEC §1), if ever.
    pub due: Option<Time>,
    pub created: Time,
    pub updated: Time,
    /// Grows with every change to the ticket (SPEC §6's `If-Match`).
    pub version: i64,
    /// Set on a ticket merged into another: it lives on as an alias.
    pub merged_into: Option<i64>,
    /// The tickets merged into this one.
    pub merged: Vec<i64>,
    /// The clocks of its queue's SLA (SPEC §8), if it runs on one.
    pub sla: Option<crate::sla::SlaState>,
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
            due: None,
            created: now,
            updated: now,
            version: 1,
            merged_into: None,
            merged: Vec::new(),
            sla: None,
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
            due: None,
            created: t,
            updated: t,
            version: 1,
            merged_into: None,
            merged: Vec::new(),
            sla: None,
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
    /// Changes of a ticket's own fields (`old`/`new`: the values, `""`
    /// for no due date; a priority as its number).
    Queue,
    Subject,
    Requestor,
    Priority,
    Due,
}

impl HistoryKind {
    pub const ALL: [HistoryKind; 14] = [
        HistoryKind::Create,
        HistoryKind::Correspond,
        HistoryKind::Comment,
        HistoryKind::Status,
        HistoryKind::Owner,
        HistoryKind::Note,
        HistoryKind::Merge,
        HistoryKind::Watcher,
        HistoryKind::Spam,
        HistoryKind::Queue,
        HistoryKind::Subject,
        HistoryKind::Requestor,
        HistoryKind::Priority,
        HistoryKind::Due,
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
            HistoryKind::Queue => "queue",
            HistoryKind::Subject => "subject",
            HistoryKind::Requestor => "requestor",
            HistoryKind::Priority => "priority",
            HistoryKind::Due => "due",
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
    /// The ticket the entry was written on, when a merge brought it here
    /// (SPEC §5 `merged_from`): the first one, through a chain of merges.
    pub merged_from: Option<i64>,
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
    /// To a member of staff: someone else gave them the ticket.
    Assigned,
    /// To the owner (or admins): the requestor resolved the ticket by mail.
    RequestorClosed,
    /// To a staff address whose mail did not count as staff (SPEC §3): why,
    /// and how to answer instead; once a day at most.
    NotStaff,
    /// A rule's canned answer to the requestor (SPEC §8 `do.reply`), under
    /// the rules of an autoreply.
    RuleReply,
    /// A rule's notice (SPEC §8 `do.notify`).
    RuleNotice,
    /// Not a mail: a rule's program or webhook (SPEC §8 `do.exec`,
    /// `do.webhook`), run from the outbox as mail is sent. Its recipients
    /// are the rule's name and the action, its bytes the event as JSON,
    /// its Message-ID the delivery id.
    Hook,
}

impl MailKind {
    pub const ALL: [MailKind; 12] = [
        MailKind::Autoreply,
        MailKind::NewTicket,
        MailKind::Correspondence,
        MailKind::Comment,
        MailKind::Resolved,
        MailKind::StaffReply,
        MailKind::Assigned,
        MailKind::RequestorClosed,
        MailKind::NotStaff,
        MailKind::RuleReply,
        MailKind::RuleNotice,
        MailKind::Hook,
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
            MailKind::Assigned => "assigned",
            MailKind::RequestorClosed => "requestor_closed",
            MailKind::NotStaff => "not_staff",
            MailKind::RuleReply => "rule_reply",
            MailKind::RuleNotice => "rule_notice",
            MailKind::Hook => "hook",
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
            MailKind::Assigned => "assigned-to-you notice",
            MailKind::RequestorClosed => "closed-by-requestor notice",
            MailKind::NotStaff => "notice that mail did not count as staff",
            MailKind::RuleReply => "rule's reply",
            MailKind::RuleNotice => "rule's notice",
            MailKind::Hook => "rule's hook",
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
    /// A mail, or a rule's hook (`MailKind::Hook`).
    pub kind: MailKind,
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
    /// When it went out, once it did.
    pub sent: Option<Time>,
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
    /// Only tickets nobody owns: what `owner` = `nobody` becomes in
    /// `normalised` (SPEC §5 `list --owner nobody`, §6 `owner=nobody`).
    pub unowned: bool,
    /// The order; None: `list`'s own (not resolved first, newest first).
    pub sort: Option<Sort>,
}

/// An order of `list --sort` (SPEC §5); ties go newest ticket first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// The most recently changed first.
    Updated,
    /// The most recently opened first.
    Created,
    /// Urgent first, low last.
    Priority,
    /// The soonest due first, those without a due date last.
    Due,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Updated, Sort::Created, Sort::Priority, Sort::Due];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Updated => "updated",
            Sort::Created => "created",
            Sort::Priority => "priority",
            Sort::Due => "due",
        }
    }
}

impl std::str::FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Sort, String> {
        Sort::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown sort {:?} (updated, created, priority or due)",
                    s.trim()
                )
            })
    }
}

/// A ticket's priority (SPEC §1): stored and carried in JSON as its
/// number, typed by people as the word or the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn number(self) -> i64 {
        match self {
            Priority::Low => -1,
            Priority::Normal => 0,
            Priority::High => 1,
            Priority::Urgent => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// The priority of a stored number; one out of range (a hand-edited
    /// database) reads as the nearest.
    pub fn of(n: i64) -> Priority {
        match n {
            i64::MIN..=-1 => Priority::Low,
            0 => Priority::Normal,
            1 => Priority::High,
            _ => Priority::Urgent,
        }
    }
}

impl std::str::FromStr for Priority {
    type Err = String;

    /// `low`, `normal`, `high`, `urgent` (any case), or `-1` … `2`.
    fn from_str(s: &str) -> Result<Priority, String> {
        let s = s.trim();
        Priority::ALL
            .into_iter()
            .find(|p| {
                p.as_str().eq_ignore_ascii_case(s)
                    || p.number().to_string() == s.trim_start_matches('+')
            })
            .ok_or_else(|| {
                format!("unknown priority {s:?} (low, normal, high, urgent, or -1 to 2)")
            })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The owner a filter names for "nobody": tickets without an owner. No
/// address is a bare word, so it cannot be someone's.
pub const NOBODY: &str = "nobody";

impl Filter {
    /// The filter as the stores compare it: queue, owner and requestor
    /// trimmed and lower-cased (they match without regard to case), once
    /// here rather than in each store; owner and requestor as addresses
    /// (`<ann@x>` is `ann@x`); owner `nobody` as `unowned`.
    pub fn normalised(mut self) -> Filter {
        for v in [&mut self.owner, &mut self.requestor].into_iter().flatten() {
            *v = crate::address::Address::new(v).into();
        }
        if self.owner.as_deref() == Some(NOBODY) {
            self.owner = None;
            self.unowned = true;
        }
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

/// A file a member of staff attaches to a reply, a comment or a ticket
/// they open (SPEC §5 `--attach`, the pages' and the API's `attachment`
/// files): a name fit for a header and a content type read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// A file as a person gave it: `name` may be a path (a browser on
    /// Windows sends `C:\\…\\x.pdf`); its last part is kept, without
    /// control characters, and names the content type.
    pub fn new(name: &str, bytes: Vec<u8>) -> Upload {
        let base = name.rsplit(['/', '\\']).next().unwrap_or("");
        let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
        let clean = clean.trim();
        let filename = if clean.is_empty() || clean == "." || clean == ".." {
            "attachment".to_string()
        } else {
            clean.to_string()
        };
        Upload {
            content_type: content_type_of(&filename).to_string(),
            filename,
            bytes,
        }
    }
}

/// The content type of a file by its name's extension, for the files
/// people attach; `application/octet-stream` for the rest. A short table
/// of our own rather than `mime_guess`: its 1,500 entries would be
/// relocated by the loader at every start of `deliver`, which never
/// reads them (BENCHMARKS.md: the loader's relocations were most of the
/// cost of a larger binary).
pub fn content_type_of(filename: &str) -> &'static str {
    let ext = match filename.rsplit_once('.') {
        Some((_, ext)) => ext.to_ascii_lowercase(),
        None => return "application/octet-stream",
    };
    match ext.as_str() {
        "txt" | "log" | "text" | "conf" | "cfg" | "ini" => "text/plain",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "md" => "text/markdown",
        "ics" => "text/calendar",
        "eml" => "message/rfc822",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "rtf" => "application/rtf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
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
    fn priorities_are_words_or_numbers() {
        let p = |s: &str| s.parse::<Priority>();
        assert_eq!(p("urgent"), Ok(Priority::Urgent));
        assert_eq!(p(" High "), Ok(Priority::High));
        assert_eq!(p("-1"), Ok(Priority::Low));
        assert_eq!(p("0").map(Priority::number), Ok(0));
        assert_eq!(p("2").map(Priority::number), Ok(2));
        assert_eq!(p("+1"), Ok(Priority::High));
        assert!(p("3").is_err() && p("-2").is_err() && p("").is_err());
        assert_eq!(
            p("asap").unwrap_err(),
            "unknown priority \"asap\" (low, normal, high, urgent, or -1 to 2)"
        );
        for q in Priority::ALL {
            assert_eq!(Priority::of(q.number()), q);
            assert_eq!(p(q.as_str()), Ok(q));
        }
        assert_eq!(Priority::of(7), Priority::Urgent);
    }

    #[test]
    fn sorts_are_words() {
        assert_eq!("Due".parse::<Sort>(), Ok(Sort::Due));
        assert!("age"
            .parse::<Sort>()
            .unwrap_err()
            .contains("updated, created, priority or due"));
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

    #[test]
    fn a_filter_for_nobody_asks_for_unowned_tickets() {
        let f = Filter {
            owner: Some(" Nobody ".into()),
            requestor: Some("<John@Example.com>".into()),
            queue: Some("Web ".into()),
            ..Filter::default()
        }
        .normalised();
        assert_eq!((f.owner, f.unowned), (None, true));
        assert_eq!(f.requestor.as_deref(), Some("john@example.com"));
        assert_eq!(f.queue.as_deref(), Some("web"));
        let f = Filter {
            owner: Some("Ann@Example.org".into()),
            ..Filter::default()
        }
        .normalised();
        assert_eq!(
            (f.owner.as_deref(), f.unowned),
            (Some("ann@example.org"), false)
        );
    }

    #[test]
    fn an_upload_keeps_the_last_part_of_its_name_and_is_typed_by_it() {
        let u = Upload::new("C:\\Users\\kim\\Scan 3.PDF", vec![1]);
        assert_eq!(u.filename, "Scan 3.PDF");
        assert_eq!(u.content_type, "application/pdf");
        let u = Upload::new("../../etc/pass\nwd", vec![]);
        assert_eq!(u.filename, "passwd");
        assert_eq!(u.content_type, "application/octet-stream");
        assert_eq!(Upload::new("/tmp/", vec![]).filename, "attachment");
        assert_eq!(Upload::new("..", vec![]).filename, "attachment");
        assert_eq!(content_type_of("log.txt"), "text/plain");
        assert_eq!(content_type_of("noext"), "application/octet-stream");
    }
}
