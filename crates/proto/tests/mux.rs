//! Calls multiplexed on one stream, against a real gRPC server on loopback.

use async_trait::async_trait;
use proto::grpc::{KvClient, KvServer};
use proto::kvrpc::*;
use proto::raftpb::RaftMessage;
use proto::{KvService, RaftService, RpcError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answers a get with its key after ten times as many milliseconds as the
/// key's first byte says, so replies finish out of order; fails every scan.
struct Echo;

/// The answer of the methods these tests never call.
fn unused<T>() -> Result<T, RpcError> {
    Err(RpcError::Internal("not served".into()))
}

#[async_trait]
impl KvService for Echo {
    async fn kv_get(&self, req: GetRequest) -> Result<GetResponse, RpcError> {
        tokio::time::sleep(Duration::from_millis(10 * u64::from(req.key[0]))).await;
        Ok(GetResponse {
            value: req.key,
            ..Default::default()
        })
    }
    async fn kv_scan(&self, _: ScanRequest) -> Result<ScanResponse, RpcError> {
        Err(RpcError::Internal("disk on fire".into()))
    }
    async fn kv_batch_get(&self, _: BatchGetRequest) -> Result<BatchGetResponse, RpcError> {
        unused()
    }
    async fn kv_prewrite(&self, _: PrewriteRequest) -> Result<PrewriteResponse, RpcError> {
        unused()
    }
    async fn kv_pessimistic_lock(
        &self,
        _: PessimisticLockRequest,
    ) -> Result<PessimisticLockResponse, RpcError> {
        unused()
    }
    async fn kv_pessimistic_rollback(
        &self,
        _: PessimisticRollbackRequest,
    ) -> Result<PessimisticRollbackResponse, RpcError> {
        unused()
    }
    async fn kv_commit(&self, _: CommitRequest) -> Result<CommitResponse, RpcError> {
        unused()
    }
    async fn kv_batch_rollback(
        &self,
        _: BatchRollbackRequest,
    ) -> Result<BatchRollbackResponse, RpcError> {
        unused()
    }
    async fn kv_txn_heart_beat(
        &self,
        _: TxnHeartBeatRequest,
    ) -> Result<TxnHeartBeatResponse, RpcError> {
        unused()
    }
    async fn kv_check_txn_status(
        &self,
        _: CheckTxnStatusRequest,
    ) -> Result<CheckTxnStatusResponse, RpcError> {
        unused()
    }
    async fn kv_resolve_lock(
        &self,
        _: ResolveLockRequest,
    ) -> Result<ResolveLockResponse, RpcError> {
        unused()
    }
    async fn kv_cleanup(&self, _: CleanupRequest) -> Result<CleanupResponse, RpcError> {
        unused()
    }
    async fn kv_scan_lock(&self, _: ScanLockRequest) -> Result<ScanLockResponse, RpcError> {
        unused()
    }
    async fn kv_gc(&self, _: GcRequest) -> Result<GcResponse, RpcError> {
        unused()
    }
    async fn kv_delete_range(
        &self,
        _: DeleteRangeRequest,
    ) -> Result<DeleteRangeResponse, RpcError> {
        unused()
    }
    async fn region_checksum(
        &self,
        _: RegionChecksumRequest,
    ) -> Result<RegionChecksumResponse, RpcError> {
        unused()
    }
    async fn kv_mvcc_get_by_key(
        &self,
        _: MvccGetByKeyRequest,
    ) -> Result<MvccGetByKeyResponse, RpcError> {
        unused()
    }
}

impl RaftService for Echo {
    fn on_raft(&self, _: Vec<RaftMessage>) {}
}

/// Serve `Echo` on `listener` in a runtime of its own until the returned
/// sender fires; then the runtime goes, and with it every connection, as
/// when a process exits.
fn serve(listener: std::net::TcpListener) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let server = KvServer::new(Arc::new(Echo), Arc::new(Echo));
            proto::grpc::serve(listener, Some(server), None, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    stop
}

fn get(key: Vec<u8>) -> GetRequest {
    GetRequest {
        key,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_each_get_their_own_reply() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let _stop = serve(listener);
    let client = Arc::new(KvClient::new(&addr).unwrap());
    let calls: Vec<_> = (0..500u32)
        .map(|i| {
            let client = client.clone();
            // Delays of 0 to 300 ms: replies come back in another order.
            let key = vec![(i * 7 % 31) as u8, (i >> 8) as u8, i as u8];
            tokio::spawn(async move { (key.clone(), client.kv_get(get(key)).await) })
        })
        .collect();
    for call in calls {
        let (key, reply) = call.await.unwrap();
        assert_eq!(reply.unwrap().value, key);
    }
    // A failure of the service comes back as that failure.
    match client.kv_scan(ScanRequest::default()).await {
        Err(RpcError::Internal(m)) => assert_eq!(m, "disk on fire"),
        other => panic!("expected the service's error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_peer_fails_calls_and_a_restarted_one_serves_again() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = serve(listener);
    let client = Arc::new(KvClient::new(&addr.to_string()).unwrap());
    assert_eq!(client.kv_get(get(vec![0])).await.unwrap().value, vec![0]);

    // A call in flight when the server shuts down fails once the server's
    // grace runs out, not at the call's timeout.
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.kv_get(get(vec![250])).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    stop.send(()).unwrap();
    let failed = slow.await.unwrap();
    assert!(
        matches!(failed, Err(RpcError::Unavailable(_))),
        "{failed:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );

    // Another server on the same address: the client reconnects.
    let listener = loop {
        match std::net::TcpListener::bind(addr) {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let _stop = serve(listener);
    let mut reply = client.kv_get(get(vec![1])).await;
    for _ in 0..50 {
        if reply.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        reply = client.kv_get(get(vec![1])).await;
    }
    assert_eq!(reply.unwrap().value, vec![1]);
}
