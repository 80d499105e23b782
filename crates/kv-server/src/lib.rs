//! A storage node's services: the transactional KV API served out of the
//! store's [`TxnStore`], for the regions whose peers here lead.
//!
//! Every request names a region and the epoch the client believes it has.
//! The node checks them against its peer's [`ReadDelegate`] (region, epoch,
//! leadership), and the keys against the region's range. Reads then need
//! the leader's lease, or a ReadIndex round when it has lapsed; write
//! commands run in the [`TxnStore`] with a [`RegionWriter`], which
//! replicates their batch through the region's Raft log and returns once
//! this store has applied it.

mod convert;
mod lock_wait;
pub mod metrics;
pub mod node;

use async_trait::async_trait;
use convert::{Outcome, key_error, route};
use proto::kvrpc::*;
use proto::pdrpc::{TsoRequest, WaitForRequest};
use proto::{KvService, PdService, RpcError};
use raftstore::router::ReadCheck;
use raftstore::{Msg, ReadDelegate, Router};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{Engine, WriteBatch};
use txn::{Mutation, PrewriteProps, TxnStatus, TxnStore, Writer};

/// How much longer than its wait PD keeps a lock wait that its store never
/// ended (the store died, or the call ending it failed).
const WAIT_MARGIN: Duration = Duration::from_secs(1);

/// The KV service of one store.
pub struct KvNode<E: Engine> {
    store: Arc<TxnStore<E>>,
    router: Router,
    pd: Arc<dyn PdService>,
    waits: lock_wait::LockWaits,
}

/// How a request's routing was judged: the region it may act on.
type Routed = Result<Arc<ReadDelegate>, RegionError>;

/// Writes a command's batch through one region's Raft log.
pub struct RegionWriter {
    router: Router,
    region_id: u64,
    epoch: RegionEpoch,
}

impl Writer for RegionWriter {
    fn write(&self, batch: WriteBatch) -> txn::Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let msg = Msg::Propose {
            region_id: self.region_id,
            epoch: self.epoch,
            writes: batch,
            cb: Box::new(move |result| {
                let _ = tx.send(result);
            }),
        };
        let stopped = || txn::Error::Replication(Box::new(raftstore::Error::Stopped));
        self.router.send(msg).map_err(|_| stopped())?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(txn::Error::Replication(Box::new(e))),
            Err(_) => Err(stopped()),
        }
    }
}

/// Applies what the raftstore replicated to the transactional store, so
/// its lock table and row cache follow every replica's data.
pub struct TxnApply<E: Engine>(pub Arc<TxnStore<E>>);

impl<E: Engine> raftstore::Apply for TxnApply<E> {
    fn write(&self, batch: WriteBatch) -> storage::Result<()> {
        self.0.apply_batch(batch).map_err(storage_error)
    }

    fn delete_range(&self, range: &storage::KeyRange) -> storage::Result<()> {
        self.0.delete_encoded_range(range).map_err(storage_error)
    }

    fn range_replaced(&self, range: &storage::KeyRange) {
        if let Err(e) = self.0.reload_range(range) {
            tracing::error!("reloading locks after a snapshot: {e}");
        }
    }

    fn leadership_lost(&self, range: &storage::KeyRange) {
        self.0.forget_pessimistic_locks(range);
    }
}

/// What the raftstore hears of a failed apply: the engine's own error, or
/// the store's data found inconsistent.
fn storage_error(e: txn::Error) -> storage::Error {
    match e {
        txn::Error::Storage(e) => e,
        other => storage::Error::Corruption(other.to_string()),
    }
}

fn inside(region: &Region, encoded: &[u8]) -> bool {
    encoded >= region.start_key.as_slice()
        && (region.end_key.is_empty() || encoded < region.end_key.as_slice())
}

/// Refuse a request with a key outside `region`.
fn keys_inside<'a>(
    region: &Region,
    keys: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), RegionError> {
    let mut encoded = Vec::new();
    for key in keys {
        encoded.clear();
        codec::mvcc::encode_key_into(&mut encoded, key);
        if !inside(region, &encoded) {
            return Err(route::key_not_in_region(key, region));
        }
    }
    Ok(())
}

impl<E: Engine> KvNode<E> {
    /// Serve the regions of `router`'s store out of `store`; `pd` gives the
    /// timestamps a new leader prepares with.
    pub fn new(store: Arc<TxnStore<E>>, router: Router, pd: Arc<dyn PdService>) -> Self {
        Self {
            store,
            router,
            pd,
            waits: lock_wait::LockWaits::default(),
        }
    }

    /// The store's transactional state.
    pub fn store(&self) -> &Arc<TxnStore<E>> {
        &self.store
    }

    /// Refuse requests meant for another region, an older epoch, or a peer
    /// that does not lead, so a client with a stale route learns it instead
    /// of touching wrong data.
    fn check_context(&self, ctx: &Option<Context>) -> Routed {
        let ctx = ctx.as_ref().ok_or_else(|| route::not_found(0))?;
        let delegate = self
            .router
            .delegate(ctx.region_id)
            .ok_or_else(|| route::not_found(ctx.region_id))?;
        let region = delegate.region();
        if ctx.region_epoch != region.epoch {
            return Err(route::epoch_not_match(&self.router, &region));
        }
        if delegate.leader_term() == 0 {
            let e = raftstore::Error::NotLeader {
                region_id: region.id,
                leader: delegate.leader(),
            };
            return Err(route::from_raft(e).unwrap_or_else(|_| route::not_found(region.id)));
        }
        Ok(delegate)
    }

    fn check_keys<'a>(
        &self,
        ctx: &Option<Context>,
        keys: impl IntoIterator<Item = &'a [u8]>,
    ) -> Routed {
        let delegate = self.check_context(ctx)?;
        let region = delegate.region();
        keys_inside(&region, keys)?;
        Ok(delegate)
    }

    /// A scan must stay inside the region: `[start, end)` within its range.
    fn check_range(&self, ctx: &Option<Context>, start: &[u8], end: &[u8]) -> Routed {
        let delegate = self.check_keys(ctx, [start])?;
        let region = delegate.region();
        if region.end_key.is_empty() {
            return Ok(delegate);
        }
        if end.is_empty() || codec::mvcc::encode_key(end) > region.end_key {
            return Err(route::key_not_in_region(end, &region));
        }
        Ok(delegate)
    }

    /// Send the raftstore the message `make` builds around a callback, and
    /// wait for its answer.
    async fn ask(
        &self,
        make: impl FnOnce(raftstore::peer::Callback) -> Msg,
    ) -> Result<(), raftstore::Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.router.send(make(Box::new(move |r| {
            let _ = tx.send(r);
        })))?;
        rx.await.unwrap_or(Err(raftstore::Error::Stopped))
    }

    /// Wait, if need be, until this store's peer may serve a read: at once
    /// under its lease, else after a ReadIndex round.
    async fn ready_to_read(&self, delegate: &ReadDelegate) -> Result<(), RegionError> {
        let region = delegate.region();
        let now = self.router.nanos(Instant::now());
        let refused = |e| route::from_raft(e).unwrap_or_else(|_| route::not_found(region.id));
        match delegate.check(region.epoch.as_ref(), now) {
            Ok(ReadCheck::Local) => Ok(()),
            Ok(ReadCheck::ReadIndex) => self
                .ask(|cb| Msg::Read {
                    region_id: region.id,
                    epoch: region.epoch.unwrap_or_default(),
                    cb,
                })
                .await
                .map_err(refused),
            Err(e) => Err(refused(e)),
        }
    }

    /// Check the routing of a read and wait until it may be served. The
    /// common case, a leader under its lease, is one look at the
    /// delegate, borrowed.
    async fn route_read<'a>(
        &self,
        ctx: &Option<Context>,
        keys: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), RegionError> {
        let ctx = ctx.as_ref().ok_or_else(|| route::not_found(0))?;
        let leased = {
            let delegates = self.router.delegates();
            let delegate = delegates
                .get(&ctx.region_id)
                .ok_or_else(|| route::not_found(ctx.region_id))?;
            let region = delegate.region_guard();
            if ctx.region_epoch != region.epoch {
                return Err(route::epoch_not_match(&self.router, &region));
            }
            keys_inside(&region, keys)?;
            delegate.lease_covers(self.router.nanos(Instant::now()))
        };
        if leased {
            return Ok(());
        }
        let delegate = self.check_context(&Some(*ctx))?;
        self.ready_to_read(&delegate).await
    }

    /// The writer for a command routed to `delegate`'s region.
    fn writer(&self, delegate: &ReadDelegate) -> RegionWriter {
        let region = delegate.region();
        RegionWriter {
            router: self.router.clone(),
            region_id: region.id,
            epoch: region.epoch.unwrap_or_default(),
        }
    }

    /// Before the first one-phase commit of a leadership term: raise the
    /// store's highest read timestamp to a fresh one from PD, which is
    /// above every read the region's previous leaders served.
    async fn prepare_leadership(&self, delegate: &ReadDelegate) -> Result<(), RpcError> {
        let term = delegate.leader_term();
        if term == 0 || delegate.prepared(term) {
            return Ok(());
        }
        let ts = self.pd.tso(TsoRequest { count: 1 }).await?.first_ts;
        self.store.note_read(ts);
        delegate.set_prepared(term);
        Ok(())
    }

    /// Tell PD that transaction `waiter` waits for `holder`, for at most
    /// `wait`; `false` if that closes a cycle (a deadlock, maybe across
    /// stores). With PD out of reach the wait goes on undetected, bounded
    /// by the statement's lock wait timeout.
    async fn begin_wait(&self, waiter: u64, holder: u64, wait: Duration) -> bool {
        let req = WaitForRequest {
            waiter,
            holder,
            ttl_ms: (wait + WAIT_MARGIN).as_millis() as u64,
        };
        !matches!(self.pd.wait_for(req).await, Ok(r) if r.deadlock)
    }

    /// Tell PD the wait [`begin_wait`](Self::begin_wait) recorded is over:
    /// left standing, it could make a later wait the other way look like
    /// a deadlock.
    async fn end_wait(&self, waiter: u64) {
        let req = WaitForRequest {
            waiter,
            holder: 0,
            ttl_ms: 0,
        };
        let _ = self.pd.wait_for(req).await;
    }

    /// Run a write command off the async workers: it waits for its latches
    /// and for its batch to be replicated and applied.
    async fn blocking<T: Send + 'static>(
        &self,
        delegate: &ReadDelegate,
        command: impl FnOnce(&TxnStore<E>, &RegionWriter) -> T + Send + 'static,
    ) -> Result<T, RpcError> {
        let writer = self.writer(delegate);
        self.off_task(move |store| command(store, &writer)).await
    }

    /// Run a command that changes only the lock table (pessimistic locks
    /// live in memory only): here if its latches are free, else off the
    /// async workers, as a replicating command may hold them while it
    /// waits for its log entry, and waiting here would starve the very
    /// tasks that carry Raft's messages. `command(store, wait)` returns
    /// `None` only without `wait`.
    async fn lock_table_command(
        &self,
        command: impl Fn(&TxnStore<E>, bool) -> Option<txn::Result<()>> + Send + 'static,
    ) -> Result<txn::Result<()>, RpcError> {
        if let Some(done) = command(&self.store, false) {
            return Ok(done);
        }
        self.off_task(move |store| command(store, true).expect("waited for the latches"))
            .await
    }

    /// Run `work` on the store off the async workers (it reads or writes
    /// much, or waits).
    async fn off_task<T: Send + 'static>(
        &self,
        work: impl FnOnce(&TxnStore<E>) -> T + Send + 'static,
    ) -> Result<T, RpcError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| RpcError::Internal(format!("store task failed: {e}")))
    }
}

/// A command's result as a response has it: the value, or a key error or
/// region error; or a failed call when the node itself is in trouble.
type Split<T> = (Option<T>, Option<KeyError>, Option<RegionError>);

fn split<T>(result: txn::Result<T>) -> Result<Split<T>, RpcError> {
    match result {
        Ok(v) => Ok((Some(v), None, None)),
        Err(e) => key_error(e).map(|outcome| match outcome {
            Outcome::Key(ke) => (None, Some(ke), None),
            Outcome::Region(re) => (None, None, Some(re)),
        }),
    }
}

fn pairs(kvs: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<KvPair> {
    kvs.into_iter()
        .map(|(key, value)| KvPair { key, value })
        .collect()
}

/// Answer with a region error: `$resp` is the response type.
macro_rules! refuse {
    ($resp:ident, $e:expr) => {
        return Ok($resp {
            region_error: Some($e),
            ..Default::default()
        })
    };
}

#[async_trait]
impl<E: Engine> KvService for KvNode<E> {
    async fn kv_get(&self, req: GetRequest) -> Result<GetResponse, RpcError> {
        if let Err(e) = self.route_read(&req.context, [req.key.as_slice()]).await {
            refuse!(GetResponse, e);
        }
        let (value, error, region_error) = split(self.store.get(&req.key, req.version))?;
        let value = value.flatten();
        Ok(GetResponse {
            not_found: error.is_none() && value.is_none(),
            value: value.unwrap_or_default(),
            error,
            region_error,
        })
    }

    async fn kv_mvcc_get_by_key(
        &self,
        req: MvccGetByKeyRequest,
    ) -> Result<MvccGetByKeyResponse, RpcError> {
        if let Err(e) = self.route_read(&req.context, [req.key.as_slice()]).await {
            refuse!(MvccGetByKeyResponse, e);
        }
        let (info, error, region_error) = split(self.store.mvcc_info(&req.key))?;
        let (lock, writes) = info.map(convert::mvcc_records).unwrap_or_default();
        Ok(MvccGetByKeyResponse {
            region_error,
            error,
            lock,
            writes,
        })
    }

    async fn kv_batch_get(&self, req: BatchGetRequest) -> Result<BatchGetResponse, RpcError> {
        if let Err(e) = self
            .route_read(&req.context, req.keys.iter().map(Vec::as_slice))
            .await
        {
            refuse!(BatchGetResponse, e);
        }
        let (found, error, region_error) = split(self.store.batch_get(&req.keys, req.version))?;
        let pairs = req
            .keys
            .into_iter()
            .zip(found.unwrap_or_default())
            .filter_map(|(key, value)| Some(KvPair { key, value: value? }))
            .collect();
        Ok(BatchGetResponse {
            pairs,
            error,
            region_error,
        })
    }

    async fn kv_scan(&self, req: ScanRequest) -> Result<ScanResponse, RpcError> {
        let routed = self.check_range(&req.context, &req.start_key, &req.end_key);
        let ready = match &routed {
            Ok(delegate) => self.ready_to_read(delegate).await,
            Err(e) => Err(e.clone()),
        };
        if let Err(e) = ready {
            refuse!(ScanResponse, e);
        }
        let end = (!req.end_key.is_empty()).then_some(req.end_key.as_slice());
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        let (found, error, region_error) =
            split(
                self.store
                    .scan(&req.start_key, end, limit, req.version, req.reverse),
            )?;
        Ok(ScanResponse {
            pairs: pairs(found.unwrap_or_default()),
            error,
            region_error,
        })
    }

    async fn kv_prewrite(&self, req: PrewriteRequest) -> Result<PrewriteResponse, RpcError> {
        let delegate =
            match self.check_keys(&req.context, req.mutations.iter().map(|m| m.key.as_slice())) {
                Ok(d) => d,
                Err(e) => refuse!(PrewriteResponse, e),
            };
        if req.try_one_pc {
            self.prepare_leadership(&delegate).await?;
        }
        let mutations: Arc<Vec<Mutation>> = Arc::new(
            req.mutations
                .into_iter()
                .map(|m| match m.op() {
                    Op::Put => Mutation::Put(m.key, m.value),
                    Op::Del => Mutation::Delete(m.key),
                })
                .collect(),
        );
        let held = mutations.clone();
        let pessimistic = req.is_pessimistic_lock;
        let (primary, start_ts, lock_ttl, txn_size, for_update_ts) = (
            req.primary_lock,
            req.start_version,
            req.lock_ttl,
            req.txn_size,
            req.for_update_ts,
        );
        let one_pc = req.try_one_pc.then_some(req.max_commit_ts);
        let result = self
            .blocking(&delegate, move |s, w| {
                let props = PrewriteProps {
                    primary: &primary,
                    start_ts,
                    lock_ttl,
                    txn_size,
                    for_update_ts,
                };
                s.prewrite(w, &held, &pessimistic, &props, one_pc)
            })
            .await?;
        if one_pc.is_some() {
            // A one-phase commit releases its keys: their waiters wake.
            self.waits.wake(mutations.iter().map(Mutation::key));
        }
        let (committed, error, region_error) = split(result)?;
        Ok(PrewriteResponse {
            error,
            region_error,
            one_pc_commit_ts: committed.flatten().unwrap_or(0),
        })
    }

    async fn kv_pessimistic_lock(
        &self,
        req: PessimisticLockRequest,
    ) -> Result<PessimisticLockResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            refuse!(PessimisticLockResponse, e);
        }
        let deadline = Instant::now() + Duration::from_millis(req.wait_timeout_ms);
        let start_ts = req.start_version;
        let (keys, primary) = (Arc::new(req.keys), Arc::new(req.primary_lock));
        let (lock_ttl, for_update_ts) = (req.lock_ttl, req.for_update_ts);
        let take = move |store: &TxnStore<E>, wait: bool| {
            let props = PrewriteProps {
                primary: &primary,
                start_ts,
                lock_ttl,
                txn_size: keys.len() as u64,
                for_update_ts,
            };
            store.acquire_pessimistic_lock(&keys, &props, wait)
        };
        let attempt = || self.lock_table_command(take.clone());
        let mut result = attempt().await?;
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
            result = attempt().await?;
            if !matches!(&result, Err(txn::Error::KeyIsLocked(l)) if l.lock_ts == holder) {
                continue;
            }
            if !self.begin_wait(start_ts, holder, deadline - now).await {
                metrics::DEADLOCKS.inc();
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
            let waited = Instant::now();
            let _ = tokio::time::timeout(deadline - now, woken).await;
            metrics::LOCK_WAIT.observe(waited.elapsed().as_secs_f64());
            self.end_wait(start_ts).await;
            result = attempt().await?;
        }
        let (_, error, region_error) = split(result)?;
        Ok(PessimisticLockResponse {
            error,
            region_error,
        })
    }

    async fn kv_pessimistic_rollback(
        &self,
        req: PessimisticRollbackRequest,
    ) -> Result<PessimisticRollbackResponse, RpcError> {
        if let Err(e) = self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            refuse!(PessimisticRollbackResponse, e);
        }
        let (keys, start_ts) = (Arc::new(req.keys), req.start_version);
        let locked = keys.clone();
        let result = self
            .lock_table_command(move |store, wait| {
                store.pessimistic_rollback(&locked, start_ts, wait)
            })
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        let (_, error, region_error) = split(result)?;
        Ok(PessimisticRollbackResponse {
            error,
            region_error,
        })
    }

    async fn kv_commit(&self, req: CommitRequest) -> Result<CommitResponse, RpcError> {
        let delegate = match self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            Ok(d) => d,
            Err(e) => refuse!(CommitResponse, e),
        };
        let keys = Arc::new(req.keys);
        let (held, start_ts, commit_ts) = (keys.clone(), req.start_version, req.commit_version);
        let result = self
            .blocking(&delegate, move |s, w| {
                s.commit(w, &held, start_ts, commit_ts)
            })
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        let (_, error, region_error) = split(result)?;
        Ok(CommitResponse {
            error,
            region_error,
        })
    }

    async fn kv_batch_rollback(
        &self,
        req: BatchRollbackRequest,
    ) -> Result<BatchRollbackResponse, RpcError> {
        let delegate = match self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            Ok(d) => d,
            Err(e) => refuse!(BatchRollbackResponse, e),
        };
        let keys = Arc::new(req.keys);
        let (held, start_ts) = (keys.clone(), req.start_version);
        let result = self
            .blocking(&delegate, move |s, w| s.batch_rollback(w, &held, start_ts))
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        let (_, error, region_error) = split(result)?;
        Ok(BatchRollbackResponse {
            error,
            region_error,
        })
    }

    async fn kv_check_txn_status(
        &self,
        req: CheckTxnStatusRequest,
    ) -> Result<CheckTxnStatusResponse, RpcError> {
        let delegate = match self.check_keys(&req.context, [req.primary_key.as_slice()]) {
            Ok(d) => d,
            Err(e) => refuse!(CheckTxnStatusResponse, e),
        };
        let primary = req.primary_key.clone();
        let result = self
            .blocking(&delegate, move |s, w| {
                s.check_txn_status(
                    w,
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
        let (status, error, region_error) = split(result)?;
        let mut resp = CheckTxnStatusResponse {
            error,
            region_error,
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

    async fn kv_txn_heart_beat(
        &self,
        req: TxnHeartBeatRequest,
    ) -> Result<TxnHeartBeatResponse, RpcError> {
        let delegate = match self.check_keys(&req.context, [req.primary_lock.as_slice()]) {
            Ok(d) => d,
            Err(e) => refuse!(TxnHeartBeatResponse, e),
        };
        let result = self
            .blocking(&delegate, move |s, w| {
                s.txn_heart_beat(w, &req.primary_lock, req.start_version, req.advise_lock_ttl)
            })
            .await?;
        let (ttl, error, region_error) = split(result)?;
        Ok(TxnHeartBeatResponse {
            region_error,
            error,
            lock_ttl: ttl.unwrap_or_default(),
        })
    }

    async fn kv_resolve_lock(
        &self,
        req: ResolveLockRequest,
    ) -> Result<ResolveLockResponse, RpcError> {
        let delegate = match self.check_keys(&req.context, req.keys.iter().map(Vec::as_slice)) {
            Ok(d) => d,
            Err(e) => refuse!(ResolveLockResponse, e),
        };
        let commit_ts = (req.commit_version != 0).then_some(req.commit_version);
        let keys = Arc::new(req.keys);
        let (held, start_ts) = (keys.clone(), req.start_version);
        let result = self
            .blocking(&delegate, move |s, w| {
                s.resolve_lock(w, start_ts, commit_ts, &held)
            })
            .await?;
        self.waits.wake(keys.iter().map(Vec::as_slice));
        let (_, error, region_error) = split(result)?;
        Ok(ResolveLockResponse {
            error,
            region_error,
        })
    }

    async fn kv_cleanup(&self, req: CleanupRequest) -> Result<CleanupResponse, RpcError> {
        let delegate = match self.check_keys(&req.context, [req.key.as_slice()]) {
            Ok(d) => d,
            Err(e) => refuse!(CleanupResponse, e),
        };
        let key = req.key.clone();
        let result = self
            .blocking(&delegate, move |s, w| {
                s.cleanup(w, &req.key, req.start_version, req.current_ts)
            })
            .await?;
        self.waits.wake([key.as_slice()]);
        let (_, error, region_error) = split(result)?;
        Ok(CleanupResponse {
            error,
            region_error,
        })
    }

    async fn kv_scan_lock(&self, req: ScanLockRequest) -> Result<ScanLockResponse, RpcError> {
        if let Err(e) = self.check_context(&req.context) {
            refuse!(ScanLockResponse, e);
        }
        let limit = if req.limit == 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        let (locks, error, region_error) = split(self.store.scan_locks(req.max_version, limit))?;
        let locks = locks
            .unwrap_or_default()
            .into_iter()
            .map(convert::lock_info)
            .collect();
        Ok(ScanLockResponse {
            locks,
            error,
            region_error,
        })
    }

    async fn kv_gc(&self, req: GcRequest) -> Result<GcResponse, RpcError> {
        let delegate = match self.check_context(&req.context) {
            Ok(delegate) => delegate,
            Err(e) => refuse!(GcResponse, e),
        };
        let safe_point = req.safe_point;
        let range = raftstore::peer_storage::region_range(&delegate.region());
        let result = self
            .blocking(&delegate, move |store, w| store.gc(w, &range, safe_point))
            .await?;
        let (stats, error, region_error) = split(result)?;
        let stats = stats.unwrap_or_default();
        Ok(GcResponse {
            error,
            region_error,
            keys: stats.keys,
            versions_deleted: stats.versions_deleted,
            values_deleted: stats.values_deleted,
        })
    }

    async fn kv_delete_range(
        &self,
        req: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, RpcError> {
        let delegate = match self.check_range(&req.context, &req.start_key, &req.end_key) {
            Ok(d) => d,
            Err(e) => refuse!(DeleteRangeResponse, e),
        };
        // Through the log, so every replica drops the range.
        let region = delegate.region();
        let done = self
            .ask(|cb| Msg::DeleteRange {
                region_id: region.id,
                epoch: region.epoch.unwrap_or_default(),
                range: proto::raftpb::DeleteRangeCmd {
                    start_key: codec::mvcc::encode_key(&req.start_key),
                    end_key: codec::mvcc::encode_key(&req.end_key),
                },
                cb,
            })
            .await;
        let region_error = match done {
            Ok(()) => None,
            Err(e) => Some(route::from_raft(e)?),
        };
        Ok(DeleteRangeResponse {
            error: None,
            region_error,
        })
    }

    async fn region_checksum(
        &self,
        req: RegionChecksumRequest,
    ) -> Result<RegionChecksumResponse, RpcError> {
        let Some(delegate) = self.router.delegate(req.region_id) else {
            refuse!(RegionChecksumResponse, route::not_found(req.region_id));
        };
        let region = delegate.region();
        let applied_index = node::peer_status(&self.router)
            .await
            .into_iter()
            .find(|s| s.region.id == req.region_id)
            .map_or(0, |s| s.applied);
        let range = raftstore::peer_storage::region_range(&region);
        let result = self
            .off_task(move |store| store.checksum(&range, req.version))
            .await?;
        let (sum, error, region_error) = split(result)?;
        let sum = sum.unwrap_or_default();
        Ok(RegionChecksumResponse {
            region_error,
            error,
            checksum: sum.digest,
            kvs: sum.kvs,
            bytes: sum.bytes,
            applied_index,
        })
    }
}
