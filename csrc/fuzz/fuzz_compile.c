/* fuzz_compile.c — the SQL compiler (csrc/sql/) fed random statement trees.
 * The input decodes into a tree of ath_node built with the same calls
 * csrc/lua/l_convert.c makes (ath_node_new in an arena, strings borrowed,
 * BIND slots numbered in conversion order, FROM elements shared by the
 * columns that use them, a recursive CTE referring to itself). The shapes
 * follow the contract in ath_sql.h, which the Lua builders guarantee: every
 * kind has its child count, a FROM slot holds a FROM element, a SET list
 * holds SETs, a column's `from` is a TABLE/ALIAS/CTE, an operator node has
 * its operator; the contents are otherwise anything: any kind where an
 * expression goes, empty (NULL) slots, arbitrary names and operators.
 * Byte 0 = mode: bit 7 fails the Nth allocation (N = bits 0-5).
 * Invariants, for sqlite, postgresql and mysql:
 *  - ath_compile returns ATH_OK with SQL, or a CompileError (ATH_E_NOMEM
 *    only under an injected failure) with a message and no result;
 *  - never a crash, UB or leak (ath_alloc_live is back where it was);
 *  - the bind list names only slots the tree has, or names for named binds;
 *  - compiling the same tree again gives the same SQL and binds, and the
 *    cache key (ath_node_key) of the tree can be computed.
 * ATHANOR_FUZZ_LOOSE=1 breaks the shape contract on purpose (a slot of any
 * kind, or empty, one time in eight): a probe of where the compiler trusts
 * its caller, for reports only (expect crashes; never in the replay). */
#include "fuzz_common.h"
#include "sql/ath_sql.h"

#define MAX_GEN_DEPTH 230          /* past the compiler's limit (200): it must refuse cleanly */
#define MAX_FROM 48

typedef struct gen {
  fuzz_reader r;
  ath_arena *arena;
  int slots;                        /* BIND slots handed out, in creation order */
  int depth;
  ath_node *from[MAX_FROM];         /* FROM elements made so far: columns refer to them */
  int nfrom;
  const ath_node *open_cte[16];     /* CTEs being generated (a recursive one may refer to itself) */
  int nopen;
} gen;

/* What a slot holds: R_EXPR anything; the others the kind the contract
 * names (R_SELECT mostly a SELECT or COMPOUND: the compiler checks it). */
enum role { R_EXPR, R_FROM, R_SELECT, R_TABLE, R_SET, R_ONCONFLICT };

static ath_node *gen_node(gen *g, enum role role);
static int loose;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  const char *s = getenv("ATHANOR_FUZZ_LOOSE");
  loose = s && *s == '1';
  return 0;
}

static ath_node *node(gen *g, int kind, int nkids) {
  ath_node *n = ath_node_new(g->arena, kind, nkids);
  FUZZ_CHECK(n != NULL, "out of memory building the tree");
  return n;
}

/* A string from the input (NUL bytes included), NUL-terminated in the arena. */
static const char *gen_str(gen *g, size_t *len) {
  size_t n;
  const char *s = fz_bytes(&g->r, &n);
  char *c = ath_arena_alloc(g->arena, n + 1);
  FUZZ_CHECK(c != NULL, "out of memory building the tree");
  if (n) memcpy(c, s, n);
  c[n] = '\0';
  if (len) *len = n;
  return c;
}

/* An operator: mostly one the builders produce, sometimes anything. */
static const char *gen_op(gen *g, const char *const *ops, size_t nops, size_t *len) {
  unsigned b = fz_byte(&g->r);
  if (b < 224 || g->r.n == 0) {
    const char *op = ops[b % nops];
    if (len) *len = strlen(op);
    return op;
  }
  return gen_str(g, len);
}

static const char *const BINARY_OPS[] = {
  "=", "!=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "||", "LIKE", "NOT LIKE",
  "ILIKE", "NOT ILIKE", "IS", "IS NOT", "IS DISTINCT FROM", "IS NOT DISTINCT FROM", "@>", "->", "AND", "OR",
};
static const char *const UNARY_OPS[] = { "NOT", "-", "EXISTS", "DISTINCT", "~" };
static const char *const POSTFIX_OPS[] = { "IS NULL", "IS NOT NULL", "ASC", "DESC", "NULLS FIRST", "NULLS LAST" };
static const char *const COMPOUND_OPS[] = { "UNION", "UNION ALL", "INTERSECT", "EXCEPT" };
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A LIST of n children of `role`. */
static ath_node *gen_list(gen *g, enum role role, int allow_null_kids) {
  int n = g->r.n ? fz_pick(&g->r, 5) : 0;
  ath_node *l = node(g, ATH_N_LIST, n);
  for (int i = 0; i < n; i++) {
    if (allow_null_kids && fz_pick(&g->r, 16) == 0) continue;
    l->kids[i] = gen_node(g, role);
  }
  return l;
}

/* An optional LIST (NULL slot one time in four). */
static ath_node *opt_list(gen *g, enum role role) {
  return fz_pick(&g->r, 4) == 0 ? NULL : gen_list(g, role, role == R_EXPR);
}

static ath_node *opt_expr(gen *g) {
  return fz_pick(&g->r, 3) == 0 ? NULL : gen_node(g, R_EXPR);
}

/* A FROM element a column can name: an existing one, or a new TABLE. */
static ath_node *gen_column_from(gen *g) {
  unsigned b = fz_byte(&g->r);
  if (b < 32) return NULL;
  if (g->nopen && b >= 240) return (ath_node *)g->open_cte[b % g->nopen];   /* CTE self-reference */
  if (g->nfrom && b < 200) return g->from[b % g->nfrom];
  return gen_node(g, R_TABLE);
}

static void remember_from(gen *g, ath_node *n) {
  if (g->nfrom < MAX_FROM) g->from[g->nfrom++] = n;
}

/* Kinds an expression slot may hold: anything but VALUES (converted away
 * before rendering). Index 0 is a leaf: inputs that run out end the tree. */
static const int EXPR_KINDS[] = {
  ATH_N_NULL, ATH_N_COLUMN, ATH_N_BIND, ATH_N_TRUE, ATH_N_FALSE, ATH_N_STAR, ATH_N_BINARY, ATH_N_UNARY,
  ATH_N_POSTFIX, ATH_N_AND, ATH_N_OR, ATH_N_IN, ATH_N_BETWEEN, ATH_N_FUNC, ATH_N_LABEL, ATH_N_CAST,
  ATH_N_COLLATE, ATH_N_CASE, ATH_N_TEXT, ATH_N_SCALAR, ATH_N_LIST, ATH_N_SELECT, ATH_N_COMPOUND,
  ATH_N_GROUPING, ATH_N_COLUMN, ATH_N_BIND, ATH_N_BINARY, ATH_N_TABLE, ATH_N_ALIAS, ATH_N_CTE, ATH_N_JOIN,
  ATH_N_INSERT, ATH_N_UPDATE, ATH_N_DELETE, ATH_N_SET, ATH_N_ONCONFLICT,
};

static ath_node *gen_kind(gen *g, int kind) {
  ath_node *n;
  switch (kind) {
    case ATH_N_COLUMN:
      n = node(g, kind, 0);
      n->s = gen_str(g, &n->slen);
      n->from = gen_column_from(g);
      return n;
    case ATH_N_STAR:
      n = node(g, kind, 0);
      n->from = fz_pick(&g->r, 2) ? gen_column_from(g) : NULL;
      return n;
    case ATH_N_TABLE:
      n = node(g, kind, 0);
      n->s = gen_str(g, &n->slen);
      n->flags = fz_pick(&g->r, 8) == 0 ? ATH_F_PSEUDO : 0;
      if (fz_pick(&g->r, 3) == 0) n->s2 = gen_str(g, NULL);
      remember_from(g, n);
      return n;
    case ATH_N_ALIAS:                /* a subquery in FROM: never inside itself */
      n = node(g, kind, 1);
      n->s = gen_str(g, &n->slen);
      n->kids[0] = gen_node(g, R_SELECT);
      remember_from(g, n);
      return n;
    case ATH_N_CTE: {
      int cols = fz_pick(&g->r, 2);
      n = node(g, kind, 1 + cols);
      n->s = gen_str(g, &n->slen);
      n->flags = fz_pick(&g->r, 2) ? ATH_F_RECURSIVE : 0;
      remember_from(g, n);
      int open = g->nopen < (int)N(g->open_cte);     /* its body may name it */
      if (open) g->open_cte[g->nopen++] = n;
      n->kids[0] = gen_node(g, R_SELECT);
      if (cols) n->kids[1] = gen_list(g, R_EXPR, 0);
      if (open) g->nopen--;
      return n;
    }
    case ATH_N_BIND:
      n = node(g, kind, 0);
      if (fz_pick(&g->r, 4) == 0) {
        n->flags = ATH_F_NAMED;
        n->s = gen_str(g, &n->slen);
      } else {
        n->slot = ++g->slots;
      }
      return n;
    case ATH_N_NULL: case ATH_N_TRUE: case ATH_N_FALSE:
      return node(g, kind, 0);
    case ATH_N_BINARY:
      n = node(g, kind, 2);
      n->s = gen_op(g, BINARY_OPS, N(BINARY_OPS), &n->slen);
      n->kids[0] = opt_expr(g);
      n->kids[1] = opt_expr(g);
      return n;
    case ATH_N_UNARY:
      n = node(g, kind, 1);
      n->s = gen_op(g, UNARY_OPS, N(UNARY_OPS), &n->slen);
      n->kids[0] = opt_expr(g);
      return n;
    case ATH_N_POSTFIX:
      n = node(g, kind, 1);
      n->s = gen_op(g, POSTFIX_OPS, N(POSTFIX_OPS), &n->slen);
      n->kids[0] = opt_expr(g);
      return n;
    case ATH_N_AND: case ATH_N_OR: case ATH_N_FUNC: case ATH_N_CASE: case ATH_N_LIST: case ATH_N_IN: {
      int k = fz_pick(&g->r, 6);
      if (kind == ATH_N_IN && k == 0) k = 1;                        /* kids[0] IN (...) */
      if (kind == ATH_N_CASE && (g->r.n & 1) && k == 0) k = 1;
      n = node(g, kind, k);
      if (kind == ATH_N_FUNC) {
        n->s = gen_op(g, (const char *const[]){ "count", "coalesce", "lower", "max", "CURRENT_TIMESTAMP", "pg_catalog.now" },
                      6, &n->slen);
        n->flags = fz_pick(&g->r, 8) == 0 ? ATH_F_NOPARENS : 0;
      }
      if (kind == ATH_N_IN) n->flags = fz_pick(&g->r, 2) ? ATH_F_NEGATE : 0;
      if (kind == ATH_N_CASE) n->flags = k > 0 && fz_pick(&g->r, 2) ? ATH_F_ELSE : 0;   /* ELSE: the last kid */
      for (int i = 0; i < k; i++) n->kids[i] = opt_expr(g);
      return n;
    }
    case ATH_N_BETWEEN:
      n = node(g, kind, 3);
      n->flags = fz_pick(&g->r, 2) ? ATH_F_NEGATE : 0;
      for (int i = 0; i < 3; i++) n->kids[i] = opt_expr(g);
      return n;
    case ATH_N_LABEL: case ATH_N_COLLATE:
      n = node(g, kind, 1);
      n->s = gen_str(g, &n->slen);
      n->kids[0] = opt_expr(g);
      return n;
    case ATH_N_CAST:
      n = node(g, kind, 1);
      n->s = gen_str(g, &n->slen);
      if (fz_pick(&g->r, 2)) n->s2 = gen_str(g, NULL);
      if (fz_pick(&g->r, 2)) n->s3 = gen_str(g, NULL);
      n->kids[0] = opt_expr(g);
      return n;
    case ATH_N_TEXT: {
      int k = fz_pick(&g->r, 3);
      n = node(g, kind, k);
      n->s = gen_str(g, &n->slen);
      for (int i = 0; i < k; i++) {                  /* bindparams: BINDs named by s */
        ath_node *b = node(g, ATH_N_BIND, 0);
        b->s = gen_str(g, &b->slen);
        b->slot = ++g->slots;
        n->kids[i] = b;
      }
      return n;
    }
    case ATH_N_SCALAR: case ATH_N_GROUPING:
      n = node(g, kind, 1);
      n->kids[0] = kind == ATH_N_SCALAR ? gen_node(g, R_SELECT) : opt_expr(g);
      return n;
    case ATH_N_SELECT: {
      static const int flag_bits[] = { ATH_F_DISTINCT, ATH_F_FOR_UPDATE, ATH_F_FOR_SHARE, ATH_F_NOWAIT, ATH_F_SKIP_LOCKED };
      n = node(g, kind, ATH_SELECT__N);
      unsigned f = fz_byte(&g->r);
      for (size_t i = 0; i < N(flag_bits); i++) if (f & (1u << i)) n->flags |= flag_bits[i];
      n->kids[ATH_SELECT_CTES] = fz_pick(&g->r, 4) == 0 ? gen_list(g, R_EXPR, 0) : NULL;
      n->kids[ATH_SELECT_COLUMNS] = gen_list(g, R_EXPR, 1);
      n->kids[ATH_SELECT_FROM] = opt_list(g, R_FROM);
      n->kids[ATH_SELECT_WHERE] = opt_expr(g);
      n->kids[ATH_SELECT_GROUP] = fz_pick(&g->r, 3) == 0 ? gen_list(g, R_EXPR, 1) : NULL;
      n->kids[ATH_SELECT_HAVING] = fz_pick(&g->r, 3) == 0 ? opt_expr(g) : NULL;
      n->kids[ATH_SELECT_ORDER] = fz_pick(&g->r, 2) == 0 ? gen_list(g, R_EXPR, 1) : NULL;
      n->kids[ATH_SELECT_LIMIT] = fz_pick(&g->r, 3) == 0 ? opt_expr(g) : NULL;
      n->kids[ATH_SELECT_OFFSET] = fz_pick(&g->r, 3) == 0 ? opt_expr(g) : NULL;
      if (fz_pick(&g->r, 4) == 0) {                  /* correlate(): FROM elements seen so far */
        int k = g->nfrom ? fz_pick(&g->r, 3) : 0;
        ath_node *l = node(g, ATH_N_LIST, k);
        for (int i = 0; i < k; i++) l->kids[i] = g->from[fz_byte(&g->r) % g->nfrom];
        n->kids[ATH_SELECT_CORRELATE] = l;
      }
      return n;
    }
    case ATH_N_COMPOUND:
      n = node(g, kind, 4);
      n->s = gen_op(g, COMPOUND_OPS, N(COMPOUND_OPS), &n->slen);
      n->kids[0] = gen_list(g, R_SELECT, 0);
      n->kids[1] = opt_list(g, R_EXPR);
      n->kids[2] = fz_pick(&g->r, 3) == 0 ? opt_expr(g) : NULL;
      n->kids[3] = fz_pick(&g->r, 3) == 0 ? opt_expr(g) : NULL;
      return n;
    case ATH_N_JOIN:
      n = node(g, kind, 3);
      n->flags = (int)(fz_byte(&g->r) & (ATH_F_OUTER | ATH_F_FULL));
      n->kids[0] = gen_node(g, R_FROM);
      n->kids[1] = gen_node(g, R_FROM);
      n->kids[2] = opt_expr(g);
      return n;
    case ATH_N_INSERT:
      n = node(g, kind, ATH_INSERT__N);
      n->kids[ATH_INSERT_TABLE] = gen_node(g, R_TABLE);
      n->kids[ATH_INSERT_COLUMNS] = opt_list(g, R_EXPR);
      if (fz_pick(&g->r, 4) == 0) {
        n->kids[ATH_INSERT_SELECT] = gen_node(g, R_SELECT);
      } else {                                       /* rows: a LIST of LISTs */
        int k = fz_pick(&g->r, 4);
        ath_node *rows = node(g, ATH_N_LIST, k);
        for (int i = 0; i < k; i++) rows->kids[i] = gen_list(g, R_EXPR, 1);
        n->kids[ATH_INSERT_ROWS] = rows;
      }
      n->kids[ATH_INSERT_RETURNING] = fz_pick(&g->r, 2) ? opt_list(g, R_EXPR) : NULL;
      n->kids[ATH_INSERT_CONFLICT] = fz_pick(&g->r, 2) ? gen_node(g, R_ONCONFLICT) : NULL;
      return n;
    case ATH_N_UPDATE:
      n = node(g, kind, 4);
      n->kids[0] = gen_node(g, R_FROM);
      n->kids[1] = fz_pick(&g->r, 8) ? gen_list(g, R_SET, 0) : NULL;
      n->kids[2] = opt_expr(g);
      n->kids[3] = fz_pick(&g->r, 2) ? opt_list(g, R_EXPR) : NULL;
      return n;
    case ATH_N_DELETE:
      n = node(g, kind, 3);
      n->kids[0] = gen_node(g, R_FROM);
      n->kids[1] = opt_expr(g);
      n->kids[2] = fz_pick(&g->r, 2) ? opt_list(g, R_EXPR) : NULL;
      return n;
    case ATH_N_SET:
      n = node(g, kind, 2);
      n->kids[0] = opt_expr(g);
      n->kids[1] = opt_expr(g);
      return n;
    case ATH_N_ONCONFLICT:
      n = node(g, kind, 3);
      n->kids[0] = opt_list(g, R_EXPR);
      n->kids[1] = fz_pick(&g->r, 2) ? gen_list(g, R_SET, 0) : NULL;
      n->kids[2] = fz_pick(&g->r, 3) == 0 ? opt_expr(g) : NULL;
      return n;
    default:
      return node(g, ATH_N_NULL, 0);
  }
}

static ath_node *gen_node(gen *g, enum role role) {
  if (g->depth >= MAX_GEN_DEPTH) {                   /* deep enough: a leaf of the right kind */
    switch (role) {
      case R_EXPR: return node(g, ATH_N_NULL, 0);
      case R_SELECT: return NULL;
      case R_SET: return gen_kind(g, ATH_N_SET);     /* two NULL-or-leaf kids at this depth */
      default: break;
    }
  }
  g->depth++;
  ath_node *n;
  unsigned b = fz_byte(&g->r);
  if (loose && role != R_EXPR && b % 8 == 7) {       /* off-contract: anything, or nothing */
    g->depth--;
    return b & 8 ? NULL : gen_node(g, R_EXPR);
  }
  switch (role) {
    case R_EXPR: n = gen_kind(g, EXPR_KINDS[b % N(EXPR_KINDS)]); break;
    case R_FROM:
      if (g->nfrom && b % 4 == 0) n = g->from[fz_byte(&g->r) % g->nfrom];
      else n = gen_kind(g, (const int[]){ ATH_N_TABLE, ATH_N_ALIAS, ATH_N_CTE, ATH_N_JOIN, ATH_N_TABLE }[b % 5]);
      break;
    case R_SELECT: n = gen_kind(g, b % 4 == 3 ? ATH_N_COMPOUND : b % 16 == 2 ? EXPR_KINDS[fz_byte(&g->r) % N(EXPR_KINDS)] : ATH_N_SELECT); break;
    case R_TABLE: n = gen_kind(g, ATH_N_TABLE); break;
    case R_SET: n = gen_kind(g, ATH_N_SET); break;
    case R_ONCONFLICT: n = gen_kind(g, ATH_N_ONCONFLICT); break;
    default: n = node(g, ATH_N_NULL, 0); break;
  }
  g->depth--;
  return n;
}

static const int ROOT_KINDS[] = { ATH_N_SELECT, ATH_N_INSERT, ATH_N_UPDATE, ATH_N_DELETE, ATH_N_COMPOUND, -1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gen g;
  memset(&g, 0, sizeof g);
  g.r.p = data;
  g.r.n = size;
  uint8_t mode = fz_byte(&g.r);
  int root_kind = ROOT_KINDS[fz_pick(&g.r, N(ROOT_KINDS))];
  long live = ath_alloc_live();
  g.arena = ath_arena_new();
  FUZZ_CHECK(g.arena != NULL, "out of memory");
  ath_node *root = root_kind < 0 ? gen_node(&g, R_EXPR) : gen_kind(&g, root_kind);
  ath_buf key = ATH_BUF_INIT;
  ath_node_key(&key, root, ath_builtin_dialects[0]);             /* -1 (not cacheable) is fine; no crash */
  ath_buf_free(&key);
  for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) {
    ath_compiled *c = NULL;
    ath_error err;
    ath_error_clear(&err);
    if (mode & 0x80) ath_alloc_fail_after(mode & 63);
    ath_status st = ath_compile(root, ath_builtin_dialects[d], &c, &err);
    ath_alloc_fail_after(-1);
    if (st != ATH_OK) {
      FUZZ_CHECK(c == NULL, "a failed compile returned a statement");
      /* InvalidRequest: a subquery correlated down to no FROM (SQLAlchemy's rule) */
      FUZZ_CHECK(st == ATH_E_COMPILE || st == ATH_E_INVALID_REQUEST || (st == ATH_E_NOMEM && (mode & 0x80)),
                 "%s: status %d: %s",
                 ath_builtin_dialects[d]->name, (int)st, err.message);
      FUZZ_CHECK(err.kind == st && err.message[0], "status %d without its message", (int)st);
      continue;
    }
    FUZZ_CHECK(c->sql != NULL && c->sql[c->sqllen] == '\0', "SQL text not terminated");
    for (int i = 0; i < c->nbinds; i++)
      FUZZ_CHECK(c->binds[i].name ? c->binds[i].slot == 0 : c->binds[i].slot >= 1 && c->binds[i].slot <= g.slots,
                 "bind %d: slot %d of %d", i, c->binds[i].slot, g.slots);
    if (!(mode & 0x80)) {                             /* the same tree renders the same way */
      ath_compiled *again = NULL;
      FUZZ_CHECK(ath_compile(root, ath_builtin_dialects[d], &again, &err) == ATH_OK, "second compile failed");
      FUZZ_CHECK(again->sqllen == c->sqllen && memcmp(again->sql, c->sql, c->sqllen) == 0, "a second compile differs");
      FUZZ_CHECK(again->nbinds == c->nbinds, "a second compile has other binds");
      ath_compiled_free(again);
    }
    ath_compiled_free(c);
  }
  ath_arena_free(g.arena);
  FUZZ_CHECK(ath_alloc_live() == live, "%ld blocks leaked", ath_alloc_live() - live);
  return 0;
}
