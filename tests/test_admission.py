"""Admission control: with `max_running_statements` = 8, five hundred
connections each run a slow statement at once. The statements running,
sampled from `/metrics` throughout, never exceed 8; every statement either
finishes or fails with error 3024 after `running_statements_queue_timeout`;
a session inside a transaction is not made to wait; and the variables
behave as MySQL global-only variables do."""

from __future__ import annotations

import threading
import time
import urllib.request

import pymysql
import pytest

prometheus_parser = pytest.importorskip("prometheus_client.parser", reason="pip install prometheus_client")

BOUND, CONNECTIONS, SLEEP, QUEUE_TIMEOUT_MS = 8, 500, 0.5, 3000


def gauge(addr: str, name: str) -> float:
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as r:
        text = r.read().decode()
    for family in prometheus_parser.text_string_to_metric_families(text):
        if family.name == name:
            return sum(s.value for s in family.samples)
    raise AssertionError(f"{name} not in /metrics")


def test_a_burst_of_slow_statements_runs_within_the_bound(playground_factory):
    server = playground_factory().server
    addr = f"{server.host}:{server.status_port}"
    with server.connect() as admin, admin.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SET SESSION max_running_statements = 4")
        assert e.value.args[0] == 1229
        with pytest.raises(pymysql.err.MySQLError) as e:
            cur.execute("SET GLOBAL max_running_statements = -1")
        assert e.value.args[0] == 1231
        cur.execute(f"SET GLOBAL max_running_statements = {BOUND}")
        cur.execute(f"SET GLOBAL running_statements_queue_timeout = {QUEUE_TIMEOUT_MS}")
        cur.execute("SHOW GLOBAL VARIABLES LIKE 'max_running_statements'")
        assert cur.fetchone() == ("max_running_statements", str(BOUND))

    conns = [server.connect(read_timeout=60) for _ in range(CONNECTIONS)]
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CONNECTIONS + 1)

    def slow(conn):
        start.wait()
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT SLEEP({SLEEP})")
                outcome = "finished" if cur.fetchone() == (0,) else "wrong result"
        except pymysql.err.MySQLError as e:
            outcome = "3024" if e.args[0] == 3024 else f"error {e.args}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=slow, args=(c,), daemon=True) for c in conns]
    for t in threads:
        t.start()
    running, queued = [], []
    start.wait()
    began = time.time()
    # Meanwhile, a transaction's statements are not held in the line.
    with server.connect() as other, other.cursor() as cur:
        time.sleep(0.3)
        cur.execute("BEGIN")
        t0 = time.time()
        cur.execute("SELECT 1")
        in_txn = time.time() - t0
        cur.execute("COMMIT")
    while any(t.is_alive() for t in threads):
        running.append(gauge(addr, "basalt_sql_statements_running"))
        queued.append(gauge(addr, "basalt_sql_admission_queue"))
        time.sleep(0.05)
        assert time.time() - began < 60, "statements neither finished nor timed out"
    took = time.time() - began
    for c in conns:
        c.close()
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    print(f"{counts} in {took:.1f} s; running at most {max(running)}, queued at most {max(queued)}; "
          f"a statement inside a transaction took {in_txn * 1000:.0f} ms")
    assert len(outcomes) == CONNECTIONS
    assert set(counts) <= {"finished", "3024"}, counts
    assert counts.get("finished", 0) >= BOUND and counts.get("3024", 0) > 0, counts
    assert max(running) <= BOUND, max(running)
    assert max(queued) > 0
    assert in_txn < 1.0, in_txn
    assert gauge(addr, "basalt_sql_admission_timeouts") == counts["3024"]
