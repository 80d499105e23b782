//! The region map: every region, its leader and its load, as the leaders'
//! heartbeats report them.

use proto::kvrpc::{Peer, Region, RegionEpoch};
use proto::pdrpc::RegionHeartbeatRequest;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::RwLock;

/// What a report did to the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// The map knows a newer state: the report was ignored.
    Stale,
    /// Same range, members and leader (load figures refreshed).
    Unchanged,
    /// Range, members or leader changed: worth persisting.
    Changed,
}

/// A region as PD last heard of it.
#[derive(Clone, Debug, Default)]
pub struct RegionInfo {
    /// The region.
    pub region: Region,
    /// Its leader, when known.
    pub leader: Option<Peer>,
    /// Peers catching up (by snapshot).
    pub pending_peers: Vec<Peer>,
    /// Approximate data size and key count.
    pub approximate_size: u64,
    /// Approximate key count.
    pub approximate_keys: u64,
}

impl RegionInfo {
    /// The leader's store id (0: unknown).
    pub fn leader_store(&self) -> u64 {
        self.leader.map_or(0, |p| p.store_id)
    }
}

#[derive(Default)]
struct Maps {
    by_id: HashMap<u64, RegionInfo>,
    /// Start key → region id.
    by_start: BTreeMap<Vec<u8>, u64>,
}

/// Regions by id and by start key. Clients cache what they learn here, so
/// this map is read on cache misses and stale routes, not on every request.
#[derive(Default)]
pub struct RegionMap {
    maps: RwLock<Maps>,
}

fn epoch(r: &Region) -> RegionEpoch {
    r.epoch.unwrap_or_default()
}

/// Whether `a` is older than `b` in either dimension.
fn stale(a: &RegionEpoch, b: &RegionEpoch) -> bool {
    a.version < b.version || a.conf_ver < b.conf_ver
}

fn overlaps(a: &Region, b: &Region) -> bool {
    (b.end_key.is_empty() || a.start_key < b.end_key)
        && (a.end_key.is_empty() || b.start_key < a.end_key)
}

impl RegionMap {
    /// Learn a region. A report older than what the map has is ignored;
    /// regions it overlaps with older range versions (a split's parent) go.
    pub fn update(&self, info: RegionInfo) -> Update {
        let mut maps = self.maps.write().unwrap_or_else(|e| e.into_inner());
        let id = info.region.id;
        let version = epoch(&info.region).version;
        if let Some(old) = maps.by_id.get(&id) {
            if stale(&epoch(&info.region), &epoch(&old.region)) {
                return Update::Stale;
            }
            if old.region == info.region && old.leader == info.leader {
                maps.by_id.insert(id, info);
                return Update::Unchanged;
            }
        }
        let overlapping: Vec<(u64, u64)> = maps
            .by_id
            .values()
            .filter(|o| o.region.id != id && overlaps(&o.region, &info.region))
            .map(|o| (o.region.id, epoch(&o.region).version))
            .collect();
        if overlapping.iter().any(|&(_, v)| v > version) {
            // Another region is newer: this report's range is stale.
            return Update::Stale;
        }
        if let Some(old) = maps.by_id.remove(&id) {
            maps.by_start.remove(&old.region.start_key);
        }
        for (other, _) in overlapping {
            if let Some(o) = maps.by_id.remove(&other)
                && maps.by_start.get(&o.region.start_key) == Some(&other)
            {
                maps.by_start.remove(&o.region.start_key);
            }
        }
        maps.by_start.insert(info.region.start_key.clone(), id);
        maps.by_id.insert(id, info);
        Update::Changed
    }

    /// The region whose range holds the encoded `key`.
    pub fn locate(&self, key: &[u8]) -> Option<RegionInfo> {
        let maps = self.maps.read().unwrap_or_else(|e| e.into_inner());
        let (_, id) = maps
            .by_start
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()?;
        let info = maps.by_id.get(id)?;
        let inside = info.region.end_key.is_empty() || key < info.region.end_key.as_slice();
        inside.then(|| info.clone())
    }

    /// A region by id.
    pub fn get(&self, id: u64) -> Option<RegionInfo> {
        let maps = self.maps.read().unwrap_or_else(|e| e.into_inner());
        maps.by_id.get(&id).cloned()
    }

    /// Regions meeting the encoded range `[start, end)`, in key order.
    pub fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<RegionInfo> {
        let maps = self.maps.read().unwrap_or_else(|e| e.into_inner());
        let first = maps
            .by_start
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(start)))
            .next_back()
            .map_or(start.to_vec(), |(k, _)| k.clone());
        maps.by_start
            .range::<[u8], _>((Bound::Included(first.as_slice()), Bound::Unbounded))
            .take_while(|(k, _)| end.is_empty() || k.as_slice() < end)
            .filter_map(|(_, id)| maps.by_id.get(id).cloned())
            .filter(|i| i.region.end_key.is_empty() || i.region.end_key.as_slice() > start)
            .take(if limit == 0 { usize::MAX } else { limit })
            .collect()
    }

    /// Every region.
    pub fn all(&self) -> Vec<RegionInfo> {
        self.scan(&[], &[], 0)
    }
}

impl From<&RegionHeartbeatRequest> for RegionInfo {
    fn from(hb: &RegionHeartbeatRequest) -> Self {
        Self {
            region: hb.region.clone().unwrap_or_default(),
            leader: hb.leader,
            pending_peers: hb.pending_peers.clone(),
            approximate_size: hb.approximate_size,
            approximate_keys: hb.approximate_keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(id: u64, start: &[u8], end: &[u8], version: u64) -> RegionInfo {
        RegionInfo {
            region: Region {
                id,
                start_key: start.to_vec(),
                end_key: end.to_vec(),
                epoch: Some(RegionEpoch {
                    conf_ver: 1,
                    version,
                }),
                peers: Vec::new(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn splits_replace_their_parent_and_stale_reports_are_ignored() {
        let map = RegionMap::default();
        assert_eq!(map.update(region(1, b"", b"", 1)), Update::Changed);
        assert_eq!(map.locate(b"zz").unwrap().region.id, 1);
        // The new region reports first: the parent's old range goes.
        assert_eq!(map.update(region(2, b"m", b"", 2)), Update::Changed);
        assert!(map.locate(b"a").is_none());
        assert_eq!(map.update(region(1, b"", b"m", 2)), Update::Changed);
        assert_eq!(map.locate(b"a").unwrap().region.id, 1);
        assert_eq!(map.locate(b"m").unwrap().region.id, 2);
        // A late report of the parent before the split changes nothing.
        assert_eq!(map.update(region(1, b"", b"", 1)), Update::Stale);
        assert_eq!(map.locate(b"zz").unwrap().region.id, 2);
        assert_eq!(map.scan(b"b", b"", 0).len(), 2);
        assert_eq!(map.scan(b"m", b"", 0).len(), 1);
        assert_eq!(map.all().len(), 2);
    }
}
