//! Every statement of `src/refused.sql` fails with its error code and
//! changes nothing: what Basalt cannot run as MySQL 8.0 does, it refuses
//! rather than run with another meaning.

use basalt::embedded::Embedded;
use sql::result::Output;

const REFUSED: &str = include_str!("../src/refused.sql");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_statements_fail_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = Embedded::open(dir.path()).expect("open cluster");
    let engine = sql::SqlEngine::open(cluster.client(kv_client::Config::default()))
        .await
        .expect("open SQL engine");
    let setup = [
        "CREATE DATABASE refused",
        "USE refused",
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(20))",
        "CREATE TABLE u (id INT PRIMARY KEY)",
        "INSERT INTO t VALUES (1, 1, 'x'), (2, 2, 'y'), (3, NULL, 'Y')",
        "INSERT INTO u VALUES (1)",
    ];
    let mut session = engine.session(1, "root", "localhost");
    for sql in setup {
        if let Some(Err(e)) = session.query(sql, false, None).await.pop() {
            panic!("{sql}: {} {}", e.code, e.message);
        }
    }
    let state = async |session: &mut sql::session::Session| {
        let mut seen = Vec::new();
        for sql in [
            "SELECT id, a, b FROM t ORDER BY id",
            "SHOW TABLES",
            "SHOW DATABASES",
            "SELECT @@sql_mode, @@time_zone, @@autocommit, @@transaction_isolation",
        ] {
            match session.query(sql, false, None).await.pop() {
                Some(Ok(Output::Rows { rows, .. })) => seen.push(format!("{rows:?}")),
                other => panic!("{sql}: {other:?}"),
            }
        }
        seen
    };
    let mut before = state(&mut session).await;
    let mut wrong = Vec::new();
    let mut count = 0;
    for line in REFUSED.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("--") {
            continue;
        }
        let (code, sql) = line.split_once(' ').expect("CODE statement");
        let code: u16 = code.parse().expect("an error code");
        count += 1;
        match session.query(sql, false, None).await.pop() {
            Some(Err(e)) if e.code == code => {}
            Some(Err(e)) => wrong.push(format!(
                "{sql}: error {} ({}), not {code}",
                e.code, e.message
            )),
            _ => wrong.push(format!("{sql}: succeeded, not error {code}")),
        }
        let after = state(&mut session).await;
        if after != before {
            wrong.push(format!("{sql}: changed the database or the session"));
            before = after;
        }
    }
    assert!(count > 50, "the list is read: {count} statements");
    assert!(
        wrong.is_empty(),
        "{} of {count}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
