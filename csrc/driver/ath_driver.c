/* ath_driver.c — the registry of built-in drivers. */
#include "ath_driver.h"
#include <string.h>

const ath_driver *ath_driver_find(const char *dialect) {
  if (dialect == NULL) return NULL;
  if (strcmp(dialect, "sqlite") == 0) return &ath_driver_sqlite;
  if (strcmp(dialect, "postgresql") == 0) return &ath_driver_postgresql;
  return NULL;
}
