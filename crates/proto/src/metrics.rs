//! What the services measure on the serving side: requests by method with
//! their latency, and the client streams open; and the process-wide switch
//! of all per-request and per-statement measuring ([`enabled`]).

use prometheus::{HistogramVec, IntGauge, exponential_buckets, histogram_opts};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process measures its requests and statements.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether this process measures its requests and statements: always, but
/// for runs that measure what measuring costs (`basalt
/// --no-instrumentation`, DESIGN §7 rule 7). Every layer that measures on
/// a hot path asks here first.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Stop measuring, before any request is served.
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

/// Latency buckets of a request: 50 µs to 26 s, doubling.
fn request_buckets() -> Vec<f64> {
    exponential_buckets(0.000_05, 2.0, 20).expect("valid buckets")
}

fn request_histogram(name: &str, help: &str) -> HistogramVec {
    prometheus::register_histogram_vec!(
        histogram_opts!(name, help, request_buckets()),
        &["type"]
    )
    .expect("a metric registered once")
}

/// Store requests served, by method (`type`), and how long each took.
pub static KV_REQUEST_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    request_histogram(
        "basalt_kv_request_duration_seconds",
        "Store requests served, by method, and their latency",
    )
});

/// PD requests served, by method (`type`), and how long each took.
pub static PD_REQUEST_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    request_histogram(
        "basalt_pd_request_duration_seconds",
        "PD requests served, by method, and their latency",
    )
});

/// Multiplexed client streams this process serves: one per client process
/// (SQL node, store, tool) that talks to it.
pub static GRPC_STREAMS: LazyLock<IntGauge> = LazyLock::new(|| {
    prometheus::register_int_gauge!(
        "basalt_grpc_streams",
        "Client streams this process serves"
    )
    .expect("a metric registered once")
});
