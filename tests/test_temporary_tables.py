"""Temporary tables (CREATE TEMPORARY TABLE) as MySQL 8.0 / InnoDB have them,
on MariaDB (the reference) and on the playground:

- a temporary table belongs to its connection: it vanishes when the
  connection closes or is KILLed (a reconnecting client does not see it,
  and a new temporary table of the same name starts empty, however many
  connections came and went);
- it is transactional, as an InnoDB table: rows inserted and rolled back
  are gone, committed rows stay, savepoints work; CREATE / DROP TEMPORARY
  TABLE do not commit the transaction (MySQL 8.0 manual 15.3.3, "Statements
  That Cause an Implicit Commit");
- CREATE TEMPORARY TABLE ... LIKE (structure, keys and defaults; no rows)
  of a permanent or a temporary table (... AS SELECT is refused by Basalt
  for now, crates/sql/src/refused.sql);
- TRUNCATE of a temporary table (rows gone, AUTO_INCREMENT reset);
- 8 connections with a temporary table of the same name at once: each sees
  only its own rows;
- a temporary table named like a permanent one hides it from its
  connection: UPDATE / DELETE / TRUNCATE hit only the temporary table;
- joins, subqueries, and UPDATE / DELETE through subqueries between a
  temporary and a permanent table;
- ALTER TABLE, CREATE INDEX, DROP INDEX and ALTER TABLE ... RENAME of a
  temporary table change it alone, never the permanent table it hides.

Each scenario runs on the target server and returns what it saw. On the
playground the same scenario also runs on MariaDB in the same test run (when
mariadb-server is installed): MariaDB must give the expected answer, and the
playground MariaDB's. tests/sql/corpus/mysql_answers.test section 16 has the
single-connection basics (not in SHOW TABLES, shadowing, DROP TABLE order).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pymysql
import pytest

DB = "temp_tables_test"
THREADS = 8


@pytest.fixture(params=["mariadb", "playground"])
def target(request):
    fixture = {"mariadb": "mariadb_server", "playground": "basalt_server"}[request.param]
    return request.getfixturevalue(fixture)


def mariadb_installed() -> bool:
    return bool(shutil.which("mariadbd")) or Path("/usr/sbin/mariadbd").exists()


@pytest.fixture
def reference(request, target):
    """MariaDB, to compare the target's answers with in the same run; None
    when the target is MariaDB itself, or MariaDB is not installed (then
    only the expected answers are checked)."""
    if target.name == "mariadb":
        return None
    if not mariadb_installed() and os.environ.get("BASALT_REQUIRE_MARIADB") != "1":
        return None
    return request.getfixturevalue("mariadb_server")


def check(scenario, target, reference, expected):
    """Run `scenario(server)` on the target (and on MariaDB when there is a
    reference) and compare with the expected answer."""
    got = scenario(target)
    if reference is not None:
        want = scenario(reference)
        assert want == expected, f"MariaDB (the reference) answers {want!r}, the test expects {expected!r}"
        assert got == want, f"{target.name} answers {got!r}, MariaDB {want!r}"
    else:
        assert got == expected


def fresh_db(server):
    with server.connect() as c, c.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")


def q(conn, sql):
    """Rows of a statement (as a tuple of tuples, () for none), or
    ("error", code) if it fails with a server error."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return tuple(tuple(r) for r in cur.fetchall()) if cur.description else ()
    except pymysql.err.MySQLError as e:
        if e.args and e.args[0] in (2006, 2013, 0):
            raise
        return ("error", e.args[0])


def affected(conn, sql) -> int:
    with conn.cursor() as cur:
        return cur.execute(sql)


def connection_id(conn) -> int:
    return q(conn, "SELECT CONNECTION_ID()")[0][0]


def wait_gone(admin, conn_id, timeout=15.0):
    """Until the server no longer lists the connection (its session ended)."""
    deadline = time.monotonic() + timeout
    while True:
        ids = {int(r[0]) for r in q(admin, "SHOW PROCESSLIST")}
        if conn_id not in ids:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"connection {conn_id} still in SHOW PROCESSLIST after {timeout}s")
        time.sleep(0.05)


# ---------------------------------------------------------------------------


def test_temporary_table_vanishes_when_its_connection_closes(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as admin:
            q(admin, "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(10))")
            q(admin, "INSERT INTO items VALUES (1, 'perm')")
            a = server.connect(database=DB)
            a_id = connection_id(a)
            q(a, "CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v VARCHAR(10))")
            q(a, "INSERT INTO tmp VALUES (1, 'a'), (2, 'a')")
            q(a, "CREATE TEMPORARY TABLE items (id INT PRIMARY KEY, v VARCHAR(10))")
            q(a, "INSERT INTO items VALUES (7, 'shadow')")
            seen["a_tmp"] = q(a, "SELECT id, v FROM tmp ORDER BY id")
            seen["a_items"] = q(a, "SELECT id, v FROM items ORDER BY id")
            with server.connect(database=DB) as b:
                seen["b_tmp_while_a_open"] = q(b, "SELECT id FROM tmp")
                seen["b_items_while_a_open"] = q(b, "SELECT id, v FROM items ORDER BY id")
            a.close()
            wait_gone(admin, a_id)
            # a reconnecting client: a new session, without the old temporary tables
            with server.connect(database=DB) as again:
                seen["reconnected_tmp"] = q(again, "SELECT id FROM tmp")
                seen["reconnected_items"] = q(again, "SELECT id, v FROM items ORDER BY id")
                q(again, "CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v VARCHAR(10))")
                seen["recreated_tmp"] = q(again, "SELECT COUNT(*) FROM tmp")
            # Connections come and go: a temporary table of a new session never
            # holds rows of an earlier one (whatever ids the sessions get).
            leftovers = []
            for i in range(20):
                with server.connect(database=DB) as c:
                    before = q(c, "SELECT COUNT(*) FROM tmp")
                    q(c, "CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v VARCHAR(10))")
                    count = q(c, "SELECT COUNT(*) FROM tmp")[0][0]
                    q(c, f"INSERT INTO tmp VALUES ({i}, 'x'), ({i + 100}, 'y')")
                    if before != ("error", 1146) or count != 0:
                        leftovers.append((i, before, count))
            seen["leftovers"] = leftovers
            seen["permanent_after"] = q(admin, "SELECT id, v FROM items ORDER BY id")
            q(admin, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "a_tmp": ((1, "a"), (2, "a")),
        "a_items": ((7, "shadow"),),
        "b_tmp_while_a_open": ("error", 1146),
        "b_items_while_a_open": ((1, "perm"),),
        "reconnected_tmp": ("error", 1146),
        "reconnected_items": ((1, "perm"),),
        "recreated_tmp": ((0,),),
        "leftovers": [],
        "permanent_after": ((1, "perm"),),
    })


def test_temporary_table_vanishes_when_its_connection_is_killed(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as admin:
            q(admin, "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(10))")
            q(admin, "INSERT INTO items VALUES (1, 'perm')")
            victim = server.connect(database=DB)
            victim_id = connection_id(victim)
            q(victim, "CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v VARCHAR(10))")
            q(victim, "INSERT INTO tmp VALUES (1, 'committed')")
            # an open transaction: uncommitted rows in the temporary table, and
            # a row lock on the permanent one
            q(victim, "BEGIN")
            q(victim, "INSERT INTO tmp VALUES (2, 'open')")
            q(victim, "UPDATE items SET v = 'victim' WHERE id = 1")
            seen["victim_tmp"] = q(victim, "SELECT id, v FROM tmp ORDER BY id")
            q(admin, f"KILL {victim_id}")
            try:
                with victim.cursor() as cur:
                    cur.execute("SELECT id FROM tmp")
                seen["victim_after_kill"] = "still usable"
            except pymysql.err.Error:
                # MySQL 8 closes the connection (2013 / 2006 on the client);
                # MariaDB first sends 1927 (ER_CONNECTION_KILLED).
                seen["victim_after_kill"] = "failed"
            finally:
                try:
                    victim.close()
                except pymysql.err.Error:
                    pass
            wait_gone(admin, victim_id)
            with server.connect(database=DB) as again:
                seen["reconnected_tmp"] = q(again, "SELECT id FROM tmp")
                q(again, "CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v VARCHAR(10))")
                seen["recreated_tmp"] = q(again, "SELECT COUNT(*) FROM tmp")
                # the killed transaction was rolled back and its lock released
                seen["permanent_row"] = q(again, "SELECT v FROM items WHERE id = 1")
                seen["update_after_kill"] = affected(again, "UPDATE items SET v = 'again' WHERE id = 1")
            q(admin, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "victim_tmp": ((1, "committed"), (2, "open")),
        "victim_after_kill": "failed",
        "reconnected_tmp": ("error", 1146),
        "recreated_tmp": ((0,),),
        "permanent_row": (("perm",),),
        "update_after_kill": 1,
    })


def test_temporary_table_is_transactional(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as c:
            q(c, "CREATE TABLE items (id INT PRIMARY KEY)")
            q(c, "CREATE TEMPORARY TABLE tmp (id INT PRIMARY KEY, v INT)")
            q(c, "BEGIN")
            q(c, "INSERT INTO tmp VALUES (1, 1), (2, 2)")
            seen["inside_transaction"] = q(c, "SELECT COUNT(*) FROM tmp")
            q(c, "ROLLBACK")
            seen["after_rollback"] = q(c, "SELECT COUNT(*) FROM tmp")
            q(c, "BEGIN")
            q(c, "INSERT INTO tmp VALUES (1, 1), (2, 2)")
            q(c, "COMMIT")
            seen["after_commit"] = q(c, "SELECT id, v FROM tmp ORDER BY id")
            q(c, "BEGIN")
            q(c, "DELETE FROM tmp WHERE id = 1")
            q(c, "UPDATE tmp SET v = 20 WHERE id = 2")
            q(c, "INSERT INTO tmp VALUES (3, 3)")
            q(c, "ROLLBACK")
            seen["changes_rolled_back"] = q(c, "SELECT id, v FROM tmp ORDER BY id")
            # autocommit off: nothing is kept without COMMIT
            q(c, "SET autocommit = 0")
            q(c, "INSERT INTO tmp VALUES (3, 3)")
            q(c, "ROLLBACK")
            q(c, "SET autocommit = 1")
            seen["autocommit_off_rolled_back"] = q(c, "SELECT id FROM tmp ORDER BY id")
            # savepoints
            q(c, "BEGIN")
            q(c, "INSERT INTO tmp VALUES (4, 4)")
            q(c, "SAVEPOINT s1")
            q(c, "INSERT INTO tmp VALUES (5, 5)")
            q(c, "ROLLBACK TO SAVEPOINT s1")
            q(c, "COMMIT")
            seen["savepoint"] = q(c, "SELECT id FROM tmp ORDER BY id")
            # CREATE / DROP TEMPORARY TABLE do not commit the transaction; the
            # new temporary table stays (DDL is not rolled back), its rows do not
            q(c, "BEGIN")
            q(c, "INSERT INTO items VALUES (10)")
            q(c, "CREATE TEMPORARY TABLE tmp2 (a INT)")
            q(c, "INSERT INTO tmp2 VALUES (1)")
            q(c, "ROLLBACK")
            seen["create_temporary_no_commit"] = q(c, "SELECT id FROM items")
            seen["created_in_rolled_back_transaction"] = q(c, "SELECT COUNT(*) FROM tmp2")
            q(c, "BEGIN")
            q(c, "INSERT INTO items VALUES (11)")
            q(c, "DROP TEMPORARY TABLE tmp2")
            q(c, "ROLLBACK")
            seen["drop_temporary_no_commit"] = q(c, "SELECT id FROM items")
            seen["dropped_in_rolled_back_transaction"] = q(c, "SELECT a FROM tmp2")
            # a rolled-back transaction over both kinds of table
            q(c, "BEGIN")
            q(c, "INSERT INTO items VALUES (12)")
            q(c, "INSERT INTO tmp SELECT id, id FROM items")
            q(c, "ROLLBACK")
            seen["both_rolled_back"] = (q(c, "SELECT COUNT(*) FROM items"), q(c, "SELECT id FROM tmp ORDER BY id"))
            q(c, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "inside_transaction": ((2,),),
        "after_rollback": ((0,),),
        "after_commit": ((1, 1), (2, 2)),
        "changes_rolled_back": ((1, 1), (2, 2)),
        "autocommit_off_rolled_back": ((1,), (2,)),
        "savepoint": ((1,), (2,), (4,)),
        "create_temporary_no_commit": (),
        "created_in_rolled_back_transaction": ((0,),),
        "drop_temporary_no_commit": (),
        "dropped_in_rolled_back_transaction": ("error", 1146),
        "both_rolled_back": (((0,),), ((1,), (2,), (4,))),
    })


# CREATE [TEMPORARY] TABLE ... AS SELECT is refused by Basalt for now
# (crates/sql/src/refused.sql), so only LIKE is compared here.
def test_create_temporary_table_like(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as c:
            q(c, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10) NOT NULL DEFAULT 'none', "
                 "qty INT, UNIQUE KEY uk_name (name), KEY k_qty (qty))")
            q(c, "INSERT INTO t (name, qty) VALUES ('a', 1), ('b', 5), ('c', 9), ('d', NULL)")
            # LIKE: the structure (keys, defaults, AUTO_INCREMENT), no rows
            q(c, "CREATE TEMPORARY TABLE t2 LIKE t")
            seen["like_rows"] = q(c, "SELECT COUNT(*) FROM t2")
            q(c, "INSERT INTO t2 (qty) VALUES (7)")
            seen["like_defaults"] = q(c, "SELECT id, name, qty FROM t2")
            seen["like_primary_key"] = q(c, "INSERT INTO t2 VALUES (1, 'x', 1)")
            seen["like_unique_key"] = q(c, "INSERT INTO t2 (name) VALUES ('none')")
            seen["like_not_null"] = q(c, "INSERT INTO t2 (name) VALUES (NULL)")
            seen["like_indexes"] = tuple(sorted(
                (r[2], r[4], int(r[1])) for r in q(c, "SHOW INDEX FROM t2")
            ))
            seen["like_copy_rows"] = affected(c, "INSERT INTO t2 SELECT * FROM t WHERE id > 1")
            seen["like_after_copy"] = q(c, "SELECT id, name FROM t2 ORDER BY id")
            # LIKE of a temporary table
            q(c, "CREATE TEMPORARY TABLE t3 LIKE t2")
            seen["like_temporary"] = q(c, "SELECT COUNT(*) FROM t3")
            with server.connect(database=DB) as other:
                seen["other_sees"] = tuple(q(other, f"SELECT COUNT(*) FROM {name}") for name in ("t2", "t3"))
            seen["show_tables"] = q(c, "SHOW TABLES")
            q(c, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "like_rows": ((0,),),
        "like_defaults": ((1, "none", 7),),
        "like_primary_key": ("error", 1062),
        "like_unique_key": ("error", 1062),
        "like_not_null": ("error", 1048),
        "like_indexes": (("PRIMARY", "id", 0), ("k_qty", "qty", 1), ("uk_name", "name", 0)),
        "like_copy_rows": 3,
        "like_after_copy": ((1, "none"), (2, "b"), (3, "c"), (4, "d")),
        "like_temporary": ((0,),),
        "other_sees": (("error", 1146), ("error", 1146)),
        "show_tables": (("t",),),
    })


def test_truncate_temporary_table(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as c:
            q(c, "CREATE TEMPORARY TABLE tmp (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
            q(c, "INSERT INTO tmp (v) VALUES (1), (2), (3)")
            q(c, "TRUNCATE TABLE tmp")
            seen["truncated"] = q(c, "SELECT COUNT(*) FROM tmp")
            q(c, "INSERT INTO tmp (v) VALUES (4)")
            seen["auto_increment_reset"] = q(c, "SELECT id, v FROM tmp")
            # TRUNCATE of a name shared with a permanent table hits the temporary one
            q(c, "CREATE TABLE events (id INT PRIMARY KEY)")
            q(c, "INSERT INTO events VALUES (1), (2)")
            q(c, "CREATE TEMPORARY TABLE events (id INT PRIMARY KEY)")
            q(c, "INSERT INTO events VALUES (100)")
            q(c, "TRUNCATE TABLE events")
            seen["temporary_truncated"] = q(c, "SELECT COUNT(*) FROM events")
            with server.connect(database=DB) as other:
                seen["permanent_seen_by_other"] = q(other, "SELECT id FROM events ORDER BY id")
            q(c, "DROP TEMPORARY TABLE events")
            seen["permanent_after_drop"] = q(c, "SELECT id FROM events ORDER BY id")
            q(c, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "truncated": ((0,),),
        "auto_increment_reset": ((1, 4),),
        "temporary_truncated": ((0,),),
        "permanent_seen_by_other": ((1,), (2,)),
        "permanent_after_drop": ((1,), (2,)),
    })


def test_eight_connections_with_a_temporary_table_of_the_same_name(target, reference):
    rounds = 40

    def scenario(server):
        fresh_db(server)
        with server.connect(database=DB) as c:
            # a permanent table of the same name, hidden in every worker
            q(c, "CREATE TABLE scratch (id INT PRIMARY KEY, owner INT)")
            q(c, "INSERT INTO scratch VALUES (0, -1)")
        barrier = threading.Barrier(THREADS, timeout=60)
        results: dict[int, object] = {}
        errors: list[BaseException] = []

        def worker(i):
            try:
                with server.connect(database=DB) as conn:
                    q(conn, "CREATE TEMPORARY TABLE scratch (id INT PRIMARY KEY, owner INT, n INT)")
                    barrier.wait()
                    foreign = 0
                    for k in range(rounds):
                        if k % 5 == 4:
                            # a transaction rolled back: its row never shows
                            q(conn, "BEGIN")
                            q(conn, f"INSERT INTO scratch VALUES ({i * 1000 + k}, {i}, {k})")
                            q(conn, "ROLLBACK")
                        else:
                            q(conn, f"INSERT INTO scratch VALUES ({i * 1000 + k}, {i}, {k})")
                        if k % 10 == 0:
                            q(conn, f"UPDATE scratch SET n = n + 1 WHERE owner = {i}")
                        (other,) = q(conn, f"SELECT COUNT(*) FROM scratch WHERE owner <> {i}")[0]
                        foreign += other
                    mine = q(conn, "SELECT COUNT(*), MIN(owner), MAX(owner), MIN(id), MAX(id) FROM scratch")
                    barrier.wait()
                    q(conn, "DROP TEMPORARY TABLE scratch")
                    permanent = q(conn, "SELECT id, owner FROM scratch")
                    results[i] = (mine, foreign, permanent)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert not any(t.is_alive() for t in threads), "workers did not finish in time"
        if errors:
            raise errors[0]
        with server.connect() as c:
            q(c, f"DROP DATABASE {DB}")
        return [results[i] for i in range(THREADS)]

    kept = [k for k in range(rounds) if k % 5 != 4]
    expected = [
        (((len(kept), i, i, i * 1000, i * 1000 + kept[-1]),), 0, ((0, -1),))
        for i in range(THREADS)
    ]
    check(scenario, target, reference, expected)


def test_temporary_table_hides_a_permanent_one_for_update_and_delete(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as a, server.connect(database=DB) as b:
            q(a, "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(10))")
            q(a, "INSERT INTO items VALUES (1, 'p1'), (2, 'p2'), (3, 'p3')")
            q(a, "CREATE TEMPORARY TABLE items (id INT PRIMARY KEY, v VARCHAR(10))")
            q(a, "INSERT INTO items VALUES (1, 't1'), (2, 't2')")
            seen["update"] = affected(a, "UPDATE items SET v = CONCAT(v, '!')")
            seen["delete"] = affected(a, "DELETE FROM items WHERE id = 1")
            # id 3 exists in the permanent table only: no conflict
            seen["insert"] = affected(a, "INSERT INTO items VALUES (3, 't3')")
            seen["qualified_update"] = affected(a, f"UPDATE {DB}.items SET v = 'q' WHERE id = 3")
            seen["a_sees"] = q(a, "SELECT id, v FROM items ORDER BY id")
            seen["b_sees"] = q(b, "SELECT id, v FROM items ORDER BY id")
            # b changes the permanent table; a does not see it through the name
            q(b, "UPDATE items SET v = 'b' WHERE id = 2")
            seen["a_after_b_update"] = q(a, "SELECT id, v FROM items ORDER BY id")
            seen["a_delete_all"] = affected(a, "DELETE FROM items")
            seen["b_after_a_delete_all"] = q(b, "SELECT id, v FROM items ORDER BY id")
            q(a, "DROP TEMPORARY TABLE items")
            seen["a_after_drop"] = q(a, "SELECT id, v FROM items ORDER BY id")
            q(a, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "update": 2,
        "delete": 1,
        "insert": 1,
        "qualified_update": 1,
        "a_sees": ((2, "t2!"), (3, "q")),
        "b_sees": ((1, "p1"), (2, "p2"), (3, "p3")),
        "a_after_b_update": ((2, "t2!"), (3, "q")),
        "a_delete_all": 2,
        "b_after_a_delete_all": ((1, "p1"), (2, "b"), (3, "p3")),
        "a_after_drop": ((1, "p1"), (2, "b"), (3, "p3")),
    })


def test_joins_between_temporary_and_permanent_tables(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as c, server.connect(database=DB) as other:
            q(c, "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(10))")
            q(c, "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, amount INT, KEY k_customer (customer_id))")
            q(c, "INSERT INTO customers VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')")
            q(c, "INSERT INTO orders VALUES (10, 1, 100), (11, 1, 50), (12, 2, 70), (13, 3, 20), (14, 3, 5)")
            q(c, "CREATE TEMPORARY TABLE vip (customer_id INT PRIMARY KEY, discount INT)")
            q(c, "INSERT INTO vip SELECT id, id * 4 FROM customers WHERE name IN ('ann', 'cy')")
            seen["inner_join"] = q(c, "SELECT o.id, c.name, v.discount FROM orders o "
                                      "JOIN customers c ON c.id = o.customer_id "
                                      "JOIN vip v ON v.customer_id = o.customer_id ORDER BY o.id")
            seen["left_join"] = q(c, "SELECT c.name, v.discount FROM customers c "
                                     "LEFT JOIN vip v ON v.customer_id = c.id ORDER BY c.id")
            seen["in_subquery"] = q(c, "SELECT id FROM orders WHERE customer_id IN (SELECT customer_id FROM vip) ORDER BY id")
            seen["not_exists"] = q(c, "SELECT id FROM orders o WHERE NOT EXISTS "
                                      "(SELECT 1 FROM vip v WHERE v.customer_id = o.customer_id) ORDER BY id")
            seen["aggregate"] = q(c, "SELECT v.customer_id, SUM(o.amount) FROM vip v "
                                     "JOIN orders o ON o.customer_id = v.customer_id GROUP BY v.customer_id ORDER BY 1")
            # UPDATE / DELETE of the permanent table through the temporary one
            # (single-table forms: Basalt refuses multi-table UPDATE / DELETE)
            seen["update_join"] = sum(
                affected(c, f"UPDATE orders SET amount = amount - {d} "
                            f"WHERE customer_id IN (SELECT customer_id FROM vip WHERE discount = {d})")
                for d in (4, 12)
            )
            seen["delete_join"] = affected(c, "DELETE FROM orders WHERE amount < 10 "
                                              "AND customer_id IN (SELECT customer_id FROM vip)")
            # ... and of the temporary table through the permanent one
            seen["update_temporary_join"] = affected(c, "UPDATE vip SET discount = 0 WHERE customer_id IN "
                                                        "(SELECT id FROM customers WHERE name = 'cy')")
            seen["orders_after"] = q(c, "SELECT id, amount FROM orders ORDER BY id")
            seen["other_sees_permanent_changes"] = q(other, "SELECT id, amount FROM orders ORDER BY id")
            seen["vip_after"] = q(c, "SELECT customer_id, discount FROM vip ORDER BY customer_id")
            q(c, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "inner_join": ((10, "ann", 4), (11, "ann", 4), (13, "cy", 12), (14, "cy", 12)),
        "left_join": (("ann", 4), ("bob", None), ("cy", 12)),
        "in_subquery": ((10,), (11,), (13,), (14,)),
        "not_exists": ((12,),),
        "aggregate": ((1, 150), (3, 25)),
        "update_join": 4,
        "delete_join": 2,
        "update_temporary_join": 1,
        "orders_after": ((10, 96), (11, 46), (12, 70)),
        "other_sees_permanent_changes": ((10, 96), (11, 46), (12, 70)),
        "vip_after": ((1, 4), (3, 0)),
    })


def test_altering_a_temporary_table_leaves_the_permanent_one_alone(target, reference):
    def scenario(server):
        fresh_db(server)
        seen = {}
        with server.connect(database=DB) as a, server.connect(database=DB) as b:
            q(a, "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY ka (a))")
            q(a, "INSERT INTO t VALUES (1, 10), (2, 20)")
            q(a, "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(5))")
            q(a, "INSERT INTO t VALUES (1, 100, 'x'), (2, 200, 'yy'), (3, 300, 'zzz')")
            seen["add_column_and_index"] = q(a, "ALTER TABLE t ADD COLUMN c INT DEFAULT 7, ADD INDEX kb (b)")
            seen["rows_after_add"] = q(a, "SELECT id, a, b, c FROM t ORDER BY id")
            seen["unique_index"] = q(a, "CREATE UNIQUE INDEX ua ON t (a)")
            seen["duplicate_refused"] = q(a, "INSERT INTO t (id, a) VALUES (4, 100)")
            seen["found_by_index"] = q(a, "SELECT id FROM t WHERE a = 300")
            # The permanent table's index, not the temporary table's.
            seen["drop_permanent_index_name"] = q(a, "DROP INDEX ka ON t")
            seen["drop_index"] = q(a, "DROP INDEX kb ON t")
            seen["narrowing_refused"] = q(a, "ALTER TABLE t MODIFY b VARCHAR(2)")
            seen["to_int"] = q(a, "ALTER TABLE t MODIFY c BIGINT, DROP COLUMN b")
            seen["rows_after_modify"] = q(a, "SELECT * FROM t ORDER BY id")
            seen["rename"] = q(a, "ALTER TABLE t RENAME TO t_renamed")
            seen["name_is_permanent_again"] = q(a, "SELECT * FROM t ORDER BY id")
            seen["renamed_rows"] = q(a, "SELECT id, a, c FROM t_renamed ORDER BY id")
            seen["other_connection"] = q(b, "SELECT * FROM t ORDER BY id")
            seen["other_cannot_see_renamed"] = q(b, "SELECT * FROM t_renamed")
            seen["permanent_indexes"] = sorted(q(b, f"SELECT LOWER(index_name) FROM information_schema.statistics "
                                                    f"WHERE table_schema = '{DB}' AND table_name = 't'"))
            q(a, f"DROP DATABASE {DB}")
        return seen

    check(scenario, target, reference, {
        "add_column_and_index": (),
        "rows_after_add": ((1, 100, "x", 7), (2, 200, "yy", 7), (3, 300, "zzz", 7)),
        "unique_index": (),
        "duplicate_refused": ("error", 1062),
        "found_by_index": ((3,),),
        "drop_permanent_index_name": ("error", 1091),
        "drop_index": (),
        "narrowing_refused": ("error", 1265),
        "to_int": (),
        "rows_after_modify": ((1, 100, 7), (2, 200, 7), (3, 300, 7)),
        "rename": (),
        "name_is_permanent_again": ((1, 10), (2, 20)),
        "renamed_rows": ((1, 100, 7), (2, 200, 7), (3, 300, 7)),
        "other_connection": ((1, 10), (2, 20)),
        "other_cannot_see_renamed": ("error", 1146),
        "permanent_indexes": [("ka",), ("primary",)],
    })
