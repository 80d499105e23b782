//! The service traits over gRPC: servers that hand each call to a trait
//! object, and clients that implement the traits with remote calls, all of
//! a client's calls to one peer multiplexed on one stream ([`mux`]). Both
//! are generated from one list per service, so a method added to a trait
//! and to `service.proto` is served and called the same way.

mod mux;

use crate::basaltpb::kv_rpc_client::KvRpcClient;
use crate::basaltpb::kv_rpc_server::{KvRpc, KvRpcServer};
use crate::basaltpb::pd_rpc_client::PdRpcClient;
use crate::basaltpb::pd_rpc_server::{PdRpc, PdRpcServer};
use crate::basaltpb::{
    Failure, KvCall, KvCalls, KvReplies, KvReply, PdCall, PdCalls, PdReplies, PdReply, kv_call,
    kv_reply, pd_call, pd_reply,
};
use crate::kvrpc::*;
use crate::pdrpc::*;
use crate::raftpb::{RaftDone, RaftMessage, RaftMessageBatch};
use crate::service::{KvService, PdService, RaftService, RpcError};
use async_trait::async_trait;
use futures_util::stream::BoxStream;
use mux::{Batch, Mux};
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

impl From<RpcError> for Failure {
    fn from(e: RpcError) -> Self {
        match e {
            RpcError::Unavailable(message) => Failure {
                internal: false,
                message,
            },
            RpcError::Internal(message) => Failure {
                internal: true,
                message,
            },
        }
    }
}

impl From<Failure> for RpcError {
    fn from(f: Failure) -> Self {
        if f.internal {
            RpcError::Internal(f.message)
        } else {
            RpcError::Unavailable(f.message)
        }
    }
}

fn rpc_error(s: Status) -> RpcError {
    match s.code() {
        tonic::Code::Internal => RpcError::Internal(s.message().to_string()),
        _ => RpcError::Unavailable(format!("{}: {}", s.code(), s.message())),
    }
}

/// HTTP/2 flow-control windows: every call to a peer shares one stream, so
/// its window must hold many calls in flight, not one.
const STREAM_WINDOW: u32 = 16 << 20;
const CONNECTION_WINDOW: u32 = 32 << 20;

/// A lazily connected channel to `addr` (`host:port`), with Nagle off.
pub fn channel(addr: &str) -> Result<Channel, RpcError> {
    Ok(Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| RpcError::Internal(format!("bad address {addr}: {e}")))?
        .tcp_nodelay(true)
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .connect_timeout(Duration::from_secs(2))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect_lazy())
}

/// How long a call's answer may take: [`CALL_TIMEOUT`], plus the lock wait
/// a pessimistic lock request asks for.
fn call_timeout<T: 'static>(req: &T) -> Duration {
    let wait = (req as &dyn std::any::Any)
        .downcast_ref::<PessimisticLockRequest>()
        .map_or(Duration::ZERO, |r| Duration::from_millis(r.wait_timeout_ms));
    CALL_TIMEOUT + wait
}

/// Generate a service's server (running each multiplexed call on a trait
/// object) and client (implementing the trait with multiplexed calls) from
/// its list of methods, each with its variant in the call and reply oneofs.
macro_rules! grpc_service {
    (
        $server:ident($field:ident: $trait:ident) via $rpc:ident / $rpc_server:ident,
        $client:ident over $rpc_client:ident,
        $measured:ident timed by $timer:path,
        $calls:ident of $call:ident in $call_mod:ident,
        $replies:ident of $reply:ident in $reply_mod:ident,
        { $($method:ident / $variant:ident ($req:ty) -> $resp:ty;)* }
        $($extra:tt)*
    ) => {
        impl Batch for $calls {
            type Item = $call;
            fn from_items(calls: Vec<$call>) -> Self {
                Self { calls }
            }
            fn into_items(self) -> Vec<$call> {
                self.calls
            }
            fn tag(call: &$call) -> u64 {
                call.id
            }
        }

        impl Batch for $replies {
            type Item = $reply;
            fn from_items(replies: Vec<$reply>) -> Self {
                Self { replies }
            }
            fn into_items(self) -> Vec<$reply> {
                self.replies
            }
            fn tag(reply: &$reply) -> u64 {
                reply.id
            }
        }

        /// Serves the trait object over gRPC.
        #[async_trait]
        impl $rpc for $server {
            type CallsStream = BoxStream<'static, Result<$replies, Status>>;

            async fn calls(
                &self,
                req: Request<Streaming<$calls>>,
            ) -> Result<Response<Self::CallsStream>, Status> {
                async fn dispatch(service: Arc<dyn $trait>, call: $call) -> $reply {
                    use $call_mod::Call;
                    use $reply_mod::Reply;
                    let reply = match call.call {
                        $(Some(Call::$variant(req)) => service.$method(req).await.map(Reply::$variant),)*
                        None => Err(RpcError::Internal("a call with no request".into())),
                    };
                    $reply {
                        id: call.id,
                        reply: Some(reply.unwrap_or_else(|e| Reply::Failure(e.into()))),
                    }
                }
                Ok(Response::new(mux::serve(self.$field.clone(), req.into_inner(), dispatch)))
            }
            $($extra)*
        }

        /// The trait, served by a remote process.
        #[derive(Clone)]
        pub struct $client {
            mux: Arc<Mux<$calls, $replies>>,
        }

        impl $client {
            /// A client of the service at `addr` (`host:port`); connects on
            /// first use and reconnects as needed. Needs a tokio runtime.
            pub fn new(addr: &str) -> Result<Self, RpcError> {
                let client = $rpc_client::new(channel(addr)?)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES);
                let mux = Mux::spawn(Box::new(move |calls| {
                    let mut client = client.clone();
                    Box::pin(async move {
                        client.calls(Request::new(calls)).await.map(Response::into_inner)
                    })
                }));
                Ok(Self { mux: Arc::new(mux) })
            }
        }

        #[async_trait]
        impl $trait for $client {
            $(
                async fn $method(&self, req: $req) -> Result<$resp, RpcError> {
                    use $reply_mod::Reply;
                    let timeout = call_timeout(&req);
                    let make = |id| $call { id, call: Some($call_mod::Call::$variant(req)) };
                    match self.mux.call(make, timeout).await?.reply {
                        Some(Reply::$variant(resp)) => Ok(resp),
                        Some(Reply::Failure(failure)) => Err(failure.into()),
                        _ => Err(RpcError::Internal(
                            concat!("a reply that does not answer ", stringify!($method)).into(),
                        )),
                    }
                }
            )*
        }

        /// The trait object, with every call counted and timed by method
        /// (in-process and remote calls alike, on the serving side).
        pub struct $measured(Arc<dyn $trait>);

        impl $measured {
            /// Time every call `inner` serves. Every method is listed in
            /// the metrics from now on, at 0 until it is called.
            /// Unless measuring is off ([`crate::metrics::enabled`]).
            pub fn wrap(inner: Arc<dyn $trait>) -> Arc<dyn $trait> {
                if !crate::metrics::enabled() {
                    return inner;
                }
                $( $timer.with_label_values(&[stringify!($method)]); )*
                Arc::new(Self(inner))
            }
        }

        #[async_trait]
        impl $trait for $measured {
            $(
                async fn $method(&self, req: $req) -> Result<$resp, RpcError> {
                    static TIMER: std::sync::LazyLock<prometheus::Histogram> =
                        std::sync::LazyLock::new(|| $timer.with_label_values(&[stringify!($method)]));
                    let started = std::time::Instant::now();
                    let resp = self.0.$method(req).await;
                    TIMER.observe(started.elapsed().as_secs_f64());
                    resp
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
    MeasuredKv timed by crate::metrics::KV_REQUEST_DURATION,
    KvCalls of KvCall in kv_call,
    KvReplies of KvReply in kv_reply,
    {
        kv_get / KvGet(GetRequest) -> GetResponse;
        kv_batch_get / KvBatchGet(BatchGetRequest) -> BatchGetResponse;
        kv_scan / KvScan(ScanRequest) -> ScanResponse;
        kv_prewrite / KvPrewrite(PrewriteRequest) -> PrewriteResponse;
        kv_pessimistic_lock / KvPessimisticLock(PessimisticLockRequest) -> PessimisticLockResponse;
        kv_pessimistic_rollback / KvPessimisticRollback(PessimisticRollbackRequest) -> PessimisticRollbackResponse;
        kv_commit / KvCommit(CommitRequest) -> CommitResponse;
        kv_batch_rollback / KvBatchRollback(BatchRollbackRequest) -> BatchRollbackResponse;
        kv_check_txn_status / KvCheckTxnStatus(CheckTxnStatusRequest) -> CheckTxnStatusResponse;
        kv_resolve_lock / KvResolveLock(ResolveLockRequest) -> ResolveLockResponse;
        kv_txn_heart_beat / KvTxnHeartBeat(TxnHeartBeatRequest) -> TxnHeartBeatResponse;
        kv_cleanup / KvCleanup(CleanupRequest) -> CleanupResponse;
        kv_scan_lock / KvScanLock(ScanLockRequest) -> ScanLockResponse;
        kv_gc / KvGc(GcRequest) -> GcResponse;
        kv_delete_range / KvDeleteRange(DeleteRangeRequest) -> DeleteRangeResponse;
        region_checksum / RegionChecksum(RegionChecksumRequest) -> RegionChecksumResponse;
        kv_mvcc_get_by_key / KvMvccGetByKey(MvccGetByKeyRequest) -> MvccGetByKeyResponse;
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

/// Open a stream carrying Raft messages to the store at `addr`: messages
/// sent on `rx` go out in batches of whatever has queued up, until the
/// stream breaks (the caller opens another; Raft resends what was lost).
pub async fn raft_stream(
    addr: &str,
    rx: tokio::sync::mpsc::Receiver<RaftMessage>,
) -> Result<(), RpcError> {
    let batches = futures_util::stream::unfold(rx, |mut rx| async move {
        let mut msgs = Vec::new();
        (rx.recv_many(&mut msgs, 256).await > 0).then(|| (RaftMessageBatch { msgs }, rx))
    });
    KvRpcClient::new(channel(addr)?)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .raft(Request::new(batches))
        .await
        .map(|_| ())
        .map_err(rpc_error)
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
    MeasuredPd timed by crate::metrics::PD_REQUEST_DURATION,
    PdCalls of PdCall in pd_call,
    PdReplies of PdReply in pd_reply,
    {
        tso / Tso(TsoRequest) -> TsoResponse;
        get_region / GetRegion(GetRegionRequest) -> GetRegionResponse;
        get_region_by_id / GetRegionById(GetRegionByIdRequest) -> GetRegionResponse;
        scan_regions / ScanRegions(ScanRegionsRequest) -> ScanRegionsResponse;
        alloc_id / AllocId(AllocIdRequest) -> AllocIdResponse;
        bootstrap / Bootstrap(BootstrapRequest) -> BootstrapResponse;
        put_store / PutStore(PutStoreRequest) -> PutStoreResponse;
        get_store / GetStore(GetStoreRequest) -> GetStoreResponse;
        get_all_stores / GetAllStores(GetAllStoresRequest) -> GetAllStoresResponse;
        store_heartbeat / StoreHeartbeat(StoreHeartbeatRequest) -> StoreHeartbeatResponse;
        region_heartbeat / RegionHeartbeat(RegionHeartbeatRequest) -> RegionHeartbeatResponse;
        ask_split / AskSplit(AskSplitRequest) -> AskSplitResponse;
        add_operator / AddOperator(AddOperatorRequest) -> AddOperatorResponse;
        wait_for / WaitFor(WaitForRequest) -> WaitForResponse;
    }
}

/// How long calls in flight may go on after shutdown was asked for. Streams
/// (multiplexed calls, Raft) never end by themselves, so waiting for every
/// connection to finish would wait forever.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Serve a store's services, PD's, or both, on `listener` until `shutdown`
/// completes (and [`SHUTDOWN_GRACE`] more for calls in flight).
pub async fn serve(
    listener: tokio::net::TcpListener,
    kv: Option<KvServer>,
    pd: Option<PdServer>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RpcError> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .initial_stream_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .add_optional_service(kv.map(KvServer::into_service))
        .add_optional_service(pd.map(PdServer::into_service))
        .serve_with_incoming_shutdown(incoming, async {
            shutdown.await;
            let _ = stopping.send(());
        });
    tokio::select! {
        served = server => served.map_err(|e| RpcError::Unavailable(e.to_string())),
        _ = async {
            let _ = stopped.await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}
