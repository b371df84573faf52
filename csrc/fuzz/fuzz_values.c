/* fuzz_values.c — value binding and reading back, per driver.
 * The input decodes into 1-8 ath_values of every type (integers, any double
 * bit pattern including NaN and infinities, text and blobs with any bytes,
 * NUMERIC/JSON/DATETIME text, one-dimensional arrays), each marked borrowed
 * or not.
 * SQLite (in memory, through the driver vtable): "SELECT ?1, ..., ?n" binds
 * them, steps, and every column must come back as bound (integers and
 * booleans as INT, text-like as TEXT, blobs as BLOB, NaN as NULL — SQLite
 * stores NaN as NULL, arrays refused with ATH_E_NOT_SUPPORTED); the
 * statement is reset and run again; the values are also inserted into a
 * table and read back in order; an out-of-range index is a clean error;
 * text values are also prepared as SQL (a statement or a clean error, and
 * never a statement when the text has a zero byte).
 * PostgreSQL (no server: the text encoders and decoders of drv_pg_types.c):
 * each value is encoded as a text parameter (ath_drv_pg_bind_value, text
 * with a zero byte refused with ATH_E_DATA), then decoded as a result of
 * the matching type OID (ath_drv_pg_convert), and must equal the value.
 * With ATHANOR_FUZZ_PG_URL set (make fuzz only; never in the replay), the
 * same values also make the trip through a live server with the driver:
 * "SELECT $1::int8" (float8, bool, text, bytea, and the arrays of the
 * first four), and what the server sends back must decode to the value
 * (text that is not ASCII may instead be refused by the server, cleanly);
 * text values are also prepared as SQL there (never a statement when the
 * text has a zero byte; ATHANOR_FUZZ_STRICT=0 leaves that out).
 * Nothing may leak (ath_alloc_live). */
#include "fuzz_common.h"
#include "driver/ath_driver.h"
#include "driver/drv_pg.h"
#include <math.h>

#define MAX_VALUES 8
#define MAX_ITEMS 6

typedef struct fuzz_value {
  ath_value v;
  ath_value items[MAX_ITEMS];
} fuzz_value;

static const ath_driver *sq;
static ath_dconn *conn;

/* The live PostgreSQL round trip (ATHANOR_FUZZ_PG_URL): "SELECT $1::type"
 * for the value's type. */
enum { PG_INT8, PG_FLOAT8, PG_BOOL, PG_TEXT, PG_BYTEA, PG_INT8_ARRAY, PG_FLOAT8_ARRAY, PG_BOOL_ARRAY,
       PG_TEXT_ARRAY, PG__N };
static const char *const PG_CASTS[PG__N] = { "int8", "float8", "bool", "text", "bytea", "int8[]", "float8[]",
                                             "bool[]", "text[]" };
static int strict;                     /* ATHANOR_FUZZ_STRICT=0 leaves out the checks of issue 22 fixes */
static const ath_driver *pgd;
static ath_dconn *pgconn;

static void pg_live_open(const char *url_text) {
  pgd = &ath_driver_postgresql;
  ath_url *url = NULL;
  ath_error err;
  FUZZ_CHECK(ath_url_parse(url_text, &url, &err) == ATH_OK, "ATHANOR_FUZZ_PG_URL: %s", err.message);
  FUZZ_CHECK(pgd->connect(url, NULL, &pgconn, &err) == ATH_OK, "ATHANOR_FUZZ_PG_URL: %s", err.message);
  ath_url_free(url);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  sq = &ath_driver_sqlite;
  ath_url *url = NULL;
  ath_error err;
  FUZZ_CHECK(ath_url_parse("sqlite://", &url, &err) == ATH_OK, "%s", err.message);
  FUZZ_CHECK(sq->connect(url, NULL, &conn, &err) == ATH_OK, "%s", err.message);
  ath_url_free(url);
  FUZZ_CHECK(sq->exec(conn, "CREATE TABLE v (i INTEGER PRIMARY KEY, a)", &err) == ATH_OK, "%s", err.message);
  const char *strict_env = getenv("ATHANOR_FUZZ_STRICT");
  strict = !(strict_env && *strict_env == '0');
  const char *pg_url = getenv("ATHANOR_FUZZ_PG_URL");
  if (pg_url && *pg_url) pg_live_open(pg_url);
  return 0;
}

static void gen_scalar(fuzz_reader *r, ath_vtype t, ath_value *v) {
  memset(v, 0, sizeof *v);
  v->type = t;
  v->borrowed = fz_byte(r) & 1;
  switch (t) {
    case ATH_V_NULL: break;
    case ATH_V_INT: v->u.i = (int64_t)fz_u64(r); break;
    case ATH_V_BOOL: v->u.i = fz_byte(r) & 1; break;
    case ATH_V_FLOAT: { uint64_t bits = fz_u64(r); memcpy(&v->u.f, &bits, sizeof bits); break; }
    default: v->u.s.p = fz_bytes(r, &v->u.s.n); break;
  }
}

static void gen_value(fuzz_reader *r, fuzz_value *fv) {
  ath_vtype t = (ath_vtype)fz_pick(r, ATH_V_ARRAY + 1);
  if (t != ATH_V_ARRAY) { gen_scalar(r, t, &fv->v); return; }
  static const ath_vtype item_types[] = { ATH_V_INT, ATH_V_FLOAT, ATH_V_BOOL, ATH_V_TEXT };
  ath_vtype it = item_types[fz_pick(r, 4)];
  size_t n = fz_pick(r, MAX_ITEMS + 1);
  for (size_t i = 0; i < n; i++) gen_scalar(r, fz_pick(r, 5) == 0 ? ATH_V_NULL : it, &fv->items[i]);
  memset(&fv->v, 0, sizeof fv->v);
  fv->v.type = ATH_V_ARRAY;
  fv->v.u.arr.items = fv->items;
  fv->v.u.arr.n = n;
}

static int text_like(ath_vtype t) {
  return t == ATH_V_TEXT || t == ATH_V_BLOB || t == ATH_V_NUMERIC || t == ATH_V_JSON || t == ATH_V_DATETIME;
}

static int same_bytes(const ath_value *a, const ath_value *b) {
  return a->u.s.n == b->u.s.n && (a->u.s.n == 0 || memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0);
}

/* ------------------------------------------------------------- SQLite */

/* What SQLite gives back for a bound value. */
static void check_sqlite_column(const ath_value *in, const ath_value *out, int col) {
  switch (in->type) {
    case ATH_V_NULL: case ATH_V_ARRAY:
      FUZZ_CHECK(out->type == ATH_V_NULL, "column %d: NULL came back as type %d", col, out->type);
      break;
    case ATH_V_INT: case ATH_V_BOOL:
      FUZZ_CHECK(out->type == ATH_V_INT && out->u.i == in->u.i, "column %d: integer %lld came back as type %d",
                 col, (long long)in->u.i, out->type);
      break;
    case ATH_V_FLOAT:
      if (isnan(in->u.f)) FUZZ_CHECK(out->type == ATH_V_NULL, "column %d: NaN (refused, NULL bound) came back as type %d", col, out->type);
      else FUZZ_CHECK(out->type == ATH_V_FLOAT && out->u.f == in->u.f, "column %d: %.17g came back as type %d",
                      col, in->u.f, out->type);
      break;
    case ATH_V_BLOB:
      FUZZ_CHECK(out->type == ATH_V_BLOB && same_bytes(in, out), "column %d: a %zu-byte blob came back changed", col, in->u.s.n);
      break;
    default:
      FUZZ_CHECK(out->type == ATH_V_TEXT && same_bytes(in, out), "column %d: %zu bytes of text came back changed", col, in->u.s.n);
      break;
  }
}

static void bind_all(ath_dstmt *st, const fuzz_value *vals, int n, int flip_borrowed) {
  for (int i = 0; i < n; i++) {
    ath_value v = vals[i].v;
    if (flip_borrowed) v.borrowed = !v.borrowed;
    ath_error err;
    ath_status s = sq->bind(st, i + 1, &v, &err);
    if (v.type == ATH_V_ARRAY || (v.type == ATH_V_FLOAT && isnan(v.u.f))) {
      /* arrays have no SQLite form; NaN would silently become NULL */
      FUZZ_CHECK(s == (v.type == ATH_V_ARRAY ? ATH_E_NOT_SUPPORTED : ATH_E_DATA), "binding type %d: status %d",
                 v.type, (int)s);
      ath_value null = { ATH_V_NULL, 0, { 0 } };
      FUZZ_CHECK(sq->bind(st, i + 1, &null, &err) == ATH_OK, "%s", err.message);
    } else {
      FUZZ_CHECK(s == ATH_OK, "binding type %d: %s", v.type, err.message);
    }
  }
}

/* Text values double as SQL: prepared (never stepped, so no side effect)
 * it is a statement or a clean error; with a zero byte always an error
 * (issue 22 item 2: the statement must never be cut short at the NUL). */
static void sqlite_prepare_text(const ath_value *v) {
  if (v->type != ATH_V_TEXT) return;
  ath_dstmt *st = (ath_dstmt *)1;
  ath_error err;
  ath_error_clear(&err);
  ath_status s = sq->prepare(conn, v->u.s.n ? v->u.s.p : "", v->u.s.n, &st, &err);
  if (s == ATH_OK) {
    FUZZ_CHECK(st != NULL, "prepare succeeded without a statement");
    FUZZ_CHECK(memchr(v->u.s.p, '\0', v->u.s.n) == NULL, "SQL with a zero byte was prepared");
    sq->finalize(st);
  } else {
    FUZZ_CHECK(st == NULL && err.kind == s && err.message[0], "a failed prepare: status %d, no message or a statement", (int)s);
  }
}

static void sqlite_round_trip(const fuzz_value *vals, int n) {
  for (int i = 0; i < n; i++) sqlite_prepare_text(&vals[i].v);
  char sql[128];
  int len = snprintf(sql, sizeof sql, "SELECT ?1");
  for (int i = 2; i <= n; i++) len += snprintf(sql + len, sizeof sql - (size_t)len, ", ?%d", i);
  ath_dstmt *st = NULL;
  ath_error err;
  FUZZ_CHECK(sq->prepare(conn, sql, (size_t)len, &st, &err) == ATH_OK, "%s", err.message);
  FUZZ_CHECK(sq->param_count(st) == n && sq->column_count(st) == n, "counts");
  ath_value one = { ATH_V_INT, 0, { .i = 1 } };
  FUZZ_CHECK(sq->bind(st, n + 1, &one, &err) == ATH_E_ARGUMENT, "binding past the last parameter");
  FUZZ_CHECK(sq->bind(st, 0, &one, &err) == ATH_E_ARGUMENT, "binding parameter 0");
  for (int round = 0; round < 2; round++) {         /* the second time after reset, borrowed flipped */
    bind_all(st, vals, n, round);
    FUZZ_CHECK(sq->step(st, &err) == ATH_ROW, "%s", err.message);
    for (int i = 0; i < n; i++) {
      ath_value out;
      sq->column(st, i, &out);
      check_sqlite_column(&vals[i].v, &out, i);
    }
    FUZZ_CHECK(sq->step(st, &err) == ATH_DONE, "a second row");
    sq->reset(st);
  }
  sq->finalize(st);

  /* through a table: stored and read back in order */
  static const char ins[] = "INSERT INTO v (a) VALUES (?)";
  FUZZ_CHECK(sq->prepare(conn, ins, sizeof ins - 1, &st, &err) == ATH_OK, "%s", err.message);
  for (int i = 0; i < n; i++) {
    bind_all(st, &vals[i], 1, 0);
    FUZZ_CHECK(sq->step(st, &err) == ATH_DONE, "%s", err.message);
    FUZZ_CHECK(sq->changes(st) == 1, "insert changed %lld rows", (long long)sq->changes(st));
    sq->reset(st);
  }
  sq->finalize(st);
  static const char sel[] = "SELECT a FROM v ORDER BY i";
  FUZZ_CHECK(sq->prepare(conn, sel, sizeof sel - 1, &st, &err) == ATH_OK, "%s", err.message);
  for (int i = 0; i < n; i++) {
    FUZZ_CHECK(sq->step(st, &err) == ATH_ROW, "row %d missing: %s", i, err.message);
    ath_value out;
    sq->column(st, 0, &out);
    check_sqlite_column(&vals[i].v, &out, i);
  }
  FUZZ_CHECK(sq->step(st, &err) == ATH_DONE, "an extra row");
  sq->finalize(st);
  FUZZ_CHECK(sq->exec(conn, "DELETE FROM v", &err) == ATH_OK, "%s", err.message);
}

/* --------------------------------------------------------- PostgreSQL */

enum { BOOLOID = 16, INT8OID = 20, TEXTOID = 25, JSONOID = 114, FLOAT8OID = 701, TIMESTAMPTZOID = 1184,
       NUMERICOID = 1700, BOOLARRAY = 1000, TEXTARRAY = 1009, INT8ARRAY = 1016, FLOAT8ARRAY = 1022 };

static Oid oid_of(const ath_value *v) {
  switch (v->type) {
    case ATH_V_INT: return INT8OID;
    case ATH_V_FLOAT: return FLOAT8OID;
    case ATH_V_BOOL: return BOOLOID;
    case ATH_V_NUMERIC: return NUMERICOID;
    case ATH_V_JSON: return JSONOID;
    case ATH_V_DATETIME: return TIMESTAMPTZOID;
    case ATH_V_ARRAY:
      for (size_t i = 0; i < v->u.arr.n; i++) {
        switch (v->u.arr.items[i].type) {
          case ATH_V_INT: return INT8ARRAY;
          case ATH_V_FLOAT: return FLOAT8ARRAY;
          case ATH_V_BOOL: return BOOLARRAY;
          default: break;
        }
      }
      return TEXTARRAY;
    default: return TEXTOID;
  }
}

static int has_zero_byte(const ath_value *v) {
  if (v->type == ATH_V_ARRAY) {
    for (size_t i = 0; i < v->u.arr.n; i++) if (has_zero_byte(&v->u.arr.items[i])) return 1;
    return 0;
  }
  return text_like(v->type) && v->u.s.n && memchr(v->u.s.p, '\0', v->u.s.n) != NULL;
}

/* What the decoder must give back for a value sent as text. */
static void check_pg_scalar(const ath_value *in, const ath_value *out, const char *what) {
  switch (in->type) {
    case ATH_V_NULL: FUZZ_CHECK(out->type == ATH_V_NULL, "%s: NULL came back as type %d", what, out->type); break;
    case ATH_V_INT:
      FUZZ_CHECK(out->type == ATH_V_INT && out->u.i == in->u.i, "%s: %lld came back as %lld", what,
                 (long long)in->u.i, (long long)out->u.i);
      break;
    case ATH_V_BOOL:
      FUZZ_CHECK(out->type == ATH_V_BOOL && out->u.i == (in->u.i != 0), "%s: a boolean came back changed", what);
      break;
    case ATH_V_FLOAT:
      FUZZ_CHECK(out->type == ATH_V_FLOAT && (isnan(in->u.f) ? isnan(out->u.f) : out->u.f == in->u.f &&
                 signbit(out->u.f) == signbit(in->u.f)), "%s: %.17g came back as %.17g", what, in->u.f, out->u.f);
      break;
    case ATH_V_DATETIME: {
      /* "+hh" at the end of a time with a ':' in it gains ":00" */
      const char *t = in->u.s.p;
      size_t n = in->u.s.n;
      int extend = n >= 3 && (t[n - 3] == '+' || t[n - 3] == '-') && memchr(t, ':', n) &&
                   t[n - 2] >= '0' && t[n - 2] <= '9' && t[n - 1] >= '0' && t[n - 1] <= '9';
      FUZZ_CHECK(out->type == ATH_V_DATETIME && out->u.s.n == n + (extend ? 3 : 0) &&
                 (n == 0 || !memcmp(out->u.s.p, t, n)) && (!extend || !memcmp(out->u.s.p + n, ":00", 3)),
                 "%s: a datetime came back changed", what);
      break;
    }
    default: {
      ath_vtype want = in->type == ATH_V_NUMERIC ? ATH_V_NUMERIC : in->type == ATH_V_JSON ? ATH_V_JSON : ATH_V_TEXT;
      FUZZ_CHECK(out->type == want && same_bytes(in, out), "%s: %zu bytes of type %d came back as type %d, %zu bytes",
                 what, in->u.s.n, in->type, out->type, out->u.s.n);
      break;
    }
  }
}

static void pg_round_trip(const fuzz_value *vals, int n) {
  ath_dstmt *s = ath_calloc(1, sizeof *s);           /* no server: desc NULL, every parameter as text */
  FUZZ_CHECK(s != NULL, "out of memory");
  s->nparams = 1;
  ath_error aerr;
  FUZZ_CHECK(ath_drv_pg_alloc_params(s, &aerr) == ATH_OK, "out of memory");   /* as pg_prepare makes them */
  for (int i = 0; i < n; i++) {
    const ath_value *v = &vals[i].v;
    ath_error err;
    ath_error_clear(&err);
    ath_status st = ath_drv_pg_bind_value(s, 0, v, &err);
    /* with no server (s->cur NULL) no parameter is bytea: text goes as text */
    if (st == ATH_OK) st = ath_drv_pg_finish_params(s, &err);
    if (has_zero_byte(v) && v->type != ATH_V_BLOB) {
      FUZZ_CHECK(st == ATH_E_DATA, "text with a zero byte: status %d", (int)st);
      continue;
    }
    FUZZ_CHECK(st == ATH_OK, "binding type %d: %s", v->type, err.message);
    if (v->type == ATH_V_NULL) { FUZZ_CHECK(s->pvals[0] == NULL, "NULL sent as a value"); continue; }
    if (v->type == ATH_V_BLOB) {                        /* sent binary, byte for byte */
      FUZZ_CHECK(s->pfmts[0] == 1 && (size_t)s->plens[0] == v->u.s.n &&
                 (v->u.s.n == 0 || memcmp(s->pvals[0], v->u.s.p, v->u.s.n) == 0), "a blob is not sent as its bytes");
      continue;
    }
    FUZZ_CHECK(s->pvals[0] != NULL && s->pfmts[0] == 0, "no text parameter");
    const char *text = s->pvals[0];
    size_t len = (size_t)s->plens[0];
    FUZZ_CHECK(text[len] == '\0' && strlen(text) == len, "parameter text is not one C string");
    ath_value out;
    memset(&out, 0, sizeof out);
    st = ath_drv_pg_convert(s, oid_of(v), text, len, &out, &err);
    FUZZ_CHECK(st == ATH_OK, "decoding what type %d encoded failed: %s", v->type, err.message);
    if (v->type == ATH_V_ARRAY) {
      FUZZ_CHECK(out.type == ATH_V_ARRAY && out.u.arr.n == v->u.arr.n, "an array of %zu came back as type %d with %zu items ('%s')",
                 v->u.arr.n, out.type, out.type == ATH_V_ARRAY ? out.u.arr.n : 0, text);
      for (size_t j = 0; j < v->u.arr.n; j++) check_pg_scalar(&v->u.arr.items[j], &out.u.arr.items[j], "array item");
    } else {
      check_pg_scalar(v, &out, "scalar");
    }
    ath_drv_pg_arena_reset(s);
  }
  ath_drv_pg_free_stmt(s, 0);
}

static int ascii_only(const ath_value *v) {
  if (v->type == ATH_V_ARRAY) {
    for (size_t i = 0; i < v->u.arr.n; i++) if (!ascii_only(&v->u.arr.items[i])) return 0;
    return 1;
  }
  if (!text_like(v->type)) return 1;
  for (size_t i = 0; i < v->u.s.n; i++) if ((unsigned char)v->u.s.p[i] >= 0x80) return 0;
  return 1;
}

/* The statement a value goes through, or -1 (NUMERIC, JSON and DATETIME
 * come back in the server's canonical spelling: not compared here). */
static int pg_live_stmt(const ath_value *v) {
  switch (v->type) {
    case ATH_V_NULL: return PG_TEXT;
    case ATH_V_INT: return PG_INT8;
    case ATH_V_FLOAT: return PG_FLOAT8;
    case ATH_V_BOOL: return PG_BOOL;
    case ATH_V_TEXT: return PG_TEXT;
    case ATH_V_BLOB: return PG_BYTEA;
    case ATH_V_ARRAY:
      switch (oid_of(v)) {
        case INT8ARRAY: return PG_INT8_ARRAY;
        case FLOAT8ARRAY: return PG_FLOAT8_ARRAY;
        case BOOLARRAY: return PG_BOOL_ARRAY;
        default: return PG_TEXT_ARRAY;
      }
    default: return -1;
  }
}

/* Text values as SQL on the server: prepared only (a Parse message runs
 * nothing), a statement or a clean error; strict: never a statement when
 * the text has a zero byte (issue 22 item 2). */
static void pg_live_prepare_text(const ath_value *v) {
  if (v->type != ATH_V_TEXT) return;
  ath_dstmt *st = NULL;
  ath_error err;
  ath_error_clear(&err);
  ath_status s = pgd->prepare(pgconn, v->u.s.n ? v->u.s.p : "", v->u.s.n, &st, &err);
  if (s == ATH_OK) {
    FUZZ_CHECK(st != NULL, "prepare succeeded without a statement");
    if (strict) FUZZ_CHECK(memchr(v->u.s.p, '\0', v->u.s.n) == NULL, "SQL with a zero byte was prepared on PostgreSQL");
    pgd->finalize(st);
  } else {
    FUZZ_CHECK(st == NULL && err.kind == s && err.message[0], "a failed prepare: status %d, no message or a statement", (int)s);
  }
}

static void pg_live_round_trip(const fuzz_value *vals, int n) {
  for (int i = 0; i < n; i++) {
    const ath_value *v = &vals[i].v;
    pg_live_prepare_text(v);
    int which = pg_live_stmt(v);
    if (which < 0) continue;
    /* A statement per value: a prepared statement keeps a typed variant per
     * set of parameter types it meets (issue 14), which a long-lived one
     * would count as a leak here. */
    ath_dstmt *st = NULL;
    ath_error err;
    ath_error_clear(&err);
    char sql[64];
    int sqln = snprintf(sql, sizeof sql, "SELECT $1::%s", PG_CASTS[which]);
    FUZZ_CHECK(pgd->prepare(pgconn, sql, (size_t)sqln, &st, &err) == ATH_OK, "%s: %s", sql, err.message);
    ath_status s = pgd->bind(st, 1, v, &err);
    if (v->type != ATH_V_BLOB && has_zero_byte(v)) {
      /* refused when bound, or (a string, whose type the server decides)
       * when the statement learns the parameter is text */
      if (s == ATH_OK) s = pgd->step(st, &err);
      FUZZ_CHECK(s == ATH_E_DATA, "text with a zero byte: status %d", (int)s);
      pgd->finalize(st);
      continue;
    }
    FUZZ_CHECK(s == ATH_OK, "binding type %d: %s", v->type, err.message);
    s = pgd->step(st, &err);
    if (s != ATH_ROW) {
      FUZZ_CHECK(s != ATH_DONE && err.kind == s && err.message[0], "no row and no clean error: status %d", (int)s);
      FUZZ_CHECK(!ascii_only(v), "the server refused %s (type %d): %s", PG_CASTS[which], v->type, err.message);
      pgd->finalize(st);
      continue;
    }
    ath_value out;
    memset(&out, 0, sizeof out);
    pgd->column(st, 0, &out);
    if (v->type == ATH_V_ARRAY) {
      FUZZ_CHECK(out.type == ATH_V_ARRAY && out.u.arr.n == v->u.arr.n, "server: an array of %zu came back as type %d with %zu items",
                 v->u.arr.n, out.type, out.type == ATH_V_ARRAY ? out.u.arr.n : 0);
      for (size_t j = 0; j < v->u.arr.n; j++) check_pg_scalar(&v->u.arr.items[j], &out.u.arr.items[j], "server: array item");
    } else if (v->type == ATH_V_BLOB) {
      FUZZ_CHECK(out.type == ATH_V_BLOB && same_bytes(v, &out), "server: a %zu-byte blob came back changed", v->u.s.n);
    } else {
      check_pg_scalar(v, &out, "server");
    }
    FUZZ_CHECK(pgd->step(st, &err) == ATH_DONE, "server: a second row");
    pgd->finalize(st);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r = { data, size };
  fuzz_value vals[MAX_VALUES];
  int n = 1 + (int)fz_pick(&r, MAX_VALUES);
  for (int i = 0; i < n; i++) gen_value(&r, &vals[i]);
  long live = ath_alloc_live();
  sqlite_round_trip(vals, n);
  pg_round_trip(vals, n);
  if (pgconn) pg_live_round_trip(vals, n);
  FUZZ_CHECK(ath_alloc_live() == live, "%ld blocks leaked", ath_alloc_live() - live);
  return 0;
}
