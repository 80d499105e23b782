//! What one statement may hold in memory: `tidb_mem_quota_query`.
//!
//! A join of a few modest tables can hold more rows than the machine has
//! memory for, and one statement would take every session of the node down
//! with it. Each statement has a [`StatementMemory`]: an operator charges
//! what it holds (a join's inner side, an aggregation's groups, a sort's
//! input) while it grows and releases it when done, and a plan's result is
//! charged until its statement ends. Past the quota the statement fails
//! with TiDB's error 8175; its connection stays usable and no other
//! statement notices, unless the operator can put what it holds on disk
//! instead ([`TmpStorage`], `tidb_enable_tmp_storage_on_oom`): a sort
//! writes its rows to a temporary file and goes on.

use crate::process::{Kill, Process, ProcessList};
use crate::result::SqlError;
use codec::Datum;
use prometheus::IntCounter;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

/// TiDB's default `tidb_mem_quota_query`: 1 GiB.
pub const DEFAULT_QUOTA: i64 = 1 << 30;

/// A statement's rows in memory against its quota. Atomics only so that
/// operators holding a shared reference can check it; one statement runs
/// on one task, so nothing contends. What it holds is also published in
/// its connection's process entry, where `tidb_server_memory_limit` looks
/// for the statement holding the most.
#[derive(Debug, Default)]
pub struct StatementMemory<'a> {
    held: AtomicUsize,
    peak: AtomicUsize,
    /// Bytes allowed; 0 for no limit.
    quota: usize,
    process: Option<&'a Process>,
    tmp: Option<&'a TmpStorage>,
}

impl<'a> StatementMemory<'a> {
    /// A tracker for `quota` bytes (`tidb_mem_quota_query`; 0 or less is
    /// no limit, as in TiDB) of a statement of `process`.
    pub fn new(quota: i64, process: Option<&'a Process>) -> Self {
        Self {
            quota: quota.max(0) as usize,
            process,
            ..Self::default()
        }
    }

    /// Operators may put what passes the quota in `tmp`'s files when it
    /// allows.
    pub fn spilling_to(self, tmp: &'a TmpStorage) -> Self {
        Self {
            tmp: Some(tmp),
            ..self
        }
    }

    /// A temporary file for what an operator cannot hold, or `None` when it
    /// must not spill (`tidb_enable_tmp_storage_on_oom` off): then the
    /// quota stops its statement.
    pub fn spill_file(&self) -> Option<Result<File, SqlError>> {
        self.tmp.filter(|t| t.enabled()).map(TmpStorage::file)
    }

    fn publish(&self, held: usize) {
        if let Some(p) = self.process {
            p.set_memory(held);
        }
    }

    /// The bytes charged now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// The most bytes charged at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// A plan finished: what its operators held (everything charged since
    /// `before`) is released and its `output` charged instead.
    pub fn replace(&self, before: usize, output: usize) -> Result<(), SqlError> {
        self.held.store(before, Ordering::Relaxed);
        self.check(output)?;
        let now = before + output;
        self.held.store(now, Ordering::Relaxed);
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.publish(now);
        Ok(())
    }

    /// Charge `bytes` an operator holds (a hash table, a DISTINCT's seen
    /// keys) until it releases them ([`Self::release`]) or its plan ends
    /// ([`Self::replace`]); 8175 past the quota.
    pub fn grow(&self, bytes: usize) -> Result<(), SqlError> {
        self.check(bytes)?;
        let now = self.held.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.publish(now);
        Ok(())
    }

    /// `bytes` charged with [`Self::grow`] are no longer held.
    pub fn release(&self, bytes: usize) {
        // Never below zero: a statement's end resets what it held.
        let was = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                Some(h.saturating_sub(bytes))
            });
        self.publish(was.unwrap_or(0).saturating_sub(bytes));
    }

    /// Bytes allowed; 0 for no limit.
    pub fn quota(&self) -> usize {
        self.quota
    }

    /// Whether `growing` more bytes than are charged stay within the quota.
    pub fn fits(&self, growing: usize) -> bool {
        self.quota == 0 || self.held().saturating_add(growing) <= self.quota
    }

    /// 8175 if `growing` more bytes than are charged pass the quota (an
    /// operator's output still being built).
    pub fn check(&self, growing: usize) -> Result<(), SqlError> {
        let total = self.held().saturating_add(growing);
        self.peak.fetch_max(total, Ordering::Relaxed);
        if !self.fits(growing) {
            QUOTA_EXCEEDED.inc();
            return Err(SqlError::new(
                8175,
                "HY000",
                "Your query has been cancelled due to exceeding the allowed memory limit for a single SQL query. Please try narrowing your query scope or increase the tidb_mem_quota_query limit and try again.",
            ));
        }
        Ok(())
    }
}

/// Where a node's operators put what does not fit in their statement's
/// quota: anonymous files (gone once closed, even after a crash) in a
/// directory under the data directory, TiDB's `tmp-storage-path`.
#[derive(Debug)]
pub struct TmpStorage {
    /// `tidb_enable_tmp_storage_on_oom` (global, default ON).
    enabled: AtomicBool,
    /// Set by the binary; the system's temporary directory until then.
    dir: OnceLock<PathBuf>,
}

impl Default for TmpStorage {
    fn default() -> Self {
        TmpStorage {
            enabled: AtomicBool::new(true),
            dir: OnceLock::new(),
        }
    }
}

impl TmpStorage {
    /// Put temporary files in `dir` (created when first needed). Only the
    /// first call counts.
    pub fn set_dir(&self, dir: PathBuf) {
        let _ = self.dir.set(dir);
    }

    /// `SET GLOBAL tidb_enable_tmp_storage_on_oom`.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn file(&self) -> Result<File, SqlError> {
        let dir = self.dir.get().cloned().unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&dir)
            .and_then(|()| tempfile::tempfile_in(&dir))
            .map_err(|e| tmp_storage_error(&e))
    }
}

/// MySQL's ER_ERROR_ON_WRITE for a temporary file that could not be made
/// or written.
pub fn tmp_storage_error(e: &std::io::Error) -> SqlError {
    SqlError::new(
        1026,
        "HY000",
        format!(
            "Error writing file 'tmp-storage' (errno: {} - {e})",
            e.raw_os_error().unwrap_or(0)
        ),
    )
}

/// Rows operators put on disk, by operator.
pub static SPILLS: LazyLock<prometheus::IntCounterVec> = LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "basalt_sql_spills_total",
        "Times an operator put the rows it held on disk, past tidb_mem_quota_query",
        &["operator"]
    )
    .expect("a metric registered once")
});

/// Bytes operators wrote to temporary files.
pub static SPILLED_BYTES: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_sql_spilled_bytes_total",
        "Bytes operators wrote to temporary files, past tidb_mem_quota_query"
    )
    .expect("a metric registered once")
});

/// TiDB's default `tidb_server_memory_limit`: 80% of the machine's memory.
pub const DEFAULT_SERVER_LIMIT: &str = "80%";

/// TiDB's default `tidb_server_memory_limit_sess_min_size`: a statement
/// holding less is never the one stopped.
pub const DEFAULT_SESSION_MIN: i64 = 128 << 20;

/// The bytes a `tidb_server_memory_limit` value allows: a share of the
/// machine's `total` memory (`80%`, from 1% to 99%), or a size (`2GB`,
/// `512MB`, `1073741824`; units of 1024). 0 is no limit. `None` for
/// anything else.
pub fn server_limit(value: &str, total: u64) -> Option<u64> {
    let value = value.trim();
    if let Some(percent) = value.strip_suffix('%') {
        let p: u64 = percent.trim().parse().ok()?;
        return (1..=99).contains(&p).then(|| total / 100 * p);
    }
    let upper = value.to_ascii_uppercase();
    let digits = upper.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit: u64 = match upper[digits.len()..].trim() {
        "" | "B" => 1,
        "KB" | "K" => 1 << 10,
        "MB" | "M" => 1 << 20,
        "GB" | "G" => 1 << 30,
        "TB" | "T" => 1 << 40,
        _ => return None,
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(unit)
}

/// The machine's memory in bytes (`MemTotal`), 0 if unknown (then a
/// share of it is no limit).
pub fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// TiDB's 8176: the node passed `tidb_server_memory_limit` and the
/// statement of connection `conn` held the most memory.
pub fn server_limit_exceeded(conn: u32) -> SqlError {
    SqlError::new(
        8176,
        "HY000",
        format!(
            "Your query has been cancelled due to exceeding the allowed memory limit for the tidb-server instance and this query is currently using the most memory. Please try narrowing your query scope or increase the tidb_server_memory_limit and try again.[conn={conn}]"
        ),
    )
}

/// One look at the node's memory: when `allocated` passes `limit` (0: no
/// limit), stop the statement holding the most, at least `min` bytes,
/// unless the one stopped last (`victim`) is still unwinding. True when
/// that one has just ended: the moment to hand what it held back to the
/// system (as TiDB runs Go's GC then).
pub fn enforce_server_limit(
    processes: &ProcessList,
    allocated: u64,
    limit: u64,
    min: usize,
    victim: &mut Option<Arc<Process>>,
) -> bool {
    if victim
        .as_ref()
        .is_some_and(|v| v.kill_state() == Kill::Memory)
    {
        return false;
    }
    let ended = victim.take().is_some();
    if limit != 0
        && allocated > limit
        && let Some(heaviest) = processes.heaviest(min)
    {
        processes.kill(heaviest.id(), Kill::Memory);
        SERVER_LIMIT_KILLS.inc();
        *victim = Some(heaviest);
    }
    ended
}

/// Statements stopped by `tidb_server_memory_limit`.
pub static SERVER_LIMIT_KILLS: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_sql_server_memory_limit_kills_total",
        "Statements stopped with 8176 by tidb_server_memory_limit"
    )
    .expect("a metric registered once")
});

/// Statements stopped by their memory quota.
pub static QUOTA_EXCEEDED: LazyLock<IntCounter> = LazyLock::new(|| {
    prometheus::register_int_counter!(
        "basalt_sql_memory_quota_exceeded_total",
        "Statements that failed with 8175, past tidb_mem_quota_query"
    )
    .expect("a metric registered once")
});

/// Bytes as TiDB's EXPLAIN ANALYZE prints them (`512 Bytes`, `1.50 KB`).
pub fn format_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} Bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// An estimate of the memory a row takes: its vector, its datums and the
/// bytes its strings own.
pub fn row_bytes(row: &[Datum]) -> usize {
    let strings: usize = row
        .iter()
        .map(|d| match d {
            Datum::Bytes(b) => b.capacity(),
            _ => 0,
        })
        .sum();
    size_of::<Vec<Datum>>() + std::mem::size_of_val(row) + strings
}

/// [`row_bytes`] of every row.
pub fn rows_bytes(rows: &[Vec<Datum>]) -> usize {
    rows.iter().map(|r| row_bytes(r)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_past_its_quota_fails_with_8175() {
        let memory = StatementMemory::new(1000, None);
        memory.replace(0, 600).unwrap();
        assert_eq!(memory.check(500).unwrap_err().code, 8175);
        // The inputs released, a smaller output fits.
        memory.replace(0, 900).unwrap();
        assert_eq!(memory.held(), 900);
        assert_eq!(memory.peak(), 1100);
        // What an operator holds besides its output counts until it ends.
        memory.grow(50).unwrap();
        assert_eq!(memory.grow(51).unwrap_err().code, 8175);
        memory.replace(900, 10).unwrap();
        assert_eq!(memory.held(), 910);
        assert!(StatementMemory::new(0, None).check(usize::MAX).is_ok());
    }

    #[test]
    fn server_limits_read_as_tidb_reads_them() {
        let total = 16 << 30;
        assert_eq!(server_limit("80%", total), Some(total / 100 * 80));
        assert_eq!(server_limit("2GB", total), Some(2 << 30));
        assert_eq!(server_limit("512 mb", total), Some(512 << 20));
        assert_eq!(server_limit("1073741824", total), Some(1 << 30));
        assert_eq!(server_limit("0", total), Some(0));
        for bad in ["100%", "0%", "2 lots", "GB", "-1"] {
            assert_eq!(server_limit(bad, total), None, "{bad}");
        }
    }

    #[test]
    fn the_server_limit_stops_the_heaviest_statement_once_at_a_time() {
        let processes = ProcessList::default();
        let (light, heavy) = (
            processes.register(1, "u", "h"),
            processes.register(2, "u", "h"),
        );
        light.set_memory(300);
        heavy.set_memory(500);
        let mut victim = None;
        // Under the limit, or nobody holding the least that counts: no one.
        enforce_server_limit(&processes, 900, 1000, 100, &mut victim);
        enforce_server_limit(&processes, 1100, 1000, 600, &mut victim);
        assert_eq!(heavy.kill_state(), Kill::None);
        assert!(!enforce_server_limit(
            &processes,
            1100,
            1000,
            100,
            &mut victim
        ));
        assert_eq!(heavy.kill_state(), Kill::Memory);
        // While it unwinds, nobody else is stopped.
        assert!(!enforce_server_limit(
            &processes,
            1100,
            1000,
            100,
            &mut victim
        ));
        assert_eq!(light.kill_state(), Kill::None);
        heavy.end();
        assert!(enforce_server_limit(
            &processes,
            1100,
            1000,
            100,
            &mut victim
        ));
        assert_eq!(light.kill_state(), Kill::Memory);
    }

    #[test]
    fn bytes_print_as_tidb_prints_them() {
        assert_eq!(format_bytes(512), "512 Bytes");
        assert_eq!(format_bytes(1536), "1.50 KB");
        assert_eq!(format_bytes(3 << 30), "3.00 GB");
    }
}
