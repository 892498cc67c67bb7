//! One file per subcommand, each with a `run`; this file dispatches and holds
//! what several of them share.

pub mod attachments;
pub mod completions;
pub mod deliver;
pub mod export;
pub mod flush;
pub mod import;
pub mod init;
pub mod list;
pub mod search;
pub mod show;
pub mod staff;
pub mod stats;

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use rusqlite::Connection;

use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::store;

pub fn run(cli: Cli) -> Result<()> {
    let path = cli.config.as_deref();
    match cli.command {
        Command::Deliver(args) => deliver::run(path, args),
        Command::Init(args) => init::run(path, args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        command => {
            let config = Config::find(path)?;
            match command {
                Command::List(args) => list::run(&config, args),
                Command::Show(args) => show::run(&config, args),
                Command::Reply(args) => staff::write(&config, args, false),
                Command::Comment(args) => staff::write(&config, args, true),
                Command::Close(args) => staff::close(&config, args),
                Command::Reopen(args) => staff::reopen(&config, args),
                Command::Take(args) => staff::take(&config, args),
                Command::Assign(args) => staff::assign(&config, args),
                Command::Export(args) => export::run(&config, args),
                Command::Flush(args) => flush::run(&config, args),
                Command::Check => init::check(&config),
                Command::Attachments(args) => attachments::run(&config, args),
                Command::Search(args) => search::run(&config, args),
                Command::Import(args) => import::run(&config, args),
                Command::Stats(args) => stats::run(&config, args),
                Command::Deliver(_)
                | Command::Init(_)
                | Command::Completions(_)
                | Command::Man(_) => unreachable!("dispatched above"),
            }
        }
    }
}

/// Opens the database for a command run by a person: it must exist already
/// (a typo in a path should not leave an empty database behind).
pub fn open_existing(config: &Config) -> Result<Connection> {
    let path = &config.site.database;
    if !path.exists() {
        bail!(
            "no database at {} (`pipedesk init` creates one, and so does the first delivery)",
            path.display()
        );
    }
    open(config, path)
}

pub fn open(config: &Config, path: &Path) -> Result<Connection> {
    store::open(path, Duration::from_secs(config.policy.busy_wait_secs))
}

/// Sends the mail a committed change queued. The change is stored whatever
/// happens here: a failure leaves the mail queued for `pipedesk flush` and is
/// only a warning.
pub fn send_after_commit(conn: &Connection, config: &Config, outbox: &[i64]) {
    if config.mail.transport == crate::config::Transport::None || outbox.is_empty() {
        return;
    }
    let result = store::queued_by_id(conn, outbox)
        .and_then(|q| crate::outbound::transport::send_all(conn, config, &q));
    match result {
        Ok(sent) => {
            for s in sent {
                if let Some(e) = s.error {
                    eprintln!(
                        "pipedesk: warning: mail {} not sent, kept for `pipedesk flush`: {e}",
                        s.id
                    );
                }
            }
        }
        Err(e) => eprintln!("pipedesk: warning: mail kept for `pipedesk flush`: {e:#}"),
    }
}

/// Prints `value` as one line of JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
