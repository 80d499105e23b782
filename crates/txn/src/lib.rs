//! Percolator transactions over the local engine.
//!
//! A transaction is identified by its `start_ts` and reads the snapshot of
//! every version committed at or before it. Writing is two-phase:
//!
//! 1. **prewrite** puts a [`Lock`] on every key (naming one of them the
//!    *primary*) after checking that nobody committed the key after our
//!    `start_ts` (a write-write conflict) and nobody else holds a lock on it;
//! 2. **commit** replaces the primary's lock with a [`Write`] record at
//!    `commit_ts`. That single write is the commit point; the secondaries'
//!    locks are turned into write records afterwards, lazily if need be.
//!
//! A reader that meets a lock older than its snapshot cannot know yet whether
//! the value is visible, so it asks the primary ([`TxnStore::check_txn_status`])
//! and rolls the lock forward or back ([`TxnStore::resolve_lock`]). Locks carry
//! a TTL so that a crashed client's transaction is rolled back by the next
//! reader instead of blocking the key for ever.
//!
//! This is snapshot isolation: two transactions that write *different* keys
//! never conflict, even if each read what the other wrote (write skew is
//! allowed, as in TiDB and in MySQL's REPEATABLE READ for plain reads).
//!
//! Module map: [`record`] (lock and write records), [`reader`] (MVCC reads),
//! [`actions`] (per-key Percolator steps), [`latch`] (one writer per key at a
//! time), [`gc`] (old versions below a safe point), [`store`] (the commands a
//! storage node serves).

pub mod actions;
pub mod command;
pub mod gc;
pub mod latch;
pub mod lock_table;
pub mod reader;
pub mod record;
pub mod row_cache;
pub mod store;

pub use actions::Mutation;
pub use actions::{PrewriteProps, TxnStatus};
pub use gc::GcStats;
pub use record::{Lock, LockType, Write, WriteType};
pub use store::{Checksum, MvccInfo, TxnStore, Writer};

/// A lock found in a reader's or writer's way, with what is needed to resolve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockInfo {
    /// The locked key (raw).
    pub key: Vec<u8>,
    /// The lock holder's primary key (raw).
    pub primary: Vec<u8>,
    /// The lock holder's start timestamp.
    pub lock_ts: u64,
    /// The lock's time to live, in milliseconds.
    pub ttl: u64,
    /// Number of keys the holder writes.
    pub txn_size: u64,
}

/// Why a transactional command failed.
///
/// The per-key variants are expected outcomes the client acts on (resolve,
/// retry, give up); `Storage` and `Corrupt` mean the node itself is in trouble.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key is locked by another transaction whose outcome is not known yet.
    #[error("key is locked by transaction {}", .0.lock_ts)]
    KeyIsLocked(LockInfo),
    /// Someone committed the key after our snapshot: retry with a new start_ts.
    #[error(
        "write conflict: txn {start_ts} met a version committed at {conflict_commit_ts} by txn {conflict_start_ts}"
    )]
    WriteConflict {
        /// Our start timestamp.
        start_ts: u64,
        /// The conflicting transaction.
        conflict_start_ts: u64,
        /// When it committed.
        conflict_commit_ts: u64,
        /// The key (raw).
        key: Vec<u8>,
    },
    /// Our transaction was already rolled back (its lock expired and a reader
    /// cleaned it up): a late prewrite or commit must fail.
    #[error("transaction {start_ts} was rolled back")]
    RolledBack {
        /// Our start timestamp.
        start_ts: u64,
        /// The key (raw) where the rollback was found.
        key: Vec<u8>,
    },
    /// A rollback was asked of a transaction that already committed.
    #[error("transaction {start_ts} already committed at {commit_ts}")]
    Committed {
        /// The transaction.
        start_ts: u64,
        /// Its commit timestamp.
        commit_ts: u64,
        /// The key (raw).
        key: Vec<u8>,
    },
    /// The primary has neither a lock nor a record of the transaction and the
    /// caller did not ask to roll it back (its prewrite may still be on its way).
    #[error("transaction {start_ts} not found")]
    TxnNotFound {
        /// The transaction.
        start_ts: u64,
        /// The primary key (raw).
        key: Vec<u8>,
    },
    /// The caller asked for something impossible, such as `commit_ts <= start_ts`.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The local engine failed.
    #[error(transparent)]
    Storage(#[from] storage::Error),
    /// A stored key or record did not decode.
    #[error("corrupt data: {0}")]
    Corrupt(&'static str),
    /// The changes could not be replicated (the [`Writer`] refused them:
    /// the store no longer leads the region, its epoch moved...); nothing
    /// took effect. The writer's own error is inside.
    #[error("not replicated: {0}")]
    Replication(Box<dyn std::error::Error + Send + Sync>),
}

impl From<codec::Error> for Error {
    fn from(_: codec::Error) -> Self {
        Error::Corrupt("key encoding")
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
