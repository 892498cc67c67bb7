//! `pipedesk export N`: the ticket's messages as an mboxrd on stdout, each
//! message's bytes as received, for mutt (`mutt -f`). The mboxrd itself is
//! `mailbox`'s, which `import` reads back.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::ExportArgs;
use crate::config::Config;
use crate::mailbox::write_mboxrd;

pub fn run(config: &Arc<Config>, args: ExportArgs) -> Result<()> {
    let (_, messages) = crate::commands::desk(config)?.messages(args.id)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = messages
        .iter()
        .try_for_each(|m| write_mboxrd(&mut out, m.envelope_sender.as_deref(), m.received, &m.raw))
        .and_then(|()| out.flush());
    crate::term::closed_pipe(written)
}
