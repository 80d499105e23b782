//! Which region serves a key: a cache of PD's region map, corrected by the
//! region errors stores answer with.
//!
//! Regions are ranges of *encoded* keys (see [`codec::mvcc::encode_key`]);
//! callers pass raw keys. The cache is a copy-on-write map published through
//! an `ArcSwap`, so the per-request lookup takes no lock at all; only a miss
//! or a stale route (rare) copies the map.

use crate::backoff::Backoff;
use crate::metrics::BackoffReason;
use crate::{Error, PD_PATIENCE, Result};
use arc_swap::ArcSwap;
use codec::mvcc::{decode_key, encode_key, encode_key_into};
use proto::kvrpc::{Context, Region, RegionError, region_error::Kind};
use proto::pdrpc::{GetRegionByIdRequest, GetRegionRequest, GetRegionResponse};
use proto::{PdService, RpcError};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A region and its leader's store, as last learned.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionInfo {
    /// The region descriptor.
    pub region: Region,
    /// The store id of its leader.
    pub leader_store: u64,
}

impl RegionInfo {
    /// The request context naming this region and epoch.
    pub fn context(&self) -> Context {
        Context {
            region_id: self.region.id,
            region_epoch: self.region.epoch,
        }
    }

    fn contains_encoded(&self, encoded: &[u8]) -> bool {
        encoded >= self.region.start_key.as_slice()
            && (self.region.end_key.is_empty() || encoded < self.region.end_key.as_slice())
    }

    /// The raw start key of the region.
    pub fn start_raw(&self) -> Result<Vec<u8>> {
        if self.region.start_key.is_empty() {
            return Ok(Vec::new());
        }
        decode_key(&self.region.start_key)
            .map_err(|e| Error::Refused(format!("bad region boundary: {e}")))
    }

    /// The raw end key of the region, `None` for the last region.
    pub fn end_raw(&self) -> Result<Option<Vec<u8>>> {
        if self.region.end_key.is_empty() {
            return Ok(None);
        }
        decode_key(&self.region.end_key)
            .map(Some)
            .map_err(|e| Error::Refused(format!("bad region boundary: {e}")))
    }
}

/// The region PD answered with, if any, and its leader's store.
fn region_info(resp: GetRegionResponse) -> Option<RegionInfo> {
    Some(RegionInfo {
        region: resp.region?,
        leader_store: resp.leader_store_id,
    })
}

/// Whether `a` is a later state of the key range `b` overlaps: splits raise
/// the epoch's version of both halves, membership changes the conf_ver of
/// one region.
fn newer(a: &Region, b: &Region) -> bool {
    let (ea, eb) = (a.epoch.unwrap_or_default(), b.epoch.unwrap_or_default());
    ea.version > eb.version
        || (a.id == b.id && ea.version == eb.version && ea.conf_ver > eb.conf_ver)
}

/// The error a request to an unreachable store counts as: the region's
/// leader there is unknown, so the next replica is tried.
pub fn unreachable(region: &RegionInfo, why: String) -> RegionError {
    RegionError {
        message: format!("store {} unreachable: {why}", region.leader_store),
        kind: Some(Kind::NotLeader(proto::kvrpc::NotLeader {
            region_id: region.region.id,
            leader: None,
            store_id: region.leader_store,
        })),
    }
}

/// How long a store that failed to answer is passed over when choosing
/// a region's leader: about the time its regions take to elect new
/// leaders (an election timeout of 2-4 s) and for their followers to stop
/// naming it.
const SUSPECT_FOR: Duration = Duration::from_secs(3);

/// Every this many retries of one operation, a region whose leader nobody
/// names is asked of PD again instead of tried at its next cached replica:
/// the cached peers may predate a membership change (a dead store's peer
/// replaced by one elsewhere), and going round them then never finds the
/// leader.
const ASK_PD_AFTER: u32 = 4;

/// The client's view of the region map.
pub struct RegionCache {
    pd: Arc<dyn PdService>,
    by_start: ArcSwap<BTreeMap<Vec<u8>, RegionInfo>>,
    /// Stores that lately failed to answer, and until when to pass them
    /// over. Touched only when a request fails, never on the way of one
    /// that succeeds.
    suspects: Mutex<HashMap<u64, Instant>>,
}

impl RegionCache {
    /// An empty cache filled from `pd` on demand.
    pub fn new(pd: Arc<dyn PdService>) -> Self {
        Self {
            pd,
            by_start: ArcSwap::from_pointee(BTreeMap::new()),
            suspects: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, encoded: &[u8]) -> Option<RegionInfo> {
        let map = self.by_start.load();
        let (_, info) = map
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(encoded)))
            .next_back()?;
        info.contains_encoded(encoded).then(|| info.clone())
    }

    /// Replace whatever overlaps `fresh` with it, unless something cached
    /// there is newer: PD hears of a split from the stores a moment after a
    /// store has told this client, and its older answer must not undo that.
    fn insert(&self, fresh: Vec<RegionInfo>) {
        self.by_start.rcu(|map| {
            let mut map = BTreeMap::clone(map);
            for info in &fresh {
                let r = &info.region;
                let overlaps = |old: &RegionInfo| {
                    let before =
                        !old.region.end_key.is_empty() && old.region.end_key <= r.start_key;
                    let after = !r.end_key.is_empty() && old.region.start_key >= r.end_key;
                    !(before || after)
                };
                if map
                    .values()
                    .any(|old| overlaps(old) && newer(&old.region, r))
                {
                    continue;
                }
                map.retain(|_, old| !overlaps(old));
                map.insert(r.start_key.clone(), info.clone());
            }
            map
        });
    }

    /// The region holding raw `key`.
    pub async fn locate(&self, key: &[u8]) -> Result<RegionInfo> {
        self.locate_encoded(&encode_key(key)).await
    }

    async fn locate_encoded(&self, encoded: &[u8]) -> Result<RegionInfo> {
        if let Some(info) = self.cached(encoded) {
            return Ok(info);
        }
        // PD may not know the region yet (a split's new half reports a
        // heartbeat after its parent) or may be restarting: wait for it.
        let mut backoff = Backoff::new(PD_PATIENCE);
        let resp = loop {
            let req = GetRegionRequest {
                key: encoded.to_vec(),
            };
            match self.pd.get_region(req).await {
                Ok(resp) => break resp,
                Err(RpcError::Unavailable(why)) => backoff.wait(BackoffReason::Pd, why).await?,
                Err(e) => return Err(e.into()),
            }
        };
        let mut info = region_info(resp)
            .ok_or_else(|| Error::Refused("PD knows no region for the key".into()))?;
        // PD names a dead leader until the region's new one reports.
        if self.is_suspect(info.leader_store)
            && let Some(next) = self.next_replica(&info)
        {
            info.leader_store = next;
        }
        if !info.contains_encoded(encoded) {
            return Err(Error::Refused(
                "PD answered a region that does not hold the key".into(),
            ));
        }
        self.insert(vec![info.clone()]);
        Ok(info)
    }

    /// Region `id` as PD knows it now, asked once and not cached (the
    /// cache finds regions by key). PD answers an id it has not heard of
    /// as unavailable, since a split's new half reports after its parent:
    /// that comes back as an error, as when PD is down.
    pub async fn region_by_id(&self, id: u64) -> Result<Option<RegionInfo>> {
        let req = GetRegionByIdRequest { region_id: id };
        Ok(region_info(self.pd.get_region_by_id(req).await?))
    }

    /// The regions overlapping the raw range `[start, end)`, in key order.
    pub async fn regions_in(&self, start: &[u8], end: Option<&[u8]>) -> Result<Vec<RegionInfo>> {
        let end = end.map(encode_key);
        let mut cursor = encode_key(start);
        let mut out = Vec::new();
        loop {
            let info = self.locate_encoded(&cursor).await?;
            let last = info.region.end_key.is_empty()
                || end.as_ref().is_some_and(|end| info.region.end_key >= *end);
            cursor = info.region.end_key.clone();
            out.push(info);
            if last {
                return Ok(out);
            }
        }
    }

    /// Every region, in key order.
    pub async fn all_regions(&self) -> Result<Vec<RegionInfo>> {
        self.regions_in(&[], None).await
    }

    /// Group items by the region of their key, preserving order within a group.
    pub async fn group_by_region<T>(
        &self,
        items: impl IntoIterator<Item = T>,
        key: impl Fn(&T) -> &[u8],
    ) -> Result<Vec<(RegionInfo, Vec<T>)>> {
        let mut groups: Vec<(RegionInfo, Vec<T>)> = Vec::new();
        let mut encoded = Vec::new();
        for item in items {
            // Keys mostly fall in a region already found: test those first,
            // so the cache is searched (and a region cloned) once per group.
            encoded.clear();
            encode_key_into(&mut encoded, key(&item));
            match groups
                .iter_mut()
                .find(|(r, _)| r.contains_encoded(&encoded))
            {
                Some((_, group)) => group.push(item),
                None => groups.push((self.locate_encoded(&encoded).await?, vec![item])),
            }
        }
        Ok(groups)
    }

    /// Change the cached entry of region `id` (if cached).
    fn edit(&self, id: u64, change: impl Fn(&mut RegionInfo) -> bool) {
        self.by_start.rcu(|map| {
            let mut map = BTreeMap::clone(map);
            let key = map
                .iter()
                .find(|(_, info)| info.region.id == id)
                .map(|(k, _)| k.clone());
            if let Some(key) = key {
                let info = map.get_mut(&key).expect("found above");
                if !change(info) {
                    map.remove(&key);
                }
            }
            map
        });
    }

    /// Store `store` could not be reached: pass it over for a while when
    /// looking for a leader.
    pub fn unreachable(&self, store: u64) {
        let mut suspects = self.suspects.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        suspects.retain(|_, until| *until > now);
        suspects.insert(store, now + SUSPECT_FOR);
    }

    fn is_suspect(&self, store: u64) -> bool {
        let suspects = self.suspects.lock().unwrap_or_else(|e| e.into_inner());
        suspects
            .get(&store)
            .is_some_and(|until| *until > Instant::now())
    }

    /// The replica after the cached leader in peer order that is not
    /// suspect (or just the next one, when all are).
    fn next_replica(&self, info: &RegionInfo) -> Option<u64> {
        let peers = &info.region.peers;
        let at = peers
            .iter()
            .position(|p| p.store_id == info.leader_store)
            .map_or(0, |i| i + 1);
        let mut after = peers.iter().cycle().skip(at).take(peers.len());
        let next = after
            .clone()
            .find(|p| p.store_id != info.leader_store && !self.is_suspect(p.store_id));
        next.or_else(|| after.next()).map(|p| p.store_id)
    }

    /// Learn from a store's region error, then wait before the retry.
    pub async fn on_region_error(&self, err: RegionError, backoff: &mut Backoff) -> Result<()> {
        tracing::debug!(?err, "region error");
        match err.kind {
            Some(Kind::NotLeader(nl)) => {
                // A hint naming a store that just failed us is stale (its
                // followers have not yet noticed it is gone): ignore it.
                let hint = nl
                    .leader
                    .map(|p| p.store_id)
                    .filter(|&s| !self.is_suspect(s));
                // Once in a while only: in between, go round the replicas
                // PD's answer lists.
                let ask_pd = backoff.tries() > 0 && backoff.tries().is_multiple_of(ASK_PD_AFTER);
                self.edit(nl.region_id, |info| {
                    if let Some(store) = hint {
                        info.leader_store = store;
                        return true;
                    }
                    if ask_pd {
                        return false;
                    }
                    // No leader known there: try the next replica after
                    // the one that answered, unless another request
                    // already moved on from it.
                    if nl.store_id != 0 && info.leader_store != nl.store_id {
                        return true;
                    }
                    match self.next_replica(info) {
                        Some(next) => {
                            info.leader_store = next;
                            true
                        }
                        None => false,
                    }
                })
            }
            Some(Kind::RegionNotFound(id)) => self.edit(id, |_| false),
            Some(Kind::KeyNotInRegion(k)) => self.edit(k.region_id, |_| false),
            Some(Kind::StaleCommand(_)) | Some(Kind::ServerBusy(_)) => {}
            Some(Kind::EpochNotMatch(e)) if !e.current_regions.is_empty() => {
                let leader =
                    |r: &Region| self.cached(&r.start_key).map_or(0, |old| old.leader_store);
                let fresh = e
                    .current_regions
                    .into_iter()
                    .map(|region| RegionInfo {
                        leader_store: leader(&region),
                        region,
                    })
                    .collect();
                self.insert(fresh);
            }
            _ => self.by_start.store(Arc::new(BTreeMap::new())),
        }
        backoff.wait(BackoffReason::Region, err.message).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::kvrpc::{NotLeader, Peer};

    /// A "not leader" answer from `store_id`, naming `leader` if known.
    fn not_leader(store_id: u64, leader: Option<u64>) -> RegionError {
        RegionError {
            message: format!("not leader at store {store_id}"),
            kind: Some(Kind::NotLeader(NotLeader {
                region_id: 7,
                leader: leader.map(|s| Peer {
                    id: 10 + s,
                    store_id: s,
                }),
                store_id,
            })),
        }
    }

    /// A cache holding region 7 on stores 1, 2 and 3, led by store 1.
    fn cache_led_by_store_1(dir: &std::path::Path) -> RegionCache {
        let engine = storage::FjallEngine::open(storage::EngineConfig::new(dir)).unwrap();
        let pd = Arc::new(pd::Pd::open(engine, pd::PdConfig::default()).unwrap());
        let cache = RegionCache::new(pd);
        let peers = (1..=3)
            .map(|s| Peer {
                id: 10 + s,
                store_id: s,
            })
            .collect();
        cache.insert(vec![RegionInfo {
            region: Region {
                id: 7,
                peers,
                ..Default::default()
            },
            leader_store: 1,
        }]);
        cache
    }

    /// Learn from `err` and say which store the cache now leads with.
    async fn after(cache: &RegionCache, err: RegionError) -> u64 {
        let mut backoff = Backoff::new(Duration::from_secs(10));
        cache.on_region_error(err, &mut backoff).await.unwrap();
        cache.cached(b"").unwrap().leader_store
    }

    /// Requests that fail together at an unreachable leader move the
    /// cache's leader to the next replica once: moving once per failure
    /// went round the replicas and back to the dead store.
    #[tokio::test(start_paused = true)]
    async fn failures_at_one_store_move_the_leader_on_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_led_by_store_1(dir.path());
        cache.unreachable(1);
        for _ in 0..3 {
            assert_eq!(after(&cache, not_leader(1, None)).await, 2);
        }
        // The next replica not knowing the leader moves it on again.
        assert_eq!(after(&cache, not_leader(2, None)).await, 3);
    }

    /// Replicas that keep not knowing the leader send the operation back
    /// to PD: the cached peers may predate the membership change that put
    /// the leader on a store they do not list.
    #[tokio::test(start_paused = true)]
    async fn a_route_that_keeps_failing_is_asked_of_pd_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_led_by_store_1(dir.path());
        let mut backoff = Backoff::new(Duration::from_secs(10));
        for (answered, next) in [(1, 2), (2, 3), (3, 1), (1, 2)] {
            let err = not_leader(answered, None);
            cache.on_region_error(err, &mut backoff).await.unwrap();
            assert_eq!(cache.cached(b"").unwrap().leader_store, next);
        }
        let err = not_leader(2, None);
        cache.on_region_error(err, &mut backoff).await.unwrap();
        assert!(cache.cached(b"").is_none());
    }

    /// While a dead leader's followers still name it, their hints are
    /// passed over: the cache goes round the live replicas until one of
    /// them leads, instead of back to the dead store.
    #[tokio::test(start_paused = true)]
    async fn hints_naming_a_store_that_failed_are_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_led_by_store_1(dir.path());
        cache.unreachable(1);
        assert_eq!(after(&cache, not_leader(1, None)).await, 2);
        assert_eq!(after(&cache, not_leader(2, Some(1))).await, 3);
        assert_eq!(after(&cache, not_leader(3, Some(1))).await, 2);
        // A hint naming a live store is taken.
        assert_eq!(after(&cache, not_leader(2, Some(3))).await, 3);
    }

    /// A region over `[start, end)` at split version `version`.
    fn region(id: u64, start: &[u8], end: &[u8], version: u64) -> RegionInfo {
        RegionInfo {
            region: Region {
                id,
                start_key: start.to_vec(),
                end_key: end.to_vec(),
                epoch: Some(proto::kvrpc::RegionEpoch {
                    version,
                    conf_ver: 1,
                }),
                ..Default::default()
            },
            leader_store: 1,
        }
    }

    /// A store's answer after a split (both halves, newer) replaces the
    /// undivided region, and PD's older view of it, arriving later, does
    /// not bring it back: that ping-pong stalled writers for seconds.
    #[tokio::test]
    async fn an_older_region_does_not_replace_newer_halves() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache_led_by_store_1(dir.path());
        cache.insert(vec![region(7, b"", b"", 1)]);
        cache.insert(vec![region(7, b"", b"m", 2), region(8, b"m", b"", 2)]);
        cache.insert(vec![region(7, b"", b"", 1)]);
        assert_eq!(cache.cached(b"a").unwrap().region.id, 7);
        assert_eq!(cache.cached(b"a").unwrap().region.end_key, b"m");
        assert_eq!(cache.cached(b"z").unwrap().region.id, 8);
        // A later split of the right half is taken.
        cache.insert(vec![region(8, b"m", b"t", 3), region(9, b"t", b"", 3)]);
        assert_eq!(cache.cached(b"z").unwrap().region.id, 9);
    }
}
