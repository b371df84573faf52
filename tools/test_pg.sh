#!/usr/bin/env bash
# Runs inside `pg_virtualenv` (tools/test.sh): everything that needs a
# PostgreSQL server. pg_virtualenv exports PGHOST/PGPORT/PGUSER/PGPASSWORD/
# PGDATABASE for a throwaway cluster; we turn them into a URL.
set -uo pipefail
cd "$(dirname "$0")/.."
source tools/test_lib.sh

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
url="postgresql://$(enc "${PGUSER:-postgres}"):$(enc "${PGPASSWORD:-}")@${PGHOST:-localhost}:${PGPORT:-5432}/$(enc "${PGDATABASE:-postgres}")"
export ATHANOR_TEST_PG_URL="$url"

if [ -x "$BUILD/test/test_pg_driver" ]; then run_cmocka "$BUILD/test/test_pg_driver"; fi
run_busted "lua5.4 postgresql" lua5.4 lua54 "$url" sqlite
if [ "${ATHANOR_ONLY_LUA54:-}" = "" ]; then
  run_busted "luajit postgresql" luajit luajit "$url" sqlite
fi
if [ -f bench/run.sh ] && [ "${ATHANOR_SKIP_BENCH:-}" = "" ]; then
  run_check "bench smoke (sqlite + postgresql)" bash bench/run.sh --smoke
fi
exit 0
