//! The row value format, after TiDB's row format v2: a reader finds one column
//! by binary search over the column ids and slices its bytes by offset, so it
//! never decodes the columns it does not need.
//!
//! ```text
//! 0x80 | flags | values: u16 | nulls: u16
//! ids of non-NULL columns, ascending | ids of NULL columns, ascending   (u8 each; u32 if LARGE)
//! end offset of each non-NULL value within the data                    (u16 each; u32 if LARGE)
//! data: each non-NULL value as its kind flag, then its payload
//! ```
//!
//! Integers in the layout are little-endian; `LARGE` is set only when a column
//! id exceeds 255 or the data exceeds 64 KiB, so most rows pay one byte per id
//! and two per offset. NULLs cost only their id. A column whose id is absent
//! was added after the row was written: [`RowView::get`] reports it as
//! missing (`None`), distinct from NULL, so the caller applies the default.
//!
//! Unlike TiDB, each value carries its kind flag (one byte), so a row decodes
//! without its schema: debug endpoints can print it, and a column whose type
//! changed is detected instead of misread. Payloads are compact, not
//! memcomparable: integers (and the packed date/time forms) take 1, 2, 4 or 8
//! bytes, floats their 8 raw bytes, strings their bytes, decimals their scale
//! byte followed by their key form.

use crate::datum::{
    BYTES_FLAG, DATE_FLAG, DATETIME_FLAG, DECIMAL_FLAG, Datum, F64_FLAG, I64_FLAG, TIME_FLAG,
    U64_FLAG,
};
use crate::decimal::{decode_decimal, encode_decimal};
use crate::time::{Date, DateTime, Time};
use crate::{Error, Result};

const VERSION: u8 = 0x80;
const LARGE: u8 = 0x01;
const HEADER: usize = 6;

fn widths(large: bool) -> (usize, usize) {
    if large { (4, 4) } else { (1, 2) }
}

/// Append the row holding `columns` (any order; ids must be distinct and in
/// `0..=u32::MAX`). `Datum::Null` columns are listed without data.
pub fn encode_row(buf: &mut Vec<u8>, columns: &[(i64, &Datum)]) -> Result<()> {
    // (id, value, end offset of the value in the data)
    let mut cols = Vec::with_capacity(columns.len());
    for &(id, datum) in columns {
        let id = u32::try_from(id).map_err(|_| Error::Invalid("row column id"))?;
        cols.push((id, datum, 0u32));
    }
    cols.sort_unstable_by_key(|c| c.0);
    if cols.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(Error::Invalid("duplicate row column id"));
    }
    let large_ids = cols.last().is_some_and(|c| c.0 > u8::MAX as u32);
    // Stable, so both groups stay in id order.
    cols.sort_by_key(|c| matches!(c.1, Datum::Null));
    let values = cols
        .iter()
        .take_while(|c| !matches!(c.1, Datum::Null))
        .count();
    let (Ok(value_count), Ok(null_count)) =
        (u16::try_from(values), u16::try_from(cols.len() - values))
    else {
        return Err(Error::Invalid("row column count"));
    };

    // Write the data after room for the largest header, then close the gap
    // once the data size says which header it gets.
    let start = buf.len();
    let data_start = start + HEADER + 4 * cols.len() + 4 * values;
    buf.resize(data_start, 0);
    for col in &mut cols[..values] {
        encode_value(buf, col.1);
        col.2 = u32::try_from(buf.len() - data_start).map_err(|_| {
            buf.truncate(start);
            Error::Invalid("row too large")
        })?;
    }
    let data_len = buf.len() - data_start;
    let large = large_ids || data_len > u16::MAX as usize;
    let (id_width, offset_width) = widths(large);
    let header_len = HEADER + id_width * cols.len() + offset_width * values;
    buf.copy_within(data_start.., start + header_len);
    buf.truncate(start + header_len + data_len);

    let mut at = start;
    let mut put = |bytes: &[u8]| {
        buf[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&[VERSION, if large { LARGE } else { 0 }]);
    put(&value_count.to_le_bytes());
    put(&null_count.to_le_bytes());
    for col in &cols {
        put(&col.0.to_le_bytes()[..id_width]);
    }
    for col in &cols[..values] {
        put(&col.2.to_le_bytes()[..offset_width]);
    }
    Ok(())
}

fn encode_value(buf: &mut Vec<u8>, datum: &Datum) {
    buf.push(datum.flag());
    match datum {
        Datum::Null => {}
        Datum::I64(v) => put_int(buf, *v),
        Datum::U64(v) => put_uint(buf, *v),
        Datum::F64(v) => buf.extend_from_slice(&v.to_bits().to_le_bytes()),
        Datum::Bytes(v) => buf.extend_from_slice(v),
        Datum::Decimal(v) => {
            buf.push(v.scale());
            encode_decimal(buf, v);
        }
        Datum::Date(v) => put_uint(buf, v.to_packed()),
        Datum::DateTime(v) => put_uint(buf, v.to_packed()),
        Datum::Time(v) => put_int(buf, v.to_packed()),
    }
}

/// The value in as few of 1, 2, 4 or 8 bytes as hold it; its length is known
/// from the offsets, so no length prefix is needed.
fn put_int(buf: &mut Vec<u8>, v: i64) {
    let bytes = v.to_le_bytes();
    let len = if i8::try_from(v).is_ok() {
        1
    } else if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    };
    buf.extend_from_slice(&bytes[..len]);
}

fn put_uint(buf: &mut Vec<u8>, v: u64) {
    let len = match v {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFFFF_FFFF => 4,
        _ => 8,
    };
    buf.extend_from_slice(&v.to_le_bytes()[..len]);
}

fn read_le(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |v, &b| v << 8 | b as u64)
}

fn get_uint(bytes: &[u8]) -> Result<u64> {
    match bytes.len() {
        1 | 2 | 4 | 8 => Ok(read_le(bytes)),
        _ => Err(Error::Invalid("row integer width")),
    }
}

/// Sign-extends the 1, 2, 4 or 8 bytes [`put_int`] wrote.
fn get_int(bytes: &[u8]) -> Result<i64> {
    let v = get_uint(bytes)?;
    let shift = 64 - 8 * bytes.len() as u32;
    Ok(((v as i64) << shift) >> shift)
}

fn decode_value(bytes: &[u8]) -> Result<Datum> {
    let (&flag, payload) = bytes.split_first().ok_or(Error::Truncated("row value"))?;
    Ok(match flag {
        I64_FLAG => Datum::I64(get_int(payload)?),
        U64_FLAG => Datum::U64(get_uint(payload)?),
        F64_FLAG => {
            let bits: [u8; 8] = payload
                .try_into()
                .map_err(|_| Error::Invalid("row f64 width"))?;
            Datum::F64(f64::from_bits(u64::from_le_bytes(bits)))
        }
        BYTES_FLAG => Datum::Bytes(payload.to_vec()),
        DECIMAL_FLAG => {
            let (&scale, key) = payload
                .split_first()
                .ok_or(Error::Truncated("row decimal"))?;
            match decode_decimal(key)? {
                (d, []) => Datum::Decimal(d.rescale(scale)?),
                _ => return Err(Error::Invalid("row decimal trailing bytes")),
            }
        }
        DATE_FLAG => Datum::Date(Date::from_packed(get_uint(payload)?)?),
        DATETIME_FLAG => Datum::DateTime(DateTime::from_packed(get_uint(payload)?)?),
        TIME_FLAG => Datum::Time(Time::from_packed(get_int(payload)?)?),
        _ => return Err(Error::Invalid("row value flag")),
    })
}

/// A row whose header has been checked, from which columns are decoded on
/// demand; build one per row and ask it for as many columns as needed.
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    large: bool,
    values: usize,
    nulls: usize,
    ids: &'a [u8],
    offsets: &'a [u8],
    data: &'a [u8],
}

impl<'a> RowView<'a> {
    /// Check the header of an [`encode_row`] row; values are checked as they
    /// are read.
    pub fn new(row: &'a [u8]) -> Result<Self> {
        let (head, rest) = row
            .split_first_chunk::<HEADER>()
            .ok_or(Error::Truncated("row header"))?;
        if head[0] != VERSION {
            return Err(Error::Invalid("row version"));
        }
        if head[1] & !LARGE != 0 {
            return Err(Error::Invalid("row flags"));
        }
        let large = head[1] & LARGE != 0;
        let values = u16::from_le_bytes([head[2], head[3]]) as usize;
        let nulls = u16::from_le_bytes([head[4], head[5]]) as usize;
        let (id_width, offset_width) = widths(large);
        let ids_len = id_width * (values + nulls);
        let offsets_len = offset_width * values;
        if rest.len() < ids_len + offsets_len {
            return Err(Error::Truncated("row header"));
        }
        let (ids, rest) = rest.split_at(ids_len);
        let (offsets, data) = rest.split_at(offsets_len);
        let view = RowView {
            large,
            values,
            nulls,
            ids,
            offsets,
            data,
        };
        if values.checked_sub(1).map_or(0, |last| view.end(last)) != data.len() {
            return Err(Error::Invalid("row data length"));
        }
        Ok(view)
    }

    /// The column's value: `None` when the row has no such column (it was
    /// added later; use its default), `Some(Datum::Null)` when it is NULL.
    pub fn get(&self, column_id: i64) -> Result<Option<Datum>> {
        let Ok(id) = u32::try_from(column_id) else {
            return Ok(None);
        };
        if let Some(i) = self.find(0, self.values, id) {
            return self.value(i).map(Some);
        }
        let null = self.find(self.values, self.values + self.nulls, id);
        Ok(null.map(|_| Datum::Null))
    }

    /// Every column as `(id, value)`, in id order, NULLs included.
    pub fn decode_all(&self) -> Result<Vec<(i64, Datum)>> {
        let mut columns = Vec::with_capacity(self.values + self.nulls);
        for i in 0..self.values {
            columns.push((self.id(i) as i64, self.value(i)?));
        }
        for i in self.values..self.values + self.nulls {
            columns.push((self.id(i) as i64, Datum::Null));
        }
        columns.sort_unstable_by_key(|c| c.0);
        Ok(columns)
    }

    fn id(&self, i: usize) -> u32 {
        let width = widths(self.large).0;
        read_le(&self.ids[i * width..(i + 1) * width]) as u32
    }

    fn end(&self, i: usize) -> usize {
        let width = widths(self.large).1;
        read_le(&self.offsets[i * width..(i + 1) * width]) as usize
    }

    /// Binary search for `id` among the ids at positions `lo..hi`.
    fn find(&self, mut lo: usize, mut hi: usize, id: u32) -> Option<usize> {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id(mid).cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn value(&self, i: usize) -> Result<Datum> {
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        let bytes = self
            .data
            .get(start..self.end(i))
            .ok_or(Error::Invalid("row offsets"))?;
        decode_value(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(columns: &[(i64, Datum)]) -> Vec<u8> {
        let refs: Vec<(i64, &Datum)> = columns.iter().map(|(id, d)| (*id, d)).collect();
        let mut buf = Vec::new();
        encode_row(&mut buf, &refs).unwrap();
        buf
    }

    #[test]
    fn small_row_layout() {
        let row = encode(&[
            (3, Datum::Null),
            (2, Datum::Bytes(b"ab".to_vec())),
            (1, Datum::I64(-1)),
        ]);
        let expected = [
            VERSION, 0, 2, 0, 1, 0, // header
            1, 2, 3, // ids: non-NULL, then NULL
            2, 0, 5, 0, // end offsets
            I64_FLAG, 0xFF, BYTES_FLAG, b'a', b'b',
        ];
        assert_eq!(row, expected);
        let view = RowView::new(&row).unwrap();
        assert_eq!(view.get(1).unwrap(), Some(Datum::I64(-1)));
        assert_eq!(view.get(3).unwrap(), Some(Datum::Null));
        assert_eq!(view.get(4).unwrap(), None);
        assert_eq!(view.get(-1).unwrap(), None);
    }

    #[test]
    fn every_kind_and_extreme_round_trips() {
        let columns = vec![
            (1, Datum::I64(i64::MIN)),
            (2, Datum::I64(i64::MAX)),
            (3, Datum::I64(-129)),
            (4, Datum::U64(u64::MAX)),
            (5, Datum::U64(256)),
            (6, Datum::F64(-0.0)),
            (7, Datum::F64(f64::from_bits(1))),
            (8, Datum::Bytes(Vec::new())),
            (
                9,
                Datum::Decimal("-0.000000000000000000000000000000".parse().unwrap()),
            ),
            (
                10,
                Datum::Decimal(
                    format!("{}.{}", "9".repeat(35), "9".repeat(30))
                        .parse()
                        .unwrap(),
                ),
            ),
            (11, Datum::Date("0000-00-00".parse().unwrap())),
            (
                12,
                Datum::DateTime("9999-12-31 23:59:59.999999".parse().unwrap()),
            ),
            (13, Datum::Time("-838:59:59".parse().unwrap())),
            (14, Datum::Null),
        ];
        let row = encode(&columns);
        let decoded = RowView::new(&row).unwrap().decode_all().unwrap();
        assert_eq!(
            format!("{decoded:?}"),
            format!("{columns:?}"),
            "scale and -0.0 survive"
        );
    }

    #[test]
    fn large_rows_switch_to_wide_ids_and_offsets() {
        let big = Datum::Bytes(vec![7; 70_000]);
        for columns in [
            vec![(1, Datum::I64(1)), (300, Datum::Null)],
            vec![(1, big.clone()), (2, Datum::I64(5))],
        ] {
            let row = encode(&columns);
            assert_eq!(row[1], LARGE);
            let view = RowView::new(&row).unwrap();
            for (id, datum) in &columns {
                assert_eq!(view.get(*id).unwrap().as_ref(), Some(datum));
            }
        }
        assert_eq!(encode(&[]), [VERSION, 0, 0, 0, 0, 0]);
        assert_eq!(
            RowView::new(&encode(&[])).unwrap().decode_all().unwrap(),
            vec![]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let null = Datum::Null;
        let mut buf = vec![1];
        assert!(encode_row(&mut buf, &[(1, &null), (1, &null)]).is_err());
        assert!(encode_row(&mut buf, &[(-1, &null)]).is_err());
        assert!(encode_row(&mut buf, &[(1 << 32, &null)]).is_err());
        assert_eq!(buf, [1]);
        let row = encode(&[(1, Datum::I64(300)), (2, Datum::Bytes(b"xyz".to_vec()))]);
        assert!(RowView::new(&row[..row.len() - 1]).is_err());
        assert!(RowView::new(&row[..7]).is_err());
        let mut wrong_version = row.clone();
        wrong_version[0] = 0x81;
        assert!(RowView::new(&wrong_version).is_err());
        let mut bad_offsets = row.clone();
        bad_offsets[8] = 9; // first value ends after the second
        assert!(RowView::new(&bad_offsets).unwrap().get(2).is_err());
        let mut bad_width = row.clone();
        bad_width[8] = 4; // the integer's payload becomes 3 bytes
        assert!(RowView::new(&bad_width).unwrap().get(1).is_err());
        for payload_len in [0, 3, 9] {
            let mut value = vec![I64_FLAG];
            value.resize(1 + payload_len, 0xFF);
            assert!(decode_value(&value).is_err());
        }
    }
}
