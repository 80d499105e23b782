//! How a client reaches the store that leads a region.

use async_trait::async_trait;
use proto::grpc::KvClient;
use proto::pdrpc::GetStoreRequest;
use proto::{KvService, PdService, RpcError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The stores of a cluster, by id.
#[async_trait]
pub trait Stores: Send + Sync + 'static {
    /// The service of store `store_id`.
    async fn store(&self, store_id: u64) -> Result<Arc<dyn KvService>, RpcError>;
    /// The store could not be reached: look its address up again next time.
    fn forget(&self, _store_id: u64) {}
}

/// A cluster of one store (the playground): every region is there.
pub struct OneStore(pub Arc<dyn KvService>);

#[async_trait]
impl Stores for OneStore {
    async fn store(&self, _store_id: u64) -> Result<Arc<dyn KvService>, RpcError> {
        Ok(self.0.clone())
    }
}

/// Stores reached over gRPC at the addresses PD gives.
pub struct PdStores {
    pd: Arc<dyn PdService>,
    clients: RwLock<HashMap<u64, Arc<dyn KvService>>>,
}

impl PdStores {
    /// Stores as `pd` knows them.
    pub fn new(pd: Arc<dyn PdService>) -> Self {
        Self {
            pd,
            clients: RwLock::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl Stores for PdStores {
    async fn store(&self, store_id: u64) -> Result<Arc<dyn KvService>, RpcError> {
        if let Some(client) = self
            .clients
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&store_id)
        {
            return Ok(client.clone());
        }
        let store = self
            .pd
            .get_store(GetStoreRequest { store_id })
            .await?
            .store
            .ok_or_else(|| RpcError::Unavailable(format!("store {store_id} unknown")))?;
        let client: Arc<dyn KvService> = Arc::new(KvClient::new(&store.address)?);
        self.clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(store_id, client.clone());
        Ok(client)
    }

    fn forget(&self, store_id: u64) {
        self.clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&store_id);
    }
}
