//! What one statement may hold in memory: `tidb_mem_quota_query`.
//!
//! A join of a few modest tables can hold more rows than the machine has
//! memory for, and one statement would take every session of the node down
//! with it. Each statement has a [`StatementMemory`]: an operator charges
//! what it holds (a join's inner side, an aggregation's groups, a sort's
//! input) while it grows and releases it when done, and a plan's result is
//! charged until its statement ends. Past the quota the statement fails
//! with TiDB's error 8175; its connection stays usable and no other
//! statement notices. (Spilling to disk instead of failing comes later.)

use crate::result::SqlError;
use codec::Datum;
use prometheus::IntCounter;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// TiDB's default `tidb_mem_quota_query`: 1 GiB.
pub const DEFAULT_QUOTA: i64 = 1 << 30;

/// A statement's rows in memory against its quota. Atomics only so that
/// operators holding a shared reference can check it; one statement runs
/// on one task, so nothing contends.
#[derive(Debug, Default)]
pub struct StatementMemory {
    held: AtomicUsize,
    peak: AtomicUsize,
    /// Bytes allowed; 0 for no limit.
    quota: usize,
}

impl StatementMemory {
    /// A tracker for `quota` bytes (`tidb_mem_quota_query`; 0 or less is
    /// no limit, as in TiDB).
    pub fn new(quota: i64) -> Self {
        Self {
            quota: quota.max(0) as usize,
            ..Self::default()
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
        Ok(())
    }

    /// Charge `bytes` an operator holds (a hash table, a DISTINCT's seen
    /// keys) until it releases them ([`Self::release`]) or its plan ends
    /// ([`Self::replace`]); 8175 past the quota.
    pub fn grow(&self, bytes: usize) -> Result<(), SqlError> {
        self.check(bytes)?;
        self.held.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    /// `bytes` charged with [`Self::grow`] are no longer held.
    pub fn release(&self, bytes: usize) {
        // Never below zero: a statement's end resets what it held.
        let _ = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |h| {
                Some(h.saturating_sub(bytes))
            });
    }

    /// 8175 if `growing` more bytes than are charged pass the quota (an
    /// operator's output still being built).
    pub fn check(&self, growing: usize) -> Result<(), SqlError> {
        let total = self.held().saturating_add(growing);
        self.peak.fetch_max(total, Ordering::Relaxed);
        if self.quota != 0 && total > self.quota {
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
        let memory = StatementMemory::new(1000);
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
        assert!(StatementMemory::new(0).check(usize::MAX).is_ok());
    }

    #[test]
    fn bytes_print_as_tidb_prints_them() {
        assert_eq!(format_bytes(512), "512 Bytes");
        assert_eq!(format_bytes(1536), "1.50 KB");
        assert_eq!(format_bytes(3 << 30), "3.00 GB");
    }
}
