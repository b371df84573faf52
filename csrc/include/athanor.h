/* athanor.h — the public C API of libathanor, for programs that embed Lua.
 *
 * libathanor (static or shared) carries the C core, the Lua binding and
 * every Lua module of athanor, so a host links one library and calls one
 * function to make `require("athanor")` work, with no files on disk:
 *
 *     lua_State *L = luaL_newstate();
 *     luaL_openlibs(L);          // ath_openlib needs the package library
 *     ath_openlib(L);
 *     luaL_dostring(L, "local ath = require('athanor') ...");
 *
 * Thread rules: like every Lua API call, ath_openlib must not run on one
 * lua_State from two threads at once; different states in different threads
 * are fine. Engines created in different states are independent unless they
 * are opened with the same `shared` name (create_engine option), in which
 * case they share one C engine and one connection pool, safely across threads.
 *
 * Two builds, one API: libathanor for Lua 5.4 hosts and libathanor-luajit for
 * LuaJIT 2.1 hosts (compile against that Lua's lua.h; never mix the two in
 * one program). `make install` installs both with pkg-config files:
 *     cc app.c $(pkg-config --cflags --libs athanor) -o app          (Lua 5.4)
 *     cc app.c $(pkg-config --cflags --libs athanor-luajit) -o app   (LuaJIT)
 * The Lua sources are compiled when first required, so a syntax error cannot
 * hide in the build.
 */
#ifndef ATHANOR_H
#define ATHANOR_H

#include <lua.h>

#if defined(__GNUC__)
#  define ATH_API __attribute__((visibility("default")))
#else
#  define ATH_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Registers package.preload entries for "athanor.core" and every embedded
 * Lua module of athanor ("athanor", "athanor.engine.connection", ...) in L,
 * so require() finds them before anything on disk.
 * Call order: after luaL_openlibs (at least the package library), before the
 * first require("athanor"); calling it again is harmless (same entries).
 * Returns 0 (the number of results, so it also works as a lua_CFunction).
 * Errors: raises a Lua error, like any lua_* call, when the package library
 * is not open or memory runs out; outside protected mode that reaches the
 * panic function, so call it through lua_pcall (push it with
 * lua_pushcfunction) if the host must survive that.
 * Ownership: it only adds closures to package.preload and allocates nothing
 * outside L; lua_close(L) releases everything athanor created in L
 * (connections go back to their pools, engines not shared are closed).
 * Threads: like any Lua API call, never on one lua_State from two threads at
 * once; different states in different threads are fine. */
ATH_API int ath_openlib(lua_State *L);

/* The C module's entry point, as `require("athanor.core")` calls it (it is
 * what ath_openlib preloads; a host rarely calls it itself). */
ATH_API int luaopen_athanor_core(lua_State *L);

/* ---- Shared engines (host API) -------------------------------------------
 * A host can open one engine (one connection pool) in C and hand it to any
 * number of lua_States, including states running in different OS threads.
 * The engine is reference-counted: the host's reference and each Lua Engine
 * object hold one; the pool goes away when the last is released.
 *
 *     ath_host_engine_options o;
 *     ath_host_engine_options_init(&o);
 *     o.pool_size = 4;
 *     char err[256];
 *     ath_engine *e = ath_host_engine_open("sqlite:///app.db", &o, err, sizeof err);
 *     // in each thread's state:   ath_host_push_engine(L, e);  lua_setglobal(L, "engine");
 *     ath_host_engine_release(e);   // the states keep it alive while they use it
 */
typedef struct ath_engine ath_engine;

typedef struct ath_host_engine_options {
  int pool_size;              /* default 5 */
  int max_overflow;           /* default 10; -1 unlimited */
  double pool_timeout;        /* seconds, default 30 */
  double pool_recycle;        /* seconds, default -1 (never) */
  int pool_pre_ping;          /* 0/1 */
  const char *poolclass;      /* "queue", "static", "null"; NULL: by URL */
  const char *shared_name;    /* also reachable as create_engine(url, { shared = name }) */
} ath_host_engine_options;

/* Fills the defaults above. */
ATH_API void ath_host_engine_options_init(ath_host_engine_options *o);
/* Opens an engine; no connection is made until the first checkout. Returns
 * NULL on error with a message in errbuf (which may be NULL). The caller
 * owns one reference. Thread-safe. */
ATH_API ath_engine *ath_host_engine_open(const char *url, const ath_host_engine_options *o,
                                         char *errbuf, size_t errbuf_size);
/* Drops the caller's reference. Thread-safe; NULL is a no-op. */
ATH_API void ath_host_engine_release(ath_engine *e);
/* Pushes an athanor Engine object for e onto L's stack (taking its own
 * reference). require("athanor") must work in L (ath_openlib, or the
 * module on the paths). Raises a Lua error like any lua_push on failure. */
ATH_API int ath_host_push_engine(lua_State *L, ath_engine *e);

#ifdef __cplusplus
}
#endif
#endif
