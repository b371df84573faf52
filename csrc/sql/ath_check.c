/* ath_check.c — is a statement tree one the renderer can read? Every node
 * of a kind the renderer knows, with the name and child slots it indexes
 * (ath_sql.h), FROM elements where a column points, SET nodes in SET
 * lists. A tree from the Lua builders always passes; a hostile or corrupt
 * one (fuzzing, core.compile on hand-made tables) gets a CompileError naming
 * the node instead of a read past its end. Recursion is bounded by depth;
 * FROM elements are entered once (a recursive CTE reaches itself). */
#include "ath_sql.h"
#include <stdarg.h>
#include <string.h>

/* What each kind needs before the renderer may read it: a name (s), a
 * minimum number of child slots, and which fixed slots must be filled. */
typedef struct shape {
  unsigned char needs_s;
  unsigned char min_kids;
  unsigned char filled;          /* bit i: kids[i] must not be NULL */
} shape;

static const shape SHAPES[ATH_N__COUNT] = {
  [ATH_N_COLUMN] = { 1, 0, 0 },       [ATH_N_TABLE] = { 1, 0, 0 },
  [ATH_N_ALIAS] = { 1, 1, 1 },        [ATH_N_CTE] = { 1, 0, 0 },   /* no body: a reference by name */
  [ATH_N_BIND] = { 0, 0, 0 },         [ATH_N_NULL] = { 0, 0, 0 },
  [ATH_N_TRUE] = { 0, 0, 0 },         [ATH_N_FALSE] = { 0, 0, 0 },
  [ATH_N_STAR] = { 0, 0, 0 },         [ATH_N_BINARY] = { 1, 2, 0 },
  [ATH_N_UNARY] = { 1, 1, 0 },        [ATH_N_POSTFIX] = { 1, 1, 0 },
  [ATH_N_AND] = { 0, 0, 0 },          [ATH_N_OR] = { 0, 0, 0 },
  [ATH_N_IN] = { 0, 1, 0 },           [ATH_N_BETWEEN] = { 0, 3, 0 },
  [ATH_N_FUNC] = { 0, 0, 0 },         [ATH_N_LABEL] = { 1, 1, 0 },
  [ATH_N_CAST] = { 1, 1, 0 },         [ATH_N_COLLATE] = { 1, 1, 0 },
  [ATH_N_CASE] = { 0, 0, 0 },         [ATH_N_TEXT] = { 1, 0, 0 },
  [ATH_N_SCALAR] = { 0, 1, 0 },       [ATH_N_LIST] = { 0, 0, 0 },
  [ATH_N_SELECT] = { 0, ATH_SEL__N, 0 },
  [ATH_N_COMPOUND] = { 1, 1, 0 },     [ATH_N_JOIN] = { 0, 3, 3 },
  [ATH_N_INSERT] = { 0, ATH_INS__N, 1 },
  [ATH_N_UPDATE] = { 0, 4, 1 },       [ATH_N_DELETE] = { 0, 3, 1 },
  [ATH_N_SET] = { 0, 2, 0 },          [ATH_N_ONCONFLICT] = { 0, 3, 0 },
  [ATH_N_GROUPING] = { 0, 1, 0 },     [ATH_N_VALUES] = { 0, 0, 0 },
  [ATH_N_OVER] = { 0, 3, 1 },         [ATH_N_FILTER] = { 0, 2, 3 },
  [ATH_N_WITHIN_GROUP] = { 0, 2, 3 }, [ATH_N_EXTRACT] = { 1, 1, 1 },
};

static const char *const KIND_NAMES[ATH_N__COUNT] = {
  "(none)", "COLUMN", "TABLE", "ALIAS", "CTE", "BIND", "NULL", "TRUE", "FALSE", "STAR", "BINARY", "UNARY",
  "POSTFIX", "AND", "OR", "IN", "BETWEEN", "FUNC", "LABEL", "CAST", "COLLATE", "CASE", "TEXT", "SCALAR",
  "LIST", "SELECT", "COMPOUND", "JOIN", "INSERT", "UPDATE", "DELETE", "SET", "ONCONFLICT", "GROUPING", "VALUES",
  "OVER", "FILTER", "WITHIN_GROUP", "EXTRACT",
};

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
    fail(cs, "malformed %s node: child %d must be %s", KIND_NAMES[parent->kind], slot + 1,
         KIND_NAMES[kind]);
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
  const shape *sh = &SHAPES[n->kind];
  const char *what = KIND_NAMES[n->kind];
  if (n->nkids < 0 || (n->nkids > 0 && !n->kids)) { fail(cs, "malformed %s node", what); return; }
  if (sh->needs_s && !n->s) { fail(cs, "malformed %s node: it has no name or operator", what); return; }
  if (n->nkids < sh->min_kids) {
    fail(cs, "malformed %s node: %d children, at least %d expected", what, n->nkids, sh->min_kids);
    return;
  }
  for (int i = 0; i < 8 && i < n->nkids; i++) {
    if ((sh->filled & (1u << i)) && !n->kids[i]) {
      fail(cs, "malformed %s node: child %d is missing", what, i + 1);
      return;
    }
  }
  switch (n->kind) {
    case ATH_N_BIND:
      if ((n->flags & ATH_F_NAMED) ? !n->s : n->slot <= 0)
        fail(cs, "malformed bound parameter: %s", (n->flags & ATH_F_NAMED) ? "a named parameter without a name"
                                                                                           : "no value slot");
      /* s2, the PostgreSQL cast ($1::NUMERIC(10, 2)), is copied into the SQL:
       * a type name, never anything else */
      for (const char *p = n->s2; p && *p && cs->st == ATH_OK; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == ' ' || *p == '(' || *p == ')' || *p == ',' || *p == '_'))
          fail(cs, "malformed bound parameter: its cast '%.40s' is not a type name", n->s2);
      break;
    case ATH_N_COLUMN: case ATH_N_STAR:
      if (n->from && !is_from_kind(n->from->kind))
        fail(cs, "malformed %s node: it belongs to a %s, not a table", what,
             n->from->kind > 0 && n->from->kind < ATH_N__COUNT ? KIND_NAMES[n->from->kind] : "(unknown)");
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
      check_slot_kind(cs, n, 1, ATH_N_LIST);
      check_slot_kind(cs, n, 2, ATH_N_LIST);
      break;
    case ATH_N_FILTER:
      check_slot_kind(cs, n, 0, ATH_N_FUNC);
      break;
    case ATH_N_WITHIN_GROUP:
      check_slot_kind(cs, n, 1, ATH_N_LIST);
      break;
    case ATH_N_SELECT:
      if (n->nkids > ATH_SEL_DISTINCT_ON) check_slot_kind(cs, n, ATH_SEL_DISTINCT_ON, ATH_N_LIST);
      break;
    case ATH_N_INSERT:
      check_slot_kind(cs, n, ATH_INS_TABLE, ATH_N_TABLE);
      check_slot_kind(cs, n, ATH_INS_CONFLICT, ATH_N_ONCONFLICT);
      break;
    case ATH_N_UPDATE: case ATH_N_ONCONFLICT: {
      const ath_node *sets = n->kids[1];
      check_slot_kind(cs, n, 1, ATH_N_LIST);            /* before reading its items */
      if (cs->st != ATH_OK || (sets && sets->nkids > 0 && !sets->kids)) {
        if (cs->st == ATH_OK) fail(cs, "malformed %s node", what);
        break;
      }
      for (int i = 0; sets && i < sets->nkids; i++)
        if (!sets->kids[i] || sets->kids[i]->kind != ATH_N_SET) {
          fail(cs, "malformed %s node: its SET list holds something that is not a SET", what);
          break;
        }
      break;
    }
    default: break;
  }
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
