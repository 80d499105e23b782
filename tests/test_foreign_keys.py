"""FOREIGN KEY constraints under concurrency and through a dump and restore,
on MariaDB (the reference), the playground and a `playground --kv 3`
cluster (the dump on MariaDB and the playground):

- 8 connections: half insert children referencing random parents (and
  re-create deleted parents), half delete parents, in transactions retried
  after a deadlock or a lock wait timeout (1213 / 1205), as applications do.
  With ON DELETE RESTRICT a parent with children cannot go (1451), some
  deleters first delete the children in the same transaction; a child of a
  deleted parent is refused (1452). With ON DELETE CASCADE deleting a parent
  deletes its children. Either way no child lacks its parent (LEFT JOIN ...
  IS NULL finds nothing): neither in the snapshots a ninth connection reads
  all along the run, nor at the end; every child row is one a committed
  transaction inserted, and the constraint still refuses an orphan;
- mariadb-dump of a schema with foreign keys (grandparent / parent / child
  with CASCADE and SET NULL, a self-referencing table, a two-column key;
  the dump creates `child` before `parent`, as mysqldump orders tables by
  name and disables foreign_key_checks) restored with the mariadb client into
  a new database: the same rows, the same SHOW CREATE TABLE and constraint
  metadata, references to the new database's tables, and the constraints
  enforced (an orphan gets 1452, cascades act on the copy only).

MariaDB is started from Debian's `mariadb-server` (tests/sql/mariadb.sh);
without it those cases are skipped unless BASALT_REQUIRE_MARIADB=1. The
single-statement behaviour of foreign keys is in
tests/sql/corpus/foreign_keys.test.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
import time

import pymysql
import pytest

from concurrency import rounds, run_threads

THREADS = 8
PARENTS = 20
# Errors after which MySQL applications run the transaction again.
RETRY = {1205, 1213}
# A foreign key refused the statement: the transaction is given up.
FK_REFUSED = {1451, 1452}




def transaction(conn, body, attempts: int = 300):
    """Run `body(cursor)` in BEGIN ... COMMIT, again after 1205 / 1213.
    Returns ("ok", body's result), or ("refused", code) when a statement
    failed with 1451 / 1452 (the transaction is rolled back)."""
    for _ in range(attempts):
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN")
                result = body(cur)
                cur.execute("COMMIT")
                return "ok", result
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args else None
            try:
                conn.rollback()
            except pymysql.err.MySQLError:
                pass
            if code in FK_REFUSED:
                return "refused", code
            if code not in RETRY:
                raise
            time.sleep(random.uniform(0, 0.01))
    raise AssertionError("transaction kept failing with 1205 / 1213")



def one(cur, sql):
    cur.execute(sql)
    return cur.fetchone()[0]


@pytest.mark.parametrize("action", ["RESTRICT", "CASCADE"])
def test_concurrent_child_inserts_and_parent_deletes_leave_no_orphan(each_server, action):
    target = each_server
    name = "fk_concurrency_test"
    per_thread = rounds(target, 60, 25)
    with target.connect() as c, c.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
        cur.execute(f"USE {name}")
        cur.execute("CREATE TABLE parent (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0)")
        cur.execute(
            "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT NOT NULL, "
            f"CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE {action})"
        )
        cur.execute("INSERT INTO parent (id) VALUES " + ", ".join(f"({p})" for p in range(1, PARENTS + 1)))
        cur.execute("INSERT INTO child VALUES " + ", ".join(f"({p}, {p})" for p in range(1, PARENTS + 1)))

    lock = threading.Lock()
    committed_children = set(range(1, PARENTS + 1))
    stats = {"child_ok": 0, "child_1452": 0, "parent_deleted": 0, "parent_1451": 0,
             "parents_recreated": 0, "orphan_checks": 0}
    orphans_seen: list[int] = []
    workers_done = []
    all_done = threading.Event()

    def count(key, n=1):
        with lock:
            stats[key] += n

    def writer(i, conn, rng):
        for k in range(per_thread):
            p = rng.randint(1, PARENTS)
            if rng.random() < 0.5:
                # re-create the parent if a deleter took it (its own transaction:
                # a deleter may take it again before the child comes)
                status, created = transaction(
                    conn, lambda cur: cur.execute(f"INSERT IGNORE INTO parent (id) VALUES ({p})")
                )
                if status == "ok" and created:
                    count("parents_recreated")
            cid = 1000 + i * 100000 + k * 10
            others = [rng.randint(1, PARENTS) for _ in range(rng.randint(0, 2))]

            def body(cur):
                cur.execute(f"INSERT INTO child VALUES ({cid}, {p})")
                for j, other in enumerate(others, start=1):
                    cur.execute(f"INSERT INTO child VALUES ({cid + j}, {other})")
                return [cid + j for j in range(len(others) + 1)]

            status, result = transaction(conn, body)
            if status == "ok":
                with lock:
                    committed_children.update(result)
                count("child_ok")
            else:
                assert result == 1452, f"a child insert failed with {result}"
                count("child_1452")

    def deleter(i, conn, rng):
        for _ in range(per_thread):
            p = rng.randint(1, PARENTS)
            if rng.random() < 0.5:
                children_first = action == "RESTRICT" and rng.random() < 0.5

                def body(cur):
                    if children_first:
                        cur.execute(f"DELETE FROM child WHERE parent_id = {p}")
                    return cur.execute(f"DELETE FROM parent WHERE id = {p}")

                status, result = transaction(conn, body)
                if status == "ok":
                    if result:
                        count("parent_deleted")
                else:
                    assert result == 1451 and action == "RESTRICT", f"a parent delete failed with {result}"
                    count("parent_1451")
            # churn on the parent row itself (not its key): locks it
            transaction(conn, lambda cur: cur.execute(f"UPDATE parent SET v = v + 1 WHERE id = {p}"))

    def monitor(conn):
        # Every statement reads a consistent snapshot: no snapshot may show a
        # child without its parent, at any moment of the run (an orphan that
        # was committed and later deleted would not show at the end).
        while not all_done.is_set():
            with conn.cursor() as cur:
                n = one(cur, "SELECT COUNT(*) FROM child c LEFT JOIN parent p ON p.id = c.parent_id "
                             "WHERE p.id IS NULL")
            count("orphan_checks")
            if n:
                orphans_seen.append(n)
            time.sleep(0.005)

    def worker(i):
        rng = random.Random(1000 * i + (1 if action == "CASCADE" else 0))
        with target.connect(database=name) as conn:
            if i == THREADS:
                monitor(conn)
                return
            try:
                if i < THREADS // 2:
                    writer(i, conn, rng)
                else:
                    deleter(i, conn, rng)
            finally:
                with lock:
                    workers_done.append(i)
                    if len(workers_done) == THREADS:
                        all_done.set()

    run_threads(worker, THREADS + 1)
    assert not orphans_seen, f"snapshots showed children without a parent: {orphans_seen[:10]} ({action}); stats {stats}"

    with target.connect(database=name) as c, c.cursor() as cur:
        orphans = one(cur, "SELECT COUNT(*) FROM child c LEFT JOIN parent p ON p.id = c.parent_id WHERE p.id IS NULL")
        assert orphans == 0, f"{orphans} children without a parent ({action}); stats {stats}"
        cur.execute("SELECT id FROM child")
        present = {r[0] for r in cur.fetchall()}
        assert present <= committed_children, f"children no committed transaction inserted: {sorted(present - committed_children)[:10]}"
        # the workload did exercise both sides
        assert stats["child_ok"] > 0 and stats["parent_deleted"] > 0, stats
        if action == "RESTRICT":
            assert stats["parent_1451"] > 0, stats
        # the constraint is still there and enforced
        with pytest.raises(pymysql.err.IntegrityError) as refused:
            cur.execute(f"INSERT INTO child VALUES (999999999, {PARENTS + 1000})")
        assert refused.value.args[0] == 1452
        if action == "CASCADE":
            cur.execute("INSERT IGNORE INTO parent (id) VALUES (1)")
            cur.execute("INSERT INTO child VALUES (999999991, 1), (999999992, 1)")
            before = one(cur, "SELECT COUNT(*) FROM child")
            mine = one(cur, "SELECT COUNT(*) FROM child WHERE parent_id = 1")
            assert cur.execute("DELETE FROM parent WHERE id = 1") == 1
            assert one(cur, "SELECT COUNT(*) FROM child") == before - mine
        print(f"{target.name} {action}: {stats}, {len(present)} children left")
        cur.execute(f"DROP DATABASE {name}")


# ---------------------------------------------------------------------------
# mariadb-dump round trip

DUMP_SOURCE, DUMP_COPY = "fk_dump_source", "fk_dump_copy"

SCHEMA = [
    "CREATE TABLE grandparent (id INT PRIMARY KEY, name VARCHAR(20))",
    "CREATE TABLE parent (id INT PRIMARY KEY, gp_id INT NOT NULL, name VARCHAR(20), "
    "CONSTRAINT fk_parent_gp FOREIGN KEY (gp_id) REFERENCES grandparent (id) ON DELETE CASCADE)",
    # `child` sorts before `parent` and `grandparent`: the dump creates it first
    "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, note VARCHAR(20), "
    "CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL ON UPDATE CASCADE)",
    "CREATE TABLE employee (id INT PRIMARY KEY, manager_id INT, name VARCHAR(20), "
    "CONSTRAINT fk_employee_manager FOREIGN KEY (manager_id) REFERENCES employee (id))",
    "CREATE TABLE address (country CHAR(2) NOT NULL, code VARCHAR(10) NOT NULL, city VARCHAR(20), "
    "PRIMARY KEY (country, code))",
    "CREATE TABLE customer (id INT PRIMARY KEY, country CHAR(2), postcode VARCHAR(10), "
    "CONSTRAINT fk_customer_address FOREIGN KEY (country, postcode) REFERENCES address (country, code))",
]
DATA = [
    "INSERT INTO grandparent VALUES (1, 'g1'), (2, 'g2')",
    "INSERT INTO parent VALUES (10, 1, 'p10'), (11, 1, 'p11'), (20, 2, 'p20')",
    "INSERT INTO child VALUES (100, 10, 'c100'), (101, 10, 'c101'), (110, 11, 'c110'), (200, 20, 'c200'), (300, NULL, 'c300')",
    # a manager with a higher id than a report: rows whose parent comes later in the dump
    "INSERT INTO employee VALUES (5, NULL, 'boss'), (1, 5, 'ann'), (2, 1, 'bob'), (3, 1, 'cy')",
    "INSERT INTO address VALUES ('FR', '75001', 'Paris'), ('DE', '10115', 'Berlin')",
    "INSERT INTO customer VALUES (1, 'FR', '75001'), (2, 'DE', '10115'), (3, NULL, NULL)",
]
TABLES = ["address", "child", "customer", "employee", "grandparent", "parent"]


def tool(*names):
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


DUMP_TOOL = tool("mariadb-dump", "mysqldump")
CLIENT_TOOL = tool("mariadb", "mysql")


def client_args(server) -> list[str]:
    args = ["--protocol=tcp", f"-h{server.host}", f"-P{server.port}", f"-u{server.user}"]
    return args + ([f"-p{server.password}"] if server.password else [])


@pytest.fixture(params=["mariadb", "playground"])
def dump_target(request):
    fixture = {"mariadb": "mariadb_server", "playground": "basalt_server"}[request.param]
    return request.getfixturevalue(fixture)


def table_rows(cur, db, table):
    cur.execute(f"SELECT * FROM {db}.{table} ORDER BY 1, 2")
    return cur.fetchall()


def fk_metadata(cur, db):
    cur.execute(
        "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE "
        f"FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{db}' ORDER BY CONSTRAINT_NAME"
    )
    rules = cur.fetchall()
    cur.execute(
        "SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, REFERENCED_TABLE_SCHEMA, "
        "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        f"WHERE TABLE_SCHEMA = '{db}' AND REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION"
    )
    columns = cur.fetchall()
    return rules, columns


@pytest.mark.skipif(DUMP_TOOL is None or CLIENT_TOOL is None,
                    reason="needs mariadb-dump (or mysqldump) and the mariadb (or mysql) client")
def test_dump_and_restore_keeps_foreign_keys(dump_target, tmp_path):
    server = dump_target
    with server.connect() as conn, conn.cursor() as cur:
        for db in (DUMP_SOURCE, DUMP_COPY):
            cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {DUMP_SOURCE}")
        cur.execute(f"CREATE DATABASE {DUMP_COPY}")
        cur.execute(f"USE {DUMP_SOURCE}")
        for sql in SCHEMA + DATA:
            cur.execute(sql)

    dump = tmp_path / "dump.sql"
    with open(dump, "wb") as out:
        r = subprocess.run([DUMP_TOOL, *client_args(server), DUMP_SOURCE],
                           stdout=out, stderr=subprocess.PIPE, timeout=300)
    assert r.returncode == 0, f"{DUMP_TOOL} failed ({r.returncode}):\n{r.stderr.decode(errors='replace')}"
    text = dump.read_text(errors="replace")
    # what makes the restore work in any table order
    assert "FOREIGN_KEY_CHECKS=0" in text, "the dump does not disable foreign_key_checks"
    assert text.index("CREATE TABLE `child`") < text.index("CREATE TABLE `parent`")
    for constraint in ("fk_parent_gp", "fk_child_parent", "fk_employee_manager", "fk_customer_address"):
        assert f"CONSTRAINT `{constraint}` FOREIGN KEY" in text, f"{constraint} missing from the dump"

    with open(dump, "rb") as script:
        r = subprocess.run([CLIENT_TOOL, *client_args(server), DUMP_COPY],
                           stdin=script, capture_output=True, timeout=300)
    assert r.returncode == 0, f"{CLIENT_TOOL} failed ({r.returncode}):\n{r.stderr.decode(errors='replace')[-3000:]}"

    with server.connect() as conn, conn.cursor() as cur:
        for table in TABLES:
            assert table_rows(cur, DUMP_COPY, table) == table_rows(cur, DUMP_SOURCE, table), table
            cur.execute(f"SHOW CREATE TABLE {DUMP_SOURCE}.{table}")
            created = cur.fetchone()[1]
            cur.execute(f"SHOW CREATE TABLE {DUMP_COPY}.{table}")
            assert cur.fetchone()[1] == created, table

        source_rules, source_columns = fk_metadata(cur, DUMP_SOURCE)
        copy_rules, copy_columns = fk_metadata(cur, DUMP_COPY)
        assert len(source_rules) == 4 and copy_rules == source_rules
        assert [r[:4] + r[5:] for r in copy_columns] == [r[:4] + r[5:] for r in source_columns]
        # the copy's keys reference the copy's tables, not the source's
        assert {r[4] for r in source_columns} == {DUMP_SOURCE}
        assert {r[4] for r in copy_columns} == {DUMP_COPY}
        assert [(r[0], r[2], r[3], r[6]) for r in copy_columns if r[0] == "fk_customer_address"] == [
            ("fk_customer_address", "country", 1, "country"),
            ("fk_customer_address", "postcode", 2, "code"),
        ]

        # the restored constraints are enforced (foreign_key_checks is back on)
        assert one(cur, "SELECT @@foreign_key_checks") == 1
        orphans = [
            f"INSERT INTO {DUMP_COPY}.child VALUES (900, 99, 'orphan')",
            f"INSERT INTO {DUMP_COPY}.parent VALUES (90, 9, 'orphan')",
            f"INSERT INTO {DUMP_COPY}.employee VALUES (90, 99, 'orphan')",
            f"INSERT INTO {DUMP_COPY}.customer VALUES (90, 'FR', '99999')",
            f"UPDATE {DUMP_COPY}.employee SET manager_id = 42 WHERE id = 2",
        ]
        for sql in orphans:
            with pytest.raises(pymysql.err.IntegrityError) as refused:
                cur.execute(sql)
            assert refused.value.args[0] == 1452, sql
        with pytest.raises(pymysql.err.IntegrityError) as refused:
            cur.execute(f"DELETE FROM {DUMP_COPY}.employee WHERE id = 1")
        assert refused.value.args[0] == 1451

        # the referential actions act on the copy, and only there
        assert cur.execute(f"UPDATE {DUMP_COPY}.parent SET id = 12 WHERE id = 11") == 1
        assert table_rows(cur, DUMP_COPY, "child")[2] == (110, 12, "c110")
        assert cur.execute(f"DELETE FROM {DUMP_COPY}.grandparent WHERE id = 1") == 1
        assert table_rows(cur, DUMP_COPY, "parent") == ((20, 2, "p20"),)
        assert table_rows(cur, DUMP_COPY, "child") == (
            (100, None, "c100"), (101, None, "c101"), (110, None, "c110"), (200, 20, "c200"), (300, None, "c300"),
        )
        assert len(table_rows(cur, DUMP_SOURCE, "parent")) == 3
        assert table_rows(cur, DUMP_SOURCE, "child")[0] == (100, 10, "c100")

        for db in (DUMP_SOURCE, DUMP_COPY):
            cur.execute(f"DROP DATABASE {db}")
