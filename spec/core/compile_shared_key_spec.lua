-- The compiled cache names a shared column list (select(t)'s, an insert's
-- per set of columns) by a serial number instead of walking it: statements
-- that share the list but differ in their tables stay apart, a shape still
-- renders once, and the keys survive the table of shared lists filling up.
local ath = require("athanor")
local core = require("athanor.core")
local h = require("spec.helpers")

describe("compiled cache keys of shared column lists", function()
  local md, other_md = ath.MetaData(), ath.MetaData()
  local t = ath.Table("sk_items", md, ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.Text))
  -- the same name and columns, another Table object: a second FROM element
  local twin = ath.Table("sk_items", other_md, ath.Column("id", ath.Integer, { primary_key = true }),
    ath.Column("name", ath.Text))
  local fx = h.schema_fixture(md)
  local conn

  setup(function() conn = fx.open() end)
  teardown(function() fx.close() end)
  before_each(function() core.compile_cache_clear() end)

  it("keeps a select of the list's own table apart from one naming a twin table", function()
    local own = ath.select(t):where(t.c.id:eq(1))
    local with_twin = ath.select(t):where(twin.c.id:eq(1))
    assert.equal("SELECT sk_items.id, sk_items.name FROM sk_items WHERE sk_items.id = ?", (own:compile()))
    assert.equal("SELECT sk_items.id, sk_items.name FROM sk_items, sk_items WHERE sk_items.id = ?",
      (with_twin:compile()))
    assert.equal("SELECT sk_items.id, sk_items.name FROM sk_items WHERE sk_items.id = ?", (own:compile()))
    assert.equal(2, core.compile_stats().renders)
  end)

  it("renders a one-row insert built afresh once for 200 executions", function()
    conn:begin()
    for i = 1, 200 do conn:execute(ath.insert(t):values({ id = i, name = "n" .. i })) end
    assert.equal(200, conn:execute(ath.select(ath.func.count()):select_from(t)):scalar())
    conn:rollback()
    local stats = core.compile_stats()
    assert.equal(2, stats.renders)                 -- the insert and the count
    assert.equal(199, stats.hits)                  -- (the fused one-row insert counts its uses as hits)
  end)

  it("keeps the rendering of a shape when the table of shared lists is emptied", function()
    local stmt = ath.select(t):where(t.c.id:eq(3))
    local sql = stmt:compile()
    -- 200 other shared lists (one per table) overflow the table of shared lists
    for i = 1, 200 do
      local x = ath.Table("sk_many_" .. i, ath.MetaData(), ath.Column("id", ath.Integer, { primary_key = true }))
      ath.select(x):compile()
    end
    local renders = core.compile_stats().renders
    assert.equal(sql, (ath.select(t):where(t.c.id:eq(4)):compile()))
    assert.equal(renders, core.compile_stats().renders)
  end)
end)
