//! The store's locks, kept in memory beside the `lock` family.
//!
//! Every read checks for locks on the keys it returns. In the engine that is
//! a seek in the `lock` family, and the family is mostly tombstones: each
//! committed key leaves one behind, and they stay until compaction reaches
//! the last level. A 100-row range read walked past every one of them, which
//! made the lock check 60% of a range read's cost. The live locks are few
//! (those of transactions in flight), so the store also keeps them in a
//! lock-free ordered map, filled from the family at start-up and changed
//! after every batch that writes the family. Readers look here, never in
//! the engine, and so do commands that change locks, under their latches
//! (see `command`; pessimistic locks live here only).
//!
//! Why the map may lag the engine: a batch is applied to the engine first,
//! then here. A reader checks this map *before* it takes its engine snapshot,
//! and keeps only the locks that existed at that moment:
//! - a lock removed (its transaction committed) after the check has its
//!   commit in the snapshot, or the reader reported the lock anyway;
//! - a lock added after the check belongs to a transaction that had not
//!   finished prewriting when the reader already held its timestamp, so it
//!   commits later than the reader reads and the reader must not see it.
//!
//! A one-phase commit also puts its locks here only (never in the engine), for
//! the moment between choosing its commit timestamp and writing the commit:
//! a reader that finds one waits, as for any lock, and the commit is above
//! the timestamp of every reader that did not (see `TxnStore::prewrite`).

use crate::reader::lock_info;
use crate::record::{Lock, LockType};
use crate::{Error, Result};
use codec::mvcc::decode_key;
use crossbeam_skiplist::SkipMap;
use std::ops::Bound;
use storage::KeyRange;

/// Live locks by encoded key.
#[derive(Default)]
pub struct LockTable {
    locks: SkipMap<Vec<u8>, Lock>,
}

/// Changes to the table, in order: each key's new lock, or `None` to remove it.
#[derive(Clone, Default)]
pub struct LockChanges(Vec<(Vec<u8>, Option<Lock>)>);

impl LockChanges {
    /// Queue a change of an encoded key's lock.
    pub fn push(&mut self, encoded: Vec<u8>, lock: Option<Lock>) {
        self.0.push((encoded, lock));
    }

    /// The keys changed.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|(key, _)| key.as_slice())
    }

    /// Whether there is no change.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The changes themselves.
    pub fn into_inner(self) -> Vec<(Vec<u8>, Option<Lock>)> {
        self.0
    }
}

impl LockTable {
    /// A table holding `locks` (encoded key, lock), read from the family.
    pub fn load(locks: impl IntoIterator<Item = (Vec<u8>, Lock)>) -> Self {
        let table = Self::default();
        for (key, lock) in locks {
            table.locks.insert(key, lock);
        }
        table
    }

    /// The lock on an encoded key, for a command holding the key's latch
    /// (see `command`).
    pub fn get(&self, encoded: &[u8]) -> Option<Lock> {
        self.locks.get(encoded).map(|entry| entry.value().clone())
    }

    /// The table's current locks on `keys`, as changes that put them back.
    pub fn current<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> LockChanges {
        LockChanges(
            keys.into_iter()
                .map(|key| (key.to_vec(), self.get(key)))
                .collect(),
        )
    }

    /// Make `changes`, in order (after the engine has the batch that goes
    /// with them).
    pub fn apply(&self, changes: LockChanges) {
        for (key, lock) in changes.0 {
            match lock {
                Some(lock) => {
                    self.locks.insert(key, lock);
                }
                None => {
                    self.locks.remove(&key);
                }
            }
        }
    }

    /// Fail with [`Error::KeyIsLocked`] if a lock that a read at `ts` must
    /// wait for sits on the encoded key.
    pub fn check_key(&self, encoded: &[u8], ts: u64) -> Result<()> {
        match self.locks.get(encoded) {
            Some(entry) => check(entry.key(), entry.value(), ts),
            None => Ok(()),
        }
    }

    /// The locks a read at `ts` must wait for in an encoded range, for
    /// [`check_covered`](Self::check_covered) once the read knows how far
    /// it got.
    pub fn blocking_in(&self, range: &KeyRange, ts: u64) -> Vec<(Vec<u8>, Lock)> {
        self.entries(range)
            .filter(|entry| blocks(entry.value(), ts))
            .map(|entry| (entry.key().clone(), entry.value().clone()))
            .collect()
    }

    /// Replace the table's locks in the encoded `range` by `locks` (the
    /// range's data was replaced wholesale underneath).
    pub fn reload(&self, range: &KeyRange, locks: impl IntoIterator<Item = (Vec<u8>, Lock)>) {
        for entry in self.entries(range) {
            entry.remove();
        }
        for (key, lock) in locks {
            self.locks.insert(key, lock);
        }
    }

    /// Remove the pessimistic locks in the encoded `range` (see
    /// `TxnStore::forget_pessimistic_locks`). A lock that a prewrite turns
    /// into a `Put` meanwhile is a new entry and stays.
    pub fn forget_pessimistic(&self, range: &KeyRange) {
        for entry in self.entries(range) {
            if matches!(entry.value().lock_type, LockType::Pessimistic) {
                entry.remove();
            }
        }
    }

    /// Run `delete`, a delete-range of the `lock` family over the encoded
    /// `range`, then forget the locks the range held before it (a lock
    /// written since, by a transaction that started later, stays).
    pub fn delete_range(
        &self,
        range: &KeyRange,
        delete: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let before: Vec<(Vec<u8>, u64)> = self
            .entries(range)
            .map(|entry| (entry.key().clone(), entry.value().start_ts))
            .collect();
        delete()?;
        for (key, start_ts) in before {
            if self
                .locks
                .get(&key)
                .is_some_and(|entry| entry.value().start_ts == start_ts)
            {
                self.locks.remove(&key);
            }
        }
        Ok(())
    }

    fn entries<'a>(
        &'a self,
        range: &'a KeyRange,
    ) -> impl Iterator<Item = crossbeam_skiplist::map::Entry<'a, Vec<u8>, Lock>> + 'a {
        let end = match &range.end {
            Some(end) => Bound::Excluded(end.as_slice()),
            None => Bound::Unbounded,
        };
        self.locks
            .range::<[u8], _>((Bound::Included(range.start.as_slice()), end))
    }

    /// Fail with the first of `locks` (from [`blocking_in`](Self::blocking_in))
    /// that lies in `covered`, the part of the range a scan returned.
    pub fn check_covered(locks: &[(Vec<u8>, Lock)], covered: &KeyRange, ts: u64) -> Result<()> {
        for (key, lock) in locks {
            if covered.contains(key) {
                check(key, lock, ts)?;
            }
        }
        Ok(())
    }

    /// Every live lock, in key order: (raw key, lock).
    pub fn each(&self) -> impl Iterator<Item = Result<(Vec<u8>, Lock)>> + '_ {
        self.locks
            .iter()
            .map(|entry| Ok((decode_key(entry.key())?, entry.value().clone())))
    }
}

/// Whether a read at `ts` must wait for `lock`: it is a prewrite lock taken
/// at or before `ts` (pessimistic locks hide no data).
fn blocks(lock: &Lock, ts: u64) -> bool {
    lock.start_ts <= ts && matches!(lock.lock_type, LockType::Put | LockType::Delete)
}

fn check(encoded: &[u8], lock: &Lock, ts: u64) -> Result<()> {
    if blocks(lock, ts) {
        let key = decode_key(encoded)?;
        // A transaction's lock on its own primary: not committed yet, so
        // the newest committed version is the one before it.
        if ts == codec::ts::LATEST && key == lock.primary {
            return Ok(());
        }
        return Err(Error::KeyIsLocked(lock_info(&key, lock)));
    }
    Ok(())
}
