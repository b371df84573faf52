#!/usr/bin/env bash
# Installs the Debian packages athanor needs to build, test and benchmark.
# As root on Debian: installs what is missing (one apt-get update, one
# apt-get install). Otherwise prints the one apt line to run and exits 1.
# Fast when everything is there: one dpkg-query, no apt call.
# Needs only bash and dpkg, so it also runs on a machine without make
# (.ci/run calls it first).
set -euo pipefail

PKGS=(
  gcc libc6-dev make pkg-config            # gcc only recommends libc6-dev: we install without recommends
  lua5.4 liblua5.4-dev
  luajit2 libluajit2-5.1-dev               # OpenResty's LuaJIT branch (conflicts with libluajit-5.1-dev)
  libsqlite3-dev libpq-dev postgresql postgresql-common   # pg_virtualenv for the throwaway test server
  procps                                   # pgrep: tools/test.sh tells a dead throwaway cluster from a live one; ps: spec/openresty
  lua-busted lua-cjson lua-check libcmocka-dev luarocks
  valgrind libc6-dbg                       # valgrind needs libc's symbols for its redirections
  clang libclang-rt-14-dev                 # ThreadSanitizer and libFuzzer runtimes: make tsan, make fuzz, the corpus replay
  lua-sql-sqlite3 lua-sql-postgres python3-sqlalchemy python3-psycopg2   # bench/: LuaSQL and SQLAlchemy
  love zip unzip git                       # the LÖVE example headless (tools/love_check.sh); luarocks pack (tools/rocks_check.sh)
  nginx libnginx-mod-http-lua lua-resty-core apache2-utils curl   # spec/openresty: the nginx test
  libssl-dev lua-socket                    # the cosocket driver: SCRAM/MD5 from libcrypto; its blocking socket outside nginx
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "athanor: tools/deps.sh knows Debian (dpkg/apt) only. Install the equivalents of:" >&2
  echo "  ${PKGS[*]}" >&2
  exit 1
fi

# One dpkg-query for all: it prints a line for each known package only.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null | awk '/ install ok installed$/ { print $1 }' || true)
missing=()
for p in "${PKGS[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "athanor: installing missing Debian packages: ${missing[*]}" >&2
  if dpkg-query -W -f='${Status}' libluajit-5.1-dev 2>/dev/null | grep -q 'install ok installed'; then
    echo "athanor: note: libluajit2-5.1-dev replaces libluajit-5.1-dev (they conflict)" >&2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  echo "athanor: Debian packages installed" >&2
else
  echo "athanor: missing Debian packages. Run:" >&2
  echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
