#!/usr/bin/env bash
# The nginx test: athanor inside Debian's nginx with lua-nginx-module
# (libnginx-mod-http-lua, lua-resty-core), 2 workers, on 127.0.0.1 at a free
# port, under a private prefix (pid, logs, temp files and SQLite databases in
# a temporary directory). The endpoints are spec/openresty/app.lua.
# Prints "ok - ..." / "not ok - ..." lines (tools/test_lib.sh run_tap counts
# them) and "# ..." lines with measurements and notes.
#   ATHANOR_TEST_URL   a postgresql:// URL (required: the PostgreSQL tests)
#   BUILD              the build directory (default build): BUILD/luajit/athanor/core.so
#   ATHANOR_NGX_KEEP=1 keep the temporary directory (logs) afterwards
# The cosocket endpoints run when the cosocket driver
# (lua/athanor/drivers/pgwire.lua) exists; otherwise they are skipped with a
# note. Load is bounded: ab -n <= 2000, every request times out after 10 s,
# every ab run after 60 s. nginx is stopped by its pid when the script ends.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
CPATH_DIR="$BUILD/luajit"
MODDIR=/usr/lib/nginx/modules

passed=0 failed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }
check() {  # check DESCRIPTION CONDITION-COMMAND...
  local desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
note() { echo "# $*"; }

# contains_all TEXT PHRASE...: every phrase occurs in TEXT.
contains_all() {
  local text=$1 p; shift
  for p in "$@"; do [[ "$text" == *"$p"* ]] || return 1; done
}
# Arithmetic on decimals: fcmp "1.5 < 2" exits 0 when true.
fcmp() { awk "BEGIN { exit !($1) }"; }
# jget FILE PATH: a value out of a JSON file ("a.b.0.c"); booleans as true/false.
jget() {
  python3 - "$1" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        d = d[int(k)] if isinstance(d, list) else d.get(k)
except Exception:
    d = None
print("" if d is None else (str(d).lower() if isinstance(d, bool) else d))
PY
}

for need in nginx curl ab python3 ps; do
  command -v "$need" >/dev/null || { not_ok "$need is installed (tools/deps.sh)"; echo "$passed passed, $failed failed"; exit 1; }
done
for f in "$MODDIR/ndk_http_module.so" "$MODDIR/ngx_http_lua_module.so" "$CPATH_DIR/athanor/core.so"; do
  [ -f "$f" ] || { not_ok "$f exists (libnginx-mod-http-lua; make all)"; echo "$passed passed, $failed failed"; exit 1; }
done
case "${ATHANOR_TEST_URL:-}" in
  postgres*://*) ;;
  *) not_ok "ATHANOR_TEST_URL is a postgresql:// URL (got '${ATHANOR_TEST_URL:-}')"; echo "$passed passed, $failed failed"; exit 1 ;;
esac
export ATHANOR_TEST_URL
if [ -f "$ROOT/lua/athanor/drivers/pgwire.lua" ]; then
  export ATHANOR_NGX_COSOCKET=1
else
  export ATHANOR_NGX_COSOCKET=0
  note "the cosocket driver (lua/athanor/drivers/pgwire.lua) is absent: its endpoints (smoke, slow-query burst, pool wait) are skipped"
fi

TMP=$(mktemp -d /tmp/athanor-ngx.XXXXXX)
PIDFILES=()                   # the pid files of the nginx instances started here
stop_nginx() {  # stop_nginx PIDFILE: QUIT by pid, then KILL what is left (a hung worker)
  local pidfile=$1 master workers w i
  [ -f "$pidfile" ] || return 0
  master=$(cat "$pidfile")
  workers=$(ps -o pid= --ppid "$master" 2>/dev/null | tr '\n' ' ')
  kill -QUIT "$master" 2>/dev/null
  for ((i = 0; i < 50; i++)); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$master" 2>/dev/null; then
    note "nginx $master did not stop in 5 s: killing it and its workers ($workers)"
    kill -KILL "$master" 2>/dev/null
  fi
  for w in $workers; do kill -KILL "$w" 2>/dev/null; done
  rm -f "$pidfile"
}
cleanup() {
  local p
  for p in "${PIDFILES[@]}"; do stop_nginx "$p"; done
  if [ -n "${ATHANOR_NGX_KEEP:-}" ]; then note "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# As root, nginx would run its workers as nobody, who may not reach the
# build or the PostgreSQL socket: keep them as the invoking user.
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root root;"

# launch NAME PIDFILE PROBE: nginx with PREFIX/nginx.conf under the prefix
# PREFIX, answering PROBE (any HTTP answer) within 5 s.
launch() {
  local name=$1 pidfile=$2 probe=$3 i
  export ATHANOR_NGX_PREFIX=$PREFIX
  if ! nginx -p "$PREFIX/" -c "$PREFIX/nginx.conf" -e "$PREFIX/error.log" >"$PREFIX/start.out" 2>&1; then
    not_ok "nginx ($name) starts"; cat "$PREFIX/start.out" "$PREFIX/error.log" 2>/dev/null | sed 's/^/#   /'
    return 1
  fi
  PIDFILES+=("$pidfile")
  for ((i = 0; i < 50; i++)); do
    if curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT$probe"; then ok "nginx ($name) starts with 2 workers on 127.0.0.1:$PORT"; return 0; fi
    sleep 0.1
  done
  not_ok "nginx ($name) answers within 5 s"; sed 's/^/#   /' "$PREFIX/error.log"
  return 1
}

# start_nginx NAME INIT_BY_LUA: a prefix TMP/NAME, a conf from the template
# (sets PORT and PREFIX), launched.
start_nginx() {
  local name=$1 init=$2
  PREFIX=$TMP/$name
  mkdir -p "$PREFIX/tmp"
  PORT=$(free_port)
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@ROOT@|$ROOT|g" -e "s|@CPATH@|$CPATH_DIR|g" \
      -e "s|@PORT@|$PORT|g" -e "s|@USER@|$USER_LINE|" -e "s|@INIT_BY_LUA@|$init|" \
      spec/openresty/nginx.conf.in >"$PREFIX/nginx.conf"
  launch "$name" "$PREFIX/nginx.pid" /nodb
}

# get PATH [FILE]: GET into FILE ($TMP/body); sets CODE and TIME (seconds).
get() {
  local out
  out=$(curl -s -m 10 -o "${2:-$TMP/body}" -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT$1")
  CODE=${out% *} TIME=${out#* }
}
# expect_ok DESCRIPTION PATH: 200 and no "error" in the answer.
expect_ok() {
  get "$2"
  if [ "$CODE" = 200 ] && [ -z "$(jget "$TMP/body" error)" ]; then ok "$1"
  else not_ok "$1 (HTTP $CODE: $(head -c 600 "$TMP/body"))"; fi
}

# ab_run LABEL N C PATH: ab bounded in count and time (ab gives up on the
# first request that takes over 10 s, and the whole run after 60 s), then
# ab_parse.
ab_run() {
  timeout 60 ab -q -n "$2" -c "$3" -s 10 -r "http://127.0.0.1:$PORT$4" >"$(ab_file "$1")" 2>&1
  ab_parse "$1" "$2"
}
ab_file() { echo "$TMP/ab_${1//[^A-Za-z0-9]/_}.out"; }
# ab_parse LABEL N: sets AB_RPS, AB_TIME (seconds), AB_FAILED (requests
# that failed or answered non-2xx; all N when ab did not complete) and
# AB_NOTE. A different body length is not a failure (ab counts it as one).
ab_parse() {
  local out; out=$(ab_file "$1")
  local n=$2 complete bad non2xx
  AB_RPS=$(awk '/^Requests per second:/ { print $4 }' "$out")
  AB_TIME=$(awk '/^Time taken for tests:/ { print $5 }' "$out")
  complete=$(awk '/^Complete requests:/ { print $3 }' "$out")
  bad=$(sed -n 's/.*(Connect: \([0-9]*\), Receive: \([0-9]*\), Length: [0-9]*, Exceptions: \([0-9]*\)).*/\1 + \2 + \3/p' "$out")
  non2xx=$(awk '/^Non-2xx responses:/ { print $3 }' "$out")
  if [ "${complete:-0}" != "$n" ]; then
    AB_FAILED=$n AB_RPS=0 AB_TIME=999
    AB_NOTE="ab did not complete: $(grep -E 'timeout|Total of|apr_' "$out" | tr '\n' ' ')"
  else
    AB_FAILED=$(( ${bad:-0} + ${non2xx:-0} )) AB_NOTE="$AB_TIME s"
  fi
}

# burst LABEL DB: 40 x pg_sleep(0.2) at concurrency 20, and one /nodb
# request sent 0.2 s into the burst. Sets AB_* and NODB_TIME, NODB_CODE.
burst() {
  timeout 60 ab -q -n 40 -c 20 -s 10 -r "http://127.0.0.1:$PORT/sleep?db=$2&t=0.2" >"$(ab_file "$1")" 2>&1 &
  local abpid=$!
  sleep 0.2                                  # ab is sending by then: the burst lasts 0.4 s at the least
  get /nodb "$TMP/nodb"
  NODB_TIME=$TIME NODB_CODE=$CODE
  wait "$abpid"
  ab_parse "$1" 40
}

# ---------------------------------------------------------------- main instance
if start_nginx main ""; then
  DBS="sqlite pg"
  [ "$ATHANOR_NGX_COSOCKET" = 1 ] && DBS="$DBS cos"
  for db in $DBS; do
    expect_ok "setup on $db (create_all, executemany)" "/setup?db=$db"
  done
  for db in $DBS; do
    for _ in 1 2 3 4; do                     # several requests: both workers, most likely
      expect_ok "Core smoke on $db (select, insert RETURNING, executemany, NULL, ath.null == ngx.null)" "/smoke?db=$db"
    done
  done

  # Fast queries under load (libpq; the cosocket driver when present).
  for db in $DBS; do
    for ep in select insert; do
      ab_run "$ep $db" 2000 20 "/$ep?db=$db"
      check "ab -n 2000 -c 20 /$ep?db=$db: 0 errors ($AB_NOTE)" [ "$AB_FAILED" -eq 0 ]
      note "measure: $ep on $db: $AB_RPS requests/s (ab -n 2000 -c 20, 2 workers)"
    done
  done

  # The libpq pool inside nginx: a checkout that would wait fails at once.
  get /nodb                                  # warm
  get "/hold?db=pg1" "$TMP/hold" &
  holdpid=$!
  sleep 0.15
  get /nodb; probe_time=$TIME probe_code=$CODE
  wait "$holdpid"
  first_ok=$(jget "$TMP/hold" first.ok) second_kind=$(jget "$TMP/hold" second.kind)
  second_msg=$(jget "$TMP/hold" second.message)
  second_took=$(awk -v a="$(jget "$TMP/hold" second.ended)" -v b="$(jget "$TMP/hold" second.started)" 'BEGIN { print (a == "" || b == "") ? 99 : a - b }')
  first_end=$(jget "$TMP/hold" first.ended)
  check "libpq pool_size 1 inside nginx: the first holder succeeds after its ngx.sleep(0.5) (ended at ${first_end:-?} s)" \
    [ "$first_ok" = true ]
  check "libpq pool_size 1 inside nginx: the second checkout fails with PoolTimeoutError" [ "$second_kind" = PoolTimeoutError ]
  # "at once": well before pool_timeout (5 s) and before the holder is back
  # (0.5 s); the margin is for a loaded machine (a full collection runs first).
  check "libpq pool_size 1 inside nginx: ... at once (in $second_took s), not after pool_timeout (5 s)" \
    fcmp "$second_took < 0.4"
  check "libpq pool_size 1 inside nginx: the message names the size, the worker and postgresql+cosocket" \
    contains_all "$second_msg" "size 1 overflow 0 reached" "same nginx worker" "postgresql+cosocket://"
  check "libpq pool_size 1 inside nginx: other requests are answered meanwhile (HTTP $probe_code in $probe_time s)" \
    fcmp "$probe_code == 200 && $probe_time < 0.3"
  note "the libpq exhaustion message: $second_msg"

  # The Lua pool (the cosocket driver's) with fake connections and the real
  # ngx.semaphore: a checkout that must wait yields.
  get "/luapool" "$TMP/hold" &
  holdpid=$!
  sleep 0.15
  get /nodb; probe_time=$TIME probe_code=$CODE
  wait "$holdpid"
  first_ok=$(jget "$TMP/hold" first.ok) second_ok=$(jget "$TMP/hold" second.ok)
  second_at=$(jget "$TMP/hold" second.checkout_at) total=$(jget "$TMP/hold" total)
  check "lua_pool in nginx: the host is nginx (ngx.semaphore)" [ "$(jget "$TMP/hold" host)" = nginx ]
  check "lua_pool pool_size 1: both holders succeed (the second waited by yielding)" [ "$first_ok/$second_ok" = true/true ]
  check "lua_pool pool_size 1: one waiter while the first holds it" [ "$(jget "$TMP/hold" waiters_mid)" = 1 ]
  check "lua_pool pool_size 1: the second got it when the first returned it (at ${second_at:-?} s)" \
    fcmp "${second_at:-0} >= 0.45 && ${second_at:-0} < 0.8"
  check "lua_pool pool_size 1: about 1 s in total (${total:-?} s)" fcmp "${total:-0} >= 0.95 && ${total:-0} < 1.4"
  check "lua_pool pool_size 1: other requests are answered meanwhile (HTTP $probe_code in $probe_time s)" \
    fcmp "$probe_code == 200 && $probe_time < 0.3"
  get "/luapool?timeout=0.2" "$TMP/hold"
  check "lua_pool: a wait longer than pool_timeout fails with the C pool's message" \
    [ "$(jget "$TMP/hold" second.message)" = "QueuePool limit of size 1 overflow 0 reached, connection timed out, timeout 0.2 s" ]
  check "lua_pool: ... after pool_timeout ($(jget "$TMP/hold" second.ended) s)" \
    fcmp "$(jget "$TMP/hold" second.ended) >= 0.19 && $(jget "$TMP/hold" second.ended) < 0.45"
  filter=$(curl -s -m 10 -o /dev/null -D - "http://127.0.0.1:$PORT/luapool_filter" | tr -d '\r' | sed -n 's/^X-Lua-Pool: //p')
  check "lua_pool in a header filter: an exhausted pool fails at once, naming the phase" \
    contains_all "$filter" "PoolTimeoutError in 0.0" "nginx phase 'header_filter' cannot yield"

  # The slow-query burst with libpq: the baseline (every call blocks its worker).
  burst "burst pg" pg
  check "slow-query burst on libpq: 40 x pg_sleep(0.2) at -c 20 complete without errors" [ "$AB_FAILED" -eq 0 ]
  note "measure: slow-query burst on libpq (blocking, the baseline): $AB_TIME s for 40 x pg_sleep(0.2) at -c 20; a /nodb request during it took $NODB_TIME s"

  if [ "$ATHANOR_NGX_COSOCKET" = 1 ]; then
    burst "burst cos" cos
    check "slow-query burst on cosockets: 40 x pg_sleep(0.2) at -c 20 complete without errors" [ "$AB_FAILED" -eq 0 ]
    check "slow-query burst on cosockets: finished in under 1 s ($AB_TIME s)" fcmp "$AB_TIME < 1 && $AB_FAILED == 0"
    check "slow-query burst on cosockets: a /nodb request during it answers in under 100 ms ($NODB_TIME s)" \
      fcmp "$NODB_CODE == 200 && $NODB_TIME < 0.1"
    note "measure: slow-query burst on cosockets: $AB_TIME s; /nodb during it: $NODB_TIME s"

    get "/hold?db=cos1" "$TMP/hold" &
    holdpid=$!
    sleep 0.15
    get /nodb; probe_time=$TIME probe_code=$CODE
    wait "$holdpid"
    first_ok=$(jget "$TMP/hold" first.ok) second_ok=$(jget "$TMP/hold" second.ok)
    second_at=$(jget "$TMP/hold" second.checkout_at) total=$(jget "$TMP/hold" total)
    check "cosocket pool_size 1: both holders succeed (the second waited by yielding)" \
      [ "$first_ok/$second_ok" = true/true ]
    check "cosocket pool_size 1: the second got the connection when the first returned it (at ${second_at:-?} s)" \
      fcmp "${second_at:-0} >= 0.45 && ${second_at:-0} < 0.7"
    check "cosocket pool_size 1: about 1 s in total (${total:-?} s)" fcmp "${total:-0} >= 0.95 && ${total:-0} < 1.3"
    check "cosocket pool_size 1: other requests are answered meanwhile (HTTP $probe_code in $probe_time s)" \
      fcmp "$probe_code == 200 && $probe_time < 0.1"
  fi

  errors_logged=$(grep -cE '\[(alert|crit|emerg)\]' "$PREFIX/error.log")
  check "no alert/crit/emerg in the error log of the main instance" [ "$errors_logged" -eq 0 ]
  [ "$errors_logged" -eq 0 ] || grep -E '\[(alert|crit|emerg)\]' "$PREFIX/error.log" | head -20 | sed 's/^/#   /'
  stop_nginx "$PREFIX/nginx.pid"
fi

# ---------------------------------------------------------------- fork instance
# Engines made and used in init_by_lua (the master): every worker inherits
# their pooled connections. A connection from another process must be
# dropped, never used, in the worker.
if start_nginx fork 'init_by_lua_block { require("app").init_master() }'; then
  for db in sqlite pg; do                    # pg last: its damage can hang a worker
    ab_run "fork $db" 400 10 "/fork?db=$db"
    check "fork: 400 requests on the $db engine used in init_by_lua: 0 errors ($AB_FAILED failed; $AB_NOTE)" \
      [ "$AB_FAILED" -eq 0 ]
  done
  get /fork_stats "$TMP/stats"
  stats=$(cat "$TMP/stats" 2>/dev/null)
  pids_seen=$(python3 -c 'import json,sys; print(len({k.split(":")[1] for k in json.load(open(sys.argv[1]))}))' "$TMP/stats" 2>/dev/null || echo 0)
  # No hung worker: both workers are alive and answer. The listen socket has
  # reuseport, so the kernel spreads connections over the two workers by
  # their source ports: a worker stuck in a syscall would leave some of
  # these 20 unanswered (odds of all 20 on one worker: 2^-19).
  workers=$(ps -o pid= --ppid "$(cat "$PREFIX/nginx.pid")" | wc -l)
  answered=0
  for _ in $(seq 1 20); do
    curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/nodb" || break   # a hung worker: no need to wait for more
    answered=$((answered + 1))
  done
  check "fork: no hung worker ($workers workers alive, $answered of 20 later requests answered within 2 s each)" \
    [ "$workers/$answered" = 2/20 ]
  note "fork: requests per engine:worker: $stats ($pids_seen worker(s) served them)"
  if grep -qE 'server closed the connection|already exists|\[alert\]' "$PREFIX/error.log"; then
    note "fork: the error log shows shared-connection damage:"; grep -E '\[(error|alert)\]' "$PREFIX/error.log" | head -5 | sed 's/^/#   /'
  fi
  stop_nginx "$PREFIX/nginx.pid"
fi

# ---------------------------------------------------------------- the example
# examples/openresty as shipped, with only the paths to this tree and build,
# the port and the user changed; on SQLite (its default) and on PostgreSQL
# (the cosocket URL when that driver exists).
# jnull FILE KEY: the JSON object in FILE has KEY, and it is null.
jnull() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (sys.argv[2] in d and d[sys.argv[2]] is None))' "$1" "$2"; }
# req METHOD PATH [BODY]: into $TMP/ex; sets CODE.
req() {
  CODE=$(curl -s -m 10 -o "$TMP/ex" -w '%{http_code}' -X "$1" ${3:+-d "$3"} "http://127.0.0.1:$PORT$2")
}
example_urls="sqlite"
if [ "$ATHANOR_NGX_COSOCKET" = 1 ]; then
  cos_url=${ATHANOR_TEST_URL/#postgres*:\/\//postgresql+cosocket://}
  cos_url=${cos_url/@localhost:/@127.0.0.1:}; cos_url=${cos_url/@localhost\//@127.0.0.1\/}  # cosockets do not read /etc/hosts
  example_urls+=" $cos_url"
else example_urls+=" $ATHANOR_TEST_URL"; fi
if ! (eval "$(bash tools/env.sh "$BUILD" luajit)"; luajit -e 'local ath = require("athanor")
      ath.create_engine("sqlite://", { nulls = ath.null })' >/dev/null 2>&1); then
  note "the nulls = ath.null option is absent from this build: the example (which uses it) is skipped"
  example_urls=""
fi
n=0
for url in $example_urls; do
  n=$((n + 1))
  PREFIX=$TMP/example$n
  mkdir -p "$PREFIX/tmp"
  PORT=$(free_port)
  cp examples/openresty/nginx.conf examples/openresty/notes.lua "$PREFIX/"
  sed -i -e "s|\$prefix/\.\./\.\./build|${BUILD%/}|; s|\$prefix/\.\./\.\.|$ROOT|g" \
      -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$PORT;|" -e "s|^worker_processes|$USER_LINE\nworker_processes|" "$PREFIX/nginx.conf"
  if [ "$url" = sqlite ]; then unset NOTES_URL; else export NOTES_URL=$url; fi
  db=${url%%:*}
  if launch "example on $db" "$PREFIX/notes.pid" /notes; then
    req POST /notes '{"title":"milk","body":null}'
    id=$(jget "$TMP/ex" id)
    check "example on $db: POST /notes creates a note (HTTP $CODE, id ${id:-none})" [ "$CODE/${id:+y}" = 201/y ]
    check "example on $db: ... and its JSON keeps the NULL body as null" jnull "$TMP/ex" body
    req GET "/notes/$id"
    check "example on $db: GET /notes/$id answers it with body null (HTTP $CODE)" jnull "$TMP/ex" body
    req GET /notes
    check "example on $db: GET /notes lists it (HTTP $CODE)" grep -q "\"title\":\"milk\"" "$TMP/ex"
    req POST /notes '{"body":"no title"}'
    check "example on $db: a note without a title is refused with 400 (HTTP $CODE)" [ "$CODE" = 400 ]
    req DELETE "/notes/$id"
    check "example on $db: DELETE removes it (HTTP $CODE)" [ "$CODE" = 204 ]
    req GET "/notes/$id"
    check "example on $db: ... and then it is gone (HTTP $CODE)" [ "$CODE" = 404 ]
    stop_nginx "$PREFIX/notes.pid"
  fi
done
unset NOTES_URL

# Leave the PostgreSQL database as we found it.
if ! (eval "$(bash tools/env.sh "$BUILD" luajit)"; luajit -e 'local ath = require("athanor")
      ath.create_engine(os.getenv("ATHANOR_TEST_URL")):connect(function(c)
        c:exec_driver_sql("DROP TABLE IF EXISTS ngx_items"); c:exec_driver_sql("DROP TABLE IF EXISTS notes") end)'); then
  not_ok "the test tables (ngx_items, notes) are dropped from PostgreSQL"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
