"""Random joins (tests/sqlgen.py) on Basalt and on MariaDB, the reference:
5,000 queries from a fixed seed over random tables, no result may differ.

Basalt is conftest's `basalt_server` (a playground, or BASALT_TEST_SERVER);
MariaDB is conftest's `mariadb_server` (tests/sql/mariadb.sh on a free port;
skipped when mariadb-server is not installed), or an already running one
named by SQLGEN_REFERENCE=host:port. A failure prints each differing query
with both results and the command line that reproduces it alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SQLGEN = Path(__file__).resolve().parent / "sqlgen.py"
SEED = 20240601
QUERIES = 5000
TIME_LIMIT = 170  # seconds of queries; the run stops there (and says so) rather than hang


@pytest.fixture(scope="module")
def reference(request):
    spec = os.environ.get("SQLGEN_REFERENCE")
    if spec:
        return spec
    server = request.getfixturevalue("mariadb_server")
    return f"{server.host}:{server.port}"


def test_random_joins_match_mariadb(basalt_server, reference):
    cmd = [
        sys.executable, str(SQLGEN),
        "--basalt", f"{basalt_server.host}:{basalt_server.port}",
        "--reference", reference,
        "--user", basalt_server.user, "--password", basalt_server.password,
        "--seed", str(SEED), "--queries", str(QUERIES), "--time-limit", str(TIME_LIMIT),
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIME_LIMIT + 120)
    output = r.stdout + (("\nstderr:\n" + r.stderr) if r.stderr.strip() else "")
    print(output)
    assert r.returncode == 0, f"sqlgen found differences ({' '.join(cmd)}):\n{output}"
    assert "time limit" not in r.stdout, f"sqlgen did not finish {QUERIES} queries:\n{output}"
