/* ath_render_select.c — SELECT and what surrounds it: the FROM list (the
 * explicit items plus those the clauses reference, minus those correlated
 * to an enclosing query: from_list), the clauses in order, ORDER/GROUP BY
 * terms by label, one LIMIT/OFFSET clause (SELECT and compounds), row locks,
 * compounds, FROM items (tables, subqueries, joins) and the WITH clause. */
#include "ath_render.h"
#include <stdio.h>

/* ------------------------------------------------------------ FROM items */

void ath_r_from_element(ath_render *r, const ath_node *n, const ath_scope *sc) {
  if (r->st != ATH_OK) return;
  if (!n) { ath_r_fail(r, ATH_E_COMPILE, "missing FROM element"); return; }
  switch (n->kind) {
    case ATH_N_TABLE: case ATH_N_CTE:
      ath_r_ident(r, n->s, n->slen);
      if (n->s2) { PUTS(" AS "); ath_r_ident(r, n->s2, strlen(n->s2)); }   /* an alias; cte:alias(name) */
      break;
    case ATH_N_ALIAS: {
      /* LATERAL: the subquery sees the FROM items of the select around it */
      int lateral = (n->flags & ATH_F_LATERAL) != 0;
      if (lateral && !r->d->lateral) { ath_r_unsupported(r, "LATERAL"); return; }
      if (lateral) PUTS("LATERAL ");
      PUTC('(');
      const ath_node *q = n->kids[ATH_ALIAS_QUERY];
      if (q && q->kind == ATH_N_SELECT) ath_r_select(r, q, lateral ? sc : NULL, lateral);
      else ath_r_expr(r, q, NULL);
      PUTS(") AS ");
      ath_r_ident(r, n->s, n->slen);
      break;
    }
    case ATH_N_JOIN: {
      if ((n->flags & ATH_F_FULL) && !r->d->full_join) { ath_r_unsupported(r, "FULL OUTER JOIN"); return; }
      ath_r_from_element(r, n->kids[ATH_JOIN_LEFT], sc);
      PUTS(n->flags & ATH_F_FULL ? " FULL OUTER JOIN " : n->flags & ATH_F_OUTER ? " LEFT OUTER JOIN " : " JOIN ");
      const ath_node *right = n->kids[ATH_JOIN_RIGHT];
      int paren = right && right->kind == ATH_N_JOIN;
      if (paren) PUTC('(');
      ath_r_from_element(r, right, sc);
      if (paren) PUTC(')');
      PUTS(" ON ");
      ath_r_expr(r, n->kids[ATH_JOIN_ON], sc);
      break;
    }
    default:
      ath_r_fail(r, ATH_E_COMPILE, "cannot select FROM this kind of expression");
  }
}

/* ------------------------------------------------- FROM inference, correlation */

/* The FROM elements an explicit FROM item covers (a join covers both sides). */
static void covered_by(ath_render *r, ath_ptrset *s, const ath_node *n) {
  if (!n) return;
  if (n->kind == ATH_N_JOIN) {
    covered_by(r, s, n->kids[ATH_JOIN_LEFT]);
    covered_by(r, s, n->kids[ATH_JOIN_RIGHT]);
  } else {
    ath_r_ptrset_add(r, s, n);
  }
}

/* FROM elements referenced by an expression's columns, not descending into
 * subqueries (they have FROM clauses of their own). */
static void referenced(ath_render *r, ath_ptrset *s, const ath_node *n) {
  if (!n || r->st != ATH_OK) return;
  switch (n->kind) {
    case ATH_N_COLUMN: case ATH_N_STAR:
      if (n->from && !(n->from->flags & ATH_F_PSEUDO) && n->from->kind != ATH_N_JOIN) ath_r_ptrset_add(r, s, n->from);
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
static int in_level(const ath_scope *sc, const ath_node *f) {
  for (int i = 0; i < sc->n; i++) if (sc->items[i] == f) return 1;
  return 0;
}

static int in_scope(const ath_scope *sc, const ath_node *f) {
  for (; sc; sc = sc->outer)
    if (in_level(sc, f)) return 1;
  return 0;
}

/* 1 when f is one of the FROM elements of the correlate() list. */
static int listed(const ath_node *lst, const ath_node *f) {
  for (int i = 0; lst && i < lst->nkids; i++) if (lst->kids[i] == f) return 1;
  return 0;
}

/* Fail with InvalidRequestError: the SELECT n would render without a FROM
 * because every FROM element it has is correlated to an enclosing query.
 * The statement is named by its SQL rendered on its own (uncorrelated). */
static void no_from_left(ath_render *r, const ath_node *n, const ath_ptrset *dropped, int explicit_correlate) {
  ath_render alone;
  ath_error scratch;
  memset(&alone, 0, sizeof alone);
  alone.d = r->d;
  alone.err = &scratch;
  ath_r_select(&alone, n, NULL, 0);
  int shown = alone.st == ATH_OK && !alone.sql.oom && alone.sql.data;
  int len = shown ? (alone.sql.len > 200 ? 200 : (int)alone.sql.len) : 8;
  const char *sql = shown ? alone.sql.data : "a SELECT";
  const char *more = shown && alone.sql.len > 200 ? "..." : "";
  if (explicit_correlate) {
    char names[160];
    size_t used = 0;
    names[0] = '\0';
    for (int i = 0; i < dropped->n && used + 2 < sizeof names; i++)
      used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                               ath_r_from_name(dropped->v[i]));
    ath_r_fail(r, ATH_E_INVALID_REQUEST, "Select statement '%.*s%s' returned no FROM clauses due to correlate(%s): "
               "every table it selects from is in the enclosing query; correlate fewer tables so it keeps a FROM "
               "of its own", len, sql, more, names);
  } else {
    ath_r_fail(r, ATH_E_INVALID_REQUEST, "Select statement '%.*s%s' returned no FROM clauses due to "
               "auto-correlation; specify correlate(<tables>) to control correlation manually", len, sql, more);
  }
  ath_r_free_binds(&alone);
  ath_free((void *)alone.ctes);
  ath_buf_free(&alone.sql);
}

/* Correlation, as SQLAlchemy's: correlate(t...) drops the listed elements
 * any enclosing query has (and no others). Without it, a subquery used as an
 * expression drops those the nearest enclosing query has, only when it has
 * more than one, so a subquery on one table keeps its FROM. Dropping all is
 * an InvalidRequestError: the SELECT would have no FROM. Then (beyond
 * SQLAlchemy, which leaves them in) elements of queries further out are
 * dropped too when a FROM still remains. */
static void correlate_froms(ath_render *r, const ath_node *n, ath_ptrset *froms, const ath_scope *outer,
                            int correlate) {
  const ath_node *corr = n->kids[ATH_SELECT_CORRELATE];
  int except = (n->flags & ATH_F_CORRELATE_EXCEPT) != 0;   /* correlate_except(): the list stays inside */
  int explicit_correlate = except || (corr && corr->nkids > 0);
  if (!outer || !(explicit_correlate || (correlate && froms->n > 1))) return;
  ath_ptrset dropped = { 0 };
  int kept = 0;
  for (int i = 0; i < froms->n; i++) {
    const ath_node *f = froms->v[i];
    int drop = explicit_correlate ? listed(corr, f) != except && in_scope(outer, f) : in_level(outer, f);
    if (drop) ath_r_ptrset_add(r, &dropped, f);
    else froms->v[kept++] = f;
  }
  froms->n = kept;
  if (kept == 0 && dropped.n > 0 && r->st == ATH_OK) no_from_left(r, n, &dropped, explicit_correlate);
  ath_free((void *)dropped.v);
  if (explicit_correlate || !outer->outer) return;
  int further = 0;
  for (int i = 0; i < froms->n; i++) further += in_scope(outer->outer, froms->v[i]);
  if (further == 0 || further == froms->n) return;
  kept = 0;
  for (int i = 0; i < froms->n; i++)
    if (!in_scope(outer->outer, froms->v[i])) froms->v[kept++] = froms->v[i];
  froms->n = kept;
}

/* The FROM list of the SELECT n: its explicit items (select_from, joins) in
 * order, then the elements the clauses' columns reference that no explicit
 * item covers, less those correlated to the enclosing queries. */
static void from_list(ath_render *r, const ath_node *n, ath_ptrset *froms, const ath_scope *outer, int correlate) {
  ath_ptrset covered = { 0 }, inferred = { 0 };
  const ath_node *explicit_from = n->kids[ATH_SELECT_FROM];
  for (int i = 0; explicit_from && i < explicit_from->nkids; i++) {
    covered_by(r, &covered, explicit_from->kids[i]);
    ath_r_ptrset_add(r, froms, explicit_from->kids[i]);
  }
  for (int slot = 0; slot < n->nkids; slot++) {
    if (slot == ATH_SELECT_FROM || slot == ATH_SELECT_CTES || slot == ATH_SELECT_CORRELATE ||
        slot == ATH_SELECT_LIMIT || slot == ATH_SELECT_OFFSET) continue;
    referenced(r, &inferred, n->kids[slot]);
  }
  for (int i = 0; i < inferred.n; i++)
    if (!ath_r_ptrset_has(&covered, inferred.v[i])) ath_r_ptrset_add(r, froms, inferred.v[i]);
  ath_free((void *)covered.v);
  ath_free((void *)inferred.v);
  correlate_froms(r, n, froms, outer, correlate);
}

/* --------------------------------------------------------------- clauses */

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

/* 1 when the label t is a label of the columns clause cols. */
static int labels_a_column(const ath_node *t, const ath_node *cols) {
  for (int j = 0; cols && j < cols->nkids; j++) {
    const ath_node *c = cols->kids[j];
    if (c && c->kind == ATH_N_LABEL && c->nkids == 1 && c->slen == t->slen && !memcmp(c->s, t->s, t->slen) &&
        same_shape(c->kids[ATH_LABEL_ELEMENT], t->kids[ATH_LABEL_ELEMENT]))
      return 1;
  }
  return 0;
}

/* ORDER BY / GROUP BY terms. A term that is a label (under ASC, DESC, NULLS
 * ... in ORDER BY) of the columns clause `cols` renders as its name, as
 * SQLAlchemy does; one the columns clause lacks renders its expression. */
static void order_terms(ath_render *r, const ath_node *terms, const ath_node *cols, int modifiers,
                        const ath_scope *sc) {
  const ath_node *saved = r->label_ref;
  for (int i = 0; i < terms->nkids && r->st == ATH_OK; i++) {
    const ath_node *t = terms->kids[i];
    while (modifiers && t && t->kind == ATH_N_POSTFIX && t->nkids == 1 && strncmp(t->s, "IS", 2))
      t = t->kids[ATH_POSTFIX_OPERAND];
    r->label_ref = t && t->kind == ATH_N_LABEL && t->nkids == 1 && labels_a_column(t, cols) ? t : NULL;
    if (i) PUTS(", ");
    ath_r_expr(r, terms->kids[i], sc);
  }
  r->label_ref = saved;
}

/* LIMIT and OFFSET of a SELECT or a compound; an OFFSET without a LIMIT
 * gets the dialect's "no limit" where it needs one (LIMIT -1). */
static void limit_offset(ath_render *r, const ath_node *limit, const ath_node *offset, const ath_scope *sc) {
  if (limit) { PUTS(" LIMIT "); ath_r_expr(r, limit, sc); }
  else if (offset && r->d->limit_all) { PUTC(' '); PUTS(r->d->limit_all); }
  if (offset) { PUTS(" OFFSET "); ath_r_expr(r, offset, sc); }
}

/* FOR UPDATE / FOR SHARE [NOWAIT | SKIP LOCKED]. A dialect without row
 * locks (SQLite locks the whole database for a write transaction) leaves
 * the clause out, as SQLAlchemy does. */
static void row_lock(ath_render *r, int flags) {
  if (!(flags & (ATH_F_FOR_UPDATE | ATH_F_FOR_SHARE)) || !r->d->row_locks) return;
  PUTS(flags & ATH_F_FOR_SHARE ? " FOR SHARE" : " FOR UPDATE");
  if (flags & ATH_F_NOWAIT) PUTS(" NOWAIT");
  if (flags & ATH_F_SKIP_LOCKED) PUTS(" SKIP LOCKED");
}

/* SELECT [DISTINCT [ON (...)]] columns */
static void select_head(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *on = n->nkids > ATH_SELECT_DISTINCT_ON ? n->kids[ATH_SELECT_DISTINCT_ON] : NULL;
  PUTS("SELECT ");
  if (on && on->nkids) {
    /* a CompileError where there is none (SQLAlchemy 1.4 dropped it silently there, which changes the rows) */
    if (!r->d->distinct_on) { ath_r_unsupported(r, "DISTINCT ON"); return; }
    PUTS("DISTINCT ON (");
    ath_r_list(r, on, sc);
    PUTS(") ");
  } else if (n->flags & ATH_F_DISTINCT) {
    PUTS("DISTINCT ");
  }
  ath_r_column_list(r, n->kids[ATH_SELECT_COLUMNS], sc);
}

/* The clauses after FROM. */
static void select_tail(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *const *k = (const ath_node *const *)n->kids;
  if (k[ATH_SELECT_WHERE]) { PUTS(" WHERE "); ath_r_expr(r, k[ATH_SELECT_WHERE], sc); }
  if (k[ATH_SELECT_GROUP] && k[ATH_SELECT_GROUP]->nkids) {
    PUTS(" GROUP BY ");
    order_terms(r, k[ATH_SELECT_GROUP], k[ATH_SELECT_COLUMNS], 0, sc);
  }
  if (k[ATH_SELECT_HAVING]) { PUTS(" HAVING "); ath_r_expr(r, k[ATH_SELECT_HAVING], sc); }
  if (k[ATH_SELECT_ORDER] && k[ATH_SELECT_ORDER]->nkids) {
    PUTS(" ORDER BY ");
    order_terms(r, k[ATH_SELECT_ORDER], k[ATH_SELECT_COLUMNS], 1, sc);
  }
  limit_offset(r, k[ATH_SELECT_LIMIT], k[ATH_SELECT_OFFSET], sc);
  row_lock(r, n->flags);
}

void ath_r_select(ath_render *r, const ath_node *n, const ath_scope *outer, int correlate) {
  if (r->st != ATH_OK) return;
  if (!n || n->kind != ATH_N_SELECT) {
    if (n && n->kind == ATH_N_COMPOUND) { ath_r_expr(r, n, outer); return; }
    ath_r_fail(r, ATH_E_COMPILE, "expected a SELECT");
    return;
  }
  /* a nested SELECT renders its own clauses: qualified columns, labels as
   * definitions, whatever context (ORDER BY, RETURNING...) it sits in */
  int saved_colmode = r->colmode, saved_in_order = r->in_order;
  const ath_node *saved_label_ref = r->label_ref;
  r->colmode = COL_QUALIFIED;
  r->in_order = 0;
  r->label_ref = NULL;
  ath_ptrset froms = { 0 }, visible = { 0 };
  from_list(r, n, &froms, outer, correlate);
  for (int i = 0; i < froms.n; i++) covered_by(r, &visible, froms.v[i]);
  ath_scope sc = { visible.v, visible.n, correlate ? outer : NULL };
  if (r->st == ATH_OK) {
    select_head(r, n, &sc);
    for (int i = 0; i < froms.n; i++) {
      PUTS(i ? ", " : " FROM ");
      ath_r_from_element(r, froms.v[i], &sc);
    }
    select_tail(r, n, &sc);
  }
  ath_free((void *)froms.v);
  ath_free((void *)visible.v);
  r->colmode = saved_colmode;
  r->in_order = saved_in_order;
  r->label_ref = saved_label_ref;
}

/* SELECT ... UNION SELECT ... [ORDER BY result columns] [LIMIT/OFFSET] */
void ath_r_compound(ath_render *r, const ath_node *n, const ath_scope *sc) {
  const ath_node *sels = n->kids[ATH_COMPOUND_SELECTS];
  const ath_node *order = n->nkids > ATH_COMPOUND_ORDER ? n->kids[ATH_COMPOUND_ORDER] : NULL;
  for (int i = 0; sels && i < sels->nkids; i++) {
    if (i) { PUTC(' '); PUTS(n->s); PUTC(' '); }
    ath_r_select(r, sels->kids[i], sc, 0);
  }
  if (order && order->nkids) {
    int saved = r->colmode, saved_order = r->in_order;
    r->colmode = COL_BARE;                          /* compound ORDER BY names result columns */
    r->in_order = 1;
    PUTS(" ORDER BY ");
    ath_r_list(r, order, sc);
    r->colmode = saved;
    r->in_order = saved_order;
  }
  limit_offset(r, n->nkids > ATH_COMPOUND_LIMIT ? n->kids[ATH_COMPOUND_LIMIT] : NULL,
               n->nkids > ATH_COMPOUND_OFFSET ? n->kids[ATH_COMPOUND_OFFSET] : NULL, sc);
}

/* ------------------------------------------------------------------- CTEs */

static int same_cte(const ath_node *a, const ath_node *b) {
  return a == b || (a->slen == b->slen && !memcmp(a->s, b->s, a->slen));
}

static void cte_push(ath_render *r, const ath_node *c) {
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
static void collect_ctes(ath_render *r, const ath_node *n, ath_ptrset *pending) {
  if (!n || r->st != ATH_OK) return;
  if (n->kind == ATH_N_CTE) {
    for (int i = 0; i < r->nctes; i++) if (same_cte(r->ctes[i], n)) return;
    for (int i = 0; i < pending->n; i++) if (same_cte(pending->v[i], n)) return;
    ath_r_ptrset_add(r, pending, n);
    for (int i = 0; i < n->nkids; i++) collect_ctes(r, n->kids[i], pending);
    cte_push(r, n);
    return;
  }
  if (n->from) collect_ctes(r, n->from, pending);
  for (int i = 0; i < n->nkids; i++) collect_ctes(r, n->kids[i], pending);
}

/* name [(columns)] AS (body) */
static void cte_definition(ath_render *r, const ath_node *c) {
  ath_r_ident(r, c->s, c->slen);
  const ath_node *cols = c->nkids > ATH_CTE_COLUMNS ? c->kids[ATH_CTE_COLUMNS] : NULL;
  if (cols && cols->nkids) ath_r_bare_list(r, cols);   /* a recursive CTE names its columns: (a, b) AS (...) */
  PUTS(" AS (");
  const ath_node *body = c->nkids > 0 ? c->kids[ATH_CTE_QUERY] : NULL;   /* none: "missing expression" */
  if (body && body->kind == ATH_N_SELECT) ath_r_select(r, body, NULL, 0);
  else ath_r_expr(r, body, NULL);
  PUTC(')');
}

void ath_r_with_clause(ath_render *r, const ath_node *root) {
  ath_ptrset pending = { 0 };
  collect_ctes(r, root, &pending);
  ath_free((void *)pending.v);
  if (r->nctes == 0 || r->st != ATH_OK) return;
  int recursive = 0;
  for (int i = 0; i < r->nctes; i++) if (r->ctes[i]->flags & ATH_F_RECURSIVE) recursive = 1;
  PUTS(recursive ? "WITH RECURSIVE " : "WITH ");
  for (int i = 0; i < r->nctes; i++) {
    if (i) PUTS(", ");
    cte_definition(r, r->ctes[i]);
  }
  PUTC(' ');
}
