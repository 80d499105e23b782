//! MySQL's precedence for the `BINARY` operator.
//!
//! In MySQL `BINARY` binds tighter than any infix operator: `BINARY name =
//! 'abc'` is `(BINARY name) = 'abc'`, a byte comparison. sqlparser reads the
//! whole rest of the expression as its operand, `CAST(name = 'abc' AS
//! BINARY)`, which compares in the column's collation and then casts the 0
//! or 1: a silent wrong answer. After parsing, each such cast that was
//! written as the `BINARY` prefix (told from `CAST(... AS BINARY)` by the
//! word before its operand in the text) is moved onto the operand's
//! leftmost term.

use sqlparser::ast::{CastKind, DataType, Expr, Spanned, VisitMut, visit_expressions_mut};
use sqlparser::tokenizer::Location;
use std::ops::ControlFlow;

/// Rebinds the `BINARY` prefixes in `parsed` (statements or an
/// expression), parsed from `text`.
pub(crate) fn bind_tightly<V: VisitMut>(parsed: &mut V, text: &str) {
    let _ = visit_expressions_mut(parsed, |e| {
        if let Expr::Cast {
            kind: CastKind::Cast,
            expr,
            data_type: DataType::Binary(None),
            format: None,
        } = e
            && loose(expr)
            && written_as_prefix(text, expr.span().start)
        {
            let operand = std::mem::replace(&mut **expr, Expr::value(sqlparser::ast::Value::Null));
            *e = onto_leftmost(operand);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Whether `e` has a leftmost term an infix or postfix operator applies to
/// (what the prefix must bind to instead of the whole).
fn loose(e: &Expr) -> bool {
    matches!(
        e,
        Expr::BinaryOp { .. }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::Like { .. }
            | Expr::ILike { .. }
            | Expr::RLike { .. }
            | Expr::SimilarTo { .. }
            | Expr::In { .. }
            | Expr::Between { .. }
    )
}

/// `BINARY` applied to the leftmost term of `e`.
fn onto_leftmost(e: Expr) -> Expr {
    let tight = |inner: Box<Expr>| Box::new(onto_leftmost(*inner));
    match e {
        Expr::BinaryOp { left, op, right } => Expr::BinaryOp {
            left: tight(left),
            op,
            right,
        },
        Expr::IsNull(x) => Expr::IsNull(tight(x)),
        Expr::IsNotNull(x) => Expr::IsNotNull(tight(x)),
        Expr::IsTrue(x) => Expr::IsTrue(tight(x)),
        Expr::IsNotTrue(x) => Expr::IsNotTrue(tight(x)),
        Expr::IsFalse(x) => Expr::IsFalse(tight(x)),
        Expr::IsNotFalse(x) => Expr::IsNotFalse(tight(x)),
        Expr::IsUnknown(x) => Expr::IsUnknown(tight(x)),
        Expr::IsNotUnknown(x) => Expr::IsNotUnknown(tight(x)),
        Expr::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::Like {
            negated,
            any,
            expr: tight(expr),
            pattern,
            escape_char,
        },
        Expr::ILike {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => Expr::ILike {
            negated,
            any,
            expr: tight(expr),
            pattern,
            escape_char,
        },
        Expr::RLike {
            negated,
            expr,
            pattern,
            regexp,
        } => Expr::RLike {
            negated,
            expr: tight(expr),
            pattern,
            regexp,
        },
        Expr::SimilarTo {
            negated,
            expr,
            pattern,
            escape_char,
        } => Expr::SimilarTo {
            negated,
            expr: tight(expr),
            pattern,
            escape_char,
        },
        Expr::In {
            expr,
            target,
            negated,
            global,
        } => Expr::In {
            expr: tight(expr),
            target,
            negated,
            global,
        },
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: tight(expr),
            negated,
            low,
            high,
        },
        term => Expr::Cast {
            kind: CastKind::Cast,
            expr: Box::new(term),
            data_type: DataType::Binary(None),
            format: None,
        },
    }
}

/// Whether the word just before `at` in `text` is `BINARY` (the prefix
/// form; `CAST(x AS BINARY)` has a parenthesis there). Unknown locations
/// say no, which keeps sqlparser's reading.
fn written_as_prefix(text: &str, at: Location) -> bool {
    if at.line == 0 || at.column == 0 {
        return false;
    }
    let Some(line_start) = text
        .split_inclusive('\n')
        .take(at.line as usize - 1)
        .map(str::len)
        .try_fold(0usize, |sum, n| sum.checked_add(n))
    else {
        return false;
    };
    let Some(line) = text.get(line_start..) else {
        return false;
    };
    let offset = line
        .char_indices()
        .nth(at.column as usize - 1)
        .map_or(line.len(), |(i, _)| i);
    let before = text[..line_start + offset].trim_end();
    before.len() >= 6
        && before.is_char_boundary(before.len() - 6)
        && before[before.len() - 6..].eq_ignore_ascii_case("binary")
        && !before[..before.len() - 6]
            .ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use sqlparser::dialect::MySqlDialect;
    use sqlparser::parser::Parser;

    fn rebound(sql: &str) -> String {
        let mut statements = Parser::parse_sql(&MySqlDialect {}, sql).unwrap();
        super::bind_tightly(&mut statements, sql);
        statements[0].to_string()
    }

    #[test]
    fn the_prefix_binds_to_the_leftmost_term() {
        assert_eq!(
            rebound("SELECT id FROM n WHERE BINARY name = 'abc' AND id > 1"),
            "SELECT id FROM n WHERE CAST(name AS BINARY) = 'abc' AND id > 1"
        );
        assert_eq!(
            rebound("SELECT BINARY a LIKE 'x%', BINARY\n  b IN (1)"),
            "SELECT CAST(a AS BINARY) LIKE 'x%', CAST(b AS BINARY) IN (1)"
        );
    }

    #[test]
    fn an_explicit_cast_keeps_its_operand() {
        assert_eq!(
            rebound("SELECT CAST(a = b AS BINARY), CONCAT(x, 'binary') = y"),
            "SELECT CAST(a = b AS BINARY), CONCAT(x, 'binary') = y"
        );
    }
}
