//! `pipedesk serve` (SPEC §6): the web pages and the JSON API, a front end
//! of the same desk as the commands. Handlers parse a request, call one desk
//! operation on a blocking thread (the stores are synchronous: `deliver`
//! must not pay for an async runtime), and render a view. The tokio runtime
//! starts here, so nothing of it runs for any other command.

mod api;
mod auth;
mod clock;
mod conns;
mod error;
mod events;
mod extract;
mod fields;
mod ops;
mod pages;
mod reload;
mod state;
mod throttle;

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;

use crate::config::Config;
pub use state::Shared;

/// Runs the server until SIGINT or SIGTERM, then stops gracefully (see
/// `run`); SIGHUP reloads its config.
pub fn serve(config: Arc<Config>) -> Result<()> {
    // What `check` warns about, said where the admin starts the server.
    for w in config.warnings() {
        eprintln!("pipedesk: warning: {w}");
    }
    // Before anything opens a file: the handles it may use decide how many
    // connections it holds (`conns`).
    let files = conns::raise_file_limit();
    let gate = conns::Gate::new(conns::Limits::for_files(files));
    // The store is opened before the runtime starts: PostgreSQL's client is
    // synchronous, with a runtime of its own inside, and tokio refuses to
    // start one on a thread that drives another (requests reach the store
    // on spawn_blocking threads, where it may).
    let state = state::AppState::start(config.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let served = runtime.block_on(run(config, state, gate));
    // Whatever is still running on a blocking thread after the grace (a
    // request that outlived it) does not hold the exit up much longer.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

async fn run(config: Arc<Config>, state: Shared, gate: Arc<conns::Gate>) -> Result<()> {
    // Caught before the line that says it serves: a SIGHUP from then on
    // reloads the config rather than ends the process.
    tokio::spawn(reload::reload_on(reload::hangups()?, state.clone()));
    tokio::spawn(clock::tick_every_minute(state.clone()));
    let listener = tokio::net::TcpListener::bind(&config.web.listen)
        .await
        .with_context(|| format!("listening on {} (web.listen)", config.web.listen))?;
    let addr = listener.local_addr()?;
    let limits = gate.limits();
    eprintln!(
        "pipedesk: serve: holding at most {} connections, {} from one client",
        limits.total, limits.per_client
    );
    // One line a supervisor (and the tests) can read: where it listens.
    eprintln!(
        "pipedesk: serving {} on http://{addr} for {}",
        state.store, config.web.base_url
    );
    let stopping = state.stopping.clone();
    let router = router(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    // A head not whole within the limit closes the connection (SPEC §6),
    // and so does an idle one: a flood of slow clients holds nothing for
    // long; nor much while it lasts, each head held to `MAX_HEAD`, and the
    // buffer a connection reads into no larger (hyper's is ~400 KB).
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout())
        .max_header_size(conns::MAX_HEAD)
        .max_buf_size(conns::MAX_HEAD);
    let mut said_accept_error: Option<std::time::Instant> = None;
    let mut stop = std::pin::pin!(shutdown());
    // Every connection (and event stream) holds a receiver; at a stop they
    // all see `true`, and `closed()` says when the last of them is done.
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file handles, or a connection gone before it
                    // was taken: wait a moment rather than spin, and say
                    // so once in a while rather than ten times a second.
                    if said_accept_error.is_none_or(|t| t.elapsed().as_secs() >= 60) {
                        eprintln!("pipedesk: serve: accepting a connection: {e}");
                        said_accept_error = Some(std::time::Instant::now());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Past a limit, and every connection in the way busy: closed now.
        let Some(held) = gate.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        let held = Arc::new(held);
        let service = {
            let router = router.clone();
            let held = held.clone();
            tower::service_fn(move |mut r: axum::http::Request<hyper::body::Incoming>| {
                r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                let busy = held.request();
                let answer =
                    tower::ServiceExt::oneshot(router.clone(), r.map(axum::body::Body::new));
                async move {
                    let response = answer.await?;
                    Ok::<_, std::convert::Infallible>(response.map(|b| busy.hold(b)))
                }
            })
        };
        let http = http.clone();
        let mut stopped = stopping.subscribe();
        tokio::spawn(async move {
            let connection = http
                .serve_connection(
                    hyper_util::rt::TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(service),
                )
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                // A client that went away, was too slow, or was closed by
                // the gate to make room: nothing to say.
                served = connection.as_mut() => { drop(served); return; }
                () = held.closed() => return,
                _ = stopped.wait_for(|stop| *stop) => {}
            }
            // Stopping: the request being served is answered, then the
            // connection closes (an idle one closes at once).
            connection.as_mut().graceful_shutdown();
            drop(connection.await);
            drop(stopped);
        });
    }
    // SIGTERM (systemctl stop) or SIGINT: take no new connection, let the
    // requests in flight finish within GRACE, then exit 0.
    drop(listener);
    stopping.send_replace(true);
    eprintln!(
        "pipedesk: stopping: no new connections; waiting up to {} s for the requests in flight",
        GRACE.as_secs()
    );
    if tokio::time::timeout(GRACE, stopping.closed())
        .await
        .is_err()
    {
        eprintln!(
            "pipedesk: stopped with requests unfinished after {} s (an event stream, or a slow client)",
            GRACE.as_secs()
        );
    } else {
        eprintln!("pipedesk: stopped");
    }
    Ok(())
}

/// How long a stop waits for the requests in flight: well inside systemd's
/// TimeoutStopSec (90 s by default), and longer than a request takes
/// whose `sendmail` is not hung (that one is killed at 60 s, and its mail
/// stays queued for `flush`).
const GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a client has to send a whole request head (SPEC §6: 10 s).
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `HEADER_TIMEOUT`, or for the tests the milliseconds in
/// `PIPEDESK_TEST_HEADER_TIMEOUT_MS`.
fn header_timeout() -> std::time::Duration {
    std::env::var("PIPEDESK_TEST_HEADER_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(HEADER_TIMEOUT, std::time::Duration::from_millis)
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}

/// The time a request acts at, passed into the desk: the front ends' one
/// clock (`commands::now`, which honours `PIPEDESK_TEST_NOW` alike).
fn now() -> crate::model::Time {
    crate::commands::now()
}

/// Where the JSON API lives.
const API: &str = "/api";

/// Every route of SPEC §6: the pages, with `/api` nested under them as a
/// router of its own — its own fallback and its own refusals, in JSON.
/// Each layer of the same-origin rule wraps its router's fallback too, so
/// a change to a path that is not there is refused like any other.
pub fn router(state: Shared) -> Router {
    let api =
        api::router()
            .fallback(error::no_endpoint)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::same_origin_api,
            ));
    pages::router()
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::same_origin_page,
        ))
        .nest(API, api)
        .route("/healthz", axum::routing::get(ops::healthz))
        .layer(axum::middleware::map_response(error::security_headers))
        .layer(axum::middleware::from_fn(ops::access_log))
        .with_state(state)
}
