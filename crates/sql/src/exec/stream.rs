//! Operators that hand their rows on in batches, so that a LIMIT stops the
//! reads beneath it once it has its rows: `SELECT * FROM t LIMIT 10` reads
//! one request's worth of `t`, not all of it (TiDB's chunks). Table reads
//! over key ranges, filters, projections and truncations stream; below a
//! LIMIT, any other operator runs to its end first and its rows are handed
//! on at once ([`Stream::Whole`]).

use super::{
    ROWS_PER_STEP, Row, SCAN_BATCH_FIRST, SCAN_BATCH_MAX, decode_row, eval_row, has_correlated,
    lookup, run_plan, step,
};
use crate::catalog::{IndexDef, TableDef};
use crate::error::{self, from_kv};
use crate::expr::eval::truthy;
use crate::expr::{EvalContext, Expr};
use crate::memory::rows_bytes;
use crate::plan::{Access, Plan};
use crate::result::SqlError;
use crate::table::handle_from_entry;
use kv_client::Transaction;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// The next batch of a stream; `None` once it has no more rows.
type Batch<'a> = Pin<Box<dyn Future<Output = Result<Option<Vec<Row>>, SqlError>> + Send + 'a>>;

/// An operator whose rows are pulled batch by batch. Each has its plan's
/// pre-order number, under which EXPLAIN ANALYZE counts its rows and time.
pub(super) enum Stream<'p> {
    /// A table read along key ranges.
    Read(Read<'p>, usize),
    /// Rows for which the predicate is true.
    Filter {
        input: Box<Stream<'p>>,
        predicate: &'p Expr,
        correlated: bool,
        id: usize,
    },
    /// Computed columns.
    Project {
        input: Box<Stream<'p>>,
        exprs: &'p [Expr],
        correlated: Vec<bool>,
        id: usize,
    },
    /// The first columns of each row.
    Truncate {
        input: Box<Stream<'p>>,
        width: usize,
        id: usize,
    },
    /// An operator that does not stream: run whole on the first pull.
    Whole {
        plan: &'p Plan,
        id: usize,
        done: bool,
    },
}

impl<'p> Stream<'p> {
    /// The stream of `plan`, numbered `id`; nothing is read yet.
    pub(super) fn open(plan: &'p Plan, id: usize) -> Self {
        match plan {
            Plan::Read {
                table,
                access,
                columns,
                ..
            } => match Read::new(table, access, columns.as_deref()) {
                Some(read) => Stream::Read(read, id),
                None => Stream::Whole {
                    plan,
                    id,
                    done: false,
                },
            },
            Plan::Filter(input, predicate) => Stream::Filter {
                input: Box::new(Stream::open(input, id + 1)),
                predicate,
                correlated: has_correlated(predicate),
                id,
            },
            Plan::Project(input, exprs) => Stream::Project {
                input: Box::new(Stream::open(input, id + 1)),
                exprs,
                correlated: exprs.iter().map(has_correlated).collect(),
                id,
            },
            Plan::Truncate(input, width) => Stream::Truncate {
                input: Box::new(Stream::open(input, id + 1)),
                width: *width,
                id,
            },
            _ => Stream::Whole {
                plan,
                id,
                done: false,
            },
        }
    }

    /// The next rows, at least one unless the stream is done (`None`).
    pub(super) fn next<'a>(
        &'a mut self,
        txn: &'a Transaction,
        ctx: &'a mut EvalContext<'_>,
    ) -> Batch<'a> {
        Box::pin(async move {
            let started = ctx.analysis.is_some().then(Instant::now);
            let (batch, id) = match self {
                Stream::Whole { plan, id, done } => {
                    // run_plan counts it for EXPLAIN ANALYZE itself.
                    if *done {
                        return Ok(None);
                    }
                    *done = true;
                    let rows = run_plan(plan, txn, ctx, *id).await?;
                    return Ok((!rows.is_empty()).then_some(rows));
                }
                Stream::Read(read, id) => (read.next(txn, ctx).await?, *id),
                Stream::Filter {
                    input,
                    predicate,
                    correlated,
                    id,
                } => {
                    let mut kept = None;
                    while let Some(rows) = input.next(txn, ctx).await? {
                        let out = filter(rows, predicate, *correlated, txn, ctx).await?;
                        if !out.is_empty() {
                            kept = Some(out);
                            break;
                        }
                    }
                    (kept, *id)
                }
                Stream::Project {
                    input,
                    exprs,
                    correlated,
                    id,
                } => {
                    let projected = match input.next(txn, ctx).await? {
                        Some(rows) => Some(project(rows, exprs, correlated, txn, ctx).await?),
                        None => None,
                    };
                    (projected, *id)
                }
                Stream::Truncate { input, width, id } => {
                    let mut rows = input.next(txn, ctx).await?;
                    for row in rows.iter_mut().flatten() {
                        row.truncate(*width);
                    }
                    (rows, *id)
                }
            };
            if let (Some(started), Some(stats)) =
                (started, ctx.analysis.as_mut().and_then(|a| a.get_mut(id)))
            {
                stats.loops = 1;
                stats.time += started.elapsed();
                if let Some(rows) = &batch {
                    stats.rows += rows.len() as u64;
                    stats.memory = stats.memory.max(rows_bytes(rows));
                }
            }
            Ok(batch)
        })
    }
}

/// The rows for which `predicate` is true; `correlated` says whether it
/// holds correlated subqueries.
pub(super) async fn filter(
    rows: Vec<Row>,
    predicate: &Expr,
    correlated: bool,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        step(ctx, i).await?;
        if truthy(&eval_row(predicate, correlated, &row, txn, ctx).await?) {
            out.push(row);
        }
    }
    Ok(out)
}

/// Each row's values of `exprs`; `correlated` says which hold correlated
/// subqueries.
pub(super) async fn project(
    rows: Vec<Row>,
    exprs: &[Expr],
    correlated: &[bool],
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Vec<Row>, SqlError> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        step(ctx, i).await?;
        let mut values = Vec::with_capacity(exprs.len());
        for (e, &c) in exprs.iter().zip(correlated) {
            values.push(eval_row(e, c, &row, txn, ctx).await?);
        }
        out.push(values);
    }
    Ok(out)
}

/// What a handle in [`Read`]'s seen set takes: its 8 bytes and the set's
/// slot.
const SEEN_HANDLE_BYTES: usize = 16;

/// A table read along key ranges, one scan request per pull: of the
/// table's rows, or of an index's entries whose rows are then fetched.
/// Requests grow from [`SCAN_BATCH_FIRST`] keys to [`SCAN_BATCH_MAX`], so a
/// short range costs one request and a long one is cut into requests a KILL
/// can fall between.
pub(super) struct Read<'p> {
    table: &'p TableDef,
    columns: Option<&'p [bool]>,
    /// The index read, if not the table's rows.
    index: Option<&'p IndexDef>,
    /// Ranges still to read, the first from where the last request ended.
    ranges: VecDeque<(Vec<u8>, Vec<u8>)>,
    /// Keys the next request asks for.
    batch: usize,
    /// Handles found through the index so far: ranges may overlap (`k IN
    /// (5, 5)`, overlapping BETWEENs), and each row comes once, in the
    /// order first found.
    seen: HashSet<i64>,
}

impl<'p> Read<'p> {
    /// A read along `access`; `None` for handles, which are point gets.
    pub(super) fn new(
        table: &'p TableDef,
        access: &Access,
        columns: Option<&'p [bool]>,
    ) -> Option<Self> {
        let (index, ranges) = match access {
            Access::Handles(_) => return None,
            Access::Full => {
                let range = codec::table::row_range(table.id);
                (None, vec![(range.start, range.end)])
            }
            Access::HandleRange(start, end) => (None, vec![(start.clone(), end.clone())]),
            Access::Index { index, ranges } => (Some(&table.indexes[*index]), ranges.clone()),
        };
        Some(Read {
            table,
            columns,
            index,
            ranges: ranges.into(),
            batch: SCAN_BATCH_FIRST,
            seen: HashSet::new(),
        })
    }

    /// The rows of the next request that finds any; `None` when every
    /// range is read.
    pub(super) async fn next(
        &mut self,
        txn: &Transaction,
        ctx: &EvalContext<'_>,
    ) -> Result<Option<Vec<Row>>, SqlError> {
        while let Some((start, end)) = self.ranges.front_mut() {
            let got = txn
                .scan(start, Some(end.as_slice()), self.batch, false)
                .await
                .map_err(from_kv)?;
            match got.last() {
                // The next request starts just after the last key seen.
                Some((last, _)) if got.len() == self.batch => {
                    *start = last.clone();
                    start.push(0);
                    step(ctx, ROWS_PER_STEP).await?;
                    self.batch = (self.batch * 2).min(SCAN_BATCH_MAX);
                }
                _ => {
                    self.ranges.pop_front();
                }
            }
            let rows = self.rows(got, txn, ctx).await?;
            if !rows.is_empty() {
                return Ok(Some(rows));
            }
        }
        Ok(None)
    }

    /// The rows of a request's pairs: decoded, or looked up by handle.
    async fn rows(
        &mut self,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        txn: &Transaction,
        ctx: &EvalContext<'_>,
    ) -> Result<Vec<Row>, SqlError> {
        let (table, columns) = (self.table, self.columns);
        let Some(index) = self.index else {
            return pairs
                .into_iter()
                .map(|(k, v)| {
                    let (_, handle) = codec::table::decode_row_key(&k).map_err(error::internal)?;
                    decode_row(table, columns, handle, &v)
                })
                .collect();
        };
        let mut handles = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let handle = handle_from_entry(index, &k, &v)?;
            if self.seen.insert(handle) {
                handles.push(handle);
            }
        }
        // The handles seen stay until the read ends: charged as they grow.
        ctx.memory.grow(handles.len() * SEEN_HANDLE_BYTES)?;
        lookup(&handles, txn, table, columns, ctx).await
    }
}
