"""A real three-store cluster (`basalt playground --kv 3`: PD, three stores
and a SQL node as separate processes on loopback) under sysbench, with a
store killed and brought back.

Short by default (4 x 10,000 rows, 20 s); BASALT_CLUSTER_LONG=1 runs the
issue's full size (4 x 100,000 rows, 60 s). Everything is bounded in time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import basalt_binary, free_ports

LONG = os.environ.get("BASALT_CLUSTER_LONG") == "1"
TABLE_SIZE = 100_000 if LONG else 10_000
RUN_SECONDS = 60 if LONG else 20
SPLIT_SIZE = "1MiB" if LONG else "256KiB"


class Cluster:
    """A running `playground --kv 3` and its manifest."""

    def __init__(self, data_dir: Path, port: int, *extra: str):
        self.binary = basalt_binary()
        self.data_dir = data_dir
        self.port = port
        self.log = open(data_dir.parent / "playground.out", "w")
        self.parent = subprocess.Popen(
            [
                str(self.binary),
                "playground",
                "--kv",
                "3",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
                "--status-port",
                str(free_ports(1)[0]),
                "--region-split-size",
                SPLIT_SIZE,
                "--region-split-keys",
                "4000",
                "--split-check-interval",
                "1s",
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.pids: dict[str, int] = {}
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.manifest = json.loads((data_dir / "playground.json").read_text())
                import pymysql

                pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=2).close()
                break
            except Exception:
                time.sleep(0.3)
        else:
            raise RuntimeError("cluster did not come up")
        for p in self.manifest["processes"]:
            self.pids[p["name"]] = p["pid"]

    def process(self, name: str) -> dict:
        return next(p for p in self.manifest["processes"] if p["name"] == name)

    def kill(self, name: str, sig=signal.SIGKILL):
        os.kill(self.pids[name], sig)

    def restart(self, name: str):
        p = self.process(name)
        log = open(p["log"], "a")
        child = subprocess.Popen(p["command"], stdout=log, stderr=subprocess.STDOUT)
        self.pids[name] = child.pid

    def add_store(self, name: str):
        """Start another store like kv1, on a port and data dir of its own."""
        p = self.process("kv1")
        command = list(p["command"])
        addr, status = (f"127.0.0.1:{port}" for port in free_ports(2))
        data_dir = self.data_dir / name
        command[command.index("--addr") + 1] = addr
        command[command.index("--status-addr") + 1] = status
        command[command.index("--data-dir") + 1] = str(data_dir)
        self.manifest["processes"].append(
            {**p, "name": name, "addr": addr, "status": status, "data_dir": str(data_dir),
             "log": str(self.data_dir / f"{name}.log"), "command": command}
        )
        self.restart(name)

    def store_process(self, store_id: int) -> str:
        """The process name of a store, by its id."""
        [store] = [s for s in self.ctl("store", "list") if s["id"] == store_id]
        return next(p["name"] for p in self.manifest["processes"] if p["addr"] == store["address"])

    def tso(self) -> int:
        return self.ctl("tso")[0]["ts"]

    def ctl(self, *args) -> list[dict]:
        out = subprocess.run(
            [str(self.binary), "ctl", "--pd", self.manifest["pd"], "--json", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        doc = json.loads(out)
        return doc if isinstance(doc, list) else [doc]

    def connect(self):
        import pymysql

        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            autocommit=True,
            connect_timeout=10,
            read_timeout=60,
        )

    def stop(self):
        for pid in self.pids.values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.parent.kill()
        self.parent.wait(timeout=20)
        self.log.close()


@pytest.fixture
def cluster(tmp_path):
    if not basalt_binary().exists():
        pytest.skip("basalt binary not built")
    c = Cluster(tmp_path / "cluster", free_ports(1)[0])
    yield c
    c.stop()


class Ledger(threading.Thread):
    """Inserts numbered rows, one autocommit statement each, and remembers
    which ones the server acknowledged."""

    def __init__(self, cluster: Cluster):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.acked: list[int] = []
        self.stop = threading.Event()

    def run(self):
        conn = None
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                if conn is None:
                    conn = self.cluster.connect()
                conn.cursor().execute("INSERT INTO sbtest.ledger (id) VALUES (%s)", (n,))
                self.acked.append(n)
            except Exception:
                conn = None
                time.sleep(0.2)


def settle(cluster: Cluster, timeout: float = 120):
    """Wait until the freshly loaded data has split and every region has
    its three replicas, unchanged for three seconds."""
    deadline = time.time() + timeout
    last, since = None, time.time()
    while time.time() < deadline:
        regions = cluster.ctl("region", "list")
        shape = sorted((r["id"], r["epoch"]["version"], len(r["peers"])) for r in regions)
        if shape != last:
            last, since = shape, time.time()
        elif all(n == 3 for _, _, n in shape) and time.time() - since >= 3:
            return
        time.sleep(0.5)
    raise AssertionError(f"cluster did not settle: {last}")


def stalls(report: str, seconds: int = RUN_SECONDS) -> float:
    """The longest run of consecutive one-second reports without a
    transaction during the run, in seconds (after --time, sysbench only
    waits for the transactions in flight)."""
    longest = current = 0
    for second, tps in per_second(report):
        if second > seconds:
            break
        current = current + 1 if tps == 0 else 0
        longest = max(longest, current)
    return float(longest)


def per_second(report: str) -> list[tuple[int, float]]:
    """sysbench's one-second reports: (second, transactions per second)."""
    return [
        (int(line[1:].split("s")[0]), float(line.split(" tps: ")[1].split()[0]))
        for line in report.splitlines()
        if line.startswith("[") and " tps: " in line
    ]


def timeline(report: str) -> str:
    """sysbench's transactions per second, second by second, on one line:
    where a stall sits, for a failed check's message."""
    return " ".join(f"{second}s:{tps:g}" for second, tps in per_second(report))


def load(cluster: Cluster) -> list[str]:
    """Create the ledger and sysbench's tables, wait for the regions to
    settle, and return sysbench's connection arguments."""
    cur = cluster.connect().cursor()
    cur.execute("CREATE DATABASE sbtest")
    cur.execute("CREATE TABLE sbtest.ledger (id BIGINT PRIMARY KEY)")
    common = [
        "--mysql-host=127.0.0.1",
        f"--mysql-port={cluster.port}",
        "--mysql-user=root",
        "--mysql-db=sbtest",
        "--tables=4",
        f"--table-size={TABLE_SIZE}",
    ]
    subprocess.run(
        ["sysbench", "oltp_read_write", *common, "--threads=4", "prepare"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    settle(cluster)
    return common


def sysbench(common: list[str], seconds: int) -> subprocess.Popen:
    """oltp_read_write with 16 threads for `seconds`, reporting each second."""
    return subprocess.Popen(
        [
            "sysbench",
            "oltp_read_write",
            *common,
            "--threads=16",
            f"--time={seconds}",
            "--report-interval=1",
            "run",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(bench: subprocess.Popen, seconds: int) -> str:
    """sysbench's report, once it ended well and on time."""
    out, _ = bench.communicate(timeout=seconds + 120)
    assert bench.returncode == 0 and "FATAL" not in out, out[-3000:]
    total = float(out.split("total time:")[1].split("s")[0])
    print(f"sysbench ran {total:.1f} s for {seconds} s of load")
    assert total < seconds + 20, out[-3000:]
    return out


def all_present(cluster: Cluster, ledger: Ledger):
    """Nothing acknowledged is lost."""
    ledger.stop.set()
    ledger.join(timeout=30)
    cur = cluster.connect().cursor()
    cur.execute("SELECT id FROM sbtest.ledger")
    present = {row[0] for row in cur.fetchall()}
    missing = [n for n in ledger.acked if n not in present]
    assert ledger.acked and not missing, f"lost acknowledged rows: {missing[:20]}"


def test_read_write_survives_a_killed_store(cluster):
    common = load(cluster)
    ledger = Ledger(cluster)
    ledger.start()
    bench = sysbench(common, RUN_SECONDS)
    time.sleep(RUN_SECONDS * 0.3)
    cluster.kill("kv2")
    time.sleep(RUN_SECONDS * 0.3)
    cluster.restart("kv2")
    out = finished(bench, RUN_SECONDS)
    longest = stalls(out)
    print(f"longest stall with a store killed: {longest:.0f} s")
    assert longest < 10, timeline(out)
    all_present(cluster, ledger)

    # Regions split, every store leads some once the restarted one is back.
    deadline = time.time() + 60
    while True:
        regions = cluster.ctl("region", "list")
        stores = cluster.ctl("store", "list")
        leaders = {r["leader_store_id"] for r in regions}
        full = all(len(r["peers"]) == 3 for r in regions)
        if len(regions) >= 8 and full and leaders >= {s["id"] for s in stores}:
            break
        assert time.time() < deadline, (regions, stores)
        time.sleep(1)
    # The restarted store caught up: every replica of every region holds
    # the same data at one timestamp. Reading every table first settles
    # the locks of transactions the kill cut short (readers resolve them).
    cur = cluster.connect().cursor()
    cur.execute("SELECT COUNT(*) FROM sbtest.ledger")
    for i in range(1, 5):
        cur.execute(f"SELECT COUNT(*) FROM sbtest.sbtest{i}")
        cur.execute(f"SELECT COUNT(*) FROM sbtest.sbtest{i} WHERE k >= 0")
    # A dropped table's data leaves every replica alike (its range
    # deletion goes through the log).
    cur.execute("DROP TABLE sbtest.sbtest4")
    regions = cluster.ctl("region", "list")
    for region in regions:
        deadline = time.time() + 30
        while True:
            [sums] = cluster.ctl("region", "checksum", str(region["id"]))
            if sums["consistent"]:
                break
            assert time.time() < deadline, (sums, region)
            time.sleep(1)
    print(
        f"{len(ledger.acked)} ledger rows acknowledged, all present; {len(regions)} regions "
        f"with equal replicas, leaders on stores {sorted(leaders)}"
    )


class Register(threading.Thread):
    """One row, `v`, that a writer raises one by one while readers check
    every read against the writer: a read must see at least the last value
    acknowledged before it began. A stale leader answering a read breaks it."""

    def __init__(self, cluster: Cluster, readers: int = 2):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.acked = 0
        self.acked_at: list[float] = []
        self.errors: list[str] = []
        self.reads = 0
        self.stale: list[tuple[int, int]] = []
        self.stop = threading.Event()
        self.readers = [threading.Thread(target=self.read, daemon=True) for _ in range(readers)]

    def start(self):
        super().start()
        for r in self.readers:
            r.start()

    def run(self):
        conn, n = None, 0
        while not self.stop.is_set():
            n += 1
            try:
                if conn is None:
                    conn = self.cluster.connect()
                conn.cursor().execute("UPDATE sbtest.reg SET v = %s WHERE id = 1", (n,))
                self.acked = n
                self.acked_at.append(time.time())
            except Exception as e:
                self.errors.append(f"{time.time():.1f} {e}")
                conn = None
                time.sleep(0.2)

    def read(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = self.cluster.connect()
                floor = self.acked
                cur = conn.cursor()
                cur.execute("SELECT v FROM sbtest.reg WHERE id = 1")
                [(v,)] = cur.fetchall()
                self.reads += 1
                if v < floor:
                    self.stale.append((v, floor))
            except Exception:
                conn = None
                time.sleep(0.2)

    def finish(self):
        self.stop.set()
        self.join(timeout=30)
        for r in self.readers:
            r.join(timeout=30)


def test_a_stopped_leader_serves_no_stale_read(cluster):
    stop_seconds, run_seconds = 30, 45
    common = load(cluster)
    cur = cluster.connect().cursor()
    cur.execute("CREATE TABLE sbtest.reg (id INT PRIMARY KEY, v BIGINT NOT NULL)")
    cur.execute("INSERT INTO sbtest.reg VALUES (1, 0)")
    # The store leading most regions also leads the register's: the table
    # made last holds the last keys, in the last region.
    regions = cluster.ctl("region", "list")
    target = Counter(r["leader_store_id"] for r in regions).most_common(1)[0][0]
    deadline = time.time() + 30
    while True:
        [last] = [r for r in cluster.ctl("region", "list") if r["end_key"] == ""]
        if last["leader_store_id"] == target:
            break
        cluster.ctl("operator", "add", "transfer-leader", str(last["id"]), str(target))
        assert time.time() < deadline, last
        time.sleep(1)
    name = cluster.store_process(target)
    register, ledger = Register(cluster), Ledger(cluster)
    register.start()
    ledger.start()
    bench = sysbench(common, run_seconds)
    time.sleep(5)
    cluster.kill(name, signal.SIGSTOP)
    stopped_at = time.time()
    time.sleep(stop_seconds / 2)
    acked_midway = (register.acked, len(ledger.acked))
    try:
        # Leadership moved: PD hears of the stopped store's regions from
        # their new leaders.
        moved = cluster.ctl("region", "list")
        time.sleep(stop_seconds / 2)
        acked_stopped = (register.acked, len(ledger.acked))
    finally:
        cluster.kill(name, signal.SIGCONT)
    out = finished(bench, run_seconds)
    register.finish()
    all_present(cluster, ledger)
    during = [t for t in register.acked_at if stopped_at <= t <= stopped_at + stop_seconds]
    gaps = [b - a for a, b in zip([stopped_at, *during], [*during, stopped_at + stop_seconds])]
    print(
        f"{name} (store {target}) stopped {stop_seconds} s: {register.reads} register reads, "
        f"{register.acked} writes, longest pause of the register's writes {max(gaps):.1f} s; "
        f"longest sysbench stall {stalls(out, run_seconds):.0f} s; writer errors {register.errors[:5]}"
    )
    assert not register.stale, f"stale reads (seen, acknowledged before): {register.stale[:10]}"
    assert register.reads > 0
    assert all(r["leader_store_id"] != target for r in moved), moved
    # The cluster went on while the store was stopped: the register's
    # writer (whose region's leader stopped) paused less than 10 s.
    assert acked_stopped[0] > acked_midway[0] and acked_stopped[1] > acked_midway[1]
    assert max(gaps) < 10, register.errors[:5]


def move_leader(cluster: Cluster, region_id: int) -> int:
    """Transfer a region's leadership to another store; returns that store.
    The target is the follower's store with the fewest leaders, where PD's
    leader balancing leaves it (towards another, they would pass it on)."""
    [region] = [r for r in cluster.ctl("region", "list") if r["id"] == region_id]
    leaders = {s["id"]: s.get("leader_count", 0) for s in cluster.ctl("store", "list")}
    target = min(
        (p["store_id"] for p in region["peers"] if p["store_id"] != region["leader_store_id"]),
        key=lambda store: (leaders.get(store, 0), store),
    )
    deadline = time.time() + 30
    while True:
        cluster.ctl("operator", "add", "transfer-leader", str(region_id), str(target))
        for _ in range(10):
            time.sleep(0.2)
            [region] = [r for r in cluster.ctl("region", "list") if r["id"] == region_id]
            if region["leader_store_id"] == target:
                return target
        assert time.time() < deadline, region


def test_a_pessimistic_transaction_survives_a_leader_transfer(cluster):
    # Pessimistic locks live in the leader's memory: a new leader has not
    # got them. The transaction still commits if no one wrote its keys
    # meanwhile, and fails (no lost update) if someone did.
    cur = cluster.connect().cursor()
    cur.execute("CREATE DATABASE handover")
    cur.execute("CREATE TABLE handover.t (id INT PRIMARY KEY, v INT NOT NULL)")
    cur.execute("INSERT INTO handover.t VALUES (1, 0), (2, 0)")
    settle(cluster)
    # The table made last holds the last keys, in the last region.
    [last] = [r for r in cluster.ctl("region", "list") if r["end_key"] == ""]
    a = cluster.connect().cursor()
    a.execute("BEGIN")
    a.execute("UPDATE handover.t SET v = v + 1 WHERE id = 1")
    move_leader(cluster, last["id"])
    a.execute("COMMIT")
    cur.execute("SELECT v FROM handover.t WHERE id = 1")
    assert cur.fetchone()[0] == 1

    a.execute("BEGIN")
    a.execute("UPDATE handover.t SET v = v + 1 WHERE id = 2")
    move_leader(cluster, last["id"])
    cur.execute("UPDATE handover.t SET v = v + 10 WHERE id = 2")
    with pytest.raises(Exception) as failed:
        a.execute("COMMIT")
    print(f"the overtaken transaction failed with {failed.value!r}")
    cur.execute("SELECT v FROM handover.t WHERE id = 2")
    assert cur.fetchone()[0] == 10


def row_key(table_id: int, handle: int) -> bytes:
    """A row's key: t{table}_r{handle}, integers big-endian with the sign
    bit flipped (as `codec::table::encode_row_key`)."""
    flip = lambda n: (n ^ (1 << 63)).to_bytes(8, "big")
    return b"t" + flip(table_id) + b"_r" + flip(handle)


def test_a_deadlock_across_stores_is_refused(cluster):
    # Two transactions each lock a row the other then asks for, and the two
    # rows are led by different stores: neither store sees the cycle alone.
    # PD's wait-for graph does, and one of them fails with 1213 at once
    # instead of both waiting until a lock's TTL (20 s) runs out.
    cur = cluster.connect().cursor()
    cur.execute("CREATE DATABASE dl")
    cur.execute("CREATE TABLE dl.t (id INT PRIMARY KEY, v INT NOT NULL)")
    cur.execute("INSERT INTO dl.t VALUES (1, 0), (2, 0)")
    cur.execute("SELECT tidb_table_id FROM information_schema.tables "
                "WHERE table_schema = 'dl' AND table_name = 't'")
    [(table_id,)] = cur.fetchall()
    first, second = (row_key(table_id, h).hex() for h in (1, 2))
    settle(cluster)
    region_of = lambda key: cluster.ctl("region", "key", key)[0]
    cluster.ctl("region", "split", str(region_of(second)["id"]), second)
    deadline = time.time() + 30
    while region_of(first)["id"] == region_of(second)["id"]:
        assert time.time() < deadline, "the split did not happen"
        time.sleep(0.5)
    settle(cluster)
    if region_of(first)["leader_store_id"] == region_of(second)["leader_store_id"]:
        move_leader(cluster, region_of(second)["id"])
    assert region_of(first)["leader_store_id"] != region_of(second)["leader_store_id"]

    a, b = cluster.connect().cursor(), cluster.connect().cursor()
    a.execute("BEGIN")
    a.execute("UPDATE dl.t SET v = v + 1 WHERE id = 1")
    b.execute("BEGIN")
    b.execute("UPDATE dl.t SET v = v + 10 WHERE id = 2")
    outcome: dict[str, object] = {}

    def finish(name, cur, add, row):
        """Ask for the other transaction's row, then commit."""
        try:
            cur.execute(f"UPDATE dl.t SET v = v + {add} WHERE id = {row}")
            cur.execute("COMMIT")
            outcome[name] = "committed"
        except Exception as e:
            outcome[name] = e

    waiting = threading.Thread(target=finish, args=("a", a, 1, 2))
    started = time.time()
    waiting.start()
    time.sleep(1)
    finish("b", b, 10, 1)
    waiting.join(timeout=60)
    took = time.time() - started
    print(f"deadlock across stores settled in {took:.1f} s: {outcome}")
    victims = [e for e in outcome.values() if e != "committed"]
    assert len(victims) == 1 and victims[0].args[0] == 1213, outcome
    assert took < 10, f"settled after {took:.1f} s: {outcome}"
    cur.execute("SELECT v FROM dl.t ORDER BY id")
    rows = [v for (v,) in cur.fetchall()]
    assert rows in ([1, 1], [10, 10]), rows


def test_timestamps_stay_monotonic_across_a_pd_restart(cluster):
    common = load(cluster)
    ledger = Ledger(cluster)
    ledger.start()
    bench = sysbench(common, RUN_SECONDS)
    time.sleep(RUN_SECONDS * 0.3)
    before = cluster.tso()
    cluster.kill("pd")
    time.sleep(3)
    cluster.restart("pd")
    deadline = time.time() + 30
    while True:
        try:
            after = cluster.tso()
            break
        except subprocess.CalledProcessError:
            assert time.time() < deadline, "PD did not come back"
            time.sleep(0.5)
    assert after > before, (before, after)
    out = finished(bench, RUN_SECONDS)
    # The workload resumed: the last seconds of the run committed (after
    # --time, sysbench only reports transactions finishing in flight).
    tail = [tps for second, tps in per_second(out) if second <= RUN_SECONDS][-3:]
    assert len(tail) == 3 and all(tps > 0 for tps in tail), timeline(out)
    all_present(cluster, ledger)
    print(f"TSO {before} before PD was killed, {after} after its restart; "
          f"longest stall {stalls(out):.0f} s")


def test_a_store_down_for_good_is_replaced(tmp_path):
    if not basalt_binary().exists():
        pytest.skip("basalt binary not built")
    cluster = Cluster(tmp_path / "cluster", free_ports(1)[0], "--max-store-down-time", "60s")
    try:
        load(cluster)
        [dead] = [s["id"] for s in cluster.ctl("store", "list") if cluster.store_process(s["id"]) == "kv3"]
        cluster.kill("kv3")
        killed = time.time()
        cluster.add_store("kv4")
        # Back to three replicas, none on the dead store, within the down
        # time plus two minutes.
        while True:
            regions = cluster.ctl("region", "list")
            if all(len(r["peers"]) == 3 and dead not in {p["store_id"] for p in r["peers"]}
                   for r in regions):
                break
            assert time.time() - killed < 60 + 120, regions
            time.sleep(1)
        took = time.time() - killed
        # The data is intact and every replica agrees.
        cur = cluster.connect().cursor()
        for i in range(1, 5):
            cur.execute(f"SELECT COUNT(*) FROM sbtest.sbtest{i}")
            assert cur.fetchall()[0][0] == TABLE_SIZE
        for region in regions:
            [sums] = cluster.ctl("region", "checksum", str(region["id"]))
            assert sums["consistent"], sums
        print(f"{len(regions)} regions back to three replicas {took:.0f} s after store {dead} "
              f"was killed (max-store-down-time 60 s)")
    finally:
        cluster.stop()
