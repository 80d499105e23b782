//! Waiting for locks, and noticing when waiting can never end.
//!
//! A pessimistic statement that meets another transaction's lock waits for
//! it here instead of failing at once, as a MySQL statement waits for a row
//! lock. A waiter registers on the key *before* it tries to lock, so a
//! release between the failed try and the wait cannot be missed. Every
//! command that removes locks wakes the waiters of its keys; when nobody
//! waits, that costs one atomic load.
//!
//! Deadlocks are PD's to see (`pd::deadlock`): the waits that close a cycle
//! may sit on different stores.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Lock waiters of one store.
#[derive(Default)]
pub struct LockWaits {
    waiting: AtomicUsize,
    by_key: Mutex<HashMap<Vec<u8>, Arc<Notify>>>,
}

/// A waiter's registration on a key; unregisters when dropped.
pub struct Waiter<'a> {
    waits: &'a LockWaits,
    key: Vec<u8>,
    notify: Arc<Notify>,
}

impl LockWaits {
    /// Register interest in `key` being unlocked.
    pub fn register(&self, key: &[u8]) -> Waiter<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let notify = self
            .by_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_vec())
            .or_default()
            .clone();
        Waiter {
            waits: self,
            key: key.to_vec(),
            notify,
        }
    }

    /// Wake everyone waiting on any of `keys` (all waiters if `keys` is empty).
    pub fn wake<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        let mut any = false;
        for key in keys {
            any = true;
            if let Some(n) = map.get(key) {
                n.notify_waiters();
            }
        }
        if !any {
            map.values().for_each(|n| n.notify_waiters());
        }
    }
}

impl Waiter<'_> {
    /// A future that completes on the next wake of this key; created before
    /// the lock attempt so a release in between is not missed.
    pub fn armed(&self) -> std::pin::Pin<Box<tokio::sync::futures::Notified<'_>>> {
        let mut notified = Box::pin(self.notify.notified());
        notified.as_mut().enable();
        notified
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut map = self.waits.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&self.notify) <= 2 {
            map.remove(&self.key);
        }
        drop(map);
        self.waits.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}
