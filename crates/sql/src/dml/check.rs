//! CHECK constraints (MySQL 8.0.16+): each write binds its table's enforced
//! constraints once, from their stored SQL text, and evaluates them on every
//! row it writes. A constraint is violated only by FALSE: NULL (unknown)
//! passes, as in MySQL.

use crate::catalog::{CheckDef, TableDef};
use crate::error;
use crate::expr::eval::truth;
use crate::expr::func::Func;
use crate::expr::{EvalContext, Expr, Level, Warning};
use crate::plan::Planner;
use crate::result::SqlError;
use codec::Datum;
use sqlparser::ast;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use std::sync::Arc;

/// A table's enforced CHECK constraints, bound for one statement.
pub struct Checks {
    bound: Vec<(String, Expr)>,
}

impl Checks {
    /// Bind the enforced ones of `checks` (constraints of `table`) against
    /// its row.
    pub fn bind<'t>(
        p: &mut Planner<'_, '_>,
        db: &str,
        table: &Arc<TableDef>,
        checks: impl IntoIterator<Item = &'t CheckDef>,
    ) -> Result<Self, SqlError> {
        let mut bound = Vec::new();
        for check in checks.into_iter().filter(|c| c.enforced) {
            bound.push((check.name.clone(), bind_clause(p, db, table, check)?));
        }
        Ok(Checks { bound })
    }

    /// Whether `row` may be written. A violation is 3819, or under IGNORE a
    /// warning and `false`: the row is skipped.
    pub fn verify(
        &self,
        row: &[Datum],
        ignore: bool,
        ctx: &mut EvalContext<'_>,
    ) -> Result<bool, SqlError> {
        for (name, expr) in &self.bound {
            let value = expr.eval(row, ctx)?;
            if truth(&value, ctx)? == Some(false) {
                let e = violated(name);
                if !ignore {
                    return Err(e);
                }
                ctx.warnings.push(Warning {
                    level: Level::Warning,
                    code: e.code,
                    message: e.message,
                });
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// 3819.
pub fn violated(name: &str) -> SqlError {
    SqlError::new(
        3819,
        "HY000",
        format!("Check constraint '{name}' is violated."),
    )
}

/// Parse a stored (or declared) CHECK expression.
pub fn parse_clause(text: &str) -> Result<ast::Expr, SqlError> {
    let mut clause = Parser::new(&MySqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| error::internal(format!("stored CHECK clause {text}: {e}")))?;
    crate::binary_prefix::bind_tightly(&mut clause, text);
    Ok(clause)
}

/// Bind `check` over `table`'s row, refusing what MySQL refuses in a CHECK
/// clause: unknown columns (3820), AUTO_INCREMENT columns (3818), variables
/// (3816), subqueries (3815) and functions whose value is not fixed by the
/// row (3814).
pub fn bind_clause(
    p: &mut Planner<'_, '_>,
    db: &str,
    table: &Arc<TableDef>,
    check: &CheckDef,
) -> Result<Expr, SqlError> {
    let name = &check.name;
    let parsed = parse_clause(&check.clause)?;
    let scope = p.table_scope(db, table, None);
    let expr = p.bind(&parsed, &scope, "check constraint").map_err(|e| {
        match (e.code, e.message.split('\'').nth(1)) {
            (1054, Some(col)) => SqlError::new(
                3820,
                "HY000",
                format!("Check constraint '{name}' refers to non-existing column '{col}'."),
            ),
            _ => e,
        }
    })?;
    let refused = |code: u16, message: String| Err(SqlError::new(code, "HY000", message));
    if !is_condition(&expr) {
        return refused(
            3812,
            format!("An expression of non-boolean type specified to a check constraint '{name}'."),
        );
    }
    let mut columns = Vec::new();
    if !expr.columns_used(&mut columns) || expr.any(&|e| matches!(e, Expr::Subquery(_))) {
        return refused(
            3815,
            format!("An expression of a check constraint '{name}' contains disallowed function."),
        );
    }
    if expr.any(&|e| matches!(e, Expr::UserVar(_))) {
        return refused(
            3816,
            format!(
                "An expression of a check constraint '{name}' cannot refer to a user or system variable."
            ),
        );
    }
    if let Some(f) = unfixed_function(&expr) {
        return refused(
            3814,
            format!(
                "An expression of a check constraint '{name}' contains disallowed function: {}.",
                f.name().to_lowercase()
            ),
        );
    }
    for &pos in &columns {
        // Past the columns: the hidden row id.
        let Some(col) = table.columns.get(pos) else {
            return refused(
                3820,
                format!("Check constraint '{name}' refers to non-existing column '_tidb_rowid'."),
            );
        };
        if col.auto_increment {
            return refused(
                3818,
                format!("Check constraint '{name}' cannot refer to an auto-increment column."),
            );
        }
    }
    Ok(expr)
}

/// The first function call in `expr` whose value the row does not fix (the
/// clock, random values, session state).
fn unfixed_function(expr: &Expr) -> Option<Func> {
    let found = std::cell::Cell::new(None);
    expr.any(&|e| match e {
        Expr::Call(f, ..) if !f.is_deterministic() || matches!(f, Func::ConnectionId) => {
            found.set(Some(*f));
            true
        }
        _ => false,
    });
    found.get()
}

/// Whether MySQL takes `expr` as a CHECK condition (3812 otherwise): a
/// condition or a function (JSON_VALID(j)), not a bare column, arithmetic,
/// CASE or CAST.
fn is_condition(expr: &Expr) -> bool {
    expr.is_condition()
        || matches!(
            expr,
            Expr::Call(..)
                | Expr::Literal(_)
                | Expr::Subquery(_)
                | Expr::Param(..)
                | Expr::UserVar(_)
                | Expr::Outer(_)
                | Expr::Collate(..)
        )
}
