/* ath_conn.h — one database connection as the engine sees it.
 * Owns: the driver connection, its prepared-statement cache (an LRU keyed by
 * SQL text, so a query shape compiled once is prepared once per connection),
 * and the statements currently in use. Knows nothing of Lua or the pool; the
 * pool holds ath_conn pointers through ath_pool_ops (see ath_engine.c).
 * Thread rule: an ath_conn is used by one thread at a time (whoever checked
 * it out); only ath_conn_cancel may be called from another thread. */
#ifndef ATH_CONN_H
#define ATH_CONN_H
#include "../driver/ath_driver.h"

typedef struct ath_conn ath_conn;

/* A statement handed out by ath_conn_stmt_acquire. `ds` is ready to bind.
 * Give it back with ath_conn_stmt_release (never finalize it yourself). */
typedef struct ath_cstmt {
  ath_dstmt *ds;
  unsigned long id;          /* unique for the process lifetime (caches key on it) */
  ath_conn *owner;
  unsigned in_use : 1;       /* handed out and not yet released */
  unsigned cached : 1;       /* owned by the cache (else freed on release) */
} ath_cstmt;

struct ath_conn {
  const ath_driver *drv;
  ath_dconn *dc;
  struct ath_lru *stmts;     /* SQL → ath_cstmt*; NULL when caching is off */
  double created_at;         /* monotonic seconds, for pool_recycle */
  int invalid;               /* 1 after a disconnect: must not be pooled */
  long prepares;             /* statements prepared (cache misses), for tests */
  long checkouts;            /* times handed out by the engine (1 = fresh) */
};

/* Opens a connection through drv. stmt_cache_size 0 disables the cache.
 * On success *out is owned by the caller (ath_conn_close). */
ATH_HIDDEN ath_status ath_conn_open(const ath_driver *drv, const ath_url *url,
                                    const ath_connect_opts *opts, size_t stmt_cache_size,
                                    ath_conn **out, ath_error *err);
/* Finalizes every cached statement and closes. Statements still in use are
 * the caller's bug (asserted); NULL is a no-op. */
ATH_HIDDEN void ath_conn_close(ath_conn *c);
/* A prepared statement for sql (len bytes): the cached one when it is idle,
 * else a freshly prepared one (cached when there is room, so the next
 * acquire of the same SQL hits). *out is in use until released. Text holding
 * a NUL byte is refused (ArgumentError) before the driver sees it. */
ATH_HIDDEN ath_status ath_conn_stmt_acquire(ath_conn *c, const char *sql, size_t len,
                                            ath_cstmt **out, ath_error *err);
/* Resets the statement (clearing bindings) and returns it to the cache, or
 * finalizes it if it isn't cached. NULL is a no-op. */
ATH_HIDDEN void ath_conn_stmt_release(ath_cstmt *s);
/* Drops every cached idle statement (e.g. after DDL changed the schema). */
ATH_HIDDEN void ath_conn_clear_cache(ath_conn *c);
/* Rolls back an open transaction, as the pool does on checkin. */
ATH_HIDDEN ath_status ath_conn_reset(ath_conn *c, ath_error *err);
/* Records err's disconnect verdict on c (sets c->invalid) and returns it. */
ATH_HIDDEN int ath_conn_note_error(ath_conn *c, const ath_error *err);

#endif
