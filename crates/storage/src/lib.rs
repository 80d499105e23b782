//! The local engine of a storage node, behind one narrow trait.
//!
//! Everything above this crate (MVCC, Raft, PD metadata) sees an ordered
//! byte-key store split into a few *column families*, written through atomic
//! [`WriteBatch`]es and read through consistent [`Snapshot`]s. Keeping the
//! trait this small is what would let another LSM engine (RocksDB, say) sit
//! behind it later without touching the layers above.
//!
//! The one implementation today is [`FjallEngine`], on the pure-Rust `fjall`
//! LSM tree. See `docs/ARCHITECTURE.md` for its settings and the reasons.

mod delete_range;
mod fjall_engine;

pub use fjall_engine::{EngineConfig, FjallEngine, FjallIter, FjallSnapshot};

use std::ops::Bound;

/// An immutable, cheaply cloned byte string handed out by reads.
///
/// Reads return the engine's own reference-counted buffers rather than fresh
/// `Vec`s so a scan does not copy every key and value it passes over.
pub type Slice = fjall::Slice;

/// The column families of a store; each is a separate LSM tree sharing one
/// write-ahead journal, so a batch across families is atomic.
///
/// The split follows Percolator (and TiKV): small, hot lock records do not
/// share compactions with the ever-growing version history.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    /// Transaction values too large to inline in a write record, at `key ‖ !start_ts`.
    Default,
    /// Percolator locks at the bare key: at most one per key, short-lived.
    Lock,
    /// Commit and rollback records at `key ‖ !commit_ts`, newest first.
    Write,
    /// Raft logs and per-region state.
    Raft,
    /// The newest committed version of each key at the bare key, beside its
    /// history in `write`: reads at or after it need one entry per key, not a
    /// walk past every version a hot row piled up.
    Latest,
}

impl Cf {
    /// Every family, in a fixed order (used when opening the engine).
    pub const ALL: [Cf; 5] = [Cf::Default, Cf::Lock, Cf::Write, Cf::Raft, Cf::Latest];
    /// The families holding user data; a region's data range spans all four.
    pub const DATA: [Cf; 4] = [Cf::Default, Cf::Lock, Cf::Write, Cf::Latest];

    /// The on-disk keyspace name; changing it orphans existing data.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Default => "default",
            Cf::Lock => "lock",
            Cf::Write => "write",
            Cf::Raft => "raft",
            Cf::Latest => "latest",
        }
    }
}

/// Errors from the local engine. An error here means the disk or the data on
/// it is in trouble, never that a caller's input was bad.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine itself failed (I/O, a poisoned journal after a failed fsync).
    #[error("engine: {0}")]
    Engine(#[from] fjall::Error),
    /// Bytes on disk that this crate wrote do not decode.
    #[error("corruption: {0}")]
    Corruption(String),
    /// Plain I/O outside the engine (directories, lock files).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// One change inside a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modify {
    /// Set `key` to `value` in a family.
    Put(Cf, Vec<u8>, Vec<u8>),
    /// Remove `key` from a family.
    Delete(Cf, Vec<u8>),
}

/// Changes applied atomically across families: after a crash either all of a
/// batch is visible or none of it is.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    modifies: Vec<Modify>,
    sync: bool,
}

impl WriteBatch {
    /// An empty batch that will not wait for fsync.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue a put.
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.modifies
            .push(Modify::Put(cf, key.into(), value.into()));
    }

    /// Queue a delete.
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.modifies.push(Modify::Delete(cf, key.into()));
    }

    /// Whether [`Engine::write`] returns only once the batch is on stable
    /// storage. Syncing one batch also makes every earlier batch durable, since
    /// all families share one sequential journal; that is what lets a
    /// transaction skip the sync on prewrite and pay it once at commit.
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// Whether this batch asks for fsync.
    pub fn is_sync(&self) -> bool {
        self.sync
    }

    /// Number of queued changes.
    pub fn len(&self) -> usize {
        self.modifies.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.modifies.is_empty()
    }

    /// The queued changes, in order.
    pub fn modifies(&self) -> &[Modify] {
        &self.modifies
    }

    /// Take the queued changes out of the batch.
    pub fn into_modifies(self) -> Vec<Modify> {
        self.modifies
    }
}

/// A key range `[start, end)`; `end == None` means "to the end of the family".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// Inclusive lower bound.
    pub start: Vec<u8>,
    /// Exclusive upper bound, or unbounded.
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// `[start, end)`.
    pub fn new(start: impl Into<Vec<u8>>, end: Option<Vec<u8>>) -> Self {
        Self {
            start: start.into(),
            end,
        }
    }

    /// Whether `key` falls inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| key < end)
    }

    /// The range as `std` bounds, for engines that take `RangeBounds`.
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (
            Bound::Included(self.start.as_slice()),
            self.end
                .as_deref()
                .map_or(Bound::Unbounded, Bound::Excluded),
        )
    }
}

/// A consistent, read-only view of all families as of one moment.
///
/// Holding a snapshot keeps the versions it can see from being compacted away,
/// so holders keep them short-lived (one request, one scan).
pub trait Snapshot: Clone + Send + Sync + 'static {
    /// The iterator [`Snapshot::scan`] returns.
    type Iter: Iterator<Item = Result<(Slice, Slice)>> + Send;

    /// Point read.
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Slice>>;

    /// Iterate the keys of `range` in ascending order, or descending when
    /// `reverse` is set. Bounded on both sides, so an iterator never wanders
    /// into another region's or table's keys.
    fn scan(&self, cf: Cf, range: &KeyRange, reverse: bool) -> Self::Iter;
}

/// The local engine of one store.
pub trait Engine: Clone + Send + Sync + 'static {
    /// The snapshot type.
    type Snap: Snapshot;

    /// A consistent view across all families, O(1) to take.
    fn snapshot(&self) -> Self::Snap;

    /// Apply a batch atomically; when the batch asks for sync, return only once
    /// it is durable. Concurrent syncing writers share one fsync (group commit).
    fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Remove every key of `range` in each of `cfs`, at a cost proportional to
    /// the number of files involved, not the number of keys. Reads stop seeing
    /// the keys at once, in every snapshot, old or new: callers only delete
    /// ranges that no reader needs any more (a dropped table past the GC safe
    /// point, a replica that left the store). A later write into the range is
    /// visible as usual.
    fn delete_range(&self, cfs: &[Cf], range: &KeyRange) -> Result<()>;

    /// Make every write so far durable (used at clean shutdown).
    fn sync(&self) -> Result<()>;
}
