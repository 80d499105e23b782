//! Property tests: for every key type, byte order of encodings equals value
//! order and decoding inverts encoding; the row format round-trips.
//!
//! Pairs are drawn two ways: independently, and as a value plus a near
//! neighbour (a small step, a shared prefix, an equal value spelled
//! differently), because independent draws almost never exercise the
//! tie-breaking deep inside an encoding.

use std::fmt::Debug;

use codec::datum::{decode_key, encode_key};
use codec::decimal::{decode_decimal, encode_decimal};
use codec::number::{decode_f64, decode_i64, decode_u64, encode_f64, encode_i64, encode_u64};
use codec::row::{RowView, encode_row};
use codec::time::{
    decode_date, decode_datetime, decode_time, encode_date, encode_datetime, encode_time,
};
use codec::{Date, DateTime, Datum, Decimal, Time, bytes};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;

const CASES: u32 = 10_000;
/// `838:59:59` in microseconds.
const MAX_TIME_MICROS: i64 = 3_020_399_000_000;

/// `a` and an independent `b`, or `a` and a neighbour of it.
fn pairs<T, S, N>(values: S, near: impl Fn(T) -> N + 'static) -> impl Strategy<Value = (T, T)>
where
    T: Clone + Debug + 'static,
    S: Strategy<Value = T> + Clone + 'static,
    N: Strategy<Value = T> + 'static,
{
    prop_oneof![
        (values.clone(), values.clone()),
        values.prop_flat_map(move |a| (Just(a.clone()), near(a))),
    ]
}

/// Value order and byte order agree, and both values decode back.
fn check<T: PartialOrd + Debug>(
    a: &T,
    b: &T,
    encode: impl Fn(&mut Vec<u8>, &T),
    decode: impl Fn(&[u8]) -> codec::Result<(T, &[u8])>,
) -> TestCaseResult {
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    encode(&mut ea, a);
    encode(&mut eb, b);
    prop_assert_eq!(a.partial_cmp(b), Some(ea.cmp(&eb)), "{:?} vs {:?}", a, b);
    for (value, bytes) in [(a, &ea), (b, &eb)] {
        let (back, rest) = decode(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&back, value);
    }
    Ok(())
}

fn i64s() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![any::<i64>(), -300i64..300, Just(i64::MIN), Just(i64::MAX)]
}

fn u64s() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        any::<u64>(),
        0u64..600,
        Just(u64::MAX),
        (1u64 << 63) - 2..(1u64 << 63) + 2
    ]
}

fn f64s() -> impl Strategy<Value = f64> + Clone {
    use proptest::num::f64::{INFINITE, NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO | INFINITE,
        -5.0f64..5.0,
    ]
    .prop_filter("NaN is unordered", |v| !v.is_nan())
}

fn byte_strings() -> impl Strategy<Value = Vec<u8>> + Clone {
    vec(prop_oneof![any::<u8>(), Just(0u8), Just(0xFFu8)], 0..40)
}

/// A decimal as sign, integer digits and fraction digits, so neighbours can be
/// made digit by digit; the fraction length is the scale.
#[derive(Clone, Debug)]
struct DecimalParts {
    negative: bool,
    int: Vec<u8>,
    frac: Vec<u8>,
}

impl DecimalParts {
    fn value(&self) -> Decimal {
        let mut text = String::from(if self.negative { "-0" } else { "0" });
        text.extend(self.int.iter().map(|d| char::from(b'0' + d)));
        if !self.frac.is_empty() {
            text.push('.');
            text.extend(self.frac.iter().map(|d| char::from(b'0' + d)));
        }
        text.parse().unwrap()
    }
}

fn digit() -> impl Strategy<Value = u8> + Clone {
    prop_oneof![3 => 0u8..10, 1 => Just(0u8), 1 => Just(9u8)]
}

fn decimal_parts() -> impl Strategy<Value = DecimalParts> + Clone {
    (0usize..=30)
        .prop_flat_map(|scale| {
            (
                any::<bool>(),
                vec(digit(), 0..=65 - scale),
                vec(digit(), scale),
            )
        })
        .prop_map(|(negative, int, frac)| DecimalParts {
            negative,
            int,
            frac,
        })
}

fn decimal_neighbour(a: DecimalParts) -> impl Strategy<Value = DecimalParts> {
    let (int_len, frac_len) = (a.int.len(), a.frac.len());
    (0..5u8, 0usize..66, digit(), 0usize..=30).prop_map(move |(op, at, d, n)| {
        let mut b = a.clone();
        match op {
            // Same value, another scale.
            0 => b.frac.resize(
                n.min(65 - int_len).max(frac_len - trailing_zeros(&a.frac)),
                0,
            ),
            1 => {
                let at = at % (int_len + frac_len).max(1);
                if at < int_len {
                    b.int[at] = d;
                } else if at - int_len < frac_len {
                    b.frac[at - int_len] = d;
                }
            }
            2 => b.negative = !b.negative,
            3 => b.frac.truncate(n.min(frac_len)),
            _ => {
                let at = at % (frac_len + 1);
                b.frac[at..].iter_mut().for_each(|x| *x = 9);
            }
        }
        b
    })
}

fn trailing_zeros(digits: &[u8]) -> usize {
    digits.iter().rev().take_while(|&&d| d == 0).count()
}

fn dates() -> impl Strategy<Value = Date> + Clone {
    (
        prop_oneof![0u16..=9999, 1999u16..2001, Just(0u16)],
        0u8..=12,
        0u8..=31,
    )
        .prop_filter_map("day past month end", |(y, m, d)| Date::new(y, m, d).ok())
}

fn date_neighbour(a: Date) -> impl Strategy<Value = Date> {
    (0u8..=12, 0u8..=31, any::<bool>()).prop_filter_map(
        "day past month end",
        move |(m, d, same_month)| {
            Date::new(a.year(), if same_month { a.month() } else { m }, d).ok()
        },
    )
}

fn times_of_day() -> impl Strategy<Value = (u8, u8, u8, u32)> + Clone {
    (
        0u8..24,
        0u8..60,
        0u8..60,
        prop_oneof![0u32..1_000_000, Just(0u32), Just(999_999u32)],
    )
}

fn datetimes() -> impl Strategy<Value = DateTime> + Clone {
    (dates(), times_of_day())
        .prop_map(|(date, (h, m, s, us))| DateTime::new(date, h, m, s, us).unwrap())
}

fn datetime_neighbour(a: DateTime) -> impl Strategy<Value = DateTime> {
    (times_of_day(), any::<bool>()).prop_map(move |((h, m, s, us), same_second)| {
        if same_second {
            DateTime::new(a.date(), a.hour(), a.minute(), a.second(), us).unwrap()
        } else {
            DateTime::new(a.date(), h, m, s, us).unwrap()
        }
    })
}

fn times() -> impl Strategy<Value = Time> + Clone {
    prop_oneof![
        -MAX_TIME_MICROS..=MAX_TIME_MICROS,
        -2_000_000i64..2_000_000,
        Just(MAX_TIME_MICROS),
        Just(-MAX_TIME_MICROS),
    ]
    .prop_map(|us| Time::from_packed(us).unwrap())
}

fn time_neighbour(a: Time) -> impl Strategy<Value = Time> {
    (-3i64..=3).prop_map(move |d| Time::from_packed(a.to_packed() + d).unwrap_or(a))
}

/// A non-NULL value of one of the nine kinds (`kind` 0..8), or NULL for 8.
fn datum_of(kind: u8) -> BoxedStrategy<Datum> {
    match kind {
        0 => i64s().prop_map(Datum::I64).boxed(),
        1 => u64s().prop_map(Datum::U64).boxed(),
        2 => f64s().prop_map(Datum::F64).boxed(),
        3 => byte_strings().prop_map(Datum::Bytes).boxed(),
        4 => decimal_parts()
            .prop_map(|p| Datum::Decimal(p.value()))
            .boxed(),
        5 => dates().prop_map(Datum::Date).boxed(),
        6 => datetimes().prop_map(Datum::DateTime).boxed(),
        7 => times().prop_map(Datum::Time).boxed(),
        _ => Just(Datum::Null).boxed(),
    }
}

/// A value for a column of `kind`, NULL a fifth of the time.
fn column_value(kind: u8) -> BoxedStrategy<Datum> {
    prop_oneof![1 => Just(Datum::Null), 4 => datum_of(kind)].boxed()
}

/// Two keys over one schema of 1..4 columns, sharing a random prefix.
fn key_pairs() -> impl Strategy<Value = (Vec<Datum>, Vec<Datum>)> {
    vec(0u8..8, 1..=4).prop_flat_map(|kinds| {
        let row: Vec<_> = kinds.iter().map(|&k| column_value(k)).collect();
        (row.clone(), row, 0..=kinds.len()).prop_map(|(a, mut b, shared)| {
            b[..shared].clone_from_slice(&a[..shared]);
            (a, b)
        })
    })
}

fn column_ids() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 0i64..40, 2 => 0i64..600, 1 => 0..=u32::MAX as i64]
}

/// Any value a row can hold, NaN included: rows store floats bit for bit.
fn row_datum() -> impl Strategy<Value = Datum> {
    prop_oneof![
        8 => (0u8..9).prop_flat_map(datum_of),
        1 => any::<u64>().prop_map(|bits| Datum::F64(f64::from_bits(bits))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn i64_order_and_round_trip((a, b) in pairs(i64s(), |a: i64| (-3i64..=3).prop_map(move |d| a.saturating_add(d)))) {
        check(&a, &b, |buf, v| encode_i64(buf, *v), decode_i64)?;
    }

    #[test]
    fn u64_order_and_round_trip((a, b) in pairs(u64s(), |a: u64| (-3i64..=3).prop_map(move |d| a.saturating_add_signed(d)))) {
        check(&a, &b, |buf, v| encode_u64(buf, *v), decode_u64)?;
    }

    #[test]
    fn f64_order_and_round_trip((a, b) in pairs(f64s(), |a: f64| prop_oneof![Just(a.next_up()), Just(a.next_down()), Just(-a)])) {
        check(&a, &b, |buf, v| encode_f64(buf, *v), decode_f64)?;
        let mut buf = Vec::new();
        encode_f64(&mut buf, a);
        let back = decode_f64(&buf).unwrap().0;
        prop_assert!(back.to_bits() == a.to_bits() || a == 0.0);
    }

    #[test]
    fn bytes_order_and_round_trip((a, b) in pairs(byte_strings(), |a: Vec<u8>| {
        (0..3u8, any::<u8>()).prop_map(move |(op, x)| {
            let mut b = a.clone();
            match op {
                0 => b.push(x),
                1 => { b.pop(); }
                _ => if let Some(last) = b.last_mut() { *last = x },
            }
            b
        })
    })) {
        check(&a, &b, |buf, v| bytes::encode_bytes(buf, v), bytes::decode_bytes)?;
    }

    #[test]
    fn decimal_order_and_round_trip((a, b) in pairs(decimal_parts(), decimal_neighbour)) {
        let (a, b) = (a.value(), b.value());
        check(&a, &b, encode_decimal, decode_decimal)?;
        let mut buf = Vec::new();
        encode_decimal(&mut buf, &a);
        let back = decode_decimal(&buf).unwrap().0;
        prop_assert_eq!(back.rescale(a.scale()).unwrap().to_string(), a.to_string());
        prop_assert_eq!(a.to_string().parse::<Decimal>().unwrap().to_string(), a.to_string());
    }

    #[test]
    fn date_order_and_round_trip((a, b) in pairs(dates(), date_neighbour)) {
        check(&a, &b, |buf, v| encode_date(buf, *v), decode_date)?;
        prop_assert_eq!(a.to_string().parse::<Date>().unwrap(), a);
    }

    #[test]
    fn datetime_order_and_round_trip((a, b) in pairs(datetimes(), datetime_neighbour)) {
        check(&a, &b, |buf, v| encode_datetime(buf, *v), decode_datetime)?;
        prop_assert_eq!(a.to_string().parse::<DateTime>().unwrap(), a);
        prop_assert_eq!(a.format(6).parse::<DateTime>().unwrap(), a);
    }

    #[test]
    fn time_order_and_round_trip((a, b) in pairs(times(), time_neighbour)) {
        check(&a, &b, |buf, v| encode_time(buf, *v), decode_time)?;
        prop_assert_eq!(a.to_string().parse::<Time>().unwrap(), a);
        let parts = Time::new(a.is_negative(), a.hours(), a.minutes(), a.seconds(), a.micro()).unwrap();
        prop_assert_eq!(parts, a);
    }

    #[test]
    fn composite_key_order_and_round_trip((a, b) in key_pairs()) {
        let (mut ea, mut eb) = (Vec::new(), Vec::new());
        encode_key(&mut ea, &a);
        encode_key(&mut eb, &b);
        // Vec's order is column by column, and Datum::Null is the least value.
        prop_assert_eq!(a.partial_cmp(&b), Some(ea.cmp(&eb)), "{:?} vs {:?}", a, b);
        prop_assert_eq!(decode_key(&ea).unwrap(), a);
        prop_assert_eq!(decode_key(&eb).unwrap(), b);
    }

    #[test]
    fn row_round_trip_and_single_column_reads(
        columns in btree_map(column_ids(), row_datum(), 0..24)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>())
            .prop_shuffle(),
        probes in vec(column_ids(), 8),
    ) {
        let input: Vec<(i64, &Datum)> = columns.iter().map(|(id, d)| (*id, d)).collect();
        let mut row = Vec::new();
        encode_row(&mut row, &input).unwrap();
        let view = RowView::new(&row).unwrap();
        let mut sorted = columns.clone();
        sorted.sort_by_key(|c| c.0);
        // Debug text tells scales, -0.0 and NaN apart, which == would not.
        prop_assert_eq!(format!("{:?}", view.decode_all().unwrap()), format!("{sorted:?}"));
        for id in probes.iter().chain(sorted.iter().map(|c| &c.0)) {
            let expected = sorted.iter().find(|c| c.0 == *id).map(|c| &c.1);
            prop_assert_eq!(format!("{:?}", view.get(*id).unwrap()), format!("{expected:?}"));
        }
    }
}

#[test]
fn generator_bounds_are_the_type_limits() {
    let widest = DecimalParts {
        negative: true,
        int: vec![9; 35],
        frac: vec![9; 30],
    };
    assert_eq!(
        widest.value().to_string(),
        format!("-{}.{}", "9".repeat(35), "9".repeat(30))
    );
    assert_eq!(
        Time::from_packed(MAX_TIME_MICROS).unwrap().to_string(),
        "838:59:59"
    );
}
