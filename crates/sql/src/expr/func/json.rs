//! JSON functions over JSON text (the form JSON columns store, normalized by
//! [`cast::json_text`]): JSON_TYPE, JSON_VALID, JSON_LENGTH, JSON_EXTRACT,
//! JSON_UNQUOTE, JSON_KEYS, JSON_CONTAINS, JSON_OBJECT, JSON_ARRAY,
//! JSON_QUOTE, JSON_SET, JSON_INSERT, JSON_REPLACE, JSON_REMOVE,
//! JSON_ARRAY_APPEND.
//!
//! Paths are `$` followed by `.key`, `."key"` and `[n]` steps (no
//! wildcards yet). SQL values become JSON scalars; a string argument is a
//! JSON string unless the planner marked it a JSON document ([`JsonArgs`]).

use super::{Func, JsonArgs};
use crate::expr::cast;
use crate::result::SqlError;
use codec::Datum;
use serde_json::Value;

/// One step of a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

/// Evaluate one of the JSON functions.
pub(super) fn eval(func: Func, args: &[Datum]) -> Result<Datum, SqlError> {
    use Func::*;
    match func {
        JsonObject(kinds) => {
            let mut map = serde_json::Map::new();
            for (n, pair) in args.chunks(2).enumerate() {
                let Some(key) = cast::as_text(&pair[0]) else {
                    return Err(SqlError::new(
                        3158,
                        "22032",
                        "JSON documents may not contain NULL member names.",
                    ));
                };
                let value = pair
                    .get(1)
                    .map_or(Value::Null, |v| member(v, kinds, 2 * n + 1));
                map.insert(String::from_utf8_lossy(&key).into_owned(), value);
            }
            return Ok(json(&Value::Object(map)));
        }
        JsonArray(kinds) => {
            let values = args.iter().enumerate().map(|(n, v)| member(v, kinds, n));
            return Ok(json(&Value::Array(values.collect())));
        }
        JsonQuote => {
            return Ok(match cast::as_text(&args[0]) {
                Some(s) => json(&Value::String(String::from_utf8_lossy(&s).into_owned())),
                None => Datum::Null,
            });
        }
        JsonValid => {
            return Ok(match cast::as_text(&args[0]) {
                Some(s) => Datum::I64(serde_json::from_slice::<Value>(&s).is_ok() as i64),
                None => Datum::Null,
            });
        }
        ToJson(kinds) => {
            return Ok(match &args[0] {
                Datum::Null => Datum::Null,
                d => json(&member(d, kinds, 0)),
            });
        }
        JsonUnquote => {
            let Some(s) = cast::as_text(&args[0]) else {
                return Ok(Datum::Null);
            };
            return Ok(match serde_json::from_slice::<Value>(&s) {
                Ok(Value::String(inner)) if s.first() == Some(&b'"') => {
                    Datum::Bytes(inner.into_bytes())
                }
                _ => Datum::Bytes(s.into_owned()),
            });
        }
        _ => {}
    }
    let name = func.name();
    let Some(mut doc) = document(&args[0], 1, name)? else {
        return Ok(Datum::Null);
    };
    Ok(match func {
        JsonType => {
            let t = match &doc {
                Value::Object(_) => "OBJECT",
                Value::Array(_) => "ARRAY",
                Value::String(_) => "STRING",
                Value::Bool(_) => "BOOLEAN",
                Value::Null => "NULL",
                Value::Number(n) if n.is_i64() => "INTEGER",
                Value::Number(n) if n.is_u64() => "UNSIGNED INTEGER",
                Value::Number(_) => "DOUBLE",
            };
            Datum::Bytes(t.as_bytes().to_vec())
        }
        JsonLength | JsonKeys => {
            let target = match args.get(1) {
                Some(p) => match path(p, name)?.and_then(|p| lookup(&doc, &p).cloned()) {
                    Some(v) => v,
                    None => return Ok(Datum::Null),
                },
                None => doc,
            };
            match (func, &target) {
                (JsonKeys, Value::Object(map)) => {
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
                    json(&Value::Array(
                        keys.into_iter().map(|k| Value::String(k.clone())).collect(),
                    ))
                }
                (JsonKeys, _) => Datum::Null,
                (_, Value::Object(map)) => Datum::I64(map.len() as i64),
                (_, Value::Array(items)) => Datum::I64(items.len() as i64),
                _ => Datum::I64(1),
            }
        }
        JsonExtract => {
            let paths = args[1..]
                .iter()
                .map(|p| path(p, name))
                .collect::<Result<Option<Vec<_>>, _>>()?;
            let Some(paths) = paths else {
                return Ok(Datum::Null);
            };
            let mut found: Vec<Value> = paths
                .iter()
                .filter_map(|p| lookup(&doc, p).cloned())
                .collect();
            match (paths.len(), found.len()) {
                (_, 0) => Datum::Null,
                (1, _) => json(&found.remove(0)),
                _ => json(&Value::Array(found)),
            }
        }
        JsonContains => {
            let Some(candidate) = document(&args[1], 2, name)? else {
                return Ok(Datum::Null);
            };
            let target = match args.get(2) {
                Some(p) => match path(p, name)?.and_then(|p| lookup(&doc, &p).cloned()) {
                    Some(v) => v,
                    None => return Ok(Datum::Null),
                },
                None => doc,
            };
            Datum::I64(contains(&target, &candidate) as i64)
        }
        JsonSet(kinds) | JsonInsert(kinds) | JsonReplace(kinds) | JsonArrayAppend(kinds) => {
            for (n, pair) in args[1..].chunks(2).enumerate() {
                let Some(steps) = path(&pair[0], name)? else {
                    return Ok(Datum::Null);
                };
                let value = pair
                    .get(1)
                    .map_or(Value::Null, |v| member(v, kinds, 2 * n + 2));
                if matches!(func, JsonArrayAppend(_)) {
                    if let Some(slot) = lookup_mut(&mut doc, &steps) {
                        match slot {
                            Value::Array(items) => items.push(value),
                            other => *other = Value::Array(vec![other.take(), value]),
                        }
                    }
                } else {
                    write(&mut doc, &steps, value, func);
                }
            }
            json(&doc)
        }
        JsonRemove => {
            for p in &args[1..] {
                let Some(steps) = path(p, name)? else {
                    return Ok(Datum::Null);
                };
                let Some((last, parent)) = steps.split_last() else {
                    return Err(SqlError::new(
                        3153,
                        "42000",
                        "The path expression '$' is not allowed in this context.",
                    ));
                };
                match (lookup_mut(&mut doc, parent), last) {
                    (Some(Value::Object(map)), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
            json(&doc)
        }
        _ => Datum::Null,
    })
}

/// JSON text of a value, as a datum.
fn json(v: &Value) -> Datum {
    Datum::Bytes(cast::json_text(v).into_bytes())
}

/// Argument `n` of JSON_ARRAY / JSON_OBJECT as a JSON value.
fn member(d: &Datum, kinds: JsonArgs, n: usize) -> Value {
    let bit = |mask: u64| n < 64 && mask & (1 << n) != 0;
    match d {
        Datum::Null => Value::Null,
        _ if bit(kinds.boolean) => Value::Bool(crate::expr::eval::truthy(d)),
        _ if bit(kinds.json) => cast::as_text(d)
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_else(|| scalar(d)),
        _ => scalar(d),
    }
}

/// A SQL value as a JSON scalar. Numbers go through their text, which the
/// JSON number keeps (serde_json's `arbitrary_precision`): a DECIMAL keeps
/// its digits and scale, a DOUBLE is laid out as MySQL prints it. A DATETIME
/// or TIME shows six fractional digits, as MySQL's JSON does.
pub(crate) fn scalar(d: &Datum) -> Value {
    let number = |text: String| serde_json::from_str(&text).unwrap_or(Value::Null);
    match d {
        Datum::Null => Value::Null,
        Datum::I64(v) => Value::from(*v),
        Datum::U64(v) => Value::from(*v),
        Datum::F64(v) => number(cast::json_double(*v)),
        Datum::Decimal(_) => number(cast::to_text(d)),
        Datum::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Datum::DateTime(v) => Value::String(v.format(6)),
        Datum::Time(v) => Value::String(v.format(6)),
        Datum::Date(v) => Value::String(v.to_string()),
    }
}

/// Argument `n` (1-based) parsed as a JSON document; None for NULL, error
/// 3141 for text that is not JSON.
fn document(d: &Datum, n: usize, func: &str) -> Result<Option<Value>, SqlError> {
    let Some(text) = cast::as_text(d) else {
        return Ok(None);
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        SqlError::new(
            3141,
            "22032",
            format!("Invalid JSON text in argument {n} to function {func}: \"{e}\"."),
        )
    })
}

/// A path argument; None for NULL, error 3143 for a malformed path.
fn path(d: &Datum, func: &str) -> Result<Option<Vec<Step>>, SqlError> {
    let Some(text) = cast::as_text(d) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&text).into_owned();
    let bad = || {
        SqlError::new(
            3143,
            "42000",
            format!(
                "Invalid JSON path expression. The error is around character position 0 in '{text}' ({func})."
            ),
        )
    };
    let mut rest = text.trim().strip_prefix('$').ok_or_else(bad)?.trim_start();
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            if let Some(quoted) = r.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(bad)?;
                steps.push(Step::Key(quoted[..end].to_string()));
                rest = &quoted[end + 1..];
            } else {
                let end = r
                    .find(|c: char| c == '.' || c == '[' || c.is_whitespace())
                    .unwrap_or(r.len());
                if end == 0 {
                    return Err(bad());
                }
                steps.push(Step::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let index = r[..end].trim().parse::<usize>().map_err(|_| bad())?;
            steps.push(Step::Index(index));
            rest = &r[end + 1..];
        } else {
            return Err(bad());
        }
        rest = rest.trim_start();
    }
    Ok(Some(steps))
}

fn lookup<'v>(doc: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(doc, |v, step| match (v, step) {
        (Value::Object(map), Step::Key(k)) => map.get(k),
        (Value::Array(items), Step::Index(i)) => items.get(*i),
        // A scalar is an array of itself for `[0]`.
        (scalar, Step::Index(0)) => Some(scalar),
        _ => None,
    })
}

fn lookup_mut<'v>(doc: &'v mut Value, steps: &[Step]) -> Option<&'v mut Value> {
    steps.iter().try_fold(doc, |v, step| match (v, step) {
        (Value::Object(map), Step::Key(k)) => map.get_mut(k),
        (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
        (scalar, Step::Index(0)) => Some(scalar),
        _ => None,
    })
}

/// JSON_SET (replace or add), JSON_INSERT (add only), JSON_REPLACE
/// (replace only) of one path.
fn write(doc: &mut Value, steps: &[Step], value: Value, func: Func) {
    if let Some(slot) = lookup_mut(doc, steps) {
        if !matches!(func, Func::JsonInsert(_)) {
            *slot = value;
        }
        return;
    }
    if matches!(func, Func::JsonReplace(_)) {
        return;
    }
    let Some((last, parent)) = steps.split_last() else {
        return;
    };
    match (lookup_mut(doc, parent), last) {
        (Some(Value::Object(map)), Step::Key(k)) => {
            map.insert(k.clone(), value);
        }
        (Some(Value::Array(items)), Step::Index(_)) => items.push(value),
        (Some(other), Step::Index(_)) => *other = Value::Array(vec![other.take(), value]),
        _ => {}
    }
}

/// JSON_CONTAINS: whether `candidate` is contained in `target`.
fn contains(target: &Value, candidate: &Value) -> bool {
    match (target, candidate) {
        (Value::Array(items), Value::Array(wanted)) => {
            wanted.iter().all(|w| items.iter().any(|i| contains(i, w)))
        }
        (Value::Array(items), other) => items.iter().any(|i| contains(i, other)),
        (Value::Object(map), Value::Object(wanted)) => wanted
            .iter()
            .all(|(k, w)| map.get(k).is_some_and(|v| contains(v, w))),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}
