//! The pages for people (SPEC §6): sign-in, the board, the ticket list
//! with filters and search, a ticket's thread with a form for every action
//! of §5, and attachment downloads. Every form posts to the same desk
//! operation as its command and comes back to the thread. Text from mail
//! reaches a page only through the templates' HTML escaping; HTML mail is
//! shown as the text it was read as, and attachments never render.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Deserialize;

use super::auth::{self, SignedIn, Staff};
use super::error::ApiError;
use super::Shared;
use crate::address::Address;
use crate::desk::{first_attachments, search_limit, Act, Error, Surface, RESOLVED_ON_THE_BOARD};
use crate::model::{Filter, Priority, Sort, Status};
use crate::view::{FieldsView, HitRow, LaneView, ListRow, MailLine, MoveView, ThreadPage};

/// The pages' routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(board))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/tickets", get(list))
        .route("/tickets/{n}", get(thread))
        .route("/tickets/{n}/reply", post(reply))
        .route("/tickets/{n}/comment", post(comment))
        .route("/tickets/{n}/status", post(status))
        .route("/tickets/{n}/take", post(take))
        .route("/tickets/{n}/spam", post(spam))
        .route("/tickets/{n}/owner", post(owner))
        .route("/tickets/{n}/merge", post(merge))
        .route("/tickets/{n}/attachments/{k}", get(attachment))
        .route("/assets/{name}", get(asset))
        .route("/favicon.ico", get(favicon))
        .merge(super::fields::pages())
}

/// A page, or the answer that says why there is none.
pub(super) type Page = Result<Response, NoPage>;

/// The answer instead of a page (boxed: a response is large).
pub struct NoPage(Box<Response>);

impl From<Response> for NoPage {
    fn from(r: Response) -> NoPage {
        NoPage(Box::new(r))
    }
}

impl IntoResponse for NoPage {
    fn into_response(self) -> Response {
        *self.0
    }
}

fn no_page(status: StatusCode, text: &'static str) -> NoPage {
    (status, text).into_response().into()
}

fn render(state: &Shared, name: &str, ctx: minijinja::Value) -> Page {
    state
        .pages
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(|html| Html(html).into_response())
        .map_err(|e| {
            eprintln!("pipedesk: serve: page {name}: {e:#}");
            no_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "A page failed to render.\n",
            )
        })
}

/// An error of a page's work: a missing ticket is a 404 page, the rest a
/// plain answer with its status.
fn failed(e: anyhow::Error) -> NoPage {
    let api = ApiError::from(e);
    (api.status(), format!("{}\n", api.message()))
        .into_response()
        .into()
}

/// Every queue there is: `general`, the configured ones, `spam`.
fn queues(state: &Shared) -> Vec<&str> {
    state.config.queue_names()
}

/// Every member of staff, admins first, each once.
fn staff_list(state: &Shared) -> Vec<&str> {
    state.config.staff_addresses()
}

// --- signing in --------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    address: String,
    password: String,
}

async fn login_form(State(state): State<Shared>, staff: Option<Staff>) -> Page {
    if staff.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    render(
        &state,
        "login.html",
        context! { site => state.config.site.name },
    )
}

async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Page {
    let client = peer.ip();
    if !state.throttle.allows(client) {
        let mut page = render(
            &state,
            "login.html",
            context! { site => state.config.site.name, address => form.address,
            error => "Too many failed sign-ins from here: try again in a minute." },
        )?;
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(page);
    }
    let address = form.address.clone();
    let signed = state
        .desk(move |d| {
            d.sign_in(
                &Address::new(&form.address),
                &form.password,
                chrono::Utc::now(),
            )
        })
        .await
        .map_err(failed)?;
    match signed {
        Some(secret) => {
            state.throttle.succeeded(client);
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&secret, state.secure)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        None => {
            state.throttle.failed(client);
            let mut page = render(
                &state,
                "login.html",
                context! { site => state.config.site.name, address => address,
                error => "That address and password do not match." },
            )?;
            *page.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(page)
        }
    }
}

async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Page {
    if let Some(secret) = auth::session(&headers) {
        state
            .desk(move |d| d.sign_out(&secret))
            .await
            .map_err(failed)?;
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::expired_cookie(state.secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

// --- the board -----------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    queue: Option<String>,
    wall: Option<String>,
}

async fn board(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Query(q): Query<BoardQuery>,
) -> Page {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let lanes = LaneView::all(&staff_list(&state));
    render(
        &state,
        "board.html",
        context! {
            site => state.config.site.name, who => staff.address, page => "board",
            statuses_json => serde_json::to_string(&statuses).unwrap_or_default(),
            lanes_json => serde_json::to_string(&lanes).unwrap_or_default(),
            resolved_shown => RESOLVED_ON_THE_BOARD,
            queues => queues(&state),
            queue => q.queue.filter(|s| !s.is_empty()),
            wall => q.wall.is_some(),
            priorities_json => priority_words(), timezone => state.config.site.timezone.name(),
        },
    )
}

/// The board's priority words by number, normal (not shown on a card)
/// left out: `{"-1": "low", "1": "high", "2": "urgent"}`.
fn priority_words() -> String {
    let words: std::collections::BTreeMap<String, &str> = Priority::ALL
        .into_iter()
        .filter(|p| *p != Priority::Normal)
        .map(|p| (p.number().to_string(), p.as_str()))
        .collect();
    serde_json::to_string(&words).unwrap_or_default()
}

// --- the list and search ---------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    queue: Option<String>,
    owner: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

/// What the list page found: tickets, or a search's hits, or why neither.
#[derive(Default)]
struct Found {
    tickets: Vec<minijinja::Value>,
    hits: Vec<minijinja::Value>,
    error: Option<String>,
}

async fn list(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Query(q): Query<ListQuery>,
) -> Page {
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let words: Vec<String> =
        q.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect();
    let sort = nonempty(&q.sort).map(|s| s.parse::<Sort>()).transpose();
    let zone = state.config.site.timezone.clone();
    let found = match (
        nonempty(&q.status).map(|s| s.parse::<Status>()).transpose(),
        sort,
    ) {
        (Err(unknown), _) => Found {
            error: Some(unknown.to_string()),
            ..Found::default()
        },
        (_, Err(unknown)) => Found {
            error: Some(unknown),
            ..Found::default()
        },
        (Ok(status), Ok(sort)) => {
            let filter = Filter {
                statuses: status.into_iter().collect(),
                queue: nonempty(&q.queue),
                owner: nonempty(&q.owner),
                limit: Some(500),
                sort,
                ..Filter::default()
            };
            state
                .desk(move |d| {
                    if words.is_empty() {
                        let listed = d.list(&filter, false)?;
                        let tickets = listed
                            .iter()
                            .map(|l| ListRow::of(l, &zone))
                            .map(minijinja::Value::from_serialize)
                            .collect();
                        return Ok(Found {
                            tickets,
                            ..Found::default()
                        });
                    }
                    let limit = search_limit(None, Surface::Page);
                    match d.search(&words, &filter.statuses, limit) {
                        Ok(hits) => Ok(Found {
                            hits: hits
                                .iter()
                                .map(HitRow::of)
                                .map(minijinja::Value::from_serialize)
                                .collect(),
                            ..Found::default()
                        }),
                        // Words that hold nothing to search for: said on
                        // the page, beside the form to try again.
                        Err(e) => match Error::find(&e) {
                            Some(refusal) => Ok(Found {
                                error: Some(refusal.to_string()),
                                ..Found::default()
                            }),
                            None => Err(e),
                        },
                    }
                })
                .await
                .map_err(failed)?
        }
    };
    let refused = found.error.is_some();
    let mut page = render(
        &state,
        "list.html",
        context! {
            site => state.config.site.name, who => staff.address, page => "list",
            tickets => found.tickets, hits => found.hits, error => found.error, q => q.q,
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            status => q.status, queue => q.queue, owner => q.owner,
            queues => queues(&state), staff => staff_list(&state),
            sorts => Sort::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(), sort => q.sort,
        },
    )?;
    if refused {
        *page.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(page)
}

// --- a ticket's thread ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ThreadQuery {
    notice: Option<String>,
}

async fn thread(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<ThreadQuery>,
) -> Page {
    let config = state.config.clone();
    let (shown, moves, mail, fields) = state
        .desk(move |d| {
            let thread = d.thread(id, true)?;
            let (_, messages) = d.messages(id)?;
            let first = first_attachments(&messages);
            let zone = &config.site.timezone;
            let shown = minijinja::Value::from_serialize(ThreadPage::of(&thread, &first, zone));
            let moves = minijinja::Value::from_serialize(MoveView::from(thread.ticket.status));
            let mail: Vec<MailLine<'_>> = thread.mail.iter().map(MailLine::of).collect();
            let queues = config
                .queue_names()
                .into_iter()
                .filter(|q| *q != crate::config::SPAM_QUEUE)
                .collect();
            let fields = minijinja::Value::from_serialize(FieldsView::of(
                &thread.ticket,
                queues,
                zone,
                chrono::Utc::now(),
            ));
            Ok((shown, moves, minijinja::Value::from_serialize(mail), fields))
        })
        .await
        .map_err(failed)?;
    render(
        &state,
        "thread.html",
        context! {
            site => state.config.site.name, who => staff.address, page => "thread",
            t => shown, asked => id, moves => moves, mail => mail, fields => fields,
            staff => staff_list(&state), notice => q.notice,
        },
    )
}

/// After a form: back to the thread, with what went wrong if anything did.
fn back(id: i64, result: anyhow::Result<()>) -> Page {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(e) => {
            let why = match e.chain().find_map(|c| c.downcast_ref::<Error>()) {
                Some(Error::Stale(t)) => format!(
                    "Ticket #{} changed while you were looking at it (it is at version {} now): \
                     nothing was done; here it is as it is.",
                    t.id, t.version
                ),
                Some(r) => r.to_string(),
                None => return Err(failed(e)),
            };
            let url = format!("/tickets/{id}?notice={}", urlencode(&why));
            Ok(Redirect::to(&url).into_response())
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub struct TextForm {
    body: String,
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct VersionForm {
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct SpamForm {
    /// Take the mark back ("Not spam").
    #[serde(default)]
    undo: bool,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    owner: String,
    version: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct MergeForm {
    into: String,
    version: Option<i64>,
}

/// Runs a form's change as `staff`, then goes back to the thread.
pub(super) async fn act(
    state: Shared,
    staff: Staff,
    id: i64,
    version: Option<i64>,
    f: impl FnOnce(&mut crate::desk::Desk, &Act) -> anyhow::Result<()> + Send + 'static,
) -> Page {
    let result = state
        .desk(move |d| {
            let act = Act {
                who: staff.address.clone(),
                now: chrono::Utc::now(),
                if_version: version,
            };
            Ok(f(d, &act))
        })
        .await
        .map_err(failed)?;
    back(id, result)
}

async fn reply(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<TextForm>,
) -> Page {
    act(state, staff, id, None, move |d, a| {
        d.write(id, &f.body, false, a).map(drop)
    })
    .await
}

async fn comment(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<TextForm>,
) -> Page {
    act(state, staff, id, None, move |d, a| {
        d.write(id, &f.body, true, a).map(drop)
    })
    .await
}

async fn status(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Page {
    let Ok(to) = f.status.parse::<Status>() else {
        return Err(no_page(StatusCode::BAD_REQUEST, "unknown status\n"));
    };
    act(state, staff, id, f.version, move |d, a| {
        d.set_status(id, to, a).map(drop)
    })
    .await
}

async fn take(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> Page {
    act(state, staff, id, f.version, move |d, a| {
        d.take(id, a).map(drop)
    })
    .await
}

/// The thread page's "Spam" and "Not spam" (SPEC §5 `spam`).
async fn spam(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<SpamForm>,
) -> Page {
    act(state, staff, id, f.version, move |d, a| {
        d.spam(id, f.undo, a).map(drop)
    })
    .await
}

async fn owner(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<OwnerForm>,
) -> Page {
    let owner = Some(f.owner).filter(|o| !o.trim().is_empty());
    act(state, staff, id, f.version, move |d, a| {
        d.assign(id, owner.map(|o| Address::new(&o)).as_ref(), a)
            .map(drop)
    })
    .await
}

async fn merge(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<MergeForm>,
) -> Page {
    let Ok(into) = f.into.trim().trim_start_matches('#').parse::<i64>() else {
        return back(
            id,
            Err(Error::BadInput(format!("{:?} is not a ticket number", f.into)).into()),
        );
    };
    let result = state
        .desk(move |d| {
            let act = Act {
                who: staff.address.clone(),
                now: chrono::Utc::now(),
                if_version: f.version,
            };
            Ok(d.merge(id, into, &act).map(|c| c.ticket.id))
        })
        .await
        .map_err(failed)?;
    match result {
        Ok(target) => back(target, Ok(())),
        Err(e) => back(id, Err(e)),
    }
}

// --- attachments and assets -----------------------------------------------------------

/// Attachment K of ticket N, as a download: never rendered by the browser,
/// whatever its type says.
async fn attachment(
    State(state): State<Shared>,
    _: SignedIn,
    Path((id, k)): Path<(i64, usize)>,
) -> Page {
    let found = state
        .desk(move |d| d.attachment(id, k))
        .await
        .map_err(failed)?;
    let Some(found) = found else {
        return Err(no_page(StatusCode::NOT_FOUND, "No such attachment.\n"));
    };
    let name = crate::commands::attachments::safe_name(&found.attachment.filename, k);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urlencode(&name)
    );
    let mut r = found.bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

/// The stylesheet and the board's script, compiled into the binary.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &'static str) = match name.as_str() {
        "app.css" => (include_str!("assets/app.css"), "text/css; charset=utf-8"),
        "board.js" => (
            include_str!("assets/board.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "No such asset.\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// No icon: an empty answer rather than a 404 in every browser's console.
async fn favicon() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
