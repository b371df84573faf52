/* ath_conn.h — one database connection as the engine sees it.
 * Owns: the driver connection, its prepared-statement cache (an LRU keyed by
 * SQL text, so a query shape compiled once is prepared once per connection),
 * and the statements currently in use. Knows nothing of Lua or the pool; the
 * pool holds ath_conn pointers through ath_pool_ops (see ath_engine.c).
 * Everything above the engine (the Lua binding, hosts) reaches the driver
 * only through the functions below: statements through ath_cstmt_*,
 * connections through ath_conn_*. Every one that talks to the server records
 * a disconnect on the connection (c->invalid), so no caller has to.
 * Thread rule: an ath_conn is used by one thread at a time (whoever checked
 * it out); only ath_conn_cancel may be called from another thread. */
#ifndef ATH_CONN_H
#define ATH_CONN_H
#include "../driver/ath_driver.h"
#include "../base/ath_thread.h"

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
  long pid;                  /* the process that opened it (see ath_conn_foreign) */
  int disowned;              /* 1: foreign, cut off from the server (ath_conn_foreign) */
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

/* ---- fork safety ---------------------------------------------------------
 * 1 when c was opened by another process (this one forked after it was
 * made): its socket or file is shared with that process, which still uses
 * the session. The first call that sees it disowns c: the driver cuts it
 * off from the server (ath_driver.disown), c is marked invalid, and from
 * then on nothing done to c or its statements reaches the server; closing
 * it frees this process's memory only. Callers must not use a foreign
 * connection (the binding raises, the pool drops it and opens another). */
ATH_HIDDEN int ath_conn_disown(ath_conn *c);
static inline int ath_conn_foreign(ath_conn *c) {
  /* ath_process_id_cached is set: opening c called ath_process_id */
  return c->pid != __atomic_load_n(&ath_process_id_cached, __ATOMIC_RELAXED) && ath_conn_disown(c);
}

/* ---- connection calls (each maps to one driver call) ---------------------
 * Errors are filled into err and, when they mean the connection is gone,
 * recorded on c (c->invalid). */
ATH_HIDDEN ath_status ath_conn_begin(ath_conn *c, ath_isolation iso, ath_error *err);
ATH_HIDDEN ath_status ath_conn_commit(ath_conn *c, ath_error *err);
ATH_HIDDEN ath_status ath_conn_rollback(ath_conn *c, ath_error *err);
ATH_HIDDEN ath_status ath_conn_savepoint(ath_conn *c, const char *name, ath_error *err);
ATH_HIDDEN ath_status ath_conn_release_savepoint(ath_conn *c, const char *name, ath_error *err);
ATH_HIDDEN ath_status ath_conn_rollback_to_savepoint(ath_conn *c, const char *name, ath_error *err);
/* 1 when the server-side session is inside a transaction block. */
ATH_HIDDEN int ath_conn_in_transaction(ath_conn *c);
/* ATH_OK when the connection answers. */
ATH_HIDDEN ath_status ath_conn_ping(ath_conn *c, ath_error *err);
/* Asks the server to stop what runs on c (ATH_E_NOT_SUPPORTED if it can't). */
ATH_HIDDEN ath_status ath_conn_cancel(ath_conn *c, ath_error *err);
/* Runs sql (len bytes) with no parameters and no rows (several statements
 * on SQLite). Text holding a NUL byte is refused (ArgumentError). */
ATH_HIDDEN ath_status ath_conn_exec_script(ath_conn *c, const char *sql, size_t len, ath_error *err);
/* Row id of the last insert on c (SQLite); 0 if unknown. */
ATH_HIDDEN int64_t ath_conn_last_insert_id(ath_conn *c);
/* 1 when a streaming statement with unread rows keeps c busy, so nothing
 * else may run on c until it is read or released (PostgreSQL single-row
 * mode); 0 when statements interleave (SQLite). */
static inline int ath_conn_stream_holds(const ath_conn *c) { return c->drv->stream_holds_connection; }

/* ---- statement calls ------------------------------------------------------
 * The row path (step, column) is inline: one indirect call, as if the caller
 * held the driver table itself. */
static inline int ath_cstmt_param_count(const ath_cstmt *s) { return s->owner->drv->param_count(s->ds); }
/* Result columns (0: the statement returns no rows). */
static inline int ath_cstmt_column_count(const ath_cstmt *s) { return s->owner->drv->column_count(s->ds); }
/* Name and type of column col (0-based), valid until the next step or reset. */
static inline void ath_cstmt_column_info(const ath_cstmt *s, int col, ath_column_info *out) {
  s->owner->drv->column_info(s->ds, col, out);
}
/* Binds parameter idx (1-based); see ath_driver.bind for v->borrowed. */
static inline ath_status ath_cstmt_bind(ath_cstmt *s, int idx, const ath_value *v, ath_error *err) {
  return s->owner->drv->bind(s->ds, idx, v, err);
}
/* Rows are fetched one at a time from the server (PostgreSQL single-row
 * mode) instead of the whole result at the first step; see
 * ath_conn_stream_holds. A no-op where every driver step streams (SQLite). */
static inline void ath_cstmt_set_streaming(ath_cstmt *s, int on) {
  if (s->owner->drv->set_streaming) s->owner->drv->set_streaming(s->ds, on);
}
/* Runs or advances: ATH_ROW, ATH_DONE or an error status (a disconnect is
 * recorded on the owning connection). */
static inline ath_status ath_cstmt_step(ath_cstmt *s, ath_error *err) {
  ath_status st = s->owner->drv->step(s->ds, err);
  if (st != ATH_ROW && st != ATH_DONE) ath_conn_note_error(s->owner, err);
  return st;
}
/* Column col (0-based) of the current row; text stays valid until the next
 * step or reset. Fails only when decoding ran out of memory. */
static inline ath_status ath_cstmt_column(ath_cstmt *s, int col, ath_value *out, ath_error *err) {
  return ath_driver_column(s->owner->drv, s->ds, col, out, err);
}
/* The same through a copy of what a column read needs, taken once per row
 * (ath_cstmt_row_of): a loop over the columns then keeps it in registers
 * instead of reloading it through s after every call into Lua. Valid while
 * s is not released. */
typedef struct ath_cstmt_row { const ath_driver *drv; ath_dstmt *ds; } ath_cstmt_row;
static inline ath_cstmt_row ath_cstmt_row_of(const ath_cstmt *s) {
  ath_cstmt_row r = { s->owner->drv, s->ds };
  return r;
}
static inline ath_status ath_cstmt_row_column(ath_cstmt_row r, int col, ath_value *out, ath_error *err) {
  return ath_driver_column(r.drv, r.ds, col, out, err);
}
/* Rows changed by the statement's last completed execution. */
static inline int64_t ath_cstmt_changes(const ath_cstmt *s) { return s->owner->drv->changes(s->ds); }
/* executemany: runs s once per parameter set. bind_next(ud, s, err) binds
 * the next set (through ath_cstmt_bind) and returns ATH_ROW, or ATH_DONE
 * after the last, or an error status. Pipelined where the driver can
 * (PostgreSQL: one round trip per batch), else bind/step/reset in a loop.
 * *changes: the total rows affected; on error *failed_index is the 0-based
 * set that failed (-1: none in particular). */
ATH_HIDDEN ath_status ath_cstmt_execute_many(ath_cstmt *s, ath_status (*bind_next)(void *ud, ath_cstmt *s, ath_error *err),
                                             void *ud, int64_t *changes, long *failed_index, ath_error *err);

#endif
