//! Behaviour of the `storage` engine through its public API.

use std::path::Path;
use storage::{Cf, Engine, EngineConfig, FjallEngine, KeyRange, Snapshot, WriteBatch};

fn open(dir: &Path) -> FjallEngine {
    let mut config = EngineConfig::new(dir);
    // Small tables, so that a few MiB of test data spans many files.
    config.table_target_bytes = 64 * 1024;
    config.block_cache_bytes = 16 * 1024 * 1024;
    FjallEngine::open(config).unwrap()
}

fn get(snap: &impl Snapshot, cf: Cf, key: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    snap.get(cf, key.as_ref()).unwrap().map(|v| v.to_vec())
}

fn keys(snap: &impl Snapshot, cf: Cf, range: &KeyRange, reverse: bool) -> Vec<Vec<u8>> {
    snap.scan(cf, range, reverse)
        .map(|kv| kv.unwrap().0.to_vec())
        .collect()
}

fn put(engine: &FjallEngine, cf: Cf, key: &str, value: &str, sync: bool) {
    let mut batch = WriteBatch::new();
    batch.put(cf, key, value);
    batch.set_sync(sync);
    engine.write(batch).unwrap();
}

#[test]
fn put_get_delete_across_families() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    for cf in Cf::ALL {
        put(&engine, cf, "k", cf.name(), false);
    }
    let snap = engine.snapshot();
    for cf in Cf::ALL {
        assert_eq!(
            get(&snap, cf, "k").as_deref(),
            Some(cf.name().as_bytes()),
            "families are separate"
        );
    }

    let mut batch = WriteBatch::new();
    batch.delete(Cf::Lock, "k");
    engine.write(batch).unwrap();
    let snap = engine.snapshot();
    assert_eq!(get(&snap, Cf::Lock, "k"), None);
    assert_eq!(get(&snap, Cf::Write, "k").as_deref(), Some(&b"write"[..]));
    assert_eq!(get(&snap, Cf::Default, "missing"), None);
}

#[test]
fn batch_is_atomic_across_families() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    put(&engine, Cf::Lock, "row", "old lock", false);

    let before = engine.snapshot();
    let mut batch = WriteBatch::new();
    batch.put(Cf::Default, "row_5", "value");
    batch.put(Cf::Write, "row_9", "commit record");
    batch.delete(Cf::Lock, "row");
    batch.put(Cf::Raft, "apply", "42");
    assert_eq!(batch.len(), 4);
    engine.write(batch).unwrap();
    let after = engine.snapshot();

    // Readers see all of the batch or none of it.
    assert_eq!(
        [
            get(&before, Cf::Default, "row_5"),
            get(&before, Cf::Write, "row_9"),
            get(&before, Cf::Raft, "apply")
        ],
        [None, None, None]
    );
    assert_eq!(
        get(&before, Cf::Lock, "row").as_deref(),
        Some(&b"old lock"[..])
    );
    assert!(get(&after, Cf::Default, "row_5").is_some());
    assert!(get(&after, Cf::Write, "row_9").is_some());
    assert!(get(&after, Cf::Raft, "apply").is_some());
    assert_eq!(get(&after, Cf::Lock, "row"), None);

    // Concurrent readers never see half a batch.
    let writer = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            for i in 0..500 {
                let mut batch = WriteBatch::new();
                batch.put(Cf::Lock, format!("pair{i:03}"), "x");
                batch.put(Cf::Write, format!("pair{i:03}"), "x");
                engine.write(batch).unwrap();
            }
        })
    };
    let all = KeyRange::new("pair", Some(b"pais".to_vec()));
    while !writer.is_finished() {
        let snap = engine.snapshot();
        assert_eq!(
            keys(&snap, Cf::Lock, &all, false),
            keys(&snap, Cf::Write, &all, false)
        );
    }
    writer.join().unwrap();
}

#[test]
fn snapshot_does_not_see_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    put(&engine, Cf::Write, "a", "1", false);
    let snap = engine.snapshot();
    let clone = snap.clone();
    put(&engine, Cf::Write, "a", "2", false);
    put(&engine, Cf::Write, "b", "1", false);
    let mut batch = WriteBatch::new();
    batch.delete(Cf::Write, "a");
    engine.write(batch).unwrap();

    for s in [&snap, &clone] {
        assert_eq!(get(s, Cf::Write, "a").as_deref(), Some(&b"1"[..]));
        assert_eq!(get(s, Cf::Write, "b"), None);
        assert_eq!(
            keys(s, Cf::Write, &KeyRange::new("", None), false),
            vec![b"a".to_vec()]
        );
    }
    let now = engine.snapshot();
    assert_eq!(get(&now, Cf::Write, "a"), None);
    assert_eq!(get(&now, Cf::Write, "b").as_deref(), Some(&b"1"[..]));
}

#[test]
fn scans_respect_both_bounds_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let mut batch = WriteBatch::new();
    for c in b'a'..=b'z' {
        batch.put(Cf::Write, vec![c], vec![c, c]);
        batch.put(Cf::Default, vec![c], "other family");
    }
    batch.put(Cf::Write, "c\0", "just after c");
    engine.write(batch).unwrap();
    let snap = engine.snapshot();

    let range = KeyRange::new("c", Some(b"f".to_vec()));
    let expected: Vec<Vec<u8>> = vec![b"c".to_vec(), b"c\0".to_vec(), b"d".to_vec(), b"e".to_vec()];
    assert_eq!(keys(&snap, Cf::Write, &range, false), expected);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(keys(&snap, Cf::Write, &range, true), reversed);

    let pairs: Vec<_> = snap
        .scan(Cf::Write, &range, false)
        .map(Result::unwrap)
        .collect();
    assert_eq!(&*pairs[0].1, b"cc");

    let tail = KeyRange::new("x", None);
    assert_eq!(
        keys(&snap, Cf::Write, &tail, false),
        vec![b"x".to_vec(), b"y".to_vec(), b"z".to_vec()]
    );
    assert_eq!(
        keys(&snap, Cf::Write, &tail, true),
        vec![b"z".to_vec(), b"y".to_vec(), b"x".to_vec()]
    );

    for empty in [
        KeyRange::new("f", Some(b"c".to_vec())),
        KeyRange::new("c", Some(b"c".to_vec())),
    ] {
        assert_eq!(snap.scan(Cf::Write, &empty, false).count(), 0);
        assert_eq!(snap.scan(Cf::Write, &empty, true).count(), 0);
    }

    // The iterator owns its view: it outlives the snapshot handle and ignores later writes.
    let iter = snap.scan(Cf::Write, &tail, false);
    drop(snap);
    put(&engine, Cf::Write, "xx", "late", false);
    assert_eq!(iter.count(), 3);
}

#[test]
fn reopen_keeps_synced_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = open(dir.path());
        put(&engine, Cf::Raft, "state", "term 3", true);
        let mut batch = WriteBatch::new();
        batch.put(Cf::Write, "k", "v");
        batch.put(Cf::Default, "k", "big");
        engine.write(batch).unwrap();
        engine.sync().unwrap();
    }
    let engine = open(dir.path());
    let snap = engine.snapshot();
    assert_eq!(
        get(&snap, Cf::Raft, "state").as_deref(),
        Some(&b"term 3"[..])
    );
    assert_eq!(get(&snap, Cf::Write, "k").as_deref(), Some(&b"v"[..]));
    assert_eq!(get(&snap, Cf::Default, "k").as_deref(), Some(&b"big"[..]));
}

#[test]
fn large_values_live_in_blob_files() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let value =
        |i: u32| -> Vec<u8> { (0..8 * 1024).map(|j| (i as usize * 31 + j) as u8).collect() };
    let mut batch = WriteBatch::new();
    for i in 0..100u32 {
        batch.put(Cf::Default, format!("big{i:03}"), value(i));
    }
    batch.put(Cf::Default, "small", "inline");
    engine.write(batch).unwrap();
    engine.flush().unwrap();

    assert!(
        engine.blob_file_count(Cf::Default) > 0,
        "values of 8 KiB are separated"
    );
    assert_eq!(engine.blob_file_count(Cf::Write), 0);
    let snap = engine.snapshot();
    for i in [0, 42, 99] {
        assert_eq!(
            get(&snap, Cf::Default, format!("big{i:03}")),
            Some(value(i))
        );
    }
    assert_eq!(
        get(&snap, Cf::Default, "small").as_deref(),
        Some(&b"inline"[..])
    );
    let scanned: Vec<_> = snap
        .scan(
            Cf::Default,
            &KeyRange::new("big", Some(b"bih".to_vec())),
            true,
        )
        .map(Result::unwrap)
        .collect();
    assert_eq!(scanned.len(), 100);
    assert_eq!(scanned[0].1.to_vec(), value(99));
}

fn key(i: u32) -> String {
    format!("t{i:06}")
}

fn range(from: u32, to: u32) -> KeyRange {
    KeyRange::new(key(from), Some(key(to).into_bytes()))
}

const N: u32 = 50_000;

/// Count the keys of `0..N` a snapshot sees, by point reads and by scans.
fn visible(snap: &impl Snapshot, cf: Cf) -> (usize, usize, usize) {
    let gets = (0..N)
        .step_by(97)
        .filter(|&i| snap.get(cf, key(i).as_bytes()).unwrap().is_some())
        .count();
    let all = range(0, N);
    (
        gets,
        snap.scan(cf, &all, false).count(),
        snap.scan(cf, &all, true).count(),
    )
}

#[test]
fn delete_range_drops_files_hides_keys_and_retires() {
    let dir = tempfile::tempdir().unwrap();
    let data = [Cf::Default, Cf::Write];
    let value = vec![0xAB_u8; 100];
    let tables = |e: &FjallEngine| data.map(|cf| e.table_count(cf)).iter().sum::<usize>();
    let disk = |e: &FjallEngine| data.map(|cf| e.disk_space(cf)).iter().sum::<u64>();
    let sampled_outside = |from: u32, to: u32| {
        (0..N)
            .step_by(97)
            .filter(|i| !(from..to).contains(i))
            .count()
    };

    {
        let engine = open(dir.path());
        for chunk in 0..10 {
            let mut batch = WriteBatch::new();
            for i in chunk * 5_000..(chunk + 1) * 5_000 {
                for cf in data {
                    batch.put(cf, key(i), value.clone());
                }
            }
            engine.write(batch).unwrap();
            engine.flush().unwrap();
        }
        let (tables_before, disk_before) = (tables(&engine), disk(&engine));
        let old = engine.snapshot();
        assert_eq!(
            visible(&old, Cf::Write),
            (sampled_outside(0, 0), 50_000, 50_000)
        );

        engine.delete_range(&data, &range(2_000, 48_000)).unwrap();
        let (tables_after, disk_after) = (tables(&engine), disk(&engine));
        println!(
            "delete_range: tables {tables_before} -> {tables_after}, bytes {disk_before} -> {disk_after}"
        );
        assert!(
            tables_after * 2 < tables_before,
            "whole tables inside the range are dropped at once"
        );
        assert!(disk_after * 2 < disk_before);
        assert_eq!(engine.deleted_range_count(), 1);

        let new = engine.snapshot();
        let outside = (sampled_outside(2_000, 48_000), 4_000, 4_000);
        for snap in [&old, &new] {
            for cf in data {
                assert_eq!(visible(snap, cf), outside, "{cf:?}");
                assert_eq!(get(snap, cf, key(1_999)), Some(value.clone()));
                assert_eq!(get(snap, cf, key(2_000)), None);
                assert_eq!(get(snap, cf, key(47_999)), None);
                assert_eq!(get(snap, cf, key(48_000)), Some(value.clone()));
            }
            assert_eq!(get(snap, Cf::Lock, key(10)), None);
        }
        let edge = keys(&new, Cf::Write, &range(1_998, 48_002), false);
        assert_eq!(
            edge,
            [1_998, 1_999, 48_000, 48_001].map(|i| key(i).into_bytes())
        );
    }

    // The record is durable: after a restart the range is still deleted.
    let engine = open(dir.path());
    assert_eq!(engine.deleted_range_count(), 1);
    let old = engine.snapshot();
    assert_eq!(visible(&old, Cf::Default).1, 4_000);

    // A write into the range retires it first, and is then visible as usual.
    put(&engine, Cf::Write, &key(10_000), "new", true);
    assert_eq!(engine.deleted_range_count(), 0);
    let new = engine.snapshot();
    assert_eq!(
        get(&new, Cf::Write, key(10_000)).as_deref(),
        Some(&b"new"[..])
    );
    assert_eq!(get(&new, Cf::Write, key(10_001)), None);
    assert_eq!(visible(&new, Cf::Write).1, 4_001);
    assert_eq!(
        visible(&new, Cf::Default).1,
        4_000,
        "retiring the range left no key behind"
    );
    // A snapshot from before the retirement still does not see the deleted keys.
    assert_eq!(visible(&old, Cf::Write).1, 4_000);
    assert_eq!(get(&old, Cf::Write, key(10_000)), None);
    drop(old);

    // Retirement by maintenance.
    engine.delete_range(&data, &range(48_000, 49_000)).unwrap();
    assert_eq!(engine.deleted_range_count(), 1);
    assert_eq!(engine.compact_deleted_ranges().unwrap(), 1);
    assert_eq!(engine.deleted_range_count(), 0);
    assert_eq!(engine.compact_deleted_ranges().unwrap(), 0);
    assert_eq!(visible(&engine.snapshot(), Cf::Write).1, 3_001);
    // Snapshots keep the store open, so all go before the reopen.
    drop((new, engine));

    let engine = open(dir.path());
    assert_eq!(engine.deleted_range_count(), 0);
    let snap = engine.snapshot();
    assert_eq!(visible(&snap, Cf::Write).1, 3_001);
    assert_eq!(visible(&snap, Cf::Default).1, 3_000);
    assert_eq!(
        get(&snap, Cf::Write, key(10_000)).as_deref(),
        Some(&b"new"[..])
    );
}

#[test]
fn delete_range_ignores_empty_requests() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    put(&engine, Cf::Write, "b", "v", false);
    engine.delete_range(&[], &KeyRange::new("a", None)).unwrap();
    engine
        .delete_range(&[Cf::Write], &KeyRange::new("c", Some(b"a".to_vec())))
        .unwrap();
    assert_eq!(engine.deleted_range_count(), 0);
    assert!(get(&engine.snapshot(), Cf::Write, "b").is_some());
}

#[test]
fn group_commit_shares_fsyncs() {
    const THREADS: usize = 8;
    const WRITES: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let engine = open(dir.path());
    let before = engine.fsync_count();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for i in 0..WRITES {
                    put(&engine, Cf::Raft, &format!("{t}/{i:03}"), "entry", true);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let fsyncs = engine.fsync_count() - before;
    println!(
        "group commit: {} synced batches, {fsyncs} fsyncs",
        THREADS * WRITES
    );
    assert!(fsyncs >= 1 && fsyncs <= (THREADS * WRITES) as u64);
    let snap = engine.snapshot();
    assert_eq!(
        snap.scan(Cf::Raft, &KeyRange::new("", None), false).count(),
        THREADS * WRITES
    );

    // An empty synced batch and `sync` make earlier unsynced writes durable.
    put(&engine, Cf::Raft, "unsynced", "x", false);
    let mut empty = WriteBatch::new();
    empty.set_sync(true);
    engine.write(empty).unwrap();
    engine.sync().unwrap();
}
