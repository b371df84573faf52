/* test_orm_load.c — the ORM loader's C part (csrc/lua/l_orm.c,
 * core.orm_load) driven from a Lua state the way loading.lua drives it:
 * each call holds its objects in arrays appended to spec.strong (one for a
 * small batch), and with spec.store (lazy states) the loaded values go to
 * the store's column chunks under store.slot_of[key] and no state is
 * recorded; a key that has a slot already is written in place. No array
 * the loader makes has more than 16,000 slots (l_orm.c PIECE_SLOTS: bigger
 * ones are new memory every time on LuaJIT). Links libathanor.a like
 * test_embed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"
#include "embedded_lua.h"

/* Runs chunk (after the common prelude); fails the test with its error. */
static void run(lua_State *L, const char *chunk) {
  static const char *const prelude =
    "local core = require('athanor.core')\n"
    "local function spec(store, class)\n"
    "  local model = { __name = 'M' }\n"
    "  return { model = model, mapper = {}, session = {}, mapper_id = 7,\n"
    "           attrs = { 'id', 'name', 'age' }, row_keys = { 'id', 'name', 'age' }, pk = { 1 },\n"
    "           identity = setmetatable({}, { __mode = 'v' }), states = setmetatable({}, { __mode = 'k' }),\n"
    "           strong = {}, class = class, store = store, reuse_rows = true }\n"
    "end\n"
    "local function rows(n, from)\n"
    "  local out = {}\n"
    "  for r = 1, n do local id = (from or 0) + r; out[r] = { id = id, name = 'n' .. id, age = id * 10 } end\n"
    "  return out\n"
    "end\n";
  size_t a = strlen(prelude), b = strlen(chunk);
  char *src = malloc(a + b + 1);
  assert_non_null(src);
  memcpy(src, prelude, a);
  memcpy(src + a, chunk, b + 1);
  int rc = luaL_dostring(L, src);
  free(src);
  if (rc != LUA_OK) fail_msg("chunk failed: %s", embedded_lua_error(L));
}

static void test_orm_load_holds_a_batch_in_one_array(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local s = spec(nil, { __index = function() end })\n"
    "local batch = rows(5)\n"
    "assert(core.orm_load(s, batch, batch) == 5)\n"
    "assert(#s.strong == 1 and #s.strong[1] == 5, 'one array of the five objects')\n"
    "assert(s.strong[1] ~= batch, 'not the array handed out')\n"
    "for r = 1, 5 do assert(s.strong[1][r] == batch[r]) end\n"
    "local again = rows(2)\n"
    "assert(core.orm_load(s, again, again) == 0)\n"
    "assert(#s.strong == 2 and s.strong[2][1] == batch[1] and s.strong[2][2] == batch[2], 'found ones held again')\n"
    "assert(getmetatable(s.states[batch[1]]) ~= nil, 'a compact state without a store')\n");
  lua_close(L);
}

static void test_orm_load_lazy_states_fill_the_store(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local store = { slot_of = {}, chunks = {} }\n"
    "local s = spec(store, {})\n"
    "local batch = rows(3)\n"
    "batch[2].age = nil                                       -- NULL\n"
    "assert(core.orm_load(s, batch, batch) == 3)\n"
    "assert(next(s.states) == nil, 'no state recorded')\n"
    "assert(#store.chunks == 1, 'one chunk for the call')\n"
    "local chunk = store.chunks[1]\n"
    "for r = 1, 3 do\n"
    "  local code = store.slot_of[r]\n"
    "  assert(code == 2^24 + r, 'slot of key ' .. r .. ': ' .. tostring(code))\n"
    "  assert(chunk[(r - 1) * 3 + 1] == r and chunk[(r - 1) * 3 + 2] == 'n' .. r)\n"
    "  assert(getmetatable(batch[r]) == s.model and s.identity[r] == batch[r])\n"
    "end\n"
    "assert(chunk[3] == 10 and chunk[6] == nil and chunk[9] == 30)\n"
    "-- a second call: a new chunk; a key whose object is gone is written in place\n"
    "s.identity[2] = nil\n"
    "local more = { { id = 2, name = 'two', age = nil }, { id = 4, name = 'n4', age = 40 } }\n"
    "batch[1].age = 99                                        -- changed since: not the store's business\n"
    "assert(core.orm_load(s, more, more) == 2)\n"
    "assert(#store.chunks == 2)\n"
    "assert(store.slot_of[2] == 2^24 + 2, 'the old slot kept')\n"
    "assert(chunk[4] == 2 and chunk[5] == 'two' and chunk[6] == nil)\n"
    "assert(store.slot_of[4] == 2 * 2^24 + 1, 'the new row first in its chunk')\n"
    "assert(store.chunks[2][1] == 4 and store.chunks[2][3] == 40 and store.chunks[2][4] == nil)\n"
    "assert(chunk[3] == 10, 'a loaded value stays what was loaded')\n"
    "assert(next(s.states) == nil)\n");
  lua_close(L);
}

static void test_orm_load_lazy_states_copy_rows_that_are_not_objects(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local store = { slot_of = {}, chunks = {} }\n"
    "local s = spec(store, {})\n"
    "s.reuse_rows = nil\n"
    "s.row_keys = { 'u_id', 'u_name', 'u_age' }\n"
    "local batch = { { u_id = 5, u_name = 'five', other = 1 }, { u_id = 6, u_name = 'six', u_age = 60 } }\n"
    "local out = {}\n"
    "assert(core.orm_load(s, batch, out) == 2)\n"
    "assert(out[1] ~= batch[1] and out[1].id == 5 and out[1].name == 'five' and out[1].age == nil)\n"
    "assert(out[1].other == nil and out[2].age == 60)\n"
    "assert(store.chunks[1][2] == 'five' and store.chunks[1][6] == 60)\n");
  lua_close(L);
}

/* A batch of more rows than one array of PIECE_SLOTS (16,000) slots holds:
 * its objects are held in arrays of at most 16,000, its values stored in
 * chunks of at most 16,000 values (5,333 rows of 3), every slot naming the
 * chunk and row that hold its values. */
static void test_orm_load_splits_a_big_batch_into_small_arrays(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local store = { slot_of = {}, chunks = {} }\n"
    "local s = spec(store, {})\n"
    "local N = 40000\n"
    "local batch = rows(N)\n"
    "batch[7].age = nil                                       -- NULL\n"
    "assert(core.orm_load(s, batch, batch) == N)\n"
    "assert(#s.strong == 3, 'three arrays of held objects: ' .. #s.strong)\n"
    "local held = 0\n"
    "for j = 1, #s.strong do\n"
    "  assert(#s.strong[j] <= 16000, 'a held array of ' .. #s.strong[j])\n"
    "  for b = 1, #s.strong[j] do held = held + 1; assert(s.strong[j][b] == batch[held]) end\n"
    "end\n"
    "assert(held == N, 'every object held once')\n"
    "assert(#store.chunks == 8, 'chunks of 5,333 rows: ' .. #store.chunks)\n"
    "for c = 1, #store.chunks do assert(#store.chunks[c] <= 16000) end\n"
    "for r = 1, N do\n"
    "  local code = store.slot_of[r]\n"
    "  local c, i = code // 2^24, code % 2^24\n"
    "  assert(c == (r - 1) // 5333 + 1 and i == (r - 1) % 5333 + 1, 'slot of key ' .. r)\n"
    "  local chunk, at = store.chunks[c], (i - 1) * 3\n"
    "  assert(chunk[at + 1] == r and chunk[at + 2] == 'n' .. r and chunk[at + 3] == batch[r].age)\n"
    "end\n"
    "assert(#store.chunks[8] == (N - 7 * 5333) * 3, 'the last chunk sized for the rows left')\n");
  lua_close(L);
}

/* A store whose slot table is empty when the call begins skips the slot
 * lookups (l_orm.c lazy_values): a key met twice in the call is the one
 * object, found in the identity map, with the one slot of its first row.
 * (test_orm_load_lazy_states_fill_the_store's second call shows a store
 * with slots still looks them up: a gone object's slot written in place.) */
static void test_orm_load_fresh_store_finds_a_repeated_key_once(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local store = { slot_of = {}, chunks = {} }\n"
    "local s = spec(store, {})\n"
    "s.reuse_rows = nil\n"
    "local batch = rows(3)\n"
    "batch[3] = { id = 1, name = 'again', age = 11 }          -- key 1 again\n"
    "local out = {}\n"
    "assert(core.orm_load(s, batch, out) == 2, 'two objects')\n"
    "assert(out[1] == out[3] and out[1].name == 'n1', 'the first row made it')\n"
    "assert(store.slot_of[1] == 2^24 + 1 and store.slot_of[2] == 2^24 + 2)\n"
    "local n = 0 for _ in pairs(store.slot_of) do n = n + 1 end\n"
    "assert(n == 2, 'one slot per key')\n"
    "assert(store.chunks[1][7] == nil, 'nothing stored for the repeated row')\n");
  lua_close(L);
}

/* store.index_later (state.lua: a fresh store, a one-column key): the
 * loader writes no slot, the key being in the chunk at its column's place;
 * a store that has slots already, or a composite key, gets them written. */
static void test_orm_load_leaves_a_fresh_stores_slots_for_later(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local store = { slot_of = {}, chunks = {}, index_later = true }\n"
    "local s = spec(store, {})\n"
    "local batch = rows(4)\n"
    "assert(core.orm_load(s, batch, batch) == 4)\n"
    "assert(next(store.slot_of) == nil, 'no slot written')\n"
    "for r = 1, 4 do assert(store.chunks[1][(r - 1) * 3 + 1] == r, 'key ' .. r .. ' in the chunk') end\n"
    "local indexed = { slot_of = { [99] = 2^24 + 1 }, chunks = { {} }, index_later = true }\n"
    "local s2 = spec(indexed, {})\n"
    "assert(core.orm_load(s2, rows(2), {}) == 2)\n"
    "assert(indexed.slot_of[1] == 2 * 2^24 + 1 and indexed.slot_of[2] == 2 * 2^24 + 2, 'slots written')\n"
    "local pair = { slot_of = {}, chunks = {}, index_later = true }\n"
    "local s3 = spec(pair, {})\n"
    "s3.pk = { 1, 2 }\n"
    "assert(core.orm_load(s3, rows(2), {}) == 2)\n"
    "assert(next(pair.slot_of) ~= nil, 'a composite key gets its slots at once')\n");
  lua_close(L);
}

/* core.orm_new_table: an array part for dense keys (loading.lua presizes a
 * fresh identity map with it); a size out of range is an ArgumentError. */
static void test_orm_new_table_sizes_and_refuses(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local t = core.orm_new_table(1000)\n"
    "assert(type(t) == 'table' and next(t) == nil)\n"
    "for i = 1, 1000 do t[i] = i end\n"
    "assert(#t == 1000)\n"
    "for _, bad in ipairs({ -1, 2^24 }) do\n"
    "  local ok, err = pcall(core.orm_new_table, bad)\n"
    "  assert(not ok and err.kind == 'ArgumentError' and err.message:find('out of range', 1, true), tostring(err))\n"
    "end\n");
  lua_close(L);
}

static void test_orm_load_rejects_a_store_without_its_tables(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run(L,
    "local s = spec({ slot_of = {} }, {})\n"
    "local ok, err = pcall(core.orm_load, s, rows(1), {})\n"
    "assert(not ok and type(err) == 'table' and err.kind == 'ArgumentError', tostring(err))\n"
    "assert(err.message:find('slot_of and chunks', 1, true), err.message)\n"
    "assert(next(s.identity) == nil, 'nothing loaded')\n");
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_orm_load_holds_a_batch_in_one_array),
    cmocka_unit_test(test_orm_load_lazy_states_fill_the_store),
    cmocka_unit_test(test_orm_load_lazy_states_copy_rows_that_are_not_objects),
    cmocka_unit_test(test_orm_load_rejects_a_store_without_its_tables),
    cmocka_unit_test(test_orm_load_fresh_store_finds_a_repeated_key_once),
    cmocka_unit_test(test_orm_load_splits_a_big_batch_into_small_arrays),
    cmocka_unit_test(test_orm_new_table_sizes_and_refuses),
    cmocka_unit_test(test_orm_load_leaves_a_fresh_stores_slots_for_later),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
