//! What a store's Raft measures: proposals, how long a round's log write
//! (with its fsync) and apply batch take, how long a proposal waits until
//! its entry is committed and applied here, and the regions and leaders
//! the store holds.

use prometheus::{Histogram, IntCounter, IntGauge};
use std::sync::LazyLock;

fn histogram(name: &str, help: &str) -> Histogram {
    prometheus::register_histogram!(
        name,
        help,
        prometheus::exponential_buckets(0.000_05, 2.0, 20).expect("valid buckets")
    )
    .expect("a metric registered once")
}

fn gauge(name: &str, help: &str) -> IntGauge {
    prometheus::register_int_gauge!(name, help).expect("a metric registered once")
}

/// Put the store's Raft series in `/metrics` now, at 0.
pub fn init() {
    LazyLock::force(&PROPOSALS);
    LazyLock::force(&APPEND_LOG);
    LazyLock::force(&COMMIT_LOG);
    LazyLock::force(&APPLY_LOG);
    LazyLock::force(&REGIONS);
    LazyLock::force(&LEADERS);
}

/// Entries proposed by this store's leaders.
pub static PROPOSALS: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_raft_proposals_total",
        "Entries proposed by this store's leaders"
    )
    .expect("a metric registered once")
});

/// One round's new log entries and hard states written, fsync included.
pub static APPEND_LOG: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "basalt_raft_append_log_duration_seconds",
        "Writing a round's new log entries and hard states, fsync included",
    )
});

/// From a proposal until its entry, committed, is applied on the leader.
pub static COMMIT_LOG: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "basalt_raft_commit_log_duration_seconds",
        "From a proposal until its entry is committed and applied on the leader",
    )
});

/// One round's committed entries written to the engine.
pub static APPLY_LOG: LazyLock<Histogram> = LazyLock::new(|| {
    histogram(
        "basalt_raft_apply_log_duration_seconds",
        "Writing a round's committed entries into the engine",
    )
});

/// Regions with a replica on this store.
pub static REGIONS: LazyLock<IntGauge> =
    LazyLock::new(|| gauge("basalt_raft_regions", "Regions with a replica on this store"));

/// Regions this store leads.
pub static LEADERS: LazyLock<IntGauge> =
    LazyLock::new(|| gauge("basalt_raft_leaders", "Regions this store leads"));
