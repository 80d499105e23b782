//! Bound expressions: SQL expressions after name resolution, ready to
//! evaluate against a row.
//!
//! The planner turns parsed expressions into [`Expr`] trees whose column
//! references are positions in the input row, so evaluation never looks a
//! name up. Evaluation follows MySQL's value semantics (implicit casts,
//! collations, NULL rules, warnings versus errors under `sql_mode`); the
//! rules live in the submodules:
//!
//! - [`eval`]: evaluating a tree against a row, operators and comparisons;
//! - [`func`]: scalar functions by name;
//! - [`agg`]: aggregate functions and their accumulators;
//! - [`cast`]: conversions between kinds, and storing a value into a column
//!   of a declared type (range and length checks);
//! - [`json_order`]: how JSON values compare.

pub mod agg;
pub mod cast;
pub mod eval;
pub mod func;
pub mod json_order;

use crate::types::{Collation, SqlType};
use codec::Datum;
use std::collections::HashMap;

/// Unary operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `NOT x` / `!x`.
    Not,
    /// `~x`.
    BitNot,
}

/// Binary operators.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/` (decimal or double division, NULL on division by zero).
    Div,
    /// `DIV` (integer division).
    IntDiv,
    /// `%` / `MOD`.
    Mod,
    /// `=`.
    Eq,
    /// `<=>` (NULL-safe equality).
    NullSafeEq,
    /// `<>` / `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `AND` / `&&`.
    And,
    /// `OR` / `||`.
    Or,
    /// `XOR`.
    Xor,
    /// `&`.
    BitAnd,
    /// `|`.
    BitOr,
    /// `^`.
    BitXor,
    /// `<<`.
    Shl,
    /// `>>`.
    Shr,
}

impl BinaryOp {
    /// A comparison's operator as MySQL writes it (in error 1267), or
    /// `None` for an operator that compares no strings.
    pub fn comparison(self) -> Option<&'static str> {
        Some(match self {
            BinaryOp::Eq => "=",
            BinaryOp::NullSafeEq => "<=>",
            BinaryOp::Ne => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            _ => return None,
        })
    }
}

/// A bound expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A constant, already of its final kind.
    Literal(Datum),
    /// The value at this position of the input row.
    Column(usize),
    /// A column of an enclosing query's current row, read by a correlated
    /// subquery (see [`OuterRef`]).
    Outer(Box<OuterRef>),
    /// A `?` placeholder of a prepared statement: its value comes from
    /// [`EvalContext::params`] at each execution, so one plan serves them
    /// all. The type is the one its value had when the plan was made (plans
    /// are cached per parameter kinds, see `session::plan_cache`).
    Param(usize, SqlType),
    /// A user variable `@name` (NULL when unset).
    UserVar(String),
    /// A unary operation.
    Unary(UnaryOp, Box<Expr>),
    /// A binary operation. `collation` decides string comparisons; the
    /// planner derives it from the operands (a column's collation wins over
    /// a literal's, as MySQL's coercibility rules say).
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
        /// How strings compare.
        collation: Collation,
    },
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `expr IS [NOT] TRUE|FALSE`.
    IsBool {
        /// The operand.
        expr: Box<Expr>,
        /// TRUE or FALSE.
        value: bool,
        /// `IS NOT`.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`.
    InList {
        /// The operand.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
        /// How strings compare.
        collation: Collation,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The operand.
        expr: Box<Expr>,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
        /// How strings compare.
        collation: Collation,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE c]`.
    Like {
        /// The operand.
        expr: Box<Expr>,
        /// The pattern (`%`, `_`).
        pattern: Box<Expr>,
        /// The escape character (default `\`).
        escape: u8,
        /// `NOT LIKE`.
        negated: bool,
        /// How characters compare.
        collation: Collation,
    },
    /// `CASE [operand] WHEN .. THEN .. [ELSE ..] END`.
    Case {
        /// The simple-CASE operand, if any.
        operand: Option<Box<Expr>>,
        /// `(WHEN, THEN)` pairs.
        whens: Vec<(Expr, Expr)>,
        /// The ELSE branch (NULL when absent).
        otherwise: Option<Box<Expr>>,
        /// How strings compare (simple CASE).
        collation: Collation,
    },
    /// `CAST(expr AS type)` / `CONVERT(expr, type)`.
    Cast(Box<Expr>, SqlType),
    /// `expr COLLATE name`: the value of `expr` (already a string of that
    /// collation), marked so that the explicit collation wins a comparison
    /// over a column's (MySQL's coercibility 0).
    Collate(Box<Expr>, Collation),
    /// A scalar function call, with the collation its string comparisons
    /// use (LOCATE, FIELD, STRCMP, GREATEST...), which the planner derives
    /// from the arguments as it does for operators.
    Call(func::Func, Vec<Expr>, Collation),
    /// A subquery. The executor runs an uncorrelated one once before the
    /// statement's own rows, a correlated one once per row of the query it
    /// refers to, and replaces this node by its result (a literal, or an IN
    /// list), so evaluation never meets it.
    Subquery(Box<Subquery>),
}

impl Expr {
    /// Whether this is a condition, whose value is true, false or unknown
    /// (MySQL's boolean functions): a comparison, AND / OR / XOR / NOT, IS,
    /// IN, BETWEEN or LIKE.
    pub fn is_condition(&self) -> bool {
        match self {
            Expr::Binary { op, .. } => matches!(
                op,
                BinaryOp::Eq
                    | BinaryOp::NullSafeEq
                    | BinaryOp::Ne
                    | BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge
                    | BinaryOp::And
                    | BinaryOp::Or
                    | BinaryOp::Xor
            ),
            Expr::Unary(op, _) => *op == UnaryOp::Not,
            Expr::IsNull { .. }
            | Expr::IsBool { .. }
            | Expr::InList { .. }
            | Expr::Between { .. }
            | Expr::Like { .. } => true,
            _ => false,
        }
    }

    /// Push the input columns this expression reads onto `out`. Returns
    /// false if it holds a subquery, whose column uses (correlated ones read
    /// the enclosing row) are not looked into: the caller must then assume
    /// every column is read.
    pub fn columns_used(&self, out: &mut Vec<usize>) -> bool {
        fn all<'e>(exprs: impl IntoIterator<Item = &'e Expr>, out: &mut Vec<usize>) -> bool {
            exprs.into_iter().all(|e| e.columns_used(out))
        }
        match self {
            Expr::Column(i) => {
                out.push(*i);
                true
            }
            Expr::Literal(_) | Expr::Outer(_) | Expr::Param(..) | Expr::UserVar(_) => true,
            Expr::Unary(_, e) | Expr::IsNull { expr: e, .. } | Expr::IsBool { expr: e, .. } => {
                e.columns_used(out)
            }
            Expr::Cast(e, _) | Expr::Collate(e, _) => e.columns_used(out),
            Expr::Binary { left, right, .. } => left.columns_used(out) && right.columns_used(out),
            Expr::InList { expr, list, .. } => expr.columns_used(out) && all(list, out),
            Expr::Between {
                expr, low, high, ..
            } => expr.columns_used(out) && low.columns_used(out) && high.columns_used(out),
            Expr::Like { expr, pattern, .. } => expr.columns_used(out) && pattern.columns_used(out),
            Expr::Case {
                operand,
                whens,
                otherwise,
                ..
            } => {
                operand.iter().all(|e| e.columns_used(out))
                    && all(whens.iter().flat_map(|(w, t)| [w, t]), out)
                    && otherwise.iter().all(|e| e.columns_used(out))
            }
            Expr::Call(_, args, _) => all(args, out),
            Expr::Subquery(_) => false,
        }
    }
}

/// A reference from inside a subquery to a column of an enclosing query.
#[derive(Clone, Debug, PartialEq)]
pub struct OuterRef {
    /// How many queries out: 1 is the query the subquery sits in.
    pub depth: usize,
    /// The column's position in that query's row.
    pub column: usize,
    /// Its type.
    pub ty: SqlType,
}

/// What a subquery stands for in its enclosing expression.
#[derive(Clone, Debug, PartialEq)]
pub enum SubqueryKind {
    /// `(SELECT ...)`: the single value of its single row (NULL for no row).
    Scalar,
    /// `EXISTS (SELECT ...)`: 1 if it returns a row, else 0.
    Exists,
    /// `expr [NOT] IN (SELECT ...)`.
    In {
        /// The operand.
        expr: Box<Expr>,
        /// `NOT IN`.
        negated: bool,
        /// How strings compare.
        collation: Collation,
    },
    /// `expr op ANY|SOME|ALL (SELECT ...)`.
    Quantified {
        /// The operand.
        expr: Box<Expr>,
        /// The comparison.
        op: BinaryOp,
        /// ALL (else ANY).
        all: bool,
        /// How strings compare.
        collation: Collation,
    },
}

impl SubqueryKind {
    /// The operand compared with the subquery's rows, if any.
    pub fn operand(&self) -> Option<&Expr> {
        match self {
            SubqueryKind::In { expr, .. } | SubqueryKind::Quantified { expr, .. } => Some(expr),
            SubqueryKind::Scalar | SubqueryKind::Exists => None,
        }
    }

    /// [`SubqueryKind::operand`], mutable.
    pub fn operand_mut(&mut self) -> Option<&mut Expr> {
        match self {
            SubqueryKind::In { expr, .. } | SubqueryKind::Quantified { expr, .. } => Some(expr),
            SubqueryKind::Scalar | SubqueryKind::Exists => None,
        }
    }
}

/// A planned subquery inside an expression.
#[derive(Clone, Debug)]
pub struct Subquery {
    /// Its plan.
    pub plan: std::sync::Arc<crate::plan::Plan>,
    /// How its rows become a value.
    pub kind: SubqueryKind,
    /// The type of its (single) column.
    pub ty: SqlType,
    /// Whether it reads columns of an enclosing query, so that it must run
    /// again for each of that query's rows.
    pub correlated: bool,
}

impl PartialEq for Subquery {
    /// Two subquery nodes are the same expression only if they are the same
    /// planned subquery.
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.plan, &other.plan) && self.kind == other.kind
    }
}

/// Bits of `sql_mode` that change evaluation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SqlMode {
    /// STRICT_TRANS_TABLES or STRICT_ALL_TABLES: bad values in writes are errors.
    pub strict: bool,
    /// ERROR_FOR_DIVISION_BY_ZERO: division by zero in writes warns or errs.
    pub error_for_division_by_zero: bool,
    /// NO_ZERO_DATE.
    pub no_zero_date: bool,
    /// NO_ZERO_IN_DATE.
    pub no_zero_in_date: bool,
    /// ONLY_FULL_GROUP_BY.
    pub only_full_group_by: bool,
    /// PIPES_AS_CONCAT: `||` concatenates.
    pub pipes_as_concat: bool,
    /// NO_AUTO_VALUE_ON_ZERO: only NULL asks AUTO_INCREMENT for a value.
    pub no_auto_value_on_zero: bool,
}

impl Default for SqlMode {
    /// MySQL 8's default: ONLY_FULL_GROUP_BY, STRICT_TRANS_TABLES,
    /// NO_ZERO_IN_DATE, NO_ZERO_DATE, ERROR_FOR_DIVISION_BY_ZERO,
    /// NO_ENGINE_SUBSTITUTION.
    fn default() -> Self {
        Self {
            strict: true,
            error_for_division_by_zero: true,
            no_zero_date: true,
            no_zero_in_date: true,
            only_full_group_by: true,
            pipes_as_concat: false,
            no_auto_value_on_zero: false,
        }
    }
}

/// Severity of a diagnostic, as `SHOW WARNINGS` prints it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Level {
    /// Note.
    Note,
    /// Warning.
    Warning,
    /// Error.
    Error,
}

/// One entry of `SHOW WARNINGS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Severity.
    pub level: Level,
    /// MySQL error number.
    pub code: u16,
    /// Message.
    pub message: String,
}

/// What evaluation needs besides the row: the rules in force, the clock,
/// session variables, and where to put warnings.
#[derive(Debug)]
pub struct EvalContext<'a> {
    /// The session's sql_mode.
    pub sql_mode: SqlMode,
    /// Whether the statement writes (INSERT/UPDATE/...): strict mode turns
    /// some warnings into errors only for writes.
    pub in_write: bool,
    /// The statement's start time, local to the session time zone: NOW(),
    /// CURDATE() and friends return it for the whole statement.
    pub now: codec::DateTime,
    /// The session's user variables.
    pub user_vars: &'a HashMap<String, Datum>,
    /// Warnings raised so far by this statement.
    pub warnings: Vec<Warning>,
    /// LAST_INSERT_ID() as the session knows it.
    pub last_insert_id: u64,
    /// ROW_COUNT(): the previous statement's affected rows (-1 after a
    /// result set).
    pub row_count: i64,
    /// The current database, for DATABASE().
    pub database: Option<String>,
    /// The rows of the enclosing queries a correlated subquery is running
    /// for, innermost last ([`Expr::Outer`] reads them).
    pub outer_rows: Vec<Vec<Datum>>,
    /// Values of the statement's `?` placeholders ([`Expr::Param`]).
    pub params: &'a [Datum],
    /// Set when a placeholder was evaluated. While planning, this tells that
    /// the plan depends on the values themselves, not just their kinds, and
    /// so cannot be reused for other values.
    pub params_read: bool,
    /// The connection running the statement, whose KILL flag long-running
    /// operators check ([`EvalContext::check_killed`]).
    pub process: Option<&'a crate::process::Process>,
    /// Under EXPLAIN ANALYZE, the figures of each operator of the plan
    /// being run, by pre-order number ([`crate::exec::OperatorStats`]).
    pub analysis: Option<Vec<crate::exec::OperatorStats>>,
    /// While a locking read (`SELECT ... FOR UPDATE`) runs, the row keys
    /// its plan hands over to be locked ([`crate::exec::RowLocks`]).
    pub row_locks: Option<crate::exec::RowLocks>,
    /// `foreign_key_checks`: off, writes neither check nor cascade foreign
    /// keys, and DDL accepts references to missing parents.
    pub foreign_key_checks: bool,
    /// `collation_connection`: the collation of string literals.
    pub collation_connection: Collation,
    /// What the statement's rows hold in memory, against
    /// `tidb_mem_quota_query`.
    pub memory: crate::memory::StatementMemory<'a>,
    /// When a SELECT's `max_execution_time` runs out.
    pub deadline: Option<std::time::Instant>,
    /// Rows the statement's operators have worked through, which sets
    /// where it pauses (`exec::step`). Atomic only so that operators
    /// holding a shared reference can count.
    pub work: std::sync::atomic::AtomicUsize,
}

impl EvalContext<'_> {
    /// Fail with error 1317 once `KILL` stopped this statement, with 8176
    /// once `tidb_server_memory_limit` did, and with 3024 once its
    /// `max_execution_time` ran out.
    pub fn check_killed(&self) -> Result<(), crate::result::SqlError> {
        use crate::process::Kill;
        match self.process.map(|p| (p, p.kill_state())) {
            Some((p, Kill::Memory)) => Err(crate::memory::server_limit_exceeded(p.id())),
            Some((_, Kill::Query | Kill::Connection)) => Err(crate::error::query_interrupted()),
            _ if self
                .deadline
                .is_some_and(|d| std::time::Instant::now() >= d) =>
            {
                Err(crate::result::SqlError::new(
                    3024,
                    "HY000",
                    "Query execution was interrupted, maximum statement execution time exceeded",
                ))
            }
            _ => Ok(()),
        }
    }
}
