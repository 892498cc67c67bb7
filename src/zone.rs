//! `site.timezone` (SPEC §2, §5): the zone times are shown to people in,
//! and due dates given without a zone are read in; and the due-date
//! grammar of `pipedesk due` and the web. JSON stays UTC.
//!
//! The zone's rules come from the system's zoneinfo (Debian's `tzdata`),
//! read once when the configuration loads: one small file, so that
//! `deliver`, a process per message, neither carries the whole tz database
//! in its binary nor walks `/usr/share/zoneinfo` (jiff's own database
//! lookup lists the directory first). jiff reads the TZif file and does
//! the arithmetic; the rest of pipedesk keeps chrono's `Time`, converted
//! through Unix seconds.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::model::Time;

/// Where the system keeps its zoneinfo files (jiff's list for Unix).
const ZONEINFO: [&str; 3] = [
    "/usr/share/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/etc/zoneinfo",
];

/// A time zone by its IANA name.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone named `name` (`Europe/Paris`), from the system's zoneinfo.
    pub fn named(name: &str) -> Result<Zone, String> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("Etc/UTC") {
            return Ok(Zone::utc());
        }
        // A name is a relative path of plain parts: never `..`, never
        // absolute, so that the setting cannot read another file.
        let plain = !name.is_empty()
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            });
        let unknown = || {
            format!(
                "unknown time zone {name:?} (an IANA name such as \"Europe/Paris\", or \"UTC\")"
            )
        };
        if !plain {
            return Err(unknown());
        }
        let data = ZONEINFO
            .iter()
            .find_map(|dir| std::fs::read(std::path::Path::new(dir).join(name)).ok())
            .ok_or_else(|| {
                if ZONEINFO.iter().any(|d| std::path::Path::new(d).is_dir()) {
                    unknown()
                } else {
                    format!(
                        "time zone {name:?}: this system has no zoneinfo ({}); install tzdata",
                        ZONEINFO[0]
                    )
                }
            })?;
        let tz = jiff::tz::TimeZone::tzif(name, &data).map_err(|_| unknown())?;
        Ok(Zone {
            name: name.to_string(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn timestamp(t: Time) -> jiff::Timestamp {
        jiff::Timestamp::from_second(t.timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// The wall-clock time here at `t`, and the zone's abbreviation then
    /// (`CET`, `CEST`, `UTC`).
    pub fn local(&self, t: Time) -> (NaiveDateTime, String) {
        let info = self.tz.to_offset_info(Zone::timestamp(t));
        let offset = chrono::Duration::seconds(i64::from(info.offset().seconds()));
        (t.naive_utc() + offset, info.abbreviation().to_string())
    }

    /// The time it is when the clocks here show `local`: in a gap (the
    /// hour skipped in spring) the later reading, in a fold (the hour
    /// repeated in autumn) the earlier, as RFC 5545 and Temporal do.
    pub fn instant(&self, local: NaiveDateTime) -> Option<Time> {
        use chrono::{Datelike, Timelike};
        let dt = jiff::civil::DateTime::new(
            i16::try_from(local.year()).ok()?,
            i8::try_from(local.month()).ok()?,
            i8::try_from(local.day()).ok()?,
            i8::try_from(local.hour()).ok()?,
            i8::try_from(local.minute()).ok()?,
            i8::try_from(local.second()).ok()?,
            0,
        )
        .ok()?;
        let ts = self.tz.to_timestamp(dt).ok()?;
        chrono::DateTime::from_timestamp(ts.as_second(), 0)
    }
}

impl Default for Zone {
    fn default() -> Zone {
        Zone::utc()
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({:?})", self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Zone, D::Error> {
        let name = String::deserialize(d)?;
        Zone::named(&name).map_err(serde::de::Error::custom)
    }
}

/// An instant as `tick --at` and `rules test --at` take it (SPEC §8): ISO
/// 8601 with its zone (`2026-12-05T22:00:00+01:00`, `…Z`).
pub fn parse_instant(input: &str) -> Result<Time, String> {
    chrono::DateTime::parse_from_rfc3339(input.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            format!("{input:?} is not a time with its zone, such as 2026-12-05T22:00:00+01:00")
        })
}

/// A due date as a person types it (SPEC §5): `none`, `2026-12-24` (the
/// start of that day), `2026-12-24T17:00` or `2026-12-24 17:00` (in
/// `zone`), an RFC 3339 time with its own offset (`…Z`, `…+01:00`), or a
/// time from `now`: `+3d`, `+4h`, `+30m`, `+2w`. `Ok(None)`: no due date.
pub fn parse_due(input: &str, now: Time, zone: &Zone) -> Result<Option<Time>, String> {
    let s = input.trim();
    let bad = || {
        format!(
            "cannot read the due date {s:?}: give 2026-12-24, 2026-12-24T17:00 (in {}), +3d, +4h or none",
            zone.name()
        )
    };
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if let Some(span) = s.strip_prefix('+') {
        let split = span.len().saturating_sub(1);
        let (n, unit) = (
            span.get(..split).ok_or_else(bad)?,
            span.get(split..).ok_or_else(bad)?,
        );
        let n: i64 = n
            .parse()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(bad)?;
        let secs = match unit {
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        return Ok(Some(
            crate::model::to_second(now) + chrono::Duration::seconds(n * secs),
        ));
    }
    if let Some(t) = crate::model::parse_stamp(s) {
        return Ok(Some(crate::model::to_second(t)));
    }
    let local = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_time(NaiveTime::MIN)
    } else {
        [
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d %H:%M:%S",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .ok_or_else(bad)?
    };
    zone.instant(local).map(Some).ok_or_else(bad)
}

/// A due date for a form's `datetime-local` field: `2026-12-24T17:00` in
/// `zone`.
pub fn form_value(t: Time, zone: &Zone) -> String {
    zone.local(t).0.format("%Y-%m-%dT%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{parse_stamp, stamp};

    fn at(s: &str) -> Time {
        parse_stamp(s).unwrap()
    }

    #[test]
    fn due_dates_read_in_utc() {
        let now = at("2026-12-01T10:20:30Z");
        let utc = Zone::utc();
        let due = |s: &str| parse_due(s, now, &utc).map(|t| t.map(stamp));
        assert_eq!(due("2026-12-24"), Ok(Some("2026-12-24T00:00:00Z".into())));
        assert_eq!(
            due("2026-12-24T17:00"),
            Ok(Some("2026-12-24T17:00:00Z".into()))
        );
        assert_eq!(
            due(" 2026-12-24 17:00:05 "),
            Ok(Some("2026-12-24T17:00:05Z".into()))
        );
        assert_eq!(due("+3d"), Ok(Some("2026-12-04T10:20:30Z".into())));
        assert_eq!(due("+4h"), Ok(Some("2026-12-01T14:20:30Z".into())));
        assert_eq!(due("+30m"), Ok(Some("2026-12-01T10:50:30Z".into())));
        assert_eq!(
            due("2026-12-24T17:00:00+01:00"),
            Ok(Some("2026-12-24T16:00:00Z".into()))
        );
        assert_eq!(due("None"), Ok(None));
        for wrong in [
            "",
            "tomorrow",
            "+3",
            "+d",
            "+0d",
            "+3y",
            "2026-13-01",
            "24.12.2026",
            "+-3d",
        ] {
            let e = due(wrong).unwrap_err();
            assert!(e.starts_with("cannot read the due date"), "{wrong}: {e}");
        }
    }

    #[test]
    fn due_dates_without_a_zone_are_read_in_the_site_s_zone() {
        let Ok(paris) = Zone::named("Europe/Paris") else {
            eprintln!("SKIP: no zoneinfo for Europe/Paris on this system");
            return;
        };
        let now = at("2026-06-01T00:00:00Z");
        let due = |s: &str| parse_due(s, now, &paris).unwrap().map(stamp);
        assert_eq!(due("2026-12-24T17:00"), Some("2026-12-24T16:00:00Z".into()));
        assert_eq!(due("2026-07-14"), Some("2026-07-13T22:00:00Z".into()));
        // The hour skipped in spring: the later reading.
        assert_eq!(due("2026-03-29T02:30"), Some("2026-03-29T01:30:00Z".into()));
        // With its own offset, the zone is not asked.
        assert_eq!(
            due("2026-12-24T17:00:00Z"),
            Some("2026-12-24T17:00:00Z".into())
        );
        let (local, abbr) = paris.local(at("2026-12-24T16:00:00Z"));
        assert_eq!(
            (local.to_string().as_str(), abbr.as_str()),
            ("2026-12-24 17:00:00", "CET")
        );
        assert_eq!(paris.local(at("2026-07-01T12:00:00Z")).1, "CEST");
        assert_eq!(
            form_value(at("2026-12-24T16:00:00Z"), &paris),
            "2026-12-24T17:00"
        );
    }

    #[test]
    fn a_zone_is_an_iana_name_and_nothing_else() {
        assert_eq!(Zone::named("utc").unwrap().name(), "UTC");
        for wrong in [
            "Mars/Olympus",
            "../../etc/passwd",
            "/etc/localtime",
            "Europe/../UTC",
            "",
        ] {
            let e = Zone::named(wrong).unwrap_err();
            assert!(e.contains("time zone"), "{wrong}: {e}");
        }
    }
}
