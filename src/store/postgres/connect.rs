//! From `site.database`'s URL to a connection: the password from the URL,
//! else `$PGPASSWORD`, else the password file (`$PGPASSFILE` or
//! `~/.pgpass`, read as libpq reads it: the driver reads neither), and a
//! connection tried again with back-off for at most `policy.busy_wait_secs`,
//! so that a database that is restarting is waited for and one that stays
//! away is an error (`deliver` exits 75 and the MTA retries).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use super::errors;

/// What one connection needs, parsed once.
#[derive(Clone)]
pub struct Target {
    config: Config,
    /// The URL without its password, for messages.
    pub shown: String,
    /// Why a password file was not used, to say so if signing in fails.
    pgpass_note: Option<String>,
}

/// Longest wait for one connection attempt: a host that does not answer
/// (a firewall dropping packets) must not use the whole budget at once.
const ATTEMPT: Duration = Duration::from_secs(5);

impl Target {
    /// Parses a `postgres://` or `postgresql://` URL, filling in what libpq
    /// would: the user (`$PGUSER`, else the login name), the host (the
    /// local socket folder, else localhost) and the password.
    pub fn parse(url: &str) -> Result<Target> {
        let shown = crate::config::redact_password(url);
        let mut config = Config::from_str(url)
            .map_err(|e| anyhow!("site.database: {shown} is not a PostgreSQL URL: {e}"))?;
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .ok()
                .filter(|u| !u.is_empty())
                .or_else(login_name)
                .ok_or_else(|| anyhow!("site.database: {shown} names no user"))?;
            config.user(&user);
        }
        if config.get_hosts().is_empty() {
            // libpq's default: the server's socket folder on this host.
            let socket = Path::new("/var/run/postgresql");
            if socket.is_dir() {
                config.host_path(socket);
            } else {
                config.host("localhost");
            }
        }
        let mut pgpass_note = None;
        if config.get_password().is_none() {
            if let Some(pw) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
                config.password(pw);
            } else {
                if let Some(path) = password_file() {
                    match read_password_file(&path) {
                        Ok(text) => {
                            if let Some(pw) = lookup(&text, &Want::of(&config)) {
                                config.password(pw);
                            }
                        }
                        Err(note) => pgpass_note = Some(note),
                    }
                }
            }
        }
        config.application_name("pipedesk");
        config.keepalives_idle(Duration::from_secs(30));
        Ok(Target {
            config,
            shown,
            pgpass_note,
        })
    }

    /// Connects, trying again with back-off until `deadline`; a refusal
    /// that will not mend (a wrong password, no such database) ends at once.
    pub fn connect(&self, deadline: Instant) -> Result<Client> {
        let mut pause = Duration::from_millis(25);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let mut config = self.config.clone();
            config.connect_timeout(left.clamp(Duration::from_millis(100), ATTEMPT));
            let err = match config.connect(NoTls) {
                Ok(client) => return Ok(client),
                Err(e) => e,
            };
            let code = err.code().map(|c| c.code().to_string());
            let left = deadline.saturating_duration_since(Instant::now());
            if !errors::connect_retryable(code.as_deref()) || left.is_zero() {
                let mut e = anyhow::Error::new(err);
                if let Some(note) = &self.pgpass_note {
                    e = e.context(note.clone());
                }
                let tries = if attempts == 1 {
                    String::new()
                } else {
                    format!(" ({attempts} attempts)")
                };
                return Err(e).with_context(|| format!("connecting to {}{tries}", self.shown));
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// For `listen`: the driver's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

fn login_name() -> Option<String> {
    if let Some(u) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return Some(u);
    }
    // SAFETY: getpwuid returns a pointer into static storage or null; the
    // name is copied out at once, before any other call could reuse it.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// `$PGPASSFILE`, else `~/.pgpass`.
fn password_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".pgpass"))
}

/// The file's text; Err(why it is ignored) where libpq ignores it too: a
/// file that group or others can read (libpq-pgpass: "the permissions on
/// .pgpass must disallow any access to world or group").
fn read_password_file(path: &Path) -> std::result::Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(String::new());
    };
    if !meta.is_file() {
        return Ok(String::new());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!(
            "password file {} ignored: group or others may read it (chmod 0600 it)",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map_err(|e| format!("password file {}: {e}", path.display()))
}

/// What a password-file line must match.
struct Want {
    host: String,
    port: String,
    database: String,
    user: String,
}

impl Want {
    fn of(config: &Config) -> Want {
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            // libpq matches a socket connection to the default folder as
            // "localhost".
            _ => "localhost".to_string(),
        };
        let user = config.get_user().unwrap_or_default().to_string();
        Want {
            host,
            port: config
                .get_ports()
                .first()
                .copied()
                .unwrap_or(5432)
                .to_string(),
            database: config.get_dbname().unwrap_or(&user).to_string(),
            user,
        }
    }
}

/// The password of the first line of a password file that matches `want`:
/// `hostname:port:database:username:password`, `*` matching anything,
/// `\:` and `\\` standing for `:` and `\`, `#` starting a comment.
fn lookup(text: &str, want: &Want) -> Option<String> {
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        let [host, port, database, user, password] = fields.as_slice() else {
            continue;
        };
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(host, &want.host)
            && matches(port, &want.port)
            && matches(database, &want.database)
            && matches(user, &want.user)
        {
            return Some(password.clone());
        }
    }
    None
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            // The password is the rest of the line, colons and all.
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(host: &str, port: &str, db: &str, user: &str) -> Want {
        Want {
            host: host.into(),
            port: port.into(),
            database: db.into(),
            user: user.into(),
        }
    }

    #[test]
    fn the_first_matching_line_gives_the_password() {
        let file = "# comment\n\
                    db.example.org:5432:other:desk:wrong\n\
                    db.example.org:5432:pipedesk:desk:s3cret\n\
                    *:*:*:desk:fallback\n";
        assert_eq!(
            lookup(file, &want("db.example.org", "5432", "pipedesk", "desk")).as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            lookup(file, &want("other.host", "6543", "x", "desk")).as_deref(),
            Some("fallback")
        );
        assert_eq!(lookup(file, &want("h", "1", "d", "nobody")), None);
    }

    #[test]
    fn escaped_colons_and_backslashes_are_part_of_a_field() {
        let file = "h:5432:d:u:pa\\:ss\\\\word\nh\\:x:5432:d:u:other\n";
        assert_eq!(
            lookup(file, &want("h", "5432", "d", "u")).as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            lookup(file, &want("h:x", "5432", "d", "u")).as_deref(),
            Some("other")
        );
        // An unescaped colon in the password is kept.
        assert_eq!(
            lookup("h:1:d:u:a:b\n", &want("h", "1", "d", "u")).as_deref(),
            Some("a:b")
        );
    }

    #[test]
    fn lines_with_too_few_fields_are_skipped() {
        assert_eq!(lookup("h:1:d\n", &want("h", "1", "d", "u")), None);
    }

    #[test]
    fn url_fills_in_what_libpq_would() {
        let t = Target::parse("postgresql://desk:pw@db.example.org:6000/pipedesk").unwrap();
        assert_eq!(t.config.get_user(), Some("desk"));
        assert_eq!(t.config.get_dbname(), Some("pipedesk"));
        assert_eq!(t.config.get_ports(), &[6000]);
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(
            t.shown,
            "postgresql://desk:***@db.example.org:6000/pipedesk"
        );
        assert!(Target::parse("postgres://[::1/x").is_err());
    }

    #[test]
    fn a_password_file_others_may_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_password_file(&path).is_err());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_password_file(&path).unwrap(), "*:*:*:*:pw\n");
    }
}
