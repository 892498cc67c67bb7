//! `pipedesk serve` (SPEC §6): the web pages and the JSON API, a front end
//! of the same desk as the commands. Handlers parse a request, call one desk
//! operation on a blocking thread (the stores are synchronous: `deliver`
//! must not pay for an async runtime), and render a view. The tokio runtime
//! starts here, so nothing of it runs for any other command.

mod api;
mod auth;
mod error;
mod events;
mod pages;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::routing::{get, post};
use axum::Router;

use crate::config::Config;
pub use state::Shared;

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(config: Arc<Config>) -> Result<()> {
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
    runtime.block_on(run(config, state))
}

async fn run(config: Arc<Config>, state: Shared) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.web.listen)
        .await
        .with_context(|| format!("listening on {} (web.listen)", config.web.listen))?;
    let addr = listener.local_addr()?;
    // One line a supervisor (and the tests) can read: where it listens.
    eprintln!(
        "pipedesk: serving {} on http://{addr} for {}",
        state.store, config.web.base_url
    );
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown())
    .await
    .context("serving")
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

/// Every route of SPEC §6.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(pages::board))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/tickets", get(pages::list))
        .route("/tickets/{n}", get(pages::thread))
        .route("/tickets/{n}/reply", post(pages::reply))
        .route("/tickets/{n}/comment", post(pages::comment))
        .route("/tickets/{n}/status", post(pages::status))
        .route("/tickets/{n}/take", post(pages::take))
        .route("/tickets/{n}/owner", post(pages::owner))
        .route("/tickets/{n}/merge", post(pages::merge))
        .route("/tickets/{n}/attachments/{k}", get(pages::attachment))
        .route("/assets/{name}", get(pages::asset))
        .route("/favicon.ico", get(pages::favicon))
        .route("/api/tickets", get(api::list))
        .route("/api/tickets/{n}", get(api::show))
        .route("/api/tickets/{n}/status", post(api::status))
        .route("/api/tickets/{n}/owner", post(api::owner))
        .route("/api/tickets/{n}/reply", post(api::reply))
        .route("/api/tickets/{n}/comment", post(api::comment))
        .route("/api/tickets/{n}/merge", post(api::merge))
        .route("/api/tickets/{n}/move", post(api::move_to))
        .route("/api/search", get(api::search))
        .route("/api/board", get(api::board))
        .route("/api/events", get(events::stream))
        .fallback(error::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::same_origin,
        ))
        .layer(axum::middleware::map_response(error::security_headers))
        .with_state(state)
}
