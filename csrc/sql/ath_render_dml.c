/* ath_render_dml.c — INSERT (rows, from a SELECT, or defaults; the upsert in
 * the dialect's form), UPDATE, DELETE and their RETURNING clause. */
#include "ath_render.h"

static void returning(ath_render *r, const ath_node *cols, const ath_scope *sc) {
  if (!cols || !cols->nkids) return;
  if (!r->d->returning) { ath_r_unsupported(r, "RETURNING"); return; }
  int saved = r->colmode;
  r->colmode = COL_BARE;
  PUTS(" RETURNING ");
  ath_r_column_list(r, cols, sc);
  r->colmode = saved;
}

/* column = value, ... (the columns unqualified) */
static void set_list(ath_render *r, const ath_node *sets, const ath_scope *sc) {
  for (int i = 0; sets && i < sets->nkids; i++) {
    const ath_node *s = sets->kids[i];
    if (!s || s->nkids < ATH_SET__N) { ath_r_fail(r, ATH_E_COMPILE, "malformed SET node"); return; }
    if (i) PUTS(", ");
    int saved = r->colmode;
    r->colmode = COL_BARE;
    ath_r_expr(r, s->kids[ATH_SET_COLUMN], sc);
    r->colmode = saved;
    PUTS(" = ");
    ath_r_expr(r, s->kids[ATH_SET_VALUE], sc);
  }
}

/* An ONCONFLICT node without SET items is DO NOTHING. */
static int does_nothing(const ath_node *conflict) {
  const ath_node *sets = conflict ? conflict->kids[ATH_ONCONFLICT_SETS] : NULL;
  return conflict && !(sets && sets->nkids);
}

/* VALUES (...), (...) | SELECT ... | the dialect's empty insert */
static void insert_source(ath_render *r, const ath_node *n) {
  const ath_node *cols = n->kids[ATH_INSERT_COLUMNS], *rows = n->kids[ATH_INSERT_ROWS];
  int ncols = cols ? cols->nkids : 0;
  if (ncols) { PUTC(' '); ath_r_bare_list(r, cols); }
  if (n->kids[ATH_INSERT_SELECT]) {
    PUTC(' ');
    ath_r_select(r, n->kids[ATH_INSERT_SELECT], NULL, 0);
    return;
  }
  if (!ncols) { PUTS(r->d->empty_insert); return; }
  PUTS(" VALUES ");
  for (int i = 0; rows && i < rows->nkids; i++) {
    if (i) PUTS(", ");
    const ath_node *row = rows->kids[i];
    if (!row || row->nkids != ncols) {
      ath_r_fail(r, ATH_E_COMPILE, "an INSERT row has a different number of values than columns");
      return;
    }
    PUTC('(');
    ath_r_list(r, row, NULL);
    PUTC(')');
  }
}

/* ON CONFLICT [(target)] DO NOTHING | DO UPDATE SET ... [WHERE ...] */
static void on_conflict(ath_render *r, const ath_node *conflict, const ath_scope *sc) {
  const ath_node *target = conflict->kids[ATH_ONCONFLICT_TARGET], *where = conflict->kids[ATH_ONCONFLICT_WHERE];
  int nothing = does_nothing(conflict);
  PUTS(" ON CONFLICT");
  if (target && target->nkids) {
    PUTC(' ');
    ath_r_bare_list(r, target);
  } else if (!nothing) {
    ath_r_fail(r, ATH_E_COMPILE, "ON CONFLICT DO UPDATE needs index_elements (the conflict target) on the %s dialect",
               r->d->name);
    return;
  }
  if (nothing) { PUTS(" DO NOTHING"); return; }
  PUTS(" DO UPDATE SET ");
  set_list(r, conflict->kids[ATH_ONCONFLICT_SETS], sc);
  if (where) { PUTS(" WHERE "); ath_r_expr(r, where, sc); }
}

/* ON DUPLICATE KEY UPDATE ... (DO NOTHING is INSERT IGNORE, written before) */
static void on_duplicate_key(ath_render *r, const ath_node *conflict, const ath_scope *sc) {
  if (does_nothing(conflict)) return;
  if (conflict->kids[ATH_ONCONFLICT_WHERE]) { ath_r_unsupported(r, "ON CONFLICT DO UPDATE ... WHERE"); return; }
  PUTS(" ON DUPLICATE KEY UPDATE ");
  set_list(r, conflict->kids[ATH_ONCONFLICT_SETS], sc);
}

void ath_r_insert(ath_render *r, const ath_node *n) {
  const ath_node *table = n->kids[ATH_INSERT_TABLE], *conflict = n->kids[ATH_INSERT_CONFLICT];
  ath_node *self[1] = { (ath_node *)table };
  ath_scope sc = { (const ath_node **)self, 1, NULL };
  int duplicate_key = r->d->upsert == ATH_UPSERT_ON_DUPLICATE_KEY;
  PUTS(duplicate_key && does_nothing(conflict) ? "INSERT IGNORE INTO " : "INSERT INTO ");
  ath_r_ident(r, table->s, table->slen);
  insert_source(r, n);
  if (conflict && r->st == ATH_OK) {
    if (duplicate_key) on_duplicate_key(r, conflict, &sc);
    else on_conflict(r, conflict, &sc);
  }
  if (r->st == ATH_OK) returning(r, n->kids[ATH_INSERT_RETURNING], &sc);
}

void ath_r_update(ath_render *r, const ath_node *n) {
  const ath_node *table = n->kids[ATH_UPDATE_TABLE], *sets = n->kids[ATH_UPDATE_SETS];
  ath_node *self[1] = { (ath_node *)table };
  ath_scope sc = { (const ath_node **)self, 1, NULL };
  PUTS("UPDATE ");
  ath_r_from_element(r, table, NULL);
  PUTS(" SET ");
  if (!sets || !sets->nkids) { ath_r_fail(r, ATH_E_COMPILE, "UPDATE without values"); return; }
  set_list(r, sets, &sc);
  if (n->kids[ATH_UPDATE_WHERE]) { PUTS(" WHERE "); ath_r_expr(r, n->kids[ATH_UPDATE_WHERE], &sc); }
  returning(r, n->kids[ATH_UPDATE_RETURNING], &sc);
}

void ath_r_delete(ath_render *r, const ath_node *n) {
  const ath_node *table = n->kids[ATH_DELETE_TABLE];
  ath_node *self[1] = { (ath_node *)table };
  ath_scope sc = { (const ath_node **)self, 1, NULL };
  PUTS("DELETE FROM ");
  ath_r_from_element(r, table, NULL);
  if (n->kids[ATH_DELETE_WHERE]) { PUTS(" WHERE "); ath_r_expr(r, n->kids[ATH_DELETE_WHERE], &sc); }
  returning(r, n->kids[ATH_DELETE_RETURNING], &sc);
}
