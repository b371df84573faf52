#!/usr/bin/env bash
# Runs inside ONE `pg_virtualenv -v 15` (tools/test.sh): everything that needs
# a PostgreSQL server. pg_virtualenv exports PGHOST/PGPORT/PGUSER/PGPASSWORD/
# PGDATABASE for a throwaway cluster; we turn them into the URL the specs and
# the C tests read (ATHANOR_TEST_URL, ATHANOR_TEST_PG_URL). Suites record
# themselves in $RESULTS; this script exits 0 unless it could not start.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tools/test_lib.sh
source tools/test_lib.sh

if [ -z "${PGPORT:-}" ] && [ -z "${PGHOST:-}" ]; then
  echo "test_pg.sh: PGHOST/PGPORT are not set: run me through pg_virtualenv" >&2
  exit 1
fi
host=${PGHOST:-localhost}
# A socket directory travels percent-encoded in the host part (API.md §1).
case "$host" in /*) host=$(urlenc "$host") ;; esac
userinfo=$(urlenc "${PGUSER:-postgres}")
[ -n "${PGPASSWORD:-}" ] && userinfo+=":$(urlenc "$PGPASSWORD")"
url="postgresql://$userinfo@$host:${PGPORT:-5432}/$(urlenc "${PGDATABASE:-postgres}")"
export ATHANOR_TEST_PG_URL="$url"

if [ -x "$BUILD/test/test_pg_driver" ]; then
  CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
  run_cmocka "$BUILD/test/test_pg_driver"
  record "cmocka test_pg_driver" "$CM_PASSED" "$CM_FAILED"
  CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
  run_cmocka "$BUILD/test/test_pg_driver" valgrind -q --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99
  record "cmocka valgrind test_pg_driver" "$CM_PASSED" "$CM_FAILED"
elif [ -f csrc/test/test_pg_driver.c ]; then
  echo "cmocka test_pg_driver: csrc/test/test_pg_driver.c did not build"
  record "cmocka test_pg_driver" 0 1
fi

# The allocation-failure sweep's PostgreSQL tests (make test's cmocka suite
# runs the executable without a server, where they skip): every allocation
# plainly, every third under valgrind (all of them take ~30 s there).
if [ -x "$BUILD/test/test_alloc_faults" ]; then
  CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
  ATHANOR_ALLOC_SWEEP_TESTS='*postgresql*' run_cmocka "$BUILD/test/test_alloc_faults"
  record "cmocka test_alloc_faults postgresql" "$CM_PASSED" "$CM_FAILED"
  CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
  ATHANOR_ALLOC_SWEEP_TESTS='*postgresql*' ATHANOR_ALLOC_SWEEP_VALGRIND_STRIDE=3 \
    run_cmocka "$BUILD/test/test_alloc_faults" valgrind -q --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99
  record "cmocka valgrind test_alloc_faults postgresql" "$CM_PASSED" "$CM_FAILED" "every 3rd allocation"
elif [ -f csrc/test/test_alloc_faults.c ]; then
  echo "cmocka test_alloc_faults: csrc/test/test_alloc_faults.c did not build"
  record "cmocka test_alloc_faults postgresql" 0 1
fi

# Fork safety on PostgreSQL (without a server its PostgreSQL tests skip):
# the whole binary again, plainly and under valgrind (children included).
if [ -x "$BUILD/test/test_fork" ]; then
  CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
  run_cmocka "$BUILD/test/test_fork"
  run_cmocka "$BUILD/test/test_fork" valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
  record "cmocka test_fork postgresql" "$CM_PASSED" "$CM_FAILED"
fi

run_busted "lua5.4 postgresql" lua5.4 lua54 "$url" sqlite
run_busted "luajit postgresql" luajit luajit "$url" sqlite
# The same suite through the cosocket driver (docs/cosocket-driver.md): the
# wire codec over LuaSocket, on LuaJIT as in OpenResty.
run_busted "luajit postgresql+cosocket" luajit luajit "postgresql+cosocket${url#postgresql}" sqlite

# The nginx test: athanor inside Debian's nginx + lua-nginx-module (LuaJIT
# build), 2 workers, on SQLite and this server (docs/openresty.md).
ATHANOR_TEST_URL="$url" run_tap "nginx (openresty, luajit)" bash spec/openresty/run.sh

if [ -f bench/run.sh ]; then
  run_check "bench smoke (sqlite + postgresql)" bash bench/run.sh --smoke
fi
exit 0
