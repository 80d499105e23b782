//! FOREIGN KEY and CHECK constraints in CREATE and ALTER TABLE: declared
//! (named as MySQL names them, a foreign key given the index MySQL gives
//! it), then checked against the schema as a whole once the statement's
//! other changes are made ([`validate`]).

use super::define::index_name;
use crate::catalog::{CheckDef, ForeignKeyDef, InfoSchema, RefAction, TableDef};
use crate::dml::check::{Checks, bind_clause};
use crate::dml::foreign_key::leads;
use crate::error;
use crate::expr::EvalContext;
use crate::plan::{Planner, table_name};
use crate::result::SqlError;
use crate::types::{SqlType, TypeKind};
use codec::Datum;
use sqlparser::ast;
use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::sync::Arc;

/// The next generated name `<table><infix><n>` (MySQL's `t_chk_1`,
/// `t_ibfk_1`): one past the highest such number already taken.
fn generated_name<'a>(table: &str, infix: &str, taken: impl Iterator<Item = &'a str>) -> String {
    let prefix = format!("{table}{infix}").to_lowercase();
    let highest = taken
        .filter_map(|n| n.to_lowercase().strip_prefix(&prefix)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{table}{infix}{}", highest.saturating_add(1))
}

/// Add a CHECK constraint to `table` (`name`: a column-level one's
/// `CONSTRAINT name`).
pub fn add_check(
    table: &mut TableDef,
    name: Option<&ast::Ident>,
    check: &ast::CheckConstraint,
) -> Result<CheckDef, SqlError> {
    if check.no_inherit {
        return Err(error::unsupported("CHECK ... NO INHERIT"));
    }
    let name = match name.or(check.name.as_ref()) {
        Some(n) => n.value.clone(),
        None => generated_name(
            &table.name,
            "_chk_",
            table.checks.iter().map(|c| c.name.as_str()),
        ),
    };
    let def = CheckDef {
        name,
        clause: check.expr.to_string(),
        enforced: check.enforced.unwrap_or(true),
    };
    table.checks.push(def.clone());
    Ok(def)
}

/// The columns of `table` a CHECK reads: the names of its columns in the
/// clause (not called as functions), lowercase, without repeats.
fn columns_read(table: &TableDef, check: &CheckDef) -> Result<Vec<String>, SqlError> {
    let tokens = Tokenizer::new(&MySqlDialect {}, &check.clause)
        .tokenize()
        .map_err(error::internal)?;
    let mut meaningful = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .peekable();
    let mut read: Vec<String> = Vec::new();
    while let Some(token) = meaningful.next() {
        if let Token::Word(w) = token
            && meaningful.peek() != Some(&&Token::LParen)
            && table.column(&w.value).is_some()
        {
            let name = w.value.to_lowercase();
            if !read.contains(&name) {
                read.push(name);
            }
        }
    }
    Ok(read)
}

/// 3813: a CHECK declared on `column` reads another column of `table`.
pub fn refuse_other_columns(
    table: &TableDef,
    check: &CheckDef,
    column: &str,
) -> Result<(), SqlError> {
    if columns_read(table, check)?
        .iter()
        .any(|c| !c.eq_ignore_ascii_case(column))
    {
        return Err(SqlError::new(
            3813,
            "HY000",
            format!(
                "Column check constraint '{}' references other column.",
                check.name
            ),
        ));
    }
    Ok(())
}

/// Column `column` of `table` is about to be dropped (`dropped`) or
/// renamed: as MySQL, a CHECK reading that column alone goes with a dropped
/// column, and any other CHECK reading it refuses the change (3959).
pub fn release_column(table: &mut TableDef, column: &str, dropped: bool) -> Result<(), SqlError> {
    let mut kept = Vec::with_capacity(table.checks.len());
    for check in std::mem::take(&mut table.checks) {
        let read = columns_read(table, &check)?;
        if !read.iter().any(|c| c.eq_ignore_ascii_case(column)) {
            kept.push(check);
        } else if !(dropped && read.len() == 1) {
            let name = table
                .column(column)
                .map_or(column, |pos| &table.columns[pos].name);
            return Err(SqlError::new(
                3959,
                "HY000",
                format!(
                    "Check constraint '{}' uses column '{name}', hence column cannot be dropped or renamed.",
                    check.name
                ),
            ));
        }
    }
    table.checks = kept;
    Ok(())
}

/// A stored CHECK as its declaration (for copying it to another table).
pub fn reparse(check: &CheckDef) -> Result<ast::CheckConstraint, SqlError> {
    Ok(ast::CheckConstraint {
        name: None,
        expr: Box::new(crate::dml::check::parse_clause(&check.clause)?),
        no_inherit: false,
        enforced: Some(check.enforced),
    })
}

fn action(a: Option<ast::ReferentialAction>) -> Result<RefAction, SqlError> {
    Ok(match a {
        None | Some(ast::ReferentialAction::NoAction) => RefAction::NoAction,
        Some(ast::ReferentialAction::Restrict) => RefAction::Restrict,
        Some(ast::ReferentialAction::Cascade) => RefAction::Cascade,
        Some(ast::ReferentialAction::SetNull) => RefAction::SetNull,
        // InnoDB refuses SET DEFAULT.
        Some(ast::ReferentialAction::SetDefault) => {
            return Err(error::unsupported("ON DELETE / ON UPDATE SET DEFAULT"));
        }
    })
}

/// Add a FOREIGN KEY constraint to `table` (in database `current`).
/// Returns the index MySQL adds with it when no index starts with its
/// columns: a free name and the columns' positions.
pub fn add_foreign_key(
    table: &mut TableDef,
    fk: &ast::ForeignKeyConstraint,
    current: Option<&str>,
) -> Result<Option<(String, Vec<usize>)>, SqlError> {
    if fk.match_kind.is_some() || fk.characteristics.is_some() {
        // MySQL ignores MATCH, and with it ON DELETE / ON UPDATE.
        return Err(error::unsupported(&format!("FOREIGN KEY ... {fk}")));
    }
    let name = match &fk.name {
        Some(n) => n.value.clone(),
        None => generated_name(
            &table.name,
            "_ibfk_",
            table.foreign_keys.iter().map(|f| f.name.as_str()),
        ),
    };
    let positions = fk
        .columns
        .iter()
        .map(|c| {
            table.column(&c.value).ok_or_else(|| {
                SqlError::new(
                    1072,
                    "42000",
                    format!("Key column '{}' doesn't exist in table", c.value),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if fk.referred_columns.len() != positions.len() {
        return Err(SqlError::new(
            1239,
            "42000",
            format!(
                "Incorrect foreign key definition for '{name}': Key reference and table reference don't match"
            ),
        ));
    }
    let (parent_db, parent_table) = table_name(&fk.foreign_table, current)?;
    let index = (!table.indexes.iter().any(|i| leads(i, &positions))).then(|| {
        let base = fk.index_name.as_ref().or(fk.name.as_ref()).map_or_else(
            || table.columns[positions[0]].name.clone(),
            |n| n.value.clone(),
        );
        (index_name(&base, &table.indexes), positions.clone())
    });
    table.foreign_keys.push(ForeignKeyDef {
        name,
        columns: positions.iter().map(|&p| table.columns[p].id).collect(),
        parent_db,
        parent_table,
        parent_columns: fk
            .referred_columns
            .iter()
            .map(|c| c.value.clone())
            .collect(),
        on_delete: action(fk.on_delete)?,
        on_update: action(fk.on_update)?,
    });
    Ok(index)
}

/// Whether a foreign key may pair columns of these types: MySQL's "similar
/// types" (same integer size and sign, same DECIMAL, strings of one
/// collation whatever their length).
fn compatible(child: &SqlType, parent: &SqlType) -> bool {
    use TypeKind::*;
    let string = |k: TypeKind| matches!(k, Char | VarChar);
    let binary = |k: TypeKind| matches!(k, Binary | VarBinary);
    match (child.kind, parent.kind) {
        (a, b) if string(a) && string(b) => child.collation == parent.collation,
        (a, b) if binary(a) && binary(b) => true,
        (Text | Blob | Json, _) | (_, Text | Blob | Json) => false,
        (Decimal, Decimal) => child == parent,
        (a, b) => a == b && child.unsigned == parent.unsigned,
    }
}

/// Whether rows of `table` can be found by their values at `positions`: by
/// the clustered handle, or an index that starts with them.
fn findable(table: &TableDef, positions: &[usize]) -> bool {
    matches!(positions, [p] if table.handle_column == Some(*p))
        || table.stored_indexes().any(|i| leads(i, positions))
}

/// Check `table` (in `db`, about to be stored) and the foreign keys that
/// reference it against the rest of `schema`: constraint names unique in the
/// database (3822, 1826), each parent there (1824, unless
/// `foreign_key_checks` is off) with its columns (3734) and an index to find
/// them (1822), paired types similar (3780), SET NULL on nullable columns
/// (1830), and CHECK clauses MySQL accepts.
pub fn validate(
    schema: &InfoSchema,
    db: &str,
    table: &TableDef,
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    let others: Vec<&Arc<TableDef>> = schema
        .tables(db)
        .into_iter()
        .filter(|t| t.id != table.id || table.id == 0)
        .filter(|t| !t.name.eq_ignore_ascii_case(&table.name))
        .collect();
    for (i, check) in table.checks.iter().enumerate() {
        let earlier = table.checks[..i].iter().map(|c| c.name.as_str());
        let elsewhere = others
            .iter()
            .flat_map(|t| t.checks.iter().map(|c| c.name.as_str()));
        if taken(&check.name, earlier.chain(elsewhere)) {
            return Err(SqlError::new(
                3822,
                "HY000",
                format!("Duplicate check constraint name '{}'.", check.name),
            ));
        }
    }
    for (i, fk) in table.foreign_keys.iter().enumerate() {
        let earlier = table.foreign_keys[..i].iter().map(|f| f.name.as_str());
        let elsewhere = others
            .iter()
            .flat_map(|t| t.foreign_keys.iter().map(|f| f.name.as_str()));
        if taken(&fk.name, earlier.chain(elsewhere)) {
            return Err(SqlError::new(
                1826,
                "HY000",
                format!("Duplicate foreign key constraint name '{}'", fk.name),
            ));
        }
        let own = fk.parent_db.eq_ignore_ascii_case(db)
            && fk.parent_table.eq_ignore_ascii_case(&table.name);
        let parent = if own {
            Some(table)
        } else {
            schema
                .table(&fk.parent_db, &fk.parent_table)
                .map(|t| t.as_ref())
        };
        match parent {
            Some(parent) => check_pair(table, fk, parent)?,
            None if ctx.foreign_key_checks => {
                return Err(SqlError::new(
                    1824,
                    "HY000",
                    format!("Failed to open the referenced table '{}'", fk.parent_table),
                ));
            }
            None => {
                check_pair_child(table, fk)?;
            }
        }
    }
    // Children's keys name the parent's columns as stored; they follow
    // renamed ones (`catalog` rewrites them when the change is stored).
    let before = schema.table_by_id(table.id);
    for reference in schema.references_to(db, before.map_or(&table.name, |b| &b.name)) {
        if reference.child.id != table.id {
            let mut fk = reference.def().clone();
            if let Some(before) = before {
                fk.follow_columns(before, table);
            }
            check_pair(&reference.child, &fk, table)?;
        }
    }
    validate_checks(schema, db, table, ctx)
}

/// Whether `name` is among `names` (constraint names are case-insensitive).
fn taken<'a>(name: &str, mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|n| n.eq_ignore_ascii_case(name))
}

/// The child's side of a foreign key: its columns and their index.
fn check_pair_child(child: &TableDef, fk: &ForeignKeyDef) -> Result<Vec<usize>, SqlError> {
    let positions = fk.child_positions(child).ok_or_else(|| {
        SqlError::new(
            1828,
            "HY000",
            format!(
                "Cannot drop column: needed in a foreign key constraint '{}'",
                fk.name
            ),
        )
    })?;
    if !findable(child, &positions) {
        return Err(SqlError::new(
            1553,
            "HY000",
            format!(
                "Cannot drop index: needed in a foreign key constraint '{}'",
                fk.name
            ),
        ));
    }
    for &p in &positions {
        let action_sets_null =
            fk.on_delete == RefAction::SetNull || fk.on_update == RefAction::SetNull;
        if action_sets_null && !child.columns[p].nullable {
            return Err(SqlError::new(
                1830,
                "HY000",
                format!(
                    "Column '{}' cannot be NOT NULL: needed in a foreign key constraint '{}' SET NULL",
                    child.columns[p].name, fk.name
                ),
            ));
        }
    }
    Ok(positions)
}

/// A foreign key of `child` against its `parent`.
fn check_pair(child: &TableDef, fk: &ForeignKeyDef, parent: &TableDef) -> Result<(), SqlError> {
    let positions = check_pair_child(child, fk)?;
    let mut parent_positions = Vec::new();
    for name in &fk.parent_columns {
        parent_positions.push(parent.column(name).ok_or_else(|| {
            SqlError::new(
                3734,
                "HY000",
                format!(
                    "Failed to add the foreign key constraint. Missing column '{name}' for constraint '{}' in the referenced table '{}'",
                    fk.name, parent.name
                ),
            )
        })?);
    }
    for (&c, &p) in positions.iter().zip(&parent_positions) {
        let (c, p) = (&child.columns[c], &parent.columns[p]);
        if !compatible(&c.ty, &p.ty) {
            return Err(SqlError::new(
                3780,
                "HY000",
                format!(
                    "Referencing column '{}' and referenced column '{}' in foreign key constraint '{}' are incompatible.",
                    c.name, p.name, fk.name
                ),
            ));
        }
    }
    if !findable(parent, &parent_positions) {
        return Err(SqlError::new(
            1822,
            "HY000",
            format!(
                "Failed to add the foreign key constraint. Missing index for constraint '{}' in the referenced table '{}'",
                fk.name, parent.name
            ),
        ));
    }
    Ok(())
}

/// Bind each CHECK of `table` as MySQL accepts them, and refuse one that
/// reads a column a foreign key's CASCADE or SET NULL changes (3823).
pub fn validate_checks(
    schema: &InfoSchema,
    db: &str,
    table: &TableDef,
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    if table.checks.is_empty() {
        return Ok(());
    }
    let arc = Arc::new(table.clone());
    let acted_on: Vec<usize> = table
        .foreign_keys
        .iter()
        .filter(|f| {
            f.on_delete != RefAction::NoAction && f.on_delete != RefAction::Restrict
                || f.on_update != RefAction::NoAction && f.on_update != RefAction::Restrict
        })
        .filter_map(|f| f.child_positions(table))
        .flatten()
        .collect();
    for check in &table.checks {
        let name = check.name.clone();
        let sysvar = move |_: &str, _: bool| -> Result<Datum, SqlError> {
            Err(SqlError::new(
                3816,
                "HY000",
                format!(
                    "An expression of a check constraint '{name}' cannot refer to a user or system variable."
                ),
            ))
        };
        let mut p = Planner::new(schema, Some(db), &[], ctx, &sysvar);
        let expr = bind_clause(&mut p, db, &arc, check)?;
        let mut used = Vec::new();
        expr.columns_used(&mut used);
        if let Some(&pos) = used.iter().find(|p| acted_on.contains(p)) {
            return Err(SqlError::new(
                3823,
                "HY000",
                format!(
                    "Column '{}' cannot be used in a check constraint '{}': needed in a foreign key constraint referential action.",
                    table.columns[pos].name, check.name
                ),
            ));
        }
    }
    Ok(())
}

/// The CHECK constraints `added` to `table`, bound for checking
/// rows in DDL (ALTER TABLE ... ADD CHECK checks the rows already there).
pub fn bind_checks(
    schema: &InfoSchema,
    db: &str,
    table: &TableDef,
    added: &[CheckDef],
    ctx: &mut EvalContext<'_>,
) -> Result<Checks, SqlError> {
    let refuse = |_: &str, _: bool| -> Result<Datum, SqlError> {
        Err(error::internal("a CHECK clause read a variable"))
    };
    let arc = Arc::new(table.clone());
    let mut p = Planner::new(schema, Some(db), &[], ctx, &refuse);
    Checks::bind(&mut p, db, &arc, added)
}
