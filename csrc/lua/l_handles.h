/* l_handles.h — the userdata layouts shared by l_engine.c and l_conn.c. */
#ifndef ATH_L_HANDLES_H
#define ATH_L_HANDLES_H
#include "l_internal.h"
#include "../engine/ath_engine.h"

typedef struct l_engine {
  ath_engine *e;                 /* NULL once closed; holds one reference */
} l_engine;

typedef struct l_cursor l_cursor;

typedef struct l_conn {
  ath_conn *c;                   /* NULL once closed (returned to the pool) */
  ath_engine *e;                 /* one engine reference while open */
  l_cursor *cursors;             /* open cursors: closed before the conn is returned */
  l_cursor *stream;              /* the open stream keeping the server connection busy
                                    (driver stream_holds_connection), or NULL */
  ath_cstmt *pending;            /* a statement held across a call that may raise;
                                    released on the next call or on close */
  int nmetas;                    /* entries in the uservalue's meta cache */
  char stream_sql[72];           /* while stream is set: its SQL, for the error text */
} l_conn;

/* Pushes an Engine userdata holding a new reference to e. */
ATH_HIDDEN void ath_l_push_engine(lua_State *L, ath_engine *e);

/* Checks a connection out of e and pushes a new Connection userdata. The
 * pool events of the checkout go to *events (NULL: dropped). */
ATH_HIDDEN int ath_l_conn_checkout(lua_State *L, ath_engine *e, double timeout,
                                   ath_engine_events *events);

/* Receives each converted parameter of ath_l_each_param (1-based i). */
typedef ath_status (*ath_l_param_sink)(void *ctx, int i, ath_value *v, ath_error *err);

/* conn:exec's parameter walk: the count checks, lookup by name or position
 * and Lua value -> ath_value conversion, each value handed to sink. Never
 * raises. l_bind.c; used by l_pgwire.c. */
ATH_HIDDEN ath_status ath_l_each_param(lua_State *L, int pidx, int nidx, int want, ath_l_param_sink sink,
                                       void *ctx, ath_error *err);

#endif
