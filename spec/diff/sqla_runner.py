#!/usr/bin/python3
"""The SQLAlchemy side of the differential spec (spec/core/differential_spec.lua).

    /usr/bin/python3 spec/diff/sqla_runner.py URL < cases.json > results.json

URL is an athanor URL (sqlite:////abs/file.db, postgresql://user:pass@host:port/db,
a percent-encoded socket directory as the host, or ?host=/dir). The input is a
JSON array of {"name", "py", "dml"}: "py" is a SQLAlchemy 1.4 Core statement,
written as one Python expression, or as statements that assign `stmt` (and
optionally `params`, the parameters to execute it with (a list of dicts is an
executemany), and `after`, a select run after a DML statement in the same
transaction).
The names in scope are the schema below (d, e, o: the same tables as
spec/diff/schema.lua) and the usual sqlalchemy names.

Every case runs in its own transaction, rolled back, so DML leaves the fixture
alone. The output is one JSON object {name: {"rows": [[cell, ...], ...]} or
{"error": "..."}}; a cell is {"t": Lua type, "v": value} with API.md §2's
mapping: int -> integer, float -> number, Decimal -> its exact text with its
scale, str -> string, bytes -> string (hex in "x"), bool -> boolean,
None -> nil, date/datetime/time -> ISO text, dict/list (JSON) -> table.
"""
import datetime
import decimal
import json
import sys
import urllib.parse

try:
    import sqlalchemy as sa
    from sqlalchemy import (  # noqa: F401  (the names the snippets use)
        JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey,
        Integer, LargeBinary, MetaData, Numeric, String, Table, Text, Time,
        and_, asc, between, bindparam, case, cast, desc, distinct, except_,
        exists, extract, false, func, intersect, literal, literal_column, not_,
        null, nulls_first, nulls_last, or_, select, text, true, tuple_, union,
        union_all, update, insert, delete, over, type_coerce,
    )
except ImportError as exc:  # the spec turns this into a loud failure
    sys.stdout.write(json.dumps({"__fatal__": "SQLAlchemy is not importable: %s" % exc}))
    sys.exit(3)

if not sa.__version__.startswith("1.4"):
    sys.stderr.write("warning: the reference is SQLAlchemy 1.4, this is %s\n" % sa.__version__)

# The schema, once more in SQLAlchemy's words: it must match spec/diff/schema.lua.
metadata = MetaData()
d = Table(
    "diff_departments", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(30), nullable=False),
    Column("budget", Numeric(10, 2)),
    Column("parent_id", Integer, ForeignKey("diff_departments.id")),
)
e = Table(
    "diff_employees", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("dept_id", Integer, ForeignKey("diff_departments.id")),
    Column("salary", Float),
    Column("bonus", Numeric(10, 2)),
    Column("active", Boolean),
    Column("hired", Date),
    Column("last_login", DateTime),
    Column("notes", Text),
    Column("photo", LargeBinary),
    Column("prefs", JSON),
    Column("mentor_id", Integer),
)
o = Table(
    "diff_orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("employee_id", Integer, ForeignKey("diff_employees.id")),
    Column("total_cents", Integer),
    Column("placed", DateTime),
    Column("status", String(20)),
)


def engine_for(url):
    """An SQLAlchemy engine on the database an athanor URL names."""
    if url.startswith("sqlite:"):
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise SystemExit("sqla_runner: an in-memory SQLite URL cannot be shared: %s" % url)
        return sa.create_engine("sqlite:///" + path)
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    host = urllib.parse.unquote(parts.hostname or "") if parts.hostname else None
    # urlsplit lower-cases the host; a socket directory keeps its case.
    netloc = parts.netloc.rsplit("@", 1)[-1]
    hostpart = netloc.rsplit(":", 1)[0] if netloc.count(":") else netloc
    if hostpart:
        host = urllib.parse.unquote(hostpart)
    if host and host.startswith("/"):
        query["host"] = host
        host = None
    return sa.create_engine(sa.engine.URL.create(
        "postgresql+psycopg2",
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        host=host or None,
        port=parts.port,
        database=urllib.parse.unquote(parts.path.lstrip("/")) or None,
        query=query,
    ))


def enable_sqlite_returning():
    """SQLAlchemy 1.4's SQLite dialect predates RETURNING (SQLite 3.35, used
    by SQLAlchemy 2.0); spell it as the PostgreSQL compiler does, so
    insert/update/delete ... RETURNING has a reference on SQLite too."""
    from sqlalchemy.dialects.postgresql.base import PGCompiler
    from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
    SQLiteCompiler.returning_clause = PGCompiler.returning_clause


def cell(value):
    if value is None:
        return {"t": "nil"}
    if isinstance(value, bool):
        return {"t": "boolean", "v": value}
    if isinstance(value, int):
        return {"t": "integer", "v": str(value)}
    if isinstance(value, float):
        return {"t": "number", "v": repr(value)}
    if isinstance(value, decimal.Decimal):
        return {"t": "string", "v": format(value, "f"), "decimal": True}
    if isinstance(value, str):
        return {"t": "string", "v": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"t": "string", "x": bytes(value).hex()}
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return {"t": "string", "v": str(value)}
    if isinstance(value, (dict, list)):
        return {"t": "table", "v": value}
    return {"t": "unknown:" + type(value).__name__, "v": repr(value)}


def rows_of(result):
    if not result.returns_rows:
        return [[cell(result.rowcount)]]
    return [[cell(v) for v in row] for row in result]


def run_case(conn, case):
    scope = dict(globals())
    scope["conn"] = conn
    src = case["py"]
    if "stmt =" in src or "stmt=" in src:
        exec(src, scope)  # noqa: S102 (the spec's own snippets)
    else:
        scope["stmt"] = eval(src, scope)  # noqa: S307
    trans = conn.begin()
    try:
        params = scope.get("params")
        result = conn.execute(scope["stmt"], params) if params is not None else conn.execute(scope["stmt"])
        rows = rows_of(result)
        if scope.get("after") is not None:
            rows += rows_of(conn.execute(scope["after"]))
        return {"rows": rows}
    finally:
        trans.rollback()


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: sqla_runner.py URL < cases.json")
    cases = json.load(sys.stdin)
    engine = engine_for(sys.argv[1])
    if engine.dialect.name == "sqlite":
        enable_sqlite_returning()
    out = {}
    with engine.connect() as conn:
        for case in cases:
            try:
                out[case["name"]] = run_case(conn, case)
            except Exception as exc:  # noqa: BLE001 (reported per case)
                out[case["name"]] = {"error": "%s: %s" % (type(exc).__name__, exc)}
    engine.dispose()
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()
