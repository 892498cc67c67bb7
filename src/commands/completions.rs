//! `pipedesk completions SHELL` and `pipedesk man`: shell completions and the
//! man pages, generated from the clap definitions in `cli.rs`, so that they
//! can never disagree with `--help`; pipedesk.toml(5) from the commented
//! config `init` writes (`toml_page`).

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
    if args.file_formats {
        return write_stdout(super::toml_page::page().as_bytes());
    }
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
            let toml = dir.join("pipedesk.toml.5");
            std::fs::write(&toml, super::toml_page::page())
                .with_context(|| format!("writing {}", toml.display()))?;
            let man = clap_mangen::Man::new(cmd);
            let path = dir.join(man.get_filename());
            std::fs::write(&path, main_page(&man)?)
                .with_context(|| format!("writing {}", path.display()))
        }
        None => write_stdout(&main_page(&clap_mangen::Man::new(cmd))?),
    }
}

/// The sections an admin looks for that clap cannot derive (issue 18), in
/// man-pages(7)'s order, after the commands and before the version.
const ADMIN_SECTIONS: &str = include_str!("man.roff");

/// pipedesk(1): clap_mangen's sections with `ADMIN_SECTIONS` between the
/// commands and the version, as `Man::render` orders its own.
fn main_page(man: &clap_mangen::Man) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    out.extend_from_slice(ADMIN_SECTIONS.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    crate::term::closed_pipe(stdout.write_all(bytes).and_then(|()| stdout.flush()))
        .context("writing to stdout")
}
