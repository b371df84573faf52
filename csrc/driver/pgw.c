/* pgw.c — the PostgreSQL v3 wire codec (see pgw.h). Sans-I/O: frontend
 * messages are appended to an ath_buf, backend messages read from bytes the
 * caller got from wherever it reads. */
#include "pgw.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ writing */

static void put_u32(ath_buf *b, uint32_t v) {
  unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v };
  ath_buf_append(b, x, 4);
}
static void put_u16(ath_buf *b, uint16_t v) {
  unsigned char x[2] = { (unsigned char)(v >> 8), (unsigned char)v };
  ath_buf_append(b, x, 2);
}
static void put_str(ath_buf *b, const char *s) { ath_buf_append(b, s, strlen(s) + 1); }

/* Start a message of type t (0: the untyped startup kinds); returns where
 * its length word is, for end_msg to fill. */
static size_t begin_msg(ath_buf *b, char t) {
  if (t) ath_buf_putc(b, t);
  size_t at = b->len;
  put_u32(b, 0);
  return at;
}
static int end_msg(ath_buf *b, size_t at) {
  if (b->oom) return -1;
  uint32_t n = (uint32_t)(b->len - at);
  unsigned char *p = (unsigned char *)b->data + at;
  p[0] = (unsigned char)(n >> 24); p[1] = (unsigned char)(n >> 16); p[2] = (unsigned char)(n >> 8); p[3] = (unsigned char)n;
  return 0;
}

int pgw_put_startup(ath_buf *b, const char *const *keys, const char *const *vals, int n) {
  size_t at = begin_msg(b, 0);
  put_u32(b, 196608);                                   /* protocol 3.0 */
  for (int i = 0; i < n; i++) { put_str(b, keys[i]); put_str(b, vals[i]); }
  ath_buf_append(b, "", 1);
  return end_msg(b, at);
}

int pgw_put_ssl_request(ath_buf *b) {
  size_t at = begin_msg(b, 0);
  put_u32(b, 80877103);
  return end_msg(b, at);
}

int pgw_put_password(ath_buf *b, const char *password) {
  size_t at = begin_msg(b, 'p');
  put_str(b, password);
  return end_msg(b, at);
}

static void md5_hex(const void *data, size_t n, char out[33]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dn = 0;
  EVP_Digest(data, n, d, &dn, EVP_md5(), NULL);
  for (unsigned i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int pgw_put_md5_password(ath_buf *b, const char *user, const char *password, const unsigned char salt[4]) {
  ath_buf t = ATH_BUF_INIT;
  ath_buf_puts(&t, password);
  ath_buf_puts(&t, user);
  if (t.oom) { ath_buf_free(&t); b->oom = 1; return -1; }
  char inner[33], outer[36];
  md5_hex(t.data, t.len, inner);
  ath_buf_free(&t);
  unsigned char salted[36];
  memcpy(salted, inner, 32);
  memcpy(salted + 32, salt, 4);
  memcpy(outer, "md5", 3);
  md5_hex(salted, 36, outer + 3);
  OPENSSL_cleanse(inner, sizeof inner);
  int r = pgw_put_password(b, outer);
  OPENSSL_cleanse(outer, sizeof outer);
  return r;
}

int pgw_put_sasl_initial(ath_buf *b, const char *mechanism, const char *data, size_t n) {
  size_t at = begin_msg(b, 'p');
  put_str(b, mechanism);
  put_u32(b, (uint32_t)n);
  ath_buf_append(b, data, n);
  return end_msg(b, at);
}

int pgw_put_sasl_response(ath_buf *b, const char *data, size_t n) {
  size_t at = begin_msg(b, 'p');
  ath_buf_append(b, data, n);
  return end_msg(b, at);
}

int pgw_put_query(ath_buf *b, const char *sql, size_t n) {
  size_t at = begin_msg(b, 'Q');
  ath_buf_append(b, sql, n);
  ath_buf_append(b, "", 1);
  return end_msg(b, at);
}

int pgw_put_parse(ath_buf *b, const char *name, const char *sql, size_t n, int nparams, const uint32_t *oids) {
  size_t at = begin_msg(b, 'P');
  put_str(b, name);
  ath_buf_append(b, sql, n);
  ath_buf_append(b, "", 1);
  put_u16(b, (uint16_t)nparams);
  for (int i = 0; i < nparams; i++) put_u32(b, oids ? oids[i] : 0);
  return end_msg(b, at);
}

int pgw_put_bind(ath_buf *b, const char *portal, const char *stmt, int nparams,
                 const char *const *vals, const int *lens, const int *fmts) {
  size_t at = begin_msg(b, 'B');
  put_str(b, portal);
  put_str(b, stmt);
  int binary = 0;
  for (int i = 0; fmts && i < nparams; i++) binary |= fmts[i] != 0;
  if (binary) {                                         /* one format per parameter */
    put_u16(b, (uint16_t)nparams);
    for (int i = 0; i < nparams; i++) put_u16(b, (uint16_t)fmts[i]);
  } else {
    put_u16(b, 0);                                      /* all text */
  }
  put_u16(b, (uint16_t)nparams);
  for (int i = 0; i < nparams; i++) {
    if (vals[i] == NULL) { put_u32(b, 0xFFFFFFFFu); continue; }
    put_u32(b, (uint32_t)lens[i]);
    ath_buf_append(b, vals[i], (size_t)lens[i]);
  }
  put_u16(b, 0);                                        /* results: all text */
  return end_msg(b, at);
}

static int put_kind_name(ath_buf *b, char t, char kind, const char *name) {
  size_t at = begin_msg(b, t);
  ath_buf_putc(b, kind);
  put_str(b, name);
  return end_msg(b, at);
}
int pgw_put_describe(ath_buf *b, char kind, const char *name) { return put_kind_name(b, 'D', kind, name); }
int pgw_put_close(ath_buf *b, char kind, const char *name) { return put_kind_name(b, 'C', kind, name); }

int pgw_put_execute(ath_buf *b, const char *portal, int32_t maxrows) {
  size_t at = begin_msg(b, 'E');
  put_str(b, portal);
  put_u32(b, (uint32_t)maxrows);
  return end_msg(b, at);
}

int pgw_put_copy_fail(ath_buf *b, const char *reason) {
  size_t at = begin_msg(b, 'f');
  put_str(b, reason);
  return end_msg(b, at);
}

static int put_empty(ath_buf *b, char t) { size_t at = begin_msg(b, t); return end_msg(b, at); }
int pgw_put_sync(ath_buf *b) { return put_empty(b, 'S'); }
int pgw_put_flush(ath_buf *b) { return put_empty(b, 'H'); }
int pgw_put_terminate(ath_buf *b) { return put_empty(b, 'X'); }

int pgw_put_cancel(ath_buf *b, uint32_t pid, uint32_t key) {
  size_t at = begin_msg(b, 0);
  put_u32(b, 80877102);
  put_u32(b, pid);
  put_u32(b, key);
  return end_msg(b, at);
}

/* ------------------------------------------------------------ reading */

static ath_status violation(ath_error *err, const char *fmt, const char *what) {
  ath_error_set(err, ATH_E_OPERATIONAL, fmt, what);
  if (err) err->disconnect = 1;
  return ATH_E_OPERATIONAL;
}

static uint32_t get_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}
static uint16_t get_u16(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint16_t)(u[0] << 8 | u[1]);
}

ath_status pgw_frame(const char *data, size_t n, pgw_msg *m, size_t *used, ath_error *err) {
  if (n < 5) { *used = 5; return ATH_DONE; }
  uint32_t len = get_u32(data + 1);
  if (len < 4 || len > PGW_MAX_MESSAGE) {
    char what[64];
    snprintf(what, sizeof what, "'%c' of length %u", (data[0] >= 32 && data[0] < 127) ? data[0] : '?', len);
    return violation(err, "protocol violation: server sent message %s", what);
  }
  *used = (size_t)len + 1;
  if (n < *used) return ATH_DONE;
  m->type = data[0];
  m->body = data + 5;
  m->len = len - 4;
  return ATH_ROW;
}

/* A cursor over a message body. */
typedef struct rd { const char *p, *end; int bad; } rd;

static uint32_t rd_u32(rd *r) {
  if (r->end - r->p < 4) { r->bad = 1; r->p = r->end; return 0; }
  uint32_t v = get_u32(r->p); r->p += 4; return v;
}
static uint16_t rd_u16(rd *r) {
  if (r->end - r->p < 2) { r->bad = 1; r->p = r->end; return 0; }
  uint16_t v = get_u16(r->p); r->p += 2; return v;
}
static const char *rd_str(rd *r) {
  const char *z = r->p < r->end ? memchr(r->p, '\0', (size_t)(r->end - r->p)) : NULL;
  if (z == NULL) { r->bad = 1; r->p = r->end; return ""; }
  const char *s = r->p; r->p = z + 1; return s;
}

static ath_status malformed(ath_error *err, const char *what) {
  return violation(err, "protocol violation: malformed %s message from the server", what);
}

ath_status pgw_read_fields(const pgw_msg *m, pgw_fields *f, ath_error *err) {
  memset(f, 0, sizeof *f);
  rd r = { m->body, m->body + m->len, 0 };
  const char *severity = NULL;
  for (;;) {
    if (r.p >= r.end) { r.bad = 1; break; }
    char code = *r.p++;
    if (code == '\0') break;
    const char *v = rd_str(&r);
    if (r.bad) break;
    switch (code) {
      case 'S': severity = v; break;
      case 'V': f->severity = v; break;
      case 'C': f->sqlstate = v; break;
      case 'M': f->message = v; break;
      case 'D': f->detail = v; break;
      case 'H': f->hint = v; break;
      case 's': f->schema = v; break;
      case 't': f->table = v; break;
      case 'c': f->column = v; break;
      case 'd': f->datatype = v; break;
      case 'n': f->constraint = v; break;
      default: break;                                   /* fields we do not use */
    }
  }
  if (f->severity == NULL) f->severity = severity;
  if (r.bad) return malformed(err, m->type == 'N' ? "NoticeResponse" : "ErrorResponse");
  return ATH_OK;
}

ath_status pgw_sqlstate_kind(const char *state, int *disconnect) {
  ath_status kind = ATH_E_DBAPI;
  int gone = 0;
  if (state && strlen(state) == 5) {
    if (!strncmp(state, "23", 2)) kind = ATH_E_INTEGRITY;
    else if (!strncmp(state, "42", 2)) kind = ATH_E_PROGRAMMING;
    else if (!strncmp(state, "22", 2)) kind = ATH_E_DATA;
    else if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
             !strcmp(state, "57P03")) { kind = ATH_E_OPERATIONAL; gone = 1; }
    else if (!strcmp(state, "57014") || !strcmp(state, "40001") || !strcmp(state, "40P01") ||
             !strncmp(state, "53", 2) || !strcmp(state, "55P03") || !strncmp(state, "25", 2))
      kind = ATH_E_OPERATIONAL;
  }
  if (disconnect) *disconnect = gone;
  return kind;
}

ath_status pgw_error_from_fields(const pgw_fields *f, ath_error *err) {
  int disconnect = 0;
  ath_status kind = pgw_sqlstate_kind(f->sqlstate, &disconnect);
  if (f->severity && (!strcmp(f->severity, "FATAL") || !strcmp(f->severity, "PANIC"))) disconnect = 1;
  if (disconnect) kind = ATH_E_OPERATIONAL;
  ath_error_set(err, kind, "%s%s%s", f->message && *f->message ? f->message : "error without a message",
                f->detail ? " DETAIL: " : "", f->detail ? f->detail : "");
  if (err) {
    if (f->sqlstate && strlen(f->sqlstate) == 5) memcpy(err->sqlstate, f->sqlstate, 6);
    if (f->constraint) snprintf(err->constraint, sizeof err->constraint, "%s", f->constraint);
    err->disconnect = disconnect;
  }
  return kind;
}

ath_status pgw_read_auth(const pgw_msg *m, int32_t *code, const char **data, size_t *n, ath_error *err) {
  if (m->len < 4) return malformed(err, "Authentication");
  *code = (int32_t)get_u32(m->body);
  *data = m->body + 4;
  *n = m->len - 4;
  if (*code == 5 && *n != 4) return malformed(err, "AuthenticationMD5Password");
  return ATH_OK;
}

int pgw_sasl_offers(const char *data, size_t n, const char *mech) {
  size_t ml = strlen(mech);
  const char *p = data, *end = data + n;
  while (p < end && *p) {
    const char *z = memchr(p, '\0', (size_t)(end - p));
    size_t len = z ? (size_t)(z - p) : (size_t)(end - p);
    if (len == ml && memcmp(p, mech, ml) == 0) return 1;
    if (z == NULL) break;
    p = z + 1;
  }
  return 0;
}

ath_status pgw_read_parameter_status(const pgw_msg *m, const char **name, const char **value, ath_error *err) {
  rd r = { m->body, m->body + m->len, 0 };
  *name = rd_str(&r);
  *value = rd_str(&r);
  return r.bad ? malformed(err, "ParameterStatus") : ATH_OK;
}

ath_status pgw_read_backend_key(const pgw_msg *m, uint32_t *pid, uint32_t *key, ath_error *err) {
  if (m->len != 8) return malformed(err, "BackendKeyData");
  *pid = get_u32(m->body);
  *key = get_u32(m->body + 4);
  return ATH_OK;
}

ath_status pgw_read_ready(const pgw_msg *m, char *status, ath_error *err) {
  if (m->len != 1 || (m->body[0] != 'I' && m->body[0] != 'T' && m->body[0] != 'E'))
    return malformed(err, "ReadyForQuery");
  *status = m->body[0];
  return ATH_OK;
}

ath_status pgw_read_command_complete(const pgw_msg *m, const char **tag, int64_t *rows, ath_error *err) {
  rd r = { m->body, m->body + m->len, 0 };
  *tag = rd_str(&r);
  *rows = 0;
  if (r.bad) return malformed(err, "CommandComplete");
  static const char *const counted[] = { "INSERT ", "UPDATE ", "DELETE ", "SELECT ", "MOVE ", "FETCH ",
                                         "COPY ", "MERGE ", NULL };
  for (int i = 0; counted[i]; i++) {
    if (strncmp(*tag, counted[i], strlen(counted[i])) != 0) continue;
    const char *last = strrchr(*tag, ' ');
    *rows = strtoll(last + 1, NULL, 10);
    break;
  }
  return ATH_OK;
}

ath_status pgw_read_row_description(const pgw_msg *m, pgw_column **cols, int *n, ath_error *err) {
  *cols = NULL; *n = 0;
  rd r = { m->body, m->body + m->len, 0 };
  int count = rd_u16(&r);
  if (r.bad) return malformed(err, "RowDescription");
  /* each column takes at least 19 bytes: a bound before allocating */
  if ((size_t)count * 19 > (size_t)(r.end - r.p)) return malformed(err, "RowDescription");
  pgw_column *c = ath_calloc(count ? (size_t)count : 1, sizeof *c);
  if (c == NULL) return ath_error_nomem(err);
  for (int i = 0; i < count && !r.bad; i++) {
    c[i].name = rd_str(&r);
    rd_u32(&r);                                         /* table OID */
    rd_u16(&r);                                         /* column number */
    c[i].type_oid = rd_u32(&r);
    rd_u16(&r);                                         /* type size */
    rd_u32(&r);                                         /* type modifier */
    c[i].format = (int16_t)rd_u16(&r);
  }
  if (r.bad || r.p != r.end) { ath_free(c); return malformed(err, "RowDescription"); }
  *cols = c; *n = count;
  return ATH_OK;
}

ath_status pgw_read_parameter_description(const pgw_msg *m, uint32_t **oids, int *n, ath_error *err) {
  *oids = NULL; *n = 0;
  rd r = { m->body, m->body + m->len, 0 };
  int count = rd_u16(&r);
  if (r.bad || (size_t)(r.end - r.p) != (size_t)count * 4) return malformed(err, "ParameterDescription");
  if (count == 0) return ATH_OK;
  uint32_t *o = ath_malloc((size_t)count * sizeof *o);
  if (o == NULL) return ath_error_nomem(err);
  for (int i = 0; i < count; i++) o[i] = rd_u32(&r);
  *oids = o; *n = count;
  return ATH_OK;
}

ath_status pgw_data_row_count(const pgw_msg *m, int *ncols, ath_error *err) {
  if (m->len < 2) return malformed(err, "DataRow");
  *ncols = get_u16(m->body);
  return ATH_OK;
}

ath_status pgw_read_data_row(const pgw_msg *m, int ncols, const char **vals, int32_t *lens, ath_error *err) {
  rd r = { m->body, m->body + m->len, 0 };
  int count = rd_u16(&r);
  if (r.bad) return malformed(err, "DataRow");
  if (count != ncols)
    return violation(err, "protocol violation: a DataRow of %s columns does not match its RowDescription",
                     count > ncols ? "more" : "fewer");
  for (int i = 0; i < count; i++) {
    uint32_t len = rd_u32(&r);
    if (r.bad) break;
    if (len == 0xFFFFFFFFu) { vals[i] = NULL; lens[i] = -1; continue; }
    if (len > (size_t)(r.end - r.p)) { r.bad = 1; break; }
    vals[i] = r.p; lens[i] = (int32_t)len;
    r.p += len;
  }
  if (r.bad || r.p != r.end) return malformed(err, "DataRow");
  return ATH_OK;
}

/* ------------------------------------------------------------ SCRAM */

static ath_status scram_fail(ath_error *err, const char *why) {
  return ath_error_set(err, ATH_E_OPERATIONAL, "SCRAM-SHA-256 authentication failed: %s", why);
}

/* base64 of n bytes appended to out (NUL-terminated). */
static void b64_put(ath_buf *out, const unsigned char *p, size_t n) {
  size_t need = 4 * ((n + 2) / 3) + 1;
  if (ath_buf_reserve(out, need) != 0) return;
  int w = EVP_EncodeBlock((unsigned char *)out->data + out->len, p, (int)n);
  out->len += (size_t)w;
  out->data[out->len] = '\0';
}

/* Decode base64 text[0..n) into out (at most cap bytes): the length, or -1. */
static int b64_get(const char *text, size_t n, unsigned char *out, size_t cap) {
  if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap + 2) return -1;
  unsigned char tmp[512];
  if (n / 4 * 3 > sizeof tmp) return -1;
  int w = EVP_DecodeBlock(tmp, (const unsigned char *)text, (int)n);
  if (w < 0) return -1;
  if (text[n - 1] == '=') w--;
  if (text[n - 2] == '=') w--;
  if ((size_t)w > cap) return -1;
  memcpy(out, tmp, (size_t)w);
  return w;
}

/* The value of attribute `a=` in a comma-separated SCRAM message. */
static const char *scram_attr(const char *msg, size_t n, char a, size_t *len) {
  const char *p = msg, *end = msg + n;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    if (stop - p >= 2 && p[0] == a && p[1] == '=') { *len = (size_t)(stop - p - 2); return p + 2; }
    p = stop + 1;
  }
  return NULL;
}

static char *dup_n(const char *p, size_t n) {
  char *s = ath_malloc(n + 1);
  if (s) { memcpy(s, p, n); s[n] = '\0'; }
  return s;
}

ath_status pgw_scram_start(pgw_scram *s, const char *user, const char *password, const char *client_nonce,
                           ath_buf *out, ath_error *err) {
  memset(s, 0, sizeof *s);
  ath_buf bare = ATH_BUF_INIT;
  ath_buf_puts(&bare, "n=");
  for (const char *u = user; *u; u++) {                 /* RFC 5802: ',' and '=' escaped */
    if (*u == ',') ath_buf_puts(&bare, "=2C");
    else if (*u == '=') ath_buf_puts(&bare, "=3D");
    else ath_buf_putc(&bare, *u);
  }
  ath_buf_puts(&bare, ",r=");
  if (client_nonce) {
    ath_buf_puts(&bare, client_nonce);
  } else {
    unsigned char raw[18];
    if (RAND_bytes(raw, sizeof raw) != 1) { ath_buf_free(&bare); return scram_fail(err, "no random bytes for the nonce"); }
    b64_put(&bare, raw, sizeof raw);
  }
  s->password = dup_n(password, strlen(password));
  if (bare.oom || bare.data == NULL || s->password == NULL) { ath_buf_free(&bare); pgw_scram_free(s); return ath_error_nomem(err); }
  s->client_first_bare = ath_buf_detach(&bare, NULL);
  ath_buf_puts(out, "n,,");
  ath_buf_puts(out, s->client_first_bare);
  if (out->oom) { pgw_scram_free(s); return ath_error_nomem(err); }
  s->state = 1;
  return ATH_OK;
}

static void hmac256(const unsigned char *key, size_t kn, const void *data, size_t n, unsigned char out[32]) {
  unsigned int len = 32;
  HMAC(EVP_sha256(), key, (int)kn, data, n, out, &len);
}

ath_status pgw_scram_continue(pgw_scram *s, const char *server_first, size_t n, ath_buf *out, ath_error *err) {
  if (s->state != 1) return scram_fail(err, "server-first-message out of order");
  size_t rn, sn, in;
  const char *r = scram_attr(server_first, n, 'r', &rn);
  const char *salt64 = scram_attr(server_first, n, 's', &sn);
  const char *iters = scram_attr(server_first, n, 'i', &in);
  if (!r || !salt64 || !iters || in == 0 || in > 9) return scram_fail(err, "malformed server-first-message");
  const char *cnonce = strstr(s->client_first_bare, ",r=") + 3;
  size_t cn = strlen(cnonce);
  if (rn <= cn || memcmp(r, cnonce, cn) != 0) return scram_fail(err, "the server's nonce does not extend ours");
  char digits[10];
  memcpy(digits, iters, in); digits[in] = '\0';
  char *endp;
  long iterations = strtol(digits, &endp, 10);
  if (*endp != '\0' || iterations < 1) return scram_fail(err, "malformed iteration count");
  unsigned char salt[128];
  int saltn = b64_get(salt64, sn, salt, sizeof salt);
  if (saltn <= 0) return scram_fail(err, "malformed salt");
  if (PKCS5_PBKDF2_HMAC(s->password, (int)strlen(s->password), salt, saltn, (int)iterations, EVP_sha256(),
                        32, s->salted) != 1)
    return scram_fail(err, "PBKDF2 failed");
  s->server_first = dup_n(server_first, n);
  ath_buf fb = ATH_BUF_INIT;
  ath_buf_puts(&fb, "c=biws,r=");
  ath_buf_append(&fb, r, rn);
  if (s->server_first == NULL || fb.oom) { ath_buf_free(&fb); return ath_error_nomem(err); }
  s->client_final_bare = ath_buf_detach(&fb, NULL);
  /* AuthMessage = client-first-bare "," server-first "," client-final-bare */
  ath_buf auth = ATH_BUF_INIT;
  ath_buf_printf(&auth, "%s,%s,%s", s->client_first_bare, s->server_first, s->client_final_bare);
  if (auth.oom) { ath_buf_free(&auth); return ath_error_nomem(err); }
  unsigned char client_key[32], stored_key[32], signature[32], proof[32];
  unsigned int dn = 0;
  hmac256(s->salted, 32, "Client Key", 10, client_key);
  EVP_Digest(client_key, 32, stored_key, &dn, EVP_sha256(), NULL);
  hmac256(stored_key, 32, auth.data, auth.len, signature);
  for (int i = 0; i < 32; i++) proof[i] = client_key[i] ^ signature[i];
  ath_buf_free(&auth);
  ath_buf_puts(out, s->client_final_bare);
  ath_buf_puts(out, ",p=");
  b64_put(out, proof, 32);
  OPENSSL_cleanse(client_key, sizeof client_key);
  if (out->oom) return ath_error_nomem(err);
  s->state = 2;
  return ATH_OK;
}

ath_status pgw_scram_finish(pgw_scram *s, const char *server_final, size_t n, ath_error *err) {
  if (s->state != 2) return scram_fail(err, "server-final-message out of order");
  size_t en, vn;
  const char *e = scram_attr(server_final, n, 'e', &en);
  if (e) {
    char why[96];
    snprintf(why, sizeof why, "the server says %.*s", (int)(en > 60 ? 60 : en), e);
    return scram_fail(err, why);
  }
  const char *v = scram_attr(server_final, n, 'v', &vn);
  unsigned char got[64];
  if (v == NULL || b64_get(v, vn, got, sizeof got) != 32) return scram_fail(err, "malformed server-final-message");
  ath_buf auth = ATH_BUF_INIT;
  ath_buf_printf(&auth, "%s,%s,%s", s->client_first_bare, s->server_first, s->client_final_bare);
  if (auth.oom) { ath_buf_free(&auth); return ath_error_nomem(err); }
  unsigned char server_key[32], want[32];
  hmac256(s->salted, 32, "Server Key", 10, server_key);
  hmac256(server_key, 32, auth.data, auth.len, want);
  ath_buf_free(&auth);
  if (CRYPTO_memcmp(want, got, 32) != 0) return scram_fail(err, "the server's signature is wrong (not the real server?)");
  s->state = 3;
  return ATH_OK;
}

void pgw_scram_free(pgw_scram *s) {
  if (s->password) { OPENSSL_cleanse(s->password, strlen(s->password)); ath_free(s->password); }
  ath_free(s->client_first_bare);
  ath_free(s->server_first);
  ath_free(s->client_final_bare);
  OPENSSL_cleanse(s->salted, sizeof s->salted);
  memset(s, 0, sizeof *s);
}
