/* ath_engine.c — refcounted engines and the shared-engine registry.
 *
 * A memory SQLite engine ("sqlite://") is one database seen by every
 * checkout, yet each checkout has a connection of its own, so a checkout
 * never joins a transaction another checkout has open. The connections open
 * the same process-wide database through SQLite's memdb VFS (a name starting
 * with '/' is shared within the process), under SQLite's normal locking: a
 * writer waiting for another checkout's transaction gets "database is locked"
 * after busy_timeout. The engine holds one more connection, the anchor, so
 * the data lives while no checkout is open (memdb frees a database with its
 * last connection); dispose() closes the anchor and moves the engine to a
 * fresh name, which drops the data. */
#include "ath_engine.h"
#include "../base/ath_thread.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct ath_engine {
  long refs;                    /* atomic */
  ath_url *url;
  char *url_text;               /* as given, for the shared registry's check */
  const ath_driver *drv;
  ath_engine_config cfg;        /* ca_* point into owned copies below */
  char **ca_keys, **ca_values;
  char *shared_name;
  ath_pool *pool;
  ath_connect_opts copts;
  ath_engine *next_shared;      /* registry link, guarded by registry_mu */
  /* Memory SQLite only (is_memdb): the shared database's name and the anchor
   * connection keeping it alive, both guarded by memdb_mu (a leaf lock, held
   * across the anchor's connect: an in-memory open with no I/O). */
  int is_memdb;
  ath_mutex memdb_mu;
  char memdb_name[64];
  ath_dconn *anchor;
};

/* The connect option the SQLite driver reads as "open this memdb name". */
#define MEMDB_OPTION "_memdb"
static unsigned long memdb_seq = 0;      /* atomic; with the pid, names are unique */

static void memdb_new_name(ath_engine *e) {
  unsigned long n = __atomic_add_fetch(&memdb_seq, 1, __ATOMIC_RELAXED);
  snprintf(e->memdb_name, sizeof e->memdb_name, "/athanor-mem-%ld-%lu", (long)getpid(), n);
}

/* Registry of shared engines. Lock order: registry_mu before a pool's lock
 * (never the reverse; the pool never calls back into the engine locked). */
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static ath_engine *registry_head = NULL;

void ath_engine_config_default(ath_engine_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  ath_pool_config_default(&cfg->pool);
  cfg->stmt_cache_size = 128;
  cfg->isolation = ATH_ISO_DEFAULT;
}

/* Connect to the engine's memdb database: make the anchor first if there is
 * none (the first checkout, or the first after dispose), then the checkout's
 * own connection, with the name copied under the lock (dispose renames). */
static ath_status memdb_connect(ath_engine *e, ath_conn **out, ath_error *err) {
  int n = e->copts.nkv;
  const char **keys = ath_malloc(sizeof(char *) * (size_t)(n + 1));
  const char **values = ath_malloc(sizeof(char *) * (size_t)(n + 1));
  if (keys == NULL || values == NULL) { ath_free(keys); ath_free(values); return ath_error_nomem(err); }
  for (int i = 0; i < n; i++) { keys[i] = e->copts.keys[i]; values[i] = e->copts.values[i]; }
  char name[sizeof e->memdb_name];
  keys[n] = MEMDB_OPTION;
  values[n] = name;
  ath_connect_opts opts = { keys, values, n + 1 };
  ath_status st = ATH_OK;
  ath_mutex_lock(&e->memdb_mu);
  memcpy(name, e->memdb_name, sizeof name);
  if (e->anchor == NULL) st = e->drv->connect(e->url, &opts, &e->anchor, err);
  ath_mutex_unlock(&e->memdb_mu);
  if (st == ATH_OK) st = ath_conn_open(e->drv, e->url, &opts, e->cfg.stmt_cache_size, out, err);
  ath_free(keys);
  ath_free(values);
  return st;
}

/* --- pool callbacks: the pool sees connections as void* --- */
static ath_status pool_connect(void *ud, void **out, ath_error *err) {
  ath_engine *e = ud;
  ath_conn *c = NULL;
  ath_status st = e->is_memdb ? memdb_connect(e, &c, err)
                              : ath_conn_open(e->drv, e->url, &e->copts, e->cfg.stmt_cache_size, &c, err);
  *out = c;
  return st;
}
/* ath_conn_close cuts a connection of another process off first (fork). */
static void pool_close(void *ud, void *conn) { (void)ud; ath_conn_close(conn); }
static ath_status pool_ping(void *ud, void *conn, ath_error *err) {
  (void)ud;
  ath_conn *c = conn;
  if (c->invalid) return ath_error_set(err, ATH_E_DISCONNECTION, "connection was invalidated");
  return c->drv->ping(c->dc, err);
}
static ath_status pool_reset(void *ud, void *conn, ath_error *err) {
  (void)ud;
  return ath_conn_reset(conn, err);
}

/* Pool events go to the checkout they happened in (call_ud: its
 * ath_engine_events), never anywhere else: the calling thread owns it. */
static void pool_event(void *ud, void *call_ud, const char *name, void *conn,
                       unsigned long serial, const ath_error *reason) {
  (void)ud; (void)conn;
  ath_engine_events *evs = call_ud;
  if (evs == NULL) return;
  int is_invalidate = name[0] == 'i';
  /* keep two slots for the "connect" and "checkout" that end a checkout */
  if (evs->n >= ATH_ENGINE_EVENTS_MAX - (is_invalidate ? 2 : 0)) { evs->dropped++; return; }
  ath_engine_event *ev = &evs->ev[evs->n++];
  ev->name = name;
  ev->serial = serial;
  ev->reason_kind = reason ? reason->kind : ATH_OK;
  ev->reason[0] = '\0';                    /* formatted only when there is one: checkouts stay cheap */
  if (reason) snprintf(ev->reason, sizeof ev->reason, "%.*s", (int)sizeof ev->reason - 1, reason->message);
  if (name[0] == 'c' && name[1] == 'h') evs->serial = serial;       /* "checkout" */
}

int ath_engine_is_memory(const ath_engine *e) {
  return strcmp(e->url->dialect, "sqlite") == 0 &&
         (e->url->database == NULL || strcmp(e->url->database, ":memory:") == 0);
}

/* Close the anchor and take a fresh name: the data goes once the
 * connections still checked out (on the old name) are returned. */
static void memdb_drop(ath_engine *e) {
  ath_mutex_lock(&e->memdb_mu);
  ath_dconn *anchor = e->anchor;
  e->anchor = NULL;
  memdb_new_name(e);
  ath_mutex_unlock(&e->memdb_mu);
  if (anchor) e->drv->close(anchor);
}

static void engine_free(ath_engine *e) {
  if (e == NULL) return;
  ath_pool_free(e->pool);
  if (e->is_memdb) {
    memdb_drop(e);
    ath_mutex_destroy(&e->memdb_mu);
  }
  for (int i = 0; i < e->cfg.nca; i++) {
    ath_free(e->ca_keys ? e->ca_keys[i] : NULL);
    ath_free(e->ca_values ? e->ca_values[i] : NULL);
  }
  ath_free(e->ca_keys);
  ath_free(e->ca_values);
  ath_free(e->shared_name);
  ath_free(e->url_text);
  ath_url_free(e->url);
  ath_free(e);
}

static ath_status engine_create(const char *url_text, const ath_engine_config *cfg,
                                ath_engine **out, ath_error *err) {
  ath_engine *e = ath_calloc(1, sizeof *e);
  if (e == NULL) return ath_error_nomem(err);
  e->refs = 1;
  e->cfg = *cfg;
  e->cfg.nca = 0;                       /* counts copies made so far (for engine_free) */
  ath_status st = ath_url_parse(url_text, &e->url, err);
  if (st != ATH_OK) { engine_free(e); return st; }
  e->drv = ath_driver_find(e->url->dialect);
  if (e->drv == NULL) {
    st = ath_error_set(err, ATH_E_ARGUMENT,
                       "Can't load plugin: no driver for dialect '%s' (available: sqlite, postgresql)",
                       e->url->dialect);
    engine_free(e);
    return st;
  }
  e->url_text = ath_strdup(url_text);
  if (cfg->shared_name) e->shared_name = ath_strdup(cfg->shared_name);
  if (cfg->nca > 0) {
    e->ca_keys = ath_calloc((size_t)cfg->nca, sizeof(char *));
    e->ca_values = ath_calloc((size_t)cfg->nca, sizeof(char *));
  }
  if (e->url_text == NULL || (cfg->shared_name && e->shared_name == NULL) ||
      (cfg->nca > 0 && (e->ca_keys == NULL || e->ca_values == NULL))) {
    engine_free(e);
    return ath_error_nomem(err);
  }
  for (int i = 0; i < cfg->nca; i++) {
    e->ca_keys[i] = ath_strdup(cfg->ca_keys[i]);
    e->ca_values[i] = ath_strdup(cfg->ca_values[i]);
    e->cfg.nca = i + 1;
    if (e->ca_keys[i] == NULL || e->ca_values[i] == NULL) { engine_free(e); return ath_error_nomem(err); }
  }
  e->cfg.ca_keys = (const char *const *)e->ca_keys;
  e->cfg.ca_values = (const char *const *)e->ca_values;
  e->cfg.shared_name = e->shared_name;
  e->copts.keys = e->cfg.ca_keys;
  e->copts.values = e->cfg.ca_values;
  e->copts.nkv = e->cfg.nca;
  if (cfg->stmt_cache_size > ATH_ENGINE_MAX_STMT_CACHE) {
    st = ath_error_set(err, ATH_E_ARGUMENT, "statement_cache_size must be an integer between 0 and %d, got %zu",
                       ATH_ENGINE_MAX_STMT_CACHE, cfg->stmt_cache_size);
    engine_free(e);
    return st;
  }
  for (int i = 0; i < cfg->nca; i++) {
    if (strcmp(cfg->ca_keys[i], MEMDB_OPTION) == 0) {
      st = ath_error_set(err, ATH_E_ARGUMENT, "connect_args '%s' is reserved for athanor's own use", MEMDB_OPTION);
      engine_free(e);
      return st;
    }
  }
  /* A memory database: one shared memdb database, a connection per
   * checkout (see the top of this file). */
  if (ath_engine_is_memory(e)) {
    if (ath_mutex_init(&e->memdb_mu) != 0) {
      engine_free(e);
      return ath_error_set(err, ATH_E_OPERATIONAL, "engine: mutex init failed");
    }
    e->is_memdb = 1;
    memdb_new_name(e);
  }
  ath_pool_ops ops = { pool_connect, pool_close, pool_ping, pool_reset, pool_event };
  e->pool = ath_pool_new(&e->cfg.pool, &ops, e, err);
  if (e->pool == NULL) { engine_free(e); return err ? err->kind : ATH_E_NOMEM; }
  *out = e;
  return ATH_OK;
}

ath_status ath_engine_open(const char *url, const ath_engine_config *cfg,
                           ath_engine **out, ath_error *err) {
  *out = NULL;
  if (url == NULL) return ath_error_set(err, ATH_E_ARGUMENT, "URL must be a string");
  if (cfg->shared_name == NULL) return engine_create(url, cfg, out, err);
  pthread_mutex_lock(&registry_mu);
  for (ath_engine *e = registry_head; e; e = e->next_shared) {
    if (strcmp(e->shared_name, cfg->shared_name) != 0) continue;
    if (strcmp(e->url_text, url) != 0) {
      pthread_mutex_unlock(&registry_mu);
      return ath_error_set(err, ATH_E_ARGUMENT,
                           "shared engine '%s' is already open with another URL", cfg->shared_name);
    }
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&registry_mu);
    *out = e;
    return ATH_OK;
  }
  ath_status st = engine_create(url, cfg, out, err);
  if (st == ATH_OK) { (*out)->next_shared = registry_head; registry_head = *out; }
  pthread_mutex_unlock(&registry_mu);
  return st;
}

void ath_engine_retain(ath_engine *e) {
  __atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
}

void ath_engine_release(ath_engine *e) {
  if (e == NULL) return;
  if (e->shared_name) {
    /* Under the registry lock so a concurrent open can't revive a dying engine. */
    pthread_mutex_lock(&registry_mu);
    if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0) {
      pthread_mutex_unlock(&registry_mu);
      return;
    }
    for (ath_engine **pp = &registry_head; *pp; pp = &(*pp)->next_shared)
      if (*pp == e) { *pp = e->next_shared; break; }
    pthread_mutex_unlock(&registry_mu);
  } else if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0) {
    return;
  }
  engine_free(e);
}

ath_status ath_engine_checkout(ath_engine *e, double timeout, ath_conn **out, ath_error *err) {
  return ath_engine_checkout_ev(e, timeout, NULL, out, err);
}

ath_status ath_engine_checkout_ev(ath_engine *e, double timeout, ath_engine_events *events,
                                  ath_conn **out, ath_error *err) {
  if (events) { events->n = 0; events->dropped = 0; events->serial = 0; }
  void *c = NULL;
  ath_status st = ath_pool_checkout_ev(e->pool, timeout, events, &c, err);
  *out = c;
  if (st == ATH_OK) ((ath_conn *)c)->checkouts++;
  return st;
}

void ath_engine_checkin(ath_engine *e, ath_conn *c) {
  if (c == NULL) return;
  if (c->invalid) {
    ath_pool_invalidate(e->pool, c);
    /* a connection of the process this one forked from is no disconnect */
    if (e->cfg.pool.invalidate_pool_on_disconnect && !c->disowned) ath_pool_invalidate_all(e->pool);
    return;
  }
  ath_pool_checkin(e->pool, c);
}

void ath_engine_invalidate(ath_engine *e, ath_conn *c) {
  if (c) ath_pool_invalidate(e->pool, c);
}

void ath_engine_dispose(ath_engine *e) {
  ath_pool_dispose(e->pool);
  if (e->is_memdb) memdb_drop(e);
}
const ath_driver *ath_engine_driver(const ath_engine *e) { return e->drv; }
const ath_url *ath_engine_url(const ath_engine *e) { return e->url; }
ath_pool *ath_engine_pool(const ath_engine *e) { return e->pool; }
const ath_engine_config *ath_engine_get_config(const ath_engine *e) { return &e->cfg; }
