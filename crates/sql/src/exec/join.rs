//! Joins, pulled batch by batch: the inner side is read whole (and, for a
//! hash join, hashed by its keys) once the outer side has a first row, and
//! each outer row is then tried against it. Only the inner side is held;
//! the outer side and the joined rows pass through in batches of at most
//! [`BATCH_ROWS`], so a join whose pairs a condition mostly rejects runs in
//! flat memory however many pairs it tries.

use super::stream::{Stream, drain};
use super::{HASHED_KEY_BYTES, Held, Output, Row, push_key_part, step};
use crate::expr::eval::truthy;
use crate::expr::{EvalContext, Expr};
use crate::plan::{JoinKey, JoinKind};
use crate::result::SqlError;
use crate::types::Collation;
use codec::Datum;
use kv_client::Transaction;
use std::collections::HashMap;

/// The most rows a join hands on per pull.
const BATCH_ROWS: usize = 1024;

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
        if self.built.is_none() {
            // No outer row, no need of the inner side.
            let Some(rows) = self.outer.next(txn, ctx).await? else {
                self.done = true;
                return Ok(None);
            };
            self.pending = rows.into_iter();
            let built = build(&mut self.inner, self.keys, txn, ctx).await?;
            // No inner row, no inner join: the rest of the outer side is
            // never read.
            if built.rows.is_empty() && self.kind == JoinKind::Inner {
                self.done = true;
                built.held.release(ctx);
                return Ok(None);
            }
            self.built = Some(built);
        }
        let mut out = Output::default();
        loop {
            if self.probe.is_none() {
                let Some(row) = self.pending.next() else {
                    match self.outer.next(txn, ctx).await? {
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
}

/// Read the inner side whole and, for a hash join, hash its rows by their
/// keys. A row with a NULL key matches nothing and is left out of the table.
async fn build(
    inner: &mut Stream<'_>,
    keys: &[JoinKey],
    txn: &Transaction,
    ctx: &mut EvalContext<'_>,
) -> Result<Built, SqlError> {
    let rows = drain(inner, txn, ctx).await?;
    let mut held = Held::default();
    held.charge(rows.bytes, ctx)?;
    let rows = rows.rows;
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
