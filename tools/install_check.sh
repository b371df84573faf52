#!/usr/bin/env bash
# `make install PREFIX=<temp>`, then use what was installed, as a user would:
# a C program compiled against the installed athanor.h (warnings are
# errors) and linked with the installed libathanor.a runs SQL on SQLite;
# the installed `athanor` runs a chunk; lua5.4 finds the installed module.
# usage: tools/install_check.sh [BUILD]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make -s BUILD="$build" install PREFIX="$prefix" >/dev/null
cat >"$prefix/app.c" <<'C'
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <athanor.h>
int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  ath_openlib(L);
  (void)luaL_dostring(L, "package.path = '' package.cpath = ''");
  int rc = luaL_dostring(L, "local ath = require('athanor') "
    "return ath.create_engine('sqlite://'):connect():execute(ath.text('select 6 * :x'), { x = 7 }):scalar()");
  printf("%s\n", lua_tostring(L, -1));
  lua_close(L);
  return rc;
}
C
lua_inc=$(pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
lua_lib=$(pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
# shellcheck disable=SC2086
cc -std=c99 -Wall -Wextra -Werror -I"$prefix/include" $lua_inc "$prefix/app.c" "$prefix/lib/libathanor.a" \
   $lua_lib -lsqlite3 -lpq -lcrypto -lpthread -lm -ldl -o "$prefix/app"
[ "$("$prefix/app")" = 42 ] || { echo "installed libathanor.a: expected 42"; exit 1; }
[ "$(cd / && "$prefix/bin/athanor" -e 'local ath = require("athanor")
  print(ath.create_engine("sqlite://"):connect():execute(ath.text("select 42")):scalar())')" = 42 ] \
  || { echo "installed athanor host failed"; exit 1; }
out=$(cd / && LUA_PATH="$prefix/share/lua/5.4/?.lua;$prefix/share/lua/5.4/?/init.lua" \
      LUA_CPATH="$prefix/lib/lua/5.4/?.so" env -u LUA_PATH_5_4 -u LUA_CPATH_5_4 lua5.4 -e '
  local ath = require("athanor")
  print(ath.create_engine("sqlite://"):connect():execute(ath.text("select 40 + 2")):scalar())')
[ "$out" = 42 ] || { echo "installed Lua module: expected 42, got $out"; exit 1; }
echo "install ok: $prefix"
