//! The placement driver: the cluster's clock and map.
//!
//! Today it hands out timestamps ([`tso`]) and answers which region holds a
//! key ([`region`]). Scheduling (moving replicas and leaders) comes with the
//! multi-store cluster.

pub mod region;
pub mod tso;

use async_trait::async_trait;
use proto::kvrpc::Region;
use proto::pdrpc::{GetRegionRequest, GetRegionResponse, TsoRequest, TsoResponse};
use proto::{PdService, RpcError};
use storage::Engine;

pub use region::RegionMap;
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
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// A PD server, called in-process or (later) behind gRPC.
pub struct Pd<E: Engine> {
    tso: Tso<E>,
    regions: RegionMap,
}

impl<E: Engine> Pd<E> {
    /// Serve timestamps persisted in `engine` and the given initial regions,
    /// each with its leader's store id.
    pub fn open(engine: E, regions: Vec<(Region, u64)>) -> Result<Self> {
        Ok(Self {
            tso: Tso::open(engine)?,
            regions: RegionMap::new(regions),
        })
    }

    /// The timestamp oracle.
    pub fn tso(&self) -> &Tso<E> {
        &self.tso
    }
}

#[async_trait]
impl<E: Engine> PdService for Pd<E> {
    async fn tso(&self, req: TsoRequest) -> std::result::Result<TsoResponse, RpcError> {
        let first_ts = self
            .tso
            .allocate(req.count.max(1))
            .map_err(|e| RpcError::Internal(e.to_string()))?;
        Ok(TsoResponse {
            first_ts,
            count: req.count.max(1),
        })
    }

    async fn get_region(
        &self,
        req: GetRegionRequest,
    ) -> std::result::Result<GetRegionResponse, RpcError> {
        let (region, leader_store_id) = self
            .regions
            .locate(&req.key)
            .ok_or_else(|| RpcError::Internal("no region covers the key".into()))?;
        Ok(GetRegionResponse {
            region: Some(region),
            leader_store_id,
        })
    }
}
