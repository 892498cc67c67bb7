//! `GET /api/events` (SPEC §6): server-sent events, one per changed ticket,
//! `id:` its seq and `data:` its card. A client that comes back with
//! `Last-Event-ID: K` (or, the first time, `?since=K` from `/api/board`'s
//! seq) gets every change after K first; one too far behind, or ahead of
//! the server, gets `event: reset` and reloads the board (the desk decides
//! which: `Desk::replay`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::auth::Staff;
use super::error::ApiError;
use super::state::Pushed;
use super::Shared;
use crate::desk::Replay;
use crate::view::CardView;

#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    since: Option<i64>,
}

/// Where the stream stands.
struct Feed {
    /// Events to send before the live ones.
    backlog: VecDeque<Event>,
    live: broadcast::Receiver<Arc<Pushed>>,
    /// Live events up to here were in the backlog already.
    after: i64,
    /// The server stopping: the stream ends, so a stop need not wait for
    /// every open board (the browser reconnects when it is back).
    stopping: tokio::sync::watch::Receiver<bool>,
}

fn ticket_event(seq: i64, card: &str) -> Event {
    Event::default()
        .event("ticket")
        .id(seq.to_string())
        .data(card)
}

fn reset(seq: i64) -> Event {
    Event::default()
        .event("reset")
        .id(seq.to_string())
        .data(format!("{{\"seq\":{seq}}}"))
}

pub async fn stream(
    State(state): State<Shared>,
    _: Staff,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.since);
    // Subscribe first, then read where the hub is: nothing falls between
    // the replay and the live events.
    let live = state.hub.subscribe();
    let published = state.published.load(Ordering::SeqCst);
    let backlog = match since {
        None => VecDeque::new(),
        Some(k) => match state.desk(move |desk| desk.replay(k, published)).await? {
            Replay::Reset => VecDeque::from([reset(published)]),
            Replay::Changes(changes) => {
                let mut backlog = VecDeque::new();
                for (seq, listed) in &changes {
                    let card = serde_json::to_string(&CardView::of(listed))
                        .map_err(|e| ApiError::Internal(e.to_string()))?;
                    backlog.push_back(ticket_event(*seq, &card));
                }
                backlog
            }
        },
    };
    // A stream a little ahead of this server's reader (its board read the
    // store since) skips the live changes it has already.
    let after = match since {
        Some(k) if k > published && backlog.is_empty() => k,
        _ => published,
    };
    let feed = Feed {
        backlog,
        live,
        after,
        stopping: state.stopping.subscribe(),
    };
    Ok(Sse::new(events(feed))
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn events(feed: Feed) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Some(feed), |feed| async move {
        let mut feed = feed?;
        if let Some(e) = feed.backlog.pop_front() {
            return Some((Ok(e), Some(feed)));
        }
        loop {
            let next = tokio::select! {
                next = feed.live.recv() => next,
                _ = feed.stopping.wait_for(|stop| *stop) => return None,
            };
            match next {
                Ok(p) if p.seq <= feed.after => continue,
                Ok(p) => {
                    feed.after = p.seq;
                    return Some((Ok(ticket_event(p.seq, &p.card)), Some(feed)));
                }
                // Too slow to keep up: start over from the board.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let seq = feed.after;
                    let mut fresh = feed.live.resubscribe();
                    while let Ok(p) = fresh.try_recv() {
                        feed.after = feed.after.max(p.seq);
                    }
                    feed.live = fresh;
                    return Some((Ok(reset(seq.max(feed.after))), Some(feed)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}
