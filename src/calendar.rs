//! Business hours (SPEC §8): the `[calendars.NAME]` tables, compiled once
//! when the configuration loads, and the time arithmetic an SLA and a
//! rule's `if.hours` need — is it open now, a deadline so much business
//! time later (or earlier: a warning), and how much business time lies
//! between two instants (a pause). Pure: no I/O, no store, no clock.
//!
//! Without a calendar an SLA counts plain time; [`Clock`] gives both the
//! same operations so that callers never branch.
//!
//! Instants are whole seconds (what a store keeps, `model::to_second`).
//! Hours are wall-clock times in the calendar's zone, turned into instants
//! day by day through `zone::Zone` (jiff underneath), so that a day of 23
//! or 25 hours (a DST change) counts what its clocks show: `01:00-04:00`
//! on the night the clocks go forward is two hours of business.
//!
//! Every operation steps through whole days' spans, never minute by
//! minute: a year is 366 steps.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Deserialize;

use crate::model::Time;
use crate::zone::Zone;

/// How far any operation looks, in days: far enough for a ten-year
/// duration in a calendar open one day a week around its holidays;
/// beyond it the answer is the last instant reached (a calendar that
/// compiles always has open time within 28 years: see `compile`).
const HORIZON_DAYS: i64 = 100 * 366;

/// The longest duration accepted, in days (and in minutes: ten years).
const MAX_DAYS: u32 = 3_660;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

// ---------------------------------------------------------------------------
// Durations

/// A duration of SPEC §8: `30m`, `4h`, `3d` (and `1h30m`, `2d4h`). Minutes
/// and hours count business time where a calendar is named; days are whole
/// business days (the same time of day on the Nth business day after).
/// With both, the days are counted first, then the minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    days: u32,
    minutes: u32,
}

impl Duration {
    pub fn minutes(n: u32) -> Duration {
        Duration {
            days: 0,
            minutes: n,
        }
    }

    pub fn days(n: u32) -> Duration {
        Duration {
            days: n,
            minutes: 0,
        }
    }

    /// The whole days of it (`3d`: 3).
    pub fn day_part(self) -> u32 {
        self.days
    }

    /// The minutes of it, hours included (`1h30m`: 90).
    pub fn minute_part(self) -> u32 {
        self.minutes
    }

    /// Reads `30m`, `4h`, `3d`, `1h30m`, `2d4h`: numbers each followed by
    /// a unit, units in the order d, h, m, each once. Refuses nothing at
    /// all (`""`, `0m`), signs, other units, and more than ten years.
    pub fn parse(input: &str) -> Result<Duration, String> {
        let s = input.trim();
        let bad = |why: &str| {
            format!("{s:?} is not a duration{why}: give one such as \"30m\", \"4h\", \"3d\" or \"1h30m\"")
        };
        if s.is_empty() {
            return Err(bad(""));
        }
        let (mut days, mut minutes) = (0u64, 0u64);
        let mut rest = s;
        let mut last_rank = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return Err(bad(""));
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad(""))?;
            let unit = rest[digits..]
                .chars()
                .next()
                .ok_or_else(|| bad(" (a unit is missing: m, h or d)"))?;
            let (rank, factor) = match unit {
                'd' => (1, 0),
                'h' => (2, 60),
                'm' => (3, 1),
                _ => return Err(bad(&format!(" (unknown unit {unit:?}: m, h or d)"))),
            };
            if rank <= last_rank {
                return Err(bad(" (units go d, h, m, each once)"));
            }
            last_rank = rank;
            if rank == 1 {
                days = n;
            } else {
                minutes += n * factor;
            }
            rest = &rest[digits + unit.len_utf8()..];
        }
        if days == 0 && minutes == 0 {
            return Err(bad(" (it must be longer than nothing)"));
        }
        let max_minutes = u64::from(MAX_DAYS) * 24 * 60;
        if days > u64::from(MAX_DAYS)
            || minutes > max_minutes
            || days * 24 * 60 + minutes > max_minutes
        {
            return Err(bad(" (at most ten years)"));
        }
        Ok(Duration {
            days: u32::try_from(days).map_err(|_| bad(""))?,
            minutes: u32::try_from(minutes).map_err(|_| bad(""))?,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.days > 0 {
            write!(f, "{}d", self.days)?;
        }
        let (h, m) = (self.minutes / 60, self.minutes % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Duration, String> {
        Duration::parse(s)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Read from the config as a string, so that a bad one names its line.
impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// The config: [calendars.NAME]

/// `[calendars.NAME]` as written; [`compile`] checks it against the
/// site's zone. Values are checked as they are read (so a bad one names
/// its line); what needs the whole table (a day given twice) in `compile`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCalendar {
    /// `{ mon-fri = "10:00-17:00", sat = "10:00-13:00" }`: a day or a
    /// range of days, and its spans (a string, comma-separated spans, or
    /// a list of them).
    pub hours: std::collections::BTreeMap<String, Spans>,
    /// `"12-25"` every year, `"2027-04-05"` once.
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    /// The calendar's own zone; else the site's.
    #[serde(default)]
    pub timezone: Option<Zone>,
}

/// The business spans of one day, in minutes after local midnight
/// (`[600, 1020)` for `10:00-17:00`; `24:00` is 1440), sorted and apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spans(Vec<(u16, u16)>);

impl Spans {
    /// Reads `"10:00-17:00"` or `"09:00-12:00, 13:00-17:00"`.
    pub fn parse(input: &str) -> Result<Spans, String> {
        Spans::from_parts(input.split(','))
    }

    fn from_parts<'a>(parts: impl Iterator<Item = &'a str>) -> Result<Spans, String> {
        let mut spans = Vec::new();
        for part in parts {
            spans.push(span(part)?);
        }
        if spans.is_empty() {
            return Err("no hours given: write them as \"10:00-17:00\"".into());
        }
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(format!(
                    "the hours {} and {} overlap",
                    show_span(pair[0]),
                    show_span(pair[1])
                ));
            }
        }
        Ok(Spans(spans))
    }
}

fn show_span((a, b): (u16, u16)) -> String {
    format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60)
}

/// `HH:MM-HH:MM`, the end after the start, within the day (`24:00` ends
/// it); a span past midnight is two, one on each day.
fn span(input: &str) -> Result<(u16, u16), String> {
    let s = input.trim();
    let bad = || format!("{s:?} is not business hours: write them as \"10:00-17:00\"");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b) = (
        clock_time(a).ok_or_else(bad)?,
        clock_time(b).ok_or_else(bad)?,
    );
    if a >= 1440 {
        return Err(bad());
    }
    if b <= a {
        return Err(format!(
            "{s:?}: the hours end before they start (hours past midnight are two spans: \"22:00-24:00\" on one day, \"00:00-06:00\" on the next)"
        ));
    }
    Ok((a, b))
}

/// `H:MM` or `HH:MM`, up to `24:00`, in minutes.
fn clock_time(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let plain =
        |x: &str, n: usize| (1..=n).contains(&x.len()) && x.bytes().all(|b| b.is_ascii_digit());
    if !plain(h, 2) || m.len() != 2 || !plain(m, 2) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Spans {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Spans, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Spans;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("business hours such as \"10:00-17:00\", or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Spans, E> {
                Spans::parse(s).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Spans, A::Error> {
                let mut parts: Vec<String> = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    parts.push(p);
                }
                Spans::from_parts(parts.iter().map(String::as_str))
                    .map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A day off: `12-25` every year, or `2027-04-05` once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holiday {
    Yearly { month: u32, day: u32 },
    Date(NaiveDate),
}

impl Holiday {
    pub fn parse(input: &str) -> Result<Holiday, String> {
        let s = input.trim();
        let bad = || {
            format!("{s:?} is not a holiday: write \"12-25\" (every year) or \"2027-04-05\" (once)")
        };
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        match s.split('-').collect::<Vec<_>>()[..] {
            [m, d] if m.len() == 2 && d.len() == 2 && digits(m) && digits(d) => {
                let (month, day) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
                // 2024 is a leap year: 02-29 is a holiday in the years it exists.
                NaiveDate::from_ymd_opt(2024, month, day).ok_or_else(bad)?;
                Ok(Holiday::Yearly { month, day })
            }
            [y, _, _] if y.len() == 4 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Holiday::Date)
                .map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl<'de> Deserialize<'de> for Holiday {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Holiday, D::Error> {
        let s = String::deserialize(d)?;
        Holiday::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The days a key of `hours` names: `mon`, or a range `mon-fri` (one
/// that wraps, `fri-mon`, runs over the weekend). Monday is 0.
fn day_key(key: &str) -> Result<Vec<usize>, String> {
    let day = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        DAY_NAMES.iter().position(|d| *d == s).ok_or_else(|| {
            format!("{key:?} is not a day: use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri")
        })
    };
    match key.split_once('-') {
        None => Ok(vec![day(key)?]),
        Some((a, b)) => {
            let (a, b) = (day(a)?, day(b)?);
            let len = (b + 7 - a) % 7 + 1;
            Ok((0..len).map(|i| (a + i) % 7).collect())
        }
    }
}

/// Checks a calendar as a whole, in the site's zone unless it names its
/// own. The error says what is wrong in words an admin knows, after the
/// key it is about (`hours: fri is given twice …`); the caller adds the
/// calendar's name and the line.
pub fn compile(raw: &RawCalendar, site_zone: &Zone) -> Result<Calendar, String> {
    check(raw, site_zone).map_err(|(key, msg)| format!("{key}: {msg}"))
}

/// Every `[calendars.NAME]`, compiled. The error is `Config::validate`'s:
/// the dotted key (`calendars.support.hours`) and the problem.
pub fn compile_all(
    raw: &std::collections::BTreeMap<String, RawCalendar>,
    site_zone: &Zone,
) -> Result<std::collections::BTreeMap<String, Calendar>, (String, String)> {
    raw.iter()
        .map(|(name, r)| {
            check(r, site_zone)
                .map(|c| (name.clone(), c))
                .map_err(|(key, msg)| (format!("calendars.{name}.{key}"), msg))
        })
        .collect()
}

fn check(raw: &RawCalendar, site_zone: &Zone) -> Result<Calendar, (&'static str, String)> {
    let mut week: [Vec<(u16, u16)>; 7] = Default::default();
    let mut given: [Option<&str>; 7] = [None; 7];
    for (key, spans) in &raw.hours {
        for d in day_key(key).map_err(|e| ("hours", e))? {
            if let Some(first) = given[d] {
                return Err((
                    "hours",
                    format!(
                        "{} is given twice (in {first:?} and {key:?}); give each day once",
                        DAY_NAMES[d]
                    ),
                ));
            }
            given[d] = Some(key);
            week[d] = spans.0.clone();
        }
    }
    if week.iter().all(Vec::is_empty) {
        return Err((
            "hours",
            "no business hours at all: give some, e.g. hours = { mon-fri = \"09:00-17:00\" }"
                .into(),
        ));
    }
    let mut yearly = BTreeSet::new();
    let mut dates = BTreeSet::new();
    for h in &raw.holidays {
        match *h {
            Holiday::Yearly { month, day } => yearly.insert((month, day)),
            Holiday::Date(d) => dates.insert(d),
        };
    }
    // Every date but 02-29 falls on every weekday within 28 years: one
    // that is not a holiday guarantees business time ahead of any instant.
    if yearly.iter().filter(|&&md| md != (2, 29)).count() >= 365 {
        return Err(("holidays", "every day of the year is a holiday".into()));
    }
    Ok(Calendar {
        zone: raw.timezone.clone().unwrap_or_else(|| site_zone.clone()),
        week,
        yearly,
        dates,
    })
}

// ---------------------------------------------------------------------------
// The compiled calendar

/// Business hours by weekday, holidays, and the zone they are read in.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    zone: Zone,
    /// Monday first.
    week: [Vec<(u16, u16)>; 7],
    yearly: BTreeSet<(u32, u32)>,
    dates: BTreeSet<NaiveDate>,
}

fn secs(t: Time) -> i64 {
    t.timestamp()
}

fn time(s: i64) -> Time {
    chrono::DateTime::from_timestamp(s, 0).unwrap_or_default()
}

impl Calendar {
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    fn is_holiday(&self, d: NaiveDate) -> bool {
        self.dates.contains(&d) || self.yearly.contains(&(d.month(), d.day()))
    }

    fn hours_of(&self, d: NaiveDate) -> &[(u16, u16)] {
        if self.is_holiday(d) {
            &[]
        } else {
            &self.week[d.weekday().num_days_from_monday() as usize]
        }
    }

    /// A day with business hours that is not a holiday.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        !self.hours_of(d).is_empty()
    }

    /// The instant the clocks here show `minute` (0..=1440) on `d`.
    fn at(&self, d: NaiveDate, minute: u32) -> Option<i64> {
        self.at_second(d, minute * 60)
    }

    /// The instant the clocks here show `second` (0..=86400) on `d`: in a
    /// gap the later reading, in a fold the earlier (`Zone::instant`).
    fn at_second(&self, d: NaiveDate, second: u32) -> Option<i64> {
        let (d, second) = if second >= 86_400 {
            (d.succ_opt()?, second - 86_400)
        } else {
            (d, second)
        };
        let t = NaiveTime::from_num_seconds_from_midnight_opt(second, 0)?;
        self.zone.instant(NaiveDateTime::new(d, t)).map(secs)
    }

    /// The local date and the second of that day at `t`.
    fn local(&self, t: i64) -> (NaiveDate, u32) {
        let (l, _) = self.zone.local(time(t));
        (l.date(), l.num_seconds_from_midnight())
    }

    /// The business spans of `d` as instants (empty on a holiday). A span
    /// that a DST change swallows whole is left out.
    fn spans(&self, d: NaiveDate) -> Vec<(i64, i64)> {
        self.hours_of(d)
            .iter()
            .filter_map(|&(a, b)| {
                let (s, e) = (self.at(d, a.into())?, self.at(d, b.into())?);
                (s < e).then_some((s, e))
            })
            .collect()
    }

    /// Business spans that end after `from`, in order, the first cut to
    /// start at `from` at the earliest; within the horizon.
    fn forward(&self, from: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = self.local(from).0.pred_opt().unwrap_or(NaiveDate::MIN);
        std::iter::successors(Some(first), |d| d.succ_opt())
            .take(HORIZON_DAYS as usize)
            .flat_map(move |d| self.spans(d))
            .filter(move |&(_, e)| e > from)
            .map(move |(s, e)| (s.max(from), e))
    }

    /// Business spans that start before `until`, latest first, the first
    /// cut to end at `until` at the latest; within the horizon.
    fn backward(&self, until: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let last = self.local(until).0.succ_opt().unwrap_or(NaiveDate::MAX);
        std::iter::successors(Some(last), |d| d.pred_opt())
            .take(HORIZON_DAYS as usize)
            .flat_map(move |d| self.spans(d).into_iter().rev())
            .filter(move |&(s, _)| s < until)
            .map(move |(s, e)| (s, e.min(until)))
    }

    /// Inside business hours, on a day that is not a holiday.
    pub fn is_open(&self, at: Time) -> bool {
        let t = secs(at);
        self.forward(t).next().is_some_and(|(s, _)| s == t)
    }

    /// `start` plus `d` of business time: days first (see `add_days`), then
    /// minutes counted only inside the hours. A deadline that uses up a
    /// span exactly falls at its closing time, not at the next opening.
    pub fn add(&self, start: Time, d: Duration) -> Time {
        let t = self.add_days(secs(start), d.days);
        time(self.add_secs(t, i64::from(d.minutes) * 60))
    }

    /// `end` minus `d` of business time (a warning before a deadline):
    /// minutes first, then days, the mirror of `add`. A count that uses up
    /// a span exactly falls at its opening time.
    pub fn sub(&self, end: Time, d: Duration) -> Time {
        let t = self.sub_secs(secs(end), i64::from(d.minutes) * 60);
        time(self.sub_days(t, d.days))
    }

    /// `start` plus `span` of business time, to the second (a deadline
    /// moved later by the business time a pause covered).
    pub fn add_business(&self, start: Time, span: std::time::Duration) -> Time {
        let n = i64::try_from(span.as_secs()).unwrap_or(i64::MAX);
        time(self.add_secs(secs(start), n))
    }

    /// The business time between `a` and `b` (nothing if `b` is not after
    /// `a`), to the second.
    pub fn business_between(&self, a: Time, b: Time) -> std::time::Duration {
        let (a, b) = (secs(a), secs(b));
        let mut total = 0i64;
        if b > a {
            for (s, e) in self.forward(a) {
                if s >= b {
                    break;
                }
                total += e.min(b) - s;
            }
        }
        std::time::Duration::from_secs(total.unsigned_abs())
    }

    fn add_secs(&self, t: i64, n: i64) -> i64 {
        if n <= 0 {
            return t;
        }
        let (mut left, mut last) = (n, t);
        for (s, e) in self.forward(t) {
            if e - s >= left {
                return s + left;
            }
            left -= e - s;
            last = e;
        }
        last
    }

    fn sub_secs(&self, t: i64, n: i64) -> i64 {
        if n <= 0 {
            return t;
        }
        let (mut left, mut last) = (n, t);
        for (s, e) in self.backward(t) {
            if e - s >= left {
                return e - left;
            }
            left -= e - s;
            last = s;
        }
        last
    }

    /// `n` whole business days after `t`: the same time of day on the nth
    /// business day after. Outside the hours, the count starts from the
    /// next opening (a ticket in on Friday evening, 1d: Tuesday at
    /// opening time — one whole business day, Monday, lies between). On
    /// a day whose hours do not reach that time of day (a short
    /// Saturday), the deadline is its closing time; one before its
    /// opening, its opening time.
    fn add_days(&self, t: i64, n: u32) -> i64 {
        if n == 0 {
            return t;
        }
        let Some((anchor, _)) = self.forward(t).next() else {
            return t;
        };
        let (date, second) = self.local(anchor);
        self.business_day_after(date, n, true)
            .and_then(|d| self.on_day(d, second))
            .unwrap_or(anchor)
    }

    /// The mirror of `add_days`: outside the hours, the count starts from
    /// the last closing before.
    fn sub_days(&self, t: i64, n: u32) -> i64 {
        if n == 0 {
            return t;
        }
        let Some((_, anchor)) = self.backward(t).next() else {
            return t;
        };
        // A closing at 24:00 is the end of its own day, not the next one's
        // midnight: take the date of the second before.
        let (date, second) = self.local(anchor - 1);
        self.business_day_after(date, n, false)
            .and_then(|d| self.on_day(d, second + 1))
            .unwrap_or(anchor)
    }

    /// The nth business day after (or before) `d`.
    fn business_day_after(&self, d: NaiveDate, n: u32, later: bool) -> Option<NaiveDate> {
        let mut d = d;
        let mut left = n;
        for _ in 0..HORIZON_DAYS {
            d = if later { d.succ_opt()? } else { d.pred_opt()? };
            if self.is_business_day(d) {
                left -= 1;
                if left == 0 {
                    return Some(d);
                }
            }
        }
        None
    }

    /// The instant at `second` of business day `d`, kept within its first
    /// opening and last closing.
    fn on_day(&self, d: NaiveDate, second: u32) -> Option<i64> {
        let spans = self.spans(d);
        let (first, last) = (spans.first()?.0, spans.last()?.1);
        Some(self.at_second(d, second)?.clamp(first, last))
    }
}

// ---------------------------------------------------------------------------
// Either clock

/// The time an SLA counts in: plain time, or a calendar's business time.
/// The same operations either way.
#[derive(Debug, Clone, PartialEq)]
pub enum Clock {
    /// Always open: `4h` is four hours, `3d` is 72 hours.
    Always,
    Business(Box<Calendar>),
}

impl Clock {
    pub fn business(c: Calendar) -> Clock {
        Clock::Business(Box::new(c))
    }

    pub fn is_open(&self, at: Time) -> bool {
        match self {
            Clock::Always => true,
            Clock::Business(c) => c.is_open(at),
        }
    }

    pub fn add(&self, start: Time, d: Duration) -> Time {
        match self {
            Clock::Always => time(secs(start) + plain_secs(d)),
            Clock::Business(c) => c.add(start, d),
        }
    }

    pub fn sub(&self, end: Time, d: Duration) -> Time {
        match self {
            Clock::Always => time(secs(end) - plain_secs(d)),
            Clock::Business(c) => c.sub(end, d),
        }
    }

    pub fn add_business(&self, start: Time, span: std::time::Duration) -> Time {
        match self {
            Clock::Always => {
                time(secs(start).saturating_add(i64::try_from(span.as_secs()).unwrap_or(i64::MAX)))
            }
            Clock::Business(c) => c.add_business(start, span),
        }
    }

    pub fn business_between(&self, a: Time, b: Time) -> std::time::Duration {
        match self {
            Clock::Always => std::time::Duration::from_secs(
                secs(b).saturating_sub(secs(a)).max(0).unsigned_abs(),
            ),
            Clock::Business(c) => c.business_between(a, b),
        }
    }
}

fn plain_secs(d: Duration) -> i64 {
    i64::from(d.days) * 86_400 + i64::from(d.minutes) * 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_stamp, stamp};
    use proptest::prelude::*;

    fn at(s: &str) -> Time {
        parse_stamp(s).unwrap()
    }

    fn berlin() -> Option<Zone> {
        let z = Zone::named("Europe/Berlin").ok();
        if z.is_none() {
            eprintln!("SKIP: no zoneinfo for Europe/Berlin on this system");
        }
        z
    }

    fn raw(toml_text: &str) -> Result<RawCalendar, String> {
        toml::from_str(toml_text).map_err(|e| e.message().to_string())
    }

    fn calendar(toml_text: &str, zone: &Zone) -> Calendar {
        compile(&raw(toml_text).unwrap(), zone).unwrap()
    }

    /// SPEC §8's example, in Berlin.
    fn support() -> Option<Calendar> {
        Some(calendar(
            r#"hours = { mon-fri = "10:00-17:00", sat = "10:00-13:00" }
               holidays = ["12-25", "2027-04-05"]"#,
            &berlin()?,
        ))
    }

    fn weekdays(zone: &Zone) -> Calendar {
        calendar(r#"hours = { mon-fri = "09:00-17:00" }"#, zone)
    }

    const H: u32 = 60;

    #[test]
    fn durations_are_minutes_hours_and_days() {
        let p = |s: &str| Duration::parse(s).unwrap();
        assert_eq!(p("30m"), Duration::minutes(30));
        assert_eq!(p("4h"), Duration::minutes(240));
        assert_eq!(p(" 3d "), Duration::days(3));
        assert_eq!(p("1h30m"), Duration::minutes(90));
        let mixed = p("2d4h");
        assert_eq!((mixed.day_part(), mixed.minute_part()), (2, 240));
        assert_eq!(p("90m").to_string(), "1h30m");
        assert_eq!(p("2d4h").to_string(), "2d4h");
        assert_eq!(p("3650d").day_part(), 3650);
        for wrong in [
            "",
            "0m",
            "0d0h",
            "-3d",
            "+3d",
            "3",
            "d",
            "3w",
            "3 d",
            "4H",
            "30m4h",
            "1h1h",
            "3.5h",
            "99999999999m",
            "3661d",
            "5270401m",
        ] {
            let e = Duration::parse(wrong).unwrap_err();
            assert!(
                e.contains(&format!("{:?}", wrong.trim())) && e.contains("not a duration"),
                "{wrong}: {e}"
            );
        }
        assert!(Duration::parse("3w")
            .unwrap_err()
            .contains("unknown unit 'w'"));
    }

    #[test]
    fn a_calendar_reads_days_ranges_spans_and_holidays() {
        let r = raw(r#"hours = { mon-fri = "09:00-12:00, 13:00-17:00", sat = ["10:00-13:00"], sun = "0:00-24:00" }
                      holidays = ["12-25", "02-29", "2027-04-05"]
                      timezone = "UTC""#)
        .unwrap();
        assert_eq!(r.hours["mon-fri"], Spans(vec![(540, 720), (780, 1020)]));
        assert_eq!(r.hours["sun"], Spans(vec![(0, 1440)]));
        assert_eq!(
            r.holidays,
            [
                Holiday::Yearly { month: 12, day: 25 },
                Holiday::Yearly { month: 2, day: 29 },
                Holiday::Date(NaiveDate::from_ymd_opt(2027, 4, 5).unwrap())
            ]
        );
        let c = compile(&r, &Zone::utc()).unwrap();
        assert_eq!(c.week[4], vec![(540, 720), (780, 1020)]);
        assert!(c.week[5] == vec![(600, 780)] && c.week[6] == vec![(0, 1440)]);
        // Wrapping ranges run over the weekend.
        assert_eq!(day_key("fri-mon").unwrap(), vec![4, 5, 6, 0]);
        assert_eq!(day_key("Sat").unwrap(), vec![5]);
    }

    #[test]
    fn a_wrong_calendar_is_refused_naming_the_value() {
        for (text, says) in [
            (
                r#"hours = { mon = "9-17" }"#,
                "\"9-17\" is not business hours",
            ),
            (
                r#"hours = { mon = "17:00-09:00" }"#,
                "end before they start",
            ),
            (r#"hours = { mon = "09:00-24:01" }"#, "not business hours"),
            (r#"hours = { mon = "24:00-24:00" }"#, "not business hours"),
            (
                r#"hours = { mon = "09:00-12:00, 11:00-13:00" }"#,
                "09:00-12:00 and 11:00-13:00 overlap",
            ),
            (r#"hours = { mon = [] }"#, "no hours given"),
            (r#"hours = { mon = 9 }"#, "business hours such as"),
            (
                r#"hours = { mon = "09:00-17:00" }
                holidays = ["02-30"]"#,
                "\"02-30\" is not a holiday",
            ),
            (
                r#"hours = { mon = "09:00-17:00" }
                holidays = ["2027-02-29"]"#,
                "\"2027-02-29\" is not a holiday",
            ),
            (
                r#"hours = { mon = "09:00-17:00" }
                holidays = ["25.12."]"#,
                "is not a holiday",
            ),
            (
                r#"hours = { mon = "09:00-17:00" }
                timezone = "Mars/Olympus""#,
                "unknown time zone",
            ),
            (
                r#"hours = { mon = "09:00-17:00" }
                weekends = true"#,
                "unknown field `weekends`",
            ),
            (r#"holidays = []"#, "missing field `hours`"),
        ] {
            let e = raw(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        for (text, says) in [
            (
                r#"hours = { mon-fri = "09:00-17:00", fri = "09:00-12:00" }"#,
                "fri is given twice (in \"fri\" and \"mon-fri\")",
            ),
            (
                r#"hours = { weekdays = "09:00-17:00" }"#,
                "\"weekdays\" is not a day",
            ),
            (
                r#"hours = { mon-fry = "09:00-17:00" }"#,
                "\"mon-fry\" is not a day",
            ),
            (r#"hours = {}"#, "no business hours at all"),
        ] {
            let e = compile(&raw(text).unwrap(), &Zone::utc()).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
        let all = std::collections::BTreeMap::from([
            (
                "a".to_string(),
                raw(r#"hours = { mon = "09:00-17:00" }"#).unwrap(),
            ),
            (
                "b".to_string(),
                raw(r#"hours = { mon = "09:00-17:00", mon-tue = "09:00-17:00" }"#).unwrap(),
            ),
        ]);
        let (key, msg) = compile_all(&all, &Zone::utc()).unwrap_err();
        assert_eq!(key, "calendars.b.hours");
        assert!(msg.starts_with("mon is given twice"), "{msg}");
        let all = std::collections::BTreeMap::from([(
            "a".to_string(),
            raw(r#"hours = { mon = "09:00-17:00" }"#).unwrap(),
        )]);
        assert!(compile_all(&all, &Zone::utc()).unwrap()["a"]
            .is_business_day(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()));
        let every_day: Vec<String> = (1..=12u32)
            .flat_map(|m| (1..=31u32).map(move |d| (m, d)))
            .filter(|&(m, d)| NaiveDate::from_ymd_opt(2023, m, d).is_some())
            .map(|(m, d)| format!("\"{m:02}-{d:02}\""))
            .collect();
        let text = format!(
            "hours = {{ mon = \"09:00-17:00\" }}\nholidays = [{}]",
            every_day.join(",")
        );
        let e = compile(&raw(&text).unwrap(), &Zone::utc()).unwrap_err();
        assert!(e.contains("every day of the year"), "{e}");
    }

    #[test]
    fn the_calendar_is_in_the_site_s_zone_unless_it_names_its_own() {
        let Some(berlin) = berlin() else { return };
        let site = calendar(r#"hours = { mon-fri = "10:00-17:00" }"#, &berlin);
        assert_eq!(site.zone().name(), "Europe/Berlin");
        let own = calendar(
            r#"hours = { mon-fri = "10:00-17:00" }
               timezone = "UTC""#,
            &berlin,
        );
        assert_eq!(own.zone().name(), "UTC");
        // Monday 2026-12-07 10:30 in Berlin is 09:30Z: open there, not in UTC.
        assert!(site.is_open(at("2026-12-07T09:30:00Z")));
        assert!(!own.is_open(at("2026-12-07T09:30:00Z")));
    }

    #[test]
    fn open_inside_the_hours_and_not_on_holidays() {
        let Some(c) = support() else { return };
        let open = |s: &str| c.is_open(at(s));
        assert!(open("2026-12-07T10:00:00+01:00"), "Monday at opening");
        assert!(open("2026-12-07T16:59:59+01:00"));
        assert!(!open("2026-12-07T17:00:00+01:00"), "closing time is closed");
        assert!(!open("2026-12-07T09:59:59+01:00"));
        assert!(open("2026-12-05T12:00:00+01:00"), "Saturday morning");
        assert!(!open("2026-12-05T13:30:00+01:00"), "Saturday afternoon");
        assert!(!open("2026-12-06T12:00:00+01:00"), "Sunday");
        assert!(
            !open("2026-12-25T12:00:00+01:00"),
            "12-25, a Friday in 2026"
        );
        assert!(
            !open("2027-12-25T11:00:00+01:00"),
            "12-25, a Saturday in 2027"
        );
        assert!(open("2027-12-24T12:00:00+01:00"));
        assert!(!open("2027-04-05T12:00:00+02:00"), "2027-04-05, once");
        assert!(open("2028-04-05T12:00:00+02:00"), "not in 2028");
        assert!(Clock::Always.is_open(at("2026-12-06T03:00:00Z")));
        assert!(c.is_business_day(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()));
        assert!(!c.is_business_day(NaiveDate::from_ymd_opt(2026, 12, 6).unwrap()));
    }

    #[test]
    fn hours_count_only_business_time_across_a_weekend() {
        let Some(c) = support() else { return };
        let add = |s: &str, m| stamp(c.add(at(s), Duration::minutes(m)));
        // Friday 16:00: one hour on Friday, three on Saturday.
        assert_eq!(
            add("2026-12-04T16:00:00+01:00", 4 * H),
            "2026-12-05T12:00:00Z"
        );
        // A deadline that uses up a day falls at its closing time.
        assert_eq!(
            add("2026-12-04T16:00:00+01:00", 4 * H),
            stamp(at("2026-12-05T13:00:00+01:00"))
        );
        // One more hour: Monday, 11:00.
        assert_eq!(
            add("2026-12-04T16:00:00+01:00", 5 * H),
            "2026-12-07T10:00:00Z"
        );
        // Outside the hours the clock starts at the next opening.
        assert_eq!(
            add("2026-12-05T20:00:00+01:00", 30),
            stamp(at("2026-12-07T10:30:00+01:00"))
        );
        assert_eq!(
            add("2026-12-07T03:00:00+01:00", 30),
            stamp(at("2026-12-07T10:30:00+01:00"))
        );
        let between = |a: &str, b: &str| c.business_between(at(a), at(b)).as_secs();
        assert_eq!(
            between("2026-12-04T16:00:00+01:00", "2026-12-07T11:00:00+01:00"),
            5 * 3600
        );
        assert_eq!(
            between("2026-12-05T13:00:00+01:00", "2026-12-07T10:00:00+01:00"),
            0
        );
        assert_eq!(
            between("2026-12-07T11:00:00+01:00", "2026-12-04T16:00:00+01:00"),
            0,
            "backwards"
        );
        // A whole week: 5 × 7 h + 3 h.
        assert_eq!(
            between("2026-12-07T00:00:00+01:00", "2026-12-14T00:00:00+01:00"),
            38 * 3600
        );
    }

    #[test]
    fn holidays_are_skipped_yearly_and_by_date() {
        let Some(c) = support() else { return };
        let add = |s: &str, m| stamp(c.add(at(s), Duration::minutes(m)));
        // Thursday 24th 16:00, 2h: an hour on Thursday, Christmas (a
        // Friday) off, an hour on Saturday.
        assert_eq!(
            add("2026-12-24T16:00:00+01:00", 2 * H),
            stamp(at("2026-12-26T11:00:00+01:00"))
        );
        // Friday 2027-04-02 16:30, 4h: 30m, Saturday's 3h, Monday the
        // 5th off, 30m on Tuesday.
        assert_eq!(
            add("2027-04-02T16:30:00+02:00", 4 * H),
            stamp(at("2027-04-06T10:30:00+02:00"))
        );
        // In 2028 the 5th of April is an ordinary Wednesday.
        assert_eq!(
            add("2028-04-04T16:30:00+02:00", H),
            stamp(at("2028-04-05T10:30:00+02:00"))
        );
        assert_eq!(
            c.business_between(
                at("2026-12-24T00:00:00+01:00"),
                at("2026-12-27T00:00:00+01:00")
            )
            .as_secs(),
            10 * 3600
        );
        // Days skip them too: Thursday 24th 11:00 + 1d is Saturday 11:00.
        assert_eq!(
            stamp(c.add(at("2026-12-24T11:00:00+01:00"), Duration::days(1))),
            stamp(at("2026-12-26T11:00:00+01:00"))
        );
    }

    #[test]
    fn days_fall_at_the_same_time_of_day_on_the_nth_business_day() {
        let Some(berlin) = berlin() else { return };
        let c = weekdays(&berlin);
        let add = |s: &str, d| stamp(c.add(at(s), Duration::days(d)));
        let t = |s: &str| stamp(at(s));
        // Monday 14:00 + 3d: Thursday 14:00.
        assert_eq!(
            add("2026-12-07T14:00:00+01:00", 3),
            t("2026-12-10T14:00:00+01:00")
        );
        // Friday 14:00 + 1d: Monday 14:00 (the weekend is no business day).
        assert_eq!(
            add("2026-12-04T14:00:00+01:00", 1),
            t("2026-12-07T14:00:00+01:00")
        );
        // Outside the hours, from the next opening: Friday 18:00 (and
        // Saturday, and Monday 07:00) + 1d is Tuesday 09:00.
        assert_eq!(
            add("2026-12-04T18:00:00+01:00", 1),
            t("2026-12-08T09:00:00+01:00")
        );
        assert_eq!(
            add("2026-12-05T12:00:00+01:00", 1),
            t("2026-12-08T09:00:00+01:00")
        );
        assert_eq!(
            add("2026-12-07T07:00:00+01:00", 1),
            t("2026-12-08T09:00:00+01:00")
        );
        // Which is one whole business day of time, as from inside them.
        let one_day = 8 * 3600;
        for s in ["2026-12-04T18:00:00+01:00", "2026-12-04T14:00:00+01:00"] {
            let due = c.add(at(s), Duration::days(1));
            assert_eq!(c.business_between(at(s), due).as_secs(), one_day, "{s}");
        }
        // Days, then minutes.
        assert_eq!(
            stamp(c.add(
                at("2026-12-04T16:00:00+01:00"),
                Duration::parse("1d2h").unwrap()
            )),
            t("2026-12-08T10:00:00+01:00")
        );
        // A short day keeps the deadline within its hours.
        let Some(support) = support() else { return };
        let add = |s: &str, d| stamp(support.add(at(s), Duration::days(d)));
        assert_eq!(
            add("2026-12-04T12:00:00+01:00", 1),
            t("2026-12-05T12:00:00+01:00")
        );
        assert_eq!(
            add("2026-12-04T15:00:00+01:00", 1),
            t("2026-12-05T13:00:00+01:00")
        );
        // Plain time: 3d is 72 hours.
        assert_eq!(
            stamp(Clock::Always.add(at("2026-12-04T15:00:00Z"), Duration::days(3))),
            "2026-12-07T15:00:00Z"
        );
    }

    #[test]
    fn sub_is_the_mirror_of_add() {
        let Some(c) = support() else { return };
        let sub = |s: &str, d: &str| stamp(c.sub(at(s), Duration::parse(d).unwrap()));
        let t = |s: &str| stamp(at(s));
        assert_eq!(
            sub("2026-12-07T10:30:00+01:00", "30m"),
            t("2026-12-07T10:00:00+01:00")
        );
        // Back over Sunday into Saturday's hours.
        assert_eq!(
            sub("2026-12-07T10:20:00+01:00", "30m"),
            t("2026-12-05T12:50:00+01:00")
        );
        // From outside the hours, back from the last closing.
        assert_eq!(
            sub("2026-12-06T12:00:00+01:00", "30m"),
            t("2026-12-05T12:30:00+01:00")
        );
        // Days: the same time of day, kept within that day's hours.
        assert_eq!(
            sub("2026-12-09T14:00:00+01:00", "2d"),
            t("2026-12-07T14:00:00+01:00")
        );
        assert_eq!(
            sub("2026-12-07T14:00:00+01:00", "1d"),
            t("2026-12-05T13:00:00+01:00")
        );
        assert_eq!(
            sub("2026-12-28T11:00:00+01:00", "2d"),
            t("2026-12-24T11:00:00+01:00")
        );
        assert_eq!(
            stamp(Clock::Always.sub(at("2026-12-07T10:00:00Z"), Duration::minutes(30))),
            "2026-12-07T09:30:00Z"
        );
    }

    #[test]
    fn a_dst_change_counts_what_the_clocks_show() {
        let Some(berlin) = berlin() else { return };
        let always = calendar(r#"hours = { mon-sun = "00:00-24:00" }"#, &berlin);
        let between =
            |c: &Calendar, a: &str, b: &str| c.business_between(at(a), at(b)).as_secs() / 3600;
        // Sunday 2027-03-28 has 23 hours, Sunday 2026-10-25 has 25.
        assert_eq!(
            between(
                &always,
                "2027-03-28T00:00:00+01:00",
                "2027-03-29T00:00:00+02:00"
            ),
            23
        );
        assert_eq!(
            between(
                &always,
                "2026-10-25T00:00:00+02:00",
                "2026-10-26T00:00:00+01:00"
            ),
            25
        );
        // Business hours over the changed hour: two hours in spring, four
        // in autumn.
        let night = calendar(r#"hours = { sun = "01:00-04:00" }"#, &berlin);
        assert_eq!(
            between(&night, "2027-03-27T00:00:00Z", "2027-03-29T00:00:00Z"),
            2
        );
        assert_eq!(
            between(&night, "2026-10-24T00:00:00Z", "2026-10-26T00:00:00Z"),
            4
        );
        // A day is the same wall-clock time: Friday 15:00 CET + 1d is
        // Monday 15:00 CEST, 71 hours later.
        let c = weekdays(&berlin);
        let due = c.add(at("2027-03-26T15:00:00+01:00"), Duration::days(1));
        assert_eq!(stamp(due), stamp(at("2027-03-29T15:00:00+02:00")));
        assert_eq!((due - at("2027-03-26T15:00:00+01:00")).num_hours(), 71);
        // Hours count business hours, whatever the offset: Friday 16:00
        // CET + 2h = Monday 10:00 CEST.
        let due = c.add(at("2027-03-26T16:00:00+01:00"), Duration::minutes(2 * H));
        assert_eq!(stamp(due), stamp(at("2027-03-29T10:00:00+02:00")));
        assert!(c.is_open(at("2027-03-29T07:00:00Z")), "09:00 CEST");
        assert!(!c.is_open(at("2027-03-26T07:00:00Z")), "08:00 CET");
    }

    #[test]
    fn plain_time_is_plain() {
        let (a, b) = (at("2026-12-04T16:00:00Z"), at("2026-12-07T11:00:00Z"));
        assert_eq!(Clock::Always.business_between(a, b).as_secs(), 67 * 3600);
        assert_eq!(Clock::Always.business_between(b, a).as_secs(), 0);
        assert_eq!(
            Clock::Always.add_business(a, std::time::Duration::from_secs(67 * 3600)),
            b
        );
    }

    #[test]
    fn a_long_duration_in_a_sparse_calendar_stays_fast_and_ends() {
        // Open one hour a week: ten years of minutes is beyond the
        // horizon; the answer is where the search stopped, not a hang.
        let c = calendar(r#"hours = { wed = "09:00-10:00" }"#, &Zone::utc());
        let start = at("2026-12-07T00:00:00Z");
        let due = c.add(start, Duration::parse("87600h").unwrap());
        assert!(due > at("2120-01-01T00:00:00Z"), "{}", stamp(due));
        let due = c.add(start, Duration::days(3650));
        assert!(due > at("2096-01-01T00:00:00Z"), "{}", stamp(due));
    }

    /// Instants from 2026 to 2029, to the second.
    fn instant() -> impl Strategy<Value = Time> {
        (1_767_225_600i64..1_861_920_000).prop_map(time)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn a_duration_reads_back_as_it_is_shown(days in 0u32..=366, minutes in 0u32..=200_000) {
            prop_assume!(days + minutes > 0);
            let d = Duration { days, minutes };
            prop_assert_eq!(Duration::parse(&d.to_string()), Ok(d));
        }

        #[test]
        fn the_parsers_never_panic(s in "[0-9dhmsw: ,.-]{0,14}") {
            let _ = Duration::parse(&s);
            let _ = Spans::parse(&s);
            let _ = Holiday::parse(&s);
            let _ = day_key(&s);
        }

        #[test]
        fn business_between_undoes_add(start in instant(), minutes in 1u32..20_000, utc in any::<bool>()) {
            let zone = if utc { Zone::utc() } else { berlin().unwrap_or_else(Zone::utc) };
            let c = calendar(
                r#"hours = { mon-fri = "09:00-12:00, 13:00-17:30", sat = "10:00-13:00", sun = "01:00-04:00" }
                   holidays = ["12-25", "01-01", "2027-04-05"]"#,
                &zone,
            );
            let due = c.add(start, Duration::minutes(minutes));
            prop_assert!(due > start);
            prop_assert_eq!(c.business_between(start, due).as_secs(), u64::from(minutes) * 60);
            // And back: sub lands on the same business time as `start`
            // (its opening side: at closing time, the next opening).
            let back = c.sub(due, Duration::minutes(minutes));
            prop_assert_eq!(c.business_between(back, start).as_secs(), 0);
            prop_assert_eq!(c.business_between(start, back).as_secs(), 0);
            prop_assert_eq!(c.business_between(back, due).as_secs(), u64::from(minutes) * 60);
        }

        #[test]
        fn add_business_of_between_reaches_the_same_business_time(a in instant(), span in 0i64..3_000_000) {
            let Some(c) = support() else { return Ok(()) };
            let b = time(secs(a) + span);
            let between = c.business_between(a, b);
            let reached = c.add_business(a, between);
            prop_assert!(reached <= b);
            prop_assert_eq!(c.business_between(reached, b).as_secs(), 0);
            prop_assert_eq!(c.business_between(a, reached), between);
        }

        /// Against an oracle that asks `is_open` every ten minutes (the
        /// calendar's hours are whole hours), over a few days.
        #[test]
        fn business_between_counts_the_open_minutes(a in instant(), steps in 0i64..(4 * 144)) {
            let Some(c) = support() else { return Ok(()) };
            let a = time(secs(a) / 600 * 600);
            let b = time(secs(a) + steps * 600);
            let open = (0..steps).filter(|m| c.is_open(time(secs(a) + m * 600))).count() as u64;
            prop_assert_eq!(c.business_between(a, b).as_secs(), open * 600);
        }

        #[test]
        fn days_land_on_a_business_day_within_its_hours(start in instant(), days in 1u32..40) {
            let Some(c) = support() else { return Ok(()) };
            let due = c.add(start, Duration::days(days));
            let (date, _) = c.local(secs(due));
            let (date, _) = if c.is_business_day(date) { (date, 0) } else { c.local(secs(due) - 1) };
            prop_assert!(c.is_business_day(date));
            let spans = c.spans(date);
            prop_assert!(spans[0].0 <= secs(due) && secs(due) <= spans[spans.len() - 1].1);
            prop_assert!(due > start);
        }
    }
}
