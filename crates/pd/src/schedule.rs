//! Scheduling: what a region's leader is told to do next, in the response
//! to its heartbeat.
//!
//! Each region has at most one operator at a time. An operator is handed
//! out again on every heartbeat until the region shows it done (or it
//! expires), so a lost response or a restarted leader costs nothing.
//! Checkers, in order of urgency:
//! 1. a replica on a store down for longer than `max-store-down-time` is
//!    removed (the region keeps a quorum of the others);
//! 2. a region with fewer replicas than wanted gets one on the up store
//!    with the fewest regions that lacks one;
//! 3. a region with more replicas than wanted loses one on the store with
//!    the most regions (never the leader's);
//! 4. leaders move from a store with at least two more leaders than
//!    another store holding one of the region's followers.
//!
//! Operators asked for by hand (`basalt ctl`) wait their turn the same way.

use proto::kvrpc::Peer;
use proto::pdrpc::{ChangePeerOp, ChangeType, SplitOp, Store, StoreState, TransferLeaderOp};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::region::RegionInfo;

/// How long an operator is handed out before PD gives up on it.
const OPERATOR_TTL: Duration = Duration::from_secs(60);

/// How long a leader transfer is handed out.
const TRANSFER_TTL: Duration = Duration::from_secs(5);

/// One step for a region's leader.
#[derive(Clone, Debug, PartialEq)]
pub enum Operator {
    /// Add a replica.
    AddPeer(Peer),
    /// Remove a replica.
    RemovePeer(Peer),
    /// Hand leadership over.
    TransferLeader(Peer),
    /// Split at an encoded key (empty: the store picks the middle).
    Split(Vec<u8>),
}

impl Operator {
    /// Whether `region` shows the operator carried out.
    fn done(&self, region: &RegionInfo, version_at_start: u64) -> bool {
        let peers = &region.region.peers;
        match self {
            Operator::AddPeer(p) => peers.iter().any(|q| q.id == p.id),
            Operator::RemovePeer(p) => !peers.iter().any(|q| q.id == p.id),
            Operator::TransferLeader(p) => region.leader.is_some_and(|l| l.id == p.id),
            Operator::Split(_) => {
                region.region.epoch.unwrap_or_default().version > version_at_start
            }
        }
    }

    /// The heartbeat response's fields for this operator.
    pub fn fill(&self, resp: &mut proto::pdrpc::RegionHeartbeatResponse) {
        match self {
            Operator::AddPeer(p) | Operator::RemovePeer(p) => {
                let mut op = ChangePeerOp {
                    peer: Some(*p),
                    ..Default::default()
                };
                op.set_change_type(if matches!(self, Operator::AddPeer(_)) {
                    ChangeType::AddPeer
                } else {
                    ChangeType::RemovePeer
                });
                resp.change_peer = Some(op);
            }
            Operator::TransferLeader(p) => {
                resp.transfer_leader = Some(TransferLeaderOp { peer: Some(*p) })
            }
            Operator::Split(key) => {
                resp.split = Some(SplitOp {
                    split_key: key.clone(),
                })
            }
        }
    }
}

struct Pending {
    op: Operator,
    since: Instant,
    version_at_start: u64,
}

/// Settings of the schedulers.
#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    /// Replicas per region.
    pub max_replicas: usize,
    /// Whether leaders are balanced between stores.
    pub balance_leaders: bool,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            max_replicas: 3,
            balance_leaders: true,
        }
    }
}

/// The operators in flight, by region.
#[derive(Default)]
pub struct Scheduler {
    pending: Mutex<HashMap<u64, Pending>>,
}

impl Scheduler {
    /// Queue an operator for a region (by hand), replacing any in flight.
    pub fn add(&self, region: &RegionInfo, op: Operator) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.insert(
            region.region.id,
            Pending {
                op,
                since: Instant::now(),
                version_at_start: region.region.epoch.unwrap_or_default().version,
            },
        );
    }

    /// The operator for a region that just reported: the one in flight
    /// (`false`), or a new one from the checkers (`true`). `new_peer_id`
    /// gives a fresh peer id.
    pub fn next(
        &self,
        region: &RegionInfo,
        stores: &[Store],
        cfg: &ScheduleConfig,
        new_peer_id: impl FnOnce() -> Option<u64>,
    ) -> Option<(Operator, bool)> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let id = region.region.id;
        if let Some(p) = pending.get(&id) {
            let ttl = match p.op {
                // A transfer the leader refused (its target lagged) is
                // better chosen afresh than handed out for a minute.
                Operator::TransferLeader(_) => TRANSFER_TTL,
                _ => OPERATOR_TTL,
            };
            if !p.op.done(region, p.version_at_start) && p.since.elapsed() < ttl {
                return Some((p.op.clone(), false));
            }
            pending.remove(&id);
        }
        let op = check(region, stores, cfg, new_peer_id)?;
        pending.insert(
            id,
            Pending {
                op: op.clone(),
                since: Instant::now(),
                version_at_start: region.region.epoch.unwrap_or_default().version,
            },
        );
        Some((op, true))
    }
}

/// The checkers (see the module doc).
fn check(
    region: &RegionInfo,
    stores: &[Store],
    cfg: &ScheduleConfig,
    new_peer_id: impl FnOnce() -> Option<u64>,
) -> Option<Operator> {
    let leader = region.leader?;
    let peers = &region.region.peers;
    let store = |id: u64| stores.iter().find(|s| s.id == id);
    let state = |id: u64| store(id).map_or(StoreState::Down, |s| s.state());
    // A dead replica falls behind the leader's log too, so this comes
    // before the wait for replicas catching up.
    if let Some(down) = peers
        .iter()
        .find(|p| p.id != leader.id && state(p.store_id) == StoreState::Down)
    {
        return Some(Operator::RemovePeer(*down));
    }
    if !region.pending_peers.is_empty() {
        // A replica is still catching up: change nothing else meanwhile.
        return None;
    }
    let up = |s: &&Store| s.state() == StoreState::Up;
    if peers.len() < cfg.max_replicas {
        let target = stores
            .iter()
            .filter(up)
            .filter(|s| !peers.iter().any(|p| p.store_id == s.id))
            .min_by_key(|s| (s.region_count, s.id))?;
        return Some(Operator::AddPeer(Peer {
            id: new_peer_id()?,
            store_id: target.id,
        }));
    }
    if peers.len() > cfg.max_replicas {
        let victim = peers.iter().filter(|p| p.id != leader.id).max_by_key(|p| {
            let s = store(p.store_id);
            (
                state(p.store_id) != StoreState::Up,
                s.map_or(0, |s| s.region_count),
            )
        })?;
        return Some(Operator::RemovePeer(*victim));
    }
    if cfg.balance_leaders {
        let leaders = |id: u64| store(id).map_or(u32::MAX, |s| s.leader_count);
        let from = leaders(leader.store_id);
        let to = peers
            .iter()
            .filter(|p| p.id != leader.id && state(p.store_id) == StoreState::Up)
            .min_by_key(|p| (leaders(p.store_id), p.store_id))?;
        if from >= leaders(to.store_id).saturating_add(2) {
            return Some(Operator::TransferLeader(*to));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::kvrpc::Region;

    fn store(id: u64, state: StoreState, regions: u32, leaders: u32) -> Store {
        let mut s = Store {
            id,
            region_count: regions,
            leader_count: leaders,
            ..Default::default()
        };
        s.set_state(state);
        s
    }

    fn region(peers: &[(u64, u64)], leader: u64) -> RegionInfo {
        let peers: Vec<Peer> = peers
            .iter()
            .map(|&(id, store_id)| Peer { id, store_id })
            .collect();
        RegionInfo {
            leader: peers.iter().find(|p| p.id == leader).copied(),
            region: Region {
                id: 1,
                peers,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn checkers_in_order_of_urgency() {
        let cfg = ScheduleConfig::default();
        let up = |id, r, l| store(id, StoreState::Up, r, l);
        let stores = vec![
            up(1, 5, 5),
            up(2, 5, 0),
            store(3, StoreState::Down, 5, 0),
            up(4, 1, 0),
        ];
        // A replica on a down store goes first, even though the leader
        // counts it as far behind.
        let mut r = region(&[(11, 1), (12, 2), (13, 3)], 11);
        let dead = Peer {
            id: 13,
            store_id: 3,
        };
        r.pending_peers = vec![dead];
        assert_eq!(
            check(&r, &stores, &cfg, || Some(99)),
            Some(Operator::RemovePeer(dead))
        );
        // Then the missing replica comes, on the emptiest up store.
        let r = region(&[(11, 1), (12, 2)], 11);
        assert_eq!(
            check(&r, &stores, &cfg, || Some(99)),
            Some(Operator::AddPeer(Peer {
                id: 99,
                store_id: 4
            }))
        );
        // With replicas complete, leaders spread.
        let r = region(&[(11, 1), (12, 2), (14, 4)], 11);
        assert_eq!(
            check(&r, &stores, &cfg, || Some(99)),
            Some(Operator::TransferLeader(Peer {
                id: 12,
                store_id: 2
            }))
        );
        // An extra replica goes, never the leader's.
        let stores = vec![up(1, 7, 1), up(2, 9, 1), up(3, 5, 1), up(4, 1, 1)];
        let r = region(&[(11, 1), (12, 2), (13, 3), (14, 4)], 12);
        assert_eq!(
            check(&r, &stores, &cfg, || Some(99)),
            Some(Operator::RemovePeer(Peer {
                id: 11,
                store_id: 1
            }))
        );
    }
}
