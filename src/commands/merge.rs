//! `pipedesk merge A B`: ticket A joins ticket B and lives on as its alias.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::MergeArgs;
use crate::commands::{act, desk};
use crate::config::Config;

pub fn run(config: &Arc<Config>, args: MergeArgs) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let changed = desk(config)?.merge(args.from, args.into, &act)?;
    let t = &changed.ticket;
    eprintln!(
        "ticket #{} merged into #{}: mail to #{} lands on #{} from now on",
        args.from, t.id, args.from, t.id
    );
    Ok(())
}
