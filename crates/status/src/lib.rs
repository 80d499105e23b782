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
//!   a CPU profile sampled for N seconds (see [`profile`]);
//! - `/debug/pprof/heap`: the live heap by allocating stack;
//! - `/debug/stacks`: every thread's stack now (see `stacks.rs`);
//! - `/debug/zip?seconds=N`: all of the above in one archive (see
//!   `debug_zip.rs`);
//!
//! plus the routes of the role itself ([`Role::routes`]).

mod debug_zip;
pub mod profile;
mod stacks;

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
    /// Routes only this role serves (the SQL node's `/schema`, say).
    pub routes: Router,
}

/// The version `/status` reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit the binary was built from (`unknown` outside a git checkout).
pub const GIT_HASH: &str = env!("BASALT_GIT_HASH");

/// What the shared routes read.
pub(crate) struct State {
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
        routes,
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
        .route("/debug/pprof/heap", get(profile::heap))
        .route("/debug/stacks", get(stacks))
        .route("/debug/zip", get(debug_zip::debug_zip))
        .with_state(state)
        .merge(routes);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A JSON response.
pub fn json(value: &serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], pretty(value)).into_response()
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A plain-text error response.
pub fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, message.into()).into_response()
}

impl State {
    fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "role": self.name,
            "version": VERSION,
            "git_hash": GIT_HASH,
            "start_time": self.started_unix,
            "uptime_seconds": self.started.elapsed().as_secs_f64(),
            "connections": (self.connections)(),
        })
    }
}

async fn status(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    json(&state.status())
}

async fn config(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    json(&state.config)
}

/// Every registered metric in Prometheus' text format.
fn metrics_text() -> Result<String, String> {
    prometheus::TextEncoder::new()
        .encode_to_string(&prometheus::gather())
        .map_err(|e| e.to_string())
}

async fn metrics() -> Response {
    match metrics_text() {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

async fn stacks() -> Response {
    match tokio::task::spawn_blocking(stacks::dump).await {
        Ok(Ok(text)) => text.into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
