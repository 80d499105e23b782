"""The status HTTP server of every role, read the way a performance
engineer's tools read it: `/status` and `/config` as JSON, `/metrics` with
Prometheus' own Python parser, `/debug/pprof/profile` as a pprof `Profile`
message (decoded here from the protobuf wire format), and
`/debug/pprof/flamegraph` as the SVG a browser shows, `/debug/pprof/heap`
and `/debug/stacks`, `/debug/zip` holding all of them, and the SQL node's
`/schema`, `/regions/{id}` and `/mvcc/key/...`. Profiles are taken
while sysbench keeps the server busy, and the statement counters are
checked against sysbench's own count of the queries it sent."""

from __future__ import annotations

import gzip
import html
import json
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

prometheus_parser = pytest.importorskip("prometheus_client.parser", reason="pip install prometheus_client")

needs_sysbench = pytest.mark.skipif(shutil.which("sysbench") is None, reason="sysbench is not installed")

# The crates of this repository: a frame of theirs is Basalt's own code.
BASALT_CRATES = (
    "basalt", "server", "sql", "kv_client", "kv_server", "txn", "storage", "raftstore", "codec",
    "proto", "pd", "status",
)
# What runs Basalt's code rather than being it: the async runtime, the
# standard library, thread start-up, and the flame graph's root.
RUNTIME = ("tokio::", "std::", "core::", "alloc::", "futures", "async_trait")
ROOTS = {"all", "clone3", "clone", "start_thread", "[unknown]"}


def get(addr: str, path: str, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://{addr}{path}", timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def metrics(addr: str) -> dict:
    status, body = get(addr, "/metrics")
    assert status == 200, body
    return {f.name: f for f in prometheus_parser.text_string_to_metric_families(body.decode())}


def statements_run(addr: str) -> float:
    """Statements the SQL node has run, every type summed."""
    family = metrics(addr)["basalt_sql_statement_duration_seconds"]
    return sum(s.value for s in family.samples if s.name.endswith("_count"))


def status_addr(server) -> str:
    return f"{server.host}:{server.status_port}"


def sysbench(server, command: str, *extra: str, timeout: float = 120) -> str:
    cmd = [
        "sysbench", "oltp_read_write", f"--mysql-host={server.host}", f"--mysql-port={server.port}",
        f"--mysql-user={server.user}", f"--mysql-password={server.password}", "--mysql-db=status_sb",
        "--tables=2", "--table-size=5000", *extra, command,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "FATAL" not in out, out[-3000:]
    return out


@pytest.fixture(scope="module")
def loaded(basalt_server):
    if basalt_server.external or basalt_server.status_port is None:
        pytest.skip("needs a playground this run started (its status port)")
    with basalt_server.connect() as conn, conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS status_sb")
        cur.execute("CREATE DATABASE status_sb")
    sysbench(basalt_server, "prepare")
    yield basalt_server
    sysbench(basalt_server, "cleanup")


def test_status_and_config_describe_the_process(basalt_server):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    code, body = get(status_addr(basalt_server), "/status")
    assert code == 200
    status = json.loads(body)
    assert status["role"] == "playground"
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", status["git_hash"])
    assert status["uptime_seconds"] > 0 and status["start_time"] > 1_700_000_000
    with basalt_server.connect():
        assert json.loads(get(status_addr(basalt_server), "/status")[1])["connections"] >= 1
    code, body = get(status_addr(basalt_server), "/config")
    assert code == 200
    assert json.loads(body)["playground"]["port"] == basalt_server.port
    assert get(status_addr(basalt_server), "/no/such/page")[0] == 404
    assert get(status_addr(basalt_server), "/debug/pprof/profile?seconds=0")[0] == 400
    assert get(status_addr(basalt_server), "/debug/pprof/profile?seconds=x")[0] == 400


# oltp_read_write's statements (sysbench's oltp_common.lua, normalised as
# digests are) and how many of each a transaction runs.
SYSBENCH_STATEMENTS = {
    r"SELECT c FROM sbtest\d WHERE id = \?": 10,
    r"SELECT c FROM sbtest\d WHERE id BETWEEN \? AND \?": 1,
    r"SELECT SUM ?\(k\) FROM sbtest\d WHERE id BETWEEN \? AND \?": 1,
    r"SELECT c FROM sbtest\d WHERE id BETWEEN \? AND \? ORDER BY c": 1,
    r"SELECT DISTINCT c FROM sbtest\d WHERE id BETWEEN \? AND \? ORDER BY c": 1,
    r"UPDATE sbtest\d SET k = k \+ \? WHERE id = \?": 1,
    r"UPDATE sbtest\d SET c = \? WHERE id = \?": 1,
    r"DELETE FROM sbtest\d WHERE id = \?": 1,
    r"INSERT INTO sbtest\d \(id, k, c, pad\) VALUES \(\?, \?, \?, \?\)": 1,
    r"BEGIN": 1,
    r"COMMIT": 1,
}


def summary(server) -> dict[str, tuple[str, int]]:
    """STATEMENTS_SUMMARY: digest -> (digest text, executions)."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT DIGEST, DIGEST_TEXT, EXEC_COUNT FROM information_schema.STATEMENTS_SUMMARY")
        return {d: (t, int(n)) for d, t, n in cur.fetchall()}


@needs_sysbench
def test_statement_counters_agree_with_sysbench(loaded):
    before = statements_run(status_addr(loaded))
    digests_before = summary(loaded)
    out = sysbench(loaded, "run", "--threads=8", "--time=8")
    after = statements_run(status_addr(loaded))
    digests_after = summary(loaded)
    queries = int(re.search(r"queries:\s+(\d+)", out).group(1))
    counted = after - before
    print(f"sysbench sent {queries} queries, the server counted {counted:.0f} statements")
    assert queries > 1000
    assert abs(counted - queries) <= queries / 100, (counted, queries)

    # Each of sysbench's statements has a digest whose executions match
    # sysbench's count (transactions × how many a transaction runs).
    transactions = int(re.search(r"transactions:\s+(\d+)", out).group(1))
    ran: dict[str, int] = {}
    for digest, (text, n) in digests_after.items():
        delta = n - digests_before.get(digest, ("", 0))[1]
        kind = next((k for k in SYSBENCH_STATEMENTS if re.fullmatch(k, text, re.IGNORECASE)), None)
        if kind and delta:
            ran[kind] = ran.get(kind, 0) + delta
    print({k: (v, SYSBENCH_STATEMENTS[k] * transactions) for k, v in ran.items()})
    for kind, per_txn in SYSBENCH_STATEMENTS.items():
        expected = per_txn * transactions
        assert abs(ran.get(kind, 0) - expected) <= expected / 100 + 16, (kind, ran.get(kind), expected)
    families = metrics(status_addr(loaded))
    for name in ("basalt_sql_statements_running", "basalt_sql_connections", "basalt_kv_request_duration_seconds",
                 "basalt_pd_request_duration_seconds", "basalt_txn_commit_duration_seconds",
                 "basalt_tso_wait_seconds", "basalt_raft_append_log_duration_seconds",
                 "basalt_raft_commit_log_duration_seconds", "basalt_raft_apply_log_duration_seconds",
                 "process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds"):
        assert name in families, f"{name} missing from /metrics"

    def value(family: str, **labels) -> float:
        return sum(s.value for s in families[family].samples
                   if all(s.labels.get(k) == v for k, v in labels.items()) and not s.name.endswith("_created"))

    # sysbench's transactions committed; each COMMIT of one is one commit here.
    assert value("basalt_txn", result="committed") >= transactions
    assert value("basalt_raft_leaders") >= 1 and value("basalt_raft_regions") >= value("basalt_raft_leaders")
    assert value("basalt_raft_proposals") > 0
    assert value("basalt_engine_events", event="journal_syncs") > 0
    assert value("basalt_engine_events", event="keys_written") > value("basalt_engine_events", event="write_batches") > 0
    assert value("basalt_engine_state", what="block_cache_bytes") > 0
    assert value("basalt_engine_block_loads") > 0


def under_load(server, path: str, seconds: int) -> bytes:
    """GET a profile of `seconds` while sysbench oltp_read_write runs for
    a few seconds longer (and finishes) in the background."""
    load = threading.Thread(
        target=sysbench, args=(server, "run", "--threads=8", f"--time={seconds + 4}"), daemon=True
    )
    load.start()
    code, body = get(status_addr(server), f"{path}?seconds={seconds}")
    load.join()
    assert code == 200, body[:500]
    return body


def frames(svg: str) -> dict[str, float]:
    """Each function of a flame graph with its widest frame, in percent."""
    widest: dict[str, float] = {}
    for name, pct in re.findall(r"<title>(.*?) \([\d,]+ samples?, ([\d.]+)%\)</title>", svg):
        name = html.unescape(name)
        widest[name] = max(widest.get(name, 0.0), float(pct))
    return widest


def is_basalt(name: str) -> bool:
    return name.lstrip("<").split("::")[0] in BASALT_CRATES


def is_runtime(name: str) -> bool:
    bare = name.lstrip("<")
    # Thread names (`playground-work`) are roots, not functions.
    return bare.startswith(RUNTIME) or name in ROOTS or "::" not in name


@needs_sysbench
def test_flame_graph_under_load_shows_basalt_below_the_runtime(loaded):
    svg = under_load(loaded, "/debug/pprof/flamegraph", 5).decode()
    assert svg.lstrip().startswith("<?xml") or svg.lstrip().startswith("<svg"), svg[:200]
    widest = frames(svg)
    ours = {n: p for n, p in widest.items() if not is_runtime(n)}
    top = sorted(ours.items(), key=lambda kv: -kv[1])[:5]
    print("widest frames below the runtime:", top)
    assert top and is_basalt(top[0][0]), top


def varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf: bytes):
    """(field number, value) of a protobuf message: ints for varints, bytes
    for length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise AssertionError(f"wire type {wire} is not protobuf")
        yield number, value


def ints(value) -> list[int]:
    """A repeated integer field, packed (bytes) or not (one int)."""
    if isinstance(value, int):
        return [value]
    out, i = [], 0
    while i < len(value):
        v, i = varint(value, i)
        out.append(v)
    return out


def decode_profile(gzipped: bytes, empty_ok: bool = False) -> dict:
    """The parts of a gzipped pprof `Profile` the tests read: samples (their
    location ids and values), locations (id -> function ids), functions
    (id -> name index), the string table and the sample types' names."""
    samples, locations, functions, strings, types = [], {}, {}, [], []
    for number, value in fields(gzip.decompress(gzipped)):
        if number == 1:  # ValueType: type = 1 (a string index)
            types.append(dict(fields(value)).get(1, 0))
        elif number == 2:  # Sample: location_id = 1, value = 2
            sample = {"locations": [], "values": []}
            for n, v in fields(value):
                if n in (1, 2):
                    sample["locations" if n == 1 else "values"] += ints(v)
            samples.append(sample)
        elif number == 4:  # Location: id = 1, line = 4 (Line: function_id = 1)
            loc = dict(fields(value))
            locations[loc.get(1)] = [dict(fields(line)).get(1) for n, line in fields(value) if n == 4]
        elif number == 5:  # Function: id = 1, name = 2
            f = dict(fields(value))
            functions[f.get(1)] = f.get(2, 0)
        elif number == 6:
            strings.append(value.decode())
    assert strings and strings[0] == "", "string_table[0] must be empty"
    assert samples or empty_ok, "no samples"
    for s in samples:
        assert s["locations"] and all(loc in locations for loc in s["locations"])
    return {"samples": samples, "locations": locations, "strings": strings,
            "functions": {strings[i] for i in functions.values()},
            "types": [strings[i] for i in types]}


@needs_sysbench
def test_cpu_profile_under_load_is_a_pprof_profile(loaded):
    profile = decode_profile(under_load(loaded, "/debug/pprof/profile", 3))
    assert all(sum(s["values"]) > 0 for s in profile["samples"])
    assert any(is_basalt(n) for n in profile["functions"]), sorted(profile["functions"])[:20]
    print(f"{len(profile['samples'])} samples, {len(profile['locations'])} locations, "
          f"{len(profile['functions'])} functions")


def check_heap_profile(gzipped: bytes, busy: bool) -> None:
    """jemalloc's sampled heap as a pprof `Profile` of in-use bytes (its
    frames are addresses: pprof names them from the binary). One allocation
    is sampled per 2 MiB allocated, so a process that did little may have
    no sample yet; a busy one has some."""
    heap = decode_profile(gzipped, empty_ok=not busy)
    assert "inuse_space" in heap["types"], heap["types"]
    in_use = sum(s["values"][-1] for s in heap["samples"])
    print(f"heap: {len(heap['samples'])} sampled stacks, {in_use / 2**20:.1f} MiB in use")
    assert in_use > 0 or not busy


def test_heap_profile_is_a_pprof_profile(basalt_server):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    code, body = get(status_addr(basalt_server), "/debug/pprof/heap")
    assert code == 200, body[:500]
    check_heap_profile(body, busy=False)


def check_stacks(text: str) -> None:
    """Every thread of the process with a header, and Basalt's own frames
    below some of them."""
    headers = re.findall(r"^Thread (\d+) \"(.*)\" \((.)\):$", text, re.M)
    assert len(headers) >= 4, text[:1000]
    frames = re.findall(r"^  0x[0-9a-f]+ (\S+)", text, re.M)
    assert any(is_basalt(f) for f in frames), frames[:50]
    print(f"{len(headers)} threads, {len(frames)} frames")


def test_thread_stacks_name_every_thread(basalt_server):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    code, body = get(status_addr(basalt_server), "/debug/stacks")
    assert code == 200, body[:500]
    check_stacks(body.decode())


@needs_sysbench
def test_debug_zip_under_load_holds_every_file(loaded):
    import io
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(under_load(loaded, "/debug/zip", 3)))
    files = {name: archive.read(name) for name in archive.namelist()}
    print({name: len(body) for name, body in files.items()})
    assert set(files) == {"version.json", "config.json", "metrics.txt", "stacks.txt", "heap.pb.gz",
                          "profile.pb.gz", "flamegraph.svg"}
    assert all(files.values()), "an empty file"
    assert json.loads(files["version.json"])["role"] in ("playground", "sql")
    assert json.loads(files["config.json"])
    names = {f.name for f in prometheus_parser.text_string_to_metric_families(files["metrics.txt"].decode())}
    assert "basalt_sql_statement_duration_seconds" in names
    check_stacks(files["stacks.txt"].decode())
    check_heap_profile(files["heap.pb.gz"], busy=True)
    cpu = decode_profile(files["profile.pb.gz"])
    assert any(is_basalt(n) for n in cpu["functions"])
    assert b"<svg" in files["flamegraph.svg"]


def test_only_one_profile_runs_at_a_time(basalt_server):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    first = threading.Thread(target=get, args=(status_addr(basalt_server), "/debug/pprof/profile?seconds=2"))
    first.start()
    import time

    time.sleep(0.5)
    code, body = get(status_addr(basalt_server), "/debug/pprof/flamegraph?seconds=1")
    first.join()
    assert code == 409, body
    # An idle process still gets an SVG.
    code, body = get(status_addr(basalt_server), "/debug/pprof/flamegraph?seconds=1")
    assert code == 200 and b"<svg" in body


def test_sql_node_shows_schema_and_every_mvcc_record_of_a_row(basalt_server):
    if basalt_server.status_port is None:
        pytest.skip("no status port")
    addr = status_addr(basalt_server)
    conn, holder = basalt_server.connect(), basalt_server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS routes")
            cur.execute("CREATE DATABASE routes")
            cur.execute("CREATE TABLE routes.t (id INT PRIMARY KEY, v INT, s VARCHAR(300), KEY kv (v))")
            cur.execute("INSERT INTO routes.t VALUES (1, 10, 'a'), (2, 20, REPEAT('b', 300))")
            cur.execute("UPDATE routes.t SET v = 11 WHERE id = 1")
            cur.execute("DELETE FROM routes.t WHERE id = 2")
        # A transaction in flight on row 1 holds its lock.
        with holder.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE routes.t SET v = 12 WHERE id = 1")
        code, body = get(addr, "/schema")
        assert code == 200
        dbs = {d["name"]: d["tables"] for d in json.loads(body)["databases"]}
        assert dbs["routes"] == ["t"], dbs
        code, body = get(addr, "/schema/routes/t")
        table = json.loads(body)
        assert [c["name"] for c in table["columns"]] == ["id", "v", "s"], table
        assert {i["name"]: i["columns"] for i in table["indexes"]}["kv"] == ["v"], table
        assert get(addr, "/schema/routes")[0] == 200
        assert get(addr, "/schema/nope")[0] == 404
        assert get(addr, "/schema/routes/nope")[0] == 404

        code, body = get(addr, "/mvcc/key/routes/t/1")
        assert code == 200, body
        one = json.loads(body)
        assert [(w["type"], w["row"]["v"]) for w in one["writes"]] == [("Put", "11"), ("Put", "10")], one
        assert one["writes"][0]["commit_ts"] > one["writes"][1]["commit_ts"]
        assert one["lock"] is not None and one["lock"]["start_ts"] > one["writes"][0]["commit_ts"], one
        code, body = get(addr, "/mvcc/key/routes/t/2")
        two = json.loads(body)
        # The delete, then the put whose 300-byte value lives outside the write record.
        assert [w["type"] for w in two["writes"]] == ["Delete", "Put"], two
        assert two["writes"][1]["row"]["s"] == "b" * 300 and two["lock"] is None, two
        assert json.loads(get(addr, "/mvcc/key/routes/t/3")[1])["writes"] == []
        assert get(addr, "/mvcc/key/routes/t/x")[0] == 400
        assert get(addr, "/mvcc/key/routes/nope/1")[0] == 404
        assert get(addr, "/regions/x")[0] == 400
        assert get(addr, "/regions/987654321")[0] == 404
    finally:
        holder.rollback()
        holder.close()
        with conn.cursor() as cur:
            cur.execute("DROP DATABASE routes")
        conn.close()


def test_no_instrumentation_measures_nothing(playground_factory):
    """The switch `bench/instrumentation-overhead.sh` compares against: with
    it, statements run but no metric, summary or heap sample is taken."""
    server = playground_factory(["--no-instrumentation"]).server
    with server.connect() as conn, conn.cursor() as cur:
        for _ in range(5):
            cur.execute("SELECT 1")
        cur.execute("SELECT COUNT(*) FROM information_schema.STATEMENTS_SUMMARY")
        assert cur.fetchone() == (0,)
    assert statements_run(status_addr(server)) == 0
    assert get(status_addr(server), "/debug/pprof/heap")[0] == 503


def test_every_role_of_a_cluster_serves_its_metrics_heap_and_stacks(tmp_path):
    from test_cluster import Cluster
    from conftest import REPO_ROOT, basalt_binary, free_ports

    if not basalt_binary().exists():
        pytest.skip("basalt binary not built")
    cluster = Cluster(tmp_path / "cluster", free_ports(1)[0])
    try:
        with cluster.connect() as conn, conn.cursor() as cur:
            cur.execute("CREATE DATABASE m")
            cur.execute("CREATE TABLE m.t (id INT PRIMARY KEY, v INT)")
            cur.execute("INSERT INTO m.t VALUES (1, 1), (2, 2)")
            cur.execute("SELECT * FROM m.t WHERE id = 1")
        for p in cluster.manifest["processes"]:
            code, body = get(p["status"], "/status")
            assert code == 200 and json.loads(body)["role"] == p["role"], (p["name"], body)
            families = metrics(p["status"])
            assert "process_resident_memory_bytes" in families, p["name"]
            own = {
                "sql": "basalt_sql_statement_duration_seconds",
                "kv": "basalt_kv_request_duration_seconds",
                "pd": "basalt_pd_request_duration_seconds",
            }[p["role"]]
            counts = [s.value for s in families[own].samples if s.name.endswith("_count")]
            print(p["name"], own, sum(counts))
            if p["role"] != "kv":
                assert sum(counts) > 0, (p["name"], own)
            # The heap and the threads of every role, not just the SQL node.
            code, body = get(p["status"], "/debug/pprof/heap")
            assert code == 200, (p["name"], body[:300])
            check_heap_profile(body, busy=False)
            code, body = get(p["status"], "/debug/stacks")
            assert code == 200, (p["name"], body[:300])
            check_stacks(body.decode())
        # The SQL node's view of each region matches PD's, with the tables
        # whose keys it holds.
        sql_status = next(p["status"] for p in cluster.manifest["processes"] if p["role"] == "sql")
        regions = cluster.ctl("region", "list")
        framed = set()
        for r in regions:
            code, body = get(sql_status, f"/regions/{r['id']}")
            assert code == 200, body
            seen = json.loads(body)
            assert (seen["region_id"], seen["leader_store_id"]) == (r["id"], r["leader_store_id"]), (seen, r)
            assert sorted(p["store_id"] for p in seen["peers"]) == sorted(p["store_id"] for p in r["peers"])
            framed |= {(f["db_name"], f["table_name"]) for f in seen["frames"]}
        assert ("m", "t") in framed, framed
        served_names = set()
        for p in cluster.manifest["processes"]:
            served_names |= set(metrics(p["status"]))
        dashboard = json.loads((REPO_ROOT / "deploy" / "grafana" / "basalt.json").read_text())
        queried = {
            re.sub(r"_(bucket|count|sum|total)$", "", name)
            for panel in dashboard["panels"]
            for target in panel.get("targets", [])
            for name in re.findall(r"\b(?:basalt|process)_\w+", target["expr"])
        }
        assert len(queried) > 20
        assert queried <= served_names, f"the dashboard queries metrics no role serves: {queried - served_names}"
        stores = [p for p in cluster.manifest["processes"] if p["role"] == "kv"]
        served = sum(
            s.value
            for p in stores
            for s in metrics(p["status"])["basalt_kv_request_duration_seconds"].samples
            if s.name.endswith("_count")
        )
        assert served > 0, "no store counted a request"
        # `basalt ctl` piped into a reader that is gone ends quietly.
        errors = tmp_path / "ctl.err"
        subprocess.run(f"'{basalt_binary()}' ctl --pd {cluster.manifest['pd']} store list 2>'{errors}' | true",
                       shell=True, timeout=30)
        assert "panicked" not in errors.read_text(), errors.read_text()
    finally:
        cluster.stop()
