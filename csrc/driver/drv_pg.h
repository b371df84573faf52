/* drv_pg.h — internals shared by drv_pg.c (protocol) and drv_pg_types.c
 * (value conversion both ways). Not part of the driver interface. */
#ifndef ATH_DRV_PG_H
#define ATH_DRV_PG_H
#include "ath_driver.h"
#include <libpq-fe.h>

struct ath_dconn {
  PGconn *pg;
  unsigned long counter;         /* names prepared statements ath_s<N> */
};

typedef struct pg_block { struct pg_block *next; } pg_block;   /* arena block header */

struct ath_dstmt {
  ath_dconn *c;
  char name[32];
  int prepared;                  /* exists on the server (DEALLOCATE on finalize) */
  PGresult *desc;                /* PQdescribePrepared: parameter and column types; for more
                                  * than PG_DESCRIBE_MAX_PARAMS, the first result's columns
                                  * (NULL until the first step) */
  Oid *ptypes;                   /* parameter types when desc lacks them, else NULL */
  int nparams, ncols;
  char **pvals;                  /* owned copies (NULL = SQL NULL) */
  int *plens, *pfmts;
  PGresult *res;                 /* current result (whole, or one row when streaming) */
  int row, nrows;
  long long rows_seen;
  int64_t changes;
  int done;                      /* stepped past the end (until reset) */
  int streaming, sent, row_mode_done;
  pg_block *arena;               /* converted values of the current row */
};

/* Value conversion (drv_pg_types.c). */
ATH_HIDDEN ath_status ath_drv_pg_bind_value(ath_dstmt *s, int i, const ath_value *v, ath_error *err);
ATH_HIDDEN void ath_drv_pg_clear_params(ath_dstmt *s);
/* Decode one result text into out (arena memory until the next step):
 * ATH_OK, or ATH_E_NOMEM with out NULL. */
ATH_HIDDEN ath_status ath_drv_pg_convert(ath_dstmt *s, Oid type, const char *text, size_t len, ath_value *out,
                                         ath_error *err);
ATH_HIDDEN void ath_drv_pg_arena_reset(ath_dstmt *s);
/* Frees s (DEALLOCATE first when deallocate and the connection is alive). */
ATH_HIDDEN void ath_drv_pg_free_stmt(ath_dstmt *s, int deallocate);

#endif
