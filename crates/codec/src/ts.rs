//! The timestamp layout shared by PD (which composes timestamps) and the
//! transaction layer (which reads their wall-clock part to expire locks).
//!
//! A timestamp is `physical_ms << 18 | logical`: milliseconds since the Unix
//! epoch in the high bits, a counter for the 262,144 timestamps one
//! millisecond can hand out in the low bits. Plain `u64` order is time order.

/// Bits of the logical counter.
pub const LOGICAL_BITS: u32 = 18;
/// Largest logical counter value in one millisecond.
pub const MAX_LOGICAL: u64 = (1 << LOGICAL_BITS) - 1;

/// Distance between consecutive timestamps of the oracle: it hands out even
/// timestamps only, and the odd ones in between are left to one-phase
/// commits, which choose their commit timestamp themselves (one above the
/// reads a store has served, see [`one_pc_commit_ts`]). So such a commit
/// never lands on another transaction's start timestamp, where a rollback
/// record of that transaction would overwrite it, or be overwritten.
pub const STEP: u64 = 2;

/// The read timestamp of "the newest committed version": an autocommit
/// statement that reads one key reads at it instead of asking PD for a
/// timestamp (TiDB's max-ts point get). One key read on its region's leader
/// is a consistent, linearizable snapshot by itself; a lock in the way
/// makes the reader take a real timestamp and read again, except the lock
/// a transaction holds on its own primary key, which means it has not
/// committed yet, so the version before it is the newest committed one.
/// Such reads are not noted as reads at a timestamp: nothing later can be
/// committed "below" them.
pub const LATEST: u64 = u64::MAX;

/// The smallest odd timestamp above `ts`: what a one-phase commit takes
/// when `ts` is the newest timestamp it must follow.
pub fn one_pc_commit_ts(ts: u64) -> u64 {
    (ts + 1) | 1
}

/// Build a timestamp from wall-clock milliseconds and a counter.
pub fn compose(physical_ms: u64, logical: u64) -> u64 {
    (physical_ms << LOGICAL_BITS) | (logical & MAX_LOGICAL)
}

/// Milliseconds since the Unix epoch now: the clock of a timestamp's
/// physical part, which PD composes timestamps from and clients measure
/// how long a transaction has run against.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The wall-clock milliseconds of a timestamp.
pub fn physical_ms(ts: u64) -> u64 {
    ts >> LOGICAL_BITS
}

/// The counter part of a timestamp.
pub fn logical(ts: u64) -> u64 {
    ts & MAX_LOGICAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_phase_commits_take_odd_timestamps_above() {
        assert_eq!(one_pc_commit_ts(10), 11);
        assert_eq!(one_pc_commit_ts(11), 13);
        assert_eq!(compose(5, 0) % STEP, 0);
    }

    #[test]
    fn parts_round_trip_and_order() {
        let ts = compose(1_700_000_000_000, 7);
        assert_eq!((physical_ms(ts), logical(ts)), (1_700_000_000_000, 7));
        assert!(compose(1, MAX_LOGICAL) < compose(2, 0));
    }
}
