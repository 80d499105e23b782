//! Group commit: concurrent syncing writers share one fsync.
//!
//! An fsync costs milliseconds on real disks, far more than appending a batch
//! to the journal. Every family shares one sequential journal, so a single
//! fsync makes every batch appended before it durable. Writers therefore
//! append without syncing, take a ticket, and then queue for the sync lock;
//! whoever gets it fsyncs on behalf of everyone whose ticket was issued by
//! then, and the writers queued behind it usually find their ticket already
//! covered and return without touching the disk.
//!
//! fjall holds its journal lock during the fsync, so batches cannot be
//! appended while one runs: a group is the batches appended between two
//! fsyncs. (Waiting briefly for in-flight appends before the fsync was tried
//! and measured no better here.)

use crate::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

#[derive(Default)]
pub(crate) struct GroupCommit {
    /// Tickets issued: each is taken *after* its batch is in the journal.
    written: AtomicU64,
    /// Highest ticket known durable. The lock is held across the fsync, which
    /// is what makes later writers wait for it instead of starting their own.
    synced: Mutex<u64>,
    /// fsyncs performed here, for metrics.
    fsyncs: AtomicU64,
}

impl GroupCommit {
    /// Ticket for a batch that has just been appended to the journal.
    pub(crate) fn appended(&self) -> u64 {
        self.written.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Ticket covering everything appended so far.
    pub(crate) fn latest(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Return once `ticket` is durable, calling `fsync` only if no other
    /// writer's fsync already covered it.
    pub(crate) fn sync(&self, ticket: u64, fsync: impl FnOnce() -> Result<()>) -> Result<()> {
        // The guarded value is a plain number, never left half-updated.
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        if *synced >= ticket {
            return Ok(());
        }
        // Read before the fsync: every ticket up to here belongs to a batch
        // already appended, so the fsync covers it.
        let covered = self.written.load(Ordering::Acquire);
        fsync()?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        *synced = covered;
        Ok(())
    }

    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_tickets_skip_the_fsync() {
        let gc = GroupCommit::default();
        let (a, b) = (gc.appended(), gc.appended());
        let mut calls = 0;
        gc.sync(a, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        gc.sync(b, || {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((calls, gc.fsyncs()), (1, 1));
        let c = gc.appended();
        gc.sync(c, || Err(crate::Error::Corruption("disk gone".into())))
            .unwrap_err();
        assert_eq!(gc.fsyncs(), 1, "a failed fsync covers nothing");
        assert_eq!(gc.latest(), c);
    }
}
