//! `serve` re-reads its config on SIGHUP (SPEC §6, `systemctl reload`). The
//! new config is loaded and checked whole, then swapped in for every
//! request that follows, and whoever it leaves off staff has their sessions
//! and tokens ended at once, so that putting them back later does not bring
//! those back. A config that fails to load is logged and the running one
//! kept. What the server took hold of when it started — its database, the
//! address it listens on, the origin it trusts — stays until a restart; a
//! reload that changes one says so and applies the rest, so that taking
//! someone off staff never waits for a restart.

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::Shared;
use crate::config::Config;
use crate::desk::Desk;

/// SIGHUP, caught from now on (its default would end the process).
pub fn hangups() -> Result<Signal> {
    signal(SignalKind::hangup()).context("listening for SIGHUP")
}

/// Reloads the config at every SIGHUP, for as long as the server runs.
pub async fn reload_on(mut hangups: Signal, state: Shared) {
    while hangups.recv().await.is_some() {
        reload(&state).await;
    }
}

/// One reload; every outcome is one line on stderr, the last one written
/// once everything is in effect.
async fn reload(state: &Shared) {
    let running = state.config();
    let source = running.source.clone();
    let from = source
        .as_ref()
        .map_or("the built-in defaults".to_string(), |p| {
            p.display().to_string()
        });
    let loaded = tokio::task::spawn_blocking(move || Config::find(source.as_deref())).await;
    let mut config = match loaded {
        Ok(Ok(config)) => config,
        Ok(Err(e)) => {
            eprintln!(
                "pipedesk: reloading the config: {e:#}; still running with the one loaded before"
            );
            return;
        }
        Err(e) => {
            eprintln!(
                "pipedesk: reloading the config: {e}; still running with the one loaded before"
            );
            return;
        }
    };
    for kept in keep_what_needs_a_restart(&mut config, &running) {
        eprintln!("pipedesk: warning: {kept}");
    }
    for w in config.warnings() {
        eprintln!("pipedesk: warning: {w}");
    }
    // Closing the old desks' connections blocks (PostgreSQL's client runs
    // a runtime of its own).
    let swapped = state.clone();
    let swap = tokio::task::spawn_blocking(move || swapped.reconfigure(Arc::new(config))).await;
    if let Err(e) = swap {
        eprintln!("pipedesk: reloading the config: {e}; still running with the one loaded before");
        return;
    }
    if let Err(e) = state.desk(revoke_off_staff).await {
        // Each of them is still refused: a request checks the config.
        eprintln!("pipedesk: ending the sessions of those no longer on staff: {e:#}");
    }
    eprintln!("pipedesk: reloaded the config from {from}");
}

/// Ends the sessions and tokens of whoever holds some and is not on staff
/// in `desk`'s config, and says whose.
pub fn revoke_off_staff(desk: &mut Desk) -> Result<()> {
    for who in desk.revoke_off_staff()? {
        eprintln!("pipedesk: ended every session and token of {who}: not on staff");
    }
    Ok(())
}

/// Puts back into `new` the settings `running` started with and cannot
/// change while it runs; what was asked and not done, for the log.
fn keep_what_needs_a_restart(new: &mut Config, running: &Config) -> Vec<String> {
    let mut kept = Vec::new();
    if new.site.database != running.site.database {
        kept.push(format!(
            "site.database changed; a restart moves to it (still on {})",
            running.site.database.describe()
        ));
        new.site.database = running.site.database.clone();
    }
    if new.web.listen != running.web.listen {
        kept.push(format!(
            "web.listen changed; a restart moves to it (still on {})",
            running.web.listen
        ));
        new.web.listen = running.web.listen.clone();
    }
    if new.web.base_url != running.web.base_url {
        kept.push(format!(
            "web.base_url changed; a restart moves to it (still {})",
            running.web.base_url
        ));
        new.web.base_url = running.web.base_url.clone();
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_keeps_the_database_listener_and_origin_and_says_so() {
        let running = Config::parse(
            "[staff]\nadmins = [\"a@example.org\"]\n[web]\nlisten = \"127.0.0.1:1\"\n",
        )
        .unwrap();
        let mut new = Config::parse(
            "[site]\ndatabase = \"other.db\"\n[staff]\nadmins = [\"b@example.org\"]\n\
             [web]\nlisten = \"127.0.0.1:2\"\nbase_url = \"https://desk.example.org\"\n",
        )
        .unwrap();
        let kept = keep_what_needs_a_restart(&mut new, &running);
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert_eq!(new.site.database, running.site.database);
        assert_eq!(new.web.listen, "127.0.0.1:1");
        assert_eq!(new.web.base_url, running.web.base_url);
        assert_eq!(new.staff_addresses(), ["b@example.org"], "the rest applies");
        let mut same = running.clone();
        assert!(keep_what_needs_a_restart(&mut same, &running).is_empty());
    }
}
