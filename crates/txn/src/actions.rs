//! The per-key steps of Percolator. Each reads and queues its changes
//! through a [`Command`]; the store command that called it (in
//! [`crate::store`]) holds the keys' latches and applies the changes at once.

use crate::command::Command;
use crate::reader::{MvccReader, TxnRecord, lock_info};
use crate::record::{Lock, LockType, SHORT_VALUE_MAX, Write, WriteType, encode_latest};
use crate::{Error, Result};
use codec::mvcc::{encode_key, key_with_ts};
use storage::{Cf, Snapshot};

/// One key a transaction writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Set the key to a value.
    Put(Vec<u8>, Vec<u8>),
    /// Delete the key.
    Delete(Vec<u8>),
}

impl Mutation {
    /// The raw key.
    pub fn key(&self) -> &[u8] {
        match self {
            Mutation::Put(key, _) | Mutation::Delete(key) => key,
        }
    }
}

/// The transaction-wide part of a prewrite.
#[derive(Clone, Debug)]
pub struct PrewriteProps<'a> {
    /// The primary key (raw).
    pub primary: &'a [u8],
    /// The transaction's start timestamp.
    pub start_ts: u64,
    /// Lock time to live, in milliseconds.
    pub lock_ttl: u64,
    /// Number of keys in the whole transaction.
    pub txn_size: u64,
    /// For a pessimistic transaction, the latest statement timestamp.
    pub for_update_ts: u64,
}

/// The state of a transaction as its primary key tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnStatus {
    /// Still in flight: the primary is locked and its TTL has not run out.
    Locked {
        /// The lock's TTL in milliseconds, so the caller knows how long to wait.
        ttl: u64,
    },
    /// Committed; locks of the transaction are to be rolled forward.
    Committed {
        /// The commit timestamp.
        commit_ts: u64,
    },
    /// Rolled back (now or earlier); locks of the transaction are to be removed.
    RolledBack,
}

/// Whether a lock has outlived its TTL at `current_ts` (wall-clock parts).
pub fn lock_expired(lock: &Lock, current_ts: u64) -> bool {
    codec::ts::physical_ms(current_ts) >= codec::ts::physical_ms(lock.start_ts) + lock.ttl
}

/// Prewrite one key: refuse if anyone committed it after our snapshot or
/// holds a lock on it, otherwise lock it and stage the value.
///
/// A key of a pessimistic transaction (`pessimistic`) was locked by the
/// statement that wrote it, and conflicts were checked then: its pessimistic
/// lock just becomes a `Put`/`Delete` lock. Pessimistic locks live in the
/// leader's memory, so one can be gone (a new leader, a restart, or the
/// transaction rolled back by someone who found it expired): the key is
/// then checked as an optimistic transaction's would be, against every
/// commit since `start_ts`, which is safe whatever the lost lock's
/// `for_update_ts` was. A rolled-back transaction finds its rollback
/// record on the primary and fails there.
pub fn prewrite<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    mutation: &Mutation,
    pessimistic: bool,
    props: &PrewriteProps<'_>,
) -> Result<()> {
    let raw_key = mutation.key();
    let encoded = encode_key(raw_key);
    let start_ts = props.start_ts;
    match cmd.lock(&encoded) {
        Some(lock) if lock.start_ts == start_ts && lock.lock_type == LockType::Pessimistic => {
            return stage(cmd, encoded, mutation, props);
        }
        Some(lock) if lock.start_ts == start_ts => return Ok(()), // a retried prewrite: already done
        Some(lock) => return Err(Error::KeyIsLocked(lock_info(raw_key, &lock))),
        None => {}
    }
    // A pessimistic transaction leaves keys only its own row locks guard
    // (non-unique index entries) unlocked: what changed before its latest
    // `for_update_ts` was seen by the statements that wrote them.
    let conflict_after = if pessimistic {
        start_ts
    } else {
        start_ts.max(props.for_update_ts)
    };
    match own_record_or_conflict(cmd.reader(), &encoded, raw_key, start_ts, conflict_after)? {
        Some(WriteType::Rollback) => {
            return Err(Error::RolledBack {
                start_ts,
                key: raw_key.to_vec(),
            });
        }
        Some(_) => return Ok(()), // already committed: a prewrite retried after commit
        None => {}
    }
    stage(cmd, encoded, mutation, props)
}

/// The lock a transaction with `props` puts on a key.
fn new_lock(props: &PrewriteProps<'_>, lock_type: LockType, short_value: Option<Vec<u8>>) -> Lock {
    Lock {
        lock_type,
        primary: props.primary.to_vec(),
        start_ts: props.start_ts,
        ttl: props.lock_ttl,
        txn_size: props.txn_size,
        for_update_ts: props.for_update_ts,
        short_value,
    }
}

/// Find what the transaction itself already recorded on a key at or after
/// `start_ts` (a commit or a rollback), or fail with a write conflict on a
/// data version committed after `conflict_after` (`start_ts` for optimistic
/// writes, the statement's `for_update_ts` for pessimistic locks).
///
/// Usually two point reads settle it. Our own commit, if any, is above
/// `conflict_after` (a transaction commits after all its statements), so
/// when the key's newest data version is at or below it there is neither a
/// conflict nor a commit of ours, and only our rollback may be there, at
/// `start_ts` itself. Otherwise the versions above `start_ts` are walked.
fn own_record_or_conflict<S: Snapshot>(
    reader: &MvccReader<S>,
    encoded: &[u8],
    raw_key: &[u8],
    start_ts: u64,
    conflict_after: u64,
) -> Result<Option<WriteType>> {
    let newest = reader.latest(encoded)?.map(|(commit_ts, _)| commit_ts);
    if newest.is_none_or(|commit_ts| commit_ts <= conflict_after) {
        return Ok(reader
            .write_at(encoded, start_ts)?
            .filter(|write| write.start_ts == start_ts)
            .map(|write| write.write_type));
    }
    for version in reader.versions(encoded, u64::MAX, start_ts) {
        let (commit_ts, write) = version?;
        if write.start_ts == start_ts {
            return Ok(Some(write.write_type));
        }
        if write.is_data() && commit_ts > conflict_after {
            return Err(Error::WriteConflict {
                start_ts,
                conflict_start_ts: write.start_ts,
                conflict_commit_ts: commit_ts,
                key: raw_key.to_vec(),
            });
        }
    }
    Ok(None)
}

/// Write the lock (and, for a long value, the value) of a prewritten key.
fn stage<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    encoded: Vec<u8>,
    mutation: &Mutation,
    props: &PrewriteProps<'_>,
) -> Result<()> {
    let start_ts = props.start_ts;
    let (lock_type, short_value) = match mutation {
        Mutation::Put(_, value) if value.len() <= SHORT_VALUE_MAX => {
            (LockType::Put, Some(value.clone()))
        }
        Mutation::Put(_, value) => {
            cmd.put(Cf::Default, key_with_ts(&encoded, start_ts), value.clone());
            (LockType::Put, None)
        }
        Mutation::Delete(_) => (LockType::Delete, None),
    };
    cmd.put_lock(encoded, new_lock(props, lock_type, short_value));
    Ok(())
}

/// Commit one key: turn our lock into a write record at `commit_ts`.
/// Committing twice is harmless; committing a rolled-back key fails.
pub fn commit<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    raw_key: &[u8],
    start_ts: u64,
    commit_ts: u64,
) -> Result<()> {
    let encoded = encode_key(raw_key);
    match cmd.lock(&encoded) {
        Some(lock) if lock.start_ts == start_ts && lock.lock_type == LockType::Pessimistic => Err(
            Error::InvalidRequest("commit of a key that was locked but never prewritten".into()),
        ),
        Some(lock) if lock.start_ts == start_ts => {
            write_commit(cmd, &encoded, &lock, commit_ts);
            cmd.remove_lock(encoded, &lock);
            Ok(())
        }
        _ => match cmd.reader().txn_record(&encoded, start_ts)? {
            TxnRecord::Committed { .. } => Ok(()),
            TxnRecord::RolledBack | TxnRecord::Unknown => Err(Error::RolledBack {
                start_ts,
                key: raw_key.to_vec(),
            }),
        },
    }
}

/// Write the commit of a prewrite lock on `encoded` at `commit_ts` (the
/// caller takes the lock away).
fn write_commit<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    encoded: &[u8],
    lock: &Lock,
    commit_ts: u64,
) {
    let write = Write {
        write_type: match lock.lock_type {
            LockType::Put | LockType::Pessimistic => WriteType::Put,
            LockType::Delete => WriteType::Delete,
        },
        start_ts: lock.start_ts,
        short_value: lock.short_value.clone(),
    };
    // Versions of a key commit in timestamp order (a later writer cannot lock
    // the key before this lock is gone, and its conflict check looks past
    // this commit), so this one is the key's newest.
    let record = write.encode();
    cmd.put(
        Cf::Latest,
        encoded.to_vec(),
        encode_latest(commit_ts, &record),
    );
    cmd.put(Cf::Write, key_with_ts(encoded, commit_ts), record);
}

/// One-phase commit: what a [`prewrite`] staged, with each lock replaced by
/// that key's commit at `commit_ts`. The locks were only ever in the lock
/// table. Values too long to inline stay where the prewrite put them
/// (`default` at `start_ts`), which is where the write record points.
pub fn commit_staged<S: Snapshot>(prewrite: Command<'_, S>, commit_ts: u64) -> Command<'_, S> {
    let (mut cmd, staged) = prewrite.take_staged();
    for (encoded, lock) in staged {
        write_commit(&mut cmd, &encoded, &lock, commit_ts);
    }
    cmd
}

/// Roll one key back: drop our lock and its staged value, and leave a rollback
/// record so that a prewrite of ours arriving late cannot lock the key again.
/// Rolling back a committed key fails.
pub fn rollback<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    raw_key: &[u8],
    start_ts: u64,
) -> Result<()> {
    let encoded = encode_key(raw_key);
    match cmd.lock(&encoded) {
        Some(lock) if lock.start_ts == start_ts => remove_lock(cmd, &encoded, &lock),
        _ => match cmd.reader().txn_record(&encoded, start_ts)? {
            TxnRecord::Committed { commit_ts } => {
                return Err(Error::Committed {
                    start_ts,
                    commit_ts,
                    key: raw_key.to_vec(),
                });
            }
            TxnRecord::RolledBack => return Ok(()),
            TxnRecord::Unknown => {}
        },
    }
    let marker = Write {
        write_type: WriteType::Rollback,
        start_ts,
        short_value: None,
    };
    cmd.put(Cf::Write, key_with_ts(&encoded, start_ts), marker.encode());
    Ok(())
}

/// Take our lock off `encoded` with the long value it staged, if any.
fn remove_lock<S: Snapshot>(cmd: &mut Command<'_, S>, encoded: &[u8], lock: &Lock) {
    if lock.lock_type == LockType::Put && lock.short_value.is_none() {
        cmd.delete(Cf::Default, key_with_ts(encoded, lock.start_ts));
    }
    cmd.remove_lock(encoded.to_vec(), lock);
}

/// Decide the fate of transaction `lock_ts` by its primary key, rolling it
/// back if its lock expired at `current_ts`. When the primary shows no trace
/// of the transaction, `rollback_if_not_exist` says whether to roll it back
/// (the caller knows the transaction is abandoned) or report
/// [`Error::TxnNotFound`] (its prewrite may still be on the way).
pub fn check_txn_status<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    primary: &[u8],
    lock_ts: u64,
    current_ts: u64,
    rollback_if_not_exist: bool,
) -> Result<TxnStatus> {
    let encoded = encode_key(primary);
    if let Some(lock) = cmd.lock(&encoded)
        && lock.start_ts == lock_ts
    {
        if !lock_expired(&lock, current_ts) {
            return Ok(TxnStatus::Locked { ttl: lock.ttl });
        }
        rollback(cmd, primary, lock_ts)?;
        return Ok(TxnStatus::RolledBack);
    }
    match cmd.reader().txn_record(&encoded, lock_ts)? {
        TxnRecord::Committed { commit_ts } => Ok(TxnStatus::Committed { commit_ts }),
        TxnRecord::RolledBack => Ok(TxnStatus::RolledBack),
        TxnRecord::Unknown if rollback_if_not_exist => {
            rollback(cmd, primary, lock_ts)?;
            Ok(TxnStatus::RolledBack)
        }
        TxnRecord::Unknown => Err(Error::TxnNotFound {
            start_ts: lock_ts,
            key: primary.to_vec(),
        }),
    }
}

/// Keep transaction `start_ts` alive: raise the TTL of its lock on
/// `primary` to `advise_ttl` (ms after `start_ts`, never lowered), so that
/// those waiting for its locks keep waiting while it runs. Returns the TTL
/// now; [`Error::TxnNotFound`] when the lock is gone (the transaction
/// ended, or a former leader's pessimistic lock was forgotten).
pub fn txn_heart_beat<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    primary: &[u8],
    start_ts: u64,
    advise_ttl: u64,
) -> Result<u64> {
    let encoded = encode_key(primary);
    match cmd.lock(&encoded) {
        Some(mut lock) if lock.start_ts == start_ts => {
            if advise_ttl > lock.ttl {
                lock.ttl = advise_ttl;
                cmd.put_lock(encoded, lock);
                return Ok(advise_ttl);
            }
            Ok(lock.ttl)
        }
        _ => Err(Error::TxnNotFound {
            start_ts,
            key: primary.to_vec(),
        }),
    }
}

/// Roll back one key of an abandoned transaction: unconditionally when
/// `current_ts` is 0, otherwise only if its lock has expired.
pub fn cleanup<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    raw_key: &[u8],
    start_ts: u64,
    current_ts: u64,
) -> Result<()> {
    if current_ts != 0
        && let Some(lock) = cmd.lock(&encode_key(raw_key))
        && lock.start_ts == start_ts
        && !lock_expired(&lock, current_ts)
    {
        return Err(Error::KeyIsLocked(lock_info(raw_key, &lock)));
    }
    rollback(cmd, raw_key, start_ts)
}

/// Lock one key for a pessimistic transaction's statement at
/// `for_update_ts`: refuse if another transaction holds a lock (the caller
/// waits) or if someone committed the key after `for_update_ts` (the
/// statement must read again at a newer timestamp).
pub fn acquire_pessimistic_lock<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    raw_key: &[u8],
    props: &PrewriteProps<'_>,
) -> Result<()> {
    let encoded = encode_key(raw_key);
    let start_ts = props.start_ts;
    if let Some(lock) = cmd.lock(&encoded) {
        if lock.start_ts != start_ts {
            return Err(Error::KeyIsLocked(lock_info(raw_key, &lock)));
        }
        if lock.lock_type != LockType::Pessimistic || lock.for_update_ts >= props.for_update_ts {
            return Ok(()); // already ours
        }
    }
    if own_record_or_conflict(
        cmd.reader(),
        &encoded,
        raw_key,
        start_ts,
        props.for_update_ts,
    )?
    .is_some()
    {
        return Err(Error::RolledBack {
            start_ts,
            key: raw_key.to_vec(),
        });
    }
    cmd.put_lock(encoded, new_lock(props, LockType::Pessimistic, None));
    Ok(())
}

/// Release a pessimistic lock of ours (a statement failed, or the
/// transaction ended without writing the key). Leaves no rollback record:
/// nothing was ever prewritten.
pub fn pessimistic_rollback<S: Snapshot>(
    cmd: &mut Command<'_, S>,
    raw_key: &[u8],
    start_ts: u64,
) -> Result<()> {
    let encoded = encode_key(raw_key);
    if let Some(lock) = cmd.lock(&encoded)
        && lock.start_ts == start_ts
        && lock.lock_type == LockType::Pessimistic
    {
        cmd.remove_lock(encoded, &lock);
    }
    Ok(())
}
