/* l_embed.c — ath_openlib(): preloads athanor.core and the embedded Lua
 * sources into a host's lua_State (libathanor only; the Lua modules built
 * as core.so do not contain this file). */
#include "l_internal.h"
#include "l_embed.h"
#include "../include/athanor.h"

/* package.preload loader: upvalue 1 is the module's index in the table. */
static int embedded_loader(lua_State *L) {
  const ath_embedded_module *m = &ath_embedded_modules[lua_tointeger(L, lua_upvalueindex(1))];
  if (luaL_loadbuffer(L, (const char *)m->code, m->len, m->chunkname) != LUA_OK)
    return lua_error(L);
  lua_pushstring(L, m->name);
  lua_call(L, 1, 1);
  return 1;
}

ATH_API int ath_openlib(lua_State *L) {
  luaL_checkstack(L, 4, "ath_openlib");
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1)) return luaL_error(L, "ath_openlib: open the package library first (luaL_openlibs)");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_athanor_core);
  lua_setfield(L, -2, "athanor.core");
  for (int i = 0; ath_embedded_modules[i].name != NULL; i++) {
    lua_pushinteger(L, i);
    lua_pushcclosure(L, embedded_loader, 1);
    lua_setfield(L, -2, ath_embedded_modules[i].name);
  }
  lua_pop(L, 2);
  return 0;
}
