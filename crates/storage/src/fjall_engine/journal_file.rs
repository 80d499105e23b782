//! fsync of fjall's journal without fjall's journal lock.
//!
//! `Database::persist(SyncData)` holds the journal's writer lock through the
//! fdatasync, so every batch appended meanwhile, synced or not, waits for the
//! disk (0.6 ms here): in sysbench's read-write mix, pessimistic locks and
//! prewrites queued behind commits' fsyncs, rows stayed locked longer, and a
//! third of the CPU sat idle. Instead, the engine asks fjall only to hand its
//! buffer to the kernel (`PersistMode::Buffer`, a write under the lock), then
//! fdatasyncs the active journal file through its own handle: fsync makes a
//! file's data durable whichever descriptor asks.
//!
//! The active journal is the highest-numbered `N.jnl` in the store's
//! directory. fjall syncs a journal fully before it starts the next one
//! (`rotate`), so if a rotation slips in between the buffer hand-off and the
//! fdatasync here, the bytes handed off are already durable in the old file.
//!
//! This relies on fjall's journal file naming (pinned by `Cargo.lock`; see
//! `docs/ARCHITECTURE.md`, "Relying on hidden fjall API").

use crate::Result;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The store's active journal file, opened for fdatasync.
pub(crate) struct JournalFile {
    dir: PathBuf,
    current: Option<(u64, File)>,
    /// A failed fdatasync may have dropped dirty pages that a later one would
    /// not write again (Linux marks them clean): once one fails, every later
    /// sync fails too, as fjall poisons itself in that case.
    failed: bool,
}

impl JournalFile {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            current: None,
            failed: false,
        }
    }

    /// fdatasync the active journal. Call after fjall handed its buffer to
    /// the kernel.
    pub(crate) fn sync_data(&mut self) -> Result<()> {
        if self.failed {
            return Err(crate::Error::Io(std::io::Error::other(
                "an earlier journal fsync failed",
            )));
        }
        let result = self.sync_active();
        self.failed = result.is_err();
        result
    }

    fn sync_active(&mut self) -> Result<()> {
        let rotated = match &self.current {
            Some((n, _)) => self.dir.join(format!("{}.jnl", n + 1)).exists(),
            None => true,
        };
        if rotated {
            let newest = newest_journal(&self.dir)?;
            self.current = match newest {
                Some(n) => Some((n, File::open(self.dir.join(format!("{n}.jnl")))?)),
                None => None,
            };
        }
        if let Some((_, file)) = &self.current {
            file.sync_data()?;
        }
        Ok(())
    }
}

fn newest_journal(dir: &Path) -> Result<Option<u64>> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|name| name.strip_suffix(".jnl"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        newest = newest.max(Some(n));
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_newest_journal() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = JournalFile::new(dir.path());
        journal.sync_data().unwrap(); // no journal yet: nothing to sync
        std::fs::write(dir.path().join("3.jnl"), b"a").unwrap();
        std::fs::write(dir.path().join("x.jnl"), b"a").unwrap();
        journal.sync_data().unwrap();
        assert_eq!(journal.current.as_ref().map(|c| c.0), Some(3));
        std::fs::write(dir.path().join("4.jnl"), b"b").unwrap();
        journal.sync_data().unwrap();
        assert_eq!(journal.current.as_ref().map(|c| c.0), Some(4));
    }
}
