//! The two records Percolator keeps beside the data: the **lock** (one per
//! key, at the bare key in the `lock` family, while a transaction is in
//! flight) and the **write** (one per committed or rolled-back version, at
//! `key ‖ !commit_ts` in the `write` family).
//!
//! Both inline values up to [`SHORT_VALUE_MAX`] bytes, so a small row is read
//! with one seek in the `write` family and no second lookup in `default`.

use crate::{Error, Result};

/// Values up to this size live inside the lock and write records.
pub const SHORT_VALUE_MAX: usize = 255;

/// What a lock will become on commit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LockType {
    /// The key gets a new value.
    Put,
    /// The key is deleted.
    Delete,
    /// A pessimistic lock taken by a statement before commit: it reserves
    /// the key (other writers wait) but holds no value and does not block
    /// readers. Prewrite turns it into a `Put` or `Delete` lock.
    Pessimistic,
}

/// A Percolator lock. `primary` names the key whose fate decides this
/// transaction's: a reader that meets this lock asks the primary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// What commit will write.
    pub lock_type: LockType,
    /// The transaction's primary key (raw).
    pub primary: Vec<u8>,
    /// The transaction's start timestamp: its identity.
    pub start_ts: u64,
    /// Milliseconds after `start_ts`'s physical time when the lock may be
    /// considered abandoned and rolled back by others.
    pub ttl: u64,
    /// Number of keys the transaction writes, a hint for resolvers.
    pub txn_size: u64,
    /// For pessimistic transactions, the timestamp of the statement that
    /// locked the key (0 for optimistic locks).
    pub for_update_ts: u64,
    /// The value, when short enough to inline.
    pub short_value: Option<Vec<u8>>,
}

/// What a write record says happened to a version.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WriteType {
    /// A new value (inline or in `default` at `key ‖ !start_ts`).
    Put,
    /// A deletion.
    Delete,
    /// A rollback marker at `key ‖ !start_ts`, so a late prewrite of the
    /// rolled-back transaction fails instead of resurrecting it.
    Rollback,
}

/// A committed (or rolled-back) version of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// What happened.
    pub write_type: WriteType,
    /// The transaction that did it.
    pub start_ts: u64,
    /// The value, when short enough to inline.
    pub short_value: Option<Vec<u8>>,
}

fn put_short_value(buf: &mut Vec<u8>, value: &Option<Vec<u8>>) {
    if let Some(v) = value {
        buf.push(1);
        buf.extend_from_slice(v);
    }
}

fn take_u64(input: &mut &[u8]) -> Result<u64> {
    let (head, rest) = input
        .split_first_chunk::<8>()
        .ok_or(Error::Corrupt("record truncated"))?;
    *input = rest;
    Ok(u64::from_be_bytes(*head))
}

fn take_short_value(input: &[u8]) -> Result<Option<Vec<u8>>> {
    match input.split_first() {
        None => Ok(None),
        Some((1, v)) => Ok(Some(v.to_vec())),
        Some(_) => Err(Error::Corrupt("short value flag")),
    }
}

impl Lock {
    /// Serialized form: `type, start_ts, ttl, txn_size, for_update_ts,
    /// primary_len(u32), primary, [1, value]`.
    pub fn encode(&self) -> Vec<u8> {
        let value_len = self.short_value.as_ref().map_or(0, |v| v.len() + 1);
        let mut buf = Vec::with_capacity(37 + self.primary.len() + value_len);
        buf.push(match self.lock_type {
            LockType::Put => b'P',
            LockType::Delete => b'D',
            LockType::Pessimistic => b'S',
        });
        buf.extend_from_slice(&self.start_ts.to_be_bytes());
        buf.extend_from_slice(&self.ttl.to_be_bytes());
        buf.extend_from_slice(&self.txn_size.to_be_bytes());
        buf.extend_from_slice(&self.for_update_ts.to_be_bytes());
        buf.extend_from_slice(&(self.primary.len() as u32).to_be_bytes());
        buf.extend_from_slice(&self.primary);
        put_short_value(&mut buf, &self.short_value);
        buf
    }

    /// Inverse of [`Lock::encode`].
    pub fn decode(mut input: &[u8]) -> Result<Self> {
        let (&kind, rest) = input.split_first().ok_or(Error::Corrupt("empty lock"))?;
        input = rest;
        let lock_type = match kind {
            b'P' => LockType::Put,
            b'D' => LockType::Delete,
            b'S' => LockType::Pessimistic,
            _ => return Err(Error::Corrupt("lock type")),
        };
        let start_ts = take_u64(&mut input)?;
        let ttl = take_u64(&mut input)?;
        let txn_size = take_u64(&mut input)?;
        let for_update_ts = take_u64(&mut input)?;
        let (len, rest) = input
            .split_first_chunk::<4>()
            .ok_or(Error::Corrupt("lock primary length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(Error::Corrupt("lock primary"));
        }
        let (primary, rest) = rest.split_at(len);
        Ok(Lock {
            lock_type,
            primary: primary.to_vec(),
            start_ts,
            ttl,
            txn_size,
            for_update_ts,
            short_value: take_short_value(rest)?,
        })
    }
}

impl Write {
    /// Serialized form: `type, start_ts, [1, value]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(10 + self.short_value.as_ref().map_or(0, Vec::len));
        buf.push(match self.write_type {
            WriteType::Put => b'P',
            WriteType::Delete => b'D',
            WriteType::Rollback => b'R',
        });
        buf.extend_from_slice(&self.start_ts.to_be_bytes());
        put_short_value(&mut buf, &self.short_value);
        buf
    }

    /// Inverse of [`Write::encode`].
    pub fn decode(input: &[u8]) -> Result<Self> {
        let (&kind, mut rest) = input.split_first().ok_or(Error::Corrupt("empty write"))?;
        let write_type = match kind {
            b'P' => WriteType::Put,
            b'D' => WriteType::Delete,
            b'R' => WriteType::Rollback,
            _ => return Err(Error::Corrupt("write type")),
        };
        let start_ts = take_u64(&mut rest)?;
        Ok(Write {
            write_type,
            start_ts,
            short_value: take_short_value(rest)?,
        })
    }

    /// Whether this version changes the key's value (rollbacks do not).
    pub fn is_data(&self) -> bool {
        self.write_type != WriteType::Rollback
    }

    /// [`is_data`](Self::is_data) of an encoded record, without decoding it.
    pub fn encoded_is_data(encoded: &[u8]) -> bool {
        encoded.first() != Some(&b'R')
    }
}

/// The `latest` family's value for a key: the commit timestamp of the key's
/// newest data version, then that version's encoded write record.
pub fn encode_latest(commit_ts: u64, record: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(8 + record.len());
    buf.extend_from_slice(&commit_ts.to_be_bytes());
    buf.extend_from_slice(record);
    buf
}

/// Inverse of [`encode_latest`].
pub fn decode_latest(mut input: &[u8]) -> Result<(u64, Write)> {
    let commit_ts = take_u64(&mut input)?;
    Ok((commit_ts, Write::decode(input)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for short_value in [None, Some(vec![]), Some(b"v\x00\x01".to_vec())] {
            let lock = Lock {
                lock_type: LockType::Delete,
                primary: b"pk\xff".to_vec(),
                start_ts: 42,
                ttl: 3000,
                txn_size: 7,
                for_update_ts: 50,
                short_value: short_value.clone(),
            };
            assert_eq!(Lock::decode(&lock.encode()).unwrap(), lock);
            let write = Write {
                write_type: WriteType::Put,
                start_ts: 9,
                short_value,
            };
            assert_eq!(Write::decode(&write.encode()).unwrap(), write);
        }
        assert!(Lock::decode(b"X").is_err());
        assert!(Write::decode(b"P\x00").is_err());
    }
}
