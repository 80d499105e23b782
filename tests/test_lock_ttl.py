"""A pessimistic transaction keeps its row locks for as long as it lives, as
in MySQL: its locks carry a 20 s TTL (after which others may roll an
abandoned transaction back), and a live transaction renews its primary lock
every 10 s (TiDB's TTL manager), however long it sits idle."""

from __future__ import annotations

import threading
import time

import pymysql


def test_an_idle_transaction_keeps_its_row_locks(basalt_server):
    setup = basalt_server.connect()
    with setup.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS lock_ttl")
        cur.execute("CREATE DATABASE lock_ttl")
        cur.execute("CREATE TABLE lock_ttl.t (id INT PRIMARY KEY, v INT NOT NULL)")
        cur.execute("INSERT INTO lock_ttl.t VALUES (1, 0)")
    holder, waiter = basalt_server.connect(), basalt_server.connect(read_timeout=120)
    with holder.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("UPDATE lock_ttl.t SET v = 1 WHERE id = 1")
    done: dict = {}

    def wait_for_the_row():
        try:
            with waiter.cursor() as cur:
                cur.execute("SET innodb_lock_wait_timeout = 100")
                cur.execute("BEGIN")
                cur.execute("UPDATE lock_ttl.t SET v = v + 10 WHERE id = 1")
                done["at"] = time.monotonic()
                cur.execute("COMMIT")
        except pymysql.MySQLError as e:
            done["error"] = e

    thread = threading.Thread(target=wait_for_the_row)
    started = time.monotonic()
    thread.start()
    # Past the lock's TTL, and past two renewals.
    time.sleep(26)
    assert not done, f"the waiter got the row from a live transaction after {done.get('at', 0) - started:.1f} s: {done}"
    with holder.cursor() as cur:
        committed_at = time.monotonic()
        cur.execute("COMMIT")
    thread.join(30)
    assert "error" not in done, done
    assert done["at"] >= committed_at
    with setup.cursor() as cur:
        cur.execute("SELECT v FROM lock_ttl.t WHERE id = 1")
        assert cur.fetchone()[0] == 11
        cur.execute("DROP DATABASE lock_ttl")
