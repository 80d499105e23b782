//! The catalog: databases, tables, columns and indexes.
//!
//! Definitions are stored in the key-value store itself, under meta keys
//! (`codec::table::Key::Meta`), and changed transactionally like any data:
//!
//! | meta key | field | value |
//! |---|---|---|
//! | `NextID` | | next id for databases, tables, indexes (u64) |
//! | `SchemaVersion` | | bumped by every DDL (u64) |
//! | `DBs` | database id | [`DatabaseDef`] as JSON |
//! | `DB:{id}` | table id | [`TableDef`] as JSON |
//! | `AutoID` | table id | next AUTO_INCREMENT / row id base (u64) |
//! | `DeleteRanges` | job id | key range a committed DDL left dead, until removed |
//!
//! Sessions read an immutable [`InfoSchema`] snapshot shared by `Arc` and
//! swapped atomically after each DDL (DESIGN §6, rule 1 of §7: opening a
//! table is reading an `Arc`, not taking a lock).

mod store;

pub use store::{Catalog, DdlJob};

use crate::types::{Collation, SqlType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// A database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseDef {
    /// Its id.
    pub id: i64,
    /// Its name, as created.
    pub name: String,
    /// The default collation of its tables.
    #[serde(default)]
    pub collation: Collation,
}

/// How a column gets a value when an INSERT names none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefaultValue {
    /// NULL.
    Null,
    /// A constant, kept as the text MySQL would show in SHOW CREATE TABLE
    /// and converted to the column's type on use.
    Literal(String),
    /// CURRENT_TIMESTAMP(fsp).
    CurrentTimestamp,
}

/// A column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Id used in row values; never reused within a table.
    pub id: i64,
    /// Name, as created.
    pub name: String,
    /// Declared type.
    pub ty: SqlType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default, if any (`None`: no default, an INSERT must name it in
    /// strict mode unless nullable).
    pub default: Option<DefaultValue>,
    /// AUTO_INCREMENT.
    pub auto_increment: bool,
    /// ON UPDATE CURRENT_TIMESTAMP.
    pub on_update_now: bool,
    /// COMMENT.
    pub comment: String,
    /// The value rows written before the column existed hold (`ALTER TABLE
    /// ADD COLUMN` is instant: it rewrites no row), encoded as a one-column
    /// row ([`crate::table::origin_default`]); `None` is NULL.
    #[serde(default)]
    pub origin_default: Option<Vec<u8>>,
}

/// An index (the primary key included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    /// Id used in index keys.
    pub id: i64,
    /// Name (`PRIMARY` for the primary key).
    pub name: String,
    /// Column positions in [`TableDef::columns`] order, with an optional
    /// prefix length in characters.
    pub columns: Vec<(usize, Option<u32>)>,
    /// UNIQUE (or PRIMARY).
    pub unique: bool,
    /// The primary key.
    pub primary: bool,
    /// COMMENT.
    pub comment: String,
}

/// A table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDef {
    /// Id used in row and index keys.
    pub id: i64,
    /// Name, as created.
    pub name: String,
    /// Columns in declaration order.
    pub columns: Vec<ColumnDef>,
    /// Indexes, the primary key first when there is one.
    pub indexes: Vec<IndexDef>,
    /// The column whose integer value is the row handle (a single-column
    /// integer primary key, clustered as in TiDB); otherwise rows get a
    /// hidden row id and the primary key is an ordinary unique index.
    pub handle_column: Option<usize>,
    /// Next column id to hand out.
    pub next_column_id: i64,
    /// COMMENT.
    pub comment: String,
    /// The AUTO_INCREMENT start value given at CREATE.
    pub auto_increment_start: u64,
    /// The default collation of its text columns: those added later
    /// without one take it too.
    #[serde(default)]
    pub collation: Collation,
    /// CHECK constraints, in declaration order.
    #[serde(default)]
    pub checks: Vec<CheckDef>,
    /// FOREIGN KEY constraints this table (the child) declares.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKeyDef>,
}

/// A CHECK constraint (MySQL 8.0.16+): a row whose expression is FALSE
/// (not NULL) is refused with 3819.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDef {
    /// Its name, unique in the database (`<table>_chk_<n>` when not given).
    pub name: String,
    /// The expression as SQL text, bound against the row at each write:
    /// it names columns, so it survives their moves.
    pub clause: String,
    /// NOT ENFORCED constraints are kept and shown, not checked.
    pub enforced: bool,
}

/// What happens to referencing rows when their parent row goes or its key
/// changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefAction {
    /// Refuse (1451), checked at once as InnoDB does. The default.
    #[default]
    NoAction,
    /// Refuse (1451).
    Restrict,
    /// Delete the children, or give them the new key.
    Cascade,
    /// Set the children's referencing columns to NULL.
    SetNull,
}

impl RefAction {
    /// The rule as MySQL names it (`REFERENTIAL_CONSTRAINTS`, SHOW CREATE).
    pub fn name(self) -> &'static str {
        match self {
            RefAction::NoAction => "NO ACTION",
            RefAction::Restrict => "RESTRICT",
            RefAction::Cascade => "CASCADE",
            RefAction::SetNull => "SET NULL",
        }
    }
}

/// A FOREIGN KEY constraint, kept by the child table. The parent is named,
/// not numbered: with `foreign_key_checks = 0` it may be created later (as
/// mysqldump restores do).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKeyDef {
    /// Its name, unique in the database (`<table>_ibfk_<n>` when not given).
    pub name: String,
    /// The child's referencing columns, by column id (ids survive column
    /// moves and renames).
    pub columns: Vec<i64>,
    /// The parent's database.
    pub parent_db: String,
    /// The parent table's name.
    pub parent_table: String,
    /// The parent's referenced columns, by name.
    pub parent_columns: Vec<String>,
    /// ON DELETE.
    pub on_delete: RefAction,
    /// ON UPDATE.
    pub on_update: RefAction,
}

impl ForeignKeyDef {
    /// The positions of the referencing columns in `child`.
    pub fn child_positions(&self, child: &TableDef) -> Option<Vec<usize>> {
        self.columns
            .iter()
            .map(|id| child.columns.iter().position(|c| c.id == *id))
            .collect()
    }

    /// Name the parent's columns as `after` (the parent changed) names
    /// them: a column renamed since `before` keeps its place in the key.
    pub fn follow_columns(&mut self, before: &TableDef, after: &TableDef) {
        for name in &mut self.parent_columns {
            let renamed = before
                .column(name)
                .map(|p| before.columns[p].id)
                .and_then(|id| after.columns.iter().find(|c| c.id == id));
            if let Some(column) = renamed {
                *name = column.name.clone();
            }
        }
    }

    /// The constraint as SHOW CREATE TABLE and error messages print it:
    /// `CONSTRAINT ... FOREIGN KEY (...) REFERENCES ... (...) [ON ...]`,
    /// the parent qualified when it is in another database than `child_db`.
    pub fn describe(&self, child: &TableDef, child_db: &str) -> String {
        let quote = |s: &str| format!("`{}`", s.replace('`', "``"));
        let list =
            |names: &mut dyn Iterator<Item = &str>| names.map(quote).collect::<Vec<_>>().join(", ");
        let columns = list(&mut self.columns.iter().map(|id| {
            child
                .columns
                .iter()
                .find(|c| c.id == *id)
                .map_or("?", |c| c.name.as_str())
        }));
        let parent = if self.parent_db.eq_ignore_ascii_case(child_db) {
            quote(&self.parent_table)
        } else {
            format!("{}.{}", quote(&self.parent_db), quote(&self.parent_table))
        };
        let mut text = format!(
            "CONSTRAINT {} FOREIGN KEY ({columns}) REFERENCES {parent} ({})",
            quote(&self.name),
            list(&mut self.parent_columns.iter().map(String::as_str))
        );
        for (verb, action) in [("DELETE", self.on_delete), ("UPDATE", self.on_update)] {
            if action != RefAction::NoAction {
                text.push_str(&format!(" ON {verb} {}", action.name()));
            }
        }
        text
    }

    /// The positions of the referenced columns in `parent`.
    pub fn parent_positions(&self, parent: &TableDef) -> Option<Vec<usize>> {
        self.parent_columns
            .iter()
            .map(|c| parent.column(c))
            .collect()
    }
}

impl TableDef {
    /// A table of no column yet, its ids to be assigned by the catalog.
    pub fn empty(name: &str, collation: Collation) -> Self {
        TableDef {
            id: 0,
            name: name.to_string(),
            columns: Vec::new(),
            indexes: Vec::new(),
            handle_column: None,
            next_column_id: 1,
            comment: String::new(),
            auto_increment_start: 1,
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            collation,
        }
    }

    /// The position of a column by name (case-insensitive, as MySQL).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The AUTO_INCREMENT column, if any.
    pub fn auto_increment_column(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.auto_increment)
    }

    /// Indexes that need entries of their own (all but a clustered primary key).
    pub fn stored_indexes(&self) -> impl Iterator<Item = &IndexDef> {
        let clustered = self.handle_column.is_some();
        self.indexes
            .iter()
            .filter(move |i| !(i.primary && clustered))
    }

    /// The index by name (case-insensitive).
    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
    }
}

/// One version of the whole schema: what every statement plans against.
#[derive(Debug, Default)]
pub struct InfoSchema {
    /// Schema version this snapshot reflects.
    pub version: u64,
    databases: HashMap<String, Arc<DatabaseDef>>,
    tables: HashMap<(String, String), Arc<TableDef>>,
    /// The same tables by id, for keys (which name tables by id).
    by_id: HashMap<i64, Arc<TableDef>>,
    /// The foreign keys that reference each (database, table), lower-cased.
    referenced_by: HashMap<(String, String), Vec<Reference>>,
    /// The ids of the tables some foreign key references: writes to the
    /// others skip the parent's side without building a key.
    referenced_ids: std::collections::HashSet<i64>,
}

/// A foreign key seen from its parent: which child declares it.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The child's database.
    pub child_db: String,
    /// The child table.
    pub child: Arc<TableDef>,
    /// The position of the key in the child's [`TableDef::foreign_keys`].
    pub key: usize,
}

impl Reference {
    /// The foreign key.
    pub fn def(&self) -> &ForeignKeyDef {
        &self.child.foreign_keys[self.key]
    }
}

impl InfoSchema {
    /// Build a snapshot from loaded definitions.
    pub fn new(version: u64, content: Vec<(DatabaseDef, Vec<TableDef>)>) -> Self {
        let mut schema = InfoSchema {
            version,
            ..Default::default()
        };
        for (db, tables) in content {
            let db_key = db.name.to_lowercase();
            for table in tables {
                let table = Arc::new(table);
                for (key, fk) in table.foreign_keys.iter().enumerate() {
                    schema
                        .referenced_by
                        .entry((fk.parent_db.to_lowercase(), fk.parent_table.to_lowercase()))
                        .or_default()
                        .push(Reference {
                            child_db: db.name.clone(),
                            child: table.clone(),
                            key,
                        });
                }
                schema.by_id.insert(table.id, table.clone());
                schema
                    .tables
                    .insert((db_key.clone(), table.name.to_lowercase()), table);
            }
            schema.databases.insert(db_key, Arc::new(db));
        }
        schema.referenced_ids = schema
            .referenced_by
            .keys()
            .filter_map(|k| schema.tables.get(k).map(|t| t.id))
            .collect();
        schema
    }

    /// A database by name (case-insensitive).
    pub fn database(&self, name: &str) -> Option<&Arc<DatabaseDef>> {
        self.databases.get(&name.to_lowercase())
    }

    /// A table by database and name (case-insensitive).
    pub fn table(&self, db: &str, table: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(&(db.to_lowercase(), table.to_lowercase()))
    }

    /// The table with this id.
    pub fn table_by_id(&self, id: i64) -> Option<&Arc<TableDef>> {
        self.by_id.get(&id)
    }

    /// Whether a foreign key references the table with this id.
    pub fn is_referenced(&self, table_id: i64) -> bool {
        self.referenced_ids.contains(&table_id)
    }

    /// The foreign keys referencing `db.table` (empty for most tables).
    pub fn references_to(&self, db: &str, table: &str) -> &[Reference] {
        if self.referenced_by.is_empty() {
            return &[];
        }
        self.referenced_by
            .get(&(db.to_lowercase(), table.to_lowercase()))
            .map_or(&[], Vec::as_slice)
    }

    /// All databases, sorted by name.
    pub fn databases(&self) -> Vec<&Arc<DatabaseDef>> {
        let mut dbs: Vec<_> = self.databases.values().collect();
        dbs.sort_by(|a, b| a.name.cmp(&b.name));
        dbs
    }

    /// The tables of a database, sorted by name.
    pub fn tables(&self, db: &str) -> Vec<&Arc<TableDef>> {
        let db = db.to_lowercase();
        let mut tables: Vec<_> = self
            .tables
            .iter()
            .filter(|((d, _), _)| *d == db)
            .map(|(_, t)| t)
            .collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        tables
    }
}
