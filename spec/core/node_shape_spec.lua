-- Named, checked node slots (issue 15, item 2): one list in C
-- (ATH_NODE_KINDS) gives the kinds, their slot names and arity, exported as
-- core.node_kinds and core.node_slots; a tree of the wrong arity or an
-- unknown kind is a CompileError from the converter, never a read past a
-- node's children.
local ath = require("athanor")
local core = require("athanor.core")
local errors = require("athanor.errors")
local h = require("spec.helpers")

local K, S = core.node_kinds, core.node_slots

local function compile_error(tree, phrase)
  local err = h.catch(core.compile, tree, h.backend, nil, false)
  assert.is_true(errors.is(err, "CompileError"), tostring(err))
  assert.truthy(tostring(err):find(phrase, 1, true), tostring(err))
end

describe("core.node_slots", function()
  it("names every fixed child slot by its 1-based position", function()
    assert.equal(5, S.INSERT.RETURNING)
    assert.equal(4, S.UPDATE.RETURNING)
    assert.equal(3, S.DELETE.RETURNING)
    assert.equal(1, S.SELECT.COLUMNS)
    assert.equal(11, S.SELECT.DISTINCT_ON)
    assert.equal(2, S.BINARY.RIGHT)
    assert.equal(3, S.JOIN.ON)
  end)

  it("has an entry with the arity of every kind core.node_kinds names", function()
    local n = 0
    for name, k in pairs(K) do
      if not name:match("^F_") then
        n = n + 1
        assert.is_table(S[name], name)
        assert.is_number(S[name].min_kids, name)
        assert.is_true(S[name].max_kids == false or S[name].max_kids >= S[name].min_kids, name)
        assert.is_true(k >= 1, name)
      end
    end
    assert.is_true(n >= 38)
    assert.equal(2, S.BINARY.max_kids)
    assert.is_false(S.LIST.max_kids)
  end)

  it("agrees with the statements the builders make", function()
    local md = ath.MetaData()
    local t = ath.Table("ns_t", md, ath.Column("id", ath.Integer, { primary_key = true }))
    local sel = ath.select(t.c.id):where(t.c.id:eq(1)):limit(3)
    assert.equal(K.SELECT, sel.k)
    assert.is_true(rawequal(t.c.id, sel[S.SELECT.COLUMNS][1]))
    assert.equal(K.BINARY, sel[S.SELECT.WHERE].k)
    assert.is_true(rawequal(t.c.id, sel[S.SELECT.WHERE][S.BINARY.LEFT]))
    assert.truthy(sel[S.SELECT.LIMIT])
  end)
end)

describe("A malformed node tree", function()
  it("with too few children is a CompileError naming the kind", function()
    compile_error({ k = K.BINARY, s = "=", { k = K.NULL } }, "malformed BINARY node: 1 children, at least 2 expected")
    compile_error({ k = K.BETWEEN, { k = K.NULL }, { k = K.NULL } }, "malformed BETWEEN node")
    compile_error({ k = K.INSERT, { k = K.TABLE, s = "t" } }, "malformed INSERT node: 1 children, at least 6")
  end)

  it("with too many children is a CompileError naming the kind", function()
    compile_error({ k = K.UNARY, s = "NOT", { k = K.NULL }, { k = K.NULL } },
      "malformed UNARY node: 2 children, at most 1 expected")
    compile_error({ k = K.NULL, { k = K.NULL } }, "malformed NULL node: 1 children, at most 0 expected")
    local sel = { k = K.SELECT }
    for i = 1, 12 do sel[i] = false end
    sel[1] = { k = K.LIST, { k = K.NULL } }
    compile_error(sel, "malformed SELECT node: 12 children, at most 11 expected")
  end)

  it("deep inside a statement is refused before anything is rendered", function()
    local bad = { k = K.LABEL, s = "x" }                       -- a label of nothing
    local tree = { k = K.BINARY, s = "AND", { k = K.TRUE }, { k = K.GROUPING, bad } }
    compile_error(tree, "malformed LABEL node: 0 children, at least 1 expected")
  end)

  it("with a kind number no kind has is a CompileError", function()
    compile_error({ k = 999 }, "unknown node kind 999")
    compile_error({ k = K.BINARY, s = "=", { k = K.NULL }, { k = 0 } }, "unknown node kind 0")
  end)

  it("leaves the compiler working for the next statement", function()
    compile_error({ k = K.BINARY, s = "=" }, "malformed BINARY node")
    local sql = core.compile({ k = K.BINARY, s = "=", { k = K.NULL }, { k = K.NULL } }, h.backend, nil, false)
    assert.equal("NULL = NULL", sql)
  end)
end)
