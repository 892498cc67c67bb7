//! The JSON API (SPEC §6): the `--json` shapes of the commands, and the
//! changes a script or the board makes, each the desk's operation with its
//! history and mail. A change answers the ticket object with its version as
//! ETag; `If-Match` makes it conditional (412 with the ticket as it is).

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Staff;
use super::error::ApiError;
use super::events;
use super::extract::{filled, IfMatch, Json, Submission};
use super::Shared;
use crate::address::Address;
use crate::desk::{search_limit, Act, Answer, Desk, Error, Opening, Surface};
use crate::model::{Filter, Sort, Status};
use crate::view::{BoardView, CannedTextView, CardView, HitView, TicketView};

/// The API's routes, nested under `/api`.
pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/tickets",
            get(list).post(create).layer(DefaultBodyLimit::disable()),
        )
        .route("/tickets/{n}", get(show))
        .route("/tickets/{n}/status", post(status))
        .route("/tickets/{n}/owner", post(owner))
        // Files may come with these: `Submission` holds them to
        // policy.max_message_bytes instead of axum's 2 MB.
        .route(
            "/tickets/{n}/reply",
            post(reply).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/tickets/{n}/comment",
            post(comment).layer(DefaultBodyLimit::disable()),
        )
        .route("/tickets/{n}/canned/{name}", get(canned_for))
        .route("/canned", get(canned))
        .route("/tickets/{n}/merge", post(merge))
        .route("/tickets/{n}/move", post(move_to))
        .route("/tickets/{n}/spam", post(spam))
        .route("/search", get(search))
        .route("/board", get(board))
        .route("/events", get(events::stream))
        .merge(super::fields::api())
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    queue: Option<String>,
    owner: Option<String>,
    requestor: Option<String>,
    sort: Option<String>,
}

/// `status=open` or `status=new,open`.
fn statuses(s: Option<&str>) -> Result<Vec<Status>, ApiError> {
    Ok(Status::parse_list(s)?)
}

/// `sort=updated|created|priority|due` (SPEC §5 `list --sort`).
fn sort_of(s: Option<String>) -> Result<Option<Sort>, ApiError> {
    filled(s)
        .map(|s| s.parse().map_err(ApiError::BadRequest))
        .transpose()
}

/// `GET /api/tickets` = `list --json`.
async fn list(
    State(state): State<Shared>,
    _: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let filter = Filter {
        statuses: statuses(q.status.as_deref())?,
        queue: filled(q.queue),
        owner: filled(q.owner),
        requestor: filled(q.requestor),
        sort: sort_of(q.sort)?,
        limit: Surface::Api.list_limit(),
        ..Filter::default()
    };
    let json = state
        .desk(move |desk| {
            let listed = desk.list(&filter, true)?;
            Ok(serde_json::to_value(
                listed
                    .iter()
                    .map(|l| TicketView::listed(l, super::now()))
                    .collect::<Vec<_>>(),
            )?)
        })
        .await?;
    Ok(axum::Json(json).into_response())
}

/// The ticket object of ticket `id` (`show --json`) and its version.
fn ticket_json(desk: &mut Desk, id: i64) -> anyhow::Result<(Value, i64)> {
    let thread = desk.thread(id, true)?;
    Ok((
        serde_json::to_value(TicketView::thread(&thread, super::now()))?,
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
async fn show(
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
async fn search(
    State(state): State<Shared>,
    _: Staff,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let words: Vec<String> =
        q.q.unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
    // No words (or none that hold anything to search for) is the desk's
    // refusal, in its words, as for the command and the page.
    let statuses = statuses(q.status.as_deref())?;
    let json = state
        .desk(move |desk| {
            let hits = desk.search(&words, &statuses, search_limit(None, Surface::Api))?;
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
async fn board(
    State(state): State<Shared>,
    _: Staff,
    Query(q): Query<BoardQuery>,
) -> Result<Response, ApiError> {
    let queue = filled(q.queue);
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

/// Runs a change of ticket `id` by `who` and answers the ticket it left
/// (`f` returns which: a merge answers the ticket merged into); a stale
/// version answers 412 with the ticket as it is now.
pub(super) async fn change(
    state: Shared,
    id: i64,
    staff: Staff,
    IfMatch(version): IfMatch,
    f: impl FnOnce(&mut Desk, &Act) -> anyhow::Result<i64> + Send + 'static,
) -> Result<Response, ApiError> {
    let answer = state
        .desk(move |desk| {
            let act = Act::web(staff.address.clone(), super::now(), version);
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
    /// Resolved without the resolved notice (SPEC §6).
    #[serde(default)]
    quiet: bool,
}

#[derive(Debug, Deserialize)]
struct SpamBody {
    #[serde(default)]
    undo: bool,
}

#[derive(Debug, Deserialize)]
struct OwnerBody {
    owner: Option<String>,
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

/// An owner as given: none for null or blank.
pub(super) fn owner_of(owner: Option<String>) -> Option<Address> {
    filled(owner).map(|o| Address::new(&o))
}

/// `POST /api/tickets/N/status {"status": S}`.
async fn status(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<StatusBody>,
) -> Result<Response, ApiError> {
    let to: Status = b.status.parse()?;
    change(state, id, staff, version, move |desk, act| {
        let changed = if to == Status::Resolved {
            desk.close(id, b.quiet, act)?
        } else {
            desk.set_status(id, to, act)?
        };
        Ok(changed.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/spam {"undo"?: bool}`: marks the ticket as spam,
/// or takes the mark back (SPEC §5 `spam`).
async fn spam(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<SpamBody>,
) -> Result<Response, ApiError> {
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.spam(id, b.undo, act)?.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/owner {"owner": ADDR|null}`.
async fn owner(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<OwnerBody>,
) -> Result<Response, ApiError> {
    let owner = owner_of(b.owner);
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.assign(id, owner.as_ref(), act)?.ticket.id)
    })
    .await
}

/// `POST /api/tickets/N/move {"status": S, "owner": ADDR|null}`: the
/// board's drop, both in one change.
async fn move_to(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<MoveBody>,
) -> Result<Response, ApiError> {
    let to: Status = b.status.parse()?;
    let owner = owner_of(b.owner);
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.move_to(id, to, owner.as_ref(), act)?.ticket.id)
    })
    .await
}

/// A reply or comment: JSON `{"body", "status"?}`, or multipart/form-data
/// with a `body` field and `attachment` files.
async fn write(
    state: Shared,
    staff: Staff,
    id: i64,
    version: IfMatch,
    sent: Submission,
    comment: bool,
) -> Result<Response, ApiError> {
    let (body, status) = sent.answer()?;
    change(state, id, staff, version, move |desk, act| {
        let answer = Answer {
            body: &body,
            comment,
            files: &sent.files,
            status,
        };
        let outcome = desk.answer(id, &answer, act)?;
        Ok(outcome.ticket.unwrap_or(id))
    })
    .await
}

/// `POST /api/tickets/N/reply {"body": TEXT, "status"?: S}`: with
/// `status` (resolved, stalled) the reply and the status change are one
/// change.
async fn reply(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    sent: Submission,
) -> Result<Response, ApiError> {
    write(state, staff, id, version, sent, false).await
}

/// `POST /api/tickets/N/comment {"body": TEXT}`.
async fn comment(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    sent: Submission,
) -> Result<Response, ApiError> {
    write(state, staff, id, version, sent, true).await
}

/// `POST /api/tickets {"requestor", "subject", "body", "queue"?, "mail"?}`
/// (or multipart/form-data with `attachment` files): staff open a ticket
/// for someone (SPEC §5 `create`); 201 with the ticket object.
async fn create(
    State(state): State<Shared>,
    staff: Staff,
    sent: Submission,
) -> Result<Response, ApiError> {
    let requestor = sent.text("requestor")?.unwrap_or_default();
    let subject = sent.text("subject")?.unwrap_or_default();
    let body = sent.text("body")?.unwrap_or_default();
    let queue = sent.text("queue")?;
    let mail = sent.flag("mail")?.unwrap_or(true);
    let made = state
        .desk(move |desk| {
            let opening = Opening {
                requestor: &requestor,
                subject: &subject,
                body: &body,
                queue: queue.as_deref(),
                files: &sent.files,
                mail,
            };
            let changed = desk.create(&opening, &Act::web(staff.address, super::now(), None))?;
            ticket_json(desk, changed.ticket.id)
        })
        .await?;
    Ok(with_etag(StatusCode::CREATED, made))
}

/// `GET /api/canned`: `[{"name", "title"}]`.
async fn canned(State(state): State<Shared>, _: Staff) -> Result<Response, ApiError> {
    let all = state.desk(|desk| desk.canned()).await?;
    Ok(axum::Json(all).into_response())
}

/// `GET /api/tickets/N/canned/NAME`: `{"text"}`, filled in for ticket N
/// and the member of staff asking.
async fn canned_for(
    State(state): State<Shared>,
    staff: Staff,
    Path((id, name)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    let text = state
        .desk(move |desk| desk.canned_for(id, &name, &staff.address))
        .await?;
    Ok(axum::Json(CannedTextView { text }).into_response())
}

/// `POST /api/tickets/N/merge {"into": M}`: answers ticket M.
async fn merge(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    version: IfMatch,
    Json(b): Json<MergeBody>,
) -> Result<Response, ApiError> {
    change(state, id, staff, version, move |desk, act| {
        Ok(desk.merge(id, b.into, act)?.ticket.id)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

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
