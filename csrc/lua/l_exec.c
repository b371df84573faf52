/* l_exec.c — the execution methods of Connection: exec (one parameter set,
 * maybe rows), exec_many (executemany, no rows) and exec_script (no
 * parameters, no rows). Each acquires the connection's prepared statement
 * for the SQL text (ath_conn_stmt_acquire: an LRU hit, or a prepare), parks
 * it in lc->pending while anything may raise, binds (l_bind.c) and steps
 * through csrc/engine. Methods and their contract: docs/connection-interface.md. */
#include "l_conn.h"
#include <string.h>

/* Step once; on error raise (releasing the statement first). */
static ath_status step_or_raise(lua_State *L, l_conn *lc, ath_cstmt *s, const char *sql, int pidx) {
  ath_error err;
  ath_status st = ath_cstmt_step(s, &err);
  if (st != ATH_ROW && st != ATH_DONE) ath_l_raise_db(L, lc, &err, sql, pidx);
  return st;
}

/* conn:exec(sql [, params [, names [, stream [, nulls]]]])
 *   -> cursor             (a statement with result columns)
 *   -> nil, rowcount, lastrowid   (one without) */
static int conn_exec(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  ath_l_check_idle(L, lc);
  int pidx = lua_istable(L, 3) ? 3 : 0;
  if (!pidx && !lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  int nidx = lua_istable(L, 4) ? 4 : 0;
  int stream = lua_toboolean(L, 5);
  int nulls = lua_toboolean(L, 6);
  ath_error err;
  ath_cstmt *s;
  if (ath_conn_stmt_acquire(lc->c, sql, len, &s, &err) != ATH_OK) return ath_l_raise_db(L, lc, &err, sql, pidx);
  lc->pending = s;                                           /* released if anything below raises */
  if (ath_l_bind_params(L, s, pidx, nidx, &err) != ATH_OK) return ath_l_raise_db(L, lc, &err, sql, pidx);
  if (stream) ath_cstmt_set_streaming(s, 1);
  ath_status st = step_or_raise(L, lc, s, sql, pidx);
  int ncols = ath_cstmt_column_count(s);
  if (st == ATH_DONE && ncols == 0) {
    long long changes = (long long)ath_cstmt_changes(s);
    long long rowid = (long long)ath_conn_last_insert_id(lc->c);
    lc->pending = NULL;
    ath_conn_stmt_release(s);
    lua_pushnil(L);
    ath_pushint64(L, changes);
    ath_pushint64(L, rowid);
    return 3;
  }
  /* A row-returning statement: hand the statement to a cursor. */
  lua_settop(L, 6);
  ath_l_cursor_open(L, lc, 1, s, ncols, st, stream, nulls, sql, len);
  return 1;
}

/* The Lua side of ath_cstmt_execute_many: binds row after row from the list. */
typedef struct batch_src {
  lua_State *L;
  int list, nidx;                /* stack indexes of the list and names */
  int n, next;                   /* rows in the list; the next to bind (1-based) */
} batch_src;

static ath_status bind_next_row(void *ud, ath_cstmt *s, ath_error *err) {
  batch_src *b = ud;
  if (b->next > b->n) return ATH_DONE;
  lua_State *L = b->L;
  lua_rawgeti(L, b->list, b->next);
  ath_status st;
  if (!lua_istable(L, -1)) {
    st = ath_error_set(err, ATH_E_ARGUMENT, "executemany: row %d is a %s, expected a table",
                       b->next, luaL_typename(L, -1));
  } else {
    st = ath_l_bind_params(L, s, lua_gettop(L), b->nidx, err);
  }
  lua_pop(L, 1);
  b->next++;
  return st == ATH_OK ? ATH_ROW : st;
}

/* conn:exec_many(sql, list [, names]) -> total rowcount */
static int conn_exec_many(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  luaL_checktype(L, 3, LUA_TTABLE);
  ath_l_check_idle(L, lc);
  int nidx = lua_istable(L, 4) ? 4 : 0;
  int n = (int)lua_rawlen(L, 3);
  lua_settop(L, 4);
  ath_error err;
  ath_cstmt *s;
  if (ath_conn_stmt_acquire(lc->c, sql, len, &s, &err) != ATH_OK) return ath_l_raise_db(L, lc, &err, sql, 0);
  lc->pending = s;
  batch_src src = { L, 3, nidx, n, 1 };
  int64_t changes = 0;
  long failed = -1;
  if (ath_cstmt_execute_many(s, bind_next_row, &src, &changes, &failed, &err) != ATH_OK) {
    if (failed >= 0) lua_rawgeti(L, 3, (int)failed + 1); else lua_pushnil(L);   /* 5: the failing row */
    return ath_l_raise_db(L, lc, &err, sql, lua_istable(L, 5) ? 5 : 0);
  }
  lc->pending = NULL;
  ath_conn_stmt_release(s);
  ath_pushint64(L, (long long)changes);
  return 1;
}

/* conn:exec_script(sql): no parameters, no rows; several statements allowed on SQLite. */
static int conn_exec_script(lua_State *L) {
  l_conn *lc = ath_l_check_conn(L, 1);
  size_t len;
  const char *sql = luaL_checklstring(L, 2, &len);
  ath_l_check_idle(L, lc);
  ath_error err;
  if (ath_conn_exec_script(lc->c, sql, len, &err) != ATH_OK) return ath_l_raise_db(L, lc, &err, sql, 0);
  return 0;
}

const luaL_Reg ath_l_exec_methods[] = {
  { "exec", conn_exec }, { "exec_many", conn_exec_many }, { "exec_script", conn_exec_script },
  { NULL, NULL } };
