/* test_expr_fastpath.c — the C side of the expression language's fast
 * paths (docs/expressions.md, "Fused paths"), driven through the Lua API of
 * the full library (libathanor.a, embedded modules):
 *   core.plain_row (csrc/lua/l_rows.c): values()'s check of one row, its key
 *     count and its shape's mask;
 *   the converter's reading of a comparison that holds its value (l_convert.c,
 *     convert_lazy_compare): { k = BINARY, s = op, left, v = value }. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "athanor.h"
#include "embedded_lua.h"
#include "base/ath_alloc.h"

/* Runs chunk (which returns one string) and compares it with want. */
static void expect(lua_State *L, const char *chunk, const char *want) {
  if (luaL_dostring(L, chunk) != LUA_OK) fail_msg("chunk failed: %s", embedded_lua_error(L));
  const char *got = lua_tostring(L, -1);
  if (!got || strcmp(got, want) != 0) fail_msg("got [%s], want [%s]", got ? got : "(nil)", want);
  lua_pop(L, 1);
}

/* A table with columns id (Integer), name (String), price (Float), and
 * data (a type whose bind check may convert), and its kinds table. */
static const char *const prelude =
  "local ath = require('athanor')\n"
  "local core = require('athanor.core')\n"
  "local md = ath.MetaData()\n"
  "local t = ath.Table('t', md, ath.Column('id', ath.Integer, { primary_key = true }),\n"
  "  ath.Column('name', ath.String), ath.Column('price', ath.Float), ath.Column('data', ath.JSON))\n"
  "ath.insert(t):values({ id = 1 })\n"                    /* builds t._plain_kinds */
  "local kinds = t._plain_kinds\n"
  "local function show(...) local out = {} for i = 1, select('#', ...) do out[i] = tostring((select(i, ...))) end\n"
  "  return table.concat(out, ' ') end\n"
  "local function checked(row, k)\n"                      /* plain_row's count and mask (not its copy) */
  "  local count, mask = core.plain_row(row, k or kinds)\n"
  "  if count == nil then return end return count, mask end\n";

static void run_with_prelude(lua_State *L, const char *body, const char *want) {
  char chunk[4096];
  snprintf(chunk, sizeof chunk, "%s%s", prelude, body);
  expect(L, chunk, want);
}

static void test_plain_row_counts_keys_and_sums_their_bits(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  /* bits: id 1, name 2, price 4, data 8 */
  run_with_prelude(L, "return show(checked({ id = 5, name = 'x' }, kinds))", "2 3");
  run_with_prelude(L, "return show(checked({ price = 1, id = 2, name = core.null }, kinds))", "3 7");
  run_with_prelude(L, "return show(checked({}, kinds))", "0 0");
  lua_close(L);
}

static void test_plain_row_says_when_a_value_needs_its_bind_check(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run_with_prelude(L, "return show(checked({ id = 1.5 }, kinds))", "false 1");     /* not an integer */
  run_with_prelude(L, "return show(checked({ name = 3 }, kinds))", "false 2");     /* not a string */
  run_with_prelude(L, "return show(checked({ data = 'x' }, kinds))", "false 8");   /* a converting check */
  run_with_prelude(L, "return show(checked({ data = core.null }, kinds))", "1 8"); /* NULL always plain */
  run_with_prelude(L, "return show(checked({ id = {} }, kinds))", "false 1");
  lua_close(L);
}

/* The third result is a copy of the row (the statement keeps it): equal
 * keys and values, another table, unchanged when the row changes. */
static void test_plain_row_returns_a_copy_of_the_row(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  run_with_prelude(L,
    "local row = { id = 5, name = 'x', price = 1.5, data = core.null }\n"
    "local _, _, copy = core.plain_row(row, kinds)\n"
    "assert(copy ~= row and getmetatable(copy) == nil)\n"
    "row.id, row.name, row.extra = 6, nil, 1\n"
    "local keys = {} for k, v in pairs(copy) do keys[#keys + 1] = k .. '=' .. tostring(v) end\n"
    "table.sort(keys) return table.concat(keys, ' ')",
    "data=userdata: (nil) id=5 name=x price=1.5");
  lua_close(L);
}

static void test_plain_row_gives_nothing_for_a_key_that_is_not_a_column_name(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  /* (no answer at all: the Lua side checks the row and names the key) */
  run_with_prelude(L, "return show(select('#', core.plain_row({ id = 1, nope = 2 }, kinds)))", "0");
  run_with_prelude(L, "return show(select('#', core.plain_row({ [t.c.id] = 1 }, kinds)))", "0");
  run_with_prelude(L, "return show(select('#', core.plain_row({ 7 }, kinds)))", "0");
  run_with_prelude(L, "return show((pcall(core.plain_row, 'x', kinds)))", "false");
  lua_close(L);
}

/* Rows read one after another with other keys, other orders and other
 * value types: the keys remembered from the row before never stand for a
 * key of another row. */
static void test_plain_row_remembers_keys_without_mixing_up_rows(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  const char *rows =
    "local out = {}\n"
    "local long = string.rep('x', 60)\n"
    "local rows = { { id = 1, name = 'a' }, { id = 2, name = 'b' }, { price = 1.5, data = core.null },\n"
    "  { id = 3, name = 4 }, { name = 'c' }, { id = 4, price = 2, name = 'd', data = core.null }, { id = 5 },\n"
    "  { id = 6, name = 'e' }, { [long] = 1 }, { id = 7, name = 'f' } }\n"
    "for i, r in ipairs(rows) do out[i] = show(checked(r, kinds)) end\n"
    "return table.concat(out, '|')\n";
  run_with_prelude(L, rows, "2 3|2 3|2 12|false 3|1 2|4 15|1 1|2 3||2 3");
  lua_close(L);
}

/* A comparison holding its value compiles as the BINARY of a BIND, and
 * used twice binds its value once, as one BIND used twice does. */
static void test_a_comparison_holding_its_value_compiles_as_its_bind(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  const char *lazy =
    "local K = core.node_kinds\n"
    "local c = { k = K.BINARY, s = '>=', t.c.id, v = 5 }\n"        /* an internal node: no metatable */
    "local sql, values = core.compile(c, 'postgresql', nil, true)\n"
    "local sql2, values2 = core.compile({ k = K.AND, c, c }, 'postgresql', nil, true)\n"
    "return show(sql, #values, values[1], sql2, #values2, values2[1])\n";
  run_with_prelude(L, lazy, "t.id >= $1 1 5 t.id >= $1 AND t.id >= $1 1 5");
  const char *same =
    "local a, b = t.c.id:eq(9), t.c.id:eq(9)\n"
    "local _ = b[2]\n"                                             /* b's BIND made: a plain BINARY now */
    "local s1, v1 = core.compile(ath.and_(a, a), 'postgresql', nil, true)\n"
    "local s2, v2 = core.compile(ath.and_(b, b), 'postgresql', nil, true)\n"
    "return show(s1 == s2, #v1, v1[1], #v2, v2[1])\n";
  run_with_prelude(L, same, "true 1 9 1 9");
  lua_close(L);
}

static void test_a_binary_with_one_operand_and_no_value_is_still_refused(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  const char *bad =
    "local ok, err = pcall(core.compile, { k = core.node_kinds.BINARY, s = '=', t.c.id }, 'sqlite', nil, true)\n"
    "return show(ok, ath.errors.is(err, 'CompileError'), tostring(err):find('children', 1, true) ~= nil)\n";
  run_with_prelude(L, bad, "false true true");
  lua_close(L);
}

/* A node without a field k takes its class's: the field k of the table at
 * its metatable's key __node_fields, one level, read raw; a fused point
 * select is such a node, and so is a plain comparison on Lua 5.3+, whose
 * operator (a required s) its class holds too. */
static void test_a_node_takes_its_kind_from_its_class(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  const char *from_class =
    "local K = core.node_kinds\n"
    "local class = { __node_fields = { k = K.LIST } }\n"
    "core.register_node_metatable(class)\n"
    "local list = setmetatable({ t.c.id, t.c.name }, class)\n"
    "local sql = core.compile({ k = K.SELECT, list, { k = K.LIST }, false, false, false, false, false, false, false, false },\n"
    "  'sqlite', nil, true)\n"
    "local deeper = { __node_fields = setmetatable({}, { __index = { k = K.LIST } }) }\n"
    "core.register_node_metatable(deeper)\n"
    "local ok, err = pcall(core.compile, setmetatable({ t.c.id }, deeper), 'sqlite', nil, true)\n"
    "local bad = { __node_fields = { k = 'LIST' } }\n"
    "core.register_node_metatable(bad)\n"
    "local ok2 = pcall(core.compile, setmetatable({ t.c.id }, bad), 'sqlite', nil, true)\n"
    "local index_only = { __index = { k = K.LIST } }\n"         /* __index is not where the converter looks */
    "core.register_node_metatable(index_only)\n"
    "local ok3 = pcall(core.compile, setmetatable({ t.c.id }, index_only), 'sqlite', nil, true)\n"
    "return show(sql, ok, ath.errors.is(err, 'ArgumentError'), ok2, ok3)\n";
  run_with_prelude(L, from_class, "SELECT t.id, t.name FROM t false true false false");
  const char *fused =
    "local s = ath.select(t):where(t.c.id:eq(3))\n"
    "local sql, values = s:compile()\n"
    "return show(rawget(s, 'k'), s.k == core.node_kinds.SELECT, #s, s[4], sql, values[1])\n";
  run_with_prelude(L, fused, "nil true 3 false SELECT t.id, t.name, t.price, t.data FROM t WHERE t.id = ? 3");
  lua_close(L);
}

/* The class's node fields give a BINARY its operator, and a node whose kind
 * its class gives may leave out its trailing empty slots; a node with a k
 * of its own and too few slots is still malformed. */
static void test_a_class_gives_the_operator_and_the_empty_slots(void **state) {
  (void)state;
  lua_State *L = embedded_lua_state();
  const char *shared =
    "local K = core.node_kinds\n"
    "local ge = { __node_fields = { k = K.BINARY, s = '>=' } }\n"
    "core.register_node_metatable(ge)\n"
    "local lazy = setmetatable({ t.c.id, v = 7 }, ge)\n"
    "local whole = setmetatable({ t.c.id, { k = K.BIND, v = 8 } }, ge)\n"
    "local own = setmetatable({ t.c.id, { k = K.BIND, v = 9 }, s = '<' }, ge)\n"   /* its own s first */
    "local s1, v1 = core.compile(lazy, 'postgresql', nil, true)\n"
    "local s2, v2 = core.compile(whole, 'postgresql', nil, true)\n"
    "local s3 = core.compile(own, 'postgresql', nil, true)\n"
    "local short = { __node_fields = { k = K.SELECT } }\n"
    "core.register_node_metatable(short)\n"
    "local s4 = core.compile(setmetatable({ { k = K.LIST, t.c.id }, { k = K.LIST, t }, lazy }, short), 'sqlite', nil, true)\n"
    "local ok, err = pcall(core.compile, { k = K.SELECT, { k = K.LIST, t.c.id }, { k = K.LIST, t }, lazy }, 'sqlite', nil, true)\n"
    "local noop = { __node_fields = { k = K.BINARY } }\n"
    "core.register_node_metatable(noop)\n"
    "local ok2, err2 = pcall(core.compile, setmetatable({ t.c.id, v = 1 }, noop), 'sqlite', nil, true)\n"
    "return show(s1, v1[1], s2, v2[1], s3, s4, ok, tostring(err):find('at least 10', 1, true) ~= nil,\n"
    "  ok2, ath.errors.is(err2, 'CompileError'))\n";
  run_with_prelude(L, shared, "t.id >= $1 7 t.id >= $1 8 t.id < $1 SELECT t.id FROM t WHERE t.id >= ? "
                              "false true false true");
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_plain_row_counts_keys_and_sums_their_bits),
    cmocka_unit_test(test_plain_row_says_when_a_value_needs_its_bind_check),
    cmocka_unit_test(test_plain_row_returns_a_copy_of_the_row),
    cmocka_unit_test(test_plain_row_gives_nothing_for_a_key_that_is_not_a_column_name),
    cmocka_unit_test(test_plain_row_remembers_keys_without_mixing_up_rows),
    cmocka_unit_test(test_a_comparison_holding_its_value_compiles_as_its_bind),
    cmocka_unit_test(test_a_binary_with_one_operand_and_no_value_is_still_refused),
    cmocka_unit_test(test_a_node_takes_its_kind_from_its_class),
    cmocka_unit_test(test_a_class_gives_the_operator_and_the_empty_slots),
  };
  return cmocka_run_group_tests_name("expr_fastpath", tests, NULL, NULL);
}
