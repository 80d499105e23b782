"""The list-append isolation checker (tests/history.py): on real histories
from Basalt and MariaDB at READ COMMITTED and REPEATABLE READ, and on small
hand-made histories, one per anomaly kind, so that every detector is shown to
fire (a checker that cannot fail proves nothing) and a clean serial history
is shown to pass.

Real histories: a few thousand transactions of 1-4 reads and appends on 8
connections, bounded in time, at READ COMMITTED, REPEATABLE READ and
REPEATABLE READ with `innodb_snapshot_isolation` ("si"). Neither server may
show what its level forbids. MySQL's REPEATABLE READ is not snapshot
isolation (a plain read uses the transaction's snapshot, but INSERT ... ON
DUPLICATE KEY UPDATE reads and changes the newest row), so G-single and lost
updates are allowed there and printed: the evidence that the checker finds
real anomalies in real histories; snapshot isolation forbids them.

MariaDB is conftest's `mariadb_server` (Debian's `mariadb-server`).
"""

from __future__ import annotations

import random

import pytest

import history
from history import G0, G1A, G1B, G1C, G2, G_SINGLE, LOST_UPDATE, Txn

TXNS = 3000
THREADS = 8
# Seconds after which no new transaction starts: keeps each case well under a
# minute even on a slow machine.
TIME_LIMIT = 30.0
SEED = 1
DATABASE = "history_test"


# ---------------------------------------------------------------------------
# Real histories


def run_and_check(host: str, port: int, level: str) -> history.CheckResult:
    """Run the workload, check it, print what was found, and make sure the
    history had something in it to check."""
    ran = history.run(host, port, level, TXNS, THREADS, SEED, database=DATABASE, time_limit=TIME_LIMIT)
    result = history.check(ran.history)
    print(ran.summary())
    for note in ran.notes:
        print(f"note: {note}")
    print(result.summary())
    print(result.report(level))
    counts = ran.counts()
    assert counts["ok"] >= len(ran.history) / 2, f"most transactions failed: {ran.summary()}"
    stats = result.stats
    assert stats["ww"] and stats["wr"] and stats["rw"], f"a graph without every edge type: {result.summary()}"
    return result


@pytest.mark.parametrize("level", ["rc", "rr", "si"])
def test_basalt_history_has_no_anomaly_its_level_forbids(basalt_server, level):
    result = run_and_check(basalt_server.host, basalt_server.port, level)
    forbidden = result.forbidden(level)
    assert not forbidden, (
        f"Basalt at {history.LEVELS[level]}: {', '.join(forbidden)}\n{result.report(level)}"
    )


@pytest.mark.parametrize("level", ["rc", "rr", "si"])
def test_mariadb_history_has_no_anomaly_its_level_forbids(mariadb_server, level):
    result = run_and_check(mariadb_server.host, mariadb_server.port, level)
    forbidden = result.forbidden(level)
    assert not forbidden, f"MariaDB at {history.LEVELS[level]}: {', '.join(forbidden)}\n{result.report(level)}"


# ---------------------------------------------------------------------------
# The checker on hand-made histories


def r(k, *elements):
    return ("r", k, list(elements))


def a(k, x):
    return ("append", k, x)


def t(tid, *ops, status="ok"):
    return Txn(tid, list(ops), status)


def found(txns, **kw) -> dict:
    result = history.check(txns, **kw)
    return {k: result.counts[k] for k in result.found()}


def test_a_serial_history_is_clean():
    txns = [
        t(1, a("x", 1), a("y", 2)),
        t(2, r("x", 1), r("y", 2), a("x", 3), r("x", 1, 3)),
        t(3, r("y", 2), r("x", 1, 3), a("y", 4)),
        t(4, r("x", 1, 3), r("y", 2, 4)),
        t(5, a("x", 5), status="fail"),
        t(6, r("x", 1, 3)),
    ]
    result = history.check(txns)
    assert result.found() == []
    assert not result.forbidden("si")
    # Not vacuous: every kind of edge was derived.
    assert result.stats["ww"] and result.stats["wr"] and result.stats["rw"]


def test_g0_write_cycle():
    txns = [
        t(1, a("x", 1), a("y", 4)),
        t(2, a("x", 2), a("y", 3)),
        t(3, r("x", 1, 2), r("y", 3, 4)),
    ]
    assert found(txns) == {G0: 1}
    result = history.check(txns)
    assert result.forbidden("rc") == [G0]
    assert sorted(result.anomalies[G0][0].txns) == [1, 2]


def test_g1a_aborted_read():
    txns = [t(1, a("x", 1), status="fail"), t(2, r("x", 1))]
    assert found(txns) == {G1A: 1}


def test_g1b_intermediate_read():
    txns = [t(1, a("x", 1), a("x", 2)), t(2, r("x", 1)), t(3, r("x", 1, 2))]
    assert found(txns) == {G1B: 1}


def test_g1c_circular_information_flow():
    txns = [
        t(1, a("x", 1), r("y", 2)),
        t(2, a("y", 2), r("x", 1)),
    ]
    assert found(txns) == {G1C: 1}


def test_g_single_read_skew():
    txns = [
        t(1, r("x"), r("y", 2)),
        t(2, a("x", 1), a("y", 2)),
        t(3, r("x", 1)),
    ]
    assert found(txns) == {G_SINGLE: 1}
    result = history.check(txns)
    assert result.forbidden("rc") == []
    assert result.forbidden("si") == [G_SINGLE]


def test_g_single_through_an_append_nobody_read():
    # T2's append of 2 to x was never read; it still comes after 1, the last
    # element anyone saw, so T1, which read x = [1], did not see it.
    txns = [
        t(1, r("x", 1), r("y", 3)),
        t(2, a("x", 2), a("y", 3)),
        t(3, a("x", 1)),
    ]
    assert found(txns) == {G_SINGLE: 1}


def test_g_single_along_a_long_path_across_closure_blocks():
    # T1 read x before T2 appended to it; T2 -wr-> T3 -wr-> ... -wr-> T1.
    # With blocks of 2 components the closure needs several passes.
    n = 9
    txns = [t(1, r("x"), r(f"k{n}", n)), t(2, a("x", 100), a("k2", 2)), t(99, r("x", 100))]
    for i in range(3, n + 1):
        txns.append(t(i, r(f"k{i - 1}", i - 1), a(f"k{i}", i)))
    for block in (2, 3, 4096):
        assert found(txns, reach_block=block) == {G_SINGLE: 1}, block


def test_lost_update():
    txns = [
        t(1, a("x", 1)),
        t(2, r("x", 1), a("x", 2)),
        t(3, r("x", 1), a("x", 3)),
        t(4, r("x", 1, 2, 3)),
    ]
    counts = found(txns)
    assert counts[LOST_UPDATE] == 1
    assert history.check(txns).forbidden("si") == [G_SINGLE, LOST_UPDATE]


def test_g2_write_skew_is_reported_and_allowed():
    txns = [
        t(1, r("x"), r("y"), a("x", 1)),
        t(2, r("x"), r("y"), a("y", 2)),
        t(3, r("x", 1), r("y", 2)),
    ]
    assert found(txns) == {G2: 2}
    result = history.check(txns)
    assert result.forbidden("rc") == [] and result.forbidden("si") == []
    assert "rw" in result.anomalies[G2][0].message


def test_incompatible_order():
    txns = [t(1, a("x", 1)), t(2, a("x", 2)), t(3, r("x", 1, 2)), t(4, r("x", 2))]
    assert found(txns) == {history.INCOMPATIBLE_ORDER: 1}


def test_duplicate_elements():
    txns = [t(1, a("x", 1)), t(2, r("x", 1, 1))]
    assert found(txns) == {history.DUPLICATES: 1}


def test_garbage_read():
    txns = [t(1, a("x", 1)), t(2, r("x", 1, 99))]
    assert found(txns) == {history.GARBAGE: 1}


def test_internal_read_that_misses_its_own_append():
    txns = [t(1, a("x", 1)), t(2, a("x", 2), r("x", 1)), t(3, r("x", 1, 2))]
    assert history.INTERNAL in found(txns)


def test_internal_read_of_an_append_not_made_yet():
    txns = [t(1, r("x", 1), a("x", 1)), t(2, r("x", 1))]
    assert history.INTERNAL in found(txns)


def test_info_transaction_seen_by_a_read_counts_as_committed():
    # T1's COMMIT went unanswered, but T2 saw its append: it committed, and
    # its own read (of T2's append) closes a G1c cycle.
    txns = [
        t(1, a("x", 1), r("y", 2), status="info"),
        t(2, a("y", 2), r("x", 1)),
    ]
    assert found(txns) == {G1C: 1}
    # Unseen, it is left out: its read proves nothing.
    txns = [t(1, a("x", 1), r("y", 2), status="info"), t(2, a("y", 2), r("x"))]
    assert found(txns) == {}


def test_only_a_broken_connection_leaves_a_commit_unknown():
    pymysql = pytest.importorskip("pymysql")
    assert history._connection_lost(pymysql.err.OperationalError(2013, "Lost connection to server during query"))
    assert history._connection_lost(pymysql.err.InterfaceError(0, ""))
    assert not history._connection_lost(pymysql.err.OperationalError(1213, "Deadlock found"))
    assert not history._connection_lost(pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"))


def test_every_kind_is_forbidden_somewhere_but_g2():
    assert set(history.KINDS) - history.FORBIDDEN["si"] == {G2}
    assert history.FORBIDDEN["rc"] == history.FORBIDDEN["rr"] < history.FORBIDDEN["si"]


def test_a_saved_history_checks_the_same(tmp_path):
    txns = [t(1, r("x"), r("y", 2)), t(2, a("x", 1), a("y", 2)), t(3, r("x", 1))]
    path = tmp_path / "h.json"
    history.save_history(str(path), txns, {"level": "rr"})
    loaded, meta = history.load_history(str(path))
    assert meta == {"level": "rr"}
    assert found(loaded) == found(txns) == {G_SINGLE: 1}


def _reach(succ: dict, src) -> set:
    seen, todo = {src}, [src]
    while todo:
        for w in succ[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_strongly_connected_components_match_mutual_reachability():
    rng = random.Random(7)
    for _ in range(50):
        n = rng.randint(1, 30)
        succ = {v: [w for w in range(n) if rng.random() < 0.08] for v in range(n)}
        comps = history.strongly_connected(range(n), lambda v: succ[v])
        reach = {v: _reach(succ, v) for v in range(n)}
        comp_of = {v: i for i, c in enumerate(comps) for v in c}
        assert sorted(comp_of) == list(range(n))
        for v in range(n):
            for w in range(n):
                assert (comp_of[v] == comp_of[w]) == (w in reach[v] and v in reach[w])
                # Tarjan's order: a component comes after those it reaches.
                if w in reach[v]:
                    assert comp_of[w] <= comp_of[v]


def test_reachable_pairs_match_a_plain_search_for_every_block_size():
    rng = random.Random(11)
    for _ in range(30):
        n = rng.randint(1, 40)
        comp_succ = [{d for d in range(c) if rng.random() < 0.1} for c in range(n)]
        queries = [(rng.randrange(n), rng.randrange(n)) for _ in range(60)]
        succ = {c: comp_succ[c] for c in range(n)}
        expected = {(s, d) for s, d in queries if d in _reach(succ, s)}
        for block in (1, 2, 3, 8, 4096):
            assert history.reachable_pairs(comp_succ, queries, block) == expected, block
