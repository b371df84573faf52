/* drv_pg.c — the PostgreSQL driver (libpq) behind ath_driver.
 * Owns: the PGconn, named server-side prepared statements ("ath_s<N>"), their
 * parameter buffers, the current PGresult, and a per-statement arena for
 * converted values (valid until the next step/reset/finalize).
 * Parameters go in text format except bytea (binary, so zero bytes survive);
 * results come back in text format and are converted by type OID here
 * (drv_pg_types.c). Streaming uses single-row mode. */
#include "drv_pg.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- errors */

/* Fill err from a failed result (or from the connection when res is NULL). */
static ath_status pg_fail(PGconn *pg, const PGresult *res, ath_error *err) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  int bad = pg == NULL || PQstatus(pg) == CONNECTION_BAD;
  ath_status kind = ATH_E_DBAPI;
  int disconnect = bad;
  if (state && strlen(state) == 5) {
    if (!strncmp(state, "23", 2)) kind = ATH_E_INTEGRITY;
    else if (!strncmp(state, "42", 2)) kind = ATH_E_PROGRAMMING;
    else if (!strncmp(state, "22", 2)) kind = ATH_E_DATA;
    else if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
             !strcmp(state, "57P03")) { kind = ATH_E_OPERATIONAL; disconnect = 1; }
    else if (!strcmp(state, "57014") || !strcmp(state, "40001") || !strcmp(state, "40P01") ||
             !strncmp(state, "53", 2) || !strcmp(state, "55P03") || !strncmp(state, "25", 2))
      kind = ATH_E_OPERATIONAL;
    else if (!strncmp(state, "0A", 2)) kind = ATH_E_NOT_SUPPORTED;
  } else if (bad) {
    kind = ATH_E_OPERATIONAL;
  }
  if (kind == ATH_E_NOT_SUPPORTED) kind = ATH_E_DBAPI;
  if (disconnect) kind = ATH_E_OPERATIONAL;
  char msg[ATH_ERROR_MSG_MAX];
  if (primary) {
    snprintf(msg, sizeof msg, "%s%s%s", primary, detail ? " DETAIL: " : "", detail ? detail : "");
  } else {
    const char *m = pg ? PQerrorMessage(pg) : "connection lost";
    snprintf(msg, sizeof msg, "%s", m && *m ? m : "server closed the connection unexpectedly");
  }
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
  ath_error_set(err, kind, "%s", msg);
  if (err) {
    if (state) snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
    if (constraint) snprintf(err->constraint, sizeof err->constraint, "%s", constraint);
    err->disconnect = disconnect;
  }
  return kind;
}

/* Run a command that returns no rows. */
static ath_status pg_command(ath_dconn *c, const char *sql, ath_error *err) {
  PGresult *res = PQexec(c->pg, sql);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) { PQclear(res); return ATH_OK; }
  ath_status s = pg_fail(c->pg, res, err);
  PQclear(res);
  return s;
}

/* ------------------------------------------------------------ connect */

static void ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }

static int known_keyword(const PQconninfoOption *defs, const char *k) {
  for (const PQconninfoOption *o = defs; o && o->keyword; o++) if (!strcmp(o->keyword, k)) return 1;
  return 0;
}

static ath_status pg_connect(const ath_url *url, const ath_connect_opts *opts, ath_dconn **out, ath_error *err) {
  *out = NULL;
  int extra = url->nparams + (opts ? opts->nkv : 0);
  const char **keys = ath_calloc((size_t)extra + 8, sizeof(char *));
  const char **vals = ath_calloc((size_t)extra + 8, sizeof(char *));
  PQconninfoOption *defs = PQconndefaults();
  ath_status st = ATH_OK;
  char port[16];
  int n = 0;
  if (keys == NULL || vals == NULL || defs == NULL) { st = ath_error_nomem(err); goto done; }
  if (url->username) { keys[n] = "user"; vals[n++] = url->username; }
  if (url->password) { keys[n] = "password"; vals[n++] = url->password; }
  if (url->host) { keys[n] = "host"; vals[n++] = url->host; }
  if (url->port) { snprintf(port, sizeof port, "%d", url->port); keys[n] = "port"; vals[n++] = port; }
  if (url->database) { keys[n] = "dbname"; vals[n++] = url->database; }
  for (int i = 0; i < url->nparams; i++) {
    if (!known_keyword(defs, url->params[i].key)) {
      st = ath_error_set(err, ATH_E_ARGUMENT, "Unknown PostgreSQL connection option '%s' in the URL", url->params[i].key);
      goto done;
    }
    keys[n] = url->params[i].key; vals[n++] = url->params[i].value;
  }
  for (int i = 0; opts && i < opts->nkv; i++) {
    if (!known_keyword(defs, opts->keys[i])) {
      st = ath_error_set(err, ATH_E_ARGUMENT, "Unknown PostgreSQL connect_args option '%s'", opts->keys[i]);
      goto done;
    }
    keys[n] = opts->keys[i]; vals[n++] = opts->values[i];
  }
  keys[n] = "client_encoding"; vals[n++] = "UTF8";
  keys[n] = NULL; vals[n] = NULL;
  ath_dconn *c = ath_calloc(1, sizeof *c);
  if (c == NULL) { st = ath_error_nomem(err); goto done; }
  c->pg = PQconnectdbParams(keys, vals, 0);
  if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
    st = pg_fail(c->pg, NULL, err);
    if (err) err->disconnect = 0;          /* never connected: nothing to invalidate */
    PQfinish(c->pg);
    ath_free(c);
    goto done;
  }
  /* Server notices ("table does not exist, skipping") are not errors: drop
   * them instead of letting libpq print them on stderr. */
  PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
  st = pg_command(c, "SET DateStyle = ISO", err);
  if (st != ATH_OK) { PQfinish(c->pg); ath_free(c); goto done; }
  *out = c;
done:
  PQconninfoFree(defs);
  ath_free(keys);
  ath_free(vals);
  return st;
}

static void pg_close(ath_dconn *c) {
  if (c == NULL) return;
  PQfinish(c->pg);
  ath_free(c);
}

static ath_status pg_exec(ath_dconn *c, const char *sql, ath_error *err) { return pg_command(c, sql, err); }

/* ---------------------------------------------------------- statements */

static ath_status pg_prepare(ath_dconn *c, const char *sql, size_t len, ath_dstmt **out, ath_error *err) {
  *out = NULL;
  ath_dstmt *s = ath_calloc(1, sizeof *s);
  char *text = ath_strndup(sql, len);             /* libpq wants a C string */
  if (s == NULL || text == NULL) { ath_free(s); ath_free(text); return ath_error_nomem(err); }
  s->c = c;
  snprintf(s->name, sizeof s->name, "ath_s%lu", ++c->counter);
  PGresult *res = PQprepare(c->pg, s->name, text, 0, NULL);
  ath_free(text);
  ath_status st = ATH_OK;
  if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) st = pg_fail(c->pg, res, err);
  else s->prepared = 1;
  PQclear(res);
  if (st == ATH_OK) {
    s->desc = PQdescribePrepared(c->pg, s->name);
    if (s->desc == NULL || PQresultStatus(s->desc) != PGRES_COMMAND_OK) st = pg_fail(c->pg, s->desc, err);
  }
  if (st == ATH_OK) {
    s->nparams = PQnparams(s->desc);
    s->ncols = PQnfields(s->desc);
    size_t np = (size_t)(s->nparams ? s->nparams : 1);
    s->pvals = ath_calloc(np, sizeof(char *));
    s->plens = ath_calloc(np, sizeof(int));
    s->pfmts = ath_calloc(np, sizeof(int));
    if (!s->pvals || !s->plens || !s->pfmts) st = ath_error_nomem(err);
  }
  if (st != ATH_OK) { ath_drv_pg_free_stmt(s, s->prepared); return st; }
  *out = s;
  return ATH_OK;
}

static int pg_param_count(ath_dstmt *s) { return s->nparams; }

static ath_status pg_bind(ath_dstmt *s, int idx, const ath_value *v, ath_error *err) {
  if (idx < 1 || idx > s->nparams)
    return ath_error_set(err, ATH_E_ARGUMENT, "parameter index %d out of range (statement takes %d)", idx, s->nparams);
  return ath_drv_pg_bind_value(s, idx - 1, v, err);
}

/* Drain what is left of a streaming query so the connection is idle again. */
static void drain(ath_dstmt *s) {
  if (!s->sent) return;
  PGcancel *cancel = s->row_mode_done ? NULL : PQgetCancel(s->c->pg);
  if (cancel) { char buf[128]; PQcancel(cancel, buf, sizeof buf); PQfreeCancel(cancel); }
  PGresult *r;
  while ((r = PQgetResult(s->c->pg)) != NULL) PQclear(r);
  s->sent = 0;
}

static ath_status pg_step(ath_dstmt *s, ath_error *err) {
  ath_drv_pg_arena_reset(s);
  if (s->done) return ATH_DONE;
  PGconn *pg = s->c->pg;
  if (s->streaming) {
    if (!s->sent) {
      if (!PQsendQueryPrepared(pg, s->name, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts, 0))
        return pg_fail(pg, NULL, err);
      s->sent = 1;
      PQsetSingleRowMode(pg);
    }
    PQclear(s->res);
    s->res = PQgetResult(pg);
    ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_COMMAND_OK;
    if (st == PGRES_SINGLE_TUPLE) { s->row = 0; s->nrows = 1; s->rows_seen++; return ATH_ROW; }
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      if (s->res && st == PGRES_COMMAND_OK) s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
      else s->changes = s->rows_seen;
      PQclear(s->res); s->res = NULL;
      s->row_mode_done = 1;
      drain(s);
      s->done = 1;
      return ATH_DONE;
    }
    ath_status e = pg_fail(pg, s->res, err);
    PQclear(s->res); s->res = NULL;
    s->row_mode_done = 1;
    drain(s);
    s->done = 1;
    return e;
  }
  if (s->res == NULL) {
    s->res = PQexecPrepared(pg, s->name, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts, 0);
    ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK) {
      s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
      s->done = 1;
      return ATH_DONE;
    }
    if (st != PGRES_TUPLES_OK) {
      ath_status e = pg_fail(pg, s->res, err);
      PQclear(s->res); s->res = NULL;
      s->done = 1;
      return e;
    }
    s->nrows = PQntuples(s->res);
    s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
    s->row = -1;
  }
  if (++s->row < s->nrows) return ATH_ROW;
  s->done = 1;
  return ATH_DONE;
}

static int pg_column_count(ath_dstmt *s) { return s->ncols; }

static void pg_column_info(ath_dstmt *s, int col, ath_column_info *out) {
  out->name = PQfname(s->desc, col);
  if (out->name == NULL) out->name = "";
  out->decltype = NULL;
  out->type_oid = (uint32_t)PQftype(s->desc, col);
}

static void pg_column(ath_dstmt *s, int col, ath_value *out) {
  if (s->res == NULL || PQgetisnull(s->res, s->row, col)) { out->type = ATH_V_NULL; return; }
  ath_drv_pg_convert(s, PQftype(s->res, col), PQgetvalue(s->res, s->row, col),
                     (size_t)PQgetlength(s->res, s->row, col), out);
}

static int64_t pg_changes(ath_dstmt *s) { return s->changes; }

static void pg_reset(ath_dstmt *s) {
  drain(s);
  PQclear(s->res);
  s->res = NULL;
  s->done = 0; s->row = -1; s->nrows = 0; s->rows_seen = 0; s->row_mode_done = 0;
  s->streaming = 0;
  ath_drv_pg_arena_reset(s);
  ath_drv_pg_clear_params(s);
}

static void pg_finalize(ath_dstmt *s) {
  if (s == NULL) return;
  pg_reset(s);
  ath_drv_pg_free_stmt(s, 1);
}

static void pg_set_streaming(ath_dstmt *s, int on) { s->streaming = on; }

/* --------------------------------------------------------- transactions */

static const char *const iso_sql[] = {
  "BEGIN", "BEGIN ISOLATION LEVEL READ UNCOMMITTED", "BEGIN ISOLATION LEVEL READ COMMITTED",
  "BEGIN ISOLATION LEVEL REPEATABLE READ", "BEGIN ISOLATION LEVEL SERIALIZABLE", NULL };

static ath_status pg_begin(ath_dconn *c, ath_isolation iso, ath_error *err) {
  if (iso == ATH_ISO_AUTOCOMMIT) return ATH_OK;
  return pg_command(c, iso_sql[iso], err);
}
static ath_status pg_commit(ath_dconn *c, ath_error *err) { return pg_command(c, "COMMIT", err); }
static ath_status pg_rollback(ath_dconn *c, ath_error *err) {
  if (PQtransactionStatus(c->pg) == PQTRANS_IDLE) return ATH_OK;
  return pg_command(c, "ROLLBACK", err);
}

static ath_status savepoint_cmd(ath_dconn *c, const char *verb, const char *name, ath_error *err) {
  char *q = PQescapeIdentifier(c->pg, name, strlen(name));
  if (q == NULL) return pg_fail(c->pg, NULL, err);
  size_t n = strlen(verb) + strlen(q) + 2;
  char *sql = ath_malloc(n);
  if (sql == NULL) { PQfreemem(q); return ath_error_nomem(err); }
  snprintf(sql, n, "%s %s", verb, q);
  PQfreemem(q);
  ath_status st = pg_command(c, sql, err);
  ath_free(sql);
  return st;
}
static ath_status pg_savepoint(ath_dconn *c, const char *name, ath_error *err) { return savepoint_cmd(c, "SAVEPOINT", name, err); }
static ath_status pg_release(ath_dconn *c, const char *name, ath_error *err) { return savepoint_cmd(c, "RELEASE SAVEPOINT", name, err); }
static ath_status pg_rollback_to(ath_dconn *c, const char *name, ath_error *err) { return savepoint_cmd(c, "ROLLBACK TO SAVEPOINT", name, err); }

static int pg_in_transaction(ath_dconn *c) {
  PGTransactionStatusType t = PQtransactionStatus(c->pg);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static ath_status pg_ping(ath_dconn *c, ath_error *err) {
  if (PQstatus(c->pg) != CONNECTION_OK) return pg_fail(c->pg, NULL, err);
  PGresult *res = PQexec(c->pg, "");
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  ath_status s = (st == PGRES_EMPTY_QUERY || st == PGRES_COMMAND_OK) ? ATH_OK : pg_fail(c->pg, res, err);
  PQclear(res);
  if (s == ATH_OK && PQstatus(c->pg) != CONNECTION_OK) s = pg_fail(c->pg, NULL, err);
  return s;
}

static int pg_is_disconnect(ath_dconn *c, const ath_error *err) {
  return (err && err->disconnect) || PQstatus(c->pg) == CONNECTION_BAD;
}

static ath_status pg_cancel(ath_dconn *c, ath_error *err) {
  PGcancel *cancel = PQgetCancel(c->pg);
  if (cancel == NULL) return ath_error_set(err, ATH_E_OPERATIONAL, "cannot cancel: the connection is not open");
  char buf[256];
  int ok = PQcancel(cancel, buf, sizeof buf);
  PQfreeCancel(cancel);
  return ok ? ATH_OK : ath_error_set(err, ATH_E_OPERATIONAL, "cancel failed: %s", buf);
}

static int64_t pg_last_insert_id(ath_dconn *c) { (void)c; return 0; }

/* Read results up to the next PGRES_PIPELINE_SYNC, adding the rows affected.
 * The first error is kept (later statements of the batch were skipped by the
 * server: PGRES_PIPELINE_ABORTED). */
static ath_status pipeline_collect(ath_dstmt *s, long first, int64_t *changes, long *failed,
                                   ath_status st, ath_error *err) {
  PGconn *pg = s->c->pg;
  long index = first;
  for (;;) {
    PGresult *r = PQgetResult(pg);
    if (r == NULL) {
      if (PQstatus(pg) == CONNECTION_BAD) return st == ATH_OK ? pg_fail(pg, NULL, err) : st;
      index++;                                     /* end of one statement's results */
      continue;
    }
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_PIPELINE_SYNC) { PQclear(r); return st; }
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK) {
      *changes += strtoll(PQcmdTuples(r), NULL, 10);
    } else if (rs != PGRES_PIPELINE_ABORTED && st == ATH_OK) {
      st = pg_fail(pg, r, err);
      *failed = index;
    }
    PQclear(r);
  }
}

/* Pipelined executemany: send up to BATCH executions, one sync, read back. */
static ath_status pg_execute_batch(ath_dstmt *s, ath_status (*bind_next)(void *, ath_dstmt *, ath_error *),
                                   void *ud, int64_t *changes, long *failed_index, ath_error *err) {
  enum { BATCH = 1000 };
  PGconn *pg = s->c->pg;
  *changes = 0; *failed_index = -1;
  if (!PQenterPipelineMode(pg)) return pg_fail(pg, NULL, err);
  ath_status st = ATH_OK;
  long sent = 0, batch_start = 0;
  for (;;) {
    ath_status b = bind_next(ud, s, err);
    if (b == ATH_DONE) break;
    if (b != ATH_ROW) { st = b; *failed_index = sent; break; }
    if (!PQsendQueryPrepared(pg, s->name, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts, 0)) {
      st = pg_fail(pg, NULL, err); *failed_index = sent; break;
    }
    ath_drv_pg_clear_params(s);
    if (++sent - batch_start == BATCH) {
      PQpipelineSync(pg);
      st = pipeline_collect(s, batch_start, changes, failed_index, ATH_OK, err);
      batch_start = sent;
      if (st != ATH_OK) break;
    }
  }
  if (sent > batch_start || st != ATH_OK) {
    if (PQstatus(pg) == CONNECTION_OK) {
      PQpipelineSync(pg);
      long keep = *failed_index;
      ath_status st2 = pipeline_collect(s, batch_start, changes, failed_index, st, err);
      if (st != ATH_OK) *failed_index = keep;       /* the first failure wins */
      st = st2;
    }
  }
  PQexitPipelineMode(pg);
  ath_drv_pg_clear_params(s);
  return st;
}

const ath_driver ath_driver_postgresql = {
  ATH_DRIVER_VERSION, "postgresql", 1,
  1, 1, 1,                      /* RETURNING, savepoints, transactional DDL */
  pg_connect, pg_close, pg_exec,
  pg_prepare, pg_param_count, pg_bind, pg_step, pg_column_count, pg_column_info, pg_column,
  pg_changes, pg_reset, pg_finalize,
  pg_last_insert_id, pg_begin, pg_commit, pg_rollback, pg_savepoint, pg_release, pg_rollback_to,
  pg_in_transaction, pg_ping, pg_is_disconnect, pg_cancel, pg_set_streaming,
  pg_execute_batch,
  1,                            /* stream_holds_connection: single-row mode */
};
