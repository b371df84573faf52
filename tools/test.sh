#!/usr/bin/env bash
# The whole test run behind `make test`:
#   build (warnings are errors under CI) → C unit tests (cmocka), also under
#   valgrind → busted on Lua 5.4 and LuaJIT against SQLite → the same busted
#   suite and the PostgreSQL C tests against a throwaway PostgreSQL
#   (pg_virtualenv) → luarocks install check → layer check → ASan+UBSan run.
# Ends with the line "N passed, N failed"; exits non-zero on any failure or
# when nothing ran.
#   --asan           only the sanitizer run (make asan)
#   --tsan           only the ThreadSanitizer pool test (make tsan)
#   --valgrind-only  only the C tests under valgrind (make valgrind)
# ATHANOR_SKIP_PG=1 (make test-sqlite) leaves PostgreSQL out, and says so.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MODE=${1:-full}
export LOGDIR; LOGDIR=$(mktemp -d)
export RESULTS="$LOGDIR/results"
: >"$RESULTS"
export BUILD=${BUILD:-build}
source tools/test_lib.sh
start=$(date +%s)

finish() {
  local p f
  p=$(awk -F'[:,]' '/ passed, / {split($2, a, " "); s += a[1]} END {print s+0}' "$RESULTS")
  f=$(awk -F'[:,]' '/ passed, / {split($3, a, " "); s += a[1]} END {print s+0}' "$RESULTS")
  echo "(took $(( $(date +%s) - start )) s; logs in $LOGDIR)"
  echo "$p passed, $f failed"
  if [ "$f" -ne 0 ] || [ "$p" -eq 0 ]; then exit 1; fi
  exit 0
}

build() {  # build DIR [make args...]
  local dir=$1; shift
  if ! make -s -j2 BUILD="$dir" "$@" all test-c-build >"$LOGDIR/build-$dir.out" 2>&1; then
    cat "$LOGDIR/build-$dir.out"
    record "build $dir" 0 1
    finish
  fi
  record "build $dir" 1 0
}

c_tests() {  # c_tests DIR [wrapper...]
  local dir=$1; shift
  for t in "$dir"/test/test_*; do
    [ -x "$t" ] || continue
    case "$(basename "$t")" in test_pg_driver) continue ;; esac   # needs the server: run in test_pg.sh
    run_cmocka "$t" "$@"
  done
}

VALGRIND=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99)
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)

asan_run() {
  build build-asan SANFLAGS="${SAN[*]}" OPT=-O1
  BUILD=build-asan c_tests build-asan
  local rt; rt="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  # The interpreter itself is not instrumented: preload the runtimes, and
  # leave leak checking to the C tests (Lua's own exit-time frees confuse LSan).
  BUILD=build-asan run_busted "lua5.4 sqlite asan" lua5.4 lua54 "sqlite://" postgresql \
    "LD_PRELOAD=$rt" "ASAN_OPTIONS=detect_leaks=0" "UBSAN_OPTIONS=halt_on_error=1"
}

tsan_run() {
  if [ ! -f csrc/test/test_pool.c ]; then record "tsan test_pool" 0 1; return; fi
  mkdir -p build-tsan
  if clang -fsanitize=thread -g -O1 -D_GNU_SOURCE -Icsrc csrc/test/test_pool.c csrc/engine/ath_pool.c \
       csrc/base/*.c -lcmocka -lpthread -lm -o build-tsan/test_pool >"$LOGDIR/tsan-build.out" 2>&1; then
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" run_cmocka build-tsan/test_pool
  else
    cat "$LOGDIR/tsan-build.out"; record "tsan build" 0 1
  fi
}

case "$MODE" in
  --asan) asan_run; finish ;;
  --tsan) tsan_run; finish ;;
  --valgrind-only) build "$BUILD"; c_tests "$BUILD" "${VALGRIND[@]}"; finish ;;
esac

build "$BUILD"
c_tests "$BUILD"
c_tests "$BUILD" "${VALGRIND[@]}"
run_busted "lua5.4 sqlite" lua5.4 lua54 "sqlite://" postgresql
run_busted "luajit sqlite" luajit luajit "sqlite://" postgresql

if [ -n "${ATHANOR_SKIP_PG:-}" ]; then
  echo "PostgreSQL: NOT RUN (ATHANOR_SKIP_PG is set: make test-sqlite is a partial run)"
else
  # test_pg.sh records its suites in $RESULTS itself; a non-zero exit here
  # means the throwaway server could not be had at all: a loud failure.
  if ! pg_virtualenv -v 15 bash tools/test_pg.sh >"$LOGDIR/pg.out" 2>&1; then
    cat "$LOGDIR/pg.out"
    echo "PostgreSQL: could not start a throwaway server with pg_virtualenv"
    record "postgresql server" 0 1
  else
    grep -v -e '^Creating new PostgreSQL cluster' -e '^Dropping cluster' "$LOGDIR/pg.out" || true
  fi
fi

run_check "luarocks make + require" bash tools/rocks_check.sh
run_check "layer check" bash tools/check_layers.sh
asan_run
tsan_run
finish
