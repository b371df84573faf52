"""SQLAlchemy 1.4 Core contender (Debian's python3-sqlalchemy, run with /usr/bin/python3).
usage: sqlalchemy_core.py BACKEND URL WORKLOAD N ROWS"""
import resource
import sys
import time

from sqlalchemy import (Column, Float, Integer, MetaData, Table, Text, create_engine, event,
                        select, text)

backend, url, workload, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = int(sys.argv[5]) if len(sys.argv) > 5 else 100000

if backend == "sqlite":
    engine = create_engine("sqlite:///" + url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()
else:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))

md = MetaData()
bench_read = Table("bench_read", md, Column("id", Integer, primary_key=True), Column("name", Text),
                   Column("age", Integer), Column("score", Float))
bench_write = Table("bench_write", md, Column("id", Integer, primary_key=True), Column("name", Text),
                    Column("age", Integer), Column("score", Float))
INSERT = text("INSERT INTO bench_write (id, name, age, score) VALUES (:id, :name, :age, :score)")


def keys():
    seed = 42
    while True:
        seed = seed * 48271 % 2147483647
        yield seed % rows + 1


check = 0
with engine.connect() as conn:
    if workload in ("W1", "W2"):
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.execute(text("DROP TABLE IF EXISTS bench_write"))
        auto.execute(text("CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)"))
        t0 = time.monotonic()
        if workload == "W1":
            params = [{"id": i, "name": "name%d" % i, "age": i % 100, "score": i * 0.5} for i in range(1, n + 1)]
            with conn.begin():
                # insert() rather than text(): SQLAlchemy's batched executemany
                # (psycopg2 execute_values) applies to Core insert constructs
                conn.execute(bench_write.insert(), params)
        else:
            for i in range(1, n + 1):
                auto.execute(INSERT, {"id": i, "name": "name%d" % i, "age": i % 100, "score": i * 0.5})
        t1 = time.monotonic()
        check = auto.execute(text("SELECT count(*) FROM bench_write")).scalar()
    elif workload == "W3":
        t0 = time.monotonic()
        all_rows = conn.execute(text("SELECT id, name, age, score FROM bench_read")).all()
        check = sum(r.age for r in all_rows)
        t1 = time.monotonic()
    elif workload in ("W4", "W4tx"):
        key = keys()
        t0 = time.monotonic()
        c = conn if workload == "W4tx" else conn.execution_options(isolation_level="AUTOCOMMIT")
        tx = conn.begin() if workload == "W4tx" else None
        for _ in range(n):
            row = c.execute(select(bench_read).where(bench_read.c.id == next(key))).one()
            check += row.age
        if tx is not None:
            tx.commit()
        t1 = time.monotonic()
    elif workload == "W5":
        t0 = time.monotonic()
        result = conn.execution_options(stream_results=True).execute(
            text("SELECT id, name, age, score FROM bench_stream"))
        for _row in result:
            check += 1
        t1 = time.monotonic()
    else:
        raise SystemExit("unknown workload " + workload)

print("RESULT seconds=%.6f check=%d maxrss_kb=%d" % (t1 - t0, check, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
