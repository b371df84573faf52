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
 * Ownership: ath_openlib only adds entries to package.preload; it allocates
 * nothing the host must free. Closing the lua_State releases everything
 * athanor created in it (connections go back to their pools).
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
 * Lua module of athanor in L. Call after luaL_openlibs (or at least after
 * opening the package library). Returns 0. Never raises except on memory
 * exhaustion (a Lua error, as for any lua_push*). */
ATH_API int ath_openlib(lua_State *L);

/* The C module's entry point, as `require("athanor.core")` calls it. */
ATH_API int luaopen_athanor_core(lua_State *L);

/* ---- Shared engines (host API) -------------------------------------------
 * Reserved for the connection-pool work: opening an engine from C and
 * pushing the same engine into several lua_States. */

#ifdef __cplusplus
}
#endif
#endif
