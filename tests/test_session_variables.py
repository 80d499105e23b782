"""Session variables that change what statements mean, across connections.

A new connection starts from the global values (`SET GLOBAL sql_mode = ''`
makes the next connection non-strict), `SET GLOBAL x = DEFAULT` restores
the server's initial value, and the connection collation a driver asks for
(in the handshake, or by `SET NAMES utf8mb4 COLLATE ...`, which pymysql
sends for `collation=`) is the collation string literals compare in.

Uses the shared `basalt_server` fixture (tests/conftest.py) and restores
every global it sets. Run it against MariaDB with
BASALT_TEST_SERVER=127.0.0.1:13306 (see tests/sql/mariadb.sh).
"""

from __future__ import annotations

import pytest

pytest.importorskip("pymysql")


def one(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()


def test_new_connections_take_the_global_values(basalt_server):
    admin = basalt_server.connect()
    try:
        one(admin, "SET GLOBAL sql_mode = ''")
        one(admin, "SET GLOBAL collation_connection = utf8mb4_bin")
        fresh = basalt_server.connect()
        try:
            # The handshake's collation (pymysql's utf8mb4_general_ci) wins
            # over the global one.
            assert one(fresh, "SELECT @@sql_mode, @@collation_connection") == (
                "",
                "utf8mb4_general_ci",
            )
            # Not strict: an out-of-range value is clipped with a warning.
            one(fresh, "CREATE DATABASE IF NOT EXISTS pytest_session_vars")
            one(fresh, "CREATE TABLE IF NOT EXISTS pytest_session_vars.t (a TINYINT)")
            one(fresh, "INSERT INTO pytest_session_vars.t VALUES (1000)")
            assert one(fresh, "SELECT a FROM pytest_session_vars.t") == (127,)
            assert one(fresh, "SELECT 'a' = 'A'") == (1,)
        finally:
            one(fresh, "DROP DATABASE IF EXISTS pytest_session_vars")
            fresh.close()
    finally:
        one(admin, "SET GLOBAL sql_mode = DEFAULT")
        one(admin, "SET GLOBAL collation_connection = DEFAULT")
        admin.close()
    later = basalt_server.connect()
    try:
        mode, collation = one(later, "SELECT @@global.sql_mode, @@global.collation_connection")
        assert "STRICT_TRANS_TABLES" in mode
        assert collation.endswith("_general_ci")
    finally:
        later.close()


def test_driver_connection_collation(basalt_server):
    conn = basalt_server.connect(collation="utf8mb4_bin")
    try:
        assert one(conn, "SELECT @@collation_connection, 'a' = 'A', STRCMP('a', 'A')") == (
            "utf8mb4_bin",
            0,
            1,
        )
    finally:
        conn.close()
    conn = basalt_server.connect(collation="utf8mb4_general_ci")
    try:
        assert one(conn, "SELECT 'a' = 'A'") == (1,)
    finally:
        conn.close()
