//! Memcomparable byte strings.
//!
//! A byte string is cut into 8-byte groups; each group is padded with zeros
//! and followed by a marker `0xFF - padding`. A full group's marker (`0xFF`)
//! sorts above any final group's, so a string always sorts after its proper
//! prefixes, and the encoding of one string is never a prefix of another's.
//! That second property is what lets anything (a timestamp, another column)
//! be appended after an encoded string without breaking the order.

use crate::{Error, Result};

const GROUP: usize = 8;
const MARKER: u8 = 0xFF;
const PAD: u8 = 0;

/// The encoded length of a `len`-byte string, for sizing buffers up front.
pub fn encoded_len(len: usize) -> usize {
    (len / GROUP + 1) * (GROUP + 1)
}

/// Append the memcomparable form of `data` to `buf`.
pub fn encode_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    buf.reserve(encoded_len(data.len()));
    let mut chunks = data.chunks_exact(GROUP);
    for chunk in &mut chunks {
        buf.extend_from_slice(chunk);
        buf.push(MARKER);
    }
    let rest = chunks.remainder();
    let pad = GROUP - rest.len();
    buf.extend_from_slice(rest);
    buf.extend(std::iter::repeat_n(PAD, pad));
    buf.push(MARKER - pad as u8);
}

/// Decode one memcomparable string from the front of `input`, returning it
/// and the bytes after it.
pub fn decode_bytes(input: &[u8]) -> Result<(Vec<u8>, &[u8])> {
    let mut out = Vec::with_capacity(input.len() / (GROUP + 1) * GROUP);
    let mut rest = input;
    loop {
        if rest.len() < GROUP + 1 {
            return Err(Error::Truncated("bytes group"));
        }
        let (group, tail) = rest.split_at(GROUP + 1);
        rest = tail;
        let marker = group[GROUP];
        let pad = (MARKER - marker) as usize;
        if pad == 0 {
            out.extend_from_slice(&group[..GROUP]);
            continue;
        }
        if pad > GROUP {
            return Err(Error::Invalid("bytes group marker"));
        }
        let (data, padding) = group[..GROUP].split_at(GROUP - pad);
        if padding.iter().any(|&b| b != PAD) {
            return Err(Error::Invalid("bytes group padding"));
        }
        out.extend_from_slice(data);
        return Ok((out, rest));
    }
}

/// The length of the memcomparable string at the front of `input`, without
/// decoding it (used to skip a column of a composite key).
pub fn encoded_prefix_len(input: &[u8]) -> Result<usize> {
    let mut offset = 0;
    loop {
        let marker = *input
            .get(offset + GROUP)
            .ok_or(Error::Truncated("bytes group"))?;
        offset += GROUP + 1;
        if marker != MARKER {
            return Ok(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(data: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_bytes(&mut buf, data);
        buf
    }

    #[test]
    fn groups_and_markers() {
        assert_eq!(enc(b""), [0, 0, 0, 0, 0, 0, 0, 0, 0xF7]);
        assert_eq!(enc(b"abc"), [b'a', b'b', b'c', 0, 0, 0, 0, 0, 0xFA]);
        let eight = enc(b"abcdefgh");
        assert_eq!(eight.len(), 18);
        assert_eq!(eight[8], 0xFF);
        assert_eq!(eight[17], 0xF7);
    }

    #[test]
    fn prefix_sorts_first_and_trailing_zeros_count() {
        assert!(enc(b"ab") < enc(b"ab\0"));
        assert!(enc(b"ab\0") < enc(b"ab\0\0"));
        assert!(enc(b"abcdefgh") < enc(b"abcdefgh\0"));
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(decode_bytes(&[1, 2, 3]).is_err());
        assert!(decode_bytes(&[0, 0, 0, 0, 0, 0, 0, 1, 0xF7]).is_err());
        assert!(decode_bytes(&[0, 0, 0, 0, 0, 0, 0, 0, 0x00]).is_err());
    }

    #[test]
    fn prefix_len_skips_one_string() {
        let mut buf = enc(b"hello, world");
        let n = buf.len();
        buf.extend_from_slice(b"tail");
        assert_eq!(encoded_prefix_len(&buf).unwrap(), n);
        let (data, rest) = decode_bytes(&buf).unwrap();
        assert_eq!(data, b"hello, world");
        assert_eq!(rest, b"tail");
    }
}
