/* l_engine.c — the athanor.Engine userdata: opens engines (parsing the
 * options table), checks connections out, reports pool status.
 * Lua-side option validation (unknown names, types) is done by
 * lua/athanor/engine/init.lua before calling here; this file only reads. */
#include "l_internal.h"
#include "l_handles.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static l_engine *check_engine(lua_State *L, int idx) {
  l_engine *le = luaL_checkudata(L, idx, ATH_ENGINE_MT);
  if (le->e == NULL) ath_l_raisef(L, ATH_E_INVALID_REQUEST, "Engine is closed");
  return le;
}

/* Options arrive checked for type and range by lua/athanor/engine/init.lua;
 * the engine checks ranges again (hosts call it too). Here we only make sure
 * the conversion to a C int is defined: a double outside int's range or with
 * a fraction is refused instead of cast. */
static int opt_int(lua_State *L, int t, const char *k, int def) {
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return def; }
  double v = luaL_checknumber(L, -1);
  lua_pop(L, 1);
  if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != floor(v))
    ath_l_raisef(L, ATH_E_ARGUMENT, "create_engine option '%s' must be an integer, got %g", k, v);
  return (int)v;
}
static double opt_num(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}
static int opt_bool(lua_State *L, int t, const char *k, int def) {
  lua_getfield(L, t, k);
  int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static ath_isolation parse_isolation(lua_State *L, const char *s) {
  static const char *const names[] = { "DEFAULT", "READ UNCOMMITTED", "READ COMMITTED",
                                       "REPEATABLE READ", "SERIALIZABLE", "AUTOCOMMIT", NULL };
  for (int i = 0; names[i]; i++) if (strcmp(s, names[i]) == 0) return (ath_isolation)i;
  ath_l_raisef(L, ATH_E_ARGUMENT, "Invalid isolation_level '%s': expected one of READ UNCOMMITTED, "
               "READ COMMITTED, REPEATABLE READ, SERIALIZABLE, AUTOCOMMIT", s);
  return ATH_ISO_DEFAULT;
}

/* core.engine_open(url, opts) -> Engine. All reading and checking happens
 * before the engine exists, so a raise can't leak it. */
static int l_engine_open(lua_State *L) {
  size_t url_len;
  const char *url = luaL_checklstring(L, 1, &url_len);
  if (strlen(url) != url_len) {
    /* A C string would end at the NUL and open a truncated name. Spell each
     * NUL as "%00" so the URL parser refuses it naming the part it is in. */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < url_len; i++) {
      if (url[i] == '\0') luaL_addstring(&b, "%00");
      else luaL_addchar(&b, url[i]);
    }
    luaL_pushresult(&b);
    lua_replace(L, 1);
    url = lua_tostring(L, 1);                                 /* anchored at index 1 */
  }
  int has_opts = !lua_isnoneornil(L, 2);
  if (has_opts) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  if (has_opts) {
    cfg.pool.size = opt_int(L, 2, "pool_size", cfg.pool.size);
    cfg.pool.max_overflow = opt_int(L, 2, "max_overflow", cfg.pool.max_overflow);
    cfg.pool.timeout = opt_num(L, 2, "pool_timeout", cfg.pool.timeout);
    cfg.pool.recycle = opt_num(L, 2, "pool_recycle", cfg.pool.recycle);
    cfg.pool.pre_ping = opt_bool(L, 2, "pool_pre_ping", 0);
    cfg.pool.use_lifo = opt_bool(L, 2, "pool_use_lifo", 0);
    cfg.pool.invalidate_pool_on_disconnect = opt_bool(L, 2, "invalidate_pool_on_disconnect", 0);
    cfg.stmt_cache_size = (size_t)opt_int(L, 2, "statement_cache_size", (int)cfg.stmt_cache_size);
    lua_getfield(L, 2, "poolclass");                          /* idx 3 */
    if (!lua_isnil(L, 3)) {
      const char *pc = luaL_checkstring(L, 3);
      if (strcmp(pc, "queue") == 0) cfg.pool.kind = ATH_POOL_QUEUE;
      else if (strcmp(pc, "static") == 0) cfg.pool.kind = ATH_POOL_STATIC;
      else if (strcmp(pc, "null") == 0) cfg.pool.kind = ATH_POOL_NULL;
      else return ath_l_raisef(L, ATH_E_ARGUMENT, "Invalid poolclass '%s': expected queue, static or null", pc);
      cfg.pool_kind_set = 1;
    }
    lua_getfield(L, 2, "isolation_level");                    /* idx 4 */
    if (!lua_isnil(L, 4)) cfg.isolation = parse_isolation(L, luaL_checkstring(L, 4));
    lua_getfield(L, 2, "shared");                             /* idx 5 */
    if (!lua_isnil(L, 5)) cfg.shared_name = luaL_checkstring(L, 5);
    lua_getfield(L, 2, "connect_args");                       /* idx 6 */
    if (!lua_isnil(L, 6)) {
      luaL_checktype(L, 6, LUA_TTABLE);
      /* Stringify every pair into a scratch array (idx 7) so the strings our
       * pointers point into stay anchored until we return. */
      lua_newtable(L);                                        /* idx 7 */
      int n = 0;
      for (lua_pushnil(L); lua_next(L, 6); lua_pop(L, 1)) {   /* stack: ..., key, value */
        if (lua_type(L, -2) != LUA_TSTRING)
          return ath_l_raisef(L, ATH_E_ARGUMENT, "connect_args keys must be strings");
        int vt = lua_type(L, -1);
        if (vt != LUA_TBOOLEAN && vt != LUA_TNUMBER && vt != LUA_TSTRING)
          return ath_l_raisef(L, ATH_E_ARGUMENT, "connect_args '%s' must be a string, number or boolean, got %s",
                              lua_tostring(L, -2), lua_typename(L, vt));
        lua_pushvalue(L, -2); lua_rawseti(L, 7, 2 * n + 1);
        if (vt == LUA_TBOOLEAN) lua_pushstring(L, lua_toboolean(L, -1) ? "true" : "false");
        else { lua_pushvalue(L, -1); lua_tostring(L, -1); }   /* converts the copy, not the key */
        lua_rawseti(L, 7, 2 * n + 2);
        n++;
      }
      const char **keys = lua_newuserdata(L, sizeof(char *) * (size_t)(n ? n : 1));
      const char **vals = lua_newuserdata(L, sizeof(char *) * (size_t)(n ? n : 1));
      for (int j = 0; j < n; j++) {
        lua_rawgeti(L, 7, 2 * j + 1); keys[j] = lua_tostring(L, -1); lua_pop(L, 1);
        lua_rawgeti(L, 7, 2 * j + 2); vals[j] = lua_tostring(L, -1); lua_pop(L, 1);
      }
      cfg.ca_keys = keys; cfg.ca_values = vals; cfg.nca = n;
    }
  }
  l_engine *le = ath_newudata(L, sizeof *le);                /* may raise: nothing owned yet */
  le->e = NULL;
  luaL_setmetatable(L, ATH_ENGINE_MT);
  ath_error err;
  if (ath_engine_open(url, &cfg, &le->e, &err) != ATH_OK) return ath_l_raise(L, &err, NULL, 0);
  return 1;
}

void ath_l_push_engine(lua_State *L, ath_engine *e) {
  l_engine *le = ath_newudata(L, sizeof *le);                /* may raise: nothing taken yet */
  le->e = NULL;
  luaL_setmetatable(L, ATH_ENGINE_MT);
  ath_engine_retain(e);
  le->e = e;
}

/* engine:connect([timeout [, want_events]]) -> conn, serial [, events]
 * serial names the database connection in pool events. With want_events,
 * events is the checkout's pool events in order, flattened in fours: name,
 * serial, reason kind or false, reason message or false; then
 * events.dropped counts invalidations that did not fit. They are handed to
 * this lua_State only: the C pool never calls Lua (it may run in another
 * thread of a shared engine). */
static int engine_connect(lua_State *L) {
  l_engine *le = check_engine(L, 1);
  double timeout = luaL_optnumber(L, 2, -1.0);
  int want_events = lua_toboolean(L, 3);
  lua_settop(L, 1);
  /* Connections dropped without close() come back to the pool only when the
   * collector finalizes them. Before blocking on an exhausted pool, collect
   * this state's garbage so its own abandoned connections are returned
   * (other lua_States sharing the engine must collect their own; see
   * docs/pooling.md). */
  if (ath_pool_would_wait(ath_engine_pool(le->e))) lua_gc(L, LUA_GCCOLLECT, 0);
  ath_engine_events ev;                                      /* on the stack: a raise leaks nothing */
  ath_l_conn_checkout(L, le->e, timeout, &ev);               /* 2: conn */
  lua_pushinteger(L, (lua_Integer)ev.serial);                /* 3 */
  if (!want_events) return 2;
  lua_createtable(L, 4 * ev.n, 1);                           /* 4 */
  for (int i = 0; i < ev.n; i++) {
    const ath_engine_event *x = &ev.ev[i];
    lua_pushstring(L, x->name); lua_rawseti(L, 4, 4 * i + 1);
    lua_pushinteger(L, (lua_Integer)x->serial); lua_rawseti(L, 4, 4 * i + 2);
    if (x->reason_kind != ATH_OK) lua_pushstring(L, ath_error_kind_name(x->reason_kind));
    else lua_pushboolean(L, 0);
    lua_rawseti(L, 4, 4 * i + 3);
    if (x->reason_kind != ATH_OK) lua_pushstring(L, x->reason);
    else lua_pushboolean(L, 0);
    lua_rawseti(L, 4, 4 * i + 4);
  }
  lua_pushinteger(L, ev.dropped); lua_setfield(L, 4, "dropped");
  return 3;
}

static int engine_close(lua_State *L) {                      /* __gc, __close, :close() */
  l_engine *le = luaL_checkudata(L, 1, ATH_ENGINE_MT);
  ath_engine *e = le->e;
  le->e = NULL;
  ath_engine_release(e);                                     /* connections hold their own refs */
  return 0;
}

static int engine_dispose(lua_State *L) {
  ath_engine_dispose(check_engine(L, 1)->e);
  return 0;
}

static int engine_status(lua_State *L) {
  l_engine *le = check_engine(L, 1);
  ath_pool_status st;
  ath_pool_get_status(ath_engine_pool(le->e), &st);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, st.size); lua_setfield(L, -2, "size");
  lua_pushinteger(L, st.checked_out); lua_setfield(L, -2, "checked_out");
  lua_pushinteger(L, st.overflow); lua_setfield(L, -2, "overflow");
  lua_pushinteger(L, st.idle); lua_setfield(L, -2, "idle");
  lua_pushinteger(L, st.waiters); lua_setfield(L, -2, "waiters");
  lua_pushinteger(L, (lua_Integer)st.total_connects); lua_setfield(L, -2, "connects");
  return 1;
}

/* engine:info() -> { dialect, driver, database, host, port, username, url
 * (password masked), supports_transactional_ddl, memory, poolclass }; what
 * the SQL looks like (placeholders, RETURNING) is the dialect's (core.dialect_facts). */
static int engine_info(lua_State *L) {
  l_engine *le = check_engine(L, 1);
  const ath_url *u = ath_engine_url(le->e);
  const ath_driver *d = ath_engine_driver(le->e);
  const ath_engine_config *cfg = ath_engine_get_config(le->e);
  char urlbuf[600];
  char *masked = ath_url_render_masked(u);
  snprintf(urlbuf, sizeof urlbuf, "%s", masked ? masked : "");
  ath_free(masked);                                          /* before anything can raise */
  lua_createtable(L, 0, 12);
  lua_pushstring(L, d->name); lua_setfield(L, -2, "dialect");
  if (u->driver) { lua_pushstring(L, u->driver); lua_setfield(L, -2, "driver"); }
  if (u->database) { lua_pushstring(L, u->database); lua_setfield(L, -2, "database"); }
  if (u->host) { lua_pushstring(L, u->host); lua_setfield(L, -2, "host"); }
  if (u->port) { lua_pushinteger(L, u->port); lua_setfield(L, -2, "port"); }
  if (u->username) { lua_pushstring(L, u->username); lua_setfield(L, -2, "username"); }
  lua_pushstring(L, urlbuf); lua_setfield(L, -2, "url");
  lua_pushboolean(L, d->supports_transactional_ddl); lua_setfield(L, -2, "supports_transactional_ddl");
  lua_pushboolean(L, ath_engine_is_memory(le->e)); lua_setfield(L, -2, "memory");
  static const char *const kinds[] = { "queue", "static", "null" };
  lua_pushstring(L, kinds[cfg->pool.kind]); lua_setfield(L, -2, "poolclass");
  return 1;
}

static int engine_tostring(lua_State *L) {
  l_engine *le = luaL_checkudata(L, 1, ATH_ENGINE_MT);
  if (le->e == NULL) { lua_pushliteral(L, "Engine(closed)"); return 1; }
  char buf[600];
  char *masked = ath_url_render_masked(ath_engine_url(le->e));
  snprintf(buf, sizeof buf, "Engine(%s)", masked ? masked : "?");
  ath_free(masked);                                          /* before the push can raise */
  lua_pushstring(L, buf);
  return 1;
}

void ath_l_engine_register(lua_State *L) {
  static const luaL_Reg methods[] = {
    { "connect", engine_connect }, { "close", engine_close }, { "dispose", engine_dispose },
    { "status", engine_status }, { "info", engine_info }, { NULL, NULL } };
  luaL_newmetatable(L, ATH_ENGINE_MT);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, engine_close); lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, engine_close); lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, engine_tostring); lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, ATH_ENGINE_MT); lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_engine_open);
  lua_setfield(L, -2, "engine_open");
}
