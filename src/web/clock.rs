//! `serve` runs the clock (SPEC §8: `pipedesk tick`) once a minute, so
//! that a desk with `serve` running needs no cron line for its SLA
//! warnings, breaches and idle tickets. Each event fires once however
//! many `serve`s and `tick`s run: the desk's claim decides.

use std::time::Duration;

use super::state::Shared;

/// How often: SPEC §8 asks `tick` to run every minute.
const EVERY: Duration = Duration::from_secs(60);

/// Ticks for ever, a minute apart; a failure is logged and the next
/// minute tries again.
pub async fn tick_every_minute(state: Shared) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let config = state.config();
        if config.rules().is_empty() && !config.has_slas() {
            continue;
        }
        match state.desk(|d| d.tick(super::now(), false)).await {
            Ok(t) => {
                for f in &t.fired {
                    eprintln!(
                        "pipedesk: tick: rule {} fired on {} of #{}",
                        f.rule, f.event, f.ticket
                    );
                }
            }
            Err(e) => eprintln!("pipedesk: tick: {e:#}"),
        }
    }
}
