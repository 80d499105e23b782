//! Every column type through the binary protocol both ways, with a real
//! driver (mysql_async) against the real SQL engine and server: values go in
//! as prepared-statement parameters, are stored, and come back from a
//! prepared SELECT exactly.

mod common;

use common::{connect, serve_sql};
use mysql_async::Value;
use mysql_async::prelude::Queryable;

/// `(column type, values that must round-trip)`.
fn cases() -> Vec<(&'static str, Vec<Value>)> {
    use Value::*;
    vec![
        ("TINYINT", vec![Int(-128), Int(127), Int(0)]),
        ("TINYINT UNSIGNED", vec![UInt(0), UInt(255)]),
        ("SMALLINT", vec![Int(-32768), Int(32767)]),
        ("SMALLINT UNSIGNED", vec![UInt(65535)]),
        ("MEDIUMINT", vec![Int(-8388608), Int(8388607)]),
        ("INT", vec![Int(i32::MIN as i64), Int(i32::MAX as i64)]),
        ("INT UNSIGNED", vec![UInt(u32::MAX as u64)]),
        ("BIGINT", vec![Int(i64::MIN), Int(i64::MAX)]),
        ("BIGINT UNSIGNED", vec![UInt(u64::MAX), UInt(0)]),
        (
            "DOUBLE",
            vec![
                Double(1.5),
                Double(-2.5e-300),
                Double(1.7976931348623157e308),
            ],
        ),
        ("FLOAT", vec![Float(3.25), Float(-1.0e-20)]),
        (
            "DECIMAL(65,30)",
            vec![
                Bytes(
                    b"-12345678901234567890123456789012345.123456789012345678901234567890".to_vec(),
                ),
                Bytes(b"0.000000000000000000000000000001".to_vec()),
            ],
        ),
        (
            "VARCHAR(50)",
            vec![
                Bytes("héllo wörld 😀 'q' \\ \"".as_bytes().to_vec()),
                Bytes(Vec::new()),
            ],
        ),
        (
            "BLOB",
            vec![Bytes(vec![0, 255, 0, 1, 2, 0]), Bytes(vec![7; 60_000])],
        ),
        (
            "DATE",
            vec![Date(2024, 2, 29, 0, 0, 0, 0), Date(1000, 1, 1, 0, 0, 0, 0)],
        ),
        (
            "DATETIME(6)",
            vec![
                Date(2024, 2, 29, 23, 59, 58, 123456),
                Date(9999, 12, 31, 0, 0, 0, 1),
            ],
        ),
        (
            "TIME(6)",
            vec![
                Time(true, 0, 1, 2, 3, 4),
                Time(false, 34, 22, 59, 59, 0),
                Time(false, 0, 0, 0, 0, 999999),
            ],
        ),
        ("YEAR", vec![Int(2024), Int(1901)]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_type_round_trips_through_prepared_statements() {
    let dir = tempfile::tempdir().unwrap();
    let (port, _cluster) = serve_sql(dir.path()).await;
    let mut conn = connect(port).await;
    for (i, (ty, values)) in cases().into_iter().enumerate() {
        let table = format!("types_{i}");
        conn.query_drop(format!(
            "CREATE TABLE {table} (id INT PRIMARY KEY, v {ty} NULL)"
        ))
        .await
        .unwrap();
        let insert = conn
            .prep(format!("INSERT INTO {table} (id, v) VALUES (?, ?)"))
            .await
            .unwrap();
        for (n, v) in values.iter().chain([&Value::NULL]).enumerate() {
            conn.exec_drop(&insert, (n as i64, v.clone()))
                .await
                .unwrap_or_else(|e| panic!("{ty} {v:?}: {e}"));
        }
        let select = conn
            .prep(format!("SELECT v FROM {table} WHERE id = ?"))
            .await
            .unwrap();
        for (n, v) in values.iter().chain([&Value::NULL]).enumerate() {
            let got: Option<Value> = conn.exec_first(&select, (n as i64,)).await.unwrap();
            let got = got.unwrap_or_else(|| panic!("{ty}: row {n} missing"));
            assert_eq!(normalize(got), normalize(v.clone()), "{ty}: sent {v:?}");
        }
    }
}

/// Drivers carry a TIME as days + hours (0..24); the same duration may also
/// arrive as hours past 23. mysql_async reads unsigned columns that fit in an
/// i64 as `Int`. Compare in one form.
fn normalize(v: Value) -> Value {
    match v {
        Value::UInt(u) if i64::try_from(u).is_ok() => Value::Int(u as i64),
        Value::Time(neg, d, h, m, s, us) => {
            let hours = d * 24 + u32::from(h);
            Value::Time(neg, hours / 24, (hours % 24) as u8, m, s, us)
        }
        v => v,
    }
}
