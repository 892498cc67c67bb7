//! The pages for people (SPEC §6): sign-in, the board, the ticket list
//! with filters and search, a ticket's thread with a form for every action
//! of §5, and attachment downloads. Every form posts to the same desk
//! operation as its command and comes back to the thread. Text from mail
//! reaches a page only through the templates' HTML escaping; HTML mail is
//! shown as the text it was read as, and attachments never render.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, Staff};
use super::error::ApiError;
use super::Shared;
use crate::address::Address;
use crate::desk::{Act, Error};
use crate::inbound::{attachment_contents, attachments_of};
use crate::model::{Filter, Status, MARK_END, MARK_START};
use crate::term::human_date;
use crate::view::{describe, TicketView};

/// A page, or the answer that says why there is none.
type Page = Result<Response, NoPage>;

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
    state
        .config
        .queue_names()
        .into_iter()
        .map(String::from)
        .collect()
}

fn staff_list(state: &Shared) -> Vec<String> {
    state
        .config
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

pub async fn login_form(State(state): State<Shared>, headers: HeaderMap) -> Page {
    if let Some(secret) = auth::session(&headers) {
        let signed_in = state
            .desk(move |d| {
                d.signed_in(
                    crate::model::CredentialKind::Session,
                    &secret,
                    chrono::Utc::now(),
                )
            })
            .await
            .ok()
            .flatten();
        if signed_in.is_some() {
            return Ok(Redirect::to("/").into_response());
        }
    }
    render(
        &state,
        "login.html",
        context! { site => state.config.site.name },
    )
}

pub async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Page {
    let client = peer.ip();
    let allowed = state
        .throttle
        .lock()
        .map(|mut t| t.allows(client, std::time::Instant::now()))
        .unwrap_or(false);
    if !allowed {
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
            if let Ok(mut t) = state.throttle.lock() {
                t.succeeded(client);
            }
            let mut r = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&secret, state.secure)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        None => {
            if let Ok(mut t) = state.throttle.lock() {
                t.failed(client, std::time::Instant::now());
            }
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

pub async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Page {
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

pub async fn board(State(state): State<Shared>, staff: Staff, Query(q): Query<BoardQuery>) -> Page {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let mut lanes = vec![json!({"owner": "", "label": "nobody"})];
    lanes.extend(
        staff_list(&state)
            .into_iter()
            .map(|a| json!({"owner": a, "label": a})),
    );
    render(
        &state,
        "board.html",
        context! {
            site => state.config.site.name, who => staff.address, page => "board",
            statuses_json => serde_json::to_string(&statuses).unwrap_or_default(),
            lanes_json => Value::Array(lanes).to_string(),
            queues => queues(&state),
            queue => q.queue.filter(|s| !s.is_empty()),
            wall => q.wall.is_some(),
        },
    )
}

// --- the list and search ---------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    queue: Option<String>,
    owner: Option<String>,
    q: Option<String>,
}

pub async fn list(State(state): State<Shared>, staff: Staff, Query(q): Query<ListQuery>) -> Page {
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let status = nonempty(&q.status).and_then(|s| Status::parse(&s));
    let words: Vec<String> =
        q.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect();
    let filter = Filter {
        statuses: status.into_iter().collect(),
        queue: nonempty(&q.queue),
        owner: nonempty(&q.owner),
        limit: Some(500),
        ..Filter::default()
    }
    .normalised();
    let statuses = filter.statuses.clone();
    let searching = !words.is_empty();
    let (tickets, hits) = state
        .desk(move |d| {
            if searching {
                let hits = d.search(&words, &statuses, 100).unwrap_or_default();
                let hits: Vec<Value> = hits
                    .iter()
                    .map(|h| {
                        let pieces: Vec<&str> = h.snippet.split([MARK_START, MARK_END]).collect();
                        json!({"ticket": h.ticket, "subject": h.subject,
                               "status": h.status, "pieces": pieces})
                    })
                    .collect();
                Ok((Vec::new(), hits))
            } else {
                let listed = d.list(&filter, false)?;
                let tickets: Vec<Value> = listed
                    .iter()
                    .filter_map(|l| {
                        let mut v = serde_json::to_value(TicketView::listed(l)).ok()?;
                        v["changed"] = json!(human_date(l.ticket.updated));
                        Some(v)
                    })
                    .collect();
                Ok((tickets, Vec::new()))
            }
        })
        .await
        .map_err(failed)?;
    render(
        &state,
        "list.html",
        context! {
            site => state.config.site.name, who => staff.address, page => "list",
            tickets => tickets, hits => hits, q => q.q,
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            status => q.status, queue => q.queue, owner => q.owner,
            queues => queues(&state), staff => staff_list(&state),
        },
    )
}

// --- a ticket's thread ---------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct ThreadQuery {
    notice: Option<String>,
}

pub async fn thread(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ThreadQuery>,
) -> Page {
    let (shown, mail) = state
        .desk(move |d| {
            let thread = d.thread(id, true)?;
            let (_, messages) = d.messages(id)?;
            // Attachments are numbered across the ticket, in message order,
            // as `pipedesk attachments` and the download route number them.
            let mut first = HashMap::new();
            let mut n = 1;
            for m in &messages {
                first.insert(m.id, n);
                n += attachments_of(&m.raw).len();
            }
            let mut t = serde_json::to_value(TicketView::thread(&thread))?;
            t["opened"] = json!(human_date(thread.ticket.created));
            if let Some(entries) = t.get_mut("history").and_then(Value::as_array_mut) {
                for (e, entry) in entries.iter_mut().zip(&thread.history) {
                    e["what"] = json!(describe(entry));
                    e["when"] = json!(human_date(entry.date));
                    let start = entry.message.as_ref().and_then(|m| first.get(&m.id));
                    if let (Some(start), Some(list)) = (
                        start,
                        e.get_mut("attachments").and_then(Value::as_array_mut),
                    ) {
                        for (i, a) in list.iter_mut().enumerate() {
                            a["index"] = json!(start + i);
                        }
                    }
                }
            }
            let mail: Vec<Value> = thread
                .mail
                .iter()
                .map(|m| {
                    json!({"kind": m.kind.describe(), "to": m.recipients.join(", "),
                           "state": m.state.as_str()})
                })
                .collect();
            Ok((t, mail))
        })
        .await
        .map_err(failed)?;
    let status = Status::parse(shown["status"].as_str().unwrap_or("")).unwrap_or(Status::Open);
    let mut moves = Vec::new();
    if status != Status::Resolved {
        moves.push(json!({"status": "resolved", "label": "Resolve", "action": "close"}));
    }
    if status.reopens_on_mail() {
        moves.push(json!({"status": "open", "label": "Reopen", "action": "reopen"}));
    }
    if matches!(status, Status::New | Status::Open) {
        moves.push(json!({"status": "stalled", "label": "Stall", "action": "stall"}));
    }
    render(
        &state,
        "thread.html",
        context! {
            site => state.config.site.name, who => staff.address, page => "thread",
            t => shown, asked => id, moves => moves, mail => mail,
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
async fn act(
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

pub async fn reply(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<TextForm>,
) -> Page {
    act(state, staff, id, None, move |d, a| {
        d.write(id, &f.body, false, a).map(drop)
    })
    .await
}

pub async fn comment(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<TextForm>,
) -> Page {
    act(state, staff, id, None, move |d, a| {
        d.write(id, &f.body, true, a).map(drop)
    })
    .await
}

pub async fn status(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Page {
    let Some(to) = Status::parse(&f.status) else {
        return Err(no_page(StatusCode::BAD_REQUEST, "unknown status\n"));
    };
    act(state, staff, id, f.version, move |d, a| {
        d.set_status(id, to, a).map(drop)
    })
    .await
}

pub async fn take(
    State(state): State<Shared>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(f): Form<VersionForm>,
) -> Page {
    act(state, staff, id, f.version, move |d, a| {
        d.take(id, a).map(drop)
    })
    .await
}

pub async fn owner(
    State(state): State<Shared>,
    staff: Staff,
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

pub async fn merge(
    State(state): State<Shared>,
    staff: Staff,
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
pub async fn attachment(
    State(state): State<Shared>,
    _: Staff,
    Path((id, k)): Path<(i64, usize)>,
) -> Page {
    let found = state
        .desk(move |d| {
            let (_, messages) = d.messages(id)?;
            Ok(messages
                .iter()
                .flat_map(|m| attachment_contents(&m.raw))
                .nth(k.saturating_sub(1))
                .filter(|_| k > 0))
        })
        .await
        .map_err(failed)?;
    let Some((a, bytes)) = found else {
        return Err(no_page(StatusCode::NOT_FOUND, "No such attachment.\n"));
    };
    let name = crate::commands::attachments::safe_name(&a.filename, k);
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
    let mut r = bytes.into_response();
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
pub async fn asset(Path(name): Path<String>) -> Response {
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
pub async fn favicon() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
