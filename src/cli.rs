//! The command line, in one place: clap derive, with doc comments as the
//! help text. Shell completions and the man page come from these same
//! definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// pipedesk: a help desk that lives inside the mail system.
///
/// An MTA (Postfix, Exim) runs `pipedesk deliver` once per incoming message;
/// admins run the other commands by hand to read, answer and close tickets.
#[derive(Debug, Parser)]
#[command(
    name = "pipedesk",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    /// Configuration file [default: $PIPEDESK_CONFIG, else
    /// /etc/pipedesk/pipedesk.toml where it exists, else built-in defaults]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Each subcommand's arguments are built only when it runs (or for help,
// completions and the man page): `deliver` is a process per message, and
// building every subcommand's arguments cost each one 230,000
// instructions, 6% of a delivery (callgrind, BENCHMARKS.md).
#[command(defer = true)]
pub enum Command {
    /// Store one message from stdin in its ticket (run by the MTA)
    ///
    /// Exit codes: 0 stored (or already stored), 64 bad command line, 65 empty
    /// or too large, 67 unknown ticket or address, 75 anything else (the MTA
    /// keeps the message and retries). Prints nothing on success unless
    /// --json.
    Deliver(DeliverArgs),
    /// List tickets: new, open and stalled ones first, then resolved, newest
    /// first
    List(ListArgs),
    /// Show a ticket and its whole history
    Show(ShowArgs),
    /// Answer the requestor: the body comes from stdin or $EDITOR
    ///
    /// On a terminal, $EDITOR gets a draft holding the canned answer
    /// (--canned) or a quote of the last message; lines starting with #
    /// are dropped. From stdin with --canned, the text read is added below
    /// the canned answer.
    Reply(ReplyArgs),
    /// Add a comment only staff see: the body comes from stdin or $EDITOR
    Comment(WriteArgs),
    /// Open a ticket for someone (a phone call, a walk-in): the body comes
    /// from stdin or $EDITOR
    ///
    /// The body is the ticket's first message, from staff (--as), mailed to
    /// the requestor as a staff reply is, unless --no-mail. Prints the new
    /// ticket's number (--json: the ticket object).
    Create(CreateArgs),
    /// List the canned answers: NAME.txt files in canned.dir, each with its
    /// title
    Canned(CannedArgs),
    /// Resolve a ticket and tell the requestor (`--quiet`: without telling)
    Close(CloseArgs),
    /// Open a resolved or stalled ticket again
    Reopen(StatusArgs),
    /// Put a ticket aside until the requestor answers (mail from them opens
    /// it again)
    Stall(StatusArgs),
    /// Become the owner of a ticket
    Take(TakeArgs),
    /// Give a ticket to a member of staff
    Assign(AssignArgs),
    /// Merge ticket A into ticket B
    ///
    /// A's messages and history join B's, A's requestor and watchers become
    /// B's watchers, and mail to A (its address or its tag) lands on B from
    /// now on. `show A` shows B; `list` no longer shows A.
    Merge(MergeArgs),
    /// Mark a ticket as spam, or with --undo take the mark back
    ///
    /// It moves to the queue `spam` and is resolved without any mail, and
    /// its requestor's later new tickets open in `spam`. `--undo` puts it
    /// back in its queue, reopens it and forgets the sender.
    Spam(SpamArgs),
    /// Move a ticket to another queue
    Queue(QueueArgs),
    /// Correct a ticket's subject or requestor (a new requestor watches it)
    Edit(EditArgs),
    /// Set a ticket's priority: low, normal, high, urgent (or -1 to 2)
    Priority(PriorityArgs),
    /// Set or clear a ticket's due date
    ///
    /// DATE is 2026-12-24 (the start of that day) or 2026-12-24T17:00, in
    /// site.timezone; or +3d, +4h, +30m from now; or none to clear it.
    Due(DueArgs),
    /// Add a watcher: they get staff replies on the ticket from now on
    /// (not past policy.max_watchers)
    Watch(WatchArgs),
    /// Remove a watcher (the requestor always stays)
    Unwatch(WatchArgs),
    /// Write a ticket's messages as an mbox (mboxrd) on stdout
    Export(ExportArgs),
    /// Send the outgoing mail still queued, now
    ///
    /// Sends every queued mail that no other process is sending, as
    /// `postqueue -f` does; with --due only those whose retry time has come
    /// (for cron). Says what was sent, and what still waits and why.
    Flush(FlushArgs),
    /// Write a commented configuration and create the database
    Init(InitArgs),
    /// Validate the configuration, the templates and the database
    Check,
    /// Write a consistent copy of the SQLite database to PATH, while
    /// deliveries go on
    ///
    /// The copy is readable by its owner alone, and PATH must not exist yet.
    /// Restore by stopping serve and putting the copy in the database's
    /// place. A PostgreSQL desk is backed up with pg_dump instead.
    Backup(BackupArgs),
    /// List a ticket's attachments, or save them safely into a folder
    Attachments(AttachmentsArgs),
    /// Full-text search over subjects and bodies, best match first; an
    /// address finds the tickets its owner opened or wrote on too
    Search(SearchArgs),
    /// Turn an mbox file or a Maildir of old support mail into tickets
    ///
    /// Threads are grouped by the old system's subject tag, then by
    /// References/In-Reply-To. No mail is sent. Running it twice changes
    /// nothing: messages already stored are skipped.
    Import(ImportArgs),
    /// Copy this desk, whole, into another database (SQLite or PostgreSQL)
    ///
    /// Tickets with their numbers, messages byte-exact, history, watchers,
    /// the outbox, the change feed, staff passwords and web credentials go
    /// into TARGET, which must be empty or hold an earlier copy of this
    /// desk; a target that holds another desk's data is refused (exit 1,
    /// nothing changed). Run again, it adds only what is missing and brings
    /// up to date the tickets that changed since, so the last run is short:
    /// stop deliveries, run it once more, then point every host's
    /// site.database at TARGET.
    Migrate(MigrateArgs),
    /// Tickets by status and queue, new this week, time to first staff reply
    Stats(StatsArgs),
    /// What the desk's own rules would do, and what they did ([[rules]])
    ///
    /// `rules test MSG.eml` says what delivering that message would do and
    /// which rules would fire, changing nothing; `rules explain N` says which
    /// rules fired on ticket N, when and why.
    Rules(RulesArgs),
    /// Fire the clock's events: SLA warnings and breaches, idle tickets
    ///
    /// Run it every minute (cron, or the pipedesk-tick timer; `serve` runs
    /// it too). Each event fires once, however often and on however many
    /// hosts it runs.
    Tick(TickArgs),
    /// Serve the web interface and the JSON API on web.listen
    ///
    /// Staff sign in with the password `pipedesk passwd` set; scripts use a
    /// token from `pipedesk token`. Listens on loopback by default: put a TLS
    /// reverse proxy in front for other hosts, and set web.base_url to the
    /// address people open (only that origin may change things).
    ///
    /// SIGHUP (`systemctl reload`) re-reads the config: whoever is no longer
    /// on staff is refused at once, their sessions and tokens ended. A config
    /// that fails to load is logged and the running one kept.
    Serve,
    /// Set a member of staff's web password (read from the terminal, or one
    /// line from stdin), which ends their sessions
    Passwd(AddressArgs),
    /// Print a new API token for a member of staff, alone on one line
    ///
    /// Scripts send it as `Authorization: Bearer TOKEN`. It is shown once:
    /// the database keeps only its hash.
    Token(AddressArgs),
    /// End every web session and API token of someone (their password stays)
    ///
    /// For a lost laptop or a leaked token. To lock someone out for good,
    /// take them off staff and reload `serve`.
    Revoke(AddressArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    ///
    /// e.g. `pipedesk completions bash > /usr/share/bash-completion/completions/pipedesk`
    Completions(CompletionsArgs),
    /// Print the man page (roff), generated from the same definitions as --help
    ///
    /// `pipedesk man > pipedesk.1` writes the main page; `--dir DIR` writes it
    /// and one page per subcommand (pipedesk-show.1, …) into DIR.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Read the message from this file instead of stdin
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Envelope recipient [default: $ORIGINAL_RECIPIENT, else $RECIPIENT,
    /// else the first of our addresses in Delivered-To, X-Original-To, To, Cc]
    #[arg(long, value_name = "ADDR")]
    pub recipient: Option<String>,
    /// Envelope sender; empty or <> for a bounce [default: $SENDER, else
    /// Return-Path]
    #[arg(long, value_name = "ADDR", allow_hyphen_values = true)]
    pub sender: Option<String>,
    /// Print what was done as JSON
    #[arg(long)]
    pub json: bool,
    /// Route and print the action, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Store, but queue no outgoing mail (for replaying old messages)
    #[arg(long)]
    pub no_mail: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tickets in this status (new, open, stalled, resolved); repeatable
    #[arg(long, value_name = "S")]
    pub status: Vec<String>,
    /// Only tickets in this queue (spam only when named here)
    #[arg(long, value_name = "Q")]
    pub queue: Option<String>,
    /// Only tickets owned by this address, or by nobody (`nobody`)
    #[arg(long, value_name = "ADDR|nobody")]
    pub owner: Option<String>,
    /// Only tickets opened by this address
    #[arg(long, value_name = "ADDR")]
    pub requestor: Option<String>,
    /// Order: updated (most recent first), created (newest first),
    /// priority (urgent first), due (soonest first, none last)
    #[arg(long, value_name = "ORDER")]
    pub sort: Option<String>,
    /// At most this many tickets
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// List the bounces that routed to no ticket instead
    #[arg(long)]
    pub bounces: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Ticket number
    pub id: i64,
    /// Show quoted text in full instead of folding it
    #[arg(long)]
    pub quoted: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Ticket number
    pub id: i64,
    /// Author [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
    /// Attach this file (repeatable)
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// Print what was done as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReplyArgs {
    #[command(flatten)]
    pub write: WriteArgs,
    /// Start from this canned answer, filled in for the ticket (see
    /// `pipedesk canned`)
    #[arg(long, value_name = "NAME")]
    pub canned: Option<String>,
    /// Resolve the ticket in the same change (the reply is the requestor's
    /// only mail)
    #[arg(long, conflicts_with = "stall")]
    pub resolve: bool,
    /// Stall the ticket in the same change (waiting for the requestor)
    #[arg(long)]
    pub stall: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Whom the ticket is for
    #[arg(long, value_name = "ADDR")]
    pub requestor: String,
    /// The ticket's subject
    #[arg(long, value_name = "S")]
    pub subject: String,
    /// Its queue [default: general]
    #[arg(long, value_name = "Q")]
    pub queue: Option<String>,
    /// Attach this file (repeatable)
    #[arg(long, value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    /// Store it, but mail nobody
    #[arg(long)]
    pub no_mail: bool,
    /// Who opens it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
    /// Print the ticket object as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CannedArgs {
    /// Print JSON: an array of {name, title}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Ticket number
    pub id: i64,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    #[command(flatten)]
    pub ticket: StatusArgs,
    /// Without the resolved notice to the requestor
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SpamArgs {
    #[command(flatten)]
    pub ticket: StatusArgs,
    /// Take the mark back: the ticket returns to its queue, open
    #[arg(long)]
    pub undo: bool,
}

#[derive(Debug, Args)]
pub struct TakeArgs {
    /// Ticket number
    pub id: i64,
    /// The member of staff taking it
    #[arg(long = "as", value_name = "ADDR", required = true)]
    pub author: String,
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Ticket number
    pub id: i64,
    /// The new owner
    pub owner: String,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddressArgs {
    /// The member of staff (staff.admins or staff.members)
    pub address: String,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The ticket that goes (it lives on as an alias)
    pub from: i64,
    /// The ticket that stays
    pub into: i64,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Ticket number
    pub id: i64,
    /// The queue: general or one of [[queues]] (spam is `pipedesk spam`)
    pub queue: String,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Ticket number
    pub id: i64,
    /// The new subject
    #[arg(long, value_name = "S")]
    pub subject: Option<String>,
    /// The new requestor (they become a watcher too)
    #[arg(long, value_name = "ADDR")]
    pub requestor: Option<String>,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct PriorityArgs {
    /// Ticket number
    pub id: i64,
    /// low, normal, high, urgent, or -1, 0, 1, 2
    #[arg(allow_hyphen_values = true)]
    pub priority: String,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct DueArgs {
    /// Ticket number
    pub id: i64,
    /// 2026-12-24, 2026-12-24T17:00 (in site.timezone), +3d, +4h, or none
    #[arg(value_name = "DATE")]
    pub due: String,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Ticket number
    pub id: i64,
    /// The watcher's address
    pub address: String,
    /// Who does it [default: the first of staff.admins]
    #[arg(long = "as", value_name = "ADDR")]
    pub author: Option<String>,
}

#[derive(Debug, Args)]
pub struct AttachmentsArgs {
    /// Ticket number
    pub id: i64,
    /// Save every attachment into this folder (created if missing), under
    /// safe, unique names; nothing is ever written outside it
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for (all of them; a trailing * matches a prefix)
    #[arg(required = true, value_name = "WORDS")]
    pub words: Vec<String>,
    /// Only tickets in this status (new, open, stalled, resolved); repeatable
    #[arg(long, value_name = "S")]
    pub status: Vec<String>,
    /// At most this many hits
    #[arg(long, value_name = "N", default_value_t = crate::desk::Surface::Command.search_limits().0)]
    pub limit: usize,
    /// Print JSON: an array of {ticket, subject, status, snippet}, best first
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Where to copy the desk: a postgres:// (or postgresql://) URL, or the
    /// path of a SQLite file
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// mbox files or Maildirs (folders with cur/ and new/), read in this
    /// order as one import
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The site name in the old system's subject tags, `[NAME #N]`; those
    /// numbers name old tickets and are mapped to the tickets this import
    /// creates [default: site.name]
    #[arg(long, value_name = "NAME")]
    pub old_name: Option<String>,
    /// The queue of the tickets it opens [default: the queue each message
    /// was sent to]
    #[arg(long, value_name = "Q")]
    pub queue: Option<String>,
    /// The status the tickets it opens end in (e.g. `resolved`: old
    /// tickets, done with, that nobody closes later) [default: as their
    /// mail leaves them]
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write pipedesk.1 and a page per subcommand into this folder instead
    /// of the main page on stdout
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print pipedesk.toml(5), the configuration file's page, instead of
    /// pipedesk(1) (--dir writes both)
    #[arg(long, conflicts_with = "dir")]
    pub file_formats: bool,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (a new file)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Ticket number
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub what: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// What delivering MSG.eml would do and which rules would fire; changes
    /// nothing
    Test(RulesTestArgs),
    /// Which rules fired on ticket N, when and why
    Explain(RulesExplainArgs),
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// The message, as an MTA would pipe it
    pub file: PathBuf,
    /// Envelope recipient [default: as `deliver` finds it]
    #[arg(long, value_name = "ADDR")]
    pub recipient: Option<String>,
    /// As if it arrived at TIME (ISO 8601 with its zone:
    /// 2026-12-05T22:00:00+01:00) [default: now]
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Print {"fired": [{"rule", "event", "ticket"}, …]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RulesExplainArgs {
    /// Ticket number
    pub id: i64,
    /// Print {"fired": [{"rule", "event", "ticket", "at"}, …]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TickArgs {
    /// Run the clock as if it were TIME (ISO 8601 with its zone)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Change nothing; print what would fire
    #[arg(long)]
    pub dry_run: bool,
    /// Print {"fired": [{"rule", "event", "ticket"}, …]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FlushArgs {
    /// Only mail whose retry time has come (what cron runs)
    #[arg(long)]
    pub due: bool,
    /// Accepted for old scripts; a plain flush already sends everything
    #[arg(long, hide = true)]
    pub force: bool,
    /// Print what was sent and what still waits as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the configuration [default: --config, else
    /// $PIPEDESK_CONFIG, else ./pipedesk.toml]
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Overwrite an existing configuration file
    #[arg(long)]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn deliver_takes_an_empty_sender() {
        let cli = Cli::try_parse_from([
            "pipedesk",
            "deliver",
            "--sender",
            "",
            "--recipient",
            "submit@x",
        ])
        .unwrap();
        let Command::Deliver(args) = cli.command else {
            panic!("not deliver")
        };
        assert_eq!(args.sender.as_deref(), Some(""));
    }
}
