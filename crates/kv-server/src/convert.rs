//! Between the transaction layer's typed errors and the wire's error messages.

use proto::RpcError;
use proto::kvrpc::{self, KeyError, Region, RegionError, key_error::Kind};

/// The wire form of a lock.
pub fn lock_info(l: txn::LockInfo) -> kvrpc::LockInfo {
    kvrpc::LockInfo {
        key: l.key,
        primary: l.primary,
        lock_ts: l.lock_ts,
        ttl: l.ttl,
        txn_size: l.txn_size,
    }
}

/// The wire form of a key's MVCC records: its lock and its writes.
pub fn mvcc_records(info: txn::MvccInfo) -> (Option<kvrpc::MvccLock>, Vec<kvrpc::MvccWrite>) {
    use txn::{LockType, WriteType};
    let lock = info.lock.map(|l| kvrpc::MvccLock {
        r#type: match l.lock_type {
            LockType::Put => "Put",
            LockType::Delete => "Delete",
            LockType::Pessimistic => "Pessimistic",
        }
        .into(),
        primary: l.primary,
        start_ts: l.start_ts,
        ttl: l.ttl,
        txn_size: l.txn_size,
        for_update_ts: l.for_update_ts,
        short_value: l.short_value,
    });
    let writes = info
        .writes
        .into_iter()
        .map(|(commit_ts, w, value)| kvrpc::MvccWrite {
            r#type: match w.write_type {
                WriteType::Put => "Put",
                WriteType::Delete => "Delete",
                WriteType::Rollback => "Rollback",
            }
            .into(),
            start_ts: w.start_ts,
            commit_ts,
            value,
        })
        .collect();
    (lock, writes)
}

/// A per-key outcome for the client, or a failed call when the node itself
/// is in trouble (its disk, its data).
pub fn key_error(e: txn::Error) -> Result<Outcome, RpcError> {
    use txn::Error as E;
    let kind = match e {
        E::KeyIsLocked(l) => Kind::Locked(lock_info(l)),
        E::WriteConflict {
            start_ts,
            conflict_start_ts,
            conflict_commit_ts,
            key,
        } => Kind::Conflict(kvrpc::WriteConflict {
            start_ts,
            conflict_start_ts,
            conflict_commit_ts,
            key,
        }),
        E::RolledBack { start_ts, key } => Kind::RolledBack(kvrpc::RolledBack { start_ts, key }),
        E::Committed {
            start_ts,
            commit_ts,
            key,
        } => Kind::Committed(kvrpc::Committed {
            start_ts,
            commit_ts,
            key,
        }),
        E::TxnNotFound { start_ts, key } => Kind::TxnNotFound(kvrpc::TxnNotFound { start_ts, key }),
        E::InvalidRequest(msg) => Kind::Abort(msg),
        e @ (E::Storage(_) | E::Corrupt(_)) => return Err(RpcError::Internal(e.to_string())),
        E::Replication(e) => {
            return match e.downcast::<raftstore::Error>() {
                Ok(e) => Ok(Outcome::Region(route::from_raft(*e)?)),
                Err(e) => Err(RpcError::Internal(e.to_string())),
            };
        }
    };
    Ok(Outcome::Key(KeyError { kind: Some(kind) }))
}

/// What a failed command tells the client.
pub enum Outcome {
    /// A key's state stands in the way.
    Key(KeyError),
    /// The request reached a store that cannot serve it now.
    Region(RegionError),
}

/// Constructors for the region errors a store answers with.
pub mod route {
    use super::*;
    use kvrpc::region_error::Kind;

    /// This store has no such region.
    pub fn not_found(region_id: u64) -> RegionError {
        RegionError {
            message: format!("region {region_id} not found"),
            kind: Some(Kind::RegionNotFound(region_id)),
        }
    }

    /// The client's epoch is stale; here is the region as it is now, with
    /// its neighbours (see [`raftstore::Router::current_regions`]).
    ///
    pub fn epoch_not_match(router: &raftstore::Router, current: &Region) -> RegionError {
        RegionError {
            message: format!("epoch of region {} does not match", current.id),
            kind: Some(Kind::EpochNotMatch(kvrpc::EpochNotMatch {
                current_regions: router.current_regions(current),
            })),
        }
    }

    /// The region error for a raftstore refusal, or a failed call when the
    /// store itself is in trouble.
    pub fn from_raft(e: raftstore::Error) -> Result<RegionError, RpcError> {
        use raftstore::Error as E;
        let message = e.to_string();
        let kind = match e {
            E::NotLeader { region_id, leader } => Kind::NotLeader(kvrpc::NotLeader {
                region_id,
                leader,
                store_id: 0,
            }),
            E::EpochNotMatch(current_regions) => {
                Kind::EpochNotMatch(kvrpc::EpochNotMatch { current_regions })
            }
            E::RegionNotFound(id) => Kind::RegionNotFound(id),
            E::StaleCommand => Kind::StaleCommand(true),
            E::Stopped => Kind::ServerBusy(true),
            E::Invalid(_) | E::Storage(_) | E::Corrupt(_) => {
                return Err(RpcError::Internal(message));
            }
        };
        Ok(RegionError {
            message,
            kind: Some(kind),
        })
    }

    /// The key lies outside the region the request named.
    pub fn key_not_in_region(key: &[u8], region: &Region) -> RegionError {
        RegionError {
            message: format!("key is not in region {}", region.id),
            kind: Some(Kind::KeyNotInRegion(kvrpc::KeyNotInRegion {
                key: key.to_vec(),
                region_id: region.id,
                start_key: region.start_key.clone(),
                end_key: region.end_key.clone(),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use txn::{Lock, LockType, MvccInfo, Write, WriteType};

    #[test]
    fn mvcc_records_name_their_types_and_keep_values() {
        let write = |write_type, start_ts| Write {
            write_type,
            start_ts,
            short_value: None,
        };
        let info = MvccInfo {
            lock: Some(Lock {
                lock_type: LockType::Pessimistic,
                primary: b"p".to_vec(),
                start_ts: 30,
                ttl: 3000,
                txn_size: 1,
                for_update_ts: 31,
                short_value: None,
            }),
            writes: vec![
                (21, write(WriteType::Delete, 20), None),
                (15, write(WriteType::Rollback, 15), None),
                (11, write(WriteType::Put, 10), Some(b"v".to_vec())),
            ],
        };
        let (lock, writes) = mvcc_records(info);
        let lock = lock.expect("the lock");
        assert_eq!(
            (lock.r#type.as_str(), lock.for_update_ts),
            ("Pessimistic", 31)
        );
        let summary: Vec<_> = writes
            .iter()
            .map(|w| {
                (
                    w.r#type.as_str(),
                    w.start_ts,
                    w.commit_ts,
                    w.value.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("Delete", 20, 21, None),
                ("Rollback", 15, 15, None),
                ("Put", 10, 11, Some(&b"v"[..])),
            ]
        );
    }
}
