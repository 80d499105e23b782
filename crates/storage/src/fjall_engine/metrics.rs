//! The engine as Prometheus sees it: what the write path counts itself
//! (batches, keys, journal syncs and their time) and what fjall reports on
//! request (memtables, pending flushes, compactions, tables per family,
//! block cache use and hits), read when `/metrics` is scraped.

use super::{Inner, cf_index};
use crate::Cf;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{CounterVec, IntCounterVec, IntGaugeVec, Opts};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// Counters of the write path, bumped as it runs.
#[derive(Default)]
pub(super) struct WriteStats {
    pub batches: AtomicU64,
    pub keys: AtomicU64,
    pub syncs: AtomicU64,
    pub sync_nanos: AtomicU64,
}

impl WriteStats {
    pub fn wrote(&self, keys: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.keys.fetch_add(keys as u64, Ordering::Relaxed);
    }

    pub fn synced(&self, took: std::time::Duration) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.sync_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Reads an engine's figures at each scrape. Holds the engine weakly: a
/// closed engine reports nothing.
pub struct EngineCollector {
    inner: Weak<Inner>,
    counters: IntCounterVec,
    seconds: CounterVec,
    gauges: IntGaugeVec,
    per_family: IntGaugeVec,
    block_loads: IntCounterVec,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

impl EngineCollector {
    pub(super) fn new(inner: &Arc<Inner>) -> prometheus::Result<Self> {
        Ok(Self {
            inner: Arc::downgrade(inner),
            counters: IntCounterVec::new(
                opts(
                    "basalt_engine_events_total",
                    "Engine events: write batches, keys written, journal syncs, compactions done",
                ),
                &["event"],
            )?,
            seconds: CounterVec::new(
                opts(
                    "basalt_engine_seconds_total",
                    "Time the engine spent syncing its journal and compacting",
                ),
                &["work"],
            )?,
            gauges: IntGaugeVec::new(
                opts(
                    "basalt_engine_state",
                    "Engine state now: memtable bytes, flushes pending, compactions running, journals, block cache bytes",
                ),
                &["what"],
            )?,
            per_family: IntGaugeVec::new(
                opts(
                    "basalt_engine_tables",
                    "Tables (SSTs) per column family, all levels and level 0",
                ),
                &["cf", "level"],
            )?,
            block_loads: IntCounterVec::new(
                opts(
                    "basalt_engine_block_loads_total",
                    "Blocks read per column family, from the block cache or from disk",
                ),
                &["cf", "from"],
            )?,
        })
    }
}

impl Collector for EngineCollector {
    fn desc(&self) -> Vec<&Desc> {
        [
            self.counters.desc(),
            self.seconds.desc(),
            self.gauges.desc(),
            self.per_family.desc(),
            self.block_loads.desc(),
        ]
        .concat()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(inner) = self.inner.upgrade() else {
            return Vec::new();
        };
        let stats = &inner.stats;
        let db = &inner.db;
        for (event, value) in [
            ("write_batches", stats.batches.load(Ordering::Relaxed)),
            ("keys_written", stats.keys.load(Ordering::Relaxed)),
            ("journal_syncs", stats.syncs.load(Ordering::Relaxed)),
            ("compactions", db.compactions_completed() as u64),
        ] {
            let counter = self.counters.with_label_values(&[event]);
            counter.inc_by(value.saturating_sub(counter.get()));
        }
        for (work, value) in [
            (
                "journal_sync",
                stats.sync_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            ),
            ("compaction", db.time_compacting().as_secs_f64()),
        ] {
            let counter = self.seconds.with_label_values(&[work]);
            counter.inc_by((value - counter.get()).max(0.0));
        }
        for (what, value) in [
            ("memtable_bytes", db.write_buffer_size()),
            ("flushes_pending", db.outstanding_flushes() as u64),
            ("compactions_running", db.active_compactions() as u64),
            ("journals", db.journal_count() as u64),
            ("block_cache_bytes", db.cache_size()),
        ] {
            self.gauges.with_label_values(&[what]).set(value as i64);
        }
        for cf in Cf::ALL {
            let family = &inner.families[cf_index(cf)];
            let tables = [("all", family.table_count()), ("0", family.l0_table_count())];
            for (level, count) in tables {
                self.per_family
                    .with_label_values(&[cf.name(), level])
                    .set(count as i64);
            }
            let m = family.metrics();
            for (from, value) in [
                ("cache", m.block_load_cached_count()),
                ("disk", m.block_load_io_count()),
            ] {
                let counter = self.block_loads.with_label_values(&[cf.name(), from]);
                counter.inc_by((value as u64).saturating_sub(counter.get()));
            }
        }
        [
            self.counters.collect(),
            self.seconds.collect(),
            self.gauges.collect(),
            self.per_family.collect(),
            self.block_loads.collect(),
        ]
        .concat()
    }
}
