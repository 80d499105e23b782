//! How a table's rows and index entries become key-value pairs (DESIGN §3):
//!
//! - row: `t{table}_r{handle}` → the row's columns by column id
//!   ([`codec::row`]);
//! - unique index without NULLs: `t{table}_i{index}{values}` → handle;
//! - other index entries: `t{table}_i{index}{values}{handle}` → `0`
//!   (NULLs never collide in a unique index, as in MySQL).
//!
//! String values in index keys are the collation's sort keys, so equality and
//! order in the key space are the collation's; an index therefore cannot give
//! back the original string, and readers always fetch the row.

use crate::catalog::{ColumnDef, IndexDef, TableDef};
use crate::error;
use crate::result::SqlError;
use codec::Datum;
use codec::table::{encode_index_key, encode_nonunique_index_key, encode_row_key};

/// The key of a row.
pub fn row_key(table: &TableDef, handle: i64) -> Vec<u8> {
    let mut key = Vec::with_capacity(19);
    encode_row_key(&mut key, table.id, handle);
    key
}

/// Encode a full row (one datum per column, in column order).
pub fn encode_row(table: &TableDef, row: &[Datum]) -> Result<Vec<u8>, SqlError> {
    let columns: Vec<(i64, &Datum)> = table.columns.iter().map(|c| c.id).zip(row).collect();
    let mut value = Vec::with_capacity(64);
    codec::row::encode_row(&mut value, &columns).map_err(error::internal)?;
    Ok(value)
}

/// Decode a stored row into one datum per column. Columns the row predates
/// (added later) read as their origin default.
pub fn decode_row(table: &TableDef, value: &[u8]) -> Result<Vec<Datum>, SqlError> {
    decode_columns(table, value, None)
}

/// [`decode_row`] for the columns marked in `wanted` (all if `None`); the
/// others read as NULL (see [`prune`](crate::prune)). The row has room for
/// one more datum, the handle a table read appends, so that push does not
/// reallocate (it did for every row read).
pub fn decode_columns(
    table: &TableDef,
    value: &[u8],
    wanted: Option<&[bool]>,
) -> Result<Vec<Datum>, SqlError> {
    let view = codec::row::RowView::new(value).map_err(error::internal)?;
    let mut row = Vec::with_capacity(table.columns.len() + 1);
    for (i, c) in table.columns.iter().enumerate() {
        row.push(
            if wanted.is_some_and(|w| !w.get(i).copied().unwrap_or(true)) {
                Datum::Null
            } else {
                match view.get(c.id).map_err(error::internal)? {
                    Some(d) => d,
                    None => origin_default(c)?,
                }
            },
        );
    }
    Ok(row)
}

/// [`ColumnDef::origin_default`] as it is stored: `value` as a one-column row.
pub fn encode_origin_default(column: &ColumnDef, value: &Datum) -> Result<Vec<u8>, SqlError> {
    let mut buf = Vec::new();
    codec::row::encode_row(&mut buf, &[(column.id, value)]).map_err(error::internal)?;
    Ok(buf)
}

/// The value of `column` in rows written before it was added.
pub fn origin_default(column: &ColumnDef) -> Result<Datum, SqlError> {
    let Some(bytes) = &column.origin_default else {
        return Ok(Datum::Null);
    };
    let view = codec::row::RowView::new(bytes).map_err(error::internal)?;
    Ok(view
        .get(column.id)
        .map_err(error::internal)?
        .unwrap_or(Datum::Null))
}

/// The handle of a row: its integer primary key when clustered.
pub fn handle_of(table: &TableDef, row: &[Datum]) -> Option<i64> {
    match row.get(table.handle_column?)? {
        Datum::I64(v) => Some(*v),
        Datum::U64(v) => Some(*v as i64),
        _ => None,
    }
}

/// The datums an index stores for `row`: sort keys for strings, prefixes cut.
pub fn index_values(table: &TableDef, index: &IndexDef, row: &[Datum]) -> Vec<Datum> {
    index
        .columns
        .iter()
        .map(|&(pos, prefix)| match &row[pos] {
            Datum::Bytes(b) => {
                let collation = table.columns[pos].ty.collation;
                let cut = match prefix {
                    Some(chars) => prefix_chars(b, chars as usize),
                    None => b.as_slice(),
                };
                Datum::Bytes(collation.sort_key(cut))
            }
            other => other.clone(),
        })
        .collect()
}

fn prefix_chars(b: &[u8], chars: usize) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.char_indices().nth(chars).map_or(b, |(at, _)| &b[..at]),
        Err(_) => &b[..b.len().min(chars)],
    }
}

/// Whether an entry of `index` for these values is unique-keyed (no handle
/// in the key): unique indexes whose values hold no NULL.
pub fn is_unique_entry(index: &IndexDef, values: &[Datum]) -> bool {
    index.unique && !values.iter().any(|d| matches!(d, Datum::Null))
}

/// The key and value of `row`'s entry in `index`.
pub fn index_entry(
    table: &TableDef,
    index: &IndexDef,
    row: &[Datum],
    handle: i64,
) -> (Vec<u8>, Vec<u8>) {
    let values = index_values(table, index, row);
    let mut key = Vec::with_capacity(32);
    if is_unique_entry(index, &values) {
        encode_index_key(&mut key, table.id, index.id, &values);
        (key, handle.to_be_bytes().to_vec())
    } else {
        encode_nonunique_index_key(&mut key, table.id, index.id, &values, handle);
        (key, b"0".to_vec())
    }
}

/// The handle stored in an index entry.
pub fn handle_from_entry(index: &IndexDef, key: &[u8], value: &[u8]) -> Result<i64, SqlError> {
    if value.len() == 8 && index.unique {
        return Ok(i64::from_be_bytes(
            value.try_into().map_err(error::internal)?,
        ));
    }
    let (_, _, _, handle) =
        codec::table::decode_nonunique_index_key(key).map_err(error::internal)?;
    Ok(handle)
}

/// The value shown in a duplicate-key error: the indexed values joined by '-'.
pub fn duplicate_value(index: &IndexDef, row: &[Datum]) -> String {
    index
        .columns
        .iter()
        .map(|&(pos, _)| crate::expr::cast::to_text(&row[pos]))
        .collect::<Vec<_>>()
        .join("-")
}
