#!/usr/bin/env bash
# The whole test run behind `make test`:
#   build (warnings are errors when CI is set) -> C unit tests (cmocka), plain
#   and under valgrind -> the host executable -> busted on Lua 5.4 and LuaJIT
#   against SQLite -> inside ONE pg_virtualenv (throwaway PostgreSQL 15): the
#   PostgreSQL C tests (plain and under valgrind), busted on both
#   interpreters, the bench smoke run -> `luarocks make`, `pack` and
#   `install` into temporary trees (Lua 5.4 and LuaJIT) -> `make install` into
#   a temporary prefix, C hosts built with pkg-config against it -> the LÖVE
#   example headless -> layer check -> ASan+UBSan
#   (C tests and busted on lua5.4) and TSan (pool test) runs -> the fuzz
#   corpora replayed under ASan+UBSan.
# Prints one line per suite, then exactly "N passed, N failed" as the last
# line; exits non-zero on any failure or when no test ran at all.
#   --asan           only the sanitizer run (make asan)
#   --tsan           only the ThreadSanitizer pool test (make tsan)
#   --valgrind-only  only the C tests under valgrind (make valgrind)
#   --fuzz-replay    only the fuzz corpus replay (make fuzz-replay)
# ATHANOR_SKIP_PG=1 (make test-sqlite) leaves PostgreSQL out, and says so.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
MODE=${1:-full}
export LOGDIR; LOGDIR=$(mktemp -d /tmp/athanor-test.XXXXXX)
export RESULTS="$LOGDIR/results"
: >"$RESULTS"
export BUILD=${BUILD:-build}
# shellcheck source=tools/test_lib.sh
source tools/test_lib.sh
start=$(date +%s)

finish() {
  local p f
  # Sum the "N passed, M failed" of every suite line (labels and notes may
  # contain anything else).
  read -r p f < <(awk 'match($0, /: [0-9]+ passed, [0-9]+ failed/) {
      split(substr($0, RSTART + 2, RLENGTH - 2), w, " "); p += w[1]; f += w[3] }
    END { print p + 0, f + 0 }' "$RESULTS")
  if [ -s "$LOGDIR/failures" ]; then
    local label file
    echo "==== recap of each failing suite (its whole output is above) ===="
    while IFS=$'\t' read -r label file; do
      echo "---- $label ($file): its first error-like lines, then its last 10 ----"
      grep -m 8 -inE 'error|fail|not ok|unbound|no such|refusing|killed|denied|exited with status' "$file"
      tail -n 10 "$file"
    done <"$LOGDIR/failures"
  fi
  echo "(took $(( $(date +%s) - start )) s; logs in $LOGDIR)"
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
    echo "no test ran at all: that is a failure"
    f=1
  fi
  echo "$p passed, $f failed"
  [ "$f" -eq 0 ]
  exit $?
}

# build DIR [make args...]: everything plus every C test. -k so one broken
# file does not hide the rest; a failed build is one counted failure, and the
# run goes on with whatever did build.
build() {
  local dir=$1; shift
  local out; out=$(logname "build $dir")
  if make -k -s -j2 BUILD="$dir" "$@" all test-c-build >"$out" 2>&1; then
    echo "build $dir: ok${CI:+ (CI: -Werror)}"
  else
    show_failure "build $dir" "$out"
    record "build $dir" 0 1
  fi
}

# shellcheck disable=SC2054  # the commas belong to one option
VALGRIND=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

asan_run() {
  build build-asan SANFLAGS="$SAN" OPT=-O1
  BUILD=build-asan cmocka_suite "cmocka asan+ubsan" build-asan
  local asan ubsan
  asan=$(gcc -print-file-name=libasan.so) ubsan=$(gcc -print-file-name=libubsan.so)
  # lua5.4 itself is not instrumented: preload the runtimes into it. Leak
  # checking stays with the C tests (the interpreter's exit trips LSan).
  BUILD=build-asan run_busted "lua5.4 sqlite asan+ubsan" lua5.4 lua54 "sqlite://" postgresql \
    "LD_PRELOAD=$asan:$ubsan" "ASAN_OPTIONS=detect_leaks=0" "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
}

tsan_run() {
  local out; out=$(logname "tsan build")
  mkdir -p build-tsan
  if [ ! -f csrc/test/test_pool.c ]; then echo "tsan: csrc/test/test_pool.c is missing"; record "tsan test_pool" 0 1; return; fi
  # test_pool also drives an engine (the per-checkout event queue): the
  # engine, connection and driver sources come along, all instrumented.
  local pg_inc; pg_inc=$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
  if clang -fsanitize=thread -g -O1 -D_GNU_SOURCE -Icsrc -Icsrc/include -I"$pg_inc" csrc/test/test_pool.c \
       csrc/engine/*.c csrc/driver/*.c csrc/base/*.c -lcmocka -lsqlite3 -lpq -lcrypto -lpthread -lm \
       -o build-tsan/test_pool >"$out" 2>&1; then
    # shellcheck disable=SC2034  # read by run_cmocka (tools/test_lib.sh)
    CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" run_cmocka build-tsan/test_pool
    record "tsan test_pool" "$CM_PASSED" "$CM_FAILED"
  else
    show_failure "tsan build" "$out"; record "tsan test_pool" 0 1
  fi
}

# Every libFuzzer target (csrc/fuzz/fuzz_*.c) linked with replay_main.c
# under ASan+UBSan and run once over its committed corpus
# (csrc/fuzz/corpus/<target>/): one pass per target. A crash, a sanitizer
# report, a leak or a broken invariant fails the target. Seconds, not
# minutes: `make fuzz` is the one that searches.
fuzz_replay_run() {
  local fb=${FUZZ_BUILD:-build-fuzz}
  local out; out=$(logname "fuzz replay build")
  if ! make -k -s -j2 FUZZ_BUILD="$fb" fuzz-replay-build >"$out" 2>&1; then
    show_failure "fuzz replay build" "$out"
    record "fuzz corpus replay" 0 1 "build failed (needs clang: tools/deps.sh)"
    return
  fi
  local p=0 f=0 inputs=0 failing="" src name dir tout n
  for src in csrc/fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    dir=csrc/fuzz/corpus/$name
    tout=$(logname "fuzz replay $name")
    if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
      echo "fuzz corpus replay: $name has no corpus in $dir"; f=$((f + 1)); failing+=" $name"; continue
    fi
    # The loose probe and the live server are for make fuzz, never here;
    # ATHANOR_FUZZ_STRICT passes through (docs/fuzzing.md).
    if env -u ATHANOR_FUZZ_LOOSE -u ATHANOR_FUZZ_PG_URL ASAN_OPTIONS=detect_leaks=1 \
         UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$fb/replay/$name" "$dir" >"$tout" 2>&1; then
      n=$(sed -n 's/^replayed \([0-9]*\) inputs$/\1/p' "$tout")
      p=$((p + 1)); inputs=$((inputs + ${n:-0}))
    else
      show_failure "fuzz replay $name" "$tout"; f=$((f + 1)); failing+=" $name"
    fi
  done
  record "fuzz corpus replay" "$p" "$f" "$inputs inputs${failing:+; failing:$failing}"
}

pg_run() {
  if [ -n "${ATHANOR_SKIP_PG:-}" ]; then
    echo "PostgreSQL: NOT RUN (ATHANOR_SKIP_PG is set: make test-sqlite is a partial run)"
    return
  fi
  local out; out=$(logname "pg_virtualenv")
  if ! command -v pg_virtualenv >/dev/null; then
    echo "PostgreSQL: FAILED: pg_virtualenv is missing (Debian package postgresql-common; run tools/deps.sh)"
    record "postgresql server" 0 1
    return
  fi
  # As root, pg_virtualenv puts its cluster at the fixed name 15/regress, so
  # two runs on one machine cannot overlap: take a lock (our own runs), and
  # wait while someone else's cluster exists (up to 15 min, then fail).
  exec 9>/tmp/athanor-pg_virtualenv.lock
  flock -w 900 9 || echo "PostgreSQL: the pg_virtualenv lock stayed busy for 15 min; trying anyway"
  local waited=0 regress=/etc/postgresql/15/regress
  # A run killed mid-way (a session's end, a CI timeout) leaves its cluster
  # behind, and a machine image taken then carries it to the next run, where
  # pg_virtualenv refuses to start ("Cluster 15/regress exists"). One that
  # pg_virtualenv made (its marker file) while no pg_virtualenv is alive is
  # such a leftover: drop it. We hold the lock, so a live one is not ours.
  if [ "$(id -u)" = 0 ] && [ -f "$regress/.by_pg_virtualenv" ] && command -v pgrep >/dev/null &&
     ! pgrep -f '[p]g_virtualenv' >/dev/null; then
    echo "PostgreSQL: dropping cluster 15/regress, left over by a pg_virtualenv that no longer runs"
    if [ -e "$regress/postgresql.conf" ]; then pg_dropcluster --stop 15 regress || true; fi
    rm -rf "$regress"   # pg_dropcluster leaves the marker file (and so the directory) behind
  fi
  while [ "$(id -u)" = 0 ] && [ -d /etc/postgresql/15/regress ] && [ "$waited" -lt 900 ]; do
    [ "$waited" -eq 0 ] && echo "PostgreSQL: cluster 15/regress exists (another pg_virtualenv is running): waiting for it"
    sleep 5; waited=$((waited + 5))
  done
  [ "$waited" -ge 900 ] && echo "PostgreSQL: cluster 15/regress still exists after 15 min; trying anyway"
  # tools/test_pg.sh records its suites in $RESULTS itself; a non-zero exit
  # here means the throwaway server could not be had: a loud failure.
  local rc=0
  pg_virtualenv -v 15 bash tools/test_pg.sh >"$out" 2>&1 || rc=$?
  exec 9>&-
  if [ "$rc" -ne 0 ] && grep -q 'refusing to overwrite' "$out"; then
    echo "PostgreSQL: hint: a cluster 15/regress is left over; if no test runs, remove it: pg_dropcluster --stop 15 regress"
  fi
  if [ "$rc" -ne 0 ]; then
    show_failure "pg_virtualenv" "$out"
    echo "PostgreSQL: FAILED: could not run the suites on a throwaway server (pg_virtualenv -v 15, output above)"
    record "postgresql server" 0 1
  else
    # test_pg.sh already printed failing output into $out: show it all then.
    if grep -q '^---- ' "$out"; then cat "$out"; else grep -E ': [0-9]+ passed, [0-9]+ failed' "$out"; fi
  fi
  local n
  n=$(awk '/^busted .* postgresql: / && match($0, /: [0-9]+ passed, [0-9]+ failed/) {
      split(substr($0, RSTART + 2, RLENGTH - 2), w, " "); s += w[1] + w[3] } END { print s + 0 }' "$RESULTS")
  echo "PostgreSQL: $n specs ran against a throwaway PostgreSQL 15 (Lua 5.4 + LuaJIT)"
}

case "$MODE" in
  full) ;;
  --asan) asan_run; finish ;;
  --tsan) tsan_run; finish ;;
  --fuzz-replay) fuzz_replay_run; finish ;;
  --valgrind-only)
    build "$BUILD"
    cmocka_suite "cmocka valgrind" "$BUILD" "${VALGRIND[@]}"
    echo "(test_pg_driver needs a server: make test runs it under valgrind inside pg_virtualenv)"
    finish ;;
  *) echo "usage: tools/test.sh [--asan|--tsan|--valgrind-only|--fuzz-replay]" >&2; exit 2 ;;
esac

build "$BUILD"
cmocka_suite "cmocka" "$BUILD"
cmocka_suite "cmocka valgrind" "$BUILD" "${VALGRIND[@]}"
run_tap "host executable" bash tools/host_check.sh "$BUILD/athanor"
run_busted "lua5.4 sqlite" lua5.4 lua54 "sqlite://" postgresql
run_busted "luajit sqlite" luajit luajit "sqlite://" postgresql
pg_run
run_tap "luarocks make/pack/install (Lua 5.4 + LuaJIT)" bash tools/rocks_check.sh
run_check "make install + use" bash tools/install_check.sh "$BUILD"
run_tap "C hosts via pkg-config (Lua 5.4 + LuaJIT)" bash tools/pkgconfig_check.sh "$BUILD"
run_tap "LÖVE example headless (directory + .love)" bash tools/love_check.sh "$BUILD"
run_check "layer check" bash tools/check_layers.sh
# Short functions (the renderer one per construct, issue #15): no function
# of the library's C over 80 lines (the fuzz and test harnesses aside).
run_check "function length (csrc, 80 lines)" bash tools/check_function_length.sh 80 \
  csrc/base/*.c csrc/driver/*.c csrc/engine/*.c csrc/sql/*.c csrc/orm/*.c csrc/lua/*.c csrc/host/*.c
run_check "luacheck (lua/, spec/, bench/)" luacheck --no-color -q lua spec bench
# shellcheck disable=SC2016  # expanded by the inner bash
run_check "examples/orm_quickstart.lua (lua5.4)" bash -c 'eval "$(bash tools/env.sh "$BUILD" lua54)" && lua5.4 examples/orm_quickstart.lua'
# shellcheck disable=SC2016
run_check "examples/orm_quickstart.lua (luajit)" bash -c 'eval "$(bash tools/env.sh "$BUILD" luajit)" && luajit examples/orm_quickstart.lua'
# shellcheck disable=SC2016
run_check "examples/relationships.lua (lua5.4)" bash -c 'eval "$(bash tools/env.sh "$BUILD" lua54)" && lua5.4 examples/relationships.lua'
# shellcheck disable=SC2016
run_check "examples/relationships.lua (luajit)" bash -c 'eval "$(bash tools/env.sh "$BUILD" luajit)" && luajit examples/relationships.lua'
asan_run
tsan_run
fuzz_replay_run
finish
