//! A throwaway PostgreSQL cluster for the tests: started by the tests
//! themselves (initdb and pg_ctl, as the `postgres` user when they run as
//! root) in a temp folder, listening on 127.0.0.1 on a free port with trust
//! authentication, shared by every test of one test binary, each test on
//! its own fresh database. It is stopped and removed when the test binary
//! exits (an atexit handler), or, should the binary be killed, by a small
//! watchdog process that outlives it by a second.
//!
//! Where PostgreSQL cannot start, `shared()` says why. With `CI=true` a
//! test that needs it then fails: a green CI must mean the PostgreSQL runs
//! really ran.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running cluster.
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    pub port: u16,
    /// Run its programs as this user (`runuser -u`), when we are root.
    user: Option<String>,
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The cluster of this test binary, started on first use.
pub fn shared() -> Result<&'static Cluster, String> {
    SHARED
        .get_or_init(|| {
            let c = Cluster::start()?;
            // SAFETY: registers a plain function with no arguments.
            unsafe {
                libc::atexit(stop_shared);
            }
            Ok(c)
        })
        .as_ref()
        .map_err(Clone::clone)
}

extern "C" fn stop_shared() {
    if let Some(Ok(c)) = SHARED.get() {
        c.remove();
    }
}

/// The shared cluster for a test that is about PostgreSQL itself; where it
/// cannot start, None after a `SKIP:` line (a failure under `CI=true`).
pub fn shared_or_skip(test: &str) -> Option<&'static Cluster> {
    match shared() {
        Ok(c) => Some(c),
        Err(why) if super::in_ci() => panic!("{test}: PostgreSQL could not start (CI=true): {why}"),
        Err(why) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: {test}: PostgreSQL could not start: {why}"
            );
            None
        }
    }
}

/// The folder of initdb and pg_ctl: `$PG_BINDIR`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian's layout), else `pg_config --bindir`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PG_BINDIR") {
        return Some(PathBuf::from(d));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("initdb").exists().then_some(dir)
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

impl Cluster {
    /// Starts a new cluster of its own (the shared one is `shared()`); a
    /// test that stops and starts PostgreSQL takes one of these.
    pub fn start() -> Result<Cluster, String> {
        let bin = bin_dir().ok_or("no PostgreSQL binaries (initdb) found")?;
        // SAFETY: geteuid(2) cannot fail.
        let root_user = unsafe { libc::geteuid() } == 0;
        let user = root_user.then(|| "postgres".to_string());
        let root = tempfile::Builder::new()
            .prefix("pipedesk-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("a temp folder: {e}"))?
            .keep();
        let cluster = Cluster {
            root,
            bin,
            port: free_port()?,
            user,
        };
        if let Some(u) = &cluster.user {
            let ok = Command::new("chown")
                .arg(u)
                .arg(&cluster.root)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                cluster.remove();
                return Err(format!(
                    "cannot give {} to user {u}",
                    cluster.root.display()
                ));
            }
        }
        if let Err(e) = cluster.init().and_then(|()| cluster.run_server()) {
            let log = std::fs::read_to_string(cluster.root.join("log")).unwrap_or_default();
            cluster.remove();
            return Err(format!("{e}\n{log}"));
        }
        cluster.watchdog();
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// One of the cluster's programs, as its owner.
    fn program(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn init(&self) -> Result<(), String> {
        let out = self
            .program("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
            .args(["--no-sync", "--no-instructions"])
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// Starts the server and waits until it takes connections.
    fn run_server(&self) -> Result<(), String> {
        // Durability is not what these tests are about (a killed *client*
        // is, and a server stopped cleanly): no fsync, for speed.
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c full_page_writes=off -c synchronous_commit=off \
             -c max_connections=200 -c shared_buffers=64MB",
            self.port,
            self.root.display()
        );
        let status = self
            .program("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.root.join("log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("running pg_ctl: {e}"))?;
        if !status.success() {
            return Err("pg_ctl start failed".into());
        }
        let start = Instant::now();
        loop {
            match self.admin() {
                Ok(_) => return Ok(()),
                Err(e) if start.elapsed() > Duration::from_secs(30) => {
                    return Err(format!("the server takes no connections: {e}"))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Stops the server (`-m fast`: sessions are ended, as at a restart).
    pub fn stop(&self) {
        let _ = self
            .program("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .current_dir(&self.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// Starts it again after `stop`, on the same port.
    pub fn restart(&self) -> Result<(), String> {
        self.run_server()
    }

    /// Stops the server at once and removes its folder.
    fn remove(&self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self
                .program("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .current_dir(&self.root)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }

    /// A process that stops and removes the cluster once this test binary
    /// is gone, however it ended.
    fn watchdog(&self) {
        use std::os::unix::process::CommandExt;
        let as_owner = match &self.user {
            Some(u) => format!("runuser -u {u} -- "),
            None => String::new(),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             [ -e '{data}/postmaster.pid' ] && {as_owner}'{pg_ctl}' -D '{data}' -m immediate stop; \
             rm -rf '{root}'",
            pid = std::process::id(),
            data = self.data().display(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            root = self.root.display(),
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A connection to the maintenance database.
    pub fn admin(&self) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
    }

    /// An empty database `t_<…>` of its own, emptied again and kept for
    /// the next test when the value is dropped (a new database costs a
    /// copy of template1; an empty schema, far less).
    pub fn database(&self) -> Result<TestDb, String> {
        let url = self.url("postgres");
        let reused = POOL
            .lock()
            .ok()
            .and_then(|mut p| p.iter().position(|(u, _)| *u == url).map(|i| p.remove(i)));
        if let Some((_, name)) = reused {
            return Ok(TestDb {
                url: self.url(&name),
                admin_url: url,
                name,
            });
        }
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "t_{}_{}_{nanos:x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = self.admin().map_err(|e| e.to_string())?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        Ok(TestDb {
            url: self.url(&name),
            admin_url: self.url("postgres"),
            name,
        })
    }
}

/// Databases emptied by their last test, by the cluster's admin URL.
static POOL: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// One test's database.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub fn connect(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) else {
            return;
        };
        // Whatever a test changed about the database itself goes back, and
        // so does everything in it: the next test finds it as new.
        let name = &self.name;
        let reset = admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} RESET ALL; ALTER DATABASE {name} CONNECTION LIMIT -1;
                 ALTER DATABASE {name} ALLOW_CONNECTIONS true;"
            ))
            .is_ok()
            && postgres::Client::connect(&self.url, postgres::NoTls)
                .and_then(|mut c| {
                    c.batch_execute(
                        "SET lock_timeout = '2s'; DROP SCHEMA public CASCADE; CREATE SCHEMA public;",
                    )
                })
                .is_ok();
        if reset {
            if let Ok(mut pool) = POOL.lock() {
                pool.push((self.admin_url.clone(), name.clone()));
                return;
            }
        }
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

/// PgBouncer (Debian's `pgbouncer`) in session mode in front of a cluster,
/// on 127.0.0.1 and a free port, with the settings an admin would start
/// from (in particular it refuses unknown startup parameters). Stopped when
/// the value is dropped.
pub struct Bouncer {
    root: PathBuf,
    pub port: u16,
    child: std::process::Child,
}

/// The pgbouncer binary: `$PGBOUNCER`, else Debian's.
fn bouncer_program() -> Option<PathBuf> {
    let path = std::env::var_os("PGBOUNCER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"));
    path.exists().then_some(path)
}

impl Cluster {
    /// A PgBouncer in front of this cluster, taking connections.
    pub fn bouncer(&self) -> Result<Bouncer, String> {
        let program = bouncer_program().ok_or("no pgbouncer (apt-get install pgbouncer)")?;
        let root = tempfile::Builder::new()
            .prefix("pipedesk-pgbouncer-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("a temp folder: {e}"))?
            .keep();
        let port = free_port()?;
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={cluster}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {root}/users.txt\n\
             pool_mode = session\ndefault_pool_size = 20\nmax_client_conn = 200\n\
             logfile = {root}/log\n",
            cluster = self.port,
            root = root.display(),
        );
        let written = std::fs::write(root.join("pgbouncer.ini"), ini)
            .and_then(|()| std::fs::write(root.join("users.txt"), "\"postgres\" \"\"\n"));
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&root);
            return Err(format!("writing pgbouncer.ini: {e}"));
        }
        // PgBouncer will not run as root: as the cluster's owner, then.
        let mut command = match &self.user {
            Some(u) => {
                let _ = Command::new("chown").arg("-R").arg(u).arg(&root).status();
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        use std::os::unix::process::CommandExt;
        let child = command
            .arg(root.join("pgbouncer.ini"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("running {}: {e}", program.display()))?;
        let mut bouncer = Bouncer { root, port, child };
        // Gone with this test binary, however it ends.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -KILL -{group} 2>/dev/null",
                me = std::process::id(),
                group = bouncer.child.id(),
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let start = Instant::now();
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        loop {
            match postgres::Client::connect(&url, postgres::NoTls) {
                Ok(_) => return Ok(bouncer),
                Err(e) if start.elapsed() > Duration::from_secs(20) => {
                    let log = std::fs::read_to_string(bouncer.root.join("log")).unwrap_or_default();
                    bouncer.stop();
                    return Err(format!("pgbouncer takes no connections: {e}\n{log}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Bouncer {
    /// The URL of database `db` through the pooler.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn stop(&mut self) {
        // Its own process group: runuser and pgbouncer both.
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a process group id and a signal number.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        self.stop();
    }
}
