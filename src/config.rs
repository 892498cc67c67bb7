//! TOML → a validated `Config`, once per process (SPEC §2). Nothing else in
//! pipedesk reads the environment or files for settings.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exit::Fail;
use crate::people::Person;

/// Where the system-wide configuration lives when nothing else names one.
pub const SYSTEM_CONFIG: &str = "/etc/pipedesk/pipedesk.toml";

/// The queue of mail to `submit@` (SPEC §1); it always exists.
pub const GENERAL_QUEUE: &str = "general";
/// The queue of mail flagged as spam (SPEC §3); it always exists and no
/// configured queue may take its name.
pub const SPAM_QUEUE: &str = "spam";

/// The whole configuration. Every key is optional; the defaults make
/// `pipedesk deliver < msg.eml` work in an empty folder.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub site: Site,
    pub addresses: Addresses,
    pub queues: Vec<Queue>,
    pub staff: Staff,
    pub policy: Policy,
    pub mail: Mail,
    pub autoreply: Autoreply,
    pub templates: Templates,
    pub canned: Canned,
    pub web: Web,
    /// Business hours by name (SPEC §8), as written; checked into
    /// `calendar()`.
    #[serde(rename = "calendars")]
    pub raw_calendars: std::collections::BTreeMap<String, crate::calendar::RawCalendar>,
    #[serde(skip)]
    calendars: std::collections::BTreeMap<String, crate::calendar::Calendar>,
    /// SLAs by name (SPEC §8), as written; checked into `sla()`.
    #[serde(rename = "sla")]
    pub raw_slas: std::collections::BTreeMap<String, crate::sla::RawSla>,
    #[serde(skip)]
    slas: std::collections::BTreeMap<String, crate::sla::Sla>,
    /// The desk's own rules (SPEC §8), as written; `rules()` gives them
    /// checked.
    #[serde(rename = "rules")]
    pub raw_rules: Vec<crate::rules::RawRule>,
    /// `raw_rules`, checked when the file loads.
    #[serde(skip)]
    rules: Vec<crate::rules::Rule>,
    /// The file this came from, if any (for messages).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The subject tag pattern, compiled on first use: once per process,
    /// not once per message (it was most of `import`'s time).
    #[serde(skip)]
    tag: std::sync::OnceLock<crate::tag::Tag>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Site {
    /// The name in the subject tag: `[name #42]`.
    pub name: String,
    /// Mail for these domains is ours.
    pub domains: Vec<String>,
    pub database: Database,
    /// Times for people and due dates given without a zone (SPEC §2);
    /// a name the system's zoneinfo lacks is refused when the file loads.
    pub timezone: crate::zone::Zone,
}

/// Where the tickets live (SPEC §2, §7): a SQLite file, or a PostgreSQL
/// database that several mail hosts share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL, as given.
    Postgres(String),
}

impl Database {
    /// Reads the `site.database` setting.
    pub fn parse(value: &str) -> Database {
        let lower = value.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Database::Postgres(value.trim().to_string())
        } else {
            Database::Sqlite(PathBuf::from(value))
        }
    }

    /// For messages: the path, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => redact_password(url),
        }
    }
}

impl<'de> Deserialize<'de> for Database {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "must name a file or a postgres:// URL",
            ));
        }
        Ok(Database::parse(&s))
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Addresses {
    pub submit: String,
    pub ticket_prefix: String,
    pub comment_suffix: String,
    pub done_suffix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub name: String,
    pub address: String,
    /// This queue's own staff: they hear of its new tickets (SPEC §4).
    #[serde(default)]
    pub members: Vec<Person>,
    /// The name its mail goes out under, where not `mail.from_name`.
    #[serde(default)]
    pub from_name: Option<String>,
    /// The `[sla.NAME]` its tickets run on (SPEC §8).
    #[serde(default)]
    pub sla: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Staff {
    pub admins: Vec<Person>,
    pub members: Vec<Person>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownTicket {
    Reject,
    Create,
}

/// Who else becomes a watcher (SPEC §1, §2 `policy.cc_watchers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CcWatchers {
    /// The Cc of the message that opened the ticket only.
    Create,
    /// Also the Cc of later mail from the requestor or staff.
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseFrom {
    RequestorOrStaff,
    Staff,
    Anyone,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub unknown_ticket: UnknownTicket,
    pub close_from: CloseFrom,
    /// Where set, staff status needs this MTA's Authentication-Results to
    /// show a DMARC (or aligned DKIM) pass.
    pub trusted_authserv_id: String,
    pub max_message_bytes: u64,
    pub busy_wait_secs: u64,
    pub cc_watchers: CcWatchers,
    /// A ticket's watchers at most, the requestor included: further Cc
    /// are not added (SPEC §3), so no mail makes the desk write to many,
    /// and `watch` refuses one more (SPEC §5).
    pub max_watchers: usize,
    /// When mail from a staff address counts as staff (SPEC §2, §3).
    pub staff_mail: StaffMail,
}

/// When mail from a staff address counts as staff (SPEC §2
/// `policy.staff_mail`): From: is easy to forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StaffMail {
    /// Only with this MTA's Authentication-Results showing a DMARC pass,
    /// or a DKIM pass aligned with From (`policy.trusted_authserv_id`).
    Authenticated,
    /// From: alone, for a desk whose MTA checks nothing.
    From,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Sendmail,
    Smtp,
    File,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mail {
    pub transport: Transport,
    pub sendmail: PathBuf,
    pub smtp_url: String,
    pub dir: PathBuf,
    pub from_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Autoreply {
    pub enabled: bool,
    pub per_sender_per_day: u32,
}

/// `pipedesk serve` (SPEC §6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Web {
    /// Where it listens: loopback by default; a TLS proxy goes in front.
    pub listen: String,
    /// Links in mail and pages; its origin is the only one allowed to
    /// change things, and https:// makes the session cookie Secure.
    pub base_url: String,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            listen: "127.0.0.1:8080".into(),
            base_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// Canned answers (SPEC §5 `canned`): one file per answer, `NAME.txt`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Canned {
    pub dir: PathBuf,
}

impl Default for Canned {
    fn default() -> Self {
        Canned {
            dir: PathBuf::from("canned"),
        }
    }
}

/// Files overriding the built-in texts, by template name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Templates {
    pub autoreply: Option<PathBuf>,
    pub new_ticket: Option<PathBuf>,
    pub correspondence: Option<PathBuf>,
    pub comment: Option<PathBuf>,
    pub resolved: Option<PathBuf>,
    pub staff_reply: Option<PathBuf>,
    pub assigned: Option<PathBuf>,
    pub requestor_closed: Option<PathBuf>,
}

impl Templates {
    /// (template name, override file) for every template that is overridden.
    pub fn overrides(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        [
            ("autoreply", &self.autoreply),
            ("new_ticket", &self.new_ticket),
            ("correspondence", &self.correspondence),
            ("comment", &self.comment),
            ("resolved", &self.resolved),
            ("staff_reply", &self.staff_reply),
            ("assigned", &self.assigned),
            ("requestor_closed", &self.requestor_closed),
        ]
        .into_iter()
        .filter_map(|(name, path)| path.as_deref().map(|p| (name, p)))
    }
}

impl Default for Site {
    fn default() -> Self {
        Site {
            name: "pipedesk".into(),
            domains: vec!["localhost".into()],
            database: Database::Sqlite(PathBuf::from("pipedesk.db")),
            timezone: crate::zone::Zone::utc(),
        }
    }
}

impl Default for Addresses {
    fn default() -> Self {
        Addresses {
            submit: "submit".into(),
            ticket_prefix: "ticket-".into(),
            comment_suffix: "-comment".into(),
            done_suffix: "-done".into(),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unknown_ticket: UnknownTicket::Reject,
            close_from: CloseFrom::RequestorOrStaff,
            trusted_authserv_id: String::new(),
            max_message_bytes: 50 * 1024 * 1024,
            busy_wait_secs: 30,
            cc_watchers: CcWatchers::Create,
            max_watchers: 20,
            staff_mail: StaffMail::Authenticated,
        }
    }
}

impl Default for Mail {
    fn default() -> Self {
        Mail {
            transport: Transport::File,
            sendmail: PathBuf::from("/usr/sbin/sendmail"),
            smtp_url: "smtp://localhost:25".into(),
            dir: PathBuf::from("outbox"),
            from_name: "Support".into(),
        }
    }
}

impl Default for Autoreply {
    fn default() -> Self {
        Autoreply {
            enabled: true,
            per_sender_per_day: 5,
        }
    }
}

impl Config {
    /// Finds and loads the configuration: `explicit` (from `--config`), else
    /// `$PIPEDESK_CONFIG`, else the system file where it exists, else the
    /// built-in defaults.
    pub fn find(explicit: Option<&Path>) -> Result<Config, Fail> {
        if let Some(path) = explicit {
            return Config::load(path);
        }
        if let Some(path) = std::env::var_os("PIPEDESK_CONFIG").filter(|p| !p.is_empty()) {
            return Config::load(Path::new(&path));
        }
        let system = Path::new(SYSTEM_CONFIG);
        if system.exists() {
            return Config::load(system);
        }
        let mut config = Config::default();
        config.normalize();
        config.validate().map_err(|(_, msg)| Fail::Config(msg))?;
        Ok(config)
    }

    /// Loads one file; relative paths inside it are taken relative to its
    /// folder.
    pub fn load(path: &Path) -> Result<Config, Fail> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Fail::Config(format!("config {}: {e}", path.display())))?;
        let mut config = Config::parse(&text)
            .map_err(|msg| Fail::Config(format!("config {}:{msg}", path.display())))?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config.source = Some(path.to_path_buf());
        config.rule_files().map_err(|(i, msg)| {
            let line = crate::rules::rule_lines(&text).get(i).copied().unwrap_or(1);
            Fail::Config(format!("config {}:{line}: {msg}", path.display()))
        })?;
        Ok(config)
    }

    /// Parses and validates TOML text. The error reads `LINE: key `K`: what`.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            let key = key_at_line(text, line);
            let what = e.message().trim().to_string();
            let rule = rule_at_line(text, line)
                .map(|name| format!("rule {name:?}: "))
                .unwrap_or_default();
            match key {
                Some(key) if !what.contains(&key) => {
                    format!("{line}: {rule}key `{key}`: {what}")
                }
                _ => format!("{line}: {rule}{what}"),
            }
        })?;
        config.normalize();
        config.validate().map_err(|(key, msg)| {
            let line = find_key_line(text, &key).unwrap_or(1);
            format!("{line}: key `{key}`: {msg}")
        })?;
        config.compile_clocks().map_err(|(key, msg)| {
            let line = find_key_line(text, &key).unwrap_or(1);
            format!("{line}: key `{key}`: {msg}")
        })?;
        config.compile_rules().map_err(|(i, msg)| {
            let line = crate::rules::rule_lines(text).get(i).copied().unwrap_or(1);
            format!("{line}: {msg}")
        })?;
        Ok(config)
    }

    /// Is `at` inside the business hours of calendar `name` (SPEC §8)?
    /// A name the config lacks (refused when it loads) is never open.
    pub fn is_open(&self, name: &str, at: crate::model::Time) -> bool {
        self.calendars.get(name).is_some_and(|c| c.is_open(at))
    }

    /// The SLA the tickets of `queue` run on, if any (SPEC §8).
    pub fn sla_of(&self, queue: &str) -> Option<&crate::sla::Sla> {
        let name = self
            .queues
            .iter()
            .find(|q| q.name == queue)?
            .sla
            .as_deref()?;
        self.slas.get(name)
    }

    /// The SLA named `name` (a ticket keeps the name of the one it runs on).
    pub fn sla(&self, name: &str) -> Option<&crate::sla::Sla> {
        self.slas.get(name)
    }

    /// Does any queue run on an SLA?
    pub fn has_slas(&self) -> bool {
        self.queues.iter().any(|q| q.sla.is_some())
    }

    /// The desk's rules, checked, in the order they are written.
    pub fn rules(&self) -> &[crate::rules::Rule] {
        &self.rules
    }

    /// Checks the calendars, then the SLAs against them, then the queues'
    /// SLAs: (dotted key, what is wrong).
    fn compile_clocks(&mut self) -> Result<(), (String, String)> {
        self.calendars = crate::calendar::compile_all(&self.raw_calendars, &self.site.timezone)?;
        self.slas = crate::sla::compile_all(&self.raw_slas, &self.calendars)?;
        for q in &self.queues {
            if let Some(name) = q.sla.as_deref().filter(|n| !self.slas.contains_key(*n)) {
                let known: Vec<&str> = self.slas.keys().map(String::as_str).collect();
                return Err((
                    "queues.sla".into(),
                    format!(
                        "no SLA {name:?} (known: {})",
                        if known.is_empty() {
                            "none: add an [sla.NAME] table".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks `raw_rules` against the rest of the config: (the rule's
    /// index, what is wrong).
    fn compile_rules(&mut self) -> Result<(), (usize, String)> {
        if self.raw_rules.is_empty() {
            return Ok(());
        }
        let is_staff = |a: &crate::address::Address| self.is_staff_address(a);
        let known = crate::rules::Known {
            queues: self.queue_names(),
            calendars: self.calendars.keys().map(String::as_str).collect(),
            is_staff: &is_staff,
        };
        let rules = crate::rules::compile(&self.raw_rules, &known)?;
        self.rules = rules;
        Ok(())
    }

    /// The canned answers and templates the rules name exist (once the
    /// file's relative paths are resolved): (the rule's index, what is
    /// missing).
    fn rule_files(&mut self) -> Result<(), (usize, String)> {
        use crate::rules::{Action, NoticeText};
        let base = self
            .source
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        for (i, rule) in self.rules.iter_mut().enumerate() {
            for action in &mut rule.then {
                let canned = match action {
                    Action::Reply(name)
                    | Action::Notify {
                        text: NoticeText::Canned(name),
                        ..
                    } => Some(name.clone()),
                    Action::Notify {
                        text: NoticeText::Template(path),
                        ..
                    } => {
                        if let (true, Some(b)) = (path.is_relative(), &base) {
                            *path = b.join(&*path);
                        }
                        if !path.is_file() {
                            return Err((
                                i,
                                format!(
                                    "rule {:?}: do.notify.template: no file {}",
                                    rule.name,
                                    path.display()
                                ),
                            ));
                        }
                        None
                    }
                    _ => None,
                };
                if let Some(name) = canned {
                    let file = self.canned.dir.join(format!("{name}.txt"));
                    if !file.is_file() {
                        return Err((
                            i,
                            format!(
                                "rule {:?}: no canned answer {name:?} ({} is missing)",
                                rule.name,
                                file.display()
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn normalize(&mut self) {
        for d in &mut self.site.domains {
            *d = d.trim().to_ascii_lowercase();
        }
        let a = &mut self.addresses;
        for s in [
            &mut a.submit,
            &mut a.ticket_prefix,
            &mut a.comment_suffix,
            &mut a.done_suffix,
        ] {
            *s = s.trim().to_ascii_lowercase();
        }
        for q in &mut self.queues {
            q.address = q.address.trim().to_ascii_lowercase();
        }
    }

    fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Database::Sqlite(path) = &mut self.site.database {
            join(path);
        }
        join(&mut self.mail.dir);
        join(&mut self.canned.dir);
        let t = &mut self.templates;
        for p in [
            &mut t.autoreply,
            &mut t.new_ticket,
            &mut t.correspondence,
            &mut t.comment,
            &mut t.resolved,
            &mut t.staff_reply,
            &mut t.assigned,
            &mut t.requestor_closed,
        ]
        .into_iter()
        .flatten()
        {
            join(p);
        }
    }

    /// Checks what serde cannot: returns (dotted key, problem).
    fn validate(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, m: String| Err((k.to_string(), m));
        let name = &self.site.name;
        if name.trim().is_empty() || name.contains(['[', ']', '#', '\r', '\n']) {
            return bad(
                "site.name",
                format!("{name:?} cannot be used in a subject tag"),
            );
        }
        if self.site.domains.is_empty() {
            return bad("site.domains", "must name at least one domain".into());
        }
        if let Some(d) = self.site.domains.iter().find(|d| !is_plain_domain(d)) {
            return bad("site.domains", format!("{d:?} is not a domain"));
        }
        let a = &self.addresses;
        for (key, value) in [
            ("addresses.submit", &a.submit),
            ("addresses.ticket_prefix", &a.ticket_prefix),
        ] {
            if value.is_empty() || !is_local_part(value) {
                return bad(key, format!("{value:?} is not a usable local part"));
            }
        }
        for (key, value) in [
            ("addresses.comment_suffix", &a.comment_suffix),
            ("addresses.done_suffix", &a.done_suffix),
        ] {
            if value.is_empty()
                || !is_local_part(value)
                || value.starts_with(|c: char| c.is_ascii_digit())
            {
                return bad(key, format!("{value:?} is not a usable suffix"));
            }
        }
        if a.comment_suffix == a.done_suffix {
            return bad(
                "addresses.done_suffix",
                "must differ from addresses.comment_suffix".into(),
            );
        }
        let mut seen = vec![a.submit.clone()];
        for q in &self.queues {
            if q.name.trim().is_empty() || q.name == SPAM_QUEUE {
                return bad(
                    "queues.name",
                    format!("{:?} cannot be a queue name", q.name),
                );
            }
            if !is_local_part(&q.address)
                || seen.contains(&q.address)
                || q.address.starts_with(&a.ticket_prefix)
            {
                return bad(
                    "queues.address",
                    format!(
                        "{:?} is empty, repeated or clashes with our other addresses",
                        q.address
                    ),
                );
            }
            seen.push(q.address.clone());
        }
        if self.queues.iter().any(|q| {
            q.from_name
                .as_deref()
                .is_some_and(|n| n.contains(['\r', '\n']))
        }) {
            return bad("queues.from_name", "must be one line".into());
        }
        if self.policy.max_message_bytes == 0 {
            return bad("policy.max_message_bytes", "must be above 0".into());
        }
        if self.policy.max_watchers == 0 {
            return bad(
                "policy.max_watchers",
                "must be at least 1 (the requestor)".into(),
            );
        }
        if self.mail.from_name.contains(['\r', '\n']) {
            return bad("mail.from_name", "must be one line".into());
        }
        if self.web.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "web.listen",
                format!(
                    "{:?} is not an address and port such as 127.0.0.1:8080",
                    self.web.listen
                ),
            );
        }
        let base = self.web.base_url.trim_end_matches('/');
        let host = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"));
        if host.is_none_or(|h| h.is_empty() || h.contains(['/', '?', '#', ' '])) {
            return bad(
                "web.base_url",
                format!(
                    "{:?} is not an http:// or https:// origin",
                    self.web.base_url
                ),
            );
        }
        Ok(())
    }

    /// What a valid config may still get wrong, for `check` (and `serve`)
    /// to warn about (SPEC §5): staff mail trusted on From: alone, staff
    /// mail that can never count, nobody to hear of new tickets.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self.policy.staff_mail {
            StaffMail::From => w.push(
                "policy.staff_mail = \"from\": anyone who writes a staff address in From: \
                 acts as staff (set trusted_authserv_id and \"authenticated\")"
                    .to_string(),
            ),
            StaffMail::Authenticated if self.policy.trusted_authserv_id.trim().is_empty() => w
                .push(
                    "policy.staff_mail = \"authenticated\" without policy.trusted_authserv_id: \
                     mail from staff never counts as staff"
                        .to_string(),
                ),
            StaffMail::Authenticated => {}
        }
        if self.staff.admins.is_empty() {
            w.push("staff.admins is empty: nobody hears of new tickets".to_string());
        }
        w
    }

    /// Our subject tag, `[site.name #N]`.
    pub fn tag(&self) -> &crate::tag::Tag {
        self.tag
            .get_or_init(|| crate::tag::Tag::new(&self.site.name))
    }

    /// The site's first domain: where our own outgoing addresses live.
    pub fn domain(&self) -> &str {
        self.site
            .domains
            .first()
            .map(String::as_str)
            .unwrap_or("localhost")
    }

    /// Every queue there is, in the order people see them: `general`, the
    /// configured ones, `spam`.
    pub fn queue_names(&self) -> Vec<&str> {
        std::iter::once(GENERAL_QUEUE)
            .chain(self.queues.iter().map(|q| q.name.as_str()))
            .chain(std::iter::once(SPAM_QUEUE))
            .collect()
    }

    /// The queue `name` names, compared without regard to case (as a
    /// person types it), among `queue_names`.
    pub fn queue_named(&self, name: &str) -> Option<&str> {
        self.queue_names()
            .into_iter()
            .find(|q| q.eq_ignore_ascii_case(name))
    }

    /// Every queue a ticket may be put in (by `queue`, the thread page's
    /// form, `import --queue`): all but `spam`, which only `pipedesk spam`
    /// puts a ticket in; in the order people see them.
    pub fn ticket_queues(&self) -> Vec<&str> {
        self.queue_names()
            .into_iter()
            .filter(|q| *q != SPAM_QUEUE)
            .collect()
    }

    /// Every member of staff, admins first, then members, then the
    /// queues' members, each once (an admin also listed as a member is one
    /// person).
    pub fn staff_addresses(&self) -> Vec<&str> {
        let mut all: Vec<&str> = Vec::new();
        for p in self.people() {
            if !all.contains(&p.address.as_str()) {
                all.push(&p.address);
            }
        }
        all
    }

    /// Is `addr` a member of staff — an admin, a member, or a queue's
    /// member? (An `Address`, so it is compared as the lists are kept:
    /// normalised when the config loaded.)
    pub fn is_staff_address(&self, addr: &crate::address::Address) -> bool {
        self.people().any(|p| p.address == *addr)
    }

    /// The queue whose address is `local` (lowercase), `general` for submit@.
    pub fn queue_for_local(&self, local: &str) -> Option<&str> {
        if local == self.addresses.submit {
            return Some(GENERAL_QUEUE);
        }
        self.queues
            .iter()
            .find(|q| q.address == local)
            .map(|q| q.name.as_str())
    }

    /// The address that opens tickets in `queue` (`submit@` for
    /// `general`); None for `spam` and a queue that does not exist.
    pub fn queue_address(&self, queue: &str) -> Option<String> {
        let local = if queue == GENERAL_QUEUE {
            &self.addresses.submit
        } else {
            &self.queues.iter().find(|q| q.name == queue)?.address
        };
        Some(format!("{local}@{}", self.domain()))
    }

    /// `ticket-N@domain`, with `suffix` (`""`, the comment or done suffix).
    pub fn ticket_address(&self, id: i64, suffix: &str) -> String {
        format!(
            "{}{id}{suffix}@{}",
            self.addresses.ticket_prefix,
            self.domain()
        )
    }
}

fn is_plain_domain(d: &str) -> bool {
    !d.is_empty()
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn is_local_part(s: &str) -> bool {
    !s.is_empty() && !s.contains(['@', ' ', '\t', '"', '<', '>', ',', ';', '\r', '\n'])
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key defined on line `line` (1-based), from the table headers
/// above it: what a person needs to find the mistake.
fn key_at_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.starts_with('[') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line {
            let key = l.split('=').next()?.trim();
            if l.starts_with('[') || key.is_empty() || !l.contains('=') {
                return (!table.is_empty()).then_some(table);
            }
            return Some(if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            });
        }
    }
    None
}

/// The name of the `[[rules]]` table that line `line` is in, where it is
/// in one and the text reads as TOML: a rule's unknown field or bad value
/// is refused naming the rule (SPEC §8).
fn rule_at_line(text: &str, line: usize) -> Option<String> {
    let (mut seen, mut inside) = (0usize, false);
    for l in text.lines().take(line) {
        let l = l.trim();
        if l.starts_with("[[rules]]") {
            seen += 1;
            inside = true;
        } else if l.starts_with('[') && !l.starts_with("[rules.") {
            inside = false;
        }
    }
    let index = seen.checked_sub(1).filter(|_| inside)?;
    let table: toml::Table = text.parse().ok()?;
    let rule = table.get("rules")?.as_array()?.get(index)?;
    rule.get("name")?.as_str().map(String::from)
}

/// The line where dotted `key` is set, for errors found after parsing.
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    let (table, leaf) = key.rsplit_once('.').unwrap_or(("", key));
    let mut current = String::new();
    let mut table_line = None;
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.starts_with('[') {
            current = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if current == table || current == key {
                table_line.get_or_insert(i + 1);
            }
        } else if current == table && l.split('=').next().map(str::trim) == Some(leaf) {
            return Some(i + 1);
        }
    }
    table_line
}

/// The commented configuration `pipedesk init` writes.
pub const SAMPLE: &str = include_str!("../examples/pipedesk.toml");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    #[test]
    fn empty_file_gives_the_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.site.name, "pipedesk");
        assert_eq!(c.site.domains, ["localhost"]);
        assert_eq!(c.policy.unknown_ticket, UnknownTicket::Reject);
        assert_eq!(c.mail.transport, Transport::File);
        assert_eq!(c.autoreply.per_sender_per_day, 5);
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err =
            Config::parse("[site]\nname = \"x\"\n\n[policy]\nbusy_wiat_secs = 3\n").unwrap_err();
        assert!(err.starts_with("5:"), "{err}");
        assert!(err.contains("busy_wiat_secs"), "{err}");
    }

    #[test]
    fn bad_value_names_line_and_key() {
        let err = Config::parse("[policy]\nunknown_ticket = \"maybe\"\n").unwrap_err();
        assert!(err.starts_with("2:"), "{err}");
        assert!(err.contains("policy.unknown_ticket"), "{err}");
        let err = Config::parse("[mail]\ntransport = 7\n").unwrap_err();
        assert!(err.contains("mail.transport"), "{err}");
    }

    #[test]
    fn a_time_zone_is_an_iana_name_and_a_bad_one_names_the_key() {
        assert_eq!(Config::parse("").unwrap().site.timezone.name(), "UTC");
        let err = Config::parse("[site]\nname = \"x\"\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(err.starts_with("3:"), "{err}");
        assert!(
            err.contains("site.timezone") && err.contains("Mars/Olympus"),
            "{err}"
        );
        if std::path::Path::new("/usr/share/zoneinfo/Europe/Paris").exists() {
            let c = Config::parse("[site]\ntimezone = \"Europe/Paris\"\n").unwrap();
            assert_eq!(c.site.timezone.name(), "Europe/Paris");
        }
    }

    #[test]
    fn validation_errors_name_line_and_key() {
        let err = Config::parse("# c\n[site]\ndomains = []\n").unwrap_err();
        assert_eq!(err, "3: key `site.domains`: must name at least one domain");
        let err = Config::parse("[[queues]]\nname = \"web\"\naddress = \"submit\"\n").unwrap_err();
        assert!(err.contains("queues.address"), "{err}");
    }

    #[test]
    fn addresses_and_domains_are_lowercased() {
        let c = Config::parse(
            "[site]\ndomains=[\"Help.Example.ORG\"]\n[staff]\nadmins=[\"Stef@Example.org\"]\n",
        )
        .unwrap();
        assert_eq!(c.domain(), "help.example.org");
        assert!(c.is_staff_address(&Address::new("Stef@Example.org")));
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = std::env::temp_dir().join(format!("pipedesk-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.toml");
        std::fs::write(
            &file,
            "[site]\ndatabase = \"db/x.db\"\n[mail]\ndir = \"/abs/out\"\n",
        )
        .unwrap();
        let c = Config::load(&file).unwrap();
        assert_eq!(c.site.database, Database::Sqlite(dir.join("db/x.db")));
        assert_eq!(c.mail.dir, PathBuf::from("/abs/out"));
        assert_eq!(c.canned.dir, dir.join("canned"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_postgres_url_is_a_database_not_a_path() {
        let c = Config::parse(
            "[site]\ndatabase = \"postgres://desk:s3cret@db.example.org/pipedesk\"\n",
        )
        .unwrap();
        assert_eq!(
            c.site.database,
            Database::Postgres("postgres://desk:s3cret@db.example.org/pipedesk".into())
        );
        assert_eq!(
            c.site.database.describe(),
            "postgres://desk:***@db.example.org/pipedesk"
        );
        assert!(matches!(
            Database::parse("postgresql://db/x"),
            Database::Postgres(_)
        ));
        assert!(matches!(Database::parse("data/p.db"), Database::Sqlite(_)));
    }

    #[test]
    fn web_settings_are_checked() {
        let err = Config::parse("[web]\nlisten = \"localhost\"\n").unwrap_err();
        assert!(err.contains("web.listen"), "{err}");
        let err = Config::parse("[web]\nbase_url = \"ftp://x\"\n").unwrap_err();
        assert!(err.contains("web.base_url"), "{err}");
        Config::parse("[web]\nbase_url = \"https://help.example.org\"\n").unwrap();
    }

    #[test]
    fn a_bad_staff_entry_names_its_line_and_key() {
        let err = Config::parse("[staff]\nadmins = [\"stef@example.org\", \"Carol Jones\"]\n")
            .unwrap_err();
        assert!(err.starts_with("2: key `staff.admins`:"), "{err}");
        assert!(err.contains("Carol Jones"), "{err}");
        let err = Config::parse("[staff]\nmembers = [\"carol at example.org\"]\n").unwrap_err();
        assert!(err.contains("staff.members"), "{err}");
        let err = Config::parse(
            "[[queues]]\nname = \"billing\"\naddress = \"billing\"\nmembers = [\"Dave <dave>\"]\n",
        )
        .unwrap_err();
        assert!(err.starts_with("4: key `queues.members`:"), "{err}");
        let err = Config::parse(
            "[[queues]]\nname = \"billing\"\naddress = \"billing\"\nfrom_name = \"A\\nB\"\n",
        )
        .unwrap_err();
        assert!(err.contains("queues.from_name"), "{err}");
    }

    #[test]
    fn staff_entries_carry_names() {
        let c = Config::parse(
            "[staff]\nadmins = [\"Stef <Stef@Example.org>\"]\nmembers = [\"ann@example.org\"]\n",
        )
        .unwrap();
        assert_eq!(c.staff.admins[0].name.as_deref(), Some("Stef"));
        assert_eq!(c.staff_addresses(), ["stef@example.org", "ann@example.org"]);
        assert!(c.is_staff_address(&Address::new("ANN@example.org")));
    }

    #[test]
    fn the_sample_config_is_valid() {
        Config::parse(SAMPLE).unwrap();
    }
}
