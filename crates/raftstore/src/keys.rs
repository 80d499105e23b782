//! The `raft` family's key space: all a store keeps about its Raft groups.
//!
//! ```text
//! 0x01                                 store identity (cluster id, store id)
//! 0x02 ‖ region_id                     RegionLocalState: the region and whether the peer lives
//! 0x03 ‖ region_id ‖ 0x01              raft-rs HardState (term, vote, commit)
//! 0x03 ‖ region_id ‖ 0x02              ApplyState (applied and truncated index and term)
//! 0x03 ‖ region_id ‖ 0x03 ‖ index      one log entry
//! ```
//!
//! Integers are big-endian, so a region's entries sort by index and every
//! region state sorts under one prefix: opening a store scans `0x02` only.

/// A key of the `raft` family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Which store this engine belongs to.
    StoreIdent,
    /// A region this store holds (or held) a peer of.
    Region(u64),
    /// A peer's Raft hard state.
    HardState(u64),
    /// A peer's apply progress and log start.
    ApplyState(u64),
    /// One entry of a peer's log: region, index.
    Log(u64, u64),
}

impl Key {
    /// The key's bytes.
    pub fn encode(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18);
        match self {
            Key::StoreIdent => out.push(0x01),
            Key::Region(id) => {
                out.push(0x02);
                out.extend_from_slice(&id.to_be_bytes());
            }
            Key::HardState(id) | Key::ApplyState(id) | Key::Log(id, _) => {
                out.push(0x03);
                out.extend_from_slice(&id.to_be_bytes());
                match self {
                    Key::HardState(_) => out.push(0x01),
                    Key::ApplyState(_) => out.push(0x02),
                    Key::Log(_, index) => {
                        out.push(0x03);
                        out.extend_from_slice(&index.to_be_bytes());
                    }
                    _ => unreachable!("matched above"),
                }
            }
        }
        out
    }

    /// The range holding every region state: `[0x02, 0x03)`.
    pub fn region_states() -> storage::KeyRange {
        storage::KeyRange::new(vec![0x02], Some(vec![0x03]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_sort_by_index_within_their_region() {
        let a = Key::Log(7, 255).encode();
        let b = Key::Log(7, 256).encode();
        let c = Key::Log(8, 1).encode();
        assert!(a < b && b < c);
        assert!(Key::HardState(7).encode() < a);
        assert!(Key::region_states().contains(&Key::Region(u64::MAX).encode()));
        assert!(!Key::region_states().contains(&Key::HardState(0).encode()));
    }
}
