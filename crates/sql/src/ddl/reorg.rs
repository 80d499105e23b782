//! Bringing a table's stored rows in line with a changed definition, inside
//! the DDL's transaction: converting the values of columns whose type
//! changed (with MySQL's store-assignment errors: 1265, 1264, 1406...),
//! refusing NULLs in columns now NOT NULL, writing the entries of new
//! indexes (refusing duplicates of a unique one with 1062), and checking
//! the rows against constraints added.

use super::alter::columns_to_convert;
use super::constraint;
use crate::catalog::{CheckDef, IndexDef, InfoSchema, TableDef};
use crate::dml::foreign_key;
use crate::dml::implicit_default;
use crate::error::{self, from_kv};
use crate::expr::cast::store;
use crate::expr::{EvalContext, Level, Warning};
use crate::result::SqlError;
use crate::table::{
    decode_row, duplicate_value, encode_row, index_entry, index_values, is_unique_entry,
};
use codec::Datum;
use codec::table::{decode_row_key, row_range};
use kv_client::Transaction;
use std::collections::HashSet;

/// Rewrite the rows of `new` (the table `old` after an ALTER, same id) whose
/// columns need converting, and backfill the indexes `old` lacks. Reads and
/// writes every row when either is needed, nothing otherwise.
pub async fn reorganize(
    txn: &mut Transaction,
    schema: &InfoSchema,
    db: &str,
    old: &TableDef,
    new: &TableDef,
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    let convert = columns_to_convert(old, new);
    let build: Vec<&IndexDef> = new
        .stored_indexes()
        .filter(|i| !old.indexes.iter().any(|o| o.id == i.id))
        .collect();
    // Constraints added hold for the rows already there (3819, 1452), and
    // every CHECK for values converted to a new type.
    let added_checks: Vec<CheckDef> = new
        .checks
        .iter()
        .filter(|c| {
            c.enforced
                && (!convert.is_empty()
                    || !old.checks.iter().any(|o| o.name == c.name && o.enforced))
        })
        .cloned()
        .collect();
    let checks = constraint::bind_checks(schema, db, new, &added_checks, ctx)?;
    let mut added_keys = new.clone();
    added_keys
        .foreign_keys
        .retain(|f| ctx.foreign_key_checks && !old.foreign_keys.iter().any(|o| o.name == f.name));
    if convert.is_empty()
        && build.is_empty()
        && added_checks.is_empty()
        && added_keys.foreign_keys.is_empty()
    {
        return Ok(());
    }
    let range = row_range(new.id);
    let rows = txn
        .scan(&range.start, Some(&range.end), usize::MAX, false)
        .await
        .map_err(from_kv)?;
    let mut taken: Vec<HashSet<Vec<u8>>> = vec![HashSet::new(); build.len()];
    let mut converted = Vec::new();
    for (n, (key, value)) in rows.into_iter().enumerate() {
        let (_, handle) = decode_row_key(&key).map_err(error::internal)?;
        let mut row = decode_row(new, &value)?;
        for &pos in &convert {
            let value = std::mem::replace(&mut row[pos], Datum::Null);
            row[pos] = convert_value(new, pos, value, n as u64 + 1, ctx)?;
        }
        for (index, taken) in build.iter().zip(&mut taken) {
            let (k, v) = index_entry(new, index, &row, handle);
            if is_unique_entry(index, &index_values(new, index, &row)) && !taken.insert(k.clone()) {
                return Err(error::duplicate_entry(
                    &duplicate_value(index, &row),
                    &format!("{}.{}", new.name, index.name),
                ));
            }
            txn.put(k, v);
        }
        checks.verify(&row, false, ctx)?;
        if !convert.is_empty() {
            txn.put(key, encode_row(new, &row)?);
        }
        if !added_keys.foreign_keys.is_empty() {
            converted.push(row);
        }
    }
    // Once every new index entry is written: a foreign key to the table
    // itself may find its parents through an index this ALTER adds.
    for row in converted {
        foreign_key::check_parents(schema, db, &added_keys, None, &row, txn, false, ctx).await?;
    }
    Ok(())
}

/// A stored value as column `pos` of `table` now holds it.
fn convert_value(
    table: &TableDef,
    pos: usize,
    value: Datum,
    row_no: u64,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let col = &table.columns[pos];
    if value != Datum::Null {
        // A string cut short is 1265 here, not INSERT's 1406, as in MySQL.
        return store(value, &col.ty, &col.name, row_no, ctx).map_err(|e| match e.code {
            1406 => SqlError::new(
                1265,
                "01000",
                format!("Data truncated for column '{}' at row {row_no}", col.name),
            ),
            _ => e,
        });
    }
    if col.nullable {
        return Ok(Datum::Null);
    }
    if ctx.sql_mode.strict {
        return Err(SqlError::new(1138, "22004", "Invalid use of NULL value"));
    }
    ctx.warnings.push(Warning {
        level: Level::Warning,
        code: 1265,
        message: format!("Data truncated for column '{}' at row {row_no}", col.name),
    });
    Ok(implicit_default(col, row_no, ctx))
}
