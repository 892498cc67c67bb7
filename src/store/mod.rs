//! The interface the desk needs from a ticket store, and its two
//! implementations: SQLite (`sqlite/`, one file on the host that receives
//! the mail, the default) and PostgreSQL (`postgres/`, one database that
//! several mail hosts share, SPEC §7). Each keeps its own ordered
//! migrations. Nothing outside these folders writes SQL.
//!
//! A store knows how to keep things, not when: every rule (who may close,
//! what reopens a ticket, which mail a change causes) lives in the desk,
//! which calls these methods inside one transaction per operation.

pub mod copy;
pub mod postgres;
pub mod sqlite;

use std::path::Path;

use anyhow::Result;

use crate::address::Address;
use crate::config::{Config, Database};
use crate::model::*;

/// A way to keep tickets. Object-safe, so the desk holds a `Box<dyn Store>`
/// whichever database the configuration names.
pub trait Store: Send {
    /// Runs `f` in one write transaction: it commits whole, or on error not
    /// at all. A store whose engine may abort a transaction over a conflict
    /// with another writer (PostgreSQL) runs `f` again from the start, so `f`
    /// must keep nothing from a failed attempt.
    fn write_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Runs `f` in a transaction that is always rolled back (`--dry-run`).
    fn rehearse_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// Runs `f` on a consistent snapshot, changing nothing.
    fn read_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;
    /// For a bulk import: commits may be less durable (an import is simply
    /// run again), in exchange for speed.
    fn bulk_mode(&mut self) -> Result<()>;
    /// Where it keeps things, for messages (`SQLite /var/lib/…`).
    fn describe(&self) -> String;
    /// Writes a consistent copy of the whole database to `to`, a file that
    /// must not exist yet, readable by its owner alone, while deliveries go
    /// on (`pipedesk backup`, SPEC §5). A store whose server has its own
    /// tool for this (PostgreSQL: `pg_dump`) refuses and names it.
    fn backup(&mut self, to: &Path) -> Result<()>;
}

impl dyn Store + '_ {
    /// `write_dyn` returning what `f` returns.
    pub fn write<T>(&mut self, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        returning(|g| self.write_dyn(g), f)
    }

    /// `rehearse_dyn` returning what `f` returns.
    pub fn rehearse<T>(&mut self, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        returning(|g| self.rehearse_dyn(g), f)
    }

    /// `read_dyn` returning what `f` returns.
    pub fn read<T>(&mut self, f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        returning(|g| self.read_dyn(g), f)
    }
}

/// Runs `f` through `run` (one of `Store`'s object-safe transactions,
/// which return nothing) and hands back what its last run returned.
fn returning<T>(
    run: impl FnOnce(&mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>,
    mut f: impl FnMut(&mut dyn Tx) -> Result<T>,
) -> Result<T> {
    let mut out = None;
    run(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| anyhow::anyhow!("a transaction ended without its result"))
}

/// A mail being sent, held by one process until `until`: nobody else sends
/// it meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub token: String,
    pub until: Time,
}

/// Which queued mail `lease_next` may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Everything queued that no other process holds (`pipedesk flush`).
    All,
    /// Only what is past its back-off too (`pipedesk flush --due`, cron).
    Due,
}

/// What one transaction can do: every concept of the store, and what
/// spans them. Reads see the transaction's own writes. Each driver
/// implements each concept once, in the module named after it; the desk
/// holds a `&mut dyn Tx` and calls any of them.
pub trait Tx: Tickets + Lists + Feed + Accounts + Outbox + Copying {
    /// This desk's identity, made when its database was created.
    fn desk_id(&mut self) -> Result<String>;
    /// The store's problems: its engine's integrity checks and the
    /// invariants of the data (`pipedesk check`).
    fn check(&mut self) -> Result<Vec<String>>;
    /// The history entries written so far in this transaction, by
    /// ticket, in order, each handed out once: what the desk's rules and
    /// SLA clocks look at before it commits (SPEC §8).
    fn written(&mut self) -> Vec<(i64, NewEntry)>;
}

/// How much of a message `Tickets::last_exchanged_with` reads: its header,
/// not the attachments behind it.
pub const THREAD_HEAD: usize = 65_536;

/// Everything a caller of `Tx` needs in scope, should it name the concepts.
pub mod prelude {
    pub use super::{Accounts, Copying, Feed, Lists, Outbox, Tickets, Tx};
}

/// Tickets, the messages on them, their watchers, merges and history.
pub trait Tickets {
    /// Is a message with this key stored? `Some(ticket)` if so.
    fn stored(&mut self, key: &str) -> Result<Option<Option<i64>>>;
    /// Stores a message and indexes it for search; returns its id.
    fn insert_message(&mut self, m: &NewMessage<'_>) -> Result<i64>;
    /// The ticket that the first of `ids` (Message-IDs without brackets,
    /// nearest parent first) names: a message stored on it, or a mail we
    /// sent for it.
    fn ticket_for_message_ids(&mut self, ids: &[String]) -> Result<Option<i64>>;
    /// Every message on ticket `id`, oldest first, with its bytes.
    fn raw_messages(&mut self, id: i64) -> Result<Vec<RawMessage>>;
    /// Bounces that routed to no ticket, newest first.
    fn bounces(&mut self) -> Result<Vec<Bounce>>;
    /// The message stored under `key`, with its bytes.
    fn message_by_key(&mut self, key: &str) -> Result<Option<RawMessage>>;
    /// What mail on ticket `id` to `address` answers (SPEC §4, threading):
    /// the last message `address` sent us on it, else the last mail we sent
    /// them on it. Its Message-ID (without brackets) and the first
    /// `THREAD_HEAD` bytes, where its References are.
    fn last_exchanged_with(&mut self, id: i64, address: &str) -> Result<Option<(String, Vec<u8>)>>;
    /// Message `id`'s subject and text as stored, with its first `bytes`
    /// bytes as `raw` (`THREAD_HEAD`: its header): what a rule's
    /// conditions read (SPEC §8), without parsing the message again, and
    /// the message of the event a hook is sent.
    fn stored_message(&mut self, id: i64, bytes: usize) -> Result<Option<StoredMessage>>;
    /// The first `THREAD_HEAD` bytes of ticket `id`'s first message, where
    /// the Thread-Index of the mail that opened it is (SPEC §4).
    fn opening_head(&mut self, id: i64) -> Result<Option<Vec<u8>>>;
    /// A new ticket in state `new`, version 1; returns its number.
    fn create_ticket(
        &mut self,
        queue: &str,
        subject: &str,
        requestor: &str,
        watchers: &[String],
        now: Time,
    ) -> Result<i64>;
    /// Ticket `id` as stored (a merged one too), with its watchers; its
    /// `merged` list is left empty (`merged` reads it).
    fn ticket(&mut self, id: i64) -> Result<Option<Ticket>>;
    /// The tickets merged into ticket `id`.
    fn merged(&mut self, id: i64) -> Result<Vec<i64>>;
    fn set_status(&mut self, id: i64, status: Status) -> Result<()>;
    fn set_owner(&mut self, id: i64, owner: Option<&Address>) -> Result<()>;
    /// Adds a watcher; false when it was one already.
    fn add_watcher(&mut self, id: i64, address: &str) -> Result<bool>;
    /// Removes a watcher; false when it was none.
    fn remove_watcher(&mut self, id: i64, address: &Address) -> Result<bool>;
    /// Moves `from`'s messages and history to `into`, and makes `from` (and
    /// every ticket merged into it before) an alias of `into`.
    fn merge(&mut self, from: i64, into: i64) -> Result<()>;
    /// Writes a history entry; the ticket's version grows by one, its
    /// `updated` becomes `now` (unless it is later already), and the change
    /// goes into the feed. Every change to a ticket writes one, so the feed
    /// misses none: feed seqs are handed out in commit order (a reader that
    /// saw seq K has seen every change up to K), and the feed keeps at least
    /// the last `FEED_WINDOW`.
    fn add_history(&mut self, ticket: i64, entry: &NewEntry, now: Time) -> Result<()>;
    /// How many of ticket `ticket`'s history entries of `kind` by `author`
    /// since `since` have `new` (and `old`, where given) as given: a rule's
    /// hourly cap, and whether the clock has fired an event already
    /// (SPEC §8).
    fn count_entries(
        &mut self,
        ticket: i64,
        kind: HistoryKind,
        author: &str,
        new: Option<&str>,
        old: Option<&str>,
        since: Time,
    ) -> Result<u64>;
    /// Ticket `id`'s history in date order, with message bytes when
    /// `with_raw`.
    fn history(&mut self, id: i64, with_raw: bool) -> Result<Vec<HistoryEntry>>;
    /// Writes ticket `t`'s SLA clocks as they are in `t.sla` (SPEC §8).
    fn set_sla(&mut self, t: &Ticket) -> Result<()>;
    /// Moves ticket `id` to queue `queue` (a word the desk checked).
    fn set_queue(&mut self, id: i64, queue: &str) -> Result<()>;
    /// Sets ticket `id`'s subject, requestor, priority and due date (the
    /// desk's `edit`, `priority`, `due`: it writes what it checked, and the
    /// history entry of what changed).
    fn set_fields(&mut self, id: i64, fields: &Fields) -> Result<()>;
    /// Marks `address` (lower-cased by the desk) as a sender of spam, for
    /// ticket `ticket` (SPEC §3: their later new tickets open in `spam`).
    fn mark_spam_sender(
        &mut self,
        address: &crate::address::Address,
        ticket: i64,
        now: Time,
    ) -> Result<()>;
    /// Forgets that `address` sent spam; false when it was not marked.
    fn forget_spam_sender(&mut self, address: &crate::address::Address) -> Result<bool>;
    /// Did staff mark `address` (lower-cased) as a sender of spam?
    fn is_spam_sender(&mut self, address: &crate::address::Address) -> Result<bool>;
}

/// Many tickets at once: the list, the board's cards, search and the
/// counts behind `stats`.
pub trait Lists {
    /// Tickets matching `filter` (as `Filter::normalised` gives it: the
    /// stores compare its words as they are), not merged ones: new, open
    /// and stalled first, then resolved, each newest first (with
    /// `filter.recently_updated`, the most recently changed first).
    /// Watchers are read only with `with_watchers` (a list of a million
    /// should not cost a million queries).
    fn list(&mut self, filter: &Filter, with_watchers: bool) -> Result<Vec<Listed>>;
    /// Tickets by number, merged ones too, with their message counts: the
    /// board's cards.
    fn listed(&mut self, ids: &[i64]) -> Result<Vec<Listed>>;
    /// Full-text search: tickets whose messages hold all `words` (a
    /// trailing `*` asks for a prefix), best first, one hit per ticket.
    fn search(&mut self, words: &[String], statuses: &[Status], limit: usize) -> Result<Vec<Hit>>;
    /// The tickets of `people` (SPEC §5: `search` finds tickets by the
    /// addresses of their requestor and authors too): each address is the
    /// requestor's or wrote one of the ticket's messages (a `create`,
    /// `correspond` or `comment` entry). With `words` (as `search` takes
    /// them; none: any ticket of theirs), only tickets whose messages hold
    /// them all, best first, the snippet from the best message; without,
    /// the most recently updated first, the snippet the opening of the
    /// first person's latest message there (`opening`). Not merged ones.
    fn search_people(
        &mut self,
        people: &[Address],
        words: &[String],
        statuses: &[Status],
        limit: usize,
    ) -> Result<Vec<Hit>>;
    /// Tickets by queue and status, and how many were created since `since`.
    fn counts(&mut self, since: Time) -> Result<Counts>;
    /// For each ticket staff answered: when it was opened, and when the
    /// first correspondence from one of `staff` came. The addresses are
    /// compared as given (an `Address` is normalised already).
    fn first_staff_replies(&mut self, staff: &[Address]) -> Result<Vec<(Time, Time)>>;
}

/// The change feed of the live board (SPEC §6).
pub trait Feed {
    /// The changes after seq `after`, oldest first, at most `limit`.
    fn changes_since(&mut self, after: i64, limit: usize) -> Result<Vec<Change>>;
    /// The latest seq (0 when nothing changed yet) and the oldest seq the
    /// feed still holds.
    fn change_window(&mut self) -> Result<(i64, i64)>;
}

/// What signing in to the web keeps (SPEC §6): password hashes, and the
/// hashes of session and API-token secrets.
pub trait Accounts {
    /// Sets the Argon2id hash of a staff member's web password.
    fn set_password(&mut self, address: &Address, hash: &str, now: Time) -> Result<()>;
    fn password(&mut self, address: &Address) -> Result<Option<String>>;
    fn add_credential(&mut self, c: &Credential) -> Result<()>;
    /// The address a credential of `kind` with this secret hash belongs to,
    /// unless it expired by `now`.
    fn credential(
        &mut self,
        kind: CredentialKind,
        secret_hash: &str,
        now: Time,
    ) -> Result<Option<String>>;
    fn remove_credential(&mut self, secret_hash: &str) -> Result<()>;
    /// Ends every credential of `kind` that `address` holds; how many.
    fn remove_credentials_of(&mut self, address: &Address, kind: CredentialKind) -> Result<u64>;
    /// Everyone who holds a credential, expired or not, each once.
    fn credential_holders(&mut self) -> Result<Vec<String>>;
}

/// The outbox: mail written with the change that caused it, sent after.
pub trait Outbox {
    /// Queues a mail (or records it as dropped); `lease` holds it for the
    /// process that will send it right after the commit. Returns its id.
    fn enqueue(
        &mut self,
        mail: &Outgoing,
        now: Time,
        state: MailState,
        lease: Option<&Lease>,
    ) -> Result<i64>;
    /// Autoreplies queued for `address` since `since`.
    fn autoreplies_since(&mut self, address: &str, since: Time) -> Result<u32>;
    /// Mails of `kind` queued for `address` alone since `since` (the once a
    /// day of the notice to staff whose mail did not count).
    fn mails_since(&mut self, kind: MailKind, address: &str, since: Time) -> Result<u32>;
    /// Takes the first queued mail after id `after` that nobody holds (and,
    /// for `Due::Due`, whose back-off is over), holding it with `lease`.
    fn lease_next(
        &mut self,
        after: i64,
        due: Due,
        now: Time,
        lease: &Lease,
    ) -> Result<Option<QueuedMail>>;
    /// Queued mail by id that `lease` holds (what this process queued).
    fn leased(&mut self, ids: &[i64], lease: &Lease) -> Result<Vec<QueuedMail>>;
    /// Records a send; false when `lease` no longer held the mail.
    fn mark_sent(&mut self, id: i64, lease: &Lease, now: Time) -> Result<bool>;
    /// Records a failed send: it stays queued, not before `retry`.
    fn mark_failed(&mut self, id: i64, lease: &Lease, error: &str, retry: Time) -> Result<()>;
    /// Lets go of a mail that the lease `token` holds (its holder died); false
    /// when that lease no longer holds it.
    fn release(&mut self, id: i64, token: &str) -> Result<bool>;
    /// The mail ticket `id` caused, oldest first.
    fn ticket_mail(&mut self, id: i64) -> Result<Vec<MailRecord>>;
    /// Every mail still queued, oldest first.
    fn queued_mail(&mut self) -> Result<Vec<MailRecord>>;
}

/// Copying a desk (`pipedesk migrate`): the rows a store dumps and loads;
/// the order and the bookkeeping are `copy::copy`'s.
pub trait Copying {
    /// How many rows each table holds, and its largest key.
    fn copy_marks(&mut self) -> Result<copy::Marks>;
    /// The rows of `table` that `pick` names, in key order: at most
    /// `max_rows`, and past `max_bytes` of message and mail bytes no more
    /// (but at least one row, however large).
    fn dump(
        &mut self,
        table: copy::Table,
        pick: copy::Pick<'_>,
        max_rows: usize,
        max_bytes: usize,
    ) -> Result<copy::Rows>;
    /// Writes the rows this store lacks, and brings the tickets (with their
    /// watchers), mail states, merges and placements that differ up to
    /// date; returns how many rows it wrote. Ids, numbers and times are
    /// kept as given.
    fn load(&mut self, rows: &copy::Rows) -> Result<u64>;
    /// Takes on another desk's identity: an empty store becoming its copy.
    fn adopt_desk_id(&mut self, id: &str) -> Result<()>;
    /// After a copy: new tickets, messages, history and mail are numbered
    /// after the copied ones, the feed goes on after the source's seq
    /// `source_seq`, which the store keeps for the next copy
    /// (`Marks::copied_feed`); None forgets it (a copy has begun again).
    fn finish_copy(&mut self, source_seq: Option<i64>) -> Result<()>;
}

/// The fields of a ticket a person corrects by hand, as `set_fields`
/// writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub subject: String,
    pub requestor: String,
    pub priority: i64,
    pub due: Option<Time>,
}

impl Fields {
    pub fn of(t: &Ticket) -> Fields {
        Fields {
            subject: t.subject.clone(),
            requestor: t.requestor.clone(),
            priority: t.priority,
            due: t.due,
        }
    }
}

/// A ticket's SLA clocks as a store keeps them: JSON text, and the next
/// deadline on its own (what `list --sort due` orders by, SPEC §8).
pub(crate) fn sla_columns(t: &Ticket) -> Result<(Option<String>, Option<Time>)> {
    match &t.sla {
        None => Ok((None, None)),
        Some(s) => Ok((
            Some(serde_json::to_string(s)?),
            s.next_deadline().map(|(_, at)| at),
        )),
    }
}

/// A ticket's SLA clocks from their stored JSON.
pub(crate) fn sla_of(json: Option<&str>) -> Result<Option<crate::sla::SlaState>> {
    json.map(|j| {
        serde_json::from_str(j).map_err(|e| anyhow::anyhow!("a ticket's SLA clocks {j:?}: {e}"))
    })
    .transpose()
}

/// How many changes a reader of the feed can be brought up to date by
/// (SPEC §6 asks for the last 10,000): the board's replay, `serve`'s
/// batch, a copy's batch.
pub const FEED_WINDOW: usize = 10_000;

/// How many changes a store keeps: twice the window, so that a reader
/// that is a full window behind still finds its place.
pub(crate) const FEED_KEEP: i64 = 2 * FEED_WINDOW as i64;

/// A word a store keeps for one of the model's enums: written with
/// `as_str` (`name` for a mail kind), read back with `from_word`. Each driver reads every one of
/// them through one function (`sqlite::rows::word`, `postgres::word`).
pub(crate) trait Word: Sized + Copy + 'static {
    /// What it is called in the error about a word that is none.
    const WHAT: &'static str;
    fn from_word(s: &str) -> Option<Self>;

    /// `from_word`, or the error of a broken database.
    fn read(s: &str) -> Result<Self> {
        Self::from_word(s).ok_or_else(|| anyhow::anyhow!("{s:?} is not a {}", Self::WHAT))
    }
}

impl Word for Status {
    const WHAT: &'static str = "status";
    fn from_word(s: &str) -> Option<Self> {
        Status::parse(s)
    }
}

impl Word for HistoryKind {
    const WHAT: &'static str = "history kind";
    fn from_word(s: &str) -> Option<Self> {
        HistoryKind::parse(s)
    }
}

impl Word for MailKind {
    const WHAT: &'static str = "mail kind";
    fn from_word(s: &str) -> Option<Self> {
        MailKind::parse(s)
    }
}

impl Word for MailState {
    const WHAT: &'static str = "mail state";
    fn from_word(s: &str) -> Option<Self> {
        MailState::parse(s)
    }
}

impl Word for CredentialKind {
    const WHAT: &'static str = "credential kind";
    fn from_word(s: &str) -> Option<Self> {
        [CredentialKind::Session, CredentialKind::Token]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The migrations that a database at schema version `current` still needs,
/// in order; a database that a newer pipedesk migrated is refused (an older
/// binary must not write to a schema it does not know).
pub(crate) fn pending<'m>(migrations: &'m [&'m str], current: usize) -> Result<&'m [&'m str]> {
    migrations.get(current..).ok_or_else(|| {
        anyhow::anyhow!(
            "database schema {current} is newer than this pipedesk ({})",
            migrations.len()
        )
    })
}

/// What must hold of the data in either store, each as a count of the rows
/// that break it, in SQL both engines read alike; each store checks these
/// and its own (`pipedesk check`).
#[rustfmt::skip]
pub(crate) const DATA_INVARIANTS: [(&str, &str); 6] = [
    ("tickets without a create entry in their history",
     "SELECT count(*) FROM tickets t WHERE t.merged_into IS NULL AND NOT EXISTS (SELECT 1 FROM history h WHERE h.ticket_id = t.id AND h.kind = 'create')"),
    ("messages stored on a ticket but missing from its history",
     "SELECT count(*) FROM messages m WHERE m.ticket_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM history h WHERE h.message = m.id)"),
    ("messages whose size does not match their bytes",
     "SELECT count(*) FROM messages WHERE size != length(raw)"),
    ("sent mail without a send time",
     "SELECT count(*) FROM outbox WHERE state = 'sent' AND sent IS NULL"),
    ("merged tickets that point at themselves or at another merged ticket",
     "SELECT count(*) FROM tickets a JOIN tickets b ON b.id = a.merged_into WHERE a.id = b.id OR b.merged_into IS NOT NULL"),
    ("messages or history entries left on a merged ticket (beyond its merge)",
     "SELECT (SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.merged_into IS NOT NULL)
           + (SELECT count(*) FROM history h JOIN tickets t ON t.id = h.ticket_id WHERE t.merged_into IS NOT NULL AND h.kind != 'merge')"),
];

/// How a command wants its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Create the database where there is none (`deliver`, `init`).
    Create,
    /// It must exist already: a typo in a path should not leave an empty
    /// database behind (the commands for people).
    Existing,
}

/// Opens the store the configuration names, bringing its schema up to date.
pub fn open(config: &Config, how: Open) -> Result<Box<dyn Store>> {
    let busy = std::time::Duration::from_secs(config.policy.busy_wait_secs);
    open_database(&config.site.database, busy, how)
}

/// Opens the store `database` names, waiting at most `busy` (`migrate`'s
/// target is not the configuration's).
pub fn open_database(
    database: &Database,
    busy: std::time::Duration,
    how: Open,
) -> Result<Box<dyn Store>> {
    match database {
        Database::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open(path, busy, how)?)),
        // The PostgreSQL client is only set up here: a SQLite delivery
        // never pays for it.
        Database::Postgres(url) => Ok(Box::new(postgres::PgStore::open(url, busy, how)?)),
    }
}

/// How a long-running reader of the change feed (`serve`) learns that it
/// may have grown: each store's own way (`Waiter`), chosen by the
/// configuration, so that nothing of either store shows here.
pub struct ChangeWaiter(Box<dyn Waiter>);

/// A store's way of waiting for its change feed to grow: on PostgreSQL a
/// NOTIFY from whichever host committed (LISTEN), on SQLite a look every
/// 100 ms (one indexed read; `deliver` does nothing for it).
pub trait Waiter: Send {
    /// Returns when the feed may have grown (or after a while anyway); an
    /// error means the waiter broke and a new one is needed.
    fn wait(&mut self) -> Result<()>;
}

impl ChangeWaiter {
    pub fn new(config: &Config) -> Result<ChangeWaiter> {
        Ok(ChangeWaiter(match &config.site.database {
            Database::Sqlite(_) => Box::new(sqlite::Poll),
            Database::Postgres(url) => Box::new(postgres::listen(
                url,
                std::time::Duration::from_secs(config.policy.busy_wait_secs),
            )?),
        }))
    }

    /// Returns when the feed may have grown (or after a while anyway).
    pub fn wait(&mut self) -> Result<()> {
        self.0.wait()
    }
}

/// Has the database the configuration names been created (a SQLite file;
/// a PostgreSQL database with pipedesk's schema)? For the commands that
/// must not create one: `deliver --dry-run`, `check`.
pub fn exists(config: &Config) -> Result<bool> {
    match &config.site.database {
        Database::Sqlite(path) => Ok(path.exists()),
        Database::Postgres(url) => postgres::has_schema(
            url,
            std::time::Duration::from_secs(config.policy.busy_wait_secs),
        ),
    }
}

/// An empty store in memory, for tests and for `--dry-run` without a
/// database.
pub fn in_memory() -> Result<Box<dyn Store>> {
    Ok(Box::new(sqlite::SqliteStore::in_memory()?))
}

/// Turns what a person typed into search terms: each word alone, a
/// trailing `*` kept as a prefix mark, words of nothing but punctuation
/// dropped (every engine's tokenizer drops them, and one would make the
/// query match nothing).
pub fn search_terms(words: &[String]) -> Result<Vec<(String, bool)>> {
    let mut terms = Vec::new();
    for word in words.iter().flat_map(|w| w.split_whitespace()) {
        let (bare, prefix) = match word.strip_suffix('*') {
            Some(b) => (b.trim_end_matches('*'), true),
            None => (word, false),
        };
        if !bare.chars().any(char::is_alphanumeric) {
            continue;
        }
        terms.push((bare.to_string(), prefix));
    }
    if terms.is_empty() {
        anyhow::bail!("nothing to search for: give at least one word");
    }
    Ok(terms)
}

/// How many words of a message's opening a hit found by its people shows.
const OPENING_WORDS: usize = 16;

/// The first words of `text` on one line: the snippet of a ticket found
/// by its people, where no word was matched.
pub fn opening(text: &str) -> String {
    let mut words = text.split_whitespace();
    let mut out: Vec<&str> = words.by_ref().take(OPENING_WORDS).collect();
    if words.next().is_some() {
        out.push("…");
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_is_the_first_words_on_one_line() {
        assert_eq!(
            opening("Hello,\n\n  the printer\tis out."),
            "Hello, the printer is out."
        );
        let long = "word ".repeat(40);
        assert_eq!(opening(&long), format!("{} …", ["word"; 16].join(" ")));
    }

    #[test]
    fn search_terms_drop_punctuation_and_keep_prefixes() {
        let t = |w: &[&str]| search_terms(&w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            t(&["printer", "pri*"]).unwrap(),
            [("printer".into(), false), ("pri".into(), true)]
        );
        assert!(t(&["--", "*"]).is_err());
    }

    #[test]
    fn a_database_runs_the_migrations_it_lacks_and_a_newer_one_is_refused() {
        let all = ["one", "two", "three"];
        assert_eq!(pending(&all, 0).unwrap(), all);
        assert_eq!(pending(&all, 2).unwrap(), ["three"]);
        assert!(pending(&all, 3).unwrap().is_empty());
        let newer = pending(&all, 4).unwrap_err().to_string();
        assert_eq!(newer, "database schema 4 is newer than this pipedesk (3)");
    }
}
