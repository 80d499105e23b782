//! The service traits over gRPC: servers that hand each call to a trait
//! object, and clients that implement the traits with remote calls. Both
//! are generated from one list per service, so a method added to a trait
//! and to `service.proto` is served and called the same way.

use crate::basaltpb::kv_rpc_client::KvRpcClient;
use crate::basaltpb::kv_rpc_server::{KvRpc, KvRpcServer};
use crate::basaltpb::pd_rpc_client::PdRpcClient;
use crate::basaltpb::pd_rpc_server::{PdRpc, PdRpcServer};
use crate::kvrpc::*;
use crate::pdrpc::*;
use crate::raftpb::{RaftDone, RaftMessage, RaftMessageBatch};
use crate::service::{KvService, PdService, RaftService, RpcError};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

/// Largest message either side accepts: a Raft snapshot carries a whole
/// region.
pub const MAX_MESSAGE_BYTES: usize = 512 << 20;

/// How long a call may take before the caller gives up on the peer (a
/// stopped process never answers); lock waits add their own wait.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn status(e: RpcError) -> Status {
    match e {
        RpcError::Unavailable(m) => Status::unavailable(m),
        RpcError::Internal(m) => Status::internal(m),
    }
}

fn rpc_error(s: Status) -> RpcError {
    match s.code() {
        tonic::Code::Internal => RpcError::Internal(s.message().to_string()),
        _ => RpcError::Unavailable(format!("{}: {}", s.code(), s.message())),
    }
}

/// A lazily connected channel to `addr` (`host:port`), with Nagle off.
pub fn channel(addr: &str) -> Result<Channel, RpcError> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| RpcError::Internal(format!("bad address {addr}: {e}")))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(2))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect_lazy())
}

/// A request with the time its answer may take: [`CALL_TIMEOUT`], plus
/// the lock wait a pessimistic lock request asks for.
fn request<T: 'static>(req: T) -> Request<T> {
    let wait = (&req as &dyn std::any::Any)
        .downcast_ref::<PessimisticLockRequest>()
        .map_or(Duration::ZERO, |r| Duration::from_millis(r.wait_timeout_ms));
    let mut req = Request::new(req);
    req.set_timeout(CALL_TIMEOUT + wait);
    req
}

/// Generate a service's server (delegating to a trait object) and client
/// (implementing the trait) from its list of unary methods.
macro_rules! grpc_service {
    (
        $server:ident($field:ident: $trait:ident) via $rpc:ident / $rpc_server:ident,
        $client:ident over $rpc_client:ident,
        { $($method:ident($req:ty) -> $resp:ty;)* }
        $($extra:tt)*
    ) => {
        /// Serves the trait object over gRPC.
        #[async_trait]
        impl $rpc for $server {
            $(
                async fn $method(&self, req: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.$field.$method(req.into_inner()).await.map(Response::new).map_err(status)
                }
            )*
            $($extra)*
        }

        /// The trait, served by a remote process.
        #[derive(Clone)]
        pub struct $client {
            inner: $rpc_client<Channel>,
        }

        impl $client {
            /// A client of the service at `addr` (`host:port`); connects on
            /// first use and reconnects as needed.
            pub fn new(addr: &str) -> Result<Self, RpcError> {
                let inner = $rpc_client::new(channel(addr)?)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES);
                Ok(Self { inner })
            }
        }

        #[async_trait]
        impl $trait for $client {
            $(
                async fn $method(&self, req: $req) -> Result<$resp, RpcError> {
                    self.inner.clone().$method(request(req)).await.map(Response::into_inner).map_err(rpc_error)
                }
            )*
        }

        impl $server {
            /// The tonic service, with message size limits set.
            pub fn into_service(self) -> $rpc_server<Self> {
                $rpc_server::new(self)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES)
            }
        }
    };
}

/// A store's services over gRPC: the transactional API and the Raft
/// messages of other stores.
pub struct KvServer {
    kv: Arc<dyn KvService>,
    raft: Arc<dyn RaftService>,
}

impl KvServer {
    /// Serve `kv` and hand incoming Raft messages to `raft`.
    pub fn new(kv: Arc<dyn KvService>, raft: Arc<dyn RaftService>) -> Self {
        Self { kv, raft }
    }
}

grpc_service! {
    KvServer(kv: KvService) via KvRpc / KvRpcServer,
    KvClient over KvRpcClient,
    {
        kv_get(GetRequest) -> GetResponse;
        kv_batch_get(BatchGetRequest) -> BatchGetResponse;
        kv_scan(ScanRequest) -> ScanResponse;
        kv_prewrite(PrewriteRequest) -> PrewriteResponse;
        kv_pessimistic_lock(PessimisticLockRequest) -> PessimisticLockResponse;
        kv_pessimistic_rollback(PessimisticRollbackRequest) -> PessimisticRollbackResponse;
        kv_commit(CommitRequest) -> CommitResponse;
        kv_batch_rollback(BatchRollbackRequest) -> BatchRollbackResponse;
        kv_check_txn_status(CheckTxnStatusRequest) -> CheckTxnStatusResponse;
        kv_resolve_lock(ResolveLockRequest) -> ResolveLockResponse;
        kv_cleanup(CleanupRequest) -> CleanupResponse;
        kv_scan_lock(ScanLockRequest) -> ScanLockResponse;
        kv_gc(GcRequest) -> GcResponse;
        kv_delete_range(DeleteRangeRequest) -> DeleteRangeResponse;
        region_checksum(RegionChecksumRequest) -> RegionChecksumResponse;
    }
    async fn raft(
        &self,
        req: Request<Streaming<RaftMessageBatch>>,
    ) -> Result<Response<RaftDone>, Status> {
        let mut stream = req.into_inner();
        while let Some(batch) = stream.message().await? {
            self.raft.on_raft(batch.msgs);
        }
        Ok(Response::new(RaftDone {}))
    }
}

impl KvClient {
    /// Open a stream carrying Raft messages to this store: messages sent on
    /// `rx` go out in batches of whatever has queued up, until the stream
    /// breaks (the caller opens another; Raft resends what was lost).
    pub async fn raft_stream(
        &self,
        rx: tokio::sync::mpsc::Receiver<RaftMessage>,
    ) -> Result<(), RpcError> {
        let batches = futures_util::stream::unfold(rx, |mut rx| async move {
            let first = rx.recv().await?;
            let mut msgs = vec![first];
            while msgs.len() < 256 {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            Some((RaftMessageBatch { msgs }, rx))
        });
        self.inner
            .clone()
            .raft(Request::new(batches))
            .await
            .map(|_| ())
            .map_err(rpc_error)
    }
}

/// PD over gRPC.
pub struct PdServer {
    pd: Arc<dyn PdService>,
}

impl PdServer {
    /// Serve `pd`.
    pub fn new(pd: Arc<dyn PdService>) -> Self {
        Self { pd }
    }
}

grpc_service! {
    PdServer(pd: PdService) via PdRpc / PdRpcServer,
    PdClient over PdRpcClient,
    {
        tso(TsoRequest) -> TsoResponse;
        get_region(GetRegionRequest) -> GetRegionResponse;
        get_region_by_id(GetRegionByIdRequest) -> GetRegionResponse;
        scan_regions(ScanRegionsRequest) -> ScanRegionsResponse;
        alloc_id(AllocIdRequest) -> AllocIdResponse;
        bootstrap(BootstrapRequest) -> BootstrapResponse;
        put_store(PutStoreRequest) -> PutStoreResponse;
        get_store(GetStoreRequest) -> GetStoreResponse;
        get_all_stores(GetAllStoresRequest) -> GetAllStoresResponse;
        store_heartbeat(StoreHeartbeatRequest) -> StoreHeartbeatResponse;
        region_heartbeat(RegionHeartbeatRequest) -> RegionHeartbeatResponse;
        ask_split(AskSplitRequest) -> AskSplitResponse;
        add_operator(AddOperatorRequest) -> AddOperatorResponse;
    }
}

/// Serve a store's services, PD's, or both, on `listener` until `shutdown`
/// completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    kv: Option<KvServer>,
    pd: Option<PdServer>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RpcError> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder();
    builder
        .add_optional_service(kv.map(KvServer::into_service))
        .add_optional_service(pd.map(PdServer::into_service))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| RpcError::Unavailable(e.to_string()))
}
