//! SQL values and the composite memcomparable key codec for index columns.
//!
//! Each value in a key is a one-byte kind flag followed by the kind's
//! memcomparable form. `NULL`'s flag is the smallest, so `NULL` sorts first, as
//! in MySQL indexes. Every form is self-delimiting, so values concatenate
//! without separators and a key decodes without knowing the schema.
//!
//! The flags follow the declaration order of [`Datum`]'s variants, so the
//! derived `PartialOrd` agrees with key order even across kinds (which SQL
//! never compares in one column, but it keeps the two orders from drifting).

use crate::decimal::{Decimal, decode_decimal, encode_decimal};
use crate::number::{decode_f64, decode_i64, decode_u64, encode_f64, encode_i64, encode_u64};
use crate::time::{
    Date, DateTime, Time, decode_date, decode_datetime, decode_time, encode_date, encode_datetime,
    encode_time,
};
use crate::{Error, Result, bytes};

pub(crate) const NULL_FLAG: u8 = 0x00;
pub(crate) const I64_FLAG: u8 = 0x01;
pub(crate) const U64_FLAG: u8 = 0x02;
pub(crate) const F64_FLAG: u8 = 0x03;
pub(crate) const BYTES_FLAG: u8 = 0x04;
pub(crate) const DECIMAL_FLAG: u8 = 0x05;
pub(crate) const DATE_FLAG: u8 = 0x06;
pub(crate) const DATETIME_FLAG: u8 = 0x07;
pub(crate) const TIME_FLAG: u8 = 0x08;

/// One SQL value as the storage layer sees it; the column type decides which
/// kind a column holds, so kinds never mix within one column.
///
/// Equality and order are by value within a kind (`-0.0 == 0.0`, decimals
/// ignore scale); float NaN, which SQL never stores, is unordered here but
/// sorts last in keys.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Datum {
    /// SQL `NULL`.
    Null,
    /// Signed integers of every width.
    I64(i64),
    /// `UNSIGNED` integers of every width.
    U64(u64),
    /// `FLOAT` and `DOUBLE`.
    F64(f64),
    /// Binary and (binary-collated) character strings.
    Bytes(Vec<u8>),
    /// `DECIMAL`.
    Decimal(Decimal),
    /// `DATE`.
    Date(Date),
    /// `DATETIME` and `TIMESTAMP`.
    DateTime(DateTime),
    /// `TIME`.
    Time(Time),
}

impl Datum {
    /// The kind flag, shared by keys and the row format.
    pub(crate) fn flag(&self) -> u8 {
        match self {
            Datum::Null => NULL_FLAG,
            Datum::I64(_) => I64_FLAG,
            Datum::U64(_) => U64_FLAG,
            Datum::F64(_) => F64_FLAG,
            Datum::Bytes(_) => BYTES_FLAG,
            Datum::Decimal(_) => DECIMAL_FLAG,
            Datum::Date(_) => DATE_FLAG,
            Datum::DateTime(_) => DATETIME_FLAG,
            Datum::Time(_) => TIME_FLAG,
        }
    }
}

/// Append one value's flag and memcomparable form.
pub fn encode_datum(buf: &mut Vec<u8>, datum: &Datum) {
    buf.push(datum.flag());
    match datum {
        Datum::Null => {}
        Datum::I64(v) => encode_i64(buf, *v),
        Datum::U64(v) => encode_u64(buf, *v),
        Datum::F64(v) => encode_f64(buf, *v),
        Datum::Bytes(v) => bytes::encode_bytes(buf, v),
        Datum::Decimal(v) => encode_decimal(buf, v),
        Datum::Date(v) => encode_date(buf, *v),
        Datum::DateTime(v) => encode_datetime(buf, *v),
        Datum::Time(v) => encode_time(buf, *v),
    }
}

/// Append the values in order; the result sorts like the tuple, column by
/// column.
pub fn encode_key(buf: &mut Vec<u8>, datums: &[Datum]) {
    for datum in datums {
        encode_datum(buf, datum);
    }
}

/// Decode the value at the front of `input`, returning it and the rest (for
/// walking a key one column at a time). Decimals come back at their shortest
/// scale (see [`crate::decimal`]).
pub fn decode_datum(input: &[u8]) -> Result<(Datum, &[u8])> {
    let (&flag, rest) = input.split_first().ok_or(Error::Truncated("datum flag"))?;
    Ok(match flag {
        NULL_FLAG => (Datum::Null, rest),
        I64_FLAG => decode_i64(rest).map(|(v, rest)| (Datum::I64(v), rest))?,
        U64_FLAG => decode_u64(rest).map(|(v, rest)| (Datum::U64(v), rest))?,
        F64_FLAG => decode_f64(rest).map(|(v, rest)| (Datum::F64(v), rest))?,
        BYTES_FLAG => bytes::decode_bytes(rest).map(|(v, rest)| (Datum::Bytes(v), rest))?,
        DECIMAL_FLAG => decode_decimal(rest).map(|(v, rest)| (Datum::Decimal(v), rest))?,
        DATE_FLAG => decode_date(rest).map(|(v, rest)| (Datum::Date(v), rest))?,
        DATETIME_FLAG => decode_datetime(rest).map(|(v, rest)| (Datum::DateTime(v), rest))?,
        TIME_FLAG => decode_time(rest).map(|(v, rest)| (Datum::Time(v), rest))?,
        _ => return Err(Error::Invalid("datum flag")),
    })
}

/// Decode every value of `input`, which must hold nothing else.
pub fn decode_key(mut input: &[u8]) -> Result<Vec<Datum>> {
    let mut datums = Vec::new();
    while !input.is_empty() {
        let (datum, rest) = decode_datum(input)?;
        datums.push(datum);
        input = rest;
    }
    Ok(datums)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(datums: &[Datum]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_key(&mut buf, datums);
        buf
    }

    fn samples() -> Vec<Datum> {
        vec![
            Datum::Null,
            Datum::I64(i64::MIN),
            Datum::I64(i64::MAX),
            Datum::U64(0),
            Datum::U64(u64::MAX),
            Datum::F64(f64::NEG_INFINITY),
            Datum::F64(f64::INFINITY),
            Datum::Bytes(Vec::new()),
            Datum::Bytes(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff".to_vec()),
            Datum::Decimal("-1.5".parse().unwrap()),
            Datum::Decimal("12.5".parse().unwrap()),
            Datum::Date("0000-00-00".parse().unwrap()),
            Datum::Date("9999-12-31".parse().unwrap()),
            Datum::DateTime("0000-00-00 00:00:00".parse().unwrap()),
            Datum::DateTime("9999-12-31 23:59:59.999999".parse().unwrap()),
            Datum::Time("-838:59:59".parse().unwrap()),
            Datum::Time("838:59:59".parse().unwrap()),
        ]
    }

    #[test]
    fn every_kind_round_trips_and_sorts_like_partial_ord() {
        let all = samples();
        assert_eq!(decode_key(&enc(&all)).unwrap(), all);
        for a in &all {
            for b in &all {
                let order = a.partial_cmp(b).unwrap();
                assert_eq!(
                    enc(std::slice::from_ref(a)).cmp(&enc(std::slice::from_ref(b))),
                    order,
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn null_sorts_first_within_a_column() {
        let key = |a: Datum, b: Datum| enc(&[a, b]);
        assert!(key(Datum::Null, Datum::I64(9)) < key(Datum::I64(i64::MIN), Datum::Null));
        assert!(key(Datum::I64(1), Datum::Null) < key(Datum::I64(1), Datum::I64(i64::MIN)));
        assert!(
            key(Datum::Bytes(b"a".to_vec()), Datum::I64(5))
                < key(Datum::Bytes(b"a\0".to_vec()), Datum::I64(0))
        );
    }

    #[test]
    fn front_decoding_and_errors() {
        let mut buf = enc(&[Datum::I64(7)]);
        buf.extend_from_slice(b"tail");
        assert_eq!(decode_datum(&buf).unwrap(), (Datum::I64(7), &b"tail"[..]));
        assert_eq!(decode_key(&[]).unwrap(), Vec::new());
        assert!(decode_datum(&[0x09]).is_err());
        assert!(decode_key(&[I64_FLAG, 0, 0]).is_err());
        assert!(decode_key(&[DATE_FLAG, 0xFF, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
