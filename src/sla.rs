//! The clocks of a ticket (SPEC §8): `[sla.NAME]` compiled against the
//! calendars, and the state of one ticket's clocks as a pure state
//! machine. The desk calls a transition for each history event (the
//! ticket opens, staff correspond, the requestor writes, the status
//! changes) and `tick` for the clock's own events; it stores the state
//! (serde) with the ticket, so that a transition and its effects are one
//! transaction and each clock event fires once.
//!
//! The three clocks: `first_response` runs from the ticket's opening
//! until staff first correspond; `next_response` from each message of the
//! requestor's after that until staff correspond again; `resolve` until
//! the ticket is resolved. A deadline met late, or passed while running,
//! is `breached` for good. While the ticket is in a `pause_on` status the
//! clocks stand still: on leaving it every running deadline moves later
//! by the business time the pause covered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, Clock, Duration};
use crate::model::{Status, Time};

/// `[sla.NAME]` as written; [`compile`] checks it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSla {
    /// A `[calendars.NAME]`: the clocks count its business time. None:
    /// plain time.
    #[serde(default)]
    pub calendar: Option<String>,
    #[serde(default)]
    pub first_response: Option<Duration>,
    #[serde(default)]
    pub next_response: Option<Duration>,
    #[serde(default)]
    pub resolve: Option<Duration>,
    /// A `sla-warning` fires this long (in the same time) before each
    /// deadline.
    #[serde(default)]
    pub warn_before: Option<Duration>,
    /// Statuses in which the clocks stand still (`["stalled"]`).
    #[serde(default)]
    pub pause_on: Vec<String>,
}

/// A checked SLA.
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    pub name: String,
    pub clock: Clock,
    pub first_response: Option<Duration>,
    pub next_response: Option<Duration>,
    pub resolve: Option<Duration>,
    pub warn_before: Option<Duration>,
    pub pause_on: Vec<Status>,
}

/// Checks `[sla.NAME]`: its calendar must be one of `calendars`, it must
/// have a clock, and it may pause only in `open` or `stalled` (a ticket
/// is never paused while `new`, and `resolved` stops the clocks anyway).
/// The error names the key and what is wrong (`calendar "x" does not
/// exist …`); the caller adds the SLA's name and the line.
pub fn compile(
    name: &str,
    raw: &RawSla,
    calendars: &BTreeMap<String, Calendar>,
) -> Result<Sla, String> {
    check(name, raw, calendars).map_err(|(key, msg)| match key {
        "" => msg,
        key => format!("{key}: {msg}"),
    })
}

/// Every `[sla.NAME]`, compiled against the compiled calendars. The error
/// is `Config::validate`'s: the dotted key (`sla.standard.calendar`) and
/// the problem.
pub fn compile_all(
    raw: &BTreeMap<String, RawSla>,
    calendars: &BTreeMap<String, Calendar>,
) -> Result<BTreeMap<String, Sla>, (String, String)> {
    raw.iter()
        .map(|(name, r)| {
            check(name, r, calendars)
                .map(|sla| (name.clone(), sla))
                .map_err(|(key, msg)| match key {
                    "" => (format!("sla.{name}"), msg),
                    key => (format!("sla.{name}.{key}"), msg),
                })
        })
        .collect()
}

/// The error: the key within the table ("" for the table itself) and
/// the problem.
fn check(
    name: &str,
    raw: &RawSla,
    calendars: &BTreeMap<String, Calendar>,
) -> Result<Sla, (&'static str, String)> {
    let clock = match &raw.calendar {
        None => Clock::Always,
        Some(c) => Clock::business(calendars.get(c).cloned().ok_or_else(|| {
            let known: Vec<&str> = calendars.keys().map(String::as_str).collect();
            let msg = if known.is_empty() {
                format!("calendar {c:?} does not exist: there is no [calendars.{c}]")
            } else {
                format!(
                    "calendar {c:?} does not exist (the calendars are: {})",
                    known.join(", ")
                )
            };
            ("calendar", msg)
        })?),
    };
    if raw.first_response.is_none() && raw.next_response.is_none() && raw.resolve.is_none() {
        return Err((
            "",
            "no clock: give at least one of first_response, next_response, resolve (e.g. first_response = \"4h\")"
                .into(),
        ));
    }
    let mut pause_on = Vec::new();
    for s in &raw.pause_on {
        match Status::parse(s) {
            Some(st @ (Status::Open | Status::Stalled)) => {
                if !pause_on.contains(&st) {
                    pause_on.push(st)
                }
            }
            Some(st) => {
                return Err((
                    "pause_on",
                    format!(
                        "the clocks cannot pause while {} (open or stalled)",
                        st.as_str()
                    ),
                ))
            }
            None => {
                return Err((
                    "pause_on",
                    format!("{s:?} is not a status (open or stalled)"),
                ))
            }
        }
    }
    Ok(Sla {
        name: name.to_string(),
        clock,
        first_response: raw.first_response,
        next_response: raw.next_response,
        resolve: raw.resolve,
        warn_before: raw.warn_before,
        pause_on,
    })
}

/// One of a ticket's clocks; its name in JSON and the config
/// (`if.clock`) is `first_response`, `next_response` or `resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockName {
    FirstResponse,
    NextResponse,
    Resolve,
}

impl ClockName {
    pub const ALL: [ClockName; 3] = [
        ClockName::FirstResponse,
        ClockName::NextResponse,
        ClockName::Resolve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockName::FirstResponse => "first_response",
            ClockName::NextResponse => "next_response",
            ClockName::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<ClockName> {
        ClockName::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }
}

/// What the clock itself fires (SPEC §8's `sla-warning`, `sla-breach`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alarm {
    SlaWarning,
    SlaBreach,
}

impl Alarm {
    /// The event's name in `on = [...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Alarm::SlaWarning => "sla-warning",
            Alarm::SlaBreach => "sla-breach",
        }
    }
}

/// One event `tick` fires: which, for which clock, and the deadline it is
/// about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fired {
    pub alarm: Alarm,
    pub clock: ClockName,
    pub due: Time,
}

/// One ticket's clocks. Stored with the ticket (JSON: times as
/// `2026-11-17T15:00:00Z`); a deadline is `Some` while its clock runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaState {
    /// The SLA these clocks follow.
    pub name: String,
    #[serde(with = "opt_stamp")]
    pub first_response_due: Option<Time>,
    #[serde(with = "opt_stamp")]
    pub next_response_due: Option<Time>,
    #[serde(with = "opt_stamp")]
    pub resolve_due: Option<Time>,
    /// When staff first corresponded.
    #[serde(with = "opt_stamp")]
    pub responded: Option<Time>,
    /// Since when the clocks stand still (a `pause_on` status).
    #[serde(with = "opt_stamp")]
    pub paused_since: Option<Time>,
    /// The clocks whose deadline passed unmet, ever (SPEC §8's
    /// `breached`), in `ClockName` order.
    pub breached: Vec<ClockName>,
    /// The alarms `tick` has fired for the deadlines now running; a clock
    /// that stops or starts again forgets its own.
    #[serde(default)]
    pub fired: Vec<(ClockName, Alarm)>,
}

/// `Option<Time>` as a stamp or null.
mod opt_stamp {
    use crate::model::{parse_stamp, stamp, Time};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&stamp(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_stamp(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("not a time: {s:?}"))),
        }
    }
}

impl Sla {
    /// The clocks of a ticket that opens at `now` in `status`: the
    /// first-response and resolve clocks start (standing still if the
    /// status is a `pause_on` one).
    pub fn start(&self, status: Status, now: Time) -> SlaState {
        let now = crate::model::to_second(now);
        SlaState {
            name: self.name.clone(),
            first_response_due: self.first_response.map(|d| self.clock.add(now, d)),
            next_response_due: None,
            resolve_due: self.resolve.map(|d| self.clock.add(now, d)),
            responded: None,
            paused_since: self.pause_on.contains(&status).then_some(now),
            breached: Vec::new(),
            fired: Vec::new(),
        }
    }

    /// `warn_before` ahead of `due`, in the SLA's time.
    pub fn warn_before(&self, due: Time) -> Option<Time> {
        self.warn_before.map(|w| self.clock.sub(due, w))
    }
}

impl SlaState {
    fn due_mut(&mut self, c: ClockName) -> &mut Option<Time> {
        match c {
            ClockName::FirstResponse => &mut self.first_response_due,
            ClockName::NextResponse => &mut self.next_response_due,
            ClockName::Resolve => &mut self.resolve_due,
        }
    }

    /// The deadline of clock `c`, if it runs (as stored: while paused, it
    /// moves later on resuming).
    pub fn due(&self, c: ClockName) -> Option<Time> {
        match c {
            ClockName::FirstResponse => self.first_response_due,
            ClockName::NextResponse => self.next_response_due,
            ClockName::Resolve => self.resolve_due,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused_since.is_some()
    }

    /// The running deadlines, earliest first.
    pub fn deadlines(&self) -> Vec<(ClockName, Time)> {
        let mut all: Vec<(ClockName, Time)> = ClockName::ALL
            .into_iter()
            .filter_map(|c| self.due(c).map(|t| (c, t)))
            .collect();
        all.sort_by_key(|&(c, t)| (t, c));
        all
    }

    /// The nearest running deadline (for the board, the thread, `list
    /// --sort due`); while paused too, as stored.
    pub fn next_deadline(&self) -> Option<(ClockName, Time)> {
        self.deadlines().into_iter().next()
    }

    /// The deadline of `c` as it stands at `now`: while paused, moved
    /// later by the business time paused so far.
    pub fn due_at(&self, sla: &Sla, c: ClockName, now: Time) -> Option<Time> {
        let due = self.due(c)?;
        Some(match self.paused_since {
            Some(p) => sla
                .clock
                .add_business(due, sla.clock.business_between(p, now)),
            None => due,
        })
    }

    /// The clocks breached at `now`: those stored, and running ones whose
    /// deadline has passed (before `tick` has noticed), in `ClockName`
    /// order.
    pub fn breached_at(&self, sla: &Sla, now: Time) -> Vec<ClockName> {
        ClockName::ALL
            .into_iter()
            .filter(|&c| {
                self.breached.contains(&c) || self.due_at(sla, c, now).is_some_and(|due| now > due)
            })
            .collect()
    }

    /// When the warning for clock `c` is due: `warn_before` ahead of its
    /// deadline, counted in the same time. None if it is not running or
    /// the SLA warns of nothing.
    pub fn warn_at(&self, sla: &Sla, c: ClockName) -> Option<Time> {
        sla.warn_before(self.due(c)?)
    }

    fn breach(&mut self, c: ClockName) {
        if !self.breached.contains(&c) {
            self.breached.push(c);
            self.breached.sort_unstable();
        }
    }

    /// Stops clock `c` at `now`: breached if its deadline passed.
    fn stop(&mut self, sla: &Sla, c: ClockName, now: Time) {
        if self.due_at(sla, c, now).is_some_and(|due| now > due) {
            self.breach(c);
        }
        *self.due_mut(c) = None;
        self.fired.retain(|&(f, _)| f != c);
    }

    /// Starts clock `c` at `now` for `d`. While paused it starts from the
    /// pause's beginning, so that resuming moves it to `d` after the
    /// resumption.
    fn begin(&mut self, sla: &Sla, c: ClockName, d: Duration, now: Time) {
        let from = self.paused_since.unwrap_or(now);
        *self.due_mut(c) = Some(sla.clock.add(from, d));
        self.fired.retain(|&(f, _)| f != c);
    }

    /// Staff corresponded (a reply the requestor sees; not a comment):
    /// the first-response clock is met, and the next-response one.
    pub fn on_staff_correspond(&mut self, sla: &Sla, now: Time) {
        let now = crate::model::to_second(now);
        self.responded.get_or_insert(now);
        self.stop(sla, ClockName::FirstResponse, now);
        self.stop(sla, ClockName::NextResponse, now);
    }

    /// The requestor wrote: after staff first corresponded, the
    /// next-response clock starts, unless it already runs (its deadline
    /// stands from the first unanswered message).
    pub fn on_requestor_message(&mut self, sla: &Sla, now: Time) {
        let now = crate::model::to_second(now);
        if let Some(d) = sla.next_response {
            if self.responded.is_some() && self.next_response_due.is_none() {
                self.begin(sla, ClockName::NextResponse, d, now);
            }
        }
    }

    /// The status changed from `old` to `new`. Resolved: every clock
    /// stops (a passed deadline is breached; an unanswered
    /// first-response clock stops too). Reopened (from resolved): the
    /// resolve clock starts again from `now`, for the whole of `resolve`;
    /// next-response starts with the requestor's message, as ever. Into a
    /// `pause_on` status: the clocks stand still; out of it: every running
    /// deadline moves later by the business time the pause covered.
    pub fn on_status(&mut self, sla: &Sla, old: Status, new: Status, now: Time) {
        let now = crate::model::to_second(now);
        if new == Status::Resolved {
            if old != Status::Resolved {
                for c in ClockName::ALL {
                    self.stop(sla, c, now);
                }
                self.paused_since = None;
            }
            return;
        }
        if old == Status::Resolved {
            self.paused_since = None;
            if let Some(d) = sla.resolve {
                self.begin(sla, ClockName::Resolve, d, now);
            }
        }
        let pause = sla.pause_on.contains(&new);
        match (self.paused_since, pause) {
            (None, true) => self.paused_since = Some(now),
            (Some(p), false) => {
                let covered = sla.clock.business_between(p, now);
                for c in ClockName::ALL {
                    if let Some(due) = self.due(c) {
                        *self.due_mut(c) = Some(sla.clock.add_business(due, covered));
                    }
                }
                self.paused_since = None;
            }
            _ => {}
        }
    }

    /// The clock's own events at `now`, each once: a warning once a
    /// running deadline is `warn_before` away (none if it has passed
    /// already), a breach once it has passed (and the clock is
    /// `breached`). Nothing while paused. The desk stores the state in
    /// the same transaction as the events' effects.
    pub fn tick(&mut self, sla: &Sla, now: Time) -> Vec<Fired> {
        let mut out = Vec::new();
        if self.is_paused() {
            return out;
        }
        for (c, due) in self.deadlines() {
            let passed = now > due;
            let warn = sla.warn_before(due);
            let unfired = |s: &SlaState, a| !s.fired.contains(&(c, a));
            if let Some(w) = warn {
                if now >= w && unfired(self, Alarm::SlaWarning) {
                    self.fired.push((c, Alarm::SlaWarning));
                    if !passed {
                        out.push(Fired {
                            alarm: Alarm::SlaWarning,
                            clock: c,
                            due,
                        });
                    }
                }
            }
            if passed && unfired(self, Alarm::SlaBreach) {
                self.fired.push((c, Alarm::SlaBreach));
                self.breach(c);
                out.push(Fired {
                    alarm: Alarm::SlaBreach,
                    clock: c,
                    due,
                });
            }
        }
        out
    }

    /// The first instant at which `tick` would fire something (a store
    /// keeps it so that `tick` finds the tickets due without reading
    /// them all); None while paused or with nothing left to fire.
    pub fn next_alarm(&self, sla: &Sla) -> Option<Time> {
        if self.is_paused() {
            return None;
        }
        self.deadlines()
            .into_iter()
            .flat_map(|(c, due)| {
                let warn = sla
                    .warn_before(due)
                    .filter(|_| !self.fired.contains(&(c, Alarm::SlaWarning)));
                // A breach is "passed": the second after the deadline.
                let breach = (!self.fired.contains(&(c, Alarm::SlaBreach)))
                    .then(|| due + chrono::Duration::seconds(1));
                [warn.map(|w| w.min(due)), breach]
            })
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::RawCalendar;
    use crate::model::{parse_stamp, stamp};
    use crate::zone::Zone;
    use ClockName::*;

    fn at(s: &str) -> Time {
        parse_stamp(s).unwrap()
    }

    /// Times in Berlin in winter.
    fn cet(s: &str) -> Time {
        at(&format!("{s}+01:00"))
    }

    fn calendars() -> Option<BTreeMap<String, Calendar>> {
        let Ok(berlin) = Zone::named("Europe/Berlin") else {
            eprintln!("SKIP: no zoneinfo for Europe/Berlin on this system");
            return None;
        };
        let raw: RawCalendar = toml::from_str(
            r#"hours = { mon-fri = "10:00-17:00", sat = "10:00-13:00" }
               holidays = ["12-25", "2027-04-05"]"#,
        )
        .unwrap();
        let c = crate::calendar::compile(&raw, &berlin).unwrap();
        Some(BTreeMap::from([("support".to_string(), c)]))
    }

    fn raw(text: &str) -> Result<RawSla, String> {
        toml::from_str(text).map_err(|e| e.message().to_string())
    }

    /// SPEC §8's example.
    fn standard() -> Option<Sla> {
        let r = raw(r#"calendar = "support"
                       first_response = "4h"
                       next_response = "8h"
                       resolve = "3d"
                       warn_before = "30m"
                       pause_on = ["stalled"]"#)
        .unwrap();
        Some(compile("standard", &r, &calendars()?).unwrap())
    }

    fn plain() -> Sla {
        let r = raw(r#"first_response = "1h"
                       next_response = "2h"
                       resolve = "1d"
                       warn_before = "10m""#)
        .unwrap();
        compile("plain", &r, &BTreeMap::new()).unwrap()
    }

    fn due(t: Option<Time>) -> Option<String> {
        t.map(stamp)
    }

    fn s(t: Time) -> Option<String> {
        Some(stamp(t))
    }

    #[test]
    fn an_sla_is_checked_against_the_calendars() {
        let Some(cals) = calendars() else { return };
        let sla = standard().unwrap();
        assert_eq!(sla.pause_on, vec![Status::Stalled]);
        assert!(matches!(sla.clock, Clock::Business(_)));
        assert_eq!(plain().clock, Clock::Always);
        for (text, says) in [
            (
                r#"calendar = "suport"
                resolve = "3d""#,
                "calendar \"suport\" does not exist (the calendars are: support)",
            ),
            (r#"calendar = "support""#, "no clock"),
            (r#"warn_before = "30m""#, "no clock"),
            (
                r#"resolve = "3d"
                pause_on = ["resolved"]"#,
                "cannot pause while resolved",
            ),
            (
                r#"resolve = "3d"
                pause_on = ["waiting"]"#,
                "\"waiting\" is not a status",
            ),
        ] {
            let e = compile("x", &raw(text).unwrap(), &cals).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let all = BTreeMap::from([
            (
                "standard".to_string(),
                raw(r#"calendar = "support"
                                            resolve = "3d""#)
                .unwrap(),
            ),
            (
                "broken".to_string(),
                raw(r#"calendar = "none"
                                          resolve = "3d""#)
                .unwrap(),
            ),
        ]);
        let (key, msg) = compile_all(&all, &cals).unwrap_err();
        assert_eq!(key, "sla.broken.calendar");
        assert!(msg.starts_with("calendar \"none\" does not exist"), "{msg}");
        let all = BTreeMap::from([("empty".to_string(), raw("").unwrap())]);
        assert_eq!(compile_all(&all, &cals).unwrap_err().0, "sla.empty");
        let all = BTreeMap::from([(
            "ok".to_string(),
            raw(r#"calendar = "support"
                                                          first_response = "1h""#)
            .unwrap(),
        )]);
        assert_eq!(compile_all(&all, &cals).unwrap()["ok"].name, "ok");
        let e = compile(
            "x",
            &raw("calendar = \"a\"\nresolve = \"1d\"").unwrap(),
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(e.contains("there is no [calendars.a]"), "{e}");
        for (text, says) in [
            (r#"resolve = "3 days""#, "\"3 days\" is not a duration"),
            (
                r#"resolve = "3d"
                escalate = "1d""#,
                "unknown field `escalate`",
            ),
        ] {
            let e = raw(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn the_clocks_start_with_the_ticket_in_business_time() {
        let Some(sla) = standard() else { return };
        // Friday 2026-12-04 16:00: 4h is Saturday 13:00; 3d is Tuesday
        // 16:00 (Saturday, Monday, Tuesday are the business days after).
        let st = sla.start(Status::New, cet("2026-12-04T16:00:00"));
        assert_eq!(due(st.first_response_due), s(cet("2026-12-05T13:00:00")));
        assert_eq!(due(st.resolve_due), s(cet("2026-12-08T16:00:00")));
        assert_eq!(st.next_response_due, None);
        assert_eq!(
            st.next_deadline(),
            Some((FirstResponse, cet("2026-12-05T13:00:00")))
        );
        // The warning: 30 business minutes before.
        assert_eq!(
            due(st.warn_at(&sla, FirstResponse)),
            s(cet("2026-12-05T12:30:00"))
        );
        assert_eq!(st.warn_at(&sla, NextResponse), None);
        assert!(st.breached_at(&sla, cet("2026-12-05T13:00:00")).is_empty());
        assert_eq!(
            st.breached_at(&sla, cet("2026-12-05T13:00:01")),
            vec![FirstResponse]
        );
    }

    #[test]
    fn first_response_met_in_time_or_late() {
        let sla = plain();
        let open = at("2026-12-04T10:00:00Z");
        let mut st = sla.start(Status::New, open);
        st.on_staff_correspond(&sla, at("2026-12-04T11:00:00Z"));
        assert_eq!(st.first_response_due, None);
        assert!(st.breached.is_empty(), "at the deadline is in time");
        assert_eq!(st.responded, Some(at("2026-12-04T11:00:00Z")));
        let mut late = sla.start(Status::New, open);
        late.on_staff_correspond(&sla, at("2026-12-04T11:00:01Z"));
        assert_eq!(late.breached, vec![FirstResponse]);
        assert_eq!(late.first_response_due, None);
        // A second reply changes nothing.
        late.on_staff_correspond(&sla, at("2026-12-04T12:00:00Z"));
        assert_eq!(late.breached, vec![FirstResponse]);
        assert_eq!(late.responded, Some(at("2026-12-04T11:00:01Z")));
    }

    #[test]
    fn next_response_runs_from_the_requestor_s_message_after_staff_answered() {
        let sla = plain();
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        // Before staff answered, the requestor's follow-up starts nothing.
        st.on_requestor_message(&sla, at("2026-12-04T10:10:00Z"));
        assert_eq!(st.next_response_due, None);
        st.on_staff_correspond(&sla, at("2026-12-04T10:30:00Z"));
        st.on_requestor_message(&sla, at("2026-12-04T12:00:00Z"));
        assert_eq!(due(st.next_response_due), s(at("2026-12-04T14:00:00Z")));
        // A second message does not push the deadline out.
        st.on_requestor_message(&sla, at("2026-12-04T13:00:00Z"));
        assert_eq!(due(st.next_response_due), s(at("2026-12-04T14:00:00Z")));
        st.on_staff_correspond(&sla, at("2026-12-04T13:30:00Z"));
        assert_eq!(st.next_response_due, None);
        assert!(st.breached.is_empty());
        // And again, answered late this time.
        st.on_requestor_message(&sla, at("2026-12-04T15:00:00Z"));
        st.on_staff_correspond(&sla, at("2026-12-04T17:30:00Z"));
        assert_eq!(st.breached, vec![NextResponse]);
        // Without a next_response clock, nothing starts.
        let only = compile("o", &raw(r#"resolve = "1d""#).unwrap(), &BTreeMap::new()).unwrap();
        let mut st = only.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_staff_correspond(&only, at("2026-12-04T10:30:00Z"));
        st.on_requestor_message(&only, at("2026-12-04T11:00:00Z"));
        assert_eq!(st.next_response_due, None);
    }

    #[test]
    fn resolving_stops_every_clock_and_reopening_restarts_resolve() {
        let sla = plain();
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_status(
            &sla,
            Status::New,
            Status::Resolved,
            at("2026-12-04T10:30:00Z"),
        );
        assert_eq!(st.deadlines(), vec![]);
        assert!(
            st.breached.is_empty(),
            "resolved in time, first response never due"
        );
        st.on_status(
            &sla,
            Status::Resolved,
            Status::Open,
            at("2026-12-07T09:00:00Z"),
        );
        assert_eq!(due(st.resolve_due), s(at("2026-12-08T09:00:00Z")));
        assert_eq!(
            st.first_response_due, None,
            "the first-response clock stays stopped"
        );
        st.on_status(
            &sla,
            Status::Open,
            Status::Resolved,
            at("2026-12-08T09:00:01Z"),
        );
        assert_eq!(st.breached, vec![Resolve]);
        assert_eq!(st.resolve_due, None);
        // Resolved late with the first response still owed: both breached.
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_status(
            &sla,
            Status::New,
            Status::Resolved,
            at("2026-12-06T10:00:00Z"),
        );
        assert_eq!(st.breached, vec![FirstResponse, Resolve]);
    }

    #[test]
    fn a_pause_over_a_weekend_moves_the_deadlines_by_the_business_time_it_covered() {
        let Some(sla) = standard() else { return };
        // Opened Thursday 2026-12-03 11:00; answered at 12:00, the
        // requestor writes at 16:00: next response due Friday 17:00
        // (1h Thursday + 7h Friday).
        let mut st = sla.start(Status::New, cet("2026-12-03T11:00:00"));
        st.on_status(&sla, Status::New, Status::Open, cet("2026-12-03T12:00:00"));
        st.on_staff_correspond(&sla, cet("2026-12-03T12:00:00"));
        st.on_requestor_message(&sla, cet("2026-12-03T16:00:00"));
        assert_eq!(due(st.next_response_due), s(cet("2026-12-04T17:00:00")));
        // 3d: Friday, Saturday (11:00 is within its hours), Monday.
        assert_eq!(due(st.resolve_due), s(cet("2026-12-07T11:00:00")));
        // Stalled Friday 16:00 until Monday 11:00: Friday 1h, Saturday
        // 3h, Monday 1h = 5h of business time paused.
        st.on_status(
            &sla,
            Status::Open,
            Status::Stalled,
            cet("2026-12-04T16:00:00"),
        );
        assert!(st.is_paused());
        // While paused nothing is breached, though the stored time passed.
        assert!(st.breached_at(&sla, cet("2026-12-07T10:30:00")).is_empty());
        // As it stands then: Friday 17:00 moved by 4h30 (Friday 1h,
        // Saturday 3h, Monday 30m) is Monday 11:30.
        assert_eq!(
            due(st.due_at(&sla, NextResponse, cet("2026-12-07T10:30:00"))),
            s(cet("2026-12-07T11:30:00"))
        );
        assert!(st.clone().tick(&sla, cet("2026-12-07T10:30:00")).is_empty());
        assert_eq!(st.next_alarm(&sla), None);
        st.on_status(
            &sla,
            Status::Stalled,
            Status::Open,
            cet("2026-12-07T11:00:00"),
        );
        assert!(!st.is_paused());
        // Next response: Friday 17:00 + 5h = Saturday's 3h, then Monday 12:00.
        assert_eq!(due(st.next_response_due), s(cet("2026-12-07T12:00:00")));
        // Resolve: Monday 11:00 + 5h = Monday 16:00.
        assert_eq!(due(st.resolve_due), s(cet("2026-12-07T16:00:00")));
        // Stalled to resolved: stopped, judged against the moved deadline.
        let mut done = st.clone();
        done.on_status(
            &sla,
            Status::Open,
            Status::Stalled,
            cet("2026-12-07T11:30:00"),
        );
        done.on_status(
            &sla,
            Status::Stalled,
            Status::Resolved,
            cet("2026-12-07T16:30:00"),
        );
        assert!(done.breached.is_empty(), "{:?}", done.breached);
        assert_eq!(done.paused_since, None);
    }

    #[test]
    fn a_clock_started_while_paused_runs_from_the_resumption() {
        let sla = plain();
        let sla = Sla {
            pause_on: vec![Status::Stalled],
            ..sla
        };
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_staff_correspond(&sla, at("2026-12-04T10:10:00Z"));
        st.on_status(
            &sla,
            Status::Open,
            Status::Stalled,
            at("2026-12-04T11:00:00Z"),
        );
        st.on_requestor_message(&sla, at("2026-12-04T12:00:00Z"));
        st.on_status(
            &sla,
            Status::Stalled,
            Status::Open,
            at("2026-12-04T12:00:00Z"),
        );
        assert_eq!(due(st.next_response_due), s(at("2026-12-04T14:00:00Z")));
        // Resolve (1d) moved by the hour paused.
        assert_eq!(due(st.resolve_due), s(at("2026-12-05T11:00:00Z")));
        // Opened in a pause_on status: standing still from the start.
        let open_pauses = Sla {
            pause_on: vec![Status::Open],
            ..sla
        };
        let st = open_pauses.start(Status::Open, at("2026-12-04T10:00:00Z"));
        assert_eq!(st.paused_since, Some(at("2026-12-04T10:00:00Z")));
    }

    #[test]
    fn reopened_into_a_pause_the_resolve_clock_stands_still() {
        let sla = Sla {
            pause_on: vec![Status::Stalled],
            ..plain()
        };
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_status(
            &sla,
            Status::New,
            Status::Resolved,
            at("2026-12-04T10:30:00Z"),
        );
        st.on_status(
            &sla,
            Status::Resolved,
            Status::Stalled,
            at("2026-12-06T10:00:00Z"),
        );
        assert!(st.is_paused());
        st.on_status(
            &sla,
            Status::Stalled,
            Status::Open,
            at("2026-12-06T12:00:00Z"),
        );
        assert_eq!(due(st.resolve_due), s(at("2026-12-07T12:00:00Z")));
    }

    #[test]
    fn tick_fires_each_warning_and_breach_once() {
        let Some(sla) = standard() else { return };
        let mut st = sla.start(Status::New, cet("2026-12-04T16:00:00"));
        // Saturday 12:30 is the first response's warning.
        assert_eq!(due(st.next_alarm(&sla)), s(cet("2026-12-05T12:30:00")));
        assert_eq!(st.tick(&sla, cet("2026-12-05T12:29:59")), vec![]);
        let fired = st.tick(&sla, cet("2026-12-05T12:30:00"));
        assert_eq!(
            fired,
            vec![Fired {
                alarm: Alarm::SlaWarning,
                clock: FirstResponse,
                due: cet("2026-12-05T13:00:00")
            }]
        );
        assert_eq!(st.tick(&sla, cet("2026-12-05T12:45:00")), vec![]);
        assert_eq!(due(st.next_alarm(&sla)), s(cet("2026-12-05T13:00:01")));
        let fired = st.tick(&sla, cet("2026-12-06T09:00:00"));
        assert_eq!(fired.len(), 1);
        assert_eq!(
            (fired[0].alarm, fired[0].clock),
            (Alarm::SlaBreach, FirstResponse)
        );
        assert_eq!(st.breached, vec![FirstResponse]);
        assert_eq!(st.tick(&sla, cet("2026-12-06T10:00:00")), vec![]);
        // Next: the resolve clock's warning, Tuesday 15:30.
        assert_eq!(due(st.next_alarm(&sla)), s(cet("2026-12-08T15:30:00")));
        // A tick long after a deadline fires its breach, not its warning.
        let fired = st.tick(&sla, cet("2026-12-10T09:00:00"));
        assert_eq!(
            fired.iter().map(|f| (f.alarm, f.clock)).collect::<Vec<_>>(),
            vec![(Alarm::SlaBreach, Resolve)]
        );
        assert_eq!(st.breached, vec![FirstResponse, Resolve]);
        assert_eq!(st.next_alarm(&sla), None);
        // Answering late stops the clock; it stays breached.
        st.on_staff_correspond(&sla, cet("2026-12-10T10:00:00"));
        assert_eq!(st.breached, vec![FirstResponse, Resolve]);
        assert_eq!(st.first_response_due, None);
    }

    #[test]
    fn a_restarted_clock_warns_and_breaches_again() {
        let sla = plain();
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_staff_correspond(&sla, at("2026-12-04T10:10:00Z"));
        st.on_requestor_message(&sla, at("2026-12-04T11:00:00Z"));
        let kinds = |f: Vec<Fired>| {
            f.into_iter()
                .map(|f| (f.alarm, f.clock))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(st.tick(&sla, at("2026-12-04T13:00:01Z"))),
            vec![(Alarm::SlaBreach, NextResponse)]
        );
        st.on_staff_correspond(&sla, at("2026-12-04T14:00:00Z"));
        st.on_requestor_message(&sla, at("2026-12-04T15:00:00Z"));
        assert_eq!(
            kinds(st.tick(&sla, at("2026-12-04T16:50:00Z"))),
            vec![(Alarm::SlaWarning, NextResponse)]
        );
        assert_eq!(
            kinds(st.tick(&sla, at("2026-12-04T17:00:01Z"))),
            vec![(Alarm::SlaBreach, NextResponse)]
        );
    }

    #[test]
    fn the_state_is_stored_as_json() {
        let sla = plain();
        let mut st = sla.start(Status::New, at("2026-12-04T10:00:00Z"));
        st.on_staff_correspond(&sla, at("2026-12-04T11:30:00Z"));
        st.tick(&sla, at("2026-12-05T09:55:00Z"));
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "plain",
                "first_response_due": null,
                "next_response_due": null,
                "resolve_due": "2026-12-05T10:00:00Z",
                "responded": "2026-12-04T11:30:00Z",
                "paused_since": null,
                "breached": ["first_response"],
                "fired": [["resolve", "sla-warning"]],
            })
        );
        let back: SlaState = serde_json::from_value(json).unwrap();
        assert_eq!(back, st);
        // A state written before `fired` existed still reads.
        let old: SlaState = serde_json::from_str(
            r#"{"name":"plain","first_response_due":"2026-12-04T11:00:00Z","next_response_due":null,
                "resolve_due":null,"responded":null,"paused_since":null,"breached":[]}"#,
        )
        .unwrap();
        assert_eq!(
            old.next_deadline(),
            Some((FirstResponse, at("2026-12-04T11:00:00Z")))
        );
        assert!(
            serde_json::from_str::<SlaState>(r#"{"name":"x","first_response_due":"soon"}"#)
                .is_err()
        );
        assert_eq!(ClockName::parse("next_response"), Some(NextResponse));
        assert_eq!(ClockName::parse("next-response"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(100))]

        /// A pause keeps the business time left: what remained of each
        /// running clock when the ticket stalled remains when it resumes.
        #[test]
        fn a_pause_keeps_the_business_time_left(
            open in 1_767_225_600i64..1_861_920_000,
            stall in 0i64..400_000,
            pause in 0i64..1_000_000,
            business in proptest::bool::ANY,
        ) {
            let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
            let sla = if business { match standard() { Some(s) => s, None => return Ok(()) } } else { plain() };
            let sla = Sla { pause_on: vec![Status::Stalled], ..sla };
            let mut st = sla.start(Status::New, t(open));
            let (p, r) = (t(open + stall), t(open + stall + pause));
            let left = |st: &SlaState, now| {
                ClockName::ALL.map(|c| st.due(c).filter(|&d| d >= now).map(|d| sla.clock.business_between(now, d)).filter(|b| !b.is_zero()))
            };
            let before = left(&st, p);
            st.on_status(&sla, Status::New, Status::Stalled, p);
            proptest::prop_assert!(st.tick(&sla, r).is_empty());
            st.on_status(&sla, Status::Stalled, Status::Open, r);
            proptest::prop_assert_eq!(left(&st, r), before);
        }
    }
}
