#!/usr/bin/env bash
# LuaRocks as a user meets it (docs/luarocks.md), for Lua 5.4 and LuaJIT, each
# into its own temporary tree, and a query from every tree:
#   - the rockspecs agree with the Makefile and the version (rockspec_sync);
#   - `luarocks make` at the root of a fresh clone;
#   - `luarocks pack` of the release and the scm rockspec from another
#     directory (source rocks: the git tag v<VERSION> / the default branch);
#   - `luarocks install <.src.rock>` and `luarocks install <rockspec>` from
#     another directory.
# Nothing is fetched from the network: the "fresh clone" is a git repository
# made from this working tree (tracked and new files, tagged v<VERSION>), git
# is told (GIT_CONFIG_*: url.<clone>.insteadOf) to take the rockspecs'
# repository URL from it, the LuaRocks config has no rocks servers, and it
# declares lua-cjson as provided by the system (Debian's lua-cjson), as
# docs/luarocks.md tells Debian users to. HOME is a temporary directory, so
# no user tree or config takes part.
# Prints "ok N - ..." / "not ok N - ..."; usage: tools/rocks_check.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
check() {  # check DESCRIPTION STATUS [LOG]
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; [ -n "${3:-}" ] && sed 's/^/#   /' "$3" | tail -n 40; fi
}
cd "$root" || exit 1
lua5.4 tools/rockspec_sync.lua --check >"$work/sync.log" 2>&1
check "the rockspecs agree with the Makefile's sources, libraries and VERSION, and with lua/athanor/" $? "$work/sync.log"
version=$(sed -n 's/^VERSION *:= *\([0-9.]*\)$/\1/p' Makefile)
url=$(sed -n 's/^ *url = "git+\(https:[^"]*\)",$/\1/p' rockspec/athanor-scm-1.rockspec)
pq_inc=$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

# The fresh clone: this working tree as a git repository, tagged as released.
src="$work/athanor"
mkdir -p "$src" "$work/elsewhere" "$work/home"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src"
(cd "$src" && git init -q && git add -A && git -c user.name=check -c user.email=check@localhost commit -qm snapshot \
  && git tag "v$version") >"$work/git.log" 2>&1
check "a git clone of the working tree, tagged v$version" $? "$work/git.log"

export HOME="$work/home" GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.file://$src.insteadOf" GIT_CONFIG_VALUE_0="$url"
unset LUA_PATH LUA_CPATH LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT LUA_INIT_5_4
cat >"$work/config-lua54.lua" <<'LUA'
rocks_servers = {}                                -- nothing may be fetched
rocks_provided = { ["lua-cjson"] = "2.1.0-1" }     -- Debian's lua-cjson
LUA
cat "$work/config-lua54.lua" - >"$work/config-luajit.lua" <<'LUA'
lua_interpreter = "luajit"                        -- LuaJIT is LuaRocks' Lua 5.1
variables = { LUA_BINDIR = "/usr/bin", LUA_INCDIR = "/usr/include/luajit-2.1" }
LUA
export LUAROCKS_CONFIG_5_4="$work/config-lua54.lua" LUAROCKS_CONFIG_5_1="$work/config-luajit.lua"

# query FLAVOR TREE: require athanor from TREE (and only from there), run a
# query on SQLite, and load cjson (the declared dependency).
query() {
  local flavor=$1 tree=$2 lv interp
  if [ "$flavor" = lua54 ]; then lv=5.4 interp=lua5.4; else lv=5.1 interp=luajit; fi
  (cd "$work/elsewhere" && eval "$(luarocks --lua-version=$lv --tree="$tree" path)" && TREE="$tree" "$interp" -e '
    local ath = require("athanor")
    local tree = os.getenv("TREE")
    for _, m in ipairs({ { "athanor", package.path }, { "athanor.core", package.cpath } }) do
      local where = package.searchpath(m[1], m[2])
      assert(where and where:sub(1, #tree) == tree, m[1] .. " was not loaded from the tree: " .. tostring(where))
    end
    local v = ath.create_engine("sqlite://"):connect(function(c) return c:execute(ath.text("SELECT 40 + :x"), { x = 2 }):scalar() end)
    assert(v == 42, "query gave " .. tostring(v))
    assert(require("cjson").encode({ 1 }) == "[1]")
    print("query ok from " .. tree .. " on " .. (jit and jit.version or _VERSION))')
}

# Source rocks, packed from another directory (git fetches from the clone).
(cd "$work/elsewhere" && luarocks --lua-version=5.4 pack "$src/rockspec/athanor-$version-1.rockspec") >"$work/pack.log" 2>&1 &&
  unzip -l "$work/elsewhere/athanor-$version-1.src.rock" >"$work/rock.list" 2>&1 &&
  grep -q " athanor-$version-1.rockspec$" "$work/rock.list" && grep -q " athanor/csrc/lua/l_core.c$" "$work/rock.list"
check "luarocks pack rockspec/athanor-$version-1.rockspec from another directory: the tag's source rock" $? "$work/pack.log"
(cd "$work/elsewhere" && luarocks --lua-version=5.4 pack "$src/rockspec/athanor-scm-1.rockspec") >"$work/pack-scm.log" 2>&1 &&
  [ -f "$work/elsewhere/athanor-scm-1.src.rock" ]
check "luarocks pack rockspec/athanor-scm-1.rockspec from another directory: the branch's source rock" $? "$work/pack-scm.log"

# The installs build at -O0: they check the packaging, and that is the slow
# part (LuaRocks compiles one file at a time); `luarocks make` keeps the
# default flags a user gets. Lua 5.4 and LuaJIT build side by side (their
# trees and logs are apart; `make` works in a clone of its own each), and
# the results are checked in order afterwards.
fast="CFLAGS=-O0 -fPIC"
flavor_steps() {  # flavor_steps FLAVOR: writes $work/<step>-FLAVOR.{log,status}
  local flavor=$1 lv=5.4 want_inc=/usr/include/lua5.4 t clone
  if [ "$flavor" = luajit ]; then lv=5.1 want_inc=/usr/include/luajit-2.1; fi
  t="$work/tree-make-$flavor" clone="$work/clone-$flavor"
  git clone -q "$src" "$clone" >"$work/make-$flavor.log" 2>&1 &&
    (cd "$clone" && luarocks --lua-version=$lv --tree="$t" make PQ_INCDIR="$pq_inc") >>"$work/make-$flavor.log" 2>&1 &&
    grep -q -- "-I$want_inc " "$work/make-$flavor.log" && query "$flavor" "$t" >>"$work/make-$flavor.log" 2>&1
  echo $? >"$work/make-$flavor.status"
  t="$work/tree-rock-$flavor"
  (cd "$work/elsewhere" && luarocks --lua-version=$lv --tree="$t" install "athanor-$version-1.src.rock" PQ_INCDIR="$pq_inc" "$fast") \
    >"$work/rock-$flavor.log" 2>&1 && query "$flavor" "$t" >>"$work/rock-$flavor.log" 2>&1
  echo $? >"$work/rock-$flavor.status"
  t="$work/tree-spec-$flavor"
  (cd "$work/elsewhere" && luarocks --lua-version=$lv --tree="$t" install "$src/rockspec/athanor-scm-1.rockspec" PQ_INCDIR="$pq_inc" "$fast") \
    >"$work/spec-$flavor.log" 2>&1 && query "$flavor" "$t" >>"$work/spec-$flavor.log" 2>&1
  echo $? >"$work/spec-$flavor.status"
}
flavor_steps lua54 & flavor_steps luajit & wait
for flavor in lua54 luajit; do
  inc=/usr/include/lua5.4; [ $flavor = luajit ] && inc=/usr/include/luajit-2.1
  check "$flavor: luarocks make at the root of a fresh clone (against $inc), then a query from the tree" \
    "$(cat "$work/make-$flavor.status" 2>/dev/null || echo 1)" "$work/make-$flavor.log"
  check "$flavor: luarocks install athanor-$version-1.src.rock from another directory, then a query" \
    "$(cat "$work/rock-$flavor.status" 2>/dev/null || echo 1)" "$work/rock-$flavor.log"
  check "$flavor: luarocks install rockspec/athanor-scm-1.rockspec from another directory, then a query" \
    "$(cat "$work/spec-$flavor.status" 2>/dev/null || echo 1)" "$work/spec-$flavor.log"
done

# Without PQ_INCDIR on a system that keeps libpq-fe.h apart, LuaRocks stops
# before compiling anything and names the variable (the up-front check).
if [ ! -f /usr/include/libpq-fe.h ] && [ ! -f /usr/local/include/libpq-fe.h ]; then
  (cd "$src" && luarocks --lua-version=5.4 --tree="$work/tree-nopq" make) >"$work/nopq.log" 2>&1; rc=$?
  grep -q "pass PQ_DIR or PQ_INCDIR" "$work/nopq.log" && ! ls "$src"/csrc/base/*.o >/dev/null 2>&1
  check "without PQ_INCDIR, luarocks make stops before compiling and names PQ_INCDIR (rc $rc)" $(( rc == 0 || $? )) "$work/nopq.log"
fi
