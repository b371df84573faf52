#!/usr/bin/python3
"""Run every contender on every workload, in one run, and print ratios.

usage: bench/run.py [--smoke] [--runs N] [--sqlite-only] [--only W3,W4,OW3,...|core|orm]
PostgreSQL comes from ATHANOR_TEST_PG_URL (bench/run.sh provides a throwaway
server through pg_virtualenv when none is given).
Each contender prints "RESULT seconds=... check=... maxrss_kb=..." (or
"NA reason" and exit 3 when it cannot run a workload yet); a wrong or missing
check fails the whole run. The ORM contenders take comma lists of workloads
and sizes and print one "RESULT workload=W ..." line each: the smoke run
starts each of them once per backend, a full run once per workload and run."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
BENCH_BUILD = os.path.join(BUILD, "bench")

FULL = {"W1": 100000, "W2": 10000, "W3": 100000, "W4": 10000, "W4tx": 10000, "W5": 1000000}
SMOKE = {"W1": 200, "W2": 100, "W3": 200, "W4": 100, "W4tx": 100, "W5": 2000}
# The ORM workloads (OW6's size is the number of parents, 10 children each).
ORM_FULL = {"OW1": 100000, "OW2": 10000, "OW3": 100000, "OW4": 10000, "OW4id": 10000, "OW5": 1000000,
            "OW6sel": 10000, "OW6join": 10000}
ORM_SMOKE = {"OW1": 200, "OW2": 100, "OW3": 200, "OW4": 100, "OW4id": 100, "OW5": 2000, "OW6sel": 20, "OW6join": 20}
# "× core" compares an ORM workload with this Core workload (OW4id's 10,000
# gets, mostly identity-map hits, with W4's 10,000 SELECTs).
CORE_OF = {"OW1": "W1", "OW2": "W2", "OW3": "W3", "OW4": "W4", "OW4id": "W4", "OW5": "W5"}


def lua_env(flavor):
    env = dict(os.environ)
    env["LUA_PATH"] = "%s/lua/?.lua;%s/lua/?/init.lua;%s/?.lua;%s/?/init.lua;;" % (ROOT, ROOT, ROOT, ROOT)
    env["LUA_CPATH"] = "%s/%s/?.so;;" % (BUILD, flavor)
    return env


# A contender: (name, command builder(backend, target, workload, n, rows), env, backends)
def contenders():
    lua_dir = os.path.join(ROOT, "bench", "contenders")
    py = "/usr/bin/python3"            # Debian's own python3 with python3-sqlalchemy
    return [
        ("raw C", lambda b, t, w, n, r: [os.path.join(BENCH_BUILD, "raw_sqlite" if b == "sqlite" else "raw_pg"),
                                         t, w, str(n), str(r)], None),
        ("LuaSQL 5.4", lambda b, t, w, n, r: ["lua5.4", os.path.join(lua_dir, "luasql.lua"), b, t, w, str(n), str(r)],
         lua_env("lua54")),
        ("SQLAlchemy Core", lambda b, t, w, n, r: [py, os.path.join(lua_dir, "sqlalchemy_core.py"), b, t, w, str(n), str(r)],
         None),
        ("Lua params 5.4", lambda b, t, w, n, r: ["lua5.4", os.path.join(lua_dir, "lua_params.lua"), b, t, w, str(n),
                                                 str(r)], lua_env("lua54")),
        ("Lua params JIT", lambda b, t, w, n, r: ["luajit", os.path.join(lua_dir, "lua_params.lua"), b, t, w, str(n),
                                                 str(r)], lua_env("luajit")),
        ("athanor text 5.4", lambda b, t, w, n, r: ["lua5.4", os.path.join(lua_dir, "athanor.lua"), b, url_for(b, t), w,
                                                   str(n), str(r), "text"], lua_env("lua54")),
        ("athanor text JIT", lambda b, t, w, n, r: ["luajit", os.path.join(lua_dir, "athanor.lua"), b, url_for(b, t), w,
                                                   str(n), str(r), "text"], lua_env("luajit")),
        ("athanor expr 5.4", lambda b, t, w, n, r: ["lua5.4", os.path.join(lua_dir, "athanor.lua"), b, url_for(b, t), w,
                                                   str(n), str(r), "expr"], lua_env("lua54")),
        ("athanor expr JIT", lambda b, t, w, n, r: ["luajit", os.path.join(lua_dir, "athanor.lua"), b, url_for(b, t), w,
                                                   str(n), str(r), "expr"], lua_env("luajit")),
    ]


REFERENCE = "athanor text 5.4"   # ratios "to athanor" use this column


# An ORM contender: (name, command builder(backend, target, workloads, sizes, rows), env,
# the Core column its "× core" ratio uses, run as its pair in a full run)
def orm_contenders():
    lua_dir = os.path.join(ROOT, "bench", "contenders")
    py = "/usr/bin/python3"

    def athanor(lua):
        return lambda b, t, ws, ns, r: [lua, os.path.join(lua_dir, "athanor_orm.lua"), b, url_for(b, t), ",".join(ws),
                                        ",".join(map(str, ns)), str(r)]
    return [
        ("athanor ORM 5.4", athanor("lua5.4"), lua_env("lua54"), "athanor expr 5.4"),
        ("athanor ORM JIT", athanor("luajit"), lua_env("luajit"), "athanor expr JIT"),
        ("SQLAlchemy ORM", lambda b, t, ws, ns, r: [py, os.path.join(lua_dir, "sqlalchemy_orm.py"), b, t, ",".join(ws),
                                                    ",".join(map(str, ns)), str(r)], None, None),
    ]


ORM_REFERENCES = ("athanor ORM 5.4", "athanor ORM JIT")   # the SQLAlchemy ORM column's ratios


def url_for(backend, target):
    return "sqlite:///" + target if backend == "sqlite" else target


def build_c():
    os.makedirs(BENCH_BUILD, exist_ok=True)
    src = os.path.join(ROOT, "bench", "contenders")
    subprocess.check_call(["gcc", "-O2", "-o", os.path.join(BENCH_BUILD, "raw_sqlite"),
                           os.path.join(src, "raw_sqlite.c"), "-lsqlite3"])
    subprocess.check_call(["gcc", "-O2", "-I/usr/include/postgresql", "-o", os.path.join(BENCH_BUILD, "raw_pg"),
                           os.path.join(src, "raw_pg.c"), "-lpq"])


def run_once(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    out = p.stdout.strip().splitlines()
    last = out[-1] if out else ""
    if p.returncode == 3 and last.startswith("NA"):
        return None, last[3:]
    if p.returncode != 0 or not last.startswith("RESULT"):
        raise RuntimeError("%s failed (exit %d):\n%s\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    fields = dict(kv.split("=") for kv in last.split()[1:])
    return {"seconds": float(fields["seconds"]), "check": int(float(fields["check"])),
            "rss": int(fields["maxrss_kb"])}, None


def run_orm(cmd, env):
    """Every "RESULT workload=W ..." line of one ORM contender process, by workload."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith("RESULT"):
            fields = dict(kv.split("=") for kv in line.split()[1:])
            results[fields["workload"]] = {"seconds": float(fields["seconds"]), "check": int(float(fields["check"])),
                                           "rss": int(fields["maxrss_kb"])}
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s\n%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return results


def orm_expected_check(w, n, rows):
    if w in ("OW1", "OW2"):
        return n
    if w == "OW3":
        return sum(i % 100 for i in range(1, rows + 1))
    if w == "OW4":
        return w4_expected(n, rows)
    if w == "OW4id":
        return 10 * w4_expected(n // 10, rows)
    if w == "OW5":
        return rows * 10
    return sum(i % 100 for i in range(1, n * 10 + 1))   # OW6: every child's age


def orm_objects(w, n, rows):
    """How many objects a workload loads or writes (for the objects/s figure)."""
    return {"OW3": rows, "OW5": rows * 10}.get(w, n * 11 if w.startswith("OW6") else n)


def expected_check(w, n, rows, reference_w4):
    if w in ("W1", "W2"):
        return n
    if w == "W3":
        return sum(i % 100 for i in range(1, rows + 1))
    if w == "W5":
        return rows * 10
    return reference_w4[w]


def w4_expected(n, rows):
    seed, total = 42, 0
    for _ in range(n):
        seed = seed * 48271 % 2147483647
        total += (seed % rows + 1) % 100
    return total


def selected(only, name):
    """--only names workloads (W3, OW3) and/or whole groups ("core", "orm")."""
    if not only:
        return True
    return name in only or ("orm" if name.startswith("OW") else "core") in only


def measure(samples_of, check_of, warmup, runs):
    """Median seconds and peak RSS of runs after warmup; samples_of(i) runs once."""
    samples = []
    for i in range(warmup + runs):
        res = samples_of(i)
        if res is None:
            return None
        check_of(res)
        if i >= warmup:
            samples.append(res)
    return statistics.median(s["seconds"] for s in samples), max(s["rss"] for s in samples)


def run_core(backend, target, sizes, rows, w4, only, warmup, runs):
    table, failures = {}, 0
    for w in FULL:
        if not selected(only, w):
            continue
        n = sizes[w]
        for name, cmd_for, env in contenders():
            cmd = cmd_for(backend, target, w, n, rows)
            state = {}

            def once(_i, cmd=cmd, env=env, state=state):
                res, state["na"] = run_once(cmd, env)
                return res

            def check(res, w=w, n=n, name=name):
                want = expected_check(w, n, rows, w4)
                if res["check"] != want:
                    raise RuntimeError("%s %s %s: check %d, expected %d" % (backend, name, w, res["check"], want))
            try:
                m = measure(once, check, warmup, runs)
            except RuntimeError as e:
                print("FAIL: %s" % e)
                failures += 1
                table[(w, name)] = "FAIL"
                continue
            if m is None:
                table[(w, name)] = "n/a"
                continue
            table[(w, name)] = (m[0], m[1], n if w != "W5" else rows * 10)
    return table, failures


def run_orm_workloads(backend, target, sizes, rows, w4, only, warmup, runs, smoke):
    """The ORM table and its ratios. In a full run each repetition runs every
    ORM contender on the workload back to back, each athanor one followed by
    its Core reference (CORE_OF, "athanor expr" on the same interpreter), and
    a ratio is the median of the ratios of one repetition: measured moments
    apart, so load drifting on a shared machine cancels out. The smoke run
    starts each ORM contender once with every workload, no Core pairs."""
    table, ratios, failures = {}, {}, 0
    workloads = [w for w in ORM_FULL if selected(only, w)]
    if not workloads:
        return table, ratios, failures
    if any(w.startswith("OW6") for w in workloads):
        subprocess.check_call(orm_contenders()[0][1](backend, target, ["setup6"], [sizes["OW6sel"]], rows),
                              env=lua_env("lua54"), stdout=subprocess.DEVNULL)
    core_contenders = {c[0]: c for c in contenders()}
    for group in ([workloads] if smoke else [[w] for w in workloads]):
        samples, failed = {}, set()
        for i in range(warmup + runs):
            for name, cmd_for, env, core_name in orm_contenders():
                if name in failed:
                    continue
                try:
                    res = run_orm(cmd_for(backend, target, group, [sizes[w] for w in group], rows), env)
                    for w in group:
                        want = orm_expected_check(w, sizes[w], rows)
                        if w not in res or res[w]["check"] != want:
                            raise RuntimeError("%s %s %s: check %s, expected %d" %
                                               (backend, name, w, res.get(w, {}).get("check"), want))
                    cw = CORE_OF.get(group[0])
                    if not smoke and core_name and cw:
                        _, core_cmd, core_env = core_contenders[core_name]
                        core, _na = run_once(core_cmd(backend, target, cw, sizes[cw], rows), core_env)
                        want = expected_check(cw, sizes[cw], rows, w4)
                        if core is None or core["check"] != want:
                            raise RuntimeError("%s %s %s (the pair of %s): no result or a wrong check" %
                                               (backend, core_name, cw, name))
                        res[group[0]]["core"] = core["seconds"]
                except RuntimeError as e:
                    print("FAIL: %s" % e)
                    failures += 1
                    failed.add(name)
                    for w in group:
                        table[(w, name)] = "FAIL"
                    continue
                if i >= warmup:
                    samples.setdefault(name, []).append(res)
        for name, results in samples.items():
            if name in failed:
                continue
            for w in group:
                secs = statistics.median(r[w]["seconds"] for r in results)
                table[(w, name)] = (secs, max(r[w]["rss"] for r in results), orm_objects(w, sizes[w], rows))
                paired = [r[w]["seconds"] / r[w]["core"] for r in results if r[w].get("core")]
                if paired:
                    ratios[(w, name, "core")] = statistics.median(paired)
                for ref in ORM_REFERENCES:
                    if name not in ORM_REFERENCES and ref in samples and ref not in failed:
                        pairs = [a[w]["seconds"] / b[w]["seconds"] for a, b in zip(results, samples[ref])
                                 if b[w]["seconds"] > 0]
                        if pairs:
                            ratios[(w, name, ref)] = statistics.median(pairs)
    return table, ratios, failures


def print_core(table, only):
    names = [c[0] for c in contenders()]
    print("| workload | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for w in FULL:
        if not selected(only, w):
            continue
        cells = []
        base = table.get((w, "raw C"))
        ref = table.get((w, REFERENCE))
        for name in names:
            v = table.get((w, name), "")
            if not isinstance(v, tuple):
                cells.append(v)
                continue
            secs, rss, nrows = v
            cell = "%.4f s (%s/s)" % (secs, human(nrows / secs if secs > 0 else 0))
            if isinstance(base, tuple) and base[0] > 0:
                cell += " %.2f× C" % (secs / base[0])
            if isinstance(ref, tuple) and ref[0] > 0 and name != REFERENCE:
                cell += " %.2f× ath" % (secs / ref[0])
            if w in ("W3", "W5"):
                cell += " %d MB" % (rss // 1024)
            cells.append(cell)
        print("| %s | %s |" % (w, " | ".join(cells)))


def print_orm(table, ratios, core, only):
    """athanor ORM cells: ratio to the same interpreter's athanor expr Core
    figure of CORE_OF (× core); the SQLAlchemy ORM cell: ratio to each athanor
    ORM. Paired ratios (full run) when there are, else from the tables (smoke)."""
    names = [c[0] for c in orm_contenders()]
    core_ref = {c[0]: c[3] for c in orm_contenders()}
    print("| workload | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")

    def ratio(key, secs, other):
        if key in ratios:
            return ratios[key]
        if isinstance(other, tuple) and other[0] > 0:
            return secs / other[0]
        return None
    for w in ORM_FULL:
        if not selected(only, w):
            continue
        cells = []
        for name in names:
            v = table.get((w, name), "")
            if not isinstance(v, tuple):
                cells.append(v)
                continue
            secs, rss, nobj = v
            cell = "%.4f s (%s/s)" % (secs, human(nobj / secs if secs > 0 else 0))
            if core_ref[name]:
                r = ratio((w, name, "core"), secs, core.get((CORE_OF.get(w), core_ref[name])))
                if r is not None:
                    cell += " %.2f× core" % r
            if name not in ORM_REFERENCES:
                for ref_name, label in zip(ORM_REFERENCES, ("ath", "JIT")):
                    r = ratio((w, name, ref_name), secs, table.get((w, ref_name)))
                    if r is not None:
                        cell += " %.2f× %s" % (r, label)
            if w in ("OW3", "OW5", "OW6sel", "OW6join"):
                cell += " %d MB" % (rss // 1024)
            cells.append(cell)
        print("| %s | %s |" % (w, " | ".join(cells)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--only", default="", help="workloads (W3,OW4id) or groups (core, orm), comma-separated")
    args = ap.parse_args()
    sizes = dict(SMOKE if args.smoke else FULL, **(ORM_SMOKE if args.smoke else ORM_FULL))
    runs = 1 if args.smoke else max(args.runs, 1)
    warmup = 0 if args.smoke else 1
    only = [w for w in args.only.split(",") if w]
    build_c()
    backends = [("sqlite", None)]
    pg_url = os.environ.get("ATHANOR_TEST_PG_URL")
    if not args.sqlite_only:
        if not pg_url:
            sys.exit("bench: no PostgreSQL (ATHANOR_TEST_PG_URL unset); run bench/run.sh, or pass --sqlite-only")
        backends.append(("postgresql", pg_url))
    failures = 0
    tmp = tempfile.mkdtemp(prefix="athanor-bench-")
    for backend, url in backends:
        rows = sizes["W3"]
        target = os.path.join(tmp, "bench.db") if backend == "sqlite" else url
        setup = [os.path.join(BENCH_BUILD, "raw_sqlite" if backend == "sqlite" else "raw_pg"), target, "setup", str(rows)]
        subprocess.check_call(setup)
        w4 = {w: w4_expected(sizes[w], rows) for w in ("W4", "W4tx")}
        heading = "median of %d run(s)%s" % (runs, "" if not warmup else " after a warm-up")
        core, failed = run_core(backend, target, sizes, rows, w4, only, warmup, runs)
        failures += failed
        if any(selected(only, w) for w in FULL):
            print("\n## %s — %s; seconds (rows/s), ratio to raw C, ratio to %s" % (backend, heading, REFERENCE))
            print_core(core, only)
        orm, ratios, failed = run_orm_workloads(backend, target, sizes, rows, w4, only, warmup, runs, args.smoke)
        failures += failed
        if any(selected(only, w) for w in ORM_FULL):
            print("\n## %s ORM — %s; seconds (objects/s), ratio to the same interpreter's athanor expr Core "
                  "(OW4id to W4), SQLAlchemy ORM's ratio to athanor ORM 5.4 (ath) and LuaJIT (JIT)%s" %
                  (backend, heading, "" if args.smoke else "; ratios are medians of the ratios within each repetition"))
            print_orm(orm, ratios, core, only)
    if failures:
        print("\nbench: %d contender run(s) failed" % failures)
        sys.exit(1)


def human(x):
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if x >= div:
            return "%.1f%s" % (x / div, unit)
    return "%.0f" % x


if __name__ == "__main__":
    main()
