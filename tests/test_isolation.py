"""Isolation levels and access modes, on MariaDB (the reference), the
playground and a `playground --kv 3` cluster.

- `READ COMMITTED` sees other transactions' commits between its
  statements; `REPEATABLE READ` does not (8 readers beside a writer);
- `SET [SESSION | GLOBAL] TRANSACTION`, `transaction_isolation` and
  `tx_isolation` say what is in force; `SET TRANSACTION` without a scope
  changes the next transaction only;
- `READ ONLY` transactions (`START TRANSACTION READ ONLY`, `SET
  TRANSACTION READ ONLY`, `transaction_read_only`) refuse writes with 1792;
- Basalt refuses the levels it does not run (`SERIALIZABLE`, `READ
  UNCOMMITTED`: TiDB's 8048) instead of running another one (MariaDB runs
  them);
- `REPEATABLE READ` reads a snapshot and writes current rows, as InnoDB;
  with `innodb_snapshot_isolation = ON` (MariaDB's variable) it is snapshot
  isolation: a write to a row changed after the snapshot fails with 1020
  rather than losing that update. Basalt then first tries to move the
  snapshot forward, which it may when nothing the transaction read changed
  (MariaDB fails those writes too).
"""

from __future__ import annotations

import threading
import time

import pymysql
import pytest

READERS = 8


@pytest.fixture
def db(each_server):
    name = "isolation_test"
    with each_server.connect() as c, c.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
        cur.execute(f"CREATE TABLE {name}.t (id INT PRIMARY KEY, v INT NOT NULL)")
        cur.execute(f"INSERT INTO {name}.t VALUES (1, 0), (2, 0)")
    yield each_server, name


def names(server):
    """MySQL 8.0's variable names; MariaDB 10.11 has only the older ones."""
    if server.name == "mariadb":
        return "tx_isolation", "tx_read_only"
    return "transaction_isolation", "transaction_read_only"


def one(cur, sql):
    cur.execute(sql)
    return cur.fetchone()[0]


@pytest.mark.parametrize("level", ["READ COMMITTED", "REPEATABLE READ"])
def test_readers_see_commits_between_statements_only_at_read_committed(db, level):
    server, name = db
    stop = threading.Event()

    def writer():
        with server.connect(database=name) as c, c.cursor() as cur:
            while not stop.is_set():
                cur.execute("UPDATE t SET v = v + 1 WHERE id = 1")
                time.sleep(0.01)

    seen: list[list[int]] = [[] for _ in range(READERS)]
    errors: list[BaseException] = []

    def reader(i):
        try:
            with server.connect(database=name) as c, c.cursor() as cur:
                cur.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")
                cur.execute("BEGIN")
                for _ in range(6):
                    seen[i].append(one(cur, "SELECT v FROM t WHERE id = 1"))
                    time.sleep(0.05)
                cur.execute("COMMIT")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    time.sleep(0.05)
    readers = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(60)
    stop.set()
    w.join(30)
    assert not errors, errors
    for values in seen:
        assert len(values) == 6
        assert values == sorted(values), values
        if level == "REPEATABLE READ":
            assert len(set(values)) == 1, values
        else:
            assert len(set(values)) > 1, values


def test_isolation_variables_say_what_is_in_force(db):
    server, name = db
    isolation, _ = names(server)
    with server.connect(database=name) as c, c.cursor() as cur:
        assert one(cur, f"SELECT @@{isolation}") == "REPEATABLE-READ"
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        assert one(cur, f"SELECT @@{isolation}") == "READ-COMMITTED"
        assert one(cur, "SELECT @@tx_isolation") == "READ-COMMITTED"
        cur.execute(f"SET {isolation} = 'REPEATABLE-READ'")
        assert one(cur, "SELECT @@tx_isolation") == "REPEATABLE-READ"
        cur.execute(f"SET {isolation} = 1")
        assert one(cur, "SELECT @@tx_isolation") == "READ-COMMITTED"
        with pytest.raises(pymysql.err.MySQLError) as failed:
            cur.execute(f"SET {isolation} = 'SNAPSHOT'")
        assert failed.value.args[0] == 1231
        cur.execute(f"SET {isolation} = DEFAULT")
        # Without a scope: the next transaction only.
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        assert one(cur, f"SELECT @@SESSION.{isolation}") == "REPEATABLE-READ"
        cur.execute("BEGIN")
        with pytest.raises(pymysql.err.MySQLError) as failed:
            cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        assert failed.value.args[0] == 1568
        cur.execute("COMMIT")


def test_read_committed_then_repeatable_read_again_in_the_next_transaction(db):
    server, name = db
    with server.connect(database=name) as a, server.connect(database=name) as b:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            ca.execute("BEGIN")
            first = one(ca, "SELECT v FROM t WHERE id = 2")
            cb.execute("UPDATE t SET v = v + 1 WHERE id = 2")
            assert one(ca, "SELECT v FROM t WHERE id = 2") == first + 1
            ca.execute("COMMIT")
            ca.execute("BEGIN")
            again = one(ca, "SELECT v FROM t WHERE id = 2")
            cb.execute("UPDATE t SET v = v + 1 WHERE id = 2")
            assert one(ca, "SELECT v FROM t WHERE id = 2") == again
            ca.execute("COMMIT")


def test_read_only_transactions_refuse_writes(db):
    server, name = db
    with server.connect(database=name) as c, c.cursor() as cur:
        cur.execute("START TRANSACTION READ ONLY")
        assert one(cur, "SELECT v FROM t WHERE id = 1") == 0
        for sql in ("INSERT INTO t VALUES (3, 3)", "UPDATE t SET v = 1", "DELETE FROM t"):
            with pytest.raises(pymysql.err.MySQLError) as failed:
                cur.execute(sql)
            assert failed.value.args[0] == 1792, sql
        cur.execute("COMMIT")
        cur.execute("SET TRANSACTION READ ONLY")
        cur.execute("BEGIN")
        with pytest.raises(pymysql.err.MySQLError) as failed:
            cur.execute("UPDATE t SET v = 1")
        assert failed.value.args[0] == 1792
        cur.execute("COMMIT")
        # The next one is read-write again.
        cur.execute("BEGIN")
        cur.execute("UPDATE t SET v = 5 WHERE id = 2")
        cur.execute("COMMIT")
        _, read_only = names(server)
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        assert one(cur, f"SELECT @@{read_only}") == 1
        with pytest.raises(pymysql.err.MySQLError) as failed:
            cur.execute("INSERT INTO t VALUES (4, 4)")
        assert failed.value.args[0] == 1792
        cur.execute(f"SET SESSION {read_only} = OFF")
        cur.execute("START TRANSACTION READ WRITE, WITH CONSISTENT SNAPSHOT")
        cur.execute("INSERT INTO t VALUES (4, 4)")
        cur.execute("COMMIT")
        assert one(cur, "SELECT COUNT(*) FROM t") == 3


def test_levels_basalt_does_not_run_are_refused(db):
    server, name = db
    if server.name == "mariadb":
        pytest.skip("MariaDB runs SERIALIZABLE and READ UNCOMMITTED")
    with server.connect(database=name) as c, c.cursor() as cur:
        for level in ("SERIALIZABLE", "READ UNCOMMITTED"):
            for sql in (
                f"SET SESSION TRANSACTION ISOLATION LEVEL {level}",
                f"SET TRANSACTION ISOLATION LEVEL {level}",
                f"SET transaction_isolation = '{level.replace(' ', '-')}'",
            ):
                with pytest.raises(pymysql.err.MySQLError) as failed:
                    cur.execute(sql)
                assert failed.value.args[0] == 8048, sql
        assert one(cur, "SELECT @@transaction_isolation") == "REPEATABLE-READ"
        cur.execute("SET tidb_skip_isolation_level_check = 1")
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        cur.execute("SHOW WARNINGS")
        assert [w[1] for w in cur.fetchall()] == [8048]
        # START TRANSACTION takes no isolation level in MySQL.
        with pytest.raises(pymysql.err.MySQLError) as failed:
            cur.execute("START TRANSACTION ISOLATION LEVEL READ COMMITTED")
        assert failed.value.args[0] == 1064


def test_repeatable_read_writes_current_rows_as_innodb_does(db):
    server, name = db
    with server.connect(database=name) as a, server.connect(database=name) as b:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("BEGIN")
            read = one(ca, "SELECT v FROM t WHERE id = 1")
            cb.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            # A plain read keeps the snapshot; a write reads the current row.
            assert one(ca, "SELECT v FROM t WHERE id = 1") == read
            ca.execute("UPDATE t SET v = v + 10 WHERE id = 1")
            assert one(ca, "SELECT v FROM t WHERE id = 1") == read + 11
            ca.execute("COMMIT")


def test_snapshot_isolation_fails_a_write_to_a_row_changed_after_the_snapshot(db):
    server, name = db
    with server.connect(database=name) as a, server.connect(database=name) as b:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SET SESSION innodb_snapshot_isolation = ON")
            ca.execute("BEGIN")
            read = one(ca, "SELECT v FROM t WHERE id = 1")
            cb.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            with pytest.raises(pymysql.err.MySQLError) as failed:
                ca.execute(f"UPDATE t SET v = {read + 10} WHERE id = 1")
            assert failed.value.args[0] == 1020
            ca.execute("ROLLBACK")
            assert one(ca, "SELECT v FROM t WHERE id = 1") == read + 1
            # A row untouched since the snapshot is written as usual, and a
            # transaction whose first statement locks reads current data.
            ca.execute("BEGIN")
            one(ca, "SELECT v FROM t WHERE id = 1")
            ca.execute("UPDATE t SET v = v + 1 WHERE id = 2")
            ca.execute("COMMIT")
            ca.execute("BEGIN")
            cb.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            assert one(ca, "SELECT v FROM t WHERE id = 1 FOR UPDATE") == read + 2
            ca.execute(f"UPDATE t SET v = {read + 3} WHERE id = 1")
            ca.execute("COMMIT")
            assert one(cb, "SELECT v FROM t WHERE id = 1") == read + 3


def test_snapshot_isolation_moves_a_snapshot_whose_reads_did_not_change(db):
    server, name = db
    if server.name == "mariadb":
        pytest.skip("MariaDB fails every write of a row changed after the snapshot")
    with server.connect(database=name) as a, server.connect(database=name) as b:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SET SESSION innodb_snapshot_isolation = ON")
            ca.execute("BEGIN")
            other = one(ca, "SELECT v FROM t WHERE id = 2")
            before = one(cb, "SELECT v FROM t WHERE id = 1")
            cb.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            # Nothing the transaction read changed: it runs as if it began now.
            ca.execute("UPDATE t SET v = v + 100 WHERE id = 1")
            assert one(ca, "SELECT v FROM t WHERE id = 1") == before + 101
            assert one(ca, "SELECT v FROM t WHERE id = 2") == other
            ca.execute("COMMIT")
