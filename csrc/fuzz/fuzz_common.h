/* fuzz_common.h — shared by the libFuzzer targets in csrc/fuzz/: a reader
 * that turns the fuzz input into choices, sizes and strings, and the check
 * macro every target uses for its invariants.
 * Each target defines LLVMFuzzerTestOneInput; it is linked either with
 * libFuzzer (make fuzz) or with replay_main.c (the corpus replay in
 * make test). A broken invariant aborts, so both report it as a crash. */
#ifndef ATH_FUZZ_COMMON_H
#define ATH_FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: print what broke, then abort (the
 * fuzzer keeps the input as a crash; the replay fails). */
#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Consumes the input front to back; past the end every read returns 0, so
 * any input decodes into something. */
typedef struct fuzz_reader {
  const uint8_t *p;
  size_t n;
} fuzz_reader;

static inline uint8_t fz_byte(fuzz_reader *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}

static inline uint32_t fz_u32(fuzz_reader *r) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 8 | fz_byte(r);
  return v;
}

static inline uint64_t fz_u64(fuzz_reader *r) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | fz_byte(r);
  return v;
}

/* A value in [0, n) (n > 0). */
static inline unsigned fz_pick(fuzz_reader *r, unsigned n) { return fz_byte(r) % n; }

/* A length-prefixed byte string (length byte, then up to that many bytes):
 * *len gets its length; the bytes point into the input. */
static inline const char *fz_bytes(fuzz_reader *r, size_t *len) {
  size_t want = fz_byte(r);
  if (want > r->n) want = r->n;
  const char *s = (const char *)r->p;
  r->p += want;
  r->n -= want;
  *len = want;
  return s;
}

/* The rest of the input. */
static inline const char *fz_rest(fuzz_reader *r, size_t *len) {
  const char *s = (const char *)r->p;
  *len = r->n;
  r->p += r->n;
  r->n = 0;
  return s;
}

/* A NUL-terminated copy of s[0..n) (malloc; the caller frees). */
static inline char *fz_strndup(const char *s, size_t n) {
  char *c = malloc(n + 1);
  if (c == NULL) abort();
  if (n) memcpy(c, s, n);
  c[n] = '\0';
  return c;
}

#endif
