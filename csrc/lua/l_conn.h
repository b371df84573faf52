/* l_conn.h — what the Connection and Cursor files of the binding share:
 *   l_conn.c    connection lifetime (checkout, close, invalidate), transactions
 *   l_exec.c    execution: exec, exec_many, exec_script
 *   l_bind.c    Lua values → ath_value, binding one parameter set
 *   l_cursor.c  the Cursor: row building (the row-fetch hot path), fetching
 * The method set these userdata implement is docs/connection-interface.md.
 * Everything reaches the database through csrc/engine (ath_conn_*,
 * ath_cstmt_*), never through the driver table. */
#ifndef ATH_L_CONN_H
#define ATH_L_CONN_H
#include "l_handles.h"

struct l_cursor {
  ath_cstmt *s;                  /* NULL once closed or exhausted */
  l_conn *lc;                    /* owning connection; NULL once released. The
                                    Lua Result keeps the Connection alive. */
  l_cursor *next, *prev;         /* in lc->cursors while s != NULL */
  long long rowcount;
  int ncols;
  /* Flags as bytes: every execution that returns rows allocates a cursor,
   * and its size is garbage the collector is paced by. */
  unsigned char has_row;         /* a stepped row waits to be read */
  unsigned char has_procs;       /* meta[META_PROCS] is a table */
  unsigned char nulls;           /* SQL NULL reads as ath.null instead of nil (option `nulls`) */
  unsigned char closed;          /* the user closed it (vs. exhausted) */
  unsigned char detached;        /* DETACH_*: rows were left when its connection cut it off */
};

/* Why a cursor lost the rows it had not read yet (the message the Lua
 * Result raises as ResourceClosedError). */
enum { DETACH_NONE = 0, DETACH_CONN_CLOSED, DETACH_ROLLED_BACK };

/* The userdata at idx when its metatable is the class metatable the running
 * C function holds as upvalue 1, as every method and closer made by
 * ath_l_new_class does; otherwise luaL_checkudata's check and error. A
 * pointer compare where luaL_checkudata looks the metatable up by name
 * (~120 instructions, three times per point select; callgrind). */
static inline void *ath_l_check_class(lua_State *L, int idx, const char *name) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_getmetatable(L, idx)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return p;
  }
  return luaL_checkudata(L, idx, name);
}

/* ---- l_conn.c */
/* Releases the statement a previous call parked in lc->pending. */
static inline void ath_l_release_pending(l_conn *lc) {
  if (lc->pending) { ath_conn_stmt_release(lc->pending); lc->pending = NULL; }
}
ATH_HIDDEN l_conn *ath_l_check_conn_slow(lua_State *L, l_conn *lc);
/* The open Connection at idx: raises InvalidRequestError when closed and
 * DisconnectionError when it was opened by another process (before a fork).
 * Releases the statement a previous call left pending. Inline: every
 * execution starts here. */
static inline l_conn *ath_l_check_conn(lua_State *L, int idx) {
  l_conn *lc = ath_l_check_class(L, idx, ATH_CONN_MT);
  if (lc->c == NULL || lc->pending || ath_conn_foreign(lc->c)) return ath_l_check_conn_slow(L, lc);
  return lc;
}
/* Raises InvalidRequestError while a stream keeps lc busy (see l_conn.c).
 * Call before acquiring anything: it may run finalizers. */
ATH_HIDDEN void ath_l_check_idle(lua_State *L, l_conn *lc);
/* Releases what the current call holds (lc->pending), then raises err with
 * the SQL and the parameters at params_idx (0: none). Never returns. */
ATH_HIDDEN int ath_l_raise_db(lua_State *L, l_conn *lc, ath_error *err, const char *sql, int params_idx);
/* Creates a metatable `name` whose __index holds methods, with closer as
 * __gc and __close. Each is a closure over two upvalues: the metatable
 * (see ath_l_check_class) and the Cursor metatable (nil until that class
 * is made; ath_l_cursor_open sets it on a new cursor). */
ATH_HIDDEN void ath_l_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction closer);

/* ---- l_exec.c: the execution methods of Connection (NULL-terminated). */
ATH_HIDDEN extern const luaL_Reg ath_l_exec_methods[];

/* ---- l_bind.c */
/* Binds one parameter set into s without raising: params at pidx (0: none),
 * names at nidx (0: params is positional; else placeholder i takes
 * params[names[i]]). */
ATH_HIDDEN ath_status ath_l_bind_params(lua_State *L, ath_cstmt *s, int pidx, int nidx, ath_error *err);

/* ---- l_cursor.c */
/* Pushes the statement's meta table, then a Cursor over s (on top), which has been stepped once (first: ATH_ROW or
 * ATH_DONE) and has ncols > 0 result columns; the cursor owns s from here.
 * Called from a Connection method (upvalue 2: the Cursor metatable).
 * stream: s holds the connection busy until read (lc->stream); nulls: the
 * option `nulls`. The Connection userdata is at conn_idx; sql (len bytes)
 * names a stream in errors. */
ATH_HIDDEN void ath_l_cursor_open(lua_State *L, l_conn *lc, int conn_idx, ath_cstmt *s, int ncols,
                                  ath_status first, int stream, int nulls, const char *sql, size_t len);
/* Returns the cursor's statement to its connection (idempotent). */
ATH_HIDDEN void ath_l_cursor_release(l_cursor *cu);
/* Releases a cursor its connection cuts off; if rows were still to be read,
 * remembers why (DETACH_*) so reading it raises instead of ending. */
ATH_HIDDEN void ath_l_cursor_detach(l_cursor *cu, int why);
/* Creates the Cursor metatable and adds set_row_class/set_json_decoder to
 * the module table on top of the stack. */
ATH_HIDDEN void ath_l_cursor_register(lua_State *L);

#endif
