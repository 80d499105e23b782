//! Running a [`Plan`] inside a transaction. Each operator is pulled for its
//! rows batch by batch ([`stream`]): joins ([`join`]) hold their inner
//! side, aggregations ([`aggregate`]) their groups and sorts ([`sort`])
//! their input, each charged to the statement's memory quota
//! ([`crate::memory`]) while held, and each putting what passes it in
//! temporary files ([`spill`]) when the statement may; the rest passes
//! rows through. A statement's result goes to the client batch by batch as
//! the root operator hands it on ([`run_into`]), unless it fits in one
//! batch (DESIGN §7 rule 8).
//!
//! Long work goes in steps ([`step`]): between two scan requests and every
//! [`ROWS_PER_STEP`] rows of an operator that works row by row, a KILL is
//! noticed and the worker thread is handed to other connections' tasks,
//! so a long scan neither outlives its KILL nor stalls the statements that
//! share its thread. Under EXPLAIN ANALYZE
//! ([`EvalContext::analysis`]) each operator's rows, runs and time are
//! counted by its pre-order number in the plan ([`Plan::size`]).

use crate::error::{self, from_kv};
use crate::expr::eval::{compare, group_key_into};
use crate::expr::{BinaryOp, EvalContext, Expr, SubqueryKind};
use crate::memory::row_bytes;
use crate::plan::{LockTarget, Plan, RowLockWait};
use crate::result::{Sink, SqlError};
use crate::table::{decode_columns, row_key};
use crate::types::Collation;
use codec::Datum;
use kv_client::Transaction;
use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use stream::Stream;

mod aggregate;
mod join;
mod sort;
mod spill;
mod stream;

/// A row: one datum per output column.
pub type Row = Vec<Datum>;

/// Row keys fetched per batch-get when reading through an index.
const LOOKUP_BATCH: usize = 256;

/// Keys asked of the first scan request of a range; each further request
/// asks twice as many, up to [`SCAN_BATCH_MAX`]. A short range costs one
/// request, and a long one is cut into requests a KILL can fall between.
const SCAN_BATCH_FIRST: usize = 1024;

/// The most keys one scan request asks for.
const SCAN_BATCH_MAX: usize = 32 * 1024;

/// Rows an operator handles between two [`step`]s.
const ROWS_PER_STEP: usize = 1024;

/// The most rows an operator that makes rows (a join, a sort) hands on at
/// a time: TiDB's chunk size.
const BATCH_ROWS: usize = 1024;

/// What EXPLAIN ANALYZE reports of one operator.
#[derive(Clone, Copy, Debug, Default)]
pub struct OperatorStats {
    /// Rows it returned, over all its runs.
    pub rows: u64,
    /// Times it ran (more than once under a correlated subquery).
    pub loops: u64,
    /// Wall time of its runs, its inputs' included.
    pub time: Duration,
    /// The most bytes its rows took at once ([`crate::memory::rows_bytes`]).
    pub memory: usize,
    /// Bytes it wrote to temporary files.
    pub disk: usize,
}

/// What the [`Plan::Lock`] operators of a locking read gathered for the
/// statement to lock once its plan has run, and what they leave out.
#[derive(Debug, Default)]
pub struct RowLocks {
    /// Row keys to lock, with how to treat another transaction's lock.
    pub keys: Vec<(Vec<u8>, RowLockWait)>,
    /// Row keys of `SKIP LOCKED` targets that an earlier run of the
    /// statement found locked.
    pub skipped: HashSet<Vec<u8>>,
}

type Rows<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, SqlError>> + Send + 'a>>;

/// Subquery plans and their rows.
type Results = Vec<(Arc<Plan>, Vec<Row>)>;

/// Run `plan` and return its rows. Its uncorrelated subqueries run first,
/// once, and their results replace them; correlated ones run per row (see
/// [`eval_correlated`]).
pub fn run<'a>(plan: &'a Plan, txn: &'a Transaction, ctx: &'a mut EvalContext<'_>) -> Rows<'a> {
    run_into(plan, txn, ctx, None)
}

/// [`run`], handing the rows to `sink` as they come when they are more than
/// one batch: then none are returned and [`Sink::sent`] counts them. A
/// statement's own result streams this way; subqueries never do.
pub fn run_into<'a, 's: 'a>(
    plan: &'a Plan,
    txn: &'a Transaction,
    ctx: &'a mut EvalContext<'_>,
    sink: Option<&'a mut Sink<'s>>,
) -> Rows<'a> {
    Box::pin(async move {
        let found = RefCell::new(Vec::new());
        plan.any_expr(&|e| note_subquery(e, false, &found));
        let mut results = found.into_inner();
        if results.is_empty() {
            return run_plan(plan, txn, ctx, 0, sink).await;
        }
        for (subplan, rows) in &mut results {
            *rows = run_subquery(subplan, txn, ctx).await?;
        }
        let mut failure = None;
        // The same tree with literals for subqueries: operators keep their
        // pre-order numbers.
        let resolved = plan
            .clone()
            .map_exprs(&mut |e| substitute(e, &results, &mut failure));
        match failure {
            Some(e) => Err(e),
            None => run_plan(&resolved, txn, ctx, 0, sink).await,
        }
    })
}

/// Run a subquery's plan. Its operators are not the statement's: EXPLAIN
/// ANALYZE counts its time in the operator that evaluates it.
async fn run_subquery(
    plan: &Plan,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let analysis = ctx.analysis.take();
    let rows = run(plan, txn, ctx).await;
    ctx.analysis = analysis;
    rows
}

/// Evaluate `expr` with no input row, running its subqueries first (a value
/// of INSERT ... VALUES, SET @v = ...).
pub async fn eval_standalone(
    expr: &Expr,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    run_uncorrelated(expr, txn, ctx).await?.eval(&[], ctx)
}

/// `expr` with its uncorrelated subqueries run and replaced by their
/// results, so that it can be evaluated for many rows (an UPDATE's
/// assignments) with each subquery run once.
pub async fn run_uncorrelated(
    expr: &Expr,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Expr, SqlError> {
    let found = RefCell::new(Vec::new());
    expr.any(&|e| note_subquery(e, false, &found));
    let mut results = found.into_inner();
    if results.is_empty() {
        return Ok(expr.clone());
    }
    for (subplan, rows) in &mut results {
        *rows = run(subplan, txn, ctx).await?;
    }
    resolve(expr, &results)
}

/// Evaluate `expr` over `row`, running its correlated subqueries for it
/// (those left after [`run_uncorrelated`]).
pub async fn eval_for_row(
    expr: &Expr,
    row: &[Datum],
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    eval_row(expr, has_correlated(expr), row, txn, ctx).await
}

/// Evaluate `expr` over `row`, first running its correlated subqueries with
/// `row` as their outer row.
async fn eval_correlated(
    expr: &Expr,
    row: &[Datum],
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    let found = RefCell::new(Vec::new());
    expr.any(&|e| note_subquery(e, true, &found));
    let mut results = found.into_inner();
    ctx.outer_rows.push(row.to_vec());
    let mut outcome = Ok(());
    for (subplan, rows) in &mut results {
        match run_subquery(subplan, txn, ctx).await {
            Ok(r) => *rows = r,
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    ctx.outer_rows.pop();
    outcome?;
    resolve(expr, &results)?.eval(row, ctx)
}

/// Whether `expr` holds a correlated subquery.
fn has_correlated(expr: &Expr) -> bool {
    expr.any(&|e| matches!(e, Expr::Subquery(sq) if sq.correlated))
}

/// Evaluate `expr` over `row`; `correlated` says whether it holds correlated
/// subqueries (checked once per operator, not per row).
async fn eval_row(
    expr: &Expr,
    correlated: bool,
    row: &[Datum],
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Datum, SqlError> {
    if correlated {
        eval_correlated(expr, row, txn, ctx).await
    } else {
        expr.eval(row, ctx)
    }
}

/// Add `e` to `found` if it is a subquery of the wanted correlation not
/// there yet. Returns false, so `any` visits every node.
fn note_subquery(e: &Expr, correlated: bool, found: &RefCell<Results>) -> bool {
    if let Expr::Subquery(sq) = e
        && sq.correlated == correlated
    {
        let mut found = found.borrow_mut();
        if !found.iter().any(|(p, _)| Arc::ptr_eq(p, &sq.plan)) {
            found.push((sq.plan.clone(), Vec::new()));
        }
    }
    false
}

/// `expr` with the subqueries of `results` replaced by their results.
fn resolve(expr: &Expr, results: &Results) -> Result<Expr, SqlError> {
    let mut failure = None;
    let resolved = substitute(expr.clone(), results, &mut failure);
    match failure {
        Some(e) => Err(e),
        None => Ok(resolved),
    }
}

/// Replace the subqueries of `e` found in `results` by their results.
fn substitute(e: Expr, results: &Results, failure: &mut Option<SqlError>) -> Expr {
    let rows = match &e {
        Expr::Subquery(sq) => results
            .iter()
            .find(|(p, _)| Arc::ptr_eq(p, &sq.plan))
            .map(|(_, r)| r.as_slice()),
        _ => None,
    };
    let (Some(rows), Expr::Subquery(sq)) = (rows, &e) else {
        return e.map_children(&mut |c| substitute(c, results, failure));
    };
    match &sq.kind {
        SubqueryKind::Scalar => match rows {
            [] => Expr::Literal(Datum::Null),
            [row] => Expr::Literal(row.first().cloned().unwrap_or(Datum::Null)),
            _ => {
                failure.get_or_insert(SqlError::new(
                    1242,
                    "21000",
                    "Subquery returns more than 1 row",
                ));
                Expr::Literal(Datum::Null)
            }
        },
        SubqueryKind::Exists => Expr::Literal(Datum::I64(!rows.is_empty() as i64)),
        // No row: IN is false and NOT IN true, even for a NULL operand.
        SubqueryKind::In { negated, .. } if rows.is_empty() => {
            Expr::Literal(Datum::I64(*negated as i64))
        }
        SubqueryKind::In {
            expr,
            negated,
            collation,
        } => {
            let list = rows
                .iter()
                .map(|r| Expr::Literal(r.first().cloned().unwrap_or(Datum::Null)))
                .collect();
            let expr = Box::new(substitute((**expr).clone(), results, failure));
            Expr::InList {
                expr,
                list,
                negated: *negated,
                collation: *collation,
            }
        }
        SubqueryKind::Quantified {
            expr,
            op,
            all,
            collation,
        } => {
            let operand = substitute((**expr).clone(), results, failure);
            let comparisons: Vec<Expr> = rows
                .iter()
                .map(|r| Expr::Binary {
                    op: *op,
                    left: Box::new(operand.clone()),
                    right: Box::new(Expr::Literal(r.first().cloned().unwrap_or(Datum::Null))),
                    collation: *collation,
                })
                .collect();
            let join = if *all { BinaryOp::And } else { BinaryOp::Or };
            Expr::balanced(comparisons, join).unwrap_or(Expr::Literal(Datum::I64(*all as i64)))
        }
    }
}

/// Where long work pauses: `units` more rows (or requests' worth of rows)
/// of the statement are done, and every [`ROWS_PER_STEP`] of them, counted
/// over all its operators and batches, it fails with 1317 if KILL stopped
/// it (8176 or 3024 if its memory or time ran out) and yields the worker
/// thread. Short work (a point select's one row) never pauses.
async fn step(ctx: &EvalContext<'_>, units: usize) -> Result<(), SqlError> {
    let before = ctx.work.fetch_add(units, Ordering::Relaxed);
    if before / ROWS_PER_STEP != (before + units) / ROWS_PER_STEP {
        ctx.check_killed()?;
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// Run a plan whose expressions hold no uncorrelated subquery; `id` is its
/// pre-order number in the statement's plan (see [`OperatorStats`]). Its
/// rows are charged to the statement until the statement ends; what its
/// operators held is released.
async fn run_plan(
    plan: &Plan,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
    id: usize,
    sink: Option<&mut Sink<'_>>,
) -> Result<Vec<Row>, SqlError> {
    ctx.check_killed()?;
    let before = ctx.memory.held();
    let mut stream = Stream::open(plan, id, ctx);
    let rows = match sink {
        Some(sink) => stream::send(&mut stream, txn, ctx, sink).await?,
        None => stream::drain(&mut stream, txn, ctx).await?,
    };
    drop(stream);
    ctx.memory.replace(before, rows.bytes)?;
    Ok(rows.rows)
}

/// The number of the operator after the subtree `plan` numbered `id`: its
/// next sibling's. Only EXPLAIN ANALYZE needs it, and only it pays for the
/// count.
fn after(ctx: &EvalContext<'_>, id: usize, plan: &Plan) -> usize {
    match ctx.analysis {
        Some(_) => id + plan.size(),
        None => 0,
    }
}

/// What a key in a hash table takes beside its bytes: its vector and the
/// table's slot.
const HASHED_KEY_BYTES: usize = 48;

/// What an operator holds (rows, a hash table, the keys a DISTINCT has
/// seen), charged to the statement as it grows, every [`ROWS_PER_STEP`]
/// additions ([`crate::memory::StatementMemory::grow`]), and released
/// when the operator hands it on or drops it.
#[derive(Default)]
struct Held {
    pending: usize,
    count: usize,
    charged: usize,
}

impl Held {
    /// One more thing of `bytes`.
    fn add(&mut self, bytes: usize, ctx: &EvalContext<'_>) -> Result<(), SqlError> {
        self.pending += bytes;
        self.count += 1;
        if self.count.is_multiple_of(ROWS_PER_STEP) {
            let bytes = std::mem::take(&mut self.pending);
            self.charge(bytes, ctx)?;
        }
        Ok(())
    }

    /// `bytes` more, charged at once.
    fn charge(&mut self, bytes: usize, ctx: &EvalContext<'_>) -> Result<(), SqlError> {
        ctx.memory.grow(bytes)?;
        self.charged += bytes;
        Ok(())
    }

    /// Whether `bytes` more, with what is not charged yet, stay within
    /// the statement's quota.
    fn fits(&self, bytes: usize, ctx: &EvalContext<'_>) -> bool {
        ctx.memory.fits(self.pending + bytes)
    }

    /// What was held is gone.
    fn release(self, ctx: &EvalContext<'_>) {
        ctx.memory.release(self.charged);
    }
}

/// Hand the keys of `rows`' locked tables to the statement
/// ([`EvalContext::row_locks`]), leaving out rows a `SKIP LOCKED` target
/// found locked, and rows past the `left` still to pass (counted down).
fn lock_rows(
    rows: Vec<Row>,
    targets: &[LockTarget],
    left: &mut usize,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let Some(locks) = ctx.row_locks.as_mut() else {
        // Only a SELECT statement gathers row locks; elsewhere (INSERT ...
        // SELECT, a subquery of UPDATE, EXPLAIN ANALYZE) refuse rather than
        // read without locking.
        return Err(error::unsupported("a locking read inside this statement"));
    };
    let mut out = Vec::with_capacity(rows.len().min(*left));
    let mut keys = Vec::with_capacity(targets.len());
    for row in rows {
        if *left == 0 {
            break;
        }
        keys.clear();
        for t in targets {
            // An outer join's missing side has no row to lock.
            if let Datum::I64(handle) = row[t.column] {
                keys.push((row_key(&t.table, handle), t.wait));
            }
        }
        if keys
            .iter()
            .any(|(k, w)| *w == RowLockWait::SkipLocked && locks.skipped.contains(k))
        {
            continue;
        }
        locks.keys.append(&mut keys);
        out.push(row);
        *left -= 1;
    }
    Ok(out)
}

/// One hashable key for a row's values, equal for values equal under their
/// collations.
fn row_key_bytes(values: &[Datum], collations: impl IntoIterator<Item = Collation>) -> Vec<u8> {
    let mut key = Vec::new();
    for (d, c) in values.iter().zip(collations) {
        push_key_part(&mut key, d, c);
    }
    key
}

/// Append one value to a [`row_key_bytes`] key: behind its length, so that
/// a key's leading parts are the key of the leading values.
fn push_key_part(key: &mut Vec<u8>, d: &Datum, c: Collation) {
    let at = key.len();
    key.extend_from_slice(&[0; 4]);
    group_key_into(key, d, c);
    let len = (key.len() - at - 4) as u32;
    key[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Read a table's rows (columns, then the handle) by handle, decoding the
/// `columns` marked (all if `None`): a point get, or batch gets.
async fn read_handles(
    table: &crate::catalog::TableDef,
    handles: &[i64],
    columns: Option<&[bool]>,
    txn: &Transaction,
    ctx: &EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let mut handles = handles.to_vec();
    handles.sort_unstable();
    handles.dedup();
    if let [h] = handles.as_slice() {
        return match txn.get(&row_key(table, *h)).await.map_err(from_kv)? {
            Some(v) => Ok(vec![decode_row(table, columns, *h, &v)?]),
            None => Ok(Vec::new()),
        };
    }
    lookup(&handles, txn, table, columns, ctx).await
}

/// A row as a read hands it on: the `columns` marked (all if `None`)
/// decoded from its stored value, then its handle.
fn decode_row(
    table: &crate::catalog::TableDef,
    columns: Option<&[bool]>,
    handle: i64,
    value: &[u8],
) -> Result<Row, SqlError> {
    let mut row = decode_columns(table, value, columns)?;
    row.push(Datum::I64(handle));
    Ok(row)
}

/// Fetch rows by handle, in the given order.
async fn lookup(
    handles: &[i64],
    txn: &Transaction,
    table: &crate::catalog::TableDef,
    columns: Option<&[bool]>,
    ctx: &EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let mut out = Output::default();
    for chunk in handles.chunks(LOOKUP_BATCH) {
        step(ctx, LOOKUP_BATCH).await?;
        let keys: Vec<Vec<u8>> = chunk.iter().map(|h| row_key(table, *h)).collect();
        let values = txn.batch_get(&keys).await.map_err(from_kv)?;
        for (h, value) in chunk.iter().zip(values) {
            if let Some(v) = value {
                out.push(decode_row(table, columns, *h, &v)?, ctx)?;
            }
        }
    }
    Ok(out.rows)
}

/// An operator's rows while it builds them, with what they take checked
/// against the statement's memory quota every [`ROWS_PER_STEP`] rows.
#[derive(Default)]
struct Output {
    rows: Vec<Row>,
    bytes: usize,
}

impl Output {
    fn push(&mut self, row: Row, ctx: &EvalContext<'_>) -> Result<(), SqlError> {
        self.bytes += row_bytes(&row);
        self.rows.push(row);
        if self.rows.len().is_multiple_of(ROWS_PER_STEP) {
            ctx.memory.check(self.bytes)?;
        }
        Ok(())
    }
}

/// ORDER BY's order of two values: by `collation`, NULLs first ascending,
/// as in MySQL; JSON by MySQL's JSON sort keys, which order arrays and
/// objects by their size only.
fn compare_for_sort(a: &Datum, b: &Datum, collation: Collation) -> std::cmp::Ordering {
    if collation == Collation::Json && *a != Datum::Null && *b != Datum::Null {
        return crate::expr::json_order::sort_compare(a, b);
    }
    nulls_first(a, b, collation)
}

/// Two values by `collation`, NULLs first: the order ROLLUP emits groups
/// in, where values must compare as they were grouped.
fn nulls_first(a: &Datum, b: &Datum, collation: Collation) -> std::cmp::Ordering {
    match compare(a, b, collation) {
        Some(o) => o,
        None => matches!(b, Datum::Null).cmp(&matches!(a, Datum::Null)),
    }
}
