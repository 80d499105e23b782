//! One peer's Raft log and state: what raft-rs reads through its `Storage`
//! trait, kept in memory and mirrored in the engine's `raft` family.
//!
//! The log from the last compaction on is held in memory as well as on
//! disk, so raft-rs never waits for a read; log compaction (see
//! [`PeerStorage::compact_to`]) is what bounds it. Every change is queued
//! into the caller's batch, which the store writes once per round for all
//! its peers: one fsync covers every region's new entries.
//!
//! A snapshot is the region's data at the applied index, read from one
//! engine snapshot together with the apply state and region written by the
//! same batches, so data, index and membership always agree.

use crate::keys::Key;
use crate::{Error, Result, cmd};
use prost::Message as _;
use proto::kvrpc::Region;
use proto::raftpb::{ApplyState, PeerState, RegionLocalState, SnapshotData};
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot as RaftSnapshot};
use raft::{RaftState, StorageError};
use std::collections::VecDeque;
use storage::{Cf, Engine, KeyRange, Snapshot, WriteBatch};

/// The index and term a new region's log starts at (bootstrap and split):
/// above zero, so a peer created empty by a message (index 0) can never
/// be mistaken for one holding the region's first entries.
pub const INIT_INDEX: u64 = 5;

/// A peer's log, hard state and apply progress.
pub struct PeerStorage<E: Engine> {
    engine: E,
    region: Region,
    hard_state: HardState,
    apply: ApplyState,
    /// Entries `truncated_index + 1 ..= last`.
    entries: VecDeque<Entry>,
}

/// The encoded key range of a region's data.
pub fn region_range(region: &Region) -> KeyRange {
    let end = (!region.end_key.is_empty()).then(|| region.end_key.clone());
    KeyRange::new(region.start_key.clone(), end)
}

/// The voters of a region, as raft-rs sees its membership.
pub fn conf_state(region: &Region) -> ConfState {
    ConfState::from((region.peers.iter().map(|p| p.id), std::iter::empty()))
}

fn decode_pb<M: prost::Message + Default>(bytes: &[u8], what: &'static str) -> Result<M> {
    M::decode(bytes).map_err(|_| Error::Corrupt(what))
}

fn decode_raft<M: protobuf::Message>(bytes: &[u8], what: &'static str) -> Result<M> {
    M::parse_from_bytes(bytes).map_err(|_| Error::Corrupt(what))
}

/// A raft-rs message in its own protobuf encoding.
pub(crate) fn encode_raft<M: protobuf::Message>(msg: &M) -> Vec<u8> {
    msg.write_to_bytes().expect("raft messages always encode")
}

/// Queue the state of a region whose log starts now (bootstrap, split):
/// empty log at [`INIT_INDEX`], nothing to apply.
pub fn write_initial_state(batch: &mut WriteBatch, region: &Region) {
    write_region_state(batch, region, PeerState::Normal);
    let hs = HardState {
        term: INIT_INDEX,
        commit: INIT_INDEX,
        ..Default::default()
    };
    batch.put(
        Cf::Raft,
        Key::HardState(region.id).encode(),
        encode_raft(&hs),
    );
    let apply = ApplyState {
        applied_index: INIT_INDEX,
        applied_term: INIT_INDEX,
        truncated_index: INIT_INDEX,
        truncated_term: INIT_INDEX,
    };
    batch.put(
        Cf::Raft,
        Key::ApplyState(region.id).encode(),
        apply.encode_to_vec(),
    );
}

/// Queue a region's descriptor (and whether this store's peer lives).
pub fn write_region_state(batch: &mut WriteBatch, region: &Region, state: PeerState) {
    let local = RegionLocalState {
        region: Some(region.clone()),
        state: state as i32,
    };
    batch.put(
        Cf::Raft,
        Key::Region(region.id).encode(),
        local.encode_to_vec(),
    );
}

/// Every region state recorded in `engine`, tombstones included.
pub fn load_regions<E: Engine>(engine: &E) -> Result<Vec<RegionLocalState>> {
    let mut out = Vec::new();
    for item in engine
        .snapshot()
        .scan(Cf::Raft, &Key::region_states(), false)
    {
        let (_, value) = item?;
        out.push(decode_pb(&value, "region state")?);
    }
    Ok(out)
}

/// Queue deletes of every data key of `range` as `snap` has them: the
/// first half of replacing a region's data (snapshot) or dropping it
/// (a removed peer), in the same atomic batch as the new state.
pub fn clear_range<S: Snapshot>(snap: &S, range: &KeyRange, batch: &mut WriteBatch) -> Result<()> {
    for cf in Cf::DATA {
        for item in snap.scan(cf, range, false) {
            let (key, _) = item?;
            batch.delete(cf, key.to_vec());
        }
    }
    Ok(())
}

impl<E: Engine> PeerStorage<E> {
    /// A peer created by a message for a region this store lacks: no
    /// region range, no log; it waits for the leader's snapshot.
    pub fn uninitialized(engine: E, region_id: u64) -> Self {
        Self {
            engine,
            region: Region {
                id: region_id,
                ..Default::default()
            },
            hard_state: HardState::default(),
            apply: ApplyState::default(),
            entries: VecDeque::new(),
        }
    }

    /// The persisted state of a peer of `region`.
    pub fn load(engine: E, region: Region) -> Result<Self> {
        let snap = engine.snapshot();
        let id = region.id;
        let hard_state = match snap.get(Cf::Raft, &Key::HardState(id).encode())? {
            Some(v) => decode_raft(&v, "hard state")?,
            None => HardState::default(),
        };
        let apply: ApplyState = match snap.get(Cf::Raft, &Key::ApplyState(id).encode())? {
            Some(v) => decode_pb(&v, "apply state")?,
            None => ApplyState::default(),
        };
        let range = KeyRange::new(
            Key::Log(id, apply.truncated_index + 1).encode(),
            Some(Key::Log(id, u64::MAX).encode()),
        );
        let mut entries = VecDeque::new();
        for item in snap.scan(Cf::Raft, &range, false) {
            let (_, value) = item?;
            let entry: Entry = decode_raft(&value, "log entry")?;
            if entry.index != apply.truncated_index + 1 + entries.len() as u64 {
                return Err(Error::Corrupt("log entries not contiguous"));
            }
            entries.push_back(entry);
        }
        Ok(Self {
            engine,
            region,
            hard_state,
            apply,
            entries,
        })
    }

    /// The region as this peer knows it.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// Replace the region descriptor (after a split or membership change;
    /// the caller queues its persistence).
    pub fn set_region(&mut self, region: Region) {
        self.region = region;
    }

    /// Whether the peer holds the region's data (has a range and members).
    pub fn is_initialized(&self) -> bool {
        !self.region.peers.is_empty()
    }

    /// The apply progress.
    pub fn apply_state(&self) -> &ApplyState {
        &self.apply
    }

    /// The persisted hard state.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The engine the peer lives in.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    fn last_index_now(&self) -> u64 {
        self.apply.truncated_index + self.entries.len() as u64
    }

    /// Queue new entries from a ready: they replace any entries at or
    /// after the first one's index (a new leader overwriting an old tail).
    pub fn append(&mut self, new: Vec<Entry>, batch: &mut WriteBatch) {
        let Some(first) = new.first().map(|e| e.index) else {
            return;
        };
        let last_new = first + new.len() as u64 - 1;
        for index in (last_new + 1)..=self.last_index_now() {
            batch.delete(Cf::Raft, Key::Log(self.region.id, index).encode());
        }
        let keep = first.saturating_sub(self.apply.truncated_index + 1) as usize;
        self.entries.truncate(keep);
        for entry in new {
            batch.put(
                Cf::Raft,
                Key::Log(self.region.id, entry.index).encode(),
                encode_raft(&entry),
            );
            self.entries.push_back(entry);
        }
    }

    /// Queue a changed hard state.
    pub fn set_hard_state(&mut self, hs: HardState, batch: &mut WriteBatch) {
        batch.put(
            Cf::Raft,
            Key::HardState(self.region.id).encode(),
            encode_raft(&hs),
        );
        self.hard_state = hs;
    }

    /// Record that the log is applied through `index` (of `term`): queued
    /// into the batch that carries the applied data, so the two persist
    /// together. The hard state's commit index goes along, as a restarted
    /// peer must never find its commit below what it applied.
    pub fn set_applied(&mut self, index: u64, term: u64, batch: &mut WriteBatch) {
        self.apply.applied_index = index;
        self.apply.applied_term = term;
        if self.hard_state.commit < index {
            let mut hs = self.hard_state.clone();
            hs.commit = index;
            self.set_hard_state(hs, batch);
        }
        self.write_apply_state(batch);
    }

    fn write_apply_state(&self, batch: &mut WriteBatch) {
        batch.put(
            Cf::Raft,
            Key::ApplyState(self.region.id).encode(),
            self.apply.encode_to_vec(),
        );
    }

    /// Drop log entries through `index` (at most the applied index): a
    /// peer that needs them later gets a snapshot instead.
    pub fn compact_to(&mut self, index: u64, batch: &mut WriteBatch) {
        let index = index.min(self.apply.applied_index);
        if index <= self.apply.truncated_index {
            return;
        }
        let mut term = self.apply.truncated_term;
        while let Some(entry) = self.entries.front() {
            if entry.index > index {
                break;
            }
            batch.delete(Cf::Raft, Key::Log(self.region.id, entry.index).encode());
            term = entry.term;
            self.entries.pop_front();
        }
        self.apply.truncated_index = index;
        self.apply.truncated_term = term;
        self.write_apply_state(batch);
    }

    /// Queue removal of the whole log and Raft state of this peer.
    pub fn clear_log(&mut self, batch: &mut WriteBatch) {
        let id = self.region().id;
        let first = self.apply_state().truncated_index + 1;
        let last = raft::Storage::last_index(self).unwrap_or(0);
        for index in first..=last {
            batch.delete(Cf::Raft, Key::Log(id, index).encode());
        }
        batch.delete(Cf::Raft, Key::HardState(id).encode());
        batch.delete(Cf::Raft, Key::ApplyState(id).encode());
    }

    /// Queue the installation of a leader's snapshot: the region's old data
    /// and log go, the snapshot's data, region and apply state come in, all
    /// in one batch. Returns the new region.
    pub fn apply_snapshot(
        &mut self,
        snap: &RaftSnapshot,
        batch: &mut WriteBatch,
    ) -> Result<Region> {
        let data: SnapshotData = decode_pb(&snap.data, "snapshot data")?;
        let region = data
            .region
            .ok_or(Error::Corrupt("snapshot without region"))?;
        let engine_snap = self.engine.snapshot();
        if self.is_initialized() {
            clear_range(&engine_snap, &region_range(&self.region), batch)?;
        }
        clear_range(&engine_snap, &region_range(&region), batch)?;
        for kv in data.kvs {
            cmd::push(batch, cmd::decode_modify(kv)?);
        }
        for entry in &self.entries {
            batch.delete(Cf::Raft, Key::Log(self.region.id, entry.index).encode());
        }
        self.entries.clear();
        let meta = snap.get_metadata();
        self.apply = ApplyState {
            applied_index: meta.index,
            applied_term: meta.term,
            truncated_index: meta.index,
            truncated_term: meta.term,
        };
        self.write_apply_state(batch);
        let mut hs = self.hard_state.clone();
        hs.commit = hs.commit.max(meta.index);
        hs.term = hs.term.max(meta.term);
        self.set_hard_state(hs, batch);
        write_region_state(batch, &region, PeerState::Normal);
        self.region = region.clone();
        Ok(region)
    }

    /// Build a snapshot of the region as the engine has it now.
    fn build_snapshot(&self, request_index: u64) -> raft::Result<RaftSnapshot> {
        let unavailable = || raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable);
        let snap = self.engine.snapshot();
        let id = self.region.id;
        let read =
            |key: Key| -> Result<Option<storage::Slice>> { Ok(snap.get(Cf::Raft, &key.encode())?) };
        let local: RegionLocalState = match read(Key::Region(id)) {
            Ok(Some(v)) => decode_pb(&v, "region state").map_err(|_| unavailable())?,
            _ => return Err(unavailable()),
        };
        let apply: ApplyState = match read(Key::ApplyState(id)) {
            Ok(Some(v)) => decode_pb(&v, "apply state").map_err(|_| unavailable())?,
            _ => return Err(unavailable()),
        };
        let region = local.region.ok_or_else(unavailable)?;
        if apply.applied_index < request_index {
            return Err(unavailable());
        }
        let range = region_range(&region);
        let mut kvs = Vec::new();
        for cf in Cf::DATA {
            for item in snap.scan(cf, &range, false) {
                let (key, value) = item.map_err(|_| unavailable())?;
                kvs.push(cmd::modify_pb(cf, key.to_vec(), Some(value.to_vec())));
            }
        }
        let mut out = RaftSnapshot::default();
        let meta = out.mut_metadata();
        meta.index = apply.applied_index;
        meta.term = apply.applied_term;
        meta.set_conf_state(conf_state(&region));
        out.data = SnapshotData {
            region: Some(region),
            kvs,
        }
        .encode_to_vec()
        .into();
        Ok(out)
    }
}

impl<E: Engine> raft::Storage for PeerStorage<E> {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let conf = if self.is_initialized() {
            conf_state(&self.region)
        } else {
            ConfState::default()
        };
        Ok(RaftState::new(self.hard_state.clone(), conf))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: raft::GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.apply.truncated_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index_now() + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let offset = self.apply.truncated_index + 1;
        let mut out: Vec<Entry> = self
            .entries
            .range((low - offset) as usize..(high - offset) as usize)
            .cloned()
            .collect();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.apply.truncated_index {
            return Ok(self.apply.truncated_term);
        }
        if idx < self.apply.truncated_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        let offset = self.apply.truncated_index + 1;
        self.entries
            .get((idx - offset) as usize)
            .map(|e| e.term)
            .ok_or(raft::Error::Store(StorageError::Unavailable))
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.apply.truncated_index + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index_now())
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<RaftSnapshot> {
        self.build_snapshot(request_index)
    }
}
