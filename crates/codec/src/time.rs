//! MySQL `DATE`, `DATETIME`/`TIMESTAMP` and `TIME` values.
//!
//! Each type has a packed integer form whose integer order is chronological
//! order, so its key form is just that integer through [`crate::number`], and
//! the row format stores the same integer compactly. Zero dates and zero parts
//! (`0000-00-00`, `2024-00-15`) are valid because MySQL stores them unless the
//! SQL mode forbids it; that check belongs to the SQL layer. Parsing accepts the
//! canonical MySQL spellings only (`2024-01-31`, `2024-01-31 12:34:56.123`,
//! `-838:59:59`); the looser forms MySQL casts from are the SQL layer's job.
//! Fractions longer than six digits are rejected rather than rounded.

use std::fmt::{self, Write};
use std::str::FromStr;

use crate::number::{decode_i64, decode_u64, encode_i64, encode_u64};
use crate::{Error, Result};

const MICROS_PER_SEC: i64 = 1_000_000;
/// Largest `TIME` magnitude in microseconds: `838:59:59`.
const MAX_TIME_MICROS: i64 = ((838 * 60 + 59) * 60 + 59) * MICROS_PER_SEC;

/// A calendar date; fields are checked on construction, so every value is
/// one MySQL can store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// Checks the ranges, and the day against the month when both are
    /// non-zero (MySQL's leap rule: year 0 is not a leap year).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self> {
        if year > 9999 || month > 12 || day > 31 {
            return Err(Error::Invalid("date out of range"));
        }
        if month != 0 && day > days_in_month(year, month) {
            return Err(Error::Invalid("day of month"));
        }
        Ok(Date { year, month, day })
    }

    /// The year, 0..=9999.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, 0..=12 (0 in zero dates).
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day, 0..=31 (0 in zero dates).
    pub fn day(&self) -> u8 {
        self.day
    }

    /// `(year * 13 + month) << 5 | day`: ordered like the date, and the same
    /// bits as the date part of [`DateTime::to_packed`].
    pub fn to_packed(&self) -> u64 {
        ((self.year as u64 * 13 + self.month as u64) << 5) | self.day as u64
    }

    /// The inverse of [`Date::to_packed`], validating the fields.
    pub fn from_packed(packed: u64) -> Result<Self> {
        let year_month = packed >> 5;
        let year =
            u16::try_from(year_month / 13).map_err(|_| Error::Invalid("date out of range"))?;
        Date::new(year, (year_month % 13) as u8, (packed & 31) as u8)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year != 0
            && year.is_multiple_of(4)
            && (!year.is_multiple_of(100) || year.is_multiple_of(400)) =>
        {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl FromStr for Date {
    type Err = Error;

    /// Parses `YYYY-M-D` (month and day one or two digits).
    fn from_str(s: &str) -> Result<Self> {
        let (date, rest) = parse_date(s.as_bytes())?;
        end(rest)?;
        Ok(date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A date and time of day with microseconds, for `DATETIME` and `TIMESTAMP`
/// (a `TIMESTAMP` is stored as its UTC `DateTime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    micro: u32,
}

impl DateTime {
    /// Checks the time of day: `hour < 24`, `minute, second < 60`,
    /// `micro < 1_000_000`.
    pub fn new(date: Date, hour: u8, minute: u8, second: u8, micro: u32) -> Result<Self> {
        if hour > 23 || minute > 59 || second > 59 || micro > 999_999 {
            return Err(Error::Invalid("time of day out of range"));
        }
        Ok(DateTime {
            date,
            hour,
            minute,
            second,
            micro,
        })
    }

    /// The date part.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The hour, 0..=23.
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// The minute, 0..=59.
    pub fn minute(&self) -> u8 {
        self.minute
    }

    /// The second, 0..=59.
    pub fn second(&self) -> u8 {
        self.second
    }

    /// The microseconds, 0..=999_999.
    pub fn micro(&self) -> u32 {
        self.micro
    }

    /// `(date << 17 | hour << 12 | minute << 6 | second) << 24 | micro`, the
    /// layout TiDB uses: ordered like the instant, and fits in 64 bits.
    pub fn to_packed(&self) -> u64 {
        let hms = (self.hour as u64) << 12 | (self.minute as u64) << 6 | self.second as u64;
        (self.date.to_packed() << 17 | hms) << 24 | self.micro as u64
    }

    /// The inverse of [`DateTime::to_packed`], validating the fields.
    pub fn from_packed(packed: u64) -> Result<Self> {
        let hms = (packed >> 24) & 0x1_FFFF;
        DateTime::new(
            Date::from_packed(packed >> 41)?,
            (hms >> 12) as u8,
            ((hms >> 6) & 63) as u8,
            (hms & 63) as u8,
            (packed & 0xFF_FFFF) as u32,
        )
    }

    /// MySQL's text for a column with `fsp` fraction digits (capped at 6); the
    /// value is expected to be rounded to `fsp` already, extra digits are cut.
    pub fn format(&self, fsp: u8) -> String {
        let mut out = String::with_capacity(26);
        // Writing to a String cannot fail.
        let _ = self.write(&mut out, fsp);
        out
    }

    fn write(&self, out: &mut impl Write, fsp: u8) -> fmt::Result {
        write!(
            out,
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )?;
        write_fraction(out, self.micro, fsp)
    }
}

impl FromStr for DateTime {
    type Err = Error;

    /// Parses `YYYY-M-D`, optionally followed by a space or `T` and
    /// `H:M:S[.ffffff]`.
    fn from_str(s: &str) -> Result<Self> {
        let (date, rest) = parse_date(s.as_bytes())?;
        let Some((&sep, rest)) = rest.split_first() else {
            return DateTime::new(date, 0, 0, 0, 0);
        };
        if sep != b' ' && sep != b'T' {
            return Err(Error::Invalid("datetime separator"));
        }
        let (hour, rest) = digits(rest, 1, 2)?;
        let (minute, rest) = digits(expect(rest, b':')?, 1, 2)?;
        let (second, rest) = digits(expect(rest, b':')?, 1, 2)?;
        let (micro, rest) = fraction(rest)?;
        end(rest)?;
        DateTime::new(date, hour as u8, minute as u8, second as u8, micro)
    }
}

impl fmt::Display for DateTime {
    /// Shows microseconds only when there are some, as MySQL does for a
    /// value whose column precision is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, if self.micro == 0 { 0 } else { 6 })
    }
}

/// A MySQL `TIME`: a signed duration within ±838:59:59, kept as microseconds
/// so arithmetic and ordering are plain integer operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    micros: i64,
}

impl Time {
    /// Builds `±(hours:minutes:seconds.micro)`, checking each part and the
    /// ±838:59:59 bound.
    pub fn new(negative: bool, hours: u32, minutes: u8, seconds: u8, micro: u32) -> Result<Self> {
        if minutes > 59 || seconds > 59 || micro > 999_999 || hours > 838 {
            return Err(Error::Invalid("time out of range"));
        }
        let magnitude = ((hours as i64 * 60 + minutes as i64) * 60 + seconds as i64)
            * MICROS_PER_SEC
            + micro as i64;
        Time::from_packed(if negative { -magnitude } else { magnitude })
    }

    /// Whether the duration is below zero.
    pub fn is_negative(&self) -> bool {
        self.micros < 0
    }

    /// Whole hours of the magnitude, 0..=838.
    pub fn hours(&self) -> u32 {
        (self.micros.unsigned_abs() / 3_600_000_000) as u32
    }

    /// Minutes of the magnitude, 0..=59.
    pub fn minutes(&self) -> u8 {
        (self.micros.unsigned_abs() / 60_000_000 % 60) as u8
    }

    /// Seconds of the magnitude, 0..=59.
    pub fn seconds(&self) -> u8 {
        (self.micros.unsigned_abs() / 1_000_000 % 60) as u8
    }

    /// Microseconds of the magnitude, 0..=999_999.
    pub fn micro(&self) -> u32 {
        (self.micros.unsigned_abs() % 1_000_000) as u32
    }

    /// The signed total of microseconds: ordered like the duration.
    pub fn to_packed(&self) -> i64 {
        self.micros
    }

    /// The inverse of [`Time::to_packed`], checking the ±838:59:59 bound.
    pub fn from_packed(micros: i64) -> Result<Self> {
        if !(-MAX_TIME_MICROS..=MAX_TIME_MICROS).contains(&micros) {
            return Err(Error::Invalid("time out of range"));
        }
        Ok(Time { micros })
    }

    /// MySQL's text for a column with `fsp` fraction digits (capped at 6); the
    /// value is expected to be rounded to `fsp` already, extra digits are cut.
    pub fn format(&self, fsp: u8) -> String {
        let mut out = String::with_capacity(18);
        // Writing to a String cannot fail.
        let _ = self.write(&mut out, fsp);
        out
    }

    fn write(&self, out: &mut impl Write, fsp: u8) -> fmt::Result {
        let sign = if self.is_negative() { "-" } else { "" };
        write!(
            out,
            "{sign}{:02}:{:02}:{:02}",
            self.hours(),
            self.minutes(),
            self.seconds()
        )?;
        write_fraction(out, self.micro(), fsp)
    }
}

impl FromStr for Time {
    type Err = Error;

    /// Parses `[-]H:M[:S[.ffffff]]` with up to three hour digits.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.as_bytes();
        let (negative, s) = match s.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, s),
        };
        let (hours, rest) = digits(s, 1, 3)?;
        let (minutes, rest) = digits(expect(rest, b':')?, 1, 2)?;
        let (seconds, micro, rest) = match rest.split_first() {
            Some((b':', rest)) => {
                let (seconds, rest) = digits(rest, 1, 2)?;
                let (micro, rest) = fraction(rest)?;
                (seconds, micro, rest)
            }
            _ => (0, 0, rest),
        };
        end(rest)?;
        Time::new(negative, hours, minutes as u8, seconds as u8, micro)
    }
}

impl fmt::Display for Time {
    /// Shows microseconds only when there are some.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, if self.micro() == 0 { 0 } else { 6 })
    }
}

fn write_fraction(out: &mut impl Write, micro: u32, fsp: u8) -> fmt::Result {
    let fsp = fsp.min(6) as u32;
    if fsp == 0 {
        return Ok(());
    }
    write!(
        out,
        ".{:0width$}",
        micro / 10u32.pow(6 - fsp),
        width = fsp as usize
    )
}

fn parse_date(s: &[u8]) -> Result<(Date, &[u8])> {
    let (year, rest) = digits(s, 4, 4)?;
    let (month, rest) = digits(expect(rest, b'-')?, 1, 2)?;
    let (day, rest) = digits(expect(rest, b'-')?, 1, 2)?;
    Ok((Date::new(year as u16, month as u8, day as u8)?, rest))
}

/// Reads `min..=max` ASCII digits from the front of `s`.
fn digits(s: &[u8], min: usize, max: usize) -> Result<(u32, &[u8])> {
    let n = s
        .iter()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n < min {
        return Err(Error::Invalid("time syntax"));
    }
    let value = s[..n].iter().fold(0, |v, c| v * 10 + (c - b'0') as u32);
    Ok((value, &s[n..]))
}

/// Reads an optional `.` and 1..=6 digits as microseconds.
fn fraction(s: &[u8]) -> Result<(u32, &[u8])> {
    let Some((b'.', rest)) = s.split_first() else {
        return Ok((0, s));
    };
    let (value, tail) = digits(rest, 1, 6)?;
    let width = (rest.len() - tail.len()) as u32;
    Ok((value * 10u32.pow(6 - width), tail))
}

fn expect(s: &[u8], c: u8) -> Result<&[u8]> {
    match s.split_first() {
        Some((&first, rest)) if first == c => Ok(rest),
        _ => Err(Error::Invalid("time syntax")),
    }
}

fn end(s: &[u8]) -> Result<()> {
    if s.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid("time syntax"))
    }
}

/// Append the memcomparable form of `d` (its packed form, big-endian).
pub fn encode_date(buf: &mut Vec<u8>, d: Date) {
    encode_u64(buf, d.to_packed());
}

/// Decode an [`encode_date`] value from the front of `input`, returning the rest.
pub fn decode_date(input: &[u8]) -> Result<(Date, &[u8])> {
    let (packed, rest) = decode_u64(input)?;
    Ok((Date::from_packed(packed)?, rest))
}

/// Append the memcomparable form of `dt` (its packed form, big-endian).
pub fn encode_datetime(buf: &mut Vec<u8>, dt: DateTime) {
    encode_u64(buf, dt.to_packed());
}

/// Decode an [`encode_datetime`] value from the front of `input`, returning the rest.
pub fn decode_datetime(input: &[u8]) -> Result<(DateTime, &[u8])> {
    let (packed, rest) = decode_u64(input)?;
    Ok((DateTime::from_packed(packed)?, rest))
}

/// Append the memcomparable form of `t` (its microseconds as a signed key).
pub fn encode_time(buf: &mut Vec<u8>, t: Time) {
    encode_i64(buf, t.to_packed());
}

/// Decode an [`encode_time`] value from the front of `input`, returning the rest.
pub fn decode_time(input: &[u8]) -> Result<(Time, &[u8])> {
    let (micros, rest) = decode_i64(input)?;
    Ok((Time::from_packed(micros)?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_print_and_validate() {
        for s in [
            "2024-01-31",
            "0000-00-00",
            "2024-00-15",
            "2024-02-00",
            "9999-12-31",
            "2000-02-29",
        ] {
            assert_eq!(s.parse::<Date>().unwrap().to_string(), s);
        }
        assert_eq!(
            "2024-1-5".parse::<Date>().unwrap().to_string(),
            "2024-01-05"
        );
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "0000-02-29",
            "2024-13-01",
            "2024-04-31",
            "24-01-01",
            "2024-01-01x",
            "2024/01/01",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!(Date::new(10000, 1, 1).is_err());
        assert!(Date::new(2024, 0, 32).is_err());
    }

    #[test]
    fn packed_forms_round_trip_and_order() {
        let dates = [
            "0000-00-00",
            "0000-00-01",
            "0000-01-00",
            "0001-01-01",
            "2024-12-31",
            "2025-00-00",
            "9999-12-31",
        ];
        let dates: Vec<Date> = dates.iter().map(|s| s.parse().unwrap()).collect();
        for w in dates.windows(2) {
            assert!(w[0].to_packed() < w[1].to_packed());
        }
        for d in &dates {
            assert_eq!(Date::from_packed(d.to_packed()).unwrap(), *d);
        }
        let max: DateTime = "9999-12-31 23:59:59.999999".parse().unwrap();
        assert_eq!(DateTime::from_packed(max.to_packed()).unwrap(), max);
        assert!(DateTime::from_packed(max.to_packed() + 1).is_err());
        assert!(Date::from_packed(u64::MAX).is_err());
        assert!(Date::from_packed(((10000 * 13) << 5) as u64).is_err());
    }

    #[test]
    fn datetimes_parse_and_format_with_fsp() {
        let dt: DateTime = "2024-01-31 12:34:56.000123".parse().unwrap();
        assert_eq!(dt.to_string(), "2024-01-31 12:34:56.000123");
        assert_eq!(dt.format(0), "2024-01-31 12:34:56");
        assert_eq!(dt.format(4), "2024-01-31 12:34:56.0001");
        assert_eq!(dt.format(9), "2024-01-31 12:34:56.000123");
        let dt: DateTime = "2024-01-31 12:34:56.123".parse().unwrap();
        assert_eq!(
            (dt.micro(), dt.format(3)),
            (123_000, "2024-01-31 12:34:56.123".into())
        );
        assert_eq!(
            "2024-01-31".parse::<DateTime>().unwrap().to_string(),
            "2024-01-31 00:00:00"
        );
        assert_eq!(
            "0000-00-00 00:00:00"
                .parse::<DateTime>()
                .unwrap()
                .to_packed(),
            0
        );
        assert_eq!(
            "2024-01-31T01:02:03"
                .parse::<DateTime>()
                .unwrap()
                .to_string(),
            "2024-01-31 01:02:03"
        );
        for bad in [
            "2024-01-31 24:00:00",
            "2024-01-31 12:60:00",
            "2024-01-31 12:00:00.1234567",
            "2024-01-31 12:00",
            "2024-01-31 12:00:00.",
        ] {
            assert!(bad.parse::<DateTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn times_cover_the_mysql_range() {
        let min: Time = "-838:59:59".parse().unwrap();
        let max: Time = "838:59:59".parse().unwrap();
        assert_eq!(
            (min.to_string(), max.to_string()),
            ("-838:59:59".into(), "838:59:59".into())
        );
        assert_eq!(min.to_packed(), -MAX_TIME_MICROS);
        assert!("838:59:59.000001".parse::<Time>().is_err());
        assert!("-839:00:00".parse::<Time>().is_err());
        let t: Time = "-12:00:00.5".parse().unwrap();
        assert_eq!((t.is_negative(), t.hours(), t.micro()), (true, 12, 500_000));
        assert_eq!(t.to_string(), "-12:00:00.500000");
        assert_eq!(t.format(1), "-12:00:00.5");
        assert_eq!("-00:00:00".parse::<Time>().unwrap().to_string(), "00:00:00");
        assert_eq!("1:2".parse::<Time>().unwrap().to_string(), "01:02:00");
        assert!("-00:00:00.1".parse::<Time>().unwrap().is_negative());
        for bad in ["12:60:00", "1000:00:00", "12", "12:00:00x", "+1:00:00"] {
            assert!(bad.parse::<Time>().is_err(), "{bad}");
        }
    }

    #[test]
    fn key_forms_order_and_round_trip() {
        let times = [
            "-838:59:59",
            "-12:00:00.5",
            "-00:00:00.000001",
            "00:00:00",
            "00:00:00.000001",
            "838:59:59",
        ];
        let mut prev = Vec::new();
        for s in times {
            let t: Time = s.parse().unwrap();
            let mut buf = Vec::new();
            encode_time(&mut buf, t);
            assert!(prev < buf);
            assert_eq!(decode_time(&buf).unwrap(), (t, &[][..]));
            prev = buf;
        }
        let mut buf = Vec::new();
        let d: Date = "2024-02-29".parse().unwrap();
        let dt: DateTime = "2024-02-29 23:59:59.999999".parse().unwrap();
        encode_date(&mut buf, d);
        encode_datetime(&mut buf, dt);
        let (d2, rest) = decode_date(&buf).unwrap();
        assert_eq!((d2, decode_datetime(rest).unwrap()), (d, (dt, &[][..])));
        assert!(decode_time(&u64::MAX.to_be_bytes()).is_err());
    }
}
