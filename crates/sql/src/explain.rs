//! EXPLAIN: a plan as TiDB prints it, one row per operator with the tree
//! drawn in the `id` column, so that a user sees which access path a
//! statement takes (`Point_Get`, `Batch_Point_Get`, `IndexLookUp`,
//! `TableRangeScan`, `TableFullScan`) and what runs above it.
//!
//! Columns: `id`, `estRows` (known only for point gets: there are no
//! statistics yet), `task` (always `root`: nothing is pushed to the store
//! yet), `access object`, `operator info`. Expressions name input columns
//! by position (`Column#2`), as the plan holds them.
//!
//! EXPLAIN ANALYZE runs the query and adds, as TiDB does, `actRows` (rows
//! the operator returned), `execution info` (`time:` its wall time with its
//! inputs', `loops:` its runs), `memory` (the most its rows took at once,
//! as the statement's memory quota counts them) and `disk` (what it wrote
//! to temporary files; `N/A` if nothing).

use crate::exec::OperatorStats;
use crate::expr::{BinaryOp, Expr, UnaryOp};
use crate::plan::{Access, JoinKind, Plan, RowLockWait};
use crate::result::Output;
use crate::show::{text, text_rows};
use codec::Datum;

/// The EXPLAIN result of `plan`, under a root operator `root` (`Update`,
/// `Delete`, `Insert`) if the statement writes.
pub fn explain(plan: Option<&Plan>, root: Option<&str>) -> Output {
    let mut out = Explainer::default();
    match (root, plan) {
        (Some(root), plan) => {
            out.row("", root, "", "", "");
            if let Some(plan) = plan {
                out.walk(plan, "", true);
            }
        }
        (None, Some(plan)) => out.top(plan),
        (None, None) => {}
    }
    text_rows(
        &["id", "estRows", "task", "access object", "operator info"],
        out.rows,
    )
}

/// The EXPLAIN ANALYZE result of a query `plan` that ran with `stats`
/// (one per operator, by pre-order number).
pub fn analyze(plan: &Plan, stats: &[OperatorStats]) -> Output {
    let mut out = Explainer {
        analysis: Some(stats),
        ..Explainer::default()
    };
    out.top(plan);
    text_rows(
        &[
            "id",
            "estRows",
            "actRows",
            "task",
            "access object",
            "execution info",
            "operator info",
            "memory",
            "disk",
        ],
        out.rows,
    )
}

#[derive(Default)]
struct Explainer<'s> {
    rows: Vec<Vec<Datum>>,
    next_id: usize,
    /// Under EXPLAIN ANALYZE, what each operator did.
    analysis: Option<&'s [OperatorStats]>,
    /// The pre-order number of the operator being described.
    operator: usize,
    /// Operators visited so far, printed or not.
    visited: usize,
}

impl Explainer<'_> {
    fn row(&mut self, indent: &str, name: &str, est: &str, object: &str, info: &str) {
        self.next_id += 1;
        let id = text(format!("{indent}{name}_{}", self.next_id));
        let row = match self.analysis {
            None => vec![id, text(est), text("root"), text(object), text(info)],
            Some(all) => {
                let ran = all.get(self.operator).copied().unwrap_or_default();
                vec![
                    id,
                    text(est),
                    text(ran.rows.to_string()),
                    text("root"),
                    text(object),
                    text(format!("time:{:.2?}, loops:{}", ran.time, ran.loops)),
                    text(info),
                    text(crate::memory::format_bytes(ran.memory)),
                    text(match ran.disk {
                        0 => "N/A".to_string(),
                        bytes => crate::memory::format_bytes(bytes),
                    }),
                ]
            }
        };
        self.rows.push(row);
    }

    fn top(&mut self, plan: &Plan) {
        self.node(plan, "", "");
    }

    /// `plan` as a child: `last` says whether it is its parent's last child.
    fn walk(&mut self, plan: &Plan, prefix: &str, last: bool) {
        let branch = if last { "└─" } else { "├─" };
        let below = format!("{prefix}{}", if last { "  " } else { "│ " });
        self.node(plan, &format!("{prefix}{branch}"), &below);
    }

    fn node(&mut self, plan: &Plan, indent: &str, below: &str) {
        self.operator = self.visited;
        self.visited += 1;
        match plan {
            Plan::Dual => self.row(indent, "TableDual", "1.00", "", "rows:1"),
            Plan::Read { table, access, .. } => {
                let object = format!("table:{}", table.name);
                match access {
                    Access::Handles(handles) if handles.len() == 1 => {
                        let info = format!("handle:{}", handles[0]);
                        self.row(indent, "Point_Get", "1.00", &object, &info);
                    }
                    Access::Handles(handles) => {
                        let list: Vec<String> = handles.iter().map(i64::to_string).collect();
                        let est = format!("{}.00", handles.len());
                        let info = format!("handle:[{}]", list.join(" "));
                        self.row(indent, "Batch_Point_Get", &est, &object, &info);
                    }
                    Access::HandleRange(start, end) => {
                        let bound = |key: &[u8], open: &str| {
                            codec::table::decode_row_key(key)
                                .map_or(open.to_string(), |(_, h)| h.to_string())
                        };
                        let info = format!(
                            "range:[{},{}), keep order:false",
                            bound(start, "-inf"),
                            bound(end, "+inf")
                        );
                        self.row(indent, "TableRangeScan", "", &object, &info);
                    }
                    Access::Index { index, ranges } => {
                        let index = &table.indexes[*index];
                        let columns: Vec<&str> = index
                            .columns
                            .iter()
                            .map(|&(c, _)| table.columns[c].name.as_str())
                            .collect();
                        let object =
                            format!("{object}, index:{}({})", index.name, columns.join(", "));
                        let info = format!("ranges:{}", ranges.len());
                        self.row(indent, "IndexLookUp", "", &object, &info);
                    }
                    Access::Full => {
                        self.row(indent, "TableFullScan", "", &object, "keep order:false")
                    }
                }
                return;
            }
            Plan::Filter(_, predicate) => {
                self.row(indent, "Selection", "", "", &expr(predicate));
            }
            Plan::Join {
                left,
                kind,
                keys,
                on,
                ..
            } => {
                let mut info = match kind {
                    JoinKind::Inner => "inner join".to_string(),
                    JoinKind::Left => "left outer join".to_string(),
                };
                // Keys read the inner row; shown over the joined row, as
                // the other condition is.
                let left_width = left.width();
                let equal: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let right = k.right.clone().remap_columns(&|c| c + left_width);
                        format!("eq({}, {})", expr(&k.left), expr(&right))
                    })
                    .collect();
                if !equal.is_empty() {
                    info.push_str(&format!(", equal:[{}]", equal.join(" ")));
                }
                if let Some(on) = on {
                    info.push_str(&format!(", other cond:{}", expr(on)));
                }
                let name = if keys.is_empty() {
                    "NestedLoopJoin"
                } else {
                    "HashJoin"
                };
                self.row(indent, name, "", "", &info);
            }
            Plan::Aggregate {
                group_by,
                rollup,
                aggs,
                ..
            } => {
                let funcs: Vec<String> = aggs
                    .iter()
                    .map(|a| {
                        let name = a.func.map_or("firstrow", |f| f.name());
                        let distinct = if a.distinct { "distinct " } else { "" };
                        let order: Vec<String> = a
                            .order
                            .iter()
                            .map(|o| {
                                format!("{}{}", expr(&o.expr), if o.desc { " desc" } else { "" })
                            })
                            .collect();
                        let order = if order.is_empty() {
                            String::new()
                        } else {
                            format!(" order by {}", order.join(", "))
                        };
                        format!("{name}({distinct}{}{order})", expr(&a.arg))
                    })
                    .collect();
                let mut info = String::new();
                if !group_by.is_empty() {
                    let rollup = if *rollup { " with rollup" } else { "" };
                    info = format!("group by:{}{rollup}, ", list(group_by));
                }
                info.push_str(&format!("funcs:{}", funcs.join(", ")));
                self.row(indent, "HashAgg", "", "", &info);
            }
            Plan::Project(_, exprs) => self.row(indent, "Projection", "", "", &list(exprs)),
            Plan::Distinct(_, width, _) => {
                let info = format!("distinct on {width} column(s)");
                self.row(indent, "HashAgg", "", "", &info);
            }
            Plan::Sort(_, keys, keep) => {
                let keys: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let desc = if k.desc { ":desc" } else { "" };
                        format!("Column#{}{desc}", k.column)
                    })
                    .collect();
                match keep {
                    Some(n) => {
                        let info = format!("{}, count:{n}", keys.join(", "));
                        self.row(indent, "TopN", "", "", &info);
                    }
                    None => self.row(indent, "Sort", "", "", &keys.join(", ")),
                }
            }
            Plan::Limit { offset, count, .. } => {
                let count = count.map_or("all".to_string(), |c| c.to_string());
                let info = format!("offset:{offset}, count:{count}");
                self.row(indent, "Limit", "", "", &info);
            }
            Plan::Lock { targets, .. } => {
                // TiDB's SelectLock: `for update`, then how it waits.
                let mut info = String::from("for update");
                for wait in [RowLockWait::NoWait, RowLockWait::SkipLocked] {
                    if targets.iter().any(|t| t.wait == wait) {
                        info.push_str(match wait {
                            RowLockWait::NoWait => " nowait",
                            _ => " skip locked",
                        });
                    }
                }
                self.row(indent, "SelectLock", "", "", &info);
            }
            // Dropping hidden sort columns is not an operator a user cares about.
            Plan::Truncate(input, _) => return self.node(input, indent, below),
            Plan::Union(_, distinct) => {
                let info = if distinct.is_some() {
                    "distinct"
                } else {
                    "all"
                };
                self.row(indent, "Union", "", "", info);
            }
        }
        let children = plan.children();
        let n = children.len();
        for (i, child) in children.into_iter().enumerate() {
            self.walk(child, below, i + 1 == n);
        }
    }
}

fn list(exprs: &[Expr]) -> String {
    exprs.iter().map(expr).collect::<Vec<_>>().join(", ")
}

/// An expression in TiDB's function notation: `eq(Column#0, 1)`.
fn expr(e: &Expr) -> String {
    match e {
        Expr::Literal(d) => match d {
            Datum::Null => "NULL".to_string(),
            Datum::Bytes(_) => format!("\"{}\"", crate::expr::cast::to_text(d)),
            _ => crate::expr::cast::to_text(d),
        },
        Expr::Column(i) => format!("Column#{i}"),
        Expr::Outer(_) => "outer column".to_string(),
        Expr::Param(i, _) => format!("?{i}"),
        Expr::UserVar(name) => format!("@{name}"),
        Expr::Unary(op, e) => {
            let name = match op {
                UnaryOp::Neg => "unaryminus",
                UnaryOp::Not => "not",
                UnaryOp::BitNot => "bitneg",
            };
            format!("{name}({})", expr(e))
        }
        Expr::Binary {
            op, left, right, ..
        } => format!("{}({}, {})", binary_name(*op), expr(left), expr(right)),
        Expr::IsNull { expr: e, negated } => {
            let inner = format!("isnull({})", expr(e));
            if *negated {
                format!("not({inner})")
            } else {
                inner
            }
        }
        Expr::InList {
            expr: e,
            list: items,
            negated,
            ..
        } => {
            let inner = format!("in({}, {})", expr(e), list(items));
            if *negated {
                format!("not({inner})")
            } else {
                inner
            }
        }
        Expr::Between {
            expr: e,
            low,
            high,
            negated,
            ..
        } => {
            let inner = format!(
                "and(ge({0}, {1}), le({0}, {2}))",
                expr(e),
                expr(low),
                expr(high)
            );
            if *negated {
                format!("not({inner})")
            } else {
                inner
            }
        }
        Expr::Like {
            expr: e,
            pattern,
            negated,
            ..
        } => {
            let inner = format!("like({}, {})", expr(e), expr(pattern));
            if *negated {
                format!("not({inner})")
            } else {
                inner
            }
        }
        Expr::Cast(e, ty) => format!("cast({}, {})", expr(e), crate::show::type_sql(ty)),
        Expr::Collate(e, c) => format!("collate({}, {})", expr(e), c.name()),
        Expr::Call(f, args, _) => format!("{}({})", f.name(), list(args)),
        Expr::IsBool { .. } | Expr::Case { .. } => "expression".to_string(),
        Expr::Subquery(_) => "subquery".to_string(),
    }
}

fn binary_name(op: BinaryOp) -> &'static str {
    use BinaryOp::*;
    match op {
        Add => "plus",
        Sub => "minus",
        Mul => "mul",
        Div => "div",
        IntDiv => "intdiv",
        Mod => "mod",
        Eq => "eq",
        NullSafeEq => "nulleq",
        Ne => "ne",
        Lt => "lt",
        Le => "le",
        Gt => "gt",
        Ge => "ge",
        And => "and",
        Or => "or",
        Xor => "xor",
        BitAnd => "bitand",
        BitOr => "bitor",
        BitXor => "bitxor",
        Shl => "leftshift",
        Shr => "rightshift",
    }
}
