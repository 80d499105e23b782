//! What one write command sees and what it changes.
//!
//! A command (prewrite, commit, rollback...) holds the latches of its keys,
//! reads versions from one engine snapshot and locks from the lock table,
//! and gathers its changes here to apply at once. Under the latches the
//! table is exact for those keys: every change to a key's lock is made by a
//! command holding the key's latch, and reaches the table before the latch
//! is released.
//!
//! Locks live in the `lock` family and, mirrored, in the table, except
//! pessimistic locks, which live in the table only (TiKV's in-memory
//! pessimistic locks). They keep other writers off a statement's keys until
//! prewrite turns each into a real lock, so they need not survive a
//! restart or a new leader: prewrite checks a key whose lock is gone against
//! every commit since the transaction started (see
//! [`actions::prewrite`](crate::actions::prewrite)), so a lost lock never
//! lets a conflict through. Each locking statement saves a replicated write
//! that way.

use crate::lock_table::{LockChanges, LockTable};
use crate::reader::MvccReader;
use crate::record::{Lock, LockType};
use storage::{Cf, Modify, Snapshot, WriteBatch};

/// A write command in progress: its snapshot, the lock table, its changes.
pub struct Command<'a, S> {
    reader: MvccReader<S>,
    locks: &'a LockTable,
    batch: WriteBatch,
    lock_changes: LockChanges,
}

/// Whether a lock is written to the `lock` family (see the module doc).
fn persisted(lock: &Lock) -> bool {
    lock.lock_type != LockType::Pessimistic
}

impl<'a, S: Snapshot> Command<'a, S> {
    /// A command reading `reader`'s snapshot and the locks of `locks`.
    pub fn new(reader: MvccReader<S>, locks: &'a LockTable) -> Self {
        Self {
            reader,
            locks,
            batch: WriteBatch::new(),
            lock_changes: LockChanges::default(),
        }
    }

    /// The versions as of the command's snapshot.
    pub fn reader(&self) -> &MvccReader<S> {
        &self.reader
    }

    /// The lock on an encoded key as the command started (its own changes
    /// are not seen, as they are not in its snapshot either).
    pub fn lock(&self, encoded: &[u8]) -> Option<Lock> {
        self.locks.get(encoded)
    }

    /// Queue a data write (`default`, `write` or `latest`).
    pub fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        debug_assert!(cf != Cf::Lock);
        self.batch.put(cf, key, value);
    }

    /// Queue a data delete.
    pub fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        debug_assert!(cf != Cf::Lock);
        self.batch.delete(cf, key);
    }

    /// Put `lock` on an encoded key.
    pub fn put_lock(&mut self, encoded: Vec<u8>, lock: Lock) {
        if persisted(&lock) {
            self.batch.put(Cf::Lock, encoded.clone(), lock.encode());
        }
        self.lock_changes.push(encoded, Some(lock));
    }

    /// Take `lock`, the key's current lock, off an encoded key.
    pub fn remove_lock(&mut self, encoded: Vec<u8>, lock: &Lock) {
        if persisted(lock) {
            self.batch.delete(Cf::Lock, encoded.clone());
        }
        self.lock_changes.push(encoded, None);
    }

    /// Whether the command changes nothing.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.lock_changes.is_empty()
    }

    /// The lock changes queued so far.
    pub fn lock_changes(&self) -> &LockChanges {
        &self.lock_changes
    }

    /// The engine batch and the lock table's changes, to apply in that order.
    pub fn into_parts(self) -> (WriteBatch, LockChanges) {
        (self.batch, self.lock_changes)
    }

    /// Split a prewrite for a one-phase commit: a command with its data
    /// writes (long values), none of its `lock` family writes, and each
    /// staged lock taken off the table again; and the staged locks, which
    /// the caller replaces by their commits.
    pub fn take_staged(self) -> (Self, Vec<(Vec<u8>, Lock)>) {
        let mut next = Self::new(self.reader, self.locks);
        for modify in self.batch.into_modifies() {
            match modify {
                Modify::Put(Cf::Lock, ..) | Modify::Delete(Cf::Lock, _) => {}
                Modify::Put(cf, key, value) => next.batch.put(cf, key, value),
                Modify::Delete(cf, key) => next.batch.delete(cf, key),
            }
        }
        let mut staged = Vec::new();
        for (encoded, lock) in self.lock_changes.into_inner() {
            if let Some(lock) = lock {
                next.lock_changes.push(encoded.clone(), None);
                staged.push((encoded, lock));
            }
        }
        (next, staged)
    }
}
