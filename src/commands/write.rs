//! `pipedesk reply N` and `pipedesk comment N`: the text comes from stdin,
//! or from `$VISUAL`/`$EDITOR` on a private temporary file when stdin is a
//! terminal. The desk turns it into a real message on the ticket.

use std::io::{IsTerminal, Read};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::cli::WriteArgs;
use crate::commands::{acting, desk, warn_unsent};
use crate::config::Config;
use crate::desk::Act;
use crate::view::DeliveredView;

pub fn run(config: &Arc<Config>, args: WriteArgs, comment: bool) -> Result<()> {
    let who = acting(config, args.author.as_deref())?;
    let mut desk = desk(config)?;
    // The ticket is looked up before the editor opens: no text is written
    // for a ticket that does not exist.
    desk.ticket(args.id)?;
    let body = read_body(comment)?;
    let outcome = desk.write(args.id, &body, comment, &Act::new(who, chrono::Utc::now()))?;
    warn_unsent(&outcome.unsent);
    if args.json {
        return crate::term::json(&DeliveredView::of(&outcome));
    }
    eprintln!(
        "{} on #{}: {} queued",
        outcome.action.as_str(),
        outcome.ticket.unwrap_or(args.id),
        crate::term::count(outcome.outbox.len() as u64, "mail", "mails")
    );
    Ok(())
}

/// The text: stdin, or the editor when stdin is a terminal. The draft lives
/// in a file only this user can open, under a name nobody can guess: a
/// predictable `/tmp` name let another local user plant a symlink there
/// and have root's editor session overwrite any file (issue 10).
fn read_body(comment: bool) -> Result<String> {
    let mut stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut body = String::new();
        stdin
            .read_to_string(&mut body)
            .context("reading the text from stdin")?;
        return Ok(body);
    }
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let draft = tempfile::Builder::new()
        .prefix(if comment {
            "pipedesk-comment-"
        } else {
            "pipedesk-reply-"
        })
        .suffix(".txt")
        .tempfile()
        .context("creating a draft file")?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(draft.path())
        .status()
        .with_context(|| format!("running {editor}"))?;
    if !status.success() {
        bail!("{editor} exited with {status}: nothing was sent");
    }
    // Read by path: an editor may write a new file in place of the old one.
    std::fs::read_to_string(draft.path()).context("reading the draft")
}
