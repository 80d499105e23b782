//! Getting other transactions' locks out of the way.
//!
//! A lock says "transaction T may be committing this key". Its primary key
//! knows T's fate: if T committed, the lock is rolled forward to a write
//! record; if T was rolled back (or its lock outlived its TTL, in which case
//! asking rolls it back), the lock is removed. If T is alive the caller has
//! to wait.

use crate::backoff::Backoff;
use crate::metrics::{self, BackoffReason};
use crate::{Client, Result, key_error};
use proto::kvrpc::{CheckTxnStatusRequest, LockInfo, ResolveLockRequest, TxnState};

/// Resolves locks on behalf of one client.
pub struct LockResolver<'a> {
    client: &'a Client,
    /// Treat every lock as abandoned, whatever its TTL says.
    orphans: bool,
}

/// What the primary said about a transaction.
enum Fate {
    Alive,
    Committed(u64),
    RolledBack,
}

impl<'a> LockResolver<'a> {
    /// A resolver using `client`'s routes and timestamps.
    pub fn new(client: &'a Client) -> Self {
        Self {
            client,
            orphans: false,
        }
    }

    /// A resolver for locks known to belong to dead transactions (a process
    /// that holds every client of its store restarted after a crash): they
    /// are rolled back, or forward if their primary committed, without
    /// waiting for their TTL to run out.
    pub fn for_orphans(client: &'a Client) -> Self {
        Self {
            client,
            orphans: true,
        }
    }

    /// Try to clear `lock`: `Ok(true)` once it is gone, `Ok(false)` when its
    /// transaction is still alive and the caller should back off and retry.
    pub async fn resolve(&self, lock: &LockInfo) -> Result<bool> {
        self.resolve_keys(lock, vec![lock.key.clone()]).await
    }

    /// [`resolve`](Self::resolve) `lock` and, with it, the locks of the same
    /// transaction on `keys` (all in the region of `keys[0]`): one status
    /// check and one request for a transaction's locks, not one per lock.
    pub async fn resolve_keys(&self, lock: &LockInfo, keys: Vec<Vec<u8>>) -> Result<bool> {
        let commit_ts = match self.fate(lock).await? {
            Fate::Alive => return Ok(false),
            Fate::Committed(ts) => ts,
            Fate::RolledBack => 0,
        };
        let inner = &self.client.inner;
        let mut backoff = Backoff::new(inner.config.backoff_budget);
        loop {
            let region = inner.regions.locate(&keys[0]).await?;
            let req = ResolveLockRequest {
                context: Some(region.context()),
                start_version: lock.lock_ts,
                commit_version: commit_ts,
                keys: keys.clone(),
            };
            let resp = inner
                .call(&region, |kv| async move { kv.kv_resolve_lock(req).await })
                .await?;
            if let Some(e) = resp.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                continue;
            }
            return match resp.error {
                Some(e) => Err(key_error(e)),
                None => Ok(true),
            };
        }
    }

    /// Ask the primary. A secondary whose own TTL ran out lets us roll back a
    /// primary that shows no trace of the transaction: its prewrite is lost.
    async fn fate(&self, lock: &LockInfo) -> Result<Fate> {
        let inner = &self.client.inner;
        // For orphans, a "current time" past every TTL makes the primary's
        // lock count as expired.
        let current_ts = if self.orphans {
            u64::MAX
        } else {
            self.client.current_ts().await?
        };
        let expired =
            codec::ts::physical_ms(current_ts) >= codec::ts::physical_ms(lock.lock_ts) + lock.ttl;
        let mut backoff = Backoff::new(inner.config.backoff_budget);
        loop {
            let region = inner.regions.locate(&lock.primary).await?;
            let req = CheckTxnStatusRequest {
                context: Some(region.context()),
                primary_key: lock.primary.clone(),
                lock_ts: lock.lock_ts,
                current_ts,
                rollback_if_not_exist: expired,
            };
            let resp = inner
                .call(
                    &region,
                    |kv| async move { kv.kv_check_txn_status(req).await },
                )
                .await?;
            if let Some(e) = resp.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                continue;
            }
            let state = resp.state();
            let fate = match (resp.error.and_then(|e| e.kind), state) {
                (Some(proto::kvrpc::key_error::Kind::TxnNotFound(_)), _) => Fate::Alive,
                (Some(kind), _) => {
                    return Err(key_error(proto::kvrpc::KeyError { kind: Some(kind) }));
                }
                (None, TxnState::Locked) => Fate::Alive,
                (None, TxnState::Committed) => Fate::Committed(resp.commit_version),
                (None, TxnState::RolledBack) => Fate::RolledBack,
            };
            metrics::lock_resolved(match fate {
                Fate::Alive => "alive",
                Fate::Committed(_) => "committed",
                Fate::RolledBack => "rolled_back",
            });
            return Ok(fate);
        }
    }
}

/// Resolve `lock` or, if its holder is alive, back off; the caller retries.
pub(crate) async fn resolve_or_wait(
    client: &Client,
    lock: &LockInfo,
    backoff: &mut Backoff,
) -> Result<()> {
    if !LockResolver::new(client).resolve(lock).await? {
        backoff
            .wait(
                BackoffReason::Lock,
                format!("key locked by live transaction {}", lock.lock_ts),
            )
            .await?;
    }
    Ok(())
}
