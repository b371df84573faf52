#!/bin/bash
# Ratios of the bench contenders on one SQLite workload, measured in rounds:
# each round runs the contenders back to back (fresh processes, each
# contender's own timer), so a load on the machine falls on all of them
# alike; prints the median and range of the per-round ratios. On this
# shared machine a `make bench` cell of 0.05 s moves by 20% or more between
# runs; this is how a single cell is measured again (docs/performance.md).
#   core: raw C, athanor text, athanor expr  -> text/C, expr/C, expr/text
#   orm:  athanor expr (W3), athanor ORM (OW3) -> OW3/W3 (loading against fetching)
#   floor: W4 through raw C, athanor's driver level alone and with the
#         expression language's objects (point_select_floor.lua), text,
#         expr -> each / raw C (what a Lua point select cannot go under)
# usage: bash bench/profile/paired_ratios.sh lua54|luajit core W4|W4tx|... N ROUNDS [DB]
#        bash bench/profile/paired_ratios.sh lua54|luajit orm N ROUNDS [DB]
#        bash bench/profile/paired_ratios.sh lua54|luajit floor N ROUNDS [DB]
#   (DB: a SQLite file set up by `build/bench/raw_sqlite DB setup 100000`)
set -euo pipefail
interp=$1 kind=$2
shift 2
case $kind in core) wl=$1; shift ;; floor) wl=W4 ;; *) wl=OW3 ;; esac
n=$1 rounds=$2 db=${3:-/tmp/athanor_bench.db}
cd "$(dirname "$0")/../.."
eval "$(bash tools/env.sh build "$interp")"
bin=lua5.4; [ "$interp" = luajit ] && bin=luajit
[ -f "$db" ] || build/bench/raw_sqlite "$db" setup 100000 >/dev/null
sec() { sed -n 's/.*seconds=\([0-9.]*\).*/\1/p'; }
declare -A list
add() { list[$1]="${list[$1]:-} $(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.4f", a / b }')"; }
for _ in $(seq "$rounds"); do
  if [ "$kind" = core ]; then
    c=$(build/bench/raw_sqlite "$db" "$wl" "$n" | sec)
    t=$("$bin" bench/contenders/athanor.lua sqlite "sqlite:///$db" "$wl" "$n" 100000 text | sec)
    e=$("$bin" bench/contenders/athanor.lua sqlite "sqlite:///$db" "$wl" "$n" 100000 expr | sec)
    add text/C "$t" "$c"; add expr/C "$e" "$c"; add expr/text "$e" "$t"
  elif [ "$kind" = floor ]; then
    c=$(build/bench/raw_sqlite "$db" W4 "$n" | sec)
    d=$("$bin" bench/profile/point_select_floor.lua "$db" "$n" driver | sec)
    o=$("$bin" bench/profile/point_select_floor.lua "$db" "$n" objects | sec)
    t=$("$bin" bench/contenders/athanor.lua sqlite "sqlite:///$db" W4 "$n" 100000 text | sec)
    e=$("$bin" bench/contenders/athanor.lua sqlite "sqlite:///$db" W4 "$n" 100000 expr | sec)
    add driver/C "$d" "$c"; add objects/C "$o" "$c"; add text/C "$t" "$c"; add expr/C "$e" "$c"
  else
    f=$("$bin" bench/contenders/athanor.lua sqlite "sqlite:///$db" W3 "$n" 100000 expr | sec)
    o=$("$bin" bench/contenders/athanor_orm.lua sqlite "sqlite:///$db" OW3 "$n" 100000 | sec)
    add OW3/W3 "$o" "$f"
  fi
done
for k in driver/C objects/C text/C expr/C expr/text OW3/W3; do
  [ -n "${list[$k]:-}" ] || continue
  # shellcheck disable=SC2086  # (the list is words)
  echo ${list[$k]} | tr ' ' '\n' | sort -n |
    awk -v k="$k" -v head="$interp $wl n=$n" '{ a[NR] = $1 } END {
      printf "%s %-9s median %.3f  range %.3f-%.3f  (%d rounds)\n", head, k, a[int((NR + 1) / 2)], a[1], a[NR], NR }'
done
