# Shared by tools/test.sh and tools/test_pg.sh: running suites and counting.
# Each suite appends "LABEL: N passed, M failed" to $RESULTS; a failing
# suite's output is printed in full, a passing one's summary only.

record() {  # label passed failed
  echo "$1: $2 passed, $3 failed" | tee -a "$RESULTS"
}

# run_cmocka BIN [WRAPPER...]: one cmocka executable.
run_cmocka() {
  local bin=$1; shift
  local name; name=$(basename "$bin")
  local out="$LOGDIR/$name.$$.out"
  "$@" "$bin" >"$out" 2>&1
  local rc=$?
  local p f
  p=$(grep -oE '\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
  f=$(grep -oE '\[  FAILED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi     # a crash, sanitizer or valgrind report
  if [ "$f" -ne 0 ]; then echo "---- $name output ----"; cat "$out"; echo "----"; fi
  record "cmocka ${*:+$(basename "$1") }$name" "$p" "$f"
}

# run_busted LABEL INTERP FLAVOR URL EXCLUDE_TAG [extra env assignments...]
run_busted() {
  local label=$1 interp=$2 flavor=$3 url=$4 exclude=$5
  shift 5
  local out="$LOGDIR/busted-${label// /_}.$$.out"
  (
    eval "$(bash tools/env.sh "$BUILD" "$flavor")"
    export ATHANOR_TEST_URL="$url"
    for kv in "$@"; do export "${kv?}"; done
    "$interp" /usr/bin/busted -o plainTerminal --exclude-tags="$exclude" spec
  ) >"$out" 2>&1
  local rc=$?
  local line p f e
  line=$(grep -E '^[0-9]+ successes / [0-9]+ failures / [0-9]+ errors' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    p=0; f=1
  else
    p=$(echo "$line" | awk '{print $1}')
    f=$(echo "$line" | awk '{print $4}')
    e=$(echo "$line" | awk '{print $7}')
    f=$((f + e))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  fi
  if [ "$f" -ne 0 ]; then echo "---- busted $label output ----"; cat "$out"; echo "----"; fi
  record "busted $label" "$p" "$f"
}

# run_check LABEL CMD...: one pass/fail check.
run_check() {
  local label=$1; shift
  local out="$LOGDIR/check-${label// /_}.$$.out"
  if "$@" >"$out" 2>&1; then record "$label" 1 0
  else echo "---- $label output ----"; cat "$out"; echo "----"; record "$label" 0 1; fi
}
