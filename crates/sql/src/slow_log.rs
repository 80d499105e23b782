//! The slow query log, in TiDB's format, and `INFORMATION_SCHEMA.SLOW_QUERY`
//! over it.
//!
//! A statement that ran at least `tidb_slow_log_threshold` milliseconds
//! (default 300) is appended to the node's slow log file as one entry:
//! `# Field: value` lines, then `use db;` when a database is selected,
//! then the statement. The fields say where the time went: parsing,
//! planning (a query's; DML plans as it runs), execution, waiting on
//! stores and PD (`KV_total`), and committing. TiDB's tools
//! (`pt-query-digest --type tidb`, TiDB Dashboard) read the format.
//!
//! Only slow statements pay anything beyond a comparison: the entry is
//! formatted and written (under a mutex, one write per entry) only then.

use crate::result::SqlError;
use codec::Datum;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `tidb_slow_log_threshold` by default, in milliseconds (TiDB's).
pub const DEFAULT_THRESHOLD_MS: u64 = 300;

/// The most of the file SLOW_QUERY reads: its newest part.
const READ_LIMIT: u64 = 64 << 20;

/// A node's slow query log.
pub struct SlowLog {
    threshold_ms: AtomicU64,
    file: Mutex<Option<(PathBuf, std::fs::File)>>,
}

impl Default for SlowLog {
    fn default() -> Self {
        Self {
            threshold_ms: AtomicU64::new(DEFAULT_THRESHOLD_MS),
            file: Mutex::new(None),
        }
    }
}

/// Where a slow statement's time went, and what it was.
pub struct Entry<'a> {
    /// Unix time the statement ended, in microseconds.
    pub end_unix_micros: i64,
    pub txn_start_ts: u64,
    pub user: &'a str,
    pub host: &'a str,
    pub conn_id: u32,
    pub query_time: Duration,
    pub parse_time: Duration,
    pub compile_time: Duration,
    pub kv_time: Duration,
    pub commit_time: Duration,
    pub db: Option<&'a str>,
    pub result_rows: u64,
    pub succ: bool,
    pub query: &'a str,
}

/// SLOW_QUERY's columns, in order (TiDB's names; `Exec_time` is ours).
pub const COLUMNS: [&str; 15] = [
    "Time",
    "Txn_start_ts",
    "User",
    "Host",
    "Conn_ID",
    "Query_time",
    "Parse_time",
    "Compile_time",
    "Exec_time",
    "KV_total",
    "Commit_time",
    "DB",
    "Result_rows",
    "Succ",
    "Query",
];

impl SlowLog {
    /// Append entries to `path` from now on (created if missing).
    pub fn open(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = Some((path.to_owned(), file));
        Ok(())
    }

    /// The threshold now, in milliseconds.
    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Change the threshold (milliseconds; 0 logs every statement).
    pub fn set_threshold_ms(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// Whether a statement that took `took` belongs in the log.
    pub fn is_slow(&self, took: Duration) -> bool {
        took.as_millis() as u64 >= self.threshold_ms()
    }

    /// Append `entry`. A log that cannot be written is reported once per
    /// failure in the server's log, never to the client.
    pub fn write(&self, entry: &Entry) {
        let mut guard = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((path, file)) = guard.as_mut()
            && let Err(e) = file.write_all(format_entry(entry).as_bytes())
        {
            tracing::warn!("writing the slow log {}: {e}", path.display());
        }
    }

    /// SLOW_QUERY's rows: the entries of the file (its newest 64 MiB).
    pub fn rows(&self) -> Result<Vec<Vec<Datum>>, SqlError> {
        let path = match &*self.file.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((path, _)) => path.clone(),
            None => return Ok(Vec::new()),
        };
        let text = read_tail(&path).map_err(|e| {
            SqlError::new(
                1105,
                "HY000",
                format!("reading the slow log {}: {e}", path.display()),
            )
        })?;
        Ok(parse(&text))
    }
}

fn read_tail(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(READ_LIMIT)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn seconds(d: Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

/// One entry in TiDB's slow log format.
fn format_entry(e: &Entry) -> String {
    let time = crate::expr::cast::datetime_from_unix_micros(e.end_unix_micros);
    let exec = e
        .query_time
        .saturating_sub(e.parse_time + e.compile_time + e.commit_time);
    let mut out = format!(
        "# Time: {}\n# Txn_start_ts: {}\n# User@Host: {user}[{user}] @ {host} [{host}]\n# Conn_ID: {}\n\
         # Query_time: {}\n# Parse_time: {}\n# Compile_time: {}\n# Exec_time: {}\n# KV_total: {}\n\
         # Commit_time: {}\n# DB: {}\n# Result_rows: {}\n# Succ: {}\n",
        time_text(&time),
        e.txn_start_ts,
        e.conn_id,
        seconds(e.query_time),
        seconds(e.parse_time),
        seconds(e.compile_time),
        seconds(exec),
        seconds(e.kv_time),
        seconds(e.commit_time),
        e.db.unwrap_or(""),
        e.result_rows,
        e.succ,
        user = e.user,
        host = e.host,
    );
    if let Some(db) = e.db {
        out.push_str(&format!("use {db};\n"));
    }
    // A statement is one entry: its own lines may not look like fields.
    let query = e.query.trim_end().trim_end_matches(';').replace("\n#", "\n #");
    out.push_str(&query);
    out.push_str(";\n");
    out
}

/// `2026-12-03T19:30:00.123456Z`, TiDB's `# Time:` stamp.
fn time_text(t: &codec::DateTime) -> String {
    let text = crate::expr::cast::to_text(&Datum::DateTime(*t));
    format!("{}Z", text.replacen(' ', "T", 1))
}

/// The entries of a slow log's text, as SLOW_QUERY rows.
fn parse(text: &str) -> Vec<Vec<Datum>> {
    let mut rows = Vec::new();
    let mut fields: Vec<(&str, &str)> = Vec::new();
    let mut query = String::new();
    let mut flush = |fields: &mut Vec<(&str, &str)>, query: &mut String| {
        if fields.is_empty() {
            return;
        }
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == name)
                .map_or("", |(_, v)| *v)
        };
        let (user, host) = match field("User@Host").split_once(" @ ") {
            Some((u, h)) => (
                u.split('[').next().unwrap_or(u).to_string(),
                h.split(" [").next().unwrap_or(h).to_string(),
            ),
            None => (String::new(), String::new()),
        };
        let number = |name: &str| match field(name).parse::<f64>() {
            Ok(v) => Datum::F64(v),
            Err(_) => Datum::Null,
        };
        let integer = |name: &str| match field(name).parse::<i64>() {
            Ok(v) => Datum::I64(v),
            Err(_) => Datum::Null,
        };
        let text = |s: &str| Datum::Bytes(s.as_bytes().to_vec());
        let time = field("Time").trim_end_matches('Z').replacen('T', " ", 1);
        rows.push(vec![
            text(&time),
            integer("Txn_start_ts"),
            text(&user),
            text(&host),
            integer("Conn_ID"),
            number("Query_time"),
            number("Parse_time"),
            number("Compile_time"),
            number("Exec_time"),
            number("KV_total"),
            number("Commit_time"),
            text(field("DB")),
            integer("Result_rows"),
            Datum::I64(i64::from(field("Succ") == "true")),
            text(query.trim_end().trim_end_matches(';')),
        ]);
        fields.clear();
        query.clear();
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            if rest.starts_with("Time: ") && !query.is_empty() {
                flush(&mut fields, &mut query);
            }
            if let Some((k, v)) = rest.split_once(": ") {
                fields.push((k, v));
                continue;
            }
        }
        if query.is_empty() && line.starts_with("use ") && line.ends_with(';') {
            continue;
        }
        if !query.is_empty() {
            query.push('\n');
        }
        query.push_str(line);
    }
    flush(&mut fields, &mut query);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(query: &'a str, succ: bool) -> Entry<'a> {
        Entry {
            end_unix_micros: 1_796_325_000_123_456,
            txn_start_ts: 42,
            user: "root",
            host: "127.0.0.1",
            conn_id: 7,
            query_time: Duration::from_millis(512),
            parse_time: Duration::from_micros(10),
            compile_time: Duration::from_micros(20),
            kv_time: Duration::from_millis(300),
            commit_time: Duration::from_millis(100),
            db: Some("test"),
            result_rows: 3,
            succ,
            query,
        }
    }

    #[test]
    fn entries_read_back_as_they_were_written() {
        let text = format_entry(&entry("SELECT 1,\n# not a field\n 2", true))
            + &format_entry(&entry("UPDATE t SET a = 1;", false));
        assert!(text.starts_with("# Time: 2026-"), "{text}");
        assert!(text.contains("# User@Host: root[root] @ 127.0.0.1 [127.0.0.1]\n"));
        let rows = parse(&text);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let (a, b) = (&rows[0], &rows[1]);
        assert_eq!(a[1], Datum::I64(42));
        assert_eq!(a[2], Datum::Bytes(b"root".to_vec()));
        assert_eq!(a[3], Datum::Bytes(b"127.0.0.1".to_vec()));
        assert_eq!(a[4], Datum::I64(7));
        assert_eq!(a[5], Datum::F64(0.512));
        assert_eq!(a[8], Datum::F64(0.41197));
        assert_eq!(a[11], Datum::Bytes(b"test".to_vec()));
        assert_eq!(a[12], Datum::I64(3));
        assert_eq!(a[13], Datum::I64(1));
        assert_eq!(a[14], Datum::Bytes(b"SELECT 1,\n # not a field\n 2".to_vec()));
        assert_eq!(b[13], Datum::I64(0));
        assert_eq!(b[14], Datum::Bytes(b"UPDATE t SET a = 1".to_vec()));
    }
}
