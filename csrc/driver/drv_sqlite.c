/* drv_sqlite.c — the SQLite driver (libsqlite3) behind ath_driver.
 * Owns: the sqlite3 handle and its statements. SQLite always steps row by
 * row, so streaming needs nothing special. Error kinds come from the
 * extended result code (kept in err->code). */
#include "ath_driver.h"
#include <sqlite3.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The transaction statements, prepared on first use and kept: sqlite3_exec
 * would parse them again on every begin, commit and rollback (a
 * connection-per-request loop runs them as often as its queries). */
enum { TX_READ_COMMITTED, TX_READ_UNCOMMITTED, TX_READ_UNCOMMITTED_NOW, TX_BEGIN, TX_COMMIT, TX_ROLLBACK, TX__COUNT };
static const char *const tx_sql[TX__COUNT] = {
  "PRAGMA read_uncommitted = 0", "PRAGMA read_uncommitted = 1", "PRAGMA read_uncommitted",
  "BEGIN", "COMMIT", "ROLLBACK",
};

struct ath_dconn {
  sqlite3 *db;
  sqlite3_stmt *tx[TX__COUNT];
};

struct ath_dstmt {
  sqlite3_stmt *st;
  sqlite3 *db;
  int64_t changes;               /* sqlite3_changes64 after the last DONE */
  int ncols;
};

/* Map an extended result code (+ message) onto a kind and fill err. */
static ath_status map_error(sqlite3 *db, int rc, ath_error *err) {
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  if ((ext & 0xff) != (rc & 0xff)) ext = rc;       /* errcode is stale: trust rc */
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  ath_status kind;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: kind = ATH_E_INTEGRITY; break;
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_READONLY: case SQLITE_IOERR:
    case SQLITE_CANTOPEN: case SQLITE_FULL: case SQLITE_CORRUPT: case SQLITE_NOTADB:
    case SQLITE_PERM: case SQLITE_NOMEM: case SQLITE_INTERRUPT: case SQLITE_PROTOCOL:
    case SQLITE_ABORT:
      kind = ATH_E_OPERATIONAL; break;
    case SQLITE_MISMATCH: case SQLITE_TOOBIG: case SQLITE_RANGE: kind = ATH_E_DATA; break;
    case SQLITE_MISUSE: kind = ATH_E_INTERFACE; break;
    case SQLITE_ERROR:
      if (strstr(msg, "syntax error") || strstr(msg, "no such table") || strstr(msg, "no such column") ||
          strstr(msg, "already exists") || strstr(msg, "incomplete input") || strstr(msg, "no such function") ||
          strstr(msg, "unrecognized token") || strstr(msg, "ambiguous column") || strstr(msg, "no such index") ||
          strstr(msg, "has no column named") || strstr(msg, "values for") || strstr(msg, "wrong number of arguments"))
        kind = ATH_E_PROGRAMMING;
      else
        kind = ATH_E_DBAPI;
      break;
    default: kind = ATH_E_DBAPI; break;
  }
  ath_error_set(err, kind, "%s", msg);
  if (err) err->code = ext;
  return kind;
}

static int parse_bool(const char *v, int *out) {
  if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) { *out = 1; return 1; }
  if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) { *out = 0; return 1; }
  return 0;
}

static int one_of(const char *v, const char *const *set) {
  for (; *set; set++) if (!strcasecmp(v, *set)) return 1;
  return 0;
}

static ath_status sq_exec(ath_dconn *c, const char *sql, ath_error *err) {
  int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? ATH_OK : map_error(c->db, rc, err);
}

static ath_status sq_connect(const ath_url *url, const ath_connect_opts *opts, ath_dconn **out, ath_error *err) {
  static const char *const journal_modes[] = { "delete", "truncate", "persist", "memory", "wal", "off", NULL };
  static const char *const sync_modes[] = { "off", "normal", "full", "extra", NULL };
  *out = NULL;
  long busy_ms = 5000;
  int foreign_keys = 1;
  const char *journal = NULL, *sync = NULL, *memdb = NULL;
  /* Check every option before opening anything. */
  for (int i = 0; opts && i < opts->nkv; i++) {
    const char *k = opts->keys[i], *v = opts->values[i];
    if (!strcmp(k, "busy_timeout")) {
      /* sqlite3_busy_timeout takes an int: refuse what a cast would wrap */
      char *end;
      errno = 0;
      busy_ms = strtol(v, &end, 10);
      if (*v == '\0' || *end != '\0' || errno == ERANGE || busy_ms < 0 || busy_ms > INT_MAX)
        return ath_error_set(err, ATH_E_ARGUMENT,
                             "connect_args busy_timeout must be an integer number of milliseconds between 0 and %d, got '%s'",
                             INT_MAX, v);
    } else if (!strcmp(k, "_memdb")) {
      /* Set by the engine for a memory database (never by users): the name
       * of the process-wide memdb database every checkout shares. */
      memdb = v;
    } else if (!strcmp(k, "journal_mode")) {
      if (!one_of(v, journal_modes))
        return ath_error_set(err, ATH_E_ARGUMENT, "connect_args journal_mode '%s' is not one of delete, truncate, persist, memory, wal, off", v);
      journal = v;
    } else if (!strcmp(k, "foreign_keys")) {
      if (!parse_bool(v, &foreign_keys))
        return ath_error_set(err, ATH_E_ARGUMENT, "connect_args foreign_keys must be on or off, got '%s'", v);
    } else if (!strcmp(k, "synchronous")) {
      if (!one_of(v, sync_modes))
        return ath_error_set(err, ATH_E_ARGUMENT, "connect_args synchronous '%s' is not one of off, normal, full, extra", v);
      sync = v;
    } else {
      return ath_error_set(err, ATH_E_ARGUMENT,
                           "Unknown SQLite connect_args option '%s' (known: busy_timeout, journal_mode, foreign_keys, synchronous)", k);
    }
  }
  const char *path = memdb ? memdb : url->database ? url->database : ":memory:";
  ath_dconn *c = ath_calloc(1, sizeof *c);
  if (c == NULL) return ath_error_nomem(err);
  /* NOMUTEX: a connection is used by one thread at a time (the pool and the
   * static pool's per-thread ownership guarantee it), so SQLite's own
   * per-call mutex would only cost a lock/unlock on every column read. */
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           memdb ? "memdb" : NULL);
  if (rc != SQLITE_OK) {
    ath_error_set(err, ATH_E_OPERATIONAL, "unable to open database file '%s': %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    if (err) err->code = rc;
    sqlite3_close(c->db);
    ath_free(c);
    return ATH_E_OPERATIONAL;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, (int)busy_ms);
  char sql[128];
  ath_status st = sq_exec(c, foreign_keys ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF", err);
  if (st == ATH_OK && journal) {
    snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", journal);   /* checked against the list above */
    st = sq_exec(c, sql, err);
  }
  if (st == ATH_OK && sync) {
    snprintf(sql, sizeof sql, "PRAGMA synchronous = %s", sync);
    st = sq_exec(c, sql, err);
  }
  if (st != ATH_OK) {
    sqlite3_close(c->db);
    ath_free(c);
    return st;
  }
  *out = c;
  return ATH_OK;
}

static void sq_close(ath_dconn *c) {
  if (c == NULL) return;
  /* close_v2 would keep the handle as a zombie while a statement lives */
  for (int i = 0; i < TX__COUNT; i++) sqlite3_finalize(c->tx[i]);
  sqlite3_close_v2(c->db);
  ath_free(c);
}

/* Fork safety (see ath_driver.disown). SQLite's rule is that a connection
 * carried across fork() is never used in the child. Closing is a use too,
 * but a harmless one when nothing is in progress: with no transaction open
 * and no statement running, sqlite3_close writes nothing (no rollback to
 * play back) and only closes this process's copies of the descriptors; the
 * POSIX locks belong to the other process and stay (a WAL checkpoint on
 * close needs an exclusive lock, which the other process's shared lock
 * refuses while it has the database open). With a transaction open or a
 * statement stepping, finalizing or closing would roll back into the file
 * the other process is writing: then the handle is left alone for good (its
 * memory and descriptors stay, a few per pooled connection). */
static int sq_disown(ath_dconn *c) {
  if (!sqlite3_get_autocommit(c->db)) return 0;
  for (sqlite3_stmt *st = sqlite3_next_stmt(c->db, NULL); st; st = sqlite3_next_stmt(c->db, st))
    if (sqlite3_stmt_busy(st)) return 0;
  return 1;
}

static int only_space_or_comments(const char *p, const char *end) {
  while (p < end) {
    if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';') { p++; continue; }
    if (p + 1 < end && p[0] == '-' && p[1] == '-') { while (p < end && *p != '\n') p++; continue; }
    if (p + 1 < end && p[0] == '/' && p[1] == '*') {
      p += 2;
      while (p + 1 < end && !(p[0] == '*' && p[1] == '/')) p++;
      p += 2;
      continue;
    }
    return 0;
  }
  return 1;
}

/* Parameter placeholders in statement text, as SQLite's tokenizer sees them
 * (not inside strings, quoted names or comments): how many there are, and
 * the highest ?NNN (its text at num_at, num_len bytes). Read only when
 * SQLite refused the statement for having too many. */
typedef struct sq_params {
  long count;
  unsigned long max_number;
  const char *num_at;
  size_t num_len;
} sq_params;

static int sq_ident_char(unsigned char ch) { return isalnum(ch) || ch == '_' || ch == '$' || ch >= 0x80; }

static void scan_params(const char *p, const char *end, sq_params *out) {
  memset(out, 0, sizeof *out);
  while (p < end) {
    char ch = *p;
    if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {        /* '' "" `` doubled; [...] not */
      char close = ch == '[' ? ']' : ch;
      for (p++; p < end; p++) {
        if (*p != close) continue;
        if (close != ']' && p + 1 < end && p[1] == close) { p++; continue; }
        break;
      }
      p = p < end ? p + 1 : end;
    } else if (ch == '-' && p + 1 < end && p[1] == '-') {
      while (p < end && *p != '\n') p++;
    } else if (ch == '/' && p + 1 < end && p[1] == '*') {
      for (p += 2; p < end && !(p + 1 < end && p[0] == '*' && p[1] == '/'); p++) {}
      p = p + 2 < end ? p + 2 : end;
    } else if (ch == '?') {
      const char *q = p + 1;
      unsigned long n = 0;
      while (q < end && isdigit((unsigned char)*q)) { if (n < 1000000000UL) n = n * 10 + (unsigned long)(*q - '0'); q++; }
      if (n > out->max_number) { out->max_number = n; out->num_at = p; out->num_len = (size_t)(q - p); }
      out->count++;
      p = q;
    } else if ((ch == ':' || ch == '@' || ch == '$') && p + 1 < end && sq_ident_char((unsigned char)p[1])) {
      for (p++; p < end && sq_ident_char((unsigned char)*p); p++) {}
      out->count++;
    } else if (sq_ident_char((unsigned char)ch)) {
      while (p < end && sq_ident_char((unsigned char)*p)) p++;     /* a word: "a$b" is one name */
    } else {
      p++;
    }
  }
}

/* SQLite refused sql for more parameters than its limit allows: say which
 * limit (SQLITE_LIMIT_VARIABLE_NUMBER, set when the library was built) and
 * how many the statement has, as an OperationalError like PostgreSQL's. */
static ath_status too_many_params(sqlite3 *db, const char *sql, size_t len, ath_error *err) {
  int limit = sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  int code = sqlite3_extended_errcode(db);
  sq_params sp;
  scan_params(sql, sql + len, &sp);
  if (sp.max_number > (unsigned long)limit)
    ath_error_set(err, ATH_E_OPERATIONAL, "too many SQL variables: placeholder %.*s is beyond SQLite's limit of %d "
                  "parameters per statement", (int)(sp.num_len > 24 ? 24 : sp.num_len), sp.num_at, limit);
  else
    ath_error_set(err, ATH_E_OPERATIONAL, "too many SQL variables: the statement has %ld parameter placeholders, "
                  "but SQLite accepts at most %d per statement (split it, e.g. a long in_ list, or use executemany)",
                  sp.count, limit);
  if (err) err->code = code;
  return ATH_E_OPERATIONAL;
}

static ath_status sq_prepare(ath_dconn *c, const char *sql, size_t len, ath_dstmt **out, ath_error *err) {
  *out = NULL;
  if (len == 0 || only_space_or_comments(sql, sql + len))
    return ath_error_set(err, ATH_E_ARGUMENT, "empty SQL statement");
  ath_dstmt *s = ath_calloc(1, sizeof *s);
  if (s == NULL) return ath_error_nomem(err);
  const char *tail = NULL;
  int rc = sqlite3_prepare_v3(c->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &s->st, &tail);
  if (rc != SQLITE_OK) {
    const char *msg = sqlite3_errmsg(c->db);
    ath_status st = (rc & 0xff) == SQLITE_ERROR && (strstr(msg, "too many SQL variables") ||
                                                    strstr(msg, "variable number must be between"))
                      ? too_many_params(c->db, sql, len, err) : map_error(c->db, rc, err);
    ath_free(s);
    return st;
  }
  if (tail && !only_space_or_comments(tail, sql + len)) {
    sqlite3_finalize(s->st);
    ath_free(s);
    return ath_error_set(err, ATH_E_PROGRAMMING, "only one statement can be prepared at a time");
  }
  s->db = c->db;
  s->ncols = sqlite3_column_count(s->st);
  *out = s;
  return ATH_OK;
}

static int sq_param_count(ath_dstmt *s) { return sqlite3_bind_parameter_count(s->st); }

static ath_status sq_bind(ath_dstmt *s, int idx, const ath_value *v, ath_error *err) {
  int rc;
  switch (v->type) {
    case ATH_V_NULL: rc = sqlite3_bind_null(s->st, idx); break;
    case ATH_V_INT: case ATH_V_BOOL: rc = sqlite3_bind_int64(s->st, idx, v->u.i); break;
    case ATH_V_FLOAT:
      if (isnan(v->u.f))                 /* SQLite would store NULL: refuse rather than lose it */
        return ath_error_set(err, ATH_E_DATA, "parameter %d: SQLite cannot store NaN (it would become NULL)", idx);
      rc = sqlite3_bind_double(s->st, idx, v->u.f);
      break;
    case ATH_V_BLOB:
      rc = sqlite3_bind_blob64(s->st, idx, v->u.s.n ? v->u.s.p : "", v->u.s.n,
                               v->borrowed ? SQLITE_STATIC : SQLITE_TRANSIENT);
      break;
    case ATH_V_TEXT: case ATH_V_NUMERIC: case ATH_V_JSON: case ATH_V_DATETIME:
      rc = sqlite3_bind_text64(s->st, idx, v->u.s.n ? v->u.s.p : "", v->u.s.n,
                               v->borrowed ? SQLITE_STATIC : SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case ATH_V_ARRAY:
      return ath_error_set(err, ATH_E_NOT_SUPPORTED, "SQLite has no array type (parameter %d)", idx);
    default:
      return ath_error_set(err, ATH_E_ARGUMENT, "parameter %d: unknown value type %d", idx, (int)v->type);
  }
  if (rc == SQLITE_RANGE)
    return ath_error_set(err, ATH_E_ARGUMENT, "parameter index %d out of range (statement takes %d)",
                         idx, sqlite3_bind_parameter_count(s->st));
  return rc == SQLITE_OK ? ATH_OK : map_error(s->db, rc, err);
}

static ath_status sq_step(ath_dstmt *s, ath_error *err) {
  int rc = sqlite3_step(s->st);
  if (rc == SQLITE_ROW) return ATH_ROW;
  if (rc == SQLITE_DONE) { s->changes = sqlite3_changes64(s->db); return ATH_DONE; }
  ath_status st = map_error(s->db, rc, err);
  sqlite3_reset(s->st);                 /* so the statement is reusable after the error */
  return st;
}

static int sq_column_count(ath_dstmt *s) { return s->ncols; }

static void sq_column_info(ath_dstmt *s, int col, ath_column_info *out) {
  const char *name = sqlite3_column_name(s->st, col);
  out->name = name ? name : "";
  out->decltype = sqlite3_column_decltype(s->st, col);
  out->type_oid = 0;
}

/* Text and blob values may need memory to be read: a zeroblob() is
 * expanded, text that is not NUL-terminated (a borrowed parameter, a cast
 * blob) is copied. When that fails SQLite returns NULL, and the value turns
 * NULL too, so the size is read first: NULL for a non-empty value, or for a
 * value that is NULL now, is SQLITE_NOMEM, not an empty string. */
static ath_status sq_column_value(ath_dstmt *s, int col, ath_value *out, ath_error *err) {
  int type = sqlite3_column_type(s->st, col);
  switch (type) {
    case SQLITE_INTEGER: out->type = ATH_V_INT; out->u.i = sqlite3_column_int64(s->st, col); return ATH_OK;
    case SQLITE_FLOAT: out->type = ATH_V_FLOAT; out->u.f = sqlite3_column_double(s->st, col); return ATH_OK;
    case SQLITE_TEXT: case SQLITE_BLOB: {
      size_t n = (size_t)sqlite3_column_bytes(s->st, col);   /* no conversion: UTF-8 text, or a blob */
      const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_column_text(s->st, col)
                                          : sqlite3_column_blob(s->st, col);
      if (p == NULL && (n > 0 || sqlite3_column_type(s->st, col) == SQLITE_NULL)) {
        out->type = ATH_V_NULL;
        ath_error_nomem(err);
        if (err) err->code = SQLITE_NOMEM;
        return ATH_E_NOMEM;
      }
      out->type = type == SQLITE_TEXT ? ATH_V_TEXT : ATH_V_BLOB;
      out->u.s.p = p ? p : "";
      out->u.s.n = n;
      return ATH_OK;
    }
    default: out->type = ATH_V_NULL; return ATH_OK;
  }
}

static void sq_column(ath_dstmt *s, int col, ath_value *out) { sq_column_value(s, col, out, NULL); }

static int64_t sq_changes(ath_dstmt *s) { return s->changes; }

static void sq_reset(ath_dstmt *s) {
  sqlite3_reset(s->st);
  sqlite3_clear_bindings(s->st);
}

static void sq_finalize(ath_dstmt *s) {
  if (s == NULL) return;
  sqlite3_finalize(s->st);
  ath_free(s);
}

static int64_t sq_last_insert_id(ath_dconn *c) { return sqlite3_last_insert_rowid(c->db); }

/* Run one of the kept transaction statements (reset at once: a reset
 * statement holds no lock and does not count as running for sq_disown).
 * *value, when given, gets the first column of its row. */
static ath_status sq_exec_tx_value(ath_dconn *c, int which, int *value, ath_error *err) {
  sqlite3_stmt **st = &c->tx[which];
  int rc = *st ? SQLITE_OK : sqlite3_prepare_v2(c->db, tx_sql[which], -1, st, NULL);
  if (rc != SQLITE_OK) return map_error(c->db, rc, err);
  rc = sqlite3_step(*st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
    if (value) *value = rc == SQLITE_ROW ? sqlite3_column_int(*st, 0) : 0;
    sqlite3_reset(*st);
    return ATH_OK;
  }
  ath_status kind = map_error(c->db, rc, err);           /* read the error before the reset */
  sqlite3_reset(*st);
  return kind;
}

static ath_status sq_exec_tx(ath_dconn *c, int which, ath_error *err) { return sq_exec_tx_value(c, which, NULL, err); }

/* Setting a flag PRAGMA such as read_uncommitted expires every prepared
 * statement of the connection (SQLite's pragma.c emits OP_Expire), so each
 * statement would be parsed again after every BEGIN: set it only when it
 * differs from what the connection has (reading it expires nothing). */
static ath_status sq_begin(ath_dconn *c, ath_isolation iso, ath_error *err) {
  if (iso == ATH_ISO_AUTOCOMMIT) return ATH_OK;
  int want = iso == ATH_ISO_READ_UNCOMMITTED, have = -1;
  ath_status st = sq_exec_tx_value(c, TX_READ_UNCOMMITTED_NOW, &have, err);
  if (st == ATH_OK && have != want) st = sq_exec_tx(c, want ? TX_READ_UNCOMMITTED : TX_READ_COMMITTED, err);
  return st == ATH_OK ? sq_exec_tx(c, TX_BEGIN, err) : st;
}
static ath_status sq_commit(ath_dconn *c, ath_error *err) { return sq_exec_tx(c, TX_COMMIT, err); }
static ath_status sq_rollback(ath_dconn *c, ath_error *err) {
  if (sqlite3_get_autocommit(c->db)) return ATH_OK;     /* nothing open (e.g. rolled back by an error) */
  return sq_exec_tx(c, TX_ROLLBACK, err);
}

/* Run "<verb> "name"" with the name double-quoted (quotes doubled). */
static ath_status savepoint_cmd(ath_dconn *c, const char *verb, const char *name, ath_error *err) {
  size_t n = strlen(verb) + 2 * strlen(name) + 4;
  char *sql = ath_malloc(n);
  if (sql == NULL) return ath_error_nomem(err);
  char *p = sql + sprintf(sql, "%s \"", verb);
  for (const char *q = name; *q; q++) { if (*q == '"') *p++ = '"'; *p++ = *q; }
  *p++ = '"'; *p = '\0';
  ath_status st = sq_exec(c, sql, err);
  ath_free(sql);
  return st;
}
static ath_status sq_savepoint(ath_dconn *c, const char *name, ath_error *err) { return savepoint_cmd(c, "SAVEPOINT", name, err); }
static ath_status sq_release(ath_dconn *c, const char *name, ath_error *err) { return savepoint_cmd(c, "RELEASE SAVEPOINT", name, err); }
static ath_status sq_rollback_to(ath_dconn *c, const char *name, ath_error *err) { return savepoint_cmd(c, "ROLLBACK TO SAVEPOINT", name, err); }
static int sq_in_transaction(ath_dconn *c) { return !sqlite3_get_autocommit(c->db); }
static ath_status sq_ping(ath_dconn *c, ath_error *err) {
  return c && c->db ? ATH_OK : ath_error_set(err, ATH_E_OPERATIONAL, "connection is closed");
}
static int sq_is_disconnect(ath_dconn *c, const ath_error *err) { (void)c; return err && err->disconnect; }
static ath_status sq_cancel(ath_dconn *c, ath_error *err) { (void)err; sqlite3_interrupt(c->db); return ATH_OK; }
static void sq_set_streaming(ath_dstmt *s, int on) { (void)s; (void)on; }

const ath_driver ath_driver_sqlite = {
  ATH_DRIVER_VERSION, "sqlite",
  1, 1,                         /* savepoints, transactional DDL */
  sq_connect, sq_close, sq_exec,
  sq_prepare, sq_param_count, sq_bind, sq_step, sq_column_count, sq_column_info, sq_column,
  sq_changes, sq_reset, sq_finalize,
  sq_last_insert_id, sq_begin, sq_commit, sq_rollback, sq_savepoint, sq_release, sq_rollback_to,
  sq_in_transaction, sq_ping, sq_is_disconnect, sq_cancel, sq_set_streaming,
  NULL,                         /* execute_batch: stepping in a loop is already optimal */
  0,                            /* stream_holds_connection: statements interleave */
  sq_column_value,
  sq_disown,
};
