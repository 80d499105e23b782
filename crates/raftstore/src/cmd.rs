//! Engine writes as they travel in a Raft log entry.

use crate::{Error, Result};
use proto::raftpb;
use storage::{Cf, Modify, WriteBatch};

fn cf_code(cf: Cf) -> u32 {
    Cf::ALL
        .iter()
        .position(|c| *c == cf)
        .expect("every cf is in ALL") as u32
}

fn cf_of(code: u32) -> Result<Cf> {
    Cf::ALL
        .get(code as usize)
        .copied()
        .ok_or(Error::Corrupt("unknown column family in a log entry"))
}

/// One write in log form (`value: None` deletes).
pub fn modify_pb(cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>) -> raftpb::Modify {
    raftpb::Modify {
        cf: cf_code(cf),
        key,
        delete: value.is_none(),
        value: value.unwrap_or_default(),
    }
}

/// A batch in log form.
pub fn batch_pb(batch: WriteBatch) -> Vec<raftpb::Modify> {
    batch
        .into_modifies()
        .into_iter()
        .map(|m| match m {
            Modify::Put(cf, key, value) => modify_pb(cf, key, Some(value)),
            Modify::Delete(cf, key) => modify_pb(cf, key, None),
        })
        .collect()
}

/// A logged write, checked. Only data families travel in the log: a
/// store's `raft` family is its own.
pub fn decode_modify(m: raftpb::Modify) -> Result<Modify> {
    let cf = cf_of(m.cf)?;
    if cf == Cf::Raft {
        return Err(Error::Corrupt("a log entry writes the raft family"));
    }
    Ok(if m.delete {
        Modify::Delete(cf, m.key)
    } else {
        Modify::Put(cf, m.key, m.value)
    })
}

/// Queue a write into `batch`.
pub fn push(batch: &mut WriteBatch, m: Modify) {
    match m {
        Modify::Put(cf, key, value) => batch.put(cf, key, value),
        Modify::Delete(cf, key) => batch.delete(cf, key),
    }
}
