//! The PostgreSQL store: one database that several mail hosts share (SPEC
//! §7). Its schema is its own ordered `.sql` migrations, run under an
//! advisory lock so that many processes may open a new database at once.
//!
//! How the guarantees of SPEC §3–§6 hold with writers on many hosts:
//! - every write is one READ COMMITTED transaction whose reads of a ticket
//!   lock its row (`SELECT … FOR UPDATE`), so two changes to one ticket
//!   take turns and the second decides on what the first wrote: no status
//!   or owner change is lost;
//! - "already stored?" first takes a transaction-level advisory lock on the
//!   message's key, so the same message arriving at two hosts is stored by
//!   the first and found by the second; the unique key stays the last word,
//!   and a unique violation on it runs the transaction again (it then ends
//!   as the duplicate it is);
//! - ticket numbers come from an identity: never twice, a gap where a
//!   delivery was rolled back;
//! - a serialization failure or deadlock (SQLSTATE 40001, 40P01) runs the
//!   transaction again from the start, as `Store::write_dyn` allows, within
//!   `policy.busy_wait_secs`; past it, an error (exit 75), never a wrong
//!   answer;
//! - the change feed's seqs are taken from a one-row counter just before
//!   COMMIT (see `feed.rs`), so they are in commit order (SQLite can use
//!   history ids as seqs; identities here are handed out in the order
//!   transactions ask, not the order they commit), and each commit sends
//!   `NOTIFY pipedesk_changes` for `serve` on every host.

mod accounts;
mod connect;
mod copy;
pub mod errors;
mod feed;
mod list;
mod outbox;
mod search;
mod tickets;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use postgres::types::{FromSql, ToSql};
use postgres::{Client, Row, Statement};

pub use connect::Target;
pub use feed::{listen, Listener, CHANNEL};

use super::{Open, Store, Tx, Word};
use crate::model::*;

/// The schema, in order. `pipedesk_schema.version` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_changes_and_sign_in.sql"),
    include_str!("migrations/003_spam.sql"),
    include_str!("migrations/004_due.sql"),
    include_str!("migrations/005_merged_from.sql"),
    include_str!("migrations/006_sla.sql"),
];

/// A host that dies inside a transaction must not hold its locks for long:
/// the server ends such a session after a minute (§20.11). Set in every
/// transaction rather than as a startup option, which a connection pooler
/// such as PgBouncer refuses ("unsupported startup parameter: options")
/// and which would not follow a pooled session anyway.
const IDLE_LIMIT: &str = "SET LOCAL idle_in_transaction_session_timeout = 60000";

/// The advisory lock key that migrations run under (any constant; this one
/// is "pipedesk" in ASCII).
const MIGRATION_LOCK: i64 = 0x7069_7065_6465_736b;

pub struct PgStore {
    client: Client,
    target: Target,
    busy: Duration,
    stmts: HashMap<&'static str, Statement>,
}

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Write,
    Rehearse,
    Read,
}

/// One transaction's view of the database.
pub(crate) struct PgTx<'c> {
    c: &'c mut Client,
    stmts: &'c mut HashMap<&'static str, Statement>,
    mode: Mode,
    /// Tickets changed, for the feed: written just before COMMIT.
    pending: Vec<(i64, Time)>,
    /// The history entries this transaction wrote (`Tx::written`).
    written: Vec<(i64, NewEntry)>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl PgTx<'_> {
    fn prep(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }

    fn rows(&mut self, sql: &'static str, p: Params<'_>) -> Result<Vec<Row>> {
        let st = self.prep(sql)?;
        Ok(self.c.query(&st, p)?)
    }

    fn opt(&mut self, sql: &'static str, p: Params<'_>) -> Result<Option<Row>> {
        let st = self.prep(sql)?;
        Ok(self.c.query_opt(&st, p)?)
    }

    fn one(&mut self, sql: &'static str, p: Params<'_>) -> Result<Row> {
        let st = self.prep(sql)?;
        Ok(self.c.query_one(&st, p)?)
    }

    fn exec(&mut self, sql: &'static str, p: Params<'_>) -> Result<u64> {
        let st = self.prep(sql)?;
        Ok(self.c.execute(&st, p)?)
    }

    /// Does this transaction write (so that its reads of a ticket lock it)?
    fn writes(&self) -> bool {
        self.mode == Mode::Write
    }
}

/// Column `i` of a row; a column of another type is a broken database, an
/// error rather than a panic.
fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i)
        .with_context(|| format!("reading column {i} of a row"))
}

/// A stored word as one of the model's enums: the one way this store reads
/// them back.
fn word<T: Word>(row: &Row, i: usize) -> Result<T> {
    T::read(&get::<String>(row, i)?)
}

// Each table's columns are spelled once, in the order its row reader
// reads them, `id` first where it has one: a macro per table
// (`tickets::ticket_table!`, `tickets::message_table!`, …) that hands the
// list, each column with its type, to one of the macros below. Macros and
// not consts, so that every statement built from them stays one
// `&'static str`, prepared once per connection (`PgTx::prep`).

/// The columns of a table spec, each after the prefix (`"t."`, or `""`).
macro_rules! pg_columns {
    ($pre:literal; $c0:ident $t0:ident $(, $c:ident $t:ident)*) => {
        concat!($pre, stringify!($c0) $(, ", ", $pre, stringify!($c))*)
    };
}

/// The columns of a table spec but its first (the id an identity gives).
macro_rules! pg_columns_but_id {
    ($pre:literal; $c0:ident $t0:ident, $c1:ident $t1:ident $(, $c:ident $t:ident)*) => {
        concat!($pre, stringify!($c1) $(, ", ", $pre, stringify!($c))*)
    };
}

/// `unnest($1::bigint[], $2::text[], …)` over a table spec, named
/// `u(<its columns>)`: N rows as one parameter per column, so that a
/// batch of the copy is one round trip and one delivery's row is the same
/// statement with arrays of one.
macro_rules! pg_unnest {
    ($pre:literal; $c0:ident $t0:ident $(, $c:ident $t:ident)*) => {
        pg_unnest!(@zip ["unnest($1::", stringify!($t0), "[]"]
                   [2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24]
                   $($t)*;
                   " AS u(", stringify!($c0) $(, ", ", stringify!($c))*, ")")
    };
    (@zip [$($out:tt)*] [$n:tt $($ns:tt)*] $t:ident $($rest:ident)*; $($alias:tt)*) => {
        pg_unnest!(@zip [$($out)*, ", $", stringify!($n), "::", stringify!($t), "[]"]
                   [$($ns)*] $($rest)*; $($alias)*)
    };
    (@zip [$($out:tt)*] [$($ns:tt)*]; $($alias:tt)*) => {
        concat!($($out)*, ")", $($alias)*)
    };
}

/// The first parameter after a table spec's arrays (`$N+1`), for a
/// statement that binds more than the rows.
macro_rules! pg_next_param {
    ($pre:literal; $($c:ident $t:ident),*) => {
        pg_next_param!(@zip [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25] $($t)*)
    };
    (@zip [$n:tt $($ns:tt)*] $t:ident $($rest:ident)*) => {
        pg_next_param!(@zip [$($ns)*] $($rest)*)
    };
    (@zip [$n:tt $($ns:tt)*]) => {
        concat!("$", stringify!($n))
    };
}
use {pg_columns, pg_columns_but_id, pg_next_param, pg_unnest};

/// PostgreSQL's text cannot hold the character zero (§8.3); mail can. It is
/// kept as U+FFFD, the mark of a character that could not be kept.
fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(s)
    }
}

fn opt_text(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(text)
}

impl PgStore {
    /// Connects to the database `url` names (trying for at most `busy`)
    /// and brings its schema up to date. The database itself must exist
    /// (`createdb`: a server never gets a database by a typo); with
    /// `Open::Existing` it must hold pipedesk's schema already, as a SQLite
    /// file must exist for the commands for people.
    pub fn open(url: &str, busy: Duration, how: Open) -> Result<PgStore> {
        let target = Target::parse(url)?;
        let deadline = Instant::now() + busy;
        let mut client = target.connect(deadline)?;
        let version = schema_version(&mut client)
            .with_context(|| format!("reading the schema of {}", target.shown))?;
        if version.is_none() && how == Open::Existing {
            anyhow::bail!(
                "no pipedesk database in {} yet: `pipedesk init` with this same config creates it (and keeps the config file as it is); so does the first delivery",
                target.shown
            );
        }
        if version != Some(MIGRATIONS.len()) {
            migrate(&mut client).with_context(|| format!("migrating database {}", target.shown))?;
        }
        Ok(PgStore {
            client,
            target,
            busy,
            stmts: HashMap::new(),
        })
    }

    /// A new connection after the old one broke, within `deadline`.
    fn reconnect(&mut self, deadline: Instant) -> Result<()> {
        self.stmts.clear();
        self.client = self.target.connect(deadline)?;
        Ok(())
    }

    /// One attempt at a transaction of `mode`. Err carries whether COMMIT
    /// had been sent (after which a broken connection leaves the outcome
    /// unknown, and only the caller's retry, deduplicated, is safe).
    fn attempt(
        &mut self,
        mode: Mode,
        deadline: Instant,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> std::result::Result<(), (anyhow::Error, bool)> {
        // A lock held elsewhere is waited for only as long as the budget
        // lasts; past it PostgreSQL answers 55P03 and the attempt ends.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_millis()
            .max(1);
        let begin = match mode {
            Mode::Write | Mode::Rehearse => format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED; {IDLE_LIMIT}; SET LOCAL lock_timeout = {left}"
            ),
            // A snapshot: every read of a command for people sees one moment.
            Mode::Read => format!("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {IDLE_LIMIT}"),
        };
        if let Err(e) = self.client.batch_execute(&begin) {
            return Err((
                anyhow::Error::new(e).context("starting a transaction"),
                false,
            ));
        }
        let mut tx = PgTx {
            c: &mut self.client,
            stmts: &mut self.stmts,
            mode,
            pending: Vec::new(),
            written: Vec::new(),
        };
        let result = f(&mut tx).and_then(|()| match mode {
            Mode::Write => feed::write_pending(&mut tx),
            _ => Ok(()),
        });
        if let Err(e) = result {
            let _ = self.client.batch_execute("ROLLBACK");
            return Err((e, false));
        }
        let end = match mode {
            Mode::Write => "COMMIT",
            _ => "ROLLBACK",
        };
        self.client.batch_execute(end).map_err(|e| {
            (
                anyhow::Error::new(e).context("committing"),
                mode == Mode::Write,
            )
        })
    }

    /// Runs `f` until it commits, again after a conflict or a broken
    /// connection, for at most `busy`.
    fn run(&mut self, mode: Mode, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let start = Instant::now();
        let deadline = start + self.busy;
        let mut pause = Duration::from_millis(2);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (err, committing) = match self.attempt(mode, deadline, f) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let kind = errors::classify_any(&err);
            let left = deadline.saturating_duration_since(Instant::now());
            let again = match kind {
                errors::Kind::Final => false,
                errors::Kind::Conflict => !left.is_zero(),
                // After COMMIT was sent the change may have committed; the
                // MTA's retry (deduplicated) is the safe way to find out.
                errors::Kind::Connection => !committing && !left.is_zero(),
            };
            if !again {
                return Err(if attempts > 1 {
                    err.context(format!(
                        "gave up after {attempts} attempts in {:.1} s (policy.busy_wait_secs)",
                        start.elapsed().as_secs_f64()
                    ))
                } else {
                    err
                });
            }
            if kind == errors::Kind::Connection || self.client.is_closed() {
                self.reconnect(deadline)
                    .context("the database connection broke mid-transaction")?;
            } else {
                // Jittered, so that writers that collided do not collide
                // again in step.
                let jitter = Duration::from_micros(u64::from(std::process::id() % 997) * 3);
                std::thread::sleep((pause + jitter).min(left));
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        }
    }
}

impl Store for PgStore {
    fn write_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Mode::Write, f)
    }

    fn rehearse_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Mode::Rehearse, f)
    }

    fn read_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.run(Mode::Read, f)
    }

    fn bulk_mode(&mut self) -> Result<()> {
        // A commit returns before its WAL is flushed: a server crash may
        // lose the last batches (never corrupt anything), and an import or
        // a migration is simply run again (§30.4, synchronous_commit).
        self.client
            .batch_execute("SET synchronous_commit = off")
            .context("bulk mode")
    }

    fn describe(&self) -> String {
        format!("PostgreSQL {}", self.target.shown)
    }

    fn backup(&mut self, _to: &Path) -> Result<()> {
        // pg_dump takes a consistent snapshot without stopping writers and
        // restores into any server version; a copy made through this
        // client would be a worse pg_dump.
        anyhow::bail!(
            "the database is PostgreSQL ({}): back it up with pg_dump, e.g. \
             `pg_dump --format=custom --file=pipedesk.dump DBNAME`, and restore with pg_restore",
            self.target.shown
        )
    }
}

/// Does the database at `url` hold a pipedesk schema (`--dry-run` and
/// `check` say "not created yet" rather than create it)?
pub fn has_schema(url: &str, busy: Duration) -> Result<bool> {
    let target = Target::parse(url)?;
    let mut client = target.connect(Instant::now() + busy)?;
    Ok(schema_version(&mut client)?.is_some())
}

/// The schema version, in one round trip (the hot path of every
/// delivery); None for a database pipedesk never opened.
fn schema_version(client: &mut Client) -> Result<Option<usize>> {
    match client.simple_query("SELECT version FROM pipedesk_schema") {
        Ok(msgs) => Ok(Some(
            msgs.iter()
                .find_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
                    _ => None,
                })
                .unwrap_or(0),
        )),
        // undefined_table: a new, empty database.
        Err(e) if e.code().map(|c| c.code()) == Some("42P01") => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    // Several deliveries may open a new database at once: the advisory lock
    // makes them take turns, and each reads the version again under it, so
    // each migration runs once (CREATE TABLE IF NOT EXISTS alone is not
    // safe against a concurrent one).
    let mut tx = client.transaction()?;
    tx.batch_execute(IDLE_LIMIT)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS pipedesk_schema (
             one boolean PRIMARY KEY DEFAULT true CHECK (one),
             version integer NOT NULL
         );
         INSERT INTO pipedesk_schema (one, version) VALUES (true, 0) ON CONFLICT DO NOTHING;",
    )?;
    let current: i32 = tx
        .query_one("SELECT version FROM pipedesk_schema", &[])?
        .try_get(0)?;
    let current = usize::try_from(current).map_err(|_| anyhow!("schema version {current}"))?;
    for sql in super::pending(MIGRATIONS, current)? {
        tx.batch_execute(sql)?;
    }
    let latest = MIGRATIONS.len() as i32;
    tx.execute("UPDATE pipedesk_schema SET version = $1", &[&latest])?;
    tx.commit()?;
    Ok(())
}

/// What PostgreSQL checks beyond `store::DATA_INVARIANTS`, each as a count
/// of the rows that break it: identities and the feed counter ahead of the
/// numbers already used (a migration that forgot them would give a number
/// twice).
const INVARIANTS: [(&str, &str); 7] = [
    ("ticket numbers at or below the identity's last value: the next ticket would collide",
     "SELECT count(*) FROM tickets WHERE id > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM tickets_id_seq)"),
    ("message ids beyond their identity",
     "SELECT count(*) FROM messages WHERE id > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM messages_id_seq)"),
    ("history ids beyond their identity",
     "SELECT count(*) FROM history WHERE id > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM history_id_seq)"),
    ("outbox ids beyond their identity",
     "SELECT count(*) FROM outbox WHERE id > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM outbox_id_seq)"),
    ("changes beyond the feed's last seq",
     "SELECT count(*) FROM changes WHERE seq > (SELECT last FROM feed)"),
    ("messages missing from the search index",
     "SELECT count(*) FROM messages WHERE search IS NULL"),
    ("search indexes missing (a `pipedesk migrate` that did not finish: run it again)",
     "SELECT 1 - count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'messages_search'"),
];

fn check(tx: &mut PgTx<'_>) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let version: i32 = get(&tx.one("SELECT version FROM pipedesk_schema", &[])?, 0)?;
    if version as usize != MIGRATIONS.len() {
        problems.push(format!(
            "schema version {version}, this pipedesk's is {}",
            MIGRATIONS.len()
        ));
    }
    for (what, sql) in super::DATA_INVARIANTS.iter().chain(&INVARIANTS) {
        let n: i64 = get(&tx.one(sql, &[])?, 0)?;
        if n > 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    // Foreign keys and CHECK constraints are PostgreSQL's to keep: a row
    // that broke one was never written. An index that is not valid (a
    // CREATE INDEX CONCURRENTLY that failed) is not.
    let invalid: i64 = get(
        &tx.one(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND NOT i.indisvalid",
            &[],
        )?,
        0,
    )?;
    if invalid > 0 {
        problems.push(format!("{invalid} indexes are not valid (REINDEX them)"));
    }
    Ok(problems)
}

impl Tx for PgTx<'_> {
    fn desk_id(&mut self) -> Result<String> {
        get(
            &self.one("SELECT value FROM meta WHERE key = 'desk_id'", &[])?,
            0,
        )
    }
    fn check(&mut self) -> Result<Vec<String>> {
        check(self)
    }
    fn written(&mut self) -> Vec<(i64, NewEntry)> {
        std::mem::take(&mut self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_character_zero_is_kept_as_the_replacement_character() {
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
        assert_eq!(text("a\0b\0"), "a\u{fffd}b\u{fffd}");
        assert_eq!(opt_text(None), None);
    }

    #[test]
    fn migrations_are_ordered_and_the_feed_counter_starts_at_zero() {
        assert_eq!(MIGRATIONS.len(), 6);
        assert!(MIGRATIONS[0].contains("CREATE TABLE tickets"));
        assert!(MIGRATIONS[1].contains("INSERT INTO feed (one, last) VALUES (true, 0)"));
        assert!(MIGRATIONS[2].contains("CREATE TABLE spam_senders"));
        assert!(MIGRATIONS[3].contains("ADD COLUMN due timestamptz"));
        assert!(MIGRATIONS[4].contains("ADD COLUMN merged_from"));
        assert!(MIGRATIONS[5].contains("ADD COLUMN sla_due timestamptz"));
        // The unique key that errors.rs treats as the duplicate-delivery race.
        assert!(MIGRATIONS[0].contains(errors::MESSAGE_KEY_CONSTRAINT));
    }
}
