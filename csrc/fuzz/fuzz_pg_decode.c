/* fuzz_pg_decode.c — the PostgreSQL result decoders (drv_pg_types.c:
 * ath_drv_pg_convert) fed arbitrary text for each type OID they know
 * (integers, floats, bool, bytea hex and escape, numeric, json/jsonb, dates,
 * times and timestamps with zones, one-dimensional arrays of all of them)
 * and for unknown OIDs.
 * Input: byte 0 picks the OID (from the table below; 250-255: the next four
 * bytes are the OID itself), the rest is the value text; like libpq's
 * PQgetvalue, the decoder gets it NUL-terminated.
 * Invariants: no crash, no read outside the text or the statement's arena
 * (every returned byte is read, so ASan sees it), nothing leaks once the
 * arena is reset; the type decoded is the OID's (an array that is not a
 * well-formed one-dimensional literal stays TEXT); an array has at most one
 * item per comma plus one; a "\x" bytea has (length - 2) / 2 bytes and
 * decodes well-formed hex exactly; an integer written canonically comes
 * back as that integer; a bool is true exactly for "t". */
#include "fuzz_common.h"
#include "driver/drv_pg.h"
#include <errno.h>

static const Oid OIDS[] = {
  16, 17, 20, 21, 23, 26, 25, 114, 700, 701, 1042, 1043, 1082, 1083, 1114, 1184, 1266, 1700, 2950, 3802,
  1000, 1001, 1005, 1007, 1009, 1014, 1015, 1016, 1021, 1022, 1115, 1182, 1183, 1185, 1231, 199, 2951, 3807, 1270,
  0, 19, 1560,
};
#define NOIDS (sizeof OIDS / sizeof OIDS[0])

static Oid elem_of(Oid t) {              /* mirrors array_elem() in drv_pg_types.c */
  switch (t) {
    case 1000: return 16;   case 1001: return 17;   case 1005: return 21;   case 1007: return 23;
    case 1016: return 20;   case 1021: return 700;  case 1022: return 701;  case 1231: return 1700;
    case 1009: return 25;   case 1015: return 1043; case 1014: return 1042; case 2951: return 2950;
    case 1182: return 1082; case 1115: return 1114; case 1185: return 1184; case 1183: return 1083;
    case 1270: return 1266; case 199: return 114;   case 3807: return 3802;
    default: return 0;
  }
}

static ath_vtype type_of(Oid t) {
  switch (t) {
    case 20: case 21: case 23: case 26: return ATH_V_INT;
    case 700: case 701: return ATH_V_FLOAT;
    case 16: return ATH_V_BOOL;
    case 1700: return ATH_V_NUMERIC;
    case 114: case 3802: return ATH_V_JSON;
    case 1082: case 1083: case 1266: case 1114: case 1184: return ATH_V_DATETIME;
    case 17: return ATH_V_BLOB;
    default: return ATH_V_TEXT;
  }
}

static volatile unsigned sink;

/* Reads every byte the value points at. */
static void touch(const ath_value *v) {
  if (v->type == ATH_V_ARRAY) {
    for (size_t i = 0; i < v->u.arr.n; i++) touch(&v->u.arr.items[i]);
  } else if (v->type >= ATH_V_TEXT) {
    FUZZ_CHECK(v->u.s.p != NULL || v->u.s.n == 0, "a NULL string with %zu bytes", v->u.s.n);
    for (size_t i = 0; i < v->u.s.n; i++) sink += (unsigned char)v->u.s.p[i];
  }
}

static int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void check_scalar(Oid t, const char *text, size_t len, const ath_value *out) {
  if (type_of(t) == ATH_V_BLOB) {
    FUZZ_CHECK(out->type == ATH_V_BLOB, "bytea decoded as type %d", out->type);
    if (len >= 2 && text[0] == '\\' && text[1] == 'x') {
      FUZZ_CHECK(out->u.s.n == (len - 2) / 2, "\\x bytea of %zu chars gave %zu bytes", len, out->u.s.n);
      int wellformed = len % 2 == 0;
      for (size_t i = 2; i < len && wellformed; i++) wellformed = hex(text[i]) >= 0;
      for (size_t i = 0; wellformed && i < out->u.s.n; i++)
        FUZZ_CHECK((unsigned char)out->u.s.p[i] == hex(text[2 + 2 * i]) * 16 + hex(text[3 + 2 * i]), "bytea byte %zu", i);
    }
    return;
  }
  FUZZ_CHECK(out->type == type_of(t), "OID %u decoded as type %d", (unsigned)t, out->type);
  if (out->type == ATH_V_INT && len > 0 && len < 20 && strlen(text) == len) {
    size_t i = text[0] == '-';
    int canonical = i < len;
    for (; i < len && canonical; i++) canonical = text[i] >= '0' && text[i] <= '9';
    if (canonical) {
      errno = 0;
      long long want = strtoll(text, NULL, 10);
      if (errno == 0) FUZZ_CHECK(out->u.i == want, "'%s' decoded as %lld", text, (long long)out->u.i);
    }
  }
  if (out->type == ATH_V_BOOL) FUZZ_CHECK(out->u.i == (len > 0 && text[0] == 't'), "bool '%.*s' decoded as %d",
                                          (int)len, text, (int)out->u.i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r = { data, size };
  uint8_t pick = fz_byte(&r);
  Oid oid = pick >= 250 ? (Oid)fz_u32(&r) : OIDS[pick % NOIDS];
  size_t len;
  const char *rest = fz_rest(&r, &len);
  char *text = fz_strndup(rest, len);               /* exactly len + 1 bytes, as libpq hands it */
  long live = ath_alloc_live();
  ath_dstmt *s = ath_calloc(1, sizeof *s);
  FUZZ_CHECK(s != NULL, "out of memory");
  ath_value out;
  memset(&out, 0, sizeof out);
  ath_error err;
  ath_error_clear(&err);
  ath_status st = ath_drv_pg_convert(s, oid, text, len, &out, &err);
  FUZZ_CHECK(st == ATH_OK, "decoding OID %u failed with memory to spare: %s", (unsigned)oid, err.message);
  touch(&out);
  Oid elem = elem_of(oid);
  if (elem) {
    if (out.type == ATH_V_ARRAY) {
      size_t commas = 0;
      for (size_t i = 0; i < len; i++) commas += text[i] == ',';
      FUZZ_CHECK(len >= 2 && text[0] == '{', "'%s' decoded as an array", text);
      FUZZ_CHECK(out.u.arr.n <= commas + 1, "%zu items from %zu commas", out.u.arr.n, commas);
      for (size_t i = 0; i < out.u.arr.n; i++) {
        const ath_value *it = &out.u.arr.items[i];
        if (it->type != ATH_V_NULL)
          FUZZ_CHECK(it->type == type_of(elem), "item %zu of OID %u decoded as type %d", i, (unsigned)oid, it->type);
      }
    } else {
      FUZZ_CHECK(out.type == ATH_V_TEXT, "array OID %u decoded as type %d", (unsigned)oid, out.type);
    }
  } else {
    check_scalar(oid, text, len, &out);
  }
  ath_drv_pg_arena_reset(s);
  ath_free(s);
  FUZZ_CHECK(ath_alloc_live() == live, "%ld blocks leaked", ath_alloc_live() - live);
  free(text);
  return 0;
}
