"""EXPLAIN against the playground: the operator tree shows the access path
each WHERE clause gets, TiDB's way (`Point_Get`, `Batch_Point_Get`,
`TableRangeScan`, `IndexLookUp`, `TableFullScan`), for SELECT and for the
rows UPDATE and DELETE read; EXPLAIN runs nothing. EXPLAIN ANALYZE runs a
query and reports each operator's actual rows, runs and time."""

from __future__ import annotations

import re

import pymysql
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


def test_index_hints_steer_the_access_path(cur):
    cur.execute("CREATE TABLE h (id INT PRIMARY KEY, a INT, b INT, KEY a (a), KEY b (b), KEY ab (a, b))")
    cur.execute("INSERT INTO h VALUES (1, 1, 1), (2, 1, 2), (3, 2, 2)")
    where = "WHERE a = 1 AND b = 2"
    assert leaf(cur, f"SELECT id FROM h {where}")[1] == "table:h, index:a(a)"
    assert leaf(cur, f"SELECT id FROM h IGNORE INDEX (a) {where}")[1] == "table:h, index:b(b)"
    assert leaf(cur, f"SELECT id FROM h USE INDEX (ab) {where}")[1] == "table:h, index:ab(a, b)"
    assert leaf(cur, f"SELECT id FROM h FORCE INDEX (b) {where}")[1] == "table:h, index:b(b)"
    assert leaf(cur, f"SELECT id FROM h USE INDEX () {where}")[0] == "TableFullScan"
    assert leaf(cur, f"SELECT id FROM h IGNORE KEY (a, b, ab) {where}")[0] == "TableFullScan"
    # FOR ORDER BY / GROUP BY hints do not change how rows are found.
    assert leaf(cur, f"SELECT id FROM h USE INDEX FOR ORDER BY (b) {where}")[1] == "table:h, index:a(a)"
    # PRIMARY names the clustered key: without it, a handle is not a point get.
    assert leaf(cur, "SELECT id FROM h WHERE id = 2")[0] == "Point_Get"
    assert leaf(cur, "SELECT id FROM h IGNORE INDEX (PRIMARY) WHERE id = 2")[0] == "TableFullScan"
    # Hints on joined tables and on UPDATE / DELETE targets.
    rows = plan(cur, "SELECT * FROM h x IGNORE INDEX (a) JOIN h y USE INDEX () ON x.id = y.id WHERE x.a = 1 AND y.a = 1")
    assert ("IndexLookUp", "table:h, index:ab(a, b)") in [r[:2] for r in rows]
    assert leaf(cur, f"UPDATE h USE INDEX (b) SET a = a {where}")[1] == "table:h, index:b(b)"
    # The answers do not change.
    for hint in ["", "IGNORE INDEX (a)", "USE INDEX ()", "FORCE INDEX (ab)", "IGNORE INDEX (PRIMARY)"]:
        cur.execute(f"SELECT id FROM h {hint} {where} ORDER BY id")
        assert cur.fetchall() == ((2,),), hint
    for sql in ["SELECT * FROM h USE INDEX (nope)", "UPDATE h IGNORE INDEX (nope) SET a = 1",
                "SELECT * FROM h FORCE INDEX FOR ORDER BY (nope) ORDER BY a"]:
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute(sql)
        assert e.value.args == (1176, "Key 'nope' doesn't exist in table 'h'"), sql


def test_operators_above_the_read(cur):
    ops = [op for op, _, _ in plan(cur, "SELECT k, COUNT(*) FROM t WHERE k > 0 GROUP BY k ORDER BY k")]
    assert ops == ["Sort", "Projection", "HashAgg", "Selection", "IndexLookUp"]
    # ORDER BY ... LIMIT keeps only the rows the limit takes: a TopN.
    rows = plan(cur, "SELECT k FROM t ORDER BY k DESC, id LIMIT 2, 3")
    assert [op for op, _, _ in rows][:2] == ["Limit", "TopN"], rows
    assert rows[1][2] == "Column#0:desc, Column#1, count:5", rows
    # An equality between the sides is a hash join key; a join without one
    # tries every pair.
    rows = plan(cur, "SELECT * FROM t a JOIN t b ON a.id = b.k")
    assert [op for op, _, _ in rows] == ["Projection", "HashJoin", "TableFullScan", "TableFullScan"]
    assert rows[1][2] == "inner join, equal:[eq(Column#0, Column#6)]", rows
    ops = [op for op, _, _ in plan(cur, "SELECT * FROM t a JOIN t b ON a.id < b.k")]
    assert ops == ["Projection", "NestedLoopJoin", "TableFullScan", "TableFullScan"]
    # Comma joins: WHERE's parts on one table filter it below the join (and
    # pick its access path), equalities across tables are keys.
    rows = plan(cur, "SELECT a.c FROM t a, t b WHERE b.id = 1 AND a.k = b.k")
    assert [op for op, _, _ in rows] == ["Projection", "HashJoin", "TableFullScan", "Selection", "Point_Get"], rows


def test_writes_are_explained_not_run(cur):
    assert [op for op, _, _ in plan(cur, "UPDATE t SET k = k + 1 WHERE id = 1")] == ["Update", "Selection", "Point_Get"]
    assert [op for op, _, _ in plan(cur, "DELETE FROM t WHERE id IN (1, 2)")] == ["Delete", "Selection", "Batch_Point_Get"]
    assert plan(cur, "INSERT INTO t VALUES (3, 30, 300, 'c')")[0][0] == "Insert"
    cur.execute("SELECT id, k FROM t ORDER BY id")
    assert cur.fetchall() == ((1, 10), (2, 20))


def test_explain_analyze_reports_what_each_operator_did(cur):
    cur.execute("INSERT INTO t VALUES (3, 10, 300, 'c'), (4, 30, 400, 'd'), (5, 10, 500, 'e')")
    cur.execute("EXPLAIN ANALYZE SELECT k, COUNT(*) FROM t WHERE id > 1 GROUP BY k ORDER BY k")
    assert [d[0] for d in cur.description] == [
        "id", "estRows", "actRows", "task", "access object", "execution info", "operator info", "memory", "disk"]
    rows = cur.fetchall()
    ops = {r[0].lstrip("└─├│ ").rsplit("_", 1)[0]: r for r in rows}
    # Rows with id > 1: 2..5; their k values: 20, 10, 30, 10 -> three groups.
    assert int(ops["TableRangeScan"][2]) == 4, rows
    assert int(ops["HashAgg"][2]) == 3 and int(ops["Sort"][2]) == 3, rows
    times = []
    for r in rows:
        m = re.fullmatch(r"time:([\d.]+)(ns|µs|ms|s), loops:(\d+)", r[5])
        assert m, r[5]
        assert int(m.group(3)) == 1
        times.append(float(m.group(1)) * {"ns": 1e-9, "µs": 1e-6, "ms": 1e-3, "s": 1}[m.group(2)])
    # An operator's time includes its inputs': it never falls down the tree.
    assert times == sorted(times, reverse=True), times
    # Point gets and a union, each input counted apart.
    cur.execute("EXPLAIN ANALYZE SELECT id FROM t WHERE id IN (1, 2, 9) UNION ALL SELECT id FROM t WHERE c <> 'zz'")
    acts = [(r[0].lstrip("└─├│ ").rsplit("_", 1)[0], int(r[2])) for r in cur.fetchall()]
    assert acts[0] == ("Union", 7), acts
    assert ("Batch_Point_Get", 2) in acts and ("TableFullScan", 5) in acts, acts
    # A join: each side counted apart, the right one numbered after the left's subtree.
    cur.execute("EXPLAIN ANALYZE SELECT a.id FROM t a JOIN t b ON a.id = b.id WHERE b.k = 10")
    acts = [(r[0].lstrip("└─├│ ").rsplit("_", 1)[0], int(r[2])) for r in cur.fetchall()]
    # b.k = 10 filters b below the join (through the index on k): 3 rows of
    # b meet 5 of a, and the hash join makes only the 3 pairs that match.
    assert acts == [("Projection", 3), ("HashJoin", 3), ("TableFullScan", 5),
                    ("Selection", 3), ("IndexLookUp", 3)], acts
    # Only queries: a write under EXPLAIN ANALYZE is refused, and nothing ran.
    with pytest.raises(pymysql.MySQLError) as e:
        cur.execute("EXPLAIN ANALYZE DELETE FROM t")
    assert e.value.args[0] == 1235, e.value
    cur.execute("SELECT COUNT(*) FROM t")
    assert cur.fetchone() == (5,)


def test_a_limit_stops_the_reads_below_it(cur):
    """Below a LIMIT, reads, filters and projections hand rows on batch by
    batch, and the LIMIT stops pulling once it has its rows: the scan reads
    its first request (1,024 keys), not the table's 5,000 rows."""
    cur.execute("CREATE TABLE big (id INT PRIMARY KEY, v INT, KEY v (v))")
    for start in range(0, 5000, 1000):
        cur.execute("INSERT INTO big VALUES " + ", ".join(f"({i}, {i % 7})" for i in range(start, start + 1000)))

    def acts(sql):
        cur.execute("EXPLAIN ANALYZE " + sql)
        return [(r[0].lstrip("└─├│ ").rsplit("_", 1)[0], int(r[2])) for r in cur.fetchall()]

    assert acts("SELECT * FROM big LIMIT 3") == [("Limit", 3), ("Projection", 1024), ("TableFullScan", 1024)]
    assert acts("SELECT id + 1 FROM big WHERE v + 0 = 3 LIMIT 2, 5") == [
        ("Limit", 5), ("Projection", 146), ("Selection", 146), ("TableFullScan", 1024)]
    # Through an index: its first request's rows.
    assert acts("SELECT * FROM big WHERE v = 3 LIMIT 1")[-1] == ("IndexLookUp", 714)
    # More than a request's rows: the next request asks for twice as many.
    assert acts("SELECT id FROM big LIMIT 2000")[-1] == ("TableFullScan", 3072)
    # What the limit does not stream through (a sort) still reads everything.
    assert acts("SELECT * FROM big ORDER BY v LIMIT 3")[-1] == ("TableFullScan", 5000)
    cur.execute("SELECT id FROM big WHERE v + 0 = 3 LIMIT 2, 5")
    assert cur.fetchall() == ((17,), (24,), (31,), (38,), (45,))
    cur.execute("SELECT id FROM big LIMIT 4998, 10")
    assert cur.fetchall() == ((4998,), (4999,))
