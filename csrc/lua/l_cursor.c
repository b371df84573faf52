/* l_cursor.c — the Cursor userdata: building rows from the current
 * statement row and fetching them. This is the row-fetch hot path: every
 * per-row function is in this file (static, inlined where the compiler
 * likes) and reaches the driver through the inline ath_cstmt_step and
 * ath_cstmt_column of csrc/engine, one indirect call each.
 *
 * Cursor methods (docs/connection-interface.md): fetch(n) -> array of rows,
 * fetchone() -> row | nil, take_and_close(n) -> row1, row2, nil, names (n = 1 or 2),
 * names() -> array, rowcount(), exhausted(), detached() -> reason | nil,
 * set_processors(t), close() -> names. A cursor whose rows were cut off by its
 * connection (closed, invalidated, or rolled back under an open stream) is
 * "detached": fetch and fetchone return nil, reason and take_and_close nil,
 * nil, reason, and the Lua Result raises ResourceClosedError with the reason.
 * It never reads as "no more rows".
 *
 * Rows are plain tables holding each value under its column's name (for the
 * first column of each name) or at its position (a repeated name); NULL is
 * nil, or ath.null under the option `nulls`. Their metatable is per
 * statement, copied from the row class the Lua layer registered with
 * core.set_row_class(t), plus `__fields` (the names array) and an __index
 * that finds row[i] under column i's name. */
#include "l_conn.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const detach_reason[] = {
  NULL,
  "This result object is closed: its Connection was closed before every row was read "
  "(read the rows, e.g. result:all(), before closing the Connection)",
  "This result object is closed: its Connection rolled back while the stream was open "
  "(read a stream to the end before ending its transaction)",
};

/* A cursor's uservalue is its statement's meta table, built once per
 * prepared statement and cached in the connection's uservalue (keyed by the
 * statement's id), so executing a cached statement allocates no metadata. */
enum { META_NAMES = 1, META_SETKEYS = 2, META_ROWMT = 3, META_PROCS = 4, META_CURSOR = 5 };
#define META_CACHE_MAX 512         /* entries per connection before a reset */

static const char row_class_key = 'r';     /* registry: row class template */
static const char json_decode_key = 'j';   /* registry: JSON decoder function */

/* ---------------------------------------------------------------- helpers */

/* Detach a cursor from its statement (returning it to the cache). */
void ath_l_cursor_release(l_cursor *cu) {
  if (cu->s == NULL) return;
  ath_conn_stmt_release(cu->s);
  cu->s = NULL;
  cu->has_row = 0;
  l_conn *lc = cu->lc;
  if (lc && lc->stream == cu) lc->stream = NULL;             /* the connection is free again */
  if (cu->prev) cu->prev->next = cu->next; else if (lc) lc->cursors = cu->next;
  if (cu->next) cu->next->prev = cu->prev;
  cu->next = cu->prev = NULL;
  cu->lc = NULL;
}

/* Release a cursor its connection cuts off; if rows were still to be read,
 * remember why they are gone so reading it raises instead of ending. */
void ath_l_cursor_detach(l_cursor *cu, int why) {
  if (cu->s == NULL) return;
  if (cu->has_row) cu->detached = why;
  ath_l_cursor_release(cu);
}

/* 1 when a Lua number holds i exactly: always on 5.3+ (64-bit integers);
 * on LuaJIT numbers are doubles, exact up to ±2^53. */
static int int_fits_number(int64_t i) {
#if LUA_VERSION_NUM >= 503
  (void)i;
  return 1;
#else
  return i >= -((int64_t)1 << 53) && i <= ((int64_t)1 << 53);
#endif
}

/* Push one driver value as a Lua value (nil for NULL). Returns 0, having
 * pushed nothing, for an integer no Lua number holds exactly (LuaJIT), so
 * the caller can raise naming the column: rounding it would be silent. */
static int push_value(lua_State *L, const ath_value *v) {
  switch (v->type) {
    case ATH_V_NULL: lua_pushnil(L); return 1;
    case ATH_V_INT:
      if (!int_fits_number(v->u.i)) return 0;
      ath_pushint64(L, (long long)v->u.i);
      return 1;
    case ATH_V_FLOAT: lua_pushnumber(L, v->u.f); return 1;
    case ATH_V_BOOL: lua_pushboolean(L, (int)v->u.i); return 1;
    case ATH_V_JSON:
      lua_rawgetp(L, LUA_REGISTRYINDEX, &json_decode_key);
      if (lua_isfunction(L, -1)) {
        lua_pushlstring(L, v->u.s.p, v->u.s.n);
        lua_call(L, 1, 1);
        return 1;
      }
      lua_pop(L, 1);
      lua_pushlstring(L, v->u.s.p, v->u.s.n);
      return 1;
    case ATH_V_ARRAY:
      lua_createtable(L, (int)v->u.arr.n, 0);
      for (size_t i = 0; i < v->u.arr.n; i++) {
        if (!push_value(L, &v->u.arr.items[i])) { lua_pop(L, 1); return 0; }
        lua_rawseti(L, -2, (int)i + 1);
      }
      return 1;
    default:                                                  /* TEXT, BLOB, NUMERIC, DATETIME */
      lua_pushlstring(L, v->u.s.p ? v->u.s.p : "", v->u.s.n);
      return 1;
  }
}

/* push_value under the option `nulls`: NULL, also inside an array, is
 * ath.null (the NULL light userdata), so a JSON encoder keeps it. */
static int push_value_nulls(lua_State *L, const ath_value *v) {
  if (v->type == ATH_V_NULL) { lua_pushlightuserdata(L, NULL); return 1; }
  if (v->type != ATH_V_ARRAY) return push_value(L, v);
  lua_createtable(L, (int)v->u.arr.n, 0);
  for (size_t i = 0; i < v->u.arr.n; i++) {
    if (!push_value_nulls(L, &v->u.arr.items[i])) { lua_pop(L, 1); return 0; }
    lua_rawseti(L, -2, (int)i + 1);
  }
  return 1;
}

/* Raise DataError for column col, whose integer value a Lua number cannot
 * hold exactly (LuaJIT). Nothing is owned here: rows are Lua tables. */
static int raise_inexact(lua_State *L, l_cursor *cu, int col, const ath_value *v) {
  ath_column_info ci;
  ath_cstmt_column_info(cu->s, col, &ci);
  char digits[32] = "in an array";
  if (v->type == ATH_V_INT) snprintf(digits, sizeof digits, "%lld", (long long)v->u.i);
  return ath_l_raisef(L, ATH_E_DATA,
                      "column '%.60s': the integer %s is beyond 2^53, which a LuaJIT number cannot hold exactly; "
                      "declare the column BigInteger{ as_string = true } (for ath.text, with :columns()) "
                      "to read it as an exact decimal string", ci.name, digits);
}

/* ------------------------------------------------------------------ meta */

static int row_index(lua_State *L);

/* Push the meta table of statement s: names, set-keys (the name under which
 * each column is stored, or false for a repeated name, stored by position),
 * the row metatable. Cached per connection by statement id.
 * Stack: the connection userdata at conn_idx. */
static void push_meta(lua_State *L, l_conn *lc, int conn_idx, ath_cstmt *s, int ncols) {
  lua_getuservalue(L, conn_idx);                             /* metas */
  int metas = lua_gettop(L);
  lua_rawgeti(L, metas, (lua_Integer)s->id);
  if (!lua_isnil(L, -1)) { lua_remove(L, metas); return; }
  lua_pop(L, 1);
  if (++lc->nmetas > META_CACHE_MAX) {                       /* forget statements long evicted */
    lua_newtable(L); lua_pushvalue(L, -1); lua_setuservalue(L, conn_idx);
    lua_replace(L, metas);
    lc->nmetas = 1;
  }
  lua_createtable(L, 5, 0);                                  /* meta */
  int meta = lua_gettop(L);
  lua_createtable(L, ncols, 0);                              /* names */
  lua_createtable(L, ncols, 0);                              /* setkeys */
  lua_createtable(L, 0, ncols);                              /* seen: name -> true */
  for (int i = 0; i < ncols; i++) {
    ath_column_info ci;
    ath_cstmt_column_info(s, i, &ci);
    lua_pushstring(L, ci.name);
    lua_pushvalue(L, -1); lua_rawseti(L, meta + 1, i + 1);   /* names[i] */
    lua_pushvalue(L, -1); lua_rawget(L, meta + 3);           /* seen[name]? */
    int dup = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (dup) { lua_pop(L, 1); lua_pushboolean(L, 0); }
    else { lua_pushvalue(L, -1); lua_pushboolean(L, 1); lua_rawset(L, meta + 3); }
    lua_rawseti(L, meta + 2, i + 1);                         /* setkeys[i] = name | false */
  }
  lua_pop(L, 1);                                             /* seen */
  lua_rawseti(L, meta, META_SETKEYS);
  lua_rawseti(L, meta, META_NAMES);
  lua_newtable(L);                                           /* row metatable */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &row_class_key);
  int has_class = lua_istable(L, -1);
  if (has_class) {
    for (lua_pushnil(L); lua_next(L, -2); ) {                /* copy the template */
      lua_pushvalue(L, -2); lua_insert(L, -2);
      lua_rawset(L, -5);
    }
  }
  /* __index: methods by name, values by position (upvalues: methods, names, setkeys) */
  if (has_class) lua_getfield(L, -1, "__index"); else lua_newtable(L);
  lua_rawgeti(L, meta, META_NAMES);
  lua_rawgeti(L, meta, META_SETKEYS);
  lua_pushcclosure(L, row_index, 3);
  lua_setfield(L, -3, "__index");
  lua_pop(L, 1);                                             /* template */
  lua_rawgeti(L, meta, META_NAMES); lua_setfield(L, -2, "__fields");
  lua_rawseti(L, meta, META_ROWMT);
  lua_pushvalue(L, meta);
  lua_rawseti(L, metas, (lua_Integer)s->id);                 /* cache it */
  lua_remove(L, metas);                                      /* stack: ..., meta */
}

/* Row __index: row[i] finds the value stored under column i's name;
 * anything else is looked up among the row methods. */
static int row_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TNUMBER) {
    /* only an integral key in 1..ncols is a position (compared as a
     * number first: casting 1.5 or 2^32+1 to int would name column 1) */
    lua_Number n = lua_tonumber(L, 2);
    int ncols = (int)lua_rawlen(L, lua_upvalueindex(3));
    if (!(n >= 1 && n <= (lua_Number)ncols) || n != (lua_Number)(int)n) return 0;
    lua_rawgeti(L, lua_upvalueindex(3), (int)n);             /* setkeys[n] */
    if (lua_type(L, -1) != LUA_TSTRING) return 0;            /* duplicate or out of range: nil */
    lua_rawget(L, 1);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_gettable(L, lua_upvalueindex(1));
  return 1;
}

/* ------------------------------------------------------------------ rows */

static l_cursor *check_cursor(lua_State *L, int idx) {
  return ath_l_check_class(L, idx, ATH_CURSOR_MT);
}

/* Float's result processor (types.lua): a value the server sent as text
 * (PostgreSQL's numeric, for avg(integer) or numeric * float) is read as a
 * number, as SQLAlchemy's Float does, and anything else is returned as it
 * is. Written in C so that the row builder knows it (is_number_already) and
 * does not call it for a float8 column's values, which are numbers already:
 * a Lua call per value was a tenth of a streamed row's cost. */
static int number_from_text(lua_State *L) {
  luaL_checkany(L, 1);
  size_t len;
  const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : NULL;
  if (s == NULL) { lua_settop(L, 1); return 1; }
#if LUA_VERSION_NUM >= 503
  if (lua_stringtonumber(L, s) == len + 1) return 1;         /* what tonumber(s) gives */
#else
  if (lua_isnumber(L, 1)) { lua_pushnumber(L, lua_tonumber(L, 1)); return 1; }
#endif
  if (!strcmp(s, "NaN")) lua_pushnumber(L, NAN);
  else if (!strcmp(s, "Infinity")) lua_pushnumber(L, HUGE_VAL);
  else if (!strcmp(s, "-Infinity")) lua_pushnumber(L, -HUGE_VAL);
  else lua_settop(L, 1);
  return 1;
}

/* Whether the processor at idx would give v back unchanged: it is
 * number_from_text and v is a float or NULL. */
static int is_number_already(lua_State *L, int idx, const ath_value *v) {
  return (v->type == ATH_V_FLOAT || v->type == ATH_V_NULL) && lua_tocfunction(L, idx) == number_from_text;
}

/* Push the current row. Stack: the meta table at meta, the set-keys spread
 * on the stack from keys0+1 .. keys0+ncols and the processors from
 * procs+1 .. procs+ncols (0: none; both pushed once per fetch call), the row
 * metatable at rowmt. Values are stored under their column name; a repeated
 * name's value by position. */
__attribute__((always_inline))
static inline void build_row(lua_State *L, l_cursor *cu, int keys0, int procs, int rowmt, const int nulls) {
  ath_cstmt_row s = ath_cstmt_row_of(cu->s);
  int n = cu->ncols;
  lua_createtable(L, 0, n);
  int row = lua_gettop(L);
  for (int i = 0; i < n; i++) {
    ath_value v;
    ath_error err;                                           /* out of memory decoding it */
    if (ath_cstmt_row_column(s, i, &v, &err) != ATH_OK) ath_l_raise(L, &err, NULL, 0);
    int named = lua_type(L, keys0 + 1 + i) == LUA_TSTRING;   /* else a repeated name: by position */
    if (procs && lua_type(L, procs + 1 + i) == LUA_TFUNCTION && !is_number_already(L, procs + 1 + i, &v)) {
      lua_pushvalue(L, procs + 1 + i);
      if (v.type == ATH_V_INT && !int_fits_number(v.u.i)) {
        /* a typed column's processor gets the exact digits instead
         * (BigInteger{ as_string = true } returns them as they are) */
        char digits[32];
        lua_pushstring(L, (snprintf(digits, sizeof digits, "%lld", (long long)v.u.i), digits));
      } else if (!push_value(L, &v)) {                      /* NULL: nil, as always */
        raise_inexact(L, cu, i, &v);
      }
      lua_call(L, 1, 1);                                     /* stack: value */
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        if (!nulls) continue;
        lua_pushlightuserdata(L, NULL);                      /* option nulls: keep the column */
      }
      if (named) { lua_pushvalue(L, keys0 + 1 + i); lua_insert(L, -2); lua_rawset(L, row); }
      else lua_rawseti(L, row, i + 1);
      continue;
    }
    if (v.type == ATH_V_NULL && !nulls) continue;             /* absent: nil */
    if (named) {                                             /* key first: no stack rotation */
      lua_pushvalue(L, keys0 + 1 + i);
      if (!(nulls ? push_value_nulls(L, &v) : push_value(L, &v))) raise_inexact(L, cu, i, &v);
      lua_rawset(L, row);
    } else {
      if (!(nulls ? push_value_nulls(L, &v) : push_value(L, &v))) raise_inexact(L, cu, i, &v);
      lua_rawseti(L, row, i + 1);
    }
  }
  lua_pushvalue(L, rowmt);
  lua_setmetatable(L, row);
}

/* The row builder, compiled twice so that the option `nulls` costs nothing
 * when it is off: push_row is the plain one, push_row_nulls keeps NULL as
 * ath.null. A fetch picks one per call (row_builder). */
typedef void (*row_builder_fn)(lua_State *L, l_cursor *cu, int keys0, int procs, int rowmt);
static void push_row(lua_State *L, l_cursor *cu, int keys0, int procs, int rowmt) {
  build_row(L, cu, keys0, procs, rowmt, 0);
}
static void push_row_nulls(lua_State *L, l_cursor *cu, int keys0, int procs, int rowmt) {
  build_row(L, cu, keys0, procs, rowmt, 1);
}
static row_builder_fn row_builder(const l_cursor *cu) { return cu->nulls ? push_row_nulls : push_row; }

/* Push meta's set-keys onto the stack (returns the index before the first),
 * then its processors if it has any (*procs: the index before the first, or
 * 0), and locate the row metatable. Stack: meta at meta. Spread once per
 * fetch call, so a row reads each from a stack slot, not from a table. */
static int spread_meta(lua_State *L, l_cursor *cu, int meta, int *procs, int *rowmt) {
  luaL_checkstack(L, 2 * cu->ncols + 8, "too many result columns");
  lua_rawgeti(L, meta, META_ROWMT); *rowmt = lua_gettop(L);
  lua_rawgeti(L, meta, META_SETKEYS);
  int keys = lua_gettop(L);
  for (int i = 1; i <= cu->ncols; i++) lua_rawgeti(L, keys, i);
  *procs = 0;
  if (cu->has_procs) {
    lua_rawgeti(L, meta, META_PROCS);
    if (lua_istable(L, -1)) {
      *procs = lua_gettop(L);
      for (int i = 1; i <= cu->ncols; i++) lua_rawgeti(L, *procs, i);
    } else {
      lua_pop(L, 1);
    }
  }
  return keys;
}

/* The closed cursor at idx becomes its statement's cursor to use again
 * (meta[META_CURSOR], see ath_l_cursor_open), and its column names are
 * pushed: the Result that closed it keeps those (for keys()) instead of the
 * cursor, which may serve another Result next and must not be kept alive by
 * this one. Only a closed cursor is kept in the meta table, and only until
 * it is used again: an open cursor held there would never be finalized, and
 * a Result dropped unread would never release its statement. Not called
 * from __gc: a finalized cursor kept alive again would later be collected
 * without its finalizer. */
static void keep_for_reuse(lua_State *L, int idx) {
  lua_getuservalue(L, idx);                                  /* meta */
  lua_pushvalue(L, idx);
  lua_rawseti(L, -2, META_CURSOR);
  lua_rawgeti(L, -1, META_NAMES);
  lua_remove(L, -2);
}

/* Advance after a row was read; on DONE record rowcount and release. */
static void advance(lua_State *L, l_cursor *cu) {
  ath_error err;
  ath_status st = ath_cstmt_step(cu->s, &err);
  if (st == ATH_ROW) return;
  cu->has_row = 0;
  if (st == ATH_DONE) {
    cu->rowcount = (long long)ath_cstmt_changes(cu->s);
    ath_l_cursor_release(cu);
    return;
  }
  ath_l_cursor_release(cu);                                   /* the step recorded a disconnect */
  ath_l_raise(L, &err, NULL, 0);
}

/* A detached cursor answers nil (twice for take_and_close) and the reason: pushes
 * nils then the reason, returns the count. */
static int push_detached(lua_State *L, l_cursor *cu, int nils) {
  for (int k = 0; k < nils; k++) lua_pushnil(L);
  lua_pushstring(L, detach_reason[cu->detached]);
  return nils + 1;
}

/* cursor:fetch([n]) -> array of up to n rows (all when n is nil), or
 * nil, reason when detached */
static int cursor_fetch(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, 0);
  if (cu->closed) return ath_l_raisef(L, ATH_E_INVALID_REQUEST, "This result object is closed.");
  if (cu->detached) return push_detached(L, cu, 1);
  lua_settop(L, 2);
  lua_newtable(L);                                           /* 3: rows */
  if (cu->s == NULL || !cu->has_row) return 1;
  lua_getuservalue(L, 1);                                    /* 4: meta */
  int procs, rowmt;
  int keys = spread_meta(L, cu, 4, &procs, &rowmt);
  lua_Integer got = 0;
  row_builder_fn build = row_builder(cu);
  while (cu->s && cu->has_row && (max <= 0 || got < max)) {
    build(L, cu, keys, procs, rowmt);
    lua_rawseti(L, 3, (int)++got);
    advance(L, cu);
  }
  lua_settop(L, 3);
  return 1;
}

/* cursor:fetchone() -> row | nil, or nil, reason when detached */
static int cursor_fetchone(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  if (cu->closed) return ath_l_raisef(L, ATH_E_INVALID_REQUEST, "This result object is closed.");
  if (cu->detached) return push_detached(L, cu, 1);
  if (cu->s == NULL || !cu->has_row) { lua_pushnil(L); return 1; }
  lua_settop(L, 1);
  lua_getuservalue(L, 1);                                    /* 2: meta */
  int procs, rowmt;
  int keys = spread_meta(L, cu, 2, &procs, &rowmt);
  row_builder(cu)(L, cu, keys, procs, rowmt);
  advance(L, cu);
  return 1;
}

/* cursor:take_and_close([n]) -> row1, row2, nil, names: the next n rows (1
 * or 2, default 2; nil where there are fewer), then the cursor is closed:
 * Result's first, one, one_or_none and scalar in one call (names: see
 * keep_for_reuse). Detached: nil, nil, reason. */
static int cursor_take_and_close(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  if (cu->closed) return ath_l_raisef(L, ATH_E_INVALID_REQUEST, "This result object is closed.");
  if (cu->detached) return push_detached(L, cu, 2);
  lua_Integer want = luaL_optinteger(L, 2, 2);
  if (want != 1 && want != 2)
    return ath_l_raisef(L, ATH_E_ARGUMENT, "take_and_close takes 1 or 2 rows, not %d", (int)want);
  lua_settop(L, 1);
  lua_pushnil(L); lua_pushnil(L);                            /* 2, 3: results */
  if (cu->s && cu->has_row) {
    lua_getuservalue(L, 1);                                  /* 4: meta */
    int procs, rowmt;
    int keys = spread_meta(L, cu, 4, &procs, &rowmt);
    for (int k = 0; k < (int)want && cu->s && cu->has_row; k++) {
      row_builder(cu)(L, cu, keys, procs, rowmt);
      lua_replace(L, 2 + k);
      if (k + 1 < (int)want) advance(L, cu);
    }
  }
  ath_l_cursor_release(cu);
  cu->closed = 1;
  lua_settop(L, 3);                                          /* the rows */
  lua_pushnil(L);                                            /* not detached */
  keep_for_reuse(L, 1);                                      /* names */
  return 4;
}

static int cursor_names(lua_State *L) {
  check_cursor(L, 1);
  lua_getuservalue(L, 1);
  lua_rawgeti(L, -1, META_NAMES);
  return 1;
}

static int cursor_rowcount(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  ath_pushint64(L, cu->rowcount);
  return 1;
}

static int cursor_exhausted(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  lua_pushboolean(L, !cu->detached && (cu->s == NULL || !cu->has_row));
  return 1;
}

/* cursor:detached() -> the reason its unread rows are gone, or nil */
static int cursor_detached(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  if (cu->detached) lua_pushstring(L, detach_reason[cu->detached]); else lua_pushnil(L);
  return 1;
}

/* cursor:set_processors(t): t[i] = function(raw) -> value, or nil. Kept
 * with the statement's meta: one SQL text has one set of result types. */
static int cursor_set_processors(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  lua_getuservalue(L, 1);
  if (lua_istable(L, 2)) { lua_pushvalue(L, 2); cu->has_procs = 1; }
  else { lua_pushnil(L); cu->has_procs = 0; }
  lua_rawseti(L, -2, META_PROCS);
  return 0;
}

static int cursor_close(lua_State *L) {                      /* __gc, __close */
  l_cursor *cu = check_cursor(L, 1);
  ath_l_cursor_release(cu);
  cu->closed = 1;
  return 0;
}

static int cursor_close_method(lua_State *L) {               /* :close() -> names */
  cursor_close(L);
  lua_settop(L, 1);
  keep_for_reuse(L, 1);
  return 1;
}

/* ------------------------------------------------------------------ core */

static int l_set_row_class(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_pushvalue(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &row_class_key);
  return 0;
}

static int l_set_json_decoder(lua_State *L) {
  if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &json_decode_key);
  return 0;
}

/* ------------------------------------------------------------------ open */

void ath_l_cursor_open(lua_State *L, l_conn *lc, int conn_idx, ath_cstmt *s, int ncols,
                       ath_status first, int stream, int nulls, const char *sql, size_t len) {
  push_meta(L, lc, conn_idx, s, ncols);                      /* meta */
  int meta = lua_gettop(L);
  /* A cursor of this statement that its Result closed (close(), or
   * first/one/scalar; not one merely read to its end, whose Result may still
   * read) is used again: that Result checks its own closed flag before every
   * read, and what it may still ask (names) is the same statement's. So a
   * point select run again allocates no cursor and the collector runs no
   * finalizer for it. */
  lua_rawgeti(L, meta, META_CURSOR);
  l_cursor *cu = lua_touserdata(L, -1);
  if (cu != NULL && cu->closed && cu->s == NULL) {
    memset(cu, 0, sizeof *cu);
    lua_pushnil(L);
    lua_rawseti(L, meta, META_CURSOR);                       /* open again: not kept (keep_for_reuse) */
  } else {
    lua_pop(L, 1);
    cu = ath_newudata(L, sizeof *cu);                        /* may raise: s is still lc->pending */
    memset(cu, 0, sizeof *cu);
    lua_pushvalue(L, lua_upvalueindex(2));                   /* the Cursor metatable (l_conn.h) */
    lua_setmetatable(L, -2);
    lua_pushvalue(L, meta);
    lua_setuservalue(L, -2);
  }
  cu->s = s; cu->lc = lc; cu->ncols = ncols;
  cu->has_row = (first == ATH_ROW);
  cu->nulls = nulls;
  cu->rowcount = -1;
  lua_rawgeti(L, meta, META_PROCS);
  cu->has_procs = lua_istable(L, -1);
  lua_pop(L, 1);                                             /* stack: ..., meta, cursor */
  cu->next = lc->cursors; if (lc->cursors) lc->cursors->prev = cu; lc->cursors = cu;
  lc->pending = NULL;                                        /* the cursor owns s now */
  if (first == ATH_DONE) { cu->rowcount = (long long)ath_cstmt_changes(s); ath_l_cursor_release(cu); }
  else if (stream && ath_conn_stream_holds(lc->c)) {         /* busy until read or closed */
    snprintf(lc->stream_sql, sizeof lc->stream_sql, "%.*s%s", len > 60 ? 60 : (int)len, sql, len > 60 ? "..." : "");
    lc->stream = cu;
  }
}

void ath_l_cursor_register(lua_State *L) {
  static const luaL_Reg cursor_methods[] = {
    { "fetch", cursor_fetch }, { "fetchone", cursor_fetchone }, { "take_and_close", cursor_take_and_close },
    { "names", cursor_names },
    { "rowcount", cursor_rowcount }, { "exhausted", cursor_exhausted }, { "detached", cursor_detached },
    { "set_processors", cursor_set_processors }, { "close", cursor_close_method }, { NULL, NULL } };
  ath_l_new_class(L, ATH_CURSOR_MT, cursor_methods, cursor_close);
  lua_pushcfunction(L, l_set_row_class); lua_setfield(L, -2, "set_row_class");
  lua_pushcfunction(L, l_set_json_decoder); lua_setfield(L, -2, "set_json_decoder");
  lua_pushcfunction(L, number_from_text); lua_setfield(L, -2, "number_from_text");
}
