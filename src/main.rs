//! Glue: parse the command line, run, map the error to an exit code. As in
//! ripgrep, errors print on one line with their whole cause chain, here as
//! `pipedesk: …`, because an MTA pastes that line into its bounce.

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode as ProcessExit;

use clap::Parser;
use pipedesk::cli::{Cli, Command};
use pipedesk::exit::{code_for, Context, ExitCode};

fn main() -> ProcessExit {
    // A panic prints one line; the exit code is decided below.
    panic::set_hook(Box::new(|info| {
        // A parser panic that inbound catches and handles is no bug to report.
        if pipedesk::inbound::in_guarded_parse() {
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("pipedesk: internal error (a bug): {what}{at}");
    }));

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            }
            .into();
        }
    };
    let ctx = match cli.command {
        Command::Deliver(_) => Context::Deliver,
        _ => Context::People,
    };
    if ctx == Context::Deliver {
        // A file-size limit (RLIMIT_FSIZE, an MTA's or a shell's `ulimit -f`)
        // would otherwise kill deliver with SIGXFSZ mid-commit; ignored, the
        // write fails with EFBIG like a full disk, and deliver exits 75.
        // SAFETY: installs SIG_IGN before any thread is started.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        }
    }
    match panic::catch_unwind(AssertUnwindSafe(|| pipedesk::commands::run(cli))) {
        Ok(Ok(())) => ExitCode::Success.into(),
        Ok(Err(err)) => {
            let code = code_for(&err, ctx);
            if code != ExitCode::Success {
                eprintln!("pipedesk: {}", one_line(&format!("{err:#}")));
            }
            code.into()
        }
        // A bug must never lose mail: the MTA keeps it and retries.
        Err(_) if ctx == Context::Deliver => ExitCode::TempFail.into(),
        Err(_) => ExitCode::Software.into(),
    }
}

/// Multi-line causes (a TOML error, say) folded onto the one line an MTA
/// puts in a bounce.
fn one_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
