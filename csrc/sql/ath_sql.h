/* ath_sql.h — the SQL compiler: a statement tree of ath_node → SQL text and
 * the ordered list of its bind parameters, for one dialect.
 * Owns: the node kinds and their child-slot conventions (the Lua builders in
 * lua/athanor/sql/ produce exactly these shapes), the node arena, dialects
 * (quoting rules, placeholders, feature flags) and the compiled-statement
 * cache keyed by a tree's structure (not its values).
 * Values never reach the SQL text: a BIND node renders a placeholder and adds
 * an entry to the bind list (a slot number the caller fills, or a name the
 * caller resolves from execution parameters).
 * Must not include: lua.h, driver or engine headers. */
#ifndef ATH_SQL_H
#define ATH_SQL_H
#include <stddef.h>
#include <stdint.h>
#include "../base/ath_error.h"
#include "../base/ath_buf.h"

/* Node kinds. Children are kids[0..nkids-1]; a fixed slot may be NULL.
 * The numbers are part of the contract with the Lua builders (exported to
 * Lua as core.node_kinds) and of cache keys. */
typedef enum ath_node_kind {
  ATH_N_COLUMN = 1,  /* s = column name; from = its FROM element (TABLE/ALIAS/CTE) or NULL */
  ATH_N_TABLE,       /* s = table name; s2 = alias or NULL; flags ATH_F_PSEUDO: "excluded" */
  ATH_N_ALIAS,       /* s = name; kids[0] = SELECT or COMPOUND (a subquery in FROM);
                        ATH_F_LATERAL: LATERAL (...), correlated to the FROM items before it */
  ATH_N_CTE,         /* s = name; kids[0] = SELECT/COMPOUND; flags ATH_F_RECURSIVE; s2 = alias
                        (cte:alias(): the same CTE referred to as `name AS s2`) or NULL */
  ATH_N_BIND,        /* a value in slot `slot`; with ATH_F_NAMED: s names an execution parameter;
                        s2: PostgreSQL type to cast it to ($1::JSON), or NULL */
  ATH_N_NULL,        /* NULL */
  ATH_N_TRUE,
  ATH_N_FALSE,
  ATH_N_STAR,        /* `*`, or `from.*` when from is set */
  ATH_N_BINARY,      /* kids[0] s kids[1]; s is the operator ("=", "LIKE", "ILIKE", "||", ...) */
  ATH_N_UNARY,       /* s kids[0]: "NOT", "-", "EXISTS", "DISTINCT", "ANY", "ALL" */
  ATH_N_POSTFIX,     /* kids[0] s: "IS NULL", "IS NOT NULL", "ASC", "DESC", "NULLS FIRST", "NULLS LAST" */
  ATH_N_AND,         /* kids joined by AND; none renders a true predicate */
  ATH_N_OR,          /* kids joined by OR; none renders a false predicate */
  ATH_N_IN,          /* kids[0] IN (kids[1..]) or kids[1] a SELECT; ATH_F_NEGATE: NOT IN;
                        kids[0] and kids[1..] LISTs: tuple IN (SQLite: IN (VALUES ...)) */
  ATH_N_BETWEEN,     /* kids[0] BETWEEN kids[1] AND kids[2]; ATH_F_NEGATE */
  ATH_N_FUNC,        /* s(kids...); ATH_F_NOPARENS: bare name (CURRENT_TIMESTAMP) */
  ATH_N_LABEL,       /* kids[0] AS s */
  ATH_N_CAST,        /* CAST(kids[0] AS type): s = an athanor type ("String", "String(20)", "Numeric(10, 2)",
                        "DateTime(timezone)", "Enum(5)"); s2 = an Enum's type name. The dialect in use
                        spells it (ath_cast.c) */
  ATH_N_COLLATE,     /* kids[0] COLLATE s */
  ATH_N_CASE,        /* WHEN kids[2i] THEN kids[2i+1]...; ATH_F_ELSE: last kid is ELSE */
  ATH_N_TEXT,        /* s = SQL with :name binds; kids = BIND nodes with s = name (bound values) */
  ATH_N_SCALAR,      /* (kids[0]) — a scalar subquery */
  ATH_N_LIST,        /* kids, comma separated (in parentheses where an expression) */
  ATH_N_SELECT,      /* slots ATH_SEL_* */
  ATH_N_COMPOUND,    /* s = "UNION" ...; kids[0] LIST of selects, [1] order LIST, [2] limit, [3] offset */
  ATH_N_JOIN,        /* kids[0] JOIN kids[1] ON kids[2]; ATH_F_OUTER, ATH_F_FULL */
  ATH_N_INSERT,      /* slots ATH_INS_* */
  ATH_N_UPDATE,      /* kids[0] table, [1] LIST of SET, [2] where, [3] returning LIST */
  ATH_N_DELETE,      /* kids[0] table, [1] where, [2] returning LIST */
  ATH_N_SET,         /* kids[0] column = kids[1] (UPDATE SET, ON CONFLICT DO UPDATE) */
  ATH_N_ONCONFLICT,  /* kids[0] LIST of target columns, [1] LIST of SET (none: DO NOTHING), [2] where */
  ATH_N_GROUPING,    /* (kids[0]) — explicit parentheses */
  ATH_N_VALUES,      /* binding shorthand: its Lua children are values, converted to a LIST of
                        BINDs (never reaches the renderer) */
  ATH_N_OVER,        /* kids[0] OVER (PARTITION BY kids[1] ORDER BY kids[2] s): kids[1], kids[2]
                        LISTs or NULL; s = the frame ("ROWS BETWEEN 2 PRECEDING AND CURRENT ROW")
                        or NULL: only upper-case words, digits and spaces */
  ATH_N_FILTER,      /* kids[0] FILTER (WHERE kids[1]); kids[0] a FUNC (an aggregate). MySQL has
                        no FILTER: each argument x becomes CASE WHEN kids[1] THEN x END */
  ATH_N_WITHIN_GROUP,/* kids[0] WITHIN GROUP (ORDER BY kids[1]); kids[1] a LIST */
  ATH_N_EXTRACT,     /* EXTRACT(s FROM kids[0]); s a field name (year, month, ...). SQLite:
                        CAST(STRFTIME('%Y', kids[0]) AS INTEGER) */
  ATH_N__COUNT
} ath_node_kind;

/* flags */
#define ATH_F_NAMED      0x01   /* BIND: value comes from execution parameters by name */
#define ATH_F_NEGATE     0x02   /* IN, BETWEEN */
#define ATH_F_NOPARENS   0x04   /* FUNC */
#define ATH_F_ELSE       0x08   /* CASE */
#define ATH_F_OUTER      0x10   /* JOIN: LEFT OUTER */
#define ATH_F_FULL       0x20   /* JOIN: FULL OUTER */
#define ATH_F_RECURSIVE  0x40   /* CTE */
#define ATH_F_PSEUDO     0x80   /* TABLE: the ON CONFLICT "excluded" row */
#define ATH_F_DISTINCT   0x100  /* SELECT */
#define ATH_F_FOR_UPDATE 0x200  /* SELECT ... FOR UPDATE */
#define ATH_F_FOR_SHARE  0x400  /* SELECT ... FOR SHARE */
#define ATH_F_NOWAIT     0x800
#define ATH_F_SKIP_LOCKED 0x1000
#define ATH_F_CORRELATE_EXCEPT 0x2000  /* SELECT: correlate every enclosing FROM but the CORRELATE list */
#define ATH_F_LATERAL    0x4000  /* ALIAS */

/* SELECT slots */
enum { ATH_SEL_COLUMNS, ATH_SEL_FROM, ATH_SEL_WHERE, ATH_SEL_GROUP, ATH_SEL_HAVING, ATH_SEL_ORDER,
       ATH_SEL_LIMIT, ATH_SEL_OFFSET, ATH_SEL_CTES, ATH_SEL_CORRELATE, ATH_SEL__N,
       /* an optional slot after the fixed ones: a LIST of DISTINCT ON expressions (PostgreSQL) */
       ATH_SEL_DISTINCT_ON = ATH_SEL__N };
/* INSERT slots: table, columns LIST, rows LIST of LIST, from-select, returning LIST, ONCONFLICT */
enum { ATH_INS_TABLE, ATH_INS_COLUMNS, ATH_INS_ROWS, ATH_INS_SELECT, ATH_INS_RETURNING, ATH_INS_CONFLICT,
       ATH_INS__N };

typedef struct ath_node ath_node;
struct ath_node {
  int kind;
  int flags;
  const char *s, *s2, *s3;     /* borrowed (the arena's or the caller's); NULL when absent */
  size_t slen;
  int slot;                     /* BIND: 1-based value slot (0 for named) */
  ath_node *from;               /* COLUMN, STAR */
  int nkids;
  ath_node **kids;
};

/* A bump allocator for one compilation's nodes; freed at once. */
typedef struct ath_arena ath_arena;
ATH_HIDDEN ath_arena *ath_arena_new(void);
ATH_HIDDEN void ath_arena_free(ath_arena *a);
/* Forget every allocation but keep the first chunk for the next tree. */
ATH_HIDDEN void ath_arena_reset(ath_arena *a);
ATH_HIDDEN void *ath_arena_alloc(ath_arena *a, size_t n);
/* A node with nkids NULL children; NULL when out of memory. */
ATH_HIDDEN ath_node *ath_node_new(ath_arena *a, int kind, int nkids);

/* Dialects */
typedef enum ath_dialect_id { ATH_D_SQLITE = 0, ATH_D_POSTGRESQL = 1, ATH_D_MYSQL = 2, ATH_D__COUNT } ath_dialect_id;
/* "sqlite", "postgresql", "mysql" → id; -1 when unknown. */
ATH_HIDDEN int ath_dialect_lookup(const char *name);
ATH_HIDDEN const char *ath_dialect_name(ath_dialect_id d);
/* Append name to b, quoted when the dialect needs it (a reserved word, an
 * upper-case letter, a leading digit, anything outside [a-z0-9_]); quote
 * characters inside are doubled. */
ATH_HIDDEN void ath_quote_ident(ath_buf *b, ath_dialect_id d, const char *name, size_t len);
/* 1 when name is one of the words quoted as identifiers. */
ATH_HIDDEN int ath_is_reserved(const char *name, size_t len);

/* One placeholder of a compiled statement, in order: slot > 0 takes the
 * value of that slot; slot == 0 takes the execution parameter `name`. */
typedef struct ath_bindref {
  int slot;
  char *name;                   /* owned; NULL for slots */
} ath_bindref;

typedef struct ath_compiled {
  char *sql;                    /* owned, NUL-terminated */
  size_t sqllen;
  int nbinds;
  ath_bindref *binds;           /* owned */
  int returns_rows;             /* SELECT/COMPOUND, or a statement with RETURNING */
  int ref;                      /* free for the owner (the Lua binding keeps a registry ref) */
} ath_compiled;

/* Render root for dialect d. On success *out is a new ath_compiled (free with
 * ath_compiled_free). CompileError names the construct and the dialect. */
ATH_HIDDEN ath_status ath_compile(const ath_node *root, ath_dialect_id d, ath_compiled **out, ath_error *err);
/* ATH_OK when root is a tree the renderer can read (each kind's name, arity
 * and fixed slots; see ath_check.c); else a CompileError naming the node.
 * ath_compile calls it first; nothing is allocated on return. */
ATH_HIDDEN ath_status ath_check_tree(const ath_node *root, ath_error *err);
ATH_HIDDEN void ath_compiled_free(ath_compiled *c);

/* CAST targets (ath_cast.c). 1 when the CAST node's s names a type with
 * arguments it takes. */
ATH_HIDDEN int ath_cast_type_valid(const ath_node *cast);
/* 0 when dialect d has no CAST to the node's type (MySQL: FLOAT, BOOLEAN,
 * ENUM): the operand renders uncast, as SQLAlchemy does. */
ATH_HIDDEN int ath_cast_has_target(const ath_node *cast, ath_dialect_id d);
/* Append the type's spelling for d to b; CompileError for a type d cannot
 * name (an Enum without a type name on PostgreSQL) or an unknown one. */
ATH_HIDDEN ath_status ath_cast_spell(ath_buf *b, const ath_node *cast, ath_dialect_id d, ath_error *err);

/* Cache keys: the structure of a tree, without bound values. Two trees with
 * equal keys render to the same SQL in the same dialect. Returns -1 when the
 * tree cannot be keyed (too many FROM elements, out of memory): compile it
 * without the cache. */
ATH_HIDDEN int ath_node_key(ath_buf *key, const ath_node *root, ath_dialect_id d);

#endif
