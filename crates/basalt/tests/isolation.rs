//! Snapshot isolation, seen through the KV client against an embedded store.
//! Where a test needs a transaction stuck half-way (prewritten, or committed
//! on the primary only), it drives the store's protocol step by step.

mod common;

use common::Cluster;
use kv_client::Error;
use proto::kvrpc::{CommitRequest, KeyError, Mutation, Op, PrewriteRequest, key_error::Kind};
use std::time::Duration;

fn put(key: &[u8], value: &[u8]) -> Mutation {
    Mutation {
        op: Op::Put as i32,
        key: key.to_vec(),
        value: value.to_vec(),
    }
}

/// Prewrite `mutations` (the first is the primary) as transaction `start_ts`.
async fn prewrite(c: &Cluster, mutations: Vec<Mutation>, start_ts: u64, ttl: u64) {
    let resp = c
        .embedded
        .kv()
        .kv_prewrite(PrewriteRequest {
            context: Some(c.embedded.context()),
            primary_lock: mutations[0].key.clone(),
            txn_size: mutations.len() as u64,
            mutations,
            start_version: start_ts,
            lock_ttl: ttl,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        resp.region_error.is_none() && resp.error.is_none(),
        "{resp:?}"
    );
}

async fn commit(c: &Cluster, keys: &[&[u8]], start_ts: u64, commit_ts: u64) -> Option<KeyError> {
    let resp = c
        .embedded
        .kv()
        .kv_commit(CommitRequest {
            context: Some(c.embedded.context()),
            start_version: start_ts,
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            commit_version: commit_ts,
        })
        .await
        .unwrap();
    assert!(resp.region_error.is_none());
    resp.error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffered_and_prewritten_writes_are_not_visible() {
    let c = Cluster::new();
    c.put(b"k", b"old").await;

    let mut writer = c.client.begin().await.unwrap();
    writer.put(b"k".to_vec(), b"dirty".to_vec());
    assert_eq!(c.get(b"k").await.as_deref(), Some(&b"old"[..]));
    assert_eq!(
        writer.get(b"k").await.unwrap().as_deref(),
        Some(&b"dirty"[..]),
        "reads its own writes"
    );

    // Prewritten but never committed: a reader waits out the lock, rolls the
    // abandoned transaction back and sees the old value.
    let start_ts = c.client.current_ts().await.unwrap();
    prewrite(&c, vec![put(b"k", b"dirty")], start_ts, 200).await;
    assert_eq!(c.get(b"k").await.as_deref(), Some(&b"old"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_stays_stable_while_others_commit() {
    let c = Cluster::new();
    for i in 0..10u8 {
        c.put(&[b'k', i], b"v0").await;
    }
    let reader = c.client.begin().await.unwrap();
    let before = reader.scan(b"k", Some(b"l"), 100, false).await.unwrap();
    assert_eq!(before.len(), 10);

    let mut writer = c.client.begin().await.unwrap();
    for i in 0..10u8 {
        writer.put(vec![b'k', i], b"v1".to_vec());
    }
    writer.put(b"k\xff".to_vec(), b"new".to_vec());
    writer.delete(vec![b'k', 3]);
    writer.commit().await.unwrap();

    assert_eq!(
        reader.scan(b"k", Some(b"l"), 100, false).await.unwrap(),
        before
    );
    assert_eq!(
        reader.get(&[b'k', 3]).await.unwrap().as_deref(),
        Some(&b"v0"[..])
    );
    let mut reversed = before.clone();
    reversed.reverse();
    assert_eq!(
        reader.scan(b"k", Some(b"l"), 100, true).await.unwrap(),
        reversed
    );

    let now = c.client.begin().await.unwrap();
    let after = now.scan(b"k", Some(b"l"), 100, false).await.unwrap();
    assert_eq!(after.len(), 10, "9 updated + 1 new, 1 deleted");
    assert!(after.iter().all(|(k, v)| v == b"v1" || k == b"k\xff"));
    assert_eq!(
        now.scan(b"k", Some(b"l"), 3, true).await.unwrap()[0].0,
        b"k\xff"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_of_one_key_conflict() {
    let c = Cluster::new();
    c.put(b"k", b"0").await;
    let mut first = c.client.begin().await.unwrap();
    let mut second = c.client.begin().await.unwrap();
    // Both read the key first. (A blind write need not conflict: a one-phase
    // commit only has to land above the reads its store has served, so the
    // first commit may take a timestamp below the second's start, and then
    // the second simply comes after it.)
    assert_eq!(first.get(b"k").await.unwrap().as_deref(), Some(&b"0"[..]));
    assert_eq!(second.get(b"k").await.unwrap().as_deref(), Some(&b"0"[..]));
    first.put(b"k".to_vec(), b"1".to_vec());
    second.put(b"k".to_vec(), b"2".to_vec());
    first.commit().await.unwrap();
    let err = second.commit().await.unwrap_err();
    assert!(matches!(err, Error::WriteConflict { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(c.get(b"k").await.as_deref(), Some(&b"1"[..]));
}

/// Snapshot isolation, not serializability: two transactions that each read
/// both keys and write a different one both commit (write skew).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_skew_is_allowed() {
    let c = Cluster::new();
    c.put(b"x", b"1").await;
    c.put(b"y", b"1").await;
    let mut t1 = c.client.begin().await.unwrap();
    let mut t2 = c.client.begin().await.unwrap();
    for t in [&t1, &t2] {
        assert_eq!(
            t.batch_get(&[b"x".to_vec(), b"y".to_vec()]).await.unwrap(),
            [Some(b"1".to_vec()), Some(b"1".to_vec())]
        );
    }
    t1.put(b"x".to_vec(), b"0".to_vec());
    t2.put(b"y".to_vec(), b"0".to_vec());
    t1.commit().await.unwrap();
    t2.commit().await.unwrap();
    assert_eq!(c.get(b"x").await.as_deref(), Some(&b"0"[..]));
    assert_eq!(c.get(b"y").await.as_deref(), Some(&b"0"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_primary_makes_locked_secondaries_visible() {
    let c = Cluster::new();
    let start_ts = c.client.current_ts().await.unwrap();
    let big = vec![7u8; 4096]; // stored out of line, in the default family
    prewrite(
        &c,
        vec![put(b"p", b"1"), put(b"s1", b"2"), put(b"s2", &big)],
        start_ts,
        60_000,
    )
    .await;
    let commit_ts = c.client.current_ts().await.unwrap();
    assert!(commit(&c, &[b"p"], start_ts, commit_ts).await.is_none());

    // The secondaries are still locked, with a long TTL; readers ask the
    // primary, learn it committed, and roll the locks forward.
    assert_eq!(c.get(b"s1").await.as_deref(), Some(&b"2"[..]));
    let ts = c.client.current_ts().await.unwrap();
    let all = c
        .client
        .snapshot(ts)
        .scan(b"", None, 10, false)
        .await
        .unwrap();
    assert_eq!(
        all,
        vec![
            (b"p".to_vec(), b"1".to_vec()),
            (b"s1".to_vec(), b"2".to_vec()),
            (b"s2".to_vec(), big)
        ]
    );
    // A reader from before the commit still does not see them.
    assert!(
        c.client
            .snapshot(commit_ts - 1)
            .get(b"s1")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_transaction_is_rolled_back_and_cannot_commit_late() {
    let c = Cluster::new();
    c.put(b"a", b"before").await;
    let start_ts = c.client.current_ts().await.unwrap();
    prewrite(
        &c,
        vec![put(b"a", b"after"), put(b"b", b"after")],
        start_ts,
        100,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;

    // The reader meets the expired secondary lock, rolls the transaction back.
    assert_eq!(c.get(b"b").await, None);
    assert_eq!(c.get(b"a").await.as_deref(), Some(&b"before"[..]));

    let commit_ts = c.client.current_ts().await.unwrap();
    let err = commit(&c, &[b"a"], start_ts, commit_ts)
        .await
        .expect("late commit must fail");
    assert!(matches!(err.kind, Some(Kind::RolledBack(_))), "{err:?}");

    // A late prewrite of the same transaction fails too: the rollback record stays.
    let resp = c
        .embedded
        .kv()
        .kv_prewrite(PrewriteRequest {
            context: Some(c.embedded.context()),
            primary_lock: b"a".to_vec(),
            mutations: vec![put(b"a", b"after")],
            start_version: start_ts,
            lock_ttl: 100,
            txn_size: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(
        resp.error.and_then(|e| e.kind),
        Some(Kind::RolledBack(_))
    ));
    assert_eq!(c.get(b"a").await.as_deref(), Some(&b"before"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_lock_makes_a_writer_wait_then_proceed() {
    let c = Cluster::new();
    let holder_ts = c.client.current_ts().await.unwrap();
    prewrite(&c, vec![put(b"k", b"holder")], holder_ts, 300).await;
    // A writer meets the live lock, backs off until it expires, rolls the
    // holder back, and commits.
    let started = std::time::Instant::now();
    let mut writer = c.client.begin().await.unwrap();
    writer.put(b"k".to_vec(), b"writer".to_vec());
    writer.commit().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(c.get(b"k").await.as_deref(), Some(&b"writer"[..]));
}
