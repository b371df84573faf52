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
} l_conn;

/* Pushes an Engine userdata holding a new reference to e. */
ATH_HIDDEN void ath_l_push_engine(lua_State *L, ath_engine *e);

/* Checks a connection out of e and pushes a new Connection userdata. The
 * pool events of the checkout go to *events (NULL: dropped). */
ATH_HIDDEN int ath_l_conn_checkout(lua_State *L, ath_engine *e, double timeout,
                                   ath_engine_events *events);

/* conn:exec's conversion of the Lua value at idx (parameter `name`, or
 * number `index` when name is NULL, for messages) into v; array items go to
 * *scratch (ath_free). Never raises. l_conn.c; used by l_pgwire.c. */
ATH_HIDDEN ath_status ath_l_to_value(lua_State *L, int idx, ath_value *v, ath_value **scratch, const char *name,
                                     int index, ath_error *err);

#endif
