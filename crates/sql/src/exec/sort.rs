//! ORDER BY: the input is held until it ends, then handed on in order, a
//! batch at a time. When holding the next batch would pass the statement's
//! memory quota, the rows held so far are sorted and written to a
//! temporary file as a *run* ([`super::spill`]), and their memory is
//! released; once the input ends, the runs and the rows still held are
//! merged. With a count (ORDER BY ... LIMIT, TiDB's TopN) only that many
//! first rows matter: the rows held are cut back to them whenever they
//! reach twice as many, so a small limit holds little however long its
//! input.
//!
//! Ties keep input order, as a stable sort does: runs are written in input
//! order and the merge prefers the earlier run.

use super::spill::{self, RunReader, RunWriter};
use super::{BATCH_ROWS, Held, Row, compare_for_sort};
use crate::expr::EvalContext;
use crate::memory::rows_bytes;
use crate::plan::SortKey;
use crate::result::SqlError;
use std::cmp::Ordering;

/// A sort still reading its input.
pub(super) struct Sorter<'p> {
    keys: &'p [SortKey],
    keep: Option<usize>,
    /// The operator's number, where EXPLAIN ANALYZE counts its disk use.
    id: usize,
    rows: Vec<Row>,
    held: Held,
    runs: Vec<RunReader>,
}

impl<'p> Sorter<'p> {
    /// A sort by `keys`, keeping the first `keep` rows if given.
    pub(super) fn new(keys: &'p [SortKey], keep: Option<usize>, id: usize) -> Self {
        Sorter {
            keys,
            keep,
            id,
            rows: Vec::new(),
            held: Held::default(),
            runs: Vec::new(),
        }
    }

    /// Take in the next input rows.
    pub(super) fn feed(
        &mut self,
        rows: Vec<Row>,
        ctx: &mut EvalContext<'_>,
    ) -> Result<(), SqlError> {
        let bytes = rows_bytes(&rows);
        if !self.rows.is_empty() && !ctx.memory.fits(bytes) {
            self.spill(ctx)?;
        }
        self.held.charge(bytes, ctx)?;
        self.rows.extend(rows);
        if let Some(keep) = self.keep
            && self.rows.len() >= 2 * keep.max(BATCH_ROWS)
        {
            self.rows = sort(std::mem::take(&mut self.rows), self.keys, Some(keep));
            std::mem::take(&mut self.held).release(ctx);
            self.held.charge(rows_bytes(&self.rows), ctx)?;
        }
        Ok(())
    }

    /// Write the rows held, in order, to a new run, unless the statement
    /// may not spill: then it fails with 8175 when it charges them.
    fn spill(&mut self, ctx: &mut EvalContext<'_>) -> Result<(), SqlError> {
        let Some(writer) = RunWriter::create(ctx) else {
            return Ok(());
        };
        let mut writer = writer?;
        spill::count("sort");
        let width = self.rows[0].len();
        for row in &sort(std::mem::take(&mut self.rows), self.keys, self.keep) {
            writer.write(row)?;
        }
        if let Some(stats) = ctx.analysis.as_mut().and_then(|a| a.get_mut(self.id)) {
            stats.disk += writer.bytes();
        }
        self.runs.push(writer.finish(width)?);
        std::mem::take(&mut self.held).release(ctx);
        Ok(())
    }

    /// The input ended: the rows in order.
    pub(super) fn finish(self) -> Result<Sorted<'p>, SqlError> {
        let rows = sort(self.rows, self.keys, self.keep).into_iter();
        if self.runs.is_empty() {
            return Ok(Sorted::Held {
                rows,
                held: self.held,
            });
        }
        let mut heads = Vec::with_capacity(self.runs.len() + 1);
        heads.extend(self.runs.into_iter().map(|run| Head {
            run: Some(run),
            rows: Vec::new().into_iter(),
            row: None,
        }));
        heads.push(Head {
            run: None,
            rows,
            row: None,
        });
        for head in &mut heads {
            head.advance()?;
        }
        Ok(Sorted::Merge {
            keys: self.keys,
            heads,
            left: self.keep.unwrap_or(usize::MAX),
            held: self.held,
        })
    }
}

/// A sort's output.
pub(super) enum Sorted<'p> {
    /// Everything was held: handed on from memory.
    Held {
        rows: std::vec::IntoIter<Row>,
        held: Held,
    },
    /// Runs on disk and the rows held, merged: each time the least of
    /// their first rows, the earliest run's on a tie, `left` more at most.
    Merge {
        keys: &'p [SortKey],
        heads: Vec<Head>,
        left: usize,
        held: Held,
    },
}

/// One sorted input of a merge and its first row not yet handed on.
pub(super) struct Head {
    /// A run on disk, or `None` for the rows held.
    run: Option<RunReader>,
    rows: std::vec::IntoIter<Row>,
    row: Option<Row>,
}

impl Head {
    fn advance(&mut self) -> Result<(), SqlError> {
        self.row = match &mut self.run {
            Some(run) => run.next()?,
            None => self.rows.next(),
        };
        Ok(())
    }
}

impl Sorted<'_> {
    /// The next batch in order, `None` once all went (what was held is
    /// released then).
    pub(super) fn next(&mut self, ctx: &EvalContext<'_>) -> Result<Option<Vec<Row>>, SqlError> {
        let batch = match self {
            Sorted::Held { rows, .. } => rows.by_ref().take(BATCH_ROWS).collect::<Vec<_>>(),
            Sorted::Merge {
                keys, heads, left, ..
            } => {
                let mut batch = Vec::with_capacity(BATCH_ROWS.min(*left));
                while batch.len() < BATCH_ROWS && *left > 0 {
                    let Some(least) = least(heads, keys) else {
                        break;
                    };
                    let head = &mut heads[least];
                    batch.extend(head.row.take());
                    head.advance()?;
                    *left -= 1;
                }
                batch
            }
        };
        if !batch.is_empty() {
            return Ok(Some(batch));
        }
        let (Sorted::Held { held, .. } | Sorted::Merge { held, .. }) = self;
        std::mem::take(held).release(ctx);
        Ok(None)
    }
}

/// The head whose row comes first, the earliest on a tie; `None` once all
/// are done.
fn least(heads: &[Head], keys: &[SortKey]) -> Option<usize> {
    let mut best: Option<(usize, &Row)> = None;
    for (i, head) in heads.iter().enumerate() {
        let Some(row) = &head.row else {
            continue;
        };
        if best.is_none_or(|(_, b)| order(row, b, keys) == Ordering::Less) {
            best = Some((i, row));
        }
    }
    best.map(|(i, _)| i)
}

/// Two rows in ORDER BY's order of `keys`.
pub(super) fn order(a: &Row, b: &Row, keys: &[SortKey]) -> Ordering {
    for k in keys {
        let ord = compare_for_sort(&a[k.column], &b[k.column], k.collation);
        let ord = if k.desc { ord.reverse() } else { ord };
        if ord.is_ne() {
            return ord;
        }
    }
    Ordering::Equal
}

/// `rows` in the order of `keys`, rows of equal keys in input order; with
/// `keep`, only the first `keep` of them, found without sorting the rest.
fn sort(mut rows: Vec<Row>, keys: &[SortKey], keep: Option<usize>) -> Vec<Row> {
    match keep {
        Some(0) => Vec::new(),
        Some(n) if n < rows.len() => {
            // The input position breaks ties, so the rows kept are those a
            // stable sort would put first.
            let mut numbered: Vec<(usize, Row)> = rows.into_iter().enumerate().collect();
            let by =
                |a: &(usize, Row), b: &(usize, Row)| order(&a.1, &b.1, keys).then(a.0.cmp(&b.0));
            numbered.select_nth_unstable_by(n - 1, by);
            numbered.truncate(n);
            numbered.sort_unstable_by(by);
            numbered.into_iter().map(|(_, row)| row).collect()
        }
        _ => {
            rows.sort_by(|a, b| order(a, b, keys));
            rows
        }
    }
}
