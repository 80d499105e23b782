"""No statement brings the server down: the per-statement memory quota
(`tidb_mem_quota_query`, TiDB's error 8175) and `max_execution_time`
(MySQL's error 3024).

A cross join of four 100-row tables has 10^8 combinations. Grouped by all
four ids WITH ROLLUP, every combination is a group the aggregation must
hold: under the default quota (1 GiB) the statement fails with 8175 while
the process's resident memory, sampled from `/metrics`, stays below
1.5 GiB; under a small quota it fails sooner. Meanwhile another
connection's point selects see no error, and afterwards the connection
that ran it is still usable. Rows that are only counted stream through the
join into the aggregate, and rows of a result reach the client as they
come, so a quota far below the join's rows stops neither. A sort or a
plain grouping past its quota puts rows in temporary files and finishes
(TiDB's `tidb_enable_tmp_storage_on_oom`). When no combination is kept,
the statement runs long but flat, and `max_execution_time` stops it with
3024. Eight such statements at once under `tidb_server_memory_limit =
2GB` are stopped, the one holding the most first (TiDB's 8176), before the
process passes 2.5 GiB.

Uses the shared `basalt_server` fixture (tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.request

import pytest

pymysql = pytest.importorskip("pymysql")

GIB = 1 << 30


def run(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def streamed(conn, sql):
    """Every row of `sql`, read as it comes (an unbuffered cursor, as
    `mysql --quick`)."""
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(sql)
        return list(cur)


def error_code(conn, sql):
    try:
        run(conn, sql)
    except pymysql.MySQLError as e:
        return e.args[0]
    return None


@pytest.fixture(scope="module")
def four_tables(basalt_server):
    conn = basalt_server.connect()
    run(conn, "CREATE DATABASE IF NOT EXISTS memq")
    run(conn, "USE memq")
    values = ", ".join(f"({i}, {i % 7}, 'row {i} padding padding')" for i in range(100))
    for name in ("t1", "t2", "t3", "t4"):
        run(conn, f"DROP TABLE IF EXISTS {name}")
        run(conn, f"CREATE TABLE {name} (id INT PRIMARY KEY, x INT, s VARCHAR(40))")
        run(conn, f"INSERT INTO {name} VALUES {values}")
    run(conn, "COMMIT")
    yield conn
    run(conn, "DROP DATABASE memq")
    conn.close()


# 10^8 combinations, nearly all kept, each its own group: the groups grow
# until the quota stops them. WITH ROLLUP, whose totals need every group at
# once, keeps them in memory (a plain GROUP BY would go to disk, see
# test_a_grouping_past_its_quota_spills_to_disk).
CROSS_JOIN = (
    "SELECT t1.id, t2.id, t3.id, t4.id, COUNT(*) FROM t1, t2, t3, t4 "
    "WHERE t1.x + t2.x + t3.x + t4.x >= 0 AND t1.s <> t4.s GROUP BY 1, 2, 3, 4 WITH ROLLUP"
)


def resident_bytes(server) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.status_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return int(float(re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M).group(1)))


def test_a_small_quota_stops_the_statement_and_the_connection_goes_on(four_tables):
    conn = four_tables
    run(conn, "SET tidb_mem_quota_query = 16777216")
    try:
        assert error_code(conn, CROSS_JOIN) == 8175
        # The same connection goes on; a statement within the quota runs.
        assert run(conn, "SELECT COUNT(*) FROM t1, t2 WHERE t1.id = t2.id") == ((100,),)
    finally:
        run(conn, "SET tidb_mem_quota_query = DEFAULT")
    assert run(conn, "SELECT @@tidb_mem_quota_query") == ((GIB,),)


def test_counted_rows_stream_past_a_small_quota(four_tables):
    conn = four_tables
    run(conn, "SET tidb_mem_quota_query = 16777216")
    try:
        # 10^6 joined rows of ~150 bytes: ten times the quota, were they held.
        assert run(
            conn, "SELECT COUNT(*), SUM(t3.x) FROM t1, t2, t3 WHERE t1.x + t2.x + t3.x >= 0"
        ) == ((1000000, 2950000),)
    finally:
        run(conn, "SET tidb_mem_quota_query = DEFAULT")


def test_a_result_larger_than_the_quota_streams_to_the_client(basalt_server, four_tables):
    conn = four_tables
    run(conn, "SET tidb_mem_quota_query = 16777216")
    watcher = basalt_server.connect()
    sql = "SELECT t1.id, t2.id, t3.id, t3.s FROM t1, t2, t3"
    try:
        # 10^6 rows of ~150 bytes, read as they come (an unbuffered
        # cursor, as `mysql --quick`): ten times the quota, were they held.
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(sql)
            first = cur.fetchone()
            # The first rows reached the client while the statement runs.
            assert run(
                watcher,
                "SELECT COUNT(*) FROM information_schema.processlist "
                f"WHERE command = 'Query' AND info = '{sql}'",
            ) == ((1,),)
            count, total = 1, sum(first[:3])
            for row in cur:
                count += 1
                total += row[0] + row[1] + row[2]
        assert (count, total) == (1000000, 3 * 4950 * 10000)
    finally:
        watcher.close()
        run(conn, "SET tidb_mem_quota_query = DEFAULT")


class Background:
    """Work on a thread of its own (`work`, which stops once `done` is set)
    while the `with` block runs."""

    def __init__(self, server):
        self.server = server
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.work)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


class PeakSampler(Background):
    """The process's largest resident memory, sampled every 100 ms."""

    def __init__(self, server):
        super().__init__(server)
        self.peak = resident_bytes(server)

    def work(self):
        while not self.done.is_set():
            self.peak = max(self.peak, resident_bytes(self.server))
            time.sleep(0.1)


def metric(server, name) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.status_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return float(re.search(rf"^{re.escape(name)} (\S+)$", text, re.M).group(1))


SORT_SPILLS = 'basalt_sql_spills_total{operator="sort"}'


def test_a_sort_past_its_quota_spills_to_disk(basalt_server, four_tables):
    conn = four_tables
    run(conn, "DROP TABLE IF EXISTS sorted")
    run(conn, "CREATE TABLE sorted (id INT PRIMARY KEY, k INT, d DECIMAL(10,2), s VARCHAR(40))")
    # 200,000 rows, their sort keys scattered, ~70 MB as the quota counts.
    run(
        conn,
        "INSERT INTO sorted SELECT t1.id * 10000 + t2.id * 100 + t3.id, "
        "(t1.id * 7919 + t2.id * 104729 + t3.id * 31) % 100003, t3.id / 4, t1.s "
        "FROM t1, t2, t3 WHERE t3.id < 20",
    )
    run(conn, "COMMIT")
    spills = metric(basalt_server, SORT_SPILLS)
    run(conn, "SET tidb_mem_quota_query = 33554432")
    try:
        got = streamed(conn, "SELECT k, id, d, s FROM sorted ORDER BY k DESC, id")
        assert len(got) == 200000
        assert got == sorted(got, key=lambda r: (-r[0], r[1]))
        # Values come back from disk exactly: decimals keep their scale.
        assert all(str(r[2]) == f"{(r[1] % 100) / 4:.2f}" for r in got)
        assert all(r[3] == f"row {r[1] // 10000} padding padding" for r in got)
        assert metric(basalt_server, SORT_SPILLS) > spills

        # ORDER BY ... LIMIT holds only its rows, however long its input.
        spills = metric(basalt_server, SORT_SPILLS)
        firsts = sorted(got, key=lambda r: (r[0], r[1]))[:3]
        assert run(conn, "SELECT k, id FROM sorted ORDER BY k, id LIMIT 3") == tuple(
            (k, i) for k, i, _, _ in firsts
        )
        assert metric(basalt_server, SORT_SPILLS) == spills

        # EXPLAIN ANALYZE says what the sort wrote.
        plan = run(conn, "EXPLAIN ANALYZE SELECT k, id, d, s FROM sorted ORDER BY k")
        (sort,) = [r for r in plan if "Sort_" in r[0]]
        assert sort[-1] != "N/A" and sort[-1].endswith("MB")

        # With temporary storage off, the quota stops the statement.
        assert error_code(conn, "SET tidb_enable_tmp_storage_on_oom = OFF") == 1229
        run(conn, "SET GLOBAL tidb_enable_tmp_storage_on_oom = OFF")
        assert error_code(conn, "SELECT k, id, d, s FROM sorted ORDER BY k") == 8175
    finally:
        run(conn, "SET GLOBAL tidb_enable_tmp_storage_on_oom = ON")
        run(conn, "SET tidb_mem_quota_query = DEFAULT")
        run(conn, "DROP TABLE sorted")


HASH_AGG_SPILLS = 'basalt_sql_spills_total{operator="hash_agg"}'


def test_a_grouping_past_its_quota_spills_to_disk(basalt_server, four_tables):
    conn = four_tables
    spills = metric(basalt_server, HASH_AGG_SPILLS)
    run(conn, "SET tidb_mem_quota_query = 16777216")
    try:
        # 10^5 groups of 10 joined rows each, ~50 MB of groups as the quota
        # counts them.
        got = streamed(
            conn,
            "SELECT t1.id, t2.id, t3.id % 10, COUNT(*), SUM(t3.x), COUNT(DISTINCT t3.x), "
            "MAX(t3.s) FROM t1, t2, t3 GROUP BY t1.id, t2.id, t3.id % 10",
        )
        assert metric(basalt_server, HASH_AGG_SPILLS) > spills
        assert sorted(r[:3] for r in got) == [
            (a, b, m) for a in range(100) for b in range(100) for m in range(10)
        ]
        xs = {m: [i % 7 for i in range(m, 100, 10)] for m in range(10)}
        for _, _, m, count, total, distinct, top in got:
            assert (count, total, distinct) == (10, sum(xs[m]), len(set(xs[m])))
            assert top == max(f"row {i} padding padding" for i in range(m, 100, 10))
    finally:
        run(conn, "SET tidb_mem_quota_query = DEFAULT")


HASH_JOIN_SPILLS = 'basalt_sql_spills_total{operator="hash_join"}'


def test_a_hash_join_past_its_quota_spills_to_disk(basalt_server, four_tables):
    conn = four_tables
    for name in ("wide", "probe"):
        run(conn, f"DROP TABLE IF EXISTS {name}")
    run(conn, "CREATE TABLE wide (id INT PRIMARY KEY, k INT, s VARCHAR(200))")
    # 10,000 rows of ~100 characters, each k twice: ~4 MB to hash.
    run(
        conn,
        "INSERT INTO wide SELECT t1.id * 100 + t2.id, (t1.id * 100 + t2.id) % 5000, "
        "CONCAT(t1.s, t2.s, t1.s, t2.s) FROM t1, t2",
    )
    run(conn, "CREATE TABLE probe (id INT PRIMARY KEY, k INT)")
    run(conn, "INSERT INTO probe VALUES (1, 100), (2, NULL), (3, 9999)")
    run(conn, "COMMIT")
    spills = metric(basalt_server, HASH_JOIN_SPILLS)
    run(conn, "SET tidb_mem_quota_query = 2097152")
    try:
        got = streamed(conn, "SELECT a.id, b.id, b.s FROM wide a JOIN wide b ON a.k = b.k")
        assert metric(basalt_server, HASH_JOIN_SPILLS) > spills
        assert sorted((a, b) for a, b, _ in got) == sorted(
            (a, b) for a in range(10000) for b in (a % 5000, a % 5000 + 5000)
        )
        assert all(len(s) > 80 for _, _, s in got)

        # A left join keeps its unmatched rows, NULL keys among them.
        spills = metric(basalt_server, HASH_JOIN_SPILLS)
        got = run(conn, "SELECT p.id, b.id FROM probe p LEFT JOIN wide b ON b.k = p.k")
        assert metric(basalt_server, HASH_JOIN_SPILLS) > spills
        assert sorted(got, key=repr) == sorted(
            [(1, 100), (1, 5100), (2, None), (3, None)], key=repr
        )
    finally:
        run(conn, "SET tidb_mem_quota_query = DEFAULT")
        run(conn, "DROP TABLE wide")
        run(conn, "DROP TABLE probe")


def test_the_server_memory_limit_is_global_and_checked(four_tables):
    conn = four_tables
    assert run(conn, "SELECT @@tidb_server_memory_limit") == (("80%",),)
    assert error_code(conn, "SET tidb_server_memory_limit = '2GB'") == 1229
    assert error_code(conn, "SET GLOBAL tidb_server_memory_limit = '2 lots'") == 1231
    assert error_code(conn, "SET GLOBAL tidb_server_memory_limit = '120%'") == 1231
    assert error_code(conn, "SET GLOBAL tidb_server_memory_limit_sess_min_size = '5%'") == 1231


def test_the_server_limit_stops_the_heaviest_statements(basalt_server, four_tables):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    conn = four_tables
    codes = []

    def heavy():
        other = basalt_server.connect(database="memq")
        try:
            codes.append(error_code(other, CROSS_JOIN))
        finally:
            other.close()

    run(conn, "SET GLOBAL tidb_server_memory_limit = '2GB'")
    try:
        threads = [threading.Thread(target=heavy) for _ in range(8)]
        with PeakSampler(basalt_server) as sampler:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        run(conn, "SET GLOBAL tidb_server_memory_limit = DEFAULT")
    # Each stopped by its own quota or by the node's limit, never the server.
    assert set(codes) <= {8175, 8176} and 8176 in codes, codes
    assert sampler.peak < 2.5 * GIB, f"resident memory reached {sampler.peak / GIB:.2f} GiB"
    assert run(conn, "SELECT COUNT(*) FROM t1") == ((100,),)


class PointSelects(Background):
    """Point selects on another connection; `errors` holds what went
    wrong with them."""

    def __init__(self, server):
        super().__init__(server)
        self.errors = []

    def work(self):
        other = self.server.connect(database="memq")
        try:
            while not self.done.is_set():
                if run(other, "SELECT s FROM t1 WHERE id = 42") != (("row 42 padding padding",),):
                    self.errors.append("wrong answer")
        except pymysql.MySQLError as e:
            self.errors.append(e)
        finally:
            other.close()


def test_the_default_quota_keeps_the_server_up(basalt_server, four_tables):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    conn = four_tables
    with PeakSampler(basalt_server) as sampler, PointSelects(basalt_server) as selects:
        code = error_code(conn, CROSS_JOIN)
    assert code == 8175
    assert selects.errors == []
    assert sampler.peak < 1.5 * GIB, f"resident memory reached {sampler.peak / GIB:.2f} GiB"


def test_max_execution_time_stops_a_long_select_with_3024(four_tables):
    conn = four_tables
    run(conn, "SET max_execution_time = 300")
    try:
        started = time.monotonic()
        # 10^8 combinations, none kept: about a minute here without a limit.
        code = error_code(
            conn,
            "SELECT COUNT(*) FROM t1, t2, t3, t4 WHERE t1.x + t2.x + t3.x + t4.x < 0",
        )
        elapsed = time.monotonic() - started
        assert code == 3024
        assert elapsed < 10
        # A short statement under the same setting finishes.
        assert run(conn, "SELECT COUNT(*) FROM t1") == ((100,),)
    finally:
        run(conn, "SET max_execution_time = 0")


LONG = os.environ.get("BASALT_MEMORY_LONG") == "1"


@pytest.mark.skipif(not LONG, reason="2,000,000 rows: set BASALT_MEMORY_LONG=1")
def test_two_million_rows_sort_group_and_join_under_the_default_quota(basalt_server, four_tables):
    """The issue's sizes under default settings: each statement spills and
    finishes while resident memory stays below 1.5 GiB and point selects
    on another connection see no error."""
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    conn = four_tables
    run(conn, "DROP TABLE IF EXISTS big")
    run(conn, "CREATE TABLE big (id INT PRIMARY KEY, k INT, pad VARCHAR(500))")
    # 2,000,000 rows of ~400 characters: ~1.4 GB as the quota counts them.
    for half in range(2):
        run(
            conn,
            f"INSERT INTO big SELECT {half} * 1000000 + t1.id * 10000 + t2.id * 100 + t3.id, "
            "(t1.id * 7919 + t2.id * 104729 + t3.id * 31 + "
            f"{half}) % 1000003, REPEAT(t1.s, 16) FROM t1, t2, t3",
        )
        run(conn, "COMMIT")
    spills = {op: metric(basalt_server, f'basalt_sql_spills_total{{operator="{op}"}}')
              for op in ("sort", "hash_agg", "hash_join")}
    with PeakSampler(basalt_server) as sampler, PointSelects(basalt_server) as selects:
        try:
            lowest = run(conn, "SELECT k, id FROM big ORDER BY k, id LIMIT 1")[0]
            highest = run(conn, "SELECT k, id FROM big ORDER BY k DESC, id DESC LIMIT 1")[0]
            with conn.cursor(pymysql.cursors.SSCursor) as cur:
                cur.execute("SELECT k, id, pad FROM big ORDER BY k, id")
                first = cur.fetchone()
                count, last = 1, first
                for row in cur:
                    assert row[:2] > last[:2]
                    count, last = count + 1, row
            assert (count, first[:2], last[:2]) == (2000000, lowest, highest)
            grouped = run(
                conn,
                "SELECT COUNT(*), SUM(c) FROM (SELECT id, pad, COUNT(*) AS c FROM big "
                "GROUP BY id, pad) AS g",
            )
            assert grouped == ((2000000, 2000000),)
            joined = run(conn, "SELECT COUNT(*) FROM t1 JOIN big ON big.k = t1.id")
            expected = run(conn, "SELECT COUNT(*) FROM big WHERE k < 100")
            assert joined == expected
        finally:
            run(conn, "DROP TABLE big")
    assert selects.errors == []
    assert sampler.peak < 1.5 * GIB, f"resident memory reached {sampler.peak / GIB:.2f} GiB"
    for op, before in spills.items():
        assert metric(basalt_server, f'basalt_sql_spills_total{{operator="{op}"}}') > before, op
