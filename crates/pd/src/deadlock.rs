//! The cluster's wait-for graph, for deadlock detection.
//!
//! A pessimistic statement that meets another transaction's lock waits on
//! the store holding the key. Two transactions can wait for each other on
//! different stores, so no store alone sees the cycle; every store reports
//! its waits here instead. Each waiting transaction waits for exactly one
//! holder, so the graph is a map `waiter → holder`, and a wait that would
//! close a cycle is refused (MySQL's error 1213 for the waiter) instead of
//! waiting until a lock's TTL runs out.
//!
//! A wait stands until its store ends it or its time runs out: a store
//! that dies in the middle of a wait leaves no edge behind for long, and a
//! stale edge could only make a later wait look like a deadlock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Who waits for whom, and until when.
#[derive(Default)]
pub struct WaitForGraph {
    edges: HashMap<u64, (u64, Instant)>,
}

impl WaitForGraph {
    /// Record that transaction `waiter` waits for `holder` until `now +
    /// ttl`, unless that closes a cycle (a deadlock): then nothing is
    /// recorded and `false` comes back.
    pub fn begin_wait(&mut self, waiter: u64, holder: u64, ttl: Duration, now: Instant) -> bool {
        self.edges.retain(|_, (_, until)| *until > now);
        let mut at = holder;
        for _ in 0..=self.edges.len() {
            if at == waiter {
                return false;
            }
            match self.edges.get(&at) {
                Some(&(next, _)) => at = next,
                None => break,
            }
        }
        self.edges.insert(waiter, (holder, now + ttl));
        true
    }

    /// Transaction `waiter` no longer waits.
    pub fn end_wait(&mut self, waiter: u64) {
        self.edges.remove(&waiter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(2);

    #[test]
    fn cycles_are_refused() {
        let mut graph = WaitForGraph::default();
        let now = Instant::now();
        assert!(graph.begin_wait(1, 2, TTL, now));
        assert!(graph.begin_wait(2, 3, TTL, now));
        assert!(
            !graph.begin_wait(3, 1, TTL, now),
            "3 → 1 → 2 → 3 is a cycle"
        );
        assert!(graph.begin_wait(4, 1, TTL, now));
        graph.end_wait(2);
        assert!(
            graph.begin_wait(3, 1, TTL, now),
            "the cycle is gone once 2 stops waiting"
        );
    }

    #[test]
    fn a_wait_nobody_ended_runs_out() {
        let mut graph = WaitForGraph::default();
        let now = Instant::now();
        assert!(graph.begin_wait(1, 2, TTL, now));
        assert!(!graph.begin_wait(2, 1, TTL, now));
        assert!(
            graph.begin_wait(2, 1, TTL, now + TTL),
            "1's wait ended with its time"
        );
    }
}
