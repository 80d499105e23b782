//! The newest committed version of recently read keys, in memory.
//!
//! A point read through the engine is a seek over the key's versions in every
//! memtable and level (5 µs on a fresh store, 14 µs once sysbench updates have
//! piled versions onto hot rows); here it is a hash lookup. An entry says
//! "the newest data version of this key was committed at `commit_ts` and is
//! `value`" (`None`: a delete, or no version at all), so it answers every read
//! at a timestamp at or above `commit_ts`; older reads go to the engine.
//!
//! Entries are only ever dropped or replaced, never patched, and two rules
//! keep them true:
//!
//! - **Writers** ([`RowCache::invalidate`]): a batch that commits a new data
//!   version of a key first reaches the engine, then bumps the key's stamp,
//!   then removes the key's entry, and only then lets the transaction's lock
//!   go from the lock table. A reader that no longer sees the lock therefore
//!   finds no entry older than the commit.
//! - **Readers** ([`RowCache::stamp`], [`RowCache::fill`]): a reader that
//!   missed notes the key's stamp, reads the engine, inserts what it read, and
//!   takes the entry out again if the stamp moved meanwhile. Either the bump
//!   comes after that check, and then so does the writer's removal, or the
//!   check sees the bump; a value read before a commit never outlives it.
//!
//! Stamps are shared by keys hashing to the same slot, which only costs a
//! needless refill now and then.

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

/// Stamp slots: a power of two, enough that unrelated commits rarely share one.
const STAMP_SLOTS: usize = 1 << 12;

/// Longest key kept inside the cache entry itself; an encoded row key
/// takes 27 bytes.
const INLINE_KEY: usize = 38;

/// An encoded key, inline when short: a lookup compares it in the entry it
/// already loaded instead of following a pointer to a third cache line.
#[derive(Clone)]
enum CachedKey {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl CachedKey {
    fn new(key: &[u8]) -> Self {
        if key.len() <= INLINE_KEY {
            let mut bytes = [0; INLINE_KEY];
            bytes[..key.len()].copy_from_slice(key);
            Self::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Self::Heap(key.into())
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..*len as usize],
            Self::Heap(key) => key,
        }
    }
}

/// Lookups go by `&[u8]`, so hashing and equality are the slice's.
impl Borrow<[u8]> for CachedKey {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Hash for CachedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq for CachedKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CachedKey {}

/// The newest committed data version of a key.
///
/// The value is owned, not shared: a hit copies it out under the shard's
/// read lock, which is the copy the caller needs anyway, while an `Arc`
/// would add two atomic updates of a line every reader of a hot row touches.
#[derive(Clone)]
struct Newest {
    commit_ts: u64,
    value: Option<Box<[u8]>>,
}

/// Entries weigh their key and value bytes plus a fixed overhead, so the
/// budget is memory, not a count.
#[derive(Clone)]
struct ByBytes;

impl Weighter<CachedKey, Newest> for ByBytes {
    fn weight(&self, key: &CachedKey, newest: &Newest) -> u64 {
        let heap_key = match key {
            CachedKey::Inline { .. } => 0,
            CachedKey::Heap(key) => key.len(),
        };
        (96 + heap_key + newest.value.as_ref().map_or(0, |v| v.len())) as u64
    }
}

/// A bounded map from encoded key to its newest committed version.
pub struct RowCache {
    entries: Cache<CachedKey, Newest, ByBytes>,
    stamps: Box<[AtomicU64]>,
    hasher: RandomState,
}

/// A key's stamp as a reader saw it before reading the engine.
#[derive(Clone, Copy)]
pub struct Stamp(u64);

impl RowCache {
    /// A cache of at most about `bytes` of keys and values.
    pub fn new(bytes: u64) -> Self {
        // quick_cache sizes its tables from an estimate of the item count.
        let estimated_items = (bytes / 256).max(16) as usize;
        Self {
            entries: Cache::with_weighter(estimated_items, bytes, ByBytes),
            stamps: (0..STAMP_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
    }

    fn slot(&self, encoded: &[u8]) -> &AtomicU64 {
        let hash = self.hasher.hash_one(encoded) as usize;
        &self.stamps[hash & (STAMP_SLOTS - 1)]
    }

    /// The value of `encoded` as of `ts` if the cache knows it: `Some(None)`
    /// means the key has no live value at `ts`.
    pub fn get(&self, encoded: &[u8], ts: u64) -> Option<Option<Vec<u8>>> {
        let newest = self.entries.get(encoded)?;
        (newest.commit_ts <= ts).then(|| newest.value.map(Vec::from))
    }

    /// Note the key's stamp before reading the engine for a [`fill`](Self::fill).
    pub fn stamp(&self, encoded: &[u8]) -> Stamp {
        Stamp(self.slot(encoded).load(Ordering::SeqCst))
    }

    /// Remember what a read that started at `stamp` found to be the newest
    /// version of `encoded`, unless a commit to the key may have happened since.
    pub fn fill(&self, encoded: &[u8], stamp: Stamp, commit_ts: u64, value: Option<&[u8]>) {
        let newest = Newest {
            commit_ts,
            value: value.map(Box::from),
        };
        self.entries.insert(CachedKey::new(encoded), newest);
        if self.slot(encoded).load(Ordering::SeqCst) != stamp.0 {
            self.entries.remove(encoded);
        }
    }

    /// A new data version of `encoded` has reached the engine: forget the
    /// old one. Called before the committing transaction's lock is released.
    pub fn invalidate(&self, encoded: &[u8]) {
        self.slot(encoded).fetch_add(1, Ordering::SeqCst);
        self.entries.remove(encoded);
    }

    /// Forget everything (after a delete-range, which removes versions
    /// without committing new ones).
    pub fn clear(&self) {
        for stamp in self.stamps.iter() {
            stamp.fetch_add(1, Ordering::SeqCst);
        }
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_reads_at_or_above_the_newest_commit_only() {
        let cache = RowCache::new(1 << 20);
        let stamp = cache.stamp(b"k");
        cache.fill(b"k", stamp, 20, Some(b"v"));
        assert_eq!(cache.get(b"k", 19), None);
        assert_eq!(cache.get(b"k", 20), Some(Some(b"v".to_vec())));
        let stamp = cache.stamp(b"gone");
        cache.fill(b"gone", stamp, 30, None);
        assert_eq!(cache.get(b"gone", 40), Some(None));
        // Keys too long to keep inline are found all the same.
        let long = [7u8; 100];
        let stamp = cache.stamp(&long);
        cache.fill(&long, stamp, 5, Some(b"l"));
        assert_eq!(cache.get(&long, 5), Some(Some(b"l".to_vec())));
        assert_eq!(cache.get(&long[..99], 5), None);
    }

    #[test]
    fn a_fill_that_raced_a_commit_is_dropped() {
        let cache = RowCache::new(1 << 20);
        let stamp = cache.stamp(b"k");
        // A commit lands between the reader's engine read and its fill.
        cache.invalidate(b"k");
        cache.fill(b"k", stamp, 10, Some(b"old"));
        assert_eq!(cache.get(b"k", 100), None);
        // After a clear, no earlier stamp is good either.
        let stamp = cache.stamp(b"k");
        cache.clear();
        cache.fill(b"k", stamp, 10, Some(b"old"));
        assert_eq!(cache.get(b"k", 100), None);
    }
}
