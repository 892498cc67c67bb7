//! Reading the desk: a ticket and its thread, lists and searches, stats,
//! the board and the change feed the live board follows.

use std::collections::HashMap;

use anyhow::Result;

use super::{resolve, Desk, Error};
use crate::address::Address;
use crate::inbound::{attachment_contents, attachments_of, Attachment};
use crate::model::*;
use crate::store::Tx;

/// How many resolved tickets the board shows (SPEC §6); the board's
/// script is told this number by the page.
pub const RESOLVED_ON_THE_BOARD: usize = 50;

/// How far back the change feed reaches: a live board that fell further
/// behind starts over (SPEC §6: at least 10,000 changes). The store keeps
/// it; the desk reads no further.
pub use crate::store::FEED_WINDOW;

/// The front ends that search, each with its own page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `pipedesk search`: `--limit N`, any N.
    Command,
    /// `GET /api/search`.
    Api,
    /// The ticket list page's search.
    Page,
}

impl Surface {
    /// How many hits a search answers when not asked for a number, and
    /// the most it answers (None: as many as asked). The numbers are those
    /// each front end always had: a terminal screen, a script's page, a
    /// page a person scrolls.
    pub const fn search_limits(self) -> (usize, Option<usize>) {
        match self {
            Surface::Command => (20, None),
            Surface::Api => (50, Some(50)),
            Surface::Page => (100, Some(100)),
        }
    }

    /// How many tickets a list answers when not asked for a number (None:
    /// all of them): the ticket list page holds 500 rows; a script and a
    /// terminal get every ticket the filter matches.
    pub const fn list_limit(self) -> Option<usize> {
        match self {
            Surface::Command | Surface::Api => None,
            Surface::Page => Some(500),
        }
    }
}

/// The number of hits a search on `surface` answers, `requested` or not:
/// the one search limit policy of every front end.
pub fn search_limit(requested: Option<usize>, surface: Surface) -> usize {
    let (default, most) = surface.search_limits();
    let n = requested.unwrap_or(default);
    most.map_or(n, |most| n.min(most))
}

/// The ticket a search box's text names by number (`#N` or `N`, SPEC §6:
/// it opens ticket N rather than searching), if it is one.
pub fn ticket_number(query: &str) -> Option<i64> {
    let q = query.trim();
    let digits = q.strip_prefix('#').unwrap_or(q).trim_start();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One attachment of a ticket, numbered 1, 2, … across the ticket in
/// message order: the one numbering of `pipedesk attachments`, the thread
/// page and the download route.
#[derive(Debug, Clone)]
pub struct TicketAttachment {
    pub index: usize,
    /// The stored message it came in.
    pub message: i64,
    pub author: String,
    pub date: Time,
    pub attachment: Attachment,
    pub bytes: Vec<u8>,
}

/// The number of each message's first attachment, by message id: where
/// that message's attachments start in the ticket's numbering.
pub fn first_attachments(messages: &[RawMessage]) -> HashMap<i64, usize> {
    let mut first = HashMap::new();
    let mut n = 1;
    for m in messages {
        first.insert(m.id, n);
        n += attachments_of(&m.raw).len();
    }
    first
}

/// Where a live board that saw the feed up to some seq goes next.
#[derive(Debug)]
pub enum Replay {
    /// The changes it missed, each ticket's card once at its latest seq.
    Changes(Vec<(i64, Listed)>),
    /// Too far behind, or ahead of the feed: it reloads the board.
    Reset,
}

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
    /// without regard to case, whoever built it, and owner `nobody` is
    /// the tickets nobody owns. The queue `spam` only when asked for
    /// (SPEC §5 `list`), for every front end. A queue the config does not
    /// know is the caller's mistake (`BadInput`, naming the known ones),
    /// not an empty list.
    pub fn list(&mut self, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>> {
        let filter = without_spam(filter.clone()).normalised();
        if let Some(queue) = &filter.queue {
            if self.config.queue_named(queue).is_none() {
                return Err(Error::unknown_queue(queue, &self.config.queue_names()).into());
            }
        }
        self.store.read(|tx| tx.list(&filter, with_watchers))
    }

    /// The tickets whose subject or messages hold all of `words`, best
    /// first. Words that hold nothing to search for are the caller's
    /// mistake (`BadInput`), told before the store is asked, so that
    /// whatever the store says after is a fault.
    ///
    /// A word that is a mail address finds the tickets of that person too
    /// (SPEC §5): those they opened or wrote on, holding the other words
    /// where there are any, come first; then the tickets whose text holds
    /// every word, the address included.
    pub fn search(
        &mut self,
        words: &[String],
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Hit>> {
        crate::store::search_terms(words).map_err(|e| Error::BadInput(format!("{e:#}")))?;
        let (people, rest) = people_in(words);
        if people.is_empty() {
            return self.store.read(|tx| tx.search(words, statuses, limit));
        }
        self.store.read(|tx| {
            let mut hits = tx.search_people(&people, &rest, statuses, limit)?;
            for hit in tx.search(words, statuses, limit)? {
                if hits.len() >= limit {
                    break;
                }
                if !hits.iter().any(|h| h.ticket == hit.ticket) {
                    hits.push(hit);
                }
            }
            Ok(hits)
        })
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

    /// The attachments of ticket `id` (or the one it was merged into),
    /// numbered across the ticket, with their bytes.
    pub fn attachments(&mut self, id: i64) -> Result<(Ticket, Vec<TicketAttachment>)> {
        let (ticket, messages) = self.messages(id)?;
        let mut found = Vec::new();
        for m in messages {
            for (attachment, bytes) in attachment_contents(&m.raw) {
                found.push(TicketAttachment {
                    index: found.len() + 1,
                    message: m.id,
                    author: m.author.clone(),
                    date: m.received,
                    attachment,
                    bytes,
                });
            }
        }
        Ok((ticket, found))
    }

    /// Attachment number `k` of ticket `id`, if there is one.
    pub fn attachment(&mut self, id: i64, k: usize) -> Result<Option<TicketAttachment>> {
        let (_, found) = self.attachments(id)?;
        Ok(found.into_iter().find(|a| a.index == k))
    }

    /// Message `m` of ticket `id` (or the one it was merged into), bytes
    /// as received; None when the ticket holds no such message.
    pub fn message(&mut self, id: i64, m: i64) -> Result<Option<RawMessage>> {
        let (_, messages) = self.messages(id)?;
        Ok(messages.into_iter().find(|r| r.id == m))
    }

    pub fn stats(&mut self, now: Time) -> Result<Stats> {
        // As the config keeps them: normalised when it loaded.
        let staff: Vec<Address> = self.config.people().map(|p| p.address.clone()).collect();
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
    /// most recently resolved, in `queue` or all queues but `spam`; with the seq of the
    /// last change they include, read in the same snapshot.
    pub fn board(&mut self, queue: Option<&str>) -> Result<(i64, Vec<Listed>)> {
        self.store.read(|tx| {
            let (seq, _) = tx.change_window()?;
            let mut cards = tx.list(
                &without_spam(Filter {
                    statuses: vec![Status::New, Status::Open, Status::Stalled],
                    queue: queue.map(String::from),
                    ..Filter::default()
                })
                .normalised(),
                false,
            )?;
            cards.extend(
                tx.list(
                    &without_spam(Filter {
                        statuses: vec![Status::Resolved],
                        queue: queue.map(String::from),
                        limit: Some(RESOLVED_ON_THE_BOARD),
                        sort: Some(Sort::Updated),
                        ..Filter::default()
                    })
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
        self.store.read(|tx| coalesced(tx, after, limit))
    }

    /// What a live board that saw the feed up to `since` is sent before
    /// the changes published after `published` (SPEC §6): the changes in
    /// between, or a reset when it is ahead of the feed or further behind
    /// than the feed holds (or than `FEED_WINDOW`). Read in one snapshot.
    ///
    /// A board a little ahead of `published` is not ahead of the feed: it
    /// read the store (`/api/board`) after the server's own reader last
    /// looked, and the changes in between reach it live, where it skips
    /// them. Told to reset, it reloaded under a person's hands (a key press
    /// on a focused card went nowhere: a flaky browser test under load).
    pub fn replay(&mut self, since: i64, published: i64) -> Result<Replay> {
        if since == published {
            return Ok(Replay::Changes(Vec::new()));
        }
        if since < 0 {
            return Ok(Replay::Reset);
        }
        self.store.read(|tx| {
            let (last, oldest) = tx.change_window()?;
            if since > published {
                return Ok(if since <= last {
                    Replay::Changes(Vec::new())
                } else {
                    Replay::Reset
                });
            }
            if since < oldest - 1 {
                return Ok(Replay::Reset);
            }
            let (read, changes) = coalesced(tx, since, FEED_WINDOW)?;
            if read < published {
                return Ok(Replay::Reset);
            }
            Ok(Replay::Changes(
                changes
                    .into_iter()
                    .filter(|(seq, _)| *seq <= published)
                    .collect(),
            ))
        })
    }

    /// The store's problems, for `pipedesk check`.
    pub fn check(&mut self) -> Result<Vec<String>> {
        self.store.read(|tx| tx.check())
    }

    /// Mail still queued that was queued before `before` (`check` warns
    /// about mail queued for over an hour, SPEC §5), oldest first.
    pub fn queued_before(&mut self, before: Time) -> Result<Vec<MailRecord>> {
        let mut old: Vec<MailRecord> = self
            .store
            .read(|tx| tx.queued_mail())?
            .into_iter()
            .filter(|m| m.state == MailState::Queued && m.created < before)
            .collect();
        old.sort_by_key(|m| (m.created, m.id));
        Ok(old)
    }
}

/// The changes after seq `after`, at most `limit`, coalesced to each
/// ticket's card at its latest seq (see `Desk::changes`).
fn coalesced(tx: &mut dyn Tx, after: i64, limit: usize) -> Result<(i64, Vec<(i64, Listed)>)> {
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
}

/// The words of a search that are mail addresses, and the others where
/// they hold something to search for (none where they do not: the
/// addresses alone are the search then).
fn people_in(words: &[String]) -> (Vec<Address>, Vec<String>) {
    let mut people = Vec::new();
    let mut rest = Vec::new();
    for word in words.iter().flat_map(|w| w.split_whitespace()) {
        match Address::parse(word) {
            Ok(address) if word.contains('@') => people.push(address),
            _ => rest.push(word.to_string()),
        }
    }
    if crate::store::search_terms(&rest).is_err() {
        rest.clear();
    }
    (people, rest)
}

/// `filter`, leaving out the queue `spam` unless it names a queue: the
/// default list and the board never show it (SPEC §5 `list`, §6).
fn without_spam(filter: Filter) -> Filter {
    if filter.queue.is_some() {
        return filter;
    }
    Filter {
        except_queue: Some(crate::config::SPAM_QUEUE.into()),
        ..filter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_surface_searches_as_many_as_it_always_did() {
        assert_eq!(search_limit(None, Surface::Command), 20);
        assert_eq!(search_limit(Some(500), Surface::Command), 500);
        assert_eq!(search_limit(None, Surface::Api), 50);
        assert_eq!(search_limit(Some(80), Surface::Api), 50);
        assert_eq!(search_limit(None, Surface::Page), 100);
    }

    #[test]
    fn a_number_in_the_search_box_names_a_ticket() {
        assert_eq!(ticket_number("#42"), Some(42));
        assert_eq!(ticket_number(" 42 "), Some(42));
        assert_eq!(ticket_number("# 7"), Some(7));
        assert_eq!(ticket_number("42 printers"), None);
        assert_eq!(ticket_number("#"), None);
        assert_eq!(ticket_number("-3"), None);
        assert_eq!(ticket_number("+3"), None);
        assert_eq!(ticket_number("99999999999999999999999"), None);
    }

    #[test]
    fn the_addresses_of_a_search_are_its_people() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (people, rest) = people_in(&words(&["John@Example.com", "printer"]));
        assert_eq!(people, [Address::new("john@example.com")]);
        assert_eq!(rest, ["printer"]);
        let (people, rest) = people_in(&words(&["<ann@example.org>", "--"]));
        assert_eq!(people, [Address::new("ann@example.org")]);
        assert!(rest.is_empty());
        let (people, rest) = people_in(&words(&["printer", "@example", "a@"]));
        assert!(people.is_empty());
        assert_eq!(rest, ["printer", "@example", "a@"]);
    }
}
