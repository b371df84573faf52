/* test_fork.c — fork safety (issue 20 item 4): a connection opened before
 * fork() is never used, reset or closed over the shared socket in the child.
 * The parent opens an engine, runs a query and leaves a pooled connection
 * (or holds one checked out); the child checks out and queries with a
 * connection of its own; the parent's connection still works afterwards.
 * On SQLite (a file database) always; on PostgreSQL when ATHANOR_TEST_PG_URL
 * is set (tools/test_pg.sh runs this binary again with it), where the
 * parent's session is checked by its backend pid: a Terminate or a query
 * sent by the child over the shared socket would end or confuse it. Also the
 * pool alone with fake connections: in the child a connection of the parent
 * is closed (freeing memory only) and never handed out, pinged or reset.
 *
 * The child never calls cmocka (its longjmp belongs to the parent): it
 * returns a step number through its exit status, 0 when every check held. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "engine/ath_engine.h"
#include "engine/ath_pool.h"

/* ------------------------------------------------------------- helpers */

/* The first column of the first row of sql as an integer, or -1 on any error. */
static long long query_int(ath_conn *c, const char *sql) {
  ath_cstmt *s;
  ath_error err;
  if (ath_conn_stmt_acquire(c, sql, strlen(sql), &s, &err) != ATH_OK) return -1;
  long long out = -1;
  ath_value v;
  if (ath_cstmt_step(s, &err) == ATH_ROW && ath_cstmt_column(s, 0, &v, &err) == ATH_OK && v.type == ATH_V_INT)
    out = (long long)v.u.i;
  ath_conn_stmt_release(s);
  return out;
}

static int exec_ok(ath_conn *c, const char *sql) {
  ath_error err;
  return ath_conn_exec_script(c, sql, strlen(sql), &err) == ATH_OK;
}

/* Runs child() in a forked process and returns its exit status (0: passed;
 * else the number of the check that failed). */
static int run_child(int (*child)(void *), void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) fail_msg("fork failed");
  if (pid == 0) _exit(child(arg));
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static ath_engine *open_engine(const char *url) {
  ath_engine_config cfg;
  ath_engine_config_default(&cfg);
  ath_engine *e = NULL;
  ath_error err;
  if (ath_engine_open(url, &cfg, &e, &err) != ATH_OK) fail_msg("engine_open(%s): %s", url, err.message);
  return e;
}

static ath_conn *checkout(ath_engine *e) {
  ath_conn *c = NULL;
  ath_error err;
  if (ath_engine_checkout(e, -1, &c, &err) != ATH_OK) fail_msg("checkout: %s", err.message);
  return c;
}

/* --------------------------------------------------------- the engines */

typedef struct fork_case {
  ath_engine *e;
  ath_conn *held;                /* checked out in the parent across the fork, or NULL */
  const char *session_sql;       /* the session's identity (backend pid) or NULL */
  long long parent_session;
  const char *count_sql;
  const char *insert_sql;
} fork_case;

/* In the child: a checkout is a new connection (not the parent's pooled
 * one), it queries and writes; a Connection held across the fork is
 * foreign and is dropped; closing the engine sends nothing. */
static int child_checks_out_its_own(void *arg) {
  fork_case *fc = arg;
  if (fc->held) {
    if (!ath_conn_foreign(fc->held)) return 10;
    ath_engine_checkin(fc->e, fc->held);                    /* closed locally, never reset */
  }
  ath_pool_status before;
  ath_pool_get_status(ath_engine_pool(fc->e), &before);
  ath_conn *c = NULL;
  ath_error err;
  if (ath_engine_checkout(fc->e, 5, &c, &err) != ATH_OK) return 11;
  if (c->checkouts != 1) return 12;                         /* fresh, not the parent's */
  if (ath_conn_foreign(c)) return 13;
  ath_pool_status after;
  ath_pool_get_status(ath_engine_pool(fc->e), &after);
  if (after.total_connects != before.total_connects + 1) return 14;
  if (query_int(c, fc->count_sql) != 1) return 15;
  if (fc->session_sql && query_int(c, fc->session_sql) == fc->parent_session) return 16;
  if (!exec_ok(c, fc->insert_sql)) return 17;
  if (query_int(c, fc->count_sql) != 2) return 18;
  ath_engine_checkin(fc->e, c);
  ath_engine_release(fc->e);                                /* closes the pool: the parent's idle one locally */
  return 0;
}

static void check_fork(const char *url, const char *setup, const char *session_sql, int hold) {
  ath_engine *e = open_engine(url);
  ath_conn *c = checkout(e);
  assert_true(exec_ok(c, setup));
  fork_case fc = { e, NULL, session_sql, 0, "SELECT count(*) FROM fork_t", "INSERT INTO fork_t VALUES (2)" };
  assert_int_equal(query_int(c, fc.count_sql), 1);
  if (session_sql) fc.parent_session = query_int(c, session_sql);
  if (hold) fc.held = c;
  else ath_engine_checkin(e, c);                            /* left in the pool */
  assert_int_equal(run_child(child_checks_out_its_own, &fc), 0);
  /* The parent's connection: the same one, the same session, working. */
  if (!hold) c = checkout(e);
  assert_false(ath_conn_foreign(c));
  assert_int_equal(c->checkouts, hold ? 1 : 2);
  if (session_sql) assert_int_equal(query_int(c, session_sql), fc.parent_session);
  assert_int_equal(query_int(c, fc.count_sql), 2);          /* and it sees the child's row */
  assert_true(exec_ok(c, "DROP TABLE fork_t"));
  ath_engine_checkin(e, c);
  ath_engine_release(e);
}

static char sqlite_url[128];
static void sqlite_file(void) {
  snprintf(sqlite_url, sizeof sqlite_url, "sqlite:////tmp/athanor-test-fork-%ld.db", (long)getpid());
  unlink(sqlite_url + strlen("sqlite:///"));
}

#define SQLITE_SETUP "CREATE TABLE fork_t (x INTEGER); INSERT INTO fork_t VALUES (1)"

static void test_sqlite_child_gets_its_own_connection_for_a_pooled_one(void **state) {
  (void)state;
  sqlite_file();
  check_fork(sqlite_url, SQLITE_SETUP, NULL, 0);
  unlink(sqlite_url + strlen("sqlite:///"));
}

static void test_sqlite_child_drops_a_connection_held_across_the_fork(void **state) {
  (void)state;
  sqlite_file();
  check_fork(sqlite_url, SQLITE_SETUP, NULL, 1);
  unlink(sqlite_url + strlen("sqlite:///"));
}

static const char *pg_url(void) {
  const char *url = getenv("ATHANOR_TEST_PG_URL");
  if (url == NULL || *url == '\0') {
    print_message("postgresql: SKIPPED, ATHANOR_TEST_PG_URL is not set (tools/test_pg.sh sets it)\n");
    return NULL;
  }
  return url;
}

#define PG_SETUP "DROP TABLE IF EXISTS fork_t; CREATE TABLE fork_t (x int8); INSERT INTO fork_t VALUES (1)"

static void test_postgresql_child_gets_its_own_connection_for_a_pooled_one(void **state) {
  (void)state;
  const char *url = pg_url();
  if (url == NULL) skip();
  check_fork(url, PG_SETUP, "SELECT pg_backend_pid()::int8", 0);
}

static void test_postgresql_child_drops_a_connection_held_across_the_fork(void **state) {
  (void)state;
  const char *url = pg_url();
  if (url == NULL) skip();
  check_fork(url, PG_SETUP, "SELECT pg_backend_pid()::int8", 1);
}

/* ------------------------------------------------------ the pool alone */

typedef struct counts { int connects, closes, pings, resets; } counts;

static ath_status f_connect(void *ud, void **out, ath_error *err) {
  (void)err;
  counts *n = ud;
  int *id = ath_malloc(sizeof *id);                        /* a fresh one may reuse a freed address */
  if (id == NULL) return ATH_E_NOMEM;
  *id = ++n->connects;
  *out = id;
  return ATH_OK;
}
static void f_close(void *ud, void *conn) { ((counts *)ud)->closes++; ath_free(conn); }
static ath_status f_ping(void *ud, void *conn, ath_error *err) {
  (void)conn; (void)err;
  ((counts *)ud)->pings++;
  return ATH_OK;
}
static ath_status f_reset(void *ud, void *conn, ath_error *err) {
  (void)conn; (void)err;
  ((counts *)ud)->resets++;
  return ATH_OK;
}

typedef struct pool_case { ath_pool *p; counts *n; void *parents; int parents_id; int held; } pool_case;

static int child_pool(void *arg) {
  pool_case *pc = arg;
  counts before = *pc->n;
  if (pc->held) ath_pool_checkin(pc->p, pc->parents);      /* dropped, not reset */
  void *c = NULL;
  ath_error err;
  if (ath_pool_checkout(pc->p, 1, &c, &err) != ATH_OK) return 20;
  if (*(int *)c == pc->parents_id) return 21;
  if (pc->n->connects != before.connects + 1) return 22;
  if (pc->n->closes != before.closes + 1) return 23;         /* the parent's: closed (memory only) */
  if (pc->n->resets != before.resets || pc->n->pings != before.pings) return 24;
  ath_pool_checkin(pc->p, c);
  if (pc->n->resets != before.resets + 1) return 25;       /* ours is reset on return */
  ath_pool_free(pc->p);
  return 0;
}

static void check_pool_fork(ath_pool_kind kind, int held) {
  counts n = { 0, 0, 0, 0 };
  ath_pool_config cfg;
  ath_pool_config_default(&cfg);
  cfg.kind = kind;
  cfg.pre_ping = 1;
  ath_pool_ops ops = { f_connect, f_close, f_ping, f_reset, NULL };
  ath_error err;
  ath_pool *p = ath_pool_new(&cfg, &ops, &n, &err);
  assert_non_null(p);
  void *c = NULL;
  assert_int_equal(ath_pool_checkout(p, 1, &c, &err), ATH_OK);
  if (!held) ath_pool_checkin(p, c);
  pool_case pc = { p, &n, c, *(int *)c, held };
  assert_int_equal(run_child(child_pool, &pc), 0);
  /* the parent's connection is still its own */
  if (!held) {
    void *again = NULL;
    assert_int_equal(ath_pool_checkout(p, 1, &again, &err), ATH_OK);
    assert_ptr_equal(again, c);
  }
  ath_pool_checkin(p, c);
  assert_int_equal(n.connects, 1);
  ath_pool_free(p);
}

static void test_queue_pool_in_a_child_never_hands_out_the_parents_idle_connection(void **state) {
  (void)state;
  check_pool_fork(ATH_POOL_QUEUE, 0);
}
static void test_queue_pool_in_a_child_drops_the_parents_checked_out_connection(void **state) {
  (void)state;
  check_pool_fork(ATH_POOL_QUEUE, 1);
}
static void test_static_pool_in_a_child_opens_its_own_connection(void **state) {
  (void)state;
  check_pool_fork(ATH_POOL_STATIC, 0);
}
static void test_static_pool_in_a_child_drops_the_parents_connection_held_across_the_fork(void **state) {
  (void)state;
  check_pool_fork(ATH_POOL_STATIC, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_queue_pool_in_a_child_never_hands_out_the_parents_idle_connection),
    cmocka_unit_test(test_queue_pool_in_a_child_drops_the_parents_checked_out_connection),
    cmocka_unit_test(test_static_pool_in_a_child_opens_its_own_connection),
    cmocka_unit_test(test_static_pool_in_a_child_drops_the_parents_connection_held_across_the_fork),
    cmocka_unit_test(test_sqlite_child_gets_its_own_connection_for_a_pooled_one),
    cmocka_unit_test(test_sqlite_child_drops_a_connection_held_across_the_fork),
    cmocka_unit_test(test_postgresql_child_gets_its_own_connection_for_a_pooled_one),
    cmocka_unit_test(test_postgresql_child_drops_a_connection_held_across_the_fork),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
