-- The compiled cache: a statement shape is rendered once, whatever its
-- values; the connection reuses the prepared statement for it.
local ath = require("athanor")
local core = require("athanor.core")
local h = require("spec.helpers")

describe("compiled cache", function()
  local md = ath.MetaData()
  local items = ath.Table("cc_items", md,
    ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.String(40)),
    ath.Column("qty", ath.Integer))
  local c = items.c
  local fx = h.schema_fixture(md)
  local conn

  setup(function()
    conn = fx.open()
    local rows = {}
    for i = 1, 100 do rows[i] = { name = "item" .. i, qty = i % 7 } end
    conn:execute(ath.insert(items), rows)
  end)

  teardown(function() fx.close() end)

  before_each(function() core.compile_cache_clear() end)

  it("executing one shape 1,000 times with different values renders it once", function()
    local prepares_before = conn:_stats().prepares
    local total = 0
    for i = 1, 1000 do
      local k = (i % 100) + 1
      -- built afresh each time, as a program would
      local row = conn:execute(ath.select(items):where(c.id:eq(k), c.qty:ge(0))):one()
      assert.equal(k, row.id)
      total = total + row.qty
    end
    local stats = core.compile_stats()
    assert.equal(1, stats.renders)
    assert.equal(999, stats.hits)
    assert.is_true(total > 0)
    -- and the connection prepared the statement once
    assert.equal(1, conn:_stats().prepares - prepares_before)
  end)

  it("a different shape renders again; each dialect has its own entry", function()
    local a = ath.select(c.id):where(c.id:eq(1))
    local b = ath.select(c.id):where(c.id:eq(2))
    local d = ath.select(c.id):where(c.id:gt(1))                   -- another operator
    local e = ath.select(c.name):where(c.id:eq(1))                 -- another column
    local f = ath.select(c.id):where(c.id:in_({ 1, 2 }))
    local g = ath.select(c.id):where(c.id:in_({ 1, 2, 3 }))       -- another list length
    a:compile(); b:compile()
    assert.equal(1, core.compile_stats().renders)
    d:compile(); e:compile(); f:compile(); g:compile()
    assert.equal(5, core.compile_stats().renders)
    a:compile({ dialect = "postgresql" })
    assert.equal(6, core.compile_stats().renders)
    local sql1, p1 = a:compile()
    local sql2, p2 = b:compile()
    assert.equal(sql1, sql2)
    assert.same({ 1 }, p1)
    assert.same({ 2 }, p2)
  end)

  it("cached entries still bind each execution's own values", function()
    local names = {}
    for k = 1, 5 do
      names[k] = conn:execute(ath.select(c.name):where(c.id:eq(k))):scalar()
    end
    assert.same({ "item1", "item2", "item3", "item4", "item5" }, names)
    assert.equal(1, core.compile_stats().renders)
  end)

  it("insert and update shapes are cached too", function()
    conn:begin()
    for i = 1, 50 do
      conn:execute(ath.insert(items):values({ name = "n" .. i, qty = i }))
      conn:execute(ath.update(items):where(c.name:eq("n" .. i)):values({ qty = i * 2 }))
    end
    conn:rollback()
    assert.equal(2, core.compile_stats().renders)
  end)

  it("a statement that fails to compile leaves the next one intact", function()
    local deep = c.qty:gt(1)
    for _ = 1, 250 do deep = ath.not_(deep) end
    local err = h.catch(function() ath.select(c.id):where(c.id:eq(99), deep):compile() end)
    assert.is_true(ath.errors.is(err, "CompileError"))
    assert.truthy(err.message:find("nested too deeply", 1, true))
    local sql, params = ath.select(c.id):where(c.name:eq("x"), c.qty:lt(3)):compile()
    assert.equal("SELECT cc_items.id FROM cc_items WHERE cc_items.name = ? AND cc_items.qty < ?", sql)
    assert.same({ "x", 3 }, params)
    assert.equal(3, conn:execute(ath.select(c.id):where(c.id:eq(3))):scalar())
  end)

  it("C memory stays bounded and is given back when the cache is cleared", function()
    core.set_compile_cache_size(20)
    local before = core.alloc_live()
    for i = 1, 300 do                                    -- 300 shapes, 300 tables (frozen column lists)
      local tt = ath.Table("cc_shape_" .. i, ath.MetaData(), ath.Column("id", ath.Integer))
      ath.select(tt):where(tt.c.id:eq(i)):compile()
    end
    local grown = core.alloc_live() - before
    assert.is_true(grown < 600, "C blocks held after 300 shapes: " .. grown)
    core.compile_cache_clear()
    assert.is_true(core.alloc_live() - before <= 2, "C blocks left after clearing: " .. (core.alloc_live() - before))
    core.set_compile_cache_size(500)
  end)

  it("the cache is bounded", function()
    core.set_compile_cache_size(10)
    local list = {}
    for i = 1, 30 do
      list[i] = i                                                   -- 30 shapes: lists of 1..30 values
      ath.select(c.id):where(c.id:in_(list)):compile()
    end
    assert.equal(30, core.compile_stats().renders)
    assert.is_true(core.compile_stats().size <= 10)
    core.set_compile_cache_size(500)
  end)
end)
