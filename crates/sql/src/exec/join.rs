//! Joins, pulled batch by batch: the inner side is read whole (and, for a
//! hash join, hashed by its keys) once the outer side has a first row, and
//! each outer row is then tried against it. Only the inner side is held;
//! the outer side and the joined rows pass through in batches of at most
//! [`BATCH_ROWS`], so a join whose pairs a condition mostly rejects runs in
//! flat memory however many pairs it tries.
//!
//! A hash join whose inner side would pass the statement's memory quota
//! puts both sides on disk instead ([`super::spill`]; a grace hash join):
//! each row goes to one of [`PARTITIONS`] files of its side by a hash of
//! its key, so rows that can match land in files of the same number, and
//! the join then holds one inner file at a time and probes it with the
//! outer file of its number. One inner file that still does not fit stops
//! the statement with 8175.

use super::spill::{self, RunReader, RunWriter};
use super::stream::Stream;
use super::{BATCH_ROWS, HASHED_KEY_BYTES, Held, Output, Row, push_key_part, step};
use crate::expr::eval::truthy;
use crate::expr::{EvalContext, Expr};
use crate::memory::{row_bytes, rows_bytes};
use crate::plan::{JoinKey, JoinKind};
use crate::result::SqlError;
use crate::types::Collation;
use codec::Datum;
use kv_client::Transaction;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Files each side of a spilling join is written to.
const PARTITIONS: usize = 16;

/// What a hash table takes per inner row beside the row: its key, the
/// table's slot and the row's position.
const TABLE_ROW_BYTES: usize = HASHED_KEY_BYTES + 16 + size_of::<usize>();

/// A join being pulled.
pub(super) struct JoinStream<'p> {
    kind: JoinKind,
    /// Equalities between the sides; none for a nested loop.
    keys: &'p [JoinKey],
    /// The rest of the join condition, over the concatenated row.
    on: Option<&'p Expr>,
    /// Columns of the inner side (for NULL-extending).
    right_width: usize,
    outer: Stream<'p>,
    inner: Stream<'p>,
    /// The inner side, once read.
    built: Option<Built>,
    /// Outer rows pulled and not yet tried.
    pending: std::vec::IntoIter<Row>,
    /// The outer row being tried, if it has inner rows left to try.
    probe: Option<Probe>,
    /// The outer side has no rows left.
    done: bool,
    /// The operator's number, where EXPLAIN ANALYZE counts its disk use.
    id: usize,
    /// Once the inner side went to disk: the files still to join.
    spilled: Option<Spilled>,
    /// Picks a row's file by its key, the same for both sides.
    hasher: std::collections::hash_map::RandomState,
}

/// Both sides of a join on disk, by key hash.
struct Spilled {
    /// (inner, outer) files of one number, still to join.
    pairs: Vec<(RunReader, RunReader)>,
    /// The outer file being probed.
    outer: Option<RunReader>,
}

/// What reading the inner side gave.
enum Inner {
    Held(Built),
    /// It passed the quota: its rows are in `inner`'s files, and `outer`'s
    /// are ready for the outer side's.
    Spilled {
        inner: Vec<RunWriter>,
        outer: Vec<RunWriter>,
    },
}

/// A join's inner side: its rows, hashed by their keys for a hash join.
struct Built {
    rows: Vec<Row>,
    /// Positions in `rows` by key; `None` for a nested loop.
    table: Option<HashMap<Vec<u8>, Vec<usize>>>,
    /// What the rows and the table are charged.
    held: Held,
}

/// An outer row being tried against the inner rows.
struct Probe {
    row: Row,
    /// Its key (hash join); `None` when one of its key values is NULL.
    key: Option<Vec<u8>>,
    /// The next candidate to try.
    next: usize,
    /// Whether a pair passed.
    matched: bool,
}

impl<'p> JoinStream<'p> {
    /// A join of `outer` and `inner` that has read neither yet.
    pub(super) fn new(
        kind: JoinKind,
        keys: &'p [JoinKey],
        on: Option<&'p Expr>,
        right_width: usize,
        outer: Stream<'p>,
        inner: Stream<'p>,
        id: usize,
    ) -> Self {
        JoinStream {
            kind,
            keys,
            on,
            right_width,
            outer,
            inner,
            built: None,
            pending: Vec::new().into_iter(),
            probe: None,
            done: false,
            id,
            spilled: None,
            hasher: Default::default(),
        }
    }

    /// The next joined rows; `None` once every outer row is tried.
    pub(super) async fn next(
        &mut self,
        txn: &Transaction,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Option<Vec<Row>>, SqlError> {
        if self.done {
            return Ok(None);
        }
        if self.built.is_none() && self.spilled.is_none() {
            // No outer row, no need of the inner side.
            let Some(rows) = self.outer.next(txn, ctx).await? else {
                self.done = true;
                return Ok(None);
            };
            self.pending = rows.into_iter();
            match build(&mut self.inner, self.keys, &self.hasher, txn, ctx).await? {
                // No inner row, no inner join: the rest of the outer side
                // is never read.
                Inner::Held(built) if built.rows.is_empty() && self.kind == JoinKind::Inner => {
                    self.done = true;
                    built.held.release(ctx);
                    return Ok(None);
                }
                Inner::Held(built) => self.built = Some(built),
                Inner::Spilled { inner, outer } => self.spill_outer(inner, outer, txn, ctx).await?,
            }
        }
        let mut out = Output::default();
        loop {
            if self.probe.is_none() {
                let Some(row) = self.pending.next() else {
                    match self.next_outer(txn, ctx).await? {
                        Some(rows) => self.pending = rows.into_iter(),
                        None => {
                            self.done = true;
                            if let Some(built) = self.built.take() {
                                built.held.release(ctx);
                            }
                            break;
                        }
                    }
                    continue;
                };
                let key = match self.keys.is_empty() {
                    true => None,
                    false => join_key(self.keys.iter().map(|k| (&k.left, k.collation)), &row, ctx)?,
                };
                self.probe = Some(Probe {
                    row,
                    key,
                    next: 0,
                    matched: false,
                });
            }
            let (Some(probe), Some(built)) = (self.probe.as_mut(), self.built.as_ref()) else {
                break;
            };
            let candidates = match (&built.table, &probe.key) {
                (None, _) => None,
                (Some(table), Some(key)) => Some(table.get(key).map_or(&[][..], Vec::as_slice)),
                (Some(_), None) => Some(&[][..]),
            };
            let count = candidates.map_or(built.rows.len(), <[usize]>::len);
            while probe.next < count {
                if out.rows.len() >= BATCH_ROWS {
                    return Ok(Some(out.rows));
                }
                step(ctx, 1).await?;
                let at = candidates.map_or(probe.next, |c| c[probe.next]);
                probe.next += 1;
                probe.matched |= pair(self.on, &probe.row, &built.rows[at], &mut out, ctx)?;
            }
            if let Some(probe) = self.probe.take()
                && !probe.matched
                && self.kind == JoinKind::Left
            {
                let mut row = probe.row;
                row.extend(std::iter::repeat_n(Datum::Null, self.right_width));
                out.push(row, ctx)?;
            }
            if out.rows.len() >= BATCH_ROWS {
                break;
            }
        }
        Ok((!out.rows.is_empty()).then_some(out.rows))
    }

    /// The inner side went to `inner`'s files: write the outer side to
    /// files by the same hash, then join the files pair by pair. Outer
    /// rows with a NULL key match nothing: a left join still hands them
    /// on (from the first file), an inner join drops them.
    async fn spill_outer(
        &mut self,
        inner: Vec<RunWriter>,
        mut outer: Vec<RunWriter>,
        txn: &Transaction,
        ctx: &mut EvalContext<'_>,
    ) -> Result<(), SqlError> {
        let mut rows = std::mem::take(&mut self.pending).collect::<Vec<_>>();
        let mut outer_width = 0;
        loop {
            for row in rows {
                step(ctx, 1).await?;
                outer_width = row.len();
                let key = join_key(self.keys.iter().map(|k| (&k.left, k.collation)), &row, ctx)?;
                match key {
                    Some(key) => {
                        outer[self.hasher.hash_one(&key) as usize % PARTITIONS].write(&row)?
                    }
                    None if self.kind == JoinKind::Left => outer[0].write(&row)?,
                    None => {}
                }
            }
            match self.outer.next(txn, ctx).await? {
                Some(next) => rows = next,
                None => break,
            }
        }
        let written: usize = inner.iter().chain(&outer).map(RunWriter::bytes).sum();
        if let Some(stats) = ctx.analysis.as_mut().and_then(|a| a.get_mut(self.id)) {
            stats.disk += written;
        }
        let mut pairs = Vec::with_capacity(PARTITIONS);
        for (i, o) in inner.into_iter().zip(outer) {
            pairs.push((i.finish(self.right_width)?, o.finish(outer_width)?));
        }
        self.spilled = Some(Spilled { pairs, outer: None });
        Ok(())
    }

    /// The next outer rows to probe with: from the outer side, or once
    /// spilled from the outer file of the inner file held, the next pair's
    /// inner file being read and hashed when one ends.
    async fn next_outer(
        &mut self,
        txn: &Transaction,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Option<Vec<Row>>, SqlError> {
        let Some(spilled) = &mut self.spilled else {
            return self.outer.next(txn, ctx).await;
        };
        loop {
            if let Some(file) = &mut spilled.outer {
                let mut rows = Vec::with_capacity(BATCH_ROWS);
                while rows.len() < BATCH_ROWS
                    && let Some(row) = file.next()?
                {
                    rows.push(row);
                }
                if !rows.is_empty() {
                    return Ok(Some(rows));
                }
                spilled.outer = None;
            }
            if let Some(built) = self.built.take() {
                built.held.release(ctx);
            }
            let Some((mut inner, outer)) = spilled.pairs.pop() else {
                return Ok(None);
            };
            let mut rows = Vec::new();
            let mut held = Held::default();
            while let Some(row) = inner.next()? {
                held.add(row_bytes(&row), ctx)?;
                rows.push(row);
            }
            self.built = Some(hash(rows, held, self.keys, ctx).await?);
            spilled.outer = Some(outer);
        }
    }
}

/// Read the inner side whole and, for a hash join, hash its rows by their
/// keys; or, when a hash join's inner rows and table would pass the quota
/// and the statement may spill, write them to files by `hasher`'s hash of
/// their key. A row with a NULL key matches nothing and is left out of
/// the table and the files.
async fn build(
    inner: &mut Stream<'_>,
    keys: &[JoinKey],
    hasher: &std::collections::hash_map::RandomState,
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Inner, SqlError> {
    let mut rows = Vec::new();
    let mut held = Held::default();
    while let Some(batch) = inner.next(txn, ctx).await? {
        let bytes = rows_bytes(&batch);
        // The table to come counts too.
        let table = (rows.len() + batch.len()) * TABLE_ROW_BYTES;
        if !keys.is_empty()
            && !held.fits(bytes + table, ctx)
            && let Some(files) = (0..2 * PARTITIONS)
                .map(|_| RunWriter::create(ctx))
                .collect::<Option<Result<Vec<_>, _>>>()
        {
            let mut files = files?;
            let outer = files.split_off(PARTITIONS);
            spill::count("hash_join");
            held.release(ctx);
            let mut rows: Vec<Row> = rows.into_iter().chain(batch).collect();
            loop {
                for row in rows {
                    step(ctx, 1).await?;
                    let key = join_key(keys.iter().map(|k| (&k.right, k.collation)), &row, ctx)?;
                    if let Some(key) = key {
                        files[hasher.hash_one(&key) as usize % PARTITIONS].write(&row)?;
                    }
                }
                match inner.next(txn, ctx).await? {
                    Some(next) => rows = next,
                    None => {
                        return Ok(Inner::Spilled {
                            inner: files,
                            outer,
                        });
                    }
                }
            }
        }
        held.charge(bytes, ctx)?;
        rows.extend(batch);
    }
    hash(rows, held, keys, ctx).await.map(Inner::Held)
}

/// The inner rows of a join, hashed by their keys for a hash join.
async fn hash(
    rows: Vec<Row>,
    mut held: Held,
    keys: &[JoinKey],
    ctx: &mut EvalContext<'_>,
) -> Result<Built, SqlError> {
    if keys.is_empty() {
        return Ok(Built {
            rows,
            table: None,
            held,
        });
    }
    let mut table: HashMap<Vec<u8>, Vec<usize>> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        step(ctx, 1).await?;
        if let Some(key) = join_key(keys.iter().map(|k| (&k.right, k.collation)), r, ctx)? {
            held.add(key.capacity() + HASHED_KEY_BYTES + size_of::<usize>(), ctx)?;
            table.entry(key).or_default().push(i);
        }
    }
    Ok(Built {
        rows,
        table: Some(table),
        held,
    })
}

/// Add the row of `l` and `r` to `out` if it passes `on`; whether it did.
fn pair(
    on: Option<&Expr>,
    l: &[Datum],
    r: &[Datum],
    out: &mut Output,
    ctx: &mut EvalContext<'_>,
) -> Result<bool, SqlError> {
    let mut row = Vec::with_capacity(l.len() + r.len());
    row.extend_from_slice(l);
    row.extend_from_slice(r);
    let passed = on.map_or(Ok(true), |e| e.eval(&row, ctx).map(|d| truthy(&d)))?;
    if passed {
        out.push(row, ctx)?;
    }
    Ok(passed)
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
