//! What the SQL layer measures: statements by type with their latency and
//! errors, how many run at this moment ("threads running"), and the
//! connections open. Each type's handles are looked up once, so counting a
//! statement is a few atomic adds.

use crate::text_statement::TextStatement;
use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge};
use sqlparser::ast::Statement;
use std::sync::LazyLock;
use std::time::Duration;

/// What kind of statement ran, the `type` label of the statement metrics
/// (TiDB's names).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StatementType {
    Select,
    Insert,
    Replace,
    Update,
    Delete,
    Begin,
    Commit,
    Rollback,
    Set,
    Use,
    Show,
    Ddl,
    Other,
}

const TYPES: [StatementType; 13] = [
    StatementType::Select,
    StatementType::Insert,
    StatementType::Replace,
    StatementType::Update,
    StatementType::Delete,
    StatementType::Begin,
    StatementType::Commit,
    StatementType::Rollback,
    StatementType::Set,
    StatementType::Use,
    StatementType::Show,
    StatementType::Ddl,
    StatementType::Other,
];

impl StatementType {
    /// The type of a statement sqlparser parsed.
    pub fn of(statement: &Statement) -> Self {
        use Statement as S;
        match statement {
            S::Query(_) => Self::Select,
            S::Insert(insert) if insert.replace_into => Self::Replace,
            S::Insert(_) => Self::Insert,
            S::Update(_) => Self::Update,
            S::Delete(_) => Self::Delete,
            S::StartTransaction { .. } => Self::Begin,
            S::Commit { .. } => Self::Commit,
            S::Rollback { .. } => Self::Rollback,
            S::Set(_) => Self::Set,
            S::Use(_) => Self::Use,
            S::CreateTable(_)
            | S::CreateIndex(_)
            | S::CreateDatabase { .. }
            | S::CreateSchema { .. }
            | S::CreateView { .. }
            | S::AlterTable(_)
            | S::Drop { .. }
            | S::DropFunction(_)
            | S::Truncate(_)
            | S::RenameTable(_) => Self::Ddl,
            S::ShowVariable { .. }
            | S::ShowVariables { .. }
            | S::ShowStatus { .. }
            | S::ShowDatabases { .. }
            | S::ShowSchemas { .. }
            | S::ShowTables { .. }
            | S::ShowColumns { .. }
            | S::ShowCreate { .. }
            | S::ShowCollation { .. }
            | S::ShowCharset(_)
            | S::ShowProcessList { .. } => Self::Show,
            _ => Self::Other,
        }
    }

    /// The type of a statement our own parser read.
    pub fn of_text(statement: &TextStatement) -> Self {
        use TextStatement as T;
        match statement {
            T::StartTransaction { .. } => Self::Begin,
            T::SetTransaction { .. } => Self::Set,
            T::AlterTableKeys(_) | T::AlterTable { .. } => Self::Ddl,
            T::LoadData(_) => Self::Insert,
            T::ChecksumTable { .. } => Self::Other,
            _ => Self::Show,
        }
    }

    /// Whether it reads or writes data, and so waits for admission (see
    /// `admission`).
    pub fn is_admitted(self) -> bool {
        matches!(
            self,
            Self::Select | Self::Insert | Self::Replace | Self::Update | Self::Delete | Self::Ddl
        )
    }

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Select => "Select",
            Self::Insert => "Insert",
            Self::Replace => "Replace",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Begin => "Begin",
            Self::Commit => "Commit",
            Self::Rollback => "Rollback",
            Self::Set => "Set",
            Self::Use => "Use",
            Self::Show => "Show",
            Self::Ddl => "DDL",
            Self::Other => "Other",
        }
    }
}

/// One statement type's handles.
struct ByType {
    duration: Histogram,
    errors: IntCounter,
}

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    prometheus::register_histogram_vec!(
        "basalt_sql_statement_duration_seconds",
        "Statements run, by type, and their latency",
        &["type"],
        prometheus::exponential_buckets(0.000_05, 2.0, 20).expect("valid buckets")
    )
    .expect("a metric registered once")
});

static ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "basalt_sql_statement_errors_total",
        "Statements that failed, by type",
        &["type"]
    )
    .expect("a metric registered once")
});

static BY_TYPE: LazyLock<[ByType; TYPES.len()]> = LazyLock::new(|| {
    TYPES.map(|t| ByType {
        duration: DURATION.with_label_values(&[t.name()]),
        errors: ERRORS.with_label_values(&[t.name()]),
    })
});

/// Statements executing now: MySQL's "threads running".
pub static RUNNING: LazyLock<IntGauge> = LazyLock::new(|| {
    prometheus::register_int_gauge!("basalt_sql_statements_running", "Statements executing now")
        .expect("a metric registered once")
});

/// Client connections open now.
pub static CONNECTIONS: LazyLock<IntGauge> = LazyLock::new(|| {
    prometheus::register_int_gauge!("basalt_sql_connections", "Client connections open now")
        .expect("a metric registered once")
});

/// Autocommit statements run again after their commit met a write
/// conflict (TiDB's `tidb_session_retry_num`): contention a client never
/// sees as an error.
pub static RETRIES: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_sql_statement_retries_total",
        "Autocommit statements run again after a write conflict"
    )
    .expect("a metric registered once")
});

/// Put the SQL layer's series in `/metrics` now, at 0.
pub fn init() {
    LazyLock::force(&RETRIES);
    LazyLock::force(&BY_TYPE);
    LazyLock::force(&RUNNING);
    LazyLock::force(&CONNECTIONS);
    LazyLock::force(&crate::memory::QUOTA_EXCEEDED);
    for operator in ["sort", "hash_agg", "hash_join"] {
        crate::memory::SPILLS.with_label_values(&[operator]);
    }
    LazyLock::force(&crate::memory::SPILLED_BYTES);
}

/// One statement being measured: counted as running from
/// [`start`](Self::start) until it is finished or dropped (a statement
/// whose connection went away midway).
pub struct StatementTimer {
    kind: StatementType,
}

impl StatementTimer {
    /// A statement of `kind` starts.
    pub fn start(kind: StatementType) -> Self {
        RUNNING.inc();
        Self { kind }
    }

    /// It ended after `took` (timed by the caller, whose clock the slow log
    /// and statement summary share), failed or not.
    pub fn finish(self, took: Duration, failed: bool) {
        let by_type = &BY_TYPE[self.kind as usize];
        by_type.duration.observe(took.as_secs_f64());
        if failed {
            by_type.errors.inc();
        }
    }
}

impl Drop for StatementTimer {
    fn drop(&mut self) {
        RUNNING.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_index_their_handles() {
        for (i, t) in TYPES.iter().enumerate() {
            assert_eq!(*t as usize, i);
        }
    }

    #[test]
    fn a_statement_is_counted_under_its_type() {
        let parse = |sql: &str| {
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, sql)
                .unwrap()
                .remove(0)
        };
        assert_eq!(StatementType::of(&parse("SELECT 1")), StatementType::Select);
        assert_eq!(
            StatementType::of(&parse("REPLACE INTO t VALUES (1)")),
            StatementType::Replace
        );
        assert_eq!(StatementType::of(&parse("BEGIN")), StatementType::Begin);
        assert_eq!(
            StatementType::of(&parse("DROP TABLE t")),
            StatementType::Ddl
        );
        let before = BY_TYPE[StatementType::Update as usize]
            .duration
            .get_sample_count();
        StatementTimer::start(StatementType::Update).finish(Duration::from_millis(1), true);
        let update = &BY_TYPE[StatementType::Update as usize];
        assert_eq!(update.duration.get_sample_count(), before + 1);
        assert!(update.errors.get() >= 1);
    }
}
