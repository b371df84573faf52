/* test_identity.c — identity keys of the ORM (csrc/orm/ath_identity.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "orm/ath_identity.h"

static ath_idval ival(int64_t i) { ath_idval v; v.type = ATH_IDV_INT; v.u.i = i; return v; }
static ath_idval fval(double f) { ath_idval v; v.type = ATH_IDV_FLOAT; v.u.f = f; return v; }
static ath_idval sval(const char *p, size_t n) { ath_idval v; v.type = ATH_IDV_STRING; v.u.s.p = p; v.u.s.n = n; return v; }

/* The key of vals as a buffer the caller frees. */
static ath_buf key_of(uint32_t id, const ath_idval *vals, size_t n) {
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  assert_int_equal(ath_identity_key(id, vals, n, &b, &err), ATH_OK);
  return b;
}

static int same_key(uint32_t id1, const ath_idval *a, size_t na, uint32_t id2, const ath_idval *b, size_t nb) {
  ath_buf x = key_of(id1, a, na), y = key_of(id2, b, nb);
  int same = x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
  ath_buf_free(&x); ath_buf_free(&y);
  return same;
}

static void test_identity_integral_float_names_the_same_row_as_the_integer(void **state) {
  (void)state;
  ath_idval a[] = { ival(7), sval("x", 1) }, b[] = { fval(7.0), sval("x", 1) };
  assert_true(same_key(1, a, 2, 1, b, 2));
  ath_idval c[] = { fval(7.5), sval("x", 1) };
  assert_false(same_key(1, a, 2, 1, c, 2));
  ath_idval z[] = { fval(-0.0), ival(1) }, z2[] = { ival(0), ival(1) };
  assert_true(same_key(1, z, 2, 1, z2, 2));
}

static void test_identity_different_mappers_have_different_keys(void **state) {
  (void)state;
  ath_idval a[] = { ival(1), ival(2) };
  assert_false(same_key(1, a, 2, 2, a, 2));
  assert_true(same_key(3, a, 2, 3, a, 2));
}

static void test_identity_strings_are_length_prefixed_so_tuples_never_collide(void **state) {
  (void)state;
  /* ("ab", "c") and ("a", "bc") would collide under plain concatenation */
  ath_idval a[] = { sval("ab", 2), sval("c", 1) }, b[] = { sval("a", 1), sval("bc", 2) };
  assert_false(same_key(1, a, 2, 1, b, 2));
  /* NUL bytes inside a string are part of it */
  ath_idval c[] = { sval("a\0b", 3), ival(1) }, d[] = { sval("a", 1), ival(1) };
  assert_false(same_key(1, c, 2, 1, d, 2));
  /* a string "1" is not the integer 1 */
  ath_idval e[] = { sval("1", 1), ival(1) }, f[] = { ival(1), ival(1) };
  assert_false(same_key(1, e, 2, 1, f, 2));
}

static void test_identity_order_of_values_matters(void **state) {
  (void)state;
  ath_idval a[] = { ival(1), ival(2) }, b[] = { ival(2), ival(1) };
  assert_false(same_key(1, a, 2, 1, b, 2));
}

static void test_identity_refuses_nan_and_bad_counts_and_writes_nothing(void **state) {
  (void)state;
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  ath_idval a[] = { ival(1), fval(NAN) };
  assert_int_equal(ath_identity_key(1, a, 2, &b, &err), ATH_E_ARGUMENT);
  assert_non_null(strstr(err.message, "NaN"));
  assert_int_equal(b.len, 0);
  assert_int_equal(ath_identity_key(1, a, 0, &b, &err), ATH_E_ARGUMENT);
  assert_int_equal(ath_identity_key(1, a, ATH_IDENTITY_MAX_VALUES + 1, &b, &err), ATH_E_ARGUMENT);
  ath_idval bad = ival(1); bad.type = (ath_idval_type)99;
  assert_int_equal(ath_identity_key(1, &bad, 1, &b, &err), ATH_E_ARGUMENT);
  assert_int_equal(b.len, 0);
  ath_buf_free(&b);
}

static void test_identity_appends_to_what_the_buffer_holds(void **state) {
  (void)state;
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  ath_buf_puts(&b, "prefix");
  ath_idval a[] = { ival(5) };
  assert_int_equal(ath_identity_key(9, a, 1, &b, &err), ATH_OK);
  assert_int_equal(b.len, 6 + 8 + 1 + 8);
  assert_memory_equal(b.data, "prefix", 6);
  ath_buf_free(&b);
}

static void test_identity_out_of_memory_leaves_the_buffer_as_it_was(void **state) {
  (void)state;
  long live = ath_alloc_live();
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  ath_idval a[] = { ival(1), ival(2) };
  ath_alloc_fail_after(0);                         /* the first allocation fails */
  assert_int_equal(ath_identity_key(1, a, 2, &b, &err), ATH_E_NOMEM);
  ath_alloc_fail_after(-1);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.oom, 0);
  assert_int_equal(ath_identity_key(1, a, 2, &b, &err), ATH_OK);   /* usable again */
  ath_buf_free(&b);
  assert_int_equal(ath_alloc_live(), live);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_identity_integral_float_names_the_same_row_as_the_integer),
    cmocka_unit_test(test_identity_different_mappers_have_different_keys),
    cmocka_unit_test(test_identity_strings_are_length_prefixed_so_tuples_never_collide),
    cmocka_unit_test(test_identity_order_of_values_matters),
    cmocka_unit_test(test_identity_refuses_nan_and_bad_counts_and_writes_nothing),
    cmocka_unit_test(test_identity_appends_to_what_the_buffer_holds),
    cmocka_unit_test(test_identity_out_of_memory_leaves_the_buffer_as_it_was),
  };
  return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
