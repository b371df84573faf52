-- The fast paths of INSERT (docs/performance.md): a one-row insert of plain
-- values reuses the SQL kept on its shape (no node, plan or conversion), and
-- an executemany binds rows whose values need no conversion as they are.
-- Both keep every value bound, every check, and one render per shape.
local ath = require("athanor")
local core = require("athanor.core")
local errors = ath.errors
local h = require("spec.helpers")

local md = ath.MetaData()
local items = ath.Table("fi_items", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40), { nullable = false }),
  ath.Column("qty", ath.Integer, { default = 7 }),
  ath.Column("price", ath.Float),
  ath.Column("flag", ath.Boolean))
-- columns whose bind checks pass plain values unchanged (no Boolean)
local plain = ath.Table("fi_plain", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40), { nullable = false }),
  ath.Column("qty", ath.Integer),
  ath.Column("price", ath.Float))

describe("the fused one-row insert and as-given executemany rows", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function() conn = fx.open() end)
  teardown(fx.close)
  before_each(function()
    conn:execute(ath.delete(items))
    core.compile_cache_clear()
  end)
  after_each(function() core.set_compile_cache_size(500) end)

  local function count() return conn:execute(ath.select(ath.func.count()):select_from(items)):scalar() end
  local function row(id) return conn:execute(ath.select(items):where(items.c.id:eq(id))):one() end

  it("inserts rows built afresh with one render and gives each its key", function()
    local keys = {}
    for i = 1, 20 do
      local res = conn:execute(ath.insert(items):values({ name = "n" .. i, price = i * 0.5 }))
      keys[i] = res:inserted_primary_key()[1]
    end
    assert.equal(1, core.compile_stats().renders)
    assert.equal(20, count())
    for i = 1, 20 do
      local r = row(keys[i])
      assert.equal("n" .. i, r.name)
      assert.equal(7, r.qty)                           -- the column's Lua default, per row
      assert.equal(i * 0.5, r.price)
    end
  end)

  it("renders again after the compiled cache is cleared, and every time with a cache of size 0", function()
    conn:execute(ath.insert(items):values({ name = "a" }))
    conn:execute(ath.insert(items):values({ name = "b" }))
    assert.equal(1, core.compile_stats().renders)
    core.compile_cache_clear()
    conn:execute(ath.insert(items):values({ name = "c" }))
    assert.equal(1, core.compile_stats().renders)
    core.set_compile_cache_size(0)
    conn:execute(ath.insert(items):values({ name = "d" }))
    conn:execute(ath.insert(items):values({ name = "e" }))
    assert.equal(3, core.compile_stats().renders)
    assert.equal(5, count())
  end)

  it("still refuses a value of the wrong type on the kept SQL, and writes nothing", function()
    conn:execute(ath.insert(items):values({ name = "a", qty = 1 }))
    local err = h.catch(function() conn:execute(ath.insert(items):values({ name = "b", qty = "many" })) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true))
    assert.equal(1, count())
  end)

  it("takes a SQL expression among the values of a shape it has kept", function()
    conn:execute(ath.insert(items):values({ name = "a", qty = 1 }))
    conn:execute(ath.insert(items):values({ name = ath.literal("b"), qty = ath.literal(5) }))
    conn:execute(ath.insert(items):values({ name = ath.func.upper("c"), qty = 2 }))
    local names = {}
    for _, r in ipairs(conn:execute(ath.select(items.c.name):order_by(items.c.name)):all()) do
      names[#names + 1] = r.name
    end
    assert.same({ "C", "a", "b" }, names)
  end)

  it("binds a one-row insert of plain values as given, with its key given or numbered", function()
    conn:execute(ath.delete(plain))
    core.compile_cache_clear()
    local ins = ath.insert(plain)
    assert.equal(ins, ath.insert(plain))               -- built once per table
    assert.are_not.equal(ins, ins:values({ name = "x" }))
    local function prow(id) return conn:execute(ath.select(plain):where(plain.c.id:eq(id))):one() end
    for i = 1, 5 do                                    -- every column given: bound as it is
      local res = conn:execute(ath.insert(plain):values({ id = 100 + i, name = "g" .. i, qty = i, price = i / 2 }))
      assert.same({ 100 + i }, res:inserted_primary_key())
    end
    local keys = {}
    for i = 1, 5 do                                    -- all but the key the database numbers
      local res = conn:execute(ath.insert(plain):values({ name = "k" .. i, qty = ath.null, price = 1.5 }))
      keys[i] = res:inserted_primary_key()[1]
      assert.equal("number", type(keys[i]))
      assert.is_nil(keys[i - 1] and keys[i - 1] == keys[i] or nil)
    end
    assert.equal(2, core.compile_stats().renders)      -- one per shape
    assert.equal(10, conn:execute(ath.select(ath.func.count()):select_from(plain)):scalar())
    for i = 1, 5 do
      local r = prow(100 + i)
      assert.same({ "g" .. i, i, i / 2 }, { r.name, r.qty, r.price })
      r = prow(keys[i])
      assert.same({ "k" .. i, nil, 1.5 }, { r.name, r.qty, r.price })
    end
    local err = h.catch(function()                     -- a value its column refuses still raises
      conn:execute(ath.insert(plain):values({ id = 200, name = "bad", qty = 1.5, price = 1.0 }))
    end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true))
    assert.equal(10, conn:execute(ath.select(ath.func.count()):select_from(plain)):scalar())
  end)

  it("binds plain executemany rows as given and converts the others", function()
    local rows = {}
    for i = 1, 10 do rows[i] = { id = i, name = "p" .. i, qty = i, price = i + 0.25, flag = i % 2 == 0 } end
    rows[11] = { id = 11, name = "q", price = 1.5, flag = true }          -- qty from its default
    rows[12] = { [items.c.id] = 12, name = "r", qty = 3, price = 2.0, flag = false }   -- a column as a key
    conn:execute(ath.insert(items), rows)
    assert.equal(12, count())
    assert.equal(7, row(11).qty)
    assert.equal("r", row(12).name)
    assert.equal(true, row(4).flag)
    assert.equal(false, row(5).flag)
    assert.same({ id = 3, name = "p3", qty = 3, price = 3.25, flag = false },
      { id = row(3).id, name = row(3).name, qty = row(3).qty, price = row(3).price, flag = row(3).flag })
  end)

  it("still refuses an unknown key or a wrong type in a plain executemany row, and writes nothing", function()
    local rows = { { id = 1, name = "a", qty = 1 }, { id = 2, name = "b", qty = 2, colour = "red" } }
    local err = h.catch(function() conn:execute(ath.insert(items), rows) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("colour", 1, true))
    rows[2].colour = nil
    rows[2].qty = 2.5
    err = h.catch(function() conn:execute(ath.insert(items), rows) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true))
    assert.equal(0, count())
  end)
end)

-- SQLite numbers an INTEGER PRIMARY KEY given as NULL; PostgreSQL refuses
-- NULL for a serial key, whichever path the INSERT takes.
describe("the fused one-row insert with a key given as ath.null #sqlite", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function() conn = fx.open() end)
  teardown(fx.close)
  local function row(id) return conn:execute(ath.select(items):where(items.c.id:eq(id))):one() end

  it("gives the key of a row of a kept shape whether the database numbers it or the row gives it", function()
    for _, ids in ipairs({ { ath.null, 50, ath.null }, { 60, ath.null, 10 } }) do
      conn:execute(ath.delete(items))
      for i, id in ipairs(ids) do
        local res = conn:execute(ath.insert(items):values({ id = id, name = "k" .. i }))
        local key = res:inserted_primary_key()[1]
        assert.is_number(key)
        if id ~= ath.null then assert.equal(id, key) end
        assert.equal("k" .. i, row(key).name)
      end
    end
  end)
end)
