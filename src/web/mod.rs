//! `pipedesk serve` (SPEC §6): the web pages and the JSON API, a front end
//! of the same desk as the commands. Handlers parse a request, call one desk
//! operation on a blocking thread (the stores are synchronous: `deliver`
//! must not pay for an async runtime), and render a view. The tokio runtime
//! starts here, so nothing of it runs for any other command.

mod api;
mod auth;
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

/// Runs the server until SIGINT or SIGTERM; SIGHUP reloads its config.
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
    runtime.block_on(run(config, state, gate))
}

async fn run(config: Arc<Config>, state: Shared, gate: Arc<conns::Gate>) -> Result<()> {
    // Caught before the line that says it serves: a SIGHUP from then on
    // reloads the config rather than ends the process.
    tokio::spawn(reload::reload_on(reload::hangups()?, state.clone()));
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
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => return Ok(()),
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
        tokio::spawn(async move {
            let served = http
                .serve_connection(
                    hyper_util::rt::TokioIo::new(stream),
                    hyper_util::service::TowerToHyperService::new(service),
                )
                .with_upgrades();
            // A client that went away, was too slow, or was closed by the
            // gate to make room: nothing to say.
            tokio::select! {
                _ = served => {}
                () = held.closed() => {}
            }
        });
    }
}

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
