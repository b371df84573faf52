/* ath_render_text.c — text(): copies the SQL, turning each :name into the
 * dialect's placeholder. What the dialect's lexer reads as quoted or
 * commented (its text_* facts) is copied untouched, so a :x there stays text:
 *   always                   '...' strings, "..." identifiers, `::` casts, `\:` (a literal colon),
 *                            -- and block comments
 *   text_backslash_escapes   backslash escapes inside '...' and "..." (MySQL)
 *   text_escape_strings      E'...' strings with backslash escapes (PostgreSQL)
 *   text_dollar_quotes       $$...$$ and $tag$...$tag$ (PostgreSQL)
 *   text_backtick_quotes     `...` identifiers (SQLite, MySQL)
 *   text_bracket_quotes      [...] identifiers (SQLite)
 *   text_hash_comments       # comments (MySQL); text_dash_comment_space: -- needs a space after it
 *   text_nested_comments     block comments nest (PostgreSQL)
 *   text_executable_comments slash-star-bang bodies are SQL the database runs (MySQL) */
#include "ath_render.h"

static int is_name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
/* Identifier characters as PostgreSQL's lexer sees them (any byte >= 0x80 too). */
static int is_pg_ident_start(char c) { return is_name_start(c) || (unsigned char)c >= 0x80; }
static int is_pg_ident_char(char c) { return is_pg_ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }

/* The end (one past the closing quote) of a string starting at s[i] == q;
 * with backslashes escaping the next byte when `backslash`. Unterminated:
 * len. A doubled quote is a quote inside the string: skipping it here
 * keeps the string's mode (PostgreSQL's E'it''s \' :x' is one string,
 * backslash escapes throughout). */
static size_t quoted_end(const char *s, size_t len, size_t i, char q, int backslash) {
  for (size_t j = i + 1; j < len; j++) {
    if (backslash && s[j] == '\\') { j++; continue; }
    if (s[j] == q) {
      if (j + 1 < len && s[j + 1] == q) { j++; continue; }
      return j + 1;
    }
  }
  return len;
}

/* The length of the dollar-quote delimiter ($$ or $tag$) at s[i], or 0 when
 * this $ opens none ($1 is a parameter; a $ inside an identifier such as
 * a$b belongs to it). */
static size_t dollar_tag(const char *s, size_t len, size_t i) {
  if (i > 0 && is_pg_ident_char(s[i - 1])) return 0;
  size_t j = i + 1;
  if (j < len && is_pg_ident_start(s[j])) {
    while (j < len && is_pg_ident_char(s[j]) && s[j] != '$') j++;
  }
  return j < len && s[j] == '$' ? j - i + 1 : 0;
}

/* The end of the dollar-quoted string opened by the tag at s[i]. */
static size_t dollar_end(const char *s, size_t len, size_t i, size_t taglen) {
  for (size_t j = i + taglen; j + taglen <= len; j++)
    if (s[j] == '$' && !memcmp(s + j, s + i, taglen)) return j + taglen;
  return len;
}

/* The index just past the comment at s[i] ("--" or "#" to the end of the
 * line, or a block comment, nested when `nested`), or len when unclosed. */
static size_t comment_end(const char *s, size_t len, size_t i, int nested) {
  if (s[i] != '/') {
    const char *nl = memchr(s + i, '\n', len - i);
    return nl ? (size_t)(nl - s) + 1 : len;
  }
  int depth = 1;
  size_t j = i + 2;
  while (j + 1 < len) {
    if (nested && s[j] == '/' && s[j + 1] == '*') { depth++; j += 2; }
    else if (s[j] == '*' && s[j + 1] == '/') { j += 2; if (--depth == 0) return j; }
    else j++;
  }
  return len;
}

/* Does a comment start at s[i] for dialect d? */
static int comment_start(const char *s, size_t len, size_t i, const ath_dialect *d) {
  char c = s[i], next = i + 1 < len ? s[i + 1] : 0;
  if (c == '-' && next == '-')
    return !d->text_dash_comment_space || i + 2 >= len || (unsigned char)s[i + 2] <= ' ';
  if (c == '#') return d->text_hash_comments;
  if (c == '/' && next == '*') return !(d->text_executable_comments && i + 2 < len && s[i + 2] == '!');
  return 0;
}

/* The index past the quoted text or comment of d starting at s[i]; i when
 * none starts there. */
static size_t skip_quoted(const char *s, size_t len, size_t i, const ath_dialect *d) {
  char c = s[i];
  size_t tag;
  if (c == '\'' || c == '"') {
    /* E'...' (e'...'): the E stands alone, not ending a name */
    int escape_string = d->text_escape_strings && c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                        (i == 1 || !is_pg_ident_char(s[i - 2]));
    return quoted_end(s, len, i, c, d->text_backslash_escapes || escape_string);
  }
  if (c == '`' && d->text_backtick_quotes) return quoted_end(s, len, i, c, 0);
  if (c == '[' && d->text_bracket_quotes) {
    const char *close = memchr(s + i + 1, ']', len - i - 1);
    return close ? (size_t)(close - s) + 1 : len;
  }
  if (c == '$' && d->text_dollar_quotes && (tag = dollar_tag(s, len, i)) > 0) return dollar_end(s, len, i, tag);
  if ((c == '-' || c == '#' || c == '/') && comment_start(s, len, i, d))
    return comment_end(s, len, i, d->text_nested_comments);
  return i;
}

/* The placeholder for :name: a bound value of the fragment (its BIND kid),
 * else an execution parameter by name. */
static void text_param(ath_render *r, const ath_node *n, const char *name, size_t namelen) {
  for (int k = 0; k < n->nkids; k++) {
    const ath_node *b = n->kids[k];
    if (b && b->s && b->slen == namelen && !memcmp(b->s, name, namelen) && !(b->flags & ATH_F_NAMED)) {
      ath_r_add_bind(r, b->slot, NULL, 0, 0);
      return;
    }
  }
  ath_r_add_bind(r, 0, name, namelen, 0);
}

void ath_r_text(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)sc;
  const char *s = n->s;
  size_t len = n->slen, i = 0, last = 0;
  while (i < len) {
    char c = s[i];
    size_t past = skip_quoted(s, len, i, r->d);
    if (past != i) {
      i = past;
    } else if (c == '\\' && i + 1 < len && s[i + 1] == ':') {
      ath_buf_append(&r->sql, s + last, i - last);
      last = i + 1;
      i += 2;
    } else if (c == ':' && i + 1 < len && s[i + 1] == ':') {
      i += 2;
    } else if (c == ':' && i + 1 < len && is_name_start(s[i + 1]) && (i == 0 || s[i - 1] != ':')) {
      size_t j = i + 1;
      while (j < len && is_name_char(s[j])) j++;
      ath_buf_append(&r->sql, s + last, i - last);
      text_param(r, n, s + i + 1, j - i - 1);
      last = j;
      i = j;
    } else {
      i++;
    }
  }
  ath_buf_append(&r->sql, s + last, len - last);
}
