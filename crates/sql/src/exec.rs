//! Running a [`Plan`] inside a transaction. An operator materialises its
//! rows, charged to the statement's memory quota ([`crate::memory`]),
//! except below a LIMIT, which pulls reads, filters and projections batch
//! by batch ([`stream`]) and stops them once it has its rows; streaming
//! everywhere and spilling come later (DESIGN §7 rule 8).
//!
//! Long work goes in steps ([`step`]): between two scan requests and every
//! [`ROWS_PER_STEP`] rows of an operator that works row by row, a KILL is
//! noticed and the worker thread is handed to other connections' tasks,
//! so a long scan neither outlives its KILL nor stalls the statements that
//! share its thread. Under EXPLAIN ANALYZE
//! ([`EvalContext::analysis`]) each operator's rows, runs and time are
//! counted by its pre-order number in the plan ([`Plan::size`]).

use crate::error::{self, from_kv};
use crate::expr::eval::{compare, group_key, group_key_into, truthy};
use crate::expr::{BinaryOp, EvalContext, Expr, SubqueryKind};
use crate::memory::{row_bytes, rows_bytes};
use crate::plan::{Access, JoinKey, JoinKind, LockTarget, Plan, RowLockWait, SortKey};
use crate::result::SqlError;
use crate::table::{decode_columns, row_key};
use crate::types::Collation;
use codec::Datum;
use kv_client::Transaction;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    Box::pin(async move {
        let found = RefCell::new(Vec::new());
        plan.any_expr(&|e| note_subquery(e, false, &found));
        let mut results = found.into_inner();
        if results.is_empty() {
            return run_plan(plan, txn, ctx, 0).await;
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
            None => run_plan(&resolved, txn, ctx, 0).await,
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

/// Where long work pauses, at the `i`th row (or request) of an operator:
/// every [`ROWS_PER_STEP`], fail with 1317 if KILL stopped the statement,
/// and yield the worker thread. Short work (a point select's one row)
/// never pauses.
async fn step(ctx: &EvalContext<'_>, i: usize) -> Result<(), SqlError> {
    if i != 0 && i.is_multiple_of(ROWS_PER_STEP) {
        ctx.check_killed()?;
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// Run a plan whose expressions hold no uncorrelated subquery; `id` is its
/// pre-order number in the statement's plan (see [`OperatorStats`]).
fn run_plan<'a>(
    plan: &'a Plan,
    txn: &'a Transaction,
    ctx: &'a mut EvalContext<'_>,
    id: usize,
) -> Rows<'a> {
    Box::pin(async move {
        ctx.check_killed()?;
        let held = ctx.memory.held();
        let started = ctx.analysis.is_some().then(Instant::now);
        let rows = operator(plan, txn, ctx, id).await?;
        let bytes = rows_bytes(&rows);
        if let (Some(started), Some(stats)) =
            (started, ctx.analysis.as_mut().and_then(|a| a.get_mut(id)))
        {
            stats.rows += rows.len() as u64;
            stats.loops += 1;
            stats.time += started.elapsed();
            stats.memory = stats.memory.max(bytes);
        }
        // Its inputs are gone; its rows are held until its parent is done.
        ctx.memory.replace(held, bytes)?;
        Ok(rows)
    })
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

/// One operator of a plan, numbered `id`: its inputs are `id + 1` onwards.
async fn operator(
    plan: &Plan,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
    id: usize,
) -> Result<Vec<Row>, SqlError> {
    let first = id + 1;
    Ok(match plan {
        Plan::Dual => vec![Vec::new()],
        Plan::Read {
            table,
            access,
            columns,
            ..
        } => read(table, access, columns.as_deref(), txn, ctx).await?,
        Plan::Filter(input, predicate) => {
            let rows = run_plan(input, txn, ctx, first).await?;
            let correlated = has_correlated(predicate);
            stream::filter(rows, predicate, correlated, txn, ctx).await?
        }
        Plan::Project(input, exprs) => {
            let rows = run_plan(input, txn, ctx, first).await?;
            let correlated: Vec<bool> = exprs.iter().map(has_correlated).collect();
            stream::project(rows, exprs, &correlated, txn, ctx).await?
        }
        Plan::Join {
            left,
            right,
            kind,
            keys,
            on,
            right_width,
        } => {
            let outer = run_plan(left, txn, ctx, first).await?;
            let inner = run_plan(right, txn, ctx, after(ctx, first, left)).await?;
            let join = Join {
                kind: *kind,
                on: on.as_ref(),
                right_width: *right_width,
            };
            if keys.is_empty() {
                join.nested_loop(outer, &inner, ctx).await?
            } else {
                join.hash(outer, &inner, keys, ctx).await?
            }
        }
        Plan::Aggregate {
            input,
            group_by,
            collations,
            rollup,
            aggs,
        } => {
            let rows = run_plan(input, txn, ctx, first).await?;
            aggregate(rows, group_by, collations, *rollup, aggs, ctx).await?
        }
        Plan::Distinct(input, width, collations) => {
            let rows = run_plan(input, txn, ctx, first).await?;
            distinct(rows, *width, collations, ctx)?
        }
        Plan::Sort(input, keys, keep) => {
            let rows = run_plan(input, txn, ctx, first).await?;
            sort(rows, keys, *keep)
        }
        Plan::Limit {
            input,
            offset,
            count,
        } => {
            // Pulled batch by batch: the reads below stop once the rows
            // are there.
            let mut input = stream::Stream::open(input, first);
            let (mut skip, mut left) = (*offset, count.unwrap_or(usize::MAX));
            let mut out = Output::default();
            while left > 0
                && let Some(rows) = input.next(txn, ctx).await?
            {
                let past = skip.min(rows.len());
                skip -= past;
                for row in rows.into_iter().skip(past).take(left) {
                    out.push(row, ctx)?;
                    left -= 1;
                }
            }
            out.rows
        }
        Plan::Lock {
            input,
            targets,
            take,
        } => {
            let rows = run_plan(input, txn, ctx, first).await?;
            lock_rows(rows, targets, *take, ctx)?
        }
        Plan::Truncate(input, width) => {
            let mut rows = run_plan(input, txn, ctx, first).await?;
            rows.iter_mut().for_each(|r| r.truncate(*width));
            rows
        }
        Plan::Union(inputs, distinct) => {
            let mut out = Vec::new();
            let mut next = first;
            for input in inputs {
                out.extend(run_plan(input, txn, ctx, next).await?);
                next = after(ctx, next, input);
            }
            match distinct {
                Some(collations) => self::distinct(out, collations.len(), collations, ctx)?,
                None => out,
            }
        }
    })
}

/// `rows` in the order of `keys`, rows of equal keys in input order; with
/// `keep`, only the first `keep` of them, found without sorting the rest.
fn sort(mut rows: Vec<Row>, keys: &[SortKey], keep: Option<usize>) -> Vec<Row> {
    let order = |a: &Row, b: &Row| {
        for k in keys {
            let ord = compare_for_sort(&a[k.column], &b[k.column], k.collation);
            let ord = if k.desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    };
    match keep {
        Some(0) => Vec::new(),
        Some(n) if n < rows.len() => {
            // The input position breaks ties, so the rows kept are those a
            // stable sort would put first.
            let mut numbered: Vec<(usize, Row)> = rows.into_iter().enumerate().collect();
            let by = |a: &(usize, Row), b: &(usize, Row)| order(&a.1, &b.1).then(a.0.cmp(&b.0));
            numbered.select_nth_unstable_by(n - 1, by);
            numbered.truncate(n);
            numbered.sort_unstable_by(by);
            numbered.into_iter().map(|(_, row)| row).collect()
        }
        _ => {
            rows.sort_by(order);
            rows
        }
    }
}

/// The first of each set of `rows` equal in their first `width` columns
/// under `collations`; the keys seen are charged to the statement.
fn distinct(
    rows: Vec<Row>,
    width: usize,
    collations: &[Collation],
    ctx: &EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let mut seen = HashSet::with_capacity(rows.len());
    let mut held = Held::default();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let key = row_key_bytes(&row[..width], collations.iter().copied());
        held.add(key.capacity() + HASHED_KEY_BYTES, ctx)?;
        if seen.insert(key) {
            out.push(row);
        }
    }
    Ok(out)
}

/// What a key in a hash table takes beside its bytes: its vector and the
/// table's slot.
const HASHED_KEY_BYTES: usize = 48;

/// Bytes an operator holds besides its output (a hash table's keys, the
/// keys a DISTINCT has seen), charged to the statement every
/// [`ROWS_PER_STEP`] additions ([`crate::memory::StatementMemory::grow`])
/// and released when the operator finishes.
#[derive(Default)]
struct Held {
    pending: usize,
    count: usize,
}

impl Held {
    fn add(&mut self, bytes: usize, ctx: &EvalContext<'_>) -> Result<(), SqlError> {
        self.pending += bytes;
        self.count += 1;
        if self.count.is_multiple_of(ROWS_PER_STEP) {
            ctx.memory.grow(std::mem::take(&mut self.pending))?;
        }
        Ok(())
    }
}

/// Hand the keys of `rows`' locked tables to the statement
/// ([`EvalContext::row_locks`]), leaving out rows a `SKIP LOCKED` target
/// found locked, and rows past `take`.
fn lock_rows(
    rows: Vec<Row>,
    targets: &[LockTarget],
    take: Option<usize>,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let Some(locks) = ctx.row_locks.as_mut() else {
        // Only a SELECT statement gathers row locks; elsewhere (INSERT ...
        // SELECT, a subquery of UPDATE, EXPLAIN ANALYZE) refuse rather than
        // read without locking.
        return Err(error::unsupported("a locking read inside this statement"));
    };
    let take = take.unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(rows.len().min(take));
    let mut keys = Vec::with_capacity(targets.len());
    for row in rows {
        if out.len() >= take {
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

/// Read a table's rows (columns, then the handle) along an access path,
/// decoding the `columns` marked (all if `None`).
async fn read(
    table: &crate::catalog::TableDef,
    access: &Access,
    columns: Option<&[bool]>,
    txn: &Transaction,
    ctx: &EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let Some(mut ranges) = stream::Read::new(table, access, columns) else {
        let Access::Handles(handles) = access else {
            return Err(error::internal("a read by handle without handles"));
        };
        let mut handles = handles.clone();
        handles.sort_unstable();
        handles.dedup();
        if let [h] = handles.as_slice() {
            return match txn.get(&row_key(table, *h)).await.map_err(from_kv)? {
                Some(v) => Ok(vec![decode_row(table, columns, *h, &v)?]),
                None => Ok(Vec::new()),
            };
        }
        return lookup(&handles, txn, table, columns, ctx).await;
    };
    let mut rows = Output::default();
    while let Some(batch) = ranges.next(txn, ctx).await? {
        for row in batch {
            rows.push(row, ctx)?;
        }
    }
    Ok(rows.rows)
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
    for (i, chunk) in handles.chunks(LOOKUP_BATCH).enumerate() {
        step(ctx, i * LOOKUP_BATCH).await?;
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

/// How a join's pairs become rows: every pair that passes `on` (after the
/// keys, for a hash join), and for a LEFT join each outer row without one,
/// NULL-extended.
struct Join<'p> {
    kind: JoinKind,
    on: Option<&'p Expr>,
    right_width: usize,
}

impl Join<'_> {
    /// Try every pair.
    async fn nested_loop(
        &self,
        outer: Vec<Row>,
        inner: &[Row],
        ctx: &mut EvalContext<'_>,
    ) -> Result<Vec<Row>, SqlError> {
        let mut out = Output::default();
        let mut pairs = 0;
        for l in outer {
            let mut matched = false;
            for r in inner {
                step(ctx, pairs).await?;
                pairs += 1;
                matched |= self.pair(&l, r, &mut out, ctx)?;
            }
            self.finish(l, matched, &mut out, ctx)?;
        }
        Ok(out.rows)
    }

    /// Hash the inner rows by their keys, then try each outer row only
    /// with the inner rows of equal keys. A NULL key matches nothing.
    async fn hash(
        &self,
        outer: Vec<Row>,
        inner: &[Row],
        keys: &[JoinKey],
        ctx: &mut EvalContext<'_>,
    ) -> Result<Vec<Row>, SqlError> {
        let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::with_capacity(inner.len());
        let mut held = Held::default();
        for (i, r) in inner.iter().enumerate() {
            step(ctx, i).await?;
            if let Some(key) = join_key(keys.iter().map(|k| (&k.right, k.collation)), r, ctx)? {
                held.add(key.capacity() + HASHED_KEY_BYTES + size_of::<usize>(), ctx)?;
                table.entry(key).or_default().push(i);
            }
        }
        let mut out = Output::default();
        let mut pairs = 0;
        for l in outer {
            step(ctx, pairs).await?;
            pairs += 1;
            let mut matched = false;
            if let Some(key) = join_key(keys.iter().map(|k| (&k.left, k.collation)), &l, ctx)? {
                for &i in table.get(&key).map_or(&[][..], Vec::as_slice) {
                    step(ctx, pairs).await?;
                    pairs += 1;
                    matched |= self.pair(&l, &inner[i], &mut out, ctx)?;
                }
            }
            self.finish(l, matched, &mut out, ctx)?;
        }
        Ok(out.rows)
    }

    /// The row of `l` and `r` if it passes `on`; whether it did.
    fn pair(
        &self,
        l: &[Datum],
        r: &[Datum],
        out: &mut Output,
        ctx: &mut EvalContext<'_>,
    ) -> Result<bool, SqlError> {
        let mut row = Vec::with_capacity(l.len() + r.len());
        row.extend_from_slice(l);
        row.extend_from_slice(r);
        let passed = self
            .on
            .map_or(Ok(true), |e| e.eval(&row, ctx).map(|d| truthy(&d)))?;
        if passed {
            out.push(row, ctx)?;
        }
        Ok(passed)
    }

    /// After an outer row's pairs: a LEFT join keeps it unmatched.
    fn finish(
        &self,
        mut l: Row,
        matched: bool,
        out: &mut Output,
        ctx: &EvalContext<'_>,
    ) -> Result<(), SqlError> {
        if !matched && self.kind == JoinKind::Left {
            l.extend(std::iter::repeat_n(Datum::Null, self.right_width));
            out.push(l, ctx)?;
        }
        Ok(())
    }
}

/// The hash key of `row` for a join's key expressions, or None when one of
/// them is NULL (`=` is never true then).
fn join_key<'e>(
    exprs: impl Iterator<Item = (&'e Expr, Collation)>,
    row: &[Datum],
    ctx: &mut EvalContext<'_>,
) -> Result<Option<Vec<u8>>, SqlError> {
    let mut key = Vec::new();
    for (e, collation) in exprs {
        let value = e.eval(row, ctx)?;
        if matches!(value, Datum::Null) {
            return Ok(None);
        }
        push_key_part(&mut key, &value, collation);
    }
    Ok(Some(key))
}

/// One group's aggregate states: an accumulator per aggregate call.
enum AggState {
    /// The accumulator, the DISTINCT values seen, and for an ordered
    /// GROUP_CONCAT the values with their sort keys, fed to the
    /// accumulator in order at the end.
    Func(
        crate::expr::agg::Accumulator,
        Option<HashSet<Vec<u8>>>,
        Option<Vec<(Row, Datum)>>,
    ),
    First(Option<Datum>),
}

/// A group: its grouping values (NULL past a super-aggregate's prefix)
/// and aggregate states.
struct Group {
    values: Row,
    states: Vec<AggState>,
}

impl Group {
    fn new(values: Row, aggs: &[crate::plan::AggCall]) -> Self {
        let states = aggs
            .iter()
            .map(|a| match a.func {
                Some(f) => {
                    let mut acc = f.accumulator(a.collation);
                    if let Some(separator) = &a.separator {
                        acc = acc.with_separator(separator.clone());
                    }
                    let ordered = (!a.order.is_empty()).then(Vec::new);
                    AggState::Func(acc, a.distinct.then(HashSet::new), ordered)
                }
                None => AggState::First(None),
            })
            .collect();
        Group { values, states }
    }

    /// Feed one input row to every aggregate.
    fn feed(
        &mut self,
        row: &Row,
        aggs: &[crate::plan::AggCall],
        ctx: &mut EvalContext<'_>,
    ) -> Result<(), SqlError> {
        for (state, call) in self.states.iter_mut().zip(aggs) {
            let arg = call.arg.eval(row, ctx)?;
            match state {
                AggState::Func(acc, distinct, ordered) => {
                    if let Some(seen) = distinct
                        && !matches!(arg, Datum::Null)
                        && !seen.insert(group_key(&arg, call.collation))
                    {
                        continue;
                    }
                    match ordered {
                        Some(pending) if !matches!(arg, Datum::Null) => {
                            let keys = call
                                .order
                                .iter()
                                .map(|o| o.expr.eval(row, ctx))
                                .collect::<Result<Row, _>>()?;
                            pending.push((keys, arg));
                        }
                        Some(_) => {}
                        None => acc.update(&arg, ctx)?,
                    }
                }
                AggState::First(first) => {
                    first.get_or_insert(arg);
                }
            }
        }
        Ok(())
    }

    /// The output row: grouping values, then each aggregate's result.
    fn finish(
        self,
        aggs: &[crate::plan::AggCall],
        ctx: &mut EvalContext<'_>,
    ) -> Result<Row, SqlError> {
        let mut row = self.values;
        for (state, call) in self.states.into_iter().zip(aggs) {
            row.push(match state {
                AggState::Func(mut acc, _, Some(mut pending)) => {
                    pending.sort_by(|(a, _), (b, _)| {
                        for ((x, y), o) in a.iter().zip(b).zip(&call.order) {
                            let ord = compare_for_sort(x, y, o.collation);
                            let ord = if o.desc { ord.reverse() } else { ord };
                            if ord.is_ne() {
                                return ord;
                            }
                        }
                        std::cmp::Ordering::Equal
                    });
                    for (_, value) in &pending {
                        acc.update(value, ctx)?;
                    }
                    acc.finish()
                }
                AggState::Func(acc, _, None) => acc.finish(),
                AggState::First(first) => first.unwrap_or(Datum::Null),
            });
        }
        Ok(row)
    }
}

/// Group rows and compute aggregates; output rows are the group values then
/// one value per aggregate, groups in order of first appearance. With
/// `rollup`, each row also feeds the super-aggregate group of every prefix
/// of its grouping values (the level: how many values it keeps), and the
/// groups come out in key order, each prefix's total after its last group,
/// as MySQL's WITH ROLLUP.
async fn aggregate(
    rows: Vec<Row>,
    group_by: &[Expr],
    collations: &[Collation],
    rollup: bool,
    aggs: &[crate::plan::AggCall],
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let width = group_by.len();
    let lowest = if rollup { 0 } else { width };
    // Per level (the full groups last), each group's position by its key.
    let mut index: Vec<HashMap<Vec<u8>, usize>> = vec![HashMap::new(); width + 1];
    let mut groups: Vec<Group> = Vec::new();
    if group_by.is_empty() {
        groups.push(Group::new(Vec::new(), aggs));
    }
    let mut key = Vec::new();
    let mut ends = Vec::with_capacity(width);
    let mut grouped = 0;
    for (i, row) in rows.into_iter().enumerate() {
        step(ctx, i).await?;
        // Without GROUP BY every row belongs to the one group made above.
        if group_by.is_empty() {
            groups[0].feed(&row, aggs, ctx)?;
            continue;
        }
        let values = group_by
            .iter()
            .map(|g| g.eval(&row, ctx))
            .collect::<Result<Row, _>>()?;
        key.clear();
        ends.clear();
        for (d, &c) in values.iter().zip(collations) {
            push_key_part(&mut key, d, c);
            ends.push(key.len());
        }
        for level in (lowest..=width).rev() {
            let prefix = &key[..level.checked_sub(1).map_or(0, |l| ends[l])];
            let g = match index[level].get(prefix) {
                Some(&g) => g,
                None => {
                    let mut kept = values[..level].to_vec();
                    kept.resize(width, Datum::Null);
                    // A group holds its values, its key and its states.
                    grouped += row_bytes(&kept) + prefix.len() + aggs.len() * 64;
                    if groups.len().is_multiple_of(ROWS_PER_STEP) {
                        ctx.memory.check(grouped)?;
                    }
                    groups.push(Group::new(kept, aggs));
                    index[level].insert(prefix.to_vec(), groups.len() - 1);
                    groups.len() - 1
                }
            };
            groups[g].feed(&row, aggs, ctx)?;
        }
    }
    if !rollup {
        return groups.into_iter().map(|g| g.finish(aggs, ctx)).collect();
    }
    let full = index.pop().unwrap_or_default();
    let mut order: Vec<usize> = full.into_values().collect();
    let equal = |a: &Row, b: &Row, i: usize| nulls_first(&a[i], &b[i], collations[i]).is_eq();
    order.sort_by(|&a, &b| {
        let (a, b) = (&groups[a].values, &groups[b].values);
        (0..width)
            .map(|i| nulls_first(&a[i], &b[i], collations[i]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut emit = Vec::with_capacity(groups.len());
    for (at, &g) in order.iter().enumerate() {
        emit.push(g);
        // The prefixes that end here: those longer than what this group
        // shares with the next, all of them after the last group.
        let from = order.get(at + 1).map_or(0, |&next| {
            let (a, b) = (&groups[g].values, &groups[next].values);
            (0..width).take_while(|&i| equal(a, b, i)).count() + 1
        });
        for level in (from..width).rev() {
            let prefix = row_key_bytes(&groups[g].values[..level], collations.iter().copied());
            emit.extend(index[level].get(&prefix).copied());
        }
    }
    let mut groups: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    emit.into_iter()
        .filter_map(|g| groups[g].take())
        .map(|g| g.finish(aggs, ctx))
        .collect()
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
