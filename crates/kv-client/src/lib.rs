//! Transactions as the SQL layer sees them.
//!
//! A [`Client`] talks to PD (timestamps, region lookups) and to stores (the
//! transactional KV API), both through the service traits of [`proto`], so it
//! neither knows nor cares whether they are in the same process. On top it
//! builds:
//!
//! - [`Transaction`]: reads at `start_ts`, writes buffered in memory, then
//!   Percolator two-phase commit;
//! - [`Snapshot`]: read-only access at a timestamp;
//! - the machinery every request needs: a TSO client that batches concurrent
//!   requests ([`tso`]), a region cache corrected by region errors
//!   ([`region`]), a lock resolver ([`resolver`]), and backoff with jitter and
//!   a total budget ([`backoff`]).

pub mod backoff;
mod local;
pub mod metrics;
pub mod region;
pub mod resolver;
mod snapshot;
pub mod stores;
mod transaction;
pub mod tso;

pub use local::LocalStore;
pub use snapshot::Snapshot;
pub use stores::{OneStore, PdStores, Stores};
pub use transaction::{LockWait, Savepoint, Transaction};

use proto::kvrpc::{
    DeleteRangeRequest, GcRequest, KeyError, LockInfo, MvccGetByKeyRequest, MvccLock, MvccWrite,
    ScanLockRequest, key_error::Kind,
};
use proto::{KvService, PdService, RpcError};
use std::sync::Arc;
use std::time::Duration;

/// How long a request to PD waits for PD to come back (a restart) or to
/// know a region (a split's new half reports after its parent).
const PD_PATIENCE: Duration = Duration::from_secs(10);

/// Tunables of a client.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a transaction's locks stay valid without it finishing, in ms.
    /// Readers that meet an older lock roll the transaction back.
    pub lock_ttl_ms: u64,
    /// Total time one operation may spend backing off (waiting for locks,
    /// refreshing routes) before it gives up.
    pub backoff_budget: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            lock_ttl_ms: 3_000,
            backoff_budget: Duration::from_secs(20),
        }
    }
}

/// Why a transactional operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Another transaction committed a key we write after our snapshot. The
    /// whole transaction may be retried with a new start timestamp.
    #[error(
        "write conflict on key {key:?}: committed at {conflict_commit_ts} by transaction {conflict_start_ts}, after our start {start_ts}"
    )]
    WriteConflict {
        /// Our start timestamp.
        start_ts: u64,
        /// The other transaction.
        conflict_start_ts: u64,
        /// When it committed.
        conflict_commit_ts: u64,
        /// The key (raw).
        key: Vec<u8>,
    },
    /// Our transaction was rolled back by someone else (its locks expired).
    /// It may be retried.
    #[error("transaction {start_ts} was rolled back")]
    RolledBack {
        /// Our start timestamp.
        start_ts: u64,
    },
    /// The commit request of the primary key failed in transit: the
    /// transaction may or may not have committed.
    #[error("commit of transaction {start_ts} is undetermined: {cause}")]
    Undetermined {
        /// Our start timestamp.
        start_ts: u64,
        /// What went wrong.
        cause: String,
    },
    /// Waiting for a row lock would close a cycle of waiting transactions;
    /// this transaction is the one chosen to give up.
    #[error("deadlock: transaction {start_ts} waits for {lock_ts}, which waits for it")]
    Deadlock {
        /// Our start timestamp.
        start_ts: u64,
        /// The transaction we would wait for.
        lock_ts: u64,
    },
    /// A pessimistic statement waited for a row lock longer than allowed.
    #[error("lock wait timeout: transaction {start_ts} waited {waited:?} for a lock of {lock_ts}")]
    LockWaitTimeout {
        /// Our start timestamp.
        start_ts: u64,
        /// The holder.
        lock_ts: u64,
        /// How long we waited.
        waited: Duration,
    },
    /// A statement that must not wait (NOWAIT, SKIP LOCKED) met a row lock
    /// of a live transaction.
    #[error("key is locked by transaction {lock_ts} and the statement must not wait")]
    LockedNoWait {
        /// Our start timestamp.
        start_ts: u64,
        /// The holder.
        lock_ts: u64,
    },
    /// The operation waited (for locks, for routes) longer than its budget.
    #[error("gave up after backing off {waited:?}: {last}")]
    BackoffExhausted {
        /// Total time spent waiting.
        waited: Duration,
        /// The last reason to wait.
        last: String,
    },
    /// A call to PD or a store failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The request was refused and retrying will not help.
    #[error("request refused: {0}")]
    Refused(String),
}

impl Error {
    /// Whether running the whole transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::WriteConflict { .. } | Error::RolledBack { .. } | Error::Deadlock { .. }
        )
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Inner {
    /// Send a request for `region` to the store that leads it. A store that
    /// cannot be reached answers as if it had said it does not lead: the
    /// caller's region-error path moves on to another replica after a
    /// backoff.
    pub(crate) async fn call<R: Unreachable, F>(
        &self,
        region: &region::RegionInfo,
        f: impl FnOnce(Arc<dyn KvService>) -> F,
    ) -> Result<R>
    where
        F: std::future::Future<Output = std::result::Result<R, RpcError>>,
    {
        let started = metrics::clock();
        let answer = self.call_store(region, f).await;
        metrics::waited_on_kv(started);
        answer
    }

    async fn call_store<R: Unreachable, F>(
        &self,
        region: &region::RegionInfo,
        f: impl FnOnce(Arc<dyn KvService>) -> F,
    ) -> Result<R>
    where
        F: std::future::Future<Output = std::result::Result<R, RpcError>>,
    {
        let store = region.leader_store;
        let kv = match self.stores.store(store).await {
            Ok(kv) => kv,
            Err(RpcError::Unavailable(m)) => {
                self.regions.unreachable(store);
                return Ok(R::unreachable(region, m));
            }
            Err(e) => return Err(e.into()),
        };
        match f(kv).await {
            Err(RpcError::Unavailable(m)) => {
                self.stores.forget(store);
                self.regions.unreachable(store);
                Ok(R::unreachable(region, m))
            }
            Ok(mut resp) => {
                resp.answered_by(store);
                Ok(resp)
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Inner {
    /// Send `send(region, keys)` for the keys of each region, again for
    /// keys whose region answered with a region error (regrouped by what
    /// the cache then knows), until all are done or the backoff budget is
    /// spent: for work no caller waits on, whose leftovers (locks) would
    /// make others wait out a TTL.
    pub(crate) async fn each_region<F, Fut, R>(&self, keys: Vec<Vec<u8>>, send: F) -> Result<()>
    where
        F: Fn(region::RegionInfo, Vec<Vec<u8>>) -> Fut,
        Fut: std::future::Future<Output = Result<R>>,
        R: RegionOutcome,
    {
        let mut backoff = backoff::Backoff::new(self.config.backoff_budget);
        let mut pending = keys;
        while !pending.is_empty() {
            let groups = self
                .regions
                .group_by_region(std::mem::take(&mut pending), |k| k)
                .await?;
            for (region, keys) in groups {
                if let Some(e) = send(region, keys.clone()).await?.region_error() {
                    pending.extend(keys);
                    self.regions.on_region_error(e, &mut backoff).await?;
                }
            }
        }
        Ok(())
    }
}

/// A response's region error, if any.
pub(crate) trait RegionOutcome {
    fn region_error(self) -> Option<proto::kvrpc::RegionError>;
}

impl RegionOutcome for Option<proto::kvrpc::RegionError> {
    fn region_error(self) -> Option<proto::kvrpc::RegionError> {
        self
    }
}

impl RegionOutcome for proto::kvrpc::PessimisticRollbackResponse {
    fn region_error(self) -> Option<proto::kvrpc::RegionError> {
        self.region_error
    }
}

/// A response that can stand for "the store could not be reached", and
/// whose "not leader" error can name the store that answered.
pub(crate) trait Unreachable {
    fn unreachable(region: &region::RegionInfo, why: String) -> Self;
    fn answered_by(&mut self, store: u64);
}

macro_rules! unreachable_responses {
    ($($resp:ident),*) => {$(
        impl Unreachable for proto::kvrpc::$resp {
            fn unreachable(region: &region::RegionInfo, why: String) -> Self {
                Self {
                    region_error: Some(region::unreachable(region, why)),
                    ..Default::default()
                }
            }
            fn answered_by(&mut self, store: u64) {
                if let Some(proto::kvrpc::RegionError {
                    kind: Some(proto::kvrpc::region_error::Kind::NotLeader(nl)),
                    ..
                }) = &mut self.region_error
                {
                    nl.store_id = store;
                }
            }
        }
    )*};
}

unreachable_responses!(
    GetResponse,
    BatchGetResponse,
    ScanResponse,
    PrewriteResponse,
    PessimisticLockResponse,
    PessimisticRollbackResponse,
    CommitResponse,
    BatchRollbackResponse,
    CheckTxnStatusResponse,
    TxnHeartBeatResponse,
    ResolveLockResponse,
    ScanLockResponse,
    GcResponse,
    DeleteRangeResponse,
    MvccGetByKeyResponse
);

/// What every request path shares: the services, the TSO batcher, the
/// region cache and the configuration.
pub(crate) struct Inner {
    pub(crate) stores: Arc<dyn Stores>,
    pub(crate) tso: tso::TsoClient,
    pub(crate) regions: region::RegionCache,
    pub(crate) config: Config,
}

/// A handle to the cluster; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// What a cluster-wide GC pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcSummary {
    /// Locks below the safe point that were resolved first.
    pub locks_resolved: u64,
    /// Write records removed.
    pub versions_deleted: u64,
    /// Out-of-line values removed.
    pub values_deleted: u64,
}

impl Client {
    /// A client over `pd` and the cluster's `stores`. Must be called
    /// inside a tokio runtime: the TSO batcher runs as a task.
    pub fn new(pd: Arc<dyn PdService>, stores: Arc<dyn Stores>, config: Config) -> Self {
        let tso = tso::TsoClient::spawn(pd.clone());
        let regions = region::RegionCache::new(pd.clone());
        Self {
            inner: Arc::new(Inner {
                stores,
                tso,
                regions,
                config,
            }),
        }
    }

    /// A fresh timestamp: everything committed before this call is visible at it.
    pub async fn current_ts(&self) -> Result<u64> {
        self.inner.tso.get_ts().await
    }

    /// Start a transaction at a fresh timestamp.
    pub async fn begin(&self) -> Result<Transaction> {
        let start_ts = self.current_ts().await?;
        Ok(Transaction::new(self.clone(), start_ts))
    }

    /// A transaction for an autocommit statement that reads at most one
    /// key and writes nothing: it reads at [`codec::ts::LATEST`], so it
    /// costs no round trip to PD. It must not write or commit.
    pub fn begin_latest(&self) -> Transaction {
        Transaction::new(self.clone(), codec::ts::LATEST)
    }

    /// Read-only access at `ts`.
    pub fn snapshot(&self, ts: u64) -> Snapshot {
        Snapshot::new(self.clone(), ts)
    }

    /// Remove versions no reader at or above `safe_point` can see, in every
    /// region: first resolve the locks below it, then collect.
    pub async fn gc(&self, safe_point: u64) -> Result<GcSummary> {
        let inner = &self.inner;
        let mut summary = GcSummary::default();
        let mut backoff = backoff::Backoff::new(inner.config.backoff_budget);
        let mut regions = inner.regions.all_regions().await?;
        while let Some(region) = regions.pop() {
            let context = Some(region.context());
            let req = ScanLockRequest {
                context,
                max_version: safe_point,
                limit: 0,
            };
            let locks = inner
                .call(&region, |kv| async move { kv.kv_scan_lock(req).await })
                .await?;
            if let Some(e) = locks.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                regions = inner.regions.all_regions().await?;
                continue;
            }
            if let Some(e) = locks.error {
                return Err(key_error(e));
            }
            for lock in &locks.locks {
                resolver::resolve_or_wait(self, lock, &mut backoff).await?;
                summary.locks_resolved += 1;
            }
            if !locks.locks.is_empty() {
                regions.push(region); // check again: a live lock may have been waited for
                continue;
            }
            let req = GcRequest {
                context,
                safe_point,
            };
            let resp = inner
                .call(&region, |kv| async move { kv.kv_gc(req).await })
                .await?;
            if let Some(e) = resp.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                regions = inner.regions.all_regions().await?;
                continue;
            }
            if let Some(e) = resp.error {
                return Err(key_error(e));
            }
            summary.versions_deleted += resp.versions_deleted;
            summary.values_deleted += resp.values_deleted;
        }
        Ok(summary)
    }
}

/// Every MVCC record of one key ([`Client::mvcc_by_key`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MvccInfo {
    /// The transaction in flight on the key, if any.
    pub lock: Option<MvccLock>,
    /// Its write records, rollbacks included, newest first.
    pub writes: Vec<MvccWrite>,
}

impl Client {
    /// Every MVCC record of raw `key`, as the leader of its region holds
    /// them: what no read at a timestamp shows, for debugging (TiDB's
    /// `/mvcc/key` route).
    pub async fn mvcc_by_key(&self, key: &[u8]) -> Result<MvccInfo> {
        let inner = &self.inner;
        let mut backoff = backoff::Backoff::new(inner.config.backoff_budget);
        loop {
            let region = inner.regions.locate(key).await?;
            let req = MvccGetByKeyRequest {
                context: Some(region.context()),
                key: key.to_vec(),
            };
            let resp = inner
                .call(
                    &region,
                    |kv| async move { kv.kv_mvcc_get_by_key(req).await },
                )
                .await?;
            if let Some(e) = resp.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                continue;
            }
            if let Some(e) = resp.error {
                return Err(key_error(e));
            }
            return Ok(MvccInfo {
                lock: resp.lock,
                writes: resp.writes,
            });
        }
    }

    /// Region `id` and its leader's store, as PD knows them now (see
    /// [`region::RegionCache::region_by_id`]).
    pub async fn region_by_id(&self, id: u64) -> Result<Option<region::RegionInfo>> {
        self.inner.regions.region_by_id(id).await
    }

    /// Remove every key of the raw range `[start, end)` from every store
    /// holding part of it, outright (no MVCC versions). For data no reader
    /// needs any more, such as a dropped table's range after the DDL that
    /// dropped it committed (TiDB's delete-range job).
    pub async fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        let inner = &self.inner;
        let mut backoff = backoff::Backoff::new(inner.config.backoff_budget);
        let mut lo = start.to_vec();
        'ranges: while lo.as_slice() < end {
            for region in inner.regions.regions_in(&lo, Some(end)).await? {
                let region_lo = region.start_raw()?.max(lo.clone());
                let region_hi = region
                    .end_raw()?
                    .map_or(end.to_vec(), |r| r.min(end.to_vec()));
                let req = DeleteRangeRequest {
                    context: Some(region.context()),
                    start_key: region_lo,
                    end_key: region_hi.clone(),
                };
                let resp = inner
                    .call(&region, |kv| async move { kv.kv_delete_range(req).await })
                    .await?;
                if let Some(e) = resp.region_error {
                    inner.regions.on_region_error(e, &mut backoff).await?;
                    continue 'ranges;
                }
                if let Some(e) = resp.error {
                    return Err(key_error(e));
                }
                lo = region_hi;
            }
        }
        Ok(())
    }

    /// Resolve every lock in every region as belonging to a dead transaction
    /// (see [`resolver::LockResolver::for_orphans`]); returns how many. Only
    /// for a process that knows no live transaction can exist, such as the
    /// single-process playground at start-up.
    pub async fn resolve_orphan_locks(&self) -> Result<u64> {
        let inner = &self.inner;
        let resolver = resolver::LockResolver::for_orphans(self);
        let mut backoff = backoff::Backoff::new(inner.config.backoff_budget);
        let mut resolved = 0;
        for region in inner.regions.all_regions().await? {
            let req = ScanLockRequest {
                context: Some(region.context()),
                max_version: u64::MAX,
                limit: 0,
            };
            let resp = inner
                .call(&region, |kv| async move { kv.kv_scan_lock(req).await })
                .await?;
            if let Some(e) = resp.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                return Box::pin(self.resolve_orphan_locks()).await;
            }
            if let Some(e) = resp.error {
                return Err(key_error(e));
            }
            // One status check and one resolve request per transaction.
            let mut by_txn: std::collections::BTreeMap<u64, Vec<&LockInfo>> = Default::default();
            for lock in &resp.locks {
                by_txn.entry(lock.lock_ts).or_default().push(lock);
            }
            for locks in by_txn.values() {
                let keys = locks.iter().map(|l| l.key.clone()).collect();
                if resolver.resolve_keys(locks[0], keys).await? {
                    resolved += locks.len() as u64;
                }
            }
        }
        Ok(resolved)
    }
}

/// The client-side error for a key error a store answered with.
pub(crate) fn key_error(e: KeyError) -> Error {
    match e.kind {
        Some(Kind::Conflict(c)) => Error::WriteConflict {
            start_ts: c.start_ts,
            conflict_start_ts: c.conflict_start_ts,
            conflict_commit_ts: c.conflict_commit_ts,
            key: c.key,
        },
        Some(Kind::RolledBack(r)) => Error::RolledBack {
            start_ts: r.start_ts,
        },
        Some(Kind::Locked(l)) => Error::Refused(format!("key locked by transaction {}", l.lock_ts)),
        Some(Kind::Committed(c)) => Error::Refused(format!(
            "transaction {} already committed at {}",
            c.start_ts, c.commit_ts
        )),
        Some(Kind::TxnNotFound(t)) => {
            Error::Refused(format!("transaction {} not found", t.start_ts))
        }
        Some(Kind::Abort(msg)) => Error::Refused(msg),
        Some(Kind::Deadlock(d)) => Error::Deadlock {
            start_ts: 0,
            lock_ts: d.lock_ts,
        },
        None => Error::Refused("empty key error".into()),
    }
}
