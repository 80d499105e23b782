//! DDL against a real store (the embedded cluster): what ALTER TABLE,
//! TRUNCATE and DROP leave in the key space, which SQL alone cannot see.

use basalt::embedded::Embedded;
use codec::Datum;
use sql::result::Output;
use sql::session::Session;
use storage::{Cf, Engine, KeyRange, Snapshot};

struct Db {
    _dir: tempfile::TempDir,
    cluster: Embedded,
    session: Session,
}

impl Db {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = Embedded::open(dir.path()).expect("open cluster");
        let engine = sql::SqlEngine::open(cluster.client(kv_client::Config::default()))
            .await
            .expect("open SQL engine");
        let mut session = engine.session(1, "root", "localhost");
        session.use_database("test").await.expect("use test");
        Db {
            _dir: dir,
            cluster,
            session,
        }
    }

    async fn exec(&mut self, sql: &str) -> Output {
        let mut results = self.session.query(sql, false, None).await;
        match results.pop() {
            Some(Ok(output)) => output,
            Some(Err(e)) => panic!("{sql}: {} {}", e.code, e.message),
            None => panic!("{sql}: no result"),
        }
    }

    async fn error(&mut self, sql: &str) -> u16 {
        match self.session.query(sql, false, None).await.pop() {
            Some(Err(e)) => e.code,
            _ => panic!("{sql}: expected an error"),
        }
    }

    /// The rows of a query, each as text.
    async fn rows(&mut self, sql: &str) -> Vec<Vec<String>> {
        match self.exec(sql).await {
            Output::Rows { rows, .. } => rows
                .iter()
                .map(|r| r.iter().map(sql::expr::cast::to_text).collect())
                .collect(),
            _ => panic!("{sql}: no rows"),
        }
    }

    /// How many keys (every version, lock and value) the store holds for
    /// table data (`t...`), by scanning its engine directly, once the
    /// secondary keys of earlier commits are committed too (they commit in
    /// the background, and a commit adds more keys than the lock it removes).
    fn table_keys(&self) -> usize {
        let range = KeyRange::new(
            codec::mvcc::encode_key(b"t"),
            Some(codec::mvcc::encode_key(b"u")),
        );
        for _ in 0..500 {
            let snapshot = self.cluster.engine().snapshot();
            if snapshot.scan(Cf::Lock, &range, false).next().is_none() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let snapshot = self.cluster.engine().snapshot();
        Cf::DATA
            .iter()
            .map(|&cf| snapshot.scan(cf, &range, false).count())
            .sum()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn added_column_reads_its_origin_default_without_rewriting_rows() {
    runtime().block_on(async {
        let mut db = Db::new().await;
        db.exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))")
            .await;
        db.exec("INSERT INTO t VALUES (1, 'x'), (2, NULL)").await;
        let before = db.table_keys();
        db.exec("ALTER TABLE t ADD COLUMN n INT NOT NULL DEFAULT 7, ADD COLUMN m DATE")
            .await;
        assert_eq!(db.table_keys(), before, "ADD COLUMN rewrote rows");
        // A new default applies to new rows only: old rows keep the value
        // they had when the column appeared.
        db.exec("ALTER TABLE t ALTER COLUMN n SET DEFAULT 9").await;
        db.exec("INSERT INTO t (id, a) VALUES (3, 'z')").await;
        assert_eq!(
            db.rows("SELECT id, n, m FROM t ORDER BY id").await,
            [["1", "7", "NULL"], ["2", "7", "NULL"], ["3", "9", "NULL"]]
        );
        // A dropped column's values stay in old rows, unseen; a column added
        // later under the same name is a new column.
        db.exec("ALTER TABLE t DROP COLUMN a").await;
        db.exec("ALTER TABLE t ADD COLUMN a VARCHAR(10) DEFAULT 'new'")
            .await;
        assert_eq!(
            db.rows("SELECT id, a FROM t ORDER BY id").await,
            [["1", "new"], ["2", "new"], ["3", "new"]]
        );
    });
}

#[test]
fn type_change_converts_rows_and_rebuilds_their_indexes() {
    runtime().block_on(async {
        let mut db = Db::new().await;
        db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), KEY kv (v))")
            .await;
        db.exec("INSERT INTO t VALUES (1, '10'), (2, '9'), (3, '300')")
            .await;
        db.exec("ALTER TABLE t MODIFY v INT").await;
        // Read through the rebuilt index: numeric order now.
        assert_eq!(
            db.rows("SELECT id FROM t WHERE v > 9 ORDER BY v").await,
            [["1"], ["3"]]
        );
        assert_eq!(db.error("ALTER TABLE t MODIFY v TINYINT").await, 1264);
        assert_eq!(
            db.error("ALTER TABLE t ADD UNIQUE (id, v), ADD UNIQUE (v), MODIFY v TINYINT")
                .await,
            1264
        );
        db.exec("INSERT INTO t VALUES (4, 9)").await;
        assert_eq!(db.error("ALTER TABLE t ADD UNIQUE uv (v)").await, 1062);
        // The failed ALTERs changed nothing.
        assert_eq!(
            db.rows("SELECT COUNT(*) FROM information_schema.statistics WHERE table_name = 't'")
                .await,
            [["2"]]
        );
    });
}

#[test]
fn truncate_and_drop_leave_no_keys_behind() {
    runtime().block_on(async {
        let mut db = Db::new().await;
        db.exec("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10), KEY kv (v))")
            .await;
        for _ in 0..3 {
            db.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
                .await;
        }
        db.exec("CREATE INDEX k2 ON t (v, id)").await;
        assert!(db.table_keys() > 0);
        db.exec("DROP INDEX kv ON t").await;
        db.exec("TRUNCATE TABLE t").await;
        assert_eq!(db.table_keys(), 0, "TRUNCATE left keys");
        db.exec("INSERT INTO t (v) VALUES ('d')").await;
        assert_eq!(db.rows("SELECT id, v FROM t").await, [["1", "d"]]);
        db.exec("DROP TABLE t").await;
        assert_eq!(db.table_keys(), 0, "DROP TABLE left keys");

        db.exec("CREATE DATABASE other").await;
        db.exec("CREATE TABLE other.u (a INT, KEY (a))").await;
        db.exec("INSERT INTO other.u VALUES (1), (2)").await;
        db.exec("RENAME TABLE other.u TO test.u").await;
        assert_eq!(db.rows("SELECT a FROM u ORDER BY a").await, [["1"], ["2"]]);
        db.exec("RENAME TABLE test.u TO other.u").await;
        db.exec("DROP DATABASE other").await;
        assert_eq!(db.table_keys(), 0, "DROP DATABASE left keys");
    });
}

#[test]
fn bad_alterations_get_mysql_errors() {
    runtime().block_on(async {
        let mut db = Db::new().await;
        db.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT)")
            .await;
        for (sql, code) in [
            ("ALTER TABLE t ADD COLUMN a INT", 1060),
            ("ALTER TABLE t CHANGE a id INT", 1060),
            ("ALTER TABLE t ADD INDEX i (a), ADD INDEX i (id)", 1061),
            ("ALTER TABLE t ADD PRIMARY KEY (a)", 1068),
            ("ALTER TABLE t DROP COLUMN nosuch", 1091),
            ("ALTER TABLE t DROP INDEX nosuch", 1091),
            ("ALTER TABLE t MODIFY nosuch INT", 1054),
            ("ALTER TABLE t RENAME COLUMN nosuch TO x", 1054),
            ("ALTER TABLE nosuch ADD COLUMN x INT", 1146),
            ("ALTER TABLE t ADD INDEX (b)", 1170),
            ("ALTER TABLE t ADD INDEX (a(3))", 1089),
            ("ALTER TABLE t ADD COLUMN c INT AUTO_INCREMENT", 1075),
            ("ALTER TABLE t ADD COLUMN c INT DEFAULT 'x'", 1067),
            ("ALTER TABLE t ADD INDEX (nosuch)", 1072),
            ("TRUNCATE TABLE nosuch", 1146),
            ("RENAME TABLE t TO t", 1050),
        ] {
            assert_eq!(db.error(sql).await, code, "{sql}");
        }
        let Output::Rows { rows, .. } = db.exec("SHOW CREATE TABLE t").await else {
            panic!("no rows")
        };
        assert_eq!(
            rows[0][1],
            Datum::Bytes(
                "CREATE TABLE `t` (\n  `id` int NOT NULL,\n  `a` int DEFAULT NULL,\n  `b` text,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"
                    .into()
            )
        );
    });
}
