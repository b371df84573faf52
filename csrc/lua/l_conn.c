/* l_conn.c — the Connection userdata of athanor.core: its lifetime
 * (checked out of the engine's pool, returned on close, __close or __gc,
 * closed for good by invalidate) and transaction control. Execution is in
 * l_exec.c, parameters in l_bind.c, rows in l_cursor.c (see l_conn.h).
 *
 * Connection methods (the full contract, which a Lua-side driver implements
 * too, is docs/connection-interface.md):
 *   exec(sql, params, names, stream, nulls) -> cursor | nil, rowcount, lastrowid
 *   exec_many(sql, list, names) -> rowcount;  exec_script(sql)
 *   begin(iso), commit(), rollback(), savepoint(name), release_savepoint(name),
 *   rollback_to_savepoint(name), in_transaction() -> bool, ping() -> bool,
 *   cancel(), close(), invalidate(), is_closed() -> bool, is_invalid() -> bool,
 *   clear_cache(), stats() -> { prepares, checkouts }
 *
 * While a stream holds its connection busy (ath_conn_stream_holds:
 * PostgreSQL single-row mode), every call that would talk to the server
 * raises InvalidRequestError naming the stream; libpq would otherwise
 * discard the stream's unread rows without a word. A rollback ends the
 * stream instead, so an error path can always roll back.
 *
 * A Connection carried into a forked child (its connection was opened by
 * the parent) is never used there: every method that reaches the server
 * raises DisconnectionError, and closing it frees only the child's memory
 * (ath_conn_foreign). */
#include "l_conn.h"
#include <string.h>

/* ---------------------------------------------------------------- helpers */

l_conn *ath_l_check_conn_slow(lua_State *L, l_conn *lc) {
  if (lc->c == NULL) ath_l_raisef(L, ATH_E_INVALID_REQUEST, "Connection is closed");
  ath_l_release_pending(lc);
  if (ath_conn_foreign(lc->c))
    ath_l_raisef(L, ATH_E_DISCONNECTION,
                 "This Connection was opened by process %ld, which this process was forked from: it "
                 "stays that process's; close it and check out a new one here", lc->c->pid);
  return lc;
}

void ath_l_check_idle(lua_State *L, l_conn *lc) {
  if (lc->stream == NULL) return;
  /* A stream no one can read any more (a loop left with break, its Result
   * dropped) only waits for its __gc to free the connection: collect first,
   * so abandoning a stream is not an error while holding one is. */
  lua_gc(L, LUA_GCCOLLECT, 0);
  if (lc->stream == NULL) return;
  ath_l_raisef(L, ATH_E_INVALID_REQUEST,
               "This Connection has an open streaming result (%s) and can run nothing else until it is "
               "read to the end or closed (result:close()); use another Connection for other statements",
               lc->stream_sql);
}

/* The engine has recorded a disconnect on lc->c already (it does for every
 * call that talks to the server). */
int ath_l_raise_db(lua_State *L, l_conn *lc, ath_error *err, const char *sql, int params_idx) {
  ath_l_release_pending(lc);
  return ath_l_raise(L, err, sql, params_idx);
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
  ath_l_release_pending(lc);
  while (lc->cursors) ath_l_cursor_detach(lc->cursors, DETACH_CONN_CLOSED);
  if (invalidate) ath_engine_invalidate(lc->e, lc->c);
  else ath_engine_checkin(lc->e, lc->c);
  lc->c = NULL;
  ath_engine_release(lc->e);
  lc->e = NULL;
}

static int conn_close(lua_State *L) {                        /* __gc, __close, :close() */
  l_conn *lc = ath_l_check_class(L, 1, ATH_CONN_MT);
  conn_release(lc, 0);
  return 0;
}

static int conn_invalidate(lua_State *L) {
  l_conn *lc = ath_l_check_class(L, 1, ATH_CONN_MT);
  conn_release(lc, 1);
  return 0;
}

static int conn_is_closed(lua_State *L) {
  l_conn *lc = ath_l_check_class(L, 1, ATH_CONN_MT);
  lua_pushboolean(L, lc->c == NULL);
  return 1;
}

static int conn_is_invalid(lua_State *L) {
  l_conn *lc = ath_l_check_class(L, 1, ATH_CONN_MT);
  lua_pushboolean(L, lc->c != NULL && lc->c->invalid);
  return 1;
}

/* Transaction control: each maps to one driver call. */
static int tx_result(lua_State *L, l_conn *lc, ath_status st, ath_error *err, const char *what) {
  if (st != ATH_OK) return ath_l_raise_db(L, lc, err, what, 0);
  return 0;
}

static int conn_begin(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  ath_isolation iso = (ath_isolation)luaL_optinteger(L, 2, ATH_ISO_DEFAULT);
  ath_l_check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, ath_conn_begin(lc->c, iso, &err), &err, "BEGIN");
}
static int conn_commit(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  ath_l_check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, ath_conn_commit(lc->c, &err), &err, "COMMIT");
}
/* A rollback ends an open stream first (its unread rows are gone: reading
 * it raises ResourceClosedError), so an error path can always roll back. */
static void end_stream_for_rollback(l_conn *lc) {
  if (lc->stream) ath_l_cursor_detach(lc->stream, DETACH_ROLLED_BACK);
}
static int conn_rollback(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  end_stream_for_rollback(lc);
  ath_error err;
  return tx_result(L, lc, ath_conn_rollback(lc->c, &err), &err, "ROLLBACK");
}
static int conn_savepoint(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  const char *name = luaL_checkstring(L, 2);
  ath_l_check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, ath_conn_savepoint(lc->c, name, &err), &err, "SAVEPOINT");
}
static int conn_release_savepoint(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  const char *name = luaL_checkstring(L, 2);
  ath_l_check_idle(L, lc);
  ath_error err;
  return tx_result(L, lc, ath_conn_release_savepoint(lc->c, name, &err), &err, "RELEASE SAVEPOINT");
}
static int conn_rollback_to_savepoint(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  const char *name = luaL_checkstring(L, 2);
  end_stream_for_rollback(lc);
  ath_error err;
  return tx_result(L, lc, ath_conn_rollback_to_savepoint(lc->c, name, &err), &err, "ROLLBACK TO SAVEPOINT");
}
static int conn_in_transaction(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  lua_pushboolean(L, ath_conn_in_transaction(lc->c));
  return 1;
}
static int conn_ping(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  ath_l_check_idle(L, lc);
  ath_error err;
  lua_pushboolean(L, ath_conn_ping(lc->c, &err) == ATH_OK);   /* a disconnect is recorded */
  return 1;
}
static int conn_cancel(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  ath_error err;
  return tx_result(L, lc, ath_conn_cancel(lc->c, &err), &err, NULL);
}
static int conn_clear_cache(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  ath_l_check_idle(L, lc);                                         /* finalizing talks to the server */
  ath_conn_clear_cache(lc->c);
  return 0;
}
/* conn:stats() -> { prepares = n, checkouts = n } (statements prepared on
 * this database connection; times it was checked out: 1 = fresh) */
static int conn_stats(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)lc->c->prepares);
  lua_setfield(L, -2, "prepares");
  lua_pushinteger(L, (lua_Integer)lc->c->checkouts);
  lua_setfield(L, -2, "checkouts");
  return 1;
}

/* Pushes the two upvalues of a class's C functions (see l_conn.h). */
static void push_class_upvalues(lua_State *L, const char *name) {
  luaL_getmetatable(L, name);
  luaL_getmetatable(L, ATH_CURSOR_MT);
}

void ath_l_new_class(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction closer) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  push_class_upvalues(L, name);
  luaL_setfuncs(L, methods, 2);
  lua_setfield(L, -2, "__index");
  push_class_upvalues(L, name); lua_pushcclosure(L, closer, 2); lua_setfield(L, -2, "__gc");
  push_class_upvalues(L, name); lua_pushcclosure(L, closer, 2); lua_setfield(L, -2, "__close");
  lua_pushstring(L, name); lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

void ath_l_conn_register(lua_State *L) {
  static const luaL_Reg conn_methods[] = {
    { "begin", conn_begin }, { "commit", conn_commit }, { "rollback", conn_rollback },
    { "savepoint", conn_savepoint }, { "release_savepoint", conn_release_savepoint },
    { "rollback_to_savepoint", conn_rollback_to_savepoint },
    { "in_transaction", conn_in_transaction }, { "ping", conn_ping }, { "cancel", conn_cancel },
    { "close", conn_close }, { "invalidate", conn_invalidate }, { "is_closed", conn_is_closed },
    { "is_invalid", conn_is_invalid }, { "clear_cache", conn_clear_cache }, { "stats", conn_stats },
    { NULL, NULL } };
  ath_l_cursor_register(L);                                  /* first: the Connection's upvalue */
  ath_l_new_class(L, ATH_CONN_MT, conn_methods, conn_close);
  luaL_getmetatable(L, ATH_CONN_MT);                         /* add the execution methods */
  lua_getfield(L, -1, "__index");
  push_class_upvalues(L, ATH_CONN_MT);
  luaL_setfuncs(L, ath_l_exec_methods, 2);
  lua_pop(L, 2);
}
