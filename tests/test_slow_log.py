"""The slow query log in TiDB's format and INFORMATION_SCHEMA.SLOW_QUERY
over it: a statement past `tidb_slow_log_threshold` is logged with its time
broken down (parse, compile, exec, KV, commit), a fast one is not, a failed
one says `Succ: false`, and SLOW_QUERY returns what the file holds."""

from __future__ import annotations

import re

import pymysql
import pytest


def entries(path) -> list[dict]:
    """The slow log's entries: their `# Field: value` lines, and the query."""
    out, fields, query = [], {}, []
    for line in path.read_text().splitlines():
        if line.startswith("# Time: ") and fields and query:
            out.append({**fields, "Query": "\n".join(query)})
            fields, query = {}, []
        m = re.match(r"# ([A-Za-z_@]+): (.*)$", line)
        if m:
            fields[m.group(1)] = m.group(2)
        elif not line.startswith("use "):
            query.append(line)
    if fields:
        out.append({**fields, "Query": "\n".join(query)})
    return out


def test_slow_statements_are_logged_with_their_time_broken_down(playground_factory):
    pg = playground_factory()
    server = pg.server
    log = server.data_dir / "slow.log"
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@tidb_slow_log_threshold")
        assert cur.fetchone() == (300,)
        cur.execute("SELECT CONNECTION_ID()")
        conn_id = cur.fetchone()[0]
        cur.execute("CREATE DATABASE slowdb")
        cur.execute("USE slowdb")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        cur.execute("SELECT SLEEP(0.4)")
        cur.execute("SELECT 1")  # fast: not logged
        logged = entries(log)
        assert [e["Query"] for e in logged] == ["SELECT SLEEP(0.4);"], logged
        slow = logged[0]
        assert float(slow["Query_time"]) >= 0.4
        assert slow["Conn_ID"] == str(conn_id) and slow["DB"] == "slowdb" and slow["Succ"] == "true"
        assert slow["User@Host"] == f"{server.user}[{server.user}] @ 127.0.0.1 [127.0.0.1]"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", slow["Time"]), slow["Time"]
        parts = sum(float(slow[k]) for k in ("Parse_time", "Compile_time", "Exec_time", "Commit_time"))
        assert abs(parts - float(slow["Query_time"])) < 0.001, slow

        # Every statement from now on: a write shows its KV and commit time.
        cur.execute("SET tidb_slow_log_threshold = 0")
        cur.execute("INSERT INTO t VALUES (1, 1), (2, 2)")
        with pytest.raises(pymysql.err.IntegrityError):
            cur.execute("INSERT INTO t VALUES (1, 1)")
        insert, failed = [e for e in entries(log) if e["Query"].startswith("INSERT")]
        assert float(insert["KV_total"]) > 0 and float(insert["Commit_time"]) > 0, insert
        assert int(insert["Txn_start_ts"]) > 0 and insert["Result_rows"] == "2" and insert["Succ"] == "true"
        assert failed["Succ"] == "false"

        cur.execute(
            "SELECT Conn_ID, DB, Succ, Query_time, KV_total, Commit_time, Result_rows, Query "
            "FROM information_schema.SLOW_QUERY WHERE Query LIKE 'INSERT%' ORDER BY Time"
        )
        rows = cur.fetchall()
        assert [(r[0], r[1], r[2], r[6], r[7]) for r in rows] == [
            (conn_id, "slowdb", 1, 2, "INSERT INTO t VALUES (1, 1), (2, 2)"),
            (conn_id, "slowdb", 0, 0, "INSERT INTO t VALUES (1, 1)"),
        ], rows
        assert rows[0][3] == pytest.approx(float(insert["Query_time"]), abs=1e-6)
        assert rows[0][4] == pytest.approx(float(insert["KV_total"]), abs=1e-6)
        cur.execute("SELECT COUNT(*) FROM information_schema.SLOW_QUERY WHERE Query_time >= 0.4")
        assert cur.fetchone()[0] >= 1
