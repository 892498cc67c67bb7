//! SQLite storage: schema migrations (ordered `.sql` files applied when the
//! database opens, as atuin does), tickets, messages byte-exact, history and
//! the outbox. Every change a delivery makes goes through one `IMMEDIATE`
//! transaction, so it commits whole or not at all.

mod outbox;
mod search;
mod tickets;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use outbox::*;
pub use search::*;
pub use tickets::*;

/// The schema, in order. A database's `user_version` says how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_indexes.sql"),
];

/// Opens (creating if needed) the database at `path`, waiting up to `busy`
/// for other writers, and brings its schema up to date.
pub fn open(path: &Path, busy: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("opening database {}", path.display()))?;
    conn.busy_timeout(busy)?;
    // WAL lets readers (list, show) run beside a delivering writer; FULL
    // makes a commit durable before deliver tells the MTA "stored".
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .with_context(|| format!("switching {} to WAL", path.display()))?;
    }
    // Each delivery is its own process, so each close is usually the last
    // connection's: SQLite checkpoints then, and by default deletes the WAL,
    // so the next delivery creates it again and pays a folder fsync and a
    // header fsync. A persistent WAL truncated to nothing at the checkpoint
    // avoids both, and the next open has no WAL to read back (recovery
    // reads the whole WAL when no other process has the database open, which
    // is why the checkpoint on close stays on). Measured in BENCHMARKS.md.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 0;",
    )?;
    persist_wal(&conn);
    migrate(&mut conn).with_context(|| format!("migrating database {}", path.display()))?;
    Ok(conn)
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

/// An in-memory database with the schema, for tests.
pub fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn schema_version(conn: &Connection) -> Result<usize> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    if schema_version(conn)? >= MIGRATIONS.len() {
        return Ok(());
    }
    // Several deliveries may open a new database at once: the version is
    // read again under the write lock, so each migration runs once.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = schema_version(&tx)?;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "database schema {current} is newer than this pipedesk ({})",
            MIGRATIONS.len()
        );
    }
    for sql in &MIGRATIONS[current..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
    tx.commit()?;
    Ok(())
}

/// The time now, as stored: RFC 3339 in UTC, to the second, so that text
/// order is time order.
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The database's own invariants, beyond SQLite's integrity check, for
/// `pipedesk check`. Returns the problems found.
pub fn check(conn: &Connection) -> Result<Vec<String>> {
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
    let checks: [(&str, &str); 4] = [
        ("tickets without a create entry in their history",
         "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.ticket_id = t.id AND h.kind = 'create')"),
        ("messages stored on a ticket but missing from its history",
         "SELECT count(*) FROM messages m WHERE m.ticket_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM history h WHERE h.message = m.id)"),
        ("messages whose size does not match their bytes",
         "SELECT count(*) FROM messages WHERE size != length(raw)"),
        ("sent mail without a send time", "SELECT count(*) FROM outbox WHERE state = 'sent' AND sent IS NULL AND last_error IS NULL"),
    ];
    for (what, sql) in checks {
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
        let mut conn = open_in_memory().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), MIGRATIONS.len());
        migrate(&mut conn).unwrap();
        assert_eq!(schema_version(&conn).unwrap(), MIGRATIONS.len());
        assert!(check(&conn).unwrap().is_empty());
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = timestamp(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let b = timestamp(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        assert_eq!(a, "2023-11-14T22:13:20Z");
        assert!(a < b);
    }
}
