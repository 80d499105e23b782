//! The region map: which region (and which leader) serves each key.

use proto::kvrpc::Region;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::RwLock;

/// Regions by start key. Clients cache what they learn here, so this map is
/// read on cache misses and stale routes, not on every request.
pub struct RegionMap {
    by_start: RwLock<BTreeMap<Vec<u8>, (Region, u64)>>,
}

impl RegionMap {
    /// A map of the given regions, each with its leader's store id.
    pub fn new(regions: Vec<(Region, u64)>) -> Self {
        let by_start = regions
            .into_iter()
            .map(|(r, leader)| (r.start_key.clone(), (r, leader)))
            .collect();
        Self {
            by_start: RwLock::new(by_start),
        }
    }

    /// The region whose range holds `key`, and its leader's store id.
    pub fn locate(&self, key: &[u8]) -> Option<(Region, u64)> {
        let map = self.by_start.read().unwrap_or_else(|e| e.into_inner());
        let (_, (region, leader)) = map
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()?;
        let inside = region.end_key.is_empty() || key < region.end_key.as_slice();
        inside.then(|| (region.clone(), *leader))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(id: u64, start: &[u8], end: &[u8]) -> Region {
        Region {
            id,
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            epoch: None,
            peers: Vec::new(),
        }
    }

    #[test]
    fn locate_by_range() {
        let map = RegionMap::new(vec![(region(1, b"", b"m"), 1), (region(2, b"m", b""), 2)]);
        assert_eq!(map.locate(b"a").unwrap().0.id, 1);
        assert_eq!(map.locate(b"m").unwrap().0.id, 2);
        assert_eq!(map.locate(b"zz").unwrap().1, 2);
        let gap = RegionMap::new(vec![(region(1, b"b", b"c"), 1)]);
        assert!(gap.locate(b"a").is_none());
        assert!(gap.locate(b"c").is_none());
    }
}
