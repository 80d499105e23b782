//! Aggregate functions and their accumulators.
//!
//! An accumulator sees one argument value per row (NULLs are skipped, as
//! every MySQL aggregate but COUNT(*) does; COUNT(*) is COUNT over a
//! non-NULL constant) and yields the aggregate at the end. DISTINCT and
//! GROUP_CONCAT's ORDER BY are the caller's: it deduplicates or sorts the
//! input. SUM and AVG of exact values stay exact, as in MySQL: SUM of
//! integers is a DECIMAL, AVG adds four fraction digits.

use super::cast::{self, decimal_ops};
use super::eval::{self, compare, decimal_type};
use super::{EvalContext, Level};
use crate::result::SqlError;
use crate::types::{Collation, SqlType, TypeKind};
use codec::{Datum, Decimal};
use decimal_ops::Rounding;
use std::cmp::Ordering;

/// MySQL's default `group_concat_max_len`, in bytes.
pub const GROUP_CONCAT_MAX_LEN: usize = 1024;

/// An aggregate function.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// COUNT (non-NULL values).
    Count,
    /// SUM.
    Sum,
    /// AVG.
    Avg,
    /// MIN.
    Min,
    /// MAX.
    Max,
    /// BIT_AND.
    BitAnd,
    /// BIT_OR.
    BitOr,
    /// BIT_XOR.
    BitXor,
    /// GROUP_CONCAT (separator `,` unless [`Accumulator::with_separator`]).
    GroupConcat,
    /// STD / STDDEV / STDDEV_POP.
    StddevPop,
    /// STDDEV_SAMP.
    StddevSamp,
    /// VARIANCE / VAR_POP.
    VarPop,
    /// VAR_SAMP.
    VarSamp,
}

impl AggFunc {
    /// The aggregate named `name` (case-insensitive).
    pub fn lookup(name: &str) -> Option<AggFunc> {
        use AggFunc::*;
        Some(match name.to_ascii_uppercase().as_str() {
            "COUNT" => Count,
            "SUM" => Sum,
            "AVG" => Avg,
            "MIN" => Min,
            "MAX" => Max,
            "BIT_AND" => BitAnd,
            "BIT_OR" => BitOr,
            "BIT_XOR" => BitXor,
            "GROUP_CONCAT" => GroupConcat,
            "STD" | "STDDEV" | "STDDEV_POP" => StddevPop,
            "STDDEV_SAMP" => StddevSamp,
            "VARIANCE" | "VAR_POP" => VarPop,
            "VAR_SAMP" => VarSamp,
            _ => return None,
        })
    }

    /// MySQL's name, for messages.
    pub fn name(self) -> &'static str {
        use AggFunc::*;
        match self {
            Count => "count",
            Sum => "sum",
            Avg => "avg",
            Min => "min",
            Max => "max",
            BitAnd => "bit_and",
            BitOr => "bit_or",
            BitXor => "bit_xor",
            GroupConcat => "group_concat",
            StddevPop => "std",
            StddevSamp => "stddev_samp",
            VarPop => "variance",
            VarSamp => "var_samp",
        }
    }

    /// The type MySQL reports for the aggregate over `arg`: SUM of an
    /// integer or DECIMAL(p,s) is DECIMAL(p+22, s), AVG is DECIMAL(p+4, s+4),
    /// both DOUBLE over anything else.
    pub fn return_type(self, arg: &SqlType) -> SqlType {
        use AggFunc::*;
        let exact = arg.is_integer() || arg.kind == TypeKind::Decimal;
        let (precision, scale) = eval::decimal_shape(arg);
        match self {
            Count => SqlType {
                length: 21,
                ..SqlType::new(TypeKind::BigInt)
            },
            Sum if exact => decimal_type(precision + 22, scale),
            Avg if exact => decimal_type(precision + 4, scale + 4),
            Sum | Avg | StddevPop | StddevSamp | VarPop | VarSamp => SqlType::new(TypeKind::Double),
            Min | Max => arg.clone(),
            BitAnd | BitOr | BitXor => SqlType {
                unsigned: true,
                length: 21,
                ..SqlType::new(TypeKind::BigInt)
            },
            GroupConcat => {
                let binary = arg.collation == Collation::Binary && arg.is_string();
                let kind = if binary {
                    TypeKind::VarBinary
                } else {
                    TypeKind::VarChar
                };
                let collation = if arg.is_string() {
                    arg.collation
                } else {
                    Collation::Utf8mb4GeneralCi
                };
                SqlType {
                    length: GROUP_CONCAT_MAX_LEN as u32,
                    collation,
                    ..SqlType::new(kind)
                }
            }
        }
    }

    /// A fresh accumulator; `collation` decides MIN/MAX over strings.
    pub fn accumulator(self, collation: Collation) -> Accumulator {
        use AggFunc::*;
        let state = match self {
            Count => State::Count(0),
            Sum | Avg => State::Sum {
                sum: Total::Empty,
                count: 0,
            },
            Min | Max => State::Extreme(None),
            BitAnd => State::Bits(u64::MAX),
            BitOr | BitXor => State::Bits(0),
            GroupConcat => State::Concat {
                text: None,
                rows: 0,
                cut: false,
            },
            StddevPop | StddevSamp | VarPop | VarSamp => State::Moments {
                n: 0,
                mean: 0.0,
                m2: 0.0,
            },
        };
        Accumulator {
            func: self,
            collation,
            state,
            separator: b",".to_vec(),
        }
    }
}

/// A running sum, in the class its inputs need.
#[derive(Clone, Debug)]
enum Total {
    Empty,
    Int(i128),
    Dec(Decimal),
    Float(f64),
}

#[derive(Clone, Debug)]
enum State {
    Count(i64),
    Sum {
        sum: Total,
        count: u64,
    },
    Extreme(Option<Datum>),
    Bits(u64),
    Concat {
        text: Option<Vec<u8>>,
        rows: u64,
        cut: bool,
    },
    Moments {
        n: u64,
        mean: f64,
        m2: f64,
    },
}

/// The running state of one aggregate over one group.
#[derive(Clone, Debug)]
pub struct Accumulator {
    func: AggFunc,
    collation: Collation,
    state: State,
    separator: Vec<u8>,
}

impl Accumulator {
    /// GROUP_CONCAT's `SEPARATOR`.
    pub fn with_separator(mut self, separator: Vec<u8>) -> Self {
        self.separator = separator;
        self
    }

    /// Adds one row's argument value.
    pub fn update(&mut self, value: &Datum, ctx: &mut EvalContext<'_>) -> Result<(), SqlError> {
        if *value == Datum::Null {
            return Ok(());
        }
        match &mut self.state {
            State::Count(n) => *n += 1,
            State::Sum { sum, count } => {
                *count += 1;
                add(sum, value, self.func, ctx)?;
            }
            State::Extreme(best) => {
                let replace = match best {
                    None => true,
                    Some(current) => {
                        let order = compare(value, current, self.collation);
                        let want = if self.func == AggFunc::Max {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        };
                        order == Some(want)
                    }
                };
                if replace {
                    *best = Some(value.clone());
                }
            }
            State::Bits(acc) => {
                let Some(v) = eval::bits(value, ctx)? else {
                    return Ok(());
                };
                *acc = match self.func {
                    AggFunc::BitAnd => *acc & v,
                    AggFunc::BitOr => *acc | v,
                    _ => *acc ^ v,
                };
            }
            State::Concat { text, rows, cut } => {
                *rows += 1;
                if *cut {
                    return Ok(());
                }
                let piece = cast::as_text(value).unwrap_or_default();
                let out = text.get_or_insert_with(Vec::new);
                if *rows > 1 {
                    out.extend_from_slice(&self.separator);
                }
                out.extend_from_slice(&piece);
                if out.len() > GROUP_CONCAT_MAX_LEN {
                    // Cut at a character boundary, as MySQL counts bytes but
                    // never splits a character.
                    let keep =
                        cast::char_prefix(out, cast::char_count(&out[..GROUP_CONCAT_MAX_LEN]))
                            .len();
                    out.truncate(keep);
                    *cut = true;
                    cast::push_warning(
                        ctx,
                        Level::Warning,
                        1260,
                        format!("Row {rows} was cut by GROUP_CONCAT()"),
                    );
                }
            }
            State::Moments { n, mean, m2 } => {
                let Some(x) = cast::to_f64(value, ctx)? else {
                    return Ok(());
                };
                *n += 1;
                let delta = x - *mean;
                *mean += delta / *n as f64;
                *m2 += delta * (x - *mean);
            }
        }
        Ok(())
    }

    /// The aggregate: NULL over no values, except COUNT (0) and the BIT_
    /// functions (all ones for BIT_AND, zero otherwise).
    pub fn finish(self) -> Datum {
        match self.state {
            State::Count(n) => Datum::I64(n),
            State::Sum { sum, count } => match (self.func, sum) {
                (_, Total::Empty) => Datum::Null,
                (AggFunc::Sum, Total::Int(v)) => Datum::Decimal(decimal_ops::from_i128(v)),
                (AggFunc::Sum, Total::Dec(d)) => Datum::Decimal(d),
                (AggFunc::Sum, Total::Float(f)) => Datum::F64(f),
                (_, Total::Float(f)) => Datum::F64(f / count as f64),
                (_, Total::Int(v)) => average(&decimal_ops::from_i128(v), count),
                (_, Total::Dec(d)) => average(&d, count),
            },
            State::Extreme(best) => best.unwrap_or(Datum::Null),
            State::Bits(v) => Datum::U64(v),
            State::Concat { text, .. } => text.map_or(Datum::Null, Datum::Bytes),
            State::Moments { n, m2, .. } => {
                let sample = matches!(self.func, AggFunc::StddevSamp | AggFunc::VarSamp);
                let divisor = if sample { n.saturating_sub(1) } else { n };
                if divisor == 0 {
                    return Datum::Null;
                }
                let variance = m2 / divisor as f64;
                Datum::F64(if matches!(self.func, AggFunc::VarPop | AggFunc::VarSamp) {
                    variance
                } else {
                    variance.sqrt()
                })
            }
        }
    }
}

/// `sum / count` with four more fraction digits than the sum, rounded half
/// up.
fn average(sum: &Decimal, count: u64) -> Datum {
    let scale = (sum.scale() as u32 + 4).min(30);
    let count = decimal_ops::from_i128(count as i128);
    let quotient = decimal_ops::div(sum, &count, scale + 1)
        .and_then(|q| decimal_ops::round(&q, scale as i64, Rounding::HalfUp));
    quotient.map_or(Datum::Null, Datum::Decimal)
}

/// Adds a value to a running SUM/AVG: integers exactly (in 128 bits, then
/// as a DECIMAL), decimals exactly, anything else as doubles.
fn add(
    sum: &mut Total,
    value: &Datum,
    func: AggFunc,
    ctx: &mut EvalContext<'_>,
) -> Result<(), SqlError> {
    let overflow = || {
        SqlError::new(
            1690,
            "22003",
            format!("DECIMAL value is out of range in '{}'", func.name()),
        )
    };
    let as_decimal = |s: &Total| match s {
        Total::Int(v) => decimal_ops::from_i128(*v),
        Total::Dec(d) => *d,
        _ => decimal_ops::zero(),
    };
    let next = match (&*sum, value) {
        (Total::Float(f), v) => Total::Float(f + cast::to_f64(v, ctx)?.unwrap_or(0.0)),
        (Total::Empty | Total::Int(_), Datum::I64(_) | Datum::U64(_)) => {
            let current = if let Total::Int(v) = sum { *v } else { 0 };
            let v = match value {
                Datum::I64(v) => *v as i128,
                Datum::U64(v) => *v as i128,
                _ => 0,
            };
            match current.checked_add(v) {
                Some(total) => Total::Int(total),
                None => Total::Dec(
                    decimal_ops::add(&decimal_ops::from_i128(current), &decimal_ops::from_i128(v))
                        .ok_or_else(overflow)?,
                ),
            }
        }
        (
            s,
            Datum::I64(_)
            | Datum::U64(_)
            | Datum::Decimal(_)
            | Datum::Date(_)
            | Datum::DateTime(_)
            | Datum::Time(_),
        ) => {
            let v = cast::to_decimal(value, ctx)?.unwrap_or_else(decimal_ops::zero);
            Total::Dec(decimal_ops::add(&as_decimal(s), &v).ok_or_else(overflow)?)
        }
        (s, v) => {
            let current = match s {
                Total::Int(i) => *i as f64,
                Total::Dec(d) => decimal_ops::to_f64(d),
                _ => 0.0,
            };
            Total::Float(current + cast::to_f64(v, ctx)?.unwrap_or(0.0))
        }
    };
    *sum = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::eval::tests::{NULL, context, d, date, f, i, s, show, u};
    use std::collections::HashMap;

    /// Runs `func` over `values`: the result's text and the warnings' codes.
    fn over(func: AggFunc, values: &[Datum]) -> (String, Vec<u16>) {
        let vars = HashMap::new();
        let mut ctx = context(&vars);
        let mut acc = func.accumulator(Collation::Utf8mb4GeneralCi);
        for v in values {
            acc.update(v, &mut ctx).unwrap();
        }
        (
            show(&acc.finish()),
            ctx.warnings.iter().map(|w| w.code).collect(),
        )
    }

    fn value(func: AggFunc, values: &[Datum]) -> String {
        over(func, values).0
    }

    #[test]
    fn aggregates_match_mysql() {
        use AggFunc::*;
        let ints = [i(1), i(2), NULL, i(4)];
        let decs = [d("1.50"), d("2.25"), NULL, d("0.01")];
        let dbls = [f(0.1), f(0.2), NULL, f(0.3)];
        let strs = [s("b"), s("A"), NULL, s("a ")];
        let big = [u(u64::MAX), u(u64::MAX), NULL, u(1)];
        for (func, values, want) in [
            (Sum, &ints, "7"),
            (Avg, &ints, "2.3333"),
            (Sum, &decs, "3.76"),
            (Avg, &decs, "1.253333"),
            (Sum, &dbls, "0.6000000000000001"),
            (Avg, &dbls, "0.20000000000000004"),
            (Min, &strs, "A"),
            (Max, &strs, "b"),
            (Count, &strs, "3"),
            (BitAnd, &ints, "0"),
            (BitOr, &ints, "7"),
            (BitXor, &ints, "7"),
            (GroupConcat, &strs, "b,A,a "),
            (Sum, &big, "36893488147419103231"),
            (Avg, &big, "12297829382473034410.3333"),
            (StddevPop, &ints, "1.247219128924647"),
            (VarPop, &ints, "1.5555555555555554"),
            (VarSamp, &ints, "2.333333333333333"),
            (StddevSamp, &ints, "1.5275252316519465"),
            (Min, &ints, "1"),
            (Max, &decs, "2.25"),
        ] {
            assert_eq!(value(func, values), want, "{func:?}");
        }
        for (func, want) in [
            (Sum, "NULL"),
            (Avg, "NULL"),
            (Min, "NULL"),
            (Count, "0"),
            (BitAnd, "18446744073709551615"),
            (BitOr, "0"),
            (GroupConcat, "NULL"),
            (VarSamp, "NULL"),
        ] {
            assert_eq!(value(func, &[NULL]), want, "{func:?} over nothing");
        }
        assert_eq!(value(VarSamp, &[i(3)]), "NULL");
        assert_eq!(value(VarPop, &[i(3)]), "0");
        // Mixed inputs: a double turns the sum into a double.
        assert_eq!(value(Sum, &[i(1), d("0.5"), f(0.25)]), "1.75");
        assert_eq!(
            value(Sum, &[i(i64::MAX), i(i64::MAX)]),
            "18446744073709551614"
        );
        assert_eq!(over(Sum, &[s("1"), s("x")]), ("1".into(), vec![1292]));
        assert_eq!(value(Sum, &[date("2024-01-31")]), "20240131");
        assert_eq!(
            value(Max, &[date("2024-01-31"), date("2023-05-01")]),
            "2024-01-31"
        );
        assert_eq!(value(Avg, &[d("1"), d("2")]), "1.5000");
        let mut acc = GroupConcat
            .accumulator(Collation::Binary)
            .with_separator(b"-".to_vec());
        let vars = HashMap::new();
        let mut ctx = context(&vars);
        for v in [i(4), i(2), i(1)] {
            acc.update(&v, &mut ctx).unwrap();
        }
        assert_eq!(show(&acc.finish()), "4-2-1");
        let long: Vec<Datum> = (0..300).map(|n| s(&format!("{n:04}"))).collect();
        let (text, warnings) = over(GroupConcat, &long);
        assert_eq!((text.len(), warnings), (GROUP_CONCAT_MAX_LEN, vec![1260]));
        let err = {
            let mut acc = Sum.accumulator(Collation::Binary);
            let mut ctx = context(&vars);
            let max = d(&"9".repeat(65));
            acc.update(&max, &mut ctx).unwrap();
            acc.update(&max, &mut ctx).unwrap_err()
        };
        assert_eq!(err.code, 1690);
    }

    #[test]
    fn aggregate_types() {
        use AggFunc::*;
        let int = SqlType::new(TypeKind::Int);
        let dec = SqlType {
            length: 5,
            scale: 2,
            ..SqlType::new(TypeKind::Decimal)
        };
        let ubig = SqlType {
            unsigned: true,
            ..SqlType::new(TypeKind::BigInt)
        };
        let vc = SqlType {
            length: 10,
            ..SqlType::new(TypeKind::VarChar)
        };
        let shape = |t: SqlType| (t.kind, t.length, t.scale, t.unsigned);
        assert_eq!(
            shape(Sum.return_type(&int)),
            (TypeKind::Decimal, 32, 0, false)
        );
        assert_eq!(
            shape(Avg.return_type(&int)),
            (TypeKind::Decimal, 14, 4, false)
        );
        assert_eq!(
            shape(Sum.return_type(&dec)),
            (TypeKind::Decimal, 27, 2, false)
        );
        assert_eq!(
            shape(Avg.return_type(&dec)),
            (TypeKind::Decimal, 9, 6, false)
        );
        assert_eq!(
            shape(Sum.return_type(&ubig)),
            (TypeKind::Decimal, 42, 0, false)
        );
        assert_eq!(
            shape(Avg.return_type(&ubig)),
            (TypeKind::Decimal, 24, 4, false)
        );
        assert_eq!(
            Sum.return_type(&SqlType::new(TypeKind::Double)).kind,
            TypeKind::Double
        );
        assert_eq!(Sum.return_type(&vc).kind, TypeKind::Double);
        assert_eq!(
            shape(Count.return_type(&vc)),
            (TypeKind::BigInt, 21, 0, false)
        );
        assert_eq!(
            shape(BitOr.return_type(&int)),
            (TypeKind::BigInt, 21, 0, true)
        );
        assert_eq!(Min.return_type(&vc), vc);
        assert_eq!(GroupConcat.return_type(&int).kind, TypeKind::VarChar);
        assert_eq!(AggFunc::lookup("stddev"), Some(StddevPop));
        assert_eq!(AggFunc::lookup("group_concat"), Some(GroupConcat));
        assert_eq!(AggFunc::lookup("concat"), None);
    }
}
