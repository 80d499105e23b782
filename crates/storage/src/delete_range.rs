//! Range deletion on an LSM tree that has none.
//!
//! `fjall` can drop whole table files that lie inside a key range, and it can
//! run a filter over every key a compaction rewrites, but it has no range
//! tombstone. Deleting a region's or a dropped table's keys one by one would
//! cost a write per key on the caller's path, so [`Engine::delete_range`]
//! is built from four cheaper parts instead:
//!
//! 1. **A persisted record.** The range and its families go into the internal
//!    `meta_deleted_ranges` keyspace, synced, before anything else happens. A
//!    crash at any later point reopens with the record in place, so a
//!    half-dropped range never resurfaces.
//! 2. **Read-side hiding.** The records live in memory behind an `ArcSwap`.
//!    Every `get` and every key a scan yields is checked against them; while
//!    there are none (the normal state) the check is one atomic load.
//! 3. **File dropping.** Each family's tree drops the tables that lie wholly
//!    inside the range: O(files), and that is where the disk space comes back.
//! 4. **Compaction filtering.** Keys in the tables that straddle the range
//!    boundary are turned into tombstones ([`Verdict::Remove`], never
//!    `Destroy`: an older version of the key in a lower level must stay
//!    shadowed) whenever a background compaction passes over them.
//!
//! A record is *retired* once no key is left under it: whatever file dropping
//! and compaction missed (memtable contents, boundary tables nobody compacted)
//! is point-deleted, then the record is removed. That happens in
//! `FjallEngine::compact_deleted_ranges`, or at once when a write lands inside
//! an active range, because a later write into the range must be visible.
//!
//! # Semantics
//!
//! Unlike RocksDB's sequence-numbered range tombstones, a deletion here is seen
//! by every snapshot at once, old or new: readers stop seeing the keys the
//! moment the call returns. It is meant for data no reader needs any more.
//!
//! Retirement must not bring the keys back for snapshots that are still open:
//! the point deletes that retirement writes are newer than those snapshots. So
//! a retired record stays in memory, hiding its range from snapshots older
//! than the retirement, until the last of those snapshots is gone. Snapshots
//! pin an [`Era`]; retirement starts a new era and the retired record watches
//! the old one through a `Weak`.
//!
//! [`Engine::delete_range`]: crate::Engine::delete_range

use crate::{Cf, Error, KeyRange, Result};
use arc_swap::ArcSwap;
use fjall::SeqNo;
use fjall::compaction::filter::{
    CompactionFilter, CompactionFilterResult, Context, Factory, ItemAccessor, Verdict,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

/// Name of the internal keyspace holding the persisted records.
pub(crate) const META_KEYSPACE: &str = "meta_deleted_ranges";

/// Layout version of an encoded record, so the format can change later.
const RECORD_FORMAT: u8 = 1;

/// Position of a family in [`Cf::ALL`]; the engine's arrays and the on-disk
/// family bitmask both use it.
pub(crate) fn cf_index(cf: Cf) -> usize {
    match cf {
        Cf::Default => 0,
        Cf::Lock => 1,
        Cf::Write => 2,
        Cf::Raft => 3,
        Cf::Latest => 4,
    }
}

/// The families a record covers, one bit per [`cf_index`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct CfSet(u8);

impl CfSet {
    pub(crate) fn of(cfs: &[Cf]) -> Self {
        Self(cfs.iter().fold(0, |bits, &cf| bits | 1 << cf_index(cf)))
    }

    pub(crate) fn contains(self, cf: Cf) -> bool {
        self.0 & (1 << cf_index(cf)) != 0
    }

    pub(crate) fn iter(self) -> impl Iterator<Item = Cf> {
        Cf::ALL.into_iter().filter(move |&cf| self.contains(cf))
    }
}

/// One `delete_range` call, as persisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RangeRecord {
    pub(crate) id: u64,
    pub(crate) cfs: CfSet,
    pub(crate) range: KeyRange,
}

impl RangeRecord {
    /// Key in [`META_KEYSPACE`]: the id, big-endian so records load in the
    /// order they were made.
    pub(crate) fn key(&self) -> [u8; 8] {
        self.id.to_be_bytes()
    }

    /// `format ‖ cf bits ‖ start len (u32 BE) ‖ start ‖ 0` for an open range,
    /// `… ‖ 1 ‖ end len ‖ end` for a bounded one.
    pub(crate) fn encode_value(&self) -> Vec<u8> {
        let end_len = self.range.end.as_ref().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(11 + self.range.start.len() + end_len);
        out.push(RECORD_FORMAT);
        out.push(self.cfs.0);
        // Keys are at most 64 KiB (fjall's limit), so lengths fit a u32.
        out.extend_from_slice(&(self.range.start.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.range.start);
        match &self.range.end {
            Some(end) => {
                out.push(1);
                out.extend_from_slice(&(end.len() as u32).to_be_bytes());
                out.extend_from_slice(end);
            }
            None => out.push(0),
        }
        out
    }

    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<Self> {
        let bad = |what: &str| Error::Corruption(format!("deleted-range record: {what}"));
        let id = u64::from_be_bytes(key.try_into().map_err(|_| bad("key is not 8 bytes"))?);
        let [format, cfs, rest @ ..] = value else {
            return Err(bad("truncated header"));
        };
        if *format != RECORD_FORMAT {
            return Err(bad("unknown format"));
        }
        if *cfs == 0 || u32::from(*cfs) >= 1 << Cf::ALL.len() {
            return Err(bad("bad family set"));
        }
        let (start, rest) = split_bytes(rest).ok_or_else(|| bad("truncated start"))?;
        let end = match rest {
            [0] => None,
            [1, rest @ ..] => match split_bytes(rest) {
                Some((end, [])) => Some(end.to_vec()),
                _ => return Err(bad("bad end")),
            },
            _ => return Err(bad("bad end marker")),
        };
        Ok(Self {
            id,
            cfs: CfSet(*cfs),
            range: KeyRange::new(start, end),
        })
    }
}

/// Split a `u32 BE length ‖ bytes` field off the front of `buf`.
fn split_bytes(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = buf.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// A generation of snapshots: every snapshot pins the era current when it was
/// taken, and each era keeps the next one alive. So an era is dropped only once
/// no snapshot from it *or any earlier era* remains, which is exactly when a
/// record retired at its end can be forgotten.
#[derive(Default)]
pub(crate) struct Era {
    next: OnceLock<Arc<Era>>,
}

/// A record as readers see it.
#[derive(Clone)]
struct Entry {
    record: RangeRecord,
    retired: Option<Retired>,
}

/// Left behind by retirement for the snapshots that predate it.
#[derive(Clone)]
struct Retired {
    /// Snapshots at this sequence number or later see the point deletes.
    visible_from: SeqNo,
    /// The last era whose snapshots may be older than `visible_from`.
    pinned_by: Weak<Era>,
}

impl Entry {
    fn hides(&self, cf: Cf, key: &[u8], seqno: SeqNo) -> bool {
        self.record.cfs.contains(cf)
            && self.record.range.contains(key)
            && self.retired.as_ref().is_none_or(|r| seqno < r.visible_from)
    }

    fn is_active(&self) -> bool {
        self.retired.is_none()
    }

    fn is_prunable(&self) -> bool {
        self.retired
            .as_ref()
            .is_some_and(|r| r.pinned_by.strong_count() == 0)
    }
}

/// The in-memory deleted ranges, shared by the engine, its snapshots and
/// iterators, and the compaction filters.
pub(crate) struct DeletedRanges {
    entries: ArcSwap<Vec<Entry>>,
    /// `entries` is non-empty; lets the common case skip the `ArcSwap` load.
    any: AtomicBool,
    era: ArcSwap<Era>,
    /// Serialises changes; holds the next record id.
    next_id: Mutex<u64>,
}

impl Default for DeletedRanges {
    fn default() -> Self {
        Self {
            entries: ArcSwap::from_pointee(Vec::new()),
            any: AtomicBool::new(false),
            era: ArcSwap::from_pointee(Era::default()),
            next_id: Mutex::new(1),
        }
    }
}

impl DeletedRanges {
    /// Whether `key` of `cf` is hidden from a snapshot at `seqno`.
    pub(crate) fn hides(&self, cf: Cf, key: &[u8], seqno: SeqNo) -> bool {
        self.any.load(Ordering::Acquire)
            && self.entries.load().iter().any(|e| e.hides(cf, key, seqno))
    }

    /// Cheap test for the write path: false means no record can be hit.
    pub(crate) fn is_empty(&self) -> bool {
        !self.any.load(Ordering::Acquire)
    }

    /// Ids of the active records that contain one of `keys`.
    pub(crate) fn active_hits<'a>(&self, keys: impl Iterator<Item = (Cf, &'a [u8])>) -> Vec<u64> {
        let entries = self.entries.load();
        let mut ids = Vec::new();
        for (cf, key) in keys {
            for e in entries.iter() {
                if e.is_active() && e.hides(cf, key, 0) && !ids.contains(&e.record.id) {
                    ids.push(e.record.id);
                }
            }
        }
        ids
    }

    /// Whether a retired record could be forgotten now.
    pub(crate) fn has_prunable(&self) -> bool {
        self.entries.load().iter().any(Entry::is_prunable)
    }

    /// Number of records not yet retired.
    pub(crate) fn active_count(&self) -> usize {
        self.entries.load().iter().filter(|e| e.is_active()).count()
    }

    /// What a compaction filter of `cf` removes. Only active records: a retired
    /// range may already hold new writes. Taking the list once per compaction
    /// is safe because a compaction's input tables are chosen before its filter
    /// is made, so they hold nothing written after a retirement that happens
    /// while the compaction runs.
    fn active_ranges(&self, cf: Cf) -> Vec<KeyRange> {
        self.entries
            .load()
            .iter()
            .filter(|e| e.is_active() && e.record.cfs.contains(cf))
            .map(|e| e.record.range.clone())
            .collect()
    }

    /// The era a new snapshot belongs to; must be taken *before* the snapshot.
    pub(crate) fn pin_era(&self) -> Arc<Era> {
        self.era.load_full()
    }

    /// Exclusive access for changes.
    pub(crate) fn lock(&self) -> Mutation<'_> {
        // The guarded value is a counter that is never left half-updated.
        let next_id = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
        Mutation {
            ranges: self,
            next_id,
        }
    }

    /// Like [`DeletedRanges::lock`], for optional housekeeping that should not wait.
    pub(crate) fn try_lock(&self) -> Option<Mutation<'_>> {
        let next_id = match self.next_id.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(Mutation {
            ranges: self,
            next_id,
        })
    }
}

/// Holder of the change lock; every change publishes a fresh list.
pub(crate) struct Mutation<'a> {
    ranges: &'a DeletedRanges,
    next_id: MutexGuard<'a, u64>,
}

impl Mutation<'_> {
    /// Install the records loaded from disk at open.
    pub(crate) fn restore(&mut self, records: Vec<RangeRecord>) {
        let next = records.iter().map(|r| r.id + 1).max().unwrap_or(1);
        *self.next_id = (*self.next_id).max(next);
        let mut entries = (**self.ranges.entries.load()).clone();
        entries.extend(records.into_iter().map(|record| Entry {
            record,
            retired: None,
        }));
        self.publish(entries);
    }

    pub(crate) fn allocate_id(&mut self) -> u64 {
        let id = *self.next_id;
        *self.next_id += 1;
        id
    }

    /// Start hiding a range (its record must already be durable).
    pub(crate) fn add(&mut self, record: RangeRecord) {
        let mut entries = (**self.ranges.entries.load()).clone();
        entries.push(Entry {
            record,
            retired: None,
        });
        self.publish(entries);
    }

    /// The active record with this id, if it has not been retired meanwhile.
    pub(crate) fn active(&self, id: u64) -> Option<RangeRecord> {
        self.ranges
            .entries
            .load()
            .iter()
            .find(|e| e.record.id == id && e.is_active())
            .map(|e| e.record.clone())
    }

    pub(crate) fn active_records(&self) -> Vec<RangeRecord> {
        self.ranges
            .entries
            .load()
            .iter()
            .filter(|e| e.is_active())
            .map(|e| e.record.clone())
            .collect()
    }

    /// Stop hiding the range from snapshots at `visible_from` or later, which
    /// must see every point delete of the range. Older snapshots keep hiding it.
    pub(crate) fn retire(&mut self, id: u64, visible_from: SeqNo) {
        let old = self.ranges.era.load_full();
        let new = Arc::new(Era::default());
        // Only the current era is ever given a successor, and only here, under
        // the lock, right before it stops being current: the cell is empty.
        let _ = old.next.set(new.clone());
        self.ranges.era.store(new);

        let mut entries = (**self.ranges.entries.load()).clone();
        for e in entries.iter_mut().filter(|e| e.record.id == id) {
            e.retired = Some(Retired {
                visible_from,
                pinned_by: Arc::downgrade(&old),
            });
        }
        self.publish(entries);
    }

    /// Forget retired records no open snapshot can need.
    pub(crate) fn prune(&mut self) {
        let entries = self.ranges.entries.load();
        if entries.iter().any(Entry::is_prunable) {
            let kept = entries
                .iter()
                .filter(|e| !e.is_prunable())
                .cloned()
                .collect();
            drop(entries);
            self.publish(kept);
        }
    }

    fn publish(&mut self, mut entries: Vec<Entry>) {
        entries.retain(|e| !e.is_prunable());
        let any = !entries.is_empty();
        // List first, flag second: a reader that sees the flag set also sees
        // the list it announces.
        self.ranges.entries.store(Arc::new(entries));
        self.ranges.any.store(any, Ordering::Release);
    }
}

/// Installs a [`RangeFilter`] in every compaction of one family.
pub(crate) struct FilterFactory {
    pub(crate) cf: Cf,
    pub(crate) ranges: Arc<DeletedRanges>,
}

impl Factory for FilterFactory {
    fn name(&self) -> &str {
        "basalt_deleted_ranges"
    }

    fn make_filter(&self, _: &Context) -> Box<dyn CompactionFilter> {
        Box::new(RangeFilter {
            cf: self.cf,
            ranges: self.ranges.active_ranges(self.cf),
            removed: 0,
        })
    }
}

/// Turns keys inside deleted ranges into tombstones as a compaction rewrites them.
struct RangeFilter {
    cf: Cf,
    ranges: Vec<KeyRange>,
    removed: u64,
}

impl CompactionFilter for RangeFilter {
    fn filter_item(&mut self, item: ItemAccessor<'_>, _: &Context) -> CompactionFilterResult {
        let key = item.key();
        if self.ranges.iter().any(|r| r.contains(key)) {
            self.removed += 1;
            // A tombstone, not `Destroy`: an older version below must stay hidden.
            Ok(Verdict::Remove)
        } else {
            Ok(Verdict::Keep)
        }
    }

    fn finish(self: Box<Self>) {
        if self.removed > 0 {
            tracing::debug!(
                cf = self.cf.name(),
                removed = self.removed,
                "compaction removed deleted-range keys"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, start: &[u8], end: Option<&[u8]>) -> RangeRecord {
        RangeRecord {
            id,
            cfs: CfSet::of(&[Cf::Write, Cf::Lock]),
            range: KeyRange::new(start, end.map(<[u8]>::to_vec)),
        }
    }

    #[test]
    fn record_round_trips() {
        for r in [
            record(7, b"a", Some(b"b")),
            record(u64::MAX, b"", None),
            record(1, b"\x00\x01", Some(b"")),
        ] {
            assert_eq!(RangeRecord::decode(&r.key(), &r.encode_value()).unwrap(), r);
        }
    }

    #[test]
    fn corrupt_records_are_errors() {
        let r = record(3, b"abc", Some(b"abd"));
        let v = r.encode_value();
        assert!(RangeRecord::decode(&r.key()[..4], &v).is_err());
        for cut in 0..v.len() {
            assert!(
                RangeRecord::decode(&r.key(), &v[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut trailing = v.clone();
        trailing.push(0);
        assert!(RangeRecord::decode(&r.key(), &trailing).is_err());
        let mut bad_cfs = v.clone();
        bad_cfs[1] = 0;
        assert!(RangeRecord::decode(&r.key(), &bad_cfs).is_err());
    }

    #[test]
    fn cf_set_covers_only_its_families() {
        let set = CfSet::of(&[Cf::Default, Cf::Raft]);
        assert!(set.contains(Cf::Default) && set.contains(Cf::Raft));
        assert!(!set.contains(Cf::Lock) && !set.contains(Cf::Write));
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![Cf::Default, Cf::Raft]);
    }

    #[test]
    fn retired_record_lives_while_older_snapshots_do() {
        let ranges = DeletedRanges::default();
        assert!(ranges.is_empty());
        let mut m = ranges.lock();
        let id = m.allocate_id();
        m.add(record(id, b"b", Some(b"d")));
        drop(m);

        assert!(ranges.hides(Cf::Write, b"c", 5));
        assert!(!ranges.hides(Cf::Write, b"d", 5));
        assert!(!ranges.hides(Cf::Default, b"c", 5));
        assert_eq!(
            ranges.active_hits([(Cf::Lock, &b"bb"[..]), (Cf::Write, b"c")].into_iter()),
            vec![id]
        );

        let old_snapshot = ranges.pin_era();
        ranges.lock().retire(id, 10);
        let new_snapshot = ranges.pin_era();
        assert_eq!(ranges.active_count(), 0);
        assert!(
            ranges
                .active_hits([(Cf::Write, &b"c"[..])].into_iter())
                .is_empty()
        );
        // Snapshots below the retirement point still do not see the range.
        assert!(ranges.hides(Cf::Write, b"c", 9));
        assert!(!ranges.hides(Cf::Write, b"c", 10));

        ranges.lock().prune();
        assert!(
            !ranges.is_empty(),
            "an older snapshot still pins the record"
        );
        drop(new_snapshot);
        assert!(!ranges.has_prunable());
        drop(old_snapshot);
        assert!(ranges.has_prunable());
        ranges.lock().prune();
        assert!(ranges.is_empty());
    }

    #[test]
    fn filters_see_only_active_ranges_of_their_family() {
        let ranges = DeletedRanges::default();
        let mut m = ranges.lock();
        m.restore(vec![
            record(4, b"k", None),
            record(5, b"x", Some(b"y")),
            RangeRecord {
                id: 9,
                cfs: CfSet::of(&[Cf::Raft]),
                range: KeyRange::new("a", None),
            },
        ]);
        assert_eq!(m.allocate_id(), 10);
        m.retire(4, 1);
        drop(m);
        assert_eq!(
            ranges.active_ranges(Cf::Write),
            vec![KeyRange::new("x", Some(b"y".to_vec()))]
        );
        assert_eq!(
            ranges.active_ranges(Cf::Raft),
            vec![KeyRange::new("a", None)]
        );
        assert!(ranges.active_ranges(Cf::Default).is_empty());
    }
}
