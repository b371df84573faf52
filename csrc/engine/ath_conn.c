/* ath_conn.c — connection with a prepared-statement LRU (see ath_conn.h). */
#include "ath_conn.h"
#include "../base/ath_lru.h"
#include "../base/ath_thread.h"
#include <assert.h>

/* LRU eviction: an idle statement is finalized; one still in use is only
 * orphaned (cached = 0) and finalized when its user releases it. */
static void evict_stmt(void *ud, const char *key, size_t keylen, void *value) {
  (void)ud; (void)key; (void)keylen;
  ath_cstmt *s = value;
  if (s->in_use) { s->cached = 0; return; }
  s->owner->drv->finalize(s->ds);
  ath_free(s);
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
  *out = c;
  return ATH_OK;
}

void ath_conn_close(ath_conn *c) {
  if (c == NULL) return;
  ath_lru_free(c->stmts);            /* finalizes idle statements */
  c->drv->close(c->dc);
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
  if (st != ATH_OK) { ath_free(s); return st; }
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
  if (s->cached) {
    s->owner->drv->reset(s->ds);
  } else {
    s->owner->drv->finalize(s->ds);
    ath_free(s);
  }
}

void ath_conn_clear_cache(ath_conn *c) {
  if (c->stmts) ath_lru_clear(c->stmts);
}

ath_status ath_conn_reset(ath_conn *c, ath_error *err) {
  if (c->invalid) return ath_error_set(err, ATH_E_DISCONNECTION, "connection was invalidated");
  if (c->drv->in_transaction(c->dc)) return c->drv->rollback(c->dc, err);
  return ATH_OK;
}

int ath_conn_note_error(ath_conn *c, const ath_error *err) {
  if (c->drv->is_disconnect(c->dc, err)) c->invalid = 1;
  return c->invalid;
}
