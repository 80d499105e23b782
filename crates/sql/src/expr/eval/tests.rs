//! Operator, comparison and collation tests, with expected values checked
//! against a MySQL-compatible server; also the helpers the other
//! expression tests share.

use super::*;
use crate::expr::{SqlMode, Warning};
use std::collections::HashMap;

/// The values NOW() and friends see in tests.
pub(crate) const NOW: &str = "2024-01-31 10:11:12.345678";

pub(crate) fn context(vars: &HashMap<String, Datum>) -> EvalContext<'_> {
    EvalContext {
        sql_mode: SqlMode::default(),
        in_write: false,
        now: NOW.parse().unwrap(),
        user_vars: vars,
        warnings: Vec::new(),
        last_insert_id: 7,
        database: Some("test".into()),
        outer_rows: Vec::new(),
        row_count: -1,
        params: &[],
        params_read: false,
        process: None,
        analysis: None,
        row_locks: None,
        foreign_key_checks: true,
        collation_connection: Collation::default(),
        memory: Default::default(),
        deadline: None,
        work: Default::default(),
    }
}

pub(crate) fn i(v: i64) -> Datum {
    Datum::I64(v)
}
pub(crate) fn u(v: u64) -> Datum {
    Datum::U64(v)
}
pub(crate) fn f(v: f64) -> Datum {
    Datum::F64(v)
}
pub(crate) fn d(v: &str) -> Datum {
    Datum::Decimal(v.parse().unwrap())
}
pub(crate) fn s(v: &str) -> Datum {
    Datum::Bytes(v.as_bytes().to_vec())
}
pub(crate) fn date(v: &str) -> Datum {
    Datum::Date(v.parse().unwrap())
}
pub(crate) fn dt(v: &str) -> Datum {
    Datum::DateTime(v.parse().unwrap())
}
pub(crate) fn tm(v: &str) -> Datum {
    Datum::Time(v.parse().unwrap())
}
pub(crate) const NULL: Datum = Datum::Null;

/// A value as the client would see it, `NULL` for NULL.
pub(crate) fn show(v: &Datum) -> String {
    cast::to_text(v)
}

pub(crate) fn lit(v: Datum) -> Expr {
    Expr::Literal(v)
}

pub(crate) fn bin(op: BinaryOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(a),
        right: Box::new(b),
        collation: Collation::Utf8mb4GeneralCi,
    }
}

pub(crate) fn call(name: &str, args: &[Datum]) -> Expr {
    let func = Func::lookup(name).unwrap_or_else(|| panic!("no function {name}"));
    Expr::Call(
        func,
        args.iter().cloned().map(lit).collect(),
        Collation::default(),
    )
}

/// Evaluates with a fresh SELECT context: the value's text, or `ERROR n`.
pub(crate) fn run(e: &Expr) -> String {
    run_w(e).0
}

/// [`run`] plus the codes of the warnings raised.
pub(crate) fn run_w(e: &Expr) -> (String, Vec<u16>) {
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    let out = match e.eval(&[], &mut ctx) {
        Ok(v) => show(&v),
        Err(err) => format!("ERROR {}", err.code),
    };
    (out, ctx.warnings.iter().map(|w: &Warning| w.code).collect())
}

/// Evaluates as part of a write under strict mode.
pub(crate) fn run_strict_write(e: &Expr) -> String {
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    ctx.in_write = true;
    match e.eval(&[], &mut ctx) {
        Ok(v) => show(&v),
        Err(err) => format!("ERROR {}", err.code),
    }
}

pub(crate) fn fun(name: &str, args: &[Datum]) -> String {
    run(&call(name, args))
}

fn op(a: Datum, op: BinaryOp, b: Datum) -> String {
    run(&bin(op, lit(a), lit(b)))
}

fn op_w(a: Datum, op: BinaryOp, b: Datum) -> (String, Vec<u16>) {
    run_w(&bin(op, lit(a), lit(b)))
}

use BinaryOp::*;

#[test]
fn integer_arithmetic_and_overflow() {
    assert_eq!(op(i(1), Add, i(2)), "3");
    assert_eq!(op(i(-7), IntDiv, i(2)), "-3");
    assert_eq!(op(i(-7), Mod, i(3)), "-1");
    assert_eq!(op(i(7), Mod, i(-3)), "1");
    assert_eq!(op(i(6), Mul, i(7)), "42");
    assert_eq!(op(u(u64::MAX), Add, i(0)), "18446744073709551615");
    assert_eq!(op(u(5), Add, i(-3)), "2");
    assert_eq!(op(i(i64::MAX), Add, i(1)), "ERROR 1690");
    assert_eq!(op(i(i64::MIN), Sub, i(1)), "ERROR 1690");
    assert_eq!(op(u(1), Sub, i(2)), "ERROR 1690");
    assert_eq!(op(u(u64::MAX), Mul, i(2)), "ERROR 1690");
    assert_eq!(op(i(i64::MIN), IntDiv, i(-1)), "ERROR 1690");
    let err = bin(Add, lit(i(i64::MAX)), lit(i(1)))
        .eval(&[], &mut context(&HashMap::new()))
        .unwrap_err();
    assert_eq!(
        err.message,
        "BIGINT value is out of range in '(9223372036854775807 + 1)'"
    );
    assert_eq!(
        run(&Expr::Unary(UnaryOp::Neg, Box::new(lit(i(i64::MIN))))),
        "ERROR 1690"
    );
    assert_eq!(
        run(&Expr::Unary(
            UnaryOp::Neg,
            Box::new(lit(u(9223372036854775808)))
        )),
        "-9223372036854775808"
    );
    assert_eq!(
        run(&Expr::Unary(UnaryOp::Neg, Box::new(lit(d("1.50"))))),
        "-1.50"
    );
    assert_eq!(
        run(&Expr::Unary(UnaryOp::Neg, Box::new(lit(s("2x"))))),
        "-2"
    );
}

#[test]
fn division_is_decimal_with_four_more_digits() {
    assert_eq!(op(i(1), Div, i(3)), "0.3333");
    assert_eq!(op(d("1.00"), Div, i(3)), "0.333333");
    assert_eq!(op(i(10), Div, i(4)), "2.5000");
    assert_eq!(op(d("10.00"), Div, i(4)), "2.500000");
    assert_eq!(
        op(i(1), Div, d("7.000000000000000000000000000001")),
        "0.1429"
    );
    assert_eq!(op(f(1.0), Div, i(3)), "0.3333333333333333");
    assert_eq!(op(s("3"), Div, i(2)), "1.5");
    // The quotient keeps nine digits inside arithmetic.
    let third = bin(Div, lit(i(1)), lit(i(3)));
    assert_eq!(run(&bin(Mul, third.clone(), lit(i(3)))), "1.0000");
    assert_eq!(
        run(&bin(Mul, bin(Div, lit(i(2)), lit(i(3))), lit(i(3)))),
        "2.0000"
    );
    assert_eq!(
        run(&bin(Mul, bin(Div, lit(i(2)), lit(i(3))), lit(i(100)))),
        "66.6667"
    );
    assert_eq!(
        run(&bin(Add, bin(Div, lit(d("1.0")), lit(i(3))), lit(i(1)))),
        "1.33333"
    );
    assert_eq!(
        run(&Expr::Call(
            Func::Round,
            vec![third, lit(i(6))],
            Collation::default()
        )),
        "0.333333"
    );
}

#[test]
fn decimal_and_double_arithmetic() {
    assert_eq!(op(d("1.5"), Mul, d("1.25")), "1.875");
    assert_eq!(op(i(3), Sub, d("1.50")), "1.50");
    assert_eq!(op(d("7.5"), Mod, i(2)), "1.5");
    assert_eq!(op(d("-7.5"), Mod, i(2)), "-1.5");
    assert_eq!(op(d("5.5"), IntDiv, i(2)), "2");
    assert_eq!(op(d("7.5"), IntDiv, d("2.5")), "3");
    assert_eq!(op(d("-7"), IntDiv, d("2.0")), "-3");
    assert_eq!(op(i(5), IntDiv, d("2.9")), "1");
    assert_eq!(op(f(5.5), Mod, i(2)), "1.5");
    assert_eq!(op(f(0.1), Add, f(0.2)), "0.30000000000000004");
    assert_eq!(op(f(1e300), Mul, f(1e300)), "ERROR 1690");
    let big = d(&"9".repeat(65));
    assert_eq!(op(big.clone(), Add, i(1)), "ERROR 1690");
    assert_eq!(op(big, Mul, i(10)), "ERROR 1690");
    assert_eq!(
        op(
            d("0.123456789012345678901234567890"),
            Mul,
            d("0.123456789012345678901234567890")
        ),
        "0.015241578753238836750495351563"
    );
    assert_eq!(op(date("2024-01-31"), Add, i(0)), "20240131");
    assert_eq!(op(dt("2024-01-31 10:11:12"), Add, i(0)), "20240131101112");
    assert_eq!(
        op(dt("2024-01-31 10:11:12.5"), Add, i(0)),
        "20240131101112.500000"
    );
    assert_eq!(op(tm("10:11:12"), Mul, i(1)), "101112");
    assert_eq!(op(NULL, Add, i(1)), "NULL");
}

#[test]
fn strings_in_arithmetic_warn() {
    assert_eq!(op_w(s("abc"), Add, i(1)), ("1".into(), vec![1292]));
    assert_eq!(op_w(s("12abc"), Add, i(1)), ("13".into(), vec![1292]));
    assert_eq!(op_w(s(" 12 "), Add, i(1)), ("13".into(), vec![]));
    assert_eq!(op_w(s(""), Add, i(0)), ("0".into(), vec![1292]));
    assert_eq!(op_w(s("1e3"), Add, i(0)), ("1000".into(), vec![]));
    assert_eq!(op_w(s("0x10"), Add, i(0)), ("0".into(), vec![1292]));
    assert_eq!(op_w(s(".5"), Add, i(0)), ("0.5".into(), vec![]));
    assert_eq!(op_w(s("-"), Add, i(0)), ("0".into(), vec![1292]));
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    bin(Add, lit(s("abc")), lit(i(1)))
        .eval(&[], &mut ctx)
        .unwrap();
    assert_eq!(
        ctx.warnings[0].message,
        "Truncated incorrect DOUBLE value: 'abc'"
    );
    assert_eq!(
        run_strict_write(&bin(Add, lit(s("abc")), lit(i(1)))),
        "ERROR 1292"
    );
}

#[test]
fn division_by_zero_is_null_with_a_warning() {
    for (a, o, b) in [
        (i(1), Div, i(0)),
        (i(1), Mod, i(0)),
        (i(1), IntDiv, i(0)),
        (f(1.0), Div, i(0)),
        (d("0.0"), Div, i(0)),
        (i(5), IntDiv, d("0.0")),
    ] {
        assert_eq!(op_w(a.clone(), o, b.clone()), ("NULL".into(), vec![1365]));
        assert_eq!(run_strict_write(&bin(o, lit(a), lit(b))), "ERROR 1365");
    }
    let vars = HashMap::new();
    let mut ctx = context(&vars);
    ctx.sql_mode.error_for_division_by_zero = false;
    ctx.in_write = true;
    assert_eq!(
        bin(Div, lit(i(1)), lit(i(0))).eval(&[], &mut ctx).unwrap(),
        NULL
    );
    assert!(ctx.warnings.is_empty());
}

#[test]
fn comparisons_pick_a_type() {
    assert_eq!(op(i(1), Eq, s("1")), "1");
    assert_eq!(op_w(i(1), Eq, s("1abc")), ("1".into(), vec![1292]));
    assert_eq!(op(s("10"), Gt, s("9")), "0");
    assert_eq!(op(i(10), Gt, s("9")), "1");
    assert_eq!(op(u(u64::MAX), Gt, i(-1)), "1");
    assert_eq!(op(u(u64::MAX), Eq, i(-1)), "0");
    assert_eq!(op(d("1.0"), Eq, i(1)), "1");
    assert_eq!(op(f(0.1), Eq, d("0.1")), "1");
    assert_eq!(op(date("2024-01-31"), Eq, s("2024-01-31")), "1");
    assert_eq!(op(date("2024-01-31"), Eq, s("2024/1/31")), "1");
    assert_eq!(op(date("2024-01-31"), Eq, i(20240131)), "1");
    assert_eq!(op(dt("2024-01-31 00:00:00"), Eq, date("2024-01-31")), "1");
    assert_eq!(op(date("2024-01-31"), Lt, s("2024-02-01 10:00")), "1");
    assert_eq!(
        op_w(date("2024-01-31"), Eq, s("abc")),
        ("0".into(), vec![1292])
    );
    assert_eq!(op_w(s("abc"), Eq, i(0)), ("1".into(), vec![1292]));
    assert_eq!(op(tm("10:00:00"), Eq, s("10:00:00")), "1");
    assert_eq!(op(tm("10:00:00"), Eq, i(100000)), "1");
    assert_eq!(op(tm("-01:00:00"), Lt, tm("00:00:00")), "1");
    assert_eq!(op(NULL, Eq, NULL), "NULL");
    assert_eq!(op(NULL, NullSafeEq, NULL), "1");
    assert_eq!(op(i(1), NullSafeEq, NULL), "0");
    assert_eq!(op(s("a"), NullSafeEq, s("A")), "1");
    assert_eq!(op(i(2), Ne, f(2.0)), "0");
    assert_eq!(op(i(2), Le, d("2.00")), "1");
    assert_eq!(op(i(3), Ge, i(4)), "0");
    assert_eq!(
        run_strict_write(&bin(Eq, lit(i(1)), lit(s("x")))),
        "ERROR 1292"
    );
}

#[test]
fn collations() {
    let c = |a: &str, b: &str, coll| compare_strings(a.as_bytes(), b.as_bytes(), coll);
    use Collation::*;
    use Ordering::*;
    assert_eq!(c("a", "A ", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("a", "a\t", Utf8mb4GeneralCi), Greater);
    assert_eq!(c("é", "E", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("ß", "s", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("ß", "ss", Utf8mb4GeneralCi), Less);
    assert_eq!(c("æ", "Æ", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("Æ", "ae", Utf8mb4GeneralCi), Greater);
    assert_eq!(c("ÿ", "Y", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("ı", "i", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("ǅ", "Ǆ", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("Đ", "d", Utf8mb4GeneralCi), Greater);
    assert_eq!(c("ё", "Е", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("ά", "Α", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("😀", "😃", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("b", "A", Utf8mb4GeneralCi), Greater);
    assert_eq!(c("a", "A", Utf8mb4Bin), Greater);
    assert_eq!(c("a ", "a", Utf8mb4Bin), Equal);
    assert_eq!(c("a", "a\t", Utf8mb4Bin), Greater);
    assert_eq!(c("a", "a ", Binary), Less);
    assert_eq!(c("", "   ", Utf8mb4GeneralCi), Equal);
    assert_eq!(c("ab", "a", Utf8mb4GeneralCi), Greater);
    assert_eq!(compare_strings(b"\xff", b"\xfe", Utf8mb4GeneralCi), Greater);
    // Weights spot-checked against WEIGHT_STRING on a live server.
    for (cp, w) in [
        (0xE9, 0x45),
        (0xDF, 0x53),
        (0x130, 0x49),
        (0x131, 0x49),
        (0x3AC, 0x391),
        (0x13F, 0x13F),
        (0x1E00, 0x41),
        (0x2C30, 0x2C30),
    ] {
        assert_eq!(general_ci_weight(cp), w, "{cp:X}");
    }
}

#[test]
fn compare_and_group_key_agree() {
    let values = [
        s("a"),
        s("A "),
        s("á"),
        s("b"),
        s(""),
        s("  "),
        i(1),
        u(1),
        d("1.0"),
        d("1.50"),
        f(1.5),
        f(1.0),
        f(0.1),
        d("0.1"),
        date("2024-01-31"),
        dt("2024-01-31 00:00:00"),
        dt("2024-01-31 00:00:01"),
        tm("10:00:00"),
        NULL,
    ];
    for a in &values {
        for b in &values {
            let same_kind = matches!((a, b), (Datum::Bytes(_), Datum::Bytes(_)))
                || (!matches!(a, Datum::Bytes(_)) && !matches!(b, Datum::Bytes(_)));
            if !same_kind || *a == NULL || *b == NULL {
                continue;
            }
            let equal = compare(a, b, Collation::Utf8mb4GeneralCi) == Some(Ordering::Equal);
            let keys = group_key(a, Collation::Utf8mb4GeneralCi)
                == group_key(b, Collation::Utf8mb4GeneralCi);
            assert_eq!(equal, keys, "{a:?} vs {b:?}");
        }
    }
    assert_eq!(compare(&NULL, &i(1), Collation::Binary), None);
    assert_ne!(
        group_key(&s("a"), Collation::Binary),
        group_key(&s("A"), Collation::Binary)
    );
    assert_ne!(
        group_key(&s("a"), Collation::Utf8mb4Bin),
        group_key(&s("A"), Collation::Utf8mb4Bin)
    );
    assert_eq!(
        group_key(&s("a  "), Collation::Utf8mb4Bin),
        group_key(&s("a"), Collation::Utf8mb4Bin)
    );
    assert_ne!(
        group_key(&NULL, Collation::Binary),
        group_key(&s(""), Collation::Binary)
    );
}

fn like_expr(text: &str, pattern: &str, escape: u8, collation: Collation) -> String {
    run(&Expr::Like {
        expr: Box::new(lit(s(text))),
        pattern: Box::new(lit(s(pattern))),
        escape,
        negated: false,
        collation,
    })
}

#[test]
fn like_patterns() {
    use Collation::*;
    for (text, pattern, want) in [
        ("abc", "ABC", "1"),
        ("abc ", "abc", "0"),
        ("a", "a ", "0"),
        ("é", "e", "1"),
        ("ab", "a_", "1"),
        ("a%", "a\\%", "1"),
        ("ab", "a\\%", "0"),
        ("a\\", "a\\", "1"),
        ("abc", "a\\", "0"),
        ("abc", "a%c%", "1"),
        ("", "%", "1"),
        ("é", "_", "1"),
        ("abcabcabd", "%abd", "1"),
        ("abcabcab", "%abd", "0"),
        ("mississippi", "%iss%ppi", "1"),
        ("x", "", "0"),
        ("", "", "1"),
        ("a_c", "a\\_c", "1"),
        ("abc", "a\\_c", "0"),
    ] {
        assert_eq!(
            like_expr(text, pattern, b'\\', Utf8mb4GeneralCi),
            want,
            "{text} LIKE {pattern}"
        );
    }
    assert_eq!(like_expr("ABC", "abc", b'\\', Utf8mb4Bin), "0");
    assert_eq!(like_expr("é", "_", b'\\', Binary), "0");
    assert_eq!(like_expr("é", "__", b'\\', Binary), "1");
    assert_eq!(like_expr("a_c", "a|_c", b'|', Utf8mb4GeneralCi), "1");
    assert_eq!(like_expr("abc", "ab|", b'|', Utf8mb4GeneralCi), "0");
    assert_eq!(like_expr("ab|", "ab|", b'|', Utf8mb4GeneralCi), "1");
    let null = Expr::Like {
        expr: Box::new(lit(NULL)),
        pattern: Box::new(lit(s("a"))),
        escape: b'\\',
        negated: false,
        collation: Binary,
    };
    assert_eq!(run(&null), "NULL");
    let negated = Expr::Like {
        expr: Box::new(lit(i(10))),
        pattern: Box::new(lit(s("1%"))),
        escape: b'\\',
        negated: true,
        collation: Binary,
    };
    assert_eq!(run(&negated), "0");
}

fn in_list(v: Datum, list: &[Datum], negated: bool) -> String {
    run(&Expr::InList {
        expr: Box::new(lit(v)),
        list: list.iter().cloned().map(lit).collect(),
        negated,
        collation: Collation::Utf8mb4GeneralCi,
    })
}

fn between(v: Datum, low: Datum, high: Datum, negated: bool) -> String {
    run(&Expr::Between {
        expr: Box::new(lit(v)),
        low: Box::new(lit(low)),
        high: Box::new(lit(high)),
        negated,
        collation: Collation::Utf8mb4GeneralCi,
    })
}

#[test]
fn in_between_and_null_rules() {
    assert_eq!(in_list(i(1), &[i(2), NULL], false), "NULL");
    assert_eq!(in_list(i(1), &[i(1), NULL], false), "1");
    assert_eq!(in_list(NULL, &[i(1)], false), "NULL");
    assert_eq!(in_list(i(1), &[i(2), NULL], true), "NULL");
    assert_eq!(in_list(i(1), &[i(2), i(3)], true), "1");
    assert_eq!(in_list(s("a"), &[s("B"), s("A")], false), "1");
    assert_eq!(in_list(i(1), &[s("1.0")], false), "1");
    assert_eq!(between(i(2), i(1), i(3), false), "1");
    assert_eq!(between(s("b"), s("A"), s("C"), false), "1");
    assert_eq!(between(i(5), i(6), NULL, false), "0");
    assert_eq!(between(i(2), i(1), NULL, false), "NULL");
    assert_eq!(between(i(5), i(1), i(3), true), "1");
    assert_eq!(
        between(date("2024-01-15"), s("2024-01-01"), s("2024-01-31"), false),
        "1"
    );
}

fn is_bool(v: Datum, value: bool, negated: bool) -> String {
    run(&Expr::IsBool {
        expr: Box::new(lit(v)),
        value,
        negated,
    })
}

#[test]
fn logic_is_three_valued() {
    let t = |a: Datum, o: BinaryOp, b: Datum| op(a, o, b);
    assert_eq!(t(i(1), And, NULL), "NULL");
    assert_eq!(t(i(0), And, NULL), "0");
    assert_eq!(t(NULL, And, i(0)), "0");
    assert_eq!(t(i(1), Or, NULL), "1");
    assert_eq!(t(NULL, Or, i(1)), "1");
    assert_eq!(t(i(0), Or, NULL), "NULL");
    assert_eq!(t(i(1), Xor, NULL), "NULL");
    assert_eq!(t(i(1), Xor, i(1)), "0");
    assert_eq!(t(i(1), Xor, i(0)), "1");
    assert_eq!(t(s("abc"), And, i(1)), "0");
    assert_eq!(t(d("0.1"), And, f(2.0)), "1");
    // The right side of a decided AND is never evaluated.
    assert_eq!(
        run_w(&bin(And, lit(i(0)), bin(Div, lit(i(1)), lit(i(0))))),
        ("0".into(), vec![])
    );
    assert_eq!(run(&Expr::Unary(UnaryOp::Not, Box::new(lit(NULL)))), "NULL");
    assert_eq!(
        run(&Expr::Unary(UnaryOp::Not, Box::new(lit(s("0.0"))))),
        "1"
    );
    assert_eq!(is_bool(i(2), true, false), "1");
    assert_eq!(is_bool(NULL, true, true), "1");
    assert_eq!(is_bool(d("0.0"), false, false), "1");
    assert_eq!(is_bool(i(-1), true, false), "1");
    assert_eq!(is_bool(NULL, false, false), "0");
    assert_eq!(
        run(&Expr::IsNull {
            expr: Box::new(lit(NULL)),
            negated: false
        }),
        "1"
    );
    assert_eq!(
        run(&Expr::IsNull {
            expr: Box::new(lit(s(""))),
            negated: true
        }),
        "1"
    );
    assert!(truthy(&s("1x")));
    assert!(!truthy(&NULL));
    assert!(!truthy(&dt("0000-00-00 00:00:00")));
}

#[test]
fn bit_operators() {
    assert_eq!(op(s("1.9"), BitOr, i(0)), "2");
    assert_eq!(op(d("-1.5"), BitOr, i(0)), "18446744073709551614");
    assert_eq!(op(s("-1"), BitOr, i(0)), "18446744073709551615");
    assert_eq!(op(d("1.5"), BitOr, i(0)), "2");
    assert_eq!(op(f(2.5), BitOr, i(0)), "3");
    assert_eq!(op(i(1), Shl, i(64)), "0");
    assert_eq!(op(i(1), Shl, i(63)), "9223372036854775808");
    assert_eq!(op(i(-1), Shr, i(1)), "9223372036854775807");
    assert_eq!(op(i(12), BitAnd, i(10)), "8");
    assert_eq!(op(i(12), BitXor, i(10)), "6");
    assert_eq!(op(NULL, BitAnd, i(1)), "NULL");
    assert_eq!(
        run(&Expr::Unary(UnaryOp::BitNot, Box::new(lit(i(0))))),
        "18446744073709551615"
    );
}

#[test]
fn case_cast_variables_and_columns() {
    let case = |operand: Option<Datum>, whens: Vec<(Datum, Datum)>, otherwise: Option<Datum>| {
        run(&Expr::Case {
            operand: operand.map(|v| Box::new(lit(v))),
            whens: whens.into_iter().map(|(w, t)| (lit(w), lit(t))).collect(),
            otherwise: otherwise.map(|v| Box::new(lit(v))),
            collation: Collation::Utf8mb4GeneralCi,
        })
    };
    assert_eq!(
        case(Some(s("a")), vec![(s("A"), s("match"))], Some(s("no"))),
        "match"
    );
    assert_eq!(
        case(None, vec![(NULL, i(1)), (i(0), i(2))], Some(i(3))),
        "3"
    );
    assert_eq!(case(Some(i(1)), vec![(NULL, s("n"))], None), "NULL");
    assert_eq!(
        case(None, vec![(s("x"), i(1)), (d("0.5"), i(2))], None),
        "2"
    );
    assert_eq!(
        run(&Expr::Cast(
            Box::new(lit(s("12abc"))),
            SqlType::new(TypeKind::BigInt)
        )),
        "12"
    );
    let mut vars = HashMap::new();
    vars.insert("x".to_string(), i(42));
    let mut ctx = context(&vars);
    assert_eq!(
        Expr::UserVar("x".into()).eval(&[], &mut ctx).unwrap(),
        i(42)
    );
    assert_eq!(Expr::UserVar("y".into()).eval(&[], &mut ctx).unwrap(), NULL);
    assert_eq!(
        Expr::Column(1).eval(&[i(1), s("b")], &mut ctx).unwrap(),
        s("b")
    );
    assert_eq!(
        Expr::Column(2).eval(&[i(1)], &mut ctx).unwrap_err().code,
        1105
    );
    // Lazy IF and COALESCE: the unused division does not warn.
    let lazy = Expr::Call(
        Func::If,
        vec![lit(i(1)), lit(i(1)), bin(Div, lit(i(1)), lit(i(0)))],
        Collation::default(),
    );
    assert_eq!(run_w(&lazy), ("1".into(), vec![]));
    let lazy = Expr::Call(
        Func::Coalesce,
        vec![lit(i(2)), bin(Div, lit(i(1)), lit(i(0)))],
        Collation::default(),
    );
    assert_eq!(run_w(&lazy), ("2".into(), vec![]));
    assert_eq!(
        run(&Expr::Call(Func::Concat, vec![], Collation::default())),
        "ERROR 1582"
    );
}

fn ty(e: &Expr, input: &[SqlType]) -> (TypeKind, u32, u8, bool) {
    let t = e.ty(input);
    (t.kind, t.length, t.scale, t.unsigned)
}

#[test]
fn result_types() {
    let int = SqlType::new(TypeKind::Int);
    let dec = SqlType {
        length: 5,
        scale: 2,
        ..SqlType::new(TypeKind::Decimal)
    };
    let dbl = SqlType::new(TypeKind::Double);
    let (c0, c1) = (Expr::Column(0), Expr::Column(1));
    let cols = [int.clone(), dec.clone(), dbl];
    assert_eq!(
        ty(&bin(Div, lit(i(1)), lit(i(3))), &[]),
        (TypeKind::Decimal, 5, 4, false)
    );
    assert_eq!(
        ty(&bin(Mul, lit(d("1.5")), lit(i(2))), &[]),
        (TypeKind::Decimal, 3, 1, false)
    );
    assert_eq!(
        ty(&bin(Mul, c1.clone(), lit(i(2))), &cols),
        (TypeKind::Decimal, 6, 2, false)
    );
    assert_eq!(
        ty(&bin(Div, c1.clone(), lit(i(3))), &cols),
        (TypeKind::Decimal, 9, 6, false)
    );
    assert_eq!(
        ty(&bin(Mod, c1.clone(), lit(i(2))), &cols),
        (TypeKind::Decimal, 5, 2, false)
    );
    assert_eq!(
        ty(&bin(Add, c0.clone(), lit(i(1))), &cols).0,
        TypeKind::BigInt
    );
    assert_eq!(
        ty(&bin(Add, c0.clone(), Expr::Column(2)), &cols).0,
        TypeKind::Double
    );
    assert_eq!(
        ty(&bin(Add, c0.clone(), lit(s("1"))), &cols).0,
        TypeKind::Double
    );
    assert_eq!(
        ty(&bin(IntDiv, c1.clone(), lit(i(2))), &cols).0,
        TypeKind::BigInt
    );
    assert_eq!(
        ty(&bin(Eq, c0.clone(), lit(i(1))), &cols),
        (TypeKind::BigInt, 1, 0, false)
    );
    assert_eq!(
        ty(&bin(BitOr, c0.clone(), lit(i(1))), &cols),
        (TypeKind::BigInt, 21, 0, true)
    );
    let uint = SqlType {
        unsigned: true,
        ..SqlType::new(TypeKind::BigInt)
    };
    assert!(ty(&bin(Add, Expr::Column(0), lit(i(1))), &[uint]).3);
    let iff = Expr::Call(
        Func::If,
        vec![lit(i(1)), c0.clone(), c1.clone()],
        Collation::default(),
    );
    assert_eq!(ty(&iff, &cols), (TypeKind::Decimal, 12, 2, false));
    let case = Expr::Case {
        operand: None,
        whens: vec![(lit(i(1)), lit(s("s")))],
        otherwise: Some(Box::new(lit(i(1)))),
        collation: Collation::Utf8mb4GeneralCi,
    };
    assert_eq!(ty(&case, &[]).0, TypeKind::VarChar);
    assert_eq!(ty(&lit(s("abc")), &[]), (TypeKind::VarChar, 3, 0, false));
    assert_eq!(ty(&lit(i(12)), &[]), (TypeKind::BigInt, 2, 0, false));
    assert_eq!(ty(&lit(d("1.5")), &[]), (TypeKind::Decimal, 2, 1, false));
    assert_eq!(ty(&Expr::Column(9), &cols).0, TypeKind::Null);
    assert_eq!(ty(&call("NOW", &[]), &[]).0, TypeKind::DateTime);
    assert_eq!(
        ty(&call("CONCAT", &[s("ab"), i(1)]), &[]).0,
        TypeKind::VarChar
    );
}
