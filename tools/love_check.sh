#!/usr/bin/env bash
# The LÖVE example (examples/love, docs/love.md) headless, as a player would
# run it: the game assembled as docs/love.md says (the example's files,
# lua/athanor/ as athanor/, the LuaJIT build of the C module as
# athanor/core.so), then `love <dir> --test` and `love <game>.love --test`.
# conf.lua turns the window, graphics and audio modules off for --test, so no
# display is needed (no Xvfb, no SDL_VIDEODRIVER). Each run's round trip is
# asserted by its exit status and its "round trip ok" line; the helper's
# error cases by theirs. Every run gets a fresh $XDG_DATA_HOME (where LÖVE
# keeps save directories on Linux) and a LUA_CPATH that finds nothing, so
# only the game's own module can load.
# Prints "ok N - ..." / "not ok N - ..."; usage: tools/love_check.sh [BUILD]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR="$work/run" LUA_CPATH="$work/nowhere/?.so" LUA_PATH="$work/nowhere/?.lua"
mkdir -m 700 "$XDG_RUNTIME_DIR"
unset LUA_INIT
n=0
check() {  # check DESCRIPTION STATUS [LOG]
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; [ -n "${3:-}" ] && sed 's/^/#   /' "$3"; fi
}
if ! command -v love >/dev/null; then echo "not ok 1 - love is not installed (Debian package love: tools/deps.sh)"; exit 1; fi
if [ ! -f "$build/luajit/athanor/core.so" ]; then echo "not ok 1 - $build/luajit/athanor/core.so was not built"; exit 1; fi

# zip -r, or Python's zipfile where zip is missing.
make_love() {  # make_love DIR ARCHIVE [EXCLUDED-PATH]
  rm -f "$2"
  if command -v zip >/dev/null; then
    (cd "$1" && zip -q -r "$2" . ${3:+-x "$3"})
  else
    python3 - "$1" "$2" "${3:-}" <<'PY'
import os, sys, zipfile
src, out, skip = sys.argv[1:4]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for d, _, files in os.walk(src):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), src)
            if rel != skip:
                z.write(os.path.join(d, f), rel)
PY
  fi
}

# The game, assembled as docs/love.md says.
game="$work/savegame"
mkdir -p "$game/athanor"
cp "$root"/examples/love/*.lua "$game/"
cp -r "$root"/lua/athanor/. "$game/athanor/"
cp "$build/luajit/athanor/core.so" "$game/athanor/core.so"

run_love() {  # run_love XDG_DATA_HOME LOG GAME ARGS...: the exit status
  local data=$1 log=$2; shift 2
  XDG_DATA_HOME="$data" timeout 60 love "$@" >"$log" 2>&1
}
save="athanor-savegame"

d="$work/data-dir"
run_love "$d" "$work/dir.log" "$game" --test; rc=$?
grep -q '^athanor love round trip ok (directory' "$work/dir.log" && grep -qx "C module: $game/athanor/core.so" "$work/dir.log"
check "from a directory: the round trip passes, the module loads from the game's directory (rc $rc)" $(( rc != 0 || $? )) "$work/dir.log"

make_love "$game" "$work/savegame.love"
d="$work/data-love"
run_love "$d" "$work/love1.log" "$work/savegame.love" --test; rc=$?
grep -q '^athanor love round trip ok (.love archive' "$work/love1.log" &&
  grep -qx "C module: $d/love/$save/athanor-native/athanor/core.so" "$work/love1.log" &&
  cmp -s "$d/love/$save/athanor-native/athanor/core.so" "$build/luajit/athanor/core.so"
check "from a .love archive: setup() copies the module to the save directory, the round trip passes (rc $rc)" $(( rc != 0 || $? )) "$work/love1.log"

echo "not a module" >"$d/love/$save/athanor-native/athanor/core.so"
run_love "$d" "$work/love2.log" "$work/savegame.love" --test; rc=$?
grep -q '^previous save found: Ada, level 2$' "$work/love2.log" && grep -q '^athanor love round trip ok' "$work/love2.log" &&
  cmp -s "$d/love/$save/athanor-native/athanor/core.so" "$build/luajit/athanor/core.so"
check "a second run loads the first run's save and replaces a stale module copy (rc $rc)" $(( rc != 0 || $? )) "$work/love2.log"

make_love "$game" "$work/nomodule.love" athanor/core.so
d="$work/data-nomodule"
run_love "$d" "$work/nomodule.log" "$work/nomodule.love" --test; rc=$?
grep -q "InvalidRequestError: athanor.love.setup(): the game has no C module athanor/core.so" "$work/nomodule.log" &&
  grep -q "copy athanor's LuaJIT build (build/luajit/athanor/core.so) to athanor/core.so next to main.lua" "$work/nomodule.log" &&
  [ ! -e "$d/love/$save/save.db" ]
check "an archive without the module fails with an error saying what to copy, nothing saved (rc $rc)" $(( rc != 1 || $? )) "$work/nomodule.log"

: >"$work/not-a-directory"
run_love "$work/not-a-directory" "$work/nosave.log" "$work/savegame.love" --test; rc=$?
grep -q "OperationalError: athanor.love.setup(): could not create the save directory '$work/not-a-directory/love/$save'" "$work/nosave.log" &&
  grep -q "make its parent writable" "$work/nosave.log"
check "no save directory possible: an error naming it and what to do (rc $rc)" $(( rc != 1 || $? )) "$work/nosave.log"
