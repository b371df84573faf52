/* ath_check.c — is a statement tree one the renderer can read? Every node
 * of a kind the renderer knows, with the name and the arity ATH_NODE_KINDS
 * gives it (ath_sql.h), FROM elements where a column points, SET nodes in SET
 * lists. A tree from the Lua builders always passes; a hostile or corrupt
 * one (fuzzing, core.compile on hand-made tables) gets a CompileError naming
 * the node instead of a read past its end. Recursion is bounded by depth;
 * FROM elements are entered once (a recursive CTE reaches itself). */
#include "ath_sql.h"
#include <stdarg.h>
#include <string.h>

/* What each kind needs before the renderer may read it (a name, its arity,
 * which fixed slots must be filled) is ATH_NODE_KINDS, as ath_kinds[]. */
#define KIND_NAMES(k) (ath_kinds[k].name)
_Static_assert((int)ATH_UPDATE_SETS == (int)ATH_ONCONFLICT_SETS, "check_node reads both SET lists at one slot");

/* Deeper than the converter and the renderer allow: only a hand-made tree
 * gets here, and the bound keeps the walk's recursion small. */
#define MAX_CHECK_DEPTH 1000

static int is_from_kind(int kind) { return kind == ATH_N_TABLE || kind == ATH_N_ALIAS || kind == ATH_N_CTE; }

/* FROM elements already checked (shared by many columns; a recursive CTE
 * reaches itself through its own columns). */
typedef struct check_state {
  ath_error *err;
  ath_status st;                /* the first failure */
  const ath_node **seen;
  int nseen, capseen;
} check_state;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(check_state *cs, const char *fmt, ...) {
  if (cs->st != ATH_OK) return;
  va_list ap;
  va_start(ap, fmt);
  cs->st = ath_error_setv(cs->err, ATH_E_COMPILE, fmt, ap);
  va_end(ap);
}

/* 1 when n was seen already; otherwise records it (0). */
static int seen_before(check_state *cs, const ath_node *n) {
  for (int i = 0; i < cs->nseen; i++) if (cs->seen[i] == n) return 1;
  if (cs->nseen == cs->capseen) {
    int cap = cs->capseen ? cs->capseen * 2 : 8;
    const ath_node **nv = ath_realloc((void *)cs->seen, (size_t)cap * sizeof *nv);
    if (!nv) { if (cs->st == ATH_OK) cs->st = ath_error_nomem(cs->err); return 1; }
    cs->seen = nv;
    cs->capseen = cap;
  }
  cs->seen[cs->nseen++] = n;
  return 0;
}

static void check_node(check_state *cs, const ath_node *n, int depth);

static void check_slot_kind(check_state *cs, const ath_node *parent, int slot, int kind) {
  const ath_node *k = parent->kids[slot];
  if (k && k->kind != kind)
    fail(cs, "malformed %s node: child %d must be %s", KIND_NAMES(parent->kind), slot + 1,
         KIND_NAMES(kind));
}

/* The shape ATH_NODE_KINDS gives n's kind: a name where required, the
 * arity, the slots that must be filled. 0 on a failure. */
static int check_shape(check_state *cs, const ath_node *n) {
  const ath_kind_info *sh = &ath_kinds[n->kind];
  const char *what = sh->name;
  if (n->nkids < 0 || (n->nkids > 0 && !n->kids)) { fail(cs, "malformed %s node", what); return 0; }
  if ((sh->fields & ATH_FS_REQ) == ATH_FS_REQ && !n->s) {
    fail(cs, "malformed %s node: it has no name or operator", what);
    return 0;
  }
  if (n->nkids < sh->min_kids) {
    fail(cs, "malformed %s node: %d children, at least %d expected", what, n->nkids, sh->min_kids);
    return 0;
  }
  if (sh->max_kids != ATH_ANY && n->nkids > sh->max_kids) {
    fail(cs, "malformed %s node: %d children, at most %d expected", what, n->nkids, sh->max_kids);
    return 0;
  }
  for (int i = 0; i < 8 && i < n->nkids; i++) {
    if ((sh->filled & (1u << i)) && !n->kids[i]) {
      fail(cs, "malformed %s node: child %d is missing", what, i + 1);
      return 0;
    }
  }
  return 1;
}

static void check_bind(check_state *cs, const ath_node *n) {
  if ((n->flags & ATH_F_NAMED) ? !n->s : n->slot <= 0)
    fail(cs, "malformed bound parameter: %s", (n->flags & ATH_F_NAMED) ? "a named parameter without a name"
                                                                        : "no value slot");
  /* s2, the type a dialect with bind casts casts it to, is spelled by that
   * dialect: an athanor type, never SQL */
  if (n->s2 && cs->st == ATH_OK && !ath_cast_name_valid(n->s2, strlen(n->s2)))
    fail(cs, "malformed bound parameter: its cast '%.40s' is not a type name (an athanor type: "
         "JSON, Numeric(10, 2), ...)", n->s2);
}

/* UPDATE and ON CONFLICT: the SET list is a LIST of SET nodes. */
static void check_set_list(check_state *cs, const ath_node *n) {
  const ath_node *sets = n->kids[ATH_UPDATE_SETS];
  check_slot_kind(cs, n, ATH_UPDATE_SETS, ATH_N_LIST);            /* before reading its items */
  if (cs->st != ATH_OK) return;
  if (sets && sets->nkids > 0 && !sets->kids) { fail(cs, "malformed %s node", KIND_NAMES(n->kind)); return; }
  for (int i = 0; sets && i < sets->nkids; i++)
    if (!sets->kids[i] || sets->kids[i]->kind != ATH_N_SET) {
      fail(cs, "malformed %s node: its SET list holds something that is not a SET", KIND_NAMES(n->kind));
      return;
    }
}

/* What the renderer reads of a kind beyond its shape: slot kinds, a bind's
 * slot and cast, a CAST's type, a column's FROM element. */
static void check_contents(check_state *cs, const ath_node *n, int depth) {
  switch (n->kind) {
    case ATH_N_BIND: check_bind(cs, n); break;
    case ATH_N_COLUMN: case ATH_N_STAR:
      if (n->from && !is_from_kind(n->from->kind))
        fail(cs, "malformed %s node: it belongs to a %s, not a table", KIND_NAMES(n->kind),
             n->from->kind > 0 && n->from->kind < ATH_N__COUNT ? KIND_NAMES(n->from->kind) : "(unknown)");
      else check_node(cs, n->from, depth + 1);
      break;
    case ATH_N_CAST:
      if (!ath_cast_type_valid(n))
        fail(cs, "malformed CAST node: '%.60s' is not a type it can cast to (Integer, String(20), Numeric(10, 2), ...)",
             n->s);
      break;
    case ATH_N_CASE:
      if ((n->flags & ATH_F_ELSE) && n->nkids < 1) fail(cs, "malformed CASE node: ELSE without a value");
      break;
    case ATH_N_OVER:
      check_slot_kind(cs, n, ATH_OVER_PARTITION, ATH_N_LIST);
      check_slot_kind(cs, n, ATH_OVER_ORDER, ATH_N_LIST);
      break;
    case ATH_N_FILTER: check_slot_kind(cs, n, ATH_FILTER_FUNC, ATH_N_FUNC); break;
    case ATH_N_WITHIN_GROUP: check_slot_kind(cs, n, ATH_WITHIN_GROUP_ORDER, ATH_N_LIST); break;
    case ATH_N_SELECT:
      if (n->nkids > ATH_SELECT_DISTINCT_ON) check_slot_kind(cs, n, ATH_SELECT_DISTINCT_ON, ATH_N_LIST);
      break;
    case ATH_N_INSERT:
      check_slot_kind(cs, n, ATH_INSERT_TABLE, ATH_N_TABLE);
      check_slot_kind(cs, n, ATH_INSERT_CONFLICT, ATH_N_ONCONFLICT);
      break;
    case ATH_N_UPDATE: case ATH_N_ONCONFLICT: check_set_list(cs, n); break;
    default: break;
  }
}

static void check_node(check_state *cs, const ath_node *n, int depth) {
  if (!n || cs->st != ATH_OK) return;
  if (depth > MAX_CHECK_DEPTH) {
    fail(cs, "statement nested too deeply (over %d levels)", MAX_CHECK_DEPTH);
    return;
  }
  if (n->kind <= 0 || n->kind >= ATH_N__COUNT) {
    fail(cs, "malformed statement tree: unknown node kind %d", n->kind);
    return;
  }
  if (is_from_kind(n->kind) && seen_before(cs, n)) return;
  if (!check_shape(cs, n)) return;
  check_contents(cs, n, depth);
  for (int i = 0; i < n->nkids && cs->st == ATH_OK; i++) check_node(cs, n->kids[i], depth + 1);
}

ath_status ath_check_tree(const ath_node *root, ath_error *err) {
  check_state cs;
  memset(&cs, 0, sizeof cs);
  cs.err = err;
  cs.st = ATH_OK;
  check_node(&cs, root, 0);
  ath_free((void *)cs.seen);
  return cs.st;
}
