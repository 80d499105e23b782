//! The executor's operators, pulled batch by batch (TiDB's chunks): a
//! parent asks its input for the next rows when it needs them, so a LIMIT
//! stops the reads beneath it once it has its rows, and an operator holds
//! only what it must (a join its inner side, an aggregation its groups, a
//! sort its input), charged to the statement's memory quota while it does
//! ([`Held`]). Rows pass on in the batches a table read makes: one scan
//! request's rows, or fewer.

use super::aggregate::{Aggregation, Grouped};
use super::join::JoinStream;
use super::sort::{Sorted, Sorter};
use super::{
    HASHED_KEY_BYTES, Held, Output, ROWS_PER_STEP, Row, SCAN_BATCH_FIRST, SCAN_BATCH_MAX, after,
    decode_row, eval_row, has_correlated, lock_rows, lookup, read_handles, row_key_bytes, step,
};
use crate::catalog::{IndexDef, TableDef};
use crate::error::{self, from_kv};
use crate::expr::eval::truthy;
use crate::expr::{EvalContext, Expr};
use crate::memory::rows_bytes;
use crate::plan::{Access, LockTarget, Plan};
use crate::result::{Sink, SqlError};
use crate::table::handle_from_entry;
use crate::types::Collation;
use kv_client::Transaction;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// The next batch of a stream; `None` once it has no more rows.
type Batch<'a> = Pin<Box<dyn Future<Output = Result<Option<Vec<Row>>, SqlError>> + Send + 'a>>;

/// An operator of a plan being pulled, with its plan's pre-order number,
/// under which EXPLAIN ANALYZE counts its rows and time.
pub(super) struct Stream<'p> {
    op: Op<'p>,
    id: usize,
}

/// What each operator keeps between two pulls.
enum Op<'p> {
    /// Rows found at once on the first pull: a read by handles (point and
    /// batch point gets), or the one row of no table.
    Leaf { plan: &'p Plan, done: bool },
    /// A table read along key ranges.
    Read(Read<'p>),
    /// Rows for which the predicate is true.
    Filter {
        input: Box<Stream<'p>>,
        predicate: &'p Expr,
        correlated: bool,
    },
    /// Computed columns.
    Project {
        input: Box<Stream<'p>>,
        exprs: &'p [Expr],
        correlated: Vec<bool>,
    },
    /// The first columns of each row.
    Truncate {
        input: Box<Stream<'p>>,
        width: usize,
    },
    /// Rows still to skip, then rows still to pass.
    Limit {
        input: Box<Stream<'p>>,
        skip: usize,
        left: usize,
    },
    /// A join: its inner side held, its outer side pulled.
    Join(Box<JoinStream<'p>>),
    /// The aggregation while it is fed, then its rows (see
    /// [`super::aggregate`]).
    Aggregate {
        input: Box<Stream<'p>>,
        aggregation: Option<Aggregation<'p>>,
        grouped: Option<Grouped<'p>>,
    },
    /// The first row of each set of equal ones.
    Distinct {
        input: Box<Stream<'p>>,
        dedup: Dedup<'p>,
    },
    /// Rows in order, handed on once the input is read (see
    /// [`super::sort`]).
    Sort {
        input: Box<Stream<'p>>,
        sorter: Option<Sorter<'p>>,
        sorted: Option<Sorted<'p>>,
    },
    /// A locking read's rows, at most `left` more.
    Lock {
        input: Box<Stream<'p>>,
        targets: &'p [LockTarget],
        left: usize,
    },
    /// Each input in turn, from the `at`th; for UNION DISTINCT, the first
    /// of each set of equal rows.
    Union {
        inputs: Vec<Stream<'p>>,
        at: usize,
        dedup: Option<Dedup<'p>>,
    },
}

impl<'p> Stream<'p> {
    /// The stream of `plan`, numbered `id`; nothing is read yet.
    pub(super) fn open(plan: &'p Plan, id: usize, ctx: &mut EvalContext<'_>) -> Self {
        if let Some(stats) = ctx.analysis.as_mut().and_then(|a| a.get_mut(id)) {
            stats.loops += 1;
        }
        let first = id + 1;
        let mut child = |input: &'p Plan| Box::new(Stream::open(input, first, ctx));
        let op = match plan {
            Plan::Dual => Op::Leaf { plan, done: false },
            Plan::Read {
                table,
                access,
                columns,
                ..
            } => match Read::new(table, access, columns.as_deref()) {
                Some(read) => Op::Read(read),
                None => Op::Leaf { plan, done: false },
            },
            Plan::Filter(from, predicate) => Op::Filter {
                input: child(from),
                predicate,
                correlated: has_correlated(predicate),
            },
            Plan::Project(from, exprs) => Op::Project {
                input: child(from),
                exprs,
                correlated: exprs.iter().map(has_correlated).collect(),
            },
            Plan::Truncate(from, width) => Op::Truncate {
                input: child(from),
                width: *width,
            },
            Plan::Limit {
                input: from,
                offset,
                count,
            } => Op::Limit {
                input: child(from),
                skip: *offset,
                left: count.unwrap_or(usize::MAX),
            },
            Plan::Join {
                left,
                right,
                kind,
                keys,
                on,
                right_width,
            } => {
                let outer = Stream::open(left, first, ctx);
                let inner = Stream::open(right, after(ctx, first, left), ctx);
                Op::Join(Box::new(JoinStream::new(
                    *kind,
                    keys,
                    on.as_ref(),
                    *right_width,
                    outer,
                    inner,
                    id,
                )))
            }
            Plan::Aggregate {
                input: from,
                group_by,
                collations,
                rollup,
                aggs,
            } => Op::Aggregate {
                input: child(from),
                aggregation: Some(Aggregation::new(group_by, collations, *rollup, aggs, id)),
                grouped: None,
            },
            Plan::Distinct(from, width, collations) => Op::Distinct {
                input: child(from),
                dedup: Dedup::new(*width, collations),
            },
            Plan::Sort(from, keys, keep) => Op::Sort {
                input: child(from),
                sorter: Some(Sorter::new(keys, *keep, id)),
                sorted: None,
            },
            Plan::Lock {
                input: from,
                targets,
                take,
            } => Op::Lock {
                input: child(from),
                targets,
                left: take.unwrap_or(usize::MAX),
            },
            Plan::Union(inputs, distinct) => {
                let mut next = first;
                let mut streams = Vec::with_capacity(inputs.len());
                for from in inputs {
                    streams.push(Stream::open(from, next, ctx));
                    next = after(ctx, next, from);
                }
                Op::Union {
                    inputs: streams,
                    at: 0,
                    dedup: distinct.as_ref().map(|c| Dedup::new(c.len(), c)),
                }
            }
        };
        Stream { op, id }
    }

    /// The next rows, at least one unless the stream is done (`None`).
    pub(super) fn next<'a>(
        &'a mut self,
        txn: &'a Transaction,
        ctx: &'a mut EvalContext<'_>,
    ) -> Batch<'a> {
        Box::pin(async move {
            let started = ctx.analysis.is_some().then(Instant::now);
            let batch = self.op.pull(txn, ctx).await?;
            if let (Some(started), Some(stats)) = (
                started,
                ctx.analysis.as_mut().and_then(|a| a.get_mut(self.id)),
            ) {
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

impl Op<'_> {
    async fn pull(
        &mut self,
        txn: &Transaction,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Option<Vec<Row>>, SqlError> {
        let rows = match self {
            Op::Leaf { plan, done } => {
                if std::mem::replace(done, true) {
                    return Ok(None);
                }
                match *plan {
                    Plan::Read {
                        table,
                        access: Access::Handles(handles),
                        columns,
                        ..
                    } => read_handles(table, handles, columns.as_deref(), txn, ctx).await?,
                    Plan::Dual => vec![Vec::new()],
                    _ => return Err(error::internal("a leaf stream of another operator")),
                }
            }
            Op::Read(read) => return read.next(txn, ctx).await,
            Op::Filter {
                input,
                predicate,
                correlated,
            } => {
                while let Some(rows) = input.next(txn, ctx).await? {
                    let kept = filter(rows, predicate, *correlated, txn, ctx).await?;
                    if !kept.is_empty() {
                        return Ok(Some(kept));
                    }
                }
                return Ok(None);
            }
            Op::Project {
                input,
                exprs,
                correlated,
            } => match input.next(txn, ctx).await? {
                Some(rows) => project(rows, exprs, correlated, txn, ctx).await?,
                None => return Ok(None),
            },
            Op::Truncate { input, width } => {
                let mut rows = input.next(txn, ctx).await?;
                for row in rows.iter_mut().flatten() {
                    row.truncate(*width);
                }
                return Ok(rows);
            }
            Op::Limit { input, skip, left } => {
                while *left > 0
                    && let Some(rows) = input.next(txn, ctx).await?
                {
                    let past = (*skip).min(rows.len());
                    *skip -= past;
                    let kept: Vec<Row> = rows.into_iter().skip(past).take(*left).collect();
                    *left -= kept.len();
                    if !kept.is_empty() {
                        return Ok(Some(kept));
                    }
                }
                return Ok(None);
            }
            Op::Join(join) => return join.next(txn, ctx).await,
            Op::Aggregate {
                input,
                aggregation,
                grouped,
            } => {
                if let Some(mut aggregation) = aggregation.take() {
                    while let Some(rows) = input.next(txn, ctx).await? {
                        aggregation.feed(rows, ctx).await?;
                    }
                    *grouped = Some(aggregation.finish(ctx)?);
                }
                return match grouped {
                    Some(grouped) => grouped.next(ctx).await,
                    None => Ok(None),
                };
            }
            Op::Distinct { input, dedup } => {
                while let Some(rows) = input.next(txn, ctx).await? {
                    let kept = dedup.keep(rows, ctx)?;
                    if !kept.is_empty() {
                        return Ok(Some(kept));
                    }
                }
                return Ok(None);
            }
            Op::Sort {
                input,
                sorter,
                sorted,
            } => {
                if let Some(mut sorter) = sorter.take() {
                    while let Some(rows) = input.next(txn, ctx).await? {
                        sorter.feed(rows, ctx)?;
                    }
                    *sorted = Some(sorter.finish()?);
                }
                return match sorted {
                    Some(sorted) => sorted.next(ctx),
                    None => Ok(None),
                };
            }
            Op::Lock {
                input,
                targets,
                left,
            } => {
                while *left > 0
                    && let Some(rows) = input.next(txn, ctx).await?
                {
                    let kept = lock_rows(rows, targets, left, ctx)?;
                    if !kept.is_empty() {
                        return Ok(Some(kept));
                    }
                }
                return Ok(None);
            }
            Op::Union { inputs, at, dedup } => {
                while let Some(input) = inputs.get_mut(*at) {
                    let Some(rows) = input.next(txn, ctx).await? else {
                        *at += 1;
                        continue;
                    };
                    let kept = match dedup {
                        Some(dedup) => dedup.keep(rows, ctx)?,
                        None => rows,
                    };
                    if !kept.is_empty() {
                        return Ok(Some(kept));
                    }
                }
                return Ok(None);
            }
        };
        Ok((!rows.is_empty()).then_some(rows))
    }
}

/// Every row of `stream`, checked against the statement's memory quota as
/// they gather (the caller charges them if it keeps them).
pub(super) async fn drain(
    stream: &mut Stream<'_>,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Output, SqlError> {
    let mut out = Output::default();
    while let Some(rows) = stream.next(txn, ctx).await? {
        for row in rows {
            out.push(row, ctx)?;
        }
    }
    Ok(out)
}

/// `stream`'s rows handed to `sink` batch by batch, unless they end within
/// one batch: those are returned, checked against the quota as [`drain`]
/// checks them, for the caller to send whole.
pub(super) async fn send(
    stream: &mut Stream<'_>,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
    sink: &mut Sink<'_>,
) -> Result<Output, SqlError> {
    let mut out = Output::default();
    let Some(first) = stream.next(txn, ctx).await? else {
        return Ok(out);
    };
    let Some(second) = stream.next(txn, ctx).await? else {
        for row in first {
            out.push(row, ctx)?;
        }
        return Ok(out);
    };
    sink.send(first).await?;
    sink.send(second).await?;
    while let Some(rows) = stream.next(txn, ctx).await? {
        sink.send(rows).await?;
    }
    Ok(out)
}

/// DISTINCT's memory: the keys of the rows passed so far, compared in their
/// first `width` columns under `collations`.
pub(super) struct Dedup<'p> {
    width: usize,
    collations: &'p [Collation],
    seen: HashSet<Vec<u8>>,
    held: Held,
}

impl<'p> Dedup<'p> {
    fn new(width: usize, collations: &'p [Collation]) -> Self {
        Dedup {
            width,
            collations,
            seen: HashSet::new(),
            held: Held::default(),
        }
    }

    /// The rows of `rows` equal to none seen before.
    fn keep(&mut self, rows: Vec<Row>, ctx: &EvalContext<'_>) -> Result<Vec<Row>, SqlError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let key = row_key_bytes(&row[..self.width], self.collations.iter().copied());
            let bytes = key.capacity() + HASHED_KEY_BYTES;
            if self.seen.insert(key) {
                self.held.add(bytes, ctx)?;
                out.push(row);
            }
        }
        Ok(out)
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
    for row in rows {
        step(ctx, 1).await?;
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
    for row in rows {
        step(ctx, 1).await?;
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
