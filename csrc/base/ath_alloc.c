/* ath_alloc.c — allocation indirection with fault injection (see ath_alloc.h). */
#include "ath_alloc.h"
#include <stdlib.h>
#include <string.h>

static long fail_countdown = -1;   /* -1: injection off */
static long live_blocks = 0;
static long attempts = 0;          /* every allocation call, for ath_alloc_count */

/* Decide whether this allocation is the injected failure. Atomic builtins keep
 * the counters exact when pools allocate from several threads. */
static int should_fail(void) {
  __atomic_add_fetch(&attempts, 1, __ATOMIC_RELAXED);
  long c = __atomic_load_n(&fail_countdown, __ATOMIC_RELAXED);
  if (c < 0) return 0;
  c = __atomic_sub_fetch(&fail_countdown, 1, __ATOMIC_RELAXED);
  if (c == -1) return 1;           /* this is the (n+1)th: fail it once */
  if (c < -1) __atomic_store_n(&fail_countdown, -1, __ATOMIC_RELAXED);
  return 0;
}

void *ath_malloc(size_t n) {
  if (should_fail()) return NULL;
  void *p = malloc(n ? n : 1);
  if (p) __atomic_add_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
  return p;
}

void *ath_calloc(size_t count, size_t size) {
  if (should_fail()) return NULL;
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p) __atomic_add_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
  return p;
}

void *ath_realloc(void *p, size_t n) {
  if (p == NULL) return ath_malloc(n);
  if (should_fail()) return NULL;
  return realloc(p, n ? n : 1);     /* block count unchanged */
}

void ath_free(void *p) {
  if (p == NULL) return;
  __atomic_sub_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
  free(p);
}

char *ath_strndup(const char *s, size_t n) {
  if (s == NULL) return NULL;
  char *d = ath_malloc(n + 1);
  if (d == NULL) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *ath_strdup(const char *s) {
  return s ? ath_strndup(s, strlen(s)) : NULL;
}

void ath_alloc_fail_after(long n) {
  __atomic_store_n(&fail_countdown, n < 0 ? -1 : n, __ATOMIC_RELAXED);
}

long ath_alloc_live(void) {
  return __atomic_load_n(&live_blocks, __ATOMIC_RELAXED);
}

long ath_alloc_count(void) {
  return __atomic_load_n(&attempts, __ATOMIC_RELAXED);
}
