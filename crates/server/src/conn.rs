//! One client connection: the handshake and authentication, then the
//! command loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use codec::Datum;
use sql::{ColumnInfo, ColumnType, Outlet, Output, SqlError, Streamed};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tracing::debug;

use crate::auth::{AuthPlugin, NONCE_LEN, is_empty_response, new_nonce};
use crate::backend::{Backend, BackendFactory, ConnectInfo};
use crate::error::{self, Error};
use crate::message::{self, MORE_RESULTS_EXISTS, cap};
use crate::packet::PacketStream;
use crate::server::ServerConfig;
use crate::value::{ParamError, put_binary_row, put_text, read_param};
use crate::wire::{Reader, put_lenenc_int, put_nul_bytes};

/// How long a connection we are closing after an error keeps reading what
/// the client still sends, so that the client sees the error.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// `SERVER_STATUS_AUTOCOMMIT`, the status before any session exists.
const STATUS_AUTOCOMMIT: u16 = 0x0002;

/// The collation announced in the handshake (`utf8mb4_general_ci`).
const SERVER_COLLATION: u8 = sql::result::charset::UTF8MB4_GENERAL_CI as u8;

/// `AuthMoreData` with `fast_auth_success`: caching_sha2_password's "the
/// scramble matched".
const FAST_AUTH_SUCCESS: [u8; 2] = [0x01, 0x03];

/// Command bytes.
mod com {
    pub const QUIT: u8 = 0x01;
    pub const INIT_DB: u8 = 0x02;
    pub const QUERY: u8 = 0x03;
    pub const FIELD_LIST: u8 = 0x04;
    pub const STATISTICS: u8 = 0x09;
    pub const PING: u8 = 0x0E;
    pub const CHANGE_USER: u8 = 0x11;
    pub const STMT_PREPARE: u8 = 0x16;
    pub const STMT_EXECUTE: u8 = 0x17;
    pub const STMT_SEND_LONG_DATA: u8 = 0x18;
    pub const STMT_CLOSE: u8 = 0x19;
    pub const STMT_RESET: u8 = 0x1A;
    pub const SET_OPTION: u8 = 0x1B;
    pub const STMT_FETCH: u8 = 0x1C;
    pub const RESET_CONNECTION: u8 = 0x1F;
}

/// Runs one connection to its end. Never fails: errors are answered to the
/// client or logged, and the connection closes.
pub(crate) async fn run<F: BackendFactory, S: AsyncRead + AsyncWrite + Unpin + Send>(
    stream: S,
    host: String,
    id: u32,
    factory: Arc<F>,
    config: Arc<ServerConfig>,
    mut stop: watch::Receiver<bool>,
) {
    let mut io = PacketStream::new(stream, config.max_allowed_packet);
    let nonce = new_nonce();
    let established = tokio::select! {
        r = tokio::time::timeout(config.connect_timeout, handshake(&mut io, id, &host, &nonce, &*factory, &config)) => r,
        _ = stop.wait_for(|stopped| *stopped) => return,
    };
    let (session, caps, collation) = match established {
        Ok(Ok(Some(established))) => established,
        Ok(Ok(None)) => return io.close_gracefully(CLOSE_GRACE).await,
        Ok(Err(e)) => return fail(io, id, e).await,
        Err(_) => return debug!(id, "handshake timed out"),
    };
    let (outlet, streamed) = Outlet::new();
    let conn = Conn {
        io,
        outlet,
        streamed,
        factory,
        config,
        id,
        host,
        nonce,
        caps,
        collation,
        multi_statements: caps & cap::MULTI_STATEMENTS != 0,
        session,
        stmts: HashMap::new(),
    };
    conn.serve(stop).await;
}

/// Ends a connection after a transport or framing error, telling the client
/// when MySQL would.
async fn fail<S: AsyncRead + AsyncWrite + Unpin>(mut io: PacketStream<S>, id: u32, e: Error) {
    debug!(id, "closing connection: {e}");
    let reply = match e {
        Error::TooLarge(_) => error::packet_too_large(),
        Error::OutOfOrder { .. } => error::out_of_order(),
        Error::Malformed(_) => error::bad_handshake(),
        Error::Io(_) | Error::Closed => return,
    };
    io.write_with(|o| message::err(o, &reply));
    if io.flush().await.is_ok() {
        io.close_gracefully(CLOSE_GRACE).await;
    }
}

/// A client's HandshakeResponse41, parsed.
struct Login<'a> {
    user: String,
    auth_response: &'a [u8],
    database: Option<String>,
    plugin: Option<&'a [u8]>,
    collation: u16,
    attributes: Vec<(String, String)>,
}

/// Sends the greeting, authenticates, and opens the session. `None` when
/// the client was refused (an ERR is buffered).
async fn handshake<F: BackendFactory, S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketStream<S>,
    id: u32,
    host: &str,
    nonce: &[u8; NONCE_LEN],
    factory: &F,
    config: &ServerConfig,
) -> Result<Option<(F::Session, u32, u16)>, Error> {
    io.write_with(|o| greeting(o, &config.version, id, nonce, config.auth_plugin));
    io.flush().await?;
    let payload = io.read().await?;
    let (caps, login) = parse_handshake_response(&payload)?;
    let plugin = if caps & cap::PLUGIN_AUTH == 0 {
        // A 4.1 client without plugins sends the native scramble.
        Some(b"mysql_native_password".as_slice())
    } else {
        login.plugin
    };
    if !authenticate(
        io,
        config,
        nonce,
        host,
        &login.user,
        plugin,
        login.auth_response,
    )
    .await?
    {
        io.flush().await?;
        return Ok(None);
    }
    let info = ConnectInfo {
        connection_id: id,
        user: &login.user,
        host,
        database: login.database.as_deref(),
        found_rows: caps & cap::FOUND_ROWS != 0,
        collation: login.collation,
        attributes: &login.attributes,
    };
    match factory.open(&info).await {
        Ok(session) => {
            let status = session.status_flags();
            io.write_with(|o| message::ok(o, 0, 0, status, 0, ""));
            io.flush().await?;
            Ok(Some((session, caps, login.collation)))
        }
        Err(e) => {
            io.write_with(|o| message::err(o, &e));
            io.flush().await?;
            Ok(None)
        }
    }
}

/// Protocol::HandshakeV10.
fn greeting(
    out: &mut Vec<u8>,
    version: &str,
    id: u32,
    nonce: &[u8; NONCE_LEN],
    plugin: AuthPlugin,
) {
    out.push(10);
    put_nul_bytes(out, version.as_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&nonce[..8]);
    out.push(0);
    out.extend_from_slice(&(cap::SERVER as u16).to_le_bytes());
    out.push(SERVER_COLLATION);
    out.extend_from_slice(&STATUS_AUTOCOMMIT.to_le_bytes());
    out.extend_from_slice(&((cap::SERVER >> 16) as u16).to_le_bytes());
    out.push(NONCE_LEN as u8 + 1);
    out.extend_from_slice(&[0; 10]);
    put_nul_bytes(out, &nonce[8..]);
    put_nul_bytes(out, plugin.name().as_bytes());
}

/// Protocol::HandshakeResponse41. Returns the capabilities both sides have.
fn parse_handshake_response(payload: &[u8]) -> Result<(u32, Login<'_>), Error> {
    let mut r = Reader::new(payload);
    let caps = r.u32()? & cap::SERVER;
    if caps & cap::PROTOCOL_41 == 0 {
        return Err(Error::Malformed("client without CLIENT_PROTOCOL_41"));
    }
    let _max_packet = r.u32()?;
    let collation = r.u8()? as u16;
    r.take(23)?;
    let user = String::from_utf8_lossy(r.nul_bytes()?).into_owned();
    let auth_response = if caps & cap::PLUGIN_AUTH_LENENC_CLIENT_DATA != 0 {
        r.lenenc_bytes()?
    } else {
        let len = r.u8()?;
        r.take(len as usize)?
    };
    let database = if caps & cap::CONNECT_WITH_DB != 0 {
        Some(nul_or_rest(&mut r)).filter(|db| !db.is_empty())
    } else {
        None
    };
    let plugin = (caps & cap::PLUGIN_AUTH != 0 && !r.is_empty()).then(|| nul_or_rest(&mut r));
    let attributes = if caps & cap::CONNECT_ATTRS != 0 {
        parse_attributes(&mut r)
    } else {
        Vec::new()
    };
    let login = Login {
        user,
        auth_response,
        database: database.map(|db| String::from_utf8_lossy(db).into_owned()),
        plugin,
        collation,
        attributes,
    };
    Ok((caps, login))
}

/// A string that should be NUL-terminated but that some clients leave
/// unterminated at the end of a packet.
fn nul_or_rest<'a>(r: &mut Reader<'a>) -> &'a [u8] {
    match r.nul_bytes() {
        Ok(s) => s,
        Err(_) => r.rest(),
    }
}

/// Connection attributes; malformed ones are dropped rather than refusing
/// the connection, since they are informational.
fn parse_attributes(r: &mut Reader<'_>) -> Vec<(String, String)> {
    let Ok(block) = r.lenenc_bytes() else {
        return Vec::new();
    };
    let mut r = Reader::new(block);
    let mut attributes = Vec::new();
    while !r.is_empty() {
        let (Ok(key), Ok(value)) = (r.lenenc_bytes(), r.lenenc_bytes()) else {
            return Vec::new();
        };
        attributes.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    attributes
}

/// Checks a login, first asking the client to switch plugins if it used one
/// we do not speak. `false` when refused (ERR 1045 is buffered); on success
/// caching_sha2_password's fast-auth marker is buffered when due, and the
/// caller follows with OK.
async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketStream<S>,
    config: &ServerConfig,
    nonce: &[u8; NONCE_LEN],
    host: &str,
    user: &str,
    plugin: Option<&[u8]>,
    response: &[u8],
) -> Result<bool, Error> {
    let switched;
    let (plugin, response) = match plugin.and_then(AuthPlugin::from_name) {
        Some(plugin) => (plugin, response),
        None => {
            let plugin = config.auth_plugin;
            io.write_with(|o| {
                o.push(0xFE);
                put_nul_bytes(o, plugin.name().as_bytes());
                put_nul_bytes(o, nonce);
            });
            io.flush().await?;
            switched = io.read().await?;
            (plugin, switched.as_slice())
        }
    };
    let verified = config
        .users
        .get(user)
        .is_some_and(|password| plugin.verify(nonce, password.as_bytes(), response));
    if !verified {
        let e = error::access_denied(user, host, !is_empty_response(response));
        io.write_with(|o| message::err(o, &e));
        return Ok(false);
    }
    if plugin == AuthPlugin::CachingSha2Password && !is_empty_response(response) {
        io.write(&FAST_AUTH_SUCCESS);
    }
    Ok(true)
}

/// Whether the command loop goes on.
enum Flow {
    Continue,
    Quit,
}

/// A prepared statement's protocol state; the statement itself lives in the
/// session.
struct Statement {
    params: u16,
    /// Parameter (type code, unsigned) pairs as last bound: an execute that
    /// does not rebind reuses them.
    types: Vec<(u8, bool)>,
    /// COM_STMT_SEND_LONG_DATA bytes per parameter, until the next execute
    /// or reset. Empty until some arrive.
    long_data: Vec<Option<Vec<u8>>>,
    /// A parameter's long data passed `max_allowed_packet`; the next execute
    /// fails.
    long_data_too_large: bool,
}

impl Statement {
    fn new(params: u16) -> Self {
        Statement {
            params,
            types: Vec::new(),
            long_data: Vec::new(),
            long_data_too_large: false,
        }
    }

    fn reset_long_data(&mut self) {
        self.long_data = Vec::new();
        self.long_data_too_large = false;
    }

    /// Decodes COM_STMT_EXECUTE's parameters (after the fixed header),
    /// consuming the long data.
    fn bind(&mut self, r: &mut Reader<'_>) -> Result<Vec<Datum>, SqlError> {
        let mut long_data = std::mem::take(&mut self.long_data);
        if std::mem::replace(&mut self.long_data_too_large, false) {
            return Err(error::long_data_too_large());
        }
        let n = self.params as usize;
        if n == 0 {
            return Ok(Vec::new());
        }
        let malformed = |_| error::malformed();
        let null_bitmap = r.take(n.div_ceil(8)).map_err(malformed)?;
        if r.u8().map_err(malformed)? == 1 {
            self.types = (0..n)
                .map(|_| Ok((r.u8()?, r.u8()? & 0x80 != 0)))
                .collect::<Result<_, Error>>()
                .map_err(malformed)?;
        } else if self.types.len() != n {
            return Err(error::wrong_execute_arguments());
        }
        let mut params = Vec::with_capacity(n);
        for (i, &(ty, unsigned)) in self.types.iter().enumerate() {
            let value = if let Some(bytes) = long_data.get_mut(i).and_then(Option::take) {
                Datum::Bytes(bytes)
            } else if null_bitmap[i / 8] & (1 << (i % 8)) != 0 {
                Datum::Null
            } else {
                read_param(r, ty, unsigned).map_err(|e| match e {
                    ParamError::Malformed(_) => error::malformed(),
                    ParamError::Invalid => error::wrong_execute_arguments(),
                })?
            };
            params.push(value);
        }
        Ok(params)
    }
}

/// The column definition sent for each `?` of a prepared statement; its
/// type is not known before execution, so it says "binary string" as MySQL
/// does.
fn param_column() -> ColumnInfo {
    ColumnInfo {
        schema: String::new(),
        table: String::new(),
        org_table: String::new(),
        name: "?".into(),
        org_name: String::new(),
        charset: sql::result::charset::BINARY,
        length: 0,
        column_type: ColumnType::VarString,
        flags: sql::result::flags::BINARY,
        decimals: 0,
    }
}

struct Conn<F: BackendFactory, S> {
    io: PacketStream<S>,
    /// Where a running statement's result set streams to, and what this
    /// connection reads from it to write out.
    outlet: Outlet,
    streamed: mpsc::Receiver<Streamed>,
    factory: Arc<F>,
    config: Arc<ServerConfig>,
    id: u32,
    host: String,
    /// The handshake's nonce; COM_CHANGE_USER scrambles against it again.
    nonce: [u8; NONCE_LEN],
    /// Capabilities both sides have.
    caps: u32,
    /// The collation of the handshake, kept for a COM_CHANGE_USER without one.
    collation: u16,
    multi_statements: bool,
    session: F::Session,
    stmts: HashMap<u32, Statement>,
}

impl<F: BackendFactory, S: AsyncRead + AsyncWrite + Unpin + Send> Conn<F, S> {
    async fn serve(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            self.io.reset_seq();
            let payload = tokio::select! {
                biased;
                _ = stop.wait_for(|stopped| *stopped) => return,
                _ = self.session.killed() => {
                    return debug!(id = self.id, "connection killed");
                }
                payload = self.io.read() => payload,
            };
            let payload = match payload {
                Ok(payload) => payload,
                Err(e) => return fail(self.io, self.id, e).await,
            };
            let flow = match self.dispatch(&payload).await {
                Ok(flow) => flow,
                Err(Error::Malformed(what)) => {
                    debug!(id = self.id, "malformed command: {what}");
                    self.write_err(&error::malformed());
                    Flow::Continue
                }
                Err(e) => return debug!(id = self.id, "connection ended: {e}"),
            };
            if let Err(e) = self.io.flush().await {
                return debug!(id = self.id, "connection ended: {e}");
            }
            if let Flow::Quit = flow {
                return;
            }
        }
    }

    async fn dispatch(&mut self, payload: &[u8]) -> Result<Flow, Error> {
        let Some((&command, body)) = payload.split_first() else {
            self.write_err(&error::unknown_command());
            return Ok(Flow::Continue);
        };
        match command {
            com::QUIT => return Ok(Flow::Quit),
            com::QUERY => self.query(body).await?,
            com::INIT_DB => {
                let db = String::from_utf8_lossy(body);
                let result = self.session.use_database(&db).await;
                self.write_result(result);
            }
            com::PING => self.write_ok(),
            com::FIELD_LIST => self.field_list(body).await,
            com::STATISTICS => {
                let text = self.factory.statistics();
                self.io.write(text.as_bytes());
            }
            com::CHANGE_USER => self.change_user(body).await?,
            com::RESET_CONNECTION => {
                self.session.reset().await;
                self.stmts.clear();
                self.write_ok();
            }
            com::SET_OPTION => match Reader::new(body).u16()? {
                on_off @ (0 | 1) => {
                    self.multi_statements = on_off == 0;
                    self.write_end_of_rows(0);
                }
                _ => self.write_err(&error::unknown_command()),
            },
            com::STMT_PREPARE => self.prepare(body).await,
            com::STMT_EXECUTE => self.execute(body).await?,
            com::STMT_SEND_LONG_DATA => self.send_long_data(body),
            com::STMT_CLOSE => {
                // No response, even to a malformed packet.
                if let Ok(id) = Reader::new(body).u32()
                    && self.stmts.remove(&id).is_some()
                {
                    self.session.close_statement(id);
                }
            }
            com::STMT_RESET => {
                let id = Reader::new(body).u32()?;
                match self.stmts.get_mut(&id) {
                    Some(stmt) => {
                        stmt.reset_long_data();
                        self.write_ok();
                    }
                    None => self.write_err(&error::unknown_statement(id, "mysqld_stmt_reset")),
                }
            }
            com::STMT_FETCH => {
                let id = Reader::new(body).u32()?;
                let e = if self.stmts.contains_key(&id) {
                    error::no_open_cursor(id)
                } else {
                    error::unknown_statement(id, "mysqld_stmt_fetch")
                };
                self.write_err(&e);
            }
            _ => self.write_err(&error::unknown_command()),
        }
        Ok(Flow::Continue)
    }

    fn deprecate_eof(&self) -> bool {
        self.caps & cap::DEPRECATE_EOF != 0
    }

    fn write_err(&mut self, e: &SqlError) {
        self.io.write_with(|o| message::err(o, e));
    }

    fn write_ok(&mut self) {
        let (status, warnings) = (self.session.status_flags(), self.session.warning_count());
        self.io
            .write_with(|o| message::ok(o, 0, 0, status, warnings, ""));
    }

    fn write_result(&mut self, result: Result<(), SqlError>) {
        match result {
            Ok(()) => self.write_ok(),
            Err(e) => self.write_err(&e),
        }
    }

    fn write_end_of_rows(&mut self, extra_status: u16) {
        let status = self.session.status_flags() | extra_status;
        let warnings = self.session.warning_count();
        let deprecate_eof = self.deprecate_eof();
        self.io
            .write_with(|o| message::end_of_rows(o, deprecate_eof, status, warnings));
    }

    /// Column definitions followed, for clients that expect it, by EOF.
    fn write_column_defs(&mut self, columns: &[ColumnInfo]) {
        let (status, warnings) = (self.session.status_flags(), self.session.warning_count());
        let deprecate_eof = self.deprecate_eof();
        write_column_defs(&mut self.io, columns, deprecate_eof, status, warnings);
    }

    async fn query(&mut self, body: &[u8]) -> Result<(), Error> {
        let Ok(sql) = std::str::from_utf8(body) else {
            self.write_err(&error::invalid_utf8(body));
            return Ok(());
        };
        let deprecate_eof = self.deprecate_eof();
        let query = self.session.query(sql, self.multi_statements, &self.outlet);
        let (results, broken) = pump(
            &mut self.io,
            &mut self.streamed,
            &self.outlet,
            deprecate_eof,
            false,
            query,
        )
        .await?;
        if broken {
            return Ok(());
        }
        if results.is_empty() {
            self.write_err(&error::empty_query());
            return Ok(());
        }
        let last = results.len() - 1;
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(output) => {
                    if !self.write_output(output, i < last, false).await? {
                        break;
                    }
                }
                Err(e) => {
                    self.write_err(&e);
                    break;
                }
            }
        }
        Ok(())
    }

    /// Sends one statement's result. `false` if it had to end in an error.
    async fn write_output(
        &mut self,
        output: Output,
        more: bool,
        binary: bool,
    ) -> Result<bool, Error> {
        let more = if more { MORE_RESULTS_EXISTS } else { 0 };
        let output = match output {
            Output::LocalInfile { file } => match self.local_infile(&file).await? {
                Ok(output) => output,
                Err(e) => {
                    self.write_err(&e);
                    return Ok(false);
                }
            },
            output => output,
        };
        let (columns, rows) = match output {
            Output::Affected {
                rows,
                last_insert_id,
                info,
            } => {
                let status = self.session.status_flags() | more;
                let warnings = self.session.warning_count();
                self.io
                    .write_with(|o| message::ok(o, rows, last_insert_id, status, warnings, &info));
                return Ok(true);
            }
            Output::Rows { columns, rows } => (columns, rows),
            Output::Sent { .. } => {
                self.write_end_of_rows(more);
                return Ok(true);
            }
            Output::LocalInfile { .. } => {
                self.write_err(&SqlError::new(
                    1105,
                    "HY000",
                    "a file request answered a file",
                ));
                return Ok(false);
            }
        };
        self.io
            .write_with(|o| put_lenenc_int(o, columns.len() as u64));
        self.write_column_defs(&columns);
        if !write_rows(&mut self.io, &columns, &rows, binary).await? {
            return Ok(false);
        }
        self.write_end_of_rows(more);
        Ok(true)
    }

    /// LOAD DATA LOCAL INFILE: ask the client for `file` (0xFB and the
    /// name), read what it sends up to an empty packet, and hand it to the
    /// session. A client that did not offer CLIENT_LOCAL_FILES is not asked.
    async fn local_infile(&mut self, file: &str) -> Result<Result<Output, SqlError>, Error> {
        if self.caps & cap::LOCAL_FILES == 0 {
            return Ok(self.session.local_infile(None).await);
        }
        self.io.write_with(|o| {
            o.push(0xFB);
            o.extend_from_slice(file.as_bytes());
        });
        self.io.flush().await?;
        let mut data = Vec::new();
        loop {
            let packet = self.io.read().await?;
            if packet.is_empty() {
                break;
            }
            data.extend_from_slice(&packet);
        }
        Ok(self.session.local_infile(Some(data)).await)
    }

    async fn field_list(&mut self, body: &[u8]) {
        let table = String::from_utf8_lossy(nul_or_rest(&mut Reader::new(body))).into_owned();
        match self.session.field_list(&table).await {
            Ok(columns) => {
                for col in &columns {
                    self.io.write_with(|o| message::column_def(o, col, true));
                }
                self.write_end_of_rows(0);
            }
            Err(e) => self.write_err(&e),
        }
    }

    async fn change_user(&mut self, body: &[u8]) -> Result<(), Error> {
        let mut r = Reader::new(body);
        let user = String::from_utf8_lossy(r.nul_bytes()?).into_owned();
        let auth_response = {
            let len = r.u8()?;
            r.take(len as usize)?
        };
        let database = Some(nul_or_rest(&mut r))
            .filter(|db| !db.is_empty())
            .map(|db| String::from_utf8_lossy(db).into_owned());
        let collation = if r.is_empty() {
            self.collation
        } else {
            r.u16()?
        };
        let plugin = (!r.is_empty()).then(|| nul_or_rest(&mut r));
        let attributes = if self.caps & cap::CONNECT_ATTRS != 0 {
            parse_attributes(&mut r)
        } else {
            Vec::new()
        };
        let plugin = plugin.or(Some(b"mysql_native_password"));
        if !authenticate(
            &mut self.io,
            &self.config,
            &self.nonce,
            &self.host,
            &user,
            plugin,
            auth_response,
        )
        .await?
        {
            return Ok(());
        }
        let info = ConnectInfo {
            connection_id: self.id,
            user: &user,
            host: &self.host,
            database: database.as_deref(),
            found_rows: self.caps & cap::FOUND_ROWS != 0,
            collation,
            attributes: &attributes,
        };
        match self.factory.open(&info).await {
            Ok(session) => {
                self.session = session;
                self.stmts.clear();
                self.collation = collation;
                self.write_ok();
            }
            Err(e) => self.write_err(&e),
        }
        Ok(())
    }

    async fn prepare(&mut self, body: &[u8]) {
        let Ok(sql) = std::str::from_utf8(body) else {
            return self.write_err(&error::invalid_utf8(body));
        };
        let prepared = match self.session.prepare(sql).await {
            Ok(prepared) => prepared,
            Err(e) => return self.write_err(&e),
        };
        self.stmts
            .insert(prepared.id, Statement::new(prepared.params));
        let warnings = self.session.warning_count();
        self.io.write_with(|o| {
            o.push(0x00);
            o.extend_from_slice(&prepared.id.to_le_bytes());
            o.extend_from_slice(&(prepared.columns.len() as u16).to_le_bytes());
            o.extend_from_slice(&prepared.params.to_le_bytes());
            o.push(0);
            o.extend_from_slice(&warnings.to_le_bytes());
        });
        if prepared.params > 0 {
            let params = vec![param_column(); prepared.params as usize];
            self.write_column_defs(&params);
        }
        if !prepared.columns.is_empty() {
            self.write_column_defs(&prepared.columns);
        }
    }

    async fn execute(&mut self, body: &[u8]) -> Result<(), Error> {
        let mut r = Reader::new(body);
        let id = r.u32()?;
        // Cursor flags are ignored: the whole result is sent at once.
        let _flags = r.u8()?;
        let _iterations = r.u32()?;
        let Some(stmt) = self.stmts.get_mut(&id) else {
            self.write_err(&error::unknown_statement(id, "mysqld_stmt_execute"));
            return Ok(());
        };
        let params = match stmt.bind(&mut r) {
            Ok(params) => params,
            Err(e) => {
                self.write_err(&e);
                return Ok(());
            }
        };
        let deprecate_eof = self.deprecate_eof();
        let execute = self.session.execute(id, params, &self.outlet);
        let (result, broken) = pump(
            &mut self.io,
            &mut self.streamed,
            &self.outlet,
            deprecate_eof,
            true,
            execute,
        )
        .await?;
        match result {
            _ if broken => {}
            Ok(output) => {
                self.write_output(output, false, true).await?;
            }
            Err(e) => self.write_err(&e),
        }
        Ok(())
    }

    /// COM_STMT_SEND_LONG_DATA gets no response; problems surface at the
    /// next execute (too much data) or not at all (unknown statement or
    /// parameter), as in MySQL.
    fn send_long_data(&mut self, body: &[u8]) {
        let mut r = Reader::new(body);
        let (Ok(id), Ok(param)) = (r.u32(), r.u16()) else {
            return;
        };
        let data = r.rest();
        let max = self.config.max_allowed_packet;
        let Some(stmt) = self.stmts.get_mut(&id) else {
            return;
        };
        let param = param as usize;
        if param >= stmt.params as usize {
            return;
        }
        if stmt.long_data.is_empty() {
            stmt.long_data.resize(stmt.params as usize, None);
        }
        let buf = stmt.long_data[param].get_or_insert_default();
        if buf.len() + data.len() > max {
            stmt.long_data_too_large = true;
            *buf = Vec::new();
        } else {
            buf.extend_from_slice(data);
        }
    }
}

/// Runs `work` (a statement, or a text of them) while writing out the result
/// set it streams through `outlet`, as each part arrives. Returns what
/// `work` returned, and whether the streamed result already ended in an
/// ERR (a row the binary protocol cannot carry), after which nothing more
/// of the command is written. A client that goes away closes the outlet:
/// the statement then fails at its next batch and ends as usual, and the
/// transport error is returned.
async fn pump<S: AsyncRead + AsyncWrite + Unpin, T>(
    io: &mut PacketStream<S>,
    streamed: &mut mpsc::Receiver<Streamed>,
    outlet: &Outlet,
    deprecate_eof: bool,
    binary: bool,
    work: impl Future<Output = T>,
) -> Result<(T, bool), Error> {
    let mut work = std::pin::pin!(work);
    let mut columns = None;
    let mut failed = Ok(false);
    let result = loop {
        tokio::select! {
            biased;
            result = &mut work => break result,
            Some(part) = streamed.recv() => {
                if matches!(failed, Ok(false)) {
                    failed = write_part(io, &mut columns, part, deprecate_eof, binary).await;
                    if !matches!(failed, Ok(false)) {
                        outlet.close();
                    }
                }
            }
        }
    };
    // What the statement sent before it ended.
    while let Ok(part) = streamed.try_recv() {
        if matches!(failed, Ok(false)) {
            failed = write_part(io, &mut columns, part, deprecate_eof, binary).await;
        }
    }
    if !matches!(failed, Ok(false)) {
        outlet.reopen();
    }
    Ok((result, failed?))
}

/// Writes one streamed part; `Ok(true)` once an ERR took a row's place.
async fn write_part<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketStream<S>,
    columns: &mut Option<std::sync::Arc<[ColumnInfo]>>,
    part: Streamed,
    deprecate_eof: bool,
    binary: bool,
) -> Result<bool, Error> {
    match part {
        Streamed::Columns { columns: c, status } => {
            io.write_with(|o| put_lenenc_int(o, c.len() as u64));
            write_column_defs(io, &c, deprecate_eof, status, 0);
            *columns = Some(c);
            Ok(false)
        }
        Streamed::Rows(rows) => {
            let Some(columns) = columns else {
                return Err(Error::Malformed("rows streamed before their columns"));
            };
            Ok(!write_rows(io, columns, &rows, binary).await?)
        }
    }
}

/// Column definitions followed, for clients that expect it, by EOF.
fn write_column_defs<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketStream<S>,
    columns: &[ColumnInfo],
    deprecate_eof: bool,
    status: u16,
    warnings: u16,
) {
    for col in columns {
        io.write_with(|o| message::column_def(o, col, false));
    }
    if !deprecate_eof {
        io.write_with(|o| message::end_of_rows(o, false, status, warnings));
    }
}

/// Writes rows of a result set, text or binary, flushing as the buffer
/// fills. `false` when a row could not be written: an ERR took its place,
/// which is how MySQL reports a failure in the middle of a result set.
async fn write_rows<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketStream<S>,
    columns: &[ColumnInfo],
    rows: &[Vec<Datum>],
    binary: bool,
) -> Result<bool, Error> {
    for row in rows {
        if binary {
            let written = io.try_write_with(|o| {
                put_binary_row(o, row, columns).map_err(|col| error::value_mismatch(&col.name))
            });
            if let Err(e) = written {
                io.write_with(|o| message::err(o, &e));
                return Ok(false);
            }
        } else {
            io.write_with(|o| {
                for (i, col) in columns.iter().enumerate() {
                    put_text(o, row.get(i).unwrap_or(&Datum::Null), col);
                }
            });
        }
        io.flush_if_large().await?;
    }
    Ok(true)
}
