#!/usr/bin/env bash
# `luarocks make` into a throwaway tree, then require("athanor") from there
# (outside the source tree) and run one query on SQLite. No --deps-mode:
# the rockspec must not make luarocks fetch anything, and this proves it.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
luarocks --lua-version=5.4 --tree="$tree" make rockspec/athanor-scm-1.rockspec
eval "$(luarocks --lua-version=5.4 --tree="$tree" path)"
cd /tmp
TREE="$tree" lua5.4 -e '
  local ath = require("athanor")
  local where = package.searchpath("athanor", package.path)
  assert(where and where:find(os.getenv("TREE"), 1, true), "athanor was not loaded from the rocks tree: " .. tostring(where))
  local so = package.searchpath("athanor.core", package.cpath)
  assert(so and so:find(os.getenv("TREE"), 1, true), "athanor.core was not loaded from the rocks tree: " .. tostring(so))
  local e = ath.create_engine("sqlite://")
  local v = e:connect(function(c) return c:execute(ath.text("SELECT 40 + :x"), { x = 2 }):scalar() end)
  assert(v == 42, "query gave " .. tostring(v))
  print("luarocks tree ok: " .. where)'
