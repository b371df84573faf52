/* l_error.c — turns an ath_error into an athanor error object and raises it.
 * The object itself is built by the Lua layer (athanor.errors registers its
 * constructor with core.set_error_factory), so the C core never requires a
 * Lua module; without a factory a plain table with the same fields is raised. */
#include "l_internal.h"
#include <stdio.h>
#include <string.h>

static const char factory_key = 'f';   /* registry key: the factory function */

static int l_set_error_factory(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &factory_key);
  return 0;
}

/* stack: ... → ..., error object. Everything is copied out of e first, so e
 * may live on the caller's C stack. */
static void push_error_object(lua_State *L, const ath_error *e, const char *sql, int params_idx) {
  if (params_idx != 0) params_idx = lua_absindex(L, params_idx);
  const char *kind = ath_error_kind_name(e->kind);
  lua_createtable(L, 0, 8);                          /* fields */
  if (sql) { lua_pushstring(L, sql); lua_setfield(L, -2, "sql"); }
  if (params_idx != 0 && !lua_isnoneornil(L, params_idx)) {
    lua_pushvalue(L, params_idx); lua_setfield(L, -2, "params");
  }
  if (e->sqlstate[0]) {
    lua_pushstring(L, e->sqlstate); lua_setfield(L, -2, "code");
  } else if (e->code) {
    lua_pushinteger(L, e->code); lua_setfield(L, -2, "code");
  }
  if (e->constraint[0]) { lua_pushstring(L, e->constraint); lua_setfield(L, -2, "constraint"); }
  if (e->disconnect) { lua_pushboolean(L, 1); lua_setfield(L, -2, "connection_invalidated"); }
  if (e->kind >= ATH_E_DBAPI && e->kind <= ATH_E_INTERFACE) {
    lua_pushstring(L, e->message); lua_setfield(L, -2, "orig");
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &factory_key);
  if (lua_isfunction(L, -1)) {
    lua_pushstring(L, kind);
    lua_pushstring(L, e->message);
    lua_pushvalue(L, -4);                            /* fields */
    lua_call(L, 3, 1);                               /* stack: fields, err */
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);                                     /* no factory: fields is the error */
  lua_pushstring(L, kind); lua_setfield(L, -2, "kind");
  lua_pushstring(L, e->message); lua_setfield(L, -2, "message");
}

int ath_l_raise(lua_State *L, const ath_error *e, const char *sql, int params_idx) {
  push_error_object(L, e, sql, params_idx);
  return lua_error(L);
}

int ath_l_raisef(lua_State *L, ath_status kind, const char *fmt, ...) {
  ath_error e;
  va_list ap;
  va_start(ap, fmt);
  ath_error_setv(&e, kind, fmt, ap);
  va_end(ap);
  return ath_l_raise(L, &e, NULL, 0);
}

void ath_l_error_register(lua_State *L) {
  lua_pushcfunction(L, l_set_error_factory);
  lua_setfield(L, -2, "set_error_factory");
}
