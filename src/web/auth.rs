//! Who is asking (SPEC §6): a member of staff signed in with a session
//! cookie, or a script with `Authorization: Bearer TOKEN`; nobody else gets
//! past a page's redirect to `/login` or the API's 401. And the rule for
//! every change: it comes with a bearer token, or shows that it comes from
//! our own origin (`Origin`, else `Sec-Fetch-Site: same-origin`), or it is
//! refused with 403 before any handler runs.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::ApiError;
use super::Shared;
use crate::address::Address;
use crate::model::CredentialKind;

/// The session cookie's name.
pub const COOKIE: &str = "pipedesk_session";

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub address: Address,
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The session secret of a request's cookie, if it has one.
pub fn session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Staff {
    /// The member of staff a request's credential names (a bearer token
    /// first, else the session cookie), if it is valid.
    async fn of(parts: &Parts, state: &Shared) -> Result<Option<Staff>, ApiError> {
        let credential = match (bearer(&parts.headers), session(&parts.headers)) {
            (Some(token), _) => (CredentialKind::Token, token.to_string()),
            (None, Some(cookie)) => (CredentialKind::Session, cookie),
            (None, None) => return Ok(None),
        };
        let (kind, secret) = credential;
        let who = state
            .desk(move |desk| desk.signed_in(kind, &secret, super::now()))
            .await?;
        if let Some(address) = &who {
            super::ops::heard(parts, address);
        }
        Ok(who.map(|address| Staff { address }))
    }
}

/// The API's caller: without a valid credential, 401.
impl FromRequestParts<Shared> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Staff, ApiError> {
        Staff::of(parts, state).await?.ok_or(ApiError::Unauthorized)
    }
}

/// Whoever is signed in, if anyone (the sign-in page sends them on).
impl OptionalFromRequestParts<Shared> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Option<Staff>, ApiError> {
        Staff::of(parts, state).await
    }
}

/// A page's reader: a member of staff, or a redirect to `/login`.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Staff);

impl FromRequestParts<Shared> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<SignedIn, Response> {
        match Staff::of(parts, state).await {
            Ok(Some(staff)) => Ok(SignedIn(staff)),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Does a request show that it comes from our own origin? `Origin` where
/// the browser sends it (it must be ours), else the Fetch Metadata header.
pub fn from_our_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(o) = headers.get(header::ORIGIN) {
        return o.to_str().is_ok_and(|o| o.trim_end_matches('/') == origin);
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("same-origin"))
}

/// The same-origin rule, before any handler: a request that may change
/// something (anything but GET and HEAD) without a bearer token must show
/// it comes from `web.base_url`'s origin. A cross-site form or script
/// cannot, so a signed-in browser cannot be made to act by another site.
///
/// It judges by the head alone and never reads the body: the refusal comes
/// before it, and closes the connection (SPEC §6: nobody who is not signed
/// in makes `serve` hold more than a few kilobytes of a body). A body goes
/// on unread to its handler, whose credential is checked before its body is
/// read (a refusal there also leaves it unread, and hyper closes the
/// connection); `/login`, the one change for anyone, reads a few kilobytes.
async fn same_origin(
    state: &Shared,
    request: Request,
    next: Next,
    refuse: fn(ApiError) -> Response,
) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let h = request.headers();
    if bearer(h).is_some() || from_our_origin(h, &state.origin) {
        return next.run(request).await;
    }
    let mut refused = refuse(ApiError::Forbidden(format!(
        "a change must come from {} (Origin or Sec-Fetch-Site), or with a bearer token",
        state.origin
    )));
    refused.headers_mut().insert(
        header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    refused
}

/// The same-origin rule for the API: refusals in JSON.
pub async fn same_origin_api(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    same_origin(&state, request, next, IntoResponse::into_response).await
}

/// The same-origin rule for the pages: refusals as a line of text.
pub async fn same_origin_page(
    State(state): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    same_origin(&state, request, next, |e| {
        (e.status(), format!("{}\n", e.message())).into_response()
    })
    .await
}

/// The `Set-Cookie` value of a new session: HttpOnly, SameSite=Strict,
/// Secure when the base URL is https.
pub fn session_cookie(secret: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        crate::desk::signin::SESSION_DAYS * 86_400,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn expired_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn our_origin_is_shown_by_origin_else_fetch_metadata() {
        let ours = "http://127.0.0.1:8080";
        assert!(from_our_origin(
            &headers(&[("origin", "http://127.0.0.1:8080")]),
            ours
        ));
        assert!(!from_our_origin(
            &headers(&[("origin", "http://evil.example")]),
            ours
        ));
        assert!(!from_our_origin(
            &headers(&[
                ("origin", "http://evil.example"),
                ("sec-fetch-site", "same-origin")
            ]),
            ours
        ));
        assert!(from_our_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            ours
        ));
        assert!(!from_our_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            ours
        ));
        assert!(!from_our_origin(&headers(&[]), ours));
        assert!(!from_our_origin(&headers(&[("origin", "null")]), ours));
    }

    #[test]
    fn credentials_are_read_from_their_headers() {
        let h = headers(&[
            ("cookie", "theme=dark; pipedesk_session=pds_abc ; x=1"),
            ("authorization", "Bearer pdt_xyz"),
        ]);
        assert_eq!(session(&h).as_deref(), Some("pds_abc"));
        assert_eq!(bearer(&h), Some("pdt_xyz"));
        assert_eq!(bearer(&headers(&[("authorization", "Basic eDp5")])), None);
        assert_eq!(session(&headers(&[("cookie", "pipedesk_session=")])), None);
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_on_https() {
        let c = session_cookie("pds_1", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(session_cookie("pds_1", true).ends_with("; Secure"));
    }
}
