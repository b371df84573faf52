/* ath_dialect.c — the built-in dialects: what SQLite, PostgreSQL and MySQL
 * write differently, as facts the renderer reads (ath_sql.h, ath_dialect),
 * and identifier quoting by a dialect's rules. A new database is one more
 * table here (and one Lua module, lua/athanor/dialects/<name>.lua); see
 * docs/dialects.md.
 * Must not include: lua.h, driver or engine headers. */
#include "ath_sql.h"
#include <stdlib.h>
#include <string.h>

/* Words quoted when used as identifiers: the reserved words of SQL,
 * PostgreSQL, SQLite and MySQL 8 (a superset is harmless: quoting a lower-case name never
 * changes its meaning). Sorted for bsearch. */
static const char *const RESERVED_WORDS[] = {
  "accessible", "add", "all", "alter", "analyse", "analyze", "and", "any",
  "array", "as", "asc", "asensitive", "asymmetric", "authorization", "before", "between",
  "bigint", "binary", "blob", "both", "by", "call", "cascade", "case",
  "cast", "change", "char", "character", "check", "collate", "column", "condition",
  "constraint", "continue", "convert", "create", "cross", "cume_dist", "current_date", "current_role",
  "current_time", "current_timestamp", "current_user", "cursor", "database", "databases", "day_hour", "day_microsecond",
  "day_minute", "day_second", "dec", "decimal", "declare", "default", "deferrable", "delayed",
  "delete", "dense_rank", "desc", "describe", "distinct", "distinctrow", "div", "do",
  "double", "drop", "dual", "each", "else", "elseif", "enclosed", "end",
  "escaped", "except", "exists", "exit", "explain", "false", "fetch", "first_value",
  "float", "float4", "float8", "for", "force", "foreign", "freeze", "from",
  "full", "fulltext", "function", "generated", "get", "grant", "group", "groups",
  "having", "high_priority", "hour_microsecond", "hour_minute", "hour_second", "if", "ignore", "ilike",
  "in", "index", "infile", "initially", "inner", "inout", "insensitive", "insert",
  "int", "int1", "int2", "int3", "int4", "int8", "integer", "intersect",
  "interval", "into", "is", "isnull", "iterate", "join", "key", "keys",
  "kill", "lag", "last_value", "lateral", "lead", "leading", "leave", "left",
  "like", "limit", "linear", "lines", "load", "localtime", "localtimestamp", "lock",
  "long", "longblob", "longtext", "loop", "low_priority", "master_bind", "match", "mediumblob",
  "mediumint", "mediumtext", "middleint", "minute_microsecond", "minute_second", "mod", "modifies", "natural",
  "no_write_to_binlog", "not", "notnull", "nth_value", "ntile", "null", "numeric", "offset",
  "on", "only", "optimize", "option", "optionally", "or", "order", "out",
  "outer", "outfile", "over", "overlaps", "partition", "percent_rank", "placing", "precision",
  "primary", "procedure", "purge", "range", "rank", "read", "reads", "real",
  "recursive", "references", "regexp", "release", "rename", "repeat", "replace", "require",
  "resignal", "restrict", "return", "returning", "revoke", "right", "rlike", "row",
  "row_number", "rows", "schema", "schemas", "second_microsecond", "select", "sensitive", "separator",
  "session_user", "set", "show", "signal", "similar", "smallint", "some", "spatial",
  "specific", "sql", "sql_calc_found_rows", "sqlexception", "sqlstate", "sqlwarning", "ssl", "starting",
  "straight_join", "symmetric", "system", "table", "tablesample", "terminated", "then", "tinyblob",
  "tinyint", "tinytext", "to", "trailing", "trigger", "true", "undo", "union",
  "unique", "unlock", "unsigned", "update", "usage", "use", "user", "using",
  "utc_date", "utc_time", "utc_timestamp", "values", "varbinary", "varchar", "varcharacter", "variadic",
  "varying", "verbose", "virtual", "when", "where", "while", "window", "with",
  "write", "xor", "year_month", "zerofill",
};

#define NRESERVED (sizeof RESERVED_WORDS / sizeof RESERVED_WORDS[0])

static const ath_dialect SQLITE = {
  .name = "sqlite", .cache_tag = 1,
  .paramstyle = ATH_PARAM_QMARK,
  .quote = '"', .reserved = RESERVED_WORDS, .nreserved = NRESERVED,
  .native_boolean = 0, .returning = 1, .row_locks = 0, .nulls_ordering = 1, .full_join = 1,
  .native_ilike = 0, .any_all = 0, .lateral = 0, .distinct_on = 0, .filter_clause = 1,
  .bind_casts = 0, .tuple_in_values = 1, .named_enum_casts = 0,
  .concat = ATH_CONCAT_TIGHT, .upsert = ATH_UPSERT_ON_CONFLICT, .extract = ATH_EXTRACT_STRFTIME,
  .limit_all = "LIMIT -1", .empty_insert = " DEFAULT VALUES",
  .text_backtick_quotes = 1, .text_bracket_quotes = 1,
  .cast = {
    [ATH_CAST_INTEGER] = "INTEGER", [ATH_CAST_SMALLINTEGER] = "SMALLINT", [ATH_CAST_BIGINTEGER] = "BIGINT",
    [ATH_CAST_FLOAT] = "FLOAT", [ATH_CAST_DOUBLE] = "REAL", [ATH_CAST_NUMERIC] = "NUMERIC",
    [ATH_CAST_BOOLEAN] = "BOOLEAN", [ATH_CAST_STRING] = "VARCHAR", [ATH_CAST_TEXT] = "TEXT",
    [ATH_CAST_DATE] = "DATE", [ATH_CAST_TIME] = "TIME", [ATH_CAST_DATETIME] = "DATETIME",
    [ATH_CAST_DATETIME_TZ] = "DATETIME", [ATH_CAST_LARGEBINARY] = "BLOB", [ATH_CAST_JSON] = "JSON",
    [ATH_CAST_UUID] = "CHAR(32)", [ATH_CAST_ENUM] = "VARCHAR",
  },
};

static const ath_dialect POSTGRESQL = {
  .name = "postgresql", .cache_tag = 2,
  .paramstyle = ATH_PARAM_NUMERIC_DOLLAR,
  .quote = '"', .reserved = RESERVED_WORDS, .nreserved = NRESERVED,
  .native_boolean = 1, .returning = 1, .row_locks = 1, .nulls_ordering = 1, .full_join = 1,
  .native_ilike = 1, .any_all = 1, .lateral = 1, .distinct_on = 1, .filter_clause = 1,
  .bind_casts = 1, .tuple_in_values = 0, .named_enum_casts = 1,   /* CREATE TYPE ... AS ENUM made it a type */
  .concat = ATH_CONCAT_LOOSE, .upsert = ATH_UPSERT_ON_CONFLICT, .extract = ATH_EXTRACT_NATIVE,
  .limit_all = NULL, .empty_insert = " DEFAULT VALUES",
  .text_escape_strings = 1, .text_dollar_quotes = 1, .text_nested_comments = 1,
  .cast = {
    [ATH_CAST_INTEGER] = "INTEGER", [ATH_CAST_SMALLINTEGER] = "SMALLINT", [ATH_CAST_BIGINTEGER] = "BIGINT",
    [ATH_CAST_FLOAT] = "FLOAT", [ATH_CAST_DOUBLE] = "DOUBLE PRECISION", [ATH_CAST_NUMERIC] = "NUMERIC",
    [ATH_CAST_BOOLEAN] = "BOOLEAN", [ATH_CAST_STRING] = "VARCHAR", [ATH_CAST_TEXT] = "TEXT",
    [ATH_CAST_DATE] = "DATE", [ATH_CAST_TIME] = "TIME WITHOUT TIME ZONE",
    [ATH_CAST_DATETIME] = "TIMESTAMP WITHOUT TIME ZONE", [ATH_CAST_DATETIME_TZ] = "TIMESTAMP WITH TIME ZONE",
    [ATH_CAST_LARGEBINARY] = "BYTEA",
    [ATH_CAST_JSON] = "JSONB",                /* athanor's JSON is JSONB on PostgreSQL (its DDL) */
    [ATH_CAST_UUID] = "UUID", [ATH_CAST_ENUM] = NULL,   /* the named type (named_enum_casts) */
  },
};

/* Rendering only (no driver yet). MySQL CASTs only to SIGNED INTEGER,
 * DECIMAL, CHAR, DATE, TIME, DATETIME, BINARY and JSON; FLOAT, BOOLEAN and
 * ENUM render uncast, as SQLAlchemy's MySQL dialect does. */
static const ath_dialect MYSQL = {
  .name = "mysql", .cache_tag = 3,
  .paramstyle = ATH_PARAM_QMARK,
  .quote = '`', .reserved = RESERVED_WORDS, .nreserved = NRESERVED,
  .native_boolean = 1, .returning = 0, .row_locks = 1, .nulls_ordering = 0, .full_join = 0,
  .native_ilike = 0, .any_all = 1, .lateral = 1, .distinct_on = 0, .filter_clause = 0,
  .bind_casts = 0, .tuple_in_values = 0, .named_enum_casts = 0,
  .concat = ATH_CONCAT_FUNCTION, .upsert = ATH_UPSERT_ON_DUPLICATE_KEY, .extract = ATH_EXTRACT_NATIVE,
  .limit_all = "LIMIT 18446744073709551615", .empty_insert = " () VALUES ()",
  .text_backslash_escapes = 1, .text_backtick_quotes = 1, .text_hash_comments = 1, .text_dash_comment_space = 1,
  .text_executable_comments = 1,
  .cast = {
    [ATH_CAST_INTEGER] = "SIGNED INTEGER", [ATH_CAST_SMALLINTEGER] = "SIGNED INTEGER",
    [ATH_CAST_BIGINTEGER] = "SIGNED INTEGER", [ATH_CAST_FLOAT] = NULL, [ATH_CAST_DOUBLE] = "DOUBLE",
    [ATH_CAST_NUMERIC] = "DECIMAL", [ATH_CAST_BOOLEAN] = NULL, [ATH_CAST_STRING] = "CHAR",
    [ATH_CAST_TEXT] = "CHAR", [ATH_CAST_DATE] = "DATE", [ATH_CAST_TIME] = "TIME",
    [ATH_CAST_DATETIME] = "DATETIME", [ATH_CAST_DATETIME_TZ] = "DATETIME", [ATH_CAST_LARGEBINARY] = "BINARY",
    [ATH_CAST_JSON] = "JSON", [ATH_CAST_UUID] = "CHAR(32)", [ATH_CAST_ENUM] = NULL,
  },
};

const ath_dialect *const ath_builtin_dialects[ATH_BUILTIN_DIALECTS] = { &SQLITE, &POSTGRESQL, &MYSQL };

const ath_dialect *ath_dialect_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < ATH_BUILTIN_DIALECTS; i++)
    if (strcmp(name, ath_builtin_dialects[i]->name) == 0) return ath_builtin_dialects[i];
  if (strcmp(name, "postgres") == 0) return &POSTGRESQL;
  if (strcmp(name, "mariadb") == 0) return &MYSQL;
  return NULL;
}

/* ---------------------------------------------------------------- quoting */

static int cmp_word(const void *key, const void *elem) {
  return strcmp((const char *)key, *(const char *const *)elem);
}

int ath_is_reserved(const ath_dialect *d, const char *name, size_t len) {
  char word[32];
  if (len == 0 || len >= sizeof word || !d->reserved) return 0;
  memcpy(word, name, len);
  word[len] = '\0';
  return bsearch(word, d->reserved, d->nreserved, sizeof d->reserved[0], cmp_word) != NULL;
}

static int needs_quotes(const ath_dialect *d, const char *s, size_t len) {
  if (len == 0) return 1;
  if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return 1;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 1;
  }
  return ath_is_reserved(d, s, len);
}

void ath_quote_ident(ath_buf *b, const ath_dialect *d, const char *name, size_t len) {
  if (!needs_quotes(d, name, len)) {
    ath_buf_append(b, name, len);
    return;
  }
  char q = d->quote;
  ath_buf_putc(b, q);
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (name[i] == q) {                       /* double an embedded quote */
      ath_buf_append(b, name + start, i - start + 1);
      ath_buf_putc(b, q);
      start = i + 1;
    }
  }
  ath_buf_append(b, name + start, len - start);
  ath_buf_putc(b, q);
}
