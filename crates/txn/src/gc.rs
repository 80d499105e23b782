//! MVCC garbage collection below a safe point.
//!
//! No transaction reads below the safe point (PD keeps it under the oldest
//! live start_ts), so of the versions committed at or before it only the
//! newest matters: it is what a read at the safe point sees. GC keeps that one
//! if it is a put, drops it if it is a delete, and drops everything older,
//! along with rollback markers and the out-of-line values of dropped puts.
//! Versions newer than the safe point are untouched.
//!
//! The deletions go through a [`Writer`], which in a store is the region's
//! Raft log: every replica drops the same versions.

use crate::Result;
use crate::record::{Write, WriteType};
use crate::store::Writer;
use codec::mvcc::{key_with_ts, split_ts};
use storage::{Cf, KeyRange, Snapshot, WriteBatch};

/// What one GC pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Distinct keys whose versions were examined.
    pub keys: u64,
    /// Write records removed.
    pub versions_deleted: u64,
    /// Out-of-line values removed from `default`.
    pub values_deleted: u64,
}

/// Deletes are applied in batches of this many, so GC never builds one huge
/// batch and foreground writes interleave with it.
const BATCH: usize = 256;

/// Collect garbage in `range` (encoded keys) of `snap` below `safe_point`,
/// writing the deletions through `w`. Versions at or below the safe point
/// never change once it is safe, so deletions found in a snapshot stay
/// right while later writes come in.
pub fn gc<S: Snapshot>(
    snap: &S,
    w: &dyn Writer,
    range: &KeyRange,
    safe_point: u64,
) -> Result<GcStats> {
    let mut stats = GcStats::default();
    let mut batch = WriteBatch::new();
    let mut current: Vec<u8> = Vec::new();
    // Once the newest version at or below the safe point has been seen, every
    // older version of the key is garbage.
    let mut older_is_garbage = false;
    for item in snap.scan(Cf::Write, range, false) {
        let (key, value) = item?;
        let (encoded, commit_ts) = split_ts(&key)?;
        if encoded != current.as_slice() {
            current.clear();
            current.extend_from_slice(encoded);
            older_is_garbage = false;
            stats.keys += 1;
        }
        if commit_ts > safe_point {
            continue;
        }
        let write = Write::decode(&value)?;
        let keep = !older_is_garbage && write.write_type == WriteType::Put;
        if write.is_data() {
            older_is_garbage = true;
        }
        if keep {
            continue;
        }
        if write.write_type == WriteType::Put && write.short_value.is_none() {
            batch.delete(Cf::Default, key_with_ts(encoded, write.start_ts));
            stats.values_deleted += 1;
        }
        batch.delete(Cf::Write, key.to_vec());
        stats.versions_deleted += 1;
        if batch.len() >= BATCH {
            w.write(std::mem::take(&mut batch))?;
        }
    }
    if !batch.is_empty() {
        w.write(batch)?;
    }
    Ok(stats)
}
