//! [`Engine`] on `fjall`: one database, one keyspace per [`Cf`], one journal.
//!
//! # Durability
//!
//! fjall appends every batch to a journal shared by all keyspaces, which is
//! what makes a batch across families atomic. The database is opened with
//! `manual_journal_persist`, so a batch is only copied into the journal's
//! buffer: durability is decided here, not per call inside fjall. A batch that
//! asks for sync goes through group commit, where concurrent syncing writers
//! share one `fdatasync`. That is enough because fjall preallocates journal
//! files and `fsync`s them, and their directory, when it creates or seals one,
//! so a data sync never has to carry a size or directory change. fjall also
//! syncs the journal on its own before each memtable flush (a flushed table
//! must never be ahead of the journal), which only ever adds durability.
//!
//! A batch without sync may be lost in a crash, process or machine, together
//! with every later batch, but never partly and never out of order: recovery
//! replays a prefix of the journal.

mod group_commit;
mod journal_file;
mod metrics;

use crate::delete_range::{
    CfSet, DeletedRanges, Era, FilterFactory, META_KEYSPACE, Mutation, RangeRecord, cf_index,
};
use crate::{Cf, Engine, KeyRange, Modify, Result, Slice, Snapshot, WriteBatch};
use fjall::compaction::Leveled;
use fjall::compaction::filter::Factory;
use fjall::config::{BlockSizePolicy, BloomConstructionPolicy, FilterPolicy, FilterPolicyEntry};
use fjall::{
    AbstractTree, Database, Keyspace, KeyspaceCreateOptions, KvSeparationOptions, OwnedWriteBatch,
    PersistMode, Readable, SeqNo,
};
use group_commit::GroupCommit;
use journal_file::JournalFile;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const KIB: u32 = 1024;
const MIB: u64 = 1024 * 1024;

/// Point deletes per batch when retiring a deleted range, so one retirement
/// never builds a batch (and a journal entry) of unbounded size.
const LEFTOVER_CHUNK: usize = 1024;

/// Settings for [`FjallEngine::open`].
///
/// The per-family settings (`memtable_bytes`, `table_target_bytes`,
/// `blob_threshold`) are recorded by fjall when a family is first created and
/// are fixed from then on; changing them later affects only new stores.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Directory of the store: journal, families, deleted-range records.
    pub path: PathBuf,
    /// Block cache shared by all families. It holds data, index and filter
    /// blocks, so it is what keeps MVCC seeks off the disk.
    pub block_cache_bytes: u64,
    /// Memtable size of each family: larger absorbs more overwrites (a lock
    /// written and deleted within one memtable) and makes fewer L0 tables, at
    /// the price of memory and of journal to replay after a crash.
    pub memtable_bytes: u64,
    /// Target size of table files. Smaller tables let `delete_range` drop more
    /// of a range as whole files (only tables wholly inside it go) and make
    /// compactions finer, at the price of more files.
    pub table_target_bytes: u64,
    /// Values of the `default` family at least this large live in blob files
    /// outside the LSM tree (TiKV's Titan idea): compactions then move a small
    /// pointer instead of rewriting the value at every level.
    pub blob_threshold: u32,
    /// Background flush and compaction threads (at least 1).
    pub worker_threads: usize,
    /// Journal size past which fjall flushes the families holding the oldest
    /// journal back, bounding disk use and replay time (at least 64 MiB).
    pub max_journal_bytes: u64,
}

impl EngineConfig {
    /// Defaults sized for a small node; see `docs/ARCHITECTURE.md`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            path: path.into(),
            block_cache_bytes: 128 * MIB,
            memtable_bytes: 32 * MIB,
            table_target_bytes: 16 * MIB,
            blob_threshold: 4 * KIB,
            worker_threads: cores.min(4),
            max_journal_bytes: 512 * MIB,
        }
    }
}

/// Memtable size of the `latest` family (see `family_options`).
const LATEST_MEMTABLE_BYTES: u64 = 4 * MIB;

/// Per-family tuning: each family is read differently, so each gets its own
/// block size and filters. See `docs/ARCHITECTURE.md` for the reasoning.
fn family_options(cf: Cf, config: &EngineConfig) -> KeyspaceCreateOptions {
    let base = KeyspaceCreateOptions::default()
        .manual_journal_persist(true)
        .max_memtable_size(config.memtable_bytes)
        .compaction_strategy(Arc::new(
            Leveled::default().with_table_target_size(config.table_target_bytes),
        ));
    match cf {
        // Read by exact key (the write record names the start_ts), and the key
        // is nearly always there: skip the last level's filter, which would
        // hold ~90% of the filter memory and never say "absent".
        Cf::Default => base
            .data_block_size_policy(BlockSizePolicy::all(8 * KIB))
            .expect_point_read_hits(true)
            .with_kv_separation(Some(
                KvSeparationOptions::default().separation_threshold(config.blob_threshold),
            )),
        // Written by every prewrite and commit, but read only when the store
        // opens (a scan that fills the in-memory lock table, which serves
        // every lock lookup after that): small blocks, no filters.
        Cf::Lock => base
            .data_block_size_policy(BlockSizePolicy::all(4 * KIB))
            .filter_policy(FilterPolicy::disabled()),
        // Read by seeks over a key's versions, and by one point lookup per
        // key a transaction writes (its own rollback record, `key ‖
        // !start_ts`), which nearly always misses: 1% bloom filters answer
        // that without reading blocks. Larger blocks for the seeks.
        Cf::Write => base
            .data_block_size_policy(BlockSizePolicy::all(16 * KIB))
            .filter_policy(FilterPolicy::all(FilterPolicyEntry::Bloom(
                BloomConstructionPolicy::FalsePositiveRate(0.01),
            ))),
        // Log entries are read by exact index and scanned in order when
        // replicating; nearly all reads hit.
        Cf::Raft => base
            .data_block_size_policy(BlockSizePolicy::all(16 * KIB))
            .expect_point_read_hits(true),
        // Read by exact key (point reads, mostly hits) and scanned in ranges.
        // Every commit rewrites its keys here, so a hot row gathers one entry
        // per update in the memtable, and a scan steps over all of them: a
        // small memtable flushes often, and a flush keeps only the newest
        // entry of a key that no snapshot still needs.
        Cf::Latest => base
            .max_memtable_size(config.memtable_bytes.min(LATEST_MEMTABLE_BYTES))
            .data_block_size_policy(BlockSizePolicy::all(16 * KIB))
            .expect_point_read_hits(true),
    }
}

/// The local engine of one store, on fjall. Cloning is cheap and shares the
/// engine, so every service of a node can hold its own handle.
#[derive(Clone)]
pub struct FjallEngine {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    /// In [`Cf::ALL`] order.
    families: [Keyspace; 5],
    /// Persisted deleted-range records.
    meta: Keyspace,
    ranges: Arc<DeletedRanges>,
    commits: GroupCommit,
    /// The active journal, fdatasynced outside fjall's lock.
    journal: std::sync::Mutex<JournalFile>,
    stats: metrics::WriteStats,
}

impl FjallEngine {
    /// Report this engine's figures in the process' `/metrics` (for the
    /// one engine of a store that matters; registering a second engine in
    /// the same process fails).
    pub fn register_metrics(&self) -> prometheus::Result<()> {
        prometheus::register(Box::new(metrics::EngineCollector::new(&self.inner)?))
    }

    /// Open the store at `config.path`, creating it if needed, and restore the
    /// deleted ranges that were not retired yet.
    pub fn open(config: EngineConfig) -> Result<Self> {
        let ranges = Arc::new(DeletedRanges::default());
        let for_filters = ranges.clone();
        let db = Database::builder(&config.path)
            .cache_size(config.block_cache_bytes)
            .manual_journal_persist(true)
            .worker_threads(config.worker_threads.max(1))
            .max_journaling_size(config.max_journal_bytes.max(64 * MIB))
            .with_compaction_filter_factories(Arc::new(move |name: &str| {
                let cf = Cf::ALL.into_iter().find(|cf| cf.name() == name)?;
                let factory: Arc<dyn Factory> = Arc::new(FilterFactory {
                    cf,
                    ranges: for_filters.clone(),
                });
                Some(factory)
            }))
            .open()?;

        let [default, lock, write, raft, latest] =
            Cf::ALL.map(|cf| db.keyspace(cf.name(), || family_options(cf, &config)));
        let families = [default?, lock?, write?, raft?, latest?];
        let meta = db.keyspace(META_KEYSPACE, || {
            KeyspaceCreateOptions::default()
                .manual_journal_persist(true)
                .expect_point_read_hits(true)
        })?;

        let records = meta
            .iter()
            .map(|guard| {
                let (key, value) = guard.into_inner()?;
                RangeRecord::decode(&key, &value)
            })
            .collect::<Result<Vec<_>>>()?;
        if !records.is_empty() {
            tracing::info!(count = records.len(), "restored deleted ranges");
        }
        ranges.lock().restore(records);

        let inner = Inner {
            db,
            families,
            meta,
            ranges,
            commits: GroupCommit::default(),
            journal: std::sync::Mutex::new(JournalFile::new(&config.path)),
            stats: metrics::WriteStats::default(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Retire deleted ranges: drop the tables that have come to lie wholly
    /// inside a range since it was deleted, point-delete the few keys left,
    /// and forget the record. Returns how many ranges were retired.
    ///
    /// Meant for a background task, some time after `delete_range`: the longer
    /// it waits, the more of each range background compactions will already
    /// have removed for free. It also lets go of retired ranges that only
    /// snapshots closed since were still hiding.
    pub fn compact_deleted_ranges(&self) -> Result<usize> {
        let inner = &*self.inner;
        let mut m = inner.ranges.lock();
        let mut retired = 0;
        for record in m.active_records() {
            for cf in record.cfs.iter() {
                inner
                    .family(cf)
                    .tree
                    .drop_range::<&[u8], _>(record.range.bounds())
                    .map_err(fjall::Error::from)?;
            }
            if inner.retire(&mut m, record.id)? {
                retired += 1;
            }
        }
        m.prune();
        Ok(retired)
    }

    /// Deleted ranges not retired yet: reads pay a (small) check while any
    /// exist, so a growing number means retirement is not keeping up.
    pub fn deleted_range_count(&self) -> usize {
        self.inner.ranges.active_count()
    }

    /// fsyncs issued by group commit; compared with the number of synced
    /// batches it shows how well syncs are being shared.
    pub fn fsync_count(&self) -> u64 {
        self.inner.commits.fsyncs()
    }

    /// Write every memtable out to table files and wait for it, so that the
    /// tables hold all data written so far (before a file-level operation such
    /// as `delete_range`, or to shorten the journal replay of a restart).
    pub fn flush(&self) -> Result<()> {
        for family in &self.inner.families {
            family.rotate_memtable()?;
        }
        // fjall flushes in the background. A worker that fails poisons the
        // database instead of flushing, which `persist` reports: stop then
        // rather than wait forever.
        while self
            .inner
            .families
            .iter()
            .any(|f| f.sealed_memtable_count() > 0)
        {
            self.inner.db.persist(PersistMode::Buffer)?;
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }

    /// Table files of a family, for metrics.
    pub fn table_count(&self, cf: Cf) -> usize {
        self.inner.family(cf).table_count()
    }

    /// Blob files of a family (only `default` separates values), for metrics.
    pub fn blob_file_count(&self, cf: Cf) -> usize {
        self.inner.family(cf).blob_file_count()
    }

    /// Disk space of a family's tables and blob files, for metrics.
    pub fn disk_space(&self, cf: Cf) -> u64 {
        self.inner.family(cf).disk_space()
    }
}

impl Inner {
    fn family(&self, cf: Cf) -> &Keyspace {
        &self.families[cf_index(cf)]
    }

    /// Append a batch to the journal; with `sync`, wait until it is durable.
    fn commit(&self, batch: OwnedWriteBatch, sync: bool) -> Result<()> {
        self.stats.wrote(batch.len());
        batch.commit()?;
        let ticket = self.commits.appended();
        if sync {
            self.sync_journal(ticket)
        } else {
            Ok(())
        }
    }

    fn sync_journal(&self, ticket: u64) -> Result<()> {
        self.commits.sync(ticket, || {
            let started = std::time::Instant::now();
            self.db.persist(PersistMode::Buffer)?;
            // Only the group commit's syncer gets here: never contended.
            let synced = self
                .journal
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .sync_data();
            self.stats.synced(started.elapsed());
            synced
        })
    }

    /// Before a batch writes into an active deleted range, retire the range,
    /// or the range would hide the new keys too.
    fn retire_ranges_hit_by(&self, modifies: &[Modify]) -> Result<()> {
        let keys = modifies.iter().map(|m| match m {
            Modify::Put(cf, key, _) | Modify::Delete(cf, key) => (*cf, key.as_slice()),
        });
        let ids = self.ranges.active_hits(keys);
        if ids.is_empty() {
            // Nothing to retire. Meanwhile forget retired ranges no snapshot
            // needs any more, so that reads return to the one-load fast path
            // without waiting for the next `compact_deleted_ranges`.
            if self.ranges.has_prunable()
                && let Some(mut m) = self.ranges.try_lock()
            {
                m.prune();
            }
            return Ok(());
        }
        let mut m = self.ranges.lock();
        for id in ids {
            self.retire(&mut m, id)?;
        }
        Ok(())
    }

    /// Point-delete what is left of a range, then drop its record. Returns
    /// false if someone else retired it first.
    fn retire(&self, m: &mut Mutation<'_>, id: u64) -> Result<bool> {
        let Some(record) = m.active(id) else {
            return Ok(false);
        };
        let mut leftovers = 0;
        for cf in record.cfs.iter() {
            leftovers += self.delete_leftovers(cf, &record.range)?;
        }
        // Not synced: it is ahead of any later write in the journal, so it is
        // durable whenever a later write into the range is.
        let mut batch = OwnedWriteBatch::with_capacity(self.db.clone(), 1);
        batch.remove(&self.meta, record.key().to_vec());
        self.commit(batch, false)?;
        // Snapshots taken from here on see every point delete above.
        let visible_from: SeqNo = self.db.snapshot().seqno();
        m.retire(id, visible_from);
        tracing::info!(id, leftovers, "deleted range retired");
        Ok(true)
    }

    /// Tombstone every key still present in `range` of `cf`: only what file
    /// dropping and compaction have not removed yet.
    fn delete_leftovers(&self, cf: Cf, range: &KeyRange) -> Result<u64> {
        let family = self.family(cf);
        let end = range
            .end
            .as_deref()
            .map_or(Bound::Unbounded, |e| Bound::Excluded(Slice::from(e)));
        let mut start = Bound::Included(Slice::from(range.start.as_slice()));
        let mut deleted = 0;
        loop {
            let mut batch = OwnedWriteBatch::with_capacity(self.db.clone(), LEFTOVER_CHUNK);
            let mut last = None;
            // Unfiltered and at the newest sequence number: the raw keys.
            for guard in family
                .range((start.clone(), end.clone()))
                .take(LEFTOVER_CHUNK)
            {
                let key = guard.key()?;
                batch.remove(family, key.clone());
                last = Some(key);
            }
            let n = batch.len();
            if n == 0 {
                return Ok(deleted);
            }
            self.commit(batch, false)?;
            deleted += n as u64;
            match last {
                Some(key) if n == LEFTOVER_CHUNK => start = Bound::Excluded(key),
                _ => return Ok(deleted),
            }
        }
    }
}

fn is_empty_range(range: &KeyRange) -> bool {
    range
        .end
        .as_deref()
        .is_some_and(|end| end <= range.start.as_slice())
}

impl Engine for FjallEngine {
    type Snap = FjallSnapshot;

    fn snapshot(&self) -> FjallSnapshot {
        // Pin the era before taking the snapshot: any range retired after the
        // pin then outlives this snapshot in memory, and keeps hiding its keys
        // from it if the snapshot is older than the retirement's deletes.
        let era = self.inner.ranges.pin_era();
        let snap = self.inner.db.snapshot();
        let seqno = snap.seqno();
        FjallSnapshot(Arc::new(SnapshotInner {
            snap,
            seqno,
            engine: self.inner.clone(),
            era,
        }))
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let inner = &*self.inner;
        let sync = batch.is_sync();
        if batch.is_empty() {
            // An empty synced batch still promises that earlier ones are durable.
            return if sync {
                inner.sync_journal(inner.commits.latest())
            } else {
                Ok(())
            };
        }
        if !inner.ranges.is_empty() {
            inner.retire_ranges_hit_by(batch.modifies())?;
        }
        let mut out = OwnedWriteBatch::with_capacity(inner.db.clone(), batch.len());
        for m in batch.into_modifies() {
            match m {
                Modify::Put(cf, key, value) => out.insert(inner.family(cf), key, value),
                Modify::Delete(cf, key) => out.remove(inner.family(cf), key),
            }
        }
        inner.commit(out, sync)
    }

    fn delete_range(&self, cfs: &[Cf], range: &KeyRange) -> Result<()> {
        let inner = &*self.inner;
        if cfs.is_empty() || is_empty_range(range) {
            return Ok(());
        }
        let record = {
            let mut m = inner.ranges.lock();
            let record = RangeRecord {
                id: m.allocate_id(),
                cfs: CfSet::of(cfs),
                range: range.clone(),
            };
            // Durable before any data is touched: a crash after dropping
            // tables must not bring back the rest of the range.
            let mut batch = OwnedWriteBatch::with_capacity(inner.db.clone(), 1);
            batch.insert(&inner.meta, record.key().to_vec(), record.encode_value());
            inner.commit(batch, true)?;
            m.add(record.clone());
            record
        };
        let before: usize = record
            .cfs
            .iter()
            .map(|cf| inner.family(cf).table_count())
            .sum();
        for cf in record.cfs.iter() {
            inner
                .family(cf)
                .tree
                .drop_range::<&[u8], _>(range.bounds())
                .map_err(fjall::Error::from)?;
        }
        let after: usize = record
            .cfs
            .iter()
            .map(|cf| inner.family(cf).table_count())
            .sum();
        tracing::info!(
            id = record.id,
            tables_dropped = before.saturating_sub(after),
            "deleted range"
        );
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync_journal(self.inner.commits.latest())
    }
}

/// A consistent view of all families. Cloning shares it rather than opening
/// another fjall snapshot. It keeps the store open (and old versions from
/// being compacted away) until dropped, so hold it briefly.
#[derive(Clone)]
pub struct FjallSnapshot(Arc<SnapshotInner>);

struct SnapshotInner {
    snap: fjall::Snapshot,
    seqno: SeqNo,
    engine: Arc<Inner>,
    /// Keeps deleted ranges retired after this snapshot was taken hiding from it.
    era: Arc<Era>,
}

impl Snapshot for FjallSnapshot {
    type Iter = FjallIter;

    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Slice>> {
        let s = &*self.0;
        if s.engine.ranges.hides(cf, key, s.seqno) {
            return Ok(None);
        }
        Ok(s.snap.get(s.engine.family(cf), key)?)
    }

    fn scan(&self, cf: Cf, range: &KeyRange, reverse: bool) -> FjallIter {
        let s = &*self.0;
        let inner = (!is_empty_range(range)).then(|| {
            s.snap
                .range::<&[u8], _>(s.engine.family(cf), range.bounds())
        });
        FjallIter {
            inner,
            reverse,
            cf,
            seqno: s.seqno,
            ranges: s.engine.ranges.clone(),
            _era: s.era.clone(),
        }
    }
}

/// A bounded scan over one family of a [`FjallSnapshot`]. It holds its own
/// reference to the snapshot, so it may outlive the handle it came from.
pub struct FjallIter {
    /// `None` once exhausted or failed, or for an empty range.
    inner: Option<fjall::Iter>,
    reverse: bool,
    cf: Cf,
    seqno: SeqNo,
    ranges: Arc<DeletedRanges>,
    /// The snapshot's era, for when the iterator outlives the snapshot handle.
    _era: Arc<Era>,
}

impl Iterator for FjallIter {
    type Item = Result<(Slice, Slice)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let iter = self.inner.as_mut()?;
            let Some(guard) = (if self.reverse {
                iter.next_back()
            } else {
                iter.next()
            }) else {
                self.inner = None;
                return None;
            };
            let item = if self.ranges.is_empty() {
                guard.into_inner().map(Some)
            } else {
                // Decide on the key alone: a hidden blob value is never read.
                let (ranges, cf, seqno) = (&self.ranges, self.cf, self.seqno);
                guard
                    .into_inner_if(|key| !ranges.hides(cf, key, seqno))
                    .map(|(key, value)| value.map(|value| (key, value)))
            };
            match item {
                Ok(Some(pair)) => return Some(Ok(pair)),
                Ok(None) => continue,
                Err(e) => {
                    self.inner = None;
                    return Some(Err(e.into()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> FjallEngine {
        let mut config = EngineConfig::new(dir);
        config.table_target_bytes = 64 * 1024;
        FjallEngine::open(config).unwrap()
    }

    fn raw_count(engine: &FjallEngine, cf: Cf, range: &KeyRange) -> usize {
        engine
            .inner
            .family(cf)
            .range::<&[u8], _>(range.bounds())
            .count()
    }

    /// The compaction filter tombstones keys of an active range that sit in a
    /// table straddling the range, which file dropping cannot remove.
    #[test]
    fn compaction_filter_removes_keys_of_active_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut batch = WriteBatch::new();
        for i in 0..2_000u32 {
            batch.put(Cf::Write, format!("k{i:05}"), vec![7u8; 64]);
        }
        engine.write(batch).unwrap();
        engine.flush().unwrap();

        // Starts mid-table and ends past the last key: no table lies wholly inside.
        let range = KeyRange::new("k00500", Some(b"k01500x".to_vec()));
        engine.delete_range(&[Cf::Write], &range).unwrap();
        assert!(
            raw_count(&engine, Cf::Write, &range) > 0,
            "straddling tables survive drop_range"
        );

        engine.inner.family(Cf::Write).major_compact().unwrap();
        assert_eq!(raw_count(&engine, Cf::Write, &range), 0);
        // k00000..k00499 and k01501..k01999 remain.
        assert_eq!(
            raw_count(&engine, Cf::Write, &KeyRange::new("k", None)),
            999
        );
        assert_eq!(engine.compact_deleted_ranges().unwrap(), 1);
    }

    /// Retirement point-deletes leftovers in chunks, memtable contents included.
    #[test]
    fn retirement_deletes_leftovers_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let mut batch = WriteBatch::new();
        for i in 0..(3 * LEFTOVER_CHUNK + 5) {
            batch.put(Cf::Lock, format!("r{i:06}"), "lock");
        }
        batch.put(Cf::Lock, "s", "outside");
        engine.write(batch).unwrap();
        let range = KeyRange::new("r", Some(b"s".to_vec()));
        engine.delete_range(&[Cf::Lock], &range).unwrap();
        assert_eq!(
            raw_count(&engine, Cf::Lock, &range),
            3 * LEFTOVER_CHUNK + 5,
            "memtable keys stay until retired"
        );
        assert_eq!(
            engine.inner.delete_leftovers(Cf::Lock, &range).unwrap(),
            3 * LEFTOVER_CHUNK as u64 + 5
        );
        assert_eq!(raw_count(&engine, Cf::Lock, &range), 0);
        assert_eq!(engine.compact_deleted_ranges().unwrap(), 1);
        assert_eq!(
            engine.snapshot().get(Cf::Lock, b"s").unwrap().as_deref(),
            Some(&b"outside"[..])
        );
    }
}
