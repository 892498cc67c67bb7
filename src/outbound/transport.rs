//! Sending what the outbox holds, through `mail.transport`: sendmail, SMTP
//! (lettre), a folder of `.eml` files (lettre's file transport, with the
//! envelope beside each mail as JSON), or nowhere. What was sent is
//! recorded by the desk, which owns the outbox.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// The limit, lowered only by the hidden, test-only environment variable
/// `PIPEDESK_TEST_SENDMAIL_LIMIT_MS` (milliseconds) so that the test of the
/// limit takes seconds, not a minute; never documented for admins.
fn sendmail_limit() -> Duration {
    std::env::var("PIPEDESK_TEST_SENDMAIL_LIMIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(SENDMAIL_LIMIT, Duration::from_millis)
}

/// sendmail(1) by hand rather than lettre's: lettre leaves `-f` out for a
/// null sender, so the MTA would put the local user there, and autoreplies
/// must go with `<>` (RFC 3834 §3.3). Postfix and Exim both read `-f '<>'`.
/// The mail is written and stderr read by threads of their own, so that a
/// sendmail that reads nothing cannot block us past the limit.
fn sendmail(config: &Config, q: &Queued) -> Result<()> {
    let from = if q.envelope_from.is_empty() {
        "<>"
    } else {
        q.envelope_from.as_str()
    };
    let program = config.mail.sendmail.display();
    let mut child = Command::new(&config.mail.sendmail)
        .arg("-i")
        .arg("-f")
        .arg(from)
        .arg("--")
        .args(&q.recipients)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // A process group of its own, so that the limit ends what sendmail
        // started too: Postfix's postdrop, refused its queue, retries for
        // ever, and killed sendmail's postdrops piled up (issue 18).
        .process_group(0)
        .spawn()
        .with_context(|| format!("running {program}"))?;
    let writer = child.stdin.take().map(|mut stdin| {
        let raw = q.raw.clone();
        std::thread::spawn(move || stdin.write_all(&raw))
    });
    let reader = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut err = Vec::new();
            let _ = stderr.read_to_end(&mut err);
            err
        })
    });
    let limit = sendmail_limit();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() >= limit {
            kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            // The threads end with the child's pipes; a grandchild that
            // left the group and holds them open is not waited for.
            bail!(
                "{program} did not finish within {} s and was killed (with what it started)",
                limit.as_secs_f64()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let err = reader
        .and_then(|r| r.join().ok())
        .map(|e| String::from_utf8_lossy(&e).trim().to_string())
        .unwrap_or_default();
    if !status.success() {
        bail!(
            "{program} exited with {status}{}{err}",
            if err.is_empty() { "" } else { ": " }
        );
    }
    if let Some(Ok(Err(e))) = writer.map(|w| w.join()) {
        bail!("writing to {program}: {e}");
    }
    Ok(())
}

/// SIGKILL to the process group `leader` heads (sendmail's, made at spawn).
fn kill_group(leader: u32) {
    if let Ok(pid) = libc::pid_t::try_from(leader) {
        // SAFETY: kill(2) takes plain integers; -pid names the group whose
        // leader is our own child, not yet reaped, so the id is not reused.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
