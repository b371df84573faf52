/* ath_render.h — the renderer's internals, shared by its files (not part of
 * the compiler's interface, ath_sql.h):
 *   ath_compile.c        the entry point, the render state, binds, failures
 *   ath_render_expr.c    one render function per expression kind (a table
 *                        indexed by kind), precedence and operands
 *   ath_render_text.c    text(): :name placeholders by the dialect's lexing
 *   ath_render_select.c  SELECT: FROM inference and correlation, its clauses,
 *                        LIMIT/OFFSET, row locks, compounds, CTEs, FROM items
 *   ath_render_dml.c     INSERT, UPDATE, DELETE, RETURNING
 * Every function reads what the dialect does from r->d (ath_dialect), never
 * which dialect it is.
 * Must not include: lua.h, driver or engine headers. */
#ifndef ATH_RENDER_H
#define ATH_RENDER_H
#include "ath_sql.h"
#include <string.h>

/* FROM elements visible to a SELECT being rendered, for correlation. */
typedef struct ath_scope {
  const ath_node **items;
  int n;
  const struct ath_scope *outer;
} ath_scope;

/* Rendering modes of a column reference. */
enum { COL_QUALIFIED = 0, COL_BARE = 1 };

typedef struct ath_render {
  const ath_dialect *d;
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
} ath_render;

/* Growable pointer set, in insertion order. */
typedef struct ath_ptrset { const ath_node **v; int n, cap; } ath_ptrset;

#define MAX_DEPTH 200
#define PUTS(s) ath_buf_puts(&r->sql, (s))
#define PUTC(c) ath_buf_putc(&r->sql, (c))

/* ath_compile.c */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
ATH_HIDDEN ath_status ath_r_fail(ath_render *r, ath_status kind, const char *fmt, ...);
/* CompileError: "<construct> is not supported by the <name> dialect". */
ATH_HIDDEN ath_status ath_r_unsupported(ath_render *r, const char *construct);
ATH_HIDDEN void ath_r_ident(ath_render *r, const char *s, size_t len);
/* A placeholder for a bound value (slot > 0) or a named one. With `once`,
 * numbered placeholders ($n, :n) reuse the number of the same slot or name
 * bound earlier in the statement instead of adding another. */
ATH_HIDDEN void ath_r_add_bind(ath_render *r, int slot, const char *name, size_t namelen, int once);
ATH_HIDDEN void ath_r_free_binds(ath_render *r);
ATH_HIDDEN int ath_r_ptrset_has(const ath_ptrset *s, const ath_node *p);
ATH_HIDDEN void ath_r_ptrset_add(ath_render *r, ath_ptrset *s, const ath_node *p);

/* ath_render_expr.c */
ATH_HIDDEN void ath_r_expr(ath_render *r, const ath_node *n, const ath_scope *sc);
ATH_HIDDEN void ath_r_list(ath_render *r, const ath_node *n, const ath_scope *sc);
/* A LIST of column names, unqualified: (a, b) */
ATH_HIDDEN void ath_r_bare_list(ath_render *r, const ath_node *n);
/* A columns clause (SELECT list, RETURNING): a label item is `x AS name`. */
ATH_HIDDEN void ath_r_column_list(ath_render *r, const ath_node *n, const ath_scope *sc);
/* The name a FROM element is referred to by in column qualifiers. */
ATH_HIDDEN const char *ath_r_from_name(const ath_node *f);
/* A subquery where it may correlate (scalar, EXISTS, IN, ANY): a SELECT
 * correlated to sc, or a compound. */
ATH_HIDDEN void ath_r_subquery(ath_render *r, const ath_node *q, const ath_scope *sc);

/* ath_render_text.c */
ATH_HIDDEN void ath_r_text(ath_render *r, const ath_node *n, const ath_scope *sc);

/* ath_render_select.c */
/* outer: the FROM elements of the enclosing queries (NULL for a statement or
 * a subquery in FROM); correlate: 1 where a subquery is an expression. */
ATH_HIDDEN void ath_r_select(ath_render *r, const ath_node *n, const ath_scope *outer, int correlate);
ATH_HIDDEN void ath_r_compound(ath_render *r, const ath_node *n, const ath_scope *sc);
ATH_HIDDEN void ath_r_from_element(ath_render *r, const ath_node *n, const ath_scope *sc);
ATH_HIDDEN void ath_r_with_clause(ath_render *r, const ath_node *root);

/* ath_render_dml.c */
ATH_HIDDEN void ath_r_insert(ath_render *r, const ath_node *n);
ATH_HIDDEN void ath_r_update(ath_render *r, const ath_node *n);
ATH_HIDDEN void ath_r_delete(ath_render *r, const ath_node *n);

#endif
