//! The process list: what every connection of this SQL node is doing, for
//! `SHOW PROCESSLIST` and `information_schema.PROCESSLIST`, the target
//! `KILL` flags, and what each running statement holds in memory, from
//! which `tidb_server_memory_limit` picks the statement to stop.
//!
//! Connections register once and update only their own entry, so a
//! statement never takes a lock another connection holds, except for the
//! moment a `SHOW PROCESSLIST` copies that entry. The list itself is a
//! lock-free ordered map.

use crossbeam_skiplist::SkipMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio::sync::Notify;

/// What `KILL` asked of a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kill {
    /// Nothing.
    None,
    /// `KILL QUERY`: stop the running statement (error 1317).
    Query,
    /// The node passed `tidb_server_memory_limit` and this statement held
    /// the most memory: stop it (TiDB's error 8176).
    Memory,
    /// `KILL [CONNECTION]`: stop the statement and close the connection.
    Connection,
}

/// What a connection is doing.
#[derive(Clone, Debug)]
struct Activity {
    /// MySQL's `Command` column: `Sleep`, `Query`, `Execute`.
    command: &'static str,
    /// When the command began (or the connection went idle).
    since: Instant,
    /// The statement text while one runs.
    info: Option<Arc<str>>,
}

/// One connection's entry.
#[derive(Debug)]
pub struct Process {
    id: u32,
    user: String,
    host: String,
    database: Mutex<Option<String>>,
    activity: Mutex<Activity>,
    kill: AtomicU8,
    killed: Notify,
    /// Bytes the running statement holds ([`crate::memory::StatementMemory`]).
    memory: AtomicUsize,
}

/// One row of the process list, copied out of its entry.
#[derive(Clone, Debug)]
pub struct ProcessRow {
    /// Connection id.
    pub id: u32,
    /// User name.
    pub user: String,
    /// Client host.
    pub host: String,
    /// Current database.
    pub database: Option<String>,
    /// `Sleep`, `Query` or `Execute`.
    pub command: &'static str,
    /// Seconds in this command.
    pub time: u64,
    /// `executing` while a statement runs, empty when idle.
    pub state: &'static str,
    /// The statement text, if one runs.
    pub info: Option<Arc<str>>,
}

impl Process {
    /// The connection id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// A statement starts: `command` is `Query` or `Execute`.
    pub fn begin(&self, command: &'static str, info: Arc<str>) {
        // A KILL QUERY that arrived while idle is for no statement.
        self.forget_statement();
        *self.activity.lock().unwrap_or_else(PoisonError::into_inner) = Activity {
            command,
            since: Instant::now(),
            info: Some(info),
        };
    }

    /// The statement ended; the connection sleeps.
    pub fn end(&self) {
        *self.activity.lock().unwrap_or_else(PoisonError::into_inner) = Activity {
            command: "Sleep",
            since: Instant::now(),
            info: None,
        };
        self.forget_statement();
    }

    /// Clear what was about the last statement: a kill of it (not of the
    /// connection), and the memory it held.
    fn forget_statement(&self) {
        let _ = (self.kill).fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| {
            (k == Kill::Query as u8 || k == Kill::Memory as u8).then_some(Kill::None as u8)
        });
        self.memory.store(0, Ordering::Relaxed);
    }

    /// The running statement now holds `bytes`.
    pub fn set_memory(&self, bytes: usize) {
        self.memory.store(bytes, Ordering::Relaxed);
    }

    /// The current database changed.
    pub fn set_database(&self, db: Option<&str>) {
        *self.database.lock().unwrap_or_else(PoisonError::into_inner) = db.map(str::to_owned);
    }

    /// What KILL asked of this connection.
    pub fn kill_state(&self) -> Kill {
        match self.kill.load(Ordering::Acquire) {
            1 => Kill::Query,
            2 => Kill::Memory,
            3 => Kill::Connection,
            _ => Kill::None,
        }
    }

    fn kill(&self, what: Kill) {
        // A connection kill is never downgraded to a query kill.
        self.kill.fetch_max(what as u8, Ordering::AcqRel);
        self.killed.notify_waiters();
    }

    /// Resolves once the connection has been killed.
    pub async fn connection_killed(&self) {
        loop {
            let notified = self.killed.notified();
            if self.kill_state() == Kill::Connection {
                return;
            }
            notified.await;
        }
    }

    fn row(&self) -> ProcessRow {
        let activity = self
            .activity
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        ProcessRow {
            id: self.id,
            user: self.user.clone(),
            host: self.host.clone(),
            database: self
                .database
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            command: activity.command,
            time: activity.since.elapsed().as_secs(),
            state: if activity.info.is_some() {
                "executing"
            } else {
                ""
            },
            info: activity.info,
        }
    }
}

/// Every connection of this node.
#[derive(Default)]
pub struct ProcessList {
    processes: SkipMap<u32, Arc<Process>>,
}

impl ProcessList {
    /// Register a new connection.
    pub fn register(&self, id: u32, user: &str, host: &str) -> Arc<Process> {
        let process = Arc::new(Process {
            id,
            user: user.to_owned(),
            host: host.to_owned(),
            database: Mutex::new(None),
            activity: Mutex::new(Activity {
                command: "Sleep",
                since: Instant::now(),
                info: None,
            }),
            kill: AtomicU8::new(Kill::None as u8),
            killed: Notify::new(),
            memory: AtomicUsize::new(0),
        });
        self.processes.insert(id, process.clone());
        process
    }

    /// Forget a connection's entry (not a newer one under the same id, as
    /// COM_CHANGE_USER makes).
    pub fn unregister(&self, process: &Arc<Process>) {
        if let Some(entry) = self.processes.get(&process.id)
            && Arc::ptr_eq(entry.value(), process)
        {
            entry.remove();
        }
    }

    /// `KILL [QUERY] id`; false if no such connection.
    pub fn kill(&self, id: u32, what: Kill) -> bool {
        match self.processes.get(&id) {
            Some(entry) => {
                entry.value().kill(what);
                true
            }
            None => false,
        }
    }

    /// The statement holding the most memory, at least `min` bytes, that
    /// nobody has stopped yet: the one `tidb_server_memory_limit` stops.
    pub fn heaviest(&self, min: usize) -> Option<Arc<Process>> {
        self.processes
            .iter()
            .map(|e| e.value().clone())
            .filter(|p| p.kill_state() == Kill::None)
            .map(|p| (p.memory.load(Ordering::Relaxed), p))
            .filter(|(bytes, _)| *bytes >= min)
            .max_by_key(|(bytes, _)| *bytes)
            .map(|(_, p)| p)
    }

    /// Snapshot of every entry, by id.
    pub fn rows(&self) -> Vec<ProcessRow> {
        self.processes.iter().map(|e| e.value().row()).collect()
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.processes.len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }
}
