-- The executemany of row tables through ath.insert(t) checks its rows in C
-- (csrc/lua/l_rows.c, core.plain_rows): every key must be a column, and a
-- row whose every value its column's bind check would pass unchanged is
-- bound as it is. These are the cases where that check could go wrong:
-- rows of different keys, keys in another order, many columns, NULL, and
-- values a check converts or refuses. Nothing is written when one is refused.
local ath = require("athanor")
local errors = ath.errors
local h = require("spec.helpers")

local md = ath.MetaData()
local things = ath.Table("emr_things", md,
  ath.Column("id", ath.Integer, { primary_key = true }),
  ath.Column("name", ath.String(40)),
  ath.Column("qty", ath.Integer),
  ath.Column("price", ath.Float),
  ath.Column("note", ath.Text, { default = "none" }),
  ath.Column("amount", ath.Numeric(10, 2)))
local wide_cols = { ath.Column("id", ath.Integer, { primary_key = true }) }
for i = 1, 70 do wide_cols[#wide_cols + 1] = ath.Column("c" .. i, ath.Integer) end
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1's global)
local wide = ath.Table("emr_wide", md, unpack(wide_cols))

describe("executemany rows checked in C", function()
  local fx = h.schema_fixture(md)
  local conn
  setup(function() conn = fx.open() end)
  teardown(fx.close)
  before_each(function() conn:execute(ath.delete(things)); conn:execute(ath.delete(wide)) end)

  local function all()
    return conn:execute(ath.select(things):order_by(things.c.id)):all()
  end

  it("inserts plain rows with their values and types as given", function()
    local rows = {}
    for i = 1, 50 do rows[i] = { id = i, name = "n" .. i, qty = i * 2, price = i / 8, note = "x" .. i } end
    conn:execute(ath.insert(things), rows)
    local got = all()
    assert.equal(50, #got)
    for i = 1, 50 do
      assert.equal(i, got[i].id)
      assert.equal("n" .. i, got[i].name)
      assert.equal(i * 2, got[i].qty)
      if math.type then assert.equal("integer", math.type(got[i].qty)) end
      assert.equal(i / 8, got[i].price)
      assert.equal("x" .. i, got[i].note)
    end
  end)

  it("gives each row its own keys when rows name different columns", function()
    conn:execute(ath.insert(things), {
      { id = 1, name = "a", qty = 1 },
      { id = 2, price = 2.5 },
      { id = 3, name = "c", qty = ath.null, price = 3.5, note = "given" },
      { qty = 4, id = 4, name = "d" },                 -- the same keys as row 1, written in another order
    })
    local got = all()
    assert.equal(4, #got)
    assert.same({ "a", 1, nil, "none" }, { got[1].name, got[1].qty, got[1].price, got[1].note })
    assert.same({ nil, nil, 2.5, "none" }, { got[2].name, got[2].qty, got[2].price, got[2].note })
    assert.same({ "c", nil, 3.5, "given" }, { got[3].name, got[3].qty, got[3].price, got[3].note })
    assert.same({ "d", 4 }, { got[4].name, got[4].qty })
  end)

  it("checks a key by its column even where the row before had another key at that place", function()
    local err = h.catch(function()
      conn:execute(ath.insert(things), { { id = 1, name = "a" }, { id = 2, qty = "many" } })
    end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true), err.message)
    assert.equal(0, #all())
  end)

  it("names a key that is not a column, in any row, and writes nothing", function()
    local rows = {}
    for i = 1, 20 do rows[i] = { id = i, name = "n" .. i } end
    rows[17].nmae = "typo"
    local err = h.catch(function() conn:execute(ath.insert(things), rows) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("nmae", 1, true), err.message)
    rows[17].nmae = nil
    rows[18][1] = "positional"
    err = h.catch(function() conn:execute(ath.insert(things), rows) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.equal(0, #all())
  end)

  it("converts the values a column's check converts, and refuses what it refuses", function()
    conn:execute(ath.insert(things), { { id = 1, amount = "12.50" }, { id = 2, amount = 3.25 } })
    local got = all()
    assert.equal("12.50", got[1].amount)
    assert.equal("3.25", got[2].amount)
    conn:execute(ath.delete(things))
    local err = h.catch(function()
      -- (every column with a default given: the rows would be bound as they are)
      conn:execute(ath.insert(things), { { id = 1, qty = 1, note = "a" }, { id = 2, qty = 2.5, note = "b" } })
    end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("qty", 1, true), err.message)
    err = h.catch(function()
      conn:execute(ath.insert(things), { { id = 1, name = "a", note = "a" }, { id = 2, name = { "table" }, note = "b" } })
    end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.equal(0, #all())
  end)

  it("inserts rows of more columns than it remembers keys for", function()
    local rows = {}
    for r = 1, 3 do
      local row = { id = r }
      for i = 1, 70 do row["c" .. i] = r * 100 + i end
      rows[r] = row
    end
    rows[3].c70 = "not a number"
    local err = h.catch(function() conn:execute(ath.insert(wide), rows) end)
    assert.is_true(errors.is(err, "ArgumentError"), tostring(err))
    assert.truthy(err.message:find("c70", 1, true), err.message)
    rows[3].c70 = 370
    conn:execute(ath.insert(wide), rows)
    local got = conn:execute(ath.select(wide):order_by(wide.c.id)):all()
    assert.equal(3, #got)
    for r = 1, 3 do
      assert.equal(r * 100 + 1, got[r].c1)
      assert.equal(r * 100 + 70, got[r].c70)
    end
  end)
end)
