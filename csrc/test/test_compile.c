/* test_compile.c — the SQL compiler (csrc/sql/) without Lua: statement trees
 * built by hand in an arena, rendered for every dialect, checked for the
 * exact SQL text and the bind list; cache keys; out-of-memory behaviour.
 * Every test checks that it leaves no block allocated (teardown). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "sql/ath_sql.h"

#define SQLITE (ath_builtin_dialects[0])
#define PG (ath_builtin_dialects[1])
#define MYSQL (ath_builtin_dialects[2])

/* ------------------------------------------------------------ fixtures */

static ath_arena *A;                   /* the current test's nodes */
static long live_base;

static int setup(void **state) {
  (void)state;
  ath_alloc_fail_after(-1);
  live_base = ath_alloc_live();
  A = ath_arena_new();
  return A ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  ath_alloc_fail_after(-1);
  ath_arena_free(A);
  A = NULL;
  long live = ath_alloc_live();
  if (live != live_base) {
    print_error("%ld block(s) leaked\n", live - live_base);
    return -1;
  }
  return 0;
}

/* --------------------------------------------------- node constructors */

static ath_node *mk(int kind, const char *s, int nkids, ath_node *const *kids) {
  ath_node *n = ath_node_new(A, kind, nkids);
  assert_non_null(n);
  if (s) {
    n->s = s;
    n->slen = strlen(s);
  }
  for (int i = 0; i < nkids; i++) n->kids[i] = kids ? kids[i] : NULL;
  return n;
}

/* The argument list is counted with sizeof, which does not evaluate it. */
#define NODES(...) ((ath_node *[]){ __VA_ARGS__ })
#define COUNT(...) ((int)(sizeof(NODES(__VA_ARGS__)) / sizeof(ath_node *)))
#define LIST(...) mk(ATH_N_LIST, NULL, COUNT(__VA_ARGS__), NODES(__VA_ARGS__))
#define EMPTY_LIST() mk(ATH_N_LIST, NULL, 0, NULL)
#define AND(...) mk(ATH_N_AND, NULL, COUNT(__VA_ARGS__), NODES(__VA_ARGS__))
#define OR(...) mk(ATH_N_OR, NULL, COUNT(__VA_ARGS__), NODES(__VA_ARGS__))
#define IN(x, ...) mk(ATH_N_IN, NULL, 1 + COUNT(__VA_ARGS__), NODES(x, __VA_ARGS__))
#define FUNC(name, ...) mk(ATH_N_FUNC, name, COUNT(__VA_ARGS__), NODES(__VA_ARGS__))
#define CASE(flags, ...) with_flags(mk(ATH_N_CASE, NULL, COUNT(__VA_ARGS__), NODES(__VA_ARGS__)), flags)
#define TEXT(sql, ...) mk(ATH_N_TEXT, sql, COUNT(__VA_ARGS__), NODES(__VA_ARGS__))

static ath_node *with_flags(ath_node *n, int flags) { n->flags |= flags; return n; }
static ath_node *leaf(int kind) { return mk(kind, NULL, 0, NULL); }
static ath_node *table(const char *name) { return mk(ATH_N_TABLE, name, 0, NULL); }
static ath_node *table_as(const char *name, const char *alias) {
  ath_node *t = table(name);
  t->s2 = alias;
  return t;
}
static ath_node *excluded(void) { return with_flags(table("excluded"), ATH_F_PSEUDO); }
static ath_node *col(ath_node *from, const char *name) {
  ath_node *c = mk(ATH_N_COLUMN, name, 0, NULL);
  c->from = from;
  return c;
}
static ath_node *star(ath_node *from) {
  ath_node *s = leaf(ATH_N_STAR);
  s->from = from;
  return s;
}
static ath_node *bind(int slot) {
  ath_node *b = leaf(ATH_N_BIND);
  b->slot = slot;
  return b;
}
static ath_node *named(const char *name) { return with_flags(mk(ATH_N_BIND, name, 0, NULL), ATH_F_NAMED); }
static ath_node *text_bind(const char *name, int slot) {  /* a bound value of a TEXT fragment */
  ath_node *b = mk(ATH_N_BIND, name, 0, NULL);
  b->slot = slot;
  return b;
}
static ath_node *bin(ath_node *l, const char *op, ath_node *r) { return mk(ATH_N_BINARY, op, 2, NODES(l, r)); }
static ath_node *unary(const char *op, ath_node *x) { return mk(ATH_N_UNARY, op, 1, NODES(x)); }
static ath_node *not_(ath_node *x) { return unary("NOT", x); }
static ath_node *postfix(ath_node *x, const char *op) { return mk(ATH_N_POSTFIX, op, 1, NODES(x)); }
static ath_node *between(ath_node *x, ath_node *lo, ath_node *hi) { return mk(ATH_N_BETWEEN, NULL, 3, NODES(x, lo, hi)); }
static ath_node *label(ath_node *x, const char *name) { return mk(ATH_N_LABEL, name, 1, NODES(x)); }
/* CAST to an athanor type ("String(20)"); the dialect spells it. */
static ath_node *cast(ath_node *x, const char *type) { return mk(ATH_N_CAST, type, 1, NODES(x)); }
static ath_node *scalar(ath_node *q) { return mk(ATH_N_SCALAR, NULL, 1, NODES(q)); }

static ath_node *select_(ath_node *columns, ath_node *where) {
  ath_node *q = mk(ATH_N_SELECT, NULL, ATH_SELECT__N, NULL);
  q->kids[ATH_SELECT_COLUMNS] = columns;
  q->kids[ATH_SELECT_WHERE] = where;
  return q;
}
static ath_node *slot(ath_node *q, int i, ath_node *v) { q->kids[i] = v; return q; }
static ath_node *compound(const char *op, ath_node *selects, ath_node *order, ath_node *limit, ath_node *offset) {
  return mk(ATH_N_COMPOUND, op, 4, NODES(selects, order, limit, offset));
}
static ath_node *join(ath_node *l, ath_node *r, ath_node *on, int flags) {
  return with_flags(mk(ATH_N_JOIN, NULL, 3, NODES(l, r, on)), flags);
}
static ath_node *alias(const char *name, ath_node *q) { return mk(ATH_N_ALIAS, name, 1, NODES(q)); }
static ath_node *cte(const char *name, ath_node *body) { return mk(ATH_N_CTE, name, 1, NODES(body)); }
static ath_node *insert(ath_node *t, ath_node *cols, ath_node *rows, ath_node *sel, ath_node *ret, ath_node *conflict) {
  ath_node *n = mk(ATH_N_INSERT, NULL, ATH_INSERT__N, NULL);
  n->kids[ATH_INSERT_TABLE] = t;
  n->kids[ATH_INSERT_COLUMNS] = cols;
  n->kids[ATH_INSERT_ROWS] = rows;
  n->kids[ATH_INSERT_SELECT] = sel;
  n->kids[ATH_INSERT_RETURNING] = ret;
  n->kids[ATH_INSERT_CONFLICT] = conflict;
  return n;
}
static ath_node *set(ath_node *c, ath_node *v) { return mk(ATH_N_SET, NULL, 2, NODES(c, v)); }
static ath_node *on_conflict(ath_node *target, ath_node *sets, ath_node *where) {
  return mk(ATH_N_ONCONFLICT, NULL, 3, NODES(target, sets, where));
}
static ath_node *update(ath_node *t, ath_node *sets, ath_node *where, ath_node *ret) {
  return mk(ATH_N_UPDATE, NULL, 4, NODES(t, sets, where, ret));
}
static ath_node *delete_(ath_node *t, ath_node *where, ath_node *ret) {
  return mk(ATH_N_DELETE, NULL, 3, NODES(t, where, ret));
}

/* ------------------------------------------------------------- checks */

static const char *dname(const ath_dialect *d) { return d->name; }

/* "1,2,:since": slots as numbers, named parameters as :name. */
static void binds_str(const ath_compiled *c, char *out, size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  for (int i = 0; i < c->nbinds && len < cap; i++) {
    const ath_bindref *b = &c->binds[i];
    int w;
    if (b->name) w = snprintf(out + len, cap - len, "%s:%s", i ? "," : "", b->name);
    else w = snprintf(out + len, cap - len, "%s%d", i ? "," : "", b->slot);
    if (w < 0) break;
    len += (size_t)w;
  }
}

static ath_compiled *compile_ok(const ath_node *root, const ath_dialect *d) {
  ath_compiled *c = NULL;
  ath_error err;
  ath_error_clear(&err);
  ath_status st = ath_compile(root, d, &c, &err);
  if (st != ATH_OK) fail_msg("%s: compile failed (status %d): %s", dname(d), (int)st, err.message);
  assert_non_null(c);
  return c;
}

/* Compiles root for d and checks SQL and binds; frees before failing so a
 * failed check leaks nothing. */
static void expect_sql(const ath_node *root, const ath_dialect *d, const char *sql, const char *binds) {
  ath_compiled *c = compile_ok(root, d);
  static char msg[4096];
  char got[512];
  binds_str(c, got, sizeof got);
  msg[0] = '\0';
  if (strcmp(c->sql, sql) != 0)
    snprintf(msg, sizeof msg, "%s SQL\n  expected: %s\n  got:      %s", dname(d), sql, c->sql);
  else if (c->sqllen != strlen(sql))
    snprintf(msg, sizeof msg, "%s sqllen %zu != %zu", dname(d), c->sqllen, strlen(sql));
  else if (binds && strcmp(got, binds) != 0)
    snprintf(msg, sizeof msg, "%s binds of %s\n  expected: %s\n  got:      %s", dname(d), sql, binds, got);
  ath_compiled_free(c);
  if (msg[0]) fail_msg("%s", msg);
}

/* The same binds in every dialect. */
static void expect_all(const ath_node *root, const char *sqlite, const char *pg, const char *mysql, const char *binds) {
  expect_sql(root, SQLITE, sqlite, binds);
  expect_sql(root, PG, pg, binds);
  expect_sql(root, MYSQL, mysql, binds);
}

static void expect_error(const ath_node *root, const ath_dialect *d, ath_status kind, const char *phrase1,
                         const char *phrase2) {
  ath_compiled *c = (ath_compiled *)1;
  ath_error err;
  ath_error_clear(&err);
  ath_status st = ath_compile(root, d, &c, &err);
  if (st == ATH_OK) {
    static char msg[1024];
    snprintf(msg, sizeof msg, "%s: expected error %d, compiled to: %s", dname(d), (int)kind, c->sql);
    ath_compiled_free(c);
    fail_msg("%s", msg);
  }
  assert_int_equal(st, kind);
  assert_int_equal(err.kind, kind);
  assert_null(c);
  if (phrase1 && !strstr(err.message, phrase1)) fail_msg("'%s' not in '%s'", phrase1, err.message);
  if (phrase2 && !strstr(err.message, phrase2)) fail_msg("'%s' not in '%s'", phrase2, err.message);
}

static int returns_rows(const ath_node *root, const ath_dialect *d) {
  ath_compiled *c = compile_ok(root, d);
  int r = c->returns_rows;
  ath_compiled_free(c);
  return r;
}

/* ------------------------------------------------------------- SELECT */

static void test_select_infers_from(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = select_(LIST(col(users, "id"), col(users, "name")), bin(col(users, "id"), "=", bind(1)));
  expect_all(q, "SELECT users.id, users.name FROM users WHERE users.id = ?",
             "SELECT users.id, users.name FROM users WHERE users.id = $1",
             "SELECT users.id, users.name FROM users WHERE users.id = ?", "1");
  assert_int_equal(returns_rows(q, SQLITE), 1);

  /* tables in order of first reference, each once */
  ath_node *orders = table("orders");
  q = select_(LIST(col(users, "name"), col(orders, "total"), col(users, "id")),
              bin(col(orders, "user_id"), "=", col(users, "id")));
  expect_sql(q, SQLITE, "SELECT users.name, orders.total, users.id FROM users, orders WHERE orders.user_id = users.id", "");

  /* users.* infers users; a bare * nothing; DISTINCT */
  expect_sql(select_(LIST(star(users)), NULL), PG, "SELECT users.* FROM users", "");
  expect_sql(select_(LIST(star(NULL)), NULL), PG, "SELECT *", "");
  q = with_flags(select_(LIST(col(users, "name")), NULL), ATH_F_DISTINCT);
  expect_sql(q, MYSQL, "SELECT DISTINCT users.name FROM users", "");

  /* an explicit FROM is kept; tables it does not cover are added */
  q = slot(select_(LIST(FUNC("count", star(NULL))), NULL), ATH_SELECT_FROM, LIST(users));
  expect_sql(q, SQLITE, "SELECT count(*) FROM users", "");
  q = slot(select_(LIST(col(orders, "id")), NULL), ATH_SELECT_FROM, LIST(users));
  expect_sql(q, SQLITE, "SELECT orders.id FROM users, orders", "");
}

static void test_select_group_having_order_limit(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = select_(LIST(col(users, "city"), FUNC("count", star(NULL))), bin(col(users, "age"), ">", bind(1)));
  slot(q, ATH_SELECT_GROUP, LIST(col(users, "city")));
  slot(q, ATH_SELECT_HAVING, bin(FUNC("count", star(NULL)), ">", bind(2)));
  slot(q, ATH_SELECT_ORDER, LIST(postfix(col(users, "city"), "DESC")));
  slot(q, ATH_SELECT_LIMIT, bind(3));
  slot(q, ATH_SELECT_OFFSET, bind(4));
  expect_all(q,
             "SELECT users.city, count(*) FROM users WHERE users.age > ? GROUP BY users.city HAVING count(*) > ? "
             "ORDER BY users.city DESC LIMIT ? OFFSET ?",
             "SELECT users.city, count(*) FROM users WHERE users.age > $1 GROUP BY users.city HAVING count(*) > $2 "
             "ORDER BY users.city DESC LIMIT $3 OFFSET $4",
             "SELECT users.city, count(*) FROM users WHERE users.age > ? GROUP BY users.city HAVING count(*) > ? "
             "ORDER BY users.city DESC LIMIT ? OFFSET ?",
             "1,2,3,4");
}

static void test_limit_offset(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = slot(select_(LIST(col(users, "id")), NULL), ATH_SELECT_LIMIT, bind(1));
  expect_all(q, "SELECT users.id FROM users LIMIT ?", "SELECT users.id FROM users LIMIT $1",
             "SELECT users.id FROM users LIMIT ?", "1");
  /* OFFSET without LIMIT: SQLite and MySQL need a LIMIT */
  q = slot(select_(LIST(col(users, "id")), NULL), ATH_SELECT_OFFSET, bind(1));
  expect_all(q, "SELECT users.id FROM users LIMIT -1 OFFSET ?", "SELECT users.id FROM users OFFSET $1",
             "SELECT users.id FROM users LIMIT 18446744073709551615 OFFSET ?", "1");
}

static void test_and_or_precedence(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *id = col(users, "id"), *name = col(users, "name"), *age = col(users, "age");
  /* OR inside AND is parenthesized */
  ath_node *q = select_(LIST(id),
                        AND(bin(id, "=", bind(1)), OR(bin(name, "=", bind(2)), bin(name, "=", bind(3)))));
  expect_all(q, "SELECT users.id FROM users WHERE users.id = ? AND (users.name = ? OR users.name = ?)",
             "SELECT users.id FROM users WHERE users.id = $1 AND (users.name = $2 OR users.name = $3)",
             "SELECT users.id FROM users WHERE users.id = ? AND (users.name = ? OR users.name = ?)", "1,2,3");
  /* AND inside OR needs none; nested ANDs / ORs flatten */
  expect_sql(OR(AND(bin(id, "=", bind(1)), bin(name, "=", bind(2))), bin(age, ">", bind(3))), PG,
             "users.id = $1 AND users.name = $2 OR users.age > $3", "1,2,3");
  expect_sql(AND(AND(bin(id, "=", bind(1)), bin(name, "=", bind(2))), bin(age, ">", bind(3))), SQLITE,
             "users.id = ? AND users.name = ? AND users.age > ?", "1,2,3");
  expect_sql(OR(bin(id, "=", bind(1)), OR(bin(name, "=", bind(2)), bin(age, ">", bind(3)))), SQLITE,
             "users.id = ? OR users.name = ? OR users.age > ?", "1,2,3");
  /* (a OR b) AND (c OR d) */
  expect_sql(AND(OR(bin(id, "=", bind(1)), bin(id, "=", bind(2))), OR(bin(age, "<", bind(3)), bin(age, ">", bind(4)))),
             SQLITE, "(users.id = ? OR users.id = ?) AND (users.age < ? OR users.age > ?)", "1,2,3,4");
  /* no conditions: constant predicates */
  expect_sql(AND(), SQLITE, "1 = 1", "");
  expect_sql(OR(), SQLITE, "1 != 1", "");
  /* a single condition renders bare */
  expect_sql(AND(bin(id, "=", bind(1))), SQLITE, "users.id = ?", "1");
  /* arithmetic */
  expect_sql(bin(bin(id, "-", bind(1)), "-", bind(2)), SQLITE, "users.id - ? - ?", "1,2");
  expect_sql(bin(id, "-", bin(bind(1), "-", bind(2))), SQLITE, "users.id - (? - ?)", "1,2");
  expect_sql(bin(bin(id, "+", bind(1)), "*", bind(2)), SQLITE, "(users.id + ?) * ?", "1,2");
  expect_sql(bin(id, "+", bin(bind(1), "*", bind(2))), SQLITE, "users.id + ? * ?", "1,2");
  expect_sql(bin(bin(id, "+", bind(1)), "=", bind(2)), SQLITE, "users.id + ? = ?", "1,2");
  expect_sql(unary("-", unary("-", id)), SQLITE, "-(-users.id)", "");
}

static void test_not(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *id = col(users, "id"), *name = col(users, "name");
  expect_sql(not_(bin(id, "=", bind(1))), SQLITE, "NOT (users.id = ?)", "1");
  expect_sql(not_(OR(bin(id, "=", bind(1)), bin(name, "=", bind(2)))), PG, "NOT (users.id = $1 OR users.name = $2)", "1,2");
  expect_sql(not_(col(users, "active")), SQLITE, "NOT users.active", "");
  expect_sql(AND(bin(id, ">", bind(1)), not_(bin(name, "LIKE", bind(2)))), SQLITE,
             "users.id > ? AND NOT (users.name LIKE ?)", "1,2");
  ath_node *exists = unary("EXISTS", select_(LIST(col(orders, "id")), bin(col(orders, "user_id"), "=", id)));
  expect_all(select_(LIST(name), not_(exists)),
             "SELECT users.name FROM users WHERE NOT EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)",
             "SELECT users.name FROM users WHERE NOT EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)",
             "SELECT users.name FROM users WHERE NOT EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)",
             "");
}

/* Regression test (a bug this suite found, now fixed): a one-condition AND/OR counts as an atom (prec() returns P_ATOM for
 * nkids <= 1), so NOT does not parenthesize it even when its only condition
 * is a looser AND/OR: NOT(OR(AND(a, b))) renders "NOT a AND b", i.e.
 * (NOT a) AND b. */
static void test_not_of_single_condition_group(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *a = bin(col(users, "id"), "=", bind(1)), *b = bin(col(users, "name"), "=", bind(2));
  expect_sql(not_(OR(AND(a, b))), SQLITE, "NOT (users.id = ? AND users.name = ?)", "1,2");
}

static void test_in(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *id = col(users, "id");
  expect_all(IN(id, bind(1), bind(2), bind(3)), "users.id IN (?, ?, ?)", "users.id IN ($1, $2, $3)",
             "users.id IN (?, ?, ?)", "1,2,3");
  expect_sql(with_flags(IN(id, bind(1), bind(2)), ATH_F_NEGATE), PG, "users.id NOT IN ($1, $2)", "1,2");
  /* empty lists are constant predicates */
  ath_node *empty = mk(ATH_N_IN, NULL, 1, NODES(id));
  expect_all(empty, "1 != 1", "1 != 1", "1 != 1", "");
  ath_node *not_empty = with_flags(mk(ATH_N_IN, NULL, 1, NODES(id)), ATH_F_NEGATE);
  expect_all(not_empty, "1 = 1", "1 = 1", "1 = 1", "");
  expect_sql(select_(LIST(id), AND(empty, bin(col(users, "name"), "=", bind(1)))), PG,
             "SELECT users.id FROM users WHERE 1 != 1 AND users.name = $1", "1");
  /* a subquery */
  ath_node *sub = select_(LIST(col(orders, "user_id")), bin(col(orders, "total"), ">", bind(1)));
  ath_node *q = select_(LIST(col(users, "name")), AND(IN(id, sub), bin(col(users, "age"), ">", bind(2))));
  expect_all(q,
             "SELECT users.name FROM users WHERE users.id IN (SELECT orders.user_id FROM orders WHERE orders.total > ?) "
             "AND users.age > ?",
             "SELECT users.name FROM users WHERE users.id IN (SELECT orders.user_id FROM orders WHERE orders.total > $1) "
             "AND users.age > $2",
             "SELECT users.name FROM users WHERE users.id IN (SELECT orders.user_id FROM orders WHERE orders.total > ?) "
             "AND users.age > ?",
             "1,2");
  expect_sql(with_flags(IN(id, sub), ATH_F_NEGATE), SQLITE,
             "users.id NOT IN (SELECT orders.user_id FROM orders WHERE orders.total > ?)", "1");
}

static void test_between(void **state) {
  (void)state;
  ath_node *age = col(table("users"), "age");
  expect_all(between(age, bind(1), bind(2)), "users.age BETWEEN ? AND ?", "users.age BETWEEN $1 AND $2",
             "users.age BETWEEN ? AND ?", "1,2");
  expect_sql(with_flags(between(age, bind(1), bind(2)), ATH_F_NEGATE), PG, "users.age NOT BETWEEN $1 AND $2", "1,2");
  expect_sql(between(age, bin(bind(1), "+", bind(2)), bind(3)), SQLITE, "users.age BETWEEN ? + ? AND ?", "1,2,3");
  expect_sql(AND(between(age, bind(1), bind(2)), bin(age, "!=", bind(3))), SQLITE,
             "users.age BETWEEN ? AND ? AND users.age != ?", "1,2,3");
}

static void test_is_null_postfix(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *name = col(users, "name");
  expect_all(select_(LIST(col(users, "id")), postfix(name, "IS NULL")),
             "SELECT users.id FROM users WHERE users.name IS NULL", "SELECT users.id FROM users WHERE users.name IS NULL",
             "SELECT users.id FROM users WHERE users.name IS NULL", "");
  expect_sql(postfix(name, "IS NOT NULL"), SQLITE, "users.name IS NOT NULL", "");
  expect_sql(not_(postfix(name, "IS NULL")), SQLITE, "NOT (users.name IS NULL)", "");
  expect_sql(AND(postfix(name, "IS NULL"), bin(col(users, "id"), "=", bind(1))), SQLITE,
             "users.name IS NULL AND users.id = ?", "1");
  expect_sql(postfix(bin(name, "||", bind(1)), "IS NULL"), SQLITE, "users.name || ? IS NULL", "1");
  expect_sql(postfix(bin(name, "=", bind(1)), "IS NULL"), SQLITE, "users.name = ? IS NULL", "1");
  /* ASC/DESC apply to the whole ORDER BY term: no parentheses */
  expect_sql(postfix(bin(col(users, "age"), "+", bind(1)), "DESC"), SQLITE, "users.age + ? DESC", "1");
  expect_sql(postfix(postfix(col(users, "age"), "DESC"), "NULLS LAST"), PG, "users.age DESC NULLS LAST", "");
  expect_error(postfix(col(users, "age"), "NULLS FIRST"), MYSQL, ATH_E_COMPILE, "NULLS FIRST", "mysql");
}

static void test_like_ilike(void **state) {
  (void)state;
  ath_node *name = col(table("users"), "name");
  expect_all(bin(name, "LIKE", bind(1)), "users.name LIKE ?", "users.name LIKE $1", "users.name LIKE ?", "1");
  expect_all(bin(name, "ILIKE", bind(1)), "lower(users.name) LIKE lower(?)", "users.name ILIKE $1",
             "lower(users.name) LIKE lower(?)", "1");
  expect_all(bin(name, "NOT ILIKE", bind(1)), "lower(users.name) NOT LIKE lower(?)", "users.name NOT ILIKE $1",
             "lower(users.name) NOT LIKE lower(?)", "1");
  expect_sql(AND(bin(name, "ILIKE", bind(1)), bin(name, "ILIKE", bind(2))), SQLITE,
             "lower(users.name) LIKE lower(?) AND lower(users.name) LIKE lower(?)", "1,2");
}

static void test_concat(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *first = col(users, "first"), *last = col(users, "last");
  ath_node *q = select_(LIST(label(bin(bin(first, "||", bind(1)), "||", last), "fullname")), NULL);
  expect_all(q, "SELECT users.first || ? || users.last AS fullname FROM users",
             "SELECT users.first || $1 || users.last AS fullname FROM users",
             "SELECT concat(concat(users.first, ?), users.last) AS fullname FROM users", "1");
  expect_sql(bin(bin(first, "||", last), "=", bind(1)), MYSQL, "concat(users.first, users.last) = ?", "1");
  expect_sql(bin(bin(first, "||", last), "=", bind(1)), PG, "users.first || users.last = $1", "1");
}

/* Regression test (a bug this suite found, now fixed): "||" gets P_OTHER, below + and *, which is right for PostgreSQL but
 * not for SQLite, where || binds tighter than every other binary operator:
 * "users.id + ? || users.name" is users.id + (? || users.name) there. */
static void test_concat_precedence_sqlite(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *e = bin(bin(col(users, "id"), "+", bind(1)), "||", col(users, "name"));
  expect_sql(e, PG, "users.id + $1 || users.name", "1");
  expect_sql(e, SQLITE, "(users.id + ?) || users.name", "1");
}

static void test_booleans_and_null(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = select_(LIST(col(users, "id")), AND(bin(col(users, "active"), "=", leaf(ATH_N_TRUE)),
                                                    bin(col(users, "deleted"), "=", leaf(ATH_N_FALSE))));
  expect_all(q, "SELECT users.id FROM users WHERE users.active = 1 AND users.deleted = 0",
             "SELECT users.id FROM users WHERE users.active = true AND users.deleted = false",
             "SELECT users.id FROM users WHERE users.active = true AND users.deleted = false", "");
  expect_all(leaf(ATH_N_NULL), "NULL", "NULL", "NULL", "");
}

/* ------------------------------------------------------------ quoting */

static void quoted(const ath_dialect *d, const char *name, const char *expected) {
  ath_buf b = ATH_BUF_INIT;
  ath_quote_ident(&b, d, name, strlen(name));
  assert_false(b.oom);
  char got[256];
  snprintf(got, sizeof got, "%.*s", (int)b.len, b.data ? b.data : "");
  ath_buf_free(&b);
  assert_string_equal(got, expected);
}

static void test_identifier_quoting(void **state) {
  (void)state;
  quoted(SQLITE, "users", "users");
  quoted(SQLITE, "_private9", "_private9");
  quoted(SQLITE, "order", "\"order\"");
  quoted(MYSQL, "order", "`order`");
  quoted(PG, "Users", "\"Users\"");
  quoted(PG, "1st", "\"1st\"");
  quoted(PG, "first name", "\"first name\"");
  quoted(PG, "we\"ird", "\"we\"\"ird\"");
  quoted(MYSQL, "we\"ird", "`we\"ird`");
  quoted(MYSQL, "we`ird", "`we``ird`");
  quoted(SQLITE, "", "\"\"");
  assert_true(ath_is_reserved(SQLITE, "select", 6));
  assert_true(ath_is_reserved(SQLITE, "order", 5));
  assert_false(ath_is_reserved(SQLITE, "orders", 6));
  assert_false(ath_is_reserved(SQLITE, "SELECT", 6));  /* upper case is quoted anyway */

  /* in statements: the table name in FROM and as qualifier, columns, labels */
  ath_node *order = table("order");
  ath_node *q = select_(LIST(col(order, "id"), label(col(order, "desc"), "Total")), bin(col(order, "user"), "=", bind(1)));
  slot(q, ATH_SELECT_ORDER, LIST(label(col(order, "desc"), "Total")));
  expect_all(q,
             "SELECT \"order\".id, \"order\".\"desc\" AS \"Total\" FROM \"order\" WHERE \"order\".\"user\" = ? "
             "ORDER BY \"Total\"",
             "SELECT \"order\".id, \"order\".\"desc\" AS \"Total\" FROM \"order\" WHERE \"order\".\"user\" = $1 "
             "ORDER BY \"Total\"",
             "SELECT `order`.id, `order`.`desc` AS `Total` FROM `order` WHERE `order`.`user` = ? ORDER BY `Total`",
             "1");
  ath_node *mixed = table("Users");
  expect_all(select_(LIST(col(mixed, "userName")), NULL), "SELECT \"Users\".\"userName\" FROM \"Users\"",
             "SELECT \"Users\".\"userName\" FROM \"Users\"", "SELECT `Users`.`userName` FROM `Users`", "");
  ath_node *t = table("t");
  expect_all(select_(LIST(col(t, "we\"ird"), col(t, "we`ird")), NULL),
             "SELECT t.\"we\"\"ird\", t.\"we`ird\" FROM t", "SELECT t.\"we\"\"ird\", t.\"we`ird\" FROM t",
             "SELECT t.`we\"ird`, t.`we``ird` FROM t", "");
  /* INSERT/UPDATE column lists */
  expect_sql(insert(order, LIST(col(order, "desc")), LIST(LIST(bind(1))), NULL, NULL, NULL), MYSQL,
             "INSERT INTO `order` (`desc`) VALUES (?)", "1");
  expect_sql(update(order, LIST(set(col(order, "select"), bind(1))), NULL, NULL), PG,
             "UPDATE \"order\" SET \"select\" = $1", "1");
}

/* Regression test (a bug this suite found, now fixed): ath_node.c RESERVED lacks words MySQL 8 reserves, e.g. range,
 * interval, rank, rows: `INSERT INTO t (range) VALUES (?)` is a syntax
 * error on MySQL. */
static void test_mysql_reserved_words(void **state) {
  (void)state;
  ath_node *t = table("t");
  expect_sql(insert(t, LIST(col(t, "range"), col(t, "interval"), col(t, "rank"), col(t, "rows")),
                    LIST(LIST(bind(1), bind(2), bind(3), bind(4))), NULL, NULL, NULL),
             MYSQL, "INSERT INTO t (`range`, `interval`, `rank`, `rows`) VALUES (?, ?, ?, ?)", "1,2,3,4");
}

static void test_hostile_identifiers_are_quoted(void **state) {
  (void)state;
  ath_node *evil = table("a\"; DROP TABLE x; --");
  ath_node *q = select_(LIST(col(evil, "id"), label(col(evil, "x`; DELETE FROM y; --"), "z\"; --")),
                        bin(col(evil, "id"), "=", bind(1)));
  expect_all(q,
             "SELECT \"a\"\"; DROP TABLE x; --\".id, \"a\"\"; DROP TABLE x; --\".\"x`; DELETE FROM y; --\" AS "
             "\"z\"\"; --\" FROM \"a\"\"; DROP TABLE x; --\" WHERE \"a\"\"; DROP TABLE x; --\".id = ?",
             "SELECT \"a\"\"; DROP TABLE x; --\".id, \"a\"\"; DROP TABLE x; --\".\"x`; DELETE FROM y; --\" AS "
             "\"z\"\"; --\" FROM \"a\"\"; DROP TABLE x; --\" WHERE \"a\"\"; DROP TABLE x; --\".id = $1",
             "SELECT `a\"; DROP TABLE x; --`.id, `a\"; DROP TABLE x; --`.`x``; DELETE FROM y; --` AS "
             "`z\"; --` FROM `a\"; DROP TABLE x; --` WHERE `a\"; DROP TABLE x; --`.id = ?",
             "1");
  ath_node *aliased = table_as("users", "u\"; --");
  expect_sql(select_(LIST(col(aliased, "id")), NULL), SQLITE, "SELECT \"u\"\"; --\".id FROM users AS \"u\"\"; --\"", "");
  expect_sql(insert(evil, LIST(col(evil, "c\"); --")), LIST(LIST(bind(1))), NULL, NULL, NULL), PG,
             "INSERT INTO \"a\"\"; DROP TABLE x; --\" (\"c\"\"); --\") VALUES ($1)", "1");
  expect_sql(delete_(evil, NULL, NULL), MYSQL, "DELETE FROM `a\"; DROP TABLE x; --`", "");
}

/* --------------------------------------------------------- expressions */

static void test_functions(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = slot(select_(LIST(FUNC("count", star(NULL))), NULL), ATH_SELECT_FROM, LIST(users));
  expect_all(q, "SELECT count(*) FROM users", "SELECT count(*) FROM users", "SELECT count(*) FROM users", "");
  ath_node *now = with_flags(mk(ATH_N_FUNC, "CURRENT_TIMESTAMP", 0, NULL), ATH_F_NOPARENS);
  expect_all(select_(LIST(now), NULL), "SELECT CURRENT_TIMESTAMP", "SELECT CURRENT_TIMESTAMP",
             "SELECT CURRENT_TIMESTAMP", "");
  expect_sql(mk(ATH_N_FUNC, "random", 0, NULL), SQLITE, "random()", "");
  expect_sql(FUNC("coalesce", col(users, "name"), bind(1)), PG, "coalesce(users.name, $1)", "1");
  expect_sql(FUNC("count", unary("DISTINCT", col(users, "name"))), PG, "count(DISTINCT users.name)", "");
  expect_sql(FUNC("pg_catalog.lower", col(users, "name")), PG, "pg_catalog.lower(users.name)", "");
  expect_sql(select_(LIST(FUNC("max", col(users, "age"))), NULL), SQLITE, "SELECT max(users.age) FROM users", "");
  /* names that are not plain identifiers never reach the text */
  expect_error(FUNC("x); drop", bind(1)), SQLITE, ATH_E_COMPILE, "x); drop", "function name");
  expect_error(select_(LIST(FUNC("count(*) FROM users; --", star(NULL))), NULL), PG, ATH_E_COMPILE, "not a valid", NULL);
  expect_error(mk(ATH_N_FUNC, "1abc", 0, NULL), MYSQL, ATH_E_COMPILE, "1abc", NULL);
  expect_error(mk(ATH_N_FUNC, NULL, 0, NULL), MYSQL, ATH_E_COMPILE, "function name", NULL);
}

static void test_label_and_order_by_label(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *n = label(col(users, "name"), "n");
  ath_node *total = label(FUNC("count", col(users, "id")), "total");
  ath_node *q = select_(LIST(n, total), NULL);
  slot(q, ATH_SELECT_GROUP, LIST(col(users, "name")));
  slot(q, ATH_SELECT_ORDER, LIST(postfix(total, "DESC"), n));
  expect_all(q, "SELECT users.name AS n, count(users.id) AS total FROM users GROUP BY users.name ORDER BY total DESC, n",
             "SELECT users.name AS n, count(users.id) AS total FROM users GROUP BY users.name ORDER BY total DESC, n",
             "SELECT users.name AS n, count(users.id) AS total FROM users GROUP BY users.name ORDER BY total DESC, n",
             "");
  /* GROUP BY a label also names it */
  q = slot(select_(LIST(n, total), NULL), ATH_SELECT_GROUP, LIST(n));
  expect_sql(q, SQLITE, "SELECT users.name AS n, count(users.id) AS total FROM users GROUP BY n", "");
  /* labels with binds keep their binds in the column list */
  expect_sql(select_(LIST(label(bin(col(users, "age"), "+", bind(1)), "next")), NULL), PG,
             "SELECT users.age + $1 AS next FROM users", "1");
}

/* A label is `x AS name` only as an item of a columns clause; ORDER BY and
 * GROUP BY name it when the columns clause has it (same name, same
 * expression); everywhere else it is its expression (SQLAlchemy 1.4). */
static void test_label_renders_by_where_it_stands(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *n = label(FUNC("count", star(NULL)), "n");
  ath_node *n_again = label(FUNC("count", star(NULL)), "n");        /* built twice, as Lua does */
  ath_node *q = slot(select_(LIST(col(users, "team_id"), n), NULL), ATH_SELECT_GROUP, LIST(col(users, "team_id")));
  slot(q, ATH_SELECT_HAVING, bin(n_again, ">", bind(1)));
  slot(q, ATH_SELECT_ORDER, LIST(postfix(postfix(label(FUNC("count", star(NULL)), "n"), "DESC"), "NULLS LAST")));
  expect_sql(q, PG, "SELECT users.team_id, count(*) AS n FROM users GROUP BY users.team_id HAVING count(*) > $1 "
             "ORDER BY n DESC NULLS LAST", "1");
  /* WHERE: the expression */
  ath_node *u = label(bin(col(users, "id"), "*", bind(1)), "u");
  expect_sql(select_(LIST(u), bin(label(bin(col(users, "id"), "*", bind(2)), "u"), ">", bind(3))), SQLITE,
             "SELECT users.id * ? AS u FROM users WHERE users.id * ? > ?", "1,2,3");
  /* GROUP BY a label of the columns clause: its name */
  q = slot(select_(LIST(label(bin(col(users, "id"), "*", bind(1)), "u"), n), NULL), ATH_SELECT_GROUP,
           LIST(label(bin(col(users, "id"), "*", bind(2)), "u")));
  expect_sql(q, SQLITE, "SELECT users.id * ? AS u, count(*) AS n FROM users GROUP BY u", "1");
  /* ORDER BY a label the columns clause lacks, or one of the same name over
   * another expression: the expression */
  q = slot(select_(LIST(col(users, "id"), n), NULL), ATH_SELECT_ORDER,
           LIST(label(FUNC("max", col(users, "id")), "n"), label(col(users, "age"), "a")));
  expect_sql(q, SQLITE, "SELECT users.id, count(*) AS n FROM users ORDER BY max(users.id), users.age", "");
  /* inside a function of the columns clause: the expression */
  expect_sql(select_(LIST(label(FUNC("max", label(col(users, "age"), "a")), "top")), NULL), SQLITE,
             "SELECT max(users.age) AS top FROM users", "");
  /* alone (tostring of a label): the expression */
  expect_sql(n, SQLITE, "count(*)", "");
  /* RETURNING is a columns clause */
  expect_sql(update(users, LIST(set(col(users, "age"), bind(1))), NULL, LIST(label(col(users, "age"), "years"))), PG,
             "UPDATE users SET age = $1 RETURNING age AS years", "1");
  /* a compound's ORDER BY names its result columns */
  ath_node *c = compound("UNION", LIST(select_(LIST(label(col(users, "id"), "k")), NULL),
                                       select_(LIST(label(col(users, "age"), "k")), NULL)),
                         LIST(postfix(label(col(users, "id"), "k"), "DESC")), NULL, NULL);
  expect_sql(c, SQLITE, "SELECT users.id AS k FROM users UNION SELECT users.age AS k FROM users ORDER BY k DESC", "");
}

/* Regression test (a bug this suite found, now fixed): select_stmt() does not reset r->in_order (nor r->colmode) while
 * rendering a nested SELECT, so a subquery inside ORDER BY renders its own
 * labelled columns by name only: "ORDER BY (SELECT m FROM orders ...)". */
static void test_order_by_subquery_with_label(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *sub = select_(LIST(label(FUNC("max", col(orders, "total")), "m")),
                          bin(col(orders, "user_id"), "=", col(users, "id")));
  ath_node *q = slot(select_(LIST(col(users, "name")), NULL), ATH_SELECT_ORDER, LIST(scalar(sub)));
  expect_sql(q, SQLITE,
             "SELECT users.name FROM users ORDER BY (SELECT max(orders.total) AS m FROM orders WHERE orders.user_id = "
             "users.id)",
             "");
}

/* Regression test (a bug this suite found, now fixed): returning() renders its list with scope NULL and r->colmode ==
 * COL_BARE, and a subquery inside inherits both: it is not correlated (the
 * statement's table is added to its FROM) and its columns lose their
 * qualifiers. Renders "(SELECT count(*) FROM orders, users WHERE user_id = id)". */
static void test_returning_subquery_keeps_qualifiers(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *cnt = scalar(select_(LIST(FUNC("count", star(NULL))), bin(col(orders, "user_id"), "=", col(users, "id"))));
  ath_node *upd = update(users, LIST(set(col(users, "name"), bind(1))), NULL, LIST(col(users, "id"), label(cnt, "n")));
  expect_sql(upd, PG,
             "UPDATE users SET name = $1 RETURNING id, (SELECT count(*) FROM orders WHERE orders.user_id = users.id) AS n",
             "1");
}

static void test_cast(void **state) {
  (void)state;
  ath_node *id = col(table("users"), "id");
  expect_all(cast(id, "Text"), "CAST(users.id AS TEXT)", "CAST(users.id AS TEXT)", "CAST(users.id AS CHAR)", "");
  expect_all(cast(bind(1), "Integer"), "CAST(? AS INTEGER)", "CAST($1 AS INTEGER)", "CAST(? AS SIGNED INTEGER)", "1");
  expect_sql(bin(cast(bind(1), "Double"), "*", bind(2)), PG, "CAST($1 AS DOUBLE PRECISION) * $2", "1,2");
}

static void test_case(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *age = col(users, "age");
  ath_node *c = CASE(ATH_F_ELSE, bin(age, "<", bind(1)), bind(2), bin(age, "<", bind(3)), bind(4), bind(5));
  expect_all(select_(LIST(label(c, "bracket")), NULL),
             "SELECT CASE WHEN users.age < ? THEN ? WHEN users.age < ? THEN ? ELSE ? END AS bracket FROM users",
             "SELECT CASE WHEN users.age < $1 THEN $2 WHEN users.age < $3 THEN $4 ELSE $5 END AS bracket FROM users",
             "SELECT CASE WHEN users.age < ? THEN ? WHEN users.age < ? THEN ? ELSE ? END AS bracket FROM users",
             "1,2,3,4,5");
  expect_sql(CASE(0, col(users, "active"), bind(1)), SQLITE, "CASE WHEN users.active THEN ? END", "1");
  expect_sql(CASE(ATH_F_ELSE, postfix(age, "IS NULL"), leaf(ATH_N_FALSE), leaf(ATH_N_TRUE)), SQLITE,
             "CASE WHEN users.age IS NULL THEN 0 ELSE 1 END", "");
}

static void test_collate_and_grouping(void **state) {
  (void)state;
  ath_node *name = col(table("users"), "name");
  expect_sql(bin(mk(ATH_N_COLLATE, "nocase", 1, NODES(name)), "=", bind(1)), SQLITE,
             "users.name COLLATE nocase = ?", "1");
  expect_sql(mk(ATH_N_COLLATE, "C", 1, NODES(name)), PG, "users.name COLLATE \"C\"", "");
  expect_sql(mk(ATH_N_GROUPING, NULL, 1, NODES(bin(name, "=", bind(1)))), SQLITE, "(users.name = ?)", "1");
  expect_sql(IN(LIST(name, col(table("users"), "id")), LIST(bind(1), bind(2))), PG,
             "(users.name, users.id) IN (($1, $2))", "1,2");
}

/* --------------------------------------------------------------- FROM */

static void test_joins(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders"), *items = table("items");
  ath_node *on = bin(col(orders, "user_id"), "=", col(users, "id"));
  ath_node *cols = LIST(col(users, "name"), col(orders, "total"));
  ath_node *q = slot(select_(cols, bin(col(orders, "total"), ">", bind(1))), ATH_SELECT_FROM, LIST(join(users, orders, on, 0)));
  expect_all(q, "SELECT users.name, orders.total FROM users JOIN orders ON orders.user_id = users.id WHERE orders.total > ?",
             "SELECT users.name, orders.total FROM users JOIN orders ON orders.user_id = users.id WHERE orders.total > $1",
             "SELECT users.name, orders.total FROM users JOIN orders ON orders.user_id = users.id WHERE orders.total > ?",
             "1");
  q = slot(select_(cols, NULL), ATH_SELECT_FROM, LIST(join(users, orders, on, ATH_F_OUTER)));
  expect_all(q, "SELECT users.name, orders.total FROM users LEFT OUTER JOIN orders ON orders.user_id = users.id",
             "SELECT users.name, orders.total FROM users LEFT OUTER JOIN orders ON orders.user_id = users.id",
             "SELECT users.name, orders.total FROM users LEFT OUTER JOIN orders ON orders.user_id = users.id", "");
  q = slot(select_(cols, NULL), ATH_SELECT_FROM, LIST(join(users, orders, on, ATH_F_FULL)));
  expect_sql(q, SQLITE, "SELECT users.name, orders.total FROM users FULL OUTER JOIN orders ON orders.user_id = users.id", "");
  expect_sql(q, PG, "SELECT users.name, orders.total FROM users FULL OUTER JOIN orders ON orders.user_id = users.id", "");
  expect_error(q, MYSQL, ATH_E_COMPILE, "FULL OUTER JOIN", "mysql");

  /* chains, a join on the right, binds in the ON clause, an uncovered table */
  ath_node *on2 = AND(bin(col(items, "order_id"), "=", col(orders, "id")), bin(col(items, "qty"), ">", bind(1)));
  q = slot(select_(LIST(col(users, "name"), col(items, "sku")), NULL), ATH_SELECT_FROM,
           LIST(join(join(users, orders, on, 0), items, on2, ATH_F_OUTER)));
  expect_sql(q, PG,
             "SELECT users.name, items.sku FROM users JOIN orders ON orders.user_id = users.id LEFT OUTER JOIN items ON "
             "items.order_id = orders.id AND items.qty > $1",
             "1");
  q = slot(select_(LIST(col(users, "name")), NULL), ATH_SELECT_FROM, LIST(join(users, join(orders, items, on2, 0), on, 0)));
  expect_sql(q, SQLITE,
             "SELECT users.name FROM users JOIN (orders JOIN items ON items.order_id = orders.id AND items.qty > ?) ON "
             "orders.user_id = users.id",
             "1");
  q = slot(select_(LIST(col(users, "name"), col(items, "sku")), NULL), ATH_SELECT_FROM, LIST(join(users, orders, on, 0)));
  expect_sql(q, SQLITE, "SELECT users.name, items.sku FROM users JOIN orders ON orders.user_id = users.id, items", "");
}

static void test_table_alias_and_self_join(void **state) {
  (void)state;
  ath_node *u = table_as("users", "u"), *m = table_as("users", "m");
  ath_node *on = bin(col(u, "manager_id"), "=", col(m, "id"));
  ath_node *q = slot(select_(LIST(col(u, "name"), label(col(m, "name"), "manager")), bin(col(m, "id"), "=", bind(1))),
                     ATH_SELECT_FROM, LIST(join(u, m, on, ATH_F_OUTER)));
  expect_all(q,
             "SELECT u.name, m.name AS manager FROM users AS u LEFT OUTER JOIN users AS m ON u.manager_id = m.id "
             "WHERE m.id = ?",
             "SELECT u.name, m.name AS manager FROM users AS u LEFT OUTER JOIN users AS m ON u.manager_id = m.id "
             "WHERE m.id = $1",
             "SELECT u.name, m.name AS manager FROM users AS u LEFT OUTER JOIN users AS m ON u.manager_id = m.id "
             "WHERE m.id = ?",
             "1");
  /* inferred: both aliases listed */
  expect_sql(select_(LIST(col(u, "name"), col(m, "name")), on), SQLITE,
             "SELECT u.name, m.name FROM users AS u, users AS m WHERE u.manager_id = m.id", "");
  /* an alias that needs quoting, on a reserved table name */
  ath_node *o = table_as("order", "O");
  expect_all(select_(LIST(col(o, "id")), NULL), "SELECT \"O\".id FROM \"order\" AS \"O\"",
             "SELECT \"O\".id FROM \"order\" AS \"O\"", "SELECT `O`.id FROM `order` AS `O`", "");
}

static void test_subquery_in_from(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *inner = select_(LIST(col(orders, "user_id"), label(FUNC("sum", col(orders, "total")), "spent")),
                            bin(col(orders, "status"), "=", bind(1)));
  slot(inner, ATH_SELECT_GROUP, LIST(col(orders, "user_id")));
  ath_node *s = alias("s", inner);
  ath_node *q = slot(select_(LIST(col(users, "name"), col(s, "spent")), bin(col(s, "spent"), ">", bind(2))), ATH_SELECT_FROM,
                     LIST(join(users, s, bin(col(s, "user_id"), "=", col(users, "id")), 0)));
  expect_all(q,
             "SELECT users.name, s.spent FROM users JOIN (SELECT orders.user_id, sum(orders.total) AS spent FROM orders "
             "WHERE orders.status = ? GROUP BY orders.user_id) AS s ON s.user_id = users.id WHERE s.spent > ?",
             "SELECT users.name, s.spent FROM users JOIN (SELECT orders.user_id, sum(orders.total) AS spent FROM orders "
             "WHERE orders.status = $1 GROUP BY orders.user_id) AS s ON s.user_id = users.id WHERE s.spent > $2",
             "SELECT users.name, s.spent FROM users JOIN (SELECT orders.user_id, sum(orders.total) AS spent FROM orders "
             "WHERE orders.status = ? GROUP BY orders.user_id) AS s ON s.user_id = users.id WHERE s.spent > ?",
             "1,2");
  /* inferred from the alias' columns */
  expect_sql(select_(LIST(FUNC("max", col(s, "spent"))), NULL), PG,
             "SELECT max(s.spent) FROM (SELECT orders.user_id, sum(orders.total) AS spent FROM orders WHERE "
             "orders.status = $1 GROUP BY orders.user_id) AS s",
             "1");
}

static void test_correlated_scalar_subquery(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *inner = select_(LIST(FUNC("count", star(NULL))), bin(col(orders, "user_id"), "=", col(users, "id")));
  ath_node *q = select_(LIST(col(users, "name"), label(scalar(inner), "n")), bin(col(users, "age"), ">", bind(1)));
  expect_all(q,
             "SELECT users.name, (SELECT count(*) FROM orders WHERE orders.user_id = users.id) AS n FROM users "
             "WHERE users.age > ?",
             "SELECT users.name, (SELECT count(*) FROM orders WHERE orders.user_id = users.id) AS n FROM users "
             "WHERE users.age > $1",
             "SELECT users.name, (SELECT count(*) FROM orders WHERE orders.user_id = users.id) AS n FROM users "
             "WHERE users.age > ?",
             "1");
  /* alone, the same select lists both tables */
  expect_sql(inner, SQLITE, "SELECT count(*) FROM orders, users WHERE orders.user_id = users.id", "");
  /* in WHERE through EXISTS, with a bind inside the subquery between outer binds */
  ath_node *ex = unary("EXISTS", select_(LIST(col(orders, "id")), AND(bin(col(orders, "user_id"), "=", col(users, "id")),
                                                                     bin(col(orders, "total"), ">", bind(2)))));
  q = select_(LIST(col(users, "name")), AND(bin(col(users, "age"), ">", bind(1)), ex, bin(col(users, "id"), "<", bind(3))));
  expect_sql(q, PG,
             "SELECT users.name FROM users WHERE users.age > $1 AND EXISTS (SELECT orders.id FROM orders WHERE "
             "orders.user_id = users.id AND orders.total > $2) AND users.id < $3",
             "1,2,3");
  /* a subquery used as an expression (SELECT node directly) correlates too */
  q = select_(LIST(col(users, "name")), bin(select_(LIST(FUNC("count", star(NULL))),
                                                    bin(col(orders, "user_id"), "=", col(users, "id"))), ">", bind(1)));
  expect_sql(q, SQLITE,
             "SELECT users.name FROM users WHERE (SELECT count(*) FROM orders WHERE orders.user_id = users.id) > ?", "1");
  /* explicit correlation (ATH_SELECT_CORRELATE) keeps a table the enclosing
   * query has out of FROM; alone, nothing encloses it (as SQLAlchemy) */
  ath_node *c = select_(LIST(col(orders, "id")), bin(col(orders, "user_id"), "=", col(users, "id")));
  slot(c, ATH_SELECT_CORRELATE, LIST(users));
  expect_sql(c, SQLITE, "SELECT orders.id FROM orders, users WHERE orders.user_id = users.id", "");
  expect_sql(select_(LIST(col(users, "id")), unary("EXISTS", c)), SQLITE,
             "SELECT users.id FROM users WHERE EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)", "");
}

/* --------------------------------------------------------------- CTEs */

static void test_cte(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *big = cte("big", select_(LIST(col(orders, "user_id")), bin(col(orders, "total"), ">", bind(1))));
  ath_node *q = select_(LIST(col(users, "name")),
                        AND(IN(col(users, "id"), select_(LIST(col(big, "user_id")), NULL)),
                            bin(col(users, "active"), "=", bind(2))));
  expect_all(q,
             "WITH big AS (SELECT orders.user_id FROM orders WHERE orders.total > ?) SELECT users.name FROM users "
             "WHERE users.id IN (SELECT big.user_id FROM big) AND users.active = ?",
             "WITH big AS (SELECT orders.user_id FROM orders WHERE orders.total > $1) SELECT users.name FROM users "
             "WHERE users.id IN (SELECT big.user_id FROM big) AND users.active = $2",
             "WITH big AS (SELECT orders.user_id FROM orders WHERE orders.total > ?) SELECT users.name FROM users "
             "WHERE users.id IN (SELECT big.user_id FROM big) AND users.active = ?",
             "1,2");
  /* a CTE using another: dependencies first, each once */
  ath_node *a = cte("a", select_(LIST(col(orders, "user_id")), NULL));
  ath_node *b = cte("b", select_(LIST(col(a, "user_id")), NULL));
  q = select_(LIST(col(b, "user_id"), col(a, "user_id")), bin(col(a, "user_id"), "=", col(b, "user_id")));
  expect_sql(q, SQLITE,
             "WITH a AS (SELECT orders.user_id FROM orders), b AS (SELECT a.user_id FROM a) SELECT b.user_id, a.user_id "
             "FROM b, a WHERE a.user_id = b.user_id",
             "");
  /* DML: WITH goes first */
  ath_node *d = delete_(users, IN(col(users, "id"), select_(LIST(col(big, "user_id")), NULL)), NULL);
  expect_sql(d, PG,
             "WITH big AS (SELECT orders.user_id FROM orders WHERE orders.total > $1) DELETE FROM users WHERE users.id IN "
             "(SELECT big.user_id FROM big)",
             "1");
}

static void recursive_cte_case(int self_is_same_node) {
  ath_node *t = mk(ATH_N_CTE, "t", 2, NULL);
  t->flags = ATH_F_RECURSIVE;
  ath_node *self = self_is_same_node ? t : with_flags(mk(ATH_N_CTE, "t", 0, NULL), ATH_F_RECURSIVE);
  ath_node *base = select_(LIST(label(bind(1), "n")), NULL);
  ath_node *step = select_(LIST(bin(col(self, "n"), "+", bind(2))), bin(col(self, "n"), "<", bind(3)));
  t->kids[0] = compound("UNION ALL", LIST(base, step), NULL, NULL, NULL);
  t->kids[1] = LIST(col(t, "n"));
  ath_node *q = select_(LIST(col(t, "n")), NULL);
  expect_all(q,
             "WITH RECURSIVE t(n) AS (SELECT ? AS n UNION ALL SELECT t.n + ? FROM t WHERE t.n < ?) SELECT t.n FROM t",
             "WITH RECURSIVE t(n) AS (SELECT $1 AS n UNION ALL SELECT t.n + $2 FROM t WHERE t.n < $3) SELECT t.n FROM t",
             "WITH RECURSIVE t(n) AS (SELECT ? AS n UNION ALL SELECT t.n + ? FROM t WHERE t.n < ?) SELECT t.n FROM t",
             "1,2,3");
  ath_buf key = ATH_BUF_INIT;                     /* a cyclic tree still has a key */
  assert_int_equal(ath_node_key(&key, q, SQLITE), 0);
  ath_buf_free(&key);
}

static void test_recursive_cte(void **state) {
  (void)state;
  recursive_cte_case(1);                          /* refers to itself: the same node */
  recursive_cte_case(0);                          /* refers to itself: another node with the same name */
  /* without a column list */
  ath_node *t = with_flags(mk(ATH_N_CTE, "tree", 1, NULL), ATH_F_RECURSIVE);
  ath_node *nodes = table("nodes");
  ath_node *base = select_(LIST(col(nodes, "id")), postfix(col(nodes, "parent_id"), "IS NULL"));
  ath_node *step = select_(LIST(col(nodes, "id")), bin(col(nodes, "parent_id"), "=", col(t, "id")));
  t->kids[0] = compound("UNION ALL", LIST(base, step), NULL, NULL, NULL);
  expect_sql(select_(LIST(col(t, "id")), NULL), PG,
             "WITH RECURSIVE tree AS (SELECT nodes.id FROM nodes WHERE nodes.parent_id IS NULL UNION ALL SELECT nodes.id "
             "FROM nodes, tree WHERE nodes.parent_id = tree.id) SELECT tree.id FROM tree",
             "");
}

/* ----------------------------------------------------------- compound */

static void test_compound(void **state) {
  (void)state;
  ath_node *users = table("users"), *admins = table("admins");
  ath_node *q1 = select_(LIST(col(users, "name")), bin(col(users, "id"), "<", bind(1)));
  ath_node *q2 = select_(LIST(col(admins, "name")), NULL);
  ath_node *u = compound("UNION", LIST(q1, q2), LIST(col(users, "name")), bind(2), NULL);
  expect_all(u,
             "SELECT users.name FROM users WHERE users.id < ? UNION SELECT admins.name FROM admins ORDER BY name LIMIT ?",
             "SELECT users.name FROM users WHERE users.id < $1 UNION SELECT admins.name FROM admins ORDER BY name LIMIT $2",
             "SELECT users.name FROM users WHERE users.id < ? UNION SELECT admins.name FROM admins ORDER BY name LIMIT ?",
             "1,2");
  assert_int_equal(returns_rows(u, PG), 1);
  u = compound("UNION ALL", LIST(q1, q2), LIST(postfix(col(users, "name"), "DESC")), bind(2), bind(3));
  expect_sql(u, PG,
             "SELECT users.name FROM users WHERE users.id < $1 UNION ALL SELECT admins.name FROM admins ORDER BY name DESC "
             "LIMIT $2 OFFSET $3",
             "1,2,3");
  u = compound("EXCEPT", LIST(q1, q2), NULL, NULL, bind(2));
  expect_all(u, "SELECT users.name FROM users WHERE users.id < ? EXCEPT SELECT admins.name FROM admins LIMIT -1 OFFSET ?",
             "SELECT users.name FROM users WHERE users.id < $1 EXCEPT SELECT admins.name FROM admins OFFSET $2",
             "SELECT users.name FROM users WHERE users.id < ? EXCEPT SELECT admins.name FROM admins "
             "LIMIT 18446744073709551615 OFFSET ?",
             "1,2");
  /* in FROM and IN */
  ath_node *s = alias("s", compound("UNION", LIST(q1, q2), NULL, NULL, NULL));
  expect_sql(select_(LIST(col(s, "name")), NULL), SQLITE,
             "SELECT s.name FROM (SELECT users.name FROM users WHERE users.id < ? UNION SELECT admins.name FROM admins) AS s",
             "1");
  ath_node *people = table("people");
  expect_sql(select_(LIST(col(people, "id")), IN(col(people, "name"), compound("UNION", LIST(q1, q2), NULL, NULL, NULL))),
             PG,
             "SELECT people.id FROM people WHERE people.name IN (SELECT users.name FROM users WHERE users.id < $1 UNION "
             "SELECT admins.name FROM admins)",
             "1");
}

static void test_for_update(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = with_flags(select_(LIST(col(users, "id")), bin(col(users, "id"), "=", bind(1))), ATH_F_FOR_UPDATE);
  expect_all(q, "SELECT users.id FROM users WHERE users.id = ?",
             "SELECT users.id FROM users WHERE users.id = $1 FOR UPDATE",
             "SELECT users.id FROM users WHERE users.id = ? FOR UPDATE", "1");
  q->flags |= ATH_F_NOWAIT;
  expect_sql(q, SQLITE, "SELECT users.id FROM users WHERE users.id = ?", "1");
  expect_sql(q, PG, "SELECT users.id FROM users WHERE users.id = $1 FOR UPDATE NOWAIT", "1");
  q->flags = ATH_F_FOR_UPDATE | ATH_F_SKIP_LOCKED;
  expect_sql(q, PG, "SELECT users.id FROM users WHERE users.id = $1 FOR UPDATE SKIP LOCKED", "1");
  expect_sql(q, MYSQL, "SELECT users.id FROM users WHERE users.id = ? FOR UPDATE SKIP LOCKED", "1");
  q->flags = ATH_F_FOR_SHARE;
  expect_all(q, "SELECT users.id FROM users WHERE users.id = ?", "SELECT users.id FROM users WHERE users.id = $1 FOR SHARE",
             "SELECT users.id FROM users WHERE users.id = ? FOR SHARE", "1");
  /* after LIMIT */
  q->flags = ATH_F_FOR_UPDATE;
  slot(q, ATH_SELECT_LIMIT, bind(2));
  expect_sql(q, PG, "SELECT users.id FROM users WHERE users.id = $1 LIMIT $2 FOR UPDATE", "1,2");
}

/* ---------------------------------------------------------------- DML */

static void test_insert_rows(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *cols = LIST(col(users, "id"), col(users, "name"));
  ath_node *ins = insert(users, cols, LIST(LIST(bind(1), bind(2))), NULL, NULL, NULL);
  expect_all(ins, "INSERT INTO users (id, name) VALUES (?, ?)", "INSERT INTO users (id, name) VALUES ($1, $2)",
             "INSERT INTO users (id, name) VALUES (?, ?)", "1,2");
  assert_int_equal(returns_rows(ins, PG), 0);
  ins = insert(users, cols, LIST(LIST(bind(1), bind(2)), LIST(bind(3), leaf(ATH_N_NULL)), LIST(bind(4), bind(5))), NULL,
               NULL, NULL);
  expect_all(ins, "INSERT INTO users (id, name) VALUES (?, ?), (?, NULL), (?, ?)",
             "INSERT INTO users (id, name) VALUES ($1, $2), ($3, NULL), ($4, $5)",
             "INSERT INTO users (id, name) VALUES (?, ?), (?, NULL), (?, ?)", "1,2,3,4,5");
  /* values may be expressions */
  ins = insert(users, cols, LIST(LIST(bin(bind(1), "+", bind(2)), FUNC("lower", bind(3)))), NULL, NULL, NULL);
  expect_sql(ins, PG, "INSERT INTO users (id, name) VALUES ($1 + $2, lower($3))", "1,2,3");
  /* a row of the wrong width */
  ins = insert(users, cols, LIST(LIST(bind(1), bind(2)), LIST(bind(3))), NULL, NULL, NULL);
  expect_error(ins, SQLITE, ATH_E_COMPILE, "number of values", NULL);
}

static void test_insert_default_values(void **state) {
  (void)state;
  ath_node *users = table("users");
  expect_all(insert(users, NULL, NULL, NULL, NULL, NULL), "INSERT INTO users DEFAULT VALUES",
             "INSERT INTO users DEFAULT VALUES", "INSERT INTO users () VALUES ()", "");
  expect_sql(insert(users, EMPTY_LIST(), LIST(EMPTY_LIST()), NULL, NULL, NULL), SQLITE,
             "INSERT INTO users DEFAULT VALUES", "");
  expect_sql(insert(users, NULL, NULL, NULL, LIST(col(users, "id")), NULL), PG,
             "INSERT INTO users DEFAULT VALUES RETURNING id", "");
}

static void test_insert_select(void **state) {
  (void)state;
  ath_node *users = table("users"), *archive = table("archive");
  ath_node *sel = select_(LIST(col(users, "id"), col(users, "name")),
                          AND(bin(col(users, "active"), "=", leaf(ATH_N_FALSE)), bin(col(users, "age"), ">", bind(1))));
  ath_node *ins = insert(archive, LIST(col(archive, "id"), col(archive, "name")), NULL, sel, NULL, NULL);
  expect_all(ins,
             "INSERT INTO archive (id, name) SELECT users.id, users.name FROM users WHERE users.active = 0 AND users.age > ?",
             "INSERT INTO archive (id, name) SELECT users.id, users.name FROM users WHERE users.active = false AND "
             "users.age > $1",
             "INSERT INTO archive (id, name) SELECT users.id, users.name FROM users WHERE users.active = false AND "
             "users.age > ?",
             "1");
  expect_sql(insert(archive, NULL, NULL, sel, NULL, NULL), SQLITE,
             "INSERT INTO archive SELECT users.id, users.name FROM users WHERE users.active = 0 AND users.age > ?", "1");
}

static void test_returning(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *ins = insert(users, LIST(col(users, "name")), LIST(LIST(bind(1))), NULL,
                         LIST(col(users, "id"), label(col(users, "name"), "n")), NULL);
  expect_sql(ins, SQLITE, "INSERT INTO users (name) VALUES (?) RETURNING id, name AS n", "1");
  expect_sql(ins, PG, "INSERT INTO users (name) VALUES ($1) RETURNING id, name AS n", "1");
  assert_int_equal(returns_rows(ins, PG), 1);
  expect_error(ins, MYSQL, ATH_E_COMPILE, "RETURNING", "mysql");
  /* an empty RETURNING list is none */
  ins = insert(users, LIST(col(users, "name")), LIST(LIST(bind(1))), NULL, EMPTY_LIST(), NULL);
  expect_sql(ins, MYSQL, "INSERT INTO users (name) VALUES (?)", "1");
  assert_int_equal(returns_rows(ins, MYSQL), 0);
}

static void test_on_conflict_do_nothing(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *cols = LIST(col(users, "id"), col(users, "name"));
  ath_node *rows = LIST(LIST(bind(1), bind(2)));
  ath_node *ins = insert(users, cols, rows, NULL, NULL, on_conflict(LIST(col(users, "id")), NULL, NULL));
  expect_all(ins, "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
             "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
             "INSERT IGNORE INTO users (id, name) VALUES (?, ?)", "1,2");
  ins = insert(users, cols, rows, NULL, NULL, on_conflict(NULL, EMPTY_LIST(), NULL));
  expect_all(ins, "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
             "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
             "INSERT IGNORE INTO users (id, name) VALUES (?, ?)", "1,2");
  ins = insert(users, cols, rows, NULL, LIST(col(users, "id")), on_conflict(LIST(col(users, "id")), NULL, NULL));
  expect_sql(ins, PG, "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id", "1,2");
}

static void test_on_conflict_do_update(void **state) {
  (void)state;
  ath_node *users = table("users"), *exc = excluded();
  ath_node *cols = LIST(col(users, "id"), col(users, "name"));
  ath_node *rows = LIST(LIST(bind(1), bind(2)));
  ath_node *sets = LIST(set(col(users, "name"), col(exc, "name")),
                        set(col(users, "visits"), bin(col(users, "visits"), "+", bind(3))));
  ath_node *ins = insert(users, cols, rows, NULL, NULL, on_conflict(LIST(col(users, "id")), sets, NULL));
  expect_all(ins,
             "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = "
             "users.visits + ?",
             "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = "
             "users.visits + $3",
             "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), visits = "
             "users.visits + ?",
             "1,2,3");
  /* a WHERE on the update (PostgreSQL / SQLite) */
  ins = insert(users, cols, rows, NULL, LIST(col(users, "id")),
               on_conflict(LIST(col(users, "id")), LIST(set(col(users, "name"), col(exc, "name"))),
                           bin(col(users, "locked"), "=", leaf(ATH_N_FALSE))));
  expect_sql(ins, PG,
             "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE "
             "users.locked = false RETURNING id",
             "1,2");
  expect_sql(ins, SQLITE,
             "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE "
             "users.locked = 0 RETURNING id",
             "1,2");
  /* DO UPDATE needs a conflict target outside MySQL */
  ins = insert(users, cols, rows, NULL, NULL, on_conflict(NULL, LIST(set(col(users, "name"), col(exc, "name"))), NULL));
  expect_error(ins, SQLITE, ATH_E_COMPILE, "conflict target", "sqlite");
  expect_error(ins, PG, ATH_E_COMPILE, "conflict target", "postgresql");
  expect_sql(ins, MYSQL, "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)", "1,2");
  /* the excluded pseudo-table never enters a FROM */
  expect_sql(col(exc, "Name"), PG, "excluded.\"Name\"", "");
  expect_sql(col(exc, "Name"), MYSQL, "VALUES(`Name`)", "");
}

/* Regression test (a bug this suite found, now fixed): insert_stmt() renders MySQL's ON DUPLICATE KEY UPDATE without the ON
 * CONFLICT ... WHERE condition (conflict->kids[2]) and without an error, so
 * rows the WHERE should protect are updated. It should be a CompileError
 * naming the construct and the dialect. */
static void test_on_conflict_where_on_mysql(void **state) {
  (void)state;
  ath_node *users = table("users"), *exc = excluded();
  ath_node *ins = insert(users, LIST(col(users, "id"), col(users, "name")), LIST(LIST(bind(1), bind(2))), NULL, NULL,
                         on_conflict(LIST(col(users, "id")), LIST(set(col(users, "name"), col(exc, "name"))),
                                     bin(col(users, "locked"), "=", leaf(ATH_N_FALSE))));
  expect_error(ins, MYSQL, ATH_E_COMPILE, "mysql", NULL);
}

static void test_update(void **state) {
  (void)state;
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *upd = update(users, LIST(set(col(users, "name"), bind(1)), set(col(users, "age"), bin(col(users, "age"), "+", bind(2)))),
                         bin(col(users, "id"), "=", bind(3)), LIST(col(users, "id"), col(users, "age")));
  expect_sql(upd, SQLITE, "UPDATE users SET name = ?, age = users.age + ? WHERE users.id = ? RETURNING id, age", "1,2,3");
  expect_sql(upd, PG, "UPDATE users SET name = $1, age = users.age + $2 WHERE users.id = $3 RETURNING id, age", "1,2,3");
  expect_error(upd, MYSQL, ATH_E_COMPILE, "RETURNING", "mysql");
  assert_int_equal(returns_rows(upd, PG), 1);
  upd->kids[3] = NULL;
  expect_sql(upd, MYSQL, "UPDATE users SET name = ?, age = users.age + ? WHERE users.id = ?", "1,2,3");
  assert_int_equal(returns_rows(upd, MYSQL), 0);
  /* no WHERE; a correlated subquery in WHERE and in SET */
  expect_sql(update(users, LIST(set(col(users, "active"), leaf(ATH_N_TRUE))), NULL, NULL), SQLITE,
             "UPDATE users SET active = 1", "");
  ath_node *cnt = scalar(select_(LIST(FUNC("count", star(NULL))), bin(col(orders, "user_id"), "=", col(users, "id"))));
  ath_node *ex = unary("EXISTS", select_(LIST(col(orders, "id")), AND(bin(col(orders, "user_id"), "=", col(users, "id")),
                                                                     bin(col(orders, "total"), ">", bind(2)))));
  upd = update(users, LIST(set(col(users, "norders"), cnt), set(col(users, "flag"), bind(1))), not_(ex), NULL);
  expect_sql(upd, PG,
             "UPDATE users SET norders = (SELECT count(*) FROM orders WHERE orders.user_id = users.id), flag = $1 WHERE "
             "NOT EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.total > $2)",
             "1,2");
  /* nothing to set */
  expect_error(update(users, EMPTY_LIST(), NULL, NULL), SQLITE, ATH_E_COMPILE, "UPDATE", NULL);
}

static void test_delete(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *del = delete_(users, bin(col(users, "id"), "=", bind(1)), NULL);
  expect_all(del, "DELETE FROM users WHERE users.id = ?", "DELETE FROM users WHERE users.id = $1",
             "DELETE FROM users WHERE users.id = ?", "1");
  assert_int_equal(returns_rows(del, SQLITE), 0);
  expect_sql(delete_(users, NULL, NULL), SQLITE, "DELETE FROM users", "");
  del = delete_(users, AND(bin(col(users, "age"), "<", bind(1)), postfix(col(users, "email"), "IS NULL")),
                LIST(col(users, "id"), col(users, "name")));
  expect_sql(del, PG, "DELETE FROM users WHERE users.age < $1 AND users.email IS NULL RETURNING id, name", "1");
  assert_int_equal(returns_rows(del, PG), 1);
  expect_error(del, MYSQL, ATH_E_COMPILE, "RETURNING", "mysql");
}

/* --------------------------------------------------------- binds, TEXT */

static void test_text_placeholders(void **state) {
  (void)state;
  ath_node *t = TEXT("SELECT * FROM t WHERE a = :a AND b = :b AND c::text = ':x' AND \"d:y\" = :a AND e = \\:f",
                     text_bind("a", 7));
  expect_all(t,
             "SELECT * FROM t WHERE a = ? AND b = ? AND c::text = ':x' AND \"d:y\" = ? AND e = :f",
             "SELECT * FROM t WHERE a = $1 AND b = $2 AND c::text = ':x' AND \"d:y\" = $3 AND e = :f",
             "SELECT * FROM t WHERE a = ? AND b = ? AND c::text = ':x' AND \"d:y\" = ? AND e = :f", "7,:b,7");
  /* the bindrefs: slots have no name, names have slot 0 */
  ath_compiled *c = compile_ok(t, PG);
  assert_int_equal(c->nbinds, 3);
  assert_int_equal(c->binds[0].slot, 7);
  assert_null(c->binds[0].name);
  assert_int_equal(c->binds[1].slot, 0);
  assert_string_equal(c->binds[1].name, "b");
  assert_int_equal(c->returns_rows, 0);
  ath_compiled_free(c);
  /* text inside a statement: numbering continues across it */
  ath_node *users = table("users");
  ath_node *q = select_(LIST(col(users, "id")), AND(bin(col(users, "id"), ">", bind(1)),
                                                    TEXT("users.age > :min AND users.x = :_y2", text_bind("min", 2))));
  expect_sql(q, PG, "SELECT users.id FROM users WHERE users.id > $1 AND users.age > $2 AND users.x = $3", "1,2,:_y2");
  /* not placeholders: a digit after ':', a lone ':', '::' casts, a quote left open */
  expect_sql(TEXT("x = :1 OR y = ':' OR z::int = 0 OR w = 'it'':s :open"), SQLITE,
             "x = :1 OR y = ':' OR z::int = 0 OR w = 'it'':s :open", "");
  expect_sql(TEXT(":a:b"), SQLITE, "??", ":a,:b");
  /* a kid marked NAMED does not give its slot */
  ath_node *nb = with_flags(text_bind("v", 9), ATH_F_NAMED);
  expect_sql(TEXT("v = :v", nb), SQLITE, "v = ?", ":v");
}

static void test_named_binds(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *q = select_(LIST(col(users, "id")), AND(bin(col(users, "created"), ">", named("since")),
                                                    bin(col(users, "id"), ">", bind(1)),
                                                    bin(col(users, "updated"), "<", named("since"))));
  expect_all(q, "SELECT users.id FROM users WHERE users.created > ? AND users.id > ? AND users.updated < ?",
             "SELECT users.id FROM users WHERE users.created > $1 AND users.id > $2 AND users.updated < $1",
             "SELECT users.id FROM users WHERE users.created > ? AND users.id > ? AND users.updated < ?",
             NULL);
  expect_sql(q, SQLITE, "SELECT users.id FROM users WHERE users.created > ? AND users.id > ? AND users.updated < ?",
             ":since,1,:since");
  /* numbered placeholders name one parameter once, as SQLAlchemy renders it */
  expect_sql(q, PG, "SELECT users.id FROM users WHERE users.created > $1 AND users.id > $2 AND users.updated < $1",
             ":since,1");
  ath_compiled *c = compile_ok(q, SQLITE);
  assert_int_equal(c->nbinds, 3);
  assert_int_equal(c->binds[0].slot, 0);
  assert_string_equal(c->binds[0].name, "since");
  assert_int_equal(c->binds[1].slot, 1);
  assert_null(c->binds[1].name);
  ath_compiled_free(c);
}


static void test_many_binds(void **state) {
  (void)state;
  enum { N = 40 };
  ath_node *in = mk(ATH_N_IN, NULL, N + 1, NULL);
  in->kids[0] = col(table("users"), "id");
  char sql[1024] = "users.id IN (", binds[512] = "";
  for (int i = 1; i <= N; i++) {
    in->kids[i] = bind(i);
    size_t l = strlen(sql);
    snprintf(sql + l, sizeof sql - l, "%s$%d", i > 1 ? ", " : "", i);
    l = strlen(binds);
    snprintf(binds + l, sizeof binds - l, "%s%d", i > 1 ? "," : "", i);
  }
  strcat(sql, ")");
  expect_sql(in, PG, sql, binds);
}

/* -------------------------------------------------------- entry points */

static void test_compile_arguments(void **state) {
  (void)state;
  ath_compiled *c = (ath_compiled *)1;
  ath_error err;
  assert_int_equal(ath_compile(leaf(ATH_N_NULL), NULL, &c, &err), ATH_E_ARGUMENT);
  assert_null(c);
  c = (ath_compiled *)1;
  assert_int_equal(ath_compile(NULL, SQLITE, &c, &err), ATH_E_COMPILE);
  assert_null(c);
  /* a missing expression where one is required */
  expect_error(bin(bind(1), "=", NULL), SQLITE, ATH_E_COMPILE, "missing", NULL);
  /* a statement where an expression goes */
  ath_node *users = table("users");
  expect_error(select_(LIST(delete_(users, NULL, NULL)), NULL), SQLITE, ATH_E_COMPILE, "DELETE", NULL);
  /* nesting limit */
  ath_node *e = bind(1);
  for (int i = 0; i < 300; i++) e = not_(e);
  expect_error(e, PG, ATH_E_COMPILE, "nested too deeply", NULL);
  /* dialect names */
  assert_ptr_equal(ath_dialect_find("sqlite"), SQLITE);
  assert_ptr_equal(ath_dialect_find("postgres"), PG);
  assert_ptr_equal(ath_dialect_find("mariadb"), MYSQL);
  assert_null(ath_dialect_find("oracle"));
  assert_string_equal(MYSQL->name, "mysql");
}

/* ---------------------------------------------------------- cache key */

typedef struct keyed {
  char data[4096];
  size_t len;
} keyed;

static keyed key_of(const ath_node *root, const ath_dialect *d) {
  keyed k;
  ath_buf b = ATH_BUF_INIT;
  int rc = ath_node_key(&b, root, d);
  k.len = b.len;
  int fits = b.len <= sizeof k.data;
  if (fits && b.len) memcpy(k.data, b.data, b.len);
  ath_buf_free(&b);
  assert_int_equal(rc, 0);
  assert_true(fits);
  return k;
}

static int keys_equal(const keyed *a, const keyed *b) { return a->len == b->len && !memcmp(a->data, b->data, a->len); }

typedef struct tree_opts {
  const char *op, *colname, *param;
  int slot0, flags;
} tree_opts;

/* SELECT users.id, <colname> FROM users JOIN orders ... WHERE users.id <op> ? AND ... */
static ath_node *keyed_tree(tree_opts o) {
  ath_node *users = table("users"), *orders = table("orders");
  ath_node *q = select_(LIST(col(users, "id"), col(users, o.colname), label(FUNC("count", col(orders, "id")), "n")),
                        AND(bin(col(users, "id"), o.op, bind(o.slot0)), IN(col(users, "age"), bind(o.slot0 + 1), bind(o.slot0 + 2)),
                            bin(col(users, "created"), ">", named(o.param)),
                            TEXT("users.x = :x", text_bind("x", o.slot0 + 3))));
  slot(q, ATH_SELECT_FROM, LIST(join(users, orders, bin(col(orders, "user_id"), "=", col(users, "id")), 0)));
  slot(q, ATH_SELECT_LIMIT, bind(o.slot0 + 4));
  q->flags = o.flags;
  return q;
}

static char *sql_of(const ath_node *root, const ath_dialect *d) {
  ath_compiled *c = compile_ok(root, d);
  char *s = ath_strdup(c->sql);
  ath_compiled_free(c);
  assert_non_null(s);
  return s;
}

/* One bound value met in several places (the converter gives them one node
 * marked ATH_F_SHARED: an expression used in SELECT, GROUP BY and ORDER BY)
 * is one numbered parameter, and `?` takes it at each place; the cache key
 * tells it from the same shape with distinct values. */
static void test_shared_bind(void **state) {
  (void)state;
  ath_node *t = table("o");
  ath_node *v = with_flags(bind(1), ATH_F_SHARED);
  ath_node *big = bin(col(t, "total"), ">", v);
  ath_node *q = select_(LIST(big), NULL);
  slot(q, ATH_SELECT_GROUP, LIST(big));
  slot(q, ATH_SELECT_ORDER, LIST(big));
  expect_sql(q, PG, "SELECT o.total > $1 FROM o GROUP BY o.total > $1 ORDER BY o.total > $1", "1");
  expect_sql(q, SQLITE, "SELECT o.total > ? FROM o GROUP BY o.total > ? ORDER BY o.total > ?", "1,1,1");
  ath_node *other = bin(col(t, "total"), ">", bind(2));
  ath_node *q2 = select_(LIST(bin(col(t, "total"), ">", bind(1))), NULL);
  slot(q2, ATH_SELECT_GROUP, LIST(other));
  slot(q2, ATH_SELECT_ORDER, LIST(bin(col(t, "total"), ">", bind(3))));
  expect_sql(q2, PG, "SELECT o.total > $1 FROM o GROUP BY o.total > $2 ORDER BY o.total > $3", "1,2,3");
  keyed k1 = key_of(q, PG), k2 = key_of(q2, PG);
  assert_false(keys_equal(&k1, &k2));
  /* a shared value met once in one place and once in another differs from
   * a shared value met in other places */
  ath_node *w = with_flags(bind(1), ATH_F_SHARED);
  ath_node *q3 = select_(LIST(bin(col(t, "total"), ">", w)), bin(col(t, "total"), "<", w));
  ath_node *w2 = with_flags(bind(1), ATH_F_SHARED);
  ath_node *q4 = select_(LIST(bin(col(t, "total"), ">", w2)), bin(col(t, "total"), "<", bind(2)));
  keyed k3 = key_of(q3, PG), k4 = key_of(q4, PG);
  assert_false(keys_equal(&k3, &k4));
  expect_sql(q3, PG, "SELECT o.total > $1 FROM o WHERE o.total < $1", "1");
}

static void test_cache_key(void **state) {
  (void)state;
  tree_opts base = { "=", "name", "since", 1, 0 };
  ath_node *t1 = keyed_tree(base);
  tree_opts o = base;
  o.slot0 = 100;                                  /* other slot numbers, same shape */
  ath_node *t2 = keyed_tree(o);
  keyed k1 = key_of(t1, SQLITE), k2 = key_of(t2, SQLITE);
  assert_true(keys_equal(&k1, &k2));
  char *s1 = sql_of(t1, SQLITE), *s2 = sql_of(t2, SQLITE);
  int same_sql = strcmp(s1, s2) == 0;
  ath_free(s1);
  ath_free(s2);
  assert_true(same_sql);
  /* the key is deterministic */
  keyed k1b = key_of(t1, SQLITE);
  assert_true(keys_equal(&k1, &k1b));

  o = base; o.op = "!=";
  keyed k = key_of(keyed_tree(o), SQLITE);
  assert_false(keys_equal(&k1, &k));
  o = base; o.colname = "email";
  k = key_of(keyed_tree(o), SQLITE);
  assert_false(keys_equal(&k1, &k));
  o = base; o.flags = ATH_F_DISTINCT;
  k = key_of(keyed_tree(o), SQLITE);
  assert_false(keys_equal(&k1, &k));
  o = base; o.param = "until";
  k = key_of(keyed_tree(o), SQLITE);
  assert_false(keys_equal(&k1, &k));
  k = key_of(t1, PG);
  assert_false(keys_equal(&k1, &k));
  k = key_of(t1, MYSQL);
  assert_false(keys_equal(&k1, &k));

  /* a flag deep in the tree (NOT IN), a string in s2 (table alias), s2/s3 of a CAST */
  ath_node *users = table("users");
  ath_node *in1 = IN(col(users, "id"), bind(1));
  ath_node *in2 = with_flags(IN(col(users, "id"), bind(1)), ATH_F_NEGATE);
  k1 = key_of(in1, PG); k2 = key_of(in2, PG);
  assert_false(keys_equal(&k1, &k2));
  k1 = key_of(col(table_as("users", "a"), "id"), PG);
  k2 = key_of(col(table_as("users", "b"), "id"), PG);
  assert_false(keys_equal(&k1, &k2));
  k1 = key_of(cast(bind(1), "String"), PG);
  k2 = key_of(cast(bind(2), "String(20)"), PG);
  assert_false(keys_equal(&k1, &k2));
  /* ... but a different slot is the same key */
  k1 = key_of(cast(bind(1), "String"), PG);
  k2 = key_of(cast(bind(2), "String"), PG);
  assert_true(keys_equal(&k1, &k2));
  /* a column's table is part of its key */
  k1 = key_of(col(table("users"), "id"), PG);
  k2 = key_of(col(table("orders"), "id"), PG);
  assert_false(keys_equal(&k1, &k2));
}

/* One TABLE node referenced twice vs two equal TABLE nodes: the keys may
 * differ, but equal keys must mean equal SQL. */
static void test_cache_key_shared_from_elements(void **state) {
  (void)state;
  ath_node *shared = table("users");
  ath_node *q1 = select_(LIST(col(shared, "id"), col(shared, "name")), NULL);
  ath_node *q2 = select_(LIST(col(table("users"), "id"), col(table("users"), "name")), NULL);
  keyed k1 = key_of(q1, SQLITE), k2 = key_of(q2, SQLITE);
  char *s1 = sql_of(q1, SQLITE), *s2 = sql_of(q2, SQLITE);
  int same_sql = strcmp(s1, s2) == 0;
  int shared_ok = strcmp(s1, "SELECT users.id, users.name FROM users") == 0;
  ath_free(s1);
  ath_free(s2);
  assert_true(shared_ok);
  assert_true(!keys_equal(&k1, &k2) || same_sql);
  /* the same sharing pattern, other names: equal keys? no (names differ) */
  ath_node *o = table("orders");
  keyed k3 = key_of(select_(LIST(col(o, "id"), col(o, "name")), NULL), SQLITE);
  assert_false(keys_equal(&k1, &k3));
  /* the same sharing pattern, same names, other nodes: equal keys */
  ath_node *u2 = table("users");
  keyed k4 = key_of(select_(LIST(col(u2, "id"), col(u2, "name")), NULL), SQLITE);
  assert_true(keys_equal(&k1, &k4));
}

/* A shared subtree (ath_node.share: a frozen column list) is keyed by its
 * serial and by where its FROM elements fall among those seen, not walked:
 * the same serial with the same sharing gives one key; another serial, or
 * its table met before as another node, another key. */
static void test_cache_key_shared_subtree(void **state) {
  (void)state;
  ath_node *users = table("users");
  ath_node *list = LIST(col(users, "id"));
  ath_node *memo[1] = { users };
  ath_node_share share = { 7, 1, memo };
  list->share = &share;
  ath_node *where = bin(col(users, "id"), "=", bind(1));
  keyed k1 = key_of(select_(list, where), SQLITE);
  keyed k2 = key_of(select_(list, bin(col(users, "id"), "=", bind(2))), SQLITE);
  assert_true(keys_equal(&k1, &k2));              /* values are not in the key */
  /* the list's table met first as another node with the same name: FROM users, users */
  ath_node *twin = table("users");
  ath_node *lead = select_(LIST(col(twin, "id")), NULL);
  ath_node *q_same = select_(list, NULL), *q_twin = select_(list, NULL);
  ath_node *u_same = compound("UNION", LIST(select_(LIST(col(users, "id")), NULL), q_same), NULL, NULL, NULL);
  ath_node *u_twin = compound("UNION", LIST(lead, q_twin), NULL, NULL, NULL);
  keyed k3 = key_of(u_same, SQLITE), k4 = key_of(u_twin, SQLITE);
  assert_false(keys_equal(&k3, &k4));
  /* another serial: another key */
  share.serial = 8;
  keyed k5 = key_of(select_(list, where), SQLITE);
  assert_false(keys_equal(&k1, &k5));
  /* without the share the list is walked: a key unlike the serial's */
  list->share = NULL;
  keyed k6 = key_of(select_(list, where), SQLITE);
  assert_false(keys_equal(&k1, &k6));
}

static void test_cache_key_too_many_from_elements(void **state) {
  (void)state;
  enum { N = 65 };
  static char names[N][16];
  ath_node *cols = mk(ATH_N_LIST, NULL, N, NULL);
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "t%d", i);
    cols->kids[i] = col(table(names[i]), "id");
  }
  ath_node *q = select_(cols, NULL);
  ath_buf b = ATH_BUF_INIT;
  assert_int_equal(ath_node_key(&b, q, SQLITE), -1);
  ath_buf_free(&b);
  cols->nkids = 64;                               /* KEY_MEMO elements still fit */
  assert_int_equal(ath_node_key(&b, q, SQLITE), 0);
  ath_buf_free(&b);
  /* uncacheable trees still compile */
  cols->nkids = N;
  ath_compiled *c = compile_ok(q, SQLITE);
  int ok = strncmp(c->sql, "SELECT t0.id, t1.id, ", 21) == 0 && strstr(c->sql, " FROM t0, t1, ") != NULL &&
           strstr(c->sql, ", t64") != NULL;
  ath_compiled_free(c);
  assert_true(ok);
}

/* -------------------------------------------------------- out of memory */

/* A SELECT using most constructs, with more CTEs, FROM elements and binds
 * than the compiler's initial capacities (4, 8, 16). */
static ath_node *complex_tree(void) {
  static const char *const tnames[] = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10" };
  static const char *const cnames[] = { "c0", "c1", "c2", "c3", "c4", "c5" };
  enum { NT = 11, NC = 6, NIN = 20 };
  ath_node *users = table("users"), *orders = table_as("orders", "o");
  ath_node *ctes[NC];
  for (int i = 0; i < NC; i++) {
    ath_node *body = i ? select_(LIST(col(ctes[i - 1], "id")), bin(col(ctes[i - 1], "id"), ">", bind(100 + i)))
                       : select_(LIST(col(users, "id")), named("first"));
    ctes[i] = cte(cnames[i], body);
  }
  ath_node *cols = mk(ATH_N_LIST, NULL, NT + 3, NULL);
  for (int i = 0; i < NT; i++) cols->kids[i] = col(table(tnames[i]), "id");
  cols->kids[NT] = label(bin(col(users, "name"), "||", bind(1)), "Full Name");
  ath_node *o2 = table_as("orders", "o2");        /* the subquery keeps a FROM of its own: o2 */
  cols->kids[NT + 1] = label(scalar(select_(LIST(FUNC("count", star(NULL))), bin(col(o2, "user_id"), "=", col(users, "id")))), "n");
  cols->kids[NT + 2] = cast(col(ctes[NC - 1], "id"), "String");
  ath_node *in = mk(ATH_N_IN, NULL, NIN + 1, NULL);
  in->kids[0] = col(users, "id");
  for (int i = 1; i <= NIN; i++) in->kids[i] = bind(10 + i);
  ath_node *where = AND(in, OR(bin(col(users, "name"), "ILIKE", named("pattern")), not_(postfix(col(users, "email"), "IS NULL"))),
                        TEXT("users.age > :age AND users.z = :other", text_bind("age", 50)),
                        between(col(users, "age"), bind(2), bind(3)));
  ath_node *q = select_(cols, where);
  slot(q, ATH_SELECT_FROM, LIST(join(users, orders, bin(col(orders, "user_id"), "=", col(users, "id")), ATH_F_OUTER)));
  slot(q, ATH_SELECT_ORDER, LIST(postfix(cols->kids[NT], "DESC")));
  slot(q, ATH_SELECT_LIMIT, bind(4));
  slot(q, ATH_SELECT_OFFSET, bind(5));
  return q;
}

static void oom_loop(const ath_node *root, const ath_dialect *d, int min_failures) {
  char *expected = sql_of(root, d);
  long n;
  int failures = 0;
  for (n = 0; n < 100000; n++) {
    long base = ath_alloc_live();
    ath_compiled *c = (ath_compiled *)1;
    ath_error err;
    ath_error_clear(&err);
    ath_alloc_fail_after(n);
    ath_status st = ath_compile(root, d, &c, &err);
    ath_alloc_fail_after(-1);
    if (st == ATH_OK) {
      int same = strcmp(c->sql, expected) == 0;
      ath_compiled_free(c);
      if (!same) { ath_free(expected); fail_msg("%s: SQL differs after %ld allocations", dname(d), n); }
      if (ath_alloc_live() != base) { ath_free(expected); fail_msg("%s: leak after success", dname(d)); }
      break;
    }
    failures++;
    if (st != ATH_E_NOMEM || c != NULL || ath_alloc_live() != base) {
      long leaked = ath_alloc_live() - base;
      ath_free(expected);
      fail_msg("%s: failing allocation %ld: status %d, out %p, %ld leaked: %s", dname(d), n, (int)st, (void *)c, leaked,
               err.message);
    }
    if (strcmp(err.message, "out of memory") != 0) {
      ath_free(expected);
      fail_msg("%s: failing allocation %ld: message '%s'", dname(d), n, err.message);
    }
  }
  ath_free(expected);
  assert_true(n < 100000);
  assert_true(failures >= min_failures);          /* the loop did exercise the allocation sites */
}

static void test_out_of_memory_compile(void **state) {
  (void)state;
  ath_node *q = complex_tree();
  for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) oom_loop(q, ath_builtin_dialects[d], 10);
  /* DML with named binds (their names are allocated) */
  ath_node *users = table("users"), *exc = excluded();
  ath_node *ins = insert(users, LIST(col(users, "id"), col(users, "name")),
                         LIST(LIST(named("id"), named("name")), LIST(bind(1), bind(2))), NULL, NULL,
                         on_conflict(LIST(col(users, "id")), LIST(set(col(users, "name"), col(exc, "name"))), NULL));
  for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) oom_loop(ins, ath_builtin_dialects[d], 3);
  oom_loop(update(users, LIST(set(col(users, "name"), named("n"))), bin(col(users, "id"), "=", named("id")),
                  LIST(col(users, "id"))), PG, 3);
  oom_loop(TEXT(":a :b :c", text_bind("b", 1)), SQLITE, 3);
}

static void test_out_of_memory_key(void **state) {
  (void)state;
  ath_node *q = complex_tree();
  keyed expected = key_of(q, PG);
  long n;
  for (n = 0; n < 10000; n++) {
    long base = ath_alloc_live();
    ath_buf b = ATH_BUF_INIT;
    ath_alloc_fail_after(n);
    int rc = ath_node_key(&b, q, PG);
    ath_alloc_fail_after(-1);
    int ok = rc == 0 && b.len == expected.len && !memcmp(b.data, expected.data, b.len);
    int failed_cleanly = rc == -1 && b.oom;
    ath_buf_free(&b);
    assert_int_equal(ath_alloc_live(), base);
    if (ok) break;
    assert_true(failed_cleanly);
  }
  assert_true(n < 10000);
}

static void test_out_of_memory_arena(void **state) {
  (void)state;
  long base = ath_alloc_live();
  ath_alloc_fail_after(0);
  assert_null(ath_arena_new());
  ath_alloc_fail_after(-1);
  assert_int_equal(ath_alloc_live(), base);
  ath_arena *a = ath_arena_new();
  assert_non_null(a);
  ath_alloc_fail_after(0);
  assert_null(ath_node_new(a, ATH_N_BIND, 0));
  ath_alloc_fail_after(-1);
  /* many nodes, some larger than a chunk; the arena still frees everything */
  for (int i = 0; i < 3000; i++) {
    ath_node *n = ath_node_new(a, ATH_N_LIST, i % 7);
    assert_non_null(n);
    assert_int_equal(n->nkids, i % 7);
    for (int j = 0; j < n->nkids; j++) assert_null(n->kids[j]);
  }
  ath_node *big = ath_node_new(a, ATH_N_LIST, 5000);
  assert_non_null(big);
  assert_null(big->kids[4999]);
  ath_arena_free(a);
  assert_int_equal(ath_alloc_live(), base);
  ath_arena_free(NULL);
}


/* ------------------------------------------------- malformed trees */

/* Every kind with every small arity, children NULL or not, names present or
 * not: the compiler returns OK or a CompileError, never reads past a node
 * (ASan/valgrind run this), and leaks nothing. */
static void test_malformed_trees_are_compile_errors(void **state) {
  (void)state;
  for (int kind = -2; kind < ATH_N__COUNT + 3; kind++) {
    for (int nkids = 0; nkids < 12; nkids++) {
      for (int variant = 0; variant < 4; variant++) {
        ath_node *n = ath_node_new(A, kind, nkids);
        assert_non_null(n);
        if (variant & 1) { n->s = "x"; n->slen = 1; }
        if (variant & 2) for (int i = 0; i < nkids; i++) n->kids[i] = bind(1);
        n->flags = variant == 3 ? ~0 : 0;
        for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) {
          ath_compiled *c = NULL;
          ath_error err;
          ath_error_clear(&err);
          ath_status st = ath_compile(n, ath_builtin_dialects[d], &c, &err);
          if (st == ATH_OK) ath_compiled_free(c);
          else assert_int_equal(st, ATH_E_COMPILE);
          ath_buf key = ATH_BUF_INIT;
          (void)ath_node_key(&key, n, ath_builtin_dialects[d]);
          ath_buf_free(&key);
        }
      }
    }
  }
}

static void test_malformed_nodes_are_named(void **state) {
  (void)state;
  ath_node *users = table("users");
  expect_error(mk(ATH_N_BINARY, "=", 1, NODES(bind(1))), SQLITE, ATH_E_COMPILE, "malformed BINARY", "at least 2");
  expect_error(mk(ATH_N_BINARY, NULL, 2, NODES(bind(1), bind(2))), SQLITE, ATH_E_COMPILE, "malformed BINARY", "name");
  expect_error(mk(ATH_N_UNARY, NULL, 1, NODES(bind(1))), PG, ATH_E_COMPILE, "malformed UNARY", NULL);
  expect_error(select_(LIST(col(users, "id")), mk(ATH_N_BETWEEN, NULL, 2, NODES(bind(1), bind(2)))), PG,
               ATH_E_COMPILE, "malformed BETWEEN", NULL);
  expect_error(mk(ATH_N_SELECT, NULL, 3, NULL), SQLITE, ATH_E_COMPILE, "malformed SELECT", NULL);
  expect_error(mk(ATH_N_JOIN, NULL, 3, NODES(users, NULL, NULL)), SQLITE, ATH_E_COMPILE, "child 2 is missing", NULL);
  expect_error(mk(ATH_N_COLUMN, NULL, 0, NULL), SQLITE, ATH_E_COMPILE, "malformed COLUMN", NULL);
  expect_error(col(LIST(bind(1)), "id"), SQLITE, ATH_E_COMPILE, "belongs to a LIST", NULL);
  expect_error(mk(ATH_N_BIND, NULL, 0, NULL), PG, ATH_E_COMPILE, "no value slot", NULL);
  expect_error(with_flags(mk(ATH_N_BIND, NULL, 0, NULL), ATH_F_NAMED), PG, ATH_E_COMPILE, "without a name", NULL);
  expect_error(with_flags(mk(ATH_N_CASE, NULL, 0, NULL), ATH_F_ELSE), SQLITE, ATH_E_COMPILE, "ELSE", NULL);
  ath_node *ins = insert(LIST(bind(1)), NULL, NULL, NULL, NULL, NULL);
  expect_error(ins, SQLITE, ATH_E_COMPILE, "malformed INSERT", "TABLE");
  ath_node *upd = mk(ATH_N_UPDATE, NULL, 4, NODES(users, LIST(bind(1)), NULL, NULL));
  expect_error(upd, SQLITE, ATH_E_COMPILE, "not a SET", NULL);
  ath_node *cte_ref = mk(ATH_N_CTE, "t", 0, NULL);      /* a reference by name with no body anywhere */
  expect_error(select_(LIST(col(cte_ref, "id")), NULL), PG, ATH_E_COMPILE, "missing", NULL);
}

/* ATH_NODE_KINDS bounds every kind's arity from above too (issue 15, item
 * 2): an extra child is a CompileError naming the kind, never ignored; an
 * unknown kind as well. The kind table agrees with the slot enums. */
static void test_arity_from_the_kind_list(void **state) {
  (void)state;
  expect_error(mk(ATH_N_UNARY, "NOT", 2, NODES(bind(1), bind(2))), SQLITE, ATH_E_COMPILE,
               "malformed UNARY node: 2 children", "at most 1");
  expect_error(mk(ATH_N_NULL, NULL, 1, NODES(bind(1))), PG, ATH_E_COMPILE, "malformed NULL", "at most 0");
  expect_error(mk(ATH_N_INSERT, NULL, ATH_INSERT__N + 1, NULL), MYSQL, ATH_E_COMPILE, "malformed INSERT", "at most 6");
  ath_node *sel = select_(LIST(bind(1)), NULL);
  expect_sql(sel, SQLITE, "SELECT ?", "1");
  expect_error(mk(ATH_N_SELECT, NULL, ATH_SELECT__N + 1, NULL), PG, ATH_E_COMPILE, "at most 11", NULL);
  expect_error(mk(ATH_N__COUNT, NULL, 0, NULL), SQLITE, ATH_E_COMPILE, "unknown node kind", NULL);
  expect_error(bin(bind(1), "=", mk(-3, NULL, 0, NULL)), SQLITE, ATH_E_COMPILE, "unknown node kind -3", NULL);
  /* the table the converter, the check and core.node_slots read */
  assert_string_equal(ath_kinds[ATH_N_INSERT].name, "INSERT");
  assert_int_equal(ath_kinds[ATH_N_INSERT].nslots, 6);
  assert_string_equal(ath_kinds[ATH_N_INSERT].slots[ATH_INSERT_RETURNING], "RETURNING");
  assert_string_equal(ath_kinds[ATH_N_SELECT].slots[ATH_SELECT_DISTINCT_ON], "DISTINCT_ON");
  assert_int_equal(ath_kinds[ATH_N_SELECT].min_kids, ATH_SELECT__N - 1);
  assert_int_equal(ath_kinds[ATH_N_LIST].max_kids, ATH_ANY);
  for (int k = 1; k < ATH_N__COUNT; k++) {
    assert_non_null(ath_kinds[k].name);
    assert_true(ath_kinds[k].max_kids == ATH_ANY || ath_kinds[k].max_kids >= ath_kinds[k].min_kids);
    assert_true(ath_kinds[k].nslots == 0 || ath_kinds[k].nslots == ath_kinds[k].max_kids);
  }
}

/* A dialect is facts: a copy of a built-in one with other facts renders
 * by them (what core.register_dialect does from Lua). */
static void test_dialect_is_facts(void **state) {
  (void)state;
  ath_dialect toy = *PG;
  toy.name = "toy";
  toy.cache_tag = 200;
  toy.quote = '`';
  toy.paramstyle = ATH_PARAM_NUMERIC;
  toy.native_boolean = 0;
  toy.limit_all = "LIMIT ALL";
  toy.cast[ATH_CAST_INTEGER] = "INT";
  ath_node *users = table("users");
  ath_node *q = select_(LIST(col(users, "Name"), cast(col(users, "id"), "Integer")),
                        AND(bin(col(users, "id"), "=", bind(1)), bin(col(users, "ok"), "=", leaf(ATH_N_TRUE))));
  slot(q, ATH_SELECT_OFFSET, bind(2));
  expect_sql(q, &toy, "SELECT users.`Name`, CAST(users.id AS INT) FROM users WHERE users.id = :1 AND users.ok = 1 "
             "LIMIT ALL OFFSET :2", "1,2");
  /* the same tree keys differently per dialect: one cache serves both */
  ath_buf a = ATH_BUF_INIT, b = ATH_BUF_INIT;
  assert_int_equal(ath_node_key(&a, q, &toy), 0);
  assert_int_equal(ath_node_key(&b, q, PG), 0);
  int same = a.len == b.len && !memcmp(a.data, b.data, a.len);
  ath_buf_free(&a);
  ath_buf_free(&b);
  assert_false(same);
}

/* A chain far deeper than the converter builds, and a node that is its own
 * child: a CompileError and an uncacheable key, not a stack overflow. */
static void test_deep_and_cyclic_trees(void **state) {
  (void)state;
  ath_node *e = bind(1);
  for (int i = 0; i < 100000; i++) e = mk(ATH_N_GROUPING, NULL, 1, NODES(e));
  expect_error(e, SQLITE, ATH_E_COMPILE, "nested too deeply", NULL);
  ath_buf key = ATH_BUF_INIT;
  assert_int_equal(ath_node_key(&key, e, SQLITE), -1);
  ath_buf_free(&key);
  ath_node *loop = mk(ATH_N_UNARY, "NOT", 1, NULL);
  loop->kids[0] = loop;
  expect_error(loop, PG, ATH_E_COMPILE, "nested too deeply", NULL);
  assert_int_equal(ath_node_key(&key, loop, PG), -1);
  ath_buf_free(&key);
}

/* Quotes by the dialect's rules: PostgreSQL dollar quotes and E'' strings,
 * SQLite's `` and [] identifiers, MySQL's backslash escapes. */
static void test_text_quotes_per_dialect(void **state) {
  (void)state;
  expect_sql(TEXT("SELECT $$ :x $$, :y"), PG, "SELECT $$ :x $$, $1", ":y");
  expect_sql(TEXT("SELECT $tag$ it's :x $tag$, :y"), PG, "SELECT $tag$ it's :x $tag$, $1", ":y");
  expect_sql(TEXT("SELECT $a$ $b$ :x $b$ $a$ || :y"), PG, "SELECT $a$ $b$ :x $b$ $a$ || $1", ":y");
  expect_sql(TEXT("SELECT $$ :x"), PG, "SELECT $$ :x", "");                 /* unterminated: all text */
  expect_sql(TEXT("SELECT a$b, $1, :y"), PG, "SELECT a$b, $1, $1", ":y");    /* no tags */
  expect_sql(TEXT("SELECT E'it\\'s', :y"), PG, "SELECT E'it\\'s', $1", ":y");
  expect_sql(TEXT("SELECT e'\\\\', :y"), PG, "SELECT e'\\\\', $1", ":y");
  expect_sql(TEXT("SELECT name'x', :y"), PG, "SELECT name'x', $1", ":y");  /* not an E string */
  expect_sql(TEXT("SELECT 'a\\', :y"), PG, "SELECT 'a\\', $1", ":y");      /* standard strings */
  /* SQLite: no dollar quotes, no E strings, backslash is ordinary */
  expect_sql(TEXT("SELECT $$ :x $$"), SQLITE, "SELECT $$ ? $$", ":x");
  expect_sql(TEXT("SELECT 'a\\', :y"), SQLITE, "SELECT 'a\\', ?", ":y");
  expect_sql(TEXT("SELECT `a:b`, [c:d], :y"), SQLITE, "SELECT `a:b`, [c:d], ?", ":y");
  /* MySQL: backslash escapes in strings, backtick identifiers */
  expect_sql(TEXT("SELECT 'it\\'s :x', `a:b`, :y"), MYSQL, "SELECT 'it\\'s :x', `a:b`, ?", ":y");
  expect_sql(TEXT("SELECT $$ :x $$"), MYSQL, "SELECT $$ ? $$", ":x");
}

/* ------------------------------------- window functions, FILTER, EXTRACT ...
 * (API.md §4 "Also"; the SQL is SQLAlchemy 1.4's, spec/core/constructs_spec.lua) */

static ath_node *over(ath_node *f, ath_node *partition, ath_node *order, const char *frame) {
  return mk(ATH_N_OVER, frame, 3, NODES(f, partition, order));
}

static void test_window_functions(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *rn = over(mk(ATH_N_FUNC, "row_number", 0, NULL), LIST(col(emps, "dept")),
                      LIST(postfix(col(emps, "salary"), "DESC")), NULL);
  const char *sql = "SELECT row_number() OVER (PARTITION BY emps.dept ORDER BY emps.salary DESC) FROM emps";
  expect_all(select_(LIST(rn), NULL), sql, sql, sql, "");
  ath_node *moving = over(FUNC("sum", col(emps, "salary")), NULL, LIST(col(emps, "id")),
                          "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW");
  sql = "SELECT sum(emps.salary) OVER (ORDER BY emps.id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM emps";
  expect_all(select_(LIST(moving), NULL), sql, sql, sql, "");
  ath_node *all = FUNC("count", leaf(ATH_N_STAR));
  expect_sql(over(all, NULL, NULL, NULL), PG, "count(*) OVER ()", "");
  expect_sql(over(all, EMPTY_LIST(), EMPTY_LIST(), "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"), SQLITE,
             "count(*) OVER (RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)", "");
  /* the frame is SQL text: only upper-case words, digits and spaces pass */
  expect_error(over(all, NULL, NULL, "ROWS 1); DROP TABLE emps; --"), PG, ATH_E_COMPILE, "malformed window frame", NULL);
  expect_error(over(all, NULL, NULL, ""), PG, ATH_E_COMPILE, "malformed window frame", NULL);
  /* malformed shapes */
  expect_error(mk(ATH_N_OVER, NULL, 2, NODES(all, NULL)), SQLITE, ATH_E_COMPILE, "malformed OVER", "at least 3");
  expect_error(over(NULL, NULL, NULL, NULL), SQLITE, ATH_E_COMPILE, "malformed OVER", "child 1 is missing");
  expect_error(over(all, bind(1), NULL, NULL), SQLITE, ATH_E_COMPILE, "malformed OVER", "child 2 must be LIST");
  expect_error(over(all, NULL, col(emps, "id"), NULL), SQLITE, ATH_E_COMPILE, "child 3 must be LIST", NULL);
}

static void test_aggregate_filter(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *cond = bin(col(emps, "salary"), ">", bind(1));
  ath_node *n = mk(ATH_N_FILTER, NULL, 2, NODES(FUNC("count", leaf(ATH_N_STAR)), cond));
  expect_all(n, "count(*) FILTER (WHERE emps.salary > ?)", "count(*) FILTER (WHERE emps.salary > $1)",
             "count(CASE WHEN emps.salary > ? THEN 1 END)", "1");
  ath_node *cd = mk(ATH_N_FILTER, NULL, 2, NODES(FUNC("count", unary("DISTINCT", col(emps, "dept"))), cond));
  expect_sql(cd, MYSQL, "count(DISTINCT CASE WHEN emps.salary > ? THEN emps.dept END)", "1");
  ath_node *two = mk(ATH_N_FILTER, NULL, 2, NODES(FUNC("f", col(emps, "a"), col(emps, "b")), cond));
  expect_sql(two, MYSQL, "f(CASE WHEN emps.salary > ? THEN emps.a END, CASE WHEN emps.salary > ? THEN emps.b END)",
             "1,1");
  ath_node *windowed = over(n, LIST(col(emps, "dept")), NULL, NULL);
  expect_sql(windowed, PG, "count(*) FILTER (WHERE emps.salary > $1) OVER (PARTITION BY emps.dept)", "1");
  /* MySQL's CASE needs an argument to wrap */
  ath_node *noargs = mk(ATH_N_FILTER, NULL, 2, NODES(mk(ATH_N_FUNC, "now", 0, NULL), cond));
  expect_sql(noargs, SQLITE, "now() FILTER (WHERE emps.salary > ?)", "1");
  expect_error(noargs, MYSQL, ATH_E_COMPILE, "FILTER needs an aggregate", "mysql");
  /* malformed shapes */
  expect_error(mk(ATH_N_FILTER, NULL, 2, NODES(col(emps, "a"), cond)), PG, ATH_E_COMPILE, "malformed FILTER",
               "child 1 must be FUNC");
  expect_error(mk(ATH_N_FILTER, NULL, 2, NODES(FUNC("count", leaf(ATH_N_STAR)), NULL)), PG, ATH_E_COMPILE,
               "malformed FILTER", "child 2 is missing");
  expect_error(mk(ATH_N_FILTER, NULL, 1, NODES(FUNC("count", leaf(ATH_N_STAR)))), PG, ATH_E_COMPILE,
               "malformed FILTER", "at least 2");
}

static void test_within_group(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *n = mk(ATH_N_WITHIN_GROUP, NULL, 2, NODES(FUNC("percentile_cont", bind(1)),
                                                       LIST(postfix(col(emps, "salary"), "DESC"))));
  expect_all(n, "percentile_cont(?) WITHIN GROUP (ORDER BY emps.salary DESC)",
             "percentile_cont($1) WITHIN GROUP (ORDER BY emps.salary DESC)",
             "percentile_cont(?) WITHIN GROUP (ORDER BY emps.salary DESC)", "1");
  expect_error(mk(ATH_N_WITHIN_GROUP, NULL, 2, NODES(mk(ATH_N_FUNC, "mode", 0, NULL), col(emps, "a"))), PG, ATH_E_COMPILE,
               "malformed WITHIN_GROUP", "child 2 must be LIST");
  expect_error(mk(ATH_N_WITHIN_GROUP, NULL, 2, NODES(NULL, EMPTY_LIST())), PG, ATH_E_COMPILE,
               "malformed WITHIN_GROUP", "child 1 is missing");
}

static void test_extract(void **state) {
  (void)state;
  ath_node *hired = col(table("emps"), "hired");
  ath_node *year = mk(ATH_N_EXTRACT, "year", 1, NODES(hired));
  expect_all(year, "CAST(STRFTIME('%Y', emps.hired) AS INTEGER)", "EXTRACT(year FROM emps.hired)",
             "EXTRACT(year FROM emps.hired)", "");
  expect_sql(mk(ATH_N_EXTRACT, "dow", 1, NODES(hired)), SQLITE, "CAST(STRFTIME('%w', emps.hired) AS INTEGER)", "");
  expect_sql(mk(ATH_N_EXTRACT, "quarter", 1, NODES(hired)), PG, "EXTRACT(quarter FROM emps.hired)", "");
  expect_error(mk(ATH_N_EXTRACT, "quarter", 1, NODES(hired)), SQLITE, ATH_E_COMPILE, "extract('quarter')", "sqlite");
  /* the field is SQL text: only the known names */
  expect_error(mk(ATH_N_EXTRACT, "year FROM x); --", 1, NODES(hired)), PG, ATH_E_COMPILE, "unknown field", NULL);
  expect_error(mk(ATH_N_EXTRACT, NULL, 1, NODES(hired)), PG, ATH_E_COMPILE, "malformed EXTRACT", "name");
  expect_error(mk(ATH_N_EXTRACT, "year", 1, NODES(NULL)), PG, ATH_E_COMPILE, "malformed EXTRACT", "missing");
  expect_error(mk(ATH_N_EXTRACT, "year", 0, NULL), PG, ATH_E_COMPILE, "malformed EXTRACT", "at least 1");
}

static void test_tuple_in_and_like_escape(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *in = IN(LIST(col(emps, "a"), col(emps, "b")), LIST(bind(1), bind(2)), LIST(bind(3), bind(4)));
  expect_all(in, "(emps.a, emps.b) IN (VALUES (?, ?), (?, ?))", "(emps.a, emps.b) IN (($1, $2), ($3, $4))",
             "(emps.a, emps.b) IN ((?, ?), (?, ?))", "1,2,3,4");
  ath_node *esc = TEXT("'/'");
  ath_node *like = bin(col(emps, "name"), "LIKE", bin(bind(1), "ESCAPE", esc));
  expect_all(like, "emps.name LIKE ? ESCAPE '/'", "emps.name LIKE $1 ESCAPE '/'", "emps.name LIKE ? ESCAPE '/'", "1");
  ath_node *ilike = bin(col(emps, "name"), "NOT ILIKE", bin(bind(1), "ESCAPE", esc));
  expect_all(ilike, "lower(emps.name) NOT LIKE lower(?) ESCAPE '/'", "emps.name NOT ILIKE $1 ESCAPE '/'",
             "lower(emps.name) NOT LIKE lower(?) ESCAPE '/'", "1");
}

static void test_distinct_on_and_correlate_except(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *q = mk(ATH_N_SELECT, NULL, ATH_SELECT_DISTINCT_ON + 1, NULL);
  q->kids[ATH_SELECT_COLUMNS] = LIST(col(emps, "dept"), col(emps, "name"));
  q->kids[ATH_SELECT_DISTINCT_ON] = LIST(col(emps, "dept"));
  q->flags = ATH_F_DISTINCT;
  expect_sql(q, PG, "SELECT DISTINCT ON (emps.dept) emps.dept, emps.name FROM emps", "");
  expect_error(q, SQLITE, ATH_E_COMPILE, "DISTINCT ON is not supported", "sqlite");
  expect_error(q, MYSQL, ATH_E_COMPILE, "DISTINCT ON is not supported", "mysql");
  q->kids[ATH_SELECT_DISTINCT_ON] = EMPTY_LIST();                /* an empty list: plain DISTINCT */
  expect_sql(q, SQLITE, "SELECT DISTINCT emps.dept, emps.name FROM emps", "");
  q->kids[ATH_SELECT_DISTINCT_ON] = col(emps, "dept");
  expect_error(q, PG, ATH_E_COMPILE, "malformed SELECT", "must be LIST");
  /* correlate_except: e2 stays in the subquery's FROM, emps comes from outside */
  ath_node *e2 = table_as("emps", "e2");
  ath_node *inner = select_(LIST(FUNC("count", leaf(ATH_N_STAR))), bin(col(e2, "dept"), "=", col(emps, "dept")));
  inner->kids[ATH_SELECT_CORRELATE] = LIST(e2);
  inner->flags = ATH_F_CORRELATE_EXCEPT;
  ath_node *outer = select_(LIST(col(emps, "name"), scalar(inner)), bin(col(e2, "id"), "=", col(emps, "id")));
  const char *sql = "SELECT emps.name, (SELECT count(*) FROM emps AS e2 WHERE e2.dept = emps.dept) FROM emps, emps AS e2 "
                    "WHERE e2.id = emps.id";
  expect_all(outer, sql, sql, sql, "");
}

static void test_cte_alias_and_lateral(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *body = select_(LIST(col(emps, "id"), col(emps, "dept")), NULL);
  ath_node *c = cte("c", body), *c2 = cte("c", body);
  c2->s2 = "c2";
  ath_node *q = select_(LIST(col(c, "id"), col(c2, "id")), bin(col(c, "dept"), "=", col(c2, "dept")));
  const char *sql = "WITH c AS (SELECT emps.id, emps.dept FROM emps) SELECT c.id, c2.id FROM c, c AS c2 WHERE c.dept = c2.dept";
  expect_all(q, sql, sql, sql, "");
  ath_node *e2 = table_as("emps", "e2");
  ath_node *sub = select_(LIST(col(e2, "name")), bin(col(e2, "dept"), "=", col(emps, "dept")));
  sub->kids[ATH_SELECT_LIMIT] = bind(1);
  ath_node *top = with_flags(alias("top", sub), ATH_F_LATERAL);
  ath_node *outer = select_(LIST(col(emps, "id"), col(top, "name")), NULL);
  outer->kids[ATH_SELECT_FROM] = LIST(join(emps, top, leaf(ATH_N_TRUE), 0));
  expect_sql(outer, PG, "SELECT emps.id, top.name FROM emps JOIN LATERAL (SELECT e2.name FROM emps AS e2 "
             "WHERE e2.dept = emps.dept LIMIT $1) AS top ON true", "1");
  expect_error(outer, SQLITE, ATH_E_COMPILE, "LATERAL is not supported", "sqlite");
  /* the flags and the alias name are part of the cache key */
  ath_buf k1 = ATH_BUF_INIT, k2 = ATH_BUF_INIT;
  assert_int_equal(ath_node_key(&k1, outer, PG), 0);
  top->flags = 0;
  assert_int_equal(ath_node_key(&k2, outer, PG), 0);
  assert_false(k1.len == k2.len && !memcmp(k1.data, k2.data, k1.len));
  ath_buf_free(&k1);
  ath_buf_free(&k2);
}

static void test_any_all(void **state) {
  (void)state;
  ath_node *emps = table("emps"), *e2 = table_as("emps", "e2");
  ath_node *arr = TEXT("ARRAY[1, 2]");
  ath_node *n = bin(bind(1), "=", unary("ANY", arr));
  expect_sql(n, PG, "$1 = ANY (ARRAY[1, 2])", "1");
  expect_error(n, SQLITE, ATH_E_COMPILE, "ANY is not supported", "sqlite");
  ath_node *sub = select_(LIST(col(e2, "salary")), NULL);
  ath_node *q = select_(LIST(col(emps, "id")), bin(col(emps, "salary"), ">=", unary("ALL", scalar(sub))));
  const char *sql = "SELECT emps.id FROM emps WHERE emps.salary >= ALL (SELECT e2.salary FROM emps AS e2)";
  expect_sql(q, PG, sql, "");
  expect_sql(q, MYSQL, sql, "");
}

/* ------------------------------------------------ CAST and correlation */

/* A CAST names an athanor type; each dialect spells it as SQLAlchemy 1.4's
 * CAST does (MySQL: CHAR, SIGNED INTEGER, DECIMAL; FLOAT, BOOLEAN and ENUM
 * uncast). A String without a length is no error anywhere. */
static void test_cast_spelled_by_the_dialect(void **state) {
  (void)state;
  ath_node *x = col(NULL, "x");
  static const struct { const char *type, *sqlite, *pg, *mysql; } cases[] = {
    { "String", "CAST(x AS VARCHAR)", "CAST(x AS VARCHAR)", "CAST(x AS CHAR)" },
    { "String(20)", "CAST(x AS VARCHAR(20))", "CAST(x AS VARCHAR(20))", "CAST(x AS CHAR(20))" },
    { "Text", "CAST(x AS TEXT)", "CAST(x AS TEXT)", "CAST(x AS CHAR)" },
    { "Integer", "CAST(x AS INTEGER)", "CAST(x AS INTEGER)", "CAST(x AS SIGNED INTEGER)" },
    { "SmallInteger", "CAST(x AS SMALLINT)", "CAST(x AS SMALLINT)", "CAST(x AS SIGNED INTEGER)" },
    { "BigInteger", "CAST(x AS BIGINT)", "CAST(x AS BIGINT)", "CAST(x AS SIGNED INTEGER)" },
    { "Float", "CAST(x AS FLOAT)", "CAST(x AS FLOAT)", "x" },
    { "Double", "CAST(x AS REAL)", "CAST(x AS DOUBLE PRECISION)", "CAST(x AS DOUBLE)" },
    { "Numeric", "CAST(x AS NUMERIC)", "CAST(x AS NUMERIC)", "CAST(x AS DECIMAL)" },
    { "Numeric(10)", "CAST(x AS NUMERIC(10))", "CAST(x AS NUMERIC(10))", "CAST(x AS DECIMAL(10))" },
    { "Numeric(10, 2)", "CAST(x AS NUMERIC(10, 2))", "CAST(x AS NUMERIC(10, 2))", "CAST(x AS DECIMAL(10, 2))" },
    { "Boolean", "CAST(x AS BOOLEAN)", "CAST(x AS BOOLEAN)", "x" },
    { "Date", "CAST(x AS DATE)", "CAST(x AS DATE)", "CAST(x AS DATE)" },
    { "Time", "CAST(x AS TIME)", "CAST(x AS TIME WITHOUT TIME ZONE)", "CAST(x AS TIME)" },
    { "DateTime", "CAST(x AS DATETIME)", "CAST(x AS TIMESTAMP WITHOUT TIME ZONE)", "CAST(x AS DATETIME)" },
    { "DateTime(timezone)", "CAST(x AS DATETIME)", "CAST(x AS TIMESTAMP WITH TIME ZONE)", "CAST(x AS DATETIME)" },
    { "LargeBinary", "CAST(x AS BLOB)", "CAST(x AS BYTEA)", "CAST(x AS BINARY)" },
    { "JSON", "CAST(x AS JSON)", "CAST(x AS JSONB)", "CAST(x AS JSON)" },
    { "Uuid", "CAST(x AS CHAR(32))", "CAST(x AS UUID)", "CAST(x AS CHAR(32))" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_all(cast(x, cases[i].type), cases[i].sqlite, cases[i].pg, cases[i].mysql, "");
  /* an Enum: VARCHAR(longest) on SQLite, its named type on PostgreSQL (quoted by the dialect's rules) */
  ath_node *e = cast(x, "Enum(5)");
  e->s2 = "Mood";
  expect_all(e, "CAST(x AS VARCHAR(5))", "CAST(x AS \"Mood\")", "x", "");
  expect_error(cast(x, "Enum(5)"), PG, ATH_E_COMPILE, "CAST to an Enum on the postgresql dialect needs its type name", NULL);
  expect_sql(cast(x, "Enum(5)"), SQLITE, "CAST(x AS VARCHAR(5))", "");
  /* uncast on MySQL: the operand keeps the parentheses its context needs */
  expect_sql(bin(cast(bin(x, "+", bind(1)), "Float"), "*", bind(2)), MYSQL, "(x + ?) * ?", "1,2");
  expect_sql(bin(cast(bin(x, "+", bind(1)), "Float"), "*", bind(2)), SQLITE, "CAST(x + ? AS FLOAT) * ?", "1,2");
}

/* A CAST's type is checked before rendering: a name the dialects do not
 * know, or arguments it does not take, is a CompileError naming it. */
static void test_cast_malformed_types_are_compile_errors(void **state) {
  (void)state;
  static const char *const bad[] = {
    "VARCHAR", "String(", "String()", "String(a)", "String(1, 2)", "String(2,)", "Integer(3)", "Numeric(1, 2, 3)",
    "Numeric(10,  2)", "DateTime(tz)", "Text(5)", "String(1234567890)", "", "String(20); DROP TABLE x",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++)
      expect_error(cast(col(NULL, "x"), bad[i]), ath_builtin_dialects[d], ATH_E_COMPILE, "malformed CAST node", bad[i]);
  expect_sql(cast(col(NULL, "x"), "Numeric(10,2)"), PG, "CAST(x AS NUMERIC(10, 2))", "");
}

/* A subquery on one table keeps its FROM wherever it stands (WHERE,
 * HAVING, the columns clause), even when the enclosing select has the
 * table: SQLAlchemy correlates implicitly only what leaves a FROM. */
static void test_subquery_on_one_table_keeps_its_from(void **state) {
  (void)state;
  ath_node *emps = table("emps");
  ath_node *top = scalar(select_(LIST(FUNC("max", col(emps, "salary"))), bin(col(emps, "dept_id"), "=", bind(1))));
  const char *sub = "(SELECT max(emps.salary) FROM emps WHERE emps.dept_id = ?)";
  char want[512];
  snprintf(want, sizeof want, "SELECT emps.id FROM emps WHERE emps.salary = %s", sub);
  expect_sql(select_(LIST(col(emps, "id")), bin(col(emps, "salary"), "=", top)), SQLITE, want, "1");
  ath_node *q = select_(LIST(col(emps, "dept_id")), NULL);
  slot(q, ATH_SELECT_GROUP, LIST(col(emps, "dept_id")));
  slot(q, ATH_SELECT_HAVING, bin(FUNC("max", col(emps, "salary")), ">=", top));
  snprintf(want, sizeof want, "SELECT emps.dept_id FROM emps GROUP BY emps.dept_id HAVING max(emps.salary) >= %s", sub);
  expect_sql(q, SQLITE, want, "1");
  snprintf(want, sizeof want, "SELECT emps.id, %s AS top FROM emps", sub);
  expect_sql(select_(LIST(col(emps, "id"), label(top, "top")), NULL), SQLITE, want, "1");
  /* EXISTS and IN too */
  ath_node *one = select_(LIST(col(emps, "id")), bin(col(emps, "dept_id"), "=", bind(1)));
  expect_sql(select_(LIST(col(emps, "id")), unary("EXISTS", one)), SQLITE,
             "SELECT emps.id FROM emps WHERE EXISTS (SELECT emps.id FROM emps WHERE emps.dept_id = ?)", "1");
  expect_sql(select_(LIST(col(emps, "id")), IN(col(emps, "id"), one)), SQLITE,
             "SELECT emps.id FROM emps WHERE emps.id IN (SELECT emps.id FROM emps WHERE emps.dept_id = ?)", "1");
  /* an explicit FROM item is correlated like an inferred one: depts stays */
  ath_node *depts = table("depts");
  ath_node *sf = select_(LIST(FUNC("max", col(emps, "salary"))), bin(col(emps, "dept_id"), "=", col(depts, "id")));
  slot(sf, ATH_SELECT_FROM, LIST(emps));
  expect_sql(select_(LIST(col(emps, "id")), bin(col(emps, "salary"), "=", scalar(sf))), SQLITE,
             "SELECT emps.id FROM emps WHERE emps.salary = (SELECT max(emps.salary) FROM depts "
             "WHERE emps.dept_id = depts.id)", "");
}

/* Every FROM element of a subquery in the enclosing query: the subquery
 * would have no FROM. InvalidRequestError naming it (SQLAlchemy's message
 * for auto-correlation; its own for an explicit correlate()). */
static void test_correlation_leaving_no_from_is_an_invalid_request(void **state) {
  (void)state;
  ath_node *emps = table("emps"), *depts = table("depts");
  ath_node *inner = select_(LIST(FUNC("max", col(emps, "salary"))), bin(col(emps, "dept_id"), "=", col(depts, "id")));
  ath_node *where = select_(LIST(col(emps, "id"), col(depts, "name")), bin(col(emps, "salary"), "=", scalar(inner)));
  for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++)
    expect_error(where, ath_builtin_dialects[d], ATH_E_INVALID_REQUEST,
                 "returned no FROM clauses due to auto-correlation; specify correlate(<tables>) to control correlation manually",
                 "Select statement 'SELECT max(emps.salary) FROM emps, depts WHERE emps.dept_id = depts.id'");
  ath_node *cols = select_(LIST(col(emps, "id"), col(depts, "name"), label(scalar(inner), "top")), NULL);
  expect_error(cols, SQLITE, ATH_E_INVALID_REQUEST, "due to auto-correlation", NULL);
  ath_node *having = select_(LIST(col(emps, "id"), col(depts, "name")), NULL);
  slot(having, ATH_SELECT_HAVING, bin(FUNC("max", col(emps, "salary")), "=", scalar(inner)));
  expect_error(having, SQLITE, ATH_E_INVALID_REQUEST, "due to auto-correlation", NULL);
  /* explicit: correlate(emps) on a subquery of emps alone */
  ath_node *own = select_(LIST(FUNC("max", col(emps, "salary"))), bin(col(emps, "dept_id"), "=", bind(1)));
  slot(own, ATH_SELECT_CORRELATE, LIST(emps));
  expect_error(select_(LIST(col(emps, "id")), bin(col(emps, "salary"), "=", scalar(own))), PG, ATH_E_INVALID_REQUEST,
               "Select statement 'SELECT max(emps.salary) FROM emps WHERE emps.dept_id = $1' returned no FROM clauses",
               "due to correlate(emps)");
  /* ... which is fine where nothing encloses emps: the FROM stays */
  expect_sql(select_(LIST(col(depts, "id")), bin(col(depts, "id"), "=", scalar(own))), SQLITE,
             "SELECT depts.id FROM depts WHERE depts.id = (SELECT max(emps.salary) FROM emps WHERE emps.dept_id = ?)", "1");
  /* an explicit correlate() turns implicit correlation off: only depts goes */
  ath_node *only = select_(LIST(FUNC("max", col(emps, "salary"))), bin(col(emps, "dept_id"), "=", col(depts, "id")));
  slot(only, ATH_SELECT_CORRELATE, LIST(depts));
  expect_sql(select_(LIST(col(emps, "id"), col(depts, "name")), bin(col(emps, "salary"), "=", scalar(only))), SQLITE,
             "SELECT emps.id, depts.name FROM emps, depts WHERE emps.salary = (SELECT max(emps.salary) FROM emps "
             "WHERE emps.dept_id = depts.id)", "");
}

/* The error path renders the subquery alone to name it: out of memory
 * there still gives a clean error and no leak. */
static void test_out_of_memory_correlation_error(void **state) {
  (void)state;
  ath_node *emps = table("emps"), *depts = table("depts");
  ath_node *inner = select_(LIST(FUNC("max", col(emps, "salary"))), bin(col(emps, "dept_id"), "=", col(depts, "id")));
  ath_node *q = select_(LIST(col(emps, "id"), col(depts, "name")), bin(col(emps, "salary"), "=", scalar(inner)));
  int invalid = 0;
  for (long n = 0; n < 1000 && !invalid; n++) {
    long base = ath_alloc_live();
    ath_compiled *c = (ath_compiled *)1;
    ath_error err;
    ath_error_clear(&err);
    ath_alloc_fail_after(n);
    ath_status st = ath_compile(q, SQLITE, &c, &err);
    ath_alloc_fail_after(-1);
    assert_null(c);
    assert_int_equal(ath_alloc_live(), base);
    assert_true(st == ATH_E_NOMEM || st == ATH_E_INVALID_REQUEST);
    if (st == ATH_E_INVALID_REQUEST) {
      assert_non_null(strstr(err.message, "returned no FROM clauses due to auto-correlation"));
      invalid = 1;
    }
  }
  assert_true(invalid);
}

/* Implicit correlation is to the nearest enclosing query first (as
 * SQLAlchemy); a table of a query further out is correlated too while the
 * subquery keeps a FROM, else it stays in the subquery's FROM. */
static void test_correlation_through_nested_subqueries(void **state) {
  (void)state;
  ath_node *emps = table("emps"), *depts = table("depts");
  /* emps > EXISTS(depts > (max over emps of the dept)): the innermost keeps emps */
  ath_node *inner = scalar(select_(LIST(FUNC("max", col(emps, "dept_id"))), bin(col(emps, "id"), "=", col(depts, "id"))));
  ath_node *middle = select_(LIST(col(depts, "id")), bin(col(depts, "id"), "=", inner));
  expect_sql(select_(LIST(col(emps, "id")), unary("EXISTS", middle)), SQLITE,
             "SELECT emps.id FROM emps WHERE EXISTS (SELECT depts.id FROM depts WHERE depts.id = "
             "(SELECT max(emps.dept_id) FROM emps WHERE emps.id = depts.id))", "");
  /* users > EXISTS(orders > EXISTS(items, orders, users)): orders then users correlated, items kept */
  ath_node *users = table("users"), *orders = table("orders"), *items = table("items");
  ath_node *deep = select_(LIST(col(items, "id")), AND(bin(col(items, "order_id"), "=", col(orders, "id")),
                                                      bin(col(items, "owner"), "=", col(users, "id"))));
  ath_node *mid = select_(LIST(col(orders, "id")), AND(bin(col(orders, "user_id"), "=", col(users, "id")),
                                                      unary("EXISTS", deep)));
  expect_sql(select_(LIST(col(users, "id")), unary("EXISTS", mid)), PG,
             "SELECT users.id FROM users WHERE EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id "
             "AND EXISTS (SELECT items.id FROM items WHERE items.order_id = orders.id AND items.owner = users.id))", "");
}

/* A bound parameter's cast is an athanor type the dialect spells: anything
 * else fails the shape check. */
static void test_bind_cast_must_be_a_type_name(void **state) {
  (void)state;
  ath_node *ok = bind(1);
  ok->s2 = "Numeric(10, 2)";
  expect_sql(ok, PG, "$1::NUMERIC(10, 2)", "1");
  expect_sql(ok, SQLITE, "?", "1");                  /* no bind casts there */
  ath_node *bad = bind(1);
  bad->s2 = "INT; DROP TABLE x --";
  expect_error(bad, PG, ATH_E_COMPILE, "is not a type name", "DROP");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(test_select_infers_from),
    T(test_select_group_having_order_limit),
    T(test_limit_offset),
    T(test_and_or_precedence),
    T(test_not),
    T(test_not_of_single_condition_group),
    T(test_in),
    T(test_between),
    T(test_is_null_postfix),
    T(test_like_ilike),
    T(test_concat),
    T(test_concat_precedence_sqlite),
    T(test_booleans_and_null),
    T(test_identifier_quoting),
    T(test_mysql_reserved_words),
    T(test_hostile_identifiers_are_quoted),
    T(test_functions),
    T(test_label_and_order_by_label),
    T(test_label_renders_by_where_it_stands),
    T(test_order_by_subquery_with_label),
    T(test_returning_subquery_keeps_qualifiers),
    T(test_cast),
    T(test_case),
    T(test_collate_and_grouping),
    T(test_joins),
    T(test_table_alias_and_self_join),
    T(test_subquery_in_from),
    T(test_correlated_scalar_subquery),
    T(test_cte),
    T(test_recursive_cte),
    T(test_compound),
    T(test_for_update),
    T(test_insert_rows),
    T(test_insert_default_values),
    T(test_insert_select),
    T(test_returning),
    T(test_on_conflict_do_nothing),
    T(test_on_conflict_do_update),
    T(test_on_conflict_where_on_mysql),
    T(test_update),
    T(test_delete),
    T(test_text_placeholders),
    T(test_named_binds),
    T(test_shared_bind),
    T(test_many_binds),
    T(test_compile_arguments),
    T(test_cache_key),
    T(test_cache_key_shared_from_elements),
    T(test_cache_key_shared_subtree),
    T(test_cache_key_too_many_from_elements),
    T(test_out_of_memory_compile),
    T(test_out_of_memory_key),
    T(test_out_of_memory_arena),
    T(test_malformed_trees_are_compile_errors),
    T(test_malformed_nodes_are_named),
    T(test_deep_and_cyclic_trees),
    T(test_text_quotes_per_dialect),
    T(test_window_functions),
    T(test_aggregate_filter),
    T(test_within_group),
    T(test_extract),
    T(test_tuple_in_and_like_escape),
    T(test_distinct_on_and_correlate_except),
    T(test_cte_alias_and_lateral),
    T(test_any_all),
    T(test_cast_spelled_by_the_dialect),
    T(test_cast_malformed_types_are_compile_errors),
    T(test_subquery_on_one_table_keeps_its_from),
    T(test_correlation_leaving_no_from_is_an_invalid_request),
    T(test_out_of_memory_correlation_error),
    T(test_correlation_through_nested_subqueries),
    T(test_bind_cast_must_be_a_type_name),
    T(test_arity_from_the_kind_list),
    T(test_dialect_is_facts),
  };
  return cmocka_run_group_tests_name("compile", tests, NULL, NULL);
}
