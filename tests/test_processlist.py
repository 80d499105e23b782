"""SHOW PROCESSLIST and KILL against the playground, with pymysql: the list
shows every connection with what it runs and for how long; KILL QUERY stops
a running statement (SLEEP returns 1, as in MySQL; a long scan fails with
1317 within a second) and leaves the connection usable; KILL CONNECTION
closes it, even when idle; unknown ids get 1094."""

from __future__ import annotations

import threading
import time

import pymysql
import pytest


def processlist(conn, full: bool = True) -> dict[int, dict]:
    with conn.cursor() as cur:
        cur.execute("SHOW FULL PROCESSLIST" if full else "SHOW PROCESSLIST")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
        for row in rows:
            row["Id"], row["Time"] = int(row["Id"]), int(row["Time"])
        return {row["Id"]: row for row in rows}


def connection_id(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        return cur.fetchone()[0]


def run_in_background(conn, sql: str) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def work():
        start = time.monotonic()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                out["rows"] = cur.fetchall()
        except pymysql.MySQLError as e:
            out["error"] = e
        out["seconds"] = time.monotonic() - start

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t, out


def wait_for_command(admin, cid: int, command: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = processlist(admin).get(cid)
        if row and row["Command"] == command:
            return row
        time.sleep(0.05)
    pytest.fail(f"connection {cid} never showed {command}: {processlist(admin)}")


def test_processlist_shows_every_connection_and_its_statement(basalt_server):
    admin, worker = basalt_server.connect(), basalt_server.connect()
    try:
        worker.select_db("test")
        wid = connection_id(worker)
        idle = processlist(admin)[wid]
        assert (idle["Command"], idle["db"], idle["Info"], idle["User"]) == ("Sleep", "test", None, basalt_server.user)
        t, out = run_in_background(worker, "SELECT SLEEP(1.5)")
        busy = wait_for_command(admin, wid, "Query")
        assert busy["Info"] == "SELECT SLEEP(1.5)" and busy["State"] == "executing"
        # The list reports itself too.
        me = processlist(admin)[connection_id(admin)]
        assert me["Info"] == "SHOW FULL PROCESSLIST"
        t.join(10)
        assert out["rows"] == ((0,),)
        time.sleep(1.1)
        assert processlist(admin)[wid]["Time"] >= 1  # idle for a second now
        # Without FULL, statement text is cut at 100 characters.
        long_sql = "SELECT SLEEP(1) + " + " + ".join(["1"] * 60)
        t, out = run_in_background(worker, long_sql)
        wait_for_command(admin, wid, "Query")
        assert processlist(admin, full=False)[wid]["Info"] == long_sql[:100]
        t.join(10)
        assert out["rows"] == ((60,),)
    finally:
        worker.close()
        gone_by = time.monotonic() + 5
        while wid in processlist(admin) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert wid not in processlist(admin)
        admin.close()


def start_busy(server, sql: str):
    """Two connections, `admin` and `worker`; `worker` runs `sql` in the
    background, and the list shows it running."""
    admin, worker = server.connect(), server.connect()
    wid = connection_id(worker)
    t, out = run_in_background(worker, sql)
    wait_for_command(admin, wid, "Query")
    return admin, worker, wid, t, out


def test_information_schema_processlist_matches_show_processlist(basalt_server):
    admin, worker, wid, t, out = start_busy(basalt_server, "SELECT SLEEP(1.2)")
    try:
        time.sleep(1.05)
        with admin.cursor() as cur:
            cur.execute(
                "SELECT ID, USER, COMMAND, TIME, STATE, INFO FROM information_schema.PROCESSLIST "
                "WHERE COMMAND <> 'Sleep' ORDER BY ID"
            )
            rows = {r[0]: r[1:] for r in cur.fetchall()}
        assert rows[wid][:2] == (basalt_server.user, "Query") and rows[wid][2] >= 1, rows
        assert rows[wid][3:] == ("executing", "SELECT SLEEP(1.2)"), rows
        # The query that reads the table is in it too.
        assert rows[connection_id(admin)][4].startswith("SELECT ID, USER, COMMAND"), rows
        t.join(10)
    finally:
        admin.close()
        worker.close()


def test_kill_query_stops_the_statement_and_keeps_the_connection(basalt_server):
    admin, worker, wid, t, out = start_busy(basalt_server, "SELECT SLEEP(30)")
    try:
        with admin.cursor() as cur:
            cur.execute(f"KILL QUERY {wid}")
        t.join(10)
        assert out["rows"] == ((1,),) and out["seconds"] < 5, out
        with worker.cursor() as cur:
            cur.execute("SELECT 42")
            assert cur.fetchone() == (42,)
    finally:
        worker.close()
        admin.close()


def test_kill_query_stops_a_long_scan_within_a_second(basalt_server):
    conn = basalt_server.connect()
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS kill_scan")
        cur.execute("CREATE DATABASE kill_scan")
        cur.execute("CREATE TABLE kill_scan.t (id INT PRIMARY KEY AUTO_INCREMENT, pad VARCHAR(200))")
        cur.execute("INSERT INTO kill_scan.t (pad) VALUES (REPEAT('x', 150)), (REPEAT('y', 150))")
        for _ in range(17):
            cur.execute("INSERT INTO kill_scan.t (pad) SELECT pad FROM kill_scan.t")
    # A full scan of 262,144 rows whose filter costs a few microseconds a
    # row: seconds of work, which KILL must cut short.
    scan = "SELECT COUNT(*) FROM kill_scan.t WHERE MD5(REPEAT(pad, 40)) = ''"
    try:
        t, out = run_in_background(conn, scan)
        t.join(120)
        assert out["rows"] == ((0,),), out
        print(f"the scan alone: {out['seconds']:.2f} s")
        assert out["seconds"] > 2.5, out
        admin, worker, wid, t, out = start_busy(basalt_server, scan)
        try:
            time.sleep(1)
            killed = time.monotonic()
            with admin.cursor() as cur:
                cur.execute(f"KILL QUERY {wid}")
            t.join(30)
            stopped_after = time.monotonic() - killed
            print(f"stopped {stopped_after:.3f} s after KILL QUERY")
            assert isinstance(out.get("error"), pymysql.MySQLError), out
            assert out["error"].args[0] == 1317, out
            assert stopped_after < 1, stopped_after
            with worker.cursor() as cur:
                cur.execute("SELECT 42")
                assert cur.fetchone() == (42,)
        finally:
            worker.close()
            admin.close()
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE kill_scan")
        conn.close()


def test_kill_connection_closes_it_even_when_idle(basalt_server):
    admin, worker = basalt_server.connect(), basalt_server.connect()
    try:
        wid = connection_id(worker)
        with admin.cursor() as cur:
            cur.execute(f"KILL {wid}")
        with pytest.raises(pymysql.err.OperationalError) as e:
            with worker.cursor() as cur:
                cur.execute("SELECT 1")
        assert e.value.args[0] in (2006, 2013), e.value
        deadline = time.monotonic() + 5
        while wid in processlist(admin) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert wid not in processlist(admin)
        # One's own connection: the KILL itself is interrupted.
        own = basalt_server.connect()
        with pytest.raises(pymysql.MySQLError) as e:
            with own.cursor() as cur:
                cur.execute(f"KILL {connection_id(own)}")
        assert e.value.args[0] in (1317, 2013), e.value
    finally:
        admin.close()


def test_kill_unknown_id(basalt_server):
    conn = basalt_server.connect()
    try:
        with pytest.raises(pymysql.MySQLError) as e:
            with conn.cursor() as cur:
                cur.execute("KILL 999999")
        assert e.value.args[0] == 1094
    finally:
        conn.close()
