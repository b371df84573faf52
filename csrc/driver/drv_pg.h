/* drv_pg.h — internals shared by drv_pg.c (protocol) and drv_pg_types.c
 * (value conversion both ways). Not part of the driver interface. */
#ifndef ATH_DRV_PG_H
#define ATH_DRV_PG_H
#include "ath_driver.h"
#include <libpq-fe.h>

struct ath_dconn {
  PGconn *pg;
  unsigned long counter;         /* names prepared statements ath_s<N> */
  int disowned;                  /* opened by another process: never talk to the server (pg_disown) */
};

typedef struct pg_block { struct pg_block *next; } pg_block;   /* arena block header */

/* One server-side prepared statement of an ath_dstmt's SQL, parsed with one
 * set of parameter types (see "Parameter types" in drv_pg.c). */
typedef struct pg_variant {
  char name[32];
  int prepared;                  /* exists on the server (DEALLOCATE on finalize) */
  PGresult *desc;                /* PQdescribePrepared: parameter and column types; for more
                                  * than PG_DESCRIBE_MAX_PARAMS, the first result's columns
                                  * (NULL until the first step) */
  Oid *ptypes;                   /* parameter types when desc lacks them, else NULL */
  Oid *key;                      /* the types it was parsed with, nparams of them (0 = the
                                  * server infers); NULL for the untyped base */
  unsigned long used;            /* last use, for evicting the least recently used */
} pg_variant;

/* Typed variants kept per statement besides the untyped base: a statement
 * meets few sets of value kinds (NULL or not per parameter, int4 or int8). */
#define PG_MAX_VARIANTS 8

/* A number's text ("%.17g" of a double is at most 24 bytes, an int64's 20)
 * or a string shorter than this, NUL included, is kept in the statement. */
#define PG_SHORT_PARAM 32
typedef char pg_short_param[PG_SHORT_PARAM];

struct ath_dstmt {
  ath_dconn *c;
  char *sql;                     /* owned C string: typed variants are parsed on demand */
  pg_variant base;               /* untyped (every parameter left to the server): parsed by
                                  * prepare when there are no parameters, else on first need */
  pg_variant *typed[PG_MAX_VARIANTS];
  int ntyped;
  pg_variant *cur;               /* the variant of the current execution (columns), or NULL */
  unsigned long tick;            /* use counter for the variants' LRU */
  int nparams, ncols;
  char **pvals;                  /* the values as sent (NULL = SQL NULL): owned copies where
                                  * powned[i], else in pshort[i] */
  int *plens, *pfmts;
  unsigned char *powned;         /* per parameter: 1 = pvals[i] is an owned copy to free */
  pg_short_param *pshort;        /* per parameter: room for a number's, a bool's or a short
                                  * string's text, so binding one allocates nothing */
  Oid *want;                     /* per parameter: the type to parse it with, 0 = server's */
  unsigned char *ptext;          /* per parameter: 1 = bound text, sent as bytea when the
                                  * server takes bytea there, refused with a zero byte else */
  int nwant;                     /* parameters with want[i] != 0 */
  PGresult *res;                 /* current result (whole, or one row when streaming) */
  int row, nrows;
  long long rows_seen;
  int64_t changes;
  int done;                      /* stepped past the end (until reset) */
  int streaming, sent, row_mode_done;
  pg_block *arena;               /* converted values of the current row */
};

/* Value conversion (drv_pg_types.c). */
/* Convert v into parameter i's buffer and record the type it must be parsed
 * with (want[i]), judged against the base's inferred type. */
ATH_HIDDEN ath_status ath_drv_pg_bind_value(ath_dstmt *s, int i, const ath_value *v, ath_error *err);
/* Type the server inferred for parameter i of variant v (0 if unknown). */
ATH_HIDDEN Oid ath_drv_pg_param_type(const ath_dstmt *s, const pg_variant *v, int i);
/* After the variant is chosen: bound text where the variant takes bytea goes
 * binary (zero bytes included); elsewhere text with a zero byte is a DataError. */
ATH_HIDDEN ath_status ath_drv_pg_finish_params(ath_dstmt *s, ath_error *err);
ATH_HIDDEN void ath_drv_pg_clear_params(ath_dstmt *s);
/* The per-parameter arrays for s->nparams parameters (at least one slot),
 * all or none: ATH_OK, or ATH_E_NOMEM with every array NULL. */
ATH_HIDDEN ath_status ath_drv_pg_alloc_params(ath_dstmt *s, ath_error *err);
/* Clears the parameters and frees the arrays (NULL after). */
ATH_HIDDEN void ath_drv_pg_free_params(ath_dstmt *s);
/* Decode one result text into out (arena memory until the next step):
 * ATH_OK, or ATH_E_NOMEM with out NULL. */
ATH_HIDDEN ath_status ath_drv_pg_convert(ath_dstmt *s, Oid type, const char *text, size_t len, ath_value *out,
                                         ath_error *err);
ATH_HIDDEN void ath_drv_pg_arena_reset(ath_dstmt *s);
/* Frees v's server statement (DEALLOCATE when deallocate and the connection
 * is alive) and its memory, leaving v zeroed. */
ATH_HIDDEN void ath_drv_pg_free_variant(ath_dstmt *s, pg_variant *v, int deallocate);
/* Frees s (DEALLOCATE first when deallocate and the connection is alive). */
ATH_HIDDEN void ath_drv_pg_free_stmt(ath_dstmt *s, int deallocate);

/* The checks pg_prepare makes of statement text (no NUL, not empty, at most
 * 65535 placeholders) and the highest $n in it, for the cosocket driver. */
ATH_HIDDEN ath_status ath_drv_pg_check_statement(const char *sql, size_t len, int *nparams, ath_error *err);

#endif
