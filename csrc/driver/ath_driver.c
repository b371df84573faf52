/* ath_driver.c — the registry of built-in drivers, the checks every
 * driver applies to statement text, and reading a column across driver
 * versions. */
#include "ath_driver.h"
#include <string.h>

const ath_driver *ath_driver_find(const char *dialect) {
  if (dialect == NULL) return NULL;
  if (strcmp(dialect, "sqlite") == 0) return &ath_driver_sqlite;
  if (strcmp(dialect, "postgresql") == 0) return &ath_driver_postgresql;
  return NULL;
}

ath_status ath_driver_column(const ath_driver *d, ath_dstmt *s, int col, ath_value *out, ath_error *err) {
  if (d->version >= 2 && d->column_value != NULL) return d->column_value(s, col, out, err);
  d->column(s, col, out);
  return ATH_OK;
}

ath_status ath_driver_check_sql(const char *sql, size_t len, ath_error *err) {
  const char *nul = len ? memchr(sql, '\0', len) : NULL;
  if (nul == NULL) return ATH_OK;
  return ath_error_set(err, ATH_E_ARGUMENT,
                       "SQL text contains a NUL byte at offset %zu: SQL cannot hold one "
                       "(send binary data as a bound parameter; an identifier cannot contain NUL)",
                       (size_t)(nul - sql));
}
