/* test_url.c — database URL parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "base/ath_url.h"

static ath_url *parse_ok(const char *text) {
  ath_url *u = NULL;
  ath_error err;
  ath_status st = ath_url_parse(text, &u, &err);
  if (st != ATH_OK) fail_msg("%s: %s", text, err.message);
  return u;
}

static void expect_error(const char *text, const char *phrase) {
  ath_url *u = (ath_url *)1;
  ath_error err;
  assert_int_equal(ath_url_parse(text, &u, &err), ATH_E_ARGUMENT);
  assert_null(u);
  if (strstr(err.message, phrase) == NULL) fail_msg("'%s' not in '%s'", phrase, err.message);
}

static void test_url_sqlite_memory_forms(void **state) {
  (void)state;
  const char *forms[] = { "sqlite://", "sqlite:///:memory:", "sqlite:///" };
  for (size_t i = 0; i < 3; i++) {
    ath_url *u = parse_ok(forms[i]);
    assert_string_equal(u->dialect, "sqlite");
    assert_string_equal(u->database, ":memory:");
    ath_url_free(u);
  }
}

static void test_url_sqlite_relative_and_absolute_paths(void **state) {
  (void)state;
  ath_url *u = parse_ok("sqlite:///rel/app.db");
  assert_string_equal(u->database, "rel/app.db");
  ath_url_free(u);
  u = parse_ok("sqlite:////abs/app.db");
  assert_string_equal(u->database, "/abs/app.db");
  ath_url_free(u);
  u = parse_ok("sqlite:///with%20space.db?mode=ro");
  assert_string_equal(u->database, "with space.db");
  assert_string_equal(ath_url_param_get(u, "mode"), "ro");
  ath_url_free(u);
}

static void test_url_sqlite_rejects_a_host(void **state) {
  (void)state;
  expect_error("sqlite://host/app.db", "take no host");
}

static void test_url_postgresql_full_form(void **state) {
  (void)state;
  ath_url *u = parse_ok("postgresql+libpq://scott:ti%40ger@db.example.com:5433/shop?sslmode=disable&application_name=a%20b");
  assert_string_equal(u->dialect, "postgresql");
  assert_string_equal(u->driver, "libpq");
  assert_string_equal(u->username, "scott");
  assert_string_equal(u->password, "ti@ger");
  assert_string_equal(u->host, "db.example.com");
  assert_int_equal(u->port, 5433);
  assert_string_equal(u->database, "shop");
  assert_int_equal(u->nparams, 2);
  assert_string_equal(ath_url_param_get(u, "sslmode"), "disable");
  assert_string_equal(ath_url_param_get(u, "application_name"), "a b");
  ath_url_free(u);
}

static void test_url_postgres_alias_and_defaults(void **state) {
  (void)state;
  ath_url *u = parse_ok("postgres:///db");
  assert_string_equal(u->dialect, "postgresql");
  assert_null(u->host);
  assert_null(u->username);
  assert_int_equal(u->port, 0);
  assert_string_equal(u->database, "db");
  ath_url_free(u);
}

static void test_url_socket_directory_hosts(void **state) {
  (void)state;
  ath_url *u = parse_ok("postgresql://u@/db?host=/var/run/postgresql");
  assert_null(u->host);
  assert_string_equal(ath_url_param_get(u, "host"), "/var/run/postgresql");
  ath_url_free(u);
  u = parse_ok("postgresql://u@%2Fvar%2Frun%2Fpostgresql/db");
  assert_string_equal(u->host, "/var/run/postgresql");
  ath_url_free(u);
}

static void test_url_ipv6_host(void **state) {
  (void)state;
  ath_url *u = parse_ok("postgresql://u:p@[::1]:5432/db");
  assert_string_equal(u->host, "::1");
  assert_int_equal(u->port, 5432);
  ath_url_free(u);
}

static void test_url_errors_name_the_bad_part(void **state) {
  (void)state;
  expect_error("not a url", "not a url");
  expect_error("://x", "dialect name is empty");
  expect_error("postgresql://u@h:12x/db", "port '12x' is not a number");
  expect_error("postgresql://u@h:70000/db", "out of range");
  expect_error("postgresql://u%zz@h/db", "'%zz'");
  expect_error("postgresql://u@[::1/db", "unterminated '['");
  expect_error("my sql://x", "invalid character");
}

static void test_url_masked_rendering_hides_the_password(void **state) {
  (void)state;
  ath_url *u = parse_ok("postgresql://scott:tiger@localhost:5432/test?password=x");
  char *s = ath_url_render_masked(u);
  assert_string_equal(s, "postgresql://scott:***@localhost:5432/test?password=***");
  ath_free(s);
  ath_url_free(u);
  u = parse_ok("sqlite:////tmp/a.db");
  s = ath_url_render_masked(u);
  assert_string_equal(s, "sqlite:////tmp/a.db");
  ath_free(s);
  ath_url_free(u);
}

static void test_url_errors_never_show_the_password(void **state) {
  (void)state;
  static const struct { const char *url, *phrase; } cases[] = {
    { "postgresql://scott:s3cretpw@localhost:12x/db", "port" },
    { "postgresql://scott:s3cretpw@localhost/d%zzb", "'%zz' in the database name" },
    { "postgresql://scott:s3cre%zztpw@localhost/db", "bad percent-escape in the password" },
    { "postgresql://scott:s3cretpw@[::1/db", "unterminated '['" },
    { "postgresql://scott:s3cretpw@localhost/db?=1", "without a name" },
    { "postgresql://scott@localhost/db?password=s3cretpw&=1", "without a name" },
    { "postgresql://scott:s3c:r@tpw@localhost:99999/db", "out of range" },
    { "postgresql://scott:s3c/retpw@localhost:1x/db", "percent-encode it as %2F" },
    { "postgresql:/scott:s3cretpw@localhost/db", "expected dialect://" },
    { "postgresql://scott:s3c?retpw@localhost:1/db", "the port is not a number" },
    { "postgresql://scott@localhost/db?password=s3c%zztpw", "bad percent-escape in the password" },
    /* a '%' ending the user name: the escape quoted stops at the part's end,
     * it used to show "%:s", the password's first byte (found by fuzz_url) */
    { "postgresql://scott%:s3cretpw@localhost/db", "bad percent-escape '%' in the username" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ath_url *u = (ath_url *)1;
    ath_error err;
    assert_int_equal(ath_url_parse(cases[i].url, &u, &err), ATH_E_ARGUMENT);
    assert_null(u);
    if (strstr(err.message, cases[i].phrase) == NULL) fail_msg("'%s' not in '%s'", cases[i].phrase, err.message);
    if (strstr(err.message, "s3c") || strstr(err.message, "tpw") || !strstr(err.message, "scott"))
      fail_msg("password shown or user hidden: '%s'", err.message);
    if (!strstr(err.message, "***")) fail_msg("no mask in '%s'", err.message);
  }
}

static void test_url_refuses_a_nul_byte_naming_the_part(void **state) {
  (void)state;
  expect_error("sqlite:////tmp/probe%00pct.db", "the database path contains a NUL byte");
  expect_error("postgresql://sc%00ott:pw@localhost/db", "the username contains a NUL byte");
  expect_error("postgresql://scott:p%00w@localhost/db", "the password contains a NUL byte");
  expect_error("postgresql://scott:pw@local%00host/db", "the host contains a NUL byte");
  expect_error("postgresql://scott:pw@localhost/d%00b", "the database name contains a NUL byte");
  expect_error("postgresql://scott@localhost/db?sslmode=dis%00able", "query parameter value contains a NUL byte");
  ath_url *u = parse_ok("sqlite:////tmp/probe%01pct.db");   /* other control bytes are names like any */
  assert_int_equal(u->database[10], 1);
  ath_url_free(u);
}

static void test_url_fault_injection_leaves_no_leak(void **state) {
  (void)state;
  long base = ath_alloc_live();
  for (long n = 0;; n++) {
    ath_url *u = NULL;
    ath_error err;
    ath_alloc_fail_after(n);
    ath_status st = ath_url_parse("postgresql://a:b@h:1/d?x=1&y=2", &u, &err);
    ath_alloc_fail_after(-1);
    if (st == ATH_OK) { ath_url_free(u); assert_int_equal(ath_alloc_live(), base); break; }
    assert_int_equal(st, ATH_E_NOMEM);
    assert_null(u);
    assert_int_equal(ath_alloc_live(), base);
    assert_true(n < 100);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_url_sqlite_memory_forms),
    cmocka_unit_test(test_url_sqlite_relative_and_absolute_paths),
    cmocka_unit_test(test_url_sqlite_rejects_a_host),
    cmocka_unit_test(test_url_postgresql_full_form),
    cmocka_unit_test(test_url_postgres_alias_and_defaults),
    cmocka_unit_test(test_url_socket_directory_hosts),
    cmocka_unit_test(test_url_ipv6_host),
    cmocka_unit_test(test_url_errors_name_the_bad_part),
    cmocka_unit_test(test_url_masked_rendering_hides_the_password),
    cmocka_unit_test(test_url_errors_never_show_the_password),
    cmocka_unit_test(test_url_refuses_a_nul_byte_naming_the_part),
    cmocka_unit_test(test_url_fault_injection_leaves_no_leak),
  };
  return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
