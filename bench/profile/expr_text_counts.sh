#!/bin/bash
# Instructions per operation of the expression language and the text API on
# the same work (docs/performance.md), with callgrind under `setarch -R`
# (Lua 5.4's string hashing is seeded from addresses: without it counts move
# by 1-3 %). Point selects and fetches are measured minus a run with N = 0;
# inserts and executemany minus `expr_vs_text.lua none` (the row tables).
# usage: bash bench/profile/expr_text_counts.sh [lua54|luajit]   (from the repository root)
set -euo pipefail
interp=${1:-lua54}
eval "$(bash tools/env.sh build "$interp")"
bin=lua5.4 n=2000
if [ "$interp" = luajit ]; then bin=luajit n=5000; fi
here=$(cd "$(dirname "$0")" && pwd)
ir() {
  setarch -R valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 |
    awk '/refs:/ { gsub(",", "", $NF); print $NF }'
}
for m in expr text; do
  a=$(ir "$here/point_select.lua" $m 0); b=$(ir "$here/point_select.lua" $m $n)
  echo "point_select_$m $(( (b - a) / n ))"
done
none=$(ir "$here/expr_vs_text.lua" none $n)
for m in insert_expr insert_text many_expr many_text; do
  b=$(ir "$here/expr_vs_text.lua" $m $n)
  echo "$m $(( (b - none) / n ))"
done
for m in fetch_expr fetch_text; do
  a=$(ir "$here/expr_vs_text.lua" $m 0); b=$(ir "$here/expr_vs_text.lua" $m 20000)
  echo "$m $(( (b - a) / 20000 ))"
done
