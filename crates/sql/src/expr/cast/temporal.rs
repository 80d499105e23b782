//! Calendar arithmetic and MySQL's loose date and time spellings.
//!
//! `codec` parses only canonical text; MySQL also accepts `20240131`,
//! `24-1-31`, `2024/01/31 10.11.12`, numbers like `20240131123456`, and
//! times like `1 10:00` or `101112`. Day numbers follow MySQL's `TO_DAYS`
//! (day 1 is 0000-01-01, and year 0 is not a leap year), so arithmetic and
//! `TO_DAYS`/`FROM_DAYS` agree with MySQL across the whole range.

use codec::{Date, DateTime, Time};

/// Microseconds in a day.
pub(crate) const DAY_MICROS: i64 = 86_400_000_000;
/// Largest TIME magnitude in microseconds (838:59:59).
pub(crate) const MAX_TIME_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * 1_000_000;

/// Broken-down date and time fields, before validation.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fields {
    pub year: u32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micro: u32,
}

impl Fields {
    /// The fields of a date at midnight.
    pub fn of_date(d: Date) -> Self {
        Fields {
            year: d.year() as u32,
            month: d.month() as u32,
            day: d.day() as u32,
            ..Self::default()
        }
    }

    /// The fields of a datetime.
    pub fn of_datetime(dt: DateTime) -> Self {
        Fields {
            hour: dt.hour() as u32,
            minute: dt.minute() as u32,
            second: dt.second() as u32,
            micro: dt.micro(),
            ..Self::of_date(dt.date())
        }
    }

    /// The date, if the fields make one (zero month/day allowed).
    pub fn date(&self) -> Option<Date> {
        Date::new(
            u16::try_from(self.year).ok()?,
            u8::try_from(self.month).ok()?,
            u8::try_from(self.day).ok()?,
        )
        .ok()
    }

    /// The datetime, if the fields make one.
    pub fn datetime(&self) -> Option<DateTime> {
        DateTime::new(
            self.date()?,
            u8::try_from(self.hour).ok()?,
            u8::try_from(self.minute).ok()?,
            u8::try_from(self.second).ok()?,
            self.micro,
        )
        .ok()
    }
}

/// Whether `year` has a February 29th (year 0 does not, as in MySQL).
pub(crate) fn is_leap(year: u32) -> bool {
    year != 0 && year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days in `month` (1..=12) of `year`.
pub(crate) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// MySQL's day number (`TO_DAYS`): 0000-01-01 is day 1.
pub(crate) fn daynr(year: u32, month: u32, day: u32) -> i64 {
    if year == 0 && month == 0 {
        return 0;
    }
    let (mut y, m, d) = (year as i64, month as i64, day as i64);
    let mut sum = 365 * y + 31 * (m - 1) + d;
    if m <= 2 {
        y -= 1;
    } else {
        sum -= (m * 4 + 23) / 10;
    }
    sum + y / 4 - (y / 100 + 1) * 3 / 4
}

/// The date of day number `n` (`FROM_DAYS`); `None` outside
/// 0001-01-01..=9999-12-31.
pub(crate) fn from_daynr(n: i64) -> Option<Date> {
    if !(366..=daynr(9999, 12, 31)).contains(&n) {
        return None;
    }
    let mut year = ((n * 100 / 36525) as u32).clamp(1, 9999);
    while year > 1 && daynr(year, 1, 1) > n {
        year -= 1;
    }
    while year < 9999 && daynr(year + 1, 1, 1) <= n {
        year += 1;
    }
    let mut left = (n - daynr(year, 1, 1)) as u32;
    for month in 1..=12 {
        let days = days_in_month(year, month);
        if left < days {
            return Date::new(year as u16, month as u8, (left + 1) as u8).ok();
        }
        left -= days;
    }
    None
}

/// Day of the week of day number `n`: 0 = Monday .. 6 = Sunday.
pub(crate) fn weekday(n: i64) -> u32 {
    (n + 5).rem_euclid(7) as u32
}

/// Week-numbering flags, as MySQL's WEEK() modes combine them.
pub(crate) mod week {
    /// Weeks start on Monday (otherwise Sunday).
    pub const MONDAY_FIRST: u32 = 1;
    /// Week 0 belongs to the previous year (range 1..=53).
    pub const YEAR: u32 = 2;
    /// Week 1 is the first week containing the first weekday of the year
    /// (otherwise: the first week with four or more days in the year).
    pub const FIRST_WEEKDAY: u32 = 4;

    /// Flags for `WEEK(date, mode)`.
    pub fn flags(mode: u32) -> u32 {
        let mut flags = mode & 7;
        if flags & MONDAY_FIRST == 0 {
            flags ^= FIRST_WEEKDAY;
        }
        flags
    }
}

/// The week number of a date under `flags` ([`week`]), and the year the
/// week belongs to.
pub(crate) fn week_of(year: u32, month: u32, day: u32, flags: u32) -> (u32, u32) {
    let monday_first = flags & week::MONDAY_FIRST != 0;
    let mut week_year = flags & week::YEAR != 0;
    let first_weekday = flags & week::FIRST_WEEKDAY != 0;
    let n = daynr(year, month, day);
    let mut first = daynr(year, 1, 1);
    // Weekday of January 1st, counted from the first day of the week.
    let mut wd = (first + 5 + (!monday_first) as i64).rem_euclid(7) as u32;
    let mut y = year;
    let starts_late = |wd: u32| if first_weekday { wd != 0 } else { wd >= 4 };
    if month == 1 && day <= 7 - wd {
        if !week_year && starts_late(wd) {
            return (0, y);
        }
        week_year = true;
        y = y.saturating_sub(1);
        let year_days: i64 = if is_leap(y) { 366 } else { 365 };
        first -= year_days;
        wd = ((wd as i64 + 53 * 7 - year_days) % 7) as u32;
    }
    let days = if starts_late(wd) {
        n - (first + (7 - wd) as i64)
    } else {
        n - (first - wd as i64)
    };
    if week_year && days >= 52 * 7 {
        let next = (wd + if is_leap(y) { 366 } else { 365 }) % 7;
        if !starts_late(next) {
            return (1, y + 1);
        }
    }
    ((days / 7 + 1) as u32, y)
}

/// Microseconds since day 0 of MySQL's day numbering.
pub(crate) fn datetime_micros(dt: &DateTime) -> i64 {
    let d = dt.date();
    let days = daynr(d.year() as u32, d.month() as u32, d.day() as u32);
    days * DAY_MICROS
        + ((dt.hour() as i64 * 60 + dt.minute() as i64) * 60 + dt.second() as i64) * 1_000_000
        + dt.micro() as i64
}

/// The inverse of [`datetime_micros`]; `None` outside 0001..=9999.
pub(crate) fn micros_datetime(micros: i64) -> Option<DateTime> {
    let date = from_daynr(micros.div_euclid(DAY_MICROS))?;
    let t = micros.rem_euclid(DAY_MICROS);
    let secs = t / 1_000_000;
    DateTime::new(
        date,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (t % 1_000_000) as u32,
    )
    .ok()
}

/// 0000-00-00.
pub(crate) fn zero_date() -> Date {
    Fields::default()
        .date()
        .unwrap_or_else(|| unreachable!("the zero date is valid"))
}

/// The datetime of `date` at midnight.
pub(crate) fn midnight(date: Date) -> DateTime {
    Fields::of_date(date)
        .datetime()
        .unwrap_or_else(|| unreachable!("midnight is a valid time"))
}

/// `micro` rounded half up to `fsp` digits (may reach 1_000_000).
pub(crate) fn round_micro(micro: u32, fsp: u8) -> u32 {
    let unit = 10u32.pow(6 - fsp.min(6) as u32);
    (micro + unit / 2) / unit * unit
}

/// `dt` rounded to `fsp` fraction digits, carrying into the seconds (and
/// the date); `None` if that passes 9999-12-31.
pub(crate) fn round_datetime(dt: DateTime, fsp: u8) -> Option<DateTime> {
    let rounded = round_micro(dt.micro(), fsp);
    if rounded == dt.micro() {
        return Some(dt);
    }
    if dt.date().month() == 0 || dt.date().day() == 0 {
        // Zero dates have no day number to carry into: cut the digits.
        let unit = 10u32.pow(6 - fsp.min(6) as u32);
        return Fields {
            micro: dt.micro() / unit * unit,
            ..Fields::of_datetime(dt)
        }
        .datetime();
    }
    micros_datetime(datetime_micros(&dt) - dt.micro() as i64 + rounded as i64)
}

/// `t` rounded to `fsp` fraction digits, clamped to ±838:59:59.
pub(crate) fn round_time(t: Time, fsp: u8) -> Time {
    let micros = t.to_packed();
    let rounded = round_micro((micros.unsigned_abs() % 1_000_000) as u32, fsp) as i64;
    let magnitude = micros.abs() / 1_000_000 * 1_000_000 + rounded;
    time_from_micros(if micros < 0 { -magnitude } else { magnitude }).0
}

/// A TIME of `micros`, clamped to the TIME range; the flag says whether it
/// was clamped.
pub(crate) fn time_from_micros(micros: i64) -> (Time, bool) {
    let clamped = micros.clamp(-MAX_TIME_MICROS, MAX_TIME_MICROS);
    let t =
        Time::from_packed(clamped).unwrap_or_else(|_| unreachable!("clamped to the TIME range"));
    (t, clamped != micros)
}

/// Two-digit years: 00..69 are 2000..2069, 70..99 are 1970..1999.
pub(crate) fn expand_year(year: u32, digits: usize) -> u32 {
    match (digits <= 2, year) {
        (true, 0..=69) => year + 2000,
        (true, 70..=99) => year + 1900,
        _ => year,
    }
}

/// A parsed date or datetime string.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedDateTime {
    /// The fields (validated: a real date, or one with zero parts).
    pub fields: Fields,
    /// Whether the text had a time part.
    pub has_time: bool,
    /// Whether text followed the value (MySQL warns, but uses the value).
    pub trailing: bool,
}

fn digit_run(s: &[u8]) -> usize {
    s.iter().take_while(|c| c.is_ascii_digit()).count()
}

fn number(s: &[u8]) -> u32 {
    s.iter().take(9).fold(0, |v, c| v * 10 + (c - b'0') as u32)
}

/// Parses up to 6 fraction digits after a '.', rounding the 7th; returns
/// microseconds (1_000_000 when the rounding carries) and the rest.
fn fraction(s: &[u8]) -> (u32, &[u8]) {
    let Some((b'.', rest)) = s.split_first() else {
        return (0, s);
    };
    let n = digit_run(rest);
    let mut micro = 0;
    for i in 0..6 {
        micro = micro * 10
            + rest
                .get(i)
                .filter(|_| i < n)
                .map_or(0, |c| (c - b'0') as u32);
    }
    if n > 6 && rest[6] >= b'5' {
        micro += 1;
    }
    (micro, &rest[n..])
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(start, |i| i + 1);
    &s[start..end]
}

fn valid(f: &Fields) -> bool {
    f.month <= 12
        && f.day <= 31
        && (f.month == 0 || f.day <= days_in_month(f.year, f.month))
        && f.year <= 9999
        && f.hour <= 23
        && f.minute <= 59
        && f.second <= 59
}

/// Adds a carried-over second (fraction rounded to 1_000_000 µs).
fn carry(mut f: Fields) -> Option<Fields> {
    if f.micro < 1_000_000 {
        return Some(f);
    }
    f.micro = 0;
    let dt = f.datetime()?;
    if f.month == 0 || f.day == 0 {
        f.second += 1;
        return valid(&f).then_some(f);
    }
    micros_datetime(datetime_micros(&dt) + 1_000_000).map(Fields::of_datetime)
}

/// Parses a date or datetime as MySQL reads strings: delimited
/// (`2024-1-31 10:11:12.5`, any punctuation as delimiter, `T` or spaces
/// before the time, two-digit years) or compact (`20240131`, `240131`,
/// `20240131101112`, `240131101112`). `None` when it is not a date.
pub(crate) fn parse_datetime(text: &[u8]) -> Option<ParsedDateTime> {
    let s = trim(text);
    let n = digit_run(s);
    if n == s.len() || s.get(n) == Some(&b'.') && n >= 12 {
        return parse_compact(s, n);
    }
    // Delimited: year, month, day, then an optional time.
    let mut parts = [0u32; 6];
    let mut rest = s;
    let mut count = 0;
    let mut year_digits = 0;
    let mut has_time = false;
    while count < 6 {
        let run = digit_run(rest);
        if run == 0 {
            break;
        }
        if count == 0 {
            year_digits = run;
        }
        parts[count] = number(&rest[..run]);
        if run > 9 {
            return None;
        }
        rest = &rest[run..];
        count += 1;
        if count == 6 {
            break;
        }
        // The date/time separator is a 'T' or whitespace; others are punctuation.
        let sep = rest
            .iter()
            .take_while(|&&c| c.is_ascii_punctuation() || is_space(c) || (count == 3 && c == b'T'))
            .count();
        if sep == 0 {
            break;
        }
        if count == 3 {
            has_time = true;
        }
        rest = &rest[sep..];
    }
    if count < 3 {
        return None;
    }
    let (micro, rest) = if count == 6 {
        fraction(rest)
    } else {
        (0, rest)
    };
    if count == 4 {
        // An hour alone is not a time.
        return None;
    }
    let fields = Fields {
        year: expand_year(parts[0], year_digits),
        month: parts[1],
        day: parts[2],
        hour: parts[3],
        minute: parts[4],
        second: parts[5],
        micro,
    };
    if !valid(&fields) {
        return None;
    }
    let fields = carry(fields)?;
    Some(ParsedDateTime {
        fields,
        has_time: has_time && count > 3,
        trailing: !trim(rest).is_empty(),
    })
}

fn parse_compact(s: &[u8], n: usize) -> Option<ParsedDateTime> {
    let d = &s[..n];
    let (year_digits, has_time) = match n {
        14 => (4, true),
        12 => (2, true),
        8 => (4, false),
        6 => (2, false),
        _ => return None,
    };
    let field = |from: usize, len: usize| number(&d[from..from + len]);
    let y = year_digits;
    let mut fields = Fields {
        year: expand_year(field(0, y), y),
        month: field(y, 2),
        day: field(y + 2, 2),
        ..Fields::default()
    };
    if has_time {
        fields.hour = field(y + 4, 2);
        fields.minute = field(y + 6, 2);
        fields.second = field(y + 8, 2);
    }
    let (micro, rest) = fraction(&s[n..]);
    fields.micro = micro;
    if !rest.is_empty() || !valid(&fields) {
        return None;
    }
    Some(ParsedDateTime {
        fields: carry(fields)?,
        has_time,
        trailing: false,
    })
}

/// MySQL's reading of a number as a date or datetime: `YYYYMMDD`,
/// `YYMMDD`, `YYYYMMDDhhmmss`, `YYMMDDhhmmss` (0 is the zero date).
pub(crate) fn datetime_from_number(n: i64) -> Option<ParsedDateTime> {
    let (value, has_time) = match n {
        0 => (0, false),
        ..=100 => return None,
        101..=691_231 => ((n + 20_000_000) * 1_000_000, false),
        691_232..=700_100 => return None,
        700_101..=991_231 => ((n + 19_000_000) * 1_000_000, false),
        991_232..=10_000_100 => return None,
        10_000_101..=99_991_231 => (n * 1_000_000, false),
        99_991_232..=100_999_999 => return None,
        101_000_000..=691_231_235_959 => (n + 20_000_000_000_000, true),
        691_231_235_960..=700_100_999_999 => return None,
        700_101_000_000..=991_231_235_959 => (n + 19_000_000_000_000, true),
        991_231_235_960..=10_000_100_999_999 => return None,
        10_000_101_000_000..=99_991_231_235_959 => (n, true),
        _ => return None,
    };
    let date = value / 1_000_000;
    let time = value % 1_000_000;
    let fields = Fields {
        year: (date / 10_000) as u32,
        month: (date / 100 % 100) as u32,
        day: (date % 100) as u32,
        hour: (time / 10_000) as u32,
        minute: (time / 100 % 100) as u32,
        second: (time % 100) as u32,
        micro: 0,
    };
    valid(&fields).then_some(ParsedDateTime {
        fields,
        has_time,
        trailing: false,
    })
}

/// A parsed TIME string.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedTime {
    /// The value, clamped to ±838:59:59.
    pub time: Time,
    /// Whether it was clamped.
    pub clamped: bool,
    /// Whether text followed the value.
    pub trailing: bool,
}

fn time_of(neg: bool, hours: u64, minutes: u32, seconds: u32, micro: u32) -> Option<(Time, bool)> {
    if minutes > 59 || seconds > 59 {
        return None;
    }
    let total = (hours.min(1_000_000) as i64 * 3600 + minutes as i64 * 60 + seconds as i64)
        * 1_000_000
        + micro as i64;
    Some(time_from_micros(if neg { -total } else { total }))
}

/// Parses a TIME as MySQL reads strings: `[-][D ]h:m[:s[.f]]`, `[-]hhmmss[.f]`
/// (read from the right: `1234` is 00:12:34), or a full datetime (its time
/// part). `None` when it is not a time.
pub(crate) fn parse_time(text: &[u8]) -> Option<ParsedTime> {
    let s = trim(text);
    let (neg, body) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let n = digit_run(body);
    if n == 0 {
        return None;
    }
    let after = body.get(n).copied();
    let looks_like_date = !neg
        && ((n >= 12 && matches!(after, None | Some(b'.')))
            || (n <= 4 && matches!(after, Some(b'-' | b'/'))));
    if looks_like_date {
        let p = parse_datetime(s)?;
        let f = p.fields;
        let (time, clamped) = time_of(false, f.hour as u64, f.minute, f.second, f.micro)?;
        return Some(ParsedTime {
            time,
            clamped,
            trailing: p.trailing,
        });
    }
    let (time, rest) = if after == Some(b':')
        || (after == Some(b' ') && body[n + 1..].first().is_some_and(u8::is_ascii_digit))
    {
        // Delimited, optionally with leading days.
        let mut rest = body;
        let mut days = 0u64;
        if after == Some(b' ') {
            days = body[..n]
                .iter()
                .take(12)
                .fold(0, |v, c| v * 10 + (c - b'0') as u64);
            rest = &body[n + 1..];
        }
        let hn = digit_run(rest);
        let hours = rest[..hn]
            .iter()
            .take(12)
            .fold(0u64, |v, c| v * 10 + (c - b'0') as u64);
        rest = &rest[hn..];
        let mut minutes = 0;
        let mut seconds = 0;
        let mut micro = 0;
        if let Some((b':', r)) = rest.split_first() {
            let m = digit_run(r);
            if m == 0 || m > 2 {
                return None;
            }
            minutes = number(&r[..m]);
            rest = &r[m..];
            if let Some((b':', r)) = rest.split_first() {
                let sn = digit_run(r);
                if sn == 0 || sn > 2 {
                    return None;
                }
                seconds = number(&r[..sn]);
                let (f, r) = fraction(&r[sn..]);
                micro = f;
                rest = r;
            }
        }
        (
            time_of(neg, days * 24 + hours, minutes, seconds, micro)?,
            rest,
        )
    } else {
        // Compact: digits read from the right as [H..]HMMSS.
        let whole = body[..n]
            .iter()
            .take(15)
            .fold(0u64, |v, c| v * 10 + (c - b'0') as u64);
        let (micro, rest) = fraction(&body[n..]);
        (
            time_of(
                neg,
                whole / 10_000,
                (whole / 100 % 100) as u32,
                (whole % 100) as u32,
                micro,
            )?,
            rest,
        )
    };
    Some(ParsedTime {
        time: time.0,
        clamped: time.1,
        trailing: !trim(rest).is_empty(),
    })
}

/// MySQL's reading of a number as a TIME: `[-]HHMMSS[.ffffff]`, or a
/// datetime number's time part.
pub(crate) fn time_from_number(neg: bool, whole: u64, micro: u32) -> Option<(Time, bool)> {
    if whole >= 10_000_000_000 {
        let p = datetime_from_number(i64::try_from(whole).ok()?)?;
        return time_of(
            false,
            p.fields.hour as u64,
            p.fields.minute,
            p.fields.second,
            micro,
        );
    }
    time_of(
        neg,
        whole / 10_000,
        (whole / 100 % 100) as u32,
        (whole % 100) as u32,
        micro,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> String {
        match parse_datetime(s.as_bytes()) {
            Some(p) => format!(
                "{}{}",
                p.fields.datetime().map_or("bad".into(), |d| if p.has_time {
                    d.to_string()
                } else {
                    d.date().to_string()
                }),
                if p.trailing { "+" } else { "" }
            ),
            None => "none".into(),
        }
    }

    fn tm(s: &str) -> String {
        parse_time(s.as_bytes()).map_or("none".into(), |p| {
            format!(
                "{}{}{}",
                p.time,
                if p.clamped { "!" } else { "" },
                if p.trailing { "+" } else { "" }
            )
        })
    }

    #[test]
    fn day_numbers_match_mysql() {
        assert_eq!(daynr(2024, 1, 1), 739_251);
        assert_eq!(daynr(0, 1, 1), 1);
        assert_eq!(daynr(1, 1, 1), 366);
        assert_eq!(daynr(1970, 1, 1), 719_528);
        assert_eq!(from_daynr(739_251).unwrap().to_string(), "2024-01-01");
        assert_eq!(from_daynr(365), None);
        assert_eq!(
            from_daynr(daynr(9999, 12, 31)).unwrap().to_string(),
            "9999-12-31"
        );
        assert_eq!(from_daynr(daynr(9999, 12, 31) + 1), None);
        for (y, m, d) in [
            (1, 1, 1),
            (1600, 2, 29),
            (1900, 3, 1),
            (2000, 2, 29),
            (2023, 12, 31),
            (2024, 3, 1),
        ] {
            let date = from_daynr(daynr(y, m, d)).unwrap();
            assert_eq!(
                (date.year() as u32, date.month() as u32, date.day() as u32),
                (y, m, d)
            );
        }
        // 2024-01-31 was a Wednesday.
        assert_eq!(weekday(daynr(2024, 1, 31)), 2);
    }

    #[test]
    fn weeks_match_mysql() {
        let w = |y, m, d, mode| week_of(y, m, d, week::flags(mode));
        assert_eq!(w(2024, 1, 1, 0).0, 0);
        assert_eq!(w(2024, 1, 1, 1).0, 1);
        assert_eq!(w(2023, 1, 1, 0).0, 1);
        assert_eq!(w(2023, 1, 1, 2).0, 1);
        assert_eq!(w(2023, 12, 31, 3).0, 52);
        assert_eq!(w(2021, 1, 3, 3), (53, 2020));
        assert_eq!(w(2021, 1, 3, 4).0, 1);
        assert_eq!(w(2021, 1, 3, 5).0, 0);
        assert_eq!(w(2021, 1, 3, 6).0, 1);
        assert_eq!(w(2021, 1, 3, 7).0, 52);
        assert_eq!(w(2008, 12, 31, 1).0, 53);
        assert_eq!(w(2008, 12, 31, 3), (1, 2009));
    }

    #[test]
    fn loose_datetimes() {
        assert_eq!(dt("2024-01-31"), "2024-01-31");
        assert_eq!(dt(" 2024/1/5 "), "2024-01-05");
        assert_eq!(dt("24-01-05"), "2024-01-05");
        assert_eq!(dt("99-01-05"), "1999-01-05");
        assert_eq!(dt("2024-01-31 10:11:12.5"), "2024-01-31 10:11:12.500000");
        assert_eq!(dt("2024-01-31T10:11:12"), "2024-01-31 10:11:12");
        assert_eq!(dt("2024-01-31 10:11"), "2024-01-31 10:11:00");
        assert_eq!(dt("2024.01.31 10.11.12"), "2024-01-31 10:11:12");
        assert_eq!(dt("20240131"), "2024-01-31");
        assert_eq!(dt("240131"), "2024-01-31");
        assert_eq!(dt("20240131101112"), "2024-01-31 10:11:12");
        assert_eq!(dt("20240131101112.25"), "2024-01-31 10:11:12.250000");
        assert_eq!(dt("2024-12-31 23:59:59.9999995"), "2025-01-01 00:00:00");
        assert_eq!(dt("2024-01-31 abc"), "2024-01-31+");
        assert_eq!(dt("0000-00-00"), "0000-00-00");
        assert_eq!(dt("2024-00-10"), "2024-00-10");
        for bad in [
            "2024-02-30",
            "2024-13-01",
            "abc",
            "",
            "2024-01",
            "2024-01-01 25:00:00",
            "1234567",
            "2024-01-01 10",
        ] {
            assert_eq!(dt(bad), "none", "{bad}");
        }
    }

    #[test]
    fn numbers_as_datetimes() {
        let n = |v| {
            datetime_from_number(v).map(|p| (p.fields.datetime().unwrap().to_string(), p.has_time))
        };
        assert_eq!(n(20240131), Some(("2024-01-31 00:00:00".into(), false)));
        assert_eq!(n(240131), Some(("2024-01-31 00:00:00".into(), false)));
        assert_eq!(n(991231), Some(("1999-12-31 00:00:00".into(), false)));
        assert_eq!(
            n(20240131123456),
            Some(("2024-01-31 12:34:56".into(), true))
        );
        assert_eq!(n(0), Some(("0000-00-00 00:00:00".into(), false)));
        assert_eq!(n(100), None);
        assert_eq!(n(20241331), None);
        assert_eq!(n(-5), None);
    }

    #[test]
    fn loose_times() {
        assert_eq!(tm("10:11:12"), "10:11:12");
        assert_eq!(tm("-10:11:12.5"), "-10:11:12.500000");
        assert_eq!(tm("10:11"), "10:11:00");
        assert_eq!(tm("1 10:00"), "34:00:00");
        assert_eq!(tm("101112"), "10:11:12");
        assert_eq!(tm("1234"), "00:12:34");
        assert_eq!(tm("12"), "00:00:12");
        assert_eq!(tm("900:00:00"), "838:59:59!");
        assert_eq!(tm("2024-01-31 12:34:56.5"), "12:34:56.500000");
        assert_eq!(tm("20240131123456"), "12:34:56");
        assert_eq!(tm("10:11:12 x"), "10:11:12+");
        for bad in ["abc", "10:61", "", "1:2:61", "-"] {
            assert_eq!(tm(bad), "none", "{bad}");
        }
        assert_eq!(
            time_from_number(false, 101112, 0).unwrap().0.to_string(),
            "10:11:12"
        );
        assert_eq!(
            time_from_number(true, 1, 500_000).unwrap().0.to_string(),
            "-00:00:01.500000"
        );
        assert_eq!(
            time_from_number(false, 20240131123456, 0)
                .unwrap()
                .0
                .to_string(),
            "12:34:56"
        );
        assert_eq!(time_from_number(false, 9999, 0), None);
    }

    #[test]
    fn rounding() {
        let d: DateTime = "2024-12-31 23:59:59.999999".parse().unwrap();
        assert_eq!(
            round_datetime(d, 2).unwrap().to_string(),
            "2025-01-01 00:00:00"
        );
        let d: DateTime = "2024-01-01 10:00:00.125".parse().unwrap();
        assert_eq!(
            round_datetime(d, 2).unwrap().to_string(),
            "2024-01-01 10:00:00.130000"
        );
        let d: DateTime = "9999-12-31 23:59:59.9".parse().unwrap();
        assert_eq!(round_datetime(d, 0), None);
        let t: Time = "-10:00:00.5".parse().unwrap();
        assert_eq!(round_time(t, 0).to_string(), "-10:00:01");
        let t: Time = "838:59:59".parse().unwrap();
        assert_eq!(round_time(t, 0).to_string(), "838:59:59");
    }
}
