"""EXPLAIN against the playground: the operator tree shows the access path
each WHERE clause gets, TiDB's way (`Point_Get`, `Batch_Point_Get`,
`TableRangeScan`, `IndexLookUp`, `TableFullScan`), for SELECT and for the
rows UPDATE and DELETE read; EXPLAIN runs nothing."""

from __future__ import annotations

import pytest


@pytest.fixture
def cur(basalt_server):
    conn = basalt_server.connect()
    c = conn.cursor()
    c.execute("DROP DATABASE IF EXISTS explain_test")
    c.execute("CREATE DATABASE explain_test")
    c.execute("USE explain_test")
    c.execute("CREATE TABLE t (id INT PRIMARY KEY, k INT, u INT, c VARCHAR(10), KEY k (k), UNIQUE KEY u (u))")
    c.execute("INSERT INTO t VALUES (1, 10, 100, 'a'), (2, 20, 200, 'b')")
    yield c
    c.execute("DROP DATABASE explain_test")
    conn.close()


def plan(cur, sql: str) -> list[tuple[str, str, str]]:
    """(operator without its number, access object, operator info) per row."""
    cur.execute("EXPLAIN " + sql)
    assert [d[0] for d in cur.description] == ["id", "estRows", "task", "access object", "operator info"]
    return [(r[0].lstrip("└─├│ ").rsplit("_", 1)[0], r[3], r[4]) for r in cur.fetchall()]


def leaf(cur, sql: str) -> tuple[str, str, str]:
    return plan(cur, sql)[-1]


def test_access_paths(cur):
    assert leaf(cur, "SELECT c FROM t WHERE id = 2") == ("Point_Get", "table:t", "handle:2")
    assert leaf(cur, "SELECT c FROM t WHERE id IN (2, 1)") == ("Batch_Point_Get", "table:t", "handle:[2 1]")
    # A short closed handle range is read as points, a wide or open one scanned.
    assert leaf(cur, "SELECT c FROM t WHERE id BETWEEN 1 AND 5") == ("Batch_Point_Get", "table:t", "handle:[1 2 3 4 5]")
    assert leaf(cur, "SELECT c FROM t WHERE id > 0 AND id < 3") == ("Batch_Point_Get", "table:t", "handle:[1 2]")
    assert leaf(cur, "SELECT c FROM t WHERE id BETWEEN 1 AND 1000") == (
        "TableRangeScan", "table:t", "range:[1,1001), keep order:false")
    assert leaf(cur, "SELECT c FROM t WHERE id >= 1") == ("TableRangeScan", "table:t", "range:[1,+inf), keep order:false")
    assert leaf(cur, "SELECT c FROM t WHERE k = 10")[:2] == ("IndexLookUp", "table:t, index:k(k)")
    assert leaf(cur, "SELECT c FROM t WHERE u = 100")[:2] == ("IndexLookUp", "table:t, index:u(u)")
    assert leaf(cur, "SELECT c FROM t WHERE c = 'a'")[0] == "TableFullScan"


def test_operators_above_the_read(cur):
    ops = [op for op, _, _ in plan(cur, "SELECT k, COUNT(*) FROM t WHERE k > 0 GROUP BY k ORDER BY k LIMIT 1")]
    assert ops == ["Limit", "Sort", "Projection", "HashAgg", "Selection", "IndexLookUp"]
    ops = [op for op, _, _ in plan(cur, "SELECT * FROM t a JOIN t b ON a.id = b.k")]
    assert "NestedLoopJoin" in ops and ops.count("TableFullScan") == 2


def test_writes_are_explained_not_run(cur):
    assert [op for op, _, _ in plan(cur, "UPDATE t SET k = k + 1 WHERE id = 1")] == ["Update", "Selection", "Point_Get"]
    assert [op for op, _, _ in plan(cur, "DELETE FROM t WHERE id IN (1, 2)")] == ["Delete", "Selection", "Batch_Point_Get"]
    assert plan(cur, "INSERT INTO t VALUES (3, 30, 300, 'c')")[0][0] == "Insert"
    cur.execute("SELECT id, k FROM t ORDER BY id")
    assert cur.fetchall() == ((1, 10), (2, 20))
