//! The embedded cluster: PD and one store in this process, called through
//! the same service traits a multi-process cluster uses over gRPC.
//!
//! Layout of the data directory:
//!
//! ```text
//! DIR/pd/   PD's engine (the TSO window)
//! DIR/kv/   the store's engine (default, lock, write, raft families)
//! ```

use anyhow::Context as _;
use kv_client::Client;
use kv_server::KvNode;
use pd::Pd;
use proto::kvrpc::{Region, RegionEpoch};
use proto::{KvService, PdService};
use std::path::Path;
use std::sync::Arc;
use storage::{EngineConfig, FjallEngine};
use txn::TxnStore;

/// The store id of the embedded store.
const STORE_ID: u64 = 1;

/// The one region of the embedded store: all keys, at its first epoch.
fn whole_key_space() -> Region {
    Region {
        id: 1,
        start_key: Vec::new(),
        end_key: Vec::new(),
        epoch: Some(RegionEpoch {
            conf_ver: 1,
            version: 1,
        }),
        peers: Vec::new(),
    }
}

/// PD and a store, open on a data directory.
pub struct Embedded {
    engine: FjallEngine,
    kv: Arc<dyn KvService>,
    pd: Arc<dyn PdService>,
}

impl Embedded {
    /// Open (or create) the cluster in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let pd_engine = FjallEngine::open(EngineConfig::new(dir.join("pd")))
            .with_context(|| format!("opening PD data in {}", dir.display()))?;
        let engine = FjallEngine::open(EngineConfig::new(dir.join("kv")))
            .with_context(|| format!("opening store data in {}", dir.display()))?;
        let region = whole_key_space();
        let pd = Pd::open(pd_engine, vec![(region.clone(), STORE_ID)])?;
        let store = Arc::new(TxnStore::open(engine.clone()).context("loading the store's locks")?);
        Ok(Self {
            engine,
            kv: Arc::new(KvNode::new(store, region)),
            pd: Arc::new(pd),
        })
    }

    /// A KV client over this cluster. Needs a tokio runtime.
    pub fn client(&self, config: kv_client::Config) -> Client {
        Client::new(self.pd.clone(), self.kv.clone(), config)
    }

    /// The store's service, for tests that drive the protocol step by step.
    pub fn kv(&self) -> Arc<dyn KvService> {
        self.kv.clone()
    }

    /// The store's engine, for tests and maintenance.
    pub fn engine(&self) -> &FjallEngine {
        &self.engine
    }

    /// The request context of the embedded region.
    pub fn context(&self) -> proto::kvrpc::Context {
        let region = whole_key_space();
        proto::kvrpc::Context {
            region_id: region.id,
            region_epoch: region.epoch,
        }
    }
}
