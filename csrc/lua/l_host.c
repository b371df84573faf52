/* l_host.c — the host side of the public C API (athanor.h): open an engine
 * in C and hand it to any lua_State. */
#include "l_handles.h"
#include "../include/athanor.h"
#include <stdio.h>
#include <string.h>

ATH_API void ath_host_engine_options_init(ath_host_engine_options *o) {
  memset(o, 0, sizeof *o);
  o->pool_size = 5;
  o->max_overflow = 10;
  o->pool_timeout = 30.0;
  o->pool_recycle = -1.0;
}

ATH_API ath_engine *ath_host_engine_open(const char *url, const ath_host_engine_options *o,
                                         char *errbuf, size_t errbuf_size) {
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  ath_host_engine_options defaults;
  if (o == NULL) { ath_host_engine_options_init(&defaults); o = &defaults; }
  cfg.pool.size = o->pool_size;
  cfg.pool.max_overflow = o->max_overflow;
  cfg.pool.timeout = o->pool_timeout;
  cfg.pool.recycle = o->pool_recycle;
  cfg.pool.pre_ping = o->pool_pre_ping;
  cfg.shared_name = o->shared_name;
  ath_error err;
  ath_error_clear(&err);
  if (o->poolclass) {
    cfg.pool_kind_set = 1;
    if (!strcmp(o->poolclass, "queue")) cfg.pool.kind = ATH_POOL_QUEUE;
    else if (!strcmp(o->poolclass, "static")) cfg.pool.kind = ATH_POOL_STATIC;
    else if (!strcmp(o->poolclass, "null")) cfg.pool.kind = ATH_POOL_NULL;
    else {
      if (errbuf) snprintf(errbuf, errbuf_size, "Invalid poolclass '%s': expected queue, static or null", o->poolclass);
      return NULL;
    }
  }
  ath_engine *e = NULL;
  if (ath_engine_open(url, &cfg, &e, &err) != ATH_OK) {
    if (errbuf) snprintf(errbuf, errbuf_size, "%s: %s", ath_error_kind_name(err.kind), err.message);
    return NULL;
  }
  return e;
}

ATH_API void ath_host_engine_release(ath_engine *e) { ath_engine_release(e); }

ATH_API int ath_host_push_engine(lua_State *L, ath_engine *e) {
  luaL_checkstack(L, 4, "ath_host_push_engine");
  lua_getglobal(L, "require");
  lua_pushliteral(L, "athanor");                 /* initialises error objects, rows */
  lua_call(L, 1, 0);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "athanor.engine");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "wrap");                   /* stack: mod, wrap */
  lua_remove(L, -2);
  ath_l_push_engine(L, e);                       /* stack: wrap, ud */
  lua_call(L, 1, 1);
  return 1;
}
