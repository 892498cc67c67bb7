//! `pipedesk backup PATH` (SPEC §5): a consistent copy of the SQLite
//! database, taken while deliveries go on. The copying is the store's
//! (`Store::backup`); this opens the database and reports.

use std::sync::Arc;

use anyhow::Result;

use crate::cli::BackupArgs;
use crate::config::Config;
use crate::store::{self, Open};

pub fn run(config: &Arc<Config>, args: BackupArgs) -> Result<()> {
    let mut store = store::open(config, Open::Existing)?;
    store.backup(&args.path)?;
    crate::term::out(&format!(
        "backed up {} to {}\n",
        store.describe(),
        args.path.display()
    ))
}
