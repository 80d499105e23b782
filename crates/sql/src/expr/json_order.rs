//! MySQL's order of JSON values, which comparisons with a JSON operand,
//! ORDER BY, GROUP BY, DISTINCT and MIN/MAX over JSON use instead of the
//! text's order: `JSON_ARRAY(1) = JSON_ARRAY(1.0)` is true, and `10` sorts
//! after `9`.
//!
//! Values of different JSON types order by the type's precedence, lowest
//! first: null, numbers, strings, objects, arrays, booleans. Within a type:
//! numbers by value (integers and decimals exactly), strings by their
//! UTF-8 bytes, arrays element by element (a prefix first), objects by size,
//! then key by key (equal exactly when keys and values are), booleans false
//! first. Values reach here as the JSON text columns store
//! ([`super::cast::json_text`]); an operand that is not JSON text was made
//! a JSON scalar by the planner ([`super::func::Func::ToJson`]).

use super::cast;
use super::eval::group_key_into;
use super::func::json::scalar;
use crate::types::Collation;
use codec::{Datum, Decimal};
use serde_json::Value;
use std::cmp::Ordering;

/// The order of two non-NULL values under [`Collation::Json`].
pub(crate) fn compare(a: &Datum, b: &Datum) -> Ordering {
    compare_values(&value(a), &value(b), true)
}

/// ORDER BY's order of two non-NULL JSON values: MySQL sorts by sort keys
/// in which an array or object is only its type and size, so `[2]` and
/// `[1]` tie where `<` orders them.
pub(crate) fn sort_compare(a: &Datum, b: &Datum) -> Ordering {
    compare_values(&value(a), &value(b), false)
}

/// Appends bytes that are equal exactly when [`compare`] finds two values
/// equal (GROUP BY, DISTINCT and IN-list hashing).
pub(crate) fn key_into(key: &mut Vec<u8>, d: &Datum) {
    write_key(key, &value(d));
}

/// A datum as a JSON value: JSON text parsed (text that is not JSON, which
/// a JSON column never holds, as a JSON string), anything else as a scalar.
fn value(d: &Datum) -> Value {
    match d {
        Datum::Bytes(b) => serde_json::from_slice(b)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
        other => scalar(other),
    }
}

/// The type's precedence, lowest first.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Object(_) => 3,
        Value::Array(_) => 4,
        Value::Bool(_) => 5,
    }
}

/// `deep`: arrays and objects by their contents; else by their size only.
fn compare_values(a: &Value, b: &Value, deep: bool) -> Ordering {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) if !deep => x.len().cmp(&y.len()),
        (Value::Object(x), Value::Object(y)) if !deep => x.len().cmp(&y.len()),
        (Value::Number(x), Value::Number(y)) => match (exact(x), exact(y)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (double(x), double(y));
                x.partial_cmp(&y).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(p, q)| compare_values(p, q, true))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Value::Object(x), Value::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|((k, p), (l, q))| k.cmp(l).then_with(|| compare_values(p, q, true)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// A JSON number's exact value; `None` beyond DECIMAL's 65 digits.
fn exact(n: &serde_json::Number) -> Option<Decimal> {
    cast::scan_number(n.as_str().as_bytes()).to_decimal()
}

fn double(n: &serde_json::Number) -> f64 {
    cast::scan_number(n.as_str().as_bytes()).to_f64()
}

fn write_key(key: &mut Vec<u8>, v: &Value) {
    key.push(rank(v));
    match v {
        Value::Null => {}
        Value::Bool(b) => key.push(*b as u8),
        Value::Number(n) => {
            let number = match exact(n) {
                Some(d) => Datum::Decimal(d),
                None => Datum::F64(double(n)),
            };
            group_key_into(key, &number, Collation::Binary);
        }
        Value::String(s) => write_bytes(key, s.as_bytes()),
        Value::Array(items) => {
            key.extend_from_slice(&(items.len() as u64).to_be_bytes());
            for item in items {
                write_key(key, item);
            }
        }
        Value::Object(map) => {
            key.extend_from_slice(&(map.len() as u64).to_be_bytes());
            for (k, item) in map {
                write_bytes(key, k.as_bytes());
                write_key(key, item);
            }
        }
    }
}

/// Length-prefixed, so that nested values cannot run into each other.
fn write_bytes(key: &mut Vec<u8>, b: &[u8]) {
    key.extend_from_slice(&(b.len() as u64).to_be_bytes());
    key.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::cast::decimal_ops;

    fn j(text: &str) -> Datum {
        Datum::Bytes(text.as_bytes().to_vec())
    }

    #[test]
    fn json_values_order_by_type_then_value() {
        let ascending = [
            "null",
            "-1",
            "1",
            "9.5",
            "10",
            "\"B\"",
            "\"a\"",
            "\"ab\"",
            "{}",
            "{\"a\": 1}",
            "[]",
            "[1]",
            "[1, 2]",
            "[2]",
            "false",
            "true",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(
                compare(&j(pair[0]), &j(pair[1])),
                Ordering::Less,
                "{pair:?}"
            );
            assert_ne!(key(pair[0]), key(pair[1]), "{pair:?}");
        }
    }

    fn key(text: &str) -> Vec<u8> {
        let mut k = Vec::new();
        key_into(&mut k, &j(text));
        k
    }

    #[test]
    fn equal_numbers_are_equal_whatever_their_text() {
        for (a, b) in [
            ("1", "1.0"),
            ("[1, {\"a\": 2}]", "[1.00, {\"a\": 2e0}]"),
            ("0", "-0.0"),
        ] {
            assert_eq!(compare(&j(a), &j(b)), Ordering::Equal, "{a} {b}");
            assert_eq!(key(a), key(b), "{a} {b}");
        }
        assert_eq!(compare(&j("1.5"), &Datum::I64(1)), Ordering::Greater);
        assert_eq!(sort_compare(&j("[2]"), &j("[1]")), Ordering::Equal);
        assert_eq!(sort_compare(&j("[2]"), &j("[1, 1]")), Ordering::Less);
        assert_eq!(
            compare(&j("2"), &Datum::Decimal(decimal_ops::from_i128(2))),
            Ordering::Equal
        );
    }
}
