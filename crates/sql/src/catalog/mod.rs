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

use crate::types::SqlType;
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
}

impl TableDef {
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
                schema.by_id.insert(table.id, table.clone());
                schema
                    .tables
                    .insert((db_key.clone(), table.name.to_lowercase()), table);
            }
            schema.databases.insert(db_key, Arc::new(db));
        }
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
