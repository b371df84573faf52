/* ath_engine.h — an engine: URL + driver + connection options + pool.
 * Owns: its parsed URL, copies of connect_args, and the pool (which owns the
 * idle connections). Reference-counted so one engine can be shared by several
 * lua_States and threads; freed when the last reference is released.
 * Named engines ("shared" option) live in a process-wide registry: opening
 * the same name and URL again returns the existing engine with one more ref.
 * Thread rule: every function is safe from any thread. */
#ifndef ATH_ENGINE_H
#define ATH_ENGINE_H
#include "ath_conn.h"
#include "ath_pool.h"

typedef struct ath_engine ath_engine;

#define ATH_ENGINE_MAX_STMT_CACHE 1000000

typedef struct ath_engine_config {
  ath_pool_config pool;
  int pool_kind_set;             /* 1: the user chose cfg.pool.kind */
  size_t stmt_cache_size;        /* per connection; default 128, at most ATH_ENGINE_MAX_STMT_CACHE */
  ath_isolation isolation;       /* applied by the Lua layer at begin */
  const char *const *ca_keys;    /* connect_args, copied by ath_engine_open */
  const char *const *ca_values;
  int nca;
  const char *shared_name;       /* NULL: private engine */
} ath_engine_config;

/* Defaults: queue pool 5/10/30 s, statement cache 128, no connect_args. */
ATH_HIDDEN void ath_engine_config_default(ath_engine_config *cfg);
/* Opens (or, for a shared name already open with the same URL, references)
 * an engine. No connection is made until the first checkout. Errors: bad URL
 * (ATH_E_ARGUMENT naming the part), unknown dialect, a shared name already
 * used with another URL, a pool option or statement_cache_size out of range
 * (ath_pool_config_check), the reserved connect_args key "_memdb". *out holds one reference (ath_engine_release). */
ATH_HIDDEN ath_status ath_engine_open(const char *url, const ath_engine_config *cfg,
                                      ath_engine **out, ath_error *err);
ATH_HIDDEN void ath_engine_retain(ath_engine *e);
/* Drops a reference; the last one disposes the pool and frees. NULL ok. */
ATH_HIDDEN void ath_engine_release(ath_engine *e);

/* Pool events of one checkout, collected for its caller, which delivers
 * them (to Lua listeners, in the lua_State that made the call). The pool may
 * be shared by several states and threads: an event only ever goes to the
 * call it happened in, never to another thread. Lives on the caller's stack;
 * filling it allocates nothing. */
#define ATH_ENGINE_EVENTS_MAX 8
typedef struct ath_engine_event {
  const char *name;              /* "connect", "checkout" or "invalidate" (static text) */
  unsigned long serial;          /* the connection's serial (see ath_pool_ops.event) */
  ath_status reason_kind;        /* "invalidate": why (ATH_OK: no reason) */
  char reason[200];              /* its message, cut to fit */
} ath_engine_event;
typedef struct ath_engine_events {
  int n;
  int dropped;                   /* invalidations past the room left (counted, not kept) */
  unsigned long serial;          /* the serial of the connection checked out, 0 if none */
  ath_engine_event ev[ATH_ENGINE_EVENTS_MAX];
} ath_engine_events;

/* Checks a connection out of the pool (timeout < 0: the pool's own). */
ATH_HIDDEN ath_status ath_engine_checkout(ath_engine *e, double timeout, ath_conn **out,
                                          ath_error *err);
/* The same, recording the pool events of this checkout in *events (reset
 * first): invalidations of idle connections that failed their pre-ping, then
 * "connect" when the connection is new, then "checkout". Room is kept for
 * the last two, so a run of invalidations past it is only counted. */
ATH_HIDDEN ath_status ath_engine_checkout_ev(ath_engine *e, double timeout, ath_engine_events *events,
                                             ath_conn **out, ath_error *err);
/* Returns a connection: an invalidated one is closed, others go back to the
 * pool (which rolls back an open transaction). NULL is a no-op. */
ATH_HIDDEN void ath_engine_checkin(ath_engine *e, ath_conn *c);
/* Closes a checked-out connection for good (conn:invalidate()). */
ATH_HIDDEN void ath_engine_invalidate(ath_engine *e, ath_conn *c);
/* Closes idle connections (checked-out ones close on return). A memory
 * SQLite engine also drops its data: later checkouts see a new, empty
 * database. */
ATH_HIDDEN void ath_engine_dispose(ath_engine *e);

ATH_HIDDEN const ath_driver *ath_engine_driver(const ath_engine *e);
ATH_HIDDEN const ath_url *ath_engine_url(const ath_engine *e);
ATH_HIDDEN ath_pool *ath_engine_pool(const ath_engine *e);
ATH_HIDDEN const ath_engine_config *ath_engine_get_config(const ath_engine *e);
/* "sqlite://" and "sqlite:///:memory:" */
ATH_HIDDEN int ath_engine_is_memory(const ath_engine *e);

#endif
