/* l_conn.c — the Connection and Cursor userdata of athanor.core: binding
 * Lua values, executing, and building rows. This is the row-fetch hot path.
 *
 * Connection methods: exec(sql, params, names, stream) -> cursor | nil, rowcount, lastrowid
 *   exec_many(sql, list, names) -> rowcount; begin(iso), commit, rollback,
 *   savepoint(name), release_savepoint(name), rollback_to_savepoint(name),
 *   in_transaction, close, invalidate, is_invalid, cancel, stats.
 * Cursor methods: fetch(n) -> array of rows, fetchone() -> row|nil,
 *   first2(n) -> row1, row2, names() -> array, rowcount(), exhausted(),
 *   detached() -> reason|nil, close(), set_processors(t).
 *   A cursor whose rows were cut off by its connection (closed, invalidated,
 *   or rolled back under an open stream) is "detached": fetch and fetchone
 *   return nil, reason and first2 nil, nil, reason, and the Lua Result
 *   raises ResourceClosedError with the reason. It never reads as "no more
 *   rows".
 *
 * While a stream holds its connection busy (drivers with
 * stream_holds_connection: PostgreSQL single-row mode), every call that would
 * talk to the server raises InvalidRequestError naming the stream; libpq
 * would otherwise discard the stream's unread rows without a word.
 *
 * Parameters: `names` nil → params is an array of positional values;
 * `names` an array → placeholder i takes params[names[i]]. ath.null (the NULL
 * light userdata) binds SQL NULL; booleans, integers, numbers and strings map
 * directly. Tables bind only when they say what they are, through the field
 * `_ath_type` (a string): "blob" (binary string in [1]), "json" (JSON text
 * in [1]), "datetime" (text in [1]), "numeric" (decimal text or a Lua number
 * in [1]), "array" (array part = items). Only strings the parameter table
 * holds are bound, never one converted on the stack: the driver may point at
 * the bytes until the statement steps.
 *
 * Rows are plain tables holding each value at its position and, for the
 * first column of each name, under its name; NULL is nil. Their metatable is
 * per cursor, copied from the row class the Lua layer registered with
 * core.set_row_class(t) plus `__fields` (the names array). */
#include "l_handles.h"
#include <stdio.h>
#include <string.h>

struct l_cursor {
  ath_cstmt *s;                  /* NULL once closed or exhausted */
  l_conn *lc;                    /* owning connection; NULL once released. The
                                    Lua Result keeps the Connection alive. */
  l_cursor *next, *prev;         /* in lc->cursors while s != NULL */
  int ncols;
  int has_row;                   /* a stepped row waits to be read */
  int has_procs;                 /* meta[META_PROCS] is a table */
  int closed;                    /* the user closed it (vs. exhausted) */
  int detached;                  /* DETACH_*: rows were left when its connection cut it off */
  long long rowcount;
  char stream_sql[72];           /* a stream holding lc busy: its SQL, for the error text */
};

/* Why a cursor lost the rows it had not read yet (the message the Lua
 * Result raises as ResourceClosedError). */
enum { DETACH_NONE = 0, DETACH_CONN_CLOSED, DETACH_ROLLED_BACK };
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
enum { META_NAMES = 1, META_SETKEYS = 2, META_ROWMT = 3, META_PROCS = 4 };
#define META_CACHE_MAX 512         /* entries per connection before a reset */

static const char row_class_key = 'r';     /* registry: row class template */
static const char json_decode_key = 'j';   /* registry: JSON decoder function */

/* ---------------------------------------------------------------- helpers */

static void release_pending(l_conn *lc) {
  if (lc->pending) { ath_conn_stmt_release(lc->pending); lc->pending = NULL; }
}

static l_conn *check_conn(lua_State *L, int idx) {
  l_conn *lc = luaL_checkudata(L, idx, ATH_CONN_MT);
  if (lc->c == NULL) ath_l_raisef(L, ATH_E_INVALID_REQUEST, "Connection is closed");
  release_pending(lc);
  return lc;
}

/* Detach a cursor from its statement (returning it to the cache). */
static void cursor_release(l_cursor *cu) {
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
static void cursor_detach(l_cursor *cu, int why) {
  if (cu->s == NULL) return;
  if (cu->has_row) cu->detached = why;
  cursor_release(cu);
}

/* Raise InvalidRequestError when a stream keeps the connection busy: on
 * PostgreSQL any other command would make libpq drop the stream's unread
 * rows silently. Call before acquiring anything (it may run finalizers). */
static void check_idle(lua_State *L, l_conn *lc) {
  if (lc->stream == NULL) return;
  /* A stream no one can read any more (a loop left with break, its Result
   * dropped) only waits for its __gc to free the connection: collect first,
   * so abandoning a stream is not an error while holding one is. */
  lua_gc(L, LUA_GCCOLLECT, 0);
  if (lc->stream == NULL) return;
  ath_l_raisef(L, ATH_E_INVALID_REQUEST,
               "This Connection has an open streaming result (%s) and can run nothing else until it is "
               "read to the end or closed (result:close()); use another Connection for other statements",
               lc->stream->stream_sql);
}

/* Raise err for connection lc after releasing what the current call holds.
 * Marks the connection invalid when the driver says it is dead. */
static int raise_db(lua_State *L, l_conn *lc, ath_error *err, const char *sql, int params_idx) {
  if (lc->c) ath_conn_note_error(lc->c, err);
  release_pending(lc);
  return ath_l_raise(L, err, sql, params_idx);
}

/* Which parameter a value is, for error messages: formatted only when one
 * is raised (formatting it for every bound value was a third of executemany). */
typedef struct param_label { const char *name; int index; } param_label;

static const char *label_text(const param_label *p, char *buf, size_t n) {
  if (p->name) snprintf(buf, n, "parameter '%.60s'", p->name);
  else snprintf(buf, n, "parameter %d", p->index);
  return buf;
}

/* Convert the Lua value at idx into v without raising. Array items are
 * allocated into *scratch (caller frees with ath_free). */
static ath_status to_value(lua_State *L, int idx, ath_value *v, ath_value **scratch,
                           const param_label *label, ath_error *err) {
  char what[96];
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        v->type = ATH_V_INT;
#if LUA_VERSION_NUM >= 503
        v->u.i = (int64_t)lua_tointeger(L, idx);
#else
        v->u.i = (int64_t)lua_tonumber(L, idx);            /* integral double (checked) */
#endif
      } else {
        v->type = ATH_V_FLOAT;
        v->u.f = (double)lua_tonumber(L, idx);
      }
      return ATH_OK;
    case LUA_TSTRING:
      v->type = ATH_V_TEXT;
      v->u.s.p = lua_tolstring(L, idx, &v->u.s.n);
      return ATH_OK;
    case LUA_TBOOLEAN:
      v->type = ATH_V_BOOL; v->u.i = lua_toboolean(L, idx);
      return ATH_OK;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) { v->type = ATH_V_NULL; return ATH_OK; }
      break;
    case LUA_TTABLE: {
      idx = lua_absindex(L, idx);
      lua_pushliteral(L, "_ath_type");
      lua_rawget(L, idx);
      int tt = lua_type(L, -1);
      const char *t = tt == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      lua_pop(L, 1);                     /* t stays valid: the table holds the string */
      if (tt == LUA_TNIL) break;         /* a plain table: not bindable */
      if (t == NULL)
        return ath_error_set(err, ATH_E_ARGUMENT, "%s: _ath_type must be a string, got %s",
                             label_text(label, what, sizeof what), lua_typename(L, tt));
      if (strcmp(t, "array") == 0) {
        size_t n = lua_rawlen(L, idx);
        ath_value *items = ath_calloc(n ? n : 1, sizeof *items);
        if (items == NULL) return ath_error_nomem(err);
        for (size_t i = 0; i < n; i++) {
          lua_rawgeti(L, idx, (int)i + 1);
          ath_value *inner = NULL;
          ath_status st = lua_isnil(L, -1) ? (items[i].type = ATH_V_NULL, ATH_OK)
                                           : to_value(L, -1, &items[i], &inner, label, err);
          lua_pop(L, 1);                 /* strings stay anchored by the array table */
          if (inner) {
            ath_free(inner);
            st = ath_error_set(err, ATH_E_ARGUMENT, "%s: nested arrays are not supported", label_text(label, what, sizeof what));
          }
          if (st != ATH_OK) { ath_free(items); return st; }
        }
        *scratch = items;
        v->type = ATH_V_ARRAY; v->u.arr.items = items; v->u.arr.n = n;
        return ATH_OK;
      }
      ath_vtype vt;
      if (strcmp(t, "blob") == 0) vt = ATH_V_BLOB;
      else if (strcmp(t, "json") == 0) vt = ATH_V_JSON;
      else if (strcmp(t, "numeric") == 0) vt = ATH_V_NUMERIC;
      else if (strcmp(t, "datetime") == 0) vt = ATH_V_DATETIME;
      else return ath_error_set(err, ATH_E_ARGUMENT, "%s: unknown _ath_type '%.40s'", label_text(label, what, sizeof what), t);
      lua_rawgeti(L, idx, 1);
      int pt = lua_type(L, -1);
      if (pt == LUA_TNUMBER && vt == ATH_V_NUMERIC) {
        /* A number is its own exact value: bind it as one. Converting it to
         * text here would make a string nothing anchors. */
        to_value(L, -1, v, scratch, label, err);
        lua_pop(L, 1);
        return ATH_OK;
      }
      if (pt != LUA_TSTRING) {           /* never lua_tolstring a number: the copy is popped */
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "%s: a '%s' value needs a string%s in [1], got %s",
                             label_text(label, what, sizeof what), t,
                             vt == ATH_V_NUMERIC ? " or a number" : "", lua_typename(L, pt));
      }
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      lua_pop(L, 1);                     /* the typed table holds the string */
      v->type = vt;
      return ATH_OK;
    }
    default: break;
  }
  return ath_error_set(err, ATH_E_ARGUMENT, "%s: cannot bind a value of type %s", label_text(label, what, sizeof what),
                       luaL_typename(L, idx));
}

/* Bind the parameters of one execution (stack: params at pidx, names at
 * nidx or 0) into s without raising. */
static ath_status bind_params(lua_State *L, ath_cstmt *s, int pidx, int nidx, ath_error *err) {
  const ath_driver *drv = s->owner->drv;
  int want = drv->param_count(s->ds);
  int borrow = drv->column_count(s->ds) == 0;
  if (pidx == 0) {
    if (want == 0) return ATH_OK;
    return ath_error_set(err, ATH_E_ARGUMENT, "statement takes %d parameter%s, none given",
                         want, want == 1 ? "" : "s");
  }
  if (nidx == 0) {
    int given = (int)lua_rawlen(L, pidx);
    if (given > want)
      return ath_error_set(err, ATH_E_ARGUMENT, "statement takes %d parameter%s, %d given",
                           want, want == 1 ? "" : "s", given);
  }
  for (int i = 1; i <= want; i++) {
    const char *name = NULL;                                 /* stays valid: the names table holds it */
    if (nidx) {
      lua_rawgeti(L, nidx, i);                               /* name */
      if (lua_type(L, -1) != LUA_TSTRING) {                  /* no lua_tostring: a converted copy dangles */
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "placeholder %d has no name", i);
      }
      name = lua_tostring(L, -1);
      lua_rawget(L, pidx);                                   /* value */
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "A value is required for bind parameter '%.60s'", name);
      }
    } else {
      lua_rawgeti(L, pidx, i);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return ath_error_set(err, ATH_E_ARGUMENT, "A value is required for parameter %d (use ath.null for SQL NULL)", i);
      }
    }
    ath_value v; ath_value *scratch = NULL;
    param_label label = { name, i };
    ath_status st = to_value(L, -1, &v, &scratch, &label, err);
    /* A statement without result columns runs to completion inside this
     * call, while the parameter table keeps every string alive: the driver
     * may borrow the bytes. A cursor steps later, so then it must copy. */
    v.borrowed = borrow;
    if (st == ATH_OK) st = drv->bind(s->ds, i, &v, err);
    ath_free(scratch);
    lua_pop(L, 1);
    if (st != ATH_OK) return st;
  }
  return ATH_OK;
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

/* Raise DataError for column col, whose integer value a Lua number cannot
 * hold exactly (LuaJIT). Nothing is owned here: rows are Lua tables. */
static int raise_inexact(lua_State *L, l_cursor *cu, int col, const ath_value *v) {
  ath_column_info ci;
  cu->s->owner->drv->column_info(cu->s->ds, col, &ci);
  char digits[32] = "in an array";
  if (v->type == ATH_V_INT) snprintf(digits, sizeof digits, "%lld", (long long)v->u.i);
  return ath_l_raisef(L, ATH_E_DATA,
                      "column '%.60s': the integer %s is beyond 2^53, which a LuaJIT number cannot hold exactly; "
                      "declare the column BigInteger{ as_string = true } (for ath.text, with :columns()) "
                      "to read it as an exact decimal string", ci.name, digits);
}

/* ------------------------------------------------------------------ exec */

/* Step once; on error raise (releasing the statement first). */
static ath_status step_or_raise(lua_State *L, l_conn *lc, ath_cstmt *s, const char *sql, int pidx) {
  ath_error err;
  ath_status st = s->owner->drv->step(s->ds, &err);
  if (st != ATH_ROW && st != ATH_DONE) raise_db(L, lc, &err, sql, pidx);
  return st;
}

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
  const ath_driver *drv = s->owner->drv;
  lua_createtable(L, 4, 0);                                  /* meta */
  int meta = lua_gettop(L);
  lua_createtable(L, ncols, 0);                              /* names */
  lua_createtable(L, ncols, 0);                              /* setkeys */
  lua_createtable(L, 0, ncols);                              /* seen: name -> true */
  for (int i = 0; i < ncols; i++) {
    ath_column_info ci;
    drv->column_info(s->ds, i, &ci);
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

/* conn:exec(sql, params, names, stream) */
static int conn_exec(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  check_idle(L, lc);
  int pidx = lua_istable(L, 3) ? 3 : 0;
  if (!pidx && !lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  int nidx = lua_istable(L, 4) ? 4 : 0;
  int stream = lua_toboolean(L, 5);
  ath_error err;
  ath_cstmt *s;
  if (ath_conn_stmt_acquire(lc->c, sql, len, &s, &err) != ATH_OK) return raise_db(L, lc, &err, sql, pidx);
  lc->pending = s;                                           /* released if anything below raises */
  if (bind_params(L, s, pidx, nidx, &err) != ATH_OK) return raise_db(L, lc, &err, sql, pidx);
  const ath_driver *drv = s->owner->drv;
  if (stream && drv->set_streaming) drv->set_streaming(s->ds, 1);
  ath_status st = step_or_raise(L, lc, s, sql, pidx);
  int ncols = drv->column_count(s->ds);
  if (st == ATH_DONE && ncols == 0) {
    long long changes = (long long)drv->changes(s->ds);
    long long rowid = (long long)drv->last_insert_id(lc->c->dc);
    lc->pending = NULL;
    ath_conn_stmt_release(s);
    lua_pushnil(L);
    ath_pushint64(L, changes);
    ath_pushint64(L, rowid);
    return 3;
  }
  /* A row-returning statement: hand the statement to a cursor. */
  lua_settop(L, 5);
  push_meta(L, lc, 1, s, ncols);                             /* 6: meta */
  l_cursor *cu = ath_newudata(L, sizeof *cu);                /* 7 */
  memset(cu, 0, sizeof *cu);
  luaL_setmetatable(L, ATH_CURSOR_MT);
  lua_pushvalue(L, 6);
  lua_setuservalue(L, 7);
  cu->s = s; cu->lc = lc; cu->ncols = ncols;
  cu->has_row = (st == ATH_ROW);
  cu->rowcount = -1;
  lua_rawgeti(L, 6, META_PROCS);
  cu->has_procs = lua_istable(L, -1);
  lua_pop(L, 1);
  cu->next = lc->cursors; if (lc->cursors) lc->cursors->prev = cu; lc->cursors = cu;
  lc->pending = NULL;                                        /* the cursor owns it now */
  if (st == ATH_DONE) { cu->rowcount = (long long)drv->changes(s->ds); cursor_release(cu); }
  else if (stream && drv->stream_holds_connection) {         /* busy until read or closed */
    snprintf(cu->stream_sql, sizeof cu->stream_sql, "%.*s%s", len > 60 ? 60 : (int)len, sql, len > 60 ? "..." : "");
    lc->stream = cu;
  }
  return 1;
}

/* The Lua side of execute_batch: binds row after row from the list. */
typedef struct batch_src {
  lua_State *L;
  int list, nidx;                /* stack indexes of the list and names */
  int n, next;                   /* rows in the list; the next to bind (1-based) */
  ath_cstmt *s;
} batch_src;

static ath_status bind_next_row(void *ud, ath_dstmt *ds, ath_error *err) {
  (void)ds;
  batch_src *b = ud;
  if (b->next > b->n) return ATH_DONE;
  lua_State *L = b->L;
  lua_rawgeti(L, b->list, b->next);
  ath_status st;
  if (!lua_istable(L, -1)) {
    st = ath_error_set(err, ATH_E_ARGUMENT, "executemany: row %d is a %s, expected a table",
                       b->next, luaL_typename(L, -1));
  } else {
    st = bind_params(L, b->s, lua_gettop(L), b->nidx, err);
  }
  lua_pop(L, 1);
  b->next++;
  return st == ATH_OK ? ATH_ROW : st;
}

/* conn:exec_many(sql, list, names) -> total rowcount */
static int conn_exec_many(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  luaL_checktype(L, 3, LUA_TTABLE);
  check_idle(L, lc);
  int nidx = lua_istable(L, 4) ? 4 : 0;
  int n = (int)lua_rawlen(L, 3);
  lua_settop(L, 4);
  ath_error err;
  ath_cstmt *s;
  if (ath_conn_stmt_acquire(lc->c, sql, len, &s, &err) != ATH_OK) return raise_db(L, lc, &err, sql, 0);
  lc->pending = s;
  const ath_driver *drv = s->owner->drv;
  long long total = 0;
  if (drv->execute_batch) {
    batch_src src = { L, 3, nidx, n, 1, s };
    int64_t changes = 0;
    long failed = -1;
    if (drv->execute_batch(s->ds, bind_next_row, &src, &changes, &failed, &err) != ATH_OK) {
      if (failed >= 0) lua_rawgeti(L, 3, (int)failed + 1); else lua_pushnil(L);   /* 5: the failing row */
      return raise_db(L, lc, &err, sql, 5);
    }
    total = (long long)changes;
  } else {
    for (int r = 1; r <= n; r++) {
      lua_rawgeti(L, 3, r);                                  /* idx 5: this row's params */
      if (!lua_istable(L, 5)) {
        ath_error_set(&err, ATH_E_ARGUMENT, "executemany: row %d is a %s, expected a table", r, luaL_typename(L, 5));
        return raise_db(L, lc, &err, sql, 0);
      }
      if (bind_params(L, s, 5, nidx, &err) != ATH_OK) return raise_db(L, lc, &err, sql, 5);
      ath_status st;
      do { st = step_or_raise(L, lc, s, sql, 5); } while (st == ATH_ROW);
      total += (long long)drv->changes(s->ds);
      drv->reset(s->ds);
      lua_settop(L, 4);
    }
  }
  lc->pending = NULL;
  ath_conn_stmt_release(s);
  ath_pushint64(L, total);
  return 1;
}

/* ------------------------------------------------------------------ rows */

static l_cursor *check_cursor(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, ATH_CURSOR_MT);
}

/* Push the current row. Stack: the meta table at meta, the set-keys spread
 * on the stack from keys0+1 .. keys0+ncols (pushed once per fetch call),
 * processors at procs (0: none), the row metatable at rowmt. Values are
 * stored under their column name; a repeated name's value by position. */
static void push_row(lua_State *L, l_cursor *cu, int keys0, int procs, int rowmt) {
  const ath_driver *drv = cu->s->owner->drv;
  ath_dstmt *ds = cu->s->ds;
  int n = cu->ncols;
  lua_createtable(L, 0, n);
  int row = lua_gettop(L);
  for (int i = 0; i < n; i++) {
    ath_value v;
    ath_error err;                                           /* out of memory decoding it */
    if (ath_driver_column(drv, ds, i, &v, &err) != ATH_OK) ath_l_raise(L, &err, NULL, 0);
    int named = lua_type(L, keys0 + 1 + i) == LUA_TSTRING;   /* else a repeated name: by position */
    if (procs) {
      lua_rawgeti(L, procs, i + 1);
      if (lua_isfunction(L, -1)) {
        if (v.type == ATH_V_INT && !int_fits_number(v.u.i)) {
          /* a typed column's processor gets the exact digits instead
           * (BigInteger{ as_string = true } returns them as they are) */
          char digits[32];
          lua_pushstring(L, (snprintf(digits, sizeof digits, "%lld", (long long)v.u.i), digits));
        } else if (!push_value(L, &v)) {
          raise_inexact(L, cu, i, &v);
        }
        lua_call(L, 1, 1);                                   /* stack: value */
        if (lua_isnil(L, -1)) { lua_pop(L, 1); continue; }
        if (named) { lua_pushvalue(L, keys0 + 1 + i); lua_insert(L, -2); lua_rawset(L, row); }
        else lua_rawseti(L, row, i + 1);
        continue;
      }
      lua_pop(L, 1);
    }
    if (v.type == ATH_V_NULL) continue;
    if (named) {                                             /* key first: no stack rotation */
      lua_pushvalue(L, keys0 + 1 + i);
      if (!push_value(L, &v)) raise_inexact(L, cu, i, &v);
      lua_rawset(L, row);
    } else {
      if (!push_value(L, &v)) raise_inexact(L, cu, i, &v);
      lua_rawseti(L, row, i + 1);
    }
  }
  lua_pushvalue(L, rowmt);
  lua_setmetatable(L, row);
}

/* Push meta's set-keys onto the stack (returns the index before the first)
 * and locate the processors and row metatable. Stack: meta at meta. */
static int spread_meta(lua_State *L, l_cursor *cu, int meta, int *procs, int *rowmt) {
  luaL_checkstack(L, cu->ncols + 8, "too many result columns");
  lua_rawgeti(L, meta, META_ROWMT); *rowmt = lua_gettop(L);
  *procs = 0;
  if (cu->has_procs) {
    lua_rawgeti(L, meta, META_PROCS);
    if (lua_istable(L, -1)) *procs = lua_gettop(L); else lua_pop(L, 1);
  }
  lua_rawgeti(L, meta, META_SETKEYS);
  int keys = lua_gettop(L);
  for (int i = 1; i <= cu->ncols; i++) lua_rawgeti(L, keys, i);
  return keys;
}

/* Advance after a row was read; on DONE record rowcount and release. */
static void advance(lua_State *L, l_cursor *cu) {
  ath_error err;
  ath_status st = cu->s->owner->drv->step(cu->s->ds, &err);
  if (st == ATH_ROW) return;
  cu->has_row = 0;
  if (st == ATH_DONE) {
    cu->rowcount = (long long)cu->s->owner->drv->changes(cu->s->ds);
    cursor_release(cu);
    return;
  }
  l_conn *lc = cu->lc;
  cursor_release(cu);
  if (lc && lc->c) ath_conn_note_error(lc->c, &err);
  ath_l_raise(L, &err, NULL, 0);
}

/* A detached cursor answers nil (twice for first2) and the reason: pushes
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
  while (cu->s && cu->has_row && (max <= 0 || got < max)) {
    push_row(L, cu, keys, procs, rowmt);
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
  push_row(L, cu, keys, procs, rowmt);
  advance(L, cu);
  return 1;
}

/* cursor:first2() -> row1, row2: at most two rows, then the cursor is
 * closed (Result:one/first/scalar in one call). Detached: nil, nil, reason. */
static int cursor_first2(lua_State *L) {
  l_cursor *cu = check_cursor(L, 1);
  if (cu->closed) return ath_l_raisef(L, ATH_E_INVALID_REQUEST, "This result object is closed.");
  if (cu->detached) return push_detached(L, cu, 2);
  int want = (int)luaL_optinteger(L, 2, 2);
  lua_settop(L, 1);
  lua_pushnil(L); lua_pushnil(L);                            /* 2, 3: results */
  if (cu->s && cu->has_row) {
    lua_getuservalue(L, 1);                                  /* 4: meta */
    int procs, rowmt;
    int keys = spread_meta(L, cu, 4, &procs, &rowmt);
    for (int k = 0; k < want && cu->s && cu->has_row; k++) {
      push_row(L, cu, keys, procs, rowmt);
      lua_replace(L, 2 + k);
      if (k + 1 < want) advance(L, cu);
    }
    lua_settop(L, 3);
  }
  cursor_release(cu);
  cu->closed = 1;
  return 2;
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

static int cursor_close(lua_State *L) {                      /* __gc, __close, :close() */
  l_cursor *cu = check_cursor(L, 1);
  cursor_release(cu);
  cu->closed = 1;
  return 0;
}

/* ------------------------------------------------------------ connection */

int ath_l_conn_checkout(lua_State *L, ath_engine *e, double timeout, ath_engine_events *events) {
  l_conn *lc = ath_newudata(L, sizeof *lc);                  /* may raise: nothing owned yet */
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, ATH_CONN_MT);
  lua_newtable(L);                                           /* statement metas, by id */
  lua_setuservalue(L, -2);
  ath_error err;
  ath_conn *c;
  if (ath_engine_checkout_ev(e, timeout, events, &c, &err) != ATH_OK) return ath_l_raise(L, &err, NULL, 0);
  ath_engine_retain(e);
  lc->c = c; lc->e = e;
  return 1;
}

/* Return the connection: cursors first, then the pool (rolling back). */
static void conn_release(l_conn *lc, int invalidate) {
  if (lc->c == NULL) return;
  release_pending(lc);
  while (lc->cursors) cursor_detach(lc->cursors, DETACH_CONN_CLOSED);
  if (invalidate) ath_engine_invalidate(lc->e, lc->c);
  else ath_engine_checkin(lc->e, lc->c);
  lc->c = NULL;
  ath_engine_release(lc->e);
  lc->e = NULL;
}

static int conn_close(lua_State *L) {                        /* __gc, __close, :close() */
  l_conn *lc = luaL_checkudata(L, 1, ATH_CONN_MT);
  conn_release(lc, 0);
  return 0;
}

static int conn_invalidate(lua_State *L) {
  l_conn *lc = luaL_checkudata(L, 1, ATH_CONN_MT);
  conn_release(lc, 1);
  return 0;
}

static int conn_is_closed(lua_State *L) {
  l_conn *lc = luaL_checkudata(L, 1, ATH_CONN_MT);
  lua_pushboolean(L, lc->c == NULL);
  return 1;
}

static int conn_is_invalid(lua_State *L) {
  l_conn *lc = luaL_checkudata(L, 1, ATH_CONN_MT);
  lua_pushboolean(L, lc->c != NULL && lc->c->invalid);
  return 1;
}

/* Transaction control: each maps to one driver call. */
static int tx_result(lua_State *L, l_conn *lc, ath_status st, ath_error *err, const char *what) {
  if (st != ATH_OK) return raise_db(L, lc, err, what, 0);
  return 0;
}

static int conn_begin(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  ath_isolation iso = (ath_isolation)luaL_optinteger(L, 2, ATH_ISO_DEFAULT);
  check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->begin(lc->c->dc, iso, &err), &err, "BEGIN");
}
static int conn_commit(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->commit(lc->c->dc, &err), &err, "COMMIT");
}
/* A rollback ends an open stream first (its unread rows are gone: reading
 * it raises ResourceClosedError), so an error path can always roll back. */
static void end_stream_for_rollback(l_conn *lc) {
  if (lc->stream) cursor_detach(lc->stream, DETACH_ROLLED_BACK);
}
static int conn_rollback(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  end_stream_for_rollback(lc);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->rollback(lc->c->dc, &err), &err, "ROLLBACK");
}
static int conn_savepoint(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  const char *name = luaL_checkstring(L, 2);
  check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->savepoint(lc->c->dc, name, &err), &err, "SAVEPOINT");
}
static int conn_release_savepoint(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  const char *name = luaL_checkstring(L, 2);
  check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->release_savepoint(lc->c->dc, name, &err), &err, "RELEASE SAVEPOINT");
}
static int conn_rollback_to_savepoint(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  const char *name = luaL_checkstring(L, 2);
  end_stream_for_rollback(lc);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->rollback_to_savepoint(lc->c->dc, name, &err), &err, "ROLLBACK TO SAVEPOINT");
}
static int conn_in_transaction(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  lua_pushboolean(L, lc->c->drv->in_transaction(lc->c->dc));
  return 1;
}
static int conn_ping(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  check_idle(L, lc);
  ath_error err;
  ath_status st = lc->c->drv->ping(lc->c->dc, &err);
  if (st != ATH_OK) ath_conn_note_error(lc->c, &err);
  lua_pushboolean(L, st == ATH_OK);
  return 1;
}
static int conn_cancel(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  ath_error err;
  return tx_result(L, lc, lc->c->drv->cancel(lc->c->dc, &err), &err, NULL);
}
/* conn:exec_script(sql): no parameters, no rows; several statements allowed on SQLite. */
static int conn_exec_script(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  check_idle(L, lc);
  ath_error err;
  /* drv->exec takes a C string: text after a NUL would be dropped unseen */
  if (ath_driver_check_sql(sql, len, &err) != ATH_OK) return raise_db(L, lc, &err, sql, 0);
  if (lc->c->drv->exec(lc->c->dc, sql, &err) != ATH_OK) return raise_db(L, lc, &err, sql, 0);
  return 0;
}
static int conn_clear_cache(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  check_idle(L, lc);                                         /* finalizing talks to the server */
  ath_conn_clear_cache(lc->c);
  return 0;
}
/* conn:stats() -> { prepares = n, checkouts = n } (statements prepared on
 * this database connection; times it was checked out: 1 = fresh) */
static int conn_stats(lua_State *L) {
  l_conn *lc = check_conn(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)lc->c->prepares);
  lua_setfield(L, -2, "prepares");
  lua_pushinteger(L, (lua_Integer)lc->c->checkouts);
  lua_setfield(L, -2, "checkouts");
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

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction closer) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, closer); lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, closer); lua_setfield(L, -2, "__close");
  lua_pushstring(L, name); lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void ath_l_conn_register(lua_State *L) {
  static const luaL_Reg conn_methods[] = {
    { "exec", conn_exec }, { "exec_many", conn_exec_many }, { "exec_script", conn_exec_script },
    { "begin", conn_begin }, { "commit", conn_commit }, { "rollback", conn_rollback },
    { "savepoint", conn_savepoint }, { "release_savepoint", conn_release_savepoint },
    { "rollback_to_savepoint", conn_rollback_to_savepoint },
    { "in_transaction", conn_in_transaction }, { "ping", conn_ping }, { "cancel", conn_cancel },
    { "close", conn_close }, { "invalidate", conn_invalidate }, { "is_closed", conn_is_closed },
    { "is_invalid", conn_is_invalid }, { "clear_cache", conn_clear_cache }, { "stats", conn_stats },
    { NULL, NULL } };
  static const luaL_Reg cursor_methods[] = {
    { "fetch", cursor_fetch }, { "fetchone", cursor_fetchone }, { "first2", cursor_first2 },
    { "names", cursor_names },
    { "rowcount", cursor_rowcount }, { "exhausted", cursor_exhausted }, { "detached", cursor_detached },
    { "set_processors", cursor_set_processors }, { "close", cursor_close }, { NULL, NULL } };
  new_class(L, ATH_CONN_MT, conn_methods, conn_close);
  new_class(L, ATH_CURSOR_MT, cursor_methods, cursor_close);
  lua_pushcfunction(L, l_set_row_class); lua_setfield(L, -2, "set_row_class");
  lua_pushcfunction(L, l_set_json_decoder); lua_setfield(L, -2, "set_json_decoder");
}

/* For the cosocket driver's codec binding (l_pgwire.c): the same Lua value
 * → ath_value conversion as conn:exec's, so both drivers bind alike. */
ath_status ath_l_to_value(lua_State *L, int idx, ath_value *v, ath_value **scratch, const char *name, int index,
                          ath_error *err) {
  param_label label = { name, index };
  return to_value(L, idx, v, scratch, &label, err);
}
