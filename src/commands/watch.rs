//! `pipedesk watch N ADDR` and `unwatch N ADDR`: who else gets the staff's
//! replies on a ticket. The requestor always does.

use std::sync::Arc;

use anyhow::Result;

use crate::address::Address;
use crate::cli::WatchArgs;
use crate::commands::{acting, desk};
use crate::config::Config;
use crate::desk::Act;

pub fn watch(config: &Arc<Config>, args: WatchArgs) -> Result<()> {
    let who = acting(config, args.author.as_deref())?;
    let t = desk(config)?
        .watch(
            args.id,
            &Address::new(&args.address),
            &Act::new(who, crate::commands::now()),
        )?
        .ticket;
    eprintln!("ticket #{} watchers: {}", t.id, t.watchers.join(", "));
    Ok(())
}

pub fn unwatch(config: &Arc<Config>, args: WatchArgs) -> Result<()> {
    let who = acting(config, args.author.as_deref())?;
    let t = desk(config)?
        .unwatch(
            args.id,
            &Address::new(&args.address),
            &Act::new(who, crate::commands::now()),
        )?
        .ticket;
    eprintln!("ticket #{} watchers: {}", t.id, t.watchers.join(", "));
    Ok(())
}
