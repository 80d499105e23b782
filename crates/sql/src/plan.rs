//! From a parsed query to a [`Plan`]: resolve names against the schema,
//! bind expressions, choose how each table is read, and lay out the SELECT
//! pipeline (filter → aggregate → having → project → distinct → sort →
//! limit).
//!
//! Access paths, best first: point get by handle (`pk = c`, `pk IN (..)`),
//! unique-index point lookup, handle range (`pk BETWEEN a AND b`), index
//! range on an index's first column, full scan. Whatever the path, the whole
//! WHERE clause is still applied to the rows read, so a path only has to be
//! a superset of the answer.

use crate::catalog::{IndexDef, InfoSchema, TableDef};
use crate::error::{self, unknown_column};
use crate::expr::agg::AggFunc;
use crate::expr::eval::merge_types;
use crate::expr::func::{Func, IntervalUnit, JsonArgs};
use crate::expr::{BinaryOp, EvalContext, Expr, OuterRef, Subquery, SubqueryKind, UnaryOp};
use crate::optimizer;
use crate::result::{ColumnInfo, SqlError};
use crate::table_lock::TableLocks;
use crate::temporary::TemporaryTables;
use crate::types::{Collation, SqlType, TypeKind};
use codec::Datum;
use sqlparser::ast;
use std::sync::Arc;

/// One column visible to expressions: where it comes from and its type.
#[derive(Clone, Debug)]
pub struct ScopeColumn {
    /// The table alias (lowercase) it can be qualified with.
    pub qualifier: Option<String>,
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: SqlType,
    /// How it is described to clients when selected as is.
    pub info: ColumnInfo,
    /// Hidden columns (a table's row handle) are not part of `*`.
    pub hidden: bool,
    /// Only a qualified name reaches it, and `*` skips it (the inner side's
    /// column of a JOIN ... USING).
    pub qualified_only: bool,
    /// For a table's hidden handle column, the table: what a locking read
    /// (`FOR UPDATE`) of the row locks.
    pub handle_of: Option<Arc<TableDef>>,
}

/// The columns of a plan's output rows, by position.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Columns in row order.
    pub columns: Vec<ScopeColumn>,
}

impl Scope {
    /// The position of the column `[qualifier.]name`: 1054 when none has
    /// that name, 1052 when several have and no qualifier tells them apart.
    pub(crate) fn resolve(
        &self,
        qualifier: Option<&str>,
        name: &str,
        clause: &str,
    ) -> Result<usize, SqlError> {
        let mut found = None;
        for (i, c) in self.columns.iter().enumerate() {
            let name_ok = c.name.eq_ignore_ascii_case(name);
            let qual_ok = match qualifier {
                // Synthetic columns (qualifier starting with NUL, like the
                // new row of ON DUPLICATE KEY UPDATE) are only reachable
                // qualified, so they never make a plain name ambiguous.
                None => {
                    !c.qualified_only
                        && !c.qualifier.as_deref().is_some_and(|q| q.starts_with('\0'))
                }
                Some(q) => c
                    .qualifier
                    .as_deref()
                    .is_some_and(|cq| cq.eq_ignore_ascii_case(q)),
            };
            if name_ok && qual_ok {
                if found.is_some() {
                    return Err(SqlError::new(
                        1052,
                        "23000",
                        format!("Column '{name}' in {clause} is ambiguous"),
                    ));
                }
                found = Some(i);
            }
        }
        found.ok_or_else(|| {
            let full = qualifier.map_or(name.to_string(), |q| format!("{q}.{name}"));
            unknown_column(&full, clause)
        })
    }

    /// The types of all columns, for type inference.
    pub fn types(&self) -> Vec<SqlType> {
        self.columns.iter().map(|c| c.ty.clone()).collect()
    }
}

/// How one table's rows are found.
#[derive(Clone, Debug)]
pub enum Access {
    /// Rows by handle.
    Handles(Vec<i64>),
    /// Row keys in `[start, end)`.
    HandleRange(Vec<u8>, Vec<u8>),
    /// Index keys in each `[start, end)`, then their rows.
    Index {
        /// Position in `TableDef::indexes`.
        index: usize,
        /// Key ranges.
        ranges: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// Every row.
    Full,
}

/// Which of a table's indexes its access path may use: MySQL's index hints
/// on the table reference (`USE | FORCE | IGNORE INDEX (...)`), one bit per
/// position in `TableDef::indexes` (MySQL allows 64 indexes a table). The
/// primary key's bit also covers reading a clustered table by handle. The
/// access path is chosen by rules that take a usable index over a full
/// scan, so FORCE INDEX means what USE INDEX means; a hint `FOR ORDER BY`
/// or `FOR GROUP BY` changes nothing, as no index is read for its order.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IndexChoice(u64);

impl IndexChoice {
    /// No hint: every index.
    pub const ALL: IndexChoice = IndexChoice(u64::MAX);

    /// The choice `hints` make on `table`: the union of its USE and FORCE
    /// lists (every index without one), less its IGNORE lists; 1176 for an
    /// index the table does not have (named in the message as `shown`, the
    /// reference's alias or the table's name).
    pub fn of(
        table: &TableDef,
        shown: &str,
        hints: &[ast::TableIndexDirective],
    ) -> Result<Self, SqlError> {
        let (mut wanted, mut ignored) = (None::<u64>, 0u64);
        for hint in hints {
            let ast::TableIndexDirective::MySql(hint) = hint else {
                return Err(error::unsupported(&hint.to_string()));
            };
            let mut named = 0u64;
            for name in &hint.index_names {
                let position = table.indexes.iter().position(|i| {
                    i.name.eq_ignore_ascii_case(&name.value)
                        || (i.primary && name.value.eq_ignore_ascii_case("PRIMARY"))
                });
                match position {
                    Some(p) if p < 64 => named |= 1 << p,
                    Some(_) => {}
                    None => {
                        return Err(SqlError::new(
                            1176,
                            "42000",
                            format!("Key '{}' doesn't exist in table '{shown}'", name.value),
                        ));
                    }
                }
            }
            if matches!(
                hint.for_clause,
                Some(ast::TableIndexHintForClause::OrderBy | ast::TableIndexHintForClause::GroupBy)
            ) {
                continue;
            }
            match hint.hint_type {
                ast::TableIndexHintType::Use | ast::TableIndexHintType::Force => {
                    wanted = Some(wanted.unwrap_or(0) | named)
                }
                ast::TableIndexHintType::Ignore => ignored |= named,
            }
        }
        Ok(IndexChoice(wanted.unwrap_or(u64::MAX) & !ignored))
    }

    /// Whether the index at `position` may be read.
    fn allows(self, position: usize) -> bool {
        position < 64 && self.0 & (1 << position) != 0
    }
}

/// An aggregate computed by [`Plan::Aggregate`].
#[derive(Clone, Debug)]
pub struct AggCall {
    /// The function; `None` keeps the group's first value (a column that is
    /// neither grouped nor aggregated, as MySQL without ONLY_FULL_GROUP_BY).
    pub func: Option<AggFunc>,
    /// Its argument.
    pub arg: Expr,
    /// `DISTINCT` arguments only.
    pub distinct: bool,
    /// How string arguments compare (MIN, MAX, DISTINCT).
    pub collation: Collation,
    /// GROUP_CONCAT's `ORDER BY`, over the input row.
    pub order: Vec<AggOrder>,
    /// GROUP_CONCAT's `SEPARATOR` (a comma when not given).
    pub separator: Option<Vec<u8>>,
}

/// One key of an aggregate's `ORDER BY`.
#[derive(Clone, Debug)]
pub struct AggOrder {
    /// The key, over the input row.
    pub expr: Expr,
    /// DESC.
    pub desc: bool,
    /// String order.
    pub collation: Collation,
}

/// One ORDER BY key over a plan's output.
#[derive(Clone, Debug)]
pub struct SortKey {
    /// Output column.
    pub column: usize,
    /// DESC.
    pub desc: bool,
    /// String order.
    pub collation: Collation,
}

/// How a locking read treats a row another transaction has locked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RowLockWait {
    /// Wait for it (up to `innodb_lock_wait_timeout`).
    Wait,
    /// `NOWAIT`: fail the statement at once (3572).
    NoWait,
    /// `SKIP LOCKED`: leave the row out of the result.
    SkipLocked,
}

/// A table whose rows a locking read (`SELECT ... FOR UPDATE | FOR SHARE`)
/// locks, and where its row handle is in the rows of [`Plan::Lock`].
#[derive(Clone, Debug)]
pub struct LockTarget {
    /// The table.
    pub table: Arc<TableDef>,
    /// The column holding its handle (NULL on an outer join's missing side).
    pub column: usize,
    /// What to do about a row locked by another transaction.
    pub wait: RowLockWait,
}

/// Join kinds the executor runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum JoinKind {
    /// INNER / CROSS.
    Inner,
    /// LEFT OUTER.
    Left,
}

/// One equality of a hash join (`left = right` in the join condition):
/// `left` over the outer side's rows, `right` over the inner side's. The
/// two sides' types compare the way their key bytes
/// ([`crate::expr::eval::group_key_into`] in `collation`) do, which the
/// optimizer checks before making an equality a key.
#[derive(Clone, Debug)]
pub struct JoinKey {
    /// Over the outer row.
    pub left: Expr,
    /// Over the inner row.
    pub right: Expr,
    /// How strings compare.
    pub collation: Collation,
}

/// A query plan: a tree of operators producing rows.
#[derive(Clone, Debug)]
pub enum Plan {
    /// One row with no columns (`SELECT 1`).
    Dual,
    /// Rows of a table: every column, then the handle.
    Read {
        /// The table.
        table: Arc<TableDef>,
        /// How rows are found.
        access: Access,
        /// The indexes `access` may use (index hints).
        indexes: IndexChoice,
        /// The columns to decode (the others read as NULL); `None` is all.
        /// Set by [`prune`](crate::prune::prune).
        columns: Option<Arc<[bool]>>,
    },
    /// Rows for which the predicate is true.
    Filter(Box<Plan>, Expr),
    /// A join; output is left columns then right columns. With `keys`, a
    /// hash join: only pairs whose keys are equal (none NULL) are tried.
    /// Without, a nested loop over every pair.
    Join {
        /// Outer side.
        left: Box<Plan>,
        /// Inner side.
        right: Box<Plan>,
        /// INNER or LEFT.
        kind: JoinKind,
        /// Equalities between the sides (see [`JoinKey`]).
        keys: Vec<JoinKey>,
        /// The rest of the join condition, over the concatenated row.
        on: Option<Expr>,
        /// Number of right columns (for NULL-extending).
        right_width: usize,
    },
    /// Group rows; output is the group-by values then the aggregates. With no
    /// GROUP BY, exactly one row (even over no input).
    Aggregate {
        /// Input.
        input: Box<Plan>,
        /// Grouping expressions.
        group_by: Vec<Expr>,
        /// The collation each grouping value is compared in.
        collations: Vec<Collation>,
        /// WITH ROLLUP: after each group's rows, the super-aggregate rows of
        /// its shorter prefixes (the rest NULL), the groups in key order.
        rollup: bool,
        /// Aggregates.
        aggs: Vec<AggCall>,
    },
    /// Compute expressions.
    Project(Box<Plan>, Vec<Expr>),
    /// Remove duplicate rows, comparing the first `width` columns.
    Distinct(Box<Plan>, usize, Vec<Collation>),
    /// Order rows; with a count, keep only the first rows up to it (TiDB's
    /// TopN: a LIMIT right above, [`Plan::limit`], needs no more).
    Sort(Box<Plan>, Vec<SortKey>, Option<usize>),
    /// Skip `offset` rows, keep at most `count`.
    Limit {
        /// Input.
        input: Box<Plan>,
        /// Rows to skip.
        offset: usize,
        /// Rows to keep.
        count: Option<usize>,
    },
    /// Keep the first `width` columns (drops hidden ORDER BY keys).
    Truncate(Box<Plan>, usize),
    /// A locking read's rows: the keys of the rows of each target are
    /// handed to the statement, which locks them once the plan has run
    /// (TiDB's `SelectLock`). Rows of a `SKIP LOCKED` target found locked
    /// are left out. With `take`, only the first `take` rows pass (the
    /// LIMIT above keeps no more), so only those are locked.
    Lock {
        /// Input.
        input: Box<Plan>,
        /// Whose rows are locked.
        targets: Vec<LockTarget>,
        /// Rows to pass at most.
        take: Option<usize>,
    },
    /// UNION ALL, or, with the collations its columns compare in, UNION
    /// DISTINCT.
    Union(Vec<Plan>, Option<Vec<Collation>>),
}

/// A planned SELECT: the operator tree and its result columns.
#[derive(Clone, Debug)]
pub struct SelectPlan {
    /// Operators.
    pub plan: Plan,
    /// Result set columns.
    pub columns: Vec<ColumnInfo>,
    /// Result column types.
    pub types: Vec<SqlType>,
}

/// Name resolution and planning for one statement.
pub struct Planner<'a, 'c> {
    /// The schema snapshot the statement runs against.
    pub schema: &'a InfoSchema,
    /// The current database.
    pub database: Option<&'a str>,
    /// Values of `?` placeholders, in order.
    pub params: &'a [Datum],
    /// Evaluation context for folding constants at plan time.
    pub ctx: &'a mut EvalContext<'c>,
    /// The next `?` to bind.
    pub next_param: usize,
    /// Reads a system variable: `(name, global)` → value, or error 1193.
    pub sysvar: &'a (dyn Fn(&str, bool) -> Result<Datum, SqlError> + Sync),
    /// The scopes of the queries enclosing the subquery being planned,
    /// innermost last: names a subquery cannot resolve are looked up here.
    pub outer: Vec<OuterScope>,
    /// The table an INSERT or UPDATE writes, for `DEFAULT(col)`.
    pub target: Option<Arc<TableDef>>,
    /// The plan bakes in session state (a system variable's value) or
    /// holds a subquery, so it must not be cached.
    pub uncacheable: bool,
    /// The session's temporary tables, which shadow permanent tables of the
    /// same name.
    pub temporary: Option<&'a TemporaryTables>,
    /// The tables the session holds LOCK TABLES locks on, if it does: no
    /// other may be used.
    pub table_locks: Option<&'a TableLocks>,
}

/// An enclosing query's scope, seen from a subquery.
#[derive(Clone, Debug)]
pub struct OuterScope {
    /// Its columns.
    pub scope: Scope,
    /// Set when a subquery inside it reads one of its columns.
    pub correlated: bool,
}

impl<'a, 'c> Planner<'a, 'c> {
    /// A planner for one statement.
    pub fn new(
        schema: &'a InfoSchema,
        database: Option<&'a str>,
        params: &'a [Datum],
        ctx: &'a mut EvalContext<'c>,
        sysvar: &'a (dyn Fn(&str, bool) -> Result<Datum, SqlError> + Sync),
    ) -> Self {
        Self {
            schema,
            database,
            params,
            ctx,
            next_param: 0,
            sysvar,
            outer: Vec::new(),
            target: None,
            uncacheable: false,
            temporary: None,
            table_locks: None,
        }
    }

    /// Whether the plan just made may serve later executions with other
    /// values of the same kinds: it read no placeholder's value (beyond
    /// choosing access paths) and no session state.
    pub fn cacheable(&self) -> bool {
        !self.uncacheable && !self.ctx.params_read
    }
}

/// Column description for an expression result.
pub fn expr_info(name: &str, ty: &SqlType) -> ColumnInfo {
    crate::types::column_info(ty, "", "", "", name, "")
}

fn ident_name(name: &ast::ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|part| match part {
            ast::ObjectNamePart::Identifier(i) => i.value.clone(),
            ast::ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect()
}

/// The database a one-part name names, as written: quotes gone, doubled
/// backquotes single (`` `a``b` `` is a`b).
pub fn database_name(name: &ast::ObjectName) -> Result<String, SqlError> {
    match ident_name(name).as_slice() {
        [db] => Ok(db.clone()),
        _ => Err(error::syntax(&name.to_string(), 1)),
    }
}

/// A HAVING condition with the select-list aliases it names replaced by
/// their expressions (MySQL's extension): an unqualified name that is no
/// column of the FROM clause but an alias.
fn having_with_aliases(
    having: &ast::Expr,
    projection: &[ast::SelectItem],
    scope: &Scope,
) -> ast::Expr {
    let mut having = having.clone();
    let _ = ast::visit_expressions_mut(&mut having, |e| {
        if let ast::Expr::Identifier(id) = e
            && scope.resolve(None, &id.value, "having clause").is_err()
            && let Some(aliased) = projection.iter().find_map(|item| match item {
                ast::SelectItem::ExprWithAlias { expr, alias }
                    if alias.value.eq_ignore_ascii_case(&id.value) =>
                {
                    Some(expr)
                }
                _ => None,
            })
        {
            *e = ast::Expr::Nested(Box::new(aliased.clone()));
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    having
}

/// `(database, table)` of a possibly qualified table name.
pub fn table_name(
    name: &ast::ObjectName,
    current: Option<&str>,
) -> Result<(String, String), SqlError> {
    let parts = ident_name(name);
    match parts.as_slice() {
        [table] => Ok((
            current.ok_or_else(error::no_database_selected)?.to_string(),
            table.clone(),
        )),
        [db, table] => Ok((db.clone(), table.clone())),
        _ => Err(error::unsupported(&format!("table name {name}"))),
    }
}

/// The constant an expression folds to, when it reads no column.
fn constant(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(_) | Expr::Param(..) => true,
        Expr::Column(_) | Expr::UserVar(_) => false,
        Expr::Unary(_, e) | Expr::Cast(e, _) | Expr::Collate(e, _) => constant(e),
        Expr::Binary { left, right, .. } => constant(left) && constant(right),
        Expr::Call(f, args, _) => f.is_deterministic() && args.iter().all(constant),
        _ => false,
    }
}

impl<'a, 'c> Planner<'a, 'c> {
    /// Resolve a table by name.
    pub fn table(&self, name: &ast::ObjectName) -> Result<(String, Arc<TableDef>), SqlError> {
        let (db, table) = table_name(name, self.database)?;
        if let Some(def) = self.temporary.and_then(|t| t.get(&db, &table)) {
            return Ok((db, def.clone()));
        }
        let def = self
            .schema
            .table(&db, &table)
            .ok_or_else(|| error::no_such_table(&db, &table))?;
        if let Some(locks) = self.table_locks {
            locks.check(&db, &table, false)?;
        }
        Ok((db, def.clone()))
    }

    /// [`Planner::table`] for a statement that writes it: under LOCK TABLES
    /// it must be locked for WRITE (1099).
    pub fn table_to_write(
        &self,
        name: &ast::ObjectName,
    ) -> Result<(String, Arc<TableDef>), SqlError> {
        let (db, def) = self.table(name)?;
        if let Some(locks) = self.table_locks
            && def.id >= 0
        {
            locks.check(&db, &def.name, true)?;
        }
        Ok((db, def))
    }

    /// The scope of a table read: its columns then its hidden handle.
    pub fn table_scope(&self, db: &str, table: &Arc<TableDef>, alias: Option<&str>) -> Scope {
        let qualifier = alias.unwrap_or(&table.name).to_lowercase();
        let shown = alias.unwrap_or(&table.name);
        let mut columns: Vec<ScopeColumn> = table
            .columns
            .iter()
            .enumerate()
            .map(|(pos, c)| ScopeColumn {
                qualifier: Some(qualifier.clone()),
                name: c.name.clone(),
                ty: c.ty.clone(),
                info: crate::types::table_column_info(db, shown, table, pos),
                hidden: false,
                qualified_only: false,
                handle_of: None,
            })
            .collect();
        let handle_ty = SqlType::new(TypeKind::BigInt);
        columns.push(ScopeColumn {
            qualifier: Some(qualifier),
            name: "_tidb_rowid".into(),
            info: expr_info("_tidb_rowid", &handle_ty),
            ty: handle_ty,
            hidden: true,
            qualified_only: false,
            handle_of: Some(table.clone()),
        });
        Scope { columns }
    }

    /// Bind a parsed expression over `scope`. Aggregate calls are refused
    /// here; [`Planner::bind_select`] binds them separately.
    pub fn bind(
        &mut self,
        expr: &ast::Expr,
        scope: &Scope,
        clause: &str,
    ) -> Result<Expr, SqlError> {
        self.bind_with(expr, scope, clause, &mut None)
    }

    fn bind_with(
        &mut self,
        expr: &ast::Expr,
        scope: &Scope,
        clause: &str,
        aggs: &mut Option<&mut AggCollector>,
    ) -> Result<Expr, SqlError> {
        use ast::Expr as E;
        let bound = match expr {
            E::Identifier(id) if id.quote_style.is_none() && id.value.starts_with("@@") => {
                let name = id.value[2..].to_lowercase();
                let (global, name) = match name.split_once('.') {
                    Some(("global", n)) => (true, n.to_string()),
                    Some(("session" | "local", n)) => (false, n.to_string()),
                    _ => (false, name),
                };
                self.system_variable(&name, global)?
            }
            E::Identifier(id) if id.quote_style.is_none() && id.value.starts_with('@') => {
                Expr::UserVar(id.value[1..].to_lowercase())
            }
            E::Identifier(id) => self.column(scope, None, &id.value, clause)?,
            E::CompoundIdentifier(parts)
                if parts.first().is_some_and(|p| p.value.starts_with("@@")) =>
            {
                let global = parts[0].value.eq_ignore_ascii_case("@@global");
                let name = parts
                    .last()
                    .map(|p| p.value.to_lowercase())
                    .unwrap_or_default();
                self.system_variable(&name, global)?
            }
            E::CompoundIdentifier(parts) => match parts.as_slice() {
                [t, c] | [_, t, c] => self.column(scope, Some(&t.value), &c.value, clause)?,
                _ => return Err(error::unsupported(&expr.to_string())),
            },
            E::Value(v) => match &v.value {
                // X'..' is a binary string, not text in the connection charset.
                ast::Value::HexStringLiteral(_) => Expr::Cast(
                    Box::new(Expr::Literal(self.literal(&v.value)?)),
                    binary_string(),
                ),
                ast::Value::Placeholder(p) if p.starts_with('?') => self.param(p)?,
                value => Expr::Literal(self.literal(value)?),
            },
            E::Prefixed { prefix, value } => {
                let inner = self.bind_with(value, scope, clause, aggs)?;
                match prefix.value.to_lowercase().as_str() {
                    "_binary" => Expr::Cast(Box::new(inner), binary_string()),
                    p if p.starts_with('_') => inner, // _utf8mb4 'x' and friends: text already
                    _ => return Err(error::unsupported(&expr.to_string())),
                }
            }
            E::Nested(e) => self.bind_with(e, scope, clause, aggs)?,
            E::UnaryOp { op, expr: inner } => {
                let e = self.bind_with(inner, scope, clause, aggs)?;
                match op {
                    ast::UnaryOperator::Minus => {
                        Expr::Unary(UnaryOp::Neg, Box::new(self.numeric_member(e, scope)))
                    }
                    ast::UnaryOperator::Plus => e,
                    ast::UnaryOperator::Not | ast::UnaryOperator::BangNot => {
                        Expr::Unary(UnaryOp::Not, Box::new(e))
                    }
                    ast::UnaryOperator::BitwiseNot => {
                        Expr::Unary(UnaryOp::BitNot, Box::new(self.numeric_member(e, scope)))
                    }
                    _ => return Err(error::unsupported(&expr.to_string())),
                }
            }
            // date ± INTERVAL n unit, INTERVAL n unit + date.
            E::BinaryOp {
                left,
                op: op @ (ast::BinaryOperator::Plus | ast::BinaryOperator::Minus),
                right,
            } if matches!(right.as_ref(), E::Interval(_))
                || matches!(
                    (left.as_ref(), op),
                    (E::Interval(_), ast::BinaryOperator::Plus)
                ) =>
            {
                let (date, E::Interval(interval)) = (match right.as_ref() {
                    E::Interval(_) => (left.as_ref(), right.as_ref()),
                    _ => (right.as_ref(), left.as_ref()),
                }) else {
                    return Err(error::unsupported(&expr.to_string()));
                };
                let unit = interval_unit(interval)?;
                let func = match op {
                    ast::BinaryOperator::Plus => Func::DateAdd(unit),
                    _ => Func::DateSub(unit),
                };
                let date = self.bind_with(date, scope, clause, aggs)?;
                let amount = self.bind_with(&interval.value, scope, clause, aggs)?;
                self.apply(func, vec![date, amount], scope)?
            }
            E::Extract { field, expr: e, .. } => {
                let unit = date_time_unit(field, None)?;
                let arg = self.bind_with(e, scope, clause, aggs)?;
                self.apply(Func::Extract(unit), vec![arg], scope)?
            }
            E::Ceil { expr: e, field } | E::Floor { expr: e, field } => {
                let name = if matches!(expr, E::Ceil { .. }) {
                    "CEIL"
                } else {
                    "FLOOR"
                };
                if !matches!(
                    field,
                    ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)
                ) {
                    return Err(error::unsupported(&expr.to_string()));
                }
                let arg = self.bind_with(e, scope, clause, aggs)?;
                self.call(name, vec![arg], scope)?
            }
            E::Position { expr: needle, r#in } => {
                let needle = self.bind_with(needle, scope, clause, aggs)?;
                let hay = self.bind_with(r#in, scope, clause, aggs)?;
                self.call("LOCATE", vec![needle, hay], scope)?
            }
            E::Convert {
                expr: e,
                data_type,
                charset,
                is_try: false,
                ..
            } => {
                let e = self.bind_with(e, scope, clause, aggs)?;
                match (data_type, charset) {
                    (Some(dt), _) => Expr::Cast(Box::new(e), crate::types::cast_target(dt)?),
                    // CONVERT(x USING charset): text in the (only) character set.
                    (None, Some(cs)) if cs.to_string().eq_ignore_ascii_case("binary") => {
                        Expr::Cast(Box::new(e), binary_string())
                    }
                    (None, _) => Expr::Cast(Box::new(e), SqlType::new(TypeKind::VarChar)),
                }
            }
            // DATE '...', TIME '...', TIMESTAMP '...'.
            E::TypedString(ts) => {
                let ast::Value::SingleQuotedString(text) = &ts.value.value else {
                    return Err(error::unsupported(&expr.to_string()));
                };
                let ty = crate::types::cast_target(&ts.data_type)?;
                let value = Datum::Bytes(text.clone().into_bytes());
                Expr::Literal(crate::expr::cast::cast(value, &ty, self.ctx)?)
            }
            E::BinaryOp { left, op, right } => {
                let l = self.bind_with(left, scope, clause, aggs)?;
                let r = self.bind_with(right, scope, clause, aggs)?;
                // MySQL's `col->'$.path'` and `col->>'$.path'`.
                match op {
                    ast::BinaryOperator::Arrow => {
                        return self.call("JSON_EXTRACT", vec![l, r], scope);
                    }
                    ast::BinaryOperator::LongArrow => {
                        let extracted = self.call("JSON_EXTRACT", vec![l, r], scope)?;
                        return self.call("JSON_UNQUOTE", vec![extracted], scope);
                    }
                    _ => {}
                }
                let op = binary_op(op).ok_or_else(|| error::unsupported(&expr.to_string()))?;
                self.binary(op, l, r, &[left, right], scope)?
            }
            E::IsNull(e) => Expr::IsNull {
                expr: Box::new(self.bind_with(e, scope, clause, aggs)?),
                negated: false,
            },
            E::IsNotNull(e) => Expr::IsNull {
                expr: Box::new(self.bind_with(e, scope, clause, aggs)?),
                negated: true,
            },
            E::IsTrue(e) | E::IsNotTrue(e) | E::IsFalse(e) | E::IsNotFalse(e) => {
                let value = matches!(expr, E::IsTrue(_) | E::IsNotTrue(_));
                let negated = matches!(expr, E::IsNotTrue(_) | E::IsNotFalse(_));
                Expr::IsBool {
                    expr: Box::new(self.bind_with(e, scope, clause, aggs)?),
                    value,
                    negated,
                }
            }
            E::In {
                expr: written,
                target: ast::InTarget::List(written_list),
                negated,
                ..
            } => {
                let e = self.bind_with(written, scope, clause, aggs)?;
                let list = written_list
                    .iter()
                    .map(|x| self.bind_with(x, scope, clause, aggs))
                    .collect::<Result<Vec<_>, _>>()?;
                let types = scope.types();
                let e = if list.iter().any(|x| is_numeric(&x.ty(&types))) {
                    self.numeric_member(e, scope)
                } else {
                    e
                };
                let (mut e, mut list) = (e, list);
                let mut operands: Vec<&mut Expr> =
                    std::iter::once(&mut e).chain(&mut list).collect();
                let written: Vec<&ast::Expr> =
                    std::iter::once(&**written).chain(written_list).collect();
                let collation = self.comparison(&mut operands, &written, scope, "in")?;
                Expr::InList {
                    expr: Box::new(e),
                    list,
                    negated: *negated,
                    collation,
                }
            }
            E::Between {
                expr: written,
                negated,
                low: written_low,
                high: written_high,
            } => {
                let e = self.bind_with(written, scope, clause, aggs)?;
                let low = self.bind_with(written_low, scope, clause, aggs)?;
                let high = self.bind_with(written_high, scope, clause, aggs)?;
                let types = scope.types();
                let e = if is_numeric(&low.ty(&types)) || is_numeric(&high.ty(&types)) {
                    self.numeric_member(e, scope)
                } else {
                    e
                };
                let (mut e, mut low, mut high) = (e, low, high);
                let collation = self.comparison(
                    &mut [&mut e, &mut low, &mut high],
                    &[written, written_low, written_high],
                    scope,
                    "between",
                )?;
                Expr::Between {
                    expr: Box::new(e),
                    low: Box::new(low),
                    high: Box::new(high),
                    negated: *negated,
                    collation,
                }
            }
            E::Like {
                negated,
                expr: e,
                pattern,
                escape_char,
                ..
            } => {
                let e = self.bind_with(e, scope, clause, aggs)?;
                let pattern = self.bind_with(pattern, scope, clause, aggs)?;
                let escape = match escape_char.as_deref() {
                    None => b'\\',
                    Some(ast::Expr::Value(v)) => match &v.value {
                        ast::Value::SingleQuotedString(s) => s.bytes().next().unwrap_or(b'\\'),
                        _ => return Err(error::unsupported("LIKE ESCAPE")),
                    },
                    Some(_) => return Err(error::unsupported("LIKE ESCAPE")),
                };
                let collation = self.collation_of(&[&e, &pattern], scope, "like")?;
                Expr::Like {
                    expr: Box::new(e),
                    pattern: Box::new(pattern),
                    escape,
                    negated: *negated,
                    collation,
                }
            }
            E::Case {
                operand: written_operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = written_operand
                    .as_deref()
                    .map(|o| self.bind_with(o, scope, clause, aggs).map(Box::new))
                    .transpose()?;
                let whens = conditions
                    .iter()
                    .map(|w| {
                        Ok((
                            self.bind_with(&w.condition, scope, clause, aggs)?,
                            self.bind_with(&w.result, scope, clause, aggs)?,
                        ))
                    })
                    .collect::<Result<Vec<_>, SqlError>>()?;
                let otherwise = else_result
                    .as_deref()
                    .map(|o| self.bind_with(o, scope, clause, aggs).map(Box::new))
                    .transpose()?;
                let (mut operand, mut whens) = (operand, whens);
                let collation = match operand.as_deref_mut() {
                    Some(o) => {
                        let mut operands: Vec<&mut Expr> = std::iter::once(o)
                            .chain(whens.iter_mut().map(|(w, _)| w))
                            .collect();
                        let written: Vec<&ast::Expr> = written_operand
                            .as_deref()
                            .into_iter()
                            .chain(conditions.iter().map(|w| &w.condition))
                            .collect();
                        self.comparison(&mut operands, &written, scope, "case")?
                    }
                    None => Collation::default(),
                };
                Expr::Case {
                    operand,
                    whens,
                    otherwise,
                    collation,
                }
            }
            E::Cast {
                expr: written,
                data_type,
                ..
            } => {
                let e = self.bind_with(written, scope, clause, aggs)?;
                let ty = crate::types::cast_target(data_type)?;
                if ty.kind == TypeKind::Json && (e.is_condition() || is_true_or_false(written)) {
                    // CAST(a = b AS JSON) is `true` or `false`.
                    let kinds = JsonArgs {
                        json: 0,
                        boolean: 1,
                    };
                    Expr::Call(Func::ToJson(kinds), vec![e], Collation::default())
                } else if ty.kind == TypeKind::Json && e.ty(&scope.types()).kind == TypeKind::Json {
                    e
                } else if ty.kind == TypeKind::Json {
                    Expr::Cast(Box::new(json_input(e, &scope.types())), ty)
                } else {
                    Expr::Cast(Box::new(e), ty)
                }
            }
            E::Function(f) => self.bind_function(f, scope, clause, aggs)?,
            E::Substring {
                expr: e,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_with(e, scope, clause, aggs)?];
                for part in [substring_from, substring_for].into_iter().flatten() {
                    args.push(self.bind_with(part, scope, clause, aggs)?);
                }
                self.call("SUBSTRING", args, scope)?
            }
            E::Trim {
                expr: e,
                trim_where,
                trim_what,
                ..
            } => {
                let arg = self.bind_with(e, scope, clause, aggs)?;
                match trim_what {
                    // TRIM([BOTH|LEADING|TRAILING] r FROM s): `(s, r)`.
                    Some(what) => {
                        let what = self.bind_with(what, scope, clause, aggs)?;
                        let func = match trim_where {
                            Some(ast::TrimWhereField::Leading) => Func::TrimLeading,
                            Some(ast::TrimWhereField::Trailing) => Func::TrimTrailing,
                            _ => Func::Trim,
                        };
                        self.apply(func, vec![arg, what], scope)?
                    }
                    None => {
                        let name = match trim_where {
                            Some(ast::TrimWhereField::Leading) => "LTRIM",
                            Some(ast::TrimWhereField::Trailing) => "RTRIM",
                            _ => "TRIM",
                        };
                        self.call(name, vec![arg], scope)?
                    }
                }
            }
            E::RLike {
                negated,
                expr: e,
                pattern,
                ..
            } => {
                let args = vec![
                    self.bind_with(e, scope, clause, aggs)?,
                    self.bind_with(pattern, scope, clause, aggs)?,
                ];
                let like = self.apply(Func::RegexpLike, args, scope)?;
                if *negated {
                    Expr::Unary(UnaryOp::Not, Box::new(like))
                } else {
                    like
                }
            }
            E::Collate { expr: e, collation } => {
                let e = self.bind_with(e, scope, clause, aggs)?;
                let c = Collation::named(&collation.to_string())?;
                let mut ty = SqlType::new(TypeKind::VarChar);
                ty.collation = c;
                Expr::Collate(Box::new(Expr::Cast(Box::new(e), ty)), c)
            }
            E::Subquery(query) => self.subquery(query, SubqueryKind::Scalar, scope)?,
            E::Exists { subquery, negated } => {
                let exists = self.subquery(subquery, SubqueryKind::Exists, scope)?;
                if *negated {
                    Expr::Unary(UnaryOp::Not, Box::new(exists))
                } else {
                    exists
                }
            }
            E::In {
                expr: e,
                target: ast::InTarget::Subquery(query),
                negated,
                ..
            } => {
                let operand = self.bind_with(e, scope, clause, aggs)?;
                self.subquery(
                    query,
                    SubqueryKind::In {
                        expr: Box::new(operand),
                        negated: *negated,
                        // Settled with the subquery's column by `subquery`.
                        collation: Collation::default(),
                    },
                    scope,
                )?
            }
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | E::AllOp {
                left,
                compare_op,
                right,
            } => {
                let (ast::Expr::Subquery(query), Some(op)) =
                    (right.as_ref(), binary_op(compare_op))
                else {
                    return Err(error::unsupported(&expr.to_string()));
                };
                let operand = self.bind_with(left, scope, clause, aggs)?;
                let kind = SubqueryKind::Quantified {
                    expr: Box::new(operand),
                    op,
                    all: matches!(expr, E::AllOp { .. }),
                    // Settled with the subquery's column by `subquery`.
                    collation: Collation::default(),
                };
                self.subquery(query, kind, scope)?
            }
            _ => return Err(error::unsupported(&expr.to_string())),
        };
        Ok(bound)
    }

    /// A column by name: in `scope`, else in the enclosing queries' scopes
    /// (innermost first), which makes the subqueries in between correlated.
    fn column(
        &mut self,
        scope: &Scope,
        qualifier: Option<&str>,
        name: &str,
        clause: &str,
    ) -> Result<Expr, SqlError> {
        let err = match scope.resolve(qualifier, name, clause) {
            Ok(i) => return Ok(Expr::Column(i)),
            Err(e) if e.code == 1054 => e,
            Err(e) => return Err(e),
        };
        for k in (0..self.outer.len()).rev() {
            if let Ok(column) = self.outer[k].scope.resolve(qualifier, name, clause) {
                let ty = self.outer[k].scope.columns[column].ty.clone();
                for o in &mut self.outer[k..] {
                    o.correlated = true;
                }
                return Ok(Expr::Outer(Box::new(OuterRef {
                    depth: self.outer.len() - k,
                    column,
                    ty,
                })));
            }
        }
        Err(err)
    }

    /// Plan a subquery; names it cannot resolve in its own FROM clause are
    /// looked up in `scope` (the query it sits in) and further out.
    fn subquery(
        &mut self,
        query: &ast::Query,
        kind: SubqueryKind,
        scope: &Scope,
    ) -> Result<Expr, SqlError> {
        // Its access paths are not refreshed by `Plan::refresh_access`.
        self.uncacheable = true;
        self.outer.push(OuterScope {
            scope: scope.clone(),
            correlated: false,
        });
        let planned = self.plan_query(query);
        let correlated = self.outer.pop().is_some_and(|o| o.correlated);
        let planned = planned?;
        if planned.columns.len() != 1 && kind != SubqueryKind::Exists {
            return Err(SqlError::new(
                1241,
                "21000",
                "Operand should contain 1 column(s)",
            ));
        }
        let ty = planned
            .types
            .first()
            .cloned()
            .unwrap_or_else(|| SqlType::new(TypeKind::Null));
        // The operand compares with the subquery's column in the collation
        // the two settle on, as with a column (`_bin` wins over `_ci`).
        let mut kind = kind;
        let operation = match &kind {
            SubqueryKind::In { .. } => "in",
            SubqueryKind::Quantified { op, .. } => op.comparison().unwrap_or(""),
            SubqueryKind::Scalar | SubqueryKind::Exists => "",
        };
        if let SubqueryKind::In {
            expr, collation, ..
        }
        | SubqueryKind::Quantified {
            expr, collation, ..
        } = &mut kind
        {
            let types = scope.types();
            if ty.kind == TypeKind::Json || expr.ty(&types).kind == TypeKind::Json {
                return Err(error::unsupported("comparison of JSON with a subquery"));
            }
            let column = self.implicit(&ty);
            let settled = self.settle(Some(self.derivation(expr, &types)?), column, operation)?;
            *collation = settled.map_or(self.ctx.collation_connection, |(c, _)| c);
        }
        Ok(Expr::Subquery(Box::new(Subquery {
            plan: Arc::new(planned.plan),
            kind,
            ty,
            correlated,
        })))
    }

    fn call(&mut self, name: &str, args: Vec<Expr>, scope: &Scope) -> Result<Expr, SqlError> {
        let func = Func::lookup(name).ok_or_else(|| {
            SqlError::new(
                1305,
                "42000",
                format!(
                    "FUNCTION {}.{name} does not exist",
                    self.database.unwrap_or("")
                ),
            )
        })?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(SqlError::new(
                1582,
                "42000",
                format!("Incorrect parameter count in the call to native function '{name}'"),
            ));
        }
        self.apply(func, args, scope)
    }

    /// A call of `func`, comparing strings in the collation its arguments
    /// settle on.
    fn apply(&self, func: Func, args: Vec<Expr>, scope: &Scope) -> Result<Expr, SqlError> {
        let mut args = args;
        let types = scope.types();
        let json: Vec<bool> = args
            .iter()
            .map(|a| a.ty(&types).kind == TypeKind::Json)
            .collect();
        let collation = match func {
            // NULLIF(json, x) compares as JSON and returns its JSON operand.
            Func::NullIf if json[0] => {
                let mut operands: Vec<&mut Expr> = args.iter_mut().collect();
                self.comparison(&mut operands, &[], scope, func.name())?
            }
            Func::NullIf | Func::Greatest | Func::Least | Func::Field if json.contains(&true) => {
                return Err(error::unsupported(&format!(
                    "{} with a JSON argument",
                    func.name()
                )));
            }
            _ => {
                let operands: Vec<&Expr> = args.iter().collect();
                self.collation_of(&operands, scope, func.name())?
            }
        };
        Ok(Expr::Call(func, args, collation))
    }

    fn bind_function(
        &mut self,
        f: &ast::Function,
        scope: &Scope,
        clause: &str,
        aggs: &mut Option<&mut AggCollector>,
    ) -> Result<Expr, SqlError> {
        let name = f.name.to_string().to_uppercase();
        if f.over.is_some() {
            return Err(error::unsupported("window functions (OVER)"));
        }
        if f.filter.is_some()
            || f.null_treatment.is_some()
            || !f.within_group.is_empty()
            || !matches!(f.parameters, ast::FunctionArguments::None)
        {
            return Err(error::unsupported(&f.to_string()));
        }
        let (args, distinct) = match &f.args {
            ast::FunctionArguments::None => (Vec::new(), false),
            ast::FunctionArguments::Subquery(_) => return Err(error::unsupported("subqueries")),
            ast::FunctionArguments::List(list) => {
                // GROUP_CONCAT's ORDER BY and SEPARATOR are bound below;
                // other clauses and other functions' are refused.
                if !list.clauses.is_empty() && AggFunc::lookup(&name) != Some(AggFunc::GroupConcat)
                {
                    return Err(error::unsupported(&format!("{name} with {}", f.args)));
                }
                if list.duplicate_treatment.is_some() && AggFunc::lookup(&name).is_none() {
                    return Err(error::unsupported(&f.to_string()));
                }
                (
                    list.args.clone(),
                    matches!(
                        list.duplicate_treatment,
                        Some(ast::DuplicateTreatment::Distinct)
                    ),
                )
            }
        };
        // ON DUPLICATE KEY UPDATE's VALUES(c): the value c would have had.
        if name == "VALUES"
            && let [
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id))),
            ] = args.as_slice()
        {
            return Ok(Expr::Column(scope.resolve(
                Some("\0new"),
                &id.value,
                clause,
            )?));
        }
        // DEFAULT(c): the default of the written table's column c.
        if name == "DEFAULT"
            && let [
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id))),
            ] = args.as_slice()
        {
            let table = self
                .target
                .clone()
                .ok_or_else(|| error::unsupported("DEFAULT(col) outside INSERT and UPDATE"))?;
            let pos = table
                .column(&id.value)
                .ok_or_else(|| unknown_column(&id.value, clause))?;
            return Ok(Expr::Literal(crate::dml::default_of(
                &table.columns[pos],
                1,
                self.ctx,
            )?));
        }
        if let Some(agg) = AggFunc::lookup(&name) {
            let Some(collector) = aggs.as_deref_mut() else {
                return Err(SqlError::new(
                    1111,
                    "HY000",
                    "Invalid use of group function",
                ));
            };
            let arg = match args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)] | [] => {
                    Expr::Literal(Datum::I64(1))
                }
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] => {
                    self.bind_with(e, &collector.input, clause, &mut None)?
                }
                // GROUP_CONCAT(a, '-', b) concatenates its arguments.
                several if agg == AggFunc::GroupConcat => {
                    let mut bound = Vec::with_capacity(several.len());
                    for a in several {
                        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                            return Err(error::unsupported(&f.to_string()));
                        };
                        bound.push(self.bind_with(e, &collector.input, clause, &mut None)?);
                    }
                    self.call("CONCAT", bound, &collector.input)?
                }
                _ => {
                    return Err(error::unsupported(&format!(
                        "{name} with several arguments"
                    )));
                }
            };
            let arg = match agg {
                AggFunc::Min | AggFunc::Max | AggFunc::Count | AggFunc::GroupConcat => arg,
                _ => self.numeric_member(arg, &collector.input),
            };
            let collation = self.key_collation(&arg, &collector.input, agg.name())?;
            let (mut order, mut separator) = (Vec::new(), None);
            if let ast::FunctionArguments::List(list) = &f.args {
                for c in &list.clauses {
                    match c {
                        ast::FunctionArgumentClause::OrderBy(items) => {
                            for item in items {
                                if item.with_fill.is_some()
                                    || item.options.nulls_first.is_some()
                                    || matches!(item.expr, ast::Expr::Value(_))
                                    || matches!(item.options.sort, Some(ast::OrderBySort::Using(_)))
                                {
                                    return Err(error::unsupported(&item.to_string()));
                                }
                                let expr = self.bind_with(
                                    &item.expr,
                                    &collector.input,
                                    clause,
                                    &mut None,
                                )?;
                                let collation =
                                    self.key_collation(&expr, &collector.input, "order by")?;
                                order.push(AggOrder {
                                    expr,
                                    desc: matches!(item.options.sort, Some(ast::OrderBySort::Desc)),
                                    collation,
                                });
                            }
                        }
                        ast::FunctionArgumentClause::Separator(v) => match &v.value {
                            ast::Value::SingleQuotedString(s)
                            | ast::Value::DoubleQuotedString(s) => {
                                separator = Some(s.clone().into_bytes())
                            }
                            other => return Err(error::syntax(&other.to_string(), 1)),
                        },
                        other => return Err(error::unsupported(&other.to_string())),
                    }
                }
            }
            return Ok(collector.add(AggCall {
                func: Some(agg),
                arg,
                distinct,
                collation,
                order,
                separator,
            }));
        }
        // DATE_ADD(d, INTERVAL n unit) and friends; TIMESTAMPDIFF(unit, a, b),
        // TIMESTAMPADD(unit, n, d).
        let unnamed = |a: &ast::FunctionArg| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
            _ => None,
        };
        match (name.as_str(), args.as_slice()) {
            ("DATE_ADD" | "DATE_SUB" | "ADDDATE" | "SUBDATE", [date, interval]) => {
                if let (Some(date), Some(ast::Expr::Interval(interval))) =
                    (unnamed(date), unnamed(interval))
                {
                    let unit = interval_unit(&interval)?;
                    let func = Func::with_unit(&name, unit).unwrap_or(Func::DateAdd(unit));
                    let date = self.bind_with(&date, scope, clause, aggs)?;
                    let amount = self.bind_with(&interval.value, scope, clause, aggs)?;
                    return self.apply(func, vec![date, amount], scope);
                }
            }
            ("TIMESTAMPDIFF" | "TIMESTAMPADD", [unit, a, b]) => {
                let unit = match unnamed(unit) {
                    Some(ast::Expr::Identifier(id)) => IntervalUnit::from_name(&id.value),
                    _ => None,
                }
                .filter(|u| u.is_simple())
                .ok_or_else(|| error::syntax(&f.to_string(), 1))?;
                let (Some(a), Some(b)) = (unnamed(a), unnamed(b)) else {
                    return Err(error::unsupported(&f.to_string()));
                };
                let a = self.bind_with(&a, scope, clause, aggs)?;
                let b = self.bind_with(&b, scope, clause, aggs)?;
                let args = if name == "TIMESTAMPADD" {
                    vec![b, a]
                } else {
                    vec![a, b]
                };
                let func = Func::with_unit(&name, unit).unwrap_or(Func::DateAdd(unit));
                return self.apply(func, args, scope);
            }
            _ => {}
        }
        let mut bound = Vec::with_capacity(args.len());
        for arg in &args {
            match arg {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    bound.push(self.bind_with(e, scope, clause, aggs)?)
                }
                _ => return Err(error::unsupported(&f.to_string())),
            }
        }
        // `BINARY(x)`: the BINARY operator with its operand in parentheses.
        if name == "BINARY" && bound.len() == 1 {
            return Ok(Expr::Cast(Box::new(bound.remove(0)), binary_string()));
        }
        // CHARSET(x), COLLATION(x) and COERCIBILITY(x) report the planner's
        // derivation.
        if let ("CHARSET" | "COLLATION" | "COERCIBILITY", [arg]) = (name.as_str(), bound.as_slice())
        {
            let types = scope.types();
            let (mut collation, coercibility) = self.derivation(arg, &types)?;
            if !arg.ty(&types).is_string() {
                collation = Collation::Binary;
            }
            let charset = match collation {
                Collation::Binary => "binary",
                _ => "utf8mb4",
            };
            return Ok(Expr::Literal(match name.as_str() {
                "CHARSET" => Datum::Bytes(charset.into()),
                "COLLATION" => Datum::Bytes(collation.name().into()),
                _ => Datum::I64(coercibility.level()),
            }));
        }
        let mut call = self.call(&name, bound, scope)?;
        if let Expr::Call(func, bound, _) = &mut call {
            json_documents(*func, bound, &scope.types())?;
        }
        if let Expr::Call(
            Func::JsonArray(kinds)
            | Func::JsonObject(kinds)
            | Func::JsonSet(kinds)
            | Func::JsonInsert(kinds)
            | Func::JsonReplace(kinds)
            | Func::JsonArrayAppend(kinds),
            bound,
            _,
        ) = &mut call
        {
            let types = scope.types();
            for (n, (arg, written)) in bound.iter().zip(&args).enumerate().take(64) {
                if arg.ty(&types).kind == TypeKind::Json {
                    kinds.json |= 1 << n;
                }
                let true_or_false = matches!(
                    written,
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) if is_true_or_false(e)
                );
                if true_or_false || arg.is_condition() {
                    kinds.boolean |= 1 << n;
                }
            }
        }
        Ok(call)
    }

    /// A literal's datum, as MySQL types literals: `1` is an integer, `1.5`
    /// a DECIMAL, `1e3` a DOUBLE, `'x'` a string.
    fn literal(&mut self, v: &ast::Value) -> Result<Datum, SqlError> {
        use ast::Value as V;
        Ok(match v {
            V::Null => Datum::Null,
            V::Boolean(b) => Datum::I64(*b as i64),
            V::Number(n, _) => number_literal(n)?,
            V::SingleQuotedString(s)
            | V::DoubleQuotedString(s)
            | V::EscapedStringLiteral(s)
            | V::NationalStringLiteral(s) => Datum::Bytes(s.clone().into_bytes()),
            V::HexStringLiteral(h) => Datum::Bytes(hex_bytes(h)?),
            _ => return Err(error::unsupported(&v.to_string())),
        })
    }

    /// A `?` placeholder, typed by this execution's value. Placeholders are
    /// numbered in text order at PREPARE (`?0`, `?1`, ...), whatever order
    /// binding visits them in.
    fn param(&mut self, p: &str) -> Result<Expr, SqlError> {
        let i = p[1..].parse::<usize>().unwrap_or_else(|_| {
            self.next_param += 1;
            self.next_param - 1
        });
        let value = self.params.get(i).ok_or_else(|| {
            SqlError::new(1210, "HY000", "Incorrect arguments to mysqld_stmt_execute")
        })?;
        Ok(Expr::Param(i, crate::expr::eval::literal_type(value)))
    }

    /// `@@name`: its value now, which a cached plan must not keep.
    fn system_variable(&mut self, name: &str, global: bool) -> Result<Expr, SqlError> {
        self.uncacheable = true;
        Ok(Expr::Literal((self.sysvar)(name, global)?))
    }

    /// `left op right`; `written` holds the two operands as written, where
    /// the caller has them.
    fn binary(
        &self,
        op: BinaryOp,
        left: Expr,
        right: Expr,
        written: &[&ast::Expr],
        scope: &Scope,
    ) -> Result<Expr, SqlError> {
        use BinaryOp as B;
        let (left, right) = match op {
            B::Add
            | B::Sub
            | B::Mul
            | B::Div
            | B::IntDiv
            | B::Mod
            | B::BitAnd
            | B::BitOr
            | B::BitXor
            | B::Shl
            | B::Shr => (
                self.numeric_member(left, scope),
                self.numeric_member(right, scope),
            ),
            B::Eq | B::NullSafeEq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => {
                let types = scope.types();
                let (l, r) = (is_numeric(&left.ty(&types)), is_numeric(&right.ty(&types)));
                (
                    if r {
                        self.numeric_member(left, scope)
                    } else {
                        left
                    },
                    if l {
                        self.numeric_member(right, scope)
                    } else {
                        right
                    },
                )
            }
            _ => (left, right),
        };
        let (mut left, mut right) = (left, right);
        let collation = match op.comparison() {
            Some(symbol) => {
                self.comparison(&mut [&mut left, &mut right], written, scope, symbol)?
            }
            None => Collation::default(),
        };
        Ok(Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
            collation,
        })
    }

    /// An ENUM or SET value where a number is wanted (arithmetic, a
    /// comparison with a number, SUM, ORDER BY): the member's index for an
    /// ENUM, the sum of its members' bits for a SET, as MySQL reads them
    /// there; any other expression as it is.
    fn numeric_member(&self, e: Expr, scope: &Scope) -> Expr {
        let ty = match &e {
            Expr::Column(c) if *c < scope.columns.len() => scope.columns[*c].ty.clone(),
            Expr::Column(_) => return e,
            _ => e.ty(&scope.types()),
        };
        let member = |m: &String| Expr::Literal(Datum::Bytes(m.clone().into_bytes()));
        match ty.kind {
            TypeKind::Enum => {
                let mut args = vec![e.clone()];
                args.extend(ty.members.iter().map(member));
                Expr::Case {
                    operand: None,
                    whens: vec![(
                        Expr::IsNull {
                            expr: Box::new(e),
                            negated: false,
                        },
                        Expr::Literal(Datum::Null),
                    )],
                    otherwise: Some(Box::new(Expr::Call(Func::Field, args, ty.collation))),
                    collation: Collation::default(),
                }
            }
            TypeKind::Set => {
                let bits = ty.members.iter().enumerate().map(|(i, m)| {
                    let found =
                        Expr::Call(Func::FindInSet, vec![member(m), e.clone()], ty.collation);
                    let present = Expr::Binary {
                        op: BinaryOp::Gt,
                        left: Box::new(found),
                        right: Box::new(Expr::Literal(Datum::I64(0))),
                        collation: Collation::default(),
                    };
                    Expr::Binary {
                        op: BinaryOp::Mul,
                        left: Box::new(present),
                        right: Box::new(Expr::Literal(Datum::I64(1i64.wrapping_shl(i as u32)))),
                        collation: Collation::default(),
                    }
                });
                bits.reduce(|a, b| Expr::Binary {
                    op: BinaryOp::Add,
                    left: Box::new(a),
                    right: Box::new(b),
                    collation: Collation::default(),
                })
                .unwrap_or(Expr::Literal(Datum::I64(0)))
            }
            _ => e,
        }
    }

    /// An expression's type, text in the collation MySQL derives for it (a
    /// literal's is the connection's).
    fn type_of(&self, e: &Expr, types: &[SqlType]) -> Result<SqlType, SqlError> {
        let mut ty = e.ty(types);
        if matches!(ty.kind, TypeKind::Char | TypeKind::VarChar | TypeKind::Text) {
            ty.collation = self.derivation(e, types)?.0;
        }
        Ok(ty)
    }

    /// The collation a comparison of these operands uses, by MySQL's
    /// coercibility rules: an explicit COLLATE wins, then a column's, then a
    /// literal's (the connection's); between equals, a binary string wins
    /// over text and `_bin` over `_ci`. Two different explicit collations are
    /// 1267, as in MySQL.
    fn collation_of(
        &self,
        operands: &[&Expr],
        scope: &Scope,
        operation: &str,
    ) -> Result<Collation, SqlError> {
        let types = scope.types();
        let mut chosen = None;
        for e in operands {
            chosen = self.settle(chosen, self.derivation(e, &types)?, operation)?;
        }
        Ok(chosen.map_or(self.ctx.collation_connection, |(c, _)| c))
    }

    /// The collation a comparison of `operands` compares in. With a JSON
    /// operand MySQL compares JSON values: the other operands become JSON
    /// scalars (a string a JSON string, a condition or a written TRUE/FALSE
    /// a JSON boolean; `written` holds the operands as written, where known)
    /// and the comparison uses [`Collation::Json`]. A date or time against
    /// JSON is refused: Basalt's JSON holds no temporal scalars.
    fn comparison(
        &self,
        operands: &mut [&mut Expr],
        written: &[&ast::Expr],
        scope: &Scope,
        operation: &str,
    ) -> Result<Collation, SqlError> {
        let types = scope.types();
        if !operands.iter().any(|e| e.ty(&types).kind == TypeKind::Json) {
            let operands: Vec<&Expr> = operands.iter().map(|e| &**e).collect();
            return self.collation_of(&operands, scope, operation);
        }
        for (n, e) in operands.iter_mut().enumerate() {
            match e.ty(&types).kind {
                TypeKind::Json | TypeKind::Null => {}
                TypeKind::Date | TypeKind::DateTime | TypeKind::Timestamp | TypeKind::Time => {
                    return Err(error::unsupported(&format!(
                        "comparison of JSON with a date or time value in '{operation}'"
                    )));
                }
                _ => {
                    let boolean =
                        e.is_condition() || written.get(n).is_some_and(|w| is_true_or_false(w));
                    let kinds = JsonArgs {
                        json: 0,
                        boolean: boolean as u64,
                    };
                    let value = std::mem::replace(&mut **e, Expr::Literal(Datum::Null));
                    **e = Expr::Call(Func::ToJson(kinds), vec![value], Collation::default());
                }
            }
        }
        Ok(Collation::Json)
    }

    /// How values of `e` compare with each other as a GROUP BY, ORDER BY
    /// or MIN/MAX key: JSON by [`Collation::Json`], text by its collation.
    fn key_collation(
        &self,
        e: &Expr,
        scope: &Scope,
        operation: &str,
    ) -> Result<Collation, SqlError> {
        match e.ty(&scope.types()).kind {
            TypeKind::Json => Ok(Collation::Json),
            _ => self.collation_of(&[e], scope, operation),
        }
    }

    /// Which of two derivations a string operation uses ([`Self::collation_of`]).
    fn settle(
        &self,
        a: Option<(Collation, Coercibility)>,
        b: (Collation, Coercibility),
        operation: &str,
    ) -> Result<Option<(Collation, Coercibility)>, SqlError> {
        let Some(a) = a else {
            return Ok(Some(b));
        };
        let ignorable = Coercibility::Ignorable;
        Ok(Some(match (a, b) {
            (_, (_, c)) if c == ignorable => a,
            ((_, c), _) if c == ignorable => b,
            _ if a.0 == Collation::Binary || b.0 == Collation::Binary => {
                (Collation::Binary, a.1.min(b.1))
            }
            _ if a.1 != b.1 => {
                if a.1 < b.1 {
                    a
                } else {
                    b
                }
            }
            _ if a.0 == b.0 => a,
            _ if a.1 == Coercibility::Explicit => {
                return Err(SqlError::new(
                    1267,
                    "HY000",
                    format!(
                        "Illegal mix of collations ({},EXPLICIT) and ({},EXPLICIT) for operation '{operation}'",
                        a.0.name(),
                        b.0.name()
                    ),
                ));
            }
            // Same character set: the _bin collation wins over the _ci one.
            _ => (Collation::Utf8mb4Bin, a.1),
        }))
    }

    /// The derivation of a value of type `ty` that holds its collation as a
    /// column does (a column's, a CAST's, a subquery's); a non-string's is
    /// the connection's, as weak as a number's.
    fn implicit(&self, ty: &SqlType) -> (Collation, Coercibility) {
        if ty.is_string() {
            (ty.collation, Coercibility::Implicit)
        } else {
            (self.ctx.collation_connection, Coercibility::Numeric)
        }
    }

    /// An operand's collation and how strongly it holds it.
    fn derivation(
        &self,
        e: &Expr,
        types: &[SqlType],
    ) -> Result<(Collation, Coercibility), SqlError> {
        use Coercibility::*;
        let connection = self.ctx.collation_connection;
        let aggregate = |exprs: &mut dyn Iterator<Item = &Expr>| {
            let mut chosen = None;
            for e in exprs.filter(|e| e.ty(types).is_string()) {
                chosen = self.settle(chosen, self.derivation(e, types)?, "")?;
            }
            Ok::<_, SqlError>(chosen.unwrap_or((connection, Coercible)))
        };
        Ok(match e {
            Expr::Collate(_, c) => (*c, Explicit),
            Expr::Literal(Datum::Null) => (connection, Ignorable),
            Expr::Literal(Datum::Bytes(_)) => (connection, Coercible),
            Expr::Param(_, ty) if ty.is_string() => (connection, Coercible),
            Expr::Literal(_) | Expr::Param(..) => (connection, Numeric),
            Expr::Column(_)
            | Expr::Outer(_)
            | Expr::Subquery(_)
            | Expr::Cast(..)
            | Expr::UserVar(_) => self.implicit(&e.ty(types)),
            _ if !e.ty(types).is_string() => (connection, Numeric),
            Expr::Call(..) if e.ty(types).collation == Collation::Binary => {
                (Collation::Binary, Implicit)
            }
            Expr::Call(_, args, _) => aggregate(&mut args.iter())?,
            Expr::Case {
                whens, otherwise, ..
            } => aggregate(
                &mut whens
                    .iter()
                    .map(|(_, then)| then)
                    .chain(otherwise.as_deref()),
            )?,
            _ => self.implicit(&e.ty(types)),
        })
    }
}

/// Whether `e` is written `TRUE` or `FALSE`, which MySQL reads as a
/// boolean where JSON wants one (`JSON_ARRAY(TRUE)` is `[true]`).
/// Where a JSON function reads an argument as a JSON document: a string
/// there is JSON text, read as MySQL's parser reads it ([`json_input`]), and
/// a number or a date is 3146, as in MySQL.
fn json_documents(func: Func, args: &mut [Expr], types: &[SqlType]) -> Result<(), SqlError> {
    let documents = match func {
        Func::JsonContains => 2,
        Func::JsonType
        | Func::JsonLength
        | Func::JsonKeys
        | Func::JsonExtract
        | Func::JsonRemove
        | Func::JsonSet(_)
        | Func::JsonInsert(_)
        | Func::JsonReplace(_)
        | Func::JsonArrayAppend(_) => 1,
        _ => return Ok(()),
    };
    for (n, arg) in args.iter_mut().take(documents).enumerate() {
        let ty = arg.ty(types);
        if !ty.is_string() && ty.kind != TypeKind::Null {
            return Err(SqlError::new(
                3146,
                "22032",
                format!(
                    "Invalid data type for JSON data in argument {} to function {}; a JSON string or JSON type is required.",
                    n + 1,
                    func.name()
                ),
            ));
        }
        let value = std::mem::replace(arg, Expr::Literal(Datum::Null));
        *arg = json_input(value, types);
    }
    Ok(())
}

/// Whether a value of type `ty`, where JSON is wanted, is JSON text to parse
/// (a string) rather than a JSON value or a SQL scalar.
pub(crate) fn is_json_text(ty: &SqlType) -> bool {
    ty.is_string() && ty.kind != TypeKind::Json
}

/// `e` where a JSON value is wanted: a string is JSON text, read as MySQL's
/// JSON parser reads it ([`Func::ParseJson`]); anything else (JSON, a SQL
/// scalar) is left as it is.
pub(crate) fn json_input(e: Expr, types: &[SqlType]) -> Expr {
    if is_json_text(&e.ty(types)) {
        Expr::Call(Func::ParseJson, vec![e], Collation::default())
    } else {
        e
    }
}

fn is_true_or_false(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)))
}

/// MySQL's coercibility of a string's collation: where operands' collations
/// differ, the lowest wins.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Coercibility {
    /// `COLLATE`.
    Explicit,
    /// A column's, a CAST's, a variable's, a subquery's.
    Implicit,
    /// A string literal's: the connection's collation.
    Coercible,
    /// A number or a date read as a string.
    Numeric,
    /// NULL's.
    Ignorable,
}

impl Coercibility {
    /// The number COERCIBILITY() reports.
    fn level(self) -> i64 {
        match self {
            Coercibility::Explicit => 0,
            Coercibility::Implicit => 2,
            Coercibility::Coercible => 4,
            Coercibility::Numeric => 5,
            Coercibility::Ignorable => 6,
        }
    }
}

/// Whether a type is a number's (what makes an ENUM or SET beside it a
/// number too).
fn is_numeric(ty: &SqlType) -> bool {
    ty.is_integer()
        || matches!(
            ty.kind,
            TypeKind::Decimal | TypeKind::Float | TypeKind::Double
        )
}

/// Whether values of type `a` need no conversion to be of type `b`.
fn same_type(a: &SqlType, b: &SqlType) -> bool {
    b.kind == TypeKind::Null
        || (a.kind == b.kind && a.scale == b.scale && a.collation == b.collation)
        || (a.is_integer() && b.is_integer() && a.unsigned == b.unsigned)
}

/// The unit of `INTERVAL n unit` (`HOUR TO MINUTE` is MySQL's HOUR_MINUTE).
fn interval_unit(interval: &ast::Interval) -> Result<IntervalUnit, SqlError> {
    let leading = interval
        .leading_field
        .as_ref()
        .ok_or_else(|| error::syntax("INTERVAL", 1))?;
    date_time_unit(leading, interval.last_field.as_ref())
}

/// The MySQL unit for sqlparser's field names (`last` for compound units).
fn date_time_unit(
    field: &ast::DateTimeField,
    last: Option<&ast::DateTimeField>,
) -> Result<IntervalUnit, SqlError> {
    let name = |f: &ast::DateTimeField| match f {
        ast::DateTimeField::Week(_) => "WEEK".to_string(),
        ast::DateTimeField::Custom(id) => id.value.to_uppercase(),
        other => other.to_string(),
    };
    let text = match last {
        Some(last) => format!("{}_{}", name(field), name(last)),
        None => name(field),
    };
    IntervalUnit::from_name(&text).ok_or_else(|| error::syntax(&text, 1))
}

fn binary_op(op: &ast::BinaryOperator) -> Option<BinaryOp> {
    use ast::BinaryOperator as B;
    Some(match op {
        B::Plus => BinaryOp::Add,
        B::Minus => BinaryOp::Sub,
        B::Multiply => BinaryOp::Mul,
        B::Divide => BinaryOp::Div,
        B::MyIntegerDivide => BinaryOp::IntDiv,
        B::Modulo => BinaryOp::Mod,
        B::Eq => BinaryOp::Eq,
        B::Spaceship => BinaryOp::NullSafeEq,
        B::NotEq => BinaryOp::Ne,
        B::Lt => BinaryOp::Lt,
        B::LtEq => BinaryOp::Le,
        B::Gt => BinaryOp::Gt,
        B::GtEq => BinaryOp::Ge,
        B::And => BinaryOp::And,
        B::Or => BinaryOp::Or,
        B::Xor => BinaryOp::Xor,
        B::BitwiseAnd => BinaryOp::BitAnd,
        B::BitwiseOr => BinaryOp::BitOr,
        B::BitwiseXor => BinaryOp::BitXor,
        B::PGBitwiseShiftLeft => BinaryOp::Shl,
        B::PGBitwiseShiftRight => BinaryOp::Shr,
        _ => return None,
    })
}

/// The type of a binary string of any length (`_binary 'x'`, `X'..'`).
fn binary_string() -> SqlType {
    let mut ty = SqlType::new(TypeKind::VarBinary);
    ty.length = u32::MAX;
    ty
}

/// A numeric literal's datum.
pub fn number_literal(n: &str) -> Result<Datum, SqlError> {
    if n.contains(['e', 'E']) {
        return n.parse().map(Datum::F64).map_err(|_| error::syntax(n, 1));
    }
    if n.contains('.') {
        return n
            .parse()
            .map(Datum::Decimal)
            .map_err(|_| error::syntax(n, 1));
    }
    if let Ok(v) = n.parse::<i64>() {
        return Ok(Datum::I64(v));
    }
    if let Ok(v) = n.parse::<u64>() {
        return Ok(Datum::U64(v));
    }
    n.parse()
        .map(Datum::Decimal)
        .map_err(|_| error::syntax(n, 1))
}

fn hex_bytes(h: &str) -> Result<Vec<u8>, SqlError> {
    let padded = if h.len() % 2 == 1 {
        format!("0{h}")
    } else {
        h.to_string()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).map_err(|_| error::syntax(h, 1)))
        .collect()
}

/// Aggregates found while binding a select list, HAVING or ORDER BY.
pub struct AggCollector {
    /// The scope aggregate arguments are bound in (the FROM clause's).
    pub input: Scope,
    /// Number of group-by expressions (aggregates follow them in the output).
    pub groups: usize,
    /// Aggregates so far.
    pub calls: Vec<AggCall>,
}

/// Aggregate results are first bound as columns from this position on, then
/// moved behind the group-by columns by [`post_aggregate`]; no input scope
/// is ever this wide.
const AGG_MARK: usize = 1 << 40;

impl AggCollector {
    /// Register an aggregate and return the expression that reads its result.
    fn add(&mut self, call: AggCall) -> Expr {
        let pos = self.calls.len();
        self.calls.push(call);
        Expr::Column(AGG_MARK + pos)
    }
}

/// Rewrite an expression bound over the input of an aggregation into one over
/// its output: grouped expressions and aggregates become output columns; a
/// column that is neither keeps its group's first value.
fn post_aggregate(expr: Expr, group_by: &[Expr], collector: &mut AggCollector) -> Expr {
    if let Some(g) = group_by.iter().position(|g| *g == expr) {
        return Expr::Column(g);
    }
    match expr {
        Expr::Column(c) if c >= AGG_MARK => Expr::Column(group_by.len() + c - AGG_MARK),
        Expr::Column(c) => {
            let call = AggCall {
                func: None,
                arg: Expr::Column(c),
                distinct: false,
                collation: Collation::default(),
                order: Vec::new(),
                separator: None,
            };
            let e = collector.add(call);
            post_aggregate(e, group_by, collector)
        }
        other => other.map_children(&mut |child| post_aggregate(child, group_by, collector)),
    }
}

/// ONLY_FULL_GROUP_BY: refuse an output expression (select item, HAVING,
/// ORDER BY key; all after [`post_aggregate`]) that reads a column neither
/// grouped, aggregated, nor functionally dependent on the GROUP BY columns
/// (its table's whole primary key is grouped).
fn check_full_group_by<'e>(
    scope: &Scope,
    group_by: &[Expr],
    calls: &[AggCall],
    outputs: impl Iterator<Item = &'e Expr>,
) -> Result<(), SqlError> {
    let dependent = |c: usize| {
        let qualifier = &scope.columns[c].qualifier;
        let mut key = scope.columns.iter().enumerate().filter(|(_, k)| {
            k.qualifier == *qualifier && k.info.flags & crate::result::flags::PRI_KEY != 0
        });
        key.clone().next().is_some() && key.all(|(k, _)| group_by.contains(&Expr::Column(k)))
    };
    let loose: Vec<(usize, usize)> = calls
        .iter()
        .enumerate()
        .filter_map(|(i, call)| match (&call.func, &call.arg) {
            (None, Expr::Column(c)) if !dependent(*c) => Some((group_by.len() + i, *c)),
            _ => None,
        })
        .collect();
    for (n, e) in outputs.enumerate() {
        let Some(&(_, c)) = loose
            .iter()
            .find(|(out, _)| e.any(&|x| *x == Expr::Column(*out)))
        else {
            continue;
        };
        let column = &scope.columns[c];
        let name = match &column.qualifier {
            Some(q) => format!("{q}.{}", column.name),
            None => column.name.clone(),
        };
        return Err(if group_by.is_empty() {
            SqlError::new(
                1140,
                "42000",
                format!(
                    "In aggregated query without GROUP BY, expression #{} of SELECT list contains nonaggregated column '{name}'; this is incompatible with sql_mode=only_full_group_by",
                    n + 1
                ),
            )
        } else {
            SqlError::new(
                1055,
                "42000",
                format!(
                    "Expression #{} of SELECT list is not in GROUP BY clause and contains nonaggregated column '{name}' which is not functionally dependent on columns in GROUP BY clause; this is incompatible with sql_mode=only_full_group_by",
                    n + 1
                ),
            )
        });
    }
    Ok(())
}

impl Expr {
    /// `parts` joined by `op` as a balanced tree (shallow for evaluation),
    /// or None for no parts. Three-valued AND/OR give ALL/ANY their NULL
    /// rules, and a list of conjuncts its predicate back.
    pub fn balanced(mut parts: Vec<Expr>, op: BinaryOp) -> Option<Expr> {
        if parts.len() <= 1 {
            return parts.pop();
        }
        let right = parts.split_off(parts.len() / 2);
        Some(Expr::Binary {
            op,
            left: Box::new(Expr::balanced(parts, op)?),
            right: Box::new(Expr::balanced(right, op)?),
            collation: Collation::default(),
        })
    }

    /// This expression reading input column `map(i)` wherever it read
    /// column `i`: for moving it onto another row layout. Subqueries are
    /// not entered (their correlated references name the enclosing row
    /// their own way), so callers move only expressions without one.
    pub fn remap_columns(self, map: &impl Fn(usize) -> usize) -> Expr {
        match self {
            Expr::Column(i) => Expr::Column(map(i)),
            other => other.map_children(&mut |child| child.remap_columns(map)),
        }
    }

    /// Rebuild this node with `f` applied to each direct child.
    pub fn map_children(self, f: &mut impl FnMut(Expr) -> Expr) -> Expr {
        let mut b = |e: Box<Expr>| Box::new(f(*e));
        match self {
            Expr::Unary(op, e) => Expr::Unary(op, b(e)),
            Expr::Binary {
                op,
                left,
                right,
                collation,
            } => {
                let left = b(left);
                Expr::Binary {
                    op,
                    left,
                    right: b(right),
                    collation,
                }
            }
            Expr::IsNull { expr, negated } => Expr::IsNull {
                expr: b(expr),
                negated,
            },
            Expr::IsBool {
                expr,
                value,
                negated,
            } => Expr::IsBool {
                expr: b(expr),
                value,
                negated,
            },
            Expr::InList {
                expr,
                list,
                negated,
                collation,
            } => {
                let expr = b(expr);
                Expr::InList {
                    expr,
                    list: list.into_iter().map(&mut *f).collect(),
                    negated,
                    collation,
                }
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
                collation,
            } => {
                let (expr, low) = (b(expr), b(low));
                Expr::Between {
                    expr,
                    low,
                    high: b(high),
                    negated,
                    collation,
                }
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                collation,
            } => {
                let expr = b(expr);
                Expr::Like {
                    expr,
                    pattern: b(pattern),
                    escape,
                    negated,
                    collation,
                }
            }
            Expr::Case {
                operand,
                whens,
                otherwise,
                collation,
            } => {
                let operand = operand.map(&mut b);
                let whens = whens.into_iter().map(|(w, t)| (f(w), f(t))).collect();
                Expr::Case {
                    operand,
                    whens,
                    otherwise: otherwise.map(|o| Box::new(f(*o))),
                    collation,
                }
            }
            Expr::Cast(e, ty) => Expr::Cast(b(e), ty),
            Expr::Collate(e, c) => Expr::Collate(b(e), c),
            Expr::Call(func, args, c) => Expr::Call(func, args.into_iter().map(f).collect(), c),
            Expr::Subquery(mut sq) => {
                if let Some(expr) = sq.kind.operand_mut() {
                    let operand = std::mem::replace(expr, Expr::Literal(Datum::Null));
                    *expr = f(operand);
                }
                Expr::Subquery(sq)
            }
            leaf @ (Expr::Literal(_)
            | Expr::Param(..)
            | Expr::Column(_)
            | Expr::Outer(_)
            | Expr::UserVar(_)) => leaf,
        }
    }
}

/// Split a predicate into its AND-ed parts.
pub(crate) fn conjuncts(expr: &Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
            ..
        } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        e => out.push(e.clone()),
    }
}

/// What the WHERE clause says about one column: equal to one of some
/// constants, or within bounds.
#[derive(Default)]
struct ColumnFacts {
    equal: Option<Vec<Datum>>,
    low: Option<(Datum, bool)>,
    high: Option<(Datum, bool)>,
}

/// The datum an index or handle stores for a constant compared with a
/// column of type `ty`, when that conversion is exact (otherwise the path is
/// not used and the filter does the work).
fn key_datum(ty: &SqlType, value: &Datum) -> Option<Datum> {
    if ty.is_integer() {
        let v = match value {
            Datum::I64(v) => *v as i128,
            Datum::U64(v) => *v as i128,
            Datum::Decimal(d) => {
                let s = d.to_string();
                if s.contains('.') && !s.trim_end_matches('0').ends_with('.') {
                    return None;
                }
                s.split('.').next()?.parse().ok()?
            }
            _ => return None,
        };
        return if ty.unsigned {
            u64::try_from(v).ok().map(Datum::U64)
        } else {
            i64::try_from(v).ok().map(Datum::I64)
        };
    }
    match (ty.kind, value) {
        (_, Datum::Bytes(b))
            if ty.is_string()
                && !matches!(ty.kind, TypeKind::Enum | TypeKind::Set | TypeKind::Json) =>
        {
            Some(Datum::Bytes(ty.collation.sort_key(b)))
        }
        (TypeKind::Date, Datum::Date(_))
        | (TypeKind::DateTime | TypeKind::Timestamp, Datum::DateTime(_)) => Some(value.clone()),
        _ => None,
    }
}

fn handle_of_datum(d: &Datum) -> Option<i64> {
    match d {
        Datum::I64(v) => Some(*v),
        Datum::U64(v) => i64::try_from(*v).ok(),
        _ => None,
    }
}

/// The widest handle range read as point gets instead of a range scan.
///
/// A range scan merges every memtable and level of the LSM and steps over
/// each version a hot row has gathered there since the last flush, while a
/// point get seeks straight to the newest version or finds it in the row
/// cache: under sysbench's skewed updates a 100-row `BETWEEN` reads ~4x
/// faster as points. The price is paid by sparse ranges, one negative
/// lookup (then a cached absence) per missing handle, and this bound caps
/// it.
const POINT_SPAN_MAX: i64 = 128;

/// Every handle of a closed range at most [`POINT_SPAN_MAX`] wide, given its
/// bounds as (handle, inclusive).
fn short_span(low: Option<(i64, bool)>, high: Option<(i64, bool)>) -> Option<Vec<i64>> {
    let (low, low_inc) = low?;
    let (high, high_inc) = high?;
    let first = if low_inc { low } else { low.checked_add(1)? };
    let last = if high_inc { high } else { high.checked_sub(1)? };
    let width = last.checked_sub(first)?.checked_add(1)?;
    (width <= POINT_SPAN_MAX).then(|| (first..=last).collect())
}

impl<'a, 'c> Planner<'a, 'c> {
    /// `e`'s value if it is a constant for this execution. Reading a
    /// placeholder here does not pin a cached plan to the values: access
    /// paths are chosen again for each execution (`Plan::refresh_access`).
    fn fold(&mut self, e: &Expr) -> Option<Datum> {
        if !constant(e) {
            return None;
        }
        let params_read = self.ctx.params_read;
        let value = e.eval(&[], self.ctx);
        self.ctx.params_read = params_read;
        value.ok().filter(|d| !matches!(d, Datum::Null))
    }

    /// `e` folded to a constant, in the key form of `table`'s column `col`,
    /// for a comparison in `collation`. A string column's keys hold its own
    /// collation's order: a comparison in another (`col = 'E' COLLATE
    /// utf8mb4_general_ci` on a `_bin` column) cannot use them.
    fn key_constant(
        &mut self,
        table: &TableDef,
        col: usize,
        e: &Expr,
        collation: Collation,
    ) -> Option<Datum> {
        let ty = &table.columns[col].ty;
        if ty.is_string() && ty.collation != collation {
            return None;
        }
        let v = self.fold(e)?;
        key_datum(ty, &v)
    }

    fn facts(&mut self, table: &TableDef, parts: &[Expr]) -> Vec<ColumnFacts> {
        let mut facts: Vec<ColumnFacts> = table
            .columns
            .iter()
            .map(|_| ColumnFacts::default())
            .collect();
        // A reference to one of the table's own columns (not its handle).
        let column = |e: &Expr| match e {
            Expr::Column(c) if *c < table.columns.len() => Some(*c),
            _ => None,
        };
        for part in parts {
            match part {
                Expr::Binary {
                    op,
                    left,
                    right,
                    collation,
                } => {
                    let (col, value, op) = match (column(left), column(right)) {
                        (Some(c), _) => (c, right.as_ref(), *op),
                        (None, Some(c)) => (c, left.as_ref(), flip(*op)),
                        (None, None) => continue,
                    };
                    let Some(v) = self.key_constant(table, col, value, *collation) else {
                        continue;
                    };
                    let f = &mut facts[col];
                    match op {
                        BinaryOp::Eq | BinaryOp::NullSafeEq => f.equal = Some(vec![v]),
                        BinaryOp::Gt => f.low = Some((v, false)),
                        BinaryOp::Ge => f.low = Some((v, true)),
                        BinaryOp::Lt => f.high = Some((v, false)),
                        BinaryOp::Le => f.high = Some((v, true)),
                        _ => {}
                    }
                }
                Expr::InList {
                    expr,
                    list,
                    negated: false,
                    collation,
                } => {
                    let Some(col) = column(expr) else { continue };
                    let values: Option<Vec<Datum>> = list
                        .iter()
                        .map(|e| self.key_constant(table, col, e, *collation))
                        .collect();
                    if let Some(values) = values {
                        facts[col].equal = Some(values);
                    }
                }
                Expr::Between {
                    expr,
                    low,
                    high,
                    negated: false,
                    collation,
                } => {
                    let Some(col) = column(expr) else { continue };
                    if let (Some(l), Some(h)) = (
                        self.key_constant(table, col, low, *collation),
                        self.key_constant(table, col, high, *collation),
                    ) {
                        facts[col].low = Some((l, true));
                        facts[col].high = Some((h, true));
                    }
                }
                _ => {}
            }
        }
        facts
    }

    /// Choose how to read `table` given its WHERE clause (bound over the
    /// table's scope).
    pub fn access_path(
        &mut self,
        table: &TableDef,
        indexes: IndexChoice,
        predicate: Option<&Expr>,
    ) -> Access {
        let Some(predicate) = predicate else {
            return Access::Full;
        };
        let mut parts = Vec::new();
        conjuncts(predicate, &mut parts);
        let facts = self.facts(table, &parts);
        // A clustered table's handle is its primary key.
        let handle = table.handle_column.filter(|_| {
            (table.indexes.iter().position(|i| i.primary)).is_none_or(|p| indexes.allows(p))
        });
        if let Some(h) = handle
            && let Some(values) = &facts[h].equal
        {
            return Access::Handles(values.iter().filter_map(handle_of_datum).collect());
        }
        // A unique index with every column pinned to one value.
        for (pos, index) in table.indexes.iter().enumerate() {
            let clustered_pk = index.primary && table.handle_column.is_some();
            if !indexes.allows(pos)
                || !index.unique
                || clustered_pk
                || index.columns.iter().any(|(_, prefix)| prefix.is_some())
            {
                continue;
            }
            let values: Option<Vec<Datum>> = index
                .columns
                .iter()
                .map(|&(c, _)| {
                    facts[c]
                        .equal
                        .as_ref()
                        .filter(|v| v.len() == 1)
                        .map(|v| v[0].clone())
                })
                .collect();
            if let Some(values) = values {
                return Access::Index {
                    index: pos,
                    ranges: vec![prefix_range(table, index, &values)],
                };
            }
        }
        if let Some(h) = handle
            && (facts[h].low.is_some() || facts[h].high.is_some())
        {
            let low = facts[h]
                .low
                .as_ref()
                .and_then(|(v, inc)| Some((handle_of_datum(v)?, *inc)));
            let high = facts[h]
                .high
                .as_ref()
                .and_then(|(v, inc)| Some((handle_of_datum(v)?, *inc)));
            if let Some(handles) = short_span(low, high) {
                return Access::Handles(handles);
            }
            let range = codec::table::row_range(table.id);
            let start = match low {
                Some((v, true)) => crate::table::row_key(table, v),
                Some((v, false)) if v < i64::MAX => crate::table::row_key(table, v + 1),
                Some(_) => return Access::Handles(Vec::new()),
                None => range.start,
            };
            let end = match high {
                Some((v, true)) if v < i64::MAX => crate::table::row_key(table, v + 1),
                Some((v, false)) => crate::table::row_key(table, v),
                _ => range.end,
            };
            return Access::HandleRange(start, end);
        }
        // An index whose first column is pinned or bounded.
        for (pos, index) in table.indexes.iter().enumerate() {
            let clustered_pk = index.primary && table.handle_column.is_some();
            let Some(&(first, prefix)) = index.columns.first() else {
                continue;
            };
            if clustered_pk || prefix.is_some() || !indexes.allows(pos) {
                continue;
            }
            let f = &facts[first];
            if let Some(values) = &f.equal {
                let ranges = values
                    .iter()
                    .map(|v| prefix_range(table, index, std::slice::from_ref(v)))
                    .collect();
                return Access::Index { index: pos, ranges };
            }
            if f.low.is_some() || f.high.is_some() {
                return Access::Index {
                    index: pos,
                    ranges: vec![bounds_range(table, index, &f.low, &f.high)],
                };
            }
        }
        self.disjunctive_ranges(table, indexes, predicate)
            .unwrap_or(Access::Full)
    }

    /// `c BETWEEN a AND b OR c = d OR ...` on the first column of an index:
    /// one index range per disjunct (sysbench's select_random_ranges).
    fn disjunctive_ranges(
        &mut self,
        table: &TableDef,
        indexes: IndexChoice,
        predicate: &Expr,
    ) -> Option<Access> {
        fn disjuncts(e: &Expr, out: &mut Vec<Expr>) {
            match e {
                Expr::Binary {
                    op: BinaryOp::Or,
                    left,
                    right,
                    ..
                } => {
                    disjuncts(left, out);
                    disjuncts(right, out);
                }
                e => out.push(e.clone()),
            }
        }
        let mut parts = Vec::new();
        disjuncts(predicate, &mut parts);
        if parts.len() < 2 {
            return None;
        }
        let facts: Vec<Vec<ColumnFacts>> = parts
            .iter()
            .map(|p| self.facts(table, std::slice::from_ref(p)))
            .collect();
        for (pos, index) in table.indexes.iter().enumerate() {
            let clustered_pk = index.primary && table.handle_column.is_some();
            let Some(&(first, None)) = index.columns.first() else {
                continue;
            };
            if clustered_pk || !indexes.allows(pos) {
                continue;
            }
            // Every disjunct must give ranges: one that does not (`c0 = 6`
            // beside `c1 IN (9, 3)`) may hold for rows outside them all.
            let mut ranges = Vec::new();
            let every = facts.iter().all(|f| {
                let f = &f[first];
                match &f.equal {
                    Some(values) => {
                        ranges.extend(
                            values
                                .iter()
                                .map(|v| prefix_range(table, index, std::slice::from_ref(v))),
                        );
                        true
                    }
                    None if f.low.is_some() || f.high.is_some() => {
                        ranges.push(bounds_range(table, index, &f.low, &f.high));
                        true
                    }
                    None => false,
                }
            });
            if every {
                return Some(Access::Index { index: pos, ranges });
            }
        }
        None
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

fn index_key(table: &TableDef, index: &IndexDef, values: &[Datum]) -> Vec<u8> {
    let mut key = Vec::new();
    codec::table::encode_index_key(&mut key, table.id, index.id, values);
    key
}

/// Every entry of `index` starting with `values`.
fn prefix_range(table: &TableDef, index: &IndexDef, values: &[Datum]) -> (Vec<u8>, Vec<u8>) {
    let start = index_key(table, index, values);
    let end = codec::table::prefix_next(&start);
    (start, end)
}

/// Entries of `index` whose first column lies within the bounds; NULLs
/// (which sort first) never qualify.
fn bounds_range(
    table: &TableDef,
    index: &IndexDef,
    low: &Option<(Datum, bool)>,
    high: &Option<(Datum, bool)>,
) -> (Vec<u8>, Vec<u8>) {
    let start = match low {
        Some((v, true)) => index_key(table, index, std::slice::from_ref(v)),
        Some((v, false)) => {
            codec::table::prefix_next(&index_key(table, index, std::slice::from_ref(v)))
        }
        None => codec::table::prefix_next(&index_key(table, index, &[Datum::Null])),
    };
    let end = match high {
        Some((v, true)) => {
            codec::table::prefix_next(&index_key(table, index, std::slice::from_ref(v)))
        }
        Some((v, false)) => index_key(table, index, std::slice::from_ref(v)),
        None => codec::table::index_range(table.id, index.id).end,
    };
    (start, end)
}

/// What the FROM clause produced.
struct From {
    plan: Plan,
    scope: Scope,
}

impl<'a, 'c> Planner<'a, 'c> {
    /// Plan a query (SELECT, UNION, VALUES) with its ORDER BY and LIMIT.
    pub fn plan_query(&mut self, query: &ast::Query) -> Result<SelectPlan, SqlError> {
        let mut select = self.plan_query_unpruned(query)?;
        crate::prune::prune(&mut select.plan);
        Ok(select)
    }

    fn plan_query_unpruned(&mut self, query: &ast::Query) -> Result<SelectPlan, SqlError> {
        if query.with.is_some() {
            return Err(error::unsupported("WITH"));
        }
        refuse_query_clauses(query)?;
        if !query.locks.is_empty() && !matches!(query.body.as_ref(), ast::SetExpr::Select(_)) {
            return Err(error::unsupported(
                "a locking clause outside a simple SELECT",
            ));
        }
        match query.body.as_ref() {
            ast::SetExpr::Select(select) => self.plan_select(select, query),
            ast::SetExpr::Query(inner)
                if query.order_by.is_none() && query.limit_clause.is_none() =>
            {
                self.plan_query(inner)
            }
            _ => {
                let (plan, columns, types) = self.plan_set(&query.body)?;
                let scope = Scope {
                    columns: columns
                        .iter()
                        .zip(&types)
                        .map(|(info, ty)| ScopeColumn {
                            qualifier: None,
                            name: info.name.clone(),
                            ty: ty.clone(),
                            info: info.clone(),
                            hidden: false,
                            qualified_only: false,
                            handle_of: None,
                        })
                        .collect(),
                };
                let plan = self.order_and_limit(plan, &scope, query, &columns)?;
                Ok(SelectPlan {
                    plan,
                    columns,
                    types,
                })
            }
        }
    }

    fn plan_set(
        &mut self,
        body: &ast::SetExpr,
    ) -> Result<(Plan, Vec<ColumnInfo>, Vec<SqlType>), SqlError> {
        match body {
            ast::SetExpr::Select(_) | ast::SetExpr::Query(_) => {
                let query = match body {
                    ast::SetExpr::Query(q) => q.as_ref().clone(),
                    _ => ast::Query {
                        with: None,
                        body: Box::new(body.clone()),
                        order_by: None,
                        limit_clause: None,
                        fetch: None,
                        locks: Vec::new(),
                        for_clause: None,
                        settings: None,
                        format_clause: None,
                        pipe_operators: Vec::new(),
                    },
                };
                let p = self.plan_query(&query)?;
                Ok((p.plan, p.columns, p.types))
            }
            ast::SetExpr::SetOperation {
                left,
                op: ast::SetOperator::Union,
                set_quantifier,
                right,
            } => {
                let (l, mut columns, ltypes) = self.plan_set(left)?;
                let (r, rcols, rtypes) = self.plan_set(right)?;
                if rcols.len() != columns.len() {
                    return Err(SqlError::new(
                        1222,
                        "21000",
                        "The used SELECT statements have a different number of columns",
                    ));
                }
                // Each column takes the type of all its inputs, as MySQL's
                // UNION does (1 UNION 2.5 shows 1.0).
                let types: Vec<SqlType> = ltypes
                    .iter()
                    .zip(&rtypes)
                    .map(|(a, b)| merge_types(&[a.clone(), b.clone()]))
                    .collect();
                let conform = |plan: Plan, from: &[SqlType]| {
                    if from.iter().zip(&types).all(|(f, t)| same_type(f, t)) {
                        return plan;
                    }
                    let exprs = types
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Expr::Cast(Box::new(Expr::Column(i)), t.clone()))
                        .collect();
                    Plan::Project(Box::new(plan), exprs)
                };
                let (l, r) = (conform(l, &ltypes), conform(r, &rtypes));
                for ((info, from), to) in columns.iter_mut().zip(&ltypes).zip(&types) {
                    if !same_type(from, to) {
                        *info = expr_info(&info.name, to);
                    }
                }
                if !matches!(
                    set_quantifier,
                    ast::SetQuantifier::All
                        | ast::SetQuantifier::Distinct
                        | ast::SetQuantifier::None
                ) {
                    return Err(error::unsupported(&format!("UNION {set_quantifier}")));
                }
                let distinct = (!matches!(set_quantifier, ast::SetQuantifier::All))
                    .then(|| types.iter().map(SqlType::key_collation).collect());
                Ok((Plan::Union(vec![l, r], distinct), columns, types))
            }
            ast::SetExpr::Values(values) => {
                let mut rows = Vec::new();
                for row in &values.rows {
                    let exprs = row
                        .iter()
                        .map(|e| self.bind(e, &Scope::default(), "field list"))
                        .collect::<Result<Vec<_>, _>>()?;
                    rows.push(Plan::Project(Box::new(Plan::Dual), exprs));
                }
                let first = rows.first().ok_or_else(|| error::syntax("VALUES", 1))?;
                let Plan::Project(_, exprs) = first else {
                    return Err(error::syntax("VALUES", 1));
                };
                let types: Vec<SqlType> = exprs.iter().map(|e| e.ty(&[])).collect();
                let columns = types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| expr_info(&format!("column_{i}"), t))
                    .collect();
                Ok((Plan::Union(rows, None), columns, types))
            }
            _ => Err(error::unsupported(&body.to_string())),
        }
    }

    fn plan_from(&mut self, from: &[ast::TableWithJoins]) -> Result<From, SqlError> {
        let mut result: Option<From> = None;
        for twj in from {
            let mut item = self.plan_factor(&twj.relation)?;
            for join in &twj.joins {
                let right = self.plan_factor(&join.relation)?;
                item = self.join(item, right, &join.join_operator)?;
            }
            result = Some(match result {
                None => item,
                Some(left) => self.join(
                    left,
                    item,
                    &ast::JoinOperator::CrossJoin(ast::JoinConstraint::None),
                )?,
            });
        }
        Ok(result.unwrap_or(From {
            plan: Plan::Dual,
            scope: Scope::default(),
        }))
    }

    fn plan_factor(&mut self, factor: &ast::TableFactor) -> Result<From, SqlError> {
        match factor {
            // FROM DUAL: no table, one row.
            ast::TableFactor::Table {
                name, alias: None, ..
            } if matches!(name.0.as_slice(), [part] if part.as_ident().is_some_and(|i| i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DUAL"))) => {
                Ok(From {
                    plan: Plan::Dual,
                    scope: Scope::default(),
                })
            }
            ast::TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                inheritance,
                index_directives,
                ..
            } => {
                if args.is_some()
                    || !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || inheritance.is_some()
                    || alias.as_ref().is_some_and(|a| !a.columns.is_empty())
                {
                    return Err(error::unsupported(&factor.to_string()));
                }
                let (db, table) = self.table(name)?;
                let alias = alias.as_ref().map(|a| a.name.value.clone());
                let shown = alias.as_deref().unwrap_or(&table.name);
                let indexes = IndexChoice::of(&table, shown, index_directives)?;
                let scope = self.table_scope(&db, &table, alias.as_deref());
                Ok(From {
                    plan: Plan::Read {
                        table,
                        access: Access::Full,
                        indexes,
                        columns: None,
                    },
                    scope,
                })
            }
            ast::TableFactor::Derived { lateral: true, .. }
            | ast::TableFactor::Derived {
                sample: Some(_), ..
            } => Err(error::unsupported(&factor.to_string())),
            ast::TableFactor::Derived {
                alias: Some(alias), ..
            } if !alias.columns.is_empty() => Err(error::unsupported(
                "a column list on a derived table's alias",
            )),
            ast::TableFactor::Derived {
                subquery, alias, ..
            } => {
                let planned = self.plan_query(subquery)?;
                let Some(alias) = alias else {
                    return Err(SqlError::new(
                        1248,
                        "42000",
                        "Every derived table must have its own alias",
                    ));
                };
                let qualifier = alias.name.value.to_lowercase();
                let columns = planned
                    .columns
                    .iter()
                    .zip(&planned.types)
                    .map(|(info, ty)| ScopeColumn {
                        qualifier: Some(qualifier.clone()),
                        name: info.name.clone(),
                        ty: ty.clone(),
                        info: ColumnInfo {
                            table: alias.name.value.clone(),
                            ..info.clone()
                        },
                        hidden: false,
                        qualified_only: false,
                        handle_of: None,
                    })
                    .collect();
                Ok(From {
                    plan: planned.plan,
                    scope: Scope { columns },
                })
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => self.plan_from(std::slice::from_ref(table_with_joins)),
            other => Err(error::unsupported(&other.to_string())),
        }
    }

    fn join(&mut self, left: From, right: From, op: &ast::JoinOperator) -> Result<From, SqlError> {
        use ast::JoinOperator as J;
        let (kind, constraint, swap) = match op {
            J::Join(c) | J::Inner(c) | J::CrossJoin(c) | J::StraightJoin(c) => {
                (JoinKind::Inner, c, false)
            }
            J::Left(ast::JoinConstraint::None)
            | J::LeftOuter(ast::JoinConstraint::None)
            | J::Right(ast::JoinConstraint::None)
            | J::RightOuter(ast::JoinConstraint::None) => {
                return Err(error::unsupported("an outer join without ON or USING"));
            }
            J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c, false),
            J::Right(c) | J::RightOuter(c) => (JoinKind::Left, c, true),
            other => return Err(error::unsupported(&format!("{other:?}"))),
        };
        if let Some(q) = right.scope.columns.iter().find_map(|c| {
            c.qualifier.as_ref().filter(|q| {
                left.scope
                    .columns
                    .iter()
                    .any(|l| l.qualifier.as_ref() == Some(q))
            })
        }) {
            return Err(SqlError::new(
                1066,
                "42000",
                format!("Not unique table/alias: '{q}'"),
            ));
        }
        let left_width = left.scope.columns.len();
        let right_width = right.scope.columns.len();
        // Outer side first for the executor; RIGHT JOIN puts the right side
        // outside and restores the column order afterwards.
        let (outer, inner) = if swap { (right, left) } else { (left, right) };
        let mut scope = outer.scope.clone();
        scope.columns.extend(inner.scope.columns.iter().cloned());
        // NATURAL: USING every column name both sides have.
        let natural: Vec<String> = match constraint {
            ast::JoinConstraint::Natural => outer
                .scope
                .columns
                .iter()
                .filter(|c| !c.hidden && !c.qualified_only)
                .filter(|c| {
                    inner.scope.columns.iter().any(|i| {
                        !i.hidden && !i.qualified_only && i.name.eq_ignore_ascii_case(&c.name)
                    })
                })
                .map(|c| c.name.clone())
                .collect(),
            _ => Vec::new(),
        };
        let using: Option<Vec<String>> = match constraint {
            ast::JoinConstraint::Using(names) => Some(
                names
                    .iter()
                    .map(|n| ident_name(n).pop().unwrap_or_default())
                    .collect(),
            ),
            ast::JoinConstraint::Natural => Some(natural),
            _ => None,
        };
        let on = match (constraint, using) {
            (ast::JoinConstraint::On(e), _) => Some(self.bind(e, &scope, "on clause")?),
            (_, Some(names)) => {
                let mut cond: Option<Expr> = None;
                for col in names {
                    let l = outer.scope.resolve(None, &col, "from clause")?;
                    let r =
                        inner.scope.resolve(None, &col, "from clause")? + outer.scope.columns.len();
                    // A USING column is one column: unqualified, it names the
                    // outer side's; the inner one is reachable qualified only.
                    scope.columns[r].qualified_only = true;
                    let eq =
                        self.binary(BinaryOp::Eq, Expr::Column(l), Expr::Column(r), &[], &scope)?;
                    cond = Some(match cond {
                        None => eq,
                        Some(c) => self.binary(BinaryOp::And, c, eq, &[], &scope)?,
                    });
                }
                cond
            }
            (ast::JoinConstraint::None, _) => None,
            (other, _) => return Err(error::unsupported(&format!("{other:?}"))),
        };
        let plan = match kind {
            JoinKind::Left => {
                let types = scope.types();
                optimizer::joins::left_join(self, outer.plan, inner.plan, on, &types)
            }
            // Inner joins are planned with the WHERE clause, in
            // `optimizer::joins::inner_joins`.
            JoinKind::Inner => Plan::Join {
                left: Box::new(outer.plan),
                right: Box::new(inner.plan),
                kind,
                keys: Vec::new(),
                on,
                right_width: inner.scope.columns.len(),
            },
        };
        if !swap {
            return Ok(From { plan, scope });
        }
        let order: Vec<usize> = (right_width..right_width + left_width)
            .chain(0..right_width)
            .collect();
        let columns = order.iter().map(|&i| scope.columns[i].clone()).collect();
        let exprs = order.into_iter().map(Expr::Column).collect();
        Ok(From {
            plan: Plan::Project(Box::new(plan), exprs),
            scope: Scope { columns },
        })
    }

    /// Plan reading one table filtered by WHERE: the shape UPDATE and
    /// DELETE use. Output rows are the table's columns then its handle.
    pub fn plan_table_where(
        &mut self,
        db: &str,
        table: &Arc<TableDef>,
        indexes: IndexChoice,
        selection: Option<&ast::Expr>,
    ) -> Result<(Plan, Scope), SqlError> {
        let scope = self.table_scope(db, table, None);
        let predicate = selection
            .map(|w| self.bind(w, &scope, "where clause"))
            .transpose()?;
        let access = self.access_path(table, indexes, predicate.as_ref());
        let read = Plan::Read {
            table: table.clone(),
            access,
            indexes,
            columns: None,
        };
        let plan = match predicate {
            Some(p) => Plan::Filter(Box::new(read), p),
            None => read,
        };
        Ok((plan, scope))
    }

    /// Plan the joined rows of FROM clauses filtered by WHERE: the shape a
    /// multi-table UPDATE or DELETE reads. Every table's hidden handle is
    /// in the rows, after its columns.
    pub fn plan_join_where(
        &mut self,
        from: &[ast::TableWithJoins],
        selection: Option<&ast::Expr>,
    ) -> Result<(Plan, Scope), SqlError> {
        let From { plan, scope } = self.plan_from(from)?;
        let predicate = selection
            .map(|w| self.bind(w, &scope, "where clause"))
            .transpose()?;
        let plan = optimizer::joins::inner_joins(self, plan, predicate, &scope.types());
        Ok((plan, scope))
    }

    fn plan_select(
        &mut self,
        select: &ast::Select,
        query: &ast::Query,
    ) -> Result<SelectPlan, SqlError> {
        if select.into.is_some() {
            return Err(error::unsupported("SELECT ... INTO"));
        }
        refuse_select_clauses(select)?;
        let From { plan, scope } = self.plan_from(&select.from)?;
        let predicate = select
            .selection
            .as_ref()
            .map(|w| self.bind(w, &scope, "where clause"))
            .transpose()?;
        let mut plan = optimizer::joins::inner_joins(self, plan, predicate, &scope.types());
        let locks = self.lock_targets(&query.locks, &scope)?;
        let (group_by, rollup) = match &select.group_by {
            ast::GroupByExpr::Expressions(exprs, modifiers) => {
                let rollup = match modifiers.as_slice() {
                    [] => false,
                    [ast::GroupByWithModifier::Rollup] => true,
                    _ => return Err(error::unsupported(&select.group_by.to_string())),
                };
                let exprs = exprs
                    .iter()
                    .map(|e| self.bind_group_item(e, &scope, select))
                    .collect::<Result<Vec<_>, _>>()?;
                (exprs, rollup)
            }
            ast::GroupByExpr::All(_) => return Err(error::unsupported("GROUP BY ALL")),
        };
        let mut collector = AggCollector {
            input: scope.clone(),
            groups: group_by.len(),
            calls: Vec::new(),
        };

        // The select list, bound over the FROM scope.
        let mut exprs = Vec::new();
        let mut columns = Vec::new();
        for item in &select.projection {
            match item {
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    let qualifier = match item {
                        ast::SelectItem::QualifiedWildcard(
                            ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                            _,
                        ) => Some(ident_name(n).pop().unwrap_or_default().to_lowercase()),
                        _ => None,
                    };
                    let mut any = false;
                    for (i, c) in scope.columns.iter().enumerate() {
                        if c.hidden
                            || (c.qualified_only && qualifier.is_none())
                            || qualifier
                                .as_ref()
                                .is_some_and(|q| c.qualifier.as_ref() != Some(q))
                        {
                            continue;
                        }
                        any = true;
                        exprs.push(Expr::Column(i));
                        columns.push(c.info.clone());
                    }
                    if !any && select.from.is_empty() {
                        return Err(SqlError::new(1096, "HY000", "No tables used"));
                    }
                }
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                    let bound =
                        self.bind_with(e, &scope, "field list", &mut Some(&mut collector))?;
                    let name = match item {
                        ast::SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                        _ => display_name(e),
                    };
                    let info = match (&bound, item) {
                        (Expr::Column(c), _) if *c < scope.columns.len() => ColumnInfo {
                            name: name.clone(),
                            ..scope.columns[*c].info.clone()
                        },
                        _ => expr_info(&name, &SqlType::new(TypeKind::Null)),
                    };
                    exprs.push(bound);
                    columns.push(info);
                }
                other => return Err(error::unsupported(&other.to_string())),
            }
        }
        let having = select
            .having
            .as_ref()
            .map(|h| {
                let h = having_with_aliases(h, &select.projection, &scope);
                self.bind_with(&h, &scope, "having clause", &mut Some(&mut collector))
            })
            .transpose()?;
        // MySQL's HAVING without grouping filters the result rows by the
        // select list's names; Basalt would aggregate them instead.
        if having.is_some() && group_by.is_empty() && collector.calls.is_empty() {
            return Err(error::unsupported(
                "HAVING without GROUP BY or an aggregate",
            ));
        }
        let aggregate = !group_by.is_empty() || !collector.calls.is_empty();

        // ORDER BY keys that are not select items become hidden columns.
        let visible = exprs.len();
        let mut sort = Vec::new();
        if let Some(order) = &query.order_by {
            let ast::OrderByKind::Expressions(items) = &order.kind else {
                return Err(error::unsupported("ORDER BY ALL"));
            };
            for item in items {
                let desc = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
                let column = match &item.expr {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                        let n: usize = v.value.to_string().parse().unwrap_or(0);
                        if n == 0 || n > visible {
                            return Err(unknown_column(&n.to_string(), "order clause"));
                        }
                        n - 1
                    }
                    ast::Expr::Identifier(id)
                        if columns
                            .iter()
                            .any(|c| c.name.eq_ignore_ascii_case(&id.value))
                            && scope.resolve(None, &id.value, "order clause").is_err() =>
                    {
                        columns
                            .iter()
                            .position(|c| c.name.eq_ignore_ascii_case(&id.value))
                            .unwrap_or(0)
                    }
                    e => {
                        let bound =
                            self.bind_with(e, &scope, "order clause", &mut Some(&mut collector))?;
                        match exprs.iter().position(|x| *x == bound) {
                            Some(i) => i,
                            None => {
                                exprs.push(bound);
                                exprs.len() - 1
                            }
                        }
                    }
                };
                // ENUM and SET columns sort by their numbers.
                let column = match &exprs[column] {
                    Expr::Column(c)
                        if *c < scope.columns.len()
                            && matches!(
                                scope.columns[*c].ty.kind,
                                TypeKind::Enum | TypeKind::Set
                            ) =>
                    {
                        exprs.push(self.numeric_member(exprs[column].clone(), &scope));
                        exprs.len() - 1
                    }
                    _ => column,
                };
                sort.push((column, desc));
            }
        }

        // A locking read locks the rows it returns, read in ORDER BY order
        // up to LIMIT (as InnoDB locks what it reads): their handles ride
        // along as hidden columns. When grouping or DISTINCT merges rows,
        // it locks every row WHERE selects instead (where TiDB puts it).
        let distinct = matches!(select.distinct, Some(ast::Distinct::Distinct));
        let mut late_locks = Vec::new();
        if aggregate || distinct {
            if !locks.is_empty() {
                plan = Plan::Lock {
                    input: Box::new(plan),
                    targets: locks,
                    take: None,
                };
            }
        } else {
            for target in locks {
                exprs.push(Expr::Column(target.column));
                late_locks.push(LockTarget {
                    column: exprs.len() - 1,
                    ..target
                });
            }
        }

        if aggregate {
            // Correlated subqueries read the FROM row, which aggregation replaces.
            let correlated = |e: &Expr| matches!(e, Expr::Subquery(sq) if sq.correlated);
            if exprs.iter().chain(&having).any(|e| e.any(&correlated)) {
                return Err(error::unsupported(
                    "a correlated subquery in an aggregating query",
                ));
            }
            let exprs_post: Vec<Expr> = exprs
                .into_iter()
                .map(|e| post_aggregate(e, &group_by, &mut collector))
                .collect();
            let having = having.map(|h| post_aggregate(h, &group_by, &mut collector));
            let AggCollector { calls, .. } = collector;
            if self.ctx.sql_mode.only_full_group_by {
                check_full_group_by(&scope, &group_by, &calls, exprs_post.iter().chain(&having))?;
            }
            let collations = group_by
                .iter()
                .map(|g| self.key_collation(g, &scope, "group by"))
                .collect::<Result<_, _>>()?;
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group_by: group_by.clone(),
                collations,
                rollup,
                aggs: calls,
            };
            if let Some(h) = having {
                plan = Plan::Filter(Box::new(plan), h);
            }
            exprs = exprs_post;
        }
        let input_types = if aggregate {
            self.aggregate_types(&plan, &scope)
        } else {
            scope.types()
        };
        let types = exprs
            .iter()
            .map(|e| self.type_of(e, &input_types))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, info) in columns.iter_mut().enumerate() {
            if info.org_name.is_empty() {
                *info = expr_info(&info.name, &types[i]);
            }
        }
        plan = Plan::Project(Box::new(plan), exprs);
        if distinct {
            let collations = types[..visible]
                .iter()
                .map(SqlType::key_collation)
                .collect();
            plan = Plan::Distinct(Box::new(plan), visible, collations);
        }
        if !sort.is_empty() {
            let keys = sort
                .into_iter()
                .map(|(column, desc)| SortKey {
                    column,
                    desc,
                    collation: types[column].key_collation(),
                })
                .collect();
            plan = Plan::Sort(Box::new(plan), keys, None);
        }
        if !late_locks.is_empty() {
            plan = Plan::Lock {
                input: Box::new(plan),
                targets: late_locks,
                take: None,
            };
        }
        plan = self.limit(plan, query)?;
        if let Plan::Limit {
            input,
            offset,
            count: Some(count),
        } = &mut plan
            && let Plan::Lock { take, .. } = input.as_mut()
        {
            *take = Some(offset.saturating_add(*count));
        }
        if types.len() > visible {
            plan = Plan::Truncate(Box::new(plan), visible);
        }
        Ok(SelectPlan {
            plan,
            columns,
            types: types[..visible].to_vec(),
        })
    }

    /// The tables of FROM whose rows the locking clauses (`FOR UPDATE`,
    /// `FOR SHARE`, each maybe `OF t` and `NOWAIT` or `SKIP LOCKED`) lock,
    /// with their handle's position in `scope`. Derived tables and
    /// subqueries are not locked, as in MySQL, unless they say so
    /// themselves.
    fn lock_targets(
        &self,
        clauses: &[ast::LockClause],
        scope: &Scope,
    ) -> Result<Vec<LockTarget>, SqlError> {
        let mut targets: Vec<LockTarget> = Vec::new();
        for clause in clauses {
            let wait = match clause.nonblock {
                None => RowLockWait::Wait,
                Some(ast::NonBlock::Nowait) => RowLockWait::NoWait,
                Some(ast::NonBlock::SkipLocked) => RowLockWait::SkipLocked,
            };
            let of = clause
                .of
                .as_ref()
                .map(|n| ident_name(n).pop().unwrap_or_default().to_lowercase());
            let mut named = false;
            for (column, c) in scope.columns.iter().enumerate() {
                let Some(table) = &c.handle_of else { continue };
                if of.is_some() && c.qualifier != of {
                    continue;
                }
                named = true;
                if targets.iter().any(|t| t.column == column) {
                    if of.is_none() {
                        continue;
                    }
                    return Err(SqlError::new(
                        3569,
                        "HY000",
                        format!(
                            "Table {} appears in multiple locking clauses.",
                            of.as_deref().unwrap_or_default()
                        ),
                    ));
                }
                targets.push(LockTarget {
                    table: table.clone(),
                    column,
                    wait,
                });
            }
            if let Some(name) = of
                && !named
            {
                return Err(SqlError::new(
                    3568,
                    "HY000",
                    format!("Unresolved table name {name} in locking clause."),
                ));
            }
        }
        Ok(targets)
    }

    /// GROUP BY items may name a select alias or position, as in MySQL.
    fn bind_group_item(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        select: &ast::Select,
    ) -> Result<Expr, SqlError> {
        if let ast::Expr::Value(v) = e
            && let ast::Value::Number(n, _) = &v.value
        {
            let n: usize = n.parse().unwrap_or(0);
            return match select.projection.get(n.wrapping_sub(1)) {
                Some(
                    ast::SelectItem::UnnamedExpr(e)
                    | ast::SelectItem::ExprWithAlias { expr: e, .. },
                ) => self.bind(e, scope, "group statement"),
                _ => Err(unknown_column(&n.to_string(), "group statement")),
            };
        }
        if let ast::Expr::Identifier(id) = e
            && scope.resolve(None, &id.value, "group statement").is_err()
        {
            for item in &select.projection {
                if let ast::SelectItem::ExprWithAlias { expr, alias } = item
                    && alias.value.eq_ignore_ascii_case(&id.value)
                {
                    return self.bind(expr, scope, "group statement");
                }
            }
        }
        self.bind(e, scope, "group statement")
    }

    fn aggregate_types(&self, plan: &Plan, scope: &Scope) -> Vec<SqlType> {
        let input = scope.types();
        let mut plan = plan;
        if let Plan::Filter(inner, _) = plan {
            plan = inner;
        }
        let Plan::Aggregate { group_by, aggs, .. } = plan else {
            return input;
        };
        group_by
            .iter()
            .map(|g| g.ty(&input))
            .chain(aggs.iter().map(|a| {
                let arg = a.arg.ty(&input);
                match a.func {
                    Some(f) => f.return_type(&arg),
                    None => arg,
                }
            }))
            .collect()
    }

    /// ORDER BY (by name or position) and LIMIT over a UNION's output.
    fn order_and_limit(
        &mut self,
        mut plan: Plan,
        scope: &Scope,
        query: &ast::Query,
        columns: &[ColumnInfo],
    ) -> Result<Plan, SqlError> {
        if let Some(order) = &query.order_by {
            let ast::OrderByKind::Expressions(items) = &order.kind else {
                return Err(error::unsupported("ORDER BY ALL"));
            };
            let mut keys = Vec::new();
            for item in items {
                let column = match &item.expr {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => v
                        .value
                        .to_string()
                        .parse::<usize>()
                        .unwrap_or(0)
                        .wrapping_sub(1),
                    ast::Expr::Identifier(id) => columns
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(&id.value))
                        .unwrap_or(usize::MAX),
                    _ => usize::MAX,
                };
                if column >= columns.len() {
                    return Err(unknown_column(&item.expr.to_string(), "order clause"));
                }
                let desc = matches!(item.options.sort, Some(ast::OrderBySort::Desc));
                keys.push(SortKey {
                    column,
                    desc,
                    collation: scope.columns[column].ty.key_collation(),
                });
            }
            plan = Plan::Sort(Box::new(plan), keys, None);
        }
        self.limit(plan, query)
    }

    fn limit(&mut self, plan: Plan, query: &ast::Query) -> Result<Plan, SqlError> {
        let (limit, offset) = match &query.limit_clause {
            None => return Ok(plan),
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
        };
        let mut count_of = |e: Option<ast::Expr>| -> Result<Option<usize>, SqlError> {
            let Some(e) = e else { return Ok(None) };
            let bound = self.bind(&e, &Scope::default(), "limit clause")?;
            match bound.eval(&[], self.ctx)? {
                Datum::I64(v) if v >= 0 => Ok(Some(v as usize)),
                Datum::U64(v) => Ok(Some(v as usize)),
                _ => Err(SqlError::new(1210, "HY000", "Incorrect arguments to LIMIT")),
            }
        };
        let count = count_of(limit)?;
        let offset = count_of(offset)?.unwrap_or(0);
        Ok(Plan::limit(plan, offset, count))
    }
}

/// Refuse the clauses of a query that Basalt would otherwise drop:
/// FETCH, FOR JSON/XML, SETTINGS, FORMAT, pipes, ORDER BY's NULLS FIRST /
/// LAST, USING and WITH FILL, and LIMIT forms MySQL has not (LIMIT ALL,
/// OFFSET alone, OFFSET ... ROWS, LIMIT BY).
fn refuse_query_clauses(query: &ast::Query) -> Result<(), SqlError> {
    if query.fetch.is_some()
        || query.for_clause.is_some()
        || query.settings.is_some()
        || query.format_clause.is_some()
        || !query.pipe_operators.is_empty()
    {
        return Err(error::unsupported(&query.to_string()));
    }
    if let Some(order) = &query.order_by {
        let odd = |e: &ast::OrderByExpr| {
            e.with_fill.is_some()
                || e.options.nulls_first.is_some()
                || matches!(e.options.sort, Some(ast::OrderBySort::Using(_)))
        };
        if order.interpolate.is_some()
            || matches!(&order.kind, ast::OrderByKind::Expressions(items) if items.iter().any(odd))
        {
            return Err(error::unsupported(&order.to_string()));
        }
    }
    if let Some(ast::LimitClause::LimitOffset {
        limit,
        offset,
        limit_by,
    }) = &query.limit_clause
        && (limit.is_none()
            || !limit_by.is_empty()
            || offset
                .as_ref()
                .is_some_and(|o| !matches!(o.rows, ast::OffsetRows::None)))
    {
        let clause = query.limit_clause.as_ref().map(ToString::to_string);
        return Err(error::unsupported(clause.as_deref().unwrap_or("LIMIT")));
    }
    Ok(())
}

/// Refuse the clauses of a SELECT that Basalt would otherwise drop (other
/// dialects' TOP, QUALIFY, CLUSTER BY..., named windows, DISTINCT ON,
/// SQL_CALC_FOUND_ROWS), and optimizer hints that would change the answer
/// or the limits (SET_VAR, MAX_EXECUTION_TIME); other hints only steer
/// plans, and MySQL too ignores those it cannot follow.
fn refuse_select_clauses(select: &ast::Select) -> Result<(), SqlError> {
    let dropped = select.top.is_some()
        || !select.lateral_views.is_empty()
        || select.prewhere.is_some()
        || !select.connect_by.is_empty()
        || !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
        || !select.named_window.is_empty()
        || select.qualify.is_some()
        || select.exclude.is_some()
        || select.value_table_mode.is_some()
        || matches!(select.distinct, Some(ast::Distinct::On(_)))
        || select
            .select_modifiers
            .as_ref()
            .is_some_and(|m| m.sql_calc_found_rows);
    if dropped {
        return Err(error::unsupported(&select.to_string()));
    }
    refuse_hints(&select.optimizer_hints)
}

/// Refuse optimizer hints that change a statement's answer or limits
/// (`SET_VAR`, `MAX_EXECUTION_TIME`); the others only steer plans.
pub(crate) fn refuse_hints(hints: &[ast::OptimizerHint]) -> Result<(), SqlError> {
    for hint in hints {
        let text = hint.text.to_uppercase();
        if text.contains("SET_VAR") || text.contains("MAX_EXECUTION_TIME") {
            return Err(error::unsupported(&format!(
                "the optimizer hint /*+{} */",
                hint.text
            )));
        }
    }
    Ok(())
}

/// How MySQL names an unaliased select item: the column name for a column
/// reference, otherwise the expression's text.
fn display_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => id.value.clone(),
        ast::Expr::CompoundIdentifier(parts) => {
            parts.last().map(|p| p.value.clone()).unwrap_or_default()
        }
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

impl Expr {
    /// Whether `pred` holds for this node or any node below it.
    pub fn any(&self, pred: &impl Fn(&Expr) -> bool) -> bool {
        if pred(self) {
            return true;
        }
        match self {
            Expr::Unary(_, e)
            | Expr::Cast(e, _)
            | Expr::Collate(e, _)
            | Expr::IsNull { expr: e, .. }
            | Expr::IsBool { expr: e, .. } => e.any(pred),
            Expr::Binary { left, right, .. } => left.any(pred) || right.any(pred),
            Expr::InList { expr, list, .. } => expr.any(pred) || list.iter().any(|e| e.any(pred)),
            Expr::Between {
                expr, low, high, ..
            } => expr.any(pred) || low.any(pred) || high.any(pred),
            Expr::Like { expr, pattern, .. } => expr.any(pred) || pattern.any(pred),
            Expr::Case {
                operand,
                whens,
                otherwise,
                ..
            } => {
                operand.as_ref().is_some_and(|o| o.any(pred))
                    || whens.iter().any(|(w, t)| w.any(pred) || t.any(pred))
                    || otherwise.as_ref().is_some_and(|o| o.any(pred))
            }
            Expr::Call(_, args, _) => args.iter().any(|e| e.any(pred)),
            Expr::Subquery(sq) => sq.kind.operand().is_some_and(|e| e.any(pred)),
            Expr::Literal(_)
            | Expr::Param(..)
            | Expr::Column(_)
            | Expr::Outer(_)
            | Expr::UserVar(_) => false,
        }
    }
}

impl Plan {
    /// `input` past `offset` rows, at most `count` of them; a sort right
    /// below keeps only the rows the limit takes (TopN).
    pub fn limit(mut input: Plan, offset: usize, count: Option<usize>) -> Plan {
        if let (Plan::Sort(_, _, keep), Some(count)) = (&mut input, count) {
            *keep = Some(offset.saturating_add(count));
        }
        Plan::Limit {
            input: Box::new(input),
            offset,
            count,
        }
    }

    /// The operator's inputs, left to right.
    pub fn children(&self) -> Vec<&Plan> {
        match self {
            Plan::Dual | Plan::Read { .. } => Vec::new(),
            Plan::Filter(input, _)
            | Plan::Aggregate { input, .. }
            | Plan::Project(input, _)
            | Plan::Distinct(input, ..)
            | Plan::Sort(input, ..)
            | Plan::Limit { input, .. }
            | Plan::Lock { input, .. }
            | Plan::Truncate(input, _) => vec![input],
            Plan::Join { left, right, .. } => vec![left, right],
            Plan::Union(inputs, _) => inputs.iter().collect(),
        }
    }

    /// Columns in each output row.
    pub fn width(&self) -> usize {
        match self {
            Plan::Dual => 0,
            // The columns, then the handle.
            Plan::Read { table, .. } => table.columns.len() + 1,
            Plan::Filter(input, _)
            | Plan::Distinct(input, ..)
            | Plan::Sort(input, ..)
            | Plan::Limit { input, .. }
            | Plan::Lock { input, .. } => input.width(),
            Plan::Project(_, exprs) => exprs.len(),
            Plan::Aggregate { group_by, aggs, .. } => group_by.len() + aggs.len(),
            Plan::Truncate(_, width) => *width,
            Plan::Join {
                left, right_width, ..
            } => left.width() + right_width,
            Plan::Union(inputs, _) => inputs.first().map_or(0, Plan::width),
        }
    }

    /// Operators in the tree. Numbered in pre-order (an operator, then
    /// each child's subtree in turn), they name an operator across clones
    /// of the plan: EXPLAIN ANALYZE keeps its figures by that number.
    pub fn size(&self) -> usize {
        1 + self.children().into_iter().map(Plan::size).sum::<usize>()
    }

    /// Whether running the plan reads at most one key: one row by its
    /// handle, or nothing. Such a read is a consistent snapshot by itself,
    /// so an autocommit statement may read the newest version
    /// ([`codec::ts::LATEST`]) instead of taking a timestamp from PD.
    pub fn reads_at_most_one_key(&self) -> bool {
        /// Keys read, or `None` for a range (any number).
        fn keys(plan: &Plan) -> Option<usize> {
            match plan {
                Plan::Dual => Some(0),
                Plan::Read { access, .. } => match access {
                    Access::Handles(handles) => {
                        let first = handles.first();
                        Some(usize::from(first.is_some()))
                            .filter(|_| handles.iter().all(|h| Some(h) == first))
                    }
                    _ => None,
                },
                Plan::Join { left, right, .. } => Some(keys(left)? + keys(right)?),
                Plan::Union(inputs, _) => inputs.iter().map(keys).sum(),
                Plan::Filter(input, _)
                | Plan::Project(input, _)
                | Plan::Distinct(input, ..)
                | Plan::Sort(input, ..)
                | Plan::Truncate(input, _)
                | Plan::Aggregate { input, .. }
                | Plan::Lock { input, .. }
                | Plan::Limit { input, .. } => keys(input),
            }
        }
        keys(self).is_some_and(|n| n <= 1) && !self.any_expr(&|e| matches!(e, Expr::Subquery(_)))
    }

    /// Whether `pred` holds for any expression of this plan (subplans of
    /// subqueries are not entered).
    pub fn any_expr(&self, pred: &impl Fn(&Expr) -> bool) -> bool {
        match self {
            Plan::Dual | Plan::Read { .. } => false,
            Plan::Filter(input, e) => e.any(pred) || input.any_expr(pred),
            Plan::Project(input, exprs) => {
                exprs.iter().any(|e| e.any(pred)) || input.any_expr(pred)
            }
            Plan::Join {
                left,
                right,
                keys,
                on,
                ..
            } => {
                on.as_ref().is_some_and(|e| e.any(pred))
                    || keys.iter().any(|k| k.left.any(pred) || k.right.any(pred))
                    || left.any_expr(pred)
                    || right.any_expr(pred)
            }
            Plan::Aggregate {
                input,
                group_by,
                aggs,
                ..
            } => {
                group_by.iter().any(|e| e.any(pred))
                    || aggs
                        .iter()
                        .any(|a| a.arg.any(pred) || a.order.iter().any(|o| o.expr.any(pred)))
                    || input.any_expr(pred)
            }
            Plan::Distinct(input, ..) | Plan::Sort(input, ..) | Plan::Truncate(input, _) => {
                input.any_expr(pred)
            }
            Plan::Limit { input, .. } | Plan::Lock { input, .. } => input.any_expr(pred),
            Plan::Union(inputs, _) => inputs.iter().any(|p| p.any_expr(pred)),
        }
    }

    /// Rebuild the plan with `f` applied to every expression.
    pub fn map_exprs(self, f: &mut impl FnMut(Expr) -> Expr) -> Plan {
        let boxed = |p: Box<Plan>, f: &mut _| Box::new(p.map_exprs(f));
        match self {
            leaf @ (Plan::Dual | Plan::Read { .. }) => leaf,
            Plan::Filter(input, e) => {
                let input = boxed(input, f);
                Plan::Filter(input, f(e))
            }
            Plan::Project(input, exprs) => {
                let input = boxed(input, f);
                Plan::Project(input, exprs.into_iter().map(&mut *f).collect())
            }
            Plan::Join {
                left,
                right,
                kind,
                keys,
                on,
                right_width,
            } => {
                let (left, right) = (boxed(left, f), boxed(right, f));
                let keys = keys
                    .into_iter()
                    .map(|k| JoinKey {
                        left: f(k.left),
                        right: f(k.right),
                        collation: k.collation,
                    })
                    .collect();
                Plan::Join {
                    left,
                    right,
                    kind,
                    keys,
                    on: on.map(&mut *f),
                    right_width,
                }
            }
            Plan::Aggregate {
                input,
                group_by,
                collations,
                rollup,
                aggs,
            } => {
                let input = boxed(input, f);
                let group_by = group_by.into_iter().map(&mut *f).collect();
                let aggs = aggs
                    .into_iter()
                    .map(|a| AggCall {
                        arg: f(a.arg),
                        order: a
                            .order
                            .into_iter()
                            .map(|o| AggOrder {
                                expr: f(o.expr),
                                ..o
                            })
                            .collect(),
                        ..a
                    })
                    .collect();
                Plan::Aggregate {
                    input,
                    group_by,
                    collations,
                    rollup,
                    aggs,
                }
            }
            Plan::Distinct(input, width, collations) => {
                Plan::Distinct(boxed(input, f), width, collations)
            }
            Plan::Sort(input, keys, keep) => Plan::Sort(boxed(input, f), keys, keep),
            Plan::Truncate(input, width) => Plan::Truncate(boxed(input, f), width),
            Plan::Limit {
                input,
                offset,
                count,
            } => Plan::Limit {
                input: boxed(input, f),
                offset,
                count,
            },
            Plan::Lock {
                input,
                targets,
                take,
            } => Plan::Lock {
                input: boxed(input, f),
                targets,
                take,
            },
            Plan::Union(inputs, distinct) => Plan::Union(
                inputs.into_iter().map(|p| p.map_exprs(f)).collect(),
                distinct,
            ),
        }
    }

    /// Choose again how each filtered table is read, for this execution's
    /// placeholder values: a cached plan keeps its operators, but the keys
    /// it reads depend on the values (`WHERE id = ?`). The filter above each
    /// read still checks every row, so any access path is correct.
    pub fn refresh_access(&mut self, planner: &mut Planner<'_, '_>) {
        match self {
            Plan::Dual | Plan::Read { .. } => {}
            Plan::Filter(input, predicate) => match input.as_mut() {
                Plan::Read {
                    table,
                    access,
                    indexes,
                    ..
                } => {
                    *access = planner.access_path(table, *indexes, Some(predicate));
                }
                other => other.refresh_access(planner),
            },
            Plan::Join { left, right, .. } => {
                left.refresh_access(planner);
                right.refresh_access(planner);
            }
            Plan::Aggregate { input, .. }
            | Plan::Project(input, _)
            | Plan::Distinct(input, ..)
            | Plan::Sort(input, ..)
            | Plan::Truncate(input, _)
            | Plan::Lock { input, .. }
            | Plan::Limit { input, .. } => input.refresh_access(planner),
            Plan::Union(inputs, _) => inputs.iter_mut().for_each(|p| p.refresh_access(planner)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_closed_handle_ranges_become_points() {
        assert_eq!(
            short_span(Some((1, true)), Some((3, true))),
            Some(vec![1, 2, 3])
        );
        assert_eq!(
            short_span(Some((1, false)), Some((3, false))),
            Some(vec![2])
        );
        assert_eq!(short_span(Some((5, true)), Some((4, true))), Some(vec![]));
        assert_eq!(
            short_span(Some((1, true)), Some((POINT_SPAN_MAX, true))).map(|h| h.len()),
            Some(128)
        );
        assert_eq!(
            short_span(Some((1, true)), Some((POINT_SPAN_MAX + 1, true))),
            None
        );
        assert_eq!(short_span(None, Some((3, true))), None);
        assert_eq!(
            short_span(Some((i64::MIN, true)), Some((i64::MAX, true))),
            None
        );
        assert_eq!(
            short_span(Some((i64::MAX, false)), Some((i64::MAX, true))),
            None
        );
    }
}
