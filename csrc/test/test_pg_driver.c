/* test_pg_driver.c — the PostgreSQL driver against a real server. The URL
 * comes from ATHANOR_TEST_PG_URL (tools/test_pg.sh sets it inside
 * pg_virtualenv); without it every test fails, loudly, rather than skipping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <valgrind/valgrind.h>
#include "driver/ath_driver.h"
#include "base/ath_thread.h"

static const ath_driver *D = &ath_driver_postgresql;

static ath_dconn *connect_with(const char *extra_key, const char *extra_value, ath_status want, ath_error *err) {
  const char *url_text = getenv("ATHANOR_TEST_PG_URL");
  if (url_text == NULL || *url_text == '\0')
    fail_msg("ATHANOR_TEST_PG_URL is not set: run through `make test` (it starts a throwaway PostgreSQL)");
  ath_url *u = NULL;
  assert_int_equal(ath_url_parse(url_text, &u, err), ATH_OK);
  const char *k[1] = { extra_key }, *v[1] = { extra_value };
  ath_connect_opts o = { k, v, extra_key ? 1 : 0 };
  ath_dconn *c = NULL;
  ath_status st = D->connect(u, &o, &c, err);
  ath_url_free(u);
  if (st != want) fail_msg("connect: expected %d, got %d: %s", (int)want, (int)st, err->message);
  return c;
}

static ath_dconn *connect_ok(void) { ath_error err; return connect_with(NULL, NULL, ATH_OK, &err); }

static ath_dstmt *prep(ath_dconn *c, const char *sql) {
  ath_dstmt *s = NULL;
  ath_error err;
  if (D->prepare(c, sql, strlen(sql), &s, &err) != ATH_OK) fail_msg("%s: %s", sql, err.message);
  return s;
}

static void test_pg_driver_rejects_an_unknown_option_by_name(void **state) {
  (void)state;
  ath_error err;
  assert_null(connect_with("sslmood", "disable", ATH_E_ARGUMENT, &err));
  assert_non_null(strstr(err.message, "'sslmood'"));
}

static void test_pg_driver_round_trips_scalars_by_type(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT $1::int8, $2::float8, $3::bool, $4::text, $5::bytea, $6::numeric, $7::int4");
  assert_int_equal(D->param_count(s), 7);
  static const char blob[] = { 'a', 0, 'b', 0 };
  ath_value in[7];
  memset(in, 0, sizeof in);
  in[0] = (ath_value){ .type = ATH_V_INT, .u.i = INT64_MIN };
  in[1] = (ath_value){ .type = ATH_V_FLOAT, .u.f = 0.1 };
  in[2] = (ath_value){ .type = ATH_V_BOOL, .u.i = 1 };
  in[3] = (ath_value){ .type = ATH_V_TEXT, .u.s = { "h\xc3\xa9", 3 } };
  in[4] = (ath_value){ .type = ATH_V_BLOB, .u.s = { blob, sizeof blob } };
  in[5] = (ath_value){ .type = ATH_V_NUMERIC, .u.s = { "12.50", 5 } };
  in[6] = (ath_value){ .type = ATH_V_NULL };
  ath_error err;
  for (int i = 0; i < 7; i++) assert_int_equal(D->bind(s, i + 1, &in[i], &err), ATH_OK);
  if (D->step(s, &err) != ATH_ROW) fail_msg("step: %s", err.message);
  ath_value v;
  D->column(s, 0, &v); assert_int_equal(v.type, ATH_V_INT); assert_true(v.u.i == INT64_MIN);
  D->column(s, 1, &v); assert_int_equal(v.type, ATH_V_FLOAT); assert_true(v.u.f == 0.1);
  D->column(s, 2, &v); assert_int_equal(v.type, ATH_V_BOOL); assert_int_equal(v.u.i, 1);
  D->column(s, 3, &v); assert_int_equal(v.type, ATH_V_TEXT); assert_memory_equal(v.u.s.p, "h\xc3\xa9", 3);
  D->column(s, 4, &v); assert_int_equal(v.type, ATH_V_BLOB); assert_int_equal(v.u.s.n, sizeof blob);
  assert_memory_equal(v.u.s.p, blob, sizeof blob);
  D->column(s, 5, &v); assert_int_equal(v.type, ATH_V_NUMERIC); assert_int_equal(v.u.s.n, 5);
  D->column(s, 6, &v); assert_int_equal(v.type, ATH_V_NULL);
  assert_int_equal(D->step(s, &err), ATH_DONE);
  D->finalize(s);
  D->close(c);
}

static void test_pg_driver_maps_sqlstates_to_kinds(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_error err;
  ath_dstmt *s = NULL;
  assert_int_equal(D->prepare(c, "SELEC 1", 7, &s, &err), ATH_E_PROGRAMMING);
  assert_string_equal(err.sqlstate, "42601");
  s = prep(c, "SELECT 1 / 0");
  assert_int_equal(D->step(s, &err), ATH_E_DATA);
  assert_string_equal(err.sqlstate, "22012");
  assert_int_equal(err.disconnect, 0);
  D->finalize(s);
  D->close(c);
}

static void test_pg_driver_streams_a_million_rows_at_flat_memory(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT g FROM generate_series(1, 1000000) g");
  D->set_streaming(s, 1);
  ath_error err;
  long long n = 0, sum = 0;
  long rss0 = 0, rss_max = 0, pages;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) { if (fscanf(f, "%*d %ld", &pages) == 1) rss0 = rss_max = pages * 4; fclose(f); }
  ath_status st;
  while ((st = D->step(s, &err)) == ATH_ROW) {
    ath_value v;
    D->column(s, 0, &v);
    sum += v.u.i;
    if (++n % 100000 == 0 && (f = fopen("/proc/self/statm", "r"))) {
      if (fscanf(f, "%*d %ld", &pages) == 1 && pages * 4 > rss_max) rss_max = pages * 4;
      fclose(f);
    }
  }
  assert_int_equal(st, ATH_DONE);
  assert_int_equal(n, 1000000);
  assert_true(sum == 500000500000LL);
  /* < 16 MB growth for 1M rows (valgrind's shadow memory makes RSS meaningless) */
  if (!RUNNING_ON_VALGRIND) assert_true(rss_max - rss0 < 16 * 1024);
  D->finalize(s);
  D->close(c);
}

typedef struct canceller { ath_dconn *c; } canceller;
static void *cancel_soon(void *arg) {
  canceller *k = arg;
  usleep(200000);
  ath_error err;
  D->cancel(k->c, &err);
  return NULL;
}

static void test_pg_driver_cancel_from_another_thread_stops_a_statement(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT pg_sleep(10)");
  canceller k = { c };
  pthread_t t;
  pthread_create(&t, NULL, cancel_soon, &k);
  double t0 = ath_now_monotonic();
  ath_error err;
  assert_int_equal(D->step(s, &err), ATH_E_OPERATIONAL);
  assert_true(ath_now_monotonic() - t0 < 1.5);
  assert_string_equal(err.sqlstate, "57014");
  pthread_join(t, NULL);
  D->finalize(s);
  ath_status ping = D->ping(c, &err);
  assert_int_equal(ping, ATH_OK);                     /* the connection survives a cancel */
  D->close(c);
}

static void test_pg_driver_flags_a_terminated_backend_as_disconnected(void **state) {
  (void)state;
  ath_dconn *victim = connect_ok(), *admin = connect_ok();
  ath_dstmt *pid = prep(victim, "SELECT pg_backend_pid()");
  ath_error err;
  assert_int_equal(D->step(pid, &err), ATH_ROW);
  ath_value v;
  D->column(pid, 0, &v);
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", (long long)v.u.i);
  D->finalize(pid);
  assert_int_equal(D->exec(admin, sql, &err), ATH_OK);
  usleep(100000);
  ath_dstmt *s = NULL;
  ath_status st = D->prepare(victim, "SELECT 1", 8, &s, &err);
  if (st == ATH_OK) { st = D->step(s, &err); D->finalize(s); }
  assert_int_equal(st, ATH_E_OPERATIONAL);
  assert_int_equal(err.disconnect, 1);
  /* the server's goodbye, not libpq's later "server closed the connection" */
  assert_string_equal(err.sqlstate, "57P01");
  assert_non_null(strstr(err.message, "terminating connection due to administrator command"));
  assert_null(strchr(err.message, '\n'));
  assert_true(D->is_disconnect(victim, &err));
  assert_int_not_equal(D->ping(victim, &err), ATH_OK);
  D->close(victim);
  D->close(admin);
}

/* Runs "SELECT 1" on c: the connection still works. */
static void assert_usable(ath_dconn *c) {
  ath_dstmt *s = prep(c, "SELECT 1");
  ath_error err;
  assert_int_equal(D->step(s, &err), ATH_ROW);
  D->finalize(s);
}

static void test_pg_driver_refuses_sql_with_a_nul_byte_before_sending(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  static const char sql[] = "SELECT 1\0; SELECT pg_sleep(10)";
  ath_dstmt *s = NULL;
  ath_error err;
  assert_int_equal(D->prepare(c, sql, sizeof sql - 1, &s, &err), ATH_E_ARGUMENT);
  assert_null(s);
  assert_non_null(strstr(err.message, "NUL byte at offset 8"));
  assert_usable(c);
  D->close(c);
}

static void test_pg_driver_refuses_an_empty_statement_and_stays_usable(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  static const char *const empty[] = { "", "  \n\t", "-- note\n", "/* a /* nested */ note */", ";", " ; ;" };
  for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
    ath_dstmt *s = NULL;
    ath_error err;
    assert_int_equal(D->prepare(c, empty[i], strlen(empty[i]), &s, &err), ATH_E_ARGUMENT);
    assert_null(s);
    assert_string_equal(err.message, "empty SQL statement");
    assert_int_equal(err.disconnect, 0);
  }
  assert_usable(c);
  ath_dstmt *s = prep(c, "/* lead */ -- in\nSELECT 2");      /* comments before a statement are fine */
  D->finalize(s);
  D->close(c);
}

/* "SELECT $1::int, ..., $n::int" (caller frees). */
static char *many_params_sql(int n) {
  size_t cap = 16 + (size_t)n * 16, len = 0;
  char *sql = malloc(cap);
  len += (size_t)snprintf(sql + len, cap - len, "SELECT ARRAY[");
  for (int i = 1; i <= n; i++) len += (size_t)snprintf(sql + len, cap - len, "%s$%d::int", i > 1 ? "," : "", i);
  snprintf(sql + len, cap - len, "]");
  return sql;
}

static void test_pg_driver_refuses_placeholders_beyond_65535_by_name(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  const char *sql = "SELECT $1::int, $65536::int";
  ath_dstmt *s = NULL;
  ath_error err;
  assert_int_equal(D->prepare(c, sql, strlen(sql), &s, &err), ATH_E_OPERATIONAL);
  assert_null(s);
  assert_non_null(strstr(err.message, "$65536"));
  assert_non_null(strstr(err.message, "at most 65535"));
  assert_int_equal(err.disconnect, 0);
  assert_usable(c);
  /* $n inside literals, quoted names, dollar quotes and comments are no placeholders */
  sql = "SELECT $1::int, '$70000', E'\\' $70001' AS \"$70002\", $t$ $70003 $t$ -- $70004\n /* $70005 */";
  s = prep(c, sql);
  assert_int_equal(D->param_count(s), 1);
  D->finalize(s);
  /* unterminated literals, quotes and comments end the scan; the server judges them */
  static const char *const unterminated[] = { "SELECT E'ab\\", "SELECT 'ab", "SELECT \"ab", "SELECT $q$ ab $q",
                                              "SELECT 1 /* ab /* cd */", "SELECT $" };
  for (size_t i = 0; i < sizeof unterminated / sizeof *unterminated; i++) {
    s = NULL;
    assert_int_equal(D->prepare(c, unterminated[i], strlen(unterminated[i]), &s, &err), ATH_E_PROGRAMMING);
    assert_null(s);
  }
  assert_usable(c);
  D->close(c);
}

static void test_pg_driver_binds_more_parameters_than_libpq_can_describe(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  enum { N = 7499 };                      /* libpq reads at most 7498 parameter types */
  char *sql = many_params_sql(N);
  ath_dstmt *s = prep(c, sql);
  free(sql);
  assert_int_equal(D->param_count(s), N);
  ath_error err;
  for (int round = 0; round < 2; round++) {          /* the second round reuses the statement */
    for (int i = 1; i <= N; i++) {
      ath_value v = { .type = ATH_V_INT, .u.i = i };
      assert_int_equal(D->bind(s, i, &v, &err), ATH_OK);
    }
    assert_int_equal(D->step(s, &err), ATH_ROW);
    assert_int_equal(D->column_count(s), 1);
    ath_column_info info;
    D->column_info(s, 0, &info);
    assert_string_equal(info.name, "array");
    assert_int_equal(info.type_oid, 1007);              /* int4[] */
    ath_value out;
    D->column(s, 0, &out);
    assert_int_equal(out.type, ATH_V_ARRAY);
    assert_int_equal(out.u.arr.n, N);
    assert_int_equal(out.u.arr.items[N - 1].u.i, N);
    assert_int_equal(D->step(s, &err), ATH_DONE);
    D->reset(s);
  }
  D->finalize(s);
  assert_usable(c);
  D->close(c);
}

static void test_pg_driver_ends_a_copy_it_cannot_serve_and_stays_usable(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_error err;
  assert_int_equal(D->exec(c, "CREATE TEMP TABLE copy_t (i int)", &err), ATH_OK);
  static const char *const copies[] = { "COPY copy_t FROM STDIN", "COPY (SELECT 1) TO STDOUT" };
  for (size_t i = 0; i < 2; i++) {
    ath_dstmt *s = prep(c, copies[i]);
    assert_int_equal(D->step(s, &err), ATH_E_PROGRAMMING);
    assert_non_null(strstr(err.message, "is not supported"));
    D->finalize(s);
    assert_usable(c);
    assert_int_equal(D->exec(c, copies[i], &err), ATH_E_PROGRAMMING);   /* the simple protocol too */
    assert_usable(c);
  }
  D->close(c);
}

static void test_pg_driver_a_value_it_cannot_decode_is_out_of_memory_not_empty(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT '\\x00ff'::bytea, ARRAY['13:05:09+02'::timetz, NULL]");
  ath_error err;
  ath_value v;
  assert_int_equal(D->step(s, &err), ATH_ROW);
  for (int col = 0; col < 2; col++) {
    ath_alloc_fail_after(0);
    ath_status st = ath_driver_column(D, s, col, &v, &err);
    ath_alloc_fail_after(-1);
    assert_int_equal(st, ATH_E_NOMEM);
    assert_non_null(strstr(err.message, "out of memory"));
    assert_int_equal(v.type, ATH_V_NULL);
  }
  /* with memory: the bytes, and the array with the offset as +hh:mm */
  assert_int_equal(ath_driver_column(D, s, 0, &v, &err), ATH_OK);
  assert_int_equal(v.type, ATH_V_BLOB); assert_int_equal(v.u.s.n, 2);
  assert_memory_equal(v.u.s.p, "\0\xff", 2);
  assert_int_equal(ath_driver_column(D, s, 1, &v, &err), ATH_OK);
  assert_int_equal(v.type, ATH_V_ARRAY); assert_int_equal(v.u.arr.n, 2);
  assert_int_equal(v.u.arr.items[0].type, ATH_V_DATETIME);
  assert_int_equal(v.u.arr.items[0].u.s.n, 14);
  assert_memory_equal(v.u.arr.items[0].u.s.p, "13:05:09+02:00", 14);
  assert_int_equal(v.u.arr.items[1].type, ATH_V_NULL);
  D->finalize(s);
  D->close(c);
}

static void test_pg_driver_transactions_and_savepoints(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_error err;
  assert_int_equal(D->exec(c, "CREATE TEMP TABLE tx (x int)", &err), ATH_OK);
  assert_int_equal(D->begin(c, ATH_ISO_SERIALIZABLE, &err), ATH_OK);
  assert_true(D->in_transaction(c));
  assert_int_equal(D->exec(c, "INSERT INTO tx VALUES (1)", &err), ATH_OK);
  assert_int_equal(D->savepoint(c, "sp \"1\"", &err), ATH_OK);
  assert_int_equal(D->exec(c, "INSERT INTO tx VALUES (2)", &err), ATH_OK);
  assert_int_equal(D->rollback_to_savepoint(c, "sp \"1\"", &err), ATH_OK);
  assert_int_equal(D->commit(c, &err), ATH_OK);
  assert_false(D->in_transaction(c));
  ath_dstmt *s = prep(c, "SELECT count(*) FROM tx");
  assert_int_equal(D->step(s, &err), ATH_ROW);
  ath_value v;
  D->column(s, 0, &v);
  assert_int_equal(v.u.i, 1);
  D->finalize(s);
  D->close(c);
}

/* Bind v to $1 of s, step, and return the first column of the row (valid
 * until the next step). */
static ath_value run_one(ath_dstmt *s, ath_value v, ath_column_info *info) {
  ath_error err;
  assert_int_equal(D->bind(s, 1, &v, &err), ATH_OK);
  if (D->step(s, &err) != ATH_ROW) fail_msg("step: %s", err.message);
  ath_value out;
  assert_int_equal(ath_driver_column(D, s, 0, &out, &err), ATH_OK);
  D->column_info(s, 0, info);
  return out;
}

static void test_pg_driver_types_each_parameter_by_its_value(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT $1 AS v");
  ath_column_info info;
  /* one statement, run with every kind in turn and back: each comes back as itself */
  for (int round = 0; round < 2; round++) {
    ath_value v = run_one(s, (ath_value){ .type = ATH_V_INT, .u.i = 5 }, &info);
    assert_int_equal(v.type, ATH_V_INT); assert_int_equal(v.u.i, 5);
    assert_int_equal(info.type_oid, 23);                       /* int4: repeat(text, int4) resolves */
    D->reset(s);
    v = run_one(s, (ath_value){ .type = ATH_V_INT, .u.i = 5000000000LL }, &info);
    assert_int_equal(v.type, ATH_V_INT); assert_true(v.u.i == 5000000000LL);
    assert_int_equal(info.type_oid, 20);
    D->reset(s);
    v = run_one(s, (ath_value){ .type = ATH_V_FLOAT, .u.f = 2.5 }, &info);
    assert_int_equal(v.type, ATH_V_FLOAT); assert_true(v.u.f == 2.5);
    D->reset(s);
    v = run_one(s, (ath_value){ .type = ATH_V_BOOL, .u.i = 1 }, &info);
    assert_int_equal(v.type, ATH_V_BOOL); assert_int_equal(v.u.i, 1);
    D->reset(s);
    v = run_one(s, (ath_value){ .type = ATH_V_BLOB, .u.s = { "a\0b", 3 } }, &info);
    assert_int_equal(v.type, ATH_V_BLOB); assert_int_equal(v.u.s.n, 3); assert_memory_equal(v.u.s.p, "a\0b", 3);
    D->reset(s);
    v = run_one(s, (ath_value){ .type = ATH_V_TEXT, .u.s = { "abc", 3 } }, &info);
    assert_int_equal(v.type, ATH_V_TEXT); assert_int_equal(info.type_oid, 25);   /* left to the server: text */
    D->reset(s);
    v = run_one(s, (ath_value){ .type = ATH_V_NULL }, &info);
    assert_int_equal(v.type, ATH_V_NULL);
    D->reset(s);
  }
  D->finalize(s);
  /* what the server cannot type without the values: $1 + $2 */
  s = prep(c, "SELECT $1 + $2");
  ath_error err;
  ath_value a = { .type = ATH_V_INT, .u.i = 3 }, b = { .type = ATH_V_FLOAT, .u.f = 0.5 };
  assert_int_equal(D->bind(s, 1, &a, &err), ATH_OK);
  assert_int_equal(D->bind(s, 2, &b, &err), ATH_OK);
  assert_int_equal(D->step(s, &err), ATH_ROW);
  ath_value out;
  D->column(s, 0, &out);
  assert_int_equal(out.type, ATH_V_FLOAT); assert_true(out.u.f == 3.5);
  D->finalize(s);
  assert_usable(c);
  D->close(c);
}

static void test_pg_driver_reports_a_bad_statement_with_parameters_at_its_first_step(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELEC $1");                 /* parsed with its values' types: at the first step */
  ath_error err;
  ath_value v = { .type = ATH_V_INT, .u.i = 1 };
  assert_int_equal(D->bind(s, 1, &v, &err), ATH_OK);
  assert_int_equal(D->step(s, &err), ATH_E_PROGRAMMING);
  assert_string_equal(err.sqlstate, "42601");
  D->reset(s);
  assert_int_equal(D->bind(s, 1, &v, &err), ATH_OK);
  assert_int_equal(D->step(s, &err), ATH_E_PROGRAMMING);   /* again, the same way */
  D->finalize(s);
  assert_usable(c);
  D->close(c);
}

/* Rows of kinds for a batch; bind_next binds them in turn into $1. */
typedef struct kinds_src { const ath_value *rows; int n, next; } kinds_src;

static ath_status bind_kinds(void *ud, ath_dstmt *s, ath_error *err) {
  kinds_src *k = ud;
  if (k->next == k->n) return ATH_DONE;
  ath_status st = D->bind(s, 1, &k->rows[k->next++], err);
  return st == ATH_OK ? ATH_ROW : st;
}

/* A parameter's text is kept in the statement when it is short (numbers,
 * booleans, strings under PG_SHORT_PARAM bytes) and in a copy of its own
 * otherwise; one parameter bound in turn with every kind, across the
 * boundary both ways, sends each value as it is (valgrind: nothing freed
 * twice, nothing lost). */
static void test_pg_driver_binds_short_and_long_values_into_one_parameter(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT $1::text");
  char s31[32], s32[33], s1000[1001];
  memset(s31, 'a', 31); s31[31] = '\0';
  memset(s32, 'b', 32); s32[32] = '\0';
  memset(s1000, 'c', 1000); s1000[1000] = '\0';
  const struct { ath_value v; const char *want; } cases[] = {
    { { .type = ATH_V_INT, .u.i = INT64_MIN }, "-9223372036854775808" },
    { { .type = ATH_V_TEXT, .u.s = { s1000, 1000 } }, s1000 },
    { { .type = ATH_V_INT, .u.i = INT64_MAX }, "9223372036854775807" },
    { { .type = ATH_V_INT, .u.i = 0 }, "0" },
    { { .type = ATH_V_TEXT, .u.s = { s32, 32 } }, s32 },
    { { .type = ATH_V_TEXT, .u.s = { s31, 31 } }, s31 },
    { { .type = ATH_V_INT, .u.i = -1 }, "-1" },
    { { .type = ATH_V_FLOAT, .u.f = 0.1 }, "0.1" },                      /* %.17g, read back as float8 */
    { { .type = ATH_V_NUMERIC, .u.s = { "12.50", 5 } }, "12.50" },
    { { .type = ATH_V_FLOAT, .u.f = -1.0 / 0.0 }, "-Infinity" },
    { { .type = ATH_V_BOOL, .u.i = 1 }, "true" },
    { { .type = ATH_V_TEXT, .u.s = { "", 0 } }, "" },
    { { .type = ATH_V_NULL }, NULL },
    { { .type = ATH_V_TEXT, .u.s = { s32, 32 } }, s32 },
  };
  ath_error err;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (D->bind(s, 1, &cases[i].v, &err) != ATH_OK) fail_msg("case %zu: bind: %s", i, err.message);
    if (D->step(s, &err) != ATH_ROW) fail_msg("case %zu: step: %s", i, err.message);
    ath_value v;
    D->column(s, 0, &v);
    if (cases[i].want == NULL) {
      assert_int_equal(v.type, ATH_V_NULL);
    } else {
      assert_int_equal(v.type, ATH_V_TEXT);
      if (v.u.s.n != strlen(cases[i].want) || memcmp(v.u.s.p, cases[i].want, v.u.s.n) != 0)
        fail_msg("case %zu: sent '%.*s', want '%s'", i, (int)v.u.s.n, v.u.s.p, cases[i].want);
    }
    D->reset(s);
  }
  D->finalize(s);
  D->close(c);
}

static void test_pg_driver_runs_a_batch_whose_rows_differ_in_type(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_error err;
  assert_int_equal(D->exec(c, "CREATE TEMP TABLE kinds (x bigint)", &err), ATH_OK);
  ath_dstmt *s = prep(c, "INSERT INTO kinds VALUES ($1)");
  const ath_value rows[] = {
    { .type = ATH_V_INT, .u.i = 1 }, { .type = ATH_V_INT, .u.i = 5000000000LL }, { .type = ATH_V_NULL },
    { .type = ATH_V_INT, .u.i = 2 }, { .type = ATH_V_TEXT, .u.s = { "3", 1 } }, { .type = ATH_V_INT, .u.i = 4 },
  };
  kinds_src src = { rows, 6, 0 };
  int64_t changes = 0;
  long failed = -1;
  assert_int_equal(D->execute_batch(s, bind_kinds, &src, &changes, &failed, &err), ATH_OK);
  assert_int_equal(changes, 6);
  /* a row the server refuses is named by its index, after rows of other types went through */
  const ath_value bad[] = { { .type = ATH_V_INT, .u.i = 7 }, { .type = ATH_V_NULL }, { .type = ATH_V_TEXT, .u.s = { "x", 1 } } };
  kinds_src src2 = { bad, 3, 0 };
  assert_int_equal(D->execute_batch(s, bind_kinds, &src2, &changes, &failed, &err), ATH_E_DATA);
  assert_int_equal(failed, 2);
  D->finalize(s);
  s = prep(c, "SELECT sum(x), count(*) FROM kinds");
  assert_int_equal(D->step(s, &err), ATH_ROW);
  ath_value v;
  D->column(s, 0, &v);
  assert_int_equal(v.type, ATH_V_NUMERIC);
  assert_memory_equal(v.u.s.p, "5000000010", 10);     /* 1+5e9+2+3+4: the failed batch ran as one (pipelined) unit */
  D->finalize(s);
  D->close(c);
}

static void test_pg_driver_keeps_a_bounded_number_of_typed_statements(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT $1::text, $2::text");
  ath_error err;
  const ath_value kinds[] = { { .type = ATH_V_INT, .u.i = 1 }, { .type = ATH_V_INT, .u.i = 5000000000LL },
                              { .type = ATH_V_FLOAT, .u.f = 0.5 }, { .type = ATH_V_BOOL, .u.i = 0 } };
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 4; i++) {                      /* 16 sets of types */
      for (int j = 0; j < 4; j++) {
        assert_int_equal(D->bind(s, 1, &kinds[i], &err), ATH_OK);
        assert_int_equal(D->bind(s, 2, &kinds[j], &err), ATH_OK);
        if (D->step(s, &err) != ATH_ROW) fail_msg("step: %s", err.message);
        D->reset(s);
      }
    }
  }
  ath_dstmt *count = prep(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::text, $2::text'");
  assert_int_equal(D->step(count, &err), ATH_ROW);
  ath_value v;
  D->column(count, 0, &v);
  assert_int_equal(v.u.i, 8);                          /* PG_MAX_VARIANTS: the least recently used went */
  D->finalize(count);
  D->finalize(s);
  count = prep(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::text, $2::text'");
  assert_int_equal(D->step(count, &err), ATH_ROW);
  D->column(count, 0, &v);
  assert_int_equal(v.u.i, 0);                          /* finalize deallocates every one */
  D->finalize(count);
  D->close(c);
}

static void test_pg_driver_a_typed_statement_out_of_memory_fails_cleanly(void **state) {
  (void)state;
  ath_dconn *c = connect_ok();
  ath_dstmt *s = prep(c, "SELECT $1 AS v");
  ath_error err;
  ath_value v = { .type = ATH_V_INT, .u.i = 5 };
  for (int n = 0; n < 3; n++) {                        /* the variant, its key */
    assert_int_equal(D->bind(s, 1, &v, &err), ATH_OK);
    ath_alloc_fail_after(n);
    ath_status st = D->step(s, &err);
    ath_alloc_fail_after(-1);
    if (st == ATH_ROW) break;
    assert_int_equal(st, ATH_E_NOMEM);
    D->reset(s);
  }
  D->reset(s);
  ath_column_info info;
  ath_value out = run_one(s, v, &info);
  assert_int_equal(out.type, ATH_V_INT); assert_int_equal(out.u.i, 5);
  D->finalize(s);
  D->close(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_pg_driver_rejects_an_unknown_option_by_name),
    cmocka_unit_test(test_pg_driver_round_trips_scalars_by_type),
    cmocka_unit_test(test_pg_driver_maps_sqlstates_to_kinds),
    cmocka_unit_test(test_pg_driver_streams_a_million_rows_at_flat_memory),
    cmocka_unit_test(test_pg_driver_cancel_from_another_thread_stops_a_statement),
    cmocka_unit_test(test_pg_driver_flags_a_terminated_backend_as_disconnected),
    cmocka_unit_test(test_pg_driver_transactions_and_savepoints),
    cmocka_unit_test(test_pg_driver_a_value_it_cannot_decode_is_out_of_memory_not_empty),
    cmocka_unit_test(test_pg_driver_refuses_sql_with_a_nul_byte_before_sending),
    cmocka_unit_test(test_pg_driver_refuses_an_empty_statement_and_stays_usable),
    cmocka_unit_test(test_pg_driver_refuses_placeholders_beyond_65535_by_name),
    cmocka_unit_test(test_pg_driver_binds_more_parameters_than_libpq_can_describe),
    cmocka_unit_test(test_pg_driver_ends_a_copy_it_cannot_serve_and_stays_usable),
    cmocka_unit_test(test_pg_driver_types_each_parameter_by_its_value),
    cmocka_unit_test(test_pg_driver_reports_a_bad_statement_with_parameters_at_its_first_step),
    cmocka_unit_test(test_pg_driver_runs_a_batch_whose_rows_differ_in_type),
    cmocka_unit_test(test_pg_driver_binds_short_and_long_values_into_one_parameter),
    cmocka_unit_test(test_pg_driver_keeps_a_bounded_number_of_typed_statements),
    cmocka_unit_test(test_pg_driver_a_typed_statement_out_of_memory_fails_cleanly),
  };
  return cmocka_run_group_tests_name("pg_driver", tests, NULL, NULL);
}
