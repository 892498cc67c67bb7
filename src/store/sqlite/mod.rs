//! The SQLite store: one file on the host that receives the mail. Schema
//! migrations are ordered `.sql` files applied when the database opens, as
//! atuin does; every write is one `IMMEDIATE` transaction, so deliveries
//! take the write lock in turn (waiting `policy.busy_wait_secs`) and a
//! change commits whole or not at all.

mod accounts;
mod copy;
mod feed;
mod list;
mod outbox;
mod search;
mod tickets;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags, Row, TransactionBehavior};

use super::{Open, Store, Tx, Waiter, Word};
use crate::model::*;

/// The schema, in order. A database's `user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_indexes.sql"),
    include_str!("migrations/003_stall_merge_watch.sql"),
    include_str!("migrations/004_changes_and_sign_in.sql"),
    include_str!("migrations/005_spam.sql"),
    include_str!("migrations/006_due.sql"),
    include_str!("migrations/007_merged_from.sql"),
    include_str!("migrations/008_sla.sql"),
];

pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
}

/// One transaction's view of the database.
struct SqliteTx<'c> {
    conn: &'c Connection,
    /// The history entries this transaction wrote (`Tx::written`).
    written: Vec<(i64, NewEntry)>,
}

/// Creates the database file, where there is none yet, readable and
/// writable by its owner alone (0600): it holds every mail and the
/// password hashes (issue 18: it was created 0644). SQLite gives the -wal
/// and -shm files the mode of the database file, so they follow.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        // Another process created it first: theirs is as private.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

impl SqliteStore {
    /// Opens the database at `path` (creating it with `Open::Create`),
    /// waiting up to `busy` for other writers, and brings its schema up to
    /// date.
    pub fn open(path: &Path, busy: Duration, how: Open) -> Result<SqliteStore> {
        if how == Open::Existing && !path.exists() {
            anyhow::bail!(
                "no database at {} yet: `pipedesk init` with this same config creates it (and keeps the config file as it is); so does the first delivery",
                path.display()
            );
        }
        no_memory_statistics();
        create_private(path).with_context(|| format!("creating database {}", path.display()))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening database {}", path.display()))?;
        conn.busy_timeout(busy)?;
        // WAL lets readers (list, show) run beside a delivering writer; FULL
        // makes a commit durable before deliver tells the MTA "stored".
        switch_to_wal(&conn, busy)
            .with_context(|| format!("switching {} to WAL", path.display()))?;
        // Each delivery is its own process, so each close is usually the
        // last connection's: SQLite checkpoints then, and by default deletes
        // the WAL, so the next delivery creates it again and pays a folder
        // fsync and a header fsync. A persistent WAL truncated to nothing at
        // the checkpoint avoids both, and the next open has no WAL to read
        // back (recovery reads the whole WAL when no other process has the
        // database open, which is why the checkpoint on close stays on).
        // Measured in BENCHMARKS.md.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 0;")?;
        persist_wal(&conn);
        migrate(&mut conn).with_context(|| format!("migrating database {}", path.display()))?;
        Ok(SqliteStore {
            conn,
            path: Some(path.to_path_buf()),
        })
    }

    /// An empty database in memory, with the schema.
    pub fn in_memory() -> Result<SqliteStore> {
        no_memory_statistics();
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn)?;
        Ok(SqliteStore { conn, path: None })
    }
}

/// Puts the database in WAL mode (once, on its first open). The change
/// takes the database whole, and SQLite answers "busy" to it without
/// calling the busy handler: two deliveries that open a new database at
/// once raced here and one exited 75 at once (a flaky test). So it is
/// tried again, within the same `busy` wait as any other write.
fn switch_to_wal(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    let start = std::time::Instant::now();
    loop {
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && start.elapsed() < busy =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

impl Store for SqliteStore {
    fn write_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("waiting for the database")?;
        f(&mut SqliteTx {
            conn: &tx,
            written: Vec::new(),
        })?;
        tx.commit().context("committing")
    }

    fn rehearse_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let tx = self.conn.transaction()?;
        let result = f(&mut SqliteTx {
            conn: &tx,
            written: Vec::new(),
        });
        tx.rollback()?;
        result
    }

    fn read_dyn(&mut self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        // A deferred transaction that only reads is a snapshot in WAL mode:
        // a rehearsal's, rolled back.
        self.rehearse_dyn(f)
    }

    fn bulk_mode(&mut self) -> Result<()> {
        // Statement journals in memory rather than in temporary files (every
        // insert into the FTS index takes one), a larger page cache for the
        // index, and no fsync per commit: in WAL mode a crash can lose the
        // last batches but never corrupts, and an import is simply run
        // again. Deliveries keep synchronous = FULL.
        self.conn.execute_batch(
            "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; PRAGMA synchronous = NORMAL;",
        )?;
        Ok(())
    }

    fn describe(&self) -> String {
        match &self.path {
            Some(p) => format!("SQLite {}", p.display()),
            None => "SQLite in memory".into(),
        }
    }

    fn backup(&mut self, to: &Path) -> Result<()> {
        // The file is created here, empty, 0600 and only if it is new:
        // `create_new` is the one atomic "refuse to overwrite", and VACUUM
        // INTO keeps an empty file's mode (it would create its own with the
        // umask's). VACUUM INTO reads in one read transaction, so the copy
        // is the database as of one commit; in WAL mode that reader blocks
        // no delivery, and the copy is compacted, unlike a copy of the file
        // (which could catch a commit half-checkpointed).
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(to)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    anyhow::anyhow!("{} exists: a backup never overwrites a file", to.display())
                }
                _ => anyhow::Error::new(e).context(format!("creating {}", to.display())),
            })?;
        let copied = to
            .to_str()
            .context("the backup's path is not UTF-8")
            .and_then(|name| {
                self.conn
                    .execute("VACUUM INTO ?1", [name])
                    .context("copying the database")
            });
        if let Err(e) = copied {
            // Half a copy must not pass for a backup.
            let _ = std::fs::remove_file(to);
            return Err(e.context(format!("backing up to {}", to.display())));
        }
        Ok(())
    }
}

impl Tx for SqliteTx<'_> {
    fn desk_id(&mut self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'desk_id'", [], |r| {
                r.get(0)
            })?)
    }
    fn check(&mut self) -> Result<Vec<String>> {
        check(self.conn)
    }
    fn written(&mut self) -> Vec<(i64, NewEntry)> {
        std::mem::take(&mut self.written)
    }
}

/// SQLite's way of waiting for the feed: a look every `POLL`, one indexed
/// read (`feed::CHANGE_WINDOW`), so that `deliver` does nothing for it.
pub struct Poll;

impl Poll {
    /// Well inside SPEC §6's second.
    pub const POLL: Duration = Duration::from_millis(100);
}

impl Waiter for Poll {
    fn wait(&mut self) -> Result<()> {
        std::thread::sleep(Poll::POLL);
        Ok(())
    }
}

/// A stored stamp as a time; a column that is not one is a broken database.
fn time_at(row: &Row<'_>, i: usize) -> rusqlite::Result<Time> {
    let text: String = row.get(i)?;
    parse_stamp(&text).ok_or_else(|| conversion(i, format!("{text:?} is not a time")))
}

/// As `time_at`, for a column that may be NULL.
fn opt_time(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Time>> {
    match row.get::<_, Option<String>>(i)? {
        Some(s) => parse_stamp(&s)
            .map(Some)
            .ok_or_else(|| conversion(i, format!("{s:?} is not a time"))),
        None => Ok(None),
    }
}

/// A stored word as one of the model's enums: the one way this store reads
/// them back.
fn word<T: Word>(row: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = row.get(i)?;
    T::read(&text).map_err(|e| conversion(i, e.to_string()))
}

/// Placeholders for `values`, which go on the end of a statement's
/// arguments `args`: `?3,?4` after two.
fn marks(args: &mut Vec<String>, values: impl IntoIterator<Item = String>) -> String {
    values
        .into_iter()
        .map(|v| {
            args.push(v);
            format!("?{}", args.len())
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn conversion(i: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
}

/// Turns off SQLite's count of the memory it holds (SQLITE_CONFIG_MEMSTATUS),
/// which nothing here reads: with it on, every one of SQLite's allocations
/// and frees takes a global mutex and updates the counters, 2,600 times
/// in one `deliver` (about 200,000 instructions, callgrind). It can only be
/// set before SQLite initialises, so it is done once, before the process
/// opens its first connection; where SQLite is running already (a test
/// that opened a connection of its own first), SQLite refuses it and the
/// statistics simply stay on.
fn no_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config takes SQLITE_CONFIG_MEMSTATUS with one int;
        // it is called once, before this process opens a connection
        // (SQLite answers SQLITE_MISUSE, changing nothing, if it has
        // initialised already).
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

/// SQLITE_FCNTL_PERSIST_WAL: keep the WAL file when the last connection
/// closes. Only a speed-up, so a failure is ignored.
fn persist_wal(conn: &Connection) {
    let mut on: std::os::raw::c_int = 1;
    // SAFETY: the handle is a live connection owned by `conn`; the main
    // database is named by a null pointer; the op reads and writes one int.
    unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            std::ptr::null(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&mut on as *mut std::os::raw::c_int).cast(),
        );
    }
}

fn schema_version(conn: &Connection) -> Result<usize> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    if schema_version(conn)? < MIGRATIONS.len() {
        // A migration may rebuild a table that others point at; SQLite's
        // way is foreign keys off meanwhile (it cannot be switched inside a
        // transaction) and a check before the commit.
        conn.execute_batch("PRAGMA foreign_keys = OFF;")?;
        let result = run_migrations(conn);
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        result?;
    } else {
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    }
    Ok(())
}

fn run_migrations(conn: &mut Connection) -> Result<()> {
    // Several deliveries may open a new database at once: the version is
    // read again under the write lock, so each migration runs once.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = schema_version(&tx)?;
    for sql in super::pending(MIGRATIONS, current)? {
        tx.execute_batch(sql)?;
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if broken > 0 {
        anyhow::bail!("{broken} rows would point at missing rows after the migration");
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

/// The database's own invariants, beyond SQLite's integrity check.
fn check(conn: &Connection) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if integrity != "ok" {
        problems.push(format!("integrity check: {integrity}"));
    }
    let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if fk > 0 {
        problems.push(format!("{fk} rows point at missing rows"));
    }
    for (what, sql) in super::DATA_INVARIANTS {
        let n: i64 = conn.query_row(sql, [], |r| r.get(0))?;
        if n > 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    let fts: std::result::Result<(), rusqlite::Error> = conn.execute_batch(
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
    );
    if let Err(e) = fts {
        problems.push(format!("search index: {e}"));
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_record_their_version() {
        let mut store = SqliteStore::in_memory().unwrap();
        assert_eq!(schema_version(&store.conn).unwrap(), MIGRATIONS.len());
        migrate(&mut store.conn).unwrap();
        assert_eq!(schema_version(&store.conn).unwrap(), MIGRATIONS.len());
        let problems = (&mut store as &mut dyn Store)
            .read(|tx| tx.check())
            .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_database_of_the_first_schema_migrates_with_its_tickets() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (id, queue, subject, status, requestor, created, updated)
               VALUES (1, 'general', 'x', 'open', 'a@b', 't0', 't1');
             INSERT INTO watchers VALUES (1, 'a@b');
             INSERT INTO history (ticket_id, kind, author, date) VALUES (1, 'create', 'a@b', 't0');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (status, version): (String, i64) = conn
            .query_row(
                "SELECT status, version FROM tickets WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((status.as_str(), version), ("open", 2));
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0);
        conn.execute("UPDATE tickets SET status = 'stalled' WHERE id = 1", [])
            .unwrap();
        // An entry written before merges were recorded came from nowhere.
        let from: Option<i64> = conn
            .query_row("SELECT merged_from FROM history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(from, None);
    }
}
