//! Evaluating bound expressions, MySQL's operators, and how values compare.
//!
//! Arithmetic follows MySQL's type rules: integers stay integers (with
//! overflow errors, and UNSIGNED as soon as one operand is), DECIMAL stays
//! exact, anything involving a DOUBLE or a string is computed in double.
//! `/` on exact values gives a DECIMAL with four more fraction digits
//! (`div_precision_increment`); like MySQL, the quotient keeps nine digits
//! internally so `2/3*100` is `66.6667`, and is rounded to its declared
//! scale only when it leaves the arithmetic.
//!
//! Comparisons pick one comparison type for both sides (integers exactly,
//! decimals exactly, dates as dates, strings by collation, anything else as
//! doubles); [`compare`] applies the same rules to values the executor
//! sorts or groups, and [`group_key`] turns a value into bytes that are
//! equal exactly when the values compare equal.

use super::cast::{self, decimal_ops, temporal};
use super::func::Func;
use super::{BinaryOp, EvalContext, Expr, Level, UnaryOp};
use crate::error;
use crate::result::SqlError;
use crate::types::{Collation, SqlType, TypeKind};
use codec::{Datum, Decimal};
use decimal_ops::Rounding;
use std::cmp::Ordering;

impl Expr {
    /// Evaluates the expression against `row` (the planner's column
    /// positions), with MySQL's conversions, warnings and errors.
    pub fn eval(&self, row: &[Datum], ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
        match self {
            Expr::Literal(d) => Ok(d.clone()),
            Expr::Column(i) => row.get(*i).cloned().ok_or_else(|| {
                error::internal(format!(
                    "column #{i} is not in a row of {} values",
                    row.len()
                ))
            }),
            Expr::Outer(r) => ctx
                .outer_rows
                .len()
                .checked_sub(r.depth)
                .and_then(|i| ctx.outer_rows[i].get(r.column))
                .cloned()
                .ok_or_else(|| error::internal("an outer column read outside its subquery")),
            Expr::UserVar(name) => Ok(ctx.user_vars.get(name).cloned().unwrap_or(Datum::Null)),
            Expr::Param(i, _) => {
                ctx.params_read = true;
                ctx.params.get(*i).cloned().ok_or_else(|| {
                    SqlError::new(1210, "HY000", "Incorrect arguments to mysqld_stmt_execute")
                })
            }
            Expr::Unary(UnaryOp::Neg, _) => {
                let (v, scale) = self.eval_exact(row, ctx)?;
                Ok(to_declared_scale(v, scale))
            }
            Expr::Binary { op, .. } if is_arithmetic(*op) => {
                let (v, scale) = self.eval_exact(row, ctx)?;
                Ok(to_declared_scale(v, scale))
            }
            Expr::Unary(UnaryOp::Not, e) => {
                let v = e.eval(row, ctx)?;
                Ok(truth(&v, ctx)?.map_or(Datum::Null, |b| bool_datum(!b)))
            }
            Expr::Unary(UnaryOp::BitNot, e) => {
                let v = e.eval(row, ctx)?;
                Ok(bits(&v, ctx)?.map_or(Datum::Null, |b| Datum::U64(!b)))
            }
            Expr::Binary {
                op,
                left,
                right,
                collation,
            } => eval_binary(*op, left, right, *collation, row, ctx),
            Expr::IsNull { expr, negated } => Ok(bool_datum(
                (expr.eval(row, ctx)? == Datum::Null) != *negated,
            )),
            Expr::IsBool {
                expr,
                value,
                negated,
            } => {
                let v = expr.eval(row, ctx)?;
                Ok(bool_datum((truth(&v, ctx)? == Some(*value)) != *negated))
            }
            Expr::InList {
                expr,
                list,
                negated,
                collation,
            } => {
                let v = expr.eval(row, ctx)?;
                if v == Datum::Null {
                    return Ok(Datum::Null);
                }
                let mut saw_null = false;
                for item in list {
                    let candidate = item.eval(row, ctx)?;
                    match compare_values(&v, &candidate, *collation, ctx)? {
                        Some(Ordering::Equal) => return Ok(bool_datum(!*negated)),
                        None => saw_null = true,
                        Some(_) => {}
                    }
                }
                Ok(if saw_null {
                    Datum::Null
                } else {
                    bool_datum(*negated)
                })
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
                collation,
            } => {
                let v = expr.eval(row, ctx)?;
                let lo = low.eval(row, ctx)?;
                let hi = high.eval(row, ctx)?;
                let above = compare_values(&v, &lo, *collation, ctx)?.map(|o| o != Ordering::Less);
                let below =
                    compare_values(&v, &hi, *collation, ctx)?.map(|o| o != Ordering::Greater);
                Ok(match and3(above, below) {
                    Some(b) => bool_datum(b != *negated),
                    None => Datum::Null,
                })
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                collation,
            } => {
                let v = expr.eval(row, ctx)?;
                let p = pattern.eval(row, ctx)?;
                let (Some(text), Some(pat)) = (cast::as_text(&v), cast::as_text(&p)) else {
                    return Ok(Datum::Null);
                };
                Ok(bool_datum(
                    like(&text, &pat, *escape, *collation) != *negated,
                ))
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
                collation,
            } => {
                let subject = match operand {
                    Some(e) => Some(e.eval(row, ctx)?),
                    None => None,
                };
                for (when, then) in whens {
                    let w = when.eval(row, ctx)?;
                    let hit = match &subject {
                        Some(s) => compare_values(s, &w, *collation, ctx)? == Some(Ordering::Equal),
                        None => truth(&w, ctx)? == Some(true),
                    };
                    if hit {
                        return then.eval(row, ctx);
                    }
                }
                match otherwise {
                    Some(e) => e.eval(row, ctx),
                    None => Ok(Datum::Null),
                }
            }
            Expr::Cast(e, ty) => {
                let v = e.eval(row, ctx)?;
                cast::cast(v, ty, ctx)
            }
            Expr::Collate(e, _) => e.eval(row, ctx),
            Expr::Call(func, args, collation) => eval_call(*func, args, *collation, row, ctx),
            Expr::Subquery(_) => Err(crate::error::internal(
                "a subquery was not run before its statement",
            )),
        }
    }

    /// Evaluates arithmetic without rounding DECIMAL quotients to their
    /// declared scale; also returns that declared scale (for DECIMAL
    /// results), so enclosing arithmetic computes on the precise value and
    /// [`Expr::eval`] rounds once at the end.
    fn eval_exact(
        &self,
        row: &[Datum],
        ctx: &mut EvalContext<'_>,
    ) -> Result<(Datum, u8), SqlError> {
        match self {
            Expr::Binary {
                op, left, right, ..
            } if is_arithmetic(*op) => {
                let (l, ls) = left.eval_exact(row, ctx)?;
                let (r, rs) = right.eval_exact(row, ctx)?;
                arithmetic(*op, l, ls, r, rs, ctx)
            }
            Expr::Unary(UnaryOp::Neg, e) => {
                let (v, scale) = e.eval_exact(row, ctx)?;
                Ok((negate(v, ctx)?, scale))
            }
            other => {
                let v = other.eval(row, ctx)?;
                let scale = declared_scale(&v);
                Ok((v, scale))
            }
        }
    }

    /// The type MySQL reports for this expression's result, given the types
    /// of the input row's columns (for result-set column definitions).
    pub fn ty(&self, input: &[SqlType]) -> SqlType {
        match self {
            Expr::Literal(d) => literal_type(d),
            Expr::Param(_, ty) => ty.clone(),
            Expr::Subquery(sq) => match sq.kind {
                super::SubqueryKind::Scalar => sq.ty.clone(),
                _ => SqlType::new(TypeKind::BigInt),
            },
            Expr::Column(i) => input
                .get(*i)
                .cloned()
                .unwrap_or_else(|| SqlType::new(TypeKind::Null)),
            Expr::Outer(r) => r.ty.clone(),
            Expr::UserVar(_) => SqlType {
                length: 16_777_216,
                ..SqlType::new(TypeKind::Text)
            },
            Expr::Unary(UnaryOp::Neg, e) => {
                let t = e.ty(input);
                match class(&t) {
                    Class::Int => SqlType {
                        length: t.length + 1,
                        ..SqlType::new(TypeKind::BigInt)
                    },
                    Class::Decimal => decimal_type(t.length, t.scale as u32),
                    Class::Double => SqlType::new(TypeKind::Double),
                }
            }
            Expr::Unary(UnaryOp::BitNot, _) => bits_type(),
            Expr::Binary {
                op, left, right, ..
            } => binary_type(*op, &left.ty(input), &right.ty(input)),
            Expr::Unary(UnaryOp::Not, _)
            | Expr::IsNull { .. }
            | Expr::IsBool { .. }
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. } => bool_type(),
            Expr::Case {
                whens, otherwise, ..
            } => {
                let mut types: Vec<SqlType> =
                    whens.iter().map(|(_, then)| then.ty(input)).collect();
                if let Some(e) = otherwise {
                    types.push(e.ty(input));
                }
                merge_types(&types)
            }
            // CAST AS CHAR / BINARY without a length: as long as the value's text.
            Expr::Cast(e, ty)
                if matches!(ty.kind, TypeKind::VarChar | TypeKind::VarBinary)
                    && ty.length == u32::MAX =>
            {
                SqlType {
                    length: text_length(&e.ty(input)),
                    ..ty.clone()
                }
            }
            Expr::Cast(_, ty) => ty.clone(),
            Expr::Collate(e, _) => e.ty(input),
            Expr::Call(func, args, collation) => {
                let types: Vec<SqlType> = args.iter().map(|a| a.ty(input)).collect();
                let mut ty = func.return_type_of(args, &types);
                // Text results are in the collation the arguments settled on.
                if matches!(ty.kind, TypeKind::Char | TypeKind::VarChar | TypeKind::Text) {
                    ty.collation = *collation;
                }
                ty
            }
        }
    }
}

/// `+ - * / DIV %`.
fn is_arithmetic(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::IntDiv
            | BinaryOp::Mod
    )
}

/// `1`/`0` as MySQL returns booleans.
pub(crate) fn bool_datum(b: bool) -> Datum {
    Datum::I64(b as i64)
}

/// The declared DECIMAL scale of a value that carries its own: decimals,
/// and datetimes and times with microseconds (which compute as
/// `YYYYMMDDhhmmss.ffffff`).
fn declared_scale(d: &Datum) -> u8 {
    match d {
        Datum::Decimal(v) => v.scale(),
        Datum::DateTime(v) if v.micro() != 0 => 6,
        Datum::Time(v) if v.micro() != 0 => 6,
        _ => 0,
    }
}

/// Rounds a DECIMAL computed with extra digits to its declared scale.
fn to_declared_scale(v: Datum, scale: u8) -> Datum {
    match v {
        Datum::Decimal(d) if d.scale() > scale => {
            Datum::Decimal(decimal_ops::round(&d, scale as i64, Rounding::HalfUp).unwrap_or(d))
        }
        other => other,
    }
}

/// Three-valued AND.
fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// A value's truth as MySQL tests it: non-zero numbers are true, strings
/// are read as numbers (warning when they are not), NULL is unknown.
pub fn truth(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<bool>, SqlError> {
    Ok(Some(match d {
        Datum::Null => return Ok(None),
        Datum::I64(v) => *v != 0,
        Datum::U64(v) => *v != 0,
        Datum::F64(v) => *v != 0.0,
        Datum::Decimal(v) => !decimal_ops::is_zero(v),
        Datum::Bytes(_) => cast::to_f64(d, ctx)?.is_some_and(|v| v != 0.0),
        Datum::Date(v) => v.to_packed() != 0,
        Datum::DateTime(v) => v.to_packed() != 0,
        Datum::Time(v) => v.to_packed() != 0,
    }))
}

/// [`truth`] without diagnostics, NULL counting as false: whether a row
/// passes a WHERE or ON condition already evaluated.
pub fn truthy(d: &Datum) -> bool {
    match d {
        Datum::Bytes(b) => cast::scan_number(b).to_f64() != 0.0,
        Datum::Null => false,
        Datum::I64(v) => *v != 0,
        Datum::U64(v) => *v != 0,
        Datum::F64(v) => *v != 0.0,
        Datum::Decimal(v) => !decimal_ops::is_zero(v),
        Datum::Date(v) => v.to_packed() != 0,
        Datum::DateTime(v) => v.to_packed() != 0,
        Datum::Time(v) => v.to_packed() != 0,
    }
}

/// A value as the 64 bits bit operators work on: integers as their two's
/// complement, other numbers rounded half away from zero (saturating).
pub(crate) fn bits(d: &Datum, ctx: &mut EvalContext<'_>) -> Result<Option<u64>, SqlError> {
    let rounded = |v: f64| -> u64 {
        let r = v.round();
        if r < 0.0 {
            (r.max(i64::MIN as f64) as i64) as u64
        } else {
            r as u64
        }
    };
    Ok(Some(match d {
        Datum::Null => return Ok(None),
        Datum::I64(v) => *v as u64,
        Datum::U64(v) => *v,
        Datum::Decimal(v) => match decimal_ops::to_i128(v, Rounding::HalfUp) {
            Some(w) if w < 0 => w.max(i64::MIN as i128) as i64 as u64,
            Some(w) => u64::try_from(w).unwrap_or(u64::MAX),
            None if decimal_ops::is_negative(v) => i64::MIN as u64,
            None => u64::MAX,
        },
        other => match cast::to_f64(other, ctx)? {
            Some(v) => rounded(v),
            None => return Ok(None),
        },
    }))
}

// ---------------------------------------------------------------------------
// Arithmetic

/// An operand of arithmetic, in the class it computes in.
enum Num {
    Int(i64),
    UInt(u64),
    Dec(Decimal),
    Float(f64),
}

/// Reads an arithmetic operand: strings as doubles (with 1292 when they are
/// not numbers), dates and times as their numbers (`20240131`).
fn to_num(d: Datum, ctx: &mut EvalContext<'_>) -> Result<Option<Num>, SqlError> {
    Ok(Some(match d {
        Datum::Null => return Ok(None),
        Datum::I64(v) => Num::Int(v),
        Datum::U64(v) => Num::UInt(v),
        Datum::F64(v) => Num::Float(v),
        Datum::Decimal(v) => Num::Dec(v),
        Datum::Bytes(_) => Num::Float(cast::to_f64(&d, ctx)?.unwrap_or(0.0)),
        other => match cast::temporal_number(&other) {
            Some(n) if n.scale() == 0 => match decimal_ops::to_i128(&n, Rounding::Truncate) {
                Some(v) => Num::Int(v as i64),
                None => Num::Dec(n),
            },
            Some(n) => Num::Dec(n),
            None => return Ok(None),
        },
    }))
}

fn num_text(n: &Num) -> String {
    match n {
        Num::Int(v) => v.to_string(),
        Num::UInt(v) => v.to_string(),
        Num::Dec(v) => v.to_string(),
        Num::Float(v) => cast::format_double(*v),
    }
}

fn op_symbol(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::IntDiv => "DIV",
        _ => "%",
    }
}

/// 1690 "<TYPE> value is out of range in '(a op b)'".
fn out_of_range(what: &str, op: BinaryOp, a: &Num, b: &Num) -> SqlError {
    SqlError::new(
        1690,
        "22003",
        format!(
            "{what} value is out of range in '({} {} {})'",
            num_text(a),
            op_symbol(op),
            num_text(b)
        ),
    )
}

/// Division or modulo by zero: NULL, with warning 1365 when
/// ERROR_FOR_DIVISION_BY_ZERO is set (an error in strict writes).
pub(crate) fn division_by_zero(ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    if ctx.sql_mode.error_for_division_by_zero {
        if ctx.in_write && ctx.sql_mode.strict {
            return Err(error::division_by_zero());
        }
        cast::push_warning(ctx, Level::Warning, 1365, "Division by 0".into());
    }
    Ok(Datum::Null)
}

/// Digits a DECIMAL quotient keeps internally: MySQL computes in 9-digit
/// words, so `1/3` is `0.333333333` until it is shown as `0.3333`.
fn quotient_digits(declared: u8) -> u32 {
    (declared as u32).div_ceil(9).max(1) * 9
}

/// One arithmetic operator on two values with their declared DECIMAL
/// scales; returns the result and its declared scale.
fn arithmetic(
    op: BinaryOp,
    l: Datum,
    ls: u8,
    r: Datum,
    rs: u8,
    ctx: &mut EvalContext<'_>,
) -> Result<(Datum, u8), SqlError> {
    let (Some(a), Some(b)) = (to_num(l, ctx)?, to_num(r, ctx)?) else {
        return Ok((Datum::Null, 0));
    };
    match (&a, &b) {
        (Num::Float(_), _) | (_, Num::Float(_)) => Ok((float_op(op, &a, &b, ctx)?, 0)),
        (Num::Dec(_), _) | (_, Num::Dec(_)) => decimal_op(op, &a, ls, &b, rs, ctx),
        _ if op == BinaryOp::Div => decimal_op(op, &a, 0, &b, 0, ctx),
        _ => Ok((int_op(op, &a, &b, ctx)?, 0)),
    }
}

/// One arithmetic operator on two evaluated values (for MOD()), rounded to
/// its declared scale.
pub(crate) fn arithmetic_values(
    op: BinaryOp,
    a: Datum,
    b: Datum,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let (sa, sb) = (declared_scale(&a), declared_scale(&b));
    let (v, scale) = arithmetic(op, a, sa, b, sb, ctx)?;
    Ok(to_declared_scale(v, scale))
}

fn wide(n: &Num) -> i128 {
    match n {
        Num::Int(v) => *v as i128,
        Num::UInt(v) => *v as i128,
        _ => 0,
    }
}

fn int_op(op: BinaryOp, a: &Num, b: &Num, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let unsigned = matches!(a, Num::UInt(_)) || (op != BinaryOp::Mod && matches!(b, Num::UInt(_)));
    let (x, y) = (wide(a), wide(b));
    let result = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => match x.checked_mul(y) {
            Some(v) => v,
            None => {
                return Err(out_of_range(
                    if unsigned {
                        "BIGINT UNSIGNED"
                    } else {
                        "BIGINT"
                    },
                    op,
                    a,
                    b,
                ));
            }
        },
        BinaryOp::IntDiv | BinaryOp::Mod if y == 0 => return division_by_zero(ctx),
        BinaryOp::IntDiv => x / y,
        _ => x % y,
    };
    if unsigned {
        u64::try_from(result)
            .map(Datum::U64)
            .map_err(|_| out_of_range("BIGINT UNSIGNED", op, a, b))
    } else {
        i64::try_from(result)
            .map(Datum::I64)
            .map_err(|_| out_of_range("BIGINT", op, a, b))
    }
}

fn as_f64(n: &Num) -> f64 {
    match n {
        Num::Int(v) => *v as f64,
        Num::UInt(v) => *v as f64,
        Num::Dec(v) => decimal_ops::to_f64(v),
        Num::Float(v) => *v,
    }
}

fn as_decimal(n: &Num) -> Decimal {
    match n {
        Num::Int(v) => decimal_ops::from_i128(*v as i128),
        Num::UInt(v) => decimal_ops::from_i128(*v as i128),
        Num::Dec(v) => *v,
        Num::Float(v) => decimal_ops::from_f64(*v).unwrap_or_else(decimal_ops::zero),
    }
}

fn float_op(op: BinaryOp, a: &Num, b: &Num, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let (x, y) = (as_f64(a), as_f64(b));
    let v = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div | BinaryOp::IntDiv | BinaryOp::Mod if y == 0.0 => {
            return division_by_zero(ctx);
        }
        BinaryOp::Div => x / y,
        BinaryOp::IntDiv => {
            let q = (x / y).trunc();
            // Within BIGINT: below 2^63.
            return if q.abs() < 9_223_372_036_854_775_808.0 {
                Ok(Datum::I64(q as i64))
            } else {
                Err(out_of_range("BIGINT", op, a, b))
            };
        }
        _ => x % y,
    };
    if v.is_finite() {
        Ok(Datum::F64(v))
    } else {
        Err(out_of_range("DOUBLE", op, a, b))
    }
}

fn decimal_op(
    op: BinaryOp,
    a: &Num,
    ls: u8,
    b: &Num,
    rs: u8,
    ctx: &mut EvalContext<'_>,
) -> Result<(Datum, u8), SqlError> {
    let (x, y) = (as_decimal(a), as_decimal(b));
    let overflow = || out_of_range("DECIMAL", op, a, b);
    let (value, scale) = match op {
        BinaryOp::Add => (decimal_ops::add(&x, &y), ls.max(rs)),
        BinaryOp::Sub => (decimal_ops::sub(&x, &y), ls.max(rs)),
        BinaryOp::Mul => (decimal_ops::mul(&x, &y), (ls + rs).min(30)),
        _ if decimal_ops::is_zero(&y) => return Ok((division_by_zero(ctx)?, 0)),
        BinaryOp::Div => {
            let declared = (ls + 4).min(30);
            (
                decimal_ops::div(&x, &y, quotient_digits(declared)),
                declared,
            )
        }
        BinaryOp::IntDiv => {
            let q = decimal_ops::div(&x, &y, 0).ok_or_else(overflow)?;
            let v =
                decimal_ops::to_i128(&q, Rounding::Truncate).and_then(|v| i64::try_from(v).ok());
            return v
                .map(|v| (Datum::I64(v), 0))
                .ok_or_else(|| out_of_range("BIGINT", op, a, b));
        }
        _ => (decimal_ops::rem(&x, &y), ls.max(rs)),
    };
    Ok((Datum::Decimal(value.ok_or_else(overflow)?), scale))
}

/// Unary minus.
fn negate(v: Datum, ctx: &mut EvalContext<'_>) -> Result<Datum, SqlError> {
    let range = |text: String| {
        SqlError::new(
            1690,
            "22003",
            format!("BIGINT value is out of range in '-({text})'"),
        )
    };
    Ok(match to_num(v, ctx)? {
        None => Datum::Null,
        Some(Num::Int(v)) => Datum::I64(v.checked_neg().ok_or_else(|| range(v.to_string()))?),
        Some(Num::UInt(v)) => Datum::I64(
            0i64.checked_sub_unsigned(v)
                .ok_or_else(|| range(v.to_string()))?,
        ),
        Some(Num::Dec(d)) => Datum::Decimal(decimal_ops::neg(&d)),
        Some(Num::Float(f)) => Datum::F64(-f),
    })
}

/// Comparison, logic and bit operators (arithmetic goes through
/// [`arithmetic`]).
fn eval_binary(
    op: BinaryOp,
    left: &Expr,
    right: &Expr,
    collation: Collation,
    row: &[Datum],
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    match op {
        BinaryOp::And | BinaryOp::Or => {
            // Short-circuit as MySQL does: the right side is not evaluated
            // (nor can it fail) once the left decides.
            let l = left.eval(row, ctx)?;
            let lt = truth(&l, ctx)?;
            let decided = if op == BinaryOp::And {
                Some(false)
            } else {
                Some(true)
            };
            if lt == decided {
                return Ok(bool_datum(lt == Some(true)));
            }
            let r = right.eval(row, ctx)?;
            let rt = truth(&r, ctx)?;
            Ok(match (lt, rt) {
                (_, x) if x == decided => bool_datum(x == Some(true)),
                (Some(a), Some(_)) => bool_datum(a),
                _ => Datum::Null,
            })
        }
        BinaryOp::Xor => {
            let l = left.eval(row, ctx)?;
            let r = right.eval(row, ctx)?;
            Ok(match (truth(&l, ctx)?, truth(&r, ctx)?) {
                (Some(a), Some(b)) => bool_datum(a != b),
                _ => Datum::Null,
            })
        }
        BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor | BinaryOp::Shl | BinaryOp::Shr => {
            let l = left.eval(row, ctx)?;
            let r = right.eval(row, ctx)?;
            let (Some(a), Some(b)) = (bits(&l, ctx)?, bits(&r, ctx)?) else {
                return Ok(Datum::Null);
            };
            Ok(Datum::U64(match op {
                BinaryOp::BitAnd => a & b,
                BinaryOp::BitOr => a | b,
                BinaryOp::BitXor => a ^ b,
                BinaryOp::Shl => a
                    .checked_shl(u32::try_from(b).unwrap_or(u32::MAX))
                    .unwrap_or(0),
                _ => a
                    .checked_shr(u32::try_from(b).unwrap_or(u32::MAX))
                    .unwrap_or(0),
            }))
        }
        _ => {
            let l = left.eval(row, ctx)?;
            let r = right.eval(row, ctx)?;
            if op == BinaryOp::NullSafeEq {
                return Ok(bool_datum(match (&l, &r) {
                    (Datum::Null, Datum::Null) => true,
                    (Datum::Null, _) | (_, Datum::Null) => false,
                    _ => compare_values(&l, &r, collation, ctx)? == Some(Ordering::Equal),
                }));
            }
            let Some(order) = compare_values(&l, &r, collation, ctx)? else {
                return Ok(Datum::Null);
            };
            Ok(bool_datum(match op {
                BinaryOp::Eq => order.is_eq(),
                BinaryOp::Ne => order.is_ne(),
                BinaryOp::Lt => order.is_lt(),
                BinaryOp::Le => order.is_le(),
                BinaryOp::Gt => order.is_gt(),
                _ => order.is_ge(),
            }))
        }
    }
}

/// A function call: IF, IFNULL and COALESCE evaluate only the arguments
/// they need (as MySQL does, so an unused `1/0` does not warn).
fn eval_call(
    func: Func,
    args: &[Expr],
    collation: Collation,
    row: &[Datum],
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    func.check_arg_count(args.len())?;
    match func {
        Func::If => {
            let c = args[0].eval(row, ctx)?;
            let branch = if truth(&c, ctx)? == Some(true) {
                &args[1]
            } else {
                &args[2]
            };
            branch.eval(row, ctx)
        }
        Func::IfNull | Func::Coalesce => {
            for arg in args {
                let v = arg.eval(row, ctx)?;
                if v != Datum::Null {
                    return Ok(v);
                }
            }
            Ok(Datum::Null)
        }
        _ => {
            let exact = func.wants_exact_numbers();
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                values.push(if exact {
                    arg.eval_exact(row, ctx)?.0
                } else {
                    arg.eval(row, ctx)?
                });
            }
            func.eval(&values, collation, ctx)
        }
    }
}

// ---------------------------------------------------------------------------
// Comparison

/// Compares two values as MySQL's comparison operators do, under
/// `collation` for strings; `None` when either is NULL. Consistent with
/// `=`, for ORDER BY, DISTINCT, GROUP BY and MIN/MAX.
pub fn compare(a: &Datum, b: &Datum, collation: Collation) -> Option<Ordering> {
    compare_with(a, b, collation, None).unwrap_or(None)
}

/// [`compare`], with warnings for strings that are not numbers or dates
/// (errors in strict writes).
pub fn compare_values(
    a: &Datum,
    b: &Datum,
    collation: Collation,
    ctx: &mut EvalContext<'_>,
) -> Result<Option<Ordering>, SqlError> {
    compare_with(a, b, collation, Some(ctx))
}

fn is_int(d: &Datum) -> bool {
    matches!(d, Datum::I64(_) | Datum::U64(_))
}

fn is_temporal(d: &Datum) -> bool {
    matches!(d, Datum::Date(_) | Datum::DateTime(_) | Datum::Time(_))
}

fn int_of(d: &Datum) -> i128 {
    match d {
        Datum::I64(v) => *v as i128,
        Datum::U64(v) => *v as i128,
        _ => 0,
    }
}

fn cmp_f64(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// A string or number read as a double, warning through `ctx` if given.
fn double(d: &Datum, ctx: Option<&mut EvalContext<'_>>) -> Result<f64, SqlError> {
    match (d, ctx) {
        (Datum::Bytes(b), None) => Ok(cast::scan_number(b).to_f64()),
        (_, Some(ctx)) => Ok(cast::to_f64(d, ctx)?.unwrap_or(0.0)),
        (_, None) => Ok(match d {
            Datum::Decimal(v) => decimal_ops::to_f64(v),
            Datum::F64(v) => *v,
            other => int_of(other) as f64,
        }),
    }
}

fn compare_with(
    a: &Datum,
    b: &Datum,
    collation: Collation,
    ctx: Option<&mut EvalContext<'_>>,
) -> Result<Option<Ordering>, SqlError> {
    use Datum::*;
    Ok(Some(match (a, b) {
        (Null, _) | (_, Null) => return Ok(None),
        _ if collation == Collation::Json => super::json_order::compare(a, b),
        (Bytes(x), Bytes(y)) => compare_strings(x, y, collation),
        _ if is_int(a) && is_int(b) => int_of(a).cmp(&int_of(b)),
        (Decimal(x), Decimal(y)) => x.cmp(y),
        (Decimal(x), _) if is_int(b) => x.cmp(&decimal_ops::from_i128(int_of(b))),
        (_, Decimal(y)) if is_int(a) => decimal_ops::from_i128(int_of(a)).cmp(y),
        _ if is_temporal(a) || is_temporal(b) => return compare_temporal(a, b, collation, ctx),
        _ => {
            let mut ctx = ctx;
            let x = double(a, ctx.as_deref_mut())?;
            let y = double(b, ctx)?;
            cmp_f64(x, y)
        }
    }))
}

/// Comparisons with a date or time on at least one side: the other side is
/// read as the same kind (strings parsed, numbers as `YYYYMMDD...`); when it
/// cannot be, MySQL warns and compares what it can.
fn compare_temporal(
    a: &Datum,
    b: &Datum,
    collation: Collation,
    ctx: Option<&mut EvalContext<'_>>,
) -> Result<Option<Ordering>, SqlError> {
    use Datum::*;
    // Put the temporal value first (a TIME before a date); flip the answer
    // back at the end.
    let (t, other, flip) = if matches!(a, Time(_)) || !is_temporal(b) {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let order = match (t, other) {
        (Time(x), Time(y)) => x.cmp(y),
        (Time(x), Bytes(s)) => match temporal::parse_time(s) {
            Some(p) => x.cmp(&p.time),
            None => {
                if let Some(ctx) = ctx {
                    cast::to_time(other, ctx)?;
                }
                compare_strings(x.to_string().as_bytes(), s, collation)
            }
        },
        // A TIME against a date is a time of today, which needs the clock;
        // without a context both compare as numbers.
        (Time(_), Date(_) | DateTime(_)) => match ctx {
            Some(ctx) => {
                let today = cast::to_datetime(t, ctx)?;
                let there = cast::to_datetime(other, ctx)?;
                today.cmp(&there)
            }
            None => cmp_f64(temporal_f64(t), temporal_f64(other)),
        },
        (Time(_), _) => cmp_f64(temporal_f64(t), double(other, ctx)?),
        (_, Date(_) | DateTime(_)) => datetime_of(t).cmp(&datetime_of(other)),
        (_, Bytes(s)) => match temporal::parse_datetime(s).and_then(|p| p.fields.datetime()) {
            Some(dt) => datetime_of(t).cmp(&Some(dt)),
            None => {
                if let Some(ctx) = ctx {
                    let what = if matches!(t, Date(_)) {
                        "DATE"
                    } else {
                        "DATETIME"
                    };
                    let message =
                        format!("Incorrect {what} value: '{}'", String::from_utf8_lossy(s));
                    cast::bad_value(ctx, 1292, "22007", message)?;
                }
                compare_strings(&cast::as_text(t).unwrap_or_default(), s, collation)
            }
        },
        _ => {
            // A number: as a date number if it reads as one, else numerically.
            let as_date = match other {
                I64(v) => temporal::datetime_from_number(*v),
                U64(v) => i64::try_from(*v)
                    .ok()
                    .and_then(temporal::datetime_from_number),
                _ => None,
            };
            match as_date.and_then(|p| p.fields.datetime()) {
                Some(dt) => datetime_of(t).cmp(&Some(dt)),
                None => cmp_f64(temporal_f64(t), double(other, ctx)?),
            }
        }
    };
    Ok(Some(if flip { order.reverse() } else { order }))
}

/// A date or time as its number (`20240131`, `101112.5`).
fn temporal_f64(d: &Datum) -> f64 {
    cast::temporal_number(d).map_or(0.0, |n| decimal_ops::to_f64(&n))
}

fn datetime_of(d: &Datum) -> Option<codec::DateTime> {
    match d {
        Datum::Date(v) => Some(temporal::midnight(*v)),
        Datum::DateTime(v) => Some(*v),
        _ => None,
    }
}

/// The units a collation compares: bytes for `binary`, characters
/// otherwise (bytes of invalid UTF-8 as units of their own, after every
/// character).
fn units(b: &[u8], collation: Collation) -> impl Iterator<Item = u32> + '_ {
    let chars = (collation != Collation::Binary).then(|| {
        b.utf8_chunks().flat_map(|chunk| {
            chunk
                .valid()
                .chars()
                .map(|c| c as u32)
                .chain(chunk.invalid().iter().map(|&x| 0x11_0000 + x as u32))
        })
    });
    let raw = (collation == Collation::Binary).then(|| b.iter().map(|&x| x as u32));
    chars.into_iter().flatten().chain(raw.into_iter().flatten())
}

/// utf8mb4_general_ci's weight for a code point: the simple uppercase
/// (`a` = `A`) except where MySQL's table says otherwise (see
/// [`GENERAL_CI_EXCEPTIONS`]); everything beyond the BMP weighs the same.
pub(crate) fn general_ci_weight(cp: u32) -> u32 {
    if cp < 0x80 {
        return if cp.wrapping_sub(b'a' as u32) < 26 {
            cp - 32
        } else {
            cp
        };
    }
    if (0x1_0000..0x11_0000).contains(&cp) {
        return 0xFFFD;
    }
    let i = GENERAL_CI_EXCEPTIONS.partition_point(|r| r.0 as u32 <= cp);
    if let Some(&(_, end, target)) = i.checked_sub(1).and_then(|i| GENERAL_CI_EXCEPTIONS.get(i))
        && cp <= end as u32
    {
        return if target == 0 { cp } else { target as u32 };
    }
    let Some(c) = char::from_u32(cp) else {
        return cp;
    };
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) if (u as u32) < 0x1_0000 => u as u32,
        _ => cp,
    }
}

/// Where utf8mb4_general_ci's weights differ from the simple uppercase, as
/// `(first, last, weight)` ranges (weight 0: the code point itself). MySQL
/// folds accented letters to their base capital (`é` = `E`, `ё` = `Е`,
/// `ά` = `Α`), `ß` to `S`, and, its table predating later Unicode versions,
/// leaves letters that gained a case pairing since then alone. Generated
/// by comparing every BMP code point's `WEIGHT_STRING(... COLLATE
/// utf8mb4_general_ci)` on a live server with `char::to_uppercase`.
#[rustfmt::skip]
const GENERAL_CI_EXCEPTIONS: &[(u16, u16, u16)] = &[
(0x00C0, 0x00C5, 0x0041), (0x00C7, 0x00C7, 0x0043), (0x00C8, 0x00CB, 0x0045), (0x00CC, 0x00CF, 0x0049),
(0x00D1, 0x00D1, 0x004E), (0x00D2, 0x00D6, 0x004F), (0x00D9, 0x00DC, 0x0055), (0x00DD, 0x00DD, 0x0059),
(0x00DF, 0x00DF, 0x0053), (0x00E0, 0x00E5, 0x0041), (0x00E7, 0x00E7, 0x0043), (0x00E8, 0x00EB, 0x0045),
(0x00EC, 0x00EF, 0x0049), (0x00F1, 0x00F1, 0x004E), (0x00F2, 0x00F6, 0x004F), (0x00F9, 0x00FC, 0x0055),
(0x00FD, 0x00FD, 0x0059), (0x00FF, 0x00FF, 0x0059), (0x0100, 0x0105, 0x0041), (0x0106, 0x010D, 0x0043),
(0x010E, 0x010F, 0x0044), (0x0112, 0x011B, 0x0045), (0x011C, 0x0123, 0x0047), (0x0124, 0x0125, 0x0048),
(0x0128, 0x0130, 0x0049), (0x0134, 0x0135, 0x004A), (0x0136, 0x0137, 0x004B), (0x0139, 0x013E, 0x004C),
(0x0143, 0x0148, 0x004E), (0x014C, 0x0151, 0x004F), (0x0154, 0x0159, 0x0052), (0x015A, 0x0161, 0x0053),
(0x0162, 0x0165, 0x0054), (0x0168, 0x0173, 0x0055), (0x0174, 0x0175, 0x0057), (0x0176, 0x0178, 0x0059),
(0x0179, 0x017E, 0x005A), (0x0180, 0x0180, 0x0000), (0x019A, 0x019E, 0x0000), (0x01A0, 0x01A1, 0x004F),
(0x01AF, 0x01B0, 0x0055), (0x01CD, 0x01CE, 0x0041), (0x01CF, 0x01D0, 0x0049), (0x01D1, 0x01D2, 0x004F),
(0x01D3, 0x01DC, 0x0055), (0x01DE, 0x01E1, 0x0041), (0x01E2, 0x01E3, 0x00C6), (0x01E6, 0x01E7, 0x0047),
(0x01E8, 0x01E9, 0x004B), (0x01EA, 0x01ED, 0x004F), (0x01EE, 0x01EF, 0x01B7), (0x01F0, 0x01F0, 0x004A),
(0x01F4, 0x01F5, 0x0047), (0x01F8, 0x01F9, 0x004E), (0x01FA, 0x01FB, 0x0041), (0x01FC, 0x01FD, 0x00C6),
(0x01FE, 0x01FF, 0x00D8), (0x0200, 0x0203, 0x0041), (0x0204, 0x0207, 0x0045), (0x0208, 0x020B, 0x0049),
(0x020C, 0x020F, 0x004F), (0x0210, 0x0213, 0x0052), (0x0214, 0x0217, 0x0055), (0x0218, 0x0219, 0x0053),
(0x021A, 0x021B, 0x0054), (0x021E, 0x021F, 0x0048), (0x0226, 0x0227, 0x0041), (0x0228, 0x0229, 0x0045),
(0x022A, 0x0231, 0x004F), (0x0232, 0x0233, 0x0059), (0x023C, 0x0252, 0x0000), (0x025C, 0x025C, 0x0000),
(0x0261, 0x0261, 0x0000), (0x0264, 0x0266, 0x0000), (0x026A, 0x026C, 0x0000), (0x0271, 0x0271, 0x0000),
(0x027D, 0x027D, 0x0000), (0x0282, 0x0282, 0x0000), (0x0287, 0x0287, 0x0000), (0x0289, 0x0289, 0x0000),
(0x028C, 0x028C, 0x0000), (0x029D, 0x029E, 0x0000), (0x0371, 0x037D, 0x0000), (0x0386, 0x0386, 0x0391),
(0x0388, 0x0388, 0x0395), (0x0389, 0x0389, 0x0397), (0x038A, 0x038A, 0x0399), (0x038C, 0x038C, 0x039F),
(0x038E, 0x038E, 0x03A5), (0x038F, 0x038F, 0x03A9), (0x0390, 0x0390, 0x0399), (0x03AA, 0x03AA, 0x0399),
(0x03AB, 0x03AB, 0x03A5), (0x03AC, 0x03AC, 0x0391), (0x03AD, 0x03AD, 0x0395), (0x03AE, 0x03AE, 0x0397),
(0x03AF, 0x03AF, 0x0399), (0x03B0, 0x03B0, 0x03A5), (0x03CA, 0x03CA, 0x0399), (0x03CB, 0x03CB, 0x03A5),
(0x03CC, 0x03CC, 0x039F), (0x03CD, 0x03CD, 0x03A5), (0x03CE, 0x03CE, 0x03A9), (0x03D3, 0x03D4, 0x03D2),
(0x03D7, 0x03D9, 0x0000), (0x03F2, 0x03F2, 0x03A3), (0x03F3, 0x03FB, 0x0000), (0x0400, 0x0401, 0x0415),
(0x0403, 0x0403, 0x0413), (0x0407, 0x0407, 0x0406), (0x040C, 0x040C, 0x041A), (0x040D, 0x040D, 0x0418),
(0x040E, 0x040E, 0x0423), (0x0450, 0x0451, 0x0415), (0x0453, 0x0453, 0x0413), (0x0457, 0x0457, 0x0406),
(0x045C, 0x045C, 0x041A), (0x045D, 0x045D, 0x0418), (0x045E, 0x045E, 0x0423), (0x0476, 0x0477, 0x0474),
(0x048B, 0x048B, 0x0000), (0x04C1, 0x04C2, 0x0416), (0x04C6, 0x04C6, 0x0000), (0x04CA, 0x04CA, 0x0000),
(0x04CE, 0x04CF, 0x0000), (0x04D0, 0x04D3, 0x0410), (0x04D6, 0x04D7, 0x0415), (0x04DA, 0x04DB, 0x04D8),
(0x04DC, 0x04DD, 0x0416), (0x04DE, 0x04DF, 0x0417), (0x04E2, 0x04E5, 0x0418), (0x04E6, 0x04E7, 0x041E),
(0x04EA, 0x04EB, 0x04E8), (0x04EC, 0x04ED, 0x042D), (0x04EE, 0x04F3, 0x0423), (0x04F4, 0x04F5, 0x0427),
(0x04F7, 0x04F7, 0x0000), (0x04F8, 0x04F9, 0x042B), (0x04FB, 0x052F, 0x0000), (0x10D0, 0x10FF, 0x0000),
(0x13F8, 0x13FD, 0x0000), (0x1C80, 0x1C8A, 0x0000), (0x1D79, 0x1D8E, 0x0000), (0x1E00, 0x1E01, 0x0041),
(0x1E02, 0x1E07, 0x0042), (0x1E08, 0x1E09, 0x0043), (0x1E0A, 0x1E13, 0x0044), (0x1E14, 0x1E1D, 0x0045),
(0x1E1E, 0x1E1F, 0x0046), (0x1E20, 0x1E21, 0x0047), (0x1E22, 0x1E2B, 0x0048), (0x1E2C, 0x1E2F, 0x0049),
(0x1E30, 0x1E35, 0x004B), (0x1E36, 0x1E3D, 0x004C), (0x1E3E, 0x1E43, 0x004D), (0x1E44, 0x1E4B, 0x004E),
(0x1E4C, 0x1E53, 0x004F), (0x1E54, 0x1E57, 0x0050), (0x1E58, 0x1E5F, 0x0052), (0x1E60, 0x1E69, 0x0053),
(0x1E6A, 0x1E71, 0x0054), (0x1E72, 0x1E7B, 0x0055), (0x1E7C, 0x1E7F, 0x0056), (0x1E80, 0x1E89, 0x0057),
(0x1E8A, 0x1E8D, 0x0058), (0x1E8E, 0x1E8F, 0x0059), (0x1E90, 0x1E95, 0x005A), (0x1E96, 0x1E96, 0x0048),
(0x1E97, 0x1E97, 0x0054), (0x1E98, 0x1E98, 0x0057), (0x1E99, 0x1E99, 0x0059), (0x1E9B, 0x1E9B, 0x0053),
(0x1EA0, 0x1EB7, 0x0041), (0x1EB8, 0x1EC7, 0x0045), (0x1EC8, 0x1ECB, 0x0049), (0x1ECC, 0x1EE3, 0x004F),
(0x1EE4, 0x1EF1, 0x0055), (0x1EF2, 0x1EF9, 0x0059), (0x1EFB, 0x1EFF, 0x0000), (0x1F00, 0x1F0F, 0x0391),
(0x1F10, 0x1F15, 0x0395), (0x1F18, 0x1F1D, 0x0395), (0x1F20, 0x1F2F, 0x0397), (0x1F30, 0x1F3F, 0x0399),
(0x1F40, 0x1F45, 0x039F), (0x1F48, 0x1F4D, 0x039F), (0x1F50, 0x1F57, 0x03A5), (0x1F59, 0x1F59, 0x03A5),
(0x1F5B, 0x1F5B, 0x03A5), (0x1F5D, 0x1F5D, 0x03A5), (0x1F5F, 0x1F5F, 0x03A5), (0x1F60, 0x1F6F, 0x03A9),
(0x1F70, 0x1F70, 0x0391), (0x1F72, 0x1F72, 0x0395), (0x1F74, 0x1F74, 0x0397), (0x1F76, 0x1F76, 0x0399),
(0x1F78, 0x1F78, 0x039F), (0x1F7A, 0x1F7A, 0x03A5), (0x1F7C, 0x1F7C, 0x03A9), (0x1F80, 0x1F8F, 0x0391),
(0x1F90, 0x1F9F, 0x0397), (0x1FA0, 0x1FAF, 0x03A9), (0x1FB0, 0x1FB4, 0x0391), (0x1FB6, 0x1FBA, 0x0391),
(0x1FBC, 0x1FBC, 0x0391), (0x1FC2, 0x1FC4, 0x0397), (0x1FC6, 0x1FC7, 0x0397), (0x1FC8, 0x1FC8, 0x0395),
(0x1FCA, 0x1FCA, 0x0397), (0x1FCC, 0x1FCC, 0x0397), (0x1FD0, 0x1FD2, 0x0399), (0x1FD6, 0x1FDA, 0x0399),
(0x1FE0, 0x1FE2, 0x03A5), (0x1FE4, 0x1FE5, 0x03A1), (0x1FE6, 0x1FEA, 0x03A5), (0x1FEC, 0x1FEC, 0x03A1),
(0x1FF2, 0x1FF4, 0x03A9), (0x1FF6, 0x1FF7, 0x03A9), (0x1FF8, 0x1FF8, 0x039F), (0x1FFA, 0x1FFA, 0x03A9),
(0x1FFC, 0x1FFC, 0x03A9), (0x214E, 0x214E, 0x0000), (0x2184, 0x2184, 0x0000), (0x2C30, 0x2D2D, 0x0000),
(0xA641, 0xA69B, 0x0000), (0xA723, 0xA7F6, 0x0000), (0xAB53, 0xABBF, 0x0000),
];

/// The weights `collation` compares `b` by, unit by unit (LOCATE and
/// INSTR search them).
pub(crate) fn weights(b: &[u8], collation: Collation) -> impl Iterator<Item = u32> + '_ {
    units(b, collation).map(move |u| weight(u, collation))
}

/// An ASCII byte's weight under `collation` (every ASCII byte is a whole
/// character in every collation): the per-byte step of comparisons and
/// group keys over ASCII text, which most text is, kept apart from
/// [`weight`]'s code-point tables so that it inlines.
#[inline]
fn ascii_weight(x: u8, collation: Collation) -> u8 {
    if collation == Collation::Utf8mb4GeneralCi {
        x.to_ascii_uppercase()
    } else {
        x
    }
}

/// A unit's weight under `collation`.
fn weight(unit: u32, collation: Collation) -> u32 {
    if collation == Collation::Utf8mb4GeneralCi {
        general_ci_weight(unit)
    } else {
        unit
    }
}

/// Compares strings under `collation`. The utf8mb4 collations are PAD
/// SPACE: the shorter string compares as if padded with spaces, so `'a'`
/// equals `'a  '` but sorts after `'a\t'`.
pub fn compare_strings(a: &[u8], b: &[u8], collation: Collation) -> Ordering {
    if collation == Collation::Binary {
        return a.cmp(b);
    }
    // Over the common ASCII prefix every byte is a whole character: weigh
    // bytes directly, and decode UTF-8 only from the first other byte on.
    let mut prefix = 0;
    for (&p, &q) in a.iter().zip(b) {
        if !p.is_ascii() || !q.is_ascii() {
            break;
        }
        let (p, q) = (ascii_weight(p, collation), ascii_weight(q, collation));
        if p != q {
            return p.cmp(&q);
        }
        prefix += 1;
    }
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let mut x = units(a, collation).map(|u| weight(u, collation));
    let mut y = units(b, collation).map(|u| weight(u, collation));
    let space = b' ' as u32;
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) if p == q => continue,
            (Some(p), Some(q)) => return p.cmp(&q),
            (Some(p), None) => {
                return if p == space {
                    x.find(|&u| u != space)
                        .map_or(Ordering::Equal, |u| u.cmp(&space))
                } else {
                    p.cmp(&space)
                };
            }
            (None, Some(q)) => {
                return if q == space {
                    y.find(|&u| u != space)
                        .map_or(Ordering::Equal, |u| space.cmp(&u))
                } else {
                    space.cmp(&q)
                };
            }
            (None, None) => return Ordering::Equal,
        }
    }
}

/// Bytes that are equal exactly when the values compare equal under
/// `collation` (for GROUP BY and DISTINCT hashing): `'a'` and `'A '` share a
/// key under utf8mb4_general_ci, as do `1`, `1.0` and `1e0`, and a DATE and
/// the DATETIME at its midnight.
pub fn group_key(d: &Datum, collation: Collation) -> Vec<u8> {
    let mut key = Vec::new();
    group_key_into(&mut key, d, collation);
    key
}

/// [`group_key`] appended to `key`, for keys of several values.
pub fn group_key_into(key: &mut Vec<u8>, d: &Datum, collation: Collation) {
    match d {
        Datum::Null => key.push(0),
        _ if collation == Collation::Json => {
            key.push(6);
            super::json_order::key_into(key, d);
        }
        Datum::Bytes(b) => {
            key.push(1);
            if collation == Collation::Binary {
                key.extend_from_slice(b);
            } else {
                // Three bytes per weight, trailing spaces dropped (PAD SPACE).
                if b.is_ascii() {
                    // Only a space weighs as a space among ASCII characters.
                    let n = b.iter().rposition(|&x| x != b' ').map_or(0, |i| i + 1);
                    let start = key.len();
                    key.resize(start + 3 * n, 0);
                    for (dst, &x) in key[start..].chunks_exact_mut(3).zip(&b[..n]) {
                        dst[2] = ascii_weight(x, collation);
                    }
                } else {
                    key.reserve(3 * b.len());
                    let mut end = key.len();
                    for u in units(b, collation) {
                        let w = weight(u, collation);
                        key.extend_from_slice(&w.to_be_bytes()[1..]);
                        if w != b' ' as u32 {
                            end = key.len();
                        }
                    }
                    key.truncate(end);
                }
            }
        }
        Datum::I64(_) | Datum::U64(_) | Datum::Decimal(_) => number_key(key, &exact_number(d)),
        Datum::F64(v) => match decimal_ops::from_f64(*v).filter(|x| decimal_ops::to_f64(x) == *v) {
            Some(x) => number_key(key, &x),
            None => {
                key.push(3);
                key.extend_from_slice(&v.to_bits().to_be_bytes());
            }
        },
        Datum::Date(_) | Datum::DateTime(_) => {
            key.push(4);
            let dt = datetime_of(d).map_or(0, |dt| dt.to_packed());
            key.extend_from_slice(&dt.to_be_bytes());
        }
        Datum::Time(t) => {
            key.push(5);
            key.extend_from_slice(&t.to_packed().to_be_bytes());
        }
    }
}

fn exact_number(d: &Datum) -> Decimal {
    match d {
        Datum::Decimal(v) => *v,
        other => decimal_ops::from_i128(int_of(other)),
    }
}

/// A number's value without its scale: `1.50` and `1.5` give the same key.
fn number_key(key: &mut Vec<u8>, d: &Decimal) {
    key.push(2);
    let text = d.to_string();
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    key.extend_from_slice(if text == "-0" { b"0" } else { text.as_bytes() });
}

// ---------------------------------------------------------------------------
// LIKE

enum Token {
    Any,
    One,
    Unit(u32),
}

/// `text LIKE pattern ESCAPE escape` under `collation`: `%` matches any run
/// of characters, `_` exactly one (one byte under `binary`), and comparison
/// is case-insensitive under general_ci but, unlike `=`, trailing spaces
/// count. An escape at the end of the pattern is literal.
pub fn like(text: &[u8], pattern: &[u8], escape: u8, collation: Collation) -> bool {
    let text: Vec<u32> = units(text, collation)
        .map(|u| weight(u, collation))
        .collect();
    let mut tokens = Vec::new();
    let mut raw = units(pattern, collation).peekable();
    while let Some(u) = raw.next() {
        tokens.push(match u {
            _ if u == escape as u32 => match raw.next() {
                Some(next) => Token::Unit(weight(next, collation)),
                None => Token::Unit(weight(u, collation)),
            },
            0x25 => Token::Any,
            0x5F => Token::One,
            _ => Token::Unit(weight(u, collation)),
        });
    }
    let (mut t, mut p) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::One) => {
                t += 1;
                p += 1;
                continue;
            }
            Some(Token::Unit(u)) if *u == text[t] => {
                t += 1;
                p += 1;
                continue;
            }
            Some(Token::Any) => {
                resume = Some((p, t));
                p += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last % swallow one more unit and retry.
        match resume {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                resume = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    tokens[p..].iter().all(|tok| matches!(tok, Token::Any))
}

// ---------------------------------------------------------------------------
// Types

/// The computation class of a type in arithmetic.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Class {
    Int,
    Decimal,
    Double,
}

fn class(t: &SqlType) -> Class {
    match t.kind {
        _ if t.is_integer() => Class::Int,
        TypeKind::Null | TypeKind::Date => Class::Int,
        TypeKind::Decimal => Class::Decimal,
        TypeKind::DateTime | TypeKind::Timestamp | TypeKind::Time => {
            if t.scale > 0 && t.scale <= 6 {
                Class::Decimal
            } else {
                Class::Int
            }
        }
        _ => Class::Double,
    }
}

/// Digits of an integer type (as MySQL counts them for DECIMAL results):
/// the declared width for narrow literals, else the kind's full width.
fn int_digits(t: &SqlType) -> u32 {
    let full = match t.kind {
        TypeKind::TinyInt => 3,
        TypeKind::SmallInt => 5,
        TypeKind::MediumInt => {
            if t.unsigned {
                8
            } else {
                7
            }
        }
        TypeKind::Int => 10,
        TypeKind::BigInt => {
            if t.unsigned {
                20
            } else {
                19
            }
        }
        TypeKind::Year => 4,
        TypeKind::Date => 8,
        TypeKind::DateTime | TypeKind::Timestamp => 14,
        TypeKind::Time => 7,
        _ => 1,
    };
    t.length.clamp(1, full)
}

/// `(precision, scale)` of a type used as a DECIMAL.
pub(crate) fn decimal_shape(t: &SqlType) -> (u32, u32) {
    match t.kind {
        TypeKind::Decimal => (t.length.max(1), t.scale as u32),
        TypeKind::DateTime | TypeKind::Timestamp | TypeKind::Time if t.scale <= 6 => (
            int_digits(&SqlType::new(t.kind)) + t.scale as u32,
            t.scale as u32,
        ),
        _ => (int_digits(t), 0),
    }
}

/// DECIMAL(precision, scale), within MySQL's limits.
pub(crate) fn decimal_type(precision: u32, scale: u32) -> SqlType {
    let scale = scale.min(30);
    SqlType {
        length: precision.clamp(scale.max(1), 65),
        scale: scale as u8,
        ..SqlType::new(TypeKind::Decimal)
    }
}

/// BIGINT(1): comparisons and logic.
pub(crate) fn bool_type() -> SqlType {
    SqlType {
        length: 1,
        ..SqlType::new(TypeKind::BigInt)
    }
}

/// BIGINT UNSIGNED: bit operations.
fn bits_type() -> SqlType {
    SqlType {
        unsigned: true,
        length: 21,
        ..SqlType::new(TypeKind::BigInt)
    }
}

fn binary_type(op: BinaryOp, l: &SqlType, r: &SqlType) -> SqlType {
    match op {
        BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor | BinaryOp::Shl | BinaryOp::Shr => {
            bits_type()
        }
        _ if is_arithmetic(op) => arithmetic_type(op, l, r),
        _ => bool_type(),
    }
}

/// The result type of arithmetic, with MySQL's DECIMAL precision rules.
pub(crate) fn arithmetic_type(op: BinaryOp, l: &SqlType, r: &SqlType) -> SqlType {
    let (cl, cr) = (class(l), class(r));
    let unsigned = l.unsigned || r.unsigned;
    if op == BinaryOp::IntDiv {
        return SqlType {
            unsigned,
            ..SqlType::new(TypeKind::BigInt)
        };
    }
    if cl == Class::Double || cr == Class::Double {
        return SqlType::new(TypeKind::Double);
    }
    let ((p1, s1), (p2, s2)) = (decimal_shape(l), decimal_shape(r));
    if cl == Class::Int && cr == Class::Int && op != BinaryOp::Div {
        let length = match op {
            BinaryOp::Mul => l.length + r.length,
            _ => l.length.max(r.length) + 1,
        };
        return SqlType {
            unsigned: unsigned && op != BinaryOp::Mod || l.unsigned && op == BinaryOp::Mod,
            length: length.min(20),
            ..SqlType::new(TypeKind::BigInt)
        };
    }
    let (int1, int2) = (p1 - s1.min(p1), p2 - s2.min(p2));
    match op {
        BinaryOp::Add | BinaryOp::Sub => {
            let scale = s1.max(s2);
            decimal_type(int1.max(int2) + scale + 1, scale)
        }
        BinaryOp::Mul => decimal_type(p1 + p2, (s1 + s2).min(30)),
        BinaryOp::Div => {
            let scale = (s1 + 4).min(30);
            decimal_type(p1 + 4 + s2, scale)
        }
        _ => {
            let scale = s1.max(s2);
            decimal_type(int1.max(int2) + scale, scale)
        }
    }
}

/// The type MySQL reports for a constant.
pub(crate) fn literal_type(d: &Datum) -> SqlType {
    match d {
        Datum::Null => SqlType::new(TypeKind::Null),
        Datum::I64(v) => SqlType {
            length: v.to_string().len() as u32,
            ..SqlType::new(TypeKind::BigInt)
        },
        Datum::U64(v) => SqlType {
            unsigned: true,
            length: v.to_string().len() as u32,
            ..SqlType::new(TypeKind::BigInt)
        },
        Datum::F64(_) => SqlType::new(TypeKind::Double),
        Datum::Decimal(v) => {
            let digits = decimal_ops::int_digits(v).max(1) + v.scale() as u32;
            decimal_type(digits, v.scale() as u32)
        }
        Datum::Bytes(b) => SqlType {
            length: cast::char_count(b) as u32,
            ..SqlType::new(TypeKind::VarChar)
        },
        Datum::Date(_) => SqlType::new(TypeKind::Date),
        Datum::DateTime(v) => {
            let fsp = if v.micro() == 0 { 0 } else { 6 };
            SqlType {
                scale: fsp,
                length: 19 + fsp as u32 + (fsp > 0) as u32,
                ..SqlType::new(TypeKind::DateTime)
            }
        }
        Datum::Time(v) => {
            let fsp = if v.micro() == 0 { 0 } else { 6 };
            SqlType {
                scale: fsp,
                ..SqlType::new(TypeKind::Time)
            }
        }
    }
}

/// Characters a value of this type needs as text.
fn text_length(t: &SqlType) -> u32 {
    match t.kind {
        TypeKind::Decimal => t.length + 2,
        TypeKind::Float => 12,
        TypeKind::Double => 22,
        TypeKind::Date => 10,
        TypeKind::DateTime | TypeKind::Timestamp => {
            19 + if t.scale > 0 && t.scale <= 6 {
                t.scale as u32 + 1
            } else {
                0
            }
        }
        TypeKind::Time => {
            10 + if t.scale > 0 && t.scale <= 6 {
                t.scale as u32 + 1
            } else {
                0
            }
        }
        _ => t.length,
    }
}

/// The common type of values that may each be the result (CASE branches,
/// IF, IFNULL, COALESCE, GREATEST/LEAST): MySQL's type aggregation.
pub(crate) fn merge_types(types: &[SqlType]) -> SqlType {
    let known: Vec<&SqlType> = types.iter().filter(|t| t.kind != TypeKind::Null).collect();
    let Some(first) = known.first() else {
        return SqlType::new(TypeKind::Null);
    };
    let temporal = |t: &SqlType| {
        matches!(
            t.kind,
            TypeKind::Date | TypeKind::DateTime | TypeKind::Timestamp | TypeKind::Time
        )
    };
    let stringy = |t: &SqlType| t.is_string() && t.kind != TypeKind::Json;
    if known
        .iter()
        .all(|t| t.kind == first.kind && !t.is_integer() && t.kind != TypeKind::Decimal)
        && !stringy(first)
    {
        let scale = known.iter().map(|t| t.scale).max().unwrap_or(0);
        return SqlType {
            scale,
            ..(*first).clone()
        };
    }
    if known.iter().all(|t| temporal(t)) {
        let scale = known
            .iter()
            .map(|t| t.scale)
            .filter(|&s| s <= 6)
            .max()
            .unwrap_or(0);
        return SqlType {
            scale,
            ..SqlType::new(TypeKind::DateTime)
        };
    }
    if known
        .iter()
        .any(|t| stringy(t) || temporal(t) || t.kind == TypeKind::Json)
    {
        let length = known.iter().map(|t| text_length(t)).max().unwrap_or(0);
        let binary = known
            .iter()
            .any(|t| stringy(t) && t.collation == Collation::Binary);
        let collation = if binary {
            Collation::Binary
        } else {
            // Text of one character set: a _bin collation wins over _ci.
            known
                .iter()
                .filter(|t| stringy(t))
                .map(|t| t.collation)
                .find(|&c| c == Collation::Utf8mb4Bin)
                .unwrap_or(Collation::Utf8mb4GeneralCi)
        };
        let kind = match (binary, length > 65_535) {
            (true, false) => TypeKind::VarBinary,
            (true, true) => TypeKind::Blob,
            (false, false) => TypeKind::VarChar,
            (false, true) => TypeKind::Text,
        };
        return SqlType {
            length,
            collation,
            ..SqlType::new(kind)
        };
    }
    if known.iter().any(|t| class(t) == Class::Double) {
        return SqlType::new(TypeKind::Double);
    }
    if known.iter().any(|t| t.kind == TypeKind::Decimal) {
        let scale = known.iter().map(|t| decimal_shape(t).1).max().unwrap_or(0);
        let int = known.iter().map(|t| {
            let (p, s) = decimal_shape(t);
            p - s.min(p)
        });
        return decimal_type(int.max().unwrap_or(1) + scale, scale);
    }
    let unsigned = known.iter().all(|t| t.unsigned);
    let length = known.iter().map(|t| t.length).max().unwrap_or(1);
    SqlType {
        unsigned,
        length,
        ..SqlType::new(TypeKind::BigInt)
    }
}

#[cfg(test)]
pub(crate) mod tests;
