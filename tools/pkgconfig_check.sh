#!/usr/bin/env bash
# C hosts as the README shows them: `make install` into a temporary prefix,
# then the README's C example (the ```c block after the marker
# "tested by tools/pkgconfig_check.sh"), compiled with the README's line as
# written (the ```sh block after it) once for Lua 5.4 (athanor.pc) and once
# for LuaJIT (athanor-luajit.pc, the line with "athanor" replaced), each run
# against the installed shared library. Prints "ok N - ..." / "not ok N - ...".
# usage: tools/pkgconfig_check.sh [BUILD]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
n=0
check() {  # check DESCRIPTION STATUS [LOG]
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; [ -n "${3:-}" ] && sed 's/^/#   /' "$3"; fi
}
cd "$root" || exit 1
make -s BUILD="$build" install PREFIX="$prefix" >"$prefix/install.log" 2>&1 &&
  [ -f "$prefix/lib/pkgconfig/athanor.pc" ] && [ -f "$prefix/lib/pkgconfig/athanor-luajit.pc" ]
check "make install PREFIX=<temp> installs athanor.pc and athanor-luajit.pc" $? "$prefix/install.log"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

# The README's example and compile line, exactly as printed there.
awk '/tested by tools\/pkgconfig_check.sh/ { on = 1; next }
     on && /^ *```c$/ { inblock = 1; next }
     inblock && /^ *```$/ { exit }
     inblock { sub(/^  /, ""); print }' README.md >"$prefix/app.c"
line=$(awk '/tested by tools\/pkgconfig_check.sh/ { on = 1; next }
     on && /^ *```sh$/ { inblock = 1; next }
     inblock && /^ *```$/ { exit }
     inblock && /pkg-config/ { sub(/^ */, ""); sub(/ *#.*$/, ""); print; exit }' README.md)
static_line=$(awk '/tested by tools\/pkgconfig_check.sh/ { on = 1; next }
     on && /^ *```sh$/ { inblock = 1; next }
     inblock && /^ *```$/ { exit }
     inblock && /libathanor\.a/ { sub(/^ */, ""); sub(/ *#.*$/, ""); print; exit }' README.md)
[ -s "$prefix/app.c" ] && [ -n "$line" ] && [ -n "$static_line" ]
check "README.md has the C example and its compile lines (shared and static) after the marker" $?
case "$line" in *'pkg-config --cflags --libs athanor'*) s=0 ;; *) s=1 ;; esac
check "the README's compile line uses pkg-config --cflags --libs athanor ($line)" $s

for flavor in athanor athanor-luajit; do
  dir="$prefix/$flavor"; mkdir -p "$dir"; cp "$prefix/app.c" "$dir/app.c"
  cmd=${line//pkg-config --cflags --libs athanor/pkg-config --cflags --libs $flavor}
  (cd "$dir" && CFLAGS='' bash -c "$cmd -Wall -Wextra -Werror") >"$dir/build.log" 2>&1
  check "$flavor: '$cmd' builds the README's example against the installed library" $? "$dir/build.log"
  # Not on the default search path: the loader is told, as the README says.
  out=$(cd / && LD_LIBRARY_PATH="$prefix/lib" "$dir/app" 2>&1); rc=$?
  if [ "$flavor" = athanor ]; then want=$'42\tLua 5.4'; else want=$'42\tLuaJIT 2.1'; fi
  case "$out" in "$want"*) s=$rc ;; *) s=1 ;; esac
  echo "$out" >"$dir/run.log"
  check "$flavor: the example runs a query on SQLite through lib$flavor.so (got: $out)" $s "$dir/run.log"
  LD_LIBRARY_PATH="$prefix/lib" ldd "$dir/app" >"$dir/ldd.log" 2>&1
  grep -q "lib$flavor.so => $prefix/lib/" "$dir/ldd.log"
  check "$flavor: the example is linked with the installed lib$flavor.so" $? "$dir/ldd.log"

  # The static line, for LuaJIT with the names the README says to swap.
  cmd=${static_line//PREFIX/$prefix}
  if [ "$flavor" = athanor-luajit ]; then
    cmd=${cmd//pkg-config --cflags athanor/pkg-config --cflags athanor-luajit}
    cmd=${cmd//libathanor.a/libathanor-luajit.a}
    cmd=${cmd//lua5.4/luajit}
  fi
  cmd=${cmd/-o app/-o app-static}
  (cd "$dir" && CFLAGS='' bash -c "$cmd -Wall -Wextra -Werror") >"$dir/static.log" 2>&1 &&
    out=$(cd / && "$dir/app-static" 2>&1) && case "$out" in "$want"*) true ;; *) false ;; esac &&
    ! ldd "$dir/app-static" | grep -q libathanor
  check "$flavor: the README's static line builds an example that runs without lib$flavor.so ($cmd)" $? "$dir/static.log"
done
