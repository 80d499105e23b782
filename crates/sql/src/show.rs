//! SHOW statements and the DDL text of a table, in MySQL's formats, since
//! tools (the mysql CLI, mysqldump, ORMs) parse them.

use crate::catalog::{DefaultValue, InfoSchema, TableDef};
use crate::result::{ColumnInfo, Output};
use crate::types::{Collation, SqlType, TypeKind, column_info};
use codec::Datum;
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

/// SHOW CREATE TABLE's text.
pub fn create_table_sql(table: &TableDef) -> String {
    let mut lines = Vec::new();
    for c in &table.columns {
        let mut line = format!("  {} {}", quote(&c.name), type_sql(&c.ty));
        if c.ty.is_string()
            && c.ty.collation != Collation::default()
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
    let mut sql = format!(
        "CREATE TABLE {} (\n{}\n) ENGINE=InnoDB",
        quote(&table.name),
        lines.join(",\n")
    );
    sql.push_str(" DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci");
    if !table.comment.is_empty() {
        sql.push_str(&format!(" COMMENT={}", quote_text(&table.comment)));
    }
    sql
}

/// SHOW [FULL] COLUMNS rows.
pub fn columns_rows(table: &TableDef, full: bool) -> Output {
    let rows = table
        .columns
        .iter()
        .enumerate()
        .map(|(pos, c)| {
            let key = table
                .indexes
                .iter()
                .find_map(|i| match i.columns.iter().position(|&(p, _)| p == pos) {
                    Some(0) if i.primary => Some("PRI"),
                    Some(0) if i.unique && i.columns.len() == 1 => Some("UNI"),
                    Some(0) => Some("MUL"),
                    _ => None,
                })
                .unwrap_or("");
            let default = match &c.default {
                Some(DefaultValue::Literal(v)) => text(v),
                Some(DefaultValue::CurrentTimestamp) => text("CURRENT_TIMESTAMP"),
                _ => Datum::Null,
            };
            let extra = if c.auto_increment {
                "auto_increment"
            } else if c.on_update_now {
                "on update CURRENT_TIMESTAMP"
            } else {
                ""
            };
            let mut row = vec![text(&c.name), text(type_sql(&c.ty))];
            if full {
                row.push(if c.ty.is_string() && c.ty.collation != Collation::Binary {
                    text(c.ty.collation.name())
                } else {
                    Datum::Null
                });
            }
            row.extend([
                text(if c.nullable { "YES" } else { "NO" }),
                text(key),
                default,
                text(extra),
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

/// SHOW INDEX rows.
pub fn index_rows(table: &TableDef) -> Output {
    let mut rows = Vec::new();
    for index in &table.indexes {
        for (seq, &(pos, prefix)) in index.columns.iter().enumerate() {
            let c = &table.columns[pos];
            rows.push(vec![
                text(&table.name),
                Datum::I64(if index.unique { 0 } else { 1 }),
                text(&index.name),
                Datum::I64(seq as i64 + 1),
                text(&c.name),
                text("A"),
                Datum::I64(0),
                prefix.map_or(Datum::Null, |p| Datum::I64(p as i64)),
                Datum::Null,
                text(if c.nullable { "YES" } else { "" }),
                text("BTREE"),
                text(""),
                text(&index.comment),
                text("YES"),
                Datum::Null,
            ]);
        }
    }
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
    let header = format!("Tables_in_{db}");
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
