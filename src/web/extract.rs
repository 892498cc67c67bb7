//! The API's extractors for what a change carries besides who sends it:
//! the `If-Match` version and the JSON body, each rejected as the API's
//! own error (JSON `{"error": …}` with 400), as axum's
//! `customize-extractor-error` example does.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The ticket version a change is conditional on (SPEC §6): `If-Match: 12`,
/// `"12"` or a weak `W/"12"`; None without the header or with `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

impl IfMatch {
    fn of(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
        let Some(value) = headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or("").trim();
        let bare = text.trim_start_matches("W/").trim_matches('"');
        if bare == "*" {
            return Ok(IfMatch(None));
        }
        bare.parse()
            .map(|v| IfMatch(Some(v)))
            .map_err(|_| ApiError::BadRequest(format!("If-Match {text:?} is not a ticket version")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<IfMatch, ApiError> {
        IfMatch::of(&parts.headers)
    }
}

/// A JSON body of type `T`. Read whatever its `Content-Type` says, as the
/// API always has: scripts that send JSON as text/plain keep working.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Json<T>, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the body: {}", e.body_text())))?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::BadRequest(format!("the JSON body: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_bare_quoted_and_weak_versions() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::IF_MATCH, v.parse().unwrap());
            m
        };
        assert_eq!(IfMatch::of(&HeaderMap::new()).unwrap(), IfMatch(None));
        assert_eq!(IfMatch::of(&h("12")).unwrap(), IfMatch(Some(12)));
        assert_eq!(IfMatch::of(&h("\"12\"")).unwrap(), IfMatch(Some(12)));
        assert_eq!(IfMatch::of(&h("W/\"12\"")).unwrap(), IfMatch(Some(12)));
        assert_eq!(IfMatch::of(&h("*")).unwrap(), IfMatch(None));
        assert!(IfMatch::of(&h("\"x\"")).is_err());
    }
}
