//! `pipedesk flush`: send the outgoing mail still queued (a failed send, or
//! a delivery that died before sending). Each mail is leased first, so two
//! flushes (or a flush and a delivery) never send the same mail twice.

use anyhow::Result;
use serde::Serialize;

use crate::cli::FlushArgs;
use crate::config::{Config, Transport};
use crate::outbound::transport;
use crate::store;

#[derive(Serialize)]
struct Report {
    id: i64,
    sent: bool,
    error: Option<String>,
}

pub fn run(config: &Config, args: FlushArgs) -> Result<()> {
    if config.mail.transport == Transport::None {
        anyhow::bail!("mail.transport is \"none\": nothing can be sent");
    }
    let conn = crate::commands::open_existing(config)?;
    let mut reports = Vec::new();
    for q in store::due(&conn, args.force)? {
        if !store::lease(&conn, &q)? {
            continue;
        }
        for s in transport::send_all(&conn, config, std::slice::from_ref(&q))? {
            reports.push(Report {
                id: s.id,
                sent: s.error.is_none(),
                error: s.error,
            });
        }
    }
    if args.json {
        return crate::commands::print_json(&reports);
    }
    let failed: Vec<&Report> = reports.iter().filter(|r| !r.sent).collect();
    for r in &failed {
        eprintln!(
            "pipedesk: mail {} not sent: {}",
            r.id,
            r.error.as_deref().unwrap_or("")
        );
    }
    eprintln!(
        "sent {}, failed {}",
        reports.len() - failed.len(),
        failed.len()
    );
    Ok(())
}
