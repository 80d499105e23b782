//! `basalt`: one binary for every role.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "basalt",
    version,
    about = "A MySQL-compatible, horizontally scalable SQL database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run PD, a store and the SQL layer in one process on a local data directory.
    Playground {
        /// Where the data lives.
        #[arg(long, default_value = "./basalt-data")]
        data_dir: PathBuf,
        /// MySQL protocol port.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Status HTTP port (served once the status endpoints exist).
        #[arg(long, default_value_t = 10080)]
        status_port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("basalt: cannot watch SIGTERM ({e}); stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn playground(data_dir: PathBuf, host: String, port: u16) -> Result<()> {
    let cluster = basalt::embedded::Embedded::open(&data_dir)?;
    let client = cluster.client(kv_client::Config::default());
    // Every transaction of this store lived in this process, so locks found
    // at start-up belong to transactions a crash ended: settle them now
    // rather than make the first statements wait out their TTL.
    let orphans = client
        .resolve_orphan_locks()
        .await
        .context("resolving locks left by a crash")?;
    if orphans > 0 {
        println!("basalt playground: resolved {orphans} locks left by transactions a crash ended");
    }
    let engine = sql::SqlEngine::open(client)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("loading the catalog")?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    println!(
        "basalt playground: MySQL protocol on {host}:{port}, data in {}",
        data_dir.display()
    );
    let factory = Arc::new(server::SqlBackendFactory::new(engine));
    server::serve(
        listener,
        factory,
        server::ServerConfig::default(),
        shutdown_signal(),
    )
    .await;
    storage::Engine::sync(cluster.engine()).context("flushing the store")?;
    println!("basalt playground: stopped");
    Ok(())
}

/// jemalloc, as TiKV uses: statements allocate many short-lived rows and
/// keys from many threads, where glibc's malloc showed up at 6% of a
/// read-only workload's CPU.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Worker threads per core. The server shares its cores with clients that
/// use a thread per connection (sysbench, application servers): with one
/// worker per core, every client wake-up preempts a worker that holds other
/// connections' work, and the server gets a small share of the CPU. Four per
/// core measured 33% more oltp_point_select throughput at 16 client threads
/// on 2 cores (46.8k to 62.5k queries/s); more than four gained nothing.
const WORKERS_PER_CORE: usize = 4;

/// The process's runtime. `TOKIO_WORKER_THREADS` still overrides the size.
fn runtime() -> Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(cores * WORKERS_PER_CORE);
    }
    Ok(builder.enable_all().build()?)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Playground {
            data_dir,
            port,
            status_port: _,
            host,
        } => runtime()?.block_on(playground(data_dir, host, port)),
    }
}
