/* ath_identity.h — identity keys of the ORM's identity map.
 * Owns: the encoding of (mapper id, primary key values) into one byte
 * string, so one database row has one key however its key values were
 * spelled (1 and 1.0 are the same row). The Lua binding (csrc/lua/l_orm.c)
 * keeps the objects; this file only computes keys.
 * Must not include: lua.h (orm/ depends on base/ only). */
#ifndef ATH_IDENTITY_H
#define ATH_IDENTITY_H
#include <stddef.h>
#include <stdint.h>
#include "../base/ath_buf.h"
#include "../base/ath_error.h"

typedef enum ath_idval_type {
  ATH_IDV_INT = 1,              /* u.i */
  ATH_IDV_FLOAT,                /* u.f: an integral value within int64 is encoded as INT */
  ATH_IDV_STRING,               /* u.s: bytes, not NUL-terminated, may hold NULs */
  ATH_IDV_BOOL                  /* u.i: 0 or 1 */
} ath_idval_type;

typedef struct ath_idval {
  ath_idval_type type;
  union {
    int64_t i;
    double f;
    struct { const char *p; size_t n; } s;
  } u;
} ath_idval;

/* Appends the identity key of (mapper_id, vals[0..n)) to out: the mapper id,
 * then per value a type tag and its bytes (integers as 8 bytes big-endian,
 * floats as their 8 IEEE bytes, strings length-prefixed), so no two
 * different tuples share a key. n must be 1..ATH_IDENTITY_MAX_VALUES.
 * Returns ATH_OK; ATH_E_ARGUMENT for n out of range, an unknown type or a
 * NaN (no row has a NaN key; NaN is not even equal to itself); ATH_E_NOMEM
 * when out could not grow (out is then left as it was, usable again). */
#define ATH_IDENTITY_MAX_VALUES 32
ATH_HIDDEN ath_status ath_identity_key(uint32_t mapper_id, const ath_idval *vals, size_t n,
                                       ath_buf *out, ath_error *err);

#endif
