//! System variables: the ones MySQL clients, drivers and tools read on
//! connect (`@@version_comment`, `@@max_allowed_packet`, `@@sql_mode`, ...)
//! or set (`SET NAMES`, `SET autocommit`), with MySQL 8's defaults.

use codec::Datum;
use std::collections::HashMap;
use std::sync::RwLock;

/// The server version MySQL clients see. Tools parse the leading number.
pub const VERSION: &str = "8.0.11-Basalt-0.1.0";

/// MySQL 8's default sql_mode.
pub const DEFAULT_SQL_MODE: &str = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

fn s(v: &str) -> Datum {
    Datum::Bytes(v.as_bytes().to_vec())
}

/// Every known variable with its default.
fn defaults() -> Vec<(&'static str, Datum)> {
    vec![
        ("auto_increment_increment", Datum::I64(1)),
        ("auto_increment_offset", Datum::I64(1)),
        ("autocommit", Datum::I64(1)),
        ("character_set_client", s("utf8mb4")),
        ("character_set_connection", s("utf8mb4")),
        ("character_set_database", s("utf8mb4")),
        ("character_set_filesystem", s("binary")),
        ("character_set_results", s("utf8mb4")),
        ("character_set_server", s("utf8mb4")),
        ("character_set_system", s("utf8mb3")),
        ("collation_connection", s("utf8mb4_general_ci")),
        ("collation_database", s("utf8mb4_general_ci")),
        ("collation_server", s("utf8mb4_general_ci")),
        ("default_storage_engine", s("InnoDB")),
        ("div_precision_increment", Datum::I64(4)),
        ("explicit_defaults_for_timestamp", Datum::I64(1)),
        ("foreign_key_checks", Datum::I64(1)),
        ("group_concat_max_len", Datum::I64(1024)),
        ("have_query_cache", s("NO")),
        ("hostname", s("localhost")),
        ("init_connect", s("")),
        ("innodb_lock_wait_timeout", Datum::I64(50)),
        ("innodb_snapshot_isolation", Datum::I64(0)),
        ("interactive_timeout", Datum::I64(28800)),
        ("license", s("Apache-2.0")),
        ("lower_case_table_names", Datum::I64(2)),
        ("max_allowed_packet", Datum::I64(67_108_864)),
        ("max_execution_time", Datum::I64(0)),
        // Set from the node's admission control when the engine opens.
        ("max_running_statements", Datum::I64(0)),
        ("net_buffer_length", Datum::I64(16384)),
        ("net_read_timeout", Datum::I64(30)),
        ("net_write_timeout", Datum::I64(60)),
        ("performance_schema", Datum::I64(0)),
        ("port", Datum::I64(4000)),
        ("protocol_version", Datum::I64(10)),
        ("query_cache_size", Datum::I64(0)),
        ("query_cache_type", s("OFF")),
        ("running_statements_queue_timeout", Datum::I64(0)),
        ("socket", s("")),
        ("sql_auto_is_null", Datum::I64(0)),
        ("sql_mode", s(DEFAULT_SQL_MODE)),
        ("sql_notes", Datum::I64(1)),
        ("sql_quote_show_create", Datum::I64(1)),
        ("sql_safe_updates", Datum::I64(0)),
        ("sql_select_limit", Datum::U64(u64::MAX)),
        ("system_time_zone", s("UTC")),
        ("tidb_enable_tmp_storage_on_oom", Datum::I64(1)),
        (
            "tidb_mem_quota_query",
            Datum::I64(crate::memory::DEFAULT_QUOTA),
        ),
        (
            "tidb_server_memory_limit",
            s(crate::memory::DEFAULT_SERVER_LIMIT),
        ),
        (
            "tidb_server_memory_limit_sess_min_size",
            Datum::I64(crate::memory::DEFAULT_SESSION_MIN),
        ),
        ("tidb_skip_isolation_level_check", Datum::I64(0)),
        ("tidb_slow_log_threshold", Datum::I64(300)),
        ("tidb_txn_mode", s("pessimistic")),
        ("time_zone", s("SYSTEM")),
        ("transaction_isolation", s("REPEATABLE-READ")),
        ("transaction_read_only", Datum::I64(0)),
        ("tx_isolation", s("REPEATABLE-READ")),
        ("tx_read_only", Datum::I64(0)),
        ("unique_checks", Datum::I64(1)),
        ("version", s(VERSION)),
        (
            "version_comment",
            s("Basalt, a distributed MySQL-compatible database"),
        ),
        ("version_compile_machine", s("x86_64")),
        ("version_compile_os", s("Linux")),
        ("wait_timeout", Datum::I64(28800)),
    ]
}

/// Whether `name` is a boolean variable: `@@name` reads 0 or 1, SHOW
/// VARIABLES shows OFF or ON, as MySQL.
pub fn is_switch(name: &str) -> bool {
    matches!(
        name,
        "autocommit"
            | "explicit_defaults_for_timestamp"
            | "foreign_key_checks"
            | "innodb_snapshot_isolation"
            | "performance_schema"
            | "sql_auto_is_null"
            | "sql_notes"
            | "sql_quote_show_create"
            | "sql_safe_updates"
            | "tidb_skip_isolation_level_check"
            | "transaction_read_only"
            | "tx_read_only"
            | "unique_checks"
    )
}

/// Global values, shared by all sessions of a node.
pub struct GlobalVariables {
    values: RwLock<HashMap<String, Datum>>,
}

impl Default for GlobalVariables {
    fn default() -> Self {
        let values = defaults()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Self {
            values: RwLock::new(values),
        }
    }
}

impl GlobalVariables {
    /// The global value of `name` (lowercase).
    pub fn get(&self, name: &str) -> Option<Datum> {
        self.values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The value `name` has before anyone sets it (`SET GLOBAL name =
    /// DEFAULT`).
    pub fn initial(name: &str) -> Option<Datum> {
        defaults()
            .into_iter()
            .find_map(|(n, v)| (n == name).then_some(v))
    }

    /// Set a global value; unknown names are refused.
    pub fn set(&self, name: &str, value: Datum) -> bool {
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        match values.get_mut(name) {
            Some(v) => {
                *v = value;
                true
            }
            None => false,
        }
    }

    /// All global values, sorted by name (SHOW GLOBAL VARIABLES).
    pub fn all(&self) -> Vec<(String, Datum)> {
        let mut all: Vec<_> = self
            .values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}
