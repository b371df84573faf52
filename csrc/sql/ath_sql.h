/* ath_sql.h — the SQL compiler: a statement tree of ath_node → SQL text and
 * the ordered list of its bind parameters, for one dialect.
 * Owns: the node kinds, their fields, arity and slot names (ATH_NODE_KINDS;
 * the Lua builders in lua/athanor/sql/ produce exactly these shapes), the
 * node arena, the dialects as tables of facts the renderer reads (ath_dialect:
 * quoting, placeholders, what each database writes its own way) and the
 * structural key of a tree (not its values) the compiled-statement cache uses.
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

/* Node kinds: ONE list that yields the kind numbers, their names, the
 * fields each kind carries, its arity and the names of its fixed child
 * slots. The converter (csrc/lua/l_convert.c), the shape check
 * (ath_check.c), the renderer and the Lua builders (through core.node_kinds
 * and core.node_slots) all read it, so a kind or a slot is added here once.
 * The numbers (the order below, from 1) are part of cache keys.
 *
 * X(NAME, fields, min kids, max kids (ATH_ANY: no bound), filled slots (bit
 *   i: kids[i] must not be NULL), SLOTS: the X-macro of its slot names)
 * fields: which of a node's optional fields the kind has (the converter reads
 * only those): ATH_FS s (ATH_FS_REQ: it must be set), ATH_FS2 s2, ATH_FS3 s3,
 * ATH_FF flags, ATH_FT from (the FROM element of a COLUMN or STAR). */
#define ATH_FS     0x01
#define ATH_FS_REQ 0x03
#define ATH_FS2    0x04
#define ATH_FS3    0x08
#define ATH_FF     0x10
#define ATH_FT     0x20
#define ATH_ANY    255

#define ATH_NODE_KINDS(X) \
  /* s = column name; from = its FROM element (TABLE/ALIAS/CTE) or NULL */ \
  X(COLUMN, ATH_FS_REQ | ATH_FT, 0, 0, 0, ATH_SLOTS_NONE) \
  /* s = table name; s2 = alias or NULL; flags ATH_F_PSEUDO: "excluded" */ \
  X(TABLE, ATH_FS_REQ | ATH_FS2 | ATH_FF, 0, 0, 0, ATH_SLOTS_NONE) \
  /* s = name; a subquery in FROM; ATH_F_LATERAL: LATERAL (...), correlated to the FROM items before it */ \
  X(ALIAS, ATH_FS_REQ | ATH_FF, 1, 1, 1, ATH_SLOTS_ALIAS) \
  /* s = name; flags ATH_F_RECURSIVE; s2 = alias (cte:alias()) or NULL; no body: a reference by name */ \
  X(CTE, ATH_FS_REQ | ATH_FS2 | ATH_FF, 0, 2, 0, ATH_SLOTS_CTE) \
  /* a value in slot `slot`; with ATH_F_NAMED: s names an execution parameter; \
     s2: an athanor type ("JSON", "Numeric(10, 2)") a dialect with bind casts casts it to ($1::JSONB), or NULL */ \
  X(BIND, ATH_FS | ATH_FS2 | ATH_FF, 0, 0, 0, ATH_SLOTS_NONE) \
  X(NULL, 0, 0, 0, 0, ATH_SLOTS_NONE) \
  X(TRUE, 0, 0, 0, 0, ATH_SLOTS_NONE) \
  X(FALSE, 0, 0, 0, 0, ATH_SLOTS_NONE) \
  /* `*`, or `from.*` when from is set */ \
  X(STAR, ATH_FT, 0, 0, 0, ATH_SLOTS_NONE) \
  /* LEFT s RIGHT; s is the operator ("=", "LIKE", "ILIKE", "||", ...) */ \
  X(BINARY, ATH_FS_REQ, 2, 2, 0, ATH_SLOTS_BINARY) \
  /* s OPERAND: "NOT", "-", "EXISTS", "DISTINCT", "ANY", "ALL" */ \
  X(UNARY, ATH_FS_REQ, 1, 1, 0, ATH_SLOTS_UNARY) \
  /* OPERAND s: "IS NULL", "IS NOT NULL", "ASC", "DESC", "NULLS FIRST", "NULLS LAST" */ \
  X(POSTFIX, ATH_FS_REQ, 1, 1, 0, ATH_SLOTS_POSTFIX) \
  /* kids joined by AND; none renders a true predicate */ \
  X(AND, 0, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* kids joined by OR; none renders a false predicate */ \
  X(OR, 0, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* kids[0] IN (kids[1..]) or kids[1] a SELECT; ATH_F_NEGATE: NOT IN; \
     kids[0] and kids[1..] LISTs: tuple IN */ \
  X(IN, ATH_FF, 1, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* OPERAND BETWEEN LOW AND HIGH; ATH_F_NEGATE */ \
  X(BETWEEN, ATH_FF, 3, 3, 0, ATH_SLOTS_BETWEEN) \
  /* s(kids...); ATH_F_NOPARENS: bare name (CURRENT_TIMESTAMP) */ \
  X(FUNC, ATH_FS | ATH_FF, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* ELEMENT AS s */ \
  X(LABEL, ATH_FS_REQ, 1, 1, 0, ATH_SLOTS_LABEL) \
  /* CAST(OPERAND AS type): s = an athanor type ("String(20)", "Numeric(10, 2)", "DateTime(timezone)", \
     "Enum(5)"); s2 = an Enum's type name. The dialect spells it (ath_cast.c) */ \
  X(CAST, ATH_FS_REQ | ATH_FS2 | ATH_FS3, 1, 1, 0, ATH_SLOTS_CAST) \
  /* OPERAND COLLATE s */ \
  X(COLLATE, ATH_FS_REQ, 1, 1, 0, ATH_SLOTS_COLLATE) \
  /* WHEN kids[2i] THEN kids[2i+1]...; ATH_F_ELSE: last kid is ELSE */ \
  X(CASE, ATH_FF, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* s = SQL with :name binds; kids = BIND nodes with s = name (bound values) */ \
  X(TEXT, ATH_FS_REQ, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* (QUERY): a scalar subquery */ \
  X(SCALAR, 0, 1, 1, 0, ATH_SLOTS_SCALAR) \
  /* kids, comma separated (in parentheses where an expression) */ \
  X(LIST, 0, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* the slots below; DISTINCT_ON is optional (PostgreSQL's DISTINCT ON list) */ \
  X(SELECT, ATH_FF, ATH_SELECT_DISTINCT_ON, ATH_SELECT__N, 0, ATH_SLOTS_SELECT) \
  /* s = "UNION" ...; SELECTS a LIST of selects; ORDER a LIST */ \
  X(COMPOUND, ATH_FS_REQ, 1, ATH_COMPOUND__N, 0, ATH_SLOTS_COMPOUND) \
  /* LEFT JOIN RIGHT ON ON; ATH_F_OUTER, ATH_F_FULL */ \
  X(JOIN, ATH_FF, 3, 3, 3, ATH_SLOTS_JOIN) \
  X(INSERT, 0, ATH_INSERT__N, ATH_INSERT__N, 1, ATH_SLOTS_INSERT) \
  X(UPDATE, 0, ATH_UPDATE__N, ATH_UPDATE__N, 1, ATH_SLOTS_UPDATE) \
  X(DELETE, 0, ATH_DELETE__N, ATH_DELETE__N, 1, ATH_SLOTS_DELETE) \
  /* COLUMN = VALUE (UPDATE SET, ON CONFLICT DO UPDATE) */ \
  X(SET, 0, 2, 2, 0, ATH_SLOTS_SET) \
  /* TARGET a LIST of columns, SETS a LIST of SET (none: DO NOTHING), WHERE */ \
  X(ONCONFLICT, 0, 3, 3, 0, ATH_SLOTS_ONCONFLICT) \
  /* (ELEMENT): explicit parentheses */ \
  X(GROUPING, 0, 1, 1, 0, ATH_SLOTS_GROUPING) \
  /* binding shorthand: its Lua children are values, converted to a LIST of BINDs (never rendered) */ \
  X(VALUES, 0, 0, ATH_ANY, 0, ATH_SLOTS_NONE) \
  /* ELEMENT OVER (PARTITION BY ... ORDER BY ... s): PARTITION, ORDER LISTs or NULL; \
     s = the frame ("ROWS BETWEEN 2 PRECEDING AND CURRENT ROW") or NULL */ \
  X(OVER, ATH_FS, 3, 3, 1, ATH_SLOTS_OVER) \
  /* FUNC FILTER (WHERE WHERE); FUNC an aggregate */ \
  X(FILTER, 0, 2, 2, 3, ATH_SLOTS_FILTER) \
  /* ELEMENT WITHIN GROUP (ORDER BY ORDER); ORDER a LIST */ \
  X(WITHIN_GROUP, 0, 2, 2, 3, ATH_SLOTS_WITHIN_GROUP) \
  /* EXTRACT(s FROM OPERAND); s a field name (year, month, ...) */ \
  X(EXTRACT, ATH_FS_REQ, 1, 1, 1, ATH_SLOTS_EXTRACT)

/* Slot names per kind: S(KIND, SLOT) in child order. */
#define ATH_SLOTS_NONE(S)
#define ATH_SLOTS_ALIAS(S) S(ALIAS, QUERY)
#define ATH_SLOTS_CTE(S) S(CTE, QUERY) S(CTE, COLUMNS)
#define ATH_SLOTS_BINARY(S) S(BINARY, LEFT) S(BINARY, RIGHT)
#define ATH_SLOTS_UNARY(S) S(UNARY, OPERAND)
#define ATH_SLOTS_POSTFIX(S) S(POSTFIX, OPERAND)
#define ATH_SLOTS_BETWEEN(S) S(BETWEEN, OPERAND) S(BETWEEN, LOW) S(BETWEEN, HIGH)
#define ATH_SLOTS_LABEL(S) S(LABEL, ELEMENT)
#define ATH_SLOTS_CAST(S) S(CAST, OPERAND)
#define ATH_SLOTS_COLLATE(S) S(COLLATE, OPERAND)
#define ATH_SLOTS_SCALAR(S) S(SCALAR, QUERY)
#define ATH_SLOTS_SELECT(S) S(SELECT, COLUMNS) S(SELECT, FROM) S(SELECT, WHERE) S(SELECT, GROUP) \
  S(SELECT, HAVING) S(SELECT, ORDER) S(SELECT, LIMIT) S(SELECT, OFFSET) S(SELECT, CTES) S(SELECT, CORRELATE) \
  S(SELECT, DISTINCT_ON)
#define ATH_SLOTS_COMPOUND(S) S(COMPOUND, SELECTS) S(COMPOUND, ORDER) S(COMPOUND, LIMIT) S(COMPOUND, OFFSET)
#define ATH_SLOTS_JOIN(S) S(JOIN, LEFT) S(JOIN, RIGHT) S(JOIN, ON)
#define ATH_SLOTS_INSERT(S) S(INSERT, TABLE) S(INSERT, COLUMNS) S(INSERT, ROWS) S(INSERT, SELECT) \
  S(INSERT, RETURNING) S(INSERT, CONFLICT)
#define ATH_SLOTS_UPDATE(S) S(UPDATE, TABLE) S(UPDATE, SETS) S(UPDATE, WHERE) S(UPDATE, RETURNING)
#define ATH_SLOTS_DELETE(S) S(DELETE, TABLE) S(DELETE, WHERE) S(DELETE, RETURNING)
#define ATH_SLOTS_SET(S) S(SET, COLUMN) S(SET, VALUE)
#define ATH_SLOTS_ONCONFLICT(S) S(ONCONFLICT, TARGET) S(ONCONFLICT, SETS) S(ONCONFLICT, WHERE)
#define ATH_SLOTS_GROUPING(S) S(GROUPING, ELEMENT)
#define ATH_SLOTS_OVER(S) S(OVER, ELEMENT) S(OVER, PARTITION) S(OVER, ORDER)
#define ATH_SLOTS_FILTER(S) S(FILTER, FUNC) S(FILTER, WHERE)
#define ATH_SLOTS_WITHIN_GROUP(S) S(WITHIN_GROUP, ELEMENT) S(WITHIN_GROUP, ORDER)
#define ATH_SLOTS_EXTRACT(S) S(EXTRACT, OPERAND)

/* ATH_<KIND>_<SLOT>: a child's index; ATH_<KIND>__N: the number of slots. */
#define ATH_SLOT_ENUM_(kind, slot) ATH_##kind##_##slot,
#define ATH_SLOT_ENUM(NAME, fields, min, max, filled, SLOTS) enum { SLOTS(ATH_SLOT_ENUM_) ATH_##NAME##__N };
ATH_NODE_KINDS(ATH_SLOT_ENUM)
#undef ATH_SLOT_ENUM

#define ATH_KIND_ENUM(NAME, fields, min, max, filled, SLOTS) ATH_N_##NAME,
typedef enum ath_node_kind { ATH_N__NONE = 0, ATH_NODE_KINDS(ATH_KIND_ENUM) ATH_N__COUNT } ath_node_kind;
#undef ATH_KIND_ENUM

/* What the list above says of one kind, as data (ath_node.c). */
typedef struct ath_kind_info {
  const char *name;              /* "SELECT"; "(none)" for 0 */
  unsigned char fields;          /* ATH_FS ... ATH_FT */
  unsigned char min_kids, max_kids;
  unsigned char filled;          /* bit i: kids[i] must not be NULL */
  unsigned char nslots;
  unsigned kids_span;            /* max_kids - min_kids, or UINT_MAX (ATH_ANY): one compare checks both */
  const char *const *slots;      /* nslots names, "RETURNING" ... */
} ath_kind_info;
ATH_HIDDEN extern const ath_kind_info ath_kinds[ATH_N__COUNT];

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
/* BIND: one bound value met in several places of the statement (the
 * converter gives them one node): numbered placeholders name it once, as
 * SQLAlchemy renders one parameter ($1 in SELECT, GROUP BY and ORDER BY,
 * so PostgreSQL sees the same expression); the cache key records where
 * it is met again. Set by the converter, not by the Lua layer. */
#define ATH_F_SHARED     0x8000

typedef struct ath_node ath_node;
/* A subtree converted once and shared by many compilations (the Lua layer's
 * frozen column lists): the cache key names it by a serial number, never
 * reused, instead of walking it; memo are its FROM elements in the order a
 * walk meets them (the key records which of them the rest shares). */
typedef struct ath_node_share {
  unsigned long long serial;
  int nmemo;
  ath_node *const *memo;
} ath_node_share;
struct ath_node {
  int kind;
  int flags;
  const char *s, *s2, *s3;     /* borrowed (the arena's or the caller's); NULL when absent */
  size_t slen;
  int slot;                     /* BIND: 1-based value slot (0 for named) */
  ath_node *from;               /* COLUMN, STAR */
  int nkids;
  ath_node **kids;
  const ath_node_share *share;  /* set on the root of a shared subtree; NULL otherwise */
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

/* CAST targets: the athanor types a CAST node names (ath_cast.c parses
 * "String(20)"); a dialect spells each (ath_dialect.cast). */
typedef enum ath_cast_target {
  ATH_CAST_INTEGER, ATH_CAST_SMALLINTEGER, ATH_CAST_BIGINTEGER, ATH_CAST_FLOAT, ATH_CAST_DOUBLE,
  ATH_CAST_NUMERIC, ATH_CAST_BOOLEAN, ATH_CAST_STRING, ATH_CAST_TEXT, ATH_CAST_DATE, ATH_CAST_TIME,
  ATH_CAST_DATETIME, ATH_CAST_DATETIME_TZ, ATH_CAST_LARGEBINARY, ATH_CAST_JSON, ATH_CAST_UUID, ATH_CAST_ENUM,
  ATH_CAST__COUNT
} ath_cast_target;
/* The athanor type name of a target ("Integer"; "DateTime(timezone)" for DATETIME_TZ). */
ATH_HIDDEN const char *ath_cast_target_name(int target);

/* Placeholders: "?", "$1", ":1". */
typedef enum ath_paramstyle { ATH_PARAM_QMARK, ATH_PARAM_NUMERIC_DOLLAR, ATH_PARAM_NUMERIC } ath_paramstyle;
/* How a || b is written: an operator binding tighter than * (SQLite), an
 * operator as loose as PostgreSQL's "other" operators, or concat(a, b). */
typedef enum ath_concat_form { ATH_CONCAT_TIGHT, ATH_CONCAT_LOOSE, ATH_CONCAT_FUNCTION } ath_concat_form;
/* INSERT ... ON CONFLICT (target) DO UPDATE/NOTHING and excluded.x, or
 * INSERT [IGNORE] ... ON DUPLICATE KEY UPDATE and VALUES(x). */
typedef enum ath_upsert_form { ATH_UPSERT_ON_CONFLICT, ATH_UPSERT_ON_DUPLICATE_KEY } ath_upsert_form;
/* EXTRACT(field FROM x), or CAST(STRFTIME('%Y', x) AS INTEGER). */
typedef enum ath_extract_form { ATH_EXTRACT_NATIVE, ATH_EXTRACT_STRFTIME } ath_extract_form;

/* One database's SQL: the facts and flags the renderer reads. The renderer
 * never asks which dialect it renders for, only what that dialect does; a
 * new dialect is one table (ath_dialect.c, or core.register_dialect from
 * Lua, which copies a built-in one and overrides facts). Flags are
 * unsigned char so a registration can set them by name (offsetof). */
typedef struct ath_dialect {
  const char *name;                     /* "sqlite"; CompileErrors name it */
  unsigned char cache_tag;              /* the first byte of a statement's cache key: distinct for every
                                           dialect one cache serves (built-in 1..; registered 16..) */
  ath_paramstyle paramstyle;
  char quote;                           /* identifier quote character, doubled inside */
  const char *const *reserved;          /* sorted words quoted as identifiers */
  size_t nreserved;
  unsigned char native_boolean;         /* true/false; else 1/0 */
  unsigned char returning;              /* INSERT/UPDATE/DELETE ... RETURNING */
  unsigned char row_locks;              /* FOR UPDATE/SHARE [NOWAIT|SKIP LOCKED]; else the clause is left
                                           out (SQLite locks the database, as SQLAlchemy does) */
  unsigned char nulls_ordering;         /* NULLS FIRST/LAST */
  unsigned char full_join;              /* FULL OUTER JOIN */
  unsigned char native_ilike;           /* ILIKE; else lower(x) LIKE lower(y) */
  unsigned char any_all;                /* = ANY (...), = ALL (...) */
  unsigned char lateral;                /* LATERAL subqueries */
  unsigned char distinct_on;            /* DISTINCT ON (...) */
  unsigned char filter_clause;          /* agg FILTER (WHERE c); else agg(CASE WHEN c THEN x END) */
  unsigned char bind_casts;             /* a typed literal's placeholder carries its type: $1::JSON */
  unsigned char tuple_in_values;        /* (a, b) IN (VALUES (?, ?), ...) */
  unsigned char named_enum_casts;       /* CAST to an Enum is to its named type */
  ath_concat_form concat;
  ath_upsert_form upsert;
  ath_extract_form extract;
  const char *limit_all;                /* the LIMIT an OFFSET without LIMIT needs ("LIMIT -1"); NULL: none */
  const char *empty_insert;             /* an INSERT without columns: " DEFAULT VALUES" */
  /* text() lexing: what this database reads as quoted or commented, where
   * a :name is text, not a parameter */
  unsigned char text_backslash_escapes; /* \' inside '...' and "..." */
  unsigned char text_escape_strings;    /* E'...' with backslash escapes */
  unsigned char text_dollar_quotes;     /* $$...$$, $tag$...$tag$ */
  unsigned char text_backtick_quotes;   /* `...` */
  unsigned char text_bracket_quotes;    /* [...] */
  unsigned char text_hash_comments;     /* # to the end of the line */
  unsigned char text_dash_comment_space; /* -- starts a comment only before a space or control character */
  unsigned char text_nested_comments;   /* block comments nest */
  unsigned char text_executable_comments; /* slash-star-bang bodies are SQL, not comments */
  /* CAST spellings by target; NULL: the dialect has no CAST to it and the
   * operand renders uncast (as SQLAlchemy's MySQL dialect does) */
  const char *cast[ATH_CAST__COUNT];
} ath_dialect;

/* The built-in dialects, in this order: sqlite, postgresql, mysql. */
#define ATH_BUILTIN_DIALECTS 3
ATH_HIDDEN extern const ath_dialect *const ath_builtin_dialects[ATH_BUILTIN_DIALECTS];
/* A built-in dialect by name ("postgres" and "mariadb" too); NULL when unknown. */
ATH_HIDDEN const ath_dialect *ath_dialect_find(const char *name);
/* Append name to b, quoted when dialect d needs it (a reserved word, an
 * upper-case letter, a leading digit, anything outside [a-z0-9_]); quote
 * characters inside are doubled. */
ATH_HIDDEN void ath_quote_ident(ath_buf *b, const ath_dialect *d, const char *name, size_t len);
/* 1 when name is one of d's words quoted as identifiers. */
ATH_HIDDEN int ath_is_reserved(const ath_dialect *d, const char *name, size_t len);

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
ATH_HIDDEN ath_status ath_compile(const ath_node *root, const ath_dialect *d, ath_compiled **out, ath_error *err);
/* ATH_OK when root is a tree the renderer can read (each kind's name, arity
 * and fixed slots from ATH_NODE_KINDS; see ath_check.c); else a CompileError naming the node.
 * ath_compile calls it first; nothing is allocated on return. */
ATH_HIDDEN ath_status ath_check_tree(const ath_node *root, ath_error *err);
ATH_HIDDEN void ath_compiled_free(ath_compiled *c);

/* CAST targets (ath_cast.c). 1 when the CAST node's s names a type with
 * arguments it takes; ath_cast_name_valid: the same for a type string. */
ATH_HIDDEN int ath_cast_type_valid(const ath_node *cast);
ATH_HIDDEN int ath_cast_name_valid(const char *type, size_t len);
/* 0 when dialect d has no CAST to the node's type (MySQL: FLOAT, BOOLEAN,
 * ENUM): the operand renders uncast, as SQLAlchemy does. */
ATH_HIDDEN int ath_cast_has_target(const ath_node *cast, const ath_dialect *d);
/* Append the type's spelling for d to b; CompileError for a type d cannot
 * name (an Enum without a type name on PostgreSQL) or an unknown one. */
ATH_HIDDEN ath_status ath_cast_spell(ath_buf *b, const ath_node *cast, const ath_dialect *d, ath_error *err);
/* The same for an athanor type string and an Enum's type name (a BIND's cast). */
ATH_HIDDEN ath_status ath_cast_spell_type(ath_buf *b, const char *type, size_t len, const char *enum_name,
                                          const ath_dialect *d, ath_error *err);

/* Cache keys: the structure of a tree, without bound values. Two trees with
 * equal keys render to the same SQL in the same dialect (the key starts
 * with the dialect's cache_tag: one cache may serve several dialects). Returns -1 when the
 * tree cannot be keyed (too many FROM elements, out of memory): compile it
 * without the cache. */
ATH_HIDDEN int ath_node_key(ath_buf *key, const ath_node *root, const ath_dialect *d);

#endif
