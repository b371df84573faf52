/* test_engine.c — engines, the shared registry, and the connection's
 * prepared-statement cache, driven through the C API on SQLite. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "engine/ath_engine.h"

static ath_engine *open_memory(size_t cache) {
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  cfg.stmt_cache_size = cache;
  ath_engine *e = NULL;
  ath_error err;
  assert_int_equal(ath_engine_open("sqlite://", &cfg, &e, &err), ATH_OK);
  return e;
}

static void exec_ok(ath_conn *c, const char *sql) {
  ath_error err;
  assert_int_equal(c->drv->exec(c->dc, sql, &err), ATH_OK);
}

static long long scalar_int(ath_conn *c, const char *sql) {
  ath_cstmt *s;
  ath_error err;
  assert_int_equal(ath_conn_stmt_acquire(c, sql, strlen(sql), &s, &err), ATH_OK);
  assert_int_equal(c->drv->step(s->ds, &err), ATH_ROW);
  ath_value v;
  c->drv->column(s->ds, 0, &v);
  assert_int_equal(v.type, ATH_V_INT);
  ath_conn_stmt_release(s);
  return (long long)v.u.i;
}

static void test_engine_rejects_a_malformed_url_naming_it(void **state) {
  (void)state;
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  ath_engine *e = (ath_engine *)1;
  ath_error err;
  assert_int_equal(ath_engine_open("postgresql://u@h:12x/db", &cfg, &e, &err), ATH_E_ARGUMENT);
  assert_null(e);
  assert_non_null(strstr(err.message, "12x"));
}

static void test_engine_rejects_an_unknown_dialect(void **state) {
  (void)state;
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  ath_engine *e;
  ath_error err;
  assert_int_equal(ath_engine_open("oracle://scott@h/db", &cfg, &e, &err), ATH_E_ARGUMENT);
  assert_non_null(strstr(err.message, "oracle"));
}

static void test_engine_reuses_a_cached_statement(void **state) {
  (void)state;
  ath_engine *e = open_memory(8);
  ath_conn *c;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  long before = c->prepares;
  for (int i = 0; i < 10; i++) assert_int_equal(scalar_int(c, "SELECT 41 + 1"), 42);
  assert_int_equal(c->prepares - before, 1);
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_engine_prepares_a_second_statement_while_the_first_is_busy(void **state) {
  (void)state;
  ath_engine *e = open_memory(8);
  ath_conn *c;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  const char *sql = "SELECT 1";
  ath_cstmt *a, *b;
  assert_int_equal(ath_conn_stmt_acquire(c, sql, strlen(sql), &a, &err), ATH_OK);
  assert_int_equal(ath_conn_stmt_acquire(c, sql, strlen(sql), &b, &err), ATH_OK);
  assert_ptr_not_equal(a, b);
  assert_true(a->cached);
  assert_false(b->cached);
  ath_conn_stmt_release(b);                  /* finalized: not cached */
  ath_conn_stmt_release(a);                  /* back to the cache */
  ath_cstmt *again;
  assert_int_equal(ath_conn_stmt_acquire(c, sql, strlen(sql), &again, &err), ATH_OK);
  assert_ptr_equal(again, a);
  ath_conn_stmt_release(again);
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_engine_evicts_the_least_recently_used_statement(void **state) {
  (void)state;
  ath_engine *e = open_memory(2);
  ath_conn *c;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  long p0 = c->prepares;
  scalar_int(c, "SELECT 1"); scalar_int(c, "SELECT 2"); scalar_int(c, "SELECT 3");
  assert_int_equal(c->prepares - p0, 3);
  scalar_int(c, "SELECT 3");                 /* still cached */
  assert_int_equal(c->prepares - p0, 3);
  scalar_int(c, "SELECT 1");                 /* evicted: prepared again */
  assert_int_equal(c->prepares - p0, 4);
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_engine_evicting_a_busy_statement_defers_its_finalize(void **state) {
  (void)state;
  ath_engine *e = open_memory(1);
  ath_conn *c;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  ath_cstmt *busy;
  assert_int_equal(ath_conn_stmt_acquire(c, "SELECT 1", 8, &busy, &err), ATH_OK);
  scalar_int(c, "SELECT 2");                 /* evicts the busy one from the cache */
  assert_false(busy->cached);
  assert_int_equal(c->drv->step(busy->ds, &err), ATH_ROW);   /* still usable */
  ath_conn_stmt_release(busy);               /* finalized now; ASan/valgrind check */
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_engine_checkin_rolls_back_an_open_transaction(void **state) {
  (void)state;
  ath_engine *e = open_memory(8);
  ath_conn *c;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  exec_ok(c, "CREATE TABLE t (x INTEGER)");
  assert_int_equal(c->drv->begin(c->dc, ATH_ISO_DEFAULT, &err), ATH_OK);
  exec_ok(c, "INSERT INTO t VALUES (1)");
  ath_engine_checkin(e, c);
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  assert_false(c->drv->in_transaction(c->dc));
  assert_int_equal(scalar_int(c, "SELECT count(*) FROM t"), 0);
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_engine_shares_a_named_engine(void **state) {
  (void)state;
  long base = ath_alloc_live();
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  cfg.shared_name = "main";
  ath_engine *a, *b, *c;
  ath_error err;
  assert_int_equal(ath_engine_open("sqlite://", &cfg, &a, &err), ATH_OK);
  assert_int_equal(ath_engine_open("sqlite://", &cfg, &b, &err), ATH_OK);
  assert_ptr_equal(a, b);
  assert_int_equal(ath_engine_open("sqlite:///other.db", &cfg, &c, &err), ATH_E_ARGUMENT);
  assert_non_null(strstr(err.message, "main"));
  ath_engine_release(a);
  ath_engine_release(b);
  assert_int_equal(ath_alloc_live(), base);
  /* the name is free again */
  assert_int_equal(ath_engine_open("sqlite:///other.db", &cfg, &c, &err), ATH_OK);
  ath_engine_release(c);
  assert_int_equal(ath_alloc_live(), base);
}

static ath_engine *open_memory_cfg(ath_engine_config *cfg) {
  static const char *const k[] = { "busy_timeout" }, *const v[] = { "0" };
  cfg->ca_keys = k; cfg->ca_values = v; cfg->nca = 1;   /* a lock fails at once */
  ath_engine *e = NULL;
  ath_error err;
  assert_int_equal(ath_engine_open("sqlite://", cfg, &e, &err), ATH_OK);
  return e;
}

static int has_table(ath_conn *c, const char *name) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'", name);
  return (int)scalar_int(c, sql);
}

static void test_engine_memory_checkouts_have_their_own_connections(void **state) {
  (void)state;
  long base = ath_alloc_live();
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  ath_engine *e = open_memory_cfg(&cfg);
  ath_conn *a, *b;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &a, &err), ATH_OK);
  assert_int_equal(ath_engine_checkout(e, -1, &b, &err), ATH_OK);
  assert_ptr_not_equal(a, b);
  assert_ptr_not_equal(a->dc, b->dc);
  exec_ok(a, "CREATE TABLE t (x INTEGER)");
  exec_ok(a, "INSERT INTO t VALUES (1)");
  assert_int_equal(scalar_int(b, "SELECT count(*) FROM t"), 1);      /* one database */
  assert_int_equal(a->drv->begin(a->dc, ATH_ISO_DEFAULT, &err), ATH_OK);
  exec_ok(a, "INSERT INTO t VALUES (2)");
  assert_false(b->drv->in_transaction(b->dc));                       /* not joined */
  assert_int_equal(b->drv->exec(b->dc, "INSERT INTO t VALUES (3)", &err), ATH_E_OPERATIONAL);
  assert_non_null(strstr(err.message, "database is locked"));
  assert_int_equal(a->drv->rollback(a->dc, &err), ATH_OK);
  exec_ok(b, "INSERT INTO t VALUES (4)");
  assert_int_equal(scalar_int(a, "SELECT sum(x) FROM t"), 5);
  ath_engine_checkin(e, a);
  ath_engine_checkin(e, b);
  ath_engine_release(e);
  assert_int_equal(ath_alloc_live(), base);
}

static void test_engine_memory_data_lives_until_dispose(void **state) {
  (void)state;
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  cfg.pool.kind = ATH_POOL_NULL;             /* every checkin closes its connection */
  cfg.pool_kind_set = 1;
  ath_engine *e = open_memory_cfg(&cfg);
  ath_conn *c;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  exec_ok(c, "CREATE TABLE kept (x INTEGER)");
  ath_engine_checkin(e, c);
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  assert_int_equal(has_table(c, "kept"), 1);                         /* the anchor kept it */
  ath_engine_checkin(e, c);
  ath_engine_dispose(e);
  assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_OK);
  assert_int_equal(has_table(c, "kept"), 0);                         /* dispose dropped it */
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static void test_engine_two_memory_engines_do_not_share_data(void **state) {
  (void)state;
  ath_engine *e1 = open_memory(8), *e2 = open_memory(8);
  ath_conn *a, *b;
  ath_error err;
  assert_int_equal(ath_engine_checkout(e1, -1, &a, &err), ATH_OK);
  assert_int_equal(ath_engine_checkout(e2, -1, &b, &err), ATH_OK);
  exec_ok(a, "CREATE TABLE mine (x INTEGER)");
  assert_int_equal(has_table(b, "mine"), 0);
  ath_engine_checkin(e1, a);
  ath_engine_checkin(e2, b);
  ath_engine_release(e1);
  ath_engine_release(e2);
}

static void test_engine_refuses_options_out_of_range(void **state) {
  (void)state;
  long base = ath_alloc_live();
  ath_engine_config cfg;
  ath_engine *e = (ath_engine *)1;
  ath_error err;
  ath_engine_config_default(&cfg);
  cfg.stmt_cache_size = (size_t)-1;          /* what a negative int cast gives */
  assert_int_equal(ath_engine_open("sqlite://", &cfg, &e, &err), ATH_E_ARGUMENT);
  assert_null(e);
  assert_non_null(strstr(err.message, "statement_cache_size must be an integer between 0 and 1000000"));
  ath_engine_config_default(&cfg);
  cfg.pool.size = -2147483647 - 1;           /* 2^32 + 1 wrapped */
  assert_int_equal(ath_engine_open("sqlite:///x.db", &cfg, &e, &err), ATH_E_ARGUMENT);
  assert_non_null(strstr(err.message, "pool_size"));
  ath_engine_config_default(&cfg);
  static const char *const k[] = { "_memdb" }, *const v[] = { "/elsewhere" };
  cfg.ca_keys = k; cfg.ca_values = v; cfg.nca = 1;
  assert_int_equal(ath_engine_open("sqlite://", &cfg, &e, &err), ATH_E_ARGUMENT);
  assert_non_null(strstr(err.message, "reserved"));
  assert_int_equal(ath_alloc_live(), base);
}

static void test_engine_sqlite_busy_timeout_must_fit_an_int(void **state) {
  (void)state;
  static const char *const bad[] = { "4294967396", "-1", "99999999999999999999", "1.5", "nan" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ath_engine_config cfg;
    ath_engine_config_default(&cfg);
    const char *k[] = { "busy_timeout" }, *v[] = { bad[i] };
    cfg.ca_keys = k; cfg.ca_values = v; cfg.nca = 1;
    ath_engine *e;
    ath_conn *c = NULL;
    ath_error err;
    assert_int_equal(ath_engine_open("sqlite://", &cfg, &e, &err), ATH_OK);
    assert_int_equal(ath_engine_checkout(e, -1, &c, &err), ATH_E_ARGUMENT);
    assert_non_null(strstr(err.message, "between 0 and 2147483647"));
    ath_engine_release(e);
  }
}

static void test_engine_fault_injection_leaves_no_leak(void **state) {
  (void)state;
  long base = ath_alloc_live();
  for (long n = 0; n < 200; n++) {
    ath_engine_config cfg;
    ath_engine_config_default(&cfg);
    const char *k[] = { "busy_timeout" }, *v[] = { "100" };
    cfg.ca_keys = k; cfg.ca_values = v; cfg.nca = 1;
    ath_engine *e = NULL;
    ath_conn *c = NULL;
    ath_error err;
    ath_alloc_fail_after(n);
    ath_status st = ath_engine_open("sqlite://", &cfg, &e, &err);
    if (st == ATH_OK) st = ath_engine_checkout(e, -1, &c, &err);
    ath_cstmt *s = NULL;
    if (st == ATH_OK) st = ath_conn_stmt_acquire(c, "SELECT 1", 8, &s, &err);
    ath_alloc_fail_after(-1);
    if (st != ATH_OK) assert_true(err.message[0] != '\0');
    ath_conn_stmt_release(s);
    if (c) ath_engine_checkin(e, c);
    ath_engine_release(e);
    assert_int_equal(ath_alloc_live(), base);
    if (st == ATH_OK) return;               /* succeeded with no failure left to inject */
  }
  fail_msg("engine open never succeeded under fault injection");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_engine_rejects_a_malformed_url_naming_it),
    cmocka_unit_test(test_engine_rejects_an_unknown_dialect),
    cmocka_unit_test(test_engine_reuses_a_cached_statement),
    cmocka_unit_test(test_engine_prepares_a_second_statement_while_the_first_is_busy),
    cmocka_unit_test(test_engine_evicts_the_least_recently_used_statement),
    cmocka_unit_test(test_engine_evicting_a_busy_statement_defers_its_finalize),
    cmocka_unit_test(test_engine_checkin_rolls_back_an_open_transaction),
    cmocka_unit_test(test_engine_shares_a_named_engine),
    cmocka_unit_test(test_engine_memory_checkouts_have_their_own_connections),
    cmocka_unit_test(test_engine_memory_data_lives_until_dispose),
    cmocka_unit_test(test_engine_two_memory_engines_do_not_share_data),
    cmocka_unit_test(test_engine_refuses_options_out_of_range),
    cmocka_unit_test(test_engine_sqlite_busy_timeout_must_fit_an_int),
    cmocka_unit_test(test_engine_fault_injection_leaves_no_leak),
  };
  return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
