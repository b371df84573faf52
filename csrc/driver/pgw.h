/* pgw.h — a sans-I/O codec of the PostgreSQL v3 wire protocol: it builds
 * the frontend's messages into an ath_buf and reads the backend's messages
 * out of bytes handed to it, and knows no sockets. The cosocket driver
 * (lua/athanor/drivers/pgwire.lua, through csrc/lua/l_pgwire.c) does the I/O.
 * Also here: the client side of MD5 and SCRAM-SHA-256 authentication (hashes,
 * HMAC and PBKDF2 from OpenSSL's libcrypto) and the mapping of an
 * ErrorResponse's SQLSTATE to an ath_status kind, the same as the libpq
 * driver's (drv_pg.c pg_fail).
 * Every reader checks its bounds: a truncated or malformed message is
 * ATH_E_OPERATIONAL with disconnect set ("protocol violation"), never a read
 * past the body. Must not include: lua.h, libpq. */
#ifndef ATH_PGW_H
#define ATH_PGW_H
#include <stddef.h>
#include <stdint.h>
#include "../base/ath_buf.h"
#include "../base/ath_error.h"

/* Longest backend message accepted (libpq allows up to 1 GB for data rows). */
#define PGW_MAX_MESSAGE (1024u * 1024u * 1024u)

/* ------------------------------------------------ frontend (we send) */

/* StartupMessage v3.0 with n key/value pairs (user, database, ...). */
ATH_HIDDEN int pgw_put_startup(ath_buf *b, const char *const *keys, const char *const *vals, int n);
/* SSLRequest: answered by one byte, 'S' (go on with TLS) or 'N'. */
ATH_HIDDEN int pgw_put_ssl_request(ath_buf *b);
/* PasswordMessage with a cleartext password. */
ATH_HIDDEN int pgw_put_password(ath_buf *b, const char *password);
/* PasswordMessage answering AuthenticationMD5Password:
 * "md5" + md5hex(md5hex(password + user) + salt). */
ATH_HIDDEN int pgw_put_md5_password(ath_buf *b, const char *user, const char *password, const unsigned char salt[4]);
/* SASLInitialResponse (mechanism, then the client-first-message). */
ATH_HIDDEN int pgw_put_sasl_initial(ath_buf *b, const char *mechanism, const char *data, size_t n);
/* SASLResponse (the client-final-message). */
ATH_HIDDEN int pgw_put_sasl_response(ath_buf *b, const char *data, size_t n);
/* Query (simple protocol). */
ATH_HIDDEN int pgw_put_query(ath_buf *b, const char *sql, size_t n);
/* Parse: statement `name` ("" = unnamed) of sql with nparams type OIDs (0 = the
 * server infers; oids may be NULL when nparams is 0). */
ATH_HIDDEN int pgw_put_parse(ath_buf *b, const char *name, const char *sql, size_t n, int nparams,
                             const uint32_t *oids);
/* Bind portal to statement: nparams values (vals[i] NULL = SQL NULL), each in
 * format fmts[i] (0 text, 1 binary; fmts may be NULL = all text); every result
 * column in text format. */
ATH_HIDDEN int pgw_put_bind(ath_buf *b, const char *portal, const char *stmt, int nparams,
                            const char *const *vals, const int *lens, const int *fmts);
/* Describe ('S' statement or 'P' portal). */
ATH_HIDDEN int pgw_put_describe(ath_buf *b, char kind, const char *name);
/* Execute portal, returning at most maxrows rows (0 = all). */
ATH_HIDDEN int pgw_put_execute(ath_buf *b, const char *portal, int32_t maxrows);
/* Close ('S' statement or 'P' portal). */
ATH_HIDDEN int pgw_put_close(ath_buf *b, char kind, const char *name);
/* CopyFail: ends a COPY FROM STDIN the server started, with this reason. */
ATH_HIDDEN int pgw_put_copy_fail(ath_buf *b, const char *reason);
ATH_HIDDEN int pgw_put_sync(ath_buf *b);
ATH_HIDDEN int pgw_put_flush(ath_buf *b);
ATH_HIDDEN int pgw_put_terminate(ath_buf *b);
/* CancelRequest (sent on a new connection). */
ATH_HIDDEN int pgw_put_cancel(ath_buf *b, uint32_t pid, uint32_t key);

/* ------------------------------------------------ backend (we read) */

/* One framed backend message: type byte and body (the bytes after the
 * length word), pointing into the caller's bytes. */
typedef struct pgw_msg {
  char type;
  const char *body;
  size_t len;
} pgw_msg;

/* Frame the message at the start of data[0..n): ATH_ROW with *m filled and
 * *used = bytes it takes; ATH_DONE when more bytes are needed (*used = how
 * many in all, when the header is there, else 5); an error for a length word
 * below 4 or above PGW_MAX_MESSAGE. */
ATH_HIDDEN ath_status pgw_frame(const char *data, size_t n, pgw_msg *m, size_t *used, ath_error *err);

/* The fields of an ErrorResponse or NoticeResponse, pointing into its body
 * (each NUL-terminated there); NULL when absent. */
typedef struct pgw_fields {
  const char *severity;     /* V (not localized), else S */
  const char *sqlstate;     /* C */
  const char *message;      /* M */
  const char *detail;       /* D */
  const char *hint;         /* H */
  const char *schema, *table, *column, *datatype, *constraint;   /* s t c d n */
} pgw_fields;

ATH_HIDDEN ath_status pgw_read_fields(const pgw_msg *m, pgw_fields *f, ath_error *err);
/* Fill err from an ErrorResponse's fields: kind by SQLSTATE as drv_pg.c
 * maps it, message "primary[ DETAIL: detail]", sqlstate, constraint and
 * disconnect (08xxx, 57P01-03, and a FATAL/PANIC severity: the server closes
 * the connection after it). Returns the kind. */
ATH_HIDDEN ath_status pgw_error_from_fields(const pgw_fields *f, ath_error *err);
/* The kind an SQLSTATE maps to, and whether it means the connection is gone
 * (*disconnect may be NULL). */
ATH_HIDDEN ath_status pgw_sqlstate_kind(const char *sqlstate, int *disconnect);

/* Authentication ('R'): the request code (0 ok, 3 cleartext, 5 MD5, 10 SASL,
 * 11 SASL continue, 12 SASL final) and the data after it. */
ATH_HIDDEN ath_status pgw_read_auth(const pgw_msg *m, int32_t *code, const char **data, size_t *n, ath_error *err);
/* Whether the NUL-separated mechanism list of AuthenticationSASL names mech. */
ATH_HIDDEN int pgw_sasl_offers(const char *data, size_t n, const char *mech);
/* ParameterStatus ('S'). */
ATH_HIDDEN ath_status pgw_read_parameter_status(const pgw_msg *m, const char **name, const char **value,
                                                ath_error *err);
/* BackendKeyData ('K'). */
ATH_HIDDEN ath_status pgw_read_backend_key(const pgw_msg *m, uint32_t *pid, uint32_t *key, ath_error *err);
/* ReadyForQuery ('Z'): 'I' idle, 'T' in a transaction, 'E' in a failed one. */
ATH_HIDDEN ath_status pgw_read_ready(const pgw_msg *m, char *status, ath_error *err);
/* CommandComplete ('C'): the tag and the rows it affected or returned (the
 * last number of INSERT/UPDATE/DELETE/SELECT/MOVE/FETCH/COPY/MERGE, else 0,
 * as PQcmdTuples). */
ATH_HIDDEN ath_status pgw_read_command_complete(const pgw_msg *m, const char **tag, int64_t *rows, ath_error *err);

/* One column of a RowDescription. */
typedef struct pgw_column {
  const char *name;          /* into the message body */
  uint32_t type_oid;
  int16_t format;
} pgw_column;

/* RowDescription ('T'): *cols allocated (ath_free), *n columns. */
ATH_HIDDEN ath_status pgw_read_row_description(const pgw_msg *m, pgw_column **cols, int *n, ath_error *err);
/* ParameterDescription ('t'): *oids allocated (ath_free; NULL when n is 0). */
ATH_HIDDEN ath_status pgw_read_parameter_description(const pgw_msg *m, uint32_t **oids, int *n, ath_error *err);
/* DataRow ('D') of ncols columns: vals[i] into the body, lens[i] (-1 = NULL). */
ATH_HIDDEN ath_status pgw_read_data_row(const pgw_msg *m, int ncols, const char **vals, int32_t *lens, ath_error *err);
/* Number of columns a DataRow carries (to check it against the description). */
ATH_HIDDEN ath_status pgw_data_row_count(const pgw_msg *m, int *ncols, ath_error *err);

/* ------------------------------------------------ SCRAM-SHA-256 (RFC 5802, 7677) */

typedef struct pgw_scram {
  char *password;
  char *client_first_bare;       /* n=user,r=nonce */
  char *server_first;
  char *client_final_bare;       /* c=biws,r=nonce */
  unsigned char salted[32];
  int state;                     /* 0 new, 1 first sent, 2 final sent, 3 verified */
} pgw_scram;

/* Start: client_nonce NULL = 18 random bytes, base64 (tests pass RFC 7677's).
 * user is "" for PostgreSQL (it takes the startup message's user). The
 * client-first-message ("n,,n=user,r=nonce") is appended to out. */
ATH_HIDDEN ath_status pgw_scram_start(pgw_scram *s, const char *user, const char *password, const char *client_nonce,
                                      ath_buf *out, ath_error *err);
/* Read the server-first-message, append the client-final-message to out. */
ATH_HIDDEN ath_status pgw_scram_continue(pgw_scram *s, const char *server_first, size_t n, ath_buf *out,
                                         ath_error *err);
/* Check the server-final-message's signature (the server knows the password). */
ATH_HIDDEN ath_status pgw_scram_finish(pgw_scram *s, const char *server_final, size_t n, ath_error *err);
ATH_HIDDEN void pgw_scram_free(pgw_scram *s);

#endif
