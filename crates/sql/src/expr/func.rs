//! Scalar functions by name: the catalog ([`Func::lookup`], arity, result
//! types) and their evaluation with MySQL's semantics.
//!
//! Arguments arrive evaluated, except for IF, IFNULL and COALESCE, whose
//! unused arguments [`Expr::eval`] never evaluates. String functions work on
//! characters of UTF-8 text (invalid bytes count as one character each);
//! searches that MySQL makes collation-aware (INSTR, LOCATE, FIND_IN_SET,
//! STRCMP, FIELD, NULLIF, GREATEST/LEAST on strings, the REGEXP family) use
//! the collation the planner derived from the arguments.
//!
//! Date and time functions live in the `datetime` submodule; functions
//! taking an `INTERVAL` carry its unit in the variant ([`IntervalUnit`]).

mod datetime;
pub(crate) mod json;
#[cfg(test)]
mod tests;
mod text;

pub use datetime::IntervalUnit;

use super::cast::{self, decimal_ops};
use super::eval::{self, bool_datum, compare_strings, decimal_type, merge_types};
use super::{BinaryOp, EvalContext, Expr, Level, UnaryOp};
use crate::result::SqlError;
use crate::types::{Collation, SqlType, TypeKind};
use codec::Datum;
use decimal_ops::Rounding;
use std::cmp::Ordering;

/// What VERSION() reports.
pub const VERSION: &str = "8.0.11-Basalt-0.1.0";

/// Longest string a function may build (MySQL's default
/// `max_allowed_packet`, 64 MiB); longer results are NULL with a warning.
const MAX_STRING: usize = 64 << 20;

/// Which arguments of JSON_ARRAY / JSON_OBJECT are JSON documents or
/// conditions, one bit per argument position (the planner knows their
/// types; values do not carry them): MySQL embeds a JSON argument as
/// itself, not as a string, and a condition as `true` / `false`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct JsonArgs {
    /// Arguments of type JSON.
    pub json: u64,
    /// Arguments that are conditions (comparisons, `TRUE`, ...).
    pub boolean: u64,
}

/// A scalar function.
///
/// `TrimLeading`/`TrimTrailing` are `TRIM(LEADING|TRAILING r FROM s)` with
/// arguments `(s, r)` (plain `TRIM(BOTH r FROM s)` is `Trim(s, r)`);
/// `DateAdd`/`DateSub` take `(date, amount)` and `TimestampAdd` is
/// `DateAdd` with its arguments reordered by the planner; `TimestampDiff`
/// takes `(from, to)` and `Extract` takes `(value)`. `POSITION(a IN b)` is
/// `Locate(a, b)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    // Strings.
    /// CONCAT.
    Concat,
    /// CONCAT_WS.
    ConcatWs,
    /// LENGTH / OCTET_LENGTH: bytes.
    Length,
    /// CHAR_LENGTH / CHARACTER_LENGTH: characters.
    CharLength,
    /// LOWER / LCASE.
    Lower,
    /// UPPER / UCASE.
    Upper,
    /// SUBSTRING / SUBSTR / MID.
    Substring,
    /// SUBSTRING_INDEX.
    SubstringIndex,
    /// LEFT.
    Left,
    /// RIGHT.
    Right,
    /// TRIM (both sides; optional string to remove).
    Trim,
    /// TRIM(LEADING r FROM s), as `(s, r)`.
    TrimLeading,
    /// TRIM(TRAILING r FROM s), as `(s, r)`.
    TrimTrailing,
    /// LTRIM: leading spaces.
    LTrim,
    /// RTRIM: trailing spaces.
    RTrim,
    /// REPLACE.
    Replace,
    /// REVERSE.
    Reverse,
    /// REPEAT.
    Repeat,
    /// LPAD.
    LPad,
    /// RPAD.
    RPad,
    /// INSTR.
    Instr,
    /// LOCATE / POSITION.
    Locate,
    /// ASCII.
    Ascii,
    /// HEX.
    Hex,
    /// UNHEX.
    Unhex,
    /// BIN.
    Bin,
    /// OCT.
    Oct,
    /// SPACE.
    Space,
    /// STRCMP.
    Strcmp,
    /// FORMAT.
    Format,
    /// FIND_IN_SET.
    FindInSet,
    /// FIELD.
    Field,
    /// ELT.
    Elt,
    /// MD5.
    Md5,
    /// SHA1 / SHA.
    Sha1,
    /// SHA2.
    Sha2,
    /// TO_BASE64.
    ToBase64,
    /// FROM_BASE64.
    FromBase64,
    /// QUOTE.
    Quote,
    /// CONV.
    Conv,
    /// BIT_LENGTH.
    BitLength,
    /// BIT_COUNT.
    BitCount,
    /// ORD.
    Ord,
    /// CHAR(n, ...): bytes of integers.
    Char,
    /// INSERT(s, pos, len, new).
    Insert,
    /// REGEXP_LIKE / `REGEXP` / `RLIKE`.
    RegexpLike,
    /// REGEXP_REPLACE.
    RegexpReplace,
    /// REGEXP_SUBSTR.
    RegexpSubstr,
    /// REGEXP_INSTR.
    RegexpInstr,
    /// JSON_TYPE.
    JsonType,
    /// JSON_VALID.
    JsonValid,
    /// JSON_LENGTH.
    JsonLength,
    /// JSON_EXTRACT.
    JsonExtract,
    /// JSON_UNQUOTE.
    JsonUnquote,
    /// JSON_KEYS.
    JsonKeys,
    /// JSON_CONTAINS.
    JsonContains,
    /// JSON_OBJECT.
    JsonObject(JsonArgs),
    /// JSON_ARRAY.
    JsonArray(JsonArgs),
    /// JSON_QUOTE.
    JsonQuote,
    /// JSON_SET.
    JsonSet(JsonArgs),
    /// JSON_INSERT.
    JsonInsert(JsonArgs),
    /// JSON_REPLACE.
    JsonReplace(JsonArgs),
    /// JSON_REMOVE.
    JsonRemove,
    /// JSON_ARRAY_APPEND.
    JsonArrayAppend(JsonArgs),
    /// A SQL value as the JSON scalar a comparison with a JSON operand reads
    /// it as (a string as a JSON string, a condition as `true`/`false`); the
    /// planner puts it around the other operands of such a comparison.
    ToJson(JsonArgs),
    /// A SQL string about to be read as JSON text, with its numbers read as
    /// MySQL's JSON parser reads them ([`cast::parse_json_text`]); the
    /// planner puts it wherever a string becomes JSON.
    ParseJson,
    // Numbers.
    /// ABS.
    Abs,
    /// CEIL / CEILING.
    Ceil,
    /// FLOOR.
    Floor,
    /// ROUND.
    Round,
    /// TRUNCATE.
    Truncate,
    /// MOD.
    Mod,
    /// POW / POWER.
    Pow,
    /// SQRT.
    Sqrt,
    /// EXP.
    Exp,
    /// LN.
    Ln,
    /// LOG (natural, or with a base first).
    Log,
    /// LOG10.
    Log10,
    /// LOG2.
    Log2,
    /// SIGN.
    Sign,
    /// PI.
    Pi,
    /// RAND.
    Rand,
    /// SIN.
    Sin,
    /// COS.
    Cos,
    /// TAN.
    Tan,
    /// COT.
    Cot,
    /// ASIN.
    Asin,
    /// ACOS.
    Acos,
    /// ATAN (one or two arguments).
    Atan,
    /// ATAN2.
    Atan2,
    /// DEGREES.
    Degrees,
    /// RADIANS.
    Radians,
    /// GREATEST.
    Greatest,
    /// LEAST.
    Least,
    /// CRC32.
    Crc32,
    // Control flow.
    /// IF.
    If,
    /// IFNULL.
    IfNull,
    /// NULLIF.
    NullIf,
    /// COALESCE.
    Coalesce,
    /// ISNULL.
    IsNull,
    // Dates and times.
    /// NOW / CURRENT_TIMESTAMP / SYSDATE / LOCALTIME / LOCALTIMESTAMP.
    Now,
    /// CURDATE / CURRENT_DATE.
    CurDate,
    /// CURTIME / CURRENT_TIME.
    CurTime,
    /// UTC_TIMESTAMP.
    UtcTimestamp,
    /// UTC_DATE.
    UtcDate,
    /// UTC_TIME.
    UtcTime,
    /// DATE.
    Date,
    /// TIME.
    Time,
    /// YEAR.
    Year,
    /// MONTH.
    Month,
    /// DAY / DAYOFMONTH.
    Day,
    /// HOUR.
    Hour,
    /// MINUTE.
    Minute,
    /// SECOND.
    Second,
    /// MICROSECOND.
    Microsecond,
    /// DAYOFWEEK (1 = Sunday).
    DayOfWeek,
    /// DAYOFYEAR.
    DayOfYear,
    /// WEEKDAY (0 = Monday).
    WeekDay,
    /// DAYNAME.
    DayName,
    /// MONTHNAME.
    MonthName,
    /// QUARTER.
    Quarter,
    /// WEEK / WEEKOFYEAR (mode 3).
    Week,
    /// WEEKOFYEAR.
    WeekOfYear,
    /// YEARWEEK.
    YearWeek,
    /// LAST_DAY.
    LastDay,
    /// DATEDIFF.
    DateDiff,
    /// TIMEDIFF.
    TimeDiff,
    /// DATE_FORMAT.
    DateFormat,
    /// TIME_FORMAT.
    TimeFormat,
    /// STR_TO_DATE.
    StrToDate,
    /// UNIX_TIMESTAMP.
    UnixTimestamp,
    /// FROM_UNIXTIME.
    FromUnixtime,
    /// DATE_ADD / ADDDATE / TIMESTAMPADD.
    DateAdd(IntervalUnit),
    /// DATE_SUB / SUBDATE.
    DateSub(IntervalUnit),
    /// TIMESTAMPDIFF.
    TimestampDiff(IntervalUnit),
    /// EXTRACT.
    Extract(IntervalUnit),
    /// MAKEDATE.
    MakeDate,
    /// MAKETIME.
    MakeTime,
    /// TO_DAYS.
    ToDays,
    /// FROM_DAYS.
    FromDays,
    /// TIME_TO_SEC.
    TimeToSec,
    /// SEC_TO_TIME.
    SecToTime,
    // Information.
    /// DATABASE / SCHEMA.
    Database,
    /// VERSION.
    Version,
    /// LAST_INSERT_ID (with an argument, sets it).
    LastInsertId,
    /// ROW_COUNT: the previous statement's affected rows.
    RowCount,
    /// UUID.
    Uuid,
    /// SLEEP: 0 after the time, 1 if KILL interrupted it.
    Sleep,
    /// CONNECTION_ID: the id SHOW PROCESSLIST and KILL use.
    ConnectionId,
}

impl Func {
    /// The function named `name` (case-insensitive). Functions whose unit
    /// comes from an `INTERVAL` or a keyword (DATE_ADD, DATE_SUB,
    /// TIMESTAMPADD, TIMESTAMPDIFF, EXTRACT) are built by the planner with
    /// [`Func::with_unit`]; ADDDATE/SUBDATE here are their two-argument
    /// "add days" forms.
    pub fn lookup(name: &str) -> Option<Func> {
        use Func::*;
        Some(match name.to_ascii_uppercase().as_str() {
            "CONCAT" => Concat,
            "CONCAT_WS" => ConcatWs,
            "LENGTH" | "OCTET_LENGTH" => Length,
            "CHAR_LENGTH" | "CHARACTER_LENGTH" => CharLength,
            "LOWER" | "LCASE" => Lower,
            "UPPER" | "UCASE" => Upper,
            "SUBSTRING" | "SUBSTR" | "MID" => Substring,
            "SUBSTRING_INDEX" => SubstringIndex,
            "LEFT" => Left,
            "RIGHT" => Right,
            "TRIM" => Trim,
            "LTRIM" => LTrim,
            "RTRIM" => RTrim,
            "REPLACE" => Replace,
            "REVERSE" => Reverse,
            "REPEAT" => Repeat,
            "LPAD" => LPad,
            "RPAD" => RPad,
            "INSTR" => Instr,
            "LOCATE" | "POSITION" => Locate,
            "ASCII" => Ascii,
            "HEX" => Hex,
            "UNHEX" => Unhex,
            "BIN" => Bin,
            "OCT" => Oct,
            "SPACE" => Space,
            "STRCMP" => Strcmp,
            "FORMAT" => Format,
            "FIND_IN_SET" => FindInSet,
            "FIELD" => Field,
            "ELT" => Elt,
            "MD5" => Md5,
            "SHA1" | "SHA" => Sha1,
            "SHA2" => Sha2,
            "TO_BASE64" => ToBase64,
            "FROM_BASE64" => FromBase64,
            "QUOTE" => Quote,
            "CONV" => Conv,
            "BIT_LENGTH" => BitLength,
            "BIT_COUNT" => BitCount,
            "ORD" => Ord,
            "CHAR" => Char,
            "INSERT" => Insert,
            "REGEXP_LIKE" => RegexpLike,
            "REGEXP_REPLACE" => RegexpReplace,
            "REGEXP_SUBSTR" => RegexpSubstr,
            "REGEXP_INSTR" => RegexpInstr,
            "JSON_TYPE" => JsonType,
            "JSON_VALID" => JsonValid,
            "JSON_LENGTH" => JsonLength,
            "JSON_EXTRACT" => JsonExtract,
            "JSON_UNQUOTE" => JsonUnquote,
            "JSON_KEYS" => JsonKeys,
            "JSON_CONTAINS" => JsonContains,
            "JSON_OBJECT" => JsonObject(JsonArgs::default()),
            "JSON_ARRAY" => JsonArray(JsonArgs::default()),
            "JSON_QUOTE" => JsonQuote,
            "JSON_SET" => JsonSet(JsonArgs::default()),
            "JSON_INSERT" => JsonInsert(JsonArgs::default()),
            "JSON_REPLACE" => JsonReplace(JsonArgs::default()),
            "JSON_REMOVE" => JsonRemove,
            "JSON_ARRAY_APPEND" => JsonArrayAppend(JsonArgs::default()),
            "ABS" => Abs,
            "CEIL" | "CEILING" => Ceil,
            "FLOOR" => Floor,
            "ROUND" => Round,
            "TRUNCATE" => Truncate,
            "MOD" => Mod,
            "POW" | "POWER" => Pow,
            "SQRT" => Sqrt,
            "EXP" => Exp,
            "LN" => Ln,
            "LOG" => Log,
            "LOG10" => Log10,
            "LOG2" => Log2,
            "SIGN" => Sign,
            "PI" => Pi,
            "RAND" => Rand,
            "SIN" => Sin,
            "COS" => Cos,
            "TAN" => Tan,
            "COT" => Cot,
            "ASIN" => Asin,
            "ACOS" => Acos,
            "ATAN" => Atan,
            "ATAN2" => Atan2,
            "DEGREES" => Degrees,
            "RADIANS" => Radians,
            "GREATEST" => Greatest,
            "LEAST" => Least,
            "CRC32" => Crc32,
            "IF" => If,
            "IFNULL" => IfNull,
            "NULLIF" => NullIf,
            "COALESCE" => Coalesce,
            "ISNULL" => IsNull,
            "NOW" | "CURRENT_TIMESTAMP" | "SYSDATE" | "LOCALTIME" | "LOCALTIMESTAMP" => Now,
            "CURDATE" | "CURRENT_DATE" => CurDate,
            "CURTIME" | "CURRENT_TIME" => CurTime,
            "UTC_TIMESTAMP" => UtcTimestamp,
            "UTC_DATE" => UtcDate,
            "UTC_TIME" => UtcTime,
            "DATE" => Date,
            "TIME" => Time,
            "YEAR" => Year,
            "MONTH" => Month,
            "DAY" | "DAYOFMONTH" => Day,
            "HOUR" => Hour,
            "MINUTE" => Minute,
            "SECOND" => Second,
            "MICROSECOND" => Microsecond,
            "DAYOFWEEK" => DayOfWeek,
            "DAYOFYEAR" => DayOfYear,
            "WEEKDAY" => WeekDay,
            "DAYNAME" => DayName,
            "MONTHNAME" => MonthName,
            "QUARTER" => Quarter,
            "WEEK" => Week,
            "WEEKOFYEAR" => WeekOfYear,
            "YEARWEEK" => YearWeek,
            "LAST_DAY" => LastDay,
            "DATEDIFF" => DateDiff,
            "TIMEDIFF" => TimeDiff,
            "DATE_FORMAT" => DateFormat,
            "TIME_FORMAT" => TimeFormat,
            "STR_TO_DATE" => StrToDate,
            "UNIX_TIMESTAMP" => UnixTimestamp,
            "FROM_UNIXTIME" => FromUnixtime,
            "ADDDATE" => DateAdd(IntervalUnit::Day),
            "SUBDATE" => DateSub(IntervalUnit::Day),
            "MAKEDATE" => MakeDate,
            "MAKETIME" => MakeTime,
            "TO_DAYS" => ToDays,
            "FROM_DAYS" => FromDays,
            "TIME_TO_SEC" => TimeToSec,
            "SEC_TO_TIME" => SecToTime,
            "DATABASE" | "SCHEMA" => Database,
            "VERSION" => Version,
            "LAST_INSERT_ID" => LastInsertId,
            "ROW_COUNT" => RowCount,
            "UUID" => Uuid,
            "SLEEP" => Sleep,
            "CONNECTION_ID" => ConnectionId,
            _ => return None,
        })
    }

    /// The function `name` with an interval or field unit: DATE_ADD,
    /// ADDDATE, TIMESTAMPADD (arguments reordered to `(date, amount)`),
    /// DATE_SUB, SUBDATE, TIMESTAMPDIFF, EXTRACT.
    pub fn with_unit(name: &str, unit: IntervalUnit) -> Option<Func> {
        Some(match name.to_ascii_uppercase().as_str() {
            "DATE_ADD" | "ADDDATE" | "TIMESTAMPADD" => Func::DateAdd(unit),
            "DATE_SUB" | "SUBDATE" => Func::DateSub(unit),
            "TIMESTAMPDIFF" => Func::TimestampDiff(unit),
            "EXTRACT" => Func::Extract(unit),
            _ => return None,
        })
    }

    /// MySQL's name for the function, for messages.
    pub fn name(self) -> &'static str {
        use Func::*;
        match self {
            Concat => "concat",
            ConcatWs => "concat_ws",
            Length => "length",
            CharLength => "char_length",
            Lower => "lower",
            Upper => "upper",
            Substring => "substring",
            SubstringIndex => "substring_index",
            Left => "left",
            Right => "right",
            Trim | TrimLeading | TrimTrailing => "trim",
            LTrim => "ltrim",
            RTrim => "rtrim",
            Replace => "replace",
            Reverse => "reverse",
            Repeat => "repeat",
            LPad => "lpad",
            RPad => "rpad",
            Instr => "instr",
            Locate => "locate",
            Ascii => "ascii",
            Hex => "hex",
            Unhex => "unhex",
            Bin => "bin",
            Oct => "oct",
            Space => "space",
            Strcmp => "strcmp",
            Format => "format",
            FindInSet => "find_in_set",
            Field => "field",
            Elt => "elt",
            Md5 => "md5",
            Sha1 => "sha1",
            Sha2 => "sha2",
            ToBase64 => "to_base64",
            FromBase64 => "from_base64",
            Quote => "quote",
            Conv => "conv",
            BitLength => "bit_length",
            BitCount => "bit_count",
            Ord => "ord",
            Char => "char",
            Insert => "insert",
            RegexpLike => "regexp_like",
            RegexpReplace => "regexp_replace",
            RegexpSubstr => "regexp_substr",
            RegexpInstr => "regexp_instr",
            JsonType => "json_type",
            JsonValid => "json_valid",
            JsonLength => "json_length",
            JsonExtract => "json_extract",
            JsonUnquote => "json_unquote",
            JsonKeys => "json_keys",
            JsonContains => "json_contains",
            JsonObject(_) => "json_object",
            JsonArray(_) => "json_array",
            JsonQuote => "json_quote",
            JsonSet(_) => "json_set",
            JsonInsert(_) => "json_insert",
            JsonReplace(_) => "json_replace",
            JsonRemove => "json_remove",
            JsonArrayAppend(_) => "json_array_append",
            ToJson(_) => "cast_as_json",
            ParseJson => "json_parse",
            Abs => "abs",
            Ceil => "ceiling",
            Floor => "floor",
            Round => "round",
            Truncate => "truncate",
            Mod => "mod",
            Pow => "pow",
            Sqrt => "sqrt",
            Exp => "exp",
            Ln => "ln",
            Log => "log",
            Log10 => "log10",
            Log2 => "log2",
            Sign => "sign",
            Pi => "pi",
            Rand => "rand",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Cot => "cot",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Atan2 => "atan2",
            Degrees => "degrees",
            Radians => "radians",
            Greatest => "greatest",
            Least => "least",
            Crc32 => "crc32",
            If => "if",
            IfNull => "ifnull",
            NullIf => "nullif",
            Coalesce => "coalesce",
            IsNull => "isnull",
            Now => "now",
            CurDate => "curdate",
            CurTime => "curtime",
            UtcTimestamp => "utc_timestamp",
            UtcDate => "utc_date",
            UtcTime => "utc_time",
            Date => "date",
            Time => "time",
            Year => "year",
            Month => "month",
            Day => "dayofmonth",
            Hour => "hour",
            Minute => "minute",
            Second => "second",
            Microsecond => "microsecond",
            DayOfWeek => "dayofweek",
            DayOfYear => "dayofyear",
            WeekDay => "weekday",
            DayName => "dayname",
            MonthName => "monthname",
            Quarter => "quarter",
            Week => "week",
            WeekOfYear => "weekofyear",
            YearWeek => "yearweek",
            LastDay => "last_day",
            DateDiff => "datediff",
            TimeDiff => "timediff",
            DateFormat => "date_format",
            TimeFormat => "time_format",
            StrToDate => "str_to_date",
            UnixTimestamp => "unix_timestamp",
            FromUnixtime => "from_unixtime",
            DateAdd(_) => "date_add",
            DateSub(_) => "date_sub",
            TimestampDiff(_) => "timestampdiff",
            Extract(_) => "extract",
            MakeDate => "makedate",
            MakeTime => "maketime",
            ToDays => "to_days",
            FromDays => "from_days",
            TimeToSec => "time_to_sec",
            SecToTime => "sec_to_time",
            Database => "database",
            Version => "version",
            LastInsertId => "last_insert_id",
            RowCount => "row_count",
            Uuid => "uuid",
            Sleep => "sleep",
            ConnectionId => "connection_id",
        }
    }

    /// The smallest and largest argument counts (`usize::MAX`: no limit).
    pub fn arity(self) -> (usize, usize) {
        use Func::*;
        const MANY: usize = usize::MAX;
        match self {
            Pi | CurDate | UtcDate | Database | Version | Uuid | ConnectionId | RowCount => (0, 0),
            Now | CurTime | UtcTimestamp | UtcTime | Rand | LastInsertId | UnixTimestamp => (0, 1),
            Concat | Coalesce | Char | JsonRemove => (1, MANY),
            JsonObject(_) | JsonArray(_) => (0, MANY),
            JsonExtract => (2, MANY),
            JsonSet(_) | JsonInsert(_) | JsonReplace(_) | JsonArrayAppend(_) => (3, MANY),
            JsonLength | JsonKeys => (1, 2),
            JsonContains => (2, 3),
            ConcatWs | Field | Elt | Greatest | Least => (2, MANY),
            Round | Week | YearWeek | Log | Atan | Trim | FromUnixtime => (1, 2),
            Substring | Locate | Format => (2, 3),
            SubstringIndex | Replace | LPad | RPad | If | MakeTime | Conv | RegexpReplace => (3, 3),
            Insert => (4, 4),
            Left | Right | TrimLeading | TrimTrailing | Repeat | Instr | Strcmp | FindInSet
            | Truncate | Mod | Pow | Atan2 | IfNull | NullIf | DateDiff | TimeDiff | DateFormat
            | TimeFormat | StrToDate | DateAdd(_) | DateSub(_) | TimestampDiff(_) | MakeDate
            | Sha2 | RegexpLike | RegexpSubstr | RegexpInstr => (2, 2),
            _ => (1, 1),
        }
    }

    /// 1582 unless `count` arguments suit the function.
    pub fn check_arg_count(self, count: usize) -> Result<(), SqlError> {
        let (min, max) = self.arity();
        if (min..=max).contains(&count) {
            return Ok(());
        }
        Err(SqlError::new(
            1582,
            "42000",
            format!(
                "Incorrect parameter count in the call to native function '{}'",
                self.name()
            ),
        ))
    }

    /// Whether equal arguments always give the same result within and
    /// across statements, so a call on constants may be folded at plan
    /// time: not for the clock, random values, or session state.
    pub fn is_deterministic(self) -> bool {
        use Func::*;
        !matches!(
            self,
            Rand | Uuid
                | Sleep
                | Now
                | CurDate
                | CurTime
                | UtcTimestamp
                | UtcDate
                | UtcTime
                | UnixTimestamp
                | LastInsertId
                | RowCount
                | Database
        )
    }

    /// Whether DECIMAL arguments should arrive with all the digits
    /// arithmetic computed (`ROUND(1/3, 6)` is `0.333333`, as in MySQL)
    /// rather than rounded to their declared scale.
    pub(crate) fn wants_exact_numbers(self) -> bool {
        use Func::*;
        matches!(self, Round | Truncate | Floor | Ceil | Abs | Sign | Mod)
    }

    /// The result type MySQL reports for a call with arguments of these
    /// types.
    pub fn return_type(self, args: &[SqlType]) -> SqlType {
        use Func::*;
        let arg = |i: usize| {
            args.get(i)
                .cloned()
                .unwrap_or_else(|| SqlType::new(TypeKind::Null))
        };
        let text = |length: u32| SqlType {
            length: length.min(MAX_STRING as u32),
            ..SqlType::new(TypeKind::VarChar)
        };
        let string_like = |length: u32| {
            let binary = args
                .iter()
                .any(|t| t.is_string() && t.collation == Collation::Binary);
            let collation = args
                .iter()
                .find(|t| t.is_string())
                .map_or(Collation::Utf8mb4GeneralCi, |t| t.collation);
            let kind = if binary {
                TypeKind::VarBinary
            } else {
                TypeKind::VarChar
            };
            SqlType {
                length: length.min(MAX_STRING as u32),
                collation: if binary { Collation::Binary } else { collation },
                ..SqlType::new(kind)
            }
        };
        let int = |length: u32| SqlType {
            length,
            ..SqlType::new(TypeKind::BigInt)
        };
        let double = || SqlType::new(TypeKind::Double);
        match self {
            Concat => string_like(args.iter().map(text_width).sum()),
            ConcatWs => {
                let parts: u32 = args.iter().skip(1).map(text_width).sum();
                string_like(parts + text_width(&arg(0)) * (args.len().saturating_sub(2) as u32))
            }
            Lower | Upper | Reverse | LTrim | RTrim | Trim | TrimLeading | TrimTrailing
            | Substring | Left | Right | SubstringIndex => string_like(text_width(&arg(0))),
            Replace | Repeat | LPad | RPad | Space => string_like(MAX_STRING as u32),
            Hex => text(text_width(&arg(0)) * 2),
            Unhex => SqlType {
                length: text_width(&arg(0)).div_ceil(2),
                ..SqlType::new(TypeKind::VarBinary)
            },
            Bin | Oct => text(64),
            Format => text(text_width(&arg(0)) + 32),
            Elt => merge_types(&args[1.min(args.len())..]),
            Md5 => text(32),
            Sha1 => text(40),
            Sha2 => text(128),
            ToBase64 => text(text_width(&arg(0)).saturating_mul(4) / 3 + 4),
            Char => SqlType {
                length: args.len() as u32 * 4,
                ..SqlType::new(TypeKind::VarBinary)
            },
            FromBase64 => SqlType {
                length: text_width(&arg(0)),
                ..SqlType::new(TypeKind::VarBinary)
            },
            Quote => string_like(text_width(&arg(0)).saturating_mul(2) + 2),
            Conv => text(64),
            RegexpReplace => string_like(MAX_STRING as u32),
            RegexpSubstr => string_like(text_width(&arg(0))),
            Insert => string_like(text_width(&arg(0)) + text_width(&arg(3))),
            BitLength | BitCount | Ord | RegexpLike | RegexpInstr => int(10),
            JsonValid | JsonLength | JsonContains => int(10),
            JsonType => text(16),
            ParseJson => arg(0),
            JsonUnquote => SqlType {
                length: text_width(&arg(0)),
                ..SqlType::new(TypeKind::Text)
            },
            JsonExtract | JsonKeys | JsonObject(_) | JsonArray(_) | JsonQuote | JsonSet(_)
            | JsonInsert(_) | JsonReplace(_) | JsonRemove | JsonArrayAppend(_) | ToJson(_) => {
                SqlType::new(TypeKind::Json)
            }
            Length | CharLength | Instr | Locate | Ascii | Strcmp | FindInSet | Field => int(10),
            Abs | Ceil | Floor => match arg(0).kind {
                k if arg(0).is_integer() || k == TypeKind::Null => SqlType {
                    unsigned: arg(0).unsigned,
                    ..int(arg(0).length.max(1))
                },
                TypeKind::Decimal if self == Abs => arg(0),
                TypeKind::Decimal => {
                    let t = arg(0);
                    let digits = t.length.saturating_sub(t.scale as u32) + 1;
                    if digits <= 18 {
                        int(digits)
                    } else {
                        decimal_type(digits, 0)
                    }
                }
                _ => double(),
            },
            Round | Truncate => match arg(0).kind {
                k if arg(0).is_integer() || k == TypeKind::Null => SqlType {
                    unsigned: arg(0).unsigned,
                    ..int(arg(0).length.max(1))
                },
                TypeKind::Decimal => {
                    let t = arg(0);
                    // The scale is the second argument's value, unknown here:
                    // keep the argument's (Expr::ty refines constants).
                    decimal_type(t.length + 1, t.scale as u32)
                }
                _ => double(),
            },
            Mod => eval::arithmetic_type(BinaryOp::Mod, &arg(0), &arg(1)),
            Sign => int(2),
            Pi => SqlType {
                scale: 6,
                length: 8,
                ..double()
            },
            Pow | Sqrt | Exp | Ln | Log | Log10 | Log2 | Rand | Sin | Cos | Tan | Cot | Asin
            | Acos | Atan | Atan2 | Degrees | Radians => double(),
            Greatest | Least | If | IfNull | Coalesce => {
                let branches = if self == If {
                    &args[1.min(args.len())..]
                } else {
                    args
                };
                merge_types(branches)
            }
            NullIf => arg(0),
            Crc32 => SqlType {
                unsigned: true,
                ..SqlType::new(TypeKind::Int)
            },
            IsNull => eval::bool_type(),
            Database => text(64),
            Version => text(VERSION.len() as u32),
            LastInsertId => SqlType {
                unsigned: true,
                ..SqlType::new(TypeKind::BigInt)
            },
            Uuid => text(36),
            Sleep => SqlType::new(TypeKind::BigInt),
            ConnectionId => SqlType {
                unsigned: true,
                ..SqlType::new(TypeKind::BigInt)
            },
            RowCount => SqlType::new(TypeKind::BigInt),
            _ => datetime::return_type(self, args),
        }
    }

    /// [`Func::return_type`], refined where MySQL looks at constant
    /// arguments (ROUND's digits, STR_TO_DATE's format, FROM_UNIXTIME's
    /// fraction).
    pub(crate) fn return_type_of(self, args: &[Expr], types: &[SqlType]) -> SqlType {
        let constant = |i: usize| match args.get(i) {
            Some(Expr::Literal(d)) => Some(d.clone()),
            Some(Expr::Unary(UnaryOp::Neg, e)) => match e.as_ref() {
                Expr::Literal(Datum::I64(v)) => Some(Datum::I64(v.wrapping_neg())),
                _ => None,
            },
            _ => None,
        };
        match self {
            Func::Round | Func::Truncate
                if types.first().is_some_and(|t| t.kind == TypeKind::Decimal) =>
            {
                let t = &types[0];
                let digits = match constant(1) {
                    Some(Datum::I64(v)) => v.clamp(0, 30) as u32,
                    Some(_) => t.scale as u32,
                    None if args.len() == 1 => 0,
                    None => t.scale as u32,
                };
                decimal_type(t.length.saturating_sub(t.scale as u32) + digits + 1, digits)
            }
            // A constant time string has the fraction it is written with.
            Func::UnixTimestamp | Func::TimeToSec
                if matches!(constant(0), Some(Datum::Bytes(_))) =>
            {
                let text = match constant(0) {
                    Some(Datum::Bytes(b)) => String::from_utf8_lossy(&b).into_owned(),
                    _ => String::new(),
                };
                let fsp = text
                    .rsplit_once('.')
                    .filter(|(time, _)| time.contains(':'))
                    .map_or(0, |(_, fraction)| {
                        fraction
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .count()
                            .min(6)
                    });
                let mut written = types.to_vec();
                written[0] = SqlType {
                    scale: fsp as u8,
                    ..SqlType::new(TypeKind::DateTime)
                };
                self.return_type(&written)
            }
            Func::StrToDate => match constant(1).as_ref().and_then(cast::as_text) {
                Some(format) => datetime::str_to_date_type(&format),
                None => self.return_type(types),
            },
            _ => self.return_type(types),
        }
    }

    /// Evaluates the function on evaluated arguments.
    pub fn eval(
        self,
        args: &[Datum],
        collation: Collation,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Datum, SqlError> {
        use Func::*;
        self.check_arg_count(args.len())?;
        match self {
            If => {
                let pick = if eval::truth(&args[0], ctx)? == Some(true) {
                    1
                } else {
                    2
                };
                Ok(args[pick].clone())
            }
            IfNull | Coalesce => Ok(args
                .iter()
                .find(|a| **a != Datum::Null)
                .cloned()
                .unwrap_or(Datum::Null)),
            NullIf => Ok(
                match eval::compare_values(&args[0], &args[1], collation, ctx)? {
                    Some(Ordering::Equal) => Datum::Null,
                    _ => args[0].clone(),
                },
            ),
            IsNull => Ok(bool_datum(args[0] == Datum::Null)),
            Database => Ok(ctx
                .database
                .clone()
                .map_or(Datum::Null, |d| Datum::Bytes(d.into_bytes()))),
            Version => Ok(Datum::Bytes(VERSION.as_bytes().to_vec())),
            LastInsertId => match args.first() {
                None => Ok(Datum::U64(ctx.last_insert_id)),
                Some(v) => {
                    let Some(id) = cast::to_u64(v, ctx)? else {
                        return Ok(Datum::Null);
                    };
                    ctx.last_insert_id = id;
                    Ok(Datum::U64(id))
                }
            },
            Uuid => Ok(Datum::Bytes(uuid().into_bytes())),
            ConnectionId => Ok(Datum::U64(ctx.process.map_or(0, |p| p.id().into()))),
            Sleep => {
                let seconds = cast::to_f64(&args[0], ctx)?.unwrap_or(0.0);
                Ok(Datum::I64(sleep(seconds, ctx) as i64))
            }
            RowCount => Ok(Datum::I64(ctx.row_count)),
            Greatest | Least => extreme(self == Greatest, args, collation, ctx),
            Abs | Ceil | Floor | Round | Truncate | Mod | Pow | Sqrt | Exp | Ln | Log | Log10
            | Log2 | Sign | Pi | Rand | Sin | Cos | Tan | Cot | Asin | Acos | Atan | Atan2
            | Degrees | Radians | Crc32 => numeric(self, args, ctx),
            Concat | ConcatWs | Length | CharLength | Lower | Upper | Substring
            | SubstringIndex | Left | Right | Trim | TrimLeading | TrimTrailing | LTrim | RTrim
            | Replace | Reverse | Repeat | LPad | RPad | Instr | Locate | Ascii | Hex | Unhex
            | Bin | Oct | Space | Strcmp | Format | FindInSet | Field | Elt => {
                string(self, args, collation, ctx)
            }
            Md5 | Sha1 | Sha2 | ToBase64 | FromBase64 | Quote | Conv | BitLength | BitCount
            | Ord | Char | Insert | RegexpLike | RegexpReplace | RegexpSubstr | RegexpInstr => {
                text::eval(self, args, collation, ctx)
            }
            JsonType | JsonValid | JsonLength | JsonExtract | JsonUnquote | JsonKeys
            | JsonContains | JsonObject(_) | JsonArray(_) | JsonQuote | JsonSet(_)
            | JsonInsert(_) | JsonReplace(_) | JsonRemove | JsonArrayAppend(_) | ToJson(_) => {
                json::eval(self, args)
            }
            ParseJson => Ok(cast::parse_json_text(args[0].clone())),
            _ => datetime::eval(self, args, ctx),
        }
    }
}

/// Characters a value of this type takes as text (for string results).
fn text_width(t: &SqlType) -> u32 {
    match t.kind {
        TypeKind::Decimal => t.length + 2,
        TypeKind::Float => 12,
        TypeKind::Double => 22,
        TypeKind::Date => 10,
        TypeKind::DateTime | TypeKind::Timestamp => 26,
        TypeKind::Time => 17,
        TypeKind::Null => 0,
        _ => t.length,
    }
}

// ---------------------------------------------------------------------------
// Strings

/// A string result, or NULL with MySQL's warning when it would exceed
/// `max_allowed_packet`.
fn bounded(func: Func, bytes: Vec<u8>, ctx: &mut EvalContext<'_>) -> Datum {
    if bytes.len() > MAX_STRING {
        too_long(func, ctx)
    } else {
        Datum::Bytes(bytes)
    }
}

fn too_long(func: Func, ctx: &mut EvalContext<'_>) -> Datum {
    let message = format!(
        "Result of {}() was larger than max_allowed_packet ({MAX_STRING}) - truncated",
        func.name()
    );
    cast::push_warning(ctx, Level::Warning, 1301, message);
    Datum::Null
}

/// Byte offsets of each character start, plus the end.
fn char_bounds(b: &[u8]) -> Vec<usize> {
    let mut bounds = Vec::with_capacity(b.len() + 1);
    for chunk in b.utf8_chunks() {
        let base = chunk.valid().as_ptr() as usize - b.as_ptr() as usize;
        bounds.extend(chunk.valid().char_indices().map(|(i, _)| base + i));
        let bad = base + chunk.valid().len();
        bounds.extend(bad..bad + chunk.invalid().len());
    }
    bounds.push(b.len());
    bounds
}

/// Characters `from..to` (clamped) of `b`.
fn char_slice(b: &[u8], from: usize, to: usize) -> Vec<u8> {
    let bounds = char_bounds(b);
    let count = bounds.len() - 1;
    let (from, to) = (from.min(count), to.clamp(from.min(count), count));
    b[bounds[from]..bounds[to]].to_vec()
}

/// Maps each character with a one-to-one case mapping (`ß` stays `ß` in
/// UPPER, as in MySQL); invalid bytes pass through.
fn map_case(b: &[u8], upper: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mapped = if upper {
                let mut it = c.to_uppercase();
                match (it.next(), it.next()) {
                    (Some(u), None) => u,
                    _ => c,
                }
            } else {
                let mut it = c.to_lowercase();
                match (it.next(), it.next()) {
                    (Some(l), None) => l,
                    _ => c,
                }
            };
            let mut buf = [0; 4];
            out.extend_from_slice(mapped.encode_utf8(&mut buf).as_bytes());
        }
        out.extend_from_slice(chunk.invalid());
    }
    out
}

/// 1-based position of `needle` in `hay` at or after unit `start`
/// (0-based) under `collation` (characters, or bytes for `binary`); 0 when
/// absent.
fn find(hay: &[u8], needle: &[u8], start: usize, collation: Collation) -> i64 {
    let h: Vec<u32> = eval::weights(hay, collation).collect();
    let n: Vec<u32> = eval::weights(needle, collation).collect();
    if start > h.len() {
        return 0;
    }
    if n.is_empty() {
        return start as i64 + 1;
    }
    (start..=h.len().saturating_sub(n.len()))
        .find(|&i| h.len() >= n.len() && h[i..i + n.len()] == n[..])
        .map_or(0, |i| i as i64 + 1)
}

fn text_args(args: &[Datum]) -> Option<Vec<Vec<u8>>> {
    args.iter()
        .map(|a| cast::as_text(a).map(|t| t.into_owned()))
        .collect()
}

fn find_bytes(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn string(
    func: Func,
    args: &[Datum],
    collation: Collation,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    use Func::*;
    // Functions with their own NULL rules first.
    match func {
        ConcatWs => {
            let Some(sep) = cast::as_text(&args[0]) else {
                return Ok(Datum::Null);
            };
            let parts: Vec<_> = args[1..].iter().filter_map(cast::as_text).collect();
            let mut out = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(&sep);
                }
                out.extend_from_slice(part);
            }
            return Ok(bounded(func, out, ctx));
        }
        Field => {
            if args[0] == Datum::Null {
                return Ok(Datum::I64(0));
            }
            let all_strings = args
                .iter()
                .all(|a| matches!(a, Datum::Bytes(_) | Datum::Null));
            for (i, candidate) in args[1..].iter().enumerate() {
                let equal = if all_strings {
                    matches!((&args[0], candidate), (Datum::Bytes(a), Datum::Bytes(b)) if compare_strings(a, b, collation).is_eq())
                } else if *candidate == Datum::Null {
                    false
                } else {
                    let (a, b) = (cast::to_f64(&args[0], ctx)?, cast::to_f64(candidate, ctx)?);
                    a == b
                };
                if equal {
                    return Ok(Datum::I64(i as i64 + 1));
                }
            }
            return Ok(Datum::I64(0));
        }
        Elt => {
            let Some(n) = cast::to_i64(&args[0], ctx)? else {
                return Ok(Datum::Null);
            };
            return Ok(
                match usize::try_from(n)
                    .ok()
                    .filter(|&n| n >= 1)
                    .and_then(|n| args.get(n))
                {
                    Some(v) => v.clone(),
                    None => Datum::Null,
                },
            );
        }
        Hex => {
            return Ok(match &args[0] {
                Datum::Null => Datum::Null,
                Datum::Bytes(b) => Datum::Bytes(hex_upper(b).into_bytes()),
                Datum::I64(_) | Datum::U64(_) | Datum::Decimal(_) | Datum::F64(_) => {
                    match int_bits(&args[0], ctx)? {
                        Some(v) => Datum::Bytes(format!("{v:X}").into_bytes()),
                        None => Datum::Null,
                    }
                }
                other => {
                    Datum::Bytes(hex_upper(&cast::as_text(other).unwrap_or_default()).into_bytes())
                }
            });
        }
        Bin | Oct => {
            let Some(v) = int_bits(&args[0], ctx)? else {
                return Ok(Datum::Null);
            };
            let text = if func == Bin {
                format!("{v:b}")
            } else {
                format!("{v:o}")
            };
            return Ok(Datum::Bytes(text.into_bytes()));
        }
        Format => return format_number(args, ctx),
        _ => {}
    }
    let Some(texts) = text_args(args) else {
        return Ok(Datum::Null);
    };
    let s = &texts[0];
    let int_arg = |i: usize, ctx: &mut EvalContext<'_>| cast::to_i64(&args[i], ctx);
    Ok(match func {
        Concat => bounded(func, texts.concat(), ctx),
        Length => Datum::I64(s.len() as i64),
        CharLength => Datum::I64(cast::char_count(s) as i64),
        Lower => Datum::Bytes(map_case(s, false)),
        Upper => Datum::Bytes(map_case(s, true)),
        Reverse => {
            let bounds = char_bounds(s);
            let mut out = Vec::with_capacity(s.len());
            for w in bounds.windows(2).rev() {
                out.extend_from_slice(&s[w[0]..w[1]]);
            }
            Datum::Bytes(out)
        }
        Substring => {
            let Some(pos) = int_arg(1, ctx)? else {
                return Ok(Datum::Null);
            };
            let len = match args.get(2) {
                Some(_) => match int_arg(2, ctx)? {
                    Some(l) => l,
                    None => return Ok(Datum::Null),
                },
                None => i64::MAX,
            };
            let count = cast::char_count(s) as i64;
            let start = match pos {
                0 => return Ok(Datum::Bytes(Vec::new())),
                p if p > 0 => p - 1,
                p => count + p,
            };
            if start < 0 || start >= count || len < 1 {
                return Ok(Datum::Bytes(Vec::new()));
            }
            Datum::Bytes(char_slice(
                s,
                start as usize,
                start.saturating_add(len).min(count) as usize,
            ))
        }
        Left | Right => {
            let Some(n) = int_arg(1, ctx)? else {
                return Ok(Datum::Null);
            };
            let count = cast::char_count(s);
            let n = n.clamp(0, count as i64) as usize;
            Datum::Bytes(if func == Left {
                char_slice(s, 0, n)
            } else {
                char_slice(s, count - n, count)
            })
        }
        SubstringIndex => {
            let Some(n) = int_arg(2, ctx)? else {
                return Ok(Datum::Null);
            };
            let delim = &texts[1];
            if delim.is_empty() || n == 0 {
                return Ok(Datum::Bytes(Vec::new()));
            }
            let mut hits = Vec::new();
            let mut from = 0;
            while let Some(i) = find_bytes(s, delim, from) {
                hits.push(i);
                from = i + delim.len();
            }
            let k = n.unsigned_abs() as usize;
            Datum::Bytes(if k > hits.len() {
                s.clone()
            } else if n > 0 {
                s[..hits[k - 1]].to_vec()
            } else {
                s[hits[hits.len() - k] + delim.len()..].to_vec()
            })
        }
        Trim | TrimLeading | TrimTrailing | LTrim | RTrim => {
            let pad: &[u8] = texts.get(1).map_or(b" ", |p| p.as_slice());
            let (lead, trail) = match func {
                Trim => (true, true),
                TrimLeading | LTrim => (true, false),
                _ => (false, true),
            };
            let mut body: &[u8] = s;
            if !pad.is_empty() {
                while lead && body.starts_with(pad) {
                    body = &body[pad.len()..];
                }
                while trail && body.ends_with(pad) {
                    body = &body[..body.len() - pad.len()];
                }
            }
            Datum::Bytes(body.to_vec())
        }
        Replace => {
            let (from, to) = (&texts[1], &texts[2]);
            if from.is_empty() {
                return Ok(Datum::Bytes(s.clone()));
            }
            let mut out = Vec::with_capacity(s.len());
            let mut i = 0;
            while let Some(j) = find_bytes(s, from, i) {
                out.extend_from_slice(&s[i..j]);
                out.extend_from_slice(to);
                i = j + from.len();
                if out.len() > MAX_STRING {
                    return Ok(too_long(func, ctx));
                }
            }
            out.extend_from_slice(&s[i..]);
            bounded(func, out, ctx)
        }
        Repeat => {
            let Some(n) = int_arg(1, ctx)? else {
                return Ok(Datum::Null);
            };
            if n <= 0 || s.is_empty() {
                return Ok(Datum::Bytes(Vec::new()));
            }
            if (n as u128) * (s.len() as u128) > MAX_STRING as u128 {
                return Ok(too_long(func, ctx));
            }
            Datum::Bytes(s.repeat(n as usize))
        }
        Space => {
            let Some(n) = cast::to_i64(&args[0], ctx)? else {
                return Ok(Datum::Null);
            };
            if n as i128 > MAX_STRING as i128 {
                return Ok(too_long(func, ctx));
            }
            Datum::Bytes(vec![b' '; n.max(0) as usize])
        }
        LPad | RPad => {
            let Some(n) = int_arg(1, ctx)? else {
                return Ok(Datum::Null);
            };
            let pad = &texts[2];
            if n < 0 {
                return Ok(Datum::Null);
            }
            if n as u128 * 4 > MAX_STRING as u128 {
                return Ok(too_long(func, ctx));
            }
            let n = n as usize;
            let count = cast::char_count(s);
            if n <= count {
                return Ok(Datum::Bytes(char_slice(s, 0, n)));
            }
            let pad_chars = cast::char_count(pad);
            if pad_chars == 0 {
                return Ok(Datum::Null);
            }
            let need = n - count;
            let mut filler = pad.repeat(need / pad_chars);
            filler.extend_from_slice(&char_slice(pad, 0, need % pad_chars));
            let mut out = Vec::with_capacity(s.len() + filler.len());
            if func == LPad {
                out.extend_from_slice(&filler);
                out.extend_from_slice(s);
            } else {
                out.extend_from_slice(s);
                out.extend_from_slice(&filler);
            }
            Datum::Bytes(out)
        }
        Instr => Datum::I64(find(s, &texts[1], 0, collation)),
        Locate => {
            // LOCATE(needle, haystack[, position]).
            let start = match args.get(2) {
                Some(_) => match int_arg(2, ctx)? {
                    Some(p) if p >= 1 => (p - 1) as usize,
                    Some(_) => return Ok(Datum::I64(0)),
                    None => return Ok(Datum::Null),
                },
                None => 0,
            };
            Datum::I64(find(&texts[1], s, start, collation))
        }
        Ascii => Datum::I64(s.first().map_or(0, |&b| b as i64)),
        Unhex => {
            let digits: Option<Vec<u8>> = s
                .iter()
                .map(|&c| (c as char).to_digit(16).map(|d| d as u8))
                .collect();
            let Some(mut digits) = digits else {
                return Ok(Datum::Null);
            };
            if digits.len() % 2 == 1 {
                digits.insert(0, 0);
            }
            Datum::Bytes(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
        }
        Strcmp => Datum::I64(match compare_strings(s, &texts[1], collation) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }),
        FindInSet => {
            let (needle, list) = (s, &texts[1]);
            if needle.contains(&b',') {
                return Ok(Datum::I64(0));
            }
            let found = list
                .split(|&c| c == b',')
                .position(|item| compare_strings(item, needle, collation).is_eq());
            Datum::I64(found.map_or(0, |i| i as i64 + 1))
        }
        _ => Datum::Null,
    })
}

fn hex_upper(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// A number as the 64 bits HEX/BIN/OCT print (negative integers as their
/// two's complement; fractions rounded half away from zero).
fn int_bits(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<u64>, SqlError> {
    Ok(match d {
        Datum::Null => None,
        Datum::I64(v) => Some(*v as u64),
        Datum::U64(v) => Some(*v),
        Datum::F64(v) => {
            let r = v.round();
            Some(if r < 0.0 { r as i64 as u64 } else { r as u64 })
        }
        Datum::Decimal(v) => Some(match decimal_ops::to_i128(v, Rounding::HalfUp) {
            Some(w) if w < 0 => w.max(i64::MIN as i128) as i64 as u64,
            Some(w) => u64::try_from(w).unwrap_or(u64::MAX),
            None => u64::MAX,
        }),
        other => cast::to_i64(other, ctx)?.map(|v| v as u64),
    })
}

/// FORMAT(x, d): rounded to `d` decimals (0..=30), thousands separated by
/// commas. Exact values round half up, doubles to nearest even.
fn format_number(args: &[Datum], ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let Some(d) = cast::to_i64(&args[1], ctx)? else {
        return Ok(Datum::Null);
    };
    let d = d.clamp(0, 30) as usize;
    let text = match &args[0] {
        Datum::Null => return Ok(Datum::Null),
        Datum::I64(_) | Datum::U64(_) | Datum::Decimal(_) => {
            let Some(exact) = cast::to_decimal(&args[0], ctx)? else {
                return Ok(Datum::Null);
            };
            match decimal_ops::round(&exact, d as i64, Rounding::HalfUp) {
                Some(r) => r.to_string(),
                None => exact.to_string(),
            }
        }
        other => {
            let Some(v) = cast::to_f64(other, ctx)? else {
                return Ok(Datum::Null);
            };
            let scale = 10f64.powi(d as i32);
            let r = if scale.is_finite() && (v * scale).is_finite() {
                (v * scale).round_ties_even() / scale
            } else {
                v
            };
            format!("{r:.d$}")
        }
    };
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut out = format!("{sign}{grouped}");
    if d > 0 {
        out.push('.');
        out.push_str(frac);
        out.extend(std::iter::repeat_n('0', d.saturating_sub(frac.len())));
    }
    Ok(Datum::Bytes(out.into_bytes()))
}

// ---------------------------------------------------------------------------
// Numbers

/// 1690 "DOUBLE value is out of range in 'f(args)'".
fn double_out_of_range(func: Func, args: &[Datum]) -> SqlError {
    let shown: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(&cast::as_text(a).unwrap_or_default()).into_owned())
        .collect();
    SqlError::new(
        1690,
        "22003",
        format!(
            "DOUBLE value is out of range in '{}({})'",
            func.name(),
            shown.join(",")
        ),
    )
}

/// 3020 "Invalid argument for logarithm" and NULL.
fn bad_logarithm(ctx: &mut EvalContext<'_>) -> Datum {
    cast::push_warning(
        ctx,
        Level::Warning,
        3020,
        "Invalid argument for logarithm".into(),
    );
    Datum::Null
}

/// An integer result that may not fit 64 bits.
fn wide_int(v: i128) -> Datum {
    match (i64::try_from(v), u64::try_from(v)) {
        (Ok(x), _) => Datum::I64(x),
        (_, Ok(x)) => Datum::U64(x),
        _ => Datum::Decimal(decimal_ops::from_i128(v)),
    }
}

/// MySQL's rounding of a double to `d` digits (`rint`: ties to even).
fn round_double(v: f64, d: i64, truncate: bool) -> f64 {
    let f = |x: f64| {
        if truncate {
            x.trunc()
        } else {
            x.round_ties_even()
        }
    };
    let scale = 10f64.powi(d.unsigned_abs().min(400) as i32);
    if d >= 0 {
        if !scale.is_finite() || !(v * scale).is_finite() {
            return v;
        }
        f(v * scale) / scale
    } else if !scale.is_finite() {
        0.0
    } else {
        f(v / scale) * scale
    }
}

/// ROUND/TRUNCATE of an integer to `d` digits (only negative `d` changes it).
fn round_int(v: i128, d: i64, truncate: bool) -> i128 {
    if d >= 0 {
        return v;
    }
    if d < -38 {
        return 0;
    }
    let unit = 10i128.pow((-d) as u32);
    let q = v / unit;
    let r = v % unit;
    let q = if !truncate && r.abs() * 2 >= unit {
        q + r.signum()
    } else {
        q
    };
    q.saturating_mul(unit)
}

fn numeric(func: Func, args: &[Datum], ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    use Func::*;
    match func {
        Pi => return Ok(Datum::F64(std::f64::consts::PI)),
        Rand => {
            return Ok(Datum::F64(match args.first() {
                Some(seed) => seeded_rand(cast::to_i64(seed, ctx)?.unwrap_or(0)),
                None => random_u64() as f64 / (u64::MAX as f64 + 1.0),
            }));
        }
        Mod => {
            return eval::arithmetic_values(BinaryOp::Mod, args[0].clone(), args[1].clone(), ctx);
        }
        Crc32 => {
            let Some(t) = cast::as_text(&args[0]) else {
                return Ok(Datum::Null);
            };
            return Ok(Datum::U64(crc32(&t) as u64));
        }
        Round | Truncate => return round_call(func, args, ctx),
        _ => {}
    }
    if args.contains(&Datum::Null) {
        return Ok(Datum::Null);
    }
    let x = &args[0];
    let exact = matches!(x, Datum::I64(_) | Datum::U64(_) | Datum::Decimal(_));
    match func {
        Abs if exact => {
            return Ok(match x {
                Datum::I64(v) => Datum::I64(v.checked_abs().ok_or_else(|| {
                    SqlError::new(
                        1690,
                        "22003",
                        format!("BIGINT value is out of range in 'abs({v})'"),
                    )
                })?),
                Datum::Decimal(d) => Datum::Decimal(decimal_ops::abs(d)),
                other => other.clone(),
            });
        }
        Ceil | Floor if exact => {
            return Ok(match x {
                Datum::Decimal(d) => {
                    let mode = if func == Ceil {
                        Rounding::Ceiling
                    } else {
                        Rounding::Floor
                    };
                    match decimal_ops::to_i128(d, mode) {
                        Some(v) => wide_int(v),
                        None => Datum::Decimal(decimal_ops::round(d, 0, mode).unwrap_or(*d)),
                    }
                }
                other => other.clone(),
            });
        }
        Sign if exact => {
            let neg = match x {
                Datum::I64(v) => *v < 0,
                Datum::Decimal(d) => decimal_ops::is_negative(d),
                _ => false,
            };
            let zero = match x {
                Datum::I64(v) => *v == 0,
                Datum::U64(v) => *v == 0,
                Datum::Decimal(d) => decimal_ops::is_zero(d),
                _ => false,
            };
            return Ok(Datum::I64(if zero {
                0
            } else if neg {
                -1
            } else {
                1
            }));
        }
        _ => {}
    }
    let mut values = Vec::with_capacity(args.len());
    for a in args {
        values.push(cast::to_f64(a, ctx)?.unwrap_or(0.0));
    }
    let v = values[0];
    let result = match func {
        Abs => v.abs(),
        Ceil => v.ceil(),
        Floor => v.floor(),
        Sign => {
            return Ok(Datum::I64(if v > 0.0 {
                1
            } else if v < 0.0 {
                -1
            } else {
                0
            }));
        }
        Pow => v.powf(values[1]),
        Sqrt if v < 0.0 => return Ok(Datum::Null),
        Sqrt => v.sqrt(),
        Exp => v.exp(),
        Ln | Log10 | Log2 if v <= 0.0 => return Ok(bad_logarithm(ctx)),
        Ln => v.ln(),
        Log10 => v.log10(),
        Log2 => v.log2(),
        Log if values.len() == 1 => {
            if v <= 0.0 {
                return Ok(bad_logarithm(ctx));
            }
            v.ln()
        }
        Log => {
            let (base, x) = (v, values[1]);
            if base <= 0.0 || x <= 0.0 {
                return Ok(bad_logarithm(ctx));
            }
            if base == 1.0 {
                return eval::division_by_zero(ctx);
            }
            x.ln() / base.ln()
        }
        Sin => v.sin(),
        Cos => v.cos(),
        Tan => v.tan(),
        Cot => {
            let t = v.tan();
            if t == 0.0 {
                return Err(double_out_of_range(func, args));
            }
            1.0 / t
        }
        Asin | Acos if !(-1.0..=1.0).contains(&v) => return Ok(Datum::Null),
        Asin => v.asin(),
        Acos => v.acos(),
        Atan if values.len() == 2 => v.atan2(values[1]),
        Atan => v.atan(),
        Atan2 => v.atan2(values[1]),
        Degrees => v.to_degrees(),
        Radians => v.to_radians(),
        _ => return Ok(Datum::Null),
    };
    if result.is_finite() {
        Ok(Datum::F64(result))
    } else {
        Err(double_out_of_range(func, args))
    }
}

/// ROUND(x[, d]) and TRUNCATE(x, d): exact values stay exact (half away
/// from zero), doubles round to nearest even as MySQL's `rint` does.
fn round_call(func: Func, args: &[Datum], ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let truncate = func == Func::Truncate;
    let d = match args.get(1) {
        Some(v) => match cast::to_i64(v, ctx)? {
            Some(d) => d,
            None => return Ok(Datum::Null),
        },
        None => 0,
    };
    Ok(match &args[0] {
        Datum::Null => Datum::Null,
        Datum::I64(v) => wide_int(round_int(*v as i128, d, truncate)),
        Datum::U64(v) => wide_int(round_int(*v as i128, d, truncate)),
        Datum::Decimal(x) => {
            let mode = if truncate {
                Rounding::Truncate
            } else {
                Rounding::HalfUp
            };
            Datum::Decimal(decimal_ops::round(x, d, mode).unwrap_or(*x))
        }
        other => match cast::to_f64(other, ctx)? {
            Some(v) => Datum::F64(round_double(v, d, truncate)),
            None => Datum::Null,
        },
    })
}

/// MySQL's RAND(N): the first value of its seeded generator (the same on
/// every call, since evaluation keeps no state between rows).
fn seeded_rand(seed: i64) -> f64 {
    const MAX: u64 = 0x3FFF_FFFF;
    // MySQL seeds with 32-bit arithmetic.
    let s = seed as u32;
    let seed1 = s.wrapping_mul(0x10001).wrapping_add(55_555_555) as u64 % MAX;
    let seed2 = s.wrapping_mul(0x1000_0001) as u64 % MAX;
    let next1 = (seed1 * 3 + seed2) % MAX;
    next1 as f64 / MAX as f64
}

/// 64 random bits from the standard library's per-process random hash keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// CRC-32 (IEEE), as CRC32() computes it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A version-1 style UUID text: time-ordered from the clock, with random
/// clock sequence and node, as MySQL's UUID() is time-based.
fn uuid() -> String {
    // 100 ns intervals since 1582-10-15, the UUID epoch.
    let unix_100ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() / 100) as u64;
    let t = unix_100ns.wrapping_add(0x01B2_1DD2_1381_4000);
    let r = random_u64();
    format!(
        "{:08x}-{:04x}-1{:03x}-{:04x}-{:012x}",
        t as u32,
        (t >> 32) as u16,
        (t >> 48) as u16 & 0x0FFF,
        (r >> 48) as u16 & 0x3FFF | 0x8000,
        r & 0xFFFF_FFFF_FFFF
    )
}

/// GREATEST/LEAST: NULL if any argument is; compared as integers when all
/// are, as doubles when one is a double, as decimals when one is a
/// decimal, as dates when all are temporal, otherwise as strings (MySQL 8);
/// the winner comes back in the comparison's type.
fn extreme(
    greatest: bool,
    args: &[Datum],
    collation: Collation,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    if args.contains(&Datum::Null) {
        return Ok(Datum::Null);
    }
    let all = |f: fn(&Datum) -> bool| args.iter().all(f);
    let any = |f: fn(&Datum) -> bool| args.iter().any(f);
    let is_int = |d: &Datum| matches!(d, Datum::I64(_) | Datum::U64(_));
    let is_num = |d: &Datum| {
        matches!(
            d,
            Datum::I64(_) | Datum::U64(_) | Datum::F64(_) | Datum::Decimal(_)
        )
    };
    let temporal = |d: &Datum| matches!(d, Datum::Date(_) | Datum::DateTime(_) | Datum::Time(_));
    let values: Vec<Datum> = if all(is_int) {
        args.to_vec()
    } else if all(is_num) && any(|d| matches!(d, Datum::F64(_))) {
        let mut v = Vec::with_capacity(args.len());
        for a in args {
            v.push(Datum::F64(cast::to_f64(a, ctx)?.unwrap_or(0.0)));
        }
        v
    } else if all(is_num) {
        let mut v = Vec::with_capacity(args.len());
        for a in args {
            v.push(Datum::Decimal(
                cast::to_decimal(a, ctx)?.unwrap_or_else(decimal_ops::zero),
            ));
        }
        v
    } else if all(temporal) {
        args.to_vec()
    } else {
        args.iter()
            .map(|a| Datum::Bytes(cast::as_text(a).unwrap_or_default().into_owned()))
            .collect()
    };
    let mut values = values;
    let mut best = 0;
    for i in 1..values.len() {
        let order = eval::compare_values(&values[i], &values[best], collation, ctx)?;
        let better = if greatest {
            order == Some(Ordering::Greater)
        } else {
            order == Some(Ordering::Less)
        };
        if better {
            best = i;
        }
    }
    // A DECIMAL result shows the largest scale of the arguments (-3.0).
    let scale = values
        .iter()
        .filter_map(|v| match v {
            Datum::Decimal(d) => Some(d.scale()),
            _ => None,
        })
        .max();
    Ok(match (values.swap_remove(best), scale) {
        (Datum::Decimal(d), Some(scale)) => {
            Datum::Decimal(decimal_ops::round(&d, scale as i64, Rounding::HalfUp).unwrap_or(d))
        }
        (v, _) => v,
    })
}

/// SLEEP(seconds): wait in slices of at most 100 ms, so that KILL stops it
/// promptly; true if KILL did. The wait blocks its thread, so on a
/// multi-threaded runtime the worker hands its other tasks away first.
fn sleep(seconds: f64, ctx: &EvalContext<'_>) -> bool {
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_secs_f64(seconds.clamp(0.0, 365.0 * 86_400.0));
    let wait = || loop {
        if ctx.check_killed().is_err() {
            return true;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(100)));
    };
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    }
}
