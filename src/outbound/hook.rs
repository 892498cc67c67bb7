//! A rule's hooks (SPEC §8): an `exec` program run without a shell, the
//! event as JSON on its stdin, killed at its limit; a `webhook`, the event
//! POSTed as JSON and signed with HMAC-SHA256. The outbox decides when a
//! hook runs and retries it; this module runs it once and says how it went,
//! in one line fit for the outbox's last error.

use std::io::Read;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use ureq::http::Uri;

use super::child;

/// How long a hook may take: a program is killed after 10 s (SPEC §8), and
/// a webhook's receiver gets as long to answer.
pub const LIMIT: Duration = Duration::from_secs(10);

/// How much of a webhook receiver's answer is kept for the error.
const ANSWER_KEPT: u64 = 512;

/// The limit; `PIPEDESK_TEST_HOOK_LIMIT_MS` lowers it for a test.
pub fn limit() -> Duration {
    child::limit(LIMIT, "PIPEDESK_TEST_HOOK_LIMIT_MS")
}

/// Why a hook did not run to success. Every kind is worth a retry: a
/// program may be installed, a receiver mended, before the next `flush`.
/// The messages name a program by its path and a webhook by its host only:
/// arguments and URL paths often carry a token (a chat webhook's URL is its
/// secret), and the error is shown to staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    #[error("the hook names no program")]
    NoProgram,
    #[error("running {program}: {error}")]
    Start { program: String, error: String },
    #[error("{program} did not finish within {} s and was killed", limit.as_secs_f64())]
    TimedOut { program: String, limit: Duration },
    /// `how`: "exited with 3", "ended by signal 9"; `stderr`: its start,
    /// on one line.
    #[error("{program} {how}{}{stderr}", if stderr.is_empty() { "" } else { ": " })]
    Failed {
        program: String,
        how: String,
        stderr: String,
    },
    #[error("webhook URL {0}")]
    BadUrl(String),
    /// The receiver answered other than 2xx; `answer`: the start of its
    /// body, on one line.
    #[error("webhook to {host} answered {status}{}{answer}", if answer.is_empty() { "" } else { ": " })]
    Status {
        host: String,
        status: u16,
        answer: String,
    },
    #[error("webhook to {host} had no answer within {} s", limit.as_secs_f64())]
    Timeout { host: String, limit: Duration },
    /// No connection, a TLS failure, a broken answer.
    #[error("webhook to {host}: {error}")]
    Transport { host: String, error: String },
}

/// Runs `argv` (a program and its arguments, no shell) with `stdin_json`
/// on its stdin; success is exit status 0 within `limit`. A program need
/// not read its stdin.
pub fn run_exec(argv: &[String], stdin_json: &[u8], limit: Duration) -> Result<(), HookError> {
    let (program, args) = argv.split_first().ok_or(HookError::NoProgram)?;
    let run =
        child::run(Command::new(program).args(args), stdin_json.to_vec(), limit).map_err(|e| {
            HookError::Start {
                program: program.clone(),
                error: e.to_string(),
            }
        })?;
    match run.status {
        None => Err(HookError::TimedOut {
            program: program.clone(),
            limit,
        }),
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(HookError::Failed {
            program: program.clone(),
            how: ended(status),
            stderr: run.stderr_line(),
        }),
    }
}

/// "exited with 3" or "ended by signal 9".
fn ended(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with {code}"),
        (None, Some(signal)) => format!("ended by signal {signal}"),
        (None, None) => format!("ended: {status}"),
    }
}

/// POSTs `body` (the event as JSON) to `url`, signed with `secret`, with
/// `delivery` as its `X-Pipedesk-Delivery`; success is a 2xx answer within
/// `limit`. Redirects are not followed: a webhook's target is exact, and a
/// redirect would carry the signed event somewhere nobody configured.
pub fn post_webhook(
    url: &str,
    secret: &str,
    delivery: &str,
    body: &[u8],
    limit: Duration,
) -> Result<(), HookError> {
    let uri = parse(url).map_err(HookError::BadUrl)?;
    let host = uri.host().unwrap_or_default().to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limit))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent
        .post(uri)
        .header("Content-Type", "application/json")
        .header(
            "User-Agent",
            concat!("pipedesk/", env!("CARGO_PKG_VERSION")),
        )
        .header("X-Pipedesk-Delivery", delivery)
        .header("X-Pipedesk-Signature", signature(secret, body))
        .send(body);
    let mut answer = match answer {
        Ok(answer) => answer,
        Err(ureq::Error::Timeout(_)) => return Err(HookError::Timeout { host, limit }),
        Err(e) => {
            return Err(HookError::Transport {
                host,
                error: e.to_string(),
            })
        }
    };
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let mut start = Vec::new();
    let _ = answer
        .body_mut()
        .as_reader()
        .take(ANSWER_KEPT)
        .read_to_end(&mut start);
    Err(HookError::Status {
        host,
        status: status.as_u16(),
        answer: child::one_line(&start),
    })
}

/// The value of `X-Pipedesk-Signature` for `body`: `sha256=` and the
/// lower-case hex of HMAC-SHA256 (RFC 2104) keyed with `secret`, as a
/// receiver computes it to check the event came from us.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        unreachable!("HMAC takes a key of any length (RFC 2104 §2)")
    };
    mac.update(body);
    format!(
        "sha256={}",
        crate::inbound::hex(&mac.finalize().into_bytes())
    )
}

/// Whether `url` is one a webhook may be sent to: http:// or https://
/// with a host. The error says what is wrong without repeating the URL
/// (its path may be a secret).
pub fn check_url(url: &str) -> Result<(), String> {
    parse(url).map(|_| ())
}

/// The host a webhook goes to, which is all of its URL that is shown to
/// people (its path may be a secret); None for a URL it cannot go to.
pub fn host(url: &str) -> Option<String> {
    parse(url)
        .ok()
        .and_then(|uri| uri.host().map(str::to_string))
}

fn parse(url: &str) -> Result<Uri, String> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("http" | "https")) {
        return Err("must start with http:// or https://".into());
    }
    let uri: Uri = url.parse().map_err(|e| format!("is not a URL ({e})"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err("names no host".into());
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn exec_gives_the_event_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let got = dir.path().join("got.json");
        let script = format!("cat > '{}'", got.display());
        run_exec(
            &argv(&["sh", "-c", &script]),
            br#"{"event":"create"}"#,
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(std::fs::read(&got).unwrap(), br#"{"event":"create"}"#);
    }

    #[test]
    fn exec_runs_no_shell() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("made");
        // As one argument of echo, `; touch` is text, not a command.
        let arg = format!("x; touch {}", marker.display());
        run_exec(&argv(&["echo", &arg]), b"{}", Duration::from_secs(30)).unwrap();
        assert!(!marker.exists());
    }

    #[test]
    fn a_failing_program_says_how_it_ended_and_the_start_of_its_stderr() {
        let e = run_exec(
            &argv(&[
                "sh",
                "-c",
                "echo 'no credit left' >&2; echo second >&2; exit 3",
            ]),
            b"{}",
            Duration::from_secs(30),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "sh exited with 3: no credit left second");
        let e = run_exec(
            &argv(&["sh", "-c", "kill -9 $$"]),
            b"{}",
            Duration::from_secs(30),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "sh ended by signal 9");
    }

    #[test]
    fn a_missing_program_is_an_error_naming_it() {
        let e = run_exec(
            &argv(&["/nonexistent/send-sms", "+49"]),
            b"{}",
            Duration::from_secs(30),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("running /nonexistent/send-sms: "),
            "{e}"
        );
        assert_eq!(run_exec(&[], b"{}", LIMIT), Err(HookError::NoProgram));
    }

    #[test]
    fn a_hanging_program_and_its_grandchild_are_killed_at_the_limit() {
        let limit = Duration::from_millis(300);
        let start = Instant::now();
        // The shell waits for its sleep: a grandchild holding the pipes.
        let e = run_exec(&argv(&["sh", "-c", "sleep 100; true"]), b"{}", limit).unwrap_err();
        let took = start.elapsed();
        assert_eq!(
            e.to_string(),
            "sh did not finish within 0.3 s and was killed"
        );
        // A bound, not a speed test: a hang would take 100 s.
        assert!(took < limit + Duration::from_secs(20), "took {took:?}");
    }

    #[test]
    fn a_program_that_ignores_its_stdin_succeeds() {
        run_exec(
            &argv(&["true"]),
            &vec![b' '; 1 << 20],
            Duration::from_secs(30),
        )
        .unwrap();
    }

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231 §4.3, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_taken() {
        for ok in [
            "http://127.0.0.1:8080/hook",
            "https://hooks.example.com/services/T0/B0/XYZ",
            "HTTPS://chat.example.org",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("ftp://example.org/x", "must start with http:// or https://"),
            ("/just/a/path", "must start with http:// or https://"),
            (
                "mailto:x@example.org",
                "must start with http:// or https://",
            ),
            ("https://exa mple.org/", "is not a URL"),
            ("", "must start with http:// or https://"),
            ("http://", "is not a URL"),
        ] {
            let e = check_url(bad).unwrap_err();
            assert!(e.starts_with(why), "{bad}: {e}");
        }
        assert_eq!(
            host("https://hooks.example.com/services/T0/B0/XYZ").as_deref(),
            Some("hooks.example.com")
        );
        assert_eq!(host("ftp://example.org/x"), None);
        assert_eq!(
            post_webhook("file:///etc/passwd", "s", "d", b"{}", LIMIT),
            Err(HookError::BadUrl(
                "must start with http:// or https://".into()
            ))
        );
    }

    #[test]
    fn a_webhook_without_an_answer_times_out() {
        // Connections are accepted by the kernel, and nobody answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", silent.local_addr().unwrap());
        let limit = Duration::from_millis(300);
        let start = Instant::now();
        let e = post_webhook(&url, "s", "d-1", b"{}", limit).unwrap_err();
        assert_eq!(
            e.to_string(),
            "webhook to 127.0.0.1 had no answer within 0.3 s"
        );
        assert!(start.elapsed() < limit + Duration::from_secs(20));
    }

    #[test]
    fn a_webhook_nobody_listens_for_is_an_error() {
        let url = {
            let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hook", gone.local_addr().unwrap())
        };
        let e = post_webhook(&url, "s", "d-1", b"{}", Duration::from_secs(30)).unwrap_err();
        assert!(
            matches!(e, HookError::Transport { ref host, .. } if host == "127.0.0.1"),
            "{e}"
        );
    }
}
