//! The transactional KV core under load, through the same client the SQL
//! layer uses, on an embedded store: point get, batch get of 10, scan of 100,
//! and commits of 1-key and 10-key transactions.
//!
//! `cargo run --release -p basalt-bench --bin kv-bench -- [SECONDS_PER_CASE] [CONCURRENCY]`
//!
//! Each case runs CONCURRENCY tasks for the given time and prints operations
//! per second with latency percentiles. Commits are durable (fsync), shared
//! between concurrent committers by the engine's group commit.

use anyhow::Result;
use basalt::embedded::Embedded;
use kv_client::Client;
use rand::{Rng, SeedableRng};
use std::time::{Duration, Instant};

const KEYS: u64 = 100_000;

fn key(i: u64) -> Vec<u8> {
    format!("bench/{i:08}").into_bytes()
}

#[derive(Clone, Copy)]
enum Case {
    PointGet,
    BatchGet10,
    Scan100,
    Commit1,
    Commit10,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Case::PointGet => "point get",
            Case::BatchGet10 => "batch get 10",
            Case::Scan100 => "scan 100",
            Case::Commit1 => "commit 1 key",
            Case::Commit10 => "commit 10 keys",
        }
    }

    async fn once(self, client: &Client, rng: &mut impl Rng) -> Result<()> {
        let value = || vec![b'v'; 100];
        match self {
            Case::PointGet => {
                let ts = client.current_ts().await?;
                anyhow::ensure!(
                    client
                        .snapshot(ts)
                        .get(&key(rng.random_range(0..KEYS)))
                        .await?
                        .is_some()
                );
            }
            Case::BatchGet10 => {
                let ts = client.current_ts().await?;
                let keys: Vec<_> = (0..10).map(|_| key(rng.random_range(0..KEYS))).collect();
                anyhow::ensure!(!client.snapshot(ts).batch_get(&keys).await?.is_empty());
            }
            Case::Scan100 => {
                let ts = client.current_ts().await?;
                let start = key(rng.random_range(0..KEYS - 100));
                anyhow::ensure!(
                    client
                        .snapshot(ts)
                        .scan(&start, None, 100, false)
                        .await?
                        .len()
                        == 100
                );
            }
            Case::Commit1 | Case::Commit10 => {
                let n = if matches!(self, Case::Commit1) { 1 } else { 10 };
                loop {
                    let mut txn = client.begin().await?;
                    for _ in 0..n {
                        txn.put(key(rng.random_range(0..KEYS)), value());
                    }
                    match txn.commit().await {
                        Err(e) if e.is_retryable() => continue,
                        other => break other.map(drop)?,
                    }
                }
            }
        }
        Ok(())
    }
}

async fn run(client: &Client, case: Case, seconds: f64, concurrency: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        tasks.spawn(async move {
            let mut rng = rand::rngs::StdRng::from_rng(&mut rand::rng());
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let started = Instant::now();
                case.once(&client, &mut rng).await?;
                latencies.push(started.elapsed());
            }
            anyhow::Ok(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "| {:<15} | {:>10.0} | {:>9.1?} | {:>9.1?} | {:>9.1?} |",
        case.name(),
        all.len() as f64 / seconds,
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let concurrency: usize = args.next().map_or(Ok(16), |s| s.parse())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        let cluster = Embedded::open(dir.path())?;
        let client = cluster.client(kv_client::Config::default());
        let loading = Instant::now();
        for chunk in 0..KEYS / 1000 {
            let mut txn = client.begin().await?;
            for i in chunk * 1000..(chunk + 1) * 1000 {
                txn.put(key(i), vec![b'v'; 100]);
            }
            txn.commit().await?;
        }
        println!("loaded {KEYS} keys of 100 bytes in {:.1?}; {concurrency} tasks, {seconds} s per case\n", loading.elapsed());
        println!("| case            |      ops/s |       p50 |       p95 |       p99 |");
        println!("|-----------------|-----------:|----------:|----------:|----------:|");
        for case in [Case::PointGet, Case::BatchGet10, Case::Scan100, Case::Commit1, Case::Commit10] {
            run(&client, case, seconds, concurrency).await?;
        }
        anyhow::Ok(())
    })
}
