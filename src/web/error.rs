//! How the web says no: one enum whose kind decides the status code, as
//! `exit.rs` does for exit codes — JSON `{"error": "…"}` for the API, a
//! short page for people — and the headers every response carries.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::desk::Error;

/// An error of the JSON API (SPEC §6).
#[derive(Debug)]
pub enum ApiError {
    /// 400: bad input.
    BadRequest(String),
    /// 401: not signed in.
    Unauthorized,
    /// 403: signed in, but the change does not come from our origin.
    Forbidden(String),
    /// 404: no such ticket (or page).
    NotFound(String),
    /// 409: not allowed now.
    Conflict(String),
    /// 412: the ticket changed since the version given; the ticket as it
    /// is now.
    Stale(serde_json::Value),
    /// 500: our fault.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Stale(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Internal(m) => m.clone(),
            ApiError::Unauthorized => "sign in first (or send Authorization: Bearer TOKEN)".into(),
            ApiError::Stale(_) => "the ticket has changed since that version".into(),
        }
    }
}

/// A status word that is none of the four: a bad request, in the one
/// message of `UnknownStatus`.
impl From<crate::model::UnknownStatus> for ApiError {
    fn from(e: crate::model::UnknownStatus) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> ApiError {
        match Error::find(&e) {
            Some(Error::NoTicket(_) | Error::NoAddress(_)) => ApiError::NotFound(e.to_string()),
            Some(Error::Refused(m)) => ApiError::BadRequest(m.clone()),
            Some(Error::NotAllowed(m)) => ApiError::Conflict(m.clone()),
            Some(Error::BadInput(m)) => ApiError::BadRequest(m.clone()),
            Some(Error::Stale(t)) => ApiError::Stale(json!({"id": t.id, "version": t.version})),
            None => {
                eprintln!("pipedesk: serve: {e:#}");
                ApiError::Internal("internal error; the server's log says more".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::Stale(ticket) => (status, axum::Json(ticket)).into_response(),
            other => (status, axum::Json(json!({"error": other.message()}))).into_response(),
        }
    }
}

/// A page that is not there.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found.\n").into_response()
}

/// An endpoint of the API that is not there, named by its whole path (the
/// nested router sees it without the prefix).
pub async fn no_endpoint(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {}{}", super::API, uri.path()))
}

/// What every answer carries: a Content-Security-Policy that allows no
/// inline script (nor any script but ours), no framing, no sniffing.
pub async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}
