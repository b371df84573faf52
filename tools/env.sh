#!/usr/bin/env bash
# Prints the exports that make require("athanor") load this tree's Lua files
# (lua/athanor/**) and the C module of one build (BUILD/FLAVOR/athanor/core.so):
#     eval "$(bash tools/env.sh build lua54)"     # or: build luajit
# The repository root is on the path too (spec.helpers), and the system
# paths stay after ours (";;") so busted and cjson still load. For lua54 the
# _5_4 variables are set as well, since lua5.4 prefers them when they exist.
set -euo pipefail
build=${1:-build}
flavor=${2:-lua54}
case "$flavor" in
  lua54 | luajit) ;;
  *) echo "tools/env.sh: FLAVOR must be lua54 or luajit, not '$flavor'" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
path="$root/lua/?.lua;$root/lua/?/init.lua;$root/?.lua;$root/?/init.lua;;"
cpath="$build/$flavor/?.so;;"
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }   # POSIX-sh single quoting (make runs /bin/sh)
echo "export LUA_PATH=$(q "$path"); export LUA_CPATH=$(q "$cpath")"
if [ "$flavor" = lua54 ]; then
  echo "export LUA_PATH_5_4=$(q "$path"); export LUA_CPATH_5_4=$(q "$cpath")"
fi
