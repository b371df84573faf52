#!/usr/bin/env bash
# Installs the Debian packages athanor needs to build, test and benchmark.
# As root on Debian: installs what is missing (apt-get). Otherwise prints the
# one apt line to run and fails. Fast when everything is there (no apt call).
set -euo pipefail

PKGS=(
  gcc make pkg-config
  lua5.4 liblua5.4-dev
  luajit2 libluajit2-5.1-dev          # OpenResty's LuaJIT branch (conflicts with libluajit-5.1-dev)
  libsqlite3-dev libpq-dev postgresql postgresql-common
  lua-busted lua-cjson libcmocka-dev luarocks
  valgrind clang libclang-rt-14-dev    # sanitizers (TSan needs clang's runtime)
  lua-sql-sqlite3 lua-sql-postgres python3-sqlalchemy python3-psycopg2   # benchmarks
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "athanor: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "athanor: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
