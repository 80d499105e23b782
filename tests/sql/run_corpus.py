#!/usr/bin/env python3
"""Run the SQL corpus (tests/sql/corpus/*.test) against a MySQL-protocol server.

Usage:
    run_corpus.py [--host H] [--port P] [--user U] [--password PW]
                  [--deviations tests/sql/DEVIATIONS.md] [--regenerate]
                  [--corpus-dir DIR] [--timeout S] [-v] [FILE ...]

FILE is a corpus file name with or without ".test" (e.g. `dml`) or a path;
without any, every *.test in the corpus directory runs, in name order.
The last line printed is `N passed, M failed` (records, not files); the exit
code is 1 if anything failed, 2 on a usage error.

File format (one record per paragraph; blank lines separate records):

    # a comment (only outside records)

    statement ok                  the statement must succeed (any result set is drained)
    CREATE TABLE t (a INT)

    statement count 3             must succeed with 3 affected rows
    INSERT INTO t VALUES (1), (2), (3)

    error 1062                    must fail with MySQL error code 1062
    INSERT INTO t VALUES (1)      (`statement error 1062` is the same; `error 1292,1366`
                                   accepts either code)

    query [rowsort] [colnames] [columns=1,3] [label=NAME]
    SELECT a, b FROM t ORDER BY a
    ----
    1	x
    2	NULL

    connection NAME               switch to connection NAME (opened on first use, as
                                  the same user, in the current database of the
                                  connection in use); `connection default` switches back

A statement may span several lines; it ends at a blank line (statements) or at
`----` (queries). Expected rows follow `----`, one per line, columns separated by
one TAB, exactly as the server's text protocol sends them: NULL as `NULL`, the
empty string as `(empty)`, strings that are not valid UTF-8 as `0x` + upper-case
hex, and in strings `\\` `\t` `\n` `\r` `\0` and other control characters as
`\\xNN`. A query with no `----` expects no rows.

Query options: `rowsort` sorts actual and expected rows before comparing (for
queries whose order is unspecified on purpose); `colnames` adds a first line with
the column names; `columns=1,3` keeps only those columns (1-based; e.g. SHOW
WARNINGS with columns=1,2 compares Level and Code and not the message text,
which differs between servers); `label=NAME` names the record for DEVIATIONS.md
(records can always be named by the line number of their header).

Only error CODES are compared, never message texts.

--regenerate rewrites expected rows, `statement count N` and error codes in
place from the server it runs against (used against MariaDB, see mariadb.sh).
A `statement ok` or `query` that fails, or an `error` record that succeeds, is
reported and left as it is.

--deviations FILE: Markdown; every list item that starts with `file.test:ID`
(in backquotes or not; ID a line number or a label) marks that record as a
deliberate difference: a mismatch there is reported as a deviation, not counted
as a failure.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import pymysql
    import pymysql.err
except ImportError:  # pragma: no cover
    print("run_corpus.py needs pymysql: pip install pymysql", file=sys.stderr)
    sys.exit(2)

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE / "corpus"

# Client-side codes meaning the connection is gone: the rest of the file fails.
CONNECTION_LOST = {2006, 2013, 2014, 2055, 2003, 2002}


class FormatError(Exception):
    pass


@dataclass
class Record:
    kind: str  # "statement", "query", "connection"
    line: int  # 1-based line of the header
    header: str
    sql_lines: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    has_separator: bool = False
    # statement: mode "ok" | "count" | "error"
    mode: str = "ok"
    count: int | None = None
    codes: list[int] = field(default_factory=list)
    # query options
    rowsort: bool = False
    colnames: bool = False
    columns: list[int] | None = None
    label: str | None = None
    conn_name: str | None = None

    @property
    def sql(self) -> str:
        return "\n".join(self.sql_lines)

    def ids(self) -> list[str]:
        out = [str(self.line)]
        if self.label:
            out.append(self.label)
        return out


# A parsed file is a list of chunks: raw text lines (kept verbatim) and records.
Chunk = "str | Record"


def parse_header(line: str, lineno: int) -> Record:
    words = line.split()
    head = words[0]
    if head == "connection":
        if len(words) != 2:
            raise FormatError(f"line {lineno}: `connection NAME` expected")
        return Record(kind="connection", line=lineno, header=line, conn_name=words[1])
    if head in ("statement", "error"):
        rec = Record(kind="statement", line=lineno, header=line)
        rest = words[1:]
        if head == "error":
            rest = ["error"] + rest
        if not rest:
            raise FormatError(f"line {lineno}: `statement ok|count N|error N` expected")
        opts = []
        if rest[0] == "ok":
            rec.mode = "ok"
            opts = rest[1:]
        elif rest[0] == "count":
            if len(rest) < 2 or not rest[1].isdigit():
                raise FormatError(f"line {lineno}: `statement count N` expected")
            rec.mode, rec.count, opts = "count", int(rest[1]), rest[2:]
        elif rest[0] == "error":
            if len(rest) < 2:
                raise FormatError(f"line {lineno}: error code expected")
            try:
                rec.codes = [int(c) for c in rest[1].split(",")]
            except ValueError:
                raise FormatError(f"line {lineno}: bad error code {rest[1]!r}") from None
            rec.mode, opts = "error", rest[2:]
        else:
            raise FormatError(f"line {lineno}: unknown statement mode {rest[0]!r}")
        for o in opts:
            if o.startswith("label="):
                rec.label = o[6:]
            else:
                raise FormatError(f"line {lineno}: unknown option {o!r}")
        return rec
    if head == "query":
        rec = Record(kind="query", line=lineno, header=line)
        for o in words[1:]:
            if o == "rowsort":
                rec.rowsort = True
            elif o == "colnames":
                rec.colnames = True
            elif o.startswith("columns="):
                try:
                    rec.columns = [int(c) for c in o[8:].split(",")]
                except ValueError:
                    raise FormatError(f"line {lineno}: bad {o!r}") from None
                if any(c < 1 for c in rec.columns):
                    raise FormatError(f"line {lineno}: columns are 1-based")
            elif o.startswith("label="):
                rec.label = o[6:]
            else:
                raise FormatError(f"line {lineno}: unknown query option {o!r}")
        return rec
    raise FormatError(f"line {lineno}: expected a record header, got {line!r}")


def parse_file(text: str) -> list:
    lines = text.split("\n")
    trailing_newline = text.endswith("\n")
    if trailing_newline:
        lines = lines[:-1]
    chunks: list = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if stripped == "" or stripped.startswith("#"):
            chunks.append(line)
            i += 1
            continue
        rec = parse_header(stripped, i + 1)
        i += 1
        if rec.kind == "connection":
            chunks.append(rec)
            continue
        # SQL lines
        while i < n and lines[i].strip() != "" and not (rec.kind == "query" and lines[i] == "----"):
            rec.sql_lines.append(lines[i])
            i += 1
        if not rec.sql_lines:
            raise FormatError(f"line {rec.line}: record without SQL")
        if rec.kind == "query" and i < n and lines[i] == "----":
            rec.has_separator = True
            i += 1
            while i < n and lines[i] != "":
                rec.expected.append(lines[i])
                i += 1
        chunks.append(rec)
    return chunks


def serialize(chunks: list) -> str:
    out: list[str] = []
    for c in chunks:
        if isinstance(c, str):
            out.append(c)
            continue
        out.append(c.header)
        if c.kind == "connection":
            continue
        out.extend(c.sql_lines)
        if c.kind == "query":
            out.append("----")
            out.extend(c.expected)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- rendering

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"}


def render_value(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, (bytes, bytearray)):
        try:
            s = bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + bytes(v).hex().upper()
    else:
        s = str(v)
    if s == "":
        return "(empty)"
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def render_rows(rec: Record, description, rows) -> list[str]:
    cols = rec.columns

    def pick(seq):
        seq = list(seq)
        if cols is None:
            return seq
        return [seq[c - 1] if c - 1 < len(seq) else "<no column %d>" % c for c in cols]

    out = []
    for row in rows:
        out.append("\t".join(render_value(v) for v in pick(row)))
    if rec.rowsort:
        out.sort()
    if rec.colnames:
        names = [render_value(d[0]) for d in (description or [])]
        out.insert(0, "\t".join(pick(names)))
    return out


# ---------------------------------------------------------------- deviations


def load_deviations(path: Path) -> dict[tuple[str, str], str]:
    devs: dict[tuple[str, str], str] = {}
    # A list item (indented at most 3 spaces: 4 make a code block), outside ``` fences.
    item = re.compile(r"^ {0,3}[-*]\s+`?([\w.\-/]+\.test):([\w\-]+)`?\s*[:\u2014\-]*\s*(.*)$")
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else item.match(line)
        if m:
            devs[(Path(m.group(1)).name, m.group(2))] = m.group(3).strip()
    return devs


# ---------------------------------------------------------------- running


def load_known_failures(path: Path) -> set[tuple[str, str]]:
    """`file.test:LINE` per line (`#` starts a comment): records Basalt is
    known not to pass yet. They are the open work list, not deviations: a
    listed record that fails is not counted, and one that passes is reported
    as a failure until it is removed, so the list only ever shrinks."""
    known = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, rid = line.partition(":")
            known.add((name, rid))
    return known


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    deviations: int = 0
    known: int = 0
    failing_ids: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    changed: bool = False


class Runner:
    def __init__(self, args):
        self.args = args

    def connect(self, database: str | None = None):
        return pymysql.connect(
            host=self.args.host,
            port=self.args.port,
            user=self.args.user,
            password=self.args.password,
            database=database,
            charset="utf8mb4",
            use_unicode=False,  # raw bytes: we render values ourselves
            conv={},  # no type conversion: exactly the text the server sent
            autocommit=True,
            client_flag=0,  # no CLIENT_FOUND_ROWS: affected rows = changed rows
            connect_timeout=self.args.timeout,
            read_timeout=self.args.timeout,
            write_timeout=self.args.timeout,
        )

    @staticmethod
    def current_db(conn) -> str | None:
        with conn.cursor() as cur:
            cur.execute("SELECT DATABASE()")
            v = cur.fetchone()[0]
        return v.decode() if isinstance(v, bytes) else v

    def run_file(self, path: Path, deviations: dict, known: set | None = None) -> Outcome:
        known = known or set()
        res = Outcome()
        name = path.name
        text = path.read_text(encoding="utf-8")
        try:
            chunks = parse_file(text)
        except FormatError as e:
            res.failed += 1
            res.messages.append(f"{name}: format error: {e}")
            return res
        records = [c for c in chunks if isinstance(c, Record) and c.kind != "connection"]
        conns: dict[str, object] = {}
        current = "default"
        try:
            conns["default"] = self.connect()
        except pymysql.err.MySQLError as e:
            res.failed += len(records)
            res.messages.append(f"{name}: cannot connect: {e}")
            return res

        lost = False
        for c in chunks:
            if not isinstance(c, Record):
                continue
            if lost:
                if c.kind != "connection":
                    res.failed += 1
                continue
            if c.kind == "connection":
                if c.conn_name not in conns:
                    try:
                        db = self.current_db(conns[current])
                        conns[c.conn_name] = self.connect(db)
                    except pymysql.err.MySQLError as e:
                        res.messages.append(f"{name}:{c.line}: cannot open connection {c.conn_name}: {e}")
                        lost = True
                        continue
                current = c.conn_name
                continue
            conn = conns[current]
            ok, msg, conn_lost = self.run_record(conn, c)
            if self.args.verbose:
                print(f"  {name}:{c.line} {'ok' if ok else 'MISMATCH'}", flush=True)
            if c.kind == "query" or c.mode in ("count", "error"):
                res.changed = res.changed or getattr(c, "_changed", False)
            is_known = (name, str(c.line)) in known
            if ok and is_known:
                res.failed += 1
                res.messages.append(f"FIXED {name}:{c.line} passes now: remove it from the known-failures list")
            elif ok:
                res.passed += 1
                dev = self.find_deviation(deviations, name, c)
                if dev is not None and self.args.verbose and not self.args.regenerate:
                    res.messages.append(f"note: {name}:{c.line} is listed in deviations but passes ({dev})")
            else:
                dev = self.find_deviation(deviations, name, c)
                if dev is not None and not self.args.regenerate:
                    res.deviations += 1
                    res.messages.append(f"DEVIATION {name}:{c.line} ({dev})\n" + msg)
                elif is_known:
                    res.known += 1
                    res.failing_ids.append(f"{name}:{c.line}")
                    if self.args.verbose:
                        res.messages.append(f"KNOWN {name}:{c.line}\n" + msg)
                else:
                    res.failed += 1
                    res.failing_ids.append(f"{name}:{c.line}")
                    res.messages.append(f"MISMATCH {name}:{c.line}\n" + msg)
            if conn_lost:
                lost = True
                res.messages.append(f"{name}:{c.line}: connection lost; remaining records of {name} count as failed")
        for conn in conns.values():
            try:
                conn.close()
            except Exception:
                pass
        if self.args.regenerate and res.changed:
            new_text = serialize(chunks)
            if new_text != text:
                path.write_text(new_text, encoding="utf-8")
        return res

    @staticmethod
    def find_deviation(deviations, name, rec):
        for i in rec.ids():
            if (name, i) in deviations:
                return deviations[(name, i)]
        return None

    def run_record(self, conn, rec: Record):
        """Returns (ok, message, connection_lost)."""
        sql = rec.sql
        regen = self.args.regenerate
        rec._changed = False
        try:
            with conn.cursor() as cur:
                affected = cur.execute(sql)
                description = cur.description
                rows = cur.fetchall() if description else ()
                while cur.nextset():
                    pass
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args and isinstance(e.args[0], int) else -1
            text = e.args[1] if len(e.args) > 1 else str(e)
            lost = code in CONNECTION_LOST
            if rec.kind == "statement" and rec.mode == "error":
                if code in rec.codes:
                    return True, "", lost
                if regen and not lost:
                    old = rec.header
                    rec.header = re.sub(r"\berror \S+", f"error {code}", rec.header, count=1)
                    rec.codes = [code]
                    rec._changed = True
                    print(f"  regenerate: {old!r} -> {rec.header!r} at line {rec.line}", flush=True)
                    return True, "", lost
                return False, self.describe(rec, f"expected error {','.join(map(str, rec.codes))}, got error {code}: {text}"), lost
            return False, self.describe(rec, f"unexpected error {code}: {text}"), lost
        except (OSError, pymysql.err.Error) as e:  # socket errors etc.
            return False, self.describe(rec, f"client error: {e!r}"), True

        if rec.kind == "statement":
            if rec.mode == "error":
                return False, self.describe(rec, f"expected error {','.join(map(str, rec.codes))}, but the statement succeeded"), False
            if rec.mode == "count" and affected != rec.count:
                if regen:
                    rec.header = re.sub(r"\bcount \d+", f"count {affected}", rec.header, count=1)
                    rec.count = affected
                    rec._changed = True
                    return True, "", False
                return False, self.describe(rec, f"expected {rec.count} affected rows, got {affected}"), False
            return True, "", False

        actual = render_rows(rec, description, rows)
        expected = list(rec.expected)
        if rec.rowsort:
            if rec.colnames and expected:
                expected = expected[:1] + sorted(expected[1:])
            else:
                expected = sorted(expected)
        if actual == expected and rec.has_separator:
            return True, "", False
        if regen:
            rec.expected = actual
            rec.has_separator = True
            rec._changed = True
            return True, "", False
        if actual == expected:
            return True, "", False
        diff = difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=3)
        return False, self.describe(rec, "\n".join(diff)), False

    @staticmethod
    def describe(rec: Record, what: str) -> str:
        sql = "\n".join("    " + l for l in rec.sql_lines)
        return f"  {rec.header}\n{sql}\n" + "\n".join("  " + l for l in what.splitlines())


def resolve_files(corpus_dir: Path, names: list[str]) -> list[Path]:
    if not names:
        files = sorted(corpus_dir.glob("*.test"))
        if not files:
            raise SystemExit(f"run_corpus.py: no *.test files in {corpus_dir}")
        return files
    out = []
    for n in names:
        p = Path(n)
        if p.is_file():
            out.append(p)
            continue
        cand = corpus_dir / (n if n.endswith(".test") else n + ".test")
        if not cand.is_file():
            raise SystemExit(f"run_corpus.py: no such corpus file: {n}")
        out.append(cand)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="corpus files (name, name.test or path); default: all")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=4000)
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", default="")
    ap.add_argument("--corpus-dir", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--deviations", type=Path, help="Markdown file of deliberate differences")
    ap.add_argument("--regenerate", action="store_true", help="rewrite expectations from this server")
    ap.add_argument("--known-failures", type=Path, help="records known not to pass yet (file.test:LINE per line)")
    ap.add_argument("--write-known-failures", type=Path, help="write the records that fail to this file")
    ap.add_argument("--timeout", type=int, default=60, help="connect/read timeout per statement, seconds")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    files = resolve_files(args.corpus_dir, args.files)
    deviations = load_deviations(args.deviations) if args.deviations else {}
    known = load_known_failures(args.known_failures) if args.known_failures else set()
    runner = Runner(args)
    failing: list[str] = []
    total = Outcome()
    files_failed = 0
    t0 = time.monotonic()
    for path in files:
        t = time.monotonic()
        res = runner.run_file(path, deviations, known)
        failing.extend(res.failing_ids)
        took = time.monotonic() - t
        n = res.passed + res.failed + res.deviations
        status = "PASS" if res.failed == 0 else "FAIL"
        extra = f", {res.deviations} deviations" if res.deviations else ""
        if res.failed:
            files_failed += 1
            print(f"{status} {path.name}: {res.failed} of {n} records failed{extra} ({took:.1f}s)", flush=True)
        else:
            verb = "regenerated" if args.regenerate and res.changed else "ok"
            print(f"{status} {path.name}: {n} records {verb}{extra} ({took:.1f}s)", flush=True)
        for m in res.messages:
            print(m, flush=True)
        total.passed += res.passed
        total.failed += res.failed
        total.deviations += res.deviations
        total.known += res.known
    if args.write_known_failures:
        header = ("# Corpus records Basalt does not pass yet: the open work list of the SQL issue.\n"
                  "# Regenerate with: run_corpus.py --write-known-failures tests/sql/KNOWN_FAILURES.txt\n")
        args.write_known_failures.write_text(header + "".join(f"{f}\n" for f in failing), encoding="utf-8")
    print(f"files: {len(files) - files_failed} passed, {files_failed} failed; "
          f"records: {total.deviations} deviations and {total.known} known failures not counted; "
          f"{time.monotonic() - t0:.1f}s")
    print(f"{total.passed} passed, {total.failed} failed")
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main())
