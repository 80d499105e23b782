//! One peer of a region: its raft-rs node, the proposals and reads waiting
//! on it, and its leader lease.
//!
//! **Lease.** Followers run with `check_quorum`: for `election_ticks` after
//! hearing from their leader they refuse to vote for anyone else. So when a
//! quorum has answered a message the leader sent at time `t` (a ReadIndex
//! heartbeat round, or an entry it proposed being committed), no other peer
//! can win an election before `t + election timeout`, and until then the
//! leader's own state is the newest there is: it may read locally. The
//! lease is [`Config::lease`](crate::Config::lease) from `t`, taken on the
//! monotonic clock, so a leader that was stalled (SIGSTOP) finds it expired
//! when it wakes. A leadership transfer bypasses the followers' refusal,
//! so a leader that starts one drops its lease first. A region with one
//! voter always holds it.
//!
//! A new leader serves reads only once it has applied an entry of its own
//! term: only then does its state hold every write its predecessors
//! acknowledged.

use crate::peer_storage::PeerStorage;
use crate::router::ReadDelegate;
use crate::{Config, Error, Result};
use proto::kvrpc::{Peer as PeerMeta, Region};
use raft::{RawNode, StateRole};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::Engine;

/// Answer to a proposal or read, called by the poller once it is decided.
pub type Callback = Box<dyn FnOnce(Result<()>) + Send>;

/// A proposal waiting for its entry to be applied.
struct Proposal {
    index: u64,
    term: u64,
    proposed_at: Instant,
    cb: Callback,
}

/// A ReadIndex round in flight: its reads wait for the index it returns.
struct ReadRound {
    id: u64,
    term: u64,
    sent_at: Instant,
    cbs: Vec<Callback>,
}

/// A peer and everything waiting on it.
pub struct Peer<E: Engine> {
    /// The raft-rs node over this peer's storage.
    pub raft: RawNode<PeerStorage<E>>,
    meta: PeerMeta,
    proposals: VecDeque<Proposal>,
    /// Reads waiting for the peer to be able to start a ReadIndex round.
    waiting_reads: Vec<Callback>,
    rounds: VecDeque<ReadRound>,
    /// Reads whose index is known, waiting for it to be applied.
    ready_reads: Vec<(u64, Callback)>,
    lease_until: Option<Instant>,
    delegate: Arc<ReadDelegate>,
    /// Peers heard from that the region descriptor may not list yet (this
    /// peer is new and has no descriptor, or a member was just added).
    known: HashMap<u64, PeerMeta>,
    /// Bytes of data commands applied since the peer started: a region
    /// that has taken few writes since it was last measured need not be
    /// measured again for a split.
    pub written: u64,
}

fn raft_config(cfg: &Config, peer_id: u64, applied: u64) -> raft::Config {
    raft::Config {
        id: peer_id,
        election_tick: cfg.election_ticks,
        heartbeat_tick: cfg.heartbeat_ticks,
        applied,
        max_size_per_msg: cfg.max_size_per_msg,
        max_inflight_msgs: cfg.max_inflight_msgs,
        check_quorum: true,
        pre_vote: true,
        ..Default::default()
    }
}

impl<E: Engine> Peer<E> {
    /// A peer `meta` over `storage`, its state as persisted.
    pub fn new(
        cfg: &Config,
        meta: PeerMeta,
        storage: PeerStorage<E>,
        logger: &slog::Logger,
    ) -> Result<Self> {
        let applied = storage.apply_state().applied_index;
        let delegate = Arc::new(ReadDelegate::new(storage.region().clone()));
        let raft = RawNode::new(&raft_config(cfg, meta.id, applied), storage, logger)
            .map_err(|e| Error::Invalid(format!("raft: {e}")))?;
        Ok(Self {
            raft,
            meta,
            proposals: VecDeque::new(),
            waiting_reads: Vec::new(),
            rounds: VecDeque::new(),
            ready_reads: Vec::new(),
            lease_until: None,
            delegate,
            known: HashMap::new(),
            written: 0,
        })
    }

    /// This peer's id and store.
    pub fn meta(&self) -> &PeerMeta {
        &self.meta
    }

    /// The region as this peer knows it.
    pub fn region(&self) -> &Region {
        self.raft.store().region()
    }

    /// Note the store of a peer that sent us a message.
    pub fn remember(&mut self, from: PeerMeta) {
        self.known.entry(from.id).or_insert(from);
    }

    /// The store of peer `id`, from the region or from messages.
    pub fn lookup(&self, id: u64) -> Option<PeerMeta> {
        self.region()
            .peers
            .iter()
            .find(|p| p.id == id)
            .or_else(|| self.known.get(&id))
            .cloned()
    }

    /// What readers on other threads see of this peer.
    pub fn delegate(&self) -> &Arc<ReadDelegate> {
        &self.delegate
    }

    /// Whether this peer leads its region.
    pub fn is_leader(&self) -> bool {
        self.raft.raft.state == StateRole::Leader
    }

    /// The leader as this peer knows it.
    pub fn leader(&self) -> Option<PeerMeta> {
        let id = self.raft.raft.leader_id;
        self.region().peers.iter().find(|p| p.id == id).cloned()
    }

    /// The error for requests this peer cannot lead.
    pub fn not_leader(&self) -> Error {
        Error::NotLeader {
            region_id: self.region().id,
            leader: self.leader(),
        }
    }

    /// Whether the peer may serve reads and take proposals as leader: it
    /// leads, has applied an entry of its term, and is not handing over.
    fn ready_to_lead(&self) -> bool {
        self.is_leader()
            && self.raft.store().apply_state().applied_term == self.raft.raft.term
            && self.raft.raft.lead_transferee.is_none()
    }

    /// Whether this peer is its region's only voter: nobody else can ever
    /// be elected, so its lease never ends.
    fn sole_voter(&self) -> bool {
        matches!(self.region().peers.as_slice(), [only] if only.id == self.meta.id)
    }

    fn lease_valid(&self, now: Instant) -> bool {
        self.ready_to_lead()
            && (self.sole_voter() || self.lease_until.is_some_and(|until| now < until))
    }

    /// Extend the lease to `from + lease` if `from` was in this peer's
    /// current term of leadership.
    fn renew_lease(&mut self, cfg: &Config, term: u64, from: Instant) {
        if self.is_leader()
            && term == self.raft.raft.term
            && self.raft.raft.lead_transferee.is_none()
        {
            let until = from + cfg.lease();
            if self.lease_until.is_none_or(|u| u < until) {
                self.lease_until = Some(until);
            }
        }
    }

    /// Publish role and lease to the delegate for lock-free readers.
    /// Returns whether the peer just stopped leading.
    pub fn publish(&self, nanos: impl Fn(Instant) -> u64) -> bool {
        let (term, lease) = if self.ready_to_lead() {
            let lease = if self.sole_voter() {
                u64::MAX
            } else {
                self.lease_until.map_or(0, nanos)
            };
            (self.raft.raft.term, lease)
        } else {
            (0, 0)
        };
        let stopped = term == 0 && self.delegate.leader_term() != 0;
        self.delegate.publish(term, lease, self.raft.raft.leader_id);
        stopped
    }

    /// Forget the lease: a leadership transfer is starting, and the next
    /// leader may serve writes before this lease would have run out.
    pub fn drop_lease(&mut self) {
        self.lease_until = None;
    }

    /// Propose `data` as a normal entry; `cb` hears when it is applied.
    pub fn propose(&mut self, data: Vec<u8>, now: Instant, cb: Callback) {
        if !self.ready_to_lead() {
            return cb(Err(self.not_leader()));
        }
        let last = self.raft.raft.raft_log.last_index();
        if self.raft.propose(Vec::new(), data).is_err()
            || self.raft.raft.raft_log.last_index() != last + 1
        {
            return cb(Err(self.not_leader()));
        }
        crate::metrics::PROPOSALS.inc();
        self.track(last + 1, now, cb);
    }

    /// Remember a proposal made at `index` in the current term.
    pub fn track(&mut self, index: u64, now: Instant, cb: Callback) {
        self.proposals.push_back(Proposal {
            index,
            term: self.raft.raft.term,
            proposed_at: now,
            cb,
        });
    }

    /// A read: answered at once under the lease, else after ReadIndex.
    pub fn read(&mut self, now: Instant, cb: Callback) {
        if !self.is_leader() {
            return cb(Err(self.not_leader()));
        }
        if self.lease_valid(now) {
            return cb(Ok(()));
        }
        self.waiting_reads.push(cb);
    }

    /// Start a ReadIndex round for the waiting reads, or to renew a lease
    /// that will soon run out, when the peer can.
    pub fn start_read_round(&mut self, cfg: &Config, now: Instant, next_id: &mut u64) {
        if !self.ready_to_lead() {
            return;
        }
        let renew = self.rounds.is_empty()
            && !self.sole_voter()
            && self.lease_until.is_none_or(|u| u < now + cfg.lease() / 2);
        if self.waiting_reads.is_empty() && !renew {
            return;
        }
        *next_id += 1;
        self.raft.read_index(next_id.to_be_bytes().to_vec());
        self.rounds.push_back(ReadRound {
            id: *next_id,
            term: self.raft.raft.term,
            sent_at: now,
            cbs: std::mem::take(&mut self.waiting_reads),
        });
    }

    /// A ReadIndex round came back: a quorum acknowledged the leader after
    /// the round was sent, so the lease runs from then.
    pub fn on_read_state(&mut self, cfg: &Config, ctx: &[u8], index: u64) {
        let Ok(id) = <[u8; 8]>::try_from(ctx).map(u64::from_be_bytes) else {
            return;
        };
        while let Some(round) = self.rounds.front() {
            if round.id > id {
                break;
            }
            let round = self.rounds.pop_front().expect("front exists");
            self.renew_lease(cfg, round.term, round.sent_at);
            for cb in round.cbs {
                self.ready_reads.push((index, cb));
            }
        }
    }

    /// Answer reads whose index has been applied.
    pub fn finish_reads(&mut self) {
        let applied = self.raft.store().apply_state().applied_index;
        if self.ready_reads.iter().all(|(index, _)| *index > applied) {
            return;
        }
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.ready_reads)
            .into_iter()
            .partition(|(index, _)| *index <= applied);
        self.ready_reads = waiting;
        for (_, cb) in done {
            cb(Ok(()));
        }
    }

    /// The peer stopped leading: every read and proposal waiting on it
    /// fails, and read rounds that never came back within `timeout` fail
    /// too. A proposal's entry may still be committed by the next leader;
    /// its callers retry at that leader, and every command is idempotent
    /// (Percolator's actions are), so failing it early is safe, whereas
    /// waiting for an entry at its index to be applied could take forever
    /// in a region nobody else writes.
    pub fn expire_waiting(&mut self, now: Instant, timeout: Duration) {
        let lost = !self.is_leader();
        if lost {
            self.lease_until = None;
            for cb in std::mem::take(&mut self.waiting_reads) {
                cb(Err(self.not_leader()));
            }
            for p in std::mem::take(&mut self.proposals) {
                (p.cb)(Err(self.not_leader()));
            }
        }
        while let Some(round) = self.rounds.front() {
            if !lost && now.saturating_duration_since(round.sent_at) < timeout {
                break;
            }
            let round = self.rounds.pop_front().expect("front exists");
            for cb in round.cbs {
                cb(Err(self.not_leader()));
            }
        }
    }

    /// The proposals decided by applying the entry at `index` of `term`:
    /// the one made there (if its term matches, it took effect), and any
    /// earlier ones that lost their place. A matching proposal of the
    /// current term also renews the lease: a quorum accepted it.
    pub fn take_proposal(
        &mut self,
        cfg: &Config,
        index: u64,
        term: u64,
    ) -> (Option<Callback>, Vec<Callback>) {
        let mut stale = Vec::new();
        while let Some(p) = self.proposals.front() {
            if p.index > index {
                break;
            }
            let p = self.proposals.pop_front().expect("front exists");
            if p.index == index && p.term == term {
                crate::metrics::COMMIT_LOG.observe(p.proposed_at.elapsed().as_secs_f64());
                self.renew_lease(cfg, term, p.proposed_at);
                return (Some(p.cb), stale);
            }
            stale.push(p.cb);
        }
        (None, stale)
    }

    /// Fail everything waiting on this peer (it is being destroyed).
    pub fn fail_all(&mut self, error: Error) {
        for p in self.proposals.drain(..) {
            (p.cb)(Err(error.clone()));
        }
        for cb in self.waiting_reads.drain(..) {
            cb(Err(error.clone()));
        }
        for round in self.rounds.drain(..) {
            for cb in round.cbs {
                cb(Err(error.clone()));
            }
        }
        for (_, cb) in self.ready_reads.drain(..) {
            cb(Err(error.clone()));
        }
    }
}
