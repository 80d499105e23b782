//! One connection's view of the database: current database, transaction,
//! variables, prepared statements and diagnostics; and the dispatch of each
//! statement to its implementation.
//!
//! Transactions follow MySQL's autocommit rules. With autocommit on and no
//! explicit transaction, each statement runs in its own transaction, and a
//! write that loses a write conflict is run again from scratch inside the
//! server, invisibly to the client. Inside BEGIN ... COMMIT the conflict can
//! only surface at COMMIT, as error 1213, which applications (and sysbench)
//! retry. A failed statement inside a transaction undoes only itself.

use crate::admission::{self, Admission, Ran};
use crate::catalog::{Catalog, InfoSchema};
use crate::error::{self, from_kv};
use crate::exec::{self, RowLocks};
use crate::expr::{EvalContext, Expr, Level, SqlMode, Warning};
use crate::metrics::{self, StatementType};
use crate::plan::{Planner, RowLockWait, database_name, table_name};
use crate::plan_cache::PlanSlot;
use crate::process::{Kill, Process, ProcessList};
use crate::result::{ColumnInfo, Outlet, Output, Prepared, Sink, SqlError};
use crate::show::{self, text, text_rows};
use crate::slow_log::{self, SlowLog};
use crate::statement_summary::{self, Digest, Summaries};
use crate::table_lock::TableLocks;
use crate::temporary::TemporaryTables;
use crate::text_statement::{self, TextStatement};
use crate::types::{Collation, SqlType};
use crate::variables::GlobalVariables;
use crate::{ddl, dml};
use codec::Datum;
use kv_client::{Client, LockWait, Savepoint, Transaction};
use sqlparser::ast::{self, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Rows of a LOAD DATA file inserted per statement.
const LOAD_BATCH: usize = 500;
/// Times an autocommit write is run again after losing a write conflict.
const AUTOCOMMIT_RETRIES: usize = 10;
/// Times a pessimistic statement is run again at a newer timestamp because
/// a row changed between its read and its lock.
const STATEMENT_RETRIES: usize = 100;

/// SERVER_STATUS_IN_TRANS.
const STATUS_IN_TRANS: u16 = 1;
/// SERVER_STATUS_AUTOCOMMIT.
const STATUS_AUTOCOMMIT: u16 = 2;

/// What all sessions of a SQL node share.
pub struct SqlEngine {
    catalog: Catalog,
    globals: GlobalVariables,
    started: Instant,
    questions: AtomicU64,
    processes: ProcessList,
    admission: Admission,
    slow_log: SlowLog,
    summaries: Summaries,
    tmp_storage: crate::memory::TmpStorage,
}

impl SqlEngine {
    /// Open the SQL layer over a KV client, loading the catalog.
    pub async fn open(client: Client) -> Result<Arc<Self>, SqlError> {
        let catalog = Catalog::open(client).await?;
        if catalog.snapshot().database("test").is_none() {
            catalog
                .create_database("test", true, Collation::default())
                .await?;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let admission = Admission::new(
            cores * admission::DEFAULT_PER_CORE,
            admission::DEFAULT_TIMEOUT_MS,
        );
        let globals = GlobalVariables::default();
        globals.set(
            "max_running_statements",
            Datum::I64(admission.limit() as i64),
        );
        globals.set(
            "running_statements_queue_timeout",
            Datum::I64(admission.timeout_ms() as i64),
        );
        Ok(Arc::new(SqlEngine {
            catalog,
            globals,
            started: Instant::now(),
            questions: AtomicU64::new(0),
            processes: ProcessList::default(),
            admission,
            slow_log: SlowLog::default(),
            summaries: Summaries::default(),
            tmp_storage: Default::default(),
        }))
    }

    /// Stop the statement holding the most memory whenever the process's
    /// `allocated` bytes pass `tidb_server_memory_limit`, looking every
    /// 100 ms (TiDB's global memory control), and `release` the allocator's
    /// free pages once it has ended. The binary that chose the allocator
    /// supplies both.
    pub fn watch_memory(self: &Arc<Self>, allocated: fn() -> Option<u64>, release: fn()) {
        let engine = Arc::downgrade(self);
        let total = crate::memory::machine_memory();
        tokio::spawn(async move {
            let mut victim = None;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                let Some(bytes) = allocated() else {
                    continue;
                };
                let globals = &engine.globals;
                let limit = (globals.get("tidb_server_memory_limit"))
                    .and_then(|v| {
                        crate::memory::server_limit(&crate::expr::cast::to_text(&v), total)
                    })
                    .unwrap_or(0);
                let min = match globals.get("tidb_server_memory_limit_sess_min_size") {
                    Some(Datum::I64(n)) => n.max(0) as usize,
                    _ => crate::memory::DEFAULT_SESSION_MIN as usize,
                };
                if crate::memory::enforce_server_limit(
                    &engine.processes,
                    bytes,
                    limit,
                    min,
                    &mut victim,
                ) {
                    release();
                }
            }
        });
    }

    /// The catalog: the schema and the cluster's client.
    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The node's slow query log (see `slow_log`).
    pub fn slow_log(&self) -> &SlowLog {
        &self.slow_log
    }

    /// Where statements past their memory quota put what they hold.
    pub fn tmp_storage(&self) -> &crate::memory::TmpStorage {
        &self.tmp_storage
    }

    /// A new session for connection `id` of `user` from `host`.
    pub fn session(self: &Arc<Self>, id: u32, user: &str, host: &str) -> Session {
        metrics::CONNECTIONS.inc();
        let mut session = Session {
            engine: self.clone(),
            process: self.processes.register(id, user, host),
            id,
            database: None,
            txn: None,
            explicit: false,
            txn_state: TxnState::default(),
            next_txn: NextTxn::default(),
            savepoints: Vec::new(),
            vars: HashMap::new(),
            user_vars: HashMap::new(),
            warnings: Vec::new(),
            previous_warnings: Vec::new(),
            last_insert_id: 0,
            row_count: -1,
            prepared: HashMap::new(),
            last_plan_from_cache: false,
            pending_load: None,
            next_statement: 1,
            sql_mode: SqlMode::default(),
            temporary: TemporaryTables::default(),
            table_locks: None,
            foreign_key_checks: true,
            collation_connection: Collation::default(),
            user: user.to_owned(),
            host: host.to_owned(),
            clock: StatementClock::default(),
        };
        session.adopt_globals();
        session
    }

    /// COM_STATISTICS text.
    pub fn statistics(&self) -> String {
        format!(
            "Uptime: {}  Threads: {}  Questions: {}  Slow queries: 0  Opens: 0  Flush tables: 0  Open tables: 0  Queries per second avg: {:.3}",
            self.started.elapsed().as_secs(),
            self.processes.len(),
            self.questions.load(Ordering::Relaxed),
            self.questions.load(Ordering::Relaxed) as f64
                / self.started.elapsed().as_secs_f64().max(1.0)
        )
    }
}

struct PreparedStatement {
    /// The text, for the process list.
    sql: Arc<str>,
    /// Its digest, for the statement summary.
    digest: Digest,
    statement: Statement,
    info: Prepared,
    plan: PlanSlot,
}

/// What a statement runs with: the values of its `?` placeholders, for
/// a prepared statement the slot that caches its plan, and the outlet its
/// result set may stream through (only a client's own statement has one).
#[derive(Clone, Copy, Default)]
struct Bindings<'p> {
    params: &'p [Datum],
    plan: Option<&'p PlanSlot>,
    out: Option<&'p Outlet>,
}

/// The isolation levels Basalt runs. READ UNCOMMITTED and SERIALIZABLE
/// are refused (TiDB's 8048), never run as another level, unless
/// `tidb_skip_isolation_level_check` says to run them as REPEATABLE READ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Isolation {
    /// Each statement reads a new snapshot (TiDB's RC in pessimistic mode).
    ReadCommitted,
    /// Plain reads see one snapshot; writes and locking reads read and
    /// lock current rows, as InnoDB's and TiDB's pessimistic REPEATABLE
    /// READ do. With `innodb_snapshot_isolation` (MariaDB's variable),
    /// snapshot isolation: writing or locking a row changed after the
    /// snapshot fails the transaction (1020) unless the snapshot can move,
    /// so no update is lost and no read skews.
    #[default]
    RepeatableRead,
}

impl Isolation {
    /// The level a validated `transaction_isolation` value names.
    fn of(value: &str) -> Self {
        if value.eq_ignore_ascii_case("READ-COMMITTED") {
            Isolation::ReadCommitted
        } else {
            Isolation::RepeatableRead
        }
    }
}

/// The open transaction's characteristics.
#[derive(Clone, Copy, Debug, Default)]
struct TxnState {
    isolation: Isolation,
    /// `innodb_snapshot_isolation` when it began.
    snapshot_isolation: bool,
    /// `READ ONLY`: writes fail with 1792.
    read_only: bool,
    /// At REPEATABLE READ, the snapshot its plain reads see: fixed by the
    /// first one, at the transaction's start unless a statement had read
    /// current data before (as InnoDB makes its read view at the first
    /// consistent read). From then on rows are locked against it.
    snapshot: Option<u64>,
    /// A write or locking read has read current data (at a `for_update_ts`).
    current_read: bool,
}

/// What `SET TRANSACTION` (no scope) asked of the next transaction.
#[derive(Clone, Copy, Debug, Default)]
struct NextTxn {
    isolation: Option<&'static str>,
    read_only: Option<bool>,
}

/// One connection's session.
pub struct Session {
    engine: Arc<SqlEngine>,
    /// This connection's entry in the process list.
    process: Arc<Process>,
    id: u32,
    database: Option<String>,
    txn: Option<Transaction>,
    /// The transaction was opened by BEGIN (or autocommit=0), not by a statement.
    explicit: bool,
    /// What the open transaction is (isolation, access mode, snapshot).
    txn_state: TxnState,
    /// `SET TRANSACTION` without a scope: the next transaction's
    /// characteristics.
    next_txn: NextTxn,
    /// SAVEPOINTs, oldest first, each with the start timestamp of its
    /// transaction: those of an ended transaction are gone.
    savepoints: Vec<(String, u64, Savepoint)>,
    vars: HashMap<String, Datum>,
    user_vars: HashMap<String, Datum>,
    warnings: Vec<Warning>,
    /// The previous statement's diagnostics while a statement runs:
    /// `@@warning_count` and `@@error_count` count them, as in MySQL.
    previous_warnings: Vec<Warning>,
    last_insert_id: u64,
    /// ROW_COUNT(): the previous statement's affected rows, -1 after a
    /// result set or an error.
    row_count: i64,
    prepared: HashMap<u32, Arc<PreparedStatement>>,
    /// Whether the last executed prepared statement reused a cached plan.
    last_plan_from_cache: bool,
    /// A LOAD DATA LOCAL INFILE waiting for the client's file.
    pending_load: Option<crate::load_data::LoadData>,
    next_statement: u32,
    sql_mode: SqlMode,
    /// The connection's temporary tables: dropped with it.
    temporary: TemporaryTables,
    /// The tables LOCK TABLES locked, until UNLOCK TABLES.
    table_locks: Option<TableLocks>,
    /// `foreign_key_checks`, kept beside its variable so that writes read a
    /// field, not the variables' map.
    foreign_key_checks: bool,
    /// `collation_connection`, the collation of string literals.
    collation_connection: Collation,
    user: String,
    host: String,
    /// Where the current statement's time went, for the slow log.
    clock: StatementClock,
}

/// Run a connection's whole life with the per-task clock its session's
/// statements read: the time they wait on stores and PD, for the slow log.
pub fn connection<F: std::future::Future>(work: F) -> impl std::future::Future<Output = F::Output> {
    kv_client::metrics::with_kv_clock(work)
}

/// The parts of a statement's time the slow log breaks out.
#[derive(Default)]
struct StatementClock {
    /// Parsing its COM_QUERY text (the first statement of a text carries it).
    parse: Duration,
    /// Planning a query.
    compile: Duration,
    /// Committing.
    commit: Duration,
    /// The transaction it read or wrote in.
    txn_start_ts: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.engine.processes.unregister(&self.process);
        metrics::CONNECTIONS.dec();
    }
}

/// The position MySQL quotes in a 1064 error: the text from where the parser
/// gave up.
fn parse_error(sql: &str, e: sqlparser::parser::ParserError) -> SqlError {
    let message = e.to_string();
    let pos = message.rfind("Line: ").and_then(|at| {
        let rest = &message[at + 6..];
        let (line, rest) = rest.split_once(", Column: ")?;
        let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some((line.parse::<usize>().ok()?, column.parse::<usize>().ok()?))
    });
    match pos {
        Some((line, column)) => {
            let text_line = sql.lines().nth(line.saturating_sub(1)).unwrap_or("");
            // sqlparser points at the start of the offending token.
            let start = text_line
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(text_line.len(), |(i, _)| i);
            let rest_of_line = &text_line[start..];
            let mut near = rest_of_line.to_string();
            for l in sql.lines().skip(line) {
                near.push('\n');
                near.push_str(l);
            }
            error::syntax(&near, line as u64)
        }
        None => error::syntax(sql.trim(), 1),
    }
}

/// Prepare statement text for the parser, as MySQL's own lexer would see
/// it: `/*!NNNNN ... */` executable comments are unwrapped (their content is
/// SQL: mysqldump's `SET` lines, sysbench's `ENGINE` clause), and `?`
/// placeholders are numbered in text order (`?0`, `?1`, ...), and the
/// operator `a MOD b` becomes `a % b` (and `UPDATE IGNORE`, `UPDATE OR
/// IGNORE`; the commas between an UPDATE's tables, `CROSS JOIN`, which
/// sqlparser reads as MySQL reads `UPDATE a, b SET ...`). Quoted strings,
/// quoted names and ordinary comments are left alone. Returns the text and the
/// number of placeholders: binding visits clauses in its own order, so the
/// numbers are what ties each placeholder to its parameter.
fn preprocess(sql: &str) -> (String, u16) {
    // MySQL's `UPDATE IGNORE` is sqlparser's `UPDATE OR IGNORE`.
    let rewritten = strip_word(sql.trim_start(), "UPDATE")
        .and_then(|rest| strip_word(rest, "IGNORE"))
        .map(|rest| format!("UPDATE OR IGNORE {rest}"));
    let sql = rewritten.as_deref().unwrap_or(sql);
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut params: u16 = 0;
    let mut in_executable_comment = false;
    // Inside an UPDATE's table list: the parentheses open there.
    let mut update_tables: Option<u32> = None;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    let word_start = |i: usize| {
        !at(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || "_$.`@".contains(p))
    };
    while let Some(c) = at(i) {
        match c {
            '\'' | '"' | '`' => {
                out.push(c);
                i += 1;
                while let Some(d) = at(i) {
                    out.push(d);
                    i += 1;
                    if d == '\\' && c != '`' {
                        if let Some(e) = at(i) {
                            out.push(e);
                            i += 1;
                        }
                    } else if d == c {
                        if at(i) == Some(c) {
                            out.push(c);
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            '/' if at(i + 1) == Some('*') && at(i + 2) == Some('!') => {
                i += 3;
                while at(i).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                }
                out.push(' ');
                in_executable_comment = true;
            }
            '*' if in_executable_comment && at(i + 1) == Some('/') => {
                out.push(' ');
                in_executable_comment = false;
                i += 2;
            }
            '/' if at(i + 1) == Some('*') => {
                let end = (i + 2..chars.len().saturating_sub(1))
                    .find(|&k| chars[k] == '*' && chars[k + 1] == '/')
                    .map_or(chars.len(), |k| k + 2);
                out.extend(&chars[i..end]);
                i = end;
            }
            '#' => {
                let end = (i..chars.len())
                    .find(|&k| chars[k] == '\n')
                    .unwrap_or(chars.len());
                out.extend(&chars[i..end]);
                i = end;
            }
            '-' if at(i + 1) == Some('-') && at(i + 2).is_none_or(char::is_whitespace) => {
                let end = (i..chars.len())
                    .find(|&k| chars[k] == '\n')
                    .unwrap_or(chars.len());
                out.extend(&chars[i..end]);
                i = end;
            }
            // `a MOD b`, which sqlparser lacks, is `a % b` (MOD(a, b) stays).
            'm' | 'M'
                if !at(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_alphanumeric() || "_$.`@".contains(p))
                    && at(i + 1).is_some_and(|c| c.eq_ignore_ascii_case(&'o'))
                    && at(i + 2).is_some_and(|c| c.eq_ignore_ascii_case(&'d'))
                    && !at(i + 3).is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
                    && chars[i + 3..].iter().find(|c| !c.is_whitespace()) != Some(&'(') =>
            {
                out.push('%');
                i += 3;
            }
            // `LOCK IN SHARE MODE`, which sqlparser lacks, is `FOR SHARE`.
            'l' | 'L'
                if !at(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_alphanumeric() || "_$.`@".contains(p))
                    && let Some(len) = words_at(&chars[i..], &["LOCK", "IN", "SHARE", "MODE"]) =>
            {
                out.push_str("FOR SHARE");
                i += len;
            }
            'u' | 'U'
                if update_tables.is_none()
                    && word_start(i)
                    && matches!(out.trim_end().chars().last(), None | Some(';'))
                    && let Some(len) = words_at(&chars[i..], &["UPDATE"]) =>
            {
                update_tables = Some(0);
                out.extend(&chars[i..i + len]);
                i += len;
            }
            's' | 'S'
                if update_tables == Some(0)
                    && word_start(i)
                    && let Some(len) = words_at(&chars[i..], &["SET"]) =>
            {
                update_tables = None;
                out.extend(&chars[i..i + len]);
                i += len;
            }
            '(' | ')' | ',' | ';' if update_tables.is_some() => {
                let depth = update_tables.unwrap_or(0);
                update_tables = match c {
                    '(' => Some(depth + 1),
                    ')' => Some(depth.saturating_sub(1)),
                    ';' if depth == 0 => None,
                    _ => Some(depth),
                };
                if c == ',' && depth == 0 {
                    out.push_str(" CROSS JOIN");
                    if !at(i + 1).is_some_and(char::is_whitespace) {
                        out.push(' ');
                    }
                } else {
                    out.push(c);
                }
                i += 1;
            }
            '?' => {
                out.push('?');
                out.push_str(&params.to_string());
                params = params.saturating_add(1);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, params)
}

/// The length of `words` (any case, blanks between) at the start of `chars`,
/// if they are there as whole words.
fn words_at(chars: &[char], words: &[&str]) -> Option<usize> {
    let mut i = 0;
    for (n, word) in words.iter().enumerate() {
        if n > 0 {
            let blanks = chars[i..].iter().take_while(|c| c.is_whitespace()).count();
            if blanks == 0 {
                return None;
            }
            i += blanks;
        }
        let end = i + word.len();
        let here = chars.get(i..end)?;
        if !here
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        {
            return None;
        }
        i = end;
    }
    let more = chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '$');
    (!more).then_some(i)
}

/// `s` after its leading keyword `word` (any case) and the blanks after it.
fn strip_word<'s>(s: &'s str, word: &str) -> Option<&'s str> {
    let rest = s.get(word.len()..)?;
    (s[..word.len()].eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace))
        .then(|| rest.trim_start())
}

/// Parse statements, with placeholders numbered in text order.
fn parse(sql: &str) -> Result<(Vec<Statement>, u16), SqlError> {
    let (numbered, params) = preprocess(sql);
    Ok((parse_preprocessed(sql, &numbered)?, params))
}

/// Parse `sql` as [`preprocess`] rewrote it into `numbered`.
fn parse_preprocessed(sql: &str, numbered: &str) -> Result<Vec<Statement>, SqlError> {
    let mut statements =
        Parser::parse_sql(&MySqlDialect {}, numbered).map_err(|e| parse_error(sql, e))?;
    crate::binary_prefix::bind_tightly(&mut statements, numbered);
    Ok(statements)
}

/// The flags `sql_mode` accepts (MySQL 8's, combination modes included).
/// sql_mode flags in MySQL's order (their bit order), which `@@sql_mode`
/// lists them in whatever order they were set.
const SQL_MODES: &[&str] = &[
    "REAL_AS_FLOAT",
    "PIPES_AS_CONCAT",
    "ANSI_QUOTES",
    "IGNORE_SPACE",
    "ONLY_FULL_GROUP_BY",
    "NO_UNSIGNED_SUBTRACTION",
    "NO_DIR_IN_CREATE",
    "ANSI",
    "NO_AUTO_VALUE_ON_ZERO",
    "NO_BACKSLASH_ESCAPES",
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ALLOW_INVALID_DATES",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "TRADITIONAL",
    "HIGH_NOT_PRECEDENCE",
    "NO_ENGINE_SUBSTITUTION",
    "PAD_CHAR_TO_FULL_LENGTH",
    "TIME_TRUNCATE_FRACTIONAL",
];

/// The flags a combination mode sets besides itself.
const TRADITIONAL: &[&str] = &[
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "NO_ENGINE_SUBSTITUTION",
];

/// A sql_mode value as MySQL stores it: flags upper-cased, combination
/// modes expanded, in MySQL's order, each once.
fn canonical_sql_mode(text: &str) -> String {
    let named: Vec<String> = text
        .split(',')
        .map(|f| f.trim().to_uppercase())
        .filter(|f| !f.is_empty())
        .collect();
    let traditional = named.iter().any(|f| f == "TRADITIONAL");
    SQL_MODES
        .iter()
        .filter(|m| named.iter().any(|f| f == *m) || (traditional && TRADITIONAL.contains(m)))
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

fn sql_mode_from(text: &str) -> SqlMode {
    let has = |flag: &str| text.split(',').any(|f| f.trim().eq_ignore_ascii_case(flag));
    SqlMode {
        strict: has("STRICT_TRANS_TABLES") || has("STRICT_ALL_TABLES") || has("TRADITIONAL"),
        error_for_division_by_zero: has("ERROR_FOR_DIVISION_BY_ZERO") || has("TRADITIONAL"),
        no_zero_date: has("NO_ZERO_DATE") || has("TRADITIONAL"),
        no_zero_in_date: has("NO_ZERO_IN_DATE") || has("TRADITIONAL"),
        only_full_group_by: has("ONLY_FULL_GROUP_BY"),
        pipes_as_concat: has("PIPES_AS_CONCAT") || has("ANSI"),
        no_auto_value_on_zero: has("NO_AUTO_VALUE_ON_ZERO"),
    }
}

/// sql_mode flags Basalt does not act on: setting one is refused, not
/// stored and ignored (ANSI implies REAL_AS_FLOAT, ANSI_QUOTES and
/// IGNORE_SPACE).
const UNSUPPORTED_SQL_MODES: &[&str] = &[
    "ALLOW_INVALID_DATES",
    "ANSI",
    "ANSI_QUOTES",
    "HIGH_NOT_PRECEDENCE",
    "IGNORE_SPACE",
    "NO_BACKSLASH_ESCAPES",
    "NO_UNSIGNED_SUBTRACTION",
    "PAD_CHAR_TO_FULL_LENGTH",
    "REAL_AS_FLOAT",
    "TIME_TRUNCATE_FRACTIONAL",
];

/// Session variables Basalt keeps but does not act on, with the values
/// that mean what Basalt does anyway; any other value is refused.
const FIXED_VARIABLES: &[(&str, &[&str])] = &[
    (
        "time_zone",
        &[
            "SYSTEM", "UTC", "+00:00", "+0:00", "-00:00", "GMT", "Etc/UTC",
        ],
    ),
    ("sql_select_limit", &["18446744073709551615", "DEFAULT"]),
    ("sql_safe_updates", &["0", "OFF"]),
    ("div_precision_increment", &["4"]),
    ("auto_increment_increment", &["1"]),
    ("auto_increment_offset", &["1"]),
    ("sql_auto_is_null", &["0", "OFF"]),
    ("character_set_client", &["utf8mb4", "utf8", "utf8mb3"]),
    ("character_set_connection", &["utf8mb4", "utf8", "utf8mb3"]),
    (
        "character_set_results",
        &["utf8mb4", "utf8", "utf8mb3", "NULL", "binary"],
    ),
];

/// `transaction_isolation`'s values, in the order of their numbers.
const ISOLATION_LEVELS: [&str; 4] = [
    "READ-UNCOMMITTED",
    "READ-COMMITTED",
    "REPEATABLE-READ",
    "SERIALIZABLE",
];

/// How locking a locking read's rows went.
enum Locked {
    /// Every row is locked.
    All,
    /// A row changed after the lock's timestamp.
    Changed,
    /// Some `SKIP LOCKED` rows were locked by others.
    Skipped,
}

/// 1792: a write in a READ ONLY transaction.
fn read_only_transaction() -> SqlError {
    SqlError::new(
        1792,
        "25006",
        "Cannot execute statement in a READ ONLY transaction.",
    )
}

/// Under snapshot isolation a transaction wrote or locked a row that
/// changed after its snapshot while something it read changed too:
/// MariaDB's ER_CHECKREAD (1020). The transaction is rolled back, as after
/// a deadlock, rather than lose the other update.
fn changed_since_snapshot() -> SqlError {
    SqlError::new(
        1020,
        "HY000",
        "Record has changed since last read in table: restart the transaction",
    )
}

/// Whether `statement` is a locking read (`SELECT ... FOR UPDATE`,
/// `FOR SHARE`, or a parenthesised one).
fn is_locking_read(statement: &Statement) -> bool {
    fn locks(q: &ast::Query) -> bool {
        !q.locks.is_empty() || matches!(q.body.as_ref(), ast::SetExpr::Query(inner) if locks(inner))
    }
    matches!(statement, Statement::Query(q) if locks(q))
}

fn is_write(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_)
    )
}

fn ok() -> Output {
    Output::Affected {
        rows: 0,
        last_insert_id: 0,
        info: String::new(),
    }
}

impl Session {
    /// The connection id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// SERVER_STATUS flags for OK packets.
    pub fn status_flags(&self) -> u16 {
        let mut flags = 0;
        if self.autocommit() {
            flags |= STATUS_AUTOCOMMIT;
        }
        if self.txn.is_some() {
            flags |= STATUS_IN_TRANS;
        }
        flags
    }

    /// Warnings of the last statement.
    pub fn warning_count(&self) -> u16 {
        self.warnings.len().min(u16::MAX as usize) as u16
    }

    fn autocommit(&self) -> bool {
        !matches!(self.sysvar("autocommit", false), Ok(Datum::I64(0)))
    }

    fn sysvar(&self, name: &str, global: bool) -> Result<Datum, SqlError> {
        match name {
            "warning_count" => return Ok(Datum::I64(self.previous_warnings.len() as i64)),
            "error_count" => {
                return Ok(Datum::I64(
                    self.previous_warnings
                        .iter()
                        .filter(|w| w.level == Level::Error)
                        .count() as i64,
                ));
            }
            "last_insert_id" | "identity" => return Ok(Datum::U64(self.last_insert_id)),
            "last_plan_from_cache" => return Ok(Datum::I64(self.last_plan_from_cache as i64)),
            // The default database's, as MySQL sets it at USE.
            "collation_database" if !global => {
                if let Some(db) = self
                    .database
                    .as_ref()
                    .and_then(|db| self.engine.catalog.snapshot().database(db).cloned())
                {
                    return Ok(Datum::Bytes(db.collation.name().as_bytes().to_vec()));
                }
            }
            _ => {}
        }
        if !global && let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        self.engine.globals.get(name).ok_or_else(|| {
            SqlError::new(1193, "HY000", format!("Unknown system variable '{name}'"))
        })
    }

    /// COM_QUERY: run each statement; stop at the first error. Several
    /// statements need the client's multi-statements capability. The first
    /// statement's result set streams through `out` when given (see
    /// [`Output::Sent`]): later ones are returned whole, since the results
    /// before them are written only once the text has run.
    pub async fn query(
        &mut self,
        sql: &str,
        multi_statements: bool,
        out: Option<&Outlet>,
    ) -> Vec<Result<Output, SqlError>> {
        self.engine.questions.fetch_add(1, Ordering::Relaxed);
        self.process.begin("Query", Arc::from(sql));
        let results = self.query_statements(sql, multi_statements, out).await;
        self.process.end();
        results
    }

    async fn query_statements(
        &mut self,
        sql: &str,
        multi_statements: bool,
        out: Option<&Outlet>,
    ) -> Vec<Result<Output, SqlError>> {
        let parsing = Instant::now();
        let (numbered, _) = preprocess(sql);
        if let Some(statement) = text_statement::recognise(&numbered) {
            self.warnings.clear();
            let result = match statement {
                Ok(statement) => {
                    self.clock = StatementClock {
                        parse: parsing.elapsed(),
                        ..StatementClock::default()
                    };
                    let engine = self.engine.clone();
                    let (kind, waits) = (StatementType::of_text(&statement), self.txn.is_none());
                    let (result, ran) = admission::run_statement(
                        &engine.admission,
                        kind,
                        waits,
                        std::pin::pin!(self.run_text(statement)),
                    )
                    .await;
                    self.finished(sql, &statement_summary::digest(sql), kind, &result, ran);
                    result
                }
                Err(e) => Err(e),
            };
            self.record_diagnostics(&result);
            return vec![result];
        }
        let statements = match parse_preprocessed(sql, &numbered) {
            Ok(s) if s.is_empty() => {
                return vec![Err(SqlError::new(1065, "42000", "Query was empty"))];
            }
            Ok(s) if s.len() > 1 && !multi_statements => {
                return vec![Err(error::syntax(
                    sql.split_once(';')
                        .map_or("", |(_, rest)| rest.trim_start()),
                    1,
                ))];
            }
            Ok(s) => s,
            Err(e) => {
                self.warnings = vec![Warning {
                    level: Level::Error,
                    code: e.code,
                    message: e.message.clone(),
                }];
                return vec![Err(e)];
            }
        };
        self.clock.parse = parsing.elapsed();
        let mut results = Vec::with_capacity(statements.len());
        for (i, statement) in statements.iter().enumerate() {
            let args = Bindings {
                out: out.filter(|_| i == 0),
                ..Bindings::default()
            };
            let result = match self.process.kill_state() {
                Kill::None => {
                    // A text of one statement is its own sample; several
                    // are told apart by their rendering.
                    let digest = match statements.len() {
                        1 => statement_summary::digest(sql),
                        _ => statement_summary::digest(&statement.to_string()),
                    };
                    self.run(statement, args, sql, &digest).await
                }
                _ => Err(error::query_interrupted()),
            };
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        results
    }

    /// COM_INIT_DB / USE.
    pub async fn use_database(&mut self, db: &str) -> Result<(), SqlError> {
        let schema = self.engine.catalog.snapshot();
        let found = schema
            .database(db)
            .ok_or_else(|| error::unknown_database(db))?;
        self.database = Some(found.name.clone());
        self.process.set_database(self.database.as_deref());
        Ok(())
    }

    /// COM_STMT_PREPARE.
    pub async fn prepare(&mut self, sql: &str) -> Result<Prepared, SqlError> {
        let (mut statements, params) = parse(sql)?;
        if statements.len() != 1 {
            return Err(SqlError::new(
                1064,
                "42000",
                "Only one statement can be prepared at a time",
            ));
        }
        let statement = statements.remove(0);
        // Result columns are known once the statement runs; clients get them
        // again with every execution.
        let columns: Arc<[ColumnInfo]> = match &statement {
            Statement::Query(q) => {
                let nulls = vec![Datum::Null; params as usize];
                self.describe(q, &nulls)
                    .unwrap_or_else(|_| Arc::from(Vec::new()))
            }
            _ => Arc::from(Vec::new()),
        };
        let id = self.next_statement;
        self.next_statement = self.next_statement.wrapping_add(1).max(1);
        let info = Prepared {
            id,
            params,
            columns,
        };
        self.prepared.insert(
            id,
            Arc::new(PreparedStatement {
                sql: Arc::from(sql),
                digest: statement_summary::digest(sql),
                statement,
                info: info.clone(),
                plan: PlanSlot::default(),
            }),
        );
        Ok(info)
    }

    /// COM_STMT_EXECUTE. Its result set streams through `out` when given.
    pub async fn execute(
        &mut self,
        id: u32,
        params: Vec<Datum>,
        out: Option<&Outlet>,
    ) -> Result<Output, SqlError> {
        self.engine.questions.fetch_add(1, Ordering::Relaxed);
        let prepared = match self.prepared.get(&id) {
            Some(p) if p.info.params as usize == params.len() => p.clone(),
            Some(_) => {
                return Err(SqlError::new(
                    1210,
                    "HY000",
                    "Incorrect arguments to mysqld_stmt_execute",
                ));
            }
            None => {
                return Err(SqlError::new(
                    1243,
                    "HY000",
                    format!(
                        "Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"
                    ),
                ));
            }
        };
        let bindings = Bindings {
            params: &params,
            plan: Some(&prepared.plan),
            out,
        };
        self.process.begin("Execute", prepared.sql.clone());
        let result = self
            .run(
                &prepared.statement,
                bindings,
                &prepared.sql,
                &prepared.digest,
            )
            .await;
        self.process.end();
        result
    }

    /// Resolves once `KILL CONNECTION` named this session: the server then
    /// closes the connection.
    pub async fn killed(&self) {
        self.process.connection_killed().await
    }

    /// COM_STMT_CLOSE.
    pub fn close_statement(&mut self, id: u32) {
        self.prepared.remove(&id);
    }

    /// COM_RESET_CONNECTION: as if newly connected, keeping the login.
    pub async fn reset(&mut self) {
        self.txn = None;
        self.explicit = false;
        self.savepoints.clear();
        self.vars.clear();
        self.user_vars.clear();
        self.warnings.clear();
        self.prepared.clear();
        self.last_plan_from_cache = false;
        self.last_insert_id = 0;
        self.table_locks = None;
        self.adopt_globals();
    }

    /// Take the variables that statements read from fields (sql_mode,
    /// foreign_key_checks, collation_connection) from their global values,
    /// as a new MySQL session does.
    fn adopt_globals(&mut self) {
        let globals = &self.engine.globals;
        let text_of = |name| {
            globals
                .get(name)
                .map_or(String::new(), |d| crate::expr::cast::to_text(&d))
        };
        self.sql_mode = sql_mode_from(&text_of("sql_mode"));
        self.foreign_key_checks = globals
            .get("foreign_key_checks")
            .as_ref()
            .and_then(switch)
            .unwrap_or(true);
        self.collation_connection =
            Collation::from_name(&text_of("collation_connection")).unwrap_or_default();
    }

    /// COM_FIELD_LIST.
    pub async fn field_list(&mut self, table: &str) -> Result<Vec<ColumnInfo>, SqlError> {
        let db = self
            .database
            .clone()
            .ok_or_else(error::no_database_selected)?;
        let schema = self.engine.catalog.snapshot();
        let def = schema
            .table(&db, table)
            .ok_or_else(|| error::no_such_table(&db, table))?;
        Ok((0..def.columns.len())
            .map(|i| crate::types::table_column_info(&db, &def.name, def, i))
            .collect())
    }

    fn eval_context<'v>(
        &'v self,
        user_vars: &'v HashMap<String, Datum>,
        params: &'v [Datum],
        in_write: bool,
    ) -> EvalContext<'v> {
        EvalContext {
            sql_mode: self.sql_mode,
            in_write,
            now: now(),
            user_vars,
            warnings: Vec::new(),
            last_insert_id: self.last_insert_id,
            row_count: self.row_count,
            database: self.database.clone(),
            outer_rows: Vec::new(),
            params,
            params_read: false,
            process: Some(&self.process),
            analysis: None,
            row_locks: None,
            foreign_key_checks: self.foreign_key_checks,
            collation_connection: self.collation_connection,
            memory: crate::memory::StatementMemory::new(
                self.int_sysvar("tidb_mem_quota_query")
                    .unwrap_or(crate::memory::DEFAULT_QUOTA),
                Some(&self.process),
            )
            .spilling_to(&self.engine.tmp_storage),
            // MySQL bounds only read-only SELECTs.
            deadline: match self.int_sysvar("max_execution_time") {
                Some(ms) if ms > 0 && !in_write => {
                    Some(std::time::Instant::now() + Duration::from_millis(ms as u64))
                }
                _ => None,
            },
            work: Default::default(),
        }
    }

    /// A numeric system variable's value in this session.
    fn int_sysvar(&self, name: &str) -> Option<i64> {
        match self.sysvar(name, false) {
            Ok(Datum::I64(n)) => Some(n),
            Ok(Datum::U64(n)) => Some(n.min(i64::MAX as u64) as i64),
            _ => None,
        }
    }

    fn describe(
        &self,
        query: &ast::Query,
        params: &[Datum],
    ) -> Result<Arc<[ColumnInfo]>, SqlError> {
        Ok(self.shape(query, params)?.columns.into())
    }

    /// The plan of `query`, for the columns and types of its result.
    fn shape(
        &self,
        query: &ast::Query,
        params: &[Datum],
    ) -> Result<crate::plan::SelectPlan, SqlError> {
        let schema = self.engine.catalog.snapshot();
        let mut ctx = self.eval_context(&self.user_vars, params, false);
        let lookup = |name: &str, global: bool| self.sysvar(name, global);
        let mut planner =
            Planner::new(&schema, self.database.as_deref(), params, &mut ctx, &lookup);
        planner.temporary = Some(&self.temporary);
        planner.table_locks = self.table_locks.as_ref();
        planner.plan_query(query)
    }

    /// CREATE [TEMPORARY] TABLE t [(definitions)] [options] [AS] SELECT ...:
    /// MySQL's table of the declared columns, then one for each result
    /// column (its declared definition, or one derived from the query by
    /// [`ddl::define::table_def_from_query`]), keys and options as declared; then `INSERT INTO t (result columns)
    /// SELECT ...`. The result columns are rendered as CREATE TABLE text
    /// and parsed back, so that declared and derived columns take the one
    /// path of CREATE TABLE. The table goes again when its rows cannot be
    /// written, as MySQL's (atomic since 8.0.21) leaves nothing.
    async fn create_table_as(&mut self, ct: &ast::CreateTable) -> Result<Output, SqlError> {
        let Some(query) = &ct.query else {
            return Err(error::internal("CREATE TABLE ... AS without a query"));
        };
        if ct.like.is_some() {
            return Err(error::unsupported("CREATE TABLE ... LIKE ... AS SELECT"));
        }
        let (db, name) = table_name(&ct.name, self.database.as_deref())?;
        let shape = self.shape(query, &[])?;
        let schema = self.engine.catalog.snapshot();
        let database = schema
            .database(&db)
            .ok_or_else(|| error::unknown_database(&db))?;
        let source = |info: &ColumnInfo| {
            let table = schema.table(&info.schema, &info.org_table)?;
            table
                .column(&info.org_name)
                .map(|pos| table.columns[pos].clone())
        };
        let declared = |name: &str| {
            ct.columns
                .iter()
                .any(|c| c.name.value.eq_ignore_ascii_case(name))
        };
        // Declared columns keep their declared types.
        let (columns, types): (Vec<ColumnInfo>, Vec<SqlType>) = shape
            .columns
            .iter()
            .zip(&shape.types)
            .filter(|(c, _)| !declared(&c.name))
            .map(|(c, t)| (c.clone(), t.clone()))
            .unzip();
        let mut derived =
            ddl::define::table_def_from_query(database, &name, query, &columns, &types, source)?;
        // Every text column names its collation: the table's may differ.
        derived.collation = Collation::Binary;
        let derived_sql = show::create_table_sql(&db, &derived, None);
        let derived_columns = match parse(&derived_sql)?.0.pop() {
            Some(Statement::CreateTable(parsed)) => parsed.columns,
            _ => return Err(error::internal("CREATE TABLE ... AS SELECT's columns")),
        };
        // MySQL's order: the declared columns the query does not fill, then
        // the query's, each as declared if it is.
        let mut definition = ct.clone();
        definition.query = None;
        let filled = |name: &str| {
            shape
                .columns
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(name))
        };
        definition.columns.retain(|c| !filled(&c.name.value));
        let mut derived_columns = derived_columns.into_iter();
        for column in &shape.columns {
            let as_declared = ct
                .columns
                .iter()
                .find(|c| c.name.value.eq_ignore_ascii_case(&column.name));
            match as_declared {
                Some(c) => definition.columns.push(c.clone()),
                None => definition.columns.extend(derived_columns.next()),
            }
        }
        let exists = if ct.temporary {
            self.temporary.get(&db, &name).is_some()
        } else {
            schema.table(&db, &name).is_some()
        };
        if exists && ct.if_not_exists {
            self.warnings.push(Warning {
                level: Level::Note,
                code: 1050,
                message: format!("Table '{name}' already exists"),
            });
            return Ok(ok());
        }
        definition.if_not_exists = false;
        let definition = Statement::CreateTable(definition);
        if ct.temporary {
            self.temporary_ddl(&definition).await?;
        } else {
            self.ddl(async |catalog, ctx| ddl::execute(catalog, &definition, ctx).await)
                .await?;
        }
        let quote = |s: &str| format!("`{}`", s.replace('`', "``"));
        let columns: Vec<String> = shape.columns.iter().map(|c| quote(&c.name)).collect();
        let insert = format!(
            "INSERT INTO {}.{} ({}) {query}",
            quote(&db),
            quote(&name),
            columns.join(", ")
        );
        let filled = match parse(&insert) {
            Ok((statements, _)) if statements.len() == 1 => {
                let filled = self
                    .data_statement(&statements[0], Bindings::default())
                    .await;
                match filled {
                    Ok(out) if !ct.temporary => self.commit().await.map(|()| out),
                    other => other,
                }
            }
            Ok(_) => Err(error::internal("CREATE TABLE ... AS SELECT's INSERT")),
            Err(e) => Err(e),
        };
        if filled.is_err() {
            if ct.temporary {
                self.temporary.drop(&db, &name);
            } else {
                // The transaction held only the failed rows: DDL committed
                // what came before.
                self.txn = None;
                self.explicit = false;
                self.engine.catalog.drop_table(&db, &name).await?;
            }
        }
        filled
    }

    /// EXPLAIN of a query, UPDATE, DELETE or INSERT: its plan, not run.
    fn explain(&self, statement: &Statement) -> Result<Output, SqlError> {
        let schema = self.engine.catalog.snapshot();
        let mut ctx = self.eval_context(&self.user_vars, &[], false);
        let lookup = |name: &str, global: bool| self.sysvar(name, global);
        let mut planner = Planner::new(&schema, self.database.as_deref(), &[], &mut ctx, &lookup);
        planner.temporary = Some(&self.temporary);
        planner.table_locks = self.table_locks.as_ref();
        match statement {
            Statement::Query(q) => {
                let planned = planner.plan_query(q)?;
                Ok(crate::explain::explain(Some(&planned.plan), None))
            }
            Statement::Insert(ins) => {
                let source = match ins.source.as_deref() {
                    Some(q) if !matches!(q.body.as_ref(), ast::SetExpr::Values(_)) => {
                        Some(planner.plan_query(q)?.plan)
                    }
                    _ => None,
                };
                Ok(crate::explain::explain(source.as_ref(), Some("Insert")))
            }
            other => match dml::explain_target(&mut planner, other)? {
                Some((plan, root)) => Ok(crate::explain::explain(Some(&plan), Some(root))),
                None => Err(error::unsupported(&format!("EXPLAIN {other}"))),
            },
        }
    }

    /// Run one statement, keeping the warnings it raised for SHOW WARNINGS.
    async fn run(
        &mut self,
        statement: &Statement,
        args: Bindings<'_>,
        text: &str,
        digest: &Digest,
    ) -> Result<Output, SqlError> {
        // Only a session outside a transaction waits for a slot (see
        // `admission`).
        let engine = self.engine.clone();
        let (kind, waits) = (StatementType::of(statement), self.txn.is_none());
        // The parse time of a COM_QUERY goes to its first statement.
        self.clock = StatementClock {
            parse: std::mem::take(&mut self.clock.parse),
            ..StatementClock::default()
        };
        let (result, ran) = admission::run_statement(
            &engine.admission,
            kind,
            waits,
            std::pin::pin!(self.dispatch(statement, args)),
        )
        .await;
        self.finished(text, digest, kind, &result, ran);
        self.row_count = match &result {
            Ok(Output::Affected { rows, .. }) => *rows as i64,
            _ => -1,
        };
        // Reading the diagnostics must not add to them. Only checked for a
        // failed statement: rendering the statement is not free.
        let keeps_diagnostics = result.is_err()
            && (matches!(statement, Statement::ShowVariable { .. })
                || matches!(statement, Statement::Query(q) if q.to_string().to_lowercase().contains("@@warning_count")));
        if !keeps_diagnostics {
            self.record_diagnostics(&result);
        }
        result
    }

    /// Record a statement that ran (`ran`: not refused admission) in the
    /// statement summary, and in the slow log if it ran past the threshold.
    fn finished(
        &self,
        text: &str,
        digest: &Digest,
        kind: StatementType,
        result: &Result<Output, SqlError>,
        ran: Option<Ran>,
    ) {
        let Some(ran) = ran else {
            return;
        };
        let result_rows = match result {
            Ok(Output::Rows { rows, .. }) => rows.len() as u64,
            Ok(Output::Affected { rows, .. } | Output::Sent { rows }) => *rows,
            _ => 0,
        };
        self.engine.summaries.record(
            digest,
            &statement_summary::Run {
                kind,
                schema: self.database.as_deref(),
                took: ran.took + self.clock.parse,
                rows: result_rows,
                failed: result.is_err(),
                sample: text,
                ended: ran.ended,
            },
        );
        if !self.engine.slow_log.is_slow(ran.took) {
            return;
        }
        let end_unix_micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        self.engine.slow_log.write(&slow_log::Entry {
            end_unix_micros,
            txn_start_ts: self.clock.txn_start_ts,
            user: &self.user,
            host: &self.host,
            conn_id: self.id,
            query_time: ran.took + self.clock.parse,
            parse_time: self.clock.parse,
            compile_time: self.clock.compile,
            kv_time: ran.kv,
            commit_time: self.clock.commit,
            db: self.database.as_deref(),
            result_rows,
            succ: result.is_ok(),
            query: text,
        });
    }

    /// Keep a statement's error for SHOW WARNINGS, and drop its notes when
    /// `sql_notes` is off (mysqldump's output turns it off while restoring).
    fn record_diagnostics(&mut self, result: &Result<Output, SqlError>) {
        if let Err(e) = result {
            self.warnings.push(Warning {
                level: Level::Error,
                code: e.code,
                message: e.message.clone(),
            });
        }
        if self.warnings.iter().any(|w| w.level == Level::Note)
            && matches!(self.sysvar("sql_notes", false), Ok(Datum::I64(0)))
        {
            self.warnings.retain(|w| w.level != Level::Note);
        }
    }

    async fn dispatch(
        &mut self,
        statement: &Statement,
        args: Bindings<'_>,
    ) -> Result<Output, SqlError> {
        use Statement as S;
        if !matches!(statement, S::ShowVariable { .. }) {
            self.previous_warnings = std::mem::take(&mut self.warnings);
        }
        match statement {
            S::Query(q) if show::reads_information_schema(q) => {
                let mut q = q.clone();
                let sources = show::InfoSources {
                    schema: &self.engine.catalog.snapshot(),
                    processes: &self.engine.processes,
                    slow_log: &self.engine.slow_log,
                    summaries: &self.engine.summaries,
                };
                show::resolve_information_schema(&mut q, &sources)?;
                // Its rows are literals of this moment: not a plan to keep.
                let args = Bindings { plan: None, ..args };
                self.data_statement(&S::Query(q), args).await
            }
            S::Query(_) | S::Insert(_) | S::Update(_) | S::Delete(_) => {
                self.data_statement(statement, args).await
            }
            // BEGIN [WORK]; START TRANSACTION is ours (`text_statement`).
            S::StartTransaction { modes, .. } if modes.is_empty() => {
                self.start_transaction(None).await
            }
            S::Commit {
                chain: false,
                end: false,
                modifier: None,
            } => self.commit().await.map(|_| ok()),
            S::Rollback {
                savepoint: None,
                chain: false,
            } => {
                self.txn = None;
                self.explicit = false;
                Ok(ok())
            }
            S::Savepoint { name } => {
                if self.txn.is_none() && !self.autocommit() {
                    self.txn = Some(self.begin().await?);
                    self.explicit = true;
                }
                let current = self.txn.as_ref().map(Transaction::start_ts);
                self.savepoints.retain(|(n, ts, _)| {
                    Some(*ts) == current && !n.eq_ignore_ascii_case(&name.value)
                });
                // With autocommit and no transaction there is nothing to
                // return to, as in MySQL.
                if let Some(txn) = &self.txn {
                    self.savepoints
                        .push((name.value.clone(), txn.start_ts(), txn.savepoint()));
                }
                Ok(ok())
            }
            S::Rollback {
                savepoint: Some(name),
                ..
            } => {
                // Later savepoints go; this one stays, to return to again.
                let at = self.savepoint_index(&name.value)?;
                self.savepoints.truncate(at + 1);
                if let (Some((name, ts, savepoint)), Some(txn)) =
                    (self.savepoints.pop(), self.txn.as_mut())
                {
                    txn.rollback_to(savepoint);
                    self.savepoints.push((name, ts, txn.savepoint()));
                }
                Ok(ok())
            }
            S::ReleaseSavepoint { name } => {
                let at = self.savepoint_index(&name.value)?;
                self.savepoints.truncate(at);
                Ok(ok())
            }
            S::Use(u) => {
                let name = match u {
                    ast::Use::Object(n) | ast::Use::Database(n) | ast::Use::Schema(n) => {
                        database_name(n)?
                    }
                    _ => return Err(error::unsupported(&statement.to_string())),
                };
                self.use_database(&name).await.map(|_| ok())
            }
            S::Set(set) => self.set(set).await.map(|_| ok()),
            S::CreateDatabase {
                db_name,
                if_not_exists,
                location: None,
                managed_location: None,
                or_replace: false,
                transient: false,
                clone: None,
                default_charset,
                default_collation,
                ..
            } => {
                let collation = ddl::define::charset_collation(
                    default_charset.as_deref(),
                    default_collation.as_deref(),
                )?;
                self.commit().await?;
                self.engine
                    .catalog
                    .create_database(
                        &database_name(db_name)?,
                        *if_not_exists,
                        collation.unwrap_or_default(),
                    )
                    .await?;
                Ok(Output::Affected {
                    rows: 1,
                    last_insert_id: 0,
                    info: String::new(),
                })
            }
            S::CreateSchema {
                schema_name,
                if_not_exists,
                or_replace: false,
                with: None,
                options: None,
                default_collate_spec: None,
                clone: None,
                ..
            } => {
                self.commit().await?;
                self.engine
                    .catalog
                    .create_database(
                        &schema_database(schema_name)?,
                        *if_not_exists,
                        Collation::default(),
                    )
                    .await?;
                Ok(Output::Affected {
                    rows: 1,
                    last_insert_id: 0,
                    info: String::new(),
                })
            }
            S::CreateTable(ct) if ct.query.is_some() => self.create_table_as(ct).await,
            statement if ddl::is_ddl(statement) => match self.temporary_ddl(statement).await? {
                Some(output) => Ok(output),
                None => {
                    self.ddl(async |catalog, ctx| ddl::execute(catalog, statement, ctx).await)
                        .await
                }
            },
            S::ShowDatabases { show_options, .. } | S::ShowSchemas { show_options, .. } => {
                let schema = self.engine.catalog.snapshot();
                let pattern = like_pattern(show_options);
                let mut names = vec!["information_schema".to_string()];
                names.extend(schema.databases().into_iter().map(|d| d.name.clone()));
                let rows = names
                    .into_iter()
                    .filter(|n| pattern.as_deref().is_none_or(|p| show::like(n, p)))
                    .map(|n| vec![text(n)])
                    .collect();
                self.show_where(text_rows(&["Database"], rows), show_where_of(show_options))
            }
            S::ShowTables {
                full, show_options, ..
            } => {
                let schema = self.engine.catalog.snapshot();
                let db = match show_options
                    .show_in
                    .as_ref()
                    .and_then(|i| i.parent_name.as_ref())
                {
                    Some(n) => database_name(n)?,
                    None => self
                        .database
                        .clone()
                        .ok_or_else(error::no_database_selected)?,
                };
                let db = schema
                    .database(&db)
                    .ok_or_else(|| error::unknown_database(&db))?
                    .name
                    .clone();
                let rows =
                    show::tables_rows(&schema, &db, *full, like_pattern(show_options).as_deref());
                self.show_where(rows, show_where_of(show_options))
            }
            S::ShowColumns {
                full, show_options, ..
            } => {
                let name = show_options
                    .show_in
                    .as_ref()
                    .and_then(|i| i.parent_name.clone())
                    .ok_or_else(|| error::syntax("", 1))?;
                let (_, table) = self.resolve_table(&name)?;
                let pattern = like_pattern(show_options);
                let rows = show::columns_rows(&table, *full, pattern.as_deref());
                self.show_where(rows, show_where_of(show_options))
            }
            S::Explain {
                statement: inner,
                analyze: true,
                verbose: false,
                format: None,
                options: None,
                ..
            } => match inner.as_ref() {
                S::Query(_) => self.data_statement(statement, args).await,
                other => Err(error::unsupported(&format!("EXPLAIN ANALYZE {other}"))),
            },
            S::Explain {
                statement,
                verbose: false,
                query_plan: false,
                estimate: false,
                format: None,
                options: None,
                ..
            } => self.explain(statement),
            S::ExplainTable { table_name, .. } => {
                let (_, table) = self.resolve_table(table_name)?;
                Ok(show::columns_rows(&table, false, None))
            }
            S::ShowCreate {
                obj_type: ast::ShowCreateObject::Table,
                obj_name,
            } => {
                let (db, table) = self.resolve_table(obj_name)?;
                let next_auto_id = match table.columns.iter().any(|c| c.auto_increment) {
                    false => None,
                    true if table.id < 0 => Some(self.temporary.next_auto_id(&table)),
                    true => Some(self.engine.catalog().next_auto_id(&table).await?),
                };
                Ok(text_rows(
                    &["Table", "Create Table"],
                    vec![vec![
                        text(&table.name),
                        text(show::create_table_sql(&db, &table, next_auto_id)),
                    ]],
                ))
            }
            S::ShowVariables { filter, global, .. } => {
                let pattern = match filter {
                    Some(ast::ShowStatementFilter::Like(p)) => Some(p.clone()),
                    _ => None,
                };
                let rows = self
                    .engine
                    .globals
                    .all()
                    .into_iter()
                    .filter(|(name, _)| pattern.as_deref().is_none_or(|p| show::like(name, p)))
                    .map(|(name, v)| {
                        let v = if *global {
                            v
                        } else {
                            self.sysvar(&name, false).unwrap_or(v)
                        };
                        let shown = match v {
                            Datum::I64(on @ (0 | 1)) if crate::variables::is_switch(&name) => {
                                text(if on == 1 { "ON" } else { "OFF" })
                            }
                            v => text(crate::expr::cast::to_text(&v)),
                        };
                        vec![text(&name), shown]
                    })
                    .collect();
                let rows = text_rows(&["Variable_name", "Value"], rows);
                match filter {
                    Some(ast::ShowStatementFilter::Where(e)) => self.show_where(rows, Some(e)),
                    _ => Ok(rows),
                }
            }
            S::ShowStatus { filter, .. } => self.show_filter(
                text_rows(
                    &["Variable_name", "Value"],
                    vec![
                        vec![
                            text("Uptime"),
                            text(self.engine.started.elapsed().as_secs().to_string()),
                        ],
                        vec![
                            text("Threads_connected"),
                            text(self.engine.processes.len().to_string()),
                        ],
                        vec![
                            text("Questions"),
                            text(self.engine.questions.load(Ordering::Relaxed).to_string()),
                        ],
                    ],
                ),
                filter.as_ref(),
            ),
            S::ShowCollation { filter } => self.show_filter(
                text_rows(
                    &[
                        "Collation",
                        "Charset",
                        "Id",
                        "Default",
                        "Compiled",
                        "Sortlen",
                        "Pad_attribute",
                    ],
                    vec![
                        vec![
                            text("utf8mb4_bin"),
                            text("utf8mb4"),
                            Datum::I64(46),
                            text(""),
                            text("Yes"),
                            Datum::I64(1),
                            text("PAD SPACE"),
                        ],
                        vec![
                            text("utf8mb4_general_ci"),
                            text("utf8mb4"),
                            Datum::I64(45),
                            text("Yes"),
                            text("Yes"),
                            Datum::I64(1),
                            text("PAD SPACE"),
                        ],
                        vec![
                            text("binary"),
                            text("binary"),
                            Datum::I64(63),
                            text("Yes"),
                            text("Yes"),
                            Datum::I64(1),
                            text("NO PAD"),
                        ],
                    ],
                ),
                filter.as_ref(),
            ),
            S::ShowCharset(c) => self.show_filter(
                text_rows(
                    &["Charset", "Description", "Default collation", "Maxlen"],
                    vec![
                        vec![
                            text("binary"),
                            text("Binary pseudo charset"),
                            text("binary"),
                            Datum::I64(1),
                        ],
                        vec![
                            text("utf8mb4"),
                            text("UTF-8 Unicode"),
                            text("utf8mb4_general_ci"),
                            Datum::I64(4),
                        ],
                    ],
                ),
                c.filter.as_ref(),
            ),
            S::ShowProcessList { full } => {
                Ok(show::processlist(&self.engine.processes.rows(), *full))
            }
            S::Kill { modifier, id } => self.kill(modifier.as_ref(), *id),
            S::LockTables { tables } => {
                // LOCK TABLES ends the transaction and replaces the locks
                // held, as in MySQL.
                self.commit().await?;
                let schema = self.engine.catalog.snapshot();
                let mut locks = TableLocks::default();
                for lock in tables {
                    let name = ast::ObjectName::from(vec![lock.table.clone()]);
                    let (db, table) = table_name(&name, self.database.as_deref())?;
                    if schema.table(&db, &table).is_none()
                        && self.temporary.get(&db, &table).is_none()
                    {
                        return Err(error::no_such_table(&db, &table));
                    }
                    let write = matches!(lock.lock_type, ast::LockTableType::Write { .. });
                    locks.add(&db, &table, write);
                }
                self.table_locks = Some(locks);
                Ok(ok())
            }
            S::UnlockTables => {
                if self.table_locks.take().is_some() {
                    self.commit().await?;
                }
                Ok(ok())
            }
            other => self.text_command(other),
        }
    }

    /// `KILL [CONNECTION | QUERY] id`.
    fn kill(&self, modifier: Option<&ast::KillType>, id: u64) -> Result<Output, SqlError> {
        let what = match modifier {
            Some(ast::KillType::Query) => Kill::Query,
            _ => Kill::Connection,
        };
        let found = u32::try_from(id).is_ok_and(|id| self.engine.processes.kill(id, what));
        if !found {
            return Err(SqlError::new(
                1094,
                "HY000",
                format!("Unknown thread id: {id}"),
            ));
        }
        // Killing one's own connection interrupts the KILL itself, as in MySQL.
        if id == u64::from(self.id) && what == Kill::Connection {
            return Err(error::query_interrupted());
        }
        Ok(ok())
    }

    /// Run a statement sqlparser cannot parse, recognised by
    /// [`text_statement`].
    async fn run_text(&mut self, statement: TextStatement) -> Result<Output, SqlError> {
        let schema = self.engine.catalog.snapshot();
        match statement {
            TextStatement::ShowTableStatus { db, like } => {
                let db = self.existing_database(&schema, db)?;
                Ok(show::table_status_rows(&schema, &db, like.as_deref()))
            }
            TextStatement::ShowCreateDatabase {
                name,
                if_not_exists,
            } => {
                let db = schema
                    .database(&name)
                    .ok_or_else(|| error::unknown_database(&name))?;
                Ok(text_rows(
                    &["Database", "Create Database"],
                    vec![vec![
                        text(&db.name),
                        text(show::create_database_sql(db, if_not_exists)),
                    ]],
                ))
            }
            TextStatement::ShowIndex(name) => {
                let (_, table) = self.resolve_table(&name)?;
                Ok(show::index_rows(&table))
            }
            TextStatement::ShowTriggers { db } => {
                self.existing_database(&schema, db)?;
                Ok(show::triggers_rows())
            }
            TextStatement::ShowRoutineStatus => Ok(show::routine_status_rows()),
            TextStatement::ShowEvents { db } => {
                self.existing_database(&schema, db)?;
                Ok(show::events_rows())
            }
            TextStatement::StartTransaction { read_only } => {
                self.start_transaction(read_only).await
            }
            TextStatement::SetTransaction {
                scope,
                isolation,
                read_only,
            } => self
                .set_transaction(scope, isolation, read_only)
                .map(|_| ok()),
            TextStatement::AlterTableKeys(name) => {
                // DDL: commits first, like every ALTER TABLE.
                self.commit().await?;
                let (_, table) = self.resolve_table(&name)?;
                // Index maintenance cannot be suspended; InnoDB answers the
                // same way, and mysqldump's output wraps its inserts in it.
                self.warnings.push(Warning {
                    level: Level::Note,
                    code: 1031,
                    message: format!(
                        "Table storage engine for '{}' doesn't have this option",
                        table.name
                    ),
                });
                Ok(ok())
            }
            TextStatement::AlterTable { table, clauses } => {
                let alteration =
                    ddl::Alteration::of_text(&table, &clauses, self.database.as_deref())?;
                self.alter(alteration).await
            }
            TextStatement::AlterDatabase {
                name,
                charset,
                collation,
            } => {
                let name = self.existing_database(&schema, name)?;
                let collation =
                    ddl::define::charset_collation(charset.as_deref(), collation.as_deref())?;
                self.commit().await?;
                self.engine
                    .catalog
                    .alter_database(&name, collation.unwrap_or_default())
                    .await?;
                Ok(Output::Affected {
                    rows: 1,
                    last_insert_id: 0,
                    info: String::new(),
                })
            }
            TextStatement::ChecksumTable { tables, quick } => {
                self.checksum_tables(&tables, quick).await
            }
            TextStatement::LoadData(load) => {
                if !load.local {
                    return Err(SqlError::new(
                        1290,
                        "HY000",
                        "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement",
                    ));
                }
                self.resolve_table(&load.table)?;
                let file = load.file.clone();
                self.pending_load = Some(load);
                Ok(Output::LocalInfile { file })
            }
        }
    }

    /// The file a `LOAD DATA LOCAL INFILE` asked for, as the client sent it
    /// (`None`: the client refused to send it): insert its rows.
    pub async fn local_infile(&mut self, data: Option<Vec<u8>>) -> Result<Output, SqlError> {
        let load = self
            .pending_load
            .take()
            .ok_or_else(|| error::internal("no LOAD DATA is waiting for a file"))?;
        let Some(data) = data else {
            return Err(SqlError::new(
                3948,
                "42000",
                "Loading local data is disabled; this must be enabled on both the client and server sides",
            ));
        };
        let (db, table) = self.resolve_table(&load.table)?;
        let columns = if load.columns.is_empty() {
            table.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            load.columns.clone()
        };
        let quote = |name: &str| format!("`{}`", name.replace('`', "``"));
        let verb = match load.on_duplicate {
            crate::load_data::OnDuplicate::Replace => "REPLACE",
            _ => "INSERT IGNORE",
        };
        let head = format!(
            "{verb} INTO {}.{} ({}) VALUES ",
            quote(&db),
            quote(&table.name),
            columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = load.rows(&data);
        let mut affected = 0;
        for (batch_no, batch) in rows.chunks(LOAD_BATCH).enumerate() {
            let mut sql = head.clone();
            let mut params = Vec::with_capacity(batch.len() * columns.len());
            for (i, fields) in batch.iter().enumerate() {
                if fields.len() > columns.len() {
                    self.warnings.push(Warning {
                        level: Level::Warning,
                        code: 1262,
                        message: format!(
                            "Row {} was truncated; it contained more data than there were input columns",
                            batch_no * LOAD_BATCH + i + 1
                        ),
                    });
                }
                if fields.len() < columns.len() {
                    self.warnings.push(Warning {
                        level: Level::Warning,
                        code: 1261,
                        message: format!(
                            "Row {} doesn't contain data for all columns",
                            batch_no * LOAD_BATCH + i + 1
                        ),
                    });
                }
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for c in 0..columns.len() {
                    sql.push_str(if c == 0 { "" } else { ", " });
                    match fields.get(c) {
                        Some(field) => {
                            sql.push('?');
                            params.push(field.clone().map_or(Datum::Null, Datum::Bytes));
                        }
                        None => sql.push_str("DEFAULT"),
                    }
                }
                sql.push(')');
            }
            let statement = parse(&sql)?.0.remove(0);
            let args = Bindings {
                params: &params,
                ..Bindings::default()
            };
            if let Output::Affected { rows, .. } = self.data_statement(&statement, args).await? {
                affected += rows;
            }
        }
        let records = rows.len() as u64;
        let (deleted, skipped) = match load.on_duplicate {
            crate::load_data::OnDuplicate::Replace => (affected.saturating_sub(records), 0),
            _ => (0, records.saturating_sub(affected)),
        };
        Ok(Output::Affected {
            rows: affected,
            last_insert_id: 0,
            info: format!(
                "Records: {records}  Deleted: {deleted}  Skipped: {skipped}  Warnings: {}",
                self.warnings.len()
            ),
        })
    }

    /// Run DDL: commit the open transaction first (as MySQL does), collect
    /// the warnings, and forget the current database if it was dropped.
    async fn ddl(
        &mut self,
        run: impl AsyncFnOnce(&Catalog, &mut EvalContext<'_>) -> Result<Output, SqlError>,
    ) -> Result<Output, SqlError> {
        self.commit().await?;
        let user_vars = self.user_vars.clone();
        let mut ctx = self.eval_context(&user_vars, &[], true);
        let engine = self.engine.clone();
        let output = run(&engine.catalog, &mut ctx).await;
        self.warnings.extend(ctx.warnings);
        let schema = engine.catalog.snapshot();
        if let Some(db) = &self.database
            && schema.database(db).is_none()
        {
            self.database = None;
            self.process.set_database(None);
        }
        output
    }

    /// START TRANSACTION: commit the open transaction and begin a new one.
    /// Its snapshot is taken now, so WITH CONSISTENT SNAPSHOT changes nothing.
    async fn start_transaction(&mut self, read_only: Option<bool>) -> Result<Output, SqlError> {
        self.commit().await?;
        self.txn = Some(self.begin().await?);
        if let Some(read_only) = read_only {
            self.txn_state.read_only = read_only;
        }
        self.explicit = true;
        Ok(ok())
    }

    /// `SET [GLOBAL | SESSION] TRANSACTION ...`: without a scope, for the
    /// next transaction only, which must not have begun (1568).
    fn set_transaction(
        &mut self,
        scope: text_statement::TransactionScope,
        isolation: Option<&'static str>,
        read_only: Option<bool>,
    ) -> Result<(), SqlError> {
        use text_statement::TransactionScope as Scope;
        if let Some(level) = isolation {
            self.check_isolation(level)?;
        }
        let global = match scope {
            Scope::Next => {
                if self.txn.is_some() && self.explicit {
                    return Err(SqlError::new(
                        1568,
                        "25001",
                        "Transaction characteristics can't be changed while a transaction is in progress",
                    ));
                }
                self.next_txn = NextTxn {
                    isolation: isolation.or(self.next_txn.isolation),
                    read_only: read_only.or(self.next_txn.read_only),
                };
                return Ok(());
            }
            Scope::Session => false,
            Scope::Global => true,
        };
        if let Some(level) = isolation {
            self.set_variable_pair(
                ["transaction_isolation", "tx_isolation"],
                global,
                text(level),
            );
        }
        if let Some(read_only) = read_only {
            let value = Datum::I64(read_only as i64);
            self.set_variable_pair(["transaction_read_only", "tx_read_only"], global, value);
        }
        Ok(())
    }

    /// The collation a client's handshake names (its id): the
    /// connection's, when Basalt has it; for another (utf8mb4_0900_ai_ci,
    /// latin1...) the global value stays, as MariaDB does with ids it does
    /// not know.
    pub fn client_collation(&mut self, id: u16) {
        use crate::result::charset;
        let collation = match id {
            charset::UTF8MB4_GENERAL_CI | charset::UTF8_GENERAL_CI => Collation::Utf8mb4GeneralCi,
            charset::UTF8MB4_BIN | charset::UTF8_BIN => Collation::Utf8mb4Bin,
            _ => return,
        };
        // Never binary, so never refused.
        let _ = self.set_collation_connection(collation, false);
    }

    /// Set `collation_connection`, the collation string literals take.
    fn set_collation_connection(
        &mut self,
        collation: Collation,
        global: bool,
    ) -> Result<(), SqlError> {
        if collation == Collation::Binary {
            return Err(error::unsupported(
                "the binary character set for the connection",
            ));
        }
        let value = text(collation.name());
        if global {
            self.engine.globals.set("collation_connection", value);
        } else {
            self.collation_connection = collation;
            self.vars.insert("collation_connection".to_string(), value);
        }
        Ok(())
    }

    /// Set a variable and its older alias alike.
    fn set_variable_pair(&mut self, names: [&str; 2], global: bool, value: Datum) {
        for name in names {
            if global {
                self.engine.globals.set(name, value.clone());
            } else {
                self.vars.insert(name.to_string(), value.clone());
            }
        }
    }

    /// Refuse the isolation levels Basalt does not run (TiDB's 8048),
    /// unless `tidb_skip_isolation_level_check` asks to run them as
    /// REPEATABLE READ, which a warning then says.
    fn check_isolation(&mut self, level: &str) -> Result<(), SqlError> {
        if level != "READ-UNCOMMITTED" && level != "SERIALIZABLE" {
            return Ok(());
        }
        let message = format!(
            "The isolation level '{}' is not supported. Set tidb_skip_isolation_level_check=1 to skip this error",
            level.replace('-', " ")
        );
        match self.sysvar("tidb_skip_isolation_level_check", false) {
            Ok(Datum::I64(1)) => {
                self.warnings.push(Warning {
                    level: Level::Warning,
                    code: 8048,
                    message,
                });
                Ok(())
            }
            _ => Err(SqlError::new(8048, "HY000", message)),
        }
    }

    /// Where savepoint `name` of the open transaction is (1305 if nowhere).
    fn savepoint_index(&mut self, name: &str) -> Result<usize, SqlError> {
        let current = self.txn.as_ref().map(Transaction::start_ts);
        self.savepoints.retain(|(_, ts, _)| Some(*ts) == current);
        self.savepoints
            .iter()
            .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| SqlError::new(1305, "42000", format!("SAVEPOINT {name} does not exist")))
    }

    /// The database a SHOW names, else the current one; it must exist.
    fn existing_database(
        &self,
        schema: &InfoSchema,
        named: Option<String>,
    ) -> Result<String, SqlError> {
        let db = match named {
            Some(db) => db,
            None => self
                .database
                .clone()
                .ok_or_else(error::no_database_selected)?,
        };
        Ok(schema
            .database(&db)
            .ok_or_else(|| error::unknown_database(&db))?
            .name
            .clone())
    }

    /// CHECKSUM TABLE: one row per table, `db.table` and the checksum of
    /// [`show::checksum_sql`], read in the session's transaction. A missing
    /// table gets NULL and an error among the warnings, as in MySQL; so does
    /// QUICK, which asks for a live checksum no table keeps.
    async fn checksum_tables(
        &mut self,
        names: &[ast::ObjectName],
        quick: bool,
    ) -> Result<Output, SqlError> {
        let mut rows = Vec::with_capacity(names.len());
        let mut missing = Vec::new();
        for name in names {
            let (db, table) = table_name(name, self.database.as_deref())?;
            let label = text(format!("{db}.{table}"));
            let Some(def) = self.engine.catalog.snapshot().table(&db, &table).cloned() else {
                missing.push(error::no_such_table(&db, &table));
                rows.push(vec![label, Datum::Null]);
                continue;
            };
            if quick {
                rows.push(vec![label, Datum::Null]);
                continue;
            }
            let query = parse(&show::checksum_sql(&db, &def))?.0;
            let checksum = match query.first() {
                Some(statement) => match self.data_statement(statement, Bindings::default()).await?
                {
                    Output::Rows { rows, .. } => rows.into_iter().flatten().next(),
                    _ => None,
                },
                None => None,
            };
            rows.push(vec![label, checksum.unwrap_or(Datum::Null)]);
        }
        self.warnings.extend(missing.into_iter().map(|e| Warning {
            level: Level::Error,
            code: e.code,
            message: e.message,
        }));
        Ok(text_rows(&["Table", "Checksum"], rows))
    }

    /// Statements sqlparser parses loosely, recognised by their text.
    fn text_command(&mut self, statement: &Statement) -> Result<Output, SqlError> {
        let sql = statement.to_string();
        let upper = sql.to_uppercase();
        if upper.starts_with("SHOW WARNINGS") || upper.starts_with("SHOW ERRORS") {
            let errors_only = upper.starts_with("SHOW ERRORS");
            // [LIMIT [offset,] count]
            let rest = upper["SHOW ERRORS".len() + usize::from(!errors_only) * 2..].trim();
            let numbers: Vec<usize> = match rest.strip_prefix("LIMIT") {
                _ if rest.is_empty() => Vec::new(),
                Some(limit) => limit
                    .split(',')
                    .map(|n| n.trim().parse().map_err(|_| error::syntax(rest, 1)))
                    .collect::<Result<_, _>>()?,
                None => return Err(error::syntax(rest, 1)),
            };
            let (skip, take) = match numbers.as_slice() {
                [] => (0, usize::MAX),
                [count] => (0, *count),
                [offset, count] => (*offset, *count),
                _ => return Err(error::syntax(rest, 1)),
            };
            let rows = self
                .warnings
                .iter()
                .filter(|w| !errors_only || w.level == Level::Error)
                .skip(skip)
                .take(take)
                .map(|w| {
                    let level = match w.level {
                        Level::Note => "Note",
                        Level::Warning => "Warning",
                        Level::Error => "Error",
                    };
                    vec![text(level), Datum::I64(w.code as i64), text(&w.message)]
                })
                .collect();
            // Code is a number, as MySQL sends it.
            let mut columns = show::text_columns(&["Level", "Code", "Message"]).to_vec();
            columns[1] = crate::plan::expr_info(
                "Code",
                &crate::types::SqlType::new(crate::types::TypeKind::Int),
            );
            return Ok(Output::Rows {
                columns: columns.into(),
                rows,
            });
        }
        if upper.starts_with("SHOW ENGINES") {
            return Ok(text_rows(
                &[
                    "Engine",
                    "Support",
                    "Comment",
                    "Transactions",
                    "XA",
                    "Savepoints",
                ],
                vec![vec![
                    text("InnoDB"),
                    text("DEFAULT"),
                    text("Basalt's distributed transactional storage"),
                    text("YES"),
                    text("NO"),
                    text("YES"),
                ]],
            ));
        }
        Err(error::unsupported(&sql))
    }

    /// A SHOW's rows kept by its LIKE (on the first column) or WHERE filter.
    fn show_filter(
        &self,
        output: Output,
        filter: Option<&ast::ShowStatementFilter>,
    ) -> Result<Output, SqlError> {
        match filter {
            None => Ok(output),
            Some(ast::ShowStatementFilter::Where(e)) => self.show_where(output, Some(e)),
            Some(ast::ShowStatementFilter::Like(p) | ast::ShowStatementFilter::ILike(p)) => {
                match output {
                    Output::Rows { columns, mut rows } => {
                        rows.retain(|r| {
                            r.first()
                                .is_some_and(|d| show::like(&crate::expr::cast::to_text(d), p))
                        });
                        Ok(Output::Rows { columns, rows })
                    }
                    other => Ok(other),
                }
            }
            Some(other) => Err(error::unsupported(&other.to_string())),
        }
    }

    /// A SHOW's rows kept by `WHERE predicate`, which names the result's
    /// columns, as MySQL evaluates it.
    fn show_where(
        &self,
        output: Output,
        predicate: Option<&ast::Expr>,
    ) -> Result<Output, SqlError> {
        let (Some(predicate), Output::Rows { columns, rows }) = (predicate, &output) else {
            return Ok(output);
        };
        let scope = crate::plan::Scope {
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, c)| crate::plan::ScopeColumn {
                    qualifier: None,
                    name: c.name.clone(),
                    ty: rows.first().map_or_else(
                        || crate::types::SqlType::new(crate::types::TypeKind::VarChar),
                        |r| crate::expr::eval::literal_type(&r[i]),
                    ),
                    info: c.clone(),
                    hidden: false,
                    qualified_only: false,
                    handle_of: None,
                })
                .collect(),
        };
        let schema = self.engine.catalog.snapshot();
        let mut ctx = self.eval_context(&self.user_vars, &[], false);
        let lookup = |n: &str, g: bool| self.sysvar(n, g);
        let mut planner = Planner::new(&schema, self.database.as_deref(), &[], &mut ctx, &lookup);
        let bound = planner.bind(predicate, &scope, "where clause")?;
        let mut kept = Vec::new();
        for row in rows {
            if crate::expr::eval::truthy(&bound.eval(row, planner.ctx)?) {
                kept.push(row.clone());
            }
        }
        Ok(Output::Rows {
            columns: columns.clone(),
            rows: kept,
        })
    }

    fn resolve_table(
        &self,
        name: &ast::ObjectName,
    ) -> Result<(String, Arc<crate::catalog::TableDef>), SqlError> {
        let (db, table) = table_name(name, self.database.as_deref())?;
        if let Some(def) = self.temporary.get(&db, &table) {
            return Ok((db, def.clone()));
        }
        let schema = self.engine.catalog.snapshot();
        let def = schema
            .table(&db, &table)
            .ok_or_else(|| error::no_such_table(&db, &table))?;
        Ok((db, def.clone()))
    }

    /// Let `txn` read and write the session's temporary tables, those it
    /// has and those it will make while `txn` runs.
    fn attach_local(&self, txn: &mut Transaction) {
        txn.set_local(self.temporary.store());
    }

    /// DDL that names the session's temporary tables, run here (they are
    /// not in the catalog); `None` for DDL of permanent tables only. CREATE
    /// and DROP TEMPORARY TABLE do not end the transaction, as in MySQL.
    async fn temporary_ddl(&mut self, statement: &Statement) -> Result<Option<Output>, SqlError> {
        use ast::Statement as S;
        let current = self.database.clone();
        let temporary_name =
            |name: &ast::ObjectName| -> Result<Option<(String, String)>, SqlError> {
                let (db, table) = table_name(name, current.as_deref())?;
                Ok(self.temporary.get(&db, &table).map(|_| (db, table)))
            };
        match statement {
            S::CreateTable(ct) if ct.temporary => {
                let schema = self.engine.catalog.snapshot();
                let user_vars = self.user_vars.clone();
                let mut ctx = self.eval_context(&user_vars, &[], true);
                let (db, def) = ddl::temporary_table_def(&schema, &self.temporary, ct, &mut ctx)?;
                match self.temporary.create(&db, def) {
                    Err(e) if e.code == 1050 && ct.if_not_exists => self.warnings.push(Warning {
                        level: Level::Note,
                        code: e.code,
                        message: e.message,
                    }),
                    created => created?,
                }
                Ok(Some(ok()))
            }
            S::Drop {
                object_type: ast::ObjectType::Table,
                if_exists,
                names,
                temporary,
                ..
            } => {
                let mut temporary_names = Vec::new();
                let mut rest = Vec::new();
                for name in names {
                    match temporary_name(name)? {
                        Some(found) => temporary_names.push(found),
                        None => rest.push(name.clone()),
                    }
                }
                if *temporary && !rest.is_empty() && !*if_exists {
                    let missing: Vec<String> = rest
                        .iter()
                        .map(|n| table_name(n, current.as_deref()).map(|(d, t)| format!("{d}.{t}")))
                        .collect::<Result<_, _>>()?;
                    return Err(error::unknown_table(&missing.join(",")));
                }
                if temporary_names.is_empty() && !*temporary {
                    return Ok(None);
                }
                for (db, table) in &temporary_names {
                    self.temporary.drop(db, table);
                }
                if *temporary {
                    for name in &rest {
                        let (db, table) = table_name(name, current.as_deref())?;
                        self.warnings.push(Warning {
                            level: Level::Note,
                            code: 1051,
                            message: format!("Unknown table '{db}.{table}'"),
                        });
                    }
                    return Ok(Some(ok()));
                }
                if rest.is_empty() {
                    self.commit().await?;
                    return Ok(Some(ok()));
                }
                let mut permanent = statement.clone();
                if let S::Drop { names, .. } = &mut permanent {
                    *names = rest;
                }
                self.ddl(async |catalog, ctx| ddl::execute(catalog, &permanent, ctx).await)
                    .await
                    .map(Some)
            }
            S::Truncate(t) => match t.table_names.as_slice() {
                [target] => match temporary_name(&target.name)? {
                    Some((db, table)) => {
                        self.temporary.truncate(&db, &table);
                        Ok(Some(ok()))
                    }
                    None => Ok(None),
                },
                _ => Ok(None),
            },
            S::AlterTable(_) | S::CreateIndex(_) | S::Drop { .. } => {
                match ddl::Alteration::of(statement, current.as_deref())? {
                    Some(alteration) => self.alter(alteration).await.map(Some),
                    None => Ok(None),
                }
            }
            S::RenameTable(renames) => {
                for r in renames {
                    if temporary_name(&r.old_name)?.is_some() {
                        return Err(error::unsupported("RENAME TABLE of a temporary table"));
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// ALTER TABLE, CREATE INDEX or DROP INDEX: of the session's temporary
    /// table of that name if it has one (its reorganised rows written in a
    /// transaction of their own, after the open one commits, as any DDL's),
    /// else of the permanent table.
    async fn alter(&mut self, alteration: ddl::Alteration) -> Result<Output, SqlError> {
        if self
            .temporary
            .get(&alteration.db, &alteration.table)
            .is_none()
        {
            return self
                .ddl(async |catalog, ctx| alteration.run(catalog, ctx).await)
                .await;
        }
        self.commit().await?;
        let mut txn = self.begin().await?;
        let schema = self.engine.catalog.snapshot();
        let user_vars = self.user_vars.clone();
        let mut ctx = self.eval_context(&user_vars, &[], true);
        let altered =
            ddl::alter_temporary(&self.temporary, &schema, &mut txn, &alteration, &mut ctx).await;
        let warnings = ctx.warnings;
        let (def, to) = altered?;
        txn.commit().await.map_err(from_kv)?;
        self.warnings.extend(warnings);
        self.temporary
            .replace(&alteration.db, &alteration.table, def, to);
        Ok(ok())
    }

    /// COMMIT: make the current transaction durable.
    async fn commit(&mut self) -> Result<(), SqlError> {
        self.explicit = false;
        if let Some(txn) = self.txn.take() {
            self.clock.txn_start_ts = txn.start_ts();
            let committing = Instant::now();
            let committed = txn.commit().await.map_err(from_kv);
            self.clock.commit += committing.elapsed();
            committed?;
        }
        Ok(())
    }

    /// A query or DML statement, in the session's transaction or its own.
    async fn data_statement(
        &mut self,
        statement: &Statement,
        args: Bindings<'_>,
    ) -> Result<Output, SqlError> {
        let schema = self.engine.catalog.snapshot();
        if self.txn.is_some() || !self.autocommit() {
            if self.txn.is_none() {
                self.txn = Some(self.begin().await?);
                self.explicit = true;
            }
            if self.txn_state.read_only && is_write(statement) {
                return Err(read_only_transaction());
            }
            let mut txn = self
                .txn
                .take()
                .ok_or_else(|| error::internal("transaction vanished"))?;
            let result = if is_locking_read(statement) {
                self.locking_read(&schema, statement, args, &mut txn).await
            } else if txn.is_pessimistic() && is_write(statement) {
                self.pessimistic_statement(&schema, statement, args, &mut txn)
                    .await
            } else {
                self.plain_statement(&schema, statement, args, &mut txn)
                    .await
            };
            match &result {
                // A deadlock victim loses its whole transaction, as in MySQL,
                // and so does a snapshot isolation conflict.
                Err(e) if e.code == 1213 || e.code == 1020 => self.explicit = false,
                _ => self.txn = Some(txn),
            }
            return result;
        }
        if is_write(statement) && self.next_read_only() {
            return Err(read_only_transaction());
        }
        if is_locking_read(statement) {
            // MySQL's autocommit locking read waits for other transactions'
            // locks on its rows and holds them until it ends: a pessimistic
            // transaction of one statement, whose drop releases them.
            let mut txn = self.begin().await?;
            txn.set_pessimistic();
            return self.locking_read(&schema, statement, args, &mut txn).await;
        }
        let mut attempt = 0;
        loop {
            let client = self.engine.catalog.client();
            // A query starts reading the newest version; `execute_in` takes
            // a timestamp if its plan reads more than one key.
            let mut txn = match statement {
                Statement::Query(_) => client.begin_latest(),
                _ => client.begin().await.map_err(from_kv)?,
            };
            self.attach_local(&mut txn);
            let result = self
                .execute_in(&schema, statement, args, &mut txn, &mut None)
                .await;
            let output = match result {
                Ok(output) => output,
                Err(e) => return Err(e),
            };
            if txn.is_read_only() {
                return Ok(output);
            }
            let committing = Instant::now();
            let committed = txn.commit().await;
            self.clock.commit += committing.elapsed();
            match committed {
                Ok(_) => return Ok(output),
                Err(e)
                    if e.is_retryable() && is_write(statement) && attempt < AUTOCOMMIT_RETRIES =>
                {
                    attempt += 1;
                    metrics::RETRIES.inc();
                }
                Err(e) => return Err(from_kv(e)),
            }
        }
    }

    /// Start the session's explicit transaction, pessimistic unless
    /// `tidb_txn_mode` says optimistic, with the characteristics `SET
    /// TRANSACTION` asked for, else the session's.
    async fn begin(&mut self) -> Result<Transaction, SqlError> {
        let next = std::mem::take(&mut self.next_txn);
        let isolation = match next.isolation {
            Some(level) => level.to_string(),
            None => crate::expr::cast::to_text(&self.sysvar("transaction_isolation", false)?),
        };
        self.txn_state = TxnState {
            isolation: Isolation::of(&isolation),
            snapshot_isolation: matches!(
                self.sysvar("innodb_snapshot_isolation", false),
                Ok(Datum::I64(1))
            ),
            read_only: next.read_only.unwrap_or_else(|| self.session_read_only()),
            snapshot: None,
            current_read: false,
        };
        let mut txn = self
            .engine
            .catalog
            .client()
            .begin()
            .await
            .map_err(from_kv)?;
        self.attach_local(&mut txn);
        let mode = self
            .sysvar("tidb_txn_mode", false)
            .map(|v| crate::expr::cast::to_text(&v));
        if !mode.is_ok_and(|m| m.eq_ignore_ascii_case("optimistic")) {
            txn.set_pessimistic();
        }
        Ok(txn)
    }

    /// Whether the session's transactions are READ ONLY.
    fn session_read_only(&self) -> bool {
        !matches!(
            self.sysvar("transaction_read_only", false),
            Ok(Datum::I64(0)) | Err(_)
        )
    }

    /// Whether the next transaction (an autocommit statement's too) is
    /// READ ONLY.
    fn next_read_only(&self) -> bool {
        self.next_txn
            .read_only
            .unwrap_or_else(|| self.session_read_only())
    }

    /// A statement of the open transaction that neither locks nor writes
    /// through locks (a plain query, or a write of an optimistic
    /// transaction): it reads the statement's snapshot.
    async fn plain_statement(
        &mut self,
        schema: &Arc<InfoSchema>,
        statement: &Statement,
        args: Bindings<'_>,
        txn: &mut Transaction,
    ) -> Result<Output, SqlError> {
        let read_ts = self.statement_snapshot(txn).await?;
        let savepoint = txn.savepoint();
        txn.read_at(read_ts);
        let result = self
            .execute_in(schema, statement, args, txn, &mut None)
            .await;
        txn.read_at(txn.start_ts());
        if result.is_err() {
            txn.rollback_to(savepoint);
        }
        result
    }

    /// The snapshot a plain statement of the open transaction reads: a new
    /// one at READ COMMITTED, the transaction's at REPEATABLE READ (fixed
    /// here by its first plain read).
    async fn statement_snapshot(&mut self, txn: &mut Transaction) -> Result<u64, SqlError> {
        let state = &mut self.txn_state;
        if state.isolation == Isolation::ReadCommitted {
            return self
                .engine
                .catalog
                .client()
                .current_ts()
                .await
                .map_err(from_kv);
        }
        if let Some(ts) = state.snapshot {
            return Ok(ts);
        }
        let ts = if state.current_read && txn.is_pessimistic() {
            self.engine
                .catalog
                .client()
                .current_ts()
                .await
                .map_err(from_kv)?
        } else {
            txn.start_ts()
        };
        self.txn_state.snapshot = Some(ts);
        if txn.is_pessimistic() && self.txn_state.snapshot_isolation {
            txn.track_reads(ts);
        }
        Ok(ts)
    }

    /// A row the transaction writes changed after its REPEATABLE READ
    /// snapshot. If nothing it read through the snapshot changed, the
    /// snapshot moves to now, as if the transaction had started now (and the
    /// statement runs again); otherwise the write would lose an update or
    /// let a read skew, and the transaction fails.
    async fn refresh_snapshot(&mut self, txn: &mut Transaction) -> Result<(), SqlError> {
        let client = self.engine.catalog.client();
        let now = client.current_ts().await.map_err(from_kv)?;
        if !txn.refresh_snapshot(now).await.map_err(from_kv)? {
            return Err(changed_since_snapshot());
        }
        self.txn_state.snapshot = Some(now);
        Ok(())
    }

    /// The timestamp a pessimistic statement locks its rows at: its
    /// `for_update_ts`, or under snapshot isolation once the transaction has
    /// a snapshot, that snapshot, so that a row changed after it is a write
    /// conflict the statement retries only if the snapshot can move
    /// ([`Session::refresh_snapshot`]).
    fn lock_ts(&mut self, for_update_ts: u64) -> (u64, bool) {
        self.txn_state.current_read = true;
        match self.txn_state.snapshot {
            Some(snapshot) if self.txn_state.snapshot_isolation => (snapshot, true),
            _ => (for_update_ts, false),
        }
    }

    /// A write statement of a pessimistic transaction: read the latest data
    /// at a fresh `for_update_ts`, then lock every key it wrote. If a row
    /// changed between that read and the lock, undo the statement and run it
    /// again at a newer timestamp; other transactions' locks are waited for.
    /// At REPEATABLE READ, a row changed after the transaction's snapshot
    /// fails it instead ([`Session::lock_ts`]).
    async fn pessimistic_statement(
        &mut self,
        schema: &Arc<InfoSchema>,
        statement: &Statement,
        args: Bindings<'_>,
        txn: &mut Transaction,
    ) -> Result<Output, SqlError> {
        let client = self.engine.catalog.client().clone();
        let mut attempt = 0;
        loop {
            let for_update_ts = client.current_ts().await.map_err(from_kv)?;
            let savepoint = txn.savepoint();
            txn.read_at(for_update_ts);
            let result = self
                .execute_in(schema, statement, args, txn, &mut None)
                .await;
            txn.read_at(txn.start_ts());
            let output = match result {
                Ok(output) => output,
                Err(e) => {
                    txn.rollback_to(savepoint);
                    return Err(e);
                }
            };
            let written = txn
                .written_since(&savepoint)
                .into_iter()
                .filter(|key| needs_row_lock(schema, key))
                .collect();
            let (lock_ts, snapshot) = self.lock_ts(for_update_ts);
            match txn.lock_keys(written, lock_ts, self.lock_wait()).await {
                Ok(()) => return Ok(output),
                Err(kv_client::Error::WriteConflict { .. }) if snapshot => {
                    txn.rollback_to(savepoint);
                    if attempt >= STATEMENT_RETRIES {
                        return Err(changed_since_snapshot());
                    }
                    self.refresh_snapshot(txn).await?;
                    attempt += 1;
                }
                Err(kv_client::Error::WriteConflict { .. }) if attempt < STATEMENT_RETRIES => {
                    txn.rollback_to(savepoint);
                    attempt += 1;
                }
                Err(e) => {
                    txn.rollback_to(savepoint);
                    return Err(from_kv(e));
                }
            }
        }
    }

    /// A locking read (`SELECT ... FOR UPDATE | FOR SHARE`): run the query
    /// at a fresh `for_update_ts` (TiDB's current read: the newest committed
    /// rows, not the transaction's snapshot), then lock the rows it returned
    /// ([`Plan::Lock`](crate::plan::Plan::Lock) gathers their keys). If a
    /// row changed between that read and its lock, run it again at a newer
    /// timestamp. `NOWAIT` rows fail the statement with 3572 when another
    /// transaction holds them; `SKIP LOCKED` rows found locked are left out
    /// and the query runs again without them. An optimistic transaction
    /// reads its snapshot and has its commit check the rows instead.
    async fn locking_read(
        &mut self,
        schema: &Arc<InfoSchema>,
        statement: &Statement,
        args: Bindings<'_>,
        txn: &mut Transaction,
    ) -> Result<Output, SqlError> {
        // It may run again: rows it sent could not be taken back.
        let args = Bindings { out: None, ..args };
        let client = self.engine.catalog.client().clone();
        let pessimistic = txn.is_pessimistic();
        let savepoint = txn.savepoint();
        let mut skipped = HashSet::new();
        let mut attempt = 0;
        let result = loop {
            let for_update_ts = if pessimistic {
                client.current_ts().await.map_err(from_kv)?
            } else {
                txn.start_ts()
            };
            txn.read_at(for_update_ts);
            let mut locks = Some(RowLocks {
                keys: Vec::new(),
                skipped: std::mem::take(&mut skipped),
            });
            let result = self
                .execute_in(schema, statement, args, txn, &mut locks)
                .await;
            txn.read_at(txn.start_ts());
            let output = match result {
                Ok(output) => output,
                Err(e) => break Err(e),
            };
            let RowLocks { keys, skipped: s } = locks.unwrap_or_default();
            skipped = s;
            let (lock_ts, snapshot) = if pessimistic {
                self.lock_ts(for_update_ts)
            } else {
                (for_update_ts, false)
            };
            match self.lock_rows(txn, keys, lock_ts, &mut skipped).await {
                Ok(Locked::All) => break Ok(output),
                Ok(Locked::Changed) if snapshot && attempt < STATEMENT_RETRIES => {
                    if let Err(e) = self.refresh_snapshot(txn).await {
                        break Err(e);
                    }
                    attempt += 1;
                }
                // SKIP LOCKED rows to leave out, or a row that changed.
                Ok(_) if attempt < STATEMENT_RETRIES => attempt += 1,
                Ok(_) => {
                    break Err(error::write_conflict(
                        "a locking read kept meeting changed rows",
                    ));
                }
                Err(e) => break Err(e),
            }
        };
        if result.is_err() {
            txn.rollback_to(savepoint);
        }
        result
    }

    /// Lock the rows a locking read gathered at `lock_ts`, each as its
    /// table's clause says. `SKIP LOCKED` rows found locked are added to
    /// `skipped`.
    async fn lock_rows(
        &self,
        txn: &mut Transaction,
        keys: Vec<(Vec<u8>, RowLockWait)>,
        lock_ts: u64,
        skipped: &mut HashSet<Vec<u8>>,
    ) -> Result<Locked, SqlError> {
        if keys.is_empty() {
            return Ok(Locked::All);
        }
        let nonblocking = keys.iter().any(|(_, w)| *w != RowLockWait::Wait);
        if nonblocking && !txn.is_pessimistic() {
            return Err(error::unsupported(
                "NOWAIT or SKIP LOCKED in an optimistic transaction",
            ));
        }
        let (mut waiting, mut nowait, mut skip) = (Vec::new(), Vec::new(), Vec::new());
        for (key, wait) in keys {
            match wait {
                RowLockWait::Wait => waiting.push(key),
                RowLockWait::NoWait => nowait.push(key),
                RowLockWait::SkipLocked => skip.push(key),
            }
        }
        let changed = |e: &kv_client::Error| matches!(e, kv_client::Error::WriteConflict { .. });
        for (keys, wait) in [(waiting, self.lock_wait()), (nowait, LockWait::NoWait)] {
            match txn.lock_keys(keys, lock_ts, wait).await {
                Ok(()) => {}
                Err(e) if changed(&e) => return Ok(Locked::Changed),
                Err(e) => return Err(from_kv(e)),
            }
        }
        // One key at a time: a request fails as a whole on one locked key.
        let mut locked = Locked::All;
        for key in skip {
            match txn
                .lock_keys(vec![key.clone()], lock_ts, LockWait::NoWait)
                .await
            {
                Ok(()) => {}
                Err(kv_client::Error::LockedNoWait { .. }) => {
                    skipped.insert(key);
                    locked = Locked::Skipped;
                }
                Err(e) if changed(&e) => return Ok(Locked::Changed),
                Err(e) => return Err(from_kv(e)),
            }
        }
        Ok(locked)
    }

    /// How long a statement waits for a row lock: `innodb_lock_wait_timeout`
    /// seconds.
    fn lock_wait(&self) -> LockWait {
        let seconds = self
            .int_sysvar("innodb_lock_wait_timeout")
            .map_or(50, |n| n.max(0) as u64);
        LockWait::Timeout(Duration::from_secs(seconds))
    }

    /// Plan and run `statement` in `txn`. A locking read hands over the
    /// row keys to lock in `row_locks`, which must then be `Some`.
    async fn execute_in(
        &mut self,
        schema: &Arc<InfoSchema>,
        statement: &Statement,
        args: Bindings<'_>,
        txn: &mut Transaction,
        row_locks: &mut Option<RowLocks>,
    ) -> Result<Output, SqlError> {
        let mut plan_from_cache = false;
        let mut compile = Duration::ZERO;
        let this = &*self;
        let mut ctx = this.eval_context(&this.user_vars, args.params, is_write(statement));
        ctx.row_locks = row_locks.take();
        let lookup = |name: &str, global: bool| this.sysvar(name, global);
        let mut planner = Planner::new(
            schema,
            this.database.as_deref(),
            args.params,
            &mut ctx,
            &lookup,
        );
        planner.temporary = Some(&this.temporary);
        planner.table_locks = this.table_locks.as_ref();
        let output = match statement {
            Statement::Query(q) => {
                let planning = Instant::now();
                let (plan, columns, from_cache) = match args.plan {
                    Some(slot) => slot.plan(&mut planner, q)?,
                    None => {
                        let planned = planner.plan_query(q)?;
                        (planned.plan, planned.columns.into(), false)
                    }
                };
                compile = planning.elapsed();
                plan_from_cache = from_cache;
                if txn.start_ts() == codec::ts::LATEST && !plan.reads_at_most_one_key() {
                    *txn = this
                        .engine
                        .catalog
                        .client()
                        .begin()
                        .await
                        .map_err(from_kv)?;
                    this.attach_local(txn);
                }
                let mut sink = args
                    .out
                    .map(|out| Sink::new(out, &columns, this.status_flags()));
                let rows = exec::run_into(&plan, txn, planner.ctx, sink.as_mut()).await;
                *row_locks = planner.ctx.row_locks.take();
                let rows = rows?;
                match sink.and_then(|sink| sink.sent()) {
                    Some(rows) => Output::Sent { rows },
                    None => Output::Rows { columns, rows },
                }
            }
            Statement::Insert(ins) => {
                dml::insert(&mut planner, ins, txn, &this.engine.catalog).await?
            }
            Statement::Update(upd) => dml::update(&mut planner, upd, txn).await?,
            Statement::Delete(del) => dml::delete(&mut planner, del, txn).await?,
            // EXPLAIN ANALYZE of a query (`dispatch` sends no other here):
            // run it, keep the figures, drop the rows.
            Statement::Explain { statement, .. } => {
                let Statement::Query(q) = statement.as_ref() else {
                    return Err(error::unsupported(&statement.to_string()));
                };
                let planning = Instant::now();
                let planned = planner.plan_query(q)?;
                compile = planning.elapsed();
                planner.ctx.analysis = Some(vec![Default::default(); planned.plan.size()]);
                let mut rows = Sink::discard();
                exec::run_into(&planned.plan, txn, planner.ctx, Some(&mut rows)).await?;
                let stats = planner.ctx.analysis.take().unwrap_or_default();
                crate::explain::analyze(&planned.plan, &stats)
            }
            other => return Err(error::unsupported(&other.to_string())),
        };
        let warnings = std::mem::take(&mut ctx.warnings);
        let last_insert_id = ctx.last_insert_id;
        self.warnings.extend(warnings);
        self.last_insert_id = last_insert_id;
        self.clock.compile += compile;
        if txn.start_ts() != codec::ts::LATEST {
            self.clock.txn_start_ts = txn.start_ts();
        }
        if args.plan.is_some() {
            self.last_plan_from_cache = plan_from_cache;
        }
        Ok(output)
    }

    async fn set(&mut self, set: &ast::Set) -> Result<(), SqlError> {
        match set {
            ast::Set::SingleAssignment {
                scope,
                variable,
                values,
                ..
            } => {
                let global = matches!(scope, Some(ast::ContextModifier::Global));
                let [value] = values.as_slice() else {
                    return Err(error::syntax(&set.to_string(), 1));
                };
                self.assign(&variable.to_string(), global, value).await
            }
            ast::Set::MultipleAssignments { assignments } => {
                for a in assignments {
                    let global = matches!(a.scope, Some(ast::ContextModifier::Global));
                    self.assign(&a.name.to_string(), global, &a.value).await?;
                }
                Ok(())
            }
            // Basalt speaks utf8mb4 only (utf8's three-byte characters
            // are the same bytes).
            ast::Set::SetNames {
                charset_name,
                collation_name,
            } if ["utf8mb4", "utf8", "utf8mb3"]
                .iter()
                .any(|c| charset_name.value.eq_ignore_ascii_case(c)) =>
            {
                let collation = match collation_name {
                    Some(name) => Collation::named(name)?,
                    None => Collation::default(),
                };
                self.set_collation_connection(collation, false)
            }
            ast::Set::SetNamesDefault {} => {
                self.set_collation_connection(Collation::default(), false)
            }
            other => Err(error::unsupported(&other.to_string())),
        }
    }

    /// The value of `value`, which reads tables (`SET @v = (SELECT ...)`),
    /// read as `SELECT value` is: in the session's transaction if one is
    /// open, at its snapshot and isolation level.
    async fn select_value(&mut self, value: &ast::Expr) -> Result<Datum, SqlError> {
        let (mut statements, _) = parse("SELECT NULL")?;
        if let Some(Statement::Query(query)) = statements.first_mut()
            && let ast::SetExpr::Select(select) = query.body.as_mut()
            && let Some(ast::SelectItem::UnnamedExpr(e)) = select.projection.first_mut()
        {
            *e = value.clone();
        }
        let args = Bindings::default();
        match self.data_statement(&statements[0], args).await? {
            Output::Rows { rows, .. } => rows
                .into_iter()
                .next()
                .and_then(|row| row.into_iter().next())
                .ok_or_else(|| error::internal("SELECT of a value returned no row")),
            _ => Err(error::internal("SELECT of a value returned no rows")),
        }
    }

    async fn assign(
        &mut self,
        name: &str,
        global: bool,
        value: &ast::Expr,
    ) -> Result<(), SqlError> {
        // The value: a constant expression, or a bare word (SET sql_mode = TRADITIONAL, autocommit = ON).
        let datum = match value {
            ast::Expr::Identifier(id) if !id.value.starts_with('@') => {
                match id.value.to_uppercase().as_str() {
                    "ON" | "TRUE" => Datum::I64(1),
                    "OFF" | "FALSE" => Datum::I64(0),
                    other => text(other),
                }
            }
            e => {
                let constant = {
                    let schema = self.engine.catalog.snapshot();
                    let mut ctx = self.eval_context(&self.user_vars, &[], false);
                    let lookup = |n: &str, g: bool| self.sysvar(n, g);
                    let mut planner =
                        Planner::new(&schema, self.database.as_deref(), &[], &mut ctx, &lookup);
                    let bound = planner.bind(e, &crate::plan::Scope::default(), "field list")?;
                    match bound.any(&|x| matches!(x, Expr::Subquery(_))) {
                        false => Some(bound.eval(&[], planner.ctx)?),
                        true => None,
                    }
                };
                match constant {
                    Some(datum) => datum,
                    None => self.select_value(e).await?,
                }
            }
        };
        let lower = name.to_lowercase();
        if let Some(user_var) = lower.strip_prefix('@').filter(|n| !n.starts_with('@')) {
            self.user_vars.insert(user_var.to_string(), datum);
            return Ok(());
        }
        let (global, var) = match lower.trim_start_matches("@@").split_once('.') {
            Some(("global", n)) => (true, n.to_string()),
            Some(("session" | "local", n)) => (false, n.to_string()),
            _ => (global, lower.trim_start_matches("@@").to_string()),
        };
        if self.engine.globals.get(&var).is_none() {
            return Err(SqlError::new(
                1193,
                "HY000",
                format!("Unknown system variable '{var}'"),
            ));
        }
        let is_default = matches!(value, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("DEFAULT"));
        // DEFAULT: the global value for a session, the initial one for GLOBAL.
        let datum = match self.engine.globals.get(&var) {
            Some(_) if is_default && global => GlobalVariables::initial(&var).unwrap_or(datum),
            Some(g) if is_default => g,
            _ => datum,
        };
        let wrong_value = || {
            SqlError::new(
                1231,
                "42000",
                format!(
                    "Variable '{var}' can't be set to the value of '{}'",
                    crate::expr::cast::to_text(&datum)
                ),
            )
        };
        let global_only = || {
            SqlError::new(
                1229,
                "HY000",
                format!("Variable '{var}' is a GLOBAL variable and should be set with SET GLOBAL"),
            )
        };
        if let Some((_, allowed)) = FIXED_VARIABLES.iter().find(|(n, _)| *n == var)
            && !is_default
        {
            let value = crate::expr::cast::to_text(&datum);
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim())) {
                return Err(error::unsupported(&format!("{var} = {value}")));
            }
        }
        let datum = match var.as_str() {
            "autocommit" => {
                let on = switch(&datum).ok_or_else(wrong_value)?;
                if on && !self.autocommit() && !global {
                    // Turning autocommit on commits the open transaction.
                    self.commit().await?;
                }
                Datum::I64(on as i64)
            }
            "transaction_isolation" | "tx_isolation" => {
                // A level's name, or its number (0 to 3) as MySQL allows.
                let named = crate::expr::cast::to_text(&datum).to_uppercase();
                let level = ISOLATION_LEVELS
                    .iter()
                    .enumerate()
                    .find(|(i, l)| **l == named || named == i.to_string())
                    .map(|(_, l)| *l)
                    .ok_or_else(wrong_value)?;
                self.check_isolation(level)?;
                self.set_variable_pair(
                    ["transaction_isolation", "tx_isolation"],
                    global,
                    text(level),
                );
                return Ok(());
            }
            "collation_connection" => {
                let collation = Collation::named(&crate::expr::cast::to_text(&datum))?;
                return self.set_collation_connection(collation, global);
            }
            // A character set's default collation comes with it.
            "character_set_connection" => {
                self.set_collation_connection(Collation::default(), global)?;
                datum
            }
            "foreign_key_checks" => {
                let on = switch(&datum).ok_or_else(wrong_value)?;
                if !global {
                    self.foreign_key_checks = on;
                }
                Datum::I64(on as i64)
            }
            "transaction_read_only" | "tx_read_only" => {
                let on = switch(&datum).ok_or_else(wrong_value)?;
                let value = Datum::I64(on as i64);
                self.set_variable_pair(["transaction_read_only", "tx_read_only"], global, value);
                return Ok(());
            }
            "sql_mode" => {
                let mode = crate::expr::cast::to_text(&datum).to_uppercase();
                if !mode
                    .split(',')
                    .all(|f| f.is_empty() || SQL_MODES.contains(&f.trim()))
                {
                    return Err(wrong_value());
                }
                if let Some(flag) = mode
                    .split(',')
                    .map(str::trim)
                    .find(|f| UNSUPPORTED_SQL_MODES.contains(f))
                {
                    return Err(error::unsupported(&format!("sql_mode {flag}")));
                }
                let mode = canonical_sql_mode(&mode);
                if !global {
                    self.sql_mode = sql_mode_from(&mode);
                }
                text(mode)
            }
            // Milliseconds (negative is 0, as MySQL clamps it) and bytes (0 or
            // less for no limit, as in TiDB).
            "max_execution_time" | "tidb_mem_quota_query" => match datum {
                Datum::I64(n) if var == "max_execution_time" => Datum::I64(n.max(0)),
                Datum::I64(_) | Datum::U64(_) => datum,
                _ => {
                    return Err(SqlError::new(
                        1232,
                        "42000",
                        format!("Incorrect argument type to variable '{var}'"),
                    ));
                }
            },
            // The node's own settings: global-only, except the slow log's
            // threshold, which TiDB scopes to the instance either way.
            "max_running_statements"
            | "running_statements_queue_timeout"
            | "tidb_slow_log_threshold" => {
                if !global && var != "tidb_slow_log_threshold" {
                    return Err(global_only());
                }
                let n = match &datum {
                    Datum::I64(n) if *n >= 0 => *n as u64,
                    Datum::U64(n) => *n,
                    _ => return Err(wrong_value()),
                };
                match var.as_str() {
                    "max_running_statements" => self.engine.admission.set_limit(n as usize),
                    "running_statements_queue_timeout" => self.engine.admission.set_timeout_ms(n),
                    _ => self.engine.slow_log.set_threshold_ms(n),
                }
                self.engine.globals.set(&var, Datum::I64(n as i64));
                return Ok(());
            }
            "tidb_enable_tmp_storage_on_oom" => {
                if !global {
                    return Err(global_only());
                }
                let on = switch(&datum).ok_or_else(wrong_value)?;
                self.engine.tmp_storage.set_enabled(on);
                Datum::I64(on as i64)
            }
            // The node's memory: a share of the machine's or a size, and
            // the least a statement must hold to be the one stopped.
            "tidb_server_memory_limit" | "tidb_server_memory_limit_sess_min_size" => {
                if !global {
                    return Err(global_only());
                }
                let value = crate::expr::cast::to_text(&datum);
                let bytes = crate::memory::server_limit(&value, crate::memory::machine_memory());
                match (var.as_str(), bytes) {
                    ("tidb_server_memory_limit", Some(_)) => text(value.trim()),
                    (_, Some(n)) if !value.contains('%') => Datum::I64(n as i64),
                    _ => return Err(wrong_value()),
                }
            }
            _ => datum,
        };
        if global {
            self.engine.globals.set(&var, datum);
        } else {
            self.vars.insert(var, datum);
        }
        Ok(())
    }
}

/// The database CREATE SCHEMA names.
fn schema_database(name: &ast::SchemaName) -> Result<String, SqlError> {
    match name {
        ast::SchemaName::Simple(n) => database_name(n),
        other => Err(error::unsupported(&format!("CREATE SCHEMA {other}"))),
    }
}

/// The value of an ON/OFF variable: 1, 0, ON or OFF.
fn switch(value: &Datum) -> Option<bool> {
    match value {
        Datum::I64(v @ (0 | 1)) => Some(*v == 1),
        Datum::Bytes(b) if b.eq_ignore_ascii_case(b"ON") => Some(true),
        Datum::Bytes(b) if b.eq_ignore_ascii_case(b"OFF") => Some(false),
        _ => None,
    }
}

/// A SHOW's `WHERE` filter, if it has one.
fn show_where_of(options: &ast::ShowStatementOptions) -> Option<&ast::Expr> {
    match &options.filter_position {
        Some(ast::ShowStatementFilterPosition::Suffix(ast::ShowStatementFilter::Where(e)))
        | Some(ast::ShowStatementFilterPosition::Infix(ast::ShowStatementFilter::Where(e))) => {
            Some(e)
        }
        _ => None,
    }
}

fn like_pattern(options: &ast::ShowStatementOptions) -> Option<String> {
    match &options.filter_position {
        Some(ast::ShowStatementFilterPosition::Suffix(ast::ShowStatementFilter::Like(p)))
        | Some(ast::ShowStatementFilterPosition::Infix(ast::ShowStatementFilter::Like(p))) => {
            Some(p.clone())
        }
        _ => None,
    }
}

/// The wall-clock time in UTC (the session time zone, for now), computed
/// without libc's localtime (DESIGN §7 rule 4).
fn now() -> codec::DateTime {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    crate::expr::cast::datetime_from_unix_micros(micros)
}

/// Whether a pessimistic statement must lock a key it wrote. Entries of
/// non-unique indexes end with the row's handle, so only writers of that row,
/// who must lock its row key first, ever write them: locking them too would
/// only add work (TiDB skips them as well). Prewrite checks them for
/// conflicts after the transaction's `for_update_ts`, not its `start_ts`.
fn needs_row_lock(schema: &InfoSchema, key: &[u8]) -> bool {
    let Ok(codec::table::Key::Index { table, index, .. }) = codec::table::Key::decode(key) else {
        return true;
    };
    schema
        .table_by_id(table)
        .and_then(|t| t.indexes.iter().find(|i| i.id == index))
        .is_none_or(|i| i.unique)
}

#[cfg(test)]
mod tests {
    use super::{canonical_sql_mode, preprocess};

    #[test]
    fn sql_mode_is_kept_in_mysql_order_with_traditional_expanded() {
        assert_eq!(
            canonical_sql_mode("strict_trans_tables, NO_AUTO_VALUE_ON_ZERO,ONLY_FULL_GROUP_BY"),
            "ONLY_FULL_GROUP_BY,NO_AUTO_VALUE_ON_ZERO,STRICT_TRANS_TABLES"
        );
        assert_eq!(
            canonical_sql_mode("TRADITIONAL"),
            "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,NO_ENGINE_SUBSTITUTION"
        );
        assert_eq!(canonical_sql_mode(""), "");
    }

    #[test]
    fn placeholders_are_numbered_outside_quotes_and_comments() {
        let (sql, n) = preprocess(
            "SELECT '?', `?`, ? /* ? */ FROM t WHERE a = ? -- ?\n AND b = \"it''s ?\" # ?",
        );
        assert_eq!(n, 2);
        assert!(sql.contains(", ?0 /* ? */"), "{sql}");
        assert!(sql.contains("a = ?1"), "{sql}");
    }

    #[test]
    fn executable_comments_are_unwrapped() {
        let (sql, _) = preprocess(
            "/*!40101 SET @OLD=@@SQL_MODE */;CREATE TABLE t (a int) /*! ENGINE = innodb */",
        );
        assert_eq!(
            sql.trim_start(),
            "SET @OLD=@@SQL_MODE  ;CREATE TABLE t (a int)   ENGINE = innodb  "
        );
    }

    #[test]
    fn the_commas_of_an_update_table_list_are_cross_joins() {
        let (sql, _) = preprocess("update a, (SELECT x, y FROM c) d SET a.x = d.x, a.y = ','");
        assert_eq!(
            sql,
            "update a CROSS JOIN (SELECT x, y FROM c) d SET a.x = d.x, a.y = ','"
        );
        let (sql, _) = preprocess("SELECT 1, 2; UPDATE t SET a = 1, b = 2; UPDATE u,v SET c=1");
        assert_eq!(
            sql,
            "SELECT 1, 2; UPDATE t SET a = 1, b = 2; UPDATE u CROSS JOIN v SET c=1"
        );
        let (sql, _) = preprocess("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1, b = 2");
        assert_eq!(
            sql,
            "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1, b = 2"
        );
    }

    #[test]
    fn lock_in_share_mode_is_for_share_outside_quotes() {
        let (sql, _) = preprocess("SELECT 'lock in share mode' FROM t lock  IN\nshare MODE");
        assert_eq!(sql, "SELECT 'lock in share mode' FROM t FOR SHARE");
        let (sql, _) = preprocess("SELECT block IN share MODE, lock_in FROM t");
        assert_eq!(sql, "SELECT block IN share MODE, lock_in FROM t");
    }
}
