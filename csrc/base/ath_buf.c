/* ath_buf.c — growable byte buffer (see ath_buf.h). */
#include "ath_buf.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ath_buf_init(ath_buf *b) {
  b->data = NULL; b->len = 0; b->cap = 0; b->oom = 0;
}

void ath_buf_free(ath_buf *b) {
  ath_free(b->data);
  ath_buf_init(b);
}

void ath_buf_reset(ath_buf *b) {
  b->len = 0; b->oom = 0;
  if (b->data) b->data[0] = '\0';
}

int ath_buf_reserve(ath_buf *b, size_t extra) {
  if (b->oom) return -1;
  size_t need = b->len + extra + 1;              /* +1: the NUL */
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  char *p = ath_realloc(b->data, cap);
  if (p == NULL) { b->oom = 1; return -1; }
  b->data = p; b->cap = cap;
  return 0;
}

int ath_buf_append(ath_buf *b, const void *p, size_t n) {
  if (ath_buf_reserve(b, n) != 0) return -1;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int ath_buf_puts(ath_buf *b, const char *s) { return ath_buf_append(b, s, strlen(s)); }

int ath_buf_putc(ath_buf *b, char c) { return ath_buf_append(b, &c, 1); }

int ath_buf_printf(ath_buf *b, const char *fmt, ...) {
  char small[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return -1;
  if ((size_t)n < sizeof small) return ath_buf_append(b, small, (size_t)n);
  if (ath_buf_reserve(b, (size_t)n) != 0) return -1;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

char *ath_buf_detach(ath_buf *b, size_t *len_out) {
  if (b->oom || b->data == NULL) { ath_buf_free(b); if (len_out) *len_out = 0; return NULL; }
  char *p = b->data;
  if (len_out) *len_out = b->len;
  ath_buf_init(b);
  return p;
}
