/* l_convert.c — reading the Lua statement tree (tables built by
 * lua/athanor/sql/) into ath_nodes for the compiler (l_compile.c).
 *
 * A Lua node is a table: k (kind number), s/s2/s3 (strings), f (flags),
 * v (BIND value), t (COLUMN/STAR: its FROM element), children at 1..n
 * (false for an empty slot). Strings are borrowed from the Lua tree, which
 * stays on the stack while the nodes are in use. AND/OR children of the
 * same kind are flattened here (ath.or_(c, x) nests c without copying it, so
 * building a chain term by term stays linear).
 * The converter checks what it reads (kind, flag and string types) and each
 * node's arity against ATH_NODE_KINDS (a CompileError before any child is
 * read); the rest of a kind's shape (required names, slot kinds) is checked
 * by ath_compile. Frozen subtrees (a table's column list) are converted
 * once and kept by the compiler (see l_compile.h). */
#include "l_compile.h"
#include <limits.h>
#include <stdint.h>
#include <string.h>

/* A frozen entry whose conversion raised has no address: drop it. */
void ath_l_frozen_drop_incomplete(l_compiler *cc) {
  if (cc->nfrozen == 0 || cc->frozen[cc->nfrozen - 1]->addr != NULL) return;
  frozen *fz = cc->frozen[--cc->nfrozen];
  ath_arena_free(fz->arena);
  ath_free(fz);
}

void ath_l_frozen_clear(l_compiler *cc) {
  for (int i = 0; i < cc->nfrozen; i++) {
    frozen *fz = cc->frozen[i];
    if (cc->L) luaL_unref(cc->L, LUA_REGISTRYINDEX, fz->ref);
    ath_arena_free(fz->arena);
    ath_free(fz);
  }
  cc->nfrozen = 0;
}

#define MEMO_MAX 64

typedef struct conv {
  lua_State *L;
  l_compiler *cc;
  ath_arena *arena;
  int freezing;                 /* converting a frozen subtree: copy strings, refuse binds */
  int unfreezable;              /* it held a bound value (or too many FROM elements) */
  int depth;
  /* FROM elements already converted (a table referenced by many columns):
   * Lua table address -> node. Beyond MEMO_MAX they are converted again. */
  const void *memo_key[MEMO_MAX];
  ath_node *memo_node[MEMO_MAX];
  int nmemo;
  /* Bound values already converted: Lua table address -> node, an open
   * addressing table in the arena (cap a power of two, at most half full).
   * A value met again (one expression used in SELECT and GROUP BY) shares
   * its node and slot, marked ATH_F_SHARED. */
  const void **bind_key;
  ath_node **bind_node;
  int bind_cap, nbind;
} conv;

static ath_node *convert(conv *cv, int idx);

static size_t bind_hash(const void *addr, int cap) {
  uintptr_t h = (uintptr_t)addr >> 4;                 /* tables are 16-byte aligned */
  h ^= h >> 17;
  h *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 7) & (size_t)(cap - 1);
}

static ath_node *bind_memo_find(const conv *cv, const void *addr) {
  if (cv->bind_cap == 0) return NULL;
  for (size_t i = bind_hash(addr, cv->bind_cap);; i = (i + 1) & (size_t)(cv->bind_cap - 1)) {
    if (cv->bind_key[i] == addr) return cv->bind_node[i];
    if (cv->bind_key[i] == NULL) return NULL;
  }
}

static void bind_memo_put(conv *cv, const void *addr, ath_node *n) {
  if ((cv->nbind + 1) * 2 > cv->bind_cap) {
    int cap = cv->bind_cap ? cv->bind_cap * 2 : 16;
    const void **keys = ath_arena_alloc(cv->arena, (size_t)cap * sizeof *keys);
    ath_node **nodes = ath_arena_alloc(cv->arena, (size_t)cap * sizeof *nodes);
    if (!keys || !nodes) ath_l_raisef(cv->L, ATH_E_NOMEM, "out of memory");
    memset(keys, 0, (size_t)cap * sizeof *keys);
    const void **old_keys = cv->bind_key;
    ath_node **old_nodes = cv->bind_node;
    int old_cap = cv->bind_cap;
    cv->bind_key = keys;
    cv->bind_node = nodes;
    cv->bind_cap = cap;
    cv->nbind = 0;
    for (int j = 0; j < old_cap; j++) if (old_keys[j]) bind_memo_put(cv, old_keys[j], old_nodes[j]);
  }
  size_t i = bind_hash(addr, cv->bind_cap);
  while (cv->bind_key[i] != NULL) i = (i + 1) & (size_t)(cv->bind_cap - 1);
  cv->bind_key[i] = addr;
  cv->bind_node[i] = n;
  cv->nbind++;
}

/* lua_rawget that returns the value's type (5.3+ does; 5.1 needs a call). */
static inline int rawget_type(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 503
  return lua_rawget(L, idx);
#else
  lua_rawget(L, idx);
  return lua_type(L, -1);
#endif
}

/* A node's name or SQL text. Raises ArgumentError when it holds a NUL byte:
 * the renderer and the drivers read some of these as C strings, so
 * `alias("x\0y")` would silently become `x` (a table qualifier, a CAST's
 * type) and SQL text would be cut short. */
static const char *get_string(lua_State *L, int idx, int key, size_t *len) {
  lua_pushvalue(L, lua_upvalueindex(key));
  size_t n = 0;
  const char *s = rawget_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
  lua_pop(L, 1);                 /* the tree still holds the string */
  if (s && memchr(s, 0, n))
    ath_l_raisef(L, ATH_E_ARGUMENT, "the name or SQL text '%.60s' is followed by a NUL byte: identifiers and SQL "
                 "cannot hold one (send binary data as a bound parameter)", s);
  if (len) *len = n;
  return s;
}

/* An int field: 1 with *out set; 0 when absent (*out = 0); -1 when present
 * but not an integer in [lo, hi] (a float, NaN, a string, 2^32 + 10 ...:
 * never truncated into range). */
static int get_int_field(lua_State *L, int idx, int key, int lo, int hi, int *out) {
  lua_pushvalue(L, lua_upvalueindex(key));
  int t = rawget_type(L, idx);
  int rc = -1;
  *out = 0;
  if (t == LUA_TNIL) rc = 0;
  else if (t == LUA_TNUMBER) {
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, -1)) {                       /* the usual case: no float conversion */
      lua_Integer v = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (v < lo || v > hi) return -1;
      *out = (int)v;
      return 1;
    }
#endif
    lua_Number d = lua_tonumber(L, -1);
    if (d >= (lua_Number)lo && d <= (lua_Number)hi && d == (lua_Number)(int)d) {  /* NaN fails d >= lo */
      *out = (int)d;
      rc = 1;
    }
  }
  lua_pop(L, 1);
  return rc;
}

/* The __name of the metatable of the value at idx, or its type name. */
static const char *describe_object(lua_State *L, int idx) {
  const char *name = lua_typename(L, lua_type(L, idx));
  if (lua_getmetatable(L, idx)) {
    lua_pushliteral(L, "__name");
    if (rawget_type(L, -2) == LUA_TSTRING) name = lua_tostring(L, -1);   /* kept alive by the metatable */
    lua_pop(L, 2);
  }
  return name;
}

/* The constant fields of the nodes of the class of the table at idx: the
 * table at its metatable's key __node_fields, pushed (1), or nothing
 * pushed (0). A class holds there what every node of it shares, so that
 * the nodes need not (a fused point select's k, lua/athanor/sql/selectable.lua;
 * a plain comparison's k and s, lua/athanor/sql/elements.lua). */
static int push_class_fields(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  lua_pushvalue(L, lua_upvalueindex(KEY_NODE_FIELDS));
  if (rawget_type(L, -2) == LUA_TTABLE) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 2);
  return 0;
}

/* The kind a node without a field k of its own has from its class's node
 * fields (read raw). 0 when there is none. */
static int class_kind(lua_State *L, int idx) {
  int kind = 0, k;
  if (!push_class_fields(L, idx)) return 0;
  if (get_int_field(L, lua_gettop(L), KEY_K, 1, ATH_N__COUNT - 1, &k) == 1) kind = k;
  lua_pop(L, 1);
  return kind;
}

/* The kind of the table at idx, after checking it is a node: no metatable
 * (the Lua layer's internal lists and clauses) or a registered node class. */
static int node_kind(conv *cv, int idx) {
  lua_State *L = cv->L;
  if (lua_getmetatable(L, idx)) {
    const void *mt = lua_topointer(L, -1);
    int registered = 0;
    for (int i = 0; i < cv->cc->n_node_mts && !registered; i++) registered = cv->cc->node_mts[i] == mt;
    if (registered) lua_pop(L, 1);
    else {
      registered = rawget_type(L, lua_upvalueindex(UP_NODE_MTS)) == LUA_TBOOLEAN;  /* pops the metatable */
      lua_pop(L, 1);
    }
    if (!registered)
      ath_l_raisef(L, ATH_E_ARGUMENT, "expected a SQL expression, got an object of type %s that is not one "
                   "(wrap a value with ath.literal())", describe_object(L, idx));
  }
#if LUA_VERSION_NUM >= 503
  /* the usual case, read in one step (5.3+: lua_tointegerx refuses 1.5;
   * LuaJIT's would truncate it, so it reads the field below) */
  lua_pushvalue(L, lua_upvalueindex(KEY_K));
  if (rawget_type(L, idx) == LUA_TNUMBER) {
    int isint = 0;
    lua_Integer k = lua_tointegerx(L, -1, &isint);
    lua_pop(L, 1);
    if (isint && k > 0 && k < ATH_N__COUNT) return (int)k;
  } else {
    lua_pop(L, 1);
  }
#endif
  int kind;
  int got = get_int_field(L, idx, KEY_K, INT_MIN, INT_MAX, &kind);
  if (got == 1 && kind > 0 && kind < ATH_N__COUNT) return kind;
  if (got == 0 && (kind = class_kind(L, idx)) != 0) return kind;
  if (got == 1)                                       /* a node of a kind ATH_NODE_KINDS lacks */
    ath_l_raisef(L, ATH_E_COMPILE, "malformed statement tree: unknown node kind %d", kind);
  ath_l_raisef(L, ATH_E_ARGUMENT, "expected a SQL expression or statement, got a table that is not one");
  return 0;
}

static ath_node *convert_child(conv *cv, int t) {     /* value (of type t) on top of the stack; pops it */
  lua_State *L = cv->L;
  ath_node *n = NULL;
  if (t == LUA_TTABLE) n = convert(cv, lua_gettop(L));
  else if (t != LUA_TNIL && t != LUA_TBOOLEAN)
    ath_l_raisef(L, ATH_E_ARGUMENT, "expected a SQL expression, got %s (wrap values with ath.literal())",
                 lua_typename(L, t));
  lua_pop(L, 1);
  return n;
}

static const char *arena_strdup(conv *cv, const char *s, size_t len) {
  if (!s) return NULL;
  char *copy = ath_arena_alloc(cv->arena, len + 1);
  if (!copy) ath_l_raisef(cv->L, ATH_E_NOMEM, "out of memory");
  memcpy(copy, s, len);
  copy[len] = '\0';
  return copy;
}

/* Add a frozen subtree's FROM elements to this compilation's memo; 0 when
 * one of them was already converted here as another node. */
static int memo_merge(conv *cv, const frozen *fz) {
  for (int j = 0; j < fz->nmemo; j++) {
    int found = 0;
    for (int i = 0; i < cv->nmemo; i++) {
      if (cv->memo_key[i] == fz->memo_key[j]) {
        if (cv->memo_node[i] != fz->memo_node[j]) return 0;
        found = 1;
      }
    }
    if (!found) {
      if (cv->nmemo >= MEMO_MAX) return 0;
      cv->memo_key[cv->nmemo] = fz->memo_key[j];
      cv->memo_node[cv->nmemo++] = fz->memo_node[j];
    }
  }
  return 1;
}

static ath_node *convert(conv *cv, int idx);

/* The frozen LIST at idx: from the compiler's table, or converted now and
 * kept. NULL when it cannot be shared here (convert it the ordinary way). */
static ath_node *convert_frozen(conv *cv, int idx) {
  lua_State *L = cv->L;
  l_compiler *cc = cv->cc;
  const void *addr = lua_topointer(L, idx);
  for (int i = 0; i < cc->nfrozen; i++) {
    frozen *fz = cc->frozen[i];
    if (fz->addr == addr) return memo_merge(cv, fz) ? fz->root : NULL;
  }
  if (cv->nmemo > 0) return NULL;                    /* FROM elements seen already: no clean copy */
  if (cc->nfrozen == FROZEN_MAX) return NULL;        /* full: emptied before the next compilation */
  frozen *fz = ath_calloc(1, sizeof *fz);
  ath_arena *arena = fz ? ath_arena_new() : NULL;
  if (!arena) { ath_free(fz); ath_l_raisef(L, ATH_E_NOMEM, "out of memory"); }
  fz->arena = arena;
  fz->ref = LUA_NOREF;
  cc->frozen[cc->nfrozen++] = fz;                    /* owned by the compiler even if we raise below */
  conv sub = *cv;
  sub.arena = arena;
  sub.freezing = 1;
  sub.unfreezable = 0;
  sub.nmemo = 0;
  ath_node *root = convert(&sub, idx);
  if (sub.unfreezable || sub.nmemo > FROZEN_MEMO) {
    cc->nfrozen--;
    ath_arena_free(arena);
    ath_free(fz);
    return NULL;
  }
  fz->root = root;
  fz->nmemo = sub.nmemo;
  memcpy(fz->memo_key, sub.memo_key, (size_t)sub.nmemo * sizeof fz->memo_key[0]);
  memcpy(fz->memo_node, sub.memo_node, (size_t)sub.nmemo * sizeof fz->memo_node[0]);
  /* The serial is kept in the list itself, so it outlives this entry: once
   * the table of frozen entries is emptied (FROZEN_MAX), the list converted
   * again keeps its key and the cached renderings stay valid. */
  lua_pushliteral(L, "_frozen_serial");
  if (rawget_type(L, idx) == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
    fz->share.serial = (unsigned long long)lua_tointeger(L, -1);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
    fz->share.serial = ++cc->frozen_serial;
    lua_pushliteral(L, "_frozen_serial");
    lua_pushinteger(L, (lua_Integer)fz->share.serial);
    lua_rawset(L, idx);
  }
  fz->share.nmemo = fz->nmemo;
  fz->share.memo = fz->memo_node;
  root->share = &fz->share;                          /* keyed by its serial from now on */
  lua_pushvalue(L, idx);
  fz->ref = luaL_ref(L, LUA_REGISTRYINDEX);          /* keeps the list (and its address) alive */
  fz->addr = addr;   /* only now: if luaL_ref raised, the entry stays address-less and is dropped */
  return memo_merge(cv, fz) ? root : NULL;
}

/* The children of the AND/OR node at idx, with nested nodes of the same
 * kind flattened in order: a walk with an explicit stack (a Lua table of
 * the nested nodes, their next positions in the arena), not recursion, so a
 * chain of 200,000 or_() calls neither overflows the C stack nor copies. */
static ath_node *convert_junction(conv *cv, int idx, int kind) {
  lua_State *L = cv->L;
  int cap = 16, count = 0;
  ath_node **leaves = ath_arena_alloc(cv->arena, (size_t)cap * sizeof *leaves);
  int pcap = 16, depth = 1;
  int *pos = ath_arena_alloc(cv->arena, (size_t)pcap * sizeof *pos);
  if (!leaves || !pos) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  lua_createtable(L, 4, 0);                           /* the stack of nested nodes */
  int stack = lua_gettop(L);
  lua_pushvalue(L, idx);
  lua_rawseti(L, stack, 1);
  pos[0] = 1;
  while (depth > 0) {
    lua_rawgeti(L, stack, depth);                     /* stack: ..., node */
    int node = lua_gettop(L);
    int i = pos[depth - 1];
    if ((size_t)i > lua_rawlen(L, node)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      lua_rawseti(L, stack, depth--);
      continue;
    }
    pos[depth - 1] = i + 1;
    int t = ath_rawgeti(L, node, i);                  /* stack: ..., node, child */
    if (t == LUA_TBOOLEAN) { lua_pop(L, 2); continue; }   /* an empty slot */
    if (t == LUA_TTABLE && node_kind(cv, lua_gettop(L)) == kind) {
      if (depth == MAX_JUNCTION_NESTING)
        ath_l_raisef(L, ATH_E_COMPILE, "and_()/or_() nested too deeply (over %d levels)", MAX_JUNCTION_NESTING);
      if (depth == pcap) {
        int *grown = ath_arena_alloc(cv->arena, (size_t)pcap * 2 * sizeof *grown);
        if (!grown) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
        memcpy(grown, pos, (size_t)pcap * sizeof *pos);
        pos = grown;
        pcap *= 2;
      }
      lua_rawseti(L, stack, ++depth);                 /* pops the child */
      pos[depth - 1] = 1;
      lua_pop(L, 1);
      continue;
    }
    ath_node *leaf = convert_child(cv, t);            /* pops the child */
    lua_pop(L, 1);
    if (count == cap) {
      ath_node **grown = ath_arena_alloc(cv->arena, (size_t)cap * 2 * sizeof *grown);
      if (!grown) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
      memcpy(grown, leaves, (size_t)cap * sizeof *leaves);
      leaves = grown;
      cap *= 2;
    }
    leaves[count++] = leaf;
  }
  lua_pop(L, 1);                                      /* the stack table */
  ath_node *n = ath_node_new(cv->arena, kind, count);
  if (!n) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  memcpy(n->kids, leaves, (size_t)count * sizeof *leaves);
  return n;
}

/* 1 when a child of the AND/OR node at idx is a node of the same kind (to
 * flatten); most are not, and convert as any node does. */
static int has_nested_junction(lua_State *L, int idx, int kind) {
  size_t n = lua_rawlen(L, idx);
  for (size_t i = 1; i <= n; i++) {
    if (ath_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE) { lua_pop(L, 1); continue; }
    lua_pushvalue(L, lua_upvalueindex(KEY_K));
    int nested = rawget_type(L, -2) == LUA_TNUMBER && lua_tonumber(L, -1) == (lua_Number)kind;
    lua_pop(L, 2);
    if (nested) return 1;
  }
  return 0;
}

/* A VALUES node { v1, v2, ... } (a one-row INSERT's values, no node per
 * value): a LIST of BINDs whose values go to the slot table. */
static ath_node *convert_values(conv *cv, int idx) {
  lua_State *L = cv->L;
  if (cv->freezing) cv->unfreezable = 1;
  int nvals = (int)lua_rawlen(L, idx);
  ath_node *list = ath_node_new(cv->arena, ATH_N_LIST, nvals);
  if (!list) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  for (int i = 0; i < nvals; i++) {
    ath_node *b = ath_node_new(cv->arena, ATH_N_BIND, 0);
    if (!b) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
    if (!cv->freezing) {
      lua_rawgeti(L, idx, i + 1);
      b->slot = ++cv->cc->slots_used;
      lua_rawseti(L, lua_upvalueindex(UP_SLOTS), b->slot);
    }
    list->kids[i] = b;
  }
  return list;
}

/* The new node of kind for the table at idx, with nkids children (none
 * converted yet), its strings and flags read (and copied when freezing)
 * and its arity checked. */
static ath_node *convert_fields_n(conv *cv, int idx, int kind, int nkids) {
  lua_State *L = cv->L;
  const ath_kind_info *ki = &ath_kinds[kind];     /* what the kind has: ATH_NODE_KINDS */
  if ((unsigned)(nkids - ki->min_kids) > ki->kids_span)     /* below min wraps around: one compare */
    ath_l_raisef(L, ATH_E_COMPILE, "malformed %s node: %d children, at %s %d expected", ki->name, nkids,
                 nkids < ki->min_kids ? "least" : "most", nkids < ki->min_kids ? ki->min_kids : ki->max_kids);
  ath_node *n = ath_node_new(cv->arena, kind, nkids);
  if (!n) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  unsigned fields = ki->fields;
  if (fields & ATH_FS) n->s = get_string(L, idx, KEY_S, &n->slen);
  if ((fields & ATH_FS_REQ) == ATH_FS_REQ && !n->s && push_class_fields(L, idx)) {   /* shared by its class */
    n->s = get_string(L, lua_gettop(L), KEY_S, &n->slen);   /* (the class keeps the string alive) */
    lua_pop(L, 1);
  }
  if (fields & ATH_FS2) n->s2 = get_string(L, idx, KEY_S2, NULL);
  if (fields & ATH_FS3) n->s3 = get_string(L, idx, KEY_S3, NULL);
  if (cv->freezing) {                                 /* the node outlives the Lua strings it saw */
    n->s = arena_strdup(cv, n->s, n->slen);
    n->s2 = arena_strdup(cv, n->s2, n->s2 ? strlen(n->s2) : 0);
    n->s3 = arena_strdup(cv, n->s3, n->s3 ? strlen(n->s3) : 0);
  }
  if ((fields & ATH_FF) && get_int_field(L, idx, KEY_F, 0, INT_MAX, &n->flags) < 0)
    ath_l_raisef(L, ATH_E_ARGUMENT, "a node's flags must be a non-negative integer");
  return n;
}

/* The new node of kind for the table at idx, its children counted. A node
 * whose kind its class gives (class_kind: a fused point select, an array
 * of its first slots) has its trailing empty slots left out: counted as
 * the kind's least, they read as absent. */
static ath_node *convert_fields(conv *cv, int idx, int kind) {
  lua_State *L = cv->L;
  size_t rawlen = lua_rawlen(L, idx);
  if (rawlen > (size_t)INT_MAX / 2) ath_l_raisef(L, ATH_E_COMPILE, "a node with too many children");
  int nkids = (int)rawlen;
  if (nkids < ath_kinds[kind].min_kids) {
    lua_pushvalue(L, lua_upvalueindex(KEY_K));
    if (rawget_type(L, idx) == LUA_TNIL) nkids = ath_kinds[kind].min_kids;
    lua_pop(L, 1);
  }
  return convert_fields_n(cv, idx, kind, nkids);
}

/* The BIND of the value on top of the stack (popped), its slot's key in
 * the memo of bound values being key: a value met again shares one. */
static ath_node *bind_value(conv *cv, const void *key) {
  lua_State *L = cv->L;
  if (!cv->freezing) {
    ath_node *again = bind_memo_find(cv, key);
    if (again) {
      again->flags |= ATH_F_SHARED;
      lua_pop(L, 1);
      return again;
    }
  }
  ath_node *b = ath_node_new(cv->arena, ATH_N_BIND, 0);
  if (!b) ath_l_raisef(L, ATH_E_NOMEM, "out of memory");
  if (cv->freezing) {                                 /* (a bound value is never part of a frozen list) */
    cv->unfreezable = 1;
    lua_pop(L, 1);
    return b;
  }
  bind_memo_put(cv, key, b);
  b->slot = ++cv->cc->slots_used;
  lua_rawseti(L, lua_upvalueindex(UP_SLOTS), b->slot);
  return b;
}

/* A comparison of an expression with a plain value whose BIND the Lua
 * layer has not made (a PlainCompare class's node in
 * lua/athanor/sql/elements.lua, Lua 5.3+): { left, v = value } with k and s
 * from its class's node fields (or its own), read as the BINARY it
 * stands for, { k = BINARY, s = op, left, { k = BIND, v = value } }. The
 * BIND's key in the memo of bound values is the node's address plus one
 * (no table has it), so the node used twice binds its value once, as the
 * BIND it stands for would. NULL when the table has no v: not one of these. */
static ath_node *convert_lazy_compare(conv *cv, int idx) {
  lua_State *L = cv->L;
  lua_pushvalue(L, lua_upvalueindex(KEY_V));
  if (rawget_type(L, idx) == LUA_TNIL) { lua_pop(L, 1); return NULL; }
  lua_pop(L, 1);
  ath_node *n = convert_fields_n(cv, idx, ATH_N_BINARY, 2);
  n->kids[0] = convert_child(cv, ath_rawgeti(L, idx, 1));
  lua_pushvalue(L, lua_upvalueindex(KEY_V));
  lua_rawget(L, idx);
  n->kids[1] = bind_value(cv, (const char *)lua_topointer(L, idx) + 1);
  return n;
}

/* The children of n from the table at idx (and its FROM element t). An
 * INSERT's column list (frozen: one per table and set of columns) comes
 * before its table, so the table is first met inside the list and the
 * list can be shared (convert_frozen wants no FROM element seen yet). */
static void convert_kids(conv *cv, int idx, ath_node *n) {
  lua_State *L = cv->L;
  if (ath_kinds[n->kind].fields & ATH_FT) {
    lua_pushvalue(L, lua_upvalueindex(KEY_T));
    n->from = convert_child(cv, rawget_type(L, idx));
  }
  int first = n->kind == ATH_N_INSERT && n->nkids > ATH_INSERT_COLUMNS ? ATH_INSERT_COLUMNS : -1;
  if (first >= 0) {
    int t = ath_rawgeti(L, idx, first + 1);
    if (t == LUA_TBOOLEAN) lua_pop(L, 1);
    else n->kids[first] = convert_child(cv, t);
  }
  for (int i = 0; i < n->nkids; i++) {
    if (i == first) continue;
    int t = ath_rawgeti(L, idx, i + 1);
    if (t == LUA_TBOOLEAN) { lua_pop(L, 1); continue; }   /* an empty slot */
    n->kids[i] = convert_child(cv, t);
  }
}

/* A frozen LIST at idx converted (or found) as a shared subtree, or NULL
 * when it is not one or cannot be shared here. */
static ath_node *frozen_list(conv *cv, int idx) {
  lua_State *L = cv->L;
  lua_pushvalue(L, lua_upvalueindex(KEY_FROZEN));
  int frozen_list = rawget_type(L, idx) == LUA_TBOOLEAN && lua_toboolean(L, -1);
  lua_pop(L, 1);
  return frozen_list ? convert_frozen(cv, idx) : NULL;
}

static ath_node *convert(conv *cv, int idx) {
  lua_State *L = cv->L;
  int kind = node_kind(cv, idx);
  if (kind == ATH_N_VALUES) return convert_values(cv, idx);
  if (kind == ATH_N_LIST && !cv->freezing) {
    ath_node *n = frozen_list(cv, idx);
    if (n) return n;
  }
  int memoized = kind == ATH_N_TABLE || kind == ATH_N_ALIAS || kind == ATH_N_CTE;
  const void *addr = NULL;
  if (memoized) {
    addr = lua_topointer(L, idx);
    for (int i = 0; i < cv->nmemo; i++)
      if (cv->memo_key[i] == addr) return cv->memo_node[i];
  }
  if (++cv->depth > MAX_TREE_DEPTH)
    ath_l_raisef(L, ATH_E_COMPILE, "statement nested too deeply (over %d levels)", MAX_TREE_DEPTH);
  if ((cv->depth & 15) == 0 && !lua_checkstack(L, 64)) ath_l_raisef(L, ATH_E_COMPILE, "statement nested too deeply");
  if ((kind == ATH_N_AND || kind == ATH_N_OR) && has_nested_junction(L, idx, kind)) {
    ath_node *n = convert_junction(cv, idx, kind);
    cv->depth--;
    return n;
  }
  if (kind == ATH_N_BINARY && lua_rawlen(L, idx) == 1) {
    ath_node *n = convert_lazy_compare(cv, idx);
    if (n) {
      cv->depth--;
      return n;
    }
  }
  ath_node *n = convert_fields(cv, idx, kind);
  if (memoized && cv->nmemo < MEMO_MAX) {             /* before the children: a CTE may refer to itself */
    cv->memo_key[cv->nmemo] = addr;
    cv->memo_node[cv->nmemo++] = n;
  }
  if (kind == ATH_N_BIND && cv->freezing) {
    cv->unfreezable = 1;
  } else if (kind == ATH_N_BIND && !(n->flags & ATH_F_NAMED)) {
    const void *bind_addr = lua_topointer(L, idx);
    ath_node *again = bind_memo_find(cv, bind_addr);
    if (again) {                                      /* the same value met again: one node, one slot */
      again->flags |= ATH_F_SHARED;
      cv->depth--;
      return again;
    }
    n->flags &= ~ATH_F_SHARED;                        /* (the converter's mark, never the Lua layer's) */
    bind_memo_put(cv, bind_addr, n);
    lua_pushvalue(L, lua_upvalueindex(KEY_V));
    lua_rawget(L, idx);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); lua_pushlightuserdata(L, NULL); }
    n->slot = ++cv->cc->slots_used;
    lua_rawseti(L, lua_upvalueindex(UP_SLOTS), n->slot);
  } else {
    convert_kids(cv, idx, n);
  }
  cv->depth--;
  return n;
}

ath_node *ath_l_convert_tree(lua_State *L, l_compiler *cc, int idx) {
  conv cv;
  cv.L = L;
  cv.cc = cc;
  cv.arena = cc->arena;
  cv.freezing = 0;
  cv.unfreezable = 0;
  cv.depth = 0;
  cv.nmemo = 0;
  cv.bind_key = NULL;
  cv.bind_node = NULL;
  cv.bind_cap = cv.nbind = 0;
  return convert(&cv, idx);
}
