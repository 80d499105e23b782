//! The roles of a cluster as separate processes: PD, a storage node, a SQL
//! node. Each runs until its shutdown future completes.

use anyhow::{Context, Result};
use kv_server::node::{Node, NodeConfig};
use proto::PdService;
use proto::grpc::{KvServer, PdClient, PdServer};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use storage::{EngineConfig, FjallEngine};

/// How long a role waits for the others to come up before giving up.
const STARTUP_PATIENCE: Duration = Duration::from_secs(60);

/// Retry `attempt` until it succeeds or [`STARTUP_PATIENCE`] runs out: a
/// role started before its peers waits for them.
async fn patiently<T, E: std::fmt::Display, F: Future<Output = std::result::Result<T, E>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> Result<T> {
    let deadline = Instant::now() + STARTUP_PATIENCE;
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => anyhow::bail!("{what}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn listen(addr: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))
}

/// Serve the status routes of role `name` (`sql`, `kv`, `pd` or
/// `playground`), running with `config` and serving its own `routes` too,
/// on `addr` for as long as the process runs. Returns the address bound
/// (port 0 picks a free one).
pub async fn serve_status(
    addr: &str,
    name: &'static str,
    config: serde_json::Value,
    routes: axum::Router,
) -> Result<std::net::SocketAddr> {
    let listener = listen(addr).await?;
    let bound = listener.local_addr()?;
    // Every series the role can report, listed from the start.
    if matches!(name, "sql" | "playground") {
        sql::metrics::init();
        sql::admission::init();
        kv_client::metrics::init();
    }
    if matches!(name, "kv" | "playground") {
        raftstore::metrics::init();
        kv_server::metrics::init();
    }
    let connections: Box<dyn Fn() -> i64 + Send + Sync> = match name {
        "sql" | "playground" => Box::new(|| sql::metrics::CONNECTIONS.get()),
        _ => Box::new(|| proto::metrics::GRPC_STREAMS.get()),
    };
    let role = status::Role {
        name,
        config,
        connections,
        routes,
    };
    tokio::spawn(async move {
        if let Err(e) = status::serve(listener, role, std::future::pending()).await {
            tracing::warn!("the status server stopped: {e}");
        }
    });
    Ok(bound)
}

/// Run PD on `addr` with its state in `data_dir`.
pub async fn pd(
    data_dir: &Path,
    addr: &str,
    config: pd::PdConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let engine = FjallEngine::open(EngineConfig::new(data_dir))
        .with_context(|| format!("opening PD data in {}", data_dir.display()))?;
    let pd = proto::grpc::MeasuredPd::wrap(Arc::new(pd::Pd::open(engine, config)?));
    let listener = listen(addr).await?;
    println!(
        "basalt pd: serving on {addr}, data in {}",
        data_dir.display()
    );
    proto::grpc::serve(listener, None, Some(PdServer::new(pd)), shutdown).await?;
    Ok(())
}

/// Run a storage node on `addr` with its data in `data_dir`, in the
/// cluster of the PD at `pd_addr`.
pub async fn kv(
    data_dir: &Path,
    addr: &str,
    pd_addr: &str,
    config: NodeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let engine = FjallEngine::open(EngineConfig::new(data_dir))
        .with_context(|| format!("opening store data in {}", data_dir.display()))?;
    engine
        .register_metrics()
        .context("registering the engine's metrics")?;
    let listener = listen(addr).await?;
    let pd: Arc<dyn PdService> = Arc::new(PdClient::new(pd_addr)?);
    let node = patiently("joining the cluster", || {
        Node::start(config.clone(), engine.clone(), pd.clone())
    })
    .await?;
    println!(
        "basalt kv: store {} serving on {addr}, data in {}",
        node.store_id(),
        data_dir.display()
    );
    let kv = proto::grpc::MeasuredKv::wrap(node.kv());
    proto::grpc::serve(
        listener,
        Some(KvServer::new(kv, node.raft())),
        None,
        shutdown,
    )
    .await?;
    drop(node);
    storage::Engine::sync(&engine).context("flushing the store")?;
    Ok(())
}

/// Run a SQL node serving MySQL on `host:port` over the cluster of the PD
/// at `pd_addr`, logging slow statements to `slow_log`; its engine goes in
/// `engine_slot` for the status routes once it is open.
pub async fn sql(
    pd_addr: &str,
    host: &str,
    port: u16,
    slow_log: &Path,
    engine_slot: &crate::sql_routes::EngineSlot,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let pd: Arc<dyn PdService> = Arc::new(PdClient::new(pd_addr)?);
    let stores = Arc::new(kv_client::PdStores::new(pd.clone()));
    let client = kv_client::Client::new(pd, stores, kv_client::Config::default());
    let engine = patiently("loading the catalog", || {
        sql::SqlEngine::open(client.clone())
    })
    .await?;
    engine.watch_memory(allocated, release_free_pages);
    engine
        .slow_log()
        .open(slow_log)
        .with_context(|| format!("opening {}", slow_log.display()))?;
    let _ = engine_slot.set(engine.clone());
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    println!("basalt sql: MySQL protocol on {host}:{port}, PD at {pd_addr}");
    let factory = Arc::new(server::SqlBackendFactory::new(engine));
    server::serve(listener, factory, server::ServerConfig::default(), shutdown).await;
    Ok(())
}

/// Bytes jemalloc (the binary's allocator) has handed out and not taken
/// back: what `tidb_server_memory_limit` holds the SQL role to.
pub fn allocated() -> Option<u64> {
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    tikv_jemalloc_ctl::stats::allocated::read()
        .ok()
        .map(|b| b as u64)
}

/// Hand every jemalloc arena's free pages back to the system at once,
/// rather than over its decay time, after a statement stopped for memory.
pub fn release_free_pages() {
    // MALLCTL_ARENAS_ALL (4096): every arena. A command without arguments.
    // SAFETY: the name is a NUL-terminated mallctl name and the command
    // reads and writes nothing, so every pointer is null.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}
