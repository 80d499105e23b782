//! `basalt`: one binary for every role.

use anyhow::{Context, Result};
use basalt::{playground, roles};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "basalt",
    version,
    about = "A MySQL-compatible, horizontally scalable SQL database",
    args_override_self = true
)]
struct Cli {
    /// Worker threads of the async runtime [default: 4 per core for the
    /// roles that serve MySQL clients, 1 per core for the others].
    #[arg(long, global = true)]
    workers: Option<usize>,
    /// Measure nothing: no statement or request metrics, statement summary,
    /// slow log or heap sampling. Only for measuring what the
    /// instrumentation costs (`bench/instrumentation-overhead.sh`); not
    /// passed on to the processes of `playground --kv`.
    #[arg(long, global = true)]
    no_instrumentation: bool,
    #[command(subcommand)]
    command: Command,
}

/// Split thresholds and intervals of a storage node.
#[derive(clap::Args, Clone, Serialize)]
struct StoreTuning {
    /// Split a region past this size (bytes; KiB, MiB, GiB suffixes).
    #[arg(long, default_value = "96MiB", value_parser = parse_size)]
    region_split_size: u64,
    /// Split a region past this many keys.
    #[arg(long, default_value_t = 960_000)]
    region_split_keys: u64,
    /// How often led regions are measured for splitting (ms, s, m suffixes).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    #[serde(serialize_with = "duration_text")]
    split_check_interval: Duration,
    /// How often the store reports to PD.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    #[serde(serialize_with = "duration_text")]
    heartbeat_interval: Duration,
}

impl StoreTuning {
    /// The same settings as flags, for a child process.
    fn flags(&self) -> Vec<String> {
        vec![
            "--region-split-size".into(),
            self.region_split_size.to_string(),
            "--region-split-keys".into(),
            self.region_split_keys.to_string(),
            "--split-check-interval".into(),
            format!("{}ms", self.split_check_interval.as_millis()),
            "--heartbeat-interval".into(),
            format!("{}ms", self.heartbeat_interval.as_millis()),
        ]
    }
}

/// Each role's settings; `/config` shows the one running.
#[derive(Subcommand, Serialize)]
#[serde(rename_all = "lowercase")]
enum Command {
    /// Run a local cluster: by default PD, a store and the SQL layer in one
    /// process; with `--kv N`, one PD, N stores and a SQL node as separate
    /// processes.
    Playground {
        /// Where the data lives.
        #[arg(long, default_value = "./basalt-data")]
        data_dir: PathBuf,
        /// MySQL protocol port.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Status HTTP port (`/status`, `/metrics`, `/debug/pprof/...`) of
        /// the playground, or of its SQL node with `--kv`; 0 picks a free one.
        #[arg(long, default_value_t = 10080)]
        status_port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Run this many stores as separate processes (0: one process).
        #[arg(long, default_value_t = 0)]
        kv: usize,
        /// How long a store may be silent before PD replaces its replicas.
        #[arg(long, default_value = "30m", value_parser = parse_duration)]
        #[serde(serialize_with = "duration_text")]
        max_store_down_time: Duration,
        #[command(flatten)]
        tuning: StoreTuning,
        /// A TOML file of these flags (`key = value`, flag names without `--`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run PD: timestamps, ids, the cluster map and the schedulers.
    Pd {
        /// Where PD keeps its state.
        #[arg(long, default_value = "./basalt-data/pd")]
        data_dir: PathBuf,
        /// gRPC address.
        #[arg(long, default_value = "127.0.0.1:2379")]
        addr: String,
        /// Status HTTP address (`/status`, `/metrics`, `/debug/pprof/...`).
        #[arg(long, default_value = "127.0.0.1:2381")]
        status_addr: String,
        /// Replicas per region.
        #[arg(long, default_value_t = 3)]
        max_replicas: usize,
        /// How long a store may be silent before its replicas are replaced.
        #[arg(long, default_value = "30m", value_parser = parse_duration)]
        #[serde(serialize_with = "duration_text")]
        max_store_down_time: Duration,
        /// A TOML file of these flags.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a storage node.
    Kv {
        /// Where the store keeps its data.
        #[arg(long, default_value = "./basalt-data/kv")]
        data_dir: PathBuf,
        /// gRPC address (the KV service and the Raft transport).
        #[arg(long, default_value = "127.0.0.1:20160")]
        addr: String,
        /// The address others reach this store at (default: --addr).
        #[arg(long)]
        advertise_addr: Option<String>,
        /// Status HTTP address (`/status`, `/metrics`, `/debug/pprof/...`).
        #[arg(long, default_value = "127.0.0.1:20180")]
        status_addr: String,
        /// PD's address.
        #[arg(long, default_value = "127.0.0.1:2379")]
        pd: String,
        #[command(flatten)]
        tuning: StoreTuning,
        /// A TOML file of these flags.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Look at and steer a cluster through PD.
    Ctl {
        /// PD's address.
        #[arg(long, default_value = "127.0.0.1:2379")]
        pd: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        #[serde(skip)]
        cmd: basalt::ctl::Ctl,
    },
    /// Run a SQL node.
    Sql {
        /// PD's address.
        #[arg(long, default_value = "127.0.0.1:2379")]
        pd: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// MySQL protocol port.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Status HTTP port on --host (`/status`, `/metrics`, `/debug/pprof/...`).
        #[arg(long, default_value_t = 10080)]
        status_port: u16,
        /// The slow query log (statements over `tidb_slow_log_threshold` ms).
        #[arg(long, default_value = "basalt-slow.log")]
        slow_log: PathBuf,
        /// A TOML file of these flags.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// A duration as the flags take it (`1500ms`), for `/config`.
fn duration_text<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{}ms", d.as_millis()))
}

/// `96MiB`, `4KiB`, `1GiB` or plain bytes.
fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("not a size: {s}"))?;
    let scale = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "KB" | "K" => 1 << 10,
        "MiB" | "MB" | "M" => 1 << 20,
        "GiB" | "GB" | "G" => 1 << 30,
        other => return Err(format!("unknown size unit {other}")),
    };
    Ok(n * scale)
}

/// `500ms`, `10s`, `30m`, `1h`.
fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits.parse().map_err(|_| format!("not a duration: {s}"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => return Err(format!("unknown duration unit {other}")),
    })
}

/// The command line with `--config FILE` replaced by the file's settings,
/// placed before the flags given: a config file is flags written down, and
/// a flag on the command line wins over the file.
fn expand_config(args: Vec<String>) -> Result<Vec<String>> {
    let Some(at) = args
        .iter()
        .position(|a| a == "--config" || a.starts_with("--config="))
    else {
        return Ok(args);
    };
    let path = match args[at].strip_prefix("--config=") {
        Some(p) => p.to_string(),
        None => args.get(at + 1).cloned().context("--config needs a file")?,
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let table: toml::Table = text.parse().with_context(|| format!("parsing {path}"))?;
    let mut from_file = Vec::new();
    for (key, value) in table {
        let value = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                anyhow::bail!("{path}: {key} must be a string, number or boolean, not {other}")
            }
        };
        from_file.push(format!("--{key}"));
        from_file.push(value);
    }
    let mut out: Vec<String> = args[..2.min(args.len())].to_vec();
    out.extend(from_file);
    let skip = if args[at].starts_with("--config=") {
        1
    } else {
        2
    };
    out.extend(args[2.min(args.len())..at].iter().cloned());
    out.extend(args[at + skip..].iter().cloned());
    Ok(out)
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

async fn embedded_playground(
    data_dir: PathBuf,
    host: String,
    port: u16,
    status_port: u16,
    config: serde_json::Value,
) -> Result<()> {
    let cluster = basalt::embedded::Embedded::open(&data_dir)?;
    cluster
        .engine()
        .register_metrics()
        .context("registering the engine's metrics")?;
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
    engine.watch_memory(roles::allocated, roles::release_free_pages);
    engine.tmp_storage().set_dir(data_dir.join("tmp-storage"));
    let slow_log = data_dir.join("slow.log");
    engine
        .slow_log()
        .open(&slow_log)
        .with_context(|| format!("opening {}", slow_log.display()))?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .with_context(|| format!("listening on {host}:{port}"))?;
    let routes = basalt::sql_routes::routes(Arc::new(engine.clone().into()));
    let status = roles::serve_status(
        &format!("{host}:{status_port}"),
        "playground",
        config,
        routes,
    )
    .await?;
    println!(
        "basalt playground: MySQL protocol on {host}:{port}, status on {status}, data in {}",
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

/// jemalloc's settings, read when it starts: heap profiling always on, so
/// that `/debug/pprof/heap` can answer at any time, sampling one allocation
/// per 2 MiB allocated on average. Each sample walks the allocating stack;
/// at TiKV's 512 KiB that cost 0.8% of a point select's CPU here, at 2 MiB
/// a quarter of it (DESIGN §7 rule 7), and the heap's large holders still
/// show. `_RJEM_MALLOC_CONF` in the environment overrides it.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &u8 = &b"prof:true,prof_active:true,lg_prof_sample:21\0"[0];

/// Worker threads per core of a process that serves MySQL clients. It
/// shares its cores with clients that use a thread per connection
/// (sysbench, application servers): with one worker per core, every client
/// wake-up preempts a worker that holds other connections' work, and the
/// server gets a small share of the CPU. Four per core measured 33% more
/// oltp_point_select throughput at 16 client threads on 2 cores (46.8k to
/// 62.5k queries/s); more than four gained nothing.
const SQL_WORKERS_PER_CORE: usize = 4;

/// Worker threads per core of the other roles (PD, stores, tools), whose
/// clients are our own processes talking over multiplexed streams.
const WORKERS_PER_CORE: usize = 1;

/// A runtime with `workers` threads, by default `per_core` per core. Its
/// threads carry the role's name, so `top -H` and profiles of a playground
/// (five processes of one binary) tell the roles apart.
fn runtime(role: &str, workers: Option<usize>, per_core: usize) -> Result<tokio::runtime::Runtime> {
    let workers = workers.unwrap_or_else(|| playground::cores() * per_core);
    Ok(tokio::runtime::Builder::new_multi_thread()
        .thread_name(format!("{role}-worker"))
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?)
}

fn pd_config(max_replicas: usize, max_store_down_time: Duration) -> pd::PdConfig {
    pd::PdConfig {
        max_store_down_time,
        schedule: pd::ScheduleConfig {
            max_replicas,
            ..Default::default()
        },
    }
}

fn main() -> Result<()> {
    // Logs go to stderr, filtered by RUST_LOG (default: warnings).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse_from(expand_config(std::env::args().collect())?);
    if cli.no_instrumentation {
        proto::metrics::disable();
        status::profile::stop_heap_sampling();
    }
    let config = serde_json::to_value(&cli.command)?;
    match cli.command {
        Command::Playground {
            data_dir,
            port,
            status_port,
            host,
            kv: 0,
            ..
        } => runtime("playground", cli.workers, SQL_WORKERS_PER_CORE)?.block_on(
            embedded_playground(data_dir, host, port, status_port, config),
        ),
        Command::Playground {
            data_dir,
            port,
            status_port,
            host,
            kv,
            max_store_down_time,
            tuning,
            ..
        } => {
            let opts = playground::Options {
                data_dir,
                host,
                port,
                status_port,
                stores: kv,
                kv_flags: tuning.flags(),
                pd_flags: vec![
                    "--max-store-down-time".into(),
                    format!("{}ms", max_store_down_time.as_millis()),
                ],
            };
            runtime("playground", cli.workers, WORKERS_PER_CORE)?
                .block_on(playground::run(opts, shutdown_signal()))
        }
        Command::Pd {
            data_dir,
            addr,
            status_addr,
            max_replicas,
            max_store_down_time,
            ..
        } => runtime("pd", cli.workers, WORKERS_PER_CORE)?.block_on(async {
            let status =
                roles::serve_status(&status_addr, "pd", config, axum::Router::new()).await?;
            println!("basalt pd: status on {status}");
            roles::pd(
                &data_dir,
                &addr,
                pd_config(max_replicas, max_store_down_time),
                shutdown_signal(),
            )
            .await
        }),
        Command::Kv {
            data_dir,
            addr,
            advertise_addr,
            status_addr,
            pd,
            tuning,
            ..
        } => {
            let mut cfg = kv_server::node::NodeConfig::new(advertise_addr.unwrap_or(addr.clone()));
            cfg.region_split_size = tuning.region_split_size;
            cfg.region_split_keys = tuning.region_split_keys;
            cfg.split_check_interval = tuning.split_check_interval;
            cfg.heartbeat_interval = tuning.heartbeat_interval;
            runtime("kv", cli.workers, WORKERS_PER_CORE)?.block_on(async {
                let status =
                    roles::serve_status(&status_addr, "kv", config, axum::Router::new()).await?;
                println!("basalt kv: status on {status}");
                roles::kv(&data_dir, &addr, &pd, cfg, shutdown_signal()).await
            })
        }
        Command::Ctl { pd, json, cmd } => {
            // A command-line tool piped into `head` ends quietly when the
            // pipe closes, as Unix tools do, instead of panicking in println.
            // SAFETY: setting a signal's disposition to its default, before
            // any thread that could be writing exists.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            }
            runtime("ctl", cli.workers, WORKERS_PER_CORE)?
                .block_on(basalt::ctl::run(&pd, cmd, json))
        }
        Command::Sql {
            pd,
            host,
            port,
            status_port,
            slow_log,
            ..
        } => runtime("sql", cli.workers, SQL_WORKERS_PER_CORE)?.block_on(async {
            let engine = basalt::sql_routes::EngineSlot::default();
            let status = roles::serve_status(
                &format!("{host}:{status_port}"),
                "sql",
                config,
                basalt::sql_routes::routes(engine.clone()),
            )
            .await?;
            println!("basalt sql: status on {status}");
            roles::sql(&pd, &host, port, &slow_log, &engine, shutdown_signal()).await
        }),
    }
}
