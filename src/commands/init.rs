//! `pipedesk init` writes a commented configuration and creates the
//! database; `pipedesk check` validates both.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::cli::InitArgs;
use crate::config::{Config, Database, Transport, SAMPLE};
use crate::desk::Desk;
use crate::model::MailKind;
use crate::outbound::templates::Texts;
use crate::store::Open;

pub fn run(config_path: Option<&Path>, args: InitArgs) -> Result<()> {
    let path: PathBuf = args
        .path
        .or_else(|| config_path.map(Path::to_path_buf))
        .or_else(|| {
            std::env::var_os("PIPEDESK_CONFIG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("pipedesk.toml"));
    if path.exists() && !args.force {
        eprintln!("keeping the existing {}", path.display());
    } else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, sample_for(&path))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let config = Config::load(&path)?;
    if let Database::Sqlite(db) = &config.site.database {
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let where_ = config.site.database.describe();
    Desk::open(Arc::new(config), Open::Create)?;
    eprintln!("database ready at {where_}");
    // pipedesk finds its config by --config, $PIPEDESK_CONFIG or the system
    // path, never in the current folder: say how this one will be found.
    let found = Config::find(None).ok().and_then(|c| c.source);
    let same = |p: &Path| p.canonicalize().ok() == path.canonicalize().ok();
    if !found.as_deref().is_some_and(same) {
        let abs = path.canonicalize().unwrap_or(path.clone());
        eprintln!(
            "pipedesk reads this file with --config {0} or PIPEDESK_CONFIG={0} (or install it as {1})",
            abs.display(),
            crate::config::SYSTEM_CONFIG
        );
    }
    Ok(())
}

/// Where a system-wide install keeps its database: not beside a config in
/// `/etc` (issue 18), but where the FHS puts a program's state.
pub const SYSTEM_DATABASE: &str = "/var/lib/pipedesk/pipedesk.db";

/// The commented config `init` writes at `path`: the sample, with the
/// database in `/var/lib/pipedesk/` for a config under `/etc`.
fn sample_for(path: &Path) -> String {
    if path.starts_with("/etc") {
        SAMPLE.replacen(
            "database = \"pipedesk.db\"",
            &format!("database = \"{SYSTEM_DATABASE}\""),
            1,
        )
    } else {
        SAMPLE.to_string()
    }
}

pub fn check(config: &Arc<Config>) -> Result<()> {
    let source = config
        .source
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in defaults".into());
    Texts::load(config)
        .and_then(|t| t.check(config))
        .map_err(|e| crate::exit::Fail::Config(format!("{e:#}")))?;
    match config.mail.transport {
        Transport::Sendmail if !config.mail.sendmail.exists() => {
            return Err(crate::exit::Fail::Config(format!(
                "mail.sendmail: {} does not exist",
                config.mail.sendmail.display()
            ))
            .into());
        }
        Transport::Smtp => {
            lettre::SmtpTransport::from_url(&config.mail.smtp_url)
                .map_err(|e| crate::exit::Fail::Config(format!("mail.smtp_url: {e}")))?;
        }
        _ => {}
    }
    canned_warnings(config)?;
    crate::desk::rules::check_texts(config)
        .map_err(|e| crate::exit::Fail::Config(format!("{e:#}")))?;
    crate::term::out(&format!("config: {source}: ok\n"))?;
    if !config.rules().is_empty() || config.has_slas() {
        let names: Vec<&str> = config.rules().iter().map(|r| r.name.as_str()).collect();
        crate::term::out(&format!(
            "rules: {}{}\n",
            crate::term::count(names.len() as u64, "rule", "rules"),
            if names.is_empty() {
                String::new()
            } else {
                format!(" ({}), in this order", names.join(", "))
            }
        ))?;
    }
    for w in config.warnings() {
        eprintln!("pipedesk: warning: {w}");
    }
    let db = config.site.database.describe();
    if !crate::store::exists(config)? {
        // Not an error: the first delivery (or `pipedesk init`) creates it.
        return crate::term::out(&format!("database: {db}: not created yet\n"));
    }
    let mut desk = crate::commands::desk(config)?;
    let now = crate::commands::now();
    let stuck = desk.queued_before(now - chrono::Duration::hours(1))?;
    if let Some(oldest) = stuck.first() {
        // A rule's hooks wait in the outbox beside the mail (SPEC §8).
        let hooks = stuck.iter().filter(|m| m.kind == MailKind::Hook).count();
        eprintln!(
            "pipedesk: warning: {} queued for over an hour; the oldest, {}, since {}: {}",
            crate::commands::flush::mails_and_hooks(stuck.len() - hooks, hooks),
            crate::commands::flush::named(oldest, config),
            crate::term::human_date(oldest.created, &config.site.timezone),
            oldest
                .last_error
                .as_deref()
                .map(crate::term::one_line)
                .unwrap_or_else(|| "not tried yet (is `pipedesk flush --due` in cron?)".into()),
        );
    }
    let problems = desk.check()?;
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("pipedesk: database {db}: {p}");
        }
        bail!(
            "database {db}: {}",
            crate::term::count(problems.len() as u64, "problem", "problems")
        );
    }
    crate::term::out(&format!("database: {db}: ok\n"))
}

/// A canned answer that would be refused when picked (a name it may not
/// use): a warning, as the desk still works without it.
fn canned_warnings(config: &Config) -> Result<()> {
    for p in crate::canned::problems(&config.canned.dir)? {
        eprintln!("pipedesk: warning: {p}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_under_etc_keeps_its_database_in_var_lib() {
        let etc = sample_for(Path::new("/etc/pipedesk/pipedesk.toml"));
        let c = Config::parse(&etc).unwrap();
        assert_eq!(
            c.site.database.describe(),
            Database::Sqlite(PathBuf::from(SYSTEM_DATABASE)).describe()
        );
        assert_eq!(sample_for(Path::new("/home/me/desk/pipedesk.toml")), SAMPLE);
    }
}
