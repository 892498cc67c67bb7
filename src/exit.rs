//! The exit-code contract with the MTA (SPEC §3), named like fd's
//! `exit_codes.rs`. Postfix's pipe(8) retries only on 75 (and 71) and bounces
//! on every other non-zero code; Exim's pipe transport retries on 75 and 73.
//! So anything that is not the message's own fault must become `TempFail`.

use crate::desk::Error;

/// How a `pipedesk` process ends. The numbers come from sysexits.h.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Stored, or already stored.
    Success,
    /// Any other error of a command for people.
    GeneralError,
    /// EX_USAGE: bad command line. The MTA bounces.
    Usage,
    /// EX_DATAERR: empty input, or larger than `policy.max_message_bytes`.
    DataErr,
    /// EX_NOUSER: unknown ticket or unknown address at our domains.
    NoUser,
    /// EX_SOFTWARE: a bug in a command for people (never used by `deliver`).
    Software,
    /// EX_TEMPFAIL: the MTA keeps the message and retries.
    TempFail,
    /// EX_CONFIG: a command for people found a bad configuration.
    Config,
}

impl ExitCode {
    /// The number the process exits with.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::GeneralError => 1,
            ExitCode::Usage => 64,
            ExitCode::DataErr => 65,
            ExitCode::NoUser => 67,
            ExitCode::Software => 70,
            ExitCode::TempFail => 75,
            ExitCode::Config => 78,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        // Every code above fits in a u8.
        std::process::ExitCode::from(code.code() as u8)
    }
}

/// An error of the process itself whose kind decides the exit code. The
/// desk's refusals (`desk::Error`) decide it too; anything else that goes
/// wrong is a plain `anyhow::Error`, which means "not the message's fault":
/// 75 for `deliver`, 1 for the commands for people.
#[derive(Debug, thiserror::Error)]
pub enum Fail {
    /// A bad command line (64).
    #[error("{0}")]
    Usage(String),
    /// The configuration is missing, unreadable or invalid (78 for people, 75
    /// for `deliver`, which must keep the mail queued until it is fixed).
    #[error("{0}")]
    Config(String),
    /// stdout's reader went away (`pipedesk list | head`): the command
    /// stops quietly with exit 0 (SPEC §5).
    #[error("stdout closed")]
    ClosedPipe,
    /// Work that should be tried again later (`flush` with mail that
    /// failed): 75, so that cron and monitoring see it (SPEC §5).
    #[error("{0}")]
    TryAgain(String),
}

/// Which contract an error is mapped under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `pipedesk deliver`, run by an MTA.
    Deliver,
    /// Every other command, run by a person.
    People,
}

/// Maps an error to its exit code. The `Fail` may sit anywhere in the chain,
/// below any `.context(…)` that was added on the way up.
pub fn code_for(err: &anyhow::Error, ctx: Context) -> ExitCode {
    if let Some(fail) = err.chain().find_map(|e| e.downcast_ref::<Fail>()) {
        return match (fail, ctx) {
            (Fail::ClosedPipe, _) => ExitCode::Success,
            (Fail::TryAgain(_), _) => ExitCode::TempFail,
            (Fail::Usage(_), _) => ExitCode::Usage,
            (Fail::Config(_), Context::Deliver) => ExitCode::TempFail,
            (Fail::Config(_), Context::People) => ExitCode::Config,
        };
    }
    match (Error::find(err), ctx) {
        (Some(Error::Refused(_)), Context::Deliver) => ExitCode::DataErr,
        (Some(Error::NoTicket(_) | Error::NoAddress(_)), Context::Deliver) => ExitCode::NoUser,
        // A refusal of a change by a person cannot come of a delivery; if
        // it ever does, the message is kept for a retry, never bounced.
        (Some(_), Context::Deliver) | (None, Context::Deliver) => ExitCode::TempFail,
        (_, Context::People) => ExitCode::GeneralError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn numbers_match_sysexits() {
        assert_eq!(ExitCode::Usage.code(), 64);
        assert_eq!(ExitCode::DataErr.code(), 65);
        assert_eq!(ExitCode::NoUser.code(), 67);
        assert_eq!(ExitCode::TempFail.code(), 75);
        assert_eq!(ExitCode::Config.code(), 78);
    }

    #[test]
    fn unknown_errors_in_deliver_are_temporary() {
        let err = anyhow::anyhow!("disk I/O error");
        assert_eq!(code_for(&err, Context::Deliver), ExitCode::TempFail);
        assert_eq!(code_for(&err, Context::People), ExitCode::GeneralError);
    }

    #[test]
    fn a_bad_config_keeps_mail_queued_but_tells_people_78() {
        let err = anyhow::Error::new(Fail::Config("bad".into()));
        assert_eq!(code_for(&err, Context::Deliver), ExitCode::TempFail);
        assert_eq!(code_for(&err, Context::People), ExitCode::Config);
    }

    #[test]
    fn work_left_to_retry_is_a_temporary_failure_for_people_too() {
        let err = anyhow::Error::new(Fail::TryAgain("2 mails not sent".into()));
        assert_eq!(code_for(&err, Context::People), ExitCode::TempFail);
    }

    #[test]
    fn a_closed_pipe_is_a_quiet_success() {
        let err: anyhow::Result<()> = Err(Fail::ClosedPipe.into());
        let err = err.context("printing the list").unwrap_err();
        assert_eq!(code_for(&err, Context::People), ExitCode::Success);
    }

    #[test]
    fn the_kind_is_found_below_added_context() {
        let err: anyhow::Result<()> = Err(Error::NoTicket(9).into());
        let err = err.context("routing").unwrap_err();
        assert_eq!(code_for(&err, Context::Deliver), ExitCode::NoUser);
        let err = anyhow::Error::new(Error::Refused("empty".into()));
        assert_eq!(code_for(&err, Context::Deliver), ExitCode::DataErr);
    }

    #[test]
    fn the_desk_refusing_a_person_is_1_and_never_bounces_mail() {
        let err = anyhow::Error::new(Error::NotAllowed("ticket #1 is resolved already".into()));
        assert_eq!(code_for(&err, Context::People), ExitCode::GeneralError);
        assert_eq!(code_for(&err, Context::Deliver), ExitCode::TempFail);
        let err = anyhow::Error::new(Error::NoTicket(4));
        assert_eq!(code_for(&err, Context::People), ExitCode::GeneralError);
    }
}
