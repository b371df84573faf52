#!/bin/bash
# The bench contender (bench/contenders/athanor.lua) in text and expr mode,
# for this tree and another build of athanor (BASE, e.g. an older commit
# exported with `git archive C | tar -x -C DIR` and built there), runs
# interleaved so that a load on the machine falls on all four alike. Prints
# per (tree, mode) the median of the contender's seconds (wall) and of the
# process's CPU seconds (user + sys, /usr/bin/time, 10 ms resolution) minus
# a run with N = 0 (start-up). On a loaded machine trust the CPU column, and
# the instruction counts of expr_text_counts.sh over both (docs/performance.md).
# usage: BASE=dir bash bench/profile/expr_text_wall.sh lua54|luajit W4tx|W2|... N RUNS [DB]
#   (DB: a SQLite file set up by `build/bench/raw_sqlite DB setup 100000`)
set -euo pipefail
interp=$1 wl=$2 n=$3 runs=$4 db=${5:-/tmp/athanor_bench.db}
bin=lua5.4; [ "$interp" = luajit ] && bin=luajit
here=$(cd "$(dirname "$0")/../.." && pwd)
base=${BASE:?set BASE to the other tree}
declare -A wall cpu
one() { # dir mode n -> "wall cpu"
  (cd "$1" && eval "$(bash tools/env.sh build "$interp")" &&
     /usr/bin/time -f "CPU %U %S" "$bin" bench/contenders/athanor.lua sqlite "sqlite:///$db" "$wl" "$3" 100000 "$2" 2>&1) |
    awk '/seconds=/ { match($0, /seconds=[0-9.]+/); w = substr($0, RSTART + 8, RLENGTH - 8) }
         /^CPU/ { c = $2 + $3 } END { print w, c }'
}
for _ in $(seq "$runs"); do
  for tree in base new; do
    dir=$here; [ $tree = base ] && dir=$base
    for mode in text expr; do
      read -r w c < <(one "$dir" $mode "$n")
      read -r _ c0 < <(one "$dir" $mode 0)
      wall[$tree.$mode]="${wall[$tree.$mode]:-} $w"
      cpu[$tree.$mode]="${cpu[$tree.$mode]:-} $(awk -v a="$c" -v b="$c0" 'BEGIN { printf "%.2f", a - b }')"
    done
  done
done
med() { echo "$@" | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for k in base.text base.expr new.text new.expr; do
  # shellcheck disable=SC2086  # (the lists are words)
  echo "$interp $wl n=$n $k wall_median=$(med ${wall[$k]}) cpu_median=$(med ${cpu[$k]}) cpu:${cpu[$k]}"
done
