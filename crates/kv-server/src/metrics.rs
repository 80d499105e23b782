//! What a store measures about its transactions: row lock waits and the
//! deadlocks PD refused.

use prometheus::{Histogram, IntCounter};
use std::sync::LazyLock;

/// Put this store's transaction series in `/metrics` now, at 0.
pub fn init() {
    LazyLock::force(&LOCK_WAIT);
    LazyLock::force(&DEADLOCKS);
}

/// How long pessimistic lock requests waited for another transaction's lock.
pub static LOCK_WAIT: LazyLock<Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "basalt_lock_wait_duration_seconds",
        "Waits of row lock requests for another transaction's lock",
        prometheus::exponential_buckets(0.000_1, 2.0, 20).expect("valid buckets")
    )
    .expect("a metric registered once")
});

/// Waits refused because they would have closed a cycle.
pub static DEADLOCKS: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_deadlocks_total",
        "Row lock waits refused because they would close a cycle"
    )
    .expect("a metric registered once")
});
