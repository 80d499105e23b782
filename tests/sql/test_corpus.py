"""The SQL corpus (tests/sql/corpus/*.test) against Basalt, one test per file.

Uses the shared `basalt_server` fixture (tests/conftest.py): a `basalt
playground` started on free ports, or BASALT_TEST_SERVER=host:port. Skipped
when the basalt binary does not exist. Each file runs through run_corpus.py
with tests/sql/DEVIATIONS.md and, against the playground, the ratchet list
tests/sql/KNOWN_FAILURES.txt; a failing file fails with the runner's report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run_corpus.py"
DEVIATIONS = HERE / "DEVIATIONS.md"
# Records Basalt does not pass yet (the open work list): they may fail, but
# every other record must pass, and a listed one that passes must be removed.
KNOWN_FAILURES = HERE / "KNOWN_FAILURES.txt"
CORPUS = sorted((HERE / "corpus").glob("*.test"))
FILE_TIMEOUT = 600  # seconds for one corpus file, generous: a few seconds is normal


def test_corpus_is_present():
    assert len(CORPUS) >= 10, f"corpus files missing under {HERE / 'corpus'}"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus(basalt_server, path):
    cmd = [
        sys.executable, str(RUNNER),
        "--host", basalt_server.host,
        "--port", str(basalt_server.port),
        "--user", basalt_server.user,
        "--password", basalt_server.password,
        "--deviations", str(DEVIATIONS),
        str(path),
    ]
    if not basalt_server.external:
        cmd[-1:-1] = ["--known-failures", str(KNOWN_FAILURES)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=FILE_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"{path.name}: no result after {FILE_TIMEOUT}s\n{out}", pytrace=False)
    output = r.stdout + (("\nstderr:\n" + r.stderr) if r.stderr.strip() else "")
    if r.returncode != 0:
        if not basalt_server.external and basalt_server.log_path:
            output += "\n--- server log (tail) ---\n" + basalt_server.log_tail(40)
        pytest.fail(f"{path.name} failed:\n{output}", pytrace=False)
    if "DEVIATION" in r.stdout:
        print(output)  # visible with -rP / -s: deliberate differences
