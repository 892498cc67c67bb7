//! `pipedesk completions SHELL` and `pipedesk man`: shell completions and the
//! man page, generated from the clap definitions in `cli.rs`, so that they
//! can never disagree with `--help`.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "pipedesk", &mut out);
    write_stdout(&out)
}

pub fn man(args: ManArgs) -> Result<()> {
    let cmd = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // One page per subcommand, named the way git's are: pipedesk-show.1.
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("pipedesk-{}", sub.get_name());
                let page = sub.clone().display_name(name);
                clap_mangen::Man::new(page)
                    .generate_to(&dir)
                    .with_context(|| format!("writing into {}", dir.display()))?;
            }
            clap_mangen::Man::new(cmd)
                .generate_to(&dir)
                .with_context(|| format!("writing into {}", dir.display()))?;
            Ok(())
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            write_stdout(&out)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    crate::term::closed_pipe(stdout.write_all(bytes).and_then(|()| stdout.flush()))
        .context("writing to stdout")
}
