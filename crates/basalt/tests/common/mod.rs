//! Shared set-up for the transaction tests: an embedded cluster in a fresh
//! temporary directory and a tokio runtime to drive the async client.

#![allow(dead_code)] // each test binary uses its own subset

use basalt::embedded::Embedded;
use kv_client::{Client, Config};
use std::time::Duration;

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub embedded: Embedded,
    pub client: Client,
}

/// Client settings with a short lock TTL, so tests that abandon locks do not
/// wait long for them to expire.
pub fn fast_config() -> Config {
    Config {
        lock_ttl_ms: 300,
        backoff_budget: Duration::from_secs(20),
    }
}

impl Cluster {
    /// A new cluster; must be called inside a tokio runtime.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let embedded = Embedded::open(dir.path()).expect("open embedded cluster");
        let client = embedded.client(fast_config());
        Self {
            dir,
            embedded,
            client,
        }
    }

    pub async fn put(&self, key: &[u8], value: &[u8]) -> u64 {
        let mut txn = self.client.begin().await.unwrap();
        txn.put(key.to_vec(), value.to_vec());
        txn.commit().await.unwrap()
    }

    pub async fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let ts = self.client.current_ts().await.unwrap();
        self.client.snapshot(ts).get(key).await.unwrap()
    }
}

/// The playground's SQL node in-process, serving on a free loopback port.
pub async fn serve_sql(dir: &std::path::Path) -> (u16, Embedded) {
    let cluster = Embedded::open(dir).unwrap();
    let engine = sql::SqlEngine::open(cluster.client(kv_client::Config::default()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let factory = std::sync::Arc::new(server::SqlBackendFactory::new(engine));
    tokio::spawn(server::serve(
        listener,
        factory,
        server::ServerConfig::default(),
        std::future::pending(),
    ));
    (port, cluster)
}

/// A mysql_async connection to `serve_sql`'s port, in database `test`.
pub async fn connect(port: u16) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("root"))
        .pass(Some(""))
        .prefer_socket(false)
        .db_name(Some("test"));
    mysql_async::Conn::new(opts).await.unwrap()
}
