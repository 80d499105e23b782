//! Admission control: at most `max_running_statements` statements execute
//! at once on a SQL node; the others wait in line, for at most
//! `running_statements_queue_timeout` milliseconds, and then fail with
//! error 3024 instead of piling on.
//!
//! A burst of connections that all start work at once is what drives
//! MySQL's "threads running" to the hundreds, where every statement slows
//! every other one down (context switches, cache misses, lock convoys).
//! Bounding the statements that run keeps each of them fast and makes the
//! rest wait visibly: the line's length and the time spent in it are
//! metrics (`basalt_sql_admission_queue`, `..._wait_seconds`).
//!
//! Only statements that read or write data wait (SELECT, INSERT, UPDATE,
//! DELETE, DDL, LOAD DATA); SET, SHOW, USE, KILL and transaction control
//! never do, so an operator can always look and intervene. Nor does any
//! statement of a session inside an open transaction (MySQL's thread pool
//! gives those priority for the same reason): its transaction may hold row
//! locks that the admitted statements wait for, and making it wait behind
//! them would stall both until a lock wait timeout.
//!
//! The bound is a counter: taking a free slot is one compare-and-swap and
//! giving it back one subtraction; only when statements wait does giving
//! back wake one of them (tokio's semaphore takes a mutex on every release,
//! which made it a global lock on every statement).

use crate::metrics::{StatementTimer, StatementType};
use crate::result::{Output, SqlError};
use prometheus::{Histogram, IntCounter, IntGauge};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// `max_running_statements` per core by default: enough that an OLTP load
/// with a few connections per core never waits, small enough that a burst
/// of hundreds does.
pub const DEFAULT_PER_CORE: usize = 8;

/// `running_statements_queue_timeout` by default, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;

static QUEUE: LazyLock<IntGauge> = LazyLock::new(|| {
    prometheus::register_int_gauge!(
        "basalt_sql_admission_queue",
        "Statements waiting for one of the max_running_statements slots"
    )
    .expect("a metric registered once")
});

static WAIT: LazyLock<Histogram> = LazyLock::new(|| {
    prometheus::register_histogram!(
        "basalt_sql_admission_wait_seconds",
        "How long statements that found every slot taken waited for one",
        prometheus::exponential_buckets(0.000_05, 2.0, 20).expect("valid buckets")
    )
    .expect("a metric registered once")
});

static TIMEOUTS: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_sql_admission_timeouts_total",
        "Statements refused after waiting running_statements_queue_timeout for a slot"
    )
    .expect("a metric registered once")
});

/// Put the admission series in `/metrics` now, at 0.
pub fn init() {
    LazyLock::force(&QUEUE);
    LazyLock::force(&WAIT);
    LazyLock::force(&TIMEOUTS);
}

/// How long an admitted statement ran, and how much of that it waited on
/// stores and PD.
pub struct Ran {
    /// From admission to the end.
    pub took: Duration,
    /// Waiting for store and PD calls, timestamps and backoffs.
    pub kv: Duration,
    /// When it ended.
    pub ended: Instant,
}

/// Run `work`, one statement of `kind`, once admitted (when `waits`),
/// counted and timed in the statement metrics. `None` for a statement
/// refused admission, and for every statement when measuring is off
/// ([`kv_client::metrics::enabled`]). The statement's future is pinned where its caller
/// made it: a statement's future is kilobytes, and moving it into a
/// wrapper cost 3% of a point select's CPU in `memmove`.
pub async fn run_statement<F>(
    admission: &Admission,
    kind: StatementType,
    waits: bool,
    work: std::pin::Pin<&mut F>,
) -> (Result<Output, SqlError>, Option<Ran>)
where
    F: std::future::Future<Output = Result<Output, SqlError>>,
{
    let _slot = match waits && kind.is_admitted() {
        true => match admission.admit().await {
            Ok(slot) => slot,
            Err(e) => return (Err(e), None),
        },
        false => None,
    };
    if !kv_client::metrics::enabled() {
        return (work.await, None);
    }
    let timer = StatementTimer::start(kind);
    // What the connection waited on before is not this statement's.
    kv_client::metrics::take_kv_time();
    let started = Instant::now();
    let result = work.await;
    let ended = Instant::now();
    let took = ended - started;
    timer.finish(took, result.is_err());
    let kv = kv_client::metrics::take_kv_time();
    (result, Some(Ran { took, kv, ended }))
}

/// The slots of one SQL node.
pub struct Admission {
    /// Statements holding a slot.
    running: AtomicUsize,
    /// The bound; 0 for none.
    limit: AtomicUsize,
    /// Statements waiting for a slot: a statement that gives one back wakes
    /// a waiter only if there is one, so the common path takes no lock.
    waiting: AtomicUsize,
    freed: Notify,
    timeout_ms: AtomicU64,
}

/// A statement's slot, given back when dropped.
pub struct Slot<'a>(&'a Admission);

impl Admission {
    /// `limit` slots (0: unbounded), waits of at most `timeout_ms` (0: no
    /// limit).
    pub fn new(limit: usize, timeout_ms: u64) -> Self {
        Self {
            running: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
            waiting: AtomicUsize::new(0),
            freed: Notify::new(),
            timeout_ms: AtomicU64::new(timeout_ms),
        }
    }

    /// The bound now (0: none).
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::SeqCst)
    }

    /// Change the bound. Statements running over a lowered bound finish;
    /// new ones wait until fewer than the bound run.
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::SeqCst);
        self.freed.notify_waiters();
    }

    /// Change how long a statement may wait (ms; 0: no limit).
    pub fn set_timeout_ms(&self, ms: u64) {
        self.timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// The wait limit now (ms; 0: none).
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms.load(Ordering::Relaxed)
    }

    /// Take a slot if one is free: one compare-and-swap.
    fn try_take(&self) -> Option<Slot<'_>> {
        let limit = self.limit();
        self.running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| {
                (limit == 0 || r < limit).then_some(r + 1)
            })
            .ok()
            .map(|_| Slot(self))
    }

    /// Wait for a slot, or fail with 3024 after the timeout. `None` when
    /// there is no bound.
    pub async fn admit(&self) -> Result<Option<Slot<'_>>, SqlError> {
        if self.limit() == 0 {
            return Ok(None);
        }
        if let Some(slot) = self.try_take() {
            return Ok(Some(slot));
        }
        let started = Instant::now();
        let timeout = self.timeout_ms();
        let deadline = (timeout > 0).then(|| started + Duration::from_millis(timeout));
        self.waiting.fetch_add(1, Ordering::SeqCst);
        QUEUE.inc();
        let admitted = loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            // Registered before looking again: a slot given back from here
            // on wakes this waiter.
            notified.as_mut().enable();
            if let Some(slot) = self.try_take() {
                break Some(slot);
            }
            match deadline {
                None => notified.await,
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline.into(), notified).await.is_err() {
                        break self.try_take();
                    }
                }
            }
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        QUEUE.dec();
        WAIT.observe(started.elapsed().as_secs_f64());
        match admitted {
            Some(slot) => Ok(Some(slot)),
            None => {
                TIMEOUTS.inc();
                Err(SqlError::new(
                    3024,
                    "HY000",
                    format!(
                        "Query execution was interrupted: it waited {timeout} ms (running_statements_queue_timeout) for one of the {} slots of max_running_statements",
                        self.limit()
                    ),
                ))
            }
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let admission = self.0;
        admission.running.fetch_sub(1, Ordering::SeqCst);
        if admission.waiting.load(Ordering::SeqCst) > 0 {
            admission.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_most_the_bound_run_and_the_rest_time_out() {
        let admission = Admission::new(2, 50);
        let a = admission.admit().await.unwrap();
        let b = admission.admit().await.unwrap();
        assert!(a.is_some() && b.is_some());
        let refused = admission.admit().await.err().expect("a third waits and times out");
        assert_eq!(refused.code, 3024);
        drop(a);
        assert!(admission.admit().await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_lowered_bound_holds_new_statements_until_enough_finish() {
        let admission = Admission::new(3, 20);
        let slots = take(&admission, 3).await;
        admission.set_limit(1);
        drop(slots);
        let one = admission.admit().await.unwrap();
        assert!(one.is_some());
        assert!(admission.admit().await.is_err(), "only one slot is left");
        drop(one);
        admission.set_limit(0);
        assert!(admission.admit().await.unwrap().is_none(), "no bound: no slot");
        admission.set_limit(2);
        let (x, y) = (admission.admit().await.unwrap(), admission.admit().await.unwrap());
        assert!(x.is_some() && y.is_some());
        assert!(admission.admit().await.is_err());
    }

    async fn take(admission: &Admission, n: usize) -> Vec<Slot<'_>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(admission.admit().await.unwrap().expect("a slot"));
        }
        out
    }
}
