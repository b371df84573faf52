/* l_core.c — luaopen_athanor_core: the `athanor.core` module table.
 * Each l_*.c file registers its own functions and metatables; this file only
 * assembles them and adds the process-wide constants. */
#include "l_internal.h"
#include "../base/ath_alloc.h"
#include "../base/ath_thread.h"

/* core.alloc_live() -> number of blocks the C core holds (leak checks in specs) */
static int l_alloc_live(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ath_alloc_live());
  return 1;
}

/* core.monotonic() -> seconds on the monotonic clock (timing in specs) */
static int l_monotonic(lua_State *L) {
  lua_pushnumber(L, ath_now_monotonic());
  return 1;
}

/* core.process_id(): this process's id, refreshed after fork() (ath_thread.h),
 * for Lua-side drivers to tell a connection their process made from one it
 * inherited through a fork. */
static int l_process_id(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ath_process_id());
  return 1;
}

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_athanor_core(lua_State *L) {
  lua_newtable(L);
  ath_l_error_register(L);
  ath_l_engine_register(L);
  ath_l_conn_register(L);
  ath_l_compile_register(L);
  ath_l_orm_register(L);
  ath_l_rows_register(L);
  ath_l_pgwire_register(L);
  lua_pushlightuserdata(L, NULL);                 /* SQL NULL: == cjson.null == ngx.null */
  lua_setfield(L, -2, "null");
  lua_pushcfunction(L, l_alloc_live);
  lua_setfield(L, -2, "alloc_live");
  lua_pushcfunction(L, l_monotonic);
  lua_setfield(L, -2, "monotonic");
  lua_pushcfunction(L, l_process_id);
  lua_setfield(L, -2, "process_id");
  lua_pushliteral(L, "0.1.0");
  lua_setfield(L, -2, "version");
#if LUA_VERSION_NUM >= 503
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  lua_setfield(L, -2, "has_integers");
  return 1;
}
