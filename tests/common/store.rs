//! Which store the desks of a test binary live in, and plain SQL access to
//! it for the assertions that count rows. The behaviour suites run twice:
//! as their own test binary on SQLite, and included by a `pg_*` test binary
//! (`tests/pg_deliver.rs`, …) on PostgreSQL, where every desk gets a fresh
//! database of the binary's throwaway cluster (`pg.rs`). The choice is made
//! by the crate's name, at compile time; a `pg_*` binary whose cluster
//! cannot start runs none of its tests (`on_postgres`).

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Once;

use super::pg;

/// Does this test binary run its desks on PostgreSQL?
pub const WANTS_POSTGRES: bool = {
    let name = env!("CARGO_CRATE_NAME").as_bytes();
    name.len() > 3 && name[0] == b'p' && name[1] == b'g' && name[2] == b'_'
};

/// Is PostgreSQL this binary's store, and running? Where it cannot start,
/// a CI run fails here (every test that asks); elsewhere the binary ends,
/// passing, after one `SKIP:` line for each of its tests, none of which
/// runs: a `pg_*` binary never tests SQLite again in PostgreSQL's name.
pub fn on_postgres() -> bool {
    if !WANTS_POSTGRES {
        return false;
    }
    match pg::shared() {
        Ok(_) => true,
        Err(why) if super::in_ci() => panic!("PostgreSQL could not start (CI=true): {why}"),
        Err(why) => skip_every_test(&why),
    }
}

/// Says `SKIP: <test>: PostgreSQL could not start: <why>` for every test of
/// this binary (as libtest lists them, with the filters it was given) and
/// ends the process with 0. The first test to get here does it; the others
/// wait for the exit, so none of them goes on.
fn skip_every_test(why: &str) -> ! {
    static SKIPPING: Once = Once::new();
    SKIPPING.call_once(|| {
        use std::io::Write;
        let binary = env!("CARGO_CRATE_NAME");
        let first_line = why.lines().next().unwrap_or_default();
        let tests = listed_tests();
        // Straight to the process's stderr: libtest captures eprintln!.
        let mut err = std::io::stderr().lock();
        for test in &tests {
            let _ = writeln!(
                err,
                "SKIP: {binary}::{test}: PostgreSQL could not start: {first_line}"
            );
        }
        let _ = writeln!(
            err,
            "SKIP: {binary}: none of its {} tests ran, PostgreSQL could not start \
             (with CI=true this fails): {why}",
            tests.len()
        );
        let _ = err.flush();
        std::process::exit(0);
    });
    // Only a thread that came second: the first one is ending the process.
    loop {
        std::thread::park();
    }
}

/// The names of this binary's tests that its arguments select: the binary
/// asked again with `--list` (which starts no test, so no cluster).
fn listed_tests() -> Vec<String> {
    let mut args = Vec::new();
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        // Our own `--format terse` goes last; a second one is refused.
        if arg == "--format" {
            given.next();
        } else if !arg.starts_with("--format=") && arg != "-q" && arg != "--quiet" {
            args.push(arg);
        }
    }
    let listed = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(&args)
            .args(["--list", "--format", "terse"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
    });
    match listed {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(String::from)
            .collect(),
        Err(_) => vec!["(its tests could not be listed)".into()],
    }
}

/// A test's store: a SQLite file, or a PostgreSQL database of its own.
pub struct TestStore {
    sqlite: PathBuf,
    pg: Option<pg::TestDb>,
    /// Another store's PostgreSQL database, used but not owned (a second
    /// host of the same desk).
    shared: Option<String>,
}

impl TestStore {
    /// The store this binary runs on; for SQLite the file at `sqlite`.
    pub fn new(sqlite: PathBuf) -> TestStore {
        let pg = on_postgres().then(|| {
            pg::shared()
                .and_then(|c| c.database())
                .unwrap_or_else(|e| panic!("a PostgreSQL test database: {e}"))
        });
        TestStore {
            sqlite,
            pg,
            shared: None,
        }
    }

    /// The store this binary runs on, for a test of the library in process
    /// (`open_in_process`).
    pub fn in_process() -> TestStore {
        TestStore::new(PathBuf::new())
    }

    /// The library's store, schema made: this store's PostgreSQL database,
    /// or (on SQLite) an empty one in memory, as the desk's own unit tests
    /// always had it.
    pub fn open_in_process(&self) -> Box<dyn pipedesk::store::Store> {
        use pipedesk::store;
        let Some(url) = self.url() else {
            return store::in_memory().expect("a SQLite store in memory");
        };
        let database = pipedesk::config::Database::Postgres(url.to_string());
        // A bound on a lock held elsewhere, as `db` gives SQLite.
        let busy = std::time::Duration::from_secs(30);
        store::open_database(&database, busy, store::Open::Create)
            .unwrap_or_else(|e| panic!("opening {url}: {e:#}"))
    }

    /// A SQLite file whatever the binary runs on: for a test of SQLite
    /// itself.
    pub fn sqlite(sqlite: PathBuf) -> TestStore {
        TestStore {
            sqlite,
            pg: None,
            shared: None,
        }
    }

    /// A PostgreSQL database of its own.
    pub fn postgres(db: pg::TestDb) -> TestStore {
        TestStore {
            sqlite: PathBuf::new(),
            pg: Some(db),
            shared: None,
        }
    }

    /// The same database as `other` (which owns it): a second mail host.
    pub fn same_as(other: &TestStore) -> TestStore {
        TestStore {
            sqlite: other.sqlite.clone(),
            pg: None,
            shared: other.url().map(String::from),
        }
    }

    /// The same database as `other` at another URL: a mail host that
    /// reaches it through a pooler.
    pub fn same_at(other: &TestStore, url: String) -> TestStore {
        TestStore {
            sqlite: other.sqlite.clone(),
            pg: None,
            shared: Some(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url().is_some()
    }

    /// What `site.database` says: the SQLite path (as given, so relative
    /// paths stay relative to the config), or the URL.
    pub fn setting(&self) -> String {
        match self.url() {
            Some(url) => url.to_string(),
            None => self.sqlite.display().to_string(),
        }
    }

    pub fn url(&self) -> Option<&str> {
        self.pg
            .as_ref()
            .map(|d| d.url.as_str())
            .or(self.shared.as_deref())
    }

    fn connect(&self) -> Option<postgres::Client> {
        self.url().map(|url| {
            postgres::Client::connect(url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
        })
    }

    /// Has pipedesk created its database here (a file; a schema)?
    pub fn exists(&self, base: &std::path::Path) -> bool {
        match self.connect() {
            Some(mut c) => c
                .query_one("SELECT to_regclass('tickets') IS NOT NULL", &[])
                .and_then(|r| r.try_get::<_, bool>(0))
                .unwrap_or(false),
            None => base.join(&self.sqlite).exists(),
        }
    }

    /// A connection for assertions; `base` is the folder a relative SQLite
    /// path is relative to.
    pub fn db(&self, base: &std::path::Path) -> Db {
        match self.connect() {
            Some(c) => Db::Pg(RefCell::new(c)),
            None => {
                let c = rusqlite::Connection::open(base.join(&self.sqlite)).expect("open db");
                c.busy_timeout(std::time::Duration::from_secs(30))
                    .expect("busy timeout");
                Db::Sqlite(c)
            }
        }
    }
}

/// A parameter of a test query.
#[derive(Debug, Clone, Copy)]
pub enum P<'a> {
    I(i64),
    T(&'a str),
    B(&'a [u8]),
}

impl From<i64> for P<'_> {
    fn from(v: i64) -> Self {
        P::I(v)
    }
}
impl<'a> From<&'a str> for P<'a> {
    fn from(v: &'a str) -> Self {
        P::T(v)
    }
}
impl<'a> From<&'a String> for P<'a> {
    fn from(v: &'a String) -> Self {
        P::T(v)
    }
}
impl<'a> From<&'a [u8]> for P<'a> {
    fn from(v: &'a [u8]) -> Self {
        P::B(v)
    }
}

/// A value read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V {
    Null,
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl V {
    #[track_caller]
    pub fn int(&self) -> i64 {
        match self {
            V::I(i) => *i,
            V::Null => 0,
            other => panic!("not a number: {other:?}"),
        }
    }
    #[track_caller]
    pub fn text(&self) -> String {
        match self {
            V::T(s) => s.clone(),
            other => panic!("not text: {other:?}"),
        }
    }
    #[track_caller]
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            V::B(b) => b.clone(),
            other => panic!("not bytes: {other:?}"),
        }
    }
}

/// Either store, asked the same SQL: `?1`-style parameters (PostgreSQL's
/// `$1` is written for it), and queries kept to what both engines read the
/// same way.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Pg(RefCell<postgres::Client>),
}

impl Db {
    /// Every row of `sql`.
    #[track_caller]
    pub fn rows(&self, sql: &str, params: &[P<'_>]) -> Vec<Vec<V>> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                let args: Vec<rusqlite::types::Value> = params
                    .iter()
                    .map(|p| match *p {
                        P::I(i) => rusqlite::types::Value::Integer(i),
                        P::T(t) => rusqlite::types::Value::Text(t.to_string()),
                        P::B(b) => rusqlite::types::Value::Blob(b.to_vec()),
                    })
                    .collect();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args), |r| {
                        (0..n)
                            .map(|i| {
                                use rusqlite::types::ValueRef;
                                Ok(match r.get_ref(i)? {
                                    ValueRef::Null => V::Null,
                                    ValueRef::Integer(i) => V::I(i),
                                    ValueRef::Real(f) => V::I(f as i64),
                                    ValueRef::Text(t) => V::T(String::from_utf8_lossy(t).into()),
                                    ValueRef::Blob(b) => V::B(b.to_vec()),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<V>>>()
                    })
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.collect::<rusqlite::Result<_>>()
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
            Db::Pg(c) => {
                use postgres::types::{ToSql, Type};
                let sql = dollar_params(sql);
                let boxed: Vec<Box<dyn ToSql + Sync>> = params
                    .iter()
                    .map(|p| -> Box<dyn ToSql + Sync> {
                        match *p {
                            P::I(i) => Box::new(i),
                            P::T(t) => Box::new(t.to_string()),
                            P::B(b) => Box::new(b.to_vec()),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| b.as_ref()).collect();
                let rows = c
                    .borrow_mut()
                    .query(sql.as_str(), &refs)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| {
                                let t = r.columns()[i].type_().clone();
                                let v = if t == Type::INT8 {
                                    r.get::<_, Option<i64>>(i).map(V::I)
                                } else if t == Type::INT4 {
                                    r.get::<_, Option<i32>>(i).map(|v| V::I(v.into()))
                                } else if t == Type::BOOL {
                                    r.get::<_, Option<bool>>(i).map(|v| V::I(v.into()))
                                } else if t == Type::TEXT || t == Type::VARCHAR || t == Type::NAME {
                                    r.get::<_, Option<String>>(i).map(V::T)
                                } else if t == Type::BYTEA {
                                    r.get::<_, Option<Vec<u8>>>(i).map(V::B)
                                } else if t == Type::NUMERIC {
                                    // sum(bigint): read as text, it is whole.
                                    panic!("{sql}: cast numeric column {i} to bigint")
                                } else {
                                    panic!("{sql}: column {i} of type {t}")
                                };
                                v.unwrap_or(V::Null)
                            })
                            .collect()
                    })
                    .collect()
            }
        }
    }

    /// The one number `sql` answers.
    #[track_caller]
    pub fn count(&self, sql: &str, params: &[P<'_>]) -> i64 {
        let rows = self.rows(sql, params);
        rows.first()
            .and_then(|r| r.first())
            .map(V::int)
            .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// The first column of every row, as text.
    #[track_caller]
    pub fn texts(&self, sql: &str, params: &[P<'_>]) -> Vec<String> {
        self.rows(sql, params).iter().map(|r| r[0].text()).collect()
    }

    /// Runs statements that return nothing.
    #[track_caller]
    pub fn batch(&self, sql: &str) {
        match self {
            Db::Sqlite(c) => c
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Db::Pg(c) => c
                .borrow_mut()
                .batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }
}

/// `?1` → `$1`, outside quotes.
fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => out.push('$'),
            c => out.push(c),
        }
    }
    out
}
