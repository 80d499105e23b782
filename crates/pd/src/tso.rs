//! The timestamp oracle: strictly increasing timestamps, across restarts too.
//!
//! Timestamps are `physical_ms << 18 | logical` ([`codec::ts`]). Each
//! allocation takes `max(last + 1, now)`, so a clock that steps back never
//! makes time run backwards. To survive a restart without an fsync per
//! allocation, the oracle persists an upper *limit* a few seconds ahead and
//! hands out timestamps freely below it; after a restart it starts above the
//! persisted limit, which is above anything handed out before.

use crate::{Error, Result};
use codec::ts::{STEP, compose, now_ms, physical_ms};
use std::sync::Mutex;
use storage::{Cf, Engine, Snapshot, WriteBatch};

/// How far ahead of the last timestamp the persisted limit is set.
const WINDOW_MS: u64 = 3_000;
const LIMIT_KEY: &[u8] = b"pd/tso/limit";

struct State {
    /// The last timestamp handed out (or the limit found at start).
    last: u64,
    /// Nothing at or above this has been handed out, even before a crash.
    limit: u64,
}

/// A timestamp oracle persisting its window in `E`.
pub struct Tso<E: Engine> {
    engine: E,
    state: Mutex<State>,
}

impl<E: Engine> Tso<E> {
    /// Open the oracle, continuing above whatever it handed out before.
    pub fn open(engine: E) -> Result<Self> {
        let limit = match engine.snapshot().get(Cf::Default, LIMIT_KEY)? {
            Some(v) => u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| Error::Corrupt("tso limit"))?,
            ),
            None => 0,
        };
        Ok(Self {
            engine,
            state: Mutex::new(State { last: limit, limit }),
        })
    }

    /// Allocate `count` timestamps, [`STEP`] apart, and return the first. One
    /// call serves a whole batch of waiting transactions, so the lock here
    /// is taken once per batch, not once per transaction.
    pub fn allocate(&self, count: u32) -> Result<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = (state.last + STEP).max(compose(now_ms(), 0));
        let first = next.next_multiple_of(STEP);
        let last = first + (u64::from(count.max(1)) - 1) * STEP;
        if last >= state.limit {
            let limit = compose(physical_ms(last) + WINDOW_MS, 0);
            let mut batch = WriteBatch::new();
            batch.put(Cf::Default, LIMIT_KEY, limit.to_be_bytes());
            batch.set_sync(true);
            self.engine.write(batch)?;
            state.limit = limit;
        }
        state.last = last;
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use storage::{EngineConfig, FjallEngine};

    fn open(dir: &std::path::Path) -> Tso<FjallEngine> {
        Tso::open(FjallEngine::open(EngineConfig::new(dir)).unwrap()).unwrap()
    }

    #[test]
    fn strictly_increasing_within_and_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let mut last = 0;
        for _restart in 0..3 {
            let tso = open(dir.path());
            for count in [1, 5, 1000, 1] {
                let first = tso.allocate(count).unwrap();
                assert!(first > last, "{first} <= {last}");
                assert_eq!(first % STEP, 0, "odd timestamps are for one-phase commits");
                last = first + (u64::from(count) - 1) * STEP;
            }
        }
    }

    #[test]
    fn concurrent_allocations_never_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let tso = std::sync::Arc::new(open(dir.path()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let tso = tso.clone();
                std::thread::spawn(move || {
                    (0..2000)
                        .flat_map(|_| {
                            let first = tso.allocate(3).unwrap();
                            (0..3).map(move |i| first + i * STEP)
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
