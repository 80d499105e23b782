"""Shared pytest fixtures: a Basalt playground (or an existing MySQL-protocol
server) for SQL-level tests.

- `basalt_server` (session scope): one server shared by every test of the run.
  If the environment variable BASALT_TEST_SERVER=host:port is set, that server
  is used and nothing is started (handy against MariaDB: tests/sql/mariadb.sh;
  BASALT_TEST_USER / BASALT_TEST_PASSWORD override root / empty password).
  Otherwise it starts `basalt playground` on free ports with a temporary data
  dir and kills it at the end of the session. The binary is $BASALT_BIN, else
  $CARGO_TARGET_DIR/release/basalt, else target/release/basalt under the repo
  root; if it does not exist, the tests that use the fixture are skipped.
- `playground_factory` (function scope): start extra playgrounds of one's own
  (restart tests, CLI tests...), each stopped at the end of the test.

Start-up is bounded (BASALT_START_TIMEOUT seconds, default 60) and a server
that exits or never answers makes the test fail with the tail of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = float(os.environ.get("BASALT_START_TIMEOUT", "60"))
STOP_TIMEOUT = 15.0


@dataclass
class Server:
    """Where a MySQL-protocol server listens, and how to log in."""

    host: str
    port: int
    user: str = "root"
    password: str = ""
    status_port: int | None = None
    data_dir: Path | None = None
    log_path: Path | None = None
    external: bool = False
    # Which server it is, for tests run on several: "playground", "kv3", "mariadb".
    name: str = "playground"

    def connect(self, **kwargs):
        import pymysql

        params = dict(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=10,
            read_timeout=60,
            write_timeout=60,
        )
        params.update(kwargs)
        return pymysql.connect(**params)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(empty log)"


def basalt_binary() -> Path:
    """The basalt binary the tests should run (it may not exist)."""
    env = os.environ.get("BASALT_BIN")
    if env:
        p = Path(env)
        return p if p.is_absolute() else REPO_ROOT / p
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        t = Path(target)
        return (t if t.is_absolute() else REPO_ROOT / t) / "release" / "basalt"
    return REPO_ROOT / "target" / "release" / "basalt"


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (free when asked; a small race remains)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def external_server() -> Server | None:
    spec = os.environ.get("BASALT_TEST_SERVER")
    if not spec:
        return None
    host, _, port = spec.rpartition(":")
    if not host or not port.isdigit():
        raise pytest.UsageError(f"BASALT_TEST_SERVER must be host:port, got {spec!r}")
    return Server(
        host=host,
        port=int(port),
        user=os.environ.get("BASALT_TEST_USER", "root"),
        password=os.environ.get("BASALT_TEST_PASSWORD", ""),
        external=True,
    )


@dataclass
class Playground:
    """One `basalt playground` process on free ports."""

    binary: Path
    workdir: Path
    extra_args: list[str] = field(default_factory=list)
    server: Server | None = None
    proc: subprocess.Popen | None = None
    _log: object = None

    def start(self, timeout: float = START_TIMEOUT) -> Server:
        port, status_port = free_ports(2)
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.workdir / "basalt.log"
        self.server = Server(
            host="127.0.0.1", port=port, status_port=status_port, data_dir=data_dir, log_path=log_path
        )
        cmd = [
            str(self.binary), "playground",
            "--data-dir", str(data_dir),
            "--port", str(port),
            "--status-port", str(status_port),
            "--host", "127.0.0.1",
            *self.extra_args,
        ]
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=self.workdir, start_new_session=True,
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self.server

    def _wait_ready(self, timeout: float) -> None:
        """Until the MySQL port accepts a connection and completes a handshake."""
        import pymysql

        deadline = time.monotonic() + timeout
        last_error = "no connection attempt yet"
        while True:
            rc = self.proc.poll()
            if rc is not None:
                pytest.fail(
                    f"basalt playground exited with code {rc} during start-up\n"
                    f"command: {' '.join(self.proc.args)}\nlog:\n{self.server.log_tail()}",
                    pytrace=False,
                )
            try:
                with socket.create_connection((self.server.host, self.server.port), timeout=1):
                    pass
                conn = self.server.connect(connect_timeout=3, read_timeout=10)
                conn.close()
                return
            except (OSError, pymysql.err.MySQLError) as e:
                last_error = repr(e)
            if time.monotonic() >= deadline:
                pytest.fail(
                    f"basalt playground not ready on {self.server.host}:{self.server.port} "
                    f"after {timeout:.0f}s (last error: {last_error})\nlog:\n{self.server.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM the process group we started, SIGKILL it if it lingers."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None


def _require_binary() -> Path:
    binary = basalt_binary()
    if not binary.is_file() and os.environ.get("BASALT_REQUIRE_BINARY"):
        pytest.fail(f"Basalt binary not found at {binary} (BASALT_REQUIRE_BINARY is set)", pytrace=False)
    if not binary.is_file():
        pytest.skip(
            f"Basalt binary not found at {binary}: build it with `cargo build --release -p basalt`, "
            "or set BASALT_BIN, or point BASALT_TEST_SERVER=host:port at a running server"
        )
    return binary


@pytest.fixture(scope="session")
def basalt_server(tmp_path_factory) -> Server:
    """A MySQL-protocol server for the whole session (see module docstring)."""
    pytest.importorskip("pymysql", reason="pip install pymysql")
    ext = external_server()
    if ext is not None:
        yield ext
        return
    binary = _require_binary()
    pg = Playground(binary, tmp_path_factory.mktemp("playground"))
    try:
        yield pg.start()
    finally:
        pg.stop()


@pytest.fixture
def playground_factory(tmp_path):
    """Start playgrounds owned by one test: `server = playground_factory(extra_args=[...])`.

    Skips when there is no binary. Not affected by BASALT_TEST_SERVER.
    Every playground started is stopped when the test ends.
    """
    pytest.importorskip("pymysql", reason="pip install pymysql")
    binary = _require_binary()
    started: list[Playground] = []

    def start(extra_args: list[str] | None = None, timeout: float = START_TIMEOUT) -> Playground:
        pg = Playground(binary, tmp_path / f"pg{len(started)}", list(extra_args or []))
        started.append(pg)
        pg.start(timeout)
        return pg

    try:
        yield start
    finally:
        for pg in started:
            pg.stop()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory) -> Server:
    """MariaDB from Debian's mariadb-server (tests/sql/mariadb.sh), the
    reference differential tests run beside Basalt, on a free port for the
    whole session. Skipped when it is not installed, unless
    BASALT_REQUIRE_MARIADB=1."""
    import shutil

    if not shutil.which("mariadbd") and not Path("/usr/sbin/mariadbd").exists():
        if os.environ.get("BASALT_REQUIRE_MARIADB") == "1":
            pytest.fail("mariadbd not installed (apt-get install mariadb-server)")
        pytest.skip("mariadb-server not installed")
    port = free_ports(1)[0]
    env = dict(os.environ, MARIADB_PORT=str(port), MARIADB_DIR=str(tmp_path_factory.mktemp("mariadb")))
    script = str(REPO_ROOT / "tests" / "sql" / "mariadb.sh")
    subprocess.run(["bash", script, "start"], env=env, check=True, capture_output=True, timeout=120)
    try:
        yield Server("127.0.0.1", port, external=True, name="mariadb")
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def cluster_server(tmp_path_factory) -> Server:
    """A `playground --kv 3` cluster (PD, three stores, a SQL node as
    processes) for the whole session."""
    from test_cluster import Cluster

    _require_binary()
    cluster = Cluster(tmp_path_factory.mktemp("kv3") / "cluster", free_ports(1)[0])
    try:
        yield Server("127.0.0.1", cluster.port, external=True, name="kv3")
    finally:
        cluster.stop()


@pytest.fixture(params=["mariadb", "playground", "kv3"])
def each_server(request) -> Server:
    """The same test on MariaDB, the playground and a --kv 3 cluster."""
    fixture = {"mariadb": "mariadb_server", "playground": "basalt_server", "kv3": "cluster_server"}
    return request.getfixturevalue(fixture[request.param])
