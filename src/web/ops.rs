//! What an admin runs `serve` with (SPEC §6 "Holding up under abuse"):
//! `/healthz` for monitoring, and the access log, one line a request.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Shared;

/// How long `/healthz` waits for the database before it says 503.
const HEALTH_WAIT: Duration = Duration::from_secs(5);

/// `GET /healthz`: 200 `ok` while the database answers a read, 503
/// otherwise; no sign-in, and no details (they are for the log).
pub async fn healthz(State(state): State<Shared>) -> Response {
    let read = state.desk(|d| d.change_window().map(drop));
    match tokio::time::timeout(HEALTH_WAIT, read).await {
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
