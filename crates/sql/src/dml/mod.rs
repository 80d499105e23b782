//! INSERT, REPLACE, UPDATE and DELETE: rows and their index entries written
//! through the session's transaction, with MySQL's duplicate-key, NULL and
//! value-conversion rules, CHECK constraints ([`check`]) and foreign keys
//! ([`foreign_key`]).

pub mod check;
pub mod foreign_key;

use crate::catalog::{Catalog, ColumnDef, DefaultValue, TableDef};
use crate::error::{self, from_kv};
use crate::exec;
use crate::expr::cast::{parse_json_text, store};
use crate::expr::{EvalContext, Expr, Level, Warning};
use crate::plan::{IndexChoice, Planner, Scope, ScopeColumn, SortKey, is_json_text, json_input};
use crate::result::{Output, SqlError};
use crate::table::{
    self, duplicate_value, encode_row, handle_of, index_entry, is_unique_entry, row_key,
};
use crate::types::{SqlType, TypeKind};
use check::Checks;
use codec::Datum;
use kv_client::Transaction;
use sqlparser::ast;
use std::sync::Arc;

/// How an INSERT treats a row whose key already exists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnDuplicate {
    Error,
    Ignore,
    Replace,
    Update,
}

/// The value a column takes when a write names none (also `DEFAULT(col)`).
pub(crate) fn default_of(
    col: &ColumnDef,
    row_no: u64,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    match &col.default {
        Some(DefaultValue::Null) => Ok(Datum::Null),
        Some(DefaultValue::Literal(text)) => store(
            Datum::Bytes(text.clone().into_bytes()),
            &col.ty,
            &col.name,
            row_no,
            ctx,
        ),
        Some(DefaultValue::CurrentTimestamp) => {
            store(Datum::DateTime(ctx.now), &col.ty, &col.name, row_no, ctx)
        }
        None if col.nullable || col.auto_increment => Ok(Datum::Null),
        None => {
            if ctx.sql_mode.strict {
                return Err(SqlError::new(
                    1364,
                    "HY000",
                    format!("Field '{}' doesn't have a default value", col.name),
                ));
            }
            ctx.warnings.push(Warning {
                level: Level::Warning,
                code: 1364,
                message: format!("Field '{}' doesn't have a default value", col.name),
            });
            Ok(implicit_default(col, row_no, ctx))
        }
    }
}

/// The value rows that exist before `col` is added to their table take:
/// its default, or for a NOT NULL column without one, the implicit default
/// (MySQL fills existing rows so, whatever the sql_mode).
pub(crate) fn value_for_existing_rows(
    col: &ColumnDef,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    match (&col.default, col.nullable) {
        (None, false) => Ok(implicit_default(col, 0, ctx)),
        _ => default_of(col, 0, ctx),
    }
}

/// MySQL's "implicit default" for a NOT NULL column: zero, empty string,
/// zero date.
pub(crate) fn implicit_default(col: &ColumnDef, row_no: u64, ctx: &mut EvalContext<'_>) -> Datum {
    let zero = if col.ty.is_string() {
        Datum::Bytes(Vec::new())
    } else {
        Datum::I64(0)
    };
    let strict = std::mem::replace(&mut ctx.sql_mode.strict, false);
    let value = store(zero, &col.ty, &col.name, row_no, ctx).unwrap_or(Datum::Null);
    ctx.sql_mode.strict = strict;
    value
}

/// Refuse NULL in a NOT NULL column (in strict mode, or for a single-row
/// statement), or replace it by the implicit default with a warning.
fn check_not_null(
    table: &TableDef,
    row: &mut [Datum],
    row_no: u64,
    single_row: bool,
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    for (pos, value) in row.iter_mut().enumerate() {
        not_null(table, pos, value, row_no, single_row, ctx)?;
    }
    Ok(())
}

/// [`check_not_null`] for one column, so warnings come in column order.
fn not_null(
    table: &TableDef,
    pos: usize,
    value: &mut Datum,
    row_no: u64,
    single_row: bool,
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    let col = &table.columns[pos];
    if col.nullable || col.auto_increment || !matches!(value, Datum::Null) {
        return Ok(());
    }
    if ctx.sql_mode.strict || single_row {
        return Err(error::column_cannot_be_null(&col.name));
    }
    ctx.warnings.push(Warning {
        level: Level::Warning,
        code: 1048,
        message: format!("Column '{}' cannot be null", col.name),
    });
    *value = implicit_default(col, row_no, ctx);
    Ok(())
}

/// The existing row whose key a new row collides with: its handle and
/// values, and the index reported in the error.
async fn find_duplicate(
    table: &TableDef,
    row: &[Datum],
    handle: i64,
    txn: &Transaction,
) -> Result<Option<(i64, Vec<Datum>, String)>, SqlError> {
    if table.handle_column.is_some()
        && let Some(value) = txn.get(&row_key(table, handle)).await.map_err(from_kv)?
    {
        let pk = table
            .indexes
            .iter()
            .find(|i| i.primary)
            .map_or(String::new(), |i| duplicate_value(i, row));
        return Ok(Some((
            handle,
            table::decode_row(table, &value)?,
            format!("{}.PRIMARY:{pk}", table.name),
        )));
    }
    for index in table.stored_indexes() {
        let values = table::index_values(table, index, row);
        if !is_unique_entry(index, &values) {
            continue;
        }
        let (key, _) = index_entry(table, index, row, handle);
        if let Some(v) = txn.get(&key).await.map_err(from_kv)? {
            let other = table::handle_from_entry(index, &key, &v)?;
            let value = txn
                .get(&row_key(table, other))
                .await
                .map_err(from_kv)?
                .ok_or_else(|| {
                    error::internal(format!(
                        "index {} of {} points at a missing row",
                        index.name, table.name
                    ))
                })?;
            let shown = duplicate_value(index, row);
            return Ok(Some((
                other,
                table::decode_row(table, &value)?,
                format!("{}.{}:{shown}", table.name, index.name),
            )));
        }
    }
    Ok(None)
}

fn duplicate_error(described: &str) -> SqlError {
    let (key, value) = described.split_once(':').unwrap_or((described, ""));
    error::duplicate_entry(value, key)
}

/// Write a new row and its index entries.
fn put_row(
    table: &TableDef,
    row: &[Datum],
    handle: i64,
    txn: &mut Transaction,
) -> Result<(), SqlError> {
    txn.put(row_key(table, handle), encode_row(table, row)?);
    for index in table.stored_indexes() {
        let (key, value) = index_entry(table, index, row, handle);
        txn.put(key, value);
    }
    Ok(())
}

/// Remove a row and its index entries.
fn delete_row(table: &TableDef, row: &[Datum], handle: i64, txn: &mut Transaction) {
    txn.delete(row_key(table, handle));
    for index in table.stored_indexes() {
        txn.delete(index_entry(table, index, row, handle).0);
    }
}

/// Replace row `old` (at `handle`) by `new`, keeping indexes in step and
/// refusing to collide with another row's unique key.
async fn change_row(
    table: &TableDef,
    old: &[Datum],
    new: &[Datum],
    handle: i64,
    txn: &mut Transaction,
) -> Result<i64, SqlError> {
    let new_handle = handle_of(table, new).unwrap_or(handle);
    if new_handle != handle {
        if txn
            .get(&row_key(table, new_handle))
            .await
            .map_err(from_kv)?
            .is_some()
        {
            let pk = table
                .indexes
                .iter()
                .find(|i| i.primary)
                .map_or(String::new(), |i| duplicate_value(i, new));
            return Err(error::duplicate_entry(
                &pk,
                &format!("{}.PRIMARY", table.name),
            ));
        }
        txn.delete(row_key(table, handle));
    }
    for index in table.stored_indexes() {
        let (old_key, _) = index_entry(table, index, old, handle);
        let (new_key, new_value) = index_entry(table, index, new, new_handle);
        if old_key == new_key && new_handle == handle {
            continue;
        }
        txn.delete(old_key);
        if is_unique_entry(index, &table::index_values(table, index, new))
            && txn.get(&new_key).await.map_err(from_kv)?.is_some()
        {
            return Err(error::duplicate_entry(
                &duplicate_value(index, new),
                &format!("{}.{}", table.name, index.name),
            ));
        }
        txn.put(new_key, new_value);
    }
    txn.put(row_key(table, new_handle), encode_row(table, new)?);
    Ok(new_handle)
}

/// Change row `old` (at `handle`) of `db.table` to `new` with its foreign
/// keys kept: the new key must find a parent, the old one's children follow
/// their rules. Returns false when IGNORE skips the row.
#[allow(clippy::too_many_arguments)]
async fn write_change(
    schema: &crate::catalog::InfoSchema,
    db: &str,
    table: &TableDef,
    old: &[Datum],
    new: &[Datum],
    handle: i64,
    txn: &mut Transaction,
    ignore: bool,
    ctx: &mut EvalContext<'_>,
) -> Result<bool, SqlError> {
    let before = Some((old, handle));
    if !foreign_key::check_parents(schema, db, table, before, new, txn, ignore, ctx).await? {
        return Ok(false);
    }
    let undo = (ignore && schema.is_referenced(table.id)).then(|| txn.savepoint());
    // The row first: children given its new key then find it.
    change_row(table, old, new, handle, txn).await?;
    let children =
        foreign_key::on_parent_change(schema, db, table, old, Some(new), handle, txn, ctx, 0).await;
    skipped_under_ignore(children, undo, txn, ctx)
}

/// The outcome of a parent row's change whose children follow their
/// foreign keys: under IGNORE (`undo` is where the row's change began) a
/// refusal (1451) becomes a warning, the row's change is undone and the
/// row skipped (false), as in MySQL.
fn skipped_under_ignore(
    children: Result<(), SqlError>,
    undo: Option<kv_client::Savepoint>,
    txn: &mut Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<bool, SqlError> {
    match (children, undo) {
        (Ok(()), _) => Ok(true),
        (Err(e), Some(savepoint)) if e.code == 1451 => {
            txn.rollback_to(savepoint);
            ctx.warnings.push(Warning {
                level: Level::Warning,
                code: e.code,
                message: e.message,
            });
            Ok(false)
        }
        (Err(e), _) => Err(e),
    }
}

fn column_positions(table: &TableDef, names: &[ast::ObjectName]) -> Result<Vec<usize>, SqlError> {
    if names.is_empty() {
        return Ok((0..table.columns.len()).collect());
    }
    names
        .iter()
        .map(|n| {
            let name =
                n.0.last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
            table
                .column(&name)
                .ok_or_else(|| error::unknown_column(&name, "field list"))
        })
        .collect()
}

/// One value of a VALUES row: `DEFAULT`, or an expression.
enum Source {
    Default,
    Value(Datum),
}

/// A value bound for a column of type `target`: a string read into a JSON
/// column is JSON text, as MySQL's parser reads it.
fn stored_as(e: Expr, target: Option<&SqlType>, types: &[SqlType]) -> Expr {
    match target {
        Some(t) if t.kind == TypeKind::Json => json_input(e, types),
        _ => e,
    }
}

/// The values of an inserted row for `table`'s columns at `targets`:
/// `DEFAULT`, or constant expressions (which may hold subqueries).
async fn value_sources(
    p: &mut Planner<'_, '_>,
    exprs: impl Iterator<Item = &ast::Expr>,
    table: &TableDef,
    targets: &[usize],
    txn: &Transaction,
) -> Result<Vec<Source>, SqlError> {
    let mut out = Vec::new();
    for (i, e) in exprs.enumerate() {
        let target = targets.get(i).map(|&c| &table.columns[c].ty);
        out.push(match e {
            ast::Expr::Identifier(id)
                if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("DEFAULT") =>
            {
                Source::Default
            }
            e => {
                let bound = p.bind(e, &Scope::default(), "field list")?;
                let bound = stored_as(bound, target, &[]);
                Source::Value(exec::eval_standalone(&bound, txn, p.ctx).await?)
            }
        });
    }
    Ok(out)
}

/// INSERT / REPLACE.
pub async fn insert(
    p: &mut Planner<'_, '_>,
    ins: &ast::Insert,
    txn: &mut Transaction,
    catalog: &Catalog,
) -> Result<Output, SqlError> {
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(error::unsupported("INSERT into a table function"));
    };
    // Other dialects' clauses, and MySQL's own that are not done yet
    // (PARTITION, `AS new` row aliases): refused, not dropped.
    // LOW_PRIORITY, HIGH_PRIORITY and DELAYED only schedule, as in InnoDB.
    if ins.or.is_some()
        || ins.overwrite
        || ins.has_table_keyword
        || ins.by_name
        || ins.table_alias.is_some()
        || ins.partitioned.is_some()
        || !ins.after_columns.is_empty()
        || ins.overriding.is_some()
        || ins.returning.is_some()
        || ins.output.is_some()
        || ins.settings.is_some()
        || ins.insert_alias.is_some()
        || matches!(ins.on, Some(ast::OnInsert::OnConflict(_)))
    {
        return Err(error::unsupported(&ins.to_string()));
    }
    crate::plan::refuse_hints(&ins.optimizer_hints)?;
    let (db, table) = p.table_to_write(name)?;
    p.target = Some(table.clone());
    let mut targets = column_positions(&table, &ins.columns)?;
    let mode = match (&ins.on, ins.replace_into, ins.ignore) {
        (Some(ast::OnInsert::DuplicateKeyUpdate(_)), _, _) => OnDuplicate::Update,
        (_, true, _) => OnDuplicate::Replace,
        (_, _, true) => OnDuplicate::Ignore,
        _ => OnDuplicate::Error,
    };

    // The rows to insert, as values for `targets`.
    let mut sources: Vec<Vec<Source>> = Vec::new();
    match ins.source.as_deref() {
        Some(query) => match query.body.as_ref() {
            ast::SetExpr::Values(values) => {
                for row in &values.rows {
                    sources.push(value_sources(p, row.iter(), &table, &targets, txn).await?);
                }
            }
            _ => {
                let planned = p.plan_query(query)?;
                // A string read into a JSON column is JSON text.
                let json_text: Vec<bool> = (planned.types.iter().enumerate())
                    .map(|(i, ty)| {
                        let target = targets.get(i).map(|&t| &table.columns[t].ty);
                        target.is_some_and(|t| t.kind == TypeKind::Json) && is_json_text(ty)
                    })
                    .collect();
                for row in exec::run(&planned.plan, txn, p.ctx).await? {
                    let row = row.into_iter().zip(&json_text);
                    sources.push(
                        row.map(|(v, &text)| match text {
                            true => Source::Value(parse_json_text(v)),
                            false => Source::Value(v),
                        })
                        .collect(),
                    );
                }
            }
        },
        // INSERT ... SET a = 1, b = 2: one row, columns named by the assignments.
        None if !ins.assignments.is_empty() => {
            targets = ins
                .assignments
                .iter()
                .map(|a| assignment_column(&table, a))
                .collect::<Result<_, _>>()?;
            let values = ins.assignments.iter().map(|a| &a.value);
            sources.push(value_sources(p, values, &table, &targets, txn).await?);
        }
        None => return Err(error::syntax("", 1)),
    }

    // `VALUES ()` names no column: every column takes its default.
    if ins.columns.is_empty() && sources.iter().all(Vec::is_empty) {
        targets.clear();
    }
    // IGNORE turns bad values into warnings, even in strict mode.
    let single_row = sources.len() == 1 && !ins.ignore;
    if ins.ignore {
        p.ctx.sql_mode.strict = false;
    }
    let auto = table.auto_increment_column();
    let mut rows: Vec<Vec<Datum>> = Vec::with_capacity(sources.len());
    for (i, values) in sources.into_iter().enumerate() {
        let row_no = i as u64 + 1;
        if values.len() != targets.len() {
            return Err(SqlError::new(
                1136,
                "21S01",
                format!("Column count doesn't match value count at row {row_no}"),
            ));
        }
        let mut row: Vec<Option<Datum>> = vec![None; table.columns.len()];
        for (&pos, value) in targets.iter().zip(values) {
            let col = &table.columns[pos];
            let mut value = match value {
                Source::Default => default_of(&table.columns[pos], row_no, p.ctx)?,
                Source::Value(v) => store(v, &col.ty, &col.name, row_no, p.ctx)?,
            };
            not_null(&table, pos, &mut value, row_no, single_row, p.ctx)?;
            row[pos] = Some(value);
        }
        let mut full = Vec::with_capacity(row.len());
        for (pos, v) in row.into_iter().enumerate() {
            full.push(match v {
                Some(v) => v,
                None => {
                    let mut value = default_of(&table.columns[pos], row_no, p.ctx)?;
                    not_null(&table, pos, &mut value, row_no, single_row, p.ctx)?;
                    value
                }
            });
        }
        rows.push(full);
    }

    // AUTO_INCREMENT: NULL or 0 asks for a value; explicit values move the
    // counter past them. One allocation serves the whole statement.
    let mut first_generated = 0;
    if let Some(a) = auto {
        // NO_AUTO_VALUE_ON_ZERO keeps an explicit 0 (mysqldump restores
        // rows whose id is 0 with it).
        let zero_asks = !p.ctx.sql_mode.no_auto_value_on_zero;
        let wants = |d: &Datum| {
            matches!(d, Datum::Null) || (zero_asks && matches!(d, Datum::I64(0) | Datum::U64(0)))
        };
        let needed = rows.iter().filter(|r| wants(&r[a])).count() as u64;
        let explicit_max = rows
            .iter()
            .filter_map(|r| match r[a] {
                Datum::I64(v) if v > 0 => Some(v as u64),
                Datum::U64(v) if v > 0 => Some(v),
                _ => None,
            })
            .max();
        let floor = explicit_max.map_or(0, |m| m + 1);
        if needed > 0 {
            let mut next = allocate_auto_ids(p, catalog, &table, needed, floor).await?;
            first_generated = next;
            for row in rows.iter_mut().filter(|r| wants(&r[a])) {
                let col = &table.columns[a];
                row[a] = store(Datum::U64(next), &col.ty, &col.name, 0, p.ctx)?;
                next += 1;
            }
        } else if explicit_max.is_some() {
            allocate_auto_ids(p, catalog, &table, 0, floor).await?;
        }
    }
    let hidden_ids = if table.handle_column.is_none() {
        allocate_auto_ids(p, catalog, &table, rows.len() as u64, 0).await?
    } else {
        0
    };

    let mut affected = 0u64;
    let mut duplicates = 0u64;
    let assignments = match &ins.on {
        Some(ast::OnInsert::DuplicateKeyUpdate(a)) => Some(bind_upsert(p, &db, &table, a)?),
        _ => None,
    };
    let checks = Checks::bind(p, &db, &table, &table.checks)?;
    let schema = p.schema;
    for (i, row) in rows.into_iter().enumerate() {
        if !checks.verify(&row, ins.ignore, p.ctx)? {
            continue;
        }
        let handle = handle_of(&table, &row).unwrap_or(hidden_ids as i64 + i as i64);
        let Some((other, existing, described)) = find_duplicate(&table, &row, handle, txn).await?
        else {
            if foreign_key::check_parents(schema, &db, &table, None, &row, txn, ins.ignore, p.ctx)
                .await?
            {
                put_row(&table, &row, handle, txn)?;
                affected += 1;
            }
            continue;
        };
        duplicates += 1;
        match mode {
            OnDuplicate::Error => return Err(duplicate_error(&described)),
            OnDuplicate::Ignore => {
                let e = duplicate_error(&described);
                p.ctx.warnings.push(Warning {
                    level: Level::Warning,
                    code: e.code,
                    message: e.message,
                });
            }
            OnDuplicate::Replace => {
                // Remove every row the new one collides with, then insert it.
                let mut collision = Some((other, existing));
                while let Some((h, old)) = collision.take() {
                    foreign_key::on_parent_change(
                        schema, &db, &table, &old, None, h, txn, p.ctx, 0,
                    )
                    .await?;
                    delete_row(&table, &old, h, txn);
                    affected += 1;
                    collision = find_duplicate(&table, &row, handle, txn)
                        .await?
                        .map(|(h, r, _)| (h, r));
                }
                foreign_key::check_parents(schema, &db, &table, None, &row, txn, false, p.ctx)
                    .await?;
                put_row(&table, &row, handle, txn)?;
                affected += 1;
            }
            OnDuplicate::Update => {
                let Some(assignments) = &assignments else {
                    continue;
                };
                let mut eval_row = existing.clone();
                eval_row.push(Datum::I64(other));
                eval_row.extend(row.iter().cloned());
                let mut new = existing.clone();
                for (pos, expr) in assignments {
                    let v = expr.eval(&eval_row, p.ctx)?;
                    let col = &table.columns[*pos];
                    new[*pos] = store(v, &col.ty, &col.name, i as u64 + 1, p.ctx)?;
                    eval_row[*pos] = new[*pos].clone();
                }
                check_not_null(&table, &mut new, i as u64 + 1, true, p.ctx)?;
                if new != existing
                    && checks.verify(&new, ins.ignore, p.ctx)?
                    && write_change(
                        schema, &db, &table, &existing, &new, other, txn, ins.ignore, p.ctx,
                    )
                    .await?
                {
                    affected += 2;
                }
            }
        }
    }
    let info = if single_row && mode != OnDuplicate::Ignore {
        String::new()
    } else {
        format!(
            "Records: {}  Duplicates: {duplicates}  Warnings: {}",
            affected.max(duplicates),
            p.ctx.warnings.len()
        )
    };
    if first_generated > 0 {
        p.ctx.last_insert_id = first_generated;
    }
    Ok(Output::Affected {
        rows: affected,
        last_insert_id: first_generated,
        info,
    })
}

/// Reserve `n` AUTO_INCREMENT values (or hidden row ids) of `table` at or
/// above `at_least`: from the catalog, or for a temporary table from the
/// session.
async fn allocate_auto_ids(
    p: &Planner<'_, '_>,
    catalog: &Catalog,
    table: &TableDef,
    n: u64,
    at_least: u64,
) -> Result<u64, SqlError> {
    match p.temporary {
        Some(temporary) if table.id < 0 => Ok(temporary.allocate_auto_ids(table, n, at_least)),
        _ => catalog.allocate_auto_ids(table, n, at_least).await,
    }
}

/// Bind ON DUPLICATE KEY UPDATE assignments over `[old row, handle, new row]`;
/// `VALUES(c)` reads the new row.
fn bind_upsert(
    p: &mut Planner<'_, '_>,
    db: &str,
    table: &Arc<TableDef>,
    assignments: &[ast::Assignment],
) -> Result<Vec<(usize, Expr)>, SqlError> {
    let mut scope = p.table_scope(db, table, None);
    let new_columns: Vec<ScopeColumn> = scope.columns[..table.columns.len()]
        .iter()
        .map(|c| ScopeColumn {
            qualifier: Some("\0new".into()),
            hidden: true,
            qualified_only: false,
            ..c.clone()
        })
        .collect();
    scope.columns.extend(new_columns);
    assignments
        .iter()
        .map(|a| {
            let pos = assignment_column(table, a)?;
            let bound = p.bind(&a.value, &scope, "field list")?;
            let target = Some(&table.columns[pos].ty);
            Ok((pos, stored_as(bound, target, &scope.types())))
        })
        .collect()
}

fn assignment_column(table: &TableDef, a: &ast::Assignment) -> Result<usize, SqlError> {
    match &a.target {
        ast::AssignmentTarget::ColumnName(n) => {
            let name =
                n.0.last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
            table
                .column(&name)
                .ok_or_else(|| error::unknown_column(&name, "field list"))
        }
        ast::AssignmentTarget::Tuple(_) => Err(error::unsupported("tuple assignment")),
    }
}

/// The single table an UPDATE or DELETE names, with its index hints. An
/// alias or a PARTITION is refused: the statement would otherwise run
/// without it.
fn single_table(
    twj: &ast::TableWithJoins,
) -> Result<(&ast::ObjectName, &[ast::TableIndexDirective]), SqlError> {
    match (&twj.relation, twj.joins.is_empty()) {
        (
            ast::TableFactor::Table {
                name,
                alias: None,
                args: None,
                version: None,
                sample: None,
                json_path: None,
                partitions,
                with_hints,
                index_directives,
                ..
            },
            true,
        ) if partitions.is_empty() && with_hints.is_empty() => Ok((name, index_directives)),
        (ast::TableFactor::Table { .. }, true) => Err(error::unsupported(&twj.to_string())),
        _ => Err(error::unsupported("multi-table UPDATE/DELETE")),
    }
}

/// The plan of the rows an UPDATE (`Update`) or DELETE (`Delete`) reads,
/// and that operator's name, for EXPLAIN; `None` for other statements.
pub fn explain_target(
    p: &mut Planner<'_, '_>,
    statement: &ast::Statement,
) -> Result<Option<(crate::plan::Plan, &'static str)>, SqlError> {
    let (twj, selection, order_by, limit, root) = match statement {
        ast::Statement::Update(upd) => (
            &upd.table,
            upd.selection.as_ref(),
            &upd.order_by,
            upd.limit.as_ref(),
            "Update",
        ),
        ast::Statement::Delete(del) => {
            let (ast::FromTable::WithFromKeyword(from) | ast::FromTable::WithoutKeyword(from)) =
                &del.from;
            let Some(first) = from.first() else {
                return Ok(None);
            };
            (
                first,
                del.selection.as_ref(),
                &del.order_by,
                del.limit.as_ref(),
                "Delete",
            )
        }
        _ => return Ok(None),
    };
    let (name, hints) = single_table(twj)?;
    let (db, table) = p.table(name)?;
    let indexes = IndexChoice::of(&table, &table.name, hints)?;
    let (plan, _) = target_plan(p, &db, &table, indexes, selection, order_by, limit)?;
    Ok(Some((plan, root)))
}

/// The plan of the rows an UPDATE/DELETE touches, with its ORDER BY and
/// LIMIT.
fn target_plan(
    p: &mut Planner<'_, '_>,
    db: &str,
    table: &Arc<TableDef>,
    indexes: IndexChoice,
    selection: Option<&ast::Expr>,
    order_by: &[ast::OrderByExpr],
    limit: Option<&ast::Expr>,
) -> Result<(crate::plan::Plan, Scope), SqlError> {
    let (mut plan, scope) = p.plan_table_where(db, table, indexes, selection)?;
    if !order_by.is_empty() {
        let mut keys = Vec::new();
        for item in order_by {
            let Expr::Column(column) = p.bind(&item.expr, &scope, "order clause")? else {
                return Err(error::unsupported("ORDER BY expressions in UPDATE/DELETE"));
            };
            let desc = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
            keys.push(SortKey {
                column,
                desc,
                collation: scope.columns[column].ty.key_collation(),
            });
        }
        plan = crate::plan::Plan::Sort(Box::new(plan), keys, None);
    }
    if let Some(limit) = limit {
        let count = match p
            .bind(limit, &Scope::default(), "limit clause")?
            .eval(&[], p.ctx)?
        {
            Datum::I64(v) if v >= 0 => v as usize,
            Datum::U64(v) => v as usize,
            _ => return Err(SqlError::new(1210, "HY000", "Incorrect arguments to LIMIT")),
        };
        plan = crate::plan::Plan::limit(plan, 0, Some(count));
    }
    Ok((plan, scope))
}

/// UPDATE of one table, or of several joined (`UPDATE t JOIN u ON ... SET
/// t.a = u.b`).
pub async fn update(
    p: &mut Planner<'_, '_>,
    upd: &ast::Update,
    txn: &mut Transaction,
) -> Result<Output, SqlError> {
    if upd.from.is_some() {
        return Err(error::unsupported("UPDATE ... FROM"));
    }
    if upd.returning.is_some()
        || upd.output.is_some()
        || upd.settings.is_some()
        || upd.on_cluster.is_some()
        || upd.or.is_some_and(|o| o != ast::SqliteOnConflict::Ignore)
    {
        return Err(error::unsupported(&upd.to_string()));
    }
    crate::plan::refuse_hints(&upd.optimizer_hints)?;
    // UPDATE IGNORE: bad values become warnings, even in strict mode.
    let ignore = upd.or == Some(ast::SqliteOnConflict::Ignore);
    if ignore {
        p.ctx.sql_mode.strict = false;
    }
    if !upd.table.joins.is_empty() {
        return update_joined(p, upd, ignore, txn).await;
    }
    let (name, hints) = single_table(&upd.table)?;
    let (db, table) = p.table_to_write(name)?;
    let indexes = IndexChoice::of(&table, &table.name, hints)?;
    p.target = Some(table.clone());
    let (plan, scope) = target_plan(
        p,
        &db,
        &table,
        indexes,
        upd.selection.as_ref(),
        &upd.order_by,
        upd.limit.as_ref(),
    )?;
    let rows = exec::run(&plan, txn, p.ctx).await?;
    let mut assignments = Vec::with_capacity(upd.assignments.len());
    for a in &upd.assignments {
        let pos = assignment_column(&table, a)?;
        let bound = p.bind(&a.value, &scope, "field list")?;
        let bound = stored_as(bound, Some(&table.columns[pos].ty), &scope.types());
        let bound = exec::run_uncorrelated(&bound, txn, p.ctx).await?;
        assignments.push((pos, bound));
    }
    let written = Written::new(p, db, table, 0)?;
    let (mut matched, mut changed) = (0u64, 0u64);
    for (i, mut row) in rows.into_iter().enumerate() {
        let Datum::I64(handle) = row[written.table.columns.len()] else {
            return Err(error::internal("row without handle"));
        };
        matched += 1;
        let row_no = i as u64 + 1;
        if written
            .update(p, &assignments, &mut row, true, handle, row_no, ignore, txn)
            .await?
        {
            changed += 1;
        }
    }
    Ok(updated(matched, changed, p.ctx))
}

/// UPDATE's answer: rows changed, and matched in the info string.
fn updated(matched: u64, changed: u64, ctx: &EvalContext<'_>) -> Output {
    let info = format!(
        "Rows matched: {matched}  Changed: {changed}  Warnings: {}",
        ctx.warnings.len()
    );
    Output::Affected {
        rows: changed,
        last_insert_id: 0,
        info,
    }
}

/// A table an UPDATE writes, and where its columns are in the rows the
/// statement reads: from `start`, its handle right after them.
struct Written {
    db: String,
    table: Arc<TableDef>,
    start: usize,
    checks: Checks,
}

impl Written {
    fn new(
        p: &mut Planner<'_, '_>,
        db: String,
        table: Arc<TableDef>,
        start: usize,
    ) -> Result<Self, SqlError> {
        let checks = Checks::bind(p, &db, &table, &table.checks)?;
        Ok(Written {
            db,
            table,
            start,
            checks,
        })
    }

    /// Apply `assignments` (a column of this table, a value over the read
    /// row) to its row `handle` in `row`. With `in_turn` (a single-table
    /// UPDATE) `row` takes each new value at once, so later assignments see
    /// earlier ones, as in MySQL; otherwise (several tables) every value is
    /// of the row as read, as MariaDB answers (MySQL leaves the order open).
    /// Returns whether the row changed.
    #[allow(clippy::too_many_arguments)]
    async fn update(
        &self,
        p: &mut Planner<'_, '_>,
        assignments: &[(usize, Expr)],
        row: &mut [Datum],
        in_turn: bool,
        handle: i64,
        row_no: u64,
        ignore: bool,
        txn: &mut Transaction,
    ) -> Result<bool, SqlError> {
        let (table, start) = (&self.table, self.start);
        let width = table.columns.len();
        let old: Vec<Datum> = row[start..start + width].to_vec();
        let mut new = old.clone();
        let mut assigned = vec![false; width];
        for (pos, expr) in assignments {
            let v = exec::eval_for_row(expr, row, txn, p.ctx).await?;
            let col = &table.columns[*pos];
            new[*pos] = store(v, &col.ty, &col.name, row_no, p.ctx)?;
            if in_turn {
                row[start + *pos] = new[*pos].clone();
            }
            assigned[*pos] = true;
        }
        check_not_null(table, &mut new, row_no, false, p.ctx)?;
        if new == old {
            return Ok(false);
        }
        for (pos, col) in table.columns.iter().enumerate() {
            if col.on_update_now && !assigned[pos] {
                let now = Datum::DateTime(p.ctx.now);
                new[pos] = store(now, &col.ty, &col.name, row_no, p.ctx)?;
            }
        }
        let schema = p.schema;
        Ok(self.checks.verify(&new, ignore, p.ctx)?
            && write_change(
                schema, &self.db, table, &old, &new, handle, txn, ignore, p.ctx,
            )
            .await?)
    }
}

/// The tables of FROM clauses by the name their columns are qualified with
/// in the joined rows (the alias, else the table's name; lowercase).
fn named_tables(from: &[ast::TableWithJoins]) -> Vec<(String, &ast::ObjectName)> {
    fn factor<'a>(f: &'a ast::TableFactor, out: &mut Vec<(String, &'a ast::ObjectName)>) {
        match f {
            ast::TableFactor::Table { name, alias, .. } => {
                let shown = match alias {
                    Some(a) => a.name.value.clone(),
                    None => name
                        .0
                        .last()
                        .and_then(|p| p.as_ident())
                        .map(|i| i.value.clone())
                        .unwrap_or_default(),
                };
                out.push((shown.to_lowercase(), name));
            }
            ast::TableFactor::NestedJoin {
                table_with_joins, ..
            } => joined(table_with_joins, out),
            _ => {}
        }
    }
    fn joined<'a>(twj: &'a ast::TableWithJoins, out: &mut Vec<(String, &'a ast::ObjectName)>) {
        factor(&twj.relation, out);
        for join in &twj.joins {
            factor(&join.relation, out);
        }
    }
    let mut out = Vec::new();
    for twj in from {
        joined(twj, &mut out);
    }
    out
}

/// The table whose hidden handle is column `handle` of the joined rows of
/// `from`, as a table to write: found by its name there, so that LOCK
/// TABLES and temporary tables apply as to any write. A derived table
/// cannot be written (1288).
fn joined_table(
    p: &mut Planner<'_, '_>,
    from: &[ast::TableWithJoins],
    scope: &Scope,
    handle: usize,
    statement: &str,
) -> Result<(String, Arc<TableDef>), SqlError> {
    let column = &scope.columns[handle];
    let qualifier = column.qualifier.clone().unwrap_or_default();
    let name = named_tables(from)
        .into_iter()
        .find(|(shown, _)| *shown == qualifier)
        .map(|(_, name)| name.clone());
    match (name, &column.handle_of) {
        (Some(name), Some(read)) => {
            let (db, table) = p.table_to_write(&name)?;
            if table.id != read.id {
                return Err(error::internal("joined table changed under its name"));
            }
            Ok((db, table))
        }
        _ => Err(SqlError::new(
            1288,
            "HY000",
            format!("The target table {qualifier} of the {statement} is not updatable"),
        )),
    }
}

/// 1221: MySQL has no ORDER BY or LIMIT for an UPDATE or DELETE of
/// several tables.
fn refuse_order_and_limit(
    statement: &str,
    order_by: &[ast::OrderByExpr],
    limit: Option<&ast::Expr>,
) -> Result<(), SqlError> {
    let clause = match (order_by.is_empty(), limit) {
        (_, Some(_)) => "LIMIT",
        (false, None) => "ORDER BY",
        (true, None) => return Ok(()),
    };
    Err(SqlError::new(
        1221,
        "HY000",
        format!("Incorrect usage of {statement} and {clause}"),
    ))
}

/// Multi-table UPDATE: every row of a target table that the join matches
/// is changed once, by the first joined row that matches it; ORDER BY and
/// LIMIT are refused (1221) as MySQL does.
async fn update_joined(
    p: &mut Planner<'_, '_>,
    upd: &ast::Update,
    ignore: bool,
    txn: &mut Transaction,
) -> Result<Output, SqlError> {
    refuse_order_and_limit("UPDATE", &upd.order_by, upd.limit.as_ref())?;
    let from = std::slice::from_ref(&upd.table);
    let (plan, scope) = p.plan_join_where(from, upd.selection.as_ref())?;
    // Each assignment's column, and the table (by its handle column) it is in.
    let mut targets: Vec<(usize, Written)> = Vec::new();
    let mut assignments: Vec<Vec<(usize, Expr)>> = Vec::new();
    for a in &upd.assignments {
        let ast::AssignmentTarget::ColumnName(n) = &a.target else {
            return Err(error::unsupported("tuple assignment"));
        };
        let parts: Vec<&str> =
            n.0.iter()
                .filter_map(|p| p.as_ident())
                .map(|i| i.value.as_str())
                .collect();
        let (qualifier, name) = match parts.as_slice() {
            [name] => (None, *name),
            [.., qualifier, name] => (Some(*qualifier), *name),
            [] => return Err(error::syntax(&a.to_string(), 1)),
        };
        let at = scope.resolve(qualifier, name, "field list")?;
        if scope.columns[at].hidden {
            return Err(error::unknown_column(name, "field list"));
        }
        // The table's handle follows its columns; a derived table has none.
        let handle = (at..scope.columns.len())
            .find(|&i| scope.columns[i].handle_of.is_some())
            .filter(|&h| scope.columns[h].qualifier == scope.columns[at].qualifier)
            .ok_or_else(|| {
                let table = scope.columns[at].qualifier.clone().unwrap_or_default();
                SqlError::new(
                    1288,
                    "HY000",
                    format!("The target table {table} of the UPDATE is not updatable"),
                )
            })?;
        let target = match targets.iter().position(|(h, _)| *h == handle) {
            Some(t) => t,
            None => {
                let (db, table) = joined_table(p, from, &scope, handle, "UPDATE")?;
                if let Some((_, other)) = targets.iter().find(|(_, w)| w.table.id == table.id) {
                    return Err(error::unsupported(&format!(
                        "updating table {} under two names",
                        other.table.name
                    )));
                }
                let start = handle - table.columns.len();
                targets.push((handle, Written::new(p, db, table, start)?));
                assignments.push(Vec::new());
                targets.len() - 1
            }
        };
        let column = at - targets[target].1.start;
        let bound = p.bind(&a.value, &scope, "field list")?;
        let column_type = &targets[target].1.table.columns[column].ty;
        let bound = stored_as(bound, Some(column_type), &scope.types());
        let bound = exec::run_uncorrelated(&bound, txn, p.ctx).await?;
        assignments[target].push((column, bound));
    }
    let rows = exec::run(&plan, txn, p.ctx).await?;
    // A target's rows may change under a cascade from another's: then
    // each is read again before it is written.
    let schema = p.schema;
    let cascades = p.ctx.foreign_key_checks
        && targets
            .iter()
            .any(|(_, w)| schema.is_referenced(w.table.id));
    let mut seen = vec![std::collections::HashSet::new(); targets.len()];
    let (mut matched, mut changed) = (0u64, 0u64);
    for (i, mut row) in rows.into_iter().enumerate() {
        for (t, (handle_at, written)) in targets.iter().enumerate() {
            // NULL: the outer side of a LEFT JOIN found no row here.
            let Datum::I64(handle) = row[*handle_at] else {
                continue;
            };
            if !seen[t].insert(handle) {
                continue;
            }
            if cascades {
                let key = row_key(&written.table, handle);
                let Some(value) = txn.get(&key).await.map_err(from_kv)? else {
                    continue;
                };
                let current = table::decode_row(&written.table, &value)?;
                row[written.start..*handle_at].clone_from_slice(&current);
            }
            matched += 1;
            let row_no = i as u64 + 1;
            if written
                .update(
                    p,
                    &assignments[t],
                    &mut row,
                    false,
                    handle,
                    row_no,
                    ignore,
                    txn,
                )
                .await?
            {
                changed += 1;
            }
        }
    }
    Ok(updated(matched, changed, p.ctx))
}

/// DELETE from one table, or from several joined (`DELETE t, u FROM t JOIN
/// u ...` or `DELETE FROM t, u USING t JOIN u ...`).
pub async fn delete(
    p: &mut Planner<'_, '_>,
    del: &ast::Delete,
    txn: &mut Transaction,
) -> Result<Output, SqlError> {
    let from = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    if del.returning.is_some()
        || del.output.is_some()
        || del.settings.is_some()
        || del.on_cluster.is_some()
    {
        return Err(error::unsupported(&del.to_string()));
    }
    crate::plan::refuse_hints(&del.optimizer_hints)?;
    // sqlparser reads MySQL's `DELETE IGNORE FROM t` as a DELETE of a table
    // named IGNORE, a reserved word MySQL would need quoted.
    let (ignore, tables) = match del.tables.split_first() {
        Some((first, rest))
            if matches!(first.0.as_slice(), [part] if part.as_ident().is_some_and(|i| {
                i.quote_style.is_none() && i.value.eq_ignore_ascii_case("IGNORE")
            })) =>
        {
            (true, rest)
        }
        _ => (false, &del.tables[..]),
    };
    if !tables.is_empty() || from.len() != 1 || del.using.is_some() || !from[0].joins.is_empty() {
        return delete_joined(p, del, tables, from, ignore, txn).await;
    }
    let (name, hints) = single_table(&from[0])?;
    let (db, table) = p.table_to_write(name)?;
    let indexes = IndexChoice::of(&table, &table.name, hints)?;
    let (plan, _) = target_plan(
        p,
        &db,
        &table,
        indexes,
        del.selection.as_ref(),
        &del.order_by,
        del.limit.as_ref(),
    )?;
    let rows = exec::run(&plan, txn, p.ctx).await?;
    let width = table.columns.len();
    let mut deleted = 0;
    for row in &rows {
        let Datum::I64(handle) = row[width] else {
            return Err(error::internal("row without handle"));
        };
        if delete_one(p, &db, &table, &row[..width], handle, false, ignore, txn).await? {
            deleted += 1;
        }
    }
    Ok(Output::Affected {
        rows: deleted,
        last_insert_id: 0,
        info: String::new(),
    })
}

/// Delete row `handle` of `db.table`, read as `row`, with its children
/// following their foreign keys' rules. The row is read again first when
/// the table is referenced or `reread` says a cascade of the statement may
/// have changed it. Returns false when it is gone already: such a cascade
/// took it.
#[allow(clippy::too_many_arguments)]
async fn delete_one(
    p: &mut Planner<'_, '_>,
    db: &str,
    table: &TableDef,
    mut row: &[Datum],
    handle: i64,
    reread: bool,
    ignore: bool,
    txn: &mut Transaction,
) -> Result<bool, SqlError> {
    let schema = p.schema;
    let referenced = schema.is_referenced(table.id) && p.ctx.foreign_key_checks;
    let current;
    if referenced || reread {
        // That cascade may also have changed it (SET NULL).
        let Some(value) = txn.get(&row_key(table, handle)).await.map_err(from_kv)? else {
            return Ok(false);
        };
        current = table::decode_row(table, &value)?;
        row = &current;
    }
    if referenced {
        let undo = ignore.then(|| txn.savepoint());
        let children =
            foreign_key::on_parent_change(schema, db, table, row, None, handle, txn, p.ctx, 0)
                .await;
        if !skipped_under_ignore(children, undo, txn, p.ctx)? {
            return Ok(false);
        }
    }
    delete_row(table, row, handle, txn);
    Ok(true)
}

/// Multi-table DELETE: every row of a named table that the join matches
/// is deleted once, a child table's rows before its parent's; ORDER BY
/// and LIMIT are refused (1221) as MySQL does.
async fn delete_joined(
    p: &mut Planner<'_, '_>,
    del: &ast::Delete,
    tables: &[ast::ObjectName],
    from: &[ast::TableWithJoins],
    ignore: bool,
    txn: &mut Transaction,
) -> Result<Output, SqlError> {
    refuse_order_and_limit("DELETE", &del.order_by, del.limit.as_ref())?;
    // `DELETE t, u FROM <join>` or `DELETE FROM t, u USING <join>`.
    let (named, source): (Vec<&ast::ObjectName>, &[ast::TableWithJoins]) = match &del.using {
        Some(using) => {
            let mut named = Vec::new();
            for twj in from {
                match (&twj.relation, twj.joins.is_empty()) {
                    (
                        ast::TableFactor::Table {
                            name, alias: None, ..
                        },
                        true,
                    ) => named.push(name),
                    _ => return Err(error::syntax(&twj.to_string(), 1)),
                }
            }
            (named, using)
        }
        None if !tables.is_empty() => (tables.iter().collect(), from),
        None => {
            return Err(error::unsupported(
                "DELETE FROM several tables without USING",
            ));
        }
    };
    let (plan, scope) = p.plan_join_where(source, del.selection.as_ref())?;
    let mut targets: Vec<(usize, String, Arc<TableDef>)> = Vec::new();
    for name in named {
        let shown = name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(|i| i.value.to_lowercase())
            .unwrap_or_default();
        let handle = scope
            .columns
            .iter()
            .position(|c| c.handle_of.is_some() && c.qualifier.as_deref() == Some(shown.as_str()))
            .ok_or_else(|| {
                SqlError::new(
                    1109,
                    "42S02",
                    format!("Unknown table '{shown}' in MULTI DELETE"),
                )
            })?;
        if targets.iter().any(|(h, ..)| *h == handle) {
            return Err(SqlError::new(
                1066,
                "42000",
                format!("Not unique table/alias: '{shown}'"),
            ));
        }
        let (db, table) = joined_table(p, source, &scope, handle, "DELETE")?;
        targets.push((handle, db, table));
    }
    let rows = exec::run(&plan, txn, p.ctx).await?;
    // Children before their parents, so that deleting both a parent and its
    // children in one statement finds no child left to refuse it (1451).
    let references = |child: &TableDef, db: &str, parent: &TableDef| {
        child.foreign_keys.iter().any(|fk| {
            fk.parent_db.eq_ignore_ascii_case(db)
                && fk.parent_table.eq_ignore_ascii_case(&parent.name)
        })
    };
    let mut order: Vec<usize> = Vec::with_capacity(targets.len());
    while order.len() < targets.len() {
        let left: Vec<usize> = (0..targets.len()).filter(|t| !order.contains(t)).collect();
        let next = left
            .iter()
            .copied()
            .find(|&t| {
                let (_, db, table) = &targets[t];
                !left
                    .iter()
                    .any(|&o| o != t && references(&targets[o].2, db, table))
            })
            .unwrap_or(left[0]);
        order.push(next);
    }
    // A target's rows may change under a cascade from another's.
    let schema = p.schema;
    let cascades = p.ctx.foreign_key_checks
        && targets
            .iter()
            .any(|(_, _, table)| schema.is_referenced(table.id));
    let mut seen = std::collections::HashSet::new();
    let mut deleted = 0;
    for t in order {
        let (handle_at, db, table) = &targets[t];
        let start = handle_at - table.columns.len();
        for row in &rows {
            // NULL: the outer side of a LEFT JOIN found no row here.
            let Datum::I64(handle) = row[*handle_at] else {
                continue;
            };
            if seen.insert((table.id, handle))
                && delete_one(
                    p,
                    db,
                    table,
                    &row[start..*handle_at],
                    handle,
                    cascades,
                    ignore,
                    txn,
                )
                .await?
            {
                deleted += 1;
            }
        }
    }
    Ok(Output::Affected {
        rows: deleted,
        last_insert_id: 0,
        info: String::new(),
    })
}
