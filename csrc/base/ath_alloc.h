/* ath_alloc.h — the one allocation indirection of the C core.
 * Owns: every heap allocation made by csrc/ goes through these functions so
 * tests can fail the Nth allocation (fault injection) and count live blocks.
 * Must not include: lua.h, driver headers. Thread-safe. */
#ifndef ATH_ALLOC_H
#define ATH_ALLOC_H
#include <stddef.h>

#if defined(__GNUC__) && !defined(ATH_STATIC_BUILD_NO_VISIBILITY)
#  define ATH_HIDDEN __attribute__((visibility("hidden")))
#else
#  define ATH_HIDDEN
#endif

/* Return NULL on failure (or on an injected failure); never abort. */
ATH_HIDDEN void *ath_malloc(size_t n);
ATH_HIDDEN void *ath_calloc(size_t count, size_t size);
ATH_HIDDEN void *ath_realloc(void *p, size_t n);
/* ath_free(NULL) is a no-op. */
ATH_HIDDEN void ath_free(void *p);
/* Copy of s (NULL in → NULL out); caller frees with ath_free. */
ATH_HIDDEN char *ath_strdup(const char *s);
ATH_HIDDEN char *ath_strndup(const char *s, size_t n);

/* Test hooks. ath_alloc_fail_after(n): the (n+1)th allocation from now fails
 * and every later one succeeds again; n < 0 disables injection. */
ATH_HIDDEN void ath_alloc_fail_after(long n);
/* Number of blocks currently allocated through ath_malloc & co. */
ATH_HIDDEN long ath_alloc_live(void);
/* Number of allocation attempts (malloc, calloc, realloc; failed ones too)
 * since the process started: a sweep counts a clean run's allocations with
 * it, then fails each of them in turn (csrc/test/test_alloc_faults.c). */
ATH_HIDDEN long ath_alloc_count(void);

#endif
