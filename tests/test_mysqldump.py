"""mysqldump round trip: a database sysbench prepared is dumped with Debian's
`mariadb-dump` (default options, then --single-transaction), restored into a
new database through the `mariadb` CLI, and every table comes back equal: same
SHOW CREATE TABLE (with its AUTO_INCREMENT counter), row count, CHECKSUM TABLE
and ordered hash of its rows."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

TABLES, TABLE_SIZE = 2, 1000
SOURCE, COPY = "dump_source", "dump_copy"

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("mariadb-dump", "mariadb", "sysbench")),
    reason="needs mariadb-dump, mariadb (Debian's mariadb-client) and sysbench",
)


def client_args(server) -> list[str]:
    args = ["--protocol=tcp", f"-h{server.host}", f"-P{server.port}", f"-u{server.user}"]
    return args + ([f"-p{server.password}"] if server.password else [])


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, timeout=300, **kwargs)
    assert r.returncode == 0, f"{cmd[0]} failed ({r.returncode}):\n{r.stderr.decode(errors='replace')[-3000:]}"
    return r


def ordered_hash(cur, table: str) -> str:
    cur.execute(f"SELECT * FROM {table} ORDER BY id")
    digest = hashlib.sha256()
    for row in cur.fetchall():
        digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("options", [[], ["--single-transaction"]], ids=["default", "single-transaction"])
def test_dump_restores_equal_tables(basalt_server, tmp_path, options):
    with basalt_server.connect() as conn, conn.cursor() as cur:
        for db in (SOURCE, COPY):
            cur.execute(f"DROP DATABASE IF EXISTS {db}")
            cur.execute(f"CREATE DATABASE {db}")
    run([
        "sysbench", "oltp_read_write", f"--mysql-host={basalt_server.host}",
        f"--mysql-port={basalt_server.port}", f"--mysql-user={basalt_server.user}",
        f"--mysql-password={basalt_server.password}", f"--mysql-db={SOURCE}",
        f"--tables={TABLES}", f"--table-size={TABLE_SIZE}", "prepare",
    ])

    # The last row goes: the dump must carry the counter (AUTO_INCREMENT=N in
    # SHOW CREATE TABLE) so the restored table does not give its id again.
    with basalt_server.connect() as conn, conn.cursor() as cur:
        for i in range(1, TABLES + 1):
            cur.execute(f"DELETE FROM {SOURCE}.sbtest{i} WHERE id = {TABLE_SIZE}")

    dump = tmp_path / "dump.sql"
    with open(dump, "wb") as out:
        r = subprocess.run(
            ["mariadb-dump", *client_args(basalt_server), *options, SOURCE],
            stdout=out, stderr=subprocess.PIPE, timeout=300,
        )
    assert r.returncode == 0 and not r.stderr, f"mariadb-dump failed ({r.returncode}):\n{r.stderr.decode()}"
    with open(dump, "rb") as script:
        run(["mariadb", *client_args(basalt_server), COPY], stdin=script)

    with basalt_server.connect() as conn, conn.cursor() as cur:
        for i in range(1, TABLES + 1):
            source, copy = f"{SOURCE}.sbtest{i}", f"{COPY}.sbtest{i}"
            cur.execute(f"SHOW CREATE TABLE {source}")
            created = cur.fetchone()[1]
            assert f" AUTO_INCREMENT={TABLE_SIZE + 1} " in created
            cur.execute(f"SHOW CREATE TABLE {copy}")
            assert cur.fetchone()[1] == created
            counts = []
            for table in (source, copy):
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                counts.append(cur.fetchone()[0])
            assert counts == [TABLE_SIZE - 1, TABLE_SIZE - 1]
            cur.execute(f"CHECKSUM TABLE {source}, {copy}")
            (_, source_sum), (_, copy_sum) = cur.fetchall()
            assert source_sum is not None and source_sum == copy_sum
            assert ordered_hash(cur, source) == ordered_hash(cur, copy)
        for db in (SOURCE, COPY):
            cur.execute(f"DROP DATABASE {db}")


def test_statements_of_dump_and_restore(basalt_server):
    """What mariadb-dump asks and its output runs, checked one by one."""
    db = "dump_statements"
    with basalt_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {db}")
        cur.execute(f"CREATE DATABASE {db}")
        cur.execute(f"USE {db}")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10), n INT, KEY kn (n))")
        cur.execute("INSERT INTO t VALUES (1, 'a', NULL), (2, 'it''s', 5)")

        cur.execute("SHOW TABLE STATUS LIKE 't'")
        names = [d[0] for d in cur.description][:18]
        assert names == [
            "Name", "Engine", "Version", "Row_format", "Rows", "Avg_row_length", "Data_length",
            "Max_data_length", "Index_length", "Data_free", "Auto_increment", "Create_time",
            "Update_time", "Check_time", "Collation", "Checksum", "Create_options", "Comment",
        ]
        assert [(r[0], r[1]) for r in cur.fetchall()] == [("t", "InnoDB")]
        cur.execute("SHOW CREATE DATABASE IF NOT EXISTS dump_statements")
        assert cur.fetchone()[1].startswith("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `dump_statements`")
        cur.execute("SELECT engine, table_type FROM INFORMATION_SCHEMA.TABLES "
                    "WHERE table_schema = DATABASE() AND table_name = 't'")
        assert cur.fetchall() == (("InnoDB", "BASE TABLE"),)
        cur.execute("select column_name, data_type from information_schema.columns "
                    "where table_schema=database() and table_name='t' order by ordinal_position")
        assert cur.fetchall() == (("id", "int"), ("s", "varchar"), ("n", "int"))
        cur.execute("SELECT TRIGGER_NAME FROM INFORMATION_SCHEMA.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE()")
        assert cur.fetchall() == ()
        for show in ("SHOW TRIGGERS LIKE 't'", f"SHOW FUNCTION STATUS WHERE Db = '{db}'",
                     f"SHOW PROCEDURE STATUS WHERE Db = '{db}'", "SHOW EVENTS"):
            cur.execute(show)
            assert cur.fetchall() == (), show

        # InnoDB cannot disable index maintenance either: a note, no error.
        cur.execute("ALTER TABLE t DISABLE KEYS")
        cur.execute("SHOW WARNINGS")
        assert [(w[0], int(w[1])) for w in cur.fetchall()] == [("Note", 1031)]
        cur.execute("SET SQL_NOTES=0")
        cur.execute("ALTER TABLE t ENABLE KEYS")
        cur.execute("SHOW WARNINGS")
        assert cur.fetchall() == ()
        cur.execute("SET SQL_NOTES=1")

        cur.execute("CHECKSUM TABLE t, nosuch")
        (t, checksum), (missing, nothing) = cur.fetchall()
        assert (t, missing, nothing) == (f"{db}.t", f"{db}.nosuch", None) and checksum is not None
        cur.execute("SHOW WARNINGS")
        assert [int(w[1]) for w in cur.fetchall()] == [1146]
        cur.execute("UPDATE t SET n = 0 WHERE id = 1")
        cur.execute("CHECKSUM TABLE t")
        assert cur.fetchone()[1] != checksum

        # --single-transaction: a snapshot, and a savepoint rolled back to per table.
        cur.execute("START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */")
        cur.execute("SAVEPOINT sp")
        cur.execute("INSERT INTO t VALUES (3, 'c', 3)")
        cur.execute("ROLLBACK TO SAVEPOINT sp")
        cur.execute("RELEASE SAVEPOINT sp")
        cur.execute("COMMIT")
        cur.execute("SELECT COUNT(*) FROM t")
        assert cur.fetchone()[0] == 2
        cur.execute(f"DROP DATABASE {db}")
