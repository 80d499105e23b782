#!/usr/bin/env python3
"""A seeded random differential tester for joins: Basalt against a reference
(MariaDB 10.11, tests/sql/mariadb.sh).

    python3 tests/sqlgen.py --basalt 127.0.0.1:14000 --reference 127.0.0.1:13306 \
        --seed 1 --queries 500 [--tables T] [--time-limit SEC] [--start I]

It (re)creates the database `sqlgen` on both servers with 3-10 random tables
t0..tN (`id INT PRIMARY KEY` plus 2-4 columns of INT, BIGINT, DECIMAL(8,2),
VARCHAR(10) utf8mb4_general_ci or utf8mb4_bin, DATE; some secondary keys;
0-60 rows; values from small domains so joins match; ~15% NULLs), then runs
random queries on both servers and compares the results:

- joins of 2-6 tables, written with JOIN ... ON (INNER / LEFT / RIGHT, some
  USING (id)) or with commas and the conditions in WHERE; equalities between
  columns of different tables, same-type and mixed-type (INT = VARCHAR,
  DECIMAL = INT, ...), single-table predicates (=, <, <>, IN, NOT IN, IS
  [NOT] NULL, BETWEEN, LIKE), ORs across tables, constant-false conditions,
  IN / NOT IN (SELECT ...), [NOT] EXISTS (correlated SELECT ...);
- select lists of qualified columns or COUNT(*); DISTINCT; GROUP BY with
  COUNT / SUM / MIN / MAX (and HAVING); ORDER BY every selected column with
  LIMIT; UNION [ALL].

Results are compared as multisets of rows (sorted), or in order when the
query orders by every selected column and has a LIMIT. Every value becomes a
string (NULL a marker). Where the right answer has a legitimate choice -
which of 'a' / 'A' / 'a ' a DISTINCT, GROUP BY, UNION, MIN/MAX or a tie in
ORDER BY ... LIMIT returns under a case-insensitive / PAD SPACE collation -
strings are compared lower-cased and without trailing spaces.

Every query i is generated from its own RNG seeded with (seed, i), and the
tables from (seed, round) where round = i // --rebuild-every, so
`--start I --queries 1` reproduces query I alone (with the same tables).

Outcome per query: equal; both failed (errors-both, fine); a result larger
than --max-rows on the reference (skipped-large, not run on Basalt); a
difference (mismatch: different rows, or exactly one server failed, or Basalt
did not answer within --read-timeout). Exit status 1 when any mismatch is not
explained by KNOWN_DIFFERENCES.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import random
import re
import sys
import time

import pymysql

DB = "sqlgen"

# Known differences of the reference that are not Basalt bugs: (name, rewrite).
# A mismatch is `known` when rewrite(sql) differs from sql and the reference's
# answer to rewrite(sql) - the same question put so that the reference's bug
# does not fire - equals Basalt's. Each entry says why.
_LIT = r"'(?:[^']|'')*'|-?[\w.]+"


def _no_propagated_fraction(sql: str) -> str:
    # MariaDB 10.11 bug (MySQL 8.0 is right): a multiple equality holding a
    # non-integral constant and an INT column, e.g.
    #   WHERE a0.c0 = 2.5 AND a0.c0 = a1.id   (or ... = '2.5', or ON a1.c0 = a0.id AND a0.id = '2.5')
    # substitutes the constant rounded to the INT column's type (3), so rows
    # with c0 = 3 match. Made non-constant (+ 0 * RAND()), it is compared as
    # a number again and nothing is propagated.
    sql = re.sub(r"(?<![\w.'])(2\.50|9\.99)(?![\w.])", r"(\1 + 0 * RAND())", sql)
    return sql.replace("'2.5'", "CONCAT('2.5', LEFT(RAND(), 0))")


def _between_as_range(sql: str) -> str:
    # MariaDB 10.11 bug (MySQL 8.0 is right): `c BETWEEN 'A' AND 'a'` on an
    # indexed utf8mb4_bin VARCHAR finds no row through the index (the same
    # condition as c >= 'A' AND c <= 'a', or with IGNORE INDEX, finds 'a').
    return re.sub(rf"([\w.]+) BETWEEN ({_LIT}) AND ({_LIT})", r"(\1 >= \2 AND \1 <= \3)", sql)


def _null_safe_kept_apart(sql: str) -> str:
    # MariaDB 10.11 bug (MySQL 8.0 is right): `x = y AND x <=> y` lets the
    # pairs where both are NULL through (its equality propagation merges
    # the two into a NULL-safe one). Compared through RAND(), the <=> is
    # not merged and `=` rejects NULL again.
    return re.sub(r"([\w.]+) <=> ([\w.]+)", r"((\1 <=> \2) = 1 + 0 * RAND())", sql)


def _subquery_not_looked_up(sql: str) -> str:
    # MariaDB 10.11 bug (MySQL 8.0 is right): `str_col [NOT] IN (SELECT
    # int_col ...)` looked up through the subquery column's index converts
    # the strings differently from its own comparison, so IN and NOT IN
    # leave a row out of both (13 + 3 of 20 rows, 3 of them NULL). A column
    # read through IF(RAND() < 2, c, NULL), the same value and type, is
    # compared row by row.
    return re.sub(r"\(SELECT (s\.\w+) FROM", r"(SELECT IF(RAND() < 2, \1, NULL) FROM", sql)


KNOWN_DIFFERENCES: list[tuple[str, object]] = [
    ("mariadb-index-lookup-in-subquery", _subquery_not_looked_up),
    ("mariadb-rounds-propagated-fraction", _no_propagated_fraction),
    ("mariadb-bin-index-between", _between_as_range),
    ("mariadb-merges-eq-and-null-safe-eq", _null_safe_kept_apart),
]

# ---------------------------------------------------------------------------
# Value domains: small, so that equalities between tables match.

INTS = list(range(10))
DECS = ["0.00", "1.00", "2.00", "2.50", "3.00", "9.99"]
# Case variants, trailing spaces, digits (for INT = VARCHAR), the empty string.
STRS = ["a", "A", "b", "b ", "c", "1", "01", "2", "2.5", ""]
DATES = ["2023-12-31", "2024-01-01", "2024-02-29"]
NULL_RATE = 0.15

TYPES = ["INT", "BIGINT", "DECIMAL(8,2)", "VARCHAR(10)", "DATE"]
CLASS = {"INT": "int", "BIGINT": "int", "DECIMAL(8,2)": "dec", "VARCHAR(10)": "str", "DATE": "date"}


def q(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def literal(cls: str, r: random.Random) -> str:
    if cls == "int":
        return str(r.choice(INTS))
    if cls == "dec":
        return r.choice(DECS)
    if cls == "str":
        return q(r.choice(STRS))
    return q(r.choice(DATES))


# ---------------------------------------------------------------------------
# Schema


class Column:
    def __init__(self, name: str, typ: str, collate: str | None = None):
        self.name, self.typ, self.collate = name, typ, collate
        self.cls = CLASS[typ]


class Table:
    def __init__(self, name: str, cols: list[Column], keys: list[list[str]], rows: list[list[str]]):
        self.name, self.cols, self.keys, self.rows = name, cols, keys, rows

    def ddl(self) -> str:
        parts = ["id INT PRIMARY KEY"]
        for c in self.cols[1:]:
            parts.append(f"{c.name} {c.typ}" + (f" COLLATE {c.collate}" if c.collate else ""))
        for i, k in enumerate(self.keys):
            parts.append(f"KEY k{i} ({', '.join(k)})")
        return f"CREATE TABLE {self.name} ({', '.join(parts)}) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"

    def inserts(self) -> list[str]:
        out = []
        for i in range(0, len(self.rows), 100):
            chunk = self.rows[i:i + 100]
            out.append(f"INSERT INTO {self.name} VALUES " + ", ".join("(" + ", ".join(r) + ")" for r in chunk))
        return out


def make_schema(seed: int, rnd: int, ntables: int | None) -> list[Table]:
    r = random.Random(f"sqlgen:{seed}:schema:{rnd}")
    n = ntables if ntables else r.randint(3, 10)
    tables = []
    for t in range(n):
        cols = [Column("id", "INT")]
        for j in range(r.randint(2, 4)):
            typ = r.choice(TYPES)
            coll = "utf8mb4_bin" if typ == "VARCHAR(10)" and r.random() < 0.3 else None
            cols.append(Column(f"c{j}", typ, coll))
        keys = []
        if r.random() < 0.5:
            keys.append([r.choice(cols[1:]).name])
        if r.random() < 0.2:
            a, b = r.sample(cols[1:], 2)
            keys.append([a.name, b.name])
        nrows = r.choice([0, 1, 3, 5, 8, 10, 12, 15, 20, 20, 30, 30, 40, 60])
        ids = sorted(r.sample(range(max(10, nrows * 2)), nrows))
        rows = []
        for i in ids:
            row = [str(i)]
            for c in cols[1:]:
                row.append("NULL" if r.random() < NULL_RATE else literal(c.cls, r))
            rows.append(row)
        tables.append(Table(f"t{t}", cols, keys, rows))
    return tables


def schema_sql(tables: list[Table]) -> list[str]:
    stmts = [f"DROP DATABASE IF EXISTS {DB}",
             f"CREATE DATABASE {DB} DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
             f"USE {DB}"]
    for t in tables:
        stmts.append(t.ddl())
        stmts.extend(t.inserts())
    return stmts


# ---------------------------------------------------------------------------
# Queries


class Ref:
    """A column of a table in the FROM clause: alias.col."""

    def __init__(self, alias: str, col: Column):
        self.alias, self.col = alias, col

    def __str__(self):
        return f"{self.alias}.{self.col.name}"

    @property
    def cls(self):
        return self.col.cls


class Query:
    def __init__(self, sql: str, ordered: bool, fuzzy: bool):
        # ordered: compare rows in order (ORDER BY every column + LIMIT);
        # fuzzy: strings compared lower-cased, trailing spaces stripped.
        self.sql, self.ordered, self.fuzzy = sql, ordered, fuzzy


# Constructs --avoid can switch off (to look past a mismatch already found).
FEATURES = ["not-in-subquery", "in-subquery", "exists", "outer", "using", "mixed-types",
            "null-safe", "or", "const-false", "group", "distinct", "order-limit", "union", "like"]


class Gen:
    def __init__(self, tables: list[Table], r: random.Random, avoid: frozenset = frozenset()):
        self.tables, self.r, self.avoid = tables, r, avoid

    # -- conditions ---------------------------------------------------------

    def refs(self, alias: str, table: Table) -> list[Ref]:
        return [Ref(alias, c) for c in table.cols]

    def pred(self, ref: Ref) -> str:
        """A single-column predicate."""
        r, cls = self.r, ref.cls
        k = r.random()
        if k < 0.08:
            return f"{ref} IS NULL"
        if k < 0.14:
            return f"{ref} IS NOT NULL"
        if k < 0.19 and r.random() < 0.5 and "mixed-types" not in self.avoid:
            # mixed-type literal: INT column against a string, VARCHAR against a number
            if cls in ("int", "dec"):
                return f"{ref} = {q(r.choice(STRS))}"
            if cls == "str":
                return f"{ref} = {r.choice(INTS)}"
        if k < 0.40:
            return f"{ref} = {literal(cls, r)}"
        if k < 0.52:
            return f"{ref} {r.choice(['<', '<=', '>', '>=', '<>'])} {literal(cls, r)}"
        if k < 0.67:
            vals = ", ".join(literal(cls, r) for _ in range(r.randint(1, 4)))
            return f"{ref} {'NOT ' if r.random() < 0.25 else ''}IN ({vals})"
        if k < 0.80:
            a, b = sorted([literal(cls, r), literal(cls, r)], key=lambda s: s)
            if cls == "int":
                a, b = sorted([int(a), int(b)])
            elif cls == "dec":
                a, b = sorted([a, b], key=decimal.Decimal)
            return f"{ref} BETWEEN {a} AND {b}"
        if cls == "str" and k < 0.92 and "like" not in self.avoid:
            pat = r.choice(["a%", "A%", "b%", "%b", "b_", "_", "%", "1%", "%1", "c", "b\\_"])
            return f"{ref} {'NOT ' if r.random() < 0.2 else ''}LIKE {q(pat)}"
        return f"{ref} = {literal(cls, r)}"

    def eq(self, a: Ref, b: Ref) -> str:
        op = "<=>" if self.r.random() < 0.05 and "null-safe" not in self.avoid else "="
        return f"{a} {op} {b}"

    def join_cond(self, new: list[Ref], old: list[Ref]) -> str:
        """An equality between a column of the new table and one of an earlier table."""
        r = self.r
        for _ in range(20):
            a, b = r.choice(new), r.choice(old)
            same = a.cls == b.cls
            if a.cls == "date" or b.cls == "date":
                if same:
                    return self.eq(a, b)
                continue
            if same or (r.random() < 0.35 and "mixed-types" not in self.avoid):
                return self.eq(a, b) if r.random() < 0.5 else self.eq(b, a)
        return self.eq(new[0], old[0])  # id = id

    def const_false(self) -> str:
        return self.r.choice(["1 = 0", "FALSE", "0", "NULL", "1 IN (2, 3)"])

    def subquery_cond(self, outer: list[Ref]) -> str:
        r = self.r
        t = r.choice(self.tables)
        inner = self.refs("s", t)
        o = r.choice([x for x in outer if x.cls != "date"] or outer)
        # same class, else (sometimes) a mixed number/string one; never DATE against a non-DATE
        # (MariaDB and MySQL compare those differently), falling back to id.
        cands = [x for x in inner if x.cls == o.cls]
        if not cands or (r.random() < 0.25 and "mixed-types" not in self.avoid):
            cands = [x for x in inner if (x.cls == "date") == (o.cls == "date")] or cands
        if not cands:
            o, cands = r.choice([x for x in outer if x.col.name == "id"]), [inner[0]]
        i = r.choice(cands)
        where = ""
        if r.random() < 0.5:
            where = " WHERE " + self.pred(r.choice(inner))
        kinds = [k for k in ("in-subquery", "not-in-subquery", "exists") if k not in self.avoid]
        if not kinds:
            return "1 = 1"
        kind = r.choice(kinds)
        if kind != "exists":
            neg = "NOT " if kind == "not-in-subquery" else ""
            return f"{o} {neg}IN (SELECT {i} FROM {t.name} AS s{where})"
        neg = "NOT " if r.random() < 0.3 else ""
        extra = f" AND {self.pred(r.choice(inner))}" if r.random() < 0.4 else ""
        return f"{neg}EXISTS (SELECT 1 FROM {t.name} AS s WHERE {i} = {o}{extra})"

    # -- FROM ... WHERE -----------------------------------------------------

    def from_where(self, ntab: int, allow_outer: bool = True):
        """FROM and WHERE text of a join of ntab tables, and the column refs
        in scope, plus which aliases may be NULL-extended."""
        r = self.r
        chosen = []
        for _ in range(ntab):
            if chosen and r.random() < 0.15:
                chosen.append(r.choice(chosen))  # self-join
            else:
                chosen.append(r.choice(self.tables))
        aliases = [f"a{i}" for i in range(ntab)]
        refs = [self.refs(a, t) for a, t in zip(aliases, chosen)]
        comma = r.random() < 0.4
        where: list[str] = []
        if comma:
            parts = [f"{t.name} AS {a}" for a, t in zip(aliases, chosen)]
            order = list(range(1, ntab))
            for i in order:
                old = [x for j in range(i) for x in refs[j]]
                where.append(self.join_cond(refs[i], old))
                if r.random() < 0.15:
                    where.append(self.join_cond(refs[i], old))
            from_sql = ", ".join(parts)
        else:
            from_sql = f"{chosen[0].name} AS {aliases[0]}"
            for i in range(1, ntab):
                old = [x for j in range(i) for x in refs[j]]
                kind = "JOIN"
                if allow_outer and "outer" not in self.avoid:
                    k = r.random()
                    kind = "LEFT JOIN" if k < 0.25 else "RIGHT JOIN" if k < 0.35 else \
                        r.choice(["JOIN", "INNER JOIN", "JOIN"])
                if kind in ("JOIN", "INNER JOIN") and i == 1 and r.random() < 0.1 and "using" not in self.avoid:
                    from_sql += f" {kind} {chosen[i].name} AS {aliases[i]} USING (id)"
                    continue
                if kind in ("JOIN", "INNER JOIN") and r.random() < 0.05 and len(chosen[i].rows) <= 10:
                    from_sql += f" CROSS JOIN {chosen[i].name} AS {aliases[i]}"
                    continue
                on = [self.join_cond(refs[i], old)]
                if r.random() < 0.15:
                    on.append(self.join_cond(refs[i], old))
                if r.random() < 0.2:
                    on.append(self.pred(r.choice(refs[i])))
                if r.random() < 0.15:
                    on.append(self.pred(r.choice(old)))  # on the other side: must not filter preserved rows
                if r.random() < 0.03 and "const-false" not in self.avoid:
                    on.append(self.const_false())
                from_sql += f" {kind} {chosen[i].name} AS {aliases[i]} ON " + " AND ".join(on)
        flat = [x for rs in refs for x in rs]
        for _ in range(r.choice([0, 0, 0, 1, 1, 2] if ntab <= 3 else [0, 0, 1])):
            where.append(self.pred(r.choice(flat)))
        if ntab >= 2 and r.random() < 0.15 and "or" not in self.avoid:
            a, b = r.sample(range(ntab), 2)
            where.append(f"({self.pred(r.choice(refs[a]))} OR {self.pred(r.choice(refs[b]))})")
        if r.random() < 0.05 and "or" not in self.avoid:
            where.append(f"({self.pred(r.choice(flat))} OR {self.join_cond(refs[-1], refs[0])})")
        if r.random() < 0.04 and "const-false" not in self.avoid:
            where.append(self.const_false())
        if r.random() < 0.15:
            where.append(self.subquery_cond(flat))
        r.shuffle(where)
        sql = f" FROM {from_sql}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, flat

    # -- whole queries ------------------------------------------------------

    def ntables(self) -> int:
        return self.r.choice([2, 2, 2, 3, 3, 3, 4, 4, 5, 6])

    def query(self) -> Query:
        k = self.r.random()
        if k < 0.10 and "union" not in self.avoid:
            return self.union()
        if 0.10 <= k < 0.30 and "group" not in self.avoid:
            return self.grouped()
        if k < 0.40:
            return self.count()
        return self.plain()

    def order_limit(self, n_cols: int, exprs: list[str] | None = None) -> str:
        r = self.r
        keys = list(exprs) if exprs and r.random() < 0.6 else [str(i + 1) for i in range(n_cols)]
        r.shuffle(keys)
        keys = [k + (" DESC" if r.random() < 0.3 else "") for k in keys]
        lim = r.choice([1, 2, 3, 5, 10, 20])
        off = f" OFFSET {r.choice([1, 2, 5])}" if r.random() < 0.2 else ""
        return f" ORDER BY {', '.join(keys)} LIMIT {lim}{off}"

    def plain(self) -> Query:
        r = self.r
        fw, flat = self.from_where(self.ntables())
        cols = [str(x) for x in r.sample(flat, min(len(flat), r.randint(1, 4)))]
        distinct = r.random() < 0.2 and "distinct" not in self.avoid
        sql = f"SELECT {'DISTINCT ' if distinct else ''}{', '.join(cols)}{fw}"
        ordered = r.random() < 0.25 and "order-limit" not in self.avoid
        if ordered:
            sql += self.order_limit(len(cols), cols)
        return Query(sql, ordered, distinct or ordered)

    def count(self) -> Query:
        fw, _ = self.from_where(self.ntables())
        return Query(f"SELECT COUNT(*){fw}", False, False)

    def grouped(self) -> Query:
        r = self.r
        fw, flat = self.from_where(r.choice([2, 2, 3, 3, 4]))
        gcols = [str(x) for x in r.sample(flat, r.choice([0, 1, 1, 2]))]
        aggs = []
        for _ in range(r.randint(1, 3)):
            x = r.choice(flat)
            k = r.random()
            if k < 0.3:
                aggs.append("COUNT(*)")
            elif k < 0.45:
                aggs.append(f"COUNT({x})")
            elif k < 0.55:
                aggs.append(f"COUNT(DISTINCT {x})")
            elif k < 0.8 and x.cls in ("int", "dec"):
                aggs.append(f"SUM({x})")
            else:
                aggs.append(f"{r.choice(['MIN', 'MAX'])}({x})")
        sel = gcols + aggs
        sql = f"SELECT {', '.join(sel)}{fw}"
        if gcols:
            sql += f" GROUP BY {', '.join(gcols)}"
            if r.random() < 0.2:
                sql += f" HAVING COUNT(*) {r.choice(['>', '>=', '='])} {r.choice([1, 2, 3])}"
        ordered = bool(gcols) and r.random() < 0.3 and "order-limit" not in self.avoid
        if ordered:
            sql += self.order_limit(len(sel), sel)
        return Query(sql, ordered, True)

    def union(self) -> Query:
        r = self.r
        fw1, flat1 = self.from_where(r.choice([1, 2, 2, 3]))
        fw2, flat2 = self.from_where(r.choice([1, 2, 2, 3]))
        n = r.choice([1, 1, 2])
        s1, s2 = [], []
        for _ in range(n):
            a = r.choice(flat1)
            same = [x for x in flat2 if x.cls == a.cls]
            if not same:
                a = r.choice([x for x in flat1 if x.col.name == "id"])
                same = [x for x in flat2 if x.col.name == "id"]
            s1.append(str(a))
            s2.append(str(r.choice(same)))
        all_ = r.random() < 0.4
        sql = f"SELECT {', '.join(s1)}{fw1} UNION {'ALL ' if all_ else ''}SELECT {', '.join(s2)}{fw2}"
        ordered = r.random() < 0.3 and "order-limit" not in self.avoid
        if ordered:
            sql += self.order_limit(n)
        return Query(sql, ordered, True)


# ---------------------------------------------------------------------------
# Running and comparing

NULL = "\x00NULL"


def norm_value(v, fuzzy: bool) -> str:
    if v is None:
        return NULL
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, str):
        return v.lower().rstrip(" ") if fuzzy else v
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    return str(v)


def norm_rows(rows, query: Query) -> list[tuple]:
    out = [tuple(norm_value(v, query.fuzzy) for v in row) for row in rows]
    return out if query.ordered else sorted(out)


class Server:
    def __init__(self, spec: str, name: str, read_timeout: float, user: str, password: str):
        host, _, port = spec.rpartition(":")
        self.host, self.port, self.name = host or "127.0.0.1", int(port), name
        self.read_timeout, self.user, self.password = read_timeout, user, password
        self.conn = None

    def connect(self, db: str | None = DB, timeout: float | None = None):
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               database=db, charset="utf8mb4", autocommit=True, connect_timeout=10,
                               read_timeout=timeout or self.read_timeout, write_timeout=60)

    def setup(self, stmts: list[str]) -> None:
        self.close()
        c = self.connect(db=None, timeout=120)
        try:
            with c.cursor() as cur:
                for s in stmts:
                    cur.execute(s)
        finally:
            c.close()
        self.conn = self.connect()

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None

    def run(self, sql: str):
        """('ok', rows) or ('error', (errno, message)) or ('timeout', None)."""
        if self.conn is None:
            self.conn = self.connect()
        tid = self.conn.thread_id()
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                return "ok", cur.fetchall()
        except pymysql.err.OperationalError as e:
            code = e.args[0] if e.args else 0
            if code in (2006, 2013, 2014, 2055):  # lost connection: timeout or crash
                self.conn = None
                self._kill(tid)
                if isinstance(e.__context__, TimeoutError) or "timed out" in str(e):
                    return "timeout", None
                return "error", (code, str(e.args[1:] and e.args[1] or e))
            return "error", (code, e.args[1] if len(e.args) > 1 else str(e))
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args else 0
            return "error", (code, e.args[1] if len(e.args) > 1 else str(e))

    def _kill(self, tid: int) -> None:
        """Stop the statement our lost connection was running (ours only)."""
        try:
            c = self.connect(db=None, timeout=10)
            with c.cursor() as cur:
                cur.execute(f"KILL {int(tid)}")
            c.close()
        except Exception:  # noqa: BLE001
            pass


def trunc(s: str, n: int = 600) -> str:
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def show(outcome) -> str:
    kind, val = outcome
    if kind == "ok":
        return trunc(f"{len(val)} rows: {val!r}")
    if kind == "error":
        return f"ERROR {val[0]}: {val[1]}"
    return "TIMEOUT"


def known(query: Query, b, ref: "Server") -> str | None:
    """The KNOWN_DIFFERENCES entry explaining Basalt's answer b, if any."""
    if b[0] != "ok":
        return None
    for name, rewrite in KNOWN_DIFFERENCES:
        sql = rewrite(query.sql)
        if sql == query.sql:
            continue
        again = ref.run(sql)
        if again[0] == "ok" and norm_rows(again[1], query) == norm_rows(b[1], query):
            return name
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--basalt", default="127.0.0.1:14000", help="host:port of Basalt")
    ap.add_argument("--reference", default="127.0.0.1:13306", help="host:port of the reference (MariaDB)")
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", default="")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--start", type=int, default=0, help="index of the first query (to reproduce one)")
    ap.add_argument("--tables", type=int, default=None, help="number of tables (default random 3..10)")
    ap.add_argument("--rebuild-every", type=int, default=1000, help="new random tables every N queries")
    ap.add_argument("--time-limit", type=float, default=None, help="stop after SEC seconds")
    ap.add_argument("--read-timeout", type=float, default=20.0, help="per-query timeout, seconds")
    ap.add_argument("--max-rows", type=int, default=5000,
                    help="skip queries whose reference result is larger")
    ap.add_argument("--show", type=int, default=25, help="print at most N mismatches")
    ap.add_argument("--print-schema", action="store_true", help="print the DDL and data of each round")
    ap.add_argument("--avoid", default="", help="comma-separated constructs not to generate: " + ", ".join(FEATURES))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every query")
    args = ap.parse_args(argv)
    if args.tables is not None and not 1 <= args.tables <= 30:
        ap.error("--tables must be between 1 and 30")
    avoid = frozenset(x for x in args.avoid.split(",") if x)
    if avoid - set(FEATURES):
        ap.error(f"unknown --avoid {', '.join(sorted(avoid - set(FEATURES)))}; known: {', '.join(FEATURES)}")

    basalt = Server(args.basalt, "basalt", args.read_timeout, args.user, args.password)
    ref = Server(args.reference, "reference", args.read_timeout, args.user, args.password)
    t0 = time.monotonic()
    counts = dict(queries=0, mismatches=0, errors_both=0, skipped_large=0, timeouts=0, known=0, nonempty=0)
    shown = 0
    current_round = None
    tables: list[Table] = []
    for i in range(args.start, args.start + args.queries):
        if args.time_limit is not None and time.monotonic() - t0 > args.time_limit:
            print(f"time limit {args.time_limit:.0f}s reached after {counts['queries']} queries")
            break
        rnd = i // args.rebuild_every
        if rnd != current_round:
            tables = make_schema(args.seed, rnd, args.tables)
            stmts = schema_sql(tables)
            if args.print_schema:
                print(f"-- schema seed {args.seed} round {rnd}")
                print(";\n".join(stmts) + ";")
            ref.setup(stmts)
            basalt.setup(stmts)
            current_round = rnd
        query = Gen(tables, random.Random(f"sqlgen:{args.seed}:query:{i}"), avoid).query()
        if args.verbose:
            print(f"[{i}] {query.sql}")
        r_out = ref.run(query.sql)
        counts["queries"] += 1
        if r_out[0] == "ok" and r_out[1] and any(v not in (None, 0) for v in r_out[1][0]):
            counts["nonempty"] += 1  # a row that is not just COUNT(*) = 0 / NULLs
        if r_out[0] == "ok" and len(r_out[1]) > args.max_rows:
            counts["skipped_large"] += 1
            continue
        b_out = basalt.run(query.sql)
        if b_out[0] == "timeout":
            counts["timeouts"] += 1
        if r_out[0] != "ok" and b_out[0] != "ok":
            if r_out[0] == "error" and b_out[0] == "error":
                counts["errors_both"] += 1
                continue
        elif r_out[0] == "ok" and b_out[0] == "ok":
            if norm_rows(b_out[1], query) == norm_rows(r_out[1], query):
                continue
        why = known(query, b_out, ref)
        if why:
            counts["known"] += 1
            continue
        counts["mismatches"] += 1
        if shown < args.show:
            shown += 1
            print(f"--- mismatch: seed {args.seed} query {i} (round {rnd}; reproduce with "
                  f"--seed {args.seed} --start {i} --queries 1"
                  + (f" --tables {args.tables}" if args.tables else "")
                  + (f" --rebuild-every {args.rebuild_every}" if args.rebuild_every != 1000 else "")
                  + (f" --avoid {args.avoid}" if args.avoid else "") + ")")
            print(f"SQL: {query.sql}")
            print(f"  basalt:    {show(b_out)}")
            print(f"  reference: {show(r_out)}")
    elapsed = time.monotonic() - t0
    basalt.close()
    ref.close()
    c = counts
    print(f"queries {c['queries']}, mismatches {c['mismatches']}, errors-both {c['errors_both']}, "
          f"skipped-large {c['skipped_large']}, timeouts {c['timeouts']}, known {c['known']}, "
          f"non-empty results {c['nonempty']}, "
          f"seed {args.seed}, {elapsed:.1f}s ({c['queries'] / max(elapsed, 1e-9):.1f} queries/s)")
    return 1 if c["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
