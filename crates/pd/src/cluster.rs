//! The cluster's members: id allocation, bootstrap, stores and their
//! heartbeats.

use crate::meta::{self, Key};
use crate::{Error, Result};
use proto::pdrpc::{Store, StoreState};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use storage::Engine;

/// Ids are persisted this many ahead, so allocation rarely writes.
const ID_WINDOW: u64 = 1000;

/// A store without a heartbeat for this long (three missed beats at the
/// default interval) is disconnected: it gets no new replicas and leaders.
const DISCONNECTED_AFTER: Duration = Duration::from_secs(3);

/// What PD knows of a store beyond its persisted address.
struct StoreInfo {
    store: Store,
    /// When its last heartbeat came (since PD started: a store PD has not
    /// heard from since its restart counts from the restart).
    last_heartbeat: Instant,
    heard: bool,
    region_count: u32,
    leader_count: u32,
}

/// Stores, ids and the bootstrap mark.
pub struct Cluster<E: Engine> {
    engine: E,
    started: Instant,
    ids: Mutex<(u64, u64)>,
    stores: Mutex<HashMap<u64, StoreInfo>>,
    /// How long a store may be silent before its replicas are replaced.
    pub max_store_down_time: Duration,
}

impl<E: Engine> Cluster<E> {
    /// Load the cluster's members from `engine`.
    pub fn open(engine: E, max_store_down_time: Duration) -> Result<Self> {
        let limit = meta::get_u64(&engine, Key::IdLimit)?.unwrap_or(0);
        let started = Instant::now();
        let stores = meta::scan::<E, Store>(&engine, Key::Store(0))?
            .into_iter()
            .map(|store| {
                let info = StoreInfo {
                    store: store.clone(),
                    last_heartbeat: started,
                    heard: false,
                    region_count: 0,
                    leader_count: 0,
                };
                (store.id, info)
            })
            .collect();
        Ok(Self {
            engine,
            started,
            ids: Mutex::new((limit, limit)),
            stores: Mutex::new(stores),
            max_store_down_time,
        })
    }

    /// `count` fresh ids; returns the first.
    pub fn alloc_ids(&self, count: u32) -> Result<u64> {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        let (next, limit) = *ids;
        let first = next + 1;
        let last = next + u64::from(count.max(1));
        if last > limit {
            let limit = last + ID_WINDOW;
            meta::put_u64(&self.engine, Key::IdLimit, limit)?;
            ids.1 = limit;
        }
        ids.0 = last;
        Ok(first)
    }

    /// The cluster's first region, once bootstrapped.
    pub fn first_region(&self) -> Result<Option<u64>> {
        meta::get_u64(&self.engine, Key::Bootstrapped)
    }

    /// Mark the cluster bootstrapped (once).
    pub fn mark_bootstrapped(&self, first_region: u64) -> Result<()> {
        meta::put_u64(&self.engine, Key::Bootstrapped, first_region)
    }

    /// Record a store's address (a new store, or one that moved).
    pub fn put_store(&self, store: Store) -> Result<()> {
        if store.id == 0 || store.address.is_empty() {
            return Err(Error::Invalid("a store needs an id and an address".into()));
        }
        let stored = Store {
            id: store.id,
            address: store.address.clone(),
            status_address: store.status_address.clone(),
            ..Default::default()
        };
        meta::put(&self.engine, Key::Store(store.id), &stored, true)?;
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let info = stores.entry(store.id).or_insert_with(|| StoreInfo {
            store: stored.clone(),
            last_heartbeat: now,
            heard: true,
            region_count: 0,
            leader_count: 0,
        });
        info.store = stored;
        info.last_heartbeat = now;
        info.heard = true;
        Ok(())
    }

    /// A store's heartbeat.
    pub fn store_heartbeat(
        &self,
        store_id: u64,
        region_count: u32,
        leader_count: u32,
    ) -> Result<()> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let info = stores
            .get_mut(&store_id)
            .ok_or_else(|| Error::Invalid(format!("unknown store {store_id}")))?;
        info.last_heartbeat = Instant::now();
        info.heard = true;
        info.region_count = region_count;
        info.leader_count = leader_count;
        Ok(())
    }

    fn state(&self, info: &StoreInfo, now: Instant) -> StoreState {
        let silent = now.saturating_duration_since(info.last_heartbeat);
        if silent >= self.max_store_down_time {
            StoreState::Down
        } else if silent >= DISCONNECTED_AFTER {
            StoreState::Disconnected
        } else {
            StoreState::Up
        }
    }

    fn describe(&self, info: &StoreInfo, now: Instant) -> Store {
        let mut store = info.store.clone();
        store.set_state(self.state(info, now));
        store.last_heartbeat_ago_ms = if info.heard {
            now.saturating_duration_since(info.last_heartbeat)
                .as_millis() as u64
        } else {
            now.saturating_duration_since(self.started).as_millis() as u64
        };
        store.region_count = info.region_count;
        store.leader_count = info.leader_count;
        store
    }

    /// One store, with its state.
    pub fn store(&self, id: u64) -> Option<Store> {
        let stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        stores
            .get(&id)
            .map(|info| self.describe(info, Instant::now()))
    }

    /// Every store, with its state, by id.
    pub fn stores(&self) -> Vec<Store> {
        let stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut out: Vec<Store> = stores.values().map(|i| self.describe(i, now)).collect();
        out.sort_by_key(|s| s.id);
        out
    }

    /// Count a leader moving between stores at once, before their next
    /// heartbeats say so, so one round of balancing does not overshoot.
    pub fn move_leader(&self, from: u64, to: u64) {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(info) = stores.get_mut(&from) {
            info.leader_count = info.leader_count.saturating_sub(1);
        }
        if let Some(info) = stores.get_mut(&to) {
            info.leader_count += 1;
        }
    }
}
