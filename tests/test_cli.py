"""The mysql/mariadb command-line client against the playground: a SQL
script in batch mode, and an interactive session through a pseudo-terminal
(the client then behaves as for a person: prompt, tables, `\\q`)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import time

import pytest

CLI = shutil.which("mariadb") or shutil.which("mysql")
pytestmark = pytest.mark.skipif(CLI is None, reason="no mysql/mariadb client installed")

SCRIPT = """
DROP DATABASE IF EXISTS cli_test;
CREATE DATABASE cli_test;
USE cli_test;
CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20) NOT NULL, score DECIMAL(5,2));
INSERT INTO t (name, score) VALUES ('ann', 9.5), ('bob', NULL), ('cy', 7.25);
UPDATE t SET score = score + 1 WHERE name = 'ann';
SELECT id, name, score FROM t ORDER BY id;
SELECT COUNT(*), SUM(score) FROM t;
"""


def cli_args(server, *extra):
    return [CLI, f"-h{server.host}", f"-P{server.port}", f"-u{server.user}", f"--password={server.password}", *extra]


def test_script_in_batch_mode(basalt_server):
    r = subprocess.run(cli_args(basalt_server, "--batch"), input=SCRIPT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "id\tname\tscore", "1\tann\t10.50", "2\tbob\tNULL", "3\tcy\t7.25",
        "COUNT(*)\tSUM(score)", "3\t17.75",
    ]


def test_script_stops_at_an_error_with_its_code(basalt_server):
    r = subprocess.run(cli_args(basalt_server), input="SELECT 1;\nSELECT * FROM no_db.no_table;\nSELECT 2;\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "ERROR 1049" in r.stderr or "ERROR 1146" in r.stderr, r.stderr


def test_interactive_session(basalt_server):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(CLI, cli_args(basalt_server))
    out = b""

    def read_until(marker: bytes, timeout: float = 20) -> None:
        nonlocal out
        deadline = time.monotonic() + timeout
        while marker not in out:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} in: {out.decode(errors='replace')}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break

    try:
        read_until(b"> ")
        os.write(fd, b"SELECT 6 * 7 AS answer, 'hi' AS greeting;\n")
        read_until(b"1 row in set")
        assert b"answer" in out and b"42" in out and b"hi" in out
        os.write(fd, b"\\q\n")
        read_until(b"Bye")
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
