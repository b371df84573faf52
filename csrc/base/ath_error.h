/* ath_error.h — status codes and the error record of the C core.
 * Owns: ath_status (what every core function returns) and ath_error (what a
 * failure carries). The core never raises: it returns a status and fills an
 * ath_error; only csrc/lua/ turns that into a Lua error object. The message
 * lives in an inline buffer, so raising after freeing everything never leaks.
 * Must not include: lua.h. */
#ifndef ATH_ERROR_H
#define ATH_ERROR_H
#include <stdarg.h>
#include "ath_alloc.h"

/* Status codes. ATH_OK is 0; ATH_ROW/ATH_DONE are the non-error results of a
 * step; every other value is an error and doubles as the error's kind, which
 * maps 1:1 onto the API.md §12 kinds (ath_error_kind_name). */
typedef enum ath_status {
  ATH_OK = 0,
  ATH_E_ARGUMENT = 1,        /* ArgumentError: bad input from the caller */
  ATH_E_NOMEM,               /* reported as OperationalError "out of memory" */
  ATH_E_COMPILE,             /* CompileError */
  ATH_E_DBAPI,               /* DBAPIError: database error of no finer kind */
  ATH_E_INTEGRITY,           /* IntegrityError */
  ATH_E_OPERATIONAL,         /* OperationalError */
  ATH_E_PROGRAMMING,         /* ProgrammingError */
  ATH_E_DATA,                /* DataError */
  ATH_E_INTERFACE,           /* InterfaceError: misuse of the driver API */
  ATH_E_DISCONNECTION,       /* DisconnectionError */
  ATH_E_POOL_TIMEOUT,        /* PoolTimeoutError */
  ATH_E_INVALID_REQUEST,     /* InvalidRequestError: e.g. use of a closed object */
  ATH_E_NOT_SUPPORTED,       /* CompileError-like: feature absent in a driver */
  ATH_E__COUNT,
  ATH_ROW = 100,             /* step produced a row */
  ATH_DONE = 101             /* step finished */
} ath_status;

#define ATH_ERROR_MSG_MAX 512

typedef struct ath_error {
  ath_status kind;           /* ATH_OK when no error is recorded */
  int code;                  /* driver code: SQLite extended result code, else 0 */
  char sqlstate[6];          /* PostgreSQL SQLSTATE ("23505"), "" if none */
  int disconnect;            /* 1 when the driver judged the connection dead */
  char constraint[64];       /* violated constraint's name, "" if unknown */
  char message[ATH_ERROR_MSG_MAX];
} ath_error;

/* Clears e (kind = ATH_OK, empty strings). e may be NULL. */
ATH_HIDDEN void ath_error_clear(ath_error *e);
/* Records a failure of `kind` with a printf-style message (truncated to fit)
 * and returns `kind`, so callers can write `return ath_error_set(...)`.
 * e may be NULL (the status is still returned). */
ATH_HIDDEN ath_status ath_error_set(ath_error *e, ath_status kind, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;
ATH_HIDDEN ath_status ath_error_setv(ath_error *e, ath_status kind, const char *fmt, va_list ap);
/* Shorthand for the out-of-memory failure. */
ATH_HIDDEN ath_status ath_error_nomem(ath_error *e);
/* API.md §12 name of a kind: "IntegrityError", ...; "Error" for unknown. */
ATH_HIDDEN const char *ath_error_kind_name(ath_status kind);

#endif
