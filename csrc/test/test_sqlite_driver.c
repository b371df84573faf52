/* test_sqlite_driver.c — the SQLite driver through its vtable. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "driver/ath_driver.h"
#include "engine/ath_conn.h"

static const ath_driver *D = &ath_driver_sqlite;

static ath_dconn *open_url(const char *text, const ath_connect_opts *opts, ath_status want, ath_error *err) {
  ath_url *u = NULL;
  assert_int_equal(ath_url_parse(text, &u, err), ATH_OK);
  ath_dconn *c = NULL;
  ath_status st = D->connect(u, opts, &c, err);
  ath_url_free(u);
  assert_int_equal(st, want);
  return c;
}

static int setup_memory(void **state) {
  ath_error err;
  *state = open_url("sqlite://", NULL, ATH_OK, &err);
  return 0;
}
static int teardown_conn(void **state) { D->close(*state); return 0; }

static void exec_ok(ath_dconn *c, const char *sql) {
  ath_error err;
  if (D->exec(c, sql, &err) != ATH_OK) fail_msg("%s: %s", sql, err.message);
}

static ath_dstmt *prep(ath_dconn *c, const char *sql) {
  ath_dstmt *s = NULL;
  ath_error err;
  if (D->prepare(c, sql, strlen(sql), &s, &err) != ATH_OK) fail_msg("%s: %s", sql, err.message);
  return s;
}

static ath_status run1(ath_dconn *c, const char *sql, ath_error *err) {
  ath_dstmt *s = NULL;
  ath_status st = D->prepare(c, sql, strlen(sql), &s, err);
  if (st != ATH_OK) return st;
  st = D->step(s, err);
  D->finalize(s);
  return st == ATH_DONE || st == ATH_ROW ? ATH_OK : st;
}

static long long count(ath_dconn *c, const char *table) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  ath_dstmt *s = prep(c, sql);
  ath_error err;
  assert_int_equal(D->step(s, &err), ATH_ROW);
  ath_value v;
  D->column(s, 0, &v);
  D->finalize(s);
  return (long long)v.u.i;
}

static void test_sqlite_driver_round_trips_every_value_type(void **state) {
  ath_dconn *c = *state;
  exec_ok(c, "CREATE TABLE v (i INTEGER, f REAL, t TEXT, b BLOB, n)");
  ath_dstmt *ins = prep(c, "INSERT INTO v VALUES (?, ?, ?, ?, ?)");
  assert_int_equal(D->param_count(ins), 5);
  static const char blob[] = { 0, 1, 2, (char)255, 0 };
  ath_value vals[5];
  memset(vals, 0, sizeof vals);
  vals[0].type = ATH_V_INT; vals[0].u.i = INT64_MIN;
  vals[1].type = ATH_V_FLOAT; vals[1].u.f = 0.1;
  vals[2].type = ATH_V_TEXT; vals[2].u.s.p = "h\xc3\xa9llo"; vals[2].u.s.n = 6;
  vals[3].type = ATH_V_BLOB; vals[3].u.s.p = blob; vals[3].u.s.n = sizeof blob;
  vals[4].type = ATH_V_NULL;
  ath_error err;
  for (int i = 0; i < 5; i++) assert_int_equal(D->bind(ins, i + 1, &vals[i], &err), ATH_OK);
  assert_int_equal(D->step(ins, &err), ATH_DONE);
  assert_int_equal(D->changes(ins), 1);
  D->reset(ins);
  vals[0].u.i = INT64_MAX;
  vals[1].type = ATH_V_BOOL; vals[1].u.i = 1;
  for (int i = 0; i < 5; i++) assert_int_equal(D->bind(ins, i + 1, &vals[i], &err), ATH_OK);
  assert_int_equal(D->step(ins, &err), ATH_DONE);
  D->finalize(ins);

  ath_dstmt *sel = prep(c, "SELECT i, f, t, b, n FROM v ORDER BY rowid");
  assert_int_equal(D->column_count(sel), 5);
  ath_column_info ci;
  D->column_info(sel, 2, &ci);
  assert_string_equal(ci.name, "t");
  assert_string_equal(ci.decltype, "TEXT");
  assert_int_equal(D->step(sel, &err), ATH_ROW);
  ath_value v;
  D->column(sel, 0, &v); assert_int_equal(v.type, ATH_V_INT); assert_true(v.u.i == INT64_MIN);
  D->column(sel, 1, &v); assert_int_equal(v.type, ATH_V_FLOAT); assert_true(v.u.f == 0.1);
  D->column(sel, 2, &v); assert_int_equal(v.type, ATH_V_TEXT); assert_int_equal(v.u.s.n, 6);
  assert_memory_equal(v.u.s.p, "h\xc3\xa9llo", 6);
  D->column(sel, 3, &v); assert_int_equal(v.type, ATH_V_BLOB); assert_int_equal(v.u.s.n, sizeof blob);
  assert_memory_equal(v.u.s.p, blob, sizeof blob);
  D->column(sel, 4, &v); assert_int_equal(v.type, ATH_V_NULL);
  assert_int_equal(D->step(sel, &err), ATH_ROW);
  D->column(sel, 0, &v); assert_true(v.u.i == INT64_MAX);
  D->column(sel, 1, &v); assert_int_equal(v.type, ATH_V_FLOAT); assert_true(v.u.f == 1.0);  /* bool stored as 1 */
  assert_int_equal(D->step(sel, &err), ATH_DONE);
  D->finalize(sel);
}

static void test_sqlite_driver_rejects_arrays_and_bad_indexes(void **state) {
  ath_dconn *c = *state;
  ath_dstmt *s = prep(c, "SELECT ?");
  ath_value item = { .type = ATH_V_INT, .u.i = 1 };
  ath_value arr = { .type = ATH_V_ARRAY, .u.arr = { &item, 1 } };
  ath_error err;
  assert_int_equal(D->bind(s, 1, &arr, &err), ATH_E_NOT_SUPPORTED);
  assert_non_null(strstr(err.message, "array"));
  assert_int_equal(D->bind(s, 2, &item, &err), ATH_E_ARGUMENT);
  assert_non_null(strstr(err.message, "out of range"));
  D->finalize(s);
}

static void test_sqlite_driver_maps_errors_to_kinds(void **state) {
  ath_dconn *c = *state;
  exec_ok(c, "CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)");
  exec_ok(c, "INSERT INTO u VALUES (1, 'a')");
  ath_error err;
  assert_int_equal(run1(c, "INSERT INTO u VALUES (2, 'a')", &err), ATH_E_INTEGRITY);
  assert_int_equal(err.code, 2067);                       /* SQLITE_CONSTRAINT_UNIQUE */
  assert_non_null(strstr(err.message, "UNIQUE constraint failed: u.name"));
  assert_int_equal(run1(c, "INSERT INTO u VALUES (3, NULL)", &err), ATH_E_INTEGRITY);
  assert_int_equal(run1(c, "SELEC 1", &err), ATH_E_PROGRAMMING);
  assert_int_equal(run1(c, "SELECT * FROM nope", &err), ATH_E_PROGRAMMING);
  assert_non_null(strstr(err.message, "no such table: nope"));
  assert_int_equal(run1(c, "SELECT nope FROM u", &err), ATH_E_PROGRAMMING);
  assert_int_equal(count(c, "u"), 1);
}

static void test_sqlite_driver_refuses_several_statements_and_empty_sql(void **state) {
  ath_dconn *c = *state;
  ath_dstmt *s = NULL;
  ath_error err;
  const char *two = "SELECT 1; SELECT 2";
  assert_int_equal(D->prepare(c, two, strlen(two), &s, &err), ATH_E_PROGRAMMING);
  assert_null(s);
  assert_non_null(strstr(err.message, "one statement"));
  const char *trailing = "SELECT 1; -- fine\n";
  assert_int_equal(D->prepare(c, trailing, strlen(trailing), &s, &err), ATH_OK);
  D->finalize(s);
  assert_int_equal(D->prepare(c, "  ", 2, &s, &err), ATH_E_ARGUMENT);
}

/* The NUL check sits in the connection layer, above every driver: SQLite
 * would report "only one statement", PostgreSQL (a C string) would run the
 * text up to the NUL. Either way the driver never sees it. */
static void test_sqlite_driver_conn_refuses_sql_with_a_nul_byte_for_every_driver(void **state) {
  (void)state;
  ath_url *u = NULL;
  ath_error err;
  assert_int_equal(ath_url_parse("sqlite://", &u, &err), ATH_OK);
  ath_conn *c = NULL;
  assert_int_equal(ath_conn_open(&ath_driver_sqlite, u, NULL, 8, &c, &err), ATH_OK);
  ath_url_free(u);
  static const char sql[] = "SELECT 1\0; SELECT 2";
  ath_cstmt *s = NULL;
  for (int twice = 0; twice < 2; twice++) {        /* a refused text is never cached */
    assert_int_equal(ath_conn_stmt_acquire(c, sql, sizeof sql - 1, &s, &err), ATH_E_ARGUMENT);
    assert_null(s);
    assert_non_null(strstr(err.message, "NUL byte at offset 8"));
  }
  assert_int_equal(c->prepares, 0);
  assert_int_equal(ath_conn_stmt_acquire(c, sql, strlen(sql), &s, &err), ATH_OK);   /* "SELECT 1" */
  ath_conn_stmt_release(s);
  ath_conn_close(c);
}

static void test_sqlite_driver_transactions_and_savepoints(void **state) {
  ath_dconn *c = *state;
  ath_error err;
  exec_ok(c, "CREATE TABLE t (x INTEGER)");
  assert_false(D->in_transaction(c));
  assert_int_equal(D->begin(c, ATH_ISO_DEFAULT, &err), ATH_OK);
  assert_true(D->in_transaction(c));
  exec_ok(c, "INSERT INTO t VALUES (1)");
  assert_int_equal(D->savepoint(c, "sp \"1\"", &err), ATH_OK);   /* quotes in the name */
  exec_ok(c, "INSERT INTO t VALUES (2)");
  assert_int_equal(D->rollback_to_savepoint(c, "sp \"1\"", &err), ATH_OK);
  assert_int_equal(D->release_savepoint(c, "sp \"1\"", &err), ATH_OK);
  assert_int_equal(D->commit(c, &err), ATH_OK);
  assert_int_equal(count(c, "t"), 1);
  assert_int_equal(D->begin(c, ATH_ISO_DEFAULT, &err), ATH_OK);
  exec_ok(c, "INSERT INTO t VALUES (3)");
  assert_int_equal(D->rollback(c, &err), ATH_OK);
  assert_int_equal(count(c, "t"), 1);
  assert_int_equal(D->rollback(c, &err), ATH_OK);                /* nothing open: no-op */
}

static void test_sqlite_driver_reports_last_insert_id(void **state) {
  ath_dconn *c = *state;
  exec_ok(c, "CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)");
  exec_ok(c, "INSERT INTO r (v) VALUES ('a')");
  exec_ok(c, "INSERT INTO r (v) VALUES ('b')");
  assert_int_equal(D->last_insert_id(c), 2);
}

static void test_sqlite_driver_foreign_keys_are_on_by_default(void **state) {
  (void)state;
  ath_error err;
  ath_dconn *c = open_url("sqlite://", NULL, ATH_OK, &err);
  exec_ok(c, "CREATE TABLE p (id INTEGER PRIMARY KEY)");
  exec_ok(c, "CREATE TABLE ch (p_id INTEGER REFERENCES p(id))");
  assert_int_equal(run1(c, "INSERT INTO ch VALUES (5)", &err), ATH_E_INTEGRITY);
  D->close(c);
  const char *k[] = { "foreign_keys" }, *v[] = { "off" };
  ath_connect_opts o = { k, v, 1 };
  c = open_url("sqlite://", &o, ATH_OK, &err);
  exec_ok(c, "CREATE TABLE p (id INTEGER PRIMARY KEY)");
  exec_ok(c, "CREATE TABLE ch (p_id INTEGER REFERENCES p(id))");
  assert_int_equal(run1(c, "INSERT INTO ch VALUES (5)", &err), ATH_OK);
  D->close(c);
}

static void test_sqlite_driver_connect_errors_name_the_problem(void **state) {
  (void)state;
  ath_error err;
  assert_null(open_url("sqlite:////no/such/dir/x.db", NULL, ATH_E_OPERATIONAL, &err));
  assert_non_null(strstr(err.message, "unable to open database file '/no/such/dir/x.db'"));
  const char *k1[] = { "journal_mode" }, *v1[] = { "sideways" };
  ath_connect_opts o1 = { k1, v1, 1 };
  assert_null(open_url("sqlite://", &o1, ATH_E_ARGUMENT, &err));
  assert_non_null(strstr(err.message, "journal_mode 'sideways'"));
  const char *k2[] = { "colour" }, *v2[] = { "blue" };
  ath_connect_opts o2 = { k2, v2, 1 };
  assert_null(open_url("sqlite://", &o2, ATH_E_ARGUMENT, &err));
  assert_non_null(strstr(err.message, "'colour'"));
  const char *k3[] = { "busy_timeout" }, *v3[] = { "soon" };
  ath_connect_opts o3 = { k3, v3, 1 };
  assert_null(open_url("sqlite://", &o3, ATH_E_ARGUMENT, &err));
}

static void test_sqlite_driver_busy_is_operational(void **state) {
  (void)state;
  char path[] = "/tmp/athanor-busy-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char url[128];
  snprintf(url, sizeof url, "sqlite:///%s", path);
  const char *k[] = { "busy_timeout", "journal_mode" }, *v[] = { "0", "wal" };
  ath_connect_opts o = { k, v, 2 };
  ath_error err;
  ath_dconn *a = open_url(url, &o, ATH_OK, &err), *b = open_url(url, &o, ATH_OK, &err);
  exec_ok(a, "CREATE TABLE t (x)");
  assert_int_equal(D->begin(a, ATH_ISO_DEFAULT, &err), ATH_OK);
  exec_ok(a, "INSERT INTO t VALUES (1)");
  assert_int_equal(run1(b, "INSERT INTO t VALUES (2)", &err), ATH_E_OPERATIONAL);
  assert_int_equal(err.code & 0xff, 5);                   /* SQLITE_BUSY */
  assert_int_equal(D->rollback(a, &err), ATH_OK);
  D->close(a); D->close(b);
  unlink(path);
  char side[160];
  snprintf(side, sizeof side, "%s-wal", path); unlink(side);
  snprintf(side, sizeof side, "%s-shm", path); unlink(side);
}

static void test_sqlite_driver_fault_injection_leaves_no_leak(void **state) {
  (void)state;
  long base = ath_alloc_live();
  ath_url *u = NULL;
  ath_error err;
  assert_int_equal(ath_url_parse("sqlite://", &u, &err), ATH_OK);
  for (long n = 0;; n++) {
    ath_dconn *c = NULL;
    ath_dstmt *s = NULL;
    ath_alloc_fail_after(n);
    ath_status st = D->connect(u, NULL, &c, &err);
    if (st == ATH_OK) st = D->prepare(c, "SELECT 1", 8, &s, &err);
    ath_alloc_fail_after(-1);
    D->finalize(s);
    D->close(c);
    if (st == ATH_OK) break;
    assert_int_equal(st, ATH_E_NOMEM);
    assert_true(n < 50);
  }
  ath_url_free(u);
  assert_int_equal(ath_alloc_live(), base);
}

/* SQLite's own allocator, wrapped so a test can make it fail (installed in
 * main, before SQLite initializes). */
static sqlite3_mem_methods sqlite_mem;
static int sqlite_fail;
static void *failing_malloc(int n) { return sqlite_fail ? NULL : sqlite_mem.xMalloc(n); }
static void *failing_realloc(void *p, int n) { return sqlite_fail ? NULL : sqlite_mem.xRealloc(p, n); }

static void install_failing_sqlite_allocator(void) {
  assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_mem), SQLITE_OK);
  sqlite3_mem_methods m = sqlite_mem;
  m.xMalloc = failing_malloc;
  m.xRealloc = failing_realloc;
  assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
}

/* Read column 0 of sql's first row with SQLite's allocator failing. */
static ath_status read_failing(ath_dconn *c, const char *sql, const ath_value *param, ath_value *v, ath_error *err) {
  ath_dstmt *s = prep(c, sql);
  if (param) assert_int_equal(D->bind(s, 1, param, err), ATH_OK);
  assert_int_equal(D->step(s, err), ATH_ROW);
  sqlite_fail = 1;
  ath_status st = ath_driver_column(D, s, 0, v, err);
  sqlite_fail = 0;
  D->finalize(s);
  return st;
}

static void test_sqlite_driver_reading_a_value_out_of_memory_is_nomem_not_empty(void **state) {
  ath_dconn *c = *state;
  ath_error err;
  ath_value v;
  /* text cast from a blob is not NUL-terminated: SQLite copies it to read it */
  assert_int_equal(read_failing(c, "SELECT CAST(zeroblob(100000) AS TEXT)", NULL, &v, &err), ATH_E_NOMEM);
  assert_non_null(strstr(err.message, "out of memory"));
  assert_int_equal(v.type, ATH_V_NULL);
  /* nor is borrowed text */
  size_t n = 100000;
  char *text = malloc(n + 1);
  assert_non_null(text);
  memset(text, 'x', n + 1);
  ath_value p = { .type = ATH_V_TEXT, .borrowed = 1, .u.s = { text, n } };
  assert_int_equal(read_failing(c, "SELECT ?", &p, &v, &err), ATH_E_NOMEM);
  assert_non_null(strstr(err.message, "out of memory"));
  free(text);
  /* an empty blob or text needs no memory and is no error */
  assert_int_equal(read_failing(c, "SELECT x''", NULL, &v, &err), ATH_OK);
  assert_int_equal(v.type, ATH_V_BLOB); assert_int_equal(v.u.s.n, 0); assert_non_null(v.u.s.p);
  assert_int_equal(read_failing(c, "SELECT ''", NULL, &v, &err), ATH_OK);
  assert_int_equal(v.type, ATH_V_TEXT); assert_int_equal(v.u.s.n, 0); assert_non_null(v.u.s.p);
  /* with memory, the same reads give the values */
  ath_dstmt *s = prep(c, "SELECT CAST(zeroblob(100000) AS TEXT), zeroblob(100000)");
  assert_int_equal(D->step(s, &err), ATH_ROW);
  assert_int_equal(ath_driver_column(D, s, 0, &v, &err), ATH_OK);
  assert_int_equal(v.type, ATH_V_TEXT); assert_int_equal(v.u.s.n, 100000);
  assert_int_equal(ath_driver_column(D, s, 1, &v, &err), ATH_OK);
  assert_int_equal(v.type, ATH_V_BLOB); assert_int_equal(v.u.s.n, 100000);
  assert_int_equal(v.u.s.p[0], 0); assert_int_equal(v.u.s.p[99999], 0);
  D->finalize(s);
}

/* SQLITE_LIMIT_VARIABLE_NUMBER of this library (a compile-time setting). */
static int variable_limit(void) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  int limit = sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  sqlite3_close(db);
  return limit;
}

static void test_sqlite_driver_too_many_parameters_is_operational_naming_the_limit(void **state) {
  ath_dconn *c = *state;
  int limit = variable_limit();
  /* placeholders in strings, quoted names and comments do not count */
  static const char HEAD[] = "SELECT '?' AS \"?\", ':a' AS [?], 1 AS `?` -- ?\n /* ? :a */ WHERE 1 IN (";
  size_t cap = sizeof HEAD + 2 * (size_t)limit + 8, len = sizeof HEAD - 1;
  char *sql = malloc(cap);
  assert_non_null(sql);
  memcpy(sql, HEAD, len);
  for (int i = 0; i <= limit; i++) { sql[len++] = i ? ',' : ' '; sql[len++] = '?'; }
  sql[len++] = ')';
  ath_dstmt *s = NULL;
  ath_error err;
  assert_int_equal(D->prepare(c, sql, len, &s, &err), ATH_E_OPERATIONAL);
  assert_null(s);
  char want[128];
  snprintf(want, sizeof want, "the statement has %d parameter placeholders, but SQLite accepts at most %d",
           limit + 1, limit);
  if (strstr(err.message, want) == NULL) fail_msg("'%s' does not say '%s'", err.message, want);
  assert_non_null(strstr(err.message, "too many SQL variables"));
  /* exactly the limit is accepted */
  sql[len - 3] = ')';
  assert_int_equal(D->prepare(c, sql, len - 2, &s, &err), ATH_OK);
  assert_int_equal(D->param_count(s), limit);
  D->finalize(s);
  /* a numbered placeholder beyond the limit */
  snprintf(sql, cap, "SELECT ?1, ?%d", limit + 1);
  assert_int_equal(D->prepare(c, sql, strlen(sql), &s, &err), ATH_E_OPERATIONAL);
  snprintf(want, sizeof want, "placeholder ?%d is beyond SQLite's limit of %d parameters", limit + 1, limit);
  if (strstr(err.message, want) == NULL) fail_msg("'%s' does not say '%s'", err.message, want);
  free(sql);
  assert_int_equal(run1(c, "SELECT 1", &err), ATH_OK);
}

int main(void) {
  install_failing_sqlite_allocator();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_sqlite_driver_round_trips_every_value_type, setup_memory, teardown_conn),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_rejects_arrays_and_bad_indexes, setup_memory, teardown_conn),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_maps_errors_to_kinds, setup_memory, teardown_conn),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_refuses_several_statements_and_empty_sql, setup_memory, teardown_conn),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_transactions_and_savepoints, setup_memory, teardown_conn),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_reports_last_insert_id, setup_memory, teardown_conn),
    cmocka_unit_test(test_sqlite_driver_foreign_keys_are_on_by_default),
    cmocka_unit_test(test_sqlite_driver_connect_errors_name_the_problem),
    cmocka_unit_test(test_sqlite_driver_busy_is_operational),
    cmocka_unit_test(test_sqlite_driver_fault_injection_leaves_no_leak),
    cmocka_unit_test(test_sqlite_driver_conn_refuses_sql_with_a_nul_byte_for_every_driver),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_reading_a_value_out_of_memory_is_nomem_not_empty, setup_memory, teardown_conn),
    cmocka_unit_test_setup_teardown(test_sqlite_driver_too_many_parameters_is_operational_naming_the_limit, setup_memory, teardown_conn),
  };
  return cmocka_run_group_tests_name("sqlite_driver", tests, NULL, NULL);
}
