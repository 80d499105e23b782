//! Values on the wire: the text protocol's strings, the binary protocol's
//! typed row values, and prepared-statement parameters.
//!
//! The SQL layer hands over [`Datum`]s already of each column's kind; the
//! column's MySQL type decides the wire form (how many bytes an integer
//! takes, FLOAT versus DOUBLE printing, fractional-second digits).

use std::io::Write;

use codec::{Date, DateTime, Datum, Decimal, Time};
use sql::{ColumnInfo, ColumnType};

use crate::error::Error;
use crate::wire::{NULL_VALUE, Reader, put_lenenc_bytes, put_lenenc_with};

/// MySQL's `decimals` for a FLOAT or DOUBLE whose digits after the point are
/// not fixed (`NOT_FIXED_DEC`): print the shortest form instead.
pub(crate) const NOT_FIXED_DEC: u8 = 31;

/// Appends one text-protocol value: a length-encoded string, or `0xFB` for
/// NULL.
pub(crate) fn put_text(out: &mut Vec<u8>, datum: &Datum, col: &ColumnInfo) {
    match datum {
        Datum::Null => out.push(NULL_VALUE),
        Datum::Bytes(b) => put_lenenc_bytes(out, b),
        other => put_lenenc_with(out, |out| write_text(out, other, col)),
    }
}

/// The text of a non-NULL value. Writing to a `Vec` cannot fail, hence the
/// ignored results.
fn write_text(out: &mut Vec<u8>, datum: &Datum, col: &ColumnInfo) {
    // `decimals` above 6 means "not fixed" for temporal columns too.
    let fsp = |auto: bool| {
        if col.decimals <= 6 {
            col.decimals
        } else if auto {
            6
        } else {
            0
        }
    };
    let _ = match datum {
        Datum::Null => Ok(()),
        Datum::I64(v) if col.column_type == ColumnType::Year => write!(out, "{v:04}"),
        Datum::I64(v) => write!(out, "{v}").map(|()| pad_decimal(out, 0, col)),
        Datum::U64(v) if col.column_type == ColumnType::Year => write!(out, "{v:04}"),
        Datum::U64(v) => write!(out, "{v}").map(|()| pad_decimal(out, 0, col)),
        Datum::F64(v) if col.column_type == ColumnType::Float => {
            write_float(out, *v as f32, col.decimals);
            Ok(())
        }
        // A DOUBLE in a column of another type (a user variable's, which is
        // text) prints as itself, not rounded to that type's decimals.
        Datum::F64(v) => {
            let decimals = match col.column_type {
                ColumnType::Double => col.decimals,
                _ => NOT_FIXED_DEC,
            };
            write_double(out, *v, decimals);
            Ok(())
        }
        Datum::Bytes(b) => out.write_all(b),
        Datum::Decimal(d) => write!(out, "{d}").map(|()| pad_decimal(out, d.scale(), col)),
        Datum::Date(d) => write!(out, "{d}"),
        Datum::DateTime(dt) => out.write_all(dt.format(fsp(dt.micro() != 0)).as_bytes()),
        Datum::Time(t) => out.write_all(t.format(fsp(t.micro() != 0)).as_bytes()),
    };
}

/// Zeros after a DECIMAL column's value that has fewer digits after the
/// point (`scale`) than the column: an expression of mixed arguments, such
/// as `COALESCE(1, 2.55)`, answers one of them as it is, and MySQL prints
/// it in the column's type (`1.00`). Never cuts digits.
fn pad_decimal(out: &mut Vec<u8>, scale: u8, col: &ColumnInfo) {
    if col.column_type != ColumnType::NewDecimal || col.decimals >= NOT_FIXED_DEC {
        return;
    }
    if scale == 0 && col.decimals > 0 {
        out.push(b'.');
    }
    out.resize(
        out.len() + col.decimals.saturating_sub(scale) as usize,
        b'0',
    );
}

/// A DOUBLE as MySQL prints it: with `decimals` digits when the column fixes
/// them, otherwise the shortest digits that read back as the same value, in
/// exponent form outside `[1e-15, 1e15)` (`1e20`, `1.5`, `0.1`, `1e-16`).
/// The thresholds are TiDB's, which match MySQL's `%g`-style output for
/// round-trip digit counts.
pub(crate) fn write_double(out: &mut Vec<u8>, v: f64, decimals: u8) {
    let abs = v.abs();
    let _ = if decimals < NOT_FIXED_DEC {
        write!(out, "{v:.*}", decimals as usize)
    } else if abs >= 1e15 || (abs != 0.0 && abs < 1e-15) {
        write!(out, "{v:e}")
    } else {
        write!(out, "{v}")
    };
}

/// A FLOAT as MySQL prints it: six significant digits (`FLT_DIG`), so a
/// stored 3.1415927 shows as `3.14159` and 123456789 as `123457000`; fixed
/// `decimals` as for DOUBLE.
pub(crate) fn write_float(out: &mut Vec<u8>, v: f32, decimals: u8) {
    if decimals < NOT_FIXED_DEC || !v.is_finite() {
        let _ = write!(out, "{v:.*}", decimals.min(NOT_FIXED_DEC) as usize);
        return;
    }
    // Round to six significant digits, then print that value's shortest form.
    let six = format!("{v:.5e}");
    write_double(out, six.parse().unwrap_or(v as f64), NOT_FIXED_DEC);
}

/// Appends a binary-protocol row: header, NULL bitmap (offset by 2 bits),
/// then each non-NULL value in its column type's form. Fails on a value its
/// column type cannot carry, naming the column.
pub(crate) fn put_binary_row<'c>(
    out: &mut Vec<u8>,
    row: &[Datum],
    cols: &'c [ColumnInfo],
) -> Result<(), &'c ColumnInfo> {
    out.push(0x00);
    let bitmap_at = out.len();
    out.resize(bitmap_at + (cols.len() + 7 + 2) / 8, 0);
    for (i, col) in cols.iter().enumerate() {
        let datum = row.get(i).unwrap_or(&Datum::Null);
        if matches!(datum, Datum::Null) {
            let bit = i + 2;
            out[bitmap_at + bit / 8] |= 1 << (bit % 8);
        } else if !put_binary(out, datum, col) {
            return Err(col);
        }
    }
    Ok(())
}

/// Appends one non-NULL binary value; `false` if the column type cannot
/// carry this kind of datum.
fn put_binary(out: &mut Vec<u8>, datum: &Datum, col: &ColumnInfo) -> bool {
    use ColumnType::*;
    let int = match datum {
        Datum::I64(v) => Some(*v as u64),
        Datum::U64(v) => Some(*v),
        _ => None,
    };
    match (col.column_type, datum) {
        (Tiny | Short | Year | Long | Int24 | LongLong, _) => {
            let Some(v) = int else { return false };
            let width = match col.column_type {
                Tiny => 1,
                Short | Year => 2,
                Long | Int24 => 4,
                _ => 8,
            };
            out.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        (Float, Datum::F64(v)) => out.extend_from_slice(&(*v as f32).to_le_bytes()),
        (Double, Datum::F64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (Date, Datum::Date(d)) => put_binary_datetime(out, *d, None),
        (Date, Datum::DateTime(dt)) => put_binary_datetime(out, dt.date(), None),
        (DateTime | Timestamp, Datum::DateTime(dt)) => {
            put_binary_datetime(out, dt.date(), Some(dt))
        }
        (DateTime | Timestamp, Datum::Date(d)) => put_binary_datetime(out, *d, None),
        (Time, Datum::Time(t)) => put_binary_time(out, t),
        // Decimals and strings travel as text.
        (NewDecimal | VarString | String | Blob | Json, datum) => put_text(out, datum, col),
        _ => return false,
    }
    true
}

/// DATE, DATETIME and TIMESTAMP: a length byte (0, 4, 7 or 11) and only the
/// parts up to the last non-zero one.
fn put_binary_datetime(out: &mut Vec<u8>, d: Date, time: Option<&DateTime>) {
    let (h, m, s, micro) = time.map_or((0, 0, 0, 0), |t| {
        (t.hour(), t.minute(), t.second(), t.micro())
    });
    let len = if micro != 0 {
        11
    } else if h != 0 || m != 0 || s != 0 {
        7
    } else if d.year() != 0 || d.month() != 0 || d.day() != 0 {
        4
    } else {
        0
    };
    out.push(len);
    if len >= 4 {
        out.extend_from_slice(&d.year().to_le_bytes());
        out.extend_from_slice(&[d.month(), d.day()]);
    }
    if len >= 7 {
        out.extend_from_slice(&[h, m, s]);
    }
    if len == 11 {
        out.extend_from_slice(&micro.to_le_bytes());
    }
}

/// TIME: a length byte (0, 8 or 12), sign, days, hours within the day,
/// minutes, seconds, and microseconds when non-zero.
fn put_binary_time(out: &mut Vec<u8>, t: &Time) {
    let len = if t.micro() != 0 {
        12
    } else if t.to_packed() != 0 {
        8
    } else {
        0
    };
    out.push(len);
    if len >= 8 {
        out.push(t.is_negative() as u8);
        out.extend_from_slice(&(t.hours() / 24).to_le_bytes());
        out.extend_from_slice(&[(t.hours() % 24) as u8, t.minutes(), t.seconds()]);
    }
    if len == 12 {
        out.extend_from_slice(&t.micro().to_le_bytes());
    }
}

/// Why a parameter value could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ParamError {
    /// The packet ends inside the value or lies about a length.
    #[error(transparent)]
    Malformed(#[from] Error),
    /// A type code no client sends, or a value no SQL value can hold (a
    /// month 13, a TIME beyond 838 hours).
    #[error("invalid parameter")]
    Invalid,
}

/// Type codes of parameters that [`ColumnType`] does not name.
mod param_type {
    pub const DECIMAL: u8 = 0;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const GEOMETRY: u8 = 255;
}

/// Reads one COM_STMT_EXECUTE parameter of wire type `ty`. Integers keep
/// their signedness (`unsigned` is the 0x80 flag); FLOAT widens to `F64`;
/// a DECIMAL that is not plain digits (`1e5`) stays a string for the SQL
/// layer to cast; DATE gives a `Date`, DATETIME and TIMESTAMP a `DateTime`.
pub(crate) fn read_param(r: &mut Reader<'_>, ty: u8, unsigned: bool) -> Result<Datum, ParamError> {
    use param_type::*;
    let int = |v: u64, signed: i64| {
        if unsigned {
            Datum::U64(v)
        } else {
            Datum::I64(signed)
        }
    };
    Ok(match ty {
        t if t == ColumnType::Null as u8 => Datum::Null,
        t if t == ColumnType::Tiny as u8 => {
            let v = r.u8()?;
            int(v as u64, v as i8 as i64)
        }
        t if t == ColumnType::Short as u8 || t == ColumnType::Year as u8 => {
            let v = r.u16()?;
            int(v as u64, v as i16 as i64)
        }
        t if t == ColumnType::Long as u8 || t == ColumnType::Int24 as u8 => {
            let v = r.u32()?;
            int(v as u64, v as i32 as i64)
        }
        t if t == ColumnType::LongLong as u8 => {
            let v = r.u64()?;
            int(v, v as i64)
        }
        t if t == ColumnType::Float as u8 => Datum::F64(f32::from_bits(r.u32()?) as f64),
        t if t == ColumnType::Double as u8 => Datum::F64(f64::from_bits(r.u64()?)),
        t if t == DECIMAL || t == ColumnType::NewDecimal as u8 => {
            let text = r.lenenc_bytes()?;
            match std::str::from_utf8(text)
                .ok()
                .and_then(|s| s.parse::<Decimal>().ok())
            {
                Some(d) => Datum::Decimal(d),
                None => Datum::Bytes(text.to_vec()),
            }
        }
        t if t == ColumnType::Date as u8 => Datum::Date(read_datetime(r)?.date()),
        t if t == ColumnType::DateTime as u8 || t == ColumnType::Timestamp as u8 => {
            Datum::DateTime(read_datetime(r)?)
        }
        t if t == ColumnType::Time as u8 => Datum::Time(read_time(r)?),
        t if t == ColumnType::VarString as u8
            || t == ColumnType::String as u8
            || t == ColumnType::Blob as u8
            || t == ColumnType::Json as u8
            || matches!(
                t,
                VARCHAR | BIT | ENUM | SET | TINY_BLOB | MEDIUM_BLOB | LONG_BLOB | GEOMETRY
            ) =>
        {
            Datum::Bytes(r.lenenc_bytes()?.to_vec())
        }
        _ => return Err(ParamError::Invalid),
    })
}

fn read_datetime(r: &mut Reader<'_>) -> Result<DateTime, ParamError> {
    let len = r.u8()?;
    let mut f = Reader::new(r.take(len as usize)?);
    let (mut year, mut month, mut day, mut h, mut m, mut s, mut micro) = (0, 0, 0, 0, 0, 0, 0);
    match len {
        0 => {}
        4 | 7 | 11 => {
            year = f.u16()?;
            month = f.u8()?;
            day = f.u8()?;
            if len >= 7 {
                h = f.u8()?;
                m = f.u8()?;
                s = f.u8()?;
            }
            if len == 11 {
                micro = f.u32()?;
            }
        }
        _ => return Err(Error::Malformed("datetime length").into()),
    }
    let date = Date::new(year, month, day).map_err(|_| ParamError::Invalid)?;
    DateTime::new(date, h, m, s, micro).map_err(|_| ParamError::Invalid)
}

fn read_time(r: &mut Reader<'_>) -> Result<Time, ParamError> {
    let len = r.u8()?;
    let mut f = Reader::new(r.take(len as usize)?);
    match len {
        0 => Ok(Time::from_packed(0).map_err(|_| ParamError::Invalid)?),
        8 | 12 => {
            let negative = f.u8()? != 0;
            let days = f.u32()?;
            let (h, m, s) = (f.u8()?, f.u8()?, f.u8()?);
            let micro = if len == 12 { f.u32()? } else { 0 };
            let hours = days
                .checked_mul(24)
                .and_then(|d| d.checked_add(h as u32))
                .ok_or(ParamError::Invalid)?;
            Time::new(negative, hours, m, s, micro).map_err(|_| ParamError::Invalid)
        }
        _ => Err(Error::Malformed("time length").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sql::result::{charset, flags};

    fn col(column_type: ColumnType, decimals: u8) -> ColumnInfo {
        ColumnInfo {
            schema: String::new(),
            table: String::new(),
            org_table: String::new(),
            name: "c".into(),
            org_name: "c".into(),
            charset: charset::BINARY,
            length: 0,
            column_type,
            flags: flags::BINARY,
            decimals,
        }
    }

    fn text(datum: Datum, column_type: ColumnType, decimals: u8) -> String {
        let mut out = Vec::new();
        write_text(&mut out, &datum, &col(column_type, decimals));
        String::from_utf8(out).unwrap()
    }

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap()
    }

    #[test]
    fn doubles_print_like_mysql() {
        let d = |v: f64| text(Datum::F64(v), ColumnType::Double, NOT_FIXED_DEC);
        assert_eq!(d(1.5), "1.5");
        assert_eq!(d(0.1), "0.1");
        assert_eq!(d(1e20), "1e20");
        assert_eq!(d(-1e20), "-1e20");
        assert_eq!(d(1e15), "1e15");
        assert_eq!(d(123456789012345.0), "123456789012345");
        assert_eq!(d(1234567890123456789.0), "1.2345678901234568e18");
        assert_eq!(d(0.00001), "0.00001");
        assert_eq!(d(1e-16), "1e-16");
        assert_eq!(d(0.0), "0");
        assert_eq!(d(100.0), "100");
        assert_eq!(d(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(text(Datum::F64(1.5), ColumnType::Double, 2), "1.50");
    }

    #[test]
    fn floats_print_six_significant_digits() {
        let f = |v: f32| text(Datum::F64(v as f64), ColumnType::Float, NOT_FIXED_DEC);
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(1.1), "1.1");
        assert_eq!(f(std::f32::consts::PI), "3.14159");
        assert_eq!(f(2.7182817), "2.71828");
        assert_eq!(f(123456789.0), "123457000");
        assert_eq!(f(1e20), "1e20");
        assert_eq!(f(-0.25), "-0.25");
        assert_eq!(text(Datum::F64(1.25), ColumnType::Float, 1), "1.2");
    }

    #[test]
    fn text_of_every_kind() {
        assert_eq!(text(Datum::I64(-5), ColumnType::LongLong, 0), "-5");
        assert_eq!(
            text(Datum::U64(u64::MAX), ColumnType::LongLong, 0),
            "18446744073709551615"
        );
        assert_eq!(text(Datum::I64(0), ColumnType::Year, 0), "0000");
        assert_eq!(text(Datum::I64(2024), ColumnType::Year, 0), "2024");
        assert_eq!(
            text(
                Datum::Decimal("-1.50".parse().unwrap()),
                ColumnType::NewDecimal,
                2
            ),
            "-1.50"
        );
        assert_eq!(
            text(
                Datum::Date("2024-02-29".parse().unwrap()),
                ColumnType::Date,
                0
            ),
            "2024-02-29"
        );
        assert_eq!(
            text(
                Datum::DateTime(dt("2024-01-02 03:04:05.123456")),
                ColumnType::DateTime,
                3
            ),
            "2024-01-02 03:04:05.123"
        );
        assert_eq!(
            text(
                Datum::DateTime(dt("2024-01-02 03:04:05")),
                ColumnType::Timestamp,
                0
            ),
            "2024-01-02 03:04:05"
        );
        assert_eq!(
            text(
                Datum::Time("-838:59:58.5".parse().unwrap()),
                ColumnType::Time,
                1
            ),
            "-838:59:58.5"
        );
        assert_eq!(
            text(Datum::Bytes(b"a\0b".to_vec()), ColumnType::Blob, 0),
            "a\0b"
        );

        let mut out = Vec::new();
        put_text(&mut out, &Datum::Null, &col(ColumnType::VarString, 0));
        assert_eq!(out, [NULL_VALUE]);
    }

    /// Encodes `datum` as a one-column binary row and returns the value bytes.
    fn binary(datum: &Datum, column_type: ColumnType) -> Vec<u8> {
        let cols = [col(column_type, 6)];
        let mut out = Vec::new();
        put_binary_row(&mut out, std::slice::from_ref(datum), &cols).unwrap();
        assert_eq!(out[0], 0);
        out[2..].to_vec()
    }

    /// Decodes binary bytes as a parameter of the same wire type.
    fn param(bytes: &[u8], column_type: ColumnType, unsigned: bool) -> Datum {
        let mut r = Reader::new(bytes);
        let d = read_param(&mut r, column_type as u8, unsigned).unwrap();
        assert!(r.is_empty(), "{column_type:?} left bytes");
        d
    }

    #[test]
    fn binary_integers_by_width_both_ways() {
        let cases = [
            (ColumnType::Tiny, Datum::I64(-128), vec![0x80]),
            (ColumnType::Tiny, Datum::U64(255), vec![0xFF]),
            (ColumnType::Short, Datum::I64(-2), vec![0xFE, 0xFF]),
            (
                ColumnType::Year,
                Datum::I64(2024),
                2024u16.to_le_bytes().to_vec(),
            ),
            (
                ColumnType::Int24,
                Datum::I64(-8_388_608),
                (-8_388_608i32).to_le_bytes().to_vec(),
            ),
            (ColumnType::Long, Datum::U64(u32::MAX as u64), vec![0xFF; 4]),
            (
                ColumnType::LongLong,
                Datum::I64(i64::MIN),
                i64::MIN.to_le_bytes().to_vec(),
            ),
            (ColumnType::LongLong, Datum::U64(u64::MAX), vec![0xFF; 8]),
        ];
        for (ty, datum, bytes) in cases {
            assert_eq!(binary(&datum, ty), bytes, "{ty:?} {datum:?}");
            let unsigned = matches!(datum, Datum::U64(_));
            assert_eq!(param(&bytes, ty, unsigned), datum, "{ty:?}");
        }
    }

    #[test]
    fn binary_floats_both_ways() {
        let bytes = binary(&Datum::F64(1.5), ColumnType::Float);
        assert_eq!(bytes, 1.5f32.to_le_bytes());
        assert_eq!(param(&bytes, ColumnType::Float, false), Datum::F64(1.5));
        let bytes = binary(&Datum::F64(0.1), ColumnType::Double);
        assert_eq!(bytes, 0.1f64.to_le_bytes());
        assert_eq!(param(&bytes, ColumnType::Double, false), Datum::F64(0.1));
    }

    #[test]
    fn binary_strings_and_decimals_both_ways() {
        let d: Decimal = "-12345678901234567890.123456789012345678901234567890"
            .parse()
            .unwrap();
        let bytes = binary(&Datum::Decimal(d), ColumnType::NewDecimal);
        assert_eq!(&bytes[1..], d.to_string().as_bytes());
        match param(&bytes, ColumnType::NewDecimal, false) {
            Datum::Decimal(got) => assert_eq!(got.to_string(), d.to_string()),
            other => panic!("{other:?}"),
        }
        // Not plain digits: left for the SQL layer to cast.
        assert_eq!(
            param(b"\x031e5", ColumnType::NewDecimal, false),
            Datum::Bytes(b"1e5".to_vec())
        );

        let blob = Datum::Bytes(vec![0, 1, 2, 0xFF, 0]);
        for ty in [
            ColumnType::Blob,
            ColumnType::VarString,
            ColumnType::String,
            ColumnType::Json,
        ] {
            let bytes = binary(&blob, ty);
            assert_eq!(param(&bytes, ty, false), blob);
        }
        for ty in [
            param_type::VARCHAR,
            param_type::ENUM,
            param_type::SET,
            param_type::TINY_BLOB,
            param_type::MEDIUM_BLOB,
            param_type::LONG_BLOB,
            param_type::BIT,
            param_type::GEOMETRY,
        ] {
            let mut r = Reader::new(b"\x02ab");
            assert_eq!(
                read_param(&mut r, ty, false).unwrap(),
                Datum::Bytes(b"ab".to_vec())
            );
        }
    }

    #[test]
    fn binary_temporals_use_compact_forms_both_ways() {
        let date: Date = "2024-02-29".parse().unwrap();
        let bytes = binary(&Datum::Date(date), ColumnType::Date);
        assert_eq!(bytes, [4, 0xE8, 0x07, 2, 29]);
        assert_eq!(param(&bytes, ColumnType::Date, false), Datum::Date(date));

        let zero: Date = "0000-00-00".parse().unwrap();
        assert_eq!(binary(&Datum::Date(zero), ColumnType::Date), [0]);

        for (s, len) in [
            ("0000-00-00 00:00:00", 0),
            ("2024-01-02 00:00:00", 4),
            ("2024-01-02 03:04:05", 7),
            ("2024-01-02 03:04:05.000007", 11),
        ] {
            for ty in [ColumnType::DateTime, ColumnType::Timestamp] {
                let bytes = binary(&Datum::DateTime(dt(s)), ty);
                assert_eq!(bytes[0], len, "{s}");
                assert_eq!(bytes.len(), 1 + len as usize);
                assert_eq!(param(&bytes, ty, false), Datum::DateTime(dt(s)));
            }
        }

        for (s, len) in [
            ("00:00:00", 0),
            ("-838:59:59", 8),
            ("25:00:01.000001", 12),
            ("-00:00:00.5", 12),
        ] {
            let t: Time = s.parse().unwrap();
            let bytes = binary(&Datum::Time(t), ColumnType::Time);
            assert_eq!(bytes[0], len, "{s}");
            assert_eq!(
                param(&bytes, ColumnType::Time, false),
                Datum::Time(t),
                "{s}"
            );
        }
        let t: Time = "-50:01:02".parse().unwrap();
        assert_eq!(
            binary(&Datum::Time(t), ColumnType::Time),
            [8, 1, 2, 0, 0, 0, 2, 1, 2]
        );
    }

    #[test]
    fn binary_row_null_bitmap_is_offset_by_two() {
        let cols: Vec<_> = (0..7).map(|_| col(ColumnType::LongLong, 0)).collect();
        let row = vec![
            Datum::Null,
            Datum::I64(1),
            Datum::Null,
            Datum::Null,
            Datum::Null,
            Datum::Null,
            Datum::Null,
        ];
        let mut out = Vec::new();
        put_binary_row(&mut out, &row, &cols).unwrap();
        // Columns 0, 2..=6 are bits 2, 4..=8.
        assert_eq!(&out[..3], &[0x00, 0b1111_0100, 0b0000_0001]);
        assert_eq!(&out[3..], &1i64.to_le_bytes());
    }

    #[test]
    fn binary_row_rejects_a_value_its_type_cannot_carry() {
        let cols = [col(ColumnType::LongLong, 0)];
        let mut out = Vec::new();
        assert!(put_binary_row(&mut out, &[Datum::Bytes(b"x".to_vec())], &cols).is_err());
    }

    #[test]
    fn params_reject_bad_values_and_truncation() {
        let bad = |bytes: &[u8], ty: u8| {
            let mut r = Reader::new(bytes);
            read_param(&mut r, ty, false).is_err()
        };
        assert!(bad(&[4, 0xE8, 0x07, 13, 1], ColumnType::Date as u8));
        assert!(bad(&[5, 0, 0, 0, 0, 0], ColumnType::DateTime as u8));
        assert!(bad(&[8, 0, 35, 0, 0, 0, 0, 0, 0], ColumnType::Time as u8));
        assert!(bad(
            &[8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0],
            ColumnType::Time as u8
        ));
        assert!(bad(&[1, 2, 3], ColumnType::LongLong as u8));
        assert!(bad(&[5, b'a'], ColumnType::VarString as u8));
        assert!(bad(&[], ColumnType::Tiny as u8));
        assert!(bad(&[0], 0x0E));
        assert_eq!(param(&[], ColumnType::Null, false), Datum::Null);
    }
}
