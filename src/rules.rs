//! The desk's own rules (SPEC §8): `[[rules]]` in the config, read and
//! checked once when it loads (a wrong rule is refused with its name and
//! line), and the pure half of running them: which event a history entry
//! is, whether a rule's conditions hold for it, and the event as JSON for
//! programs and webhooks. Running the actions is the desk's
//! (`desk::rules`), inside the transaction of the change that fired them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::model::{HistoryKind, NewEntry, Priority, Status, Ticket, Time};

/// What a rule listens for (`on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    Create,
    Correspond,
    Comment,
    Status,
    Owner,
    Queue,
    Priority,
    Due,
    Merge,
    SlaWarning,
    SlaBreach,
    Idle,
}

impl Event {
    pub const ALL: [Event; 12] = [
        Event::Create,
        Event::Correspond,
        Event::Comment,
        Event::Status,
        Event::Owner,
        Event::Queue,
        Event::Priority,
        Event::Due,
        Event::Merge,
        Event::SlaWarning,
        Event::SlaBreach,
        Event::Idle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::Correspond => "correspond",
            Event::Comment => "comment",
            Event::Status => "status",
            Event::Owner => "owner",
            Event::Queue => "queue",
            Event::Priority => "priority",
            Event::Due => "due",
            Event::Merge => "merge",
            Event::SlaWarning => "sla-warning",
            Event::SlaBreach => "sla-breach",
            Event::Idle => "idle",
        }
    }

    pub fn parse(s: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The event a history entry is, if any. A merge writes its entry on
    /// both tickets; the one that stays fires it.
    pub fn of(entry: &NewEntry, ticket: i64) -> Option<Event> {
        Some(match entry.kind {
            HistoryKind::Create => Event::Create,
            HistoryKind::Correspond => Event::Correspond,
            HistoryKind::Comment => Event::Comment,
            HistoryKind::Status => Event::Status,
            HistoryKind::Owner => Event::Owner,
            HistoryKind::Queue => Event::Queue,
            HistoryKind::Priority => Event::Priority,
            HistoryKind::Due => Event::Due,
            HistoryKind::Merge if entry.new.as_deref() == Some(&ticket.to_string()) => Event::Merge,
            _ => return None,
        })
    }
}

/// Who caused an event (`if.actor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Requestor,
    Staff,
    Outsider,
    /// The desk itself: the clock, an import.
    System,
}

impl Actor {
    const ALL: [Actor; 4] = [
        Actor::Requestor,
        Actor::Staff,
        Actor::Outsider,
        Actor::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Requestor => "requestor",
            Actor::Staff => "staff",
            Actor::Outsider => "outsider",
            Actor::System => "system",
        }
    }
}

/// How a change came in (`if.via`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    #[default]
    Mail,
    Web,
    Command,
}

impl Via {
    const ALL: [Via; 3] = [Via::Mail, Via::Web, Via::Command];

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Mail => "mail",
            Via::Web => "web",
            Via::Command => "command",
        }
    }
}

/// The author of changes a rule makes: `rule:NAME`.
pub const AUTHOR_PREFIX: &str = "rule:";
/// The author of the clock's own entries (`sla-warning`, `sla-breach`, `idle`).
pub const CLOCK_AUTHOR: &str = "clock";

/// A rule as written in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    pub on: OneOrMany,
    #[serde(rename = "if", default)]
    pub when: RawIf,
    #[serde(rename = "do")]
    pub then: RawDo,
    #[serde(default)]
    pub stop: bool,
}

/// A value, or a list of values any of which may match.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn values(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIf {
    pub queue: Option<OneOrMany>,
    pub status: Option<OneOrMany>,
    pub owner: Option<OneOrMany>,
    pub priority: Option<OneOrMany>,
    pub from: Option<OneOrMany>,
    pub subject: Option<OneOrMany>,
    pub body: Option<OneOrMany>,
    pub header: Option<BTreeMap<String, OneOrMany>>,
    pub actor: Option<OneOrMany>,
    pub via: Option<OneOrMany>,
    pub hours: Option<RawHours>,
    pub old: Option<OneOrMany>,
    pub new: Option<OneOrMany>,
    pub clock: Option<OneOrMany>,
    pub idle: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHours {
    pub calendar: String,
    pub inside: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDo {
    pub set: Option<RawSet>,
    pub comment: Option<String>,
    pub reply: Option<String>,
    pub notify: Option<RawNotify>,
    pub exec: Option<Vec<String>>,
    pub webhook: Option<RawWebhook>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSet {
    pub status: Option<String>,
    pub owner: Option<String>,
    pub queue: Option<String>,
    pub priority: Option<String>,
    pub due: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub to: OneOrMany,
    pub canned: Option<String>,
    pub template: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: String,
    pub secret: String,
}

/// A rule, checked.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub on: Vec<Event>,
    pub when: Vec<Condition>,
    pub then: Vec<Action>,
    pub stop: bool,
    /// `if.idle`: how long nothing must have happened (the `idle` event).
    pub idle: Option<crate::calendar::Duration>,
}

impl Rule {
    /// The regular expressions of its conditions.
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.when
            .iter()
            .flat_map(|c| -> Box<dyn Iterator<Item = &Pattern> + '_> {
                match c {
                    Condition::Subject(p) | Condition::Body(p) => Box::new(p.iter()),
                    Condition::Header(h) => Box::new(h.iter().flat_map(|(_, p)| p.iter())),
                    _ => Box::new(std::iter::empty()),
                }
            })
    }
}

/// One condition of `if`; each holds when any of its values matches.
#[derive(Debug, Clone)]
pub enum Condition {
    Queue(Vec<String>),
    Status(Vec<Status>),
    /// None: nobody.
    Owner(Vec<Option<String>>),
    Priority(Vec<(Cmp, Priority)>),
    From(Vec<Glob>),
    Subject(Vec<Pattern>),
    Body(Vec<Pattern>),
    /// Lower-cased header name, and the patterns its value may match.
    Header(Vec<(String, Vec<Pattern>)>),
    Actor(Vec<Actor>),
    Via(Vec<Via>),
    Hours {
        calendar: String,
        inside: bool,
    },
    Old(Vec<String>),
    New(Vec<String>),
    Clock(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

/// A glob on an address: `*` any run of characters, `?` one; no case.
/// Matched by hand: a regular expression for it cost every `deliver` its
/// compilation (see `Pattern`).
#[derive(Debug, Clone)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let p = pattern.trim();
        if p.is_empty() {
            return Err("an empty pattern matches nobody".into());
        }
        Ok(Glob(p.to_lowercase().chars().collect()))
    }

    pub fn matches(&self, s: &str) -> bool {
        let s: Vec<char> = s.to_lowercase().chars().collect();
        let p = &self.0;
        // The classic wildcard walk: on a mismatch, the last `*` takes one
        // more character. Linear in practice, never exponential.
        let (mut i, mut j) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            if j < p.len() && (p[j] == '?' || p[j] == s[i]) {
                i += 1;
                j += 1;
            } else if j < p.len() && p[j] == '*' {
                star = Some((j, i));
                j += 1;
            } else if let Some((sj, si)) = star {
                j = sj + 1;
                i = si + 1;
                star = Some((sj, si + 1));
            } else {
                return false;
            }
        }
        p[j..].iter().all(|&c| c == '*')
    }
}

/// A regular expression of a condition (case-insensitive). Its syntax is
/// checked when the config loads; it is compiled the first time a rule
/// asks, and without the literal prefilters and one-pass DFA that `regex`
/// builds for a long-lived program. Compiling ten rules' expressions at
/// every load was 4.2 M instructions of each `deliver` (45 %, callgrind);
/// compiled when used with `regex`'s defaults, 2.5 M for the two a new
/// ticket reached.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    compiled: std::sync::OnceLock<Option<regex_automata::meta::Regex>>,
}

impl Pattern {
    /// Its syntax checked (regex-syntax's parser, which most mistakes
    /// fail); what only compiling finds (an unknown Unicode class, a size
    /// past the limit) is `check`'s, which `pipedesk check` runs.
    pub fn new(source: &str) -> Result<Pattern, String> {
        regex_syntax::ast::parse::Parser::new()
            .parse(source)
            .map_err(|e| e.to_string())?;
        Ok(Pattern {
            source: source.to_string(),
            compiled: std::sync::OnceLock::new(),
        })
    }

    /// Compiles it now: the error of one that will never match.
    pub fn check(&self) -> Result<(), String> {
        match self.compiled() {
            Some(_) => Ok(()),
            None => Err(format!(
                "{:?} does not compile (an unknown class, or too large)",
                self.source
            )),
        }
    }

    fn compiled(&self) -> Option<&regex_automata::meta::Regex> {
        self.compiled
            .get_or_init(|| {
                use regex_automata::{meta, util::syntax};
                meta::Builder::new()
                    .configure(
                        meta::Config::new()
                            .auto_prefilter(false)
                            .onepass(false)
                            .backtrack(false)
                            .nfa_size_limit(Some(1 << 24)),
                    )
                    .syntax(syntax::Config::new().case_insensitive(true))
                    .build(&self.source)
                    .ok()
            })
            .as_ref()
    }

    /// Does it match `text`? One that does not compile (see `check`)
    /// matches nothing.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled().is_some_and(|r| r.is_match(text))
    }
}

/// What a rule does (`do`), in this order.
#[derive(Debug, Clone)]
pub enum Action {
    Set(Set),
    Comment(String),
    /// A canned answer to the requestor, under the rules of an autoreply.
    Reply(String),
    Notify {
        to: Vec<Address>,
        text: NoticeText,
    },
    Exec(Vec<String>),
    Webhook {
        url: String,
        secret: String,
    },
}

impl Action {
    /// Runs after the commit, from the outbox (a program, a webhook).
    pub fn is_hook(&self) -> bool {
        matches!(self, Action::Exec(_) | Action::Webhook { .. })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Set {
    pub status: Option<Status>,
    /// Some(None): nobody.
    pub owner: Option<Option<Address>>,
    pub queue: Option<String>,
    pub priority: Option<Priority>,
    /// As `pipedesk due` reads it, when the rule fires.
    pub due: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NoticeText {
    Canned(String),
    Template(std::path::PathBuf),
    /// A notice naming the ticket and the event.
    Standard,
}

/// What rules may name, from the rest of the config.
pub struct Known<'a> {
    pub queues: Vec<&'a str>,
    pub calendars: Vec<&'a str>,
    pub is_staff: &'a dyn Fn(&Address) -> bool,
}

/// Checks every rule: (the rule's index, what is wrong) for the first that
/// is wrong.
pub fn compile(raw: &[RawRule], known: &Known<'_>) -> Result<Vec<Rule>, (usize, String)> {
    let mut rules = Vec::new();
    let mut names = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let name = r.name.trim();
        if name.is_empty() || !crate::canned::valid_name(name) {
            return Err((
                i,
                format!("rule name {:?}: letters, digits, - _ . only", r.name),
            ));
        }
        if names.contains(&name) {
            return Err((i, format!("rule {name:?}: the name is used twice")));
        }
        names.push(name);
        let rule = compile_one(r, known).map_err(|e| (i, format!("rule {name:?}: {e}")))?;
        rules.push(rule);
    }
    Ok(rules)
}

fn compile_one(r: &RawRule, known: &Known<'_>) -> Result<Rule, String> {
    let mut on = Vec::new();
    for e in r.on.values() {
        let event = Event::parse(e.trim()).ok_or_else(|| {
            format!(
                "unknown event {e:?} in `on` (known: {})",
                Event::ALL.map(Event::as_str).join(", ")
            )
        })?;
        on.push(event);
    }
    if on.is_empty() {
        return Err("`on` names no event".into());
    }
    let w = &r.when;
    let mut when = Vec::new();
    let list = |v: &OneOrMany| -> Vec<String> {
        v.values().iter().map(|s| s.trim().to_string()).collect()
    };
    if let Some(v) = &w.queue {
        let qs = list(v);
        if let Some(q) = qs.iter().find(|q| !known.queues.contains(&q.as_str())) {
            return Err(format!(
                "if.queue: unknown queue {q:?} (known: {})",
                known.queues.join(", ")
            ));
        }
        when.push(Condition::Queue(qs));
    }
    if let Some(v) = &w.status {
        when.push(Condition::Status(statuses(v, "if.status")?));
    }
    if let Some(v) = &w.owner {
        let mut owners = Vec::new();
        for o in v.values() {
            owners.push(owner_of(o, known).map_err(|e| format!("if.owner: {e}"))?);
        }
        when.push(Condition::Owner(
            owners
                .into_iter()
                .map(|o| o.map(|a| a.as_str().to_string()))
                .collect(),
        ));
    }
    if let Some(v) = &w.priority {
        let mut ps = Vec::new();
        for p in v.values() {
            ps.push(priority_test(p)?);
        }
        when.push(Condition::Priority(ps));
    }
    if let Some(v) = &w.from {
        let globs = v
            .values()
            .iter()
            .map(|g| Glob::new(g))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("if.from: {e}"))?;
        when.push(Condition::From(globs));
    }
    if let Some(v) = &w.subject {
        when.push(Condition::Subject(regexes(v, "if.subject")?));
    }
    if let Some(v) = &w.body {
        when.push(Condition::Body(regexes(v, "if.body")?));
    }
    if let Some(h) = &w.header {
        let mut hs = Vec::new();
        for (name, v) in h {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(format!("if.header: {name:?} is not a header name"));
            }
            hs.push((
                name.to_ascii_lowercase(),
                regexes(v, &format!("if.header.{name}"))?,
            ));
        }
        when.push(Condition::Header(hs));
    }
    if let Some(v) = &w.actor {
        when.push(Condition::Actor(words(
            v,
            &Actor::ALL,
            Actor::as_str,
            "if.actor",
        )?));
    }
    if let Some(v) = &w.via {
        when.push(Condition::Via(words(v, &Via::ALL, Via::as_str, "if.via")?));
    }
    if let Some(h) = &w.hours {
        if !known.calendars.contains(&h.calendar.as_str()) {
            return Err(format!(
                "if.hours: unknown calendar {:?} (known: {})",
                h.calendar,
                if known.calendars.is_empty() {
                    "none: add a [calendars.NAME] table".to_string()
                } else {
                    known.calendars.join(", ")
                }
            ));
        }
        when.push(Condition::Hours {
            calendar: h.calendar.clone(),
            inside: h.inside,
        });
    }
    if let Some(v) = &w.old {
        when.push(Condition::Old(list(v)));
    }
    if let Some(v) = &w.new {
        when.push(Condition::New(list(v)));
    }
    if let Some(v) = &w.clock {
        let clocks = list(v);
        if let Some(c) = clocks
            .iter()
            .find(|c| crate::sla::ClockName::parse(c).is_none())
        {
            return Err(format!(
                "if.clock: unknown clock {c:?} (known: {})",
                crate::sla::ClockName::ALL.map(|c| c.as_str()).join(", ")
            ));
        }
        when.push(Condition::Clock(clocks));
    }
    let idle = match &w.idle {
        Some(d) => Some(crate::calendar::Duration::parse(d).map_err(|e| format!("if.idle: {e}"))?),
        None => None,
    };
    if on.contains(&Event::Idle) != idle.is_some() {
        return Err("the `idle` event and `if.idle = \"3d\"` go together".into());
    }
    let then = actions(&r.then, known)?;
    if then.is_empty() {
        return Err("`do` names no action".into());
    }
    Ok(Rule {
        name: r.name.trim().to_string(),
        on,
        when,
        then,
        stop: r.stop,
        idle,
    })
}

fn actions(d: &RawDo, known: &Known<'_>) -> Result<Vec<Action>, String> {
    let mut then = Vec::new();
    if let Some(s) = &d.set {
        let mut set = Set::default();
        if let Some(v) = &s.status {
            set.status = Some(
                Status::parse(v.trim())
                    .ok_or_else(|| format!("do.set.status: unknown status {v:?}"))?,
            );
        }
        if let Some(v) = &s.owner {
            set.owner = Some(owner_of(v, known).map_err(|e| format!("do.set.owner: {e}"))?);
        }
        if let Some(v) = &s.queue {
            if !known.queues.contains(&v.trim()) {
                return Err(format!(
                    "do.set.queue: unknown queue {v:?} (known: {})",
                    known.queues.join(", ")
                ));
            }
            set.queue = Some(v.trim().to_string());
        }
        if let Some(v) = &s.priority {
            set.priority = Some(v.parse().map_err(|e| format!("do.set.priority: {e}"))?);
        }
        if let Some(v) = &s.due {
            // Checked now, against any time: what it means is read when
            // the rule fires.
            crate::zone::parse_due(v, chrono::Utc::now(), &crate::zone::Zone::utc())
                .map_err(|e| format!("do.set.due: {e}"))?;
            set.due = Some(v.trim().to_string());
        }
        if set == Set::default() {
            return Err("do.set names nothing to set".into());
        }
        then.push(Action::Set(set));
    }
    if let Some(c) = &d.comment {
        if c.trim().is_empty() {
            return Err("do.comment is empty".into());
        }
        then.push(Action::Comment(c.clone()));
    }
    if let Some(name) = &d.reply {
        canned_name(name, "do.reply")?;
        then.push(Action::Reply(name.trim().to_string()));
    }
    if let Some(n) = &d.notify {
        let mut to = Vec::new();
        for a in n.to.values() {
            to.push(Address::parse(a).map_err(|e| format!("do.notify.to: {e}"))?);
        }
        if to.is_empty() {
            return Err("do.notify.to names nobody".into());
        }
        let text = match (&n.canned, &n.template) {
            (Some(_), Some(_)) => {
                return Err("do.notify: give `canned` or `template`, not both".into())
            }
            (Some(c), None) => {
                canned_name(c, "do.notify.canned")?;
                NoticeText::Canned(c.trim().to_string())
            }
            (None, Some(t)) => NoticeText::Template(t.clone()),
            (None, None) => NoticeText::Standard,
        };
        then.push(Action::Notify { to, text });
    }
    if let Some(argv) = &d.exec {
        match argv.first() {
            Some(p) if std::path::Path::new(p).is_absolute() => {}
            _ => {
                return Err(
                    "do.exec: the first word must be a program's absolute path (no shell runs it)"
                        .into(),
                )
            }
        }
        then.push(Action::Exec(argv.clone()));
    }
    if let Some(w) = &d.webhook {
        let url = w.url.trim();
        // The error does not repeat the URL: its path may be a secret.
        crate::outbound::hook::check_url(url).map_err(|e| format!("do.webhook.url {e}"))?;
        if w.secret.is_empty() {
            return Err("do.webhook.secret is empty: the receiver checks the signature".into());
        }
        then.push(Action::Webhook {
            url: url.to_string(),
            secret: w.secret.clone(),
        });
    }
    Ok(then)
}

fn canned_name(name: &str, key: &str) -> Result<(), String> {
    if crate::canned::valid_name(name.trim()) {
        Ok(())
    } else {
        Err(format!("{key}: {name:?} is not a canned answer's name"))
    }
}

fn owner_of(o: &str, known: &Known<'_>) -> Result<Option<Address>, String> {
    if o.trim().eq_ignore_ascii_case("nobody") {
        return Ok(None);
    }
    let a = Address::parse(o).map_err(|e| e.to_string())?;
    if !(known.is_staff)(&a) {
        return Err(format!("{a} is not on staff"));
    }
    Ok(Some(a))
}

fn statuses(v: &OneOrMany, key: &str) -> Result<Vec<Status>, String> {
    v.values()
        .iter()
        .map(|s| Status::parse(s.trim()).ok_or_else(|| format!("{key}: unknown status {s:?}")))
        .collect()
}

fn regexes(v: &OneOrMany, key: &str) -> Result<Vec<Pattern>, String> {
    v.values()
        .iter()
        .map(|p| {
            Pattern::new(p).map_err(|e| format!("{key}: {p:?} is not a regular expression: {e}"))
        })
        .collect()
}

fn words<T: Copy>(
    v: &OneOrMany,
    all: &[T],
    name: fn(T) -> &'static str,
    key: &str,
) -> Result<Vec<T>, String> {
    v.values()
        .iter()
        .map(|w| {
            all.iter()
                .copied()
                .find(|x| name(*x) == w.trim())
                .ok_or_else(|| {
                    format!(
                        "{key}: unknown value {w:?} (known: {})",
                        all.iter().map(|x| name(*x)).collect::<Vec<_>>().join(", ")
                    )
                })
        })
        .collect()
}

/// `">= high"`, `"urgent"`, `"< normal"`.
fn priority_test(s: &str) -> Result<(Cmp, Priority), String> {
    let s = s.trim();
    let (cmp, rest) = [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
    ]
    .into_iter()
    .find_map(|(p, c)| s.strip_prefix(p).map(|r| (c, r)))
    .unwrap_or((Cmp::Eq, s));
    let p: Priority = rest
        .trim()
        .parse()
        .map_err(|e| format!("if.priority: {e}"))?;
    Ok((cmp, p))
}

/// What an event is about, for the conditions.
pub struct Happening<'a> {
    pub event: Event,
    pub ticket: &'a Ticket,
    /// The history entry that caused it; None for the clock's events.
    pub entry: Option<&'a NewEntry>,
    pub actor: Actor,
    pub via: Via,
    pub now: Time,
    /// The SLA clock of `sla-warning` and `sla-breach`.
    pub clock: Option<&'a str>,
}

/// What a condition on a message needs, read only when a rule asks.
pub trait MessageLook {
    /// The subject and text of the message the entry stored.
    fn text(&mut self) -> Option<(String, String)>;
    /// The values of header `name` (lower-case) of that message.
    fn header(&mut self, name: &str) -> Vec<String>;
    /// Is `at` inside the business hours of `calendar`?
    fn open(&mut self, calendar: &str, at: Time) -> bool;
}

/// Do all of `rule`'s conditions hold? With the first that does not, for
/// `rules test`/`explain`.
pub fn check(rule: &Rule, h: &Happening<'_>, look: &mut dyn MessageLook) -> Result<(), String> {
    for c in &rule.when {
        if !holds(c, h, look) {
            return Err(describe(c));
        }
    }
    Ok(())
}

fn holds(c: &Condition, h: &Happening<'_>, look: &mut dyn MessageLook) -> bool {
    let t = h.ticket;
    match c {
        Condition::Queue(qs) => qs.iter().any(|q| q.eq_ignore_ascii_case(&t.queue)),
        Condition::Status(ss) => ss.contains(&t.status),
        Condition::Owner(os) => os.iter().any(|o| match (o, &t.owner) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }),
        Condition::Priority(ps) => {
            let p = Priority::of(t.priority);
            ps.iter().any(|(cmp, q)| match cmp {
                Cmp::Eq => p == *q,
                Cmp::Ge => p >= *q,
                Cmp::Gt => p > *q,
                Cmp::Le => p <= *q,
                Cmp::Lt => p < *q,
            })
        }
        Condition::From(globs) => {
            let from = h.entry.map(|e| e.author.as_str()).unwrap_or("");
            globs.iter().any(|g| g.matches(from))
        }
        Condition::Subject(res) => {
            let subject = look
                .text()
                .map(|(s, _)| s)
                .unwrap_or_else(|| t.subject.clone());
            res.iter().any(|r| r.is_match(&subject))
        }
        Condition::Body(res) => match look.text() {
            Some((_, body)) => res.iter().any(|r| r.is_match(&body)),
            None => false,
        },
        Condition::Header(hs) => hs.iter().all(|(name, res)| {
            look.header(name)
                .iter()
                .any(|v| res.iter().any(|r| r.is_match(v)))
        }),
        Condition::Actor(a) => a.contains(&h.actor),
        // The clock's events came by no way at all.
        Condition::Via(v) => h.entry.is_some() && v.contains(&h.via),
        Condition::Hours { calendar, inside } => look.open(calendar, h.now) == *inside,
        Condition::Old(vs) => one_of(vs, h.entry.and_then(|e| e.old.as_deref())),
        Condition::New(vs) => one_of(vs, h.entry.and_then(|e| e.new.as_deref())),
        Condition::Clock(cs) => h.clock.is_some_and(|c| cs.iter().any(|x| x == c)),
    }
}

fn one_of(values: &[String], value: Option<&str>) -> bool {
    let v = value.unwrap_or("nobody");
    values.iter().any(|x| x.eq_ignore_ascii_case(v))
}

fn describe(c: &Condition) -> String {
    match c {
        Condition::Queue(_) => "if.queue",
        Condition::Status(_) => "if.status",
        Condition::Owner(_) => "if.owner",
        Condition::Priority(_) => "if.priority",
        Condition::From(_) => "if.from",
        Condition::Subject(_) => "if.subject",
        Condition::Body(_) => "if.body",
        Condition::Header(_) => "if.header",
        Condition::Actor(_) => "if.actor",
        Condition::Via(_) => "if.via",
        Condition::Hours { .. } => "if.hours",
        Condition::Old(_) => "if.old",
        Condition::New(_) => "if.new",
        Condition::Clock(_) => "if.clock",
    }
    .to_string()
}

/// Who `author` is, on `ticket`.
pub fn actor_of(author: &str, ticket: &Ticket, is_staff: impl Fn(&Address) -> bool) -> Actor {
    if !author.contains('@') {
        return Actor::System;
    }
    if author.eq_ignore_ascii_case(&ticket.requestor) {
        return Actor::Requestor;
    }
    if is_staff(&Address::new(author)) {
        Actor::Staff
    } else {
        Actor::Outsider
    }
}

/// The line each `[[rules]]` table starts on, in order.
pub fn rule_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[rules]]"))
        .map(|(i, _)| i + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known<'static> {
        Known {
            queues: vec!["general", "billing"],
            calendars: vec!["support"],
            is_staff: &|a: &Address| a.as_str().ends_with("@example.org"),
        }
    }

    fn rule(toml_text: &str) -> Result<Rule, String> {
        let raw: RawRule = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        compile(&[raw], &known())
            .map(|mut r| r.remove(0))
            .map_err(|(_, e)| e)
    }

    struct NoMessage;
    impl MessageLook for NoMessage {
        fn text(&mut self) -> Option<(String, String)> {
            Some(("Invoice overdue".into(), "Please pay".into()))
        }
        fn header(&mut self, name: &str) -> Vec<String> {
            if name == "x-customer" {
                vec!["gold".into()]
            } else {
                vec![]
            }
        }
        fn open(&mut self, _: &str, _: Time) -> bool {
            false
        }
    }

    fn happening<'a>(t: &'a Ticket, e: &'a NewEntry) -> Happening<'a> {
        Happening {
            event: Event::Create,
            ticket: t,
            entry: Some(e),
            actor: Actor::Requestor,
            via: Via::Mail,
            now: chrono::Utc::now(),
            clock: None,
        }
    }

    #[test]
    fn the_seed_s_examples_read() {
        let r = rule(
            r#"name = "sms-after-hours"
               on = ["create"]
               if.queue = ["general"]
               if.hours = { calendar = "support", inside = false }
               do.exec = ["/usr/local/bin/send-sms", "+491701234567"]"#,
        )
        .unwrap();
        assert_eq!(r.on, [Event::Create]);
        assert!(matches!(r.then[0], Action::Exec(_)));
        let r = rule(
            r#"name = "big-customer"
               on = "create"
               if.from = "*@bigcustomer.com"
               do.set = { priority = "urgent", owner = "erin@example.org" }
               stop = true"#,
        )
        .unwrap();
        assert!(r.stop);
        let t = Ticket::example(1);
        let e = NewEntry::new(HistoryKind::Create, "Boss@BigCustomer.com");
        assert!(check(&r, &happening(&t, &e), &mut NoMessage).is_ok());
        let e = NewEntry::new(HistoryKind::Create, "boss@bigcustomer.com.evil");
        assert_eq!(
            check(&r, &happening(&t, &e), &mut NoMessage).unwrap_err(),
            "if.from"
        );
    }

    #[test]
    fn a_wrong_rule_is_refused_with_what_is_wrong() {
        let bad = |s: &str| rule(&format!("name = \"r\"\n{s}")).unwrap_err();
        assert!(bad("on = \"opened\"\ndo.comment = \"x\"").contains("unknown event \"opened\""));
        assert!(
            bad("on = \"create\"\nif.queue = \"sales\"\ndo.comment = \"x\"")
                .contains("unknown queue")
        );
        assert!(bad(
            "on = \"create\"\nif.hours = { calendar = \"x\", inside = true }\ndo.comment = \"x\""
        )
        .contains("unknown calendar"));
        assert!(
            bad("on = \"create\"\ndo.set = { owner = \"eve@evil.example\" }")
                .contains("not on staff")
        );
        assert!(bad("on = \"create\"\ndo.exec = [\"send-sms\"]").contains("absolute path"));
        assert!(
            bad("on = \"create\"\nif.subject = \"(\"\ndo.comment = \"x\"")
                .contains("regular expression")
        );
        let url = bad("on = \"create\"\ndo.webhook = { url = \"ftp://h/T0KEN\", secret = \"s\" }");
        assert!(url.contains("do.webhook.url must start with http"), "{url}");
        assert!(
            !url.contains("T0KEN"),
            "the URL's path may be its secret: {url}"
        );
        assert!(bad("on = \"create\"").contains("missing field `do`"));
        assert!(bad("on = \"idle\"\ndo.comment = \"x\"").contains("idle"));
        assert!(
            bad("on = \"create\"\nif.colour = \"red\"\ndo.comment = \"x\"")
                .contains("unknown field")
        );
    }

    #[test]
    fn conditions_on_priority_headers_and_changes() {
        let r = rule(
            r#"name = "r"
               on = ["status"]
               if.priority = ">= high"
               if.new = "resolved"
               if.header = { X-Customer = "^gold$" }
               do.comment = "x""#,
        )
        .unwrap();
        let mut t = Ticket::example(1);
        t.priority = Priority::Urgent.number();
        let e = NewEntry::new(HistoryKind::Status, "ann@example.org")
            .change(Some("open"), Some("resolved"));
        assert!(check(&r, &happening(&t, &e), &mut NoMessage).is_ok());
        t.priority = Priority::Normal.number();
        assert_eq!(
            check(&r, &happening(&t, &e), &mut NoMessage).unwrap_err(),
            "if.priority"
        );
    }

    #[test]
    fn an_expression_is_checked_at_load_and_compiled_when_used() {
        let p = Pattern::new("invoice|refund").unwrap();
        assert!(p.compiled.get().is_none());
        assert!(p.is_match("About my REFUND"));
        assert!(!p.is_match("printer"));
        assert!(Pattern::new("(unclosed").is_err());
        // Only compiling finds an unknown class: `check` does.
        let unknown = Pattern::new(r"\p{NoSuchClass}").unwrap();
        assert!(unknown.check().is_err());
        assert!(!unknown.is_match("x"));
    }

    #[test]
    fn a_merge_fires_on_the_ticket_that_stays() {
        let e = NewEntry::new(HistoryKind::Merge, "a@example.org").change(Some("3"), Some("7"));
        assert_eq!(Event::of(&e, 7), Some(Event::Merge));
        assert_eq!(Event::of(&e, 3), None);
    }

    #[test]
    fn globs_are_whole_and_without_case() {
        let g = Glob::new("*@BigCustomer.com").unwrap();
        assert!(g.matches("x@bigcustomer.com"));
        assert!(!g.matches("x@bigcustomer.com.au"));
        assert!(Glob::new("a?c@x").unwrap().matches("abc@x"));
        assert!(!Glob::new("a.c@x").unwrap().matches("abc@x"));
        assert!(Glob::new("*").unwrap().matches(""));
        assert!(Glob::new("*@*.example.*")
            .unwrap()
            .matches("a@b.example.org"));
        assert!(!Glob::new("*@*.example.*").unwrap().matches("a@example.org"));
        assert!(Glob::new("**a*").unwrap().matches("bbbba"));
        // No blow-up on a pattern of many stars against a long address.
        let long = "a".repeat(5000) + "@x";
        assert!(!Glob::new("*a*a*a*a*a*a*a*b").unwrap().matches(&long));
    }
}
