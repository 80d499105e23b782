//! Memcomparable numbers: fixed 8-byte big-endian forms whose byte order is
//! the numeric order, so integer and float key columns range-scan correctly
//! in an engine that only knows byte order.
//!
//! Floats: `-0.0` is written as `0.0` (SQL says they are equal, so a unique
//! index must see one key), and every NaN is written as one canonical NaN that
//! sorts after `+inf`. SQL never stores NaN, but encoding must be total; the
//! decoder rejects the forms the encoder never writes, so each float has
//! exactly one key.

use crate::{Error, Result};

const SIGN: u64 = 1 << 63;

/// Split `N` bytes off the front of `input`; shared by the fixed-width decoders.
fn take<'a, const N: usize>(input: &'a [u8], what: &'static str) -> Result<([u8; N], &'a [u8])> {
    let (head, rest) = input
        .split_first_chunk::<N>()
        .ok_or(Error::Truncated(what))?;
    Ok((*head, rest))
}

/// Append `v`; big-endian already orders unsigned integers.
pub fn encode_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Decode a [`encode_u64`] value from the front of `input`, returning the rest.
pub fn decode_u64(input: &[u8]) -> Result<(u64, &[u8])> {
    let (bytes, rest) = take::<8>(input, "u64")?;
    Ok((u64::from_be_bytes(bytes), rest))
}

/// Append `v` with its sign bit flipped, so negatives sort below positives.
pub fn encode_i64(buf: &mut Vec<u8>, v: i64) {
    encode_u64(buf, v as u64 ^ SIGN);
}

/// Decode a [`encode_i64`] value from the front of `input`, returning the rest.
pub fn decode_i64(input: &[u8]) -> Result<(i64, &[u8])> {
    let (bytes, rest) = take::<8>(input, "i64")?;
    Ok(((u64::from_be_bytes(bytes) ^ SIGN) as i64, rest))
}

/// Append `v`: positives get their sign bit set, negatives are complemented
/// (so a larger magnitude sorts lower). See the module notes on `-0.0` and NaN.
pub fn encode_f64(buf: &mut Vec<u8>, v: f64) {
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    let bits = v.to_bits();
    encode_u64(buf, if bits & SIGN == 0 { bits | SIGN } else { !bits });
}

/// Decode a [`encode_f64`] value from the front of `input`, returning the rest.
pub fn decode_f64(input: &[u8]) -> Result<(f64, &[u8])> {
    let (bytes, rest) = take::<8>(input, "f64")?;
    let ordered = u64::from_be_bytes(bytes);
    let bits = if ordered & SIGN != 0 {
        ordered ^ SIGN
    } else {
        !ordered
    };
    let v = f64::from_bits(bits);
    let canonical = if v.is_nan() {
        bits == f64::NAN.to_bits()
    } else {
        bits != (-0.0f64).to_bits()
    };
    if !canonical {
        return Err(Error::Invalid("f64 form"));
    }
    Ok((v, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_i(v: i64) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_i64(&mut buf, v);
        buf
    }

    fn enc_f(v: f64) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_f64(&mut buf, v);
        buf
    }

    #[test]
    fn integer_extremes_round_trip_in_order() {
        let ints = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
        for w in ints.windows(2) {
            assert!(enc_i(w[0]) < enc_i(w[1]));
        }
        for v in ints {
            assert_eq!(decode_i64(&enc_i(v)).unwrap(), (v, &[][..]));
        }
        assert_eq!(enc_i(0), [0x80, 0, 0, 0, 0, 0, 0, 0]);
        let mut buf = Vec::new();
        encode_u64(&mut buf, u64::MAX);
        encode_u64(&mut buf, 7);
        let (a, rest) = decode_u64(&buf).unwrap();
        assert_eq!((a, decode_u64(rest).unwrap().0), (u64::MAX, 7));
    }

    #[test]
    fn float_specials_order_and_round_trip() {
        let sub = f64::from_bits(1);
        let floats = [
            f64::NEG_INFINITY,
            f64::MIN,
            -1.0,
            -f64::MIN_POSITIVE,
            -sub,
            0.0,
            sub,
            f64::MIN_POSITIVE,
            1.0,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ];
        for w in floats.windows(2) {
            assert!(enc_f(w[0]) < enc_f(w[1]), "{} < {}", w[0], w[1]);
        }
        for v in &floats[..floats.len() - 1] {
            assert_eq!(decode_f64(&enc_f(*v)).unwrap().0.to_bits(), v.to_bits());
        }
        assert!(decode_f64(&enc_f(-f64::NAN)).unwrap().0.is_nan());
    }

    #[test]
    fn negative_zero_is_zero_and_non_canonical_forms_are_rejected() {
        assert_eq!(enc_f(-0.0), enc_f(0.0));
        let neg_zero = !(-0.0f64).to_bits();
        assert!(decode_f64(&neg_zero.to_be_bytes()).is_err());
        let other_nan = (f64::NAN.to_bits() | 1) | SIGN;
        assert!(decode_f64(&other_nan.to_be_bytes()).is_err());
        assert_eq!(decode_i64(&[1, 2, 3]), Err(Error::Truncated("i64")));
    }
}
