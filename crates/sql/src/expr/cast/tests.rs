//! Conversion and store-assignment tests; expected values checked against
//! a MySQL-compatible server (MySQL 8's rounding of fractional seconds
//! where MariaDB truncates).

use super::*;
use crate::expr::eval::tests::{NULL, context, d, date, dt, f, i, s, show, tm, u};
use crate::types::Collation;
use std::collections::HashMap;

fn with_ctx<T>(strict_write: bool, body: impl FnOnce(&mut EvalContext<'_>) -> T) -> (T, Vec<u16>) {
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    ctx.in_write = strict_write;
    let out = body(&mut ctx);
    (out, ctx.warnings.iter().map(|w| w.code).collect())
}

fn text<E: std::fmt::Debug>(r: Result<Datum, E>) -> String {
    match r {
        Ok(v) => show(&v),
        Err(e) => format!("ERROR {e:?}"),
    }
}

fn ty(kind: TypeKind) -> SqlType {
    SqlType::new(kind)
}

fn sized(kind: TypeKind, length: u32, scale: u8) -> SqlType {
    SqlType {
        length,
        scale,
        ..SqlType::new(kind)
    }
}

fn unsigned(kind: TypeKind) -> SqlType {
    SqlType {
        unsigned: true,
        ..SqlType::new(kind)
    }
}

/// CAST in a SELECT: the value's text and the warnings' codes.
fn cast_to(v: Datum, target: &SqlType) -> (String, Vec<u16>) {
    let (r, w) = with_ctx(false, |ctx| cast(v, target, ctx));
    (text(r), w)
}

fn cast_text(v: Datum, target: &SqlType) -> String {
    cast_to(v, target).0
}

/// Store in a strict-mode write: the stored text, or the error code.
fn strict(v: Datum, target: &SqlType) -> String {
    let (r, _) = with_ctx(true, |ctx| store(v, target, "c", 1, ctx));
    match r {
        Ok(v) => show(&v),
        Err(e) => format!("ERROR {}", e.code),
    }
}

/// Store without strict mode: the stored text and the warnings' codes.
fn lax(v: Datum, target: &SqlType) -> (String, Vec<u16>) {
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    ctx.sql_mode.strict = false;
    ctx.in_write = true;
    let r = store(v, target, "c", 1, &mut ctx);
    (text(r), ctx.warnings.iter().map(|w| w.code).collect())
}

#[test]
fn doubles_print_like_mysql() {
    for (v, want) in [
        (1e20, "1e20"),
        (123456789012345680000.0, "1.2345678901234568e20"),
        (0.1, "0.1"),
        (1e15, "1e15"),
        (1e14, "100000000000000"),
        (1e-15, "0.000000000000001"),
        (1e-16, "1e-16"),
        (2.5, "2.5"),
        (-0.0, "0"),
        (1e301, "1e301"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-1.5e-7, "-0.00000015"),
        (123.456, "123.456"),
        (-1234567.0, "-1234567"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
        (5e-324, "5e-324"),
        (100.0, "100"),
        (1234567890123456.7, "1234567890123456.8"),
    ] {
        assert_eq!(format_double(v), want, "{v:e}");
    }
    for (v, want) in [
        (0.1f32 as f64, "0.1"),
        (1e20, "1e20"),
        (123456789.0, "123457000"),
        (1.0005, "1.0005"),
        (0.0, "0"),
        (-2.5, "-2.5"),
    ] {
        assert_eq!(format_float(v), want, "{v:e}");
    }
    assert_eq!(to_text(&NULL), "NULL");
    assert_eq!(to_text(&d("-1.50")), "-1.50");
    assert_eq!(
        to_text(&dt("2024-01-31 10:11:12.5")),
        "2024-01-31 10:11:12.500000"
    );
}

#[test]
fn string_prefixes_as_numbers() {
    let scan = |t: &str| {
        let s = scan_number(t.as_bytes());
        (
            String::from_utf8_lossy(s.text).into_owned(),
            s.trailing,
            s.has_digits(),
        )
    };
    assert_eq!(scan("  -12.5e3xyz"), ("-12.5e3".into(), true, true));
    assert_eq!(scan("1e"), ("1".into(), true, true));
    assert_eq!(scan("1e+"), ("1".into(), true, true));
    assert_eq!(scan("."), ("".into(), true, false));
    assert_eq!(scan("5. "), ("5.".into(), false, true));
    assert_eq!(scan("+.5"), ("+.5".into(), false, true));
    assert_eq!(scan(""), ("".into(), false, false));
    let int = |v: Datum| {
        let (r, w) = with_ctx(false, |ctx| {
            to_i64(&v, ctx).map(|v| v.map_or("NULL".into(), |v| v.to_string()))
        });
        (r.unwrap(), w)
    };
    assert_eq!(int(s("12abc")), ("12".into(), vec![1292]));
    assert_eq!(int(s("1.9")), ("1".into(), vec![1292]));
    assert_eq!(int(s(" 12")), ("12".into(), vec![]));
    assert_eq!(
        int(s("99999999999999999999")),
        ("-1".into(), vec![1292, 1105])
    );
    assert_eq!(int(s("18446744073709551615")), ("-1".into(), vec![1105]));
    assert_eq!(
        int(s("-9223372036854775808")),
        ("-9223372036854775808".into(), vec![])
    );
    assert_eq!(
        int(s("-99999999999999999999")),
        ("-9223372036854775808".into(), vec![1292])
    );
    assert_eq!(int(s("1e3")), ("1".into(), vec![1292]));
    assert_eq!(int(s("abc")), ("0".into(), vec![1292]));
    assert_eq!(int(f(2.5)), ("2".into(), vec![]));
    assert_eq!(int(f(-2.5)), ("-2".into(), vec![]));
    assert_eq!(int(f(3.5)), ("4".into(), vec![]));
    assert_eq!(int(d("1.5")), ("2".into(), vec![]));
    assert_eq!(int(d("-1.5")), ("-2".into(), vec![]));
    assert_eq!(int(f(1e20)), ("9223372036854775807".into(), vec![1292]));
    assert_eq!(int(date("2024-01-31")), ("20240131".into(), vec![]));
    assert_eq!(
        int(dt("2024-01-31 10:11:12")),
        ("20240131101112".into(), vec![])
    );
    assert_eq!(int(tm("-10:11:12")), ("-101112".into(), vec![]));
    assert_eq!(int(NULL), ("NULL".into(), vec![]));
    let dec = |v: Datum| {
        let (r, w) = with_ctx(false, |ctx| {
            to_decimal(&v, ctx).map(|v| v.map_or("NULL".into(), |v| v.to_string()))
        });
        (r.unwrap(), w)
    };
    assert_eq!(dec(s("1.5x")), ("1.5".into(), vec![1292]));
    assert_eq!(dec(s("-1.25e2")), ("-125".into(), vec![]));
    assert_eq!(dec(s("1e100")), ("9".repeat(65), vec![1292]));
    assert_eq!(dec(f(0.1)), ("0.1".into(), vec![]));
    assert_eq!(dec(u(u64::MAX)), ("18446744073709551615".into(), vec![]));
    assert_eq!(dec(tm("10:11:12.5")), ("101112.500000".into(), vec![]));
    let dbl = |v: Datum| with_ctx(false, |ctx| to_f64(&v, ctx).unwrap().unwrap());
    assert_eq!(dbl(s("1e500")), (f64::MAX, vec![1292]));
    assert_eq!(dbl(s("  -2.5  ")), (-2.5, vec![]));
    assert_eq!(dbl(date("2024-01-31")), (20240131.0, vec![]));
}

#[test]
fn casts_to_numbers() {
    let signed = ty(TypeKind::BigInt);
    let uns = unsigned(TypeKind::BigInt);
    assert_eq!(cast_to(s("12abc"), &signed), ("12".into(), vec![1292]));
    assert_eq!(cast_text(i(-1), &uns), "18446744073709551615");
    assert_eq!(
        cast_to(s("-1"), &uns),
        ("18446744073709551615".into(), vec![1105])
    );
    assert_eq!(cast_text(d("-1.5"), &uns), "0");
    assert_eq!(cast_text(f(-1.0), &uns), "0");
    assert_eq!(cast_text(d("1.5"), &uns), "2");
    assert_eq!(cast_text(u(u64::MAX), &signed), "-1");
    let d52 = sized(TypeKind::Decimal, 5, 2);
    assert_eq!(cast_to(d("123.456"), &d52), ("123.46".into(), vec![]));
    assert_eq!(cast_to(d("1234.5"), &d52), ("999.99".into(), vec![1264]));
    assert_eq!(cast_to(d("-1234.5"), &d52), ("-999.99".into(), vec![1264]));
    assert_eq!(cast_to(s("abc"), &d52), ("0.00".into(), vec![1292]));
    let d10 = sized(TypeKind::Decimal, 10, 0);
    assert_eq!(cast_to(s("1.5x"), &d10), ("2".into(), vec![1292]));
    assert_eq!(cast_text(d("1.5"), &d10), "2");
    assert_eq!(cast_text(f(2.5), &d10), "3");
    assert_eq!(cast_text(d("-2.5"), &sized(TypeKind::Decimal, 3, 0)), "-3");
    assert_eq!(cast_text(i(5), &sized(TypeKind::Decimal, 4, 2)), "5.00");
    assert_eq!(cast_text(d("1.5"), &ty(TypeKind::Double)), "1.5");
    assert_eq!(
        cast_to(s("1e500"), &ty(TypeKind::Double)),
        ("1.7976931348623157e308".into(), vec![1292])
    );
    assert_eq!(
        cast_text(f(0.1), &ty(TypeKind::Float)),
        format_double(0.1f32 as f64)
    );
    assert_eq!(cast_text(i(69), &ty(TypeKind::Year)), "2069");
    assert_eq!(cast_text(s("0"), &ty(TypeKind::Year)), "2000");
    assert_eq!(cast_text(i(0), &ty(TypeKind::Year)), "0");
    assert_eq!(cast_text(date("1999-05-01"), &ty(TypeKind::Year)), "1999");
    assert_eq!(
        cast_to(i(1900), &ty(TypeKind::Year)),
        ("NULL".into(), vec![1292])
    );
    assert_eq!(cast_text(NULL, &signed), "NULL");
}

#[test]
fn casts_to_strings() {
    let char3 = SqlType {
        length: 3,
        ..ty(TypeKind::VarChar)
    };
    assert_eq!(cast_to(s("abcdef"), &char3), ("abc".into(), vec![1292]));
    assert_eq!(cast_to(s("héllo"), &char3), ("hél".into(), vec![1292]));
    let (_, warnings) = with_ctx(false, |ctx| {
        let _ = cast(s("abcdef"), &char3, ctx);
        assert_eq!(
            ctx.warnings[0].message,
            "Truncated incorrect CHAR(3) value: 'abcdef'"
        );
    });
    assert_eq!(warnings, vec![1292]);
    let bin5 = SqlType {
        length: 5,
        ..ty(TypeKind::VarBinary)
    };
    let (r, _) = with_ctx(false, |ctx| cast(s("abc"), &bin5, ctx));
    assert_eq!(r.unwrap(), Datum::Bytes(b"abc\0\0".to_vec()));
    let any = SqlType {
        length: u32::MAX,
        ..ty(TypeKind::VarChar)
    };
    assert_eq!(cast_text(i(12), &any), "12");
    assert_eq!(cast_text(f(1.5), &any), "1.5");
    assert_eq!(cast_text(d("1.50"), &any), "1.50");
    assert_eq!(cast_text(date("2024-01-31"), &any), "2024-01-31");
    assert_eq!(cast_text(s("x".repeat(300).as_str()), &any).len(), 300);
    let json = ty(TypeKind::Json);
    assert_eq!(
        cast_text(s(r#"{"b":1,"a":[1,2.5,"x"],"aa":null}"#), &json),
        r#"{"a": [1, 2.5, "x"], "b": 1, "aa": null}"#
    );
    assert_eq!(cast_text(i(5), &json), "5");
    assert_eq!(cast_text(date("2024-01-31"), &json), "\"2024-01-31\"");
    let (r, _) = with_ctx(false, |ctx| cast(s("[1, 2"), &json, ctx));
    assert_eq!(r.unwrap_err().code, 3141);
}

#[test]
fn casts_to_dates_and_times() {
    let date_t = ty(TypeKind::Date);
    let dt2 = sized(TypeKind::DateTime, 19, 2);
    let time0 = ty(TypeKind::Time);
    assert_eq!(cast_text(s("2024-01-31"), &date_t), "2024-01-31");
    assert_eq!(
        cast_text(s("2024-01-31 10:11:12.5678"), &dt2),
        "2024-01-31 10:11:12.570000"
    );
    assert_eq!(
        cast_text(s("2024-12-31 23:59:59.999"), &dt2),
        "2025-01-01 00:00:00"
    );
    assert_eq!(
        cast_to(s("2024-02-30"), &date_t),
        ("NULL".into(), vec![1292])
    );
    assert_eq!(cast_text(i(20240131), &date_t), "2024-01-31");
    assert_eq!(
        cast_text(i(20240131123456), &ty(TypeKind::DateTime)),
        "2024-01-31 12:34:56"
    );
    assert_eq!(
        cast_text(d("20240131123456.5"), &sized(TypeKind::DateTime, 19, 1)),
        "2024-01-31 12:34:56.500000"
    );
    assert_eq!(cast_text(s("10:11:12.5"), &time0), "10:11:13");
    assert_eq!(cast_text(i(101112), &time0), "10:11:12");
    assert_eq!(cast_to(s("abc"), &time0), ("NULL".into(), vec![1292]));
    assert_eq!(
        cast_to(s("900:00:00"), &time0),
        ("838:59:59".into(), vec![1292])
    );
    assert_eq!(cast_text(dt("2024-01-31 10:11:12"), &time0), "10:11:12");
    assert_eq!(cast_text(dt("2024-01-31 10:11:12"), &date_t), "2024-01-31");
    assert_eq!(
        cast_text(tm("01:00:00"), &ty(TypeKind::DateTime)),
        "2024-01-31 01:00:00"
    );
    assert_eq!(
        cast_text(tm("-01:00:00"), &ty(TypeKind::DateTime)),
        "2024-01-30 23:00:00"
    );
    // NO_ZERO_DATE / NO_ZERO_IN_DATE make zero dates NULL.
    assert_eq!(
        cast_to(s("0000-00-00"), &date_t),
        ("NULL".into(), vec![1292])
    );
    assert_eq!(
        cast_to(s("2024-00-10"), &date_t),
        ("NULL".into(), vec![1292])
    );
    let (r, _) = with_ctx(false, |ctx| {
        ctx.sql_mode.no_zero_date = false;
        ctx.sql_mode.no_zero_in_date = false;
        (
            cast(s("0000-00-00"), &date_t, ctx),
            cast(s("2024-00-10"), &date_t, ctx),
        )
    });
    assert_eq!(
        (text(r.0), text(r.1)),
        ("0000-00-00".into(), "2024-00-10".into())
    );
    assert_eq!(
        cast_to(s("2024-01-31 xyz"), &date_t),
        ("2024-01-31".into(), vec![1292])
    );
    // Functions still read zero dates.
    let (r, w) = with_ctx(false, |ctx| {
        to_datetime(&s("0000-00-00"), ctx)
            .unwrap()
            .map(|d| d.to_string())
    });
    assert_eq!((r.as_deref(), w), (Some("0000-00-00 00:00:00"), vec![]));
}

#[test]
fn store_integers() {
    let tiny = ty(TypeKind::TinyInt);
    let utiny = unsigned(TypeKind::TinyInt);
    let int = ty(TypeKind::Int);
    assert_eq!(strict(i(127), &tiny), "127");
    assert_eq!(strict(i(128), &tiny), "ERROR 1264");
    assert_eq!(strict(i(-129), &tiny), "ERROR 1264");
    assert_eq!(strict(i(-1), &utiny), "ERROR 1264");
    assert_eq!(strict(i(255), &utiny), "255");
    assert_eq!(lax(i(300), &tiny), ("127".into(), vec![1264]));
    assert_eq!(lax(i(-300), &utiny), ("0".into(), vec![1264]));
    assert_eq!(strict(s("abc"), &int), "ERROR 1366");
    assert_eq!(strict(s(""), &int), "ERROR 1366");
    assert_eq!(lax(s("abc"), &int), ("0".into(), vec![1366]));
    assert_eq!(strict(s("12abc"), &int), "ERROR 1265");
    assert_eq!(lax(s("12abc"), &int), ("12".into(), vec![1265]));
    assert_eq!(strict(s("1.5"), &int), "2");
    assert_eq!(strict(s("1e3"), &int), "1000");
    assert_eq!(strict(s(" 7 "), &int), "7");
    assert_eq!(strict(f(2.5), &int), "2");
    assert_eq!(strict(f(3.5), &int), "4");
    assert_eq!(strict(d("2.5"), &int), "3");
    assert_eq!(strict(d("-2.5"), &int), "-3");
    assert_eq!(strict(s("1e100"), &int), "ERROR 1264");
    assert_eq!(
        strict(u(u64::MAX), &unsigned(TypeKind::BigInt)),
        "18446744073709551615"
    );
    assert_eq!(strict(u(u64::MAX), &ty(TypeKind::BigInt)), "ERROR 1264");
    assert_eq!(strict(i(8388608), &ty(TypeKind::MediumInt)), "ERROR 1264");
    assert_eq!(strict(i(65535), &unsigned(TypeKind::SmallInt)), "65535");
    assert_eq!(strict(date("2024-01-31"), &int), "20240131");
    assert_eq!(strict(NULL, &int), "NULL");
    let (r, _) = with_ctx(true, |ctx| store(s("abc"), &int, "i", 3, ctx));
    assert_eq!(
        r.unwrap_err().message,
        "Incorrect integer value: 'abc' for column 'i' at row 3"
    );
    let (r, _) = with_ctx(true, |ctx| store(i(300), &tiny, "ti", 2, ctx));
    assert_eq!(
        r.unwrap_err().message,
        "Out of range value for column 'ti' at row 2"
    );
    let (r, _) = with_ctx(true, |ctx| {
        store(i(5), &unsigned(TypeKind::Int), "u", 1, ctx)
    });
    assert_eq!(r.unwrap(), u(5));
}

#[test]
fn store_years() {
    let year = ty(TypeKind::Year);
    assert_eq!(strict(i(69), &year), "2069");
    assert_eq!(strict(i(70), &year), "1970");
    assert_eq!(strict(s("0"), &year), "2000");
    assert_eq!(strict(s("00"), &year), "2000");
    assert_eq!(strict(s("0000"), &year), "0");
    assert_eq!(strict(i(0), &year), "0");
    assert_eq!(strict(i(2155), &year), "2155");
    assert_eq!(strict(i(1900), &year), "ERROR 1264");
    assert_eq!(lax(i(1900), &year), ("0".into(), vec![1264]));
    assert_eq!(strict(s("1999"), &year), "1999");
    assert_eq!(strict(date("2024-05-06"), &year), "2024");
}

#[test]
fn store_decimals_and_floats() {
    let d52 = sized(TypeKind::Decimal, 5, 2);
    assert_eq!(lax(d("123.456"), &d52), ("123.46".into(), vec![1265]));
    assert_eq!(strict(d("123.456"), &d52), "123.46");
    assert_eq!(strict(i(5), &d52), "5.00");
    assert_eq!(strict(d("1234.5"), &d52), "ERROR 1264");
    assert_eq!(lax(d("1234.5"), &d52), ("999.99".into(), vec![1264]));
    assert_eq!(lax(d("-1234.5"), &d52), ("-999.99".into(), vec![1264]));
    assert_eq!(strict(d("999.994"), &d52), "999.99");
    assert_eq!(strict(d("999.995"), &d52), "ERROR 1264");
    assert_eq!(strict(s("abc"), &d52), "ERROR 1366");
    assert_eq!(strict(s("1.5x"), &d52), "ERROR 1265");
    assert_eq!(strict(s("1.25e1"), &d52), "12.50");
    assert_eq!(strict(f(0.1), &d52), "0.10");
    let ud = SqlType {
        unsigned: true,
        ..d52.clone()
    };
    assert_eq!(strict(i(-1), &ud), "ERROR 1264");
    assert_eq!(lax(i(-1), &ud), ("0.00".into(), vec![1264]));
    let (r, _) = with_ctx(true, |ctx| store(s("abc"), &d52, "d", 1, ctx));
    assert_eq!(
        r.unwrap_err().message,
        "Incorrect decimal value: 'abc' for column 'd' at row 1"
    );
    let float = ty(TypeKind::Float);
    let double = ty(TypeKind::Double);
    assert_eq!(strict(s("abc"), &float), "ERROR 1366");
    assert_eq!(strict(s("1.5x"), &float), "ERROR 1265");
    assert_eq!(strict(f(1e39), &float), "ERROR 1264");
    let (v, w) = lax(f(1e39), &float);
    assert_eq!((v.as_str(), w), ("3.4028234663852886e38", vec![1264]));
    assert_eq!(strict(s("1x"), &double), "ERROR 1265");
    assert_eq!(strict(f(0.1), &float), format_double(0.1f32 as f64));
    assert_eq!(strict(s("2.5"), &double), "2.5");
    assert_eq!(strict(d("1.25"), &double), "1.25");
    let fixed = sized(TypeKind::Float, 7, 3);
    assert_eq!(strict(f(12.3456), &fixed), format_double(12.346f32 as f64));
    assert_eq!(strict(f(12345.0), &fixed), "ERROR 1264");
    assert_eq!(strict(f(-1.0), &unsigned(TypeKind::Double)), "ERROR 1264");
}

#[test]
fn store_strings() {
    let c3 = sized(TypeKind::Char, 3, 0);
    let vc3 = SqlType {
        length: 3,
        ..ty(TypeKind::VarChar)
    };
    let b3 = sized(TypeKind::Binary, 3, 0);
    let vb3 = sized(TypeKind::VarBinary, 3, 0);
    assert_eq!(strict(s("abcd"), &c3), "ERROR 1406");
    assert_eq!(strict(s("abcd"), &vc3), "ERROR 1406");
    assert_eq!(strict(s("abcd"), &b3), "ERROR 1406");
    assert_eq!(strict(s("abcd"), &vb3), "ERROR 1406");
    assert_eq!(lax(s("abcd"), &c3), ("abc".into(), vec![1265]));
    assert_eq!(strict(s("ab  "), &c3), "ab");
    assert_eq!(lax(s("abc  "), &c3), ("abc".into(), vec![]));
    assert_eq!(lax(s("abc  "), &vc3), ("abc".into(), vec![1265]));
    assert_eq!(strict(s("abc  "), &vc3), "abc");
    assert_eq!(strict(s("héé"), &vc3), "héé");
    assert_eq!(strict(s("héé"), &vb3), "ERROR 1406");
    let (r, _) = with_ctx(true, |ctx| store(s("a"), &b3, "b", 1, ctx));
    assert_eq!(r.unwrap(), Datum::Bytes(b"a\0\0".to_vec()));
    assert_eq!(strict(i(12345), &vc3), "ERROR 1406");
    assert_eq!(strict(f(1.5), &vc3), "1.5");
    assert_eq!(
        strict(date("2024-01-31"), &ty(TypeKind::VarChar)),
        "2024-01-31"
    );
    let tiny_text = sized(TypeKind::Text, 255, 0);
    assert_eq!(strict(s(&"a".repeat(256)), &tiny_text), "ERROR 1406");
    assert_eq!(strict(s(&"é".repeat(128)), &tiny_text), "ERROR 1406");
    let bad = Datum::Bytes(vec![b'a', 0xFF, 0xFE]);
    assert_eq!(strict(bad.clone(), &ty(TypeKind::VarChar)), "ERROR 1366");
    assert_eq!(
        lax(bad.clone(), &ty(TypeKind::VarChar)),
        ("a??".into(), vec![1366])
    );
    let (r, _) = with_ctx(true, |ctx| {
        store(bad.clone(), &ty(TypeKind::VarChar), "c", 1, ctx)
    });
    assert_eq!(
        r.unwrap_err().message,
        "Incorrect string value: '\\xFF\\xFE' for column 'c' at row 1"
    );
    assert_eq!(strict(bad, &ty(TypeKind::Blob)), "a\u{FFFD}\u{FFFD}");
}

#[test]
fn store_dates_and_times() {
    let date_t = ty(TypeKind::Date);
    let dt2 = sized(TypeKind::DateTime, 19, 2);
    let ts = ty(TypeKind::Timestamp);
    let time_t = ty(TypeKind::Time);
    assert_eq!(strict(s("2024-02-30"), &date_t), "ERROR 1292");
    assert_eq!(
        lax(s("2024-02-30"), &date_t),
        ("0000-00-00".into(), vec![1265])
    );
    assert_eq!(strict(s("0000-00-00"), &date_t), "ERROR 1292");
    assert_eq!(strict(s("2024-00-01"), &date_t), "ERROR 1292");
    assert_eq!(
        lax(s("2024-00-01"), &date_t),
        ("0000-00-00".into(), vec![1265])
    );
    let (r, w) = with_ctx(true, |ctx| {
        ctx.sql_mode.no_zero_in_date = false;
        store(s("2024-00-01"), &date_t, "d", 1, ctx)
    });
    assert_eq!((text(r), w), ("2024-00-01".into(), vec![]));
    assert_eq!(
        lax(s("2024-01-01 10:00:00"), &date_t),
        ("2024-01-01".into(), vec![1265])
    );
    assert_eq!(strict(i(20240131), &date_t), "2024-01-31");
    assert_eq!(strict(s("20240131"), &date_t), "2024-01-31");
    assert_eq!(strict(dt("2024-01-31 10:00:00"), &date_t), "2024-01-31");
    assert_eq!(
        strict(s("2024-01-01 10:00:00.125"), &dt2),
        "2024-01-01 10:00:00.130000"
    );
    assert_eq!(
        strict(s("2024-01-01 23:59:59.999"), &dt2),
        "2024-01-02 00:00:00"
    );
    assert_eq!(strict(s("1969-01-01"), &ts), "ERROR 1292");
    assert_eq!(strict(s("2038-01-19 03:14:07"), &ts), "2038-01-19 03:14:07");
    assert_eq!(strict(s("2038-01-19 03:14:08"), &ts), "ERROR 1292");
    assert_eq!(strict(s("abc"), &ty(TypeKind::DateTime)), "ERROR 1292");
    let (r, _) = with_ctx(true, |ctx| store(s("2024-02-30"), &date_t, "dt", 4, ctx));
    assert_eq!(
        r.unwrap_err().message,
        "Incorrect date value: '2024-02-30' for column 'dt' at row 4"
    );
    assert_eq!(strict(s("900:00:00"), &time_t), "ERROR 1292");
    assert_eq!(
        lax(s("900:00:00"), &time_t),
        ("838:59:59".into(), vec![1264])
    );
    assert_eq!(strict(s("abc"), &time_t), "ERROR 1292");
    assert_eq!(lax(s("abc"), &time_t), ("00:00:00".into(), vec![1265]));
    assert_eq!(strict(s("10:11:12.5"), &time_t), "10:11:13");
    assert_eq!(strict(i(101112), &time_t), "10:11:12");
    assert_eq!(strict(dt("2024-01-31 10:11:12"), &time_t), "10:11:12");
    assert_eq!(
        strict(tm("10:00:00"), &ty(TypeKind::DateTime)),
        "2024-01-31 10:00:00"
    );
}

#[test]
fn store_enums_sets_and_json() {
    let e = SqlType {
        members: vec!["a".into(), "b".into()],
        ..ty(TypeKind::Enum)
    };
    let set = SqlType {
        members: vec!["x".into(), "y".into(), "z".into()],
        ..ty(TypeKind::Set)
    };
    assert_eq!(strict(s("A"), &e), "a");
    assert_eq!(strict(s("b "), &e), "b");
    assert_eq!(strict(i(2), &e), "b");
    assert_eq!(strict(s("2"), &e), "b");
    assert_eq!(strict(s("c"), &e), "ERROR 1265");
    assert_eq!(strict(i(0), &e), "ERROR 1265");
    assert_eq!(strict(s(""), &e), "ERROR 1265");
    assert_eq!(lax(s("c"), &e), ("".into(), vec![1265]));
    assert_eq!(strict(s("x,z,x"), &set), "x,z");
    assert_eq!(strict(s("Z,x"), &set), "x,z");
    assert_eq!(strict(s(""), &set), "");
    assert_eq!(strict(i(5), &set), "x,z");
    assert_eq!(strict(i(8), &set), "ERROR 1265");
    assert_eq!(strict(s("w"), &set), "ERROR 1265");
    assert_eq!(lax(s("x,w"), &set), ("x".into(), vec![1265]));
    let json = ty(TypeKind::Json);
    assert_eq!(
        strict(s(r#"{"b": [1,2], "a": "x"}"#), &json),
        r#"{"a": "x", "b": [1, 2]}"#
    );
    assert_eq!(strict(s("{bad"), &json), "ERROR 3140");
    let (r, _) = with_ctx(true, |ctx| store(s("{bad"), &json, "j", 1, ctx));
    assert!(
        r.unwrap_err().message.starts_with("Invalid JSON text: "),
        "message"
    );
    let _ = Collation::Binary;
}

#[test]
fn json_numbers_print_as_mysql_prints_them() {
    let doc = |text: &str| json_text(&serde_json::from_str(text).unwrap());
    // DECIMALs keep their digits and scale; integers stay integers.
    assert_eq!(
        doc("[1.50, 12345678901234567.8901234567, -2, 18446744073709551615]"),
        "[1.50, 12345678901234567.8901234567, -2, 18446744073709551615]"
    );
    // Anything else is a DOUBLE, laid out by my_gcvt's rules.
    assert_eq!(
        doc("[1E2, 1e+20, 1e-7, 123456789012345678901, 2.5e-16]"),
        "[100.0, 1e20, 0.0000001, 1.2345678901234568e20, 2.5e-16]"
    );
    assert_eq!(json_double(-0.0), "-0.0");
    assert_eq!(json_double(1e15), "1e15");
    assert_eq!(json_double(999999999999999.0), "999999999999999.0");
}
