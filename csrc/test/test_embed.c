/* test_embed.c — a host links libathanor.a, opens fresh lua_States, calls
 * ath_openlib and uses athanor with nothing on disk to load from
 * (package.path and package.cpath are emptied, so only preload can work). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"
#include "embedded_lua.h"
#include "base/ath_alloc.h"

/* The example: create, insert 42 bound, read it back. */
static const char *const quick_chunk =
  "local ath = require('athanor')\n"
  "local e = ath.create_engine('sqlite://')\n"
  "local c = e:connect()\n"
  "c:exec_driver_sql('create table t(x)')\n"
  "c:execute(ath.text('insert into t values (:x)'), { x = 42 })\n"
  "local v = c:execute(ath.text('select x from t')):scalar()\n"
  "c:close()\n"
  "e:dispose()\n"
  "return v\n";

/* A state whose package.path/cpath find nothing: only preload can work. */
static lua_State *fresh_state(void) {
  lua_State *L = embedded_lua_state();
  assert_int_equal(luaL_dostring(L, "package.path = '' package.cpath = ''"), LUA_OK);
  return L;
}

/* Runs chunk; fails the test with its error; leaves its result on top. */
static void run(lua_State *L, const char *chunk) {
  if (luaL_dostring(L, chunk) != LUA_OK) fail_msg("chunk failed: %s", embedded_lua_error(L));
}

static void test_embed_require_works_with_no_files_on_disk(void **state) {
  (void)state;
  long baseline = ath_alloc_live();
  lua_State *L = fresh_state();
  run(L, quick_chunk);
  assert_true(lua_isnumber(L, -1));
  assert_int_equal(lua_tointeger(L, -1), 42);
  lua_close(L);
  assert_int_equal(ath_alloc_live(), baseline);   /* closing the state released the core's blocks */
}

static void test_embed_preloads_every_module_from_the_library(void **state) {
  (void)state;
  lua_State *L = fresh_state();
  /* Every preloaded athanor.* module loads (or lacks only a non-athanor
   * dependency), and its functions' source is the
   * embedded chunk name, not a file. */
  run(L,
    "local n, bad = 0, {}\n"
    "for name in pairs(package.preload) do\n"
    "  if name:match('^athanor') then\n"
    "    n = n + 1\n"
    "    local ok, err = pcall(require, name)\n"
    "    local missing = not ok and tostring(err):match(\"^module '([^']+)' not found\")\n"
    "    -- a module for another host (resty_pg needs OpenResty's ngx) may lack\n"
    "    -- a dependency that is not ours; a missing athanor module is a bug\n"
    "    if not ok and (not missing or missing:match('^athanor')) then\n"
    "      bad[#bad + 1] = name .. ': ' .. tostring(err)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "assert(#bad == 0, table.concat(bad, '\\n'))\n"
    "assert(package.preload['athanor.core'] and package.preload['athanor'], 'core or init missing')\n"
    "local src = debug.getinfo(require('athanor').create_engine, 'S').source\n"
    "return n .. ' ' .. src");
  const char *v = lua_tostring(L, -1);
  assert_non_null(v);
  long n = strtol(v, NULL, 10);
  assert_true(n >= 4);                            /* core, athanor, errors, engine... */
  assert_non_null(strstr(v, " @athanor/"));       /* "@athanor/init.lua" or a submodule */
  lua_close(L);
}

static void test_embed_two_states_are_independent(void **state) {
  (void)state;
  lua_State *a = fresh_state(), *b = fresh_state();
  run(a, "E = require('athanor').create_engine('sqlite://') C = E:connect() "
         "C:exec_driver_sql('create table only_in_a(x)') return true");
  run(b,
    "local ath = require('athanor') local c = ath.create_engine('sqlite://'):connect()\n"
    "local ok, err = pcall(c.exec_driver_sql, c, 'select * from only_in_a')\n"
    "c:close() return ok == false and ath.errors.is(err, 'DBAPIError')");
  assert_true(lua_toboolean(b, -1));
  run(a, quick_chunk);                            /* a still works after b's use */
  assert_int_equal(lua_tointeger(a, -1), 42);
  lua_close(a);
  lua_close(b);
}

static void test_embed_unknown_module_still_fails_cleanly(void **state) {
  (void)state;
  lua_State *L = fresh_state();
  assert_int_not_equal(luaL_dostring(L, "require('athanor.no_such_module')"), LUA_OK);
  const char *msg = embedded_lua_error(L);
  assert_non_null(strstr(msg, "module 'athanor.no_such_module' not found"));
  lua_close(L);
}

static void test_embed_openlib_twice_is_harmless(void **state) {
  (void)state;
  lua_State *L = fresh_state();
  assert_int_equal(ath_openlib(L), 0);
  assert_int_equal(lua_gettop(L), 0);             /* leaves the stack as it found it */
  run(L, quick_chunk);
  assert_int_equal(lua_tointeger(L, -1), 42);
  lua_close(L);
}

static void test_embed_openlib_without_package_library_raises(void **state) {
  (void)state;
  lua_State *L = luaL_newstate();
  assert_non_null(L);
  luaL_requiref(L, "_G", luaopen_base, 1);        /* base only: no package library */
  lua_pop(L, 1);
  lua_pushcfunction(L, ath_openlib);
  assert_int_equal(lua_pcall(L, 0, 0, 0), LUA_ERRRUN);
  assert_non_null(strstr(lua_tostring(L, -1), "package library is not open"));
  lua_close(L);
}

/* Fault injection: fail the Nth allocation of the C core while the chunk
 * runs. Each run either gives 42 or raises a clean athanor error object (a
 * table with a kind), and closing the state returns every block. */
static void test_embed_allocation_failures_raise_and_leak_nothing(void **state) {
  (void)state;
  long baseline = ath_alloc_live();
  int succeeded = 0;
  for (long n = 0; n < 500 && !succeeded; n++) {
    lua_State *L = fresh_state();
    assert_int_equal(luaL_loadstring(L, quick_chunk), LUA_OK);
    ath_alloc_fail_after(n);
    int rc = lua_pcall(L, 0, 1, 0);
    ath_alloc_fail_after(-1);
    if (rc == LUA_OK) {
      assert_int_equal(lua_tointeger(L, -1), 42);
      succeeded = 1;
      print_message("succeeded after %ld injected allocation failures\n", n);
    } else {
      if (!lua_istable(L, -1)) fail_msg("n=%ld: raised a %s, not an error object: %s",
                                        n, luaL_typename(L, -1), embedded_lua_error(L));
      lua_getfield(L, -1, "kind");
      if (!lua_isstring(L, -1)) fail_msg("n=%ld: the error object has no kind", n);
      lua_pop(L, 1);
    }
    lua_close(L);
    if (ath_alloc_live() != baseline)
      fail_msg("n=%ld: %ld blocks leaked", n, ath_alloc_live() - baseline);
  }
  assert_true(succeeded);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_embed_require_works_with_no_files_on_disk),
    cmocka_unit_test(test_embed_preloads_every_module_from_the_library),
    cmocka_unit_test(test_embed_two_states_are_independent),
    cmocka_unit_test(test_embed_unknown_module_still_fails_cleanly),
    cmocka_unit_test(test_embed_openlib_twice_is_harmless),
    cmocka_unit_test(test_embed_openlib_without_package_library_raises),
    cmocka_unit_test(test_embed_allocation_failures_raise_and_leak_nothing),
  };
  return cmocka_run_group_tests_name("embed", tests, NULL, NULL);
}
