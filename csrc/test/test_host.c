/* test_host.c — the host API: one engine opened in C, handed to two
 * lua_States running in two OS threads, which see the same data. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"

typedef struct worker {
  ath_engine *engine;
  const char *chunk;             /* runs with the engine as global `engine` */
  char result[256];
  int ok;
} worker;

static void *run_worker(void *arg) {
  worker *w = arg;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  ath_openlib(L);
  (void)luaL_dostring(L, "package.path = '' package.cpath = ''");
  ath_host_push_engine(L, w->engine);
  lua_setglobal(L, "engine");
  w->ok = luaL_dostring(L, w->chunk) == LUA_OK;
  if (!w->ok && !lua_isstring(L, -1)) luaL_callmeta(L, -1, "__tostring");
  snprintf(w->result, sizeof w->result, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "(nil)");
  lua_close(L);
  return NULL;
}

/* Thread B waits for A's rows (polling, bounded), so both states are alive
 * at the same time and the data crosses between them through the engine. */
static void test_host_two_states_in_two_threads_share_memory_data(void **state) {
  (void)state;
  char err[256];
  ath_engine *e = ath_host_engine_open("sqlite://", NULL, err, sizeof err);
  assert_non_null(e);
  worker a = { e, "local ath = require('athanor')\n"
                  "engine:begin(function(c)\n"
                  "  c:exec_driver_sql('CREATE TABLE shared_rows (x INTEGER)')\n"
                  "  for i = 1, 3 do c:execute(ath.text('INSERT INTO shared_rows VALUES (:x)'), { x = i }) end\n"
                  "end)\n"
                  "return 'written'", "", 0 };
  worker b = { e, "local ath = require('athanor')\n"
                  "local now = require('athanor.core').monotonic\n"
                  "local deadline = now() + 60   -- wall clock: valgrind slows A's start a lot\n"
                  "while now() < deadline do\n"
                  "  local ok, n = pcall(engine.connect, engine, function(c)\n"
                  "    return c:execute(ath.text('SELECT sum(x) FROM shared_rows')):scalar() end)\n"
                  "  if ok and n == 6 then return 'sum ' .. n end\n"
                  "  local t = now() + 0.002 while now() < t do end\n"
                  "end\n"
                  "return 'never saw the rows'", "", 0 };
  pthread_t ta, tb;
  pthread_create(&tb, NULL, run_worker, &b);
  pthread_create(&ta, NULL, run_worker, &a);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  if (!a.ok) fail_msg("state A: %s", a.result);
  if (!b.ok) fail_msg("state B: %s", b.result);
  assert_string_equal(a.result, "written");
  assert_string_equal(b.result, "sum 6");
  ath_host_engine_release(e);
}

static void test_host_threads_insert_concurrently_through_one_pool(void **state) {
  (void)state;
  char path[] = "/tmp/athanor-host-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  char url[128];
  snprintf(url, sizeof url, "sqlite:///%s", path);
  ath_host_engine_options o;
  ath_host_engine_options_init(&o);
  o.pool_size = 2;
  o.max_overflow = 0;
  char err[256];
  ath_engine *e = ath_host_engine_open(url, &o, err, sizeof err);
  assert_non_null(e);
  worker setup = { e, "engine:connect(function(c) c:exec_driver_sql('CREATE TABLE t (x INTEGER)') end) return 'ok'", "", 0 };
  run_worker(&setup);
  assert_true(setup.ok);
  const char *insert = "local ath = require('athanor')\n"
                       "for i = 1, 200 do engine:begin(function(c)\n"
                       "  c:execute(ath.text('INSERT INTO t VALUES (:x)'), { x = i }) end) end\n"
                       "return 'ok'";
  worker w1 = { e, insert, "", 0 }, w2 = { e, insert, "", 0 };
  pthread_t t1, t2;
  pthread_create(&t1, NULL, run_worker, &w1);
  pthread_create(&t2, NULL, run_worker, &w2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  if (!w1.ok) fail_msg("worker 1: %s", w1.result);
  if (!w2.ok) fail_msg("worker 2: %s", w2.result);
  worker check = { e, "local ath = require('athanor')\n"
                      "local st = engine.pool:status()\n"
                      "assert(st.checked_out == 0, 'checked out: ' .. st.checked_out)\n"
                      "return tostring(engine:connect(function(c) return c:execute(ath.text('SELECT count(*) FROM t')):scalar() end))",
                   "", 0 };
  run_worker(&check);
  if (!check.ok) fail_msg("check: %s", check.result);
  assert_string_equal(check.result, "400");
  ath_host_engine_release(e);
  unlink(path);
}

static void test_host_a_shared_name_reaches_the_same_engine_from_lua(void **state) {
  (void)state;
  ath_host_engine_options o;
  ath_host_engine_options_init(&o);
  o.shared_name = "host-main";
  char err[256];
  ath_engine *e = ath_host_engine_open("sqlite://", &o, err, sizeof err);
  assert_non_null(e);
  worker a = { e, "engine:connect(function(c) c:exec_driver_sql('CREATE TABLE named (x)') "
                  "c:exec_driver_sql('INSERT INTO named VALUES (7)') end) return 'ok'", "", 0 };
  run_worker(&a);
  assert_true(a.ok);
  worker b = { e, "local ath = require('athanor')\n"
                  "local mine = ath.create_engine('sqlite://', { shared = 'host-main' })\n"
                  "return tostring(mine:connect(function(c) return c:execute(ath.text('SELECT x FROM named')):scalar() end))",
               "", 0 };
  run_worker(&b);
  if (!b.ok) fail_msg("%s", b.result);
  assert_string_equal(b.result, "7");
  ath_host_engine_release(e);
}

static void test_host_open_reports_a_bad_url(void **state) {
  (void)state;
  char err[256] = "";
  assert_null(ath_host_engine_open("nonsense", NULL, err, sizeof err));
  assert_non_null(strstr(err, "ArgumentError"));
  assert_non_null(strstr(err, "nonsense"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_host_two_states_in_two_threads_share_memory_data),
    cmocka_unit_test(test_host_threads_insert_concurrently_through_one_pool),
    cmocka_unit_test(test_host_a_shared_name_reaches_the_same_engine_from_lua),
    cmocka_unit_test(test_host_open_reports_a_bad_url),
  };
  return cmocka_run_group_tests_name("host", tests, NULL, NULL);
}
