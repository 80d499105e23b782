"""No statement brings the server down: the per-statement memory quota
(`tidb_mem_quota_query`, TiDB's error 8175) and `max_execution_time`
(MySQL's error 3024).

A cross join of four 100-row tables has 10^8 combinations. Grouped by all
four ids, every combination is a group the aggregation must hold: under
the default quota (1 GiB) the statement fails with 8175 while the
process's resident memory, sampled from `/metrics`, stays below 1.5 GiB;
under a small quota it fails sooner. Meanwhile another connection's point
selects see no error, and afterwards the connection that ran it is still
usable. Rows that are only counted stream through the join into the
aggregate, and rows of a result reach the client as they come, so a quota
far below the join's rows stops neither. When
no combination is kept, the statement runs long but flat, and
`max_execution_time` stops it with 3024. Eight such statements at once
under `tidb_server_memory_limit = 2GB` are stopped, the one holding the
most first (TiDB's 8176), before the process passes 2.5 GiB.

Uses the shared `basalt_server` fixture (tests/conftest.py).
"""

from __future__ import annotations

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
# until the quota stops them.
CROSS_JOIN = (
    "SELECT t1.id, t2.id, t3.id, t4.id, COUNT(*) FROM t1, t2, t3, t4 "
    "WHERE t1.x + t2.x + t3.x + t4.x >= 0 AND t1.s <> t4.s GROUP BY 1, 2, 3, 4"
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


class PeakSampler:
    """The process's largest resident memory, sampled every 100 ms while
    the `with` block runs."""

    def __init__(self, server):
        self.server = server
        self.peak = resident_bytes(server)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample)

    def sample(self):
        while not self.done.is_set():
            self.peak = max(self.peak, resident_bytes(self.server))
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


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


def test_the_default_quota_keeps_the_server_up(basalt_server, four_tables):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    conn = four_tables
    errors = []
    done = threading.Event()

    def point_selects():
        other = basalt_server.connect(database="memq")
        try:
            while not done.is_set():
                if run(other, "SELECT s FROM t1 WHERE id = 42") != (("row 42 padding padding",),):
                    errors.append("wrong answer")
        except pymysql.MySQLError as e:
            errors.append(e)
        finally:
            other.close()

    selects = threading.Thread(target=point_selects)
    with PeakSampler(basalt_server) as sampler:
        selects.start()
        try:
            code = error_code(conn, CROSS_JOIN)
        finally:
            done.set()
            selects.join()
    assert code == 8175
    assert errors == []
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
