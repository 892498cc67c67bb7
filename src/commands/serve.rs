//! `pipedesk serve`: the web interface and the JSON API (SPEC §6), in
//! `src/web/`.

use std::sync::Arc;

use anyhow::Result;

use crate::config::Config;

pub fn run(config: Arc<Config>) -> Result<()> {
    crate::web::serve(config)
}
