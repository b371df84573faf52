/* l_compat.h — the only place that papers over Lua 5.1/LuaJIT vs 5.3/5.4.
 * Shim functions are ath_compat_-prefixed so a host's compat-5.3 cannot clash. */
#ifndef ATH_L_COMPAT_H
#define ATH_L_COMPAT_H
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#if LUA_VERSION_NUM >= 504
#  define ath_newudata(L, sz)  lua_newuserdatauv((L), (sz), 1)
#else                                            /* one user value (fenv on 5.1) */
#  define ath_newudata(L, sz)  lua_newuserdata((L), (sz))
#endif

#if LUA_VERSION_NUM == 501                       /* PUC 5.1 and LuaJIT 2.1 */
#  define ATH_LUA51 1
#  define lua_rawlen(L, i)          lua_objlen((L), (i))
#  define lua_isinteger(L, i)       ath_compat_isinteger((L), (i))
#  if !defined(LUA_JITLIBNAME)                  /* LuaJIT 2.1 has these three */
#    define luaL_setfuncs(L, l, n)    ath_compat_setfuncs((L), (l), (n))
#    define luaL_setmetatable(L, tn)  (luaL_getmetatable((L), (tn)), lua_setmetatable((L), -2))
#    define luaL_testudata(L, i, tn)  ath_compat_testudata((L), (i), (tn))
#  endif
#  define lua_getuservalue(L, i)    lua_getfenv((L), (i))
#  define lua_setuservalue(L, i)    lua_setfenv((L), (i))
#  ifndef luaL_newlib
#    define luaL_newlib(L, l)         (lua_newtable(L), luaL_setfuncs((L), (l), 0))
#  endif
#  define lua_absindex(L, i)        (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)
#  define luaL_len(L, i)            ((lua_Integer)lua_objlen((L), (i)))
#  define lua_rawgetp(L, i, p)      ath_compat_rawgetp((L), (i), (p))
#  define lua_rawsetp(L, i, p)      ath_compat_rawsetp((L), (i), (p))
#  ifndef LUA_OK
#    define LUA_OK 0
#  endif
/* Integer pushes lose nothing up to 2^53 on LuaJIT (numbers are doubles). */
int ath_compat_isinteger(lua_State *L, int idx);
void ath_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
void *ath_compat_testudata(lua_State *L, int idx, const char *tname);
void ath_compat_rawgetp(lua_State *L, int idx, const void *p);
void ath_compat_rawsetp(lua_State *L, int idx, const void *p);
#else
#  define ATH_LUA51 0
#endif

/* lua_rawgeti/lua_rawget return a type on 5.3+ but void on 5.1: use these. */
static inline int ath_rawgeti(lua_State *L, int idx, lua_Integer n) {
  lua_rawgeti(L, idx, (int)n); return lua_type(L, -1);
}
static inline int ath_getfield(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k); return lua_type(L, -1);
}

/* Push a 64-bit integer: exact on 5.3+, a double on LuaJIT. */
static inline void ath_pushint64(lua_State *L, long long v) {
#if LUA_VERSION_NUM >= 503
  lua_pushinteger(L, (lua_Integer)v);
#else
  lua_pushnumber(L, (lua_Number)v);
#endif
}

#endif
