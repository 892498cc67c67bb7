//! The web's side of a ticket's own fields (SPEC §6): `POST
//! /api/tickets/N/queue`, `/edit`, `/priority`, `/due`, `/watchers`, and the
//! thread page's forms for the same, each the desk's operation (`queue`,
//! `edit`, `priority`, `due`, `watch`/`unwatch`) with its history. The API
//! answers the ticket object with its ETag and honours `If-Match` like
//! every change; a form comes back to the thread.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::api::change;
use super::auth::{SignedIn, Staff};
use super::error::ApiError;
use super::extract::{filled, IfMatch, Json};
use super::pages::{act, Page};
use super::Shared;
use crate::address::Address;
use crate::desk::Desk;

/// The API's routes of this concern, nested under `/api`.
pub fn api() -> Router<Shared> {
    Router::new()
        .route("/tickets/{n}/queue", post(api_queue))
        .route("/tickets/{n}/edit", post(api_edit))
        .route("/tickets/{n}/priority", post(api_priority))
        .route("/tickets/{n}/due", post(api_due))
        .route("/tickets/{n}/watchers", post(api_watchers))
}

/// The thread page's forms of this concern.
pub fn pages() -> Router<Shared> {
    Router::new()
        .route("/tickets/{n}/queue", post(page_queue))
        .route("/tickets/{n}/edit", post(page_edit))
        .route("/tickets/{n}/priority", post(page_priority))
        .route("/tickets/{n}/due", post(page_due))
        .route("/tickets/{n}/watchers", post(page_watchers))
}

// --- the API -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct QueueBody {
    queue: String,
}

#[derive(Debug, Deserialize)]
struct EditBody {
    subject: Option<String>,
    requestor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PriorityBody {
    /// A word or a number (SPEC §6).
    priority: Value,
}

#[derive(Debug, Deserialize)]
struct DueBody {
    /// Present: a date (text) or null (none). Absent: a bad request, not
    /// a silent clear.
    #[serde(default, deserialize_with = "present")]
    due: Option<Value>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
struct WatchersBody {
    add: Option<String>,
    remove: Option<String>,
}

/// `POST /api/tickets/N/queue {"queue": Q}`.
async fn api_queue(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<QueueBody>,
) -> Result<Response, ApiError> {
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.set_queue(id, &b.queue, act)?.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/edit {"subject"?: S, "requestor"?: ADDR}`.
async fn api_edit(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<EditBody>,
) -> Result<Response, ApiError> {
    change(state, id, staff, version, move |desk, act| {
        let requestor = b.requestor.as_deref().map(Address::new);
        Ok(desk
            .edit(id, b.subject.as_deref(), requestor.as_ref(), act)?
            .ticket
            .id)
    })
    .await
}

/// `POST /api/tickets/N/priority {"priority": "urgent"|2}`.
async fn api_priority(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<PriorityBody>,
) -> Result<Response, ApiError> {
    let priority = match b.priority {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => {
            return Err(ApiError::BadRequest(format!(
                "priority: {other} is neither a word (low, normal, high, urgent) nor a number (-1 to 2)"
            )))
        }
    };
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.set_priority(id, &priority, act)?.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/due {"due": DATE|null}`.
async fn api_due(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<DueBody>,
) -> Result<Response, ApiError> {
    let due = match b.due {
        Some(Value::Null) => "none".to_string(),
        // "none" too, as the command takes it.
        Some(Value::String(s)) => s,
        _ => {
            return Err(ApiError::BadRequest(
                "give \"due\": a date such as \"2026-12-24T17:00\", or null for none".into(),
            ))
        }
    };
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.set_due(id, &due, act)?.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/watchers {"add": ADDR}` or `{"remove": ADDR}`.
async fn api_watchers(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<WatchersBody>,
) -> Result<Response, ApiError> {
    let which = watcher_change(b.add, b.remove).map_err(ApiError::BadRequest)?;
    change(state, id, staff, version, move |desk, act| {
        Ok(which.apply(desk, id, act)?.ticket.id)
    })
    .await
}

/// A watcher to add or to remove: one of the two.
enum WatcherChange {
    Add(Address),
    Remove(Address),
}

fn watcher_change(add: Option<String>, remove: Option<String>) -> Result<WatcherChange, String> {
    match (filled(add), filled(remove)) {
        (Some(a), None) => Ok(WatcherChange::Add(Address::new(&a))),
        (None, Some(r)) => Ok(WatcherChange::Remove(Address::new(&r))),
        _ => Err("give one of \"add\": ADDR or \"remove\": ADDR".into()),
    }
}

impl WatcherChange {
    fn apply(
        &self,
        desk: &mut Desk,
        id: i64,
        act: &crate::desk::Act,
    ) -> anyhow::Result<crate::desk::Changed> {
        match self {
            WatcherChange::Add(a) => desk.watch(id, a, act),
            WatcherChange::Remove(a) => desk.unwatch(id, a, act),
        }
    }
}

// --- the thread page's forms -------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct QueueForm {
    queue: String,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    subject: Option<String>,
    requestor: Option<String>,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct PriorityForm {
    priority: String,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct DueForm {
    #[serde(default)]
    due: String,
    /// The "Clear" button.
    #[serde(default)]
    clear: Option<String>,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct WatchersForm {
    add: Option<String>,
    remove: Option<String>,
    version: Option<i64>,
}

async fn page_queue(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<QueueForm>,
) -> Page {
    act(state, staff, id, f.version, move |d, a| {
        d.set_queue(id, &f.queue, a).map(drop)
    })
    .await
}

async fn page_edit(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<EditForm>,
) -> Page {
    // The form sends both fields; an empty one changes nothing.
    let (subject, requestor) = (filled(f.subject), filled(f.requestor));
    act(state, staff, id, f.version, move |d, a| {
        let requestor = requestor.as_deref().map(Address::new);
        d.edit(id, subject.as_deref(), requestor.as_ref(), a)
            .map(drop)
    })
    .await
}

async fn page_priority(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<PriorityForm>,
) -> Page {
    act(state, staff, id, f.version, move |d, a| {
        d.set_priority(id, &f.priority, a).map(drop)
    })
    .await
}

async fn page_due(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<DueForm>,
) -> Page {
    // A browser's `datetime-local` field sends `2026-12-24T17:00`, read in
    // site.timezone like the command's; "Clear", or an emptied field, is
    // no due date.
    let due = if f.clear.is_some() || f.due.trim().is_empty() {
        "none".to_string()
    } else {
        f.due
    };
    act(state, staff, id, f.version, move |d, a| {
        d.set_due(id, &due, a).map(drop)
    })
    .await
}

async fn page_watchers(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<WatchersForm>,
) -> Page {
    let which = watcher_change(f.add, f.remove);
    act(state, staff, id, f.version, move |d, a| match which {
        Ok(w) => w.apply(d, id, a).map(drop),
        Err(why) => Err(crate::desk::Error::BadInput(why).into()),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watcher_change_is_one_add_or_one_remove() {
        let some = |s: &str| Some(s.to_string());
        assert!(matches!(
            watcher_change(some("a@example.com"), None),
            Ok(WatcherChange::Add(_))
        ));
        assert!(matches!(
            watcher_change(some(" "), some("b@example.com")),
            Ok(WatcherChange::Remove(_))
        ));
        assert!(watcher_change(some("a@x.org"), some("b@x.org")).is_err());
        assert!(watcher_change(None, None).is_err());
    }
}
