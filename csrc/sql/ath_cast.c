/* ath_cast.c — the target type of a CAST, spelled by the dialect in use.
 * A CAST node names an athanor type, not its SQL: s is the type with its
 * arguments ("Integer", "String", "String(20)", "Numeric(10, 2)",
 * "DateTime(timezone)", "Enum(5)" with the longest value's length) and s2
 * an Enum's type name. The dialect in use spells it from its cast table
 * (ath_dialect.cast, csrc/sql/ath_dialect.c) when the statement is
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

/* The athanor types a CAST may name, and the target each is spelled by
 * (the dialect's cast table). */
typedef struct cast_type_name {
  const char *name;
  unsigned char max_args;        /* numeric arguments the type takes: (n) or (p, s) */
  unsigned char target;          /* ath_cast_target */
} cast_type_name;

static const cast_type_name TYPES[] = {
  { "Integer", 0, ATH_CAST_INTEGER }, { "SmallInteger", 0, ATH_CAST_SMALLINTEGER },
  { "BigInteger", 0, ATH_CAST_BIGINTEGER }, { "Float", 0, ATH_CAST_FLOAT }, { "Double", 0, ATH_CAST_DOUBLE },
  { "Numeric", 2, ATH_CAST_NUMERIC }, { "Boolean", 0, ATH_CAST_BOOLEAN }, { "String", 1, ATH_CAST_STRING },
  { "Text", 0, ATH_CAST_TEXT }, { "Date", 0, ATH_CAST_DATE }, { "Time", 0, ATH_CAST_TIME },
  { "DateTime", 0, ATH_CAST_DATETIME },           /* DateTime(timezone): ATH_CAST_DATETIME_TZ */
  { "LargeBinary", 0, ATH_CAST_LARGEBINARY }, { "JSON", 0, ATH_CAST_JSON }, { "Uuid", 0, ATH_CAST_UUID },
  { "Enum", 1, ATH_CAST_ENUM },
};
#define NTYPES ((int)(sizeof TYPES / sizeof TYPES[0]))

const char *ath_cast_target_name(int target) {
  if (target == ATH_CAST_DATETIME_TZ) return "DateTime(timezone)";
  for (int i = 0; i < NTYPES; i++)
    if (TYPES[i].target == target) return TYPES[i].name;
  return NULL;
}

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

int ath_cast_name_valid(const char *s, size_t len) {
  cast_type t;
  return s && parse(s, len, &t);
}

int ath_cast_type_valid(const ath_node *n) { return ath_cast_name_valid(n->s, n->slen); }

/* The dialect's spelling of a parsed type; NULL when it has no CAST to it. */
static const char *spelling(const cast_type *t, const ath_dialect *d) {
  return d->cast[t->is_datetime && t->timezone ? ATH_CAST_DATETIME_TZ : TYPES[t->index].target];
}

int ath_cast_has_target(const ath_node *n, const ath_dialect *d) {
  cast_type t;
  if (!n->s || !parse(n->s, n->slen, &t)) return 1;    /* ath_cast_spell reports it */
  return (t.is_enum && d->named_enum_casts) || spelling(&t, d) != NULL;
}

ath_status ath_cast_spell(ath_buf *b, const ath_node *n, const ath_dialect *d, ath_error *err) {
  return ath_cast_spell_type(b, n->s, n->slen, n->s2, d, err);
}

ath_status ath_cast_spell_type(ath_buf *b, const char *type, size_t len, const char *enum_name, const ath_dialect *d,
                               ath_error *err) {
  cast_type t;
  if (!type || !parse(type, len, &t))
    return ath_error_set(err, ATH_E_COMPILE, "CAST to an unknown type '%.60s' (an athanor type is expected: "
                         "Integer, String(20), Numeric(10, 2), ...)", type ? type : "");
  if (t.is_enum && d->named_enum_casts) {     /* CREATE TYPE ... AS ENUM made it a named type */
    if (!enum_name || !*enum_name)
      return ath_error_set(err, ATH_E_COMPILE, "CAST to an Enum on the %s dialect needs its type name: give the "
                           "Enum one (ath.Enum{ ..., name = \"...\" })", d->name);
    ath_quote_ident(b, d, enum_name, strlen(enum_name));
    return ATH_OK;
  }
  const char *word = spelling(&t, d);
  if (!word) return ath_error_set(err, ATH_E_COMPILE, "CAST to %s is not supported by the %s dialect",
                                  TYPES[t.index].name, d->name);   /* callers ask ath_cast_has_target first */
  ath_buf_puts(b, word);
  if (t.nargs && !strchr(word, '(')) {          /* a spelling with its own arguments (CHAR(32)) takes no more */
    ath_buf_printf(b, "(%ld", t.args[0]);
    if (t.nargs > 1) ath_buf_printf(b, ", %ld", t.args[1]);
    ath_buf_putc(b, ')');
  }
  return ATH_OK;
}
