#!/usr/bin/env bash
# Fails when a dependency points the wrong way (docs/architecture.md):
#   base ← driver ← engine ← lua/host;  base ← sql, orm;  only csrc/lua and
#   csrc/host (and tests) include Lua headers; Core Lua never requires the ORM.
cd "$(dirname "$0")/.."
bad=0
check() {  # dir allowed-regex
  local dir=$1 allowed=$2
  while IFS= read -r line; do
    local file=${line%%:*} inc
    inc=$(echo "$line" | sed -E 's/.*#include[[:space:]]*"([^"]+)".*/\1/')
    local target
    target=$(cd "$(dirname "$file")" && realpath -m --relative-to="$OLDPWD/csrc" "$inc" 2>/dev/null)
    case "$target" in
      ../*) continue ;;                 # not in csrc (system-ish)
    esac
    local top=${target%%/*}
    [ "$top" = "$target" ] && top=$(basename "$dir")   # same-directory include
    if ! echo "$top" | grep -qE "^($allowed)$"; then
      echo "layer violation: $file includes \"$inc\" ($top is not allowed from $(basename "$dir"))"
      bad=1
    fi
  done < <(grep -Hn '#include *"' "$dir"/*.[ch] 2>/dev/null)
  if grep -lE '#include *[<"](lua|lauxlib|lualib)\.h' "$dir"/*.[ch] 2>/dev/null | grep -q .; then
    echo "layer violation: $dir includes Lua headers"; grep -lE '#include *[<"](lua|lauxlib|lualib)\.h' "$dir"/*.[ch]
    bad=1
  fi
}
check csrc/base "base"
check csrc/driver "driver|base"
check csrc/engine "engine|driver|base"
check csrc/sql "sql|base"
[ -d csrc/orm ] && ls csrc/orm/*.[ch] >/dev/null 2>&1 && check csrc/orm "orm|base"
if grep -rnE 'require\(?[[:space:]]*["'"'"']athanor\.orm' lua/athanor --include='*.lua' | grep -v '^lua/athanor/orm/'; then
  echo "layer violation: Core Lua requires the ORM"
  bad=1
fi
[ $bad -eq 0 ] && echo "layers ok"
exit $bad
