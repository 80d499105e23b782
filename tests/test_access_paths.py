"""Every access path returns what a full scan returns: point gets, IN lists
with duplicates, handle ranges, index ranges and OR-ed ranges on an index are
compared with the same predicate on `col + 0`, which no index can serve."""

from __future__ import annotations

import random

import pytest

PREDICATES = [
    "id = 17", "id IN (3, 3, 9, 400)", "id BETWEEN 10 AND 20", "id > 490", "id < 3 OR id > 497",
    "k = 7", "k IN (7, 7, 8)", "k BETWEEN 3 AND 5", "k > 18", "k <= 1",
    "k BETWEEN 2 AND 6 OR k BETWEEN 4 AND 9", "k = 3 OR k BETWEEN 10 AND 12 OR k = 3",
    "u = 'v42'", "u IN ('v1', 'V1 ', 'v2')", "k BETWEEN 4 AND 8 AND id < 100",
]


@pytest.fixture(scope="module")
def table(basalt_server):
    rng = random.Random(7)
    with basalt_server.connect() as conn, conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS access_paths")
        cur.execute("CREATE DATABASE access_paths")
        cur.execute("USE access_paths")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, k INT, u VARCHAR(10), KEY k_1 (k), UNIQUE KEY u_1 (u))")
        rows = [(i, rng.randrange(20) if i % 7 else None, f"v{i}") for i in range(1, 501)]
        cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", rows)
    return basalt_server


@pytest.mark.parametrize("predicate", PREDICATES)
def test_index_paths_match_full_scans(table, predicate):
    scan = predicate.replace("id ", "id + 0 ").replace("k ", "k + 0 ").replace("u ", "CONCAT(u, '') ")
    with table.connect(database="access_paths") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, k, u FROM t WHERE {predicate} ORDER BY id")
        indexed = cur.fetchall()
        cur.execute(f"SELECT id, k, u FROM t WHERE {scan} ORDER BY id")
        full = cur.fetchall()
    assert indexed == full, f"{predicate}: {len(indexed)} rows by index, {len(full)} by scan"
    assert len(indexed) > 0


@pytest.mark.parametrize("order", ["k", "k DESC", "u DESC", "k, u DESC"])
def test_top_n_keeps_the_rows_a_full_sort_puts_first(table, order):
    """ORDER BY ... LIMIT is a TopN that never sorts the rows it drops; among
    equal keys (k has 20 values and NULLs over 500 rows) it keeps the rows a
    full sort puts first, so pages of a listing neither repeat nor skip rows."""
    with table.connect(database="access_paths") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, k, u FROM t ORDER BY {order}")
        full = cur.fetchall()
        pages = []
        for offset in range(0, 500, 37):
            cur.execute(f"SELECT id, k, u FROM t ORDER BY {order} LIMIT {offset}, 37")
            pages.extend(cur.fetchall())
        cur.execute(f"SELECT id, k, u FROM t ORDER BY {order} LIMIT 0")
        assert cur.fetchall() == ()
    assert tuple(pages) == full
