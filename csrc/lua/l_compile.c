/* l_compile.c — the Lua side of the SQL compiler (csrc/sql/).
 * core.compile(stmt, dialect, params, strict) -> sql, values, meta
 *   Converts the Lua statement tree (tables built by lua/athanor/sql/) into
 *   ath_nodes, keys it by structure and renders it only when the key is not
 *   in this state's compiled cache. `values` is the array of bound values in
 *   placeholder order (ath.null for NULL); named placeholders take
 *   params[name] (strict: a missing one raises ArgumentError; otherwise it
 *   is NULL). `meta` is a table kept with the cache entry: { names = {...}
 *   (a name or false per placeholder), nbinds =, returns_rows = } plus
 *   whatever the Lua layer caches there (result processors).
 * core.compile_stats() -> { renders =, hits =, size = }; core.compile_cache_clear();
 * core.set_compile_cache_size(n); core.quote_identifier(dialect, name);
 * core.node_kinds: name -> number, and the flag bits.
 *
 * A Lua node is a table: k (kind number), s/s2/s3 (strings), f (flags),
 * v (BIND value), t (COLUMN/STAR: its FROM element), children at 1..n
 * (false for an empty slot). Strings are borrowed from the Lua tree, which
 * stays on the stack while the nodes are in use. */
#include "l_internal.h"
#include "../sql/ath_sql.h"
#include "../base/ath_lru.h"
#include <stdio.h>
#include <string.h>

#define COMPILER_MT "athanor.Compiler"
#define DEFAULT_CACHE_SIZE 500
#define MAX_TREE_DEPTH 200

typedef struct l_compiler {
  ath_arena *arena;             /* this compilation's nodes; replaced by the next */
  ath_lru *cache;               /* structure key -> ath_compiled */
  ath_buf key;
  lua_State *L;                 /* for unref'ing metas on eviction */
  long renders, hits;
} l_compiler;

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

static int compiler_gc(lua_State *L) {
  l_compiler *cc = luaL_checkudata(L, 1, COMPILER_MT);
  cc->L = L;
  ath_lru_free(cc->cache);
  cc->cache = NULL;
  ath_arena_free(cc->arena);
  cc->arena = NULL;
  ath_buf_free(&cc->key);
  return 0;
}

/* ------------------------------------------------------------ conversion */

typedef struct conv {
  lua_State *L;
  ath_arena *arena;
  int memo;                     /* stack index: Lua FROM element -> lightuserdata node */
  int slots;                    /* stack index: slot -> value */
  int nslots;
  int depth;
} conv;

static ath_node *convert(conv *cv, int idx);

static const char *opt_string(lua_State *L, int idx, const char *field, size_t *len) {
  lua_pushstring(L, field);
  lua_rawget(L, idx);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, len) : NULL;
  lua_pop(L, 1);                 /* the tree still holds the string */
  return s;
}

static lua_Integer opt_int(lua_State *L, int idx, const char *field) {
  lua_pushstring(L, field);
  lua_rawget(L, idx);
  lua_Integer v = lua_type(L, -1) == LUA_TNUMBER ? (lua_Integer)lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  return v;
}

static ath_node *convert_child(conv *cv) {            /* value on top of the stack; pops it */
  lua_State *L = cv->L;
  ath_node *n = NULL;
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE) n = convert(cv, lua_gettop(L));
  else if (t != LUA_TNIL && t != LUA_TBOOLEAN)
    ath_l_raisef(L, ATH_E_ARGUMENT, "expected a SQL expression, got %s (wrap values with ath.literal())",
                 lua_typename(L, t));
  lua_pop(L, 1);
  return n;
}

static ath_node *convert(conv *cv, int idx) {
  lua_State *L = cv->L;
  lua_Integer kind = opt_int(L, idx, "k");
  if (kind <= 0 || kind >= ATH_N__COUNT)
    ath_l_raisef(L, ATH_E_ARGUMENT, "expected a SQL expression or statement, got a table that is not one");
  int memoized = kind == ATH_N_TABLE || kind == ATH_N_ALIAS || kind == ATH_N_CTE;
  if (memoized) {
    lua_pushvalue(L, idx);
    lua_rawget(L, cv->memo);
    ath_node *seen = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (seen) return seen;
  }
  if (++cv->depth > MAX_TREE_DEPTH)
    ath_l_raisef(L, ATH_E_COMPILE, "statement nested too deeply (over %d levels)", MAX_TREE_DEPTH);
  if (!lua_checkstack(L, 8)) ath_l_raisef(L, ATH_E_COMPILE, "statement nested too deeply");
  int nkids = (int)lua_rawlen(L, idx);
  ath_node *n = ath_node_new(cv->arena, (int)kind, nkids);
  if (!n) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  n->s = opt_string(L, idx, "s", &n->slen);
  n->s2 = opt_string(L, idx, "s2", NULL);
  n->s3 = opt_string(L, idx, "s3", NULL);
  n->flags = (int)opt_int(L, idx, "f");
  if (memoized) {                                   /* before the children: a CTE may refer to itself */
    lua_pushvalue(L, idx);
    lua_pushlightuserdata(L, n);
    lua_rawset(L, cv->memo);
  }
  if (kind == ATH_N_BIND && !(n->flags & ATH_F_NAMED)) {
    lua_pushliteral(L, "v");
    lua_rawget(L, idx);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushlightuserdata(L, NULL); }
    n->slot = ++cv->nslots;
    lua_rawseti(L, cv->slots, n->slot);
  }
  if (kind == ATH_N_COLUMN || kind == ATH_N_STAR) {
    lua_pushliteral(L, "t");
    lua_rawget(L, idx);
    n->from = convert_child(cv);
  }
  for (int i = 0; i < nkids; i++) {
    lua_rawgeti(L, idx, i + 1);
    n->kids[i] = convert_child(cv);
  }
  cv->depth--;
  return n;
}

/* ----------------------------------------------------------------- compile */

static void push_meta(lua_State *L, const ath_compiled *c) {
  lua_createtable(L, 0, 4);
  lua_createtable(L, c->nbinds, 0);
  int any_named = 0;
  for (int i = 0; i < c->nbinds; i++) {
    if (c->binds[i].name) { lua_pushstring(L, c->binds[i].name); any_named = 1; }
    else lua_pushboolean(L, 0);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "names");
  lua_pushboolean(L, any_named);
  lua_setfield(L, -2, "has_names");
  lua_pushinteger(L, c->nbinds);
  lua_setfield(L, -2, "nbinds");
  lua_pushboolean(L, c->returns_rows);
  lua_setfield(L, -2, "returns_rows");
}

static int l_compile(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *dname = luaL_checkstring(L, 2);
  int d = ath_dialect_lookup(dname);
  if (d < 0) return ath_l_raisef(L, ATH_E_ARGUMENT, "Unknown dialect '%s' (known: sqlite, postgresql, mysql)", dname);
  int has_params = lua_type(L, 3) == LUA_TTABLE;
  int strict = lua_toboolean(L, 4);
  lua_settop(L, 4);
  lua_newtable(L);                                   /* 5: memo */
  lua_newtable(L);                                   /* 6: slots */

  ath_arena_free(cc->arena);                         /* the previous compilation's nodes */
  cc->arena = ath_arena_new();
  if (!cc->arena) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  conv cv = { L, cc->arena, 5, 6, 0, 0 };
  ath_node *root = convert(&cv, 1);

  ath_buf_reset(&cc->key);
  int cacheable = ath_node_key(&cc->key, root, (ath_dialect_id)d) == 0 && cc->cache;
  ath_compiled *c = cacheable ? ath_lru_get(cc->cache, cc->key.data, cc->key.len) : NULL;
  int owned = 0;
  if (c) {
    cc->hits++;
  } else {
    ath_error err;
    ath_error_clear(&err);
    if (ath_compile(root, (ath_dialect_id)d, &c, &err) != ATH_OK) return ath_l_raise(L, &err, NULL, 0);
    cc->renders++;
    c->ref = LUA_NOREF;
    owned = 1;
    push_meta(L, c);                                 /* 7 */
    if (cacheable) {
      c->ref = luaL_ref(L, LUA_REGISTRYINDEX);
      if (ath_lru_put(cc->cache, cc->key.data, cc->key.len, c, &err) != ATH_OK) {
        luaL_unref(L, LUA_REGISTRYINDEX, c->ref);
        ath_compiled_free(c);
        return ath_l_raise(L, &err, NULL, 0);
      }
      owned = 0;                                     /* the cache owns it (eviction may free it later) */
    }
  }
  if (!owned) lua_rawgeti(L, LUA_REGISTRYINDEX, c->ref);   /* 7: meta */

  lua_pushlstring(L, c->sql, c->sqllen);             /* 8: sql */
  lua_createtable(L, c->nbinds, 0);                  /* 9: values */
  for (int i = 0; i < c->nbinds; i++) {
    const ath_bindref *b = &c->binds[i];
    if (b->slot > 0) {
      lua_rawgeti(L, 6, b->slot);
    } else {
      if (has_params) lua_getfield(L, 3, b->name);
      else lua_pushnil(L);
      if (lua_isnil(L, -1)) {
        if (strict) {
          char name[128];
          snprintf(name, sizeof name, "%s", b->name);
          if (owned) ath_compiled_free(c);
          return ath_l_raisef(L, ATH_E_ARGUMENT, "A value is required for bind parameter '%s'", name);
        }
        lua_pop(L, 1);
        lua_pushlightuserdata(L, NULL);
      }
    }
    lua_rawseti(L, 9, i + 1);
  }
  if (owned) ath_compiled_free(c);
  lua_pushvalue(L, 8);
  lua_pushvalue(L, 9);
  lua_pushvalue(L, 7);
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

static int l_compile_cache_clear(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  if (cc->cache) ath_lru_clear(cc->cache);
  cc->renders = cc->hits = 0;
  return 0;
}

static int l_set_compile_cache_size(lua_State *L) {
  l_compiler *cc = get_compiler(L);
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 0) return ath_l_raisef(L, ATH_E_ARGUMENT, "compile cache size must be >= 0, got %d", (int)n);
  ath_lru *fresh = ath_lru_new((size_t)n, evict_compiled, cc);
  if (!fresh) return ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  ath_lru_free(cc->cache);
  cc->cache = fresh;
  return 0;
}

static int l_quote_identifier(lua_State *L) {
  const char *dname = luaL_checkstring(L, 1);
  size_t len;
  const char *name = luaL_checklstring(L, 2, &len);
  int d = ath_dialect_lookup(dname);
  if (d < 0) return ath_l_raisef(L, ATH_E_ARGUMENT, "Unknown dialect '%s' (known: sqlite, postgresql, mysql)", dname);
  if (len == 0) return ath_l_raisef(L, ATH_E_ARGUMENT, "an identifier must be a non-empty string");
  ath_buf b = ATH_BUF_INIT;
  ath_quote_ident(&b, (ath_dialect_id)d, name, len);
  if (b.oom) { ath_buf_free(&b); return ath_l_raisef(L, ATH_E_NOMEM, "out of memory"); }
  lua_pushlstring(L, b.data, b.len);
  ath_buf_free(&b);
  return 1;
}

static void push_kinds(lua_State *L) {
  static const struct { const char *name; int value; } kinds[] = {
    { "COLUMN", ATH_N_COLUMN }, { "TABLE", ATH_N_TABLE }, { "ALIAS", ATH_N_ALIAS }, { "CTE", ATH_N_CTE },
    { "BIND", ATH_N_BIND }, { "NULL", ATH_N_NULL }, { "TRUE", ATH_N_TRUE }, { "FALSE", ATH_N_FALSE },
    { "STAR", ATH_N_STAR }, { "BINARY", ATH_N_BINARY }, { "UNARY", ATH_N_UNARY }, { "POSTFIX", ATH_N_POSTFIX },
    { "AND", ATH_N_AND }, { "OR", ATH_N_OR }, { "IN", ATH_N_IN }, { "BETWEEN", ATH_N_BETWEEN },
    { "FUNC", ATH_N_FUNC }, { "LABEL", ATH_N_LABEL }, { "CAST", ATH_N_CAST }, { "COLLATE", ATH_N_COLLATE },
    { "CASE", ATH_N_CASE }, { "TEXT", ATH_N_TEXT }, { "SCALAR", ATH_N_SCALAR }, { "LIST", ATH_N_LIST },
    { "SELECT", ATH_N_SELECT }, { "COMPOUND", ATH_N_COMPOUND }, { "JOIN", ATH_N_JOIN },
    { "INSERT", ATH_N_INSERT }, { "UPDATE", ATH_N_UPDATE }, { "DELETE", ATH_N_DELETE }, { "SET", ATH_N_SET },
    { "ONCONFLICT", ATH_N_ONCONFLICT }, { "GROUPING", ATH_N_GROUPING },
    { "F_NAMED", ATH_F_NAMED }, { "F_NEGATE", ATH_F_NEGATE }, { "F_NOPARENS", ATH_F_NOPARENS },
    { "F_ELSE", ATH_F_ELSE }, { "F_OUTER", ATH_F_OUTER }, { "F_FULL", ATH_F_FULL },
    { "F_RECURSIVE", ATH_F_RECURSIVE }, { "F_PSEUDO", ATH_F_PSEUDO }, { "F_DISTINCT", ATH_F_DISTINCT },
    { "F_FOR_UPDATE", ATH_F_FOR_UPDATE }, { "F_FOR_SHARE", ATH_F_FOR_SHARE }, { "F_NOWAIT", ATH_F_NOWAIT },
    { "F_SKIP_LOCKED", ATH_F_SKIP_LOCKED },
    { "SEL_N", ATH_SEL__N }, { "INS_N", ATH_INS__N },
  };
  lua_createtable(L, 0, (int)(sizeof kinds / sizeof kinds[0]));
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    lua_pushinteger(L, kinds[i].value);
    lua_setfield(L, -2, kinds[i].name);
  }
}

void ath_l_compile_register(lua_State *L) {
  static const luaL_Reg fns[] = {
    { "compile", l_compile },
    { "compile_stats", l_compile_stats },
    { "compile_cache_clear", l_compile_cache_clear },
    { "set_compile_cache_size", l_set_compile_cache_size },
    { NULL, NULL },
  };
  l_compiler *cc = ath_newudata(L, sizeof *cc);
  memset(cc, 0, sizeof *cc);
  ath_buf_init(&cc->key);
  if (luaL_newmetatable(L, COMPILER_MT)) {
    lua_pushcfunction(L, compiler_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  cc->cache = ath_lru_new(DEFAULT_CACHE_SIZE, evict_compiled, cc);
  if (!cc->cache) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  /* the compiler userdata is each function's upvalue (and keeps itself alive) */
  luaL_setfuncs(L, fns, 1);                          /* pops the userdata */
  lua_pushcfunction(L, l_quote_identifier);
  lua_setfield(L, -2, "quote_identifier");
  push_kinds(L);
  lua_setfield(L, -2, "node_kinds");
}
