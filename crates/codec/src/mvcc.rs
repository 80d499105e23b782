//! MVCC keys: a user key in memcomparable form, optionally followed by a
//! timestamp.
//!
//! Every data family is keyed by `encode_key(user_key)`; the `write` and
//! `default` families append `!ts` (the bitwise complement, big-endian), so
//! the versions of one key sit together, **newest first**. A reader at `ts`
//! seeks to `key ‖ !ts` and the first entry it finds is the newest version at
//! or below `ts`. Encoding the user key first (rather than using it raw) is
//! what keeps `"a" ‖ ts` from sorting between `"a"` and `"a\0"`.

use crate::{Error, Result, bytes};

/// Size of the timestamp suffix.
pub const TS_LEN: usize = 8;

/// The memcomparable form of a user key: the key of its lock, and the prefix of
/// all its versions.
pub fn encode_key(raw: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(bytes::encoded_len(raw.len()) + TS_LEN);
    encode_key_into(&mut buf, raw);
    buf
}

/// [`encode_key`] appended to `buf`, for loops that reuse one buffer.
pub fn encode_key_into(buf: &mut Vec<u8>, raw: &[u8]) {
    bytes::encode_bytes(buf, raw);
}

/// The user key back from [`encode_key`]'s form (a timestamp suffix, if any, is
/// ignored).
pub fn decode_key(encoded: &[u8]) -> Result<Vec<u8>> {
    bytes::decode_bytes(encoded).map(|(raw, _)| raw)
}

/// Append the timestamp suffix to an encoded key.
pub fn append_ts(encoded: &mut Vec<u8>, ts: u64) {
    encoded.extend_from_slice(&(!ts).to_be_bytes());
}

/// `encoded ‖ !ts` as a new key.
pub fn key_with_ts(encoded: &[u8], ts: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(encoded.len() + TS_LEN);
    key.extend_from_slice(encoded);
    append_ts(&mut key, ts);
    key
}

/// Split a versioned key into its encoded user key and timestamp.
pub fn split_ts(key: &[u8]) -> Result<(&[u8], u64)> {
    if key.len() < TS_LEN {
        return Err(Error::Truncated("mvcc timestamp"));
    }
    let (encoded, ts) = key.split_at(key.len() - TS_LEN);
    let ts = u64::from_be_bytes(
        ts.try_into()
            .map_err(|_| Error::Invalid("mvcc timestamp"))?,
    );
    Ok((encoded, !ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first_and_keys_stay_apart() {
        let a = encode_key(b"a");
        let a0 = encode_key(b"a\0");
        assert!(key_with_ts(&a, 10) < key_with_ts(&a, 5));
        assert!(key_with_ts(&a, 0) < key_with_ts(&a0, u64::MAX));
        let versioned = key_with_ts(&a, 42);
        let (k, ts) = split_ts(&versioned).unwrap();
        assert_eq!((k, ts), (a.as_slice(), 42));
        assert_eq!(decode_key(k).unwrap(), b"a");
    }
}
