//! The pages for people (SPEC §6): sign-in, the board, the ticket list
//! with filters and search, a ticket's thread with a form for every action
//! of §5, and attachment downloads. Every form posts to the same desk
//! operation as its command and comes back to the thread. Text from mail
//! reaches a page only through the templates' HTML escaping; HTML mail is
//! shown as the text it was read as, and attachments never render.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Deserialize;

use super::auth::{self, SignedIn, Staff};
use super::error::ApiError;
use super::extract::{filled, Submission};
use super::Shared;
use crate::address::Address;
use crate::desk::{
    first_attachments, search_limit, ticket_number, Act, Answer, Error, Opening, Surface,
    RESOLVED_ON_THE_BOARD,
};
use crate::model::{Filter, Priority, Sort, Status, NOBODY};
use crate::view::{
    FieldsView, HitRow, LaneView, ListRow, MailLine, MergeSide, MoveView, ThreadPage,
};

/// The pages' routes.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/", get(board))
        // The one change for anyone: an address and a password, no more.
        .route(
            "/login",
            get(login_form)
                .post(login)
                .layer(DefaultBodyLimit::max(LOGIN_BODY))
                .layer(axum::middleware::from_fn(small_body)),
        )
        .route("/logout", post(logout))
        .route("/tickets", get(list))
        // Files may come with these (multipart/form-data): `Submission`
        // holds them to policy.max_message_bytes instead of axum's 2 MB.
        .route(
            "/tickets/new",
            get(new_ticket)
                .post(create)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/tickets/{n}", get(thread))
        .route(
            "/tickets/{n}/reply",
            post(reply).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/tickets/{n}/comment",
            post(comment).layer(DefaultBodyLimit::disable()),
        )
        .route("/tickets/{n}/status", post(status))
        .route("/tickets/{n}/take", post(take))
        .route("/tickets/{n}/spam", post(spam))
        .route("/tickets/{n}/owner", post(owner))
        .route("/tickets/{n}/merge", get(merge_question).post(merge))
        .route("/tickets/{n}/messages/{m}", get(message))
        .route("/tickets/{n}/attachments/{k}", get(attachment))
        .route("/assets/{name}", get(asset))
        .route("/favicon.ico", get(favicon))
        .merge(super::fields::pages())
}

/// What a sign-in's body may hold: someone not signed in makes `serve`
/// hold no more (SPEC §6).
const LOGIN_BODY: usize = 4096;

/// A sign-in whose body says it is larger than `LOGIN_BODY`: refused at
/// once, before it is read, and the connection closed (a body sent without
/// its length is cut off at `LOGIN_BODY` as it is read). The body is read
/// whole here, within the time a head has (SPEC §6): a client that drips
/// it a byte at a time would hold its connection for ever.
async fn small_body(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let refuse = |status: StatusCode, why: &'static str| {
        let mut r = (status, why).into_response();
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    let too_large = "A sign-in is an address and a password.\n";
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if length.is_some_and(|n| n > LOGIN_BODY as u64) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large);
    }
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, LOGIN_BODY);
    let body = match tokio::time::timeout(super::header_timeout(), read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large),
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                "A sign-in must arrive whole within seconds.\n",
            )
        }
    };
    next.run(axum::extract::Request::from_parts(parts, body.into()))
        .await
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
fn queues(state: &Shared) -> Vec<String> {
    let config = state.config();
    config.queue_names().into_iter().map(String::from).collect()
}

/// Every member of staff, admins first, each once.
fn staff_list(state: &Shared) -> Vec<String> {
    let config = state.config();
    config
        .staff_addresses()
        .into_iter()
        .map(String::from)
        .collect()
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
        context! { site => state.config().site.name },
    )
}

async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Page {
    let client = peer.ip();
    // Counted before the password is checked, in one step with the
    // question: sign-ins that arrive at once cannot all pass it.
    if !state.throttle.reserve(client) {
        let mut page = render(
            &state,
            "login.html",
            context! { site => state.config().site.name, address => form.address,
            error => "Too many failed sign-ins from here: try again in a minute." },
        )?;
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return Ok(page);
    }
    let address = form.address.clone();
    let signed = state
        .desk(move |d| d.sign_in(&Address::new(&form.address), &form.password, super::now()))
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
                context! { site => state.config().site.name, address => address,
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
    let config = state.config();
    let lanes = LaneView::all(&config);
    render(
        &state,
        "board.html",
        context! {
            site => state.config().site.name, who => staff.address, page => "board",
            statuses_json => serde_json::to_string(&statuses).unwrap_or_default(),
            lanes_json => serde_json::to_string(&lanes).unwrap_or_default(),
            resolved_shown => RESOLVED_ON_THE_BOARD, spam => crate::config::SPAM_QUEUE,
            queues => queues(&state),
            queue => q.queue.filter(|s| !s.is_empty()),
            wall => q.wall.is_some(),
            priorities_json => priority_words(), timezone => state.config().site.timezone.name(),
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
    requestor: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

/// What the list page found: tickets, or a search's hits, or why neither.
#[derive(Default)]
struct Found {
    tickets: Vec<minijinja::Value>,
    hits: Vec<minijinja::Value>,
    error: Option<String>,
    /// The ticket a search for its number (`#N`, `N`) opens.
    jump: Option<i64>,
    /// The error is that no ticket has the number searched for.
    missing: bool,
}

impl Found {
    /// The desk's refusal in `e` said on the page, beside the form to try
    /// again; anything else stays a fault.
    fn refused(e: anyhow::Error) -> anyhow::Result<Found> {
        match Error::find(&e) {
            Some(refusal) => Ok(Found {
                error: Some(refusal.to_string()),
                missing: matches!(refusal, Error::NoTicket(_)),
                ..Found::default()
            }),
            None => Err(e),
        }
    }
}

async fn list(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Query(q): Query<ListQuery>,
) -> Page {
    let nonempty = |s: &Option<String>| filled(s.clone());
    let words: Vec<String> =
        q.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect();
    let number = ticket_number(q.q.as_deref().unwrap_or(""));
    let sort = nonempty(&q.sort).map(|s| s.parse::<Sort>()).transpose();
    let zone = state.config().site.timezone.clone();
    let now = super::now();
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
                requestor: nonempty(&q.requestor),
                limit: Surface::Page.list_limit(),
                sort,
                ..Filter::default()
            };
            state
                .desk(move |d| {
                    if let Some(n) = number {
                        return match d.ticket(n) {
                            Ok(_) => Ok(Found {
                                jump: Some(n),
                                ..Found::default()
                            }),
                            Err(e) => Found::refused(e),
                        };
                    }
                    if words.is_empty() {
                        let listed = match d.list(&filter, false) {
                            Ok(listed) => listed,
                            Err(e) => return Found::refused(e),
                        };
                        let tickets = listed
                            .iter()
                            .map(|l| ListRow::of(l, &zone, now))
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
                        Err(e) => Found::refused(e),
                    }
                })
                .await
                .map_err(failed)?
        }
    };
    if let Some(n) = found.jump {
        return Ok(Redirect::to(&format!("/tickets/{n}")).into_response());
    }
    let refused = found.error.is_some();
    let mut page = render(
        &state,
        "list.html",
        context! {
            site => state.config().site.name, who => staff.address, page => "list",
            tickets => found.tickets, hits => found.hits, error => found.error, q => q.q,
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            status => q.status, queue => q.queue, owner => q.owner, requestor => q.requestor,
            nobody => NOBODY,
            queues => queues(&state), staff => staff_list(&state),
            sorts => Sort::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(), sort => q.sort,
        },
    )?;
    if found.missing {
        *page.status_mut() = StatusCode::NOT_FOUND;
    } else if refused {
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
    // A notice by its number, and only the asker's own.
    let notice = q
        .notice
        .and_then(|code| state.notices.get(&staff.address, &code));
    let config = state.config();
    let (shown, moves, mail, canned, fields) = state
        .desk(move |d| {
            let canned = minijinja::Value::from_serialize(d.canned()?);
            let thread = d.thread(id, true)?;
            let (_, messages) = d.messages(id)?;
            let first = first_attachments(&messages);
            let now = super::now();
            let shown =
                minijinja::Value::from_serialize(ThreadPage::of(&thread, &first, &config, now));
            let moves = minijinja::Value::from_serialize(MoveView::from(thread.ticket.status));
            let mail: Vec<MailLine<'_>> = thread
                .mail
                .iter()
                .map(|m| MailLine::shown(m, &config))
                .collect();
            let fields =
                minijinja::Value::from_serialize(FieldsView::of(&thread.ticket, &config, now));
            Ok((
                shown,
                moves,
                minijinja::Value::from_serialize(mail),
                canned,
                fields,
            ))
        })
        .await
        .map_err(failed)?;
    render(
        &state,
        "thread.html",
        context! {
            site => state.config().site.name, who => staff.address, page => "thread",
            t => shown, asked => id, moves => moves, mail => mail, fields => fields,
            staff => staff_list(&state), notice => notice, canned => canned,
        },
    )
}

/// After a form: back to the thread, with what went wrong if anything did.
/// The sentence stays here, kept for whoever sent the form (`Notices`):
/// the link carries only its number, so no link can put words of its own
/// in the desk's notice box (SPEC §6).
fn back(state: &Shared, who: &Address, id: i64, result: anyhow::Result<()>) -> Page {
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
            let code = state.notices.keep(who, why);
            let url = format!("/tickets/{id}?notice={code}");
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
    let who = staff.address.clone();
    let result = state
        .desk(move |d| {
            let act = Act::web(staff.address.clone(), super::now(), version);
            Ok(f(d, &act))
        })
        .await
        .map_err(failed)?;
    back(&state, &who, id, result)
}

/// The thread page's reply and comment (SPEC §6): a `body`, `attachment`
/// files, and for a reply the `status` of "Send and resolve".
async fn write(
    state: Shared,
    staff: Staff,
    id: i64,
    sent: Result<Submission, ApiError>,
    comment: bool,
) -> Page {
    let read = sent.and_then(|sent| {
        let (body, status) = sent.answer()?;
        Ok((sent, body, status))
    });
    let (sent, body, status) = match read {
        Ok(r) => r,
        Err(e) => {
            let refused = Err(Error::BadInput(e.message()).into());
            return back(&state, &staff.address, id, refused);
        }
    };
    act(state, staff, id, None, move |d, a| {
        let answer = Answer {
            body: &body,
            comment,
            files: &sent.files,
            status,
        };
        d.answer(id, &answer, a).map(drop)
    })
    .await
}

async fn reply(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    sent: Result<Submission, ApiError>,
) -> Page {
    write(state, staff, id, sent, false).await
}

async fn comment(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    sent: Result<Submission, ApiError>,
) -> Page {
    write(state, staff, id, sent, true).await
}

// --- a ticket opened by staff ------------------------------------------------------------

/// What the new-ticket form holds, to show it again after a refusal.
#[derive(Debug, Default, serde::Serialize)]
struct NewTicket {
    requestor: String,
    subject: String,
    queue: String,
    body: String,
    mail: bool,
}

fn new_ticket_page(state: &Shared, staff: &Staff, form: &NewTicket, error: Option<String>) -> Page {
    let refused = error.is_some();
    let mut page = render(
        state,
        "new.html",
        context! {
            site => state.config().site.name, who => staff.address, page => "new",
            queues => queues(state), form => minijinja::Value::from_serialize(form),
            error => error,
        },
    )?;
    if refused {
        *page.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(page)
}

/// `/tickets/new`: a form to open a ticket for someone (SPEC §5 `create`).
async fn new_ticket(State(state): State<Shared>, SignedIn(staff): SignedIn) -> Page {
    let form = NewTicket {
        queue: crate::config::GENERAL_QUEUE.into(),
        mail: true,
        ..NewTicket::default()
    };
    new_ticket_page(&state, &staff, &form, None)
}

/// The new-ticket form, posted: the new ticket's thread, or the form again
/// with what was wrong.
async fn create(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    sent: Result<Submission, ApiError>,
) -> Page {
    let read = sent.and_then(|sent| {
        let form = NewTicket {
            requestor: sent.text("requestor")?.unwrap_or_default(),
            subject: sent.text("subject")?.unwrap_or_default(),
            queue: sent.text("queue")?.unwrap_or_default(),
            body: sent.text("body")?.unwrap_or_default(),
            // An unchecked box sends nothing: the form says `mail` itself.
            mail: sent.flag("mail")?.unwrap_or(false),
        };
        Ok((form, sent.files))
    });
    let (form, files) = match read {
        Ok(r) => r,
        Err(e) => return new_ticket_page(&state, &staff, &NewTicket::default(), Some(e.message())),
    };
    let who = staff.address.clone();
    let (form, made) = state
        .desk(move |d| {
            let opening = Opening {
                requestor: &form.requestor,
                subject: &form.subject,
                body: &form.body,
                queue: Some(&form.queue),
                files: &files,
                mail: form.mail,
            };
            let made = d.create(&opening, &Act::web(who, super::now(), None));
            Ok((form, made))
        })
        .await
        .map_err(failed)?;
    match made {
        Ok(changed) => Ok(Redirect::to(&format!("/tickets/{}", changed.ticket.id)).into_response()),
        Err(e) => match Error::find(&e) {
            Some(refusal) => new_ticket_page(&state, &staff, &form, Some(refusal.to_string())),
            None => Err(failed(e)),
        },
    }
}

async fn status(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Page {
    let to = f
        .status
        .parse::<Status>()
        .map_err(|e| failed(Error::BadInput(e.to_string()).into()))?;
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
    let owner = super::api::owner_of(Some(f.owner));
    act(state, staff, id, f.version, move |d, a| {
        d.assign(id, owner.as_ref(), a).map(drop)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct MergeQuery {
    into: String,
}

/// The ticket a merge form names, `N` or `#N`; anything else is the
/// person's mistake, said on the thread.
fn merged_into(into: &str) -> anyhow::Result<i64> {
    into.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| Error::BadInput(format!("{into:?} is not a ticket number")).into())
}

/// The question before a merge (SPEC §6): both tickets side by side, and
/// a form that posts the merge; nothing changes until it is sent.
async fn merge_question(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<MergeQuery>,
) -> Page {
    let into = match merged_into(&q.into) {
        Ok(n) => n,
        Err(e) => return back(&state, &staff.address, id, Err(e)),
    };
    let zone = state.config().site.timezone.clone();
    let now = super::now();
    let asked = state
        .desk(move |d| {
            let both = d
                .messages(id)
                .and_then(|from| Ok((from, d.messages(into)?)));
            Ok(both.map(|((from, a), (to, b))| {
                (
                    minijinja::Value::from_serialize(MergeSide::of(&from, a.len(), &zone, now)),
                    minijinja::Value::from_serialize(MergeSide::of(&to, b.len(), &zone, now)),
                    from.version,
                )
            }))
        })
        .await
        .map_err(failed)?;
    let (goes, stays, version) = match asked {
        Ok(both) => both,
        Err(e) => return back(&state, &staff.address, id, Err(e)),
    };
    render(
        &state,
        "merge.html",
        context! {
            site => state.config().site.name, who => staff.address, page => "thread",
            goes => goes, stays => stays, version => version,
        },
    )
}

async fn merge(
    State(state): State<Shared>,
    SignedIn(staff): SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<MergeForm>,
) -> Page {
    let into = match merged_into(&f.into) {
        Ok(n) => n,
        Err(e) => return back(&state, &staff.address, id, Err(e)),
    };
    let who = staff.address.clone();
    let result = state
        .desk(move |d| {
            let act = Act::web(staff.address.clone(), super::now(), f.version);
            Ok(d.merge(id, into, &act).map(|c| c.ticket.id))
        })
        .await
        .map_err(failed)?;
    match result {
        Ok(target) => back(&state, &who, target, Ok(())),
        Err(e) => back(&state, &who, id, Err(e)),
    }
}

/// Message M of ticket N as it arrived, as a `.eml` download (SPEC §6).
async fn message(
    State(state): State<Shared>,
    _: SignedIn,
    Path((id, m)): Path<(i64, i64)>,
) -> Page {
    let found = state
        .desk(move |d| d.message(id, m))
        .await
        .map_err(failed)?;
    let Some(found) = found else {
        return Err(no_page(StatusCode::NOT_FOUND, "No such message.\n"));
    };
    Ok(download(
        found.raw,
        "message/rfc822",
        &format!("ticket-{id}-message-{m}.eml"),
    ))
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
    Ok(download(found.bytes, "application/octet-stream", &name))
}

/// `bytes` as a download named `name`: `Content-Disposition: attachment`
/// (with the name in ASCII and in UTF-8, RFC 6266), so a browser saves it
/// and never renders it, whatever it holds.
fn download(bytes: Vec<u8>, kind: &'static str, name: &str) -> Response {
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
        urlencode(name)
    );
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

/// The stylesheet and the board's script, compiled into the binary.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &'static str) = match name.as_str() {
        "app.css" => (include_str!("assets/app.css"), "text/css; charset=utf-8"),
        "board.js" => (
            include_str!("assets/board.js"),
            "text/javascript; charset=utf-8",
        ),
        "answer.js" => (
            include_str!("assets/answer.js"),
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
