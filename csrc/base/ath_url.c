/* ath_url.c — database URL parsing (see ath_url.h). */
#include "ath_url.h"
#include "ath_buf.h"
#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decode s[0..n) into a new string (*out, ath_free). `what` names
 * the URL part for the error message, `url` is the masked text to quote.
 * '+' stays '+' (this is not a form). A decoded NUL is refused: every part
 * ends up in a C string, where it would silently cut the name short. */
static ath_status decode(const char *s, size_t n, const char *what, const char *url,
                         char **out, ath_error *err) {
  *out = NULL;
  int secret = strcmp(what, "password") == 0;   /* never quote its characters */
  char *d = ath_malloc(n + 1);
  if (d == NULL) return ath_error_nomem(err);
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
      int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        ath_free(d);
        if (secret)
          return ath_error_set(err, ATH_E_ARGUMENT,
                               "Could not parse URL '%.200s': bad percent-escape in the %s", url, what);
        /* quote only what lies inside this part: "user%" must not show the
         * ':' and first password byte that follow it in the URL */
        int shown = n - i < 3 ? (int)(n - i) : 3;
        return ath_error_set(err, ATH_E_ARGUMENT,
                             "Could not parse URL '%.200s': bad percent-escape '%.*s' in the %s",
                             url, shown, s + i, what);
      }
      d[j] = (char)(hi * 16 + lo);
      if (d[j] == '\0') {
        ath_free(d);
        return ath_error_set(err, ATH_E_ARGUMENT,
                             "Could not parse URL '%.200s': the %s contains a NUL byte (%%00)", url, what);
      }
      j++;
      i += 2;
    } else {
      d[j++] = s[i];
    }
  }
  d[j] = '\0';
  *out = d;
  return ATH_OK;
}

/* A copy of the URL text for error messages, with the password shown as
 * "***" (the userinfo's part after its first ':', and any "password" query
 * parameter). It errs towards masking too much: the userinfo ends at the
 * last '@' before the query, even past a '/', since a password may hold '/'
 * (and, when no '@' comes before the first '?', at the last '@' after it).
 * Caller frees; NULL on OOM. */
static char *mask_text(const char *text) {
  ath_buf b = ATH_BUF_INIT;
  const char *sep = strstr(text, "://");
  const char *start = sep ? sep + 3 : strchr(text, ':');
  if (start == NULL) start = text + strlen(text);
  else if (!sep) start++;
  const char *query = strchr(start, '?');
  const char *end = query ? query : start + strlen(start);
  const char *at = NULL;
  for (const char *p = start; p < end; p++) if (*p == '@') at = p;
  if (at == NULL && query) {                   /* a '?' in the password: "u:pa?ss@h" */
    at = strrchr(query, '@');
    if (at) { query = NULL; end = start + strlen(start); }
  }
  const char *colon = at ? memchr(start, ':', (size_t)(at - start)) : NULL;
  if (colon) {
    ath_buf_append(&b, text, (size_t)(colon + 1 - text));
    ath_buf_puts(&b, "***");
    ath_buf_append(&b, at, (size_t)(end - at));
  } else {
    ath_buf_append(&b, text, (size_t)(end - text));
  }
  /* query: "password=..." values masked, the rest as written */
  for (const char *p = query; p && *p; ) {
    const char *amp = strchr(p + 1, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len >= 10 && strncmp(p + 1, "password=", 9) == 0) {
      ath_buf_append(&b, p, 10);
      ath_buf_puts(&b, "***");
    } else {
      ath_buf_append(&b, p, len);
    }
    p = amp;
  }
  ath_buf_puts(&b, "");
  return ath_buf_detach(&b, NULL);
}

void ath_url_free(ath_url *u) {
  if (u == NULL) return;
  ath_free(u->dialect); ath_free(u->driver); ath_free(u->username); ath_free(u->password);
  ath_free(u->host); ath_free(u->database);
  for (int i = 0; i < u->nparams; i++) { ath_free(u->params[i].key); ath_free(u->params[i].value); }
  ath_free(u->params);
  ath_free(u);
}

static ath_status parse_query(ath_url *u, const char *q, const char *url, ath_error *err) {
  int n = 1;
  for (const char *p = q; *p; p++) if (*p == '&') n++;
  u->params = ath_calloc((size_t)n, sizeof *u->params);
  if (u->params == NULL) return ath_error_nomem(err);
  const char *p = q;
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      size_t klen = eq ? (size_t)(eq - p) : len;
      if (klen == 0)
        return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': query parameter without a name", url);
      ath_url_param *prm = &u->params[u->nparams];
      ath_status st = decode(p, klen, "query parameter name", url, &prm->key, err);
      if (st != ATH_OK) return st;
      const char *what = strcmp(prm->key, "password") == 0 ? "password" : "query parameter value";
      st = eq ? decode(eq + 1, len - klen - 1, what, url, &prm->value, err)
              : decode("", 0, what, url, &prm->value, err);
      u->nparams++;                        /* counted even half-filled: freed by ath_url_free */
      if (st != ATH_OK) return st;
    }
    p += len + (amp ? 1 : 0);
    if (!amp) break;
  }
  return ATH_OK;
}

/* `maybe_secret`: an '@' follows the authority, so what looks like a port
 * may be the start of a password holding '/'; then it is not quoted. */
static ath_status parse_port(ath_url *u, const char *s, size_t n, const char *url, int maybe_secret,
                             ath_error *err) {
  if (n == 0) return ATH_OK;                   /* "host:" — no port */
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9' || i > 5) {
      if (maybe_secret)
        return ath_error_set(err, ATH_E_ARGUMENT,
                             "Could not parse URL '%.200s': the port is not a number (if the password holds "
                             "a '/', percent-encode it as %%2F)", url);
      return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': port '%.*s' is not a number",
                           url, (int)(n > 20 ? 20 : n), s);
    }
    v = v * 10 + (s[i] - '0');
  }
  if ((v < 1 || v > 65535) && maybe_secret)
    return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': the port is out of range 1-65535", url);
  if (v < 1 || v > 65535)
    return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': port %ld is out of range 1-65535", url, v);
  u->port = (int)v;
  return ATH_OK;
}

/* authority = [user[:password]@]host[:port] with host possibly [v6] */
static ath_status parse_authority(ath_url *u, const char *a, size_t n, const char *url, int maybe_secret,
                                  ath_error *err) {
  ath_status st;
  const char *at = NULL;
  for (size_t i = 0; i < n; i++) if (a[i] == '@') at = a + i;      /* the last '@' */
  const char *hp = a;
  if (at) {
    size_t ulen = (size_t)(at - a);
    const char *colon = memchr(a, ':', ulen);
    st = decode(a, colon ? (size_t)(colon - a) : ulen, "username", url, &u->username, err);
    if (st != ATH_OK) return st;
    if (colon) {
      st = decode(colon + 1, ulen - (size_t)(colon - a) - 1, "password", url, &u->password, err);
      if (st != ATH_OK) return st;
    }
    if (u->username[0] == '\0') { ath_free(u->username); u->username = NULL; }
    hp = at + 1;
  }
  size_t hlen = n - (size_t)(hp - a);
  if (hlen == 0) return ATH_OK;
  const char *host = hp, *port = NULL;
  size_t host_len = hlen;
  if (hp[0] == '[') {
    const char *close = memchr(hp, ']', hlen);
    if (close == NULL)
      return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': unterminated '[' in the host", url);
    host = hp + 1;
    host_len = (size_t)(close - hp) - 1;
    const char *after = close + 1;
    size_t rest = hlen - (size_t)(after - hp);
    if (rest > 0) {
      if (after[0] != ':')
        return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': unexpected text after ']' in the host", url);
      port = after + 1;
    }
  } else {
    const char *colon = memchr(hp, ':', hlen);
    if (colon) { host_len = (size_t)(colon - hp); port = colon + 1; }
  }
  if (host_len > 0) {
    st = decode(host, host_len, "host", url, &u->host, err);
    if (st != ATH_OK) return st;
  }
  if (port) return parse_port(u, port, hlen - (size_t)(port - hp), url, maybe_secret && at == NULL, err);
  return ATH_OK;
}

/* Parses the URL; every error message quotes `shown`, the masked text. */
static ath_status parse(const char *text, const char *shown, ath_url **out, ath_error *err) {
  const char *sep = strstr(text, "://");
  if (sep == NULL)
    return ath_error_set(err, ATH_E_ARGUMENT,
                         "Could not parse URL '%.200s': expected dialect://[user[:password]@][host][:port][/database]", shown);
  if (sep == text)
    return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': the dialect name is empty", shown);
  for (const char *p = text; p < sep; p++) {
    char c = *p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '_'))
      return ath_error_set(err, ATH_E_ARGUMENT, "Could not parse URL '%.200s': invalid character '%c' in the dialect name", shown, c);
  }
  ath_url *u = ath_calloc(1, sizeof *u);
  if (u == NULL) return ath_error_nomem(err);
  ath_status st = ATH_OK;
  const char *plus = memchr(text, '+', (size_t)(sep - text));
  u->dialect = ath_strndup(text, (size_t)((plus ? plus : sep) - text));
  if (plus) u->driver = ath_strndup(plus + 1, (size_t)(sep - plus - 1));
  if (u->dialect == NULL || (plus && u->driver == NULL)) { st = ath_error_nomem(err); goto fail; }
  for (char *p = u->dialect; *p; p++) if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
  if (strcmp(u->dialect, "postgres") == 0) {
    ath_free(u->dialect);
    u->dialect = ath_strdup("postgresql");
    if (u->dialect == NULL) { st = ath_error_nomem(err); goto fail; }
  }
  const char *rest = sep + 3;
  const char *q = strchr(rest, '?');
  size_t rlen = q ? (size_t)(q - rest) : strlen(rest);
  if (q) { st = parse_query(u, q + 1, shown, err); if (st != ATH_OK) goto fail; }
  if (strcmp(u->dialect, "sqlite") == 0) {
    if (rlen > 0 && rest[0] != '/') {
      st = ath_error_set(err, ATH_E_ARGUMENT,
                         "Could not parse URL '%.200s': sqlite URLs take no host: use sqlite:///relative.db, "
                         "sqlite:////absolute.db or sqlite:// for memory", shown);
      goto fail;
    }
    if (rlen <= 1) u->database = ath_strdup(":memory:");
    else { st = decode(rest + 1, rlen - 1, "database path", shown, &u->database, err); if (st != ATH_OK) goto fail; }
    if (u->database == NULL) { st = ath_error_nomem(err); goto fail; }
    *out = u;
    return ATH_OK;
  }
  const char *slash = memchr(rest, '/', rlen);
  size_t alen = slash ? (size_t)(slash - rest) : rlen;
  int at_after = strchr(rest + alen, '@') != NULL;        /* even in the query: "u:pa?ss@h" */
  st = parse_authority(u, rest, alen, shown, at_after, err);
  if (st != ATH_OK) goto fail;
  if (slash && rlen - alen > 1) {
    st = decode(slash + 1, rlen - alen - 1, "database name", shown, &u->database, err);
    if (st != ATH_OK) goto fail;
  }
  *out = u;
  return ATH_OK;
fail:
  ath_url_free(u);
  return st;
}

ath_status ath_url_parse(const char *text, ath_url **out, ath_error *err) {
  *out = NULL;
  if (text == NULL) return ath_error_set(err, ATH_E_ARGUMENT, "URL must be a string");
  char *shown = mask_text(text);
  if (shown == NULL) return ath_error_nomem(err);
  ath_status st = parse(text, shown, out, err);
  ath_free(shown);
  return st;
}

const char *ath_url_param_get(const ath_url *u, const char *key) {
  const char *v = NULL;
  for (int i = 0; i < u->nparams; i++) if (strcmp(u->params[i].key, key) == 0) v = u->params[i].value;
  return v;
}

/* Append s percent-encoding everything outside the unreserved set (and '/'
 * and ':' when keep_slash is 1, ':' alone when it is 2: a bracketed host). */
static void put_enc(ath_buf *b, const char *s, int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash == 1 && c == '/') || (keep_slash && c == ':')) {
      ath_buf_putc(b, (char)c);
    } else {
      char e[3] = { '%', hex[c >> 4], hex[c & 15] };
      ath_buf_append(b, e, 3);
    }
  }
}

char *ath_url_render_masked(const ath_url *u) {
  ath_buf b = ATH_BUF_INIT;
  ath_buf_puts(&b, u->dialect);
  if (u->driver) { ath_buf_putc(&b, '+'); ath_buf_puts(&b, u->driver); }
  ath_buf_puts(&b, "://");
  if (strcmp(u->dialect, "sqlite") == 0) {
    if (u->database && strcmp(u->database, ":memory:") != 0) { ath_buf_putc(&b, '/'); put_enc(&b, u->database, 1); }
  } else {
    if (u->username) {
      put_enc(&b, u->username, 0);
      if (u->password) ath_buf_puts(&b, ":***");
      ath_buf_putc(&b, '@');
    }
    if (u->host) {
      if (strchr(u->host, ':')) { ath_buf_putc(&b, '['); put_enc(&b, u->host, 2); ath_buf_putc(&b, ']'); }
      else put_enc(&b, u->host, 0);
    }
    if (u->port) ath_buf_printf(&b, ":%d", u->port);
    if (u->database) { ath_buf_putc(&b, '/'); put_enc(&b, u->database, 0); }
  }
  for (int i = 0; i < u->nparams; i++) {
    ath_buf_putc(&b, i == 0 ? '?' : '&');
    put_enc(&b, u->params[i].key, 0);
    ath_buf_putc(&b, '=');
    if (strcmp(u->params[i].key, "password") == 0) ath_buf_puts(&b, "***");
    else put_enc(&b, u->params[i].value, 1);
  }
  if (b.data == NULL) ath_buf_puts(&b, "");
  return ath_buf_detach(&b, NULL);
}
