#!/usr/bin/env bash
# make bench: every contender on every workload, SQLite and PostgreSQL, one run.
#   bash bench/run.sh [--smoke] [--runs N] [--sqlite-only] [--only W3,W4]
# Without ATHANOR_TEST_PG_URL (and without --sqlite-only) it re-runs itself
# inside pg_virtualenv, which creates and removes a throwaway PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${ATHANOR_TEST_PG_URL:-}" ] && [[ " $* " != *" --sqlite-only "* ]]; then
  if [ -n "${PGHOST:-}" ] && [ -n "${PGUSER:-}" ]; then
    enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
    export ATHANOR_TEST_PG_URL="postgresql://$(enc "$PGUSER"):$(enc "${PGPASSWORD:-}")@${PGHOST}:${PGPORT:-5432}/$(enc "${PGDATABASE:-postgres}")"
  else
    exec pg_virtualenv -v 15 bash bench/run.sh "$@"
  fi
fi
make -s all
exec /usr/bin/python3 bench/run.py "$@"
