//! Grouping and aggregates, fed batch by batch: an aggregation holds its
//! groups, never its input, so `SELECT COUNT(*) FROM t` over a large table
//! holds one group while the rows stream past.

use super::{
    HASHED_KEY_BYTES, Held, Row, compare_for_sort, nulls_first, push_key_part, row_key_bytes, step,
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
}

impl<'p> Aggregation<'p> {
    /// An aggregation fed nothing yet.
    pub(super) fn new(
        group_by: &'p [Expr],
        collations: &'p [Collation],
        rollup: bool,
        aggs: &'p [AggCall],
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
        }
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

    /// Every group's row, once the input is fed.
    pub(super) fn finish(self, ctx: &mut EvalContext<'_>) -> Result<Vec<Row>, SqlError> {
        let Aggregation {
            group_by,
            collations,
            rollup,
            aggs,
            mut index,
            groups,
            held,
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
