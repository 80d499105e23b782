//! Stores on a simulated network, driven from one thread by a seed: ticks
//! on a simulated clock, messages lost, duplicated, delayed (so reordered)
//! and cut off by partitions. A run is the same run for the same seed.
//!
//! What must hold whatever the network does: every store applies entries in
//! one order (each store's applied sequence is a prefix of the longest),
//! nothing acknowledged is ever missing once the network heals, and a
//! minority cut off from the rest acknowledges nothing.
//!
//! `BASALT_SIM_SEEDS=N` runs N seeds per test instead of a few.

use proto::kvrpc::{Peer, Region, RegionEpoch};
use proto::raftpb::{DeleteRangeCmd, RaftMessage, SplitCmd};
use raftstore::store::{Change, PeerStatus, Transport};
use raftstore::{Apply, Config, Msg, Router, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use storage::{Cf, Engine, EngineConfig, FjallEngine, KeyRange, Modify, Snapshot, WriteBatch};

const TICK: Duration = Duration::from_millis(100);

fn config() -> Config {
    Config {
        tick_interval: TICK,
        election_ticks: 10,
        heartbeat_ticks: 2,
        sync_log: false,
        log_gc_count: 50,
        log_gc_max: 200,
        ..Config::default()
    }
}

/// Messages a store sent, collected for the network to deliver.
#[derive(Clone, Default)]
struct Outbox(Arc<Mutex<Vec<RaftMessage>>>);

impl Transport for Outbox {
    fn send(&mut self, msg: RaftMessage) {
        self.0.lock().unwrap().push(msg);
    }
}

/// Writes the engine and records, in order, the sequence numbers the
/// applied batches carry (values of `default` family puts).
struct Recorder {
    engine: FjallEngine,
    applied: Arc<Mutex<Vec<u64>>>,
}

impl Apply for Recorder {
    fn write(&self, batch: WriteBatch) -> storage::Result<()> {
        let mut seqs = Vec::new();
        for m in batch.modifies() {
            if let Modify::Put(Cf::Default, _, v) = m {
                seqs.push(u64::from_be_bytes(v[..8].try_into().unwrap()));
            }
        }
        self.engine.write(batch)?;
        self.applied.lock().unwrap().extend(seqs);
        Ok(())
    }
    fn range_replaced(&self, _range: &KeyRange) {
        // A snapshot replaced the data: the record restarts from the data.
        let snap = self.engine.snapshot();
        let mut seqs: Vec<u64> = snap
            .scan(Cf::Default, &KeyRange::new(Vec::new(), None), false)
            .map(|kv| u64::from_be_bytes(kv.unwrap().1[..8].try_into().unwrap()))
            .collect();
        seqs.sort_unstable();
        *self.applied.lock().unwrap() = seqs;
    }
    fn delete_range(&self, range: &KeyRange) -> storage::Result<()> {
        self.engine.delete_range(&[Cf::Default], range)?;
        self.range_replaced(range);
        Ok(())
    }
    fn leadership_lost(&self, _range: &KeyRange) {}
}

struct Node {
    store: Store<FjallEngine, Outbox>,
    router: Router,
    engine: FjallEngine,
    applied: Arc<Mutex<Vec<u64>>>,
}

struct InFlight {
    deliver_at: Duration,
    to_store: u64,
    msg: RaftMessage,
}

struct Sim {
    rng: StdRng,
    _dirs: Vec<tempfile::TempDir>,
    nodes: BTreeMap<u64, Node>,
    outbox: BTreeMap<u64, Outbox>,
    net: Vec<InFlight>,
    base: Instant,
    now: Duration,
    next_tick: Duration,
    /// Probability of losing, of duplicating a message; max extra delay.
    loss: f64,
    dup: f64,
    max_delay: Duration,
    /// Stores in different groups cannot talk.
    groups: BTreeMap<u64, u32>,
    /// Stores whose process is stopped (SIGSTOP): they neither run nor
    /// receive; what is sent to them waits.
    frozen: HashSet<u64>,
    next_seq: u64,
    acked: Arc<Mutex<HashSet<u64>>>,
    failed: Arc<Mutex<HashSet<u64>>>,
}

fn region_of(peers: &[(u64, u64)]) -> Region {
    Region {
        id: 1,
        start_key: Vec::new(),
        end_key: Vec::new(),
        epoch: Some(RegionEpoch {
            conf_ver: 1,
            version: 1,
        }),
        peers: peers
            .iter()
            .map(|&(id, store_id)| Peer { id, store_id })
            .collect(),
    }
}

impl Sim {
    /// Stores 1..=n, each holding a peer (id = store id) of region 1.
    fn new(seed: u64, n: u64) -> Self {
        let mut sim = Sim {
            rng: StdRng::seed_from_u64(seed),
            _dirs: Vec::new(),
            nodes: BTreeMap::new(),
            outbox: BTreeMap::new(),
            net: Vec::new(),
            base: Instant::now(),
            now: Duration::ZERO,
            next_tick: TICK,
            loss: 0.0,
            dup: 0.0,
            max_delay: Duration::from_millis(5),
            groups: BTreeMap::new(),
            frozen: HashSet::new(),
            next_seq: 0,
            acked: Default::default(),
            failed: Default::default(),
        };
        let peers: Vec<(u64, u64)> = (1..=n).map(|i| (i, i)).collect();
        for store_id in 1..=n {
            sim.add_store(store_id, Some(region_of(&peers)));
        }
        sim
    }

    fn add_store(&mut self, store_id: u64, bootstrap: Option<Region>) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = EngineConfig::new(dir.path());
        cfg.block_cache_bytes = 4 << 20;
        cfg.worker_threads = 1;
        let engine = FjallEngine::open(cfg).unwrap();
        if let Some(region) = bootstrap {
            Store::<FjallEngine, Outbox>::bootstrap(&engine, &region).unwrap();
        }
        self._dirs.push(dir);
        self.start(store_id, engine);
    }

    fn start(&mut self, store_id: u64, engine: FjallEngine) {
        let outbox = self.outbox.entry(store_id).or_default().clone();
        let applied = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            engine: engine.clone(),
            applied: applied.clone(),
        };
        recorder.range_replaced(&KeyRange::new(Vec::new(), None));
        let (store, router) = Store::open(
            config(),
            store_id,
            engine.clone(),
            outbox,
            Arc::new(recorder),
        )
        .unwrap();
        self.nodes.insert(
            store_id,
            Node {
                store,
                router,
                engine,
                applied,
            },
        );
    }

    /// Stop a store and open it again from its engine.
    fn restart(&mut self, store_id: u64) {
        let node = self.nodes.remove(&store_id).unwrap();
        let engine = node.engine.clone();
        drop(node);
        self.start(store_id, engine);
    }

    fn instant(&self) -> Instant {
        self.base + self.now
    }

    fn connected(&self, a: u64, b: u64) -> bool {
        self.groups.get(&a).copied().unwrap_or(0) == self.groups.get(&b).copied().unwrap_or(0)
    }

    /// Advance the clock by one millisecond: deliver due messages, tick,
    /// run every store's round, collect what they sent.
    fn step(&mut self) {
        self.now += Duration::from_millis(1);
        let now = self.instant();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.net)
            .into_iter()
            .partition(|m| m.deliver_at <= self.now && !self.frozen.contains(&m.to_store));
        self.net = later;
        for m in due {
            if let Some(node) = self.nodes.get_mut(&m.to_store) {
                node.store.handle(Msg::Raft(m.msg), now);
            }
        }
        let tick = self.now >= self.next_tick;
        if tick {
            self.next_tick = self.now + TICK;
        }
        for (id, node) in self.nodes.iter_mut() {
            if self.frozen.contains(id) {
                continue;
            }
            if tick {
                node.store.tick(now);
            }
            node.store.on_ready(now).unwrap();
        }
        let sent: Vec<(u64, RaftMessage)> = self
            .outbox
            .iter()
            .flat_map(|(from, o)| {
                std::mem::take(&mut *o.0.lock().unwrap())
                    .into_iter()
                    .map(move |m| (*from, m))
            })
            .collect();
        for (from, msg) in sent {
            let to = msg.to_peer.as_ref().unwrap().store_id;
            if !self.connected(from, to) || self.rng.random_bool(self.loss) {
                continue;
            }
            let copies = if self.rng.random_bool(self.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let delay = self.rng.random_range(Duration::ZERO..=self.max_delay);
                self.net.push(InFlight {
                    deliver_at: self.now + Duration::from_millis(1) + delay,
                    to_store: to,
                    msg: msg.clone(),
                });
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
        }
    }

    fn status(&mut self, store_id: u64) -> Vec<PeerStatus> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        let now = self.instant();
        let node = self.nodes.get_mut(&store_id).unwrap();
        node.store
            .handle(Msg::Status(Box::new(move |s| *o.lock().unwrap() = s)), now);
        Arc::try_unwrap(out).ok().unwrap().into_inner().unwrap()
    }

    /// The store whose peer of region 1 leads, if one does.
    fn leader(&mut self, region_id: u64) -> Option<u64> {
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        ids.into_iter().find(|&id| {
            self.status(id)
                .iter()
                .any(|s| s.region.id == region_id && s.leader.as_ref() == Some(&s.peer))
        })
    }

    fn region(&mut self, store_id: u64, region_id: u64) -> Option<Region> {
        self.status(store_id)
            .into_iter()
            .find(|s| s.region.id == region_id)
            .map(|s| s.region)
    }

    /// Propose one write to `store_id`; its fate lands in acked/failed.
    fn propose(&mut self, store_id: u64) -> u64 {
        self.next_seq += 1;
        let seq = self.next_seq;
        let region = self.region(store_id, 1).unwrap_or_default();
        let mut writes = WriteBatch::new();
        writes.put(
            Cf::Default,
            format!("k{seq:08}").into_bytes(),
            seq.to_be_bytes().to_vec(),
        );
        let (acked, failed) = (self.acked.clone(), self.failed.clone());
        let now = self.instant();
        self.nodes.get_mut(&store_id).unwrap().store.handle(
            Msg::Propose {
                region_id: 1,
                epoch: region.epoch.unwrap_or_default(),
                writes,
                cb: Box::new(move |r| {
                    let set = if r.is_ok() { acked } else { failed };
                    set.lock().unwrap().insert(seq);
                }),
            },
            now,
        );
        seq
    }

    /// Three stores that elected a leader and committed a write through it.
    fn with_leader(seed: u64) -> (Sim, u64) {
        let mut sim = Sim::new(seed, 3);
        sim.run_for(Duration::from_secs(5));
        let leader = sim.leader(1).expect("leader");
        sim.propose(leader);
        sim.run_for(Duration::from_secs(1));
        (sim, leader)
    }

    /// A store other than `old` whose peer of region 1 leads in its own
    /// eyes (`old` may still believe it leads too).
    fn leader_besides(&mut self, old: u64) -> Option<u64> {
        let others: Vec<u64> = self.nodes.keys().copied().filter(|&s| s != old).collect();
        others.into_iter().find(|&s| {
            self.status(s)
                .iter()
                .any(|p| p.region.id == 1 && p.leader.as_ref() == Some(&p.peer))
        })
    }

    /// Ask `store_id` to read region 1 now: whether its lease lets it read
    /// locally at once, and a slot the read's eventual answer lands in.
    fn read(&mut self, store_id: u64) -> (bool, Arc<Mutex<Option<bool>>>) {
        let region = self.region(store_id, 1).unwrap();
        let now = self.instant();
        let node = self.nodes.get_mut(&store_id).unwrap();
        let local = matches!(
            node.router
                .delegate(1)
                .unwrap()
                .check(region.epoch.as_ref(), node.router.nanos(now)),
            Ok(raftstore::router::ReadCheck::Local)
        );
        let served = Arc::new(Mutex::new(None));
        let s = served.clone();
        node.store.handle(
            Msg::Read {
                region_id: 1,
                epoch: region.epoch.unwrap(),
                cb: Box::new(move |r| *s.lock().unwrap() = Some(r.is_ok())),
            },
            now,
        );
        (local, served)
    }

    /// Every store applied the same entries in the same order so far.
    fn check_order(&self) {
        let logs: Vec<Vec<u64>> = self
            .nodes
            .values()
            .map(|n| n.applied.lock().unwrap().clone())
            .collect();
        let longest = logs.iter().max_by_key(|l| l.len()).unwrap();
        for log in &logs {
            assert_eq!(
                log[..],
                longest[..log.len()],
                "stores applied different sequences"
            );
        }
    }

    /// Heal, let the cluster settle, and check every store holds every
    /// acknowledged write, in one order.
    fn heal_and_check(&mut self) {
        self.loss = 0.0;
        self.dup = 0.0;
        self.groups.clear();
        self.run_for(Duration::from_secs(10));
        let leader = self.leader(1).expect("a leader after healing");
        let last = self.propose(leader);
        self.run_for(Duration::from_secs(3));
        assert!(
            self.acked.lock().unwrap().contains(&last),
            "healed cluster commits"
        );
        self.check_order();
        let acked = self.acked.lock().unwrap().clone();
        for (id, node) in &self.nodes {
            let applied: HashSet<u64> = node.applied.lock().unwrap().iter().copied().collect();
            let missing: Vec<_> = acked.difference(&applied).collect();
            assert!(
                missing.is_empty(),
                "store {id} lacks acknowledged {missing:?}"
            );
        }
    }
}

fn seeds() -> Vec<u64> {
    let n = std::env::var("BASALT_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    (0..n).map(|i| 0x5eed + i).collect()
}

#[test]
fn elects_a_leader_and_replicates() {
    let mut sim = Sim::new(1, 3);
    sim.run_for(Duration::from_secs(5));
    let leader = sim.leader(1).expect("leader elected");
    for _ in 0..20 {
        sim.propose(leader);
    }
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.acked.lock().unwrap().len(), 20);
    for node in sim.nodes.values() {
        assert_eq!(node.applied.lock().unwrap().len(), 20);
    }
    sim.check_order();
}

#[test]
fn lossy_reordering_network_loses_nothing_acknowledged() {
    for seed in seeds() {
        let mut sim = Sim::new(seed, 3);
        sim.loss = 0.2;
        sim.dup = 0.1;
        sim.max_delay = Duration::from_millis(40);
        for round in 0..300 {
            sim.run_for(Duration::from_millis(50));
            let target = sim.rng.random_range(1..=3);
            sim.propose(target);
            if round % 60 == 59 {
                // A partition of one random store for a while.
                let cut = sim.rng.random_range(1..=3);
                sim.groups.insert(cut, 1);
            } else if round % 60 == 20 {
                sim.groups.clear();
            }
            if round % 100 == 50 {
                let victim = sim.rng.random_range(1..=3);
                sim.restart(victim);
            }
            sim.check_order();
        }
        let (acked, failed) = (
            sim.acked.lock().unwrap().len(),
            sim.failed.lock().unwrap().len(),
        );
        eprintln!(
            "seed {seed}: {acked} acknowledged, {failed} refused of {}",
            sim.next_seq
        );
        // Progress, not a rate: the sim runs on the real clock too, and a
        // busy machine acknowledged 30-75 of 300 for these seeds.
        assert!(acked >= 20, "seed {seed}: progress");
        sim.heal_and_check();
    }
}

#[test]
fn minority_makes_no_progress_and_serves_no_stale_read() {
    for seed in seeds() {
        let (mut sim, old) = Sim::with_leader(seed);
        // Cut the leader off alone.
        sim.groups.insert(old, 1);
        let cut_at = sim.now;
        let minority: Vec<u64> = (0..10).map(|_| sim.propose(old)).collect();
        sim.run_for(Duration::from_secs(10));
        let acked = sim.acked.lock().unwrap().clone();
        assert!(
            minority.iter().all(|s| !acked.contains(s)),
            "minority acknowledged a write"
        );
        // It stepped down (check_quorum) and failed the writes it held,
        // rather than leave them waiting for entries at their indexes.
        let failed = sim.failed.lock().unwrap().clone();
        assert!(
            minority.iter().all(|s| failed.contains(s)),
            "a cut-off write is left waiting"
        );
        // The majority elected a leader of its own and goes on.
        let new = sim
            .leader_besides(old)
            .expect("majority side elected a leader");
        let majority_write = sim.propose(new);
        sim.run_for(Duration::from_secs(1));
        assert!(sim.acked.lock().unwrap().contains(&majority_write));
        // The old leader's lease ran out: a read there is not served.
        assert!(sim.now - cut_at > config().lease());
        let (local, served) = sim.read(old);
        assert!(!local, "deposed leader claims a lease");
        sim.run_for(Duration::from_secs(5));
        assert_ne!(
            *served.lock().unwrap(),
            Some(true),
            "deposed leader served a read"
        );
        sim.heal_and_check();
        let failed_or_lost = minority
            .iter()
            .filter(|s| !sim.acked.lock().unwrap().contains(s))
            .count();
        assert_eq!(
            failed_or_lost,
            minority.len(),
            "a cut-off write was acknowledged late"
        );
    }
}

#[test]
fn stalled_leader_wakes_without_a_lease() {
    for seed in seeds() {
        let (mut sim, old) = Sim::with_leader(seed);
        let (local, served) = sim.read(old);
        assert!(local, "a leader in good standing reads under its lease");
        assert_eq!(*served.lock().unwrap(), Some(true));
        // SIGSTOP for 30 s: the others elect a leader and write.
        sim.frozen.insert(old);
        sim.run_for(Duration::from_secs(30));
        let new = sim
            .leader_besides(old)
            .expect("the others elected a leader");
        let write = sim.propose(new);
        sim.run_for(Duration::from_secs(1));
        assert!(sim.acked.lock().unwrap().contains(&write));
        // SIGCONT: before it hears anything, the old leader still thinks
        // it leads, but its lease is over.
        sim.frozen.clear();
        let (local, served) = sim.read(old);
        assert!(!local, "woken leader read under an expired lease");
        assert_ne!(*served.lock().unwrap(), Some(true));
        sim.run_for(Duration::from_secs(5));
        assert_ne!(
            *served.lock().unwrap(),
            Some(true),
            "woken leader served a stale read"
        );
        assert_ne!(sim.leader(1), None);
        sim.heal_and_check();
    }
}

#[test]
fn new_store_catches_up_by_snapshot_and_membership_changes() {
    let mut sim = Sim::new(7, 3);
    sim.run_for(Duration::from_secs(5));
    let leader = sim.leader(1).unwrap();
    for _ in 0..300 {
        sim.propose(leader);
        sim.run_for(Duration::from_millis(5));
    }
    sim.run_for(Duration::from_secs(1));
    // The log was compacted past its start, so store 4 needs a snapshot.
    sim.add_store(4, None);
    let region = sim.region(leader, 1).unwrap();
    let done = Arc::new(Mutex::new(None));
    let d = done.clone();
    let now = sim.instant();
    sim.nodes.get_mut(&leader).unwrap().store.handle(
        Msg::ChangePeer {
            region_id: 1,
            epoch: region.epoch.unwrap(),
            change: Change::Add,
            peer: Peer { id: 4, store_id: 4 },
            cb: Box::new(move |r| *d.lock().unwrap() = Some(r)),
        },
        now,
    );
    sim.run_for(Duration::from_secs(3));
    assert!(matches!(*done.lock().unwrap(), Some(Ok(()))));
    assert_eq!(sim.region(4, 1).map(|r| r.peers.len()), Some(4));
    // Remove a follower; its data goes.
    let victim = (1..=3).find(|&s| s != leader).unwrap();
    let region = sim.region(leader, 1).unwrap();
    let now = sim.instant();
    sim.nodes.get_mut(&leader).unwrap().store.handle(
        Msg::ChangePeer {
            region_id: 1,
            epoch: region.epoch.unwrap(),
            change: Change::Remove,
            peer: Peer {
                id: victim,
                store_id: victim,
            },
            cb: Box::new(|_| {}),
        },
        now,
    );
    sim.run_for(Duration::from_secs(3));
    assert!(sim.region(victim, 1).is_none(), "removed peer destroyed");
    let left = sim.nodes[&victim]
        .engine
        .snapshot()
        .scan(Cf::Default, &KeyRange::new(Vec::new(), None), false)
        .count();
    assert_eq!(left, 0, "removed peer's data deleted");
    sim.nodes.remove(&victim);
    sim.heal_and_check();
    let count = |sim: &Sim, id: u64| {
        sim.nodes[&id]
            .engine
            .snapshot()
            .scan(Cf::Default, &KeyRange::new(Vec::new(), None), false)
            .count()
    };
    assert_eq!(count(&sim, 4), count(&sim, leader));
    assert_eq!(count(&sim, 4), sim.acked.lock().unwrap().len());
}

#[test]
fn split_makes_a_second_group_on_the_same_stores() {
    let mut sim = Sim::new(11, 3);
    sim.run_for(Duration::from_secs(5));
    let leader = sim.leader(1).unwrap();
    for _ in 0..20 {
        sim.propose(leader);
    }
    sim.run_for(Duration::from_secs(1));
    let region = sim.region(leader, 1).unwrap();
    let done = Arc::new(Mutex::new(None));
    let d = done.clone();
    let now = sim.instant();
    sim.nodes.get_mut(&leader).unwrap().store.handle(
        Msg::Split {
            region_id: 1,
            epoch: region.epoch.unwrap(),
            split: SplitCmd {
                split_key: b"k00000010".to_vec(),
                new_region_id: 2,
                new_peer_ids: vec![11, 12, 13],
            },
            cb: Box::new(move |r| *d.lock().unwrap() = Some(r)),
        },
        now,
    );
    sim.run_for(Duration::from_secs(3));
    assert!(matches!(*done.lock().unwrap(), Some(Ok(()))));
    for store in 1..=3 {
        let left = sim.region(store, 1).unwrap();
        let right = sim.region(store, 2).expect("new region on every store");
        assert_eq!(left.end_key, b"k00000010");
        assert_eq!(right.start_key, b"k00000010");
        assert_eq!(left.epoch.unwrap().version, 2);
    }
    assert!(sim.leader(2).is_some(), "new region elected a leader");
    // A write routed with the old epoch is refused; the current one is not.
    let refused = Arc::new(Mutex::new(None));
    let r = refused.clone();
    let now = sim.instant();
    let mut writes = WriteBatch::new();
    writes.put(Cf::Default, b"a".to_vec(), 0u64.to_be_bytes().to_vec());
    sim.nodes.get_mut(&leader).unwrap().store.handle(
        Msg::Propose {
            region_id: 1,
            epoch: region.epoch.unwrap(),
            writes,
            cb: Box::new(move |res| *r.lock().unwrap() = Some(res)),
        },
        now,
    );
    assert!(matches!(
        *refused.lock().unwrap(),
        Some(Err(raftstore::Error::EpochNotMatch(_)))
    ));
    let seq = sim.propose(leader);
    sim.run_for(Duration::from_millis(500));
    assert!(
        sim.acked.lock().unwrap().contains(&seq),
        "current epoch accepted"
    );
}

#[test]
fn a_range_deletion_reaches_every_replica() {
    let (mut sim, leader) = Sim::with_leader(12);
    let seqs: Vec<u64> = (0..10).map(|_| sim.propose(leader)).collect();
    let region = sim.region(leader, 1).unwrap();
    // Proposed in the same round as the writes before it: it must remove
    // what they wrote, not be overtaken by them.
    let done = Arc::new(Mutex::new(None));
    let d = done.clone();
    let now = sim.instant();
    let key = |seq: u64| format!("k{seq:08}").into_bytes();
    sim.nodes.get_mut(&leader).unwrap().store.handle(
        Msg::DeleteRange {
            region_id: 1,
            epoch: region.epoch.unwrap(),
            range: DeleteRangeCmd {
                start_key: key(seqs[2]),
                end_key: key(seqs[7]),
            },
            cb: Box::new(move |r| *d.lock().unwrap() = Some(r)),
        },
        now,
    );
    sim.run_for(Duration::from_secs(2));
    assert!(matches!(*done.lock().unwrap(), Some(Ok(()))));
    let keys = |sim: &Sim, id: u64| -> Vec<Vec<u8>> {
        sim.nodes[&id]
            .engine
            .snapshot()
            .scan(Cf::Default, &KeyRange::new(Vec::new(), None), false)
            .map(|kv| kv.unwrap().0.to_vec())
            .collect()
    };
    let left = keys(&sim, leader);
    assert!(left.contains(&key(seqs[1])) && left.contains(&key(seqs[7])));
    assert!(!left.iter().any(|k| *k >= key(seqs[2]) && *k < key(seqs[7])));
    for store in 1..=3 {
        assert_eq!(keys(&sim, store), left, "store {store} differs");
    }
}
