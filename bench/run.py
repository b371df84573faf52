#!/usr/bin/python3
"""Run every contender on every workload, in one run, and print ratios.

usage: bench/run.py [--smoke] [--runs N] [--sqlite-only] [--only W3,W4]
PostgreSQL comes from ATHANOR_TEST_PG_URL (bench/run.sh provides a throwaway
server through pg_virtualenv when none is given).
Each contender prints "RESULT seconds=... check=... maxrss_kb=..." (or
"NA reason" and exit 3 when it cannot run a workload yet); a wrong or missing
check fails the whole run."""
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sqlite-only", action="store_true")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    sizes = SMOKE if args.smoke else FULL
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
        print("\n## %s — median of %d run(s)%s; seconds (rows/s), ratio to raw C, ratio to %s" %
              (backend, runs, "" if not warmup else " after a warm-up", REFERENCE))
        table = {}
        for w in FULL:
            if only and w not in only:
                continue
            n = sizes[w]
            for name, cmd_for, env in contenders():
                cmd = cmd_for(backend, target, w, n, rows)
                samples, na = [], None
                try:
                    for i in range(warmup + runs):
                        res, na = run_once(cmd, env)
                        if res is None:
                            break
                        want = expected_check(w, n, rows, w4)
                        if res["check"] != want:
                            raise RuntimeError("%s %s %s: check %d, expected %d" % (backend, name, w, res["check"], want))
                        if i >= warmup:
                            samples.append(res)
                except RuntimeError as e:
                    print("FAIL: %s" % e)
                    failures += 1
                    table[(w, name)] = "FAIL"
                    continue
                if na is not None:
                    table[(w, name)] = "n/a"
                    continue
                secs = statistics.median(s["seconds"] for s in samples)
                table[(w, name)] = (secs, max(s["rss"] for s in samples), n if w != "W5" else rows * 10)
        names = [c[0] for c in contenders()]
        print("| workload | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for w in FULL:
            if only and w not in only:
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
