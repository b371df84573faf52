/* ath_compile.c — render a statement tree (ath_sql.h) as SQL for a dialect:
 * the entry point and the render state (ath_render.h lists the files that
 * render each part). Values never enter the text: every BIND becomes the
 * dialect's placeholder recorded in the bind list in placeholder order. What
 * a dialect lacks is a CompileError naming the construct and the dialect;
 * what it spells differently is read from its facts (ath_dialect), so the
 * Lua builders never branch on the dialect and neither does the renderer. */
#include "ath_render.h"
#include <stdarg.h>

/* Record the first failure of this rendering (later ones are consequences). */
ath_status ath_r_fail(ath_render *r, ath_status kind, const char *fmt, ...) {
  if (r->st == ATH_OK) {
    va_list ap;
    va_start(ap, fmt);
    r->st = ath_error_setv(r->err, kind, fmt, ap);
    va_end(ap);
  }
  return r->st;
}

ath_status ath_r_unsupported(ath_render *r, const char *construct) {
  return ath_r_fail(r, ATH_E_COMPILE, "%s is not supported by the %s dialect", construct, r->d->name);
}

void ath_r_ident(ath_render *r, const char *s, size_t len) { ath_quote_ident(&r->sql, r->d, s, len); }

/* ------------------------------------------------------------------ binds */

/* The placeholder of the bind just added (1-based n), in the dialect's style. */
static void placeholder(ath_render *r, int n) {
  switch (r->d->paramstyle) {
    case ATH_PARAM_NUMERIC_DOLLAR: ath_buf_printf(&r->sql, "$%d", n); break;
    case ATH_PARAM_NUMERIC: ath_buf_printf(&r->sql, ":%d", n); break;
    default: PUTC('?'); break;
  }
}

/* The placeholder number of a value already bound in this statement
 * (the same slot, or the same name), or 0. Only numbered placeholders can
 * name one value twice; `?` takes each occurrence's value in turn. */
static int bound_before(const ath_render *r, int slot, const char *name, size_t namelen) {
  if (r->d->paramstyle != ATH_PARAM_NUMERIC_DOLLAR && r->d->paramstyle != ATH_PARAM_NUMERIC) return 0;
  for (int i = 0; i < r->nbinds; i++) {
    const ath_bindref *b = &r->binds[i];
    if (name ? (b->name && strlen(b->name) == namelen && memcmp(b->name, name, namelen) == 0)
             : (b->slot == slot)) return i + 1;
  }
  return 0;
}

void ath_r_add_bind(ath_render *r, int slot, const char *name, size_t namelen, int once) {
  if (once) {
    int again = bound_before(r, slot, name, namelen);
    if (again) { placeholder(r, again); return; }
  }
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
  placeholder(r, r->nbinds);
}

void ath_r_free_binds(ath_render *r) {
  for (int i = 0; i < r->nbinds; i++) ath_free(r->binds[i].name);
  ath_free(r->binds);
  r->binds = NULL;
  r->nbinds = r->capbinds = 0;
}

/* ---------------------------------------------------------- pointer sets */

int ath_r_ptrset_has(const ath_ptrset *s, const ath_node *p) {
  for (int i = 0; i < s->n; i++) if (s->v[i] == p) return 1;
  return 0;
}

void ath_r_ptrset_add(ath_render *r, ath_ptrset *s, const ath_node *p) {
  if (ath_r_ptrset_has(s, p)) return;
  if (s->n == s->cap) {
    int cap = s->cap ? s->cap * 2 : 8;
    const ath_node **nv = ath_realloc((void *)s->v, (size_t)cap * sizeof *nv);
    if (!nv) { r->st = ath_error_nomem(r->err); return; }
    s->v = nv;
    s->cap = cap;
  }
  s->v[s->n++] = p;
}

/* --------------------------------------------------------------- entry */

void ath_compiled_free(ath_compiled *c) {
  if (!c) return;
  for (int i = 0; i < c->nbinds; i++) ath_free(c->binds[i].name);
  ath_free(c->binds);
  ath_free(c->sql);
  ath_free(c);
}

static int has_items(const ath_node *list) { return list && list->nkids > 0; }

/* Render the statement (or bare expression) root; 1 when it returns rows. */
static int render_root(ath_render *r, const ath_node *root) {
  switch (root->kind) {
    case ATH_N_SELECT: case ATH_N_COMPOUND:
      ath_r_with_clause(r, root);
      if (root->kind == ATH_N_SELECT) ath_r_select(r, root, NULL, 0);
      else ath_r_compound(r, root, NULL);
      return 1;
    case ATH_N_INSERT:
      ath_r_with_clause(r, root);
      ath_r_insert(r, root);
      return has_items(root->kids[ATH_INSERT_RETURNING]);
    case ATH_N_UPDATE:
      ath_r_with_clause(r, root);
      ath_r_update(r, root);
      return has_items(root->kids[ATH_UPDATE_RETURNING]);
    case ATH_N_DELETE:
      ath_r_with_clause(r, root);
      ath_r_delete(r, root);
      return has_items(root->kids[ATH_DELETE_RETURNING]);
    default:
      ath_r_expr(r, root, NULL);                  /* a bare expression (tostring of a clause) */
      return 0;
  }
}

ath_status ath_compile(const ath_node *root, const ath_dialect *d, ath_compiled **out, ath_error *err) {
  ath_render r;
  memset(&r, 0, sizeof r);
  r.d = d;
  r.err = err;
  *out = NULL;
  if (!d || !d->name) return ath_error_set(err, ATH_E_ARGUMENT, "no dialect to compile for");
  if (!root) return ath_error_set(err, ATH_E_COMPILE, "nothing to compile");
  r.st = ath_check_tree(root, err);              /* a malformed tree: CompileError, nothing read past a node */
  int returns_rows = r.st == ATH_OK ? render_root(&r, root) : 0;
  if (r.st == ATH_OK && r.sql.oom) r.st = ath_error_nomem(err);
  ath_compiled *c = NULL;
  if (r.st == ATH_OK) {
    c = ath_calloc(1, sizeof *c);
    if (!c) r.st = ath_error_nomem(err);
  }
  ath_free((void *)r.ctes);
  if (r.st == ATH_OK) {
    size_t len = 0;
    c->sql = ath_buf_detach(&r.sql, &len);
    if (!c->sql) c->sql = ath_strdup("");        /* an empty rendering */
    if (!c->sql) { ath_free(c); r.st = ath_error_nomem(err); }
    else c->sqllen = len;
  }
  if (r.st != ATH_OK) {
    ath_r_free_binds(&r);
    ath_buf_free(&r.sql);
    return r.st;
  }
  c->binds = r.binds;
  c->nbinds = r.nbinds;
  c->returns_rows = returns_rows;
  *out = c;
  return ATH_OK;
}
