/* drv_pg_types.c — PostgreSQL values both ways: ath_value → text/binary
 * parameters, text results → ath_value by type OID (scalars and
 * one-dimensional arrays), ISO-8601 normalisation, and the per-statement
 * arena that holds converted values until the next step. */
#include "drv_pg.h"
#include "../base/ath_buf.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs (pg_type.dat) */
enum {
  BOOLOID = 16, BYTEAOID = 17, INT8OID = 20, INT2OID = 21, INT4OID = 23, OIDOID = 26,
  JSONOID = 114, FLOAT4OID = 700, FLOAT8OID = 701, DATEOID = 1082, TIMEOID = 1083,
  TIMESTAMPOID = 1114, TIMESTAMPTZOID = 1184, TIMETZOID = 1266, NUMERICOID = 1700, JSONBOID = 3802,
};

/* Element type of a one-dimensional array type, or 0. */
static Oid array_elem(Oid t) {
  switch (t) {
    case 1000: return BOOLOID;      case 1001: return BYTEAOID;   case 1005: return INT2OID;
    case 1007: return INT4OID;      case 1016: return INT8OID;    case 1021: return FLOAT4OID;
    case 1022: return FLOAT8OID;    case 1231: return NUMERICOID; case 1009: return 25;
    case 1015: return 1043;         case 1014: return 1042;       case 2951: return 2950;
    case 1182: return DATEOID;      case 1115: return TIMESTAMPOID; case 1185: return TIMESTAMPTZOID;
    case 1183: return TIMEOID;      case 1270: return TIMETZOID;  case 199: return JSONOID;
    case 3807: return JSONBOID;
    default: return 0;
  }
}

/* ---------------------------------------------------------------- arena */

static void *arena_alloc(ath_dstmt *s, size_t n) {
  pg_block *b = ath_malloc(sizeof(pg_block) + n + 1);
  if (b == NULL) return NULL;
  b->next = s->arena;
  s->arena = b;
  return (char *)(b + 1);
}

void ath_drv_pg_arena_reset(ath_dstmt *s) {
  while (s->arena) { pg_block *n = s->arena->next; ath_free(s->arena); s->arena = n; }
}

/* ----------------------------------------------------------- parameters */

void ath_drv_pg_clear_params(ath_dstmt *s) {
  if (s->pvals == NULL) return;                   /* (none: ath_drv_pg_alloc_params is all or none) */
  for (int i = 0; i < s->nparams; i++) {
    if (s->powned[i]) ath_free(s->pvals[i]);
    s->pvals[i] = NULL; s->powned[i] = 0; s->plens[i] = 0; s->pfmts[i] = 0;
  }
  if (s->nwant) memset(s->want, 0, (size_t)s->nparams * sizeof *s->want);
  memset(s->ptext, 0, (size_t)s->nparams);
  s->nwant = 0;
}

ath_status ath_drv_pg_alloc_params(ath_dstmt *s, ath_error *err) {
  size_t np = (size_t)(s->nparams > 0 ? s->nparams : 1);
  s->pvals = ath_calloc(np, sizeof *s->pvals);
  s->plens = ath_calloc(np, sizeof *s->plens);
  s->pfmts = ath_calloc(np, sizeof *s->pfmts);
  s->want = ath_calloc(np, sizeof *s->want);
  s->ptext = ath_calloc(np, 1);
  s->powned = ath_calloc(np, 1);
  s->pshort = ath_malloc(np * sizeof *s->pshort);
  if (s->pvals && s->plens && s->pfmts && s->want && s->ptext && s->powned && s->pshort) return ATH_OK;
  ath_free(s->pvals);                             /* (nothing bound yet: free_params would clear) */
  s->pvals = NULL;
  ath_drv_pg_free_params(s);
  return ath_error_nomem(err);
}

void ath_drv_pg_free_params(ath_dstmt *s) {
  ath_drv_pg_clear_params(s);
  ath_free(s->pvals); ath_free(s->plens); ath_free(s->pfmts);
  ath_free(s->want); ath_free(s->ptext); ath_free(s->powned); ath_free(s->pshort);
  s->pvals = NULL; s->plens = NULL; s->pfmts = NULL;
  s->want = NULL; s->ptext = NULL; s->powned = NULL; s->pshort = NULL;
}

/* The type a parameter is parsed with, from the kind of value bound to it
 * (as psycopg 3 does): the server then resolves `SELECT $1`, `$1 + $2` or a
 * recursive CTE's anchor from the value instead of falling back to text.
 * Integers take int4 when they fit, like the literal 5 in SQL, so functions
 * and operators declared for integer resolve (int8 would not fit
 * repeat(text, int4), and int2 overflows in `$1 * $2` past 32767); larger
 * ones int8. Everything else (text, exact decimals, dates, JSON, arrays,
 * NULL) stays 0, unknown: the server infers it from where it stands. */
static Oid value_type(const ath_value *v) {
  switch (v->type) {
    case ATH_V_INT: return v->u.i >= INT32_MIN && v->u.i <= INT32_MAX ? INT4OID : INT8OID;
    case ATH_V_FLOAT: return FLOAT8OID;
    case ATH_V_BOOL: return BOOLOID;
    case ATH_V_BLOB: return BYTEAOID;
    default: return 0;
  }
}

Oid ath_drv_pg_param_type(const ath_dstmt *s, const pg_variant *v, int i) {
  (void)s;
  if (v == NULL) return 0;
  if (v->ptypes) return v->ptypes[i];
  return v->desc ? PQparamtype(v->desc, i) : 0;
}

ath_status ath_drv_pg_finish_params(ath_dstmt *s, ath_error *err) {
  for (int i = 0; i < s->nparams; i++) {
    if (!s->ptext[i]) continue;
    if (ath_drv_pg_param_type(s, s->cur, i) == BYTEAOID) { s->pfmts[i] = 1; continue; }  /* raw bytes */
    s->pfmts[i] = 0;
    if (memchr(s->pvals[i], '\0', (size_t)s->plens[i]))
      return ath_error_set(err, ATH_E_DATA, "parameter %d: text contains a zero byte; bind binary data "
                           "as a blob into a bytea column", i + 1);
  }
  return ATH_OK;
}

/* An int64's decimal digits into out (room for 21 bytes): "%lld" without
 * printf, which cost a bound integer ~0.8k instructions. */
static int int_text(char *out, int64_t v) {
  char digits[20];
  int n = 0, len = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do { digits[n++] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0) out[len++] = '-';
  while (n) out[len++] = digits[--n];
  out[len] = '\0';
  return len;
}

/* A double's text into out (PG_SHORT_PARAM bytes), as PostgreSQL reads it. */
static int float_text(char *out, double f) {
  if (isnan(f)) return (int)strlen(strcpy(out, "NaN"));
  if (isinf(f)) return (int)strlen(strcpy(out, f > 0 ? "Infinity" : "-Infinity"));
  return snprintf(out, PG_SHORT_PARAM, "%.17g", f);
}

/* Render one scalar as PostgreSQL text input (an array's item). */
static int put_scalar(ath_buf *b, const ath_value *v) {
  char text[PG_SHORT_PARAM];
  switch (v->type) {
    case ATH_V_INT: return ath_buf_append(b, text, (size_t)int_text(text, v->u.i));
    case ATH_V_BOOL: return ath_buf_puts(b, v->u.i ? "t" : "f");
    case ATH_V_FLOAT: return ath_buf_append(b, text, (size_t)float_text(text, v->u.f));
    default: return ath_buf_append(b, v->u.s.p ? v->u.s.p : "", v->u.s.n);
  }
}

/* Render an array literal: {1,NULL,"a \"b\""} */
static int put_array(ath_buf *b, const ath_value *v) {
  ath_buf_putc(b, '{');
  for (size_t i = 0; i < v->u.arr.n; i++) {
    const ath_value *it = &v->u.arr.items[i];
    if (i) ath_buf_putc(b, ',');
    if (it->type == ATH_V_NULL) { ath_buf_puts(b, "NULL"); continue; }
    if (it->type == ATH_V_ARRAY) { put_array(b, it); continue; }
    if (it->type == ATH_V_INT || it->type == ATH_V_FLOAT || it->type == ATH_V_BOOL) { put_scalar(b, it); continue; }
    ath_buf_putc(b, '"');
    for (size_t j = 0; j < it->u.s.n; j++) {
      char ch = it->u.s.p[j];
      if (ch == '"' || ch == '\\') ath_buf_putc(b, '\\');
      ath_buf_putc(b, ch);
    }
    ath_buf_putc(b, '"');
  }
  ath_buf_putc(b, '}');
  return b->oom ? -1 : 0;
}

/* Numbers, booleans and strings shorter than PG_SHORT_PARAM are written
 * into the statement's own slot for the parameter (pshort): a row of them
 * is bound without allocating (an executemany row of four values cost four
 * allocations and frees, and printf through a growing buffer, before). */
ath_status ath_drv_pg_bind_value(ath_dstmt *s, int i, const ath_value *v, ath_error *err) {
  if (s->powned[i]) ath_free(s->pvals[i]);
  s->pvals[i] = NULL; s->powned[i] = 0; s->plens[i] = 0; s->pfmts[i] = 0; s->ptext[i] = 0;
  Oid want = value_type(v);
  s->nwant += (want != 0) - (s->want[i] != 0);
  s->want[i] = want;
  char *slot = s->pshort[i];
  switch (v->type) {
    case ATH_V_NULL: return ATH_OK;
    case ATH_V_INT: s->plens[i] = int_text(slot, v->u.i); s->pvals[i] = slot; return ATH_OK;
    case ATH_V_FLOAT: s->plens[i] = float_text(slot, v->u.f); s->pvals[i] = slot; return ATH_OK;
    case ATH_V_BOOL: slot[0] = v->u.i ? 't' : 'f'; slot[1] = '\0'; s->plens[i] = 1; s->pvals[i] = slot; return ATH_OK;
    default: break;
  }
  if (v->type == ATH_V_BLOB || v->type == ATH_V_TEXT) {
    /* raw bytes: a blob goes binary (zero bytes included); text goes as
     * text unless the server takes bytea there (ath_drv_pg_finish_params) */
    char *p = v->u.s.n < PG_SHORT_PARAM ? slot : ath_malloc(v->u.s.n + 1);  /* libpq reads text up to a NUL */
    if (p == NULL) return ath_error_nomem(err);
    if (v->u.s.n) memcpy(p, v->u.s.p, v->u.s.n);
    p[v->u.s.n] = '\0';
    s->pvals[i] = p; s->powned[i] = p != slot; s->plens[i] = (int)v->u.s.n;
    if (v->type == ATH_V_BLOB) s->pfmts[i] = 1; else s->ptext[i] = 1;
    return ATH_OK;
  }
  ath_buf b = ATH_BUF_INIT;
  if (v->type == ATH_V_ARRAY) put_array(&b, v);
  else put_scalar(&b, v);
  if (b.data == NULL && !b.oom) ath_buf_puts(&b, "");
  size_t n;
  char *text = ath_buf_detach(&b, &n);
  if (text == NULL) return ath_error_nomem(err);
  if (memchr(text, '\0', n)) {
    ath_free(text);
    return ath_error_set(err, ATH_E_DATA, "parameter %d: text contains a zero byte; bind binary data "
                         "as a blob into a bytea column", i + 1);
  }
  s->pvals[i] = text; s->powned[i] = 1; s->plens[i] = (int)n;
  return ATH_OK;
}

/* -------------------------------------------------------------- results */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

/* Result decoders return 0, or -1 when the arena ran out of memory: the
 * caller reports ATH_E_NOMEM rather than hand back a value that is not the
 * one stored (an empty bytea, a "+00" offset, an array as its literal). */

/* "+00" at the end of a time becomes "+00:00" (API.md: +hh:mm). */
static int datetime(ath_dstmt *s, const char *t, size_t n, ath_value *out) {
  out->type = ATH_V_DATETIME;
  out->u.s.p = t; out->u.s.n = n;
  if (n >= 3 && (t[n - 3] == '+' || t[n - 3] == '-') && memchr(t, ':', n) &&
      t[n - 2] >= '0' && t[n - 2] <= '9' && t[n - 1] >= '0' && t[n - 1] <= '9') {
    char *p = arena_alloc(s, n + 3);
    if (p == NULL) return -1;
    memcpy(p, t, n);
    memcpy(p + n, ":00", 4);
    out->u.s.p = p; out->u.s.n = n + 3;
  }
  return 0;
}

static int scalar(ath_dstmt *s, Oid type, const char *t, size_t n, ath_value *out) {
  switch (type) {
    case INT2OID: case INT4OID: case INT8OID: case OIDOID:
      out->type = ATH_V_INT; out->u.i = strtoll(t, NULL, 10); return 0;
    case FLOAT4OID: case FLOAT8OID:
      out->type = ATH_V_FLOAT; out->u.f = strtod(t, NULL); return 0;
    case BOOLOID: out->type = ATH_V_BOOL; out->u.i = t[0] == 't'; return 0;
    case NUMERICOID: out->type = ATH_V_NUMERIC; break;
    case JSONOID: case JSONBOID: out->type = ATH_V_JSON; break;
    case DATEOID: case TIMEOID: case TIMETZOID: case TIMESTAMPOID: case TIMESTAMPTZOID:
      return datetime(s, t, n, out);
    case BYTEAOID:
      out->type = ATH_V_BLOB;
      if (n >= 2 && t[0] == '\\' && t[1] == 'x') {
        size_t m = (n - 2) / 2;
        char *p = arena_alloc(s, m);
        if (p == NULL) return -1;
        for (size_t i = 0; i < m; i++) p[i] = (char)(hexval(t[2 + 2 * i]) * 16 + hexval(t[3 + 2 * i]));
        out->u.s.p = p; out->u.s.n = m;
        return 0;
      }
      break;                                  /* escape format: pass through */
    default: out->type = ATH_V_TEXT; break;
  }
  out->u.s.p = t; out->u.s.n = n;
  return 0;
}

/* Parse a one-dimensional array literal into arena memory. */
static int array(ath_dstmt *s, Oid elem, const char *t, size_t n, ath_value *out) {
  if (n < 2 || t[0] != '{') { out->type = ATH_V_TEXT; out->u.s.p = t; out->u.s.n = n; return 0; }
  size_t cap = 1;
  for (size_t i = 0; i < n; i++) if (t[i] == ',') cap++;
  ath_value *items = arena_alloc(s, cap * sizeof *items);
  char *buf = arena_alloc(s, n);              /* unescaped element texts, NUL-separated */
  if (items == NULL || buf == NULL) return -1;
  size_t count = 0, i = 1, w = 0;
  if (t[1] == '}') { out->type = ATH_V_ARRAY; out->u.arr.items = items; out->u.arr.n = 0; return 0; }
  while (i < n && count < cap) {
    char *start = buf + w;
    int quoted = t[i] == '"';
    if (t[i] == '{') { out->type = ATH_V_TEXT; out->u.s.p = t; out->u.s.n = n; return 0; }  /* nested: leave as text */
    if (quoted) {
      i++;
      while (i < n && t[i] != '"') { if (t[i] == '\\' && i + 1 < n) i++; buf[w++] = t[i++]; }
      i++;                                    /* closing quote */
    } else {
      while (i < n && t[i] != ',' && t[i] != '}') buf[w++] = t[i++];
    }
    size_t len = (size_t)(buf + w - start);
    buf[w++] = '\0';
    if (!quoted && len == 4 && !strncmp(start, "NULL", 4)) items[count].type = ATH_V_NULL;
    else if (scalar(s, elem, start, len, &items[count]) != 0) return -1;
    count++;
    if (i < n && t[i] == ',') i++;
    else break;
  }
  out->type = ATH_V_ARRAY; out->u.arr.items = items; out->u.arr.n = count;
  return 0;
}

ath_status ath_drv_pg_convert(ath_dstmt *s, Oid type, const char *text, size_t len, ath_value *out, ath_error *err) {
  Oid elem = array_elem(type);
  if ((elem ? array(s, elem, text, len, out) : scalar(s, type, text, len, out)) == 0) return ATH_OK;
  out->type = ATH_V_NULL;
  return ath_error_nomem(err);
}

void ath_drv_pg_free_variant(ath_dstmt *s, pg_variant *v, int deallocate) {
  if (deallocate && v->prepared && s->c && PQstatus(s->c->pg) == CONNECTION_OK &&
      PQtransactionStatus(s->c->pg) != PQTRANS_ACTIVE) {
    char sql[64];
    snprintf(sql, sizeof sql, "DEALLOCATE %s", v->name);
    PQclear(PQexec(s->c->pg, sql));           /* failure (aborted tx) only leaks a server-side name */
  }
  PQclear(v->desc);
  ath_free(v->ptypes);
  ath_free(v->key);
  memset(v, 0, sizeof *v);
}

void ath_drv_pg_free_stmt(ath_dstmt *s, int deallocate) {
  ath_drv_pg_free_variant(s, &s->base, deallocate);
  for (int i = 0; i < s->ntyped; i++) {
    ath_drv_pg_free_variant(s, s->typed[i], deallocate);
    ath_free(s->typed[i]);
  }
  PQclear(s->res);
  ath_drv_pg_arena_reset(s);
  ath_drv_pg_free_params(s);
  ath_free(s->sql);
  ath_free(s);
}
