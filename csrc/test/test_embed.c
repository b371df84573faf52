/* test_embed.c — a host links libathanor.a, opens fresh lua_States, calls
 * ath_openlib and uses athanor with nothing on disk to load from. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"

/* A state whose package.path/cpath find nothing: only preload can work. */
static lua_State *fresh_state(void) {
  lua_State *L = luaL_newstate();
  assert_non_null(L);
  luaL_openlibs(L);
  assert_int_equal(ath_openlib(L), 0);
  assert_int_equal(luaL_dostring(L, "package.path = '' package.cpath = ''"), LUA_OK);
  return L;
}

static const char *run(lua_State *L, const char *chunk) {
  if (luaL_dostring(L, chunk) != LUA_OK) {
    if (!lua_isstring(L, -1)) luaL_callmeta(L, -1, "__tostring");
    fail_msg("chunk failed: %s", lua_tostring(L, -1));
  }
  return lua_tostring(L, -1);
}

static void test_embed_require_works_with_no_files_on_disk(void **state) {
  (void)state;
  lua_State *L = fresh_state();
  const char *v = run(L,
    "local ath = require('athanor')\n"
    "local e = ath.create_engine('sqlite://')\n"
    "local c = e:connect()\n"
    "c:exec_driver_sql('create table t(x)')\n"
    "c:execute(ath.text('insert into t values (:x)'), { x = 42 })\n"
    "local v = c:execute(ath.text('select x from t')):scalar()\n"
    "c:close()\n"
    "return tostring(v)");
  assert_string_equal(v, "42");
  lua_close(L);
}

static void test_embed_modules_come_from_the_library(void **state) {
  (void)state;
  lua_State *L = fresh_state();
  const char *v = run(L,
    "require('athanor')\n"
    "local info = debug.getinfo(require('athanor.engine.connection').Connection.execute, 'S')\n"
    "return info.source");
  assert_string_equal(v, "@athanor/engine/connection.lua");
  lua_close(L);
}

static void test_embed_two_states_are_independent(void **state) {
  (void)state;
  lua_State *a = fresh_state(), *b = fresh_state();
  run(a, "E = require('athanor').create_engine('sqlite://') C = E:connect() "
         "C:exec_driver_sql('create table only_in_a(x)') return 'ok'");
  const char *v = run(b,
    "local ath = require('athanor') local c = ath.create_engine('sqlite://'):connect()\n"
    "local ok = pcall(c.exec_driver_sql, c, 'select * from only_in_a')\n"
    "c:close() return tostring(ok)");
  assert_string_equal(v, "false");
  lua_close(a);
  lua_close(b);
}

static void test_embed_unknown_module_still_fails_cleanly(void **state) {
  (void)state;
  lua_State *L = fresh_state();
  assert_int_not_equal(luaL_dostring(L, "require('athanor.no_such_module')"), LUA_OK);
  assert_non_null(strstr(lua_tostring(L, -1), "athanor.no_such_module"));
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_embed_require_works_with_no_files_on_disk),
    cmocka_unit_test(test_embed_modules_come_from_the_library),
    cmocka_unit_test(test_embed_two_states_are_independent),
    cmocka_unit_test(test_embed_unknown_module_still_fails_cleanly),
  };
  return cmocka_run_group_tests_name("embed", tests, NULL, NULL);
}
