//! The bank test: concurrent transfers between accounts must never create or
//! destroy money. Every snapshot, taken at any moment, sums to the initial
//! total; so does the end state.

mod common;

use common::Cluster;
use rand::Rng;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const ACCOUNTS: u64 = 100;
const INITIAL: i64 = 1_000;
const THREADS: u64 = 16;
const TRANSFERS: u64 = 20_000;

fn account(i: u64) -> Vec<u8> {
    format!("acct/{i:03}").into_bytes()
}

fn balance(v: &[u8]) -> i64 {
    i64::from_be_bytes(v.try_into().expect("8-byte balance"))
}

async fn total(c: &kv_client::Client) -> i64 {
    let ts = c.current_ts().await.unwrap();
    let all = c
        .snapshot(ts)
        .scan(b"acct/", Some(b"acct0"), usize::MAX, false)
        .await
        .unwrap();
    assert_eq!(all.len() as u64, ACCOUNTS);
    all.iter().map(|(_, v)| balance(v)).sum()
}

#[test]
fn transfers_preserve_the_total() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cluster = Arc::new(runtime.block_on(async { Cluster::new() }));
    runtime.block_on(async {
        let mut txn = cluster.client.begin().await.unwrap();
        for i in 0..ACCOUNTS {
            txn.put(account(i), INITIAL.to_be_bytes().to_vec());
        }
        txn.commit().await.unwrap();
    });
    let expected = INITIAL * ACCOUNTS as i64;

    let done = Arc::new(AtomicU64::new(0));
    let conflicts = Arc::new(AtomicU64::new(0));
    let audits = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (cluster, done, conflicts, audits) = (
                cluster.clone(),
                done.clone(),
                conflicts.clone(),
                audits.clone(),
            );
            let handle = runtime.handle().clone();
            std::thread::spawn(move || {
                handle.block_on(async move {
                    let client = &cluster.client;
                    let mut rng = rand::rng();
                    for n in 0..TRANSFERS / THREADS {
                        if n % 50 == 0 && t % 4 == 0 {
                            assert_eq!(
                                total(client).await,
                                expected,
                                "a snapshot saw money appear or vanish"
                            );
                            audits.fetch_add(1, Ordering::Relaxed);
                        }
                        let from = rng.random_range(0..ACCOUNTS);
                        let to = (from + rng.random_range(1..ACCOUNTS)) % ACCOUNTS;
                        let amount = rng.random_range(1..=100);
                        loop {
                            let mut txn = client.begin().await.unwrap();
                            let values =
                                txn.batch_get(&[account(from), account(to)]).await.unwrap();
                            let get = |i: usize| balance(values[i].as_ref().unwrap());
                            let (a, b) = (get(0), get(1));
                            txn.put(account(from), (a - amount).to_be_bytes().to_vec());
                            txn.put(account(to), (b + amount).to_be_bytes().to_vec());
                            match txn.commit().await {
                                Ok(_) => break,
                                Err(e) if e.is_retryable() => {
                                    conflicts.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => panic!("transfer failed: {e}"),
                            }
                        }
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a transfer thread panicked");
    }
    let elapsed = started.elapsed();
    runtime.block_on(async { assert_eq!(total(&cluster.client).await, expected) });
    let done = done.load(Ordering::Relaxed);
    assert_eq!(done, TRANSFERS);
    eprintln!(
        "bank: {done} transfers by {THREADS} threads in {elapsed:.1?} ({:.0}/s), {} conflicts retried, {} audits",
        done as f64 / elapsed.as_secs_f64(),
        conflicts.load(Ordering::Relaxed),
        audits.load(Ordering::Relaxed)
    );
}
