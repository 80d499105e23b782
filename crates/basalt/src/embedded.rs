//! The embedded cluster: PD and one store in this process, called through
//! the same service traits a multi-process cluster uses over gRPC. The
//! store runs the same raftstore as a cluster's, with one replica per
//! region and no one to send Raft messages to.
//!
//! Layout of the data directory:
//!
//! ```text
//! DIR/pd/   PD's engine (the TSO window)
//! DIR/kv/   the store's engine (data families and the raft family)
//! ```

use anyhow::Context as _;
use kv_client::Client;
use kv_server::{KvNode, TxnApply};
use pd::Pd;
use proto::kvrpc::{Peer, Region};
use proto::raftpb::RaftMessage;
use proto::{KvService, PdService};
use raftstore::store::Transport;
use raftstore::{Msg, Router, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{EngineConfig, FjallEngine};
use txn::TxnStore;

/// The store id of the embedded store.
const STORE_ID: u64 = 1;

/// A store alone has no peers to message.
struct Alone;

impl Transport for Alone {
    fn send(&mut self, _msg: RaftMessage) {}
}

/// PD and a store, open on a data directory.
pub struct Embedded {
    engine: FjallEngine,
    kv: Arc<dyn KvService>,
    pd: Arc<dyn PdService>,
    router: Router,
    poller: Option<std::thread::JoinHandle<()>>,
}

impl Embedded {
    /// Open (or create) the cluster in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let pd_engine = FjallEngine::open(EngineConfig::new(dir.join("pd")))
            .with_context(|| format!("opening PD data in {}", dir.display()))?;
        let engine = FjallEngine::open(EngineConfig::new(dir.join("kv")))
            .with_context(|| format!("opening store data in {}", dir.display()))?;
        if raftstore::peer_storage::load_regions(&engine)?.is_empty() {
            let first = kv_server::node::first_region(
                1,
                Peer {
                    id: 1,
                    store_id: STORE_ID,
                },
            );
            Store::<FjallEngine, Alone>::bootstrap(&engine, &first)?;
        }
        let txn = Arc::new(TxnStore::open(engine.clone()).context("loading the store's locks")?);
        let (store, router) = Store::open(
            raftstore::Config::default(),
            STORE_ID,
            engine.clone(),
            Alone,
            Arc::new(TxnApply(txn.clone())),
        )?;
        let poller = std::thread::Builder::new()
            .name("raftstore".into())
            .spawn(move || store.run())?;
        let pd = Pd::open(
            pd_engine,
            pd::PdConfig {
                schedule: pd::ScheduleConfig {
                    max_replicas: 1,
                    balance_leaders: false,
                },
                ..Default::default()
            },
        )?;
        // The store leads all its regions: PD hears so from here, not from
        // heartbeats.
        for region in router.regions() {
            let leader = region.peers.first().copied();
            pd.report_region(pd::RegionInfo {
                region: Region::clone(&region),
                leader,
                ..Default::default()
            })?;
        }
        let pd: Arc<dyn PdService> = Arc::new(pd);
        let embedded = Self {
            engine,
            kv: Arc::new(KvNode::new(txn, router.clone(), pd.clone())),
            pd,
            router,
            poller: Some(poller),
        };
        embedded.wait_for_leaders(Duration::from_secs(10))?;
        Ok(embedded)
    }

    /// Wait until the store leads every region (its peers campaign at once
    /// when they are their region's only voter).
    fn wait_for_leaders(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        for region in self.router.regions() {
            let delegate = self.router.delegate(region.id).context("region vanished")?;
            while delegate.leader_term() == 0 {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "region {} elected no leader",
                    region.id
                );
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    /// A KV client over this cluster, its calls counted and timed as a
    /// cluster's stores and PD count theirs. Needs a tokio runtime.
    pub fn client(&self, config: kv_client::Config) -> Client {
        Client::new(
            proto::grpc::MeasuredPd::wrap(self.pd.clone()),
            Arc::new(kv_client::OneStore(proto::grpc::MeasuredKv::wrap(
                self.kv.clone(),
            ))),
            config,
        )
    }

    /// The store's service, for tests that drive the protocol step by step.
    pub fn kv(&self) -> Arc<dyn KvService> {
        self.kv.clone()
    }

    /// The store's engine, for tests and maintenance.
    pub fn engine(&self) -> &FjallEngine {
        &self.engine
    }

    /// The request context of the region holding every key.
    pub fn context(&self) -> proto::kvrpc::Context {
        let region = self
            .router
            .regions()
            .pop()
            .expect("the store holds a region");
        proto::kvrpc::Context {
            region_id: region.id,
            region_epoch: region.epoch,
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = self.router.send(Msg::Stop);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}
