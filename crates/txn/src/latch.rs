//! Latches: commands that touch the same keys run one at a time.
//!
//! Percolator's checks (is there a lock? a newer version?) and the writes that
//! follow must not interleave with another command on the same key, or two
//! prewrites could both see "no lock" and both lock. A latch is a slot in a
//! fixed table of mutexes chosen by the key's hash; a command takes the slots
//! of all its keys in ascending slot order, so two commands can never wait for
//! each other in a cycle. Commands on unrelated keys almost never share a slot,
//! so there is no store-wide lock on the write path.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// A fixed table of key-hash slots.
pub struct Latches {
    slots: Box<[Mutex<()>]>,
}

/// Held slots; dropping it lets waiting commands in.
pub struct LatchGuard<'a> {
    _held: Vec<MutexGuard<'a, ()>>,
}

impl Latches {
    /// A table of `slots` slots (rounded up to a power of two).
    pub fn new(slots: usize) -> Self {
        let n = slots.max(1).next_power_of_two();
        Self {
            slots: (0..n).map(|_| Mutex::new(())).collect(),
        }
    }

    fn slot(&self, key: &[u8]) -> usize {
        BuildHasherDefault::<DefaultHasher>::default().hash_one(key) as usize
            & (self.slots.len() - 1)
    }

    /// The slots of `keys`, ascending, each once.
    fn slots<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Vec<usize> {
        let mut slots: Vec<usize> = keys.into_iter().map(|k| self.slot(k)).collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// Block until every slot of `keys` is held.
    pub fn acquire<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> LatchGuard<'_> {
        let held = self
            .slots(keys)
            .into_iter()
            // A poisoned slot only means another command panicked while holding
            // it; the slot guards no data, so it is safe to go on.
            .map(|i| self.slots[i].lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        LatchGuard { _held: held }
    }

    /// Every slot of `keys` if none is held by another command, else
    /// `None` (and none held): for callers that must not block, such as an
    /// async worker whose tasks carry the very messages a latch holder
    /// waits for.
    pub fn try_acquire<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Option<LatchGuard<'_>> {
        let held = self
            .slots(keys)
            .into_iter()
            .map(|i| match self.slots[i].try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LatchGuard { _held: held })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn same_keys_exclude_each_other_without_deadlock() {
        let latches = Arc::new(Latches::new(64));
        let inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (latches, inside) = (latches.clone(), inside.clone());
                std::thread::spawn(move || {
                    for i in 0..500 {
                        // Opposite key orders on alternate threads.
                        let keys: [&[u8]; 2] = if (t + i) % 2 == 0 {
                            [b"a", b"b"]
                        } else {
                            [b"b", b"a"]
                        };
                        let _g = latches.acquire(keys);
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn try_acquire_takes_all_slots_or_none() {
        let latches = Latches::new(64);
        let b: &[u8] = b"b";
        // A key in another slot than `b`.
        let a = (0..)
            .map(|i: u32| i.to_be_bytes().to_vec())
            .find(|k| latches.slot(k) != latches.slot(b))
            .unwrap();
        let held = latches.acquire([b]);
        assert!(latches.try_acquire([a.as_slice(), b]).is_none());
        // Nothing of the failed attempt stayed held.
        assert!(latches.try_acquire([a.as_slice()]).is_some());
        drop(held);
        assert!(latches.try_acquire([a.as_slice(), b]).is_some());
    }
}
