/* drv_pg.c — PostgreSQL driver (placeholder until the libpq driver lands):
 * every entry point reports that PostgreSQL is not available yet. */
#include "ath_driver.h"

static ath_status pg_connect(const ath_url *url, const ath_connect_opts *opts, ath_dconn **out, ath_error *err) {
  (void)url; (void)opts; *out = NULL;
  return ath_error_set(err, ATH_E_NOT_SUPPORTED, "the PostgreSQL driver is not built yet");
}

const ath_driver ath_driver_postgresql = {
  ATH_DRIVER_VERSION, "postgresql", 1, 1, 1, 1,
  pg_connect, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};
