/* fuzz_url.c — the URL parser (csrc/base/ath_url.c).
 * Input: the URL text (bytes up to the first NUL, as the C API sees it).
 * Invariants:
 *  - parse returns ATH_OK with a URL, or ATH_E_ARGUMENT / ATH_E_NOMEM with a
 *    message and no URL; nothing leaks (ath_alloc_live is back where it was);
 *  - the masked rendering does not depend on the password: changing the
 *    password (and any ?password= value) leaves it byte for byte the same;
 *  - the rendering parses again to the same parts (dialect, driver, user,
 *    host, port, database, parameters), the password shown as "***";
 *  - (issue 22 item 10; ATHANOR_FUZZ_STRICT=0 leaves it out) a parse error's
 *    message does not contain the password written in the URL, "%00" in a
 *    SQLite path, a user name or a password is refused, and the round trip
 *    holds for URLs with "%00" elsewhere too.
 * One input byte in four also fails the Nth allocation to walk the
 * out-of-memory paths. */
#include "fuzz_common.h"
#include "base/ath_url.h"
#include <strings.h>

static int strict;
static int has_pct00;                 /* the URL text contains "%00" */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  const char *s = getenv("ATHANOR_FUZZ_STRICT");
  strict = !(s && *s == '0');         /* the fixes of issue 22 item 10 are in */
  return 0;
}

static int same(const char *a, const char *b) {
  if (a == NULL || b == NULL) return a == b;
  return strcmp(a, b) == 0;
}

/* The password as written in text ("scheme://user:PASSWORD@host..."), or
 * NULL; *len its length. Same splitting rules as the parser: the userinfo
 * ends at the last '@' before the first '/' or '?' after "://". */
static const char *written_password(const char *text, size_t *len) {
  const char *sep = strstr(text, "://");
  if (sep == NULL) return NULL;
  const char *a = sep + 3;
  size_t alen = strcspn(a, "/?");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++) if (a[i] == '@') at = a + i;
  if (at == NULL) return NULL;
  const char *colon = memchr(a, ':', (size_t)(at - a));
  if (colon == NULL) return NULL;
  *len = (size_t)(at - colon - 1);
  return colon + 1;
}

/* A parse error never depends on the password's letters: the URL parsed
 * again with each letter g-z / G-Z of its password changed (letters that are
 * never URL syntax nor hex digits, so the URL splits the same way) must give
 * the same message. A message that quoted the password would differ. (A
 * substring test gives false alarms: a password can be spelled by the
 * message's own words, "eb': inv" in "/eb': invalid character".) */
static void check_error_message(const char *text, const ath_error *err) {
  size_t n = 0;
  const char *pw = written_password(text, &n);
  if (pw == NULL || n == 0) return;
  char *other = fz_strndup(text, strlen(text));
  int changed = 0;
  for (size_t i = 0; i < n; i++) {
    char *c = other + (pw - text) + i;
    if ((*c >= 'g' && *c <= 'z') || (*c >= 'G' && *c <= 'Z')) { *c = *c == 'q' ? 'r' : 'q'; changed = 1; }
  }
  if (changed) {
    ath_url *u2 = NULL;
    ath_error err2;
    ath_error_clear(&err2);
    ath_status st2 = ath_url_parse(other, &u2, &err2);
    ath_url_free(u2);
    FUZZ_CHECK(st2 == err->kind && strcmp(err->message, err2.message) == 0,
               "the error message depends on the password: '%s' vs '%s'", err->message, err2.message);
  }
  free(other);
}

/* Issue 22 item 10: "%00" in a SQLite path or in a user name or password
 * would cut the decoded C string short: such a URL must be refused. 1 when
 * text has one there. */
static int pct00_must_be_refused(const char *text) {
  const char *sep = strstr(text, "://");
  if (sep == NULL) return 0;
  const char *a = sep + 3;
  size_t path_end = strcspn(a, "?");
  if (strncasecmp(text, "sqlite", (size_t)(sep - text)) == 0 && sep - text == 6) {
    for (size_t i = 0; i + 3 <= path_end; i++) if (!strncmp(a + i, "%00", 3)) return 1;
    return 0;
  }
  size_t alen = strcspn(a, "/?");
  const char *at = NULL;
  for (size_t i = 0; i < alen; i++) if (a[i] == '@') at = a + i;
  for (const char *p = a; at && p + 3 <= at; p++) if (!strncmp(p, "%00", 3)) return 1;
  return 0;
}

static void check_round_trip(const ath_url *u, const char *masked) {
  ath_url *v = NULL;
  ath_error err;
  ath_error_clear(&err);
  ath_status st = ath_url_parse(masked, &v, &err);
  FUZZ_CHECK(st == ATH_OK, "the masked rendering '%s' does not parse: %s", masked, err.message);
  FUZZ_CHECK(same(u->dialect, v->dialect), "dialect '%s' became '%s' (%s)", u->dialect, v->dialect, masked);
  FUZZ_CHECK(same(u->driver, v->driver), "driver changed (%s)", masked);
  FUZZ_CHECK(same(u->database, v->database), "database '%s' became '%s' (%s)", u->database ? u->database : "(null)",
             v->database ? v->database : "(null)", masked);
  FUZZ_CHECK(u->nparams == v->nparams, "%d parameters became %d (%s)", u->nparams, v->nparams, masked);
  for (int i = 0; i < u->nparams; i++) {
    FUZZ_CHECK(same(u->params[i].key, v->params[i].key), "parameter %d's name changed (%s)", i, masked);
    if (strcmp(u->params[i].key, "password") == 0)
      FUZZ_CHECK(same(v->params[i].value, "***"), "?password= is not masked (%s)", masked);
    else
      FUZZ_CHECK(same(u->params[i].value, v->params[i].value), "parameter %d's value changed (%s)", i, masked);
  }
  if (strcmp(u->dialect, "sqlite") != 0) {
    FUZZ_CHECK(same(u->username, v->username), "username changed (%s)", masked);
    FUZZ_CHECK(same(u->host, v->host), "host '%s' became '%s' (%s)", u->host ? u->host : "(null)",
               v->host ? v->host : "(null)", masked);
    FUZZ_CHECK(u->port == v->port, "port %d became %d (%s)", u->port, v->port, masked);
    if (u->username)
      FUZZ_CHECK(u->password ? same(v->password, "***") : v->password == NULL, "password not masked (%s)", masked);
  }
  ath_url_free(v);
}

static void check_parsed(ath_url *u) {
  char *masked = ath_url_render_masked(u);
  FUZZ_CHECK(masked != NULL, "render_masked failed");
  /* The same URL with another password renders identically. */
  char *saved_pw = u->password;
  char other_pw[] = "Zq9-not-the-password";
  if (u->password) u->password = other_pw;
  char *saved[64];
  int np = u->nparams < 64 ? u->nparams : 64;
  for (int i = 0; i < np; i++) {
    saved[i] = u->params[i].value;
    if (strcmp(u->params[i].key, "password") == 0) u->params[i].value = other_pw;
  }
  char *masked2 = ath_url_render_masked(u);
  u->password = saved_pw;
  for (int i = 0; i < np; i++) u->params[i].value = saved[i];
  FUZZ_CHECK(masked2 != NULL, "render_masked failed");
  FUZZ_CHECK(strcmp(masked, masked2) == 0, "the rendering depends on the password: '%s' vs '%s'", masked, masked2);
  /* A %00 decodes to a NUL that cuts the C string short: such a URL is to
   * be refused (issue 22 item 10), and is: strict mode (the default)
   * expects the round trip for every URL that parses. */
  if (strict || !has_pct00) check_round_trip(u, masked);
  ath_free(masked);
  ath_free(masked2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  /* First byte: 0-191 a plain run; 192-255 fail allocation (byte - 192). */
  uint8_t mode = data[0];
  char *text = fz_strndup((const char *)data + 1, size - 1);
  has_pct00 = strstr(text, "%00") != NULL;
  long live = ath_alloc_live();
  ath_url *u = NULL;
  ath_error err;
  ath_error_clear(&err);
  if (mode >= 192) ath_alloc_fail_after(mode - 192);
  ath_status st = ath_url_parse(text, &u, &err);
  ath_alloc_fail_after(-1);
  if (st == ATH_OK) {
    FUZZ_CHECK(u != NULL && u->dialect != NULL, "ATH_OK without a URL");
    if (strict) FUZZ_CHECK(!pct00_must_be_refused(text), "a %%00 in the path, user or password was accepted");
    if (mode < 192) check_parsed(u);
    ath_url_free(u);
  } else {
    FUZZ_CHECK(u == NULL, "a failed parse left a URL");
    FUZZ_CHECK(st == ATH_E_ARGUMENT || (st == ATH_E_NOMEM && mode >= 192), "unexpected status %d: %s", (int)st, err.message);
    FUZZ_CHECK(err.kind == st && err.message[0] != '\0', "status %d without its message", (int)st);
    if (strict && st == ATH_E_ARGUMENT) check_error_message(text, &err);
  }
  FUZZ_CHECK(ath_alloc_live() == live, "%ld blocks leaked", ath_alloc_live() - live);
  free(text);
  return 0;
}
