//! Percolator commands on a real engine, one protocol rule per test.

use storage::{EngineConfig, FjallEngine};
use txn::{Error, Mutation, PrewriteProps, TxnStatus, TxnStore};

/// Prewrite for an optimistic transaction.
fn prewrite(
    s: &TxnStore<FjallEngine>,
    m: &[Mutation],
    primary: &[u8],
    start_ts: u64,
    ttl: u64,
    size: u64,
) -> txn::Result<()> {
    s.prewrite(
        s,
        m,
        &[],
        &PrewriteProps {
            primary,
            start_ts,
            lock_ttl: ttl,
            txn_size: size,
            for_update_ts: 0,
        },
        None,
    )
    .map(|_| ())
}

fn store() -> (tempfile::TempDir, TxnStore<FjallEngine>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = FjallEngine::open(EngineConfig::new(dir.path())).unwrap();
    (dir, TxnStore::open(engine).unwrap())
}

/// The whole key space, encoded.
fn everything() -> storage::KeyRange {
    storage::KeyRange::new(Vec::new(), None)
}

fn put(k: &[u8], v: &[u8]) -> Mutation {
    Mutation::Put(k.to_vec(), v.to_vec())
}

/// Commit a one-key write.
fn write(s: &TxnStore<FjallEngine>, m: Mutation, start_ts: u64, commit_ts: u64) {
    let key = m.key().to_vec();
    prewrite(s, &[m], &key, start_ts, 1000, 1).unwrap();
    s.commit(s, &[key], start_ts, commit_ts).unwrap();
}

#[test]
fn reads_see_the_version_at_their_timestamp() {
    let (_d, s) = store();
    write(&s, put(b"k", b"v1"), 10, 11);
    write(&s, put(b"k", b"v2"), 20, 21);
    write(&s, Mutation::Delete(b"k".to_vec()), 30, 31);
    assert_eq!(s.get(b"k", 10).unwrap(), None);
    assert_eq!(s.get(b"k", 11).unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(s.get(b"k", 25).unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(s.get(b"k", 31).unwrap(), None);
}

/// A key's MVCC records list what no read at a timestamp shows: its lock,
/// rollbacks, and every version with its value, inline or not.
#[test]
fn mvcc_info_lists_the_lock_and_every_version_newest_first() {
    use txn::{Lock, LockType, Write, WriteType};
    let (_d, s) = store();
    let long = vec![7u8; txn::record::SHORT_VALUE_MAX + 1];
    write(&s, put(b"k", b"v1"), 10, 11);
    prewrite(&s, &[put(b"k", b"never")], b"k", 15, 1000, 1).unwrap();
    s.batch_rollback(&s, &[b"k".to_vec()], 15).unwrap();
    write(&s, put(b"k", &long), 20, 21);
    prewrite(&s, &[put(b"k", b"v3")], b"p", 30, 1000, 2).unwrap();
    let info = s.mvcc_info(b"k").unwrap();
    assert_eq!(
        info.lock,
        Some(Lock {
            lock_type: LockType::Put,
            primary: b"p".to_vec(),
            start_ts: 30,
            ttl: 1000,
            txn_size: 2,
            for_update_ts: 0,
            short_value: Some(b"v3".to_vec()),
        })
    );
    let record = |write_type, start_ts, short_value: Option<&[u8]>| Write {
        write_type,
        start_ts,
        short_value: short_value.map(<[u8]>::to_vec),
    };
    assert_eq!(
        info.writes,
        [
            (21, record(WriteType::Put, 20, None), Some(long)),
            (15, record(WriteType::Rollback, 15, None), None),
            (
                11,
                record(WriteType::Put, 10, Some(b"v1")),
                Some(b"v1".to_vec())
            ),
        ]
    );
    assert_eq!(s.mvcc_info(b"other").unwrap(), txn::MvccInfo::default());
}

/// Point reads are answered from the row cache once a key has been read; a
/// commit must replace what it remembers, a rollback must not disturb it,
/// and reads older than the newest version still go to the versions.
#[test]
fn point_reads_stay_true_across_commits() {
    let (_d, s) = store();
    assert_eq!(s.get(b"k", 5).unwrap(), None);
    write(&s, put(b"k", b"v1"), 10, 11);
    assert_eq!(s.get(b"k", 12).unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(s.get(b"k", 12).unwrap().as_deref(), Some(&b"v1"[..]));
    write(&s, put(b"k", b"v2"), 20, 21);
    assert_eq!(s.get(b"k", 22).unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(s.get(b"k", 12).unwrap().as_deref(), Some(&b"v1"[..]));
    prewrite(&s, &[put(b"k", b"never")], b"k", 30, 1000, 1).unwrap();
    s.batch_rollback(&s, &[b"k".to_vec()], 30).unwrap();
    assert_eq!(s.get(b"k", 32).unwrap().as_deref(), Some(&b"v2"[..]));
    write(&s, Mutation::Delete(b"k".to_vec()), 40, 41);
    assert_eq!(s.get(b"k", 42).unwrap(), None);
    assert_eq!(s.get(b"k", 22).unwrap().as_deref(), Some(&b"v2"[..]));
    write(&s, put(b"j", b"w"), 50, 51);
    let got = s
        .batch_get(&[b"j".to_vec(), b"k".to_vec(), b"x".to_vec()], 52)
        .unwrap();
    assert_eq!(got, [Some(b"w".to_vec()), None, None]);
    s.delete_range(b"a", b"z").unwrap();
    assert_eq!(s.get(b"j", 60).unwrap(), None);
}

/// A store written before the `latest` family existed gets its entries when
/// it is opened, so reads through it see the same data.
#[test]
fn a_store_without_latest_entries_is_backfilled() {
    use storage::{Cf, Engine, KeyRange};
    let dir = tempfile::tempdir().unwrap();
    let engine = FjallEngine::open(EngineConfig::new(dir.path())).unwrap();
    let s = TxnStore::open(engine.clone()).unwrap();
    write(&s, put(b"a", b"1"), 10, 11);
    write(&s, put(b"a", b"2"), 20, 21);
    write(&s, put(b"b", b"x"), 30, 31);
    write(&s, Mutation::Delete(b"b".to_vec()), 40, 41);
    prewrite(&s, &[put(b"a", b"never")], b"a", 50, 1000, 1).unwrap();
    s.batch_rollback(&s, &[b"a".to_vec()], 50).unwrap();
    drop(s);
    engine
        .delete_range(
            &[Cf::Latest],
            &KeyRange::new(Vec::new(), Some(vec![0xff; 16])),
        )
        .unwrap();
    let s = TxnStore::open(engine).unwrap();
    assert_eq!(s.get(b"a", 60).unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.get(b"a", 15).unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(s.get(b"b", 35).unwrap().as_deref(), Some(&b"x"[..]));
    assert_eq!(s.get(b"b", 60).unwrap(), None);
    let all = s.scan(b"", None, 10, 60, false).unwrap();
    assert_eq!(all, [(b"a".to_vec(), b"2".to_vec())]);
}

#[test]
fn prewrite_checks_conflicts_and_locks() {
    let (_d, s) = store();
    write(&s, put(b"k", b"v"), 10, 20);
    // Started before the commit at 20: conflict.
    assert!(matches!(
        prewrite(&s, &[put(b"k", b"x")], b"k", 15, 1000, 1),
        Err(Error::WriteConflict {
            conflict_commit_ts: 20,
            ..
        })
    ));
    // Started after: fine, and a retry of the same prewrite is harmless.
    prewrite(&s, &[put(b"k", b"x")], b"k", 25, 1000, 1).unwrap();
    prewrite(&s, &[put(b"k", b"x")], b"k", 25, 1000, 1).unwrap();
    // Someone else meets the lock, and so do readers after it, not before.
    assert!(
        matches!(prewrite(&s, &[put(b"k", b"y")], b"k", 30, 1000, 1), Err(Error::KeyIsLocked(l)) if l.lock_ts == 25)
    );
    assert!(matches!(s.get(b"k", 26), Err(Error::KeyIsLocked(_))));
    assert_eq!(s.get(b"k", 24).unwrap().as_deref(), Some(&b"v"[..]));
    // All-or-nothing: a batch with one locked key locks nothing.
    assert!(prewrite(&s, &[put(b"a", b"1"), put(b"k", b"1")], b"a", 40, 1000, 2).is_err());
    assert_eq!(s.scan_locks(u64::MAX, 10).unwrap().len(), 1);
}

#[test]
fn rollback_blocks_late_prewrite_and_commit() {
    let (_d, s) = store();
    s.batch_rollback(&s, &[b"k".to_vec()], 10).unwrap();
    assert!(matches!(
        prewrite(&s, &[put(b"k", b"v")], b"k", 10, 1000, 1),
        Err(Error::RolledBack { .. })
    ));
    assert!(matches!(
        s.commit(&s, &[b"k".to_vec()], 10, 11),
        Err(Error::RolledBack { .. })
    ));
    write(&s, put(b"j", b"v"), 20, 21);
    assert!(matches!(
        s.batch_rollback(&s, &[b"j".to_vec()], 20),
        Err(Error::Committed { commit_ts: 21, .. })
    ));
    s.commit(&s, &[b"j".to_vec()], 20, 21).unwrap(); // committing again is harmless
    // So is a prewrite that arrives again after the commit: it finds the
    // commit and locks nothing.
    prewrite(&s, &[put(b"j", b"v")], b"j", 20, 1000, 1).unwrap();
    assert!(s.scan_locks(u64::MAX, 10).unwrap().is_empty());
    assert!(
        s.commit(&s, &[b"j".to_vec()], 30, 30).is_err(),
        "commit_ts must exceed start_ts"
    );
}

#[test]
fn txn_status_follows_the_primary() {
    let (_d, s) = store();
    let now = codec::ts::compose(1_000_000, 0);
    let start = codec::ts::compose(999_000, 0);
    prewrite(
        &s,
        &[put(b"p", b"1"), put(b"s", b"2")],
        b"p",
        start,
        5_000,
        2,
    )
    .unwrap();
    assert_eq!(
        s.check_txn_status(&s, b"p", start, now, false).unwrap(),
        TxnStatus::Locked { ttl: 5_000 }
    );
    // Expired: checking rolls it back, and the secondary's lock goes with resolve.
    let later = codec::ts::compose(1_004_000, 0);
    assert_eq!(
        s.check_txn_status(&s, b"p", start, later, false).unwrap(),
        TxnStatus::RolledBack
    );
    s.resolve_lock(&s, start, None, &[]).unwrap();
    assert!(s.scan_locks(u64::MAX, 10).unwrap().is_empty());
    assert_eq!(s.get(b"s", later).unwrap(), None);
    // Unknown transaction: reported, or rolled back on request.
    assert!(matches!(
        s.check_txn_status(&s, b"q", 5, later, false),
        Err(Error::TxnNotFound { .. })
    ));
    assert_eq!(
        s.check_txn_status(&s, b"q", 5, later, true).unwrap(),
        TxnStatus::RolledBack
    );
    write(&s, put(b"c", b"v"), 50, 60);
    assert_eq!(
        s.check_txn_status(&s, b"c", 50, later, true).unwrap(),
        TxnStatus::Committed { commit_ts: 60 }
    );
    // Cleanup refuses a live lock unless forced.
    prewrite(&s, &[put(b"live", b"1")], b"live", start, 5_000, 1).unwrap();
    assert!(matches!(
        s.cleanup(&s, b"live", start, now),
        Err(Error::KeyIsLocked(_))
    ));
    s.cleanup(&s, b"live", start, 0).unwrap();
    assert!(s.scan_locks(u64::MAX, 10).unwrap().is_empty());
}

#[test]
fn scans_merge_versions_locks_and_limits() {
    let (_d, s) = store();
    for (i, k) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
        write(
            &s,
            put(*k, &[i as u8]),
            10 + i as u64 * 10,
            11 + i as u64 * 10,
        );
    }
    write(&s, Mutation::Delete(b"b".to_vec()), 100, 101);
    let keys = |v: Vec<(Vec<u8>, Vec<u8>)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys(s.scan(b"", None, 10, 200, false).unwrap()),
        [b"a", b"c", b"d"]
    );
    assert_eq!(
        keys(s.scan(b"", None, 10, 200, true).unwrap()),
        [b"d", b"c", b"a"]
    );
    assert_eq!(
        keys(s.scan(b"", None, 10, 50, true).unwrap()),
        [b"d", b"c", b"b", b"a"]
    );
    assert_eq!(
        keys(s.scan(b"b", Some(b"d"), 10, 50, false).unwrap()),
        [b"b", b"c"]
    );
    assert_eq!(
        keys(s.scan(b"", None, 2, 200, false).unwrap()),
        [b"a", b"c"]
    );
    // A lock past the limit does not matter; one inside the result does.
    prewrite(&s, &[put(b"d", b"x")], b"d", 150, 1000, 1).unwrap();
    assert_eq!(
        keys(s.scan(b"", None, 2, 200, false).unwrap()),
        [b"a", b"c"]
    );
    assert!(matches!(
        s.scan(b"", None, 3, 200, false),
        Err(Error::KeyIsLocked(_))
    ));
    assert!(matches!(
        s.scan(b"", None, 1, 200, true),
        Err(Error::KeyIsLocked(_))
    ));
    assert_eq!(
        keys(s.scan(b"", None, 10, 149, false).unwrap()),
        [b"a", b"c", b"d"]
    );
}

/// Scans walk the newest versions (`latest`) and go to the version history
/// only for keys newer than their timestamp; the answer must match a model
/// of every version, whichever way and at whichever timestamp they read, and
/// whatever the limit.
#[test]
fn scans_over_many_versions_match_a_model() {
    let (_d, s) = store();
    // Keys with 1, 3, 9, 20 and 40 versions; some versions are deletes and
    // some transactions roll back, so the newest version is not always data.
    let mut model: Vec<(Vec<u8>, Vec<(u64, Option<Vec<u8>>)>)> = Vec::new();
    let mut ts = 10;
    for (k, n) in [(b"a", 1), (b"b", 40), (b"c", 3), (b"d", 20), (b"e", 9)] {
        let mut versions = Vec::new();
        for i in 0..n {
            ts += 10;
            let value = (i % 7 != 3).then(|| vec![k[0], i as u8]);
            let m = match &value {
                Some(v) => put(k, v),
                None => Mutation::Delete(k.to_vec()),
            };
            if i % 5 == 4 {
                prewrite(&s, &[m], k, ts, 1000, 1).unwrap();
                s.batch_rollback(&s, &[k.to_vec()], ts).unwrap();
                continue;
            }
            write(&s, m, ts, ts + 1);
            versions.push((ts + 1, value));
        }
        model.push((k.to_vec(), versions));
    }
    for read_ts in (0..=ts + 20).step_by(3) {
        let expect: Vec<(Vec<u8>, Vec<u8>)> = model
            .iter()
            .filter_map(|(k, versions)| {
                let newest = versions.iter().rev().find(|(c, _)| *c <= read_ts)?;
                Some((k.clone(), newest.1.clone()?))
            })
            .collect();
        for limit in [1, 2, 3, 10] {
            let forward = s.scan(b"", None, limit, read_ts, false).unwrap();
            let want: Vec<_> = expect.iter().take(limit).cloned().collect();
            assert_eq!(forward, want, "forward at {read_ts}, limit {limit}");
            let backward = s.scan(b"", None, limit, read_ts, true).unwrap();
            let want: Vec<_> = expect.iter().rev().take(limit).cloned().collect();
            assert_eq!(backward, want, "reverse at {read_ts}, limit {limit}");
        }
        let middle = s.scan(b"b", Some(b"e"), 10, read_ts, true).unwrap();
        let want: Vec<_> = expect
            .iter()
            .filter(|(k, _)| k.as_slice() >= &b"b"[..] && k.as_slice() < &b"e"[..])
            .rev()
            .cloned()
            .collect();
        assert_eq!(middle, want, "reverse b..e at {read_ts}");
    }
}

#[test]
fn gc_drops_rollbacks_and_old_versions() {
    let (_d, s) = store();
    write(&s, put(b"k", b"1"), 10, 11);
    s.batch_rollback(&s, &[b"k".to_vec()], 12).unwrap();
    write(&s, put(b"k", &[2; 1000]), 20, 21);
    write(&s, put(b"k", b"3"), 30, 31);
    let stats = s.gc(&s, &everything(), 25).unwrap();
    assert_eq!(
        (stats.versions_deleted, stats.values_deleted),
        (2, 0),
        "{stats:?}"
    );
    assert_eq!(s.get(b"k", 25).unwrap(), Some(vec![2; 1000]));
    assert_eq!(s.get(b"k", 40).unwrap().as_deref(), Some(&b"3"[..]));
    let stats = s.gc(&s, &everything(), 40).unwrap();
    assert_eq!(
        (stats.versions_deleted, stats.values_deleted),
        (1, 1),
        "{stats:?}"
    );
    assert_eq!(s.get(b"k", 40).unwrap().as_deref(), Some(&b"3"[..]));
}

/// A pessimistic transaction does not lock keys its row locks already guard
/// (non-unique index entries): their prewrite checks for writes after the
/// transaction's for_update_ts, not after its start_ts.
#[test]
fn unlocked_keys_of_pessimistic_transactions_conflict_after_for_update_ts() {
    let (_d, s) = store();
    write(&s, put(b"i", b"old"), 10, 20);
    let props = |for_update_ts| PrewriteProps {
        primary: b"i",
        start_ts: 15,
        lock_ttl: 1000,
        txn_size: 1,
        for_update_ts,
    };
    // Written at 20, after start_ts 15 but before for_update_ts 25: fine.
    s.prewrite(&s, &[put(b"i", b"new")], &[false], &props(25), None)
        .unwrap();
    s.commit(&s, &[b"i".to_vec()], 15, 30).unwrap();
    assert_eq!(s.get(b"i", 31).unwrap().as_deref(), Some(&b"new"[..]));
    // Written at 30, after the for_update_ts 28 of this one: a conflict.
    let late = PrewriteProps {
        primary: b"i",
        start_ts: 16,
        lock_ttl: 1000,
        txn_size: 1,
        for_update_ts: 28,
    };
    assert!(matches!(
        s.prewrite(&s, &[put(b"i", b"x")], &[false], &late, None),
        Err(Error::WriteConflict { .. })
    ));
}

#[test]
fn pessimistic_locks_reserve_keys_until_prewrite() {
    let (_d, s) = store();
    write(&s, put(b"k", b"v1"), 10, 20);
    let props = |for_update_ts| PrewriteProps {
        primary: b"k",
        start_ts: 15,
        lock_ttl: 1000,
        txn_size: 1,
        for_update_ts,
    };
    // Locking at a for_update_ts below a newer commit is a conflict: the
    // statement must read again.
    assert!(matches!(
        s.acquire_pessimistic_lock(&[b"k".to_vec()], &props(18), true)
            .unwrap(),
        Err(Error::WriteConflict { .. })
    ));
    s.acquire_pessimistic_lock(&[b"k".to_vec()], &props(25), true)
        .unwrap()
        .unwrap();
    s.acquire_pessimistic_lock(&[b"k".to_vec()], &props(25), true)
        .unwrap()
        .unwrap(); // idempotent
    // Readers do not see or wait for a pessimistic lock; other lockers do.
    assert_eq!(s.get(b"k", 30).unwrap().as_deref(), Some(&b"v1"[..]));
    let other = PrewriteProps {
        primary: b"k",
        start_ts: 16,
        lock_ttl: 1000,
        txn_size: 1,
        for_update_ts: 26,
    };
    assert!(
        matches!(s.acquire_pessimistic_lock(&[b"k".to_vec()], &other, true).unwrap(), Err(Error::KeyIsLocked(l)) if l.lock_ts == 15)
    );
    // Prewrite turns the lock into a value lock without a conflict check
    // against start_ts (the commit at 20 is after start_ts 15, but before the
    // lock's for_update_ts).
    s.prewrite(&s, &[put(b"k", b"v2")], &[true], &props(25), None)
        .unwrap();
    s.commit(&s, &[b"k".to_vec()], 15, 30).unwrap();
    assert_eq!(s.get(b"k", 31).unwrap().as_deref(), Some(&b"v2"[..]));
    // A pessimistic lock that vanished (a new leader does not have the old
    // one's in-memory locks) is checked like an optimistic write, against
    // every commit since start_ts: none on `j`, so the prewrite goes on...
    let lost = PrewriteProps {
        primary: b"j",
        start_ts: 40,
        lock_ttl: 1000,
        txn_size: 2,
        for_update_ts: 45,
    };
    let keys = [b"j".to_vec(), b"m".to_vec()];
    s.acquire_pessimistic_lock(&keys, &lost, true)
        .unwrap()
        .unwrap();
    s.pessimistic_rollback(&keys, 40, true).unwrap().unwrap();
    assert!(s.scan_locks(u64::MAX, 10).unwrap().is_empty());
    s.prewrite(&s, &[put(b"j", b"x")], &[true], &lost, None)
        .unwrap();
    // ...but `m`, written by someone else after start_ts 40 (even before
    // the lost lock's for_update_ts), is a conflict.
    write(&s, put(b"m", b"other"), 41, 42);
    assert!(matches!(
        s.prewrite(&s, &[put(b"m", b"x")], &[true], &lost, None),
        Err(Error::WriteConflict { .. })
    ));
    // A transaction rolled back by someone who found its primary's lock
    // expired meets the rollback record there.
    let expired = PrewriteProps {
        primary: b"p",
        start_ts: 50,
        lock_ttl: 1000,
        txn_size: 1,
        for_update_ts: 51,
    };
    s.acquire_pessimistic_lock(&[b"p".to_vec()], &expired, true)
        .unwrap()
        .unwrap();
    s.check_txn_status(&s, b"p", 50, u64::MAX, true).unwrap();
    assert!(matches!(
        s.prewrite(&s, &[put(b"p", b"x")], &[true], &expired, None),
        Err(Error::RolledBack { .. })
    ));
}

#[test]
fn locks_outlive_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let engine = FjallEngine::open(EngineConfig::new(dir.path())).unwrap();
        TxnStore::open(engine).unwrap()
    };
    let s = open();
    write(&s, put(b"a", b"1"), 10, 11);
    prewrite(&s, &[put(b"b", b"2")], b"b", 20, 1000, 1).unwrap();
    prewrite(&s, &[put(b"c", b"3")], b"c", 30, 1000, 1).unwrap();
    s.commit(&s, &[b"c".to_vec()], 30, 31).unwrap();
    // A pessimistic lock lives in memory only and goes with the process.
    let pessimistic = props_of(b"d", 50);
    s.acquire_pessimistic_lock(&[b"d".to_vec()], &pessimistic, true)
        .unwrap()
        .unwrap();
    assert_eq!(s.scan_locks(u64::MAX, 10).unwrap().len(), 2);
    storage::Engine::sync(s.engine()).unwrap();
    drop(s);
    // Reads learn of the lock left on `b` (and only that one) from the
    // reloaded lock table, point and range alike.
    let s = open();
    assert!(matches!(s.get(b"b", 25), Err(Error::KeyIsLocked(_))));
    assert!(matches!(
        s.scan(b"a", None, 10, 25, false),
        Err(Error::KeyIsLocked(_))
    ));
    assert_eq!(s.scan(b"a", None, 1, 25, false).unwrap().len(), 1);
    assert_eq!(s.get(b"c", 40).unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(s.scan_locks(u64::MAX, 10).unwrap().len(), 1);
    let in_engine = storage::Snapshot::scan(
        &storage::Engine::snapshot(s.engine()),
        storage::Cf::Lock,
        &storage::KeyRange::new(Vec::new(), None),
        false,
    )
    .count();
    assert_eq!(in_engine, 1, "only the prewrite lock of b is persisted");
    // Its transaction finds the lock gone at prewrite; no one wrote `d`
    // since it started, so it goes on.
    s.prewrite(&s, &[put(b"d", b"4")], &[true], &pessimistic, None)
        .unwrap();
    s.batch_rollback(&s, &[b"d".to_vec()], 50).unwrap();
    s.batch_rollback(&s, &[b"b".to_vec()], 20).unwrap();
    assert_eq!(s.get(b"b", 25).unwrap(), None);
    assert!(s.scan_locks(u64::MAX, 10).unwrap().is_empty());
}

#[test]
fn delete_range_removes_versions_and_locks_of_its_keys_only() {
    let (_d, s) = store();
    write(&s, put(b"t1_a", b"x"), 10, 11);
    write(&s, put(b"t1_b", &[7; 300]), 12, 13); // value out of line
    write(&s, put(b"t2_a", b"y"), 14, 15);
    prewrite(&s, &[put(b"t1_c", b"z")], b"t1_c", 16, 1000, 1).unwrap();
    assert!(matches!(s.get(b"t1_c", 20), Err(Error::KeyIsLocked(_))));
    s.delete_range(b"t1", b"t2").unwrap();
    for key in [&b"t1_a"[..], b"t1_b", b"t1_c"] {
        assert_eq!(s.get(key, 20).unwrap(), None, "{key:?}");
    }
    assert!(s.scan_locks(u64::MAX, usize::MAX).unwrap().is_empty());
    assert_eq!(s.get(b"t2_a", 20).unwrap().as_deref(), Some(&b"y"[..]));
}

/// Props of an optimistic transaction writing `primary`.
fn props_of(primary: &[u8], start_ts: u64) -> PrewriteProps<'_> {
    PrewriteProps {
        primary,
        start_ts,
        lock_ttl: 1000,
        txn_size: 1,
        for_update_ts: 0,
    }
}

#[test]
fn one_phase_commits_land_above_every_read_served() {
    let (_d, s) = store();
    write(&s, put(b"k", b"v1"), 10, 12);
    // A read at 40 came first: the commit must not appear under it.
    assert_eq!(s.get(b"k", 40).unwrap().as_deref(), Some(&b"v1"[..]));
    let ts = s
        .prewrite(
            &s,
            &[put(b"k", b"v2"), put(b"j", b"w")],
            &[],
            &props_of(b"k", 20),
            Some(1_000),
        )
        .unwrap()
        .expect("committed in one phase");
    assert_eq!(ts, 41, "the first odd timestamp above the read at 40");
    assert_eq!(s.get(b"k", 40).unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(s.get(b"k", 41).unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(s.get(b"j", 41).unwrap().as_deref(), Some(&b"w"[..]));
    assert!(
        s.scan_locks(u64::MAX, 10).unwrap().is_empty(),
        "no lock left behind"
    );
    // Above the start timestamp even when no read came later.
    let ts = s
        .prewrite(
            &s,
            &[put(b"k", b"v3")],
            &[],
            &props_of(b"k", 50),
            Some(1_000),
        )
        .unwrap();
    assert_eq!(ts, Some(51));
}

#[test]
fn a_one_phase_commit_beyond_its_limit_stays_a_prewrite() {
    let (_d, s) = store();
    assert_eq!(s.get(b"k", 90).unwrap(), None);
    let limited = s
        .prewrite(&s, &[put(b"k", b"v")], &[], &props_of(b"k", 20), Some(60))
        .unwrap();
    assert_eq!(limited, None, "91 is past the limit of 60");
    assert!(matches!(s.get(b"k", 95), Err(Error::KeyIsLocked(_))));
    s.commit(&s, &[b"k".to_vec()], 20, 96).unwrap();
    assert_eq!(s.get(b"k", 96).unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_read_of_the_latest_version_passes_only_a_primary_lock() {
    use codec::ts::LATEST;
    let (_d, s) = store();
    write(&s, put(b"p", b"p1"), 10, 11);
    write(&s, put(b"s", b"s1"), 10, 11);
    prewrite(&s, &[put(b"p", b"p2"), put(b"s", b"s2")], b"p", 20, 1000, 2).unwrap();
    // The primary's lock means the transaction has not committed: the
    // newest committed version is the one before it.
    assert_eq!(s.get(b"p", LATEST).unwrap().as_deref(), Some(&b"p1"[..]));
    // A secondary's lock may belong to a committed transaction: the reader
    // must find out.
    assert!(matches!(s.get(b"s", LATEST), Err(Error::KeyIsLocked(l)) if l.lock_ts == 20));
    s.commit(&s, &[b"p".to_vec()], 20, 21).unwrap();
    assert_eq!(s.get(b"p", LATEST).unwrap().as_deref(), Some(&b"p2"[..]));
    // A read of the latest version is no read at a timestamp: a one-phase
    // commit after it lands just above its own start.
    let ts = s
        .prewrite(
            &s,
            &[put(b"q", b"q1")],
            &[],
            &props_of(b"q", 30),
            Some(1_000),
        )
        .unwrap();
    assert_eq!(ts, Some(31));
}
