//! Crash safety: a child process commits transactions and is killed with
//! SIGKILL at a random moment, twenty times over the same data directory.
//! After each kill the parent reopens the directory and checks that every
//! transaction the child reported committed is there, whole; that no
//! half-written transaction is visible once locks are resolved; and that new
//! timestamps are above every timestamp the child saw.
//!
//! The child is this same test binary, started with an environment variable
//! that makes `child_workload` run instead of returning at once.

mod common;

use basalt::embedded::Embedded;
use rand::Rng;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_DIR: &str = "BASALT_CRASH_CHILD_DIR";
const ROUNDS: usize = 20;

/// Each transaction writes three keys: `a/N` (the primary), `b/N`, and a big
/// value `c/N` stored out of line. All three exist or none does.
fn keys(n: u64) -> [Vec<u8>; 3] {
    ["a", "b", "c"].map(|p| format!("{p}/{n:08}").into_bytes())
}

fn big_value(n: u64) -> Vec<u8> {
    n.to_be_bytes().repeat(128)
}

#[test]
fn child_workload() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let start: u64 = std::env::var("BASALT_CRASH_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cluster = Embedded::open(std::path::Path::new(&dir)).unwrap();
        let client = cluster.client(common::fast_config());
        let mut tasks = tokio::task::JoinSet::new();
        // Four writers, so the kill lands between prewrite and commit, and
        // between the primary's and the secondaries' commits, now and then.
        for w in 0..4u64 {
            let client = client.clone();
            tasks.spawn(async move {
                for i in 0.. {
                    let n = start + i * 4 + w;
                    let mut txn = client.begin().await.unwrap();
                    let [a, b, c] = keys(n);
                    txn.put(a, n.to_be_bytes().to_vec());
                    txn.put(b, n.to_be_bytes().to_vec());
                    txn.put(c, big_value(n));
                    let commit_ts = txn.commit().await.unwrap();
                    println!("committed {n} {commit_ts}");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
}

#[test]
fn killed_writer_loses_nothing_it_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut committed: Vec<u64> = Vec::new();
    let mut max_commit_ts = 0u64;
    let mut next_n = 0u64;
    let mut rng = rand::rng();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_workload",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env("BASALT_CRASH_FIRST", next_n.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // Let it commit for a random while, then kill it mid-flight.
        let run_for = Duration::from_millis(rng.random_range(200..800));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(run_for);
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap()
        });
        let mut this_round = 0;
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            let mut parts = line
                .strip_prefix("committed ")
                .into_iter()
                .flat_map(|r| r.split(' '));
            if let (Some(n), Some(ts)) = (parts.next(), parts.next()) {
                committed.push(n.parse().unwrap());
                max_commit_ts = max_commit_ts.max(ts.parse().unwrap());
                this_round += 1;
            }
        }
        let status = killer.join().unwrap();
        assert!(!status.success(), "the child must have been killed");
        next_n = committed.iter().max().map_or(0, |m| m + 64);

        runtime.block_on(async {
            let cluster = Embedded::open(dir.path()).unwrap();
            let client = cluster.client(common::fast_config());
            let now = client.current_ts().await.unwrap();
            assert!(
                now > max_commit_ts,
                "timestamps went backwards after restart: {now} <= {max_commit_ts}"
            );
            let snap = client.snapshot(now);
            let a = snap
                .scan(b"a/", Some(b"a0"), usize::MAX, false)
                .await
                .unwrap();
            let b = snap
                .scan(b"b/", Some(b"b0"), usize::MAX, false)
                .await
                .unwrap();
            let c = snap
                .scan(b"c/", Some(b"c0"), usize::MAX, false)
                .await
                .unwrap();
            let present: Vec<u64> = a
                .iter()
                .map(|(_, v)| u64::from_be_bytes(v.as_slice().try_into().unwrap()))
                .collect();
            for (i, n) in present.iter().enumerate() {
                assert_eq!(b[i].1, n.to_be_bytes(), "transaction {n} is torn");
                assert_eq!(c[i].1, big_value(*n), "transaction {n} lost its big value");
            }
            assert_eq!(
                (a.len(), b.len()),
                (c.len(), c.len()),
                "a transaction is half visible"
            );
            for n in &committed {
                assert!(
                    present.binary_search(n).is_ok(),
                    "round {round}: reported commit {n} is missing"
                );
            }
            // Everything the kill left locked is resolved by GC's lock pass.
            client.gc(now).await.unwrap();
            let resp = cluster
                .kv()
                .kv_scan_lock(proto::kvrpc::ScanLockRequest {
                    context: Some(cluster.context()),
                    max_version: u64::MAX,
                    limit: 0,
                })
                .await
                .unwrap();
            assert!(
                resp.locks.is_empty(),
                "locks survived resolution: {:?}",
                resp.locks
            );
            eprintln!(
                "round {round}: {this_round} reported this round, {} total, {} present",
                committed.len(),
                present.len()
            );
        });
    }
    assert!(
        committed.len() > ROUNDS,
        "the child should commit in most rounds"
    );
}
