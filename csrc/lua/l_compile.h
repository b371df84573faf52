/* l_compile.h — what the two halves of the SQL compiler's Lua side share:
 * l_compile.c (core.compile and the compiled cache, dialects, node
 * classes) and l_convert.c (reading the Lua statement tree into ath_nodes).
 * Internal to csrc/lua/. */
#ifndef ATH_L_COMPILE_H
#define ATH_L_COMPILE_H
#include "l_internal.h"
#include "../sql/ath_sql.h"
#include "../base/ath_lru.h"

#define MAX_TREE_DEPTH 200
/* Nested AND/OR nodes flattened into one: a bound on the walk, so a cyclic
 * table (only core.compile can be handed one) ends with an error. */
#define MAX_JUNCTION_NESTING (1 << 21)

/* A frozen subtree: a LIST the Lua layer marks `_frozen` (a table's column
 * list: select(t) uses it in every statement) converted once into nodes
 * that outlive one compilation. It holds no bound values; its strings are
 * copied; the Lua list is kept alive by a registry reference, so its address
 * identifies it. `memo` are the FROM elements inside it, so the rest of a
 * statement shares their nodes. */
#define FROZEN_MAX 128
#define NODE_MT_FAST 16
#define FROZEN_MEMO 8
#define MAX_REGISTERED_DIALECTS 16
typedef struct frozen {
  const void *addr;
  int ref;
  ath_arena *arena;
  ath_node *root;
  int nmemo;
  const void *memo_key[FROZEN_MEMO];
  ath_node *memo_node[FROZEN_MEMO];
  ath_node_share share;         /* the root's: the cache key names the subtree by share.serial */
} frozen;

typedef struct l_compiler {
  ath_arena *arena;             /* this compilation's nodes; replaced by the next */
  ath_lru *cache;               /* structure key -> ath_compiled */
  ath_buf key;
  lua_State *L;                 /* for unref'ing metas on eviction */
  int slots_used;               /* slot-table entries set by the compilation under way (or an
                                   interrupted one): cleared before the next */
  ath_compiled *pending;        /* a rendering not yet handed to the cache: freed by the next
                                   call or __gc if a Lua error longjmps past its owner */
  ath_buf scratch;              /* quote_identifier's output */
  long renders, hits;
  size_t cache_size;            /* the cache's capacity (0: nothing is kept) */
  lua_Integer epoch;            /* changed whenever a rendering may no longer hold (cache cleared or
                                   resized, a dialect registered): see l_compile_hit */
  unsigned long long frozen_serial;  /* the last serial given to a frozen subtree (never reused: a
                                        cached key naming a dropped one is simply never met again) */
  frozen *frozen[FROZEN_MAX];
  int nfrozen;
  /* The registered node metatables' addresses, to check a node's class
   * without a table lookup (they stay alive: the registered set holds them).
   * Beyond NODE_MT_FAST the set itself is asked. */
  const void *node_mts[NODE_MT_FAST];
  int n_node_mts;
  /* Dialects registered in this state (core.register_dialect), owned with
   * their strings. */
  ath_dialect *dialects[MAX_REGISTERED_DIALECTS];
  int ndialects;
} l_compiler;

/* Field names, interned once: upvalues 2.. of the compile function (the
 * converter runs inside it and reads them with lua_upvalueindex). */
enum { KEY_K = 2, KEY_S, KEY_S2, KEY_S3, KEY_F, KEY_V, KEY_T, KEY_FROZEN, KEY_NODE_FIELDS, KEY__END };
/* Upvalues after the keys: the slot table (slot -> value), reused by every
 * compilation and emptied after each; the set of node metatables. */
#define UP_SLOTS KEY__END
#define UP_NODE_MTS (KEY__END + 1)

/* The Lua tree at idx (the statement, on the compile function's stack) as
 * nodes in cc->arena; bound values go to the slot table (cc->slots_used).
 * Raises on a malformed tree. (l_convert.c) */
ATH_HIDDEN ath_node *ath_l_convert_tree(lua_State *L, l_compiler *cc, int idx);
/* Drop the frozen entry a raised conversion left without an address. */
ATH_HIDDEN void ath_l_frozen_drop_incomplete(l_compiler *cc);
/* Free every frozen subtree (their Lua lists are unreferenced). */
ATH_HIDDEN void ath_l_frozen_clear(l_compiler *cc);

#endif
