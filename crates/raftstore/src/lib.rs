//! Multi-Raft: the regions of one store, each replicated as a raft-rs group.
//!
//! A region is a range of encoded keys with an epoch; each of its replicas
//! is a *peer*, one per store, and its peers form one Raft group. This
//! crate runs every peer of a store:
//!
//! - [`store::Store`] is the poller: one thread owns all peers, takes their
//!   messages, proposals and ticks from one channel, and handles them in
//!   rounds. A round persists every peer's new log entries in one batch and
//!   one fsync (group commit across regions), sends messages, then applies
//!   every committed entry in one more batch through the store's
//!   [`Apply`] hook, and only then answers the proposers.
//! - [`peer_storage`] is a peer's log and state (raft-rs's `Storage`), in
//!   memory and in the engine's `raft` family ([`keys`]).
//! - [`peer`] is one peer: its raft-rs `RawNode`, pending proposals and
//!   reads, and its leader lease.
//! - [`router::Router`] is how the rest of the store talks to the poller,
//!   and [`router::ReadDelegate`] lets a read check a leader's lease
//!   without a trip to the poller thread.
//!
//! Reads are served by a leader only: under a valid lease (a quorum heard
//! from the leader recently enough that no other peer can have been
//! elected since, see [`peer`]), or else after a ReadIndex round. A deposed
//! or stalled leader's lease has run out, so it never serves a stale read.

#![warn(missing_docs)]

pub mod cmd;
pub mod keys;
pub mod metrics;
pub mod peer;
pub mod peer_storage;
pub mod router;
pub mod store;

use proto::kvrpc::{Peer as PeerMeta, Region};
use std::time::Duration;
use storage::{KeyRange, WriteBatch};

pub use router::{ReadDelegate, Router};
pub use store::{Msg, Store};

/// Why a command or a read could not be served.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// This store's peer is not the region's leader (or cannot act as one
    /// now); the leader, if known, is given.
    #[error("region {region_id}: not leader")]
    NotLeader {
        /// The region.
        region_id: u64,
        /// Its leader, when this store knows it.
        leader: Option<PeerMeta>,
    },
    /// The request's epoch is not the region's: its range or members changed.
    #[error("epoch not match")]
    EpochNotMatch(Vec<Region>),
    /// This store holds no peer of the region.
    #[error("region {0} not found")]
    RegionNotFound(u64),
    /// The proposal lost its place in the log to another leader's entry: it
    /// did not take effect.
    #[error("stale command")]
    StaleCommand,
    /// An admin request that cannot be carried out as asked.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The store's engine failed.
    #[error("storage: {0}")]
    Storage(String),
    /// Persisted Raft state does not decode.
    #[error("corrupt raft state: {0}")]
    Corrupt(&'static str),
    /// The store is shutting down.
    #[error("store stopped")]
    Stopped,
}

impl From<storage::Error> for Error {
    fn from(e: storage::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What the store does with applied data. The raft layer owns the log; the
/// layer above (the transactional store) owns what the data means: caches
/// and in-memory lock tables derived from it must see every change.
pub trait Apply: Send + Sync + 'static {
    /// Write a batch of applied entries (data, plus the raft family's
    /// apply state) to the engine, and update what is derived from it.
    fn write(&self, batch: WriteBatch) -> storage::Result<()>;
    /// The data of `range` was replaced wholesale (a snapshot installed, a
    /// peer removed): drop and reload whatever was derived from it.
    fn range_replaced(&self, range: &KeyRange);
    /// Remove every key of `range` from the data families (a replicated
    /// range deletion), and whatever was derived from them.
    fn delete_range(&self, range: &KeyRange) -> storage::Result<()>;
    /// This store's peer of the region over `range` stopped leading it:
    /// whatever only a leader keeps in memory for the range (pessimistic
    /// locks) is stale. (A split's new region, led by the same store,
    /// keeps its parent's: they are still its leader's.)
    fn leadership_lost(&self, range: &KeyRange);
}

/// An [`Apply`] that only writes the engine: for stores with nothing
/// derived from their data (tests, tools).
pub struct PlainApply<E>(pub E);

impl<E: storage::Engine> Apply for PlainApply<E> {
    fn write(&self, batch: WriteBatch) -> storage::Result<()> {
        self.0.write(batch)
    }
    fn range_replaced(&self, _range: &KeyRange) {}
    fn delete_range(&self, range: &KeyRange) -> storage::Result<()> {
        self.0.delete_range(&storage::Cf::DATA, range)
    }
    fn leadership_lost(&self, _range: &KeyRange) {}
}

/// Raft settings of a store.
#[derive(Debug, Clone)]
pub struct Config {
    /// How often peers tick.
    pub tick_interval: Duration,
    /// Ticks without hearing from a leader before a follower campaigns;
    /// also what a leader's lease is derived from.
    pub election_ticks: usize,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_ticks: usize,
    /// fsync the log before acknowledging (off only in tests).
    pub sync_log: bool,
    /// Compact a peer's log once it keeps this many applied entries.
    pub log_gc_count: u64,
    /// Compact even past a lagging follower (which then needs a snapshot)
    /// once the log holds this many entries.
    pub log_gc_max: u64,
    /// Bytes of entries per append message.
    pub max_size_per_msg: u64,
    /// Append messages in flight per follower.
    pub max_inflight_msgs: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tick_interval: Duration::from_millis(100),
            election_ticks: 20,
            heartbeat_ticks: 4,
            sync_log: true,
            log_gc_count: 1024,
            log_gc_max: 16 * 1024,
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
        }
    }
}

impl Config {
    /// How long a leader may serve reads after a quorum acknowledged it:
    /// a follower refuses to vote for `election_ticks` ticks after hearing
    /// from its leader, and ticks never run faster than the clock (see
    /// [`store::Store::run`]); a tenth is left for clock drift.
    pub fn lease(&self) -> Duration {
        self.tick_interval * self.election_ticks as u32 * 9 / 10
    }
}
