//! `pipedesk reply N` and `pipedesk comment N`: the text comes from stdin,
//! or from the editor on a draft that quotes the last message or holds the
//! canned answer (`draft`); the files of `--attach` go with it. The desk
//! turns it into a real message on the ticket, and with `--resolve` or
//! `--stall` leaves the ticket so in the same change.

use std::sync::Arc;

use anyhow::Result;

use crate::address::Address;
use crate::cli::{ReplyArgs, WriteArgs};
use crate::commands::draft::{self, Draft, Text};
use crate::commands::{acting, desk, warn_unsent};
use crate::config::Config;
use crate::desk::{Act, Answer, Desk};
use crate::model::{HistoryEntry, HistoryKind, Status, StoredMessage};
use crate::view::DeliveredView;

pub fn reply(config: &Arc<Config>, args: ReplyArgs) -> Result<()> {
    let status = if args.resolve {
        Some(Status::Resolved)
    } else if args.stall {
        Some(Status::Stalled)
    } else {
        None
    };
    run(config, args.write, false, args.canned.as_deref(), status)
}

pub fn comment(config: &Arc<Config>, args: WriteArgs) -> Result<()> {
    run(config, args, true, None, None)
}

fn run(
    config: &Arc<Config>,
    args: WriteArgs,
    comment: bool,
    canned: Option<&str>,
    status: Option<Status>,
) -> Result<()> {
    let who = acting(config, args.author.as_deref())?;
    let mut desk = desk(config)?;
    // The ticket, the canned answer and the files are looked up before the
    // editor opens: no text is written for nothing.
    let ticket = desk.ticket(args.id)?;
    let canned = canned
        .map(|name| desk.canned_for(ticket.id, name, &who))
        .transpose()?;
    let files = draft::files(&args.attach)?;
    let text = draft::read(|| {
        let seed = match &canned {
            Some(text) => text.clone(),
            None => last_words(&mut desk, ticket.id)?,
        };
        Ok(Draft {
            prefix: if comment {
                "pipedesk-comment-"
            } else {
                "pipedesk-reply-"
            },
            heading: format!(
                "{} ticket #{}: {}",
                if comment { "Comment on" } else { "Reply to" },
                ticket.id,
                ticket.subject
            ),
            seed_is_answer: canned.is_some(),
            seed,
        })
    })?;
    let body = match (text, &canned) {
        (Text::Edited(body), _) => body,
        // From stdin, what was read comes below the canned answer.
        (Text::Stdin(more), Some(canned)) if !more.trim().is_empty() => {
            format!("{}\n\n{}", canned.trim_end(), more)
        }
        (Text::Stdin(_), Some(canned)) => canned.clone(),
        (Text::Stdin(body), None) => body,
    };
    let answer = Answer {
        body: &body,
        comment,
        files: &files,
        status,
    };
    let outcome = desk.answer(args.id, &answer, &Act::new(who, crate::commands::now()))?;
    warn_unsent(&outcome.unsent);
    if args.json {
        return crate::term::json(&DeliveredView::of(&outcome));
    }
    eprintln!(
        "{} on #{}{}: {} queued",
        outcome.action.as_str(),
        outcome.ticket.unwrap_or(args.id),
        status.map(|s| format!(", now {s}")).unwrap_or_default(),
        crate::term::count(outcome.outbox.len() as u64, "mail", "mails")
    );
    Ok(())
}

/// The message a draft answers, quoted: the last one from outside staff
/// (the customer's, not our own reply nor an automatic one), else the last
/// message with words; nothing when there is none.
fn last_words(desk: &mut Desk, id: i64) -> Result<String> {
    let thread = desk.thread(id, false)?;
    let config = desk.config();
    let messages: Vec<_> = thread
        .history
        .iter()
        .rev()
        .filter(|e| {
            matches!(
                e.kind,
                HistoryKind::Create | HistoryKind::Correspond | HistoryKind::Comment
            )
        })
        .filter_map(|e| {
            let m = e.message.as_ref().filter(|m| !m.body.trim().is_empty())?;
            Some((e, m))
        })
        .collect();
    let from_outside = |(e, _): &&(&HistoryEntry, &StoredMessage)| {
        !e.auto && !config.is_staff_address(&Address::new(&e.author))
    };
    Ok(messages
        .iter()
        .find(from_outside)
        .or(messages.first())
        // Staff by name, as `show` writes them.
        .map(|(e, m)| draft::quote(config.shown(&e.author), &m.body))
        .unwrap_or_default())
}
