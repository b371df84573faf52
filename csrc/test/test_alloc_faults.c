/* test_alloc_faults.c — the allocation-failure sweep. Each scenario is a
 * whole workload of one unit (URL parser, SQLite driver, PostgreSQL driver,
 * pool, engine, compiler) that frees everything it made on every path. The
 * sweep runs it once clean and counts its allocations (ath_alloc_count),
 * then runs it again once per allocation index n = 0 .. count-1 with the
 * (n+1)th allocation failing (ath_alloc_fail_after). Every run must end in
 * ATH_OK with the right results (a failure the code absorbed, e.g. a cache
 * that skips an entry) or in ATH_E_NOMEM saying "out of memory"; never
 * another status, a wrong value, a crash or a leaked block (ath_alloc_live
 * back to its baseline; valgrind checks the rest: make valgrind).
 *
 * PostgreSQL: the driver sweep runs when ATHANOR_TEST_PG_URL names a server
 * (tools/test_pg.sh sets it); without one that test is skipped and says so,
 * since `make test` runs this executable outside the throwaway server too.
 * Every index is swept. ATHANOR_ALLOC_SWEEP_STRIDE=k visits every kth index
 * only (a quick look); under valgrind ATHANOR_ALLOC_SWEEP_VALGRIND_STRIDE
 * does the same for valgrind runs alone. ATHANOR_ALLOC_SWEEP_TESTS=pattern
 * runs the matching tests only (cmocka's filter, e.g. "*postgresql*": what
 * tools/test_pg.sh adds to the sweep make test runs without a server). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <valgrind/valgrind.h>
#include "base/ath_url.h"
#include "driver/ath_driver.h"
#include "engine/ath_engine.h"
#include "sql/ath_sql.h"

/* ------------------------------------------------------------ the sweep */

typedef ath_status (*scenario_fn)(void *ctx, ath_error *err);

static long env_long(const char *name, long dflt) {
  const char *s = getenv(name);
  long v = s && *s ? strtol(s, NULL, 10) : dflt;
  return v > 0 ? v : dflt;
}

static long sweep_stride(void) {
  long stride = env_long("ATHANOR_ALLOC_SWEEP_STRIDE", 1);
  if (RUNNING_ON_VALGRIND) stride = env_long("ATHANOR_ALLOC_SWEEP_VALGRIND_STRIDE", stride);
  return stride;
}

/* Run `run` clean, then with each of its allocations failing in turn. */
static void sweep(const char *name, scenario_fn run, void *ctx) {
  ath_error err;
  ath_error_clear(&err);
  ath_alloc_fail_after(-1);
  long base = ath_alloc_live();
  long before = ath_alloc_count();
  ath_status st = run(ctx, &err);
  long total = ath_alloc_count() - before;
  if (st != ATH_OK) fail_msg("%s: the clean run failed (%d): %s", name, (int)st, err.message);
  if (ath_alloc_live() != base) fail_msg("%s: the clean run leaked %ld block(s)", name, ath_alloc_live() - base);
  assert_true(total > 0);
  long stride = sweep_stride(), failed = 0, absorbed = 0, unreached = 0, bad = 0;
  for (long n = 0; n < total; n += stride) {
    ath_error_clear(&err);
    long start = ath_alloc_count();
    ath_alloc_fail_after(n);
    st = run(ctx, &err);
    ath_alloc_fail_after(-1);
    long made = ath_alloc_count() - start;
    long leaked = ath_alloc_live() - base;
    /* every finding is printed; the test fails after the whole sweep */
    if (leaked != 0) {
      print_error("%s: failing allocation %ld of %ld leaked %ld block(s) (status %d: %s)\n", name, n + 1, total,
                  leaked, (int)st, err.message);
      bad++;
      base = ath_alloc_live();
    }
    if (made <= n) { unreached++; continue; }  /* this run took another path with fewer allocations */
    if (st == ATH_OK) { absorbed++; continue; }
    if (st != ATH_E_NOMEM) {
      print_error("%s: failing allocation %ld of %ld gave status %d (%s), not ATH_E_NOMEM: %s\n", name, n + 1,
                  total, (int)st, ath_error_kind_name(st), err.message);
      bad++;
    } else if (strstr(err.message, "out of memory") == NULL) {
      print_error("%s: failing allocation %ld of %ld: ATH_E_NOMEM says '%s'\n", name, n + 1, total, err.message);
      bad++;
    } else {
      failed++;
    }
  }
  print_message("%s: %ld allocations swept (stride %ld): %ld failed cleanly, %ld absorbed, %ld not reached, "
                "%ld wrong\n", name, total, stride, failed, absorbed, unreached, bad);
  if (bad) fail_msg("%s: %ld failing allocation(s) misbehaved (listed above)", name, bad);
  assert_true(failed > 0);
}

/* A wrong result under fault injection is reported as this status, which the
 * sweep never accepts. */
#define WRONG(err, ...) ath_error_set((err), ATH_E_DATA, __VA_ARGS__)
#define TRY(expr) do { st = (expr); if (st != ATH_OK) goto out; } while (0)
#define STEP(stmt, want) do { st = step_expect(D, (stmt), (want), err); if (st != ATH_OK) goto out; } while (0)

/* Step once and expect `want` (ATH_ROW or ATH_DONE): ATH_OK, an error
 * status, or WRONG for the other non-error result. */
static ath_status step_expect(const ath_driver *D, ath_dstmt *s, ath_status want, ath_error *err) {
  ath_status st = D->step(s, err);
  if (st == want) return ATH_OK;
  if (st == ATH_ROW || st == ATH_DONE || st == ATH_OK) return WRONG(err, "step gave %d, expected %d", (int)st, (int)want);
  return st;
}

/* ------------------------------------------------------------------ URL */

static ath_status url_scenario(void *ctx, ath_error *err) {
  (void)ctx;
  static const char *urls[] = {
    "postgresql://us%40er:p%3Ass@[::1]:5433/db%2Fx?sslmode=disable&application_name=probe",
    "postgresql://user@/db?host=%2Fvar%2Frun%2Fpostgresql",
    "sqlite:////tmp/some%20file.db",
    "sqlite://",
  };
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    ath_url *u = NULL;
    ath_status st = ath_url_parse(urls[i], &u, err);
    ath_url_free(u);
    if (st != ATH_OK) return st;
  }
  return ATH_OK;
}

static void test_alloc_faults_url_parser(void **state) {
  (void)state;
  sweep("url", url_scenario, NULL);
}

/* --------------------------------------------------------------- drivers */

typedef struct driver_case {
  const ath_driver *drv;
  const char *url;
  const char *create;          /* the table af (i, f, t, b, n, j, d) */
  const char *insert;          /* 7 placeholders */
  const char *select;          /* i, f, t, b, n ordered by i */
  const char *const *ca_keys, *const *ca_values;
  int nca;
} driver_case;

static const char BLOB[] = { 'a', 0, 'b', '\xff', 0 };

static void row_values(ath_value v[7], int64_t i) {
  memset(v, 0, 7 * sizeof *v);
  v[0] = (ath_value){ .type = ATH_V_INT, .u.i = i };
  v[1] = (ath_value){ .type = ATH_V_FLOAT, .u.f = 0.5 + (double)i };
  v[2] = (ath_value){ .type = ATH_V_TEXT, .u.s = { "h\xc3\xa9llo", 6 } };
  v[3] = (ath_value){ .type = ATH_V_BLOB, .u.s = { BLOB, sizeof BLOB } };
  v[4] = (ath_value){ .type = ATH_V_NUMERIC, .u.s = { "12.50", 5 } };
  v[5] = (ath_value){ .type = ATH_V_JSON, .u.s = { "{\"a\": [1, 2]}", 13 } };
  v[6] = (ath_value){ .type = ATH_V_DATETIME, .u.s = { "2026-11-24 13:05:09", 19 } };
}

typedef struct batch_state { int next, count; } batch_state;
static const ath_driver *sweep_driver;   /* the driver bind_next binds through */

static ath_status bind_next(void *ud, ath_dstmt *s, ath_error *err) {
  batch_state *b = ud;
  if (b->next >= b->count) return ATH_DONE;
  ath_value v[7];
  row_values(v, 100 + b->next++);
  for (int k = 0; k < 7; k++) {
    ath_status st = sweep_driver->bind(s, k + 1, &v[k], err);
    if (st != ATH_OK) return st;
  }
  return ATH_ROW;
}

/* Read column k into v through the checked read, returning its failure. */
#define COLUMN(k) do { st = ath_driver_column(D, s, (k), &v, err); if (st != ATH_OK) return st; } while (0)

/* Checks one row of the select (i, f, t, b, n) against row_values(i). A
 * value that could not be decoded is ATH_E_NOMEM, never a wrong value. */
static ath_status check_row(const ath_driver *D, ath_dstmt *s, int64_t i, ath_error *err) {
  ath_value v;
  ath_status st;
  COLUMN(0);
  if (v.type != ATH_V_INT || v.u.i != i) return WRONG(err, "row %lld: i differs", (long long)i);
  COLUMN(1);
  if (v.type != ATH_V_FLOAT || v.u.f != 0.5 + (double)i) return WRONG(err, "row %lld: f differs", (long long)i);
  COLUMN(2);
  if (v.u.s.n != 6 || memcmp(v.u.s.p, "h\xc3\xa9llo", 6) != 0) return WRONG(err, "row %lld: t differs", (long long)i);
  COLUMN(3);
  if (v.type != ATH_V_BLOB || v.u.s.n != sizeof BLOB || memcmp(v.u.s.p, BLOB, sizeof BLOB) != 0)
    return WRONG(err, "row %lld: the blob differs (%zu bytes)", (long long)i, v.u.s.n);
  COLUMN(4);
  if (v.u.s.n < 4 || memcmp(v.u.s.p, "12.5", 4) != 0) return WRONG(err, "row %lld: n differs", (long long)i);
  return ATH_OK;
}

static ath_status driver_scenario(void *ctx, ath_error *err) {
  const driver_case *dc = ctx;
  const ath_driver *D = dc->drv;
  sweep_driver = D;
  ath_url *u = NULL;
  ath_dconn *c = NULL;
  ath_dstmt *ins = NULL, *sel = NULL;
  ath_status st;
  TRY(ath_url_parse(dc->url, &u, err));
  ath_connect_opts opts = { dc->ca_keys, dc->ca_values, dc->nca };
  TRY(D->connect(u, &opts, &c, err));
  TRY(D->exec(c, dc->create, err));
  TRY(D->prepare(c, dc->insert, strlen(dc->insert), &ins, err));
  if (D->param_count(ins) != 7) { st = WRONG(err, "insert takes %d parameters", D->param_count(ins)); goto out; }
  for (int64_t i = 1; i <= 2; i++) {
    ath_value v[7];
    row_values(v, i);
    for (int k = 0; k < 7; k++) TRY(D->bind(ins, k + 1, &v[k], err));
    STEP(ins, ATH_DONE);
    if (D->changes(ins) != 1) { st = WRONG(err, "insert changed %lld rows", (long long)D->changes(ins)); goto out; }
    D->reset(ins);
  }
  if (D->execute_batch) {
    batch_state b = { 0, 3 };
    int64_t changes = 0;
    long failed_index = -1;
    TRY(D->execute_batch(ins, bind_next, &b, &changes, &failed_index, err));
    if (changes != 3) { st = WRONG(err, "the batch changed %lld rows", (long long)changes); goto out; }
    D->reset(ins);
  }
  /* a savepoint rolled back inside a committed transaction */
  TRY(D->begin(c, ATH_ISO_DEFAULT, err));
  TRY(D->savepoint(c, "sp_1", err));
  {
    ath_value v[7];
    row_values(v, 99);
    for (int k = 0; k < 7; k++) TRY(D->bind(ins, k + 1, &v[k], err));
    STEP(ins, ATH_DONE);
    D->reset(ins);
  }
  TRY(D->rollback_to_savepoint(c, "sp_1", err));
  TRY(D->release_savepoint(c, "sp_1", err));
  if (!D->in_transaction(c)) { st = WRONG(err, "not in a transaction after begin"); goto out; }
  TRY(D->commit(c, err));
  TRY(D->ping(c, err));
  /* read everything back, once plain and once streaming */
  for (int pass = 0; pass < 2; pass++) {
    TRY(D->prepare(c, dc->select, strlen(dc->select), &sel, err));
    if (pass == 1 && D->set_streaming) D->set_streaming(sel, 1);
    if (D->column_count(sel) != 5) { st = WRONG(err, "the select has %d columns", D->column_count(sel)); goto out; }
    ath_column_info ci;
    D->column_info(sel, 2, &ci);
    if (strcmp(ci.name, "t") != 0) { st = WRONG(err, "column 2 is named '%s'", ci.name); goto out; }
    int64_t want[] = { 1, 2, 100, 101, 102 };
    int nwant = D->execute_batch ? 5 : 2;
    for (int r = 0; r < nwant; r++) {
      STEP(sel, ATH_ROW);
      TRY(check_row(D, sel, want[r], err));
    }
    STEP(sel, ATH_DONE);
    D->finalize(sel);
    sel = NULL;
  }
  st = ATH_OK;
out:
  D->finalize(sel);
  D->finalize(ins);
  D->close(c);
  ath_url_free(u);
  return st;
}

static const char *const SQ_KEYS[] = { "busy_timeout", "foreign_keys" };
static const char *const SQ_VALUES[] = { "100", "on" };

static void test_alloc_faults_sqlite_driver(void **state) {
  (void)state;
  driver_case dc = {
    &ath_driver_sqlite, "sqlite://",
    "CREATE TABLE af (i INTEGER, f REAL, t TEXT, b BLOB, n TEXT, j JSON, d DATETIME)",
    "INSERT INTO af VALUES (?, ?, ?, ?, ?, ?, ?)",
    "SELECT i, f, t, b, n FROM af ORDER BY i",
    SQ_KEYS, SQ_VALUES, 2,
  };
  sweep("sqlite driver", driver_scenario, &dc);
}

static void test_alloc_faults_postgresql_driver(void **state) {
  (void)state;
  const char *url = getenv("ATHANOR_TEST_PG_URL");
  if (url == NULL || *url == '\0') {
    print_message("postgresql driver: SKIPPED, ATHANOR_TEST_PG_URL is not set (tools/test_pg.sh sets it)\n");
    skip();
  }
  driver_case dc = {
    &ath_driver_postgresql, url,
    "CREATE TEMP TABLE af (i int8, f float8, t text, b bytea, n numeric, j jsonb, d timestamp)",
    "INSERT INTO af VALUES ($1, $2, $3, $4, $5, $6, $7)",
    "SELECT i, f, t, b, n FROM af ORDER BY i",
    NULL, NULL, 0,
  };
  sweep("postgresql driver", driver_scenario, &dc);
}

/* Every PostgreSQL result decoder that allocates: bytea (hex), a time's
 * "+00" offset widened to "+00:00", arrays (their items and element texts,
 * bytea elements decoded again). */
static ath_status pg_decoders_scenario(void *ctx, ath_error *err) {
  static const char SQL[] = "SELECT '\\x00ff41'::bytea, '13:05:09+00'::timetz, ARRAY['a', 'b\"c', NULL]::text[], "
                            "ARRAY['\\x0001'::bytea, '\\x'::bytea], ARRAY['13:05:09+02'::timetz]";
  const ath_driver *D = &ath_driver_postgresql;
  ath_url *u = NULL;
  ath_dconn *c = NULL;
  ath_dstmt *s = NULL;
  ath_value v;
  ath_status st;
  TRY(ath_url_parse(ctx, &u, err));
  TRY(D->connect(u, NULL, &c, err));
  TRY(D->prepare(c, SQL, strlen(SQL), &s, err));
  STEP(s, ATH_ROW);
#define CHECK(cond, what) do { if (!(cond)) { st = WRONG(err, "%s differs", what); goto out; } } while (0)
  TRY(ath_driver_column(D, s, 0, &v, err));
  CHECK(v.type == ATH_V_BLOB && v.u.s.n == 3 && memcmp(v.u.s.p, "\0\xff" "A", 3) == 0, "the bytea");
  TRY(ath_driver_column(D, s, 1, &v, err));
  CHECK(v.type == ATH_V_DATETIME && v.u.s.n == 14 && memcmp(v.u.s.p, "13:05:09+00:00", 14) == 0, "the timetz");
  TRY(ath_driver_column(D, s, 2, &v, err));
  CHECK(v.type == ATH_V_ARRAY && v.u.arr.n == 3 && v.u.arr.items[0].type == ATH_V_TEXT &&
        v.u.arr.items[1].u.s.n == 3 && memcmp(v.u.arr.items[1].u.s.p, "b\"c", 3) == 0 &&
        v.u.arr.items[2].type == ATH_V_NULL, "the text[]");
  TRY(ath_driver_column(D, s, 3, &v, err));
  CHECK(v.type == ATH_V_ARRAY && v.u.arr.n == 2 && v.u.arr.items[0].type == ATH_V_BLOB &&
        v.u.arr.items[0].u.s.n == 2 && memcmp(v.u.arr.items[0].u.s.p, "\0\1", 2) == 0 &&
        v.u.arr.items[1].type == ATH_V_BLOB && v.u.arr.items[1].u.s.n == 0, "the bytea[]");
  TRY(ath_driver_column(D, s, 4, &v, err));
  CHECK(v.type == ATH_V_ARRAY && v.u.arr.n == 1 && v.u.arr.items[0].u.s.n == 14 &&
        memcmp(v.u.arr.items[0].u.s.p, "13:05:09+02:00", 14) == 0, "the timetz[]");
#undef CHECK
  STEP(s, ATH_DONE);
out:
  D->finalize(s);
  D->close(c);
  ath_url_free(u);
  return st;
}

static void test_alloc_faults_postgresql_decoders(void **state) {
  (void)state;
  const char *url = getenv("ATHANOR_TEST_PG_URL");
  if (url == NULL || *url == '\0') {
    print_message("postgresql decoders: SKIPPED, ATHANOR_TEST_PG_URL is not set (tools/test_pg.sh sets it)\n");
    skip();
  }
  sweep("postgresql decoders", pg_decoders_scenario, (void *)url);
}

/* ------------------------------------------------------------------ pool */

typedef struct fake_world { int open; } fake_world;

static ath_status f_connect(void *ud, void **out, ath_error *err) {
  fake_world *w = ud;
  int *conn = ath_malloc(sizeof *conn);
  if (conn == NULL) return ath_error_nomem(err);
  *conn = ++w->open;
  *out = conn;
  return ATH_OK;
}
static void f_close(void *ud, void *conn) { ((fake_world *)ud)->open--; ath_free(conn); }
static ath_status f_ping(void *ud, void *conn, ath_error *err) { (void)ud; (void)conn; (void)err; return ATH_OK; }
static ath_status f_reset(void *ud, void *conn, ath_error *err) { (void)ud; (void)conn; (void)err; return ATH_OK; }
static const ath_pool_ops FAKE_OPS = { f_connect, f_close, f_ping, f_reset, NULL };

static ath_status pool_scenario(void *ctx, ath_error *err) {
  ath_pool_kind kind = *(ath_pool_kind *)ctx;
  fake_world w = { 0 };
  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.kind = kind; cfg.size = 2; cfg.max_overflow = 1; cfg.timeout = 0.001; cfg.pre_ping = 1;
  ath_pool *p = ath_pool_new(&cfg, &FAKE_OPS, &w, err);
  if (p == NULL) return err->kind != ATH_OK ? err->kind : ath_error_nomem(err);
  void *held[4] = { NULL, NULL, NULL, NULL };
  ath_status st = ATH_OK;
  int want = kind == ATH_POOL_STATIC ? 1 : 3;
  for (int i = 0; i < want; i++) TRY(ath_pool_checkout(p, -1, &held[i], err));
  if (kind == ATH_POOL_QUEUE) {
    /* exhausted: a documented timeout, not a fault */
    ath_status t = ath_pool_checkout(p, 0.001, &held[3], err);
    if (t == ATH_E_NOMEM) { st = t; goto out; }
    if (t != ATH_E_POOL_TIMEOUT) { st = WRONG(err, "an exhausted pool gave %d", (int)t); goto out; }
    ath_error_clear(err);
  }
  ath_pool_checkin(p, held[0]); held[0] = NULL;
  TRY(ath_pool_checkout(p, -1, &held[0], err));
  if (kind != ATH_POOL_STATIC) { ath_pool_invalidate(p, held[1]); held[1] = NULL; }
  ath_pool_invalidate_all(p);
  ath_pool_status ps;
  ath_pool_get_status(p, &ps);
  if (ps.checked_out != (kind == ATH_POOL_STATIC ? 1 : 2)) { st = WRONG(err, "%d checked out", ps.checked_out); goto out; }
out:
  for (int i = 0; i < 4; i++) if (held[i]) ath_pool_checkin(p, held[i]);
  ath_pool_dispose(p);
  ath_pool_free(p);
  if (st == ATH_OK && w.open != 0) st = WRONG(err, "%d fake connections left open", w.open);
  return st;
}

static void test_alloc_faults_pool(void **state) {
  (void)state;
  ath_pool_kind kinds[] = { ATH_POOL_QUEUE, ATH_POOL_STATIC, ATH_POOL_NULL };
  static const char *names[] = { "queue pool", "static pool", "null pool" };
  for (int i = 0; i < 3; i++) sweep(names[i], pool_scenario, &kinds[i]);
}

/* ---------------------------------------------------------------- engine */

static ath_status run_stmt(ath_conn *c, const char *sql, int want_rows, ath_error *err) {
  ath_cstmt *s = NULL;
  ath_status st = ath_conn_stmt_acquire(c, sql, strlen(sql), &s, err);
  if (st != ATH_OK) return st;
  int rows = 0;
  while ((st = c->drv->step(s->ds, err)) == ATH_ROW) rows++;
  ath_conn_stmt_release(s);
  if (st != ATH_DONE) return st;
  return rows == want_rows ? ATH_OK : WRONG(err, "%s: %d rows, expected %d", sql, rows, want_rows);
}

static ath_status engine_scenario(void *ctx, ath_error *err) {
  const char *url = ctx;
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  static const char *const k[] = { "busy_timeout" }, *const v[] = { "100" };
  cfg.ca_keys = k; cfg.ca_values = v; cfg.nca = 1;
  cfg.stmt_cache_size = 2;                  /* small, so acquiring evicts */
  cfg.shared_name = "alloc_faults";
  ath_engine *e = NULL, *again = NULL;
  ath_conn *c = NULL;
  ath_cstmt *busy = NULL;
  ath_status st;
  TRY(ath_engine_open(url, &cfg, &e, err));
  TRY(ath_engine_open(url, &cfg, &again, err));           /* the shared one, one more reference */
  if (again != e) { st = WRONG(err, "a shared name gave another engine"); goto out; }
  TRY(ath_engine_checkout(e, -1, &c, err));
  TRY(c->drv->exec(c->dc, "CREATE TABLE IF NOT EXISTS ef (x INTEGER)", err));
  TRY(c->drv->begin(c->dc, ATH_ISO_DEFAULT, err));
  TRY(run_stmt(c, "INSERT INTO ef VALUES (1)", 0, err));
  /* a busy statement while the same SQL is acquired again and evicted */
  TRY(ath_conn_stmt_acquire(c, "SELECT x FROM ef", 16, &busy, err));
  TRY(run_stmt(c, "SELECT x FROM ef", 1, err));
  TRY(run_stmt(c, "SELECT 1", 1, err));
  TRY(run_stmt(c, "SELECT 2", 1, err));
  TRY(run_stmt(c, "SELECT 1", 1, err));
  ath_conn_stmt_release(busy); busy = NULL;
  ath_conn_clear_cache(c);
  ath_engine_checkin(e, c);                                 /* rolls the transaction back */
  c = NULL;
  TRY(ath_engine_checkout(e, -1, &c, err));
  TRY(run_stmt(c, "SELECT x FROM ef", 0, err));
  ath_engine_invalidate(e, c);
  c = NULL;
  TRY(ath_engine_checkout(e, -1, &c, err));
  TRY(run_stmt(c, "SELECT 1", 1, err));
out:
  ath_conn_stmt_release(busy);
  if (c) ath_engine_checkin(e, c);
  if (e) ath_engine_dispose(e);
  ath_engine_release(again);
  ath_engine_release(e);
  return st;
}

static void test_alloc_faults_engine(void **state) {
  (void)state;
  sweep("engine (sqlite memory)", engine_scenario, "sqlite://");
  char path[64];
  snprintf(path, sizeof path, "sqlite:////tmp/athanor_alloc_faults_%ld.db", (long)getpid());
  sweep("engine (sqlite file)", engine_scenario, path);
  unlink(path + 9);
}

/* -------------------------------------------------------------- compiler */

static ath_node *mk(ath_arena *a, int kind, const char *s, int nkids, ...) {
  ath_node *n = ath_node_new(a, kind, nkids);
  assert_non_null(n);
  if (s) { n->s = s; n->slen = strlen(s); }
  va_list ap;
  va_start(ap, nkids);
  for (int i = 0; i < nkids; i++) n->kids[i] = va_arg(ap, ath_node *);
  va_end(ap);
  return n;
}

/* A node with fixed slots, all NULL until set. */
static ath_node *slots(ath_arena *a, int kind, int n) {
  ath_node *node = ath_node_new(a, kind, n);
  assert_non_null(node);
  return node;
}

static ath_node *column(ath_arena *a, ath_node *from, const char *name) {
  ath_node *n = mk(a, ATH_N_COLUMN, name, 0);
  n->from = from;
  return n;
}

static ath_node *bindslot(ath_arena *a, int slot) {
  ath_node *n = mk(a, ATH_N_BIND, NULL, 0);
  n->slot = slot;
  return n;
}

static ath_node *named(ath_arena *a, const char *name) {
  ath_node *n = mk(a, ATH_N_BIND, name, 0);
  n->flags = ATH_F_NAMED;
  return n;
}

/* SELECT with a join, a CTE, IN, named binds, a text fragment, a subquery,
 * ordering and limits; and an INSERT ... ON CONFLICT ... RETURNING. */
static ath_node *select_tree(ath_arena *a) {
  ath_node *users = mk(a, ATH_N_TABLE, "users", 0), *orders = mk(a, ATH_N_TABLE, "Order Lines", 0);
  ath_node *inner = slots(a, ATH_N_SELECT, ATH_SELECT__N);
  inner->kids[ATH_SELECT_COLUMNS] = mk(a, ATH_N_LIST, NULL, 1, column(a, users, "id"));
  inner->kids[ATH_SELECT_FROM] = mk(a, ATH_N_LIST, NULL, 1, users);
  ath_node *cte = mk(a, ATH_N_CTE, "recent", 1, inner);
  ath_node *q = slots(a, ATH_N_SELECT, ATH_SELECT__N);
  ath_node *text = mk(a, ATH_N_TEXT, "users.age > :age AND users.z = :other", 1, named(a, "age"));
  q->kids[ATH_SELECT_COLUMNS] = mk(a, ATH_N_LIST, NULL, 3, column(a, users, "name"),
    mk(a, ATH_N_LABEL, "total", 1, mk(a, ATH_N_FUNC, "sum", 1, column(a, orders, "amount"))),
    mk(a, ATH_N_CAST, "String(20)", 1, column(a, users, "id")));   /* the dialect spells the type */
  ath_node *on = mk(a, ATH_N_BINARY, "=", 2, column(a, orders, "user_id"), column(a, users, "id"));
  q->kids[ATH_SELECT_FROM] = mk(a, ATH_N_LIST, NULL, 1, mk(a, ATH_N_JOIN, NULL, 3, users, orders, on));
  ath_node *in = mk(a, ATH_N_IN, NULL, 4, column(a, users, "id"), bindslot(a, 1), bindslot(a, 2), bindslot(a, 3));
  ath_node *like = mk(a, ATH_N_BINARY, "ILIKE", 2, column(a, users, "name"), named(a, "pattern"));
  q->kids[ATH_SELECT_WHERE] = mk(a, ATH_N_AND, NULL, 3, in, mk(a, ATH_N_OR, NULL, 2, like,
    mk(a, ATH_N_POSTFIX, "IS NULL", 1, column(a, users, "email"))), text);
  q->kids[ATH_SELECT_GROUP] = mk(a, ATH_N_LIST, NULL, 1, column(a, users, "name"));
  q->kids[ATH_SELECT_ORDER] = mk(a, ATH_N_LIST, NULL, 1, mk(a, ATH_N_POSTFIX, "DESC", 1, column(a, users, "name")));
  q->kids[ATH_SELECT_LIMIT] = bindslot(a, 4);
  q->kids[ATH_SELECT_OFFSET] = bindslot(a, 5);
  q->kids[ATH_SELECT_CTES] = mk(a, ATH_N_LIST, NULL, 1, cte);
  return q;
}

static ath_node *upsert_tree(ath_arena *a) {
  ath_node *users = mk(a, ATH_N_TABLE, "users", 0);
  ath_node *exc = mk(a, ATH_N_TABLE, "excluded", 0);
  exc->flags = ATH_F_PSEUDO;
  ath_node *ins = slots(a, ATH_N_INSERT, ATH_INSERT__N);
  ins->kids[ATH_INSERT_TABLE] = users;
  ins->kids[ATH_INSERT_COLUMNS] = mk(a, ATH_N_LIST, NULL, 2, column(a, users, "id"), column(a, users, "name"));
  ins->kids[ATH_INSERT_ROWS] = mk(a, ATH_N_LIST, NULL, 2, mk(a, ATH_N_LIST, NULL, 2, named(a, "id"), named(a, "name")),
                               mk(a, ATH_N_LIST, NULL, 2, bindslot(a, 1), bindslot(a, 2)));
  ins->kids[ATH_INSERT_RETURNING] = mk(a, ATH_N_LIST, NULL, 1, column(a, users, "id"));
  ins->kids[ATH_INSERT_CONFLICT] = mk(a, ATH_N_ONCONFLICT, NULL, 3, mk(a, ATH_N_LIST, NULL, 1, column(a, users, "id")),
    mk(a, ATH_N_LIST, NULL, 1, mk(a, ATH_N_SET, NULL, 2, column(a, users, "name"), column(a, exc, "name"))), NULL);
  return ins;
}

typedef struct compile_case {
  ath_node *roots[2];
  char *expected[2][ATH_BUILTIN_DIALECTS];   /* SQL of the clean run */
  ath_buf keys[2][ATH_BUILTIN_DIALECTS];
} compile_case;

static ath_status compile_scenario(void *ctx, ath_error *err) {
  compile_case *cc = ctx;
  for (int r = 0; r < 2; r++) {
    for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) {
      if (r == 1 && !ath_builtin_dialects[d]->returning) continue;   /* no RETURNING on MySQL */
      ath_compiled *c = NULL;
      ath_status st = ath_compile(cc->roots[r], ath_builtin_dialects[d], &c, err);
      if (st != ATH_OK) { if (c != NULL) return WRONG(err, "a failed compile left its output"); return st; }
      if (cc->expected[r][d] == NULL) cc->expected[r][d] = ath_strdup(c->sql);   /* the clean run */
      else if (strcmp(cc->expected[r][d], c->sql) != 0) st = WRONG(err, "the SQL differs: %s", c->sql);
      ath_compiled_free(c);
      if (st != ATH_OK) return st;
      ath_buf key = ATH_BUF_INIT;
      int rc = ath_node_key(&key, cc->roots[r], ath_builtin_dialects[d]);
      int oom = key.oom;
      if (rc == 0 && cc->keys[r][d].data == NULL) { cc->keys[r][d] = key; continue; }
      if (rc == 0 && (key.len != cc->keys[r][d].len || memcmp(key.data, cc->keys[r][d].data, key.len) != 0))
        st = WRONG(err, "the cache key differs");
      ath_buf_free(&key);
      if (st != ATH_OK) return st;
      if (rc != 0 && !oom) return WRONG(err, "a key failed without running out of memory");
      if (rc != 0) return ath_error_nomem(err);             /* the binding compiles uncached then */
    }
  }
  return ATH_OK;
}

static void test_alloc_faults_compiler(void **state) {
  (void)state;
  ath_arena *a = ath_arena_new();
  assert_non_null(a);
  compile_case cc;
  memset(&cc, 0, sizeof cc);
  cc.roots[0] = select_tree(a);
  cc.roots[1] = upsert_tree(a);
  /* the clean run records the expected SQL and keys: allocated before the
   * sweep's baseline, freed after it */
  ath_error err;
  assert_int_equal(compile_scenario(&cc, &err), ATH_OK);
  sweep("compiler", compile_scenario, &cc);
  for (int r = 0; r < 2; r++)
    for (int d = 0; d < ATH_BUILTIN_DIALECTS; d++) { ath_free(cc.expected[r][d]); ath_buf_free(&cc.keys[r][d]); }
  ath_arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alloc_faults_url_parser),
    cmocka_unit_test(test_alloc_faults_sqlite_driver),
    cmocka_unit_test(test_alloc_faults_postgresql_driver),
    cmocka_unit_test(test_alloc_faults_postgresql_decoders),
    cmocka_unit_test(test_alloc_faults_pool),
    cmocka_unit_test(test_alloc_faults_engine),
    cmocka_unit_test(test_alloc_faults_compiler),
  };
  const char *only = getenv("ATHANOR_ALLOC_SWEEP_TESTS");
  if (only && *only) cmocka_set_test_filter(only);
  return cmocka_run_group_tests_name("alloc_faults", tests, NULL, NULL);
}
