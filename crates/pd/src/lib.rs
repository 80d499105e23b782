//! The placement driver: the cluster's clock, map and scheduler.
//!
//! - [`tso`]: strictly increasing timestamps, persisted a window ahead;
//! - [`cluster`]: id allocation, bootstrap, stores and their heartbeats;
//! - [`region`]: every region with its leader, from the leaders' heartbeats;
//! - [`schedule`]: the operators handed back in heartbeat responses (keep
//!   the replica count, replace replicas of dead stores, spread leaders);
//! - [`deadlock`]: the cluster's wait-for graph of lock waiters;
//! - [`meta`]: PD's own persisted state, so it survives a restart.

pub mod cluster;
pub mod deadlock;
pub mod meta;
pub mod region;
pub mod schedule;
pub mod tso;

use async_trait::async_trait;
use proto::kvrpc::Peer;
use proto::pdrpc::*;
use proto::{PdService, RpcError};
use std::sync::Mutex;
use std::time::Duration;
use storage::Engine;

pub use cluster::Cluster;
pub use region::{RegionInfo, RegionMap, Update};
pub use schedule::{Operator, ScheduleConfig, Scheduler};
pub use tso::Tso;

/// Why PD failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// PD's own storage failed.
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// PD's persisted state does not decode.
    #[error("corrupt PD state: {0}")]
    Corrupt(&'static str),
    /// A request PD cannot carry out.
    #[error("{0}")]
    Invalid(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// PD's settings.
#[derive(Clone, Debug)]
pub struct PdConfig {
    /// How long a store may be silent before its replicas are replaced.
    pub max_store_down_time: Duration,
    /// The schedulers' settings.
    pub schedule: ScheduleConfig,
}

impl Default for PdConfig {
    fn default() -> Self {
        Self {
            max_store_down_time: Duration::from_secs(30 * 60),
            schedule: ScheduleConfig::default(),
        }
    }
}

/// A PD server, called in-process or behind gRPC.
pub struct Pd<E: Engine> {
    engine: E,
    config: PdConfig,
    tso: Tso<E>,
    cluster: Cluster<E>,
    regions: RegionMap,
    scheduler: Scheduler,
    bootstrap: Mutex<()>,
    /// Touched only by lock waits, never by a request that does not wait.
    waits: Mutex<deadlock::WaitForGraph>,
}

fn internal(e: Error) -> RpcError {
    RpcError::Internal(e.to_string())
}

impl<E: Engine> Pd<E> {
    /// Serve the cluster whose state `engine` holds (empty: a new cluster).
    pub fn open(engine: E, config: PdConfig) -> Result<Self> {
        let regions = RegionMap::default();
        for r in meta::scan::<E, RegionWithLeader>(&engine, meta::Key::Region(0))? {
            let region = r.region.unwrap_or_default();
            let leader = region
                .peers
                .iter()
                .find(|p| p.store_id == r.leader_store_id)
                .copied();
            regions.update(RegionInfo {
                region,
                leader,
                ..Default::default()
            });
        }
        Ok(Self {
            tso: Tso::open(engine.clone())?,
            cluster: Cluster::open(engine.clone(), config.max_store_down_time)?,
            engine,
            config,
            regions,
            scheduler: Scheduler::default(),
            bootstrap: Mutex::new(()),
            waits: Mutex::default(),
        })
    }

    /// The timestamp oracle.
    pub fn tso(&self) -> &Tso<E> {
        &self.tso
    }

    /// Learn a region (from a heartbeat), persisting what changed.
    /// Returns whether the report was current (not older than the map).
    pub fn report_region(&self, info: RegionInfo) -> Result<bool> {
        let id = info.region.id;
        let record = RegionWithLeader {
            leader_store_id: info.leader_store(),
            region: Some(info.region.clone()),
        };
        match self.regions.update(info) {
            Update::Stale => Ok(false),
            Update::Unchanged => Ok(true),
            Update::Changed => {
                meta::put(&self.engine, meta::Key::Region(id), &record, false)?;
                Ok(true)
            }
        }
    }

    fn region_reply(info: RegionInfo) -> GetRegionResponse {
        GetRegionResponse {
            leader_store_id: info.leader_store(),
            region: Some(info.region),
        }
    }
}

#[async_trait]
impl<E: Engine> PdService for Pd<E> {
    async fn tso(&self, req: TsoRequest) -> std::result::Result<TsoResponse, RpcError> {
        let first_ts = self.tso.allocate(req.count.max(1)).map_err(internal)?;
        Ok(TsoResponse {
            first_ts,
            count: req.count.max(1),
        })
    }

    async fn get_region(
        &self,
        req: GetRegionRequest,
    ) -> std::result::Result<GetRegionResponse, RpcError> {
        // A key no region holds yet: the bootstrap or a split is under way.
        let info = self.regions.locate(&req.key);
        info.map(Self::region_reply)
            .ok_or_else(|| RpcError::Unavailable("PD knows no such region yet".into()))
    }

    async fn get_region_by_id(
        &self,
        req: GetRegionByIdRequest,
    ) -> std::result::Result<GetRegionResponse, RpcError> {
        // An id PD has not heard of is an answer (no region), not an outage.
        let info = self.regions.get(req.region_id);
        Ok(info.map(Self::region_reply).unwrap_or_default())
    }

    async fn scan_regions(
        &self,
        req: ScanRegionsRequest,
    ) -> std::result::Result<ScanRegionsResponse, RpcError> {
        let regions = self
            .regions
            .scan(&req.start_key, &req.end_key, req.limit as usize)
            .into_iter()
            .map(|info| RegionWithLeader {
                leader_store_id: info.leader_store(),
                region: Some(info.region),
            })
            .collect();
        Ok(ScanRegionsResponse { regions })
    }

    async fn alloc_id(
        &self,
        req: AllocIdRequest,
    ) -> std::result::Result<AllocIdResponse, RpcError> {
        let first_id = self.cluster.alloc_ids(req.count.max(1)).map_err(internal)?;
        Ok(AllocIdResponse { first_id })
    }

    async fn bootstrap(
        &self,
        req: BootstrapRequest,
    ) -> std::result::Result<BootstrapResponse, RpcError> {
        let _one_at_a_time = self.bootstrap.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(first_region_id) = self.cluster.first_region().map_err(internal)? {
            return Ok(BootstrapResponse {
                already_bootstrapped: true,
                first_region_id,
            });
        }
        let store = req.store.unwrap_or_default();
        let region = req.region.unwrap_or_default();
        self.cluster.put_store(store).map_err(internal)?;
        self.report_region(RegionInfo {
            region: region.clone(),
            ..Default::default()
        })
        .map_err(internal)?;
        self.cluster
            .mark_bootstrapped(region.id)
            .map_err(internal)?;
        Ok(BootstrapResponse {
            already_bootstrapped: false,
            first_region_id: region.id,
        })
    }

    async fn put_store(
        &self,
        req: PutStoreRequest,
    ) -> std::result::Result<PutStoreResponse, RpcError> {
        self.cluster
            .put_store(req.store.unwrap_or_default())
            .map_err(internal)?;
        Ok(PutStoreResponse {})
    }

    async fn get_store(
        &self,
        req: GetStoreRequest,
    ) -> std::result::Result<GetStoreResponse, RpcError> {
        let store = self
            .cluster
            .store(req.store_id)
            .ok_or_else(|| RpcError::Unavailable(format!("store {} unknown", req.store_id)))?;
        Ok(GetStoreResponse { store: Some(store) })
    }

    async fn get_all_stores(
        &self,
        _req: GetAllStoresRequest,
    ) -> std::result::Result<GetAllStoresResponse, RpcError> {
        Ok(GetAllStoresResponse {
            stores: self.cluster.stores(),
        })
    }

    async fn store_heartbeat(
        &self,
        req: StoreHeartbeatRequest,
    ) -> std::result::Result<StoreHeartbeatResponse, RpcError> {
        self.cluster
            .store_heartbeat(req.store_id, req.region_count, req.leader_count)
            .map_err(internal)?;
        Ok(StoreHeartbeatResponse {})
    }

    async fn region_heartbeat(
        &self,
        req: RegionHeartbeatRequest,
    ) -> std::result::Result<RegionHeartbeatResponse, RpcError> {
        let info = RegionInfo::from(&req);
        let mut resp = RegionHeartbeatResponse {
            region_id: info.region.id,
            region_epoch: info.region.epoch,
            ..Default::default()
        };
        if !self.report_region(info.clone()).map_err(internal)? {
            return Ok(resp);
        }
        let stores = self.cluster.stores();
        let op = self
            .scheduler
            .next(&info, &stores, &self.config.schedule, || {
                self.cluster.alloc_ids(1).ok()
            });
        if let Some((op, new)) = op {
            if let (Operator::TransferLeader(to), true) = (&op, new) {
                self.cluster.move_leader(info.leader_store(), to.store_id);
            }
            op.fill(&mut resp);
        }
        Ok(resp)
    }

    async fn ask_split(
        &self,
        req: AskSplitRequest,
    ) -> std::result::Result<AskSplitResponse, RpcError> {
        let region = req.region.unwrap_or_default();
        let n = region.peers.len() as u32;
        let first = self.cluster.alloc_ids(n + 1).map_err(internal)?;
        Ok(AskSplitResponse {
            new_region_id: first,
            new_peer_ids: (1..=u64::from(n)).map(|i| first + i).collect(),
        })
    }

    async fn wait_for(
        &self,
        req: WaitForRequest,
    ) -> std::result::Result<WaitForResponse, RpcError> {
        let mut waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        if req.holder == 0 {
            waits.end_wait(req.waiter);
            return Ok(WaitForResponse { deadlock: false });
        }
        let ttl = Duration::from_millis(req.ttl_ms);
        let recorded = waits.begin_wait(req.waiter, req.holder, ttl, std::time::Instant::now());
        Ok(WaitForResponse {
            deadlock: !recorded,
        })
    }

    async fn add_operator(
        &self,
        req: AddOperatorRequest,
    ) -> std::result::Result<AddOperatorResponse, RpcError> {
        let region = self
            .regions
            .get(req.region_id)
            .ok_or_else(|| RpcError::Internal(format!("region {} unknown", req.region_id)))?;
        let peer =
            |p: Option<Peer>| p.ok_or_else(|| RpcError::Internal("operator without a peer".into()));
        let op = match req.kind {
            Some(add_operator_request::Kind::TransferLeader(t)) => {
                Operator::TransferLeader(peer(t.peer)?)
            }
            Some(add_operator_request::Kind::Split(s)) => Operator::Split(s.split_key),
            Some(add_operator_request::Kind::ChangePeer(c)) => match c.change_type() {
                ChangeType::AddPeer => Operator::AddPeer(peer(c.peer)?),
                ChangeType::RemovePeer => Operator::RemovePeer(peer(c.peer)?),
            },
            None => return Err(RpcError::Internal("no operator given".into())),
        };
        self.scheduler.add(&region, op);
        Ok(AddOperatorResponse {})
    }
}
