/* test_pool.c — the connection pool with fake connections: limits, waits,
 * recycling, pre-ping, reset, LIFO/FIFO, static and null kinds, events, and
 * 8 threads hammering one pool (also run under ThreadSanitizer: make tsan). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "engine/ath_pool.h"
#include "engine/ath_engine.h"
#include "base/ath_thread.h"

typedef struct fake {
  int id;
  int in_use;                    /* atomic: set while a thread holds it */
  int alive;                     /* ping result */
  int reset_fails;
} fake;

typedef struct world {
  int connects, closes, pings, resets;   /* atomic counters */
  int open_now, max_open;                /* atomic: connections alive now / at most */
  int next_id;
  int fail_connect;              /* 1: connect fails */
  int reset_should_fail;
  char events[64][16];
  void *event_calls[64];         /* the call_ud each event came with */
  unsigned long event_serials[64];
  char event_reasons[64][32];
  int nevents;                   /* guarded by ev_mu */
  pthread_mutex_t ev_mu;
} world;

static ath_status w_connect(void *ud, void **out, ath_error *err) {
  world *w = ud;
  if (__atomic_load_n(&w->fail_connect, __ATOMIC_SEQ_CST))
    return ath_error_set(err, ATH_E_OPERATIONAL, "could not connect to server");
  fake *f = ath_calloc(1, sizeof *f);
  if (f == NULL) return ath_error_nomem(err);
  f->id = __atomic_add_fetch(&w->next_id, 1, __ATOMIC_SEQ_CST);
  f->alive = 1;
  __atomic_add_fetch(&w->connects, 1, __ATOMIC_SEQ_CST);
  int now = __atomic_add_fetch(&w->open_now, 1, __ATOMIC_SEQ_CST);
  int seen = __atomic_load_n(&w->max_open, __ATOMIC_SEQ_CST);
  while (now > seen && !__atomic_compare_exchange_n(&w->max_open, &seen, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
  *out = f;
  return ATH_OK;
}
static void w_close(void *ud, void *conn) {
  world *w = ud;
  __atomic_add_fetch(&w->closes, 1, __ATOMIC_SEQ_CST);
  __atomic_sub_fetch(&w->open_now, 1, __ATOMIC_SEQ_CST);
  ath_free(conn);
}
static ath_status w_ping(void *ud, void *conn, ath_error *err) {
  world *w = ud;
  fake *f = conn;
  __atomic_add_fetch(&w->pings, 1, __ATOMIC_SEQ_CST);
  return f->alive ? ATH_OK : ath_error_set(err, ATH_E_OPERATIONAL, "dead");
}
static ath_status w_reset(void *ud, void *conn, ath_error *err) {
  world *w = ud;
  (void)conn;
  __atomic_add_fetch(&w->resets, 1, __ATOMIC_SEQ_CST);
  return w->reset_should_fail ? ath_error_set(err, ATH_E_OPERATIONAL, "reset failed") : ATH_OK;
}
static void w_event(void *ud, void *call_ud, const char *name, void *conn,
                    unsigned long serial, const ath_error *reason) {
  world *w = ud;
  (void)conn;
  pthread_mutex_lock(&w->ev_mu);
  if (w->nevents < 64) {
    int i = w->nevents++;
    strncpy(w->events[i], name, 15);
    w->event_calls[i] = call_ud;
    w->event_serials[i] = serial;
    snprintf(w->event_reasons[i], sizeof w->event_reasons[i], "%.*s", (int)sizeof w->event_reasons[i] - 1, reason ? reason->message : "");
  }
  pthread_mutex_unlock(&w->ev_mu);
}

static const ath_pool_ops OPS = { w_connect, w_close, w_ping, w_reset, w_event };

/* A pool over a fresh fake world with the given configuration. */
static ath_pool *new_pool_cfg(world *w, const ath_pool_config *cfg) {
  memset(w, 0, sizeof *w);
  pthread_mutex_init(&w->ev_mu, NULL);
  ath_error err;
  ath_pool *p = ath_pool_new(cfg, &OPS, w, &err);
  assert_non_null(p);
  return p;
}

static ath_pool *new_pool(world *w, ath_pool_kind kind, int size, int overflow, double timeout) {
  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.kind = kind; cfg.size = size; cfg.max_overflow = overflow; cfg.timeout = timeout;
  return new_pool_cfg(w, &cfg);
}

static void free_pool(ath_pool *p, world *w) {
  ath_pool_free(p);
  assert_int_equal(w->connects, w->closes);          /* nothing leaked */
  pthread_mutex_destroy(&w->ev_mu);
}

static fake *checkout(ath_pool *p, double timeout) {
  void *c = NULL;
  ath_error err;
  if (ath_pool_checkout(p, timeout, &c, &err) != ATH_OK) fail_msg("checkout: %s", err.message);
  return c;
}

/* ------------------------------------------------------------ threads */

typedef struct hammer { ath_pool *p; int iterations; int violations; int failures; } hammer;

static void *hammer_run(void *arg) {
  hammer *h = arg;
  for (int i = 0; i < h->iterations; i++) {
    void *c = NULL;
    ath_error err;
    if (ath_pool_checkout(h->p, 10.0, &c, &err) != ATH_OK) { h->failures++; continue; }
    fake *f = c;
    if (__atomic_exchange_n(&f->in_use, 1, __ATOMIC_SEQ_CST) != 0) h->violations++;  /* handed out twice */
    if ((i & 63) == 0) sched_yield();
    __atomic_store_n(&f->in_use, 0, __ATOMIC_SEQ_CST);
    ath_pool_checkin(h->p, c);
  }
  return NULL;
}

static void test_pool_eight_threads_never_share_a_connection(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 4, 2, 10.0);
  enum { THREADS = 8 };
  pthread_t t[THREADS];
  hammer h[THREADS];
  for (int i = 0; i < THREADS; i++) {
    h[i] = (hammer){ p, 10000, 0, 0 };
    assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < THREADS; i++) {
    assert_int_equal(h[i].violations, 0);
    assert_int_equal(h[i].failures, 0);
  }
  ath_pool_status st;
  ath_pool_get_status(p, &st);
  assert_int_equal(st.checked_out, 0);
  assert_int_equal(st.waiters, 0);
  assert_true(st.idle <= 4);
  assert_int_equal(w.connects - w.closes, st.idle);  /* open = idle when nothing is out */
  assert_true(w.max_open <= 6);                       /* size 4 + overflow 2, never more */
  assert_true(w.max_open >= 4);                       /* and the threads did contend */
  assert_int_equal(w.resets, THREADS * 10000);
  free_pool(p, &w);
}

static void test_pool_never_opens_more_than_size_plus_overflow(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 2, 1, 0.05);
  fake *a = checkout(p, -1), *b = checkout(p, -1), *c = checkout(p, -1);
  ath_pool_status st;
  ath_pool_get_status(p, &st);
  assert_int_equal(st.checked_out, 3);
  assert_int_equal(st.overflow, 1);
  void *d = NULL;
  ath_error err;
  assert_int_equal(ath_pool_checkout(p, 0.05, &d, &err), ATH_E_POOL_TIMEOUT);
  assert_null(d);
  assert_int_equal(w.connects, 3);
  ath_pool_checkin(p, a); ath_pool_checkin(p, b); ath_pool_checkin(p, c);
  ath_pool_get_status(p, &st);
  assert_int_equal(st.idle, 2);                       /* the overflow one was closed */
  assert_int_equal(w.closes, 1);
  free_pool(p, &w);
}

static void test_pool_times_out_within_the_configured_wait(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 1, 0, 0.2);
  fake *a = checkout(p, -1);
  void *b = NULL;
  ath_error err;
  double t0 = ath_now_monotonic();
  assert_int_equal(ath_pool_checkout(p, -1, &b, &err), ATH_E_POOL_TIMEOUT);
  double waited = ath_now_monotonic() - t0;
  assert_true(waited >= 0.16 && waited <= 0.24);      /* ±20% */
  assert_non_null(strstr(err.message, "size 1 overflow 0"));
  assert_non_null(strstr(err.message, "timeout 0.2"));
  ath_pool_checkin(p, a);
  free_pool(p, &w);
}

typedef struct later { ath_pool *p; void *conn; } later;
static void *checkin_later(void *arg) {
  later *l = arg;
  usleep(50000);
  ath_pool_checkin(l->p, l->conn);
  return NULL;
}

static void test_pool_wakes_a_waiter_on_checkin(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 1, 0, 5.0);
  fake *a = checkout(p, -1);
  later l = { p, a };
  pthread_t t;
  pthread_create(&t, NULL, checkin_later, &l);
  double t0 = ath_now_monotonic();
  fake *b = checkout(p, -1);
  assert_true(ath_now_monotonic() - t0 < 1.0);
  assert_ptr_equal(a, b);
  pthread_join(t, NULL);
  ath_pool_checkin(p, b);
  free_pool(p, &w);
}

static void test_pool_lifo_and_fifo_order(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 3, 0, 1.0);
  fake *a = checkout(p, -1), *b = checkout(p, -1);
  ath_pool_checkin(p, a); ath_pool_checkin(p, b);
  fake *next = checkout(p, -1);
  assert_ptr_equal(next, a);                          /* FIFO by default */
  ath_pool_checkin(p, next);
  free_pool(p, &w);

  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.use_lifo = 1;
  p = new_pool_cfg(&w, &cfg);
  a = checkout(p, -1); b = checkout(p, -1);
  ath_pool_checkin(p, a); ath_pool_checkin(p, b);
  assert_ptr_equal(checkout(p, -1), b);               /* most recently returned */
  ath_pool_checkin(p, b);
  free_pool(p, &w);
}

static void test_pool_recycle_replaces_old_connections(void **state) {
  (void)state;
  world w;
  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.recycle = 0.05;
  ath_pool *p = new_pool_cfg(&w, &cfg);
  fake *a = checkout(p, -1);
  int first = a->id;
  ath_pool_checkin(p, a);
  usleep(80000);
  fake *b = checkout(p, -1);
  assert_int_not_equal(b->id, first);
  assert_int_equal(w.closes, 1);
  ath_pool_checkin(p, b);
  free_pool(p, &w);
}

static void test_pool_pre_ping_replaces_a_dead_connection(void **state) {
  (void)state;
  world w;
  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.pre_ping = 1;
  ath_pool *p = new_pool_cfg(&w, &cfg);
  fake *a = checkout(p, -1);
  int first = a->id;
  a->alive = 0;                                       /* dies while idle */
  ath_pool_checkin(p, a);
  fake *b = checkout(p, -1);
  assert_int_not_equal(b->id, first);
  assert_int_equal(b->alive, 1);
  assert_int_equal(w.pings, 1);
  ath_pool_checkin(p, b);
  free_pool(p, &w);
}

static void test_pool_failed_reset_closes_instead_of_pooling(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 2, 0, 1.0);
  fake *a = checkout(p, -1);
  w.reset_should_fail = 1;
  ath_pool_checkin(p, a);
  ath_pool_status st;
  ath_pool_get_status(p, &st);
  assert_int_equal(st.idle, 0);
  assert_int_equal(w.closes, 1);
  w.reset_should_fail = 0;
  free_pool(p, &w);
}

static void test_pool_connect_failure_frees_the_slot(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 1, 0, 0.05);
  w.fail_connect = 1;
  void *c = NULL;
  ath_error err;
  assert_int_equal(ath_pool_checkout(p, -1, &c, &err), ATH_E_OPERATIONAL);
  assert_non_null(strstr(err.message, "could not connect"));
  w.fail_connect = 0;
  fake *a = checkout(p, -1);                         /* the slot was released */
  ath_pool_checkin(p, a);
  free_pool(p, &w);
}

static void test_pool_invalidate_and_invalidate_all(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 3, 0, 1.0);
  fake *a = checkout(p, -1), *b = checkout(p, -1), *c = checkout(p, -1);
  ath_pool_invalidate(p, a);                          /* closed at once, slot freed */
  assert_int_equal(w.closes, 1);
  ath_pool_checkin(p, b);
  ath_pool_invalidate_all(p);                         /* idle b closes now */
  assert_int_equal(w.closes, 2);
  ath_pool_checkin(p, c);                             /* checked out before: closes on return */
  assert_int_equal(w.closes, 3);
  ath_pool_status st;
  ath_pool_get_status(p, &st);
  assert_int_equal(st.idle, 0);
  assert_int_equal(st.checked_out, 0);
  fake *d = checkout(p, -1);
  ath_pool_checkin(p, d);
  free_pool(p, &w);
}

static void test_pool_dispose_keeps_the_pool_usable(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 2, 0, 1.0);
  fake *a = checkout(p, -1), *b = checkout(p, -1);
  ath_pool_checkin(p, a);
  ath_pool_dispose(p);
  assert_int_equal(w.closes, 1);
  ath_pool_checkin(p, b);
  assert_int_equal(w.closes, 2);
  fake *c = checkout(p, -1);
  ath_pool_checkin(p, c);
  free_pool(p, &w);
}

static void test_pool_static_hands_out_one_connection(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_STATIC, 5, 10, 1.0);
  fake *a = checkout(p, -1), *b = checkout(p, -1);
  assert_ptr_equal(a, b);
  ath_pool_status st;
  ath_pool_get_status(p, &st);
  assert_int_equal(st.checked_out, 2);
  ath_pool_checkin(p, a);
  assert_int_equal(w.resets, 0);                      /* b still uses the session */
  ath_pool_checkin(p, b);
  assert_int_equal(w.resets, 1);                      /* the last user resets it */
  assert_int_equal(w.connects, 1);
  free_pool(p, &w);
}

typedef struct static_try { ath_pool *p; ath_status st; void *conn; } static_try;
static void *static_other_thread(void *arg) {
  static_try *t = arg;
  ath_error err;
  t->st = ath_pool_checkout(t->p, 0.05, &t->conn, &err);
  if (t->st == ATH_OK) ath_pool_checkin(t->p, t->conn);
  return NULL;
}

static void test_pool_static_belongs_to_one_thread_at_a_time(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_STATIC, 5, 10, 1.0);
  fake *a = checkout(p, -1);
  static_try t = { p, ATH_OK, NULL };
  pthread_t th;
  pthread_create(&th, NULL, static_other_thread, &t);
  pthread_join(th, NULL);
  assert_int_equal(t.st, ATH_E_POOL_TIMEOUT);        /* held by this thread */
  ath_pool_checkin(p, a);
  pthread_create(&th, NULL, static_other_thread, &t);
  pthread_join(th, NULL);
  assert_int_equal(t.st, ATH_OK);                    /* free again: the other thread gets it */
  assert_ptr_equal(t.conn, a);
  free_pool(p, &w);
}

static void test_pool_null_connects_per_checkout(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_NULL, 5, 10, 1.0);
  fake *a = checkout(p, -1);
  ath_pool_checkin(p, a);
  fake *b = checkout(p, -1);
  ath_pool_checkin(p, b);
  assert_int_equal(w.connects, 2);
  assert_int_equal(w.closes, 2);
  free_pool(p, &w);
}

static void test_pool_emits_events_in_order(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 1, 0, 1.0);
  fake *a = checkout(p, -1);
  ath_pool_checkin(p, a);
  a = checkout(p, -1);
  ath_pool_invalidate(p, a);
  const char *want[] = { "connect", "checkout", "checkin", "checkout", "invalidate" };
  assert_int_equal(w.nevents, 5);
  for (int i = 0; i < 5; i++) assert_string_equal(w.events[i], want[i]);
  free_pool(p, &w);
}

static void test_pool_events_of_a_checkout_reach_its_caller(void **state) {
  (void)state;
  world w;
  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.size = 2; cfg.max_overflow = 0; cfg.pre_ping = 1;
  ath_pool *p = new_pool_cfg(&w, &cfg);
  fake *a = checkout(p, -1);
  ath_pool_checkin(p, a);
  a->alive = 0;                                      /* dies while idle */
  int sink;                                          /* any address: the pool only passes it on */
  void *c = NULL;
  ath_error err;
  assert_int_equal(ath_pool_checkout_ev(p, -1, &sink, &c, &err), ATH_OK);
  /* connect, checkout, checkin (plain calls), then this call's three */
  const char *want[] = { "connect", "checkout", "checkin", "invalidate", "connect", "checkout" };
  assert_int_equal(w.nevents, 6);
  for (int i = 0; i < 6; i++) {
    assert_string_equal(w.events[i], want[i]);
    assert_ptr_equal(w.event_calls[i], i < 3 ? NULL : (void *)&sink);
  }
  assert_string_equal(w.event_reasons[3], "dead");   /* why the pool invalidated it */
  assert_true(w.event_serials[0] != 0);
  assert_int_equal(w.event_serials[3], w.event_serials[0]);   /* the dead one */
  assert_true(w.event_serials[4] != w.event_serials[0]);      /* a new connection, a new serial */
  assert_int_equal(w.event_serials[5], w.event_serials[4]);
  ath_pool_checkin(p, c);
  free_pool(p, &w);
}

static void test_engine_checkout_collects_its_events(void **state) {
  (void)state;
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  ath_engine *e = NULL;
  ath_error err;
  assert_int_equal(ath_engine_open("sqlite://", &cfg, &e, &err), ATH_OK);
  ath_engine_events ev;
  ath_conn *c = NULL;
  assert_int_equal(ath_engine_checkout_ev(e, -1, &ev, &c, &err), ATH_OK);
  assert_int_equal(ev.n, 2);
  assert_string_equal(ev.ev[0].name, "connect");
  assert_string_equal(ev.ev[1].name, "checkout");
  assert_int_equal(ev.ev[0].reason_kind, ATH_OK);
  assert_true(ev.serial != 0);
  assert_int_equal(ev.ev[1].serial, ev.serial);
  unsigned long first = ev.serial;
  ath_engine_checkin(e, c);
  assert_int_equal(ath_engine_checkout_ev(e, -1, &ev, &c, &err), ATH_OK);
  assert_int_equal(ev.n, 1);                         /* the pooled one: no connect */
  assert_string_equal(ev.ev[0].name, "checkout");
  assert_int_equal(ev.serial, first);
  ath_engine_checkin(e, c);
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);   /* no sink: nothing recorded */
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_pool_refuses_options_out_of_range(void **state) {
  (void)state;
  static const struct { int size, overflow; double timeout, recycle; const char *phrase; } cases[] = {
    { -1, 10, 30, -1, "pool_size must be an integer between 0 and 1000000, got -1" },
    { 1000001, 10, 30, -1, "pool_size" },
    { -2147483647 - 1, 10, 30, -1, "pool_size" },
    { 5, -2, 30, -1, "max_overflow must be an integer between -1 and 1000000, got -2" },
    { 5, 2147483647, 30, -1, "max_overflow" },
    { 5, 10, NAN, -1, "pool_timeout must be a number of seconds between 0 and 31536000, got nan" },
    { 5, 10, INFINITY, -1, "pool_timeout" },
    { 5, 10, -1, -1, "pool_timeout" },
    { 5, 10, 30, NAN, "pool_recycle" },
    { 5, 10, 30, INFINITY, "pool_recycle" },
    { 5, 10, 30, -INFINITY, "pool_recycle" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ath_pool_config cfg;
    ath_pool_config_default(&cfg);
    cfg.size = cases[i].size; cfg.max_overflow = cases[i].overflow;
    cfg.timeout = cases[i].timeout; cfg.recycle = cases[i].recycle;
    world w;
    memset(&w, 0, sizeof w);
    ath_error err;
    long base = ath_alloc_live();
    assert_null(ath_pool_new(&cfg, &OPS, &w, &err));
    assert_int_equal(err.kind, ATH_E_ARGUMENT);
    if (strstr(err.message, cases[i].phrase) == NULL) fail_msg("'%s' not in '%s'", cases[i].phrase, err.message);
    assert_int_equal(ath_alloc_live(), base);
  }
  ath_pool_config edge;                      /* the edges of every range are fine */
  ath_pool_config_default(&edge);
  edge.size = 0; edge.max_overflow = -1; edge.timeout = 0; edge.recycle = -1;
  assert_int_equal(ath_pool_config_check(&edge, NULL), ATH_OK);
  edge.size = ATH_POOL_MAX_SIZE; edge.max_overflow = ATH_POOL_MAX_SIZE;
  edge.timeout = ATH_POOL_MAX_SECONDS; edge.recycle = 0;
  assert_int_equal(ath_pool_config_check(&edge, NULL), ATH_OK);
}

static void test_pool_would_wait_only_when_exhausted(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 1, 1, 0.05);
  assert_false(ath_pool_would_wait(p));
  fake *a = checkout(p, -1);
  assert_false(ath_pool_would_wait(p));     /* the overflow slot is free */
  fake *b = checkout(p, -1);
  assert_true(ath_pool_would_wait(p));
  ath_pool_checkin(p, b);
  assert_false(ath_pool_would_wait(p));     /* b is idle now */
  ath_pool_checkin(p, a);
  free_pool(p, &w);
}

static void test_pool_nan_or_huge_timeout_waits_the_configured_time(void **state) {
  (void)state;
  world w;
  ath_pool *p = new_pool(&w, ATH_POOL_QUEUE, 1, 0, 0.05);
  fake *a = checkout(p, -1);
  void *c;
  ath_error err;
  double t0 = ath_now_monotonic();
  assert_int_equal(ath_pool_checkout(p, NAN, &c, &err), ATH_E_POOL_TIMEOUT);   /* NaN: the pool's own */
  double waited = ath_now_monotonic() - t0;
  assert_true(waited >= 0.04 && waited < 1.0);                        /* the pool's 0.05 s, not 0 */
  ath_pool_checkin(p, a);
  assert_int_equal(ath_pool_checkout(p, 1e300, &c, &err), ATH_OK);   /* no timespec overflow */
  ath_pool_checkin(p, c);
  free_pool(p, &w);
}

static void test_pool_fault_injection_leaves_no_leak(void **state) {
  (void)state;
  long base = ath_alloc_live();
  for (long n = 0;; n++) {
    world w;
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.ev_mu, NULL);
    ath_pool_config cfg;
    ath_pool_config_default(&cfg);
    ath_error err;
    ath_alloc_fail_after(n);
    ath_pool *p = ath_pool_new(&cfg, &OPS, &w, &err);
    void *c = NULL;
    ath_status st = p ? ath_pool_checkout(p, 0.01, &c, &err) : ATH_E_NOMEM;
    ath_alloc_fail_after(-1);
    if (c) ath_pool_checkin(p, c);
    ath_pool_free(p);
    pthread_mutex_destroy(&w.ev_mu);
    assert_int_equal(ath_alloc_live(), base);
    if (st == ATH_OK) break;
    assert_int_equal(st, ATH_E_NOMEM);
    assert_true(n < 20);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pool_eight_threads_never_share_a_connection),
    cmocka_unit_test(test_pool_never_opens_more_than_size_plus_overflow),
    cmocka_unit_test(test_pool_times_out_within_the_configured_wait),
    cmocka_unit_test(test_pool_wakes_a_waiter_on_checkin),
    cmocka_unit_test(test_pool_lifo_and_fifo_order),
    cmocka_unit_test(test_pool_recycle_replaces_old_connections),
    cmocka_unit_test(test_pool_pre_ping_replaces_a_dead_connection),
    cmocka_unit_test(test_pool_failed_reset_closes_instead_of_pooling),
    cmocka_unit_test(test_pool_connect_failure_frees_the_slot),
    cmocka_unit_test(test_pool_invalidate_and_invalidate_all),
    cmocka_unit_test(test_pool_dispose_keeps_the_pool_usable),
    cmocka_unit_test(test_pool_static_hands_out_one_connection),
    cmocka_unit_test(test_pool_static_belongs_to_one_thread_at_a_time),
    cmocka_unit_test(test_pool_null_connects_per_checkout),
    cmocka_unit_test(test_pool_emits_events_in_order),
    cmocka_unit_test(test_pool_events_of_a_checkout_reach_its_caller),
    cmocka_unit_test(test_engine_checkout_collects_its_events),
    cmocka_unit_test(test_pool_refuses_options_out_of_range),
    cmocka_unit_test(test_pool_would_wait_only_when_exhausted),
    cmocka_unit_test(test_pool_nan_or_huge_timeout_waits_the_configured_time),
    cmocka_unit_test(test_pool_fault_injection_leaves_no_leak),
  };
  return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
