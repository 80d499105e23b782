"""Durability under SIGKILL (the SQL issue): kill the playground during
`sysbench oltp_write_only`; after a restart on the same data dir, every
transaction the client saw committed is present and none that failed is.

One test, three kill/restart cycles on one data dir (so recovery of a
recovered store is exercised too), the ledger cumulative across cycles:

- sysbench prepares 2 tables x 10,000 rows once, then each cycle runs
  `oltp_write_only --threads=8` in the background as load;
- meanwhile WRITERS Python threads loop, each with its own ids:
  - explicit (pessimistic) transactions: BEGIN; INSERT INTO ledger;
    UPDATE sbtest.sbtest1 SET k=k+1 on a random row; UPDATE counters (the
    writer's row for this cycle) SET v=v+1; COMMIT;
  - now and then an autocommit single-statement INSERT INTO ledger;
  an id is *acknowledged* once COMMIT (or the autocommit INSERT) returned OK,
  *failed* once any statement returned an error before COMMIT was sent, or
  COMMIT returned a server error, and *unknown* if the connection died while
  COMMIT (or the autocommit INSERT) was in flight: such a transaction may or
  may not have committed;
- after a random 3-6 s, SIGKILL the basalt process, restart it on the same
  data dir and check:
  - every acknowledged id is present exactly once with its payload (full scan
    and point lookups), no failed id is present; unknown ids that are present
    carry their payload and count from now on as acknowledged, the absent ones
    as failed (a later recovery must not change what a read has decided);
  - atomicity: per writer and cycle, `counters.v` equals the number of its
    transactional ledger rows (both writes of a transaction or neither), and
    no id ever disappears from the sbtest tables (sysbench's DELETE + INSERT
    of one id run in one transaction; the set may grow, because Basalt's
    AUTO_INCREMENT leaves gaps in the prepared ids that the INSERTs fill);
  - new writes work (an autocommit insert and an explicit transaction);
- finally a clean stop and start, and the same checks.

After a restart, the locks of the transactions the kill interrupted stay
until their TTL (20 s for pessimistic transactions) runs out, so sysbench
usually stalls in cycles 2 and 3 (its last report, printed, shows it) while the
ledger writers, which touch fewer rows, keep going.

The seed is printed; BASALT_DURABILITY_SEED=<n> replays the same choices
(kill delays, ids, payloads; the interleaving is the scheduler's).
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import signal
import string
import subprocess
import threading
import time

import pytest

CYCLES = 3
WRITERS = 4
SB_TABLES, SB_TABLE_SIZE, SB_THREADS = 2, 10_000, 8
# Seconds of load before the SIGKILL. Bounded so that three cycles stay under
# 90 s even when each check after a restart waits out a killed transaction's
# lock (pessimistic locks live 20 s; readers and writers wait for them).
KILL_AFTER = (3.0, 6.0)
AUTOCOMMIT_SHARE = 0.25
PROBE_WRITER = 99


def ledger_id(cycle: int, writer: int, n: int) -> int:
    """Unique per (cycle, writer, n); `id // 1_000_000` is the counters row."""
    assert n < 1_000_000
    return (cycle * 100 + writer) * 1_000_000 + n


def counter_id(cycle: int, writer: int) -> int:
    return cycle * 100 + writer


def is_connection_error(e: BaseException) -> bool:
    """True when the error did not come from the server (client-side codes >= 2000,
    closed connection, socket errors): what a client sees when the server dies."""
    import pymysql

    if isinstance(e, pymysql.err.InterfaceError):
        return True
    if isinstance(e, pymysql.err.MySQLError):
        code = e.args[0] if e.args and isinstance(e.args[0], int) else 0
        return code == 0 or code >= 2000
    return isinstance(e, (OSError, EOFError))


def error_code(e: BaseException) -> str:
    if e.args and isinstance(e.args[0], int):
        return str(e.args[0])
    return type(e).__name__


def is_undetermined(e: BaseException) -> bool:
    """A server error saying the commit's outcome is unknown (kv-client's Undetermined)."""
    return "undetermined" in str(e).lower()


class Ledger:
    """What the client knows about every id it tried, cumulative across cycles."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked: dict[int, tuple[str, float]] = {}  # id -> (payload, monotonic ack time)
        self.failed: dict[int, str] = {}  # id -> error
        self.unknown: dict[int, tuple[str, float]] = {}  # id -> (payload, monotonic time of the error)
        self.errors: collections.Counter = collections.Counter()  # (cycle, code) of pre-kill server errors

    def ack(self, lid: int, payload: str) -> None:
        with self.lock:
            self.acked[lid] = (payload, time.monotonic())

    def fail(self, lid: int, e: BaseException | str) -> None:
        with self.lock:
            self.failed[lid] = e if isinstance(e, str) else f"{error_code(e)}: {e}"

    def uncertain(self, lid: int, payload: str) -> None:
        with self.lock:
            self.unknown[lid] = (payload, time.monotonic())


def make_payload(rng: random.Random, lid: int) -> str:
    # Some values above 255 bytes, which the store keeps out of line.
    size = rng.randint(8, 120) if rng.random() < 0.6 else rng.randint(256, 900)
    body = "".join(rng.choices(string.ascii_letters + string.digits, k=size))
    return f"{lid}:{body}"


def writer_loop(server, ledger: Ledger, cycle: int, writer: int, seed: int,
                ready: threading.Barrier, stop: threading.Event, stats: dict) -> None:
    rng = random.Random(seed)
    txn_conn = auto_conn = None
    try:
        txn_conn = server.connect(database="durability", autocommit=False, read_timeout=120, write_timeout=30)
        auto_conn = server.connect(database="durability", autocommit=True, read_timeout=120, write_timeout=30)
    except Exception as e:  # the barrier below tells the test
        stats["setup_error"] = repr(e)
    try:
        ready.wait(timeout=60)
    except threading.BrokenBarrierError:
        return
    if txn_conn is None or auto_conn is None:
        return
    insert = "INSERT INTO ledger (id, writer, n, kind, payload) VALUES (%s, %s, %s, %s, %s)"
    n = 0
    try:
        while not stop.is_set():
            n += 1
            lid = ledger_id(cycle, writer, n)
            payload = make_payload(rng, lid)
            if rng.random() < AUTOCOMMIT_SHARE:
                try:
                    with auto_conn.cursor() as cur:
                        cur.execute(insert, (lid, writer, n, "auto", payload))
                except Exception as e:
                    if is_connection_error(e):
                        ledger.uncertain(lid, payload)
                        stats["ended_by"] = repr(e)
                        return
                    if is_undetermined(e):
                        ledger.uncertain(lid, payload)
                        continue
                    ledger.fail(lid, e)
                    with ledger.lock:
                        ledger.errors[(cycle, error_code(e))] += 1
                    continue
                ledger.ack(lid, payload)
                continue

            committing = False
            try:
                with txn_conn.cursor() as cur:
                    cur.execute("BEGIN")
                    cur.execute(insert, (lid, writer, n, "txn", payload))
                    cur.execute("UPDATE sbtest.sbtest1 SET k = k + 1 WHERE id = %s",
                                (rng.randint(1, SB_TABLE_SIZE),))
                    cur.execute("UPDATE counters SET v = v + 1 WHERE id = %s", (counter_id(cycle, writer),))
                    committing = True
                    cur.execute("COMMIT")
            except Exception as e:
                conn_err = is_connection_error(e)
                if committing and (conn_err or is_undetermined(e)):
                    ledger.uncertain(lid, payload)
                else:
                    # Either the server refused a statement or COMMIT, or the
                    # connection died before COMMIT was sent: not committed.
                    ledger.fail(lid, e)
                    if not conn_err:
                        with ledger.lock:
                            ledger.errors[(cycle, error_code(e))] += 1
                if conn_err:
                    stats["ended_by"] = repr(e)
                    return
                try:
                    txn_conn.rollback()
                except Exception as e2:
                    if is_connection_error(e2):
                        stats["ended_by"] = repr(e2)
                        return
                    raise
                continue
            ledger.ack(lid, payload)
    except Exception as e:  # a bug in this loop: make it visible
        stats["crashed"] = repr(e)
    finally:
        for c in (txn_conn, auto_conn):
            try:
                c.close()
            except Exception:
                pass


def sysbench_cmd(server, command: str, *extra: str) -> list[str]:
    return [
        "sysbench", "oltp_write_only", f"--mysql-host={server.host}", f"--mysql-port={server.port}",
        f"--mysql-user={server.user}", f"--mysql-password={server.password}", "--mysql-db=sbtest",
        f"--tables={SB_TABLES}", f"--table-size={SB_TABLE_SIZE}", *extra, command,
    ]


def read_sbtest_ids(conn, table: int) -> set[int]:
    rows = query_retrying(conn, f"SELECT id FROM sbtest.sbtest{table}")
    ids = {r[0] for r in rows}
    assert len(ids) == len(rows), f"sbtest{table}: an id appears twice in a full scan"
    count = query_retrying(conn, f"SELECT COUNT(*) FROM sbtest.sbtest{table}")[0][0]
    assert count == len(ids), f"sbtest{table}: COUNT(*) = {count} but a scan returns {len(ids)} ids"
    return ids


def query_retrying(conn, sql: str, args=None, attempts: int = 4):
    """Run a read; retry on 1205 (a lock left by a killed transaction whose TTL has
    not run out yet; the read waits and then retries, as an application would)."""
    import pymysql

    for attempt in range(attempts):
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        except pymysql.err.OperationalError as e:
            if e.args and e.args[0] == 1205 and attempt + 1 < attempts:
                print(f"  retrying after 1205 on {sql!r}: {e}")
                continue
            raise


def verify(server, ledger: Ledger, sb_seen: dict, restart_no: int, log_tail) -> dict:
    """Check the ledger and the sbtest tables after a restart; returns counts."""
    t0 = time.monotonic()
    with server.connect(database="durability", read_timeout=120) as conn:
        rows = query_retrying(conn, "SELECT id, payload, kind FROM ledger")
        phases = {"ledger_scan": time.monotonic() - t0}
        found: dict[int, str] = {}
        dups = []
        for lid, payload, _kind in rows:
            if lid in found:
                dups.append(lid)
            found[lid] = payload
        kinds = collections.Counter()
        for lid, _payload, kind in rows:
            if kind == "txn":
                kinds[lid // 1_000_000] += 1

        with ledger.lock:
            acked = dict(ledger.acked)
            failed = dict(ledger.failed)
            unknown = dict(ledger.unknown)

        missing = sorted(i for i in acked if i not in found)
        wrong = sorted(i for i in acked if i in found and found[i] != acked[i][0])
        resurrected = sorted(i for i in failed if i in found)
        unknown_present = sorted(i for i in unknown if i in found)
        unknown_wrong = sorted(i for i in unknown_present if found[i] != unknown[i][0])
        strangers = sorted(i for i in found if i not in acked and i not in failed and i not in unknown)

        # Point lookups of a sample (the point-get path, not only the scan).
        sample = random.Random(restart_no).sample(sorted(acked), min(50, len(acked)))
        point_missing = []
        for lid in sample:
            got = query_retrying(conn, "SELECT payload FROM ledger WHERE id = %s", (lid,))
            if len(got) != 1 or got[0][0] != acked[lid][0]:
                point_missing.append((lid, got))

        phases["points"] = time.monotonic() - t0 - sum(phases.values())
        counters = dict(query_retrying(conn, "SELECT id, v FROM counters"))
        phases["counters"] = time.monotonic() - t0 - sum(phases.values())
        counter_mismatch = {
            cid: (v, kinds.get(cid, 0)) for cid, v in counters.items() if v != kinds.get(cid, 0)
        }
        counter_mismatch.update({cid: (None, c) for cid, c in kinds.items() if cid not in counters})

        sb_ids = {}
        for t in range(1, SB_TABLES + 1):
            sb_ids[f"sbtest{t}"] = read_sbtest_ids(conn, t)
        sb_counts = {t: len(ids) for t, ids in sb_ids.items()}
        phases["sbtest"] = time.monotonic() - t0 - sum(phases.values())

    problems = []

    def show(ids, what):
        if ids:
            now = time.monotonic()
            detail = []
            for i in ids[:20]:
                when = acked.get(i) or unknown.get(i)
                age = f", {now - when[1]:.1f}s before this check" if when else ""
                detail.append(f"{i} (payload found: {found.get(i, '<absent>')[:40]!r}{age}"
                              f"{'; error: ' + failed[i] if i in failed else ''})")
            problems.append(f"{len(ids)} {what}: " + "; ".join(detail))

    show(missing, "acknowledged ids missing")
    show(wrong, "acknowledged ids with a wrong payload")
    show(dups, "ids present more than once")
    show(resurrected, "failed ids present")
    show(unknown_wrong, "unknown ids present with a wrong payload")
    show(strangers, "ids present that were never written")
    if point_missing:
        problems.append(f"{len(point_missing)} acknowledged ids not found by point lookup: {point_missing[:10]}")
    if counter_mismatch:
        problems.append(f"counters.v != transactional ledger rows (counter id: (v, rows)): {counter_mismatch}")
    for t, ids in sb_ids.items():
        lost = sorted(sb_seen[t] - ids)
        if lost:
            problems.append(f"sbtest.{t}: {len(lost)} ids present before are gone (a DELETE committed "
                            f"without its INSERT?): {lost[:20]}")
        sb_seen[t] = ids
    if problems:
        pytest.fail(f"after restart #{restart_no}:\n" + "\n".join(problems) + f"\nlog tail:\n{log_tail()}",
                    pytrace=False)

    # What this read decided stays decided: later recoveries must agree.
    with ledger.lock:
        for lid in unknown:
            payload, t = ledger.unknown.pop(lid)
            if lid in found:
                ledger.acked[lid] = (payload, t)
            else:
                ledger.failed[lid] = "unknown, absent after restart"
    return dict(acknowledged=len(acked), failed=len(failed), unknown=len(unknown),
                unknown_present=len(unknown_present), found=len(found), sbtest=sb_counts,
                verify_s={k: round(v, 1) for k, v in phases.items()})


def probe_writes(server, ledger: Ledger, restart_no: int) -> None:
    """New writes work after the restart: an autocommit insert and an explicit transaction."""
    lid_auto = ledger_id(restart_no, PROBE_WRITER, 1)
    lid_txn = ledger_id(restart_no, PROBE_WRITER, 2)
    with server.connect(database="durability", read_timeout=120) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO ledger (id, writer, n, kind, payload) VALUES (%s, %s, 1, 'probe', %s)",
                    (lid_auto, PROBE_WRITER, f"{lid_auto}:probe"))
        ledger.ack(lid_auto, f"{lid_auto}:probe")
        cur.execute("BEGIN")
        cur.execute("INSERT INTO ledger (id, writer, n, kind, payload) VALUES (%s, %s, 2, 'probe', %s)",
                    (lid_txn, PROBE_WRITER, f"{lid_txn}:probe"))
        cur.execute("UPDATE sbtest.sbtest2 SET k = k + 1 WHERE id = %s", (restart_no,))
        cur.execute("COMMIT")
        ledger.ack(lid_txn, f"{lid_txn}:probe")
        cur.execute("SELECT id, payload FROM ledger WHERE id IN (%s, %s) ORDER BY id", (lid_auto, lid_txn))
        assert cur.fetchall() == ((lid_auto, f"{lid_auto}:probe"), (lid_txn, f"{lid_txn}:probe"))


@pytest.mark.skipif(shutil.which("sysbench") is None, reason="sysbench is not installed")
def test_sigkill_during_oltp_write_only(playground_factory, tmp_path):
    seed = int(os.environ.get("BASALT_DURABILITY_SEED") or random.SystemRandom().randrange(1 << 32))
    rng = random.Random(seed)
    print(f"\nseed {seed} (BASALT_DURABILITY_SEED={seed} replays it)")
    t_start = time.monotonic()

    pg = playground_factory()
    server = pg.server
    with server.connect() as conn, conn.cursor() as cur:
        for db in ("sbtest", "durability"):
            cur.execute(f"DROP DATABASE IF EXISTS {db}")
            cur.execute(f"CREATE DATABASE {db}")
        cur.execute("CREATE TABLE durability.ledger (id BIGINT PRIMARY KEY, writer INT NOT NULL, "
                    "n INT NOT NULL, kind VARCHAR(8) NOT NULL, payload VARCHAR(1024) NOT NULL)")
        cur.execute("CREATE TABLE durability.counters (id INT PRIMARY KEY, v BIGINT NOT NULL)")
    r = subprocess.run(sysbench_cmd(server, "prepare"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "FATAL" not in r.stdout + r.stderr, \
        f"sysbench prepare failed:\n{(r.stdout + r.stderr)[-3000:]}"
    with server.connect() as conn:
        sb_seen = {f"sbtest{t}": read_sbtest_ids(conn, t) for t in range(1, SB_TABLES + 1)}
    assert all(len(ids) == SB_TABLE_SIZE for ids in sb_seen.values()), {t: len(i) for t, i in sb_seen.items()}
    print(f"prepared in {time.monotonic() - t_start:.1f}s")

    ledger = Ledger()
    for cycle in range(1, CYCLES + 1):
        t_cycle = time.monotonic()
        with server.connect(database="durability") as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO counters (id, v) VALUES (%s, 0)",
                            [(counter_id(cycle, w),) for w in range(WRITERS)])

        sb_log = tmp_path / f"sysbench-{cycle}.log"
        with open(sb_log, "wb") as out:
            sb = subprocess.Popen(
                sysbench_cmd(server, "run", f"--threads={SB_THREADS}", "--time=60", "--report-interval=1"),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )
        stop = threading.Event()
        ready = threading.Barrier(WRITERS + 1)
        stats = [dict() for _ in range(WRITERS)]
        threads = [
            threading.Thread(target=writer_loop, daemon=True, name=f"writer-{w}",
                             args=(server, ledger, cycle, w, rng.randrange(1 << 32), ready, stop, stats[w]))
            for w in range(WRITERS)
        ]
        try:
            for t in threads:
                t.start()
            ready.wait(timeout=60)
            assert not any("setup_error" in s for s in stats), f"writers could not connect: {stats}"

            delay = rng.uniform(*KILL_AFTER)
            time.sleep(delay)
            with ledger.lock:
                acked_before = sum(1 for i in ledger.acked if i // 100_000_000 == cycle)
            assert pg.proc.poll() is None, \
                f"basalt exited by itself during the load (cycle {cycle}):\n{server.log_tail()}"
            sb_alive = sb.poll() is None

            os.kill(pg.proc.pid, signal.SIGKILL)
            t_kill = time.monotonic()
            pg.proc.wait(timeout=30)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
            if sb.poll() is None:
                try:
                    sb.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    sb.kill()
                    sb.wait(timeout=10)
        stuck = [t.name for t in threads if t.is_alive()]
        assert not stuck, f"writer threads still running 30 s after the kill: {stuck}"
        crashed = [s["crashed"] for s in stats if "crashed" in s]
        assert not crashed, f"writer loop raised: {crashed}"
        sb_out = sb_log.read_text(errors="replace")
        assert sb_alive, f"sysbench had stopped before the kill (cycle {cycle}):\n{sb_out[-3000:]}"
        assert acked_before > 0, f"no ledger transaction committed in {delay:.1f}s of load (cycle {cycle})"
        sb_tps = [line for line in sb_out.splitlines() if line.startswith("[ ")]
        with ledger.lock:
            errs = {code: c for (cy, code), c in ledger.errors.items() if cy == cycle}
        print(f"cycle {cycle}: SIGKILL after {delay:.1f}s of load; sysbench last report: "
              f"{sb_tps[-1] if sb_tps else '(none)'}; writer server errors before the kill: {errs or 'none'}")

        # Restart on the same data dir (Playground.start reuses workdir/data).
        pg.stop()  # closes the log; the process is already gone
        with open(server.log_path, "ab") as log:
            log.write(f"\n==== test_durability: SIGKILL #{cycle}, restarting ====\n".encode())
        t_restart = time.monotonic()
        server = pg.start()
        restart_s = time.monotonic() - t_restart
        down_s = time.monotonic() - t_kill
        counts = verify(server, ledger, sb_seen, cycle, server.log_tail)
        probe_writes(server, ledger, cycle)
        print(f"  restart {restart_s:.1f}s (kill to ready {down_s:.1f}s), "
              f"cycle {time.monotonic() - t_cycle:.1f}s: {counts}")

    # Last, a clean stop (SIGTERM) and start: everything decided so far,
    # probes included, is still there.
    pg.stop()
    with open(server.log_path, "ab") as log:
        log.write(b"\n==== test_durability: clean stop, restarting ====\n")
    server = pg.start()
    counts = verify(server, ledger, sb_seen, CYCLES + 1, server.log_tail)
    print(f"final: {counts}; total {time.monotonic() - t_start:.1f}s")
