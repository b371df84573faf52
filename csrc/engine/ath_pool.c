/* ath_pool.c — thread-safe queue, static and null pools (see ath_pool.h).
 * Bookkeeping lives in `rec`s: one per open connection, on the idle list or
 * the checked-out list. `open` counts connections that exist or are being
 * connected right now (a slot is reserved under the lock, the connect runs
 * unlocked), so limits hold while connects are in flight.
 * Invariant (under the lock): open == nidle + nout + connecting + closing:
 * a slot is given back only after its connection is closed.
 *
 * Fork safety: every record remembers the process that connected it. In a
 * forked child (nginx workers forked from a master that ran a query, prefork
 * servers, fork() in a C host) the pool's memory is a copy, and its
 * connections' sockets are shared with the parent, which still uses them. A
 * record from another process is never handed out, pinged or reset (a
 * rollback would go over the parent's session): it is dropped without a
 * word, closed through ops.close (which, for such a connection, frees this
 * process's memory only: see ath_conn_foreign), and its slot reused, so the
 * checkout opens a connection of its own. SQLAlchemy's documented recipe
 * does the same with a pid recorded at "connect" and checked at "checkout". */
#include "ath_pool.h"
#include "../base/ath_thread.h"
#include <string.h>

typedef struct rec {
  void *conn;
  double created;               /* monotonic seconds */
  unsigned gen;                 /* pool generation at connect time */
  unsigned long serial;         /* names the connection in events */
  long pid;                     /* the process that connected it */
  struct rec *prev, *next;
} rec;

typedef struct rlist { rec *head, *tail; int n; } rlist;

struct ath_pool {
  ath_pool_config cfg;
  ath_pool_ops ops;
  void *ud;
  ath_mutex mu;
  ath_cond cv;
  rlist idle;                   /* checkin appends at the tail */
  rlist out;
  int open;
  int waiters;
  unsigned gen;                 /* bumped by invalidate_all / dispose */
  long total_connects;
  rec *static_rec;              /* ATH_POOL_STATIC: the one connection; `out` holds
                                   those of another process still checked out */
  int static_users;
  int static_connecting;
  pthread_t static_owner;       /* the thread using it while static_users > 0 */
};

static void rl_push(rlist *l, rec *r) {
  r->next = NULL; r->prev = l->tail;
  if (l->tail) l->tail->next = r; else l->head = r;
  l->tail = r; l->n++;
}
static void rl_remove(rlist *l, rec *r) {
  if (r->prev) r->prev->next = r->next; else l->head = r->next;
  if (r->next) r->next->prev = r->prev; else l->tail = r->prev;
  r->prev = r->next = NULL; l->n--;
}
static rec *rl_find(rlist *l, void *conn) {
  for (rec *r = l->head; r; r = r->next) if (r->conn == conn) return r;
  return NULL;
}

/* 1 when r's connection was made by another process (this one forked). */
static int from_other_process(const rec *r) { return r->pid != ath_process_id(); }

static unsigned long last_serial = 0;   /* atomic; serials are unique in the process */

static void emit(ath_pool *p, void *call_ud, const char *name, const rec *r, const ath_error *reason) {
  if (p->ops.event) p->ops.event(p->ud, call_ud, name, r->conn, r->serial, reason);
}

/* Close a record's connection and free it; call without the lock. */
static void close_rec(ath_pool *p, rec *r) {
  p->ops.close(p->ud, r->conn);
  ath_free(r);
}

/* Close r, then give its slot back (the count drops only once the
 * connection is really gone, so the server never sees more than the limit).
 * Call without the lock. */
static void close_and_release(ath_pool *p, rec *r) {
  close_rec(p, r);
  ath_mutex_lock(&p->mu);
  p->open--;
  ath_cond_signal(&p->cv);
  ath_mutex_unlock(&p->mu);
}

void ath_pool_config_default(ath_pool_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->kind = ATH_POOL_QUEUE;
  cfg->size = 5;
  cfg->max_overflow = 10;
  cfg->timeout = 30.0;
  cfg->recycle = -1.0;
}

ath_status ath_pool_config_check(const ath_pool_config *cfg, ath_error *err) {
  if (cfg->kind != ATH_POOL_QUEUE && cfg->kind != ATH_POOL_STATIC && cfg->kind != ATH_POOL_NULL)
    return ath_error_set(err, ATH_E_ARGUMENT, "poolclass must be queue, static or null");
  if (cfg->size < 0 || cfg->size > ATH_POOL_MAX_SIZE)
    return ath_error_set(err, ATH_E_ARGUMENT, "pool_size must be an integer between 0 and %d, got %d",
                         ATH_POOL_MAX_SIZE, cfg->size);
  if (cfg->max_overflow < -1 || cfg->max_overflow > ATH_POOL_MAX_SIZE)
    return ath_error_set(err, ATH_E_ARGUMENT, "max_overflow must be an integer between -1 and %d, got %d",
                         ATH_POOL_MAX_SIZE, cfg->max_overflow);
  /* written so that NaN fails every test */
  if (!(cfg->timeout >= 0 && cfg->timeout <= ATH_POOL_MAX_SECONDS))
    return ath_error_set(err, ATH_E_ARGUMENT, "pool_timeout must be a number of seconds between 0 and %d, got %g",
                         ATH_POOL_MAX_SECONDS, cfg->timeout);
  if (!(cfg->recycle <= ATH_POOL_MAX_SECONDS && cfg->recycle >= -ATH_POOL_MAX_SECONDS))
    return ath_error_set(err, ATH_E_ARGUMENT,
                         "pool_recycle must be -1 (never) or a number of seconds between 0 and %d, got %g",
                         ATH_POOL_MAX_SECONDS, cfg->recycle);
  return ATH_OK;
}

ath_pool *ath_pool_new(const ath_pool_config *cfg, const ath_pool_ops *ops, void *ud, ath_error *err) {
  if (ath_pool_config_check(cfg, err) != ATH_OK) return NULL;
  ath_pool *p = ath_calloc(1, sizeof *p);
  if (p == NULL) { ath_error_nomem(err); return NULL; }
  p->cfg = *cfg;
  p->ops = *ops;
  p->ud = ud;
  if (ath_mutex_init(&p->mu) != 0) { ath_free(p); ath_error_set(err, ATH_E_OPERATIONAL, "pool: mutex init failed"); return NULL; }
  if (ath_cond_init(&p->cv) != 0) {
    ath_mutex_destroy(&p->mu); ath_free(p);
    ath_error_set(err, ATH_E_OPERATIONAL, "pool: condition variable init failed");
    return NULL;
  }
  return p;
}

/* Open a new connection into a record (unlocked). */
static ath_status connect_rec(ath_pool *p, void *call_ud, unsigned gen, rec **out, ath_error *err) {
  rec *r = ath_calloc(1, sizeof *r);
  if (r == NULL) return ath_error_nomem(err);
  ath_status st = p->ops.connect(p->ud, &r->conn, err);
  if (st != ATH_OK) { ath_free(r); return st; }
  r->created = ath_now_monotonic();
  r->pid = ath_process_id();
  r->gen = gen;
  r->serial = __atomic_add_fetch(&last_serial, 1, __ATOMIC_RELAXED);
  emit(p, call_ud, "connect", r, NULL);
  *out = r;
  return ATH_OK;
}

/* STATIC, under the lock: when the one connection is another process's (this
 * one forked), stop sharing it. With users here (a Connection carried across
 * the fork) it moves to `out`, from where ath_pool_checkin/invalidate close
 * it; with none it is returned for the caller to close (unlocked). */
static rec *orphan_static_if_foreign(ath_pool *p) {
  rec *old = p->static_rec;
  if (old == NULL || !from_other_process(old)) return NULL;
  int users = p->static_users;
  p->static_rec = NULL;
  p->static_users = 0;
  p->open = 0;
  if (users == 0) return old;
  rl_push(&p->out, old);
  return NULL;
}

/* STATIC: one connection. It is not safe to use from two OS threads at
 * once, so it belongs to one thread while checked out: checkouts from that
 * thread nest (several Connections in one lua_State share it), other
 * threads wait until the last of them is returned. */
static ath_status checkout_static(ath_pool *p, void *call_ud, double wait, void **out, ath_error *err) {
  double deadline = ath_now_monotonic() + wait;
  pthread_t self = pthread_self();
  ath_mutex_lock(&p->mu);
  rec *old = orphan_static_if_foreign(p);
  if (old) { ath_mutex_unlock(&p->mu); close_rec(p, old); ath_mutex_lock(&p->mu); }
  for (;;) {
    int busy_elsewhere = p->static_users > 0 && !pthread_equal(p->static_owner, self);
    if (!busy_elsewhere && !(p->static_rec == NULL && p->static_connecting)) break;
    if (ath_now_monotonic() >= deadline) {
      ath_mutex_unlock(&p->mu);
      return ath_error_set(err, ATH_E_POOL_TIMEOUT,
                           "StaticPool connection is in use by another thread, connection timed out, timeout %g s", wait);
    }
    p->waiters++;
    ath_cond_wait_until(&p->cv, &p->mu, deadline);
    p->waiters--;
  }
  if (p->static_rec == NULL) {
    p->static_connecting = 1;
    unsigned gen = p->gen;
    ath_mutex_unlock(&p->mu);
    rec *r = NULL;
    ath_status st = connect_rec(p, call_ud, gen, &r, err);
    ath_mutex_lock(&p->mu);
    p->static_connecting = 0;
    ath_cond_broadcast(&p->cv);
    if (st != ATH_OK) { ath_mutex_unlock(&p->mu); return st; }
    p->static_rec = r;
    p->open = 1;
    p->total_connects++;
  }
  p->static_users++;
  p->static_owner = self;
  rec r = *p->static_rec;                 /* a copy: another thread may replace it once we unlock */
  ath_mutex_unlock(&p->mu);
  *out = r.conn;
  emit(p, call_ud, "checkout", &r, NULL);
  return ATH_OK;
}

ath_status ath_pool_checkout(ath_pool *p, double timeout, void **out, ath_error *err) {
  return ath_pool_checkout_ev(p, timeout, NULL, out, err);
}

ath_status ath_pool_checkout_ev(ath_pool *p, double timeout, void *call_ud, void **out, ath_error *err) {
  *out = NULL;
  double wait = timeout < 0 || timeout != timeout ? p->cfg.timeout : timeout;
  if (wait > ATH_POOL_MAX_SECONDS) wait = ATH_POOL_MAX_SECONDS;   /* keeps the deadline a valid timespec */
  if (p->cfg.kind == ATH_POOL_STATIC) return checkout_static(p, call_ud, wait, out, err);
  double deadline = ath_now_monotonic() + wait;
  ath_mutex_lock(&p->mu);
  for (;;) {
    if (p->idle.n > 0) {
      rec *r = p->cfg.use_lifo ? p->idle.tail : p->idle.head;
      rl_remove(&p->idle, r);
      int stale = from_other_process(r) || r->gen != p->gen ||
                  (p->cfg.recycle >= 0 && ath_now_monotonic() - r->created > p->cfg.recycle);
      if (stale) {
        ath_mutex_unlock(&p->mu);
        close_and_release(p, r);
        ath_mutex_lock(&p->mu);
        continue;                     /* a slot is free now: reuse or connect */
      }
      rl_push(&p->out, r);
      ath_mutex_unlock(&p->mu);
      if (p->cfg.pre_ping && p->ops.ping) {
        ath_error perr;
        if (p->ops.ping(p->ud, r->conn, &perr) != ATH_OK) {
          /* dead: drop it and try again (usually by connecting afresh) */
          emit(p, call_ud, "invalidate", r, &perr);
          ath_mutex_lock(&p->mu);
          rl_remove(&p->out, r);
          ath_mutex_unlock(&p->mu);
          close_and_release(p, r);
          ath_mutex_lock(&p->mu);
          continue;
        }
      }
      *out = r->conn;
      emit(p, call_ud, "checkout", r, NULL);
      return ATH_OK;
    }
    int limit_reached = p->cfg.kind == ATH_POOL_QUEUE && p->cfg.max_overflow >= 0 &&
                        p->open >= p->cfg.size + p->cfg.max_overflow;
    if (!limit_reached) {
      p->open++;                      /* reserve the slot, connect unlocked */
      unsigned gen = p->gen;
      ath_mutex_unlock(&p->mu);
      rec *r = NULL;
      ath_status st = connect_rec(p, call_ud, gen, &r, err);
      ath_mutex_lock(&p->mu);
      if (st != ATH_OK) {
        p->open--;
        ath_cond_signal(&p->cv);      /* the slot is free for a waiter */
        ath_mutex_unlock(&p->mu);
        return st;
      }
      p->total_connects++;
      rl_push(&p->out, r);
      ath_mutex_unlock(&p->mu);
      *out = r->conn;
      emit(p, call_ud, "checkout", r, NULL);
      return ATH_OK;
    }
    if (ath_now_monotonic() >= deadline) {
      ath_mutex_unlock(&p->mu);
      return ath_error_set(err, ATH_E_POOL_TIMEOUT,
                           "QueuePool limit of size %d overflow %d reached, connection timed out, timeout %g s",
                           p->cfg.size, p->cfg.max_overflow, wait);
    }
    p->waiters++;
    ath_cond_wait_until(&p->cv, &p->mu, deadline);
    p->waiters--;
  }
}

int ath_pool_would_wait(ath_pool *p) {
  ath_mutex_lock(&p->mu);
  int wait;
  if (p->cfg.kind == ATH_POOL_STATIC)
    wait = p->static_users > 0 && !pthread_equal(p->static_owner, pthread_self());
  else
    wait = p->idle.n == 0 && p->cfg.kind == ATH_POOL_QUEUE && p->cfg.max_overflow >= 0 &&
           p->open >= p->cfg.size + p->cfg.max_overflow;
  ath_mutex_unlock(&p->mu);
  return wait;
}

void ath_pool_checkin(ath_pool *p, void *conn) {
  if (conn == NULL) return;
  if (p->cfg.kind == ATH_POOL_STATIC) {
    /* Only the owning thread returns it, so "last" can't change under us.
     * Reset while still owning it: other threads are kept out until then. */
    ath_mutex_lock(&p->mu);
    rec *idle_old = orphan_static_if_foreign(p);
    rec *orphan = rl_find(&p->out, conn);          /* another process's */
    if (orphan) rl_remove(&p->out, orphan);
    if (orphan || idle_old) {
      ath_mutex_unlock(&p->mu);
      if (idle_old) close_rec(p, idle_old);
      if (orphan) close_rec(p, orphan);
      if (orphan) return;
      ath_mutex_lock(&p->mu);
    }
    int last = p->static_users == 1;
    rec copy = p->static_rec ? *p->static_rec : (rec){ .conn = conn };
    ath_mutex_unlock(&p->mu);
    if (last && p->ops.reset) { ath_error e; p->ops.reset(p->ud, conn, &e); }
    emit(p, NULL, "checkin", &copy, NULL);
    ath_mutex_lock(&p->mu);
    p->static_users--;
    rec *r = NULL;
    if (p->static_users == 0) {
      if (p->static_rec && p->static_rec->gen != p->gen) { r = p->static_rec; p->static_rec = NULL; p->open = 0; }
      ath_cond_broadcast(&p->cv);             /* other threads may take it now */
    }
    ath_mutex_unlock(&p->mu);
    if (r) close_rec(p, r);
    return;
  }
  ath_mutex_lock(&p->mu);
  rec *r = rl_find(&p->out, conn);
  if (r == NULL) { ath_mutex_unlock(&p->mu); return; }     /* not ours: ignore */
  rl_remove(&p->out, r);
  ath_mutex_unlock(&p->mu);
  int keep = p->cfg.kind == ATH_POOL_QUEUE && !from_other_process(r);   /* no reset over its socket */
  if (keep && p->ops.reset) {
    ath_error e;
    if (p->ops.reset(p->ud, conn, &e) != ATH_OK) keep = 0;
  }
  emit(p, NULL, "checkin", r, NULL);
  ath_mutex_lock(&p->mu);
  if (keep && (r->gen != p->gen || p->idle.n >= p->cfg.size)) keep = 0;   /* stale or overflow */
  if (keep) {
    rl_push(&p->idle, r);
    ath_cond_signal(&p->cv);
    ath_mutex_unlock(&p->mu);
    return;
  }
  ath_mutex_unlock(&p->mu);
  close_and_release(p, r);
}

void ath_pool_invalidate(ath_pool *p, void *conn) {
  if (conn == NULL) return;
  ath_mutex_lock(&p->mu);
  if (p->cfg.kind == ATH_POOL_STATIC) {
    rec *idle_old = orphan_static_if_foreign(p);
    rec *r = p->static_rec;
    rec *orphan = rl_find(&p->out, conn);          /* another process's */
    if (orphan) rl_remove(&p->out, orphan);
    if (orphan || idle_old) {
      ath_mutex_unlock(&p->mu);
      if (idle_old) close_rec(p, idle_old);
      if (orphan) { emit(p, NULL, "invalidate", orphan, NULL); close_rec(p, orphan); return; }
      ath_mutex_lock(&p->mu);
      r = p->static_rec;
    }
    if (r && r->conn == conn) {
      rec copy = *r;
      ath_mutex_unlock(&p->mu);
      emit(p, NULL, "invalidate", &copy, NULL);   /* before the close, as for the queue pool */
      ath_mutex_lock(&p->mu);
      r = p->static_rec;                          /* only the owning thread invalidates it */
      p->static_users--;
      p->gen++;                       /* other users keep it until they return */
      if (p->static_users <= 0) { p->static_rec = NULL; p->open = 0; p->static_users = 0; }
      else r = NULL;
      ath_cond_broadcast(&p->cv);
    } else r = NULL;
    ath_mutex_unlock(&p->mu);
    if (r) close_rec(p, r);
    return;
  }
  rec *r = rl_find(&p->out, conn);
  if (r) rl_remove(&p->out, r);
  ath_mutex_unlock(&p->mu);
  if (r == NULL) return;                          /* not ours: ignore */
  emit(p, NULL, "invalidate", r, NULL);
  close_and_release(p, r);
}

/* Close every idle connection and make checked-out ones close on return. */
static void drain(ath_pool *p) {
  ath_mutex_lock(&p->mu);
  p->gen++;
  rec *list = p->idle.head;
  p->idle.head = p->idle.tail = NULL;
  p->idle.n = 0;
  rec *st = NULL;
  if (p->static_rec && p->static_users == 0) { st = p->static_rec; p->static_rec = NULL; p->open = 0; }
  ath_cond_broadcast(&p->cv);
  ath_mutex_unlock(&p->mu);
  while (list) { rec *next = list->next; close_and_release(p, list); list = next; }
  if (st) close_rec(p, st);
}

void ath_pool_invalidate_all(ath_pool *p) { drain(p); }
void ath_pool_dispose(ath_pool *p) { drain(p); }

void ath_pool_get_status(ath_pool *p, ath_pool_status *out) {
  ath_mutex_lock(&p->mu);
  out->size = p->cfg.size;
  out->checked_out = p->cfg.kind == ATH_POOL_STATIC ? p->static_users : p->out.n;
  out->idle = p->cfg.kind == ATH_POOL_STATIC ? (p->static_rec && p->static_users == 0) : p->idle.n;
  out->overflow = p->open - p->cfg.size;
  out->waiters = p->waiters;
  out->total_connects = p->total_connects;
  ath_mutex_unlock(&p->mu);
}

void ath_pool_free(ath_pool *p) {
  if (p == NULL) return;
  drain(p);
  /* Anything still checked out is a caller bug; close it rather than leak. */
  while (p->out.head) { rec *r = p->out.head; rl_remove(&p->out, r); close_rec(p, r); }
  if (p->static_rec) close_rec(p, p->static_rec);
  ath_cond_destroy(&p->cv);
  ath_mutex_destroy(&p->mu);
  ath_free(p);
}
