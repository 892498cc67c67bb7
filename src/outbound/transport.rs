//! Sending what the outbox holds, through `mail.transport`: sendmail, SMTP
//! (lettre), a folder of `.eml` files (lettre's file transport, with the
//! envelope beside each mail as JSON), or nowhere. What was sent is
//! recorded by the desk, which owns the outbox.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use lettre::address::Envelope;
use lettre::{Address, FileTransport, SmtpTransport, Transport as _};

use crate::config::{Config, Transport};
use crate::model::QueuedMail as Queued;

/// Sends one mail through the configured transport.
pub fn send(config: &Config, q: &Queued) -> Result<()> {
    let envelope = envelope(q)?;
    match config.mail.transport {
        Transport::None => Ok(()),
        Transport::File => {
            std::fs::create_dir_all(&config.mail.dir)
                .with_context(|| format!("creating {}", config.mail.dir.display()))?;
            FileTransport::with_envelope(&config.mail.dir)
                .send_raw(&envelope, &q.raw)
                .with_context(|| format!("writing to {}", config.mail.dir.display()))?;
            Ok(())
        }
        Transport::Smtp => {
            let transport = SmtpTransport::from_url(&config.mail.smtp_url)
                .with_context(|| format!("mail.smtp_url {}", config.mail.smtp_url))?
                .timeout(Some(std::time::Duration::from_secs(30)))
                .build();
            transport.send_raw(&envelope, &q.raw).context("SMTP")?;
            Ok(())
        }
        Transport::Sendmail => sendmail(config, q),
    }
}

fn envelope(q: &Queued) -> Result<Envelope> {
    let from = match q.envelope_from.as_str() {
        "" => None,
        addr => Some(
            addr.parse::<Address>()
                .with_context(|| format!("envelope sender {addr}"))?,
        ),
    };
    let to = q
        .recipients
        .iter()
        .map(|r| {
            r.parse::<Address>()
                .with_context(|| format!("recipient {r}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Envelope::new(from, to)?)
}

/// How long `sendmail` may take before it is killed and the mail stays
/// queued with that error (SPEC §4 "Sending never hangs"): a `postdrop`
/// that cannot get its group, or an MTA stuck on a full disk, must not
/// hold `reply`, a web request or `flush` for ever (issue 18: `reply` hung
/// past 120 s and sendmail processes piled up).
pub const SENDMAIL_LIMIT: Duration = Duration::from_secs(60);

/// The limit; `PIPEDESK_TEST_SENDMAIL_LIMIT_MS` lowers it for a test.
fn sendmail_limit() -> Duration {
    super::child::limit(SENDMAIL_LIMIT, "PIPEDESK_TEST_SENDMAIL_LIMIT_MS")
}

/// sendmail(1) by hand rather than lettre's: lettre leaves `-f` out for a
/// null sender, so the MTA would put the local user there, and autoreplies
/// must go with `<>` (RFC 3834 §3.3). Postfix and Exim both read `-f '<>'`.
fn sendmail(config: &Config, q: &Queued) -> Result<()> {
    let from = if q.envelope_from.is_empty() {
        "<>"
    } else {
        q.envelope_from.as_str()
    };
    let program = config.mail.sendmail.display();
    let limit = sendmail_limit();
    let run = super::child::run(
        Command::new(&config.mail.sendmail)
            .arg("-i")
            .arg("-f")
            .arg(from)
            .arg("--")
            .args(&q.recipients),
        q.raw.clone(),
        limit,
    )
    .with_context(|| format!("running {program}"))?;
    let err = run.stderr_line();
    match run.status {
        None => bail!(
            "{program} did not finish within {} s and was killed",
            limit.as_secs_f64()
        ),
        Some(status) if !status.success() => bail!(
            "{program} exited with {status}{}{err}",
            if err.is_empty() { "" } else { ": " }
        ),
        Some(_) => match run.stdin_error {
            Some(e) => bail!("writing to {program}: {e}"),
            None => Ok(()),
        },
    }
}
