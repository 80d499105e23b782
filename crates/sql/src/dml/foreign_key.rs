//! FOREIGN KEY constraints on writes, with InnoDB's semantics: checked at
//! once, row by row, not at commit.
//!
//! - A child row written with a non-NULL key must find its parent row
//!   (1452). The parent row is then written back unchanged, so that a
//!   transaction deleting it or changing its key conflicts with this one,
//!   whichever commits first: a pessimistic statement locks it with the rows
//!   it wrote, an optimistic commit finds the newer write. InnoDB takes a
//!   shared lock there; this one is exclusive.
//! - A parent row deleted, or whose referenced key changes, applies each
//!   referencing key's rule to the child rows that hold the old key:
//!   RESTRICT and NO ACTION refuse (1451), CASCADE deletes them or gives them
//!   the new key, SET NULL clears their key, each as the child's own write
//!   (so cascades cascade, up to 15 deep: 3008).
//!
//! Both sides find rows through an index whose leading columns are the key's
//! (CREATE TABLE makes sure there is one), by a prefix scan. With
//! `foreign_key_checks = 0` nothing here runs.

use super::{change_row, delete_row};
use crate::catalog::{ForeignKeyDef, InfoSchema, RefAction, TableDef};
use crate::error::{self, from_kv};
use crate::expr::cast::store;
use crate::expr::{EvalContext, Level, Warning};
use crate::result::SqlError;
use crate::table::{self, row_key};
use codec::Datum;
use codec::table::{encode_index_key, prefix_next};
use kv_client::Transaction;

/// How deep cascades may go, as in MySQL.
const MAX_CASCADE_DEPTH: usize = 15;
/// Child rows read per trip when a rule visits them all.
const BATCH: usize = 256;

/// 1452 for a child row of `child_db.child` whose `fk` finds no parent.
fn no_parent(child_db: &str, child: &TableDef, fk: &ForeignKeyDef) -> SqlError {
    SqlError::new(
        1452,
        "23000",
        format!(
            "Cannot add or update a child row: a foreign key constraint fails (`{child_db}`.`{}`, {})",
            child.name,
            fk.describe(child, child_db)
        ),
    )
}

/// 1451 for a parent row that `child_db.child`'s `fk` still references.
fn referenced(child_db: &str, child: &TableDef, fk: &ForeignKeyDef) -> SqlError {
    SqlError::new(
        1451,
        "23000",
        format!(
            "Cannot delete or update a parent row: a foreign key constraint fails (`{child_db}`.`{}`, {})",
            child.name,
            fk.describe(child, child_db)
        ),
    )
}

/// The values of `row` at `positions`, or `None` if one is NULL (a key
/// with a NULL references nothing).
fn key_of(row: &[Datum], positions: &[usize]) -> Option<Vec<Datum>> {
    positions
        .iter()
        .map(|&p| (!matches!(row[p], Datum::Null)).then(|| row[p].clone()))
        .collect()
}

/// The rows of `table` whose columns at `positions` hold `values`: their
/// handles and stored values, at most `limit`.
async fn rows_with(
    table: &TableDef,
    positions: &[usize],
    values: &[Datum],
    txn: &Transaction,
    limit: usize,
) -> Result<Vec<(i64, Vec<u8>)>, SqlError> {
    if let ([pos], [value]) = (positions, values)
        && table.handle_column == Some(*pos)
    {
        let handle = match value {
            Datum::I64(v) => *v,
            Datum::U64(v) => *v as i64,
            _ => return Ok(Vec::new()),
        };
        let found = txn.get(&row_key(table, handle)).await.map_err(from_kv)?;
        return Ok(found.map(|v| (handle, v)).into_iter().collect());
    }
    let index = table
        .indexes
        .iter()
        .filter(|i| !(i.primary && table.handle_column.is_some()))
        .find(|i| leads(i, positions))
        .ok_or_else(|| {
            error::internal(format!("no index of {} serves a foreign key", table.name))
        })?;
    let sort_keys: Vec<Datum> = positions
        .iter()
        .zip(values)
        .map(|(&pos, v)| match v {
            Datum::Bytes(b) => Datum::Bytes(table.columns[pos].ty.collation.sort_key(b)),
            other => other.clone(),
        })
        .collect();
    let mut start = Vec::with_capacity(32);
    encode_index_key(&mut start, table.id, index.id, &sort_keys);
    let end = prefix_next(&start);
    let mut handles = Vec::new();
    loop {
        let batch = txn
            .scan(&start, Some(&end), BATCH.min(limit - handles.len()), false)
            .await
            .map_err(from_kv)?;
        let Some((last, _)) = batch.last() else { break };
        start = last.clone();
        start.push(0);
        let full = batch.len() == BATCH.min(limit - handles.len());
        for (key, value) in &batch {
            handles.push(table::handle_from_entry(index, key, value)?);
        }
        if !full || handles.len() >= limit {
            break;
        }
    }
    let keys: Vec<Vec<u8>> = handles.iter().map(|&h| row_key(table, h)).collect();
    let values = txn.batch_get(&keys).await.map_err(from_kv)?;
    Ok(handles
        .into_iter()
        .zip(values)
        .filter_map(|(h, v)| v.map(|v| (h, v)))
        .collect())
}

/// Whether `index` starts with exactly the columns at `positions`, whole
/// (a prefix index cannot find equal values).
pub fn leads(index: &crate::catalog::IndexDef, positions: &[usize]) -> bool {
    index.columns.len() >= positions.len()
        && index
            .columns
            .iter()
            .zip(positions)
            .all(|(&(c, prefix), &p)| c == p && prefix.is_none())
}

/// Child side: each foreign key of `db.table` whose columns `new` sets (to
/// other values than `old`, the row at `handle`, held) must find its parent
/// row. Under IGNORE a missing parent is a warning and `false`: the row is
/// skipped.
#[allow(clippy::too_many_arguments)]
pub async fn check_parents(
    schema: &InfoSchema,
    db: &str,
    table: &TableDef,
    old: Option<(&[Datum], i64)>,
    new: &[Datum],
    txn: &mut Transaction,
    ignore: bool,
    ctx: &mut EvalContext<'_>,
) -> Result<bool, SqlError> {
    if !ctx.foreign_key_checks {
        return Ok(true);
    }
    for fk in &table.foreign_keys {
        let positions = fk
            .child_positions(table)
            .ok_or_else(|| error::internal(format!("foreign key {} lost a column", fk.name)))?;
        let Some(values) = key_of(new, &positions) else {
            continue;
        };
        if old.is_some_and(|(old, _)| positions.iter().all(|&p| old[p] == new[p])) {
            continue;
        }
        // The table itself as it is being written, if it is the parent.
        let own_table = fk.parent_db.eq_ignore_ascii_case(db)
            && fk.parent_table.eq_ignore_ascii_case(&table.name);
        let parent = match own_table {
            true => Some(table),
            false => schema
                .table(&fk.parent_db, &fk.parent_table)
                .map(|t| t.as_ref()),
        };
        let found = match parent {
            None => None,
            Some(parent) => {
                let parent_positions = fk.parent_positions(parent).ok_or_else(|| {
                    error::internal(format!("foreign key {} lost a parent column", fk.name))
                })?;
                let own_row = own_table
                    && parent_positions
                        .iter()
                        .zip(&values)
                        .all(|(&p, v)| new[p] == *v);
                if own_row {
                    continue;
                }
                // The row's own image before this change is no parent: it
                // is going.
                let changing = old.map(|(_, h)| h).filter(|_| own_table);
                let rows = rows_with(parent, &parent_positions, &values, txn, 2).await?;
                rows.into_iter()
                    .find(|(h, _)| Some(*h) != changing)
                    .map(|(handle, value)| (row_key(parent, handle), value))
            }
        };
        match found {
            // Written back: see the module's doc.
            Some((key, value)) => txn.put(key, value),
            None if ignore => {
                let e = no_parent(db, table, fk);
                ctx.warnings.push(Warning {
                    level: Level::Warning,
                    code: e.code,
                    message: e.message,
                });
                return Ok(false);
            }
            None => return Err(no_parent(db, table, fk)),
        }
    }
    Ok(true)
}

/// Parent side: row `old` (at `handle`) of `db.table` is deleted (`new` is
/// `None`) or becomes `new`; apply the rule of every foreign key that
/// references a key it changes. `depth` counts the cascades that led here.
#[allow(clippy::too_many_arguments)]
pub async fn on_parent_change(
    schema: &InfoSchema,
    db: &str,
    table: &TableDef,
    old: &[Datum],
    new: Option<&[Datum]>,
    handle: i64,
    txn: &mut Transaction,
    ctx: &mut EvalContext<'_>,
    depth: usize,
) -> Result<(), SqlError> {
    if !ctx.foreign_key_checks || !schema.is_referenced(table.id) {
        return Ok(());
    }
    for reference in schema.references_to(db, &table.name) {
        let fk = reference.def();
        let child = &reference.child;
        let Some(parent_positions) = fk.parent_positions(table) else {
            continue;
        };
        let Some(old_key) = key_of(old, &parent_positions) else {
            continue;
        };
        let new_key: Option<Vec<Datum>> = match new {
            Some(new) => {
                let key: Vec<Datum> = parent_positions.iter().map(|&p| new[p].clone()).collect();
                if key == old_key {
                    continue;
                }
                Some(key)
            }
            None => None,
        };
        let action = if new.is_some() {
            fk.on_update
        } else {
            fk.on_delete
        };
        let child_positions = fk
            .child_positions(child)
            .ok_or_else(|| error::internal(format!("foreign key {} lost a column", fk.name)))?;
        let same_table = child.id == table.id;
        let mut rows = rows_with(child, &child_positions, &old_key, txn, usize::MAX).await?;
        // A row referencing itself goes with itself, unless it is changed
        // and still references the old key.
        let still_references = |row: &[Datum]| {
            child_positions
                .iter()
                .zip(&old_key)
                .all(|(&p, v)| row[p] == *v)
        };
        rows.retain(|(h, _)| !(same_table && *h == handle && !new.is_some_and(still_references)));
        if rows.is_empty() {
            continue;
        }
        // MySQL: a self-referencing ON UPDATE CASCADE / SET NULL acts as
        // RESTRICT, so that updates cannot loop.
        let restrict = match action {
            RefAction::NoAction | RefAction::Restrict => true,
            RefAction::Cascade | RefAction::SetNull => new.is_some() && same_table,
        };
        if restrict {
            return Err(referenced(&reference.child_db, child, fk));
        }
        if depth >= MAX_CASCADE_DEPTH {
            return Err(SqlError::new(
                3008,
                "HY000",
                format!(
                    "Foreign key cascade delete/update exceeds max depth of {MAX_CASCADE_DEPTH}."
                ),
            ));
        }
        for (child_handle, value) in rows {
            let row = table::decode_row(child, &value)?;
            let changed: Option<Vec<Datum>> = match (action, &new_key) {
                (RefAction::Cascade, None) => None,
                (RefAction::Cascade, Some(key)) => {
                    // The new key must fit the child's columns, as InnoDB
                    // checks (a shorter VARCHAR): else the parent keeps it.
                    let strict = std::mem::replace(&mut ctx.sql_mode.strict, true);
                    let mut changed = row.clone();
                    let mut fits = true;
                    for (&p, v) in child_positions.iter().zip(key) {
                        let col = &child.columns[p];
                        match store(v.clone(), &col.ty, &col.name, 1, ctx) {
                            Ok(v) => changed[p] = v,
                            Err(_) => fits = false,
                        }
                    }
                    ctx.sql_mode.strict = strict;
                    if !fits {
                        return Err(referenced(&reference.child_db, child, fk));
                    }
                    Some(changed)
                }
                _ => {
                    let mut row = row.clone();
                    for &p in &child_positions {
                        row[p] = Datum::Null;
                    }
                    Some(row)
                }
            };
            Box::pin(on_parent_change(
                schema,
                &reference.child_db,
                child,
                &row,
                changed.as_deref(),
                child_handle,
                txn,
                ctx,
                depth + 1,
            ))
            .await?;
            match changed {
                None => delete_row(child, &row, child_handle, txn),
                Some(changed) => {
                    // The child's other foreign keys hold for its new key.
                    let old = Some((row.as_slice(), child_handle));
                    check_parents(
                        schema,
                        &reference.child_db,
                        child,
                        old,
                        &changed,
                        txn,
                        false,
                        ctx,
                    )
                    .await?;
                    change_row(child, &row, &changed, child_handle, txn).await?;
                }
            }
        }
    }
    Ok(())
}
