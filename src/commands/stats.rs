//! `pipedesk stats`: how the desk is doing. Tickets by status and queue,
//! tickets opened in the last seven days, and the median time from a ticket
//! being opened to the first correspondence from staff.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::StatsArgs;
use crate::config::Config;
use crate::term::{count, one_line};
use crate::view::StatsView;

pub fn run(config: &Arc<Config>, args: StatsArgs) -> Result<()> {
    let stats = crate::commands::desk(config)?.stats(crate::commands::now())?;
    let view = StatsView::of(&stats);
    if args.json {
        return crate::term::json(&view);
    }
    crate::term::out(&render(&view))
}

fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

fn render(s: &StatsView) -> String {
    let status = |m: &BTreeMap<&str, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let mut out = format!(
        "{}: {} new, {} open, {} stalled, {} resolved\n",
        count(s.tickets as u64, "ticket", "tickets"),
        status(&s.by_status, "new"),
        status(&s.by_status, "open"),
        status(&s.by_status, "stalled"),
        status(&s.by_status, "resolved")
    );
    out += &format!("{} opened in the last 7 days\n", s.new_this_week);
    out += &match s.median_first_reply_secs {
        Some(m) => format!(
            "median time to first staff reply: {} ({} answered)\n",
            duration(m),
            count(s.answered as u64, "ticket", "tickets")
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
            "\n{:<width$}  {:>6}  {:>6}  {:>7}  {:>8}\n",
            "QUEUE", "NEW", "OPEN", "STALLED", "RESOLVED"
        );
        for (q, m) in &s.by_queue {
            out += &format!(
                "{:<width$}  {:>6}  {:>6}  {:>7}  {:>8}\n",
                one_line(q),
                status(m, "new"),
                status(m, "open"),
                status(m, "stalled"),
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
    fn durations_read_short() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(3 * 3600 + 20 * 60), "3h 20m");
        assert_eq!(duration(2 * 86400 + 4 * 3600), "2d 4h");
    }
}
