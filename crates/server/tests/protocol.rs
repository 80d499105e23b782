//! The protocol driven by real clients (mysql_async, a hand-written raw
//! client for what well-behaved clients never send, and the mariadb CLI when
//! installed) against an echo backend defined here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use codec::Datum;
use mysql_async::prelude::*;
use mysql_async::{ChangeUserOpts, Conn, OptsBuilder, Row, Value};
use server::{AuthPlugin, Backend, BackendFactory, ConnectInfo, ServerConfig};
use sql::result::{Sink, charset, flags};
use sql::{ColumnInfo, ColumnType, Outlet, Output, Prepared, SqlError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------
// The echo backend.

fn col(name: &str, column_type: ColumnType, flags: u16, decimals: u8) -> ColumnInfo {
    let text = matches!(
        column_type,
        ColumnType::VarString | ColumnType::String | ColumnType::Blob | ColumnType::Json
    ) && flags & flags::BINARY == 0;
    ColumnInfo {
        schema: "test".into(),
        table: "t".into(),
        org_table: "t".into(),
        name: name.into(),
        org_name: name.into(),
        charset: if text {
            charset::UTF8MB4_GENERAL_CI
        } else {
            charset::BINARY
        },
        length: 255,
        column_type,
        flags,
        decimals,
    }
}

const DECIMAL_30: &str = "-12345678901234567890.123456789012345678901234567890";

/// One row of every column type, then a row of NULLs.
fn types_output() -> Output {
    use ColumnType::*;
    let columns: Arc<[ColumnInfo]> = vec![
        col("tiny", Tiny, 0, 0),
        col("utiny", Tiny, flags::UNSIGNED, 0),
        col("short", Short, 0, 0),
        col("year", Year, flags::UNSIGNED, 0),
        col("int24", Int24, 0, 0),
        col("long", Long, 0, 0),
        col("longlong", LongLong, 0, 0),
        col("ulonglong", LongLong, flags::UNSIGNED, 0),
        col("float", Float, 0, 31),
        col("double", Double, 0, 31),
        col("decimal", NewDecimal, 0, 30),
        col("date", Date, 0, 0),
        col("datetime", DateTime, 0, 6),
        col("timestamp", Timestamp, 0, 0),
        col("time", Time, 0, 6),
        col("varchar", VarString, 0, 0),
        col("blob", Blob, flags::BLOB | flags::BINARY, 0),
        col("json", Json, 0, 0),
        col("char", String, 0, 0),
        col("null", Null, 0, 0),
    ]
    .into();
    let values = vec![
        Datum::I64(-128),
        Datum::U64(255),
        Datum::I64(-32768),
        Datum::U64(2024),
        Datum::I64(-8_388_608),
        Datum::I64(i32::MIN as i64),
        Datum::I64(i64::MIN),
        Datum::U64(u64::MAX),
        Datum::F64(1.5),
        Datum::F64(0.1),
        Datum::Decimal(DECIMAL_30.parse().unwrap()),
        Datum::Date("2024-02-29".parse().unwrap()),
        Datum::DateTime("2024-02-29 23:59:58.123456".parse().unwrap()),
        Datum::DateTime("1970-01-01 00:00:01".parse().unwrap()),
        Datum::Time("-838:59:58.999999".parse().unwrap()),
        Datum::Bytes("héllo 🦀".as_bytes().to_vec()),
        Datum::Bytes(vec![0, 1, 0, 255]),
        Datum::Bytes(br#"{"a": 1}"#.to_vec()),
        Datum::Bytes(b"x".to_vec()),
        Datum::Null,
    ];
    let nulls = vec![Datum::Null; values.len()];
    Output::Rows {
        columns,
        rows: vec![values, nulls],
    }
}

/// A column that carries `datum` back with its natural type.
fn echo_column(i: usize, datum: &Datum) -> ColumnInfo {
    use ColumnType::*;
    let name = format!("p{i}");
    match datum {
        Datum::Null => col(&name, Null, 0, 0),
        Datum::I64(_) => col(&name, LongLong, 0, 0),
        Datum::U64(_) => col(&name, LongLong, flags::UNSIGNED, 0),
        Datum::F64(_) => col(&name, Double, 0, 31),
        Datum::Bytes(_) => col(&name, Blob, flags::BINARY | flags::BLOB, 0),
        Datum::Decimal(d) => col(&name, NewDecimal, 0, d.scale()),
        Datum::Date(_) => col(&name, Date, 0, 0),
        Datum::DateTime(_) => col(&name, DateTime, 0, 6),
        Datum::Time(_) => col(&name, Time, 0, 6),
    }
}

fn one_value(name: &str, column_type: ColumnType, datum: Datum) -> Output {
    Output::Rows {
        columns: vec![col(name, column_type, 0, 31)].into(),
        rows: vec![vec![datum]],
    }
}

fn syntax_error(sql: &str) -> SqlError {
    SqlError {
        code: 1064,
        state: "42000",
        message: format!("You have an error in your SQL syntax near '{sql}'"),
    }
}

struct Echo {
    db: Option<String>,
    stmts: HashMap<u32, String>,
    next_stmt: u32,
    in_trans: bool,
    warnings: u16,
    max_allowed_packet: usize,
}

impl Echo {
    fn statement(&mut self, sql: &str) -> Result<Output, SqlError> {
        let lower = sql.to_ascii_lowercase();
        self.warnings = 0;
        if let Some(vars) = lower.strip_prefix("select @@") {
            // What clients ask on connect (@@version_comment for the mysql
            // CLI, @@max_allowed_packet,@@wait_timeout for mysql_async).
            let vars: Vec<&str> = vars
                .split(" limit")
                .next()
                .unwrap()
                .split(",")
                .map(|v| v.trim().trim_start_matches("@@"))
                .collect();
            let columns: Vec<_> = vars
                .iter()
                .map(|v| col(&format!("@@{v}"), ColumnType::LongLong, 0, 0))
                .collect();
            let row = vars
                .iter()
                .map(|v| match *v {
                    "max_allowed_packet" => Datum::I64(self.max_allowed_packet as i64),
                    "wait_timeout" => Datum::I64(28800),
                    "version_comment" => Datum::Bytes(b"Basalt echo".to_vec()),
                    _ => Datum::Null,
                })
                .collect();
            return Ok(Output::Rows {
                columns: columns.into(),
                rows: vec![row],
            });
        }
        let (word, rest) = lower.split_once(' ').unwrap_or((&lower, ""));
        match word {
            "select" if rest == "1" => Ok(one_value("1", ColumnType::LongLong, Datum::I64(1))),
            "select" if rest == "database()" => Ok(one_value(
                "database()",
                ColumnType::VarString,
                self.db
                    .clone()
                    .map_or(Datum::Null, |d| Datum::Bytes(d.into_bytes())),
            )),
            "types" => Ok(types_output()),
            "big" => {
                let n: usize = rest.parse().map_err(|_| syntax_error(sql))?;
                Ok(one_value(
                    "big",
                    ColumnType::Blob,
                    Datum::Bytes(vec![b'x'; n]),
                ))
            }
            "echo" => Ok(one_value(
                "echo",
                ColumnType::VarString,
                Datum::Bytes(sql.as_bytes()[5..].to_vec()),
            )),
            "affected" => Ok(Output::Affected {
                rows: rest.parse().map_err(|_| syntax_error(sql))?,
                last_insert_id: 42,
                info: "Rows matched: 3  Changed: 3  Warnings: 0".into(),
            }),
            // pymysql sends SET NAMES on connect.
            "set" => Ok(Output::Affected {
                rows: 0,
                last_insert_id: 0,
                info: String::new(),
            }),
            "begin" | "commit" => {
                self.in_trans = word == "begin";
                Ok(Output::Affected {
                    rows: 0,
                    last_insert_id: 0,
                    info: String::new(),
                })
            }
            "warn" => {
                self.warnings = 2;
                Ok(Output::Affected {
                    rows: 0,
                    last_insert_id: 0,
                    info: String::new(),
                })
            }
            // A column type the value does not fit: the server must report
            // it, not send garbage.
            "mismatch" => Ok(one_value(
                "m",
                ColumnType::LongLong,
                Datum::Bytes(b"x".to_vec()),
            )),
            _ => Err(syntax_error(sql)),
        }
    }
}

/// `n` rows of one BIGINT column, sent through `out` two at a time as a
/// statement that streams its result; with `fail`, an error ends it
/// instead, after the rows.
async fn stream(out: &Outlet, n: i64, fail: bool) -> Result<Output, SqlError> {
    let columns: Arc<[ColumnInfo]> = vec![col("i", ColumnType::LongLong, 0, 0)].into();
    let mut sink = Sink::new(out, &columns, 0);
    let values: Vec<i64> = (0..n).collect();
    for pair in values.chunks(2) {
        sink.send(pair.iter().map(|&i| vec![Datum::I64(i)]).collect())
            .await?;
    }
    if fail {
        return Err(SqlError::new(
            1317,
            "70100",
            "Query execution was interrupted",
        ));
    }
    Ok(Output::Sent {
        rows: sink.sent().unwrap_or(0),
    })
}

impl Backend for Echo {
    async fn query(
        &mut self,
        sql: &str,
        multi_statements: bool,
        out: &Outlet,
    ) -> Vec<Result<Output, SqlError>> {
        let statements: Vec<&str> = sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if statements.len() > 1 && !multi_statements {
            return vec![Err(syntax_error(sql))];
        }
        let mut results = Vec::new();
        for (i, s) in statements.into_iter().enumerate() {
            let words: Vec<&str> = s.split(' ').collect();
            let result = match words[..] {
                ["stream", n] if i == 0 => stream(out, n.parse().unwrap(), false).await,
                ["stream_fail", n] if i == 0 => stream(out, n.parse().unwrap(), true).await,
                _ => self.statement(s),
            };
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        results
    }

    async fn use_database(&mut self, db: &str) -> Result<(), SqlError> {
        if db == "nosuch" {
            return Err(unknown_database(db));
        }
        self.db = Some(db.to_string());
        Ok(())
    }

    async fn prepare(&mut self, sql: &str) -> Result<Prepared, SqlError> {
        if sql.starts_with("bad") {
            return Err(syntax_error(sql));
        }
        self.next_stmt += 1;
        self.stmts.insert(self.next_stmt, sql.to_string());
        let columns: Arc<[ColumnInfo]> = match sql {
            "types" => match types_output() {
                Output::Rows { columns, .. } => columns,
                _ => unreachable!("types_output is a result set"),
            },
            _ => Vec::new().into(),
        };
        Ok(Prepared {
            id: self.next_stmt,
            params: sql.matches('?').count() as u16,
            columns,
        })
    }

    async fn execute(
        &mut self,
        id: u32,
        params: Vec<Datum>,
        out: &Outlet,
    ) -> Result<Output, SqlError> {
        let Some(sql) = self.stmts.get(&id).cloned() else {
            return Err(SqlError {
                code: 1243,
                state: "HY000",
                message: "unknown".into(),
            });
        };
        if sql == "types" || sql == "mismatch" {
            return self.statement(&sql);
        }
        if let Some(n) = sql.strip_prefix("stream ") {
            return stream(out, n.parse().unwrap(), false).await;
        }
        if sql.starts_with("float") {
            return Ok(Output::Rows {
                columns: vec![col("f", ColumnType::Float, 0, 31)].into(),
                rows: vec![params],
            });
        }
        if sql.starts_with("kinds") {
            // Which Datum kind each parameter decoded to.
            let text = params
                .iter()
                .map(|p| format!("{p:?}"))
                .collect::<Vec<_>>()
                .join("|");
            return Ok(one_value(
                "kinds",
                ColumnType::VarString,
                Datum::Bytes(text.into_bytes()),
            ));
        }
        Ok(Output::Rows {
            columns: params
                .iter()
                .enumerate()
                .map(|(i, p)| echo_column(i, p))
                .collect::<Vec<_>>()
                .into(),
            rows: vec![params],
        })
    }

    fn close_statement(&mut self, id: u32) {
        self.stmts.remove(&id);
    }

    async fn reset(&mut self) {
        self.stmts.clear();
        self.in_trans = false;
        self.warnings = 0;
    }

    async fn field_list(&mut self, table: &str) -> Result<Vec<ColumnInfo>, SqlError> {
        if table != "t" {
            return Err(SqlError {
                code: 1146,
                state: "42S02",
                message: format!("Table 'test.{table}' doesn't exist"),
            });
        }
        Ok(vec![
            col(
                "a",
                ColumnType::LongLong,
                flags::NOT_NULL | flags::PRI_KEY,
                0,
            ),
            col("b", ColumnType::VarString, 0, 0),
        ])
    }

    fn status_flags(&self) -> u16 {
        2 | self.in_trans as u16
    }

    fn warning_count(&self) -> u16 {
        self.warnings
    }
}

fn unknown_database(db: &str) -> SqlError {
    SqlError {
        code: 1049,
        state: "42000",
        message: format!("Unknown database '{db}'"),
    }
}

struct EchoFactory {
    max_allowed_packet: usize,
}

impl BackendFactory for EchoFactory {
    type Session = Echo;

    async fn open(&self, info: &ConnectInfo<'_>) -> Result<Echo, SqlError> {
        if info.database == Some("nosuch") {
            return Err(unknown_database("nosuch"));
        }
        Ok(Echo {
            db: info.database.map(str::to_string),
            stmts: HashMap::new(),
            next_stmt: 0,
            in_trans: false,
            warnings: 0,
            max_allowed_packet: self.max_allowed_packet,
        })
    }

    fn statistics(&self) -> String {
        "Uptime: 1  Threads: 1  Questions: 1".into()
    }
}

// ---------------------------------------------------------------------------
// Harness.

struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl TestServer {
    async fn start(config: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let factory = Arc::new(EchoFactory {
            max_allowed_packet: config.max_allowed_packet,
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, factory, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn default() -> TestServer {
        TestServer::start(config(AuthPlugin::NativePassword)).await
    }

    fn opts(&self, user: &str, pass: &str) -> OptsBuilder {
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.addr.port())
            .user(Some(user))
            .pass(Some(pass))
            .prefer_socket(false)
    }

    async fn conn(&self) -> Conn {
        Conn::new(self.opts("root", "")).await.unwrap()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

fn config(plugin: AuthPlugin) -> ServerConfig {
    let mut config = ServerConfig {
        auth_plugin: plugin,
        ..ServerConfig::default()
    };
    config.users.insert("alice".into(), "secret".into());
    config
}

fn server_error(e: mysql_async::Error) -> (u16, String, String) {
    match e {
        mysql_async::Error::Server(e) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Bytes(b) => b,
        other => panic!("expected bytes, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// mysql_async.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticates_with_both_plugins() {
    for plugin in [AuthPlugin::NativePassword, AuthPlugin::CachingSha2Password] {
        let server = TestServer::start(config(plugin)).await;
        for (user, pass) in [("root", ""), ("alice", "secret")] {
            let mut conn = Conn::new(server.opts(user, pass))
                .await
                .unwrap_or_else(|e| panic!("{plugin:?} {user}: {e}"));
            let one: Option<i64> = conn.query_first("select 1").await.unwrap();
            assert_eq!(one, Some(1));
            conn.disconnect().await.unwrap();
        }
        for (user, pass, using) in [
            ("alice", "wrong", "YES"),
            ("alice", "", "NO"),
            ("root", "x", "YES"),
            ("nobody", "x", "YES"),
        ] {
            let e = Conn::new(server.opts(user, pass))
                .await
                .err()
                .unwrap_or_else(|| panic!("{plugin:?} {user} {pass} got in"));
            let (code, state, message) = server_error(e);
            assert_eq!((code, state.as_str()), (1045, "28000"));
            assert_eq!(
                message,
                format!("Access denied for user '{user}'@'127.0.0.1' (using password: {using})")
            );
        }
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_database() {
    let server = TestServer::default().await;
    let mut conn = Conn::new(server.opts("root", "").db_name(Some("test")))
        .await
        .unwrap();
    let db: Option<String> = conn.query_first("select database()").await.unwrap();
    assert_eq!(db.as_deref(), Some("test"));
    let e = Conn::new(server.opts("root", "").db_name(Some("nosuch")))
        .await
        .unwrap_err();
    assert_eq!(server_error(e).0, 1049);
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_result_with_every_type_and_nulls() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    let mut result = conn.query_iter("types").await.unwrap();
    let columns = result.columns().unwrap();
    assert_eq!(columns.len(), 20);
    assert_eq!(columns[0].name_str(), "tiny");
    assert_eq!(columns[0].schema_str(), "test");
    assert_eq!(columns[1].flags().bits() & flags::UNSIGNED, flags::UNSIGNED);
    assert_eq!(columns[10].decimals(), 30);
    let rows: Vec<Row> = result.collect().await.unwrap();
    drop(result);
    assert_eq!(rows.len(), 2);
    let expected: [&[u8]; 19] = [
        b"-128",
        b"255",
        b"-32768",
        b"2024",
        b"-8388608",
        b"-2147483648",
        b"-9223372036854775808",
        b"18446744073709551615",
        b"1.5",
        b"0.1",
        DECIMAL_30.as_bytes(),
        b"2024-02-29",
        b"2024-02-29 23:59:58.123456",
        b"1970-01-01 00:00:01",
        b"-838:59:58.999999",
        "héllo 🦀".as_bytes(),
        &[0, 1, 0, 255],
        br#"{"a": 1}"#,
        b"x",
    ];
    let values = rows[0].clone().unwrap();
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(bytes(&values[i]), *want, "column {}", columns[i].name_str());
    }
    assert_eq!(values[19], Value::NULL);
    assert!(rows[1].clone().unwrap().iter().all(|v| *v == Value::NULL));

    // Typed conversion of text values, as applications do it.
    let (a, b, c): (i64, u64, f64) = conn
        .query_first("types")
        .await
        .unwrap()
        .map(|r: Row| (r.get(6).unwrap(), r.get(7).unwrap(), r.get(9).unwrap()))
        .unwrap();
    assert_eq!((a, b, c), (i64::MIN, u64::MAX, 0.1));
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_result_with_every_type_and_nulls() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    let stmt = conn.prep("types").await.unwrap();
    assert_eq!(stmt.columns().len(), 20);
    let rows: Vec<Row> = conn.exec("types", ()).await.unwrap();
    let values = rows[0].clone().unwrap();
    let expected = [
        Value::Int(-128),
        // mysql_async reads unsigned columns that fit in i64 as Int.
        Value::Int(255),
        Value::Int(-32768),
        Value::Int(2024),
        Value::Int(-8_388_608),
        Value::Int(i32::MIN as i64),
        Value::Int(i64::MIN),
        Value::UInt(u64::MAX),
        Value::Float(1.5),
        Value::Double(0.1),
        Value::Bytes(DECIMAL_30.into()),
        Value::Date(2024, 2, 29, 0, 0, 0, 0),
        Value::Date(2024, 2, 29, 23, 59, 58, 123456),
        Value::Date(1970, 1, 1, 0, 0, 1, 0),
        Value::Time(true, 34, 22, 59, 58, 999999),
        Value::Bytes("héllo 🦀".into()),
        Value::Bytes(vec![0, 1, 0, 255]),
        Value::Bytes(br#"{"a": 1}"#.to_vec()),
        Value::Bytes(b"x".to_vec()),
        Value::NULL,
    ];
    assert_eq!(values, expected);
    assert!(rows[1].clone().unwrap().iter().all(|v| *v == Value::NULL));

    // A value its column type cannot carry ends the result with an error.
    let e = conn.exec::<Row, _, _>("mismatch", ()).await.unwrap_err();
    assert_eq!(server_error(e).0, 1105);
    let one: Option<i64> = conn.query_first("select 1").await.unwrap();
    assert_eq!(one, Some(1));
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_parameters_round_trip() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    let params = vec![
        Value::NULL,
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::UInt(u64::MAX),
        Value::Double(0.1),
        Value::Double(-1e300),
        Value::Bytes(DECIMAL_30.into()),
        Value::Bytes("utf8mb4: 🦀 ✓ 中文".into()),
        Value::Bytes(vec![0, 0, 1, 0, 255, 0]),
        Value::Bytes(Vec::new()),
        Value::Date(2024, 12, 31, 0, 0, 0, 0),
        Value::Date(2024, 12, 31, 23, 59, 59, 999_999),
        Value::Date(0, 0, 0, 0, 0, 0, 0),
        Value::Time(true, 1, 2, 3, 4, 5),
        Value::Time(false, 0, 0, 0, 0, 1),
        Value::Time(true, 34, 22, 59, 59, 0),
    ];
    let sql = format!("echo {}", vec!["?"; params.len()].join(","));
    let row: Row = conn
        .exec_first(&sql, params.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.unwrap(), params);

    // The same statement again: mysql_async rebinds types each time; the
    // raw-client test covers reusing them.
    let row: Row = conn
        .exec_first(&sql, params.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.unwrap(), params);

    // FLOAT parameters and columns keep their f32 value exactly.
    for f in [1.1f32, -3.4028235e38, f32::MIN_POSITIVE, 0.0] {
        let got: Option<Value> = conn
            .exec_first("float ?", (Value::Float(f),))
            .await
            .unwrap();
        assert_eq!(got, Some(Value::Float(f)));
    }

    let e = conn.prep("bad ?").await.unwrap_err();
    assert_eq!(server_error(e).0, 1064);
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_over_16_mib_both_ways() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    let n = (16 << 20) + 100;

    // Result row over 16 MiB (text protocol).
    let big: Option<Vec<u8>> = conn.query_first(format!("big {n}")).await.unwrap();
    let big = big.unwrap();
    assert_eq!(big.len(), n);
    assert!(big.iter().all(|&b| b == b'x'));

    // Query text over 16 MiB, echoed back.
    let text: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let echoed: Option<String> = conn.query_first(format!("echo {text}")).await.unwrap();
    assert!(echoed.as_deref() == Some(text.as_str()));

    // A parameter over 16 MiB (sent as long data) and a binary row over 16
    // MiB back.
    let blob: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let got: Option<Vec<u8>> = conn.exec_first("echo ?", (blob.clone(),)).await.unwrap();
    assert!(got.unwrap() == blob);
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_statements_return_every_result() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    let mut result = conn
        .query_iter("types; affected 3; echo x; begin")
        .await
        .unwrap();
    let first: Vec<Row> = result.collect().await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(result.affected_rows(), 3);
    assert_eq!(result.last_insert_id(), Some(42));
    assert_eq!(result.info(), "Rows matched: 3  Changed: 3  Warnings: 0");
    let second: Vec<Row> = result.collect().await.unwrap();
    assert!(second.is_empty());
    let third: Vec<String> = result.collect().await.unwrap();
    assert_eq!(third, ["x"]);
    let fourth: Vec<Row> = result.collect().await.unwrap();
    assert!(fourth.is_empty());
    assert!(result.is_empty());
    drop(result);

    // An error stops the batch and is reported after the earlier results.
    let mut result = conn.query_iter("echo a; bad; echo b").await.unwrap();
    let first: Vec<String> = result.collect().await.unwrap();
    assert_eq!(first, ["a"]);
    let e = result.collect::<Row>().await.unwrap_err();
    assert_eq!(server_error(e).0, 1064);
    drop(result);

    let e = conn.query_drop("bad").await.unwrap_err();
    let (code, state, _) = server_error(e);
    assert_eq!((code, state.as_str()), (1064, "42000"));
    let e = conn.query_drop("  ").await.unwrap_err();
    assert_eq!(server_error(e).0, 1065);

    conn.query_drop("warn").await.unwrap();
    assert_eq!(conn.get_warnings(), 2);
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_result_sets() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    let got: Vec<i64> = conn.query("stream 5").await.unwrap();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    let got: Vec<i64> = conn.exec("stream 3", ()).await.unwrap();
    assert_eq!(got, [0, 1, 2]);

    // Later statements' results follow the streamed one.
    let mut result = conn
        .query_iter("stream 3; affected 2; echo x")
        .await
        .unwrap();
    let first: Vec<i64> = result.collect().await.unwrap();
    assert_eq!(first, [0, 1, 2]);
    let second: Vec<Row> = result.collect().await.unwrap();
    assert!(second.is_empty());
    assert_eq!(result.affected_rows(), 2);
    let third: Vec<String> = result.collect().await.unwrap();
    assert_eq!(third, ["x"]);
    drop(result);

    // An error after streamed rows takes the place of the next row, and the
    // connection goes on.
    let mut result = conn.query_iter("stream_fail 4").await.unwrap();
    let mut seen = Vec::new();
    let e = loop {
        match result.next().await {
            Ok(Some(row)) => seen.push(mysql_async::from_row::<i64>(row)),
            Ok(None) => panic!("the stream ended without its error"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, [0, 1, 2, 3]);
    assert_eq!(server_error(e).0, 1317);
    drop(result);
    let got: Vec<String> = conn.query("echo y").await.unwrap();
    assert_eq!(got, ["y"]);
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_reset_and_change_user() {
    let server = TestServer::default().await;
    let mut conn = server.conn().await;
    conn.ping().await.unwrap();
    conn.query_drop("begin").await.unwrap();
    let stmt = conn.prep("echo ?").await.unwrap();
    assert!(conn.reset().await.unwrap());
    // The reset dropped the server's statements (mysql_async forgets its
    // cache too), and the transaction.
    drop(stmt);
    let again: Option<i64> = conn.exec_first("echo ?", (7,)).await.unwrap();
    assert_eq!(again, Some(7));

    conn.change_user(
        ChangeUserOpts::default()
            .with_user(Some("alice".into()))
            .with_pass(Some("secret".into()))
            .with_db_name(Some("test".into())),
    )
    .await
    .unwrap();
    let db: Option<String> = conn.query_first("select database()").await.unwrap();
    assert_eq!(db.as_deref(), Some("test"));
    let e = conn
        .change_user(
            ChangeUserOpts::default()
                .with_user(Some("alice".into()))
                .with_pass(Some("nope".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(server_error(e).0, 1045);
    drop(conn);
    server.stop().await;
}

// ---------------------------------------------------------------------------
// A raw client, for what well-behaved clients never send.

mod cap {
    pub const PROTOCOL_41: u32 = 1 << 9;
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    pub const CONNECT_WITH_DB: u32 = 1 << 3;
}

struct Raw {
    stream: TcpStream,
    seq: u8,
    nonce: Vec<u8>,
}

impl Raw {
    async fn greet(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut raw = Raw {
            stream,
            seq: 0,
            nonce: Vec::new(),
        };
        let greeting = raw.recv().await.unwrap();
        assert_eq!(greeting[0], 10);
        let version_end = greeting.iter().position(|&b| b == 0).unwrap();
        assert!(greeting[1..version_end].starts_with(b"8.0.11-Basalt-"));
        let p = version_end + 1 + 4;
        raw.nonce.extend_from_slice(&greeting[p..p + 8]);
        let p = p + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
        raw.nonce.extend_from_slice(&greeting[p..p + 12]);
        assert_eq!(greeting[p + 12], 0);
        raw
    }

    /// Logs in as root without password; no DEPRECATE_EOF, so EOF packets.
    async fn login(addr: SocketAddr, database: Option<&str>) -> Raw {
        let mut raw = Raw::greet(addr).await;
        let mut caps = cap::PROTOCOL_41 | cap::SECURE_CONNECTION | cap::PLUGIN_AUTH;
        if database.is_some() {
            caps |= cap::CONNECT_WITH_DB;
        }
        let mut p = handshake_response(caps, "root", &[]);
        if let Some(db) = database {
            p.extend_from_slice(db.as_bytes());
            p.push(0);
        }
        p.extend_from_slice(b"mysql_native_password\0");
        raw.send(&p).await;
        let ok = raw.recv().await.unwrap();
        assert_eq!(ok[0], 0, "{ok:?}");
        raw
    }

    async fn send(&mut self, payload: &[u8]) {
        let mut packet = (payload.len() as u32).to_le_bytes()[..3].to_vec();
        packet.push(self.seq);
        self.seq = self.seq.wrapping_add(1);
        packet.extend_from_slice(payload);
        self.stream.write_all(&packet).await.unwrap();
    }

    async fn command(&mut self, payload: &[u8]) {
        self.seq = 0;
        self.send(payload).await;
    }

    /// One packet, or `None` once the server has closed.
    async fn recv(&mut self) -> Option<Vec<u8>> {
        let mut header = [0u8; 4];
        self.stream.read_exact(&mut header).await.ok()?;
        assert_eq!(header[3], self.seq, "server sequence id");
        self.seq = header[3].wrapping_add(1);
        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
        let mut payload = vec![0; len];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some(payload)
    }

    async fn expect_err(&mut self, code: u16) -> String {
        let p = self
            .recv()
            .await
            .expect("an error packet, not a closed connection");
        assert_eq!(p[0], 0xFF, "{p:?}");
        assert_eq!(
            u16::from_le_bytes([p[1], p[2]]),
            code,
            "{}",
            String::from_utf8_lossy(&p[9..])
        );
        String::from_utf8_lossy(&p[3..]).into_owned()
    }

    async fn expect_ok(&mut self) {
        let p = self.recv().await.unwrap();
        assert_eq!(p[0], 0x00, "{p:?}");
    }

    async fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            self.stream.read_to_end(&mut rest),
        )
        .await;
        assert!(read.is_ok(), "connection still open");
    }

    /// A one-column, one-row text result (with EOF packets): the value.
    async fn single_value(&mut self) -> Vec<u8> {
        assert_eq!(self.recv().await.unwrap(), [1]);
        self.recv().await.unwrap();
        assert_eq!(self.recv().await.unwrap()[0], 0xFE);
        let row = self.recv().await.unwrap();
        assert_eq!(self.recv().await.unwrap()[0], 0xFE);
        assert!((row[0] as usize) < 251);
        row[1..].to_vec()
    }
}

fn handshake_response(caps: u32, user: &str, auth: &[u8]) -> Vec<u8> {
    let mut p = caps.to_le_bytes().to_vec();
    p.extend_from_slice(&(16u32 << 20).to_le_bytes());
    p.push(45);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    p.push(auth.len() as u8);
    p.extend_from_slice(auth);
    p
}

fn native_scramble(nonce: &[u8], password: &[u8]) -> Vec<u8> {
    use sha1::{Digest, Sha1};
    let stage1 = Sha1::digest(password);
    let stage2 = Sha1::digest(stage1);
    let mix = Sha1::new()
        .chain_update(nonce)
        .chain_update(stage2)
        .finalize();
    stage1.iter().zip(mix).map(|(a, b)| a ^ b).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_switch_for_an_unknown_plugin() {
    let server = TestServer::start(config(AuthPlugin::NativePassword)).await;
    let mut raw = Raw::greet(server.addr).await;
    let mut p = handshake_response(
        cap::PROTOCOL_41 | cap::SECURE_CONNECTION | cap::PLUGIN_AUTH,
        "alice",
        b"whatever",
    );
    p.extend_from_slice(b"client_ed25519\0");
    raw.send(&p).await;
    let switch = raw.recv().await.unwrap();
    assert_eq!(switch[0], 0xFE);
    assert_eq!(&switch[1..23], b"mysql_native_password\0");
    assert_eq!(&switch[23..43], &raw.nonce[..]);
    let scramble = native_scramble(&raw.nonce, b"secret");
    raw.send(&scramble).await;
    raw.expect_ok().await;
    raw.command(b"\x0e").await;
    raw.expect_ok().await;

    // The same with a wrong password.
    let mut raw = Raw::greet(server.addr).await;
    raw.send(&p).await;
    raw.recv().await.unwrap();
    raw.send(&native_scramble(&raw.nonce, b"wrong")).await;
    raw.expect_err(1045).await;
    raw.expect_closed().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_commands() {
    let server = TestServer::default().await;
    let mut raw = Raw::login(server.addr, Some("test")).await;

    // Text result set with EOF packets for a client without DEPRECATE_EOF.
    raw.command(b"\x03select database()").await;
    assert_eq!(raw.single_value().await, b"test");

    // COM_INIT_DB.
    raw.command(b"\x02other").await;
    raw.expect_ok().await;
    raw.command(b"\x03select database()").await;
    assert_eq!(raw.single_value().await, b"other");
    raw.command(b"\x02nosuch").await;
    raw.expect_err(1049).await;

    // COM_FIELD_LIST: definitions with a default, then EOF.
    raw.command(b"\x04t\0").await;
    let a = raw.recv().await.unwrap();
    assert!(a.starts_with(b"\x03def\x04test\x01t\x01t\x01a\x01a\x0c"));
    assert_eq!(*a.last().unwrap(), 0xFB);
    raw.recv().await.unwrap();
    assert_eq!(raw.recv().await.unwrap()[0], 0xFE);
    raw.command(b"\x04nosuch\0").await;
    raw.expect_err(1146).await;

    // COM_STATISTICS: a bare string.
    raw.command(b"\x09").await;
    assert_eq!(
        raw.recv().await.unwrap(),
        b"Uptime: 1  Threads: 1  Questions: 1"
    );

    // COM_SET_OPTION turns multi-statements on (the raw client did not ask
    // for them at connect).
    raw.command(b"\x03echo a; echo b").await;
    raw.expect_err(1064).await;
    raw.command(b"\x1b\x00\x00").await;
    assert_eq!(raw.recv().await.unwrap()[0], 0xFE);
    raw.command(b"\x03affected 1; affected 2").await;
    let first = raw.recv().await.unwrap();
    assert_eq!(first[0], 0);
    assert_eq!(first[1], 1);
    assert_ne!(
        u16::from_le_bytes([first[3], first[4]]) & 0x0008,
        0,
        "MORE_RESULTS_EXISTS"
    );
    let second = raw.recv().await.unwrap();
    assert_eq!(second[1], 2);
    assert_eq!(u16::from_le_bytes([second[3], second[4]]) & 0x0008, 0);

    // Unknown command: an error, and the connection stays.
    raw.command(b"\x30").await;
    raw.expect_err(1047).await;
    raw.command(&[]).await;
    raw.expect_err(1047).await;

    // Statement text that is not UTF-8.
    raw.command(b"\x03echo \xff\xfe").await;
    raw.expect_err(1300).await;

    // Unknown statement ids.
    raw.command(b"\x17\x63\x00\x00\x00\x00\x01\x00\x00\x00")
        .await;
    raw.expect_err(1243).await;
    raw.command(b"\x1a\x63\x00\x00\x00").await;
    raw.expect_err(1243).await;
    // COM_STMT_CLOSE of an unknown id: no answer; the ping is next.
    raw.command(b"\x19\x63\x00\x00\x00").await;
    raw.command(b"\x0e").await;
    raw.expect_ok().await;

    raw.command(b"\x01").await;
    raw.expect_closed().await;
    server.stop().await;
}

/// COM_STMT_PREPARE `sql` and return the statement id, checking the number
/// of parameter definitions.
async fn raw_prepare(raw: &mut Raw, sql: &str, params: u16) -> u32 {
    let mut p = vec![0x16];
    p.extend_from_slice(sql.as_bytes());
    raw.command(&p).await;
    let ok = raw.recv().await.unwrap();
    assert_eq!(ok[0], 0);
    let id = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    assert_eq!(u16::from_le_bytes([ok[7], ok[8]]), params);
    for _ in 0..params {
        let def = raw.recv().await.unwrap();
        assert!(def.starts_with(b"\x03def"));
    }
    if params > 0 {
        assert_eq!(raw.recv().await.unwrap()[0], 0xFE);
    }
    id
}

fn execute_packet(id: u32, rest: &[u8]) -> Vec<u8> {
    let mut p = vec![0x17];
    p.extend_from_slice(&id.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(rest);
    p
}

/// The one text value of a binary result with one VARCHAR column.
async fn binary_single_text(raw: &mut Raw) -> String {
    assert_eq!(raw.recv().await.unwrap(), [1]);
    raw.recv().await.unwrap();
    assert_eq!(raw.recv().await.unwrap()[0], 0xFE);
    let row = raw.recv().await.unwrap();
    assert_eq!(raw.recv().await.unwrap()[0], 0xFE);
    assert_eq!(&row[..2], &[0, 0]);
    let mut r = &row[2..];
    let len = match r[0] {
        0xFC => {
            let n = u16::from_le_bytes([r[1], r[2]]) as usize;
            r = &r[3..];
            n
        }
        n => {
            r = &r[1..];
            n as usize
        }
    };
    String::from_utf8(r[..len].to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_prepared_statements() {
    let server = TestServer::default().await;
    let mut raw = Raw::login(server.addr, None).await;
    let id = raw_prepare(&mut raw, "kinds ?,?,?,?,?,?", 6).await;

    // Types a mysql_async client never sends: DECIMAL, TINY/SHORT/INT24
    // signed and unsigned, YEAR; then the same types again without
    // rebinding, and a parameter from long data.
    let mut rest = vec![0b0010_0000, 1];
    for (ty, flag) in [
        (246u8, 0u8),
        (1, 0x80),
        (2, 0),
        (9, 0),
        (13, 0x80),
        (252, 0),
    ] {
        rest.extend_from_slice(&[ty, flag]);
    }
    let values = |rest: &mut Vec<u8>| {
        rest.extend_from_slice(b"\x05-1.50");
        rest.push(200);
        rest.extend_from_slice(&(-2i16).to_le_bytes());
        rest.extend_from_slice(&(-3i32).to_le_bytes());
        rest.extend_from_slice(&2024u16.to_le_bytes());
    };
    values(&mut rest);
    raw.command(&execute_packet(id, &rest)).await;
    assert_eq!(
        binary_single_text(&mut raw).await,
        "Decimal(Decimal(-1.50))|U64(200)|I64(-2)|I64(-3)|U64(2024)|Null"
    );

    // Long data for the last parameter, in two chunks, then an execute that
    // reuses the bound types.
    for chunk in [&b"lo"[..], b"ng"] {
        let mut p = vec![0x18];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&5u16.to_le_bytes());
        p.extend_from_slice(chunk);
        raw.command(&p).await;
    }
    let mut rest = vec![0, 0];
    values(&mut rest);
    raw.command(&execute_packet(id, &rest)).await;
    assert_eq!(
        binary_single_text(&mut raw).await,
        "Decimal(Decimal(-1.50))|U64(200)|I64(-2)|I64(-3)|U64(2024)|Bytes([108, 111, 110, 103])"
    );

    // Malformed: truncated values, a missing bitmap, a bad date, an unknown
    // type. Each gets an error and the connection goes on.
    raw.command(&execute_packet(id, &[0, 0, b'\x05'])).await;
    raw.expect_err(1835).await;
    raw.command(&execute_packet(id, &[])).await;
    raw.expect_err(1835).await;
    raw.command(b"\x17\x01").await;
    raw.expect_err(1835).await;
    let id2 = raw_prepare(&mut raw, "kinds ?", 1).await;
    raw.command(&execute_packet(id2, &[0, 0])).await;
    raw.expect_err(1210).await; // never bound
    raw.command(&execute_packet(id2, &[0, 1, 10, 0, 4, 0xE8, 0x07, 13, 1]))
        .await;
    raw.expect_err(1210).await; // month 13
    raw.command(&execute_packet(id2, &[0, 1, 0x0E, 0, 0])).await;
    raw.expect_err(1210).await;

    // COM_STMT_RESET drops long data; COM_STMT_FETCH has no cursor.
    raw.command(&[0x1a, id as u8, 0, 0, 0]).await;
    raw.expect_ok().await;
    raw.command(&[0x1c, id as u8, 0, 0, 0, 1, 0, 0, 0]).await;
    raw.expect_err(1421).await;
    // COM_STMT_CLOSE, then the id is unknown.
    raw.command(&[0x19, id as u8, 0, 0, 0]).await;
    raw.command(&execute_packet(id, &[0, 0])).await;
    raw.expect_err(1243).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_handshakes_close_only_their_connection() {
    let server = TestServer::default().await;

    // Too short to be a handshake response.
    let mut raw = Raw::greet(server.addr).await;
    raw.send(b"\x01\x02\x03").await;
    raw.expect_err(1043).await;
    raw.expect_closed().await;

    // A pre-4.1 client.
    let mut raw = Raw::greet(server.addr).await;
    raw.send(&handshake_response(cap::SECURE_CONNECTION, "root", &[]))
        .await;
    raw.expect_err(1043).await;

    // An auth length past the end of the packet.
    let mut raw = Raw::greet(server.addr).await;
    let mut p = handshake_response(cap::PROTOCOL_41 | cap::SECURE_CONNECTION, "root", &[]);
    *p.last_mut().unwrap() = 200;
    raw.send(&p).await;
    raw.expect_err(1043).await;

    // Disconnect in the middle of the handshake and of a command packet.
    let mut raw = Raw::greet(server.addr).await;
    raw.stream.write_all(&[50, 0, 0, 1, 1, 2, 3]).await.unwrap();
    drop(raw);
    let mut raw = Raw::login(server.addr, None).await;
    raw.stream
        .write_all(&[100, 0, 0, 0, 3, b's', b'e'])
        .await
        .unwrap();
    drop(raw);

    // Out-of-order sequence id.
    let mut raw = Raw::login(server.addr, None).await;
    raw.seq = 5;
    raw.send(b"\x0e").await;
    // The reply continues the sequence the server expected.
    raw.seq = 0;
    raw.expect_err(1156).await;
    raw.expect_closed().await;

    // The server still serves.
    let mut conn = server.conn().await;
    conn.ping().await.unwrap();
    conn.disconnect().await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packet_over_max_allowed_packet() {
    let server = TestServer::start(ServerConfig {
        max_allowed_packet: 1 << 20,
        ..ServerConfig::default()
    })
    .await;
    let mut raw = Raw::login(server.addr, None).await;
    let mut query = b"\x03echo ".to_vec();
    query.resize(2 << 20, b'x');
    raw.command(&query).await;
    let message = raw.expect_err(1153).await;
    assert_eq!(
        message,
        "#08S01Got a packet bigger than 'max_allowed_packet' bytes"
    );
    raw.expect_closed().await;

    // Just under the limit is fine.
    let mut raw = Raw::login(server.addr, None).await;
    query.truncate(1 << 20);
    raw.command(&query).await;
    assert_eq!(raw.recv().await.unwrap(), [1]);

    // Long data adding up to more than the limit fails the execute, and
    // only the execute.
    let mut raw = Raw::login(server.addr, None).await;
    let id = raw_prepare(&mut raw, "kinds ?", 1).await;
    for _ in 0..2 {
        let mut p = vec![0x18];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes());
        p.resize(600 << 10, b'y');
        raw.command(&p).await;
    }
    raw.command(&execute_packet(id, &[0, 1, 252, 0])).await;
    let message = raw.expect_err(1153).await;
    assert!(message.contains("mysql_send_long_data"), "{message}");
    // That execute never bound its types; this one does.
    raw.command(&execute_packet(id, &[1, 1, 252, 0])).await;
    assert_eq!(binary_single_text(&mut raw).await, "Null");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections() {
    let server = TestServer::default().await;
    let mut idle = Raw::login(server.addr, None).await;
    server.stop().await;
    idle.expect_closed().await;
}

// ---------------------------------------------------------------------------
// The mariadb command-line client, when installed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_cli() {
    if std::process::Command::new("mariadb")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: the mariadb client is not installed (apt-get install mariadb-client)");
        return;
    }
    let server = TestServer::default().await;
    let port = server.addr.port().to_string();
    let run = move |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("mariadb")
                .args(args)
                .output()
                .unwrap()
        })
    };
    let base = |user: &str| {
        vec![
            "-h127.0.0.1".to_string(),
            format!("-P{port}"),
            format!("-u{user}"),
            "--batch".into(),
        ]
    };

    let mut args = base("root");
    args.extend(["-e".into(), "select 1; types".into()]);
    let out = run(args).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("1\n1\n"), "{stdout}");
    assert!(
        stdout.contains("-9223372036854775808\t18446744073709551615\t1.5\t0.1\t"),
        "{stdout}"
    );

    let mut args = base("alice");
    args.extend([
        "-psecret".into(),
        "-Dtest".into(),
        "-e".into(),
        "select database()".into(),
    ]);
    let out = run(args).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "database()\ntest\n");

    let mut args = base("alice");
    args.extend(["-pwrong".into(), "-e".into(), "select 1".into()]);
    let out = run(args).await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1045"));
    server.stop().await;
}
