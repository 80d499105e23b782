//! A storage node's life in a cluster: joining it, the Raft transport to
//! other stores, heartbeats to PD and the operators they bring back, and
//! size-based splits.
//!
//! **Joining.** A new engine gets a store id from PD. A store with no
//! region offers PD the cluster's first region (the whole key space, one
//! replica here); if another store got there first, the offer is undone.
//! The offer is written locally before PD hears it, so a crash in between
//! leaves a region that the next start offers again.
//!
//! **Heartbeats.** Every `heartbeat_interval` the store reports itself and
//! every region it leads; a response may carry an operator (add or remove
//! a peer, transfer leadership, split), which the node hands to the
//! raftstore. Every `split_check_interval` the node measures the regions
//! it leads (keys and bytes of their newest versions) and splits those
//! past the thresholds at their middle key. Measuring reads the whole
//! region, so a region is measured again only after it has taken writes
//! of a sixteenth of the split size since.

use crate::{KvNode, TxnApply};
use proto::grpc;
use proto::kvrpc::{Peer, Region, RegionEpoch};
use proto::pdrpc::*;
use proto::raftpb::{RaftMessage, SplitCmd};
use proto::{PdService, RaftService, RpcError};
use raftstore::store::{Change, PeerStatus, Transport};
use raftstore::{Msg, Router, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use storage::{Cf, Engine, Snapshot};
use tokio::sync::mpsc;
use txn::TxnStore;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// PD could not be reached or refused.
    #[error("PD: {0}")]
    Pd(#[from] RpcError),
    /// The Raft layer failed to open.
    #[error("raftstore: {0}")]
    Raft(#[from] raftstore::Error),
    /// The transactional store failed to open.
    #[error("store: {0}")]
    Txn(#[from] txn::Error),
    /// The poller thread could not start.
    #[error("poller: {0}")]
    Io(#[from] std::io::Error),
}

/// A node's settings.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The address other processes reach this store's gRPC service at.
    pub advertise_addr: String,
    /// The address of this store's status HTTP (empty: none).
    pub status_addr: String,
    /// Raft settings.
    pub raft: raftstore::Config,
    /// How often the store and its led regions report to PD.
    pub heartbeat_interval: Duration,
    /// How often led regions are measured for splitting.
    pub split_check_interval: Duration,
    /// Split a region past this many bytes...
    pub region_split_size: u64,
    /// ...or this many keys.
    pub region_split_keys: u64,
}

impl NodeConfig {
    /// Defaults for a store reached at `advertise_addr`.
    pub fn new(advertise_addr: impl Into<String>) -> Self {
        Self {
            advertise_addr: advertise_addr.into(),
            status_addr: String::new(),
            raft: raftstore::Config::default(),
            heartbeat_interval: Duration::from_secs(1),
            split_check_interval: Duration::from_secs(10),
            region_split_size: 96 << 20,
            region_split_keys: 960_000,
        }
    }
}

/// A running storage node.
pub struct Node<E: Engine> {
    store_id: u64,
    kv: Arc<KvNode<E>>,
    router: Router,
    poller: Option<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Hands Raft messages from the wire to the poller.
struct RouterSink(Router);

impl RaftService for RouterSink {
    fn on_raft(&self, msgs: Vec<RaftMessage>) {
        for msg in msgs {
            let _ = self.0.send(Msg::Raft(msg));
        }
    }
}

/// The Raft transport over gRPC: one stream per target store, each fed by
/// a queue; a full queue drops (Raft resends what matters).
struct GrpcTransport {
    pd: Arc<dyn PdService>,
    runtime: tokio::runtime::Handle,
    links: HashMap<u64, mpsc::Sender<RaftMessage>>,
}

/// Messages queued per target store before the transport drops.
const LINK_QUEUE: usize = 4096;

impl Transport for GrpcTransport {
    fn send(&mut self, msg: RaftMessage) {
        let Some(store_id) = msg.to_peer.map(|p| p.store_id) else {
            return;
        };
        let link = self
            .links
            .entry(store_id)
            .or_insert_with(|| spawn_link(&self.runtime, self.pd.clone(), store_id));
        let _ = link.try_send(msg);
    }
}

/// A task that keeps a Raft stream open to `store_id`, reconnecting (and
/// re-resolving its address) whenever it breaks.
fn spawn_link(
    runtime: &tokio::runtime::Handle,
    pd: Arc<dyn PdService>,
    store_id: u64,
) -> mpsc::Sender<RaftMessage> {
    let (tx, mut rx) = mpsc::channel::<RaftMessage>(LINK_QUEUE);
    runtime.spawn(async move {
        loop {
            let addr = match pd.get_store(GetStoreRequest { store_id }).await {
                Ok(resp) => resp.store.map(|s| s.address).unwrap_or_default(),
                Err(_) => String::new(),
            };
            let (stream_tx, stream_rx) = mpsc::channel(LINK_QUEUE);
            let stream = tokio::spawn(async move { grpc::raft_stream(&addr, stream_rx).await });
            loop {
                let Some(msg) = rx.recv().await else {
                    return; // the store shut down
                };
                if stream_tx.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = stream.await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    tx
}

/// The first region of a new cluster: every key, one replica on the
/// store of `peer`.
pub fn first_region(region_id: u64, peer: Peer) -> Region {
    Region {
        id: region_id,
        start_key: Vec::new(),
        end_key: Vec::new(),
        epoch: Some(RegionEpoch {
            conf_ver: 1,
            version: 1,
        }),
        peers: vec![peer],
    }
}

impl<E: Engine> Node<E> {
    /// Join the cluster PD runs (see the module doc) and start serving
    /// Raft; the caller serves [`kv`](Self::kv) and [`raft`](Self::raft)
    /// over gRPC. Needs a tokio runtime.
    pub async fn start(
        cfg: NodeConfig,
        engine: E,
        pd: Arc<dyn PdService>,
    ) -> Result<Self, NodeError> {
        let store_id = match Store::<E, GrpcTransport>::ident(&engine)? {
            Some(id) => id,
            None => {
                let id = pd.alloc_id(AllocIdRequest { count: 1 }).await?.first_id;
                Store::<E, GrpcTransport>::write_ident(&engine, id)?;
                id
            }
        };
        let me = proto::pdrpc::Store {
            id: store_id,
            address: cfg.advertise_addr.clone(),
            status_address: cfg.status_addr.clone(),
            ..Default::default()
        };
        let regions = raftstore::peer_storage::load_regions(&engine)?;
        let offer = match regions.as_slice() {
            [] => {
                let first = pd.alloc_id(AllocIdRequest { count: 2 }).await?.first_id;
                let region = first_region(
                    first,
                    Peer {
                        id: first + 1,
                        store_id,
                    },
                );
                Store::<E, GrpcTransport>::bootstrap(&engine, &region)?;
                Some(region)
            }
            // An offer made before a crash, never split nor grown since.
            [only] => only.region.clone().filter(|r| {
                r.epoch == first_region(r.id, Peer::default()).epoch && r.peers.len() == 1
            }),
            _ => None,
        };
        if let Some(region) = offer {
            let resp = pd
                .bootstrap(BootstrapRequest {
                    store: Some(me.clone()),
                    region: Some(region.clone()),
                })
                .await?;
            if resp.already_bootstrapped && resp.first_region_id != region.id {
                Store::<E, GrpcTransport>::forget_bootstrap(&engine, &region)?;
            }
        }
        pd.put_store(PutStoreRequest { store: Some(me) }).await?;

        let txn = Arc::new(TxnStore::open(engine.clone())?);
        let transport = GrpcTransport {
            pd: pd.clone(),
            runtime: tokio::runtime::Handle::current(),
            links: HashMap::new(),
        };
        let (store, router) = Store::open(
            cfg.raft.clone(),
            store_id,
            engine,
            transport,
            Arc::new(TxnApply(txn.clone())),
        )?;
        let poller = std::thread::Builder::new()
            .name("raftstore".into())
            .spawn(move || store.run())?;
        let kv = Arc::new(KvNode::new(txn, router.clone(), pd.clone()));
        let heartbeats = tokio::spawn(heartbeat_loop(
            cfg,
            store_id,
            router.clone(),
            kv.clone(),
            pd,
        ));
        Ok(Self {
            store_id,
            kv,
            router,
            poller: Some(poller),
            tasks: vec![heartbeats],
        })
    }

    /// This store's id.
    pub fn store_id(&self) -> u64 {
        self.store_id
    }

    /// The transactional service.
    pub fn kv(&self) -> Arc<KvNode<E>> {
        self.kv.clone()
    }

    /// Where Raft messages from other stores go.
    pub fn raft(&self) -> Arc<dyn RaftService> {
        Arc::new(RouterSink(self.router.clone()))
    }

    /// The raftstore's router (operators, status).
    pub fn router(&self) -> &Router {
        &self.router
    }
}

impl<E: Engine> Drop for Node<E> {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = self.router.send(Msg::Stop);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}

/// Every peer's state, from the poller.
pub async fn peer_status(router: &Router) -> Vec<PeerStatus> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let asked = router.send(Msg::Status(Box::new(move |s| {
        let _ = tx.send(s);
    })));
    match asked {
        Ok(()) => rx.await.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Keys and bytes of a region's newest versions, its middle key, and where
/// its second table begins.
struct Measure {
    keys: u64,
    bytes: u64,
    middle: Option<Vec<u8>>,
    /// The encoded prefix of the first table whose keys follow another
    /// table's (or the meta keys) in the region: a split there gives each
    /// table regions of its own, as TiDB's `split-table` does, so that a
    /// transaction over one table commits in one region (one phase) and
    /// PD can move a table's load apart from the others'.
    table_split: Option<Vec<u8>>,
}

/// Measure a region from the `latest` family (one entry per key).
fn measure<E: Engine>(engine: &E, region: &Region) -> Measure {
    let range = raftstore::peer_storage::region_range(region);
    let snap = engine.snapshot();
    let (mut keys, mut bytes) = (0u64, 0u64);
    let mut tables = TableBoundary::default();
    for (k, v) in snap.scan(Cf::Latest, &range, false).flatten() {
        keys += 1;
        bytes += (k.len() + v.len()) as u64;
        tables.next(&k);
    }
    let half = bytes / 2;
    let mut seen = 0u64;
    let mut middle = None;
    for (k, v) in snap.scan(Cf::Latest, &range, false).flatten() {
        seen += (k.len() + v.len()) as u64;
        if seen >= half {
            middle = Some(k.to_vec());
            break;
        }
    }
    Measure {
        keys,
        bytes,
        middle,
        table_split: tables.found,
    }
}

/// Finds, over encoded keys in order, the first key of a table that
/// follows keys outside it.
#[derive(Default)]
struct TableBoundary {
    /// The first ten encoded bytes of the last key decoded (they hold the
    /// nine raw bytes `t{table}`), and its table.
    last: Option<([u8; 10], Option<i64>)>,
    found: Option<Vec<u8>>,
}

impl TableBoundary {
    fn next(&mut self, encoded: &[u8]) {
        if self.found.is_some() {
            return;
        }
        let mut head = [0u8; 10];
        let n = encoded.len().min(10);
        head[..n].copy_from_slice(&encoded[..n]);
        // Keys of one table share their head: decode only when it changes.
        if self.last.is_some_and(|(last, _)| last == head) {
            return;
        }
        let table = codec::mvcc::decode_key(encoded)
            .ok()
            .and_then(|raw| codec::table::table_of(&raw));
        if let Some((_, before)) = self.last
            && let Some(table) = table
            && before != Some(table)
        {
            let mut prefix = Vec::with_capacity(9);
            codec::table::encode_table_prefix(&mut prefix, table);
            self.found = Some(codec::mvcc::encode_key(&prefix));
        }
        self.last = Some((head, table));
    }
}

/// Split `region` at the encoded `key` (new ids from PD); waits for it and
/// reports both halves.
async fn split(router: &Router, pd: &Arc<dyn PdService>, region: &Region, key: Vec<u8>) {
    let inside = key > region.start_key && (region.end_key.is_empty() || key < region.end_key);
    if !inside {
        return;
    }
    let Ok(ids) = pd
        .ask_split(AskSplitRequest {
            region: Some(region.clone()),
        })
        .await
    else {
        return;
    };
    let halves = [region.id, ids.new_region_id];
    let (tx, rx) = tokio::sync::oneshot::channel();
    let msg = Msg::Split {
        region_id: region.id,
        epoch: region.epoch.unwrap_or_default(),
        split: SplitCmd {
            split_key: key,
            new_region_id: ids.new_region_id,
            new_peer_ids: ids.new_peer_ids,
        },
        cb: Box::new(move |r| {
            let _ = tx.send(r);
        }),
    };
    if router.send(msg).is_err() || !matches!(rx.await, Ok(Ok(()))) {
        return;
    }
    // Tell PD at once, the shrunk half first (PD drops a report that
    // overlaps a newer region): clients that miss a region ask PD, and
    // until the next heartbeat it would know only the undivided region.
    // The new half's peer here has just campaigned and leads it.
    let statuses = peer_status(router).await;
    for id in halves {
        if let Some(status) = statuses.iter().find(|s| s.region.id == id).cloned() {
            let _ = pd
                .region_heartbeat(RegionHeartbeatRequest {
                    region: Some(status.region),
                    leader: Some(status.peer),
                    ..Default::default()
                })
                .await;
        }
    }
}

/// Carry out what PD answered a region heartbeat with.
async fn follow(
    router: &Router,
    pd: &Arc<dyn PdService>,
    engine_middle: impl FnOnce() -> Option<Vec<u8>> + Send + 'static,
    status: &PeerStatus,
    resp: RegionHeartbeatResponse,
) {
    let region = &status.region;
    let epoch = region.epoch.unwrap_or_default();
    if let Some(op) = resp.change_peer
        && let Some(peer) = op.peer
    {
        let change = match op.change_type() {
            ChangeType::AddPeer => Change::Add,
            ChangeType::RemovePeer => Change::Remove,
        };
        let _ = router.send(Msg::ChangePeer {
            region_id: region.id,
            epoch,
            change,
            peer,
            cb: Box::new(|_| {}),
        });
    } else if let Some(op) = resp.transfer_leader
        && let Some(peer) = op.peer
    {
        let _ = router.send(Msg::TransferLeader {
            region_id: region.id,
            to: peer.id,
        });
    } else if let Some(op) = resp.split {
        let key = if op.split_key.is_empty() {
            // Finding the middle scans the region: not on an async worker.
            tokio::task::spawn_blocking(engine_middle)
                .await
                .ok()
                .flatten()
        } else {
            Some(op.split_key)
        };
        if let Some(key) = key {
            split(router, pd, region, key).await;
        }
    }
}

async fn heartbeat_loop<E: Engine>(
    cfg: NodeConfig,
    store_id: u64,
    router: Router,
    kv: Arc<KvNode<E>>,
    pd: Arc<dyn PdService>,
) {
    let mut ticker = tokio::time::interval(cfg.heartbeat_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_check = tokio::time::Instant::now();
    // Per region: bytes and keys when last measured, and the peer's
    // `written` counter then.
    let mut measured: HashMap<u64, (u64, u64, u64)> = HashMap::new();
    // Writes that make a region worth measuring again.
    let check_diff = cfg.region_split_size / 16;
    loop {
        ticker.tick().await;
        let peers = peer_status(&router).await;
        let led: Vec<&PeerStatus> = peers
            .iter()
            .filter(|s| s.leader.as_ref() == Some(&s.peer))
            .collect();
        let _ = pd
            .store_heartbeat(StoreHeartbeatRequest {
                store_id,
                region_count: peers.len() as u32,
                leader_count: led.len() as u32,
            })
            .await;
        let check = last_check.elapsed() >= cfg.split_check_interval;
        if check {
            last_check = tokio::time::Instant::now();
        }
        for status in led {
            let engine = kv.store().engine().clone();
            let stale = measured
                .get(&status.region.id)
                .is_none_or(|m| status.written.wrapping_sub(m.2) >= check_diff);
            if check && stale {
                let region = status.region.clone();
                let e = engine.clone();
                if let Ok(m) = tokio::task::spawn_blocking(move || measure(&e, &region)).await {
                    measured.insert(status.region.id, (m.bytes, m.keys, status.written));
                    let too_big = m.bytes > cfg.region_split_size || m.keys > cfg.region_split_keys;
                    let at = m.table_split.or(m.middle.filter(|_| too_big));
                    if let Some(key) = at {
                        split(&router, &pd, &status.region, key).await;
                        continue;
                    }
                }
            }
            let (bytes, keys, _) = measured.get(&status.region.id).copied().unwrap_or_default();
            let req = RegionHeartbeatRequest {
                region: Some(status.region.clone()),
                leader: Some(status.peer),
                pending_peers: status.pending_peers.clone(),
                approximate_size: bytes,
                approximate_keys: keys,
                ..Default::default()
            };
            if let Ok(resp) = pd.region_heartbeat(req).await {
                let region = status.region.clone();
                let middle = move || measure(&engine, &region).middle;
                follow(&router, &pd, middle, status, resp).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codec::table::{Key, encode_index_key, encode_row_key, encode_table_prefix};

    fn boundary(raw_keys: &[Vec<u8>]) -> Option<Vec<u8>> {
        let mut tables = TableBoundary::default();
        for raw in raw_keys {
            tables.next(&codec::mvcc::encode_key(raw));
        }
        tables.found
    }

    fn row(table: i64, handle: i64) -> Vec<u8> {
        let mut k = Vec::new();
        encode_row_key(&mut k, table, handle);
        k
    }

    fn table_start(table: i64) -> Vec<u8> {
        let mut k = Vec::new();
        encode_table_prefix(&mut k, table);
        codec::mvcc::encode_key(&k)
    }

    #[test]
    fn a_region_splits_where_its_second_table_begins() {
        let mut index = Vec::new();
        encode_index_key(&mut index, 5, 1, &[codec::datum::Datum::I64(3)]);
        let meta = Key::Meta { key: b"schema".to_vec(), field: None }.encode();
        // Rows and an index of one table: nothing to split.
        assert_eq!(boundary(&[index.clone(), row(5, 1), row(5, 2)]), None);
        // Table 5's keys after table 3's.
        let keys = [row(3, 1), row(3, 9), index.clone(), row(5, 1), row(7, 1)];
        let at = boundary(&keys).unwrap();
        assert_eq!(at, table_start(5));
        assert!(codec::mvcc::encode_key(&row(3, 9)) < at);
        assert!(at < codec::mvcc::encode_key(&index));
        // Meta keys, then a table.
        assert_eq!(boundary(&[meta, row(9, 1)]), Some(table_start(9)));
    }
}
