//! SHOW statements, the DDL text of a table and the INFORMATION_SCHEMA
//! tables tools read, in MySQL's formats, since tools (the mysql CLI,
//! mysqldump, ORMs) parse them.

use crate::catalog::{ColumnDef, DatabaseDef, DefaultValue, IndexDef, InfoSchema, TableDef};
use crate::result::{ColumnInfo, Output, SqlError};
use crate::types::{Collation, SqlType, TypeKind, column_info};
use codec::Datum;
use sqlparser::ast;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use std::sync::Arc;

/// Result columns of SHOW statements: text, as MySQL sends them.
pub fn text_columns(names: &[&str]) -> Arc<[ColumnInfo]> {
    let mut ty = SqlType::new(TypeKind::VarChar);
    ty.length = 64;
    names
        .iter()
        .map(|n| column_info(&ty, "", "", "", n, n))
        .collect()
}

/// A result set of text columns.
pub fn text_rows(names: &[&str], rows: Vec<Vec<Datum>>) -> Output {
    Output::Rows {
        columns: text_columns(names),
        rows,
    }
}

/// Text as a datum.
pub fn text(s: impl AsRef<str>) -> Datum {
    Datum::Bytes(s.as_ref().as_bytes().to_vec())
}

/// Whether `name` matches a SHOW ... LIKE pattern (`%`, `_`, case-insensitive).
pub fn like(name: &str, pattern: &str) -> bool {
    fn go(n: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(&n[i..], rest)),
            Some(('_', rest)) => !n.is_empty() && go(&n[1..], rest),
            Some(('\\', rest)) if !rest.is_empty() => {
                !n.is_empty() && n[0].eq_ignore_ascii_case(&rest[0]) && go(&n[1..], &rest[1..])
            }
            Some((c, rest)) => !n.is_empty() && n[0].eq_ignore_ascii_case(c) && go(&n[1..], rest),
        }
    }
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&n, &p)
}

/// A type as SHOW CREATE TABLE and SHOW COLUMNS spell it.
pub fn type_sql(ty: &SqlType) -> String {
    let unsigned = if ty.unsigned { " unsigned" } else { "" };
    let fsp = |base: &str| {
        if ty.scale > 0 {
            format!("{base}({})", ty.scale)
        } else {
            base.to_string()
        }
    };
    let list = |kind: &str| {
        let members: Vec<String> = ty
            .members
            .iter()
            .map(|m| format!("'{}'", m.replace('\'', "''")))
            .collect();
        format!("{kind}({})", members.join(","))
    };
    match ty.kind {
        TypeKind::TinyInt if ty.length == 1 && !ty.unsigned => "tinyint(1)".into(),
        TypeKind::TinyInt => format!("tinyint{unsigned}"),
        TypeKind::SmallInt => format!("smallint{unsigned}"),
        TypeKind::MediumInt => format!("mediumint{unsigned}"),
        TypeKind::Int => format!("int{unsigned}"),
        TypeKind::BigInt => format!("bigint{unsigned}"),
        TypeKind::Decimal => format!("decimal({},{}){unsigned}", ty.length, ty.scale),
        TypeKind::Float if ty.scale < 31 => format!("float({},{}){unsigned}", ty.length, ty.scale),
        TypeKind::Float => format!("float{unsigned}"),
        TypeKind::Double if ty.scale < 31 => {
            format!("double({},{}){unsigned}", ty.length, ty.scale)
        }
        TypeKind::Double => format!("double{unsigned}"),
        TypeKind::Char => format!("char({})", ty.length),
        TypeKind::VarChar => format!("varchar({})", ty.length),
        TypeKind::Binary => format!("binary({})", ty.length),
        TypeKind::VarBinary => format!("varbinary({})", ty.length),
        TypeKind::Text => match ty.length {
            0..=255 => "tinytext",
            256..=65_535 => "text",
            65_536..=16_777_215 => "mediumtext",
            _ => "longtext",
        }
        .into(),
        TypeKind::Blob => match ty.length {
            0..=255 => "tinyblob",
            256..=65_535 => "blob",
            65_536..=16_777_215 => "mediumblob",
            _ => "longblob",
        }
        .into(),
        TypeKind::Date => "date".into(),
        TypeKind::DateTime => fsp("datetime"),
        TypeKind::Timestamp => fsp("timestamp"),
        TypeKind::Time => fsp("time"),
        TypeKind::Year => "year".into(),
        TypeKind::Enum => list("enum"),
        TypeKind::Set => list("set"),
        TypeKind::Json => "json".into(),
        TypeKind::Null => "null".into(),
    }
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn quote_text(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

fn index_columns_sql(table: &TableDef, columns: &[(usize, Option<u32>)]) -> String {
    columns
        .iter()
        .map(|&(pos, prefix)| match prefix {
            Some(n) => format!("{}({n})", quote(&table.columns[pos].name)),
            None => quote(&table.columns[pos].name),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// SHOW CREATE TABLE's text of `table` in database `db`; `next_auto_id`,
/// when past 1, is printed as MySQL prints its counter (`AUTO_INCREMENT=N`).
pub fn create_table_sql(db: &str, table: &TableDef, next_auto_id: Option<u64>) -> String {
    let mut lines = Vec::new();
    for c in &table.columns {
        let mut line = format!("  {} {}", quote(&c.name), type_sql(&c.ty));
        if c.ty.is_string()
            && c.ty.collation != table.collation
            && c.ty.collation != Collation::Binary
            && c.ty.kind != TypeKind::Json
        {
            line.push_str(&format!(" COLLATE {}", c.ty.collation.name()));
        }
        if !c.nullable {
            line.push_str(" NOT NULL");
        }
        match &c.default {
            Some(DefaultValue::Null) if c.nullable => line.push_str(" DEFAULT NULL"),
            Some(DefaultValue::Literal(v)) => line.push_str(&format!(" DEFAULT {}", quote_text(v))),
            Some(DefaultValue::CurrentTimestamp) => {
                line.push_str(" DEFAULT CURRENT_TIMESTAMP");
                if c.ty.scale > 0 {
                    line.push_str(&format!("({})", c.ty.scale));
                }
            }
            None if c.nullable
                && !matches!(c.ty.kind, TypeKind::Text | TypeKind::Blob | TypeKind::Json) =>
            {
                line.push_str(" DEFAULT NULL")
            }
            _ => {}
        }
        if c.on_update_now {
            line.push_str(" ON UPDATE CURRENT_TIMESTAMP");
        }
        if c.auto_increment {
            line.push_str(" AUTO_INCREMENT");
        }
        if !c.comment.is_empty() {
            line.push_str(&format!(" COMMENT {}", quote_text(&c.comment)));
        }
        lines.push(line);
    }
    for index in &table.indexes {
        let cols = index_columns_sql(table, &index.columns);
        lines.push(if index.primary {
            format!("  PRIMARY KEY ({cols})")
        } else if index.unique {
            format!("  UNIQUE KEY {} ({cols})", quote(&index.name))
        } else {
            format!("  KEY {} ({cols})", quote(&index.name))
        });
    }
    let mut foreign_keys: Vec<_> = table.foreign_keys.iter().collect();
    foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    for fk in foreign_keys {
        lines.push(format!("  {}", fk.describe(table, db)));
    }
    for check in &table.checks {
        let mut line = format!(
            "  CONSTRAINT {} CHECK (({}))",
            quote(&check.name),
            check.clause
        );
        if !check.enforced {
            line.push_str(" /*!80016 NOT ENFORCED */");
        }
        lines.push(line);
    }
    let mut sql = format!(
        "CREATE {}TABLE {} (\n{}\n) ENGINE=InnoDB",
        if table.id < 0 { "TEMPORARY " } else { "" },
        quote(&table.name),
        lines.join(",\n")
    );
    if let Some(next) = next_auto_id.filter(|&n| n > 1) {
        sql.push_str(&format!(" AUTO_INCREMENT={next}"));
    }
    sql.push_str(&format!(
        " DEFAULT CHARSET=utf8mb4 COLLATE={}",
        table.collation.name()
    ));
    if !table.comment.is_empty() {
        sql.push_str(&format!(" COMMENT={}", quote_text(&table.comment)));
    }
    sql
}

/// The Key of SHOW COLUMNS (COLUMN_KEY), by MySQL's precedence: PRI for
/// any column of the primary key, UNI for the column of a single-column
/// unique index, MUL for the first column of any other index.
fn column_key(table: &TableDef, pos: usize) -> &'static str {
    let leads = |i: &&IndexDef| i.columns.first().is_some_and(|&(p, _)| p == pos);
    let indexes = || table.indexes.iter();
    if indexes().any(|i| i.primary && i.columns.iter().any(|&(p, _)| p == pos)) {
        "PRI"
    } else if indexes()
        .filter(leads)
        .any(|i| i.unique && i.columns.len() == 1)
    {
        "UNI"
    } else if indexes().any(|i| leads(&i)) {
        "MUL"
    } else {
        ""
    }
}

fn column_default(c: &ColumnDef) -> Datum {
    match &c.default {
        Some(DefaultValue::Literal(v)) => text(v),
        Some(DefaultValue::CurrentTimestamp) => text("CURRENT_TIMESTAMP"),
        _ => Datum::Null,
    }
}

fn column_extra(c: &ColumnDef) -> &'static str {
    if c.auto_increment {
        "auto_increment"
    } else if c.on_update_now {
        "on update CURRENT_TIMESTAMP"
    } else {
        ""
    }
}

/// The collation of a character column; binary strings and other types have none.
fn column_collation(c: &ColumnDef) -> Option<&'static str> {
    (c.ty.is_string() && c.ty.collation != Collation::Binary).then(|| c.ty.collation.name())
}

/// The query CHECKSUM TABLE runs: the sum over the rows of the CRC32 of each
/// row's values (MySQL also sums per-row checksums), so equal tables have
/// equal checksums whatever their row order or physical layout. Each value
/// is preceded by its NULL flag and length, so different rows never have the
/// same text.
pub fn checksum_sql(db: &str, table: &TableDef) -> String {
    let values: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let c = quote(&c.name);
            format!("ISNULL({c}), LENGTH({c}), {c}")
        })
        .collect();
    format!(
        "SELECT COALESCE(SUM(CRC32(CONCAT_WS(',', {}))), 0) FROM {}.{}",
        values.join(", "),
        quote(db),
        quote(&table.name)
    )
}

/// SHOW [FULL] COLUMNS [LIKE pattern] rows.
pub fn columns_rows(table: &TableDef, full: bool, pattern: Option<&str>) -> Output {
    let rows = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| pattern.is_none_or(|p| like(&c.name, p)))
        .map(|(pos, c)| {
            let mut row = vec![text(&c.name), text(type_sql(&c.ty))];
            if full {
                row.push(column_collation(c).map_or(Datum::Null, text));
            }
            row.extend([
                text(if c.nullable { "YES" } else { "NO" }),
                text(column_key(table, pos)),
                column_default(c),
                text(column_extra(c)),
            ]);
            if full {
                row.extend([text("select,insert,update,references"), text(&c.comment)]);
            }
            row
        })
        .collect();
    if full {
        text_rows(
            &[
                "Field",
                "Type",
                "Collation",
                "Null",
                "Key",
                "Default",
                "Extra",
                "Privileges",
                "Comment",
            ],
            rows,
        )
    } else {
        text_rows(&["Field", "Type", "Null", "Key", "Default", "Extra"], rows)
    }
}

/// Every column of every index of `table`, in index order: the index, the
/// column's 1-based place in it, the column and its prefix length.
fn index_column_rows(
    table: &TableDef,
) -> impl Iterator<Item = (&IndexDef, i64, &ColumnDef, Option<u32>)> {
    table.indexes.iter().flat_map(move |index| {
        index
            .columns
            .iter()
            .enumerate()
            .map(move |(seq, &(pos, prefix))| (index, seq as i64 + 1, &table.columns[pos], prefix))
    })
}

/// SHOW INDEX rows of `table`, one per index column; information_schema
/// STATISTICS has the same values with the database added.
fn index_show_rows(table: &TableDef) -> impl Iterator<Item = Vec<Datum>> {
    index_column_rows(table).map(|(index, seq, c, prefix)| {
        vec![
            text(&table.name),
            Datum::I64(!index.unique as i64),
            text(&index.name),
            Datum::I64(seq),
            text(&c.name),
            text("A"),
            Datum::I64(0),
            prefix.map_or(Datum::Null, |p| Datum::I64(p.into())),
            Datum::Null,
            text(if c.nullable { "YES" } else { "" }),
            text("BTREE"),
            text(""),
            text(&index.comment),
            text("YES"),
            Datum::Null,
        ]
    })
}

/// SHOW INDEX rows.
pub fn index_rows(table: &TableDef) -> Output {
    let rows = index_show_rows(table).collect();
    text_rows(
        &[
            "Table",
            "Non_unique",
            "Key_name",
            "Seq_in_index",
            "Column_name",
            "Collation",
            "Cardinality",
            "Sub_part",
            "Packed",
            "Null",
            "Index_type",
            "Comment",
            "Index_comment",
            "Visible",
            "Expression",
        ],
        rows,
    )
}

/// SHOW [FULL] TABLES rows.
pub fn tables_rows(schema: &InfoSchema, db: &str, full: bool, pattern: Option<&str>) -> Output {
    // MySQL names the pattern in the header: `Tables_in_test (t%)`.
    let header = match pattern {
        Some(p) => format!("Tables_in_{db} ({p})"),
        None => format!("Tables_in_{db}"),
    };
    let rows = schema
        .tables(db)
        .into_iter()
        .filter(|t| pattern.is_none_or(|p| like(&t.name, p)))
        .map(|t| {
            if full {
                vec![text(&t.name), text("BASE TABLE")]
            } else {
                vec![text(&t.name)]
            }
        })
        .collect();
    if full {
        text_rows(&[&header, "Table_type"], rows)
    } else {
        text_rows(&[&header], rows)
    }
}

/// SHOW TABLE STATUS columns, as MySQL names them.
const TABLE_STATUS_COLUMNS: [&str; 18] = [
    "Name",
    "Engine",
    "Version",
    "Row_format",
    "Rows",
    "Avg_row_length",
    "Data_length",
    "Max_data_length",
    "Index_length",
    "Data_free",
    "Auto_increment",
    "Create_time",
    "Update_time",
    "Check_time",
    "Collation",
    "Checksum",
    "Create_options",
    "Comment",
];

/// One table's SHOW TABLE STATUS values. Basalt keeps no statistics yet, so
/// sizes and the row count are 0 (as TiDB reports before ANALYZE); creation
/// and update times and the next AUTO_INCREMENT value are not tracked (NULL).
fn table_status(table: &TableDef) -> Vec<Datum> {
    let mut row = vec![
        text(&table.name),
        text("InnoDB"),
        Datum::I64(10),
        text("Dynamic"),
    ];
    row.extend(std::iter::repeat_n(Datum::I64(0), 6));
    row.extend([Datum::Null, Datum::Null, Datum::Null, Datum::Null]);
    row.extend([
        text(table.collation.name()),
        Datum::Null,
        text(""),
        text(&table.comment),
    ]);
    row
}

/// SHOW TABLE STATUS rows of `db`'s tables whose names match `pattern`.
pub fn table_status_rows(schema: &InfoSchema, db: &str, pattern: Option<&str>) -> Output {
    let rows = schema
        .tables(db)
        .into_iter()
        .filter(|t| pattern.is_none_or(|p| like(&t.name, p)))
        .map(|t| table_status(t))
        .collect();
    text_rows(&TABLE_STATUS_COLUMNS, rows)
}

/// SHOW CREATE DATABASE's text.
pub fn create_database_sql(db: &DatabaseDef, if_not_exists: bool) -> String {
    format!(
        "CREATE DATABASE {}{} /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE {} */",
        if if_not_exists {
            "/*!32312 IF NOT EXISTS*/ "
        } else {
            ""
        },
        quote(&db.name),
        db.collation.name()
    )
}

/// SHOW TRIGGERS: Basalt has no triggers, so always empty.
pub fn triggers_rows() -> Output {
    text_rows(
        &[
            "Trigger",
            "Event",
            "Table",
            "Statement",
            "Timing",
            "Created",
            "sql_mode",
            "Definer",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ],
        Vec::new(),
    )
}

/// SHOW {FUNCTION | PROCEDURE} STATUS: Basalt has no stored routines, so
/// always empty.
pub fn routine_status_rows() -> Output {
    text_rows(
        &[
            "Db",
            "Name",
            "Type",
            "Definer",
            "Modified",
            "Created",
            "Security_type",
            "Comment",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ],
        Vec::new(),
    )
}

/// SHOW EVENTS: Basalt has no event scheduler, so always empty.
pub fn events_rows() -> Output {
    text_rows(
        &[
            "Db",
            "Name",
            "Definer",
            "Time zone",
            "Type",
            "Execute at",
            "Interval value",
            "Interval field",
            "Starts",
            "Ends",
            "Status",
            "Originator",
            "character_set_client",
            "collation_connection",
            "Database Collation",
        ],
        Vec::new(),
    )
}

/// INFORMATION_SCHEMA.TABLES columns (MySQL 8's, in its order), then
/// TiDB's TIDB_TABLE_ID: the id in the table's row and index keys, which
/// finds its regions (`basalt ctl region key`).
const INFORMATION_SCHEMA_TABLES: [&str; 22] = [
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "TABLE_TYPE",
    "ENGINE",
    "VERSION",
    "ROW_FORMAT",
    "TABLE_ROWS",
    "AVG_ROW_LENGTH",
    "DATA_LENGTH",
    "MAX_DATA_LENGTH",
    "INDEX_LENGTH",
    "DATA_FREE",
    "AUTO_INCREMENT",
    "CREATE_TIME",
    "UPDATE_TIME",
    "CHECK_TIME",
    "TABLE_COLLATION",
    "CHECKSUM",
    "CREATE_OPTIONS",
    "TABLE_COMMENT",
    "TIDB_TABLE_ID",
];

/// INFORMATION_SCHEMA.COLUMNS columns (MySQL 8's, in its order).
const INFORMATION_SCHEMA_COLUMNS: [&str; 22] = [
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "COLUMN_DEFAULT",
    "IS_NULLABLE",
    "DATA_TYPE",
    "CHARACTER_MAXIMUM_LENGTH",
    "CHARACTER_OCTET_LENGTH",
    "NUMERIC_PRECISION",
    "NUMERIC_SCALE",
    "DATETIME_PRECISION",
    "CHARACTER_SET_NAME",
    "COLLATION_NAME",
    "COLUMN_TYPE",
    "COLUMN_KEY",
    "EXTRA",
    "PRIVILEGES",
    "COLUMN_COMMENT",
    "GENERATION_EXPRESSION",
    "SRS_ID",
];

/// INFORMATION_SCHEMA.SCHEMATA columns (MySQL 8's).
const INFORMATION_SCHEMA_SCHEMATA: [&str; 6] = [
    "CATALOG_NAME",
    "SCHEMA_NAME",
    "DEFAULT_CHARACTER_SET_NAME",
    "DEFAULT_COLLATION_NAME",
    "SQL_PATH",
    "DEFAULT_ENCRYPTION",
];

/// INFORMATION_SCHEMA.STATISTICS columns (MySQL 8's): one row per index
/// column, as SHOW INDEX.
const INFORMATION_SCHEMA_STATISTICS: [&str; 18] = [
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "NON_UNIQUE",
    "INDEX_SCHEMA",
    "INDEX_NAME",
    "SEQ_IN_INDEX",
    "COLUMN_NAME",
    "COLLATION",
    "CARDINALITY",
    "SUB_PART",
    "PACKED",
    "NULLABLE",
    "INDEX_TYPE",
    "COMMENT",
    "INDEX_COMMENT",
    "IS_VISIBLE",
    "EXPRESSION",
];

/// INFORMATION_SCHEMA.KEY_COLUMN_USAGE columns (MySQL 8's): one row per
/// column of a PRIMARY KEY, UNIQUE or FOREIGN KEY constraint.
const INFORMATION_SCHEMA_KEY_COLUMN_USAGE: [&str; 12] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "TABLE_CATALOG",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "COLUMN_NAME",
    "ORDINAL_POSITION",
    "POSITION_IN_UNIQUE_CONSTRAINT",
    "REFERENCED_TABLE_SCHEMA",
    "REFERENCED_TABLE_NAME",
    "REFERENCED_COLUMN_NAME",
];

/// INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS columns (MySQL 8's): one row
/// per foreign key.
const INFORMATION_SCHEMA_REFERENTIAL_CONSTRAINTS: [&str; 11] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "UNIQUE_CONSTRAINT_CATALOG",
    "UNIQUE_CONSTRAINT_SCHEMA",
    "UNIQUE_CONSTRAINT_NAME",
    "MATCH_OPTION",
    "UPDATE_RULE",
    "DELETE_RULE",
    "TABLE_NAME",
    "REFERENCED_TABLE_NAME",
];

/// The name of the unique index of `parent` on exactly `columns` (what a
/// foreign key references), if there is one.
fn unique_constraint_of<'t>(parent: &'t TableDef, columns: &[String]) -> Option<&'t str> {
    parent
        .indexes
        .iter()
        .filter(|i| i.unique && i.columns.len() == columns.len())
        .find(|i| {
            i.columns
                .iter()
                .zip(columns)
                .all(|(&(p, _), c)| parent.columns[p].name.eq_ignore_ascii_case(c))
        })
        .map(|i| i.name.as_str())
}

/// INFORMATION_SCHEMA.TABLE_CONSTRAINTS columns (MySQL 8's).
const INFORMATION_SCHEMA_TABLE_CONSTRAINTS: [&str; 7] = [
    "CONSTRAINT_CATALOG",
    "CONSTRAINT_SCHEMA",
    "CONSTRAINT_NAME",
    "TABLE_SCHEMA",
    "TABLE_NAME",
    "CONSTRAINT_TYPE",
    "ENFORCED",
];

/// The length, precision and fraction columns of INFORMATION_SCHEMA.COLUMNS:
/// CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION,
/// NUMERIC_SCALE, DATETIME_PRECISION.
fn column_sizes(ty: &SqlType) -> [Datum; 5] {
    let int = |v: u64| Datum::I64(v as i64);
    let null = || Datum::Null;
    let chars = |n: u64| match ty.collation {
        Collation::Binary => [int(n), int(n)],
        _ => [int(n), int(n * 4)],
    };
    let numeric = |precision: u64, scale: Option<u64>| {
        [
            null(),
            null(),
            int(precision),
            scale.map_or(Datum::Null, int),
            null(),
        ]
    };
    match ty.kind {
        TypeKind::TinyInt => numeric(3, Some(0)),
        TypeKind::SmallInt => numeric(5, Some(0)),
        TypeKind::MediumInt => numeric(7, Some(0)),
        TypeKind::Int => numeric(10, Some(0)),
        TypeKind::BigInt => numeric(if ty.unsigned { 20 } else { 19 }, Some(0)),
        TypeKind::Decimal => numeric(ty.length.into(), Some(ty.scale.into())),
        TypeKind::Float | TypeKind::Double => {
            let precision = if ty.kind == TypeKind::Float { 12 } else { 22 };
            let declared = ty.scale < 31;
            numeric(
                if declared {
                    ty.length.into()
                } else {
                    precision
                },
                declared.then_some(ty.scale.into()),
            )
        }
        TypeKind::Char | TypeKind::VarChar | TypeKind::Binary | TypeKind::VarBinary => {
            let [c, o] = chars(ty.length.into());
            [c, o, null(), null(), null()]
        }
        TypeKind::Text | TypeKind::Blob => {
            let max = match ty.length {
                0..=255 => 255,
                256..=65_535 => 65_535,
                65_536..=16_777_215 => 16_777_215,
                _ => 4_294_967_295,
            };
            [int(max), int(max), null(), null(), null()]
        }
        TypeKind::Enum | TypeKind::Set => {
            let lengths = ty.members.iter().map(|m| m.chars().count() as u64);
            let max = match ty.kind {
                TypeKind::Enum => lengths.max().unwrap_or(0),
                _ => lengths.sum::<u64>() + ty.members.len().saturating_sub(1) as u64,
            };
            let [c, o] = chars(max);
            [c, o, null(), null(), null()]
        }
        TypeKind::DateTime | TypeKind::Timestamp | TypeKind::Time => {
            [null(), null(), null(), null(), int(ty.scale.into())]
        }
        _ => [null(), null(), null(), null(), null()],
    }
}

/// INFORMATION_SCHEMA.TRIGGERS columns (MySQL 8's).
const INFORMATION_SCHEMA_TRIGGERS: [&str; 22] = [
    "TRIGGER_CATALOG",
    "TRIGGER_SCHEMA",
    "TRIGGER_NAME",
    "EVENT_MANIPULATION",
    "EVENT_OBJECT_CATALOG",
    "EVENT_OBJECT_SCHEMA",
    "EVENT_OBJECT_TABLE",
    "ACTION_ORDER",
    "ACTION_CONDITION",
    "ACTION_STATEMENT",
    "ACTION_ORIENTATION",
    "ACTION_TIMING",
    "ACTION_REFERENCE_OLD_TABLE",
    "ACTION_REFERENCE_NEW_TABLE",
    "ACTION_REFERENCE_OLD_ROW",
    "ACTION_REFERENCE_NEW_ROW",
    "CREATED",
    "SQL_MODE",
    "DEFINER",
    "CHARACTER_SET_CLIENT",
    "COLLATION_CONNECTION",
    "DATABASE_COLLATION",
];

/// What INFORMATION_SCHEMA tables are built from: the schema, and the
/// node's connections.
pub struct InfoSources<'a> {
    /// The schema snapshot of the statement.
    pub schema: &'a InfoSchema,
    /// The node's connections, for PROCESSLIST.
    pub processes: &'a crate::process::ProcessList,
    /// The node's slow query log, for SLOW_QUERY.
    pub slow_log: &'a crate::slow_log::SlowLog,
    /// The node's statement summaries, for STATEMENTS_SUMMARY.
    pub summaries: &'a crate::statement_summary::Summaries,
}

/// The rows of INFORMATION_SCHEMA table `name`, as a query of literal rows
/// with the table's column names. Served: the tables mysqldump and ORMs
/// read (SCHEMATA, TABLES, COLUMNS, STATISTICS, KEY_COLUMN_USAGE,
/// TABLE_CONSTRAINTS, REFERENTIAL_CONSTRAINTS, CHECK_CONSTRAINTS, and
/// TRIGGERS, always empty), PROCESSLIST, SLOW_QUERY
/// and STATEMENTS_SUMMARY; others
/// are 1109, which mysqldump expects from servers without them.
fn information_schema_table(sources: &InfoSources, name: &str) -> Result<ast::Query, SqlError> {
    let schema = sources.schema;
    let tables = || {
        schema.databases().into_iter().flat_map(|db| {
            schema
                .tables(&db.name)
                .into_iter()
                .map(move |t| (db.name.as_str(), t))
        })
    };
    let (columns, rows): (&[&str], Vec<Vec<Datum>>) = match name.to_uppercase().as_str() {
        "TABLES" => (
            &INFORMATION_SCHEMA_TABLES,
            tables()
                .map(|(db, t)| {
                    let mut row = vec![text("def"), text(db), text(&t.name), text("BASE TABLE")];
                    row.extend(table_status(t).into_iter().skip(1));
                    row.push(Datum::I64(t.id));
                    row
                })
                .collect(),
        ),
        "COLUMNS" => (
            &INFORMATION_SCHEMA_COLUMNS,
            tables()
                .flat_map(|(db, t)| {
                    t.columns.iter().enumerate().map(move |(pos, c)| {
                        let column_type = type_sql(&c.ty);
                        let data_type = column_type
                            .split(['(', ' '])
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        let collation = column_collation(c);
                        vec![
                            text("def"),
                            text(db),
                            text(&t.name),
                            text(&c.name),
                            Datum::I64(pos as i64 + 1),
                            column_default(c),
                            text(if c.nullable { "YES" } else { "NO" }),
                            text(data_type),
                        ]
                        .into_iter()
                        .chain(column_sizes(&c.ty))
                        .chain([
                            collation
                                .and_then(|c| c.split('_').next())
                                .map_or(Datum::Null, text),
                            collation.map_or(Datum::Null, text),
                            text(column_type),
                            text(column_key(t, pos)),
                            text(column_extra(c)),
                            text("select,insert,update,references"),
                            text(&c.comment),
                            text(""),
                            Datum::Null,
                        ])
                        .collect()
                    })
                })
                .collect(),
        ),
        "TRIGGERS" => (&INFORMATION_SCHEMA_TRIGGERS, Vec::new()),
        "SLOW_QUERY" => (&crate::slow_log::COLUMNS, sources.slow_log.rows()?),
        "STATEMENTS_SUMMARY" => (&crate::statement_summary::COLUMNS, sources.summaries.rows()),
        "PROCESSLIST" => (
            &[
                "ID", "USER", "HOST", "DB", "COMMAND", "TIME", "STATE", "INFO",
            ],
            sources
                .processes
                .rows()
                .iter()
                .map(|p| process_row(p, true))
                .collect(),
        ),
        "SCHEMATA" => {
            let row = |name: &str, charset: &str, collation: &str| {
                vec![
                    text("def"),
                    text(name),
                    text(charset),
                    text(collation),
                    Datum::Null,
                    text("NO"),
                ]
            };
            let mut rows = vec![row("information_schema", "utf8mb3", "utf8mb3_general_ci")];
            rows.extend(
                schema
                    .databases()
                    .into_iter()
                    .map(|db| row(&db.name, "utf8mb4", db.collation.name())),
            );
            (&INFORMATION_SCHEMA_SCHEMATA, rows)
        }
        "STATISTICS" => (
            &INFORMATION_SCHEMA_STATISTICS,
            tables()
                .flat_map(|(db, t)| {
                    // TABLE_CATALOG, TABLE_SCHEMA, then SHOW INDEX's values
                    // with INDEX_SCHEMA after NON_UNIQUE.
                    index_show_rows(t).map(move |mut row| {
                        row.insert(2, text(db));
                        row.splice(0..0, [text("def"), text(db)]);
                        row
                    })
                })
                .collect(),
        ),
        "KEY_COLUMN_USAGE" => (
            &INFORMATION_SCHEMA_KEY_COLUMN_USAGE,
            tables()
                .flat_map(|(db, t)| {
                    let keys = index_column_rows(t).filter(|(index, ..)| index.unique).map(
                        move |(index, seq, c, _)| {
                            vec![
                                text("def"),
                                text(db),
                                text(&index.name),
                                text("def"),
                                text(db),
                                text(&t.name),
                                text(&c.name),
                                Datum::I64(seq),
                                Datum::Null,
                                Datum::Null,
                                Datum::Null,
                                Datum::Null,
                            ]
                        },
                    );
                    let references = t.foreign_keys.iter().flat_map(move |fk| {
                        fk.columns.iter().zip(&fk.parent_columns).enumerate().map(
                            move |(seq, (id, parent_column))| {
                                let column = t.columns.iter().find(|c| c.id == *id);
                                vec![
                                    text("def"),
                                    text(db),
                                    text(&fk.name),
                                    text("def"),
                                    text(db),
                                    text(&t.name),
                                    text(column.map_or("", |c| c.name.as_str())),
                                    Datum::I64(seq as i64 + 1),
                                    Datum::I64(seq as i64 + 1),
                                    text(&fk.parent_db),
                                    text(&fk.parent_table),
                                    text(parent_column),
                                ]
                            },
                        )
                    });
                    keys.chain(references)
                })
                .collect(),
        ),
        "REFERENTIAL_CONSTRAINTS" => (
            &INFORMATION_SCHEMA_REFERENTIAL_CONSTRAINTS,
            tables()
                .flat_map(|(db, t)| {
                    t.foreign_keys.iter().map(move |fk| {
                        vec![
                            text("def"),
                            text(db),
                            text(&fk.name),
                            text("def"),
                            text(&fk.parent_db),
                            schema
                                .table(&fk.parent_db, &fk.parent_table)
                                .and_then(|p| unique_constraint_of(p, &fk.parent_columns))
                                .map_or(Datum::Null, text),
                            text("NONE"),
                            text(fk.on_update.name()),
                            text(fk.on_delete.name()),
                            text(&t.name),
                            text(&fk.parent_table),
                        ]
                    })
                })
                .collect(),
        ),
        "CHECK_CONSTRAINTS" => (
            &[
                "CONSTRAINT_CATALOG",
                "CONSTRAINT_SCHEMA",
                "CONSTRAINT_NAME",
                "CHECK_CLAUSE",
            ],
            tables()
                .flat_map(|(db, t)| {
                    t.checks.iter().map(move |c| {
                        vec![
                            text("def"),
                            text(db),
                            text(&c.name),
                            text(format!("({})", c.clause)),
                        ]
                    })
                })
                .collect(),
        ),
        "TABLE_CONSTRAINTS" => (
            &INFORMATION_SCHEMA_TABLE_CONSTRAINTS,
            tables()
                .flat_map(|(db, t)| {
                    let indexes = t.indexes.iter().filter(|i| i.unique).map(move |index| {
                        vec![
                            text("def"),
                            text(db),
                            text(&index.name),
                            text(db),
                            text(&t.name),
                            text(if index.primary {
                                "PRIMARY KEY"
                            } else {
                                "UNIQUE"
                            }),
                            text("YES"),
                        ]
                    });
                    let constraint = move |name: &str, kind: &str, enforced: bool| {
                        vec![
                            text("def"),
                            text(db),
                            text(name),
                            text(db),
                            text(&t.name),
                            text(kind),
                            text(if enforced { "YES" } else { "NO" }),
                        ]
                    };
                    let keys = t
                        .foreign_keys
                        .iter()
                        .map(move |f| constraint(&f.name, "FOREIGN KEY", true));
                    let checks = t
                        .checks
                        .iter()
                        .map(move |c| constraint(&c.name, "CHECK", c.enforced));
                    indexes.chain(keys).chain(checks)
                })
                .collect(),
        ),
        _ => {
            return Err(SqlError::new(
                1109,
                "42S02",
                format!("Unknown table '{name}' in information_schema"),
            ));
        }
    };
    literal_rows_query(columns, &rows)
}

/// `SELECT column_0 AS c0, ... FROM (VALUES ROW(...), ...) AS v`: rows as a
/// query the planner can filter, project and sort. A column holding numbers
/// is numeric, its NULLs included; an empty table is one row of NULLs
/// filtered out, so its columns still have names and types.
fn literal_rows_query(columns: &[&str], rows: &[Vec<Datum>]) -> Result<ast::Query, SqlError> {
    let numeric: Vec<bool> = (0..columns.len())
        .map(|i| {
            rows.iter().any(|r| {
                matches!(
                    r.get(i),
                    Some(Datum::I64(_) | Datum::U64(_) | Datum::F64(_))
                )
            })
        })
        .collect();
    let nulls = vec![Datum::Null; columns.len()];
    let values: Vec<String> = if rows.is_empty() {
        std::slice::from_ref(&nulls)
    } else {
        rows
    }
    .iter()
    .map(|row| {
        let literals: Vec<String> = row
            .iter()
            .zip(&numeric)
            .map(|(d, &numeric)| match d {
                Datum::I64(v) => v.to_string(),
                Datum::U64(v) => v.to_string(),
                // Exponent notation: a DOUBLE literal, not a DECIMAL one.
                Datum::F64(v) => format!("{v:e}"),
                Datum::Bytes(b) => quote_text(&String::from_utf8_lossy(b)),
                _ if numeric => "CAST(NULL AS UNSIGNED)".into(),
                _ => "CAST(NULL AS CHAR)".into(),
            })
            .collect();
        format!("ROW({})", literals.join(", "))
    })
    .collect();
    let projection: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("column_{i} AS {}", quote(c)))
        .collect();
    let sql = format!(
        "SELECT {} FROM (VALUES {}) AS v{}",
        projection.join(", "),
        values.join(", "),
        if rows.is_empty() { " WHERE FALSE" } else { "" }
    );
    match Parser::parse_sql(&MySqlDialect {}, &sql) {
        Ok(mut statements) => match statements.pop() {
            Some(ast::Statement::Query(q)) => Ok(*q),
            _ => Err(crate::error::internal("literal rows are not a query")),
        },
        Err(e) => Err(crate::error::internal(e)),
    }
}

/// The INFORMATION_SCHEMA table `name` refers to, if it does.
fn information_schema_name(name: &ast::ObjectName) -> Option<&str> {
    match name.0.as_slice() {
        [
            ast::ObjectNamePart::Identifier(db),
            ast::ObjectNamePart::Identifier(table),
        ] if db.value.eq_ignore_ascii_case("information_schema") => Some(&table.value),
        _ => None,
    }
}

/// Whether a FROM clause of `query` (in derived tables, joins and set
/// operations too) names an INFORMATION_SCHEMA table.
pub fn reads_information_schema(query: &ast::Query) -> bool {
    fn set_expr(body: &ast::SetExpr) -> bool {
        match body {
            ast::SetExpr::Select(s) => s.from.iter().any(from),
            ast::SetExpr::Query(q) => set_expr(&q.body),
            ast::SetExpr::SetOperation { left, right, .. } => set_expr(left) || set_expr(right),
            _ => false,
        }
    }
    fn from(t: &ast::TableWithJoins) -> bool {
        factor(&t.relation) || t.joins.iter().any(|j| factor(&j.relation))
    }
    fn factor(f: &ast::TableFactor) -> bool {
        match f {
            ast::TableFactor::Table { name, .. } => information_schema_name(name).is_some(),
            ast::TableFactor::Derived { subquery, .. } => set_expr(&subquery.body),
            ast::TableFactor::NestedJoin {
                table_with_joins, ..
            } => from(table_with_joins),
            _ => false,
        }
    }
    set_expr(&query.body)
}

/// Replace each INFORMATION_SCHEMA table in `query`'s FROM clauses by a
/// derived table of its rows, under the table's alias or name, so the
/// planner evaluates the query's own WHERE, projection and ORDER BY over
/// them. Subqueries in expressions are not visited.
pub fn resolve_information_schema(
    query: &mut ast::Query,
    sources: &InfoSources,
) -> Result<(), SqlError> {
    fn set_expr(body: &mut ast::SetExpr, sources: &InfoSources) -> Result<(), SqlError> {
        match body {
            ast::SetExpr::Select(s) => s.from.iter_mut().try_for_each(|t| from(t, sources)),
            ast::SetExpr::Query(q) => set_expr(&mut q.body, sources),
            ast::SetExpr::SetOperation { left, right, .. } => {
                set_expr(left, sources)?;
                set_expr(right, sources)
            }
            _ => Ok(()),
        }
    }
    fn from(t: &mut ast::TableWithJoins, sources: &InfoSources) -> Result<(), SqlError> {
        factor(&mut t.relation, sources)?;
        t.joins
            .iter_mut()
            .try_for_each(|j| factor(&mut j.relation, sources))
    }
    fn factor(f: &mut ast::TableFactor, sources: &InfoSources) -> Result<(), SqlError> {
        match f {
            ast::TableFactor::Table { name, alias, .. } => {
                let Some(table) = information_schema_name(name) else {
                    return Ok(());
                };
                let subquery = information_schema_table(sources, table)?;
                let alias = alias.take().unwrap_or_else(|| ast::TableAlias {
                    explicit: false,
                    name: ast::Ident::new(table),
                    columns: Vec::new(),
                    at: None,
                });
                *f = ast::TableFactor::Derived {
                    lateral: false,
                    subquery: Box::new(subquery),
                    alias: Some(alias),
                    sample: None,
                };
                Ok(())
            }
            ast::TableFactor::Derived { subquery, .. } => set_expr(&mut subquery.body, sources),
            ast::TableFactor::NestedJoin {
                table_with_joins, ..
            } => from(table_with_joins, sources),
            _ => Ok(()),
        }
    }
    set_expr(&mut query.body, sources)
}

/// A connection as SHOW PROCESSLIST and INFORMATION_SCHEMA.PROCESSLIST show
/// it: id, user, host, db, command, time, state, info (cut at 100
/// characters unless `full`).
fn process_row(p: &crate::process::ProcessRow, full: bool) -> Vec<Datum> {
    let info = p.info.as_deref().map_or(Datum::Null, |sql| match full {
        true => text(sql),
        false => text(sql.chars().take(100).collect::<String>()),
    });
    vec![
        Datum::I64(i64::from(p.id)),
        text(&p.user),
        text(&p.host),
        p.database.as_deref().map_or(Datum::Null, text),
        text(p.command),
        Datum::I64(p.time as i64),
        text(p.state),
        info,
    ]
}

/// `SHOW [FULL] PROCESSLIST`: without FULL, statement text is cut at 100
/// characters, as in MySQL.
pub fn processlist(rows: &[crate::process::ProcessRow], full: bool) -> Output {
    let rows = rows.iter().map(|p| process_row(p, full)).collect();
    text_rows(
        &[
            "Id", "User", "Host", "db", "Command", "Time", "State", "Info",
        ],
        rows,
    )
}
