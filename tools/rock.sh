#!/usr/bin/env bash
# Called by the rockspec (build.type = "command"):
#   rock.sh build LUA_INCDIR LUA     compile athanor/core.so for that Lua
#   rock.sh install LIBDIR LUADIR    copy core.so and lua/athanor/** into the tree
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  build)
    incdir=$2
    make -s BUILD=build-rock LUA54_INC="-I$incdir" build-rock/lua54/athanor/core.so
    ;;
  install)
    libdir=$2 luadir=$3
    install -d "$libdir/athanor" "$luadir"
    install -m 755 build-rock/lua54/athanor/core.so "$libdir/athanor/core.so"
    (cd lua && find athanor -name '*.lua' -exec install -D -m 644 {} "$luadir/{}" \;)
    ;;
  *) echo "usage: rock.sh build LUA_INCDIR LUA | install LIBDIR LUADIR" >&2; exit 2 ;;
esac
