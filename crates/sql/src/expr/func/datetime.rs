//! Date and time functions. The session time zone is UTC (no libc time
//! zone calls; DESIGN §7 rule 4), so NOW() and UTC_TIMESTAMP() agree and
//! UNIX_TIMESTAMP() is plain arithmetic on the calendar.

use super::Func;
use crate::expr::cast::{self, decimal_ops, temporal};
use crate::expr::{EvalContext, Level};
use crate::result::SqlError;
use crate::types::{SqlType, TypeKind};
use codec::{DateTime, Datum, Time};
use decimal_ops::Rounding;
use temporal::{DAY_MICROS, Fields, week};

/// The unit of an `INTERVAL`, of TIMESTAMPDIFF and of EXTRACT.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntervalUnit {
    /// MICROSECOND.
    Microsecond,
    /// SECOND.
    Second,
    /// MINUTE.
    Minute,
    /// HOUR.
    Hour,
    /// DAY.
    Day,
    /// WEEK.
    Week,
    /// MONTH.
    Month,
    /// QUARTER.
    Quarter,
    /// YEAR.
    Year,
    /// SECOND_MICROSECOND: `'S.f'`.
    SecondMicrosecond,
    /// MINUTE_MICROSECOND: `'M:S.f'`.
    MinuteMicrosecond,
    /// MINUTE_SECOND: `'M:S'`.
    MinuteSecond,
    /// HOUR_MICROSECOND: `'H:M:S.f'`.
    HourMicrosecond,
    /// HOUR_SECOND: `'H:M:S'`.
    HourSecond,
    /// HOUR_MINUTE: `'H:M'`.
    HourMinute,
    /// DAY_MICROSECOND: `'D H:M:S.f'`.
    DayMicrosecond,
    /// DAY_SECOND: `'D H:M:S'`.
    DaySecond,
    /// DAY_MINUTE: `'D H:M'`.
    DayMinute,
    /// DAY_HOUR: `'D H'`.
    DayHour,
    /// YEAR_MONTH: `'Y-M'`.
    YearMonth,
}

impl IntervalUnit {
    /// A single unit (MICROSECOND ... YEAR), the only ones TIMESTAMPDIFF and
    /// TIMESTAMPADD take.
    pub fn is_simple(self) -> bool {
        use IntervalUnit::*;
        matches!(
            self,
            Microsecond | Second | Minute | Hour | Day | Week | Month | Quarter | Year
        )
    }

    /// The unit named `name` (case-insensitive, as SQL spells it).
    pub fn from_name(name: &str) -> Option<IntervalUnit> {
        use IntervalUnit::*;
        Some(match name.to_ascii_uppercase().as_str() {
            "MICROSECOND" => Microsecond,
            "SECOND" => Second,
            "MINUTE" => Minute,
            "HOUR" => Hour,
            "DAY" => Day,
            "WEEK" => Week,
            "MONTH" => Month,
            "QUARTER" => Quarter,
            "YEAR" => Year,
            "SECOND_MICROSECOND" => SecondMicrosecond,
            "MINUTE_MICROSECOND" => MinuteMicrosecond,
            "MINUTE_SECOND" => MinuteSecond,
            "HOUR_MICROSECOND" => HourMicrosecond,
            "HOUR_SECOND" => HourSecond,
            "HOUR_MINUTE" => HourMinute,
            "DAY_MICROSECOND" => DayMicrosecond,
            "DAY_SECOND" => DaySecond,
            "DAY_MINUTE" => DayMinute,
            "DAY_HOUR" => DayHour,
            "YEAR_MONTH" => YearMonth,
            _ => return None,
        })
    }

    /// Whether the unit counts months (calendar arithmetic, not a duration).
    fn is_months(self) -> bool {
        matches!(
            self,
            IntervalUnit::Month
                | IntervalUnit::Quarter
                | IntervalUnit::Year
                | IntervalUnit::YearMonth
        )
    }

    /// Whether the unit has parts below a day.
    fn has_time(self) -> bool {
        !self.is_months() && !matches!(self, IntervalUnit::Day | IntervalUnit::Week)
    }

    /// Whether the unit reaches microseconds.
    fn has_micros(self) -> bool {
        use IntervalUnit::*;
        matches!(
            self,
            Microsecond | SecondMicrosecond | MinuteMicrosecond | HourMicrosecond | DayMicrosecond
        )
    }

    /// The fields a compound value spells, as microseconds each (months for
    /// YEAR_MONTH), most significant first; the last is a fraction for the
    /// `_MICROSECOND` units.
    fn parts(self) -> &'static [i64] {
        use IntervalUnit::*;
        const US: i64 = 1;
        const S: i64 = 1_000_000;
        const M: i64 = 60 * S;
        const H: i64 = 60 * M;
        const D: i64 = 24 * H;
        match self {
            SecondMicrosecond => &[S, US],
            MinuteMicrosecond => &[M, S, US],
            MinuteSecond => &[M, S],
            HourMicrosecond => &[H, M, S, US],
            HourSecond => &[H, M, S],
            HourMinute => &[H, M],
            DayMicrosecond => &[D, H, M, S, US],
            DaySecond => &[D, H, M, S],
            DayMinute => &[D, H, M],
            DayHour => &[D, H],
            YearMonth => &[12, 1],
            _ => &[],
        }
    }
}

/// An interval: whole months and microseconds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Interval {
    months: i64,
    micros: i64,
}

/// Reads `INTERVAL value unit`. Simple units take a number (rounded to an
/// integer, except SECOND, which keeps microseconds); compound units take
/// a string of numbers separated by anything, missing leading parts
/// counting as zero and a `-` in front negating the whole. `None` when the
/// value is malformed.
fn interval(
    value: &Datum,
    unit: IntervalUnit,
    ctx: &mut EvalContext<'_>,
) -> Result<Option<Interval>, SqlError> {
    use IntervalUnit::*;
    let simple = |n: i64, scale: i64| Interval {
        months: 0,
        micros: n.saturating_mul(scale),
    };
    Ok(Some(match unit {
        Microsecond | Minute | Hour | Day | Week | Month | Quarter | Year => {
            let Some(n) = cast::to_i64(value, ctx)? else {
                return Ok(None);
            };
            match unit {
                Microsecond => simple(n, 1),
                Minute => simple(n, 60_000_000),
                Hour => simple(n, 3_600_000_000),
                Day => simple(n, DAY_MICROS),
                Week => simple(n, 7 * DAY_MICROS),
                Month => Interval {
                    months: n,
                    micros: 0,
                },
                Quarter => Interval {
                    months: n.saturating_mul(3),
                    micros: 0,
                },
                _ => Interval {
                    months: n.saturating_mul(12),
                    micros: 0,
                },
            }
        }
        Second => {
            let Some(d) = cast::to_decimal(value, ctx)? else {
                return Ok(None);
            };
            let micros = decimal_ops::round(&d, 6, Rounding::HalfUp)
                .and_then(|r| decimal_ops::mul(&r, &decimal_ops::from_i128(1_000_000)))
                .and_then(|m| decimal_ops::to_i128(&m, Rounding::Truncate))
                .map_or(i64::MAX, |m| {
                    m.clamp(i64::MIN as i128, i64::MAX as i128) as i64
                });
            Interval { months: 0, micros }
        }
        compound => {
            let Some(text) = cast::as_text(value) else {
                return Ok(None);
            };
            let trimmed: &[u8] = text.trim_ascii();
            let neg = trimmed.first() == Some(&b'-');
            let mut numbers: Vec<&[u8]> = trimmed
                .split(|c| !c.is_ascii_digit())
                .filter(|p| !p.is_empty())
                .collect();
            let parts = compound.parts();
            if numbers.is_empty() || numbers.len() > parts.len() {
                return Ok(None);
            }
            let micro_last = compound.has_micros() && numbers.len() == parts.len();
            let mut total: i64 = 0;
            let offset = parts.len() - numbers.len();
            let last = numbers.len() - 1;
            for (i, digits) in numbers.iter_mut().enumerate() {
                let value = if micro_last && i == last {
                    // The fraction: '5' is 500000 microseconds.
                    let mut v = 0i64;
                    for k in 0..6 {
                        v = v * 10 + digits.get(k).map_or(0, |c| (c - b'0') as i64);
                    }
                    v
                } else {
                    digits
                        .iter()
                        .take(18)
                        .fold(0i64, |v, c| v * 10 + (c - b'0') as i64)
                };
                total = total.saturating_add(value.saturating_mul(parts[offset + i]));
            }
            let total = if neg { -total } else { total };
            if compound == YearMonth {
                Interval {
                    months: total,
                    micros: 0,
                }
            } else {
                Interval {
                    months: 0,
                    micros: total,
                }
            }
        }
    }))
}

/// 1441 "Datetime function: datetime field overflow", and NULL.
fn overflow(ctx: &mut EvalContext<'_>) -> Datum {
    cast::push_warning(
        ctx,
        Level::Warning,
        1441,
        "Datetime function: datetime field overflow".into(),
    );
    Datum::Null
}

/// `dt` plus `months` calendar months, the day clamped to the month's end.
fn add_months(dt: DateTime, months: i64) -> Option<DateTime> {
    let f = Fields::of_datetime(dt);
    let total = (f.year as i64 * 12 + f.month as i64 - 1).checked_add(months)?;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let day = f
        .day
        .min(temporal::days_in_month(year as u32, month as u32));
    Fields {
        year: year as u32,
        month: month as u32,
        day,
        ..f
    }
    .datetime()
}

/// DATE_ADD / DATE_SUB.
fn date_add(
    unit: IntervalUnit,
    subtract: bool,
    args: &[Datum],
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let Some(mut iv) = interval(&args[1], unit, ctx)? else {
        return Ok(Datum::Null);
    };
    if subtract {
        iv = Interval {
            months: iv.months.saturating_neg(),
            micros: iv.micros.saturating_neg(),
        };
    }
    // A TIME plus a duration stays a TIME.
    if let Datum::Time(t) = &args[0]
        && !unit.is_months()
    {
        let micros = t.to_packed().saturating_add(iv.micros);
        return Ok(match Time::from_packed(micros) {
            Ok(t) => Datum::Time(t),
            Err(_) => overflow(ctx),
        });
    }
    let as_text = matches!(
        args[0],
        Datum::Bytes(_) | Datum::I64(_) | Datum::U64(_) | Datum::Decimal(_) | Datum::F64(_)
    );
    let date_only = match &args[0] {
        Datum::Date(_) => true,
        Datum::Bytes(b) => temporal::parse_datetime(b).is_some_and(|p| !p.has_time),
        Datum::DateTime(_) | Datum::Time(_) | Datum::Null => false,
        other => {
            cast::temporal_number(other).is_none()
                && !matches!(other, Datum::I64(v) if *v >= 10_000_000_000)
        }
    };
    let Some(dt) = cast::to_datetime(&args[0], ctx)? else {
        return Ok(Datum::Null);
    };
    if dt.date().month() == 0 || dt.date().day() == 0 {
        return Ok(overflow(ctx));
    }
    let moved = if unit.is_months() {
        add_months(dt, iv.months)
    } else {
        temporal::datetime_micros(&dt)
            .checked_add(iv.micros)
            .and_then(temporal::micros_datetime)
    };
    let Some(moved) = moved else {
        return Ok(overflow(ctx));
    };
    let keep_date = date_only && !unit.has_time();
    Ok(match (as_text, keep_date) {
        (true, true) => Datum::Bytes(moved.date().to_string().into_bytes()),
        (true, false) => Datum::Bytes(moved.to_string().into_bytes()),
        (false, true) => Datum::Date(moved.date()),
        (false, false) => Datum::DateTime(moved),
    })
}

/// The date of a value if it has a real one (no zero month or day).
fn full_date(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<Fields>, SqlError> {
    Ok(cast::to_datetime(d, ctx)?
        .map(Fields::of_datetime)
        .filter(|f| f.month != 0 && f.day != 0))
}

fn day_number(f: &Fields) -> i64 {
    temporal::daynr(f.year, f.month, f.day)
}

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Whether text reads as a time (`10:00`, `1 10:00`, `101112`) rather than
/// a date (`2024-01-31 ...`, `20240131101112`): decides TIMEDIFF's kind.
fn is_time_text(s: &[u8]) -> bool {
    let s = s.trim_ascii();
    let s = s.strip_prefix(b"-").unwrap_or(s);
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    match s.get(n) {
        Some(b':') | Some(b' ') => true,
        None | Some(b'.') => n < 12,
        _ => false,
    }
}

/// A value as a time (`Some(true)`) or a datetime (`Some(false)`) operand.
fn is_time_operand(d: &Datum) -> Option<bool> {
    match d {
        Datum::Null => None,
        Datum::Time(_) => Some(true),
        Datum::Date(_) | Datum::DateTime(_) => Some(false),
        Datum::Bytes(b) => Some(is_time_text(b)),
        Datum::I64(v) => Some(v.unsigned_abs() < 10_000_000_000),
        Datum::U64(v) => Some(*v < 10_000_000_000),
        other => Some(cast::temporal_number(other).is_none()),
    }
}

/// TIMEDIFF: both times or both datetimes (NULL when mixed), clamped to
/// the TIME range with a warning.
fn time_diff(args: &[Datum], ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let (Some(a_time), Some(b_time)) = (is_time_operand(&args[0]), is_time_operand(&args[1]))
    else {
        return Ok(Datum::Null);
    };
    if a_time != b_time {
        return Ok(Datum::Null);
    }
    let micros = if a_time {
        let (Some(a), Some(b)) = (cast::to_time(&args[0], ctx)?, cast::to_time(&args[1], ctx)?)
        else {
            return Ok(Datum::Null);
        };
        a.to_packed() - b.to_packed()
    } else {
        let (Some(a), Some(b)) = (
            cast::to_datetime(&args[0], ctx)?,
            cast::to_datetime(&args[1], ctx)?,
        ) else {
            return Ok(Datum::Null);
        };
        temporal::datetime_micros(&a) - temporal::datetime_micros(&b)
    };
    let (t, clamped) = temporal::time_from_micros(micros);
    if clamped {
        let shown = format!(
            "{}{}",
            if micros < 0 { "-" } else { "" },
            micros.unsigned_abs() / 1_000_000 / 3600
        );
        cast::bad_value(
            ctx,
            1292,
            "22007",
            format!("Truncated incorrect time value: '{shown}:59:59'"),
        )?;
    }
    Ok(Datum::Time(t))
}

/// Months from `a` to `b` (negative when `b` is earlier), counting only
/// whole months, as TIMESTAMPDIFF does.
fn month_diff(a: &DateTime, b: &DateTime) -> i64 {
    let (early, late, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
    let (e, l) = (Fields::of_datetime(*early), Fields::of_datetime(*late));
    let mut months = (l.year as i64 - e.year as i64) * 12 + (l.month as i64 - e.month as i64);
    let rest = |f: &Fields| (f.day, f.hour, f.minute, f.second, f.micro);
    if rest(&l) < rest(&e) {
        months -= 1;
    }
    months * sign
}

fn timestamp_diff(
    unit: IntervalUnit,
    args: &[Datum],
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    use IntervalUnit::*;
    let (Some(a), Some(b)) = (
        cast::to_datetime(&args[0], ctx)?,
        cast::to_datetime(&args[1], ctx)?,
    ) else {
        return Ok(Datum::Null);
    };
    let micros = temporal::datetime_micros(&b) - temporal::datetime_micros(&a);
    Ok(Datum::I64(match unit {
        Month | YearMonth => month_diff(&a, &b),
        Quarter => month_diff(&a, &b) / 3,
        Year => month_diff(&a, &b) / 12,
        Microsecond => micros,
        Second | SecondMicrosecond => micros / 1_000_000,
        Minute | MinuteMicrosecond | MinuteSecond => micros / 60_000_000,
        Hour | HourMicrosecond | HourSecond | HourMinute => micros / 3_600_000_000,
        Week => micros / (7 * DAY_MICROS),
        _ => micros / DAY_MICROS,
    }))
}

/// EXTRACT(unit FROM value): units without a date part read the value as a
/// TIME (so `EXTRACT(HOUR FROM '-10:11:12')` is -10), others as a date.
fn extract(unit: IntervalUnit, arg: &Datum, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    use IntervalUnit::*;
    let timeish = matches!(
        unit,
        Microsecond
            | Second
            | Minute
            | Hour
            | SecondMicrosecond
            | MinuteMicrosecond
            | MinuteSecond
            | HourMicrosecond
            | HourSecond
            | HourMinute
    );
    let (f, sign) = if timeish {
        let Some(t) = cast::to_time(arg, ctx)? else {
            return Ok(Datum::Null);
        };
        let f = Fields {
            hour: t.hours(),
            minute: t.minutes() as u32,
            second: t.seconds() as u32,
            micro: t.micro(),
            ..Fields::default()
        };
        (f, if t.is_negative() { -1 } else { 1 })
    } else {
        let Some(dt) = cast::to_datetime(arg, ctx)? else {
            return Ok(Datum::Null);
        };
        (Fields::of_datetime(dt), 1)
    };
    let (h, mi, s, us) = (
        f.hour as i64,
        f.minute as i64,
        f.second as i64,
        f.micro as i64,
    );
    let v = match unit {
        Microsecond => us,
        Second => s,
        Minute => mi,
        Hour => h,
        Day => f.day as i64,
        Week => temporal::week_of(f.year, f.month, f.day, week::flags(0)).0 as i64,
        Month => f.month as i64,
        Quarter => (f.month as i64 + 2) / 3,
        Year => f.year as i64,
        SecondMicrosecond => s * 1_000_000 + us,
        MinuteMicrosecond => (mi * 100 + s) * 1_000_000 + us,
        MinuteSecond => mi * 100 + s,
        HourMicrosecond => ((h * 100 + mi) * 100 + s) * 1_000_000 + us,
        HourSecond => (h * 100 + mi) * 100 + s,
        HourMinute => h * 100 + mi,
        DayMicrosecond => (((f.day as i64 * 100 + h) * 100 + mi) * 100 + s) * 1_000_000 + us,
        DaySecond => ((f.day as i64 * 100 + h) * 100 + mi) * 100 + s,
        DayMinute => (f.day as i64 * 100 + h) * 100 + mi,
        DayHour => f.day as i64 * 100 + h,
        YearMonth => f.year as i64 * 100 + f.month as i64,
    };
    Ok(Datum::I64(v * sign))
}

// ---------------------------------------------------------------------------
// DATE_FORMAT and STR_TO_DATE

fn ordinal_suffix(day: u32) -> &'static str {
    match (day % 100, day % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

/// DATE_FORMAT / TIME_FORMAT. `None` (NULL) when the format needs a
/// weekday, week or name the value cannot give (zero dates), or when
/// TIME_FORMAT meets a date specifier.
fn format_fields(f: &Fields, format: &[u8], time_only: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(format.len() * 2);
    let real_date = f.month != 0 && f.day != 0;
    let daynr = || real_date.then(|| day_number(f));
    let mut it = format.iter();
    while let Some(&c) = it.next() {
        if c != b'%' {
            out.push(c);
            continue;
        }
        let Some(&spec) = it.next() else { break };
        let hour12 = (f.hour + 11) % 12 + 1;
        let text = match spec {
            b'H' => format!("{:02}", f.hour),
            b'k' => f.hour.to_string(),
            b'h' | b'I' => format!("{hour12:02}"),
            b'l' => hour12.to_string(),
            b'i' => format!("{:02}", f.minute),
            b'S' | b's' => format!("{:02}", f.second),
            b'f' => format!("{:06}", f.micro),
            b'p' => (if f.hour % 24 < 12 { "AM" } else { "PM" }).to_string(),
            b'r' => format!(
                "{hour12:02}:{:02}:{:02} {}",
                f.minute,
                f.second,
                if f.hour % 24 < 12 { "AM" } else { "PM" }
            ),
            b'T' => format!("{:02}:{:02}:{:02}", f.hour, f.minute, f.second),
            b'%' => "%".to_string(),
            _ if time_only && b"aMbDWjUuVvXxwYymcde".contains(&spec) => return None,
            b'Y' => format!("{:04}", f.year),
            b'y' => format!("{:02}", f.year % 100),
            b'm' => format!("{:02}", f.month),
            b'c' => f.month.to_string(),
            b'd' => format!("{:02}", f.day),
            b'e' => f.day.to_string(),
            b'D' => format!("{}{}", f.day, ordinal_suffix(f.day)),
            b'M' => MONTH_NAMES
                .get((f.month as usize).checked_sub(1)?)?
                .to_string(),
            b'b' => MONTH_NAMES.get((f.month as usize).checked_sub(1)?)?[..3].to_string(),
            b'W' => DAY_NAMES[temporal::weekday(daynr()?) as usize].to_string(),
            b'a' => DAY_NAMES[temporal::weekday(daynr()?) as usize][..3].to_string(),
            b'w' => ((temporal::weekday(daynr()?) + 1) % 7).to_string(),
            b'j' => {
                let n = daynr()?;
                format!("{:03}", n - temporal::daynr(f.year, 1, 1) + 1)
            }
            b'U' | b'u' | b'V' | b'v' => {
                daynr()?;
                let flags = match spec {
                    b'U' => week::FIRST_WEEKDAY,
                    b'u' => week::MONDAY_FIRST,
                    b'V' => week::YEAR | week::FIRST_WEEKDAY,
                    _ => week::YEAR | week::MONDAY_FIRST,
                };
                format!("{:02}", temporal::week_of(f.year, f.month, f.day, flags).0)
            }
            b'X' | b'x' => {
                daynr()?;
                let flags = if spec == b'X' {
                    week::YEAR | week::FIRST_WEEKDAY
                } else {
                    week::YEAR | week::MONDAY_FIRST
                };
                format!("{:04}", temporal::week_of(f.year, f.month, f.day, flags).1)
            }
            other => (other as char).to_string(),
        };
        out.extend_from_slice(text.as_bytes());
    }
    Some(out)
}

/// Which parts a STR_TO_DATE format fills: (date, time, fraction).
fn format_parts(format: &[u8]) -> (bool, bool, bool) {
    let (mut date, mut time, mut frac) = (false, false, false);
    let mut it = format.iter();
    while let Some(&c) = it.next() {
        if c != b'%' {
            continue;
        }
        match it.next() {
            Some(
                b'Y' | b'y' | b'm' | b'c' | b'd' | b'e' | b'D' | b'j' | b'M' | b'b' | b'a' | b'W'
                | b'U' | b'u' | b'V' | b'v' | b'X' | b'x' | b'w',
            ) => date = true,
            Some(b'f') => {
                frac = true;
                time = true;
            }
            Some(b'H' | b'h' | b'I' | b'k' | b'l' | b'i' | b'S' | b's' | b'p' | b'r' | b'T') => {
                time = true
            }
            _ => {}
        }
    }
    (date, time, frac)
}

/// STR_TO_DATE's result type for a constant format.
pub(super) fn str_to_date_type(format: &[u8]) -> SqlType {
    let (date, time, frac) = format_parts(format);
    let fsp = if frac { 6 } else { 0 };
    match (date, time) {
        (true, false) => SqlType::new(TypeKind::Date),
        (false, true) => SqlType {
            scale: fsp,
            ..SqlType::new(TypeKind::Time)
        },
        _ => SqlType {
            scale: fsp,
            length: 19 + if frac { 7 } else { 0 },
            ..SqlType::new(TypeKind::DateTime)
        },
    }
}

/// Reads up to `max` digits; `None` when there is none.
fn read_number(s: &[u8], max: usize) -> Option<(u32, usize)> {
    let n = s
        .iter()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .count();
    (n > 0).then(|| {
        (
            s[..n].iter().fold(0u32, |v, c| v * 10 + (c - b'0') as u32),
            n,
        )
    })
}

/// Reads one of `names` (or its first three letters when `short`),
/// case-insensitively; returns its index and length.
fn read_name(s: &[u8], names: &[&str], short: bool) -> Option<(usize, usize)> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = if short {
            &name.as_bytes()[..3]
        } else {
            name.as_bytes()
        };
        (s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name))
            .then_some((i, name.len()))
    })
}

/// STR_TO_DATE's parse: `None` when the text does not follow the format.
/// Returns the fields and whether text was left over.
fn parse_with_format(text: &[u8], format: &[u8]) -> Option<(Fields, bool)> {
    // %T and %r are shorthands.
    let mut expanded = Vec::with_capacity(format.len() + 16);
    let mut raw = format.iter();
    while let Some(&c) = raw.next() {
        match (c, raw.clone().next()) {
            (b'%', Some(b'T')) => expanded.extend_from_slice(b"%H:%i:%S"),
            (b'%', Some(b'r')) => expanded.extend_from_slice(b"%I:%i:%S %p"),
            (b'%', Some(&next)) => expanded.extend_from_slice(&[b'%', next]),
            _ => {
                expanded.push(c);
                continue;
            }
        }
        raw.next();
    }
    let format = expanded.as_slice();
    let mut f = Fields::default();
    let mut pm: Option<bool> = None;
    let mut yday: Option<u32> = None;
    let mut s = text;
    let mut fmt = format.iter();
    while let Some(&c) = fmt.next() {
        if c.is_ascii_whitespace() {
            s = s.trim_ascii_start();
            continue;
        }
        if c != b'%' {
            if s.first() != Some(&c) {
                return None;
            }
            s = &s[1..];
            continue;
        }
        let spec = *fmt.next()?;
        s = s.trim_ascii_start();
        let num = |s: &mut &[u8], max: usize| -> Option<u32> {
            let (v, n) = read_number(s, max)?;
            *s = &s[n..];
            Some(v)
        };
        match spec {
            b'Y' => {
                let before = s.len();
                let y = num(&mut s, 4)?;
                f.year = temporal::expand_year(y, before - s.len());
            }
            b'y' => f.year = temporal::expand_year(num(&mut s, 2)?, 2),
            b'm' | b'c' => f.month = num(&mut s, 2)?,
            b'd' | b'e' => f.day = num(&mut s, 2)?,
            b'D' => {
                f.day = num(&mut s, 2)?;
                s = s.get(2..)?;
            }
            b'H' | b'k' => f.hour = num(&mut s, 3)?,
            b'h' | b'I' | b'l' => f.hour = num(&mut s, 2)?,
            b'i' => f.minute = num(&mut s, 2)?,
            b'S' | b's' => f.second = num(&mut s, 2)?,
            b'f' => {
                let (v, n) = read_number(s, 6)?;
                f.micro = v * 10u32.pow(6 - n as u32);
                s = &s[n..];
            }
            b'j' => yday = Some(num(&mut s, 3)?),
            b'p' => {
                let (i, n) = read_name(s, &["AM", "PM"], false)?;
                pm = Some(i == 1);
                s = &s[n..];
            }
            b'M' | b'b' => {
                let (i, n) = read_name(s, &MONTH_NAMES, spec == b'b')?;
                f.month = i as u32 + 1;
                s = &s[n..];
            }
            b'W' | b'a' => {
                let (_, n) = read_name(s, &DAY_NAMES, spec == b'a')?;
                s = &s[n..];
            }
            b'%' => {
                if s.first() != Some(&b'%') {
                    return None;
                }
                s = &s[1..];
            }
            _ => return None,
        }
    }
    if let Some(pm) = pm {
        if f.hour == 0 || f.hour > 12 {
            return None;
        }
        f.hour = f.hour % 12 + if pm { 12 } else { 0 };
    }
    if let Some(n) = yday {
        let date = temporal::from_daynr(temporal::daynr(f.year, 1, 1) + n as i64 - 1)
            .filter(|_| n >= 1)?;
        f.month = date.month() as u32;
        f.day = date.day() as u32;
    }
    Some((f, !s.trim_ascii().is_empty()))
}

fn str_to_date(args: &[Datum], ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let (Some(text), Some(format)) = (cast::as_text(&args[0]), cast::as_text(&args[1])) else {
        return Ok(Datum::Null);
    };
    let (date, time, _) = format_parts(&format);
    let fail = |ctx: &mut EvalContext<'_>| -> Result<Datum, SqlError> {
        let message = format!(
            "Incorrect datetime value: '{}' for function str_to_date",
            String::from_utf8_lossy(&text)
        );
        cast::bad_value(ctx, 1411, "HY000", message)?;
        Ok(Datum::Null)
    };
    let Some((f, trailing)) = parse_with_format(&text, &format) else {
        return fail(ctx);
    };
    if trailing {
        let message = format!(
            "Truncated incorrect datetime value: '{}'",
            String::from_utf8_lossy(&text)
        );
        cast::bad_value(ctx, 1292, "22007", message)?;
    }
    if !date && time {
        let micros = ((f.hour as i64 * 60 + f.minute as i64) * 60 + f.second as i64) * 1_000_000
            + f.micro as i64;
        if f.minute > 59 || f.second > 59 {
            return fail(ctx);
        }
        return Ok(Datum::Time(temporal::time_from_micros(micros).0));
    }
    let zero_parts = f.month == 0 || f.day == 0;
    let all_zero = f.year == 0 && f.month == 0 && f.day == 0;
    if (zero_parts && ctx.sql_mode.no_zero_in_date && !all_zero)
        || (all_zero && ctx.sql_mode.no_zero_date)
    {
        return fail(ctx);
    }
    let Some(dt) = f.datetime() else {
        return fail(ctx);
    };
    Ok(if time {
        Datum::DateTime(dt)
    } else {
        Datum::Date(dt.date())
    })
}

// ---------------------------------------------------------------------------
// Unix time and the clock

/// Microseconds from the MySQL day numbering's origin to 1970-01-01.
fn epoch_micros() -> i64 {
    temporal::daynr(1970, 1, 1) * DAY_MICROS
}

/// The latest instant UNIX_TIMESTAMP and FROM_UNIXTIME accept
/// (3001-01-18 23:59:59.999999 UTC, MySQL 8.0.28+ on 64-bit platforms).
const MAX_UNIX_SECONDS: i64 = 32_536_771_199;

/// `now` cut to `fsp` fraction digits (0..=6; 1426 beyond).
fn clock(func: Func, args: &[Datum], ctx: &mut EvalContext<'_>) -> Result<DateTime, SqlError> {
    let fsp = match args.first() {
        Some(v) => cast::to_i64(v, ctx)?.unwrap_or(0),
        None => 0,
    };
    if !(0..=6).contains(&fsp) {
        return Err(SqlError::new(
            1426,
            "42000",
            format!(
                "Too-big precision {fsp} specified for '{}'. Maximum is 6.",
                func.name()
            ),
        ));
    }
    let unit = 10u32.pow(6 - fsp as u32);
    let now = ctx.now;
    Ok(Fields {
        micro: now.micro() / unit * unit,
        ..Fields::of_datetime(now)
    }
    .datetime()
    .unwrap_or(now))
}

fn time_of_day(dt: &DateTime) -> Time {
    temporal::time_from_micros(temporal::datetime_micros(dt).rem_euclid(DAY_MICROS)).0
}

/// A number of seconds with microseconds: an integer when whole.
fn seconds_datum(micros: i64) -> Datum {
    let (whole, micro) = (
        micros / 1_000_000,
        (micros % 1_000_000).unsigned_abs() as u32,
    );
    if micro == 0 {
        return Datum::I64(whole);
    }
    let d = cast::with_micros(micros < 0, whole.unsigned_abs(), micro);
    // Drop trailing zeros of the fraction: '...19.012' gives 1447431619.012.
    let mut scale = 6;
    while scale > 0 && d.rescale(scale - 1).is_ok() {
        scale -= 1;
    }
    Datum::Decimal(d.rescale(scale).unwrap_or(d))
}

/// A decimal count of seconds as microseconds, rounded.
fn micros_of(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<i128>, SqlError> {
    let Some(v) = cast::to_decimal(d, ctx)? else {
        return Ok(None);
    };
    Ok(decimal_ops::round(&v, 6, Rounding::HalfUp)
        .and_then(|r| decimal_ops::mul(&r, &decimal_ops::from_i128(1_000_000)))
        .and_then(|m| decimal_ops::to_i128(&m, Rounding::Truncate)))
}

// ---------------------------------------------------------------------------
// Dispatch

/// Result types of the date and time functions.
pub(super) fn return_type(func: Func, args: &[SqlType]) -> SqlType {
    use Func::*;
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .unwrap_or_else(|| SqlType::new(TypeKind::Null))
    };
    let int = |length: u32| SqlType {
        length,
        ..SqlType::new(TypeKind::BigInt)
    };
    let text = |length: u32| SqlType {
        length,
        ..SqlType::new(TypeKind::VarChar)
    };
    let fsp_of = |t: &SqlType| match t.kind {
        TypeKind::DateTime | TypeKind::Timestamp | TypeKind::Time => t.scale.min(6),
        TypeKind::Date => 0,
        _ if t.is_integer() => 0,
        TypeKind::Decimal => t.scale.min(6),
        _ => 6,
    };
    match func {
        Now | UtcTimestamp => SqlType::new(TypeKind::DateTime),
        CurDate | UtcDate | Date | LastDay | MakeDate | FromDays => SqlType::new(TypeKind::Date),
        CurTime | UtcTime => SqlType::new(TypeKind::Time),
        Time | SecToTime => SqlType {
            scale: fsp_of(&arg(0)),
            ..SqlType::new(TypeKind::Time)
        },
        MakeTime => SqlType {
            scale: fsp_of(&arg(2)),
            ..SqlType::new(TypeKind::Time)
        },
        TimeDiff => SqlType {
            scale: fsp_of(&arg(0)).max(fsp_of(&arg(1))),
            ..SqlType::new(TypeKind::Time)
        },
        Year | Month | Day | Hour | Minute | Second | DayOfWeek | DayOfYear | WeekDay | Quarter
        | Week | WeekOfYear => int(3),
        Microsecond | YearWeek | DateDiff | ToDays | TimestampDiff(_) | Extract(_) => int(11),
        TimeToSec => match fsp_of(&arg(0)) {
            0 => int(10),
            fsp => super::decimal_type(10 + fsp as u32, fsp as u32),
        },
        DayName => text(9),
        MonthName => text(9),
        DateFormat | TimeFormat => text(64),
        StrToDate => SqlType {
            scale: 6,
            ..SqlType::new(TypeKind::DateTime)
        },
        UnixTimestamp => match args.first().map(fsp_of) {
            None | Some(0) => int(11),
            Some(fsp) => super::decimal_type(11 + fsp as u32, fsp as u32),
        },
        FromUnixtime if args.len() == 2 => text(64),
        FromUnixtime => SqlType {
            scale: fsp_of(&arg(0)),
            ..SqlType::new(TypeKind::DateTime)
        },
        DateAdd(unit) | DateSub(unit) => {
            let fsp = if unit.has_micros() || matches!(unit, IntervalUnit::Second) {
                6
            } else {
                0
            };
            match arg(0).kind {
                TypeKind::Date if !unit.has_time() => SqlType::new(TypeKind::Date),
                TypeKind::Date | TypeKind::DateTime | TypeKind::Timestamp => SqlType {
                    scale: arg(0).scale.min(6).max(fsp),
                    ..SqlType::new(TypeKind::DateTime)
                },
                TypeKind::Time if !unit.is_months() => SqlType {
                    scale: arg(0).scale.min(6).max(fsp),
                    ..SqlType::new(TypeKind::Time)
                },
                _ => text(29),
            }
        }
        _ => text(64),
    }
}

/// Evaluates a date or time function.
pub(super) fn eval(
    func: Func,
    args: &[Datum],
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    use Func::*;
    // The clock needs no argument; everything else is NULL on NULL.
    match func {
        Now | UtcTimestamp => return Ok(Datum::DateTime(clock(func, args, ctx)?)),
        CurDate | UtcDate => return Ok(Datum::Date(ctx.now.date())),
        CurTime | UtcTime => return Ok(Datum::Time(time_of_day(&clock(func, args, ctx)?))),
        UnixTimestamp if args.is_empty() => {
            return Ok(Datum::I64(
                (temporal::datetime_micros(&ctx.now) - epoch_micros()).div_euclid(1_000_000),
            ));
        }
        _ => {}
    }
    if args.contains(&Datum::Null) {
        return Ok(Datum::Null);
    }
    let x = &args[0];
    Ok(match func {
        Date => cast::to_date(x, ctx)?.map_or(Datum::Null, Datum::Date),
        Time => cast::to_time(x, ctx)?.map_or(Datum::Null, Datum::Time),
        Hour | Minute | Second | Microsecond => match cast::to_time(x, ctx)? {
            None => Datum::Null,
            Some(t) => Datum::I64(match func {
                Hour => t.hours() as i64,
                Minute => t.minutes() as i64,
                Second => t.seconds() as i64,
                _ => t.micro() as i64,
            }),
        },
        Year | Month | Day | Quarter | MonthName => {
            let Some(dt) = cast::to_datetime(x, ctx)? else {
                return Ok(Datum::Null);
            };
            let f = Fields::of_datetime(dt);
            match func {
                Year => Datum::I64(f.year as i64),
                Month => Datum::I64(f.month as i64),
                Day => Datum::I64(f.day as i64),
                Quarter => Datum::I64((f.month as i64 + 2) / 3),
                _ => match MONTH_NAMES.get((f.month as usize).wrapping_sub(1)) {
                    Some(name) => Datum::Bytes(name.as_bytes().to_vec()),
                    None => Datum::Null,
                },
            }
        }
        DayOfWeek | DayOfYear | WeekDay | DayName | ToDays | LastDay | Week | WeekOfYear
        | YearWeek => {
            let Some(f) = full_date(x, ctx)? else {
                return Ok(Datum::Null);
            };
            let n = day_number(&f);
            let mode = match args.get(1) {
                Some(m) => cast::to_i64(m, ctx)?.unwrap_or(0).rem_euclid(8) as u32,
                None => 0,
            };
            match func {
                DayOfWeek => Datum::I64((temporal::weekday(n) as i64 + 1) % 7 + 1),
                WeekDay => Datum::I64(temporal::weekday(n) as i64),
                DayName => {
                    Datum::Bytes(DAY_NAMES[temporal::weekday(n) as usize].as_bytes().to_vec())
                }
                DayOfYear => Datum::I64(n - temporal::daynr(f.year, 1, 1) + 1),
                ToDays => Datum::I64(n),
                LastDay => {
                    let last = Fields {
                        day: temporal::days_in_month(f.year, f.month),
                        ..f
                    };
                    last.date().map_or(Datum::Null, Datum::Date)
                }
                Week => Datum::I64(
                    temporal::week_of(f.year, f.month, f.day, week::flags(mode)).0 as i64,
                ),
                WeekOfYear => {
                    Datum::I64(temporal::week_of(f.year, f.month, f.day, week::flags(3)).0 as i64)
                }
                _ => {
                    let (w, y) =
                        temporal::week_of(f.year, f.month, f.day, week::flags(mode) | week::YEAR);
                    Datum::I64(y as i64 * 100 + w as i64)
                }
            }
        }
        DateDiff => {
            let (Some(a), Some(b)) = (full_date(x, ctx)?, full_date(&args[1], ctx)?) else {
                return Ok(Datum::Null);
            };
            Datum::I64(day_number(&a) - day_number(&b))
        }
        TimeDiff => time_diff(args, ctx)?,
        DateFormat | TimeFormat => {
            // A negative TIME's text starts with its sign, as MySQL's does.
            let mut negative = false;
            let fields = if func == TimeFormat {
                let Some(t) = cast::to_time(x, ctx)? else {
                    return Ok(Datum::Null);
                };
                negative = t.is_negative();
                Fields {
                    hour: t.hours(),
                    minute: t.minutes() as u32,
                    second: t.seconds() as u32,
                    micro: t.micro(),
                    ..Fields::default()
                }
            } else {
                let Some(dt) = cast::to_datetime(x, ctx)? else {
                    return Ok(Datum::Null);
                };
                Fields::of_datetime(dt)
            };
            let format = cast::as_text(&args[1]).unwrap_or_default();
            match format_fields(&fields, &format, func == TimeFormat) {
                Some(text) if negative => Datum::Bytes([b"-", &text[..]].concat()),
                Some(text) => Datum::Bytes(text),
                None => Datum::Null,
            }
        }
        StrToDate => str_to_date(args, ctx)?,
        UnixTimestamp => {
            let Some(dt) = cast::to_datetime(x, ctx)? else {
                return Ok(Datum::Null);
            };
            let micros = temporal::datetime_micros(&dt) - epoch_micros();
            if dt.date().month() == 0
                || dt.date().day() == 0
                || !(0..=MAX_UNIX_SECONDS * 1_000_000 + 999_999).contains(&micros)
            {
                Datum::I64(0)
            } else {
                seconds_datum(micros)
            }
        }
        FromUnixtime => {
            let Some(micros) = micros_of(x, ctx)? else {
                return Ok(Datum::Null);
            };
            if !(0..=(MAX_UNIX_SECONDS as i128) * 1_000_000 + 999_999).contains(&micros) {
                return Ok(Datum::Null);
            }
            let Some(dt) = temporal::micros_datetime(epoch_micros() + micros as i64) else {
                return Ok(Datum::Null);
            };
            match args.get(1) {
                Some(fmt) => {
                    let format = cast::as_text(fmt).unwrap_or_default();
                    format_fields(&Fields::of_datetime(dt), &format, false)
                        .map_or(Datum::Null, Datum::Bytes)
                }
                None => Datum::DateTime(dt),
            }
        }
        DateAdd(unit) => date_add(unit, false, args, ctx)?,
        DateSub(unit) => date_add(unit, true, args, ctx)?,
        TimestampDiff(unit) => timestamp_diff(unit, args, ctx)?,
        Extract(unit) => extract(unit, x, ctx)?,
        MakeDate => {
            let (Some(y), Some(doy)) = (cast::to_i64(x, ctx)?, cast::to_i64(&args[1], ctx)?) else {
                return Ok(Datum::Null);
            };
            // Day 4,000,000 of any year is past 9999-12-31.
            if !(1..=4_000_000).contains(&doy) || !(0..=9999).contains(&y) {
                return Ok(Datum::Null);
            }
            let year = temporal::expand_year(y as u32, if y < 100 { 2 } else { 4 });
            temporal::from_daynr(temporal::daynr(year, 1, 1) + doy - 1)
                .filter(|d| d.year() <= 9999)
                .map_or(Datum::Null, Datum::Date)
        }
        MakeTime => {
            let (Some(h), Some(m)) = (cast::to_i64(x, ctx)?, cast::to_i64(&args[1], ctx)?) else {
                return Ok(Datum::Null);
            };
            let Some(s) = micros_of(&args[2], ctx)? else {
                return Ok(Datum::Null);
            };
            if !(0..60).contains(&m) || !(0..60_000_000).contains(&s) {
                return Ok(Datum::Null);
            }
            let magnitude =
                (h.unsigned_abs().min(1_000_000) as i64 * 3600 + m * 60) * 1_000_000 + s as i64;
            let micros = if h < 0 { -magnitude } else { magnitude };
            let (t, clamped) = temporal::time_from_micros(micros);
            if clamped {
                let message = format!(
                    "Truncated incorrect time value: '{h}:{m:02}:{:02}'",
                    s / 1_000_000
                );
                cast::bad_value(ctx, 1292, "22007", message)?;
            }
            Datum::Time(t)
        }
        FromDays => {
            let Some(n) = cast::to_i64(x, ctx)? else {
                return Ok(Datum::Null);
            };
            Datum::Date(temporal::from_daynr(n).unwrap_or_else(temporal::zero_date))
        }
        TimeToSec => match cast::to_time(x, ctx)? {
            Some(t) => seconds_datum(t.to_packed()),
            None => Datum::Null,
        },
        SecToTime => {
            let Some(micros) = micros_of(x, ctx)? else {
                return Ok(Datum::Null);
            };
            let clamped_micros = micros.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
            let (t, clamped) = temporal::time_from_micros(clamped_micros);
            if clamped {
                let shown =
                    String::from_utf8_lossy(&cast::as_text(x).unwrap_or_default()).into_owned();
                cast::bad_value(
                    ctx,
                    1292,
                    "22007",
                    format!("Truncated incorrect time value: '{shown}'"),
                )?;
            }
            Datum::Time(t)
        }
        _ => Datum::Null,
    })
}
