//! MySQL's errors, with its numbers, SQLSTATEs and wording, so clients and
//! tools that match on them (ORMs, sysbench's retry list, mysqldump) behave
//! as they do against MySQL.

use crate::result::SqlError;

impl SqlError {
    /// An error with an explicit code, SQLSTATE and message.
    pub fn new(code: u16, state: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            state,
            message: message.into(),
        }
    }
}

/// 1064: a statement that does not parse; `near` is the text from where the
/// parser gave up, as MySQL quotes it.
pub fn syntax(near: &str, line: u64) -> SqlError {
    let near: String = near.chars().take(80).collect();
    SqlError::new(
        1064,
        "42000",
        format!(
            "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line {line}"
        ),
    )
}

/// 1146.
pub fn no_such_table(db: &str, table: &str) -> SqlError {
    SqlError::new(1146, "42S02", format!("Table '{db}.{table}' doesn't exist"))
}

/// 1054; `clause` is MySQL's name for where the column was used
/// ('field list', 'where clause', 'order clause', ...).
pub fn unknown_column(column: &str, clause: &str) -> SqlError {
    SqlError::new(
        1054,
        "42S22",
        format!("Unknown column '{column}' in '{clause}'"),
    )
}

/// 1049.
pub fn unknown_database(db: &str) -> SqlError {
    SqlError::new(1049, "42000", format!("Unknown database '{db}'"))
}

/// 1046.
pub fn no_database_selected() -> SqlError {
    SqlError::new(1046, "3D000", "No database selected")
}

/// 1062; `key` is `table.index` as MySQL 8 names it (`t.PRIMARY`).
pub fn duplicate_entry(value: &str, key: &str) -> SqlError {
    SqlError::new(
        1062,
        "23000",
        format!("Duplicate entry '{value}' for key '{key}'"),
    )
}

/// 1048.
pub fn column_cannot_be_null(column: &str) -> SqlError {
    SqlError::new(1048, "23000", format!("Column '{column}' cannot be null"))
}

/// 1406.
pub fn data_too_long(column: &str, row: u64) -> SqlError {
    SqlError::new(
        1406,
        "22001",
        format!("Data too long for column '{column}' at row {row}"),
    )
}

/// 1264.
pub fn out_of_range(column: &str, row: u64) -> SqlError {
    SqlError::new(
        1264,
        "22003",
        format!("Out of range value for column '{column}' at row {row}"),
    )
}

/// 1365.
pub fn division_by_zero() -> SqlError {
    SqlError::new(1365, "22012", "Division by 0")
}

/// 1050.
pub fn table_exists(table: &str) -> SqlError {
    SqlError::new(1050, "42S01", format!("Table '{table}' already exists"))
}

/// 1007.
pub fn database_exists(db: &str) -> SqlError {
    SqlError::new(
        1007,
        "HY000",
        format!("Can't create database '{db}'; database exists"),
    )
}

/// 1008.
pub fn cannot_drop_missing_database(db: &str) -> SqlError {
    SqlError::new(
        1008,
        "HY000",
        format!("Can't drop database '{db}'; database doesn't exist"),
    )
}

/// 1051.
pub fn unknown_table(qualified: &str) -> SqlError {
    SqlError::new(1051, "42S02", format!("Unknown table '{qualified}'"))
}

/// 1235: a statement or feature Basalt does not implement yet.
pub fn unsupported(what: &str) -> SqlError {
    SqlError::new(
        1235,
        "42000",
        format!("This version of Basalt doesn't yet support '{what}'"),
    )
}

/// 1213: the transaction lost a write conflict and must be run again.
/// MySQL reports deadlocks this way, and applications (and sysbench) retry
/// on it, which is exactly what a write conflict asks for.
pub fn write_conflict(detail: &str) -> SqlError {
    SqlError::new(
        1213,
        "40001",
        format!("Deadlock found when trying to get lock; try restarting transaction ({detail})"),
    )
}

/// 1105: anything without a better MySQL code (a storage failure, say).
pub fn internal(message: impl std::fmt::Display) -> SqlError {
    SqlError::new(1105, "HY000", message.to_string())
}

/// How a failed KV operation looks to a MySQL client.
pub fn from_kv(e: kv_client::Error) -> SqlError {
    match e {
        kv_client::Error::WriteConflict { .. } | kv_client::Error::RolledBack { .. } => {
            write_conflict(&e.to_string())
        }
        kv_client::Error::Deadlock { .. } => SqlError::new(
            1213,
            "40001",
            "Deadlock found when trying to get lock; try restarting transaction",
        ),
        kv_client::Error::LockWaitTimeout { .. } | kv_client::Error::BackoffExhausted { .. } => {
            SqlError::new(
                1205,
                "HY000",
                format!("Lock wait timeout exceeded; try restarting transaction ({e})"),
            )
        }
        kv_client::Error::LockedNoWait { .. } => SqlError::new(
            3572,
            "HY000",
            "Statement aborted because lock(s) could not be acquired immediately and NOWAIT is set.",
        ),
        e => internal(e),
    }
}

/// 1317: `KILL` stopped the statement.
pub fn query_interrupted() -> SqlError {
    SqlError::new(1317, "70100", "Query execution was interrupted")
}
