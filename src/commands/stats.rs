//! `pipedesk stats`: how the desk is doing. Tickets by status and queue,
//! tickets opened in the last seven days, and the median time from a ticket
//! being opened to the first correspondence from staff.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::cli::StatsArgs;
use crate::config::Config;
use crate::sanitize::one_line;
use crate::store;

#[derive(Debug, Serialize)]
struct Stats {
    tickets: i64,
    by_status: BTreeMap<String, i64>,
    /// queue → status → count.
    by_queue: BTreeMap<String, BTreeMap<String, i64>>,
    /// Opened in the last seven days.
    new_this_week: i64,
    /// Tickets staff have answered, and the median seconds it took them.
    answered: usize,
    median_first_reply_secs: Option<i64>,
}

pub fn run(config: &Config, args: StatsArgs) -> Result<()> {
    let conn = crate::commands::open_existing(config)?;
    let now = chrono::Utc::now();
    let since = store::timestamp(now - chrono::Duration::days(7));
    let counts = store::counts(&conn, &since)?;
    let staff: Vec<String> = config
        .staff
        .admins
        .iter()
        .chain(&config.staff.members)
        .cloned()
        .collect();
    let waits: Vec<i64> = store::first_staff_replies(&conn, &staff)?
        .iter()
        .filter_map(|(opened, replied)| Some((secs(replied)? - secs(opened)?).max(0)))
        .collect();
    let stats = Stats {
        tickets: counts.tickets,
        by_status: counts.by_status,
        by_queue: counts.by_queue,
        new_this_week: counts.new_this_week,
        answered: waits.len(),
        median_first_reply_secs: median(waits),
    };
    if args.json {
        return crate::commands::print_json(&stats);
    }
    print!("{}", render(&stats));
    Ok(())
}

fn secs(stamp: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|d| d.timestamp())
}

/// The median, the lower of the middle two for an even count.
fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[(v.len() - 1) / 2])
}

/// `45s`, `12m`, `3h 20m`, `2d 4h`.
fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

fn render(s: &Stats) -> String {
    let status = |m: &BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let mut out = format!(
        "{} tickets: {} new, {} open, {} resolved\n",
        s.tickets,
        status(&s.by_status, "new"),
        status(&s.by_status, "open"),
        status(&s.by_status, "resolved")
    );
    out += &format!("{} opened in the last 7 days\n", s.new_this_week);
    out += &match s.median_first_reply_secs {
        Some(m) => format!(
            "median time to first staff reply: {} ({} tickets answered)\n",
            duration(m),
            s.answered
        ),
        None => "median time to first staff reply: none yet\n".into(),
    };
    if !s.by_queue.is_empty() {
        let width = s
            .by_queue
            .keys()
            .map(|q| one_line(q).chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        out += &format!(
            "\n{:<width$}  {:>6}  {:>6}  {:>8}\n",
            "QUEUE", "NEW", "OPEN", "RESOLVED"
        );
        for (q, m) in &s.by_queue {
            out += &format!(
                "{:<width$}  {:>6}  {:>6}  {:>8}\n",
                one_line(q),
                status(m, "new"),
                status(m, "open"),
                status(m, "resolved")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_durations() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![30, 10, 20]), Some(20));
        assert_eq!(median(vec![40, 10, 20, 30]), Some(20));
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(3 * 3600 + 20 * 60), "3h 20m");
        assert_eq!(duration(2 * 86400 + 4 * 3600), "2d 4h");
    }
}
