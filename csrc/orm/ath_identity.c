/* ath_identity.c — identity keys (see ath_identity.h). */
#include "ath_identity.h"
#include <math.h>
#include <string.h>

/* Append v as 8 big-endian bytes (the key is compared bytewise only, but a
 * fixed order keeps keys the same on every host). */
static void put_u64(ath_buf *out, uint64_t v) {
  unsigned char b[8];
  for (int k = 7; k >= 0; k--) { b[k] = (unsigned char)(v & 0xff); v >>= 8; }
  ath_buf_append(out, b, sizeof b);
}

/* True when f is integral and an int64 holds it exactly (then *i is it).
 * 2^63 itself is out of range: the comparison is against the double 2^63. */
static int float_as_int(double f, int64_t *i) {
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return 0;
  if (f != floor(f)) return 0;
  *i = (int64_t)f;
  return 1;
}

ath_status ath_identity_key(uint32_t mapper_id, const ath_idval *vals, size_t n, ath_buf *out, ath_error *err) {
  if (n == 0 || n > ATH_IDENTITY_MAX_VALUES || vals == NULL)
    return ath_error_set(err, ATH_E_ARGUMENT, "an identity key needs 1 to %d values, got %zu",
                         ATH_IDENTITY_MAX_VALUES, n);
  for (size_t k = 0; k < n; k++) {                 /* check everything before writing */
    const ath_idval *v = &vals[k];
    if (v->type == ATH_IDV_FLOAT && isnan(v->u.f))
      return ath_error_set(err, ATH_E_ARGUMENT, "primary key value %zu is NaN", k + 1);
    if (v->type < ATH_IDV_INT || v->type > ATH_IDV_BOOL)
      return ath_error_set(err, ATH_E_ARGUMENT, "primary key value %zu has no identity (type %d)", k + 1,
                           (int)v->type);
  }
  size_t start = out->len;
  put_u64(out, mapper_id);
  for (size_t k = 0; k < n; k++) {
    const ath_idval *v = &vals[k];
    int64_t i;
    switch (v->type) {
      case ATH_IDV_INT:
        ath_buf_putc(out, 'i'); put_u64(out, (uint64_t)v->u.i); break;
      case ATH_IDV_FLOAT:
        if (float_as_int(v->u.f, &i)) { ath_buf_putc(out, 'i'); put_u64(out, (uint64_t)i); }
        else {
          uint64_t bits;
          double f = v->u.f == 0.0 ? 0.0 : v->u.f;   /* -0.0 is 0 (integral: never here) */
          memcpy(&bits, &f, sizeof bits);
          ath_buf_putc(out, 'f'); put_u64(out, bits);
        }
        break;
      case ATH_IDV_STRING:
        ath_buf_putc(out, 's'); put_u64(out, (uint64_t)v->u.s.n);
        if (v->u.s.n) ath_buf_append(out, v->u.s.p, v->u.s.n);
        break;
      case ATH_IDV_BOOL:
        ath_buf_putc(out, v->u.i ? 'T' : 'F'); break;
    }
  }
  if (out->oom) {
    out->len = start;                              /* as it was (the bytes stay allocated) */
    out->oom = 0;
    if (out->data) out->data[start] = '\0';
    return ath_error_nomem(err);
  }
  return ATH_OK;
}
