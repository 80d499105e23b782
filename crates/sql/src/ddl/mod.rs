//! DDL statements: CREATE TABLE / INDEX, ALTER TABLE, DROP, RENAME TABLE and
//! TRUNCATE, each one catalog transaction ([`Catalog`]).
//!
//! A change runs in three steps: the new definition is derived from the old
//! one and checked ([`define`], [`alter`]); the rows are reorganised in the
//! same transaction when the change needs it ([`reorg`]: type conversions,
//! backfilling new indexes); after the commit, the key ranges no definition
//! refers to any more (dropped tables and indexes, a truncated table's old
//! id) are removed with the stores' delete-range. Adding or dropping a
//! column touches no row: a row lacking a column reads its origin default,
//! and column ids are never reused, so a dropped column's values are
//! ignored until the row is next written.

mod alter;
mod constraint;
pub(crate) mod define;
mod reorg;

pub use define::table_def;

use crate::catalog::{Catalog, IndexDef, InfoSchema, TableDef};
use crate::error;
use crate::expr::{EvalContext, Level, Warning};
use crate::plan::table_name;
use crate::result::{Output, SqlError};
use crate::temporary::TemporaryTables;
use crate::text_statement::AlterClause;
use kv_client::Transaction;
use sqlparser::ast;

/// What an ALTER TABLE, CREATE INDEX or DROP INDEX ... ON asks of one
/// table: a permanent one's ([`Alteration::run`]) or a temporary one's
/// ([`alter_temporary`]).
pub struct Alteration {
    /// The table's database.
    pub db: String,
    /// The table's name.
    pub table: String,
    ops: Vec<alter::Op>,
}

impl Alteration {
    /// The alteration `statement` asks for, if it is one of those.
    pub fn of(statement: &ast::Statement, current: Option<&str>) -> Result<Option<Self>, SqlError> {
        use ast::Statement as S;
        let (name, ops) = match statement {
            S::CreateIndex(ci) => {
                let op = alter::Op::AddIndex {
                    name: ci.name.as_ref().map(|n| n.to_string()),
                    unique: ci.unique,
                    primary: false,
                    columns: ci.columns.clone(),
                };
                (&ci.table_name, vec![op])
            }
            S::AlterTable(at) => {
                let ops = at
                    .operations
                    .iter()
                    .map(alter::Op::from_ast)
                    .collect::<Result<Vec<_>, _>>()?;
                (&at.name, ops)
            }
            S::Drop {
                object_type: ast::ObjectType::Index,
                names,
                table,
                ..
            } => {
                let on = table.as_ref().ok_or_else(|| error::syntax("", 1))?;
                let ops = names
                    .iter()
                    .map(|n| alter::Op::DropIndex(n.to_string()))
                    .collect();
                (on, ops)
            }
            _ => return Ok(None),
        };
        let (db, table) = table_name(name, current)?;
        Ok(Some(Alteration { db, table, ops }))
    }

    /// ALTER TABLE with the clauses [`crate::text_statement`] recognises.
    pub fn of_text(
        table: &ast::ObjectName,
        clauses: &[AlterClause],
        current: Option<&str>,
    ) -> Result<Self, SqlError> {
        let (db, table) = table_name(table, current)?;
        let ops = clauses
            .iter()
            .map(alter::Op::from_text)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Alteration { db, table, ops })
    }

    /// Alter the permanent table, in one catalog transaction.
    pub async fn run(
        &self,
        catalog: &Catalog,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Output, SqlError> {
        alter::alter_table(catalog, &self.db, &self.table, &self.ops, ctx).await?;
        Ok(affected(0))
    }
}

/// Alter one of the session's temporary tables, writing its reorganised
/// rows in `txn`: the new definition, and the database and name a RENAME
/// moves it to, for [`TemporaryTables::replace`] once `txn` commits.
pub async fn alter_temporary(
    temporary: &TemporaryTables,
    schema: &InfoSchema,
    txn: &mut Transaction,
    alteration: &Alteration,
    ctx: &mut EvalContext<'_>,
) -> Result<(TableDef, Option<(String, String)>), SqlError> {
    let Alteration { db, table, ops } = alteration;
    let old = temporary
        .get(db, table)
        .ok_or_else(|| error::no_such_table(db, table))?;
    let (mut def, to) = alter::altered(old, db, ops, ctx)?;
    if !def.foreign_keys.is_empty() {
        return Err(error::unsupported("FOREIGN KEY on a temporary table"));
    }
    constraint::validate_checks(schema, db, &def, ctx)?;
    if let Some((to_db, name)) = &to {
        if schema.database(to_db).is_none() {
            return Err(error::unknown_database(to_db));
        }
        if !(to_db.eq_ignore_ascii_case(db) && name.eq_ignore_ascii_case(table))
            && temporary.get(to_db, name).is_some()
        {
            return Err(error::table_exists(name));
        }
    }
    temporary.number_indexes(&mut def);
    reorg::reorganize(txn, schema, db, old, &def, ctx).await?;
    Ok((def, to))
}

/// Whether `statement` is one [`execute`] runs.
pub fn is_ddl(statement: &ast::Statement) -> bool {
    use ast::Statement as S;
    matches!(
        statement,
        S::CreateTable(_)
            | S::CreateIndex(_)
            | S::AlterTable(_)
            | S::RenameTable(_)
            | S::Truncate(_)
            | S::Drop { .. }
    )
}

/// Run a DDL statement (one [`is_ddl`] accepts). `ctx` gives the current
/// database, sql_mode and time, and collects the statement's warnings.
pub async fn execute(
    catalog: &Catalog,
    statement: &ast::Statement,
    ctx: &mut EvalContext<'_>,
) -> Result<Output, SqlError> {
    use ast::Statement as S;
    let current = ctx.database.clone();
    let current = current.as_deref();
    if let Some(alteration) = Alteration::of(statement, current)? {
        return alteration.run(catalog, ctx).await;
    }
    match statement {
        S::CreateTable(ct) => {
            // The session makes temporary tables (`Session::temporary_ddl`).
            if ct.temporary {
                return Err(error::unsupported("CREATE TEMPORARY TABLE here"));
            }
            let (db, def) = new_table_def(&catalog.snapshot(), None, ct, ctx)?;
            catalog
                .create_table(&db, def, ct.if_not_exists, |schema, def| {
                    constraint::validate(schema, &db, def, ctx)
                })
                .await?;
        }
        S::RenameTable(renames) => {
            let renames = renames
                .iter()
                .map(|r| {
                    Ok((
                        table_name(&r.old_name, current)?,
                        table_name(&r.new_name, current)?,
                    ))
                })
                .collect::<Result<Vec<_>, SqlError>>()?;
            catalog.rename_tables(&renames).await?;
        }
        S::Truncate(t) => {
            if t.partitions.is_some() || t.identity.is_some() || t.cascade.is_some() {
                return Err(error::unsupported(&t.to_string()));
            }
            if t.table_names.len() != 1 {
                return Err(error::syntax(",", 1));
            }
            for target in &t.table_names {
                let (db, table) = table_name(&target.name, current)?;
                if ctx.foreign_key_checks
                    && let Some(r) =
                        catalog
                            .snapshot()
                            .references_to(&db, &table)
                            .iter()
                            .find(|r| {
                                !r.child.name.eq_ignore_ascii_case(&table)
                                    || !r.child_db.eq_ignore_ascii_case(&db)
                            })
                {
                    return Err(SqlError::new(
                        1701,
                        "42000",
                        format!(
                            "Cannot truncate a table referenced in a foreign key constraint (`{}`.`{}`, {})",
                            r.child_db,
                            r.child.name,
                            r.def().describe(&r.child, &r.child_db)
                        ),
                    ));
                }
                catalog
                    .alter_table(&db, &table, async |_, _, def, job| {
                        def.id = job.take();
                        for index in &mut def.indexes {
                            index.id = job.take();
                        }
                        Ok(None)
                    })
                    .await?;
            }
        }
        // The session drops temporary tables (`Session::temporary_ddl`).
        S::Drop {
            temporary: true, ..
        }
        | S::Drop { purge: true, .. } => return Err(error::unsupported(&statement.to_string())),
        S::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => return drop(catalog, *object_type, *if_exists, names, ctx).await,
        other => return Err(error::unsupported(&other.to_string())),
    }
    Ok(affected(0))
}

/// The definition CREATE [TEMPORARY] TABLE declares, and its database: from
/// its columns and constraints, or copied from the table it is LIKE (which
/// may be one of the session's `temporary` tables).
pub fn new_table_def(
    schema: &InfoSchema,
    temporary: Option<&TemporaryTables>,
    ct: &ast::CreateTable,
    ctx: &mut EvalContext<'_>,
) -> Result<(String, TableDef), SqlError> {
    refuse_create_table_clauses(ct)?;
    let (db, name) = table_name(&ct.name, ctx.database.as_deref())?;
    let Some(like) = ct.like.as_ref() else {
        let database = schema
            .database(&db)
            .ok_or_else(|| error::unknown_database(&db))?;
        let def = table_def(database, &name, ct, ctx)?;
        return Ok((db, def));
    };
    let source = match like {
        ast::CreateTableLikeKind::Parenthesized(l) | ast::CreateTableLikeKind::Plain(l) => &l.name,
    };
    let (source_db, source) = table_name(source, ctx.database.as_deref())?;
    let mut def = TableDef::clone(
        temporary
            .and_then(|t| t.get(&source_db, &source))
            .or_else(|| schema.table(&source_db, &source))
            .ok_or_else(|| error::no_such_table(&source_db, &source))?,
    );
    // As MySQL: foreign keys are not copied; CHECK constraints are, under
    // names of the new table.
    def.name = name;
    def.foreign_keys.clear();
    for check in std::mem::take(&mut def.checks) {
        let clause = constraint::reparse(&check)?;
        constraint::add_check(&mut def, None, &clause)?;
    }
    Ok((db, def))
}

/// The definition of a CREATE TEMPORARY TABLE: as a permanent one, without
/// foreign keys (InnoDB has none on temporary tables); its CHECK clauses
/// are checked, but their names need not be unique in the database.
pub fn temporary_table_def(
    schema: &InfoSchema,
    temporary: &TemporaryTables,
    ct: &ast::CreateTable,
    ctx: &mut EvalContext<'_>,
) -> Result<(String, TableDef), SqlError> {
    let (db, def) = new_table_def(schema, Some(temporary), ct, ctx)?;
    if !def.foreign_keys.is_empty() {
        return Err(error::unsupported("FOREIGN KEY on a temporary table"));
    }
    if schema.database(&db).is_none() {
        return Err(error::unknown_database(&db));
    }
    constraint::validate_checks(schema, &db, &def, ctx)?;
    Ok((db, def))
}

/// Refuse what CREATE TABLE would otherwise drop: OR REPLACE, PARTITION
/// BY, AS SELECT (not done yet), and other dialects' clauses.
pub(crate) fn refuse_create_table_clauses(ct: &ast::CreateTable) -> Result<(), SqlError> {
    if ct.or_replace
        || ct.external
        || ct.global.is_some()
        || ct.transient
        || ct.volatile
        || ct.iceberg
        || ct.clone.is_some()
        || ct.version.is_some()
        || ct.partition_by.is_some()
        || ct.cluster_by.is_some()
        || ct.clustered_by.is_some()
        || ct.order_by.is_some()
        || ct.primary_key.is_some()
        || ct.inherits.is_some()
        || ct.partition_of.is_some()
        || ct.on_commit.is_some()
        || ct.location.is_some()
        || ct.file_format.is_some()
    {
        return Err(error::unsupported(&ct.to_string()));
    }
    Ok(())
}

fn affected(rows: u64) -> Output {
    Output::Affected {
        rows,
        last_insert_id: 0,
        info: String::new(),
    }
}

/// DROP DATABASE / TABLE (DROP INDEX is an [`Alteration`]).
async fn drop(
    catalog: &Catalog,
    kind: ast::ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
    ctx: &mut EvalContext<'_>,
) -> Result<Output, SqlError> {
    let current = ctx.database.clone();
    let current = current.as_deref();
    match kind {
        ast::ObjectType::Database | ast::ObjectType::Schema => {
            let mut rows = 0;
            let schema = catalog.snapshot();
            let names = names
                .iter()
                .map(crate::plan::database_name)
                .collect::<Result<Vec<_>, _>>()?;
            for name in &names {
                let tables: Vec<(String, String)> = schema
                    .tables(name)
                    .into_iter()
                    .map(|t| (name.clone(), t.name.clone()))
                    .collect();
                if ctx.foreign_key_checks {
                    refuse_dropping_parents(&schema, &tables)?;
                }
            }
            for name in names {
                if catalog.drop_database(&name, if_exists).await? {
                    rows += 1;
                } else {
                    let e = error::cannot_drop_missing_database(&name);
                    ctx.warnings.push(Warning {
                        level: Level::Note,
                        code: e.code,
                        message: e.message,
                    });
                }
            }
            Ok(affected(rows))
        }
        ast::ObjectType::Table => {
            // As MySQL 8 (atomic DDL): one missing table and nothing is
            // dropped, unless IF EXISTS.
            let mut tables = Vec::new();
            let mut missing = Vec::new();
            for name in names {
                let (db, table) = table_name(name, current)?;
                match catalog.snapshot().table(&db, &table) {
                    Some(_) => tables.push((db, table)),
                    None => missing.push(format!("{db}.{table}")),
                }
            }
            if !missing.is_empty() && !if_exists {
                return Err(error::unknown_table(&missing.join(",")));
            }
            if ctx.foreign_key_checks {
                refuse_dropping_parents(&catalog.snapshot(), &tables)?;
            }
            for (db, table) in tables {
                catalog.drop_table(&db, &table).await?;
            }
            ctx.warnings.extend(missing.into_iter().map(|m| Warning {
                level: Level::Note,
                code: 1051,
                message: format!("Unknown table '{m}'"),
            }));
            Ok(affected(0))
        }
        other => Err(error::unsupported(&format!("DROP {other}"))),
    }
}

/// 3730 if a table of `tables` is the parent of a foreign key of a table
/// that stays.
fn refuse_dropping_parents(
    schema: &crate::catalog::InfoSchema,
    tables: &[(String, String)],
) -> Result<(), SqlError> {
    let dropped = |db: &str, name: &str| {
        tables
            .iter()
            .any(|(d, t)| d.eq_ignore_ascii_case(db) && t.eq_ignore_ascii_case(name))
    };
    for (db, table) in tables {
        if let Some(r) = schema
            .references_to(db, table)
            .iter()
            .find(|r| !dropped(&r.child_db, &r.child.name))
        {
            return Err(SqlError::new(
                3730,
                "HY000",
                format!(
                    "Cannot drop table '{table}' referenced by a foreign key constraint '{}' on table '{}'.",
                    r.def().name,
                    r.child.name
                ),
            ));
        }
    }
    Ok(())
}

/// The new index a declaration adds to `table`, named as MySQL names it
/// (its first column's name when unnamed) and checked.
fn new_index(
    table: &TableDef,
    name: Option<String>,
    unique: bool,
    primary: bool,
    columns: Vec<(usize, Option<u32>)>,
) -> Result<IndexDef, SqlError> {
    let name = match (primary, name) {
        (true, _) => "PRIMARY".to_string(),
        (false, Some(name)) => {
            if name.eq_ignore_ascii_case("PRIMARY") || table.index(&name).is_some() {
                return Err(SqlError::new(
                    1061,
                    "42000",
                    format!("Duplicate key name '{name}'"),
                ));
            }
            name
        }
        (false, None) => define::index_name(&table.columns[columns[0].0].name, &table.indexes),
    };
    if primary && table.indexes.iter().any(|i| i.primary) {
        return Err(SqlError::new(1068, "42000", "Multiple primary key defined"));
    }
    let index = IndexDef {
        id: 0,
        name,
        columns,
        unique: unique || primary,
        primary,
        comment: String::new(),
    };
    define::check_index_columns(table, &index)?;
    Ok(index)
}
