//! Column types as MySQL declares them, and the collations Basalt supports.

use serde::{Deserialize, Serialize};

/// The declared kind of a column or expression.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypeKind {
    /// TINYINT (1 byte).
    TinyInt,
    /// SMALLINT (2 bytes).
    SmallInt,
    /// MEDIUMINT (3 bytes).
    MediumInt,
    /// INT (4 bytes).
    Int,
    /// BIGINT (8 bytes).
    BigInt,
    /// DECIMAL(precision, scale).
    Decimal,
    /// FLOAT (single precision).
    Float,
    /// DOUBLE.
    Double,
    /// CHAR(n): fixed length, trailing spaces removed on read.
    Char,
    /// VARCHAR(n).
    VarChar,
    /// BINARY(n): fixed length, zero-padded.
    Binary,
    /// VARBINARY(n).
    VarBinary,
    /// TINYTEXT, TEXT, MEDIUMTEXT, LONGTEXT (by `length`).
    Text,
    /// TINYBLOB, BLOB, MEDIUMBLOB, LONGBLOB (by `length`).
    Blob,
    /// DATE.
    Date,
    /// DATETIME(fsp).
    DateTime,
    /// TIMESTAMP(fsp).
    Timestamp,
    /// TIME(fsp).
    Time,
    /// YEAR.
    Year,
    /// ENUM('a', 'b', ...): stored as the member's text.
    Enum,
    /// SET('a', 'b', ...): stored as the members' text, comma-separated.
    Set,
    /// JSON: stored as text.
    Json,
    /// The type of a bare NULL literal.
    Null,
}

/// How strings compare.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Collation {
    /// utf8mb4_general_ci: case-insensitive, trailing spaces ignored (the default).
    #[default]
    Utf8mb4GeneralCi,
    /// utf8mb4_bin: by code point, trailing spaces ignored.
    Utf8mb4Bin,
    /// binary: by byte, nothing ignored (BINARY, VARBINARY, BLOB).
    Binary,
    /// Not a collation a column declares but how comparisons, ORDER BY,
    /// GROUP BY and MIN/MAX over JSON compare: by MySQL's order of JSON
    /// values ([`crate::expr::json_order`]), where `1` equals `1.0`. As text
    /// (LIKE, LOCATE) it is utf8mb4_bin.
    Json,
}

impl Collation {
    /// MySQL's collation name.
    pub fn name(self) -> &'static str {
        match self {
            Collation::Utf8mb4GeneralCi => "utf8mb4_general_ci",
            Collation::Utf8mb4Bin | Collation::Json => "utf8mb4_bin",
            Collation::Binary => "binary",
        }
    }

    /// MySQL's collation id, as sent in column definitions.
    pub fn id(self) -> u16 {
        match self {
            Collation::Utf8mb4GeneralCi => crate::result::charset::UTF8MB4_GENERAL_CI,
            Collation::Utf8mb4Bin | Collation::Json => crate::result::charset::UTF8MB4_BIN,
            Collation::Binary => crate::result::charset::BINARY,
        }
    }

    /// The collation named `name` (case-insensitive), if supported.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "utf8mb4_general_ci" | "utf8_general_ci" => Some(Collation::Utf8mb4GeneralCi),
            "utf8mb4_bin" | "utf8_bin" => Some(Collation::Utf8mb4Bin),
            "binary" => Some(Collation::Binary),
            _ => None,
        }
    }

    /// The collation `name` (quotes allowed) names, or MySQL's 1273 for one
    /// Basalt does not have: never another in its place.
    pub fn named(name: &str) -> Result<Self, SqlError> {
        let name = name.trim_matches(|c| c == '\'' || c == '"' || c == '`');
        Self::from_name(name)
            .ok_or_else(|| SqlError::new(1273, "HY000", format!("Unknown collation: '{name}'")))
    }
}

/// A full column or expression type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SqlType {
    /// The kind.
    pub kind: TypeKind,
    /// UNSIGNED (integers, DECIMAL, FLOAT, DOUBLE).
    pub unsigned: bool,
    /// Strings: maximum length in characters (CHAR/VARCHAR/TEXT) or bytes
    /// (BINARY/VARBINARY/BLOB). DECIMAL: precision. Others: display width.
    pub length: u32,
    /// DECIMAL: digits after the point. FLOAT/DOUBLE: declared decimals (or
    /// 31 for "not declared", as MySQL reports it). Time types: fractional
    /// second precision 0..=6.
    pub scale: u8,
    /// String comparison rules (strings only; `Binary` elsewhere).
    pub collation: Collation,
    /// ENUM and SET members, in declaration order.
    pub members: Vec<String>,
}

impl SqlType {
    /// A type of `kind` with MySQL's default length and scale.
    pub fn new(kind: TypeKind) -> Self {
        let (length, scale) = match kind {
            TypeKind::TinyInt => (4, 0),
            TypeKind::SmallInt => (6, 0),
            TypeKind::MediumInt => (9, 0),
            TypeKind::Int => (11, 0),
            TypeKind::BigInt => (20, 0),
            TypeKind::Decimal => (10, 0),
            TypeKind::Float => (12, 31),
            TypeKind::Double => (22, 31),
            TypeKind::Char | TypeKind::Binary => (1, 0),
            TypeKind::VarChar | TypeKind::VarBinary => (255, 0),
            TypeKind::Text | TypeKind::Blob => (65_535, 0),
            TypeKind::Date => (10, 0),
            TypeKind::DateTime | TypeKind::Timestamp => (19, 0),
            TypeKind::Time => (10, 0),
            TypeKind::Year => (4, 0),
            TypeKind::Enum | TypeKind::Set => (1, 0),
            TypeKind::Json => (u32::MAX, 0),
            TypeKind::Null => (0, 0),
        };
        let collation = match kind {
            TypeKind::Char
            | TypeKind::VarChar
            | TypeKind::Text
            | TypeKind::Enum
            | TypeKind::Set => Collation::Utf8mb4GeneralCi,
            TypeKind::Json => Collation::Utf8mb4Bin,
            _ => Collation::Binary,
        };
        Self {
            kind,
            unsigned: false,
            length,
            scale,
            collation,
            members: Vec::new(),
        }
    }

    /// How two values of this type compare as keys (ORDER BY, DISTINCT,
    /// UNION): by its collation, or MySQL's JSON order for JSON.
    pub fn key_collation(&self) -> Collation {
        match self.kind {
            TypeKind::Json => Collation::Json,
            _ => self.collation,
        }
    }

    /// Whether values of this type are integers (YEAR included).
    pub fn is_integer(&self) -> bool {
        matches!(
            self.kind,
            TypeKind::TinyInt
                | TypeKind::SmallInt
                | TypeKind::MediumInt
                | TypeKind::Int
                | TypeKind::BigInt
                | TypeKind::Year
        )
    }

    /// Whether values of this type are strings (text or binary).
    pub fn is_string(&self) -> bool {
        matches!(
            self.kind,
            TypeKind::Char
                | TypeKind::VarChar
                | TypeKind::Binary
                | TypeKind::VarBinary
                | TypeKind::Text
                | TypeKind::Blob
                | TypeKind::Enum
                | TypeKind::Set
                | TypeKind::Json
        )
    }
}

impl Collation {
    /// The bytes that represent `s` in index keys: strings equal under the
    /// collation get equal keys (so a unique index refuses 'a' next to 'A '
    /// under utf8mb4_general_ci, and 'e' next to 'é') and key order is the
    /// collation's order. utf8mb4_general_ci's key is its comparison weights
    /// ([`crate::expr::eval::weights`]), three bytes each, so an index finds
    /// exactly the rows `=` accepts.
    pub fn sort_key(self, s: &[u8]) -> Vec<u8> {
        match self {
            Collation::Binary => s.to_vec(),
            Collation::Utf8mb4Bin | Collation::Json => s.trim_ascii_end().to_vec(),
            Collation::Utf8mb4GeneralCi => crate::expr::eval::weights(s.trim_ascii_end(), self)
                .flat_map(|w| {
                    let [_, a, b, c] = w.to_be_bytes();
                    [a, b, c]
                })
                .collect(),
        }
    }
}

use crate::catalog::TableDef;
use crate::result::{ColumnInfo, ColumnType, SqlError, flags};
use sqlparser::ast::{CharacterLength, DataType, ExactNumberInfo};

fn char_len(len: &Option<CharacterLength>, default: u32) -> u32 {
    match len {
        Some(CharacterLength::IntegerLength { length, .. }) => {
            (*length).min(u32::MAX as u64) as u32
        }
        _ => default,
    }
}

fn fsp(p: &Option<u64>) -> Result<u8, SqlError> {
    match p {
        None => Ok(0),
        Some(p) if *p <= 6 => Ok(*p as u8),
        Some(p) => Err(SqlError::new(
            1426,
            "42000",
            format!("Too-big precision {p} specified for column. Maximum is 6."),
        )),
    }
}

/// The type a column declaration names (CREATE TABLE, ALTER TABLE).
pub fn column_type(dt: &DataType) -> Result<SqlType, SqlError> {
    use DataType as D;
    let int = |kind: TypeKind, unsigned: bool| {
        let mut t = SqlType::new(kind);
        t.unsigned = unsigned;
        if unsigned && kind != TypeKind::BigInt {
            t.length -= 1;
        }
        t
    };
    let with_len = |kind: TypeKind, len: u32| {
        let mut t = SqlType::new(kind);
        t.length = len;
        t
    };
    let decimal = |info: &ExactNumberInfo, unsigned: bool| -> Result<SqlType, SqlError> {
        let mut t = SqlType::new(TypeKind::Decimal);
        t.unsigned = unsigned;
        let (p, s) = match info {
            ExactNumberInfo::None => (10, 0),
            ExactNumberInfo::Precision(p) => (*p, 0),
            ExactNumberInfo::PrecisionAndScale(p, s) => (*p, (*s).max(0) as u64),
        };
        if p > 65 {
            return Err(SqlError::new(
                1426,
                "42000",
                format!("Too-big precision {p} specified for column. Maximum is 65."),
            ));
        }
        if s > 30 {
            return Err(SqlError::new(
                1425,
                "42000",
                format!("Too big scale {s} specified for column. Maximum is 30."),
            ));
        }
        if s > p {
            return Err(SqlError::new(
                1427,
                "42000",
                "For float(M,D), double(M,D) or decimal(M,D), M must be >= D",
            ));
        }
        t.length = p as u32;
        t.scale = s as u8;
        Ok(t)
    };
    let float = |kind: TypeKind, info: &ExactNumberInfo, unsigned: bool| {
        let mut t = SqlType::new(kind);
        t.unsigned = unsigned;
        if let ExactNumberInfo::PrecisionAndScale(p, s) = info {
            t.length = *p as u32;
            t.scale = (*s).max(0) as u8;
        }
        // FLOAT(p) with p > 24 is a DOUBLE, as in MySQL.
        if let (TypeKind::Float, ExactNumberInfo::Precision(p)) = (kind, info)
            && *p > 24
        {
            t = SqlType::new(TypeKind::Double);
        }
        t
    };
    Ok(match dt {
        D::TinyInt(_) => int(TypeKind::TinyInt, false),
        D::TinyIntUnsigned(_) => int(TypeKind::TinyInt, true),
        D::Bool | D::Boolean => {
            let mut t = int(TypeKind::TinyInt, false);
            t.length = 1;
            t
        }
        D::SmallInt(_) => int(TypeKind::SmallInt, false),
        D::SmallIntUnsigned(_) => int(TypeKind::SmallInt, true),
        D::MediumInt(_) => int(TypeKind::MediumInt, false),
        D::MediumIntUnsigned(_) => int(TypeKind::MediumInt, true),
        D::Int(_) | D::Integer(_) => int(TypeKind::Int, false),
        D::IntUnsigned(_) | D::IntegerUnsigned(_) => int(TypeKind::Int, true),
        D::BigInt(_) => int(TypeKind::BigInt, false),
        D::BigIntUnsigned(_) => int(TypeKind::BigInt, true),
        D::Decimal(i) | D::Numeric(i) | D::Dec(i) => decimal(i, false)?,
        D::DecimalUnsigned(i) | D::DecUnsigned(i) => decimal(i, true)?,
        D::Float(i) => float(TypeKind::Float, i, false),
        D::FloatUnsigned(i) => float(TypeKind::Float, i, true),
        D::Real | D::Double(ExactNumberInfo::None) | D::DoublePrecision => {
            SqlType::new(TypeKind::Double)
        }
        D::Double(i) => float(TypeKind::Double, i, false),
        D::DoubleUnsigned(i) => float(TypeKind::Double, i, true),
        D::RealUnsigned | D::DoublePrecisionUnsigned => {
            float(TypeKind::Double, &ExactNumberInfo::None, true)
        }
        D::Char(l) | D::Character(l) => with_len(TypeKind::Char, char_len(l, 1)),
        D::Varchar(l) | D::CharacterVarying(l) | D::CharVarying(l) | D::Nvarchar(l) => match l {
            None => return Err(error_syntax_type(dt)),
            _ => with_len(TypeKind::VarChar, char_len(l, 255)),
        },
        D::Binary(l) => with_len(TypeKind::Binary, l.unwrap_or(1) as u32),
        D::Varbinary(l) => match l {
            Some(sqlparser::ast::BinaryLength::IntegerLength { length }) => {
                with_len(TypeKind::VarBinary, *length as u32)
            }
            _ => return Err(error_syntax_type(dt)),
        },
        D::TinyText => with_len(TypeKind::Text, 255),
        D::Text => with_len(TypeKind::Text, 65_535),
        D::MediumText => with_len(TypeKind::Text, 16_777_215),
        D::LongText => with_len(TypeKind::Text, u32::MAX),
        D::TinyBlob => with_len(TypeKind::Blob, 255),
        D::Blob(_) => with_len(TypeKind::Blob, 65_535),
        D::MediumBlob => with_len(TypeKind::Blob, 16_777_215),
        D::LongBlob => with_len(TypeKind::Blob, u32::MAX),
        D::Date => SqlType::new(TypeKind::Date),
        D::Datetime(p) => {
            let mut t = SqlType::new(TypeKind::DateTime);
            t.scale = fsp(p)?;
            t
        }
        D::Timestamp(p, _) => {
            let mut t = SqlType::new(TypeKind::Timestamp);
            t.scale = fsp(p)?;
            t
        }
        D::Time(p, _) => {
            let mut t = SqlType::new(TypeKind::Time);
            t.scale = fsp(p)?;
            t
        }
        D::Custom(name, _) if name.to_string().eq_ignore_ascii_case("year") => {
            SqlType::new(TypeKind::Year)
        }
        D::Enum(members, _) => {
            let mut t = SqlType::new(TypeKind::Enum);
            t.members = members
                .iter()
                .map(|m| match m {
                    sqlparser::ast::EnumMember::Name(n)
                    | sqlparser::ast::EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect();
            t.length = t
                .members
                .iter()
                .map(|m| m.chars().count() as u32)
                .max()
                .unwrap_or(0);
            t
        }
        D::Set(members) => {
            let mut t = SqlType::new(TypeKind::Set);
            t.members = members.clone();
            t.length = members
                .iter()
                .map(|m| m.chars().count() as u32 + 1)
                .sum::<u32>()
                .saturating_sub(1);
            t
        }
        D::JSON => SqlType::new(TypeKind::Json),
        D::Collate(inner, collation) => {
            let mut t = column_type(inner)?;
            t.collation = Collation::named(&collation.to_string())?;
            t
        }
        other => return Err(crate::error::unsupported(&format!("column type {other}"))),
    })
}

fn error_syntax_type(dt: &DataType) -> SqlError {
    crate::error::syntax(&dt.to_string(), 1)
}

/// The target of `CAST(x AS type)`: MySQL's cast types (SIGNED, UNSIGNED,
/// DECIMAL, CHAR, BINARY, DATE, DATETIME, TIME, DOUBLE, FLOAT, JSON).
pub fn cast_target(dt: &DataType) -> Result<SqlType, SqlError> {
    use DataType as D;
    Ok(match dt {
        D::Signed | D::SignedInteger => SqlType::new(TypeKind::BigInt),
        D::Unsigned | D::UnsignedInteger => {
            let mut t = SqlType::new(TypeKind::BigInt);
            t.unsigned = true;
            t
        }
        D::Char(l) | D::Character(l) => {
            let mut t = SqlType::new(TypeKind::VarChar);
            t.length = char_len(l, u32::MAX);
            t
        }
        D::Binary(l) => {
            let mut t = SqlType::new(TypeKind::VarBinary);
            t.length = l.map_or(u32::MAX, |l| l as u32);
            t
        }
        other => column_type(other)?,
    })
}

/// The MySQL type code and flags a column of `ty` is described with.
pub fn wire_type(ty: &SqlType) -> (ColumnType, u16) {
    let num = flags::NUM | if ty.unsigned { flags::UNSIGNED } else { 0 };
    match ty.kind {
        TypeKind::TinyInt => (ColumnType::Tiny, num),
        TypeKind::SmallInt => (ColumnType::Short, num),
        TypeKind::MediumInt => (ColumnType::Int24, num),
        TypeKind::Int => (ColumnType::Long, num),
        TypeKind::BigInt => (ColumnType::LongLong, num),
        TypeKind::Year => (ColumnType::Year, flags::UNSIGNED | flags::NUM),
        TypeKind::Decimal => (ColumnType::NewDecimal, num),
        TypeKind::Float => (ColumnType::Float, num),
        TypeKind::Double => (ColumnType::Double, num),
        TypeKind::Char => (ColumnType::String, 0),
        TypeKind::Binary => (ColumnType::String, flags::BINARY),
        TypeKind::VarChar => (ColumnType::VarString, 0),
        TypeKind::VarBinary => (ColumnType::VarString, flags::BINARY),
        TypeKind::Text => (ColumnType::Blob, flags::BLOB),
        TypeKind::Blob => (ColumnType::Blob, flags::BLOB | flags::BINARY),
        TypeKind::Date => (ColumnType::Date, flags::BINARY),
        TypeKind::DateTime => (ColumnType::DateTime, flags::BINARY),
        TypeKind::Timestamp => (ColumnType::Timestamp, flags::BINARY | flags::TIMESTAMP),
        TypeKind::Time => (ColumnType::Time, flags::BINARY),
        TypeKind::Enum => (ColumnType::String, flags::ENUM),
        TypeKind::Set => (ColumnType::String, flags::SET),
        TypeKind::Json => (ColumnType::Json, flags::BLOB | flags::BINARY),
        TypeKind::Null => (ColumnType::Null, flags::BINARY),
    }
}

/// The display length MySQL reports for a column of `ty` (in bytes of the
/// result charset: 4 per character for utf8mb4 text).
fn display_length(ty: &SqlType) -> u32 {
    match ty.kind {
        TypeKind::Char
        | TypeKind::VarChar
        | TypeKind::Text
        | TypeKind::Enum
        | TypeKind::Set
        | TypeKind::Json => ty.length.saturating_mul(4),
        TypeKind::Decimal => ty.length + u32::from(ty.scale > 0) + u32::from(!ty.unsigned),
        TypeKind::DateTime | TypeKind::Timestamp => {
            19 + if ty.scale > 0 { 1 + ty.scale as u32 } else { 0 }
        }
        TypeKind::Time => 10 + if ty.scale > 0 { 1 + ty.scale as u32 } else { 0 },
        _ => ty.length,
    }
}

/// Describe a value of `ty` to clients.
pub fn column_info(
    ty: &SqlType,
    schema: &str,
    table: &str,
    org_table: &str,
    name: &str,
    org_name: &str,
) -> ColumnInfo {
    let (column_type, type_flags) = wire_type(ty);
    let charset = if ty.is_string() && ty.collation != Collation::Binary {
        ty.collation.id()
    } else {
        Collation::Binary.id()
    };
    ColumnInfo {
        schema: schema.into(),
        table: table.into(),
        org_table: org_table.into(),
        name: name.into(),
        org_name: org_name.into(),
        charset,
        length: display_length(ty),
        column_type,
        flags: type_flags,
        decimals: match ty.kind {
            TypeKind::Decimal
            | TypeKind::Float
            | TypeKind::Double
            | TypeKind::DateTime
            | TypeKind::Timestamp
            | TypeKind::Time => ty.scale,
            _ => 0,
        },
    }
}

/// Describe column `pos` of `table` (shown as `shown`) to clients, with its
/// key and NOT NULL flags.
pub fn table_column_info(db: &str, shown: &str, table: &TableDef, pos: usize) -> ColumnInfo {
    let c = &table.columns[pos];
    let mut info = column_info(&c.ty, db, shown, &table.name, &c.name, &c.name);
    if !c.nullable {
        info.flags |= flags::NOT_NULL;
    }
    if c.auto_increment {
        info.flags |= flags::AUTO_INCREMENT;
    }
    for index in &table.indexes {
        match index.columns.iter().position(|&(p, _)| p == pos) {
            Some(0) if index.primary => info.flags |= flags::PRI_KEY,
            Some(0) if index.unique && index.columns.len() == 1 => info.flags |= flags::UNIQUE_KEY,
            Some(0) => info.flags |= flags::MULTIPLE_KEY,
            _ => {}
        }
    }
    info
}
