//! The API's extractors for what a change carries besides who sends it:
//! the `If-Match` version, the JSON body, and a submission that may carry
//! files (JSON, a form, or multipart/form-data), each rejected as the API's
//! own error (JSON `{"error": …}` with 400), as axum's
//! `customize-extractor-error` example does.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use super::Shared;
use crate::model::{Status, Upload};

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

/// A field as given: None when it is missing or holds only blanks (an
/// empty form field, an empty query parameter), which asks for nothing.
pub fn filled(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// What a person sends with a change that may carry files (SPEC §6: the
/// API's `/reply`, `/comment` and `POST /api/tickets`, the thread page's
/// reply and comment forms, `/tickets/new`): a JSON object, a form, or
/// `multipart/form-data` whose `attachment` parts are files. Its fields are
/// read by name whichever it was.
#[derive(Debug, Default)]
pub struct Submission {
    json: serde_json::Map<String, Value>,
    fields: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

/// The name of the file parts (SPEC §6).
const FILE_FIELD: &str = "attachment";

/// Room for a multipart body's boundaries, part headers and text fields
/// above the files themselves.
const FORM_SLACK: usize = 1 << 20;

impl Submission {
    /// Field `name` as text: a JSON string (or null), or a form field.
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.json.get(name) {
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(Value::Null) | None => {}
            Some(_) => return Err(ApiError::BadRequest(format!("{name:?} must be a string"))),
        }
        Ok(self
            .fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone()))
    }

    /// Field `name` as yes or no: a JSON boolean, or a form's `true`,
    /// `on`, `1`, `yes` (a checked box) or `false`, `off`, `0`, `no`.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.json.get(name) {
            Some(Value::Bool(b)) => return Ok(Some(*b)),
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "{name:?} must be true or false"
                )))
            }
        }
        match self.text(name)?.as_deref().map(str::trim) {
            None => Ok(None),
            Some("true" | "on" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "off" | "0" | "no" | "") => Ok(Some(false)),
            Some(other) => Err(ApiError::BadRequest(format!(
                "{name:?} must be true or false, not {other:?}"
            ))),
        }
    }

    /// A reply's or comment's `body` and the `status` it leaves the
    /// ticket in (SPEC §6), as the API and the thread page's forms send
    /// them; an empty status is none.
    pub fn answer(&self) -> Result<(String, Option<Status>), ApiError> {
        let body = self.text("body")?.unwrap_or_default();
        let status = filled(self.text("status")?)
            .map(|s| s.parse::<Status>())
            .transpose()?;
        Ok((body, status))
    }

    async fn multipart(request: Request, state: &Shared) -> Result<Submission, ApiError> {
        let bad = |e: axum::extract::multipart::MultipartError| {
            ApiError::BadRequest(format!("the form: {}", e.body_text()))
        };
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the form: {}", e.body_text())))?;
        // The files may make a message as large as one that comes by mail;
        // the desk holds the message itself to that limit.
        let most = state.config().policy.max_message_bytes as usize;
        let too_large = || {
            ApiError::BadRequest(format!(
                "the files may hold at most {most} bytes (policy.max_message_bytes)"
            ))
        };
        let mut read = 0usize;
        let mut out = Submission::default();
        while let Some(mut field) = form.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(String::from);
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                read += chunk.len();
                if read > most + FORM_SLACK {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            match file_name {
                Some(file) if name == FILE_FIELD => {
                    // A file input left empty sends a part with no name
                    // and no bytes.
                    if !(file.is_empty() && bytes.is_empty()) {
                        out.files.push(Upload::new(&file, bytes));
                    }
                }
                Some(_) => {}
                None => out
                    .fields
                    .push((name, String::from_utf8_lossy(&bytes).into_owned())),
            }
        }
        if out.files.iter().map(|f| f.bytes.len()).sum::<usize>() > most {
            return Err(too_large());
        }
        Ok(out)
    }
}

impl FromRequest<Shared> for Submission {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &Shared) -> Result<Submission, ApiError> {
        let kind = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if kind.starts_with("multipart/form-data") {
            return Submission::multipart(request, state).await;
        }
        if kind.starts_with("application/x-www-form-urlencoded") {
            let axum::extract::Form(fields) =
                axum::extract::Form::<Vec<(String, String)>>::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::BadRequest(format!("the form: {}", e.body_text())))?;
            return Ok(Submission {
                fields,
                ..Submission::default()
            });
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the body: {}", e.body_text())))?;
        // JSON whatever the Content-Type says, as `Json` reads it.
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(json)) => Ok(Submission {
                json,
                ..Submission::default()
            }),
            Ok(_) => Err(ApiError::BadRequest(
                "the JSON body must be an object".into(),
            )),
            Err(e) => Err(ApiError::BadRequest(format!("the JSON body: {e}"))),
        }
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
