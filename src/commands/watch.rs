//! `pipedesk watch N ADDR` and `unwatch N ADDR`: who else gets the staff's
//! replies on a ticket. The requestor always does.

use std::sync::Arc;

use anyhow::Result;

use crate::address::Address;
use crate::cli::WatchArgs;
use crate::commands::{act, desk};
use crate::config::Config;
use crate::desk::{Act, Changed, Desk};

pub fn watch(config: &Arc<Config>, args: WatchArgs) -> Result<()> {
    watchers(config, args, Desk::watch)
}

pub fn unwatch(config: &Arc<Config>, args: WatchArgs) -> Result<()> {
    watchers(config, args, Desk::unwatch)
}

/// `change` (the desk's `watch` or `unwatch`) of `args`' address, and the
/// watchers it left.
fn watchers(
    config: &Arc<Config>,
    args: WatchArgs,
    change: fn(&mut Desk, i64, &Address, &Act) -> Result<Changed>,
) -> Result<()> {
    let act = act(config, args.author.as_deref())?;
    let t = change(
        &mut desk(config)?,
        args.id,
        &Address::new(&args.address),
        &act,
    )?
    .ticket;
    eprintln!("ticket #{} watchers: {}", t.id, t.watchers.join(", "));
    Ok(())
}
