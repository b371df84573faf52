/* l_internal.h — shared declarations of the Lua binding (csrc/lua/ only).
 * Owns: metatable names, the error-raising helpers and the registration
 * functions each l_*.c file exports to l_core.c. */
#ifndef ATH_L_INTERNAL_H
#define ATH_L_INTERNAL_H
#include "l_compat.h"
#include "../base/ath_error.h"

#define ATH_ENGINE_MT  "athanor.Engine"
#define ATH_CONN_MT    "athanor.CConnection"
#define ATH_CURSOR_MT  "athanor.Cursor"

/* Raise an athanor error object built from e. `sql` (may be NULL) and the
 * value at `params_idx` (0 = none) are attached as err.sql / err.params.
 * Builds the object through the factory the Lua layer registered with
 * core.set_error_factory(fn(kind, message, fields)), or a plain table with
 * the same fields when none is registered. Never returns. Callers must have
 * released everything they own: this longjmps. */
ATH_HIDDEN int ath_l_raise(lua_State *L, const ath_error *e, const char *sql, int params_idx);
/* printf-style shorthand: raise an error of `kind` with this message. */
ATH_HIDDEN int ath_l_raisef(lua_State *L, ath_status kind, const char *fmt, ...);

/* Registration: each adds its functions to the module table on top of the
 * stack (and creates its metatables). Called by luaopen_athanor_core. */
ATH_HIDDEN void ath_l_engine_register(lua_State *L);
ATH_HIDDEN void ath_l_conn_register(lua_State *L);
ATH_HIDDEN void ath_l_compile_register(lua_State *L);   /* csrc/lua/l_compile.c */
ATH_HIDDEN void ath_l_error_register(lua_State *L);
ATH_HIDDEN void ath_l_orm_register(lua_State *L);       /* csrc/lua/l_orm.c */
ATH_HIDDEN void ath_l_rows_register(lua_State *L);      /* csrc/lua/l_rows.c: core.plain_rows */
ATH_HIDDEN void ath_l_pgwire_register(lua_State *L);   /* csrc/lua/l_pgwire.c: core.pgwire */

#endif
