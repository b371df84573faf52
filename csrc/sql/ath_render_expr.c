/* ath_render_expr.c — expressions: one render function per node kind, in a
 * table indexed by kind (RENDER below), with operator precedence deciding
 * the parentheses. What a dialect writes its own way (ILIKE, ||, booleans,
 * FILTER, EXTRACT, bind casts) is read from its facts. */
#include "ath_render.h"

typedef void (*render_fn)(ath_render *r, const ath_node *n, const ath_scope *sc);

/* -------------------------------------------------------------- precedence */

/* P_CONCAT: || binding tighter than * and / (SQLite); a loose || is an
 * "other" operator (PostgreSQL), looser than + and -; concat() is an atom. */
enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_OTHER, P_ADD, P_MUL, P_CONCAT, P_UNARY, P_COLLATE, P_ATOM };

static int binary_prec(const char *op, const ath_dialect *d) {
  if (!strcmp(op, "+") || !strcmp(op, "-")) return P_ADD;
  if (!strcmp(op, "*") || !strcmp(op, "/") || !strcmp(op, "%")) return P_MUL;
  if (!strcmp(op, "||"))
    return d->concat == ATH_CONCAT_TIGHT ? P_CONCAT : d->concat == ATH_CONCAT_FUNCTION ? P_ATOM : P_OTHER;
  if (!strcmp(op, "=") || !strcmp(op, "!=") || !strcmp(op, "<>") || !strcmp(op, "<") ||
      !strcmp(op, "<=") || !strcmp(op, ">") || !strcmp(op, ">=") || !strcmp(op, "LIKE") ||
      !strcmp(op, "NOT LIKE") || !strcmp(op, "ILIKE") || !strcmp(op, "NOT ILIKE") ||
      !strcmp(op, "IS") || !strcmp(op, "IS NOT") || !strcmp(op, "IS DISTINCT FROM") ||
      !strcmp(op, "IS NOT DISTINCT FROM"))
    return P_CMP;
  return P_OTHER;                                   /* custom operators: @>, ->, ... */
}

static int prec(const ath_node *n, const ath_dialect *d) {
  if (!n) return P_ATOM;
  switch (n->kind) {
    case ATH_N_OR: return n->nkids > 1 ? P_OR : n->nkids == 1 ? prec(n->kids[0], d) : P_ATOM;
    case ATH_N_AND: return n->nkids > 1 ? P_AND : n->nkids == 1 ? prec(n->kids[0], d) : P_ATOM;
    case ATH_N_UNARY:
      if (!strcmp(n->s, "NOT")) return P_NOT;
      if (!strcmp(n->s, "-")) return P_UNARY;
      return P_ATOM;                                /* EXISTS (...), DISTINCT x */
    case ATH_N_BINARY: return binary_prec(n->s, d);
    case ATH_N_POSTFIX: return (!strncmp(n->s, "IS", 2)) ? P_CMP : P_ATOM;
    case ATH_N_IN: case ATH_N_BETWEEN: return P_CMP;
    case ATH_N_COLLATE: return P_COLLATE;
    default: return P_ATOM;
  }
}

/* Render child with parentheses when it binds looser than `parent_prec`
 * (or equally loose on the right of a non-associative operator). */
static void operand(ath_render *r, const ath_node *n, const ath_scope *sc, int parent_prec, int right) {
  int p = prec(n, r->d);
  int wrap = right ? p <= parent_prec : p < parent_prec;
  if (p == P_ATOM) wrap = 0;
  if (wrap) PUTC('(');
  ath_r_expr(r, n, sc);
  if (wrap) PUTC(')');
}

/* n in parentheses unless it is an atom (NOT x, an uncast CAST operand). */
static void atom(ath_render *r, const ath_node *n, const ath_scope *sc) {
  int wrap = prec(n, r->d) != P_ATOM;
  if (wrap) PUTC('(');
  ath_r_expr(r, n, sc);
  if (wrap) PUTC(')');
}

/* ------------------------------------------------------------------ lists */

void ath_r_list(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (!n) return;
  for (int i = 0; i < n->nkids; i++) {
    if (i) PUTS(", ");
    ath_r_expr(r, n->kids[i], sc);
  }
}

void ath_r_bare_list(ath_render *r, const ath_node *n) {
  int saved = r->colmode;
  r->colmode = COL_BARE;
  PUTC('(');
  ath_r_list(r, n, NULL);
  PUTC(')');
  r->colmode = saved;
}

void ath_r_column_list(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (!n) return;
  for (int i = 0; i < n->nkids && r->st == ATH_OK; i++) {
    const ath_node *c = n->kids[i];
    if (i) PUTS(", ");
    if (c && c->kind == ATH_N_LABEL && c->nkids == 1) {
      ath_r_expr(r, c->kids[ATH_LABEL_ELEMENT], sc);
      PUTS(" AS ");
      ath_r_ident(r, c->s, c->slen);
    } else {
      ath_r_expr(r, c, sc);
    }
  }
}

void ath_r_subquery(ath_render *r, const ath_node *q, const ath_scope *sc) {
  if (q && q->kind == ATH_N_SELECT) ath_r_select(r, q, sc, 1);
  else ath_r_expr(r, q, sc);
}

const char *ath_r_from_name(const ath_node *f) {
  if (f->kind == ATH_N_TABLE || f->kind == ATH_N_CTE) return f->s2 ? f->s2 : f->s;
  return f->s;
}

/* ------------------------------------------------------------ leaves */

static void render_column(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)sc;
  const ath_node *f = n->from;
  if (f && f->kind == ATH_N_TABLE && (f->flags & ATH_F_PSEUDO)) {   /* the upsert's proposed row */
    if (r->d->upsert == ATH_UPSERT_ON_DUPLICATE_KEY) {             /* excluded.x → VALUES(x) */
      PUTS("VALUES(");
      ath_r_ident(r, n->s, n->slen);
      PUTC(')');
      return;
    }
    PUTS("excluded.");
    ath_r_ident(r, n->s, n->slen);
    return;
  }
  if (f && r->colmode == COL_QUALIFIED) {
    const char *q = ath_r_from_name(f);
    ath_r_ident(r, q, strlen(q));
    PUTC('.');
  }
  ath_r_ident(r, n->s, n->slen);
}

static void render_bind(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)sc;
  /* a named value, or one value met in several places, is bound once
   * where placeholders are numbered (ath_r_add_bind) */
  if (n->flags & ATH_F_NAMED) ath_r_add_bind(r, 0, n->s, n->slen, 1);
  else ath_r_add_bind(r, n->slot, NULL, 0, (n->flags & ATH_F_SHARED) != 0);
  /* a typed literal whose value travels as text (a decimal, a date, JSON, a
   * UUID) keeps its type where nothing else gives it one, as SQLAlchemy's
   * render_bind_cast does: $1::JSONB (s2 is an athanor type, spelled as a CAST's) */
  if (n->s2 && r->d->bind_casts && r->st == ATH_OK) {
    PUTS("::");
    r->st = ath_cast_spell_type(&r->sql, n->s2, strlen(n->s2), NULL, r->d, r->err);
  }
}

static void render_null(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)n; (void)sc;
  PUTS("NULL");
}

static void render_true(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)n; (void)sc;
  PUTS(r->d->native_boolean ? "true" : "1");
}

static void render_false(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)n; (void)sc;
  PUTS(r->d->native_boolean ? "false" : "0");
}

static void render_star(ath_render *r, const ath_node *n, const ath_scope *sc) {
  (void)sc;
  if (n->from) {
    const char *q = ath_r_from_name(n->from);
    ath_r_ident(r, q, strlen(q));
    PUTC('.');
  }
  PUTC('*');
}

/* --------------------------------------------------------------- operators */

/* x ILIKE pattern [ESCAPE c] where there is no ILIKE: lower() on both sides,
 * the ESCAPE outside lower(). */
static void emulated_ilike(ath_render *r, const ath_node *n, const ath_scope *sc, int negated) {
  const ath_node *pattern = n->kids[ATH_BINARY_RIGHT], *escape = NULL;
  if (pattern && pattern->kind == ATH_N_BINARY && !strcmp(pattern->s, "ESCAPE")) {
    escape = pattern->kids[ATH_BINARY_RIGHT];
    pattern = pattern->kids[ATH_BINARY_LEFT];
  }
  PUTS("lower(");
  ath_r_expr(r, n->kids[ATH_BINARY_LEFT], sc);
  PUTS(negated ? ") NOT LIKE lower(" : ") LIKE lower(");
  ath_r_expr(r, pattern, sc);
  PUTC(')');
  if (escape) { PUTS(" ESCAPE "); ath_r_expr(r, escape, sc); }
}

static void render_binary(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const char *op = n->s;
  const ath_node *left = n->kids[ATH_BINARY_LEFT], *right = n->kids[ATH_BINARY_RIGHT];
  if (!r->d->native_ilike && (!strcmp(op, "ILIKE") || !strcmp(op, "NOT ILIKE"))) {
    emulated_ilike(r, n, sc, op[0] == 'N');
    return;
  }
  if (r->d->concat == ATH_CONCAT_FUNCTION && !strcmp(op, "||")) {
    PUTS("concat(");
    ath_r_expr(r, left, sc);
    PUTS(", ");
    ath_r_expr(r, right, sc);
    PUTC(')');
    return;
  }
  int p = binary_prec(op, r->d);
  operand(r, left, sc, p, 0);
  PUTC(' ');
  PUTS(op);
  PUTC(' ');
  operand(r, right, sc, p, 1);
}

/* ANY (subquery) / ALL (subquery) */
static void any_all(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (!r->d->any_all) { ath_r_unsupported(r, n->s); return; }
  const ath_node *q = n->kids[ATH_UNARY_OPERAND];
  if (q && q->kind == ATH_N_SCALAR) q = q->kids[ATH_SCALAR_QUERY];   /* any_(sel:scalar_subquery()): one pair */
  PUTS(n->s);
  PUTS(" (");
  ath_r_subquery(r, q, sc);
  PUTC(')');
}

static void render_unary(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *x = n->kids[ATH_UNARY_OPERAND];
  if (!strcmp(n->s, "EXISTS")) {
    PUTS("EXISTS (");
    ath_r_subquery(r, x, sc);
    PUTC(')');
  } else if (!strcmp(n->s, "ANY") || !strcmp(n->s, "ALL")) {
    any_all(r, n, sc);
  } else if (!strcmp(n->s, "NOT")) {
    PUTS("NOT ");
    atom(r, x, sc);
  } else {
    PUTS(n->s);
    if (!strcmp(n->s, "DISTINCT")) PUTC(' ');
    operand(r, x, sc, P_UNARY, 1);
  }
}

static void render_postfix(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (!strncmp(n->s, "NULLS", 5) && !r->d->nulls_ordering) { ath_r_unsupported(r, n->s); return; }
  /* ASC/DESC/NULLS apply to a whole ORDER BY term: no parentheses needed */
  int p = prec(n, r->d);
  operand(r, n->kids[ATH_POSTFIX_OPERAND], sc, p == P_ATOM ? 0 : p, 0);
  PUTC(' ');
  PUTS(n->s);
}

/* AND / OR; none renders a constant predicate. */
static void render_junction(ath_render *r, const ath_node *n, const ath_scope *sc) {
  int is_and = n->kind == ATH_N_AND;
  if (n->nkids == 0) { PUTS(is_and ? "1 = 1" : "1 != 1"); return; }
  for (int i = 0; i < n->nkids; i++) {
    if (i) PUTS(is_and ? " AND " : " OR ");
    operand(r, n->kids[i], sc, is_and ? P_AND : P_OR, 0);
  }
}

static void render_in(ath_render *r, const ath_node *n, const ath_scope *sc) {
  int neg = n->flags & ATH_F_NEGATE;
  if (n->nkids == 1) {                              /* empty list: a constant predicate */
    PUTS(neg ? "1 = 1" : "1 != 1");
    return;
  }
  const ath_node *lhs = n->kids[0], *first = n->kids[1];
  operand(r, lhs, sc, P_CMP, 0);
  PUTS(neg ? " NOT IN (" : " IN (");
  if (n->nkids == 2 && first && (first->kind == ATH_N_SELECT || first->kind == ATH_N_COMPOUND)) {
    ath_r_subquery(r, first, sc);
  } else {
    /* row values compared only with a subquery: (a, b) IN (VALUES (?, ?), ...) */
    if (r->d->tuple_in_values && lhs && lhs->kind == ATH_N_LIST && first && first->kind == ATH_N_LIST)
      PUTS("VALUES ");
    for (int i = 1; i < n->nkids; i++) {
      if (i > 1) PUTS(", ");
      ath_r_expr(r, n->kids[i], sc);
    }
  }
  PUTC(')');
}

static void render_between(ath_render *r, const ath_node *n, const ath_scope *sc) {
  operand(r, n->kids[ATH_BETWEEN_OPERAND], sc, P_CMP, 0);
  PUTS(n->flags & ATH_F_NEGATE ? " NOT BETWEEN " : " BETWEEN ");
  operand(r, n->kids[ATH_BETWEEN_LOW], sc, P_CMP, 1);
  PUTS(" AND ");
  operand(r, n->kids[ATH_BETWEEN_HIGH], sc, P_CMP, 1);
}

static int is_name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

static int valid_function_name(const char *s) {
  if (!s || !is_name_start(s[0])) return 0;
  for (const char *p = s; *p; p++)
    if (!is_name_char(*p) && *p != '.') return 0;
  return 1;
}

static void render_func(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (!valid_function_name(n->s)) {
    ath_r_fail(r, ATH_E_COMPILE, "'%s' is not a valid SQL function name", n->s ? n->s : "");
    return;
  }
  PUTS(n->s);
  if (n->flags & ATH_F_NOPARENS) return;
  PUTC('(');
  ath_r_list(r, n, sc);
  PUTC(')');
}

/* As SQLAlchemy: `x AS name` only as an item of a columns clause
 * (ath_r_column_list), the name where ORDER BY / GROUP BY refer to a label
 * of the columns clause, the expression everywhere else (WHERE, HAVING,
 * inside a function). */
static void render_label(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (r->in_order || n == r->label_ref) ath_r_ident(r, n->s, n->slen);
  else ath_r_expr(r, n->kids[ATH_LABEL_ELEMENT], sc);
}

/* The type is spelled by the dialect's cast table (ath_cast.c). */
static void render_cast(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *x = n->kids[ATH_CAST_OPERAND];
  if (!ath_cast_has_target(n, r->d)) { atom(r, x, sc); return; }   /* uncast, as SQLAlchemy */
  PUTS("CAST(");
  ath_r_expr(r, x, sc);
  PUTS(" AS ");
  if (r->st == ATH_OK) r->st = ath_cast_spell(&r->sql, n, r->d, r->err);
  PUTC(')');
}

static void render_collate(ath_render *r, const ath_node *n, const ath_scope *sc) {
  operand(r, n->kids[ATH_COLLATE_OPERAND], sc, P_COLLATE, 0);
  PUTS(" COLLATE ");
  ath_r_ident(r, n->s, n->slen);
}

static void render_case(ath_render *r, const ath_node *n, const ath_scope *sc) {
  int pairs = (n->flags & ATH_F_ELSE) ? n->nkids - 1 : n->nkids;
  PUTS("CASE");
  for (int i = 0; i + 1 < pairs; i += 2) {
    PUTS(" WHEN ");
    ath_r_expr(r, n->kids[i], sc);
    PUTS(" THEN ");
    ath_r_expr(r, n->kids[i + 1], sc);
  }
  if (n->flags & ATH_F_ELSE) {
    PUTS(" ELSE ");
    ath_r_expr(r, n->kids[n->nkids - 1], sc);
  }
  PUTS(" END");
}

/* (subquery) and (explicit parentheses) */
static void render_parenthesized(ath_render *r, const ath_node *n, const ath_scope *sc) {
  PUTC('(');
  ath_r_subquery(r, n->kids[0], sc);
  PUTC(')');
}

static void render_list(ath_render *r, const ath_node *n, const ath_scope *sc) {
  PUTC('(');
  ath_r_list(r, n, sc);
  PUTC(')');
}

static void render_select(ath_render *r, const ath_node *n, const ath_scope *sc) {
  PUTC('(');                                        /* a subquery where an expression goes */
  ath_r_select(r, n, sc, 1);
  PUTC(')');
}

static void render_from_element(ath_render *r, const ath_node *n, const ath_scope *sc) {
  ath_r_from_element(r, n, sc);
}

/* ------------------------------------------------ window functions, FILTER */

/* A window frame is text the Lua builder spells from integers ("ROWS
 * BETWEEN 2 PRECEDING AND CURRENT ROW"): only upper-case words, digits and
 * spaces may reach the SQL. */
static int valid_frame(const char *s) {
  if (!s || !*s) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == ' ')) return 0;
  return 1;
}

/* f OVER (PARTITION BY ... ORDER BY ... frame) */
static void render_over(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *partition = n->kids[ATH_OVER_PARTITION], *order = n->kids[ATH_OVER_ORDER];
  if (n->s && !valid_frame(n->s)) { ath_r_fail(r, ATH_E_COMPILE, "malformed window frame '%s'", n->s); return; }
  ath_r_expr(r, n->kids[ATH_OVER_ELEMENT], sc);
  PUTS(" OVER (");
  const char *sep = "";
  if (partition && partition->nkids) { PUTS("PARTITION BY "); ath_r_list(r, partition, sc); sep = " "; }
  if (order && order->nkids) { PUTS(sep); PUTS("ORDER BY "); ath_r_list(r, order, sc); sep = " "; }
  if (n->s) { PUTS(sep); PUTS(n->s); }
  PUTC(')');
}

/* Without FILTER, every argument x of the aggregate becomes CASE WHEN cond
 * THEN x END (count(*): THEN 1), which aggregates ignore as NULL where cond
 * does not hold. */
static void emulated_filter(ath_render *r, const ath_node *f, const ath_node *cond, const ath_scope *sc) {
  if (!valid_function_name(f->s) || (f->flags & ATH_F_NOPARENS) || f->nkids == 0) {
    ath_r_fail(r, ATH_E_COMPILE, "FILTER needs an aggregate function with arguments on the %s dialect", r->d->name);
    return;
  }
  PUTS(f->s);
  PUTC('(');
  for (int i = 0; i < f->nkids; i++) {
    const ath_node *arg = f->kids[i];
    if (i) PUTS(", ");
    if (arg && arg->kind == ATH_N_UNARY && !strcmp(arg->s, "DISTINCT")) {   /* count(DISTINCT CASE ...) */
      PUTS("DISTINCT ");
      arg = arg->kids[ATH_UNARY_OPERAND];
    }
    PUTS("CASE WHEN ");
    ath_r_expr(r, cond, sc);
    PUTS(" THEN ");
    if (arg && arg->kind == ATH_N_STAR && !arg->from) PUTC('1');
    else ath_r_expr(r, arg, sc);
    PUTS(" END");
  }
  PUTC(')');
}

/* agg(...) FILTER (WHERE cond) */
static void render_filter(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *f = n->kids[ATH_FILTER_FUNC], *cond = n->kids[ATH_FILTER_WHERE];
  if (!r->d->filter_clause) { emulated_filter(r, f, cond, sc); return; }
  ath_r_expr(r, f, sc);
  PUTS(" FILTER (WHERE ");
  ath_r_expr(r, cond, sc);
  PUTC(')');
}

static void render_within_group(ath_render *r, const ath_node *n, const ath_scope *sc) {
  ath_r_expr(r, n->kids[ATH_WITHIN_GROUP_ELEMENT], sc);
  PUTS(" WITHIN GROUP (ORDER BY ");
  ath_r_list(r, n->kids[ATH_WITHIN_GROUP_ORDER], sc);
  PUTC(')');
}

/* EXTRACT(field FROM x); a dialect without it reads the field with
 * strftime, as SQLAlchemy's SQLite dialect renders it. */
static void render_extract(ath_render *r, const ath_node *n, const ath_scope *sc) {
  static const struct { const char *field, *strftime; } FIELDS[] = {
    { "year", "%Y" }, { "month", "%m" }, { "day", "%d" }, { "hour", "%H" }, { "minute", "%M" },
    { "second", "%S" }, { "doy", "%j" }, { "dow", "%w" }, { "week", "%W" }, { "epoch", "%s" },
    { "quarter", NULL }, { "microsecond", NULL }, { "millisecond", NULL },
  };
  const char *fmt = NULL;
  int known = 0;
  for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++)
    if (!strcmp(n->s, FIELDS[i].field)) { known = 1; fmt = FIELDS[i].strftime; break; }
  if (!known) { ath_r_fail(r, ATH_E_COMPILE, "extract(): unknown field '%s'", n->s); return; }
  const ath_node *x = n->kids[ATH_EXTRACT_OPERAND];
  if (r->d->extract == ATH_EXTRACT_STRFTIME) {
    if (!fmt) {
      ath_r_fail(r, ATH_E_COMPILE, "extract('%s') is not supported by the %s dialect", n->s, r->d->name);
      return;
    }
    PUTS("CAST(STRFTIME('");
    PUTS(fmt);
    PUTS("', ");
    ath_r_expr(r, x, sc);
    PUTS(") AS INTEGER)");
    return;
  }
  PUTS("EXTRACT(");
  PUTS(n->s);
  PUTS(" FROM ");
  ath_r_expr(r, x, sc);
  PUTC(')');
}

/* --------------------------------------------------------------- dispatch */

/* The render function of each kind; NULL: not an expression (a statement,
 * SET, ONCONFLICT, VALUES). */
static const render_fn RENDER[ATH_N__COUNT] = {
  [ATH_N_COLUMN] = render_column,       [ATH_N_BIND] = render_bind,
  [ATH_N_NULL] = render_null,           [ATH_N_TRUE] = render_true,
  [ATH_N_FALSE] = render_false,         [ATH_N_STAR] = render_star,
  [ATH_N_BINARY] = render_binary,       [ATH_N_UNARY] = render_unary,
  [ATH_N_POSTFIX] = render_postfix,     [ATH_N_AND] = render_junction,
  [ATH_N_OR] = render_junction,         [ATH_N_IN] = render_in,
  [ATH_N_BETWEEN] = render_between,     [ATH_N_FUNC] = render_func,
  [ATH_N_LABEL] = render_label,         [ATH_N_CAST] = render_cast,
  [ATH_N_COLLATE] = render_collate,     [ATH_N_CASE] = render_case,
  [ATH_N_TEXT] = ath_r_text,            [ATH_N_SCALAR] = render_parenthesized,
  [ATH_N_GROUPING] = render_parenthesized, [ATH_N_LIST] = render_list,
  [ATH_N_SELECT] = render_select,       [ATH_N_COMPOUND] = ath_r_compound,
  [ATH_N_TABLE] = render_from_element,  [ATH_N_ALIAS] = render_from_element,
  [ATH_N_CTE] = render_from_element,    [ATH_N_JOIN] = render_from_element,
  [ATH_N_OVER] = render_over,           [ATH_N_FILTER] = render_filter,
  [ATH_N_WITHIN_GROUP] = render_within_group, [ATH_N_EXTRACT] = render_extract,
};

void ath_r_expr(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (r->st != ATH_OK) return;
  if (!n) { ath_r_fail(r, ATH_E_COMPILE, "missing expression"); return; }
  if (++r->depth > MAX_DEPTH) {
    ath_r_fail(r, ATH_E_COMPILE, "expression nested too deeply (over %d levels)", MAX_DEPTH);
    return;
  }
  render_fn fn = n->kind > 0 && n->kind < ATH_N__COUNT ? RENDER[n->kind] : NULL;
  if (fn) fn(r, n, sc);
  else
    ath_r_fail(r, ATH_E_COMPILE, "node kind %s cannot be rendered as an expression",
               n->kind == ATH_N_INSERT || n->kind == ATH_N_UPDATE || n->kind == ATH_N_DELETE
                 ? ath_kinds[n->kind].name : "(internal)");
  r->depth--;
}
