//! The seam between the wire protocol and the SQL layer. The server owns
//! bytes, framing, authentication and prepared-statement parameter decoding;
//! a [`Backend`] owns what statements mean. Keeping the traits free of wire
//! types lets the SQL layer be tested without sockets and the protocol
//! without a database.

use std::future::Future;

use codec::Datum;
use sql::{ColumnInfo, Outlet, Output, Prepared, SqlError};

/// What is known about a client once it has authenticated; the SQL layer
/// needs it for privileges, `CURRENT_USER()`, the process list, the
/// affected-rows rule and the connection character set.
#[derive(Clone, Copy, Debug)]
pub struct ConnectInfo<'a> {
    /// Unique among live connections; `CONNECTION_ID()` and `KILL` use it.
    pub connection_id: u32,
    /// The authenticated user name.
    pub user: &'a str,
    /// The client's IP address, as MySQL shows it in `'user'@'host'`.
    pub host: &'a str,
    /// The default database named in the handshake, if any.
    pub database: Option<&'a str>,
    /// `CLIENT_FOUND_ROWS`: UPDATE reports matched rather than changed
    /// rows (JDBC sets it by default).
    pub found_rows: bool,
    /// The collation id the client asked for (45 `utf8mb4_general_ci`, 255
    /// `utf8mb4_0900_ai_ci`, 33 `utf8_general_ci`, 8 `latin1`...): it sets
    /// `character_set_client`, `_connection` and `_results`.
    pub collation: u16,
    /// Connection attributes (`_client_name`, `program_name`...).
    pub attributes: &'a [(String, String)],
}

/// One connection's SQL session. Dropping it ends the session: an open
/// transaction must roll back.
pub trait Backend: Send + 'static {
    /// COM_QUERY. With `multi_statements` (the client's
    /// `CLIENT_MULTI_STATEMENTS`, or `COM_SET_OPTION`) the text may hold
    /// several `;`-separated statements; without it, more than one is a
    /// syntax error (1064), as in MySQL. One result per statement, in order;
    /// execution stops at the first error, which is the last element. An
    /// empty vector means the text held no statement (the server answers
    /// 1065 "Query was empty").
    ///
    /// The text is UTF-8: the server answers 1300 itself for other bytes.
    ///
    /// A result set may go out through `out` while its statement runs
    /// (the server writes what arrives there as it arrives); its result is
    /// then [`Output::Sent`], and only the first statement's may.
    fn query(
        &mut self,
        sql: &str,
        multi_statements: bool,
        out: &Outlet,
    ) -> impl Future<Output = Vec<Result<Output, SqlError>>> + Send;

    /// COM_INIT_DB: `USE db`.
    fn use_database(&mut self, db: &str) -> impl Future<Output = Result<(), SqlError>> + Send;

    /// COM_STMT_PREPARE. The returned id names the statement in later calls;
    /// ids are per session.
    fn prepare(&mut self, sql: &str) -> impl Future<Output = Result<Prepared, SqlError>> + Send;

    /// COM_STMT_EXECUTE with exactly [`Prepared::params`] values. The
    /// server has already decoded them from their wire types: integers as
    /// `I64`/`U64` by the client's unsigned flag, FLOAT and DOUBLE as `F64`,
    /// DECIMAL as `Decimal` (or `Bytes` when not plain digits, such as
    /// `1e5`), strings, blobs, JSON, ENUM and SET as `Bytes`, DATE as
    /// `Date`, DATETIME and TIMESTAMP as `DateTime`, TIME as `Time`, YEAR as
    /// an integer. Casting them to what the statement needs is the SQL
    /// layer's job, as in MySQL. The result set may stream through `out`,
    /// as for [`Backend::query`].
    fn execute(
        &mut self,
        id: u32,
        params: Vec<Datum>,
        out: &Outlet,
    ) -> impl Future<Output = Result<Output, SqlError>> + Send;

    /// COM_STMT_CLOSE. Called only for ids the session returned.
    fn close_statement(&mut self, id: u32);

    /// COM_RESET_CONNECTION: roll back, drop prepared statements, user
    /// variables and temporary tables, and restore session variables, as a
    /// new connection would have them (the user and database stay).
    fn reset(&mut self) -> impl Future<Output = ()> + Send;

    /// COM_FIELD_LIST: the columns of `table` in the current database (the
    /// old `mysql_list_fields`; the mysql CLI uses it for completion).
    fn field_list(
        &mut self,
        table: &str,
    ) -> impl Future<Output = Result<Vec<ColumnInfo>, SqlError>> + Send;

    /// `SERVER_STATUS_*` bits for OK and EOF packets: `IN_TRANS` (1),
    /// `AUTOCOMMIT` (2), `NO_GOOD_INDEX_USED` (16), `NO_INDEX_USED` (32)...
    /// The server adds `MORE_RESULTS_EXISTS` itself.
    fn status_flags(&self) -> u16;

    /// Warnings of the last statement (`SHOW WARNINGS` lists them).
    fn warning_count(&self) -> u16;

    /// The file a `LOAD DATA LOCAL INFILE` asked for (`Output::LocalInfile`)
    /// as the client sent it, or `None` if the client may not send files.
    fn local_infile(
        &mut self,
        data: Option<Vec<u8>>,
    ) -> impl Future<Output = Result<Output, SqlError>> + Send {
        let _ = data;
        async {
            Err(SqlError::new(
                1235,
                "42000",
                "LOAD DATA LOCAL is not supported",
            ))
        }
    }

    /// Resolves when `KILL CONNECTION` named this session: the server then
    /// closes the connection, even one idle in a read.
    fn killed(&self) -> impl Future<Output = ()> + Send + '_ {
        std::future::pending()
    }
}

/// Creates sessions and answers server-wide questions.
pub trait BackendFactory: Send + Sync + 'static {
    /// The session type of one connection.
    type Session: Backend;

    /// Opens a session for a client whose password the server has already
    /// checked. Fails for an unknown or forbidden database (1049, 1044); the
    /// client gets the error and the connection closes. Also called for
    /// COM_CHANGE_USER, replacing the old session on success.
    fn open(
        &self,
        info: &ConnectInfo<'_>,
    ) -> impl Future<Output = Result<Self::Session, SqlError>> + Send;

    /// Run a connection's whole life: where a backend sets up what its
    /// sessions keep per task (the SQL layer's clock of KV waits).
    fn connection<F>(work: F) -> impl Future<Output = F::Output> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send,
    {
        work
    }

    /// COM_STATISTICS text, as `mysqladmin status` shows it: `Uptime: 5
    /// Threads: 1  Questions: 10  Slow queries: 0  Opens: 0  Flush tables:
    /// 0  Open tables: 0  Queries per second avg: 2.000`.
    fn statistics(&self) -> String;
}
