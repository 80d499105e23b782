//! The transactional commands a storage node serves, each one a unit of work:
//! take the latches of its keys, read a fresh snapshot, run the per-key
//! [`actions`](crate::actions), apply all changes in one atomic batch.
//!
//! Durability is chosen per command. A commit or rollback decides a
//! transaction's fate, so it is synced before it returns. A prewrite is not:
//! the engine has one sequential journal, so the commit that follows a
//! prewrite makes the prewrite durable too, and a prewrite lost in a crash
//! belongs to a transaction that never got to commit.

use crate::actions::{self, Mutation, PrewriteProps, TxnStatus};
use crate::command::Command;
use crate::gc::{self, GcStats};
use crate::latch::Latches;
use crate::lock_table::{LockChanges, LockTable};
use crate::reader::{MvccReader, covered_range, lock_info};
use crate::record::{Lock, LockType, Write, encode_latest};
use crate::row_cache::{RowCache, Stamp};
use crate::{Error, LockInfo, Result};
use codec::mvcc::{encode_key, split_ts};
use std::sync::atomic::{AtomicU64, Ordering};
use storage::{Cf, Engine, KeyRange, Modify, Snapshot, WriteBatch};

/// What [`TxnStore::checksum`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// The digest of keys and values in order.
    pub digest: u64,
    /// Pairs.
    pub kvs: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
}

/// Every MVCC record of one key, as [`TxnStore::mvcc_info`] found them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MvccInfo {
    /// The transaction in flight on the key, pessimistic locks included.
    pub lock: Option<Lock>,
    /// `(commit_ts, record, value)` of every write record, newest first,
    /// rollbacks included; the value is a put's, wherever it is stored.
    pub writes: Vec<(u64, Write, Option<Vec<u8>>)>,
}

/// Where a write command's changes go to take effect: a region's Raft log
/// (replicated, then applied on every replica through
/// [`TxnStore::apply_batch`]) or, for a store on its own, straight into
/// [`TxnStore::apply_batch`].
pub trait Writer {
    /// Make `batch` take effect; returns once this store has applied it.
    fn write(&self, batch: WriteBatch) -> Result<()>;
}

/// The writer of commands that change only the lock table: a batch from
/// one would be a bug, refused rather than applied unreplicated.
struct NoBatch;

impl Writer for NoBatch {
    fn write(&self, _batch: WriteBatch) -> Result<()> {
        Err(Error::InvalidRequest(
            "a lock-table-only command produced a batch".into(),
        ))
    }
}

impl<E: Engine> Writer for TxnStore<E> {
    fn write(&self, batch: WriteBatch) -> Result<()> {
        self.apply_batch(batch)
    }
}

/// Latch slots per store: enough that unrelated keys rarely share one.
const LATCH_SLOTS: usize = 1 << 14;

/// Memory for the row cache: 128 MiB holds the newest version of about
/// 400,000 sysbench rows (~300 bytes each with the entry's overhead).
const ROW_CACHE_BYTES: u64 = 128 << 20;

/// Percolator commands over one local engine.
pub struct TxnStore<E: Engine> {
    engine: E,
    latches: Latches,
    /// The live locks, which readers check instead of the `lock` family.
    locks: LockTable,
    /// The newest version of recently read keys, for point reads.
    rows: RowCache,
    /// The highest timestamp any read has used: a one-phase commit commits
    /// above it (see [`prewrite`](Self::prewrite)).
    max_read_ts: AtomicU64,
}

impl<E: Engine> TxnStore<E> {
    /// Serve transactions out of `engine`, whose locks are loaded first.
    pub fn open(engine: E) -> Result<Self> {
        backfill_latest(&engine)?;
        let locks = LockTable::load(load_locks(&engine)?);
        Ok(Self {
            engine,
            latches: Latches::new(LATCH_SLOTS),
            locks,
            rows: RowCache::new(ROW_CACHE_BYTES),
            max_read_ts: AtomicU64::new(0),
        })
    }

    /// The engine underneath, for maintenance (GC, delete-range).
    pub fn engine(&self) -> &E {
        &self.engine
    }

    fn reader(&self) -> MvccReader<E::Snap> {
        MvccReader::new(self.engine.snapshot())
    }

    /// Run a write command: latches on `keys`, a fresh snapshot, one batch.
    fn write_command<'k, T>(
        &self,
        w: &dyn Writer,
        keys: impl IntoIterator<Item = &'k [u8]>,
        sync: bool,
        command: impl FnOnce(&mut Command<'_, E::Snap>) -> Result<T>,
    ) -> Result<T> {
        let _latches = self.latches.acquire(keys);
        self.run_command(w, sync, command)
    }

    /// Run a command that changes only the lock table (pessimistic locks,
    /// which no batch carries): with `wait`, once its latches are held;
    /// without, only if they are free at once (`None` if not).
    fn lock_command(
        &self,
        keys: &[Vec<u8>],
        wait: bool,
        command: impl FnOnce(&mut Command<'_, E::Snap>) -> Result<()>,
    ) -> Option<Result<()>> {
        let keys = keys.iter().map(Vec::as_slice);
        let _latches = if wait {
            self.latches.acquire(keys)
        } else {
            self.latches.try_acquire(keys)?
        };
        Some(self.run_command(&NoBatch, false, command))
    }

    fn run_command<T>(
        &self,
        w: &dyn Writer,
        sync: bool,
        command: impl FnOnce(&mut Command<'_, E::Snap>) -> Result<T>,
    ) -> Result<T> {
        let mut cmd = Command::new(self.reader(), &self.locks);
        let out = command(&mut cmd)?;
        self.apply(w, cmd, sync)?;
        Ok(out)
    }

    /// Apply a command's changes through `w`, then its lock changes, the
    /// in-memory ones included (pessimistic locks, which no batch carries).
    fn apply(&self, w: &dyn Writer, cmd: Command<'_, E::Snap>, sync: bool) -> Result<()> {
        let (mut batch, lock_changes) = cmd.into_parts();
        if !batch.is_empty() {
            batch.set_sync(sync);
            w.write(batch)?;
        }
        self.locks.apply(lock_changes);
        Ok(())
    }

    /// Apply a batch of changes (a command's own, or one replicated from a
    /// region's leader): the engine first, then the row cache, then the lock
    /// table, which follows the batch's `lock` family writes (see
    /// `lock_table` and `row_cache`).
    pub fn apply_batch(&self, batch: WriteBatch) -> Result<()> {
        let committed = committed_keys(&batch);
        let mut lock_changes = LockChanges::default();
        for modify in batch.modifies() {
            match modify {
                Modify::Put(Cf::Lock, key, value) => {
                    lock_changes.push(key.clone(), Some(Lock::decode(value)?))
                }
                Modify::Delete(Cf::Lock, key) => lock_changes.push(key.clone(), None),
                _ => {}
            }
        }
        self.engine.write(batch)?;
        for key in &committed {
            self.rows.invalidate(key);
        }
        self.locks.apply(lock_changes);
        Ok(())
    }

    /// The data of the encoded `range` was replaced underneath (a Raft
    /// snapshot installed, a replica removed): reload its locks from the
    /// engine and forget cached rows.
    pub fn reload_range(&self, range: &KeyRange) -> Result<()> {
        let mut locks = Vec::new();
        for item in self.engine.snapshot().scan(Cf::Lock, range, false) {
            let (key, value) = item?;
            locks.push((key.to_vec(), Lock::decode(&value)?));
        }
        self.locks.reload(range, locks);
        self.rows.clear();
        Ok(())
    }

    /// Forget the pessimistic locks in the encoded `range`: this store
    /// stopped leading the region there, and such locks live
    /// only in the memory of the leader that took them. Left behind, a
    /// former leader's would make writers wait out their TTL once it led
    /// again, although their transactions had long finished elsewhere.
    /// Their owners lose nothing: prewrite checks a key whose lock is gone
    /// against every commit since the transaction started.
    pub fn forget_pessimistic_locks(&self, range: &KeyRange) {
        self.locks.forget_pessimistic(range);
    }

    /// Note a read at `ts` before it looks at locks (see
    /// [`prewrite`](Self::prewrite)). A store that becomes a region's
    /// leader also notes a fresh timestamp: every read its predecessor
    /// served was below it, so its one-phase commits land above them too.
    pub fn note_read(&self, ts: u64) {
        if ts == codec::ts::LATEST {
            return;
        }
        self.max_read_ts.fetch_max(ts, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    /// The value of `key` as of `ts`. Fails with [`Error::KeyIsLocked`] if a
    /// transaction that may commit at or before `ts` has it locked.
    pub fn get(&self, key: &[u8], ts: u64) -> Result<Option<Vec<u8>>> {
        let encoded = encode_key(key);
        self.note_read(ts);
        self.locks.check_key(&encoded, ts)?;
        if let Some(value) = self.rows.get(&encoded, ts) {
            return Ok(value);
        }
        let stamp = self.rows.stamp(&encoded);
        self.read_through(&self.reader(), &encoded, stamp, ts)
    }

    /// Read a key the row cache missed from `reader` (taken after `stamp`),
    /// and keep its newest version if that is what the read sees.
    fn read_through(
        &self,
        reader: &MvccReader<E::Snap>,
        encoded: &[u8],
        stamp: Stamp,
        ts: u64,
    ) -> Result<Option<Vec<u8>>> {
        match reader.latest(encoded)? {
            Some((commit_ts, write)) if commit_ts <= ts => {
                let value = reader.data_value(encoded, write)?;
                self.rows.fill(encoded, stamp, commit_ts, value.as_deref());
                Ok(value)
            }
            // A read older than the newest version: the cache cannot help.
            Some(_) => reader.value_before_latest(encoded, ts),
            None => {
                self.rows.fill(encoded, stamp, 0, None);
                Ok(None)
            }
        }
    }

    /// Every MVCC record of `key`: its lock and all its versions, which no
    /// read at a timestamp shows, for debugging what transactions meet
    /// there.
    pub fn mvcc_info(&self, key: &[u8]) -> Result<MvccInfo> {
        let encoded = encode_key(key);
        let lock = self.locks.get(&encoded);
        let reader = self.reader();
        let writes = reader
            .versions(&encoded, u64::MAX, 0)
            .map(|version| {
                let (commit_ts, write) = version?;
                let value = reader.data_value(&encoded, write.clone())?;
                Ok((commit_ts, write, value))
            })
            .collect::<Result<_>>()?;
        Ok(MvccInfo { lock, writes })
    }

    /// The value of each of `keys` as of `ts`, by position (`None`: absent).
    pub fn batch_get(&self, keys: &[Vec<u8>], ts: u64) -> Result<Vec<Option<Vec<u8>>>> {
        // All keys encoded into one buffer: `ends[i]` is where key `i` ends.
        let mut encoded = Vec::with_capacity(keys.iter().map(|k| k.len() + k.len() / 8 + 9).sum());
        let mut ends = Vec::with_capacity(keys.len());
        for key in keys {
            codec::mvcc::encode_key_into(&mut encoded, key);
            ends.push(encoded.len());
        }
        let key_at = |i: usize| &encoded[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
        self.note_read(ts);
        for i in 0..keys.len() {
            self.locks.check_key(key_at(i), ts)?;
        }
        let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(keys.len());
        let mut misses = Vec::new();
        for i in 0..keys.len() {
            match self.rows.get(key_at(i), ts) {
                Some(value) => values.push(value),
                None => {
                    values.push(None);
                    misses.push((i, self.rows.stamp(key_at(i))));
                }
            }
        }
        if !misses.is_empty() {
            let reader = self.reader();
            for (i, stamp) in misses {
                values[i] = self.read_through(&reader, key_at(i), stamp, ts)?;
            }
        }
        Ok(values)
    }

    /// Up to `limit` pairs of `[start, end)` as of `ts`, ascending or descending.
    pub fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
        ts: u64,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let range = KeyRange::new(encode_key(start), end.map(encode_key));
        self.note_read(ts);
        let locks = self.locks.blocking_in(&range, ts);
        let out = self.reader().scan(&range, limit, ts, reverse)?;
        LockTable::check_covered(&locks, &covered_range(&range, &out, limit, reverse), ts)?;
        Ok(out)
    }

    /// A digest of every pair of the encoded `range` as of `ts` (FNV-1a
    /// over keys and values in key order), with the number of pairs and
    /// their bytes: replicas of a region that agree return the same.
    pub fn checksum(&self, range: &KeyRange, ts: u64) -> Result<Checksum> {
        self.note_read(ts);
        let locks = self.locks.blocking_in(range, ts);
        let pairs = self.reader().scan(range, usize::MAX, ts, false)?;
        LockTable::check_covered(&locks, range, ts)?;
        let mut sum = Checksum {
            digest: 0xcbf2_9ce4_8422_2325,
            ..Default::default()
        };
        for (key, value) in &pairs {
            for part in [key.as_slice(), value.as_slice()] {
                for byte in (part.len() as u64).to_le_bytes().iter().chain(part) {
                    sum.digest = (sum.digest ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
                }
            }
            sum.kvs += 1;
            sum.bytes += (key.len() + value.len()) as u64;
        }
        Ok(sum)
    }

    /// First phase of two-phase commit: lock every key of `mutations`, or
    /// none of them if any key conflicts or is locked. `pessimistic[i]` says
    /// mutation `i` holds a pessimistic lock of this transaction (empty for
    /// an optimistic transaction).
    ///
    /// With `one_pc: Some(max_commit_ts)` the mutations are the whole
    /// transaction and the prewrite commits them at once, returning the
    /// commit timestamp: no lock reaches the engine and no second round
    /// trip is needed. The commit timestamp cannot come from the TSO, which
    /// the client would have to ask after its locks were visible; instead it
    /// is the first odd timestamp ([`codec::ts::one_pc_commit_ts`]) above
    /// every read timestamp seen so far. Readers note their
    /// timestamp before checking locks, and the locks are in the lock table
    /// before the highest is taken, so a read either came first and is
    /// below the commit, or finds the lock and waits. Timestamps all come
    /// from the TSO, so the commit is below the next one issued and every
    /// later transaction sees it; should it exceed
    /// `max_commit_ts` all the same, the prewrite is an ordinary one and
    /// returns `None`.
    pub fn prewrite(
        &self,
        w: &dyn Writer,
        mutations: &[Mutation],
        pessimistic: &[bool],
        props: &PrewriteProps<'_>,
        one_pc: Option<u64>,
    ) -> Result<Option<u64>> {
        let _latches = self.latches.acquire(mutations.iter().map(Mutation::key));
        let mut cmd = Command::new(self.reader(), &self.locks);
        for (i, m) in mutations.iter().enumerate() {
            let locked = pessimistic.get(i).copied().unwrap_or(false);
            actions::prewrite(&mut cmd, m, locked, props)?;
        }
        let Some(max_commit_ts) = one_pc.filter(|_| !cmd.is_empty()) else {
            self.apply(w, cmd, false)?;
            return Ok(None);
        };
        let staged = cmd.lock_changes().clone();
        let before = self.locks.current(staged.keys());
        self.locks.apply(staged);
        // Order the lock inserts above before the load (a Dekker pair with
        // `note_read`).
        std::sync::atomic::fence(Ordering::SeqCst);
        let commit_ts = codec::ts::one_pc_commit_ts(
            self.max_read_ts
                .load(Ordering::SeqCst)
                .max(props.start_ts)
                .max(props.for_update_ts),
        );
        let one_pc = commit_ts <= max_commit_ts;
        let result = if one_pc {
            self.apply(w, actions::commit_staged(cmd, commit_ts), true)
        } else {
            self.apply(w, cmd, false)
        };
        if result.is_err() {
            // Nothing reached the engine: the table goes back to what it held.
            self.locks.apply(before);
        }
        result.map(|()| one_pc.then_some(commit_ts))
    }

    /// Lock `keys` for a statement of pessimistic transaction
    /// `props.start_ts` at `props.for_update_ts`: all of them, or none.
    /// With `wait`, waits for the keys' latches; without, it never blocks
    /// (so it may run on an async worker) and returns `None`, having done
    /// nothing, if another command holds one of them.
    pub fn acquire_pessimistic_lock(
        &self,
        keys: &[Vec<u8>],
        props: &PrewriteProps<'_>,
        wait: bool,
    ) -> Option<Result<()>> {
        self.lock_command(keys, wait, |cmd| {
            keys.iter()
                .try_for_each(|k| actions::acquire_pessimistic_lock(cmd, k, props))
        })
    }

    /// Release pessimistic locks of transaction `start_ts` on `keys`;
    /// `wait` as for [`acquire_pessimistic_lock`](Self::acquire_pessimistic_lock).
    pub fn pessimistic_rollback(
        &self,
        keys: &[Vec<u8>],
        start_ts: u64,
        wait: bool,
    ) -> Option<Result<()>> {
        self.lock_command(keys, wait, |cmd| {
            keys.iter()
                .try_for_each(|k| actions::pessimistic_rollback(cmd, k, start_ts))
        })
    }

    /// Second phase: commit `keys` of transaction `start_ts` at `commit_ts`.
    pub fn commit(
        &self,
        w: &dyn Writer,
        keys: &[Vec<u8>],
        start_ts: u64,
        commit_ts: u64,
    ) -> Result<()> {
        if commit_ts <= start_ts {
            return Err(Error::InvalidRequest(format!(
                "commit_ts {commit_ts} must be greater than start_ts {start_ts}"
            )));
        }
        self.write_command(w, keys.iter().map(Vec::as_slice), true, |cmd| {
            keys.iter()
                .try_for_each(|k| actions::commit(cmd, k, start_ts, commit_ts))
        })
    }

    /// Roll back `keys` of transaction `start_ts`.
    pub fn batch_rollback(&self, w: &dyn Writer, keys: &[Vec<u8>], start_ts: u64) -> Result<()> {
        self.write_command(w, keys.iter().map(Vec::as_slice), true, |cmd| {
            keys.iter()
                .try_for_each(|k| actions::rollback(cmd, k, start_ts))
        })
    }

    /// The fate of transaction `lock_ts` as its primary tells it; rolls it
    /// back if its lock expired by `current_ts`. See [`actions::check_txn_status`].
    pub fn check_txn_status(
        &self,
        w: &dyn Writer,
        primary: &[u8],
        lock_ts: u64,
        current_ts: u64,
        rollback_if_not_exist: bool,
    ) -> Result<TxnStatus> {
        self.write_command(w, [primary], true, |cmd| {
            actions::check_txn_status(cmd, primary, lock_ts, current_ts, rollback_if_not_exist)
        })
    }

    /// Raise the TTL of transaction `start_ts`'s lock on `primary`; see
    /// [`actions::txn_heart_beat`].
    pub fn txn_heart_beat(
        &self,
        w: &dyn Writer,
        primary: &[u8],
        start_ts: u64,
        advise_ttl: u64,
    ) -> Result<u64> {
        self.write_command(w, [primary], true, |cmd| {
            actions::txn_heart_beat(cmd, primary, start_ts, advise_ttl)
        })
    }

    /// Roll the locks of transaction `start_ts` on `keys` forward (when
    /// `commit_ts` is given) or back. With no keys, every lock of the
    /// transaction in the store is resolved.
    pub fn resolve_lock(
        &self,
        w: &dyn Writer,
        start_ts: u64,
        commit_ts: Option<u64>,
        keys: &[Vec<u8>],
    ) -> Result<()> {
        let found;
        let keys = if keys.is_empty() {
            found = self.locks_of(start_ts)?;
            &found
        } else {
            keys
        };
        self.write_command(w, keys.iter().map(Vec::as_slice), true, |cmd| {
            for key in keys {
                match cmd.lock(&encode_key(key)) {
                    Some(lock) if lock.start_ts == start_ts => match commit_ts {
                        Some(commit_ts) => actions::commit(cmd, key, start_ts, commit_ts)?,
                        None => actions::rollback(cmd, key, start_ts)?,
                    },
                    _ => {} // already resolved by someone else
                }
            }
            Ok(())
        })
    }

    /// Roll back `key` of transaction `start_ts` if its lock expired at
    /// `current_ts` (or unconditionally when `current_ts` is 0).
    pub fn cleanup(
        &self,
        w: &dyn Writer,
        key: &[u8],
        start_ts: u64,
        current_ts: u64,
    ) -> Result<()> {
        self.write_command(w, [key], true, |cmd| {
            actions::cleanup(cmd, key, start_ts, current_ts)
        })
    }

    /// Up to `limit` locks taken at or before `max_ts`, in key order: what GC
    /// must resolve before it may collect below `max_ts`.
    pub fn scan_locks(&self, max_ts: u64, limit: usize) -> Result<Vec<LockInfo>> {
        let mut out = Vec::new();
        for item in self.each_lock() {
            let (key, lock) = item?;
            if lock.start_ts <= max_ts {
                out.push(lock_info(&key, &lock));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn locks_of(&self, start_ts: u64) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for item in self.each_lock() {
            let (key, lock) = item?;
            if lock.start_ts == start_ts {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    fn each_lock(&self) -> impl Iterator<Item = Result<(Vec<u8>, Lock)>> + '_ {
        self.locks.each()
    }

    /// Drop versions in the encoded `range` no reader at or above
    /// `safe_point` can see, through `w`. The caller resolves locks below
    /// the safe point first ([`TxnStore::scan_locks`]).
    pub fn gc(&self, w: &dyn Writer, range: &KeyRange, safe_point: u64) -> Result<GcStats> {
        gc::gc(&self.engine.snapshot(), w, range, safe_point)
    }

    /// Remove every lock, version and value of the raw keys `[start, end)`
    /// (a dropped table's or index's range), synced. Every version of a key
    /// sorts between the encoded bounds, so one engine range covers them.
    pub fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        self.delete_encoded_range(&KeyRange::new(encode_key(start), Some(encode_key(end))))
    }

    /// [`delete_range`](Self::delete_range) of an encoded range, as a
    /// replicated range deletion carries it.
    pub fn delete_encoded_range(&self, range: &KeyRange) -> Result<()> {
        self.locks.delete_range(range, || {
            self.engine.delete_range(&Cf::DATA, range)?;
            self.rows.clear();
            Ok(())
        })
    }
}

/// The locks of the `lock` family. Pessimistic locks no longer belong there
/// (see `command`); any that an older version left are dropped, as a
/// restart drops the ones in memory.
fn load_locks<E: Engine>(engine: &E) -> Result<Vec<(Vec<u8>, Lock)>> {
    let mut locks = Vec::new();
    let mut stale = WriteBatch::new();
    for item in engine
        .snapshot()
        .scan(Cf::Lock, &KeyRange::new(Vec::new(), None), false)
    {
        let (key, value) = item?;
        let lock = Lock::decode(&value)?;
        if lock.lock_type == LockType::Pessimistic {
            stale.delete(Cf::Lock, key.to_vec());
        } else {
            locks.push((key.to_vec(), lock));
        }
    }
    if !stale.is_empty() {
        stale.set_sync(true);
        engine.write(stale)?;
    }
    Ok(locks)
}

/// The encoded keys to which `batch` commits a new data version: a commit
/// writes each one's new `latest` entry.
fn committed_keys(batch: &WriteBatch) -> Vec<Vec<u8>> {
    batch
        .modifies()
        .iter()
        .filter_map(|modify| match modify {
            Modify::Put(Cf::Latest, key, _) => Some(key.clone()),
            _ => None,
        })
        .collect()
}

/// Give a store written before the `latest` family existed its entries: the
/// newest data version of every key, from `write`. Rewriting an entry with
/// the same version is harmless, so running this when the family merely
/// happens to be empty is too.
fn backfill_latest<E: Engine>(engine: &E) -> Result<()> {
    let snap = engine.snapshot();
    let everything = KeyRange::new(Vec::new(), None);
    if snap.scan(Cf::Latest, &everything, false).next().is_some() {
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    let mut current: Vec<u8> = Vec::new();
    let mut found = false;
    for item in snap.scan(Cf::Write, &everything, false) {
        let (key, record) = item?;
        let (encoded, commit_ts) = split_ts(&key)?;
        if encoded != current.as_slice() {
            current.clear();
            current.extend_from_slice(encoded);
            found = false;
        }
        if !found && Write::encoded_is_data(&record) {
            found = true;
            batch.put(
                Cf::Latest,
                encoded.to_vec(),
                encode_latest(commit_ts, &record),
            );
            if batch.len() >= 1024 {
                engine.write(std::mem::take(&mut batch))?;
            }
        }
    }
    if !batch.is_empty() {
        batch.set_sync(true);
        engine.write(batch)?;
    }
    Ok(())
}
