"""SQLAlchemy 1.4 ORM contender (Debian's python3-sqlalchemy, run with /usr/bin/python3;
psycopg2 on PostgreSQL): the ORM workloads of bench/README.md with SQLAlchemy's own idioms
(add_all, Query.all, Session.get, yield_per, selectinload/joinedload).
usage: sqlalchemy_orm.py BACKEND URL WORKLOADS SIZES ROWS
WORKLOADS/SIZES: one workload and its size, or comma lists of them (as athanor_orm.lua);
prints one "RESULT workload=W seconds=S check=C maxrss_kb=K" line each."""
import resource
import sys
import time

from sqlalchemy import Column, Float, ForeignKey, Integer, Text, create_engine, event, text
from sqlalchemy.orm import declarative_base, joinedload, relationship, selectinload, sessionmaker
from sqlalchemy.pool import QueuePool

backend, url, workloads, sizes = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(",")
rows = int(sys.argv[5]) if len(sys.argv) > 5 else 100000

if backend == "sqlite":
    # 1.4 gives a file database a NullPool (a new connection, and the
    # pragmas, for every session); QueuePool, 2.0's default, keeps one open
    # as athanor's pool does, so the ORM is what is measured
    engine = create_engine("sqlite:///" + url, poolclass=QueuePool)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()
else:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))

Base = declarative_base()


class BenchWrite(Base):
    __tablename__ = "bench_write"
    id = Column(Integer, primary_key=True)
    name = Column(Text)
    age = Column(Integer)
    score = Column(Float)


class BenchRead(Base):
    __tablename__ = "bench_read"
    id = Column(Integer, primary_key=True)
    name = Column(Text)
    age = Column(Integer)
    score = Column(Float)


class BenchStream(Base):
    __tablename__ = "bench_stream"
    id = Column(Integer, primary_key=True)
    name = Column(Text)
    age = Column(Integer)
    score = Column(Float)


class Parent(Base):
    __tablename__ = "bench_parent"
    id = Column(Integer, primary_key=True)
    name = Column(Text)
    children = relationship("Child")


class Child(Base):
    __tablename__ = "bench_child"
    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, ForeignKey("bench_parent.id"))
    age = Column(Integer)


Session = sessionmaker(bind=engine)


def keys():
    seed = 42
    while True:
        seed = seed * 48271 % 2147483647
        yield seed % rows + 1


def recreate_write_table():
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.execute(text("DROP TABLE IF EXISTS bench_write"))
        auto.execute(text("CREATE TABLE bench_write (id integer primary key, name text, age integer, score real)"))


def count_written():
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM bench_write")).scalar()


def ow1(n):
    recreate_write_table()
    s = Session()
    t0 = time.monotonic()
    s.add_all([BenchWrite(id=i, name="name%d" % i, age=i % 100, score=i * 0.5) for i in range(1, n + 1)])
    s.commit()
    t1 = time.monotonic()
    s.close()
    return t1 - t0, count_written()


def ow2(n):
    recreate_write_table()
    s = Session()
    t0 = time.monotonic()
    for i in range(1, n + 1):
        s.add(BenchWrite(id=i, name="name%d" % i, age=i % 100, score=i * 0.5))
        s.commit()
    t1 = time.monotonic()
    s.close()
    return t1 - t0, count_written()


def ow3(_n):
    s = Session()
    t0 = time.monotonic()
    check = sum(o.age for o in s.query(BenchRead).all())
    t1 = time.monotonic()
    s.close()
    return t1 - t0, check


def ow4(n):
    """A fresh session per get: every get is an identity-map miss and a SELECT."""
    key, check = keys(), 0
    t0 = time.monotonic()
    for _ in range(n):
        with Session() as s:
            check += s.get(BenchRead, next(key)).age
    return time.monotonic() - t0, check


def ow4id(n):
    """One session, 10 passes over the first n/10 keys of OW4's sequence."""
    key, check = keys(), 0
    ks = [next(key) for _ in range(n // 10)]
    s = Session()
    held = {}  # the identity map is weak: objects nobody holds are gone (CPython frees them at once)
    t0 = time.monotonic()
    for _ in range(10):
        for k in ks:
            obj = s.get(BenchRead, k)
            held[k] = obj
            check += obj.age
    t1 = time.monotonic()
    s.close()
    return t1 - t0, check


def ow5(_n):
    s, check = Session(), 0
    t0 = time.monotonic()
    for _obj in s.query(BenchStream).yield_per(1000):
        check += 1
    t1 = time.monotonic()
    s.close()
    return t1 - t0, check


def relationship_load(loader):
    def load(n):
        s, check = Session(), 0
        t0 = time.monotonic()
        parents = s.query(Parent).options(loader(Parent.children)).all()
        for p in parents:
            for c in p.children:
                check += c.age
        t1 = time.monotonic()
        assert len(parents) == n, "expected %d parents, got %d" % (n, len(parents))
        s.close()
        return t1 - t0, check
    return load


RUN = {"OW1": ow1, "OW2": ow2, "OW3": ow3, "OW4": ow4, "OW4id": ow4id, "OW5": ow5,
       "OW6sel": relationship_load(selectinload), "OW6join": relationship_load(joinedload)}

for workload, size in zip(workloads, sizes):
    if workload not in RUN:
        raise SystemExit("unknown workload " + workload)
    seconds, check = RUN[workload](int(size))
    print("RESULT workload=%s seconds=%.6f check=%d maxrss_kb=%d" %
          (workload, seconds, check, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss), flush=True)
