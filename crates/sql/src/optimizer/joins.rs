//! Join planning: where each part of a join's conditions is checked, the
//! order the tables are joined in, and which equalities become hash join
//! keys.
//!
//! The planner builds `FROM a, b, c WHERE ...` as a cross product of `a`,
//! `b` and `c` with the whole WHERE clause above it: every combination of
//! rows would be made, then filtered, and five tables of a few dozen rows
//! make hundreds of millions. [`inner_joins`] takes a tree of inner joins
//! apart into its inputs (the leaves) and the AND-ed parts of its ON and
//! WHERE conditions, then builds it again:
//!
//! - a part that reads one leaf filters that leaf before any join, and
//!   chooses its access path (`WHERE a.id = 5` reads one row of `a`);
//! - a part that reads several leaves is checked at the join that brings in
//!   the last of them; if it is `x = y`, with `x` over the rows joined so far
//!   and `y` over the new leaf, and the two compare as their key bytes do,
//!   it is a hash join key;
//! - leaves join in the written order, except that one no condition
//!   connects to those already joined waits for one that is (a cross
//!   product only when nothing else is left);
//! - a part that cannot move (a subquery, a non-deterministic function)
//!   stays above the joins.
//!
//! The joined rows are put back in the written column order, so nothing
//! above sees a difference. [`left_join`] does the same for one LEFT JOIN:
//! its ON parts that read only the inner side filter that side first, and
//! its equalities between the sides are keys.

use crate::expr::{BinaryOp, Expr};
use crate::plan::{JoinKey, JoinKind, Plan, Planner, conjuncts};
use crate::types::{Collation, SqlType, TypeKind};

/// One input of an inner-join tree, and where its columns sit in the
/// tree's row as written.
struct Leaf {
    plan: Plan,
    offset: usize,
    width: usize,
}

impl Leaf {
    fn holds(&self, column: usize) -> bool {
        (self.offset..self.offset + self.width).contains(&column)
    }
}

/// Rebuild the inner joins at the top of `plan`, with `predicate` (over
/// `plan`'s rows, of column types `types`) and their ON conditions placed
/// as the module says. A plan that is no inner join is filtered by the
/// predicate whole, as written.
pub fn inner_joins(
    planner: &mut Planner<'_, '_>,
    plan: Plan,
    predicate: Option<Expr>,
    types: &[SqlType],
) -> Plan {
    let mut leaves = Vec::new();
    let mut parts = Vec::new();
    flatten(plan, 0, &mut leaves, &mut parts);
    if leaves.len() == 1 {
        let leaf = leaves.remove(0);
        return filter(planner, leaf.plan, predicate);
    }
    if let Some(predicate) = &predicate {
        conjuncts(predicate, &mut parts);
    }

    // Sort the parts: onto one leaf, onto a join, or above everything.
    let mut pushed: Vec<Vec<Expr>> = leaves.iter().map(|_| Vec::new()).collect();
    let mut pending: Vec<(Vec<usize>, Expr)> = Vec::new();
    let mut above = Vec::new();
    for part in parts {
        match leaves_read(&part, &leaves).as_deref() {
            Some(&[leaf]) => {
                let offset = leaves[leaf].offset;
                pushed[leaf].push(part.remap_columns(&|c| c - offset));
            }
            Some(set) if set.len() > 1 => pending.push((set.to_vec(), part)),
            _ => above.push(part),
        }
    }

    let mut plans: Vec<Option<Plan>> = Vec::with_capacity(leaves.len());
    for (leaf, parts) in leaves.iter_mut().zip(pushed) {
        let plan = std::mem::replace(&mut leaf.plan, Plan::Dual);
        let predicate = Expr::balanced(parts, BinaryOp::And);
        plans.push(Some(filter(planner, plan, predicate)));
    }
    let order = join_order(leaves.len(), &pending);
    // Where each leaf's columns start in the joined row.
    let mut start = vec![0; leaves.len()];
    let mut width = 0;
    for &j in &order {
        start[j] = width;
        width += leaves[j].width;
    }
    let position = |c: usize| {
        let leaf = leaves.iter().position(|l| l.holds(c)).unwrap_or(0);
        start[leaf] + c - leaves[leaf].offset
    };

    let mut joined_leaves = vec![false; leaves.len()];
    let mut joined = plans[order[0]].take().unwrap_or(Plan::Dual);
    joined_leaves[order[0]] = true;
    for &j in &order[1..] {
        joined_leaves[j] = true;
        let (now, later) = pending
            .into_iter()
            .partition(|(set, _)| set.iter().all(|&l| joined_leaves[l]));
        pending = later;
        let new = &leaves[j];
        let mut keys = Vec::new();
        let mut rest = Vec::new();
        for (_, part) in now {
            match key(&part, &|c| new.holds(c), types) {
                Some((outer, inner, collation)) => keys.push(JoinKey {
                    left: outer.remap_columns(&position),
                    right: inner.remap_columns(&|c| c - new.offset),
                    collation,
                }),
                None => rest.push(part.remap_columns(&position)),
            }
        }
        joined = Plan::Join {
            left: Box::new(joined),
            right: Box::new(plans[j].take().unwrap_or(Plan::Dual)),
            kind: JoinKind::Inner,
            keys,
            on: Expr::balanced(rest, BinaryOp::And),
            right_width: new.width,
        };
    }
    if order.windows(2).any(|w| w[0] > w[1]) {
        let columns = (0..width).map(|c| Expr::Column(position(c))).collect();
        joined = Plan::Project(Box::new(joined), columns);
    }
    match Expr::balanced(above, BinaryOp::And) {
        Some(predicate) => Plan::Filter(Box::new(joined), predicate),
        None => joined,
    }
}

/// Plan `outer LEFT JOIN inner ON on`, whose rows have column types
/// `types`: each side's own inner joins rebuilt, the ON parts that read
/// only the inner side filtering it before the join, and equalities
/// between the sides as keys. Parts that read the outer side only stay in
/// the condition: they decide which rows match, not which outer rows
/// there are.
pub fn left_join(
    planner: &mut Planner<'_, '_>,
    outer: Plan,
    inner: Plan,
    on: Option<Expr>,
    types: &[SqlType],
) -> Plan {
    let outer_width = outer.width();
    let (outer_types, inner_types) = types.split_at(outer_width.min(types.len()));
    let outer = inner_joins(planner, outer, None, outer_types);
    let inside = |c: usize| c >= outer_width;
    let mut parts = Vec::new();
    if let Some(on) = &on {
        conjuncts(on, &mut parts);
    }
    let mut inner_only = Vec::new();
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for part in parts {
        let mut columns = Vec::new();
        if movable(&part, &mut columns) && !columns.is_empty() && columns.iter().all(|&c| inside(c))
        {
            inner_only.push(part.remap_columns(&|c| c - outer_width));
            continue;
        }
        match key(&part, &inside, types) {
            Some((outer, inner, collation)) => keys.push(JoinKey {
                left: outer,
                right: inner.remap_columns(&|c| c - outer_width),
                collation,
            }),
            None => rest.push(part),
        }
    }
    let inner = inner_joins(
        planner,
        inner,
        Expr::balanced(inner_only, BinaryOp::And),
        inner_types,
    );
    let right_width = inner.width();
    Plan::Join {
        left: Box::new(outer),
        right: Box::new(inner),
        kind: JoinKind::Left,
        keys,
        on: Expr::balanced(rest, BinaryOp::And),
        right_width,
    }
}

/// Take a tree of inner joins apart (see [`inner_joins`]); `offset` is where
/// `plan`'s columns start in the whole tree's row. A join whose ON holds a
/// subquery is kept whole unless it starts the row: the subquery's
/// references to the joined row could not follow its columns elsewhere.
fn flatten(plan: Plan, offset: usize, leaves: &mut Vec<Leaf>, parts: &mut Vec<Expr>) {
    match plan {
        Plan::Join {
            left,
            right,
            kind: JoinKind::Inner,
            keys,
            on,
            ..
        } if keys.is_empty()
            && (offset == 0 || on.as_ref().is_none_or(|e| e.columns_used(&mut Vec::new()))) =>
        {
            let left_width = left.width();
            flatten(*left, offset, leaves, parts);
            flatten(*right, offset + left_width, leaves, parts);
            if let Some(on) = on {
                conjuncts(&on.remap_columns(&|c| c + offset), parts);
            }
        }
        plan => {
            let width = plan.width();
            leaves.push(Leaf {
                plan,
                offset,
                width,
            });
        }
    }
}

/// `plan` filtered by `predicate`; a table read also takes the access path
/// the predicate allows.
fn filter(planner: &mut Planner<'_, '_>, mut plan: Plan, predicate: Option<Expr>) -> Plan {
    let Some(predicate) = predicate else {
        return plan;
    };
    if let Plan::Read {
        table,
        access,
        indexes,
        ..
    } = &mut plan
    {
        *access = planner.access_path(table, *indexes, Some(&predicate));
    }
    Plan::Filter(Box::new(plan), predicate)
}

/// Whether `part` may be checked at another place than written (no
/// subquery, nothing non-deterministic); pushes the columns it reads.
fn movable(part: &Expr, columns: &mut Vec<usize>) -> bool {
    part.columns_used(columns)
        && !part.any(&|e| matches!(e, Expr::Call(f, ..) if !f.is_deterministic()))
}

/// The leaves `part` reads, in order, if it may move.
fn leaves_read(part: &Expr, leaves: &[Leaf]) -> Option<Vec<usize>> {
    let mut columns = Vec::new();
    if !movable(part, &mut columns) {
        return None;
    }
    let mut set: Vec<usize> = columns
        .iter()
        .filter_map(|&c| leaves.iter().position(|l| l.holds(c)))
        .collect();
    set.sort_unstable();
    set.dedup();
    Some(set)
}

/// The order leaves join in: as written, but a leaf waits while another
/// one is connected to those joined already by a part in `pending`.
fn join_order(n: usize, pending: &[(Vec<usize>, Expr)]) -> Vec<usize> {
    let mut joined = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let connected = |j: usize| {
            pending
                .iter()
                .any(|(set, _)| set.contains(&j) && set.iter().all(|&l| l == j || joined[l]))
        };
        let waiting = || (0..n).filter(|&j| !joined[j]);
        let Some(next) = waiting()
            .find(|&j| order.is_empty() || connected(j))
            .or_else(|| waiting().next())
        else {
            break;
        };
        joined[next] = true;
        order.push(next);
    }
    order
}

/// `part` as a hash join key, if it is `x = y` with one side reading only
/// columns for which `new` holds (the inner side) and the other only
/// columns for which it does not, and the two sides' types compare as
/// their key bytes do: the outer side, the inner side (both still over the
/// written row) and the collation.
fn key(
    part: &Expr,
    new: &impl Fn(usize) -> bool,
    types: &[SqlType],
) -> Option<(Expr, Expr, Collation)> {
    let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
        collation,
    } = part
    else {
        return None;
    };
    // Some(true): reads only the inner side; Some(false): only the outer.
    let side = |e: &Expr| {
        let mut columns = Vec::new();
        if !movable(e, &mut columns) || columns.is_empty() {
            return None;
        }
        let inner = columns.iter().filter(|&&c| new(c)).count();
        match inner {
            0 => Some(false),
            n if n == columns.len() => Some(true),
            _ => None,
        }
    };
    let (outer, inner) = match (side(left)?, side(right)?) {
        (false, true) => (left, right),
        (true, false) => (right, left),
        _ => return None,
    };
    let class = |e: &Expr| key_class(&e.ty(types));
    match (class(outer), class(inner)) {
        (Some(a), Some(b)) if a == b => Some(((**outer).clone(), (**inner).clone(), *collation)),
        _ => None,
    }
}

/// Types whose values compare with `=` as their key bytes do, in classes
/// that may meet: exact numbers (integers and decimals, compared exactly),
/// strings (in the comparison's collation), and each temporal kind.
/// Floating point, and mixes such as a string against a number (compared
/// as doubles), are left to a nested loop.
fn key_class(ty: &SqlType) -> Option<u8> {
    use TypeKind as K;
    match ty.kind {
        _ if ty.is_integer() => Some(0),
        K::Decimal => Some(0),
        K::Char | K::VarChar | K::Binary | K::VarBinary | K::Text | K::Blob => Some(1),
        K::Date => Some(2),
        K::DateTime | K::Timestamp => Some(3),
        K::Time => Some(4),
        _ => None,
    }
}
