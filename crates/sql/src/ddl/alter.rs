//! ALTER TABLE (and CREATE / DROP INDEX, which are ALTERs of one
//! operation): the operations applied in order to a draft of the table, the
//! result checked as a whole, then the rows reorganised as far as needed.

use super::{constraint, define, new_index, reorg};
use crate::catalog::{Catalog, ColumnDef, IndexDef, TableDef};
use crate::dml::value_for_existing_rows;
use crate::error;
use crate::expr::EvalContext;
use crate::plan::table_name;
use crate::result::SqlError;
use crate::table::encode_origin_default;
use crate::text_statement::AlterClause;
use crate::types::{Collation, SqlType, TypeKind};
use codec::Datum;
use sqlparser::ast;

/// One alteration.
pub enum Op {
    /// ADD [COLUMN] [IF NOT EXISTS] def [FIRST | AFTER c].
    AddColumn {
        def: ast::ColumnDef,
        position: Option<ast::MySQLColumnPosition>,
        if_not_exists: bool,
    },
    /// DROP [COLUMN] [IF EXISTS] c.
    DropColumn { name: String, if_exists: bool },
    /// CHANGE old def / MODIFY def (then `old` is the def's name).
    ChangeColumn {
        old: String,
        def: ast::ColumnDef,
        position: Option<ast::MySQLColumnPosition>,
    },
    /// RENAME COLUMN old TO new.
    RenameColumn { old: String, new: String },
    /// ALTER [COLUMN] c {SET DEFAULT e | DROP DEFAULT}.
    SetDefault {
        column: String,
        default: Option<ast::Expr>,
    },
    /// ADD {INDEX | KEY | UNIQUE | PRIMARY KEY} ...
    AddIndex {
        name: Option<String>,
        unique: bool,
        primary: bool,
        columns: Vec<ast::IndexColumn>,
    },
    /// DROP {INDEX | KEY} name / DROP PRIMARY KEY.
    DropIndex(String),
    /// RENAME [TO | AS] [db.]name.
    Rename(ast::ObjectName),
    /// AUTO_INCREMENT = n.
    AutoIncrement(u64),
    /// RENAME {INDEX | KEY} from TO to.
    RenameIndex { from: String, to: String },
    /// COMMENT = 'text'.
    Comment(String),
    /// ADD [CONSTRAINT [name]] FOREIGN KEY ...
    AddForeignKey(ast::ForeignKeyConstraint),
    /// ADD [CONSTRAINT [name]] CHECK (...)
    AddCheck(ast::CheckConstraint),
    /// DROP FOREIGN KEY name.
    DropForeignKey(String),
    /// DROP CHECK name.
    DropCheck(String),
    /// DROP CONSTRAINT name: a CHECK, FOREIGN KEY or UNIQUE of that name.
    DropConstraint(String),
    /// ALTER CHECK name [NOT] ENFORCED.
    EnforceCheck { name: String, enforced: bool },
    /// [DEFAULT] {CHARACTER SET | COLLATE} = x: the collation of text
    /// columns added later.
    TableCollation(Collation),
    /// CONVERT TO CHARACTER SET cs [COLLATE x], when every text column
    /// already is in that collation.
    ConvertTo(Collation),
    /// Accepted and without effect: ALGORITHM, LOCK.
    Nothing,
}

impl Op {
    /// The operation a clause recognised by [`crate::text_statement`] asks for.
    pub fn from_text(clause: &AlterClause) -> Result<Op, SqlError> {
        Ok(match clause {
            AlterClause::Comment(c) => Op::Comment(c.clone()),
            AlterClause::RenameIndex { from, to } => Op::RenameIndex {
                from: from.clone(),
                to: to.clone(),
            },
            AlterClause::DropIndex(name) => Op::DropIndex(name.clone()),
            AlterClause::DropCheck(name) => Op::DropCheck(name.clone()),
            AlterClause::EnforceCheck { name, enforced } => Op::EnforceCheck {
                name: name.clone(),
                enforced: *enforced,
            },
            AlterClause::TableOption { key, value } if define::table_charset_key(key).is_some() => {
                let collates = define::table_charset_key(key) == Some(true);
                let (charset, collation) = match collates {
                    true => (None, Some(value.as_str())),
                    false => (Some(value.as_str()), None),
                };
                Op::TableCollation(
                    define::charset_collation(charset, collation)?.unwrap_or_default(),
                )
            }
            AlterClause::TableOption { key, value } => {
                crate::ddl::define::check_table_option(key, value)?;
                Op::Nothing
            }
            AlterClause::ConvertTo { charset, collation } => Op::ConvertTo(
                define::charset_collation(Some(charset), collation.as_deref())?.unwrap_or_default(),
            ),
        })
    }

    /// The operation an ALTER TABLE clause asks for.
    pub fn from_ast(op: &ast::AlterTableOperation) -> Result<Op, SqlError> {
        use ast::AlterTableOperation as A;
        let column =
            |name: &ast::Ident, data_type: &ast::DataType, options: &[ast::ColumnOption]| {
                ast::ColumnDef {
                    name: name.clone(),
                    data_type: data_type.clone(),
                    options: options
                        .iter()
                        .map(|option| ast::ColumnOptionDef {
                            name: None,
                            option: option.clone(),
                        })
                        .collect(),
                }
            };
        Ok(match op {
            A::AddColumn {
                column_def,
                column_position,
                if_not_exists,
                ..
            } => Op::AddColumn {
                def: column_def.clone(),
                position: column_position.clone(),
                if_not_exists: *if_not_exists,
            },
            A::DropColumn {
                column_names,
                if_exists,
                ..
            } => match column_names.as_slice() {
                [name] => Op::DropColumn {
                    name: name.value.clone(),
                    if_exists: *if_exists,
                },
                _ => return Err(error::syntax(&op.to_string(), 1)),
            },
            A::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                column_position,
            } => Op::ChangeColumn {
                old: old_name.value.clone(),
                def: column(new_name, data_type, options),
                position: column_position.clone(),
            },
            A::ModifyColumn {
                col_name,
                data_type,
                options,
                column_position,
            } => Op::ChangeColumn {
                old: col_name.value.clone(),
                def: column(col_name, data_type, options),
                position: column_position.clone(),
            },
            A::RenameColumn {
                old_column_name,
                new_column_name,
            } => Op::RenameColumn {
                old: old_column_name.value.clone(),
                new: new_column_name.value.clone(),
            },
            A::AlterColumn { column_name, op } => Op::SetDefault {
                column: column_name.value.clone(),
                default: match op {
                    ast::AlterColumnOperation::SetDefault { value } => Some(value.clone()),
                    ast::AlterColumnOperation::DropDefault => None,
                    other => return Err(error::unsupported(&format!("ALTER COLUMN {other}"))),
                },
            },
            A::AddConstraint { constraint, .. } => match constraint {
                ast::TableConstraint::PrimaryKey(p) => Op::AddIndex {
                    name: None,
                    unique: true,
                    primary: true,
                    columns: p.columns.clone(),
                },
                ast::TableConstraint::Unique(u) => Op::AddIndex {
                    name: u
                        .name
                        .as_ref()
                        .or(u.index_name.as_ref())
                        .map(|n| n.value.clone()),
                    unique: true,
                    primary: false,
                    columns: u.columns.clone(),
                },
                ast::TableConstraint::Index(ix) => Op::AddIndex {
                    name: ix.name.as_ref().map(|n| n.value.clone()),
                    unique: false,
                    primary: false,
                    columns: ix.columns.clone(),
                },
                ast::TableConstraint::ForeignKey(fk) => Op::AddForeignKey(fk.clone()),
                ast::TableConstraint::Check(check) => Op::AddCheck(check.clone()),
                other => return Err(error::unsupported(&format!("ADD {other}"))),
            },
            A::DropIndex { name } => Op::DropIndex(name.value.clone()),
            A::DropPrimaryKey { .. } => Op::DropIndex("PRIMARY".into()),
            A::RenameTable { table_name } => match table_name {
                ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => {
                    Op::Rename(n.clone())
                }
            },
            A::AutoIncrement { value, .. } => Op::AutoIncrement(
                value
                    .value
                    .to_string()
                    .parse()
                    .map_err(|_| error::syntax(&value.to_string(), 1))?,
            ),
            A::Algorithm { .. } | A::Lock { .. } => Op::Nothing,
            A::DropForeignKey { name, .. } => Op::DropForeignKey(name.value.clone()),
            A::DropConstraint {
                name,
                if_exists: false,
                drop_behavior: None,
            } => Op::DropConstraint(name.value.clone()),
            other => return Err(error::unsupported(&format!("ALTER TABLE {other}"))),
        })
    }
}

/// Apply `ops` to table `db.table` in one catalog transaction.
pub async fn alter_table(
    catalog: &Catalog,
    db: &str,
    table: &str,
    ops: &[Op],
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    catalog
        .alter_table(db, table, async |txn, schema, def, job| {
            let old = def.clone();
            let to;
            (*def, to) = altered(&old, db, ops, ctx)?;
            constraint::validate(schema, db, def, ctx)?;
            for index in def.indexes.iter_mut().filter(|i| i.id == 0) {
                index.id = job.take();
            }
            reorg::reorganize(txn, schema, db, &old, def, ctx).await?;
            Ok(to.map(|(to_db, name)| {
                def.name = name;
                to_db
            }))
        })
        .await
}

/// `old` (of database `db`) with `ops` applied and checked (new or rebuilt
/// indexes have id 0), and the database and name a RENAME among them moves it to.
pub fn altered(
    old: &TableDef,
    db: &str,
    ops: &[Op],
    ctx: &mut EvalContext<'_>,
) -> Result<(TableDef, Option<(String, String)>), SqlError> {
    let mut draft = Draft::new(old.clone());
    let mut to = None;
    for op in ops {
        match op {
            Op::Rename(name) => to = Some(table_name(name, ctx.database.as_deref())?),
            op => draft.apply(op, db, ctx)?,
        }
    }
    let def = draft.finish(old)?;
    if def
        .columns
        .iter()
        .any(|c| c.auto_increment && !old.columns.iter().any(|o| o.id == c.id))
    {
        // Existing rows would need numbering.
        return Err(error::unsupported("ADD COLUMN ... AUTO_INCREMENT"));
    }
    Ok((def, to))
}

/// A table definition being altered. Index columns are held as column ids
/// while columns move, and turned back into positions at the end.
struct Draft {
    table: TableDef,
    /// Per index of `table.indexes`: its columns' ids and prefix lengths.
    index_columns: Vec<Vec<(i64, Option<u32>)>>,
    /// The id of the column whose value is the row handle.
    handle: Option<i64>,
}

impl Draft {
    fn new(table: TableDef) -> Self {
        let ids = |index: &IndexDef| {
            index
                .columns
                .iter()
                .map(|&(pos, prefix)| (table.columns[pos].id, prefix))
                .collect()
        };
        Draft {
            index_columns: table.indexes.iter().map(ids).collect(),
            handle: table.handle_column.map(|pos| table.columns[pos].id),
            table,
        }
    }

    /// The position of a column, or 1054.
    fn column(&self, name: &str) -> Result<usize, SqlError> {
        self.table
            .column(name)
            .ok_or_else(|| error::unknown_column(name, &self.table.name))
    }

    /// The position a column goes to (`None`: `default`).
    fn position(
        &self,
        position: &Option<ast::MySQLColumnPosition>,
        default: usize,
    ) -> Result<usize, SqlError> {
        Ok(match position {
            None => default,
            Some(ast::MySQLColumnPosition::First) => 0,
            Some(ast::MySQLColumnPosition::After(c)) => self.column(&c.value)? + 1,
        })
    }

    fn refuse_duplicate_column(&self, name: &str, except: Option<usize>) -> Result<(), SqlError> {
        match self.table.column(name) {
            Some(pos) if Some(pos) != except => Err(SqlError::new(
                1060,
                "42S21",
                format!("Duplicate column name '{name}'"),
            )),
            _ => Ok(()),
        }
    }

    fn apply(&mut self, op: &Op, db: &str, ctx: &mut EvalContext<'_>) -> Result<(), SqlError> {
        match op {
            Op::AddColumn {
                def,
                position,
                if_not_exists,
            } => {
                if *if_not_exists && self.table.column(&def.name.value).is_some() {
                    return Ok(());
                }
                self.refuse_duplicate_column(&def.name.value, None)?;
                let (mut col, primary, unique) =
                    define::column_def(self.table.next_column_id, def, self.table.collation, ctx)?;
                self.table.next_column_id += 1;
                let origin = value_for_existing_rows(&col, ctx)?;
                if origin != Datum::Null {
                    col.origin_default = Some(encode_origin_default(&col, &origin)?);
                }
                let at = self.position(position, self.table.columns.len())?;
                self.table.columns.insert(at, col);
                for check in define::column_checks(&mut self.table, def)? {
                    constraint::refuse_other_columns(&self.table, &check, &def.name.value)?;
                }
                self.column_keys(at, primary, unique)
            }
            Op::DropColumn { name, if_exists } => {
                let Some(pos) = self.table.column(name) else {
                    return match if_exists {
                        true => Ok(()),
                        false => Err(cannot_drop(name)),
                    };
                };
                if self.table.columns.len() == 1 {
                    return Err(SqlError::new(
                        1090,
                        "42000",
                        "You can't delete all columns with ALTER TABLE; use DROP TABLE instead",
                    ));
                }
                let id = self.table.columns[pos].id;
                if self.handle == Some(id) {
                    return Err(error::unsupported(
                        "dropping the clustered primary key column",
                    ));
                }
                constraint::release_column(&mut self.table, name, true)?;
                self.table.columns.remove(pos);
                // Dropping a column takes it out of its indexes; an index of
                // that column alone goes.
                for parts in &mut self.index_columns {
                    parts.retain(|&(c, _)| c != id);
                }
                let mut i = 0;
                while i < self.table.indexes.len() {
                    if self.index_columns[i].is_empty() {
                        self.table.indexes.remove(i);
                        self.index_columns.remove(i);
                    } else {
                        i += 1;
                    }
                }
                Ok(())
            }
            Op::ChangeColumn { old, def, position } => {
                let pos = self.column(old)?;
                self.refuse_duplicate_column(&def.name.value, Some(pos))?;
                if !old.eq_ignore_ascii_case(&def.name.value) {
                    constraint::release_column(&mut self.table, old, false)?;
                }
                let before = self.table.columns.remove(pos);
                let (mut col, primary, unique) =
                    define::column_def(before.id, def, self.table.collation, ctx)?;
                col.origin_default = before.origin_default;
                if self.handle == Some(col.id) {
                    if !col.ty.is_integer() {
                        return Err(error::unsupported(
                            "changing the clustered primary key column to a non-integer type",
                        ));
                    }
                    col.nullable = false;
                }
                let at = self.position(position, pos)?;
                self.table.columns.insert(at, col);
                for check in define::column_checks(&mut self.table, def)? {
                    constraint::refuse_other_columns(&self.table, &check, &def.name.value)?;
                }
                self.column_keys(at, primary, unique)
            }
            Op::RenameColumn { old, new } => {
                let pos = self.column(old)?;
                self.refuse_duplicate_column(new, Some(pos))?;
                if !old.eq_ignore_ascii_case(new) {
                    constraint::release_column(&mut self.table, old, false)?;
                }
                self.table.columns[pos].name = new.clone();
                Ok(())
            }
            Op::SetDefault { column, default } => {
                let pos = self.column(column)?;
                define::set_default(&mut self.table.columns[pos], default.as_ref(), ctx)
            }
            Op::AddIndex {
                name,
                unique,
                primary,
                columns,
            } => {
                let columns = define::index_columns(&self.table.columns, columns)?;
                self.add_index(name.clone(), *unique, *primary, columns)
            }
            Op::DropIndex(name) => self.drop_index(name),
            Op::AutoIncrement(n) => {
                self.table.auto_increment_start = *n;
                Ok(())
            }
            Op::Comment(c) => {
                self.table.comment = c.clone();
                Ok(())
            }
            Op::TableCollation(c) => {
                self.table.collation = *c;
                Ok(())
            }
            // Converting the text of existing rows is not done yet: only a
            // conversion with nothing to convert is taken.
            Op::ConvertTo(c) => {
                let texts = self.table.columns.iter().map(|col| &col.ty);
                if let Some(other) = texts
                    .filter(|ty| ty.is_string() && ty.collation != Collation::Binary)
                    .find(|ty| ty.collation != *c && ty.kind != TypeKind::Json)
                {
                    return Err(error::unsupported(&format!(
                        "CONVERT TO CHARACTER SET of {} columns to {}",
                        other.collation.name(),
                        c.name()
                    )));
                }
                self.table.collation = *c;
                Ok(())
            }
            Op::RenameIndex { from, to } => {
                let at = self
                    .table
                    .indexes
                    .iter()
                    .position(|i| i.name.eq_ignore_ascii_case(from))
                    .ok_or_else(|| {
                        SqlError::new(
                            1176,
                            "42000",
                            format!("Key '{from}' doesn't exist in table '{}'", self.table.name),
                        )
                    })?;
                if self.table.indexes[at].primary || to.eq_ignore_ascii_case("PRIMARY") {
                    return Err(SqlError::new(
                        1280,
                        "42000",
                        format!("Incorrect index name '{to}'"),
                    ));
                }
                if !from.eq_ignore_ascii_case(to) && self.table.index(to).is_some() {
                    return Err(SqlError::new(
                        1061,
                        "42000",
                        format!("Duplicate key name '{to}'"),
                    ));
                }
                self.table.indexes[at].name = to.clone();
                Ok(())
            }
            Op::AddForeignKey(fk) => {
                if let Some((name, columns)) =
                    constraint::add_foreign_key(&mut self.table, fk, Some(db))?
                {
                    let columns = columns.into_iter().map(|p| (p, None)).collect();
                    self.add_index(Some(name), false, false, columns)?;
                }
                Ok(())
            }
            Op::AddCheck(check) => constraint::add_check(&mut self.table, None, check).map(|_| ()),
            Op::DropForeignKey(name) => self.drop_constraint(name, false, true, false),
            Op::DropCheck(name) => self.drop_constraint(name, true, false, false),
            Op::DropConstraint(name) => self.drop_constraint(name, true, true, true),
            Op::EnforceCheck { name, enforced } => {
                let check = self
                    .table
                    .checks
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| check_not_found(name))?;
                check.enforced = *enforced;
                Ok(())
            }
            Op::Rename(_) | Op::Nothing => Ok(()),
        }
    }

    fn drop_index(&mut self, name: &str) -> Result<(), SqlError> {
        let at = self
            .table
            .indexes
            .iter()
            .position(|i| i.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| cannot_drop(name))?;
        if self.table.indexes[at].primary && self.handle.is_some() {
            return Err(error::unsupported(
                "dropping a clustered primary key (the row handle)",
            ));
        }
        self.table.indexes.remove(at);
        self.index_columns.remove(at);
        Ok(())
    }

    /// Drop the constraint `name` among the kinds allowed: a CHECK, a
    /// FOREIGN KEY, a UNIQUE (or PRIMARY) index. Unknown: 3821 for a
    /// CHECK, 1091 otherwise.
    fn drop_constraint(
        &mut self,
        name: &str,
        check: bool,
        foreign_key: bool,
        unique: bool,
    ) -> Result<(), SqlError> {
        let same = |n: &str| n.eq_ignore_ascii_case(name);
        if check && let Some(at) = self.table.checks.iter().position(|c| same(&c.name)) {
            self.table.checks.remove(at);
            return Ok(());
        }
        if foreign_key && let Some(at) = self.table.foreign_keys.iter().position(|f| same(&f.name))
        {
            self.table.foreign_keys.remove(at);
            return Ok(());
        }
        if unique && self.table.indexes.iter().any(|i| i.unique && same(&i.name)) {
            return self.drop_index(name);
        }
        match (check, foreign_key, unique) {
            (true, false, _) => Err(check_not_found(name)),
            (true, true, true) => Err(SqlError::new(
                3940,
                "HY000",
                format!("Constraint '{name}' does not exist."),
            )),
            _ => Err(cannot_drop(name)),
        }
    }

    /// The indexes a column declaration's PRIMARY KEY / UNIQUE asks for.
    fn column_keys(&mut self, pos: usize, primary: bool, unique: bool) -> Result<(), SqlError> {
        if primary {
            self.add_index(None, true, true, vec![(pos, None)])?;
        }
        if unique {
            self.add_index(None, true, false, vec![(pos, None)])?;
        }
        Ok(())
    }

    fn add_index(
        &mut self,
        name: Option<String>,
        unique: bool,
        primary: bool,
        columns: Vec<(usize, Option<u32>)>,
    ) -> Result<(), SqlError> {
        let index = new_index(&self.table, name, unique, primary, columns)?;
        if primary {
            // Primary key columns are NOT NULL (existing NULLs are refused
            // when the rows are checked). A primary key added later is not
            // clustered: the rows keep their handles, as in TiDB.
            for &(pos, _) in &index.columns {
                self.table.columns[pos].nullable = false;
            }
        }
        self.index_columns.push(
            index
                .columns
                .iter()
                .map(|&(pos, prefix)| (self.table.columns[pos].id, prefix))
                .collect(),
        );
        self.table.indexes.push(index);
        Ok(())
    }

    /// The altered definition, checked, its indexes in MySQL's order. An
    /// index whose columns or their types changed gets id 0: it is rebuilt
    /// under a new id.
    fn finish(mut self, old: &TableDef) -> Result<TableDef, SqlError> {
        let table = &mut self.table;
        let position = |id: i64| table.columns.iter().position(|c| c.id == id);
        for (index, parts) in table.indexes.iter_mut().zip(&self.index_columns) {
            index.columns = parts
                .iter()
                .map(|&(id, prefix)| {
                    Ok((
                        position(id).ok_or_else(|| error::internal("index column"))?,
                        prefix,
                    ))
                })
                .collect::<Result<_, SqlError>>()?;
        }
        table.handle_column = self.handle.and_then(position);
        for index in &table.indexes {
            define::check_index_columns(table, index)?;
        }
        define::check_auto_increment(table)?;
        for (index, parts) in table.indexes.iter_mut().zip(&self.index_columns) {
            let kept =
                old.indexes
                    .iter()
                    .find(|i| i.id == index.id)
                    .is_some_and(|before| {
                        let before_parts: Vec<(i64, Option<u32>)> = before
                            .columns
                            .iter()
                            .map(|&(pos, prefix)| (old.columns[pos].id, prefix))
                            .collect();
                        before_parts == *parts && parts.iter().all(|&(id, _)| {
                            let new = table.columns.iter().find(|c| c.id == id);
                            let was = old.columns.iter().find(|c| c.id == id);
                            matches!((was, new), (Some(a), Some(b)) if same_storage(&a.ty, &b.ty))
                        })
                    });
            if !kept {
                index.id = 0;
            }
        }
        define::sort_indexes(table);
        Ok(self.table)
    }
}

fn check_not_found(name: &str) -> SqlError {
    SqlError::new(
        3821,
        "HY000",
        format!("Check constraint '{name}' is not found in the table."),
    )
}

fn cannot_drop(name: &str) -> SqlError {
    SqlError::new(
        1091,
        "42000",
        format!("Can't DROP '{name}'; check that column/key exists"),
    )
}

/// Whether values stored for type `old` are already values of type `new`
/// (same type, or a string, number or decimal grown wider), so rows need no
/// conversion.
pub fn same_storage(old: &SqlType, new: &SqlType) -> bool {
    old == new
        || (old.kind == new.kind
            && old.unsigned == new.unsigned
            && old.scale == new.scale
            && old.collation == new.collation
            && old.members == new.members
            && new.length >= old.length
            && old.kind != TypeKind::Binary)
}

/// The columns of `new` whose stored values must be converted or checked
/// (type changed, or NULL now refused), by position.
pub fn columns_to_convert(old: &TableDef, new: &TableDef) -> Vec<usize> {
    new.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            old.columns
                .iter()
                .find(|o| o.id == c.id)
                .is_some_and(|o: &ColumnDef| {
                    !same_storage(&o.ty, &c.ty) || (o.nullable && !c.nullable)
                })
        })
        .map(|(pos, _)| pos)
        .collect()
}
