//! What a KV client measures: how its transactions end and why they fail,
//! the locks it had to resolve, the time it spent backing off and why, and
//! how long it waited for timestamps. Label handles are looked up once.

use crate::Error;
use prometheus::{Counter, Histogram, IntCounter, IntCounterVec};
use std::sync::LazyLock;
use std::time::Duration;

fn latency_buckets() -> Vec<f64> {
    prometheus::exponential_buckets(0.000_05, 2.0, 20).expect("valid buckets")
}

static TXNS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "basalt_txn_total",
        "Transactions ended: committed, failed at commit, or rolled back",
        &["result"]
    )
    .expect("a metric registered once")
});

static COMMITTED: LazyLock<IntCounter> = LazyLock::new(|| TXNS.with_label_values(&["committed"]));
static FAILED: LazyLock<IntCounter> = LazyLock::new(|| TXNS.with_label_values(&["failed"]));

/// Transactions dropped without a commit (ROLLBACK, or a session gone).
pub(crate) static ROLLED_BACK: LazyLock<IntCounter> =
    LazyLock::new(|| TXNS.with_label_values(&["rolled_back"]));

static COMMIT_DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "basalt_txn_commit_duration_seconds",
        "How long COMMIT took (prewrite and commit of the primary)",
        latency_buckets()
    )
    .expect("a metric registered once")
});

static ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "basalt_txn_errors_total",
        "Errors of row locking and commit, by kind (write conflicts, deadlocks, lock wait timeouts...)",
        &["kind"]
    )
    .expect("a metric registered once")
});

static LOCKS_RESOLVED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "basalt_lock_resolve_total",
        "Other transactions' locks met and looked up at their primary, by what it said",
        &["fate"]
    )
    .expect("a metric registered once")
});

static BACKOFFS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "basalt_backoff_total",
        "Waits before a retry, by reason",
        &["reason"]
    )
    .expect("a metric registered once")
});

static BACKOFF_SECONDS: LazyLock<prometheus::CounterVec> = LazyLock::new(|| {
    prometheus::register_counter_vec!(
        "basalt_backoff_seconds_total",
        "Time spent waiting before retries, by reason",
        &["reason"]
    )
    .expect("a metric registered once")
});

/// How long a caller waited for a timestamp from PD.
pub(crate) static TSO_WAIT: LazyLock<Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "basalt_tso_wait_seconds",
        "How long a caller waited for a timestamp (batched PD calls)",
        latency_buckets()
    )
    .expect("a metric registered once")
});

/// Put every series of this client in `/metrics` now, at 0, so that
/// dashboards and rates see them before the first event.
pub fn init() {
    LazyLock::force(&COMMITTED);
    LazyLock::force(&FAILED);
    LazyLock::force(&ROLLED_BACK);
    LazyLock::force(&COMMIT_DURATION);
    LazyLock::force(&TSO_WAIT);
    LazyLock::force(&BACKOFF_HANDLES);
    for kind in ERROR_KINDS {
        ERRORS.with_label_values(&[kind]);
    }
    for fate in FATES {
        LOCKS_RESOLVED.with_label_values(&[fate]);
    }
}

const ERROR_KINDS: [&str; 9] = [
    "write_conflict",
    "rolled_back",
    "undetermined",
    "deadlock",
    "lock_wait_timeout",
    "locked_nowait",
    "backoff_exhausted",
    "rpc",
    "refused",
];

const FATES: [&str; 3] = ["alive", "committed", "rolled_back"];

/// Whether to measure ([`proto::metrics::enabled`]).
pub fn enabled() -> bool {
    proto::metrics::enabled()
}

/// When a wait starts, if waits are measured.
pub(crate) fn clock() -> Option<std::time::Instant> {
    enabled().then(std::time::Instant::now)
}

/// A COMMIT ended after `took`.
pub(crate) fn commit_ended(result: &Result<u64, Error>, took: Duration) {
    if !enabled() {
        return;
    }
    COMMIT_DURATION.observe(took.as_secs_f64());
    match result {
        Ok(_) => COMMITTED.inc(),
        Err(e) => {
            FAILED.inc();
            error(e);
        }
    }
}

/// Count a transaction's error by kind.
pub(crate) fn error(e: &Error) {
    let kind = match e {
        Error::WriteConflict { .. } => 0,
        Error::RolledBack { .. } => 1,
        Error::Undetermined { .. } => 2,
        Error::Deadlock { .. } => 3,
        Error::LockWaitTimeout { .. } => 4,
        Error::LockedNoWait { .. } => 5,
        Error::BackoffExhausted { .. } => 6,
        Error::Rpc(_) => 7,
        Error::Refused(_) => 8,
    };
    ERRORS.with_label_values(&[ERROR_KINDS[kind]]).inc();
}

/// A lock's primary said `fate`: one of [`FATES`].
pub(crate) fn lock_resolved(fate: &'static str) {
    debug_assert!(FATES.contains(&fate));
    LOCKS_RESOLVED.with_label_values(&[fate]).inc();
}

tokio::task_local! {
    /// Time the current task spent waiting on stores and PD since it last
    /// asked.
    static KV_TIME: std::cell::Cell<Duration>;
}

/// Run `work` (a connection's whole life) with a clock of the time its
/// task waits for stores and PD (calls, timestamps, backoffs), which each
/// of its statements reads and resets with [`take_kv_time`], for the slow
/// query log. Task-local, so concurrent connections do not mix; set once
/// per connection, so a statement's future is not moved to wrap it.
pub fn with_kv_clock<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    KV_TIME.scope(std::cell::Cell::new(Duration::ZERO), work)
}

/// The time this task waited on stores and PD since the last call (zero
/// outside [`with_kv_clock`]).
pub fn take_kv_time() -> Duration {
    KV_TIME
        .try_with(|t| t.replace(Duration::ZERO))
        .unwrap_or_default()
}

/// Add a wait of the current task to its KV clock, if it has one (and the
/// wait was timed: see [`clock`]).
pub(crate) fn waited_on_kv(since: Option<std::time::Instant>) {
    if let Some(since) = since {
        let _ = KV_TIME.try_with(|t| t.set(t.get() + since.elapsed()));
    }
}

/// Why a client waits before trying again.
#[derive(Copy, Clone, Debug)]
pub enum BackoffReason {
    /// PD did not answer.
    Pd,
    /// A store answered with a region error (not leader, stale epoch...) or
    /// did not answer.
    Region,
    /// A live transaction holds a lock in the way.
    Lock,
}

impl BackoffReason {
    fn name(self) -> &'static str {
        match self {
            Self::Pd => "pd",
            Self::Region => "region",
            Self::Lock => "lock",
        }
    }
}

static BACKOFF_HANDLES: LazyLock<[(IntCounter, Counter); 3]> = LazyLock::new(|| {
    [
        BackoffReason::Pd,
        BackoffReason::Region,
        BackoffReason::Lock,
    ]
    .map(|r| {
        (
            BACKOFFS.with_label_values(&[r.name()]),
            BACKOFF_SECONDS.with_label_values(&[r.name()]),
        )
    })
});

/// A wait of `slept` for `reason`.
pub(crate) fn backed_off(reason: BackoffReason, slept: Duration) {
    let (count, seconds) = &BACKOFF_HANDLES[reason as usize];
    count.inc();
    seconds.inc_by(slept.as_secs_f64());
}
