//! `pipedesk create`: staff open a ticket for someone (a phone call, a
//! walk-in), the text from stdin or the editor, the files of `--attach`
//! with it. Prints the new number, or with `--json` the ticket object.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::CreateArgs;
use crate::commands::draft::{self, Draft, Text};
use crate::commands::{act, desk, warn_unsent};
use crate::config::Config;
use crate::desk::Opening;
use crate::view::TicketView;

pub fn run(config: &Arc<Config>, args: CreateArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let mut desk = desk(config)?;
    let files = draft::files(&args.attach)?;
    let text = draft::read(|| {
        Ok(Draft {
            prefix: "pipedesk-create-",
            heading: format!("New ticket for {}: {}", args.requestor, args.subject),
            seed: String::new(),
            seed_is_answer: false,
        })
    })?;
    let body = match text {
        Text::Stdin(b) | Text::Edited(b) => b,
    };
    let opening = Opening {
        requestor: &args.requestor,
        subject: &args.subject,
        body: &body,
        queue: args.queue.as_deref(),
        files: &files,
        mail: !args.no_mail,
    };
    let changed = desk.create(&opening, &act)?;
    warn_unsent(&changed.unsent);
    let id = changed.ticket.id;
    if args.json {
        let thread = desk.thread(id, true)?;
        return crate::term::json(&TicketView::thread(&thread, crate::commands::now()));
    }
    eprintln!(
        "created #{id} for {}: {} queued",
        changed.ticket.requestor,
        crate::term::count(changed.outbox.len() as u64, "mail", "mails")
    );
    crate::term::out(&format!("{id}\n"))
}
