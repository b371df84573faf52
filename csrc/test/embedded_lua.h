/* embedded_lua.h — for cmocka tests that drive the full library through
 * Lua (test_embed, test_expr_fastpath, test_orm_load): a fresh state with
 * the standard libraries and athanor's embedded modules, and the text of
 * the error a chunk left on its stack. Include after <cmocka.h>, <lua.h>,
 * <lauxlib.h>, <lualib.h> and "athanor.h". */
#ifndef ATH_TEST_EMBEDDED_LUA_H
#define ATH_TEST_EMBEDDED_LUA_H

static inline lua_State *embedded_lua_state(void) {
  lua_State *L = luaL_newstate();
  assert_non_null(L);
  luaL_openlibs(L);
  assert_int_equal(ath_openlib(L), 0);
  return L;
}

/* The error on top of the stack as text (an error object by its __tostring). */
static inline const char *embedded_lua_error(lua_State *L) {
  if (!lua_isstring(L, -1) && luaL_callmeta(L, -1, "__tostring")) lua_replace(L, -2);
  return lua_isstring(L, -1) ? lua_tostring(L, -1) : "(not a string)";
}

#endif
