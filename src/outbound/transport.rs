//! Sending what the outbox holds, through `mail.transport`: sendmail, SMTP
//! (lettre), a folder of `.eml` files (lettre's file transport, with the
//! envelope beside each mail as JSON), or nowhere. What was sent is
//! recorded by the desk, which owns the outbox.

use std::io::Write;
use std::process::{Command, Stdio};

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

/// sendmail(1) by hand rather than lettre's: lettre leaves `-f` out for a
/// null sender, so the MTA would put the local user there, and autoreplies
/// must go with `<>` (RFC 3834 §3.3). Postfix and Exim both read `-f '<>'`.
fn sendmail(config: &Config, q: &Queued) -> Result<()> {
    let from = if q.envelope_from.is_empty() {
        "<>"
    } else {
        q.envelope_from.as_str()
    };
    let mut child = Command::new(&config.mail.sendmail)
        .arg("-i")
        .arg("-f")
        .arg(from)
        .arg("--")
        .args(&q.recipients)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", config.mail.sendmail.display()))?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(&q.raw));
    let output = child.wait_with_output()?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let err = err.trim();
        bail!(
            "{} exited with {}{}{err}",
            config.mail.sendmail.display(),
            output.status,
            if err.is_empty() { "" } else { ": " }
        );
    }
    if let Some(Err(e)) = written {
        bail!("writing to {}: {e}", config.mail.sendmail.display());
    }
    Ok(())
}
