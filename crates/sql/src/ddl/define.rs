//! Turning declarations (CREATE TABLE, column and index definitions) into
//! catalog definitions, with MySQL's checks.

use super::constraint;
use crate::catalog::{CheckDef, ColumnDef, DatabaseDef, DefaultValue, IndexDef, TableDef};
use crate::error;
use crate::expr::cast::{store, to_text};
use crate::expr::{EvalContext, SqlMode};
use crate::result::{ColumnInfo, SqlError};
use crate::types::{Collation, SqlType, TypeKind, column_type};
use codec::Datum;
use sqlparser::ast;
use std::collections::HashMap;

/// A free name for an index: `base`, else `base_2`, `base_3`... (MySQL's
/// naming of unnamed indexes).
pub fn index_name(base: &str, taken: &[IndexDef]) -> String {
    if !taken.iter().any(|i| i.name.eq_ignore_ascii_case(base)) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|n| !taken.iter().any(|i| i.name.eq_ignore_ascii_case(n)))
        .unwrap_or_default()
}

/// Index columns as positions in `columns`, with prefix lengths (`c(10)`).
pub fn index_columns(
    columns: &[ColumnDef],
    items: &[ast::IndexColumn],
) -> Result<Vec<(usize, Option<u32>)>, SqlError> {
    items
        .iter()
        .map(|item| {
            let (name, prefix) = match &item.column.expr {
                ast::Expr::Identifier(id) => (id.value.clone(), None),
                ast::Expr::Function(f) => {
                    let prefix = match &f.args {
                        ast::FunctionArguments::List(l) => match l.args.as_slice() {
                            [
                                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                                    ast::Expr::Value(v),
                                )),
                            ] => v.value.to_string().parse::<u32>().ok(),
                            _ => None,
                        },
                        _ => None,
                    };
                    (
                        f.name.to_string(),
                        Some(prefix.ok_or_else(|| error::unsupported("index expressions"))?),
                    )
                }
                other => return Err(error::unsupported(&format!("index on {other}"))),
            };
            let pos = columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| {
                    SqlError::new(
                        1072,
                        "42000",
                        format!("Key column '{name}' doesn't exist in table"),
                    )
                })?;
            Ok((pos, prefix))
        })
        .collect()
}

fn default_text(e: &ast::Expr) -> Result<DefaultValue, SqlError> {
    Ok(match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Null => DefaultValue::Null,
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                DefaultValue::Literal(s.clone())
            }
            ast::Value::Number(n, _) => DefaultValue::Literal(n.clone()),
            ast::Value::Boolean(b) => DefaultValue::Literal(if *b { "1" } else { "0" }.into()),
            other => DefaultValue::Literal(other.to_string()),
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match default_text(expr)? {
            DefaultValue::Literal(s) => DefaultValue::Literal(format!("-{s}")),
            other => other,
        },
        ast::Expr::Function(f)
            if matches!(
                f.name.to_string().to_uppercase().as_str(),
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIME" | "LOCALTIMESTAMP"
            ) =>
        {
            DefaultValue::CurrentTimestamp
        }
        ast::Expr::Identifier(id) if id.value.eq_ignore_ascii_case("CURRENT_TIMESTAMP") => {
            DefaultValue::CurrentTimestamp
        }
        other => return Err(error::unsupported(&format!("DEFAULT {other}"))),
    })
}

/// A column definition from its declaration; a text column declared
/// without a character set or collation takes `table_collation`. Returns it
/// and whether the declaration says PRIMARY KEY / UNIQUE.
pub fn column_def(
    id: i64,
    col: &ast::ColumnDef,
    table_collation: Collation,
    ctx: &EvalContext<'_>,
) -> Result<(ColumnDef, bool, bool), SqlError> {
    let mut ty = column_type(&col.data_type)?;
    let declared = matches!(col.data_type, ast::DataType::Collate(..))
        || col.options.iter().any(|o| {
            matches!(
                o.option,
                ast::ColumnOption::Collation(_) | ast::ColumnOption::CharacterSet(_)
            )
        });
    if !declared && ty.is_string() && ty.collation != Collation::Binary && ty.kind != TypeKind::Json
    {
        ty.collation = table_collation;
    }
    let mut def = ColumnDef {
        id,
        name: col.name.value.clone(),
        ty: ty.clone(),
        nullable: true,
        default: None,
        auto_increment: false,
        on_update_now: false,
        comment: String::new(),
        origin_default: None,
    };
    let (mut primary, mut unique) = (false, false);
    for opt in &col.options {
        match &opt.option {
            ast::ColumnOption::Null => def.nullable = true,
            ast::ColumnOption::NotNull => def.nullable = false,
            ast::ColumnOption::Default(e) => def.default = Some(default_text(e)?),
            ast::ColumnOption::PrimaryKey(_) => primary = true,
            ast::ColumnOption::Unique(_) => unique = true,
            ast::ColumnOption::Comment(c) => def.comment = c.clone(),
            // The table keeps it (see `column_checks`).
            ast::ColumnOption::Check(_) => {}
            ast::ColumnOption::OnUpdate(_) => def.on_update_now = true,
            ast::ColumnOption::CharacterSet(cs) => check_charset(&cs.to_string())?,
            ast::ColumnOption::Collation(name) => {
                ty.collation = Collation::named(&name.to_string())?
            }
            ast::ColumnOption::DialectSpecific(tokens) => {
                let text = tokens
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<String>()
                    .to_uppercase();
                if text.contains("AUTO_INCREMENT") {
                    def.auto_increment = true;
                } else {
                    return Err(error::unsupported(&text));
                }
            }
            other => return Err(error::unsupported(&other.to_string())),
        }
    }
    let charset = col
        .options
        .iter()
        .any(|o| matches!(o.option, ast::ColumnOption::CharacterSet(_)));
    if charset && ty.collation == Collation::Binary && ty.is_string() {
        return Err(SqlError::new(
            1253,
            "42000",
            "COLLATION 'binary' is not valid for CHARACTER SET 'utf8mb4'",
        ));
    }
    def.ty = ty;
    if primary {
        def.nullable = false;
    }
    if def.on_update_now && !matches!(def.ty.kind, TypeKind::DateTime | TypeKind::Timestamp) {
        return Err(SqlError::new(
            1294,
            "HY000",
            format!("Invalid ON UPDATE clause for '{}' column", def.name),
        ));
    }
    if def.auto_increment
        && !(def.ty.is_integer() || matches!(def.ty.kind, TypeKind::Float | TypeKind::Double))
    {
        return Err(SqlError::new(
            1063,
            "42000",
            format!("Incorrect column specifier for column '{}'", def.name),
        ));
    }
    check_default(&mut def, ctx)?;
    Ok((def, primary, unique))
}

/// The definition CREATE TABLE ... AS SELECT gives its table: a column per
/// result column (`columns`, `types`), of the result's type (a string too
/// long for VARCHAR becomes TEXT, as in MySQL), NOT NULL where the result
/// cannot be NULL, and with the default of the table column it reads as is
/// (`source`). No index, as MySQL makes none. The NOT NULL of a result
/// column is that of what it reads, which an outer join, a UNION or WITH
/// ROLLUP can make NULL: for `query` using them every column is nullable.
pub fn table_def_from_query(
    db: &DatabaseDef,
    name: &str,
    query: &ast::Query,
    columns: &[ColumnInfo],
    types: &[SqlType],
    source: impl Fn(&ColumnInfo) -> Option<ColumnDef>,
) -> Result<TableDef, SqlError> {
    let not_null_holds = match query.body.as_ref() {
        ast::SetExpr::Select(select) => {
            // Base tables joined by inner joins only (a derived or nested
            // table may hold an outer join of its own).
            let base = |f: &ast::TableFactor| matches!(f, ast::TableFactor::Table { .. });
            let inner = |j: &ast::Join| {
                base(&j.relation)
                    && matches!(
                        j.join_operator,
                        ast::JoinOperator::Join(_)
                            | ast::JoinOperator::Inner(_)
                            | ast::JoinOperator::CrossJoin(_)
                    )
            };
            let grouped_plainly = match &select.group_by {
                ast::GroupByExpr::Expressions(_, modifiers) => modifiers.is_empty(),
                ast::GroupByExpr::All(_) => false,
            };
            grouped_plainly
                && select
                    .from
                    .iter()
                    .all(|f| base(&f.relation) && f.joins.iter().all(inner))
        }
        _ => false,
    };
    let mut table = TableDef::empty(name, db.collation);
    for (info, ty) in columns.iter().zip(types) {
        if table.column(&info.name).is_some() {
            return Err(SqlError::new(
                1060,
                "42S21",
                format!("Duplicate column name '{}'", info.name),
            ));
        }
        let mut ty = ty.clone();
        match ty.kind {
            TypeKind::Null => {
                return Err(error::unsupported(&format!(
                    "a column of NULL's type ('{}') in CREATE TABLE ... AS SELECT",
                    info.name
                )));
            }
            TypeKind::VarChar if ty.length > MAX_VARCHAR_CHARS => {
                ty.length = ty.length.saturating_mul(4);
                ty.kind = TypeKind::Text;
            }
            TypeKind::VarBinary if ty.length > MAX_VARCHAR_CHARS * 4 => ty.kind = TypeKind::Blob,
            TypeKind::Decimal => {
                ty.length = ty.length.min(65);
                ty.scale = ty.scale.min(30);
            }
            _ => {}
        }
        let from = source(info);
        table.columns.push(ColumnDef {
            id: table.next_column_id,
            name: info.name.clone(),
            ty,
            nullable: !not_null_holds || info.flags & crate::result::flags::NOT_NULL == 0,
            default: from.as_ref().and_then(|c| c.default.clone()),
            auto_increment: false,
            on_update_now: false,
            comment: from.map(|c| c.comment).unwrap_or_default(),
            origin_default: None,
        });
        table.next_column_id += 1;
    }
    Ok(table)
}

/// The longest VARCHAR, in characters, a utf8mb4 row can hold.
const MAX_VARCHAR_CHARS: u32 = 16_383;

/// Add the CHECK constraints declared on column `col` to `table`; returns
/// them, to be checked for reading `col` alone
/// ([`constraint::refuse_other_columns`]) once every column is known.
pub fn column_checks(
    table: &mut TableDef,
    col: &ast::ColumnDef,
) -> Result<Vec<CheckDef>, SqlError> {
    let mut added = Vec::new();
    for opt in &col.options {
        if let ast::ColumnOption::Check(check) = &opt.option {
            added.push(constraint::add_check(table, opt.name.as_ref(), check)?);
        }
    }
    Ok(added)
}

/// ALTER COLUMN c SET DEFAULT e / DROP DEFAULT.
pub fn set_default(
    col: &mut ColumnDef,
    default: Option<&ast::Expr>,
    ctx: &EvalContext<'_>,
) -> Result<(), SqlError> {
    col.default = default.map(default_text).transpose()?;
    check_default(col, ctx)
}

/// MySQL's checks of a column's default, and a literal default in the form
/// MySQL keeps it.
fn check_default(col: &mut ColumnDef, ctx: &EvalContext<'_>) -> Result<(), SqlError> {
    if matches!(col.default, Some(DefaultValue::Null)) && !col.nullable {
        return Err(SqlError::new(
            1067,
            "42000",
            format!("Invalid default value for '{}'", col.name),
        ));
    }
    if col.default.is_some()
        && matches!(
            col.ty.kind,
            TypeKind::Text | TypeKind::Blob | TypeKind::Json
        )
    {
        return Err(SqlError::new(
            1101,
            "42000",
            format!(
                "BLOB, TEXT, GEOMETRY or JSON column '{}' can't have a default value",
                col.name
            ),
        ));
    }
    if let Some(DefaultValue::Literal(text)) = &col.default {
        let value = default_value(col, text, ctx)?;
        col.default = Some(DefaultValue::Literal(to_text(&value)));
    }
    Ok(())
}

/// A literal default converted to the column's type, as MySQL stores it
/// (`DEFAULT 1.5` of a DECIMAL(5,2) is `1.50`); a value the column cannot
/// hold is 1067 whatever the sql_mode.
fn default_value(col: &ColumnDef, text: &str, ctx: &EvalContext<'_>) -> Result<Datum, SqlError> {
    let vars = HashMap::new();
    let mut strict = EvalContext {
        sql_mode: SqlMode {
            strict: true,
            ..ctx.sql_mode
        },
        in_write: true,
        now: ctx.now,
        user_vars: &vars,
        warnings: Vec::new(),
        last_insert_id: 0,
        database: None,
        params: &[],
        params_read: false,
        process: None,
        analysis: None,
        row_locks: None,
        foreign_key_checks: true,
        collation_connection: ctx.collation_connection,
        row_count: 0,
        outer_rows: Vec::new(),
        memory: Default::default(),
        deadline: None,
        work: Default::default(),
    };
    store(
        Datum::Bytes(text.as_bytes().to_vec()),
        &col.ty,
        &col.name,
        0,
        &mut strict,
    )
    .map_err(|_| {
        SqlError::new(
            1067,
            "42000",
            format!("Invalid default value for '{}'", col.name),
        )
    })
}

/// MySQL's order of a table's indexes (`sort_keys` in its sql_table.cc),
/// which SHOW INDEX and SHOW CREATE TABLE follow: the primary key, unique
/// indexes over NOT NULL columns, other unique indexes, then the rest, each
/// group in creation order.
pub fn sort_indexes(table: &mut TableDef) {
    let columns = &table.columns;
    table.indexes.sort_by_key(|i| {
        let nullable = i.columns.iter().any(|&(p, _)| columns[p].nullable);
        let prefix = i.columns.iter().any(|&(_, n)| n.is_some());
        match i.unique {
            true => (false, nullable, !i.primary, prefix),
            false => (true, false, false, false),
        }
    });
}

/// Refuse index columns MySQL refuses: JSON (3152), BLOB/TEXT without a
/// prefix length (1170), a prefix on a non-string column or longer than it
/// (1089).
pub fn check_index_columns(table: &TableDef, index: &IndexDef) -> Result<(), SqlError> {
    for &(pos, prefix) in &index.columns {
        let c = &table.columns[pos];
        let lob = matches!(c.ty.kind, TypeKind::Text | TypeKind::Blob);
        match prefix {
            _ if c.ty.kind == TypeKind::Json => {
                return Err(SqlError::new(
                    3152,
                    "42000",
                    format!(
                        "JSON column '{}' supports indexing only via generated columns on a specified JSON path.",
                        c.name
                    ),
                ));
            }
            None if lob => {
                return Err(SqlError::new(
                    1170,
                    "42000",
                    format!(
                        "BLOB/TEXT column '{}' used in key specification without a key length",
                        c.name
                    ),
                ));
            }
            Some(n) if !c.ty.is_string() || (!lob && n > c.ty.length) || n == 0 => {
                return Err(SqlError::new(
                    1089,
                    "HY000",
                    "Incorrect prefix key; the used key part isn't a string, the used length is longer than the key part, or the storage engine doesn't support unique prefix keys",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The auto-increment rule: at most one AUTO_INCREMENT column, and it must
/// lead an index (1075).
pub fn check_auto_increment(table: &TableDef) -> Result<(), SqlError> {
    let autos = table.columns.iter().filter(|c| c.auto_increment).count();
    let keyed = table
        .indexes
        .iter()
        .any(|i| table.auto_increment_column() == Some(i.columns[0].0));
    if autos > 1 || (autos == 1 && !keyed) {
        return Err(SqlError::new(
            1075,
            "42000",
            "Incorrect table definition; there can be only one auto column and it must be defined as a key",
        ));
    }
    Ok(())
}

/// A new table's definition from CREATE TABLE (ids of the table and its
/// indexes are assigned by the catalog).
pub fn table_def(
    db: &DatabaseDef,
    name: &str,
    ct: &ast::CreateTable,
    ctx: &EvalContext<'_>,
) -> Result<TableDef, SqlError> {
    if ct.query.is_some() || ct.like.is_some() {
        return Err(error::unsupported("CREATE TABLE ... AS / LIKE"));
    }
    let collation = declared_collation(&ct.table_options)?.unwrap_or(db.collation);
    let mut table = TableDef::empty(name, collation);
    let mut pk: Option<Vec<(usize, Option<u32>)>> = None;
    let mut uniques = Vec::new();
    let mut column_level = Vec::new();
    for (i, col) in ct.columns.iter().enumerate() {
        if table.column(&col.name.value).is_some() {
            return Err(SqlError::new(
                1060,
                "42S21",
                format!("Duplicate column name '{}'", col.name.value),
            ));
        }
        let (def, primary, unique) = column_def(table.next_column_id, col, table.collation, ctx)?;
        table.next_column_id += 1;
        table.columns.push(def);
        if primary {
            if pk.is_some() {
                return Err(SqlError::new(1068, "42000", "Multiple primary key defined"));
            }
            pk = Some(vec![(i, None)]);
        }
        if unique {
            uniques.push((table.columns[i].name.clone(), vec![(i, None)]));
        }
        for check in column_checks(&mut table, col)? {
            column_level.push((check, col.name.value.clone()));
        }
    }
    for (check, column) in &column_level {
        constraint::refuse_other_columns(&table, check, column)?;
    }
    let mut secondary = Vec::new();
    let mut foreign_keys = Vec::new();
    for constraint in &ct.constraints {
        match constraint {
            ast::TableConstraint::PrimaryKey(p) => {
                if pk.is_some() {
                    return Err(SqlError::new(1068, "42000", "Multiple primary key defined"));
                }
                let cols = index_columns(&table.columns, &p.columns)?;
                for &(c, _) in &cols {
                    table.columns[c].nullable = false;
                }
                pk = Some(cols);
            }
            ast::TableConstraint::Unique(u) => {
                let cols = index_columns(&table.columns, &u.columns)?;
                let name = u
                    .name
                    .as_ref()
                    .or(u.index_name.as_ref())
                    .map(|n| n.value.clone());
                uniques.push((
                    name.unwrap_or_else(|| table.columns[cols[0].0].name.clone()),
                    cols,
                ));
            }
            ast::TableConstraint::Index(ix) => {
                let cols = index_columns(&table.columns, &ix.columns)?;
                let name = ix
                    .name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .unwrap_or_else(|| table.columns[cols[0].0].name.clone());
                secondary.push((name, cols));
            }
            ast::TableConstraint::ForeignKey(fk) => foreign_keys.push(fk),
            ast::TableConstraint::Check(check) => {
                constraint::add_check(&mut table, None, check)?;
            }
            other => return Err(error::unsupported(&other.to_string())),
        }
    }
    if let Some(cols) = pk {
        if let [(c, None)] = cols.as_slice()
            && table.columns[*c].ty.is_integer()
        {
            table.handle_column = Some(*c);
        }
        table.indexes.push(IndexDef {
            id: 0,
            name: "PRIMARY".into(),
            columns: cols,
            unique: true,
            primary: true,
            comment: String::new(),
        });
    }
    for (name, cols) in uniques {
        let name = index_name(&name, &table.indexes);
        table.indexes.push(IndexDef {
            id: 0,
            name,
            columns: cols,
            unique: true,
            primary: false,
            comment: String::new(),
        });
    }
    for (name, cols) in secondary {
        if table
            .indexes
            .iter()
            .any(|i| i.name.eq_ignore_ascii_case(&name))
        {
            return Err(SqlError::new(
                1061,
                "42000",
                format!("Duplicate key name '{name}'"),
            ));
        }
        table.indexes.push(IndexDef {
            id: 0,
            name,
            columns: cols,
            unique: false,
            primary: false,
            comment: String::new(),
        });
    }
    // After the declared indexes: a foreign key adds one only when none
    // of them starts with its columns.
    for fk in foreign_keys {
        if let Some((name, columns)) = constraint::add_foreign_key(&mut table, fk, Some(&db.name))?
        {
            table.indexes.push(IndexDef {
                id: 0,
                name,
                columns: columns.into_iter().map(|p| (p, None)).collect(),
                unique: false,
                primary: false,
                comment: String::new(),
            });
        }
    }
    for index in &table.indexes {
        check_index_columns(&table, index)?;
    }
    check_auto_increment(&table)?;
    sort_indexes(&mut table);
    for opt in table_options(&ct.table_options) {
        match opt {
            ast::SqlOption::KeyValue { key, value } => {
                match key.to_string().to_uppercase().as_str() {
                    "AUTO_INCREMENT" => {
                        table.auto_increment_start = value.to_string().parse().unwrap_or(1)
                    }
                    "COMMENT" => table.comment = value.to_string().trim_matches('\'').to_string(),
                    // Taken by `declared_collation`.
                    key if table_charset_key(key).is_some() => {}
                    key => check_table_option(key, &value.to_string())?,
                }
            }
            ast::SqlOption::Comment(ast::CommentDef::WithEq(c) | ast::CommentDef::WithoutEq(c)) => {
                table.comment = c.clone()
            }
            ast::SqlOption::NamedParenthesizedList(ast::NamedParenthesizedList {
                key,
                name: Some(name),
                values,
            }) if values.is_empty() => check_table_option(&key.value, &name.value)?,
            other => return Err(error::unsupported(&other.to_string())),
        }
    }
    if let Some(ast::CommentDef::WithEq(c) | ast::CommentDef::WithoutEq(c)) = &ct.comment {
        table.comment = c.clone();
    }
    Ok(table)
}

/// Which of a table's default character set (`Some(false)`) and collation
/// (`Some(true)`) an option key (`DEFAULT CHARSET`, `COLLATE`...) sets.
pub fn table_charset_key(key: &str) -> Option<bool> {
    match key.to_uppercase().replace(' ', "_").as_str() {
        "COLLATE" | "DEFAULT_COLLATE" => Some(true),
        "CHARSET" | "CHARACTER_SET" | "DEFAULT_CHARSET" | "DEFAULT_CHARACTER_SET" => Some(false),
        _ => None,
    }
}

/// The default collation CREATE TABLE's options declare, if any.
fn declared_collation(opts: &ast::CreateTableOptions) -> Result<Option<Collation>, SqlError> {
    let (mut charset, mut collation) = (None, None);
    for opt in table_options(opts) {
        if let ast::SqlOption::KeyValue { key, value } = opt {
            match table_charset_key(&key.to_string()) {
                Some(true) => collation = Some(value.to_string()),
                Some(false) => charset = Some(value.to_string()),
                None => {}
            }
        }
    }
    charset_collation(charset.as_deref(), collation.as_deref())
}

/// The collation a `CHARACTER SET` and `COLLATE` pair names, either
/// possibly absent, as MySQL resolves it: a character set alone means its
/// default collation. Basalt stores utf8mb4 only, so another character set
/// is refused (1235), as is `binary` as a default; a collation it does not
/// have is 1273, never replaced by another.
pub fn charset_collation(
    charset: Option<&str>,
    collation: Option<&str>,
) -> Result<Option<Collation>, SqlError> {
    charset.map(check_charset).transpose()?;
    match collation.map(Collation::named).transpose()? {
        Some(Collation::Binary) if charset.is_some() => Err(SqlError::new(
            1253,
            "42000",
            "COLLATION 'binary' is not valid for CHARACTER SET 'utf8mb4'",
        )),
        Some(Collation::Binary) => Err(error::unsupported("the binary character set as a default")),
        Some(c) => Ok(Some(c)),
        None => Ok(charset.map(|_| Collation::default())),
    }
}

/// MySQL's character sets other than utf8mb4.
const OTHER_CHARSETS: &[&str] = &[
    "armscii8", "ascii", "big5", "binary", "cp1250", "cp1251", "cp1256", "cp1257", "cp850",
    "cp852", "cp866", "cp932", "dec8", "eucjpms", "euckr", "gb18030", "gb2312", "gbk", "geostd8",
    "greek", "hebrew", "hp8", "keybcs2", "koi8r", "koi8u", "latin1", "latin2", "latin5", "latin7",
    "macce", "macroman", "sjis", "swe7", "tis620", "ucs2", "ujis", "utf16", "utf16le", "utf32",
    "utf8", "utf8mb3",
];

/// Accept utf8mb4, the only character set Basalt stores; another of
/// MySQL's is not supported (1235), and a name MySQL does not know is 1115.
pub fn check_charset(name: &str) -> Result<(), SqlError> {
    let name = name.trim_matches(|c| c == '\'' || c == '"' || c == '`');
    if name.eq_ignore_ascii_case("utf8mb4") {
        Ok(())
    } else if OTHER_CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(name)) {
        Err(error::unsupported(&format!("CHARACTER SET {name}")))
    } else {
        Err(SqlError::new(
            1115,
            "42000",
            format!("Unknown character set: '{name}'"),
        ))
    }
}

/// A table option Basalt keeps no setting for: accepted when it changes
/// nothing MySQL users can see (InnoDB as the engine, storage hints such
/// as ROW_FORMAT), refused otherwise. An engine other than InnoDB
/// is run as InnoDB only where that keeps its meaning (MyISAM and Aria
/// tables of old dumps); others are unknown (1286).
pub fn check_table_option(key: &str, value: &str) -> Result<(), SqlError> {
    let value = value.trim_matches(|c| c == '\'' || c == '"' || c == '`');
    let key = key.to_uppercase().replace(' ', "_");
    match key.as_str() {
        "ENGINE" if ["INNODB", "MYISAM", "ARIA"].contains(&value.to_uppercase().as_str()) => Ok(()),
        "ENGINE" => Err(SqlError::new(
            1286,
            "42000",
            format!("Unknown storage engine '{value}'"),
        )),
        "ENCRYPTION" if value.eq_ignore_ascii_case("N") => Ok(()),
        "ROW_FORMAT" | "KEY_BLOCK_SIZE" | "STATS_PERSISTENT" | "STATS_AUTO_RECALC"
        | "STATS_SAMPLE_PAGES" | "PACK_KEYS" | "CHECKSUM" | "DELAY_KEY_WRITE"
        | "AVG_ROW_LENGTH" | "MAX_ROWS" | "MIN_ROWS" | "COMPRESSION" | "INSERT_METHOD" => Ok(()),
        _ => Err(error::unsupported(&format!(
            "the table option {key} = {value}"
        ))),
    }
}

fn table_options(opts: &ast::CreateTableOptions) -> &[ast::SqlOption] {
    match opts {
        ast::CreateTableOptions::None => &[],
        ast::CreateTableOptions::With(o)
        | ast::CreateTableOptions::Options(o)
        | ast::CreateTableOptions::Plain(o)
        | ast::CreateTableOptions::TableProperties(o) => o,
    }
}
