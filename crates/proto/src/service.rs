//! The service traits. A method returns `Err` only when the call itself
//! failed (the peer is unreachable or broke down); outcomes the caller acts
//! on, such as a locked key or a stale region, come back inside the response.

#![warn(missing_docs)]

use crate::kvrpc::*;
use crate::pdrpc::*;
use crate::raftpb::RaftMessage;
use async_trait::async_trait;

/// A failed call: nothing is known about whether the request took effect.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// The peer cannot be reached now; retrying later (elsewhere) may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The peer failed while serving the request (a disk error, say).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The transactional API of one store.
#[async_trait]
pub trait KvService: Send + Sync + 'static {
    /// Read one key at a timestamp.
    async fn kv_get(&self, req: GetRequest) -> Result<GetResponse, RpcError>;
    /// Read several keys at one timestamp.
    async fn kv_batch_get(&self, req: BatchGetRequest) -> Result<BatchGetResponse, RpcError>;
    /// Read a key range at a timestamp.
    async fn kv_scan(&self, req: ScanRequest) -> Result<ScanResponse, RpcError>;
    /// Lock and stage a transaction's writes (first phase of 2PC).
    async fn kv_prewrite(&self, req: PrewriteRequest) -> Result<PrewriteResponse, RpcError>;
    /// Lock keys for a statement of a pessimistic transaction, waiting a
    /// bounded time for other transactions' locks.
    async fn kv_pessimistic_lock(
        &self,
        req: PessimisticLockRequest,
    ) -> Result<PessimisticLockResponse, RpcError>;
    /// Release pessimistic locks.
    async fn kv_pessimistic_rollback(
        &self,
        req: PessimisticRollbackRequest,
    ) -> Result<PessimisticRollbackResponse, RpcError>;
    /// Commit prewritten keys (second phase).
    async fn kv_commit(&self, req: CommitRequest) -> Result<CommitResponse, RpcError>;
    /// Roll back a transaction's keys.
    async fn kv_batch_rollback(
        &self,
        req: BatchRollbackRequest,
    ) -> Result<BatchRollbackResponse, RpcError>;
    /// Ask a primary key what became of its transaction.
    async fn kv_check_txn_status(
        &self,
        req: CheckTxnStatusRequest,
    ) -> Result<CheckTxnStatusResponse, RpcError>;
    /// Keep a running transaction's primary lock from expiring.
    async fn kv_txn_heart_beat(
        &self,
        req: TxnHeartBeatRequest,
    ) -> Result<TxnHeartBeatResponse, RpcError>;
    /// Roll a transaction's locks forward or back.
    async fn kv_resolve_lock(
        &self,
        req: ResolveLockRequest,
    ) -> Result<ResolveLockResponse, RpcError>;
    /// Roll back one key of an abandoned transaction.
    async fn kv_cleanup(&self, req: CleanupRequest) -> Result<CleanupResponse, RpcError>;
    /// List locks older than a timestamp (before GC).
    async fn kv_scan_lock(&self, req: ScanLockRequest) -> Result<ScanLockResponse, RpcError>;
    /// Collect versions below a safe point.
    async fn kv_gc(&self, req: GcRequest) -> Result<GcResponse, RpcError>;
    /// Remove a key range outright in every data family (the data of a
    /// dropped table or index), at a cost in files rather than keys.
    async fn kv_delete_range(
        &self,
        req: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, RpcError>;
    /// A digest of this replica's data of a region (any replica answers).
    async fn region_checksum(
        &self,
        req: RegionChecksumRequest,
    ) -> Result<RegionChecksumResponse, RpcError>;
    /// Every MVCC record of one key, lock and rollbacks included: for
    /// debugging what readers and writers meet there.
    async fn kv_mvcc_get_by_key(
        &self,
        req: MvccGetByKeyRequest,
    ) -> Result<MvccGetByKeyResponse, RpcError>;
}

/// The placement driver, as a client sees it.
#[async_trait]
pub trait PdService: Send + Sync + 'static {
    /// Allocate consecutive, never-before-used timestamps.
    async fn tso(&self, req: TsoRequest) -> Result<TsoResponse, RpcError>;
    /// The region holding an encoded key, and its leader's store.
    async fn get_region(&self, req: GetRegionRequest) -> Result<GetRegionResponse, RpcError>;
    /// A region by id.
    async fn get_region_by_id(
        &self,
        req: GetRegionByIdRequest,
    ) -> Result<GetRegionResponse, RpcError>;
    /// Regions over a key range, in key order.
    async fn scan_regions(&self, req: ScanRegionsRequest) -> Result<ScanRegionsResponse, RpcError>;
    /// Fresh ids for stores, regions and peers.
    async fn alloc_id(&self, req: AllocIdRequest) -> Result<AllocIdResponse, RpcError>;
    /// Create the cluster's first region, unless another store did.
    async fn bootstrap(&self, req: BootstrapRequest) -> Result<BootstrapResponse, RpcError>;
    /// Register (or re-address) a store.
    async fn put_store(&self, req: PutStoreRequest) -> Result<PutStoreResponse, RpcError>;
    /// A store's address and state.
    async fn get_store(&self, req: GetStoreRequest) -> Result<GetStoreResponse, RpcError>;
    /// Every store.
    async fn get_all_stores(
        &self,
        req: GetAllStoresRequest,
    ) -> Result<GetAllStoresResponse, RpcError>;
    /// A store is alive, with its counts.
    async fn store_heartbeat(
        &self,
        req: StoreHeartbeatRequest,
    ) -> Result<StoreHeartbeatResponse, RpcError>;
    /// A region's leader reports it; the answer may carry an operator.
    async fn region_heartbeat(
        &self,
        req: RegionHeartbeatRequest,
    ) -> Result<RegionHeartbeatResponse, RpcError>;
    /// Ids for the region a split is about to create.
    async fn ask_split(&self, req: AskSplitRequest) -> Result<AskSplitResponse, RpcError>;
    /// Queue an operator for a region by hand.
    async fn add_operator(&self, req: AddOperatorRequest) -> Result<AddOperatorResponse, RpcError>;
    /// A lock waiter starts or stops waiting; refused if that is a deadlock.
    async fn wait_for(&self, req: WaitForRequest) -> Result<WaitForResponse, RpcError>;
}

/// Where a store's Raft messages from other stores arrive.
pub trait RaftService: Send + Sync + 'static {
    /// Take messages off the wire (handing them on; never waits).
    fn on_raft(&self, msgs: Vec<RaftMessage>);
}
