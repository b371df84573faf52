/* ath_url.h — database URL parsing: "dialect[+driver]://user:pass@host:port/db?k=v".
 * Owns: the parsed, percent-decoded parts (one allocation tree, freed by
 * ath_url_free). Errors name the bad part ("port '12x' is not a number").
 * Must not include: lua.h, driver headers. */
#ifndef ATH_URL_H
#define ATH_URL_H
#include "ath_error.h"

typedef struct ath_url_param {
  char *key;                 /* percent-decoded */
  char *value;               /* percent-decoded, "" when written as "?flag" */
} ath_url_param;

typedef struct ath_url {
  char *dialect;             /* "sqlite", "postgresql" ("postgres" normalised), "mysql" */
  char *driver;              /* the part after '+' ("psycopg"), NULL if absent */
  char *username;            /* NULL if absent */
  char *password;            /* NULL if absent ("" if written as "user:@") */
  char *host;                /* NULL if absent; may be a socket directory */
  int port;                  /* 0 if absent */
  char *database;            /* NULL if absent; sqlite: the file path, ":memory:" for memory */
  ath_url_param *params;     /* query parameters in the order written */
  int nparams;
} ath_url;

/* Parses `text`. On success *out owns a new ath_url (free with ath_url_free).
 * On failure returns ATH_E_ARGUMENT with a message naming the bad part, and
 * *out is NULL. SQLite forms: "sqlite://" and "sqlite:///:memory:" → ":memory:";
 * "sqlite:///rel.db" → "rel.db"; "sqlite:////abs.db" → "/abs.db". */
ATH_HIDDEN ath_status ath_url_parse(const char *text, ath_url **out, ath_error *err);
/* ath_url_free(NULL) is a no-op. */
ATH_HIDDEN void ath_url_free(ath_url *u);
/* Value of the last query parameter named key, or NULL. */
ATH_HIDDEN const char *ath_url_param_get(const ath_url *u, const char *key);
/* The URL re-rendered with the password shown as "***" (percent-encoding
 * re-applied where needed). Caller frees with ath_free; NULL on OOM. */
ATH_HIDDEN char *ath_url_render_masked(const ath_url *u);

#endif
