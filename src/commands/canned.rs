//! `pipedesk canned`: the canned answers there are, each name with its
//! title.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::CannedArgs;
use crate::commands::desk;
use crate::config::Config;

pub fn run(config: &Arc<Config>, args: CannedArgs) -> Result<()> {
    let all = desk(config)?.canned()?;
    if args.json {
        return crate::term::json(&all);
    }
    if all.is_empty() {
        eprintln!(
            "no canned answers in {} (one NAME.txt per answer, its first line `Title: …`)",
            config.canned.dir.display()
        );
        return Ok(());
    }
    let width = all
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for c in &all {
        text.push_str(&format!(
            "{:width$}  {}\n",
            crate::term::one_line(&c.name),
            crate::term::one_line(&c.title)
        ));
    }
    crate::term::out(&text)
}
