//! The desk's rules at work (SPEC §8), inside the transaction of the
//! change that fired them: after an operation's own writes and before its
//! commit, `follow` looks at the history entries the transaction wrote
//! (`Tx::written`), and each rule listening for such an event whose
//! conditions hold makes its changes there and then, and queues its mail,
//! programs and webhooks in the outbox, sent after the commit.
//!
//! Loops cannot start: entries written by a rule (author `rule:NAME`), by
//! the clock, and by automatic mail fire nothing; a rule fires at most
//! `CAP_PER_HOUR` times an hour on one ticket; a rule's mail obeys §4.

use anyhow::Result;
use serde::Serialize;

use super::change::{change_owner, change_status, tell_owner};
use super::fields::{change_due, change_priority, change_queue};
use super::mailer::{in_spam, Mailer};
use super::{resolve, Desk, SendError};
use crate::address::deliverable;
use crate::config::Config;
use crate::model::*;
use crate::outbound::render::Cause;
use crate::outbound::Event as OutEvent;
use crate::outbound::Planned;
use crate::rules::{
    actor_of, check, Action, Actor, Event, Happening, MessageLook, NoticeText, Rule, Via,
    AUTHOR_PREFIX, CLOCK_AUTHOR,
};
use crate::store::Tx;

/// How often one rule may fire on one ticket within an hour (SPEC §8).
pub const CAP_PER_HOUR: u64 = 10;

/// The `new` of the history entry that says a rule was skipped for its cap.
const SKIPPED: &str = "skipped";

/// A rule that fired, for `rules test` and `rules explain` (shown by
/// `view::FiredView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub rule: String,
    pub event: String,
    pub ticket: i64,
    pub at: Time,
    /// What held, in words.
    pub why: String,
}

/// One event, about to be shown to the rules.
pub(super) struct Firing<'a> {
    pub event: Event,
    /// Only this rule (the `idle` event is each rule's own).
    pub only: Option<&'a str>,
    pub ticket: i64,
    pub entry: Option<&'a NewEntry>,
    pub via: Via,
    pub now: Time,
    pub clock: Option<&'a str>,
}

/// Runs the rules on what this transaction wrote so far; the rules that
/// fired are added to `fired`.
pub(super) fn follow(
    tx: &mut dyn Tx,
    config: &Config,
    mail: &mut Mailer<'_>,
    via: Via,
    now: Time,
    fired: &mut Vec<Fired>,
) -> Result<()> {
    // Entries the rules write are handed out on the next turn, and fire
    // nothing: the loop ends after two turns at most.
    loop {
        let written = tx.written();
        if written.is_empty() || (config.rules().is_empty() && !config.has_slas()) {
            return Ok(());
        }
        super::clocks::track(tx, config, &written, now)?;
        for (ticket, entry) in &written {
            if entry.auto || entry.author.starts_with(AUTHOR_PREFIX) || entry.author == CLOCK_AUTHOR
            {
                continue;
            }
            let Some(event) = Event::of(entry, *ticket) else {
                continue;
            };
            let firing = Firing {
                event,
                only: None,
                ticket: *ticket,
                entry: Some(entry),
                via,
                now,
                clock: None,
            };
            fire(tx, config, mail, &firing, fired)?;
        }
    }
}

/// Shows one event to every rule listening for it, in order, until one
/// that fires says `stop`.
pub(super) fn fire(
    tx: &mut dyn Tx,
    config: &Config,
    mail: &mut Mailer<'_>,
    f: &Firing<'_>,
    fired: &mut Vec<Fired>,
) -> Result<()> {
    let listening = |r: &&Rule| r.on.contains(&f.event) && f.only.is_none_or(|n| n == r.name);
    let mut read = None;
    // The ticket as the rules see it: read again only after one fired (it
    // may have changed it).
    let mut current: Option<Ticket> = None;
    for rule in config.rules().iter().filter(listening) {
        let mut ticket = match current.take() {
            Some(t) => t,
            None => match resolve(tx, f.ticket)? {
                Some(t) => t,
                None => return Ok(()),
            },
        };
        let actor = match f.entry {
            Some(e) => actor_of(&e.author, &ticket, |a| config.is_staff_address(a)),
            None => Actor::System,
        };
        let holds = {
            let happening = Happening {
                event: f.event,
                ticket: &ticket,
                entry: f.entry,
                actor,
                via: f.via,
                now: f.now,
                clock: f.clock,
            };
            let mut look = Look {
                tx: &mut *tx,
                config,
                message: f.entry.and_then(|e| e.message),
                read: &mut read,
            };
            check(rule, &happening, &mut look).is_ok()
        };
        if !holds {
            current = Some(ticket);
            continue;
        }
        let author = format!("{AUTHOR_PREFIX}{}", rule.name);
        let hour_ago = f.now - chrono::Duration::hours(1);
        let notes = |tx: &mut dyn Tx, new: Option<&str>| {
            tx.count_entries(ticket.id, HistoryKind::Note, &author, new, None, hour_ago)
        };
        let skipped = notes(tx, Some(SKIPPED))?;
        // The entries that say it fired (`new` the event), not its own
        // comments, which are notes by the same author.
        let mut lately = 0;
        for event in &rule.on {
            lately += notes(tx, Some(event.as_str()))?;
        }
        if lately >= CAP_PER_HOUR {
            // Said once an hour, not once per skip.
            if skipped == 0 {
                let note = format!(
                    "skipped on {}: fired {CAP_PER_HOUR} times within the hour on this ticket",
                    f.event.as_str()
                );
                tx.add_history(
                    ticket.id,
                    &NewEntry::new(HistoryKind::Note, &author)
                        .change(None, Some(SKIPPED))
                        .note(&note),
                    f.now,
                )?;
            }
            continue;
        }
        let why = why(rule, f, actor);
        tx.add_history(
            ticket.id,
            &NewEntry::new(HistoryKind::Note, &author)
                .change(None, Some(f.event.as_str()))
                .note(&why),
            f.now,
        )?;
        fired.push(Fired {
            rule: rule.name.clone(),
            event: f.event.as_str().to_string(),
            ticket: ticket.id,
            at: f.now,
            why,
        });
        act(tx, config, mail, rule, &mut ticket, f, &author)?;
        if rule.stop {
            break;
        }
    }
    Ok(())
}

/// What a rule's history entry says of why it fired.
fn why(rule: &Rule, f: &Firing<'_>, actor: Actor) -> String {
    let mut s = format!("fired on {}", f.event.as_str());
    if let Some(clock) = f.clock {
        s.push_str(&format!(" ({clock})"));
    }
    if f.entry.is_some() {
        s.push_str(&format!(" by {} via {}", actor.as_str(), f.via.as_str()));
    }
    if !rule.when.is_empty() {
        s.push_str(": every condition held");
    }
    s
}

/// Does what `rule` says, as `author`, on `t`.
fn act(
    tx: &mut dyn Tx,
    config: &Config,
    mail: &mut Mailer<'_>,
    rule: &Rule,
    t: &mut Ticket,
    f: &Firing<'_>,
    author: &str,
) -> Result<()> {
    let now = f.now;
    for action in &rule.then {
        match action {
            Action::Set(set) => {
                if let Some(owner) = &set.owner {
                    if change_owner(tx, t, owner.as_ref(), author, now)? {
                        tell_owner(tx, mail, t, author, now)?;
                    }
                }
                if let Some(queue) = &set.queue {
                    if !in_spam(t) {
                        change_queue(tx, t, queue, author, now)?;
                    }
                }
                if let Some(p) = set.priority {
                    change_priority(tx, t, p, author, now)?;
                }
                if let Some(due) = &set.due {
                    if let Ok(due) = crate::zone::parse_due(due, now, &config.site.timezone) {
                        change_due(tx, t, due, author, now)?;
                    }
                }
                if let Some(status) = set.status {
                    // Resolved by a rule, the requestor hears of it as
                    // from any other resolve (SPEC §4).
                    if change_status(tx, t, status, author, now)? && status == Status::Resolved {
                        let cause = Cause::by(author);
                        mail.queue(tx, OutEvent::Resolved, t, &cause, false, now)?;
                    }
                }
            }
            Action::Comment(text) => {
                tx.add_history(
                    t.id,
                    &NewEntry::new(HistoryKind::Note, author).note(text),
                    now,
                )?;
            }
            Action::Reply(name) => {
                if let Some(why_not) = reply_refusal(tx, config, t, f, now)? {
                    tx.add_history(
                        t.id,
                        &NewEntry::new(HistoryKind::Note, author)
                            .note(&format!("no reply to {}: {why_not}", t.requestor)),
                        now,
                    )?;
                    continue;
                }
                let text = match canned_text(config, t, name) {
                    Ok(text) => text,
                    Err(e) => {
                        let why = format!("no reply to {}: {e:#}", t.requestor);
                        unsent(tx, t, author, &why, now)?;
                        continue;
                    }
                };
                let planned = [Planned {
                    kind: MailKind::RuleReply,
                    to: vec![t.requestor.clone()],
                    cc: Vec::new(),
                }];
                let cause = Cause {
                    body: &text,
                    ..Cause::by(author)
                };
                mail.queue_planned(tx, &planned, t, &cause, false, now)?;
            }
            Action::Notify { to, text } => {
                let to: Vec<String> = to
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .filter(|a| deliverable(a, config))
                    .collect();
                if to.is_empty() {
                    continue;
                }
                let body = match text {
                    NoticeText::Canned(name) => canned_text(config, t, name),
                    NoticeText::Template(path) => template_text(path, t, rule, f),
                    NoticeText::Standard => Ok(standard_notice(config, t, rule, f)),
                };
                let body = match body {
                    Ok(body) => body,
                    Err(e) => {
                        let why = format!("no notice to {}: {e:#}", to.join(", "));
                        unsent(tx, t, author, &why, now)?;
                        continue;
                    }
                };
                let subject = format!("[{}] {}", rule.name, f.event.as_str());
                let planned = [Planned {
                    kind: MailKind::RuleNotice,
                    to,
                    cc: Vec::new(),
                }];
                let cause = Cause {
                    body: &body,
                    subject: &subject,
                    ..Cause::by(author)
                };
                mail.queue_planned(tx, &planned, t, &cause, false, now)?;
            }
            Action::Exec(_) | Action::Webhook { .. } => {
                if in_spam(t) {
                    continue;
                }
                let hook = hook(tx, rule, action, t, f)?;
                mail.queue_hook(tx, &hook, now)?;
            }
        }
    }
    Ok(())
}

/// Says in the ticket's history why a rule's mail was not sent: a text
/// that cannot be filled in (a template's unknown name, a canned answer
/// gone since the config loaded) is the admin's to mend, and never holds
/// up the change that fired the rule, nor the mail that made it.
fn unsent(tx: &mut dyn Tx, t: &Ticket, author: &str, why: &str, now: Time) -> Result<()> {
    tx.add_history(
        t.id,
        &NewEntry::new(HistoryKind::Note, author).note(why),
        now,
    )?;
    Ok(())
}

/// Why the requestor gets no reply from a rule (SPEC §8: as an autoreply,
/// never to robots, bounces, lists, automatic mail or the spam queue), or
/// None.
fn reply_refusal(
    tx: &mut dyn Tx,
    config: &Config,
    t: &Ticket,
    f: &Firing<'_>,
    now: Time,
) -> Result<Option<String>> {
    if in_spam(t) {
        return Ok(Some("the ticket is in the spam queue".into()));
    }
    if !deliverable(&t.requestor, config) {
        return Ok(Some("not an address mail is sent to".into()));
    }
    if let Some(id) = f.entry.and_then(|e| e.message) {
        if let Some(m) = message(tx, t.id, id)? {
            let facts = crate::inbound::parse(&m.raw);
            let bounce = crate::route::is_bounce(m.envelope_sender.as_deref(), &facts);
            if let Some(why) = crate::outbound::autoreply_refusal(&facts, bounce, config) {
                return Ok(Some(why.to_string()));
            }
        }
    }
    let since = now - chrono::Duration::hours(24);
    let sent = tx.mails_since(MailKind::RuleReply, &t.requestor, since)?
        + tx.autoreplies_since(&t.requestor, since)?;
    if sent >= config.autoreply.per_sender_per_day {
        return Ok(Some(format!(
            "{sent} automatic replies in a day already (autoreply.per_sender_per_day)"
        )));
    }
    Ok(None)
}

/// Compiles every expression of the rules, and fills in every text they
/// send (their canned answers and notice templates) for a sample ticket:
/// what `check` runs, so that a mistake is found before a rule fires (one that fires anyway is skipped, and says
/// so in the ticket's history). The first problem, naming the rule.
pub fn check_texts(config: &Config) -> Result<()> {
    let ticket = Ticket {
        subject: "Sample".into(),
        requestor: "someone@example.com".into(),
        ..Ticket::example(1)
    };
    for rule in config.rules() {
        for p in rule.patterns() {
            p.check()
                .map_err(|e| anyhow::anyhow!("rule {:?}: {e}", rule.name))?;
        }
        let firing = Firing {
            event: rule.on.first().copied().unwrap_or(Event::Create),
            only: None,
            ticket: ticket.id,
            entry: None,
            via: Via::Mail,
            now: ticket.created,
            clock: None,
        };
        for action in &rule.then {
            let filled = match action {
                Action::Reply(name)
                | Action::Notify {
                    text: NoticeText::Canned(name),
                    ..
                } => canned_text(config, &ticket, name)
                    .map(drop)
                    .map_err(|e| anyhow::anyhow!("rule {:?}: {e:#}", rule.name)),
                // Its errors name the rule.
                Action::Notify {
                    text: NoticeText::Template(path),
                    ..
                } => template_text(path, &ticket, rule, &firing).map(drop),
                _ => Ok(()),
            };
            filled?;
        }
    }
    Ok(())
}

fn canned_text(config: &Config, t: &Ticket, name: &str) -> Result<String> {
    let fill = crate::canned::Fill {
        requestor: crate::canned::Person {
            name: "",
            address: &t.requestor,
        },
        ticket: crate::canned::TicketFill {
            id: t.id,
            subject: &t.subject,
        },
        staff: crate::canned::StaffFill {
            name: config.from_name_for(&t.queue),
        },
    };
    crate::canned::render(&config.canned.dir, name, &fill)
}

/// What `template = FILE` is filled in with.
#[derive(Serialize)]
struct NoticeFill<'a> {
    rule: &'a str,
    event: &'a str,
    clock: Option<&'a str>,
    ticket: crate::view::TicketView<'a>,
}

fn template_text(
    path: &std::path::Path,
    t: &Ticket,
    rule: &Rule,
    f: &Firing<'_>,
) -> Result<String> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("rule {:?}: reading {}", rule.name, path.display()))?;
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let fill = NoticeFill {
        rule: &rule.name,
        event: f.event.as_str(),
        clock: f.clock,
        ticket: crate::view::TicketView::at(t, f.now),
    };
    env.render_str(&text, &fill)
        .with_context(|| format!("rule {:?}: rendering {}", rule.name, path.display()))
}

fn standard_notice(config: &Config, t: &Ticket, rule: &Rule, f: &Firing<'_>) -> String {
    let what = match f.clock {
        Some(clock) => format!("{} ({clock})", f.event.as_str()),
        None => f.event.as_str().to_string(),
    };
    format!(
        "The rule {:?} fired on {what} for ticket #{}: {}\n\n\
         Status: {}\nQueue: {}\nOwner: {}\nRequestor: {}\n\n{}/tickets/{}\n\n-- \n{}\n",
        rule.name,
        t.id,
        t.subject,
        t.status,
        t.queue,
        t.owner.as_deref().unwrap_or("nobody"),
        t.requestor,
        config.web.base_url.trim_end_matches('/'),
        t.id,
        config.from_name_for(&t.queue),
    )
}

/// The event as JSON (SPEC §8): what a program reads on stdin and a
/// webhook receives.
#[derive(Serialize)]
struct EventJson<'a> {
    event: &'a str,
    rule: &'a str,
    delivery: &'a str,
    #[serde(serialize_with = "serialize_time")]
    at: Time,
    ticket: crate::view::TicketView<'a>,
    entry: Option<crate::view::EntryView<'a>>,
    clock: Option<&'a str>,
}

/// The history entry that fired a rule as `show --json` shows it (SPEC §8:
/// "the history entry that caused it"), with its message's subject, body
/// and attachments: what a chat's webhook for a requestor's mail wants to
/// say. It was written at `now`, in this transaction.
fn entry_as_shown(tx: &mut dyn Tx, e: &NewEntry, now: Time) -> Result<HistoryEntry> {
    let message = match e.message {
        Some(id) => tx.stored_message(id, usize::MAX)?,
        None => None,
    };
    Ok(HistoryEntry {
        kind: e.kind,
        author: e.author.clone(),
        date: now,
        message,
        old: e.old.clone(),
        new: e.new.clone(),
        note: e.note.clone(),
        auto: e.auto,
        merged_from: None,
    })
}

/// A rule's program or webhook, as the outbox keeps it until it runs.
fn hook(
    tx: &mut dyn Tx,
    rule: &Rule,
    action: &Action,
    t: &Ticket,
    f: &Firing<'_>,
) -> Result<Outgoing> {
    let delivery = delivery_id();
    let mut ticket = t.clone();
    ticket.merged = tx.merged(t.id)?;
    let entry = match f.entry {
        Some(e) => Some(entry_as_shown(tx, e, f.now)?),
        None => None,
    };
    let json = EventJson {
        event: f.event.as_str(),
        rule: &rule.name,
        delivery: &delivery,
        at: f.now,
        ticket: crate::view::TicketView::at(&ticket, f.now),
        entry: entry.as_ref().map(crate::view::EntryView::of),
        clock: f.clock,
    };
    let what = match action {
        Action::Exec(_) => "exec",
        _ => "webhook",
    };
    Ok(Outgoing {
        ticket_id: t.id,
        kind: MailKind::Hook,
        message_id: format!("{delivery}@hook"),
        // Where a mail keeps its envelope sender, a hook keeps its
        // delivery id: read back when it runs.
        envelope_from: delivery.clone(),
        recipients: vec![rule.name.clone(), what.to_string()],
        raw: serde_json::to_vec(&json)?,
    })
}

/// A webhook's delivery id: random, kept with the hook in the outbox, so
/// the same on every retry (SPEC §8).
fn delivery_id() -> String {
    use rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Message `id` of ticket `ticket`, with its bytes.
fn message(tx: &mut dyn Tx, ticket: i64, id: i64) -> Result<Option<RawMessage>> {
    Ok(tx.raw_messages(ticket)?.into_iter().find(|m| m.id == id))
}

/// A rule's look at the message of the entry that fired it: its stored
/// subject and text and its header, read once and only if a condition
/// asks.
struct Look<'a> {
    tx: &'a mut dyn Tx,
    config: &'a Config,
    message: Option<i64>,
    /// Kept across the rules of one event.
    read: &'a mut Option<Option<StoredMessage>>,
}

impl Look<'_> {
    fn load(&mut self) -> Option<&StoredMessage> {
        if self.read.is_none() {
            let read = match self.message {
                Some(id) => self
                    .tx
                    .stored_message(id, crate::store::THREAD_HEAD)
                    .ok()
                    .flatten(),
                None => None,
            };
            *self.read = Some(read);
        }
        self.read.as_ref().and_then(Option::as_ref)
    }
}

impl MessageLook for Look<'_> {
    fn text(&mut self) -> Option<(String, String)> {
        self.load().map(|m| (m.subject.clone(), m.body.clone()))
    }

    fn header(&mut self, name: &str) -> Vec<String> {
        let Some(m) = self.load() else {
            return Vec::new();
        };
        match mailparse::parse_headers(&m.raw) {
            Ok((headers, _)) => headers
                .iter()
                .filter(|h| h.get_key_ref().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn open(&mut self, calendar: &str, at: Time) -> bool {
        self.config.is_open(calendar, at)
    }
}

/// What a run of the clock did (`pipedesk tick`).
#[derive(Debug, Clone, Default)]
pub struct Ticked {
    pub fired: Vec<Fired>,
    pub unsent: Vec<(i64, SendError)>,
}

impl Desk {
    /// The rules that fired on ticket `id` (or the one it was merged
    /// into), oldest first (`rules explain`).
    pub fn rules_fired(&mut self, id: i64) -> Result<Vec<Fired>> {
        let thread = self.thread(id, false)?;
        Ok(thread
            .history
            .iter()
            .filter(|e| e.kind == HistoryKind::Note && e.new.as_deref() != Some(SKIPPED))
            .filter_map(|e| {
                let rule = e.author.strip_prefix(AUTHOR_PREFIX)?;
                Some(Fired {
                    rule: rule.to_string(),
                    event: e.new.clone()?,
                    ticket: thread.ticket.id,
                    at: e.date,
                    why: e.note.clone().unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Fires the clock's events due at `now` (SPEC §8), each once, whoever
    /// notices first: what says an event fired is written in the same
    /// transaction as what it fires, under the ticket's lock (an SLA's
    /// clocks keep the alarms they fired; an idle spell, a history entry).
    /// With `dry_run`, each is rolled back and only reported.
    pub fn tick(&mut self, now: Time, dry_run: bool) -> Result<Ticked> {
        let mut ticked = Ticked::default();
        let idle_rules: Vec<(String, crate::calendar::Duration)> = self
            .config
            .rules()
            .iter()
            .filter_map(|r| r.idle.map(|d| (r.name.clone(), d)))
            .collect();
        let waiting = Filter {
            statuses: vec![Status::New, Status::Open, Status::Stalled],
            ..Filter::default()
        };
        let candidates = self.store.read(|tx| tx.list(&waiting, false))?;
        let zone = self.config.site.timezone.clone();
        for l in &candidates {
            let Some(state) = &l.ticket.sla else {
                continue;
            };
            let Some(sla) = self.config.sla(&state.name).cloned() else {
                continue;
            };
            if state.clone().tick(&sla, now).is_empty() {
                continue;
            }
            self.clocked(now, dry_run, l.ticket.id, &mut ticked, |tx, t| {
                let Some(mut state) = t.sla.clone() else {
                    return Ok(Vec::new());
                };
                let alarms = state.tick(&sla, now);
                if alarms.is_empty() {
                    return Ok(Vec::new());
                }
                t.sla = Some(state);
                tx.set_sla(t)?;
                let mut events = Vec::new();
                for a in alarms {
                    let (event, word) = match a.alarm {
                        crate::sla::Alarm::SlaWarning => (Event::SlaWarning, "is due"),
                        crate::sla::Alarm::SlaBreach => (Event::SlaBreach, "was due"),
                    };
                    let clock = a.clock.as_str();
                    let note = format!(
                        "{} {word} {}",
                        clock.replace('_', " "),
                        crate::term::human_date(a.due, &zone),
                    );
                    tx.add_history(
                        t.id,
                        &NewEntry::new(HistoryKind::Note, CLOCK_AUTHOR)
                            .change(Some(clock), Some(event.as_str()))
                            .note(&note),
                        now,
                    )?;
                    events.push((event, None, Some(clock.to_string())));
                }
                Ok(events)
            })?;
        }
        for (name, idle) in &idle_rules {
            let quiet = |t: &Ticket| crate::calendar::Clock::Always.add(t.updated, *idle) <= now;
            for l in candidates.iter().filter(|l| quiet(&l.ticket)) {
                self.clocked(now, dry_run, l.ticket.id, &mut ticked, |tx, t| {
                    if !quiet(t) || t.status == Status::Resolved {
                        return Ok(Vec::new());
                    }
                    // Once per quiet spell: the spell is named by when it
                    // began, and the entry below ends it.
                    let key = format!("idle {name}");
                    let mark = stamp(t.updated);
                    let seen = tx.count_entries(
                        t.id,
                        HistoryKind::Note,
                        CLOCK_AUTHOR,
                        Some(&key),
                        Some(&mark),
                        t.updated,
                    )?;
                    if seen > 0 {
                        return Ok(Vec::new());
                    }
                    tx.add_history(
                        t.id,
                        &NewEntry::new(HistoryKind::Note, CLOCK_AUTHOR)
                            .change(Some(&mark), Some(&key))
                            .note(&format!("nothing happened since {mark}")),
                        now,
                    )?;
                    Ok(vec![(Event::Idle, Some(name.clone()), None)])
                })?;
            }
        }
        Ok(ticked)
    }

    /// Clock events on ticket `id`, in one transaction: `claim` writes
    /// what says they fired and returns them (event, only this rule, the
    /// SLA clock), and the rules listening fire; what they queued is sent
    /// after the commit.
    fn clocked(
        &mut self,
        now: Time,
        dry_run: bool,
        id: i64,
        ticked: &mut Ticked,
        mut claim: impl FnMut(&mut dyn Tx, &mut Ticket) -> Result<Vec<ClockEvent>>,
    ) -> Result<()> {
        let (lease, store, config, texts) = self.for_a_change(now);
        let mut run = |tx: &mut dyn Tx| -> Result<(Vec<Fired>, Vec<i64>)> {
            let mut fired = Vec::new();
            let Some(mut t) = resolve(tx, id)? else {
                return Ok((fired, Vec::new()));
            };
            let events = claim(tx, &mut t)?;
            let mut mail = Mailer::new(config, texts, &lease, false);
            for (event, only, clock) in &events {
                let firing = Firing {
                    event: *event,
                    only: only.as_deref(),
                    ticket: t.id,
                    entry: None,
                    via: Via::Mail,
                    now,
                    clock: clock.as_deref(),
                };
                fire(tx, config, &mut mail, &firing, &mut fired)?;
            }
            // What the rules changed moves the clocks; it fires nothing.
            let written = tx.written();
            super::clocks::track(tx, config, &written, now)?;
            Ok((fired, mail.queued))
        };
        let (fired, outbox) = if dry_run {
            store.rehearse(&mut run)?
        } else {
            store.write(&mut run)?
        };
        ticked.fired.extend(fired);
        if !dry_run {
            ticked.unsent.extend(self.send(&outbox, &lease, now));
        }
        Ok(())
    }
}

/// A clock event to fire: the event, only this rule (`idle`), the SLA
/// clock.
type ClockEvent = (Event, Option<String>, Option<String>);

/// Runs a rule's program or webhook from the outbox (SPEC §8): the rule is
/// looked up by name in the config as it is now, and its action run with
/// the event the outbox kept. An error leaves it queued for `flush`.
pub(super) fn run_hook(config: &Config, q: &QueuedMail) -> std::result::Result<(), String> {
    use crate::outbound::hook;
    let (Some(name), Some(what)) = (q.recipients.first(), q.recipients.get(1)) else {
        return Err("a hook that names no rule".into());
    };
    let Some(rule) = config.rules().iter().find(|r| &r.name == name) else {
        return Err(format!("the rule {name:?} is no longer in the config"));
    };
    let action = rule.then.iter().find(|a| match a {
        Action::Exec(_) => what == "exec",
        Action::Webhook { .. } => what == "webhook",
        _ => false,
    });
    let result = match action {
        Some(Action::Exec(argv)) => hook::run_exec(argv, &q.raw, hook::limit()),
        Some(Action::Webhook { url, secret }) => {
            hook::post_webhook(url, secret, &q.envelope_from, &q.raw, hook::limit())
        }
        _ => return Err(format!("the rule {name:?} has no {what} any more")),
    };
    result.map_err(|e| e.to_string())
}
