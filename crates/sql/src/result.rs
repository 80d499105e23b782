//! What a statement returns, in MySQL's terms: column definitions with
//! MySQL type codes and flags, rows of [`Datum`]s, affected-row counts, and
//! errors with MySQL error codes and SQLSTATEs. The protocol layer turns these
//! into packets; nothing here knows about bytes on the wire.

use codec::Datum;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// MySQL column type codes, as sent in column definitions and the binary
/// protocol. The numbers are MySQL's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ColumnType {
    /// DECIMAL (as MySQL 5+ sends it).
    NewDecimal = 246,
    /// TINYINT.
    Tiny = 1,
    /// SMALLINT.
    Short = 2,
    /// INT.
    Long = 3,
    /// FLOAT.
    Float = 4,
    /// DOUBLE.
    Double = 5,
    /// The type of a NULL literal.
    Null = 6,
    /// TIMESTAMP.
    Timestamp = 7,
    /// BIGINT.
    LongLong = 8,
    /// MEDIUMINT.
    Int24 = 9,
    /// DATE.
    Date = 10,
    /// TIME.
    Time = 11,
    /// DATETIME.
    DateTime = 12,
    /// YEAR.
    Year = 13,
    /// VARCHAR and VARBINARY.
    VarString = 253,
    /// CHAR and BINARY; also ENUM and SET, flagged.
    String = 254,
    /// TEXT and BLOB kinds.
    Blob = 252,
    /// JSON.
    Json = 245,
}

/// Column flags of MySQL's column definition.
pub mod flags {
    /// NOT NULL.
    pub const NOT_NULL: u16 = 1;
    /// Part of the primary key.
    pub const PRI_KEY: u16 = 2;
    /// Part of a unique key.
    pub const UNIQUE_KEY: u16 = 4;
    /// Part of a non-unique key.
    pub const MULTIPLE_KEY: u16 = 8;
    /// BLOB or TEXT.
    pub const BLOB: u16 = 16;
    /// UNSIGNED.
    pub const UNSIGNED: u16 = 32;
    /// Binary string (binary collation).
    pub const BINARY: u16 = 128;
    /// ENUM.
    pub const ENUM: u16 = 256;
    /// AUTO_INCREMENT.
    pub const AUTO_INCREMENT: u16 = 512;
    /// TIMESTAMP.
    pub const TIMESTAMP: u16 = 1024;
    /// SET.
    pub const SET: u16 = 2048;
    /// Has no default value.
    pub const NO_DEFAULT_VALUE: u16 = 4096;
    /// Numeric.
    pub const NUM: u16 = 32768;
}

/// Character set ids as MySQL numbers its collations.
pub mod charset {
    /// utf8mb4_general_ci: the default for text.
    pub const UTF8MB4_GENERAL_CI: u16 = 45;
    /// utf8mb4_bin.
    pub const UTF8MB4_BIN: u16 = 46;
    /// utf8_general_ci (utf8mb3, whose characters Basalt stores as utf8mb4).
    pub const UTF8_GENERAL_CI: u16 = 33;
    /// utf8_bin.
    pub const UTF8_BIN: u16 = 83;
    /// binary: numbers, dates and binary strings.
    pub const BINARY: u16 = 63;
}

/// One column of a result set, as MySQL describes it to clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Database of the underlying table (empty for expressions).
    pub schema: String,
    /// Table alias as written in the query.
    pub table: String,
    /// The underlying table's name.
    pub org_table: String,
    /// Column alias as written in the query.
    pub name: String,
    /// The underlying column's name.
    pub org_name: String,
    /// Collation id ([`charset`]).
    pub charset: u16,
    /// Maximum display length.
    pub length: u32,
    /// Type code.
    pub column_type: ColumnType,
    /// [`flags`].
    pub flags: u16,
    /// Digits after the point (DECIMAL, FLOAT, DOUBLE), or fractional-second
    /// precision (TIME, DATETIME, TIMESTAMP).
    pub decimals: u8,
}

/// What one statement produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A statement that changes or sets things: an OK packet.
    Affected {
        /// Rows inserted, updated or deleted (MySQL's counting rules).
        rows: u64,
        /// The first AUTO_INCREMENT value generated, or 0.
        last_insert_id: u64,
        /// The human-readable info string ("Rows matched: 1  Changed: 1  Warnings: 0").
        info: String,
    },
    /// A result set.
    Rows {
        /// Column definitions, shared by every execution of a prepared statement.
        columns: Arc<[ColumnInfo]>,
        /// The rows; each row has one datum per column. Values are already of
        /// the column's type (an integer column holds `I64`/`U64`, a string
        /// column `Bytes`, a DATE `Date`...).
        rows: Vec<Vec<Datum>>,
    },
    /// A result set whose columns and rows already went to the client
    /// through the connection's [`Outlet`] while the statement ran: only its
    /// end is left to send.
    Sent {
        /// How many rows went.
        rows: u64,
    },
    /// `LOAD DATA LOCAL INFILE`: the server must ask the client for `file`
    /// and hand what it sends to the session (`Session::local_infile`).
    LocalInfile {
        /// The file name as the statement gave it.
        file: String,
    },
}

/// A statement error as MySQL reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("ERROR {code} ({state}): {message}")]
pub struct SqlError {
    /// MySQL error number (1064, 1146...).
    pub code: u16,
    /// Five-character SQLSTATE.
    pub state: &'static str,
    /// The message, worded as MySQL words it.
    pub message: String,
}

/// A statement prepared with COM_STMT_PREPARE.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// The statement id the client uses to execute it.
    pub id: u32,
    /// Number of `?` placeholders.
    pub params: u16,
    /// Result columns (empty for statements that return no rows).
    pub columns: Arc<[ColumnInfo]>,
}

/// A part of a result set that reaches the client while its statement still
/// runs, so that a large result is never held whole.
#[derive(Debug)]
pub enum Streamed {
    /// The column definitions, before any row; `status` is the session's
    /// status for the EOF packet that follows them.
    Columns {
        /// The result's columns.
        columns: Arc<[ColumnInfo]>,
        /// `SERVER_STATUS_*` bits when the result began.
        status: u16,
    },
    /// The next rows.
    Rows(Vec<Vec<Datum>>),
}

/// Batches in flight between a statement and the connection writing them:
/// the statement runs at most this far ahead of the client.
const OUTLET_BATCHES: usize = 2;

/// One connection's path for result sets that stream: the statement sends
/// [`Streamed`] parts, the protocol layer writes them as they arrive. A
/// bounded channel, so a slow client slows the statement instead of letting
/// rows pile up in memory.
pub struct Outlet {
    tx: mpsc::Sender<Streamed>,
    /// The client is gone, or a row could not be written: what the
    /// statement sends next fails, so that it stops.
    closed: AtomicBool,
}

impl Outlet {
    /// An outlet, and the end the protocol layer reads from.
    pub fn new() -> (Outlet, mpsc::Receiver<Streamed>) {
        let (tx, rx) = mpsc::channel(OUTLET_BATCHES);
        let outlet = Outlet {
            tx,
            closed: AtomicBool::new(false),
        };
        (outlet, rx)
    }

    /// Refuse what the running statement sends from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Accept parts again, for the next statement.
    pub fn reopen(&self) {
        self.closed.store(false, Ordering::Relaxed);
    }

    async fn send(&self, part: Streamed) -> Result<(), SqlError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(net_write_error());
        }
        self.tx.send(part).await.map_err(|_| net_write_error())
    }
}

/// MySQL's ER_NET_ERROR_ON_WRITE: the statement stops because its rows have
/// nowhere to go.
fn net_write_error() -> SqlError {
    SqlError::new(1160, "08S01", "Got an error writing communication packets")
}

/// One statement's result set on its way out through an [`Outlet`], or
/// dropped as it comes (EXPLAIN ANALYZE runs a query for its figures).
pub struct Sink<'a> {
    /// The outlet, the result's columns and the session's status when it
    /// began; `None` to drop the rows.
    to: Option<(&'a Outlet, &'a Arc<[ColumnInfo]>, u16)>,
    /// Rows sent; `None` until the columns went.
    sent: Option<u64>,
}

impl<'a> Sink<'a> {
    /// A result set of `columns`, begun while the session's status was
    /// `status`.
    pub fn new(outlet: &'a Outlet, columns: &'a Arc<[ColumnInfo]>, status: u16) -> Self {
        Sink {
            to: Some((outlet, columns, status)),
            sent: None,
        }
    }

    /// A sink that drops what it is sent.
    pub fn discard() -> Self {
        Sink {
            to: None,
            sent: None,
        }
    }

    /// Send `rows`, after the column definitions if they have not gone yet.
    pub async fn send(&mut self, rows: Vec<Vec<Datum>>) -> Result<(), SqlError> {
        let n = rows.len() as u64;
        let sent = self.sent.unwrap_or(0);
        if let Some((outlet, columns, status)) = self.to {
            if self.sent.is_none() {
                let columns = Streamed::Columns {
                    columns: columns.clone(),
                    status,
                };
                outlet.send(columns).await?;
                self.sent = Some(0);
            }
            outlet.send(Streamed::Rows(rows)).await?;
        }
        self.sent = Some(sent + n);
        Ok(())
    }

    /// How many rows went, or `None` when the result did not stream (its
    /// rows are returned whole, as [`Output::Rows`]).
    pub fn sent(&self) -> Option<u64> {
        self.sent
    }
}
