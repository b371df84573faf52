#!/usr/bin/env bash
# Called by rockspec/athanor-scm-1.rockspec (build.type = "command"), from
# the repository root, with luarocks' variables:
#   rock.sh build LUA_INCDIR LUA CFLAGS   compile athanor/core.so for that Lua
#   rock.sh install LIBDIR LUADIR LUA     copy core.so and lua/athanor/** there
# Each Lua version builds in its own directory (build-rock/<version>), so a
# 5.4 object never ends up in a LuaJIT module or the other way round.
set -euo pipefail
cd "$(dirname "$0")/.."
ver() { "$1" -e 'print((jit and jit.version or _VERSION):gsub("[^%w.]", "_"):lower())' 2>/dev/null || echo default; }
case "${1:-}" in
  build)
    [ $# -ge 3 ] || { echo "usage: rock.sh build LUA_INCDIR LUA [CFLAGS]" >&2; exit 2; }
    incdir=$2 lua=$3 cflags=${4:--O2}
    dir=build-rock/$(ver "$lua")
    # The Makefile adds -fPIC and the warnings; luarocks' CFLAGS carry the rest.
    make -s BUILD="$dir" LUA54_INC="-I$incdir" CFLAGS="$cflags -g" "$dir/lua54/athanor/core.so"
    ;;
  install)
    [ $# -ge 4 ] || { echo "usage: rock.sh install LIBDIR LUADIR LUA" >&2; exit 2; }
    libdir=$2 luadir=$3 lua=$4
    dir=build-rock/$(ver "$lua")
    install -d "$libdir/athanor" "$luadir"
    install -m 755 "$dir/lua54/athanor/core.so" "$libdir/athanor/core.so"
    (cd lua && find athanor -name '*.lua' -exec install -D -m 644 {} "$luadir/{}" \;)
    ;;
  *) echo "usage: rock.sh build LUA_INCDIR LUA [CFLAGS] | install LIBDIR LUADIR LUA" >&2; exit 2 ;;
esac
