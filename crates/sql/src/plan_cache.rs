//! The plan cache of prepared statements.
//!
//! Planning a SELECT means resolving every name against the schema,
//! building scopes and column descriptions, and choosing operators: work
//! that gives the same answer at every execution of a prepared statement,
//! since only the values of its `?` placeholders change. So each prepared
//! statement keeps the plan of its last execution, and the next execution
//! reuses it when nothing the plan depends on has changed:
//!
//! - the schema version (any DDL makes a new one), the session's temporary
//!   tables, and the current database, which name resolution used;
//! - `sql_mode`;
//! - the kind of each placeholder's value (an integer, a string, NULL...):
//!   types, comparisons and result columns were derived from them.
//!
//! Placeholders are bound as [`Expr::Param`](crate::expr::Expr::Param), so
//! a plan reads their values when it runs. The one decision that depends on
//! the values themselves, which keys to read, is made again at every
//! execution ([`Plan::refresh_access`]). A plan that used values otherwise
//! (`LIMIT ?`), read session state (`@@autocommit`) or holds a subquery is
//! not kept ([`Planner::cacheable`]).
//!
//! Each statement's slot belongs to one session, so its lock is never
//! contended; no cache is shared between connections.

use crate::expr::SqlMode;
use crate::plan::{Plan, Planner};
use crate::result::{ColumnInfo, SqlError};
use crate::types::Collation;
use codec::Datum;
use sqlparser::ast;
use std::mem::Discriminant;
use std::sync::{Arc, Mutex, PoisonError};

/// What a cached plan was made under; a different key means planning again.
#[derive(PartialEq, Debug)]
struct PlanKey {
    schema_version: u64,
    /// The session's temporary tables' version: one may shadow a table.
    temporary_version: u64,
    database: Option<String>,
    sql_mode: SqlMode,
    /// String literals' collation.
    collation_connection: Collation,
    kinds: Vec<Discriminant<Datum>>,
}

impl PlanKey {
    fn of(planner: &Planner<'_, '_>) -> Self {
        Self {
            schema_version: planner.schema.version,
            temporary_version: planner.temporary.map_or(0, |t| t.version),
            database: planner.database.map(str::to_owned),
            sql_mode: planner.ctx.sql_mode,
            collation_connection: planner.ctx.collation_connection,
            kinds: planner.params.iter().map(std::mem::discriminant).collect(),
        }
    }
}

#[derive(Debug)]
struct CachedPlan {
    key: PlanKey,
    plan: Plan,
    columns: Arc<[ColumnInfo]>,
}

/// The cached plan of one prepared SELECT.
#[derive(Default, Debug)]
pub struct PlanSlot(Mutex<Option<Arc<CachedPlan>>>);

impl PlanSlot {
    /// The plan of `query` for this execution, its result columns, and
    /// whether it came from the cache (`@@last_plan_from_cache`, as in
    /// TiDB): the cached one with access paths chosen for these values, or
    /// a new one (cached when it can be).
    pub fn plan(
        &self,
        planner: &mut Planner<'_, '_>,
        query: &ast::Query,
    ) -> Result<(Plan, Arc<[ColumnInfo]>, bool), SqlError> {
        let key = PlanKey::of(planner);
        let cached = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(cached) = cached.filter(|c| c.key == key) {
            let mut plan = cached.plan.clone();
            plan.refresh_access(planner);
            return Ok((plan, cached.columns.clone(), true));
        }
        let planned = planner.plan_query(query)?;
        let columns: Arc<[ColumnInfo]> = planned.columns.into();
        let kept = planner.cacheable().then(|| {
            Arc::new(CachedPlan {
                key,
                plan: planned.plan.clone(),
                columns: columns.clone(),
            })
        });
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = kept;
        Ok((planned.plan, columns, false))
    }
}
