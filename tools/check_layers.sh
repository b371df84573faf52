#!/usr/bin/env bash
# Fails (exit 1, naming file, line and include) when a dependency points the
# wrong way (docs/architecture.md):
#   csrc/base    includes only base/               (libc only)
#   csrc/driver  includes only driver/ base/
#   csrc/engine  includes only engine/ driver/ base/
#   csrc/sql     includes only sql/ base/
#   csrc/orm     includes only orm/ base/
#   none of them includes Lua headers (only csrc/lua, csrc/host and tests do)
#   csrc/lua     (the binding) includes only lua/ engine/ sql/ orm/ base/ include/
#                and reaches drivers only through the engine: it calls no
#                driver function (ath_driver_*) and no member of the driver
#                table (->step(, ->bind(, ... as listed in ath_driver.h).
#                One exception, by name: csrc/lua/l_pgwire.c may include
#                driver/pgw.h and driver/drv_pg.h. The cosocket driver's I/O
#                is Lua (lua/athanor/drivers/pgwire.lua), so that binding is
#                the upper half of its driver: it drives the sans-I/O codec and
#                the libpq driver's value encoding/decoding, never a connection
#                through the driver table, and has no C engine to go through.
#   lua/athanor/**.lua outside lua/athanor/orm/ never requires athanor.orm
# An include is resolved as the compiler would: next to the file, then
# -Icsrc, then -Icsrc/include; "base/x.h" from driver/ is base/, not driver/.
# usage: tools/check_layers.sh [ROOT]   (ROOT defaults to the repository)
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
bad=0
violation() { echo "layer violation: $*"; bad=1; }

declare -A allowed=(
  [base]="base" [driver]="driver base" [engine]="engine driver base"
  [sql]="sql base" [orm]="orm base"
  [lua]="lua engine sql orm base include"
)

# Which csrc/ directory an include of file $1 lands in ("" when unknown).
resolve() {
  local file=$1 inc=$2 dir cand rel
  dir=$(dirname "$file")
  for cand in "$dir/$inc" "csrc/$inc" "csrc/include/$inc"; do
    if [ -e "$cand" ]; then
      rel=$(realpath -m --relative-to=csrc "$cand")
      break
    fi
  done
  if [ -z "${rel:-}" ]; then
    # Not there (yet): "./x" and "../x" are read next to the file, another
    # path with a directory as -Icsrc relative; a bare name is unknown.
    case "$inc" in
      ./* | ../*) rel=$(realpath -m --relative-to=csrc "$dir/$inc") ;;
      */*) rel=$(realpath -m --relative-to=csrc "csrc/$inc") ;;
      *) echo ""; return ;;
    esac
  fi
  case "$rel" in ../*) echo "(outside csrc)"; return ;; esac
  [ "${rel%%/*}" = "$rel" ] && { echo "(csrc top level)"; return; }
  echo "${rel%%/*}"
}

for layer in base driver engine sql orm lua; do
  [ -d "csrc/$layer" ] || continue
  for file in csrc/"$layer"/*.[ch]; do
    [ -f "$file" ] || continue
    while IFS=: read -r lineno text; do
      if [ "$layer" != lua ] && [[ $text =~ \#[[:space:]]*include[[:space:]]*\<(lua|lauxlib|lualib|luaconf|luajit)\.h\> ]] ||
         [[ $text =~ \#[[:space:]]*include[[:space:]]*\"([^\"]*/)?(lua|lauxlib|lualib|luaconf|luajit)\.h\" ]]; then
        violation "$file:$lineno includes a Lua header ($text): only csrc/lua, csrc/host and tests may"
        continue
      fi
      [[ $text =~ \#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]] || continue
      inc=${BASH_REMATCH[1]}
      target=$(resolve "$file" "$inc")
      [ -z "$target" ] && continue                  # a bare name found nowhere: generated or system
      case " ${allowed[$layer]} " in *" $target "*) continue ;; esac
      if [ "$file" = csrc/lua/l_pgwire.c ] && [ "$target" = driver ]; then
        case "$inc" in */pgw.h | */drv_pg.h) continue ;; esac
      fi
      violation "$file:$lineno includes \"$inc\" ($target): csrc/$layer may include only ${allowed[$layer]// /, }"
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$file")
  done
done

# The binding calls no driver function: every call goes through csrc/engine
# (ath_conn_*, ath_cstmt_*), which records disconnects and fork ownership.
# The driver table's members are read from ath_driver.h, so a new member is
# covered without editing this script.
if [ -d csrc/lua ] && [ -f csrc/driver/ath_driver.h ]; then
  members=$(grep -oE '\(\*[a-z_]+\)' csrc/driver/ath_driver.h | tr -d '()*' | sort -u | paste -sd'|')
  while IFS= read -r hit; do
    file=${hit%%:*} rest=${hit#*:} lineno=${rest%%:*} text=${rest#*:}
    violation "$file:$lineno calls the driver directly ($text): csrc/lua goes through csrc/engine (ath_conn_*, ath_cstmt_*)"
  done < <(grep -nE "(->|\.)($members)[[:space:]]*\(|\bath_driver_[a-z_]+[[:space:]]*\(" csrc/lua/*.[ch] 2>/dev/null |
           grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)')
fi

# Core Lua never requires the ORM (the ORM registers its hooks with Core).
if [ -d lua/athanor ]; then
  while IFS= read -r hit; do
    file=${hit%%:*} rest=${hit#*:} lineno=${rest%%:*} text=${rest#*:}
    case "$file" in lua/athanor/orm/*) continue ;; esac
    before=${text%%athanor.orm*}
    case "$before" in *--*) continue ;; esac        # in a comment
    violation "$file:$lineno requires the ORM ($text): Core modules must not depend on athanor.orm"
  done < <(grep -rnE --include='*.lua' \
             "require[[:space:]]*\(?[[:space:]]*(\[\[|[\"'])athanor\.orm([.\"']|\]\])|pcall\([[:space:]]*require[[:space:]]*,[[:space:]]*[\"']athanor\.orm" \
             lua/athanor)
fi

if [ $bad -eq 0 ]; then echo "layers ok"; fi
exit $bad
