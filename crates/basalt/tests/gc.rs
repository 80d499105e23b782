//! MVCC garbage collection: reads at or above the safe point are unchanged,
//! and the versions below it that no such read can see are gone.

mod common;

use common::Cluster;
use storage::{Cf, Engine, KeyRange, Snapshot};

/// Write records per encoded user key, straight from the engine.
fn versions(c: &Cluster) -> usize {
    c.embedded
        .engine()
        .snapshot()
        .scan(Cf::Write, &KeyRange::new(Vec::new(), None), false)
        .count()
}

async fn read_all(c: &Cluster, ts: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let snap = c.client.snapshot(ts);
    let mut out = snap.scan(b"", None, usize::MAX, false).await.unwrap();
    for key in [b"k0".as_slice(), b"k1", b"k2", b"big", b"gone"] {
        let value = snap.get(key).await.unwrap().unwrap_or_default();
        out.push((key.to_vec(), value));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_keeps_what_readers_at_the_safe_point_see() {
    let c = Cluster::new();
    // Ten versions of three keys, a big out-of-line value rewritten five
    // times, and a key deleted after three versions.
    for round in 0..10u8 {
        let mut txn = c.client.begin().await.unwrap();
        for k in 0..3u8 {
            txn.put(format!("k{k}").into_bytes(), vec![round; 8]);
        }
        if round < 5 {
            txn.put(b"big".to_vec(), vec![round; 10_000]);
        }
        if round < 3 {
            txn.put(b"gone".to_vec(), vec![round]);
        } else if round == 3 {
            txn.delete(b"gone".to_vec());
        }
        txn.commit().await.unwrap();
    }
    let safe_point = c.client.current_ts().await.unwrap();
    c.put(b"k1", b"after the safe point").await;
    let later = c.client.current_ts().await.unwrap();

    let before = versions(&c);
    let at_safe_point = read_all(&c, safe_point).await;
    let at_later = read_all(&c, later).await;

    let summary = c.client.gc(safe_point).await.unwrap();
    let after = versions(&c);

    assert_eq!(read_all(&c, safe_point).await, at_safe_point);
    assert_eq!(read_all(&c, later).await, at_later);
    // Kept: the newest version at the safe point of k0, k1, k2, big (4) and
    // k1's version after it (1). "gone" ends in a delete: nothing is kept.
    assert_eq!(after, 5, "versions left: {after}");
    assert_eq!(
        before, 40,
        "10 + 11 + 10 versions of k0..k2, 5 of big, 4 of gone"
    );
    assert_eq!(summary.versions_deleted, 35, "{summary:?}");
    assert_eq!(
        summary.values_deleted, 4,
        "big's four older out-of-line values"
    );
    eprintln!("gc: {before} write records before, {after} after, {summary:?}");
}
