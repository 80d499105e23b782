//! How the rest of a store reaches its poller, and the lock-free lease
//! check that keeps most reads off the poller thread.

use crate::store::Msg;
use crate::{Error, Result};
use arc_swap::ArcSwap;
use proto::kvrpc::{Peer as PeerMeta, Region, RegionEpoch};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::time::Instant;

/// What a peer publishes for readers: its region, whether it leads, and
/// until when its lease holds. Written by the poller, read by any thread.
pub struct ReadDelegate {
    region: ArcSwap<Region>,
    /// The term this peer leads in, once it has applied an entry of that
    /// term (before that its state may lack the last leader's writes); 0
    /// when it does not lead.
    term: AtomicU64,
    /// Nanoseconds since the store's clock base until which the lease holds.
    lease_until: AtomicU64,
    /// The leader's peer id as last known (0: unknown).
    leader: AtomicU64,
    /// The leader term in which the layer above last prepared for this
    /// peer's leadership (the transactional store raises its highest read
    /// timestamp past the previous leaders' reads before it commits in one
    /// phase).
    prepared_term: AtomicU64,
}

/// What a read may do now.
#[derive(Debug)]
pub enum ReadCheck {
    /// The lease holds: read the local engine.
    Local,
    /// Lead, but no lease: confirm leadership with a ReadIndex round first.
    ReadIndex,
}

impl ReadDelegate {
    pub(crate) fn new(region: Region) -> Self {
        Self {
            region: ArcSwap::from_pointee(region),
            term: AtomicU64::new(0),
            lease_until: AtomicU64::new(0),
            leader: AtomicU64::new(0),
            prepared_term: AtomicU64::new(0),
        }
    }

    /// The term this peer leads in (0: it does not lead, or not yet).
    pub fn leader_term(&self) -> u64 {
        self.term.load(Ordering::Acquire)
    }

    /// Whether [`set_prepared`](Self::set_prepared) was called in `term`.
    pub fn prepared(&self, term: u64) -> bool {
        self.prepared_term.load(Ordering::Acquire) == term
    }

    /// Record that the layer above prepared for leadership in `term`.
    pub fn set_prepared(&self, term: u64) {
        self.prepared_term.fetch_max(term, Ordering::AcqRel);
    }

    /// The region as this store's peer knows it.
    pub fn region(&self) -> Arc<Region> {
        self.region.load_full()
    }

    /// The region, borrowed: no reference count is touched, so readers on
    /// many threads do not contend on one cache line.
    pub fn region_guard(&self) -> arc_swap::Guard<Arc<Region>> {
        self.region.load()
    }

    /// Whether this peer leads with a lease covering `now_ns`.
    pub fn lease_covers(&self, now_ns: u64) -> bool {
        self.term.load(Ordering::Acquire) != 0 && now_ns < self.lease_until.load(Ordering::Acquire)
    }

    pub(crate) fn set_region(&self, region: Region) {
        self.region.store(Arc::new(region));
    }

    pub(crate) fn publish(&self, term: u64, lease_until: u64, leader: u64) {
        // Lease first when dropping it, term first when granting: a reader
        // seeing both set sees a lease of the current term.
        self.lease_until.store(lease_until, Ordering::Release);
        self.term.store(term, Ordering::Release);
        self.leader.store(leader, Ordering::Release);
    }

    /// The leader as last known, for a `NotLeader` answer.
    pub fn leader(&self) -> Option<PeerMeta> {
        let id = self.leader.load(Ordering::Acquire);
        self.region
            .load()
            .peers
            .iter()
            .find(|p| p.id == id)
            .cloned()
    }

    /// Whether a read with `epoch` at `now_ns` may be served, and how.
    pub fn check(&self, epoch: Option<&RegionEpoch>, now_ns: u64) -> Result<ReadCheck> {
        let region = self.region.load();
        if epoch != region.epoch.as_ref() {
            return Err(Error::EpochNotMatch(vec![Region::clone(&region)]));
        }
        if self.term.load(Ordering::Acquire) == 0 {
            return Err(Error::NotLeader {
                region_id: region.id,
                leader: self.leader(),
            });
        }
        if now_ns < self.lease_until.load(Ordering::Acquire) {
            Ok(ReadCheck::Local)
        } else {
            Ok(ReadCheck::ReadIndex)
        }
    }
}

/// A handle to a store's poller: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Router {
    tx: Sender<Msg>,
    delegates: Arc<ArcSwap<HashMap<u64, Arc<ReadDelegate>>>>,
    base: Instant,
}

impl Router {
    pub(crate) fn new(tx: Sender<Msg>, base: Instant) -> Self {
        Self {
            tx,
            delegates: Arc::new(ArcSwap::from_pointee(HashMap::new())),
            base,
        }
    }

    /// Hand a message to the poller.
    pub fn send(&self, msg: Msg) -> Result<()> {
        self.tx.send(msg).map_err(|_| Error::Stopped)
    }

    /// The read delegate of a region this store holds a peer of.
    pub fn delegate(&self, region_id: u64) -> Option<Arc<ReadDelegate>> {
        self.delegates.load().get(&region_id).cloned()
    }

    /// Every delegate, borrowed (the per-read lookup, without touching a
    /// shared reference count).
    pub fn delegates(&self) -> arc_swap::Guard<Arc<HashMap<u64, Arc<ReadDelegate>>>> {
        self.delegates.load()
    }

    /// Every region this store holds a peer of, as its delegates know them.
    pub fn regions(&self) -> Vec<Arc<Region>> {
        self.delegates.load().values().map(|d| d.region()).collect()
    }

    /// `region` and its neighbours on this store: what a client with a stale
    /// epoch needs to route again at once. Right after a split PD has not
    /// heard of the new half yet, so without the neighbours the client's
    /// next look-up would find nothing, or the old undivided region.
    pub fn current_regions(&self, region: &Region) -> Vec<Region> {
        let next_to = |r: &Region| {
            (!region.end_key.is_empty() && r.start_key == region.end_key)
                || (!region.start_key.is_empty() && r.end_key == region.start_key)
        };
        let mut out = vec![region.clone()];
        out.extend(
            self.delegates
                .load()
                .values()
                .map(|d| d.region())
                .filter(|r| next_to(r))
                .map(|r| Region::clone(&r)),
        );
        out
    }

    /// Nanoseconds from the store's clock base to `now`: the unit of leases.
    pub fn nanos(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.base).as_nanos() as u64
    }

    pub(crate) fn insert_delegate(&self, region_id: u64, delegate: Arc<ReadDelegate>) {
        self.delegates.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.insert(region_id, delegate.clone());
            map
        });
    }

    pub(crate) fn remove_delegate(&self, region_id: u64) {
        self.delegates.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.remove(&region_id);
            map
        });
    }
}
