//! What an admin runs `serve` with (SPEC §6 "Holding up under abuse"):
//! `/healthz` for monitoring, and the access log, one line a request.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Shared;
use crate::address::Address;

/// How long `/healthz` waits for the database before it says 503.
const HEALTH_WAIT: Duration = Duration::from_secs(5);

/// When the database last answered `/healthz`, behind the lock that the
/// one question out holds until the database answers it — on its blocking
/// thread, even after the request that asked gave up. So however many ask
/// and however long the database hangs, `/healthz` keeps one thread
/// waiting on it at most (a flood of checks from anyone cannot take the
/// threads every request needs), and a check that waited while another's
/// question was answered takes that answer.
#[derive(Debug, Default)]
pub struct Health(Arc<tokio::sync::Mutex<Option<Instant>>>);

/// `GET /healthz`: 200 `ok` while the database answers a read, 503
/// otherwise; no sign-in, and no details (they are for the log).
pub async fn healthz(State(state): State<Shared>) -> Response {
    let arrived = Instant::now();
    let ask = async {
        let mut answered = state.health.0.clone().lock_owned().await;
        if answered.is_some_and(|t| t >= arrived) {
            return Ok(());
        }
        state
            .desk(move |d| {
                d.change_window()?;
                *answered = Some(Instant::now());
                Ok(())
            })
            .await
    };
    match tokio::time::timeout(HEALTH_WAIT, ask).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            eprintln!("pipedesk: serve: /healthz: the database: {e:#}");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
        }
        Err(_) => {
            eprintln!(
                "pipedesk: serve: /healthz: the database did not answer within {HEALTH_WAIT:?}"
            );
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
        }
    }
}

/// Who a request turned out to be from, filled in by the credential's
/// check (`heard`) and read by the access log when the answer is ready.
#[derive(Debug, Clone, Default)]
pub struct Who(Arc<Mutex<Option<Address>>>);

/// Notes that the request of `parts` is from `who` (for the access log).
pub fn heard(parts: &Parts, who: &Address) {
    if let Some(slot) = parts.extensions.get::<Who>() {
        *slot.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(who.clone());
    }
}

/// The access log (SPEC §6): one line on stderr a request, when its
/// answer's head is ready — method, path without its query, status, time
/// taken, and who (the signed-in address, or `-`). Never the query, a
/// header, or a body: no password, cookie or token reaches it.
pub async fn access_log(mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    // A method is any token a client makes up, as long as the head allows.
    let method = shown(request.method().as_str(), 20);
    let path = shown(request.uri().path(), 200);
    let who = Who::default();
    request.extensions_mut().insert(who.clone());
    let response = next.run(request).await;
    let took = start.elapsed();
    let who = who
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .map_or_else(|| "-".to_string(), |a| a.as_str().to_string());
    eprintln!(
        "pipedesk: {method} {path} {} {:.1}ms {who}",
        response.status().as_u16(),
        took.as_secs_f64() * 1000.0
    );
    response
}

/// A method or path as the log shows it: at most `max` characters,
/// nothing but printable ASCII (a request's path is that already, but the
/// log line must stay one line whatever a client sends).
fn shown(text: &str, max: usize) -> String {
    let mut shown: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if text.chars().count() > max {
        shown.push_str("...");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_method_or_path_is_one_short_line() {
        assert_eq!(shown("/tickets/1", 200), "/tickets/1");
        assert_eq!(shown("/a\nb c", 200), "/a?b?c");
        assert_eq!(shown(&"/x".repeat(300), 200).len(), 203);
        assert_eq!(shown(&"X".repeat(9000), 20).len(), 23);
    }
}
