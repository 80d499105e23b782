"""LOAD DATA LOCAL INFILE through the mysql CLI and pymysql (both send the
file when the server asks for it): tab-separated defaults with \\N and
escapes, CSV with enclosures, a header line and CRLF, missing and extra
fields, duplicates skipped (LOCAL implies IGNORE) or replaced, and the
Records/Skipped/Warnings summary."""

from __future__ import annotations

import shutil
import subprocess

import pytest

CLI = shutil.which("mariadb") or shutil.which("mysql")


@pytest.fixture
def conn(basalt_server):
    c = basalt_server.connect(local_infile=True)
    with c.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS load_test")
        cur.execute("CREATE DATABASE load_test")
        cur.execute("USE load_test")
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, score DECIMAL(5,2) DEFAULT 0)")
    yield c
    with c.cursor() as cur:
        cur.execute("DROP DATABASE load_test")
    c.close()


def rows(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT id, name, CAST(score AS CHAR) FROM t ORDER BY id")
        return cur.fetchall()


def warnings(conn):
    with conn.cursor() as cur:
        cur.execute("SHOW WARNINGS")
        return [(w[0], int(w[1])) for w in cur.fetchall()]


def test_tab_separated_defaults(conn, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_bytes(b"1\tann\t9.5\n2\tb\\tob\t\\N\n3\tcy\t7.25\n3\tdup\t1\n")
    with conn.cursor() as cur:
        assert cur.execute(f"LOAD DATA LOCAL INFILE '{f}' INTO TABLE t") == 3
    assert warnings(conn) == [("Warning", 1062)]
    assert rows(conn) == ((1, "ann", "9.50"), (2, "b\tob", None), (3, "cy", "7.25"))
    with conn.cursor() as cur:
        cur.execute(f"LOAD DATA LOCAL INFILE '{f}' REPLACE INTO TABLE t")
    assert rows(conn)[2] == (3, "dup", "1.00")


def test_csv_with_header_quotes_and_short_rows(conn, tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes(b'id,name,score\r\n10,"a,b",1.5\r\n11,"say ""hi""",2\r\n12,x\r\n13,y,3,extra\r\n')
    with conn.cursor() as cur:
        n = cur.execute(
            f"LOAD DATA LOCAL INFILE '{f}' INTO TABLE t FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
            "LINES TERMINATED BY '\\r\\n' IGNORE 1 LINES (id, name, score)")
    assert n == 4
    assert warnings(conn) == [("Warning", 1261), ("Warning", 1262)]
    assert rows(conn) == ((10, "a,b", "1.50"), (11, 'say "hi"', "2.00"), (12, "x", "0.00"), (13, "y", "3.00"))


def test_errors(conn, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_bytes(b"1\ta\t1\n")
    with pytest.raises(Exception) as e:
        with conn.cursor() as cur:
            cur.execute(f"LOAD DATA LOCAL INFILE '{f}' INTO TABLE no_such_table")
    assert e.value.args[0] == 1146
    with pytest.raises(Exception) as e:
        with conn.cursor() as cur:
            cur.execute(f"LOAD DATA INFILE '{f}' INTO TABLE t")
    assert e.value.args[0] == 1290
    with conn.cursor() as cur:  # the connection is still in step
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


@pytest.mark.skipif(CLI is None, reason="no mysql/mariadb client installed")
def test_mysql_cli(basalt_server, conn, tmp_path):
    f = tmp_path / "t.tsv"
    f.write_bytes(b"1\tann\t1\n2\tbob\t2\n")
    r = subprocess.run(
        [CLI, f"-h{basalt_server.host}", f"-P{basalt_server.port}", f"-u{basalt_server.user}",
         f"--password={basalt_server.password}", "--local-infile=1", "-vv", "load_test",
         "-e", f"LOAD DATA LOCAL INFILE '{f}' INTO TABLE t"],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Records: 2  Deleted: 0  Skipped: 0  Warnings: 0" in r.stdout
    assert len(rows(conn)) == 2
