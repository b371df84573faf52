/* ath_conn.c — connection with a prepared-statement LRU (see ath_conn.h). */
#include "ath_conn.h"
#include "../base/ath_lru.h"
#include "../base/ath_thread.h"
#include <assert.h>

/* c->disowned: a foreign connection (ath_conn_foreign) the driver cut off
 * from the server (its statements finalize and it closes locally), or one
 * it could not, which the driver must never see again. */
enum { OWNED = 0, DISOWNED_CLOSABLE = 1, DISOWNED_ABANDONED = 2 };

/* Finalize s and free it; an abandoned connection's statements are only
 * forgotten (finalizing could roll back the other process's work). */
static void free_stmt(ath_cstmt *s) {
  if (s->owner->disowned != DISOWNED_ABANDONED) s->owner->drv->finalize(s->ds);
  ath_free(s);
}

/* LRU eviction: an idle statement is finalized; one still in use is only
 * orphaned (cached = 0) and finalized when its user releases it. */
static void evict_stmt(void *ud, const char *key, size_t keylen, void *value) {
  (void)ud; (void)key; (void)keylen;
  ath_cstmt *s = value;
  if (s->in_use) { s->cached = 0; return; }
  free_stmt(s);
}

/* The slow half of ath_conn_foreign: c is another process's. */
int ath_conn_disown(ath_conn *c) {
  if (c->disowned == OWNED) {
    const ath_driver *d = c->drv;
    int closable = d->version >= 3 && d->disown != NULL && d->disown(c->dc);
    c->disowned = closable ? DISOWNED_CLOSABLE : DISOWNED_ABANDONED;
    c->invalid = 1;
  }
  return 1;
}

ath_status ath_conn_open(const ath_driver *drv, const ath_url *url,
                         const ath_connect_opts *opts, size_t stmt_cache_size,
                         ath_conn **out, ath_error *err) {
  *out = NULL;
  ath_conn *c = ath_calloc(1, sizeof *c);
  if (c == NULL) return ath_error_nomem(err);
  c->drv = drv;
  if (stmt_cache_size > 0) {
    c->stmts = ath_lru_new(stmt_cache_size, evict_stmt, c);
    if (c->stmts == NULL) { ath_free(c); return ath_error_nomem(err); }
  }
  ath_status st = drv->connect(url, opts, &c->dc, err);
  if (st != ATH_OK) {
    ath_lru_free(c->stmts);
    ath_free(c);
    return st;
  }
  c->created_at = ath_now_monotonic();
  c->pid = ath_process_id();
  *out = c;
  return ATH_OK;
}

void ath_conn_close(ath_conn *c) {
  if (c == NULL) return;
  ath_conn_foreign(c);               /* another process's: cut it off before anything is sent */
  ath_lru_free(c->stmts);            /* finalizes idle statements */
  if (c->disowned != DISOWNED_ABANDONED) c->drv->close(c->dc);
  ath_free(c);
}

ath_status ath_conn_stmt_acquire(ath_conn *c, const char *sql, size_t len,
                                 ath_cstmt **out, ath_error *err) {
  *out = NULL;
  if (c->stmts) {
    ath_cstmt *hit = ath_lru_get(c->stmts, sql, len);
    if (hit && !hit->in_use) {
      hit->in_use = 1;
      *out = hit;
      return ATH_OK;
    }
  }
  /* Checked on a miss only: text holding a NUL is never prepared, so it can
   * never be a hit, and the cached path stays a lookup. The check is here so
   * every driver, and every caller of the core, refuses it the same way. */
  ath_status st = ath_driver_check_sql(sql, len, err);
  if (st != ATH_OK) return st;
  ath_cstmt *s = ath_calloc(1, sizeof *s);
  if (s == NULL) return ath_error_nomem(err);
  st = c->drv->prepare(c->dc, sql, len, &s->ds, err);
  if (st != ATH_OK) { ath_free(s); ath_conn_note_error(c, err); return st; }
  c->prepares++;
  static unsigned long next_id = 0;
  s->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
  s->owner = c;
  s->in_use = 1;
  /* Cache it unless the same SQL is already cached (and busy: a nested use
   * of one query, e.g. iterating a result while running it again). */
  if (c->stmts && ath_lru_get(c->stmts, sql, len) == NULL) {
    ath_error ignored;
    if (ath_lru_put(c->stmts, sql, len, s, &ignored) == ATH_OK) s->cached = 1;
  }
  *out = s;
  return ATH_OK;
}

void ath_conn_stmt_release(ath_cstmt *s) {
  if (s == NULL) return;
  assert(s->in_use);
  s->in_use = 0;
  /* Released in a forked child (a Result carried across fork() and closed
   * there): a reset would talk to the server over the other process's
   * socket (on PostgreSQL it may cancel that process's query). */
  ath_conn_foreign(s->owner);
  if (s->cached) {
    if (s->owner->disowned != DISOWNED_ABANDONED) s->owner->drv->reset(s->ds);
  } else {
    free_stmt(s);
  }
}

void ath_conn_clear_cache(ath_conn *c) {
  if (c->stmts) ath_lru_clear(c->stmts);
}

ath_status ath_conn_reset(ath_conn *c, ath_error *err) {
  if (ath_conn_foreign(c))
    return ath_error_set(err, ATH_E_DISCONNECTION, "connection was opened by process %ld, before a fork", c->pid);
  if (c->invalid) return ath_error_set(err, ATH_E_DISCONNECTION, "connection was invalidated");
  if (c->drv->in_transaction(c->dc)) return c->drv->rollback(c->dc, err);
  return ATH_OK;
}

int ath_conn_note_error(ath_conn *c, const ath_error *err) {
  if (c->drv->is_disconnect(c->dc, err)) c->invalid = 1;
  return c->invalid;
}

/* ------------------------------------------------------- connection calls */

/* A driver call's status, its disconnect verdict recorded on c. */
static ath_status noted(ath_conn *c, ath_status st, ath_error *err) {
  if (st != ATH_OK) ath_conn_note_error(c, err);
  return st;
}

ath_status ath_conn_begin(ath_conn *c, ath_isolation iso, ath_error *err) {
  return noted(c, c->drv->begin(c->dc, iso, err), err);
}
ath_status ath_conn_commit(ath_conn *c, ath_error *err) {
  return noted(c, c->drv->commit(c->dc, err), err);
}
ath_status ath_conn_rollback(ath_conn *c, ath_error *err) {
  return noted(c, c->drv->rollback(c->dc, err), err);
}
ath_status ath_conn_savepoint(ath_conn *c, const char *name, ath_error *err) {
  return noted(c, c->drv->savepoint(c->dc, name, err), err);
}
ath_status ath_conn_release_savepoint(ath_conn *c, const char *name, ath_error *err) {
  return noted(c, c->drv->release_savepoint(c->dc, name, err), err);
}
ath_status ath_conn_rollback_to_savepoint(ath_conn *c, const char *name, ath_error *err) {
  return noted(c, c->drv->rollback_to_savepoint(c->dc, name, err), err);
}
int ath_conn_in_transaction(ath_conn *c) { return c->drv->in_transaction(c->dc); }
ath_status ath_conn_ping(ath_conn *c, ath_error *err) { return noted(c, c->drv->ping(c->dc, err), err); }
ath_status ath_conn_cancel(ath_conn *c, ath_error *err) { return c->drv->cancel(c->dc, err); }
int64_t ath_conn_last_insert_id(ath_conn *c) { return c->drv->last_insert_id(c->dc); }

ath_status ath_conn_exec_script(ath_conn *c, const char *sql, size_t len, ath_error *err) {
  /* drv->exec takes a C string: text after a NUL would be dropped unseen */
  ath_status st = ath_driver_check_sql(sql, len, err);
  if (st != ATH_OK) return st;
  return noted(c, c->drv->exec(c->dc, sql, err), err);
}

/* ------------------------------------------------------------ executemany */

/* The driver's execute_batch sees driver statements; the caller's bind_next
 * sees the engine's. */
typedef struct many_src {
  ath_cstmt *s;
  ath_status (*bind_next)(void *ud, ath_cstmt *s, ath_error *err);
  void *ud;
} many_src;

static ath_status bind_next_ds(void *ud, ath_dstmt *ds, ath_error *err) {
  (void)ds;
  many_src *m = ud;
  return m->bind_next(m->ud, m->s, err);
}

ath_status ath_cstmt_execute_many(ath_cstmt *s, ath_status (*bind_next)(void *ud, ath_cstmt *s, ath_error *err),
                                  void *ud, int64_t *changes, long *failed_index, ath_error *err) {
  const ath_driver *drv = s->owner->drv;
  *changes = 0;
  *failed_index = -1;
  if (drv->execute_batch) {
    many_src m = { s, bind_next, ud };
    return noted(s->owner, drv->execute_batch(s->ds, bind_next_ds, &m, changes, failed_index, err), err);
  }
  for (long index = 0;; index++) {
    ath_status st = bind_next(ud, s, err);
    if (st == ATH_DONE) return ATH_OK;
    if (st != ATH_ROW) { *failed_index = index; return st; }
    while ((st = ath_cstmt_step(s, err)) == ATH_ROW) {}
    if (st != ATH_DONE) { *failed_index = index; return st; }
    *changes += drv->changes(s->ds);
    drv->reset(s->ds);
  }
}
