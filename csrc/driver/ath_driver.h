/* ath_driver.h — the one interface every database driver implements.
 * Owns: the vtable, the value exchange type and the connect options. A driver
 * (drv_sqlite.c, drv_pg.c, later a Lua-side driver) knows nothing of Lua, the
 * pool or the SQL compiler. Drivers are stateless tables; all state lives in
 * the ath_dconn/ath_dstmt objects they create.
 * Thread rule: one ath_dconn (and its statements) is used by one thread at a
 * time; different connections may be used from different threads at once. */
#ifndef ATH_DRIVER_H
#define ATH_DRIVER_H
#include <stddef.h>
#include <stdint.h>
#include "../base/ath_error.h"
#include "../base/ath_url.h"

typedef struct ath_dconn ath_dconn;   /* a driver's connection (opaque) */
typedef struct ath_dstmt ath_dstmt;   /* a driver's prepared statement (opaque) */

/* Value exchanged with drivers in both directions. */
typedef enum ath_vtype {
  ATH_V_NULL = 0,
  ATH_V_INT,       /* i */
  ATH_V_FLOAT,     /* f */
  ATH_V_BOOL,      /* i (0/1) */
  ATH_V_TEXT,      /* s.p / s.n: UTF-8 text (not necessarily NUL-terminated) */
  ATH_V_BLOB,      /* s.p / s.n: binary */
  ATH_V_NUMERIC,   /* s: exact decimal as text ("12.50") */
  ATH_V_JSON,      /* s: JSON document text; the binding decodes it */
  ATH_V_DATETIME,  /* s: ISO-8601 text (date, time or timestamp) */
  ATH_V_ARRAY      /* arr: items (a driver-owned array of values) */
} ath_vtype;

typedef struct ath_value {
  ath_vtype type;
  /* bind only: 1 when the caller keeps s.p's bytes alive and unchanged until
   * the statement is reset or rebound, so the driver may point at them
   * instead of copying (SQLITE_STATIC). 0: the driver must copy. */
  int borrowed;
  union {
    int64_t i;
    double f;
    struct { const char *p; size_t n; } s;
    struct { const struct ath_value *items; size_t n; } arr;
  } u;
} ath_value;

/* Transaction isolation, ATH_ISO_DEFAULT keeps the server's. */
typedef enum ath_isolation {
  ATH_ISO_DEFAULT = 0, ATH_ISO_READ_UNCOMMITTED, ATH_ISO_READ_COMMITTED,
  ATH_ISO_REPEATABLE_READ, ATH_ISO_SERIALIZABLE, ATH_ISO_AUTOCOMMIT
} ath_isolation;

/* Connect options common to all drivers; driver-specific ones arrive as
 * key/value strings (connect_args) the driver reads and may reject. */
typedef struct ath_connect_opts {
  const char *const *keys;     /* connect_args keys, nkv of them */
  const char *const *values;
  int nkv;
} ath_connect_opts;

/* Column description, valid until the statement is stepped again or reset. */
typedef struct ath_column_info {
  const char *name;            /* never NULL */
  const char *decltype;        /* declared type if known, else NULL */
  uint32_t type_oid;           /* PostgreSQL type OID, 0 elsewhere */
} ath_column_info;

typedef struct ath_driver {
  int version;                 /* ATH_DRIVER_VERSION this table was built for */
  const char *name;            /* "sqlite", "postgresql" */
  /* Feature flags of the connection (what the SQL looks like, placeholders
   * and RETURNING among it, is the dialect's: csrc/sql/ath_dialect.c). */
  unsigned supports_savepoints : 1;
  unsigned supports_transactional_ddl : 1;

  /* Open a connection. On failure *out is NULL, err filled. */
  ath_status (*connect)(const ath_url *url, const ath_connect_opts *opts,
                        ath_dconn **out, ath_error *err);
  /* Close and free. close(NULL) is a no-op. Finalizes nothing: callers must
   * finalize their statements first (the conn layer does). */
  void (*close)(ath_dconn *c);
  /* Execute SQL text with no parameters and no rows wanted (BEGIN, PRAGMA, DDL
   * scripts; may contain several statements on SQLite). */
  ath_status (*exec)(ath_dconn *c, const char *sql, ath_error *err);

  /* Prepare `sql` (len bytes, need not be NUL-terminated). */
  ath_status (*prepare)(ath_dconn *c, const char *sql, size_t len,
                        ath_dstmt **out, ath_error *err);
  int (*param_count)(ath_dstmt *s);
  /* Bind parameter idx (1-based). The driver copies what it needs (v's
   * memory may be reused as soon as bind returns) unless v->borrowed says
   * the bytes outlive the execution. */
  ath_status (*bind)(ath_dstmt *s, int idx, const ath_value *v, ath_error *err);
  /* Run / advance: ATH_ROW, ATH_DONE, or an error status. On PostgreSQL the
   * first step sends the query (and fetches the whole result, or one row in
   * streaming mode; see set_streaming). */
  ath_status (*step)(ath_dstmt *s, ath_error *err);
  int (*column_count)(ath_dstmt *s);
  void (*column_info)(ath_dstmt *s, int col, ath_column_info *out);  /* col 0-based */
  /* Read column col (0-based) of the current row. Text/blob pointers stay
   * valid until the next step/reset/finalize. Cannot report a failure (a
   * value that could not be decoded reads as NULL): callers use
   * ath_driver_column, which prefers column_value (version 2). */
  void (*column)(ath_dstmt *s, int col, ath_value *out);
  /* Rows changed by the last completed statement (INSERT/UPDATE/DELETE). */
  int64_t (*changes)(ath_dstmt *s);
  /* Back to the start: the statement can be bound and stepped again; previous
   * bindings are cleared. Never fails in a way callers must handle. */
  void (*reset)(ath_dstmt *s);
  void (*finalize)(ath_dstmt *s);   /* finalize(NULL) is a no-op */

  /* Row id of the last insert on this connection (SQLite); 0 if unknown. */
  int64_t (*last_insert_id)(ath_dconn *c);
  /* Transactions. begin starts one with the given isolation; savepoint names
   * are plain identifiers chosen by the caller ("sa_1"). */
  ath_status (*begin)(ath_dconn *c, ath_isolation iso, ath_error *err);
  ath_status (*commit)(ath_dconn *c, ath_error *err);
  ath_status (*rollback)(ath_dconn *c, ath_error *err);
  ath_status (*savepoint)(ath_dconn *c, const char *name, ath_error *err);
  ath_status (*release_savepoint)(ath_dconn *c, const char *name, ath_error *err);
  ath_status (*rollback_to_savepoint)(ath_dconn *c, const char *name, ath_error *err);
  /* 1 when the server-side session is inside a transaction block. */
  int (*in_transaction)(ath_dconn *c);
  /* Cheap liveness check: ATH_OK when the connection works. */
  ath_status (*ping)(ath_dconn *c, ath_error *err);
  /* 1 when err (from this connection) means the connection is unusable. */
  int (*is_disconnect)(ath_dconn *c, const ath_error *err);
  /* Ask the server to stop the statement running on c (another thread may
   * call this while c is busy). ATH_E_NOT_SUPPORTED if the driver can't. */
  ath_status (*cancel)(ath_dconn *c, ath_error *err);
  /* Streaming: after this, step fetches rows incrementally (PostgreSQL single
   * row mode / chunks); SQLite always streams. May be NULL. */
  void (*set_streaming)(ath_dstmt *s, int on);
  /* executemany: run s once per parameter set. bind_next binds the next set
   * into s (through the driver's bind) and returns ATH_ROW when it bound one,
   * ATH_DONE after the last, or an error status (err filled). The driver may
   * overlap executions (PostgreSQL pipelines them: one round trip per batch
   * instead of one per row). On error *failed_index is the 0-based set that
   * failed. *changes gets the total rows affected. May be NULL: the caller
   * then loops bind/step/reset itself. */
  ath_status (*execute_batch)(ath_dstmt *s,
                              ath_status (*bind_next)(void *ud, ath_dstmt *s, ath_error *err),
                              void *ud, int64_t *changes, long *failed_index, ath_error *err);
  /* 1 when a streaming statement with unread rows keeps the connection busy,
   * so the caller must not run anything else on it (PostgreSQL single-row
   * mode: libpq would discard the unread rows); 0 when statements interleave
   * (SQLite). */
  int stream_holds_connection;
  /* --- fields above: version 1 --- */
  /* column, reporting failure: ATH_OK, or an error status with err filled
   * (ATH_E_NOMEM when decoding the value ran out of memory) and out NULL.
   * A decoded value is never silently empty or truncated. */
  ath_status (*column_value)(ath_dstmt *s, int col, ath_value *out, ath_error *err);
  /* --- fields above: version 2 --- */
  /* Fork safety: c was opened by another process that still uses its
   * session (this process forked from it). Cut c off from the server without
   * sending anything and without touching that process's transaction.
   * Returns 1 when c and its statements may now be reset, finalized and
   * closed, which then free this process's memory only; 0 when they must be
   * left alone for good (the caller never calls the driver on them again and
   * their memory stays, bounded by the pool size). May be NULL: treated as 0. */
  int (*disown)(ath_dconn *c);
  /* --- fields above: version 3 --- */
} ath_driver;

/* 3: paramstyle and supports_returning left the table for the dialect's
 * facts (csrc/sql/ath_dialect.c), and disown (fork safety) was added; a
 * table must be rebuilt for 3. */
#define ATH_DRIVER_VERSION 3

/* The built-in drivers (NULL-safe lookups by dialect name). */
ATH_HIDDEN extern const ath_driver ath_driver_sqlite;
ATH_HIDDEN extern const ath_driver ath_driver_postgresql;
/* Driver for a dialect name ("sqlite", "postgresql"), or NULL. */
ATH_HIDDEN const ath_driver *ath_driver_find(const char *dialect);
/* Read column col of s's current row through column_value when the driver
 * has it (version >= 2), else through column (which cannot fail). */
ATH_HIDDEN ath_status ath_driver_column(const ath_driver *d, ath_dstmt *s, int col, ath_value *out,
                                        ath_error *err);
/* ATH_OK when sql (len bytes) can be sent as statement text; an ArgumentError
 * naming the offset when it holds a NUL byte, which libpq (a C string) would
 * silently cut the statement at. Every prepare path calls this first. */
ATH_HIDDEN ath_status ath_driver_check_sql(const char *sql, size_t len, ath_error *err);

#endif
