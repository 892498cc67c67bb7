//! `pipedesk show N`: a ticket and its whole history, read like a mail thread
//! (who wrote, when, what; status changes in between), or as JSON (SPEC §5).

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::ShowArgs;
use crate::config::Config;
use crate::inbound::{attachments_of, Attachment};
use crate::sanitize::{for_terminal, one_line};
use crate::store::{self, HistoryRow, Ticket};

#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    ticket: &'a Ticket,
    history: Vec<Entry>,
}

#[derive(Serialize)]
struct Entry {
    kind: String,
    author: String,
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<Vec<Attachment>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn entry(row: HistoryRow) -> Entry {
    let (message_id, subject, body, attachments) = match row.message {
        Some(m) => (
            m.message_id.map(|id| format!("<{id}>")),
            Some(m.subject),
            Some(m.body),
            Some(attachments_of(&m.raw)),
        ),
        None => (None, None, None, None),
    };
    Entry {
        kind: row.kind,
        author: row.author,
        date: row.date,
        message_id,
        subject,
        body,
        attachments,
        old: row.old,
        new: row.new,
        note: row.note,
    }
}

pub fn run(config: &Config, args: ShowArgs) -> Result<()> {
    let conn = crate::commands::open_existing(config)?;
    let ticket = store::ticket(&conn, args.id)?.ok_or_else(|| anyhow!("no ticket #{}", args.id))?;
    let history: Vec<Entry> = store::history(&conn, ticket.id, true)?
        .into_iter()
        .map(entry)
        .collect();
    if args.json {
        return crate::commands::print_json(&Shown {
            ticket: &ticket,
            history,
        });
    }
    print!("{}", render(&ticket, &history));
    Ok(())
}

fn render(t: &Ticket, history: &[Entry]) -> String {
    let mut out = String::new();
    out += &format!("Ticket #{}: {}\n", t.id, one_line(&t.subject));
    out += &format!(
        "Queue: {}   Status: {}   Priority: {}\n",
        one_line(&t.queue),
        t.status.as_str(),
        t.priority
    );
    out += &format!(
        "Requestor: {}   Owner: {}\n",
        one_line(&t.requestor),
        t.owner
            .as_deref()
            .map(one_line)
            .unwrap_or_else(|| "nobody".into())
    );
    if t.watchers.len() > 1 {
        out += &format!("Watchers: {}\n", one_line(&t.watchers.join(", ")));
    }
    out += &format!("Opened: {}   Updated: {}\n", t.created, t.updated);
    for e in history {
        let who = one_line(&e.author);
        match e.kind.as_str() {
            "status" => {
                out += &format!(
                    "\n-- {}  {who} changed the status: {} → {}\n",
                    e.date,
                    e.old.as_deref().unwrap_or("?"),
                    e.new.as_deref().unwrap_or("?")
                )
            }
            "owner" => {
                out += &format!(
                    "\n-- {}  {who} gave the ticket to {}\n",
                    e.date,
                    e.new
                        .as_deref()
                        .map(one_line)
                        .unwrap_or_else(|| "nobody".into())
                )
            }
            "note" => {
                out += &format!(
                    "\n-- {}  {who}: {}\n",
                    e.date,
                    one_line(e.note.as_deref().unwrap_or(""))
                )
            }
            kind => {
                let verb = match kind {
                    "create" => "opened the ticket",
                    "comment" => "commented (staff only)",
                    _ => "wrote",
                };
                out += &format!("\n== {}  {who} {verb}\n", e.date);
                if let Some(s) = &e.subject {
                    out += &format!("Subject: {}\n", one_line(s));
                }
                out += "\n";
                let body = for_terminal(e.body.as_deref().unwrap_or(""));
                out += body.trim_end();
                out += "\n";
                for a in e.attachments.iter().flatten() {
                    out += &format!(
                        "  [attachment: {} ({}, {} bytes)]\n",
                        one_line(&a.filename),
                        one_line(&a.content_type),
                        a.size
                    );
                }
            }
        }
    }
    out
}
