#!/usr/bin/env bash
# Prints the exports that make require("athanor") load this tree's Lua files
# and the C module of one build: eval "$(bash tools/env.sh build lua54)".
# FLAVOR: lua54 or luajit. The system paths stay after ours (busted, cjson).
build=${1:-build}
flavor=${2:-lua54}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
echo "export LUA_PATH='$root/lua/?.lua;$root/lua/?/init.lua;$root/?.lua;$root/?/init.lua;;'"
echo "export LUA_CPATH='$build/$flavor/?.so;;'"
