//! The primitive field encodings of MySQL packets: fixed little-endian
//! integers, length-encoded integers and strings, NUL-terminated strings.
//!
//! Reading goes through [`Reader`], whose every method checks the remaining
//! length, so a short or lying packet from a client becomes
//! [`Error::Malformed`] rather than a panic.

use crate::error::Error;

/// Marks a NULL column value in a text row where a length would be.
pub(crate) const NULL_VALUE: u8 = 0xFB;

/// A cursor over one packet payload.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes exactly `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Malformed("truncated field"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        self.array().map(u64::from_le_bytes)
    }

    /// A length-encoded integer. `0xFB` (NULL) and `0xFF` are not integers.
    pub(crate) fn lenenc_int(&mut self) -> Result<u64, Error> {
        match self.u8()? {
            first @ 0..=0xFA => Ok(first as u64),
            0xFC => self.u16().map(u64::from),
            0xFD => {
                let b = self.array::<3>()?;
                Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64)
            }
            0xFE => self.u64(),
            _ => Err(Error::Malformed("length-encoded integer")),
        }
    }

    /// A length-encoded string.
    pub(crate) fn lenenc_bytes(&mut self) -> Result<&'a [u8], Error> {
        let len = self.lenenc_int()?;
        let len = usize::try_from(len).map_err(|_| Error::Malformed("string length"))?;
        self.take(len)
    }

    /// A NUL-terminated string, without the NUL.
    pub(crate) fn nul_bytes(&mut self) -> Result<&'a [u8], Error> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or(Error::Malformed("unterminated string"))?;
        let s = &self.buf[..end];
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// Appends a length-encoded integer.
pub(crate) fn put_lenenc_int(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0xFA => out.push(v as u8),
        0xFB..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&(v as u16).to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// Appends a length-encoded string.
pub(crate) fn put_lenenc_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_lenenc_int(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a length-encoded string produced by `write`, formatting straight
/// into `out`: the one-byte length is patched afterwards, and the rare value
/// of 251 bytes or more is moved to make room for a longer length.
pub(crate) fn put_lenenc_with(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.push(0);
    write(out);
    let len = out.len() - at - 1;
    if len <= 0xFA {
        out[at] = len as u8;
    } else {
        let value = out.split_off(at + 1);
        out.truncate(at);
        put_lenenc_bytes(out, &value);
    }
}

/// Appends a NUL-terminated string.
pub(crate) fn put_nul_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_int_boundaries_round_trip() {
        let cases: [(u64, &[u8]); 8] = [
            (0, &[0x00]),
            (250, &[0xFA]),
            (251, &[0xFC, 0xFB, 0x00]),
            (0xFFFF, &[0xFC, 0xFF, 0xFF]),
            (0x1_0000, &[0xFD, 0x00, 0x00, 0x01]),
            (0xFF_FFFF, &[0xFD, 0xFF, 0xFF, 0xFF]),
            (0x100_0000, &[0xFE, 0, 0, 0, 1, 0, 0, 0, 0]),
            (
                u64::MAX,
                &[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            put_lenenc_int(&mut out, value);
            assert_eq!(out, bytes, "{value}");
            let mut r = Reader::new(&out);
            assert_eq!(r.lenenc_int().unwrap(), value);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn lenenc_int_rejects_null_marker_and_truncation() {
        assert!(Reader::new(&[0xFB]).lenenc_int().is_err());
        assert!(Reader::new(&[0xFF]).lenenc_int().is_err());
        assert!(Reader::new(&[0xFC, 1]).lenenc_int().is_err());
        assert!(Reader::new(&[0xFD, 1, 2]).lenenc_int().is_err());
        assert!(
            Reader::new(&[0xFE, 1, 2, 3, 4, 5, 6, 7])
                .lenenc_int()
                .is_err()
        );
        assert!(Reader::new(&[]).lenenc_int().is_err());
    }

    #[test]
    fn lenenc_strings_round_trip_and_check_length() {
        for len in [0usize, 1, 250, 251, 300, 70_000] {
            let value = vec![b'x'; len];
            let mut out = Vec::new();
            put_lenenc_bytes(&mut out, &value);
            let mut r = Reader::new(&out);
            assert_eq!(r.lenenc_bytes().unwrap(), &value[..]);
            assert!(r.is_empty());

            let mut patched = Vec::new();
            put_lenenc_with(&mut patched, |o| o.extend_from_slice(&value));
            assert_eq!(patched, out, "{len}");
        }
        // Declares 5 bytes, has 2.
        assert!(Reader::new(&[5, b'a', b'b']).lenenc_bytes().is_err());
        // Declares 2^64-1 bytes.
        assert!(
            Reader::new(&[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
                .lenenc_bytes()
                .is_err()
        );
    }

    #[test]
    fn nul_strings() {
        let mut out = Vec::new();
        put_nul_bytes(&mut out, b"root");
        out.extend_from_slice(b"tail");
        let mut r = Reader::new(&out);
        assert_eq!(r.nul_bytes().unwrap(), b"root");
        assert!(r.nul_bytes().is_err());
        assert_eq!(r.rest(), b"tail");
        assert!(r.is_empty());
    }

    #[test]
    fn fixed_integers() {
        let bytes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0302);
        assert_eq!(r.u32().unwrap(), 0x0706_0504);
        assert_eq!(r.u64().unwrap(), 0x0F0E_0D0C_0B0A_0908);
        assert!(r.u8().is_err());
    }
}
