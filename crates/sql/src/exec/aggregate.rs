//! Grouping and aggregates, fed batch by batch: an aggregation holds its
//! groups, never its input, so `SELECT COUNT(*) FROM t` over a large table
//! holds one group while the rows stream past.
//!
//! When a new group would pass the statement's memory quota, the groups
//! held stay and go on taking their rows, but rows of any group not held
//! go to disk instead ([`super::spill`]), into one of [`PARTITIONS`] files
//! by a hash of their group key. Once the input ends the groups held are
//! handed on, then each file is aggregated in turn as an input of its own
//! (which may spill again, with another hash, [`MAX_DEPTH`] deep at most).
//! A group is thus whole in one place. WITH ROLLUP, whose totals need every
//! group at once, does not spill.

use super::spill::{self, RunReader, RunWriter};
use super::{
    BATCH_ROWS, HASHED_KEY_BYTES, Held, Row, compare_for_sort, nulls_first, push_key_part,
    row_key_bytes, step,
};
use crate::expr::EvalContext;
use crate::expr::Expr;
use crate::expr::eval::group_key;
use crate::memory::row_bytes;
use crate::plan::AggCall;
use crate::result::SqlError;
use crate::types::Collation;
use codec::Datum;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

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
    fn new(values: Row, aggs: &[AggCall]) -> Self {
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

    /// Feed one input row to every aggregate; the bytes the states grew
    /// by (DISTINCT values seen, ordered GROUP_CONCAT values).
    fn feed(
        &mut self,
        row: &Row,
        aggs: &[AggCall],
        ctx: &mut EvalContext<'_>,
    ) -> Result<usize, SqlError> {
        let mut grew = 0;
        for (state, call) in self.states.iter_mut().zip(aggs) {
            let arg = call.arg.eval(row, ctx)?;
            match state {
                AggState::Func(acc, distinct, ordered) => {
                    if let Some(seen) = distinct
                        && !matches!(arg, Datum::Null)
                    {
                        let key = group_key(&arg, call.collation);
                        let bytes = key.capacity() + HASHED_KEY_BYTES;
                        if !seen.insert(key) {
                            continue;
                        }
                        grew += bytes;
                    }
                    match ordered {
                        Some(pending) if !matches!(arg, Datum::Null) => {
                            let keys = call
                                .order
                                .iter()
                                .map(|o| o.expr.eval(row, ctx))
                                .collect::<Result<Row, _>>()?;
                            grew += row_bytes(&keys) + row_bytes(std::slice::from_ref(&arg));
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
        Ok(grew)
    }

    /// The output row: grouping values, then each aggregate's result.
    fn finish(self, aggs: &[AggCall], ctx: &mut EvalContext<'_>) -> Result<Row, SqlError> {
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

/// A GROUP BY and its aggregates being fed: output rows are the group
/// values then one value per aggregate, groups in order of first
/// appearance. With `rollup`, each row also feeds the super-aggregate
/// group of every prefix of its grouping values (the level: how many
/// values it keeps), and the groups come out in key order, each prefix's
/// total after its last group, as MySQL's WITH ROLLUP.
pub(super) struct Aggregation<'p> {
    group_by: &'p [Expr],
    collations: &'p [Collation],
    rollup: bool,
    aggs: &'p [AggCall],
    /// Per level (the full groups last), each group's position by its key.
    index: Vec<HashMap<Vec<u8>, usize>>,
    groups: Vec<Group>,
    /// What the groups are charged.
    held: Held,
    /// The operator's number, where EXPLAIN ANALYZE counts its disk use.
    id: usize,
    /// How many times the rows fed here went to disk before.
    depth: usize,
    /// Once spilling: the files rows of groups not held go to.
    partitions: Vec<RunWriter>,
    /// Picks a row's file: a new hash at each depth.
    hasher: std::collections::hash_map::RandomState,
    /// Columns of the input rows.
    width: usize,
}

/// Files a spilling aggregation writes rows to.
const PARTITIONS: usize = 16;

/// How many times rows may go to disk: a file aggregated past its quota
/// spills again, with another hash, until this depth.
const MAX_DEPTH: usize = 3;

impl<'p> Aggregation<'p> {
    /// An aggregation fed nothing yet.
    pub(super) fn new(
        group_by: &'p [Expr],
        collations: &'p [Collation],
        rollup: bool,
        aggs: &'p [AggCall],
        id: usize,
    ) -> Self {
        Self::at_depth(group_by, collations, rollup, aggs, id, 0)
    }

    fn at_depth(
        group_by: &'p [Expr],
        collations: &'p [Collation],
        rollup: bool,
        aggs: &'p [AggCall],
        id: usize,
        depth: usize,
    ) -> Self {
        let mut groups = Vec::new();
        // Without GROUP BY there is exactly one group, even over no rows.
        if group_by.is_empty() {
            groups.push(Group::new(Vec::new(), aggs));
        }
        Aggregation {
            group_by,
            collations,
            rollup,
            aggs,
            index: vec![HashMap::new(); group_by.len() + 1],
            groups,
            held: Held::default(),
            id,
            depth,
            partitions: Vec::new(),
            hasher: Default::default(),
            width: 0,
        }
    }

    /// Whether the rows of a new group of `bytes` go to disk: yes once
    /// spilling, or when it would pass three quarters of the quota (the
    /// rest is for the groups held to grow: their DISTINCT values and
    /// ordered GROUP_CONCAT values) and the statement may spill (its
    /// files are made then).
    fn spills(&mut self, bytes: usize, ctx: &EvalContext<'_>) -> Result<bool, SqlError> {
        if !self.partitions.is_empty() {
            return Ok(true);
        }
        let headroom = ctx.memory.quota() / 4;
        if self.rollup || self.depth >= MAX_DEPTH || self.held.fits(bytes + headroom, ctx) {
            return Ok(false);
        }
        let mut partitions = Vec::with_capacity(PARTITIONS);
        for _ in 0..PARTITIONS {
            match RunWriter::create(ctx) {
                Some(file) => partitions.push(file?),
                None => return Ok(false),
            }
        }
        spill::count("hash_agg");
        self.partitions = partitions;
        Ok(true)
    }

    /// Feed a batch of input rows to their groups.
    pub(super) async fn feed(
        &mut self,
        rows: Vec<Row>,
        ctx: &mut EvalContext<'_>,
    ) -> Result<(), SqlError> {
        let width = self.group_by.len();
        let lowest = if self.rollup { 0 } else { width };
        let mut key = Vec::new();
        let mut ends = Vec::with_capacity(width);
        for row in rows {
            step(ctx, 1).await?;
            if self.group_by.is_empty() {
                let grew = self.groups[0].feed(&row, self.aggs, ctx)?;
                self.held.add(grew, ctx)?;
                continue;
            }
            let values = (self.group_by.iter())
                .map(|g| g.eval(&row, ctx))
                .collect::<Result<Row, _>>()?;
            key.clear();
            ends.clear();
            for (d, &c) in values.iter().zip(self.collations) {
                push_key_part(&mut key, d, c);
                ends.push(key.len());
            }
            for level in (lowest..=width).rev() {
                let prefix = &key[..level.checked_sub(1).map_or(0, |l| ends[l])];
                let g = match self.index[level].get(prefix) {
                    Some(&g) => g,
                    None => {
                        let mut kept = values[..level].to_vec();
                        kept.resize(width, Datum::Null);
                        // A group holds its values, its key and its states.
                        let bytes = row_bytes(&kept)
                            + prefix.len()
                            + HASHED_KEY_BYTES
                            + size_of::<Group>()
                            + self.aggs.len() * size_of::<AggState>();
                        if self.spills(bytes, ctx)? {
                            // Without ROLLUP the only level: the row is done.
                            let file = self.hasher.hash_one(prefix) as usize % PARTITIONS;
                            self.partitions[file].write(&row)?;
                            self.width = row.len();
                            break;
                        }
                        self.held.add(bytes, ctx)?;
                        self.groups.push(Group::new(kept, self.aggs));
                        self.index[level].insert(prefix.to_vec(), self.groups.len() - 1);
                        self.groups.len() - 1
                    }
                };
                let grew = self.groups[g].feed(&row, self.aggs, ctx)?;
                self.held.add(grew, ctx)?;
            }
        }
        Ok(())
    }

    /// The input ended: every group's row, those of groups held first.
    pub(super) fn finish(mut self, ctx: &mut EvalContext<'_>) -> Result<Grouped<'p>, SqlError> {
        let (group_by, collations, aggs, depth, id) = (
            self.group_by,
            self.collations,
            self.aggs,
            self.depth,
            self.id,
        );
        let width = self.width;
        let mut files = Vec::with_capacity(self.partitions.len());
        let mut written = 0;
        for file in std::mem::take(&mut self.partitions) {
            written += file.bytes();
            files.push((file.finish(width)?, depth + 1));
        }
        if let Some(stats) = ctx.analysis.as_mut().and_then(|a| a.get_mut(id)) {
            stats.disk += written;
        }
        let held = self.held_rows(ctx)?;
        Ok(Grouped {
            group_by,
            collations,
            aggs,
            id,
            rows: held.into_iter(),
            files,
        })
    }

    /// The rows of the groups held.
    fn held_rows(self, ctx: &mut EvalContext<'_>) -> Result<Vec<Row>, SqlError> {
        let Aggregation {
            group_by,
            collations,
            rollup,
            aggs,
            mut index,
            groups,
            held,
            ..
        } = self;
        held.release(ctx);
        if !rollup {
            return groups.into_iter().map(|g| g.finish(aggs, ctx)).collect();
        }
        let width = group_by.len();
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
}

/// An aggregation's output: the rows of the groups it held, then those of
/// each file it spilled, aggregated in turn.
pub(super) struct Grouped<'p> {
    group_by: &'p [Expr],
    collations: &'p [Collation],
    aggs: &'p [AggCall],
    id: usize,
    rows: std::vec::IntoIter<Row>,
    /// Spilled files still to aggregate, with the depth of their rows.
    files: Vec<(RunReader, usize)>,
}

impl Grouped<'_> {
    /// The next rows, `None` once all went.
    pub(super) async fn next(
        &mut self,
        ctx: &mut EvalContext<'_>,
    ) -> Result<Option<Vec<Row>>, SqlError> {
        loop {
            let batch: Vec<Row> = self.rows.by_ref().take(BATCH_ROWS).collect();
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
            let Some((mut file, depth)) = self.files.pop() else {
                return Ok(None);
            };
            let mut aggregation = Aggregation::at_depth(
                self.group_by,
                self.collations,
                false,
                self.aggs,
                self.id,
                depth,
            );
            let mut rows = Vec::with_capacity(BATCH_ROWS);
            while let Some(row) = file.next()? {
                rows.push(row);
                if rows.len() == BATCH_ROWS {
                    aggregation.feed(std::mem::take(&mut rows), ctx).await?;
                }
            }
            aggregation.feed(rows, ctx).await?;
            let grouped = aggregation.finish(ctx)?;
            self.rows = grouped.rows;
            self.files.extend(grouped.files);
        }
    }
}
