//! The help desk's operations, one method each, shared by every front end
//! (`deliver` run by the MTA, the commands for people, the web) and every
//! store. Each change owns its transaction and the mail it causes: the
//! change and its outbox rows commit together or not at all, then the mail
//! is sent. Every rule lives here; a front end parses its input, calls one
//! of these methods and renders what it returns.
//!
//! By concept: `deliver` (mail in), `change` (changes by people and the
//! status rule), `answer` (the staff's replies, comments and the tickets
//! they open, with their files; canned answers), `send` (leases, back-off, flush), `read` (tickets, lists,
//! the board and the feed), `signin` (passwords, sessions, tokens), `spam`
//! (marking a ticket as spam, and undoing it), `fields` (queue, subject,
//! requestor, priority, due), and `error`, the one vocabulary of refusals the front ends map.

mod answer;
mod change;
mod clocks;
mod deliver;
mod error;
mod fields;
mod mailer;
mod read;
pub mod rules;
mod send;
pub mod signin;
mod spam;

use std::sync::Arc;

use anyhow::Result;

pub use answer::{Answer, Opening};
pub use change::{Act, Changed};
pub use deliver::{Batch, Incoming, Outcome, Rehearsal};
pub use error::Error;
pub use fields::destination;
pub(crate) use mailer::in_spam;
pub use read::{
    first_attachments, search_limit, ticket_number, Replay, Stats, Surface, Thread,
    TicketAttachment, FEED_WINDOW, RESOLVED_ON_THE_BOARD,
};
pub use send::{backoff, Flushed, SendError, LEASE_SECS};

use crate::config::Config;
use crate::model::*;
use crate::outbound::templates::Texts;
use crate::store::{self, Open, Store, Tx};

pub struct Desk {
    config: Arc<Config>,
    store: Box<dyn Store>,
    texts: Option<Texts>,
    /// This process's hold on the mail it queues.
    token: String,
}

/// Ticket `id`, or the ticket it was merged into.
pub(crate) fn resolve(tx: &mut dyn Tx, id: i64) -> Result<Option<Ticket>> {
    let mut seen = Vec::new();
    let mut next = id;
    loop {
        let Some(t) = tx.ticket(next)? else {
            return Ok(None);
        };
        match t.merged_into {
            // A merge re-points older aliases, so one hop is the rule; the
            // bound only guards a hand-edited database.
            Some(into) if !seen.contains(&into) && seen.len() < 16 => {
                seen.push(next);
                next = into;
            }
            _ => return Ok(Some(t)),
        }
    }
}

impl Desk {
    /// The desk of `config`, on the store it names.
    pub fn open(config: Arc<Config>, how: Open) -> Result<Desk> {
        let store = store::open(&config, how)?;
        Ok(Desk::with_store(config, store))
    }

    pub fn with_store(config: Arc<Config>, store: Box<dyn Store>) -> Desk {
        Desk {
            config,
            store,
            texts: None,
            token: send::lease_token(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn describe_store(&self) -> String {
        self.store.describe()
    }
}
