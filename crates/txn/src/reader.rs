//! Reading MVCC data out of one engine snapshot.
//!
//! A key's newest data version sits in the `latest` family at the bare key,
//! so a read at or after it (nearly every read) is one lookup, and a scan
//! meets one entry per key. Older reads seek in the version list, which the
//! `write` family keeps newest first (`key ‖ !commit_ts`): from `key ‖ !ts`
//! towards older versions, skipping rollback markers, to a put or a delete.

use crate::record::{Lock, Write, WriteType, decode_latest};
use crate::{Error, LockInfo, Result};
use codec::mvcc::{decode_key, key_with_ts, split_ts};
use storage::{Cf, KeyRange, Snapshot};

/// What became of a given transaction on a given key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnRecord {
    /// It committed at `commit_ts`.
    Committed {
        /// The commit timestamp.
        commit_ts: u64,
    },
    /// It was rolled back.
    RolledBack,
    /// The key has no trace of it (no lock is checked here).
    Unknown,
}

/// The version range of an encoded key from `newest` down to `oldest`, both
/// inclusive.
fn versions_range(encoded: &[u8], newest: u64, oldest: u64) -> KeyRange {
    let mut end = key_with_ts(encoded, oldest);
    end.push(0);
    KeyRange::new(key_with_ts(encoded, newest), Some(end))
}

/// The lock as the error a reader or writer reports.
pub fn lock_info(raw_key: &[u8], lock: &Lock) -> LockInfo {
    LockInfo {
        key: raw_key.to_vec(),
        primary: lock.primary.clone(),
        lock_ts: lock.start_ts,
        ttl: lock.ttl,
        txn_size: lock.txn_size,
    }
}

/// MVCC reads over one consistent snapshot.
pub struct MvccReader<S> {
    snap: S,
}

impl<S: Snapshot> MvccReader<S> {
    /// A reader over `snap`.
    pub fn new(snap: S) -> Self {
        Self { snap }
    }

    /// The write record of an encoded key at exactly `commit_ts`.
    pub fn write_at(&self, encoded: &[u8], commit_ts: u64) -> Result<Option<Write>> {
        self.snap
            .get(Cf::Write, &key_with_ts(encoded, commit_ts))?
            .map(|v| Write::decode(&v))
            .transpose()
    }

    /// Versions of an encoded key with `oldest <= commit_ts <= newest`, newest first.
    pub fn versions(
        &self,
        encoded: &[u8],
        newest: u64,
        oldest: u64,
    ) -> impl Iterator<Item = Result<(u64, Write)>> + use<S> {
        self.snap
            .scan(Cf::Write, &versions_range(encoded, newest, oldest), false)
            .map(|item| {
                let (key, value) = item?;
                let (_, commit_ts) = split_ts(&key)?;
                Ok((commit_ts, Write::decode(&value)?))
            })
    }

    /// The newest put or delete of an encoded key committed at or before `ts`.
    pub fn newest_data_write(&self, encoded: &[u8], ts: u64) -> Result<Option<(u64, Write)>> {
        for version in self.versions(encoded, ts, 0) {
            let (commit_ts, write) = version?;
            if write.is_data() {
                return Ok(Some((commit_ts, write)));
            }
        }
        Ok(None)
    }

    /// What the transaction `start_ts` did to an encoded key. Its record, if
    /// any, has `commit_ts >= start_ts`, so only newer versions are searched.
    pub fn txn_record(&self, encoded: &[u8], start_ts: u64) -> Result<TxnRecord> {
        for version in self.versions(encoded, u64::MAX, start_ts) {
            let (commit_ts, write) = version?;
            if write.start_ts == start_ts {
                return Ok(match write.write_type {
                    WriteType::Rollback => TxnRecord::RolledBack,
                    _ => TxnRecord::Committed { commit_ts },
                });
            }
        }
        Ok(TxnRecord::Unknown)
    }

    /// The value a put record stands for: inline, or in `default` at `key ‖ !start_ts`.
    fn load_value(&self, encoded: &[u8], write: Write) -> Result<Vec<u8>> {
        if let Some(value) = write.short_value {
            return Ok(value);
        }
        self.snap
            .get(Cf::Default, &key_with_ts(encoded, write.start_ts))?
            .map(|v| v.to_vec())
            .ok_or(Error::Corrupt("write record without its value"))
    }

    /// The newest data version of an encoded key and its commit timestamp.
    pub fn latest(&self, encoded: &[u8]) -> Result<Option<(u64, Write)>> {
        self.snap
            .get(Cf::Latest, encoded)?
            .map(|v| decode_latest(&v))
            .transpose()
    }

    /// The committed value of an encoded key as of `ts`. Locks are not
    /// looked at: the caller checked them before taking this snapshot
    /// ([`LockTable`](crate::lock_table::LockTable)).
    pub fn value(&self, encoded: &[u8], ts: u64) -> Result<Option<Vec<u8>>> {
        match self.latest(encoded)? {
            Some((commit_ts, write)) if commit_ts <= ts => self.data_value(encoded, write),
            Some(_) => self.value_before_latest(encoded, ts),
            None => Ok(None),
        }
    }

    /// The value as of a `ts` older than the key's newest version.
    pub fn value_before_latest(&self, encoded: &[u8], ts: u64) -> Result<Option<Vec<u8>>> {
        match self.newest_data_write(encoded, ts)? {
            Some((_, write)) => self.data_value(encoded, write),
            None => Ok(None),
        }
    }

    /// The value a put or delete record leaves the key with.
    pub fn data_value(&self, encoded: &[u8], write: Write) -> Result<Option<Vec<u8>>> {
        match write.write_type {
            WriteType::Put => self.load_value(encoded, write).map(Some),
            _ => Ok(None),
        }
    }

    /// Up to `limit` live (raw key, value) pairs of an encoded range as of
    /// `ts`, in ascending key order or, with `reverse`, descending. Locks are
    /// not looked at, as for [`value`](Self::value).
    pub fn scan(
        &self,
        range: &KeyRange,
        limit: usize,
        ts: u64,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for item in self.snap.scan(Cf::Latest, range, reverse) {
            let (encoded, latest) = item?;
            let (commit_ts, write) = decode_latest(&latest)?;
            let value = if commit_ts <= ts {
                self.data_value(&encoded, write)?
            } else {
                self.value_before_latest(&encoded, ts)?
            };
            if let Some(value) = value {
                out.push((decode_key(&encoded)?, value));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// The part of an encoded `range` a scan that returned `out` has answered
/// for: all of it if the scan ran out of keys, otherwise up to its last key.
pub fn covered_range(
    range: &KeyRange,
    out: &[(Vec<u8>, Vec<u8>)],
    limit: usize,
    reverse: bool,
) -> KeyRange {
    let mut covered = range.clone();
    if out.len() >= limit
        && let Some((last, _)) = out.last()
    {
        let last = codec::mvcc::encode_key(last);
        if reverse {
            covered.start = last;
        } else {
            let mut end = last;
            end.push(0);
            covered.end = Some(end);
        }
    }
    covered
}
