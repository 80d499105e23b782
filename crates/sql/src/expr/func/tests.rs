//! Function tests; expected values checked against a MySQL-compatible
//! server (MySQL 8 behaviour where MariaDB differs, as noted).

use super::*;
use crate::expr::eval::tests::{NULL, context, d, date, dt, f, fun, i, lit, run, run_w, s, tm, u};
use std::collections::HashMap;

fn check(cases: &[(&str, &[Datum], &str)]) {
    for (name, args, want) in cases {
        assert_eq!(fun(name, args), *want, "{name}({args:?})");
    }
}

fn warned(name: &str, args: &[Datum]) -> (String, Vec<u16>) {
    run_w(&crate::expr::eval::tests::call(name, args))
}

fn with_unit(func: Func, args: &[Datum]) -> String {
    run(&Expr::Call(
        func,
        args.iter().cloned().map(lit).collect(),
        Collation::default(),
    ))
}

#[test]
fn catalog() {
    assert_eq!(Func::lookup("substr"), Some(Func::Substring));
    assert_eq!(Func::lookup("Current_Timestamp"), Some(Func::Now));
    assert_eq!(
        Func::lookup("adddate"),
        Some(Func::DateAdd(IntervalUnit::Day))
    );
    assert_eq!(Func::lookup("date_add"), None);
    assert_eq!(Func::lookup("nope"), None);
    assert_eq!(
        Func::with_unit("DATE_SUB", IntervalUnit::Hour),
        Some(Func::DateSub(IntervalUnit::Hour))
    );
    assert_eq!(
        IntervalUnit::from_name("day_microsecond"),
        Some(IntervalUnit::DayMicrosecond)
    );
    assert_eq!(Func::Substring.arity(), (2, 3));
    assert_eq!(Func::Concat.arity(), (1, usize::MAX));
    let err = Func::Left.check_arg_count(1).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (
            1582,
            "Incorrect parameter count in the call to native function 'left'"
        )
    );
    assert!(!Func::Rand.is_deterministic());
    assert!(Func::Upper.is_deterministic());
    assert_eq!(fun("PI", &[i(1)]), "ERROR 1582");
}

#[test]
fn string_functions() {
    check(&[
        ("CONCAT", &[s("a"), i(1), d("2.50"), NULL], "NULL"),
        ("CONCAT", &[s("a"), f(1.5), d("2.50")], "a1.52.50"),
        ("CONCAT_WS", &[s(","), s("a"), NULL, s("b")], "a,b"),
        ("CONCAT_WS", &[NULL, s("a")], "NULL"),
        ("LENGTH", &[s("héllo")], "6"),
        ("CHAR_LENGTH", &[s("héllo")], "5"),
        ("LOWER", &[s("ÀBC")], "àbc"),
        ("UPPER", &[s("straße")], "STRAßE"),
        ("SUBSTRING", &[s("Quadratically"), i(5)], "ratically"),
        ("SUBSTRING", &[s("foobarbar"), i(4)], "barbar"),
        ("SUBSTRING", &[s("Quadratically"), i(5), i(6)], "ratica"),
        ("SUBSTRING", &[s("Sakila"), i(-3)], "ila"),
        ("SUBSTRING", &[s("Sakila"), i(-5), i(3)], "aki"),
        ("SUBSTRING", &[s("Sakila"), i(0)], ""),
        ("SUBSTRING", &[s("Sakila"), i(2), i(-1)], ""),
        ("SUBSTRING", &[s("Sakila"), i(-10)], ""),
        ("MID", &[s("abc"), i(2), i(100)], "bc"),
        ("SUBSTR", &[s("héllo"), i(2), i(2)], "él"),
        ("LEFT", &[s("foobarbar"), i(5)], "fooba"),
        ("RIGHT", &[s("foobarbar"), i(4)], "rbar"),
        ("LEFT", &[s("abc"), i(-1)], ""),
        ("RIGHT", &[s("abc"), i(10)], "abc"),
        ("TRIM", &[s("  bar   ")], "bar"),
        ("LTRIM", &[s("  a ")], "a "),
        ("RTRIM", &[s(" a  ")], " a"),
        ("TRIM", &[s("xyxybarxyx"), s("xy")], "barxyx"),
        (
            "REPLACE",
            &[s("www.mysql.com"), s("w"), s("Ww")],
            "WwWwWw.mysql.com",
        ),
        ("REPLACE", &[s("aAa"), s("a"), s("b")], "bAb"),
        ("REPLACE", &[s("abc"), s(""), s("x")], "abc"),
        ("REVERSE", &[s("abç")], "çba"),
        ("REPEAT", &[s("ab"), i(3)], "ababab"),
        ("REPEAT", &[s("a"), i(0)], ""),
        ("REPEAT", &[s("a"), i(-1)], ""),
        ("LPAD", &[s("hi"), i(4), s("??")], "??hi"),
        ("LPAD", &[s("hi"), i(1), s("??")], "h"),
        ("RPAD", &[s("hi"), i(5), s("ab")], "hiaba"),
        ("LPAD", &[s("hi"), i(5), s("")], "NULL"),
        ("LPAD", &[s("hi"), i(-1), s("a")], "NULL"),
        ("RPAD", &[s("é"), i(3), s("ü")], "éüü"),
        ("INSTR", &[s("foobarbar"), s("BAR")], "4"),
        ("INSTR", &[s("xbar"), s("foobar")], "0"),
        ("LOCATE", &[s("bar"), s("foobarbar"), i(5)], "7"),
        ("LOCATE", &[s("bar"), s("foobarbar")], "4"),
        ("LOCATE", &[s(""), s("abc")], "1"),
        ("LOCATE", &[s(""), s("abc"), i(2)], "2"),
        ("LOCATE", &[s("a"), s("abc"), i(0)], "0"),
        ("POSITION", &[s("b"), s("abc")], "2"),
        ("ASCII", &[s("2")], "50"),
        ("ASCII", &[s("")], "0"),
        ("ASCII", &[s("é")], "195"),
        ("HEX", &[s("abc")], "616263"),
        ("HEX", &[i(255)], "FF"),
        ("HEX", &[i(-1)], "FFFFFFFFFFFFFFFF"),
        ("HEX", &[d("1.5")], "2"),
        ("HEX", &[f(1.5)], "2"),
        ("UNHEX", &[s("4D7953514C")], "MySQL"),
        ("UNHEX", &[s("zz")], "NULL"),
        ("UNHEX", &[s("F")], "\u{f}"),
        ("BIN", &[i(12)], "1100"),
        ("OCT", &[i(12)], "14"),
        ("SPACE", &[i(3)], "   "),
        ("SPACE", &[i(-3)], ""),
        ("STRCMP", &[s("a"), s("B")], "-1"),
        ("STRCMP", &[s("b"), s("a")], "1"),
        ("STRCMP", &[s("a"), s("a ")], "0"),
        (
            "SUBSTRING_INDEX",
            &[s("www.mysql.com"), s("."), i(2)],
            "www.mysql",
        ),
        (
            "SUBSTRING_INDEX",
            &[s("www.mysql.com"), s("."), i(-2)],
            "mysql.com",
        ),
        (
            "SUBSTRING_INDEX",
            &[s("www.mysql.com"), s("."), i(5)],
            "www.mysql.com",
        ),
        ("SUBSTRING_INDEX", &[s("abc"), s("."), i(0)], ""),
        ("FIND_IN_SET", &[s("B"), s("a,b,c")], "2"),
        ("FIND_IN_SET", &[s("a,b"), s("a,b,c")], "0"),
        ("FIELD", &[s("Bb"), s("Aa"), s("bb"), s("Cc")], "2"),
        ("FIELD", &[i(2), s("1"), s("2.0")], "2"),
        ("FIELD", &[NULL, NULL], "0"),
        ("ELT", &[i(2), s("a"), s("b")], "b"),
        ("ELT", &[i(3), s("a"), s("b")], "NULL"),
    ]);
    let (v, w) = warned("REPEAT", &[s("abc"), i(100_000_000)]);
    assert_eq!((v.as_str(), w), ("NULL", vec![1301]));
    assert_eq!(
        run(&Expr::Call(
            Func::TrimLeading,
            vec![lit(s("xxxbarxxx")), lit(s("x"))],
            Collation::default()
        )),
        "barxxx"
    );
    assert_eq!(
        run(&Expr::Call(
            Func::TrimTrailing,
            vec![lit(s("barxxyz")), lit(s("xyz"))],
            Collation::default()
        )),
        "barx"
    );
}

#[test]
fn format_function() {
    check(&[
        ("FORMAT", &[d("12332.123456"), i(4)], "12,332.1235"),
        ("FORMAT", &[d("12332.1"), i(4)], "12,332.1000"),
        ("FORMAT", &[d("12332.2"), i(0)], "12,332"),
        ("FORMAT", &[d("-1234567.891"), i(2)], "-1,234,567.89"),
        ("FORMAT", &[d("0.5"), i(0)], "1"),
        ("FORMAT", &[f(2.5), i(0)], "2"),
        ("FORMAT", &[f(1234.5), i(1)], "1,234.5"),
        ("FORMAT", &[i(12345), i(-2)], "12,345"),
        ("FORMAT", &[f(1e20), i(2)], "100,000,000,000,000,000,000.00"),
        (
            "FORMAT",
            &[d("123.456"), i(31)],
            "123.456000000000000000000000000000",
        ),
        ("FORMAT", &[i(-999), i(0)], "-999"),
        ("FORMAT", &[NULL, i(2)], "NULL"),
    ]);
    assert_eq!(
        warned("FORMAT", &[s("abc"), i(2)]),
        ("0.00".into(), vec![1292])
    );
}

#[test]
fn numeric_functions() {
    check(&[
        ("ABS", &[i(-5)], "5"),
        ("ABS", &[i(i64::MIN)], "ERROR 1690"),
        ("ABS", &[d("-1.50")], "1.50"),
        ("ABS", &[s("-2.5")], "2.5"),
        ("CEIL", &[d("1.23")], "2"),
        ("CEILING", &[d("-1.23")], "-1"),
        ("CEIL", &[f(1.2)], "2"),
        ("FLOOR", &[d("-1.23")], "-2"),
        ("FLOOR", &[f(1.5)], "1"),
        ("FLOOR", &[i(7)], "7"),
        ("ROUND", &[d("1.298"), i(1)], "1.3"),
        ("ROUND", &[d("1.298")], "1"),
        ("ROUND", &[d("23.298"), i(-1)], "20"),
        ("ROUND", &[d("-1.5")], "-2"),
        ("ROUND", &[f(1.005), i(2)], "1"),
        ("ROUND", &[i(125), i(-1)], "130"),
        ("ROUND", &[i(-125), i(-1)], "-130"),
        ("ROUND", &[d("2.675"), i(2)], "2.68"),
        ("ROUND", &[f(2.5)], "2"),
        ("ROUND", &[f(0.5)], "0"),
        ("ROUND", &[f(1.5)], "2"),
        ("ROUND", &[d("2.5")], "3"),
        ("ROUND", &[d("-2.5")], "-3"),
        ("ROUND", &[d("1.5"), i(3)], "1.500"),
        ("ROUND", &[f(1234.5678), i(-2)], "1200"),
        ("ROUND", &[u(u64::MAX), i(-1)], "18446744073709551620"),
        ("TRUNCATE", &[d("1.223"), i(1)], "1.2"),
        ("TRUNCATE", &[d("1.999"), i(0)], "1"),
        ("TRUNCATE", &[d("-1.999"), i(1)], "-1.9"),
        ("TRUNCATE", &[i(122), i(-2)], "100"),
        ("TRUNCATE", &[f(1.5), i(0)], "1"),
        ("MOD", &[i(234), i(10)], "4"),
        ("MOD", &[i(29), i(9)], "2"),
        ("MOD", &[d("34.5"), i(3)], "1.5"),
        ("MOD", &[i(1), i(0)], "NULL"),
        ("POW", &[i(2), i(2)], "4"),
        ("POWER", &[i(2), i(-2)], "0.25"),
        ("POW", &[i(-2), d("0.5")], "ERROR 1690"),
        ("SQRT", &[i(4)], "2"),
        ("SQRT", &[i(-16)], "NULL"),
        ("EXP", &[i(1)], "2.718281828459045"),
        ("EXP", &[i(1000)], "ERROR 1690"),
        ("LN", &[i(2)], "0.6931471805599453"),
        ("LOG", &[i(2)], "0.6931471805599453"),
        ("LOG", &[i(2), i(65536)], "16"),
        ("LOG10", &[i(100)], "2"),
        ("LOG2", &[i(65536)], "16"),
        ("SIGN", &[i(-32)], "-1"),
        ("SIGN", &[i(0)], "0"),
        ("SIGN", &[i(234)], "1"),
        ("SIGN", &[d("-0.5")], "-1"),
        ("SIGN", &[f(0.0)], "0"),
        ("PI", &[], "3.141592653589793"),
        ("RAND", &[i(1)], "0.40540353712197724"),
        ("RAND", &[i(3)], "0.9057697559760601"),
        ("SIN", &[i(0)], "0"),
        ("COS", &[i(0)], "1"),
        ("ATAN", &[i(1), i(1)], "0.7853981633974483"),
        ("ATAN2", &[i(0), i(-1)], "3.141592653589793"),
        ("ASIN", &[i(2)], "NULL"),
        ("DEGREES", &[f(std::f64::consts::PI)], "180"),
        ("RADIANS", &[i(180)], "3.141592653589793"),
        ("COT", &[i(0)], "ERROR 1690"),
        ("GREATEST", &[i(2), i(0)], "2"),
        (
            "GREATEST",
            &[d("34.0"), d("3.0"), d("5.0"), d("767.0")],
            "767.0",
        ),
        ("GREATEST", &[s("B"), s("a"), s("C")], "C"),
        ("GREATEST", &[i(1), NULL], "NULL"),
        ("GREATEST", &[i(1), d("2.5")], "2.5"),
        ("GREATEST", &[i(1), f(2.5)], "2.5"),
        ("GREATEST", &[u(u64::MAX), i(-1)], "18446744073709551615"),
        ("LEAST", &[i(10), s("9")], "10"),
        ("LEAST", &[i(1), d("0.5")], "0.5"),
        (
            "GREATEST",
            &[date("2024-01-01"), dt("2024-01-01 10:00:00")],
            "2024-01-01 10:00:00",
        ),
        ("CRC32", &[s("MySQL")], "3259397556"),
        ("CRC32", &[NULL], "NULL"),
        ("CRC32", &[i(123)], "2286445522"),
    ]);
    assert_eq!(warned("LN", &[i(0)]), ("NULL".into(), vec![3020]));
    assert_eq!(warned("LOG", &[i(-1)]), ("NULL".into(), vec![3020]));
    assert_eq!(warned("LOG", &[i(1), i(100)]), ("NULL".into(), vec![1365]));
    let r: f64 = fun("RAND", &[]).parse().unwrap();
    assert!((0.0..1.0).contains(&r));
}

#[test]
fn control_and_information_functions() {
    check(&[
        ("IF", &[i(1), i(1), s("a")], "1"),
        ("IF", &[NULL, i(1), i(2)], "2"),
        ("IF", &[s("0.0"), i(1), i(2)], "2"),
        ("IF", &[d("0.1"), i(1), i(2)], "1"),
        ("IFNULL", &[NULL, d("2.5")], "2.5"),
        ("IFNULL", &[i(1), i(2)], "1"),
        ("NULLIF", &[i(1), i(1)], "NULL"),
        ("NULLIF", &[s("a"), s("A")], "NULL"),
        ("NULLIF", &[i(1), i(2)], "1"),
        ("COALESCE", &[NULL, NULL, i(3)], "3"),
        ("COALESCE", &[NULL], "NULL"),
        ("ISNULL", &[NULL], "1"),
        ("ISNULL", &[i(0)], "0"),
        ("DATABASE", &[], "test"),
        ("VERSION", &[], "8.0.11-Basalt-0.1.0"),
        ("LAST_INSERT_ID", &[], "7"),
    ]);
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    assert_eq!(
        Func::LastInsertId
            .eval(&[i(42)], Collation::default(), &mut ctx)
            .unwrap(),
        u(42)
    );
    assert_eq!(ctx.last_insert_id, 42);
    ctx.database = None;
    assert_eq!(
        Func::Database
            .eval(&[], Collation::default(), &mut ctx)
            .unwrap(),
        NULL
    );
    let uuid = fun("UUID", &[]);
    assert_eq!(uuid.len(), 36);
    assert_eq!(uuid.as_bytes()[14], b'1');
    assert_ne!(uuid, fun("UUID", &[]));
}

#[test]
fn date_parts() {
    check(&[
        ("DATE", &[s("2024-01-31 12:34:56")], "2024-01-31"),
        ("TIME", &[s("2024-01-31 12:34:56.5")], "12:34:56.500000"),
        ("YEAR", &[s("2024-01-31")], "2024"),
        ("MONTH", &[s("2024-01-31")], "1"),
        ("DAY", &[s("2024-01-31")], "31"),
        ("DAYOFMONTH", &[date("2024-02-29")], "29"),
        ("HOUR", &[s("10:05:03")], "10"),
        ("HOUR", &[s("272:59:59")], "272"),
        ("MINUTE", &[s("2024-01-31 12:34:56")], "34"),
        ("SECOND", &[s("12:34:56")], "56"),
        ("MICROSECOND", &[s("12:34:56.000010")], "10"),
        ("DAYOFWEEK", &[s("2024-01-31")], "4"),
        ("DAYOFYEAR", &[s("2024-12-31")], "366"),
        ("WEEKDAY", &[s("2024-01-31")], "2"),
        ("DAYNAME", &[s("2024-01-31")], "Wednesday"),
        ("MONTHNAME", &[s("2024-01-31")], "January"),
        ("QUARTER", &[s("2024-08-01")], "3"),
        ("LAST_DAY", &[s("2024-02-05")], "2024-02-29"),
        ("LAST_DAY", &[s("2023-02-05 10:00")], "2023-02-28"),
        ("DATEDIFF", &[s("2024-03-01"), s("2024-02-01")], "29"),
        (
            "DATEDIFF",
            &[s("2024-03-01 23:59:59"), s("2024-03-02 00:00:01")],
            "-1",
        ),
        (
            "TIMEDIFF",
            &[s("2024-01-01 00:00:00"), s("2023-12-31 23:59:59.5")],
            "00:00:00.500000",
        ),
        ("TIMEDIFF", &[s("10:00"), s("12:00:01")], "-02:00:01"),
        ("TIMEDIFF", &[s("2024-01-01"), s("10:00")], "NULL"),
        ("TIMEDIFF", &[tm("10:00:00"), tm("01:30:00")], "08:30:00"),
        ("DATE", &[i(20240131)], "2024-01-31"),
        ("YEAR", &[i(240131)], "2024"),
        ("HOUR", &[i(123456)], "12"),
        ("TO_DAYS", &[s("2024-01-01")], "739251"),
        ("TO_DAYS", &[s("0000-01-01")], "1"),
        ("TO_DAYS", &[s("0001-01-01")], "366"),
        ("FROM_DAYS", &[i(739251)], "2024-01-01"),
        ("FROM_DAYS", &[i(365)], "0000-00-00"),
        ("MAKEDATE", &[i(2024), i(60)], "2024-02-29"),
        ("MAKEDATE", &[i(2024), i(0)], "NULL"),
        ("MAKEDATE", &[i(24), i(1)], "2024-01-01"),
        ("MAKEDATE", &[i(2024), i(400)], "2025-02-03"),
        ("MAKETIME", &[i(12), i(15), i(30)], "12:15:30"),
        ("MAKETIME", &[i(12), i(60), i(0)], "NULL"),
        ("MAKETIME", &[i(-1), i(0), d("0.5")], "-01:00:00.500000"),
        ("TIME_TO_SEC", &[s("10:00:00")], "36000"),
        ("TIME_TO_SEC", &[s("-00:00:01.5")], "-1.5"),
        ("SEC_TO_TIME", &[i(3661)], "01:01:01"),
        ("SEC_TO_TIME", &[i(-1)], "-00:00:01"),
        ("WEEK", &[s("2024-01-01")], "0"),
        ("WEEK", &[s("2024-01-01"), i(1)], "1"),
        ("WEEK", &[s("2023-01-01"), i(0)], "1"),
        ("WEEK", &[s("2023-12-31"), i(3)], "52"),
        ("WEEK", &[s("2021-01-03"), i(3)], "53"),
        ("WEEK", &[s("2021-01-03"), i(5)], "0"),
        ("WEEK", &[s("2021-01-03"), i(7)], "52"),
        ("WEEKOFYEAR", &[s("2008-12-31")], "1"),
        ("YEARWEEK", &[s("2021-01-03")], "202101"),
        ("YEARWEEK", &[s("2021-01-03"), i(1)], "202053"),
        ("DAYOFWEEK", &[s("0000-00-00")], "NULL"),
        ("MONTH", &[s("0000-00-00")], "0"),
        ("MONTHNAME", &[s("2024-00-05")], "NULL"),
    ]);
    assert_eq!(
        warned("DATE", &[s("2024-02-30")]),
        ("NULL".into(), vec![1292])
    );
    assert_eq!(warned("MONTH", &[s("abc")]), ("NULL".into(), vec![1292]));
    assert_eq!(
        warned("TIMEDIFF", &[s("838:00:00"), s("-10:00:00")]),
        ("838:59:59".into(), vec![1292])
    );
}

#[test]
fn formatting_and_parsing_dates() {
    let all = "%a %b %c %D %d %e %f %H %h %I %i %j %k %l %M %m %p %r %S %s %T %U %u %V %v %W %w %X %x %Y %y %% %q";
    check(&[
        (
            "DATE_FORMAT",
            &[s("2024-01-07 13:05:09.012345"), s(all)],
            "Sun Jan 1 7th 07 7 012345 13 01 01 05 007 13 1 January 01 PM 01:05:09 PM 09 09 13:05:09 01 01 01 01 Sunday 0 2024 2024 2024 24 % q",
        ),
        ("DATE_FORMAT", &[s("2024-01-01"), s("%D %D")], "1st 1st"),
        ("DATE_FORMAT", &[s("2024-01-02"), s("%D")], "2nd"),
        ("DATE_FORMAT", &[s("2024-01-03"), s("%D")], "3rd"),
        ("DATE_FORMAT", &[s("2024-01-11"), s("%D")], "11th"),
        ("DATE_FORMAT", &[s("2024-01-22"), s("%D")], "22nd"),
        (
            "DATE_FORMAT",
            &[s("2024-01-01 00:00:00"), s("%h %l %p %r")],
            "12 12 AM 12:00:00 AM",
        ),
        (
            "DATE_FORMAT",
            &[s("0000-00-00"), s("%Y-%m-%d")],
            "0000-00-00",
        ),
        ("DATE_FORMAT", &[s("0000-00-00"), s("%W")], "NULL"),
        (
            "DATE_FORMAT",
            &[date("2008-12-31"), s("%x-%v %X-%V")],
            "2009-01 2008-52",
        ),
        (
            "TIME_FORMAT",
            &[s("100:00:00"), s("%H %k %h %I %l")],
            "100 100 04 04 4",
        ),
        ("TIME_FORMAT", &[s("10:00:00"), s("%Y")], "NULL"),
        (
            "STR_TO_DATE",
            &[s("01,5,2013"), s("%d,%m,%Y")],
            "2013-05-01",
        ),
        (
            "STR_TO_DATE",
            &[s("May 1, 2013"), s("%M %d,%Y")],
            "2013-05-01",
        ),
        ("STR_TO_DATE", &[s("a09:30:17"), s("a%h:%i:%s")], "09:30:17"),
        (
            "STR_TO_DATE",
            &[s("2013-05-01 10:11:12.5"), s("%Y-%m-%d %H:%i:%s.%f")],
            "2013-05-01 10:11:12.500000",
        ),
        (
            "STR_TO_DATE",
            &[s("13/01/24 3:04 PM"), s("%y/%m/%d %l:%i %p")],
            "2013-01-24 15:04:00",
        ),
        ("STR_TO_DATE", &[s("12:00:00 AM"), s("%r")], "00:00:00"),
        (
            "STR_TO_DATE",
            &[s("2024-01-05 23:01:02"), s("%Y-%m-%d %T")],
            "2024-01-05 23:01:02",
        ),
        ("STR_TO_DATE", &[s("2024-1-5"), s("%Y-%c-%e")], "2024-01-05"),
        (
            "STR_TO_DATE",
            &[s("  2024-01-05"), s("%Y-%m-%d")],
            "2024-01-05",
        ),
        ("STR_TO_DATE", &[s("20240105"), s("%Y%m%d")], "2024-01-05"),
        (
            "STR_TO_DATE",
            &[s("Jan 5th 2024"), s("%b %D %Y")],
            "2024-01-05",
        ),
        (
            "STR_TO_DATE",
            &[s("Tue 2024 1"), s("%a %Y %j")],
            "2024-01-01",
        ),
        ("STR_TO_DATE", &[s("2024 60"), s("%Y %j")], "2024-02-29"),
    ]);
    for bad in [
        ("abc", "abc"),
        ("9", "%m"),
        ("24", "%y"),
        ("2024-02-30", "%Y-%m-%d"),
        ("x2024", "%Y"),
        ("13:00 PM", "%h:%i %p"),
    ] {
        assert_eq!(
            warned("STR_TO_DATE", &[s(bad.0), s(bad.1)]),
            ("NULL".into(), vec![1411]),
            "{bad:?}"
        );
    }
    assert_eq!(
        warned("STR_TO_DATE", &[s("09:30:17a"), s("%h:%i:%s")]),
        ("09:30:17".into(), vec![1292])
    );
    let typed = |format: &str| {
        let e = Expr::Call(
            Func::StrToDate,
            vec![lit(s("x")), lit(s(format))],
            Collation::default(),
        );
        e.ty(&[]).kind
    };
    assert_eq!(typed("%Y-%m-%d"), TypeKind::Date);
    assert_eq!(typed("%H:%i"), TypeKind::Time);
    assert_eq!(typed("%Y-%m-%d %H"), TypeKind::DateTime);
}

#[test]
fn date_arithmetic() {
    use IntervalUnit::*;
    let add = |unit, a: Datum, b: Datum| with_unit(Func::DateAdd(unit), &[a, b]);
    let sub = |unit, a: Datum, b: Datum| with_unit(Func::DateSub(unit), &[a, b]);
    assert_eq!(add(Month, s("2024-01-31"), i(1)), "2024-02-29");
    assert_eq!(add(Day, date("2024-01-31"), i(1)), "2024-02-01");
    assert_eq!(add(Hour, date("2024-01-31"), i(1)), "2024-01-31 01:00:00");
    assert_eq!(add(Hour, s("2024-01-31"), i(1)), "2024-01-31 01:00:00");
    assert_eq!(
        add(HourMinute, s("2024-01-31 10:00:00"), s("1:30")),
        "2024-01-31 11:30:00"
    );
    assert_eq!(sub(Month, s("2024-03-31"), i(1)), "2024-02-29");
    assert_eq!(fun("ADDDATE", &[s("2024-01-01"), i(31)]), "2024-02-01");
    assert_eq!(fun("SUBDATE", &[date("2024-03-01"), i(1)]), "2024-02-29");
    assert_eq!(add(Year, s("2024-01-01"), i(-1)), "2023-01-01");
    assert_eq!(add(Year, s("2024-02-29"), i(1)), "2025-02-28");
    assert_eq!(add(YearMonth, s("2024-01-01"), s("1-2")), "2025-03-01");
    assert_eq!(
        add(DayMicrosecond, s("2024-01-01 00:00:00"), s("1 1:1:1.5")),
        "2024-01-02 01:01:01.500000"
    );
    assert_eq!(add(Day, s("2024-01-01"), d("1.5")), "2024-01-03");
    assert_eq!(
        run_w(&Expr::Call(
            Func::DateAdd(Day),
            vec![lit(s("2024-01-01")), lit(s("1.5"))],
            Collation::default()
        )),
        ("2024-01-02".into(), vec![1292])
    );
    assert_eq!(
        add(Second, s("2024-01-01 00:00:00"), d("1.5")),
        "2024-01-01 00:00:01.500000"
    );
    assert_eq!(add(Quarter, s("2024-01-01"), i(1)), "2024-04-01");
    assert_eq!(add(Week, s("2024-01-01"), i(2)), "2024-01-15");
    assert_eq!(
        run_w(&Expr::Call(
            Func::DateAdd(Day),
            vec![lit(s("9999-12-31")), lit(i(1))],
            Collation::default()
        )),
        ("NULL".into(), vec![1441])
    );
    assert_eq!(add(Hour, tm("10:00:00"), i(1)), "11:00:00");
    assert_eq!(
        add(Microsecond, s("2024-01-01"), i(1)),
        "2024-01-01 00:00:00.000001"
    );
    assert_eq!(
        add(DayHour, s("2024-01-01 00:00:00"), s("-1 1")),
        "2023-12-30 23:00:00"
    );
    assert_eq!(
        add(MinuteSecond, dt("2024-01-01 00:00:00"), s("1:2:3")),
        "NULL"
    );
    assert_eq!(
        add(Day, dt("2024-01-31 10:00:00"), i(1)),
        "2024-02-01 10:00:00"
    );
    assert_eq!(add(Day, NULL, i(1)), "NULL");
    assert_eq!(add(Day, s("2024-00-10"), i(1)), "NULL");
    let diff = |unit, a: &str, b: &str| with_unit(Func::TimestampDiff(unit), &[s(a), s(b)]);
    assert_eq!(diff(Month, "2024-01-31", "2024-02-29"), "0");
    assert_eq!(diff(Month, "2024-01-31", "2024-03-01"), "1");
    assert_eq!(diff(Year, "2000-02-29", "2024-02-28"), "23");
    assert_eq!(diff(Day, "2024-01-02", "2024-01-01 00:00:01"), "0");
    assert_eq!(diff(Second, "2024-01-01", "2024-01-02"), "86400");
    assert_eq!(
        diff(Microsecond, "2024-01-01", "2024-01-01 00:00:01.5"),
        "1500000"
    );
    assert_eq!(diff(Week, "2024-01-01", "2024-01-20"), "2");
    assert_eq!(diff(Quarter, "2024-01-01", "2024-12-31"), "3");
    assert_eq!(diff(Month, "2024-03-31 10:00", "2024-01-31 11:00"), "-1");
    let extract = |unit, v: Datum| with_unit(Func::Extract(unit), &[v]);
    assert_eq!(extract(YearMonth, s("2024-03-05 10:11:12")), "202403");
    assert_eq!(extract(DayMinute, s("2024-03-05 10:11:12")), "51011");
    assert_eq!(extract(Microsecond, s("10:11:12.5")), "500000");
    assert_eq!(extract(Week, s("2024-03-05")), "9");
    assert_eq!(extract(Hour, s("-10:11:12")), "-10");
    assert_eq!(extract(Quarter, date("2024-11-01")), "4");
}

#[test]
fn clock_and_unix_time() {
    check(&[
        ("NOW", &[], "2024-01-31 10:11:12"),
        ("NOW", &[i(3)], "2024-01-31 10:11:12.345000"),
        ("NOW", &[i(7)], "ERROR 1426"),
        ("SYSDATE", &[], "2024-01-31 10:11:12"),
        ("CURDATE", &[], "2024-01-31"),
        ("CURTIME", &[], "10:11:12"),
        ("UTC_TIMESTAMP", &[], "2024-01-31 10:11:12"),
        ("UNIX_TIMESTAMP", &[], "1706695872"),
        ("UNIX_TIMESTAMP", &[s("2024-01-01 00:00:00")], "1704067200"),
        (
            "UNIX_TIMESTAMP",
            &[s("2024-01-01 00:00:00.5")],
            "1704067200.5",
        ),
        (
            "UNIX_TIMESTAMP",
            &[s("2015-11-13 10:20:19.012")],
            "1447410019.012",
        ),
        ("UNIX_TIMESTAMP", &[s("1969-01-01")], "0"),
        ("UNIX_TIMESTAMP", &[i(20240101)], "1704067200"),
        ("FROM_UNIXTIME", &[i(1704067200)], "2024-01-01 00:00:00"),
        (
            "FROM_UNIXTIME",
            &[d("1704067200.5")],
            "2024-01-01 00:00:00.500000",
        ),
        ("FROM_UNIXTIME", &[i(-1)], "NULL"),
        ("FROM_UNIXTIME", &[i(1704067200), s("%Y %D")], "2024 1st"),
    ]);
    let now = Expr::Call(Func::Now, vec![lit(i(3))], Collation::default());
    assert_eq!(now.ty(&[]).kind, TypeKind::DateTime);
    let _ = tm("00:00:00");
}

/// Every function, operator, cast and store over awkward values (extremes,
/// NaN, invalid UTF-8, zero dates, huge counts) returns a value or a
/// SqlError: nothing panics.
#[test]
fn nothing_panics() {
    use crate::expr::{BinaryOp, UnaryOp};
    use crate::types::{Collation, SqlType};
    let samples = vec![
        NULL,
        i(0),
        i(1),
        i(-1),
        i(6),
        i(64),
        i(100_000),
        i(i64::MIN),
        i(i64::MAX),
        i(32_536_771_199),
        u(u64::MAX),
        f(0.0),
        f(-0.0),
        f(1e308),
        f(-1e308),
        f(5e-324),
        f(f64::INFINITY),
        f(f64::NAN),
        d(&"9".repeat(65)),
        d("-0.000000000000000000000000000001"),
        d("12345678901234567890123456789012345.123456789012345678901234567890"),
        s(""),
        s(" "),
        s("abc"),
        s("1e999999999999999999"),
        s("-9999999999999999999999999999"),
        s("2024-02-29 23:59:59.999999"),
        s("9999-12-31 23:59:59.9999999"),
        s("0000-00-00"),
        s("-838:59:59"),
        s("%Y%m%d%H%i%s%f%j%p%r%T%U%x"),
        s("1 2:3:4.5"),
        s(","),
        s("%"),
        Datum::Bytes(vec![0xFF, 0xFE, b'a']),
        date("0000-00-00"),
        date("9999-12-31"),
        date("0001-01-01"),
        dt("9999-12-31 23:59:59.999999"),
        dt("0000-00-00 00:00:00"),
        tm("-838:59:59"),
        tm("838:59:59"),
    ];
    let names = [
        "CONCAT",
        "CONCAT_WS",
        "LENGTH",
        "CHAR_LENGTH",
        "LOWER",
        "UPPER",
        "SUBSTRING",
        "SUBSTRING_INDEX",
        "LEFT",
        "RIGHT",
        "TRIM",
        "LTRIM",
        "RTRIM",
        "REPLACE",
        "REVERSE",
        "REPEAT",
        "LPAD",
        "RPAD",
        "INSTR",
        "LOCATE",
        "ASCII",
        "HEX",
        "UNHEX",
        "BIN",
        "OCT",
        "SPACE",
        "STRCMP",
        "FORMAT",
        "FIND_IN_SET",
        "FIELD",
        "ELT",
        "ABS",
        "CEIL",
        "FLOOR",
        "ROUND",
        "TRUNCATE",
        "MOD",
        "POW",
        "SQRT",
        "EXP",
        "LN",
        "LOG",
        "LOG10",
        "LOG2",
        "SIGN",
        "PI",
        "RAND",
        "SIN",
        "COS",
        "TAN",
        "COT",
        "ASIN",
        "ACOS",
        "ATAN",
        "ATAN2",
        "DEGREES",
        "RADIANS",
        "GREATEST",
        "LEAST",
        "CRC32",
        "IF",
        "IFNULL",
        "NULLIF",
        "COALESCE",
        "ISNULL",
        "NOW",
        "CURDATE",
        "CURTIME",
        "UTC_TIMESTAMP",
        "UTC_DATE",
        "UTC_TIME",
        "DATE",
        "TIME",
        "YEAR",
        "MONTH",
        "DAY",
        "HOUR",
        "MINUTE",
        "SECOND",
        "MICROSECOND",
        "DAYOFWEEK",
        "DAYOFYEAR",
        "WEEKDAY",
        "DAYNAME",
        "MONTHNAME",
        "QUARTER",
        "WEEK",
        "WEEKOFYEAR",
        "YEARWEEK",
        "LAST_DAY",
        "DATEDIFF",
        "TIMEDIFF",
        "DATE_FORMAT",
        "TIME_FORMAT",
        "STR_TO_DATE",
        "UNIX_TIMESTAMP",
        "FROM_UNIXTIME",
        "ADDDATE",
        "SUBDATE",
        "MAKEDATE",
        "MAKETIME",
        "TO_DAYS",
        "FROM_DAYS",
        "TIME_TO_SEC",
        "SEC_TO_TIME",
        "DATABASE",
        "VERSION",
        "LAST_INSERT_ID",
        "UUID",
    ];
    let mut funcs: Vec<Func> = names.iter().map(|n| Func::lookup(n).unwrap()).collect();
    funcs.extend([Func::TrimLeading, Func::TrimTrailing]);
    let units = [
        "MICROSECOND",
        "SECOND",
        "MINUTE",
        "HOUR",
        "DAY",
        "WEEK",
        "MONTH",
        "QUARTER",
        "YEAR",
        "SECOND_MICROSECOND",
        "MINUTE_MICROSECOND",
        "MINUTE_SECOND",
        "HOUR_MICROSECOND",
        "HOUR_SECOND",
        "HOUR_MINUTE",
        "DAY_MICROSECOND",
        "DAY_SECOND",
        "DAY_MINUTE",
        "DAY_HOUR",
        "YEAR_MONTH",
    ];
    for unit in units.iter().map(|n| IntervalUnit::from_name(n).unwrap()) {
        funcs.extend([
            Func::DateAdd(unit),
            Func::DateSub(unit),
            Func::TimestampDiff(unit),
            Func::Extract(unit),
        ]);
    }
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    let n = samples.len();
    // A cheap deterministic walk over argument combinations.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    for func in funcs {
        let (min, max) = func.arity();
        for count in min..=max.min(min + 2).min(4) {
            // One argument: every sample; more: a deterministic walk.
            let combos = if count == 1 { n } else { 300 };
            for k in 0..combos {
                let args: Vec<Datum> = (0..count)
                    .map(|_| samples[if count == 1 { k } else { next(n) }].clone())
                    .collect();
                ctx.warnings.clear();
                for strict in [false, true] {
                    ctx.in_write = strict;
                    let _ = Expr::Call(
                        func,
                        args.iter().cloned().map(lit).collect(),
                        Collation::default(),
                    )
                    .eval(&[], &mut ctx);
                }
                ctx.in_write = false;
            }
        }
    }
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::IntDiv,
        BinaryOp::Mod,
        BinaryOp::Eq,
        BinaryOp::NullSafeEq,
        BinaryOp::Lt,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Xor,
        BinaryOp::BitAnd,
        BinaryOp::Shl,
        BinaryOp::Shr,
    ];
    let kinds = [
        TypeKind::TinyInt,
        TypeKind::SmallInt,
        TypeKind::MediumInt,
        TypeKind::Int,
        TypeKind::BigInt,
        TypeKind::Decimal,
        TypeKind::Float,
        TypeKind::Double,
        TypeKind::Char,
        TypeKind::VarChar,
        TypeKind::Binary,
        TypeKind::VarBinary,
        TypeKind::Text,
        TypeKind::Blob,
        TypeKind::Date,
        TypeKind::DateTime,
        TypeKind::Timestamp,
        TypeKind::Time,
        TypeKind::Year,
        TypeKind::Enum,
        TypeKind::Set,
        TypeKind::Json,
        TypeKind::Null,
    ];
    let mut types: Vec<SqlType> = kinds.iter().map(|&k| SqlType::new(k)).collect();
    types.push(SqlType {
        length: 65,
        scale: 30,
        unsigned: true,
        ..SqlType::new(TypeKind::Decimal)
    });
    types.push(SqlType {
        length: 3,
        scale: 6,
        ..SqlType::new(TypeKind::DateTime)
    });
    types.push(SqlType {
        length: 7,
        scale: 3,
        unsigned: true,
        ..SqlType::new(TypeKind::Float)
    });
    types.push(SqlType {
        length: 0,
        ..SqlType::new(TypeKind::VarChar)
    });
    types.push(SqlType {
        members: vec!["a".into(), "".into()],
        ..SqlType::new(TypeKind::Set)
    });
    for a in &samples {
        let _ = Expr::Unary(UnaryOp::Neg, Box::new(lit(a.clone()))).eval(&[], &mut ctx);
        let _ = Expr::Unary(UnaryOp::BitNot, Box::new(lit(a.clone()))).eval(&[], &mut ctx);
        for b in &samples {
            for op in ops {
                let _ = crate::expr::eval::tests::bin(op, lit(a.clone()), lit(b.clone()))
                    .eval(&[], &mut ctx);
            }
            for collation in [
                Collation::Binary,
                Collation::Utf8mb4Bin,
                Collation::Utf8mb4GeneralCi,
            ] {
                let _ = crate::expr::eval::compare(a, b, collation);
                let _ = crate::expr::eval::group_key(a, collation);
                if let (Some(x), Some(y)) = (cast::as_text(a), cast::as_text(b)) {
                    let _ = crate::expr::eval::like(&x, &y, b'\\', collation);
                }
            }
        }
        for t in &types {
            let _ = cast::cast(a.clone(), t, &mut ctx);
            for strict in [false, true] {
                ctx.in_write = strict;
                let _ = cast::store(a.clone(), t, "c", 1, &mut ctx);
            }
            ctx.in_write = false;
        }
        ctx.warnings.clear();
    }
}
