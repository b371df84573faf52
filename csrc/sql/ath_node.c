/* ath_node.c — node arena, dialect names and identifier quoting, and the
 * structural cache key of a statement tree. */
#include "ath_sql.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ arena */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  max_align_t data[];
} arena_chunk;

struct ath_arena {
  arena_chunk *head;
};

#define ARENA_CHUNK 8192

ath_arena *ath_arena_new(void) {
  return ath_calloc(1, sizeof(ath_arena));
}

void ath_arena_free(ath_arena *a) {
  if (!a) return;
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *next = c->next;
    ath_free(c);
    c = next;
  }
  ath_free(a);
}

void ath_arena_reset(ath_arena *a) {
  arena_chunk *c = a->head;
  if (!c) return;
  while (c->next) {                       /* keep only the oldest chunk */
    arena_chunk *next = c->next;
    ath_free(c);
    c = next;
  }
  c->used = 0;
  a->head = c;
}

void *ath_arena_alloc(ath_arena *a, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  arena_chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    c = ath_malloc(sizeof(arena_chunk) + cap);
    if (!c) return NULL;
    c->used = 0;
    c->cap = cap;
    c->next = a->head;
    a->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

ath_node *ath_node_new(ath_arena *a, int kind, int nkids) {
  ath_node *n = ath_arena_alloc(a, sizeof *n + (size_t)nkids * sizeof(ath_node *));
  if (!n) return NULL;
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->nkids = nkids;
  n->kids = (ath_node **)(n + 1);
  for (int i = 0; i < nkids; i++) n->kids[i] = NULL;
  return n;
}

/* --------------------------------------------------------------- dialects */

static const char *const DIALECT_NAMES[ATH_D__COUNT] = { "sqlite", "postgresql", "mysql" };

int ath_dialect_lookup(const char *name) {
  if (!name) return -1;
  for (int i = 0; i < ATH_D__COUNT; i++)
    if (strcmp(name, DIALECT_NAMES[i]) == 0) return i;
  if (strcmp(name, "postgres") == 0) return ATH_D_POSTGRESQL;
  if (strcmp(name, "mariadb") == 0) return ATH_D_MYSQL;
  return -1;
}

const char *ath_dialect_name(ath_dialect_id d) {
  return (unsigned)d < ATH_D__COUNT ? DIALECT_NAMES[d] : "unknown";
}

/* Words quoted when used as identifiers: the reserved words of SQL,
 * PostgreSQL, SQLite and MySQL 8 (a superset is harmless: quoting a lower-case name never
 * changes its meaning). Sorted for bsearch. */
static const char *const RESERVED[] = {
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

static int cmp_word(const void *key, const void *elem) {
  return strcmp((const char *)key, *(const char *const *)elem);
}

int ath_is_reserved(const char *name, size_t len) {
  char word[32];
  if (len == 0 || len >= sizeof word) return 0;
  memcpy(word, name, len);
  word[len] = '\0';
  return bsearch(word, RESERVED, sizeof RESERVED / sizeof RESERVED[0], sizeof RESERVED[0], cmp_word) != NULL;
}

static int needs_quotes(const char *s, size_t len) {
  if (len == 0) return 1;
  if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return 1;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return 1;
  }
  return ath_is_reserved(s, len);
}

void ath_quote_ident(ath_buf *b, ath_dialect_id d, const char *name, size_t len) {
  if (!needs_quotes(name, len)) {
    ath_buf_append(b, name, len);
    return;
  }
  char q = d == ATH_D_MYSQL ? '`' : '"';
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

/* -------------------------------------------------------------- cache key */

/* The key lists every node's kind, flags, strings and child count, depth
 * first. FROM elements (tables, aliases, CTEs) are usually referenced by many
 * columns: after the first time, a back-reference to their position stands
 * in for them, so the key also records which references are shared. */
#define KEY_MEMO 64

/* Deeper than any tree the converter builds: a hand-made tree (fuzzing)
 * deeper than this, or a cyclic one, is simply not cacheable. */
#define KEY_MAX_DEPTH 1000

typedef struct key_state {
  ath_buf *b;
  const ath_node *seen[KEY_MEMO];
  int nseen;
  int depth;
  int overflow;                 /* more FROM elements than KEY_MEMO, or too deep: not cacheable */
} key_state;

/* Writers into space reserved beforehand (one reserve per node). */
static unsigned char *put_varint(unsigned char *p, size_t v) {
  while (v >= 0x80) { *p++ = (unsigned char)(v | 0x80); v >>= 7; }
  *p++ = (unsigned char)v;
  return p;
}

static unsigned char *put_str(unsigned char *p, const char *s, size_t len) {
  if (!s) { *p++ = 0; return p; }
  p = put_varint(p, len + 1);
  memcpy(p, s, len);
  return p + len;
}

static void key_node(key_state *k, const ath_node *n) {
  ath_buf *b = k->b;
  if (k->overflow || b->oom) return;   /* no usable key; and a recursive CTE past the memo would loop */
  if (!n) { ath_buf_putc(b, 0); return; }
  if (n->kind == ATH_N_TABLE || n->kind == ATH_N_ALIAS || n->kind == ATH_N_CTE) {
    for (int i = 0; i < k->nseen; i++) {
      if (k->seen[i] == n) {
        unsigned char tmp[12], *q = tmp;
        *q++ = 0xff;
        q = put_varint(q, (size_t)i);
        ath_buf_append(b, tmp, (size_t)(q - tmp));
        return;
      }
    }
    if (k->nseen < KEY_MEMO) k->seen[k->nseen++] = n;
    else { k->overflow = 1; return; }
  }
  if (n->nkids < 0 || (n->nkids > 0 && !n->kids) || k->depth >= KEY_MAX_DEPTH) { k->overflow = 1; return; }
  size_t l2 = n->s2 ? strlen(n->s2) : 0, l3 = n->s3 ? strlen(n->s3) : 0;
  if (ath_buf_reserve(b, 6 * 10 + n->slen + l2 + l3) != 0) return;
  unsigned char *start = (unsigned char *)b->data + b->len, *p = start;
  p = put_varint(p, (size_t)n->kind);
  p = put_varint(p, (size_t)n->flags);
  p = put_str(p, n->s, n->slen);
  p = put_str(p, n->s2, l2);
  p = put_str(p, n->s3, l3);
  p = put_varint(p, (size_t)n->nkids);
  b->len += (size_t)(p - start);
  b->data[b->len] = '\0';
  k->depth++;
  if (n->kind == ATH_N_COLUMN || n->kind == ATH_N_STAR) key_node(k, n->from);
  for (int i = 0; i < n->nkids; i++) key_node(k, n->kids[i]);
  k->depth--;
}

int ath_node_key(ath_buf *key, const ath_node *root, ath_dialect_id d) {
  key_state k;
  k.b = key;
  k.nseen = 0;
  k.depth = 0;
  k.overflow = 0;
  ath_buf_putc(key, (char)('0' + d));
  key_node(&k, root);
  return k.overflow || key->oom ? -1 : 0;
}
