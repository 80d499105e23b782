//! The poller: one thread that owns every peer of a store.
//!
//! Everything that changes a peer arrives as a [`Msg`] on one channel. The
//! poller handles whatever has queued up, then runs a *round*
//! ([`Store::on_ready`]):
//!
//! 1. every peer with a raft-rs `Ready` queues its new entries, hard state
//!    and installed snapshot into one batch, which is written with one
//!    fsync (group commit across regions; none when only commit indexes
//!    moved); a leader's append messages go out before the fsync, as raft
//!    allows;
//! 2. messages that had to wait for the fsync go out; committed entries of
//!    every peer are applied into a second batch, written through the
//!    [`Apply`](crate::Apply) hook (no fsync: the log is durable, and a
//!    restarted peer applies again from its persisted apply state);
//! 3. proposers and readers are answered, splits create their new peers,
//!    removed peers are destroyed.
//!
//! Ticks come at most once per `tick_interval` however late the thread
//! runs, so a follower's election clock never runs faster than real time,
//! which the leader lease relies on.

use crate::cmd;
use crate::metrics;
use crate::peer::{Callback, Peer};
use crate::peer_storage::{
    PeerStorage, clear_range, conf_state, encode_raft, load_regions, region_range,
    write_initial_state, write_region_state,
};
use crate::router::Router;
use crate::{Apply, Config, Error, Result};
use prost::Message as _;
use proto::kvrpc::{Peer as PeerMeta, Region, RegionEpoch};
use proto::raftpb::{ChangePeer, DeleteRangeCmd, PeerState, RaftCmd, RaftMessage, SplitCmd};
use raft::SnapshotStatus;
use raft::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType, Message, MessageType};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use storage::{Engine, KeyRange, Snapshot as _, WriteBatch};

/// How many queued messages one round takes at most, so ticks and readies
/// are not starved under a flood.
const MAX_MSGS_PER_ROUND: usize = 4096;

/// Sends Raft messages to other stores.
pub trait Transport: Send + 'static {
    /// Send one message; delivery is not guaranteed (Raft retries).
    fn send(&mut self, msg: RaftMessage);
}

/// A peer's state as the poller sees it, for heartbeats and operators.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// The region as this peer knows it.
    pub region: Region,
    /// This store's peer.
    pub peer: PeerMeta,
    /// The leader, when known.
    pub leader: Option<PeerMeta>,
    /// Raft term.
    pub term: u64,
    /// Highest committed log index.
    pub commit: u64,
    /// Highest applied log index.
    pub applied: u64,
    /// Peers a leader knows to be far behind (needing entries it lacks
    /// or a snapshot); empty on followers.
    pub pending_peers: Vec<PeerMeta>,
    /// Bytes of data commands applied since the peer started.
    pub written: u64,
}

/// A peer membership change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add a voter.
    Add,
    /// Remove a voter.
    Remove,
}

/// What the poller is asked to do.
pub enum Msg {
    /// A Raft message from a peer on another store.
    Raft(RaftMessage),
    /// Replicate and apply a batch of data writes in a region.
    Propose {
        /// The region.
        region_id: u64,
        /// The epoch the writes were checked against.
        epoch: RegionEpoch,
        /// Data-family writes, all inside the region.
        writes: WriteBatch,
        /// Told once the writes are applied on this store.
        cb: Callback,
    },
    /// Wait until this store's peer may serve a read of the region.
    Read {
        /// The region.
        region_id: u64,
        /// The epoch the read was routed with.
        epoch: RegionEpoch,
        /// Told once the local state is fresh enough.
        cb: Callback,
    },
    /// Remove an encoded key range inside a region from the data
    /// families, on every replica.
    DeleteRange {
        /// The region.
        region_id: u64,
        /// The epoch the range was checked against.
        epoch: RegionEpoch,
        /// The range.
        range: DeleteRangeCmd,
        /// Told once the range is gone on this store.
        cb: Callback,
    },
    /// Split a region at a key (an encoded key strictly inside it).
    Split {
        /// The region.
        region_id: u64,
        /// Its epoch as the requester saw it.
        epoch: RegionEpoch,
        /// Where and with which new ids.
        split: SplitCmd,
        /// Told once the split is applied here.
        cb: Callback,
    },
    /// Add or remove a peer.
    ChangePeer {
        /// The region.
        region_id: u64,
        /// Its epoch as the requester saw it.
        epoch: RegionEpoch,
        /// Add or remove.
        change: Change,
        /// The peer.
        peer: PeerMeta,
        /// Told once the change is applied here.
        cb: Callback,
    },
    /// Hand leadership to another peer.
    TransferLeader {
        /// The region.
        region_id: u64,
        /// The peer to lead.
        to: u64,
    },
    /// Start an election now (a fresh region whose parent's leader was here).
    Campaign(u64),
    /// Report every peer's state.
    Status(Box<dyn FnOnce(Vec<PeerStatus>) + Send>),
    /// Stop the poller.
    Stop,
}

/// What applying an entry leaves for the poller to do after the batch.
enum Effect {
    /// A split made a new region with a peer here.
    Split { region: Region, campaign: bool },
    /// This store's peer of the region was removed from it.
    Destroy(u64),
}

/// Every peer of one store, driven by one thread.
pub struct Store<E: Engine, T: Transport> {
    cfg: Config,
    store_id: u64,
    engine: E,
    transport: T,
    apply: Arc<dyn Apply>,
    peers: HashMap<u64, Peer<E>>,
    /// Regions whose peer here was removed, with the epoch of removal: a
    /// late message from before must not bring the peer back.
    tombstones: HashMap<u64, RegionEpoch>,
    /// Vote requests for a split's new region that arrived before this
    /// store applied the split (the leader applies it first, and its half
    /// of the new region campaigns at once). Handed to the new peer when the
    /// split creates it, so the region elects its leader now rather than
    /// an election timeout (2-4 s) later.
    early_votes: HashMap<u64, RaftMessage>,
    rx: Receiver<Msg>,
    router: Router,
    next_read_id: u64,
    logger: slog::Logger,
}

/// Most early votes kept (see `Store::early_votes`): they are only useful
/// for a moment, and a store should not hoard them without bound.
const MAX_EARLY_VOTES: usize = 1024;

/// Whether `[a_start, a_end)` and `[b_start, b_end)` share a key (empty
/// end: unbounded).
fn overlaps(a_start: &[u8], a_end: &[u8], b_start: &[u8], b_end: &[u8]) -> bool {
    (b_end.is_empty() || a_start < b_end) && (a_end.is_empty() || b_start < a_end)
}

impl<E: Engine, T: Transport> Store<E, T> {
    /// Write the first region of a new cluster into a new store's engine:
    /// the store holds its only peer.
    pub fn bootstrap(engine: &E, region: &Region) -> Result<()> {
        let mut batch = WriteBatch::new();
        write_initial_state(&mut batch, region);
        batch.set_sync(true);
        engine.write(batch)?;
        Ok(())
    }

    /// The store id this engine belongs to, once it joined a cluster.
    pub fn ident(engine: &E) -> Result<Option<u64>> {
        let key = crate::keys::Key::StoreIdent.encode();
        match engine.snapshot().get(storage::Cf::Raft, &key)? {
            Some(v) => Ok(Some(u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| Error::Corrupt("store ident"))?,
            ))),
            None => Ok(None),
        }
    }

    /// Record the store id this engine belongs to (synced).
    pub fn write_ident(engine: &E, store_id: u64) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(
            storage::Cf::Raft,
            crate::keys::Key::StoreIdent.encode(),
            store_id.to_be_bytes(),
        );
        batch.set_sync(true);
        engine.write(batch)?;
        Ok(())
    }

    /// Undo [`bootstrap`](Self::bootstrap) of a region that lost the race
    /// to be the cluster's first (synced).
    pub fn forget_bootstrap(engine: &E, region: &Region) -> Result<()> {
        let mut storage = PeerStorage::load(engine.clone(), region.clone())?;
        let mut batch = WriteBatch::new();
        storage.clear_log(&mut batch);
        batch.delete(
            storage::Cf::Raft,
            crate::keys::Key::Region(region.id).encode(),
        );
        batch.set_sync(true);
        engine.write(batch)?;
        Ok(())
    }

    /// Open store `store_id`'s peers as its engine records them.
    pub fn open(
        cfg: Config,
        store_id: u64,
        engine: E,
        transport: T,
        apply: Arc<dyn Apply>,
    ) -> Result<(Self, Router)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let router = Router::new(tx, Instant::now());
        let mut store = Self {
            cfg,
            store_id,
            engine,
            transport,
            apply,
            peers: HashMap::new(),
            tombstones: HashMap::new(),
            early_votes: HashMap::new(),
            rx,
            router: router.clone(),
            next_read_id: 0,
            logger: slog::Logger::root(slog::Discard, slog::o!()),
        };
        for local in load_regions(&store.engine)? {
            let region = local
                .region
                .ok_or(Error::Corrupt("region state without region"))?;
            if local.state == PeerState::Tombstone as i32 {
                store
                    .tombstones
                    .insert(region.id, region.epoch.unwrap_or_default());
                continue;
            }
            let Some(meta) = region
                .peers
                .iter()
                .find(|p| p.store_id == store_id)
                .cloned()
            else {
                continue;
            };
            let alone = region.peers.len() == 1;
            let storage = PeerStorage::load(store.engine.clone(), region)?;
            let mut peer = Peer::new(&store.cfg, meta, storage, &store.logger)?;
            if alone {
                // Its region's only voter: no election timeout to wait out.
                let _ = peer.raft.campaign();
            }
            store.insert_peer(peer);
        }
        Ok((store, router))
    }

    fn insert_peer(&mut self, peer: Peer<E>) {
        let id = peer.region().id;
        self.router.insert_delegate(id, peer.delegate().clone());
        publish(&*self.apply, &self.router, &peer);
        self.peers.insert(id, peer);
    }

    /// Run the poller on this thread until [`Msg::Stop`] or every router
    /// is gone.
    pub fn run(mut self) {
        let mut next_tick = Instant::now() + self.cfg.tick_interval;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            let mut stop = false;
            match self.rx.recv_timeout(wait) {
                Ok(msg) => {
                    let now = Instant::now();
                    stop |= self.handle(msg, now);
                    for _ in 1..MAX_MSGS_PER_ROUND {
                        let Ok(msg) = self.rx.try_recv() else { break };
                        stop |= self.handle(msg, now);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            let now = Instant::now();
            if now >= next_tick {
                self.tick(now);
                next_tick = now + self.cfg.tick_interval;
            }
            if let Err(e) = self.on_ready(now) {
                tracing::error!("raftstore {}: round failed, stopping: {e}", self.store_id);
                stop = true;
            }
            if stop {
                for peer in self.peers.values_mut() {
                    peer.fail_all(Error::Stopped);
                }
                return;
            }
        }
    }

    /// Handle one message; returns whether the poller should stop.
    pub fn handle(&mut self, msg: Msg, now: Instant) -> bool {
        match msg {
            Msg::Raft(m) => self.on_raft_message(m),
            Msg::Propose {
                region_id,
                epoch,
                writes,
                cb,
            } => {
                let Some(peer) = self.peers.get_mut(&region_id) else {
                    cb(Err(Error::RegionNotFound(region_id)));
                    return false;
                };
                let current = peer.region().epoch.unwrap_or_default();
                if epoch.version != current.version {
                    cb(Err(Error::EpochNotMatch(
                        self.router.current_regions(peer.region()),
                    )));
                    return false;
                }
                let data = RaftCmd {
                    region_epoch: Some(epoch),
                    writes: cmd::batch_pb(writes),
                    ..Default::default()
                }
                .encode_to_vec();
                peer.propose(data, now, cb);
            }
            Msg::Read {
                region_id,
                epoch,
                cb,
            } => {
                let Some(peer) = self.peers.get_mut(&region_id) else {
                    cb(Err(Error::RegionNotFound(region_id)));
                    return false;
                };
                if Some(&epoch) != peer.region().epoch.as_ref() {
                    cb(Err(Error::EpochNotMatch(
                        self.router.current_regions(peer.region()),
                    )));
                    return false;
                }
                peer.read(now, cb);
                peer.start_read_round(&self.cfg, now, &mut self.next_read_id);
            }
            Msg::Split {
                region_id,
                epoch,
                split,
                cb,
            } => {
                let cmd = RaftCmd {
                    region_epoch: Some(epoch),
                    split: Some(split),
                    ..Default::default()
                };
                self.propose_cmd(region_id, cmd, now, cb);
            }
            Msg::DeleteRange {
                region_id,
                epoch,
                range,
                cb,
            } => {
                let cmd = RaftCmd {
                    region_epoch: Some(epoch),
                    delete_range: Some(range),
                    ..Default::default()
                };
                self.propose_cmd(region_id, cmd, now, cb);
            }
            Msg::ChangePeer {
                region_id,
                epoch,
                change,
                peer: target,
                cb,
            } => {
                let Some(peer) = self.peers.get_mut(&region_id) else {
                    cb(Err(Error::RegionNotFound(region_id)));
                    return false;
                };
                if !peer.is_leader() {
                    cb(Err(peer.not_leader()));
                    return false;
                }
                let mut cc = ConfChange::default();
                cc.set_change_type(match change {
                    Change::Add => ConfChangeType::AddNode,
                    Change::Remove => ConfChangeType::RemoveNode,
                });
                cc.node_id = target.id;
                cc.context = ChangePeer {
                    peer: Some(target),
                    region_epoch: Some(epoch),
                }
                .encode_to_vec()
                .into();
                let last = peer.raft.raft.raft_log.last_index();
                match peer.raft.propose_conf_change(Vec::new(), cc) {
                    Ok(()) if peer.raft.raft.raft_log.last_index() == last + 1 => {
                        peer.track(last + 1, now, cb)
                    }
                    // raft-rs takes one membership change at a time.
                    _ => cb(Err(Error::Invalid(
                        "a membership change is in progress".into(),
                    ))),
                }
            }
            Msg::TransferLeader { region_id, to } => {
                // Only to a peer that answered lately and holds the whole
                // log: while a transfer is pending the leader serves
                // nothing, so one to a dead or lagging peer would stall the
                // region until raft-rs gives up on it.
                if let Some(peer) = self.peers.get_mut(&region_id)
                    && peer.is_leader()
                    && peer.meta().id != to
                    && peer.raft.raft.lead_transferee.is_none()
                {
                    let last = peer.raft.raft.raft_log.last_index();
                    let ready = peer
                        .raft
                        .raft
                        .prs()
                        .get(to)
                        .is_some_and(|pr| pr.recent_active && pr.matched == last);
                    if ready {
                        // Stop serving before the target hears of it.
                        peer.drop_lease();
                        peer.raft.transfer_leader(to);
                        publish(&*self.apply, &self.router, peer);
                    }
                }
            }
            Msg::Campaign(region_id) => {
                if let Some(peer) = self.peers.get_mut(&region_id) {
                    let _ = peer.raft.campaign();
                }
            }
            Msg::Status(reply) => reply(self.status()),
            Msg::Stop => return true,
        }
        false
    }

    fn status(&self) -> Vec<PeerStatus> {
        self.peers
            .values()
            .filter(|p| p.raft.store().is_initialized())
            .map(|p| {
                let raft = &p.raft.raft;
                let pending_peers = if p.is_leader() {
                    let first = raft.raft_log.first_index();
                    raft.prs()
                        .iter()
                        .filter(|(id, pr)| **id != p.meta().id && pr.matched + 1 < first)
                        .filter_map(|(id, _)| {
                            p.region().peers.iter().find(|m| m.id == *id).cloned()
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                PeerStatus {
                    region: p.region().clone(),
                    peer: *p.meta(),
                    leader: p.leader(),
                    term: raft.term,
                    commit: raft.raft_log.committed,
                    applied: p.raft.store().apply_state().applied_index,
                    pending_peers,
                    written: p.written,
                }
            })
            .collect()
    }

    fn on_raft_message(&mut self, m: RaftMessage) {
        let Some(to) = m.to_peer else { return };
        if to.store_id != self.store_id {
            return;
        }
        let msg_epoch = m.region_epoch.unwrap_or_default();
        if m.is_tombstone {
            if let Some(peer) = self.peers.get(&m.region_id)
                && peer.meta().id == to.id
                && peer.region().epoch.unwrap_or_default().conf_ver < msg_epoch.conf_ver
            {
                self.destroy(m.region_id);
            }
            return;
        }
        let Ok(raft_msg) = <Message as protobuf::Message>::parse_from_bytes(&m.message) else {
            return;
        };
        if !self.peers.contains_key(&m.region_id) && !self.maybe_create(&m, &raft_msg) {
            let vote = matches!(
                raft_msg.get_msg_type(),
                MessageType::MsgRequestVote | MessageType::MsgRequestPreVote
            );
            if vote && self.overlaps_a_peer(&m) {
                if self.early_votes.len() >= MAX_EARLY_VOTES {
                    self.early_votes.clear();
                }
                self.early_votes.insert(m.region_id, m);
            }
            return;
        }
        let peer = self
            .peers
            .get_mut(&m.region_id)
            .expect("present or just created");
        if peer.meta().id != to.id {
            return;
        }
        let region = peer.region();
        if let Some(from) = &m.from_peer {
            let epoch = region.epoch.unwrap_or_default();
            let member = region.peers.iter().any(|p| p.id == from.id);
            if peer.raft.store().is_initialized() && !member && msg_epoch.conf_ver < epoch.conf_ver
            {
                // A peer removed while it was away: tell it so.
                self.transport.send(RaftMessage {
                    region_id: m.region_id,
                    from_peer: Some(to),
                    to_peer: Some(*from),
                    region_epoch: Some(epoch),
                    is_tombstone: true,
                    ..Default::default()
                });
                return;
            }
            peer.remember(*from);
        }
        let _ = peer.raft.step(raft_msg);
    }

    /// Create an empty peer for a message about a region this store lacks,
    /// if the message comes from a leader and nothing here overlaps it.
    fn maybe_create(&mut self, m: &RaftMessage, raft_msg: &Message) -> bool {
        let from_leader = matches!(
            raft_msg.get_msg_type(),
            MessageType::MsgAppend | MessageType::MsgHeartbeat | MessageType::MsgSnapshot
        );
        if !from_leader {
            return false;
        }
        let conf_ver = m.region_epoch.unwrap_or_default().conf_ver;
        if self
            .tombstones
            .get(&m.region_id)
            .is_some_and(|e| e.conf_ver >= conf_ver)
        {
            return false;
        }
        if self.overlaps_a_peer(m) {
            return false;
        }
        let Some(meta) = m.to_peer else {
            return false;
        };
        let storage = PeerStorage::uninitialized(self.engine.clone(), m.region_id);
        match Peer::new(&self.cfg, meta, storage, &self.logger) {
            Ok(peer) => {
                self.insert_peer(peer);
                true
            }
            Err(_) => false,
        }
    }

    /// Whether the message's region overlaps one this store holds: the
    /// parent of a split not yet applied here, or a region since moved on.
    fn overlaps_a_peer(&self, m: &RaftMessage) -> bool {
        self.peers.values().any(|p| {
            let r = p.region();
            p.raft.store().is_initialized()
                && overlaps(&r.start_key, &r.end_key, &m.start_key, &m.end_key)
        })
    }

    /// Tick every peer: elections, heartbeats, lease renewal, read timeouts.
    pub fn tick(&mut self, now: Instant) {
        let read_timeout = self.cfg.tick_interval * self.cfg.election_ticks as u32 * 2;
        let mut leaders = 0;
        for peer in self.peers.values_mut() {
            leaders += i64::from(peer.is_leader());
            peer.raft.tick();
            peer.expire_waiting(now, read_timeout);
            peer.start_read_round(&self.cfg, now, &mut self.next_read_id);
            publish(&*self.apply, &self.router, peer);
        }
        metrics::REGIONS.set(self.peers.len() as i64);
        metrics::LEADERS.set(leaders);
    }

    /// One round: persist, send, apply, answer (see the module doc).
    pub fn on_ready(&mut self, now: Instant) -> Result<()> {
        let ready_ids: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| p.raft.has_ready())
            .map(|(id, _)| *id)
            .collect();
        if ready_ids.is_empty() {
            return Ok(());
        }
        let mut persist = WriteBatch::new();
        // Only new entries, a snapshot, or a new term or vote need the
        // fsync; a hard state that only moved its commit index may reach
        // the disk later, as a restarted peer learns the commit again
        // (and `set_applied` never lets it fall below what was applied).
        let mut must_sync = false;
        let mut readies = Vec::with_capacity(ready_ids.len());
        let mut replaced = Vec::new();
        for &id in &ready_ids {
            let peer = self.peers.get_mut(&id).expect("listed above");
            let mut rd = peer.raft.ready();
            must_sync |= rd.must_sync();
            send(&mut self.transport, peer, rd.take_messages());
            if !rd.snapshot().is_empty() {
                let region = peer
                    .raft
                    .mut_store()
                    .apply_snapshot(rd.snapshot(), &mut persist)?;
                peer.delegate().set_region(region.clone());
                replaced.push(region_range(&region));
            }
            peer.raft
                .mut_store()
                .append(rd.take_entries(), &mut persist);
            if let Some(hs) = rd.hs() {
                peer.raft
                    .mut_store()
                    .set_hard_state(hs.clone(), &mut persist);
            }
            readies.push((id, rd));
        }
        if !persist.is_empty() {
            persist.set_sync(self.cfg.sync_log && must_sync);
            let started = Instant::now();
            self.engine.write(persist)?;
            metrics::APPEND_LOG.observe(started.elapsed().as_secs_f64());
        }
        for range in &replaced {
            self.apply.range_replaced(range);
        }

        let mut applied = WriteBatch::new();
        let mut answers: Vec<(Callback, Result<()>)> = Vec::new();
        let mut effects = Vec::new();
        for (id, mut rd) in readies {
            let mut peer = self.peers.remove(&id).expect("listed above");
            send(&mut self.transport, &mut peer, rd.take_persisted_messages());
            let read_states = rd.take_read_states();
            let mut committed = rd.take_committed_entries();
            let mut light = peer.raft.advance(rd);
            send(&mut self.transport, &mut peer, light.take_messages());
            committed.extend(light.take_committed_entries());
            self.apply_entries(
                &mut peer,
                committed,
                &mut applied,
                &mut answers,
                &mut effects,
            );
            for rs in read_states {
                peer.on_read_state(&self.cfg, &rs.request_ctx, rs.index);
            }
            self.peers.insert(id, peer);
        }
        if !applied.is_empty() {
            let started = Instant::now();
            self.apply.write(applied)?;
            metrics::APPLY_LOG.observe(started.elapsed().as_secs_f64());
        }
        for (cb, result) in answers {
            cb(result);
        }
        for id in &ready_ids {
            let Some(peer) = self.peers.get_mut(id) else {
                continue;
            };
            peer.raft.advance_apply();
            peer.finish_reads();
            peer.expire_waiting(now, Duration::MAX);
            peer.start_read_round(&self.cfg, now, &mut self.next_read_id);
            publish(&*self.apply, &self.router, peer);
            let raft = &peer.raft;
            let keep = raft
                .raft
                .prs()
                .iter()
                .map(|(_, pr)| pr.matched)
                .min()
                .unwrap_or(0);
            let storage = raft.store();
            let applied = storage.apply_state().applied_index;
            let kept = applied.saturating_sub(storage.apply_state().truncated_index);
            if kept > self.cfg.log_gc_count {
                // A leader keeps what lagging followers still need, up to a point.
                let to = if peer.is_leader() && kept < self.cfg.log_gc_max {
                    keep.min(applied)
                } else {
                    applied
                };
                let mut batch = WriteBatch::new();
                peer.raft.mut_store().compact_to(to, &mut batch);
                if !batch.is_empty() {
                    self.engine.write(batch)?;
                }
            }
        }
        for effect in effects {
            match effect {
                Effect::Split { region, campaign } => self.create_split_peer(region, campaign)?,
                Effect::Destroy(region_id) => self.destroy(region_id),
            }
        }
        Ok(())
    }

    /// Apply committed entries of one peer into `batch`, queueing the
    /// answers to their proposers until the batch is written.
    fn apply_entries(
        &mut self,
        peer: &mut Peer<E>,
        entries: Vec<Entry>,
        batch: &mut WriteBatch,
        answers: &mut Vec<(Callback, Result<()>)>,
        effects: &mut Vec<Effect>,
    ) {
        let mut last = None;
        for entry in entries {
            if entry.index <= peer.raft.store().apply_state().applied_index {
                continue;
            }
            let result = match entry.get_entry_type() {
                EntryType::EntryNormal if entry.data.is_empty() => Ok(()),
                EntryType::EntryNormal => self.exec_cmd(peer, &entry.data, batch, effects),
                EntryType::EntryConfChange => exec_conf_change(peer, &entry.data, batch, effects),
                EntryType::EntryConfChangeV2 => Err(Error::Invalid("joint consensus".into())),
            };
            last = Some((entry.index, entry.term));
            let (cb, stale) = peer.take_proposal(&self.cfg, entry.index, entry.term);
            answers.extend(stale.into_iter().map(|cb| (cb, Err(Error::StaleCommand))));
            if let Some(cb) = cb {
                answers.push((cb, result));
            }
        }
        if let Some((index, term)) = last {
            peer.raft.mut_store().set_applied(index, term, batch);
        }
    }

    /// Propose an administrative command to the region's peer here.
    fn propose_cmd(&mut self, region_id: u64, cmd: RaftCmd, now: Instant, cb: Callback) {
        match self.peers.get_mut(&region_id) {
            Some(peer) => peer.propose(cmd.encode_to_vec(), now, cb),
            None => cb(Err(Error::RegionNotFound(region_id))),
        }
    }

    /// Apply one normal entry: data writes, a split, or a range deletion.
    fn exec_cmd(
        &self,
        peer: &mut Peer<E>,
        data: &[u8],
        batch: &mut WriteBatch,
        effects: &mut Vec<Effect>,
    ) -> Result<()> {
        let cmd = RaftCmd::decode(data).map_err(|_| Error::Corrupt("log entry"))?;
        let region = peer.region().clone();
        let epoch = region.epoch.unwrap_or_default();
        let asked = cmd.region_epoch.unwrap_or_default();
        if let Some(split) = cmd.split {
            if asked != epoch {
                return Err(Error::EpochNotMatch(vec![region]));
            }
            return self.exec_split(peer, region, split, batch, effects);
        }
        // A write checked against an older key range may now fall outside.
        if asked.version != epoch.version {
            return Err(Error::EpochNotMatch(self.router.current_regions(&region)));
        }
        if let Some(range) = cmd.delete_range {
            return self.exec_delete_range(&region, range, batch);
        }
        peer.written += data.len() as u64;
        let writes = cmd
            .writes
            .into_iter()
            .map(cmd::decode_modify)
            .collect::<Result<Vec<_>>>()?;
        for modify in writes {
            cmd::push(batch, modify);
        }
        Ok(())
    }

    /// Delete a range inside the region. The entries applied before it in
    /// this round are written first, so that it removes what they wrote.
    fn exec_delete_range(
        &self,
        region: &Region,
        range: DeleteRangeCmd,
        batch: &mut WriteBatch,
    ) -> Result<()> {
        let inside = range.start_key >= region.start_key
            && range.start_key < range.end_key
            && (region.end_key.is_empty() || range.end_key <= region.end_key);
        if !inside {
            return Err(Error::Invalid("range to delete outside the region".into()));
        }
        self.apply.write(std::mem::take(batch))?;
        self.apply
            .delete_range(&KeyRange::new(range.start_key, Some(range.end_key)))?;
        Ok(())
    }

    fn exec_split(
        &self,
        peer: &mut Peer<E>,
        region: Region,
        split: SplitCmd,
        batch: &mut WriteBatch,
        effects: &mut Vec<Effect>,
    ) -> Result<()> {
        let key = split.split_key;
        let inside = key > region.start_key && (region.end_key.is_empty() || key < region.end_key);
        if !inside || split.new_peer_ids.len() != region.peers.len() {
            return Err(Error::Invalid(
                "split key outside the region or peer ids missing".into(),
            ));
        }
        let mut left = region.clone();
        left.end_key = key.clone();
        let epoch = left.epoch.get_or_insert_with(Default::default);
        epoch.version += 1;
        let right = Region {
            id: split.new_region_id,
            start_key: key,
            end_key: region.end_key,
            epoch: left.epoch,
            peers: region
                .peers
                .iter()
                .zip(split.new_peer_ids)
                .map(|(p, id)| PeerMeta {
                    id,
                    store_id: p.store_id,
                })
                .collect(),
        };
        write_region_state(batch, &left, PeerState::Normal);
        // A peer of the new region that already exists here (created by its
        // leader's messages after this store's parent fell behind) is newer
        // than the split: leave it be.
        let exists = self.peers.contains_key(&right.id) || self.tombstones.contains_key(&right.id);
        if !exists {
            write_initial_state(batch, &right);
            effects.push(Effect::Split {
                region: right,
                campaign: peer.is_leader(),
            });
        }
        peer.raft.mut_store().set_region(left.clone());
        peer.delegate().set_region(left);
        Ok(())
    }

    fn create_split_peer(&mut self, region: Region, campaign: bool) -> Result<()> {
        let Some(meta) = region
            .peers
            .iter()
            .find(|p| p.store_id == self.store_id)
            .cloned()
        else {
            return Ok(());
        };
        let storage = PeerStorage::load(self.engine.clone(), region)?;
        let mut peer = Peer::new(&self.cfg, meta, storage, &self.logger)?;
        if campaign {
            let _ = peer.raft.campaign();
        }
        let id = peer.region().id;
        self.insert_peer(peer);
        if let Some(vote) = self.early_votes.remove(&id) {
            self.on_raft_message(vote);
        }
        Ok(())
    }

    /// Remove this store's peer of a region: its state becomes a
    /// tombstone and its data goes, in one batch.
    fn destroy(&mut self, region_id: u64) {
        let Some(mut peer) = self.peers.remove(&region_id) else {
            return;
        };
        self.router.remove_delegate(region_id);
        peer.fail_all(Error::RegionNotFound(region_id));
        let region = peer.region().clone();
        let mut batch = WriteBatch::new();
        let storage = peer.raft.mut_store();
        if storage.is_initialized() {
            let range = region_range(&region);
            if let Err(e) = clear_range(&self.engine.snapshot(), &range, &mut batch) {
                tracing::error!("destroying region {region_id}: {e}");
                return;
            }
        }
        storage.clear_log(&mut batch);
        write_region_state(&mut batch, &region, PeerState::Tombstone);
        batch.set_sync(true);
        if let Err(e) = self.engine.write(batch) {
            tracing::error!("destroying region {region_id}: {e}");
            return;
        }
        self.apply.range_replaced(&region_range(&region));
        self.tombstones
            .insert(region_id, region.epoch.unwrap_or_default());
    }
}

/// Apply a membership change entry.
fn exec_conf_change<E: Engine>(
    peer: &mut Peer<E>,
    data: &[u8],
    batch: &mut WriteBatch,
    effects: &mut Vec<Effect>,
) -> Result<()> {
    let cc: ConfChange =
        protobuf::Message::parse_from_bytes(data).map_err(|_| Error::Corrupt("conf change"))?;
    let change =
        ChangePeer::decode(cc.context.as_ref()).map_err(|_| Error::Corrupt("conf change"))?;
    let target = change
        .peer
        .ok_or(Error::Corrupt("conf change without peer"))?;
    let mut region = peer.region().clone();
    let epoch = region.epoch.get_or_insert_with(Default::default);
    if change.region_epoch.unwrap_or_default().conf_ver != epoch.conf_ver {
        return Err(Error::EpochNotMatch(vec![peer.region().clone()]));
    }
    epoch.conf_ver += 1;
    match cc.get_change_type() {
        ConfChangeType::AddNode => {
            if !region.peers.iter().any(|p| p.id == target.id) {
                region.peers.push(target);
            }
        }
        ConfChangeType::RemoveNode => region.peers.retain(|p| p.id != target.id),
        ConfChangeType::AddLearnerNode => return Err(Error::Invalid("learners".into())),
    }
    let applied = peer
        .raft
        .apply_conf_change(&cc)
        .map_err(|e| Error::Invalid(format!("conf change: {e}")))?;
    debug_assert_eq!(applied.voters.len(), conf_state(&region).voters.len());
    write_region_state(batch, &region, PeerState::Normal);
    peer.raft.mut_store().set_region(region.clone());
    peer.delegate().set_region(region.clone());
    if cc.get_change_type() == ConfChangeType::RemoveNode && target.id == peer.meta().id {
        effects.push(Effect::Destroy(region.id));
    }
    Ok(())
}

/// Publish a peer's role to its delegate. When it stops leading, the
/// pessimistic locks in its range belong to a leadership that is over
/// (they live in the leader's memory only): see [`Apply::leadership_lost`].
fn publish<E: Engine>(apply: &dyn Apply, router: &Router, peer: &Peer<E>) {
    if peer.publish(|t| router.nanos(t)) {
        apply.leadership_lost(&region_range(peer.region()));
    }
}

/// Send a peer's raft-rs messages to the stores of their targets.
fn send<E: Engine, T: Transport>(transport: &mut T, peer: &mut Peer<E>, msgs: Vec<Message>) {
    let mut snapshots = Vec::new();
    for msg in msgs {
        let Some(to) = peer.lookup(msg.to) else {
            continue;
        };
        if msg.get_msg_type() == MessageType::MsgSnapshot {
            snapshots.push(msg.to);
        }
        let region = peer.region();
        transport.send(RaftMessage {
            region_id: region.id,
            from_peer: Some(*peer.meta()),
            to_peer: Some(to),
            region_epoch: region.epoch,
            start_key: region.start_key.clone(),
            end_key: region.end_key.clone(),
            message: encode_raft(&msg),
            is_tombstone: false,
        });
    }
    // The snapshot travels inside the message: once sent it is as good as
    // delivered, and a lost one is noticed by the follower's next reply.
    for to in snapshots {
        peer.raft.report_snapshot(to, SnapshotStatus::Finish);
    }
}
