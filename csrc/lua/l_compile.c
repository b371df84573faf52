/* l_compile.c — the Lua side of the SQL compiler (csrc/sql/).
 * core.compile(stmt, dialect, params, strict) -> sql, values, meta
 *   Converts the Lua statement tree (tables built by lua/athanor/sql/) into
 *   ath_nodes, keys it by structure and renders it only when the key is not
 *   in this state's compiled cache. `values` is the array of bound values in
 *   placeholder order (ath.null for NULL); named placeholders take
 *   params[name] (strict: a missing one raises ArgumentError; otherwise it
 *   is NULL). `meta` is a table kept with the cache entry: meta[1] = the SQL,
 *   names = a name or false per placeholder, all_named (see push_meta).
 * core.compile_stats() -> { renders =, hits =, size = }; core.compile_cache_clear();
 * core.compile_hit() / core.compile_epoch(): see l_compile_hit;
 * core.set_compile_cache_size(n); core.quote_identifier(dialect, name);
 * core.node_kinds: name -> number, and the flag bits; core.node_slots:
 *   kind name -> { slot name -> 1-based child index } (ATH_NODE_KINDS).
 * core.register_dialect(name, facts): a dialect for this Lua state, a copy
 *   of a built-in one (facts.base, default "sqlite") with the facts given
 *   overridden (see register_dialect below and docs/dialects.md);
 *   core.dialect_facts(name) -> the facts of a dialect as a table.
 * core.register_node_metatable(mt): the Lua layer's node classes (Expr,
 *   Column, Table, Select, ...). A table in the tree that has a metatable
 *   must have one of these: anything else (a user's object that happens to
 *   hold a field `k`) is refused with ArgumentError, never read as a node.
 *
 * The tree is read into nodes by l_convert.c (what a Lua node looks like is
 * described there). */
#include "l_compile.h"
#include <limits.h>
#include <stddef.h>
#include <string.h>

#define COMPILER_MT "athanor.Compiler"
#define DEFAULT_CACHE_SIZE 500


static void evict_compiled(void *ud, const char *key, size_t keylen, void *value) {
  l_compiler *cc = ud;
  ath_compiled *c = value;
  (void)key; (void)keylen;
  if (cc->L && c->ref != LUA_NOREF) luaL_unref(cc->L, LUA_REGISTRYINDEX, c->ref);
  ath_compiled_free(c);
}

static l_compiler *get_compiler(lua_State *L) {
  l_compiler *cc = lua_touserdata(L, lua_upvalueindex(1));
  cc->L = L;
  return cc;
}

static void dialect_free(ath_dialect *d) {
  if (!d) return;
  ath_free((void *)d->name);
  ath_free((void *)d->limit_all);
  ath_free((void *)d->empty_insert);
  for (int i = 0; i < ATH_CAST__COUNT; i++) ath_free((void *)d->cast[i]);
  ath_free(d);
}

static int compiler_gc(lua_State *L) {
  l_compiler *cc = luaL_checkudata(L, 1, COMPILER_MT);
  cc->L = L;
  for (int i = 0; i < cc->ndialects; i++) dialect_free(cc->dialects[i]);
  cc->ndialects = 0;
  ath_lru_free(cc->cache);
  cc->cache = NULL;
  ath_l_frozen_clear(cc);
  ath_compiled_free(cc->pending);
  cc->pending = NULL;
  ath_buf_free(&cc->scratch);
  ath_arena_free(cc->arena);
  cc->arena = NULL;
  ath_buf_free(&cc->key);
  return 0;
}

static const char *const KEY_NAMES[] = { "k", "s", "s2", "s3", "f", "v", "t", "_frozen", "__node_fields" };

/* ----------------------------------------------------------------- compile */

/* The Lua side of a compiled statement, kept with its cache entry:
 * meta[1] = the SQL, names = a name or false per placeholder, all_named =
 * every placeholder is named (executemany can bind rows as they are). */
static void push_meta(lua_State *L, const ath_compiled *c) {
  lua_createtable(L, 1, 2);
  lua_pushlstring(L, c->sql, c->sqllen);
  lua_rawseti(L, -2, 1);
  lua_createtable(L, c->nbinds, 0);
  int all_named = 1;
  for (int i = 0; i < c->nbinds; i++) {
    if (c->binds[i].name) lua_pushstring(L, c->binds[i].name);
    else { lua_pushboolean(L, 0); all_named = 0; }
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "names");
  lua_pushboolean(L, all_named);
  lua_setfield(L, -2, "all_named");
}

static void clear_slots(lua_State *L, l_compiler *cc) {
  for (int i = 1; i <= cc->slots_used; i++) {
    lua_pushnil(L);
    lua_rawseti(L, lua_upvalueindex(UP_SLOTS), i);
  }
  cc->slots_used = 0;
}

/* ------------------------------------------------------------- dialects */

/* A dialect by name: a built-in one, or one registered in this state. */
static const ath_dialect *find_dialect(l_compiler *cc, const char *name) {
  const ath_dialect *d = ath_dialect_find(name);
  for (int i = 0; !d && i < cc->ndialects; i++)
    if (strcmp(cc->dialects[i]->name, name) == 0) d = cc->dialects[i];
  return d;
}

static const ath_dialect *check_dialect(lua_State *L, l_compiler *cc, int arg) {
  const char *name = luaL_checkstring(L, arg);
  const ath_dialect *d = find_dialect(cc, name);
  if (!d) ath_l_raisef(L, ATH_E_ARGUMENT, "Unknown dialect '%s' (known: sqlite, postgresql, mysql%s)", name,
                       cc->ndialects ? " and those registered" : "");
  return d;
}

/* The facts a registration may set by name: the flags (unsigned char). */
#define FLAG(f) { #f, offsetof(ath_dialect, f) }
static const struct { const char *name; size_t offset; } DIALECT_FLAGS[] = {
  FLAG(native_boolean), FLAG(returning), FLAG(row_locks), FLAG(nulls_ordering), FLAG(full_join),
  FLAG(native_ilike), FLAG(any_all), FLAG(lateral), FLAG(distinct_on), FLAG(filter_clause), FLAG(bind_casts),
  FLAG(tuple_in_values), FLAG(named_enum_casts), FLAG(text_backslash_escapes), FLAG(text_escape_strings),
  FLAG(text_dollar_quotes), FLAG(text_backtick_quotes), FLAG(text_bracket_quotes), FLAG(text_hash_comments),
  FLAG(text_dash_comment_space), FLAG(text_nested_comments), FLAG(text_executable_comments),
};
#undef FLAG
#define NFLAGS (sizeof DIALECT_FLAGS / sizeof DIALECT_FLAGS[0])
static const char *const PARAMSTYLES[] = { "qmark", "numeric_dollar", "numeric", NULL };
static const char *const CONCAT_FORMS[] = { "tight", "loose", "function", NULL };
static const char *const UPSERT_FORMS[] = { "on_conflict", "on_duplicate_key", NULL };
static const char *const EXTRACT_FORMS[] = { "native", "strftime", NULL };

static int name_index(const char *const *names, const char *s) {
  for (int i = 0; names[i]; i++) if (strcmp(names[i], s) == 0) return i;
  return -1;
}

/* An owned copy of a string fact (NULL stays NULL). */
static const char *dup_fact(lua_State *L, const char *s) {
  if (!s) return NULL;
  char *copy = ath_strdup(s);
  if (!copy) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  return copy;
}

/* facts[key] as one of names (an enum fact); *out unchanged when absent. */
static void enum_fact(lua_State *L, int facts, const char *key, const char *const *names, int *out) {
  lua_getfield(L, facts, key);
  if (!lua_isnil(L, -1)) {
    int i = lua_type(L, -1) == LUA_TSTRING ? name_index(names, lua_tostring(L, -1)) : -1;
    if (i < 0) ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): '%s' must be one of %s, %s, ...", key, names[0], names[1]);
    *out = i;
  }
  lua_pop(L, 1);
}

/* facts[key] as a string fact (false: none); *out unchanged when absent. */
static void string_fact(lua_State *L, int facts, const char *key, const char **out) {
  lua_getfield(L, facts, key);
  if (lua_type(L, -1) == LUA_TSTRING) *out = lua_tostring(L, -1);   /* copied by the caller */
  else if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) *out = NULL;
  else if (!lua_isnil(L, -1)) ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): '%s' must be a string or false", key);
  lua_pop(L, 1);
}

/* Apply the facts table at index `facts` to d (a copy of its base; its
 * strings still the base's). Unknown keys are refused, so a misspelt fact
 * is no silent default. */
static void apply_facts(lua_State *L, int facts, ath_dialect *d) {
  lua_pushnil(L);
  while (lua_next(L, facts)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
    int known = !strcmp(key, "base") || !strcmp(key, "paramstyle") || !strcmp(key, "quote") ||
                !strcmp(key, "concat") || !strcmp(key, "upsert") || !strcmp(key, "extract") ||
                !strcmp(key, "limit_all") || !strcmp(key, "empty_insert") || !strcmp(key, "cast");
    for (size_t i = 0; !known && i < NFLAGS; i++) known = !strcmp(key, DIALECT_FLAGS[i].name);
    if (!known) ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): unknown fact '%s'", key);
  }
  for (size_t i = 0; i < NFLAGS; i++) {
    lua_getfield(L, facts, DIALECT_FLAGS[i].name);
    if (!lua_isnil(L, -1)) *((unsigned char *)d + DIALECT_FLAGS[i].offset) = (unsigned char)lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  int v = (int)d->paramstyle;
  enum_fact(L, facts, "paramstyle", PARAMSTYLES, &v);
  d->paramstyle = (ath_paramstyle)v;
  v = (int)d->concat;
  enum_fact(L, facts, "concat", CONCAT_FORMS, &v);
  d->concat = (ath_concat_form)v;
  v = (int)d->upsert;
  enum_fact(L, facts, "upsert", UPSERT_FORMS, &v);
  d->upsert = (ath_upsert_form)v;
  v = (int)d->extract;
  enum_fact(L, facts, "extract", EXTRACT_FORMS, &v);
  d->extract = (ath_extract_form)v;
  lua_getfield(L, facts, "quote");
  if (!lua_isnil(L, -1)) {
    size_t len = 0;
    const char *q = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (!q || len != 1 || q[0] == '\0') ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): 'quote' must be one character");
    d->quote = q[0];
  }
  lua_pop(L, 1);
  string_fact(L, facts, "limit_all", &d->limit_all);
  string_fact(L, facts, "empty_insert", &d->empty_insert);
  if (!d->empty_insert) ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): 'empty_insert' is needed");
  lua_getfield(L, facts, "cast");                    /* { Integer = "INT", Float = false, ... } */
  if (lua_type(L, -1) == LUA_TTABLE) {
    int casts = lua_gettop(L);
    for (int t = 0; t < ATH_CAST__COUNT; t++) string_fact(L, casts, ath_cast_target_name(t), &d->cast[t]);
  } else if (!lua_isnil(L, -1)) {
    ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): 'cast' must be a table of athanor type names");
  }
  lua_pop(L, 1);
}

/* core.register_dialect(name, facts): see the header. Registering a name
 * again replaces that dialect (and empties the compiled cache, whose
 * entries it keyed); a built-in name cannot be registered. */
static int l_register_dialect(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  const char *name = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (ath_dialect_find(name)) return ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): '%s' is a built-in dialect", name);
  if (!*name) return ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): the name is empty");
  lua_getfield(L, 2, "base");
  const char *base_name = lua_isnil(L, -1) ? "sqlite" : lua_tostring(L, -1);
  const ath_dialect *base = base_name ? find_dialect(cc, base_name) : NULL;
  if (!base) return ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): unknown base dialect '%s'",
                                 base_name ? base_name : "?");
  ath_dialect facts = *base;                         /* on the C stack: nothing to free if a fact is refused */
  apply_facts(L, 2, &facts);
  int slot = cc->ndialects;
  for (int i = 0; i < cc->ndialects; i++) if (!strcmp(cc->dialects[i]->name, name)) slot = i;
  if (slot == MAX_REGISTERED_DIALECTS)
    return ath_l_raisef(L, ATH_E_ARGUMENT, "register_dialect(): at most %d dialects", MAX_REGISTERED_DIALECTS);
  ath_dialect *d = ath_calloc(1, sizeof *d);
  if (!d) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  *d = facts;
  d->cache_tag = (unsigned char)(16 + slot);         /* distinct from the built-in ones and the other slots */
  d->name = d->limit_all = d->empty_insert = NULL;
  memset((void *)d->cast, 0, sizeof d->cast);
  ath_dialect *old = slot < cc->ndialects ? cc->dialects[slot] : NULL;
  cc->dialects[slot] = d;                            /* owned from here: dup_fact may raise */
  if (slot == cc->ndialects) cc->ndialects++;
  dialect_free(old);
  if (cc->cache) ath_lru_clear(cc->cache);
  cc->epoch++;
  d->name = dup_fact(L, name);
  d->limit_all = dup_fact(L, facts.limit_all);
  d->empty_insert = dup_fact(L, facts.empty_insert);
  for (int t = 0; t < ATH_CAST__COUNT; t++) d->cast[t] = dup_fact(L, facts.cast[t]);
  return 0;
}

/* core.dialect_facts(name) -> { name =, paramstyle =, quote =, <flag> = bool, concat =, upsert =,
 * extract =, limit_all =, empty_insert =, cast = { Integer = "INTEGER", ... } } */
static int l_dialect_facts(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  const ath_dialect *d = check_dialect(L, cc, 1);
  lua_createtable(L, 0, 32);
  lua_pushstring(L, d->name); lua_setfield(L, -2, "name");
  lua_pushstring(L, PARAMSTYLES[d->paramstyle]); lua_setfield(L, -2, "paramstyle");
  lua_pushlstring(L, &d->quote, 1); lua_setfield(L, -2, "quote");
  for (size_t i = 0; i < NFLAGS; i++) {
    lua_pushboolean(L, *((const unsigned char *)d + DIALECT_FLAGS[i].offset));
    lua_setfield(L, -2, DIALECT_FLAGS[i].name);
  }
  lua_pushstring(L, CONCAT_FORMS[d->concat]); lua_setfield(L, -2, "concat");
  lua_pushstring(L, UPSERT_FORMS[d->upsert]); lua_setfield(L, -2, "upsert");
  lua_pushstring(L, EXTRACT_FORMS[d->extract]); lua_setfield(L, -2, "extract");
  if (d->limit_all) lua_pushstring(L, d->limit_all); else lua_pushboolean(L, 0);
  lua_setfield(L, -2, "limit_all");
  lua_pushstring(L, d->empty_insert); lua_setfield(L, -2, "empty_insert");
  lua_createtable(L, 0, ATH_CAST__COUNT);
  for (int t = 0; t < ATH_CAST__COUNT; t++) {
    if (d->cast[t]) lua_pushstring(L, d->cast[t]); else lua_pushboolean(L, 0);
    lua_setfield(L, -2, ath_cast_target_name(t));
  }
  lua_setfield(L, -2, "cast");
  return 1;
}

/* ----------------------------------------------------------------- entry */

static int l_compile(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  const ath_dialect *d = check_dialect(L, cc, 2);
  int has_params = lua_type(L, 3) == LUA_TTABLE;
  int strict = lua_toboolean(L, 4);
  lua_settop(L, 4);
  int slots = lua_upvalueindex(UP_SLOTS);
  clear_slots(L, cc);                                /* what an interrupted compilation left */
  ath_compiled_free(cc->pending);
  cc->pending = NULL;
  ath_l_frozen_drop_incomplete(cc);

  ath_arena_reset(cc->arena);                        /* the previous compilation's nodes */
  if (cc->nfrozen == FROZEN_MAX) ath_l_frozen_clear(cc);   /* no node of theirs is in use between compilations */
  ath_node *root = ath_l_convert_tree(L, cc, 1);

  ath_buf_reset(&cc->key);
  /* (a cache of size 0 would evict, and free, the rendering as it takes it) */
  int cacheable = ath_node_key(&cc->key, root, d) == 0 && cc->cache && cc->cache_size > 0;
  ath_compiled *c = cacheable ? ath_lru_get(cc->cache, cc->key.data, cc->key.len) : NULL;
  if (c) {
    cc->hits++;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);       /* 5: meta */
  } else {
    ath_error err;
    ath_error_clear(&err);
    if (ath_compile(root, d, &c, &err) != ATH_OK) return ath_l_raise(L, &err, NULL, 0);
    cc->renders++;
    c->ref = LUA_NOREF;
    cc->pending = c;                                 /* ours until the cache takes it */
    push_meta(L, c);                                 /* 5: meta, meta[1] = the SQL */
    if (cacheable) {
      lua_pushvalue(L, -1);
      c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
      if (ath_lru_put(cc->cache, cc->key.data, cc->key.len, c, &err) != ATH_OK) {
        luaL_unref(L, LUA_REGISTRYINDEX, c->ref);
        return ath_l_raise(L, &err, NULL, 0);       /* cc->pending is freed next time */
      }
      cc->pending = NULL;                            /* the cache owns it (eviction may free it later) */
    }
  }
  lua_rawgeti(L, 5, 1);                              /* 6: sql */
  lua_createtable(L, c->nbinds, 0);                  /* 7: values */
  for (int i = 0; i < c->nbinds; i++) {
    const ath_bindref *b = &c->binds[i];
    if (b->slot > 0) {
      lua_rawgeti(L, slots, b->slot);
    } else {
      if (has_params) lua_getfield(L, 3, b->name);
      else lua_pushnil(L);
      if (lua_isnil(L, -1)) {
        if (strict)                                  /* c stays valid: cached, or cc->pending */
          return ath_l_raisef(L, ATH_E_ARGUMENT, "A value is required for bind parameter '%s'", b->name);
        lua_pop(L, 1);
        lua_pushlightuserdata(L, NULL);
      }
    }
    lua_rawseti(L, 7, i + 1);
  }
  ath_compiled_free(cc->pending);                    /* an uncacheable rendering: done with it */
  cc->pending = NULL;
  clear_slots(L, cc);                                /* don't keep this execution's values alive */
  lua_pushvalue(L, 6);
  lua_pushvalue(L, 7);
  lua_pushvalue(L, 5);
  return 3;
}

static int l_compile_stats(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)cc->renders);
  lua_setfield(L, -2, "renders");
  lua_pushinteger(L, (lua_Integer)cc->hits);
  lua_setfield(L, -2, "hits");
  lua_pushinteger(L, (lua_Integer)(cc->cache ? ath_lru_count(cc->cache) : 0));
  lua_setfield(L, -2, "size");
  return 1;
}

/* core.compile_hit() -> epoch: the Lua layer keeps the SQL of a few hot
 * shapes itself (a one-row INSERT's, on its shape: sql/init.lua) and asks
 * here before using it: the answer is the cache's epoch, which changes
 * whenever a kept rendering may no longer hold, and the use is counted as
 * a cache hit. A cache of size 0 answers false (nothing is kept). */
static int l_compile_hit(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  if (!cc->cache || cc->cache_size == 0) { lua_pushboolean(L, 0); return 1; }
  cc->hits++;
  lua_pushinteger(L, cc->epoch);
  return 1;
}

/* core.compile_epoch() -> the epoch (false for a cache of size 0), not counted. */
static int l_compile_epoch(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  if (!cc->cache || cc->cache_size == 0) lua_pushboolean(L, 0);
  else lua_pushinteger(L, cc->epoch);
  return 1;
}

static int l_compile_cache_clear(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  cc->epoch++;
  if (cc->cache) ath_lru_clear(cc->cache);
  ath_l_frozen_clear(cc);
  cc->renders = cc->hits = 0;
  return 0;
}

#define COMPILE_CACHE_MAX 1000000  /* statements; the same bound as statement_cache_size */
static int l_set_compile_cache_size(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 0 || n > COMPILE_CACHE_MAX)
    return ath_l_raisef(L, ATH_E_ARGUMENT, "compile cache size must be in 0..%d, got %lld", COMPILE_CACHE_MAX, (long long)n);
  ath_lru *fresh = ath_lru_new((size_t)n, evict_compiled, cc);
  if (!fresh) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  cc->epoch++;
  cc->cache_size = (size_t)n;
  ath_lru_free(cc->cache);
  cc->cache = fresh;
  return 0;
}

static int l_quote_identifier(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  const ath_dialect *d = check_dialect(L, cc, 1);
  size_t len;
  const char *name = luaL_checklstring(L, 2, &len);
  if (len == 0) return ath_l_raisef(L, ATH_E_ARGUMENT, "an identifier must be a non-empty string");
  ath_buf_reset(&cc->scratch);                       /* the compiler's buffer: nothing to free if a push raises */
  ath_quote_ident(&cc->scratch, d, name, len);
  if (cc->scratch.oom) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  lua_pushlstring(L, cc->scratch.data, cc->scratch.len);
  return 1;
}

/* core.register_node_metatable(mt [, per_shape]): mt's tables are nodes
 * (see the header). The set holds its metatables weakly, so a class made
 * per statement shape (per_shape true) goes when the Lua layer drops it;
 * such a class is never among the fast pointers, which would outlive it.
 * The Lua layer holds its own classes for good (sql/coercions.lua). */
static int l_register_node_metatable(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  int per_shape = lua_toboolean(L, 2);
  lua_settop(L, 1);
  const void *mt = lua_topointer(L, 1);
  int known = 0;
  for (int i = 0; i < cc->n_node_mts; i++) known |= cc->node_mts[i] == mt;
  if (!known && !per_shape && cc->n_node_mts < NODE_MT_FAST) cc->node_mts[cc->n_node_mts++] = mt;
  lua_pushboolean(L, 1);
  lua_rawset(L, lua_upvalueindex(UP_NODE_MTS));
  return 0;
}

/* core.node_kinds: every kind by name (from ATH_NODE_KINDS), and the flags. */
static void push_kinds(lua_State *L) {
  static const struct { const char *name; int value; } kinds[] = {
    { "F_CORRELATE_EXCEPT", ATH_F_CORRELATE_EXCEPT }, { "F_LATERAL", ATH_F_LATERAL },
    { "F_NAMED", ATH_F_NAMED }, { "F_NEGATE", ATH_F_NEGATE }, { "F_NOPARENS", ATH_F_NOPARENS },
    { "F_ELSE", ATH_F_ELSE }, { "F_OUTER", ATH_F_OUTER }, { "F_FULL", ATH_F_FULL },
    { "F_RECURSIVE", ATH_F_RECURSIVE }, { "F_PSEUDO", ATH_F_PSEUDO }, { "F_DISTINCT", ATH_F_DISTINCT },
    { "F_FOR_UPDATE", ATH_F_FOR_UPDATE }, { "F_FOR_SHARE", ATH_F_FOR_SHARE }, { "F_NOWAIT", ATH_F_NOWAIT },
    { "F_SKIP_LOCKED", ATH_F_SKIP_LOCKED },
  };
  lua_createtable(L, 0, (int)(sizeof kinds / sizeof kinds[0]) + ATH_N__COUNT);
  for (int k = 1; k < ATH_N__COUNT; k++) {
    lua_pushinteger(L, k);
    lua_setfield(L, -2, ath_kinds[k].name);
  }
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    lua_pushinteger(L, kinds[i].value);
    lua_setfield(L, -2, kinds[i].name);
  }
}

/* core.node_slots: KIND = { SLOT = 1-based child index, ... } for every kind
 * with fixed slots, and each kind's arity: KIND.min_kids / KIND.max_kids
 * (max false: no bound). */
static void push_slots(lua_State *L) {
  lua_createtable(L, 0, ATH_N__COUNT);
  for (int k = 1; k < ATH_N__COUNT; k++) {
    const ath_kind_info *ki = &ath_kinds[k];
    lua_createtable(L, 0, ki->nslots + 2);
    for (int i = 0; i < ki->nslots; i++) {
      lua_pushinteger(L, i + 1);
      lua_setfield(L, -2, ki->slots[i]);
    }
    lua_pushinteger(L, ki->min_kids);
    lua_setfield(L, -2, "min_kids");
    if (ki->max_kids == ATH_ANY) lua_pushboolean(L, 0); else lua_pushinteger(L, ki->max_kids);
    lua_setfield(L, -2, "max_kids");
    lua_setfield(L, -2, ki->name);
  }
}

void ath_l_compile_register(lua_State *L) {
  static const luaL_Reg fns[] = {
    { "compile", l_compile },
    { "compile_stats", l_compile_stats },
    { "compile_cache_clear", l_compile_cache_clear },
    { "compile_hit", l_compile_hit },
    { "compile_epoch", l_compile_epoch },
    { "set_compile_cache_size", l_set_compile_cache_size },
    { "quote_identifier", l_quote_identifier },
    { "register_node_metatable", l_register_node_metatable },
    { "register_dialect", l_register_dialect },
    { "dialect_facts", l_dialect_facts },
    { NULL, NULL },
  };
  l_compiler *cc = ath_newudata(L, sizeof *cc);
  memset(cc, 0, sizeof *cc);
  ath_buf_init(&cc->key);
  ath_buf_init(&cc->scratch);
  if (luaL_newmetatable(L, COMPILER_MT)) {
    lua_pushcfunction(L, compiler_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  cc->cache = ath_lru_new(DEFAULT_CACHE_SIZE, evict_compiled, cc);
  cc->cache_size = DEFAULT_CACHE_SIZE;
  cc->arena = ath_arena_new();
  if (!cc->cache || !cc->arena) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  /* upvalues: the compiler, the interned field names, the slot table, the node metatables */
  for (size_t i = 0; i < sizeof KEY_NAMES / sizeof KEY_NAMES[0]; i++) lua_pushstring(L, KEY_NAMES[i]);
  lua_newtable(L);
  lua_newtable(L);                                           /* the node metatables, weak keys */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  int nup = 1 + (int)(sizeof KEY_NAMES / sizeof KEY_NAMES[0]) + 2;
  for (const luaL_Reg *f = fns; f->name; f++) {
    for (int i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, f->func, nup);
    lua_setfield(L, -(nup + 2), f->name);
  }
  lua_pop(L, nup);
  push_kinds(L);
  lua_setfield(L, -2, "node_kinds");
  push_slots(L);
  lua_setfield(L, -2, "node_slots");
}
