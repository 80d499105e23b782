//! A read-write transaction: snapshot reads at `start_ts`, writes buffered
//! locally until commit, then Percolator two-phase commit.
//!
//! Commit, step by step:
//! 1. pick the first buffered key as the **primary**;
//! 2. **prewrite** every key, one request per region, all regions at once;
//!    a write conflict aborts, a lock in the way is resolved (or waited for);
//! 3. take `commit_ts` from the TSO;
//! 4. **commit the primary**, in one atomic batch with the secondaries of
//!    its region: the moment the transaction is committed;
//! 5. commit the secondaries of other regions in the background. A reader
//!    that meets one of their locks first asks the primary and rolls the lock
//!    forward itself.

use crate::backoff::Backoff;
use crate::resolver::LockResolver;
use crate::resolver::resolve_or_wait;
use crate::{Client, Error, LocalStore, Result, Snapshot, key_error};
use codec::table::is_local;
use proto::kvrpc::{
    BatchRollbackRequest, CommitRequest, KeyError, Mutation, Op, PessimisticLockRequest,
    PessimisticRollbackRequest, PrewriteRequest, TxnHeartBeatRequest, key_error::Kind,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How a locking statement treats a key another live transaction has
/// locked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockWait {
    /// Wait for it at most this long (MySQL's `innodb_lock_wait_timeout`).
    Timeout(std::time::Duration),
    /// Fail at once (`NOWAIT`, and each try of `SKIP LOCKED`).
    NoWait,
}

/// Buffered writes at one moment of a transaction ([`Transaction::savepoint`]).
pub struct Savepoint(BTreeMap<Vec<u8>, Option<Vec<u8>>>);

/// A transaction in progress. Dropping it without commit rolls it back (it
/// has written nothing to the stores before commit).
pub struct Transaction {
    /// Where reads go: the snapshot at `start_ts`, or a newer one for the
    /// "current reads" of a pessimistic statement.
    snapshot: Snapshot,
    start_ts: u64,
    /// Buffered writes: `Some(value)` to put, `None` to delete.
    buffer: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Present for a pessimistic transaction.
    pessimistic: Option<Pessimistic>,
    /// COMMIT was asked for (a transaction dropped without it rolled back).
    committing: bool,
    /// The reads made at a snapshot being tracked ([`Transaction::track_reads`]).
    reads: std::sync::Mutex<Option<ReadSet>>,
    /// The session's temporary tables' keys ([`crate::LocalStore`]).
    local: Option<LocalStore>,
}

/// What a transaction read at its snapshot, each read by its bounds and a
/// digest of what it returned, so that the snapshot can be moved to a
/// newer timestamp when every read would return the same there
/// ([`Transaction::refresh_snapshot`]).
struct ReadSet {
    /// The snapshot the reads were made at.
    ts: u64,
    reads: Vec<Read>,
    /// Rows digested so far; past [`READ_SET_ROWS`] the set is given up.
    rows: usize,
    overflowed: bool,
}

/// One read of a [`ReadSet`].
enum Read {
    /// Values of keys (`batch_get`, `get`).
    Keys(Vec<Vec<u8>>, u64),
    /// A range scan: start, end, limit, reverse.
    Scan(Vec<u8>, Option<Vec<u8>>, usize, bool, u64),
}

/// The most rows a tracked read set digests: a transaction that read more
/// cannot move its snapshot.
const READ_SET_ROWS: usize = 100_000;

/// A digest of what a read returned.
fn digest<'a>(parts: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for (key, value) in parts {
        key.hash(&mut h);
        value.hash(&mut h);
    }
    h.finish()
}

/// The row locks a pessimistic transaction holds.
#[derive(Default)]
struct Pessimistic {
    /// Keys locked so far; they are released at commit or rollback.
    locked: BTreeSet<Vec<u8>>,
    /// The first locked key: what other transactions ask about our fate.
    primary: Option<Vec<u8>>,
    /// The newest statement timestamp.
    for_update_ts: u64,
    /// Keeps the primary's lock alive from the first lock on.
    keep_alive: Option<KeepAlive>,
}

/// TiDB's TTL manager: while a pessimistic transaction runs (idle between
/// statements, or committing), its primary lock's TTL is raised every
/// [`HEARTBEAT_INTERVAL`], so that transactions waiting for its locks keep
/// waiting, as a MySQL user expects, instead of rolling it back once
/// [`PESSIMISTIC_LOCK_TTL_MS`] has passed. Dropping it stops the beats.
struct KeepAlive(tokio::task::AbortHandle);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl KeepAlive {
    fn start(client: Client, primary: Vec<u8>, start_ts: u64) -> Self {
        let task = tokio::spawn(async move {
            let mut beat = tokio::time::interval(HEARTBEAT_INTERVAL);
            beat.tick().await;
            loop {
                beat.tick().await;
                match heart_beat(&client, &primary, start_ts).await {
                    Ok(true) | Err(_) => {}
                    // The lock is gone: the transaction ended, or the
                    // region's new leader never had it; its commit finds out.
                    Ok(false) => return,
                }
            }
        });
        KeepAlive(task.abort_handle())
    }
}

/// One heartbeat: whether the transaction's primary lock is still there.
async fn heart_beat(client: &Client, primary: &[u8], start_ts: u64) -> Result<bool> {
    let inner = &client.inner;
    let mut backoff = Backoff::new(inner.config.backoff_budget);
    loop {
        let region = inner.regions.locate(primary).await?;
        let req = TxnHeartBeatRequest {
            context: Some(region.context()),
            primary_lock: primary.to_vec(),
            start_version: start_ts,
            advise_lock_ttl: ttl_from_start(start_ts, PESSIMISTIC_LOCK_TTL_MS),
        };
        let resp = inner
            .call(&region, |kv| async move { kv.kv_txn_heart_beat(req).await })
            .await?;
        if let Some(e) = resp.region_error {
            inner.regions.on_region_error(e, &mut backoff).await?;
            continue;
        }
        return Ok(resp.error.is_none());
    }
}

/// A lock TTL (which counts from the transaction's start) that lasts `ttl`
/// from now: a lock taken late in a long transaction must not be born
/// expired.
fn ttl_from_start(start_ts: u64, ttl: u64) -> u64 {
    codec::ts::now_ms().saturating_sub(codec::ts::physical_ms(start_ts)) + ttl
}

/// Time to live of pessimistic locks: a transaction may sit idle between
/// statements, so its locks outlive optimistic ones (TiDB's managed TTL).
const PESSIMISTIC_LOCK_TTL_MS: u64 = 20_000;
/// How often a running pessimistic transaction renews its primary lock.
const HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
/// How long the store waits for a lock per request before the client checks
/// whether the holder is still alive.
const LOCK_WAIT_SLICE_MS: u64 = 1_000;

/// How far past a transaction's newest timestamp a one-phase commit may
/// land (TiDB's async-commit safe window).
const ONE_PC_WINDOW_MS: u64 = 2_000;

impl Drop for Transaction {
    /// A transaction dropped while holding row locks releases them.
    fn drop(&mut self) {
        if !self.committing {
            crate::metrics::ROLLED_BACK.inc();
        }
        if let Some(p) = self.pessimistic.take()
            && !p.locked.is_empty()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let committer = Committer {
                client: self.snapshot.client().clone(),
                start_ts: self.start_ts,
                primary: Vec::new(),
                txn_size: 0,
                locked: Arc::new(BTreeSet::new()),
                for_update_ts: 0,
            };
            committer.unlock_in_background(p.locked.into_iter().collect());
        }
    }
}

impl Transaction {
    pub(crate) fn new(client: Client, start_ts: u64) -> Self {
        Self {
            snapshot: Snapshot::new(client, start_ts),
            start_ts,
            pessimistic: None,
            buffer: BTreeMap::new(),
            committing: false,
            reads: std::sync::Mutex::new(None),
            local: None,
        }
    }

    /// Read and write local keys ([`codec::table::is_local`]) in `local`.
    /// Without it they read as absent, and are never sent to a store.
    pub fn set_local(&mut self, local: LocalStore) {
        self.local = Some(local);
    }

    fn local_get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.local.as_ref().and_then(|l| l.get(key))
    }

    /// The transaction's start timestamp (its snapshot and its identity).
    pub fn start_ts(&self) -> u64 {
        self.start_ts
    }

    /// Make this a pessimistic transaction: statements lock the keys they
    /// write ([`Transaction::lock_keys`]), so conflicts are met (and waited
    /// for) at the statement, as MySQL applications expect, not at commit.
    pub fn set_pessimistic(&mut self) {
        self.pessimistic.get_or_insert_with(Pessimistic::default);
    }

    /// Whether the transaction is pessimistic.
    pub fn is_pessimistic(&self) -> bool {
        self.pessimistic.is_some()
    }

    /// Read at `ts` from now on (a pessimistic statement reads the latest
    /// committed data at its `for_update_ts`); `start_ts` restores the
    /// transaction's snapshot.
    pub fn read_at(&mut self, ts: u64) {
        if self.snapshot.ts() != ts {
            self.snapshot = Snapshot::new(self.snapshot.client().clone(), ts);
        }
    }

    /// Keep a digest of every read made at `ts` from now on, so that
    /// [`refresh_snapshot`](Self::refresh_snapshot) can tell whether they
    /// would read the same at a newer timestamp.
    pub fn track_reads(&mut self, ts: u64) {
        *self.reads.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(ReadSet {
            ts,
            reads: Vec::new(),
            rows: 0,
            overflowed: false,
        });
    }

    /// Whether every read tracked since [`track_reads`](Self::track_reads)
    /// returns the same at `ts` as it did; if so, the reads are tracked at
    /// `ts` from now on. A snapshot transaction that may move its snapshot
    /// forward this way has read nothing anyone changed in between, so its
    /// history is the same as if it had started at `ts`.
    pub async fn refresh_snapshot(&mut self, ts: u64) -> Result<bool> {
        let Some(set) = self
            .reads
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return Ok(false);
        };
        if set.overflowed {
            return Ok(false);
        }
        let snapshot = Snapshot::new(self.snapshot.client().clone(), ts);
        for read in &set.reads {
            let same = match read {
                Read::Keys(keys, was) => {
                    let values = snapshot.batch_get(keys).await?;
                    digest(
                        keys.iter()
                            .zip(&values)
                            .map(|(k, v)| (&k[..], v.as_deref())),
                    ) == *was
                }
                Read::Scan(start, end, limit, reverse, was) => {
                    let pairs = snapshot
                        .scan(start, end.as_deref(), *limit, *reverse)
                        .await?;
                    digest(pairs.iter().map(|(k, v)| (&k[..], Some(&v[..])))) == *was
                }
            };
            if !same {
                return Ok(false);
            }
        }
        self.track_reads(ts);
        if let Some(tracked) = self
            .reads
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            tracked.reads = set.reads;
            tracked.rows = set.rows;
        }
        Ok(true)
    }

    /// Note a read at the snapshot, if reads at its timestamp are tracked.
    fn note_read(&self, rows: usize, read: impl FnOnce() -> Read) {
        let mut guard = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        let Some(set) = guard.as_mut() else { return };
        if set.ts != self.snapshot.ts() || set.overflowed {
            return;
        }
        set.rows += rows.max(1);
        if set.rows > READ_SET_ROWS {
            set.overflowed = true;
            set.reads = Vec::new();
            return;
        }
        set.reads.push(read());
    }

    /// Keys whose buffered write changed since `savepoint`.
    pub fn written_since(&self, savepoint: &Savepoint) -> Vec<Vec<u8>> {
        self.buffer
            .iter()
            .filter(|(k, v)| savepoint.0.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(
                savepoint
                    .0
                    .keys()
                    .filter(|k| !self.buffer.contains_key(*k))
                    .cloned(),
            )
            .collect()
    }

    /// Lock `keys` for the current statement at `for_update_ts`, waiting for
    /// other transactions' locks as `wait` says. Fails with
    /// [`Error::WriteConflict`] when a key changed after `for_update_ts` (the
    /// statement must run again at a newer timestamp), [`Error::Deadlock`],
    /// [`Error::LockWaitTimeout`] or [`Error::LockedNoWait`].
    ///
    /// An optimistic transaction takes no lock: it writes each key that
    /// holds a value back unchanged, so that its commit fails if another
    /// transaction wrote the key after its start (TiDB's optimistic
    /// `SELECT ... FOR UPDATE`).
    pub async fn lock_keys(
        &mut self,
        mut keys: Vec<Vec<u8>>,
        for_update_ts: u64,
        wait: LockWait,
    ) -> Result<()> {
        // Nobody else sees local keys.
        keys.retain(|k| !is_local(k));
        if self.pessimistic.is_none() {
            return self.write_back(keys).await;
        }
        let locked = self.acquire_locks(keys, for_update_ts, wait).await;
        if let Err(e) = &locked {
            crate::metrics::error(e);
        }
        locked
    }

    /// Buffer an unchanged write of each of `keys` that has a value and no
    /// buffered write yet, read at `start_ts`.
    async fn write_back(&mut self, keys: Vec<Vec<u8>>) -> Result<()> {
        let keys: Vec<Vec<u8>> = keys
            .into_iter()
            .filter(|k| !self.buffer.contains_key(k))
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let snapshot = Snapshot::new(self.snapshot.client().clone(), self.start_ts);
        let values = snapshot.batch_get(&keys).await?;
        for (key, value) in keys.into_iter().zip(values) {
            if let Some(value) = value {
                self.buffer.insert(key, Some(value));
            }
        }
        Ok(())
    }

    async fn acquire_locks(
        &mut self,
        keys: Vec<Vec<u8>>,
        for_update_ts: u64,
        wait: LockWait,
    ) -> Result<()> {
        let start_ts = self.start_ts;
        let client = self.snapshot.client().clone();
        let Some(p) = self.pessimistic.as_mut() else {
            return Ok(());
        };
        let mut pending: Vec<Vec<u8>> =
            keys.into_iter().filter(|k| !p.locked.contains(k)).collect();
        let Some(first) = pending.first() else {
            return Ok(());
        };
        let primary = p.primary.get_or_insert_with(|| first.clone()).clone();
        if p.keep_alive.is_none() {
            p.keep_alive = Some(KeepAlive::start(client.clone(), primary.clone(), start_ts));
        }
        p.for_update_ts = p.for_update_ts.max(for_update_ts);
        let inner = &client.inner;
        let started = std::time::Instant::now();
        let (limit, slice) = match wait {
            LockWait::Timeout(limit) => (limit, LOCK_WAIT_SLICE_MS),
            LockWait::NoWait => (std::time::Duration::ZERO, 0),
        };
        let mut backoff = Backoff::new(inner.config.backoff_budget);
        while !pending.is_empty() {
            for (region, group) in inner
                .regions
                .group_by_region(std::mem::take(&mut pending), |k| k)
                .await?
            {
                let req = PessimisticLockRequest {
                    context: Some(region.context()),
                    keys: group,
                    primary_lock: primary.clone(),
                    start_version: start_ts,
                    for_update_ts,
                    lock_ttl: ttl_from_start(start_ts, PESSIMISTIC_LOCK_TTL_MS),
                    wait_timeout_ms: slice,
                };
                let sent = req.keys.clone();
                let resp = inner
                    .call(
                        &region,
                        |kv| async move { kv.kv_pessimistic_lock(req).await },
                    )
                    .await?;
                if let Some(e) = resp.region_error {
                    pending.extend(sent);
                    inner.regions.on_region_error(e, &mut backoff).await?;
                    continue;
                }
                match resp.error.and_then(|e| e.kind) {
                    None => p.locked.extend(sent),
                    Some(Kind::Locked(lock)) => {
                        // The store waited its slice; an expired holder is
                        // rolled back here, a live one is waited for again.
                        let gone = LockResolver::new(&client).resolve(&lock).await?;
                        if !gone && matches!(wait, LockWait::NoWait) {
                            return Err(Error::LockedNoWait {
                                start_ts,
                                lock_ts: lock.lock_ts,
                            });
                        }
                        if !gone && started.elapsed() >= limit {
                            return Err(Error::LockWaitTimeout {
                                start_ts,
                                lock_ts: lock.lock_ts,
                                waited: started.elapsed(),
                            });
                        }
                        pending.extend(sent);
                    }
                    Some(Kind::Deadlock(d)) => {
                        return Err(Error::Deadlock {
                            start_ts,
                            lock_ts: d.lock_ts,
                        });
                    }
                    Some(kind) => return Err(key_error(KeyError { kind: Some(kind) })),
                }
            }
        }
        Ok(())
    }

    /// The value of `key`, seeing this transaction's own writes.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.buffer.get(key) {
            Some(buffered) => Ok(buffered.clone()),
            None if is_local(key) => Ok(self.local_get(key)),
            None => {
                let value = self.snapshot.get(key).await?;
                self.note_read(1, || {
                    let was = digest(std::iter::once((key, value.as_deref())));
                    Read::Keys(vec![key.to_vec()], was)
                });
                Ok(value)
            }
        }
    }

    /// The value of each of `keys`, by position (`None`: no such key),
    /// seeing own writes.
    pub async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if self.buffer.is_empty() && !keys.iter().any(|k| is_local(k)) {
            let values = self.snapshot.batch_get(keys).await?;
            self.note_batch(keys, &values);
            return Ok(values);
        }
        // Own writes and local keys answered here, the rest by the stores.
        let mine: Vec<Option<Option<Vec<u8>>>> = keys
            .iter()
            .map(|k| match self.buffer.get(k) {
                Some(value) => Some(value.clone()),
                None if is_local(k) => Some(self.local_get(k)),
                None => None,
            })
            .collect();
        let theirs: Vec<Vec<u8>> = keys
            .iter()
            .zip(&mine)
            .filter(|(_, mine)| mine.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let stored = self.snapshot.batch_get(&theirs).await?;
        self.note_batch(&theirs, &stored);
        let mut stored = stored.into_iter();
        Ok(mine
            .into_iter()
            .map(|mine| mine.unwrap_or_else(|| stored.next().flatten()))
            .collect())
    }

    fn note_batch(&self, keys: &[Vec<u8>], values: &[Option<Vec<u8>>]) {
        self.note_read(keys.len(), || {
            let was = digest(keys.iter().zip(values).map(|(k, v)| (&k[..], v.as_deref())));
            Read::Keys(keys.to_vec(), was)
        });
    }

    /// Up to `limit` pairs of `[start, end)`, ascending or descending, seeing
    /// own writes.
    pub async fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let upper = end.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let mine: Vec<(&Vec<u8>, &Option<Vec<u8>>)> = {
            let range = self
                .buffer
                .range::<[u8], _>((std::ops::Bound::Included(start), upper));
            if reverse {
                range.rev().collect()
            } else {
                range.collect()
            }
        };
        // Buffered deletes may hide stored keys: ask for that many more.
        let hidden = mine.iter().filter(|(_, v)| v.is_none()).count();
        let asked = limit.saturating_add(hidden);
        // A table's range is all local or all not.
        let stored = if is_local(start) {
            self.local
                .as_ref()
                .map_or_else(Vec::new, |l| l.scan(start, end, asked, reverse))
        } else {
            let stored = self.snapshot.scan(start, end, asked, reverse).await?;
            self.note_read(stored.len(), || {
                let was = digest(stored.iter().map(|(k, v)| (&k[..], Some(&v[..]))));
                Read::Scan(start.to_vec(), end.map(<[u8]>::to_vec), asked, reverse, was)
            });
            stored
        };
        let mut merged = Vec::with_capacity(limit.min(stored.len() + mine.len()));
        let (mut a, mut b) = (stored.into_iter().peekable(), mine.into_iter().peekable());
        while merged.len() < limit {
            let take_mine = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((sk, _)), Some((mk, _))) => {
                    if sk == *mk {
                        a.next(); // the buffered write replaces the stored value
                        true
                    } else {
                        (*mk < sk) != reverse
                    }
                }
            };
            if take_mine {
                if let Some((k, Some(v))) = b.next() {
                    merged.push((k.clone(), v.clone()));
                }
            } else if let Some(pair) = a.next() {
                merged.push(pair);
            }
        }
        Ok(merged)
    }

    /// Buffer a write of `value` to `key`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.buffer.insert(key, Some(value));
    }

    /// Buffer a deletion of `key`.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.buffer.insert(key, None);
    }

    /// The buffered writes as they are now, to return to if a statement
    /// fails half-way (MySQL undoes the failed statement, not the
    /// transaction).
    pub fn savepoint(&self) -> Savepoint {
        Savepoint(self.buffer.clone())
    }

    /// Forget every write buffered since `savepoint`.
    pub fn rollback_to(&mut self, savepoint: Savepoint) {
        self.buffer = savepoint.0;
    }

    /// Whether the transaction has buffered any write.
    pub fn is_read_only(&self) -> bool {
        self.buffer.is_empty()
    }

    /// Abandon the transaction. Only row locks of a pessimistic transaction
    /// reached the stores before commit; dropping releases them.
    pub fn rollback(self) {}

    /// Commit: in one phase when every key is in one region, else in two.
    /// Returns the commit timestamp (or `start_ts` for a transaction that
    /// wrote nothing).
    pub async fn commit(mut self) -> Result<u64> {
        self.committing = true;
        let started = std::time::Instant::now();
        // Local writes take effect once the rest has committed.
        let range = codec::table::local_range();
        let local_keys: Vec<Vec<u8>> = self.buffer.range(range).map(|(k, _)| k.clone()).collect();
        let local_writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = local_keys
            .into_iter()
            .map(|k| {
                let value = self.buffer.remove(&k).flatten();
                (k, value)
            })
            .collect();
        let committed = self.commit_writes().await;
        crate::metrics::commit_ended(&committed, started.elapsed());
        if committed.is_ok()
            && let Some(local) = &self.local
        {
            local.apply(local_writes);
        }
        committed
    }

    async fn commit_writes(&mut self) -> Result<u64> {
        let start_ts = self.start_ts;
        let client = self.snapshot.client().clone();
        let buffer = std::mem::take(&mut self.buffer);
        let Pessimistic {
            locked,
            primary,
            for_update_ts,
            // Beats on until the commit is over.
            keep_alive: _keep_alive,
        } = self.pessimistic.take().unwrap_or_default();
        let locked = Arc::new(locked);
        // The primary of the row locks, whose lock the heartbeats renew,
        // stays the primary if the transaction writes it.
        let primary = primary
            .filter(|k| buffer.contains_key(k))
            .or_else(|| buffer.keys().next().cloned())
            .unwrap_or_default();
        let committer = Committer {
            client,
            start_ts,
            primary,
            txn_size: buffer.len() as u64,
            locked: locked.clone(),
            for_update_ts,
        };
        // Locks on keys the transaction ended up not writing are released
        // whatever happens next.
        let unwritten: Vec<Vec<u8>> = locked
            .iter()
            .filter(|k| !buffer.contains_key(*k))
            .cloned()
            .collect();
        committer.unlock_in_background(unwritten);
        if buffer.is_empty() {
            return Ok(start_ts);
        }
        let mutations: Vec<Mutation> = buffer
            .into_iter()
            .map(|(key, value)| match value {
                Some(value) => Mutation {
                    op: Op::Put as i32,
                    key,
                    value,
                },
                None => Mutation {
                    op: Op::Del as i32,
                    key,
                    value: Vec::new(),
                },
            })
            .collect();
        let keys: Vec<Vec<u8>> = mutations.iter().map(|m| m.key.clone()).collect();
        match committer.prewrite(mutations).await {
            Ok(Some(commit_ts)) => return Ok(commit_ts),
            Ok(None) => {}
            Err(e) => {
                committer.finish_in_background(keys, None);
                return Err(e);
            }
        }
        let commit_ts = committer.client.current_ts().await?;
        let secondaries = keys
            .into_iter()
            .filter(|k| *k != committer.primary)
            .collect();
        let elsewhere = committer.commit_primary(commit_ts, secondaries).await?;
        committer.finish_in_background(elsewhere, Some(commit_ts));
        Ok(commit_ts)
    }
}

/// The commit protocol of one transaction.
struct Committer {
    client: Client,
    start_ts: u64,
    primary: Vec<u8>,
    txn_size: u64,
    /// Keys holding a pessimistic lock of the transaction.
    locked: Arc<BTreeSet<Vec<u8>>>,
    for_update_ts: u64,
}

impl Committer {
    fn backoff(&self) -> Backoff {
        Backoff::new(self.client.inner.config.backoff_budget)
    }

    /// Prewrite all mutations, each region's group in its own task. When
    /// they all fall in one region, the store is asked to commit them in the
    /// same request (one-phase commit), and the commit timestamp it chose
    /// comes back.
    async fn prewrite(&self, mutations: Vec<Mutation>) -> Result<Option<u64>> {
        let mut groups = self
            .client
            .inner
            .regions
            .group_by_region(mutations, |m| &m.key)
            .await?;
        if groups.len() == 1
            && let Some((_, group)) = groups.pop()
        {
            return self.prewrite_group(group, Some(self.max_commit_ts())).await;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, group) in groups {
            let this = self.clone_for_task();
            tasks.spawn(async move { this.prewrite_group(group, None).await });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined
                .unwrap_or_else(|e| Err(Error::Refused(format!("prewrite task failed: {e}"))));
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(None), Err)
    }

    /// The highest commit timestamp a one-phase commit may take. The store
    /// commits just above the reads it has served, all at TSO timestamps, so
    /// this only guards against a clock gone wrong: a commit more than
    /// [`ONE_PC_WINDOW_MS`] past the transaction's newest timestamp falls
    /// back to two phases.
    fn max_commit_ts(&self) -> u64 {
        let newest = self.start_ts.max(self.for_update_ts);
        codec::ts::compose(codec::ts::physical_ms(newest) + ONE_PC_WINDOW_MS, 0)
    }

    fn clone_for_task(&self) -> Committer {
        Committer {
            client: self.client.clone(),
            start_ts: self.start_ts,
            primary: self.primary.clone(),
            txn_size: self.txn_size,
            locked: self.locked.clone(),
            for_update_ts: self.for_update_ts,
        }
    }

    /// Prewrite mutations of one region; re-grouped if the region changed.
    /// With `one_pc` (the highest commit timestamp allowed), try to commit
    /// them at once, for as long as they stay in one region; returns the
    /// commit timestamp if that happened.
    async fn prewrite_group(
        &self,
        mut pending: Vec<Mutation>,
        mut one_pc: Option<u64>,
    ) -> Result<Option<u64>> {
        let inner = &self.client.inner;
        let mut backoff = self.backoff();
        while !pending.is_empty() {
            let groups = inner
                .regions
                .group_by_region(std::mem::take(&mut pending), |m| &m.key)
                .await?;
            if groups.len() > 1 {
                one_pc = None;
            }
            for (region, group) in groups {
                let pessimistic = !self.locked.is_empty();
                let req = PrewriteRequest {
                    context: Some(region.context()),
                    is_pessimistic_lock: group
                        .iter()
                        .map(|m| self.locked.contains(&m.key))
                        .collect(),
                    mutations: group,
                    primary_lock: self.primary.clone(),
                    start_version: self.start_ts,
                    lock_ttl: if pessimistic {
                        ttl_from_start(self.start_ts, PESSIMISTIC_LOCK_TTL_MS)
                    } else {
                        inner.config.lock_ttl_ms
                    },
                    txn_size: self.txn_size,
                    for_update_ts: self.for_update_ts,
                    try_one_pc: one_pc.is_some(),
                    max_commit_ts: one_pc.unwrap_or(0),
                };
                let sent = req.mutations.clone();
                let resp = inner
                    .call(&region, |kv| async move { kv.kv_prewrite(req).await })
                    .await?;
                if let Some(e) = resp.region_error {
                    pending.extend(sent);
                    inner.regions.on_region_error(e, &mut backoff).await?;
                    continue;
                }
                match resp.error.and_then(|e| e.kind) {
                    None if resp.one_pc_commit_ts != 0 => return Ok(Some(resp.one_pc_commit_ts)),
                    None => {}
                    Some(Kind::Locked(lock)) => {
                        pending.extend(sent);
                        resolve_or_wait(&self.client, &lock, &mut backoff).await?;
                    }
                    Some(kind) => return Err(key_error(KeyError { kind: Some(kind) })),
                }
            }
        }
        Ok(None)
    }

    /// Commit the primary key, and in the same atomic batch the secondaries
    /// in its region: after this returns Ok the transaction is committed.
    /// Returns the secondaries in other regions, still to commit. Committing
    /// a region's keys at once spares a second request and a second fsync
    /// for what is usually the whole transaction.
    async fn commit_primary(
        &self,
        commit_ts: u64,
        secondaries: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>> {
        let inner = &self.client.inner;
        let mut backoff = self.backoff();
        loop {
            let region = inner.regions.locate(&self.primary).await?;
            let mut keys = vec![self.primary.clone()];
            let mut elsewhere = Vec::new();
            for (info, group) in inner
                .regions
                .group_by_region(secondaries.iter().cloned(), |k| k)
                .await?
            {
                if info.region.id == region.region.id {
                    keys.extend(group);
                } else {
                    elsewhere.extend(group);
                }
            }
            let req = CommitRequest {
                context: Some(region.context()),
                start_version: self.start_ts,
                keys,
                commit_version: commit_ts,
            };
            // Once the commit of the primary was sent, a failure leaves the
            // transaction's fate unknown to us.
            let undetermined = |e: Error| Error::Undetermined {
                start_ts: self.start_ts,
                cause: e.to_string(),
            };
            let resp = inner
                .call(&region, |kv| async move { kv.kv_commit(req).await })
                .await
                .map_err(undetermined)?;
            if let Some(e) = resp.region_error {
                inner
                    .regions
                    .on_region_error(e, &mut backoff)
                    .await
                    .map_err(undetermined)?;
                continue;
            }
            return match resp.error {
                None => Ok(elsewhere),
                Some(e) => Err(key_error(e)),
            };
        }
    }

    /// Release pessimistic locks on `keys` in the background.
    fn unlock_in_background(&self, keys: Vec<Vec<u8>>) {
        if keys.is_empty() {
            return;
        }
        let (client, start_version) = (self.client.clone(), self.start_ts);
        tokio::spawn(async move {
            let inner = &client.inner;
            let unlocked = inner
                .each_region(keys, |region, keys| {
                    let req = PessimisticRollbackRequest {
                        context: Some(region.context()),
                        start_version,
                        keys,
                    };
                    async move {
                        inner
                            .call(&region, |kv| async move {
                                kv.kv_pessimistic_rollback(req).await
                            })
                            .await
                    }
                })
                .await;
            if let Err(e) = unlocked {
                tracing::debug!(start_version, "row locks left to expire: {e}");
            }
        });
    }

    /// Commit (`Some(commit_ts)`) or roll back (`None`) `keys` in the
    /// background, one request per region. Failures are harmless: readers
    /// roll leftover locks forward or back by asking the primary, and a
    /// rolled-back transaction's locks also expire with their TTL.
    fn finish_in_background(self, keys: Vec<Vec<u8>>, commit_ts: Option<u64>) {
        if keys.is_empty() {
            return;
        }
        tokio::spawn(async move {
            let inner = &self.client.inner;
            let start_version = self.start_ts;
            let finished = inner
                .each_region(keys, |region, keys| {
                    let context = Some(region.context());
                    async move {
                        match commit_ts {
                            Some(commit_version) => {
                                let req = CommitRequest {
                                    context,
                                    start_version,
                                    keys,
                                    commit_version,
                                };
                                let call = |kv: Arc<dyn proto::KvService>| async move {
                                    kv.kv_commit(req).await
                                };
                                inner.call(&region, call).await.map(|r| r.region_error)
                            }
                            None => {
                                let req = BatchRollbackRequest {
                                    context,
                                    start_version,
                                    keys,
                                };
                                let call = |kv: Arc<dyn proto::KvService>| async move {
                                    kv.kv_batch_rollback(req).await
                                };
                                inner.call(&region, call).await.map(|r| r.region_error)
                            }
                        }
                    }
                })
                .await;
            if let Err(e) = finished {
                tracing::debug!(start_version, "left to readers and lock TTL: {e}");
            }
        });
    }
}
