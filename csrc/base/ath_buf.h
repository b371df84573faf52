/* ath_buf.h — growable byte buffer (SQL text, keys, blobs).
 * Owns: its bytes. Always NUL-terminated after any successful append, so
 * `b.data` can be used as a C string when no NULs were appended.
 * Failure is sticky: after an allocation fails, `oom` is set and further
 * appends are no-ops, so callers check once at the end. */
#ifndef ATH_BUF_H
#define ATH_BUF_H
#include <stddef.h>
#include <stdint.h>
#include "ath_alloc.h"

typedef struct ath_buf {
  char *data;     /* NULL until the first append */
  size_t len;
  size_t cap;
  int oom;        /* 1 after an allocation failed */
} ath_buf;

#define ATH_BUF_INIT { NULL, 0, 0, 0 }

ATH_HIDDEN void ath_buf_init(ath_buf *b);
/* Frees the bytes and re-initialises; ath_buf_free on an init'ed buf is fine. */
ATH_HIDDEN void ath_buf_free(ath_buf *b);
/* Keeps capacity, sets len 0 and clears oom. */
ATH_HIDDEN void ath_buf_reset(ath_buf *b);
/* Returns 0 on success, -1 when out of memory (and sets oom). */
ATH_HIDDEN int ath_buf_reserve(ath_buf *b, size_t extra);
ATH_HIDDEN int ath_buf_append(ath_buf *b, const void *p, size_t n);
ATH_HIDDEN int ath_buf_puts(ath_buf *b, const char *s);
ATH_HIDDEN int ath_buf_putc(ath_buf *b, char c);
ATH_HIDDEN int ath_buf_printf(ath_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;
/* Hands the bytes to the caller (who ath_free()s them) and resets b.
 * Returns NULL if b is empty or oom (then nothing is handed over). */
ATH_HIDDEN char *ath_buf_detach(ath_buf *b, size_t *len_out);

#endif
