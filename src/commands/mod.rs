//! The commands for people (SPEC §5) and `deliver`: one file per command,
//! each parsing its arguments, calling one operation of the desk and
//! printing a view. This file dispatches and holds what several share.

pub mod attachments;
pub mod backup;
pub mod canned;
pub mod completions;
pub mod create;
pub mod deliver;
pub mod draft;
pub mod export;
pub mod fields;
pub mod flush;
pub mod import;
pub mod init;
pub mod list;
pub mod merge;
pub mod migrate;
pub mod passwd;
pub mod rules;
pub mod search;
pub mod serve;
pub mod show;
pub mod staff;
pub mod stats;
pub mod toml_page;
pub mod watch;
pub mod write;

use std::sync::Arc;

use anyhow::{anyhow, Result};

use crate::address::Address;
use crate::cli::{Cli, Command};
use crate::config::Config;
use crate::desk::Desk;
use crate::model::Status;
use crate::store::Open;

pub fn run(cli: Cli) -> Result<()> {
    let path = cli.config.as_deref();
    match cli.command {
        Command::Deliver(args) => deliver::run(path, args),
        Command::Init(args) => init::run(path, args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        command => {
            let config = Arc::new(Config::find(path)?);
            match command {
                Command::List(args) => list::run(&config, args),
                Command::Show(args) => show::run(&config, args),
                Command::Reply(args) => write::reply(&config, args),
                Command::Comment(args) => write::comment(&config, args),
                Command::Create(args) => create::run(&config, args),
                Command::Canned(args) => canned::run(&config, args),
                Command::Close(args) => staff::close(&config, args),
                Command::Reopen(args) => staff::reopen(&config, args),
                Command::Spam(args) => staff::spam(&config, args),
                Command::Stall(args) => staff::stall(&config, args),
                Command::Take(args) => staff::take(&config, args),
                Command::Assign(args) => staff::assign(&config, args),
                Command::Merge(args) => merge::run(&config, args),
                Command::Queue(args) => fields::queue(&config, args),
                Command::Edit(args) => fields::edit(&config, args),
                Command::Priority(args) => fields::priority(&config, args),
                Command::Due(args) => fields::due(&config, args),
                Command::Watch(args) => watch::watch(&config, args),
                Command::Unwatch(args) => watch::unwatch(&config, args),
                Command::Export(args) => export::run(&config, args),
                Command::Flush(args) => flush::run(&config, args),
                Command::Check => init::check(&config),
                Command::Backup(args) => backup::run(&config, args),
                Command::Attachments(args) => attachments::run(&config, args),
                Command::Search(args) => search::run(&config, args),
                Command::Import(args) => import::run(&config, args),
                Command::Migrate(args) => migrate::run(&config, args),
                Command::Stats(args) => stats::run(&config, args),
                Command::Rules(args) => rules::run(&config, args),
                Command::Tick(args) => rules::tick(&config, args),
                Command::Serve => serve::run(config),
                Command::Passwd(args) => passwd::passwd(&config, args),
                Command::Token(args) => passwd::token(&config, args),
                Command::Revoke(args) => passwd::revoke(&config, args),
                Command::Deliver(_)
                | Command::Init(_)
                | Command::Completions(_)
                | Command::Man(_) => unreachable!("dispatched above"),
            }
        }
    }
}

/// The desk for a command run by a person: its database must exist already
/// (a typo in a path should not leave an empty database behind). `create`
/// too, though it writes: only `init` and the MTA's `deliver` make a
/// database, and the error names `init` (issue 18).
pub fn desk(config: &Arc<Config>) -> Result<Desk> {
    Desk::open(config.clone(), Open::Existing)
}

/// The desk a rehearsal runs on (`deliver --dry-run`, `rules test`),
/// whose transaction is rolled back: this desk's database where it has
/// one, else an empty one in memory, so that trying a message never
/// leaves a database file behind.
pub fn rehearsal_desk(config: Arc<Config>) -> Result<Desk> {
    if crate::store::exists(&config)? {
        Desk::open(config, Open::Existing)
    } else {
        Ok(Desk::with_store(config, crate::store::in_memory()?))
    }
}

/// The member of staff acting: `--as`, else the first admin. Whether they
/// are on staff is the desk's rule.
pub fn acting(config: &Config, given: Option<&str>) -> Result<Address> {
    match given {
        Some(a) => Ok(Address::new(a)),
        None => config
            .staff
            .admins
            .first()
            .map(|a| a.address.clone())
            .ok_or_else(|| anyhow!("give --as ADDR (staff.admins is empty)")),
    }
}

/// The change a command makes: by `acting`'s member of staff, at `now()`.
pub fn act(config: &Config, given: Option<&str>) -> Result<crate::desk::Act> {
    Ok(crate::desk::Act::new(acting(config, given)?, now()))
}

/// A `--status` word, one of the four; another word is the person's
/// mistake, named with the four it could be (`model::UnknownStatus`).
pub fn status(word: &str) -> Result<Status> {
    word.parse().map_err(|e: crate::model::UnknownStatus| {
        crate::desk::Error::BadInput(e.to_string()).into()
    })
}

/// `--status` words, each one of the four (`status`).
pub fn statuses(words: &[String]) -> Result<Vec<Status>> {
    words.iter().map(|w| status(w)).collect()
}

/// Mail a committed change could not send at once, or a rule's hook that
/// failed: only a warning, it stays queued for `pipedesk flush`.
pub fn warn_unsent(unsent: &[(i64, crate::desk::SendError)]) {
    for (id, why) in unsent {
        let what = match why {
            crate::desk::SendError::Hook(_) => format!("hook {id} not run"),
            _ => format!("mail {id} not sent"),
        };
        eprintln!(
            "pipedesk: warning: {what}, kept for `pipedesk flush`: {}",
            crate::term::one_line(&why.to_string())
        );
    }
}

/// The time a command acts at: now, or `PIPEDESK_TEST_NOW` (ISO 8601
/// with its zone, as `tick --at` takes it) for a test that needs a ticket
/// opened, answered or stalled at a fixed time (SPEC §8's clocks across a
/// weekend or a holiday), like the `PIPEDESK_TEST_*` limits of
/// `outbound`. A value that does not parse is not a time: now.
pub fn now() -> crate::model::Time {
    std::env::var("PIPEDESK_TEST_NOW")
        .ok()
        .and_then(|t| crate::zone::parse_instant(&t).ok())
        .unwrap_or_else(chrono::Utc::now)
}
