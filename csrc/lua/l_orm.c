/* l_orm.c — the ORM's hot path in C: identity keys and turning fetched rows
 * into mapped objects (API.md §5, §6; lua/athanor/orm/loading.lua).
 *
 * core.orm_identity_key(mapper_id, v1, ..., vn) -> string
 *   The identity key of a composite primary key (csrc/orm/ath_identity.c).
 *   A one-column key is the value itself and never comes here.
 *
 * core.orm_load(spec, rows, out) -> number of objects created
 *   For each row of the array `rows` (as cursor:fetch returns them): compute
 *   the row's identity key, find the object in spec.identity (a weak-valued
 *   table key -> object), or create it: a new table holding the row's values
 *   under the attribute names, the model as metatable, and its state in
 *   spec.states (weak keys). The state is compact when spec.class is given:
 *   the loaded values at 1..n and spec.class (the session's state class of
 *   the mapper) as metatable, which answers mapper, session, key and status
 *   (lua/athanor/orm/state.lua, "Compact states"): one table with an array
 *   part and no hash part. Without a class it is a plain state: the loaded
 *   values and mapper, session, key, status = "persistent" (a class costs
 *   more than it saves for a few rows). Every object handed out is held
 *   until the session's next flush (a plain table cannot report an
 *   assignment): the call puts them in arrays of its own, each sized for
 *   at most PIECE_SLOTS objects, appended to spec.strong as they are made
 *   (an append per piece, not per object: appending each object to the
 *   session's growing array cost a rehash every doubling; the session
 *   empties spec.strong whole, and query.lua's release_clean thins the
 *   arrays); new ones are appended to
 *   spec.new_objects when that is a table (the load event). An object found
 *   with expired attributes gets them from the row. out[r] is the object of
 *   row r, or false when the row's key is NULL (an outer join's missing
 *   side; nil instead when spec.nil_for_null is true).
 *   Lazy states: when spec.store is given (with spec.class; loading.lua,
 *   state.lua "Lazy states") a new object gets no state table and no entry
 *   in spec.states: its loaded values go to a column store, in arrays of
 *   at most PIECE_SLOTS values made as the call needs them (store.chunks[c]:
 *   the values of its row r at (r-1)*n + 1 .. r*n, the rows packed in the
 *   order their objects were made), and store.slot_of[key] = c * 2^24 + r
 *   says where; a key that has a slot already (its object was collected)
 *   has its slot written again. With store.index_later true (state.lua
 *   lazy_store sets it for a store with no chunk yet and a one-column key)
 *   slot_of is not written: the key is in the chunk at the key column's
 *   place, and state.lua indexes the chunks when something first asks for
 *   a slot, or before the next load into the store (a load that reads
 *   only its objects never pays for the slots). state.lua makes the state
 *   (the same compact state) the first time something asks spec.states
 *   for the object. An object found without a state is such an object:
 *   never expired (expiry makes its state first), so nothing to refresh.
 *   spec fields: model, mapper, session, mapper_id, class (optional), attrs (attribute names),
 *   row_keys (where each attribute's value is in a row: its column's name,
 *   or its position for a repeated name), pk (indexes into attrs), identity,
 *   states, strong, new_objects (optional), reuse_rows (optional: true
 *   when each row holds exactly the attributes under their own names, so
 *   the row table itself becomes the object: one table less per row).
 *   Rows hold each value raw (under its column's name, or at its position
 *   for a repeated name: l_conn.c push_row), so they are read with rawget.
 *   Rows and objects are plain Lua tables: nothing is allocated outside the
 *   Lua heap, so an error raised midway (out of memory) leaks nothing. */
#include "l_internal.h"
#include "../orm/ath_identity.h"
#include <string.h>

/* Fill *v from the Lua value at idx; 0 when it has no identity (nil, a
 * table, ...). Strings point into the Lua string (alive on the stack). */
static int to_idval(lua_State *L, int idx, ath_idval *v) {
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
#if LUA_VERSION_NUM >= 503
      if (lua_isinteger(L, idx)) { v->type = ATH_IDV_INT; v->u.i = (int64_t)lua_tointeger(L, idx); return 1; }
#endif
      v->type = ATH_IDV_FLOAT; v->u.f = (double)lua_tonumber(L, idx); return 1;
    case LUA_TSTRING: {
      size_t n;
      const char *p = lua_tolstring(L, idx, &n);
      v->type = ATH_IDV_STRING; v->u.s.p = p; v->u.s.n = n; return 1;
    }
    case LUA_TBOOLEAN:
      v->type = ATH_IDV_BOOL; v->u.i = lua_toboolean(L, idx); return 1;
    default:
      return 0;
  }
}

/* Push the identity key of the n values at stack first..first+n-1, or nil
 * when one has no identity (NULL). Raises ArgumentError for a NaN. */
static void push_identity_key(lua_State *L, lua_Integer mapper_id, int first, int n) {
  ath_idval vals[ATH_IDENTITY_MAX_VALUES];
  if (n > ATH_IDENTITY_MAX_VALUES) {
    ath_l_raisef(L, ATH_E_ARGUMENT, "a primary key of %d columns is more than %d", n, ATH_IDENTITY_MAX_VALUES);
  }
  for (int k = 0; k < n; k++) {
    if (!to_idval(L, first + k, &vals[k])) { lua_pushnil(L); return; }
  }
  /* scratch for the key, sized before anything is owned: the userdata may
   * raise (memory), ath_buf must be freed before anything else may */
  size_t bound = 8;
  for (int k = 0; k < n; k++) bound += 9 + (vals[k].type == ATH_IDV_STRING ? vals[k].u.s.n : 0);
  char small[256];
  char *scratch = bound <= sizeof small ? small : lua_newuserdata(L, bound);
  ath_buf b = ATH_BUF_INIT;
  ath_error err;
  ath_status st = ath_identity_key((uint32_t)mapper_id, vals, (size_t)n, &b, &err);
  if (st != ATH_OK) { ath_buf_free(&b); ath_l_raise(L, &err, NULL, 0); }
  size_t len = b.len;
  memcpy(scratch, b.data, len);
  ath_buf_free(&b);
  lua_pushlstring(L, scratch, len);
  if (scratch != small) lua_remove(L, -2);                   /* the scratch userdata */
}

/* core.orm_identity_key(mapper_id, v1, ..., vn) -> key | nil */
static int l_orm_identity_key(lua_State *L) {
  lua_Integer id = luaL_checkinteger(L, 1);
  int n = lua_gettop(L) - 1;
  if (n < 1) return ath_l_raisef(L, ATH_E_ARGUMENT, "orm_identity_key() needs at least one key value");
  push_identity_key(L, id, 2, n);
  return 1;
}

/* Stack slots of orm_load, fixed once the spec is spread. */
enum { S_SPEC = 1, S_ROWS, S_OUT, S_MODEL, S_MAPPER, S_SESSION, S_IDENTITY, S_STATES, S_STRONG, S_NEW, S_CLASS,
       S_STORE, S_PERSISTENT, S_EXPIRED_KEY, S_K_MAPPER, S_K_SESSION, S_K_KEY, S_K_STATUS, S_BASE };

/* A lazy state's place in its store: chunk c, row r -> c * 2^24 + r (an
 * integer a double holds exactly on LuaJIT too: c < 2^29). */
#define LAZY_ROW_BITS 24
#define LAZY_MAX_ROWS ((1 << LAZY_ROW_BITS) - 1)
#define LAZY_MAX_CHUNKS ((lua_Integer)1 << 28)

/* The most slots of an array the loader makes (a store chunk, an array of
 * held objects). LuaJIT's allocator maps every block of 128 KB or more
 * straight from the system (mmap) and unmaps it when it is freed, so an
 * array that big is new memory every time, paid in page faults: one array
 * of 400,000 slots cost 8.5 ms to make on LuaJIT, 25 arrays of 16,000
 * (the same slots, each under 128 KB, recycled by the allocator) 0.07 ms;
 * Lua 5.4 (the C library's malloc, which keeps freed big blocks) 0.11 ms
 * either way (docs/performance.md, "ORM loading on LuaJIT"). 16,000
 * slots of LuaJIT's 8 bytes stay under 128 KB with the allocator's header. */
#define PIECE_SLOTS 16000

/* lua_rawget, returning the type of the value it pushed (5.1 returns nothing) */
static inline int rawget_type(lua_State *L, int t) {
#if LUA_VERSION_NUM >= 503
  return lua_rawget(L, t);
#else
  lua_rawget(L, t);
  return lua_type(L, -1);
#endif
}

static int getfield_at(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  return lua_type(L, -1);
}

/* An object found in the identity map with expired attributes takes them
 * from the row (those the user assigned since keep their new value; the
 * loaded state records the row's value so flush sees the assignment).
 * Stack: obj at obj, state at st, the row at row. A compact state of the
 * loader's own class is never expired (nothing to do); one of another
 * class (its expired variant) is read and written through the class. */
static void refresh_expired(lua_State *L, int obj, int st, int row, int n, int attrs0, int keys0) {
  int compact = lua_getmetatable(L, st);
  if (compact) {
    int own = lua_rawequal(L, -1, S_CLASS);
    lua_pop(L, 1);
    if (own) return;
    lua_pushvalue(L, S_EXPIRED_KEY);
    lua_gettable(L, st);                                     /* expired, as the class answers */
  } else {
    lua_pushvalue(L, S_EXPIRED_KEY);
    lua_rawget(L, st);                                       /* expired: true | { attr = true } */
  }
  int expired = lua_gettop(L);
  if (lua_isnil(L, expired)) { lua_pop(L, 1); return; }
  int all = lua_type(L, expired) == LUA_TBOOLEAN;
  for (int i = 1; i <= n; i++) {
    if (!all) {
      lua_pushvalue(L, attrs0 + i);
      lua_rawget(L, expired);
      int is_expired = lua_toboolean(L, -1);
      lua_pop(L, 1);
      if (!is_expired) continue;
    }
    lua_pushvalue(L, keys0 + i);
    lua_rawget(L, row);                                      /* value */
    lua_pushvalue(L, -1);
    lua_rawseti(L, st, i);                                   /* loaded state */
    lua_pushvalue(L, attrs0 + i);
    lua_rawget(L, obj);
    int assigned = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!assigned) { lua_pushvalue(L, attrs0 + i); lua_insert(L, -2); lua_rawset(L, obj); }
    else lua_pop(L, 1);
  }
  lua_pop(L, 1);                                             /* expired */
  lua_pushvalue(L, S_EXPIRED_KEY);
  lua_pushnil(L);
  if (compact) lua_settable(L, st);                          /* the class moves it to its base variant */
  else lua_rawset(L, st);
}

/* What orm_load reads once from its spec: stack positions of the spread
 * attribute names and row keys, the key columns, and the options. */
typedef struct load_ctx {
  int n, npk, pk1;              /* attributes; key columns; the one key's index (0 for a composite key) */
  int pk[ATH_IDENTITY_MAX_VALUES];
  int attrs0, keys0;            /* attrs0 + i / keys0 + i: attribute i's name / its key in a row */
  int reuse, compact, nil_for_null, in_place, have_new;
  int lazy;                     /* states go to the store at S_STORE (then slot_of, chunks, chunk at these slots) */
  int slot_of, chunks, chunk;   /* stack slots (chunk: nil until this call's first new object) */
  int slots_were_empty;         /* slot_of had no entry when the call began: no key can have a slot */
  int index_later;              /* slot_of is left to state.lua (a fresh store, a one-column key) */
  lua_Integer chunk_id, nrows;
  lua_Integer chunk_rows, chunk_cap;   /* rows written to the chunk at x->chunk; rows it has room for */
  lua_Integer mapper_id, nheld, held_cap;
  int held;                     /* the stack slot of the call's current array of objects handed out (nil at first) */
  int nnew;
} load_ctx;

/* Read the spec at S_SPEC onto the stack (S_MODEL .. and the spread names)
 * and into x; raises ArgumentError for a spec that does not agree. */
static void load_setup(lua_State *L, load_ctx *x) {
  static const char *const fields[] = { "model", "mapper", "session", "identity", "states", "strong", "new_objects",
                                        "class", "store" };
  for (int k = 0; k < 9; k++) getfield_at(L, S_SPEC, fields[k]);   /* S_MODEL .. S_STORE */
  if (!lua_istable(L, S_MODEL) || !lua_istable(L, S_IDENTITY) || !lua_istable(L, S_STATES) || !lua_istable(L, S_STRONG))
    ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): spec needs model, identity, states and strong tables");
  lua_pushliteral(L, "persistent");                          /* S_PERSISTENT */
  lua_pushliteral(L, "expired");                             /* S_EXPIRED_KEY */
  /* a plain state's field names, pushed once (lua_setfield would intern them per row) */
  lua_pushliteral(L, "mapper"); lua_pushliteral(L, "session"); lua_pushliteral(L, "key"); lua_pushliteral(L, "status");
  lua_getfield(L, S_SPEC, "mapper_id");
  x->mapper_id = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (getfield_at(L, S_SPEC, "attrs") != LUA_TTABLE || getfield_at(L, S_SPEC, "row_keys") != LUA_TTABLE ||
      getfield_at(L, S_SPEC, "pk") != LUA_TTABLE)
    ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): spec needs attrs, row_keys and pk arrays");
  int t_attrs = S_BASE, t_keys = S_BASE + 1, t_pk = S_BASE + 2;
  int n = (int)lua_rawlen(L, t_attrs), npk = (int)lua_rawlen(L, t_pk);
  if (n < 1 || (int)lua_rawlen(L, t_keys) != n || npk < 1 || npk > n)
    ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): attrs, row_keys and pk do not agree");
  if (npk > ATH_IDENTITY_MAX_VALUES) ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): too many key columns");
  for (int k = 0; k < npk; k++) {
    lua_rawgeti(L, t_pk, k + 1);
    x->pk[k] = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (x->pk[k] < 1 || x->pk[k] > n) ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): pk index out of range");
  }
  x->n = n;
  x->npk = npk;
  x->pk1 = npk == 1 ? x->pk[0] : 0;
  /* spread the attribute names and row keys on the stack: no table reads per row */
  luaL_checkstack(L, 2 * n + npk + 24, "too many mapped columns");
  x->attrs0 = lua_gettop(L);
  for (int i = 1; i <= n; i++) lua_rawgeti(L, t_attrs, i);
  x->keys0 = lua_gettop(L);
  for (int i = 1; i <= n; i++) lua_rawgeti(L, t_keys, i);
  lua_getfield(L, S_SPEC, "reuse_rows");
  x->reuse = lua_toboolean(L, -1);
  lua_getfield(L, S_SPEC, "nil_for_null");
  x->nil_for_null = lua_toboolean(L, -1);
  lua_pop(L, 2);
  x->nheld = x->held_cap = 0;
  x->chunk_rows = x->chunk_cap = 0;
  x->have_new = lua_istable(L, S_NEW);
  x->compact = lua_istable(L, S_CLASS);
  x->nnew = x->have_new ? (int)lua_rawlen(L, S_NEW) : 0;
  x->lazy = x->compact && lua_istable(L, S_STORE);
  x->slot_of = x->chunks = 0;
  x->slots_were_empty = x->index_later = 0;
  if (x->lazy) {
    if (getfield_at(L, S_STORE, "slot_of") != LUA_TTABLE || getfield_at(L, S_STORE, "chunks") != LUA_TTABLE)
      ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): spec.store needs slot_of and chunks tables");
    x->chunks = lua_gettop(L);
    x->slot_of = x->chunks - 1;
    lua_pushnil(L);
    x->slots_were_empty = !lua_next(L, x->slot_of);
    lua_settop(L, x->chunks);
    lua_getfield(L, S_STORE, "index_later");
    x->index_later = lua_toboolean(L, -1) && x->pk1 != 0 && x->slots_were_empty;
    lua_settop(L, x->chunks);
  }
  /* rows that become the objects of out == rows are in place already */
  x->in_place = x->reuse && lua_rawequal(L, S_ROWS, S_OUT);
}

/* Push the identity key of the row at row (nil when a key column is NULL). */
static void push_row_key(lua_State *L, const load_ctx *x, int row) {
  if (x->npk == 1) {
    lua_pushvalue(L, x->keys0 + x->pk1);
    lua_rawget(L, row);
    return;
  }
  for (int k = 0; k < x->npk; k++) { lua_pushvalue(L, x->keys0 + x->pk[k]); lua_rawget(L, row); }
  push_identity_key(L, x->mapper_id, row + 1, x->npk);
  lua_replace(L, row + 1);
  lua_settop(L, row + 1);
}

/* Lazy states: store the row's loaded values (the row at row, its key at
 * row + 1) in the column store and record where under the key. A key with
 * a slot already (its earlier object was collected: the identity map
 * missed) is written in place, NULLs included; else the values go to this
 * call's chunk, made at its first new object. Leaves the stack as it was. */
static void lazy_values(lua_State *L, load_ctx *x, int row, int r) {
  int key = row + 1, n = x->n;
  int base = lua_gettop(L);
  lua_Integer at;                                          /* index before the row's first value */
  /* A store whose slot table was empty when this call began has no slot
   * for any key: a key met twice in this call has its object held (found
   * in the identity map, never here). So its lookup is skipped. */
  if (x->slots_were_empty) goto new_slot;
  lua_pushvalue(L, key);
  if (rawget_type(L, x->slot_of) == LUA_TNUMBER) {         /* base+1: the slot */
    lua_Integer code = lua_tointeger(L, base + 1);
    lua_rawgeti(L, x->chunks, code >> LAZY_ROW_BITS);      /* base+2: its chunk */
    if (!lua_istable(L, base + 2)) ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): a slot names no chunk");
    at = ((code & LAZY_MAX_ROWS) - 1) * n;
    for (int i = 1; i <= n; i++) {
      if (i == x->pk1) lua_pushvalue(L, key);
      else { lua_pushvalue(L, x->keys0 + i); lua_rawget(L, row); }   /* nil for NULL: overwrite */
      lua_rawseti(L, base + 2, at + i);
    }
    lua_settop(L, base);
    return;
  }
  lua_pop(L, 1);
new_slot:
  if (x->chunk_rows == x->chunk_cap) {
    /* a new chunk for the rows still to come, at most PIECE_SLOTS values:
     * sized once, never rehashed */
    lua_Integer rows = PIECE_SLOTS / n, left = x->nrows - r + 1;
    if (rows < 1) rows = 1;
    if (rows > left) rows = left;
    x->chunk_id = (lua_Integer)lua_rawlen(L, x->chunks) + 1;
    if (x->chunk_id >= LAZY_MAX_CHUNKS)
      ath_l_raisef(L, ATH_E_ARGUMENT, "orm_load(): a store of %lld chunks is full", (long long)x->chunk_id - 1);
    lua_createtable(L, (int)(rows * n), 0);
    lua_pushvalue(L, -1);
    lua_rawseti(L, x->chunks, x->chunk_id);
    lua_replace(L, x->chunk);                              /* its reserved slot */
    x->chunk_rows = 0;
    x->chunk_cap = rows;
  }
  lua_Integer row_in_chunk = ++x->chunk_rows;
  at = (row_in_chunk - 1) * n;
  for (int i = 1; i <= n; i++) {
    if (i == x->pk1) lua_pushvalue(L, key);
    else {
      lua_pushvalue(L, x->keys0 + i);
      if (rawget_type(L, row) == LUA_TNIL) { lua_pop(L, 1); continue; }   /* NULL: nil */
    }
    lua_rawseti(L, x->chunk, at + i);
  }
  if (x->index_later) return;                              /* the key is in the chunk */
  lua_pushvalue(L, key);
  lua_pushinteger(L, (x->chunk_id << LAZY_ROW_BITS) + row_in_chunk);
  lua_rawset(L, x->slot_of);
}

/* Hold the object on top of the stack (popped) until the next flush, in
 * the call's current array of held objects; a full one (or none yet) is
 * followed by a new one for the rows still to come (the row at r on),
 * appended to spec.strong when it is made. */
static void hold(lua_State *L, load_ctx *x, int r) {
  if (x->nheld == x->held_cap) {
    lua_Integer left = x->nrows - r + 1;
    x->held_cap = left < PIECE_SLOTS ? left : PIECE_SLOTS;
    x->nheld = 0;
    lua_createtable(L, (int)x->held_cap, 0);
    lua_pushvalue(L, -1);
    lua_rawseti(L, S_STRONG, (lua_Integer)lua_rawlen(L, S_STRONG) + 1);
    lua_replace(L, x->held);
  }
  lua_rawseti(L, x->held, ++x->nheld);
}

/* The new object of the row at row (its identity key at key = row + 1):
 * the row itself (reuse) or a new table, its state, and its entries in
 * states, identity, strong, new_objects and out[r]. Stack from key + 1:
 * obj, obj again and the state (what states[obj] = state pops), then key
 * and obj for identity[key] = obj. */
static void new_object(lua_State *L, load_ctx *x, int row, int r) {
  int key = row + 1, obj = key + 1, n = x->n;
  if (x->reuse) lua_pushvalue(L, row);                     /* the row becomes the object */
  else lua_createtable(L, 0, n);
  if (x->lazy) {
    if (!x->reuse) {                                       /* the object's attributes, from the row */
      for (int i = 1; i <= n; i++) {
        lua_pushvalue(L, x->attrs0 + i);
        lua_pushvalue(L, x->keys0 + i);
        lua_rawget(L, row);
        lua_rawset(L, obj);                                /* obj[attr] = value (nil: nothing) */
      }
    }
    lazy_values(L, x, row, r);
    goto registered;
  }
  lua_pushvalue(L, obj);
  /* the state: the n loaded values, and its class (compact); or mapper,
   * session, key, status and (once expired, e.g. at commit) expired:
   * sized now, never rehashed */
  lua_createtable(L, n, x->compact ? 0 : 5);
  int st = obj + 2;
  for (int i = 1; i <= n; i++) {
    if (i == x->pk1) lua_pushvalue(L, key);                /* read already */
    else {
      lua_pushvalue(L, x->keys0 + i);
      if (rawget_type(L, row) == LUA_TNIL) { lua_pop(L, 1); continue; }   /* NULL: nil */
    }
    if (!x->reuse) {
      lua_pushvalue(L, x->attrs0 + i);
      lua_pushvalue(L, -2);
      lua_rawset(L, obj);                                  /* obj[attr] = value */
    }
    lua_rawseti(L, st, i);                                 /* state[i] = value */
  }
  if (x->compact) {
    lua_pushvalue(L, S_CLASS);
    lua_setmetatable(L, st);
  } else {
    lua_pushvalue(L, S_K_MAPPER); lua_pushvalue(L, S_MAPPER); lua_rawset(L, st);
    lua_pushvalue(L, S_K_SESSION); lua_pushvalue(L, S_SESSION); lua_rawset(L, st);
    lua_pushvalue(L, S_K_KEY); lua_pushvalue(L, key); lua_rawset(L, st);
    lua_pushvalue(L, S_K_STATUS); lua_pushvalue(L, S_PERSISTENT); lua_rawset(L, st);
  }
  lua_rawset(L, S_STATES);                                 /* states[obj] = state */
registered:
  lua_pushvalue(L, S_MODEL);
  lua_setmetatable(L, obj);
  lua_pushvalue(L, obj);
  hold(L, x, r);                                           /* held until the next flush */
  if (x->have_new) { lua_pushvalue(L, obj); lua_rawseti(L, S_NEW, ++x->nnew); }
  if (!x->in_place) { lua_pushvalue(L, obj); lua_rawseti(L, S_OUT, r); }   /* out[r] = obj */
  lua_rawset(L, S_IDENTITY);                               /* identity[key] = obj */
}

/* core.orm_load(spec, rows, out) -> number of new objects */
static int l_orm_load(lua_State *L) {
  luaL_checktype(L, S_SPEC, LUA_TTABLE);
  luaL_checktype(L, S_ROWS, LUA_TTABLE);
  luaL_checktype(L, S_OUT, LUA_TTABLE);
  lua_settop(L, S_OUT);
  load_ctx x;
  load_setup(L, &x);
  int created = 0;
  int nrows = (int)lua_rawlen(L, S_ROWS);
  lua_pushnil(L);                                            /* the current array of objects handed out, once made */
  x.held = lua_gettop(L);
  x.nrows = nrows;
  x.chunk_id = 0;
  lua_pushnil(L);                                            /* lazy states: this call's chunk, once made */
  x.chunk = lua_gettop(L);
  int top = x.chunk;
  for (int r = 1; r <= nrows; r++) {
    lua_rawgeti(L, S_ROWS, r);                               /* top+1: row */
    int row = top + 1, key = top + 2, obj = top + 3;
    push_row_key(L, &x, row);                                /* top+2: key */
    if (lua_isnil(L, key)) {                                 /* no identity: an outer join's NULL side */
      if (x.nil_for_null) lua_pushnil(L); else lua_pushboolean(L, 0);
      lua_rawseti(L, S_OUT, r);
    } else {
      lua_pushvalue(L, key);
      if (rawget_type(L, S_IDENTITY) == LUA_TTABLE) {        /* top+3: the object found */
        lua_pushvalue(L, obj);
        if (rawget_type(L, S_STATES) == LUA_TTABLE)          /* top+4: its state */
          refresh_expired(L, obj, obj + 1, row, x.n, x.attrs0, x.keys0);
        lua_settop(L, obj);
        /* handed out again: it may be changed and dropped before the flush */
        lua_pushvalue(L, obj);
        hold(L, &x, r);
        lua_rawseti(L, S_OUT, r);                            /* out[r] = obj */
      } else {
        lua_pop(L, 1);
        new_object(L, &x, row, r);
        created++;
      }
    }
    lua_settop(L, top);
  }
  lua_pushinteger(L, created);
  return 1;
}

/* core.orm_new_table(narray) -> a new table with an array part for keys
 * 1 .. narray: a fresh session's identity map and slot table for a big
 * load of dense integer keys, sized once instead of rehashed at every
 * doubling (loading.lua, presize_identity). */
static int l_orm_new_table(lua_State *L) {
  lua_Integer narray = luaL_checkinteger(L, 1);
  if (narray < 0 || narray > LAZY_MAX_ROWS)
    return ath_l_raisef(L, ATH_E_ARGUMENT, "orm_new_table(): a size of %lld is out of range", (long long)narray);
  lua_createtable(L, (int)narray, 0);
  return 1;
}

void ath_l_orm_register(lua_State *L) {
  lua_pushcfunction(L, l_orm_new_table); lua_setfield(L, -2, "orm_new_table");
  lua_pushcfunction(L, l_orm_identity_key); lua_setfield(L, -2, "orm_identity_key");
  lua_pushcfunction(L, l_orm_load); lua_setfield(L, -2, "orm_load");
}
