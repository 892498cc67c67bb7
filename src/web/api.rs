//! The JSON API (SPEC §6): the `--json` shapes of the commands, and the
//! changes a script or the board makes, each the desk's operation with its
//! history and mail. A change answers the ticket object with its version as
//! ETag; `If-Match` makes it conditional (412 with the ticket as it is).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Staff;
use super::error::ApiError;
use super::Shared;
use crate::address::Address;
use crate::desk::{Act, Desk, Error};
use crate::model::{Filter, Status};
use crate::view::{BoardView, CardView, HitView, TicketView};

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    queue: Option<String>,
    owner: Option<String>,
}

/// `status=open` or `status=new,open`.
fn statuses(s: Option<&str>) -> Result<Vec<Status>, ApiError> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            Status::parse(w).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown status {w:?} (new, open, stalled, resolved)"
                ))
            })
        })
        .collect()
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// `GET /api/tickets` = `list --json`.
pub async fn list(
    State(state): State<Shared>,
    _: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let filter = Filter {
        statuses: statuses(q.status.as_deref())?,
        queue: nonempty(q.queue),
        owner: nonempty(q.owner),
        ..Filter::default()
    }
    .normalised();
    let json = state
        .desk(move |desk| {
            let listed = desk.list(&filter, true)?;
            Ok(serde_json::to_value(
                listed.iter().map(TicketView::listed).collect::<Vec<_>>(),
            )?)
        })
        .await?;
    Ok(axum::Json(json).into_response())
}

/// The ticket object of ticket `id` (`show --json`) and its version.
fn ticket_json(desk: &mut Desk, id: i64) -> anyhow::Result<(Value, i64)> {
    let thread = desk.thread(id, true)?;
    Ok((
        serde_json::to_value(TicketView::thread(&thread))?,
        thread.ticket.version,
    ))
}

/// A ticket object with its ETag.
fn with_etag(status: StatusCode, (json, version): (Value, i64)) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{version}\""))],
        axum::Json(json),
    )
        .into_response()
}

/// `GET /api/tickets/N` = `show --json`.
pub async fn show(
    State(state): State<Shared>,
    _: Staff,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let shown = state.desk(move |desk| ticket_json(desk, id)).await?;
    Ok(with_etag(StatusCode::OK, shown))
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    status: Option<String>,
}

/// `GET /api/search?q=` = `search --json`.
pub async fn search(
    State(state): State<Shared>,
    _: Staff,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let words: Vec<String> =
        q.q.unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
    if words.is_empty() {
        return Err(ApiError::BadRequest("give words to search for: ?q=".into()));
    }
    let statuses = statuses(q.status.as_deref())?;
    let json = state
        .desk(move |desk| {
            let hits = desk
                .search(&words, &statuses, 50)
                .map_err(|e| anyhow::Error::new(Error::BadInput(format!("{e:#}"))))?;
            Ok(serde_json::to_value(
                hits.iter().map(HitView::of).collect::<Vec<_>>(),
            )?)
        })
        .await?;
    Ok(axum::Json(json).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    queue: Option<String>,
}

/// `GET /api/board` = `{"seq": S, "cards": [card, …]}`.
pub async fn board(
    State(state): State<Shared>,
    _: Staff,
    Query(q): Query<BoardQuery>,
) -> Result<Response, ApiError> {
    let queue = nonempty(q.queue);
    let body = state
        .desk(move |desk| {
            let (seq, cards) = desk.board(queue.as_deref())?;
            let cards = cards.iter().map(CardView::of).collect();
            // Straight to bytes, here on the blocking thread: 10 000 cards
            // are 2.8 MB of JSON, and built as a serde_json::Value first
            // they were a million small allocations on a runtime worker.
            Ok(serde_json::to_vec(&BoardView { seq, cards })?)
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The version an `If-Match` names: `12` or `"12"` (or a weak `W/"12"`).
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let bare = text.trim_start_matches("W/").trim_matches('"');
    if bare == "*" {
        return Ok(None);
    }
    bare.parse()
        .map(Some)
        .map_err(|_| ApiError::BadRequest(format!("If-Match {text:?} is not a ticket version")))
}

/// A JSON body of type `T`.
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("the JSON body: {e}")))
}

/// Runs a change of ticket `id` by `who` and answers the ticket it left
/// (`f` returns which: a merge answers the ticket merged into); a stale
/// version answers 412 with the ticket as it is now.
async fn change(
    state: Shared,
    id: i64,
    staff: Staff,
    version: Option<i64>,
    f: impl FnOnce(&mut Desk, &Act) -> anyhow::Result<i64> + Send + 'static,
) -> Result<Response, ApiError> {
    let answer = state
        .desk(move |desk| {
            let act = Act {
                who: staff.address.clone(),
                now: chrono::Utc::now(),
                if_version: version,
            };
            match f(desk, &act) {
                Ok(shown) => Ok((StatusCode::OK, ticket_json(desk, shown)?)),
                Err(e)
                    if e.chain()
                        .any(|c| matches!(c.downcast_ref(), Some(Error::Stale(_)))) =>
                {
                    Ok((StatusCode::PRECONDITION_FAILED, ticket_json(desk, id)?))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    Ok(with_etag(answer.0, answer.1))
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: String,
}

#[derive(Debug, Deserialize)]
struct OwnerBody {
    owner: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TextBody {
    body: String,
}

#[derive(Debug, Deserialize)]
struct MergeBody {
    into: i64,
}

#[derive(Debug, Deserialize)]
struct MoveBody {
    status: String,
    owner: Option<String>,
}

fn status_of(word: &str) -> Result<Status, ApiError> {
    Status::parse(word).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "unknown status {word:?} (new, open, stalled, resolved)"
        ))
    })
}

fn owner_of(owner: Option<String>) -> Option<String> {
    owner.filter(|o| !o.trim().is_empty())
}

/// `POST /api/tickets/N/status {"status": S}`.
pub async fn status(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: StatusBody = body(&bytes)?;
    let to = status_of(&b.status)?;
    change(state, id, staff, if_match(&headers)?, move |desk, act| {
        Ok(desk.set_status(id, to, act)?.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/owner {"owner": ADDR|null}`.
pub async fn owner(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: OwnerBody = body(&bytes)?;
    let owner = owner_of(b.owner);
    change(state, id, staff, if_match(&headers)?, move |desk, act| {
        Ok(desk
            .assign(id, owner.map(|o| Address::new(&o)).as_ref(), act)?
            .ticket
            .id)
    })
    .await
}

/// `POST /api/tickets/N/move {"status": S, "owner": ADDR|null}`: the
/// board's drop, both in one change.
pub async fn move_to(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: MoveBody = body(&bytes)?;
    let to = status_of(&b.status)?;
    let owner = owner_of(b.owner);
    change(state, id, staff, if_match(&headers)?, move |desk, act| {
        Ok(desk
            .move_to(id, to, owner.map(|o| Address::new(&o)).as_ref(), act)?
            .ticket
            .id)
    })
    .await
}

async fn write(
    state: Shared,
    staff: Staff,
    id: i64,
    headers: HeaderMap,
    bytes: Bytes,
    comment: bool,
) -> Result<Response, ApiError> {
    let b: TextBody = body(&bytes)?;
    change(state, id, staff, if_match(&headers)?, move |desk, act| {
        let outcome = desk.write(id, &b.body, comment, act)?;
        Ok(outcome.ticket.unwrap_or(id))
    })
    .await
}

/// `POST /api/tickets/N/reply {"body": TEXT}`.
pub async fn reply(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    write(state, staff, id, headers, bytes, false).await
}

/// `POST /api/tickets/N/comment {"body": TEXT}`.
pub async fn comment(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    write(state, staff, id, headers, bytes, true).await
}

/// `POST /api/tickets/N/merge {"into": M}`: answers ticket M.
pub async fn merge(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: MergeBody = body(&bytes)?;
    change(state, id, staff, if_match(&headers)?, move |desk, act| {
        Ok(desk.merge(id, b.into, act)?.ticket.id)
    })
    .await
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
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&h("12")).unwrap(), Some(12));
        assert_eq!(if_match(&h("\"12\"")).unwrap(), Some(12));
        assert_eq!(if_match(&h("W/\"12\"")).unwrap(), Some(12));
        assert_eq!(if_match(&h("*")).unwrap(), None);
        assert!(if_match(&h("\"x\"")).is_err());
    }

    #[test]
    fn statuses_are_words_of_the_four() {
        assert_eq!(
            statuses(Some("new, open")).unwrap(),
            [Status::New, Status::Open]
        );
        assert!(statuses(Some("closed")).is_err());
        assert!(statuses(None).unwrap().is_empty());
    }
}
