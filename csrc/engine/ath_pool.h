/* ath_pool.h — thread-safe connection pools: queue, static and null.
 * Owns: the idle list, the counts, the mutex and condition variable. It knows
 * connections only as opaque pointers handled through ath_pool_ops, so it does
 * not depend on drivers (tests use fake connections).
 * Thread rule: every function may be called from any thread. The pool's lock
 * is held only around bookkeeping, never across an ops callback (connect,
 * ping, reset, close run unlocked).
 * Lock order: pool->mu is a leaf lock; nothing else is taken while holding it. */
#ifndef ATH_POOL_H
#define ATH_POOL_H
#include "../base/ath_error.h"

typedef struct ath_pool ath_pool;

typedef enum ath_pool_kind {
  ATH_POOL_QUEUE = 0,   /* pool_size kept, up to max_overflow more, waits pool_timeout */
  ATH_POOL_STATIC,      /* exactly one connection, handed to every checkout
                           (sqlite memory databases); checkouts don't block */
  ATH_POOL_NULL         /* no pooling: connect on checkout, close on checkin */
} ath_pool_kind;

/* How the pool creates, checks, resets and destroys connections. */
typedef struct ath_pool_ops {
  /* New connection into *out; on failure fill err and return its status. */
  ath_status (*connect)(void *ud, void **out, ath_error *err);
  /* Close a connection for good. Also called for a connection another
   * process made (this one forked since; the pool never hands those out,
   * pings or resets them): then it must free this process's memory only and
   * send nothing over the socket that process still uses. */
  void (*close)(void *ud, void *conn);
  /* ATH_OK when conn is alive (pre_ping). May be NULL: treated as alive. */
  ath_status (*ping)(void *ud, void *conn, ath_error *err);
  /* Reset on return (roll back an open transaction). Non-OK: conn is closed
   * instead of pooled. May be NULL. */
  ath_status (*reset)(void *ud, void *conn, ath_error *err);
  /* Event hook: "connect", "checkout", "checkin", "invalidate"; may be NULL.
   * Called without the lock, in the thread making the pool call, so every
   * event reaches whoever made that call: `call_ud` is what that call was
   * given (ath_pool_checkout_ev; NULL from the other calls). `serial` names
   * the connection for its whole life (unique in the process, never 0).
   * `reason` says why for an "invalidate" the pool decided on itself (a
   * failed pre-ping), else NULL. */
  void (*event)(void *ud, void *call_ud, const char *name, void *conn,
                unsigned long serial, const ath_error *reason);
} ath_pool_ops;

typedef struct ath_pool_config {
  ath_pool_kind kind;
  int size;              /* pool_size (default 5) */
  int max_overflow;      /* default 10; -1 = unlimited */
  double timeout;        /* pool_timeout seconds (default 30) */
  double recycle;        /* seconds; < 0 never (default -1) */
  int pre_ping;          /* 0/1 */
  int use_lifo;          /* 1: reuse the most recently returned connection */
  int invalidate_pool_on_disconnect;  /* 1: one disconnect invalidates every idle conn */
} ath_pool_config;

typedef struct ath_pool_status {
  int size;              /* configured pool_size */
  int checked_out;
  int overflow;          /* connections open beyond pool_size (may be < 0 while filling) */
  int idle;
  int waiters;           /* threads blocked in checkout */
  long total_connects;   /* connections ever opened */
} ath_pool_status;

/* Limits of ath_pool_config: sizes stay far from int overflow (size +
 * max_overflow is computed), waits far from time_t's. */
#define ATH_POOL_MAX_SIZE 1000000
#define ATH_POOL_MAX_SECONDS 31536000       /* one year */

/* Fills defaults (queue, 5, 10, 30 s, -1, no pre-ping, lifo off). */
ATH_HIDDEN void ath_pool_config_default(ath_pool_config *cfg);
/* ATH_OK, or ATH_E_ARGUMENT naming the option, its value and the allowed
 * range: size 0..ATH_POOL_MAX_SIZE, max_overflow -1..ATH_POOL_MAX_SIZE,
 * timeout 0..ATH_POOL_MAX_SECONDS, recycle within ±ATH_POOL_MAX_SECONDS
 * (< 0: never); NaN is refused everywhere. */
ATH_HIDDEN ath_status ath_pool_config_check(const ath_pool_config *cfg, ath_error *err);
/* New pool; ops are copied, ud is passed back to them. NULL on a bad config
 * (ath_pool_config_check) or OOM, with err set. */
ATH_HIDDEN ath_pool *ath_pool_new(const ath_pool_config *cfg, const ath_pool_ops *ops,
                                  void *ud, ath_error *err);
/* Check a connection out. timeout < 0 uses cfg->timeout. Blocks while the
 * pool is exhausted; ATH_E_POOL_TIMEOUT names size, overflow and the wait. */
ATH_HIDDEN ath_status ath_pool_checkout(ath_pool *p, double timeout, void **out, ath_error *err);
/* The same, passing call_ud to the event hook for the events of this call:
 * the connections a failed pre-ping invalidated, then "connect" (a new
 * connection) and "checkout" of the one returned. */
ATH_HIDDEN ath_status ath_pool_checkout_ev(ath_pool *p, double timeout, void *call_ud,
                                           void **out, ath_error *err);
/* 1 when a checkout from this thread would have to wait right now (no idle
 * connection and the limit reached, or the static connection held by another
 * thread). A hint: the answer can change as soon as it is given. */
ATH_HIDDEN int ath_pool_would_wait(ath_pool *p);
/* Return a connection (reset first). */
ATH_HIDDEN void ath_pool_checkin(ath_pool *p, void *conn);
/* Close a checked-out connection and forget it (it never goes back). */
ATH_HIDDEN void ath_pool_invalidate(ath_pool *p, void *conn);
/* Mark every connection older than now invalid: idle ones close at once,
 * checked-out ones close when returned. */
ATH_HIDDEN void ath_pool_invalidate_all(ath_pool *p);
/* Close idle connections; checked-out ones close on return. Pool stays usable. */
ATH_HIDDEN void ath_pool_dispose(ath_pool *p);
ATH_HIDDEN void ath_pool_get_status(ath_pool *p, ath_pool_status *out);
/* Frees the pool. Every connection must have been returned. NULL ok. */
ATH_HIDDEN void ath_pool_free(ath_pool *p);

#endif
