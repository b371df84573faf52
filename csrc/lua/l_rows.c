/* l_rows.c — the per-row work of INSERT in C: the check of executemany
 * rows and of a one-row values() (lua/athanor/sql/dml.lua), and the VALUES
 * row of the fused one-row insert (lua/athanor/sql/init.lua).
 *
 * core.plain_row(row, kinds): the same check for values()'s one row
 * (see l_plain_row).
 * core.plain_rows(rows, kinds) -> given, uniform | nil
 *   rows is the array of row tables handed to execute(); kinds maps each
 *   column name of the table to what its type's bind check accepts
 *   unchanged (ROWKIND_* below). For each row every key is read once
 *   (lua_next) and must be a column name, else the answer is nil and the
 *   Lua side checks the rows itself (it names the unknown key, or renames
 *   keys given as Column objects). When every row is plain (each value
 *   would pass its column's bind check unchanged: bound as it is) with the
 *   same number of keys, given is true and uniform that number; else
 *   given[r] is row r's number of keys when it is plain, false when not,
 *   and uniform is false.
 *   Lua 5.4 spends ~1.3k instructions per key iterating with pairs() and
 *   testing types; this loop is what the expression language's
 *   executemany costs over the text API's (docs/performance.md).
 * Nothing is allocated outside the Lua heap: an error midway leaks nothing. */
#include "l_internal.h"
#include <math.h>

/* What a column's bind check (athanor.types) returns unchanged, besides
 * ath.null. Kept in step with types._plain_binds (sql/dml.lua builds the
 * kinds table from it). */
enum {
  ROWKIND_ANY = 0,       /* no bind check: any value but a table */
  ROWKIND_INTEGER = 1,   /* an integer (LuaJIT: an integral number within 2^53) */
  ROWKIND_STRING = 2,    /* a string */
  ROWKIND_NUMBER = 3,    /* a number */
  ROWKIND_OTHER = 4      /* a check that may convert: only ath.null is plain */
};

/* kinds[name] is the column's ROWKIND_* plus 8 times its bit (l_plain_row). */
#define KIND_MASK 7
#define KIND_BITS 3

static int is_plain_integer(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 503
  return lua_isinteger(L, idx);
#else
  lua_Number d = lua_tonumber(L, idx);
  return d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0;
#endif
}

/* 1 when the value at idx passes a bind check of kind unchanged. */
static int value_is_plain(lua_State *L, int idx, int kind) {
  int t = lua_type(L, idx);
  if (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL) return 1;   /* ath.null */
  switch (kind) {
    case ROWKIND_ANY: return t != LUA_TTABLE;
    case ROWKIND_INTEGER: return t == LUA_TNUMBER && is_plain_integer(L, idx);
    case ROWKIND_STRING: return t == LUA_TSTRING;
    case ROWKIND_NUMBER: return t == LUA_TNUMBER;
    default: return 0;
  }
}

/* The keys of the row read last, by position, with their kinds and bits:
 * rows usually come with the same keys in the same order (the same shape
 * gives the same hash order), so a key is matched by the address of its
 * characters (one interned string) without a lookup in kinds. Only
 * interned (short) strings are kept: each is then also a key of the kinds
 * table, so it lives as long as that table and its address is never
 * reused by another string while kept (plain_row keeps its cache in the
 * kinds table, across calls). */
#define KEY_CACHE 64
typedef struct key_cache {
  int n;                                  /* positions filled */
  const char *key[KEY_CACHE];
  lua_Integer kind_bit[KEY_CACHE];
} key_cache;

#if LUA_VERSION_NUM >= 503
#define INTERNED_MAX 40                  /* LUAI_MAXSHORTLEN: longer strings are not interned */
#else
#define INTERNED_MAX ((size_t)-1)        /* LuaJIT interns every string */
#endif

/* Read the row at idx once (lua_next): its number of keys, or -2 (stack
 * as on entry) when a key is not a column name of kinds (at index kinds).
 * *plain is cleared when a value is not plain, the keys' bits are added to
 * *mask, and with copy (a stack index, or 0) each pair is set there too. */
static int scan_row(lua_State *L, int row, int kinds, key_cache *kc, int copy, int *plain, lua_Integer *mask) {
  int top = lua_gettop(L), count = 0;
  lua_pushnil(L);
  while (lua_next(L, row)) {                                 /* key, value */
    if (lua_type(L, -2) != LUA_TSTRING) { lua_settop(L, top); return -2; }
    size_t len;
    const char *k = lua_tolstring(L, -2, &len);
    lua_Integer kb;
    if (count < kc->n && kc->key[count] == k) kb = kc->kind_bit[count];
    else {
      lua_pushvalue(L, -2);
      lua_rawget(L, kinds);                                  /* the column's kind and bit, or nil */
      if (lua_type(L, -1) != LUA_TNUMBER) { lua_settop(L, top); return -2; }
      kb = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (count < KEY_CACHE && len <= INTERNED_MAX) {
        kc->key[count] = k;
        kc->kind_bit[count] = kb;
        if (kc->n <= count) kc->n = count + 1;
      }
    }
    if (*plain) *plain = value_is_plain(L, -1, (int)(kb & KIND_MASK));
    *mask += kb >> KIND_BITS;
    if (copy) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);                                     /* key, key, value */
      lua_rawset(L, copy);                                   /* the key stays for lua_next */
    } else {
      lua_pop(L, 1);                                         /* the value: the key stays for lua_next */
    }
    count++;
  }
  return count;
}

/* Row r's number of keys when it is plain, -1 when it is not, -2 when a
 * key is not a column name. Stack: rows at 1, kinds at 2. */
static int check_row(lua_State *L, int row, key_cache *seen) {
  int plain = 1;
  lua_Integer mask = 0;
  int count = scan_row(L, row, 2, seen, 0, &plain, &mask);
  return count == -2 ? -2 : plain ? count : -1;
}

/* The given array of the rows (as check_row says), rows 1..from-1 being
 * plain with count keys each (checked already); 0 when a row is not a
 * table or has a key that is not a column. */
static int push_given(lua_State *L, int nrows, int from, int count, key_cache *seen) {
  lua_createtable(L, nrows, 0);
  int given = lua_gettop(L);
  for (int r = 1; r < from; r++) { lua_pushinteger(L, count); lua_rawseti(L, given, r); }
  for (int r = from; r <= nrows; r++) {
    if (ath_rawgeti(L, 1, r) != LUA_TTABLE) return 0;
    int n = check_row(L, given + 1, seen);
    lua_pop(L, 1);
    if (n == -2) return 0;
    if (n >= 0) lua_pushinteger(L, n); else lua_pushboolean(L, 0);
    lua_rawseti(L, given, r);
  }
  return 1;
}

static int l_plain_rows(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  int nrows = (int)lua_rawlen(L, 1);
  key_cache seen;
  seen.n = 0;
  /* the usual case first, with no array built: every row plain, one count */
  int uniform = -1, r = 1;
  for (; r <= nrows; r++) {
    if (ath_rawgeti(L, 1, r) != LUA_TTABLE) return 0;        /* (Lua says what is wrong) */
    int count = check_row(L, 3, &seen);
    lua_pop(L, 1);
    if (count == -2) return 0;
    if (count < 0 || (uniform >= 0 && count != uniform)) break;
    uniform = count;
  }
  if (r > nrows) {
    lua_pushboolean(L, 1);                                   /* given: every row as it is */
    if (uniform >= 0) lua_pushinteger(L, uniform); else lua_pushboolean(L, 0);
    return 2;
  }
  if (!push_given(L, nrows, r, uniform, &seen)) return 0;   /* (rows before r: plain, uniform keys) */
  lua_pushboolean(L, 0);
  return 2;
}

/* core.values_row(row, names, kind) -> { row[names[1]], ..., k = kind }:
 * the VALUES row of a one-row INSERT whose values are bound as they are
 * (sql/init.lua, the fused insert), sized once; a value absent from the
 * row is SQL NULL. Built in Lua, the array part grew by doubling
 * (three resizes for four columns, ~2.7k instructions a column). */
static int l_values_row(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer kind = luaL_checkinteger(L, 3);
  int n = (int)lua_rawlen(L, 2);
  lua_createtable(L, n, 1);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    lua_rawget(L, 1);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushlightuserdata(L, NULL); }
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, kind);
  lua_setfield(L, -2, "k");
  return 1;
}

/* plain_row's key cache for a kinds table, kept in it (at [1]: a row's
 * keys are strings): see key_cache. */
static key_cache *kinds_cache(lua_State *L, int kinds) {
  lua_rawgeti(L, kinds, 1);
  key_cache *rk = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (rk) return rk;
  rk = lua_newuserdata(L, sizeof *rk);
  rk->n = 0;
  lua_rawseti(L, kinds, 1);
  return rk;
}

/* core.plain_row(row, kinds) -> count | false, mask, copy; nil
 *   The check of the one row of values() (lua/athanor/sql/dml.lua) without
 *   wrapping it in a list: nil when a key is not a column name (the Lua
 *   side names it), else the row's number of keys when every value is plain
 *   (false when one is not), the set of its keys as the sum of their
 *   columns' bits (the mask the row's one-row shape is cached under; a
 *   column past the 50th has none), and a copy of the row, made in the same
 *   pass: the statement keeps the copy, so the caller changing its table
 *   afterwards changes neither what was checked nor what is inserted (as
 *   SQLAlchemy's values() copies). kinds[name] holds the kind plus 8 times
 *   the bit. */
static int l_plain_row(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  key_cache *rk = kinds_cache(L, 2);
  lua_createtable(L, 0, rk->n > 0 ? rk->n : 4);             /* 3: the copy */
  int plain = 1;
  lua_Integer mask = 0;
  int count = scan_row(L, 1, 2, rk, 3, &plain, &mask);
  if (count == -2) return 0;
  if (plain) lua_pushinteger(L, count); else lua_pushboolean(L, 0);
  lua_pushinteger(L, mask);
  lua_pushvalue(L, 3);
  return 3;
}

void ath_l_rows_register(lua_State *L) {
  static const luaL_Reg fns[] = {
    { "plain_row", l_plain_row }, { "plain_rows", l_plain_rows }, { "values_row", l_values_row }, { NULL, NULL }
  };
  luaL_setfuncs(L, fns, 0);
}
