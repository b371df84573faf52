/* fuzz_text_params.c — the text() placeholder scanner: a TEXT node (what
 * ath.text() and text inside a statement compile through) rendered by the
 * C compiler for sqlite, postgresql and mysql.
 * Input: byte 0 = mode (bits 0-1: how many bound names, bit 7: fail an
 * allocation, bits 2-6 which), then that many length-prefixed bound names,
 * then the SQL text (the rest; NUL bytes included).
 * Invariants, for every dialect:
 *  - it compiles (or, under an injected allocation failure, fails with
 *    ATH_E_NOMEM), leaking nothing;
 *  - putting ":name" back in place of each placeholder ("?", or "$k" on
 *    postgresql with k counting up) gives the input again (up to the "\:"
 *    escapes the scanner removes), every name is a whole identifier, a name
 *    bound by the node takes its slot;
 *  - by the dialect's own SQL lexing (an independent implementation here):
 *    nothing inside '...' and "..." strings, comments (-- and slash-star,
 *    nested on postgresql, and # on mysql), E'...' strings and
 *    $tag$...$tag$ bodies (postgresql), backslash escapes (mysql),
 *    `identifiers` (sqlite, mysql) and [identifiers] (sqlite) is touched,
 *    and every :name outside them is converted.
 * The dialects lex differently (a $$ body is text on postgresql only), so
 * their bind lists may differ. */
#include "fuzz_common.h"
#include "sql/ath_sql.h"

static int name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
/* PostgreSQL's identifier bytes: any byte >= 0x80 too, and $ after the first. */
static int pg_start(char c) { return name_start(c) || (unsigned char)c >= 0x80; }
static int pg_char(char c) { return pg_start(c) || (c >= '0' && c <= '9') || c == '$'; }

/* The built-in dialects by their index in ath_builtin_dialects: this lexer
 * is an independent implementation, written per database on purpose. */
enum { D_SQLITE, D_POSTGRESQL, D_MYSQL };

/* Marks in[i] = 1 for every byte inside a quoted string, a quoted
 * identifier, a comment or a dollar-quoted body of dialect d, quotes
 * included. */
static void lex(const char *s, size_t n, int d, unsigned char *in) {
  memset(in, 0, n);
  size_t i = 0;
  while (i < n) {
    char c = s[i];
    size_t start = i, end;
    if (c == '-' && i + 1 < n && s[i + 1] == '-' &&
        (d != D_MYSQL || i + 2 >= n || (unsigned char)s[i + 2] <= ' ')) {
      const char *nl = memchr(s + i, '\n', n - i);
      end = nl ? (size_t)(nl - s) : n;
    } else if (c == '#' && d == D_MYSQL) {
      const char *nl = memchr(s + i, '\n', n - i);
      end = nl ? (size_t)(nl - s) : n;
    } else if (c == '[' && d == D_SQLITE) {            /* [identifier] */
      const char *close = memchr(s + i + 1, ']', n - i - 1);
      end = close ? (size_t)(close - s) + 1 : n;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*' &&
               !(d == D_MYSQL && i + 2 < n && s[i + 2] == '!')) {   /* MySQL runs what is in slash-star-bang */
      int depth = 1;
      size_t j = i + 2;
      while (j < n && depth > 0) {
        if (s[j] == '*' && j + 1 < n && s[j + 1] == '/') { depth--; j += 2; }
        else if (d == D_POSTGRESQL && s[j] == '/' && j + 1 < n && s[j + 1] == '*') { depth++; j += 2; }
        else j++;
      }
      end = j;
    } else if (c == '\'' || c == '"' || (c == '`' && d != D_POSTGRESQL)) {
      /* backslash escapes: every MySQL string, PostgreSQL E'...' */
      int esc = d == D_MYSQL && c != '`';
      if (d == D_POSTGRESQL && c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
          (i == 1 || !pg_char(s[i - 2])))
        esc = 1;
      size_t j = i + 1;
      for (;;) {
        if (j >= n) { end = n; break; }
        if (esc && s[j] == '\\') { j += 2; continue; }
        if (s[j] == c) {
          if (j + 1 < n && s[j + 1] == c) { j += 2; continue; }   /* doubled quote */
          end = j + 1;
          break;
        }
        j++;
      }
      if (end > n) end = n;
    } else if (c == '$' && d == D_POSTGRESQL && (i == 0 || !pg_char(s[i - 1]))) {
      size_t j = i + 1;
      if (j < n && pg_start(s[j])) while (j < n && pg_char(s[j]) && s[j] != '$') j++;
      if (j >= n || s[j] != '$') { i++; continue; }
      size_t taglen = j + 1 - i;                     /* "$tag$" */
      size_t k = j + 1;
      end = n;
      for (; k + taglen <= n; k++)
        if (memcmp(s + k, s + i, taglen) == 0) { end = k + taglen; break; }
    } else {
      i++;
      continue;
    }
    memset(in + start, 1, end - start);
    i = end > start ? end : start + 1;
  }
}

typedef struct placeholder { size_t in_pos; size_t name_len; } placeholder;

/* The placeholder of dialect d for bind k (0-based) at out[b], its length
 * or 0. */
static size_t placeholder_at(const ath_compiled *c, int d, size_t b, int k) {
  if (k >= c->nbinds || b >= c->sqllen) return 0;
  if (d != D_POSTGRESQL) return c->sql[b] == '?';
  char want[16];
  int wl = snprintf(want, sizeof want, "$%d", k + 1);
  return b + (size_t)wl <= c->sqllen && memcmp(c->sql + b, want, (size_t)wl) == 0 ? (size_t)wl : 0;
}

static void check(const char *sql, size_t len, ath_node *text, const ath_compiled *c, int d) {
  const char *dn = ath_builtin_dialects[d]->name;
  /* Walk the input and the rendering side by side: a ':name' in the input
   * is the next placeholder, a removed "\" the only other change. */
  unsigned char *converted = calloc(len + 1, 1), *unescaped = calloc(len + 1, 1);
  size_t a = 0;                                   /* input position */
  size_t b = 0;                                   /* output position */
  int k = 0;
  while (b < c->sqllen || a < len) {
    if (a < len && b < c->sqllen && sql[a] == c->sql[b]) { a++; b++; continue; }
    size_t pl = placeholder_at(c, d, b, k);
    if (pl && a < len && sql[a] == ':') {
      const ath_bindref *br = &c->binds[k];
      const char *name;
      size_t nl;
      if (br->name) { name = br->name; nl = strlen(name); }
      else {
        FUZZ_CHECK(br->slot >= 1 && br->slot <= text->nkids, "%s: slot %d was not bound by the node", dn, br->slot);
        name = text->kids[br->slot - 1]->s;
        nl = text->kids[br->slot - 1]->slen;
      }
      FUZZ_CHECK(a + 1 + nl <= len && memcmp(sql + a + 1, name, nl) == 0,
                 "%s: placeholder %d is not ':%.*s' in the input", dn, k + 1, (int)nl, name);
      FUZZ_CHECK(nl > 0 && name_start(name[0]), "%s: placeholder %d has a bad name", dn, k + 1);
      for (size_t x = 0; x < nl; x++) FUZZ_CHECK(name_char(name[x]), "%s: placeholder %d has a bad name", dn, k + 1);
      FUZZ_CHECK(a + 1 + nl == len || !name_char(sql[a + 1 + nl]), "%s: placeholder %d ends inside a name", dn, k + 1);
      if (br->name)                               /* a name the node binds is never left to the caller */
        for (int x = 0; x < text->nkids; x++)
          FUZZ_CHECK(!(text->kids[x]->slen == nl && !memcmp(text->kids[x]->s, name, nl)),
                     "%s: ':%s' is bound by the node but left named", dn, br->name);
      converted[a] = 1;
      a += 1 + nl;
      b += pl;
      k++;
      continue;
    }
    FUZZ_CHECK(a + 1 < len && sql[a] == '\\' && sql[a + 1] == ':' && b < c->sqllen && c->sql[b] == ':',
               "%s: the rendering differs from the input at %zu (output %zu)", dn, a, b);
    unescaped[a] = 1;
    a++;
  }
  FUZZ_CHECK(k == c->nbinds, "%s: %d placeholders in the text, %d binds", dn, k, c->nbinds);
  /* Nothing converted inside strings, identifiers and comments; every
   * :name outside them converted. */
  unsigned char *inside = malloc(len + 1);
  lex(sql, len, d, inside);
  for (size_t x = 0; x < len; x++) {
    FUZZ_CHECK(!(inside[x] && converted[x]), "%s: ':' at %zu inside a string or comment became a placeholder", dn, x);
    FUZZ_CHECK(!(inside[x] && unescaped[x]), "%s: '\\' at %zu inside a string or comment was removed", dn, x);
    if (!inside[x] && sql[x] == ':' && x + 1 < len && name_start(sql[x + 1]) &&
        (x == 0 || (sql[x - 1] != ':' && sql[x - 1] != '\\')))
      FUZZ_CHECK(converted[x], "%s: ':%c...' at %zu was not converted", dn, sql[x + 1], x);
  }
  free(inside);
  free(converted);
  free(unescaped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r = { data, size };
  uint8_t mode = fz_byte(&r);
  int nkids = mode & 3;
  long live = ath_alloc_live();
  ath_arena *arena = ath_arena_new();
  FUZZ_CHECK(arena != NULL, "out of memory");
  ath_node *text = ath_node_new(arena, ATH_N_TEXT, nkids);
  for (int i = 0; i < nkids; i++) {           /* text:bindparams{ name = value }: BINDs named by s */
    ath_node *b = ath_node_new(arena, ATH_N_BIND, 0);
    size_t nl;
    b->s = fz_bytes(&r, &nl);
    b->slen = nl;
    b->slot = i + 1;
    text->kids[i] = b;
  }
  size_t len;
  const char *sql = fz_rest(&r, &len);
  text->s = sql;
  text->slen = len;
  ath_compiled *c[ATH_BUILTIN_DIALECTS] = { 0 };
  int failed = 0;
  for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) {
    ath_error err;
    ath_error_clear(&err);
    if (mode & 0x80) ath_alloc_fail_after((mode >> 2) & 31);
    ath_status st = ath_compile(text, ath_builtin_dialects[d], &c[d], &err);
    ath_alloc_fail_after(-1);
    if (st != ATH_OK) {
      FUZZ_CHECK(st == ATH_E_NOMEM && (mode & 0x80), "%s: status %d: %s", ath_builtin_dialects[d]->name, (int)st, err.message);
      FUZZ_CHECK(c[d] == NULL, "a failed compile returned a statement");
      failed = 1;
    }
  }
  if (!failed)
    for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) check(sql, len, text, c[d], d);
  for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) ath_compiled_free(c[d]);
  ath_arena_free(arena);
  FUZZ_CHECK(ath_alloc_live() == live, "%ld blocks leaked", ath_alloc_live() - live);
  return 0;
}
