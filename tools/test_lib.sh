# shellcheck shell=bash
# Shared by tools/test.sh and tools/test_pg.sh: running suites and counting.
# Each suite appends one "LABEL: N passed, M failed" line to $RESULTS (the
# closing total sums those lines); a failing suite's output is printed in
# full, a passing one's summary line only. Needs LOGDIR, RESULTS and BUILD.

record() {  # record LABEL PASSED FAILED [NOTE]
  echo "$1: $2 passed, $3 failed${4:+ ($4)}" | tee -a "$RESULTS"
}

# A file name for a label ("busted lua5.4 sqlite" -> busted_lua5.4_sqlite).
logname() { local s=${1//[^A-Za-z0-9._-]/_}; echo "$LOGDIR/$s.out"; }

show_failure() {  # show_failure LABEL FILE
  echo "---- $1: output ----"; cat "$2"; echo "---- end of $1 ----"
  # Remembered for the closing recap (tools/test.sh finish): a CI log is
  # often read from its end only, where the full output above is cut off.
  printf '%s\t%s\n' "$1" "$2" >>"$LOGDIR/failures"
}

# run_cmocka BIN [WRAPPER...]: one cmocka executable; adds its counts to
# CM_PASSED / CM_FAILED (the caller records the suite line). A non-zero exit
# without a counted failure (crash, sanitizer or valgrind report) is a failure.
CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
run_cmocka() {
  local bin=$1; shift
  local name; name=$(basename "$bin")
  local out; out=$(logname "cmocka ${1:+$(basename "$1") }$name")
  "$@" "$bin" >"$out" 2>&1
  local rc=$? p f
  p=$(grep -oE '\[  PASSED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
  f=$(grep -oE '\[  FAILED  \] [0-9]+' "$out" | awk '{s+=$NF} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi        # ran nothing: broken binary
  if [ "$f" -ne 0 ]; then show_failure "$name${1:+ under $(basename "$1")}" "$out"; CM_FAILING+=" $name"; fi
  CM_PASSED=$((CM_PASSED + p)); CM_FAILED=$((CM_FAILED + f)); CM_BINS=$((CM_BINS + 1))
}

# cmocka_suite LABEL DIR [WRAPPER...]: every DIR/test/test_* except
# test_pg_driver (it needs the server; tools/test_pg.sh runs it), one line.
cmocka_suite() {
  local label=$1 dir=$2; shift 2
  CM_PASSED=0 CM_FAILED=0 CM_BINS=0 CM_FAILING=""
  local t
  for t in "$dir"/test/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    [ "$(basename "$t")" = test_pg_driver ] && continue
    run_cmocka "$t" "$@"
  done
  if [ "$CM_BINS" -eq 0 ]; then echo "$label: no test executables in $dir/test"; fi
  record "$label" "$CM_PASSED" "$CM_FAILED" "$CM_BINS executables${CM_FAILING:+; failing:$CM_FAILING}"
}

# run_busted LABEL INTERP FLAVOR URL EXCLUDE_TAG [VAR=value...]: the busted
# suite over spec/ on one interpreter against one backend. An empty spec/
# counts as zero; a run that never reaches busted's summary is one failure.
run_busted() {
  local label=$1 interp=$2 flavor=$3 url=$4 exclude=$5
  shift 5
  local out; out=$(logname "busted $label")
  if [ ! -d spec ] || [ -z "$(find spec -name '*_spec.lua' -print -quit)" ]; then
    record "busted $label" 0 0 "no specs in spec/"
    return
  fi
  (
    eval "$(bash tools/env.sh "$BUILD" "$flavor")"
    export ATHANOR_TEST_URL="$url"
    for kv in "$@"; do export "${kv?}"; done
    "$interp" /usr/bin/busted -o plainTerminal --exclude-tags="$exclude" spec
  ) >"$out" 2>&1
  local rc=$? line p f e
  line=$(grep -E '^[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors? ' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    p=0; f=1
  else
    read -r p _ _ f _ _ e _ <<<"$line"
    f=$((f + e))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  fi
  if [ "$f" -ne 0 ]; then show_failure "busted $label" "$out"; fi
  record "busted $label" "$p" "$f"
}

# run_check LABEL CMD...: one pass/fail check.
run_check() {
  local label=$1; shift
  local out; out=$(logname "check $label")
  if "$@" >"$out" 2>&1; then record "$label" 1 0
  else show_failure "$label" "$out"; record "$label" 0 1; fi
}

# run_tap LABEL CMD...: a command printing "ok ..." / "not ok ..." lines.
run_tap() {
  local label=$1; shift
  local out; out=$(logname "tap $label")
  "$@" >"$out" 2>&1
  local rc=$? p f
  p=$(grep -cE '^ok( |$)' "$out")
  f=$(grep -cE '^not ok( |$)' "$out")
  if { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; } || [ $((p + f)) -eq 0 ]; then f=$((f + 1)); fi
  if [ "$f" -ne 0 ]; then show_failure "$label" "$out"; fi
  record "$label" "$p" "$f"
}

# Percent-encode one URL component (bytewise, RFC 3986 unreserved kept).
urlenc() {
  local LC_ALL=C s=$1 out="" c h i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v h '%%%02X' "'$c"; out+=$h ;;
    esac
  done
  printf '%s' "$out"
}
