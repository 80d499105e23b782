//! The key space (DESIGN §3), all in one place:
//!
//! ```text
//! t{table}_r{handle}                  → row value             Key::Row
//! t{table}_i{index}{values}           → handle (unique)       Key::Index
//! t{table}_i{index}{values}{handle}   → empty  (non-unique)   Key::Index
//! m{key}                              → meta value            Key::Meta
//! m{key}h{field}                      → meta hash field       Key::Meta
//! ```
//!
//! `{table}`, `{index}` and `{handle}` are memcomparable `i64`s, `{values}` is
//! the composite key codec of [`crate::datum`] (a non-unique index appends the
//! handle as one more `Datum::I64`, which keeps equal values distinct and in
//! handle order), and `{key}`/`{field}` are memcomparable byte strings. Every
//! part is fixed-width or self-delimiting, so a table's rows, an index's
//! entries and a whole table are each one contiguous key range.

use std::ops::Range;

use crate::datum::{Datum, decode_key, encode_datum, encode_key};
use crate::number::{decode_i64, encode_i64};
use crate::{Error, Result, bytes};

const TABLE_PREFIX: u8 = b't';
const ROW_SEP: &[u8] = b"_r";
const INDEX_SEP: &[u8] = b"_i";
const META_PREFIX: u8 = b'm';
const META_FIELD_SEP: u8 = b'h';

/// A decoded key, for code that meets keys of any kind (debug endpoints,
/// region split checks, GC of dropped tables). Hot paths use the free
/// functions, which do not build a `Vec` of values.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A table row, addressed by its handle (integer primary key or hidden
    /// `_tidb_rowid`).
    Row {
        /// Table id.
        table: i64,
        /// Row handle.
        handle: i64,
    },
    /// An index entry; for a non-unique index the last value is the handle.
    Index {
        /// Table id.
        table: i64,
        /// Index id.
        index: i64,
        /// Indexed values (decimals at their shortest scale).
        values: Vec<Datum>,
    },
    /// Cluster metadata (schema versions, DDL jobs, id counters).
    Meta {
        /// The meta key.
        key: Vec<u8>,
        /// The field, when the key is a hash.
        field: Option<Vec<u8>>,
    },
}

impl Key {
    /// Append the encoded key to `buf`.
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        match self {
            Key::Row { table, handle } => encode_row_key(buf, *table, *handle),
            Key::Index {
                table,
                index,
                values,
            } => encode_index_key(buf, *table, *index, values),
            Key::Meta { key, field } => encode_meta_key(buf, key, field.as_deref()),
        }
    }

    /// The encoded key.
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.encode_into(&mut buf);
        buf
    }

    /// Decode any key of the layout; anything else is `Error::Invalid`.
    pub fn decode(key: &[u8]) -> Result<Key> {
        match key.first() {
            Some(&TABLE_PREFIX) => {
                let (table, rest) = decode_i64(&key[1..])?;
                if let Some(rest) = rest.strip_prefix(ROW_SEP) {
                    Ok(Key::Row {
                        table,
                        handle: decode_handle(rest)?,
                    })
                } else if let Some(rest) = rest.strip_prefix(INDEX_SEP) {
                    let (index, rest) = decode_i64(rest)?;
                    Ok(Key::Index {
                        table,
                        index,
                        values: decode_key(rest)?,
                    })
                } else {
                    Err(Error::Invalid("table key separator"))
                }
            }
            Some(&META_PREFIX) => {
                let (key, field) = decode_meta_key(key)?;
                Ok(Key::Meta { key, field })
            }
            Some(_) => Err(Error::Invalid("key prefix")),
            None => Err(Error::Truncated("key prefix")),
        }
    }
}

/// Append `t{table}`, the prefix of everything a table owns.
pub fn encode_table_prefix(buf: &mut Vec<u8>, table: i64) {
    buf.push(TABLE_PREFIX);
    encode_i64(buf, table);
}

/// The table whose key range holds the raw `key` (`None` for meta keys):
/// where one table's keys end and the next one's begin, a store splits
/// the region, so that no region holds two tables (TiDB's `split-table`).
pub fn table_of(key: &[u8]) -> Option<i64> {
    match key.split_first() {
        Some((&TABLE_PREFIX, rest)) => decode_i64(rest).ok().map(|(table, _)| table),
        _ => None,
    }
}

/// Whether `key` belongs to a temporary table: those have negative ids, and
/// their keys stay in the session that made them, never in a region
/// (`kv_client`'s local store).
pub fn is_local(key: &[u8]) -> bool {
    table_of(key).is_some_and(|t| t < 0)
}

/// The keys [`is_local`] accepts, which sort together: those of every table
/// with a negative id.
pub fn local_range() -> Range<Vec<u8>> {
    let (mut start, mut end) = (Vec::new(), Vec::new());
    encode_table_prefix(&mut start, i64::MIN);
    encode_table_prefix(&mut end, 0);
    start..end
}

/// Append `t{table}_r{handle}`.
pub fn encode_row_key(buf: &mut Vec<u8>, table: i64, handle: i64) {
    buf.reserve(19);
    encode_row_prefix(buf, table);
    encode_i64(buf, handle);
}

/// `(table, handle)` of a row key; anything else is an error.
pub fn decode_row_key(key: &[u8]) -> Result<(i64, i64)> {
    let (table, rest) = decode_table_part(key, ROW_SEP)?;
    Ok((table, decode_handle(rest)?))
}

/// Append the key of a unique index entry (its value is the handle).
pub fn encode_index_key(buf: &mut Vec<u8>, table: i64, index: i64, values: &[Datum]) {
    encode_index_prefix(buf, table, index);
    encode_key(buf, values);
}

/// Append the key of a non-unique index entry: the unique form plus the
/// handle, so rows with equal values get distinct keys.
pub fn encode_nonunique_index_key(
    buf: &mut Vec<u8>,
    table: i64,
    index: i64,
    values: &[Datum],
    handle: i64,
) {
    encode_index_key(buf, table, index, values);
    encode_datum(buf, &Datum::I64(handle));
}

/// `(table, index, values)` of an index key; for a non-unique index the
/// handle is the last value (see [`decode_nonunique_index_key`]).
pub fn decode_index_key(key: &[u8]) -> Result<(i64, i64, Vec<Datum>)> {
    let (table, rest) = decode_table_part(key, INDEX_SEP)?;
    let (index, rest) = decode_i64(rest)?;
    Ok((table, index, decode_key(rest)?))
}

/// `(table, index, values, handle)` of a non-unique index key.
pub fn decode_nonunique_index_key(key: &[u8]) -> Result<(i64, i64, Vec<Datum>, i64)> {
    let (table, index, mut values) = decode_index_key(key)?;
    match values.pop() {
        Some(Datum::I64(handle)) => Ok((table, index, values, handle)),
        _ => Err(Error::Invalid("non-unique index handle")),
    }
}

/// Append `m{key}`, or `m{key}h{field}` for one field of a hash.
pub fn encode_meta_key(buf: &mut Vec<u8>, key: &[u8], field: Option<&[u8]>) {
    buf.push(META_PREFIX);
    bytes::encode_bytes(buf, key);
    if let Some(field) = field {
        buf.push(META_FIELD_SEP);
        bytes::encode_bytes(buf, field);
    }
}

/// `(key, field)` of a meta key.
pub fn decode_meta_key(key: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let rest = key
        .strip_prefix(&[META_PREFIX])
        .ok_or(Error::Invalid("meta key prefix"))?;
    let (key, rest) = bytes::decode_bytes(rest)?;
    let Some((&sep, rest)) = rest.split_first() else {
        return Ok((key, None));
    };
    if sep != META_FIELD_SEP {
        return Err(Error::Invalid("meta key field separator"));
    }
    match bytes::decode_bytes(rest)? {
        (field, []) => Ok((key, Some(field))),
        _ => Err(Error::Invalid("meta key trailing bytes")),
    }
}

/// Every key a table owns (rows and indexes): what `DROP TABLE` and
/// `TRUNCATE` hand to delete-range.
pub fn table_range(table: i64) -> Range<Vec<u8>> {
    let mut start = Vec::with_capacity(9);
    encode_table_prefix(&mut start, table);
    prefix_range(start)
}

/// All rows of a table: a full table scan.
pub fn row_range(table: i64) -> Range<Vec<u8>> {
    let mut start = Vec::with_capacity(11);
    encode_row_prefix(&mut start, table);
    prefix_range(start)
}

/// All entries of one index: an index scan, or the delete-range of
/// `DROP INDEX`.
pub fn index_range(table: i64, index: i64) -> Range<Vec<u8>> {
    let mut start = Vec::with_capacity(19);
    encode_index_prefix(&mut start, table, index);
    prefix_range(start)
}

/// All fields of a meta hash, for listing (databases, tables of a database).
pub fn meta_fields_range(key: &[u8]) -> Range<Vec<u8>> {
    let mut start = vec![META_PREFIX];
    bytes::encode_bytes(&mut start, key);
    start.push(META_FIELD_SEP);
    prefix_range(start)
}

/// The smallest key after every key that starts with `prefix`, for turning a
/// prefix into an exclusive end bound. Empty when there is none (an all-`0xFF`
/// prefix), which callers read as "no upper bound".
pub fn prefix_next(prefix: &[u8]) -> Vec<u8> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last != 0xFF {
            next.push(last + 1);
            break;
        }
    }
    next
}

fn prefix_range(start: Vec<u8>) -> Range<Vec<u8>> {
    let end = prefix_next(&start);
    start..end
}

fn encode_row_prefix(buf: &mut Vec<u8>, table: i64) {
    encode_table_prefix(buf, table);
    buf.extend_from_slice(ROW_SEP);
}

fn encode_index_prefix(buf: &mut Vec<u8>, table: i64, index: i64) {
    encode_table_prefix(buf, table);
    buf.extend_from_slice(INDEX_SEP);
    encode_i64(buf, index);
}

/// A row handle, which must end the key.
fn decode_handle(input: &[u8]) -> Result<i64> {
    let (handle, rest) = decode_i64(input)?;
    if !rest.is_empty() {
        return Err(Error::Invalid("row key trailing bytes"));
    }
    Ok(handle)
}

/// The table id of `t{table}{sep}…` and what follows `sep`.
fn decode_table_part<'a>(key: &'a [u8], sep: &[u8]) -> Result<(i64, &'a [u8])> {
    let rest = key
        .strip_prefix(&[TABLE_PREFIX])
        .ok_or(Error::Invalid("table key prefix"))?;
    let (table, rest) = decode_i64(rest)?;
    let rest = rest
        .strip_prefix(sep)
        .ok_or(Error::Invalid("table key separator"))?;
    Ok((table, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_knows_its_table() {
        let mut row = Vec::new();
        encode_row_key(&mut row, 7, 1);
        let mut prefix = Vec::new();
        encode_table_prefix(&mut prefix, -3);
        assert_eq!(table_of(&row), Some(7));
        assert_eq!(table_of(&prefix), Some(-3));
        assert_eq!(
            table_of(
                &Key::Meta {
                    key: b"x".to_vec(),
                    field: None
                }
                .encode()
            ),
            None
        );
        assert_eq!(table_of(b"t\x80"), None);
    }

    #[test]
    fn layout_matches_the_design() {
        let mut key = Vec::new();
        encode_row_key(&mut key, 1, -1);
        assert_eq!(
            key,
            b"t\x80\0\0\0\0\0\0\x01_r\x7f\xff\xff\xff\xff\xff\xff\xff"
        );
        assert_eq!(decode_row_key(&key).unwrap(), (1, -1));
        assert_eq!(
            Key::decode(&key).unwrap(),
            Key::Row {
                table: 1,
                handle: -1
            }
        );
        let mut meta = Vec::new();
        encode_meta_key(&mut meta, b"DBs", Some(b"db:1"));
        assert!(meta.starts_with(b"mDBs\0\0\0\0\0\xfah"));
    }

    #[test]
    fn every_key_kind_round_trips() {
        let keys = [
            Key::Row {
                table: i64::MIN,
                handle: i64::MAX,
            },
            Key::Index {
                table: 5,
                index: 1,
                values: vec![Datum::Null, Datum::Bytes(b"x".to_vec()), Datum::I64(3)],
            },
            Key::Index {
                table: 5,
                index: 1,
                values: vec![],
            },
            Key::Meta {
                key: b"NextGlobalID".to_vec(),
                field: None,
            },
            Key::Meta {
                key: b"DB:1".to_vec(),
                field: Some(b"Table:7".to_vec()),
            },
            Key::Meta {
                key: Vec::new(),
                field: Some(Vec::new()),
            },
        ];
        for key in keys {
            assert_eq!(Key::decode(&key.encode()).unwrap(), key);
        }
    }

    #[test]
    fn index_keys_unique_and_not() {
        let values = [Datum::I64(10), Datum::Null];
        let mut key = Vec::new();
        encode_nonunique_index_key(&mut key, 3, 2, &values, 99);
        assert_eq!(
            decode_nonunique_index_key(&key).unwrap(),
            (3, 2, values.to_vec(), 99)
        );
        let (_, _, all) = decode_index_key(&key).unwrap();
        assert_eq!(all.last(), Some(&Datum::I64(99)));
        let mut unique = Vec::new();
        encode_index_key(&mut unique, 3, 2, &[Datum::Null]);
        assert!(decode_nonunique_index_key(&unique).is_err());
        let mut other = Vec::new();
        encode_nonunique_index_key(&mut other, 3, 2, &values, 100);
        assert!(
            key < other && index_range(3, 2).contains(&key) && index_range(3, 2).contains(&other)
        );
    }

    #[test]
    fn ranges_nest_and_separate() {
        let mut row = Vec::new();
        encode_row_key(&mut row, 7, i64::MAX);
        let mut index = Vec::new();
        encode_index_key(&mut index, 7, i64::MAX, &[Datum::Bytes(vec![0xFF; 20])]);
        assert!(row_range(7).contains(&row) && !row_range(7).contains(&index));
        assert!(index_range(7, i64::MAX).contains(&index) && !index_range(7, 0).contains(&index));
        for key in [&row, &index] {
            assert!(
                table_range(7).contains(key)
                    && !table_range(6).contains(key)
                    && !table_range(8).contains(key)
            );
        }
        assert_eq!(table_range(i64::MAX).end, b"u");
        assert_eq!(table_range(6).end, table_range(7).start);
        let mut field = Vec::new();
        encode_meta_key(&mut field, b"DB:1", Some(b"anything"));
        let mut plain = Vec::new();
        encode_meta_key(&mut plain, b"DB:1", None);
        assert!(
            meta_fields_range(b"DB:1").contains(&field)
                && !meta_fields_range(b"DB:1").contains(&plain)
        );
        assert_eq!(prefix_next(b"a\xff\xff"), b"b");
        assert_eq!(prefix_next(b"\xff"), b"");
    }

    #[test]
    fn decode_rejects_other_layouts() {
        for bad in [
            &b""[..],
            b"x",
            b"t\x80\0\0\0\0\0\0\x01_x",
            b"t\x80\0\0\0\0\0\0\x01_r\x80",
            b"m\0\0\0\0\0\0\0\0\xf7x",
        ] {
            assert!(Key::decode(bad).is_err(), "{bad:?}");
        }
        let mut row = Vec::new();
        encode_row_key(&mut row, 1, 1);
        row.push(0);
        assert!(decode_row_key(&row).is_err());
        assert!(decode_index_key(&row).is_err());
        assert!(decode_meta_key(&row).is_err());
    }
}
