//! `pipedesk migrate --to URL` (SPEC §7): this desk, whole, into another
//! database of either kind, with a progress bar on a terminal. The copying
//! is the store's (`store::copy`); this opens both ends and reports.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::MigrateArgs;
use crate::config::{Config, Database};
use crate::store::{self, Open};

pub fn run(config: &Arc<Config>, args: MigrateArgs) -> Result<()> {
    let target = match Database::parse(&args.to) {
        // A relative path is the admin's, relative to where they are.
        Database::Sqlite(p) if p.is_relative() => Database::Sqlite(
            std::env::current_dir()
                .context("the current folder")?
                .join(p),
        ),
        other => other,
    };
    let same = match (&config.site.database, &target) {
        (Database::Sqlite(a), Database::Sqlite(b)) => {
            a == b || (b.exists() && a.canonicalize().ok() == b.canonicalize().ok())
        }
        (Database::Postgres(a), Database::Postgres(b)) => a == b,
        _ => false,
    };
    if same {
        bail!("--to names this desk's own database");
    }
    let busy = Duration::from_secs(config.policy.busy_wait_secs);
    let mut from = store::open(config, Open::Existing)?;
    let mut to = store::open_database(&target, busy, Open::Create)?;
    // The target is written in bulk: a crash loses the last batches, which
    // the next run copies again.
    to.bulk_mode()?;
    let bar = if std::io::stderr().is_terminal() {
        let style = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows ({eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        ProgressBar::new(0).with_style(style)
    } else {
        ProgressBar::hidden()
    };
    let copied = store::copy::copy(from.as_mut(), to.as_mut(), &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let copied = copied?;
    let dest = target.describe();
    let mut line = if copied.written == 0 {
        format!("{dest} holds all of this desk already: nothing to add")
    } else {
        format!(
            "copied this desk into {dest}: {} written{}",
            crate::term::count(copied.written, "row", "rows"),
            if copied.refreshed > 0 {
                format!(
                    ", {} brought up to date",
                    crate::term::count(copied.refreshed, "ticket", "tickets")
                )
            } else {
                String::new()
            }
        )
    };
    line.push('\n');
    crate::term::out(&line)?;
    if copied.source_moved {
        eprintln!(
            "pipedesk: note: the desk changed while it was copied; run `pipedesk migrate` again once deliveries to it have stopped"
        );
    }
    Ok(())
}
