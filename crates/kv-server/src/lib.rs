//! A storage node's services. Today: the transactional KV API served out of
//! one local [`TxnStore`], for the single region the store holds. The gRPC
//! server and the Raft transport come with the multi-store cluster; they will
//! call the same [`KvNode`].

mod convert;
mod lock_wait;

use async_trait::async_trait;
use convert::{key_error, route};
use proto::kvrpc::*;
use proto::{KvService, RpcError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::Engine;
use txn::{Mutation, PrewriteProps, TxnStatus, TxnStore};

/// The KV service of one store holding one region.
pub struct KvNode<E: Engine> {
    store: Arc<TxnStore<E>>,
    region: Region,
    waits: lock_wait::LockWaits,
}

/// How a request's routing was judged.
type Routed = Result<(), RegionError>;

impl<E: Engine> KvNode<E> {
    /// Serve `region` out of `store`.
    pub fn new(store: Arc<TxnStore<E>>, region: Region) -> Self {
        Self {
            store,
            region,
            waits: lock_wait::LockWaits::default(),
        }
    }

    /// Refuse requests meant for another region or an older epoch, so a
    /// client with a stale route learns it instead of touching wrong data.
    fn check_context(&self, ctx: &Option<Context>) -> Routed {
        let ctx = ctx.as_ref().ok_or_else(|| route::not_found(0))?;
        if ctx.region_id != self.region.id {
            return Err(route::not_found(ctx.region_id));
        }
        if ctx.region_epoch != self.region.epoch {
            return Err(route::epoch_not_match(&self.region));
        }
        Ok(())
    }

    fn check_keys<'a>(
        &self,
        ctx: &Option<Context>,
        keys: impl IntoIterator<Item = &'a [u8]>,
    ) -> Routed {
        self.check_context(ctx)?;
        let mut encoded = Vec::new();
        for key in keys {
            encoded.clear();
            codec::mvcc::encode_key_into(&mut encoded, key);
            let region = &self.region;
            let inside = encoded.as_slice() >= region.start_key.as_slice()
                && (region.end_key.is_empty() || encoded < region.end_key);
            if !inside {
                return Err(route::key_not_in_region(key, region));
            }
        }
        Ok(())
    }

    /// A scan must stay inside the region: `[start, end)` within its range.
    fn check_range(&self, ctx: &Option<Context>, start: &[u8], end: &[u8]) -> Routed {
        self.check_keys(ctx, [start])?;
        let region = &self.region;
        if region.end_key.is_empty() {
            return Ok(());
        }
        if end.is_empty() || codec::mvcc::encode_key(end) > region.end_key {
            return Err(route::key_not_in_region(end, region));
        }
        Ok(())
    }

    /// Run a write command off the async workers: writes that sync wait for
    /// fsync. Commands that do not sync (prewrite, pessimistic locking) run
    /// on the calling task instead: they wait for no disk (the journal's
    /// fsync runs outside its append lock, see
    /// `storage::fjall_engine::journal_file`), only for their latches, and a
    /// trip to the blocking pool and back (two thread wake-ups) would cost
    /// more than the command.
    async fn blocking<T: Send + 'static>(
        &self,
        command: impl FnOnce(&TxnStore<E>) -> T + Send + 'static,
    ) -> Result<T, RpcError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || command(&store))
            .await
            .map_err(|e| RpcError::Internal(format!("command failed: {e}")))
    }
}

/// Split a txn result into the response's key error, or a failed call when
/// the node itself is in trouble.
fn split<T>(result: txn::Result<T>) -> Result<(Option<T>, Option<KeyError>), RpcError> {
    match result {
        Ok(v) => Ok((Some(v), None)),
        Err(e) => key_error(e).map(|ke| (None, Some(ke))),
    }
}

fn pairs(kvs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<KvPair> {
    kvs.into_iter()
        .map(|(key, value)| KvPair { key, value })
        .collect()
}

#[async_trait]
impl<E: Engine> KvService for KvNode<E> {
    async fn kv_get(&self, req: GetRequest) -> Result<GetResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, [req.key.as_slice()]) {
            return Ok(GetResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let (value, error) = split(self.store.get(&req.key, req.version))?;
        let value = value.flatten();
        Ok(GetResponse {
            not_found: error.is_none() && value.is_none(),
            value: value.unwrap_or_default(),
            error,
            ..Default::default()
        })
    }

    async fn kv_batch_get(&self, req: BatchGetRequest) -> Result<BatchGetResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            return Ok(BatchGetResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let (found, error) = split(self.store.batch_get(&req.keys, req.version))?;
        let pairs = req
            .keys
            .into_iter()
            .zip(found.unwrap_or_default())
            .filter_map(|(key, value)| Some(KvPair { key, value: value? }))
            .collect();
        Ok(BatchGetResponse {
            pairs,
            error,
            ..Default::default()
        })
    }

    async fn kv_scan(&self, req: ScanRequest) -> Result<ScanResponse, RpcError> {
        if let Err(e) = self.check_range(&req.context, &req.start_key, &req.end_key) {
            return Ok(ScanResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let end = (!req.end_key.is_empty()).then_some(req.end_key.as_slice());
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        let (found, error) =
            split(
                self.store
                    .scan(&req.start_key, end, limit, req.version, req.reverse),
            )?;
        Ok(ScanResponse {
            pairs: pairs(found.unwrap_or_default()),
            error,
            ..Default::default()
        })
    }

    async fn kv_prewrite(&self, req: PrewriteRequest) -> Result<PrewriteResponse, RpcError> {
        if let Err(e) =
            self.check_keys(&req.context, req.mutations.iter().map(|m| m.key.as_slice()))
        {
            return Ok(PrewriteResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let mutations: Vec<Mutation> = req
            .mutations
            .into_iter()
            .map(|m| match m.op() {
                Op::Put => Mutation::Put(m.key, m.value),
                Op::Del => Mutation::Delete(m.key),
            })
            .collect();
        let pessimistic = req.is_pessimistic_lock;
        let (primary, start_ts, lock_ttl, txn_size, for_update_ts) = (
            req.primary_lock,
            req.start_version,
            req.lock_ttl,
            req.txn_size,
            req.for_update_ts,
        );
        let prewrite = move |s: &TxnStore<E>, one_pc: Option<u64>, mutations: &[Mutation]| {
            let props = PrewriteProps {
                primary: &primary,
                start_ts,
                lock_ttl,
                txn_size,
                for_update_ts,
            };
            s.prewrite(mutations, &pessimistic, &props, one_pc)
        };
        let (committed, error) = if req.try_one_pc {
            // A one-phase commit syncs: off the calling task, and the keys'
            // lock waiters wake once it is done.
            let mutations = Arc::new(mutations);
            let held = mutations.clone();
            let max_commit_ts = req.max_commit_ts;
            let result = self
                .blocking(move |s| prewrite(s, Some(max_commit_ts), &held))
                .await?;
            self.waits.wake(mutations.iter().map(Mutation::key));
            split(result)?
        } else {
            split(prewrite(&self.store, None, &mutations))?
        };
        Ok(PrewriteResponse {
            error,
            one_pc_commit_ts: committed.flatten().unwrap_or(0),
            ..Default::default()
        })
    }

    async fn kv_pessimistic_lock(
        &self,
        req: PessimisticLockRequest,
    ) -> Result<PessimisticLockResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            return Ok(PessimisticLockResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let deadline = Instant::now() + Duration::from_millis(req.wait_timeout_ms);
        let start_ts = req.start_version;
        let props = PrewriteProps {
            primary: &req.primary_lock,
            start_ts,
            lock_ttl: req.lock_ttl,
            txn_size: req.keys.len() as u64,
            for_update_ts: req.for_update_ts,
        };
        let attempt = || self.store.acquire_pessimistic_lock(&req.keys, &props);
        let mut result = attempt();
        // Wait while another transaction holds a lock, as a MySQL statement
        // waits for a row lock: register, try again (a release in between
        // wakes the registration), then sleep until woken or timed out.
        while let Err(txn::Error::KeyIsLocked(lock)) = &result {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let (holder, key) = (lock.lock_ts, lock.key.clone());
            let waiter = self.waits.register(&key);
            let woken = waiter.armed();
            result = attempt();
            if !matches!(&result, Err(txn::Error::KeyIsLocked(l)) if l.lock_ts == holder) {
                continue;
            }
            if !self.waits.begin_wait(start_ts, holder) {
                let deadlock = KeyError {
                    kind: Some(key_error::Kind::Deadlock(Deadlock {
                        lock_ts: holder,
                        lock_key: key,
                    })),
                };
                return Ok(PessimisticLockResponse {
                    error: Some(deadlock),
                    ..Default::default()
                });
            }
            let _ = tokio::time::timeout(deadline - now, woken).await;
            self.waits.end_wait(start_ts);
            result = attempt();
        }
        Ok(PessimisticLockResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }

    async fn kv_pessimistic_rollback(
        &self,
        req: PessimisticRollbackRequest,
    ) -> Result<PessimisticRollbackResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            return Ok(PessimisticRollbackResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let keys = Arc::new(req.keys);
        let (held, start_ts) = (keys.clone(), req.start_version);
        let result = self
            .blocking(move |s| s.pessimistic_rollback(&held, start_ts))
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        Ok(PessimisticRollbackResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }

    async fn kv_commit(&self, req: CommitRequest) -> Result<CommitResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            return Ok(CommitResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let keys = Arc::new(req.keys);
        let (held, start_ts, commit_ts) = (keys.clone(), req.start_version, req.commit_version);
        let result = self
            .blocking(move |s| s.commit(&held, start_ts, commit_ts))
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        Ok(CommitResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }

    async fn kv_batch_rollback(
        &self,
        req: BatchRollbackRequest,
    ) -> Result<BatchRollbackResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            return Ok(BatchRollbackResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let keys = Arc::new(req.keys);
        let (held, start_ts) = (keys.clone(), req.start_version);
        let result = self
            .blocking(move |s| s.batch_rollback(&held, start_ts))
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        Ok(BatchRollbackResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }

    async fn kv_check_txn_status(
        &self,
        req: CheckTxnStatusRequest,
    ) -> Result<CheckTxnStatusResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, [req.primary_key.as_slice()]) {
            return Ok(CheckTxnStatusResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let primary = req.primary_key.clone();
        let result = self
            .blocking(move |s| {
                s.check_txn_status(
                    &req.primary_key,
                    req.lock_ts,
                    req.current_ts,
                    req.rollback_if_not_exist,
                )
            })
            .await?;
        if matches!(result, Ok(TxnStatus::RolledBack)) {
            self.waits.wake([primary.as_slice()]);
        }
        let (status, error) = split(result)?;
        let mut resp = CheckTxnStatusResponse {
            error,
            ..Default::default()
        };
        match status {
            Some(TxnStatus::Locked { ttl }) => {
                resp.set_state(TxnState::Locked);
                resp.lock_ttl = ttl;
            }
            Some(TxnStatus::Committed { commit_ts }) => {
                resp.set_state(TxnState::Committed);
                resp.commit_version = commit_ts;
            }
            Some(TxnStatus::RolledBack) => resp.set_state(TxnState::RolledBack),
            None => {}
        }
        Ok(resp)
    }

    async fn kv_resolve_lock(
        &self,
        req: ResolveLockRequest,
    ) -> Result<ResolveLockResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            return Ok(ResolveLockResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let commit_ts = (req.commit_version != 0).then_some(req.commit_version);
        let keys = Arc::new(req.keys);
        let (held, start_ts) = (keys.clone(), req.start_version);
        let result = self
            .blocking(move |s| s.resolve_lock(start_ts, commit_ts, &held))
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        Ok(ResolveLockResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }

    async fn kv_cleanup(&self, req: CleanupRequest) -> Result<CleanupResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, [req.key.as_slice()]) {
            return Ok(CleanupResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let key = req.key.clone();
        let result = self
            .blocking(move |s| s.cleanup(&req.key, req.start_version, req.current_ts))
            .await?;
        self.waits.wake([key.as_slice()]);
        Ok(CleanupResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }

    async fn kv_scan_lock(&self, req: ScanLockRequest) -> Result<ScanLockResponse, RpcError> {
        if let Err(e) = self.check_context(&req.context) {
            return Ok(ScanLockResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        let (locks, error) = split(self.store.scan_locks(req.max_version, limit))?;
        let locks = locks
            .unwrap_or_default()
            .into_iter()
            .map(convert::lock_info)
            .collect();
        Ok(ScanLockResponse {
            locks,
            error,
            ..Default::default()
        })
    }

    async fn kv_gc(&self, req: GcRequest) -> Result<GcResponse, RpcError> {
        if let Err(e) = self.check_context(&req.context) {
            return Ok(GcResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let safe_point = req.safe_point;
        let (stats, error) = split(self.blocking(move |s| s.gc(safe_point)).await?)?;
        let stats = stats.unwrap_or_default();
        Ok(GcResponse {
            error,
            keys: stats.keys,
            versions_deleted: stats.versions_deleted,
            values_deleted: stats.values_deleted,
            ..Default::default()
        })
    }

    async fn kv_delete_range(
        &self,
        req: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, RpcError> {
        if let Err(e) = self.check_range(&req.context, &req.start_key, &req.end_key) {
            return Ok(DeleteRangeResponse {
                region_error: Some(e),
                ..Default::default()
            });
        }
        let result = self
            .blocking(move |s| s.delete_range(&req.start_key, &req.end_key))
            .await?;
        Ok(DeleteRangeResponse {
            error: split(result)?.1,
            ..Default::default()
        })
    }
}
