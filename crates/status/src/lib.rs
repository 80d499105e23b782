//! The status HTTP server: what a performance engineer asks a running
//! process before reaching for perf or a debugger.
//!
//! Every role (SQL node, store, PD, the one-process playground) serves the
//! same routes on its own port:
//!
//! - `/status`: role, version, commit, start time, uptime, connections;
//! - `/metrics`: every metric of the process in Prometheus' text format
//!   (the crates that measure register theirs in the default registry,
//!   which on Linux also carries the process' CPU, RSS and open files);
//! - `/config`: the settings the role runs with;
//! - `/debug/pprof/profile?seconds=N` and `/debug/pprof/flamegraph?seconds=N`:
//!   a CPU profile sampled for N seconds (see [`profile`]).
//!

pub mod profile;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What a role tells its status server.
pub struct Role {
    /// `sql`, `kv`, `pd` or `playground`.
    pub name: &'static str,
    /// The settings it runs with, as `/config` shows them.
    pub config: serde_json::Value,
    /// Its open client connections now (MySQL connections of a SQL node,
    /// gRPC streams of a store or PD).
    pub connections: Box<dyn Fn() -> i64 + Send + Sync>,
}

/// The version `/status` reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_HASH: &str = env!("BASALT_GIT_HASH");

struct State {
    name: &'static str,
    config: serde_json::Value,
    connections: Box<dyn Fn() -> i64 + Send + Sync>,
    started: Instant,
    started_unix: u64,
}

/// Serve `role`'s status routes on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    role: Role,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Role {
        name,
        config: settings,
        connections,
    } = role;
    let state = Arc::new(State {
        name,
        config: settings,
        connections,
        started: Instant::now(),
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    });
    let app = Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/config", get(config))
        .route("/debug/pprof/profile", get(profile::pprof))
        .route("/debug/pprof/flamegraph", get(profile::flamegraph))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A JSON response.
fn json(value: &serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(value).unwrap_or_default(),
    )
        .into_response()
}

/// A plain-text error response.
pub(crate) fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, message.into()).into_response()
}

async fn status(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    json(&serde_json::json!({
        "role": state.name,
        "version": VERSION,
        "git_hash": GIT_HASH,
        "start_time": state.started_unix,
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "connections": (state.connections)(),
    }))
}

async fn config(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    json(&state.config)
}

async fn metrics() -> Response {
    match prometheus::TextEncoder::new().encode_to_string(&prometheus::gather()) {
        Ok(text) => (
            [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            text,
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
