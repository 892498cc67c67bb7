//! Reading the desk: a ticket and its thread, lists and searches, stats,
//! the board and the change feed the live board follows.

use anyhow::Result;

use super::{resolve, Desk, Error};
use crate::model::*;

/// How many resolved tickets the board shows (SPEC §6).
pub const RESOLVED_ON_THE_BOARD: usize = 50;

/// A ticket with all it holds, for `show`.
#[derive(Debug, Clone)]
pub struct Thread {
    pub ticket: Ticket,
    pub history: Vec<HistoryEntry>,
    pub mail: Vec<MailRecord>,
}

/// `pipedesk stats`.
#[derive(Debug, Clone)]
pub struct Stats {
    pub by_queue_status: Vec<(String, Status, i64)>,
    pub new_this_week: i64,
    /// Tickets answered by staff, and the median wait for the first answer.
    pub answered: usize,
    pub median_first_reply_secs: Option<i64>,
}

impl Desk {
    /// Ticket `id`, or the one it was merged into.
    pub fn ticket(&mut self, id: i64) -> Result<Ticket> {
        self.store.read(|tx| {
            let mut t = resolve(tx, id)?.ok_or(Error::NoTicket(id))?;
            t.merged = tx.merged(t.id)?;
            Ok(t)
        })
    }

    /// Ticket `id` (or the one it was merged into) with its history and the
    /// mail it caused; message bytes with `with_raw`.
    pub fn thread(&mut self, id: i64, with_raw: bool) -> Result<Thread> {
        self.store.read(|tx| {
            let mut ticket = resolve(tx, id)?.ok_or(Error::NoTicket(id))?;
            ticket.merged = tx.merged(ticket.id)?;
            Ok(Thread {
                history: tx.history(ticket.id, with_raw)?,
                mail: tx.ticket_mail(ticket.id)?,
                ticket,
            })
        })
    }

    /// The tickets `filter` matches; its queue, owner and requestor match
    /// without regard to case, whoever built it.
    pub fn list(&mut self, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
        let filter = filter.clone().normalised();
        self.store.read(|tx| tx.list(&filter, with_watchers))
    }

    pub fn search(
        &mut self,
        words: &[String],
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Hit>> {
        self.store.read(|tx| tx.search(words, statuses, limit))
    }

    pub fn bounces(&mut self) -> Result<Vec<Bounce>> {
        self.store.read(|tx| tx.bounces())
    }

    /// The messages of ticket `id` (or the one it was merged into), bytes
    /// as received, in date order.
    pub fn messages(&mut self, id: i64) -> Result<(Ticket, Vec<RawMessage>)> {
        self.store
            .read(|tx| {
                let ticket = resolve(tx, id)?.ok_or(Error::NoTicket(id))?;
                Ok((tx.raw_messages(ticket.id)?, ticket))
            })
            .map(|(m, t)| (t, m))
    }

    pub fn stats(&mut self, now: Time) -> Result<Stats> {
        let staff: Vec<String> = self
            .config
            .staff
            .admins
            .iter()
            .chain(&self.config.staff.members)
            .cloned()
            .collect();
        let since = now - chrono::Duration::days(7);
        let (counts, replies) = self
            .store
            .read(|tx| Ok((tx.counts(since)?, tx.first_staff_replies(&staff)?)))?;
        let mut waits: Vec<i64> = replies
            .iter()
            .map(|(opened, replied)| (*replied - *opened).num_seconds().max(0))
            .collect();
        waits.sort_unstable();
        Ok(Stats {
            by_queue_status: counts.by_queue_status,
            new_this_week: counts.new_since,
            answered: waits.len(),
            median_first_reply_secs: (!waits.is_empty()).then(|| waits[(waits.len() - 1) / 2]),
        })
    }

    /// The board (SPEC §6): every ticket that is not resolved, and the 50
    /// most recently resolved, in `queue` or all queues; with the seq of the
    /// last change they include, read in the same snapshot.
    pub fn board(&mut self, queue: Option<&str>) -> Result<(i64, Vec<Listed>)> {
        self.store.read(|tx| {
            let (seq, _) = tx.change_window()?;
            let mut cards = tx.list(
                &Filter {
                    statuses: vec![Status::New, Status::Open, Status::Stalled],
                    queue: queue.map(String::from),
                    ..Filter::default()
                }
                .normalised(),
                false,
            )?;
            cards.extend(
                tx.list(
                    &Filter {
                        statuses: vec![Status::Resolved],
                        queue: queue.map(String::from),
                        limit: Some(RESOLVED_ON_THE_BOARD),
                        recently_updated: true,
                        ..Filter::default()
                    }
                    .normalised(),
                    false,
                )?,
            );
            Ok((seq, cards))
        })
    }

    /// The change feed: (the latest seq, the oldest it still holds).
    pub fn change_window(&mut self) -> Result<(i64, i64)> {
        self.store.read(|tx| tx.change_window())
    }

    /// The changes after seq `after`, at most `limit` of them, as the cards
    /// of the tickets they touched: each ticket once, at its latest seq, in
    /// seq order (several changes to one ticket arrive as one). Also the
    /// last seq read (`after` when there was none): where the next call
    /// starts.
    pub fn changes(&mut self, after: i64, limit: usize) -> Result<(i64, Vec<(i64, Listed)>)> {
        self.store.read(|tx| {
            let changes = tx.changes_since(after, limit)?;
            let last = changes.last().map_or(after, |c| c.seq);
            let mut latest: Vec<(i64, i64)> = Vec::new();
            for c in changes.iter().rev() {
                if !latest.iter().any(|(_, t)| *t == c.ticket) {
                    latest.push((c.seq, c.ticket));
                }
            }
            latest.reverse();
            let ids: Vec<i64> = latest.iter().map(|(_, t)| *t).collect();
            let cards = tx.listed(&ids)?;
            let coalesced = latest
                .into_iter()
                .filter_map(|(seq, id)| {
                    cards
                        .iter()
                        .find(|l| l.ticket.id == id)
                        .map(|l| (seq, l.clone()))
                })
                .collect();
            Ok((last, coalesced))
        })
    }

    /// The store's problems, for `pipedesk check`.
    pub fn check(&mut self) -> Result<Vec<String>> {
        self.store.read(|tx| tx.check())
    }
}
