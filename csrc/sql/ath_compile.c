/* ath_compile.c — render a statement tree (ath_sql.h) as SQL for a dialect.
 * Values never enter the text: every BIND becomes a placeholder ("?" or
 * "$n") recorded in the bind list in placeholder order. What a dialect lacks
 * is a CompileError naming the construct and the dialect; what it spells
 * differently (ILIKE, ||, booleans, OFFSET without LIMIT, ON CONFLICT) is
 * rendered its way here, so the Lua builders never branch on the dialect. */
#include "ath_sql.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* FROM elements visible to a SELECT being rendered, for correlation. */
typedef struct scope {
  const ath_node **items;
  int n;
  const struct scope *outer;
} scope;

/* Rendering modes of a column reference. */
enum { COL_QUALIFIED = 0, COL_BARE = 1 };

typedef struct render {
  ath_dialect_id d;
  ath_buf sql;
  ath_bindref *binds;
  int nbinds, capbinds;
  ath_error *err;
  ath_status st;
  int colmode;                  /* COL_QUALIFIED / COL_BARE */
  int in_order;                 /* rendering a compound's ORDER BY: every label by name */
  const ath_node *label_ref;    /* the ORDER BY / GROUP BY label being rendered by name, or NULL */
  int depth;
  const ath_node **ctes;        /* CTEs hoisted to the top-level WITH */
  int nctes, capctes;
} render;

#define MAX_DEPTH 200

/* Record the first failure of this rendering (later ones are consequences). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static ath_status fail(render *r, ath_status kind, const char *fmt, ...) {
  if (r->st == ATH_OK) {
    va_list ap;
    va_start(ap, fmt);
    r->st = ath_error_setv(r->err, kind, fmt, ap);
    va_end(ap);
  }
  return r->st;
}

static ath_status unsupported(render *r, const char *construct) {
  return fail(r, ATH_E_COMPILE, "%s is not supported by the %s dialect", construct, ath_dialect_name(r->d));
}

#define PUTS(s) ath_buf_puts(&r->sql, (s))
#define PUTC(c) ath_buf_putc(&r->sql, (c))

static void ident(render *r, const char *s, size_t len) { ath_quote_ident(&r->sql, r->d, s, len); }
static void ident_z(render *r, const char *s) { ident(r, s, strlen(s)); }

/* ------------------------------------------------------------------ binds */

static void add_bind(render *r, int slot, const char *name, size_t namelen) {
  if (r->nbinds == r->capbinds) {
    int cap = r->capbinds ? r->capbinds * 2 : 16;
    ath_bindref *nb = ath_realloc(r->binds, (size_t)cap * sizeof *nb);
    if (!nb) { r->st = ath_error_nomem(r->err); return; }
    r->binds = nb;
    r->capbinds = cap;
  }
  ath_bindref *b = &r->binds[r->nbinds];
  b->slot = slot;
  b->name = NULL;
  if (name) {
    b->name = ath_strndup(name, namelen);
    if (!b->name) { r->st = ath_error_nomem(r->err); return; }
  }
  r->nbinds++;
  if (r->d == ATH_D_POSTGRESQL) ath_buf_printf(&r->sql, "$%d", r->nbinds);
  else PUTC('?');
}

/* -------------------------------------------------------------- precedence */

/* P_CONCAT: SQLite's || binds tighter than * and /; PostgreSQL's is an
 * "other" operator, looser than + and - (MySQL renders concat()). */
enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_OTHER, P_ADD, P_MUL, P_CONCAT, P_UNARY, P_COLLATE, P_ATOM };

static int binary_prec(const char *op, ath_dialect_id d) {
  if (!strcmp(op, "+") || !strcmp(op, "-")) return P_ADD;
  if (!strcmp(op, "*") || !strcmp(op, "/") || !strcmp(op, "%")) return P_MUL;
  if (!strcmp(op, "||")) return d == ATH_D_SQLITE ? P_CONCAT : d == ATH_D_MYSQL ? P_ATOM : P_OTHER;
  if (!strcmp(op, "=") || !strcmp(op, "!=") || !strcmp(op, "<>") || !strcmp(op, "<") ||
      !strcmp(op, "<=") || !strcmp(op, ">") || !strcmp(op, ">=") || !strcmp(op, "LIKE") ||
      !strcmp(op, "NOT LIKE") || !strcmp(op, "ILIKE") || !strcmp(op, "NOT ILIKE") ||
      !strcmp(op, "IS") || !strcmp(op, "IS NOT") || !strcmp(op, "IS DISTINCT FROM") ||
      !strcmp(op, "IS NOT DISTINCT FROM"))
    return P_CMP;
  return P_OTHER;                                   /* custom operators: @>, ->, ... */
}

static int prec(const ath_node *n, ath_dialect_id d) {
  if (!n) return P_ATOM;
  switch (n->kind) {
    case ATH_N_OR: return n->nkids > 1 ? P_OR : n->nkids == 1 ? prec(n->kids[0], d) : P_ATOM;
    case ATH_N_AND: return n->nkids > 1 ? P_AND : n->nkids == 1 ? prec(n->kids[0], d) : P_ATOM;
    case ATH_N_UNARY:
      if (!strcmp(n->s, "NOT")) return P_NOT;
      if (!strcmp(n->s, "-")) return P_UNARY;
      return P_ATOM;                                /* EXISTS (...), DISTINCT x */
    case ATH_N_BINARY: return binary_prec(n->s, d);
    case ATH_N_POSTFIX:
      return (!strncmp(n->s, "IS", 2)) ? P_CMP : P_ATOM;
    case ATH_N_IN: case ATH_N_BETWEEN: return P_CMP;
    case ATH_N_COLLATE: return P_COLLATE;
    case ATH_N_LABEL: return P_ATOM;
    default: return P_ATOM;
  }
}

static void expr(render *r, const ath_node *n, const scope *sc);
static void select_stmt(render *r, const ath_node *n, const scope *outer, int correlate);
static void from_element(render *r, const ath_node *n, const scope *sc);

/* Render child with parentheses when it binds looser than `parent_prec`
 * (or equally loose on the right of a non-associative operator). */
static void operand(render *r, const ath_node *n, const scope *sc, int parent_prec, int right) {
  int p = prec(n, r->d);
  int wrap = right ? p <= parent_prec : p < parent_prec;
  if (p == P_ATOM) wrap = 0;
  if (wrap) PUTC('(');
  expr(r, n, sc);
  if (wrap) PUTC(')');
}

static void list(render *r, const ath_node *n, const scope *sc) {
  if (!n) return;
  for (int i = 0; i < n->nkids; i++) {
    if (i) PUTS(", ");
    expr(r, n->kids[i], sc);
  }
}

/* A columns clause (SELECT list, RETURNING): a label item is `x AS name`. */
static void column_list(render *r, const ath_node *n, const scope *sc) {
  if (!n) return;
  for (int i = 0; i < n->nkids && r->st == ATH_OK; i++) {
    const ath_node *c = n->kids[i];
    if (i) PUTS(", ");
    if (c && c->kind == ATH_N_LABEL && c->nkids == 1) {
      expr(r, c->kids[0], sc);
      PUTS(" AS ");
      ident(r, c->s, c->slen);
    } else {
      expr(r, c, sc);
    }
  }
}

static int same_text(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

/* Do two subtrees render the same SQL? (bound values aside, as the
 * statement cache keys them: a label's lineage in SQLAlchemy's sense) */
static int same_shape(const ath_node *a, const ath_node *b) {
  if (a == b) return 1;
  if (!a || !b || a->kind != b->kind || a->flags != b->flags || a->nkids != b->nkids || a->from != b->from ||
      a->slen != b->slen || (a->s == NULL) != (b->s == NULL) || (a->s && memcmp(a->s, b->s, a->slen)) ||
      !same_text(a->s2, b->s2) || !same_text(a->s3, b->s3))
    return 0;
  for (int i = 0; i < a->nkids; i++)
    if (!same_shape(a->kids[i], b->kids[i])) return 0;
  return 1;
}

/* ORDER BY / GROUP BY terms. A term that is a label (under ASC, DESC, NULLS
 * ... in ORDER BY) of the columns clause `cols` renders as its name, as
 * SQLAlchemy does; one the columns clause lacks renders its expression. */
static void order_terms(render *r, const ath_node *terms, const ath_node *cols, int modifiers, const scope *sc) {
  const ath_node *saved = r->label_ref;
  for (int i = 0; i < terms->nkids && r->st == ATH_OK; i++) {
    const ath_node *t = terms->kids[i];
    while (modifiers && t && t->kind == ATH_N_POSTFIX && t->nkids == 1 && strncmp(t->s, "IS", 2)) t = t->kids[0];
    r->label_ref = NULL;
    if (t && t->kind == ATH_N_LABEL && t->nkids == 1) {
      for (int j = 0; cols && j < cols->nkids; j++) {
        const ath_node *c = cols->kids[j];
        if (c && c->kind == ATH_N_LABEL && c->nkids == 1 && c->slen == t->slen && !memcmp(c->s, t->s, t->slen) &&
            same_shape(c->kids[0], t->kids[0])) {
          r->label_ref = t;
          break;
        }
      }
    }
    if (i) PUTS(", ");
    expr(r, terms->kids[i], sc);
  }
  r->label_ref = saved;
}

/* The name a FROM element is referred to by in column qualifiers. */
static const char *from_name(const ath_node *f) {
  if (f->kind == ATH_N_TABLE || f->kind == ATH_N_CTE) return f->s2 ? f->s2 : f->s;
  return f->s;
}

static void column(render *r, const ath_node *n) {
  const ath_node *f = n->from;
  if (f && f->kind == ATH_N_TABLE && (f->flags & ATH_F_PSEUDO)) {
    if (r->d == ATH_D_MYSQL) {                      /* excluded.x → VALUES(x) */
      PUTS("VALUES(");
      ident(r, n->s, n->slen);
      PUTC(')');
      return;
    }
    PUTS("excluded.");
    ident(r, n->s, n->slen);
    return;
  }
  if (f && r->colmode == COL_QUALIFIED) {
    ident_z(r, from_name(f));
    PUTC('.');
  }
  ident(r, n->s, n->slen);
}

/* :name placeholders of a text fragment. What is quoted by the dialect's
 * own rules is left alone, so a `:x` inside it stays text:
 *   every dialect   '...' strings, "..." identifiers, `::` casts, `\:` (a literal colon)
 *   PostgreSQL      E'...' strings with backslash escapes; $$...$$ and $tag$...$tag$
 *   SQLite          `...` and [...] identifiers (a backslash is an ordinary character)
 *   MySQL           backslash escapes inside '...' and "..."; `...` identifiers
 * (a $ is no quote on SQLite or MySQL, nor is E'' special there). */
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

/* PostgreSQL: the length of the dollar-quote delimiter ($$ or $tag$) at
 * s[i], or 0 when this $ opens none ($1 is a parameter; a $ inside an
 * identifier such as a$b belongs to it). */
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
 * line, or a block comment, nested on PostgreSQL), or len when unclosed. */
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

/* Does a comment start at s[i]? "--" everywhere (MySQL wants a space or a
 * control character after it), "#" on MySQL, and block comments except
 * MySQL's executable ones (slash, star, bang), whose text MySQL runs. */
static int comment_start(const char *s, size_t len, size_t i, int mysql) {
  char c = s[i], next = i + 1 < len ? s[i + 1] : 0;
  if (c == '-' && next == '-')
    return !mysql || i + 2 >= len || (unsigned char)s[i + 2] <= ' ';
  if (c == '#') return mysql;
  if (c == '/' && next == '*') return !(mysql && i + 2 < len && s[i + 2] == '!');
  return 0;
}

/* text(): copies the SQL, turning each :name into the dialect's placeholder.
 * Quoted strings and identifiers, comments and (PostgreSQL) dollar-quoted
 * bodies are copied untouched, by each dialect's own lexical rules: a :name
 * there is text, not a parameter. */
static void text_fragment(render *r, const ath_node *n) {
  const char *s = n->s;
  size_t len = n->slen, i = 0, last = 0;
  int pg = r->d == ATH_D_POSTGRESQL, mysql = r->d == ATH_D_MYSQL, sqlite = r->d == ATH_D_SQLITE;
  size_t tag;
  while (i < len) {
    char c = s[i];
    if (c == '\'' || c == '"') {
      /* PostgreSQL's E'...' (e'...'): the E stands alone, not ending a name */
      int escape_string = pg && c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
                          (i == 1 || !is_pg_ident_char(s[i - 2]));
      i = quoted_end(s, len, i, c, mysql || escape_string);
    } else if (c == '`' && (mysql || sqlite)) {
      i = quoted_end(s, len, i, c, 0);
    } else if (c == '[' && sqlite) {
      const char *close = memchr(s + i + 1, ']', len - i - 1);
      i = close ? (size_t)(close - s) + 1 : len;
    } else if (c == '$' && pg && (tag = dollar_tag(s, len, i)) > 0) {
      i = dollar_end(s, len, i, tag);
    } else if ((c == '-' || c == '#' || c == '/') && comment_start(s, len, i, mysql)) {
      i = comment_end(s, len, i, pg);
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
      const char *name = s + i + 1;
      size_t namelen = j - i - 1;
      int slot = 0;
      for (int k = 0; k < n->nkids; k++) {
        const ath_node *b = n->kids[k];
        if (b && b->s && b->slen == namelen && !memcmp(b->s, name, namelen) && !(b->flags & ATH_F_NAMED)) {
          slot = b->slot;
          break;
        }
      }
      if (slot) add_bind(r, slot, NULL, 0);
      else add_bind(r, 0, name, namelen);
      last = j;
      i = j;
    } else {
      i++;
    }
  }
  ath_buf_append(&r->sql, s + last, len - last);
}

static int valid_function_name(const char *s) {
  if (!s || !is_name_start(s[0])) return 0;
  for (const char *p = s; *p; p++)
    if (!is_name_char(*p) && *p != '.') return 0;
  return 1;
}

static void binary(render *r, const ath_node *n, const scope *sc) {
  const char *op = n->s;
  int p = binary_prec(op, r->d);
  int ilike = !strcmp(op, "ILIKE"), notilike = !strcmp(op, "NOT ILIKE");
  if ((ilike || notilike) && r->d != ATH_D_POSTGRESQL) {
    /* pattern ESCAPE 'c': lower() takes the pattern, the ESCAPE stays outside */
    const ath_node *pattern = n->kids[1], *escape = NULL;
    if (pattern && pattern->kind == ATH_N_BINARY && !strcmp(pattern->s, "ESCAPE")) {
      escape = pattern->kids[1];
      pattern = pattern->kids[0];
    }
    PUTS("lower(");
    expr(r, n->kids[0], sc);
    PUTS(ilike ? ") LIKE lower(" : ") NOT LIKE lower(");
    expr(r, pattern, sc);
    PUTC(')');
    if (escape) { PUTS(" ESCAPE "); expr(r, escape, sc); }
    return;
  }
  if (!strcmp(op, "||") && r->d == ATH_D_MYSQL) {
    PUTS("concat(");
    expr(r, n->kids[0], sc);
    PUTS(", ");
    expr(r, n->kids[1], sc);
    PUTC(')');
    return;
  }
  operand(r, n->kids[0], sc, p, 0);
  PUTC(' ');
  PUTS(op);
  PUTC(' ');
  operand(r, n->kids[1], sc, p, 1);
}

static void in_clause(render *r, const ath_node *n, const scope *sc) {
  int neg = n->flags & ATH_F_NEGATE;
  if (n->nkids == 1) {                              /* empty list: a constant predicate */
    PUTS(neg ? "1 = 1" : "1 != 1");
    return;
  }
  operand(r, n->kids[0], sc, P_CMP, 0);
  PUTS(neg ? " NOT IN (" : " IN (");
  const ath_node *first = n->kids[1];
  if (n->nkids == 2 && first && (first->kind == ATH_N_SELECT || first->kind == ATH_N_COMPOUND)) {
    if (first->kind == ATH_N_SELECT) select_stmt(r, first, sc, 1);
    else expr(r, first, sc);
  } else {
    /* SQLite compares row values only with a subquery: (a, b) IN (VALUES (?, ?), ...) */
    const ath_node *lhs = n->kids[0];
    if (r->d == ATH_D_SQLITE && lhs && lhs->kind == ATH_N_LIST && first && first->kind == ATH_N_LIST)
      PUTS("VALUES ");
    for (int i = 1; i < n->nkids; i++) {
      if (i > 1) PUTS(", ");
      expr(r, n->kids[i], sc);
    }
  }
  PUTC(')');
}

/* ------------------------------------------------ window functions, FILTER */

/* A window frame is text the Lua builder spells from integers
 * ("ROWS BETWEEN 2 PRECEDING AND CURRENT ROW"): only upper-case words,
 * digits and spaces may reach the SQL. */
static int valid_frame(const char *s) {
  if (!s || !*s) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == ' ')) return 0;
  return 1;
}

/* f OVER (PARTITION BY ... ORDER BY ... frame) */
static void over_clause(render *r, const ath_node *n, const scope *sc) {
  const ath_node *partition = n->kids[1], *order = n->kids[2];
  if (n->s && !valid_frame(n->s)) { fail(r, ATH_E_COMPILE, "malformed window frame '%s'", n->s); return; }
  expr(r, n->kids[0], sc);
  PUTS(" OVER (");
  const char *sep = "";
  if (partition && partition->nkids) { PUTS("PARTITION BY "); list(r, partition, sc); sep = " "; }
  if (order && order->nkids) { PUTS(sep); PUTS("ORDER BY "); list(r, order, sc); sep = " "; }
  if (n->s) { PUTS(sep); PUTS(n->s); }
  PUTC(')');
}

/* agg(...) FILTER (WHERE cond). MySQL has no FILTER: every argument x of
 * the aggregate becomes CASE WHEN cond THEN x END (count(*): THEN 1), which
 * aggregates ignore as NULL where cond does not hold. */
static void filter_clause(render *r, const ath_node *n, const scope *sc) {
  const ath_node *f = n->kids[0], *cond = n->kids[1];
  if (r->d != ATH_D_MYSQL) {
    expr(r, f, sc);
    PUTS(" FILTER (WHERE ");
    expr(r, cond, sc);
    PUTC(')');
    return;
  }
  if (!valid_function_name(f->s) || (f->flags & ATH_F_NOPARENS) || f->nkids == 0) {
    fail(r, ATH_E_COMPILE, "FILTER needs an aggregate function with arguments on the mysql dialect");
    return;
  }
  PUTS(f->s);
  PUTC('(');
  for (int i = 0; i < f->nkids; i++) {
    const ath_node *arg = f->kids[i];
    if (i) PUTS(", ");
    if (arg && arg->kind == ATH_N_UNARY && !strcmp(arg->s, "DISTINCT")) {   /* count(DISTINCT CASE ...) */
      PUTS("DISTINCT ");
      arg = arg->kids[0];
    }
    PUTS("CASE WHEN ");
    expr(r, cond, sc);
    PUTS(" THEN ");
    if (arg && arg->kind == ATH_N_STAR && !arg->from) PUTC('1');
    else expr(r, arg, sc);
    PUTS(" END");
  }
  PUTC(')');
}

/* EXTRACT(field FROM x); SQLite has none and reads the field with strftime,
 * as SQLAlchemy's SQLite dialect renders it. */
static void extract_expr(render *r, const ath_node *n, const scope *sc) {
  static const struct { const char *field, *strftime; } FIELDS[] = {
    { "year", "%Y" }, { "month", "%m" }, { "day", "%d" }, { "hour", "%H" }, { "minute", "%M" },
    { "second", "%S" }, { "doy", "%j" }, { "dow", "%w" }, { "week", "%W" }, { "epoch", "%s" },
    { "quarter", NULL }, { "microsecond", NULL }, { "millisecond", NULL },
  };
  const char *fmt = NULL;
  int known = 0;
  for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
    if (!strcmp(n->s, FIELDS[i].field)) { known = 1; fmt = FIELDS[i].strftime; break; }
  if (!known) { fail(r, ATH_E_COMPILE, "extract(): unknown field '%s'", n->s); return; }
  if (r->d == ATH_D_SQLITE) {
    if (!fmt) {
      fail(r, ATH_E_COMPILE, "extract('%s') is not supported by the sqlite dialect", n->s);
      return;
    }
    PUTS("CAST(STRFTIME('");
    PUTS(fmt);
    PUTS("', ");
    expr(r, n->kids[0], sc);
    PUTS(") AS INTEGER)");
    return;
  }
  PUTS("EXTRACT(");
  PUTS(n->s);
  PUTS(" FROM ");
  expr(r, n->kids[0], sc);
  PUTC(')');
}

static void expr(render *r, const ath_node *n, const scope *sc) {
  if (r->st != ATH_OK) return;
  if (!n) { fail(r, ATH_E_COMPILE, "missing expression"); return; }
  if (++r->depth > MAX_DEPTH) {
    fail(r, ATH_E_COMPILE, "expression nested too deeply (over %d levels)", MAX_DEPTH);
    return;
  }
  switch (n->kind) {
    case ATH_N_COLUMN: column(r, n); break;
    case ATH_N_BIND:
      if (n->flags & ATH_F_NAMED) add_bind(r, 0, n->s, n->slen);
      else add_bind(r, n->slot, NULL, 0);
      /* a typed literal whose value travels as text (a decimal, a date,
       * JSON, a UUID) keeps its type where nothing else gives it one, as
       * SQLAlchemy's render_bind_cast does: $1::JSON */
      if (n->s2 && r->d == ATH_D_POSTGRESQL) { PUTS("::"); PUTS(n->s2); }
      break;
    case ATH_N_NULL: PUTS("NULL"); break;
    case ATH_N_TRUE: PUTS(r->d == ATH_D_SQLITE ? "1" : "true"); break;
    case ATH_N_FALSE: PUTS(r->d == ATH_D_SQLITE ? "0" : "false"); break;
    case ATH_N_STAR:
      if (n->from) { ident_z(r, from_name(n->from)); PUTC('.'); }
      PUTC('*');
      break;
    case ATH_N_BINARY: binary(r, n, sc); break;
    case ATH_N_UNARY:
      if (!strcmp(n->s, "EXISTS")) {
        PUTS("EXISTS (");
        if (n->kids[0] && n->kids[0]->kind == ATH_N_SELECT) select_stmt(r, n->kids[0], sc, 1);
        else expr(r, n->kids[0], sc);
        PUTC(')');
      } else if (!strcmp(n->s, "ANY") || !strcmp(n->s, "ALL")) {
        if (r->d == ATH_D_SQLITE) { unsupported(r, n->s); break; }
        const ath_node *q = n->kids[0];
        if (q && q->kind == ATH_N_SCALAR) q = q->kids[0];   /* any_(sel:scalar_subquery()): one pair of parentheses */
        PUTS(n->s);
        PUTS(" (");
        if (q && q->kind == ATH_N_SELECT) select_stmt(r, q, sc, 1);
        else expr(r, q, sc);
        PUTC(')');
      } else if (!strcmp(n->s, "NOT")) {
        PUTS("NOT ");
        int p = prec(n->kids[0], r->d);
        if (p != P_ATOM) PUTC('(');
        expr(r, n->kids[0], sc);
        if (p != P_ATOM) PUTC(')');
      } else {
        PUTS(n->s);
        if (!strcmp(n->s, "DISTINCT")) PUTC(' ');
        operand(r, n->kids[0], sc, P_UNARY, 1);
      }
      break;
    case ATH_N_POSTFIX: {
      if (!strncmp(n->s, "NULLS", 5) && r->d == ATH_D_MYSQL) { unsupported(r, n->s); break; }
      /* ASC/DESC/NULLS apply to a whole ORDER BY term: no parentheses needed */
      operand(r, n->kids[0], sc, prec(n, r->d) == P_ATOM ? 0 : prec(n, r->d), 0);
      PUTC(' ');
      PUTS(n->s);
      break;
    }
    case ATH_N_AND: case ATH_N_OR: {
      int p = n->kind == ATH_N_AND ? P_AND : P_OR;
      if (n->nkids == 0) { PUTS(n->kind == ATH_N_AND ? "1 = 1" : "1 != 1"); break; }
      for (int i = 0; i < n->nkids; i++) {
        if (i) PUTS(n->kind == ATH_N_AND ? " AND " : " OR ");
        operand(r, n->kids[i], sc, p, 0);
      }
      break;
    }
    case ATH_N_IN: in_clause(r, n, sc); break;
    case ATH_N_BETWEEN:
      operand(r, n->kids[0], sc, P_CMP, 0);
      PUTS(n->flags & ATH_F_NEGATE ? " NOT BETWEEN " : " BETWEEN ");
      operand(r, n->kids[1], sc, P_CMP, 1);
      PUTS(" AND ");
      operand(r, n->kids[2], sc, P_CMP, 1);
      break;
    case ATH_N_FUNC:
      if (!valid_function_name(n->s)) {
        fail(r, ATH_E_COMPILE, "'%s' is not a valid SQL function name", n->s ? n->s : "");
        break;
      }
      PUTS(n->s);
      if (!(n->flags & ATH_F_NOPARENS)) {
        PUTC('(');
        for (int i = 0; i < n->nkids; i++) {
          if (i) PUTS(", ");
          expr(r, n->kids[i], sc);
        }
        PUTC(')');
      }
      break;
    case ATH_N_LABEL:
      /* as SQLAlchemy: `x AS name` only as an item of a columns clause
       * (column_list), the name where ORDER BY / GROUP BY refer to a label
       * of the columns clause, the expression everywhere else (WHERE,
       * HAVING, inside a function) */
      if (r->in_order || n == r->label_ref) { ident(r, n->s, n->slen); break; }
      expr(r, n->kids[0], sc);
      break;
    case ATH_N_CAST:                                 /* the type is spelled by the dialect (ath_cast.c) */
      if (!ath_cast_has_target(n, r->d)) {           /* MySQL FLOAT/BOOLEAN/ENUM: uncast, as SQLAlchemy */
        int p = prec(n->kids[0], r->d);
        if (p != P_ATOM) PUTC('(');
        expr(r, n->kids[0], sc);
        if (p != P_ATOM) PUTC(')');
        break;
      }
      PUTS("CAST(");
      expr(r, n->kids[0], sc);
      PUTS(" AS ");
      if (r->st == ATH_OK) r->st = ath_cast_spell(&r->sql, n, r->d, r->err);
      PUTC(')');
      break;
    case ATH_N_COLLATE:
      operand(r, n->kids[0], sc, P_COLLATE, 0);
      PUTS(" COLLATE ");
      ident(r, n->s, n->slen);
      break;
    case ATH_N_CASE: {
      int pairs = (n->flags & ATH_F_ELSE) ? n->nkids - 1 : n->nkids;
      PUTS("CASE");
      for (int i = 0; i + 1 < pairs; i += 2) {
        PUTS(" WHEN ");
        expr(r, n->kids[i], sc);
        PUTS(" THEN ");
        expr(r, n->kids[i + 1], sc);
      }
      if (n->flags & ATH_F_ELSE) {
        PUTS(" ELSE ");
        expr(r, n->kids[n->nkids - 1], sc);
      }
      PUTS(" END");
      break;
    }
    case ATH_N_TEXT: text_fragment(r, n); break;
    case ATH_N_SCALAR: case ATH_N_GROUPING:
      PUTC('(');
      if (n->kids[0] && n->kids[0]->kind == ATH_N_SELECT) select_stmt(r, n->kids[0], sc, 1);
      else expr(r, n->kids[0], sc);
      PUTC(')');
      break;
    case ATH_N_LIST:
      PUTC('(');
      list(r, n, sc);
      PUTC(')');
      break;
    case ATH_N_SELECT:                               /* a subquery where an expression goes */
      PUTC('(');
      select_stmt(r, n, sc, 1);
      PUTC(')');
      break;
    case ATH_N_COMPOUND: {
      const ath_node *sels = n->kids[0];
      for (int i = 0; sels && i < sels->nkids; i++) {
        if (i) { PUTC(' '); PUTS(n->s); PUTC(' '); }
        select_stmt(r, sels->kids[i], sc, 0);
      }
      if (n->nkids > 1 && n->kids[1] && n->kids[1]->nkids) {
        int saved = r->colmode, saved_order = r->in_order;
        r->colmode = COL_BARE;                      /* compound ORDER BY names result columns */
        r->in_order = 1;
        PUTS(" ORDER BY ");
        list(r, n->kids[1], sc);
        r->colmode = saved;
        r->in_order = saved_order;
      }
      if (n->nkids > 2 && n->kids[2]) { PUTS(" LIMIT "); expr(r, n->kids[2], sc); }
      else if (n->nkids > 3 && n->kids[3]) {
        if (r->d == ATH_D_SQLITE) PUTS(" LIMIT -1");
        else if (r->d == ATH_D_MYSQL) PUTS(" LIMIT 18446744073709551615");
      }
      if (n->nkids > 3 && n->kids[3]) { PUTS(" OFFSET "); expr(r, n->kids[3], sc); }
      break;
    }
    case ATH_N_TABLE: case ATH_N_ALIAS: case ATH_N_CTE: case ATH_N_JOIN:
      from_element(r, n, sc);
      break;
    case ATH_N_OVER: over_clause(r, n, sc); break;
    case ATH_N_FILTER: filter_clause(r, n, sc); break;
    case ATH_N_WITHIN_GROUP:
      expr(r, n->kids[0], sc);
      PUTS(" WITHIN GROUP (ORDER BY ");
      list(r, n->kids[1], sc);
      PUTC(')');
      break;
    case ATH_N_EXTRACT: extract_expr(r, n, sc); break;
    default:
      fail(r, ATH_E_COMPILE, "node kind %s cannot be rendered as an expression",
           n->kind == ATH_N_INSERT ? "INSERT" : n->kind == ATH_N_UPDATE ? "UPDATE" :
           n->kind == ATH_N_DELETE ? "DELETE" : "(internal)");
      break;
  }
  r->depth--;
}

/* ------------------------------------------------------------ FROM clause */

static void from_element(render *r, const ath_node *n, const scope *sc) {
  if (r->st != ATH_OK) return;
  if (!n) { fail(r, ATH_E_COMPILE, "missing FROM element"); return; }
  switch (n->kind) {
    case ATH_N_TABLE:
      ident(r, n->s, n->slen);
      if (n->s2) { PUTS(" AS "); ident_z(r, n->s2); }
      break;
    case ATH_N_CTE:
      ident(r, n->s, n->slen);
      if (n->s2) { PUTS(" AS "); ident_z(r, n->s2); }   /* cte:alias(name) */
      break;
    case ATH_N_ALIAS: {
      /* LATERAL: the subquery sees the FROM items of the select around it */
      int lateral = (n->flags & ATH_F_LATERAL) != 0;
      if (lateral && r->d == ATH_D_SQLITE) { unsupported(r, "LATERAL"); return; }
      if (lateral) PUTS("LATERAL ");
      PUTC('(');
      const ath_node *q = n->kids[0];
      if (q && q->kind == ATH_N_SELECT) select_stmt(r, q, lateral ? sc : NULL, lateral);
      else expr(r, q, NULL);
      PUTS(") AS ");
      ident(r, n->s, n->slen);
      break;
    }
    case ATH_N_JOIN: {
      if ((n->flags & ATH_F_FULL) && r->d == ATH_D_MYSQL) { unsupported(r, "FULL OUTER JOIN"); return; }
      from_element(r, n->kids[0], sc);
      PUTS(n->flags & ATH_F_FULL ? " FULL OUTER JOIN " : n->flags & ATH_F_OUTER ? " LEFT OUTER JOIN " : " JOIN ");
      const ath_node *right = n->kids[1];
      int paren = right && right->kind == ATH_N_JOIN;
      if (paren) PUTC('(');
      from_element(r, right, sc);
      if (paren) PUTC(')');
      PUTS(" ON ");
      expr(r, n->kids[2], sc);
      break;
    }
    default:
      fail(r, ATH_E_COMPILE, "cannot select FROM this kind of expression");
  }
}

/* Growable pointer set, in insertion order. */
typedef struct ptrset { const ath_node **v; int n, cap; } ptrset;

static int ptrset_has(const ptrset *s, const ath_node *p) {
  for (int i = 0; i < s->n; i++) if (s->v[i] == p) return 1;
  return 0;
}

static void ptrset_add(render *r, ptrset *s, const ath_node *p) {
  if (ptrset_has(s, p)) return;
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 8;
    const ath_node **nv = ath_realloc((void *)s->v, (size_t)cap * sizeof *nv);
    if (!nv) { r->st = ath_error_nomem(r->err); return; }
    s->v = nv;
    s->cap = cap;
  }
  s->v[s->n++] = p;
}

/* The FROM elements an explicit FROM item covers (a join covers both sides). */
static void covered_by(render *r, ptrset *s, const ath_node *n) {
  if (!n) return;
  if (n->kind == ATH_N_JOIN) { covered_by(r, s, n->kids[0]); covered_by(r, s, n->kids[1]); }
  else ptrset_add(r, s, n);
}

/* FROM elements referenced by an expression's columns, not descending into
 * subqueries (they have FROM clauses of their own). */
static void referenced(render *r, ptrset *s, const ath_node *n) {
  if (!n || r->st != ATH_OK) return;
  switch (n->kind) {
    case ATH_N_COLUMN: case ATH_N_STAR:
      if (n->from && !(n->from->flags & ATH_F_PSEUDO) && n->from->kind != ATH_N_JOIN) ptrset_add(r, s, n->from);
      return;
    case ATH_N_SELECT: case ATH_N_COMPOUND: case ATH_N_SCALAR: case ATH_N_ALIAS: case ATH_N_CTE:
      return;
    case ATH_N_UNARY:
      if (!strcmp(n->s, "EXISTS")) return;
      break;
    default: break;
  }
  for (int i = 0; i < n->nkids; i++) referenced(r, s, n->kids[i]);
}

/* 1 when f is one of the FROM elements of the query sc itself (not of those enclosing it). */
static int in_level(const scope *sc, const ath_node *f) {
  for (int i = 0; i < sc->n; i++) if (sc->items[i] == f) return 1;
  return 0;
}

static int in_scope(const scope *sc, const ath_node *f) {
  for (; sc; sc = sc->outer)
    for (int i = 0; i < sc->n; i++) if (sc->items[i] == f) return 1;
  return 0;
}

/* DISTINCT ON (exprs): PostgreSQL's; elsewhere a CompileError (SQLAlchemy
 * 1.4 dropped it silently there, which changes the rows). */
static void distinct_on(render *r, const ath_node *exprs, const scope *sc) {
  if (r->d != ATH_D_POSTGRESQL) { unsupported(r, "DISTINCT ON"); return; }
  PUTS("DISTINCT ON (");
  list(r, exprs, sc);
  PUTS(") ");
}

/* 1 when f is one of the FROM elements of the correlate() list. */
static int listed(const ath_node *lst, const ath_node *f) {
  for (int i = 0; lst && i < lst->nkids; i++) if (lst->kids[i] == f) return 1;
  return 0;
}

/* Fail with InvalidRequestError: the SELECT n would render without a FROM
 * because every FROM element it has is correlated to an enclosing query.
 * The statement is named by its SQL rendered on its own (uncorrelated). */
static void no_from_left(render *r, const ath_node *n, const ptrset *dropped, int explicit_correlate) {
  render alone;
  ath_error scratch;
  memset(&alone, 0, sizeof alone);
  alone.d = r->d;
  alone.err = &scratch;
  select_stmt(&alone, n, NULL, 0);
  int shown = alone.st == ATH_OK && !alone.sql.oom && alone.sql.data;
  int len = shown ? (alone.sql.len > 200 ? 200 : (int)alone.sql.len) : 8;
  const char *sql = shown ? alone.sql.data : "a SELECT";
  const char *more = shown && alone.sql.len > 200 ? "..." : "";
  if (explicit_correlate) {
    char names[160];
    size_t used = 0;
    names[0] = '\0';
    for (int i = 0; i < dropped->n && used + 2 < sizeof names; i++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", from_name(dropped->v[i]));
    fail(r, ATH_E_INVALID_REQUEST, "Select statement '%.*s%s' returned no FROM clauses due to correlate(%s): every "
         "table it selects from is in the enclosing query; correlate fewer tables so it keeps a FROM of its own",
         len, sql, more, names);
  } else {
    fail(r, ATH_E_INVALID_REQUEST, "Select statement '%.*s%s' returned no FROM clauses due to auto-correlation; "
         "specify correlate(<tables>) to control correlation manually", len, sql, more);
  }
  for (int i = 0; i < alone.nbinds; i++) ath_free(alone.binds[i].name);
  ath_free(alone.binds);
  ath_free((void *)alone.ctes);
  ath_buf_free(&alone.sql);
}

/* Render a SELECT. outer: the FROM elements of the enclosing queries (NULL
 * for a statement or a subquery in FROM); correlate: 1 where a subquery is
 * an expression (scalar, EXISTS, IN), which correlates implicitly. */
static void select_stmt(render *r, const ath_node *n, const scope *outer, int correlate) {
  if (r->st != ATH_OK) return;
  if (!n || n->kind != ATH_N_SELECT) {
    if (n && n->kind == ATH_N_COMPOUND) { expr(r, n, outer); return; }
    fail(r, ATH_E_COMPILE, "expected a SELECT");
    return;
  }
  const ath_node *const *k = (const ath_node *const *)n->kids;
  ptrset covered = { 0 }, inferred = { 0 }, froms = { 0 }, dropped = { 0 }, visible = { 0 };
  /* a nested SELECT renders its own clauses: qualified columns, labels as
   * definitions, whatever context (ORDER BY, RETURNING...) it sits in */
  int saved_colmode = r->colmode, saved_in_order = r->in_order;
  const ath_node *saved_label_ref = r->label_ref;
  r->colmode = COL_QUALIFIED;
  r->in_order = 0;
  r->label_ref = NULL;
  const ath_node *explicit_from = k[ATH_SEL_FROM];
  /* The FROM list: explicit items (select_from, joins) in order, then the
   * elements the clauses' columns reference that no explicit item covers. */
  for (int i = 0; explicit_from && i < explicit_from->nkids; i++) {
    covered_by(r, &covered, explicit_from->kids[i]);
    ptrset_add(r, &froms, explicit_from->kids[i]);
  }
  for (int slot = 0; slot < ATH_SEL__N; slot++) {
    if (slot == ATH_SEL_FROM || slot == ATH_SEL_CTES || slot == ATH_SEL_CORRELATE ||
        slot == ATH_SEL_LIMIT || slot == ATH_SEL_OFFSET) continue;
    referenced(r, &inferred, k[slot]);
  }
  if (n->nkids > ATH_SEL_DISTINCT_ON) referenced(r, &inferred, k[ATH_SEL_DISTINCT_ON]);
  for (int i = 0; i < inferred.n; i++)
    if (!ptrset_has(&covered, inferred.v[i])) ptrset_add(r, &froms, inferred.v[i]);
  /* Correlation, as SQLAlchemy's: correlate(t...) drops the listed elements
   * any enclosing query has (and no others). Without it, a subquery used as
   * an expression drops those the nearest enclosing query has, only when it
   * has more than one, so a subquery on one table keeps its FROM. Dropping
   * all is an InvalidRequestError: the SELECT would have no FROM. Then
   * (beyond SQLAlchemy, which leaves them in) elements of queries further
   * out are dropped too when a FROM still remains. */
  const ath_node *corr = k[ATH_SEL_CORRELATE];
  int except = (n->flags & ATH_F_CORRELATE_EXCEPT) != 0;   /* correlate_except(): the list stays inside */
  int explicit_correlate = except || (corr && corr->nkids > 0);
  if (outer && (explicit_correlate || (correlate && froms.n > 1))) {
    int kept = 0;
    for (int i = 0; i < froms.n; i++) {
      const ath_node *f = froms.v[i];
      int drop = explicit_correlate ? listed(corr, f) != except && in_scope(outer, f) : in_level(outer, f);
      if (drop) ptrset_add(r, &dropped, f);
      else froms.v[kept++] = f;
    }
    froms.n = kept;
    if (kept == 0 && dropped.n > 0 && r->st == ATH_OK) no_from_left(r, n, &dropped, explicit_correlate);
    if (!explicit_correlate && outer->outer) {
      int further = 0;
      for (int i = 0; i < froms.n; i++) further += in_scope(outer->outer, froms.v[i]);
      if (further > 0 && further < froms.n) {
        kept = 0;
        for (int i = 0; i < froms.n; i++)
          if (!in_scope(outer->outer, froms.v[i])) froms.v[kept++] = froms.v[i];
        froms.n = kept;
      }
    }
  }
  for (int i = 0; i < froms.n; i++) covered_by(r, &visible, froms.v[i]);
  scope sc = { visible.v, visible.n, correlate ? outer : NULL };
  if (r->st != ATH_OK) goto done;

  PUTS("SELECT ");
  if (n->nkids > ATH_SEL_DISTINCT_ON && k[ATH_SEL_DISTINCT_ON] && k[ATH_SEL_DISTINCT_ON]->nkids)
    distinct_on(r, k[ATH_SEL_DISTINCT_ON], &sc);
  else if (n->flags & ATH_F_DISTINCT) PUTS("DISTINCT ");
  column_list(r, k[ATH_SEL_COLUMNS], &sc);
  if (froms.n) {
    PUTS(" FROM ");
    for (int i = 0; i < froms.n; i++) {
      if (i) PUTS(", ");
      from_element(r, froms.v[i], &sc);
    }
  }
  if (k[ATH_SEL_WHERE]) { PUTS(" WHERE "); expr(r, k[ATH_SEL_WHERE], &sc); }
  if (k[ATH_SEL_GROUP] && k[ATH_SEL_GROUP]->nkids) {
    PUTS(" GROUP BY ");
    order_terms(r, k[ATH_SEL_GROUP], k[ATH_SEL_COLUMNS], 0, &sc);
  }
  if (k[ATH_SEL_HAVING]) { PUTS(" HAVING "); expr(r, k[ATH_SEL_HAVING], &sc); }
  if (k[ATH_SEL_ORDER] && k[ATH_SEL_ORDER]->nkids) {
    PUTS(" ORDER BY ");
    order_terms(r, k[ATH_SEL_ORDER], k[ATH_SEL_COLUMNS], 1, &sc);
  }
  if (k[ATH_SEL_LIMIT]) { PUTS(" LIMIT "); expr(r, k[ATH_SEL_LIMIT], &sc); }
  else if (k[ATH_SEL_OFFSET]) {
    if (r->d == ATH_D_SQLITE) PUTS(" LIMIT -1");
    else if (r->d == ATH_D_MYSQL) PUTS(" LIMIT 18446744073709551615");
  }
  if (k[ATH_SEL_OFFSET]) { PUTS(" OFFSET "); expr(r, k[ATH_SEL_OFFSET], &sc); }
  if (n->flags & (ATH_F_FOR_UPDATE | ATH_F_FOR_SHARE)) {
    /* SQLite locks the whole database for a write transaction: there is no
     * row lock to ask for, so the clause is omitted (as SQLAlchemy does). */
    if (r->d != ATH_D_SQLITE) {
      if (n->flags & ATH_F_FOR_SHARE) PUTS(" FOR SHARE");                 /* MySQL 8 and PostgreSQL */
      else PUTS(" FOR UPDATE");
      if (n->flags & ATH_F_NOWAIT) PUTS(" NOWAIT");
      if (n->flags & ATH_F_SKIP_LOCKED) PUTS(" SKIP LOCKED");
    }
  }
done:
  ath_free((void *)covered.v);
  ath_free((void *)inferred.v);
  ath_free((void *)froms.v);
  ath_free((void *)dropped.v);
  ath_free((void *)visible.v);
  r->colmode = saved_colmode;
  r->in_order = saved_in_order;
  r->label_ref = saved_label_ref;
}

/* ------------------------------------------------------------------- CTEs */

static int cte_known(render *r, const ath_node *c) {
  for (int i = 0; i < r->nctes; i++)
    if (r->ctes[i] == c || (r->ctes[i]->slen == c->slen && !memcmp(r->ctes[i]->s, c->s, c->slen))) return 1;
  return 0;
}

static void cte_push(render *r, const ath_node *c) {
  if (r->nctes == r->capctes) {
    int cap = r->capctes ? r->capctes * 2 : 4;
    const ath_node **nv = ath_realloc((void *)r->ctes, (size_t)cap * sizeof *nv);
    if (!nv) { r->st = ath_error_nomem(r->err); return; }
    r->ctes = nv;
    r->capctes = cap;
  }
  r->ctes[r->nctes++] = c;
}

/* Every CTE the statement references, dependencies first. A CTE whose name
 * is already collected is not entered again: that is how a recursive CTE's
 * reference to itself ends the walk. `pending` marks names being entered. */
static void collect_ctes(render *r, const ath_node *n, ptrset *pending) {
  if (!n || r->st != ATH_OK) return;
  if (n->kind == ATH_N_CTE) {
    if (cte_known(r, n)) return;
    for (int i = 0; i < pending->n; i++) {
      const ath_node *p = pending->v[i];
      if (p == n || (p->slen == n->slen && !memcmp(p->s, n->s, n->slen))) return;
    }
    ptrset_add(r, pending, n);
    for (int i = 0; i < n->nkids; i++) collect_ctes(r, n->kids[i], pending);
    cte_push(r, n);
    return;
  }
  if (n->from) collect_ctes(r, n->from, pending);
  for (int i = 0; i < n->nkids; i++) collect_ctes(r, n->kids[i], pending);
}

static void with_clause(render *r, const ath_node *root) {
  ptrset pending = { 0 };
  collect_ctes(r, root, &pending);
  ath_free((void *)pending.v);
  if (r->nctes == 0 || r->st != ATH_OK) return;
  int recursive = 0;
  for (int i = 0; i < r->nctes; i++) if (r->ctes[i]->flags & ATH_F_RECURSIVE) recursive = 1;
  PUTS(recursive ? "WITH RECURSIVE " : "WITH ");
  for (int i = 0; i < r->nctes; i++) {
    const ath_node *c = r->ctes[i];
    if (i) PUTS(", ");
    ident(r, c->s, c->slen);
    /* a recursive CTE names its columns: (a, b) AS (...) */
    if (c->nkids > 1 && c->kids[1] && c->kids[1]->nkids) {
      int saved = r->colmode;
      r->colmode = COL_BARE;
      PUTC('(');
      list(r, c->kids[1], NULL);
      PUTC(')');
      r->colmode = saved;
    }
    PUTS(" AS (");
    const ath_node *body = c->nkids > 0 ? c->kids[0] : NULL;   /* none: expr() fails "missing expression" */
    if (body && body->kind == ATH_N_SELECT) select_stmt(r, body, NULL, 0);
    else expr(r, body, NULL);
    PUTC(')');
  }
  PUTC(' ');
}

/* ------------------------------------------------------------- DML */

static void returning(render *r, const ath_node *cols, const scope *sc) {
  if (!cols || !cols->nkids) return;
  if (r->d == ATH_D_MYSQL) { unsupported(r, "RETURNING"); return; }
  int saved = r->colmode;
  r->colmode = COL_BARE;
  PUTS(" RETURNING ");
  column_list(r, cols, sc);
  r->colmode = saved;
}

static void set_list(render *r, const ath_node *sets, const scope *sc) {
  for (int i = 0; sets && i < sets->nkids; i++) {
    const ath_node *s = sets->kids[i];
    if (!s || s->nkids < 2) { fail(r, ATH_E_COMPILE, "malformed SET node"); return; }
    if (i) PUTS(", ");
    int saved = r->colmode;
    r->colmode = COL_BARE;
    expr(r, s->kids[0], sc);
    r->colmode = saved;
    PUTS(" = ");
    expr(r, s->kids[1], sc);
  }
}

static void insert_stmt(render *r, const ath_node *n) {
  const ath_node *const *k = (const ath_node *const *)n->kids;
  const ath_node *table = k[ATH_INS_TABLE], *cols = k[ATH_INS_COLUMNS], *rows = k[ATH_INS_ROWS];
  const ath_node *conflict = k[ATH_INS_CONFLICT];
  ath_node *self[1] = { (ath_node *)table };
  scope sc = { (const ath_node **)self, 1, NULL };
  int ignore = conflict && !(conflict->kids[1] && conflict->kids[1]->nkids);
  if (ignore && r->d == ATH_D_MYSQL) PUTS("INSERT IGNORE INTO ");
  else PUTS("INSERT INTO ");
  ident(r, table->s, table->slen);
  int ncols = cols ? cols->nkids : 0;
  if (ncols) {
    int saved = r->colmode;
    r->colmode = COL_BARE;
    PUTS(" (");
    list(r, cols, NULL);
    PUTC(')');
    r->colmode = saved;
  }
  if (k[ATH_INS_SELECT]) {
    PUTC(' ');
    select_stmt(r, k[ATH_INS_SELECT], NULL, 0);
  } else if (!ncols) {
    PUTS(r->d == ATH_D_MYSQL ? " () VALUES ()" : " DEFAULT VALUES");
  } else {
    PUTS(" VALUES ");
    for (int i = 0; rows && i < rows->nkids; i++) {
      if (i) PUTS(", ");
      const ath_node *row = rows->kids[i];
      if (!row || row->nkids != ncols) {
        fail(r, ATH_E_COMPILE, "an INSERT row has a different number of values than columns");
        return;
      }
      PUTC('(');
      list(r, row, NULL);
      PUTC(')');
    }
  }
  if (conflict && !(ignore && r->d == ATH_D_MYSQL)) {
    const ath_node *target = conflict->kids[0], *sets = conflict->kids[1], *where = conflict->kids[2];
    if (r->d == ATH_D_MYSQL) {
      if (where) { unsupported(r, "ON CONFLICT DO UPDATE ... WHERE"); return; }
      PUTS(" ON DUPLICATE KEY UPDATE ");
      set_list(r, sets, &sc);
    } else {
      PUTS(" ON CONFLICT");
      if (target && target->nkids) {
        int saved = r->colmode;
        r->colmode = COL_BARE;
        PUTS(" (");
        list(r, target, NULL);
        PUTC(')');
        r->colmode = saved;
      } else if (!ignore) {
        fail(r, ATH_E_COMPILE, "ON CONFLICT DO UPDATE needs index_elements (the conflict target) on the %s dialect",
             ath_dialect_name(r->d));
        return;
      }
      if (ignore) PUTS(" DO NOTHING");
      else {
        PUTS(" DO UPDATE SET ");
        set_list(r, sets, &sc);
        if (where) { PUTS(" WHERE "); expr(r, where, &sc); }
      }
    }
  }
  returning(r, k[ATH_INS_RETURNING], &sc);
}

static void update_stmt(render *r, const ath_node *n) {
  const ath_node *table = n->kids[0];
  ath_node *self[1] = { (ath_node *)table };
  scope sc = { (const ath_node **)self, 1, NULL };
  PUTS("UPDATE ");
  from_element(r, table, NULL);
  PUTS(" SET ");
  if (!n->kids[1] || !n->kids[1]->nkids) { fail(r, ATH_E_COMPILE, "UPDATE without values"); return; }
  set_list(r, n->kids[1], &sc);
  if (n->kids[2]) { PUTS(" WHERE "); expr(r, n->kids[2], &sc); }
  returning(r, n->kids[3], &sc);
}

static void delete_stmt(render *r, const ath_node *n) {
  const ath_node *table = n->kids[0];
  ath_node *self[1] = { (ath_node *)table };
  scope sc = { (const ath_node **)self, 1, NULL };
  PUTS("DELETE FROM ");
  from_element(r, table, NULL);
  if (n->kids[1]) { PUTS(" WHERE "); expr(r, n->kids[1], &sc); }
  returning(r, n->kids[2], &sc);
}

/* --------------------------------------------------------------- entry */

void ath_compiled_free(ath_compiled *c) {
  if (!c) return;
  for (int i = 0; i < c->nbinds; i++) ath_free(c->binds[i].name);
  ath_free(c->binds);
  ath_free(c->sql);
  ath_free(c);
}

ath_status ath_compile(const ath_node *root, ath_dialect_id d, ath_compiled **out, ath_error *err) {
  render r;
  memset(&r, 0, sizeof r);
  r.d = d;
  r.err = err;
  *out = NULL;
  if ((unsigned)d >= ATH_D__COUNT) return ath_error_set(err, ATH_E_ARGUMENT, "unknown dialect id %d", (int)d);
  if (!root) return ath_error_set(err, ATH_E_COMPILE, "nothing to compile");
  int returns_rows = 0;
  r.st = ath_check_tree(root, err);                  /* a malformed tree: CompileError, nothing read past a node */
  switch (r.st != ATH_OK ? 0 : root->kind) {
    case ATH_N_SELECT: case ATH_N_COMPOUND:
      with_clause(&r, root);
      if (root->kind == ATH_N_SELECT) select_stmt(&r, root, NULL, 0);
      else expr(&r, root, NULL);
      returns_rows = 1;
      break;
    case ATH_N_INSERT:
      with_clause(&r, root);
      insert_stmt(&r, root);
      returns_rows = root->kids[ATH_INS_RETURNING] && root->kids[ATH_INS_RETURNING]->nkids;
      break;
    case ATH_N_UPDATE:
      with_clause(&r, root);
      update_stmt(&r, root);
      returns_rows = root->kids[3] && root->kids[3]->nkids;
      break;
    case ATH_N_DELETE:
      with_clause(&r, root);
      delete_stmt(&r, root);
      returns_rows = root->kids[2] && root->kids[2]->nkids;
      break;
    default:
      expr(&r, root, NULL);                         /* a bare expression (tostring of a clause) */
      break;
  }
  if (r.st == ATH_OK && r.sql.oom) r.st = ath_error_nomem(err);
  ath_compiled *c = NULL;
  if (r.st == ATH_OK) {
    c = ath_calloc(1, sizeof *c);
    if (!c) r.st = ath_error_nomem(err);
  }
  ath_free((void *)r.ctes);
  if (r.st != ATH_OK) {
    for (int i = 0; i < r.nbinds; i++) ath_free(r.binds[i].name);
    ath_free(r.binds);
    ath_buf_free(&r.sql);
    return r.st;
  }
  size_t len = 0;
  c->sql = ath_buf_detach(&r.sql, &len);
  if (!c->sql) {                                     /* an empty rendering */
    c->sql = ath_strdup("");
    if (!c->sql) { ath_free(c); for (int i = 0; i < r.nbinds; i++) ath_free(r.binds[i].name); ath_free(r.binds); return ath_error_nomem(err); }
  }
  c->sqllen = len;
  c->binds = r.binds;
  c->nbinds = r.nbinds;
  c->returns_rows = returns_rows;
  *out = c;
  return ATH_OK;
}
