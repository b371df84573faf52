/* test_lru.c — the bounded LRU map used for prepared statements. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "base/ath_lru.h"

typedef struct { int evicted[64]; int n; } evlog;

static void on_evict(void *ud, const char *key, size_t keylen, void *value) {
  (void)key; (void)keylen;
  evlog *l = ud;
  l->evicted[l->n++] = (int)(intptr_t)value;
}

static void put(ath_lru *c, const char *k, int v) {
  ath_error err;
  assert_int_equal(ath_lru_put(c, k, strlen(k), (void *)(intptr_t)v, &err), ATH_OK);
}
static int get(ath_lru *c, const char *k) { return (int)(intptr_t)ath_lru_get(c, k, strlen(k)); }

static void test_lru_evicts_the_least_recently_used(void **state) {
  (void)state;
  evlog log = { { 0 }, 0 };
  ath_lru *c = ath_lru_new(2, on_evict, &log);
  put(c, "a", 1); put(c, "b", 2);
  assert_int_equal(get(c, "a"), 1);      /* a is now most recent */
  put(c, "c", 3);                        /* evicts b */
  assert_int_equal(log.n, 1);
  assert_int_equal(log.evicted[0], 2);
  assert_int_equal(get(c, "b"), 0);
  assert_int_equal(get(c, "a"), 1);
  assert_int_equal(get(c, "c"), 3);
  assert_int_equal(ath_lru_count(c), 2);
  ath_lru_free(c);                       /* evicts the rest */
  assert_int_equal(log.n, 3);
}

static void test_lru_replacing_a_key_evicts_the_old_value(void **state) {
  (void)state;
  evlog log = { { 0 }, 0 };
  ath_lru *c = ath_lru_new(4, on_evict, &log);
  put(c, "k", 1); put(c, "k", 2);
  assert_int_equal(log.n, 1);
  assert_int_equal(log.evicted[0], 1);
  assert_int_equal(get(c, "k"), 2);
  assert_int_equal(ath_lru_count(c), 1);
  ath_lru_free(c);
}

static void test_lru_remove_hands_the_value_back_without_evicting(void **state) {
  (void)state;
  evlog log = { { 0 }, 0 };
  ath_lru *c = ath_lru_new(4, on_evict, &log);
  put(c, "k", 7);
  assert_int_equal((int)(intptr_t)ath_lru_remove(c, "k", 1), 7);
  assert_null(ath_lru_remove(c, "k", 1));
  assert_int_equal(log.n, 0);
  ath_lru_free(c);
  assert_int_equal(log.n, 0);
}

static void test_lru_capacity_zero_evicts_at_once(void **state) {
  (void)state;
  evlog log = { { 0 }, 0 };
  ath_lru *c = ath_lru_new(0, on_evict, &log);
  put(c, "k", 5);
  assert_int_equal(log.n, 1);
  assert_int_equal(get(c, "k"), 0);
  ath_lru_free(c);
}

static void test_lru_keys_are_binary_safe(void **state) {
  (void)state;
  ath_lru *c = ath_lru_new(4, NULL, NULL);
  ath_error err;
  assert_int_equal(ath_lru_put(c, "a\0b", 3, (void *)1, &err), ATH_OK);
  assert_int_equal(ath_lru_put(c, "a\0c", 3, (void *)2, &err), ATH_OK);
  assert_int_equal((intptr_t)ath_lru_get(c, "a\0b", 3), 1);
  assert_int_equal((intptr_t)ath_lru_get(c, "a\0c", 3), 2);
  assert_null(ath_lru_get(c, "a", 1));
  ath_lru_free(c);
}

/* 10,000 random operations cross-checked against a naive model. */
static void test_lru_matches_a_naive_model(void **state) {
  (void)state;
  enum { CAP = 8, KEYS = 20 };
  ath_lru *c = ath_lru_new(CAP, NULL, NULL);
  long stamp[KEYS] = { 0 };              /* 0 = absent, else last use time */
  int val[KEYS] = { 0 };
  long now = 0;
  unsigned seed = 12345;
  for (int i = 0; i < 10000; i++) {
    seed = seed * 1103515245u + 12345u;
    int k = (int)((seed >> 16) % KEYS);
    char key[16];
    snprintf(key, sizeof key, "key-%d", k);
    if ((seed >> 8) & 1) {
      int v = i + 1;
      put(c, key, v);
      if (!stamp[k]) {                   /* model eviction of the oldest when full */
        int present = 0, oldest = -1;
        for (int j = 0; j < KEYS; j++) if (stamp[j]) { present++; if (oldest < 0 || stamp[j] < stamp[oldest]) oldest = j; }
        if (present >= CAP) stamp[oldest] = 0;
      }
      stamp[k] = ++now; val[k] = v;
    } else {
      int got = get(c, key);
      assert_int_equal(got, stamp[k] ? val[k] : 0);
      if (stamp[k]) stamp[k] = ++now;
    }
  }
  ath_lru_free(c);
}

static void test_lru_fault_injection_keeps_ownership_with_the_caller(void **state) {
  (void)state;
  long base = ath_alloc_live();
  ath_alloc_fail_after(0);
  assert_null(ath_lru_new(4, NULL, NULL));
  ath_alloc_fail_after(-1);
  ath_lru *c = ath_lru_new(4, NULL, NULL);
  ath_error err;
  ath_alloc_fail_after(0);
  assert_int_equal(ath_lru_put(c, "k", 1, (void *)1, &err), ATH_E_NOMEM);
  ath_alloc_fail_after(-1);
  assert_int_equal(ath_lru_count(c), 0);
  ath_lru_free(c);
  assert_int_equal(ath_alloc_live(), base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lru_evicts_the_least_recently_used),
    cmocka_unit_test(test_lru_replacing_a_key_evicts_the_old_value),
    cmocka_unit_test(test_lru_remove_hands_the_value_back_without_evicting),
    cmocka_unit_test(test_lru_capacity_zero_evicts_at_once),
    cmocka_unit_test(test_lru_keys_are_binary_safe),
    cmocka_unit_test(test_lru_matches_a_naive_model),
    cmocka_unit_test(test_lru_fault_injection_keeps_ownership_with_the_caller),
  };
  return cmocka_run_group_tests_name("lru", tests, NULL, NULL);
}
