/* drv_pg.c — the PostgreSQL driver (libpq) behind ath_driver.
 * Owns: the PGconn, named server-side prepared statements ("ath_s<N>"), their
 * parameter buffers, the current PGresult, and a per-statement arena for
 * converted values (valid until the next step/reset/finalize).
 * Each parameter is parsed with a type taken from its Lua value (int4/int8,
 * float8, bool, bytea; 0 = the server infers), so a statement with
 * parameters is parsed at its first step, once per set of types it meets
 * (pg_variant, select_variant; docs/postgresql.md "Parameter types").
 * Parameters go in text format except bytea (binary, so zero bytes survive);
 * results come back in text format and are converted by type OID here
 * (drv_pg_types.c). Streaming uses single-row mode.
 * Statement text is checked before it is sent: no NUL byte (libpq would cut
 * the statement there), not empty, and no placeholder beyond $65535 (the
 * protocol counts parameters in 16 bits; more desynchronizes the stream). */
#include "drv_pg.h"
#include "pgw.h"
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The wire protocol's parameter count is an Int16 (Bind, ParameterDescription). */
#define PG_MAX_PARAMS 65535
/* libpq drops the connection ("lost synchronization") on any message longer
 * than 30000 bytes but a few kinds, ParameterDescription not among them: it
 * can describe at most (30000 - 6) / 4 parameters. Statements with more learn
 * their parameter types from pg_prepared_statements and their columns from
 * the first result instead (see describe_large). */
#define PG_DESCRIBE_MAX_PARAMS 7498

/* ------------------------------------------------------------- errors */

/* Fill err from a failed result (or from the connection when res is NULL). */
static ath_status pg_fail(PGconn *pg, const PGresult *res, ath_error *err) {
  ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (rs == PGRES_EMPTY_QUERY)                               /* not a failure of the connection */
    return ath_error_set(err, ATH_E_ARGUMENT, "empty SQL statement");
  if (rs == PGRES_COPY_IN || rs == PGRES_COPY_OUT)           /* ended by await_result */
    return ath_error_set(err, ATH_E_PROGRAMMING, "COPY %s is not supported: athanor %s COPY data "
                         "(use INSERT ... VALUES / executemany, or SELECT)",
                         rs == PGRES_COPY_IN ? "FROM STDIN" : "TO STDOUT",
                         rs == PGRES_COPY_IN ? "sends no" : "reads no");
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  int bad = pg == NULL || PQstatus(pg) == CONNECTION_BAD;
  /* One SQLSTATE mapping for both PostgreSQL drivers (pgw.c: the cosocket
   * driver's codec reads the same fields off the wire). */
  int gone = 0;
  int has_state = state && strlen(state) == 5;
  ath_status kind = has_state ? pgw_sqlstate_kind(state, &gone) : (bad ? ATH_E_OPERATIONAL : ATH_E_DBAPI);
  int disconnect = bad || gone;
  if (disconnect) kind = ATH_E_OPERATIONAL;
  char msg[ATH_ERROR_MSG_MAX];
  if (primary) {
    snprintf(msg, sizeof msg, "%s%s%s", primary, detail ? " DETAIL: " : "", detail ? detail : "");
  } else {
    const char *m = pg ? PQerrorMessage(pg) : "connection lost";
    if (res && rs != PGRES_FATAL_ERROR && rs != PGRES_NONFATAL_ERROR && rs != PGRES_BAD_RESPONSE)
      snprintf(msg, sizeof msg, "unexpected %s result from the server", PQresStatus(rs));   /* not an error */
    else if (m && *m) snprintf(msg, sizeof msg, "%s", m);
    else snprintf(msg, sizeof msg, "no result from the server");
    /* libpq's own messages span lines ("server closed the connection
     * unexpectedly\n\tThis probably means..."): one line, as tostring(err)
     * promises. */
    size_t n = 0;
    for (const char *p = msg; *p; p++) {
      char ch = (*p == '\n' || *p == '\t') ? ' ' : *p;
      if (ch == ' ' && (n == 0 || msg[n - 1] == ' ')) continue;
      msg[n++] = ch;
    }
    while (n > 0 && msg[n - 1] == ' ') n--;
    msg[n] = '\0';
  }
  ath_error_set(err, kind, "%s", msg);
  if (err) {
    if (state) snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
    if (constraint) snprintf(err->constraint, sizeof err->constraint, "%s", constraint);
    err->disconnect = disconnect;
  }
  return kind;
}

/* A result that later results of the same command must not replace: the
 * server's error, or the COPY the caller has to be told about. */
static int sticky(const PGresult *r) {
  ExecStatusType st = PQresultStatus(r);
  return st == PGRES_FATAL_ERROR || st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH;
}

/* The outcome of the command just sent (PQsend*): the last result, except
 * that the first error wins. libpq's PQexec keeps the last one, so when the
 * server sends an error and then closes the socket (FATAL 57P01 after
 * pg_terminate_backend or a shutdown) PQexec returns libpq's own "server
 * closed the connection" result, which has no SQLSTATE; this keeps the
 * server's. A COPY is ended, as PQexec does (no data is sent; data received
 * is dropped), so the connection is idle again, and its COPY result is what
 * comes back (pg_fail says COPY is not supported). NULL when nothing came
 * back (PQerrorMessage says why). */
static PGresult *await_result(PGconn *pg) {
  PGresult *keep = NULL, *r;
  while ((r = PQgetResult(pg)) != NULL) {
    ExecStatusType st = PQresultStatus(r);
    int stuck = 0;
    if (st == PGRES_COPY_IN) {
      stuck = PQputCopyEnd(pg, "athanor sends no COPY data") != 1;
    } else if (st == PGRES_COPY_OUT) {
      char *row;                               /* -1 ends the data, -2 a failure PQgetResult reports */
      while (PQgetCopyData(pg, &row, 0) > 0) PQfreemem(row);
    } else if (st == PGRES_COPY_BOTH) {
      stuck = 1;                               /* replication streams: not ours to end */
    }
    if (keep && sticky(keep)) PQclear(r);
    else { PQclear(keep); keep = r; }
    if (stuck) break;
  }
  return keep;
}

/* PQexec, keeping the server's error (see await_result). Like PQexec it
 * first discards what is left of an earlier query (a ROLLBACK while a
 * streamed result is open must still run); statements (pg_step) do not, and
 * fail with "another command is already in progress" instead. */
static PGresult *exec_sql(PGconn *pg, const char *sql) {
  PQclear(await_result(pg));
  return PQsendQuery(pg, sql) ? await_result(pg) : NULL;
}

/* Run a command that returns no rows. */
static ath_status pg_command(ath_dconn *c, const char *sql, ath_error *err) {
  PGresult *res = exec_sql(c->pg, sql);
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

/* Fork safety (see ath_driver.disown). The socket is shared with the process
 * that opened the connection, which still uses the session: PQfinish would
 * send it a Terminate message ('X', and an SSL close_notify first on TLS),
 * which ends that process's session under it; a cancel request or a
 * DEALLOCATE would act on it too. libpq has no "finish without Terminate",
 * so the socket's descriptor is replaced, in this process only, by one open
 * on /dev/null (dup2 swaps it atomically: no other thread can be handed the
 * same number in between, as with close() and a later PQfinish). Everything
 * libpq still writes (Terminate, TLS alerts) goes nowhere, PQfinish frees
 * libpq's memory and closes our copy, and the other process's descriptor
 * keeps the TCP connection open (a socket closes on its last reference).
 * Leaking the PGconn instead (psycopg's choice) would hold the descriptor
 * and memory for the life of the child; SQLAlchemy only drops its reference. */
static int pg_disown(ath_dconn *c) {
  c->disowned = 1;
  int fd = PQsocket(c->pg);
  if (fd < 0) return 1;                       /* no socket: nothing is shared */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return 0;                  /* can't neutralize it: leave it be */
  int ok = dup2(devnull, fd) == fd;
  close(devnull);
  return ok;
}

static ath_status pg_exec(ath_dconn *c, const char *sql, ath_error *err) { return pg_command(c, sql, err); }

/* ---------------------------------------------------------- statements */

/* What a light lexer of PostgreSQL's syntax finds in statement text: whether
 * anything but whitespace, comments and ';' is there (the server answers an
 * empty query with EmptyQueryResponse, which is no statement to prepare), and
 * the highest $n placeholder outside quotes, comments and dollar quotes (the
 * server numbers parameters up to it). Assumes standard_conforming_strings
 * (the default since 9.1): backslashes escape only in E'...'. */
typedef struct pg_scan {
  int has_statement;
  unsigned long max_param;       /* saturates above PG_MAX_PARAMS */
  const char *max_at;            /* the placeholder's text ("$70000"), max_len bytes */
  size_t max_len;
} pg_scan;

static int ident_start(unsigned char ch) { return isalpha(ch) || ch == '_' || ch >= 0x80; }
static int ident_char(unsigned char ch) { return ident_start(ch) || isdigit(ch) || ch == '$'; }

/* Past the closing `quote` of a literal whose body starts at p ('' doubles a
 * quote; with backslashes, \x escapes x). end when unterminated. */
static const char *skip_quoted(const char *p, const char *end, char quote, int backslashes) {
  while (p < end) {
    if (backslashes && *p == '\\') { p = p + 1 < end ? p + 2 : end; continue; }
    if (*p++ != quote) continue;
    if (p < end && *p == quote) { p++; continue; }
    return p;
  }
  return end;
}

static void scan_sql(const char *p, const char *end, pg_scan *out) {
  memset(out, 0, sizeof *out);
  while (p < end) {
    unsigned char ch = (unsigned char)*p;
    if (isspace(ch) || ch == ';') { p++; continue; }
    if (ch == '-' && p + 1 < end && p[1] == '-') {                    /* -- comment */
      while (p < end && *p != '\n') p++;
      continue;
    }
    if (ch == '/' && p + 1 < end && p[1] == '*') {                    /* nested block comment */
      int depth = 0;
      do {
        if (p + 1 < end && p[0] == '/' && p[1] == '*') { depth++; p += 2; }
        else if (p + 1 < end && p[0] == '*' && p[1] == '/') { depth--; p += 2; }
        else p++;
      } while (depth > 0 && p < end);
      continue;
    }
    out->has_statement = 1;
    if (ch == '\'' || ch == '"') { p = skip_quoted(p + 1, end, (char)ch, 0); continue; }
    if (ident_start(ch)) {                                           /* words, and E'...' */
      const char *word = p;
      while (p < end && ident_char((unsigned char)*p)) p++;
      if (p - word == 1 && (*word == 'E' || *word == 'e') && p < end && *p == '\'')
        p = skip_quoted(p + 1, end, '\'', 1);
      continue;
    }
    if (isdigit(ch)) {                                               /* numbers: 1.5e3, 0x1F */
      while (p < end && (isalnum((unsigned char)*p) || *p == '.' || *p == '_')) p++;
      continue;
    }
    if (ch == '$') {
      const char *q = p + 1;
      if (q < end && isdigit((unsigned char)*q)) {                   /* a placeholder */
        unsigned long n = 0;
        while (q < end && isdigit((unsigned char)*q)) {
          if (n <= PG_MAX_PARAMS) n = n * 10 + (unsigned long)(*q - '0');
          q++;
        }
        if (n > out->max_param) { out->max_param = n; out->max_at = p; out->max_len = (size_t)(q - p); }
        p = q;
        continue;
      }
      while (q < end && (ident_start((unsigned char)*q) || isdigit((unsigned char)*q))) q++;
      if (q < end && *q == '$') {                                    /* $tag$ ... $tag$ */
        size_t taglen = (size_t)(q - p) + 1;
        const char *tag = p;
        p = q + 1;
        while (p < end && !((size_t)(end - p) >= taglen && memcmp(p, tag, taglen) == 0)) p++;
        p = p < end ? p + taglen : end;
        continue;
      }
    }
    p++;
  }
}

static ath_status too_many_params(const char *what, size_t len, ath_error *err) {
  return ath_error_set(err, ATH_E_OPERATIONAL,
                       "statement uses placeholder %.*s, but PostgreSQL accepts at most %d parameters "
                       "per statement (split it, e.g. a long in_ list, or use executemany)",
                       (int)(len > 24 ? 24 : len), what, PG_MAX_PARAMS);
}

/* Refuse text that would reach the server truncated, as no statement, or
 * with more parameters than the protocol can carry; *sc gets the scan. */
static ath_status check_statement(const char *sql, size_t len, pg_scan *sc, ath_error *err) {
  ath_status st = ath_driver_check_sql(sql, len, err);
  if (st != ATH_OK) return st;
  scan_sql(sql, sql + len, sc);
  if (!sc->has_statement) return ath_error_set(err, ATH_E_ARGUMENT, "empty SQL statement");
  if (sc->max_param > PG_MAX_PARAMS) return too_many_params(sc->max_at, sc->max_len, err);
  return ATH_OK;
}

/* Parameter types of variant v, read from pg_prepared_statements, for a
 * statement whose ParameterDescription libpq cannot read
 * (PG_DESCRIBE_MAX_PARAMS). Columns are learnt from the first result
 * (learn_columns). */
static ath_status describe_large(ath_dstmt *s, pg_variant *v, ath_error *err) {
  PGconn *pg = s->c->pg;
  const char *name = v->name;
  PGresult *r = PQsendQueryParams(pg, "SELECT array_to_string(parameter_types::oid[], ',') "
                                      "FROM pg_catalog.pg_prepared_statements WHERE name = $1",
                                  1, NULL, &name, NULL, NULL, 0) ? await_result(pg) : NULL;
  ath_status st = ATH_OK;
  if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) st = pg_fail(pg, r, err);
  else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
    st = ath_error_set(err, ATH_E_DBAPI, "prepared statement %s vanished from pg_prepared_statements", name);
  if (st != ATH_OK) { PQclear(r); return st; }
  const char *p = PQgetvalue(r, 0, 0);
  int n = *p ? 1 : 0;
  for (const char *q = p; *q; q++) n += *q == ',';
  if (n != s->nparams) {
    PQclear(r);
    return ath_error_set(err, ATH_E_PROGRAMMING, "statement takes %d parameters, but its text shows $%d as the "
                         "highest placeholder", n, s->nparams);
  }
  v->ptypes = ath_calloc((size_t)(n ? n : 1), sizeof(Oid));
  if (v->ptypes == NULL) { PQclear(r); return ath_error_nomem(err); }
  for (int i = 0; i < n; i++) {
    char *next;
    v->ptypes[i] = (Oid)strtoul(p, &next, 10);
    p = *next == ',' ? next + 1 : next;
  }
  PQclear(r);
  return ATH_OK;
}

/* A variant described by describe_large takes its columns from its first
 * result (kept as attributes only). */
static void learn_columns(ath_dstmt *s, const PGresult *res) {
  pg_variant *v = s->cur;
  if (v == NULL || v->desc != NULL || res == NULL) return;
  v->desc = PQcopyResult(res, PG_COPYRES_ATTRS);
  s->ncols = v->desc ? PQnfields(v->desc) : 0;
}

/* Parse s's text on the server as variant v with parameter types key
 * (s->nparams of them, 0 = the server infers; NULL: all inferred), and
 * describe it. On failure v is left empty (its server name released). */
static ath_status prepare_variant(ath_dstmt *s, pg_variant *v, const Oid *key, ath_error *err) {
  PGconn *pg = s->c->pg;
  ath_status st = ATH_OK;
  snprintf(v->name, sizeof v->name, "ath_s%lu", ++s->c->counter);
  PGresult *res = PQsendPrepare(pg, v->name, s->sql, key ? s->nparams : 0, key) ? await_result(pg) : NULL;
  if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) st = pg_fail(pg, res, err);
  else v->prepared = 1;
  PQclear(res);
  if (st == ATH_OK && s->nparams > PG_DESCRIBE_MAX_PARAMS) {
    st = describe_large(s, v, err);
  } else if (st == ATH_OK) {
    v->desc = PQsendDescribePrepared(pg, v->name) ? await_result(pg) : NULL;
    if (v->desc == NULL || PQresultStatus(v->desc) != PGRES_COMMAND_OK) st = pg_fail(pg, v->desc, err);
    else if (PQnparams(v->desc) != s->nparams)       /* the scan missed a placeholder the server saw */
      st = ath_error_set(err, ATH_E_PROGRAMMING, "statement takes %d parameters, but its text shows $%d as the "
                         "highest placeholder", PQnparams(v->desc), s->nparams);
    else s->ncols = PQnfields(v->desc);
  }
  if (st == ATH_OK && key && s->nparams) {
    v->key = ath_malloc((size_t)s->nparams * sizeof(Oid));
    if (v->key == NULL) st = ath_error_nomem(err);
    else memcpy(v->key, key, (size_t)s->nparams * sizeof(Oid));
  }
  if (st != ATH_OK) ath_drv_pg_free_variant(s, v, 1);
  return st;
}

static ath_status pg_prepare(ath_dconn *c, const char *sql, size_t len, ath_dstmt **out, ath_error *err) {
  *out = NULL;
  pg_scan sc;
  ath_status st = check_statement(sql, len, &sc, err);
  if (st != ATH_OK) return st;
  ath_dstmt *s = ath_calloc(1, sizeof *s);
  if (s == NULL) return ath_error_nomem(err);
  s->c = c;
  s->sql = ath_strndup(sql, len);                 /* libpq wants a C string */
  s->nparams = (int)sc.max_param;
  st = s->sql ? ath_drv_pg_alloc_params(s, err) : ath_error_nomem(err);
  /* Without parameters there are no types to choose: parse now, so a bad
   * statement fails here. With parameters the first step parses it, typed
   * by the values bound (select_variant). */
  if (st == ATH_OK && s->nparams == 0 && (st = prepare_variant(s, &s->base, NULL, err)) == ATH_OK) s->cur = &s->base;
  if (st != ATH_OK) { ath_drv_pg_free_stmt(s, 1); return st; }
  *out = s;
  return ATH_OK;
}

/* Choose (parsing it on first use) the variant for the bound values' types:
 * the untyped base when every parameter is left to the server, else the
 * typed variant with exactly these types. Exact, so what a statement does
 * depends on its values only, never on what ran before on the connection.
 * The least recently used typed variant makes room. It parses only outside
 * pipeline mode: pg_execute_batch leaves it when has_variant says no. */
static ath_status select_variant(ath_dstmt *s, ath_error *err) {
  pg_variant *v = NULL;
  ath_status st = ATH_OK;
  if (s->nwant == 0) {
    v = &s->base;
    if (!v->prepared) st = prepare_variant(s, v, NULL, err);
  } else {
    size_t keylen = (size_t)s->nparams * sizeof(Oid);
    for (int i = 0; i < s->ntyped && v == NULL; i++)
      if (memcmp(s->typed[i]->key, s->want, keylen) == 0) v = s->typed[i];
    if (v == NULL) {
      if (s->ntyped == PG_MAX_VARIANTS) {
        int lru = 0;
        for (int i = 1; i < s->ntyped; i++) if (s->typed[i]->used < s->typed[lru]->used) lru = i;
        ath_drv_pg_free_variant(s, s->typed[lru], 1);
        ath_free(s->typed[lru]);
        s->typed[lru] = s->typed[--s->ntyped];
      }
      v = ath_calloc(1, sizeof *v);
      if (v == NULL) return ath_error_nomem(err);
      st = prepare_variant(s, v, s->want, err);
      if (st != ATH_OK) { ath_free(v); return st; }
      s->typed[s->ntyped++] = v;
    }
  }
  if (st != ATH_OK) return st;
  v->used = ++s->tick;
  s->cur = v;
  return ath_drv_pg_finish_params(s, err);
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
  if (s->c->disowned) { s->sent = 0; return; }   /* a cancel would stop the other process's query */
  PGcancel *cancel = s->row_mode_done ? NULL : PQgetCancel(s->c->pg);
  if (cancel) { char buf[128]; PQcancel(cancel, buf, sizeof buf); PQfreeCancel(cancel); }
  PQclear(await_result(s->c->pg));
  s->sent = 0;
}

static ath_status pg_step(ath_dstmt *s, ath_error *err) {
  ath_drv_pg_arena_reset(s);
  if (s->done) return ATH_DONE;
  PGconn *pg = s->c->pg;
  if (s->streaming) {
    if (!s->sent) {
      ath_status vs = select_variant(s, err);
      if (vs != ATH_OK) { s->done = 1; return vs; }
      if (!PQsendQueryPrepared(pg, s->cur->name, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts, 0))
        return pg_fail(pg, NULL, err);
      s->sent = 1;
      PQsetSingleRowMode(pg);
    }
    PQclear(s->res);
    s->res = PQgetResult(pg);
    ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_COMMAND_OK;
    if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) learn_columns(s, s->res);
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
    ath_status vs = select_variant(s, err);
    if (vs != ATH_OK) { s->done = 1; return vs; }
    s->res = PQsendQueryPrepared(pg, s->cur->name, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts, 0)
               ? await_result(pg) : NULL;
    ExecStatusType st = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) learn_columns(s, s->res);
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
  const PGresult *desc = s->cur ? s->cur->desc : NULL;
  out->name = desc ? PQfname(desc, col) : NULL;
  if (out->name == NULL) out->name = "";
  out->decltype = NULL;
  out->type_oid = desc ? (uint32_t)PQftype(desc, col) : 0;
}

static ath_status pg_column_value(ath_dstmt *s, int col, ath_value *out, ath_error *err) {
  if (s->res == NULL || PQgetisnull(s->res, s->row, col)) { out->type = ATH_V_NULL; return ATH_OK; }
  return ath_drv_pg_convert(s, PQftype(s->res, col), PQgetvalue(s->res, s->row, col),
                            (size_t)PQgetlength(s->res, s->row, col), out, err);
}

static void pg_column(ath_dstmt *s, int col, ath_value *out) { pg_column_value(s, col, out, NULL); }

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
  ath_drv_pg_free_stmt(s, !s->c->disowned);      /* the server-side names are the other process's */
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
  PGresult *res = exec_sql(c->pg, "");
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

/* 1 when the variant the bound values need is parsed already. */
static int has_variant(const ath_dstmt *s) {
  if (s->nwant == 0) return s->base.prepared;
  size_t keylen = (size_t)s->nparams * sizeof(Oid);
  for (int i = 0; i < s->ntyped; i++) if (memcmp(s->typed[i]->key, s->want, keylen) == 0) return 1;
  return 0;
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
    if (!has_variant(s)) {
      /* A row whose value types need a variant not parsed yet: read back
       * what is in flight, and parse it outside the pipeline. */
      if (sent > batch_start) {
        PQpipelineSync(pg);
        st = pipeline_collect(s, batch_start, changes, failed_index, ATH_OK, err);
        batch_start = sent;
        if (st != ATH_OK) break;
      }
      PQexitPipelineMode(pg);
      st = select_variant(s, err);
      if (!PQenterPipelineMode(pg) && st == ATH_OK) st = pg_fail(pg, NULL, err);
      if (st != ATH_OK) { *failed_index = sent; break; }
    } else if ((st = select_variant(s, err)) != ATH_OK) {
      *failed_index = sent; break;                 /* a zero byte in text: nothing sent */
    }
    if (!PQsendQueryPrepared(pg, s->cur->name, s->nparams, (const char *const *)s->pvals, s->plens, s->pfmts, 0)) {
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
  ATH_DRIVER_VERSION, "postgresql",
  1, 1,                         /* savepoints, transactional DDL */
  pg_connect, pg_close, pg_exec,
  pg_prepare, pg_param_count, pg_bind, pg_step, pg_column_count, pg_column_info, pg_column,
  pg_changes, pg_reset, pg_finalize,
  pg_last_insert_id, pg_begin, pg_commit, pg_rollback, pg_savepoint, pg_release, pg_rollback_to,
  pg_in_transaction, pg_ping, pg_is_disconnect, pg_cancel, pg_set_streaming,
  pg_execute_batch,
  1,                            /* stream_holds_connection: single-row mode */
  pg_column_value,
  pg_disown,
};

/* For the cosocket driver (csrc/lua/l_pgwire.c): the same checks of
 * statement text as pg_prepare's, and the parameter count it finds. */
ath_status ath_drv_pg_check_statement(const char *sql, size_t len, int *nparams, ath_error *err) {
  pg_scan sc;
  ath_status st = check_statement(sql, len, &sc, err);
  *nparams = st == ATH_OK ? (int)sc.max_param : 0;
  return st;
}
