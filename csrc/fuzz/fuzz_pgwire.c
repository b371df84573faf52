/* fuzz_pgwire.c — the PostgreSQL wire codec (csrc/driver/pgw.c) fed server
 * bytes, as the cosocket driver feeds it what the socket delivers.
 * Input: a byte stream of backend messages; the first byte also picks how
 * many columns DataRows are read with (the RowDescription the driver would
 * have seen).
 * Invariants:
 *  - framing consumes the stream message by message: each message says how
 *    many bytes it takes, never fewer than its 5-byte header, or is refused;
 *  - every reader returns ATH_OK or an error with a message, reads no byte
 *    past the body (each body is copied into its own exact-size allocation,
 *    so ASan sees any overread), and frees what it allocates on failure;
 *  - nothing stays allocated after the input. (SCRAM is left to the cmocka
 *    tests: a server-chosen PBKDF2 iteration count makes inputs slow.) */
#include "fuzz_common.h"
#include "driver/pgw.h"
#include "base/ath_alloc.h"

static void read_one(const pgw_msg *m, int ncols) {
  ath_error err;
  err.message[0] = '\0';
  ath_status st = ATH_OK;
  switch (m->type) {
    case 'E': case 'N': {
      pgw_fields f;
      st = pgw_read_fields(m, &f, &err);
      if (st == ATH_OK) {
        ath_status kind = pgw_error_from_fields(&f, &err);
        FUZZ_CHECK(kind != ATH_OK && err.message[0], "an ErrorResponse gives an error kind and a message");
      }
      break;
    }
    case 'R': { int32_t code; const char *d; size_t n;
      st = pgw_read_auth(m, &code, &d, &n, &err);
      if (st == ATH_OK) { FUZZ_CHECK(d + n == m->body + m->len, "auth data ends with the body"); pgw_sasl_offers(d, n, "SCRAM-SHA-256"); }
      break; }
    case 'S': { const char *k, *v; st = pgw_read_parameter_status(m, &k, &v, &err); break; }
    case 'K': { uint32_t a, b; st = pgw_read_backend_key(m, &a, &b, &err); break; }
    case 'Z': { char s; st = pgw_read_ready(m, &s, &err); break; }
    case 'C': { const char *tag; int64_t r; st = pgw_read_command_complete(m, &tag, &r, &err);
      if (st == ATH_OK) FUZZ_CHECK(r >= 0 || tag[0], "a rowcount comes from a tag"); break; }
    case 'T': { pgw_column *cols; int n; st = pgw_read_row_description(m, &cols, &n, &err);
      if (st == ATH_OK) { for (int i = 0; i < n; i++) (void)strlen(cols[i].name); ath_free(cols); } break; }
    case 't': { uint32_t *oids; int n; st = pgw_read_parameter_description(m, &oids, &n, &err);
      if (st == ATH_OK) ath_free(oids); break; }
    case 'D': {
      const char *vals[16]; int32_t lens[16]; int n;
      st = pgw_data_row_count(m, &n, &err);
      if (st == ATH_OK) st = pgw_read_data_row(m, ncols, vals, lens, &err);
      if (st == ATH_OK) {
        for (int i = 0; i < ncols; i++) {
          if (lens[i] < 0) continue;
          FUZZ_CHECK(vals[i] >= m->body && vals[i] + lens[i] <= m->body + m->len, "column %d inside the body", i);
        }
      }
      break;
    }
    default: break;
  }
  if (st != ATH_OK) FUZZ_CHECK(err.message[0] != '\0', "an error has a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  int ncols = data[0] % 17;
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  long live = ath_alloc_live();
  while (n > 0) {
    pgw_msg m;
    size_t used;
    ath_error err;
    ath_status st = pgw_frame(p, n, &m, &used, &err);
    if (st == ATH_DONE) { FUZZ_CHECK(used > n && used >= 5, "more is wanted than there is"); break; }
    if (st != ATH_ROW) { FUZZ_CHECK(err.disconnect == 1, "a bad frame drops the connection"); break; }
    FUZZ_CHECK(used >= 5 && used <= n && m.len == used - 5, "a frame takes its header and body");
    char *body = ath_malloc(m.len ? m.len : 1);
    if (body == NULL) break;
    memcpy(body, m.body, m.len);
    pgw_msg copy = { m.type, body, m.len };
    read_one(&copy, ncols);
    ath_free(body);
    p += used; n -= used;
  }
  FUZZ_CHECK(ath_alloc_live() == live, "nothing leaks (%ld allocations live)", ath_alloc_live() - live);
  return 0;
}
