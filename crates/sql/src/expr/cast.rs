//! Conversions between value kinds with MySQL's rules, and storing a value
//! into a column of a declared type.
//!
//! MySQL converts silently where it can and warns where it loses something
//! ("Truncated incorrect DOUBLE value: '12abc'"). In a write statement under
//! a strict `sql_mode` those warnings become errors, so every lossy step goes
//! through one helper (`bad_value`), which decides between the two.

pub(crate) mod decimal_ops;
pub(crate) mod temporal;
#[cfg(test)]
mod tests;

use super::{EvalContext, Level, Warning};
use crate::result::SqlError;
use crate::types::{SqlType, TypeKind};
use codec::{Date, DateTime, Datum, Decimal, Time};
use decimal_ops::Rounding;
use std::borrow::Cow;
use temporal::{Fields, ParsedDateTime};

// ---------------------------------------------------------------------------
// Diagnostics

/// Appends a diagnostic to the statement's warnings.
pub(crate) fn push_warning(ctx: &mut EvalContext<'_>, level: Level, code: u16, message: String) {
    ctx.warnings.push(Warning {
        level,
        code,
        message,
    });
}

/// A value MySQL accepts with a loss: a warning, except in a write under
/// strict mode, where the statement fails with the same code and text.
pub(crate) fn bad_value(
    ctx: &mut EvalContext<'_>,
    code: u16,
    state: &'static str,
    message: String,
) -> Result<(), SqlError> {
    if ctx.in_write && ctx.sql_mode.strict {
        return Err(SqlError::new(code, state, message));
    }
    push_warning(ctx, Level::Warning, code, message);
    Ok(())
}

/// 1292 "Truncated incorrect `what` value: 'text'".
fn truncated(ctx: &mut EvalContext<'_>, what: &str, text: &[u8]) -> Result<(), SqlError> {
    let message = format!(
        "Truncated incorrect {what} value: '{}'",
        String::from_utf8_lossy(text)
    );
    bad_value(ctx, 1292, "22007", message)
}

/// 1292 "Incorrect `what` value: 'text'" (a value that is not a date at all).
fn incorrect(ctx: &mut EvalContext<'_>, what: &str, text: &[u8]) -> Result<(), SqlError> {
    let message = format!(
        "Incorrect {what} value: '{}'",
        String::from_utf8_lossy(text)
    );
    bad_value(ctx, 1292, "22007", message)
}

// ---------------------------------------------------------------------------
// Text

/// MySQL's text for a DOUBLE (MySQL 8's shortest round-trip form): plain
/// notation while the decimal exponent is within -14..=15 or digits follow
/// the point, scientific otherwise (`1e20`, `1.2345678901234568e20`,
/// `1e-16`); `-0` prints as `0`.
pub fn format_double(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    layout_digits(&format!("{v:e}"))
}

/// MySQL's text for a FLOAT column value: at most six significant digits
/// (`FLT_DIG`), so `0.1` rather than `0.10000000149011612` and `123457000`
/// for 123456789.
pub fn format_float(v: f64) -> String {
    let f = v as f32;
    if f == 0.0 {
        return "0".into();
    }
    if !f.is_finite() {
        return format_double(v);
    }
    let sci = format!("{:.5e}", f as f64);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    layout_digits(&format!("{mantissa}e{exp}"))
}

/// Lays out Rust's `{:e}` text (`-1.25e-7`) the way MySQL's `my_gcvt` does.
fn layout_digits(sci: &str) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // `point` is where the decimal point goes, counted from the first digit.
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let len = digits.len() as i32;
    let point = exp + 1;
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if point >= -14 && (point <= 15 || len > point) {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point < len {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        } else {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - len) as usize));
        }
    } else {
        out.push_str(&digits[..1]);
        if len > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push_str(&exp.to_string());
    }
    out
}

/// A value as MySQL shows it in a string context (`CONCAT`, `LIKE`, string
/// columns); `None` for NULL.
pub fn as_text(d: &Datum) -> Option<Cow<'_, [u8]>> {
    Some(match d {
        Datum::Null => return None,
        Datum::Bytes(b) => Cow::Borrowed(b.as_slice()),
        Datum::I64(v) => Cow::Owned(v.to_string().into_bytes()),
        Datum::U64(v) => Cow::Owned(v.to_string().into_bytes()),
        Datum::F64(v) => Cow::Owned(format_double(*v).into_bytes()),
        Datum::Decimal(v) => Cow::Owned(v.to_string().into_bytes()),
        Datum::Date(v) => Cow::Owned(v.to_string().into_bytes()),
        Datum::DateTime(v) => Cow::Owned(v.to_string().into_bytes()),
        Datum::Time(v) => Cow::Owned(v.to_string().into_bytes()),
    })
}

/// A value's text as a Rust string (invalid UTF-8 replaced; NULL as
/// `NULL`), for messages and SHOW output.
pub fn to_text(d: &Datum) -> String {
    match as_text(d) {
        Some(t) => String::from_utf8_lossy(&t).into_owned(),
        None => "NULL".into(),
    }
}

/// The DATETIME `micros` microseconds after 1970-01-01 00:00:00 (the
/// session time zone is UTC), clamped to the DATETIME range: the clock
/// reading for NOW().
pub fn datetime_from_unix_micros(micros: i64) -> DateTime {
    let epoch = temporal::daynr(1970, 1, 1) * temporal::DAY_MICROS;
    let max = temporal::daynr(9999, 12, 31) * temporal::DAY_MICROS + temporal::DAY_MICROS - 1;
    let at = epoch.saturating_add(micros).clamp(epoch, max);
    temporal::micros_datetime(at).unwrap_or_else(|| temporal::midnight(temporal::zero_date()))
}

// ---------------------------------------------------------------------------
// Numbers from strings

/// The longest numeric prefix of a string, as MySQL's string-to-number
/// conversions read it: leading whitespace, a sign, digits with an optional
/// point, and an optional exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned<'a> {
    /// A minus sign was read.
    pub neg: bool,
    /// Digits before the point.
    pub int: &'a [u8],
    /// Digits after the point.
    pub frac: &'a [u8],
    /// The exponent (0 when absent).
    pub exp: i64,
    /// Bytes of the number itself (sign to exponent).
    pub text: &'a [u8],
    /// Whether anything other than whitespace follows the number.
    pub trailing: bool,
}

impl Scanned<'_> {
    /// Whether any digit was read.
    pub fn has_digits(&self) -> bool {
        !self.int.is_empty() || !self.frac.is_empty()
    }

    /// Whether the whole string was a number (whitespace aside).
    pub fn is_clean(&self) -> bool {
        self.has_digits() && !self.trailing
    }

    fn parse_f64(&self) -> f64 {
        std::str::from_utf8(self.text)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0.0)
    }

    /// The value as a double (±max when out of range).
    pub fn to_f64(&self) -> f64 {
        if !self.has_digits() {
            return 0.0;
        }
        let v = self.parse_f64();
        if v.is_infinite() {
            f64::MAX.copysign(v)
        } else {
            v
        }
    }

    /// Whether the number is beyond the DOUBLE range.
    pub fn overflows_f64(&self) -> bool {
        self.has_digits() && self.parse_f64().is_infinite()
    }

    /// The value as an exact decimal; `None` beyond 65 digits.
    pub fn to_decimal(&self) -> Option<Decimal> {
        let mut digits = Vec::with_capacity(self.int.len() + self.frac.len());
        digits.extend_from_slice(self.int);
        digits.extend_from_slice(self.frac);
        decimal_ops::from_parts(
            self.neg,
            &digits,
            self.exp.saturating_sub(self.frac.len() as i64),
        )
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Reads the numeric prefix of `s` (see [`Scanned`]).
pub(crate) fn scan_number(s: &[u8]) -> Scanned<'_> {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let mut i = start;
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |from: usize| s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int_len = digits(i);
    let int = &s[i..i + int_len];
    i += int_len;
    let mut frac: &[u8] = &[];
    if s.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n > 0 || int_len > 0 {
            frac = &s[i + 1..i + 1 + n];
            i += 1 + n;
        }
    }
    let mut exp = 0i64;
    if (int_len > 0 || !frac.is_empty()) && matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        let exp_neg = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let n = digits(j);
        if n > 0 {
            let magnitude = s[j..j + n].iter().fold(0i64, |v, c| {
                v.saturating_mul(10).saturating_add((c - b'0') as i64)
            });
            exp = if exp_neg { -magnitude } else { magnitude };
            i = j + n;
        }
    }
    let end = if int_len == 0 && frac.is_empty() {
        start
    } else {
        i
    };
    Scanned {
        neg,
        int,
        frac,
        exp,
        text: &s[start..end],
        trailing: s[end..].iter().any(|&c| !is_space(c)),
    }
}

// ---------------------------------------------------------------------------
// Numeric conversions

/// The number of a DATE (`YYYYMMDD`).
fn date_number(d: &Date) -> i64 {
    d.year() as i64 * 10_000 + d.month() as i64 * 100 + d.day() as i64
}

/// The number of a DATETIME (`YYYYMMDDhhmmss`) and its microseconds.
fn datetime_number(dt: &DateTime) -> (i64, u32) {
    let hms = dt.hour() as i64 * 10_000 + dt.minute() as i64 * 100 + dt.second() as i64;
    (date_number(&dt.date()) * 1_000_000 + hms, dt.micro())
}

/// The number of a TIME's magnitude (`hhmmss`) and its microseconds.
fn time_number(t: &Time) -> (u64, u32) {
    let v = t.hours() as u64 * 10_000 + t.minutes() as u64 * 100 + t.seconds() as u64;
    (v, t.micro())
}

/// `±(whole + micro / 10^6)` as a decimal: scale 6 with microseconds
/// (`20240131101112.500000`), scale 0 without.
pub(crate) fn with_micros(neg: bool, whole: u64, micro: u32) -> Decimal {
    let whole = whole as i128;
    if micro == 0 {
        return decimal_ops::from_i128(if neg { -whole } else { whole });
    }
    let total = whole * 1_000_000 + micro as i128;
    decimal_ops::from_parts(neg, total.to_string().as_bytes(), -6)
        .unwrap_or_else(|| decimal_ops::from_i128(whole))
}

/// A temporal value as the number MySQL uses in numeric contexts.
pub(crate) fn temporal_number(d: &Datum) -> Option<Decimal> {
    Some(match d {
        Datum::Date(v) => decimal_ops::from_i128(date_number(v) as i128),
        Datum::DateTime(v) => {
            let (n, micro) = datetime_number(v);
            with_micros(false, n as u64, micro)
        }
        Datum::Time(v) => {
            let (n, micro) = time_number(v);
            with_micros(v.is_negative(), n, micro)
        }
        _ => return None,
    })
}

/// A value other than a string as an exact decimal (nothing to warn about).
fn exact_of(d: &Datum) -> Option<Decimal> {
    match d {
        Datum::I64(v) => Some(decimal_ops::from_i128(*v as i128)),
        Datum::U64(v) => Some(decimal_ops::from_i128(*v as i128)),
        Datum::F64(v) => decimal_ops::from_f64(*v),
        Datum::Decimal(v) => Some(*v),
        other => temporal_number(other),
    }
}

/// A value other than a string as a double.
fn double_of(d: &Datum) -> f64 {
    match d {
        Datum::I64(v) => *v as f64,
        Datum::U64(v) => *v as f64,
        Datum::F64(v) => *v,
        Datum::Decimal(v) => decimal_ops::to_f64(v),
        other => temporal_number(other).map_or(0.0, |v| decimal_ops::to_f64(&v)),
    }
}

/// The value as a DOUBLE; strings that are not numbers warn (1292).
pub fn to_f64(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<f64>, SqlError> {
    Ok(Some(match d {
        Datum::Null => return Ok(None),
        Datum::Bytes(b) => {
            let s = scan_number(b);
            if !s.is_clean() || s.overflows_f64() {
                truncated(ctx, "DOUBLE", b)?;
            }
            s.to_f64()
        }
        other => double_of(other),
    }))
}

/// The value as a DECIMAL; strings that are not numbers warn (1292).
pub fn to_decimal(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<Decimal>, SqlError> {
    Ok(Some(match d {
        Datum::Null => return Ok(None),
        Datum::I64(v) => decimal_ops::from_i128(*v as i128),
        Datum::U64(v) => decimal_ops::from_i128(*v as i128),
        Datum::F64(v) => match decimal_ops::from_f64(*v) {
            Some(d) => d,
            None => {
                truncated(ctx, "DECIMAL", format_double(*v).as_bytes())?;
                max_decimal(65, 0, *v < 0.0)
            }
        },
        Datum::Decimal(v) => *v,
        Datum::Bytes(b) => {
            let s = scan_number(b);
            let value = s.to_decimal();
            if !s.is_clean() || value.is_none() {
                truncated(ctx, "DECIMAL", b)?;
            }
            value.unwrap_or_else(|| max_decimal(65, 0, s.neg))
        }
        other => temporal_number(other).unwrap_or_else(decimal_ops::zero),
    }))
}

/// The largest DECIMAL(precision, scale) magnitude, with a sign.
fn max_decimal(precision: u32, scale: u32, neg: bool) -> Decimal {
    let int = precision.saturating_sub(scale) as usize;
    let text = format!(
        "{}{}{}{}",
        if neg { "-" } else { "" },
        if int == 0 {
            "0".to_string()
        } else {
            "9".repeat(int)
        },
        if scale > 0 { "." } else { "" },
        "9".repeat(scale as usize)
    );
    text.parse().unwrap_or_else(|_| decimal_ops::zero())
}

/// A double rounded to an integer the way MySQL does (to nearest, ties to
/// even, as `rint`), saturating at the i128 range.
fn rint_i128(v: f64) -> i128 {
    if v.is_nan() {
        0
    } else {
        v.round_ties_even() as i128
    }
}

/// The value as a signed BIGINT (CAST AS SIGNED, and integer arguments of
/// functions): strings read their integer prefix, doubles round to nearest
/// even, decimals round half up; out-of-range values clamp with a warning.
pub fn to_i64(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<i64>, SqlError> {
    let wide: i128 = match d {
        Datum::Null => return Ok(None),
        Datum::I64(v) => return Ok(Some(*v)),
        Datum::U64(v) => return Ok(Some(*v as i64)),
        Datum::F64(v) => rint_i128(*v),
        Datum::Decimal(v) => {
            decimal_ops::to_i128(v, Rounding::HalfUp).unwrap_or(if decimal_ops::is_negative(v) {
                i128::MIN
            } else {
                i128::MAX
            })
        }
        Datum::Bytes(b) => return string_to_int(b, ctx, false).map(|v| Some(v as i64)),
        other => temporal_number(other)
            .and_then(|v| decimal_ops::to_i128(&v, Rounding::HalfUp))
            .unwrap_or(0),
    };
    match i64::try_from(wide) {
        Ok(v) => Ok(Some(v)),
        Err(_) => {
            let text = as_text(d).unwrap_or_default();
            truncated(ctx, "INTEGER", &text)?;
            Ok(Some(if wide < 0 { i64::MIN } else { i64::MAX }))
        }
    }
}

/// The value as an unsigned BIGINT (CAST AS UNSIGNED): negative integers
/// wrap to their two's complement, negative doubles and decimals clamp to
/// zero.
pub fn to_u64(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<u64>, SqlError> {
    let wide: i128 = match d {
        Datum::Null => return Ok(None),
        Datum::I64(v) => return Ok(Some(*v as u64)),
        Datum::U64(v) => return Ok(Some(*v)),
        Datum::F64(v) => rint_i128(*v),
        Datum::Decimal(v) => {
            decimal_ops::to_i128(v, Rounding::HalfUp).unwrap_or(if decimal_ops::is_negative(v) {
                0
            } else {
                i128::MAX
            })
        }
        Datum::Bytes(b) => return string_to_int(b, ctx, true).map(Some),
        other => temporal_number(other)
            .and_then(|v| decimal_ops::to_i128(&v, Rounding::HalfUp))
            .unwrap_or(0),
    };
    if wide < 0 {
        return Ok(Some(0));
    }
    match u64::try_from(wide) {
        Ok(v) => Ok(Some(v)),
        Err(_) => {
            let text = as_text(d).unwrap_or_default();
            truncated(ctx, "INTEGER", &text)?;
            Ok(Some(u64::MAX))
        }
    }
}

/// A string's integer prefix as MySQL's CAST reads it, as the 64 bits of
/// the result (signed or unsigned by `unsigned`), with MySQL's warnings.
fn string_to_int(b: &[u8], ctx: &mut EvalContext<'_>, unsigned: bool) -> Result<u64, SqlError> {
    let s = scan_number(b);
    let mut overflow = false;
    let mut magnitude: u64 = 0;
    for &c in s.int {
        match magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add((c - b'0') as u64))
        {
            Some(m) => magnitude = m,
            None => {
                overflow = true;
                magnitude = u64::MAX;
                break;
            }
        }
    }
    // CAST reads integers only: a point or exponent ends the number.
    let clean = !s.int.is_empty()
        && s.frac.is_empty()
        && s.exp == 0
        && !s.trailing
        && !s.text.ends_with(b".");
    if !clean || overflow {
        truncated(ctx, "INTEGER", b)?;
    }
    if s.neg {
        if unsigned && magnitude != 0 {
            push_warning(
                ctx,
                Level::Note,
                1105,
                "Cast to unsigned converted negative integer to it's positive complement".into(),
            );
        }
        let v = if magnitude > i64::MIN.unsigned_abs() {
            i64::MIN
        } else {
            (magnitude as i64).wrapping_neg()
        };
        return Ok(v as u64);
    }
    if !unsigned && magnitude > i64::MAX as u64 {
        push_warning(
            ctx,
            Level::Note,
            1105,
            "Cast to signed converted positive out-of-range integer to it's negative complement"
                .into(),
        );
    }
    Ok(magnitude)
}

// ---------------------------------------------------------------------------
// Temporal conversions

/// What a value reads as when a date or time is wanted, before any
/// `sql_mode` check: `None` when it is not one.
enum Temporal {
    DateTime(Fields),
    Time(Time),
}

/// Reads a number's integer and fraction parts for date/time use.
fn number_parts(d: &Datum) -> Option<(bool, u64, u32)> {
    let (neg, text) = match d {
        Datum::I64(v) => (*v < 0, v.unsigned_abs().to_string()),
        Datum::U64(v) => (false, v.to_string()),
        Datum::F64(v) => (*v < 0.0, decimal_ops::from_f64(v.abs())?.to_string()),
        Datum::Decimal(v) => (decimal_ops::is_negative(v), decimal_ops::abs(v).to_string()),
        _ => return None,
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole = int.parse().ok()?;
    let mut micro = 0u32;
    for i in 0..6 {
        micro = micro * 10 + frac.as_bytes().get(i).map_or(0, |c| (c - b'0') as u32);
    }
    if frac.as_bytes().get(6).is_some_and(|&c| c >= b'5') {
        micro += 1;
    }
    Some((neg, whole, micro.min(999_999)))
}

fn datetime_of_number(d: &Datum) -> Option<ParsedDateTime> {
    let (neg, whole, micro) = number_parts(d)?;
    if neg {
        return None;
    }
    let mut p = temporal::datetime_from_number(i64::try_from(whole).ok()?)?;
    p.fields.micro = micro;
    Some(p)
}

/// Current date plus a TIME: how MySQL turns a TIME into a DATETIME.
fn time_on_today(t: &Time, ctx: &EvalContext<'_>) -> Option<DateTime> {
    let today = temporal::datetime_micros(&temporal::midnight(ctx.now.date()));
    temporal::micros_datetime(today + t.to_packed())
}

/// The value as a DATETIME (dates at midnight, times on today's date),
/// zero dates and zero parts allowed; 1292 "Incorrect datetime value" and
/// `None` when it is not one.
pub fn to_datetime(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<DateTime>, SqlError> {
    Ok(match read_temporal(d, ctx, "datetime")? {
        Some(Temporal::DateTime(fields)) => fields.datetime(),
        Some(Temporal::Time(t)) => time_on_today(&t, ctx),
        None => None,
    })
}

/// The value as a DATE (the date part of datetimes); as [`to_datetime`].
pub fn to_date(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<Date>, SqlError> {
    Ok(to_datetime(d, ctx)?.map(|dt| dt.date()))
}

/// Reads a date or datetime from any value, with the warnings MySQL gives.
fn read_temporal(
    d: &Datum,
    ctx: &mut EvalContext<'_>,
    what: &str,
) -> Result<Option<Temporal>, SqlError> {
    let parsed = match d {
        Datum::Null => return Ok(None),
        Datum::Date(v) => return Ok(Some(Temporal::DateTime(Fields::of_date(*v)))),
        Datum::DateTime(v) => return Ok(Some(Temporal::DateTime(Fields::of_datetime(*v)))),
        Datum::Time(v) => return Ok(Some(Temporal::Time(*v))),
        Datum::Bytes(b) => temporal::parse_datetime(b),
        other => datetime_of_number(other),
    };
    match parsed {
        Some(p) => {
            if p.trailing {
                let text = as_text(d).unwrap_or_default().into_owned();
                truncated(ctx, what, &text)?;
            }
            Ok(Some(Temporal::DateTime(p.fields)))
        }
        None => {
            let text = as_text(d).unwrap_or_default().into_owned();
            incorrect(ctx, what, &text)?;
            Ok(None)
        }
    }
}

/// The value as a TIME (datetimes give their time of day, dates
/// 00:00:00); out-of-range values clamp to ±838:59:59 with a warning, and
/// text that is not a time gives 1292 "Incorrect time value" and `None`.
pub fn to_time(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<Time>, SqlError> {
    let text = || as_text(d).unwrap_or_default().into_owned();
    let parsed = match d {
        Datum::Null => return Ok(None),
        Datum::Time(t) => return Ok(Some(*t)),
        Datum::Date(_) => return Ok(Some(temporal::time_from_micros(0).0)),
        Datum::DateTime(dt) => {
            let micros = temporal::datetime_micros(dt).rem_euclid(temporal::DAY_MICROS);
            return Ok(Some(temporal::time_from_micros(micros).0));
        }
        Datum::Bytes(b) => temporal::parse_time(b).map(|p| (p.time, p.clamped, p.trailing)),
        other => number_parts(other)
            .and_then(|(neg, whole, micro)| temporal::time_from_number(neg, whole, micro))
            .map(|(t, clamped)| (t, clamped, false)),
    };
    match parsed {
        Some((t, clamped, trailing)) => {
            if clamped || trailing {
                truncated(ctx, "time", &text())?;
            }
            Ok(Some(t))
        }
        None => {
            incorrect(ctx, "time", &text())?;
            Ok(None)
        }
    }
}

/// Whether `sql_mode` rejects this date (NO_ZERO_DATE, NO_ZERO_IN_DATE).
fn zero_date_rejected(f: &Fields, ctx: &EvalContext<'_>) -> bool {
    let all_zero = f.year == 0 && f.month == 0 && f.day == 0;
    (all_zero && ctx.sql_mode.no_zero_date)
        || (!all_zero && (f.month == 0 || f.day == 0) && ctx.sql_mode.no_zero_in_date)
}

// ---------------------------------------------------------------------------
// CAST

/// Characters of a UTF-8 string (bytes of invalid sequences count one each).
pub(crate) fn char_count(b: &[u8]) -> usize {
    match std::str::from_utf8(b) {
        Ok(s) => s.chars().count(),
        Err(_) => String::from_utf8_lossy(b).chars().count(),
    }
}

/// The first `n` characters of `b` (as bytes).
pub(crate) fn char_prefix(b: &[u8], n: usize) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.char_indices().nth(n).map_or(b, |(i, _)| &b[..i]),
        Err(_) => &b[..n.min(b.len())],
    }
}

/// The SQL name of a CAST target, for messages.
fn type_label(ty: &SqlType) -> String {
    match ty.kind {
        TypeKind::Decimal => format!("decimal({},{})", ty.length, ty.scale),
        TypeKind::Char | TypeKind::VarChar => format!("CHAR({})", ty.length),
        TypeKind::Binary | TypeKind::VarBinary => format!("BINARY({})", ty.length),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// `CAST(value AS ty)`. Integer kinds mean SIGNED (UNSIGNED when
/// `ty.unsigned`); CHAR(n) and BINARY(n) (kinds `Char`/`VarChar` and
/// `Binary`/`VarBinary` with a `length` other than `u32::MAX`) cut to `n`
/// characters/bytes with a warning, BINARY(n) padding with zero bytes;
/// with `length == u32::MAX` (and for TEXT/BLOB) there is no limit.
/// DECIMAL, DATETIME and TIME take `ty.length`/`ty.scale` as precision and
/// fraction digits.
pub fn cast(value: Datum, ty: &SqlType, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    if value == Datum::Null {
        return Ok(Datum::Null);
    }
    Ok(match ty.kind {
        TypeKind::TinyInt
        | TypeKind::SmallInt
        | TypeKind::MediumInt
        | TypeKind::Int
        | TypeKind::BigInt => {
            if ty.unsigned {
                to_u64(&value, ctx)?.map_or(Datum::Null, Datum::U64)
            } else {
                to_i64(&value, ctx)?.map_or(Datum::Null, Datum::I64)
            }
        }
        TypeKind::Year => cast_year(&value, ctx)?,
        TypeKind::Decimal => {
            let Some(d) = to_decimal(&value, ctx)? else {
                return Ok(Datum::Null);
            };
            let scale = ty.scale.min(30) as u32;
            let precision = (ty.length.clamp(1, 65)).max(scale);
            match fit_decimal(&d, precision, scale, ty.unsigned) {
                Ok(v) => Datum::Decimal(v),
                Err(clamped) => {
                    let what = format!("cast({} as {})", d, type_label(ty));
                    bad_value(
                        ctx,
                        1264,
                        "22003",
                        format!("Out of range value for column '{what}' at row 1"),
                    )?;
                    Datum::Decimal(clamped)
                }
            }
        }
        TypeKind::Double => to_f64(&value, ctx)?.map_or(Datum::Null, Datum::F64),
        TypeKind::Float => {
            to_f64(&value, ctx)?.map_or(Datum::Null, |v| Datum::F64(v as f32 as f64))
        }
        TypeKind::Char | TypeKind::VarChar | TypeKind::Binary | TypeKind::VarBinary
            if ty.length != u32::MAX =>
        {
            let text = as_text(&value).unwrap_or_default().into_owned();
            let limit = ty.length as usize;
            let binary = matches!(ty.kind, TypeKind::Binary | TypeKind::VarBinary);
            let count = if binary {
                text.len()
            } else {
                char_count(&text)
            };
            let mut out = if count > limit {
                truncated(ctx, &type_label(ty), &text)?;
                if binary {
                    text[..limit].to_vec()
                } else {
                    char_prefix(&text, limit).to_vec()
                }
            } else {
                text
            };
            if binary {
                out.resize(limit, 0);
            }
            Datum::Bytes(out)
        }
        TypeKind::Char
        | TypeKind::VarChar
        | TypeKind::Text
        | TypeKind::Binary
        | TypeKind::VarBinary
        | TypeKind::Blob
        | TypeKind::Enum
        | TypeKind::Set => Datum::Bytes(as_text(&value).unwrap_or_default().into_owned()),
        TypeKind::Json => cast_json(&value)?,
        TypeKind::Date | TypeKind::DateTime | TypeKind::Timestamp => {
            let fields = match read_temporal(&value, ctx, "datetime")? {
                Some(Temporal::DateTime(fields)) => fields,
                Some(Temporal::Time(t)) => match time_on_today(&t, ctx) {
                    Some(dt) => Fields::of_datetime(dt),
                    None => return Ok(Datum::Null),
                },
                None => return Ok(Datum::Null),
            };
            if zero_date_rejected(&fields, ctx) {
                let text = as_text(&value).unwrap_or_default().into_owned();
                incorrect(ctx, "datetime", &text)?;
                return Ok(Datum::Null);
            }
            let Some(dt) = fields.datetime() else {
                return Ok(Datum::Null);
            };
            if ty.kind == TypeKind::Date {
                Datum::Date(dt.date())
            } else {
                temporal::round_datetime(dt, ty.scale).map_or(Datum::Null, Datum::DateTime)
            }
        }
        TypeKind::Time => to_time(&value, ctx)?.map_or(Datum::Null, |t| {
            Datum::Time(temporal::round_time(t, ty.scale))
        }),
        TypeKind::Null => Datum::Null,
    })
}

/// CAST AS YEAR (MySQL 8.0.22+): two-digit values map to 1970..2069.
fn cast_year(value: &Datum, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let year = match value {
        Datum::Date(d) => d.year() as i64,
        Datum::DateTime(dt) => dt.date().year() as i64,
        Datum::Bytes(b) => {
            let s = scan_number(b);
            let v = to_i64(value, ctx)?.unwrap_or(0);
            if v == 0 && s.int.iter().all(|&c| c == b'0') && s.int.len() < 4 && s.has_digits() {
                2000
            } else {
                v
            }
        }
        other => to_i64(other, ctx)?.unwrap_or(0),
    };
    Ok(match year_value(year) {
        Some(y) => Datum::I64(y),
        None => {
            let text = as_text(value).unwrap_or_default().into_owned();
            truncated(ctx, "YEAR", &text)?;
            Datum::Null
        }
    })
}

/// A numeric YEAR: 0 stays 0, 1..=69 and 70..=99 expand, 1901..=2155 as is.
fn year_value(v: i64) -> Option<i64> {
    match v {
        0 => Some(0),
        1..=69 => Some(v + 2000),
        70..=99 => Some(v + 1900),
        1901..=2155 => Some(v),
        _ => None,
    }
}

/// `d` rounded to `scale` and checked against DECIMAL(precision, scale);
/// `Err` carries the clamped value when it does not fit.
fn fit_decimal(
    d: &Decimal,
    precision: u32,
    scale: u32,
    unsigned: bool,
) -> Result<Decimal, Decimal> {
    let neg = decimal_ops::is_negative(d);
    if unsigned && neg {
        return Err(
            decimal_ops::round(&decimal_ops::zero(), scale as i64, Rounding::HalfUp)
                .unwrap_or_else(decimal_ops::zero),
        );
    }
    match decimal_ops::round(d, scale as i64, Rounding::HalfUp) {
        Some(r) if decimal_ops::int_digits(&r) <= precision - scale => Ok(r),
        _ => Err(max_decimal(precision, scale, neg)),
    }
}

/// CAST AS JSON: strings must be JSON text; numbers become JSON numbers.
fn cast_json(value: &Datum) -> Result<Datum, SqlError> {
    match value {
        Datum::Bytes(b) => match serde_json::from_slice::<serde_json::Value>(b) {
            Ok(v) => Ok(Datum::Bytes(json_text(&v).into_bytes())),
            Err(e) => Err(SqlError::new(
                3141,
                "22032",
                format!(
                    "Invalid JSON text in argument 1 to function cast_as_json: \"{}\" at position {}.",
                    json_reason(&e),
                    e.column().saturating_sub(1)
                ),
            )),
        },
        other => Ok(Datum::Bytes(
            json_text(&super::func::json::scalar(other)).into_bytes(),
        )),
    }
}

/// A SQL string read as JSON text the way MySQL's parser reads it: every
/// number with a fraction or an exponent, and every integer past 64 bits, is
/// a DOUBLE (`'1.50'` is `1.5`), where a JSON value keeps a DECIMAL's digits.
/// The planner puts this ([`super::func::Func::ParseJson`]) wherever a
/// string becomes JSON. Text that is not JSON comes back as it was, for its
/// consumer to reject with its own message.
pub(crate) fn parse_json_text(value: Datum) -> Datum {
    let Datum::Bytes(text) = &value else {
        return value;
    };
    // Only a digit run followed by `.`/`e`, or one long enough to pass 64
    // bits, can read differently: most documents skip the parse.
    let mut run = 0;
    let may_differ = text.iter().any(|&b| {
        let after_digits = run > 0 && matches!(b, b'.' | b'e' | b'E');
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        after_digits || run >= 19
    });
    if !may_differ {
        return value;
    }
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(mut v) => {
            read_doubles(&mut v);
            Datum::Bytes(json_text(&v).into_bytes())
        }
        Err(_) => value,
    }
}

/// [`parse_json_text`]'s number rule over a parsed document.
fn read_doubles(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Array(items) => items.iter_mut().for_each(read_doubles),
        Value::Object(map) => map.values_mut().for_each(read_doubles),
        Value::Number(n) => {
            let text = n.to_string();
            let integer = text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok();
            if let (false, Ok(d)) = (integer, text.parse::<f64>())
                && let Ok(double) = json_double(d).parse::<serde_json::Number>()
            {
                *n = double;
            }
        }
        _ => {}
    }
}

/// serde_json's reason, without its " at line L column C" suffix.
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// MySQL's normalized JSON text: object keys sorted by length then bytes,
/// `", "` and `": "` separators.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                if let Some(item) = map.get(key) {
                    write_json(item, out);
                }
            }
            out.push('}');
        }
        Value::Number(n) => out.push_str(&json_number(&n.to_string())),
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON number's text as MySQL prints it. Integers that fit 64 bits stay
/// integers; a number with a fraction and no exponent is a DECIMAL and keeps
/// its digits (MySQL keeps a SQL DECIMAL's scale in JSON); anything else
/// (an exponent, an integer past 64 bits) is a DOUBLE.
fn json_number(text: &str) -> String {
    let exact = !text.contains(['e', 'E'])
        && (text.contains('.') || text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok());
    match text.parse::<f64>() {
        Ok(v) if !exact => json_double(v),
        _ => text.to_string(),
    }
}

/// A DOUBLE in JSON: MySQL's `my_gcvt` layout, with `.0` when that shows
/// neither a point nor an exponent (`100.0`, `1e20`, `-0.0`).
pub(crate) fn json_double(v: f64) -> String {
    let mut text = format_double(v);
    if v == 0.0 && v.is_sign_negative() {
        text.insert(0, '-');
    }
    if !text.contains(['.', 'e']) {
        text.push_str(".0");
    }
    text
}

// ---------------------------------------------------------------------------
// Store assignment

/// Storing into one column: its name and the row number, for messages.
struct Target<'a> {
    column: &'a str,
    row: u64,
}

impl Target<'_> {
    /// 1264 "Out of range value for column".
    fn out_of_range(&self, ctx: &mut EvalContext<'_>) -> Result<(), SqlError> {
        let message = format!(
            "Out of range value for column '{}' at row {}",
            self.column, self.row
        );
        bad_value(ctx, 1264, "22003", message)
    }

    /// 1265 "Data truncated for column" (a warning, or an error in strict writes).
    fn truncated(&self, ctx: &mut EvalContext<'_>) -> Result<(), SqlError> {
        bad_value(ctx, 1265, "01000", self.truncated_text())
    }

    /// 1265 as a note: MySQL's report of harmless rounding or trimming.
    fn truncated_note(&self, ctx: &mut EvalContext<'_>) {
        push_warning(ctx, Level::Note, 1265, self.truncated_text());
    }

    fn truncated_text(&self) -> String {
        format!(
            "Data truncated for column '{}' at row {}",
            self.column, self.row
        )
    }

    /// 1366 "Incorrect <what> value: 'x' for column".
    fn incorrect_value(
        &self,
        ctx: &mut EvalContext<'_>,
        what: &str,
        text: &[u8],
    ) -> Result<(), SqlError> {
        let message = format!(
            "Incorrect {what} value: '{}' for column '{}' at row {}",
            String::from_utf8_lossy(text),
            self.column,
            self.row
        );
        bad_value(ctx, 1366, "HY000", message)
    }

    /// 1292 "Incorrect date value: 'x' for column" in strict writes; a 1265
    /// warning otherwise, as MySQL reports a bad date it replaced by zero.
    fn incorrect_temporal(
        &self,
        ctx: &mut EvalContext<'_>,
        what: &str,
        value: &Datum,
    ) -> Result<(), SqlError> {
        if ctx.in_write && ctx.sql_mode.strict {
            let text = as_text(value).unwrap_or_default();
            return Err(SqlError::new(
                1292,
                "22007",
                format!(
                    "Incorrect {what} value: '{}' for column '{}' at row {}",
                    String::from_utf8_lossy(&text),
                    self.column,
                    self.row
                ),
            ));
        }
        push_warning(ctx, Level::Warning, 1265, self.truncated_text());
        Ok(())
    }
}

/// Converts `value` into what a column of type `ty` holds, as MySQL's store
/// assignment does: integers range-checked by width (`I64`, or `U64` for
/// UNSIGNED), decimals rounded to the scale, strings length-checked
/// (characters for text, bytes for binary and TEXT/BLOB), CHAR trimmed,
/// BINARY zero-padded, dates validated against `sql_mode` and rounded to the
/// column's fraction digits, YEAR/ENUM/SET/JSON validated. Bad values are
/// errors in strict writes and warnings (with the nearest storable value)
/// otherwise. NULL passes through (the caller checks NOT NULL). `row` is
/// 1-based, for messages.
pub fn store(
    value: Datum,
    ty: &SqlType,
    column: &str,
    row: u64,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    if value == Datum::Null {
        return Ok(Datum::Null);
    }
    let t = Target { column, row };
    match ty.kind {
        TypeKind::TinyInt
        | TypeKind::SmallInt
        | TypeKind::MediumInt
        | TypeKind::Int
        | TypeKind::BigInt => store_int(&value, ty, &t, ctx),
        TypeKind::Year => store_year(&value, &t, ctx),
        TypeKind::Decimal => store_decimal(&value, ty, &t, ctx),
        TypeKind::Float | TypeKind::Double => store_float(&value, ty, &t, ctx),
        TypeKind::Char
        | TypeKind::VarChar
        | TypeKind::Text
        | TypeKind::Binary
        | TypeKind::VarBinary
        | TypeKind::Blob => store_string(&value, ty, &t, ctx),
        TypeKind::Date | TypeKind::DateTime | TypeKind::Timestamp => {
            store_datetime(&value, ty, &t, ctx)
        }
        TypeKind::Time => store_time(&value, ty, &t, ctx),
        TypeKind::Enum => store_enum(&value, ty, &t, ctx),
        TypeKind::Set => store_set(&value, ty, &t, ctx),
        TypeKind::Json => store_json(&value, &t),
        TypeKind::Null => Ok(Datum::Null),
    }
}

/// The range of an integer column.
pub(crate) fn int_range(kind: TypeKind, unsigned: bool) -> (i128, i128) {
    let bits = match kind {
        TypeKind::TinyInt => 8,
        TypeKind::SmallInt => 16,
        TypeKind::MediumInt => 24,
        TypeKind::Int => 32,
        _ => 64,
    };
    if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    }
}

/// A string read as a number for storing: `None` (after a 1366) when it has
/// no digits; 1265 when text follows the number.
fn store_scan<'a>(
    b: &'a [u8],
    what: &str,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Option<Scanned<'a>>, SqlError> {
    let s = scan_number(b);
    if !s.has_digits() {
        t.incorrect_value(ctx, what, b)?;
        return Ok(None);
    }
    if s.trailing {
        t.truncated(ctx)?;
    }
    Ok(Some(s))
}

fn store_int(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let (min, max) = int_range(ty.kind, ty.unsigned);
    let huge = |neg: bool| if neg { i128::MIN } else { i128::MAX };
    let wide: i128 = match value {
        Datum::I64(v) => *v as i128,
        Datum::U64(v) => *v as i128,
        Datum::F64(v) => rint_i128(*v),
        Datum::Decimal(d) => {
            decimal_ops::to_i128(d, Rounding::HalfUp).unwrap_or(huge(decimal_ops::is_negative(d)))
        }
        Datum::Bytes(b) => match store_scan(b, "integer", t, ctx)? {
            None => 0,
            Some(s) => match s.to_decimal() {
                Some(d) => decimal_ops::to_i128(&d, Rounding::HalfUp).unwrap_or(huge(s.neg)),
                None => huge(s.neg),
            },
        },
        other => temporal_number(other)
            .and_then(|d| decimal_ops::to_i128(&d, Rounding::HalfUp))
            .unwrap_or(0),
    };
    let clamped = wide.clamp(min, max);
    if clamped != wide {
        t.out_of_range(ctx)?;
    }
    Ok(if ty.unsigned {
        Datum::U64(clamped as u64)
    } else {
        Datum::I64(clamped as i64)
    })
}

fn store_year(value: &Datum, t: &Target<'_>, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let year = match value {
        Datum::Date(d) => d.year() as i64,
        Datum::DateTime(dt) => dt.date().year() as i64,
        Datum::Bytes(b) => match store_scan(b, "integer", t, ctx)? {
            None => 0,
            // '0' and '00' are 2000, '0000' is the zero year.
            Some(s) if s.int.len() < 4 && s.int.iter().all(|&c| c == b'0') && s.frac.is_empty() => {
                2000
            }
            Some(s) => s
                .to_decimal()
                .and_then(|d| decimal_ops::to_i128(&d, Rounding::HalfUp))
                .map_or(i64::MAX, |v| v.clamp(-1, 100_000) as i64),
        },
        other => store_int(other, &SqlType::new(TypeKind::BigInt), t, ctx).map(|d| match d {
            Datum::I64(v) => v,
            _ => 0,
        })?,
    };
    match year_value(year) {
        Some(y) => Ok(Datum::I64(y)),
        None => {
            t.out_of_range(ctx)?;
            Ok(Datum::I64(0))
        }
    }
}

fn store_decimal(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let scale = (ty.scale as u32).min(30);
    let precision = ty.length.clamp(1, 65).max(scale);
    let exact = match value {
        Datum::Bytes(b) => match store_scan(b, "decimal", t, ctx)? {
            None => Some(decimal_ops::zero()),
            Some(s) => s.to_decimal(),
        },
        Datum::F64(v) => decimal_ops::from_f64(*v),
        other => exact_of(other),
    };
    let neg = match value {
        Datum::F64(v) => *v < 0.0,
        Datum::Bytes(b) => scan_number(b).neg,
        _ => exact.as_ref().is_some_and(decimal_ops::is_negative),
    };
    let fitted = match &exact {
        Some(d) => fit_decimal(d, precision, scale, ty.unsigned),
        None => Err(if ty.unsigned && neg {
            decimal_ops::zero()
        } else {
            max_decimal(precision, scale, neg)
        }),
    };
    let result = match fitted {
        Ok(r) => {
            if exact.is_some_and(|d| d != r) {
                t.truncated_note(ctx);
            }
            r
        }
        Err(clamped) => {
            t.out_of_range(ctx)?;
            clamped
        }
    };
    Ok(Datum::Decimal(
        result.rescale(scale as u8).unwrap_or(result),
    ))
}

fn store_float(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let mut v = match value {
        Datum::Bytes(b) => match store_scan(b, "double", t, ctx)? {
            None => 0.0,
            Some(s) => {
                if s.overflows_f64() {
                    t.out_of_range(ctx)?;
                }
                s.to_f64()
            }
        },
        other => double_of(other),
    };
    if ty.unsigned && v < 0.0 {
        t.out_of_range(ctx)?;
        v = 0.0;
    }
    // FLOAT(M,D) / DOUBLE(M,D): fixed decimals and a bound.
    if ty.scale < 31 {
        let factor = 10f64.powi(ty.scale as i32);
        v = (v * factor).round() / factor;
        let bound = 10f64.powi(ty.length.saturating_sub(ty.scale as u32) as i32) - 1.0 / factor;
        if v.abs() > bound {
            t.out_of_range(ctx)?;
            v = bound.copysign(v);
        }
    }
    if ty.kind == TypeKind::Float {
        if v.abs() > f32::MAX as f64 {
            t.out_of_range(ctx)?;
            v = (f32::MAX as f64).copysign(v);
        }
        v = v as f32 as f64;
    }
    Ok(Datum::F64(v))
}

fn store_string(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let binary = matches!(
        ty.kind,
        TypeKind::Binary | TypeKind::VarBinary | TypeKind::Blob
    );
    let mut bytes = as_text(value).unwrap_or_default().into_owned();
    if !binary && std::str::from_utf8(&bytes).is_err() {
        let bad: String = bytes
            .iter()
            .skip(std::str::from_utf8(&bytes).map_or_else(|e| e.valid_up_to(), |_| 0))
            .take(6)
            .map(|b| format!("\\x{b:02X}"))
            .collect();
        let message = format!(
            "Incorrect string value: '{bad}' for column '{}' at row {}",
            t.column, t.row
        );
        bad_value(ctx, 1366, "HY000", message)?;
        bytes = String::from_utf8_lossy(&bytes)
            .replace('\u{FFFD}', "?")
            .into_bytes();
    }
    // TEXT and BLOB limits are in bytes; CHAR and VARCHAR count characters.
    let by_bytes = binary || ty.kind == TypeKind::Text;
    let limit = ty.length as usize;
    let count = if by_bytes {
        bytes.len()
    } else {
        char_count(&bytes)
    };
    if count > limit {
        let keep = if by_bytes {
            limit
        } else {
            char_prefix(&bytes, limit).len()
        };
        let only_spaces = !binary && bytes[keep..].iter().all(|&c| c == b' ');
        if only_spaces {
            if ty.kind != TypeKind::Char {
                t.truncated_note(ctx);
            }
        } else if ctx.in_write && ctx.sql_mode.strict {
            return Err(crate::error::data_too_long(t.column, t.row));
        } else {
            push_warning(ctx, Level::Warning, 1265, t.truncated_text());
        }
        bytes.truncate(keep);
    }
    match ty.kind {
        TypeKind::Char => {
            let end = bytes.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
            bytes.truncate(end);
        }
        TypeKind::Binary => bytes.resize(limit, 0),
        _ => {}
    }
    Ok(Datum::Bytes(bytes))
}

fn store_datetime(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let what = if ty.kind == TypeKind::Date {
        "date"
    } else {
        "datetime"
    };
    let zero = || Fields::default();
    let parsed = match value {
        Datum::Date(d) => Some((Fields::of_date(*d), false, false)),
        Datum::DateTime(dt) => Some((Fields::of_datetime(*dt), true, false)),
        Datum::Time(tm) => time_on_today(tm, ctx).map(|dt| (Fields::of_datetime(dt), true, false)),
        Datum::Bytes(b) => temporal::parse_datetime(b).map(|p| (p.fields, p.has_time, p.trailing)),
        other => datetime_of_number(other).map(|p| (p.fields, p.has_time, false)),
    };
    let fields = match parsed {
        None => {
            t.incorrect_temporal(ctx, what, value)?;
            zero()
        }
        Some((f, has_time, trailing)) => {
            if trailing {
                t.incorrect_temporal(ctx, what, value)?;
            }
            if zero_date_rejected(&f, ctx) {
                t.incorrect_temporal(ctx, what, value)?;
                if f.year != 0 || f.month != 0 || f.day != 0 {
                    zero()
                } else {
                    f
                }
            } else {
                if ty.kind == TypeKind::Date
                    && has_time
                    && (f.hour, f.minute, f.second, f.micro) != (0, 0, 0, 0)
                {
                    t.truncated_note(ctx);
                }
                f
            }
        }
    };
    let Some(dt) = fields.datetime() else {
        t.incorrect_temporal(ctx, what, value)?;
        return Ok(Datum::Date(temporal::zero_date()));
    };
    if ty.kind == TypeKind::Date {
        return Ok(Datum::Date(dt.date()));
    }
    let Some(rounded) = temporal::round_datetime(dt, ty.scale) else {
        t.out_of_range(ctx)?;
        return Ok(Datum::DateTime(dt));
    };
    if ty.kind == TypeKind::Timestamp && !timestamp_in_range(&rounded) {
        t.incorrect_temporal(ctx, what, value)?;
        return Ok(Datum::DateTime(
            temporal::Fields::default().datetime().unwrap_or(rounded),
        ));
    }
    Ok(Datum::DateTime(rounded))
}

/// TIMESTAMP holds 1970-01-01 00:00:01 ..= 2038-01-19 03:14:07.999999 UTC
/// (the session time zone is UTC), or the zero value.
fn timestamp_in_range(dt: &DateTime) -> bool {
    if dt.to_packed() == 0 {
        return true;
    }
    let m = temporal::datetime_micros(dt);
    let epoch = temporal::daynr(1970, 1, 1) * temporal::DAY_MICROS;
    (epoch + 1_000_000..=epoch + 2_147_483_647 * 1_000_000 + 999_999).contains(&m)
}

fn store_time(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let parsed = match value {
        Datum::Time(tm) => Some((*tm, false, false)),
        Datum::Date(_) => Some((temporal::time_from_micros(0).0, false, false)),
        Datum::DateTime(dt) => {
            let micros = temporal::datetime_micros(dt).rem_euclid(temporal::DAY_MICROS);
            Some((temporal::time_from_micros(micros).0, false, false))
        }
        Datum::Bytes(b) => temporal::parse_time(b).map(|p| (p.time, p.clamped, p.trailing)),
        other => number_parts(other)
            .and_then(|(neg, whole, micro)| temporal::time_from_number(neg, whole, micro))
            .map(|(tm, clamped)| (tm, clamped, false)),
    };
    let time = match parsed {
        None => {
            t.incorrect_temporal(ctx, "time", value)?;
            temporal::time_from_micros(0).0
        }
        Some((tm, clamped, trailing)) => {
            if clamped {
                if ctx.in_write && ctx.sql_mode.strict {
                    t.incorrect_temporal(ctx, "time", value)?;
                }
                t.out_of_range(ctx)?;
            } else if trailing {
                t.incorrect_temporal(ctx, "time", value)?;
            }
            tm
        }
    };
    Ok(Datum::Time(temporal::round_time(time, ty.scale)))
}

/// The member equal to `text` under utf8mb4_general_ci (MySQL strips
/// trailing spaces from members and values alike).
fn find_member(members: &[String], text: &[u8]) -> Option<usize> {
    members.iter().position(|m| {
        super::eval::compare_strings(
            m.as_bytes(),
            text,
            crate::types::Collation::Utf8mb4GeneralCi,
        )
        .is_eq()
    })
}

fn store_enum(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let index = match value {
        Datum::Bytes(b) => match find_member(&ty.members, b) {
            Some(i) => Some(i + 1),
            // A string that names no member but is a number is an index.
            None => {
                let s = scan_number(b);
                if s.is_clean() && s.frac.is_empty() && s.exp == 0 && !s.neg {
                    std::str::from_utf8(s.int)
                        .ok()
                        .and_then(|v| v.parse::<usize>().ok())
                } else {
                    None
                }
            }
        },
        Datum::I64(v) => usize::try_from(*v).ok(),
        Datum::U64(v) => usize::try_from(*v).ok(),
        Datum::F64(v) => (v.fract() == 0.0 && *v >= 0.0).then_some(*v as usize),
        Datum::Decimal(d) => {
            decimal_ops::to_i128(d, Rounding::HalfUp).and_then(|v| usize::try_from(v).ok())
        }
        other => find_member(&ty.members, &as_text(other).unwrap_or_default()).map(|i| i + 1),
    };
    match index.filter(|&i| i >= 1 && i <= ty.members.len()) {
        Some(i) => Ok(Datum::Bytes(ty.members[i - 1].clone().into_bytes())),
        None => {
            t.truncated(ctx)?;
            Ok(Datum::Bytes(Vec::new()))
        }
    }
}

fn store_set(
    value: &Datum,
    ty: &SqlType,
    t: &Target<'_>,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let mut chosen = vec![false; ty.members.len()];
    let mut invalid = false;
    let as_mask = |mask: u64, chosen: &mut Vec<bool>| {
        for (i, slot) in chosen.iter_mut().enumerate() {
            *slot = i < 64 && mask >> i & 1 == 1;
        }
        ty.members.len() < 64 && mask >> ty.members.len() != 0
    };
    match value {
        Datum::I64(_) | Datum::U64(_) | Datum::Decimal(_) | Datum::F64(_) => {
            let mask =
                match exact_of(value).and_then(|d| decimal_ops::to_i128(&d, Rounding::HalfUp)) {
                    Some(v) => u64::try_from(v).unwrap_or(u64::MAX),
                    None => u64::MAX,
                };
            invalid = as_mask(mask, &mut chosen);
        }
        other => {
            let text = as_text(other).unwrap_or_default().into_owned();
            let s = scan_number(&text);
            if !text.is_empty()
                && s.is_clean()
                && s.frac.is_empty()
                && !s.neg
                && find_member(&ty.members, &text).is_none()
            {
                let mask = std::str::from_utf8(s.int)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(u64::MAX);
                invalid = as_mask(mask, &mut chosen);
            } else if !text.is_empty() {
                for part in text.split(|&c| c == b',') {
                    match find_member(&ty.members, part) {
                        Some(i) => chosen[i] = true,
                        None => invalid = true,
                    }
                }
            }
        }
    }
    if invalid {
        t.truncated(ctx)?;
    }
    let names: Vec<&str> = ty
        .members
        .iter()
        .zip(&chosen)
        .filter(|(_, c)| **c)
        .map(|(m, _)| m.as_str())
        .collect();
    Ok(Datum::Bytes(names.join(",").into_bytes()))
}

fn store_json(value: &Datum, t: &Target<'_>) -> Result<Datum, SqlError> {
    let text = as_text(value).unwrap_or_default();
    match serde_json::from_slice::<serde_json::Value>(&text) {
        Ok(v) => Ok(Datum::Bytes(json_text(&v).into_bytes())),
        Err(e) => Err(SqlError::new(
            3140,
            "22032",
            format!(
                "Invalid JSON text: \"{}\" at position {} in value for column '{}'.",
                json_reason(&e),
                e.column().saturating_sub(1),
                t.column
            ),
        )),
    }
}
