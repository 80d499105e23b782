//! Column pruning: a table read decodes only the columns the rest of its
//! query uses.
//!
//! Every string column a row decodes is an allocation and a copy; sysbench's
//! range selects read `c` (or `k`) of rows that also carry a 60-byte `pad`, and
//! decoding whole rows was an eighth of their time. [`prune`] walks a plan
//! from its root, tracking which input columns each operator needs, and
//! records at each [`Plan::Read`] which table columns to decode; the others
//! read as NULL, which nothing above looks at.
//!
//! Where a column use is not visible from here, every column is kept: an
//! expression with a subquery (a correlated one reads the enclosing row
//! through [`Expr::Outer`]), and everything under a join or a union (their
//! inputs' positions are not tracked).

use crate::expr::Expr;
use crate::plan::Plan;
use std::sync::Arc;

/// Columns of an operator's input that are needed; `None` is all of them.
type Need = Option<Vec<usize>>;

/// Mark the reads of `plan`, whose whole output is used.
pub fn prune(plan: &mut Plan) {
    walk(plan, None);
}

fn walk(plan: &mut Plan, need: Need) {
    match plan {
        Plan::Dual => {}
        Plan::Read { table, columns, .. } => {
            *columns = need.map(|need| {
                let mut mask = vec![false; table.columns.len()];
                // Positions past the table's columns are the handle, which
                // every row carries anyway.
                for i in need {
                    if let Some(m) = mask.get_mut(i) {
                        *m = true;
                    }
                }
                Arc::from(mask)
            });
        }
        Plan::Filter(input, predicate) => {
            let need = union(need, uses(std::slice::from_ref(predicate)));
            walk(input, need);
        }
        Plan::Project(input, exprs) => walk(input, uses(exprs.iter())),
        Plan::Aggregate {
            input,
            group_by,
            aggs,
            ..
        } => {
            let args = aggs
                .iter()
                .flat_map(|a| std::iter::once(&a.arg).chain(a.order.iter().map(|o| &o.expr)));
            let need = union(uses(group_by.iter()), uses(args));
            walk(input, need);
        }
        Plan::Distinct(input, width, _) => {
            let need = union(need, Some((0..*width).collect()));
            walk(input, need);
        }
        Plan::Sort(input, keys, _) => {
            let need = union(need, Some(keys.iter().map(|k| k.column).collect()));
            walk(input, need);
        }
        Plan::Lock { input, targets, .. } => {
            let need = union(need, Some(targets.iter().map(|t| t.column).collect()));
            walk(input, need);
        }
        Plan::Limit { input, .. } | Plan::Truncate(input, _) => walk(input, need),
        Plan::Join { left, right, .. } => {
            walk(left, None);
            walk(right, None);
        }
        Plan::Union(inputs, _) => inputs.iter_mut().for_each(|input| walk(input, None)),
    }
}

/// The input columns `exprs` read, or `None` if that cannot be told.
fn uses<'e>(exprs: impl IntoIterator<Item = &'e Expr>) -> Need {
    let mut out = Vec::new();
    for expr in exprs {
        if !expr.columns_used(&mut out) {
            return None;
        }
    }
    Some(out)
}

fn union(a: Need, b: Need) -> Need {
    let mut a = a?;
    a.extend(b?);
    Some(a)
}
