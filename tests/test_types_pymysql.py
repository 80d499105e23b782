"""Round trip of every column type through pymysql (text protocol).

pymysql has no server-side prepared statements: parameters are escaped on the
client and sent as SQL text (COM_QUERY), and results come back in the text
protocol, converted to Python values by pymysql. So this checks that Basalt
parses every literal form pymysql produces (escaped strings, _binary'...',
'YYYY-MM-DD HH:MM:SS.ffffff', signed TIME, Decimal, float repr) and renders
every type the way pymysql decodes back to an equal Python value.

Uses the shared `basalt_server` fixture (tests/conftest.py); skipped without a
basalt binary. Run it against MariaDB with BASALT_TEST_SERVER=127.0.0.1:13306
(see tests/sql/mariadb.sh).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

pymysql = pytest.importorskip("pymysql")

D = Decimal
TD = dt.timedelta

DEC65_MAX = D("99999999999999999999999999999999999.999999999999999999999999999999")
DEC65_MIN = D("-99999999999999999999999999999999999.999999999999999999999999999999")  # not -DEC65_MAX:
# unary minus rounds to the context precision (28 digits)
DEC65_TINY = D("0.000000000000000000000000000001")

# (name, column definition, values that must come back equal); NULL is always added.
TYPES = [
    ("tinyint", "TINYINT", [-128, 127, 0, -1]),
    ("tinyint_u", "TINYINT UNSIGNED", [0, 255, 1]),
    ("smallint", "SMALLINT", [-32768, 32767, 0]),
    ("smallint_u", "SMALLINT UNSIGNED", [0, 65535]),
    ("mediumint", "MEDIUMINT", [-8388608, 8388607, 0]),
    ("mediumint_u", "MEDIUMINT UNSIGNED", [0, 16777215]),
    ("int", "INT", [-2147483648, 2147483647, 0, 42]),
    ("int_u", "INT UNSIGNED", [0, 4294967295]),
    ("bigint", "BIGINT", [-9223372036854775808, 9223372036854775807, 0, -1]),
    ("bigint_u", "BIGINT UNSIGNED", [0, 18446744073709551615, 9223372036854775808]),
    ("bool", "BOOLEAN", [0, 1]),
    ("decimal_65_30", "DECIMAL(65,30)", [DEC65_MAX, DEC65_MIN, DEC65_TINY, D("-0.000000000000000000000000000001"), D("0"), D("1.5")]),
    ("decimal_65_0", "DECIMAL(65,0)", [D("9" * 65), D("-" + "9" * 65), D("0")]),
    ("decimal_10_2", "DECIMAL(10,2)", [D("12345678.90"), D("-0.01"), D("0.00")]),
    ("decimal_u", "DECIMAL(5,2) UNSIGNED", [D("999.99"), D("0.00")]),
    # FLOAT keeps ~6 significant digits on the text protocol: values with at most 6 round-trip.
    ("float", "FLOAT", [1.5, -0.375, 3.14159, 1e38, -1e-30, 0.0, 123456.0]),
    ("double", "DOUBLE", [1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308,
                          5e-324, 0.1, 1 / 3, -123456789.12345679, 0.0, 1e15, 1e16, 9007199254740993.0]),
    ("char", "CHAR(20)", ["", "abc", "😀 emoji", "Ünïcödé"]),
    ("varchar", "VARCHAR(200)", ["", "plain", "emoji 😀🎉🐬", "quote ' dq \" bs \\ end",
                                 "line\nbreak\ttab\rcr", "nul\x00inside", "日本語", "%s %% ?", "\x1a ctrl-z"]),
    ("tinytext", "TINYTEXT", ["", "x" * 255]),
    ("text", "TEXT", ["é" * 1000, "a\\b"]),
    ("mediumtext", "MEDIUMTEXT", ["😀" * 50000]),
    ("longtext", "LONGTEXT", ["long " * 100000]),
    ("binary", "BINARY(4)", [b"\x00\x01\x02\x03", b"\xff\xfe\xfd\xfc", b"abcd"]),
    ("varbinary", "VARBINARY(16)", [b"", b"\x00", b"\x00\xff\x00", b"'\\\"", bytes([0x80, 0x81])]),
    ("tinyblob", "TINYBLOB", [b"", bytes(range(255))]),
    ("blob", "BLOB", [bytes(range(256)), b"\x00\x00\x00", b"\\0\\n"]),
    ("mediumblob", "MEDIUMBLOB", [bytes(i % 256 for i in range(200_000))]),
    ("longblob", "LONGBLOB", [bytes((i * 7) % 256 for i in range(1 << 20))]),
    ("date", "DATE", [dt.date(1000, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29), dt.date(1970, 1, 1)]),
    ("datetime", "DATETIME", [dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(1000, 1, 1, 0, 0, 0),
                              dt.datetime(9999, 12, 31, 23, 59, 59)]),
    ("datetime6", "DATETIME(6)", [dt.datetime(2024, 2, 29, 13, 14, 15, 123456), dt.datetime(1000, 1, 1),
                                  dt.datetime(9999, 12, 31, 23, 59, 59, 999999), dt.datetime(2000, 1, 1, 0, 0, 0, 1)]),
    ("timestamp6", "TIMESTAMP(6) NULL", [dt.datetime(1970, 1, 1, 0, 0, 1), dt.datetime(2038, 1, 19, 3, 14, 7, 999999),
                                         dt.datetime(2024, 6, 30, 12, 0, 0, 500000)]),
    ("time", "TIME", [TD(0), TD(hours=-5), TD(hours=838, minutes=59, seconds=59),
                      -TD(hours=838, minutes=59, seconds=59), TD(days=1, hours=2)]),
    ("time6", "TIME(6)", [TD(microseconds=1), -TD(hours=1, minutes=30, seconds=15, microseconds=500000),
                          TD(hours=12, minutes=34, seconds=56, microseconds=789012), -TD(microseconds=999999),
                          TD(hours=838, minutes=59, seconds=59), -TD(hours=838, minutes=59, seconds=59)]),
    ("year", "YEAR", [1901, 2155, 2024, 2000]),
    ("enum", "ENUM('small','medium','large')", ["small", "large"]),
    ("set", "SET('a','b','c')", ["", "a", "a,c", "a,b,c"]),
    ("json", "JSON", ['{"a": 1, "b": [true, null, "x"], "nested": {"k": "😀"}}', "[]", '"str"', "42"]),
]

# Types whose values can be found again with `WHERE v = %s` using the same Python value.
NO_LOOKUP = {"float", "json"}


@pytest.fixture(scope="module")
def db(basalt_server):
    name = f"pytest_types_{os.getpid()}"
    conn = basalt_server.connect()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
        cur.execute(f"USE {name}")
        cur.execute("SET time_zone = '+00:00'")
    try:
        yield conn
    finally:
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {name}")
        finally:
            conn.close()


def normalise(name, v):
    if v is None:
        return None
    if name == "json":
        return json.loads(v)
    if name == "set" and isinstance(v, (set, frozenset)):
        return ",".join(sorted(v))
    return v


@pytest.mark.parametrize("name,coldef,values", TYPES, ids=[t[0] for t in TYPES])
def test_round_trip(db, name, coldef, values):
    table = f"rt_{name}"
    rows = list(enumerate(values + [None], start=1))
    with db.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, v {coldef})")
        assert cur.executemany(f"INSERT INTO {table} (id, v) VALUES (%s, %s)", rows) == len(rows)
        cur.execute(f"SELECT id, v FROM {table} ORDER BY id")
        got = cur.fetchall()
    assert len(got) == len(rows)
    for (id_, want), (gid, gv) in zip(rows, got):
        assert gid == id_
        assert normalise(name, gv) == normalise(name, want), f"{name} row {id_}: sent {want!r}, got {gv!r}"
        if name in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob") and gv is not None:
            assert isinstance(gv, bytes), f"{name}: expected bytes, got {type(gv)}"
        if name in ("char", "varchar", "text", "tinytext", "mediumtext", "longtext") and gv is not None:
            assert isinstance(gv, str), f"{name}: expected str, got {type(gv)}"

    if name not in NO_LOOKUP:
        with db.cursor() as cur:
            for id_, want in rows:
                if want is None:
                    cur.execute(f"SELECT id FROM {table} WHERE v IS NULL")
                else:
                    cur.execute(f"SELECT id FROM {table} WHERE v = %s ORDER BY id", (want,))
                ids = [r[0] for r in cur.fetchall()]
                assert id_ in ids, f"{name}: WHERE v = {want!r} did not find row {id_} (found {ids})"


def test_wide_table(db):
    """One column per type: a row of first values, a row of second values, a row of NULLs."""
    cols = [(name, coldef) for name, coldef, _ in TYPES]
    ddl = ", ".join(f"c_{name} {coldef}" for name, coldef in cols)
    names = ", ".join(f"c_{name}" for name, _ in cols)
    marks = ", ".join(["%s"] * len(cols))
    first = [vals[0] for _, _, vals in TYPES]
    second = [vals[1] if len(vals) > 1 else vals[0] for _, _, vals in TYPES]
    nulls = [None] * len(cols)
    with db.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS wide")
        cur.execute(f"CREATE TABLE wide (id INT PRIMARY KEY, {ddl})")
        for i, row in enumerate((first, second, nulls), start=1):
            cur.execute(f"INSERT INTO wide (id, {names}) VALUES (%s, {marks})", [i, *row])
        cur.execute(f"SELECT {names} FROM wide ORDER BY id")
        got = cur.fetchall()
        assert [d[0] for d in cur.description] == [f"c_{n}" for n, _ in cols]
    for row_no, (want_row, got_row) in enumerate(zip((first, second, nulls), got), start=1):
        for (name, _), want, gv in zip(cols, want_row, got_row):
            assert normalise(name, gv) == normalise(name, want), f"row {row_no} {name}: sent {want!r}, got {gv!r}"


def test_parameter_literals_in_select(db):
    """Values sent as parameters of a SELECT come back as the same Python values."""
    values = [
        None, 0, -1, 18446744073709551615, -9223372036854775808, 1.5, D("-12.340"),
        "😀 'quoted' \\ \x00", b"\x00\xff", dt.date(2024, 2, 29),
        dt.datetime(2024, 2, 29, 1, 2, 3, 4), -TD(hours=1, minutes=2, seconds=3, microseconds=4),
    ]
    with db.cursor() as cur:
        cur.execute("SELECT " + ", ".join(["%s"] * len(values)), values)
        got = cur.fetchone()
    assert got[0] is None
    assert list(got[1:5]) == values[1:5]
    assert got[5] == 1.5
    assert got[6] == D("-12.340")
    assert got[7] == values[7]
    assert got[8] == values[8]
    # Literals of temporal values are strings in SQL: they come back as strings.
    assert got[9] == "2024-02-29"
    assert got[10] == "2024-02-29 01:02:03.000004"
    assert got[11] == "-01:02:03.000004"
