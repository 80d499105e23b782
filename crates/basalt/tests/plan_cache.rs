//! The prepared-statement plan cache, through a real driver: a cached plan
//! is reused (`@@last_plan_from_cache`, as in TiDB) and still answers for
//! each execution's values, and anything that would make it wrong (other
//! parameter kinds, DDL, values the plan baked in, session variables) makes
//! the server plan again.

mod common;

use common::{connect, serve_sql};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

async fn from_cache(conn: &mut Conn) -> i64 {
    conn.query_first("SELECT @@last_plan_from_cache")
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_plans_follow_values_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _cluster) = serve_sql(dir.path()).await;
    let mut conn = connect(port).await;
    conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY, k INT, c VARCHAR(10))")
        .await
        .unwrap();
    conn.query_drop("INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c'), (4, 30, 'd')")
        .await
        .unwrap();

    // A point get: the second execution reuses the plan and reads another key.
    let point = conn.prep("SELECT c FROM t WHERE id = ?").await.unwrap();
    let mut seen = Vec::new();
    for id in [1i64, 3, 2, 9, 4] {
        let c: Option<String> = conn.exec_first(&point, (id,)).await.unwrap();
        seen.push((c, from_cache(&mut conn).await));
    }
    let expected = [
        (Some("a"), 0),
        (Some("c"), 1),
        (Some("b"), 1),
        (None, 1),
        (Some("d"), 1),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(c, hit)| (c.map(String::from), *hit))
        .collect();
    assert_eq!(seen, expected);

    // Another kind of value plans again, and is then cached in turn.
    let c: Option<String> = conn.exec_first(&point, ("3",)).await.unwrap();
    assert_eq!((c.as_deref(), from_cache(&mut conn).await), (Some("c"), 0));
    let c: Option<String> = conn.exec_first(&point, ("2",)).await.unwrap();
    assert_eq!((c.as_deref(), from_cache(&mut conn).await), (Some("b"), 1));
    let c: Option<Option<String>> = conn.exec_first(&point, (Value::NULL,)).await.unwrap();
    assert_eq!(c, None);

    // Ranges are chosen again for each execution's bounds.
    let range = conn
        .prep("SELECT COUNT(*), SUM(k) FROM t WHERE id BETWEEN ? AND ?")
        .await
        .unwrap();
    for (low, high, count, sum) in [(1i64, 2i64, 2i64, 30i64), (2, 4, 3, 80), (4, 9, 1, 30)] {
        let got: Option<(i64, i64)> = conn.exec_first(&range, (low, high)).await.unwrap();
        assert_eq!(got, Some((count, sum)), "BETWEEN {low} AND {high}");
    }
    assert_eq!(from_cache(&mut conn).await, 1);

    // DDL makes a new schema version: plan again (now with the index), and
    // the answers do not change.
    let by_k = conn
        .prep("SELECT id FROM t WHERE k = ? ORDER BY id")
        .await
        .unwrap();
    let ids: Vec<i64> = conn.exec(&by_k, (30,)).await.unwrap();
    assert_eq!(ids, [3, 4]);
    conn.query_drop("CREATE INDEX k ON t (k)").await.unwrap();
    let ids: Vec<i64> = conn.exec(&by_k, (30,)).await.unwrap();
    assert_eq!((ids, from_cache(&mut conn).await), (vec![3, 4], 0));
    let ids: Vec<i64> = conn.exec(&by_k, (10,)).await.unwrap();
    assert_eq!((ids, from_cache(&mut conn).await), (vec![1], 1));
    conn.query_drop("INSERT INTO t VALUES (5, 10, 'e')")
        .await
        .unwrap();
    let ids: Vec<i64> = conn.exec(&by_k, (10,)).await.unwrap();
    assert_eq!(ids, [1, 5]);

    // LIMIT ? is baked into the plan: never reused.
    let limited = conn
        .prep("SELECT id FROM t ORDER BY id LIMIT ?")
        .await
        .unwrap();
    for n in [1i64, 3, 2] {
        let ids: Vec<i64> = conn.exec(&limited, (n,)).await.unwrap();
        assert_eq!(ids.len() as i64, n);
        assert_eq!(from_cache(&mut conn).await, 0);
    }

    // A session variable read at planning time: never reused.
    let var = conn
        .prep("SELECT @@group_concat_max_len, id FROM t WHERE id = ?")
        .await
        .unwrap();
    conn.query_drop("SET group_concat_max_len = 5000")
        .await
        .unwrap();
    let row: Option<(u64, i64)> = conn.exec_first(&var, (1,)).await.unwrap();
    assert_eq!(row, Some((5000, 1)));
    conn.query_drop("SET group_concat_max_len = 7000")
        .await
        .unwrap();
    let row: Option<(u64, i64)> = conn.exec_first(&var, (2,)).await.unwrap();
    assert_eq!((row, from_cache(&mut conn).await), (Some((7000, 2)), 0));

    // A dropped table is an error, not a stale plan.
    conn.query_drop("DROP TABLE t").await.unwrap();
    let err = conn
        .exec_first::<String, _, _>(&point, (1,))
        .await
        .unwrap_err();
    match err {
        mysql_async::Error::Server(e) => assert_eq!(e.code, 1146),
        other => panic!("expected error 1146, got {other}"),
    }
}
