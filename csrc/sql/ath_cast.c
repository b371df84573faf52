/* ath_cast.c — the target type of a CAST, spelled by the dialect in use.
 * A CAST node names an athanor type, not its SQL: s is the type with its
 * arguments ("Integer", "String", "String(20)", "Numeric(10, 2)",
 * "DateTime(timezone)", "Enum(5)" with the longest value's length) and s2
 * an Enum's type name. Each dialect spells it here when the statement is
 * compiled, as SQLAlchemy 1.4's type compilers do for CAST, so a type one
 * dialect cannot express (MySQL has no VARCHAR without a length) is no
 * error on another. Spellings differ from the DDL ones where SQLAlchemy's
 * CAST does: MySQL CASTs only to SIGNED INTEGER, DECIMAL, CHAR, DATE, TIME,
 * DATETIME, BINARY and JSON, and renders the operand uncast for FLOAT,
 * BOOLEAN and ENUM. "Double" (REAL / DOUBLE PRECISION / DOUBLE) is the
 * float true division casts to.
 * Must not include: lua.h, driver or engine headers. */
#include "ath_sql.h"
#include <string.h>

/* A spelling per dialect (ath_dialect_id order); NULL for MySQL: no CAST
 * target, the operand renders alone. */
typedef struct cast_spelling {
  const char *name;
  unsigned char max_args;        /* numeric arguments the type takes: (n) or (p, s) */
  const char *spell[ATH_D__COUNT];
} cast_spelling;

static const cast_spelling TYPES[] = {
  { "Integer", 0, { "INTEGER", "INTEGER", "SIGNED INTEGER" } },
  { "SmallInteger", 0, { "SMALLINT", "SMALLINT", "SIGNED INTEGER" } },
  { "BigInteger", 0, { "BIGINT", "BIGINT", "SIGNED INTEGER" } },
  { "Float", 0, { "FLOAT", "FLOAT", NULL } },
  { "Double", 0, { "REAL", "DOUBLE PRECISION", "DOUBLE" } },
  { "Numeric", 2, { "NUMERIC", "NUMERIC", "DECIMAL" } },
  { "Boolean", 0, { "BOOLEAN", "BOOLEAN", NULL } },
  { "String", 1, { "VARCHAR", "VARCHAR", "CHAR" } },
  { "Text", 0, { "TEXT", "TEXT", "CHAR" } },
  { "Date", 0, { "DATE", "DATE", "DATE" } },
  { "Time", 0, { "TIME", "TIME WITHOUT TIME ZONE", "TIME" } },
  { "DateTime", 0, { "DATETIME", "TIMESTAMP WITHOUT TIME ZONE", "DATETIME" } },   /* WITH TIME ZONE: below */
  { "LargeBinary", 0, { "BLOB", "BYTEA", "BINARY" } },
  /* athanor's JSON is JSONB on PostgreSQL (its DDL), like SQLAlchemy's postgresql.JSONB */
  { "JSON", 0, { "JSON", "JSONB", "JSON" } },
  { "Uuid", 0, { "CHAR(32)", "UUID", "CHAR(32)" } },
  { "Enum", 1, { "VARCHAR", NULL, NULL } },            /* PostgreSQL: the named type (s2), below */
};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

/* The type s names, parsed. */
typedef struct cast_type {
  int index;                     /* in TYPES */
  int is_enum, is_datetime;
  int nargs;
  long args[2];
  int timezone;                  /* DateTime(timezone) */
} cast_type;

/* A decimal number of 1..9 digits at s[*i]; advances *i. -1 when none. */
static long number(const char *s, size_t len, size_t *i) {
  long v = 0;
  size_t start = *i;
  while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 9) v = v * 10 + (s[(*i)++] - '0');
  return *i > start ? v : -1;
}

/* 1 when s[0..len) is a type of TYPES with arguments it takes. */
static int parse(const char *s, size_t len, cast_type *t) {
  size_t namelen = 0;
  while (namelen < len && s[namelen] != '(') namelen++;
  t->index = -1;
  t->nargs = 0;
  t->timezone = 0;
  for (int i = 0; i < NTYPES; i++)
    if (strlen(TYPES[i].name) == namelen && !memcmp(TYPES[i].name, s, namelen)) t->index = i;
  if (t->index < 0) return 0;
  t->is_enum = !strcmp(TYPES[t->index].name, "Enum");
  t->is_datetime = !strcmp(TYPES[t->index].name, "DateTime");
  if (namelen == len) return 1;
  if (s[len - 1] != ')') return 0;
  size_t i = namelen + 1, end = len - 1;
  if (t->is_datetime) {
    t->timezone = end - i == 8 && !memcmp(s + i, "timezone", 8);
    return t->timezone;
  }
  while (i < end) {
    if (t->nargs == TYPES[t->index].max_args) return 0;
    long v = number(s, end, &i);
    if (v < 0) return 0;
    t->args[t->nargs++] = v;
    if (i < end && s[i] == ',') {
      i++;
      if (i < end && s[i] == ' ') i++;
      if (i == end) return 0;                          /* "String(2,)" */
    } else if (i < end) return 0;
  }
  return t->nargs > 0;                                 /* "String()" is no type */
}

int ath_cast_type_valid(const ath_node *n) {
  cast_type t;
  return n->s && parse(n->s, n->slen, &t);
}

int ath_cast_has_target(const ath_node *n, ath_dialect_id d) {
  cast_type t;
  if (!n->s || !parse(n->s, n->slen, &t)) return 1;    /* ath_cast_spell reports it */
  return t.is_enum && d == ATH_D_POSTGRESQL ? 1 : TYPES[t.index].spell[d] != NULL;
}

ath_status ath_cast_spell(ath_buf *b, const ath_node *n, ath_dialect_id d, ath_error *err) {
  cast_type t;
  if (!n->s || !parse(n->s, n->slen, &t))
    return ath_error_set(err, ATH_E_COMPILE, "CAST to an unknown type '%.60s' (an athanor type is expected: "
                         "Integer, String(20), Numeric(10, 2), ...)", n->s ? n->s : "");
  const cast_spelling *sp = &TYPES[t.index];
  if (t.is_enum && d == ATH_D_POSTGRESQL) {    /* CREATE TYPE ... AS ENUM made it a named type */
    if (!n->s2 || !*n->s2)
      return ath_error_set(err, ATH_E_COMPILE, "CAST to an Enum on PostgreSQL needs its type name: give the Enum "
                           "one (ath.Enum{ ..., name = \"...\" })");
    ath_quote_ident(b, d, n->s2, strlen(n->s2));
    return ATH_OK;
  }
  if (t.is_datetime && t.timezone && d == ATH_D_POSTGRESQL) {
    ath_buf_puts(b, "TIMESTAMP WITH TIME ZONE");
    return ATH_OK;
  }
  const char *word = sp->spell[d];
  if (!word) return ath_error_set(err, ATH_E_COMPILE, "CAST to %s is not supported by the %s dialect", sp->name,
                                  ath_dialect_name(d));   /* callers ask ath_cast_has_target first */
  ath_buf_puts(b, word);
  if (t.nargs) {
    ath_buf_printf(b, "(%ld", t.args[0]);
    if (t.nargs > 1) ath_buf_printf(b, ", %ld", t.args[1]);
    ath_buf_putc(b, ')');
  }
  return ATH_OK;
}
