"""Isolation checking in the style of Elle's list-append (Kingsbury & Alvaro,
"Elle: Inferring Isolation Anomalies from Experimental Observations").

Why list-append: if every write appends a unique element to a list, every
read returns the whole history of writes to that key in the order the
database applied them. From reads alone we can then recover each key's
version order, tell which transaction wrote the version another one read,
and build Adya's dependency graph between committed transactions without
any access to the database's internals. Cycles in that graph are isolation
anomalies, and each one comes with the transactions that prove it.

The three parts, usable separately:

- the workload (`Workload`): transactions of 1-4 micro-ops over a small pool
  of integer keys, each `r k` (`SELECT v FROM lists WHERE k = ?`) or
  `append k x` (`INSERT ... ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', x)`),
  every appended element unique. As in Elle, a key retires after a bounded
  number of appends and a fresh key takes its place, so that contention stays
  high while lists (and the cost of reading them) stay short;
- the runner (`run`): threads with one pymysql connection each, at a session
  isolation level, recording each transaction with its outcome: `ok`
  (committed), `fail` (certainly not committed: an error before or at COMMIT,
  after which the server rolled it back) or `info` (unknown: the connection
  broke during COMMIT), and its invoke/complete times;
- the checker (`check`): the anomalies below, each with the transactions
  involved, and which of them a level forbids (`CheckResult.forbidden`).

How the checker decides (committed = `ok`, plus `info` transactions one of
whose appends some committed read observed, since only a commit makes that
possible; other `info` transactions are left out, as Elle leaves out their
unknown reads):

- version order: per key, the longest committed read (duplicates dropped).
  Every committed read must be a prefix of it, else `incompatible-order`.
  A committed append no read saw comes after every observed element (the
  longest read would contain it otherwise), so, as Elle does, its
  predecessor is taken to be the last observed element;
- edges: ww T1 -> T2 when T2's append directly follows T1's on a key;
  wr T1 -> T2 when a read of T2 ends with an element T1 appended;
  rw T1 -> T2 when T1 read the version T2's append directly follows (the
  empty list counting as the version before the first element; not when
  that version was T2's own earlier append, which T1 could only see as G1b);
- G0: a cycle of ww edges; G1c: a cycle of ww and wr edges with at least one
  wr; G-single: a cycle with exactly one rw edge (read skew); G2: cycles
  only closed through two or more rw edges (write skew, reported as
  information: snapshot isolation allows it). Searched inside each strongly
  connected component (Tarjan); G-single and G2 are counted per rw edge
  (see `_cycles`), and the first examples of each are explained with a
  shortest cycle (breadth-first search);
- G1a: a committed read contains an element appended by a failed
  transaction; G1b: a committed read ends with an element that was not the
  last its writer appended to that key;
- lost-update: two committed transactions read the same version of a key
  (before appending to it themselves) and both appended to it;
- duplicate-elements: a read with an element twice; garbage-read: a read
  with an element nobody appended;
- internal: a read inside a transaction that does not show that
  transaction's own earlier appends to the key, in order and last, or that
  shows an append the transaction only makes later.

Forbidden at READ COMMITTED: G0, G1a, G1b, G1c and the non-cycle checks
(incompatible-order, duplicate-elements, garbage-read, internal), and at
MySQL's REPEATABLE READ ("rr"), whose writes read current rows. Forbidden
under snapshot isolation ("si": REPEATABLE READ with innodb_snapshot_isolation):
those plus G-single and lost-update. G2 is allowed at all three.

CLI: `python3 tests/history.py --host 127.0.0.1 --port P --isolation rc|rr|si
--txns N --threads T --seed S` prints a summary line and the anomalies found,
and exits 1 when one forbidden at that level was found (2 when the server
refuses the isolation level). `--save FILE` keeps the history as JSON and
`--load FILE` checks a saved one again without a server. Only the runner
imports pymysql: checking needs nothing beyond the standard library.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field

# "si" is REPEATABLE READ with innodb_snapshot_isolation = ON (MariaDB's
# variable, Basalt's too): snapshot isolation.
LEVELS = {"rc": "READ COMMITTED", "rr": "REPEATABLE READ", "si": "REPEATABLE READ"}

# Anomaly kinds, in the order they are reported.
G0, G1A, G1B, G1C, G_SINGLE, G2 = "G0", "G1a", "G1b", "G1c", "G-single", "G2"
LOST_UPDATE = "lost-update"
INCOMPATIBLE_ORDER = "incompatible-order"
DUPLICATES = "duplicate-elements"
GARBAGE = "garbage-read"
INTERNAL = "internal"
KINDS = [INCOMPATIBLE_ORDER, DUPLICATES, GARBAGE, INTERNAL, G1A, G1B, G0, G1C, G_SINGLE, LOST_UPDATE, G2]

FORBIDDEN = {
    "rc": {G0, G1A, G1B, G1C, INCOMPATIBLE_ORDER, DUPLICATES, GARBAGE, INTERNAL},
}
# MySQL's REPEATABLE READ reads a snapshot but writes current rows (InnoDB,
# and TiDB's pessimistic mode), which lets G-single and lost updates through;
# snapshot isolation forbids them.
FORBIDDEN["rr"] = FORBIDDEN["rc"]
FORBIDDEN["si"] = FORBIDDEN["rc"] | {G_SINGLE, LOST_UPDATE}

SELECT = "SELECT v FROM lists WHERE k = %s"
APPEND = "INSERT INTO lists (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', %s)"

# Edge types, as bits so that one pair of transactions can carry several.
WW, WR, RW = 1, 2, 4
EDGE_NAMES = {WW: "ww", WR: "wr", RW: "rw"}

# Width (in condensation components) of one pass of the reachability closure
# used for G-single: memory is one integer of this many bits per component,
# whatever the size of the history.
REACH_BLOCK = 4096


# ---------------------------------------------------------------------------
# History model


def _elements(v, tail: int | None = None) -> str:
    """A list as [1,2,3]; with `tail`, longer lists as [(n more),...,last]."""
    if tail is not None and len(v) > tail:
        return f"[({len(v) - tail} more)," + ",".join(str(e) for e in v[-tail:]) + "]"
    return "[" + ",".join(str(e) for e in v) + "]"


@dataclass
class Txn:
    """One transaction as the client saw it.

    `ops` holds the micro-ops that were sent, in order: `("r", k, [elements])`
    for a read that returned (the empty list when the row did not exist) and
    `("append", k, x)` for an append, recorded before it is sent so that a
    failed transaction's attempted appends count for G1a. Times are seconds
    since the start of the run (one monotonic clock shared by the threads).
    """

    id: int
    ops: list
    status: str  # "ok" | "fail" | "info"
    thread: int = 0
    error: str | None = None
    invoke: float = 0.0
    complete: float = 0.0

    def describe(self) -> str:
        """One line; long reads keep only their tail, where the elements
        that relate a read to other transactions are."""
        ops = "; ".join(
            f"r {k} {_elements(v, tail=6)}" if f == "r" else f"append {k} {v}" for f, k, v in self.ops
        )
        error = f" ({self.error})" if self.error else ""
        return (
            f"T{self.id} [thread {self.thread}, {self.status}{error}, "
            f"{self.invoke:.3f}-{self.complete:.3f}s]: {ops}"
        )


def save_history(path: str, txns: list[Txn], meta: dict) -> None:
    with open(path, "w") as f:
        json.dump({"meta": meta, "txns": [asdict(t) for t in txns]}, f)


def load_history(path: str) -> tuple[list[Txn], dict]:
    with open(path) as f:
        data = json.load(f)
    txns = []
    for t in data["txns"]:
        t["ops"] = [tuple(op) for op in t["ops"]]
        txns.append(Txn(**t))
    return txns, data.get("meta", {})


# ---------------------------------------------------------------------------
# Workload


class Workload:
    """A seeded stream of list-append transactions shared by the threads.

    One stream rather than one per thread: every thread takes the next
    transaction when it is ready, so all threads work on the same active keys
    at the same time whatever their speed, which is what makes contention.
    The sequence of transactions depends only on the seed; which thread runs
    which one does not.
    """

    def __init__(self, seed: int, txns: int, keys: int = 10, max_writes_per_key: int = 64, max_ops: int = 4):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._remaining = txns
        self._max_writes = max_writes_per_key
        self._max_ops = max_ops
        self._active = list(range(1, keys + 1))
        self._next_key = keys + 1
        self._writes: Counter = Counter()
        self._next_value = 1
        self._next_id = 1

    def next(self) -> tuple[int, list] | None:
        """(id, planned micro-ops) of the next transaction, None when done.
        Reads are planned as `("r", k, None)`."""
        with self._lock:
            if self._remaining <= 0:
                return None
            self._remaining -= 1
            ops = []
            for _ in range(self._rng.randint(1, self._max_ops)):
                slot = self._rng.randrange(len(self._active))
                k = self._active[slot]
                if self._rng.random() < 0.5:
                    ops.append(("r", k, None))
                    continue
                ops.append(("append", k, self._next_value))
                self._next_value += 1
                self._writes[k] += 1
                if self._writes[k] >= self._max_writes:
                    self._active[slot] = self._next_key
                    self._next_key += 1
            tid = self._next_id
            self._next_id += 1
            return tid, ops


# ---------------------------------------------------------------------------
# Runner


class IsolationUnsupported(Exception):
    """The server refused the isolation level, or accepted the statement but
    kept another level (then testing would check the wrong level)."""


@dataclass
class Run:
    """What a run produced: the history and how it went."""

    history: list[Txn]
    level: str
    threads: int
    seed: int
    duration: float
    stopped_by_time_limit: bool
    notes: list[str] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(t.status for t in self.history)

    def errors(self) -> Counter:
        return Counter(t.error.split(":")[0] for t in self.history if t.error)

    def summary(self) -> str:
        c = self.counts()
        rate = len(self.history) / self.duration if self.duration else 0.0
        errors = ", ".join(f"{code} x{n}" for code, n in self.errors().most_common())
        line = (
            f"{len(self.history)} txns (ok {c['ok']}, fail {c['fail']}, info {c['info']}) "
            f"at {LEVELS[self.level]}, {self.threads} threads, seed {self.seed}, "
            f"{self.duration:.1f} s ({rate:.0f} txn/s)"
        )
        if errors:
            line += f"; errors: {errors}"
        if self.stopped_by_time_limit:
            line += "; stopped by the time limit"
        return line


# Client-side error codes (CR_*, 2000-2999) mean the connection is gone: what
# the server did with a COMMIT in flight is unknown.
def _connection_lost(e: Exception) -> bool:
    import pymysql

    if isinstance(e, pymysql.err.InterfaceError):
        return True
    code = e.args[0] if e.args and isinstance(e.args[0], int) else 0
    return 2000 <= code < 3000


def _describe_error(e: Exception) -> str:
    code = e.args[0] if e.args and isinstance(e.args[0], int) else type(e).__name__
    message = e.args[1] if len(e.args) > 1 else str(e)
    return f"{code}: {message}"


def _rollback(cur) -> bool:
    """ROLLBACK after a failed statement or COMMIT (a statement error alone
    ends no transaction in MySQL). True if the connection turned out to be
    gone, which ends the transaction as well."""
    import pymysql

    try:
        cur.execute("ROLLBACK")
    except pymysql.err.MySQLError as e:
        if _connection_lost(e):
            return True
        raise
    return False


def _close(conn) -> None:
    """Close a connection that may already be broken."""
    import pymysql

    try:
        conn.close()
    except pymysql.err.Error:
        pass


def _session_level(cur) -> str | None:
    """The session's isolation level, as 'REPEATABLE-READ' etc. MariaDB 10.x
    only knows @@tx_isolation; MySQL 8 and Basalt both names."""
    import pymysql

    for variable in ("@@transaction_isolation", "@@tx_isolation"):
        try:
            cur.execute(f"SELECT {variable}")
            return str(cur.fetchone()[0]).upper()
        except pymysql.err.MySQLError:
            continue
    return None


def configure_session(conn, level: str) -> list[str]:
    """Set the session's isolation level and check that it took.

    A failed SET is accepted only when the session already runs at the wanted
    level (Basalt's default is REPEATABLE READ); a SET that succeeds but
    leaves another level in place is refused too. Lock waits are shortened
    where the server allows it, so that a stuck transaction fails in seconds
    instead of holding its thread for MySQL's default 50. Returns notes on
    what was accepted as is."""
    import pymysql

    want = LEVELS[level]
    want_var = want.replace(" ", "-")
    notes = []
    with conn.cursor() as cur:
        try:
            cur.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {want}")
        except pymysql.err.MySQLError as e:
            have = _session_level(cur)
            if have != want_var:
                raise IsolationUnsupported(
                    f"SET SESSION TRANSACTION ISOLATION LEVEL {want} failed ({_describe_error(e)}) "
                    f"and the session runs at {have}"
                ) from e
            notes.append(f"SET SESSION TRANSACTION ISOLATION LEVEL {want} failed "
                         f"({_describe_error(e)}); the session already runs at {have}")
        have = _session_level(cur)
        if have != want_var:
            raise IsolationUnsupported(
                f"SET SESSION TRANSACTION ISOLATION LEVEL {want} was accepted "
                f"but @@transaction_isolation is still {have}"
            )
        if level == "si":
            try:
                cur.execute("SET SESSION innodb_snapshot_isolation = ON")
            except pymysql.err.MySQLError as e:
                raise IsolationUnsupported(f"innodb_snapshot_isolation: {_describe_error(e)}") from e
        try:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 5")
        except pymysql.err.MySQLError as e:
            notes.append(f"innodb_lock_wait_timeout not set ({_describe_error(e)})")
    return notes


def setup_table(connect, database: str) -> None:
    """A fresh `lists` table: histories must start from empty lists."""
    with connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        cur.execute(f"DROP TABLE IF EXISTS {database}.lists")
        cur.execute(f"CREATE TABLE {database}.lists (k INT PRIMARY KEY, v TEXT NOT NULL)")


def _parse_list(row) -> list:
    """A stored list, '1,5,9', as elements; an element that is not an
    integer stays a string (it will show up as a garbage read)."""
    if row is None or row[0] in (None, ""):
        return []
    text = row[0].decode() if isinstance(row[0], (bytes, bytearray)) else str(row[0])
    return [int(e) if e.lstrip("-").isdigit() else e for e in text.split(",")]


def run(
    host: str,
    port: int,
    level: str,
    txns: int,
    threads: int = 8,
    seed: int = 0,
    user: str = "root",
    password: str = "",
    database: str = "history",
    keys: int = 10,
    max_writes_per_key: int = 64,
    time_limit: float | None = None,
) -> Run:
    """Run `txns` transactions (fewer if `time_limit` seconds pass first) on
    `threads` connections at `level` ('rc', 'rr' or 'si') and return the history.

    Raises IsolationUnsupported before any transaction runs if the server
    will not run sessions at that level."""
    import pymysql

    def connect(**kw):
        params = dict(
            host=host, port=port, user=user, password=password, charset="utf8mb4",
            autocommit=True, connect_timeout=10, read_timeout=60, write_timeout=60,
        )
        params.update(kw)
        return pymysql.connect(**params)

    setup_table(connect, database)
    # Refuse the level up front, in the caller's thread, not in every worker.
    with connect(database=database) as probe:
        notes = configure_session(probe, level)

    workload = Workload(seed, txns, keys=keys, max_writes_per_key=max_writes_per_key)
    history: list[Txn] = []
    history_lock = threading.Lock()
    failures: list[BaseException] = []
    start = time.monotonic()
    deadline = start + time_limit if time_limit else None
    timed_out = threading.Event()

    def open_session():
        conn = connect(database=database)
        configure_session(conn, level)
        return conn

    def one(conn, tid: int, planned: list, thread: int) -> tuple[Txn, bool]:
        """Run one transaction; returns it and whether the connection is lost."""
        done: list = []
        invoke = time.monotonic() - start

        def finished(status: str, error: Exception | None = None) -> Txn:
            error = _describe_error(error) if error else None
            return Txn(tid, done, status, thread, error, invoke, time.monotonic() - start)

        cur = conn.cursor()
        try:
            cur.execute("BEGIN")
            for f, k, x in planned:
                if f == "r":
                    cur.execute(SELECT, (k,))
                    done.append(("r", k, _parse_list(cur.fetchone())))
                else:
                    done.append(("append", k, x))
                    cur.execute(APPEND, (k, str(x), str(x)))
        except pymysql.err.MySQLError as e:
            # COMMIT was never sent: whatever happened, nothing committed.
            return finished("fail", e), _connection_lost(e) or _rollback(cur)
        try:
            cur.execute("COMMIT")
        except pymysql.err.MySQLError as e:
            if _connection_lost(e):
                return finished("info", e), True
            # The server answered: the transaction did not commit.
            return finished("fail", e), _rollback(cur)
        return finished("ok"), False

    def worker(thread: int) -> None:
        try:
            conn = open_session()
            try:
                while True:
                    if deadline and time.monotonic() >= deadline:
                        timed_out.set()
                        return
                    nxt = workload.next()
                    if nxt is None:
                        return
                    txn, lost = one(conn, nxt[0], nxt[1], thread)
                    with history_lock:
                        history.append(txn)
                    if lost:
                        _close(conn)
                        conn = open_session()
            finally:
                _close(conn)
        except BaseException as e:  # noqa: BLE001 - re-raised by run()
            failures.append(e)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        raise failures[0]
    history.sort(key=lambda t: t.id)
    return Run(history, level, threads, seed, time.monotonic() - start, timed_out.is_set(), notes)


# ---------------------------------------------------------------------------
# Graph algorithms


def strongly_connected(nodes, succ) -> list[list]:
    """Tarjan's strongly connected components of the graph on `nodes` whose
    edges out of v are `succ(v)` (which must stay within `nodes`), iterative
    so that long histories do not hit Python's recursion limit. Components
    come out in Tarjan's order: each after every component it reaches."""
    index: dict = {}
    low: dict = {}
    on_stack: set = set()
    stack: list = []
    out: list[list] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ(root)))]
        while work:
            v, children = work[-1]
            descended = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ(w))))
                    descended = True
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[v] < low[parent]:
                    low[parent] = low[v]
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def shortest_path(src, dst, succ) -> list | None:
    """Breadth-first: the shortest [src, ..., dst] along `succ`, or None."""
    parent = {src: None}
    queue = deque([src])
    while queue:
        v = queue.popleft()
        if v == dst:
            path = []
            while v is not None:
                path.append(v)
                v = parent[v]
            return path[::-1]
        for w in succ(v):
            if w not in parent:
                parent[w] = v
                queue.append(w)
    return None


def reachable_pairs(comp_succ: list[set], queries: list[tuple[int, int]], block: int = REACH_BLOCK) -> set:
    """Which (source, target) component pairs of `queries` have a path from
    source to target, in a DAG whose components are numbered in Tarjan's
    order (every edge goes from a higher number to a lower one).

    Exact transitive closure with integers as bitsets, in passes over blocks
    of `block` targets so that memory stays linear in the number of
    components: a component numbered below a block reaches nothing in it."""
    n = len(comp_succ)
    found = set()
    by_block: dict[int, list] = defaultdict(list)
    for s, t in queries:
        if s == t:
            found.add((s, t))
        elif s > t:
            by_block[t // block].append((s, t))
    for b, pairs in by_block.items():
        lo, hi = b * block, min(n, (b + 1) * block)
        top = max(s for s, _ in pairs)
        reach = []
        for c in range(lo, top + 1):
            bits = 1 << (c - lo) if c < hi else 0
            for d in comp_succ[c]:
                if d >= lo:
                    bits |= reach[d - lo]
            reach.append(bits)
        for s, t in pairs:
            if reach[s - lo] >> (t - lo) & 1:
                found.add((s, t))
    return found


# ---------------------------------------------------------------------------
# Checker


@dataclass
class Anomaly:
    kind: str
    message: str
    txns: list[int]


@dataclass
class CheckResult:
    """Anomalies by kind (the first `max_examples` of each kind, explained;
    `counts` has them all), plus what the check saw."""

    anomalies: dict[str, list[Anomaly]]
    counts: Counter
    txns: dict[int, Txn]
    stats: dict

    def forbidden(self, level: str) -> list[str]:
        """Kinds found that `level` ('rc', 'rr' or 'si') forbids."""
        return [k for k in KINDS if self.counts[k] and k in FORBIDDEN[level]]

    def found(self) -> list[str]:
        return [k for k in KINDS if self.counts[k]]

    def summary(self) -> str:
        s = self.stats
        found = ", ".join(f"{k} {self.counts[k]}" for k in self.found()) or "none"
        return (
            f"checked {s['committed']} committed txns ({s['info_committed']} info seen committed), "
            f"{s['keys']} keys, {s['reads']} reads, {s['edges']} edges "
            f"(ww {s['ww']}, wr {s['wr']}, rw {s['rw']}) in {s['seconds']:.1f} s; anomalies: {found}"
        )

    def report(self, level: str, max_examples: int = 5) -> str:
        """Each anomaly kind found, whether `level` allows it, and examples
        with the full transactions involved."""
        lines = []
        forbidden = FORBIDDEN[level]
        for kind in self.found():
            verdict = "FORBIDDEN" if kind in forbidden else "allowed"
            lines.append(f"{kind}: {self.counts[kind]} ({verdict} at {LEVELS[level]})")
            for a in self.anomalies[kind][:max_examples]:
                lines.append(f"  - {a.message}")
                for tid in dict.fromkeys(a.txns):
                    lines.append(f"      {self.txns[tid].describe()}")
        return "\n".join(lines)


class _Graph:
    """The dependency graph between committed transactions, with one reason
    per (edge, type) to explain cycles with."""

    def __init__(self):
        self.succ: dict[int, dict[int, int]] = defaultdict(dict)
        self.reasons: dict[tuple[int, int, int], str] = {}
        self.counts = Counter()

    def link(self, a: int, b: int, kind: int, reason: str) -> None:
        edges = self.succ[a]
        have = edges.get(b, 0)
        if not have & kind:
            edges[b] = have | kind
            self.reasons[(a, b, kind)] = reason
            self.counts[kind] += 1

    def within(self, nodes: set, mask: int):
        """succ function over edges with a type in `mask`, inside `nodes`."""
        succ = self.succ

        def f(v):
            return [w for w, m in succ.get(v, {}).items() if m & mask and w in nodes]

        return f

    def explain(self, cycle: list[int], labels: list[int]) -> str:
        steps = []
        for a, b, kind in zip(cycle, cycle[1:], labels):
            steps.append(f"T{a} -{EDGE_NAMES[kind]}-> T{b} ({self.reasons[(a, b, kind)]})")
        return "; ".join(steps)

    def label(self, a: int, b: int, mask: int) -> int:
        """The strongest edge type a -> b has within `mask` (ww, then wr, then rw)."""
        m = self.succ[a][b] & mask
        return next(k for k in (WW, WR, RW) if m & k)


def check(history: list[Txn], max_examples: int = 20, reach_block: int = REACH_BLOCK) -> CheckResult:
    """Check a list-append history (see the module docstring for the rules).

    Every append must carry an element unique to its key (the workload's
    promise; a violation is a bug of the generator, so it raises ValueError).
    `max_examples` bounds how many cycles of each kind are explained; all of
    them are counted."""
    began = time.monotonic()
    txns = {t.id: t for t in history}
    anomalies: dict[str, list[Anomaly]] = defaultdict(list)
    counts: Counter = Counter()

    def report(kind: str, message, involved: list[int] | None = None) -> None:
        """Count one anomaly; keep its explanation while under the cap.
        `message` may be a function returning (message, txns), for
        explanations that cost a search."""
        counts[kind] += 1
        if len(anomalies[kind]) < max_examples:
            if callable(message):
                message, involved = message()
            anomalies[kind].append(Anomaly(kind, message, involved))

    # Who appended what: (k, x) -> txn id; and each txn's appends per key.
    writer: dict[tuple, int] = {}
    appends_of: dict[int, dict] = {}
    for t in history:
        mine = defaultdict(list)
        for f, k, v in t.ops:
            if f == "append":
                if (k, v) in writer:
                    raise ValueError(f"element {v} appended to key {k} twice (T{writer[(k, v)]}, T{t.id})")
                writer[(k, v)] = t.id
                mine[k].append(v)
        appends_of[t.id] = mine

    # Committed: ok, plus info transactions whose appends an ok read shows.
    committed = {t.id for t in history if t.status == "ok"}
    for t in history:
        if t.status != "ok":
            continue
        for f, k, v in t.ops:
            if f == "r":
                for e in v:
                    w = writer.get((k, e))
                    if w is not None and txns[w].status == "info":
                        committed.add(w)
    info_committed = sum(1 for tid in committed if txns[tid].status == "info")

    reads = [(tid, k, v) for tid in sorted(committed) for f, k, v in txns[tid].ops if f == "r"]

    # Per-read checks: duplicates, garbage, G1a, G1b.
    for tid, k, v in reads:
        dups = [e for e, n in Counter(v).items() if n > 1]
        if dups:
            report(DUPLICATES, f"T{tid} read key {k} = {_elements(v)}, with {dups} more than once", [tid])
        for e in v:
            w = writer.get((k, e))
            if w is None:
                report(GARBAGE, f"T{tid} read key {k} = {_elements(v)}: nobody appended {e!r}", [tid])
            elif txns[w].status == "fail":
                report(G1A, f"T{tid} read key {k} = {_elements(v)}, with {e} appended by T{w}, "
                            f"which failed ({txns[w].error})", [tid, w])
        if v:
            w = writer.get((k, v[-1]))
            if w is not None and w != tid and appends_of[w][k][-1] != v[-1]:
                report(G1B, f"T{tid} read key {k} = {_elements(v)}, ending with {v[-1]}, but T{w} "
                            f"appended {appends_of[w][k]} to key {k}: an intermediate state", [tid, w])

    # Internal consistency, within each committed transaction.
    for tid in sorted(committed):
        own = defaultdict(list)
        later = {(k, x) for k, xs in appends_of[tid].items() for x in xs}
        for f, k, v in txns[tid].ops:
            if f == "append":
                own[k].append(v)
                later.discard((k, v))
                continue
            future = [e for e in v if (k, e) in later]
            if future:
                report(INTERNAL, f"T{tid} read key {k} = {_elements(v)}, showing {future}, "
                                 "which it only appends later", [tid])
            if own[k] and not _shows_own(v, own[k]):
                report(INTERNAL, f"T{tid} read key {k} = {_elements(v)} after appending "
                                 f"{own[k]} to it", [tid])

    # Version order: the longest committed read of each key.
    longest: dict = {}
    for tid, k, v in reads:
        if len(v) > len(longest.get(k, (None, []))[1]):
            longest[k] = (tid, v)
    order: dict = {k: list(dict.fromkeys(v)) for k, (_, v) in longest.items()}
    position = {k: {e: i for i, e in enumerate(vs)} for k, vs in order.items()}
    seen_bad = set()
    for tid, k, v in reads:
        full = longest[k][1] if k in longest else []
        if full[: len(v)] != v and (k, tuple(v)) not in seen_bad:
            seen_bad.add((k, tuple(v)))
            report(INCOMPATIBLE_ORDER, f"T{tid} read key {k} = {_elements(v)}, not a prefix of "
                                       f"T{longest[k][0]}'s {_elements(full)}", [tid, longest[k][0]])

    # Readers of each version, named by its last element (None: the empty list).
    readers = defaultdict(set)
    for tid, k, v in reads:
        readers[(k, v[-1] if v else None)].add(tid)

    graph = _Graph()
    for tid in sorted(committed):
        for f, k, v in txns[tid].ops:
            if f == "r":
                w = writer.get((k, v[-1])) if v else None
                if w is not None and w != tid and w in committed:
                    graph.link(w, tid, WR, f"T{tid} read key {k} ending with T{w}'s append of {v[-1]}")
                continue
            # The element directly before this append in the version order.
            if v in position.get(k, {}):
                i = position[k][v]
                prev = order[k][i - 1] if i else None
                how = "next"
            else:
                prev = order[k][-1] if order.get(k) else None
                how = "later (never read)"
            if prev is not None:
                w = writer.get((k, prev))
                if w == tid:
                    # Our own earlier append: no ww edge, and whoever read
                    # `prev` saw this transaction half-way (that is G1b), not
                    # a committed version to be anti-dependent on.
                    continue
                if w is not None and w in committed:
                    graph.link(w, tid, WW, f"T{w} appended {prev} to key {k}, T{tid} appended {v} {how}")
            version = f"ending with {prev}" if prev is not None else "empty"
            for r in readers[(k, prev)]:
                if r != tid:
                    graph.link(r, tid, RW, f"T{r} read key {k} {version}, T{tid} appended {v} {how}")

    # Lost update: two committed transactions read the same version of a key
    # (before appending to it themselves), then both appended to it.
    read_then_appended = defaultdict(list)
    for tid in sorted(committed):
        first_read: dict = {}
        appended = set()
        for f, k, v in txns[tid].ops:
            if f == "r":
                if k not in first_read and k not in appended:
                    first_read[k] = tuple(v)
                continue
            if k in first_read and k not in appended:
                read_then_appended[(k, first_read[k])].append(tid)
            appended.add(k)
    for (k, v), tids in read_then_appended.items():
        if len(tids) > 1:
            report(LOST_UPDATE, f"{', '.join(f'T{t}' for t in tids)} all read key {k} = "
                                f"{_elements(v)} and appended to it", tids)

    _cycles(graph, committed, report, reach_block)

    return CheckResult(
        anomalies=dict(anomalies),
        counts=counts,
        txns=txns,
        stats=dict(
            committed=len(committed), info_committed=info_committed, keys=len(order),
            reads=len(reads), edges=sum(graph.counts.values()), ww=graph.counts[WW],
            wr=graph.counts[WR], rw=graph.counts[RW], seconds=time.monotonic() - began,
        ),
    )


def _shows_own(v: list, own: list) -> bool:
    """A read after one's own appends must show them in order, the last one
    last: nobody else can append between them and the commit."""
    if not v or v[-1] != own[-1]:
        return False
    it = iter(v)
    return all(x in it for x in own)


def _cycles(graph: _Graph, committed: set, report, reach_block: int) -> None:
    """G0, G1c, G-single and G2 inside each strongly connected component of
    the full graph (a cycle never leaves one).

    Counts: G0 and G1c one per component of ww (ww and wr) edges holding such
    a cycle; G-single one per rw-only edge a -> b where b reaches a over ww
    and wr edges (each such edge closes its own read-skew cycle); G2 one per
    rw-only edge on a cycle, all of whose cycles need a second rw edge.
    Only the first examples of each kind are searched for and explained."""
    for scc in strongly_connected(sorted(committed), graph.within(committed, WW | WR | RW)):
        if len(scc) < 2:
            continue
        nodes = set(scc)
        data = graph.within(nodes, WW | WR)
        data_comps = strongly_connected(scc, data)
        comp_of = {v: i for i, comp in enumerate(data_comps) for v in comp}

        for comp in data_comps:
            if len(comp) < 2:
                continue
            members = set(comp)
            ww = graph.within(members, WW)
            for wcomp in strongly_connected(comp, ww):
                if len(wcomp) > 1:
                    report(G0, lambda wcomp=wcomp, ww=ww: _ww_cycle(graph, wcomp, ww))
            wr_only = next(((a, b) for a in comp for b, m in graph.succ[a].items()
                            if b in members and m & WR and not m & WW), None)
            if wr_only:
                report(G1C, lambda edge=wr_only, data=data: _closed(graph, edge, WR, data, WW | WR))

        rw_edges = [(a, b) for a in scc for b, m in graph.succ[a].items() if b in nodes and m == RW]
        comp_succ = [set() for _ in data_comps]
        for v in scc:
            for w in data(v):
                if comp_of[w] != comp_of[v]:
                    comp_succ[comp_of[v]].add(comp_of[w])
        closing = reachable_pairs(comp_succ, [(comp_of[b], comp_of[a]) for a, b in rw_edges], reach_block)
        anything = graph.within(nodes, WW | WR | RW)
        for a, b in rw_edges:
            if (comp_of[b], comp_of[a]) in closing:
                report(G_SINGLE, lambda edge=(a, b), data=data: _closed(graph, edge, RW, data, WW | WR))
            else:
                report(G2, lambda edge=(a, b): _closed(graph, edge, RW, anything, WW | WR | RW))


def _ww_cycle(graph: _Graph, wcomp: list, ww) -> tuple[str, list]:
    """A shortest ww cycle through the first member of a ww component."""
    members = set(wcomp)
    a = wcomp[0]
    b = next(w for w in ww(a) if w in members)
    cycle = [a] + shortest_path(b, a, graph.within(members, WW))
    return graph.explain(cycle, [WW] * (len(cycle) - 1)), cycle[:-1]


def _closed(graph: _Graph, edge: tuple, kind: int, succ, mask: int) -> tuple[str, list]:
    """The cycle `edge` (taken as `kind`) closes with a shortest path back
    along `succ`, each of whose edges is named by its strongest type in `mask`."""
    a, b = edge
    path = shortest_path(b, a, succ)
    cycle = [a] + path
    labels = [kind] + [graph.label(x, y, mask) for x, y in zip(path, path[1:])]
    return graph.explain(cycle, labels), cycle[:-1]


# ---------------------------------------------------------------------------
# CLI


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Run an Elle-style list-append workload on a MySQL-protocol server and check "
        "the history for isolation anomalies (exit 1 if one forbidden at the level is found)."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--user", default="root")
    p.add_argument("--password", default="")
    p.add_argument("--database", default="history", help="database of the `lists` table (dropped and recreated)")
    p.add_argument("--isolation", choices=sorted(LEVELS), required=True, help="rc, rr or si (REPEATABLE READ with innodb_snapshot_isolation); also the level judged")
    p.add_argument("--txns", type=int, default=10000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keys", type=int, default=10, help="active keys at any time")
    p.add_argument("--max-writes-per-key", type=int, default=64, help="appends before a key is retired")
    p.add_argument("--time-limit", type=float, help="stop starting transactions after this many seconds")
    p.add_argument("--max-examples", type=int, default=5, help="anomalies printed per kind")
    p.add_argument("--save", metavar="FILE", help="write the history as JSON")
    p.add_argument("--load", metavar="FILE", help="check a saved history instead of running one")
    args = p.parse_args(argv)

    if args.load:
        history, meta = load_history(args.load)
        print(f"history: {len(history)} txns loaded from {args.load} ({meta})")
    else:
        if args.port is None:
            p.error("--port is required unless --load is given")
        try:
            result = run(
                args.host, args.port, args.isolation, args.txns, args.threads, args.seed,
                user=args.user, password=args.password, database=args.database, keys=args.keys,
                max_writes_per_key=args.max_writes_per_key, time_limit=args.time_limit,
            )
        except IsolationUnsupported as e:
            print(f"isolation level refused: {e}", file=sys.stderr)
            return 2
        history = result.history
        print(f"history: {result.summary()}")
        for note in result.notes:
            print(f"note: {note}")
        if args.save:
            meta = dict(host=args.host, port=args.port, level=args.isolation, threads=args.threads,
                        seed=args.seed, duration=result.duration)
            save_history(args.save, history, meta)

    checked = check(history, max_examples=args.max_examples)
    print(checked.summary())
    details = checked.report(args.isolation, args.max_examples)
    if details:
        print(details)
    forbidden = checked.forbidden(args.isolation)
    if forbidden:
        print(f"FAIL: {', '.join(forbidden)} forbidden at {LEVELS[args.isolation]}")
        return 1
    print(f"OK: nothing forbidden at {LEVELS[args.isolation]} found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
