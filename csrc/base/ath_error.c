/* ath_error.c — status codes and the error record (see ath_error.h). */
#include "ath_error.h"
#include <stdio.h>
#include <string.h>

void ath_error_clear(ath_error *e) {
  if (e == NULL) return;
  e->kind = ATH_OK;
  e->code = 0;
  e->sqlstate[0] = '\0';
  e->disconnect = 0;
  e->constraint[0] = '\0';
  e->message[0] = '\0';
}

ath_status ath_error_setv(ath_error *e, ath_status kind, const char *fmt, va_list ap) {
  if (e == NULL) return kind;
  ath_error_clear(e);
  e->kind = kind;
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  return kind;
}

ath_status ath_error_set(ath_error *e, ath_status kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ath_status s = ath_error_setv(e, kind, fmt, ap);
  va_end(ap);
  return s;
}

ath_status ath_error_nomem(ath_error *e) {
  return ath_error_set(e, ATH_E_NOMEM, "out of memory");
}

const char *ath_error_kind_name(ath_status kind) {
  switch (kind) {
    case ATH_E_ARGUMENT: return "ArgumentError";
    case ATH_E_NOMEM: return "OperationalError";
    case ATH_E_COMPILE: return "CompileError";
    case ATH_E_DBAPI: return "DBAPIError";
    case ATH_E_INTEGRITY: return "IntegrityError";
    case ATH_E_OPERATIONAL: return "OperationalError";
    case ATH_E_PROGRAMMING: return "ProgrammingError";
    case ATH_E_DATA: return "DataError";
    case ATH_E_INTERFACE: return "InterfaceError";
    case ATH_E_DISCONNECTION: return "DisconnectionError";
    case ATH_E_POOL_TIMEOUT: return "PoolTimeoutError";
    case ATH_E_INVALID_REQUEST: return "InvalidRequestError";
    case ATH_E_NOT_SUPPORTED: return "CompileError";
    default: return "Error";
  }
}
